"""Old import paths (before the data-flow layout of unicr issue #13), kept for one release.

``from unicr.exact.engine import radius_exact`` and the other module paths of unicr 0.1 still
work: each old module name is an alias of the module that now holds the code (the same
object, so monkeypatching through an old path still reaches the code), and importing it
emits a :class:`DeprecationWarning` that names the new path.  The old packages
``unicr.noise``, ``unicr.exact`` and ``unicr.montecarlo`` are small forwarding modules that
expose the names their ``__init__`` exported.

Two names need care: ``unicr.noise``, ``unicr.radius`` and ``unicr.validate`` are
*functions* of the top-level package, and Python's import system binds a submodule to the
attribute of its parent after importing it.  :func:`protect_functions` makes the package
ignore such bindings, so an old-path import never replaces ``unicr.noise()`` by a module.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from typing import Any

__all__ = ["OLD_MODULES", "OLD_PACKAGES", "install", "protect_functions"]

#: old module path -> module that holds its code now
OLD_MODULES: dict[str, str] = {
    **{f"unicr.noise.{m}": f"unicr.noises.{m}" for m in
       ("adapters", "base", "expr", "families", "joint", "mixtures", "numeric", "registry",
        "spec")},
    "unicr.exact.tradeoff": "unicr.neyman_pearson.tradeoff",
    "unicr.exact.lattice": "unicr.neyman_pearson.lattice",
    "unicr.exact.differential": "unicr.bounds.differential",
    "unicr.exact.engine": "unicr.engines.exact",
    "unicr.exact.curves": "unicr.engines.curve_cache",
    "unicr.montecarlo.lr": "unicr.neyman_pearson.sampled",
    "unicr.montecarlo.models": "unicr.neyman_pearson.banks",
    "unicr.montecarlo.kernels": "unicr.neyman_pearson.kernels",
    "unicr.montecarlo.torch_backend": "unicr.neyman_pearson.torch_banks",
    "unicr.montecarlo.scale": "unicr.search.scale",
    "unicr.montecarlo.directions": "unicr.search.directions",
    "unicr.montecarlo.engine": "unicr.engines.montecarlo",
    "unicr.radius": "unicr.certify",
    "unicr.validate": "unicr.validation.verdict",
    "unicr.validate_report": "unicr.validation.report",
    "unicr.curves": "unicr.reporting.curves",
    "unicr.plot": "unicr.reporting.plot",
    "unicr.figures": "unicr.reporting.figures",
    "unicr.optimize.provider": "unicr.smoothing.radii",
}

#: old package (or old module split in several) -> modules whose public names it exported
#: (first match wins)
OLD_PACKAGES: dict[str, tuple[str, ...]] = {
    "unicr.noise": ("unicr.noises",),
    "unicr.exact": ("unicr.engines",),
    # split in two by #13: the lattice test (stage 2) and the scale search (stage 3)
    "unicr.exact.search": ("unicr.search.lattice_scale", "unicr.neyman_pearson.lattice_evaluation"),
    "unicr.montecarlo": ("unicr.engines", "unicr.neyman_pearson.sampled"),
}

#: attributes of the ``unicr`` package that are functions sharing a name with an old module
_FUNCTIONS = frozenset({"noise", "radius", "validate"})


def _warn(old: str, new: str) -> None:
    warnings.warn(f"the import path {old} is deprecated (unicr issue #13) and will be removed "
                  f"in the next release; import from {new}", DeprecationWarning, stacklevel=4)


def _forwarder(old: str, targets: tuple[str, ...]) -> types.ModuleType:
    """A package module named ``old`` whose attributes are looked up in ``targets``."""
    module = types.ModuleType(old, f"Deprecated alias of {', '.join(targets)} (unicr issue #13).")
    module.__path__ = []  # a package, so that old submodule paths resolve

    def __getattr__(name: str) -> Any:
        for target in targets:
            mod = importlib.import_module(target)
            if hasattr(mod, name):
                return getattr(mod, name)
        raise AttributeError(f"module {old!r} has no attribute {name!r}")

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    return module


class _AliasLoader(importlib.abc.Loader):
    """Returns the module that holds the code now; leaves its own ``__spec__`` intact."""

    def __init__(self, old: str) -> None:
        self.old = old
        self._saved_spec: Any = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        if self.old in OLD_PACKAGES:
            _warn(self.old, " or ".join(OLD_PACKAGES[self.old]))
            return _forwarder(self.old, OLD_PACKAGES[self.old])
        new = OLD_MODULES[self.old]
        _warn(self.old, new)
        module = importlib.import_module(new)
        self._saved_spec = module.__spec__
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        # the import system set ``module.__spec__`` to the alias spec: restore the real one
        if self._saved_spec is not None:
            module.__spec__ = self._saved_spec


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None
                  ) -> importlib.machinery.ModuleSpec | None:
        if fullname in OLD_MODULES or fullname in OLD_PACKAGES:
            return importlib.machinery.ModuleSpec(fullname, _AliasLoader(fullname),
                                                  is_package=fullname in OLD_PACKAGES)
        return None


_FINDER = _AliasFinder()


def install() -> None:
    """Put the alias finder on ``sys.meta_path`` (idempotent)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


class _Package(types.ModuleType):
    """The ``unicr`` package: binding a module to a function's name is ignored (module doc)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FUNCTIONS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


def protect_functions(package_name: str = "unicr") -> None:
    """Make ``unicr.noise``, ``unicr.radius`` and ``unicr.validate`` immune to module binding."""
    sys.modules[package_name].__class__ = _Package
