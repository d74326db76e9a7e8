"""Smoke tests of the paper figures (unicr.reporting.figures, ``unicr figures``): PNGs exist and are not
blank, CSVs hold what the figures show and agree with closed forms where one exists."""

from __future__ import annotations

import csv
import json
import math

import matplotlib.image as mpimg
import pytest
from scipy import stats

from unicr.cli import main
from unicr.errors import InvalidParameterError
from unicr.reporting import figures
from unicr.reporting.plot import read_csv

D = 64


pytestmark = pytest.mark.usefixtures("isolated_curve_cache")


def _not_blank(path):
    img = mpimg.imread(path)
    assert path.stat().st_size > 15_000, path
    assert img.shape[0] > 300 and img.shape[1] > 300, path
    rgb = img[..., :3]
    assert rgb.std() > 0.05, path  # pixel variance: lines and text, not an empty canvas
    assert (rgb.mean(axis=-1) < 0.5).mean() > 0.005, path  # some dark ink


def test_every_figure_small(tmp_path, monkeypatch):
    monkeypatch.setattr(figures, "FIG13_SWEEPS", {"gennorm": ((1.0, 2.0), (1.0, 2.0)),
                                            "laplace_gaussian_mix": ((0.5,), (0.5,)),
                                            "exp_mix": ((0.5,), (0.5,))})
    s = figures.Settings.make(quick=True, d=D, points=4, mc_points=2, n_mc=2000)
    out = figures.make_figures(tmp_path / "figs", settings=s)
    assert [r.name for r in out] == list(figures.FIGURES)
    files = [f for r in out for f in r.files]
    pngs = [f for f in files if f.suffix == ".png"]
    assert {p.name for p in pngs} == {"concepts.png", "fig4.png", "fig6_l1.png", "fig7_l2.png",
                                      "fig8_linf.png", "fig12.png", "fig13.png"}
    for p in pngs:
        _not_blank(p)
        assert p.with_suffix(".csv") in files  # every figure writes its CSV
    # Fig. 4: Cohen's tight radius lies in the engine's band; UniCR's ExpInf baseline is
    # drawn with its status
    rows = read_csv(tmp_path / "figs" / "fig4.csv")
    g2 = [r for r in rows if r["noise"] == "gaussian" and r["norm"] == "2"]
    assert g2 and all(r["lower"] <= r["closed_form:cohen"] * (1 + 1e-6) <= r["upper"] * (1 + 2e-6)
                      for r in g2)
    assert any(r["closed_form:unicr_expinf_baseline"] is not None for r in rows)
    # Figs. 6-8: one file per norm, the Table 7 noises
    l1 = read_csv(tmp_path / "figs" / "fig6_l1.csv")
    assert {r["norm"] for r in l1} == {"1"} and "gaussian" in {r["noise"] for r in l1}


def test_fig12_csv_matches_gaussian_closed_form(tmp_path):
    s = figures.Settings.make(quick=True, d=D)
    (res,) = figures.make_figures(tmp_path, ["fig12"], settings=s)
    with (tmp_path / "fig12.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == figures.FIG12_COLUMNS
    g = {r["p"]: r for r in rows if r["noise"] == "gaussian"}
    r2 = stats.norm.ppf(0.9)
    for p in ("0.5", "1", "1.5", "2"):  # p <= 2: the l2 radius (Gaussian, axis direction)
        assert float(g[p]["lower"]) == pytest.approx(r2, rel=1e-6)
    assert float(g["inf"]["lower"]) == pytest.approx(r2 / math.sqrt(D), rel=1e-6)
    assert float(g["4"]["lower"]) < r2  # p > 2: smaller
    _not_blank(tmp_path / "fig12.png")


def test_cli_figures_json(tmp_path, capsys):
    code = main(["figures", "--out", str(tmp_path / "f"), "--only", "fig12", "--quick", "--json"])
    out, _ = capsys.readouterr()
    assert code == 0
    doc = json.loads(out)
    assert doc["quick"] is True and [f["name"] for f in doc["figures"]] == ["fig12"]
    assert all((tmp_path / "f" / n).is_file() for n in ("fig12.png", "fig12.csv"))


def test_bad_figure_arguments(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["figures", "--only", "fig99"])
    assert exc.value.code == 2 and "fig99" in capsys.readouterr().err
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["figures", "--out", str(f), "--only", "fig12"]) == 2
    assert "not a folder" in capsys.readouterr().err
    with pytest.raises(InvalidParameterError, match="unknown figure"):
        figures.make_figures(tmp_path, ["nope"])
