"""pA-R curves as figures and CSV: the proven band shaded, estimates dashed, closed forms dotted.

The figures follow the UniCR paper's layout (Hong et al. 2022, Figs. 4, 6-8, 12 and 13):
pA on the x axis, the certified radius on the y axis, one panel per l_p norm (or per
noise/norm pair); l_inf radii may be shown x255 as in the paper (pixel units of an 8-bit
image).  What each line means is fixed for every figure unicr draws:

* solid line -- ``lower``, proven <= R* (a certificate);
* thin line -- ``upper``, proven >= R* (a perturbation of that norm fails the test);
* shaded band -- ``[lower, upper]``, where the tight radius R* lies (open to the top of
  the panel where no failing perturbation is known);
* dashed line -- ``estimate`` (no guarantee either way, e.g. UniCR's point estimate);
* dotted lines -- published closed forms, labelled with their status (tight, lower,
  unsound-as-printed ...; see :mod:`unicr.closed_form`).

Everything a figure shows is also written by :func:`write_csv` (columns
:data:`CSV_COLUMNS`, documented in docs/cli.md).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from unicr.certificate import norm_label

__all__ = ["CurveData", "Panel", "plot_curves", "plot_panels", "plot_radius_vs_p", "save_figure",
           "write_csv", "read_csv", "CSV_COLUMNS", "CSV_COLUMN_DOCS", "OVERLAY_PREFIX",
           "OVERLAY_COLUMN_DOC",
           "norm_tex"]

#: columns of the CSV written by :func:`write_csv` (documented in docs/cli.md)
CSV_COLUMNS = ("noise", "norm", "d", "pa", "pb", "lower", "upper", "estimate", "confidence",
               "method")

#: one line per CSV column, used by the CLI reference generator (``unicr.cli.docgen``)
CSV_COLUMN_DOCS = {
    "noise": "curve label: the noise name, its parameters and sigma (or native scale)",
    "norm": "l_p norm: 1, 2, inf or any p > 0",
    "d": "input dimension",
    "pa": "(lower bound on) the top-class probability pA",
    "pb": "(upper bound on) the runner-up probability pB; empty in the binary case pB = 1 - pA",
    "lower": "proven lower bound on the tight radius R* (a certificate; 0 = nothing proven)",
    "upper": "proven upper bound on R* (a failing perturbation exists); `inf` = none found",
    "estimate": "point estimate without guarantee (Monte Carlo engine only; empty otherwise)",
    "confidence": "probability that lower and upper hold at this pA (1 for deterministic "
                  "numerics, 1 - alpha for Monte Carlo; per point, not simultaneous)",
    "method": "engine that produced the row: exact or mc",
}

#: prefix of the extra CSV columns holding closed-form overlays (``closed_form:cohen`` ...)
OVERLAY_PREFIX = "closed_form:"
OVERLAY_COLUMN_DOC = ("one extra column per closed-form overlay: the formula's radius (empty where "
                      "it does not apply to the row's noise and norm, nan where it abstains)")

_LINE_STYLES = {"lower": dict(lw=1.8), "upper": dict(lw=0.7), "estimate": dict(lw=1.1, ls="--")}
#: closed-form line colour by status: certificates black, unsound formulas red, estimates grey
_STATUS_COLOURS = {"unsound-as-printed": "tab:red", "estimate": "0.45", "upper": "0.45"}
_OVERLAY_MARKERS = ["o", "s", "^", "D", "v"]
_OVERLAY_DASHES = [(0, (1, 1.5)), (0, (4, 1.5, 1, 1.5)), (0, (1, 3)), (0, (6, 2)),
                   (0, (3, 1, 1, 1, 1, 1))]


@dataclass
class CurveData:
    """One noise's radius curve for one norm.

    ``lower``/``upper`` are proven bounds (``upper`` may contain ``inf`` where no failing
    perturbation is known), ``estimate`` an optional point estimate, ``overlays`` closed
    forms to draw on top (name -> radii on the same pA grid, ``nan`` where the formula
    abstains), ``overlay_status`` their status (name -> "tight", "lower", ...).
    ``confidence`` is the probability that ``lower``/``upper`` hold at each pA (a number or
    one value per pA); ``noise`` the noise definition (:meth:`Noise.definition`).
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
    overlay_status: dict[str, str] = field(default_factory=dict)
    confidence: Any = 1.0
    noise: dict[str, Any] = field(default_factory=dict)

    def confidence_array(self) -> np.ndarray:
        """``confidence`` broadcast to one value per pA."""
        return np.broadcast_to(np.asarray(self.confidence, float), np.shape(self.pa)).copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (lists; ``inf`` kept as float for :func:`unicr.cli.common.print_json`)."""
        def lst(a: Any) -> list[float] | None:
            return None if a is None else [float(x) for x in np.asarray(a, float)]

        return {
            "noise": self.label,
            "definition": self.noise,
            "norm": norm_label(self.norm),
            "d": int(self.d),
            "method": self.method,
            "pa": lst(self.pa),
            "pb": lst(self.pb),
            "lower": lst(self.lower),
            "upper": lst(self.upper),
            "estimate": lst(self.estimate),
            "confidence": lst(self.confidence_array()),
            "closed_form": {name: {"status": self.overlay_status.get(name, ""),
                                   "values": lst(vals)} for name, vals in self.overlays.items()},
        }


@dataclass
class Panel:
    """One axes of a figure: a title and the curves drawn in it (all of one norm)."""

    title: str
    curves: list[CurveData]
    legend: bool = False
    #: "sequential" colours the panel's curves along viridis in order (parameter sweeps);
    #: None uses the figure's qualitative colours (the same noise has the same colour everywhere)
    palette: str | None = None


def norm_tex(p: float) -> str:
    r"""Matplotlib mathtext for l_p: ``$\ell_1$``, ``$\ell_\infty$``, ``$\ell_{0.5}$``."""
    if math.isinf(p):
        return r"$\ell_\infty$"
    lab = norm_label(p)
    return rf"$\ell_{{{lab}}}$" if len(lab) > 1 else rf"$\ell_{lab}$"


def _palette(n: int) -> list[Any]:
    import matplotlib.pyplot as plt

    if n <= 10:
        cmap = plt.get_cmap("tab10")
        return [cmap(i) for i in range(n)]
    cmap = plt.get_cmap("tab20")
    order = list(range(0, 20, 2)) + list(range(1, 20, 2))  # saturated colours first
    return [cmap(order[i % 20]) for i in range(n)]


def _factor(p: float, linf_x255: bool) -> float:
    return 255.0 if (linf_x255 and math.isinf(p)) else 1.0


def _draw_panel(ax: Any, panel: Panel, colours: dict[str, Any], *, linf_x255: bool, logy: bool,
                band_alpha: float, overlay_index: dict[str, int]) -> None:
    curves = panel.curves
    single = len({c.label for c in curves}) == 1
    finite_top = 0.0
    for c in curves:
        f = _factor(c.norm, linf_x255)
        lo = np.asarray(c.lower, float) * f
        up = np.asarray(c.upper, float) * f
        cand = [lo[np.isfinite(lo)], up[np.isfinite(up)]]
        if c.estimate is not None:
            est = np.asarray(c.estimate, float) * f
            cand.append(est[np.isfinite(est)])
        for vals in c.overlays.values():
            v = np.asarray(vals, float) * f
            cand.append(v[np.isfinite(v)])
        for arr in cand:
            if arr.size:
                finite_top = max(finite_top, float(arr.max()))
    top = finite_top * 1.06 if finite_top > 0 else 1.0
    for c in curves:
        col = colours[c.label]
        f = _factor(c.norm, linf_x255)
        pa = np.asarray(c.pa, float)
        lo = np.asarray(c.lower, float) * f
        up = np.asarray(c.upper, float) * f
        up_draw = np.where(np.isfinite(up), up, top * 10)
        proven = (lo > 0) | np.isfinite(up)  # lower = 0 and upper = inf: nothing to draw
        lo_draw = np.where(proven & ((lo > 0) | (not logy)), lo, np.nan)
        ax.fill_between(pa, np.where(np.isfinite(lo_draw), lo_draw, 0.0 if not logy else np.nan),
                        up_draw, where=proven, color=col, alpha=band_alpha, lw=0)
        has_lines = bool(proven.any())
        # sampled curves (Monte Carlo: one search per point) show their points
        mk = dict(marker="o", ms=3.0) if c.method == "mc" else {}
        ax.plot(pa, lo_draw, color=col, label=c.label if has_lines else None,
                **_LINE_STYLES["lower"], **mk)
        if np.any(np.isfinite(up)):
            ax.plot(pa, np.where(np.isfinite(up), up, np.nan), color=col, **_LINE_STYLES["upper"],
                    **mk)
        if c.estimate is not None:
            ax.plot(pa, np.asarray(c.estimate, float) * f, color=col,
                    label=None if has_lines else c.label, **_LINE_STYLES["estimate"], **mk)
        for name, vals in c.overlays.items():
            status = c.overlay_status.get(name, "")
            lab = f"{name} ({status})" if status else name
            if not single:
                lab = f"{lab}, {c.label}"
            j = overlay_index.setdefault(name, len(overlay_index))
            line = _STATUS_COLOURS.get(status, "black")
            ax.plot(pa, np.asarray(vals, float) * f, color=line, lw=1.0, zorder=4,
                    ls=_OVERLAY_DASHES[j % len(_OVERLAY_DASHES)],
                    marker=_OVERLAY_MARKERS[j % len(_OVERLAY_MARKERS)], ms=4.5,
                    markevery=(0.03 * (j % 3), 0.1), mfc="none", mec=line if single else col,
                    mew=1.0, label=lab)
    p = curves[0].norm if curves else 2.0
    unit = r" ($\times$255)" if _factor(p, linf_x255) != 1.0 else ""
    ax.set_xlabel(r"$p_A$")
    ax.set_ylabel(f"certified {norm_tex(p)} radius{unit}")
    ax.set_title(panel.title, fontsize=10)
    if curves:
        pa_all = np.concatenate([np.asarray(c.pa, float) for c in curves])
        binary = all(c.pb is None for c in curves)
        ax.set_xlim(0.5 if binary and pa_all.min() > 0.5 else float(pa_all.min()),
                    float(pa_all.max()))
    if logy:
        ax.set_yscale("log")
        pos = [float(np.nanmin(np.where(np.asarray(c.lower) > 0, c.lower, np.nan)))
               * _factor(c.norm, linf_x255) for c in curves if np.any(np.asarray(c.lower) > 0)]
        if pos:
            ax.set_ylim(bottom=min(pos) * 0.7, top=top * 1.5)
    else:
        ax.set_ylim(bottom=0.0, top=top)
    ax.grid(alpha=0.3, lw=0.5)
    if panel.legend:
        ax.legend(fontsize=7, frameon=False, loc="upper left")


def _style_handles(curves: Sequence[CurveData], band_alpha: float) -> tuple[list[Any], list[str]]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Line2D([], [], color="0.3", **_LINE_STYLES["lower"]),
               Line2D([], [], color="0.3", **_LINE_STYLES["upper"]),
               Patch(color="0.3", alpha=max(band_alpha, 0.2), lw=0)]
    labels = ["proven lower bound", "proven upper bound", r"band containing $R^*$"]
    if any(c.estimate is not None for c in curves):
        handles.append(Line2D([], [], color="0.3", **_LINE_STYLES["estimate"]))
        labels.append("estimate (no guarantee)")
    return handles, labels


def _figure_legend(fig: Any, handles: list[Any], labels: list[str], width: float, *,
                   side: bool) -> None:
    """Legend outside the axes: to the right of a single column, else below in columns that
    fit the figure's width (about 2.6 inches per column)."""
    if side:
        fig.legend(handles, labels, loc="outside right upper", ncol=1, fontsize=8, frameon=False)
        return
    ncol = max(1, min(len(labels), int(width // 2.6)))
    fig.legend(handles, labels, loc="outside lower center", ncol=ncol, fontsize=8, frameon=False)
    w, h = fig.get_size_inches()  # room for the legend rows, so the panels keep their height
    fig.set_size_inches(w, h + 0.17 * math.ceil(len(labels) / ncol))


def plot_panels(panels: Sequence[Panel], *, ncols: int | None = None, title: str | None = None,
                linf_x255: bool = False, logy: bool = False, panel_size: float = 4.0,
                legend: str = "figure") -> Any:
    """Figure with one axes per :class:`Panel`; returns the matplotlib ``Figure``.

    ``legend="figure"`` puts one legend below the panels (noise colours, closed forms, then
    line styles); ``"panel"`` gives every panel its own legend (used when panels show
    different closed forms, as in UniCR Fig. 4) and adds the line-style key below;
    ``"styles"`` only adds the line-style key (panels keep their own ``legend`` flag).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if not panels:
        raise ValueError("plot_panels: no panels to draw")
    if legend not in ("figure", "panel", "styles"):
        raise ValueError(f"plot_panels: legend must be 'figure', 'panel' or 'styles', not {legend!r}")
    n = len(panels)
    ncols = min(n, ncols or n)
    nrows = math.ceil(n / ncols)
    curves = [c for pnl in panels for c in pnl.curves]
    labels = list(dict.fromkeys(c.label for c in curves))
    colours = dict(zip(labels, _palette(len(labels))))
    overlay_index: dict[str, int] = {}
    band_alpha = 0.22 if len(labels) <= 3 else (0.14 if len(labels) <= 8 else 0.09)
    side = legend == "figure" and ncols == 1  # a single column gets its legend on the right
    width = panel_size * ncols + (2.6 if side else 0.0)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, panel_size * 0.82 * nrows),
                             squeeze=False, layout="constrained")
    for i, pnl in enumerate(panels):
        ax = axes[i // ncols][i % ncols]
        if legend == "panel":
            pnl = Panel(pnl.title, pnl.curves, legend=True, palette=pnl.palette)
        cols = colours
        if pnl.palette == "sequential":
            own = list(dict.fromkeys(c.label for c in pnl.curves))
            cmap = plt.get_cmap("viridis")
            cols = {lab: cmap(x) for lab, x in zip(own, np.linspace(0.0, 0.85, max(len(own), 2)))}
        elif pnl.palette is not None:
            raise ValueError(f"Panel.palette must be None or 'sequential', not {pnl.palette!r}")
        _draw_panel(ax, pnl, cols, linf_x255=linf_x255, logy=logy, band_alpha=band_alpha,
                    overlay_index=overlay_index)
    for j in range(n, nrows * ncols):
        axes[j // ncols][j % ncols].set_visible(False)
    s_handles, s_labels = _style_handles(curves, band_alpha)
    if legend == "figure":
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color=colours[lab], lw=2.2) for lab in labels]
        names = list(labels)
        ov_seen: dict[str, Any] = {}
        for ax in axes.flat:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                if lab not in labels and lab not in ov_seen:
                    ov_seen[lab] = h
        handles += list(ov_seen.values()) + s_handles
        names += list(ov_seen) + s_labels
        _figure_legend(fig, handles, names, width, side=side)
    else:
        _figure_legend(fig, s_handles, s_labels, ncols * panel_size, side=False)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def plot_curves(curves: Sequence[CurveData], *, title: str | None = None,
                linf_x255: bool = False, logy: bool = False, panel_size: float = 4.0):
    """Figure with one panel per norm (every noise in every panel); returns the ``Figure``.

    The band between ``lower`` and ``upper`` is shaded (where ``upper`` is infinite the band
    is open and drawn up to the panel's top), the proven lower bound is a solid line, the
    upper bound a thin line, the estimate dashed and closed-form overlays dotted.
    """
    if not curves:
        raise ValueError("plot_curves: no curves to draw")
    norms = sorted(dict.fromkeys(c.norm for c in curves))
    panels = []
    for p in norms:
        sel = [c for c in curves if c.norm == p]
        panels.append(Panel(f"{norm_tex(p)}, d = {sel[0].d}", sel))
    return plot_panels(panels, title=title, linf_x255=linf_x255, logy=logy, panel_size=panel_size)


def plot_radius_vs_p(ps: Sequence[float], series: Sequence[tuple[str, np.ndarray, np.ndarray]], *,
                     pa: float, d: int, title: str | None = None, logy: bool = True,
                     panel_size: float = 5.0) -> Any:
    """Radius against the norm exponent p at a fixed pA (UniCR Fig. 12).

    ``series`` holds ``(label, lower, upper)`` arrays over ``ps``.  The x axis is logarithmic
    in p; ``p = inf`` (l_inf) is drawn at the right end, after a gap, with the tick label
    "inf".  Band and line styles as in :func:`plot_panels`.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullFormatter

    p_arr = np.asarray(ps, float)
    fin = np.isfinite(p_arr)
    if not fin.any() or np.any(p_arr <= 0):
        raise ValueError("plot_radius_vs_p: give p values > 0, at least one finite")
    x = np.where(fin, p_arr, p_arr[fin].max() * 2.5)
    colours = _palette(len(series))
    fig, ax = plt.subplots(figsize=(panel_size * 1.6, panel_size * 0.85), layout="constrained")
    for (label, lo, up), col in zip(series, colours):
        lo = np.asarray(lo, float)
        up = np.asarray(up, float)
        for part in (fin, ~fin):  # no line across the gap to l_inf
            if not part.any():
                continue
            xs, los, ups = x[part], lo[part], up[part]
            ax.fill_between(xs, np.where(los > 0, los, np.nan),
                            np.where(np.isfinite(ups), ups, np.nan), color=col, alpha=0.18, lw=0)
            ax.plot(xs, np.where(los > 0, los, np.nan), color=col, marker="o", ms=3.5,
                    label=label if part is fin else None, **_LINE_STYLES["lower"])
            ax.plot(xs, np.where(np.isfinite(ups), ups, np.nan), color=col, marker="_", ms=6,
                    **_LINE_STYLES["upper"])
    ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    # label powers of two (and inf); other p values get an unlabelled tick
    major = [i for i, p in enumerate(p_arr) if math.isinf(p) or float(np.log2(p)).is_integer()]
    ax.set_xticks(x[major], [("inf" if math.isinf(p_arr[i]) else f"{p_arr[i]:g}") for i in major])
    ax.xaxis.set_minor_locator(FixedLocator(np.delete(x, major)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.axvline(2.0, color="0.5", lw=0.8, ls=":")
    ax.set_xlabel("norm exponent p")
    ax.set_ylabel(r"certified $\ell_p$ radius")
    ax.set_title(title or rf"$p_A$ = {pa:g}, d = {d}", fontsize=10)
    ax.grid(alpha=0.3, lw=0.5, which="both")
    s_handles, s_labels = _style_handles([], 0.18)
    h, lab = ax.get_legend_handles_labels()
    fig.legend(h + s_handles, lab + s_labels, fontsize=8, frameon=False, loc="outside right upper")
    return fig


def save_figure(fig: Any, path: str | Path, dpi: int = 150) -> Path:
    """Write ``fig`` (PNG, PDF or SVG by suffix), create the folder, close the figure."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(path, dpi=dpi, metadata={"Software": None} if path.suffix == ".png" else None)
    finally:
        plt.close(fig)
    return path


def write_csv(curves: Iterable[CurveData], path: str | Path) -> Path:
    """One row per (noise, norm, pA) with the columns :data:`CSV_COLUMNS`.

    Closed-form overlays add one column each, ``closed_form:NAME`` (empty where the
    formula does not apply to the row's noise and norm, ``nan`` where it abstains).
    """
    curves = list(curves)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = list(dict.fromkeys(name for c in curves for name in c.overlays))
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(list(CSV_COLUMNS) + [OVERLAY_PREFIX + name for name in extra])
        for c in curves:
            conf = c.confidence_array()
            for i, pa in enumerate(c.pa):
                est = "" if c.estimate is None else _num(c.estimate[i])
                pb = "" if c.pb is None else _num(c.pb[i])
                ov = [_num(c.overlays[name][i]) if name in c.overlays else "" for name in extra]
                w.writerow([c.label, norm_label(c.norm), c.d, _num(pa), pb, _num(c.lower[i]),
                            _num(c.upper[i]), est, _num(conf[i]), c.method] + ov)
    return path


def read_csv(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a CSV written by :func:`write_csv`, numbers as floats (``inf`` and ``nan`` kept)."""
    out = []
    with Path(path).open(newline="") as fh:
        for row in csv.DictReader(fh):
            rec: dict[str, Any] = {}
            for k, v in row.items():
                if k in ("noise", "method", "norm"):
                    rec[k] = v
                elif v == "":
                    rec[k] = None
                else:
                    rec[k] = float(v)
            out.append(rec)
    return out


def _num(x: float) -> str:
    x = float(x)
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if math.isnan(x):
        return "nan"
    return repr(x)
