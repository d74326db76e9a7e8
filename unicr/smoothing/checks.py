"""Checks and constants of certification that need no PyTorch.

:mod:`unicr.smoothing.dataset` reads results files with them, so ``unicr analyze`` (and any
other reader of results) runs without importing torch; :mod:`unicr.smoothing.smooth`
re-exports them.
"""

from __future__ import annotations

from typing import Any

from unicr.checks import check_count, check_probability
from unicr.errors import InvalidParameterError

__all__ = ["ABSTAIN", "MODES", "RUNNER_UP", "validate_sampling"]

#: returned as the prediction when the smoothed classifier abstains (Cohen et al.'s value)
ABSTAIN = -1
#: certification modes
MODES = ("binary", "two-sided")


def validate_sampling(n0: Any, n: Any, alpha: Any, *,
                      need_n0: bool = True) -> tuple[int, int, float]:
    """Check ``n0 >= 1``, ``n >= 1`` and ``0 < alpha < 1``; errors name the bad value."""
    n0_i = check_count(n0, "n0") if need_n0 else 0
    n_i = check_count(n, "n")
    a = check_probability(alpha, "alpha")
    return n0_i, n_i, a


def _validate_mode(mode: str, alpha_split: Any, grid: Any) -> tuple[str, float | None,
                                                                    tuple[float, ...]]:
    if mode not in MODES:
        raise InvalidParameterError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "binary":
        if grid:
            raise InvalidParameterError("a grid over the alpha split needs mode='two-sided'")
        return mode, None, ()
    if grid:
        g = tuple(float(s) for s in grid)
        if any(not (0.0 < s <= 1.0) for s in g) or len(set(g)) != len(g):
            raise InvalidParameterError(
                f"alpha-split grid values must be distinct and in (0, 1], got {list(grid)}")
        return mode, None, g
    s = 0.5 if alpha_split is None else float(alpha_split)
    if not (0.0 < s <= 1.0):
        raise InvalidParameterError(f"alpha_split must lie in (0, 1], got {alpha_split!r}")
    return mode, s, ()


RUNNER_UP = ("plain", "generalized")
