"""Visual regression by structure, not pixels: every figure command's layout is checked with
the renderer (legends inside the figure and clear of titles and plot areas, titles clear of
each other), over 1-4 norms and 1-6 noises, and the file is written for .png, .pdf and .svg.

Every figure a command saves passes through :meth:`matplotlib.figure.Figure.savefig`; the
test wraps it, draws the figure and measures the bounding boxes before the file is written.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from unicr.cli import main
from unicr.reporting.plot import CurveData, plot_curves, save_figure

pytestmark = pytest.mark.usefixtures("isolated_curve_cache")

NOISES6 = ("gaussian", "laplace", "hsecant", "gennorm:beta=1.5",
           "laplace_gaussian_mix:beta=0.5", "exp_mix:beta=0.5")
NORM_SETS = (("2",), ("1", "2"), ("1", "2", "inf"), ("0.5", "1", "2", "inf"))
#: a bounding box may touch another within this many pixels (anti-aliasing, rounding)
TOL = 1.0
ROOT = Path(__file__).resolve().parents[1]


def _overlap(a: Bbox, b: Bbox) -> bool:
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > TOL) and (min(a.y1, b.y1) - max(a.y0, b.y0) > TOL)


def layout_problems(fig: Figure) -> list[str]:
    """What is wrong with ``fig``'s layout, one sentence each (empty: nothing): a legend
    outside the figure or over a title, a plot area, an axis label or another legend; a
    title over another title or an axis label, or outside the figure."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    frame = fig.bbox
    axes = [ax for ax in fig.axes if ax.get_visible()]
    areas = [(f"axes {i} ({ax.get_title()!r})", ax.get_window_extent(renderer))
             for i, ax in enumerate(axes)]
    titles = []
    if fig._suptitle is not None and fig._suptitle.get_text():
        titles.append(("suptitle", fig._suptitle.get_window_extent(renderer)))
    for i, ax in enumerate(axes):
        for t in (ax.title, ax._left_title, ax._right_title):
            if t.get_text():
                titles.append((f"title of axes {i} {t.get_text()!r}", t.get_window_extent(renderer)))
    labels = [(f"{axis} label of axes {i}", lab.get_window_extent(renderer))
              for i, ax in enumerate(axes)
              for axis, lab in (("x", ax.xaxis.label), ("y", ax.yaxis.label)) if lab.get_text()]
    legends = [("figure legend", lg) for lg in fig.legends]
    legends += [(f"legend of axes {i}", ax.get_legend()) for i, ax in enumerate(axes)
                if ax.get_legend() is not None]
    problems = []
    boxes = []
    for name, lg in legends:
        box = lg.get_window_extent(renderer)
        boxes.append((name, box))
        if (box.x0 < frame.x0 - TOL or box.y0 < frame.y0 - TOL or box.x1 > frame.x1 + TOL
                or box.y1 > frame.y1 + TOL):
            problems.append(f"{name} {box.bounds} leaves the figure {frame.bounds}")
        for other, tb in titles + areas + labels:
            if _overlap(box, tb):
                problems.append(f"{name} overlaps {other}")
    for i, (a, ba) in enumerate(boxes):
        for b, bb in boxes[i + 1:]:
            if _overlap(ba, bb):
                problems.append(f"{a} overlaps {b}")
    for i, (a, ta) in enumerate(titles):
        for b, tb in titles[i + 1:]:
            if _overlap(ta, tb):
                problems.append(f"{a} overlaps {b}")
        if ta.x0 < frame.x0 - TOL or ta.x1 > frame.x1 + TOL or ta.y1 > frame.y1 + TOL:
            problems.append(f"{a} leaves the figure")
        for b, lb in labels:
            if _overlap(ta, lb):
                problems.append(f"{a} overlaps {b}")
    return problems


@pytest.fixture
def checked(monkeypatch):
    """Record the layout problems of every figure saved while the test runs."""
    seen: list[tuple[str, list[str]]] = []
    original = Figure.savefig

    def savefig(self, fname, *args, **kwargs):
        seen.append((str(fname), layout_problems(self)))
        return original(self, fname, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return seen


def _assert_clean(seen: list[tuple[str, list[str]]], n: int = 1) -> None:
    assert len(seen) >= n, "no figure was saved"
    bad = [(f, p) for f, p in seen if p]
    assert not bad, "\n".join(f"{f}: {'; '.join(p)}" for f, p in bad)


@pytest.mark.parametrize("norms", NORM_SETS, ids=lambda n: "norms=" + "-".join(n))
@pytest.mark.parametrize("n_noises", (1, 2, 6))
def test_curve_layout(norms, n_noises, tmp_path, checked):
    items = ["--compare", *NOISES6[:n_noises]] if n_noises > 1 else ["gaussian"]
    out = tmp_path / "c.png"
    assert main(["curve", *items, "--norm", *norms, "--d", "4", "--points", "4", "-q",
                 "-o", str(out)]) == 0
    assert out.stat().st_size > 0
    _assert_clean(checked)


@pytest.mark.parametrize("width", ("3.3", "7"))
@pytest.mark.parametrize("norms", (("2",), ("1", "2", "inf")), ids=lambda n: "-".join(n))
def test_curve_paper_width_layout(width, norms, tmp_path, checked):
    """One column (3.3 in) or both columns (7 in) of a two-column paper."""
    assert main(["curve", "--compare", *NOISES6[:4], "--norm", *norms, "--d", "4", "--points",
                 "4", "-q", "--width", width, "-o", str(tmp_path / "w.png")]) == 0
    _assert_clean(checked)
    assert main(["curve", "--compare", *NOISES6[:4], "--norm", *norms, "--d", "4", "--points",
                 "4", "-q", "--width", width, "--facet", "-o", str(tmp_path / "w.png")]) == 0
    _assert_clean(checked)


@pytest.mark.parametrize("n_noises", (1, 3, 6))
def test_curve_facet_layout(n_noises, tmp_path, checked):
    out = tmp_path / "f.png"
    assert main(["curve", "--compare", *NOISES6[:n_noises], "--norm", "1", "2", "--d", "4",
                 "--points", "4", "-q", "--facet", "-o", str(out)]) == 0
    _assert_clean(checked)


@pytest.mark.parametrize("suffix", (".png", ".pdf", ".svg"))
def test_every_format_is_written(suffix, tmp_path, checked):
    out = tmp_path / f"c{suffix}"
    assert main(["curve", "--compare", "gaussian", "laplace", "--norm", "2", "--d", "4",
                 "--points", "4", "-q", "-o", str(out)]) == 0
    head = out.read_bytes()[:64]
    assert {".png": b"\x89PNG", ".pdf": b"%PDF", ".svg": b"<?xml"}[suffix] in head
    _assert_clean(checked)


def _mc_curve(label: str, norm: float, *, d: int = 4) -> CurveData:
    """A sampled curve with what Monte Carlo gives: nothing proven at small pA (lower 0),
    no failing perturbation found at large pA (upper inf)."""
    pa = np.array([0.55, 0.7, 0.85, 0.95, 0.99])
    lower = np.array([0.0, 0.2, 0.5, 0.9, 1.4])
    upper = np.array([0.3, 0.5, 0.9, math.inf, math.inf])
    return CurveData(label, norm, d, pa, lower, upper, estimate=(lower + np.minimum(upper, 2)) / 2,
                     method="mc")


@pytest.mark.parametrize("n_noises", (1, 4))
def test_monte_carlo_band_layout(n_noises, tmp_path, checked):
    curves = [_mc_curve(f"noise {k}", p) for k in range(n_noises) for p in (2.0, math.inf)]
    save_figure(plot_curves(curves, title="Monte Carlo"), tmp_path / "mc.png")
    _assert_clean(checked)


@pytest.mark.parametrize("width", ([], ["--width", "3.3"], ["--width", "7"]),
                         ids=("default", "3.3in", "7in"))
@pytest.mark.parametrize("n_files", (1, 4))
def test_analyze_layout(n_files, width, tmp_path, checked):
    files = sorted((ROOT / "results" / "fashion-mnist").glob("certify-sigma*.tsv"))[:n_files]
    out = tmp_path / "a.png"
    assert main(["analyze", *map(str, files), "-o", str(out), "--json", *width]) == 0
    _assert_clean(checked)


def test_validate_layout(tmp_path, checked):
    out = tmp_path / "v.png"
    assert main(["validate", "gaussian", "--norm", "2", "--d", "4", "--formula", "cohen",
                 "--pa-grid", "0.6", "0.99", "4", "--witness-n", "0", "-o", str(out),
                 "--json"]) == 0
    _assert_clean(checked)


def test_figures_layout(tmp_path, checked, monkeypatch):
    from unicr.reporting import figures

    monkeypatch.setattr(figures, "FIG13_SWEEPS", {"gennorm": ((1.0, 2.0), (1.0, 2.0)),
                                                  "laplace_gaussian_mix": ((0.5,), (0.5,)),
                                                  "exp_mix": ((0.5,), (0.5,))})
    s = figures.Settings.make(quick=True, d=16, points=4, mc_points=2, n_mc=2000)
    figures.make_figures(tmp_path / "figs", ["concepts", "fig6-8", "fig12", "fig13"], settings=s)
    _assert_clean(checked, 6)


# ---------------------------------------------------------------------------
# what the figures say: honest Monte Carlo marks, units, labels, options
# ---------------------------------------------------------------------------


def test_monte_carlo_band_only_where_something_is_proven():
    """No band where lower = 0 (nothing proven) or upper = inf (no failing perturbation):
    the former is an x on the axis, the latter a triangle at the top edge, both in the key."""
    from matplotlib.collections import PolyCollection

    c = _mc_curve("mc noise", 2.0)
    fig = plot_curves([c])
    ax = fig.axes[0]
    xs = np.concatenate([p.vertices[:, 0] for coll in ax.collections
                         if isinstance(coll, PolyCollection) for p in coll.get_paths()])
    assert xs.size and xs.min() >= 0.7 - 1e-9 and xs.max() <= 0.85 + 1e-9  # lower > 0, upper finite
    lines = {ln.get_marker(): ln for ln in ax.get_lines() if ln.get_linestyle() == "None"}
    assert list(lines["x"].get_xdata()) == [0.55]  # lower = 0
    assert list(lines["^"].get_xdata()) == [0.95, 0.99]  # upper = inf
    key = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    assert "lower = 0 (nothing proven)" in key
    assert any(t.startswith(r"upper = $\infty$") for t in key)
    for ln in ax.get_lines():  # the infinite upper bound is never drawn as a line
        assert np.all(np.isfinite(np.asarray(ln.get_ydata(), float)) | np.isnan(ln.get_ydata()))


def test_many_overlapping_bands_are_hatched():
    curves = [CurveData(f"n{k}", 2.0, 4, np.array([0.6, 0.8, 0.95]), np.array([0.2, 0.5, 1.0]),
                        np.array([0.4, 0.9, 1.6])) for k in range(4)]
    ax = plot_curves(curves).axes[0]
    hatches = {coll.get_hatch() for coll in ax.collections}
    assert len(hatches - {None}) == 4  # one hatch per noise instead of stacked alpha


def test_linf_x255_is_the_default_and_can_be_switched_off(tmp_path, capsys):
    csvs = {}
    for flag in ([], ["--no-linf-x255"]):
        out = tmp_path / f"c{len(flag)}.png"
        csvs[len(flag)] = tmp_path / f"c{len(flag)}.csv"
        assert main(["curve", "gaussian", "--norm", "inf", "--d", "4", "--points", "3",
                     "-o", str(out), "--csv", str(csvs[len(flag)]), *flag]) == 0
        text = capsys.readouterr().out
        assert ("l_inf x255" in text) == (not flag)
    assert csvs[0].read_text() == csvs[1].read_text()  # the CSV holds the radius itself


def test_tex_labels():
    from unicr.reporting.style import tex

    assert tex("gennorm (beta=1.5), sigma = 1") == r"gennorm ($\beta$=1.5), $\sigma$ = 1"
    assert tex("cohen, l2 and l_inf") == r"cohen, $\ell_2$ and $\ell_\infty$"
    assert tex(r"$\sigma$ = 1, laplace_gaussian_mix") == r"$\sigma$ = 1, laplace_gaussian_mix"
    assert tex("l_0.5 ball, alphabet") == r"$\ell_{0.5}$ ball, alphabet"


def test_style_option(tmp_path, capsys):
    out = tmp_path / "s.pdf"
    assert main(["curve", "gaussian", "--norm", "2", "--d", "4", "--points", "3", "-q",
                 "--style", "seaborn-v0_8-paper", "-o", str(out)]) == 0
    assert out.read_bytes()[:4] == b"%PDF"
    sheet = tmp_path / "journal.mplstyle"
    sheet.write_text("font.family: serif\n")
    assert main(["curve", "gaussian", "--norm", "2", "--d", "4", "--points", "3", "-q",
                 "--style", str(sheet), "-o", str(tmp_path / "s.svg")]) == 0
    capsys.readouterr()
    assert main(["curve", "gaussian", "--norm", "2", "--points", "3", "--style", "nosuch",
                 "-o", str(tmp_path / "x.png")]) == 2
    assert "--style 'nosuch'" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_save_figure_refuses_an_unknown_suffix(tmp_path):
    from unicr.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=r"\.jpg"):
        save_figure(plot_curves([_mc_curve("a", 2.0)]), tmp_path / "f.jpg")


def test_figures_format_and_style(tmp_path):
    from unicr.reporting import figures

    s = figures.Settings.make(quick=True, d=8, points=3)
    out = figures.make_figures(tmp_path, ["fig12"], settings=s, fmt="svg",
                               style="seaborn-v0_8-paper")
    assert {f.suffix for f in out[0].files} == {".svg", ".csv"}


def test_analyze_merges_identical_norms_and_scales_linf(tmp_path, capsys):
    """Gaussian noise gives the same l1 and l2 radii: one panel, one table; l_inf in x255
    units with its own radii (the old default 0-1 gave all-zero l_inf columns)."""
    import json

    from unicr.smoothing.dataset import read_results
    from unicr.smoothing.plots import plot_results

    files = sorted((ROOT / "results" / "fashion-mnist").glob("certify-sigma*.tsv"))[:2]
    fig = plot_results([read_results(f) for f in files])
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == 2 and titles[0].startswith(r"$\ell_1$ = $\ell_2$")
    assert r"$\times$255" in fig.axes[1].get_xlabel()
    assert main(["analyze", *map(str, files)]) == 0
    text = capsys.readouterr().out
    assert "l_2: the same radii as l_1" in text and "l_inf (x255)" in text and "r=8" in text
    assert main(["analyze", *map(str, files), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["same_radii"] == [["1", "2"]]
    linf = [r for r in data["rows"] if r["norm"] == "inf"][0]
    assert linf["radii"] == pytest.approx([0, 1 / 255, 2 / 255, 4 / 255, 8 / 255])
    assert max(linf["certified_accuracy"][1:]) > 0.5  # not all zero any more
    assert main(["analyze", str(files[0]), "--json", "--no-linf-x255", "--radii-linf",
                 "0", "0.01"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r for r in rows if r["norm"] == "inf"][0]["radii"] == [0.0, 0.01]
