"""Argument helpers shared by the sub-commands: noise options, ``--param k=v``, JSON output."""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from unicr.errors import InvalidParameterError
from unicr.noises.base import Noise
from unicr.noises.registry import noise as make_noise
from unicr.reporting.jsonable import to_jsonable


def parse_param(text: str) -> tuple[str, float]:
    """``"beta=1.5"`` -> ``("beta", 1.5)``; errors name the bad argument."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--param expects NAME=VALUE, got {text!r}")
    key, _, val = text.partition("=")
    key = key.strip()
    if not key.isidentifier():
        raise argparse.ArgumentTypeError(f"--param: {key!r} is not a parameter name")
    try:
        num = float(val)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--param {key}: {val!r} is not a number") from None
    if not math.isfinite(num):
        raise argparse.ArgumentTypeError(f"--param {key}: {val!r} is not a finite number")
    return key, num


def add_noise_arguments(parser: argparse.ArgumentParser, *, positional: bool = True,
                        with_d: bool = False) -> None:
    """NOISE (name or .toml path), --param k=v (repeatable), --sigma, --scale [, --d]."""
    if positional:
        parser.add_argument("noise", metavar="NOISE",
                            help="catalogue name (see `unicr pdfs list`) or path to a .toml spec")
    parser.add_argument("--param", dest="params", action="append", default=[], type=parse_param,
                        metavar="NAME=VALUE", help="noise shape parameter (repeatable)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--sigma", type=positive_float, default=None,
                       help="per-coordinate RMS of the noise (default 1 where finite)")
    group.add_argument("--scale", type=positive_float, default=None,
                       help="native scale of the family instead of --sigma")
    if with_d:
        parser.add_argument("--d", type=positive_int, default=None,
                            help="input dimension (required for joint noises)")


def noise_from_args(args: argparse.Namespace, name: str | None = None,
                    d: int | None = None) -> Noise:
    params = dict(args.params)
    dim = d if d is not None else getattr(args, "d", None)
    return make_noise(name if name is not None else args.noise, sigma=args.sigma,
                      scale=args.scale, d=dim, **params)


def add_mc_arguments(parser: argparse.ArgumentParser, title: str = "Monte Carlo engine (--method mc)",
                     alpha_help: str = "failure probability spent on the Neyman-Pearson estimates"
                     ) -> None:
    """Options of the Monte Carlo engine (``--mode --n-mc --alpha-np --seed --directions
    --pso-topology --device --backend``)."""
    mc = parser.add_argument_group(title)
    mc.add_argument("--mode", choices=("sound", "estimate"), default=None,
                    help="sound (DKW confidence, default) or estimate (UniCR's point estimate)")
    mc.add_argument("--n-mc", type=positive_int, default=None, help="Monte Carlo sample size")
    mc.add_argument("--alpha-np", type=probability, default=None, help=alpha_help)
    mc.add_argument("--seed", type=nonnegative_int, default=None, help="random seed")
    mc.add_argument("--directions", choices=("structured", "pso", "both"), default=None,
                    help="direction search")
    mc.add_argument("--pso-topology", choices=("nested", "global"), default=None,
                    help="particle swarm of --directions pso/both: nested (default; the best "
                         "direction's search cost never gets worse with more particles or "
                         "iterations) or global (pyswarms GlobalBestPSO, UniCR's published "
                         "setting)")
    mc.add_argument("--device", default=None,
                    help="where the coordinate-wise Monte Carlo banks run: cpu, cuda, cuda:N "
                         "(default: CUDA when present, else the CPU)")
    mc.add_argument("--backend", choices=("auto", "numpy", "torch"), default=None,
                    help="auto (default: torch on a CUDA device, numpy/numba on the CPU), numpy "
                         "or torch (on any device, the CPU too)")


def mc_kwargs(args: argparse.Namespace) -> dict[str, object]:
    """The Monte Carlo options the user actually gave, as keyword arguments of the engine."""
    kw: dict[str, object] = {}
    for name in ("mode", "n_mc", "alpha_np", "seed", "directions", "pso_topology", "device",
                 "backend"):
        v = getattr(args, name, None)
        if v is not None:
            kw[name] = v
    return kw


def command_options(parser: argparse.ArgumentParser, argv_command: Sequence[str]
                    ) -> dict[str, str]:
    """``{dest: "--option"}`` of the (sub-)command named by ``argv_command`` (e.g. ``["pdfs",
    "show"]``), for :func:`cli_spelling`."""
    p = parser
    for name in argv_command:
        subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or name not in subs[0].choices:
            break
        p = subs[0].choices[name]
    out: dict[str, str] = {}
    for action in p._actions:
        longs = [o for o in action.option_strings if o.startswith("--")]
        if longs and action.dest not in out:
            out[action.dest] = longs[0]
    if "method" not in out and "radius_method" in out:  # certify's name for the engine
        out["method"] = out["radius_method"]
    return out


_CALL = re.compile(r"(?:unicr\.)?\w+\(\.\.\.,\s*([^()]*)\)")
_KWARG = re.compile(r"\b([a-z][a-z0-9_]*)=(['\"]?)([^'\",;:()\s]+)\2")


def cli_spelling(message: str, options: dict[str, str]) -> str:
    """A library message in the spelling of the command line: ``unicr.radius(..., method='mc')``
    and ``method='mc'`` become ``--method mc``, ``n_mc`` becomes ``--n-mc``.  Only names that
    are options of the command (``options``, from :func:`command_options`) are rewritten."""
    def kwarg(m: re.Match[str]) -> str:
        opt = options.get(m.group(1))
        return f"{opt} {m.group(3)}" if opt else m.group(0)

    def quoted(m: re.Match[str]) -> str:
        # outside a call only quoted values (method='mc') are suggestions to rewrite; bare
        # ``d=1`` or ``sigma=1`` are values quoted in the message (a repr, a context list)
        return kwarg(m) if m.group(2) else m.group(0)

    def call(m: re.Match[str]) -> str:
        inner = m.group(1).strip()
        return _KWARG.sub(kwarg, inner) if _KWARG.fullmatch(inner) else m.group(0)

    text = _CALL.sub(call, message)
    text = _KWARG.sub(quoted, text)
    for dest, opt in options.items():
        if "_" in dest:
            text = re.sub(rf"(?<![-\w']){re.escape(dest)}(?![\w=])", opt, text)
    return text


def add_table_argument(parser: Any, what: str = "the numbers") -> None:
    """``--table md|latex|csv``: print ``what`` as a table for a paper instead of the text
    summary (:mod:`unicr.reporting.tables`; print it with :func:`print_table`)."""
    from unicr.reporting.tables import FORMATS

    parser.add_argument("--table", choices=FORMATS, default=None,
                        help=f"print {what} as a Markdown, LaTeX (booktabs) or CSV table")


def add_quiet_argument(parser: Any) -> None:
    """``-q/--quiet``: no progress on stderr (:func:`unicr.reporting.progress.progress`)."""
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def print_table(table: Any, fmt: str) -> None:
    """A :class:`~unicr.reporting.tables.Table` on stdout in ``fmt`` ("md", "latex", "csv")."""
    from unicr.reporting.tables import render

    sys.stdout.write(render(table, fmt))


def print_json(obj: Any) -> None:
    json.dump(to_jsonable(obj), sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def _int_at_least(text: str, low: int, what: str) -> int:
    """argparse type: an integer >= ``low`` (``what`` names it in the message)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if v < low:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return v


def positive_int(text: str) -> int:
    return _int_at_least(text, 1, "a positive integer")


def probability(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a probability, got {text!r}") from None
    if not (0.0 < v < 1.0):
        raise argparse.ArgumentTypeError(f"expected a probability strictly between 0 and 1, got {text!r}")
    return v


def fmt(x: float | None, digits: int = 6) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{digits}g}"


def require(cond: bool, message: str) -> None:
    if not cond:
        raise InvalidParameterError(message)


#: input dimension of `radius`, `curve` and `validate` when --d is not given: 3x32x32
#: (CIFAR-10), the setting of the UniCR paper's figures
DEFAULT_D = 3072
D_HELP = (f"input dimension (default {DEFAULT_D} = 3x32x32, CIFAR-10; the radius depends on "
          "it for every norm but l_2 with Gaussian noise)")

#: figure formats every command that draws accepts (matplotlib's Agg, PDF and SVG backends)
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def check_output(path: str | os.PathLike[str] | None, option: str, *, kind: str = "file",
                 suffixes: Iterable[str] | None = None, what: str = "file type") -> Path | None:
    """Check an output path before any work; return it as a :class:`~pathlib.Path`.

    The one policy of every command: a missing parent folder is **created** (here, so that
    the check is real), the path must not be a directory (``kind="file"``) or must be one or
    not exist (``kind="dir"``), its suffix must be one of ``suffixes`` (when given, case
    insensitive) and the folder must accept a new file: a temporary file is created in it
    and removed, which is the only test that also holds for root, read-only mounts and
    pseudo file systems such as ``/proc``.  An existing file must be writable.  Anything
    else raises :class:`~unicr.errors.InvalidParameterError` naming ``option`` and the path
    (``what`` names the kind of file in the message about a wrong suffix).
    ``None`` (option not given) is returned unchanged.
    """
    if path is None:
        return None
    text = os.fspath(path)
    if text.strip() == "":
        raise InvalidParameterError(f"{option}: empty path")
    try:
        return _check_output(text, option, kind, suffixes, what)
    except InvalidParameterError:
        raise
    except (OSError, ValueError) as exc:  # a name too long, an embedded NUL, ...
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InvalidParameterError(f"{option} {text[:80]}: unusable path ({reason})") from None


def _check_output(text: str, option: str, kind: str, suffixes: Iterable[str] | None,
                  what: str) -> Path:
    out = Path(text).expanduser()
    if kind not in ("file", "dir"):
        raise ValueError(f"kind must be 'file' or 'dir', got {kind!r}")
    if kind == "file" and out.is_dir():
        raise InvalidParameterError(f"{option} {text} is a directory, not a file")
    if suffixes is not None:
        allowed = tuple(s.lower() for s in suffixes)
        if out.suffix.lower() not in allowed:
            raise InvalidParameterError(
                f"{option} {text}: unsupported {what} {out.suffix or '(no suffix)'!r}; use "
                f"one of {', '.join(allowed)}")
    if kind == "dir" and out.exists() and not out.is_dir():
        raise InvalidParameterError(f"{option} {text} exists and is not a folder")
    folder = out if kind == "dir" else out.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidParameterError(
            f"{option} {text}: cannot create the folder {folder} ({exc.strerror or exc})"
        ) from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".unicr-write-test-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InvalidParameterError(
            f"{option} {text}: cannot create a file in the folder {folder} ({exc.strerror or exc})"
        ) from None
    if kind == "file" and out.exists():
        try:
            with open(out, "ab"):
                pass
        except OSError as exc:
            raise InvalidParameterError(
                f"{option} {text}: the file is not writable ({exc.strerror or exc})") from None
    return out


def check_figure(path: str | os.PathLike[str] | None, option: str) -> Path | None:
    """:func:`check_output` for a figure: one of :data:`FIGURE_SUFFIXES`."""
    return check_output(path, option, suffixes=FIGURE_SUFFIXES, what="figure format")


def finite_float(text: str) -> float:
    """argparse type: any finite real number (no nan, no inf)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return v


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    v = finite_float(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return v


def nonnegative_float(text: str) -> float:
    """argparse type: a finite number >= 0."""
    v = finite_float(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return v


def nonnegative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _int_at_least(text, 0, "an integer >= 0")


def load_model_and_data(args: argparse.Namespace) -> tuple[Any, Any, dict[str, Any], int]:
    """``(model, data set, header meta, d)`` from ``--model``, ``--data``, ``--split``,
    ``--data-dir`` and ``--device`` (default cpu), refusing a data set whose inputs do not fit
    the model.  ``meta`` identifies the checkpoint (architecture and file SHA-256)."""
    from unicr.data import load_dataset
    from unicr.models import load_checkpoint
    from unicr.smoothing.sampling import resolve_device

    device = resolve_device(args.device or "cpu")
    model, info = load_checkpoint(args.model, device=device)
    data = load_dataset(args.data, args.split, args.data_dir)
    if tuple(data.input_shape) != tuple(model.input_shape):
        raise InvalidParameterError(
            f"--data {args.data} has inputs of shape {tuple(data.input_shape)}, but the model "
            f"{args.model} ({info['arch']}) expects {tuple(model.input_shape)}")
    d = 1
    for s in model.input_shape:
        d *= int(s)
    return model, data, {"model": {"arch": info["arch"], "sha256": file_sha256(args.model)}}, d


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file (identity of a checkpoint in results headers)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
