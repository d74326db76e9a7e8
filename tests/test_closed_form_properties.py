"""Orderings, identities and hypothesis properties of the closed-form library."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import special

from unicr.closed_form import (
    abstains,
    cohen_l2,
    convert_radius,
    feng_two_sided,
    gaussian_linf_conversion,
    hayes_bhattacharyya,
    hayes_chi2,
    hayes_gn_lp,
    hayes_hellinger,
    hayes_kl,
    hayes_kl_corrected,
    hayes_tv,
    hayes_tv_corrected,
    li_l1,
    li_l1_printed,
    li_renyi,
    nandi_uniform_l1,
    nandi_uniform_l2,
    norm_conversion_factor,
    pixeldp_gaussian,
    pixeldp_laplace,
    renyi_h,
    teng_l1,
    yang_exp1_l1,
    yang_exp2_l2,
    yang_expinf_l1,
    yang_expinf_linf,
    yang_gennorm_l1,
    yang_laplace_linf,
    yang_pareto_l1,
    yang_powinf_l1,
    yang_powinf_linf,
    yang_uniform_ball_l2,
    yang_uniform_l1,
    yang_uniform_linf,
)
from unicr.closed_form.lecuyer import pixeldp_gaussian_objective
from unicr.closed_form.li import li_renyi_at
from unicr.errors import InvalidParameterError

#: sound two-sided Gaussian l2 formulas (divergence certificates and PixelDP)
DIVERGENCES = [hayes_kl, hayes_kl_corrected, hayes_chi2, hayes_hellinger, hayes_bhattacharyya,
               hayes_tv_corrected, li_renyi, pixeldp_gaussian]

#: every sound formula as f(pa, pb, scale): two-sided ones use pb, binary ones ignore it
TWO_SIDED = [cohen_l2, feng_two_sided, teng_l1, li_l1, pixeldp_laplace, *DIVERGENCES,
             lambda a, b, s: gaussian_linf_conversion(a, b, s, 3072),
             lambda a, b, s: hayes_gn_lp(a, b, s, 3, 3072)]
BINARY = [
    yang_uniform_l1, nandi_uniform_l1,
    lambda a, s: yang_uniform_linf(a, s, 3072),
    lambda a, s: nandi_uniform_l2(a, s, 3072),
    lambda a, s: yang_pareto_l1(a, s, 3.0),
    lambda a, s: yang_gennorm_l1(a, s, 1.5),
    lambda a, s: yang_gennorm_l1(a, s, 0.5),
    lambda a, s: yang_gennorm_l1(a, s, 0.7),
    lambda a, s: yang_laplace_linf(a, s, 100),
    lambda a, s: yang_expinf_l1(a, s, 100),
    lambda a, s: yang_expinf_linf(a, s, 100, 1.0),
    lambda a, s: yang_expinf_linf(a, s, 50, 2.0),
    lambda a, s: yang_exp2_l2(a, s, 100, 1.0),
    lambda a, s: yang_exp1_l1(a, s, 50, 2.0),
    lambda a, s: yang_uniform_ball_l2(a, s, 100),
    lambda a, s: yang_powinf_l1(a, s, 10, 20.0),
    lambda a, s: yang_powinf_linf(a, s, 10, 20.0),
]

pa_st = st.floats(min_value=1e-6, max_value=1 - 1e-9)
frac_st = st.floats(min_value=0.0, max_value=1.0)


def _le(x, y, rel=1e-7):
    return x <= y * (1 + rel) + 1e-12


# --- orderings --------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(pa=st.floats(min_value=0.5001, max_value=1 - 1e-12), frac=frac_st, sigma=st.floats(0.01, 10))
def test_every_divergence_radius_is_below_cohen(pa, frac, sigma):
    pb = (1 - pa) * frac
    assume(pb > 0)
    for pb_ in (None, pb):
        c = cohen_l2(pa, pb_, sigma)
        for f in DIVERGENCES:
            assert _le(f(pa, pb_, sigma), c, 1e-9), f.__name__
        assert li_renyi(pa, pb_, sigma) >= hayes_chi2(pa, pb_, sigma) * (1 - 1e-12)
    assert hayes_tv(pa, None, sigma) == pytest.approx(2 * cohen_l2(pa, None, sigma), rel=1e-12)


def test_teng_is_yang_gennorm_beta1_and_gennorm_beta2_is_cohen():
    for p in np.linspace(0.501, 1 - 1e-12, 40):
        assert teng_l1(p, lam=0.3) == pytest.approx(yang_gennorm_l1(p, 0.3, 1.0), rel=1e-12)
        # generalized normal beta = 2 with scale lam is N(0, lam^2 / 2)
        assert yang_gennorm_l1(p, 0.3, 2.0) == pytest.approx(cohen_l2(p, sigma=0.3 / math.sqrt(2)),
                                                             rel=1e-10)
        assert li_l1(p, lam=0.3) == pytest.approx(teng_l1(p, lam=0.3), rel=1e-12)
        assert nandi_uniform_l1(p, 0.4) == pytest.approx(yang_uniform_l1(p, math.sqrt(3) * 0.4))


def test_teng_two_sided_terms():
    # each term is a certificate; the max dominates both, and binary == two-sided at pB = 1 - pA
    assert teng_l1(0.7, 0.1, 1.0) == pytest.approx(max(0.5 * math.log(7), -math.log(0.4)))
    assert teng_l1(0.7, 0.3, 1.0) == pytest.approx(teng_l1(0.7, None, 1.0), rel=1e-12)
    assert pixeldp_laplace(0.7, 0.1, 2.0) == pytest.approx(math.log(7))
    assert li_l1_printed(0.7, 0.1, 1.0) == pytest.approx(math.log(0.4))  # negative: the erratum
    assert li_l1_printed(0.7, 0.1, 1.0) < 0 < li_l1(0.7, 0.1, 1.0)


# --- identities of the Renyi / divergence forms ------------------------------------------


@pytest.mark.parametrize("pa,pb", [(0.6, 0.4), (0.9, 0.1), (0.7, 0.2), (0.55, 0.05), (0.999, 1e-4)])
def test_renyi_h_matches_the_printed_expression(pa, pb):
    for alpha in (1.01, 1.5, 2.0, 5.0, 30.0):
        t = 1 - alpha
        naive = -math.log(1 - pa - pb + 2 * (0.5 * (pa**t + pb**t)) ** (1 / t))
        assert float(renyi_h(pa, pb, alpha)) == pytest.approx(naive, rel=1e-9, abs=1e-15)
    # alpha = 2 is the chi-square certificate; alpha -> 1 the consistent KL
    assert float(li_renyi_at(pa, pb, 2.0)) == pytest.approx(hayes_chi2(pa, pb), rel=1e-10)
    assert float(li_renyi_at(pa, pb, 1 + 1e-9)) == pytest.approx(hayes_kl_corrected(pa, pb),
                                                                 rel=1e-6)
    # the optimised order is at least as good as every grid order
    best = max(float(li_renyi_at(pa, pb, a)) for a in np.linspace(1.001, 20, 400))
    assert li_renyi(pa, pb) >= best * (1 - 1e-9)


def test_renyi_near_one_half_has_no_cancellation():
    # R ~ c (pA - 1/2) near 1/2: relative accuracy must survive pA = 1/2 + 1e-9
    for e in (1e-3, 1e-6, 1e-9):
        r_small = li_renyi(0.5 + e)
        assert r_small > 0
        assert r_small / e == pytest.approx(li_renyi(0.5 + 1e-3) / 1e-3, rel=2e-3)
        assert hayes_chi2(0.5 + e) / e == pytest.approx(2.0, rel=1e-3)


def test_bhattacharyya_printed_expression_equals_hellinger_form():
    for p1, p2 in [(0.6, 0.3), (0.9, 0.1), (0.75, 0.05)]:
        num = (math.sqrt(p1) + math.sqrt(p2)) ** 2 + 2 * (1 - p1 - p2)
        den = math.sqrt(2 * (2 * math.sqrt(p1 * p2) + 2 - p1 - p2))
        printed = math.sqrt(-8 * math.log(num / den))
        assert hayes_bhattacharyya(p1, p2) == pytest.approx(printed, rel=1e-12)


def test_pixeldp_is_the_supremum_over_beta():
    for pa, pb in [(0.9, None), (0.7, 0.2), (0.999, None), (0.6, 0.1)]:
        r = pixeldp_gaussian(pa, pb)
        b = 1 - pa if pb is None else pb
        bmax = min(1.0, 0.5 * math.log(pa / b))
        grid = np.linspace(bmax * 1e-4, bmax, 20001)
        brute = float(np.max(pixeldp_gaussian_objective(grid, pa, b)))
        assert brute * (1 - 1e-7) <= r <= brute * (1 + 1e-6)


# --- hypothesis: finite, >= 0, monotone, scaling ------------------------------------------


@settings(max_examples=40, deadline=None)
@given(pa=pa_st, frac=frac_st, step=st.floats(1e-6, 0.3), c=st.floats(0.01, 100))
def test_two_sided_formulas_are_sound_shaped(pa, frac, step, c):
    pb = (1 - pa) * frac
    assume(pb > 1e-300)
    pa2 = min(pa + step * (1 - pa - pb), 1 - 1e-12)  # larger pA, same pB (pa2 + pb <= 1)
    pb2 = pb * (1 - step)  # smaller pB
    for f in TWO_SIDED:
        for pb_ in (None, pb):
            r = f(pa, pb_, 1.0)
            assert math.isfinite(r) and r >= 0
            if abstains(pa, pb_):
                assert r == 0
            assert f(pa, pb_, c) == pytest.approx(c * r, rel=1e-9, abs=1e-300)
        r = f(pa, pb, 1.0)
        assert _le(r, f(pa2, pb, 1.0), 1e-6)  # monotone in pA
        assert _le(r, f(pa, pb2, 1.0), 1e-6)  # decreasing in pB


@settings(max_examples=15, deadline=None)
@given(pa=st.floats(min_value=0.3, max_value=1 - 1e-7), step=st.floats(1e-4, 0.5),
       c=st.floats(0.01, 100))
def test_binary_formulas_are_sound_shaped(pa, step, c):
    pa2 = pa + step * (1 - pa)
    for f in BINARY:
        r = f(pa, 1.0)
        assert math.isfinite(r) and r >= 0
        if pa <= 0.5:
            assert r == 0
        assert _le(r, f(pa2, 1.0), 1e-6)
        assert f(pa, c) == pytest.approx(c * r, rel=1e-9, abs=1e-300)


def test_limits_as_pa_tends_to_one_are_finite():
    for pa in (1 - 1e-12, 1 - 1e-15, float(np.nextafter(1.0, 0.0))):
        for f in TWO_SIDED:
            assert math.isfinite(f(pa, None, 1.0))
        for f in BINARY[:7]:  # the closed forms (the integrals are covered above)
            assert math.isfinite(f(pa, 1.0))


@pytest.mark.parametrize("bad", [dict(pa=1.0), dict(pa=0.0), dict(pa=float("nan")),
                                 dict(pa=0.7, pb=0.5), dict(pa=0.7, sigma=0.0),
                                 dict(pa=0.7, sigma=-1.0), dict(pa="x")])
def test_bad_inputs_raise_clear_errors(bad):
    kw = dict(bad)
    sigma = kw.pop("sigma", 1.0)
    with pytest.raises(InvalidParameterError):
        cohen_l2(kw["pa"], kw.get("pb"), sigma)
    with pytest.raises(InvalidParameterError):
        li_renyi(kw["pa"], kw.get("pb"), sigma)


def test_abstain_rule():
    assert abstains(0.5) and not abstains(0.5000001)
    assert abstains(0.4, 0.4) and not abstains(0.4, 0.39)
    assert cohen_l2(0.4, 0.39) > 0  # two-sided may certify with pA < 1/2
    assert cohen_l2(0.4) == 0 and hayes_tv(0.3, 0.3) == 0


def test_norm_conversion():
    assert norm_conversion_factor(2, "inf", 3072) == pytest.approx(math.sqrt(3072))
    assert norm_conversion_factor(1, 2, 3072) == pytest.approx(math.sqrt(3072))
    assert norm_conversion_factor(2, 1, 3072) == 1.0
    assert convert_radius(1.0, 1, "inf", 100) == pytest.approx(0.01, rel=1e-9)
    assert convert_radius(1.0, 1, "inf", 100) <= 0.01
    assert gaussian_linf_conversion(0.9, None, 1.0, 3072) == pytest.approx(
        special.ndtri(0.9) / math.sqrt(3072), rel=1e-9)
    with pytest.raises(InvalidParameterError):
        convert_radius(-1.0, 1, 2, 10)
