"""Noise spec files: one TOML file describes one noise (the ``pdfs/`` catalogue and user files).

A complete user file can be three lines::

    name = "my_noise"
    description = "cubic-exponential noise"
    logpdf = "-abs(x)**3"

and is used by path: ``unicr.noise("my_noise.toml", sigma=0.5)`` (or ``scale=2``).

Format
------
Top-level keys (anything else is an error, with a "did you mean" hint):

``name`` (required)
    registry name, letters/digits/``_``/``-``, starting with a letter.
``aliases``
    list of other names for the catalogue lookup.
``description``, ``source``
    one line each: what the noise is and where it comes from (paper).
``kind``
    ``"product"`` (default: i.i.d. coordinates) or ``"joint"`` (a density on R^d
    that is not a product; must name a ``builtin`` and needs ``d`` at build time).
``logpdf`` *or* ``pdf`` (exactly one, unless ``builtin`` is given)
    the log-density up to an additive constant, or the density up to a factor,
    as an expression in ``x`` (product) or ``r`` (joint: the ``norm`` of the point;
    the symbol ``d`` is the dimension).  Allowed: numbers, ``x``, the declared
    parameters, ``pi``, ``e``, ``inf``, ``+ - * / **``, comparisons (1/0),
    ``where(cond, a, b)`` and the functions of :data:`unicr.noises.expr.FUNCTIONS`.
    The expression describes the law at **native scale 1**; the density does not
    need to be normalised (it is normalised numerically, with an error check).
``scale``
    name of the symbol in the expression that is the native scale (e.g. ``"alpha"``
    in ``-abs(x/alpha)**beta``).  The expression is verified numerically to be a scale
    family in it and the law is built at ``alpha = 1``; ``scale=`` at build time then
    multiplies it.  Without ``scale`` the expression is the law at scale 1 directly.
    The symbol may, but need not, also be declared under ``[params]``.
``symmetric``
    ``true``/``false``: claimed symmetry ``q(x) = q(-x)``; ``true`` is verified.
    Detected numerically when absent.
``builtin``
    registry name of a closed-form class (``"gennorm"``, ``"exp2"`` ...).  The
    noise is then built by that class; ``logpdf`` documents its density and is used
    by the catalogue tests as a cross-check.  ``[params]`` may narrow the class's
    defaults and ranges (the class still validates its own).
``norm``
    joint entries only: the norm ``r`` of the point that the density depends on:
    ``1``, ``2`` or ``"inf"``.

Parameters, one table each::

    [params.beta]
    default = 1.5      # omitted: the parameter is required at build time
    min = 0            # bounds, default -inf / inf
    max = 10
    min_open = true    # whether the bound itself is excluded (default false)
    max_open = false
    integer = false
    doc = "shape"

Every problem is reported as a :class:`~unicr.errors.SpecError` (or its
subclasses :class:`~unicr.errors.ExpressionError`,
:class:`~unicr.errors.NormalisationError`) whose message names the file, the
field and the value: malformed TOML (with the line), unknown keys, missing
``name``/``logpdf``, both ``logpdf`` and ``pdf``, defaults outside their range,
unknown symbols, forbidden constructs, densities that cannot be normalised.
Values out of range at build time raise
:class:`~unicr.errors.InvalidParameterError` naming the file and the parameter.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from unicr.errors import InvalidParameterError, SpecError, UnicrError, UnknownNoiseError
from unicr.noises.base import Noise, Param, resolve_params
from unicr.noises.expr import CONSTANTS, FUNCTIONS, CompiledExpression, compile_expression

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["NoiseSpec", "load_spec", "parse_spec", "TOP_KEYS", "PARAM_KEYS"]

TOP_KEYS = ("name", "aliases", "description", "source", "kind", "builtin", "logpdf", "pdf",
            "scale", "symmetric", "norm", "params")
PARAM_KEYS = ("default", "min", "max", "min_open", "max_open", "integer", "doc")
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")
_IDENT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_NORMS = {"1": "1", "2": "2", "inf": "inf"}


def _fail(msg: str, file: str, fld: str | None = None, value: Any = None) -> SpecError:
    return SpecError(msg, file=file, field=fld, value=value)


def _unknown_keys(keys: Any, known: tuple[str, ...], file: str, where: str) -> None:
    for k in keys:
        if k not in known:
            close = difflib.get_close_matches(str(k), known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise _fail(f"unknown key '{k}'{hint} (allowed: {', '.join(known)})", file,
                        f"{where}{k}")


def _number(value: Any, file: str, fld: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail("must be a number", file, fld, value)
    v = float(value)
    if math.isnan(v):
        raise _fail("must not be NaN", file, fld, value)
    return v


def _string(value: Any, file: str, fld: str) -> str:
    if not isinstance(value, str):
        raise _fail(f"must be a string, got {type(value).__name__}", file, fld, value)
    return value


def _parse_params(raw: Any, file: str) -> tuple[tuple[Param, frozenset[str]], ...]:
    """``[params.NAME]`` tables -> (Param, keys given explicitly) in file order."""
    if not isinstance(raw, dict):
        raise _fail("must be a table of parameter tables ([params.NAME])", file, "params", raw)
    out = []
    for pname, table in raw.items():
        fld = f"params.{pname}"
        if not isinstance(pname, str) or not _IDENT_RE.match(pname) or pname.startswith("__"):
            raise _fail("parameter names must be identifiers (letters, digits, _)", file, fld,
                        pname)
        if pname in FUNCTIONS or pname in CONSTANTS or pname in ("x", "r", "d"):
            raise _fail(f"parameter name '{pname}' is reserved (a function, a constant or a "
                        "variable)", file, fld)
        if not isinstance(table, dict):
            raise _fail("must be a table with keys default/min/max/...", file, fld, table)
        _unknown_keys(table, PARAM_KEYS, file, f"{fld}.")
        low = _number(table["min"], file, f"{fld}.min") if "min" in table else -math.inf
        high = _number(table["max"], file, f"{fld}.max") if "max" in table else math.inf
        for key in ("min_open", "max_open", "integer"):
            if key in table and not isinstance(table[key], bool):
                raise _fail("must be true or false", file, f"{fld}.{key}", table[key])
        low_open = bool(table.get("min_open", False)) or not math.isfinite(low)
        high_open = bool(table.get("max_open", False)) or not math.isfinite(high)
        if low > high or (low == high and (low_open or high_open)):
            raise _fail(f"empty range: min = {low:g} and max = {high:g}", file, fld)
        doc = _string(table.get("doc", ""), file, f"{fld}.doc")
        p = Param(pname, None, low, high, low_open, high_open, bool(table.get("integer", False)),
                  doc)
        if "default" in table:
            dv = _number(table["default"], file, f"{fld}.default")
            try:
                default = p.validate(dv, file)
            except InvalidParameterError:
                raise _fail(f"default {dv:g} is outside the range {p.range_text()}", file,
                            f"{fld}.default") from None
            p = Param(pname, default, low, high, low_open, high_open, p.integer, doc)
        out.append((p, frozenset(table)))
    return tuple(out)


# ---------------------------------------------------------------------------
# the spec
# ---------------------------------------------------------------------------

_TABLE_CACHE: OrderedDict[Any, Any] = OrderedDict()
_TABLE_CACHE_SIZE = 64
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class NoiseSpec:
    """One parsed spec file (see the module docstring for the format)."""

    name: str
    aliases: tuple[str, ...]
    description: str
    source: str
    kind: str
    builtin: str | None
    logpdf: str | None
    scale_param: str | None
    params: tuple[Param, ...]
    path: Path
    pdf: str | None = None
    symmetric: bool | None = None
    norm: str | None = None
    expression: CompiledExpression | None = field(default=None, repr=False, compare=False)
    mtime_ns: int = 0

    @property
    def file(self) -> str:
        return str(self.path)

    @property
    def field_name(self) -> str:
        return "pdf" if self.pdf is not None and self.logpdf is None else "logpdf"

    # -- parameters ----------------------------------------------------------------
    def _values(self, given: dict[str, Any]) -> dict[str, float]:
        # a builtin class validates (and requires) its own parameters
        return resolve_params(self.params, given, f"{self.file} (noise '{self.name}')",
                              require=self.builtin is None)

    # -- building ------------------------------------------------------------------------
    def log_expression(self) -> CompiledExpression | None:
        """The compiled log-density (``log`` taken for a ``pdf`` field)."""
        if self.expression is None:
            return None
        return self.expression.log_of() if self.logpdf is None else self.expression

    def build(self, sigma: float | None = None, scale: float | None = None, d: int | None = None,
              **params: Any) -> Noise:
        """Instantiate the noise at ``sigma`` (per-coordinate RMS) or native ``scale``."""
        values = self._values(params)
        if self.builtin is not None:
            from unicr.noises.base import JointNoise
            from unicr.noises.builtins import build_builtin, builtin_class

            cls = builtin_class(self.builtin)
            is_joint = issubclass(cls, JointNoise)
            if is_joint != (self.kind == "joint"):
                raise _fail(f"builtin '{self.builtin}' is a {'joint' if is_joint else 'product'}"
                            f" noise but the file says kind = '{self.kind}'", self.file, "kind")
            return build_builtin(self.builtin, sigma=sigma, scale=scale, d=d, **values)
        return self._build_numeric(values, sigma, scale)

    def _build_numeric(self, values: dict[str, float], sigma: float | None,
                       scale: float | None) -> Noise:
        from unicr.noises.numeric import NumericNoise, tabulate

        expr = self.log_expression()
        assert expr is not None
        bound = dict(values)
        if self.scale_param is not None:
            self._check_scale_family(expr, values)
            bound[self.scale_param] = 1.0
        f = expr.bind(**bound)
        deriv = expr.derivative()
        df = deriv.bind(**bound) if deriv is not None else None
        key = (self.file, self.mtime_ns, tuple(sorted(values.items())))
        with _cache_lock:
            table = _TABLE_CACHE.get(key)
            if table is not None:
                _TABLE_CACHE.move_to_end(key)
        if table is None:
            table = tabulate(f, symmetric=self.symmetric, origin=self.file,
                             field=self.field_name, kind=self.field_name)
            with _cache_lock:
                _TABLE_CACHE[key] = table
                while len(_TABLE_CACHE) > _TABLE_CACHE_SIZE:
                    _TABLE_CACHE.popitem(last=False)
        definition = {"spec": self.name, self.field_name: expr.text if self.logpdf else self.pdf,
                      "scale_symbol": self.scale_param}
        return NumericNoise(
            f, sigma=sigma, scale=scale, name=self.name, description=self.description,
            source=self.source, symmetric=self.symmetric, dlogpdf1=df,
            origin=self.file, field=self.field_name, kind=self.field_name, params=values,
            param_info=self.params, definition=definition, table=table,
            scale_name=self.scale_param, expression=expr.substitute(**bound))

    def _check_scale_family(self, expr: CompiledExpression, values: dict[str, float]) -> None:
        """Verify ``E(a z; scale=a) - E(z; scale=1)`` is constant in ``z`` (a scale family)."""
        z = np.concatenate([-np.logspace(-3, 3, 61), [0.0], np.logspace(-3, 3, 61)])
        sp = self.scale_param
        base = expr(z, **values, **{sp: 1.0})
        for a in (0.5, 2.0, 3.7):
            other = expr(a * z, **values, **{sp: a})
            fin_b = np.isfinite(base)
            fin_o = np.isfinite(other)
            if np.any(fin_b != fin_o) or np.any(np.isnan(base) != np.isnan(other)):
                k = int(np.argmax(fin_b != fin_o))
                raise _fail(f"the expression is not a scale family in '{sp}': at {sp} = {a:g} "
                            f"the support differs (x = {a * z[k]:.4g})", self.file, "scale", sp)
            if not np.any(fin_b):
                return
            diff = other[fin_b] - base[fin_b]
            tol = 1e-8 * (1.0 + float(np.max(np.abs(base[fin_b]))))
            if float(np.max(diff) - np.min(diff)) > tol:
                k = int(np.argmax(np.abs(diff - diff[0])))
                raise _fail(
                    f"the expression is not a scale family in '{sp}': log q(a x; {sp}=a) - "
                    f"log q(x; {sp}=1) is not constant in x (a = {a:g}, x = "
                    f"{z[fin_b][k]:.4g}); declare '{sp}' as an ordinary parameter instead",
                    self.file, "scale", sp)

    # -- display ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able description (infinite bounds as ``None``) for ``unicr pdfs list --json``."""

        def fin(v: float) -> float | None:
            return float(v) if math.isfinite(v) else None

        return {
            "name": self.name,
            "aliases": list(self.aliases),
            "description": self.description,
            "source": self.source,
            "kind": self.kind,
            "builtin": self.builtin,
            "logpdf": self.logpdf,
            "pdf": self.pdf,
            "scale_param": self.scale_param,
            "symmetric": self.symmetric,
            "norm": self.norm,
            "params": [
                {"name": p.name, "default": p.default, "min": fin(p.low), "max": fin(p.high),
                 "min_open": p.low_open, "max_open": p.high_open, "integer": p.integer,
                 "doc": p.doc}
                for p in self.params
            ],
            "path": str(self.path),
        }


# ---------------------------------------------------------------------------
# parsing
# ---------------------------------------------------------------------------


def _merge_builtin_params(builtin: str, declared: tuple[tuple[Param, frozenset[str]], ...],
                          kind: str, file: str) -> tuple[Param, ...]:
    """The class's parameters with the keys the file gives replaced (declared only if no class)."""
    from unicr.noises.base import JointNoise
    from unicr.noises.builtins import builtin_class

    try:
        cls = builtin_class(builtin)
    except UnknownNoiseError:
        return tuple(p for p, _ in declared)
    is_joint = issubclass(cls, JointNoise)
    if is_joint != (kind == "joint"):
        raise _fail(f"builtin '{builtin}' is a {'joint' if is_joint else 'product'} noise; set "
                    f"kind = \"{'joint' if is_joint else 'product'}\"", file, "kind", kind)
    own = {p.name: p for p in cls.param_info}
    by_name = {p.name: (p, keys) for p, keys in declared}
    for pname in by_name:
        if pname not in own:
            raise _fail(f"builtin '{builtin}' has no parameter '{pname}' (it takes: "
                        f"{', '.join(own) or 'none'})", file, f"params.{pname}")
    merged = []
    for cp in cls.param_info:
        if cp.name not in by_name:
            merged.append(cp)
            continue
        fp, keys = by_name[cp.name]
        low = fp.low if "min" in keys else cp.low
        high = fp.high if "max" in keys else cp.high
        low_open = fp.low_open if ("min" in keys or "min_open" in keys) else cp.low_open
        high_open = fp.high_open if ("max" in keys or "max_open" in keys) else cp.high_open
        mp = Param(cp.name, None, low, high, low_open, high_open,
                   fp.integer if "integer" in keys else cp.integer,
                   fp.doc if "doc" in keys else cp.doc)
        default = fp.default if "default" in keys else cp.default
        if default is not None:
            try:
                mp.validate(default, file)
            except InvalidParameterError:
                raise _fail(f"default {default:g} is outside the range {mp.range_text()}", file,
                            f"params.{cp.name}.default") from None
        merged.append(Param(mp.name, default, mp.low, mp.high, mp.low_open, mp.high_open,
                            mp.integer, mp.doc))
    return tuple(merged)


def parse_spec(data: dict[str, Any], path: str | os.PathLike[str], mtime_ns: int = 0) -> NoiseSpec:
    """Validate the parsed TOML ``data`` of ``path`` into a :class:`NoiseSpec`."""
    file = str(path)
    _unknown_keys(data, TOP_KEYS, file, "")
    if "name" not in data:
        raise _fail("missing required key 'name'", file, "name")
    name = _string(data["name"], file, "name")
    if not _NAME_RE.match(name):
        raise _fail("must start with a letter and contain only letters, digits, '_' and '-'",
                    file, "name", name)
    aliases_raw = data.get("aliases", [])
    if not isinstance(aliases_raw, list) or not all(isinstance(a, str) for a in aliases_raw):
        raise _fail("must be a list of strings", file, "aliases", aliases_raw)
    for a in aliases_raw:
        if not _NAME_RE.match(a):
            raise _fail("aliases must look like names", file, "aliases", a)
    description = _string(data.get("description", ""), file, "description")
    source = _string(data.get("source", ""), file, "source")
    kind = _string(data.get("kind", "product"), file, "kind")
    if kind not in ("product", "joint"):
        raise _fail("must be \"product\" or \"joint\"", file, "kind", kind)
    builtin = data.get("builtin")
    if builtin is not None:
        builtin = _string(builtin, file, "builtin")
    logpdf = data.get("logpdf")
    pdf = data.get("pdf")
    if logpdf is not None:
        logpdf = _string(logpdf, file, "logpdf")
    if pdf is not None:
        pdf = _string(pdf, file, "pdf")
    if logpdf is not None and pdf is not None:
        raise _fail("give either 'logpdf' or 'pdf', not both", file, "pdf")
    if builtin is None and logpdf is None and pdf is None:
        raise _fail("missing 'logpdf' (the log-density expression, e.g. logpdf = \"-abs(x)**3\")"
                    " or 'pdf'", file, "logpdf")
    if kind == "joint" and builtin is None:
        raise _fail("a joint (non-product) noise must name a builtin class (uniform_ball, exp2, "
                    "expinf, exp1, pow2)", file, "builtin")
    symmetric = data.get("symmetric")
    if symmetric is not None and not isinstance(symmetric, bool):
        raise _fail("must be true or false", file, "symmetric", symmetric)
    norm = None
    if "norm" in data:
        if kind != "joint":
            raise _fail("only joint noises have a 'norm'", file, "norm", data["norm"])
        norm = _NORMS.get(str(data["norm"]).lower())
        if norm is None or isinstance(data["norm"], bool):
            raise _fail("must be 1, 2 or \"inf\"", file, "norm", data["norm"])
    declared = _parse_params(data.get("params", {}), file)
    scale_param = data.get("scale")
    if scale_param is not None:
        scale_param = _string(scale_param, file, "scale")
        if not _IDENT_RE.match(scale_param) or scale_param in FUNCTIONS or \
                scale_param in CONSTANTS or scale_param in ("x", "r", "d"):
            raise _fail("must be the name of a symbol of the expression (e.g. \"alpha\")", file,
                        "scale", scale_param)
        declared = tuple((p, k) for p, k in declared if p.name != scale_param)
    if builtin is not None:
        params = _merge_builtin_params(builtin, declared, kind, file)
    else:
        params = tuple(p for p, _ in declared)
    expression = None
    text = logpdf if logpdf is not None else pdf
    if text is not None:
        fld = "logpdf" if logpdf is not None else "pdf"
        symbols = [p.name for p in params]
        if scale_param is not None:
            symbols.append(scale_param)
        if kind == "joint":
            symbols.append("d")
        expression = compile_expression(text, variable="r" if kind == "joint" else "x",
                                        params=symbols, file=file, field=fld)
        if scale_param is not None and scale_param not in expression.symbols:
            raise _fail(f"the scale symbol '{scale_param}' does not appear in the {fld} "
                        "expression", file, "scale", scale_param)
    return NoiseSpec(name=name, aliases=tuple(aliases_raw), description=description,
                     source=source, kind=kind, builtin=builtin, logpdf=logpdf,
                     scale_param=scale_param, params=params, path=Path(path), pdf=pdf,
                     symmetric=symmetric, norm=norm, expression=expression, mtime_ns=mtime_ns)


_SPEC_CACHE: dict[tuple[str, int], NoiseSpec] = {}


#: largest spec file read (the catalogue's files are < 1 kB)
_MAX_SPEC_BYTES = 1 << 20


def load_spec(path: str | os.PathLike[str]) -> NoiseSpec:
    """Read and validate a spec file; cached by (resolved path, modification time)."""
    p = Path(path).expanduser()
    try:
        resolved = p.resolve()
        st = resolved.stat()
    except OSError:
        raise UnknownNoiseError(f"noise spec file {str(p)!r} does not exist") from None
    if not resolved.is_file():
        raise UnknownNoiseError(f"noise spec file {str(p)!r} is not a file")
    key = (str(resolved), st.st_mtime_ns)
    cached = _SPEC_CACHE.get(key)
    if cached is not None:
        return cached
    try:
        with open(resolved, "rb") as fh:
            raw = fh.read(_MAX_SPEC_BYTES + 1)
        if len(raw) > _MAX_SPEC_BYTES:
            raise SpecError(f"the file is larger than {_MAX_SPEC_BYTES} bytes; a noise spec is a "
                            "few lines of TOML", file=str(p))
        data = tomllib.loads(raw.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"invalid TOML: {exc}", file=str(p)) from None
    except RecursionError:
        # tomllib parses nested arrays/tables recursively (x = [[[[...]]]] 10000 deep)
        raise SpecError("invalid TOML: arrays or inline tables nested too deeply",
                        file=str(p)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read the file: {exc}", file=str(p)) from None
    try:
        spec = parse_spec(data, p, st.st_mtime_ns)
    except UnicrError:
        raise
    except RecursionError:  # pragma: no cover - defensive
        raise SpecError("the file is too deeply nested", file=str(p)) from None
    _SPEC_CACHE[key] = spec
    return spec

