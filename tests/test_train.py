"""Training with noise augmentation: a CNN learns Fashion-MNIST in seconds and certifies; resume."""

from __future__ import annotations

import pytest
import torch

from unicr.data import ArrayDataset, fashion_mnist
from unicr.models import load_checkpoint
from unicr.noises.registry import build_builtin
from unicr.smoothing import Smooth
from unicr.smoothing.metrics import certified_accuracy
from unicr.train import TrainConfig, TrainError, evaluate, train

SIGMA = 0.25


@pytest.fixture(scope="module")
def trained():
    data = fashion_mnist("train").subset(range(2500))
    noise = build_builtin("gaussian", sigma=SIGMA)
    result = train("cnn", data, noise, TrainConfig(epochs=2, batch_size=50, lr=3e-3),
                   progress=False)
    return result


def test_cnn_reaches_clean_and_certified_accuracy(trained):
    model = trained.model
    assert not model.training and len(trained.history) == 2
    assert trained.history[1]["loss"] < trained.history[0]["loss"]
    test = fashion_mnist("test")
    clean = evaluate(model, test.subset(range(500)))
    assert clean > 0.7  # a sensible accuracy after seconds of CPU training
    smooth = Smooth(model, build_builtin("gaussian", sigma=SIGMA))  # default radius provider
    correct, radius = [], []
    for i in range(0, 500, 25):
        x, y = test[i]
        cert = smooth.certify(x, 50, 300, 0.001, norms=[2], seed=i, batch_size=350)
        correct.append(cert.prediction == y)
        radius.append(cert.radius(2) or 0.0)
    acc = certified_accuracy(correct, radius, [0.0, 0.25])
    assert acc[0] > 0.5 and acc[1] > 0.0


def _tiny() -> ArrayDataset:
    return fashion_mnist("train").subset(range(300))


CFG = dict(batch_size=64, lr=1e-3, seed=5)


def test_resume_equals_an_uninterrupted_run(tmp_path):
    noise = build_builtin("laplace", sigma=0.3)
    full = train("mlp", _tiny(), noise, TrainConfig(epochs=3, **CFG), tmp_path / "full.pt",
                 progress=False)
    part = tmp_path / "part.pt"
    first = train("mlp", _tiny(), noise, TrainConfig(epochs=2, **CFG), part, progress=False)
    assert first.epochs_done == 2
    _, info = load_checkpoint(part, with_optimizer=True)
    assert info["epoch"] == 2 and "optimizer" in info and info["train"]["identity"]["seed"] == 5
    assert "optimizer" not in load_checkpoint(part)[1]  # left out unless asked for
    rest = train("mlp", _tiny(), noise, TrainConfig(epochs=3, **CFG), part, progress=False)
    assert rest.resumed_from == 2 and len(rest.history) == 3
    a, b = full.model.state_dict(), rest.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    done = train("mlp", _tiny(), noise, TrainConfig(epochs=3, **CFG), part, progress=False)
    assert done.resumed_from == 3 and done.history == rest.history  # nothing left to do


def test_resume_with_other_settings_is_refused(tmp_path):
    out = tmp_path / "m.pt"
    train("mlp", _tiny(), None, TrainConfig(epochs=1, **CFG), out, progress=False)
    with pytest.raises(TrainError, match="noise"):
        train("mlp", _tiny(), build_builtin("gaussian", sigma=0.5), TrainConfig(epochs=2, **CFG),
              out, progress=False)
    with pytest.raises(TrainError, match="lr"):
        train("mlp", _tiny(), None, TrainConfig(epochs=2, batch_size=64, lr=0.5, seed=5), out,
              progress=False)


@pytest.mark.parametrize("kw,needle", [
    (dict(epochs=0), "epochs"), (dict(epochs=1, batch_size=0), "batch_size"),
    (dict(epochs=1, optimizer="rmsprop"), "optimizer"), (dict(epochs=1, lr=-1.0), "lr"),
    (dict(epochs=1, seed=-2), "seed"),
])
def test_bad_settings(kw, needle):
    with pytest.raises(TrainError, match=needle):
        train("mlp", _tiny(), None, TrainConfig(**kw), progress=False)


def test_wrong_data_for_the_architecture():
    with pytest.raises(TrainError, match=r"\(1, 28, 28\).*\(3, 32, 32\)"):
        train("cifar_resnet20", _tiny(), None, TrainConfig(epochs=1), progress=False)


def test_sgd_and_step_schedule():
    cfg = TrainConfig(epochs=1, optimizer="sgd", lr=0.1, lr_step=2, lr_gamma=0.5)
    assert [cfg.lr_at(e) for e in range(5)] == [0.1, 0.1, 0.05, 0.05, 0.025]
    res = train("mlp", _tiny(), build_builtin("uniform", sigma=0.2), cfg, progress=False)
    assert res.history[0]["lr"] == 0.1
