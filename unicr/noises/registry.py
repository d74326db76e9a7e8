"""Name -> noise: built-in classes, the ``pdfs/`` catalogue, user spec files and adapters.

``noise(name_or_path, sigma=None, **params)`` is the single entry point used by
the library, the engines and the command line:

* a registered built-in name or alias (``"gaussian"``, ``"gennorm"`` ...);
* a catalogue entry of ``pdfs/`` (the TOML files shipped in the wheel);
* a path to a user TOML spec file;
* a frozen ``scipy.stats`` continuous distribution;
* a Python callable ``logpdf(x)`` (1-D, vectorised);
* an already built :class:`~unicr.noises.base.Noise` (returned unchanged).
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

from unicr.errors import InvalidParameterError, UnknownNoiseError
from unicr.noises.base import Noise
from unicr.noises.builtins import (
    build_builtin,
    builtin_class,
    builtin_names,
    canonical_name,
    register,
    resolve_alias,
)

__all__ = ["register", "builtin_names", "builtin_class", "build_builtin", "pdfs_dir",
           "catalogue", "noise"]


def pdfs_dir() -> Path:
    """Folder of the shipped catalogue: ``unicr/pdfs`` in a wheel, ``pdfs/`` in a source tree."""
    here = Path(__file__).resolve().parent.parent  # .../unicr
    installed = here / "pdfs"
    if installed.is_dir():
        return installed
    source = here.parent / "pdfs"
    if source.is_dir():
        return source
    raise UnknownNoiseError(
        f"the noise catalogue was not found (looked in {installed} and {source}); "
        "reinstall unicr"
    )


def catalogue() -> list[Any]:
    """All catalogue entries (parsed ``pdfs/*.toml`` specs), sorted by name."""
    from unicr.noises.spec import load_spec

    specs = [load_spec(p) for p in sorted(pdfs_dir().glob("*.toml"))]
    return sorted(specs, key=lambda s: s.name)


def _catalogue_lookup(name: str) -> Any | None:
    key = canonical_name(name)
    for spec in catalogue():
        if key == canonical_name(spec.name) or key in {canonical_name(a) for a in spec.aliases}:
            return spec
    return None


def _looks_like_path(s: str) -> bool:
    return s.endswith(".toml") or os.sep in s or "/" in s or Path(s).is_file()


def noise(name_or_path: Any, sigma: float | None = None, scale: float | None = None,
          d: int | None = None, **params: Any) -> Noise:
    """Build a noise from a name, a spec file, a scipy distribution or a callable.

    Parameters
    ----------
    name_or_path:
        registered name or alias, catalogue name, path to a ``.toml`` spec, a frozen
        ``scipy.stats`` continuous distribution, a vectorised callable ``logpdf(x)``,
        or a :class:`Noise` (returned unchanged).
    sigma:
        per-coordinate RMS (default 1 where the variance is finite).
    scale:
        native scale instead of ``sigma``.
    d:
        dimension, required for joint (non-product) noises and ignored otherwise.
    **params:
        shape parameters of the family (``beta=1.5``, ``a=3`` ...).

    Examples
    --------
    >>> import unicr
    >>> unicr.noise("gaussian", sigma=0.5).std()
    0.5
    >>> unicr.noise("gennorm", beta=1.5).sigma
    1.0
    """
    if isinstance(name_or_path, Noise):
        if sigma is not None or scale is not None or params:
            raise InvalidParameterError(
                "noise(): got an already built noise together with sigma/scale/params; "
                "use .with_sigma() or build it from its name"
            )
        return name_or_path
    if not isinstance(name_or_path, (str, os.PathLike)):
        from unicr.noises import adapters

        if adapters.is_scipy_frozen(name_or_path):
            if params or d is not None:
                raise InvalidParameterError(
                    "noise(): a frozen scipy distribution carries its own parameters; "
                    f"got extra {', '.join(sorted(params)) or 'd'}"
                )
            return adapters.ScipyNoise(name_or_path, sigma=sigma, scale=scale)
        if callable(name_or_path):
            return adapters.CallableNoise(name_or_path, sigma=sigma, scale=scale, **params)
        raise UnknownNoiseError(
            f"noise(): cannot build a noise from {type(name_or_path).__name__}; give a name, "
            "a .toml path, a frozen scipy.stats distribution or a logpdf callable"
        )
    text = os.fspath(name_or_path)
    if _looks_like_path(text):
        from unicr.noises.spec import load_spec

        return load_spec(text).build(sigma=sigma, scale=scale, d=d, **params)
    spec = _catalogue_lookup(text)
    if spec is not None:
        return spec.build(sigma=sigma, scale=scale, d=d, **params)
    key = resolve_alias(text)
    if key is not None:
        return build_builtin(key, sigma=sigma, scale=scale, d=d, **params)
    known = sorted(set(builtin_names()) | {s.name for s in catalogue()})
    close = difflib.get_close_matches(canonical_name(text), known, n=3)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise UnknownNoiseError(
        f"unknown noise {text!r}.{hint} Known noises: {', '.join(known)}; "
        "or give the path of a .toml spec file"
    )


