"""``unicr plot``: saved curve CSVs and results files redrawn (and tabulated) without recomputation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from unicr.cli import main
from unicr.reporting.curves import read_curves_csv
from unicr.reporting.plot import CurveData, write_csv
from unicr.reporting.tables import accuracy_table, parse, radius_table, render

PA = np.array([0.6, 0.8, 0.95])


def run(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse-level errors exit directly
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def csvs(tmp_path):
    exact = [CurveData(label="laplace", norm=p, d=100, pa=PA, lower=PA * k, upper=PA * k * 1.01,
                       method="exact", overlays={"teng": PA * k} if p == 1 else {},
                       overlay_status={"teng": "tight"} if p == 1 else {})
             for p, k in ((1.0, 1.0), (2.0, 0.5))]
    mc = [CurveData(label="laplace", norm=1.0, d=100, pa=PA[:2], lower=np.array([0.0, 0.7]),
                    upper=np.array([0.9, math.inf]), estimate=np.array([0.55, 0.8]),
                    method="mc", confidence=0.999)]
    return write_csv(exact, tmp_path / "exact.csv"), write_csv(mc, tmp_path / "mc.csv")


def _results(tmp_path, name, rows):
    p = tmp_path / name
    p.write_text("idx\tlabel\tpredict\tradius\tcorrect\ttime\n" + "".join(
        f"{i}\t1\t{1 if c else 2}\t{r!r}\t{int(c)}\t-\n" for i, (c, r) in enumerate(rows)))
    return p


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".pdf", b"%PDF"),
                                           (".svg", b"<?xml")])
def test_exact_and_monte_carlo_curves_in_one_figure(tmp_path, capsys, csvs, suffix, magic):
    fig = tmp_path / f"out{suffix}"
    code, out, err = run(capsys, "plot", *csvs, "-o", fig)
    assert code == 0, err
    assert fig.read_bytes().startswith(magic) and f"wrote figure: {fig}" in out


def test_curve_table_has_the_numbers_of_the_csv(tmp_path, capsys, csvs):
    code, out, err = run(capsys, "plot", *csvs, "--table", "csv", "--estimate")
    assert code == 0, err
    table = parse(out, "csv")
    # the same label in two files with different engines gets the engine
    assert "laplace [exact], l1 lower" in table.flat_columns()
    assert "laplace [mc], l1 estimate" in table.flat_columns()
    curves = read_curves_csv(csvs[0])
    assert table.column("laplace [exact], l2 upper") == list(curves[1].upper)
    assert table.column("laplace [mc], l1 upper")[:2] == [0.9, math.inf]
    assert table.column("laplace [mc], l1 status")[:2] == ["upper-only", "lower-only"]
    code, out, _ = run(capsys, "plot", csvs[0], "--table", "md", "--norm", "2")
    assert code == 0 and parse(out, "md").flat_columns() == ["pA", "l2 lower", "l2 upper",
                                                             "l2 status"]
    assert out == render(radius_table([curves[1]]), "md")


def test_same_label_same_engine_gets_the_file_name(tmp_path, capsys, csvs):
    other = tmp_path / "again.csv"
    other.write_text(csvs[0].read_text())
    code, out, err = run(capsys, "plot", csvs[0], other, "--json", "-o", tmp_path / "f.png")
    assert code == 0, err
    labels = {item["noise"] for item in json.loads(out)["items"]}
    assert labels == {"laplace [exact]", "laplace [again]"}


def test_results_files(tmp_path, capsys):
    a = _results(tmp_path, "sigma_0.25.tsv", [(1, 0.3), (1, 0.8), (0, 0.1)])
    b = _results(tmp_path, "sigma_0.5.tsv", [(1, 0.6), (0, 0.2), (1, 1.4)])
    fig = tmp_path / "acc.pdf"
    code, out, err = run(capsys, "plot", a, b, "-o", fig, "--table", "latex", "--radii", "0",
                         "0.5", "1")
    assert code == 0, err
    assert fig.read_bytes().startswith(b"%PDF") and f"wrote figure: {fig}" in err
    assert out == render(accuracy_table([a, b], [0, 0.5, 1]), "latex")
    assert parse(out, "latex").column("noise") == ["sigma_0.25 (unknown noise)",
                                                   "sigma_0.5 (unknown noise)",
                                                   "envelope (R_score)"]
    code, out, err = run(capsys, "plot", a, "--norm", "inf", "-o", tmp_path / "x.png")
    assert code == 2 and "inf" in err


@pytest.mark.parametrize("argv, needle", [
    ([], "nothing to do"),
    (["-o", "x.txt"], "unsupported figure format"),
    (["--table", "md", "--json"], "not both"),
])
def test_bad_options(tmp_path, capsys, csvs, argv, needle):
    code, _, err = run(capsys, "plot", csvs[0], *argv)
    assert code == 2 and needle in err


def test_bad_files(tmp_path, capsys, csvs):
    res = _results(tmp_path, "r.tsv", [(1, 0.5)])
    code, _, err = run(capsys, "plot", csvs[0], res, "--table", "md")
    assert code == 2 and "not both" in err
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\n")
    code, _, err = run(capsys, "plot", junk, "--table", "md")
    assert code == 2 and "neither a curve CSV" in err
    code, _, err = run(capsys, "plot", tmp_path / "missing.csv", "--table", "md")
    assert code == 2 and "missing.csv" in err


def test_plot_is_listed_in_the_help(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "plot" in out
