"""End-to-end checks of the command line (in-process, through unicr.cli.main)."""

import json
import subprocess
import sys

import pytest

from unicr.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_pdfs_list_json_has_catalogue(capsys):
    code, out, _ = run(capsys, "pdfs", "list", "--json")
    assert code == 0
    entries = json.loads(out)
    names = {e["name"] for e in entries}
    assert len(entries) >= 15
    # UniCR Table 7
    for n in ("gaussian", "laplace", "hsecant", "gennorm", "cauchy", "pareto",
              "laplace_gaussian_mix", "exp_mix"):
        assert n in names


def test_pdfs_list_text(capsys):
    code, out, _ = run(capsys, "pdfs", "list")
    assert code == 0 and "gaussian" in out and "noises." in out


def test_pdfs_show(capsys):
    code, out, _ = run(capsys, "pdfs", "show", "gennorm", "--param", "beta=1.5", "--sigma", "2")
    assert code == 0
    assert "sigma (per-coordinate RMS) = 2" in out and "beta = 1.5" in out
    code, out, _ = run(capsys, "pdfs", "show", "gaussian", "--json")
    info = json.loads(out)
    assert info["sigma"] == pytest.approx(1.0) and info["kind"] == "product"


def test_pdfs_show_user_file(tmp_path, capsys):
    f = tmp_path / "cubic.toml"
    f.write_text('name = "cubic"\ndescription = "exp(-|x|^3)"\nlogpdf = "-abs(x)**3"\n')
    code, out, _ = run(capsys, "pdfs", "show", str(f), "--sigma", "0.5", "--json")
    assert code == 0
    assert json.loads(out)["sigma"] == pytest.approx(0.5, rel=1e-6)


@pytest.mark.parametrize("argv,needle", [
    (["pdfs", "show", "nosuchnoise"], "unknown noise"),
    (["pdfs", "show", "gennorm", "--param", "beta=-1"], "beta"),
    (["pdfs", "show", "cauchy", "--sigma", "1"], "infinite variance"),
    (["pdfs", "show", "gaussian", "--param", "beta"], "NAME=VALUE"),
    (["radius", "gaussian", "--pa", "1.5", "--d", "10"], "probability"),
    (["radius", "gaussian", "--pa", "0.9", "--d", "10", "--norm", "-1"], "norm"),
])
def test_bad_input_exit_code_2(capsys, argv, needle):
    with pytest.raises(SystemExit) as exc:  # argparse-level errors exit directly
        code = main(argv)
        raise SystemExit(code)
    assert exc.value.code == 2
    _, err = capsys.readouterr()
    assert needle in err


def test_console_script_entry_point():
    out = subprocess.run([sys.executable, "-m", "unicr.cli", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.startswith("unicr ")
