"""Frozen scipy.stats distributions and Python callables through ``unicr.noise(...)``."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

import unicr
from unicr.errors import InfiniteVarianceError, InvalidParameterError, NormalisationError
from unicr.noises.adapters import CallableNoise, ScipyNoise, is_scipy_frozen

X = np.linspace(-6, 6, 49)
U = np.array([1e-9, 1e-4, 0.1, 0.5, 0.9, 1 - 1e-4, 1 - 1e-9])


def test_is_scipy_frozen():
    assert is_scipy_frozen(stats.t(df=3)) and is_scipy_frozen(stats.norm())
    assert not is_scipy_frozen(stats.t) and not is_scipy_frozen(lambda x: x)
    assert not is_scipy_frozen(stats.multivariate_normal(mean=[0, 0]))


def test_student_t_through_unicr_noise():
    ref = stats.t(df=3)
    n = unicr.noise(ref)
    assert isinstance(n, ScipyNoise) and n.params == {"df": 3.0}
    assert n.scale == 1.0 and n.sigma == pytest.approx(math.sqrt(3.0))
    np.testing.assert_allclose(n.logpdf(X), ref.logpdf(X), rtol=1e-13)
    np.testing.assert_allclose(n.cdf(X), ref.cdf(X), rtol=1e-13)
    np.testing.assert_allclose(n.ppf(U), ref.ppf(U), rtol=1e-12)
    np.testing.assert_allclose(n.logsf(X), ref.logsf(X), rtol=1e-12)
    assert n.symmetric and n.has_score
    np.testing.assert_allclose(n.score(X), 4 * X / (3 + X**2), rtol=1e-5, atol=1e-8)
    # sigma rescales the law: t(3) with RMS 0.5
    m = unicr.noise(ref, sigma=0.5)
    assert m.std() == pytest.approx(0.5) and m.scale == pytest.approx(0.5 / math.sqrt(3))
    z = m.sample(20_000, np.random.default_rng(2))
    assert stats.kstest(z, stats.t(3, scale=m.scale).cdf).pvalue > 1e-3
    zt = m.sample_torch((5_000,), generator=torch.Generator().manual_seed(0),
                        dtype=torch.float64)
    assert stats.kstest(zt.numpy(), stats.t(3, scale=m.scale).cdf).pvalue > 1e-3


def test_laplace_through_unicr_noise_with_native_scale():
    n = unicr.noise(stats.laplace(scale=0.5))
    assert n.scale == 0.5 and n.sigma == pytest.approx(0.5 * math.sqrt(2))
    np.testing.assert_allclose(n.cdf(X), stats.laplace(scale=0.5).cdf(X), rtol=1e-13)
    m = unicr.noise(stats.laplace(), scale=2.0)
    np.testing.assert_allclose(m.cdf(X), stats.laplace(scale=2.0).cdf(X), rtol=1e-13)
    s = unicr.noise(stats.laplace(), sigma=1.0)
    assert s.scale == pytest.approx(1 / math.sqrt(2))
    assert s.with_sigma(2.0).std() == pytest.approx(2.0)
    assert s.with_scale(3.0).scale == 3.0
    # the same law as the builtin family
    b = unicr.noise("laplace", sigma=1.0)
    np.testing.assert_allclose(s.cdf(X), b.cdf(X), atol=1e-12)


def test_scipy_refusals_and_infinite_variance():
    with pytest.raises(InvalidParameterError, match="loc"):
        unicr.noise(stats.norm(loc=1.0))
    with pytest.raises(InvalidParameterError, match="discrete"):
        unicr.noise(stats.poisson(3))
    c = unicr.noise(stats.cauchy())
    assert c.sigma is None and c.scale == 1.0
    with pytest.raises(InfiniteVarianceError):
        unicr.noise(stats.cauchy(), sigma=1.0)
    u = unicr.noise(stats.uniform(loc=0.0, scale=1.0))
    assert not u.symmetric and not u.has_score  # jumps at the support ends
    assert u.mean() == pytest.approx(0.5) and u.sigma == pytest.approx(math.sqrt(1 / 3))
    assert u.var() == pytest.approx(1 / 12)


def test_callable_noise_gaussian_and_parameters():
    n = unicr.noise(lambda x: -x**2 / 2, sigma=0.3)
    assert isinstance(n, CallableNoise)
    np.testing.assert_allclose(n.cdf(X), stats.norm(scale=0.3).cdf(X), atol=1e-9)
    z = n.sample(20_000, np.random.default_rng(0))
    assert stats.kstest(z, stats.norm(scale=0.3).cdf).pvalue > 1e-3

    def gn(x, b):
        return -np.abs(x) ** b

    m = unicr.noise(gn, b=1.5, sigma=1.0)
    assert m.params == {"b": 1.5}
    ref = unicr.noise("gennorm", beta=1.5, sigma=1.0)
    np.testing.assert_allclose(m.cdf(X), ref.cdf(X), atol=1e-9)
    other = unicr.noise(gn, b=2.5, sigma=1.0)
    assert other.fingerprint() != m.fingerprint()
    with pytest.raises(InvalidParameterError, match="'b'"):
        unicr.noise(gn, b="wide")


def test_callable_with_exact_sampler_and_scalar_fallback():
    calls = []

    def sampler(shape, rng):
        calls.append(shape)
        return rng.laplace(size=shape)

    n = CallableNoise(lambda x: -np.abs(x), sigma=2.0, sampler=sampler)
    z = n.sample((4, 5), np.random.default_rng(1))
    assert calls == [(4, 5)] and z.shape == (4, 5)
    np.testing.assert_allclose(z, np.random.default_rng(1).laplace(size=(4, 5)) * n.scale)
    zt = n.sample_torch((7,), generator=torch.Generator().manual_seed(0))
    assert zt.shape == (7,) and zt.dtype == torch.float32
    # a scalar-only function still works (slowly, point by point)
    s = unicr.noise(lambda x: -math.fabs(x), sigma=1.0)
    np.testing.assert_allclose(s.cdf(X), stats.laplace(scale=1 / math.sqrt(2)).cdf(X), atol=1e-9)


def test_callable_refusals():
    with pytest.raises(NormalisationError, match="infinite"):
        unicr.noise(lambda x: np.zeros_like(x))
    with pytest.raises(NormalisationError, match="NaN"):
        unicr.noise(lambda x: np.log(x))
    with pytest.raises(InvalidParameterError, match="callable"):
        CallableNoise(3)
