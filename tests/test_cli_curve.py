"""``unicr curve`` end to end (in-process): files, CSV columns, JSON, exit codes."""

from __future__ import annotations

import json
import math

import matplotlib.image as mpimg
import numpy as np
import pytest
from scipy import stats

from unicr.cli import main
from unicr.reporting.plot import CSV_COLUMNS, read_csv

SMALL = ["--d", "64", "--points", "5"]


pytestmark = pytest.mark.usefixtures("isolated_curve_cache")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_figure_and_csv_written(tmp_path, capsys):
    png, csv_path = tmp_path / "out" / "g.png", tmp_path / "g.csv"
    code, out, _ = run(capsys, "curve", "gaussian", "--norm", "2", "inf", *SMALL, "-o", png,
                       "--csv", csv_path, "--linf-x255", "--sigma", "0.5")
    assert code == 0
    assert f"wrote figure: {png}" in out and f"wrote csv: {csv_path} (10 rows)" in out
    assert "cohen" in out  # the summary shows the auto overlay
    img = mpimg.imread(png)
    assert png.stat().st_size > 20_000 and img[..., :3].std() > 0.05
    header = csv_path.read_text().splitlines()[0].split(",")
    assert header == list(CSV_COLUMNS) + ["closed_form:cohen", "closed_form:gaussian_linf_conversion"]
    rows = read_csv(csv_path)
    l2 = [r for r in rows if r["norm"] == "2"]
    pa = np.array([r["pa"] for r in l2])
    assert np.allclose([r["lower"] for r in l2], 0.5 * stats.norm.ppf(pa), rtol=1e-5)
    assert all(r["method"] == "exact" and r["confidence"] == 1.0 and r["estimate"] is None
               for r in rows)
    linf = [r for r in rows if r["norm"] == "inf"]  # the CSV holds radii, never x255
    assert linf[-1]["lower"] == pytest.approx(l2[-1]["lower"] / 8, rel=1e-5)


def test_json_output_is_parseable(capsys):
    code, out, _ = run(capsys, "curve", "--compare", "gaussian", "laplace", "gennorm:beta=1",
                       "--norm", "1", *SMALL, "--json", "--overlay", "teng")
    assert code == 0
    doc = json.loads(out)
    assert doc["files"] == {}
    labels = [c["noise"] for c in doc["curves"]]
    assert labels == ["gaussian", "laplace", "gennorm (beta=1)"]
    for c in doc["curves"]:
        assert len(c["pa"]) == 5 and c["norm"] == "1" and c["d"] == 64
        assert all(lo <= up for lo, up in zip(c["lower"], c["upper"]))
    lap, gn1 = doc["curves"][1], doc["curves"][2]
    assert lap["closed_form"]["teng"]["status"] == "tight"
    assert gn1["closed_form"]["teng"]["values"] == pytest.approx(lap["closed_form"]["teng"]["values"])
    assert "teng" not in doc["curves"][0]["closed_form"]


def test_compare_mixed_engines_and_quiet(tmp_path, capsys):
    csv_path = tmp_path / "c.csv"
    code, out, _ = run(capsys, "curve", "--compare", "gaussian", "exp2", "--norm", "2",
                       "--d", "16", "--points", "2", "--pa-min", "0.6", "--pa-max", "0.9",
                       "--n-mc", "2000", "--csv", csv_path, "--quiet")
    assert code == 0 and out.strip() == f"wrote csv: {csv_path} (4 rows)"
    rows = read_csv(csv_path)
    assert [r["method"] for r in rows] == ["exact", "exact", "mc", "mc"]
    assert rows[2]["confidence"] == pytest.approx(0.999) and rows[2]["estimate"] > 0


def test_summary_without_files(capsys):
    code, out, _ = run(capsys, "curve", "laplace", "--norm", "1", *SMALL, "--overlay", "none")
    assert code == 0 and "no files written" in out and "teng" not in out
    assert "laplace: l_1, d = 64, method exact" in out


@pytest.mark.parametrize("argv,needle", [
    (["curve", "nosuchnoise"], "unknown noise"),
    (["curve"], "give one NOISE"),
    (["curve", "gaussian", "--compare", "laplace"], "not both"),
    (["curve", "--compare", "gennorm", "--param", "beta=1"], "NAME:key=value"),
    (["curve", "gaussian", "--pa-min", "0.4"], "--pa-min must be >= 0.5"),
    (["curve", "gaussian", "--pa-max", "1"], "--pa-max must be < 1"),
    (["curve", "gaussian", "--points", "0"], "positive integer"),
    (["curve", "gaussian", "--points", "1"], "points must be >= 2"),
    (["curve", "gaussian", "--norm", "-1"], "norm"),
    (["curve", "gaussian", "--d", "0"], "positive integer"),
    (["curve", "gaussian", "-o", "x.xyz"], "unsupported figure format"),
    (["curve", "gaussian", "--overlay", "cohenn"], "unknown formula"),
    (["curve", "gaussian", "--overlay", "teng", "--norm", "2"], "applies to none"),
    (["curve", "exp2", "--method", "exact"], "exact engine needs product"),
    (["curve", "gaussian", "--n-mc", "100"], "--n-mc"),
    (["curve", "--compare", "gennorm:beta=abc"], "not a number"),
    (["curve", "gennorm", "--param", "beta=-1"], "beta"),
    (["curve", "cauchy", "--sigma", "1"], "infinite variance"),
    (["curve", "gaussian", "--method", "fast"], "invalid choice"),
])
def test_bad_input_exit_code_2(capsys, argv, needle):
    with pytest.raises(SystemExit) as exc:  # argparse-level errors exit directly
        raise SystemExit(main(argv + (["--d", "16"] if "--d" not in argv else [])))
    _, err = capsys.readouterr()
    assert exc.value.code == 2
    assert needle in err
    assert "Traceback" not in err


def test_bad_output_paths(tmp_path, capsys):
    code, _, err = run(capsys, "curve", "gaussian", *SMALL, "-o", tmp_path)
    assert code == 2 and "is a directory" in err
    code, _, err = run(capsys, "curve", "gaussian", *SMALL, "-o", tmp_path / "fig")
    assert code == 2 and "unsupported figure format" in err
    (tmp_path / "d.png").mkdir()
    code, _, err = run(capsys, "curve", "gaussian", *SMALL, "-o", tmp_path / "d.png")
    assert code == 2 and "is a directory" in err
    code, _, err = run(capsys, "curve", "gaussian", *SMALL, "--csv", tmp_path)
    assert code == 2 and "is a directory" in err


def test_two_sided_curve(tmp_path, capsys):
    code, out, _ = run(capsys, "curve", "gaussian", "--norm", "2", *SMALL, "--pb", "0.1",
                       "--pa-min", "0.3", "--pa-max", "0.9", "--json", "--overlay", "cohen")
    assert code == 0
    (c,) = json.loads(out)["curves"]
    pa = np.array(c["pa"])
    want = 0.5 * (stats.norm.ppf(pa) - stats.norm.ppf(0.1))  # Cohen et al. two-sided
    assert np.allclose(c["closed_form"]["cohen"]["values"], want)
    assert np.all(np.array(c["lower"]) <= want * (1 + 1e-6))
    assert all(math.isclose(b, 0.1) for b in c["pb"])
