"""Scale search along one direction (Hong et al. 2022, Algorithm 2, made sound).

UniCR's Algorithm 2 brackets the scalar ``lambda`` by doubling/halving and bisects until
``|K| <= 0.01``, returning the midpoint (reference/ALGORITHMS.md §2.4).  Here the search
(SOUNDNESS-NOTES S10):

* brackets by doubling/halving, then bisects *geometrically* until the bracket's relative
  width is at most ``rel_tol`` (default 1e-4) -- a tolerance in lambda, never in K;
* returns ``(lo, hi)``: the largest lambda seen on the inside of the predicate and the
  smallest seen outside, so a caller can re-verify the endpoints;
* reports failure to bracket as a status code, which the engine turns into
  :class:`unicr.errors.ConvergenceError` (no sentinel radius).

The predicate is ``margins(lambda)[which] > 0`` where ``margins`` returns the three
Neyman-Pearson margins of :func:`unicr.montecarlo.lr.margins` (estimate, sound pass, sound
fail).  For ``which = FAIL`` "inside" means "not proven to fail", so ``hi`` is the smallest
lambda proven (on the search sample) to fail.

What is compiled.  Every evaluation is a numba-compiled kernel over precomputed per-sample
quantities (sorting, the empirical Neyman-Pearson sup/inf; for Gaussian noise the losses
themselves), O(n log n) for n draws.  The bracketing loop around it makes a few dozen scalar
decisions and stays in Python: compiling it with the evaluator as a first-class function
cannot be cached by numba and costs seconds of JIT per process for a gain of microseconds.
Batches of scales (verification candidates) go through one compiled call
(:func:`unicr.montecarlo.lr.margins_batch`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from unicr.errors import ConvergenceError

__all__ = ["search_core", "ScaleBracket", "Search", "OK", "NO_INSIDE",
           "NO_OUTSIDE", "NO_CONVERGENCE"]

OK, NO_INSIDE, NO_OUTSIDE, NO_CONVERGENCE = 0, 1, 2, 3
_GROW = 2.0
_MAX_BRACKET_STEPS = 200  # 2^200: far beyond any finite radius
_MAX_BISECT_STEPS = 200


def search_core(evaluate: Any, state: Any, which: int, lam0: float, lo: float, hi: float,
                rel_tol: float, hist_lam: np.ndarray, hist_m: np.ndarray,
                first_step: float = 1.0) -> tuple:
    """Bracket and bisect ``lambda -> evaluate(lambda, state)[which] > 0``.

    Hong et al. 2022, Algorithm 2, with a relative tolerance in lambda instead of a
    threshold on |K| (SOUNDNESS-NOTES S10).

    ``lo`` (> 0, known inside) and ``hi`` (< inf, known outside) may be given from earlier
    evaluations (``lo = 0`` / ``hi = inf`` when unknown); ``lam0`` is the first trial scale.
    Bracketing multiplies (divides) by ``1 + step`` with ``step = first_step`` doubling at every
    try up to 1 (UniCR's doubling/halving when ``first_step = 1``; a small first step when
    ``lam0`` is already a good guess).  Every evaluation is written to ``hist_lam`` /
    ``hist_m`` (capacity = their length).

    Returns ``(lo, hi, n_evals, status)``.
    """
    cap = hist_lam.shape[0]
    count = [0]

    def inside(lam: float) -> bool:
        mm = evaluate(lam, state)
        k = count[0]
        if k < cap:
            hist_lam[k] = lam
            hist_m[k, :] = mm
        count[0] = k + 1
        return bool(mm[which] > 0.0)

    if lo <= 0.0 and hi == np.inf:
        if inside(lam0):
            lo = lam0
        else:
            hi = lam0
    if hi == np.inf:  # grow from the last inside point
        lam, step = lo, first_step
        for _ in range(_MAX_BRACKET_STEPS):
            lam, step = lam * (1.0 + step), min(2.0 * step, _GROW - 1.0)
            if not inside(lam):
                hi = lam
                break
            lo = lam
        else:
            return lo, hi, count[0], NO_OUTSIDE
    if lo <= 0.0:  # shrink from the first outside point
        lam, step = hi, first_step
        for _ in range(_MAX_BRACKET_STEPS):
            lam, step = lam / (1.0 + step), min(2.0 * step, _GROW - 1.0)
            if inside(lam):
                lo = lam
                break
            hi = lam
        else:
            return lo, hi, count[0], NO_INSIDE
    for _ in range(_MAX_BISECT_STEPS):
        if hi <= lo * (1.0 + rel_tol):
            return lo, hi, count[0], OK
        lam = math.sqrt(lo * hi)
        if not (lo < lam < hi):  # no representable point in between
            return lo, hi, count[0], OK
        if inside(lam):
            lo = lam
        else:
            hi = lam
    return lo, hi, count[0], NO_CONVERGENCE


@dataclass(frozen=True)
class ScaleBracket:
    """Result of one scale search: ``lo`` inside, ``hi`` outside, within ``rel_tol``."""

    lo: float
    hi: float
    which: int
    n_evals: int

    @property
    def mid(self) -> float:
        return math.sqrt(self.lo * self.hi)


_WHICH_NAME = {0: "point-estimate", 1: "sound pass", 2: "sound failure"}


@dataclass
class Search:
    """Scale searches along one direction that share their evaluations.

    ``evaluate(lam) -> array(3)`` (Python) or ``jit_eval`` + ``jit_state`` (numba).  All
    evaluations are cached, and a search for another predicate starts from the tightest
    bracket the cache already holds: the point-estimate, pass and failure boundaries lie
    within a few percent of each other, so later searches cost a few bisection steps.
    """

    evaluate: Callable[[float], np.ndarray] | None = None
    jit_eval: Any = None
    jit_state: Any = None
    rel_tol: float = 1e-4
    what: str = "direction"
    cache_lam: list[float] = field(default_factory=list)
    cache_m: list[np.ndarray] = field(default_factory=list)

    def _known_bracket(self, which: int) -> tuple[float, float]:
        lo, hi = 0.0, math.inf
        if not self.cache_lam:
            return lo, hi
        lams = np.asarray(self.cache_lam)
        ms = np.asarray(self.cache_m)[:, which]
        order = np.argsort(lams)
        lams, ms = lams[order], ms[order]
        inside = ms > 0
        out_idx = np.nonzero(~inside)[0]
        in_idx = np.nonzero(inside)[0]
        if in_idx.size:
            # the largest inside point below the first outside point (single crossing assumed
            # only to pick a start: the bisection result is re-verified by the engine)
            first_out = out_idx[0] if out_idx.size else lams.size
            below = in_idx[in_idx < first_out]
            if below.size:
                lo = float(lams[below[-1]])
                if out_idx.size:
                    hi = float(lams[first_out])
            else:
                hi = float(lams[first_out])
        elif out_idx.size:
            hi = float(lams[out_idx[0]])
        return lo, hi

    def run(self, which: int, lam0: float, first_step: float = 1.0) -> ScaleBracket:
        """Search the boundary of predicate ``which`` (0 estimate, 1 pass, 2 fail).

        ``first_step``: relative size of the first bracketing step (1 = doubling).
        """
        lo, hi = self._known_bracket(which)
        cap = 2 * _MAX_BRACKET_STEPS + _MAX_BISECT_STEPS + 2
        hist_lam = np.zeros(cap)
        hist_m = np.zeros((cap, 3))
        if not (math.isfinite(lam0) and lam0 > 0):
            lam0 = 1.0
        if self.jit_eval is not None:
            lo, hi, k, status = search_core(self.jit_eval, self.jit_state, which, lam0, lo, hi,
                                            self.rel_tol, hist_lam, hist_m, first_step)
        else:
            ev = self.evaluate

            def py_eval(lam: float, _state: Any) -> np.ndarray:
                return ev(lam)

            lo, hi, k, status = search_core(py_eval, None, which, lam0, lo, hi, self.rel_tol,
                                            hist_lam, hist_m, first_step)
        k_stored = min(k, cap)
        self.cache_lam.extend(hist_lam[:k_stored].tolist())
        self.cache_m.extend(list(hist_m[:k_stored]))
        name = _WHICH_NAME[which]
        if status == NO_INSIDE:
            raise ConvergenceError(
                f"scale search ({name}) along {self.what}: no scale passed the test even at "
                f"lambda = {hi:.3g}; the Monte Carlo sample may be too small for this pA/alpha"
            )
        if status == NO_OUTSIDE:
            raise ConvergenceError(
                f"scale search ({name}) along {self.what}: the test still passed at "
                f"lambda = {lo:.3g}; no failing scale was found"
            )
        if status == NO_CONVERGENCE:
            raise ConvergenceError(
                f"scale search ({name}) along {self.what} did not reach the relative tolerance "
                f"{self.rel_tol:g} (bracket [{lo:.6g}, {hi:.6g}])"
            )
        return ScaleBracket(lo=float(lo), hi=float(hi), which=which, n_evals=int(k))
