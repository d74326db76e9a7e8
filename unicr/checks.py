"""Shared input checks: one place for the messages that name a bad number.

Used by the noise classes, the engines' entry point (norms, probabilities), smoothing
(sample sizes, alpha), the Monte Carlo engine's options
(:class:`unicr.engines.mc_options.MCOptions`) and the closed-form library, so that ``sigma=-1``,
``d=2.5`` or ``n_mc=3.5`` is refused the same way wherever it is given.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from unicr.errors import InvalidParameterError

__all__ = ["check_positive", "check_dimension", "check_finite", "check_integer",
           "check_in_range", "check_bool", "check_choice", "check_seed", "check_probability",
           "check_count", "parse_norm", "validate_probabilities"]


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


def check_integer(value: Any, name: str, minimum: int) -> int:
    """``value`` as an int >= ``minimum`` (a float must be a whole number; a bool is refused)."""
    msg = f"{name} must be an integer >= {minimum}, got {value!r}"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float)):
        raise InvalidParameterError(msg)
    if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
        raise InvalidParameterError(msg)
    iv = int(value)
    if iv < minimum:
        raise InvalidParameterError(msg)
    return iv


def check_in_range(value: Any, name: str, low: float, high: float, low_open: bool = True,
                   high_open: bool = True) -> float:
    """``value`` as a finite float in the interval from ``low`` to ``high`` (open or closed
    ends as asked), or :class:`InvalidParameterError` naming ``name`` and the interval."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{name} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(f):
        raise InvalidParameterError(f"{name} must be a finite number, got {value!r}")
    bad_low = f < low or (low_open and f == low)
    bad_high = f > high or (high_open and f == high)
    if bad_low or bad_high:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise InvalidParameterError(
            f"{name} must lie in {lo}{low:g}, {high:g}{hi}, got {value!r}"
        )
    return f


def check_bool(value: Any, name: str) -> bool:
    """``value`` as a bool (Python or numpy); ``0`` / ``1`` are refused, not converted."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of the strings ``choices``, else an error listing them."""
    if not isinstance(value, str) or value not in choices:
        raise InvalidParameterError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def check_seed(value: Any) -> int:
    """A reproducible integer seed from ``value``: a non-negative int as is, a numpy
    ``Generator`` one draw from it, ``None`` fresh OS entropy (the result is recorded, so the
    run can be repeated)."""
    if isinstance(value, np.random.Generator):
        return int(value.integers(0, 2**63 - 1))
    if value is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 0:
        raise InvalidParameterError(
            f"seed must be a non-negative integer, a numpy Generator or None, got {value!r}"
        )
    return int(value)


def check_probability(value: Any, name: str) -> float:
    """``value`` as a float strictly between 0 and 1 (a probability or a level ``alpha``)."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{name} must be a probability, got {value!r}") from None
    if not math.isfinite(f) or not (0.0 < f < 1.0):
        raise InvalidParameterError(f"{name} must lie strictly between 0 and 1, got {value!r}")
    return f


def check_count(value: Any, name: str) -> int:
    """``value`` as an integer >= 1 (a sample size); an integral float is accepted."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise InvalidParameterError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise InvalidParameterError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def parse_norm(norm: Any) -> float:
    """Normalise a norm given as 1, 2, 0.5, "inf", "l2", math.inf ... to a float p in (0, inf]."""
    if isinstance(norm, str):
        t = norm.strip().lower()
        if t.startswith("l"):
            t = t[1:]
        if t in {"inf", "infinity", "oo", "linf"}:
            return math.inf
        try:
            p = float(t)
        except ValueError:
            raise InvalidParameterError(
                f"norm must be a number p > 0 or 'inf', got {norm!r}"
            ) from None
    else:
        try:
            p = float(norm)
        except (TypeError, ValueError):
            raise InvalidParameterError(f"norm must be a number p > 0 or 'inf', got {norm!r}") from None
    if math.isnan(p) or p <= 0:
        raise InvalidParameterError(f"norm p must be > 0 (or 'inf'), got {norm!r}")
    return p


def validate_probabilities(pa: Any, pb: Any = None) -> tuple[float, float | None]:
    """Check pA (and pB) are probabilities in (0, 1); raise naming the bad one."""
    a = check_probability(pa, "pA")
    if pb is None:
        return a, None
    b = check_probability(pb, "pB")
    if a + b > 1.0 + 1e-12:
        raise InvalidParameterError(f"pA + pB must be <= 1, got pA={a:g}, pB={b:g}")
    return a, b
