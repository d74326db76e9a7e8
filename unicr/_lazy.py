"""Names of a package loaded from its submodules on first use (PEP 562).

``__getattr__, __dir__ = lazy_names(__name__, {"Name": "submodule", ...})`` in a package's
``__init__`` makes ``package.Name`` import ``package.submodule`` only when first asked for, and
keeps the value in the package's namespace afterwards (so importing the package stays cheap:
reading results files must not import torch).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_names(package: str, where: dict[str, str],
               ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` whose public ``name`` lives in
    ``package.<where[name]>`` (or in ``where[name]`` itself when that starts with ``unicr.``)."""

    def __getattr__(name: str) -> Any:
        if name in where:
            module = where[name]
            full = module if module.startswith("unicr.") else f"{package}.{module}"
            value = getattr(importlib.import_module(full), name)
            vars(sys.modules[package])[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__
