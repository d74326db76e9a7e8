"""C-OPT (Hong et al. 2022, Sec. 4): the grid resumes byte for byte, the validation split is
carved from the training data only, the winner is chosen on validation, bad input exits 2.

Small and fast: a synthetic two-class 28x28 data set (dark versus bright images), the MLP for
one epoch, a 2 x 2 grid and a few dozen noise draws per image.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from unicr.cli import main
from unicr.data.datasets import ArrayDataset
from unicr.errors import InvalidParameterError
from unicr.optimize.copt import CoptPlan, carve_split, indices_sha256, read_summary, run_copt
from unicr.smoothing.dataset import read_results
from unicr.smoothing.metrics import acr, r_score

SETTINGS = dict(family="gennorm", grid={"beta": [1.0, 2.0]}, sigmas=[0.25, 0.5], arch="mlp",
                epochs=1, val_size=24, test_max=20, n0=8, n=40, alpha=0.01, norms=(1, 2),
                seed=3)


def synthetic(n: int, seed: int, split: str, flip: bool = False) -> ArrayDataset:
    """Two classes: uniform noise in [0, 60) (class 0) or [150, 210) (class 1)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = (rng.random((n, 28, 28)) * 60 + y[:, None, None] * 150).astype(np.uint8)
    return ArrayDataset(x, (1 - y) if flip else y, name="synthetic", split=split,
                        num_classes=2)


TRAIN = synthetic(160, 0, "train")
TEST = synthetic(20, 1, "test")


class Kill(Exception):
    """Stands for the process being killed at a given stage."""


def killer(stage: str, tag: str):
    def hook(s: str, t: str) -> None:
        if (s, t) == (stage, tag):
            raise Kill(f"{s} {t}")
    return hook


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted run."""
    out = tmp_path_factory.mktemp("copt-ref")
    result = run_copt(CoptPlan(**SETTINGS), out, TRAIN, TEST, progress=False)
    return out, result


def test_resume_after_kills_gives_the_same_summary_bytes(reference, tmp_path):
    ref_out, _ = reference
    plan = CoptPlan(**SETTINGS)
    tags = [p.tag for p in plan.checked().points()]
    out = tmp_path / "run"
    with pytest.raises(Kill):  # killed after training the second point, before certifying it
        run_copt(plan, out, TRAIN, TEST, progress=False, hook=killer("trained", tags[1]))
    assert not (out / "summary.json").exists()
    first_model = (out / "points" / tags[0] / "model.pt").stat().st_mtime_ns
    with pytest.raises(Kill):  # killed again after the third point's validation file ...
        run_copt(plan, out, TRAIN, TEST, progress=False, hook=killer("validated", tags[2]))
    torn = out / "points" / tags[2] / "val.tsv"  # ... while it wrote its last row
    torn.write_bytes(torn.read_bytes()[:-9])
    with pytest.raises(Kill):  # and once more after the first test certification
        run_copt(plan, out, TRAIN, TEST, progress=False,
                 hook=killer("tested", json.loads((ref_out / "summary.json").read_text())
                             ["winners"]["1"]["classifier"]["tag"]))
    run_copt(plan, out, TRAIN, TEST, progress=False)
    assert (out / "summary.json").read_bytes() == (ref_out / "summary.json").read_bytes()
    for tag in tags:
        assert (out / "points" / tag / "val.tsv").read_bytes() == \
            (ref_out / "points" / tag / "val.tsv").read_bytes()
    # finished points are not redone: the first checkpoint was never rewritten
    assert (out / "points" / tags[0] / "model.pt").stat().st_mtime_ns == first_model
    # a run on a finished folder does no work and rewrites the same bytes
    before = (out / "summary.json").read_bytes()
    again = run_copt(plan, out, TRAIN, TEST, progress=False)
    assert (out / "summary.json").read_bytes() == before
    assert again.timing["points"][tags[0]]["epochs_run"] == 1  # kept from the run that trained


def test_summary_is_free_of_timings_and_absolute_paths(reference):
    out, result = reference
    text = (out / "summary.json").read_text()
    assert str(out) not in text and "seconds" not in text
    assert json.loads(text) == result.summary == read_summary(out)
    timing = json.loads((out / "timing.json").read_text())
    assert set(timing["totals"]) == {"train_seconds", "radius_seconds",
                                     "sampling_forward_seconds"}
    assert timing["radius_book_last_invocation"]["lookups"] > 0  # radii came from the provider's tables


def test_validation_split_is_carved_from_training_data_only(reference):
    out, result = reference
    s = result.summary
    train_idx, val_idx = carve_split(len(TRAIN), SETTINGS["val_size"], SETTINGS["seed"])
    assert np.intersect1d(train_idx, val_idx).size == 0
    assert np.array_equal(np.union1d(train_idx, val_idx), np.arange(len(TRAIN)))
    assert s["split"]["validation"]["split"] == "train" and s["split"]["test"]["split"] == "test"
    assert s["split"]["validation"]["indices_sha256"] == indices_sha256(val_idx)
    assert s["split"]["train"]["indices_sha256"] == indices_sha256(train_idx)
    assert s["split"]["train"]["size"] + len(val_idx) == len(TRAIN)
    for p in s["points"]:  # every validation file says which images it certified
        res = read_results(out / p["validation"]["file"])
        assert res.header["data"]["indices_sha256"] == indices_sha256(val_idx)
        assert res.header["data"]["split"] == "train"
        # its labels are those of the carved training images, in order
        assert np.array_equal(res.label, TRAIN.labels[val_idx].numpy())
    for t in s["test"].values():
        assert read_results(out / t["file"]).header["data"]["split"] == "test"


def test_split_depends_on_the_seed_and_refuses_an_empty_training_part():
    a = carve_split(1000, 100, 0)[1]
    assert np.array_equal(a, carve_split(1000, 100, 0)[1])
    assert not np.array_equal(a, carve_split(1000, 100, 1)[1])
    with pytest.raises(InvalidParameterError, match="val_size"):
        carve_split(100, 100, 0)


def test_test_data_from_the_training_split_is_refused(tmp_path):
    with pytest.raises(InvalidParameterError, match="never overlap the test split"):
        run_copt(CoptPlan(**SETTINGS), tmp_path, TRAIN, synthetic(20, 1, "train"),
                 progress=False)


def test_winner_is_chosen_on_validation_only(reference, tmp_path):
    ref_out, ref = reference
    # the winners are the argmax of scores recomputed here from the validation files
    pts = ref.summary["points"]
    for nl in ("1", "2"):
        res = {p["tag"]: read_results(ref_out / p["validation"]["file"]) for p in pts}
        acrs = [acr(res[p["tag"]].correct, res[p["tag"]].radii[nl]) for p in pts]
        assert ref.winners[nl]["classifier"]["tag"] == pts[int(np.argmax(acrs))]["tag"]
        scores = {}
        for beta in (1.0, 2.0):
            mine = [res[p["tag"]] for p in pts if p["params"]["beta"] == beta]
            scores[beta] = r_score([(r.correct, r.radii[nl]) for r in mine])
        assert ref.winners[nl]["shape"]["params"]["beta"] == max(scores, key=scores.get)
    # other test data (labels flipped): the same points and winners, other test numbers
    out = tmp_path / "other-test"
    shutil.copytree(ref_out / "points", out / "points")
    shutil.copy(ref_out / "plan.json", out / "plan.json")
    other = run_copt(CoptPlan(**SETTINGS), out, TRAIN, synthetic(20, 1, "test", flip=True),
                     progress=False)
    assert other.winners == ref.winners
    assert other.summary["points"] == ref.summary["points"]
    assert other.summary["test"] != ref.summary["test"]


def test_resume_with_other_settings_is_refused(reference, tmp_path):
    ref_out, _ = reference
    out = tmp_path / "changed"
    shutil.copytree(ref_out, out)
    with pytest.raises(InvalidParameterError, match="differs in: epochs"):
        run_copt(CoptPlan(**{**SETTINGS, "epochs": 2}), out, TRAIN, TEST, progress=False)


def test_plot_draws_the_summary(reference, tmp_path):
    from unicr.optimize.copt_plots import plot_copt

    out, _ = reference
    fig = plot_copt(out / "summary.json", tmp_path / "copt.png")
    assert (tmp_path / "copt.png").stat().st_size > 10_000
    assert len(fig.axes) >= 4  # two norms x (heatmap, R_score bars), plus colour bars
    with pytest.raises(InvalidParameterError, match="not a C-OPT summary"):
        plot_copt({"format": "unicr-copt"})


@pytest.mark.parametrize("change, message", [
    ({"grid": {}}, "the grid is empty"),
    ({"grid": {"beta": []}}, "the grid of 'beta' is empty"),
    ({"grid": {"alpha": [1.0]}}, "parameter 'alpha', which family 'gennorm' does not have; "
                                  "its parameters: beta"),
    ({"family": "gaussian", "grid": {"beta": [1.0]}}, "'gaussian' has no shape parameters"),
    ({"sigmas": [0.5, 0.0]}, "sigma must be > 0, got 0.0"),
    ({"sigmas": [-1.0]}, "sigma must be > 0"),
    ({"sigmas": [float("nan")]}, "sigma must be a finite number"),
    ({"sigmas": []}, "the sigma set is empty"),
    ({"grid": {"beta": [0.01]}}, "'beta' = 0.01 is outside its range"),
    ({"val_size": 50, "max_train": 50}, r"val_size \(50\) must be smaller"),
    ({"family": "no-such-noise"}, "unknown noise 'no-such-noise'"),
])
def test_bad_plans_are_refused_naming_the_input(change, message):
    with pytest.raises(InvalidParameterError if "unknown noise" not in message else Exception,
                       match=message):
        CoptPlan(**{**SETTINGS, **change}).checked()


def test_val_size_at_least_the_training_data_is_refused(tmp_path):
    with pytest.raises(InvalidParameterError, match="smaller than the training pool"):
        run_copt(CoptPlan(**{**SETTINGS, "val_size": len(TRAIN)}), tmp_path, TRAIN, TEST,
                 progress=False)


@pytest.mark.parametrize("args, message", [
    (["--grid", "beta="], "--grid beta: no values given"),
    (["--grid", "alpha=1,2"], "parameter 'alpha', which family 'gennorm' does not have"),
    (["--family", "gaussian"], "'gaussian' has no shape parameters"),
    (["--grid", "beta=1", "--sigmas", "0"], "sigma must be > 0"),
    (["--grid", "beta=1", "--sigmas", "abc"], "--sigmas: 'abc' is not a number"),
    (["--grid", "beta=1", "--max-train", "100", "--val-size", "100"],
     "must be smaller than the training pool"),
])
def test_cli_bad_input_exits_2_with_one_line(args, message, tmp_path, capsys):
    rc = main(["optimize", "classifier", "--data", "fashion-mnist", "--out",
               str(tmp_path / "o"), *args])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and message in err
    assert not (tmp_path / "o").exists()  # refused before any work


def test_cli_runs_resumes_and_plots_on_fashion_mnist(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from unicr.data.datasets import FASHION_MNIST_DIR

    if not FASHION_MNIST_DIR.is_dir():
        pytest.skip("Fashion-MNIST is not installed")
    args = ["optimize", "classifier", "--data", "fashion-mnist", "--grid", "beta=2",
            "--sigmas", "0.5", "--epochs", "1", "--max-train", "120", "--val-size", "20",
            "--max", "10", "--n0", "8", "--n", "40", "--norms", "2", "--out",
            str(tmp_path / "o"), "--plot", str(tmp_path / "o.png"), "--no-progress"]
    assert main(args) == 0
    first = (tmp_path / "o" / "summary.json").read_bytes()
    out = capsys.readouterr().out
    assert "l2: winner shape beta=2" in out and "radii" in out
    assert (tmp_path / "o.png").stat().st_size > 10_000
    assert main(args) == 0  # resumed: nothing to redo, the same summary
    assert (tmp_path / "o" / "summary.json").read_bytes() == first
    s = read_summary(tmp_path / "o")
    assert s["test"]["2"]["images"] == 10 and s["split"]["validation"]["pool"] == 120


class Watched(ArrayDataset):
    """Test data that counts how often an image is read."""

    reads = 0

    def __getitem__(self, i):
        type(self).reads += 1
        return super().__getitem__(i)


def test_test_images_are_not_read_before_the_winners_are_fixed(reference, tmp_path):
    ref_out, ref = reference
    out = tmp_path / "watched"
    shutil.copytree(ref_out / "points", out / "points")
    shutil.copy(ref_out / "plan.json", out / "plan.json")
    (out / "points" / ref.summary["points"][-1]["tag"] / "val.tsv").unlink()  # redo one point
    test = Watched(TEST.images, TEST.labels, name="synthetic", split="test", num_classes=2)
    Watched.reads = 0
    seen: list[tuple[str, int]] = []
    run_copt(CoptPlan(**SETTINGS), out, TRAIN, test, progress=False,
             hook=lambda stage, tag: seen.append((stage, Watched.reads)))
    assert all(n == 0 for stage, n in seen if stage != "tested")
    winners = {w["classifier"]["tag"] for w in ref.winners.values()}
    assert [s for s, _ in seen].count("validated") == 4
    assert Watched.reads == SETTINGS["test_max"] * len(winners)  # only the winners, once
    assert (out / "summary.json").read_bytes() == (ref_out / "summary.json").read_bytes()
