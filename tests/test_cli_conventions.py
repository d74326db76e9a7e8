"""Conventions across commands: ``-o`` is ``--out``, ``--table`` on validate, benchmarks that
print unless told ``--write``."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

from unicr.cli import main
from unicr.reporting.tables import parse

ROOT = Path(__file__).resolve().parent.parent
GRID = ["validate", "laplace", "--d", "100", "--formula", "teng", "--pa-grid", "0.6", "0.9", "3"]


def run(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("flag", ["-o", "--out", "--output"])
def test_validate_figure_option_is_out_with_output_as_alias(tmp_path, capsys, flag):
    fig = tmp_path / "v.png"
    code, out, err = run(capsys, *GRID, flag, fig)
    assert code == 0, err
    assert fig.is_file() and f"wrote figure: {fig}" in out


def test_output_is_hidden_from_the_help(capsys):
    code, out, _ = run(capsys, "validate", "--help")
    assert code == 0 and "-o PATH, --out PATH" in out and "--output" not in out
    assert "--table {md,latex,csv}" in out


@pytest.mark.parametrize("fmt", ["md", "latex", "csv"])
def test_validate_table(capsys, fmt):
    code, out, err = run(capsys, *GRID, "--table", fmt)
    assert code == 0, err
    table = parse(out, fmt)
    assert table.columns == ("pA", "claimed", "lower", "upper", "verdict", "margin")
    assert table.column("verdict") == ["TIGHT"] * 3
    assert all(math.isclose(x, y, rel_tol=1e-5) for x, y in
               zip(table.column("lower"), table.column("claimed")))


def test_validate_table_conflicts(capsys, tmp_path):
    code, _, err = run(capsys, *GRID, "--table", "md", "--json")
    assert code == 2 and "not both" in err
    code, _, err = run(capsys, "validate", "--all", "--out", tmp_path, "--table", "md")
    assert code == 2 and "--table" in err


def test_benchmarks_write_the_docs_only_when_asked():
    spec = importlib.util.spec_from_file_location("_doc", ROOT / "benchmarks" / "_doc.py")
    doc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(doc)
    import argparse

    ap = argparse.ArgumentParser()
    doc.add_write_argument(ap)
    assert ap.parse_args([]).write is False
    assert ap.parse_args(["--write"]).write is True
    assert ap.parse_args(["--no-write"]).write is False  # the old opt-out still parses
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        text = script.read_text()
        assert "add_write_argument(ap)" in text, script.name
        assert "not args.no_write" not in text and "if args.no_write" not in text, script.name
