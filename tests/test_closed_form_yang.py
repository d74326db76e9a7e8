"""Yang et al. 2020 families, Kumar's upper bounds and the differential method."""

import math

import numpy as np
import pytest
from scipy import special, stats

from unicr.closed_form import (
    cohen_l2,
    differential_radius,
    expinf_scale,
    gaussian_linf_conversion,
    kumar_upper_gennorm,
    kumar_upper_iid,
    nandi_uniform_l2,
    teng_l1,
    yang_exp1_l1,
    yang_exp2_l2,
    yang_expinf_l1,
    yang_expinf_linf,
    yang_gennorm_l1,
    yang_laplace_linf,
    yang_laplace_linf_approx,
    yang_pareto_l1,
    yang_powinf_l1,
    yang_powinf_linf,
    yang_uniform_ball_l2,
    yang_uniform_l1,
    yang_uniform_linf,
)
from unicr.closed_form.yang import _exp1_phi, _expinf_phi, gennorm_phi
from unicr.errors import ConvergenceError, InvalidParameterError

D = 3072
RHOS = [0.501, 0.6, 0.75, 0.9, 0.99, 0.9999, 1 - 1e-9]


def _brute_lower(phi, rho, n=400_001):
    """Independent right-endpoint Riemann sum on a uniform grid in u (a lower bound)."""
    u = np.linspace(1 - rho, 0.5, n)
    return float(np.sum(np.diff(u) / phi(u[1:])))


@pytest.mark.parametrize("rho", RHOS)
def test_gennorm_half_dilog_is_the_differential_integral(rho):
    lo, hi = differential_radius(gennorm_phi(0.5), rho)
    closed = yang_gennorm_l1(rho, 1.0, 0.5)
    assert lo <= closed <= hi
    assert hi - lo <= 2e-4 * closed + 1e-15


@pytest.mark.parametrize("rho", [0.6, 0.9, 0.999])
def test_differential_sum_is_a_lower_bound_and_converges(rho):
    phi = gennorm_phi(0.7)
    lo, hi = differential_radius(phi, rho)
    fine_lo, _ = differential_radius(phi, rho, rel_step=2e-5)
    assert lo <= fine_lo <= hi
    assert _brute_lower(phi, rho) <= hi


@pytest.mark.parametrize("beta", [1.0, 1.5, 2.0, 3.0, 8.0])
def test_gennorm_quantile_for_log_concave_shapes(beta):
    """beta >= 1: R = F^-1(pA), the 1-D quantile (SciPy's gennorm is the same law)."""
    for rho in RHOS[:-1]:
        assert yang_gennorm_l1(rho, 0.7, beta) == pytest.approx(
            stats.gennorm(beta, scale=0.7).ppf(rho), rel=1e-9)


@pytest.mark.parametrize("a", [1.0, 2.5, 3.0, 10.0])
def test_pareto_closed_form_is_its_differential_integral(a):
    def phi(u):
        return 0.5 * a * (1 - (1 - 2 * u) ** ((a + 1) / a))

    for rho in RHOS:
        lo, hi = differential_radius(phi, rho)
        assert lo * (1 - 1e-9) <= yang_pareto_l1(rho, 1.0, a) <= hi * (1 + 1e-9)


def test_laplace_linf_exact_integral():
    for rho in RHOS:
        # d = 1: the l_inf and l1 balls coincide -> Teng's radius
        assert yang_laplace_linf(rho, 0.8, 1) == pytest.approx(teng_l1(rho, lam=0.8), rel=1e-9)
        r = yang_laplace_linf(rho, 1.0, D)
        # between the trivial l1 conversion and the l1 radius itself
        assert teng_l1(rho) / D <= r <= teng_l1(rho)
        # in high d it approaches the "approx" estimate (docs/certificate-notes.md#c2-4)
        assert r == pytest.approx(yang_laplace_linf_approx(rho, 1.0, D), rel=0.02)


@pytest.mark.parametrize("d", [2, 3, 7, 40])
def test_laplace_linf_against_a_riemann_sum_of_the_binomial_phi(d):
    """Independent evaluation: Phi(u) = E[(2K - d) 1_top-u] by brute force on a fine grid."""
    k = np.arange(d, -1, -1)
    s = 2.0 * k - d
    m = stats.binom.pmf(k, d, 0.5)
    cum = np.concatenate([[0.0], np.cumsum(m)])
    phicum = np.concatenate([[0.0], np.cumsum(m * s)])

    def phi(u):
        i = np.searchsorted(cum, u, side="right") - 1
        i = np.clip(i, 0, d)
        return phicum[i] + s[i] * (u - cum[i])

    for rho in (0.6, 0.9, 0.999):
        exact = yang_laplace_linf(rho, 1.0, d)
        lo, hi = differential_radius(phi, rho, rel_step=1e-5)
        assert lo * (1 - 1e-9) <= exact <= hi * (1 + 1e-9)


def test_exp1_expinf_tables_reduce_to_closed_forms_at_k1():
    for rho in RHOS[:-1]:
        lo, hi = differential_radius(_exp1_phi(10, 1.0), rho)
        assert lo <= yang_exp1_l1(rho, 1.0, 10, 1.0) <= hi
        lo, hi = differential_radius(_expinf_phi(10, 1.0), rho)
        assert lo <= yang_expinf_linf(rho, 1.0, 10, 1.0) <= hi
        assert yang_exp1_l1(rho, 0.3, 10, 1.0) == pytest.approx(teng_l1(rho, lam=0.3))
    assert yang_expinf_l1(0.7, 1.0, 50, 1.0) == pytest.approx(2 * 50 * 0.2, rel=1e-10)
    assert yang_powinf_l1(0.7, 1.0, 10, 20.0) == pytest.approx(2 * 10 / 10 * 0.2, rel=1e-10)


def test_uniform_cube_and_ball():
    for rho in RHOS:
        assert yang_uniform_l1(rho, 2.0) == pytest.approx(4 * (rho - 0.5))
        r = yang_uniform_linf(rho, 2.0, D)
        assert r == pytest.approx(4 * (1 - (1.5 - rho) ** (1 / D)), rel=1e-9, abs=1e-15)
        # tight: the overlap of the cube and its shift by (r, ..., r) is 3/2 - pA
        assert (1 - r / 4) ** D == pytest.approx(1.5 - rho, rel=1e-9)
        rb = yang_uniform_ball_l2(rho, 2.0, D)
        # overlap condition I_{1 - R^2/(4 lam^2)}((d+1)/2, 1/2) = 3/2 - pA (docs/certificate-notes.md#c3-4)
        assert special.betainc((D + 1) / 2, 0.5, 1 - rb**2 / 16) == pytest.approx(1.5 - rho,
                                                                                rel=1e-9)
        assert 0 <= rb < 4.0
    assert nandi_uniform_l2(0.9, 1.0, D) == pytest.approx(2 * math.sqrt(3) * 0.4 / math.sqrt(D))


def test_exp2_against_gaussian_limits():
    for rho in RHOS:
        # k = 2 is a Gaussian of std lam / sqrt 2
        assert yang_exp2_l2(rho, 0.5, D, 2.0) == pytest.approx(
            cohen_l2(rho, sigma=0.5 / math.sqrt(2)))
        # k = 1, j = 0 in high d: the radius concentrates, so the law is nearly Gaussian at
        # matching sigma (lam = sigma / sqrt(d + 1))
        sigma = 0.5
        r = yang_exp2_l2(rho, sigma / math.sqrt(D + 1), D, 1.0)
        assert r == pytest.approx(cohen_l2(rho, sigma=sigma), rel=2e-3)


def test_expinf_scale_matches_sampled_rms():
    """sigma <-> lam for ExpInf(1): radius Gamma(d) times a uniform point of the cube surface."""
    rng = np.random.default_rng(0)
    d, n = 30, 40_000
    lam = expinf_scale(1.0, d)
    z = rng.uniform(-1, 1, size=(n, d))
    idx = rng.integers(0, d, size=n)
    z[np.arange(n), idx] = rng.choice([-1.0, 1.0], size=n)
    x = lam * rng.gamma(d, size=(n, 1)) * z
    rms = math.sqrt(np.mean(x**2))
    assert rms == pytest.approx(1.0, rel=0.02)


def test_kumar_upper_bounds_dominate_linf_certificates():
    for rho in np.linspace(0.51, 1 - 1e-9, 30):
        up = kumar_upper_iid(rho, 1.0, D, "inf")
        assert yang_uniform_linf(rho, math.sqrt(3), D) <= up  # tight uniform l_inf
        assert yang_laplace_linf(rho, 1 / math.sqrt(2), D) <= up  # Laplace l_inf (lower)
        gauss_linf = gaussian_linf_conversion(rho, None, 1.0, D)
        assert gauss_linf <= kumar_upper_gennorm(rho, 1.0, D, "inf")
        # any p > 2: the exponent 1/2 - 1/p
        assert kumar_upper_iid(rho, 1.0, D, 4) == pytest.approx(
            1 / (math.sqrt(2 * (1 - rho)) * D**0.25))
    with pytest.raises(InvalidParameterError, match="p > 2"):
        kumar_upper_iid(0.9, 1.0, D, 2)


def test_unsupported_shapes_refuse_clearly():
    with pytest.raises(InvalidParameterError, match="k = 1 and k = 2"):
        yang_exp2_l2(0.9, 1.0, 10, 3.0)
    with pytest.raises(InvalidParameterError, match="k >= 1"):
        yang_expinf_linf(0.9, 1.0, 10, 0.5)
    with pytest.raises(InvalidParameterError, match="a > d"):
        yang_powinf_linf(0.9, 1.0, 10, 5.0)
    with pytest.raises(InvalidParameterError):
        yang_gennorm_l1(0.9, 1.0, -1.0)


def test_differential_method_refuses_a_bad_phi():
    with pytest.raises(ConvergenceError, match="non-decreasing"):
        differential_radius(lambda u: 1.0 - u, 0.9)
    with pytest.raises(ConvergenceError, match="positive"):
        differential_radius(lambda u: u - 0.2, 0.9)
    assert differential_radius(lambda u: u, 0.4) == (0.0, 0.0)
