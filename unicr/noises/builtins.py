"""The table of built-in noise classes: ``@register`` fills it, the registry reads it.

The families register themselves when their modules are imported; the package
``unicr.noises`` imports them all (its ``__init__``), and Python always runs a package's
``__init__`` before any of its modules, so the table is complete whenever it is read.  This
module imports no family: the families depend on it, never the reverse (no import cycle).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from unicr.errors import InvalidParameterError, UnknownNoiseError
from unicr.noises.base import JointNoise, Noise

__all__ = ["register", "builtin_names", "builtin_class", "build_builtin", "canonical_name",
           "resolve_alias"]

_BUILTINS: dict[str, type[Noise]] = {}
_ALIASES: dict[str, str] = {}


def _norm_name(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def register(name: str, *aliases: str) -> Callable[[type[Noise]], type[Noise]]:
    """Class decorator: register a built-in noise family under ``name`` (and aliases)."""

    def deco(cls: type[Noise]) -> type[Noise]:
        key = _norm_name(name)
        if key in _BUILTINS and _BUILTINS[key] is not cls:
            raise RuntimeError(f"noise name {key!r} registered twice")
        cls.name = key
        _BUILTINS[key] = cls
        for a in aliases:
            _ALIASES[_norm_name(a)] = key
        return cls

    return deco


def builtin_names() -> list[str]:
    return sorted(_BUILTINS)


def builtin_class(name: str) -> type[Noise]:
    """The class registered under ``name`` or one of its aliases."""
    key = _norm_name(name)
    key = _ALIASES.get(key, key)
    if key not in _BUILTINS:
        raise UnknownNoiseError(
            f"no built-in noise family named {name!r}; built-ins: {', '.join(sorted(_BUILTINS))}"
        )
    return _BUILTINS[key]


def canonical_name(name: str) -> str:
    """``name`` as the table keys it: stripped, lower case, ``-`` read as ``_``."""
    return _norm_name(name)


def resolve_alias(name: str) -> str | None:
    """The registered name that ``name`` (or its alias) denotes, or None."""
    key = _norm_name(name)
    key = _ALIASES.get(key, key)
    return key if key in _BUILTINS else None


def build_builtin(name: str, sigma: float | None = None, scale: float | None = None,
                  d: int | None = None, **params: Any) -> Noise:
    """Instantiate a registered built-in class (handles ``d`` for joint noises)."""
    cls = builtin_class(name)
    if issubclass(cls, JointNoise):
        if d is None:
            raise InvalidParameterError(
                f"{cls.name} is a joint (non-product) noise on R^d: give its dimension d"
            )
        return cls(d, sigma=sigma, scale=scale, **params)
    return cls(sigma=sigma, scale=scale, **params)
