"""The C-OPT figure: shape x sigma -> validation ACR heatmaps and R_score per shape, per norm.

Draws a C-OPT ``summary.json`` (:func:`unicr.optimize.copt.run_copt`): one column per norm;
top, a heatmap of the validation ACR of every (shape, sigma) grid point, annotated, with the
winner classifier boxed; bottom, UniCR's robustness score (Hong et al. 2022, Eq. 5) per
shape over the sigma set, with the winner shape marked -- the analogue of UniCR's Table 2.
Matplotlib with the Agg backend (no display needed).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from unicr.errors import InvalidParameterError
from unicr.reporting.plot import save_figure

__all__ = ["plot_copt", "shape_label"]


def shape_label(params: dict[str, float]) -> str:
    """``{"beta": 0.5}`` -> ``"0.5"``; several parameters -> ``"a=1, b=2"``."""
    if len(params) == 1:
        return f"{next(iter(params.values())):g}"
    return ", ".join(f"{k}={v:g}" for k, v in params.items())


def _norm_title(label: str) -> str:
    return r"$\ell_\infty$" if label == "inf" else rf"$\ell_{{{label}}}$"


def plot_copt(summary: dict[str, Any] | str | os.PathLike[str],
              out: str | os.PathLike[str] | None = None, *, dpi: int = 150) -> Any:
    """Draw the C-OPT figure of ``summary`` (a dict or a summary.json path); save to ``out``.

    Returns the matplotlib figure.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from unicr.optimize.copt import read_summary

    s = summary if isinstance(summary, dict) else read_summary(summary)
    try:
        points, shapes, winners = s["points"], s["shapes"], s["winners"]
        family = s["plan"]["family"]
        sigmas = [float(x) for x in s["plan"]["sigmas"]]
    except (KeyError, TypeError) as exc:
        raise InvalidParameterError(f"not a C-OPT summary: missing {exc}") from None
    norms = list(winners)
    labels = [shape_label(sh["params"]) for sh in shapes]
    pname = ", ".join(shapes[0]["params"]) if shapes else "shape"
    ncol = len(norms)
    fig, axes = plt.subplots(2, ncol, figsize=(3.6 * ncol + 0.6, 3.2 + 0.28 * len(labels)),
                             gridspec_kw={"height_ratios": [max(len(labels), 2), 4]},
                             squeeze=False)
    index = {(shape_label(p["params"]), float(p["sigma"])): p for p in points}
    for j, nl in enumerate(norms):
        grid = np.full((len(labels), len(sigmas)), np.nan)
        for a, lab in enumerate(labels):
            for b, sig in enumerate(sigmas):
                p = index.get((lab, sig))
                if p is not None:
                    grid[a, b] = p["validation"]["norms"][nl]["acr"]
        ax = axes[0, j]
        im = ax.imshow(grid, aspect="auto", cmap="viridis", origin="lower")
        top = np.nanmax(grid) if np.isfinite(grid).any() else 1.0
        for a in range(len(labels)):
            for b in range(len(sigmas)):
                v = grid[a, b]
                if np.isfinite(v):
                    ax.text(b, a, f"{v:.3g}", ha="center", va="center", fontsize=7,
                            color="black" if v > 0.6 * top else "white")
        w = winners[nl]["classifier"]
        wa = labels.index(shape_label(w["params"]))
        wb = sigmas.index(float(w["sigma"]))
        ax.add_patch(Rectangle((wb - 0.5, wa - 0.5), 1, 1, fill=False, edgecolor="red", lw=2))
        ax.set_xticks(range(len(sigmas)), [f"{x:g}" for x in sigmas])
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel(r"$\sigma$")
        ax.set_ylabel(pname)
        ax.set_title(f"{_norm_title(nl)}: validation ACR")
        fig.colorbar(im, ax=ax, fraction=0.05, pad=0.02)

        ax = axes[1, j]
        scores = [sh["r_score"][nl] for sh in shapes]
        win = labels.index(shape_label(winners[nl]["shape"]["params"]))
        colors = ["tab:red" if k == win else "tab:blue" for k in range(len(labels))]
        ax.bar(range(len(labels)), scores, color=colors)
        ax.set_xticks(range(len(labels)), labels, rotation=90 if len(labels) > 8 else 0,
                      fontsize=8)
        ax.set_xlabel(pname)
        ax.set_ylabel("validation R_score")
        ax.set_title(f"{_norm_title(nl)}: R_score (Eq. 5), best {pname} = {labels[win]}",
                     fontsize=9)
    fig.suptitle(f"C-OPT, {family}: validation split (winner classifier boxed, winner shape red)",
                 fontsize=10)
    fig.tight_layout()
    if out is not None:
        save_figure(fig, out, dpi=dpi)
    return fig
