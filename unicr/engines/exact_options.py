"""The exact engine's options: one frozen, validated :class:`ExactOptions`.

``unicr.radius(..., method="exact", rtol=1e-5)`` and ``radius_exact(..., rtol=1e-5)`` take
the options as keywords; both turn them into an :class:`ExactOptions` with
:meth:`ExactOptions.from_keywords`, which refuses an unknown name (naming it and listing
the options the engine takes) and checks every value before any work.  The checks that
need the input dimension (``directions`` and ``two_level`` counts are at most ``d``) run
in :meth:`ExactOptions.for_dimension`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from unicr.errors import InvalidParameterError

__all__ = ["ExactOptions", "TwoLevel", "option_names"]

#: a two-level direction ``(k, m, ratio)``: shift ``a`` on ``k`` coordinates and
#: ``ratio * a`` on ``m`` others (standardised units; ``k + m <= d``)
TwoLevel = tuple[int, int, float]

#: upper limits of the numeric options (each must lie in ``(0, limit]``)
_LIMITS = {"rtol": 0.5, "c_h": 1.0, "eta": 1e-3}


@dataclass(frozen=True)
class ExactOptions:
    """Options of :func:`unicr.engines.exact.radius_exact` (checked on construction).

    Attributes
    ----------
    directions:
        the ``k`` (number of moved coordinates, integers in ``[1, d]``) of the k-equal
        directions ``a (1, ..., 1, 0, ..., 0)`` searched by the upper bound; ``None``: 1, d
        and a geometric set in between (:func:`unicr.search.grids.k_grid`), l_inf: d only.
    two_level:
        extra directions ``(k, m, ratio)`` (counts of coordinates and a dimensionless
        ratio > 0): ``a`` on ``k`` coordinates and ``ratio * a`` on ``m`` others.
    rtol:
        relative tolerance of the scale searches (dimensionless, in ``(0, 0.5]``): the
        verified failing scale is within ``1 + rtol`` of the largest not proven to fail.
    c_h:
        lattice spacing of the FFT composition in units of the standard deviation of the
        total loss per ``sqrt`` of the number of moved coordinates (``h = c_h sd / sqrt(K)``;
        errors are ``O(c_h^2)`` relative), in ``(0, 1]``.
    eta:
        probability mass allowed to wrap around on each side of each FFT window (a
        probability, in ``(0, 1e-3]``).
    """

    directions: tuple[int, ...] | None = None
    two_level: tuple[TwoLevel, ...] = ()
    rtol: float = 1e-6
    c_h: float = 0.03
    eta: float = 1e-15

    def __post_init__(self) -> None:
        for name, value in _checked(self._raw(), None).items():
            object.__setattr__(self, name, value)

    def _raw(self) -> dict[str, Any]:
        return {field.name: getattr(self, field.name) for field in fields(self)}

    @classmethod
    def from_keywords(cls, d: int, **options: Any) -> ExactOptions:
        """The options given as keywords, checked for input dimension ``d``.

        An unknown name is an :class:`~unicr.errors.InvalidParameterError` naming it.
        """
        unknown = sorted(set(options) - set(option_names()))
        if unknown:
            raise InvalidParameterError(
                f"unknown option{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(repr(name) for name in unknown)} of the exact engine; it takes: "
                f"{', '.join(sorted(option_names()))}")
        # the keyword form treats a falsy two_level (None, []) as "none"
        if not options.get("two_level", True):
            options["two_level"] = ()
        return cls(**_checked(options, d))

    def for_dimension(self, d: int) -> ExactOptions:
        """These options, checked against input dimension ``d`` (counts at most ``d``)."""
        _checked(self._raw(), d)
        return self

    def with_keywords(self, d: int, **options: Any) -> ExactOptions:
        """These options with some replaced by keywords (checked as in :meth:`from_keywords`)."""
        return ExactOptions.from_keywords(d, **{**self._raw(), **options})


def option_names() -> frozenset[str]:
    """Names of the exact engine's keyword options."""
    return frozenset(field.name for field in fields(ExactOptions))


def _int_in(value: Any, low: int, high: float) -> int | None:
    """``value`` as an int in ``[low, high]`` (bool and non-whole floats refused), else None."""
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if isinstance(value, float) and value != number:
        return None
    if not isinstance(value, (int, float)) and not hasattr(value, "__index__"):
        return None
    return number if low <= number <= high else None


def _checked(options: dict[str, Any], d: int | None) -> dict[str, Any]:
    """Types and ranges of the given options, normalised (``d=None``: counts unbounded)."""
    out = dict(options)
    if out.get("directions") is not None:
        out["directions"] = _checked_directions(out["directions"], d)
    if out.get("two_level"):
        out["two_level"] = _checked_two_level(out["two_level"], d)
    elif "two_level" in out:
        out["two_level"] = ()
    for name, limit in _LIMITS.items():
        if name in out:
            try:
                value = float(out[name])
            except (TypeError, ValueError):
                value = math.nan
            if not (math.isfinite(value) and 0.0 < value <= limit):
                raise InvalidParameterError(
                    f"{name} of the exact engine must be a number in (0, {limit:g}], "
                    f"got {out[name]!r}")
            out[name] = value
    return out


def _dimension_text(d: int | None) -> str:
    return f"d={d}" if d is not None else "d"


def _checked_directions(directions: Any, d: int | None) -> tuple[int, ...]:
    high = math.inf if d is None else d
    bad = InvalidParameterError(
        f"directions for the exact engine is a list of k (integers in [1, {_dimension_text(d)}]) "
        f"of the k-equal directions searched, got {directions!r}"
        + ("; 'structured', 'pso' and 'both' are direction searches of the mc engine "
           "(choose method mc)" if isinstance(directions, str) else ""))
    if isinstance(directions, (str, bytes)) or not hasattr(directions, "__iter__"):
        raise bad
    items = list(directions)
    counts = [_int_in(k, 1, high) for k in items]
    if not items or any(count is None for count in counts):
        raise bad
    return tuple(counts)  # type: ignore[arg-type]


def _checked_two_level(two_level: Any, d: int | None) -> tuple[TwoLevel, ...]:
    high = math.inf if d is None else d
    triples = []
    try:
        for item in two_level:
            k, m, ratio = item
            triples.append((k, m, ratio))
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"two_level must be a list of (k, m, ratio) triples, got {two_level!r}") from None
    clean = []
    for k, m, ratio in triples:
        k_int, m_int = _int_in(k, 1, high), _int_in(m, 1, high)
        try:
            ratio_float = float(ratio)
        except (TypeError, ValueError):
            ratio_float = math.nan
        if (k_int is None or m_int is None or k_int + m_int > high
                or not (math.isfinite(ratio_float) and ratio_float > 0)):
            raise InvalidParameterError(
                f"two-level direction (k={k!r}, m={m!r}, ratio={ratio!r}) needs integers "
                f"k, m >= 1 with k + m <= {_dimension_text(d)} and a finite ratio > 0")
        clean.append((k_int, m_int, ratio_float))
    return tuple(clean)
