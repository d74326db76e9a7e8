"""Tables for papers (unicr.reporting.tables): radius, certified-accuracy and validation tables
in Markdown, LaTeX and CSV, read back with the same numbers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import unicr
from unicr.reporting.plot import CurveData
from unicr.reporting.tables import (
    FORMATS,
    Table,
    accuracy_table,
    latex_escape,
    parse,
    radius_table,
    render,
    to_latex,
    validation_table,
    write,
)
from unicr.smoothing.dataset import read_results
from unicr.smoothing.metrics import acr, certified_accuracy, r_scores


def _same(a, b, digits):
    """Cells equal after rendering: numbers to ``digits`` significant digits (all when None)."""
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None
    if isinstance(a, str):
        return a == b
    if math.isinf(a):
        return b == a
    want = a if digits is None else float(f"{a:.{digits}g}")
    return b == want


def _roundtrip(table: Table, fmt: str, digits):
    back = parse(render(table, fmt, digits), fmt)
    assert back.flat_columns() == table.flat_columns()
    assert len(back.rows) == len(table.rows)
    for r, s in zip(table.rows, back.rows):
        for a, b in zip(r, s):
            assert _same(a, b, digits), (fmt, a, b)
    assert back.caption == " ".join(table.caption.split())
    return back


def _curves():
    pa = np.array([0.6, 0.8, 0.99])
    exact = CurveData(label="laplace", norm=1.0, d=10, pa=pa, lower=np.array([0.1, 0.5, 2.5]),
                      upper=np.array([0.1, 0.5, 2.5]), method="exact")
    mc = CurveData(label="my_noise {x}", norm=math.inf, d=10, pa=pa[:2],
                   lower=np.array([0.0, 0.123456789]), upper=np.array([0.25, math.inf]),
                   estimate=np.array([0.2, 0.3]), method="mc", confidence=0.999)
    return [exact, mc]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("digits", [None, 6, 3])
def test_radius_table_round_trip(fmt, digits):
    table = radius_table(_curves(), estimate=True)
    assert table.flat_columns()[:5] == ["pA", "laplace, l1 lower", "laplace, l1 upper",
                                        "laplace, l1 status", "laplace, l1 estimate"]
    back = _roundtrip(table, fmt, digits)
    status = back.column("my_noise {x}, linf status")
    assert status == ["upper-only", "lower-only", None]  # 0.99 is not on the mc grid
    assert back.column("my_noise {x}, linf upper")[1] == math.inf


def test_radius_table_from_a_certificate_array_matches_the_certificates():
    arr = unicr.radius("laplace", pa=[0.6, 0.9, 0.99], norm=1, d=50)
    table = radius_table(arr)
    assert table.column("l1 lower") == [c.lower for c in arr]
    assert table.column("l1 upper") == [c.upper for c in arr]
    assert table.column("l1 status") == ["exact"] * 3
    for fmt in FORMATS:
        _roundtrip(table, fmt, None)


def test_two_sided_rows_have_a_pb_column():
    arr = unicr.radius("gaussian", pa=[0.5, 0.7], pb=0.2, norm=2, d=5)
    table = radius_table(arr)
    assert table.columns[:2] == ("pA", "pB") and table.column("pB") == [0.2, 0.2]


def test_latex_is_booktabs_and_escaped():
    text = to_latex(radius_table(_curves()))
    assert "\\toprule" in text and "\\midrule" in text and "\\bottomrule" in text
    assert "\\multicolumn{3}{c}{my\\_noise \\{x\\}, linf}" in text
    assert "$\\infty$" in text and "\\cmidrule(lr){2-4}" in text
    assert latex_escape("a_b%c&d#e$f{g}h~i^j\\k") == (
        "a\\_b\\%c\\&d\\#e\\$f\\{g\\}h\\textasciitilde{}i\\textasciicircum{}j\\textbackslash{}k")
    for line in text.splitlines():
        if not line.startswith("%") and "\\" not in line:
            assert "_" not in line


def _results(tmp_path, name, correct, radii, sigma=None):
    """A small results file: unicr's header (noise, sigma) or Cohen et al.'s bare columns."""
    lines = []
    if sigma is not None:
        noise = json.dumps({"class": "Gaussian", "name": "gaussian", "params": {},
                            "scale": sigma})
        lines += ["# unicr-certify\t1", f"# noise\t{noise}", f"# sigma\t{sigma!r}",
                  '# settings\t{"alpha":0.001}']
    lines.append("idx\tlabel\tpredict\tradius\tcorrect\ttime")
    for i, (c, r) in enumerate(zip(correct, radii)):
        pred = -1 if r is None else (3 if c else 4)
        rad = "-" if r is None else repr(r)
        lines.append(f"{i}\t3\t{pred}\t{rad}\t{int(c)}\t0:00:01.5")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("fmt", FORMATS)
def test_accuracy_table_numbers_are_the_metrics(tmp_path, fmt):
    a = _results(tmp_path, "a.tsv", [1, 1, 0, 1, 0], [0.3, 1.2, 0.5, 0.05, None], sigma=0.25)
    b = _results(tmp_path, "sigma_0.5.tsv", [1, 0, 1, 1, 1], [0.9, 0.1, 0.45, 2.0, 0.7])
    radii = [0, 0.25, 0.5, 1.0]
    table = accuracy_table([a, b], radii)
    res = [read_results(a), read_results(b)]
    assert table.columns == ("noise", "norm", "images", "r=0", "r=0.25", "r=0.5", "r=1", "ACR")
    assert [r[0] for r in table.rows] == ["gaussian(sigma=0.25)", "sigma_0.5 (unknown noise)",
                                          "envelope (R_score)"]
    for row, r in zip(table.rows, res):
        assert list(row[3:7]) == list(certified_accuracy(r.correct, r.radii["2"], radii))
        assert row[7] == acr(r.correct, r.radii["2"])
    assert table.rows[2][7] == r_scores(res)["2"]
    _roundtrip(table, fmt, None)
    _roundtrip(table, fmt, 4)


def test_validation_table():
    from unicr.validation.verdict import validate_formula

    fv = validate_formula("teng", unicr.noise("laplace"), 1, 100, [0.6, 0.9])
    table = validation_table(fv)
    assert table.columns == ("pA", "claimed", "lower", "upper", "verdict", "margin")
    assert table.column("verdict") == [v.verdict for v in fv.verdicts]
    for fmt in FORMATS:
        _roundtrip(table, fmt, None)


def test_bad_input_is_named(tmp_path):
    with pytest.raises(unicr.UnicrError, match="unknown table format"):
        render(radius_table(_curves()), "html")
    with pytest.raises(unicr.UnicrError, match="radii"):
        accuracy_table(_results(tmp_path, "a.tsv", [1], [0.5]), [-1])
    with pytest.raises(unicr.UnicrError, match="norm"):
        accuracy_table(_results(tmp_path, "a.tsv", [1], [0.5]), [0], norms=["inf"])
    with pytest.raises(unicr.UnicrError, match="digits"):
        render(radius_table(_curves()), "md", 0)
    with pytest.raises(unicr.UnicrError, match="cells"):
        Table(("a", "b"), ((1,),))


def test_write_picks_the_format_from_the_suffix(tmp_path):
    table = radius_table(_curves())
    for suffix, fmt in ((".md", "md"), (".tex", "latex"), (".csv", "csv")):
        p = write(table, tmp_path / f"t{suffix}")
        assert p.read_text() == render(table, fmt)
    assert "0.123457 " in render(table, "md") and "0.123456789" in render(table, "csv")
    with pytest.raises(unicr.UnicrError, match="suffix"):
        write(table, tmp_path / "t.txt")
