r"""One look for every figure unicr draws (``curve``, ``validate``, ``figures``, ``analyze``).

What is fixed here, so that a figure can go into a paper as it is:

* **rcParams** (:data:`BASE_RC`): font sizes readable at a two-column paper's width,
  mathtext in the same sans-serif as the text, no top/right spines, light grid;
  :func:`figure_style` applies them, then the user's style sheet (``--style``: a
  matplotlib style name or a ``.mplstyle`` path) on top, so a journal's sheet wins;
* **labels in mathtext** (:func:`tex`): ``sigma`` -> $\sigma$, ``beta`` -> $\beta$,
  ``l_inf`` / ``l2`` -> $\ell_\infty$ / $\ell_2$ (:func:`norm_tex`);
* **legends outside the axes**: :func:`legend_below` puts a figure's legend under all
  panels, :func:`panel_legend` puts a panel's own legend under that panel; neither can
  cover a curve or a title (``tests/test_figure_layout.py`` checks this with the renderer);
* **colours and hatches** (:func:`palette`, :data:`HATCHES`): qualitative colours in a fixed
  order, and one hatch per band when several bands share a panel;
* **the l_inf unit** (:data:`LINF_FACTOR`): l_inf radii are shown x255 (pixel levels of an
  8-bit image) by default, as in the papers; data files always hold the radius itself.

The file format of a saved figure is chosen by its suffix
(:func:`unicr.reporting.plot.save_figure`).
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from unicr.certificate import norm_label
from unicr.errors import InvalidParameterError

__all__ = ["BASE_RC", "HATCHES", "LINF_FACTOR", "MIN_PANEL_HEIGHT", "MIN_PANEL_WIDTH",
           "STYLE_HELP", "check_style", "figure_style", "grid_for", "legend_below",
           "linf_factor", "norm_tex", "palette", "panel_legend", "radius_unit_tex", "tex"]

#: l_inf radii are multiplied by this in figures (pixel levels of an 8-bit image)
LINF_FACTOR = 255.0
#: smallest panel (inches): narrower figures put their panels in more rows instead
MIN_PANEL_WIDTH = 2.2
MIN_PANEL_HEIGHT = 2.0

#: unicr's rcParams; a user's ``--style`` sheet is applied on top of them
BASE_RC: dict[str, Any] = {
    "font.size": 9.0,
    "axes.titlesize": 9.0,
    "axes.labelsize": 9.0,
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "legend.fontsize": 8.0,
    "figure.titlesize": 10.0,
    "mathtext.fontset": "dejavusans",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.5,
    "legend.frameon": False,
    "hatch.linewidth": 0.8,
    "savefig.dpi": 200,
}

#: one hatch per band when several bands share a panel (drawn in the curve's colour)
HATCHES = ("////", "\\\\\\\\", "||||", "----", "xxxx", "....", "++++", "oo")

STYLE_HELP = ("matplotlib style sheet for the figure: a name (see "
              "matplotlib.style.available, e.g. seaborn-v0_8-paper) or a .mplstyle path; "
              "applied on top of unicr's own style")

_ACTIVE: ContextVar[bool] = ContextVar("unicr_figure_style", default=False)

_WORDS = ("sigma", "beta", "alpha", "lambda", "mu", "rho", "tau", "kappa", "nu")
_WORD_RE = re.compile(r"(?<![\\A-Za-z])(" + "|".join(_WORDS) + r")(?![A-Za-z])")
_NORM_RE = re.compile(r"(?<![A-Za-z\\])l_?(inf|infty|\d+(?:\.\d+)?)(?![A-Za-z0-9])")


def check_style(style: str | Path | None, option: str = "--style") -> str | None:
    """The style sheet's name or path as a string, or an error naming ``option``.

    A name must be one of ``matplotlib.style.available``; anything with a path separator or a
    ``.mplstyle`` suffix must be an existing file.
    """
    if style is None:
        return None
    import matplotlib.style as mstyle

    text = str(style)
    if text in mstyle.available or text == "default":
        return text
    path = Path(text)
    if path.suffix == ".mplstyle" or len(path.parts) > 1:
        if not path.is_file():
            raise InvalidParameterError(f"{option} {text}: no such style file")
        return str(path)
    close = [s for s in mstyle.available if text.lower() in s.lower()][:4]
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise InvalidParameterError(
        f"{option} {text!r} is neither a matplotlib style name nor a .mplstyle file{hint}")


@contextlib.contextmanager
def figure_style(style: str | Path | None = None) -> Iterator[None]:
    """Apply :data:`BASE_RC`, then ``style`` (name or path), for the figures made inside.

    Nested use keeps the outer style: a library function that opens ``figure_style()``
    inside a command's ``figure_style(user_style)`` does not reset the user's sheet.
    """
    if _ACTIVE.get() and style is None:
        yield
        return
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    sheets: list[Any] = [BASE_RC]
    if style is not None:
        sheets.append(check_style(style))
    token = _ACTIVE.set(True)
    try:
        with plt.style.context(sheets):
            yield
    finally:
        _ACTIVE.reset(token)


def norm_tex(p: float) -> str:
    r"""Matplotlib mathtext for l_p: ``$\ell_1$``, ``$\ell_\infty$``, ``$\ell_{0.5}$``."""
    if math.isinf(p):
        return r"$\ell_\infty$"
    lab = norm_label(p)
    return rf"$\ell_{{{lab}}}$" if len(lab) > 1 else rf"$\ell_{lab}$"


def tex(text: str) -> str:
    r"""Plain-text labels in mathtext: ``"gennorm (beta=1.5), sigma = 1, l_inf"`` ->
    ``"gennorm ($\beta$=1.5), $\sigma$ = 1, $\ell_\infty$"``.

    Only text outside ``$...$`` is changed; Greek letters are replaced as whole words
    (``sigma``, ``beta``, ...), norms as ``l1``, ``l_2``, ``l_inf``.
    """
    parts = text.split("$")
    for i in range(0, len(parts), 2):  # even parts lie outside mathtext
        seg = _WORD_RE.sub(lambda m: rf"$\{m.group(1)}$", parts[i])
        seg = _NORM_RE.sub(lambda m: norm_tex(math.inf if m.group(1).startswith("inf")
                                              else float(m.group(1))), seg)
        parts[i] = seg
    return "$".join(parts)


def linf_factor(p: float, linf_x255: bool) -> float:
    """:data:`LINF_FACTOR` for an l_inf radius shown x255, else 1."""
    return LINF_FACTOR if (linf_x255 and math.isinf(p)) else 1.0


def radius_unit_tex(p: float, linf_x255: bool) -> str:
    r"""Unit suffix of an axis label: ``" ($\times$255)"`` for l_inf shown x255, else ``""``."""
    return r" ($\times$255)" if linf_factor(p, linf_x255) != 1.0 else ""


def grid_for(n: int, width: float | None, ncols: int | None = None) -> tuple[int, float]:
    """Columns and panel width (inches) for ``n`` panels in a figure ``width`` inches wide:
    ``ncols`` (default: all in one row) reduced until every panel is at least
    :data:`MIN_PANEL_WIDTH` wide.  Without ``width``: ``(ncols or n, 0.0)``."""
    cols = max(1, min(n, ncols or n))
    if not width:
        return cols, 0.0
    cols = max(1, min(cols, int(width // MIN_PANEL_WIDTH)))
    return cols, width / cols


def palette(n: int) -> list[Any]:
    """``n`` qualitative colours: tab10, or tab20 with the saturated colours first."""
    import matplotlib.pyplot as plt

    if n <= 10:
        cmap = plt.get_cmap("tab10")
        return [cmap(i) for i in range(n)]
    cmap = plt.get_cmap("tab20")
    order = list(range(0, 20, 2)) + list(range(1, 20, 2))
    return [cmap(order[i % 20]) for i in range(n)]


def _text_width(label: str, fontsize: float) -> float:
    """Width of ``label`` (mathtext allowed) at ``fontsize``, in inches, without a renderer."""
    from matplotlib.textpath import TextPath

    try:
        return float(TextPath((0, 0), label, size=fontsize).get_extents().width) / 72.0
    except ValueError:  # a label mathtext cannot parse: count characters
        return len(label) * fontsize * 0.6 / 72.0


def _columns(labels: Sequence[str], width_in: float, fontsize: float) -> int:
    """Legend columns that fit ``width_in`` inches, from the widest label."""
    em = fontsize / 72.0
    widest = max((_text_width(lab, fontsize) for lab in labels), default=em)
    col = widest + 2.8 * em + 2.0 * em  # handle and its pad, then the column spacing
    return max(1, min(len(labels), int((width_in - 0.1 + 2.0 * em) // col)))


def legend_below(fig: Any, handles: Sequence[Any], labels: Sequence[str], *,
                 fontsize: float | None = None, grow: bool = True) -> Any:
    """One legend under all panels (constrained layout makes room for it).

    Columns are chosen so the legend fits the figure's width; with ``grow`` the figure
    gets taller by the legend's rows, so the panels keep their size.
    """
    import matplotlib as mpl

    if not labels:
        return None
    size = fontsize or _font_points(mpl.rcParams["legend.fontsize"])
    width, height = fig.get_size_inches()
    ncol = _columns(labels, width, size)
    leg = fig.legend(list(handles), list(labels), loc="outside lower center", ncol=ncol,
                     fontsize=size, frameon=False)
    if grow:
        fig.set_size_inches(width, height + (size * 1.45 / 72) * math.ceil(len(labels) / ncol))
    return leg


def panel_legend(ax: Any, handles: Sequence[Any] | None = None,
                 labels: Sequence[str] | None = None, *, ncol: int | None = None) -> Any:
    """A panel's own legend, under the panel's x label (outside the plot area)."""
    import matplotlib as mpl

    if handles is None or labels is None:
        handles, labels = ax.get_legend_handles_labels()
    if not labels:
        return None
    size = _font_points(mpl.rcParams["legend.fontsize"])
    width = ax.figure.get_size_inches()[0] / max(1, len(ax.figure.axes))
    ncol = ncol or _columns(labels, max(width, 2.0), size)
    below = _xlabel_depth_points()
    from matplotlib.transforms import ScaledTranslation

    anchor = ax.transAxes + ScaledTranslation(0.0, -below / 72.0, ax.figure.dpi_scale_trans)
    return ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                     bbox_transform=anchor, ncol=ncol, fontsize=size, frameon=False,
                     borderaxespad=0.0)


def _font_points(value: Any) -> float:
    """A font size rcParam in points (named sizes such as "medium" resolved)."""
    from matplotlib.font_manager import FontProperties

    return float(FontProperties(size=value).get_size_in_points())


def _xlabel_depth_points() -> float:
    """How far below the plot area the x tick labels and the x label reach, in points
    (from the current rcParams), plus a small gap: where a panel legend can start."""
    import matplotlib as mpl

    rc = mpl.rcParams
    ticks = rc["xtick.major.size"] + rc["xtick.major.pad"] + _font_points(rc["xtick.labelsize"])
    label = rc["axes.labelpad"] + 1.5 * _font_points(rc["axes.labelsize"])  # room for subscripts
    return float(ticks + label + 4.0)
