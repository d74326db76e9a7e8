"""The radial engine's options: one frozen, validated :class:`RadialOptions`.

``unicr.radius(..., method="radial", rtol=1e-5)`` and :func:`unicr.engines.radial.radius_radial`
take the options as keywords; both build a :class:`RadialOptions` with
:meth:`RadialOptions.from_keywords`, which refuses an unknown name (naming it and listing the
options the engine takes) and checks every value before any work (the pattern of
:class:`~unicr.engines.exact_options.ExactOptions`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from unicr.errors import InvalidParameterError

__all__ = ["RadialOptions", "option_names"]

#: (smallest, largest) allowed value of each option
_RANGES: dict[str, tuple[float, float]] = {"rtol": (1e-9, 0.5), "n_cells": (200, 200_000),
                                           "curve_rtol": (1e-6, 0.5)}


@dataclass(frozen=True)
class RadialOptions:
    """Options of the l2-radial engine (:mod:`unicr.engines.radial`), checked on construction.

    Attributes
    ----------
    rtol:
        relative gap (dimensionless, in [1e-9, 0.5]) at which the search on the shift t stops
        for a single radius; the proven band is usually that narrow, wider only where the
        enclosure's resolution stops it (the certificate's ``tolerance`` says which).
    n_cells:
        radial cells of the enclosure (integer in [200, 200000]; more: tighter and slower).
    curve_rtol:
        relative spacing of the shared grid of shifts of the curve path
        (:func:`~unicr.engines.radial.radius_curve_radial_l2`, in [1e-6, 0.5]): every pA's band
        is at most about this wide where the enclosure resolves it.
    """

    rtol: float = 1e-4
    n_cells: int = 6000
    curve_rtol: float = 1e-3

    def __post_init__(self) -> None:
        for name, value in _checked(self._raw()).items():
            object.__setattr__(self, name, value)

    def _raw(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_keywords(cls, **options: Any) -> RadialOptions:
        """The options given as keywords; an unknown name is an
        :class:`~unicr.errors.InvalidParameterError` naming it."""
        unknown = sorted(set(options) - set(option_names()))
        if unknown:
            raise InvalidParameterError(
                f"unknown option{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(repr(n) for n in unknown)} of the radial engine; it takes: "
                f"{', '.join(sorted(option_names()))}")
        return cls(**options)


def option_names() -> frozenset[str]:
    """Names of the radial engine's keyword options."""
    return frozenset(f.name for f in fields(RadialOptions))


def _checked(options: dict[str, Any]) -> dict[str, Any]:
    out = dict(options)
    for name, (low, high) in _RANGES.items():
        value = out[name]
        if name == "n_cells":
            ok = (not isinstance(value, bool) and isinstance(value, (int, float))
                  and float(value) == int(value) and low <= value <= high)
            if not ok:
                raise InvalidParameterError(
                    f"n_cells of the radial engine must be an integer in [{low:g}, {high:g}], "
                    f"got {value!r}")
            out[name] = int(value)
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if isinstance(value, bool) or not (math.isfinite(number) and low <= number <= high):
            raise InvalidParameterError(
                f"{name} of the radial engine must be a number in [{low:g}, {high:g}], "
                f"got {value!r}")
        out[name] = number
    return out
