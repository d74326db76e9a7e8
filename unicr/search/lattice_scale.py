"""The exact engine's scale search along one lattice direction (stage 3 of the data flow).

:func:`search_scale` brackets the failing scale along one direction family
``a -> direction(a)`` whose Neyman-Pearson test
(:class:`~unicr.neyman_pearson.lattice_evaluation.Evaluation`) proves passing and failing:
it returns a :class:`~unicr.search.bracket.ScaleBracket` whose ``fails`` is the smallest
scale *verified* to fail and whose ``passes`` is the largest verified to pass, with a
tolerance in the scale (never a stop on "|K| < eps"; never a sentinel).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from unicr.errors import ConvergenceError
from unicr.neyman_pearson.lattice_evaluation import Evaluation
from unicr.search.bracket import ScaleBracket

__all__ = ["search_scale"]


def search_scale(evaluate: Callable[[float], Evaluation], pa: float, pb: float | None,
                 a0: float, rtol: float = 1e-6, a_max: float = 1e6,
                 max_iter: int = 200) -> ScaleBracket:
    """Bracket the failing scale of one direction family for the test at ``(pa, pb)``.

    Doubling/halving from ``a0`` finds ``lo`` (not proven to fail) and ``hi`` (proven to
    fail); then safeguarded regula falsi on ``log a`` (Illinois) with bisection fallback
    until ``hi / lo - 1 <= rtol``.  The returned ``fails`` is always a scale at which
    failure was verified, ``passes`` the largest scale verified to pass (0 if none).
    """
    probe = _Probe(evaluate, pa, pb)
    scale = max(a0, 1e-12)
    failed, margin = probe(scale)
    if failed:
        hi, margin_hi = scale, margin
        lo, margin_lo = None, None
        while lo is None:
            scale *= 0.25
            if scale < 1e-14 * max(a0, 1.0):
                # fails at vanishing scale: the radius along this direction is 0
                return probe.bracket(hi, {"note": "fails at vanishing scale"})
            failed, margin = probe(scale)
            if failed:
                hi, margin_hi = scale, margin
            else:
                lo, margin_lo = scale, margin
    else:
        lo, margin_lo = scale, margin
        hi, margin_hi = None, None
        while hi is None:
            if scale >= a_max:
                return probe.bracket(math.inf, {"note": f"no failure up to scale {a_max:g}"})
            scale = min(scale * 4.0, a_max)
            failed, margin = probe(scale)
            if failed:
                hi, margin_hi = scale, margin
            else:
                lo, margin_lo = scale, margin
    side = 0
    for _ in range(max_iter):
        if hi / lo - 1.0 <= rtol:
            return probe.bracket(hi)
        log_lo, log_hi = math.log(lo), math.log(hi)
        # regula falsi in log a on the margin (margin_lo < 0 <= margin_hi), Illinois-weighted
        if margin_hi is not None and margin_lo is not None and margin_hi > margin_lo:
            weight = margin_lo / (margin_lo - margin_hi)
            weight = min(max(weight, 0.02), 0.98)
            log_mid = log_lo + weight * (log_hi - log_lo)
        else:
            log_mid = 0.5 * (log_lo + log_hi)
        if side != 0 and abs(side) >= 2:
            log_mid = 0.5 * (log_lo + log_hi)
        mid = math.exp(log_mid)
        if not (lo < mid < hi):
            mid = math.sqrt(lo * hi)
        failed, margin = probe(mid)
        if failed:
            hi, margin_hi = mid, margin
            side = side + 1 if side > 0 else 1
        else:
            lo, margin_lo = mid, margin
            side = side - 1 if side < 0 else -1
    raise ConvergenceError(
        f"scale search did not converge to rtol={rtol:g} in {max_iter} steps "
        f"(bracket [{lo:.6g}, {hi:.6g}], pA={pa:g}, pB={pb})"
    )


class _Probe:
    """One test of the scale search: counts evaluations and keeps the largest proven pass."""

    def __init__(self, evaluate: Callable[[float], Evaluation], pa: float,
                 pb: float | None) -> None:
        self.evaluate = evaluate
        self.pa = pa
        self.pb = pb
        self.evaluations = 0
        self.passes = 0.0

    def __call__(self, scale: float) -> tuple[bool, float]:
        """Whether ``scale`` is proven to fail, and the continuous fail margin there."""
        self.evaluations += 1
        evaluation = self.evaluate(scale)
        if evaluation.passes(self.pa, self.pb):
            self.passes = max(self.passes, scale)
        return evaluation.fails(self.pa, self.pb), evaluation.margin(self.pa, self.pb)

    def bracket(self, fails: float, detail: dict | None = None) -> ScaleBracket:
        """The search's result with ``fails`` as its verified failing scale."""
        return ScaleBracket(passes=self.passes, fails=fails, evaluations=self.evaluations,
                            detail=detail or {})
