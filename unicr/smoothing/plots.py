"""Certified-accuracy curves from results files (Cohen et al. 2019, Fig. 7 style).

One panel per norm; one step curve per results file; the radius ceiling
R(alpha^(1/n)) of each file (no image can be certified beyond it,
docs/soundness-notes.md#s31) is drawn as a dotted vertical line in the curve's colour.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from unicr.reporting.plot import save_figure
from unicr.smoothing.dataset import Results
from unicr.smoothing.metrics import certified_accuracy, r_scores

__all__ = ["plot_results"]

_NORM_ORDER = {"1": 1.0, "2": 2.0, "inf": float("inf")}


def _norm_key(label: str) -> float:
    try:
        return _NORM_ORDER.get(label, float(label))
    except ValueError:
        return float("inf")


def plot_results(results: Sequence[Results], out: str | os.PathLike[str] | None = None, *,
                 title: str | None = None, panel_size: float = 4.2) -> Any:
    """Figure of approximate certified accuracy against radius; saved to ``out`` if given."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    norms = sorted({n for r in results for n in r.norms}, key=_norm_key)
    fig, axes = plt.subplots(1, len(norms), figsize=(panel_size * len(norms), panel_size * 0.85),
                             squeeze=False)
    cmap = plt.get_cmap("tab10" if len(results) <= 10 else "tab20")
    scores = r_scores(list(results)) if len(results) > 1 else {}
    labels = [r.label_text() for r in results]
    if len(set(labels)) < len(labels):  # same noise in several files: add the file names
        labels = [f"{lab} [{r.path.stem}]" for lab, r in zip(labels, results)]
    for ax, norm in zip(axes[0], norms):
        top = 0.0
        for k, res in enumerate(results):
            if norm not in res.radii:
                continue
            rad = res.radii[norm]
            ceil = res.ceiling.get(norm)
            r_max = max(float(rad[res.correct].max()) if res.correct.any() else 0.0,
                        ceil if ceil is not None else 0.0)
            top = max(top, r_max)
            grid = np.unique(np.concatenate([[0.0], rad[res.correct], [r_max * 1.05 + 1e-12]]))
            acc = certified_accuracy(res.correct, rad, grid)
            col = cmap(k % cmap.N)
            # acc(r) = mean(correct & R >= r) is constant on (R_k-1, R_k]: "pre" steps
            ax.step(grid, acc, where="pre", color=col, label=labels[k])
            if ceil is not None and ceil > 0:
                ax.axvline(ceil, color=col, linestyle=":", linewidth=1.0)
        ax.set_xlim(0, max(top * 1.08, 1e-6))
        ax.set_ylim(0, 1)
        ax.set_xlabel(f"l_{norm} radius")
        ax.set_ylabel("approximate certified accuracy")
        sub = f"l_{norm}"
        if norm in scores:
            sub += f"   R_score = {scores[norm]:.4g}"
        ax.set_title(sub, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper right", title="dotted: radius ceiling",
                  title_fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if out is not None:
        save_figure(fig, out)
    return fig
