"""The radius provider of noise optimisation (unicr.smoothing.radii): sound, reused, cheap."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import unicr
from unicr.errors import InvalidParameterError
from unicr.smoothing.radii import CurveRadius, RadiusBook, lookup_loss


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    from unicr.smoothing import radii

    monkeypatch.setenv("UNICR_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(radii, "_TABLES", {})


NOISES = [("gaussian", {}), ("laplace", {}), ("gennorm", {"beta": 1.5}),
          ("gennorm", {"beta": 0.75}), ("logistic", {})]


@pytest.mark.parametrize("name,params", NOISES)
@pytest.mark.parametrize("norm", [1, 2, math.inf])
def test_never_above_the_direct_lower_bound_and_loss_below_rel_loss(name, params, norm):
    nz = unicr.noise(name, sigma=0.37, **params)
    prov = CurveRadius(nz, 784)
    pa = np.sort(np.random.default_rng(1).uniform(0.5005, 0.99999, 60))
    for x in pa[::6]:  # the public engine entry point, one call each
        direct = unicr.radius(nz, float(x), norm, 784, method="exact").lower
        assert prov(float(x), None, norm) <= direct * (1 + 1e-12)
    loss = lookup_loss(prov, pa, norm)
    assert loss.min() >= -1e-12
    assert loss.max() <= 1e-3


def test_scale_equivariance_shares_one_table_per_shape():
    book = RadiusBook(784)
    a = unicr.noise("gennorm", beta=1.5, sigma=0.25)
    b = unicr.noise("gennorm", beta=1.5, sigma=1.0)
    ra = book.radius(a, 0.9, 2)
    rb = book.radius(b, 0.9, 2)
    assert ra == pytest.approx(rb * 0.25, rel=1e-12)
    assert book.stats.builds == 1
    c = unicr.noise("gennorm", beta=2.5, sigma=1.0)
    book.radius(c, 0.9, 2)
    assert book.stats.builds == 2


def test_lookups_are_reused_across_inputs():
    book = RadiusBook(784)
    nz = unicr.noise("laplace", sigma=0.5)
    rng = np.random.default_rng(0)
    for x in rng.uniform(0.5, 1.0, 500):
        book.radius(nz, float(x), 1)
    assert book.stats.builds == 1
    assert book.stats.lookups == 500
    assert book.stats.lookup_seconds < book.stats.build_seconds


def test_abstain_and_monotone():
    prov = CurveRadius(unicr.noise("gaussian", sigma=1), 10)
    assert prov(0.5, None, 2) is None
    assert prov(0.3, None, 2) is None
    assert prov(0.5 + 1e-12, None, 2) == 0.0  # below the first grid point: radius 0, not abstain
    xs = np.linspace(0.51, 0.999999, 200)
    rs = [prov(float(x), None, 2) for x in xs]
    assert all(b >= a for a, b in zip(rs, rs[1:]))


def test_disk_cache_is_read_back(tmp_path):
    nz = unicr.noise("hsecant", sigma=1)
    first = RadiusBook(100)
    r1 = first.radius(nz, 0.8, 2)
    from unicr.smoothing import radii

    radii._TABLES.clear()
    second = RadiusBook(100)
    r2 = second.radius(nz, 0.8, 2)
    assert r1 == r2
    assert second.stats.loads == 1 and second.stats.builds == 0


@pytest.mark.parametrize("bad", [0, -1e-3, 0.5, float("nan"), "x"])
def test_bad_rel_loss_is_named(bad):
    with pytest.raises(InvalidParameterError, match="rel_loss"):
        RadiusBook(10, rel_loss=bad)


class _Threshold(torch.nn.Module):
    """f(x) = 1{x_0 > 0} on a 1-D input: pA under noise eps is P(x_0 + eps_0 > 0)."""

    input_shape = (1,)
    num_classes = 2

    def forward(self, x):
        z = (x[:, 0] > 0).to(x.dtype)
        return torch.stack([1 - z, z], dim=1)


def test_smooth_with_curve_radii_is_below_the_engine_and_times_both_parts(tmp_path):
    from unicr.smoothing import Smooth
    from unicr.smoothing.dataset import certify_dataset

    curve = Smooth(_Threshold(), "gaussian", radius_method="curve")
    engine = Smooth(_Threshold(), "gaussian", radius_method="auto")
    x = torch.tensor([0.8])
    a = curve.certify(x, 50, 400, 0.01, norms=(1, 2), seed=3)
    b = engine.certify(x, 50, 400, 0.01, norms=(1, 2), seed=3)
    assert a.prediction == b.prediction == 1
    for p in (1.0, 2.0):
        assert b.radii[p] * (1 - 1e-3) <= a.radii[p] <= b.radii[p]
    data = [(torch.tensor([0.8]), 1), (torch.tensor([-0.6]), 0), (torch.tensor([0.1]), 1)]
    run = certify_dataset(curve, data, tmp_path / "r.tsv", n0=20, n=200, alpha=0.01,
                          progress=False)
    assert run.sampling_seconds > 0 and run.radius_seconds > 0
    assert 0 < run.radius_share < 1


def test_engine_book_calls_the_engine_once_per_request_and_can_answer_estimates():
    from unicr.smoothing.radii import EngineBook

    nz = unicr.noise("laplace", sigma=1)
    book = EngineBook(4, method="exact")
    r1 = book.radius(nz, 0.8, 1)
    r2 = book.radius(nz, 0.8, 1)
    assert r1 == r2 == unicr.radius(nz, 0.8, 1, 4, method="exact").lower
    assert book.stats.engine_calls == 1 and book.stats.lookups == 1
    est = EngineBook(4, method="exact", value="estimate").radius(nz, 0.8, 1)
    assert est >= r1
    with pytest.raises(InvalidParameterError, match="value"):
        EngineBook(4, value="best")


def test_joint_noise_table_comes_from_unicr_radius_and_carries_its_alpha():
    nz = unicr.noise("uniform_ball", d=8)
    prov = CurveRadius(nz, 8, joint_points=3)
    r = prov(0.97, None, 2)
    direct = unicr.radius(nz, 0.97, 2, 8)
    assert 0.0 < r <= direct.lower * (1 + 1e-9)
    assert prov.alpha == pytest.approx(1.0 - direct.confidence)
    assert prov.describe()["engine"].startswith("unicr.radius")
