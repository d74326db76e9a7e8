"""How tight are the radii C-OPT compares?  The exact engine's proven band [lower, upper] of the
tight radius R* for each beta of the grid (sigma = 1, d = 784), at pA = 0.9 and 0.99.

C-OPT scores classifiers with `lower` (a certificate); `upper` is a perturbation that breaks
the Neyman-Pearson test (not a certificate).  Where lower/upper is far below 1 the score of
that beta is held down by the bound, not by the noise.

Usage: python results/fashion-mnist-copt/gaps.py > results/fashion-mnist-copt/gaps.md
"""

from __future__ import annotations

import math

import unicr

BETAS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.25, 2.5, 3.0, 4.0)
NORMS = ((1, "l1"), (2, "l2"), (math.inf, "l_inf"))


def main() -> None:
    for pa in (0.9, 0.99):
        print(f"\npA = {pa}: lower / upper (ratio), sigma = 1, d = 784\n")
        print("| beta | " + " | ".join(name for _, name in NORMS) + " |")
        print("|---|---|---|---|")
        for b in BETAS:
            nz = unicr.noise("gennorm", sigma=1.0, beta=b)
            cells = []
            for p, _ in NORMS:
                c = unicr.radius(nz, pa, p, 784, method="exact")
                ratio = c.lower / c.upper if c.upper > 0 else float("nan")
                cells.append(f"{c.lower:.4g} / {c.upper:.4g} ({ratio:.2f})")
            print(f"| {b:g} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
