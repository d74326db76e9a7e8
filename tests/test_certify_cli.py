"""`unicr certify / analyze / train` end to end: kill + resume byte for byte; bad input: exit 2."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from unicr.cli import main
from unicr.data import FASHION_MNIST_DIR, read_idx, write_idx
from unicr.models import build_model, save_checkpoint

CLI = [sys.executable, "-c", "import sys; from unicr.cli import main; sys.exit(main())"]
ROWS = 8


@pytest.fixture(scope="module")
def fmnist(tmp_path_factory):
    """A small Fashion-MNIST subset (the real images) in the same IDX format: fast to load."""
    root = tmp_path_factory.mktemp("fmnist")
    for split, count in (("t10k", 800), ("train", 300)):
        for kind in ("images-idx3", "labels-idx1"):
            name = f"{split}-{kind}-ubyte.gz"
            write_idx(root / name, read_idx(FASHION_MNIST_DIR / name)[:count])
    return root


DATA_DIR: list[str] = []


@pytest.fixture(autouse=True)
def _data_dir(fmnist):
    DATA_DIR[:] = ["--data-dir", str(fmnist)]


def certify_args(ckpt, out, *extra):
    return ["certify", "--model", str(ckpt), "--data", "fashion-mnist", *DATA_DIR,
            "--noise", "gaussian",
            "--sigma", "0.5", "--n0", "20", "--n", "6000", "--alpha", "0.01", "--norms", "2",
            "inf", "--out", str(out), "--skip", "97", "--max", str(ROWS), "--batch", "1000",
            "--seed", "11", "--no-time", "--no-progress", *extra]


def data_rows(path) -> int:
    if not path.exists():
        return 0
    return sum(1 for line in path.read_bytes().split(b"\n")[:-1]
               if line and not line.startswith(b"#") and not line.startswith(b"idx"))


def test_killed_certification_resumes_byte_for_byte(ckpt, tmp_path, capsys):
    ref = tmp_path / "ref.tsv"
    assert main(certify_args(ckpt, ref)) == 0
    assert "certified 8 image(s)" in capsys.readouterr().out
    assert data_rows(ref) == ROWS

    out = tmp_path / "killed.tsv"
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(CLI + certify_args(ckpt, out), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    try:
        while data_rows(out) < 1 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    killed_rows = data_rows(out)
    assert 1 <= killed_rows < ROWS, (killed_rows, proc.stderr.read() if proc.stderr else "")
    assert ref.read_bytes().startswith(out.read_bytes().rsplit(b"\n", 1)[0])
    with open(out, "ab") as f:  # and a torn row, as if killed in the middle of a write
        f.write(b"999\t3\t3\t0.1")
    capsys.readouterr()
    assert main(certify_args(ckpt, out)) == 0  # the same command again
    assert f"resumed after {killed_rows}" in capsys.readouterr().out
    assert out.read_bytes() == ref.read_bytes()
    # rerunning a complete file is a no-op
    assert main(certify_args(ckpt, out)) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert out.read_bytes() == ref.read_bytes()

    # analyze: table, ACR, ceiling, R_score and a figure
    fig = tmp_path / "fig.png"
    assert main(["analyze", str(ref), str(out), "-o", str(fig), "--radii", "0", "0.1"]) == 0
    text = capsys.readouterr().out
    assert "ACR" in text and "ceiling" in text and "R_score" in text and "high-prob" in text
    assert fig.read_bytes()[:4] == b"\x89PNG"
    assert main(["analyze", str(ref), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {r["norm"] for r in data["rows"]} == {"2", "inf"}
    assert data["rows"][0]["ceiling"] > 0


def test_resume_with_other_settings_exits_2(ckpt, tmp_path, capsys):
    out = tmp_path / "r.tsv"
    assert main(certify_args(ckpt, out, "--max", "1")) == 0
    capsys.readouterr()
    args = certify_args(ckpt, out)
    args[args.index("--seed") + 1] = "12"
    assert main(args) == 2
    assert "seed" in capsys.readouterr().err


def run_err(capsys, argv):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse-level errors
        code = exc.code
    return code, capsys.readouterr().err


def test_bad_input_exit_code_2(ckpt, tmp_path, capsys):
    out = str(tmp_path / "x.tsv")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"junk")
    cifar = tmp_path / "cifar.pt"
    save_checkpoint(cifar, build_model("cifar_resnet20"))
    nan = tmp_path / "nan.pt"
    broken = build_model("mlp")
    with torch.no_grad():
        broken[1].net[1].weight[0, 0] = float("nan")
    save_checkpoint(nan, broken)
    cases = [
        (certify_args(nan, out), "nan.pt: tensor 1.net.1.weight has 1 non-finite"),
        (certify_args(junk, out), "junk.pt"),
        (certify_args(tmp_path / "none.pt", out), "does not exist"),
        (certify_args(cifar, out), "(3, 32, 32)"),
        (certify_args(ckpt, out, "--n0", "0"), "positive integer"),
        (certify_args(ckpt, out, "--alpha", "1.5"), "probability"),
        (certify_args(ckpt, out, "--norms", "2", "-1"), "norm"),
        (certify_args(ckpt, out, "--seed", "-3"), "seed"),
        (certify_args(ckpt, out, "--mode", "two-sided", "--alpha-split", "2"), "alpha-split"),
        (["certify", "--model", str(ckpt), "--data", "cifar10", "--data-dir",
          str(tmp_path / "nodata"), "--noise", "gaussian", "--out", out], "nodata"),
        (["certify", "--model", str(ckpt), "--data", "fashion-mnist", *DATA_DIR, "--noise",
          "gaussian", "--param", "beta=2", "--out", out], "beta"),
        (["analyze", str(tmp_path / "missing.tsv")], "missing.tsv"),
        (["train", "--data", "fashion-mnist", "--arch", "vgg", "--noise", "gaussian",
          "--epochs", "1", "--out", str(tmp_path / "t.pt")], "vgg"),
    ]
    for argv, needle in cases:
        code, err = run_err(capsys, argv)
        assert code == 2, (argv, err)
        assert needle in err, (needle, err)


def test_two_sided_cli_run(ckpt, tmp_path, capsys):
    out = tmp_path / "two.tsv"
    args = certify_args(ckpt, out, "--mode", "two-sided", "--split-grid", "0.5", "0.9",
                        "--max", "2")
    args[args.index("--n") + 1] = "300"
    assert main(args) == 0
    head = [line for line in out.read_text().splitlines() if line.startswith("# settings")][0]
    settings = json.loads(head.split("\t", 1)[1])
    assert settings["mode"] == "two-sided" and settings["grid"] == [0.5, 0.9]


def test_train_cli_and_resume(tmp_path, capsys):
    out = tmp_path / "m.pt"
    argv = ["train", "--data", "fashion-mnist", *DATA_DIR, "--arch", "mlp", "--noise", "gaussian",
            "--sigma", "0.3", "--epochs", "1", "--out", str(out), "--max-train", "300",
            "--eval-max", "100", "--batch", "100", "--no-progress"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "epoch 1:" in text and "clean acc" in text and out.exists()
    assert main(argv) == 0
    assert "nothing to do" in capsys.readouterr().out
    clean = tmp_path / "clean.pt"
    assert main(["train", "--data", "fashion-mnist", *DATA_DIR, "--arch", "mlp", "--noise", "none",
                 "--epochs", "1", "--out", str(clean), "--max-train", "200", "--eval-max", "0",
                 "--no-progress"]) == 0


def test_second_run_on_the_same_file_exits_2_and_a_killed_run_does_not_block(ckpt, tmp_path,
                                                                             capsys):
    """Two runs on one --out used to interleave their rows (and both exit 0)."""
    ref = tmp_path / "ref.tsv"
    assert main(certify_args(ckpt, ref)) == 0
    out = tmp_path / "shared.tsv"
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(CLI + certify_args(ckpt, out), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while data_rows(out) < 1 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        capsys.readouterr()
        t0 = time.perf_counter()
        code, err = run_err(capsys, certify_args(ckpt, out))
        assert code == 2 and time.perf_counter() - t0 < 5  # before loading model and data
        assert str(out) in err and f"PID {proc.pid}" in err, err
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert (tmp_path / "shared.tsv.lock").exists()  # the killed run's stale lock file ...
    assert main(certify_args(ckpt, out)) == 0  # ... does not block the resume
    assert out.read_bytes() == ref.read_bytes()
    assert not (tmp_path / "shared.tsv.lock").exists()
