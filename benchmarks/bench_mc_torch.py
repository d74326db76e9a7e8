"""Benchmark: the torch backend of the Monte Carlo engine against numpy/numba (unicr issue #4).

One sound radius (``unicr.radius(..., method="mc")``, structured directions) per configuration
with ``backend="numpy"`` and with ``backend="torch"`` on the device (CUDA when present, else
the CPU), for Laplace and Cauchy noise under l_inf and l2 at d = 3072 and d = 150528
(ImageNet), plus a sound bracket along one dense vector direction (``directional_bracket``),
which always goes through the general (coordinate-wise) banks.  Prints a markdown table with
the ratio numpy / torch and, with ``--write``, puts it into docs/benchmarks.md between
``<!-- mc-torch:begin -->`` and ``<!-- mc-torch:end -->`` (appended at the end when absent).

Both backends get the same number of CPU threads (``--threads``, default 1: numba and torch
intra-op).  Numba kernels and torch are warmed up before timing.  Usage::

    python benchmarks/bench_mc_torch.py                   # print the table
    python benchmarks/bench_mc_torch.py --quick           # d = 3072 only
    python benchmarks/bench_mc_torch.py --write           # and update docs/benchmarks.md
"""

from __future__ import annotations

import os
import sys

_THREADS = "1"
for _i, _a in enumerate(sys.argv):
    if _a == "--threads" and _i + 1 < len(sys.argv):
        _THREADS = sys.argv[_i + 1]
    elif _a.startswith("--threads="):
        _THREADS = _a.split("=", 1)[1]
for _v in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_v] = _THREADS

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from _doc import add_write_argument, write_section  # noqa: E402

import unicr  # noqa: E402
from unicr.engines.montecarlo import directional_bracket  # noqa: E402
from unicr.noises.registry import build_builtin  # noqa: E402

#: n_mc per dimension: small enough that a dense direction at d = 150528 finishes in minutes
N_MC = {3072: 10_000, 150528: 2_000}
NOISES = [("laplace", {"sigma": 1.0}), ("cauchy", {"scale": 1.0})]
NORMS = [math.inf, 2.0]


def _fmt(x, digits=4):
    if x is None:
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    return f"{x:.{digits}g}"


def _dense_direction(d: int) -> np.ndarray:
    """A fixed dense vector direction (not k-equal): 1, 0.5, 1, 0.5, ..."""
    u = np.ones(d)
    u[1::2] = 0.5
    return u


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    try:
        out, err = fn(*args, **kwargs), None
    except unicr.UnicrError as e:  # report, do not abort the grid
        out, err = None, f"{type(e).__name__}: {e}"
    return time.perf_counter() - t0, out, err


def warm_up(device: str) -> None:
    for name, kw in NOISES:
        nz = build_builtin(name, **kw)
        for be in ("numpy", "torch"):
            unicr.radius(nz, 0.9, math.inf, 16, method="mc", n_mc=2000, backend=be,
                         device=device if be == "torch" else "cpu")
            directional_bracket(nz, 0.9, None, _dense_direction(16), 16, n_mc=2000, backend=be,
                                device=device if be == "torch" else "cpu")


def run(dims: list[int], device: str, dtype: str) -> list[dict]:
    rows = []
    for d in dims:
        n_mc = N_MC.get(d, 10_000)
        for name, kw in NOISES:
            nz = build_builtin(name, **kw)
            cases = [(f"l_{'inf' if math.isinf(p) else f'{p:g}'}", p) for p in NORMS]
            cases.append(("dense vector", None))
            for label, p in cases:
                row = {"noise": name, "d": d, "what": label, "n_mc": n_mc}
                for be in ("numpy", "torch"):
                    opts = dict(n_mc=n_mc, backend=be, dtype=dtype,
                                device=device if be == "torch" else "cpu")
                    if p is None:
                        t, res, err = _timed(directional_bracket, nz, 0.9, None,
                                             _dense_direction(d), d, **opts)
                        val = None if res is None else res.upper_scale
                    else:
                        t, res, err = _timed(unicr.radius, nz, 0.9, p, d, method="mc", **opts)
                        val = None if res is None else res.upper
                    row[f"{be}_s"] = t
                    row[f"{be}_upper"] = val
                    row[f"{be}_err"] = err
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def table(rows: list[dict]) -> str:
    head = ("| noise | d | statement | n_mc | numpy: time (s) | numpy upper | torch: time (s) "
            "| torch upper | numpy / torch time |\n"
            "|---|---|---|---|---|---|---|---|---|\n")
    lines = []
    for r in rows:
        ratio = r["numpy_s"] / r["torch_s"] if r.get("torch_s") else None
        what = ("radius " + r["what"]) if r["what"] != "dense vector" else \
            "bracket along (1, 0.5, 1, ...), scale"
        lines.append(f"| {r['noise']} | {r['d']} | {what} | {r['n_mc']} | "
                     f"{_fmt(r['numpy_s'], 3)} | {_fmt(r['numpy_upper'])} | "
                     f"{_fmt(r['torch_s'], 3)} | {_fmt(r['torch_upper'])} | {_fmt(ratio, 3)} |")
    return head + "\n".join(lines) + "\n"


def section(rows: list[dict], device: str, dtype: str, threads: str,
            load: tuple[float, float]) -> str:
    dev_name = torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") \
        else (platform.processor() or platform.machine())
    return (
        "## Monte Carlo engine: torch backend (`backend=\"torch\"`)\n\n"
        f"`python benchmarks/bench_mc_torch.py --write`: torch {torch.__version__} on "
        f"`{device}` ({dev_name}) against numpy/numba on the CPU, {threads} CPU thread(s) for "
        f"both (numba and torch intra-op), dtype {dtype}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; wall-clock seconds of one sound call (structured "
        "directions, pA = 0.9, alpha_np = 1e-3), warm caches.  1-minute load average "
        f"{load[0]:.1f} at the start and {load[1]:.1f} at the end (the machine was shared).\n\n"
        "Only the coordinate-wise banks move to torch: Laplace's k-equal directions (every "
        "structured direction) use the exact O(n)-per-scale CPU bank under both backends, so "
        "its radius rows time the same work; the bracket along a dense vector direction "
        "(`directional_bracket`) always runs the coordinate-wise banks.  Uppers differ between "
        "backends by sampling error only (different draws).\n\n"
        + table(rows)
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="d = 3072 only")
    ap.add_argument("--dims", type=int, nargs="*", default=None)
    ap.add_argument("--device", default=None, help="torch device (default: cuda if present)")
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--threads", default=_THREADS, help="CPU threads for numba and torch")
    add_write_argument(ap)
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = ap.parse_args()
    torch.set_num_threads(int(args.threads))
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    dims = args.dims or ([3072] if args.quick else [3072, 150528])
    warm_up(device)
    load0 = os.getloadavg()[0]
    rows = run(dims, device, args.dtype)
    text = section(rows, device, args.dtype, args.threads, (load0, os.getloadavg()[0]))
    print(text)
    if args.write:
        write_section(args.doc, "mc-torch", text)
        print(f"wrote {args.doc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
