"""The result of a scale search along one direction: one :class:`ScaleBracket` for both engines."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from unicr.neyman_pearson.statement import Statement

__all__ = ["ScaleBracket"]


@dataclass(frozen=True)
class ScaleBracket:
    """Scales ``a`` of the perturbation ``a * u`` along one direction ``u``, bracketing a boundary.

    ``passes``: the largest scale at which the statement was found to hold (0 if none);
    ``fails``: the smallest scale at which it was found not to hold (``inf`` if none up to the
    search's limit).  ``statement`` says what "hold" means: for the Monte Carlo engine one of
    :class:`~unicr.neyman_pearson.statement.Statement` (the point statistic, the sound pass
    test or the sound failure test, each searched separately); for the exact engine ``None``,
    because both ends are proven (``passes`` verified to pass, ``fails`` verified to fail).
    ``evaluations``: number of tests run; ``detail``: notes of the search (e.g. why it stopped).
    """

    passes: float
    fails: float
    evaluations: int
    statement: Statement | None = None
    detail: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def mid(self) -> float:
        """Geometric midpoint of the bracket (finite ends only)."""
        return math.sqrt(self.passes * self.fails)
