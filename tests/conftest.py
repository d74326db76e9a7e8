"""Suite-wide fixtures: no test writes to the user's cache, plots render off-screen; a small
untrained checkpoint for the certification tests."""

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _session_cache_dir(tmp_path_factory):
    """Point the curve cache at a per-session temporary folder (never ~/.cache/unicr)."""
    old = os.environ.get("UNICR_CACHE_DIR")
    os.environ["UNICR_CACHE_DIR"] = str(tmp_path_factory.mktemp("unicr-cache"))
    os.environ.setdefault("MPLBACKEND", "Agg")
    yield
    if old is None:
        os.environ.pop("UNICR_CACHE_DIR", None)
    else:
        os.environ["UNICR_CACHE_DIR"] = old


@pytest.fixture
def isolated_curve_cache(tmp_path, monkeypatch):
    """A fresh, empty curve cache (disk and memory) for one test."""
    from unicr.engines import curve_cache as exact_curves

    monkeypatch.setenv("UNICR_CACHE_DIR", str(tmp_path / "cache"))
    exact_curves._MEM.clear()
    yield tmp_path / "cache"
    exact_curves._MEM.clear()


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    """An untrained MLP checkpoint, seeded (the certify and hybrid CLI tests)."""
    import torch

    from unicr.models.checkpoint import build_model, save_checkpoint

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "mlp.pt"
    save_checkpoint(path, build_model("mlp").eval())
    return path
