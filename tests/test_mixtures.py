"""Mixtures (generic, UniCR's Laplace-Gaussian) and Nandi et al.'s Normal-Uniform sum."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special, stats

from unicr.errors import InfiniteVarianceError, InvalidParameterError, UnicrError
from unicr.noises.mixtures import Mixture, mixture, monotone_quantile
from unicr.noises.registry import build_builtin

U_LOW = np.logspace(-300, -1, 40)
U_HIGH = 1.0 - np.logspace(-16, -1, 25)


def _quad(f, lo=-np.inf, hi=np.inf) -> float:
    return (integrate.quad(f, lo, 0.0, limit=400, epsabs=1e-13)[0]
            + integrate.quad(f, 0.0, hi, limit=400, epsabs=1e-13)[0])


def _lap_gauss_cauchy() -> Mixture:
    return Mixture([build_builtin("laplace", sigma=1.0), build_builtin("gaussian", sigma=2.0),
                    build_builtin("cauchy", scale=0.5)], [0.2, 0.5, 0.3])


# ---------------------------------------------------------------------------
# generic Mixture
# ---------------------------------------------------------------------------


def test_mixture_density_cdf_and_moments():
    lap, gau = build_builtin("laplace", sigma=1.0), build_builtin("gaussian", sigma=2.0)
    m = Mixture([lap, gau], [0.3, 0.7])
    x = np.linspace(-9, 9, 37)
    np.testing.assert_allclose(m.pdf(x), 0.3 * lap.pdf(x) + 0.7 * gau.pdf(x), rtol=1e-13)
    np.testing.assert_allclose(m.cdf(x), 0.3 * lap.cdf(x) + 0.7 * gau.cdf(x), rtol=1e-13)
    np.testing.assert_allclose(m.logsf(x), np.log(0.3 * lap.sf(x) + 0.7 * gau.sf(x)), rtol=1e-12,
                               atol=1e-15)
    assert _quad(lambda t: float(m.pdf(t))) == pytest.approx(1.0, abs=1e-10)
    assert m.scale == 1.0  # the mixture as given
    assert m.sigma == pytest.approx(math.sqrt(0.3 * 1.0 + 0.7 * 4.0), rel=1e-14)
    assert m.var() == pytest.approx(_quad(lambda t: t * t * float(m.pdf(t))), rel=1e-9)
    assert m.symmetric and m.mean() == 0.0


def test_mixture_sigma_rescales_whole_law():
    lap, gau = build_builtin("laplace", sigma=1.0), build_builtin("gaussian", sigma=2.0)
    m = Mixture([lap, gau], [0.3, 0.7], sigma=1.0)
    assert m.sigma == pytest.approx(1.0, rel=1e-14)
    m0 = Mixture([lap, gau], [0.3, 0.7])
    np.testing.assert_allclose(m.cdf([0.4, -1.2]), m0.cdf(np.array([0.4, -1.2]) / m.scale))
    m2 = m.with_sigma(3.0)
    assert isinstance(m2, Mixture) and m2.sigma == pytest.approx(3.0)
    x = m.sample(300_000, rng=5)
    assert np.sqrt(np.mean(x * x)) == pytest.approx(1.0, rel=0.01)


def test_mixture_heavy_component_tails_and_quantiles():
    m = _lap_gauss_cauchy()
    assert m.sigma is None
    with pytest.raises(InfiniteVarianceError):
        Mixture(m.components, m.weights, sigma=1.0)
    x = m.ppf(U_LOW)
    assert np.all(np.isfinite(x)) and np.all(np.diff(x) > 0)
    np.testing.assert_allclose(m.cdf(x), U_LOW, rtol=1e-12)
    xh = m.ppf(U_HIGH)
    np.testing.assert_allclose(m.sf(xh), 1 - U_HIGH, rtol=1e-12)
    np.testing.assert_allclose(m.isf(U_LOW), -x, rtol=1e-12)
    # far tail dominated by the Cauchy component: log-sum-exp keeps it exact
    z = 1e150
    assert float(m.logcdf(-z)) == pytest.approx(math.log(0.3 * 0.5 / (math.pi * z)), rel=1e-13)
    assert float(m.logpdf(z)) == pytest.approx(math.log(0.3 * 0.5 / (math.pi * z * z)), rel=1e-13)


def test_mixture_asymmetric_components_quantiles():
    """Non-symmetric weights of shifted-scale components: ppf still inverts cdf."""
    m = Mixture([build_builtin("laplace", scale=0.1), build_builtin("student_t", scale=3.0, nu=3.0),
                 build_builtin("uniform", scale=2.0)], [0.6, 0.1, 0.3])
    u = np.concatenate([U_LOW, np.linspace(0.02, 0.98, 49), U_HIGH])
    x = m.ppf(u)
    np.testing.assert_allclose(m.cdf(x), u, rtol=1e-11, atol=1e-15)


def test_mixture_score_and_sampler():
    m = _lap_gauss_cauchy()
    z = np.array([-7.3, -1.1, -0.3, 0.2, 0.8, 2.9, 30.0])
    h = 1e-6 * np.maximum(1, np.abs(z))
    np.testing.assert_allclose(m.score(z), -(m.logpdf(z + h) - m.logpdf(z - h)) / (2 * h),
                               rtol=1e-6)
    x = m.sample(20_000, rng=11)
    assert stats.kstest(x, m.cdf).pvalue > 1e-3
    np.testing.assert_array_equal(m.sample(10, rng=1), m.sample(10, rng=1))


def test_mixture_zero_weight_component_is_dropped_exactly():
    g = build_builtin("gaussian", sigma=1.3)
    m = Mixture([build_builtin("cauchy", scale=1.0), g], [0.0, 1.0])
    x = np.linspace(-40, 40, 81)
    np.testing.assert_array_equal(m.logpdf(x), g.logpdf(x))
    np.testing.assert_array_equal(m.ppf(U_LOW), g.ppf(U_LOW))
    assert m.sigma == pytest.approx(1.3)
    # the definition (cache key) still records both components and weights
    d = m.definition()
    assert len(d["components"]) == 2 and d["weights"] == [0.0, 1.0]
    m2 = Mixture([build_builtin("cauchy", scale=1.0), g], [0.5, 0.5])
    assert m.fingerprint() != m2.fingerprint()


def test_mixture_of_uniforms_has_no_score():
    m = Mixture([build_builtin("uniform", scale=1.0), build_builtin("gaussian")], [0.5, 0.5])
    assert m.has_score is False
    with pytest.raises(UnicrError, match="score"):
        m.score(0.3)


def test_mixture_helper():
    m = mixture([build_builtin("laplace"), build_builtin("gaussian")], [0.5, 0.5])
    assert isinstance(m, Mixture) and m.sigma == pytest.approx(1.0)
    eq = mixture([build_builtin("laplace"), build_builtin("gaussian")])  # equal weights
    np.testing.assert_allclose(eq.weights, [0.5, 0.5])
    with pytest.raises(InvalidParameterError, match="component 0"):
        mixture([build_builtin("exp2", d=3)], [1.0])


@pytest.mark.parametrize("weights,match", [
    ([0.5, 0.6], "sum to 1"), ([1.2, -0.2], ">= 0"), ([0.5], "2 numbers"),
    ([float("nan"), 1.0], "finite"), (["a", 1], "numbers"),
])
def test_mixture_bad_weights(weights, match):
    with pytest.raises(InvalidParameterError, match="weights") as err:
        Mixture([build_builtin("laplace"), build_builtin("gaussian")], weights)
    assert match in str(err.value)


def test_mixture_bad_components():
    with pytest.raises(InvalidParameterError, match="at least one"):
        Mixture([], [])
    with pytest.raises(InvalidParameterError, match="component 1"):
        Mixture([build_builtin("laplace"), "gaussian"], [0.5, 0.5])


def test_monotone_quantile_direct():
    # invert the Gaussian log-cdf from a wide bracket
    target = np.log(np.array([1e-200, 1e-9, 0.3]))
    x = monotone_quantile(special.log_ndtr, lambda t: -0.5 * t * t - 0.5 * math.log(2 * math.pi),
                          target, np.full(3, -1e3), np.full(3, 5.0))
    np.testing.assert_allclose(x, special.ndtri(np.exp(target)), rtol=1e-13)


# ---------------------------------------------------------------------------
# UniCR's Laplace-Gaussian mixture
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("beta", [0.0, 0.25, 0.5, 1.0])
def test_laplace_gaussian_mix_kernel_and_sigma(beta):
    n = build_builtin("laplace_gaussian_mix", sigma=1.0, beta=beta)
    assert _quad(lambda t: float(n.pdf(t))) == pytest.approx(1.0, abs=1e-10)
    assert _quad(lambda t: t * t * float(n.pdf(t))) == pytest.approx(1.0, rel=1e-9)
    # the density is proportional to UniCR's kernel (Table 7)
    a = n.scale
    x = np.linspace(-6, 6, 25)
    kern = beta * np.exp(-np.abs(x / a)) + (1 - beta) * np.exp(-((x / a) ** 2))
    diff = n.logpdf(x) - np.log(kern)
    np.testing.assert_allclose(diff, diff[0], atol=1e-13)
    # docs/certificate-notes.md#c0-4 native scale
    sp = math.sqrt(math.pi)
    assert a == pytest.approx(math.sqrt((2 * beta + (1 - beta) * sp)
                                        / (4 * beta + (1 - beta) * sp / 2)), rel=1e-14)


def test_laplace_gaussian_mix_weights_differ_from_beta():
    n = build_builtin("laplace_gaussian_mix", beta=0.5)
    assert n.laplace_weight == pytest.approx(2 / (2 + math.sqrt(math.pi)))
    assert n.laplace_weight != pytest.approx(0.5)


X = np.concatenate([-np.logspace(-3, 1.5, 20), [0.0], np.logspace(-3, 1.5, 20)])
U = np.concatenate([U_LOW[::4], [0.2, 0.5, 0.8], U_HIGH[::5]])


@pytest.mark.parametrize("beta,other", [(0.0, "gaussian"), (1.0, "laplace")])
def test_laplace_gaussian_mix_endpoints(beta, other):
    n = build_builtin("laplace_gaussian_mix", sigma=0.8, beta=beta)
    o = build_builtin(other, sigma=0.8)
    np.testing.assert_allclose(n.logpdf(X), o.logpdf(X), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(n.cdf(X), o.cdf(X), rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(n.ppf(U), o.ppf(U), rtol=1e-12, atol=1e-14)


def test_laplace_gaussian_mix_quantiles_sampler_score():
    n = build_builtin("laplace_gaussian_mix", sigma=1.0, beta=0.5)
    x = n.ppf(U_LOW)
    np.testing.assert_allclose(n.cdf(x), U_LOW, rtol=1e-11)
    np.testing.assert_allclose(n.sf(n.ppf(U_HIGH)), 1 - U_HIGH, rtol=1e-11)
    s = n.sample(20_000, rng=99)
    assert stats.kstest(s, n.cdf).pvalue > 1e-3
    s = n.sample(400_000, rng=98)
    assert np.sqrt(np.mean(s * s)) == pytest.approx(1.0, rel=0.01)
    z = np.array([-3.0, -0.5, 0.1, 1.7])
    h = 1e-6
    np.testing.assert_allclose(n.score(z), -(n.logpdf(z + h) - n.logpdf(z - h)) / (2 * h),
                               rtol=1e-6)


@pytest.mark.parametrize("beta", [-0.1, 1.1, float("nan"), float("inf")])
def test_laplace_gaussian_mix_bad_beta(beta):
    with pytest.raises(InvalidParameterError, match="beta"):
        build_builtin("laplace_gaussian_mix", beta=beta)


# ---------------------------------------------------------------------------
# Normal-Uniform (Nandi et al. 2023)
# ---------------------------------------------------------------------------


def _nu_pdf_direct(z, sn, su):
    a = math.sqrt(3) * su
    z = -np.abs(z)  # the density is even; the left half has no cancellation
    return (stats.norm.cdf((z + a) / sn) - stats.norm.cdf((z - a) / sn)) / (2 * a)


def test_normal_uniform_is_nandis_noise_without_sigma():
    n = build_builtin("normal_uniform", sigma_n=0.5, sigma_u=0.433)
    assert n.scale == 1.0
    assert n.sigma == pytest.approx(math.sqrt(0.25 + 0.433**2), rel=1e-14)
    x = np.linspace(-3, 3, 41)
    np.testing.assert_allclose(n.pdf(x), _nu_pdf_direct(x, 0.5, 0.433), rtol=1e-12)
    assert _quad(lambda t: float(n.pdf(t))) == pytest.approx(1.0, abs=1e-10)
    assert _quad(lambda t: t * t * float(n.pdf(t))) == pytest.approx(n.var(), rel=1e-9)
    # exact sampler: sum of the two parts; KS against the closed-form cdf
    s = n.sample(20_000, rng=2023)
    assert stats.kstest(s, n.cdf).pvalue > 1e-3
    # chi-square of a histogram against the density integrated per bin
    edges = np.linspace(-2.5, 2.5, 26)
    counts, _ = np.histogram(s, bins=edges)
    probs = np.diff(n.cdf(edges))
    chi2 = np.sum((counts - 20_000 * probs) ** 2 / (20_000 * probs))
    assert stats.chi2.sf(chi2, len(counts) - 1) > 1e-3


def test_normal_uniform_sigma_keeps_shape():
    n = build_builtin("normal_uniform", sigma=1.0, sigma_n=0.5, sigma_u=0.433)
    assert n.sigma == pytest.approx(1.0)
    nandi = build_builtin("normal_uniform", sigma_n=0.5, sigma_u=0.433)
    c = n.scale
    np.testing.assert_allclose(n.cdf([0.3, -1.0]), nandi.cdf(np.array([0.3, -1.0]) / c))
    x = n.sample(400_000, rng=4)
    assert np.sqrt(np.mean(x * x)) == pytest.approx(1.0, rel=0.01)


def test_normal_uniform_default_has_nandi_kurtosis():
    n = build_builtin("normal_uniform")
    assert n.sigma == pytest.approx(1.0)
    assert n.params["sigma_u"] == pytest.approx(math.sqrt(3) / 2 * n.params["sigma_n"])
    m4 = _quad(lambda t: t**4 * float(n.pdf(t)))
    assert m4 / n.var() ** 2 - 3 == pytest.approx(-(6 / 5) * (3 / 7) ** 2, rel=1e-8)  # -0.22


def test_normal_uniform_cdf_is_integral_of_pdf_and_quantiles():
    n = build_builtin("normal_uniform", sigma_n=0.5, sigma_u=0.433)
    for z in [-2.0, -0.6, -0.1, 0.4, 1.3]:
        ref = integrate.quad(lambda t: float(n.pdf(t)), -np.inf, z, limit=200, epsabs=1e-14)[0]
        assert float(n.cdf(z)) == pytest.approx(ref, rel=1e-9)
    x = n.ppf(U_LOW)
    assert np.all(np.isfinite(x))
    np.testing.assert_allclose(n.cdf(x), U_LOW, rtol=1e-10)
    np.testing.assert_allclose(n.sf(n.ppf(U_HIGH)), 1 - U_HIGH, rtol=1e-10)


def test_normal_uniform_log_tails_at_50_sigma():
    """log p and log F at |z| = 50 sigma against a quadrature of the convolution in log space."""
    sn, su = 0.5, 0.433
    n = build_builtin("normal_uniform", sigma_n=sn, sigma_u=su)
    a = math.sqrt(3) * su
    z = 50 * n.sigma
    # p(z) = (1/2a) int_{-a}^{a} phi_sn(z - y) dy, factor out phi_sn(z - a)
    log_ref0 = stats.norm.logpdf(z - a, scale=sn)
    inner = integrate.quad(lambda y: math.exp(stats.norm.logpdf(z - y, scale=sn) - log_ref0),
                           -a, a, epsabs=0, epsrel=1e-13)[0]
    log_p = log_ref0 + math.log(inner) - math.log(2 * a)
    assert np.isfinite(n.logpdf(z)) and np.isfinite(n.logpdf(-z))
    assert float(n.logpdf(z)) == pytest.approx(log_p, rel=1e-12)
    assert float(n.logpdf(-z)) == pytest.approx(log_p, rel=1e-12)
    # F(-z) = (1/2a) int_{-a}^{a} Phi((-z - y)/sn) dy, factor out Phi((-z + a)/sn)
    lref = stats.norm.logcdf((-z + a) / sn)
    inner = integrate.quad(lambda y: math.exp(stats.norm.logcdf((-z - y) / sn) - lref),
                           -a, a, epsabs=0, epsrel=1e-13)[0]
    log_f = lref + math.log(inner) - math.log(2 * a)
    assert float(n.logcdf(-z)) == pytest.approx(log_f, rel=1e-12)
    assert float(n.logsf(z)) == pytest.approx(log_f, rel=1e-12)
    # score in the tail: finite, positive, close to (z - a)/sn^2 (the nearest Gaussian edge)
    s = float(n.score(z))
    assert s == pytest.approx((z - a) / sn**2, rel=0.01)


def test_normal_uniform_score():
    n = build_builtin("normal_uniform", sigma_n=0.5, sigma_u=0.433)
    z = np.array([-5.0, -1.0, -0.2, 0.05, 0.7, 0.76, 3.3, 20.0])
    h = 1e-6 * np.maximum(1, np.abs(z))
    np.testing.assert_allclose(n.score(z), -(n.logpdf(z + h) - n.logpdf(z - h)) / (2 * h),
                               rtol=1e-6)
    assert float(n.score(0.0)) == 0.0
    assert 0 < n.fisher_information() < 1 / 0.25  # below the pure Gaussian part's 1/sigma_n^2


def test_normal_uniform_degenerate_parts():
    g = build_builtin("normal_uniform", sigma_n=0.7, sigma_u=0.0)
    ref = build_builtin("gaussian", sigma=0.7)
    np.testing.assert_allclose(g.logpdf(X), ref.logpdf(X), rtol=1e-14)
    np.testing.assert_allclose(g.cdf(X), ref.cdf(X), rtol=1e-14)
    np.testing.assert_allclose(g.ppf(U), ref.ppf(U), rtol=1e-13)
    np.testing.assert_allclose(g.score(X), ref.score(X), rtol=1e-14)
    u = build_builtin("normal_uniform", sigma_n=0.0, sigma_u=0.4)
    ref = build_builtin("uniform", sigma=0.4)
    xs = np.linspace(-1, 1, 21)
    np.testing.assert_allclose(u.logpdf(xs), ref.logpdf(xs))
    np.testing.assert_allclose(u.cdf(xs), ref.cdf(xs), atol=1e-15)
    assert u.has_score is False and u.support == pytest.approx(ref.support)


def test_normal_uniform_small_uniform_part_cdf():
    """Taylor branch (half-width << sigma_n) against direct quadrature."""
    n = build_builtin("normal_uniform", sigma_n=1.0, sigma_u=1e-5)
    for z in [0.0, -3e-6, 2e-6, -0.3]:
        ref = integrate.quad(lambda t: float(n.pdf(t)), -np.inf, z, epsabs=1e-15)[0]
        assert float(n.cdf(z)) == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("params,match", [
    ({"sigma_n": 0.0, "sigma_u": 0.0}, "sigma_n"), ({"sigma_n": -0.5}, "sigma_n"),
    ({"sigma_u": float("nan")}, "sigma_u"), ({"sigma_u": -1.0}, "sigma_u"),
])
def test_normal_uniform_bad_parameters(params, match):
    with pytest.raises(InvalidParameterError, match=match):
        build_builtin("normal_uniform", **params)


@settings(max_examples=30, deadline=None)
@given(sn=st.floats(0.05, 3.0), ratio=st.floats(1e-3, 30.0),
       u=st.floats(min_value=1e-300, max_value=0.5))
def test_normal_uniform_roundtrip_property(sn, ratio, u):
    n = build_builtin("normal_uniform", sigma_n=sn, sigma_u=sn * ratio)
    x = float(n.ppf(u))
    assert np.isfinite(x)
    assert float(n.logcdf(x)) == pytest.approx(math.log(u), rel=1e-10, abs=1e-10)
    assert np.isfinite(n.logpdf(x))
