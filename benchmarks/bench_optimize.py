"""Per-input noise optimisation: the cost of radii from cached proven tables vs one engine call per
candidate (UniCR's way).

I-OPT (Hong et al. 2022, Algorithm 3) on a few Fashion-MNIST test images with the Gaussian-trained
CNN of results/fashion-mnist, every mode reported (unicr.optimize.perinput), twice in one process:

* ``RadiusBook``: proven lower-bound tables per noise shape, read in microseconds;
* ``EngineBook(784, method="mc", ...)``: the Monte Carlo engine called for every new
  (candidate noise, pA_lower, norm), as UniCR's code calls UniCR(x, mu) per candidate, by
  default in UniCR's published setting (point estimates; :data:`PUBLISHED`).

The forward passes are identical (same seeds); the table reports seconds spent sampling and on
radii per image and the ratio of the radius times.  ``--write`` puts the table into
docs/benchmarks.md between the ``optimize`` markers.

    python benchmarks/bench_optimize.py [--images 2] [--mc published|sound] [--write]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _doc import add_write_argument, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def run(book, model, data, lattice, images: int, args) -> dict:
    from unicr.optimize.perinput import PerInputCertifier

    cert = PerInputCertifier(model, lattice, n_sel=args.n_sel, n=args.n, alpha=args.alpha,
                             norms=args.norms, search="hill", book=book)
    t0 = time.perf_counter()
    outs = []
    for k in range(images):
        i = k * args.skip
        x, _ = data[i]
        outs.append(cert.certify(x, (0, i)))
    wall = time.perf_counter() - t0
    st = book.stats.to_dict()
    return {"wall": wall, "sampling": cert.sampling_seconds, "radii": st["seconds"],
            "forward": cert.forward_passes, "requests": st["lookups"] + st["engine_calls"],
            "engine_calls": st["engine_calls"], "builds": st["builds"] + st["loads"],
            "radii_l2": [o.modes["fixed-theta"].radii.get(2.0) for o in outs]}


#: UniCR's published setting of the Monte Carlo engine (as in benchmarks/bench_mc.py): plug-in
#: quantiles from 2,000 samples, PSO with 10 particles x 3 iterations, no reduction
PUBLISHED = {"mode": "estimate", "n_mc": 2000, "directions": "pso", "particles": 10,
             "iterations": 3, "reduction": False}
#: the sound Monte Carlo engine at its defaults (n_mc = 1e5, structured directions)
SOUND = {"mode": "sound"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--images", type=int, default=2)
    ap.add_argument("--skip", type=int, default=100)
    ap.add_argument("--n-sel", type=int, default=1000)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--alpha", type=float, default=0.001)
    ap.add_argument("--norms", nargs="+", default=["2"])
    ap.add_argument("--mc", default="published", choices=("published", "sound"),
                    help="Monte Carlo setting of the baseline: UniCR's published estimate "
                         "(default) or the sound engine")
    add_write_argument(ap)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    import os
    import tempfile

    os.environ["UNICR_CACHE_DIR"] = tempfile.mkdtemp(prefix="unicr-bench-opt-")  # cold tables
    from unicr.data import load_dataset
    from unicr.models import load_checkpoint
    from unicr.optimize.perinput import Lattice
    from unicr.smoothing.radii import EngineBook, RadiusBook

    model, _ = load_checkpoint(ROOT / "results/fashion-mnist/cnn-sigma0.5.pt")
    data = load_dataset("fashion-mnist", "test")
    lattice = Lattice.hill("gennorm", {"sigma": 0.5, "beta": 2}, {"sigma": (0.25, 0.85),
                           "beta": (0.5, 4.5)}, {"sigma": 0.15, "beta": 1}, d=784)
    mc = dict(PUBLISHED if args.mc == "published" else SOUND)
    value = "estimate" if args.mc == "published" else "lower"
    ours = run(RadiusBook(784), model, data, lattice, args.images, args)
    base = run(EngineBook(784, method="mc", value=value, **mc), model, data, lattice,
               args.images, args)
    k = args.images
    what = (f"UniCR's published setting ({value}: {mc})" if args.mc == "published"
            else f"sound Monte Carlo ({value}: {mc})")
    lines = [f"I-OPT per input (UniCR Algorithm 3, every reporting mode): gennorm lattice of "
             f"{lattice.size} candidates, n_sel = {args.n_sel}, n = {args.n}, norms "
             f"{' '.join(args.norms)}, {k} Fashion-MNIST test image(s) (every {args.skip}th), "
             f"the Gaussian-trained CNN of results/fashion-mnist, one thread, {platform()}. "
             "Tables start cold (a fresh cache folder): their builds are included.",
             "", "| radii from | fwd/image | sampling s/image | radii s/image | radius share | "
             "radius requests/image | engine calls/image |", "|---|---|---|---|---|---|---|"]
    for name, r in (("RadiusBook (cached proven tables)", ours),
                    (f"EngineBook: Monte Carlo engine per request, {what}", base)):
        share = r["radii"] / max(r["radii"] + r["sampling"], 1e-12)
        lines.append(f"| {name} | {r['forward'] / k:,.0f} | {r['sampling'] / k:.2f} | "
                     f"{r['radii'] / k:.4g} | {100 * share:.3g}% | {r['requests'] / k:.1f} | "
                     f"{r['engine_calls'] / k:.1f} |")
    lines += ["", f"Radius time, engine per request / tables: "
              f"**{base['radii'] / max(ours['radii'], 1e-12):,.0f}x**. Fixed-theta l2 radii per "
              f"image: tables (proven lower bounds) {fmt(ours['radii_l2'])}; engine "
              f"({value}) {fmt(base['radii_l2'])}.",
              "", f"Command: `python benchmarks/bench_optimize.py --images {k} --mc {args.mc}"
              + (" --write`" if args.write else "`")]
    body = "\n".join(lines)
    print(body)
    if args.write:
        write_section(ROOT / "docs/benchmarks.md", "optimize", "## Per-input noise optimisation\n\n"
                      + body)
    return 0


def fmt(values: list) -> str:
    return ", ".join("abstain" if v is None else f"{v:.4f}" for v in values)


def platform() -> str:
    import platform as pf

    return f"{pf.machine()}, Python {pf.python_version()}, torch {torch.__version__}"


if __name__ == "__main__":
    raise SystemExit(main())
