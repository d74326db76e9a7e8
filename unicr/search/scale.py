"""Scale search along one direction (Hong et al. 2022, Algorithm 2, made sound).

UniCR's Algorithm 2 brackets the scalar ``lambda`` by doubling/halving and bisects until
``|K| <= 0.01``, returning the midpoint (reference/ALGORITHMS.md §2.4).  Here the search
(docs/soundness-notes.md#s10):

* brackets by doubling/halving, then narrows the bracket in ``log lambda`` until its
  relative width is at most ``rel_tol`` (default 1e-4) -- a tolerance in lambda, never in K;
* narrows by a safeguarded interpolation: an Illinois (modified regula falsi) estimate of
  the crossing from the margins at the two ends, placed half a tolerance beyond the estimate
  so that two accurate steps close the bracket, and projected as in the ITP method
  (Oliveira & Takahashi 2020, ACM TOMS 47(1)) so that it never needs more than one
  evaluation beyond geometric bisection -- whatever the margins look like (they are step
  functions of lambda on a finite sample);
* returns ``(lo, hi)``: the last lambda seen on the inside of the predicate and the last seen
  outside (the bracket's ends), so a caller can re-verify the endpoints;
* optionally evaluates only points of the geometric grid ``(1 + rel_tol)^i`` (``grid=True``):
  the bracket is then a grid cell, *the* cell of the sign change whenever the predicate
  changes sign once along the grid -- a pure function of the predicate, independent of the
  start and of earlier evaluations (the engine's direction costs rely on it);
* reports failure to bracket as a status code, which the engine turns into
  :class:`unicr.errors.ConvergenceError` (no sentinel radius).

The predicate is ``margins(lambda)[which] > 0`` where ``margins`` returns the three
Neyman-Pearson margins of :func:`unicr.neyman_pearson.sampled.margins` (estimate, sound pass, sound
fail).  For ``which = FAIL`` "inside" means "not proven to fail", so ``hi`` is the smallest
lambda proven (on the search sample) to fail.

What is compiled.  Every evaluation is a numba-compiled kernel over precomputed per-sample
quantities (sorting, the empirical Neyman-Pearson sup/inf; for Gaussian noise the losses
themselves), O(n log n) for n draws.  The bracketing loop around it makes a few dozen scalar
decisions and stays in Python: compiling it with the evaluator as a first-class function
cannot be cached by numba and costs seconds of JIT per process for a gain of microseconds.
Batches of scales (verification candidates) go through one compiled call
(:func:`unicr.neyman_pearson.sampled.margins_batch`).
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
_N0 = 1  # ITP slack: evaluations allowed beyond bisection's count


def search_core(evaluate: Any, state: Any, which: int, lam0: float, lo: float, hi: float,
                rel_tol: float, hist_lam: np.ndarray, hist_m: np.ndarray,
                first_step: float = 1.0, grid: bool = False, interp: bool = True,
                m_lo: float = math.nan, m_hi: float = math.nan) -> tuple:
    """Bracket and refine ``lambda -> evaluate(lambda, state)[which] > 0``.

    Hong et al. 2022, Algorithm 2, with a relative tolerance in lambda instead of a
    threshold on |K| (docs/soundness-notes.md#s10).

    ``lo`` (> 0, known inside) and ``hi`` (< inf, known outside) may be given from earlier
    evaluations (``lo = 0`` / ``hi = inf`` when unknown; ``m_lo`` / ``m_hi`` their margins
    when known); ``lam0`` is the first trial scale.  Bracketing multiplies (divides) by
    ``1 + step`` with ``step = first_step`` doubling at every try up to 1 (UniCR's
    doubling/halving when ``first_step = 1``; a small first step when ``lam0`` is already a
    good guess).  Every evaluation is written to ``hist_lam`` / ``hist_m`` (capacity = their
    length).

    Refinement (``interp=True``): an Illinois step (regula falsi on the margin as a function
    of ``log lambda``, the retained end's margin halved when the same end is kept twice),
    placed half a tolerance beyond the interpolated crossing towards the far end so that two
    accurate steps close the bracket, then projected onto the interval around the midpoint
    that keeps the bracket on the bisection schedule plus ``_N0`` steps (the ITP method of
    Oliveira & Takahashi 2020): at most ``ceil(log2(width / log(1 + rel_tol))) + 1``
    evaluations, whatever the margins (non-finite or unknown end margins: bisection).
    ``interp=False``: geometric bisection.

    ``grid=True``: every evaluated lambda is a point of the geometric grid
    ``(1 + rel_tol)^i`` (``lam0`` and given ends snapped; given ends off the grid are
    dropped), and the search stops on one grid cell ``[g_i, g_(i+1)]``.  When the predicate
    changes sign once along the grid, the result is *the* cell of the sign change, whatever
    ``lam0`` and the path: a pure function of the predicate.

    Returns ``(lo, hi, n_evals, status)`` with ``lo`` inside, ``hi`` outside and (status OK)
    ``hi <= lo (1 + rel_tol)``.
    """
    cap = hist_lam.shape[0]
    count = [0]
    tau = math.log1p(rel_tol)
    if grid and not (tau > 0.0 and math.isfinite(tau)):
        grid = False

    def inside(lam: float) -> tuple[bool, float]:
        mm = evaluate(lam, state)
        k = count[0]
        if k < cap:
            hist_lam[k] = lam
            hist_m[k, :] = mm
        count[0] = k + 1
        m = float(mm[which])
        return bool(m > 0.0), m

    def g_index(lam: float) -> int:
        return int(round(math.log(lam) / tau))

    def g_lam(i: int) -> float:
        return math.exp(i * tau)

    if grid:
        if lo > 0.0 and g_lam(g_index(lo)) != lo:
            lo, m_lo = 0.0, math.nan
        if hi < np.inf and g_lam(g_index(hi)) != hi:
            hi, m_hi = np.inf, math.nan
        lam0 = g_lam(g_index(lam0))

    def move(lam: float, dx: float, up: bool) -> float:
        """``lam e^(+-dx)`` (on the grid: at least one cell)."""
        if not grid:
            return lam * math.exp(dx) if up else lam * math.exp(-dx)
        di = max(1, int(round(dx / tau)))
        return g_lam(g_index(lam) + (di if up else -di))

    def bracket(lam: float, m: float, up: bool) -> tuple[float, float, float, float, bool]:
        """Step from ``lam`` (margin m, on one side) until the predicate changes: geometric
        steps ``log(1 + step)``, ``step`` doubling up to 1, shortened to 1.5 x the secant
        estimate of the distance to the crossing (plus half a tolerance) when the last two
        margins approach zero -- never below a quarter of the geometric step.
        Returns ``(last same-side lam, its margin, first other-side lam, its margin, found)``."""
        step = first_step
        x_prev, m_prev = math.nan, math.nan
        ok0 = up  # growing from an inside point, shrinking from an outside one
        for _ in range(_MAX_BRACKET_STEPS):
            geo = math.log1p(step)
            dx = geo
            x = math.log(lam)
            if (math.isfinite(m) and math.isfinite(m_prev) and abs(m) < abs(m_prev)
                    and x != x_prev):
                slope = (m - m_prev) / (x - x_prev)
                if slope != 0.0:
                    dx = min(geo, max(0.25 * geo, 1.5 * abs(m / slope) + 0.5 * tau))
            nxt = move(lam, dx, up)
            ok, mn = inside(nxt)
            if ok != ok0:
                return lam, m, nxt, mn, True
            x_prev, m_prev = x, m
            lam, m = nxt, mn
            step = min(2.0 * step, _GROW - 1.0)
        return lam, m, math.nan, math.nan, False

    if lo <= 0.0 and hi == np.inf:
        ok, m = inside(lam0)
        if ok:
            lo, m_lo = lam0, m
        else:
            hi, m_hi = lam0, m
    if hi == np.inf:  # grow from the last inside point
        lo, m_lo, hi_new, m_new, found = bracket(lo, m_lo, True)
        if not found:
            return lo, hi, count[0], NO_OUTSIDE
        hi, m_hi = hi_new, m_new
    if lo <= 0.0:  # shrink from the first outside point
        hi, m_hi, lo_new, m_new, found = bracket(hi, m_hi, False)
        if not found:
            return lo, hi, count[0], NO_INSIDE
        lo, m_lo = lo_new, m_new
    f_lo, f_hi = m_lo, m_hi  # Illinois-scaled margins of the current ends
    last = 0  # +1: lo moved last, -1: hi moved last
    streak = 0  # further moves of that end in a row
    if grid:
        w0 = float(g_index(hi) - g_index(lo))
        unit = 1.0
    else:
        w0 = math.log(hi) - math.log(lo)
        unit = tau
    # ITP projection (Oliveira & Takahashi 2020): at most _N0 evaluations more than bisection
    n_max = max(0, math.ceil(math.log2(max(w0 / unit, 1.0)))) + _N0
    for j in range(_MAX_BISECT_STEPS):
        if grid:
            i_lo, i_hi = g_index(lo), g_index(hi)
            if i_hi - i_lo <= 1:
                return lo, hi, count[0], OK
            a, b, h = float(i_lo), float(i_hi), 0.5
            slack = 2.0 ** (n_max - j - 1) - 0.5 * (b - a) - 0.5
        else:
            if hi <= lo * (1.0 + rel_tol):
                return lo, hi, count[0], OK
            a, b, h = math.log(lo), math.log(hi), 0.49 * tau
            # (1% below the schedule: the last bracket must pass the float test above)
            slack = 0.99 * 0.5 * tau * 2.0 ** (n_max - j) - 0.5 * (b - a)
        w = b - a
        mid = 0.5 * (a + b)
        x = mid
        if (interp and slack > 0.0 and w > 4.0 * h and math.isfinite(f_lo)
                and math.isfinite(f_hi) and f_lo > 0.0 >= f_hi):
            r = a + w * (f_lo / (f_lo - f_hi))
            # half a tolerance beyond the root estimate, towards the far end: two accurate
            # steps close the bracket; x4 for every further move of the same end (the
            # estimate keeps falling short)
            hh = min(h * 4.0 ** streak, 0.5 * w)
            x = r + hh if r - a <= b - r else r - hh
            x = min(max(x, a + h), b - h)
            if abs(x - mid) > slack:  # projection: never fall behind the bisection schedule
                x = mid + math.copysign(slack, x - mid)
        if grid:
            i = int(math.floor(x + 0.5)) if x != mid else (i_lo + i_hi) // 2
            i = min(max(i, i_lo + 1), i_hi - 1)
            lam = g_lam(i)
        else:
            lam = math.exp(x)
            if not (lo < lam < hi):
                lam = math.sqrt(lo * hi)
        if not (lo < lam < hi):  # no representable point in between
            return lo, hi, count[0], OK
        ok, m = inside(lam)
        side = 1 if ok else -1
        streak = streak + 1 if side == last else 0
        if ok:
            lo, f_lo = lam, m
            if last == 1:
                f_hi *= 0.5
        else:
            hi, f_hi = lam, m
            if last == -1:
                f_lo *= 0.5
        last = side
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

    def _known_bracket(self, which: int) -> tuple[float, float, float, float]:
        """``(lo, hi, m_lo, m_hi)`` from the cache (0 / inf and NaN when unknown)."""
        lo, hi, m_lo, m_hi = 0.0, math.inf, math.nan, math.nan
        if not self.cache_lam:
            return lo, hi, m_lo, m_hi
        lams = np.asarray(self.cache_lam)
        ms = np.asarray(self.cache_m)[:, which]
        order = np.argsort(lams, kind="stable")
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
                lo, m_lo = float(lams[below[-1]]), float(ms[below[-1]])
                if out_idx.size:
                    hi, m_hi = float(lams[first_out]), float(ms[first_out])
            else:
                hi, m_hi = float(lams[first_out]), float(ms[first_out])
        elif out_idx.size:
            hi, m_hi = float(lams[out_idx[0]]), float(ms[out_idx[0]])
        return lo, hi, m_lo, m_hi

    def run(self, which: int, lam0: float, first_step: float = 1.0,
            grid: bool = False) -> ScaleBracket:
        """Search the boundary of predicate ``which`` (0 estimate, 1 pass, 2 fail).

        ``first_step``: relative size of the first bracketing step (1 = doubling).
        ``grid``: snap every evaluated scale to the grid ``(1 + rel_tol)^i`` (see
        :func:`search_core`): the result then depends on the predicate only, not on ``lam0``
        nor on the evaluations cached by earlier searches, whenever the predicate changes
        sign once along the grid.
        """
        lo, hi, m_lo, m_hi = self._known_bracket(which)
        cap = 2 * _MAX_BRACKET_STEPS + _MAX_BISECT_STEPS + 2
        hist_lam = np.zeros(cap)
        hist_m = np.zeros((cap, 3))
        if not (math.isfinite(lam0) and lam0 > 0):
            lam0 = 1.0
        if self.jit_eval is not None:
            lo, hi, k, status = search_core(self.jit_eval, self.jit_state, which, lam0, lo, hi,
                                            self.rel_tol, hist_lam, hist_m, first_step, grid,
                                            True, m_lo, m_hi)
        else:
            ev = self.evaluate

            def py_eval(lam: float, _state: Any) -> np.ndarray:
                return ev(lam)

            lo, hi, k, status = search_core(py_eval, None, which, lam0, lo, hi, self.rel_tol,
                                            hist_lam, hist_m, first_step, grid, True, m_lo,
                                            m_hi)
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
