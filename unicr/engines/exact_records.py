"""What the exact engine computed, as plain records: :class:`UpperResult` and :class:`ExactRun`.

The pipeline (:mod:`unicr.engines.exact`) fills them; the explanation
(:mod:`unicr.engines.exact_explain`) turns them into the certificate's assumptions text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from unicr.engines.exact_options import ExactOptions

__all__ = ["UpperResult", "ExactRun"]


@dataclass
class UpperResult:
    """An upper bound with its witness.

    ``value``: the l_p norm of the failing perturbation (native units); ``k``: coordinates
    moved by ``a`` (signed, standardised units); ``kind``: "k-equal", "two-level" or
    "half-line"; ``m`` and ``b``: the second level of a two-level direction (``m``
    coordinates moved by ``b``, standardised); ``detail``: how failure was verified.
    """

    value: float
    k: int
    a: float
    kind: str
    detail: dict = field(default_factory=dict)
    m: int = 0
    b: float = 0.0


@dataclass(frozen=True)
class ExactRun:
    """One run of the exact engine at ``(pA, pB, p, d)``: both bounds and how they were obtained.

    ``lower`` (native units, after :func:`~unicr.engines.exact.reconcile`) with
    ``lower_notes``, the theorems behind it; ``upper`` the verified failing perturbation;
    ``crossing``: the note of a reconciled crossing ("" if none); ``tolerance``: the
    relative tolerance stated by the certificate; ``cdf_err``: the per-value CDF error of
    the standardised noise; ``scale``: native units per standardised unit.
    """

    pa: float
    pb: float | None
    p: float
    d: int
    options: ExactOptions
    lower: float
    lower_notes: tuple[str, ...]
    upper: UpperResult
    crossing: str
    tolerance: float
    cdf_err: float
    scale: float
