"""One coordinate: the loss law of a shift and the law of the score, as fine atoms.

Everything here works on the *standardised* noise (native scale 1) of a
:class:`~unicr.noises.base.ProductNoise`; radii are multiplied by the native scale at
the end, so ``R(c * scale) = c * R(scale)`` holds by construction.

Loss of a shift ``a`` (Hong et al. 2022, Theorem 1 in noise coordinates; the
privacy-loss view of Google's dp_accounting): ``l(z) = log q(z - a) - log q(z)``
with ``X: z ~ q`` and ``Y: z ~ q(. - a)``, so that ``dP_Y/dP_X = exp(l)``.  The
X-quantile function ``Q`` of the loss gives the Neyman-Pearson tradeoff
``T(p) = int_0^p exp(Q(u)) du`` (the smallest Y-mass of a set of X-mass ``p``).

The real line is cut into intervals (quantile nodes of X and Y, refined until the loss
varies by at most ``h`` on each).  On each interval the *exact* masses
``m = P_X(I)`` and ``y = P_Y(I)`` are computed from the CDF.  Two discrete pairs
follow, and they bracket the true pair in the Blackwell order:

* **merged** (``y/m`` as one atom): merging is post-processing, so the merged pair is
  *less* informative -- its tradeoff is an upper bound on the true one
  (``T_merged >= T``): it proves that a perturbation *fails*.  It needs nothing
  but the CDF: no monotonicity, no critical points.
* **split**: the content of each interval is split onto the two ends
  ``lo <= l <= hi`` of an enclosure of the loss on the interval, preserving both
  masses; splitting is the inverse of merging, so the split pair is *more*
  informative (``T_split <= T``): it proves that a perturbation *passes*.  Its
  validity rests on the enclosure, found by sampling (endpoints, midpoint, a
  curvature margin) on the refined grid.

The score ``s = -(log q)'`` is treated the same way for the differential method
(Yang et al. 2020, §8.1 of docs/certificate-notes.md): on each interval the mass and
the exact integral ``int_I s q = q(left) - q(right)`` are known, and the two-point
split onto an enclosure ``[lo, hi]`` is a mean-preserving spread, i.e. an upper
bound in the convex order.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from unicr.errors import NotProductNoiseError

__all__ = [
    "StdNoise",
    "LossAtoms",
    "ScoreAtoms",
    "loss_atoms",
    "score_atoms",
    "p_star_discrete",
    "tradeoff_discrete",
]

log = logging.getLogger(__name__)

#: absolute error of one CDF value of a closed-form family (float rounding of the special
#: functions: ~1e-15 measured for Student t near the median against 40-digit mpmath); a noise
#: may declare its own ``cdf_abs_error`` (numeric tables: their refinement tolerance)
_EPS_CDF = 4e-15
#: absolute CDF error of a numerically tabulated noise (NumericNoise refines its tail masses
#: to 1e-9 relative; CDF values are <= 1)
_NUMERIC_CDF_ERR = 1e-9
#: loss variation below which an interval counts as flat (a point mass of the loss)
FLAT_TOL = 1e-9
#: largest loss value exponentiated (exp(700) < max float)
_EXP_CAP = 700.0


class StdNoise:
    """The standardised law (native scale 1) of a product noise, through its ``_*1`` methods.

    Those methods are the subclass contract of :class:`~unicr.noises.base.ProductNoise`;
    using them (instead of dividing by the scale) keeps the engine exactly
    scale-equivariant.
    """

    def __init__(self, noise: object):
        if not getattr(noise, "is_product", False) or not hasattr(noise, "standard_logpdf"):
            name = getattr(noise, "name", type(noise).__name__)
            raise NotProductNoiseError(
                f"the exact engine needs a product (i.i.d.) noise, and {name!r} is not one; "
                "use unicr.radius(..., method='mc') (the Monte Carlo engine) for joint noises"
            )
        self.noise = noise
        self.scale = float(noise.scale)
        lo, hi = noise.support1
        self.lo = float(lo)
        self.hi = float(hi)
        self.symmetric = bool(noise.symmetric)
        self.has_score = bool(noise.has_score)
        with np.errstate(all="ignore"):
            med = float(np.asarray(noise.standard_ppf(np.array(0.5))))
        self.median = med if math.isfinite(med) else 0.0
        #: absolute error of one CDF value; every mass is a difference of two
        self.cdf_err = float(getattr(noise, "cdf_abs_error", None) or
                             (_NUMERIC_CDF_ERR if hasattr(noise, "table") else _EPS_CDF))

    # -- standardised law ----------------------------------------------------
    def logpdf(self, z: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(self.noise.standard_logpdf(np.asarray(z, dtype=float)), dtype=float)

    def pdf(self, z: np.ndarray) -> np.ndarray:
        return np.exp(self.logpdf(z))

    def cdf(self, z: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(self.noise._cdf1(np.asarray(z, dtype=float)), dtype=float)

    def sf(self, z: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(self.noise._sf1(np.asarray(z, dtype=float)), dtype=float)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(self.noise.standard_ppf(np.asarray(u, dtype=float)), dtype=float)

    def isf(self, u: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(self.noise._isf1(np.asarray(u, dtype=float)), dtype=float)

    def score(self, z: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(self.noise._score1(np.asarray(z, dtype=float)), dtype=float)

    def mass(self, zl: np.ndarray, zr: np.ndarray) -> np.ndarray:
        """P(zl < Z <= zr), each tail computed as a tail (no cancellation against 1)."""
        zl = np.asarray(zl, dtype=float)
        zr = np.asarray(zr, dtype=float)
        med = self.median
        cl, cr, sl, sr = self.cdf(zl), self.cdf(zr), self.sf(zl), self.sf(zr)
        out = np.where(zr <= med, cr - cl, np.where(zl >= med, sl - sr, 1.0 - cl - sr))
        return np.maximum(np.nan_to_num(out, nan=0.0), 0.0)

    def node_masses(self, z: np.ndarray) -> np.ndarray:
        """Masses of the consecutive intervals of sorted nodes ``z`` (one CDF/SF pass)."""
        if self.symmetric and self.median == 0.0:
            # one tail evaluation serves both: P(Z <= -|z|) = P(Z >= |z|)
            tail = self.cdf(-np.abs(z))
            cdf_values = np.where(z <= 0, tail, 1.0 - tail)
            sf_values = np.where(z >= 0, tail, 1.0 - tail)
        else:
            cdf_values = self.cdf(z)
            sf_values = self.sf(z)
        med = self.median
        left = cdf_values[1:] - cdf_values[:-1]
        right = sf_values[:-1] - sf_values[1:]
        mid = 1.0 - cdf_values[:-1] - sf_values[1:]
        out = np.where(z[1:] <= med, left, np.where(z[:-1] >= med, right, mid))
        return np.maximum(np.nan_to_num(out, nan=0.0), 0.0)

    # -- nodes ---------------------------------------------------------------
    @cached_property
    def base_nodes(self) -> np.ndarray:
        """Quantile nodes: log-odds equally spaced in [-70, 70] (tails down to ~1e-30)."""
        t = np.linspace(0.0, 70.0, 301)[1:]
        u = 1.0 / (1.0 + np.exp(t))  # tail probabilities, 1/2 > u >= 4e-31
        z = np.concatenate([self.ppf(u), self.isf(u), [self.median]])
        z = z[np.isfinite(z)]
        if math.isfinite(self.lo):
            z = np.append(z, self.lo)
        if math.isfinite(self.hi):
            z = np.append(z, self.hi)
        if self.lo < 0.0 < self.hi:
            z = np.append(z, 0.0)
        z = np.unique(z)
        return z[(z >= self.lo) & (z <= self.hi)]

    @cached_property
    def bulk(self) -> tuple[float, float]:
        """Quantiles at tail mass 1e-18: outside, node refinement buys nothing."""
        lo = float(self.ppf(np.array(1e-18)))
        hi = float(self.isf(np.array(1e-18)))
        return (lo if math.isfinite(lo) else -math.inf, hi if math.isfinite(hi) else math.inf)

    @cached_property
    def mode_nodes(self) -> np.ndarray:
        """Nodes accumulating geometrically at the mode (0 for symmetric laws).

        Stops where the log-density no longer changes (relative 1e-13), so that the
        innermost interval carries a negligible part of any score integral.
        """
        c = 0.0 if self.symmetric else self.median
        if not (self.lo < c < self.hi):
            return np.empty(0)
        l0 = float(self.logpdf(np.array(c)))
        out = []
        r = 0.5
        for _ in range(400):
            pts = np.array([c - r, c + r])
            lp = self.logpdf(pts)
            out.extend(pts.tolist())
            if np.all(np.abs(lp - l0) <= 1e-13 * max(1.0, abs(l0))):
                break
            r *= 0.5
        z = np.asarray(out)
        return z[(z > self.lo) & (z < self.hi)]

    @cached_property
    def jumps(self) -> Jumps:
        """Discontinuities of the density, support edges included (see :func:`find_jumps`)."""
        return find_jumps(self)

    @property
    def absolutely_continuous(self) -> bool:
        """Whether the density is continuous on R (no jump found, none at a support edge).

        The differential method, the Fisher bound and the Gaussian convex-order bound all
        need it (an absolutely continuous density on R, so that moving a set moves its mass
        at the rate of the score); with jumps they are replaced by their jump-aware forms.
        """
        return self.jumps.total == 0.0

    @cached_property
    def fisher(self) -> float:
        """Location Fisher information of the standardised law (``inf`` if infinite).

        ``inf`` for a density with a jump: its location Fisher information is infinite
        (the Hellinger distance of a shift is of order ``sqrt(|a|)``, not ``|a|``), whatever
        ``E[s^2]`` over the continuous parts says.
        """
        if not self.absolutely_continuous:
            return math.inf
        try:
            try:  # at native scale 1 directly, so that results are exactly scale-equivariant
                val = float(self.noise.with_scale(1.0).fisher_information())
            except Exception:  # noqa: BLE001 - families that cannot be rebuilt
                val = float(self.noise.fisher_information()) * self.scale**2
        except Exception:  # noqa: BLE001 - a family without it simply gives no Fisher bound
            return math.inf
        return val if (math.isfinite(val) and val > 0) else math.inf


@dataclass(frozen=True)
class Jumps:
    """Jumps of a standardised density: brackets ``[left, right]`` (adjacent floats, or nearly)
    with the one-sided density values ``q_left``, ``q_right`` there.

    ``down`` is the total size of the downward jumps (``q_left > q_right``), ``up`` of the
    upward ones; a finite support edge where the density does not vanish counts as a jump
    from or to 0.  In the score measure ``-q'`` a downward jump is a point mass ``+J`` on a
    set of zero probability (an upward one ``-J``): moving a set across it changes its mass
    at first order with no mass of its own (Yang et al. 2020's differential method assumes
    it away; :func:`score_atoms` keeps it in the slacks).
    """

    left: np.ndarray
    right: np.ndarray
    q_left: np.ndarray
    q_right: np.ndarray

    @property
    def down(self) -> float:
        return float(np.clip(self.q_left - self.q_right, 0.0, None).sum())

    @property
    def up(self) -> float:
        return float(np.clip(self.q_right - self.q_left, 0.0, None).sum())

    @property
    def total(self) -> float:
        return self.down + self.up

    @property
    def points(self) -> np.ndarray:
        """Every bracket end, sorted (nodes that keep grids from straddling a jump)."""
        return np.unique(np.concatenate([self.left, self.right]))


#: log-density change per interval below which the jump scan refines no further
_JUMP_SCAN_H = 0.02
#: bisection steps of the jump scan (brackets shrink to ~2^-60 of a grid interval)
_JUMP_BISECT = 64
#: a bracket keeps a jump when its log-density change stays above this after bisection
_JUMP_LOG_TOL = 1e-7


def _log_change(fa: np.ndarray, fb: np.ndarray) -> np.ndarray:
    """|f(b) - f(a)| for log-densities, with -inf handled (0 if both are -inf, inf if one is)."""
    both = np.isneginf(fa) & np.isneginf(fb)
    with np.errstate(invalid="ignore"):
        d = np.abs(fb - fa)
    d = np.where(both, 0.0, d)
    return np.where(np.isnan(d), np.inf, d)


def _beside(e: float, direction: float) -> float:
    """The float next to ``e`` (at least 1e-290 away: denormals break many log-densities)."""
    if abs(e) < 1e-290:
        return e + direction * 1e-290
    return float(np.nextafter(e, direction * math.inf))


def find_jumps(std: StdNoise) -> Jumps:
    """Locate the jumps of the standardised density (including at finite support edges).

    A grid (the quantile nodes, the mode nodes, the support edges and the floats just
    outside them) is refined until the log-density changes by at most 0.02 per interval on
    continuous stretches; then every interval is bisected 64 times, always keeping the half
    where the log-density changes more.  On a continuous stretch that change halves (or
    shrinks like the width to some power) at every step; across a jump it keeps the jump's
    size.  Brackets whose change stays above ``1e-7`` are reported as jumps.  A cusp that
    steep (``|x|^0.1``) is reported too, with the one-sided values it has: counting it as a
    jump only makes the bounds that use it more conservative.

    Assumption (the same as every grid of this engine): no jump beyond the outermost
    quantile nodes (tail mass ~4e-31).
    """
    z = std.base_nodes
    if len(std.mode_nodes):
        z = np.concatenate([z, std.mode_nodes])
    for e in (std.lo, std.hi):
        if math.isfinite(e):
            z = np.concatenate([z, [e, _beside(e, -1.0), _beside(e, 1.0)]])
    z = np.unique(z[np.isfinite(z)])
    if len(z) < 2:
        empty = np.empty(0)
        return Jumps(empty, empty, empty, empty)
    f = std.logpdf(z)
    finite_f = np.where(np.isfinite(f), f, -1e300)
    z, _ = _refine(z, finite_f, lambda zz: np.where(np.isfinite(ff := std.logpdf(zz)), ff, -1e300),
                   _JUMP_SCAN_H, bulk=std.bulk)
    a, b = z[:-1].copy(), z[1:].copy()
    fa, fb = std.logpdf(a), std.logpdf(b)
    cand = _log_change(fa, fb) > _JUMP_LOG_TOL
    a, b, fa, fb = a[cand], b[cand], fa[cand], fb[cand]
    for _ in range(_JUMP_BISECT):
        if len(a) == 0:
            break
        m = 0.5 * (a + b)
        done = (m <= a) | (m >= b)
        fm = std.logpdf(m)
        go_left = _log_change(fa, fm) >= _log_change(fm, fb)
        a = np.where(done | go_left, a, m)
        fa = np.where(done | go_left, fa, fm)
        b = np.where(done | ~go_left, b, m)
        fb = np.where(done | ~go_left, fb, fm)
    keep = _log_change(fa, fb) > _JUMP_LOG_TOL
    a, b, fa, fb = a[keep], b[keep], fa[keep], fb[keep]
    with np.errstate(over="ignore"):
        qa, qb = np.exp(fa), np.exp(fb)
    if len(a):
        log.debug("density jumps at %s", np.round(0.5 * (a + b), 12).tolist())
    return Jumps(a, b, qa, qb)


def _refine(z: np.ndarray, f: np.ndarray, fun, h: float, max_sub: int = 400,
            passes: int = 2, max_total: int = 60000,
            bulk: tuple[float, float] = (-math.inf, math.inf)) -> tuple[np.ndarray, np.ndarray]:
    """Insert equally spaced nodes until ``|f(z_{i+1}) - f(z_i)| <= h`` (finite values only).

    Only intervals inside ``bulk`` are refined (outside it the mass is negligible).  At most
    ``max_total`` new nodes per pass (the resolution then degrades gracefully: every
    construction built on the nodes stays valid, only less tight).
    """
    for _ in range(passes):
        df = np.abs(np.diff(f))
        inside = (z[:-1] >= bulk[0]) & (z[1:] <= bulk[1])
        with np.errstate(invalid="ignore"):
            need = np.where(np.isfinite(df) & inside, np.ceil(df / h), 1.0)
        need = np.clip(need, 1, max_sub)
        extra = float((need - 1).sum())
        if extra > max_total:
            need = np.maximum(1.0, np.ceil((need - 1) * (max_total / extra)) + 1)
        need = need.astype(np.int64)
        if np.all(need <= 1):
            break
        sel = np.nonzero(need > 1)[0]
        parts = []
        for cnt in np.unique(need[sel]):
            idx = sel[need[sel] == cnt]
            frac = np.arange(1, cnt) / cnt
            parts.append((z[idx, None] + (z[idx + 1] - z[idx])[:, None] * frac[None, :]).ravel())
        new = np.concatenate(parts)
        z = np.unique(np.concatenate([z, new]))
        f = fun(z)
    return z, f


# ---------------------------------------------------------------------------
# loss atoms
# ---------------------------------------------------------------------------


@dataclass
class LossAtoms:
    """Fine atoms of the per-coordinate loss pair for one shift ``a`` (standardised units).

    ``m``/``y`` are the X- and Y-masses of the intervals (finite-loss region),
    ``lo``/``hi`` an enclosure of the loss on each (``-inf``/``inf`` when unknown),
    ``m_minus`` the X-mass where ``q(z - a) = 0`` (loss ``-inf``), ``err`` a bound on
    the total absolute error of the masses (float rounding of CDF differences).
    """

    a: float
    m: np.ndarray
    y: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    m_minus: float
    err: float

    @cached_property
    def loss(self) -> np.ndarray:
        """Loss of each merged atom, ``log(y/m)`` (``-inf`` where ``y = 0``)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(self.y) - np.log(self.m)

    def moments(self) -> tuple[float, float]:
        """Mean and variance of the finite loss under X (merged atoms, normalised)."""
        ok = np.isfinite(self.loss) & (self.m > 0)
        w = self.m[ok]
        x = self.loss[ok]
        tot = w.sum()
        if tot <= 0:
            return 0.0, 0.0
        mu = float((w * x).sum() / tot)
        var = float((w * (x - mu) ** 2).sum() / tot)
        return mu, var

    def merged(self) -> tuple[np.ndarray, np.ndarray, float]:
        """The merged (less informative) pair: sorted finite losses, X-masses, ``-inf`` mass."""
        ok = self.m > 0
        x = self.loss[ok]
        w = self.m[ok]
        neg = ~np.isfinite(x) & (x < 0)
        m_minus = self.m_minus + float(w[neg].sum())
        fin = np.isfinite(x)
        x, w = x[fin], w[fin]
        order = np.argsort(x, kind="stable")
        return x[order], w[order], m_minus

    def split_points(self) -> tuple[np.ndarray, np.ndarray, float]:
        """The split (more informative) pair as points: values, X-masses, ``-inf`` mass.

        Each atom ``(m, y)`` with enclosure ``[lo, hi]`` becomes ``(m (1 - f))`` at ``lo``
        and ``m f`` at ``hi`` with ``f = expm1(l - lo) / expm1(hi - lo)`` (both masses
        preserved); ``lo = -inf`` sends ``m - y e^{-hi}`` to ``-inf``; ``hi = inf``
        keeps the X-mass at ``lo`` (the excess Y-mass becomes Y-only).
        """
        ok = self.m > 0
        m, y, lo, hi = self.m[ok], self.y[ok], self.lo[ok], self.hi[ok]
        with np.errstate(divide="ignore", invalid="ignore"):
            ell = np.log(y) - np.log(m)
        lo = np.minimum(lo, ell)
        hi = np.maximum(hi, ell)
        vals = []
        ws = []
        m_minus = self.m_minus
        fin_lo = np.isfinite(lo)
        fin_hi = np.isfinite(hi)
        # both ends finite
        b = fin_lo & fin_hi
        if b.any():
            span = hi[b] - lo[b]
            with np.errstate(invalid="ignore", divide="ignore"):
                f = np.where(span > 0, np.expm1(ell[b] - lo[b]) / np.expm1(span), 1.0)
            f = np.clip(np.nan_to_num(f, nan=1.0), 0.0, 1.0)
            vals += [lo[b], hi[b]]
            ws += [m[b] * (1.0 - f), m[b] * f]
        # lo = -inf, hi finite: y e^{-hi} at hi, the rest at -inf
        c = ~fin_lo & fin_hi
        if c.any():
            up = np.minimum(m[c], y[c] * np.exp(-np.minimum(hi[c], _EXP_CAP)))
            up = np.where(np.isfinite(up), up, m[c])
            vals.append(hi[c])
            ws.append(up)
            m_minus += float((m[c] - up).sum())
        # hi = inf, lo finite: all X-mass at lo
        e = fin_lo & ~fin_hi
        if e.any():
            vals.append(lo[e])
            ws.append(m[e])
        # no enclosure: all X-mass to -inf
        n = ~fin_lo & ~fin_hi
        m_minus += float(m[n].sum())
        if vals:
            v = np.concatenate(vals)
            w = np.concatenate(ws)
        else:
            v = np.empty(0)
            w = np.empty(0)
        keep = w > 0
        v, w = v[keep], w[keep]
        order = np.argsort(v, kind="stable")
        return v[order], w[order], m_minus


def _merge_flat(std: StdNoise, a: float, z: np.ndarray, m: np.ndarray, y: np.ndarray,
                elo: np.ndarray, ehi: np.ndarray, ftol: np.ndarray) -> tuple[np.ndarray, ...]:
    """(see below) Returns masses, enclosures and the interval end points."""
    """Merge runs of consecutive intervals on which the loss is one constant (flat pieces).

    A flat piece (Laplace: ``z <= 0`` and ``z >= a``) is a point mass of the loss; computing
    its masses with one CDF difference keeps its loss value exact to rounding, which the
    lattice alignment relies on.  Merging is post-processing, hence always allowed.
    """
    zl_all, zr_all = z[:-1], z[1:]
    flat = np.isfinite(elo) & (ehi - elo <= ftol)
    if flat.sum() < 2:
        return m, y, elo, ehi, zl_all, zr_all, flat
    val = np.where(flat, np.round(elo, 10), np.nan)
    same = flat[1:] & flat[:-1] & (val[1:] == val[:-1])
    if not same.any():
        return m, y, elo, ehi, zl_all, zr_all, flat
    # run starts: intervals not continuing the previous one
    start = np.ones(len(m), dtype=bool)
    start[1:] = ~same
    rid = np.cumsum(start) - 1
    first = np.nonzero(start)[0]
    last = np.append(first[1:] - 1, len(m) - 1)
    zl = z[first]
    zr = z[last + 1]
    mm = std.mass(zl, zr)
    yy = std.mass(zl - a, zr - a)
    lo = np.minimum.reduceat(elo, first)
    hi = np.maximum.reduceat(ehi, first)
    del rid
    return mm, yy, lo, hi, zl, zr, flat[first]


def loss_variance(std: StdNoise, a: float) -> float:
    """Variance of the loss of the shift ``a`` under X, roughly (quantile nodes, no refinement).

    Only used to choose the lattice spacing, never for a bound.
    """
    b = std.base_nodes
    f_lo, f_hi = max(std.lo, std.lo + a), min(std.hi, std.hi + a)
    z = np.unique(np.concatenate([b, b + a]))
    z = z[(z > f_lo) & (z < f_hi)]
    if len(z) < 3:
        return 0.0
    m = std.node_masses(z)
    lz = std.logpdf(z - a) - std.logpdf(z)
    x = 0.5 * (lz[1:] + lz[:-1])
    ok = np.isfinite(x) & (m > 0)
    w, x = m[ok], x[ok]
    tot = w.sum()
    if tot <= 0:
        return 0.0
    mu = (w * x).sum() / tot
    return float((w * (x - mu) ** 2).sum() / tot)


def loss_atoms(std: StdNoise, a: float, h: float) -> LossAtoms:
    """Fine atoms of the loss of the shift ``a`` (standardised), loss varying by <= ``h`` per atom.

    Implements the per-coordinate privacy-loss pair (Hong et al. 2022, Theorem 1 with the
    likelihood ratio ``q(z - a)/q(z)``; discretisation in the style of dp_accounting).
    """
    lo, hi = std.lo, std.hi
    # finite-loss region: both q(z) > 0 and q(z - a) > 0
    f_lo = max(lo, lo + a)
    f_hi = min(hi, hi + a)
    # X-only region (loss -inf): q(z) > 0, q(z - a) = 0
    if a >= 0:
        m_minus = float(std.cdf(np.array(min(hi, lo + a)))) if math.isfinite(lo) else 0.0
    else:
        m_minus = float(std.sf(np.array(max(lo, hi + a)))) if math.isfinite(hi) else 0.0
    if not f_lo < f_hi:
        return LossAtoms(a, np.empty(0), np.empty(0), np.empty(0), np.empty(0), 1.0, 1e-15)
    b = std.base_nodes
    z = np.concatenate([b, b + a, std.mode_nodes, std.mode_nodes + a])
    z = z[(z > f_lo) & (z < f_hi)]
    ends = [v for v in (f_lo, f_hi) if math.isfinite(v)]
    z = np.unique(np.concatenate([z, ends]))

    def lossf(zz: np.ndarray) -> np.ndarray:
        return std.logpdf(zz - a) - std.logpdf(zz)

    blo, bhi = std.bulk
    z, lz = _refine(z, lossf(z), lossf, h, bulk=(min(blo, blo + a), max(bhi, bhi + a)))
    zl, zr = z[:-1], z[1:]
    m = std.node_masses(z)
    y = std.node_masses(z - a)
    lmid = lossf(0.5 * (zl + zr))
    ll, lr = lz[:-1], lz[1:]
    with np.errstate(invalid="ignore"):
        margin = np.abs(lmid - 0.5 * (ll + lr))
        elo = np.fmin(np.fmin(ll, lr), lmid) - margin
        ehi = np.fmax(np.fmax(ll, lr), lmid) + margin
    elo = np.where(np.isnan(elo), -np.inf, elo)
    ehi = np.where(np.isnan(ehi), np.inf, ehi)
    # rounding noise of the loss values: a few ulps of the log-densities
    noise = 1e-13 * (1.0 + np.abs(std.logpdf(z)) + np.abs(std.logpdf(z - a)))
    ftol = np.maximum(noise[:-1], noise[1:])
    m, y, elo, ehi, ezl, ezr, flat = _merge_flat(std, a, z, m, y, elo, ehi, ftol)
    # a flat piece's loss is the constant itself: the median of the loss at the nodes of the
    # piece (robust to rounding noise and to a tiny non-flat end); its Y-mass follows from
    # dP_Y/dP_X = e^l.  The lattice alignment relies on this value being exact.
    flat &= m > 1e-9  # only atoms heavy enough to be aligned matter
    if flat.any():
        i0 = np.searchsorted(z, ezl[flat])
        i1 = np.searchsorted(z, ezr[flat])
        v = np.array([float(np.median(lz[start:stop + 1])) for start, stop in zip(i0, i1)])
        v = np.where(np.isfinite(v) & (v >= elo[flat] - 1e-9) & (v <= ehi[flat] + 1e-9), v,
                     0.5 * (elo[flat] + ehi[flat]))
        y = y.copy()
        y[flat] = m[flat] * np.exp(v)
        elo = elo.copy()
        ehi = ehi.copy()
        elo[flat] = v
        ehi[flat] = v
    # unbounded tails of the finite region: no enclosure (split sends them to -inf)
    tails_m, tails_y = [], []
    if not math.isfinite(f_lo):
        tails_m.append(float(std.cdf(np.array(z[0]))))
        tails_y.append(float(std.cdf(np.array(z[0] - a))))
    if not math.isfinite(f_hi):
        tails_m.append(float(std.sf(np.array(z[-1]))))
        tails_y.append(float(std.sf(np.array(z[-1] - a))))
    if tails_m:
        m = np.concatenate([m, tails_m])
        y = np.concatenate([y, tails_y])
        elo = np.concatenate([elo, [-np.inf] * len(tails_m)])
        ehi = np.concatenate([ehi, [np.inf] * len(tails_m)])
    err = 2.0 * std.cdf_err * (len(z) + 4)
    return LossAtoms(float(a), m, y, elo, ehi, m_minus, err)


# ---------------------------------------------------------------------------
# score atoms
# ---------------------------------------------------------------------------


@dataclass
class ScoreAtoms:
    """Fine atoms of the score ``s = -(log q)'`` under the standardised noise.

    ``m`` masses, ``mu`` exact conditional means (``(q(left) - q(right)) / m``),
    ``lo``/``hi`` enclosures (finite).  Intervals without a finite enclosure (the
    score is unbounded there) are left out and their contributions
    ``int s^+ q`` / ``int s^- q`` are kept in ``slack_plus`` / ``slack_minus``.
    """

    m: np.ndarray
    mu: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    slack_plus: float
    slack_minus: float
    err: float
    #: True when some mass has no finite score enclosure (its share is in the slacks)
    unbounded: bool = False

    def split_points(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean-preserving two-point spread of every atom onto its enclosure (convex order)."""
        span = self.hi - self.lo
        with np.errstate(invalid="ignore", divide="ignore"):
            f = np.where(span > 0, (self.mu - self.lo) / span, 0.5)
        f = np.clip(f, 0.0, 1.0)
        v = np.concatenate([self.lo, self.hi])
        w = np.concatenate([self.m * (1.0 - f), self.m * f])
        keep = w > 0
        return v[keep], w[keep]

    def second_moment_upper(self) -> float:
        """E[s^2] of the spread law (>= the true E[s^2] on the covered intervals)."""
        v, w = self.split_points()
        return float((w * v * v).sum())


def score_atoms(std: StdNoise, h: float) -> ScoreAtoms:
    """Fine atoms of the score law with score variation <= ``h`` per atom.

    The exact identity ``int_I s q dz = q(left) - q(right)`` (``s q = -q'``) gives each
    interval's mean; the enclosure comes from one-sided endpoint values, the midpoint
    and a curvature margin (assumption: the grid resolves the score's extrema).
    """
    b = std.base_nodes
    jumps = std.jumps
    z = np.unique(np.concatenate([b, std.mode_nodes, jumps.points]))
    z = z[(z > std.lo) & (z < std.hi)]
    ends = [v for v in (std.lo, std.hi) if math.isfinite(v)]
    z = np.unique(np.concatenate([z, ends]))
    z, sz = _refine(z, std.score(z), std.score, h, bulk=std.bulk)
    zl, zr = z[:-1], z[1:]
    # intervals inside a jump bracket carry the jump, not score: their integral is the
    # jump's point mass, counted once below from ``jumps`` (their X-mass is ~1 ulp * q)
    in_jump = np.zeros(len(zl), dtype=bool)
    for jl, jr in zip(jumps.left, jumps.right):
        in_jump |= (zl >= jl) & (zr <= jr)
    width = zr - zl
    eps = np.maximum(width * 1e-9, 1e-300)
    s_l = std.score(zl + eps)
    s_r = std.score(zr - eps)
    s_m = std.score(0.5 * (zl + zr))
    with np.errstate(invalid="ignore"):  # undefined scores become bad intervals below
        margin = np.abs(s_m - 0.5 * (s_l + s_r))
    lo = np.fmin(np.fmin(s_l, s_r), s_m) - margin
    hi = np.fmax(np.fmax(s_l, s_r), s_m) + margin
    m = std.node_masses(z)
    lq = std.logpdf(z)
    q = np.exp(lq)
    # int_I s q = q(zl) - q(zr), computed as q(zr) expm1(lq_l - lq_r) for accuracy
    with np.errstate(invalid="ignore", over="ignore"):
        integ = np.where(q[1:] > 0, q[1:] * np.expm1(lq[:-1] - lq[1:]), q[:-1])
    integ = np.nan_to_num(integ, nan=0.0)
    err = 8e-16 * float(np.abs(q).sum()) + 2.0 * std.cdf_err * len(z)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.where(m > 0, integ / m, 0.5 * (lo + hi))
    bad = ~(np.isfinite(lo) & np.isfinite(hi) & np.isfinite(mu))
    # enclosure misses the exact mean by more than rounding: widen (and say so in the log)
    tol = 1e-9 * (np.abs(lo) + np.abs(hi) + 1.0)
    miss = ~bad & ((mu < lo - tol) | (mu > hi + tol))
    if miss.any():
        log.debug("score enclosure widened on %d intervals to contain the exact mean",
                  int(miss.sum()))
    # a miss is either an enclosure the grid did not resolve or a jump too small for the
    # jump scan: widen the enclosure (the first) and also keep the excess over the clipped
    # mean as a point mass in the slacks (the second) -- conservative either way
    excess = np.where(miss, integ - m * np.clip(mu, lo, hi), 0.0)
    lo = np.where(miss, np.fmin(lo, mu), lo)
    hi = np.where(miss, np.fmax(hi, mu), hi)
    bad |= in_jump
    excess = np.where(in_jump, 0.0, excess)
    slack_plus = float(np.clip(integ[bad & ~in_jump], 0, None).sum())
    slack_minus = float(np.clip(-integ[bad & ~in_jump], 0, None).sum())
    tail_m, tail_mu, tail_lo, tail_hi, slack_plus, slack_minus = _tail_atoms(
        std, z, slack_plus, slack_minus)
    keep = ~bad
    m_k, mu_k, lo_k, hi_k = m[keep], mu[keep], lo[keep], hi[keep]
    if tail_m:
        m_k = np.concatenate([m_k, tail_m])
        mu_k = np.concatenate([mu_k, tail_mu])
        lo_k = np.concatenate([lo_k, tail_lo])
        hi_k = np.concatenate([hi_k, tail_hi])
    # enclosure misses at the level of rounding (<= err, which every bound adds to Phi anyway)
    # do not make the score unbounded; a larger one may be a jump and does
    excess_p = float(np.clip(excess, 0, None).sum())
    excess_m = float(np.clip(-excess, 0, None).sum())
    unbounded = (bool(bad.any()) or slack_plus > 0 or slack_minus > 0 or jumps.total > 0
                 or excess_p + excess_m > err)
    slack_plus += excess_p + jumps.down
    slack_minus += excess_m + jumps.up
    return ScoreAtoms(m_k, mu_k, lo_k, hi_k, slack_plus + err, slack_minus + err, err, unbounded)


def _tail_atoms(std: StdNoise, z: np.ndarray, slack_plus: float, slack_minus: float
                ) -> tuple[list[float], list[float], list[float], list[float], float, float]:
    """Atoms of the score law on the unbounded tails beyond the outermost nodes ``z[0]``, ``z[-1]``.

    The score integral of a tail is ``-+q(node)`` (``s q = -q'``).  A tail whose score
    settles (bounded) becomes one atom with that mean and the range of the score seen on a
    geometric probe; otherwise its integral goes into ``slack_plus``/``slack_minus`` (a
    point mass at +-inf), which are returned updated with the atoms' masses, means, lows
    and highs.
    """
    tail_m, tail_mu, tail_lo, tail_hi = [], [], [], []
    for end, node, sign in ((std.lo, z[0], -1.0), (std.hi, z[-1], 1.0)):
        if math.isfinite(end):
            continue
        mass = float(std.cdf(np.array(node))) if sign < 0 else float(std.sf(np.array(node)))
        density = float(np.exp(std.logpdf(np.array(node))))
        integral = -density if sign < 0 else density  # int_{-inf}^{z0} s q = -q(z0); int_{zn}^inf = q(zn)
        probe = node + sign * np.abs(node) * (2.0 ** np.arange(0, 40)) + sign * 1e-12
        scores = std.score(probe)
        scores = np.concatenate([[float(std.score(np.array(node)))], scores])
        bounded = np.all(np.isfinite(scores)) and abs(scores[-1] - scores[-2]) <= 1e-6 * (1 + abs(scores[-1]))
        if bounded and mass > 0:
            tail_m.append(mass)
            tail_mu.append(integral / mass)
            tail_lo.append(min(float(scores.min()), integral / mass))
            tail_hi.append(max(float(scores.max()), integral / mass))
        elif integral > 0:
            slack_plus += integral
        else:
            slack_minus += -integral
    return tail_m, tail_mu, tail_lo, tail_hi, slack_plus, slack_minus


# ---------------------------------------------------------------------------
# Neyman-Pearson quantities of a discrete X-law of the loss
# ---------------------------------------------------------------------------


def _cums(x: np.ndarray, w: np.ndarray, m_minus: float) -> tuple[np.ndarray, np.ndarray]:
    fx = m_minus + np.cumsum(w)
    fy = np.cumsum(w * np.exp(np.minimum(x, _EXP_CAP)))
    return fx, fy


def p_star_discrete(x: np.ndarray, w: np.ndarray, m_minus: float, c: np.ndarray) -> np.ndarray:
    """Smallest pA certifying the pair at level ``c``: ``p* = T^{-1}(c)``, ``T(p) = int_0^p e^Q``.

    For a discrete X-law (sorted finite losses ``x`` with masses ``w``, ``m_minus`` at
    ``-inf``; Y-masses by the tilt ``e^x w``) this is exact:
    ``p* = F_X(x_{j-1}) + (c - F_Y(x_{j-1})) e^{-x_j}`` with ``j`` the first atom where
    ``F_Y >= c`` (randomised Neyman-Pearson set, Hong et al. 2022 Theorem 1).
    """
    c = np.atleast_1d(np.asarray(c, dtype=float))
    if len(x) == 0:
        return np.full(c.shape, m_minus)
    fx, fy = _cums(x, w, m_minus)
    j = np.searchsorted(fy, c, side="left")
    inside = j < len(x)
    jj = np.minimum(j, len(x) - 1)
    fx_prev = np.where(jj > 0, fx[jj - 1], m_minus)
    fy_prev = np.where(jj > 0, fy[jj - 1], 0.0)
    p = fx_prev + (c - fy_prev) * np.exp(-np.clip(x[jj], -_EXP_CAP, _EXP_CAP))
    p = np.minimum(p, fx[jj])
    return np.where(inside, p, fx[-1])


def tradeoff_discrete(x: np.ndarray, w: np.ndarray, m_minus: float, p: np.ndarray) -> np.ndarray:
    """``T(p) = int_0^p exp(Q(u)) du`` for a discrete X-law (``inf`` past the finite mass)."""
    p = np.atleast_1d(np.asarray(p, dtype=float))
    if len(x) == 0:
        return np.where(p <= m_minus, 0.0, np.inf)
    fx, fy = _cums(x, w, m_minus)
    j = np.searchsorted(fx, p, side="left")
    inside = j < len(x)
    jj = np.minimum(j, len(x) - 1)
    fx_prev = np.where(jj > 0, fx[jj - 1], m_minus)
    fy_prev = np.where(jj > 0, fy[jj - 1], 0.0)
    t = fy_prev + np.maximum(p - fx_prev, 0.0) * np.exp(np.minimum(x[jj], _EXP_CAP))
    t = np.where(p <= m_minus, 0.0, t)
    return np.where(inside | (p <= m_minus), t, np.inf)
