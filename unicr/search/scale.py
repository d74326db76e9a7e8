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

The predicate is ``margins(lambda)[statement] > 0`` where ``margins`` returns the three
Neyman-Pearson margins of :func:`unicr.neyman_pearson.sampled.margins`, indexed by
:class:`~unicr.neyman_pearson.statement.Statement` (estimate, sound pass, sound fail).  For
``Statement.FAIL`` "inside" means "not proven to fail", so ``fails`` is the smallest lambda
proven (on the search sample) to fail.  The result is a
:class:`~unicr.search.bracket.ScaleBracket` (``passes`` inside, ``fails`` outside).

Layering: a loss model of :mod:`unicr.neyman_pearson.banks` only hands out its margin function
(:meth:`margin_function`); :meth:`Search.along` builds the search around it, so the
Neyman-Pearson stage never imports the search stage.

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
from unicr.neyman_pearson.statement import Statement
from unicr.search.bracket import ScaleBracket

__all__ = ["search_core", "ScaleBracket", "Search", "OK", "NO_INSIDE",
           "NO_OUTSIDE", "NO_CONVERGENCE"]

OK, NO_INSIDE, NO_OUTSIDE, NO_CONVERGENCE = 0, 1, 2, 3
_GROW = 2.0
_MAX_BRACKET_STEPS = 200  # 2^200: far beyond any finite radius
_MAX_BISECT_STEPS = 200
_N0 = 1  # ITP slack: evaluations allowed beyond bisection's count


class _CoreSearch:
    """The state of one :func:`search_core` call: the evaluations so far and the grid."""

    def __init__(self, evaluate: Any, state: Any, statement: int, rel_tol: float,
                 hist_lam: np.ndarray, hist_m: np.ndarray, first_step: float, grid: bool):
        self.evaluate, self.state, self.statement = evaluate, state, statement
        self.rel_tol = rel_tol
        self.hist_lam, self.hist_m = hist_lam, hist_m
        self.first_step = first_step
        self.count = 0
        self.tau = math.log1p(rel_tol)
        self.grid = grid and (self.tau > 0.0 and math.isfinite(self.tau))

    def inside(self, lam: float) -> tuple[bool, float]:
        """Evaluate at ``lam`` (recorded in the history): ``(predicate holds, margin)``."""
        mm = self.evaluate(lam, self.state)
        k = self.count
        if k < self.hist_lam.shape[0]:
            self.hist_lam[k] = lam
            self.hist_m[k, :] = mm
        self.count = k + 1
        m = float(mm[self.statement])
        return bool(m > 0.0), m

    def g_index(self, lam: float) -> int:
        return int(round(math.log(lam) / self.tau))

    def g_lam(self, i: int) -> float:
        return math.exp(i * self.tau)

    def move(self, lam: float, dx: float, up: bool) -> float:
        """``lam e^(+-dx)`` (on the grid: at least one cell)."""
        if not self.grid:
            return lam * math.exp(dx) if up else lam * math.exp(-dx)
        di = max(1, int(round(dx / self.tau)))
        return self.g_lam(self.g_index(lam) + (di if up else -di))

    def bracket(self, lam: float, m: float, up: bool) -> tuple[float, float, float, float, bool]:
        """Step from ``lam`` (margin m, on one side) until the predicate changes: geometric
        steps ``log(1 + step)``, ``step`` doubling up to 1, shortened to 1.5 x the secant
        estimate of the distance to the crossing (plus half a tolerance) when the last two
        margins approach zero -- never below a quarter of the geometric step.
        Returns ``(last same-side lam, its margin, first other-side lam, its margin, found)``."""
        step = self.first_step
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
                    dx = min(geo, max(0.25 * geo, 1.5 * abs(m / slope) + 0.5 * self.tau))
            nxt = self.move(lam, dx, up)
            ok, mn = self.inside(nxt)
            if ok != ok0:
                return lam, m, nxt, mn, True
            x_prev, m_prev = x, m
            lam, m = nxt, mn
            step = min(2.0 * step, _GROW - 1.0)
        return lam, m, math.nan, math.nan, False

    def next_point(self, j: int, n_max: int, lo: float, hi: float, f_lo: float, f_hi: float,
                   streak: int, interp: bool) -> float | None:
        """The next scale to evaluate in ``(lo, hi)``, or ``None`` when the bracket is closed:
        an Illinois estimate half a tolerance beyond the crossing, projected onto the ITP
        interval around the midpoint (see :func:`search_core`)."""
        if self.grid:
            i_lo, i_hi = self.g_index(lo), self.g_index(hi)
            if i_hi - i_lo <= 1:
                return None
            a, b, h = float(i_lo), float(i_hi), 0.5
            slack = 2.0 ** (n_max - j - 1) - 0.5 * (b - a) - 0.5
        else:
            if hi <= lo * (1.0 + self.rel_tol):
                return None
            a, b, h = math.log(lo), math.log(hi), 0.49 * self.tau
            # (1% below the schedule: the last bracket must pass the float test above)
            slack = 0.99 * 0.5 * self.tau * 2.0 ** (n_max - j) - 0.5 * (b - a)
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
        if self.grid:
            i = int(math.floor(x + 0.5)) if x != mid else (i_lo + i_hi) // 2
            i = min(max(i, i_lo + 1), i_hi - 1)
            return self.g_lam(i)
        lam = math.exp(x)
        if not (lo < lam < hi):
            lam = math.sqrt(lo * hi)
        return lam

    def refine(self, lo: float, hi: float, m_lo: float, m_hi: float,
               interp: bool) -> tuple[float, float, int]:
        """Narrow a bracket ``lo`` inside, ``hi`` outside to the tolerance (or one grid cell)."""
        f_lo, f_hi = m_lo, m_hi  # Illinois-scaled margins of the current ends
        last = 0  # +1: lo moved last, -1: hi moved last
        streak = 0  # further moves of that end in a row
        if self.grid:
            w0 = float(self.g_index(hi) - self.g_index(lo))
            unit = 1.0
        else:
            w0 = math.log(hi) - math.log(lo)
            unit = self.tau
        # ITP projection (Oliveira & Takahashi 2020): at most _N0 evaluations more than bisection
        n_max = max(0, math.ceil(math.log2(max(w0 / unit, 1.0)))) + _N0
        for j in range(_MAX_BISECT_STEPS):
            lam = self.next_point(j, n_max, lo, hi, f_lo, f_hi, streak, interp)
            if lam is None or not (lo < lam < hi):  # closed, or no representable point between
                return lo, hi, OK
            ok, m = self.inside(lam)
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
        return lo, hi, NO_CONVERGENCE


def search_core(evaluate: Any, state: Any, statement: int, lam0: float, lo: float, hi: float,
                rel_tol: float, hist_lam: np.ndarray, hist_m: np.ndarray,
                first_step: float = 1.0, grid: bool = False, interp: bool = True,
                m_lo: float = math.nan, m_hi: float = math.nan) -> tuple:
    """Bracket and refine ``lambda -> evaluate(lambda, state)[statement] > 0``.

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
    core = _CoreSearch(evaluate, state, statement, rel_tol, hist_lam, hist_m, first_step, grid)
    if core.grid:
        if lo > 0.0 and core.g_lam(core.g_index(lo)) != lo:
            lo, m_lo = 0.0, math.nan
        if hi < np.inf and core.g_lam(core.g_index(hi)) != hi:
            hi, m_hi = np.inf, math.nan
        lam0 = core.g_lam(core.g_index(lam0))
    if lo <= 0.0 and hi == np.inf:
        ok, m = core.inside(lam0)
        if ok:
            lo, m_lo = lam0, m
        else:
            hi, m_hi = lam0, m
    if hi == np.inf:  # grow from the last inside point
        lo, m_lo, hi_new, m_new, found = core.bracket(lo, m_lo, True)
        if not found:
            return lo, hi, core.count, NO_OUTSIDE
        hi, m_hi = hi_new, m_new
    if lo <= 0.0:  # shrink from the first outside point
        hi, m_hi, lo_new, m_new, found = core.bracket(hi, m_hi, False)
        if not found:
            return lo, hi, core.count, NO_INSIDE
        lo, m_lo = lo_new, m_new
    lo, hi, status = core.refine(lo, hi, m_lo, m_hi, interp)
    return lo, hi, core.count, status


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

    @classmethod
    def along(cls, model: Any, pa: float, pb: float | None, d_pass: float, d_fail: float,
              rel_tol: float) -> Search:
        """The search over the margins of a loss model of :mod:`unicr.neyman_pearson.banks`
        (its :meth:`margin_function` at ``pa``, ``pb`` and the DKW bands ``d_pass``,
        ``d_fail``), with relative tolerance ``rel_tol`` in lambda."""
        fn = model.margin_function(pa, pb, d_pass, d_fail)
        return cls(evaluate=fn.evaluate, jit_eval=fn.kernel, jit_state=fn.state,
                   rel_tol=rel_tol, what=model.what)

    def _known_bracket(self, statement: int) -> tuple[float, float, float, float]:
        """``(lo, hi, m_lo, m_hi)`` from the cache (0 / inf and NaN when unknown)."""
        lo, hi, m_lo, m_hi = 0.0, math.inf, math.nan, math.nan
        if not self.cache_lam:
            return lo, hi, m_lo, m_hi
        lams = np.asarray(self.cache_lam)
        ms = np.asarray(self.cache_m)[:, statement]
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

    def run(self, statement: int, lam0: float, first_step: float = 1.0,
            grid: bool = False) -> ScaleBracket:
        """Search the boundary of ``statement`` (a :class:`Statement`: estimate, pass, fail).

        ``first_step``: relative size of the first bracketing step (1 = doubling).
        ``grid``: snap every evaluated scale to the grid ``(1 + rel_tol)^i`` (see
        :func:`search_core`): the result then depends on the predicate only, not on ``lam0``
        nor on the evaluations cached by earlier searches, whenever the predicate changes
        sign once along the grid.
        """
        statement = Statement(statement)
        lo, hi, m_lo, m_hi = self._known_bracket(int(statement))
        cap = 2 * _MAX_BRACKET_STEPS + _MAX_BISECT_STEPS + 2
        hist_lam = np.zeros(cap)
        hist_m = np.zeros((cap, 3))
        if not (math.isfinite(lam0) and lam0 > 0):
            lam0 = 1.0
        if self.jit_eval is not None:
            evaluate, state = self.jit_eval, self.jit_state
        else:
            ev = self.evaluate

            def evaluate(lam: float, _state: Any) -> np.ndarray:
                return ev(lam)

            state = None
        lo, hi, k, status = search_core(evaluate, state, int(statement), lam0, lo, hi,
                                        self.rel_tol, hist_lam, hist_m, first_step, grid, True,
                                        m_lo, m_hi)
        k_stored = min(k, cap)
        self.cache_lam.extend(hist_lam[:k_stored].tolist())
        self.cache_m.extend(list(hist_m[:k_stored]))
        self._raise_on(status, statement, lo, hi)
        return ScaleBracket(passes=float(lo), fails=float(hi), evaluations=int(k),
                            statement=statement)

    def _raise_on(self, status: int, statement: Statement, lo: float, hi: float) -> None:
        """:class:`ConvergenceError` for a search that ended without a bracket."""
        name = statement.label
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
