"""pA-R curves as figures and CSV: the proven band shaded, estimates dashed, closed forms dotted.

The figures follow the UniCR paper's layout (Hong et al. 2022, Figs. 4, 6-8, 12 and 13):
pA on the x axis, the certified radius on the y axis, one panel per l_p norm (or per
noise/norm pair); l_inf radii are shown x255 as in the papers (pixel units of an 8-bit
image) unless ``linf_x255=False``.  The look (fonts, mathtext, legends outside the axes)
comes from :mod:`unicr.reporting.style`.  What each mark means is fixed for every figure:

* solid line -- ``lower``, proven <= R* (a certificate);
* thin line -- ``upper``, proven >= R* (a perturbation of that norm fails the test);
* shaded band -- ``[lower, upper]``, where the tight radius R* lies, drawn only where both
  bounds say something (lower > 0, upper finite); hatched, one hatch per noise, when more
  than two bands share a panel;
* ``x`` on the axis -- ``lower = 0`` at a Monte Carlo point: nothing proven there;
* triangle at the top edge -- ``upper = inf``: no failing perturbation known;
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
from unicr.errors import InvalidParameterError
from unicr.reporting.style import (
    HATCHES,
    MIN_PANEL_HEIGHT,
    figure_style,
    grid_for,
    legend_below,
    linf_factor,
    norm_tex,
    palette,
    panel_legend,
    radius_unit_tex,
    tex,
)

__all__ = ["CurveData", "Panel", "plot_curves", "plot_panels", "plot_radius_vs_p", "save_figure",
           "write_csv", "read_csv", "CSV_COLUMNS", "CSV_COLUMN_DOCS", "OVERLAY_PREFIX",
           "OVERLAY_COLUMN_DOC", "FIGURE_FORMATS",
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
    "lower": "proven lower bound on the tight radius R* (a certificate; 0 = nothing proven), "
             "in input units: l_inf radii are never x255 here (figures show them x255)",
    "upper": "proven upper bound on R* (a failing perturbation exists); `inf` = none found; "
             "input units like lower",
    "estimate": "point estimate without guarantee (Monte Carlo engine only; empty otherwise); "
                "input units",
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


def _factor(p: float, linf_x255: bool) -> float:
    return linf_factor(p, linf_x255)


def _panel_top(curves: Sequence[CurveData], linf_x255: bool) -> float:
    """Top of a panel's radius axis: 6% above the largest finite value drawn."""
    finite_top = 0.0
    for c in curves:
        f = _factor(c.norm, linf_x255)
        arrays = [c.lower, c.upper] + ([c.estimate] if c.estimate is not None else []) \
            + list(c.overlays.values())
        for arr in arrays:
            v = np.asarray(arr, float) * f
            v = v[np.isfinite(v)]
            if v.size:
                finite_top = max(finite_top, float(v.max()))
    return finite_top * 1.06 if finite_top > 0 else 1.0


def _banded(c: CurveData) -> bool:
    """Whether a curve has a band to draw (a proven lower > 0 with a finite upper somewhere)."""
    lo, up = np.asarray(c.lower, float), np.asarray(c.upper, float)
    return bool(np.any((lo > 0) & np.isfinite(up) & (up > lo)))


def _draw_panel(ax: Any, panel: Panel, colours: dict[str, Any], *, linf_x255: bool, logy: bool,
                band_alpha: float, overlay_index: dict[str, int], hatched: bool,
                marks: dict[str, bool]) -> None:
    """Draw one panel.  Honest bands: shaded (or hatched) only where both a proven lower
    bound > 0 and a finite proven upper bound exist; ``lower = 0`` (nothing proven) is an
    ``x`` on the axis, ``upper = inf`` (no failing perturbation known) a triangle at the
    panel's top edge.  ``marks`` records which of the two markers were drawn."""
    from matplotlib.transforms import blended_transform_factory, offset_copy

    curves = panel.curves
    single = len({c.label for c in curves}) == 1
    top = _panel_top(curves, linf_x255)
    at_top = blended_transform_factory(ax.transData, ax.transAxes)
    hatch_index = 0
    for k, c in enumerate(curves):
        col = colours[c.label]
        f = _factor(c.norm, linf_x255)
        pa = np.asarray(c.pa, float)
        lo = np.asarray(c.lower, float) * f
        up = np.asarray(c.upper, float) * f
        proven_lo = lo > 0
        finite_up = np.isfinite(up)
        band = proven_lo & finite_up
        if band.any() and _banded(c):
            if hatched:
                ax.fill_between(pa, lo, up, where=band, facecolor="none", edgecolor=col,
                                hatch=HATCHES[hatch_index % len(HATCHES)], lw=0, alpha=0.55)
                hatch_index += 1
            else:
                ax.fill_between(pa, lo, up, where=band, color=col, alpha=band_alpha, lw=0)
        mk = dict(marker="o", ms=3.0) if c.method == "mc" else {}
        has_lines = bool((proven_lo | finite_up).any())
        ax.plot(pa, np.where(proven_lo, lo, np.nan), color=col,
                label=tex(c.label) if has_lines else None, **_LINE_STYLES["lower"], **mk)
        if finite_up.any():
            ax.plot(pa, np.where(finite_up, up, np.nan), color=col, **_LINE_STYLES["upper"], **mk)
        # the marks of several curves at the same pA are stacked 6 points apart
        nothing = ~proven_lo
        if c.method == "mc" and nothing.any() and not logy:
            ax.plot(pa[nothing], np.zeros(int(nothing.sum())), ls="none", marker="x", ms=5,
                    mew=1.2, color=col, clip_on=False, zorder=5,
                    transform=offset_copy(ax.transData, fig=ax.figure, y=6.0 * k, units="points"))
            marks["lower0"] = True
        open_top = proven_lo & ~finite_up
        if open_top.any():
            ax.plot(pa[open_top], np.full(int(open_top.sum()), 0.97), ls="none", marker="^",
                    ms=5, color=col, clip_on=False, zorder=5,
                    transform=offset_copy(at_top, fig=ax.figure, y=-6.0 * k, units="points"))
            marks["upper_inf"] = True
        if c.estimate is not None:
            ax.plot(pa, np.asarray(c.estimate, float) * f, color=col,
                    label=None if has_lines else tex(c.label), **_LINE_STYLES["estimate"], **mk)
        for name, vals in c.overlays.items():
            status = c.overlay_status.get(name, "")
            lab = f"{name} ({status})" if status else name
            if not single:
                lab = f"{lab}, {tex(c.label)}"
            j = overlay_index.setdefault(name, len(overlay_index))
            line = _STATUS_COLOURS.get(status, "black")
            ax.plot(pa, np.asarray(vals, float) * f, color=line, lw=1.0, zorder=4,
                    ls=_OVERLAY_DASHES[j % len(_OVERLAY_DASHES)],
                    marker=_OVERLAY_MARKERS[j % len(_OVERLAY_MARKERS)], ms=4.5,
                    markevery=(0.03 * (j % 3), 0.1), mfc="none", mec=line if single else col,
                    mew=1.0, label=lab)
    p = curves[0].norm if curves else 2.0
    ax.set_xlabel(r"$p_A$")
    ax.set_ylabel(f"{norm_tex(p)} radius{radius_unit_tex(p, linf_x255)}")
    ax.set_title(tex(panel.title))
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
    if panel.legend:
        panel_legend(ax)


def _style_handles(curves: Sequence[CurveData], band_alpha: float, *, hatched: bool = False,
                   marks: dict[str, bool] | None = None) -> tuple[list[Any], list[str]]:
    """The line-style key: what solid, thin, band, dashed and the markers mean."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    band = (Patch(facecolor="none", edgecolor="0.3", hatch=HATCHES[0], lw=0) if hatched
            else Patch(color="0.3", alpha=max(band_alpha, 0.2), lw=0))
    handles = [Line2D([], [], color="0.3", **_LINE_STYLES["lower"]),
               Line2D([], [], color="0.3", **_LINE_STYLES["upper"]), band]
    labels = ["proven lower bound", "proven upper bound", r"band containing $R^*$"]
    if any(c.estimate is not None for c in curves):
        handles.append(Line2D([], [], color="0.3", **_LINE_STYLES["estimate"]))
        labels.append("estimate (no guarantee)")
    marks = marks or {}
    if marks.get("lower0"):
        handles.append(Line2D([], [], ls="none", marker="x", ms=5, mew=1.2, color="0.3"))
        labels.append("lower = 0 (nothing proven)")
    if marks.get("upper_inf"):
        handles.append(Line2D([], [], ls="none", marker="^", ms=5, color="0.3"))
        labels.append(r"upper = $\infty$ (no failing perturbation found)")
    return handles, labels


def plot_panels(panels: Sequence[Panel], *, ncols: int | None = None, title: str | None = None,
                linf_x255: bool = True, logy: bool = False, panel_size: float = 4.0,
                legend: str = "figure", style: str | Path | None = None) -> Any:
    """Figure with one axes per :class:`Panel`; returns the matplotlib ``Figure``.

    ``legend="figure"`` puts one legend below the panels (noise colours, closed forms, then
    line styles); ``"panel"`` gives every panel its own legend under its x label (used when
    panels show different closed forms, as in UniCR Fig. 4) and adds the line-style key
    below; ``"styles"`` only adds the line-style key (panels keep their own ``legend``
    flag).  No legend is ever drawn over a plot area or a title.  Where more than two
    curves of a panel have a band, the bands are hatched (one hatch per curve) instead of
    shaded, so overlapping bands stay distinguishable.  l_inf radii are shown x255 (the
    axis label says so) unless ``linf_x255=False``.  ``style`` is a matplotlib style
    sheet applied on top of unicr's (:func:`unicr.reporting.style.figure_style`).
    """
    if not panels:
        raise ValueError("plot_panels: no panels to draw")
    if legend not in ("figure", "panel", "styles"):
        raise ValueError(f"plot_panels: legend must be 'figure', 'panel' or 'styles', not {legend!r}")
    with figure_style(style):
        return _plot_panels(panels, ncols=ncols, title=title, linf_x255=linf_x255, logy=logy,
                            panel_size=panel_size, legend=legend)


def _plot_panels(panels: Sequence[Panel], *, ncols: int | None, title: str | None,
                 linf_x255: bool, logy: bool, panel_size: float, legend: str) -> Any:
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    n = len(panels)
    ncols = min(n, ncols or n)
    nrows = math.ceil(n / ncols)
    curves = [c for pnl in panels for c in pnl.curves]
    labels = list(dict.fromkeys(c.label for c in curves))
    colours = dict(zip(labels, palette(len(labels))))
    overlay_index: dict[str, int] = {}
    band_alpha = 0.22 if len(labels) <= 3 else 0.14
    hatched = any(sum(_banded(c) for c in pnl.curves) > 2 for pnl in panels)
    marks: dict[str, bool] = {}
    width = panel_size * ncols
    height = max(panel_size * 0.78, MIN_PANEL_HEIGHT)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height * nrows),
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
                    overlay_index=overlay_index, hatched=hatched, marks=marks)
    for j in range(n, nrows * ncols):
        axes[j // ncols][j % ncols].set_visible(False)
    s_handles, s_labels = _style_handles(curves, band_alpha, hatched=hatched, marks=marks)
    if legend == "figure":
        handles: list[Any] = [Line2D([], [], color=colours[lab], lw=2.2) for lab in labels]
        names = [tex(lab) for lab in labels]
        ov_seen: dict[str, Any] = {}
        for ax in axes.flat:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                if lab not in names and lab not in ov_seen:
                    ov_seen[lab] = h
        handles += list(ov_seen.values()) + s_handles
        names += list(ov_seen) + s_labels
        legend_below(fig, handles, names)
    else:
        legend_below(fig, s_handles, s_labels)
    if title:
        fig.suptitle(tex(title))
    return fig


def plot_curves(curves: Sequence[CurveData], *, title: str | None = None,
                linf_x255: bool = True, logy: bool = False, panel_size: float | None = None,
                facet: bool = False, style: str | Path | None = None,
                width: float | None = None) -> Any:
    """Figure with one panel per norm (every noise in every panel); returns the ``Figure``.

    The band between a proven ``lower`` > 0 and a finite ``upper`` is shaded (hatched when
    more than two bands share a panel); ``lower = 0`` is not shaded (nothing is proven
    there), ``upper = inf`` is a triangle at the top edge.  The proven lower bound is a
    solid line, the upper bound a thin line, the estimate dashed and closed-form overlays
    dotted.  ``facet=True`` draws one panel per noise and norm instead (rows: noises,
    columns: norms), for comparisons where the bands would cover each other.  Panels
    narrower than :data:`unicr.reporting.style.MIN_PANEL_WIDTH` wrap into more rows.  l_inf radii
    are shown x255 unless ``linf_x255=False``.  ``width`` (inches) sets the figure's width,
    e.g. 3.3 for one column of a two-column paper or 7 for both; the panels share it, and
    the fonts keep their size.
    """
    if not curves:
        raise ValueError("plot_curves: no curves to draw")
    norms = sorted(dict.fromkeys(c.norm for c in curves))
    panels = []
    if facet:
        labels = list(dict.fromkeys(c.label for c in curves))
        for lab in labels:
            for p in norms:
                sel = [c for c in curves if c.norm == p and c.label == lab]
                if sel:
                    panels.append(Panel(f"{lab}, {norm_tex(p)}", sel))
        ncols, size = grid_for(len(panels), width,
                               len(norms) if len(norms) > 1 else min(3, len(labels)))
        return plot_panels(panels, ncols=ncols, title=title, linf_x255=linf_x255, logy=logy,
                           panel_size=size or panel_size or (3.0 if len(norms) > 1 else 3.6),
                           style=style)
    for p in norms:
        sel = [c for c in curves if c.norm == p]
        panels.append(Panel(f"{norm_tex(p)}, $d$ = {sel[0].d}", sel))
    ncols, size = grid_for(len(panels), width)
    return plot_panels(panels, ncols=ncols, title=title, linf_x255=linf_x255, logy=logy,
                       panel_size=size or panel_size or 4.0, style=style)


def plot_radius_vs_p(ps: Sequence[float], series: Sequence[tuple[str, np.ndarray, np.ndarray]], *,
                     pa: float, d: int, title: str | None = None, logy: bool = True,
                     panel_size: float = 5.0, style: str | Path | None = None) -> Any:
    """Radius against the norm exponent p at a fixed pA (UniCR Fig. 12).

    ``series`` holds ``(label, lower, upper)`` arrays over ``ps``.  The x axis is logarithmic
    in p; ``p = inf`` (l_inf) is drawn at the right end, after a gap, with the tick label
    "inf" (radii not x255: one axis holds every p).  Band and line styles as in
    :func:`plot_panels`; the band is drawn only where lower > 0 and upper is finite.
    """
    with figure_style(style):
        return _plot_radius_vs_p(ps, series, pa=pa, d=d, title=title, logy=logy,
                                 panel_size=panel_size)


def _plot_radius_vs_p(ps: Sequence[float], series: Sequence[tuple[str, np.ndarray, np.ndarray]], *,
                      pa: float, d: int, title: str | None, logy: bool, panel_size: float) -> Any:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullFormatter

    p_arr = np.asarray(ps, float)
    fin = np.isfinite(p_arr)
    if not fin.any() or np.any(p_arr <= 0):
        raise ValueError("plot_radius_vs_p: give p values > 0, at least one finite")
    x = np.where(fin, p_arr, p_arr[fin].max() * 2.5)
    colours = palette(len(series))
    fig, ax = plt.subplots(figsize=(panel_size * 1.3, panel_size * 0.75), layout="constrained")
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
                    label=tex(label) if part is fin else None, **_LINE_STYLES["lower"])
            ax.plot(xs, np.where(np.isfinite(ups), ups, np.nan), color=col, marker="_", ms=6,
                    **_LINE_STYLES["upper"])
    ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    # label powers of two (and inf); other p values get an unlabelled tick
    major = [i for i, p in enumerate(p_arr) if math.isinf(p) or float(np.log2(p)).is_integer()]
    ax.set_xticks(x[major], [(r"$\infty$" if math.isinf(p_arr[i]) else f"{p_arr[i]:g}")
                             for i in major])
    ax.xaxis.set_minor_locator(FixedLocator(np.delete(x, major)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.axvline(2.0, color="0.5", lw=0.8, ls=":")
    ax.set_xlabel("norm exponent $p$")
    ax.set_ylabel(r"certified $\ell_p$ radius")
    ax.set_title(tex(title) if title else rf"$p_A$ = {pa:g}, $d$ = {d}")
    ax.grid(True, which="both")
    s_handles, s_labels = _style_handles([], 0.18)
    h, lab = ax.get_legend_handles_labels()
    legend_below(fig, h + s_handles, lab + s_labels)
    return fig


#: file formats :func:`save_figure` writes, by suffix
FIGURE_FORMATS = {".png": "png", ".pdf": "pdf", ".svg": "svg"}
#: metadata that would make the same figure differ from run to run, removed per format
_NO_STAMP = {"png": {"Software": None}, "pdf": {"CreationDate": None, "Creator": None,
                                                 "Producer": None},
             "svg": {"Date": None, "Creator": None}}


def save_figure(fig: Any, path: str | Path, dpi: int = 200) -> Path:
    """Write ``fig`` in the format of the file's suffix (.png, .pdf or .svg), cropped to
    what is drawn (``bbox_inches="tight"``, so a legend outside the axes is never cut);
    create the folder; close the figure.  The file is the same on every run."""
    import matplotlib.pyplot as plt

    path = Path(path)
    fmt = FIGURE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        plt.close(fig)
        raise InvalidParameterError(f"figure {path}: the suffix must be one of "
                                    f"{', '.join(FIGURE_FORMATS)}, not {path.suffix or 'none'!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(path, format=fmt, dpi=dpi, bbox_inches="tight", pad_inches=0.04,
                    metadata=_NO_STAMP[fmt])
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
