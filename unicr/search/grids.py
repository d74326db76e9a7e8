"""The k-grid: which k-equal directions ``(1, ..., 1, 0, ..., 0)`` (k ones) a search tries.

One function, :func:`k_grid`, with the two spacings the engines use: ``"geometric"`` (the exact
engine: 1, d and about ``log(d)/log(ratio)`` geometric steps between) and ``"doubling"`` (the
Monte Carlo engine's structured family: 1, 2, 3, 4, 6, 8, 12, 16, ... and d).
"""

from __future__ import annotations

import math

__all__ = ["k_grid"]


def k_grid(d: int, spacing: str = "doubling", ratio: float = 4.0) -> list[int]:
    """Sorted k values in ``[1, d]``, always containing 1 and d.

    ``spacing="geometric"``: ``round(d ** (i / n))`` for ``i = 1..n-1`` with
    ``n = max(1, round(log d / log ratio))``; ``spacing="doubling"``: ``k = 2, 4, 8, ...`` and
    ``3k/2`` between consecutive powers of two.
    """
    ks = {1, d}
    if spacing == "geometric":
        if d > 1:
            n = max(1, int(round(math.log(d) / math.log(ratio))))
            for i in range(1, n):
                ks.add(int(round(d ** (i / n))))
    elif spacing == "doubling":
        k = 2
        while k < d:
            ks.add(k)
            k3 = (3 * k) // 2
            if k3 < d:
                ks.add(k3)
            k *= 2
    else:
        raise ValueError(f"unknown k-grid spacing {spacing!r}; choose 'geometric' or 'doubling'")
    return sorted(k for k in ks if 1 <= k <= d)
