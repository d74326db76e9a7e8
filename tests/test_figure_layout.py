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
    """What is wrong with ``fig``'s layout, one sentence each (empty: nothing)."""
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
        for other, tb in titles + areas:
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


@pytest.mark.parametrize("n_files", (1, 4))
def test_analyze_layout(n_files, tmp_path, checked):
    files = sorted((ROOT / "results" / "fashion-mnist").glob("certify-sigma*.tsv"))[:n_files]
    out = tmp_path / "a.png"
    assert main(["analyze", *map(str, files), "-o", str(out), "--json"]) == 0
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
