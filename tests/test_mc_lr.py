"""Neyman-Pearson statistics of the Monte Carlo engine (unicr.neyman_pearson.sampled).

Exact identities on discrete laws with atoms (ties: docs/soundness-notes.md#s14), the Gaussian
closed forms (Cohen et al. 2019), DKW coverage by simulation, conservative NaN handling and
the t_B quantile of Eq. 3 (S13).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom, norm

from unicr.errors import InvalidParameterError
from unicr.neyman_pearson.sampled import (
    beta_bound,
    dkw_alpha,
    dkw_band,
    gamma_bound,
    margins,
    margins_batch,
    unicr_confidence,
)
from unicr.neyman_pearson.statement import Statement

# ---------------------------------------------------------------------------
# discrete laws with atoms: exact Neyman-Pearson values by a greedy fill
# ---------------------------------------------------------------------------


def _discrete_pair(cx, ky, c_minf, k_pinf):
    """Samples whose empirical laws are an exact X/Y pair with dY/dX = e^L.

    Atom i has X-count cx[i] and Y-count ky[i] at L = log(ky[i]/cx[i]); X has c_minf draws at
    L = -inf, Y has k_pinf draws at L = +inf; both totals equal n.
    """
    t = np.log(np.asarray(ky, float) / np.asarray(cx, float))
    lx = np.concatenate([np.repeat(t, cx), np.full(c_minf, -np.inf)])
    ly = np.concatenate([np.repeat(t, ky), np.full(k_pinf, np.inf)])
    assert lx.size == ly.size
    return t, np.sort(lx), np.sort(ly)


def _greedy_beta(t, cx, ky, c_minf, n, pa):
    """min Y(S) over X(S) >= pa: fill atoms by increasing likelihood ratio (randomised last)."""
    order = np.argsort(t, kind="stable")
    need = pa * n - c_minf  # the -inf atom has X-mass and no Y-mass: take it first
    if need <= 0:
        return 0.0
    ymass = 0.0
    for i in order:
        take = min(cx[i], need)
        ymass += take * ky[i] / cx[i]
        need -= take
        if need <= 1e-12:
            break
    return ymass / n


def _greedy_gamma(t, cx, ky, k_pinf, n, pb):
    """max Y(S) over X(S) <= pb: the +inf atom (no X-mass) first, then decreasing ratio."""
    order = np.argsort(-t, kind="stable")
    ymass = float(k_pinf)
    budget = pb * n
    for i in order:
        take = min(cx[i], budget)
        ymass += take * ky[i] / cx[i]
        budget -= take
        if budget <= 1e-12:
            break
    return ymass / n


def _random_pair(rng, m):
    cx = rng.integers(1, 30, m)
    ky = rng.integers(1, 30, m)
    n = int(max(cx.sum(), ky.sum()) + rng.integers(0, 20))
    return cx, ky, n - int(cx.sum()), n - int(ky.sum()), n


@pytest.mark.parametrize("seed", range(6))
def test_beta_gamma_exact_on_discrete_laws_with_atoms(seed):
    rng = np.random.default_rng(seed)
    cx, ky, c_minf, k_pinf, n = _random_pair(rng, int(rng.integers(1, 6)))
    t, lx, ly = _discrete_pair(cx, ky, c_minf, k_pinf)
    for pa in (0.05, 0.3, 0.5, 0.77, 0.95):
        exact = _greedy_beta(t, cx, ky, c_minf, n, pa)
        assert beta_bound(lx, ly, pa, 0.0, 0.0) == pytest.approx(exact, abs=1e-12)
        exact_g = _greedy_gamma(t, cx, ky, k_pinf, n, pa)
        assert gamma_bound(lx, ly, pa, 0.0, 0.0) == pytest.approx(exact_g, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), pa=st.floats(0.01, 0.99), d=st.floats(0.0, 0.2))
def test_bands_are_ordered_and_monotone(seed, pa, d):
    """beta_lo <= beta_plug-in <= beta_hi; gamma_lo <= gamma <= gamma_hi (any sample)."""
    rng = np.random.default_rng(seed)
    cx, ky, c_minf, k_pinf, _ = _random_pair(rng, int(rng.integers(1, 5)))
    _, lx, ly = _discrete_pair(cx, ky, c_minf, k_pinf)
    b0 = beta_bound(lx, ly, pa, 0.0, 0.0)
    assert beta_bound(lx, ly, pa, -d, -d) <= b0 + 1e-12 <= beta_bound(lx, ly, pa, d, d) + 2e-12
    g0 = gamma_bound(lx, ly, pa, 0.0, 0.0)
    assert gamma_bound(lx, ly, pa, -d, -d) <= g0 + 1e-12 <= gamma_bound(lx, ly, pa, d, d) + 2e-12
    # a rounding allowance only widens: pass side never larger, failure side never smaller
    eta = 1e-9
    assert beta_bound(lx, ly, pa, -d, -d, eta) <= beta_bound(lx, ly, pa, -d, -d) + 1e-12
    assert beta_bound(lx, ly, pa, d, d, eta, True) >= beta_bound(lx, ly, pa, d, d) - 1e-12
    assert gamma_bound(lx, ly, pa, -d, -d, eta, True) <= gamma_bound(lx, ly, pa, -d, -d) + 1e-12
    m = margins(lx, ly, pa, None, d, d)
    assert m[Statement.PASS] <= m[Statement.FAIL] + 1e-12


def test_uniform_overlap_atoms_give_the_tight_condition():
    """Uniform-type losses: L_X in {-inf, 0}, L_Y in {0, +inf}: beta = pA - (1 - overlap)."""
    n = 10_000
    overlap = 0.7
    lx = np.where(np.arange(n) < (1 - overlap) * n, -np.inf, 0.0)
    ly = np.where(np.arange(n) < overlap * n, 0.0, np.inf)
    for pa in (0.6, 0.9, 0.99):
        assert beta_bound(np.sort(lx), np.sort(ly), pa, 0.0, 0.0) == pytest.approx(
            max(0.0, pa - (1 - overlap)), abs=1e-12)
    # UniCR's plug-in quantile ignores the tie and is optimistic here (S14)
    m = margins(lx, ly, 0.9, None)
    assert m[Statement.ESTIMATE] == pytest.approx(overlap - 0.5)
    assert m[Statement.PASS] == pytest.approx(0.9 - 0.3 - 0.5)


def test_rounding_at_atoms_is_absorbed_by_eta():
    """One atom computed with different rounding under X and Y (Laplace's +-a/b).

    Without the rounding bound the empirical sup counts the Y-copy of the atom just below the
    X-copy and is optimistic; with ``eta`` >= the rounding it is again a lower bound.
    """
    cx, ky = np.array([30, 50, 20]), np.array([10, 25, 65])
    t, lx, ly = _discrete_pair(cx, ky, 0, 0)
    n = lx.size
    pa = 0.75
    exact = _greedy_beta(t, cx, ky, 0, n, pa)
    top = t.max()
    lx_r = np.where(lx == top, top * (1 + 4e-16), lx)  # X-copy rounded up
    ly_r = np.where(ly == top, top * (1 - 4e-16), ly)  # Y-copy rounded down
    optimistic = margins(lx_r, ly_r, pa, None)[Statement.PASS] + 0.5
    assert optimistic > exact + 0.05
    fixed = margins(lx_r, ly_r, pa, None, eta=1e-12)[Statement.PASS] + 0.5
    assert fixed <= exact + 1e-9
    assert fixed == pytest.approx(exact, abs=1e-9)
    # the failure side (upper bound, every threshold covered) stays tight, and above the truth
    for xr, yr in ((lx_r, ly_r), (np.where(lx == top, top * (1 - 4e-16), lx),
                                  np.where(ly == top, top * (1 + 4e-16), ly))):
        upper = margins(xr, yr, pa, None, eta=1e-12)[Statement.FAIL] + 0.5
        assert exact - 1e-12 <= upper <= exact + 1e-9
        assert beta_bound(np.sort(xr), np.sort(yr), pa, 0.0, 0.0, 1e-12, True) >= exact - 1e-12


# ---------------------------------------------------------------------------
# Gaussian closed forms
# ---------------------------------------------------------------------------


def _gauss_losses(n, s, seed):
    z = np.random.default_rng(seed).standard_normal(n)
    return s * z - s * s / 2, s * z + s * s / 2


@pytest.mark.parametrize("s", [0.3, 1.0, 2.0])
def test_gaussian_beta_and_gamma_match_closed_forms(s):
    n = 200_000
    lx, ly = _gauss_losses(n, s, 1)
    lx, ly = np.sort(lx), np.sort(ly)
    for pa in (0.6, 0.9, 0.99):
        exact = norm.cdf(norm.ppf(pa) - s)
        assert beta_bound(lx, ly, pa, 0.0, 0.0) == pytest.approx(exact, abs=5e-3)
    for pb in (0.01, 0.1, 0.4):
        exact = norm.cdf(norm.ppf(pb) + s)
        assert gamma_bound(lx, ly, pb, 0.0, 0.0) == pytest.approx(exact, abs=5e-3)


def test_two_sided_point_estimate_uses_one_minus_pb_quantile():
    """Eq. 3: t_B is the (1 - pB) quantile (the printed Algorithm 1 says pB: S13).

    At Cohen's two-sided radius s = (Phi^-1(pA) - Phi^-1(pB))/2 the statistic K is ~0; with
    the printed t_B it would be far from 0.
    """
    pa, pb = 0.8, 0.1
    s = 0.5 * (norm.ppf(pa) - norm.ppf(pb))
    lx, ly = _gauss_losses(400_000, s, 2)
    m = margins(lx, ly, pa, pb)
    assert abs(m[Statement.ESTIMATE]) < 5e-3
    lx1, ly1 = _gauss_losses(400_000, 0.9 * s, 2)
    assert margins(lx1, ly1, pa, pb)[Statement.ESTIMATE] > 0.01  # smaller shift: passes
    lx2, ly2 = _gauss_losses(400_000, 1.1 * s, 2)
    assert margins(lx2, ly2, pa, pb)[Statement.ESTIMATE] < -0.01
    # the printed Algorithm 1 (t_B at the pB quantile) would give a very different K
    t_b_printed = np.quantile(lx, pb)
    t_a = np.sort(lx)[int(math.ceil(lx.size * pa))]
    k_printed = np.mean(ly <= t_a) - np.mean(ly >= t_b_printed)
    assert abs(k_printed) > 0.3


def test_symmetric_shortcut_equals_explicit_negation():
    lx, _ = _gauss_losses(5000, 0.8, 3)
    for pb in (None, 0.05):
        a = margins(lx, None, 0.9, pb, 0.01, 0.02)
        b = margins(lx, -lx, 0.9, pb, 0.01, 0.02)
        np.testing.assert_array_equal(a, b)
    lxs = np.stack([lx, lx * 1.3])
    np.testing.assert_array_equal(margins_batch(lxs, None, 0.9, None, 0.01, 0.01),
                                  margins_batch(lxs, -lxs, 0.9, None, 0.01, 0.01))


# ---------------------------------------------------------------------------
# DKW coverage (statistical; fixed seeds)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shared", [False, True])
def test_dkw_bounds_cover_the_truth(shared):
    """beta_lo <= beta and beta_hi >= beta fail at most 2 alpha each (two one-sided events).

    ``shared``: the engine's symmetric shortcut (L_Y = -L_X from the same draws).
    """
    n, trials, alpha, s, pa = 300, 2000, 0.05, 1.0, 0.9
    d = dkw_band(n, alpha)
    truth = norm.cdf(norm.ppf(pa) - s)
    rng = np.random.default_rng(7)
    lo_bad = hi_bad = 0
    for _ in range(trials):
        z = rng.standard_normal(n)
        lx = np.sort(s * z - s * s / 2)
        if shared:
            ly = np.sort(-(s * (-z) - s * s / 2))
        else:
            ly = np.sort(s * rng.standard_normal(n) + s * s / 2)
        lo_bad += beta_bound(lx, ly, pa, -d, -d) > truth
        hi_bad += beta_bound(lx, ly, pa, d, d) < truth
    limit = binom.ppf(0.999, trials, 2 * alpha) / trials
    assert lo_bad / trials <= limit
    assert hi_bad / trials <= limit


def test_dkw_band_values_and_errors():
    d = dkw_band(1000, 0.001)
    assert d == pytest.approx(math.sqrt(math.log(1000) / 2000))
    assert dkw_alpha(1000, d) == pytest.approx(0.001)
    with pytest.raises(InvalidParameterError, match="alpha"):
        dkw_band(1000, 0.7)
    with pytest.raises(InvalidParameterError, match="sample size"):
        dkw_band(0, 0.01)
    # UniCR's App. B.4 number at n = 400, Delta = 0.1, alpha0 = 0.001 (ALGORITHMS.md §2.8)
    assert unicr_confidence(400, 0.1, 0.001) == pytest.approx(0.99533, abs=1e-5)


# ---------------------------------------------------------------------------
# sanitising
# ---------------------------------------------------------------------------


def test_nan_and_impossible_values_move_to_the_safe_side():
    lx, ly = _gauss_losses(4000, 1.0, 4)
    base = margins(lx, ly, 0.9, None, 0.02, 0.02)
    bx, by = lx.copy(), ly.copy()
    bx[:40] = np.nan
    by[40:80] = np.nan
    bx[80:100] = np.inf  # impossible under X
    by[100:120] = -np.inf  # impossible under Y
    m = margins(bx, by, 0.9, None, 0.02, 0.02)
    assert np.all(np.isfinite(m))
    assert m[Statement.PASS] <= base[Statement.PASS] + 1e-12  # harder to pass
    assert m[Statement.FAIL] >= base[Statement.FAIL] - 1e-12  # harder to prove a failure


def test_kernels_refuse_arrays_they_would_index_past():
    """Issue #11 item 3: every compiled kernel checks its sizes on entry (a wrong call raises
    instead of reading or writing past an array); the wrappers refuse probabilities that
    would become positions."""
    from unicr.neyman_pearson.banks import _csr_row_sums, _laplace_kequal_row_losses
    from unicr.neyman_pearson.kernels import LAPLACE, product_losses, uniform_row_thresholds

    lx = np.linspace(-1, 1, 11)
    for bad in (math.nan, -0.1, 1.5, "x"):
        with pytest.raises(InvalidParameterError, match="pa"):
            margins(lx, None, bad, None)
    with pytest.raises(InvalidParameterError, match="pb"):
        margins(lx, None, 0.9, math.nan)
    with pytest.raises(InvalidParameterError, match="at least one loss"):
        margins_batch(np.zeros((3, 0)), None, 0.9, None)
    e = np.ones((4, 6))
    out, mag = np.zeros((2, 4)), np.zeros((2, 4))
    with pytest.raises(ValueError, match="vals shorter"):  # 3 values for 6 coordinates
        product_losses(e, np.ones(3), np.array([0.1, 0.2]), 1.0, (LAPLACE, 0.0), out, 0, None,
                       mag)
    with pytest.raises(ValueError, match="rows outside"):  # rows 2..5 of a 4-row output
        product_losses(e, np.ones(6), np.array([0.1, 0.2]), 1.0, (LAPLACE, 0.0), out, 2, None,
                       mag)
    product_losses(e, np.ones(6), np.array([0.1, 0.2]), 1.0, (LAPLACE, 0.0), out, 0, None, mag)
    assert np.allclose(out, [[0.6] * 4, [1.2] * 4])  # sum over 6 coords of |1| - |1 - lam|
    with pytest.raises(ValueError, match="t_row"):
        uniform_row_thresholds(e, np.ones(6), 1.0, np.full(3, np.inf), 0)
    with pytest.raises(ValueError, match="CSR"):
        _csr_row_sums(np.array([0, 2, 9]), np.ones(4))
    with pytest.raises(ValueError):
        _laplace_kequal_row_losses(0.5, np.ones(3, dtype=np.int64), np.zeros(3, dtype=np.int64),
                                   np.zeros(3), np.array([0, 1, 2, 7]), np.ones(3), np.zeros(3),
                                   np.zeros(3))
