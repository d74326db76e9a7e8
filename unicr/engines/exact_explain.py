"""The exact engine's explanation: a run record (:class:`~unicr.engines.exact_records.ExactRun`)
turned into the certificate's assumptions text.

Kept apart from the pipeline (:mod:`unicr.engines.exact`) so that the numbers and the words
that justify them can be read, and changed, separately.
"""

from __future__ import annotations

import math

from unicr.engines.exact_options import ExactOptions
from unicr.engines.exact_records import ExactRun, UpperResult
from unicr.search.grids import k_grid

__all__ = ["assumptions", "upper_note"]

_DETERMINISTIC = "product (i.i.d.) noise, deterministic numerics (confidence 1)"
_BINARY = "binary (pB = 1 - pA)"
_TWO_SIDED = "two-sided (Hong et al. 2022, Theorem 1: T(pA) > 1 - T(1 - pB))"


def assumptions(run: ExactRun) -> tuple[str, ...]:
    """The assumptions of the certificate of ``run``, in order: setting, lower, upper, numerics."""
    options = run.options
    return (
        _DETERMINISTIC,
        _BINARY if run.pb is None else _TWO_SIDED,
        *run.lower_notes,
        upper_note(run.upper, run.p, run.d, options),
        *([run.crossing] if run.crossing else []),
        f"numerical tolerances: scale search rtol={options.rtol:g}; lattice c_h={options.c_h:g}; "
        f"FFT wrap-around eta={options.eta:g}; CDF error {run.cdf_err:g} per value and float "
        "rounding of FFTs bounded and moved to the safe side",
    )


def upper_note(upper: UpperResult, p: float, d: int, options: ExactOptions) -> str:
    """Which perturbation proves the upper bound, and which directions were searched."""
    if not math.isfinite(upper.value):
        return "upper: no failing perturbation found along the searched directions (upper = inf)"
    directions = options.directions
    searched = ("k = d (l_inf)" if (directions is None and math.isinf(p))
                else "k in " + (str(list(directions)) if directions is not None
                                else str(k_grid(d, "geometric"))))
    if options.two_level:
        searched += f" + two-level {list(options.two_level)}"
    return (f"upper: norm of a perturbation verified to fail ({upper.kind}, k={upper.k}"
            + (f", m={upper.m}" if upper.kind == "two-level" else "")
            + f"; {upper.detail.get('set', '')}); directions searched: k=1 half-line, {searched}"
            + (f"; directions left out (lattice too large): k={upper.detail['skipped']}"
               if upper.detail.get("skipped") else ""))
