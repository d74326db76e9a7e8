"""Proven lower bounds on the radius: the differential method and its relatives.

Differential method (Yang et al. 2020, "Randomized Smoothing of All Shapes and Sizes",
§8.1 of docs/certificate-notes.md).  Moving the input along a unit direction ``v``
changes the noise mass of a set of mass ``u`` at rate at most

    Phi_v(u) = int_{1-u}^1 Q_{S_v}(w) dw = min_t [u t + E (S_v - t)^+],    S_v = <s(eps), v>,

``s = -(log q)'`` the score.  With ``Phi = sup_v Phi_v`` over the unit ball of the norm,
``H(p) = int_{1/2}^p dw / Phi(w)`` (``Phi(u) = Phi(1 - u)`` for a symmetric ball)
satisfies: the class-A mass stays above ``H^{-1}(H(pA) - r)`` and every other class below
``H^{-1}(H(pB) + r)`` after a move of norm ``r``.  Hence

* binary:    ``R >= J(1 - pA)``,
* two-sided: ``R >= (J(1 - pA) + J(pB)) / 2`` (both sets move; derived here),

with ``J(u0) = int_{u0}^{1/2} du / Phi(u)``.  Product noise: over the l1 ball the
supremum is at ``+-e_i`` (1-D score law), over the l_inf ball at sign vectors (for a
symmetric noise all give the law of the sum of ``d`` i.i.d. scores) -- the convexity
argument of Yang et al. 2020.

Soundness of the numerics: the score law is replaced by a mean-preserving spread
(two-point split of each fine atom onto its enclosure, then onto a lattice), which
dominates it in the convex order; the convex order is preserved by independent sums
and ``E(S - t)^+`` is increasing in it, so ``Phi`` computed from the spread is an upper
bound and ``J`` a lower bound.  ``Phi`` of a discrete law is piecewise linear and
``int du / Phi`` is integrated exactly on each piece.

Other bounds (all for product noise):

* Fisher (Cauchy-Schwarz): ``Phi_v(u) <= sqrt(I u (1 - u))`` for unit l2 ``v``, so
  ``R_2 >= arcsin(2 pA - 1) / sqrt(I)``.
* Gaussian domination in convex order: if ``s <=_cx N(0, tau^2)`` then
  ``<s, v> <=_cx N(0, tau^2)`` for unit l2 ``v`` and ``R_2 >= Phi^{-1}(pA) / tau``
  (Cohen's radius at ``sigma = 1/tau``).  Here ``tau`` is computed from the spread law.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from unicr.neyman_pearson.lattice import LatticeLaw, compose, split_lattice
from unicr.neyman_pearson.tradeoff import ScoreAtoms, StdNoise, score_atoms

__all__ = [
    "RateFunction",
    "rate_from_law",
    "score_law",
    "l1_rate",
    "linf_rate",
    "fisher_radius",
    "truncated_fisher_radius",
    "gaussian_domination_tau",
]

#: relative safety factor on Phi (float rounding of sums)
_PHI_SAFETY = 1e-10
#: rates above this (or NaN) are treated as this: their share of J is ~0, never inf
_PHI_CAP = 1e300


@dataclass
class RateFunction:
    """A piecewise-linear upper bound ``Phi(u)`` on ``[0, 1/2]`` and its integral ``J``.

    ``u``: breakpoints ascending in ``(0, 1/2]``; ``phi``: values there (linear between,
    ``Phi(0) = phi0 >= 0``).  ``J(u0) = int_{u0}^{1/2} du / Phi(u)`` exactly.
    """

    u: np.ndarray
    phi: np.ndarray
    phi0: float
    detail: str = ""

    def __post_init__(self) -> None:
        u = np.concatenate([[0.0], self.u])
        p = np.concatenate([[self.phi0], self.phi])
        # an infinite (or undefined) rate bound proves nothing: 1/Phi = 0 there (never inf)
        p = np.where(np.isnan(p) | (p > _PHI_CAP), _PHI_CAP, p)
        self._u = u
        self._p = p
        # exact integral of 1/(linear) on each piece
        du = np.diff(u)
        p0, p1 = p[:-1], p[1:]
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = (p1 - p0) / du
            seg = np.where(np.abs(p1 - p0) > 1e-12 * np.maximum(p0, p1),
                           np.log(p1 / p0) / beta, du / np.maximum(0.5 * (p0 + p1), 1e-300))
        seg = np.where(du > 0, seg, 0.0)
        seg = np.nan_to_num(seg, nan=np.inf, posinf=np.inf)
        # J at breakpoints: integral from u_i to 1/2
        self._jb = np.concatenate([np.cumsum(seg[::-1])[::-1], [0.0]])

    def __call__(self, u: np.ndarray) -> np.ndarray:
        return np.interp(u, self._u, self._p)

    def J(self, u0: np.ndarray) -> np.ndarray:
        """``int_{u0}^{1/2} du / Phi(u)`` for ``u0`` in ``(0, 1/2]`` (0 for ``u0 >= 1/2``)."""
        u0 = np.atleast_1d(np.asarray(u0, dtype=float))
        uu = np.clip(u0, 0.0, 0.5)
        i = np.clip(np.searchsorted(self._u, uu, side="right") - 1, 0, len(self._u) - 2)
        ua, ub = self._u[i], self._u[i + 1]
        pa, pb = self._p[i], self._p[i + 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = (pb - pa) / (ub - ua)
            pu = pa + beta * (uu - ua)
            part = np.where(np.abs(pb - pa) > 1e-12 * np.maximum(pa, pb),
                            np.log(pb / pu) / beta, (ub - uu) / np.maximum(0.5 * (pu + pb), 1e-300))
        part = np.nan_to_num(part, nan=np.inf, posinf=np.inf)
        out = part + self._jb[i + 1]
        return np.where(u0 >= 0.5, 0.0, np.maximum(out, 0.0))

    def radius(self, pa: np.ndarray, pb: np.ndarray | None = None) -> np.ndarray:
        """Binary ``J(1 - pA)``; two-sided ``(1/2) int_{pB}^{pA} du / Phi(u)``.

        With ``Phi(u) = Phi(1 - u)`` the two-sided integral is ``(J(1 - pA) + J(pB)) / 2``
        when ``pA >= 1/2`` and ``(J(pB) - J(pA)) / 2`` when ``pA < 1/2`` (both ends below
        1/2; the same exact integral of ``1/Phi`` is subtracted, so the difference is the
        integral over ``[pB, pA]`` and stays a lower bound).
        """
        pa = np.atleast_1d(np.asarray(pa, dtype=float))
        ja = self.J(1.0 - pa)
        if pb is None:
            return ja
        ja = np.where(pa >= 0.5, ja, -self.J(np.minimum(pa, 0.5)))
        jb = self.J(np.asarray(pb, dtype=float))
        return np.maximum(0.5 * (ja + jb), 0.0)


def _upper_tail(v: np.ndarray, w: np.ndarray, slack: float) -> tuple[np.ndarray, np.ndarray]:
    """Tail-integral curve of a discrete law: (tail mass U, Phi(U) + slack), U ascending."""
    order = np.argsort(-v, kind="stable")
    values, weights = v[order], w[order]
    tail_mass = np.cumsum(weights)
    tail_integral = np.cumsum(weights * values)
    return tail_mass, tail_integral + slack


def rate_from_law(v: np.ndarray, w: np.ndarray, slack_plus: float, slack_minus: float,
                  symmetric: bool, detail: str = "") -> RateFunction:
    """``Phi(u) = max(Phi_S(u), Phi_{-S}(u))`` (+ slacks) of a discrete law, on ``[0, 1/2]``.

    For a symmetric law the two coincide (up to the spread's own asymmetry); the maximum
    is taken anyway, on the union of breakpoints, inserting crossings.
    """
    v = np.asarray(v, dtype=float)
    w = np.asarray(w, dtype=float)
    tot = w.sum()
    w = w / tot if tot > 0 else w
    cu_p, cp_p = _upper_tail(v, w, slack_plus)
    cu_m, cp_m = _upper_tail(-v, w, slack_minus)
    grid = np.unique(np.concatenate([cu_p, cu_m, [0.5]]))
    grid = grid[(grid > 0) & (grid <= 0.5)]
    fp = np.interp(grid, np.concatenate([[0.0], cu_p]), np.concatenate([[slack_plus], cp_p]))
    fm = np.interp(grid, np.concatenate([[0.0], cu_m]), np.concatenate([[slack_minus], cp_m]))
    # crossings between consecutive grid points
    d = fp - fm
    cross = np.nonzero(np.sign(d[:-1]) * np.sign(d[1:]) < 0)[0]
    if len(cross):
        t = d[cross] / (d[cross] - d[cross + 1])
        extra = grid[cross] + t * (grid[cross + 1] - grid[cross])
        grid = np.unique(np.concatenate([grid, extra]))
        fp = np.interp(grid, np.concatenate([[0.0], cu_p]), np.concatenate([[slack_plus], cp_p]))
        fm = np.interp(grid, np.concatenate([[0.0], cu_m]), np.concatenate([[slack_minus], cp_m]))
    phi = np.maximum(fp, fm) * (1.0 + _PHI_SAFETY)
    phi0 = max(slack_plus, slack_minus)
    if not symmetric:
        detail = (detail + "; " if detail else "") + "max over +-v"
    return RateFunction(grid, phi, phi0, detail)


def score_law(std: StdNoise, h_rel: float = 0.01) -> ScoreAtoms:
    """Fine atoms of the standardised score with variation <= ``h_rel * sd`` per atom."""
    fisher = std.fisher
    sd = math.sqrt(fisher) if math.isfinite(fisher) else 1.0
    return score_atoms(std, h_rel * sd)


def l1_rate(atoms: ScoreAtoms, symmetric: bool) -> RateFunction:
    """``Phi`` for the l1 ball: the 1-D score law at ``+-e_i`` (Yang et al. 2020)."""
    v, w = atoms.split_points()
    return rate_from_law(v, w, atoms.slack_plus, atoms.slack_minus, symmetric,
                         "1-D score law at +-e_i")


def linf_rate(atoms: ScoreAtoms, d: int, c_h: float = 0.02, eta: float = 1e-30) -> RateFunction:
    """``Phi`` for the l_inf ball of a symmetric product noise: sum of ``d`` i.i.d. scores.

    The per-coordinate spread law is split onto a lattice (mean-preserving, so still a
    convex-order upper bound) aligned with its extreme values, then composed by FFT.
    Error terms: the unbounded-score slack times ``d``; the mass beyond the Chernoff
    window (``E[|S| 1{outside}] <= sqrt(E S^2 * 2 eta)`` by Cauchy-Schwarz); the FFT
    rounding estimate times the window's value range.
    """
    v, w = atoms.split_points()
    tot = float(w.sum())
    if d == 1:
        return rate_from_law(v, w, atoms.slack_plus, atoms.slack_minus, True, "1-D score law")
    if len(v) == 0 or not tot > 0:  # the whole score law is slack (e.g. gennorm, beta=1e50)
        raise OverflowError("score law has no finite atoms to compose")
    slack_p1, slack_m1 = atoms.slack_plus, atoms.slack_minus
    # heavy-tailed scores: truncate at +-c, the removed part goes to the slacks
    # ((S - t)^+ <= (S_kept - t)^+ + (S_removed)^+, and E(S_removed)^+ <= d E[s^+; |s| > c])
    c = float(np.max(np.abs(v)))
    sd0 = math.sqrt(float((w * v * v).sum() / tot)) if tot > 0 else 1.0
    if not (math.isfinite(sd0) and sd0 > 0.0 and math.isfinite(c)):
        raise OverflowError(f"degenerate score law (sd {sd0:.3g}, range {c:.3g}): no lattice")
    while c / (c_h * sd0) > (1 << 17) and c > 10 * sd0:
        c /= 4.0
    cut = np.abs(v) > c
    if cut.any():
        slack_p1 += float((w[cut] * np.clip(v[cut], 0, None)).sum())
        slack_m1 += float((w[cut] * np.clip(-v[cut], 0, None)).sum())
        v = np.where(cut, 0.0, v)  # the removed values are replaced by 0 in the kept part
    mean = float((w * v).sum() / tot)
    var = float((w * (v - mean) ** 2).sum() / tot)
    sd = math.sqrt(max(var, 1e-300))
    vmax = float(np.max(np.abs(v)))
    h = c_h * sd
    # align the lattice with +-vmax (two-point laws such as Laplace's score become exact)
    n_half = max(1, math.ceil(vmax / h))
    if n_half > (1 << 20) or n_half * math.sqrt(d) > (1 << 24):
        raise OverflowError(f"score range {vmax:.3g} too wide for a lattice of spacing {h:.3g}")
    h = vmax / n_half
    law = split_lattice(v, w, h, -n_half - 1, n_half + 1, mode="mean", clip="spread")
    comp: LatticeLaw = compose([(law, d)], eta=eta)
    x = comp.x
    r = comp.w
    # error terms (added to Phi as constants)
    second = d * float((law.w * law.x**2).sum()) + (d * mean) ** 2
    tail = math.sqrt(max(second, 0.0) * 2.0 * eta)
    fft_err = comp.err * float(np.max(np.abs(x)) if len(x) else 0.0)
    slack_p = d * slack_p1 + tail + fft_err
    slack_m = d * slack_m1 + tail + fft_err
    return rate_from_law(x, r, slack_p, slack_m, True,
                         f"sum of d={d} i.i.d. scores (sign vectors), lattice h={h:.3g}")


def fisher_radius(fisher: float, pa: np.ndarray, pb: np.ndarray | None = None) -> np.ndarray:
    """``R_2 >= (arcsin(2 pA - 1) + arcsin(1 - 2 pB)) / (2 sqrt(I))`` (binary: pB = 1 - pA)."""
    pa = np.atleast_1d(np.asarray(pa, dtype=float))
    if not (math.isfinite(fisher) and fisher > 0):
        return np.zeros_like(pa)
    ha = np.arcsin(np.clip(2.0 * pa - 1.0, -1.0, 1.0))
    hb = ha if pb is None else np.arcsin(np.clip(1.0 - 2.0 * np.asarray(pb, dtype=float), -1, 1))
    return np.maximum(0.5 * (ha + hb) / math.sqrt(fisher * (1.0 + 1e-9)), 0.0)


def _j_lookup(u: np.ndarray, jcum: np.ndarray, u0: np.ndarray) -> np.ndarray:
    """Lower Riemann sum of J from the first grid point >= u0 (cells entirely above u0)."""
    i = np.searchsorted(u, u0, side="left")
    return np.where(i < len(u), jcum[np.minimum(i, len(u) - 1)], 0.0)


def truncated_fisher_radius(atoms: ScoreAtoms, d: int, pa: np.ndarray,
                            pb: np.ndarray | None = None) -> np.ndarray:
    """l2 lower bound for scores with infinite (or large) Fisher information, by truncation.

    Split the score per interval into a kept part (enclosure within ``[-c, c]``) and a
    removed part.  For a unit l2 direction ``v`` and a set of mass ``u``:
    ``E[S_v 1_U] <= sqrt(Var(S_kept,v) u (1 - u)) + u |E S_kept,v| + E|S_removed,v|``
    with ``Var(S_kept,v) <= E s_kept^2``, ``|E S_kept,v| <= sqrt(d) |E s_kept|`` and
    ``E|S_removed,v| <= sqrt(d) E|s_removed|`` (``||v||_1 <= sqrt(d)``).  This ``Phi-bar`` is
    increasing on ``[0, 1/2]``, so the right-end Riemann sum of ``1/Phi-bar`` on a fine grid is
    a lower bound of ``J``.  The best of a few cut levels ``c`` is kept (each is valid).
    """
    pa = np.atleast_1d(np.asarray(pa, dtype=float))
    if atoms.unbounded and (atoms.slack_plus + atoms.slack_minus) > 1e-3:
        return np.zeros_like(pa)
    absmax = np.maximum(np.abs(atoms.lo), np.abs(atoms.hi))
    integ = atoms.m * atoms.mu
    best = np.zeros_like(pa)
    u = np.unique(np.concatenate([np.geomspace(1e-12, 0.5, 8001), np.linspace(0.0, 0.5, 10001)[1:]]))
    for q in (0.5, 0.9, 0.99, 0.999, 0.9999, 1.0):
        c = float(np.quantile(absmax, q))
        keep = absmax <= c
        sub = ScoreAtoms(atoms.m[keep], atoms.mu[keep], atoms.lo[keep], atoms.hi[keep], 0.0, 0.0,
                         atoms.err)
        v, w = sub.split_points()
        e2 = float((w * v * v).sum()) + 2 * atoms.err
        e1 = abs(float((w * v).sum())) + atoms.err
        removed = float(np.abs(integ[~keep]).sum()) + atoms.slack_plus + atoms.slack_minus
        const = math.sqrt(d) * removed
        phi = np.sqrt(e2 * u * (1 - u)) + u * math.sqrt(d) * e1 + const
        phi *= 1.0 + _PHI_SAFETY
        # J(u0) >= sum over grid cells above u0 of du / Phi(right end)
        du = np.diff(np.concatenate([[0.0], u]))
        cells = du / phi
        jcum = np.concatenate([np.cumsum(cells[::-1])[::-1][1:], [0.0]])  # from u_{i+1} to 1/2
        ja = _j_lookup(u, jcum, 1.0 - pa)
        if pb is None:
            val = ja
        else:
            # two-sided: (1/2) int_{pB}^{pA} du / Phi; for pA < 1/2 count only the cells that
            # lie entirely inside [pB, pA] (cells from the first grid point >= pB up to the
            # last grid point <= pA), a lower Riemann sum of the same integrand
            pbv = np.asarray(pb, dtype=float)
            jb = _j_lookup(u, jcum, pbv)
            i_hi = np.searchsorted(u, pa, side="right") - 1      # last u_i <= pA
            # jcum[i] is the sum of the cells above u_i, so jb - jcum[i_hi] is the sum of the
            # cells between the first grid point >= pB and the last one <= pA
            j_hi = np.where(i_hi >= 0, jcum[np.clip(i_hi, 0, len(u) - 1)], np.inf)
            below = np.maximum(jb - j_hi, 0.0)
            val = np.where(pa >= 0.5, 0.5 * (ja + jb), 0.5 * below)
        best = np.maximum(best, val)
    return best


def _normal_stop_loss(t: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """``E (tau G - t)^+`` for standard normal ``G``."""
    x = t / tau
    return tau * (np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)) - t * special.ndtr(-x)


def gaussian_domination_tau(atoms: ScoreAtoms) -> float:
    """Smallest ``tau`` with ``E(s - t)^+ <= E(tau G - t)^+`` for all ``t`` (``inf`` if none).

    Checked soundly on the breakpoints ``t_j`` of the spread law: ``M_s`` is decreasing,
    ``M_G`` too, so ``M_s(t_j) <= M_G(t_{j+1})`` covers ``[t_j, t_{j+1}]``; both signs of
    ``s`` are checked; beyond the largest enclosure value ``M_s = 0``.  Requires every
    interval to have a finite score enclosure (else returns ``inf``).
    """
    if atoms.unbounded:
        return math.inf
    v, w = atoms.split_points()
    w = w / w.sum()
    taus = []
    for sign in (1.0, -1.0):
        order = np.argsort(sign * v, kind="stable")
        vs = (sign * v)[order]
        ws = w[order]
        c_w = np.concatenate([np.cumsum(ws[::-1])[::-1], [0.0]])
        c_wv = np.concatenate([np.cumsum((ws * vs)[::-1])[::-1], [0.0]])
        top = float(vs[-1]) if vs[-1] > 0 else 0.0
        t = np.unique(np.concatenate([[0.0], vs[vs > 0], np.linspace(0.0, top, 4001)]))
        idx = np.searchsorted(vs, t, side="right")
        m_t = np.maximum(c_wv[idx] - t * c_w[idx], 0.0)
        # on [t_j, t_{j+1}]: M_s(t) <= M_s(t_j) and M_G(t_{j+1}) <= M_G(t)
        need = m_t[:-1]
        at = t[1:]
        ok = need > 0
        need, at = need[ok], at[ok]
        if len(need) == 0:
            continue
        lo = np.full(len(at), 1e-8)
        hi = np.full(len(at), 1e8)
        for _ in range(90):
            mid = np.sqrt(lo * hi)
            good = _normal_stop_loss(at, mid) >= need
            hi = np.where(good, mid, hi)
            lo = np.where(good, lo, mid)
        taus.append(float(hi.max()))
    if not taus:
        return math.inf
    return max(taus) * (1.0 + 1e-9)
