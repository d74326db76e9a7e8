"""Figures of per-input noise optimisation: fixed noise vs each reporting mode, chosen parameters.

One row of panels per results file (I-OPT or Auto-Noise): approximate certified accuracy
against radius (Cohen et al. 2019, Fig. 7 style) of the fixed-noise baseline and of each mode,
one panel per norm -- the ``as-published`` curve dashed and labelled "estimate" for I-OPT
(UniCR Algorithm 3 shares selection and certification draws), the certificates solid -- then
one histogram per chosen hyper-parameter.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from unicr.optimize.perinput_results import PerInputResults
from unicr.reporting.plot import save_figure
from unicr.smoothing.metrics import certified_accuracy
from unicr.smoothing.plots import _norm_key

__all__ = ["plot_perinput"]

_STYLE = {
    "fixed": dict(color="0.35", linestyle="-", linewidth=1.6),
    "as-published": dict(color="tab:red", linestyle="--", linewidth=1.4),
    "fixed-theta": dict(color="tab:blue", linestyle="-", linewidth=1.6),
    "deployable": dict(color="tab:green", linestyle="-", linewidth=2.0),
}
_NAMES = {
    "fixed": "fixed noise theta_0 (equal forward passes)",
    "as-published": "as published",
    "fixed-theta": "fixed-theta: g_theta* at x (certificate)",
    "deployable": "deployable: predictor picking theta (certificate)",
}


def _mode_name(res: PerInputResults, mode: str) -> str:
    if mode != "as-published":
        return _NAMES[mode]
    if res.modes[mode].is_estimate:
        return "as published: estimate (shared draws)"
    return "as published: g_sigma_auto presented as deployed"


def plot_perinput(results: Sequence[PerInputResults], out: str | os.PathLike[str] | None = None,
                  *, panel_size: float = 3.8) -> Any:
    """Certified-accuracy curves per mode and norm, then histograms of the chosen parameters."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    results = list(results)
    ncols = max(len(r.norms) + len(r.chosen) for r in results)
    fig, axes = plt.subplots(len(results), ncols, squeeze=False,
                             figsize=(panel_size * ncols, panel_size * 0.9 * len(results)))
    for row, res in zip(axes, results):
        title = {"iopt": "I-OPT", "auto-noise": "Auto-Noise"}.get(res.method, res.method)
        norms = sorted(res.norms, key=_norm_key)
        for ax, norm in zip(row, norms):
            top = 0.0
            for mode, ma in res.modes.items():
                rad = ma.radii[norm]
                r_max = float(rad[ma.correct].max()) if ma.correct.any() else 0.0
                top = max(top, r_max)
                grid = np.unique(np.concatenate([[0.0], rad[ma.correct], [r_max * 1.05 + 1e-12]]))
                acc = certified_accuracy(ma.correct, rad, grid)
                ax.step(grid, acc, where="pre", label=_mode_name(res, mode), **_STYLE[mode])
            ax.set_xlim(0, max(top * 1.08, 1e-6))
            ax.set_ylim(0, 1)
            ax.set_xlabel(f"l_{norm} radius")
            ax.set_ylabel("approximate certified accuracy")
            ax.set_title(f"{title}, l_{norm} ({len(res)} images)", fontsize=10)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=6.5, loc="upper right")
        for ax, (name, vals) in zip(row[len(norms):], res.chosen.items()):
            uniq, counts = np.unique(vals[~np.isnan(vals)], return_counts=True)
            axis = res.header.get("lattice", {}).get("axes", {}).get(name, list(uniq))
            start = res.header.get("lattice", {}).get("start", {}).get(name)
            width = 0.8 * (float(np.min(np.diff(axis))) if len(axis) > 1 else 1.0)
            ax.bar(uniq, counts, width=width, color="tab:blue", alpha=0.8)
            if start is not None:
                ax.axvline(start, color="0.2", linestyle=":", label=f"training {name} = {start:g}")
                ax.legend(fontsize=7)
            ax.set_xticks(axis)
            crowded = len(axis) > 1 and float(np.min(np.diff(axis))) < 0.1 * float(np.ptp(axis))
            ax.tick_params(axis="x", labelsize=7, labelrotation=60 if crowded else 0)
            ax.set_xlabel(f"chosen {name}")
            ax.set_ylabel("inputs")
            ax.set_title(f"{title}: chosen {name}", fontsize=10)
        for ax in row[len(norms) + len(res.chosen):]:
            ax.axis("off")
    fig.tight_layout()
    if out is not None:
        save_figure(fig, out)
    return fig
