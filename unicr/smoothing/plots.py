"""Certified-accuracy curves from results files (Cohen et al. 2019, Fig. 7 style).

One panel per norm; one step curve per results file; the radius ceiling
R(alpha^(1/n)) of each file (no image can be certified beyond it,
docs/soundness-notes.md#s31) is drawn as a dotted vertical line in the curve's colour.
Norms whose radii are the same in every file (Gaussian noise: the l1 radius equals the l2
radius) share one panel, titled "l1 = l2", instead of two identical panels.  l_inf radii are
shown x255 (pixel levels) by default, as in the papers.  The look comes from
:mod:`unicr.reporting.style`; the legend sits below the panels.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unicr.reporting.plot import save_figure
from unicr.reporting.style import (
    MIN_PANEL_HEIGHT,
    figure_style,
    grid_for,
    legend_below,
    linf_factor,
    norm_tex,
    palette,
    radius_unit_tex,
    tex,
)
from unicr.smoothing.dataset import Results
from unicr.smoothing.metrics import certified_accuracy, r_scores

__all__ = ["plot_results", "norm_groups", "norm_value"]

_NORM_ORDER = {"1": 1.0, "2": 2.0, "inf": float("inf")}


def norm_value(label: str) -> float:
    """A results file's norm label ("1", "2", "inf", "0.5") as a number (unknown: inf)."""
    try:
        return _NORM_ORDER.get(label, float(label))
    except ValueError:
        return float("inf")


#: the old private name, still imported by unicr.optimize.perinput_plots
_norm_key = norm_value


def norm_groups(results: Sequence[Results]) -> list[list[str]]:
    """The norms of ``results`` in order, those with the same radii in every file grouped.

    Two norms are grouped when every file has both and their radius columns are equal
    (to 1e-12 relative): their certified-accuracy curves are the same curve.
    """
    norms = sorted({n for r in results for n in r.norms}, key=norm_value)
    groups: list[list[str]] = []
    for norm in norms:
        for grp in groups:
            ref = grp[0]
            if all(ref in r.radii and norm in r.radii
                   and np.allclose(r.radii[ref], r.radii[norm], rtol=1e-12, atol=0.0)
                   for r in results):
                grp.append(norm)
                break
        else:
            groups.append([norm])
    return groups


def plot_results(results: Sequence[Results], out: str | os.PathLike[str] | None = None, *,
                 title: str | None = None, panel_size: float = 3.2, linf_x255: bool = True,
                 style: str | Path | None = None, width: float | None = None) -> Any:
    """Figure of approximate certified accuracy against radius; saved to ``out`` if given.

    ``linf_x255`` shows l_inf radii x255; ``style`` is a matplotlib style sheet applied on
    top of unicr's (:func:`unicr.reporting.style.figure_style`); ``width`` (inches) the
    figure's width, shared by the panels (``panel_size`` each otherwise).
    """
    ncols, size = grid_for(len(norm_groups(results)), width)
    with figure_style(style):
        fig = _plot_results(results, title=title, panel_size=size or panel_size, ncols=ncols,
                            linf_x255=linf_x255)
        if out is not None:
            save_figure(fig, out)
    return fig


def _plot_results(results: Sequence[Results], *, title: str | None, panel_size: float,
                  ncols: int, linf_x255: bool) -> Any:
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    groups = norm_groups(results)
    nrows = -(-len(groups) // ncols)
    height = max(panel_size * 0.8, MIN_PANEL_HEIGHT)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size * ncols, height * nrows),
                             squeeze=False, layout="constrained")
    for extra in axes.flat[len(groups):]:
        extra.set_visible(False)
    colours = palette(len(results))
    scores = r_scores(list(results)) if len(results) > 1 else {}
    labels = [r.label_text() for r in results]
    if len(set(labels)) < len(labels):  # same noise in several files: add the file names
        labels = [f"{lab} [{r.path.stem}]" for lab, r in zip(labels, results)]
    for ax, group in zip(axes.flat, groups):
        norm = group[0]
        p = norm_value(norm)
        f = linf_factor(p, linf_x255)
        top = 0.0
        for k, res in enumerate(results):
            if norm not in res.radii:
                continue
            rad = res.radii[norm] * f
            ceil = res.ceiling.get(norm)
            ceil = None if ceil is None else ceil * f
            r_max = max(float(rad[res.correct].max()) if res.correct.any() else 0.0,
                        ceil if ceil is not None else 0.0)
            top = max(top, r_max)
            grid = np.unique(np.concatenate([[0.0], rad[res.correct], [r_max * 1.05 + 1e-12]]))
            acc = certified_accuracy(res.correct, rad, grid)
            # acc(r) = mean(correct & R >= r) is constant on (R_k-1, R_k]: "pre" steps
            ax.step(grid, acc, where="pre", color=colours[k])
            if ceil is not None and ceil > 0:
                ax.axvline(ceil, color=colours[k], linestyle=":", linewidth=1.0)
        names = " = ".join(norm_tex(norm_value(n)) for n in group)
        ax.set_xlim(0, max(top * 1.08, 1e-6))
        ax.set_ylim(0, 1)
        ax.set_xlabel(f"{names} radius{radius_unit_tex(p, linf_x255)}")
        ax.set_ylabel("approx. certified accuracy")
        sub = names + (" (same radii)" if len(group) > 1 else "")
        if norm in scores:
            sep = ", " if panel_size >= 3.0 else "\n"  # a narrow panel: two lines
            sub += rf"{sep}$R_\mathrm{{score}}$ = {scores[norm] * f:.4g}"
        ax.set_title(sub)
    handles = [Line2D([], [], color=c, lw=1.8) for c in colours]
    handles.append(Line2D([], [], color="0.3", ls=":", lw=1.0))
    legend_below(fig, handles, [tex(lab) for lab in labels] + ["radius ceiling (dotted)"])
    if title:
        fig.suptitle(tex(title))
    return fig

