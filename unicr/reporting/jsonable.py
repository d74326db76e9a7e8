"""Plain JSON for results: one converter shared by the library's writers and the CLI."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["to_jsonable"]


def to_jsonable(obj: Any) -> Any:
    """``obj`` with every value JSON can write without NaN/inf literals.

    Infinite floats become the strings ``"inf"``/``"-inf"``, NaN becomes ``None``, dict keys
    become strings, tuples become lists and numpy scalars become Python numbers (recursively).
    """
    if isinstance(obj, float):
        if math.isinf(obj):
            return "inf" if obj > 0 else "-inf"
        if math.isnan(obj):
            return None
        return obj
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return to_jsonable(obj.item())
    return obj
