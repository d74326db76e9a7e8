"""Per-input noise optimisation: the cost of radii from cached proven tables vs one engine call per
candidate (UniCR's way).

I-OPT (Hong et al. 2022, Algorithm 3) on a few Fashion-MNIST test images with the Gaussian-trained
CNN of results/fashion-mnist, every mode reported (unicr.optimize.perinput), twice in one process:

* ``RadiusBook``: proven lower-bound tables per noise shape, read in microseconds;
* ``EngineBook(784, method="mc", ...)``: the Monte Carlo engine called for every new
  (candidate noise, pA_lower, norm), as UniCR's code calls UniCR(x, mu) per candidate.

The forward passes are identical (same seeds); the table reports seconds spent sampling and on
radii per image and the ratio of the radius times.  ``--write`` puts the table into
docs/benchmarks.md between the ``optimize`` markers.

    python benchmarks/bench_optimize.py --images 1 --mc-mode estimate --n-mc 20000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _doc import write_section  # noqa: E402

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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--images", type=int, default=1)
    ap.add_argument("--skip", type=int, default=100)
    ap.add_argument("--n-sel", type=int, default=1000)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--alpha", type=float, default=0.001)
    ap.add_argument("--norms", nargs="+", default=["2"])
    ap.add_argument("--mc-mode", default="estimate", choices=("sound", "estimate"))
    ap.add_argument("--n-mc", type=int, default=None)
    ap.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    from unicr.data import load_dataset
    from unicr.models import load_checkpoint
    from unicr.optimize.perinput import Lattice
    from unicr.optimize.provider import EngineBook, RadiusBook

    model, _ = load_checkpoint(ROOT / "results/fashion-mnist/cnn-sigma0.5.pt")
    data = load_dataset("fashion-mnist", "test")
    lattice = Lattice.hill("gennorm", {"sigma": 0.5, "beta": 2}, {"sigma": (0.25, 0.85),
                           "beta": (0.5, 4.5)}, {"sigma": 0.15, "beta": 1}, d=784)
    mc = {"mode": args.mc_mode}
    if args.n_mc:
        mc["n_mc"] = args.n_mc
    rows = {"RadiusBook (tables)": run(RadiusBook(784), model, data, lattice, args.images, args),
            f"EngineBook(mc, {mc})": run(EngineBook(784, method="mc", **mc), model, data,
                                         lattice, args.images, args)}
    k = args.images
    lines = [f"I-OPT per input (gennorm lattice {lattice.size} candidates, n_sel={args.n_sel}, "
             f"n={args.n}, norms {' '.join(args.norms)}, {k} Fashion-MNIST image(s), 1 thread)",
             "", "| radii from | fwd/image | sampling s/image | radii s/image | radius share | "
             "radius requests/image | engine calls/image |", "|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        share = r["radii"] / max(r["radii"] + r["sampling"], 1e-12)
        lines.append(f"| {name} | {r['forward'] / k:,.0f} | {r['sampling'] / k:.2f} | "
                     f"{r['radii'] / k:.4g} | {100 * share:.3g}% | {r['requests'] / k:.1f} | "
                     f"{r['engine_calls'] / k:.1f} |")
    a, b = rows.values()
    lines += ["", f"radius time ratio EngineBook / RadiusBook: {b['radii'] / max(a['radii'], 1e-12):,.0f}x"
              f"; fixed-theta l2 radii: tables {a['radii_l2']}, engine {b['radii_l2']}"]
    body = "\n".join(lines)
    print(body)
    if args.write:
        write_section(ROOT / "docs/benchmarks.md", "optimize", "## Per-input noise optimisation\n\n"
                      + body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
