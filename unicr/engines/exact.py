"""``radius_exact``: proven lower and upper bounds on R* for product noise.

* ``lower`` -- proven lower bounds (:mod:`unicr.bounds.differential` and closed forms
  proven tight), the best of those that apply to the norm, converted between norms
  with the inclusions of docs/certificate-notes.md#c0-6;
* ``upper`` -- the smallest l_p norm of a perturbation *verified* to fail the
  Neyman-Pearson test (Hong et al. 2022, Theorem 1) along the searched directions:
  ``k``-equal directions ``a (1, ..., 1, 0, ..., 0)`` for ``k = 1, d`` and a geometric
  set in between (optionally two-level directions), plus, for ``k = 1``, the half-line
  set ``{z_1 <= F^{-1}(pA)}`` (valid for any noise);
* special cases computed in closed form: the builtin Gaussian (the loss is exactly
  Gaussian; rotation invariance makes the k-equal result R* for every norm) and
  uniform noise (the loss takes the values 0 and +-inf; the worst perturbation is
  known -- Yang et al. 2020, docs/certificate-notes.md#c3-1 (to §3.2), extended to p >= 2 in
  docs/exact-engine.md).

The pipeline is :func:`radius_exact` -> :func:`run_exact` (one
:class:`~unicr.engines.exact_records.ExactRun` record) -> the certificate, whose assumptions
text :func:`unicr.engines.exact_explain.assumptions` writes from the record.  Options are
one frozen :class:`~unicr.engines.exact_options.ExactOptions`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np
from scipy import special

from unicr.bounds.differential import (
    RateFunction,
    fisher_radius,
    gaussian_domination_tau,
    l1_rate,
    linf_rate,
    score_law,
    truncated_fisher_radius,
)
from unicr.certificate import Certificate, Witness
from unicr.engines.exact_explain import assumptions
from unicr.engines.exact_options import ExactOptions, TwoLevel
from unicr.engines.exact_records import ExactRun, UpperResult
from unicr.errors import (
    ConvergenceError,
    NotProductNoiseError,
    UnicrError,
)
from unicr.neyman_pearson.direction import k_equal
from unicr.neyman_pearson.lattice_evaluation import (
    DirectionEvaluator,
    Evaluation,
    LatticeComponents,
)
from unicr.neyman_pearson.tradeoff import StdNoise
from unicr.search.bracket import ScaleBracket
from unicr.search.grids import k_grid
from unicr.search.lattice_scale import search_scale

__all__ = ["radius_exact", "run_exact", "ExactModel", "ExactOptions", "ENGINE_VERSION"]

log = logging.getLogger(__name__)

#: failures of one direction's or one bound's numerics (a lattice that does not fit, a
#: degenerate law): leaving a direction out of the upper search, or a bound out of the lower
#: maximum, keeps both sides sound, so these are logged and skipped, never printed as a radius
NUMERIC_FAILURES = (OverflowError, ZeroDivisionError, FloatingPointError, ValueError)

#: bump when the numbers the engine produces may change (part of the curve cache key)
ENGINE_VERSION = "exact-3"

_METHOD = "exact"
#: relative rounding margin applied to closed forms (lower down, witnesses up)
_CF_MARGIN = 1e-12


def _norm_factor(k: int | np.ndarray, p: float) -> np.ndarray:
    """``k^{1/p}`` (1 for p = inf): the l_p norm of a k-equal unit perturbation."""
    k = np.asarray(k, dtype=float)
    if math.isinf(p):
        return np.ones_like(k)
    return np.exp(np.log(k) / p)


def _convert_lower(r1: np.ndarray | None, r2: np.ndarray | None, rinf: np.ndarray | None,
                   p: float, d: int) -> tuple[np.ndarray, str]:
    """Best lower bound for l_p from lower bounds for l1, l2, l_inf (norm inclusions,
    docs/certificate-notes.md#c0-6)."""
    candidates: list[tuple[np.ndarray, str]] = []
    if rinf is not None:
        candidates.append((rinf, "l_inf bound (l_p ball inside the l_inf ball of the same radius)"))
    if r1 is not None:
        if p <= 1:
            candidates.append((r1, "l1 bound (l_p ball inside the l1 ball, p <= 1)"))
        else:
            factor = d ** (1.0 - 1.0 / p) if math.isfinite(p) else float(d)
            candidates.append((r1 / factor, "l1 bound / d^(1-1/p) (norm inclusion)"))
    if r2 is not None:
        if p <= 2:
            candidates.append((r2, "l2 bound (l_p ball inside the l2 ball, p <= 2)"))
        else:
            factor = d ** (0.5 - 1.0 / p) if math.isfinite(p) else math.sqrt(d)
            candidates.append((r2 / factor, "l2 bound / d^(1/2-1/p) (norm inclusion)"))
    if not candidates:
        return np.zeros(0), ""
    values = np.vstack([candidate[0] for candidate in candidates])
    best = np.argmax(values, axis=0)
    out = values[best, np.arange(values.shape[1])]
    names = sorted({candidates[i][1] for i in np.unique(best)})
    return out, "; ".join(names)


class ExactModel:
    """Everything the exact engine knows about one product noise in dimension ``d``.

    Pieces are computed lazily and cached (score law, rate functions, direction
    evaluator), so curves and repeated radii reuse them.
    """

    def __init__(self, noise: Any, d: int, c_h: float = 0.03, eta: float = 1e-15):
        self.noise = noise
        self.std = StdNoise(noise)
        self.d = int(d)
        self.scale = self.std.scale
        self.evaluator = DirectionEvaluator(self.std, c_h=c_h, eta=eta)

    # -- kinds ----------------------------------------------------------------
    @cached_property
    def gaussian_std(self) -> float | None:
        """The standard deviation if the law is exactly Gaussian, else None.

        The Gaussian class, and the generalized normal at beta = 2 (density proportional to
        exp(-|x/alpha|^2), a Gaussian of standard deviation alpha / sqrt(2)): both get the
        closed forms of Cohen et al. 2019 instead of the differential method's looser bounds.
        """
        from unicr.noises.registry import builtin_class

        try:
            kind = type(self.noise)
            if kind is builtin_class("gaussian") or (
                    kind is builtin_class("gennorm") and self.noise.params.get("beta") == 2.0):
                sd = self.noise.sigma
                return float(sd) if sd is not None and math.isfinite(sd) and sd > 0 else None
        except Exception:  # noqa: BLE001 - an unknown law is simply not recognised as Gaussian
            return None
        return None

    @property
    def is_gaussian(self) -> bool:
        return self.gaussian_std is not None

    @cached_property
    def uniform_width(self) -> float | None:
        """Width of the support if the law is uniform on a bounded interval, else None."""
        std = self.std
        if not (math.isfinite(std.lo) and math.isfinite(std.hi)):
            return None
        nodes = np.linspace(std.lo, std.hi, 2001)[1:-1]
        log_density = std.logpdf(nodes)
        if not np.all(np.isfinite(log_density)) or np.ptp(log_density) > 1e-12 * (1 + abs(log_density[0])):
            return None
        return std.hi - std.lo

    # -- lower-bound ingredients ------------------------------------------------
    @cached_property
    def score(self):
        return score_law(self.std)

    @cached_property
    def rate_l1(self) -> RateFunction:
        return l1_rate(self.score, self.std.symmetric)

    @cached_property
    def rate_linf(self) -> RateFunction | None:
        if not self.std.symmetric:
            return None
        try:
            return linf_rate(self.score, self.d)
        except NUMERIC_FAILURES as e:
            # heavy-tailed score (infinite Fisher information): the d-fold sum does not fit
            # in an FFT window; the l_inf bound then comes from the norm inclusions only
            log.info("l_inf differential bound skipped: %s", e)
            return None

    @cached_property
    def fisher_safe(self) -> float:
        """An upper bound on the Fisher information (the family's value, or more).

        Where the score is bounded on every interval, E[s^2] of the spread law (larger in
        the convex order) is an upper bound too, and the larger of the two is used; this
        guards against a numerically integrated family value that comes out too small.
        """
        fisher = self.std.fisher * (1.0 + 1e-9)
        if not self.score.unbounded:
            fisher = max(fisher, self.score.second_moment_upper() + 2.0 * self.score.err)
        return fisher

    @cached_property
    def tau(self) -> float:
        return gaussian_domination_tau(self.score)

    # -- lower ----------------------------------------------------------------
    def lower(self, p: float, pa: np.ndarray,
              pb: np.ndarray | None) -> tuple[np.ndarray, list[str]]:
        """Proven lower bounds (native scale) for every pA in ``pa``, and their justification."""
        pa = np.atleast_1d(np.asarray(pa, dtype=float))
        if self.is_gaussian:
            return self._gauss(p, pa, pb) * (1 - _CF_MARGIN), [
                "Gaussian noise: the loss is exactly Gaussian and rotation invariance makes the "
                "l2 radius sigma*Phi^-1 (Cohen et al. 2019) exact; other norms by the inclusions "
                "of docs/certificate-notes.md#c0-6, attained by the k=1 (p<=2) or k=d (p>2) direction"]
        width = self.uniform_width
        if width is not None:
            return self._uniform_lower(p, pa, pb, width)
        try:
            return self._score_lower(p, pa, pb)
        except NUMERIC_FAILURES as e:
            if isinstance(e, UnicrError):
                raise
            log.info("differential lower bounds failed numerically: %s", e)
            return np.zeros_like(pa), [
                f"the score-based lower bounds failed numerically ({type(e).__name__}: {e}); "
                "lower = 0 (nothing proven)"]

    def _score_lower(self, p: float, pa: np.ndarray,
                     pb: np.ndarray | None) -> tuple[np.ndarray, list[str]]:
        d = self.d
        if not self.score_usable:
            walk = self._walk_lower(pa, pb) if d == 1 else None
            if walk is not None:
                return walk * self.scale, [
                    "no usable score -(log q)': no differential bound; d = 1: " + _WALK_NOTE]
            return np.zeros_like(pa), [
                "no usable score -(log q)': no differential lower bound (lower = 0)"]
        notes = [self._regularity_note()]
        r1 = self.rate_l1.radius(pa, pb)
        notes.append("l1: differential method with the 1-D score law at +-e_i (Yang et al. 2020, "
                     "supremum over the l1 ball at a vertex for product noise); score law spread "
                     "in convex order (upper bound on Phi)")
        rinf = None
        if self.rate_linf is None:
            notes.append("l_inf: no composed differential bound (asymmetric noise or heavy-tailed "
                         "score); norm inclusions only")
        else:
            rinf = self.rate_linf.radius(pa, pb)
            notes.append("l_inf: differential method with the law of the sum of d i.i.d. scores "
                         "(symmetric product noise: supremum over the l_inf ball at sign vectors, "
                         "Yang et al. 2020), composed by FFT on a mean-preserving lattice split")
        r2 = fisher_radius(self.fisher_safe, pa, pb)
        r2_note = ("l2: Fisher bound arcsin(2pA-1)/sqrt(I) (Cauchy-Schwarz on the rate)"
                   if math.isfinite(self.fisher_safe) else
                   "l2: Fisher information infinite, no Fisher bound")
        if math.isfinite(self.tau):
            quantile_a = special.ndtri(pa)
            quantile_b = quantile_a if pb is None else -special.ndtri(np.asarray(pb, dtype=float))
            r2t = np.maximum(0.5 * (quantile_a + quantile_b) / self.tau, 0.0)
            r2 = np.maximum(r2, r2t)
            r2_note += ("; Gaussian convex-order domination s <=_cx N(0, tau^2), "
                        f"tau={self.tau:.6g} (Cohen's radius at sigma=1/tau)")
        if not math.isfinite(self.std.fisher) or self.score.unbounded:
            r2c = truncated_fisher_radius(self.score, d, pa, pb)
            if np.any(r2c > r2):
                r2 = np.maximum(r2, r2c)
                r2_note += ("; truncated-score Fisher bound (kept part by Cauchy-Schwarz, removed "
                            "part by ||v||_1 <= sqrt(d) E|s_removed|)")
        notes.append(r2_note)
        # l1 is also >= the l2 bound (l1 ball inside the l2 ball)
        r1 = np.maximum(r1, r2)
        out, how = _convert_lower(r1, r2, rinf, p, d)
        notes.append(f"l_{_pl(p)} lower bound from: {how}")
        out = np.maximum(out, 0.0)
        if d == 1:
            walk = self._walk_lower(pa, pb)
            if walk is not None and np.any(walk > out):
                out = np.maximum(out, walk)
                notes.append("d = 1: " + _WALK_NOTE)
        return out * self.scale, notes

    @cached_property
    def score_usable(self) -> bool:
        """Whether the score ``-(log q)'`` can be evaluated between the jumps of the density.

        ``has_score`` is False for densities known to jump; the score atoms handle jumps
        themselves (as point masses of ``-q'``), so a score that evaluates to finite values
        away from the jumps is enough.
        """
        if self.std.has_score:
            return True
        nodes = self.std.base_nodes
        nodes = nodes[(nodes > self.std.lo) & (nodes < self.std.hi)]
        try:
            scores = self.std.score(nodes)
        except Exception:  # noqa: BLE001 - a family without any score
            return False
        return bool(len(scores)) and float(np.mean(np.isfinite(scores))) > 0.9

    def _regularity_note(self) -> str:
        jumps = self.std.jumps
        if jumps.total == 0.0:
            return ("hypotheses checked: density continuous on R (no jump found by the bisection "
                    "scan, none at a support edge), so the differential method, the Fisher bound "
                    "and convex-order domination apply as published")
        where = ", ".join(f"{0.5 * (a + b) * self.scale + 0.0:.6g}" for a, b in
                          zip(jumps.left[:4], jumps.right[:4])) + (" ..." if len(jumps.left) > 4 else "")
        return ("hypotheses checked: the density JUMPS (at x = " + where + "; total jump "
                f"{jumps.total:.4g} in standardised units): the differential method is applied in "
                "its jump-aware form (each jump is a point mass of -q' moved at no probability "
                "cost, added to the rate Phi), the Fisher information is infinite (no Fisher or "
                "convex-order l2 bound)")

    def _walk_lower(self, pa: np.ndarray, pb: np.ndarray | None) -> np.ndarray | None:
        """d = 1, binary: certified walk along both shift signs (see :meth:`_walk_one`)."""
        if pb is not None or self.d != 1 or not self.score_usable:
            return None
        out = np.empty_like(pa)
        for i, p in enumerate(pa):
            out[i] = min(self._walk_one(float(p), +1.0), self._walk_one(float(p), -1.0))
        return out

    def _walk_one(self, pa: float, sign: float, rtol: float = 1e-5, max_steps: int = 400) -> float:
        """Largest ``r`` such that every shift ``sign * a``, ``0 <= a <= r``, passes (d = 1).

        At a scale ``a`` the pass-proving (split) law gives ``tau <= T_a(pA)``: every set of
        X-mass ``pA`` keeps Y-mass ``>= tau``.  Moving on by ``s``, the mass of any set changes
        at rate at most ``Phi`` (the 1-D differential rate, jumps included), so it stays above
        1/2 while ``s < int_{1/2}^{tau} du / Phi(u) = J(1 - tau)``: the next scale is
        ``a + J(1 - tau)``.  No monotonicity in ``a`` is assumed; the walk stops where the
        steps become shorter than ``rtol * a`` (or no pass is proven) and returns the last
        scale covered.  Exact in the limit where the split law is exact.
        """
        rate = self.rate_l1
        a = 0.0
        tau = pa
        for _ in range(max_steps):
            step = float(rate.J(np.array([1.0 - tau]))[0]) * (1.0 - 1e-9)
            if not (step > 0.0 and math.isfinite(step)):
                return a
            a_next = a + step
            if step <= rtol * a_next:
                return a_next
            evaluation = self.evaluate([(1, sign * a_next)])
            tau = float(evaluation.t_lower(pa)[0])
            a = a_next
            if tau <= 0.5:
                return a
        return a

    def _gauss(self, p: float, pa: np.ndarray, pb: np.ndarray | None) -> np.ndarray:
        quantile_a = special.ndtri(pa)
        r2 = quantile_a if pb is None else 0.5 * (quantile_a - special.ndtri(np.asarray(pb, dtype=float)))
        r2 = np.maximum(r2, 0.0) * self.gaussian_std
        if p > 2:
            factor = math.sqrt(self.d) if math.isinf(p) else self.d ** (0.5 - 1.0 / p)
            return r2 / factor
        return r2

    def _uniform_c(self, pa: np.ndarray, pb: np.ndarray | None) -> np.ndarray:
        """Overlap threshold: pass iff prod(1 - |delta_i|/w) > c."""
        if pb is None:
            return 1.5 - pa
        return 1.0 - 0.5 * (pa - np.asarray(pb, dtype=float))

    def _uniform_ak(self, c: np.ndarray, k: np.ndarray, w: float) -> np.ndarray:
        """Failing shift of the k-equal direction: (1 - a/w)^k <= c  <=>  a >= w (1 - c^(1/k))."""
        return -w * np.expm1(np.log(c)[..., None] / k[None, :]) if np.ndim(k) else \
            -w * np.expm1(np.log(c) / k)

    def _uniform_lower(self, p: float, pa: np.ndarray, pb: np.ndarray | None,
                       w: float) -> tuple[np.ndarray, list[str]]:
        c = self._uniform_c(pa, pb)
        d = self.d
        a1 = -w * np.expm1(np.log(c))
        ad = -w * np.expm1(np.log(c) / d)
        base = ("uniform noise: robust iff the overlap prod(1 - |delta_i|/w) exceeds "
                + ("3/2 - pA" if pb is None else "1 - (pA - pB)/2")
                + " (Neyman-Pearson with atoms at 0 and +-inf)")
        if p <= 1:
            val, why = a1, ("log-overlap concave in |delta|: minimum over the l_p ball (p<=1) at a "
                            "vertex (Yang et al. 2020, docs/certificate-notes.md#c3-1)")
        elif math.isinf(p):
            val, why = ad, ("minimum over the l_inf ball at a corner (Yang et al. 2020, "
                            "docs/certificate-notes.md#c3-2)")
        elif p >= 2:
            val = ad * d ** (1.0 / p)
            why = ("p >= 2: every failing coordinate is below 2 lambda (pA - 1/2) <= lambda, where "
                   "log(1 - y^(1/p)/w) is convex in y = |delta_i|^p, so the all-equal (k=d) "
                   "direction is worst (Jensen; docs/exact-engine.md)")
        else:
            r2 = ad * math.sqrt(d)
            val = np.maximum(np.maximum(r2, a1 / d ** (1.0 - 1.0 / p)), ad)
            why = ("1 < p < 2: norm inclusions of the exact l2, l1 and l_inf radii "
                   "(docs/certificate-notes.md#c0-6)")
        return np.maximum(val, 0.0) * (1 - _CF_MARGIN) * self.scale, [base, why]

    # -- upper ----------------------------------------------------------------
    @property
    def signs(self) -> tuple[float, ...]:
        """Shift signs searched by the upper bound: both for an asymmetric law."""
        return (1.0,) if self.std.symmetric else (1.0, -1.0)

    def half_line(self, pa: float, pb: float | None, sign: float = 1.0) -> UpperResult:
        """``k = 1`` witness with half-line sets: valid for any 1-D noise (no symmetry needed).

        Shift ``+a``: A-set ``{z <= c_A}`` of X-mass >= pA and (two-sided) B-set
        ``{z <= c_B}`` of X-mass >= 1 - pB bound ``T(pA) <= F(c_A - a)``,
        ``T(1 - pB) <= F(c_B - a)``; the test fails once ``F(c_A - a) + F(c_B - a) <= 1``
        (binary: ``F(c_A - a) <= 1/2``).  Shift ``-a`` (``sign = -1``): the mirror image,
        with the sets ``{z >= c}`` and the survival function.
        """
        std = self.std
        pa_array = np.array(pa)
        if sign > 0:
            tail, inv, away = std.cdf, std.ppf, np.inf
        else:
            tail, inv, away = std.sf, std.isf, -np.inf

        def quantile_at_least(u: float) -> float:
            """A point c with tail(c) >= u, verified with the CDF (nan if none is found)."""
            c = float(inv(np.array(u)))
            if not math.isfinite(c):
                return math.nan
            step = max(abs(c), 1e-300) * 1e-15
            for _ in range(80):
                if float(tail(np.array(c))) >= u:
                    return c
                c = float(np.nextafter(c + sign * step, away))
                step *= 2.0
            return math.nan

        c_a = quantile_at_least(float(pa_array))
        c_b = c_a if pb is None else quantile_at_least(1.0 - float(pb))
        if not (math.isfinite(c_a) and math.isfinite(c_b)):
            return UpperResult(math.inf, 1, math.inf, "half-line")

        def fails(a: float) -> bool:
            ya = float(tail(np.array(c_a - sign * a)))
            yb = float(tail(np.array(c_b - sign * a)))
            return ya + yb <= 1.0 - 4e-16

        lo, hi = 0.0, max(sign * (c_a - std.median), 1e-12)
        while not fails(hi):
            lo, hi = hi, hi * 2.0
            if hi > 1e300:
                return UpperResult(math.inf, 1, math.inf, "half-line")
        for _ in range(200):
            if hi - lo <= 1e-15 * hi:
                break
            mid = 0.5 * (lo + hi)
            if fails(mid):
                hi = mid
            else:
                lo = mid
        return UpperResult(hi * self.scale, 1, sign * hi, "half-line",
                           {"set": "half-line {z_1 <= F^-1(pA)}" if sign > 0
                            else "half-line {z_1 >= F^-1(1 - pA)}"})

    def _a_guess(self, pa: float, k: int, a_half: float) -> float:
        fisher = self.std.fisher
        quantile = float(special.ndtri(min(max(pa, 0.5 + 1e-9), 1 - 1e-12)))
        candidates = [a_half / math.sqrt(k)]
        if math.isfinite(fisher):
            candidates.append(quantile / math.sqrt(k * fisher))
        return max(min(candidates), 1e-9)

    def evaluate(self, comps: LatticeComponents, pessimistic: bool = True) -> Evaluation:
        return self.evaluator.evaluate(comps, pessimistic=pessimistic)

    def upper(self, p: float, pa: float, pb: float | None, ks: Sequence[int] | None = None,
              two_level: Sequence[TwoLevel] = (), rtol: float = 1e-6) -> UpperResult:
        """Smallest verified-failing l_p norm over the searched directions (native scale).

        The k=1 half-line sets first, then the k-equal directions ``ks`` (default:
        :func:`~unicr.search.grids.k_grid`, l_inf: ``d`` only) for each shift sign, then the
        ``two_level`` directions; each scale search is capped at the best norm so far.
        """
        if self.is_gaussian:
            return self._gauss_upper(p, pa, pb)
        width = self.uniform_width
        if width is not None:
            return self._uniform_upper(p, pa, pb, width)
        # all comparisons in standardised units (exact scale equivariance); native at the end
        best = min((self.half_line(pa, pb, sign) for sign in self.signs), key=lambda u: u.value)
        a_half = abs(best.a)
        best_norm = abs(best.a)
        if ks is None:
            ks = [self.d] if math.isinf(p) else k_grid(self.d, "geometric")
        skipped: list[int] = []
        for k in sorted(set(int(k) for k in ks if 1 <= int(k) <= self.d)):
            for sign in self.signs:
                norm_factor = float(_norm_factor(k, p))
                bracket = self._k_equal_bracket(k, sign, best_norm / norm_factor, pa, pb, a_half,
                                                rtol, skipped)
                if (bracket is not None and math.isfinite(bracket.fails)
                        and bracket.fails * norm_factor < best_norm):
                    best_norm = bracket.fails * norm_factor
                    best = UpperResult(best_norm * self.scale, k, sign * bracket.fails, "k-equal",
                                       self._search_detail(bracket))
        for k, m, ratio in two_level:  # validated by ExactOptions
            norm_factor = ((k + m * ratio**p) ** (1.0 / p) if math.isfinite(p)
                           else max(1.0, ratio))
            try:
                bracket = search_scale(
                    lambda a, k=k, m=m, r=ratio: self.evaluate([(k, a), (m, r * a)]),
                    pa, pb, self._a_guess(pa, k + m, a_half), rtol=rtol)
            except NUMERIC_FAILURES as e:
                log.info("exact upper bound: two-level direction (%d, %d) skipped: %s", k, m, e)
                skipped.append(k + m)
                continue
            if math.isfinite(bracket.fails) and bracket.fails * norm_factor < best_norm:
                best_norm = bracket.fails * norm_factor
                best = UpperResult(best_norm * self.scale, k, bracket.fails, "two-level",
                                   self._search_detail(bracket), m=m, b=ratio * bracket.fails)
        if skipped:
            best.detail["skipped"] = skipped
        return best

    def _k_equal_bracket(self, k: int, sign: float, cap: float, pa: float, pb: float | None,
                         a_half: float, rtol: float, skipped: list[int]) -> ScaleBracket | None:
        """Scale search along the k-equal direction of ``sign``, up to scale ``cap``.

        None when the direction does not fail below ``cap`` (pruned) or its lattice does not
        fit (then ``k`` is added to ``skipped``): leaving a direction out can only make the
        upper bound larger, so it stays an upper bound.
        """
        try:
            if math.isfinite(cap):
                # prune: does this direction fail below the current best norm at all?
                if not self.evaluate([(k, sign * cap)], pessimistic=False).fails(pa, pb):
                    return None
                start = min(cap, self._a_guess(pa, k, a_half))
            else:
                start = self._a_guess(pa, k, a_half)
            return search_scale(lambda a: self.evaluate([(k, sign * a)]), pa, pb, start,
                                rtol=rtol, a_max=cap * 1.0000001 if math.isfinite(cap) else 1e6)
        except NUMERIC_FAILURES as e:
            log.info("exact upper bound: direction k=%d skipped: %s", k, e)
            skipped.append(k)
            return None

    def _search_detail(self, bracket: ScaleBracket) -> dict[str, Any]:
        """The witness detail of a Neyman-Pearson failure found by a scale search (native units)."""
        return {"set": "neyman-pearson", "a_pass": bracket.passes * self.scale,
                "evaluations": bracket.evaluations}

    def _gauss_upper(self, p: float, pa: float, pb: float | None) -> UpperResult:
        r = float(self._gauss(p, np.array([pa]), None if pb is None else np.array([pb]))[0])
        r = r * (1 + _CF_MARGIN)
        k = 1 if p <= 2 else self.d
        a = r / float(_norm_factor(k, p)) / self.scale
        return UpperResult(r, k, a, "k-equal", {"set": "half-space (exact Gaussian loss)"})

    def _uniform_upper(self, p: float, pa: float, pb: float | None, w: float) -> UpperResult:
        c = float(self._uniform_c(np.array([pa]), None if pb is None else np.array([pb]))[0])
        # every k for d <= 2^20; beyond, a subset (k <= 2^20, then a geometric grid of ratio
        # 1 + 1e-4 up to d): a minimum over fewer directions is still an upper bound
        m = min(self.d, 1 << 20)
        ks = np.arange(1, m + 1, dtype=float)
        if self.d > m:
            ks = np.unique(np.concatenate([ks, np.round(np.geomspace(
                m, self.d, int(math.log(self.d / m) / 1e-4) + 2))]))
        ak = -w * np.expm1(math.log(c) / ks)
        norms = ak * _norm_factor(ks, p)
        i = int(np.argmin(norms))
        a = float(ak[i]) * (1 + _CF_MARGIN)
        k = int(ks[i])
        return UpperResult(a * float(_norm_factor(k, p)) * self.scale, k, a, "k-equal",
                           {"set": "neyman-pearson (overlap, exact)",
                            "k_scanned": "1..d" if self.d == m else "1..2^20, ratio 1e-4 to d"})


def reconcile(lower: float, upper: float, tol: float, what: str) -> tuple[float, str]:
    """Lower and upper bounds that crossed within the engine's numerical tolerance.

    Both sides are proven up to their numerics; when they cross by less than ``tol``
    (relative, the tolerance the certificate states) the lower bound is lowered to the upper
    one -- the conservative side -- and the crossing is reported.  A larger crossing is a bug
    of the engine and raises :class:`~unicr.errors.ConvergenceError`.
    """
    if lower <= upper:
        return lower, ""
    if lower <= upper * (1 + tol):
        return upper, (f"lower and upper crossed by {lower / upper - 1:.2g} (relative), within "
                       f"the numerical tolerance {tol:g}: lower set to upper (conservative side)")
    raise ConvergenceError(
        f"exact engine: inconsistent bounds lower={lower!r} > upper={upper!r} for {what}; "
        "please report this")


def _pl(p: float) -> str:
    return "inf" if math.isinf(p) else f"{p:g}"


def _witness(upper: UpperResult, scale: float) -> Witness | None:
    """The failing perturbation behind ``upper`` (None if none was found)."""
    if not math.isfinite(upper.value):
        return None
    if upper.kind == "two-level":
        direction = {"kind": "two-level", "k": upper.k, "m": upper.m, "ratio": upper.b / upper.a}
    else:
        direction = k_equal(upper.k, -1.0 if upper.a < 0 else 1.0).describe()
    return Witness(direction=direction, scale=abs(upper.a) * scale, norm_value=upper.value,
                   detail=dict(upper.detail))


_WALK_NOTE = ("certified walk along both shift signs: from each scale a proven to pass (split "
              "law, T_a(pA) >= tau), every scale up to a + int_{1/2}^{tau} du/Phi(u) passes "
              "(differential rate Phi); exact up to the walk's tolerance 1e-5")

_MODELS: dict[tuple[str, int, float, float], ExactModel] = {}


def get_model(noise: Any, d: int, c_h: float = 0.03, eta: float = 1e-15) -> ExactModel:
    """A cached :class:`ExactModel` (keyed by the noise fingerprint and ``d``)."""
    key = (noise.fingerprint(), int(d), float(c_h), float(eta))
    model = _MODELS.get(key)
    if model is None:
        if len(_MODELS) > 32:
            _MODELS.clear()
        model = ExactModel(noise, d, c_h=c_h, eta=eta)
        _MODELS[key] = model
    return model


def _validate(noise: Any, pa: Any, pb: Any, p: Any,
              d: Any) -> tuple[float, float | None, float, int]:
    if not getattr(noise, "is_product", False):
        name = getattr(noise, "name", type(noise).__name__)
        raise NotProductNoiseError(
            f"the exact engine needs a product (i.i.d.) noise, and {name!r} is not one; use "
            "unicr.radius(..., method='mc') (the Monte Carlo engine) or method='auto'")
    from unicr.certificate import parse_norm, validate_probabilities
    from unicr.checks import check_dimension

    pa_f, pb_f = validate_probabilities(pa, pb)
    return pa_f, pb_f, parse_norm(p), check_dimension(d)


def radius_exact(noise: Any, pa: float, pb: float | None, p: float, d: int,
                 options: ExactOptions | None = None, **keywords: Any) -> Certificate:
    """Proven bracket ``lower <= R*(pA, pB) <= upper`` for a product noise (deterministic).

    Parameters
    ----------
    noise:
        a :class:`~unicr.noises.base.ProductNoise`.
    pa, pb:
        class probabilities (binary when ``pb`` is None).
    p:
        the norm, ``math.inf`` for l_inf.
    d:
        input dimension.
    options:
        the engine's :class:`~unicr.engines.exact_options.ExactOptions` (default: all
        defaults); keywords ``directions``, ``two_level``, ``rtol``, ``c_h``, ``eta`` (the
        fields of :class:`ExactOptions`) replace single options, and any other keyword is
        refused with an :class:`~unicr.errors.InvalidParameterError` naming it.

    Returns a :class:`~unicr.certificate.Certificate` with ``confidence = 1`` (deterministic
    numerics with rounding to the safe side), the theorem behind ``lower`` and the
    failing perturbation behind ``upper`` (``witness``).
    """
    pa_f, pb_f, pn, dim = _validate(noise, pa, pb, p, d)
    if options is None:
        options = ExactOptions.from_keywords(dim, **keywords)
    elif keywords:
        options = options.with_keywords(dim, **keywords)
    else:
        options = options.for_dimension(dim)
    definition = noise.definition()
    if (pb_f is None and pa_f <= 0.5) or (pb_f is not None and pa_f <= pb_f):
        reason = ("binary: pA <= 1/2, no certificate" if pb_f is None
                  else "two-sided: pA <= pB, no certificate")
        return Certificate.abstained(method=_METHOD, norm=pn, d=dim, pa=pa_f, pb=pb_f,
                                     reason=reason, noise=definition)
    model = get_model(noise, dim, c_h=options.c_h, eta=options.eta)
    run = run_exact(model, pa_f, pb_f, pn, options,
                    what=f"{noise!r}, pA={pa_f}, pB={pb_f}, p={pn}, d={dim}")
    return Certificate(lower=max(run.lower, 0.0), upper=run.upper.value,
                       estimate=run.upper.value, confidence=1.0, method=_METHOD, norm=pn, d=dim,
                       pa=pa_f, pb=pb_f, assumptions=assumptions(run),
                       witness=_witness(run.upper, model.scale), noise=definition,
                       tolerance=run.tolerance)


def run_exact(model: ExactModel, pa: float, pb: float | None, p: float, options: ExactOptions,
              what: str = "") -> ExactRun:
    """The exact pipeline at one ``(pA, pB, p)``: lower bound, upper bound, reconciled.

    ``what`` names the case in the error raised if the bounds cross beyond the tolerance.
    """
    pbs = None if pb is None else np.array([pb])
    lower_values, notes = model.lower(p, np.array([pa]), pbs)
    upper = model.upper(p, pa, pb, ks=options.directions, two_level=options.two_level,
                        rtol=options.rtol)
    exact_case = model.is_gaussian or model.uniform_width is not None
    tolerance = 1e-10 if exact_case else max(1e-5, 10 * options.rtol)
    lower, crossing = reconcile(float(lower_values[0]), float(upper.value), tolerance, what)
    return ExactRun(pa=pa, pb=pb, p=p, d=model.d, options=options, lower=lower,
                    lower_notes=tuple(notes), upper=upper, crossing=crossing,
                    tolerance=tolerance, cdf_err=model.std.cdf_err, scale=model.scale)
