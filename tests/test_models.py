"""Architectures, the normalisation layer and safe checkpoints (Cohen et al. 2019's format)."""

from __future__ import annotations

import pickle

import pytest
import torch

from unicr.models import (
    ARCHS,
    CheckpointError,
    NormalizeLayer,
    build_model,
    load_checkpoint,
    save_checkpoint,
)


@pytest.mark.parametrize("arch,shape,classes,params", [
    ("mlp", (1, 28, 28), 10, 269_322),
    ("cnn", (1, 28, 28), 10, None),
    ("cifar_resnet20", (3, 32, 32), 10, 272_474),
    ("cifar_resnet110", (3, 32, 32), 10, 1_730_714),  # He et al. 2016: 1.7M
    ("resnet50", (3, 224, 224), 1000, 25_557_032),  # torchvision's count
])
def test_shapes_and_sizes(arch, shape, classes, params):
    m = build_model(arch).eval()
    assert m.input_shape == shape and m.num_classes == classes and m.arch == arch
    with torch.inference_mode():
        out = m(torch.rand(1, *shape))
    assert out.shape == (1, classes) and torch.isfinite(out).all()
    if params is not None:
        assert sum(p.numel() for p in m.parameters()) == params
    # Cohen et al.'s layout: Sequential(normalize, backbone); no normalisation tensors saved
    assert isinstance(m[0], NormalizeLayer)
    assert all(k.startswith("1.") for k in m.state_dict())


def test_normalisation_is_the_first_layer():
    norm = NormalizeLayer([0.5, 0.25, 0.0], [0.5, 0.25, 2.0])
    x = torch.rand(4, 3, 5, 5)
    expected = (x - torch.tensor([0.5, 0.25, 0.0]).view(1, 3, 1, 1)) / torch.tensor(
        [0.5, 0.25, 2.0]).view(1, 3, 1, 1)
    torch.testing.assert_close(norm(x), expected)
    m = build_model("cnn")
    x1 = torch.rand(3, 1, 28, 28)
    with torch.inference_mode():
        direct = m[1]((x1 - 0.2860) / 0.3530)
        torch.testing.assert_close(m.eval()(x1), direct)
    with pytest.raises(CheckpointError, match="channel"):
        build_model("cnn", mean=[0.1, 0.2], std=[1, 1])


def test_checkpoint_round_trip(tmp_path):
    m = build_model("cnn", mean=[0.3], std=[0.4]).eval()
    path = save_checkpoint(tmp_path / "sub" / "m.pt", m, epoch=3, note="hello")
    loaded, info = load_checkpoint(path)
    assert info["arch"] == "cnn" and info["epoch"] == 3 and info["note"] == "hello"
    assert not loaded.training and loaded.normalization["mean"] == pytest.approx([0.3])
    x = torch.rand(5, 1, 28, 28)
    with torch.inference_mode():
        torch.testing.assert_close(loaded(x), m(x))
    raw = torch.load(path, weights_only=True)
    assert set(raw) >= {"arch", "state_dict"}
    with pytest.raises(CheckpointError, match="'mlp' was requested"):
        load_checkpoint(path, arch="mlp")


def test_cohen_style_checkpoints_load(tmp_path):
    """ImageNet keys carry DataParallel's 'module.'; older files lack num_batches_tracked."""
    m = build_model("cifar_resnet20").eval()
    sd = {}
    for k, v in m.state_dict().items():
        if k.endswith("num_batches_tracked"):
            continue
        sd["1.module." + k[2:]] = v.clone()
    path = tmp_path / "cohen.pth.tar"
    torch.save({"epoch": 90, "arch": "cifar_resnet20", "state_dict": sd,
                "optimizer": {"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]}}, path)
    loaded, info = load_checkpoint(path)
    x = torch.rand(2, 3, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(loaded(x), m(x))
    assert info["epoch"] == 90
    # a bare backbone state dict (no normalisation wrapper) is accepted too
    bare = tmp_path / "bare.pt"
    torch.save({"arch": "cifar_resnet20", "state_dict": m[1].state_dict()}, bare)
    loaded2, _ = load_checkpoint(bare)
    with torch.inference_mode():
        torch.testing.assert_close(loaded2(x), m(x))


class Evil:
    """Unpickling this would run code (os.system in a real attack)."""

    def __reduce__(self):
        return (print, ("pwned",))


def test_pickle_with_code_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"arch": "cnn", "state_dict": build_model("cnn").state_dict(), "x": Evil()}, path)
    with pytest.raises(CheckpointError, match="refusing to load checkpoint .*evil.pt"):
        load_checkpoint(path)
    assert "pwned" not in capsys.readouterr().out
    plain = tmp_path / "plain.pkl"
    with open(plain, "wb") as f:
        pickle.dump(Evil(), f)
    with pytest.raises(CheckpointError, match="refusing|not a readable"):
        load_checkpoint(plain)
    assert "pwned" not in capsys.readouterr().out


def test_bad_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pt"):
        load_checkpoint(junk)
    lst = tmp_path / "list.pt"
    torch.save([1, 2, 3], lst)
    with pytest.raises(CheckpointError, match="expected a dict"):
        load_checkpoint(lst)
    nosd = tmp_path / "nosd.pt"
    torch.save({"arch": "cnn"}, nosd)
    with pytest.raises(CheckpointError, match="no 'state_dict'"):
        load_checkpoint(nosd)
    unknown = tmp_path / "unknown.pt"
    torch.save({"arch": "vgg16", "state_dict": {}}, unknown)
    with pytest.raises(CheckpointError, match="unknown architecture 'vgg16'"):
        load_checkpoint(unknown)
    wrong = tmp_path / "wrong.pt"
    torch.save({"arch": "mlp", "state_dict": build_model("cnn").state_dict()}, wrong)
    with pytest.raises(CheckpointError, match="does not fit architecture 'mlp'"):
        load_checkpoint(wrong)
    shape = tmp_path / "shape.pt"
    sd = build_model("mlp").state_dict()
    sd["1.net.1.weight"] = torch.zeros(3, 3)
    torch.save({"arch": "mlp", "state_dict": sd}, shape)
    with pytest.raises(CheckpointError, match="1.net.1.weight has shape"):
        load_checkpoint(shape)
    with pytest.raises(CheckpointError, match="unknown architecture"):
        build_model("resnet18")


def test_registry_is_consistent():
    for name, spec in ARCHS.items():
        assert spec.name == name and len(spec.mean) == spec.input_shape[0] == len(spec.std)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_weights_are_refused_at_load(tmp_path, bad):
    model = build_model("mlp")
    sd = model.state_dict()
    keys = [k for k, v in sd.items() if v.is_floating_point()]
    first, later = keys[1], keys[-1]  # the error names the first bad tensor, not the last
    sd[later].view(-1)[0] = bad
    sd[first].view(-1)[5] = bad
    path = tmp_path / "diverged.pt"
    torch.save({"arch": "mlp", "state_dict": sd}, path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    msg = str(info.value)
    assert "diverged.pt" in msg and f"tensor {first} has 1 non-finite" in msg and later not in msg
    # a finite checkpoint written by the same code loads and predicts finite logits
    ok = tmp_path / "ok.pt"
    save_checkpoint(ok, build_model("mlp"))
    m, _ = load_checkpoint(ok)
    assert torch.isfinite(m(torch.rand(2, 1, 28, 28))).all()


def test_non_finite_normalisation_is_refused(tmp_path):
    path = tmp_path / "norm.pt"
    torch.save({"arch": "mlp", "state_dict": build_model("mlp").state_dict(),
                "normalization": {"mean": [float("nan")], "std": [1.0]}}, path)
    with pytest.raises(CheckpointError, match="mean must be finite"):
        load_checkpoint(path)
