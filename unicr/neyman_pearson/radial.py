"""Proven enclosures of the Neyman-Pearson test along a shift, for l2-radial joint noise.

Setting (native scale lambda = 1; the engine rescales).  The noise eps has density
f(x) = exp(h(||x||_2)) / Z on R^d with h non-increasing (Exp2(k): h(r) = -r^k; Pow2(k, a):
h(r) = -a log(1 + r^k); UniformBall: h = 0 on [0, 1], -inf beyond).  The shift is delta = t e_1;
by rotation invariance every shift of l2 norm t is equivalent (Yang et al. 2020, level-set
method; Hong et al. 2022, Theorem 1 reduces R* to the smallest failing ||delta||).

Polar coordinates.  Under X = eps write R = ||eps|| (density proportional to r^(d-1) exp(h(r)):
R^k ~ Gamma(d/k) for Exp2, R^k ~ BetaPrime(d/k, a - d/k) for Pow2) and U = <eps, e_1>/R, with
density proportional to (1 - u^2)^((d-3)/2) on [-1, 1], independent of R; its CDF is
G(u) = I_{(1+u)/2}((d-1)/2, (d-1)/2).  The log-likelihood ratio of Y = eps + delta against X at a
point z is L(z) = h(||z - delta||) - h(||z||); at z = eps it is h(rho) - h(R) with
rho^2 = R^2 - 2 R t U + t^2, non-decreasing in U for fixed R.  Hence, for a strictly decreasing
h and g(r) := h^-1(h(r) + tau) (the distance at which the loss equals tau),

    F(tau) := P_X(L < tau) = E[ G(u*(R, tau)) ],   u*(r, tau) = (r^2 - g(r)^2 + t^2) / (2 r t),

(u* = +inf where h(r) + tau >= h(0): the event holds for every direction).  By the symmetry
z -> delta - z, which swaps X and Y and maps L to -L, P_Y(L < tau) = 1 - P_X(L <= -tau) =
1 - F(-tau) (U has a density, so < and <= agree).

Enclosure of F (proven, up to the stated special-function errors).  The radius axis is cut into
cells [r_a, r_b] with exact masses m (regularised incomplete gamma / beta functions, each value
assumed correct to ``CDF_ABS_ERROR`` absolute).  On a cell, g is increasing, so
r^2 - g^2 + t^2 lies in [r_a^2 - g(r_b)^2 + t^2, r_b^2 - g(r_a)^2 + t^2]; a second, sharper
enclosure writes N = D (2 r - D) + t^2 with D = r - g(r) (computed without cancellation) and
encloses D by the mean-value form D(c) + D'([r_a, r_b]) [-w/2, w/2], D' = 1 - g',
g' = kappa (r/g)^(k-1) (kappa = 1 for Exp2, e^(-tau/a) for Pow2; r/g lies in
[r_a/g(r_b), r_b/g(r_a)] and the power is monotone); N is monotone in r and in D on the box
(linear in r; increasing in D where D <= r, which is checked), so its extremes are at the
corners.  (A mean-value form on N
itself is divided by t in u* and blows up at small shifts; on D the width is O(tau w^2).)
The intersection, divided by 2 r t over the cell, brackets u*; G is
bracketed by a precomputed table of G (chords and tangents on the convex / concave sides,
intersected with the monotone bracket G(u_j) <= G(u) <= G(u_{j+1})), each table value assumed
correct to ``CDF_ABS_ERROR``.  Cells are masses times bracketed probabilities, and the
two tail cells count 0 (lower) and their mass (upper).  Every rounding-sensitive quantity gets a
relative slack (``REL_SLACK``) on the safe side.

Tradeoff (Neyman-Pearson; Hong et al. 2022 Theorem 1 in tradeoff form).  T(p), the smallest
Y-mass of a set of X-mass p, satisfies, for every tau,

    T(p) >= P_Y(L < tau) + e^tau (p - P_X(L < tau))            (equality at the p-quantile),

because P_Y(A) - e^tau P_X(A) = int_A (e^L - e^tau) dP_X >= int_{L < tau} (e^L - e^tau) dP_X.
Both terms are monotone in the enclosed quantities, so the max over a tau grid of the pessimistic
values is a proven lower bound T_lo(p).  For an upper bound, T is non-decreasing and convex and
T(x) <= P_Y(S) for any set S of X-mass >= x; the chord through the points
(F_lo(tau), 1 - F_lo(-tau)) is a proven upper bound T_hi(p).  Binary test: the shift passes iff
T(pA) > 1/2; two-sided (pA, pB): iff T(pA) + T(1 - pB) > 1.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from unicr.errors import InvalidParameterError

__all__ = [
    "CDF_ABS_ERROR",
    "REL_SLACK",
    "RadialProfile",
    "CosineTable",
    "RadialCells",
    "cosine_table",
    "radial_cells",
    "loss_cdf_enclosure",
    "Tradeoff",
    "tradeoff_enclosure",
    "ball_overlap_enclosure",
    "shift_tv_constant",
]

#: absolute error assumed for every value of scipy's gammainc/gammaincc/betainc (measured against
#: 40-digit mpmath at d up to 10^6: <= 1e-16; the assumption is 1000 times that)
CDF_ABS_ERROR = 1e-13
#: relative slack added, on the safe side, to every floating-point quantity of the enclosure
REL_SLACK = 1e-12


@dataclass(frozen=True)
class RadialProfile:
    """The radial log-density h of an l2-radial noise at native scale 1.

    ``family`` is "exp2" (h(r) = -r^k) or "pow2" (h(r) = -a log(1 + r^k)); both are strictly
    decreasing with h(0) = 0.  ``d`` is the dimension.
    """

    family: str
    d: int
    k: float
    a: float = math.nan

    def h(self, r: np.ndarray) -> np.ndarray:
        """log f(r) up to a constant."""
        r = np.asarray(r, dtype=float)
        if self.family == "exp2":
            return -(r ** self.k)
        with np.errstate(divide="ignore"):
            return -self.a * np.logaddexp(0.0, self.k * np.log(r))

    def rel_x(self, r: np.ndarray, tau: np.ndarray) -> np.ndarray:
        """x with (g(r)/r)^k = 1 + x, g(r) = h^-1(h(r) + tau); g exists iff 1 + x > 0."""
        if self.family == "exp2":
            return -tau * r ** (-self.k)
        return np.expm1(-tau / self.a) * (1.0 + r ** (-self.k))

    def kappa(self, tau: np.ndarray) -> np.ndarray:
        """g g' = kappa r^(k-1) g^(2-k)."""
        if self.family == "exp2":
            return np.ones_like(tau)
        return np.exp(-tau / self.a)

    # -- radial law of R = ||eps|| ----------------------------------------------------------
    def radial_cdf_sf(self, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(P(R <= r), P(R > r)), each computed directly (no 1 - x cancellation)."""
        r = np.asarray(r, dtype=float)
        k = self.k
        if self.family == "exp2":
            s = self.d / k
            rk = r ** k
            return special.gammainc(s, rk), special.gammaincc(s, rk)
        al, be = self.d / k, self.a - self.d / k
        with np.errstate(divide="ignore", over="ignore"):
            lrk = k * np.log(r)
        x = special.expit(lrk)  # r^k / (1 + r^k)
        y = special.expit(-lrk)  # 1 / (1 + r^k)
        return special.betainc(al, be, x), special.betainc(be, al, y)

    def radial_quantile(self, q: np.ndarray) -> np.ndarray:
        """Approximate quantiles of R (only used to place cell edges)."""
        q = np.asarray(q, dtype=float)
        k = self.k
        lo = q <= 0.5
        if self.family == "exp2":
            s = self.d / k
            rk = np.where(lo, special.gammaincinv(s, q), special.gammainccinv(s, 1.0 - q))
            return rk ** (1.0 / k)
        al, be = self.d / k, self.a - self.d / k
        x = np.where(lo, special.betaincinv(al, be, q), 1.0 - special.betaincinv(be, al, 1.0 - q))
        y = np.where(lo, 1.0 - x, special.betaincinv(be, al, 1.0 - q))
        with np.errstate(divide="ignore"):
            return np.exp((np.log(x) - np.log(y)) / k)

    def mean_abs_score(self) -> float:
        """E|h'(R)| (native scale), used for the Lipschitz constant of the test in t."""
        k, d = self.k, self.d
        if self.family == "exp2":
            return k * math.exp(special.gammaln((d + k - 1.0) / k) - special.gammaln(d / k))
        al, be = d / k, self.a - d / k
        return self.a * k * math.exp(special.betaln(al + 1.0 - 1.0 / k, be + 1.0 / k)
                                     - special.betaln(al, be))


# ---------------------------------------------------------------------------------------------
# cosine law
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CosineTable:
    """Sorted nodes u_j in [-1, 1] (0 among them) with G(u_j) and the density g(u_j) of the
    cosine U in dimension d.

    Bracketing between nodes is second order: the density (1 - u^2)^((d-3)/2) is monotone on each
    side of 0, so G is convex on one side and concave on the other (d > 3: convex on [-1, 0];
    d = 2: concave there; d = 3: linear).  On a convex piece the chord is above G and the tangents
    at both nodes are below; on a concave piece the reverse.  The monotone bracket
    G(u_j) <= G(u) <= G(u_{j+1}) is always intersected in.
    """

    d: int
    u: np.ndarray
    cdf: np.ndarray
    dens: np.ndarray

    def bracket(self, u_lo: np.ndarray, u_hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Proven (lower bound of G(u_lo), upper bound of G(u_hi)), table errors included."""
        return self._one(u_lo, lower=True), self._one(u_hi, lower=False)

    def _one(self, q: np.ndarray, lower: bool) -> np.ndarray:
        u, c, g = self.u, self.cdf, self.dens
        n = u.size
        q = np.clip(q, -1.0, 1.0)
        j = np.clip(np.searchsorted(u, q, side="right") - 1, 0, n - 2)
        u0, u1, c0, c1, g0, g1 = u[j], u[j + 1], c[j], c[j + 1], g[j], g[j + 1]
        h = u1 - u0
        lam = np.clip((q - u0) / h, 0.0, 1.0)
        chord = c0 + lam * (c1 - c0)
        with np.errstate(invalid="ignore", over="ignore"):
            tan0 = c0 + g0 * (q - u0)
            tan1 = c1 - g1 * (u1 - q)
        if self.d > 3:
            convex = u1 <= 0.0
        elif self.d == 2:
            convex = u0 >= 0.0
        else:
            convex = np.ones_like(u0, dtype=bool)
        tan_lo = np.nan_to_num(np.maximum(tan0, tan1), nan=-np.inf)
        tan_hi = np.nan_to_num(np.minimum(tan0, tan1), nan=np.inf)
        err = CDF_ABS_ERROR + 1e-14 * (c1 - c0)
        if lower:
            val = np.where(convex, tan_lo, chord)
            val = np.maximum(val, c0) - err
        else:
            val = np.where(convex, chord, tan_hi)
            val = np.minimum(val, c1) + err
        return np.clip(val, 0.0, 1.0)


def _cosine_cdf(d: int, u: np.ndarray) -> np.ndarray:
    half = 0.5 * (d - 1)
    lower = special.betainc(half, half, 0.5 * (1.0 + u))
    upper = special.betaincc(half, half, 0.5 * (1.0 - u))
    return np.where(u <= 0.0, lower, upper)


def _cosine_density(d: int, u: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        logg = 0.5 * (d - 3) * np.log1p(-u * u) - special.betaln(0.5, 0.5 * (d - 1))
    return np.exp(logg)


@functools.lru_cache(maxsize=16)
def cosine_table(d: int, n_angle: int = 1 << 13, n_center: int = 1 << 15) -> CosineTable:
    """Table of the cosine CDF: nodes uniform in angle plus a dense grid on the central
    +-14/sqrt(d-1) band (where the mass is for large d).  CDF values via scipy.special.betainc
    (assumed correct to ``CDF_ABS_ERROR``)."""
    if d < 2:
        raise InvalidParameterError(f"the l2-radial engine needs d >= 2, got d={d}")
    ang = np.cos(np.linspace(math.pi, 0.0, n_angle))
    width = min(1.0, 14.0 / math.sqrt(max(d - 1, 1)))
    cen = np.linspace(-width, width, n_center)
    u = np.unique(np.concatenate([ang, cen, [-1.0, 0.0, 1.0]]))
    u = u[(u >= -1.0) & (u <= 1.0)]
    cdf = _cosine_cdf(d, u)
    cdf[0], cdf[-1] = 0.0, 1.0
    return CosineTable(d=d, u=u, cdf=cdf, dens=_cosine_density(d, u))


# ---------------------------------------------------------------------------------------------
# radial cells
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RadialCells:
    """Interior cells [ra, rb] with masses, plus the total tail mass outside them."""

    ra: np.ndarray
    rb: np.ndarray
    mass: np.ndarray
    tail_mass: float
    mass_error: float  # total absolute error of sum(mass * anything in [0, 1])


def radial_cells(profile: RadialProfile, n_cells: int = 4000, tail: float = 1e-15,
                 max_rel_width: float = 3e-4) -> RadialCells:
    """Cells of (approximately) equal mass, refined geometrically in both tails down to ``tail``;
    cells of mass > 1e-10 wider than ``max_rel_width`` relative are split (at most 64 pieces).

    Masses are differences of CDF values on the lower half and of survival values on the upper
    half, each value assumed correct to ``CDF_ABS_ERROR``.
    """
    n_tail = 24
    left = np.logspace(math.log10(tail), math.log10(1.0 / n_cells), n_tail, endpoint=False)
    mid = np.linspace(1.0 / n_cells, 1.0 - 1.0 / n_cells, n_cells - 1)
    q = np.concatenate([left, mid, 1.0 - left[::-1]])
    r = np.unique(profile.radial_quantile(q))
    r = r[np.isfinite(r) & (r > 0.0)]
    # split wide cells (heavy tails): the mean-value bracket is second order in the width
    cdf, sf = profile.radial_cdf_sf(r)
    mass0 = np.minimum(cdf[1:] - cdf[:-1], sf[:-1] - sf[1:])
    rel = (r[1:] - r[:-1]) / r[1:]
    pieces = np.where(mass0 > 1e-10, np.minimum(np.ceil(rel / max_rel_width), 64), 1).astype(int)
    if np.any(pieces > 1):
        parts = [r[:1]]
        for a, b, n in zip(r[:-1], r[1:], pieces):
            parts.append(np.geomspace(a, b, n + 1)[1:] if n > 1 else np.array([b]))
        r = np.unique(np.concatenate(parts))
        cdf, sf = profile.radial_cdf_sf(r)
    use_sf = cdf > 0.5
    mass = np.where(use_sf[:-1], sf[:-1] - sf[1:], cdf[1:] - cdf[:-1])
    mass = np.maximum(mass, 0.0)
    tail_mass = float(cdf[0] + sf[-1]) + 2 * CDF_ABS_ERROR
    err = 2 * CDF_ABS_ERROR * mass.size
    return RadialCells(ra=r[:-1], rb=r[1:], mass=mass, tail_mass=tail_mass, mass_error=err)


# ---------------------------------------------------------------------------------------------
# the enclosure of F(tau) = P_X(L < tau)
# ---------------------------------------------------------------------------------------------


def _g_parts(profile: RadialProfile, r: np.ndarray, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(defined, r - g(r)) with r - g computed without cancellation."""
    x = profile.rel_x(r, tau)
    defined = x > -1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = -r * np.expm1(np.log1p(np.where(defined, x, 0.0)) / profile.k)
    return defined, diff


def loss_cdf_enclosure(profile: RadialProfile, cells: RadialCells, table: CosineTable, t: float,
                       taus: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Proven [F_lo, F_hi] of F(tau) = P_X(L < tau) at shift t > 0, for every tau in ``taus``.

    See the module docstring for the theorem; the error terms included are the table bracketing,
    ``CDF_ABS_ERROR`` per special-function value, the tail mass and ``REL_SLACK``.
    """
    if not t > 0.0:
        raise InvalidParameterError(f"shift t must be > 0, got {t!r}")
    tau = np.asarray(taus, dtype=float)[:, None]
    ra, rb = cells.ra[None, :], cells.rb[None, :]
    w = rb - ra
    rc = 0.5 * (ra + rb)
    k = profile.k
    t2 = t * t
    def_a, da = _g_parts(profile, ra, tau)
    def_b, db = _g_parts(profile, rb, tau)
    def_c, dc = _g_parts(profile, rc, tau)
    ga = np.where(def_a, ra - da, 0.0)
    gb = np.where(def_b, rb - db, 0.0)
    # crude monotone enclosure of N = r^2 - g^2 + t^2 (g increasing in r)
    n_lo = (ra - gb) * (ra + gb) + t2
    n_hi = (rb - ga) * (rb + ga) + t2
    slack = REL_SLACK * (ra * ra + gb * gb + t2 + rb * rb)
    n_lo, n_hi = n_lo - slack, n_hi + slack
    # mean-value enclosure of D = r - g (D' = 1 - g', g' = kappa (r/g)^(k-1)) where g is defined
    # on the whole cell, then N = D (2 r - D) + t^2, monotone in r (sign of D) and in D
    # (derivative 2 g >= 0), so its extremes are at the corners of [ra, rb] x [D_lo, D_hi]
    full = def_a
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        kap = profile.kappa(tau)
        pw = np.stack([(ra / gb) ** (k - 1), (rb / ga) ** (k - 1)])
        gp_lo, gp_hi = kap * pw.min(axis=0), kap * pw.max(axis=0)
        dprime = np.maximum(np.abs(1.0 - gp_lo), np.abs(1.0 - gp_hi)) * (1 + REL_SLACK)
        e = 0.5 * w * dprime + REL_SLACK * np.abs(dc)
        d_lo = np.maximum(dc - e, ra - gb)
        d_hi = np.minimum(dc + e, rb - ga)
        corners = np.stack([d_lo * (2 * ra - d_lo), d_lo * (2 * rb - d_lo),
                            d_hi * (2 * ra - d_hi), d_hi * (2 * rb - d_hi)])
        dmax = np.maximum(np.abs(d_lo), np.abs(d_hi))
        cs = REL_SLACK * (2 * rb * dmax + dmax * dmax + t2)
        mv_lo = corners.min(axis=0) + t2 - cs
        mv_hi = corners.max(axis=0) + t2 + cs
    # the corner rule needs N increasing in D on the whole box: 2 (r - D) >= 0, i.e. D_hi <= r_a
    ok = full & np.isfinite(mv_lo) & np.isfinite(mv_hi) & (d_hi <= ra)
    n_lo = np.where(ok, np.maximum(n_lo, mv_lo), n_lo)
    n_hi = np.where(ok, np.minimum(n_hi, mv_hi), n_hi)
    # u* = N / (2 r t), r in [ra, rb]
    u_lo = np.where(n_lo >= 0, n_lo / (2 * rb * t), n_lo / (2 * ra * t))
    u_hi = np.where(n_hi >= 0, n_hi / (2 * ra * t), n_hi / (2 * rb * t))
    u_lo = u_lo - REL_SLACK * np.abs(u_lo)
    u_hi = u_hi + REL_SLACK * np.abs(u_hi)
    g_lo, g_hi = table.bracket(u_lo, u_hi)
    # where g is undefined on all the cell, the event holds surely; on part of it, G_hi = 1
    g_lo = np.where(def_b, g_lo, 1.0)
    g_hi = np.where(def_a, g_hi, 1.0)
    m = cells.mass[None, :]
    f_lo = (m * g_lo).sum(axis=1) - cells.mass_error - REL_SLACK
    f_hi = (m * g_hi).sum(axis=1) + cells.tail_mass + cells.mass_error + REL_SLACK
    return np.clip(f_lo, 0.0, 1.0), np.clip(f_hi, 0.0, 1.0)


# ---------------------------------------------------------------------------------------------
# tradeoff
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tradeoff:
    """Enclosure of the tradeoff T at one shift: values on a symmetric tau grid.

    ``taus`` sorted; ``fx_lo/fx_hi`` enclose P_X(L < tau); ``fy_lo/fy_hi`` enclose
    P_Y(L < tau) = 1 - F(-tau).
    """

    t: float
    taus: np.ndarray
    fx_lo: np.ndarray
    fx_hi: np.ndarray
    fy_lo: np.ndarray
    fy_hi: np.ndarray

    def lower(self, p: np.ndarray) -> np.ndarray:
        """Proven lower bound on T(p): max over tau of P_Y_lo + e^tau (p - P_X_hi), and >= 0."""
        p = np.atleast_1d(np.asarray(p, dtype=float))[:, None]
        et = np.exp(np.minimum(self.taus, 700.0))[None, :]
        vals = self.fy_lo[None, :] + et * (p - self.fx_hi[None, :])
        vals = vals - REL_SLACK * (1 + et)
        return np.maximum(vals.max(axis=1), 0.0)

    def upper(self, p: np.ndarray) -> np.ndarray:
        """Proven upper bound on T(p): the chord through (F_lo(tau), P_Y_hi(tau)) points
        (T convex, non-decreasing, T(x) <= P_Y(S) for P_X(S) >= x), plus (0, 0) and (1, 1)."""
        p = np.atleast_1d(np.asarray(p, dtype=float))
        xs = np.concatenate([[0.0], self.fx_lo, [1.0]])
        ys = np.concatenate([[0.0], self.fy_hi, [1.0]])
        # keep, for each x, the smallest y; make the points usable by a monotone envelope:
        # T(p) <= min over points with x_i >= p of chord... use the lower convex envelope of
        # upper points with x >= p: a safe, simple choice is the min of y_i over x_i >= p and
        # the chord between consecutive points (both valid upper bounds).
        order = np.argsort(xs, kind="stable")
        xs, ys = xs[order], ys[order]
        # suffix minimum of y over x_i >= p
        suf = np.minimum.accumulate(ys[::-1])[::-1]
        i = np.searchsorted(xs, p, side="left")
        best = np.where(i < xs.size, suf[np.clip(i, 0, xs.size - 1)], 1.0)
        # chord between (x_{i-1}, y_{i-1}) and (x_i, y_i) when x_{i-1} < p <= x_i
        j = np.clip(i, 1, xs.size - 1)
        x0, x1, y0, y1 = xs[j - 1], xs[j], ys[j - 1], ys[j]
        with np.errstate(invalid="ignore", divide="ignore"):
            lam = np.where(x1 > x0, (p - x0) / (x1 - x0), 1.0)
        chord = y0 + np.clip(lam, 0.0, 1.0) * (y1 - y0)
        best = np.minimum(best, np.where((x0 <= p) & (p <= x1), chord, 1.0))
        return np.minimum(best + REL_SLACK, 1.0)

    def failing_set(self, pa: float) -> dict | None:
        """A (possibly randomised) level-set witness of X-mass >= pa and smallest proven Y-mass:
        {L < tau0} plus a fraction ``frac`` of {tau0 <= L < tau1} (tau = -inf: empty set,
        +inf: everything).  Returns the taus, frac, ``x_mass_lower`` and ``y_mass_upper``, or
        None if no evaluated set has X-mass >= pa."""
        xs = np.concatenate([[0.0], self.fx_lo, [1.0]])
        ys = np.concatenate([[0.0], self.fy_hi, [1.0]])
        ts = np.concatenate([[-np.inf], self.taus, [np.inf]])
        best: dict | None = None
        for i in range(xs.size):
            if xs[i] >= pa and (best is None or ys[i] < best["y_mass_upper"]):
                best = {"tau0": float(ts[i]), "tau1": float(ts[i]), "frac": 0.0,
                        "x_mass_lower": float(xs[i]), "y_mass_upper": float(ys[i])}
        for i in range(xs.size):
            for j in range(i + 1, xs.size):
                if not (xs[i] < pa < xs[j] and ts[i] < ts[j]):
                    continue
                lam = (pa - xs[i]) / (xs[j] - xs[i])
                y = ys[i] + lam * (ys[j] - ys[i]) + REL_SLACK
                if best is None or y < best["y_mass_upper"]:
                    best = {"tau0": float(ts[i]), "tau1": float(ts[j]), "frac": float(lam),
                            "x_mass_lower": float(pa), "y_mass_upper": float(y)}
        return best


def tradeoff_enclosure(profile: RadialProfile, cells: RadialCells, table: CosineTable, t: float,
                       taus: np.ndarray) -> Tradeoff:
    """Enclosure of the tradeoff at shift t on the symmetric grid taus U (-taus)."""
    tt = np.unique(np.concatenate([np.asarray(taus, dtype=float), -np.asarray(taus, dtype=float)]))
    f_lo, f_hi = loss_cdf_enclosure(profile, cells, table, t, tt)
    # P_Y(L < tau) = 1 - F(-tau): tt is symmetric and sorted, so -tt is tt reversed
    fy_lo = 1.0 - f_hi[::-1]
    fy_hi = 1.0 - f_lo[::-1]
    return Tradeoff(t=t, taus=tt, fx_lo=f_lo, fx_hi=f_hi, fy_lo=fy_lo, fy_hi=fy_hi)


def shift_tv_constant(profile: RadialProfile) -> float:
    """C with TV(X, X + s v) <= C s for unit v (native scale): (1/2) E|h'(R)| E|U|.

    ||f(. - s v) - f||_1 <= s int |d_v f| = s E|h'(R) U| (f absolutely continuous along lines),
    E|U| = Gamma(d/2) / (sqrt(pi) Gamma((d+1)/2)).  Hence |T_t(p) - T_t'(p)| <= C |t - t'|:
    T_t(p) = min_A P_{Y_t}(A) and |P_{Y_t}(A) - P_{Y_t'}(A)| <= TV(Y_t, Y_t') = TV(X, X + (t'-t)v).
    A relative slack of 1e-9 covers the rounding of the gamma functions.
    """
    d = profile.d
    e_abs_u = math.exp(special.gammaln(0.5 * d) - special.gammaln(0.5 * (d + 1))) / math.sqrt(math.pi)
    return 0.5 * profile.mean_abs_score() * e_abs_u * (1 + 1e-9)


# ---------------------------------------------------------------------------------------------
# uniform ball
# ---------------------------------------------------------------------------------------------


def ball_overlap_enclosure(d: int, t: float) -> tuple[float, float]:
    """[lo, hi] of V(t) = vol(B(0,1) cap B(t e_1, 1)) / vol(B) = I_{1 - t^2/4}((d+1)/2, 1/2)
    (two caps of height 1 - t/2; each regularised incomplete beta value assumed correct to
    ``CDF_ABS_ERROR``).  V is decreasing in t; V = 0 for t >= 2."""
    if t >= 2.0:
        return 0.0, CDF_ABS_ERROR
    if t <= 0.0:
        return 1.0, 1.0
    # I_x(a, 1/2) = 1 - I_{1-x}(1/2, a), with 1 - x = t^2/4
    v = float(special.betaincc(0.5, 0.5 * (d + 1), 0.25 * t * t))
    err = CDF_ABS_ERROR + 4e-16 * v
    return max(0.0, v - err), min(1.0, v + err)
