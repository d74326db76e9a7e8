"""Hostile command lines (issue #11): every bad input is exit 2 with one line that names it,
found before any expensive work; the help examples run; the CLI stays torch-free until a
command needs a model."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from unicr.cli import main

ROOT = Path(__file__).resolve().parent.parent
UNWRITABLE = "/proc/unicr-nope"  # /proc refuses new entries, even to root


def run(capsys, argv: list[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse-level errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    """The error line of stderr (argparse adds a usage line before it); no traceback."""
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if "error:" in ln]
    assert len(lines) == 1, err
    return lines[0]


RESULTS = "# unicr-certify\t1\nidx\tlabel\tpredict\tradius\tcorrect\ttime\n"


@pytest.mark.parametrize("argv,needle", [
    # unwritable, a directory, a parent that cannot be created, an unsupported type
    (["curve", "gaussian", "--norm", "2", "-o", f"{UNWRITABLE}/x.png"], UNWRITABLE),
    (["curve", "gaussian", "--norm", "2", "-o", "{tmp}"], "{tmp}"),
    (["curve", "gaussian", "--norm", "2", "--csv", "/proc/x.csv"], "/proc/x.csv"),
    (["curve", "gaussian", "--norm", "2", "-o", "{tmp}/fig.txt"], "'.txt'"),
    (["curve", "gaussian", "--norm", "2", "--csv", "{tmp}/sub"], "'(no suffix)'"),
    (["validate", "gaussian", "--d", "10", "--formula", "cohen", "--pa-grid", "0.6", "0.9", "3",
      "-o", f"{UNWRITABLE}/v.png"], UNWRITABLE),
    (["validate", "gaussian", "--d", "10", "--formula", "cohen", "--pa", "0.9", "--csv",
      "{tmp}"], "is a directory"),
    (["validate", "--all", "--out", f"{UNWRITABLE}/report"], UNWRITABLE),
    (["validate", "--all", "--out", "{tmp}/file.txt"], "not a folder"),
    (["figures", "--out", f"{UNWRITABLE}/figs", "--quick"], UNWRITABLE),
    (["analyze", "{tmp}/r.tsv", "-o", "{tmp}/x.txt"], "'.txt'"),
    (["analyze", "{tmp}/r.tsv", "-o", f"{UNWRITABLE}/x.png"], UNWRITABLE),
    (["certify", "--model", "{tmp}/m.pt", "--data", "fashion-mnist", "--noise", "gaussian",
      "--out", f"{UNWRITABLE}/r.tsv"], UNWRITABLE),
    (["certify", "--model", "{tmp}/m.pt", "--data", "fashion-mnist", "--noise", "gaussian",
      "--out", "{tmp}"], "is a directory"),
    (["train", "--data", "fashion-mnist", "--data-dir", "{tmp}/no-data", "--arch", "mlp",
      "--noise", "gaussian", "--epochs", "1", "--out", f"{UNWRITABLE}/m.pt"], UNWRITABLE),
])
def test_bad_output_path_is_exit_2_before_the_work(capsys, tmp_path, argv, needle):
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "r.tsv").write_text(RESULTS)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    t0 = time.perf_counter()
    code, _, err = run(capsys, argv)
    seconds = time.perf_counter() - t0
    assert code == 2, err
    line = one_line_error(err)
    assert needle.replace("{tmp}", str(tmp_path)) in line, line
    # refused up front: `validate --all` takes a minute, `curve` a few seconds per norm, and
    # certify/train would first load the model and the data (absent here)
    assert seconds < 3.0, (argv, seconds)


def test_missing_parent_folders_are_created(capsys, tmp_path):
    fig = tmp_path / "a" / "b" / "fig.svg"
    csv = tmp_path / "c" / "t.csv"
    code, out, err = run(capsys, ["curve", "gaussian", "--norm", "2", "--points", "3", "-o",
                                  str(fig), "--csv", str(csv), "-q", "--no-cache"])
    assert code == 0, err
    assert fig.read_text().lstrip().startswith("<?xml") and csv.read_text().startswith("noise")


@pytest.mark.parametrize("argv,needle", [
    (["validate", "gaussian", "--d", "10", "--formula", "cohen", "--pa", "0.9", "--rtol", "-1"],
     "rtol"),
    (["validate", "gaussian", "--d", "10", "--formula", "cohen", "--pa", "0.9", "--rtol", "nan"],
     "rtol"),
    (["validate", "gaussian", "--d", "10", "--formula", "cohen", "--pa", "0.9", "--rtol", "inf"],
     "rtol"),
    (["validate", "gaussian", "--d", "10", "--formula", "cohen", "--pa", "0.9", "--rtol", "0"],
     "rtol"),
    (["validate", "gaussian", "--d", "10", "--norm", "2", "--claimed", "nan", "--pa", "0.9"],
     "--claimed"),
    (["validate", "gaussian", "--d", "10", "--formula", "cohen", "--pa-grid", "nan", "0.9", "3"],
     "--pa-grid"),
    (["validate", "gaussian", "--d", "10", "--formula", "cohen", "--pa", "0.9", "--witness-n",
      "-5"], "--witness-n"),
    (["radius", "gaussian", "--pa", "0.9", "--sigma", "nan"], "--sigma"),
    (["radius", "gaussian", "--pa", "0.9", "--sigma", "-1"], "--sigma"),
    (["radius", "gaussian", "--pa", "0.9", "--scale", "inf"], "--scale"),
    (["radius", "gennorm", "--pa", "0.9", "--param", "beta=nan"], "beta"),
    (["radius", "gaussian", "--pa", "0.9", "--method", "mc", "--seed", "-1"], "--seed"),
    (["pdfs", "show", "exp2", "--d", "0"], "--d"),
    (["curve", "gaussian", "--pa-max", "nan"], "--pa-max"),
    (["analyze", "x.tsv", "--radii", "0", "inf"], "--radii"),
    (["analyze", "x.tsv", "--radii", "-1"], "--radii"),
    (["certify", "--model", "m.pt", "--data", "cifar10", "--noise", "gaussian", "--out", "o.tsv",
      "--alpha-split", "nan"], "--alpha-split"),
    (["certify", "--model", "m.pt", "--data", "cifar10", "--noise", "gaussian", "--out", "o.tsv",
      "--split-grid", "0.5", "2"], "--split-grid"),
    (["train", "--data", "cifar10", "--arch", "mlp", "--noise", "none", "--epochs", "1",
      "--out", "m.pt", "--lr", "nan"], "--lr"),
    (["train", "--data", "cifar10", "--arch", "mlp", "--noise", "none", "--epochs", "1",
      "--out", "m.pt", "--weight-decay", "-1"], "--weight-decay"),
    (["train", "--data", "cifar10", "--arch", "mlp", "--noise", "none", "--epochs", "1",
      "--out", "m.pt", "--lr-gamma", "inf"], "--lr-gamma"),
])
def test_non_finite_or_negative_numbers_are_exit_2(capsys, tmp_path, monkeypatch, argv, needle):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, argv)
    assert code == 2, err
    assert needle in one_line_error(err)


def test_rtol_is_checked_by_the_python_api():
    import unicr
    from unicr.errors import InvalidParameterError
    from unicr.validation.verdict import validate_formula, verdict_from_band

    for bad in (-1.0, float("nan"), float("inf"), 0.0, 1.0):
        with pytest.raises(InvalidParameterError, match="rtol"):
            unicr.validate("gaussian", 2, 10, 0.9, 1.0, rtol=bad)
        with pytest.raises(InvalidParameterError, match="rtol"):
            validate_formula("cohen", "gaussian", d=10, pas=[0.9], rtol=bad)
        with pytest.raises(InvalidParameterError, match="rtol"):
            verdict_from_band(1.0, 1.0, 1.0, rtol=bad)
    # the exact Gaussian radius is TIGHT against its own band with a sane tolerance
    assert verdict_from_band(1.0, 1.0, 1.0, rtol=1e-3)[0] == "TIGHT"


def test_pdfs_show_joint_noise_needs_d(capsys):
    code, _, err = run(capsys, ["pdfs", "show", "exp2"])
    assert code == 2 and "--d" in one_line_error(err) and "exp2" in err
    code, out, _ = run(capsys, ["pdfs", "show", "exp2", "--d", "12"])
    assert code == 0 and "dimension d = 12" in out
    code, out, _ = run(capsys, ["pdfs", "show", "gaussian"])  # product noise: no --d needed
    assert code == 0 and "dimension" not in out
    code, _, err = run(capsys, ["pdfs", "show", "gennorm", "--param", "beta=-1"])
    assert code == 2 and "beta" in one_line_error(err)  # other errors pass through unchanged


#: help examples that are parsed but not run here: they take minutes (covered elsewhere)
SLOW_EXAMPLES = ("validate --all",)


def help_examples() -> list[tuple[str, str]]:
    """(command, example) for every `unicr ...` line in the --help of every (sub)command."""
    import argparse

    from unicr.cli import build_parser

    found: list[tuple[str, str]] = []

    def walk(parser: argparse.ArgumentParser) -> None:
        lines = parser.format_help().splitlines()
        buf = ""
        for raw in lines:
            s = raw.strip()
            if buf:
                buf += " " + s.rstrip("\\").strip()
            elif s.startswith("unicr ") and not s.startswith("unicr: "):
                buf = s.rstrip("\\").strip()
            if buf and not s.endswith("\\"):
                found.append((parser.prog, buf))
                buf = ""
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in dict.fromkeys(action.choices.values()):
                    walk(sub)

    walk(build_parser())
    return found


def test_help_has_examples():
    progs = {prog for prog, _ in help_examples()}
    assert {"unicr validate", "unicr radius", "unicr curve"} <= progs


@pytest.mark.parametrize("prog,example", help_examples())
def test_every_help_example_runs(prog, example, tmp_path, monkeypatch, capsys):
    import shlex

    from unicr.cli import build_parser

    argv = shlex.split(example)[1:]
    build_parser().parse_args(argv)  # parses (argparse exits 2 otherwise)
    if any(example.startswith("unicr " + s) for s in SLOW_EXAMPLES):
        return
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, argv)
    assert code == 0, (example, err)


@pytest.mark.parametrize("argv,want", [
    (["radius", "exp2", "--pa", "0.9", "--d", "10", "--method", "exact"], "--method mc"),
    (["curve", "exp2", "--d", "10", "--norm", "2", "--method", "exact"], "--method mc"),
    (["radius", "gaussian", "--pa", "0.9", "--n-mc", "1000"], "--method mc"),
])
def test_messages_use_the_command_line_spelling(capsys, argv, want):
    code, _, err = run(capsys, argv)
    assert code == 2
    line = one_line_error(err)
    assert want in line and "method='" not in line and "unicr.radius(" not in line, line


def test_cli_spelling_rewrites_only_options_of_the_command():
    from unicr.cli.common import cli_spelling

    opts = {"method": "--method", "n_mc": "--n-mc", "backend": "--backend"}
    assert cli_spelling("use unicr.radius(..., method='mc') for joint noises", opts) == \
        "use --method mc for joint noises"
    assert cli_spelling("unknown option(s) for method='mc': n_mc", opts) == \
        "unknown option(s) for --method mc: --n-mc"
    assert cli_spelling("with backend='numpy'; sigma=0.5", opts) == "with --backend numpy; sigma=0.5"


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_curve_progress_bar_shows_on_a_terminal(tmp_path):
    """The bar used to appear only when the last step finished (then was cleared at once):
    a single exact curve is one long step.  Run the CLI on a pseudo-terminal (with a window
    size, as a real terminal has) and look for the bar drawn *during* the step."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    env = {**os.environ, "MPLBACKEND": "Agg", "UNICR_CACHE_DIR": str(tmp_path),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "unicr.cli", "curve", "gennorm", "--param", "beta=3", "--norm",
         "1", "2", "inf", "--points", "50", "--no-cache"],
        stdin=slave, stdout=subprocess.DEVNULL, stderr=slave, env=env, cwd=tmp_path)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=120) == 0
    err = b"".join(chunks).decode("utf-8", "replace")
    assert "pA-R curves:" in err and "0/1 [" in err, err[-500:]


def test_cli_and_analyze_do_not_import_torch(tmp_path):
    """`unicr analyze` took 8-17 s on a 4-row file because it imported torch."""
    results = tmp_path / "r.tsv"
    results.write_text(
        "# unicr-certify\t1\n# noise\t{\"class\": \"Gaussian\", \"sigma\": 0.5}\n"
        "# settings\t{\"alpha\": 0.001, \"n\": 1000, \"norms\": [\"2\"]}\n"
        "idx\tlabel\tpredict\tradius\tcorrect\ttime\tradius_l2\tpA_lower\tpB_upper\tcount_A\tn\n"
        "0\t1\t1\t0.5\t1\t-\t0.5\t0.8\t0.2\t900\t1000\n"
        "1\t2\t-1\t-\t0\t-\t-\t0.4\t0.6\t400\t1000\n"
        "2\t3\t3\t1.0\t1\t-\t1.0\t0.95\t0.05\t990\t1000\n"
        "3\t4\t5\t0.2\t0\t-\t0.2\t0.6\t0.4\t700\t1000\n")
    code = (
        "import sys\n"
        "from unicr.cli import build_parser, main\n"
        "build_parser()\n"
        "assert 'torch' not in sys.modules, 'building the parser imported torch'\n"
        f"rc = main(['analyze', {str(results)!r}, '--json'])\n"
        "assert rc == 0, rc\n"
        "assert 'torch' not in sys.modules, 'analyze imported torch'\n"
        "print('ok')\n")
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]
    assert '"acr"' in out.stdout
