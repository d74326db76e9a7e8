"""``radius_radial_l2``: proven lower and upper bounds on the l2 radius R* for l2-radial noise.

For a density f(x) proportional to exp(h(||x||_2 / lambda)) with h non-increasing (UniformBall,
Exp2(k), Pow2(k, a)), every shift of l2 norm t is equivalent to t e_1 (rotation invariance), so
R* = inf{t : the Neyman-Pearson test (Hong et al. 2022, Theorem 1) fails at t e_1} -- the
reduction behind Yang et al. 2020's level-set method, here with proven numerics:

* UniformBall: the loss takes the values 0 and +-inf, T(p) = max(0, p - (1 - V(t))) with V(t) the
  overlap fraction of the two balls, I_{1 - t^2/4}((d+1)/2, 1/2), decreasing in t (Yang et al.
  2020's uniform-ball certificate).  Binary: pass iff V(t) > 3/2 - pA; two-sided (pA, pB): iff
  V(t) > 1 - (pA - pB)/2.  Bisection on t with a proven enclosure of V.
* Exp2 / Pow2 (h strictly decreasing): the enclosures of :mod:`unicr.neyman_pearson.radial`
  (polar coordinates, radial cells, cosine CDF table) give proven T_lo <= T <= T_hi at any t.
  ``upper`` is a t verified to fail (T_hi(pA) <= 1/2; two-sided T_hi(pA) + T_hi(1 - pB) <= 1).
  ``lower`` is a t verified to pass, and *every* smaller t is covered too: T_t(p) is
  C-Lipschitz in t with C = (1/2) E|h'(R)| E|U| (total variation of a shift,
  :func:`~unicr.neyman_pearson.radial.shift_tv_constant`), so a margin m at t proves [t - m/C, t];
  the engine walks down to 0 with such steps (no monotonicity of the test in t is assumed).

Other norms (:func:`radius_radial`, what ``unicr.radius(method="radial")`` and, for these
noises, ``method="auto"`` run): the noise is rotation invariant, so the test at delta depends only
on ||delta||_2 and R*_p = R*_2 * min_{delta != 0} ||delta||_p / ||delta||_2 (1 for p <= 2, at
e_1; d^(1/p - 1/2) for p > 2, at the all-ones direction) -- the same factor as the Monte Carlo
engine's spherical reduction (``_lp_factor`` of :mod:`unicr.engines.montecarlo`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from scipy import special

from unicr.certificate import Certificate, Witness, validate_probabilities
from unicr.engines.montecarlo import _lp_factor
from unicr.engines.radial_options import RadialOptions
from unicr.errors import ConvergenceError, InvalidParameterError
from unicr.neyman_pearson.direction import k_equal
from unicr.neyman_pearson.radial import (
    CDF_ABS_ERROR,
    RadialCells,
    RadialProfile,
    Tradeoff,
    ball_overlap_enclosure,
    cosine_table,
    loss_cdf_enclosure,
    radial_cells,
    shift_tv_constant,
    tradeoff_enclosure,
)
from unicr.noises.joint import Exp2, Pow2, RadialJointNoise, UniformBall

__all__ = [
    "radius_radial",
    "radial_applies",
    "radius_radial_l2",
    "radius_curve_radial_l2",
    "radial_profile",
    "check_radial_noise",
    "RadialModel",
    "METHOD",
]

METHOD = "radial-exact"
#: relative gap at which the bisection on t stops
DEFAULT_RTOL = 1e-4
#: rounds of fine boundary probes one pA may ask for on the curve path; then its band is left as
#: proven (the enclosure's resolution, e.g. Pow2 near 1e-3)
MAX_CURVE_TRIES = 6
#: largest number of covering steps of the lower bound before giving up (lower = 0)
MAX_COVER_STEPS = 2000


def check_radial_noise(noise: Any) -> str:
    """Refuse anything but an l2-radial noise with a non-increasing radial log-density.

    Checks: a :class:`RadialJointNoise` with ``norm_p == 2`` of a family whose radial law the
    engine knows (UniformBall, Exp2, Pow2), and h non-increasing on a grid of 20001 points of
    [0, r_max] (r_max far in the tail of the radial law) plus the points 1 +- 1e-9.  Returns the
    text of the check for the certificate's assumptions.
    """
    name = getattr(noise, "name", type(noise).__name__)
    if not isinstance(noise, RadialJointNoise) or getattr(noise, "norm_p", None) != 2.0:
        raise InvalidParameterError(
            f"radius_radial_l2 needs an l2-radial joint noise (density f(||x||_2)); "
            f"'{name}' is not one (norm {getattr(noise, 'norm_p', 'n/a')})")
    if not isinstance(noise, (UniformBall, Exp2, Pow2)):
        raise InvalidParameterError(
            f"radius_radial_l2: no radial law known for the l2-radial noise '{name}' "
            "(supported: uniform_ball, exp2, pow2)")
    r_max = 4.0 * float(np.max(noise.sample_radius(64, rng=0))) / noise.scale + 2.0
    grid = np.concatenate([np.linspace(0.0, r_max, 20001), [1.0 - 1e-9, 1.0, 1.0 + 1e-9]])
    grid.sort()
    with np.errstate(all="ignore"):
        h = np.asarray(noise._log_radial(grid), dtype=float)
    if np.isnan(h).any():
        raise InvalidParameterError(f"radius_radial_l2: the radial log-density of '{name}' is NaN "
                                    "somewhere on [0, r_max]")
    with np.errstate(invalid="ignore"):
        dh = np.diff(h)
    finite = np.isfinite(h[:-1])
    if np.any(finite & (dh > 1e-12 * (1.0 + np.abs(h[:-1])))):
        raise InvalidParameterError(
            f"radius_radial_l2: the radial log-density of '{name}' increases somewhere on "
            f"[0, {r_max:.3g}]; the engine needs h non-increasing")
    return (f"checked: '{name}' is l2-radial and h(r) = log f(r) is non-increasing on a 20001-point "
            f"grid of [0, {r_max:.3g}] (native scale)")


def radial_profile(noise: RadialJointNoise) -> RadialProfile | None:
    """The profile of an Exp2 / Pow2 noise (None for the uniform ball)."""
    if isinstance(noise, UniformBall):
        return None
    if isinstance(noise, Exp2):
        return RadialProfile("exp2", noise.d, float(noise.params["k"]))
    return RadialProfile("pow2", noise.d, float(noise.params["k"]), float(noise.params["a"]))


class RadialModel:
    """The test along t e_1 for one Exp2 / Pow2 noise (native scale), with cached cells.

    Two cell sets: ``cells`` (``n_cells``, for the decisions near the boundary) and ``coarse``
    (for locating the quantiles of the loss and for covering steps far from the boundary, where
    a wider enclosure suffices).  Which tau values are used never affects soundness: T_lo is a
    maximum of valid bounds and T_hi a minimum of valid bounds over whatever grid is evaluated.
    """

    def __init__(self, profile: RadialProfile, n_cells: int = 6000):
        self.profile = profile
        self.cells: RadialCells = radial_cells(profile, n_cells, max_rel_width=1.8 / n_cells)
        self.coarse: RadialCells = radial_cells(profile, max(200, n_cells // 16), max_rel_width=5e-3)
        self.table = cosine_table(profile.d)
        self.lipschitz = shift_tv_constant(profile)
        self.evaluations = 0

    def typical_radius(self) -> float:
        """Median of R (native scale), from the cells."""
        c = self.cells
        cum = np.cumsum(c.mass)
        return float(c.ra[min(int(np.searchsorted(cum, 0.5)), c.ra.size - 1)])

    def _loss_range(self, t: float) -> tuple[float, float]:
        """Loss values at the bulk cells' edges for u = +-1 (bounds of where F moves)."""
        c = self.coarse
        keep = c.mass > 1e-14
        r = np.concatenate([c.ra[keep], c.rb[keep]])
        h = self.profile.h
        lo = h(r + t) - h(r)
        hi = h(np.abs(r - t)) - h(r)
        return float(np.min(lo)), float(np.max(hi))

    def locate(self, t: float, targets: tuple[float, ...], rounds: int = 5) -> np.ndarray:
        """tau values near the X-quantiles ``targets`` of the loss (coarse cells; heuristic,
        resolution ~1e-6 of the loss range).  All targets share each evaluation."""
        lo, hi = self._loss_range(t)
        n_t = len(targets)
        a = np.full(n_t, lo)
        b = np.full(n_t, hi)
        grid = np.linspace(lo, hi, 33)
        f_lo, f_hi = loss_cdf_enclosure(self.profile, self.coarse, self.table, t, grid)
        mid = 0.5 * (f_lo + f_hi)
        for i, p in enumerate(targets):
            j = int(np.searchsorted(mid, p))
            a[i], b[i] = grid[max(j - 1, 0)], grid[min(j, grid.size - 1)]
        for _ in range(rounds):
            grids = a[:, None] + (b - a)[:, None] * np.linspace(0.0, 1.0, 9)[None, :]
            f_lo, f_hi = loss_cdf_enclosure(self.profile, self.coarse, self.table, t,
                                            grids.ravel())
            mid = (0.5 * (f_lo + f_hi)).reshape(grids.shape)
            for i, p in enumerate(targets):
                j = int(np.searchsorted(mid[i], p))
                a[i], b[i] = grids[i, max(j - 1, 0)], grids[i, min(j, 8)]
        return 0.5 * (a + b)

    def tradeoff(self, t: float, targets: tuple[float, ...], fine: bool = True,
                 n_tau: int = 17, width: float = 0.01, rounds: int | None = None) -> Tradeoff:
        """Enclosure of T at t on a tau grid around the X-quantiles ``targets``: ``n_tau`` points
        within +-``width`` of the loss's interquartile range around each located quantile, plus
        the quartiles.  ``rounds``: refinement rounds of :meth:`locate` (default 5 fine, 3
        coarse)."""
        q = self.locate(t, (*targets, 0.25, 0.75), rounds if rounds is not None else
                        (5 if fine else 3))
        spread = max(q[-1] - q[-2], 1e-300)
        centres = q[:-2]
        taus = np.concatenate([c + spread * np.linspace(-width, width, n_tau) for c in centres]
                              + [q[-2:]])
        cells = self.cells if fine else self.coarse
        self.evaluations += 1
        return tradeoff_enclosure(self.profile, cells, self.table, t, taus)


def _margins(tr: Tradeoff, pa: float, pb: float | None) -> tuple[float, float]:
    """(proven lower, proven upper) of the test statistic: T(pA) - 1/2 (binary) or
    T(pA) + T(1 - pB) - 1 (two-sided).  Pass iff > 0."""
    if pb is None:
        return float(tr.lower(pa)[0]) - 0.5, float(tr.upper(pa)[0]) - 0.5
    lo = float(tr.lower(pa)[0] + tr.lower(1.0 - pb)[0]) - 1.0
    hi = float(tr.upper(pa)[0] + tr.upper(1.0 - pb)[0]) - 1.0
    return lo, hi


def _ball(noise: UniformBall, pa: float, pb: float | None, rtol: float) -> tuple[float, float, dict]:
    d = noise.d
    c = 1.5 - pa if pb is None else 1.0 - 0.5 * (pa - pb)
    lo_t, hi_t = 0.0, 2.0  # V(0) = 1 > c; V(2) = 0 <= c
    for _ in range(200):
        if hi_t - lo_t <= rtol * 1e-2 * hi_t:
            break
        mid = 0.5 * (lo_t + hi_t)
        v_lo, v_hi = ball_overlap_enclosure(d, mid)
        if v_lo > c:
            lo_t = mid
        elif v_hi <= c:
            hi_t = mid
        else:
            break
    v_lo, v_hi = ball_overlap_enclosure(d, hi_t)
    detail = {"overlap_upper": v_hi, "threshold": c,
              "set": "class-A set: the X-only part of B(0, lam) plus part of the overlap "
                     "B(0, lam) cap B(delta, lam)"}
    return lo_t, hi_t, detail


def radius_radial_l2(noise: RadialJointNoise, pa: float, pb: float | None = None,
                     d: int | None = None, *, rtol: float = DEFAULT_RTOL,
                     n_cells: int = 6000, model: RadialModel | None = None,
                     covered: float = 0.0) -> Certificate:
    """Proven bounds on the l2 radius R* of an l2-radial noise (binary, or two-sided with pB).

    Parameters
    ----------
    noise: a :class:`UniformBall`, :class:`Exp2` or :class:`Pow2` instance (any scale).
    pa, pb: class probabilities (pb None: binary, pB = 1 - pA).
    d: optional; must equal ``noise.d``.
    rtol: relative gap at which the bisection on t stops (the numerics may stop it earlier).
    n_cells: radial cells of the enclosure (more: tighter, slower).
    model: a :class:`RadialModel` to reuse across calls (curves).
    covered: native-scale t such that [0, covered] is already proven to pass for a smaller pA
        (binary only; T_t(p) is non-decreasing in p, so it passes for this pA too).

    Returns a :class:`Certificate` with method ``"radial-exact"``, confidence 1, ``lower`` and
    ``upper`` proven (up to the stated special-function accuracy) and a :class:`Witness` shift
    ``upper * e_1`` that fails the test.
    """
    check_text = check_radial_noise(noise)
    if d is not None and int(d) != noise.d:
        raise InvalidParameterError(f"radius_radial_l2: d={d} differs from the noise's d={noise.d}")
    pa_f, pb_f = validate_probabilities(pa, pb)
    dim = noise.d
    definition = noise.definition()
    if (pb_f is None and pa_f <= 0.5) or (pb_f is not None and pa_f <= pb_f):
        reason = ("binary: pA <= 1/2" if pb_f is None else "two-sided: pA <= pB")
        return Certificate.abstained(method=METHOD, norm=2.0, d=dim, pa=pa_f, pb=pb_f,
                                     reason=reason, noise=definition)
    mode = "binary (pB = 1 - pA)" if pb_f is None else "two-sided (pA, pB)"
    scale = noise.scale
    assumptions = [
        check_text,
        "rotation invariance: every shift of l2 norm t is equivalent to t e_1, so R* is the "
        "smallest failing t (Hong et al. 2022 Theorem 1; Yang et al. 2020 level-set method)",
        f"test: {mode}",
    ]
    if isinstance(noise, UniformBall):
        lo_t, hi_t, detail = _ball(noise, pa_f, pb_f, rtol)
        assumptions.append(
            "uniform ball: T(p) = max(0, p - (1 - V(t))), V(t) = I_{1-t^2/4}((d+1)/2, 1/2) "
            "decreasing in t (Yang et al. 2020); pass iff V(t) > " +
            ("3/2 - pA" if pb_f is None else "1 - (pA - pB)/2"))
        assumptions.append(f"special functions: each betainc value within {CDF_ABS_ERROR:g} "
                           "absolute (assumed)")
    else:
        profile = radial_profile(noise)
        assert profile is not None
        mdl = model if model is not None else RadialModel(profile, n_cells)
        lo_t, hi_t, detail = _smooth(mdl, pa_f, pb_f, rtol,
                                       covered if pb_f is None else 0.0)
        assumptions.append(
            "enclosure: polar coordinates (R, U), radial cells with exact masses, mean-value "
            "bracket of the cosine threshold, cosine-CDF table bracketed by chords/tangents "
            f"(unicr.neyman_pearson.radial); {mdl.cells.mass.size} cells; tail mass "
            f"{mdl.cells.tail_mass:.1e} counted on the safe side")
        assumptions.append(f"special functions: each gammainc/betainc value within "
                           f"{CDF_ABS_ERROR:g} absolute (assumed)")
        assumptions.append(
            f"lower: verified pass at t = lower and every smaller t covered by the Lipschitz bound "
            f"|T_t - T_t'| <= C |t - t'|, C = {mdl.lipschitz:.6g}/lambda "
            f"({detail.pop('cover_steps')} covering steps)")
    lower, upper = lo_t * scale, hi_t * scale
    detail["equivalent_to"] = "any rotation (l2-radial noise)"
    witness = Witness(direction=k_equal(1).describe(), scale=upper, norm_value=upper,
                      detail=detail)
    tol = (upper - lower) / upper if upper > 0 else 0.0
    return Certificate(lower=lower, upper=upper, estimate=0.5 * (lower + upper), confidence=1.0,
                       method=METHOD, norm=2.0, d=dim, pa=pa_f, pb=pb_f,
                       assumptions=tuple(assumptions), witness=witness, noise=definition,
                       tolerance=max(tol, rtol))


def _smooth(mdl: RadialModel, pa: float, pb: float | None,
            rtol: float, covered: float = 0.0) -> tuple[float, float, dict]:
    targets = (pa,) if pb is None else (pa, 1.0 - pb)
    cache: dict[tuple[float, bool], tuple[float, float, Tradeoff]] = {}

    def test(t: float, fine: bool = True) -> tuple[float, float, Tradeoff]:
        if (t, fine) not in cache:
            tr = mdl.tradeoff(t, targets, fine)
            lo, hi = _margins(tr, pa, pb)
            cache[(t, fine)] = (lo, hi, tr)
        return cache[(t, fine)]

    # initial scale: Gaussian-like guess from the per-coordinate RMS at native scale 1
    p_eff = pa if pb is None else 0.5 * (1.0 + pa - pb)
    guess = mdl.typical_radius() / math.sqrt(mdl.profile.d) * max(float(special.ndtri(p_eff)), 0.05)
    t_pass, t_fail = 0.0, math.inf
    t = guess
    for _ in range(80):
        lo, hi, _tr = test(t)
        if lo > 0:
            t_pass = max(t_pass, t)
            if math.isfinite(t_fail):
                break
            t *= 2.0
        elif hi <= 0:
            t_fail = min(t_fail, t)
            if t_pass > 0:
                break
            t *= 0.5
        else:
            break
    if not math.isfinite(t_fail):
        # undecided at the guess: step up until failure is proven
        t = guess
        for _ in range(80):
            t *= 1.5
            lo, hi, _tr = test(t)
            if hi <= 0:
                t_fail = t
                break
            if lo > 0:
                t_pass = max(t_pass, t)
        else:
            raise ConvergenceError("radius_radial_l2: no failing shift found")
    # regula falsi on the midpoint of the enclosed statistic, probing just either side of the
    # estimated root so that both ends of the bracket move; geometric bisection as fallback.
    # (Only the verified pass / fail flags decide; the interpolation only picks where to look.)
    for _ in range(8):
        if not (t_pass > 0 and t_fail - t_pass > rtol * t_fail):
            break
        m_pass = 0.5 * sum(test(t_pass)[:2])
        m_fail = 0.5 * sum(test(t_fail)[:2])
        if not (m_pass > 0 > m_fail):
            break
        est = t_pass + m_pass / (m_pass - m_fail) * (t_fail - t_pass)
        moved = False
        for probe in (est - 0.3 * rtol * t_fail, est + 0.3 * rtol * t_fail):
            if not (t_pass < probe < t_fail):
                continue
            lo, hi, _tr = test(probe)
            if lo > 0:
                t_pass, moved = probe, True
            elif hi <= 0:
                t_fail, moved = probe, True
        if not moved:
            break
    for _ in range(200):
        if t_pass > 0 and t_fail - t_pass <= rtol * t_fail:
            break
        mid = math.sqrt(t_pass * t_fail) if t_pass > 0 else 0.5 * t_fail
        lo, hi, _tr = test(mid)
        if lo <= 0 and hi > 0 and t_pass == 0.0:
            # undecided with no pass yet (small t: the enclosure is relatively wide):
            # look further down for a verified pass
            for _ in range(30):
                mid *= 0.5
                lo, hi, _tr = test(mid)
                if lo > 0 or hi <= 0:
                    break
        if lo > 0:
            t_pass = mid
        elif hi <= 0:
            t_fail = mid
        else:
            # undecided: the numerics' resolution; try the two quarter points once
            moved = False
            for q in (0.25, 0.75):
                m2 = t_pass + q * (t_fail - t_pass)
                lo2, hi2, _ = test(m2)
                if lo2 > 0 and m2 > t_pass:
                    t_pass, moved = m2, True
                if hi2 <= 0 and m2 < t_fail:
                    t_fail, moved = m2, True
            if not moved:
                break
    lower, steps = _cover(mdl, test, t_pass, pb is not None, covered)
    lo, hi, tr = test(t_fail)
    detail: dict[str, Any] = {"statistic_upper": hi, "cover_steps": steps}
    if pb is None:
        fs = tr.failing_set(pa)
        if fs is not None:
            detail.update(fs)
            detail["set"] = ("class-A set {z : L(z) < tau0} plus a fraction frac of "
                             "{tau0 <= L(z) < tau1}, L(z) = h(||z - delta||) - h(||z||) at native "
                             "scale; X-mass >= pA, Y-mass <= y_mass_upper <= 1/2")
    else:
        detail["set"] = "lowest-loss set of X-mass pA and highest-loss set of X-mass pB"
    return lower, t_fail, detail


def _cover(mdl: RadialModel, test: Any, t_pass: float, two_sided: bool,
           covered: float = 0.0) -> tuple[float, int]:
    """Largest t0 <= t_pass with [0, t0] proven to pass, walking down with Lipschitz steps
    (down to ``covered``, below which passing is already proven)."""
    if t_pass <= 0:
        return 0.0, 0
    c_eff = mdl.lipschitz * (2.0 if two_sided else 1.0)
    top = t_pass
    t = t_pass
    def margin(x: float) -> float:
        m = test(x, False)[0]
        return m if m > 0 else test(x, True)[0]

    m_t = margin(t)
    for step in range(MAX_COVER_STEPS):
        if m_t <= 0:
            # not verified here (non-monotone test or numerics): restart the covering below t
            top = _last_pass_below(test, t)
            if top <= 0:
                return 0.0, step
            t = top
            m_t = margin(t)
            continue
        # [t - m_t / C, t] is covered by t alone; [x, t] is covered by t and x together when
        # m_t + m_x > C (t - x) (the two Lipschitz cones meet).  Try a double step first.
        single = t - 0.999 * m_t / c_eff
        if single <= covered:
            return top, step + 1
        x = t - 1.9 * m_t / c_eff
        if x > covered:
            m_x = margin(x)
            if m_x > 0 and m_t + m_x > c_eff * (t - x) * (1 + 1e-9):
                t, m_t = x, m_x
                continue
        else:
            # x below the covered part: the cones of t and of 'covered' need no second point
            pass
        t = single
        m_t = margin(t)
    return 0.0, MAX_COVER_STEPS


def _last_pass_below(test: Any, t: float) -> float:
    for _ in range(60):
        t *= 0.9
        lo, _hi, _ = test(t)
        if lo > 0:
            return t
    return 0.0


def radius_curve_radial_l2(noise: RadialJointNoise, pas: Any, *, rtol: float = DEFAULT_RTOL,
                           n_cells: int = 6000, curve_rtol: float = 1e-3,
                           max_rounds: int = 40) -> list[Certificate]:
    """Binary certificates for every pA in ``pas``, all from one shared grid of shifts.

    UniformBall: :func:`radius_radial_l2` per pA (closed-form overlap, microseconds each; ``rtol``
    applies).  Exp2 / Pow2: the verified test is evaluated on ONE set of shifts t_1 < t_2 < ...
    shared by every pA:

    * at each t the tradeoff enclosure T_lo <= T_t <= T_hi is computed once, on a tau grid
      around minus the X-median of the loss (at the boundary shift of *any* pA the optimal set
      {L < tau} has Y-mass 1/2, i.e. tau = -median_X(L), by the symmetry P_Y(L < tau) =
      1 - F(-tau)), and then evaluated for every pA at once (vectorised);
    * ``upper`` of a pA is the smallest t verified to fail, T_hi(pA) <= 1/2;
    * ``lower`` is the right end of the connected union, from 0, of the intervals
      [t_j - m_j / C, t_j + m_j / C] (m_j = T_lo_{t_j}(pA) - 1/2 > 0, C the total-variation
      Lipschitz constant of :func:`~unicr.neyman_pearson.radial.shift_tv_constant}`): every
      shift in it passes (no monotonicity in t assumed);
    * new shifts are added where some pA's band is wider than ``curve_rtol`` (relative): two
      regula-falsi probes around that pA's estimated boundary, or the geometric midpoint of the
      first uncovered gap below it; at most ``max_rounds`` rounds (then the band stays as
      proven, wider).

    Both bounds are proven as in :func:`radius_radial_l2`; the band is about ``curve_rtol`` wide
    (the certificate's ``tolerance`` states it).  Returned in the order of ``pas``.
    """
    check_text = check_radial_noise(noise)
    values = [validate_probabilities(p)[0] for p in np.atleast_1d(np.asarray(pas, dtype=float))]
    profile = radial_profile(noise)
    if profile is None:
        return [radius_radial_l2(noise, v, rtol=rtol) for v in values]
    if not (0.0 < curve_rtol < 0.5):
        raise InvalidParameterError(f"curve_rtol must lie in (0, 0.5), got {curve_rtol!r}")
    mdl = RadialModel(profile, n_cells)
    pa = np.asarray(values, dtype=float)
    live = pa > 0.5
    grid = _CurveGrid(mdl, pa[live], curve_rtol)
    grid.run(max_rounds)
    out: list[Certificate] = []
    k = 0
    for v, ok in zip(values, live):
        if not ok:
            out.append(Certificate.abstained(method=METHOD, norm=2.0, d=noise.d, pa=v, pb=None,
                                             reason="binary: pA <= 1/2", noise=noise.definition()))
            continue
        out.append(grid.certificate(noise, k, check_text))
        k += 1
    return out


class _CurveGrid:
    """Shared shifts for many pA (binary test), see :func:`radius_curve_radial_l2`."""

    def __init__(self, mdl: RadialModel, pa: np.ndarray, curve_rtol: float):
        self.mdl, self.pa, self.g = mdl, pa, curve_rtol
        self.c = mdl.lipschitz
        self.ts: list[float] = []
        self.tr: list[Tradeoff] = []
        self.m_lo: list[np.ndarray] = []  # T_lo(pA) - 1/2 per shift, for every pA
        self.m_hi: list[np.ndarray] = []
        self.fine: list[bool] = []
        self._upgrade: list[float] = []
        self.tries = np.zeros(pa.size, dtype=int)
        self.n_fine = 0
        self.rounds = 0
        if pa.size:
            # start: a geometric grid from where the Lipschitz cone of the smallest pA reaches 0
            # to beyond the largest pA's Gaussian-like guess
            rms = mdl.typical_radius() / math.sqrt(mdl.profile.d)
            t_lo = 0.5 * (float(pa.min()) - 0.5) / self.c
            t_hi = 1.5 * rms * max(float(special.ndtri(pa.max())), 0.05)
            n = max(2, int(math.ceil(math.log(max(t_hi / t_lo, 1.0 + 1e-9)) / math.log(1.15))) + 1)
            self._add(list(np.geomspace(t_lo, max(t_hi, t_lo * 1.01), n)), fine=False)

    def _add(self, ts: list[float], fine: bool) -> None:
        """Evaluate new shifts (``fine``: the fine cells, near a boundary; else the coarse cells,
        enough for covering steps far from it)."""
        self.n_fine += len(ts) if fine else 0
        for t in ts:
            if fine:
                tr = self.mdl.tradeoff(float(t), (0.5,), True, n_tau=7, width=0.004, rounds=4)
            else:
                tr = self.mdl.tradeoff(float(t), (0.5, 0.1, 0.9), False, n_tau=5, width=0.01,
                                       rounds=2)
            lo = tr.lower(self.pa) - 0.5
            hi = tr.upper(self.pa) - 0.5
            k = int(np.searchsorted(self.ts, t))
            if k < len(self.ts) and self.ts[k] == t:
                # re-evaluation on the fine cells: keep the better of both (each is proven)
                self.m_lo[k] = np.maximum(self.m_lo[k], lo)
                self.m_hi[k] = np.minimum(self.m_hi[k], hi)
                self.tr[k] = tr
                self.fine[k] = self.fine[k] or fine
                continue
            self.ts.insert(k, float(t))
            self.tr.insert(k, tr)
            self.m_lo.insert(k, lo)
            self.m_hi.insert(k, hi)
            self.fine.insert(k, fine)

    def bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lower, upper, index of the failing shift or -1) per pA, native scale."""
        ts = np.asarray(self.ts)
        m_lo = np.stack(self.m_lo)  # (n_t, n_pa)
        m_hi = np.stack(self.m_hi)
        n_pa = self.pa.size
        fail = m_hi <= 0.0
        has_fail = fail.any(axis=0)
        first_fail = np.where(has_fail, fail.argmax(axis=0), -1)
        upper = np.where(has_fail, ts[np.maximum(first_fail, 0)], math.inf)
        reach = np.zeros(n_pa)
        half = 0.999 * m_lo / self.c
        left, right = ts[:, None] - half, ts[:, None] + half
        for i in range(n_pa):
            ok = m_lo[:, i] > 0.0
            order = np.argsort(left[ok, i], kind="stable")
            for a, b in zip(left[ok, i][order], right[ok, i][order]):
                if a > reach[i]:
                    break  # the union from 0 is not connected beyond reach
                reach[i] = max(reach[i], b)
        lower = np.minimum(reach, upper)
        return lower, upper, first_fail

    def _wanted(self, lower: np.ndarray, upper: np.ndarray) -> tuple[list[float], list[float]]:
        """(coarse, fine) shifts to add: covering points and boundary probes."""
        ts = np.asarray(self.ts)
        m_lo, m_hi = np.stack(self.m_lo), np.stack(self.m_hi)
        want: list[float] = []
        cover: list[float] = []
        for i in range(self.pa.size):
            lo, up = lower[i], upper[i]
            if not math.isfinite(up):
                cover.append(ts[-1] * 1.5)
                continue
            if lo > 0 and up - lo <= self.g * up:
                continue
            # a verified pass above the covered part: the gap below it needs points
            above = (ts > lo) & (ts < up)
            passes = above & (m_lo[:, i] > 0)
            if passes.any():
                j = int(np.argmax(passes))
                t_pass = ts[j]
                gap_lo = max(lo, 1e-300)
                if t_pass > gap_lo * (1 + 0.25 * self.g):
                    cover.append(math.sqrt(gap_lo * t_pass) if lo > 0 else 0.5 * t_pass)
                    if not self.fine[j]:
                        self._upgrade.append(float(t_pass))  # a wider interval on fine cells
            else:
                # no verified pass between the covered part and 'up' (the enclosure is wide near
                # the boundary, e.g. small shifts): retry the highest coarse shift below the
                # lowest undecided fine one on the fine cells, or step below it
                fine_und = above & np.asarray(self.fine)
                t_f = float(ts[fine_und].min()) if fine_und.any() else up
                coarse_below = above & ~np.asarray(self.fine) & (ts < t_f)
                if coarse_below.any():
                    self._upgrade.append(float(ts[coarse_below].max()))
                elif t_f * (1 - 4 * self.g) > lo:
                    want.append(t_f * (1 - 4 * self.g))
            # the boundary: regula falsi on the enclosure's midpoint between the shifts where it
            # changes sign (only picks where to look; verified flags decide); coarse probes
            # while that bracket is wide, then fine probes just either side of the estimate
            mid = 0.5 * (m_lo[:, i] + m_hi[:, i])
            neg = np.nonzero((mid <= 0) & (ts <= up))[0]
            if neg.size == 0 or neg[0] == 0:
                continue
            jb = int(neg[0])
            a, b = ts[jb - 1], ts[jb]
            ma, mb = mid[jb - 1], mid[jb]
            est = a + ma / (ma - mb) * (b - a) if ma > 0 > mb else math.sqrt(a * b)
            est = min(max(est, a + 0.05 * (b - a)), b - 0.05 * (b - a))
            if b - a > 6.0 * self.g * b:
                cover.append(est)
                continue
            if self.tries[i] >= MAX_CURVE_TRIES:
                continue  # the enclosure's resolution: the band stays as proven
            self.tries[i] += 1  # a round of fine probes for this pA
            for side in (-1.0, 1.0):
                # past undecided shifts near the estimate; later rounds step further out
                for f in (0.3, 0.6, 1.2, 2.4, 4.8, 9.6):
                    probe = est + side * f * 2.0 ** (self.tries[i] - 1) * self.g * b
                    if not lo < probe < up:
                        break
                    if np.min(np.abs(ts - probe)) > 0.05 * self.g * probe:
                        want.append(probe)
                        break
        return cover, want

    def run(self, max_rounds: int) -> None:
        if not self.pa.size:
            return
        for _ in range(max_rounds):
            self.rounds += 1
            self._upgrade = []
            lower, upper, _ff = self.bounds()
            cover, want = self._wanted(lower, upper)
            added = False
            upgrade: list[float] = self._upgrade
            self._upgrade = []
            for fine, group in ((False, cover), (True, want)):
                ts = np.asarray(self.ts)
                new: list[float] = []
                for t in sorted(set(group)):
                    j = int(np.argmin(np.abs(ts - t)))
                    if abs(ts[j] - t) <= 0.05 * self.g * t:
                        if not self.fine[j]:
                            upgrade.append(float(ts[j]))  # undecided on coarse cells: refine
                    elif not new or t - new[-1] > 0.05 * self.g * t:
                        new.append(t)
                if new:
                    self._add(new, fine)
                    added = True
            if upgrade:
                self._add(sorted(set(upgrade)), True)
                added = True
            if not added:
                return

    def certificate(self, noise: RadialJointNoise, i: int, check_text: str) -> Certificate:
        lower, upper, first_fail = self.bounds()
        lo_t, hi_t = float(lower[i]), float(upper[i])
        pa = float(self.pa[i])
        if not math.isfinite(hi_t):
            raise ConvergenceError(f"radius_curve_radial_l2: no failing shift found for pA={pa}")
        detail: dict[str, Any] = {"statistic_upper": float(self.m_hi[first_fail[i]][i])}
        fs = self.tr[first_fail[i]].failing_set(pa)
        if fs is not None:
            detail.update(fs)
            detail["set"] = ("class-A set {z : L(z) < tau0} plus a fraction frac of "
                             "{tau0 <= L(z) < tau1}, L(z) = h(||z - delta||) - h(||z||) at native "
                             "scale; X-mass >= pA, Y-mass <= y_mass_upper <= 1/2")
        detail["equivalent_to"] = "any rotation (l2-radial noise)"
        scale = noise.scale
        lower_s, upper_s = lo_t * scale, hi_t * scale
        mdl = self.mdl
        assumptions = (
            check_text,
            "rotation invariance: every shift of l2 norm t is equivalent to t e_1, so R* is the "
            "smallest failing t (Hong et al. 2022 Theorem 1; Yang et al. 2020 level-set method)",
            "test: binary (pB = 1 - pA)",
            "enclosure: polar coordinates (R, U), radial cells with exact masses, mean-value "
            "bracket of the cosine threshold, cosine-CDF table bracketed by chords/tangents "
            f"(unicr.neyman_pearson.radial); {mdl.cells.mass.size} cells; tail mass "
            f"{mdl.cells.tail_mass:.1e} counted on the safe side",
            f"special functions: each gammainc/betainc value within {CDF_ABS_ERROR:g} absolute "
            "(assumed)",
            f"curve path: {len(self.ts)} shared shifts ({self.n_fine} on the fine cells) for "
            f"{self.pa.size} pA; lower: the union "
            f"from 0 of the Lipschitz intervals t_j +- m_j / C of verified passes, "
            f"C = {self.c:.6g}/lambda (|T_t - T_t'| <= C |t - t'|); upper: a verified failing "
            f"shift; grid tolerance {self.g:g} relative",
        )
        witness = Witness(direction=k_equal(1).describe(), scale=upper_s, norm_value=upper_s,
                          detail=detail)
        tol = (upper_s - lower_s) / upper_s if upper_s > 0 else 0.0
        return Certificate(lower=lower_s, upper=upper_s, estimate=0.5 * (lower_s + upper_s),
                           confidence=1.0, method=METHOD, norm=2.0, d=noise.d, pa=pa, pb=None,
                           assumptions=assumptions, witness=witness, noise=noise.definition(),
                           tolerance=max(tol, self.g))


# ---------------------------------------------------------------------------------------------
# unicr.radius entry point: any l_p norm by rotation invariance
# ---------------------------------------------------------------------------------------------


def radial_applies(noise: Any) -> bool:
    """True when :func:`check_radial_noise` accepts ``noise`` (the engine's own applicability
    test: an l2-radial UniformBall / Exp2 / Pow2 with a non-increasing radial log-density)."""
    try:
        check_radial_noise(noise)
    except InvalidParameterError:
        return False
    return True


def lp_from_l2(cert: Certificate, p: float) -> Certificate:
    """The l_p certificate implied by an l2 certificate of a rotation-invariant noise.

    The Neyman-Pearson test at delta depends on ||delta||_2 only (rotation invariance), so
    R*_p = min{||delta||_p : the test fails at delta} = R*_2 * c_p with
    c_p = min_{delta != 0} ||delta||_p / ||delta||_2 (``_lp_factor`` of the Monte Carlo engine:
    1 for p <= 2, attained at e_1; d^(1/p - 1/2) for p > 2, attained at the all-ones direction).
    Both bounds scale by c_p; the witness becomes the minimising direction at l2 norm
    ``upper_2`` (per-coordinate ``upper_2 / sqrt(d)`` on the all-ones direction for p > 2).
    """
    if p == 2.0 or cert.abstain:
        return dataclasses.replace(cert, norm=float(p))
    d = cert.d
    factor = _lp_factor(p, d)
    lower, upper = cert.lower * factor, cert.upper * factor
    witness = cert.witness
    if witness is not None:
        if p <= 2.0:
            direction, scale = k_equal(1).describe(), witness.scale
        else:
            direction, scale = k_equal(d).describe(), witness.scale / math.sqrt(d)
        witness = Witness(direction=direction, scale=scale, norm_value=upper,
                          detail={**witness.detail, "l2_norm": witness.norm_value})
    where = "e_1" if p <= 2.0 else "the all-ones direction"
    text = (f"l_p from l2 by rotation invariance: R*_p = R*_2 * min ||delta||_p / ||delta||_2 = "
            f"R*_2 * {factor:.9g} (attained at {where})")
    return dataclasses.replace(cert, lower=lower, upper=upper,
                               estimate=None if cert.estimate is None else cert.estimate * factor,
                               norm=float(p), witness=witness,
                               assumptions=(*cert.assumptions, text))


def radius_radial(noise: RadialJointNoise, pa: float, pb: float | None, p: float, d: int,
                  options: RadialOptions | None = None, **kwargs: Any) -> Certificate:
    """The radial engine behind ``unicr.radius(method="radial")`` (and ``"auto"`` for the
    noises :func:`radial_applies` accepts): :func:`radius_radial_l2`, then :func:`lp_from_l2`.

    ``options`` (a :class:`RadialOptions`) or keywords (``rtol``, ``n_cells``, ``curve_rtol``);
    an unknown keyword is an :class:`InvalidParameterError` naming it.
    """
    if options is None:
        options = RadialOptions.from_keywords(**kwargs)
    elif kwargs:
        options = dataclasses.replace(options, **RadialOptions.from_keywords(**kwargs)._raw())
    cert = radius_radial_l2(noise, pa, pb, d, rtol=options.rtol, n_cells=options.n_cells)
    return lp_from_l2(cert, float(p))
