"""Clopper-Pearson bounds, Feng et al.'s runner-up bounds, PREDICT and ceilings."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from unicr.closed_form import feng_certify
from unicr.errors import InvalidParameterError
from unicr.stats import (
    clopper_pearson_lower,
    clopper_pearson_upper,
    cp_runner_up_upper,
    generalized_cp_upper,
    pa_ceiling,
    predict,
    radius_ceiling,
    two_sided_bounds,
)


@pytest.mark.parametrize("n", [1, 10, 137, 100_000])
@pytest.mark.parametrize("alpha", [0.001, 0.05, 0.3])
def test_clopper_pearson_against_scipy_beta_quantiles(n, alpha):
    ks = np.unique(np.linspace(1, n - 1, 25).astype(int)) if n > 2 else np.array([], dtype=int)
    for k in ks:
        assert clopper_pearson_lower(int(k), n, alpha) == pytest.approx(
            stats.beta.ppf(alpha, k, n - k + 1), rel=1e-10)
        assert clopper_pearson_upper(int(k), n, alpha) == pytest.approx(
            stats.beta.ppf(1 - alpha, k + 1, n - k), rel=1e-9)
    # edge cases: k = 0 and k = n
    assert clopper_pearson_lower(0, n, alpha) == 0.0
    assert clopper_pearson_lower(n, n, alpha) == pytest.approx(alpha ** (1 / n), rel=1e-14)
    assert clopper_pearson_upper(n, n, alpha) == 1.0
    assert clopper_pearson_upper(0, n, alpha) == pytest.approx(1 - alpha ** (1 / n), rel=1e-12)
    # vectorised form agrees with the scalar one
    arr = clopper_pearson_lower(np.array([0, n // 2, n]), n, alpha)
    assert arr[1] == pytest.approx(clopper_pearson_lower(n // 2, n, alpha))


def test_clopper_pearson_statsmodels_convention():
    # the one-sided level-alpha lower bound is the lower end of the two-sided 2 alpha interval
    k, n, alpha = 870, 1000, 0.001
    low, _ = stats.binomtest(k, n).proportion_ci(confidence_level=1 - 2 * alpha, method="exact")
    assert clopper_pearson_lower(k, n, alpha) == pytest.approx(low, rel=1e-9)


@pytest.mark.parametrize("p_true,n", [(0.3, 50), (0.9, 200), (0.02, 500)])
def test_coverage_simulation(p_true, n):
    """Each one-sided bound fails with probability <= alpha (binomial interval on the rate)."""
    rng = np.random.default_rng(12345)
    trials, alpha = 4000, 0.05
    k = rng.binomial(n, p_true, size=trials)
    slack = 3 * math.sqrt(alpha * (1 - alpha) / trials)
    fail_low = np.mean(clopper_pearson_lower(k, n, alpha) > p_true)
    fail_up = np.mean(clopper_pearson_upper(k, n, alpha) < p_true)
    assert fail_low <= alpha + slack and fail_up <= alpha + slack
    # and the exact failure probability (sum over k) is <= alpha as well
    ks = np.arange(n + 1)
    pmf = stats.binom.pmf(ks, n, p_true)
    assert float(np.sum(pmf[clopper_pearson_lower(ks, n, alpha) > p_true])) <= alpha
    assert float(np.sum(pmf[clopper_pearson_upper(ks, n, alpha) < p_true])) <= alpha


def test_two_sided_bounds_coverage():
    """Feng et al.'s pair (pA at alpha/2, pB at alpha/2): joint failure rate <= alpha."""
    rng = np.random.default_rng(7)
    probs = np.array([0.55, 0.2, 0.15, 0.1])
    n, alpha, trials = 300, 0.1, 600
    fails = {"plain": 0, "generalized": 0}
    for _ in range(trials):
        c = rng.multinomial(n, probs)
        for kind in fails:
            pa, pb = two_sided_bounds(c, top=0, alpha=alpha, runner_up=kind)
            fails[kind] += (pa > probs[0]) or (pb < probs[1:].max())
    slack = 3 * math.sqrt(alpha * (1 - alpha) / trials)
    for kind, f in fails.items():
        assert f / trials <= alpha + slack, kind


@settings(max_examples=40, deadline=None)
@given(counts=st.lists(st.integers(0, 400), min_size=1, max_size=8), extra=st.integers(0, 600),
       alpha=st.floats(1e-6, 0.4))
def test_feng_bound_is_never_below_the_plain_bound(counts, extra, alpha):
    n = sum(counts) + extra
    if n == 0:
        return
    g = generalized_cp_upper(counts, n, alpha)
    plain = cp_runner_up_upper(counts, n, alpha)
    assert plain <= g <= 1.0
    # Eq. 14 holds at the returned value (verified side), and just below it fails
    total = float(np.sum(stats.binom.cdf(counts, n, g)))
    assert total <= alpha * (1 + 1e-9) or (g == 1.0 and max(counts) == n)
    if g < 1.0 and g > 1e-9:
        assert float(np.sum(stats.binom.cdf(counts, n, g - 1e-9))) > alpha * (1 - 1e-6)
    if len(counts) == 1:
        assert g == pytest.approx(plain, abs=1e-12)


def test_feng_zero_count_classes_matter():
    # zero-count classes each add (1 - p)^n: more classes -> larger Eq. 14 bound
    few = generalized_cp_upper([20, 0], 1000, 0.001)
    many = generalized_cp_upper([20] + [0] * 998, 1000, 0.001)
    assert cp_runner_up_upper([20, 0], 1000, 0.001) <= few < many


def test_feng_certify_uses_cohen_two_sided_radius():
    counts = [900, 50, 30, 20]
    cert = feng_certify(counts, top=0, sigma=0.5, alpha=0.001)
    assert not cert.abstain and cert.alpha_a == 0.0005
    assert cert.pa_lower == pytest.approx(clopper_pearson_lower(900, 1000, 0.0005))
    assert cert.pb_upper >= cp_runner_up_upper([50, 30, 20], 1000, 0.0005)
    plain = feng_certify(counts, top=0, sigma=0.5, alpha=0.001, runner_up="plain")
    assert plain.radius >= cert.radius > 0
    assert feng_certify([400, 350, 250], top=0).abstain


def test_predict_binomial_test():
    assert predict([70, 30, 0], 0.05) == 0
    assert predict([10, 60, 30], 0.05) == 1
    assert predict([55, 45], 0.05) is None  # p-value 0.37: abstain
    assert predict([0, 0, 0], 0.05) is None
    n_a, n_b = 61, 39
    expected = stats.binomtest(n_a, n_a + n_b, 0.5).pvalue <= 0.05
    assert (predict([n_a, n_b], 0.05) == 0) == expected


def test_ceilings():
    assert pa_ceiling(100_000, 0.001) == pytest.approx(0.001 ** 1e-5, rel=1e-15)
    assert pa_ceiling(100_000, 0.001) == pytest.approx(
        clopper_pearson_lower(100_000, 100_000, 0.001))
    assert radius_ceiling(100_000, 0.001, sigma=1.0) == pytest.approx(3.8115, abs=1e-4)


@pytest.mark.parametrize("call", [
    lambda: clopper_pearson_lower(5, 4),
    lambda: clopper_pearson_lower(-1, 4),
    lambda: clopper_pearson_lower(1.5, 4),
    lambda: clopper_pearson_lower(1, 0),
    lambda: clopper_pearson_upper(1, 10, 0.0),
    lambda: clopper_pearson_upper(1, 10, 1.5),
    lambda: generalized_cp_upper([], 10),
    lambda: generalized_cp_upper([6, 6], 10),
    lambda: two_sided_bounds([5, 3], alpha=0.01, alpha_a=0.01),
    lambda: two_sided_bounds([5, 3], runner_up="other"),
    lambda: two_sided_bounds([5, 3], top=4),
    lambda: predict([5]),
    lambda: radius_ceiling(10, 0.01, sigma=-1.0),
])
def test_bad_inputs_name_the_problem(call):
    with pytest.raises(InvalidParameterError):
        call()
