"""pA-R curves as figures and CSV: the proven band shaded, estimates dashed, closed forms dotted.

The figures follow the UniCR paper's layout (Hong et al. 2022, Figs. 4 and 6-8): one
panel per l_p norm, pA on the x axis, the certified radius on the y axis; l_inf radii
may be shown x255 as in the paper (pixel units of an 8-bit image).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from unicr.certificate import norm_label

__all__ = ["CurveData", "plot_curves", "write_csv", "CSV_COLUMNS"]

#: columns of the CSV written by :func:`write_csv` (documented in docs/cli.md)
CSV_COLUMNS = ("noise", "norm", "d", "pa", "pb", "lower", "upper", "estimate", "method")


@dataclass
class CurveData:
    """One noise's radius curve for one norm.

    ``lower``/``upper`` are proven bounds (``upper`` may contain ``inf`` where no failing
    perturbation is known), ``estimate`` an optional point estimate, ``overlays`` closed
    forms to draw on top (name -> radii on the same pA grid).
    """

    label: str
    norm: float
    d: int
    pa: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    estimate: np.ndarray | None = None
    pb: np.ndarray | None = None
    method: str = ""
    overlays: dict[str, np.ndarray] = field(default_factory=dict)


def _panel_order(curves: Sequence[CurveData]) -> list[float]:
    seen: list[float] = []
    for c in curves:
        if c.norm not in seen:
            seen.append(c.norm)
    return sorted(seen)


def plot_curves(curves: Sequence[CurveData], *, title: str | None = None,
                linf_x255: bool = False, logy: bool = False, panel_size: float = 4.2):
    """Figure with one panel per norm; returns the matplotlib ``Figure``.

    The band between ``lower`` and ``upper`` is shaded (where ``upper`` is infinite the band
    is open and drawn up to the panel's top), the proven lower bound is a solid line, the
    upper bound a thin line, the estimate dashed and closed-form overlays dotted.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    norms = _panel_order(curves)
    fig, axes = plt.subplots(1, len(norms), figsize=(panel_size * len(norms), panel_size * 0.85),
                             squeeze=False)
    labels = list(dict.fromkeys(c.label for c in curves))
    cmap = plt.get_cmap("tab10" if len(labels) <= 10 else "tab20")
    colours = {lab: cmap(i % cmap.N) for i, lab in enumerate(labels)}
    overlay_styles = [":", (0, (1, 3)), (0, (5, 2, 1, 2)), (0, (3, 1, 1, 1, 1, 1))]
    for ax, p in zip(axes[0], norms):
        factor = 255.0 if (linf_x255 and math.isinf(p)) else 1.0
        finite_top = 0.0
        panel = [c for c in curves if c.norm == p]
        for c in panel:
            col = colours[c.label]
            lo = np.asarray(c.lower, float) * factor
            up = np.asarray(c.upper, float) * factor
            finite_top = max(finite_top, float(np.nanmax(np.where(np.isfinite(up), up, lo))))
            ax.plot(c.pa, lo, color=col, lw=1.8, label=f"{c.label}")
            if np.any(np.isfinite(up)):
                ax.plot(c.pa, np.where(np.isfinite(up), up, np.nan), color=col, lw=0.8)
            if c.estimate is not None:
                ax.plot(c.pa, np.asarray(c.estimate, float) * factor, color=col, lw=1.0, ls="--")
            for j, (name, vals) in enumerate(c.overlays.items()):
                ax.plot(c.pa, np.asarray(vals, float) * factor, color="black", lw=1.0,
                        ls=overlay_styles[j % len(overlay_styles)], label=f"{name} ({c.label})")
        top = finite_top * 1.08 if finite_top > 0 else 1.0
        for c in panel:
            col = colours[c.label]
            lo = np.asarray(c.lower, float) * factor
            up = np.asarray(c.upper, float) * factor
            ax.fill_between(c.pa, lo, np.where(np.isfinite(up), up, top), color=col, alpha=0.18,
                            lw=0)
        ax.set_xlabel("pA")
        unit = " (x255)" if factor != 1.0 else ""
        ax.set_ylabel(f"certified radius, l_{norm_label(p)}{unit}")
        ax.set_title(f"l_{norm_label(p)}, d = {panel[0].d}")
        if logy:
            ax.set_yscale("log")
        else:
            ax.set_ylim(bottom=0.0, top=top)
        ax.grid(alpha=0.3)
    handles, labs = axes[0][0].get_legend_handles_labels()
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles += [Line2D([], [], color="grey", lw=1.8), Line2D([], [], color="grey", lw=0.8),
                Patch(color="grey", alpha=0.18), Line2D([], [], color="grey", ls="--")]
    labs += ["proven lower bound", "proven upper bound", "band containing R*", "estimate"]
    fig.legend(handles, labs, loc="lower center", ncol=min(4, len(labs)), fontsize=8,
               frameon=False, bbox_to_anchor=(0.5, -0.02))
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.08 + 0.025 * (len(labs) // 4), 1, 1))
    return fig


def write_csv(curves: Iterable[CurveData], path: str | Path) -> Path:
    """One row per (noise, norm, pA) with the columns :data:`CSV_COLUMNS`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for c in curves:
            for i, pa in enumerate(c.pa):
                est = "" if c.estimate is None else _num(c.estimate[i])
                pb = "" if c.pb is None else _num(c.pb[i])
                w.writerow([c.label, norm_label(c.norm), c.d, _num(pa), pb, _num(c.lower[i]),
                            _num(c.upper[i]), est, c.method])
    return path


def _num(x: float) -> str:
    x = float(x)
    if math.isinf(x):
        return "inf"
    return repr(x)
