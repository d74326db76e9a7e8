"""Benchmark of the exact engine: 100-point pA curves (l1, l2, l_inf) per catalogue noise.

Measures, in one process and in CPU time of this process (``time.process_time``, i.e. one
core), the cost of a 100-point curve with lower and upper bounds for l1, l2 and l_inf,
the gap upper/lower of the band per noise and norm, the cost of a cached lookup, and, as
an in-process comparison, the naive baseline (one :func:`radius_exact` call per pA and
norm) on one noise.  Prints its table; with ``--write`` also puts it between
``<!-- exact:begin -->`` and ``<!-- exact:end -->`` in docs/benchmarks.md (other sections are
left alone).

Usage::

    python benchmarks/bench_exact.py [--d 3072 150528] [--noises gaussian laplace ...]
                                     [--write] [--baseline laplace]
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _doc import add_write_argument, write_section  # noqa: E402

from unicr.engines import curve, radius_exact  # noqa: E402
from unicr.engines import curve_cache as curves_mod  # noqa: E402
from unicr.engines import exact as engine_mod  # noqa: E402
from unicr.neyman_pearson import lattice as lattice_mod  # noqa: E402
from unicr.noises.registry import build_builtin  # noqa: E402

#: (label, registry name, parameters, build keyword: sigma=1 or native scale=1)
CATALOGUE = [
    ("gaussian", "gaussian", {}, "sigma"),
    ("laplace", "laplace", {}, "sigma"),
    ("uniform", "uniform", {}, "sigma"),
    ("logistic", "logistic", {}, "sigma"),
    ("hsecant", "hsecant", {}, "sigma"),
    ("gennorm(0.5)", "gennorm", {"beta": 0.5}, "sigma"),
    ("gennorm(1.5)", "gennorm", {"beta": 1.5}, "sigma"),
    ("gennorm(3)", "gennorm", {"beta": 3.0}, "sigma"),
    ("pareto(3)", "pareto", {"a": 3.0}, "sigma"),
    ("student_t(4)", "student_t", {"nu": 4.0}, "sigma"),
    ("cauchy", "cauchy", {}, "scale"),
    ("laplace_gaussian_mix", "laplace_gaussian_mix", {}, "sigma"),
    ("normal_uniform", "normal_uniform", {}, "sigma"),
]
NORMS = [1, 2, "inf"]
PA = np.linspace(0.55, 0.999, 100)


def build(name: str, params: dict, how: str):
    return build_builtin(name, **({"sigma": 1.0} if how == "sigma" else {"scale": 1.0}), **params)


def fresh_state() -> None:
    """Forget every in-memory cache so that each measurement starts cold."""
    engine_mod._MODELS.clear()
    curves_mod._MEM.clear()


def bench_curve(label: str, nz, d: int) -> dict:
    fresh_state()
    t0 = time.process_time()
    w0 = time.perf_counter()
    c = curve(nz, NORMS, d, PA, cache=False)
    cpu = time.process_time() - t0
    wall = time.perf_counter() - w0
    row = {"noise": label, "d": d, "cpu": cpu, "wall": wall}
    for lab in ("1", "2", "inf"):
        lo, up = c.lower[lab], c.upper[lab]
        gap = np.where(lo > 0, up / np.where(lo > 0, lo, 1.0), np.inf)
        row[f"gap_{lab}"] = (float(np.median(gap)), float(np.max(gap)))
    # cached lookup (in-memory arrays, bisect)
    xs = [0.55 + 0.44 * i / 20000 for i in range(20000)]
    best = math.inf
    for _ in range(3):
        t = time.perf_counter()
        for x in xs:
            c.lookup(x, 2)
        best = min(best, (time.perf_counter() - t) / len(xs))
    row["lookup_us"] = best * 1e6
    return row


def bench_baseline(label: str, nz, d: int, n: int = 20) -> dict:
    """Naive baseline: one radius_exact per (pA, norm), on n pA values (scaled to 100)."""
    fresh_state()
    pas = np.linspace(0.55, 0.999, n)
    t0 = time.process_time()
    for pa in pas:
        for p in (1.0, 2.0, math.inf):
            radius_exact(nz, float(pa), None, p, d)
    cpu = (time.process_time() - t0) * 100.0 / n
    return {"noise": label, "d": d, "cpu_per_100": cpu}


def fmt_gap(g: tuple[float, float]) -> str:
    med, mx = g
    if not math.isfinite(mx):
        return "inf"
    return f"{med:.4f} / {mx:.4f}"


def table(rows: list[dict], base: list[dict], warm: float) -> str:
    out = [
        "## Exact engine (`unicr.engines`)",
        "",
        "100-point pA curve (pA = 0.55 ... 0.999) with proven lower and upper bounds for l1, l2 "
        "and l_inf, sigma = 1 (Cauchy: native scale 1), one process, CPU time of that process "
        "(one core), cold caches. Gap = upper/lower, median / max over the curve "
        "(1.0000 = exact). Lookup = one sound read of a cached curve (bisect on in-memory lists).",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}; "
        "shared with other jobs, so wall time can exceed CPU time. One-off cost per process "
        f"(numba loading the compiled chord sweep from its cache), not included: {warm:.2f} s.",
        "",
        "| noise | d | CPU s | wall s | gap l1 | gap l2 | gap l_inf | lookup us |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(f"| {r['noise']} | {r['d']} | {r['cpu']:.2f} | {r['wall']:.2f} | "
                   f"{fmt_gap(r['gap_1'])} | {fmt_gap(r['gap_2'])} | {fmt_gap(r['gap_inf'])} | "
                   f"{r['lookup_us']:.2f} |")
    if base:
        out += ["", "In-process comparison: the naive way (one `radius_exact` per pA and norm, "
                "each with its own scale searches), CPU seconds per 100 pA values, against the "
                "tabulated curve above:", "",
                "| noise | d | naive CPU s / 100 pA | curve CPU s |", "|---|---|---|---|"]
        for b in base:
            cur = next((r["cpu"] for r in rows if r["noise"] == b["noise"] and r["d"] == b["d"]),
                       float("nan"))
            out.append(f"| {b['noise']} | {b['d']} | {b['cpu_per_100']:.2f} | {cur:.2f} |")
    out += ["", "Command: `python benchmarks/bench_exact.py --write` (see `--help`). The gaps are "
            "explained in docs/exact-engine.md: l1 is exact for log-concave noise (differential "
            "method = half-line witness), l2 rests on the Fisher / Gaussian-domination bounds, "
            "l_inf on the composed differential method."]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d", type=int, nargs="+", default=[3072, 150528])
    ap.add_argument("--noises", nargs="+", default=None, help="labels from the catalogue list")
    ap.add_argument("--baseline", nargs="*", default=["laplace"],
                    help="noises for the naive per-pA comparison (at the first d)")
    add_write_argument(ap)
    args = ap.parse_args(argv)
    cat = [c for c in CATALOGUE if args.noises is None or c[0] in args.noises]
    # one-off cost of the process: loading numba's cached machine code for the chord sweep
    t0 = time.process_time()
    lattice_mod.chord_lattice(np.array([-0.1, 0.0, 0.2]), np.array([0.3, 0.4, 0.3]), 0.05, -4, 6)
    warm = time.process_time() - t0
    print(f"one-off numba load: {warm:.2f} CPU s", flush=True)
    rows = []
    for d in args.d:
        for label, name, params, how in cat:
            try:
                nz = build(name, params, how)
            except Exception as e:  # noqa: BLE001 - a family not (yet) in the registry
                print(f"skip {label}: {e}", flush=True)
                continue
            r = bench_curve(label, nz, d)
            rows.append(r)
            print(f"{label:22s} d={d:6d} cpu={r['cpu']:6.2f}s wall={r['wall']:6.2f}s "
                  f"gap l1 {fmt_gap(r['gap_1'])}  l2 {fmt_gap(r['gap_2'])}  "
                  f"linf {fmt_gap(r['gap_inf'])}  lookup {r['lookup_us']:.2f}us", flush=True)
    base = []
    for label in args.baseline or []:
        hit = [c for c in CATALOGUE if c[0] == label]
        if hit:
            _, name, params, how = hit[0]
            b = bench_baseline(label, build(name, params, how), args.d[0])
            base.append(b)
            print(f"baseline {label} d={args.d[0]}: {b['cpu_per_100']:.2f} CPU s per 100 pA",
                  flush=True)
    md = table(rows, base, warm)
    print(md)
    if args.write:
        print(f"wrote {write_section(ROOT / 'docs' / 'benchmarks.md', 'exact', md)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
