"""Shared input checks: one place for the messages that name a bad number.

Used by the noise classes, the engines' entry point and the closed-form library, so that
``sigma=-1`` or ``d=2.5`` is refused the same way wherever it is given.
"""

from __future__ import annotations

import math
from typing import Any

from unicr.errors import InvalidParameterError

__all__ = ["check_positive", "check_dimension", "check_finite"]


def _prefix(owner: str | None) -> str:
    return f"{owner}: " if owner else ""


def check_positive(value: Any, name: str, owner: str | None = None) -> float:
    """``value`` as a finite float > 0, or :class:`InvalidParameterError` naming ``name``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"{_prefix(owner)}{name} must be a positive number, got {value!r}"
        ) from None
    if not (math.isfinite(v) and v > 0):
        raise InvalidParameterError(f"{_prefix(owner)}{name} must be finite and > 0, got {value!r}")
    return v


def check_finite(value: Any, what: str) -> float:
    """``value`` as a finite float, or :class:`InvalidParameterError` naming ``what``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise InvalidParameterError(f"{what} must be a finite number, got {value!r}")
    return v


def check_dimension(d: Any, minimum: int = 1, owner: str | None = None) -> int:
    """``d`` as an int >= ``minimum`` (a float must be a whole number), or an error naming it."""
    msg = f"{_prefix(owner)}dimension d must be an integer >= {minimum}, got {d!r}"
    try:
        di = int(d)
    except (TypeError, ValueError, OverflowError):
        raise InvalidParameterError(msg) from None
    if isinstance(d, float) and d != di:
        raise InvalidParameterError(msg)
    if di < minimum:
        raise InvalidParameterError(msg)
    return di
