#!/usr/bin/env python
"""Feng et al. 2020's T-CERTIFY *as printed*: the largest radius over the alpha' grid, every
grid point at the full alpha (no Bonferroni).  `unicr certify` deliberately does not offer it
(docs/smoothing.md, docs/soundness-notes.md#s4): this is a paper reproduction, NOT a
certificate at level 1 - alpha.  It redraws the counts with the generator streams of
`unicr certify --seed SEED` ((seed, image index, 0/1)), so the draws are those of the CLI files,
and computes on the same counts: CERTIFY (binary), T-CERTIFY with a fixed split 0.5,
T-CERTIFY with the grid at alpha/K (Bonferroni, = `--split-grid`) and the plain grid maximum.
It checks that its binary and Bonferroni radii equal the CLI's files row by row.

usage: tcertify_published.py MODEL SIGMA BINARY_TSV BONFERRONI_TSV OUT_TSV
"""
import sys

import numpy as np

from unicr.data import load_dataset
from unicr.models import load_checkpoint
from unicr.noises.registry import noise as make_noise
from unicr.smoothing import Smooth
from unicr.smoothing.smooth import certify_from_counts

model_path, sigma, bin_tsv, bonf_tsv, out = sys.argv[1], float(sys.argv[2]), *sys.argv[3:6]
N0, N, ALPHA, SEED, BATCH = 100, 1000, 0.001, 0, 1000
GRID = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
RADII = [0.0, 0.25, 0.5, 0.75]

model, _ = load_checkpoint(model_path, device="cpu")
data = load_dataset("fashion-mnist", "test", None)
smooth = Smooth(model, make_noise("gaussian", sigma=sigma, d=784), radius_method="curve")


def read_tsv(path):
    lines = [ln.rstrip("\n").split("\t") for ln in open(path) if not ln.startswith("#")]
    return [dict(zip(lines[0], ln)) for ln in lines[1:]]


cli_bin, cli_bonf = read_tsv(bin_tsv), read_tsv(bonf_tsv)
rows = {r: [] for r in ("binary", "split0.5", "grid-bonferroni", "grid-max-as-published")}
labels = []
with open(out, "w") as f:
    f.write("idx\tlabel\tcounts\tbinary\tsplit0.5\tgrid-bonferroni\tgrid-max-as-published\n")
    for k, rec in enumerate(cli_bin):
        i = int(rec["idx"])
        x, label = data[i]
        g0, g1 = smooth._generators((SEED, i), None)
        c0 = smooth.sample(x, N0, g0, BATCH)
        c1 = smooth.sample(x, N, g1, BATCH)
        prov = smooth.radius_provider
        kw = dict(runner_up="generalized")
        certs = {
            "binary": certify_from_counts(c0, c1, ALPHA, [2], prov),
            "split0.5": certify_from_counts(c0, c1, ALPHA, [2], prov, mode="two-sided",
                                            alpha_split=0.5, **kw),
            "grid-bonferroni": certify_from_counts(c0, c1, ALPHA, [2], prov, mode="two-sided",
                                                   grid=GRID, **kw),
        }
        pub = [certify_from_counts(c0, c1, ALPHA, [2], prov, mode="two-sided", alpha_split=s, **kw)
               for s in GRID]
        best = max(pub, key=lambda c: -1.0 if c.abstain else c.radii[2.0])
        certs["grid-max-as-published"] = best
        vals = {}
        for name, c in certs.items():
            r = -1.0 if c.abstain else c.radii[2.0]   # -1: abstain
            ok = (not c.abstain) and c.prediction == label
            rows[name].append(r if ok else -1.0)
            vals[name] = r
        # same draws as the CLI files: identical count and radius
        for name, recs in (("binary", cli_bin), ("grid-bonferroni", cli_bonf)):
            cr = recs[k]
            assert int(cr["idx"]) == i and int(cr["count_A"]) == int(c1[certs[name].selected])
            cli_r = -1.0 if int(cr["predict"]) < 0 else float(cr["radius_l2"])
            assert abs(cli_r - vals[name]) <= 1e-12 * max(1.0, abs(cli_r)), (i, name, cli_r, vals[name])
        labels.append(label)
        f.write(f"{i}\t{label}\t{','.join(map(str, c1))}\t" +
                "\t".join(f"{vals[n]:.6g}" for n in rows) + "\n")
print(f"{out}: {len(labels)} images, sigma {sigma}, n0 {N0}, n {N}, alpha {ALPHA}; "
      "certified accuracy at l2 radius (correct and radius >= r) and ACR (radius of correct, 0 else)")
print("rule\t" + "\t".join(f"r={r}" for r in RADII) + "\tACR")
for name, rs in rows.items():
    a = np.asarray(rs)
    acc = [float(np.mean(a >= r)) for r in RADII]
    acr = float(np.mean(np.where(a >= 0, a, 0.0)))
    print(name + "\t" + "\t".join(f"{v:.3f}" for v in acc) + f"\t{acr:.4f}")
