"""Closed forms against the numbers printed in the papers and in docs/certificate-notes.md."""

import math

import numpy as np
import pytest
from scipy import integrate, optimize, special

from unicr.closed_form import (
    cohen_l2,
    expinf_scale,
    gn_kl_coefficients,
    gn_kl_divergence,
    hayes_bhattacharyya,
    hayes_chi2,
    hayes_gn_intersection,
    hayes_gn_l12,
    hayes_gn_lp,
    hayes_hellinger,
    hayes_kl,
    hayes_kl_corrected,
    hayes_tv,
    hayes_tv_corrected,
    kl_bound,
    li_renyi,
    lp_linf_volume_ratio,
    nandi_uniform_l1,
    pixeldp_gaussian,
    unicr_expinf_baseline,
    unicr_expinf_scale,
    yang_expinf_linf,
)
from unicr.stats import pa_ceiling, radius_ceiling

CIFAR = 3 * 32 * 32
IMAGENET = 3 * 224 * 224


# --- Hayes 2020, Sec. 3.2 worked example (docs/certificate-notes.md#c5-5) ---


def test_hayes_worked_constants():
    assert kl_bound(0.99, 0.01) == pytest.approx(1.614463, abs=1e-6)
    c3 = gn_kl_coefficients(3)
    c4 = gn_kl_coefficients(4)
    assert c3 == pytest.approx([3 / math.gamma(1 / 3), 0.0, 1.0])
    assert c3[0] == pytest.approx(1.119847, abs=1e-6)
    assert c4[1] == pytest.approx(2.027935, abs=1e-6)
    assert c4[0] == 0 and c4[2] == 0 and c4[3] == 1


def test_hayes_l3_example_086_and_144():
    # eps_3 = eps_1 (Fig. 4 convention): eps^3 + 1.119847 eps = B -> 0.864578
    region = hayes_gn_intersection(0.99, 0.01, scale=1.0, p=3, d=CIFAR, trade=0.0)
    (k3, e3), (k1, e1) = region.constraints
    assert (k3, k1) == (3.0, 1.0)
    assert e3 == pytest.approx(0.864578, abs=1e-6) and e1 == e3
    assert e3**3 + 3 / math.gamma(1 / 3) * e3 <= kl_bound(0.99, 0.01)
    # trading eps_3 down to ~0 raises eps_1 to B / 1.119847 = 1.441682
    region = hayes_gn_intersection(0.99, 0.01, scale=1.0, p=3, d=CIFAR, trade=1.0)
    (_, e3), (_, e1) = region.constraints
    assert e1 == pytest.approx(1.441682, abs=1e-6)
    assert e3 == pytest.approx(e1 / CIFAR ** (2 / 3), rel=1e-9)
    assert e3 < 0.01


def test_hayes_intersection_is_not_an_lp_ball_cifar_ratios():
    # Eq. 21's genuine l3 ball is more than two orders of magnitude below the Fig. 4 number
    fig4 = hayes_gn_intersection(0.99, 0.01, 1.0, 3, CIFAR).constraints[0][1]
    genuine = hayes_gn_lp(0.99, 0.01, 1.0, 3, CIFAR)
    assert fig4 / genuine > 100
    # Eq. 21 == the largest l3 ball inside the trade = 1 region (both rounded down)
    region = hayes_gn_intersection(0.99, 0.01, 1.0, 3, CIFAR, trade=1.0)
    assert region.lp_radius(3) == pytest.approx(genuine, rel=1e-9)
    # l4 chain: an adversary with ||delta||_4 < eps may have ||delta||_2 up to d^(1/4) eps
    region4 = hayes_gn_intersection(0.99, 0.01, 1.0, 4, CIFAR)
    eps = region4.constraints[0][1]
    assert eps / region4.lp_radius(4) == pytest.approx(CIFAR**0.25, rel=1e-9)
    assert CIFAR**0.25 == pytest.approx(7.44, abs=0.005)
    # the l2 ball of radius eps is inside (all eps equal -> smallest ball of the chain)
    assert region4.lp_radius(2) == pytest.approx(eps, rel=1e-9)


@pytest.mark.parametrize("p", [3, 4, 5])
def test_hayes_eq21_satisfies_its_inequality_and_is_maximal(p):
    d, s = CIFAR, 0.25
    r = hayes_gn_lp(0.95, None, s, p, d)
    c = gn_kl_coefficients(p)
    big_b = kl_bound(0.95)

    def lhs(eps):
        return sum(c[k - 1] * d ** (1 - k / p) * (eps / s) ** k for k in range(1, p + 1))

    assert lhs(r) <= big_b
    assert lhs(r * (1 + 1e-9)) > big_b


def test_hayes_eq20_axis_ceilings():
    # PAPER-TABLES §5: with p1 <= 0.999931 (n1 = 1e5, gamma = 0.001), GN sigma = 0.25
    p1 = pa_ceiling(100_000, 0.001)
    assert hayes_gn_l12(p1, None, 0.25, 1) == pytest.approx(1.0243, abs=1e-4)
    assert hayes_gn_l12(p1, None, 0.25, 2) == pytest.approx(0.5060, abs=1e-4)
    # Eq. 20 at p = 2 is the corrected KL radius in RMS units (sigma = s / sqrt 2)
    assert hayes_gn_l12(0.8, 0.1, 0.25, 2) == pytest.approx(
        hayes_kl_corrected(0.8, 0.1, 0.25 / math.sqrt(2)), rel=1e-12)
    # and Eq. 21 reduces to Eq. 20 for p = 1, 2
    for p in (1, 2):
        assert hayes_gn_lp(0.8, 0.1, 0.25, p, CIFAR) == pytest.approx(
            hayes_gn_l12(0.8, 0.1, 0.25, p), rel=1e-10)


def test_hayes_volume_ratio_imagenet():
    assert lp_linf_volume_ratio(9 * IMAGENET, IMAGENET) == pytest.approx(0.99040, abs=1e-5)
    assert lp_linf_volume_ratio(2, 2) == pytest.approx(math.pi / 4)


@pytest.mark.parametrize("s", [1, 2, 3, 4])
def test_hayes_eq14_kl_exact_for_even_upper_bound_for_odd(s):
    """docs/soundness-notes.md#s25: Eq. 14 against 1-D quadrature of the KL of shifted GN laws."""
    logc = math.log(s) - math.log(2) - special.gammaln(1 / s)
    for a in (0.05, 0.7, 2.0):

        def integrand(x, a=a):
            return math.exp(logc - abs(x) ** s) * (abs(x - a) ** s - abs(x) ** s)

        kl = integrate.quad(integrand, -60.0, 60.0, points=[0.0, a], limit=400, epsabs=1e-13)[0]
        eq14 = gn_kl_divergence([a], 1.0, s)
        if s % 2 == 0:
            assert eq14 == pytest.approx(kl, rel=1e-7)
        else:
            assert eq14 >= kl - 1e-12
        if s == 1:
            assert kl == pytest.approx(a + math.exp(-a) - 1, rel=1e-7)


# --- Hayes Proposition 1 (binary, sigma = 1, Fig. 1), both KL conventions -------------------

GRID = np.concatenate([np.linspace(0.501, 0.99, 60), [0.995, 0.998, 0.9985, 0.999, 0.9999]])


def test_hayes_proposition_1_with_printed_kl():
    for p in GRID:
        renyi, chi2, kl = li_renyi(p), hayes_chi2(p), hayes_kl(p)
        h2, b = hayes_hellinger(p), hayes_bhattacharyya(p)
        assert renyi > chi2  # (1)
        assert chi2 > kl  # (2)
        assert chi2 > h2  # (3)
        assert b == pytest.approx(h2, rel=1e-12)  # (4)
        if p < 0.998:
            assert h2 > kl  # (5)
        assert kl > pixeldp_gaussian(p)  # (6)
    # the H^2 / KL crossover of item (5) is at p1 = 0.99809
    cross = optimize.brentq(lambda p: hayes_hellinger(p) - hayes_kl(p), 0.99, 0.99999)
    assert cross == pytest.approx(0.99809, abs=1e-5)


def test_hayes_proposition_1_with_consistent_kl():
    for p in GRID:
        kl = hayes_kl_corrected(p)
        assert kl == pytest.approx(hayes_chi2(p), rel=1e-12)  # (2) becomes an equality
        assert kl >= hayes_hellinger(p)  # (5) fails: KL >= H^2 everywhere
        assert li_renyi(p) > hayes_chi2(p) > hayes_hellinger(p)  # (1), (3) unaffected
        assert kl > pixeldp_gaussian(p)  # (6) unaffected
    # the "gn" reading of the printed row is the corrected radius
    assert hayes_kl(0.8, 0.15, 0.7, convention="gn") == pytest.approx(
        hayes_kl_corrected(0.8, 0.15, 0.7), rel=1e-15)
    # two-sided with p1 + p2 < 1: KL (consistent) > chi2
    assert hayes_kl_corrected(0.6, 0.2) > hayes_chi2(0.6, 0.2)


def test_printed_tv_is_twice_cohen_and_corrected_tv_saturates():
    for p in GRID:
        assert hayes_tv(p, sigma=0.37) == pytest.approx(2 * cohen_l2(p, sigma=0.37), rel=1e-12)
    sat = 2 * special.ndtri(0.75)
    assert sat == pytest.approx(1.349, abs=1e-3)
    assert hayes_tv_corrected(1 - 1e-15) == pytest.approx(sat, rel=1e-9)
    assert all(hayes_tv_corrected(p) < sat for p in GRID)
    assert hayes_hellinger(1 - 1e-15) == pytest.approx(2 * math.sqrt(math.log(2)), rel=1e-6)
    # the corrected radius solves the row's own condition 2 Phi(r / 2 sigma) - 1 = |p1 - p2| / 2
    r = hayes_tv_corrected(0.7, 0.2, sigma=1.3)
    assert 2 * special.ndtr(r / (2 * 1.3)) - 1 == pytest.approx(0.25, rel=1e-12)


# --- ceilings (docs/certificate-notes.md#c10-6) and UniCR's ExpInf constant (S26) ---


@pytest.mark.parametrize("n,expected", [(1_000, 2.4633), (4_000, 2.9244), (10_000, 3.1986),
                                        (100_000, 3.8115)])
def test_gaussian_radius_ceilings(n, expected):
    assert radius_ceiling(n, 0.001) == pytest.approx(expected, abs=1e-4)
    assert radius_ceiling(n, 0.001, sigma=0.5) == pytest.approx(expected / 2, abs=1e-4)
    # the generic form agrees with Cohen's formula
    assert radius_ceiling(n, 0.001, formula=cohen_l2) == pytest.approx(expected, abs=1e-4)


def test_ceiling_pa_and_nandi_uniform_ceiling():
    assert pa_ceiling(100_000, 0.001) == pytest.approx(0.999931, abs=1e-6)
    ceiling = radius_ceiling(100_000, 0.001, formula=nandi_uniform_l1)
    assert ceiling == pytest.approx(1.7318, abs=1e-4)
    assert radius_ceiling(100_000, 0.001, formula=lambda p: nandi_uniform_l1(p, 0.25)) == \
        pytest.approx(0.4330, abs=1e-4)


def test_unicr_expinf_constant_ratio():
    d = CIFAR
    assert unicr_expinf_scale(1.0, d) / expinf_scale(1.0, d) == pytest.approx(1.1553, abs=1e-4)
    for p in (0.6, 0.9, 0.999):
        good = yang_expinf_linf(p, expinf_scale(1.0, d), d)
        assert unicr_expinf_baseline(p, 1.0, d) / good == pytest.approx(1.1553, abs=1e-4)
    assert expinf_scale(2.0, d) == pytest.approx(2.0 / math.sqrt((d + 1) * ((d - 1) / 3 + 1)))
