"""Print the Markdown tables of docs/results-copt-fashion-mnist.md from summary.json and timing.json.

Usage: python results/fashion-mnist-copt/tables.py   (reads the files next to this script)
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
NORMS = {"1": "l1", "2": "l2", "inf": "l_inf"}


def main() -> None:
    s = json.loads((HERE / "summary.json").read_text())
    t = json.loads((HERE / "timing.json").read_text())
    norms = list(s["winners"])
    best = {nl: max(sh["r_score"][nl] for sh in s["shapes"]) for nl in norms}
    print("Validation R_score (UniCR Eq. 5 over sigma in "
          f"{{{', '.join(f'{x:g}' for x in s['plan']['sigmas'])}}}); best per norm in bold\n")
    print("| beta | " + " | ".join(NORMS[n] for n in norms) + " |")
    print("|---|" + "---|" * len(norms))
    for sh in s["shapes"]:
        cells = []
        for nl in norms:
            v = sh["r_score"][nl]
            cells.append(f"**{v:.4f}**" if v == best[nl] else f"{v:.4f}")
        print(f"| {sh['params']['beta']:g} | " + " | ".join(cells) + " |")
    print("\nValidation ACR per (beta, sigma) and smoothed accuracy (certified accuracy at r = 0)\n")
    print("| beta | sigma | accuracy | abstain | " + " | ".join(f"ACR {NORMS[n]}" for n in norms)
          + " |")
    print("|---|---|---|---|" + "---|" * len(norms))
    for p in s["points"]:
        v = p["validation"]
        print(f"| {p['params']['beta']:g} | {p['sigma']:g} | {v['accuracy']:.3f} | "
              f"{v['abstain']} | " + " | ".join(f"{v['norms'][n]['acr']:.4f}" for n in norms)
              + " |")
    print("\nWinners (validation) and the test split's certificate of the winner classifier\n")
    print("| norm | winner beta (R_score) | winner classifier (val ACR) | test images | "
          "test accuracy | test ACR | test cert. acc. at r = 0.25 / 0.5 / 1.0 |")
    print("|---|---|---|---|---|---|---|")
    for nl in norms:
        w = s["winners"][nl]
        c = w["classifier"]
        te = s["test"][nl]
        ca = te["certified_accuracy"]
        print(f"| {NORMS[nl]} | {w['shape']['params']['beta']:g} ({w['shape']['r_score']:.4f}) | "
              f"beta={c['params']['beta']:g}, sigma={c['sigma']:g} ({c['validation_acr']:.4f}) | "
              f"{te['images']} | {te['accuracy']:.3f} | {te['acr']:.4f} | "
              f"{ca['0.25']:.3f} / {ca['0.5']:.3f} / {ca['1.0']:.3f} |")
    tot = t["totals"]
    n_pts = len(t["points"])
    tr = sum(p.get("train_seconds", 0.0) for p in t["points"].values())
    vc = sum(p.get("val_certify_seconds", 0.0) for p in t["points"].values())
    imgs = sum(p.get("val_images_certified", 0) for p in t["points"].values()) + \
        sum(x.get("images_certified", 0) for x in t["test"].values())
    print(f"\nTime split (timing.json, {n_pts} grid points): training {tot['train_seconds']:.0f} s, "
          f"noise sampling + forward passes {tot['sampling_forward_seconds']:.0f} s, radii "
          f"{tot['radius_seconds']:.2f} s over {imgs} certified images "
          f"(validation certification {vc:.0f} s, training {tr:.0f} s)")


if __name__ == "__main__":
    main()
