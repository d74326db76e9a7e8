"""Torch samplers: same law as the numpy samplers, requested dtype/device, reproducible,
computed with torch ops on the device (checked on PyTorch's ``meta`` device, where any
round trip through host memory would fail)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from unicr.noises.mixtures import Mixture
from unicr.noises.registry import build_builtin

PRODUCT = [
    ("gaussian", {}),
    ("laplace", {}),
    ("uniform", {}),
    ("cauchy", {}),
    ("hsecant", {}),
    ("gennorm", {"beta": 0.5}),
    ("gennorm", {"beta": 3.0}),
    ("pareto", {"a": 1.0}),
    ("pareto", {"a": 3.0}),
    ("student_t", {"nu": 1.5}),
    ("student_t", {"nu": 5.0}),
    ("logistic", {}),
    ("laplace_gaussian_mix", {"beta": 0.5}),
    ("normal_uniform", {"sigma_n": 0.5, "sigma_u": 0.433}),
]
IDS = [f"{n}-{p}" for n, p in PRODUCT]
JOINT = [("uniform_ball", {}), ("exp2", {"k": 1.0}), ("exp2", {"k": 0.7}), ("expinf", {"k": 1.0}),
         ("exp1", {"k": 1.0}), ("exp1", {"k": 2.0}), ("pow2", {"k": 2.0})]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name,params", PRODUCT, ids=IDS)
def test_torch_sampler_law_dtype_and_reproducibility(name, params):
    n = build_builtin(name, scale=0.8, **params)
    x = n.sample_torch(20_000, generator=_gen(1), dtype=torch.float64)
    assert x.dtype == torch.float64 and x.device.type == "cpu" and x.shape == (20_000,)
    xs = x.numpy()
    assert np.all(np.isfinite(xs))
    assert stats.kstest(xs, n.cdf).pvalue > 1e-3
    # same law as the numpy sampler (two-sample KS)
    assert stats.ks_2samp(xs, n.sample(20_000, rng=2)).pvalue > 1e-3
    # requested dtype, default float32, reproducible from the generator
    y = n.sample_torch((7, 3), generator=_gen(5))
    assert y.dtype == torch.float32 and y.shape == (7, 3)
    assert torch.equal(y, n.sample_torch((7, 3), generator=_gen(5)))
    assert not torch.equal(y, n.sample_torch((7, 3), generator=_gen(6)))
    assert n.sample_torch(4, generator=_gen(0), dtype=torch.float16).dtype == torch.float16


@pytest.mark.parametrize("name,params", PRODUCT, ids=IDS)
def test_torch_sampler_runs_on_device(name, params):
    n = build_builtin(name, **params)
    x = n.sample_torch((5, 2), device="meta", dtype=torch.float32)
    assert x.device.type == "meta" and x.shape == (5, 2) and x.dtype == torch.float32


def test_torch_heavy_tails_saturate_in_float32():
    x = build_builtin("pareto", scale=1.0, a=0.05).sample_torch(100_000, generator=_gen(3))
    assert x.dtype == torch.float32 and bool(torch.isfinite(x).all())


def test_torch_python_mixture():
    m = Mixture([build_builtin("cauchy", scale=0.3), build_builtin("gaussian", sigma=2.0),
                 build_builtin("uniform", scale=1.0)], [0.2, 0.5, 0.3])
    x = m.sample_torch(20_000, generator=_gen(4), dtype=torch.float64).numpy()
    assert stats.kstest(x, m.cdf).pvalue > 1e-3
    assert m.sample_torch(3, device="meta").device.type == "meta"


@pytest.mark.parametrize("name,params", JOINT, ids=[f"{n}-{p}" for n, p in JOINT])
def test_joint_torch_sampler(name, params):
    d = 12
    n = build_builtin(name, d=d, sigma=0.5, **params)
    x = n.sample_torch(20_000, generator=_gen(9), dtype=torch.float64)
    assert x.shape == (20_000, d) and x.dtype == torch.float64
    xs = x.numpy()
    assert np.all(np.isfinite(xs))
    assert math.sqrt(float(np.mean(xs * xs))) == pytest.approx(0.5, rel=0.01)
    # radial law: torch norms vs numpy norms (two-sample KS)
    p = n.norm_p
    r_t = np.linalg.norm(xs, ord=p, axis=-1)
    r_n = np.linalg.norm(n.sample(20_000, rng=10), ord=p, axis=-1)
    assert stats.ks_2samp(r_t, r_n).pvalue > 1e-3
    # one coordinate: same marginal law
    assert stats.ks_2samp(xs[:, 3], n.sample(20_000, rng=11)[:, 5]).pvalue > 1e-3
    assert np.all(np.isfinite(n.logpdf(xs[:10])))
    y = n.sample_torch((2, 3), generator=_gen(1))
    assert y.shape == (2, 3, d) and y.dtype == torch.float32
    assert torch.equal(y, n.sample_torch((2, 3), generator=_gen(1)))
    m = n.sample_torch(4, device="meta")
    assert m.device.type == "meta" and m.shape == (4, d)


def test_joint_torch_large_dimension():
    d = 150528
    n = build_builtin("exp2", d=d, sigma=0.25, k=1.0)
    x = n.sample_torch(2, generator=_gen(0))
    assert x.shape == (2, d) and x.dtype == torch.float32
    assert float(x.double().pow(2).mean().sqrt()) == pytest.approx(0.25, rel=0.02)
