"""Dataset metrics: certified accuracy, Cohen's high-probability version, ACR, R_score."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unicr.errors import InvalidParameterError
from unicr.smoothing.metrics import (
    accuracy_curve,
    acr,
    certified_accuracy,
    certified_accuracy_hp,
    r_score,
)

CORRECT = np.array([True, True, False, True, False])
RADIUS = np.array([0.5, 0.0, 3.0, 1.2, 0.0])  # the 3.0 belongs to a wrong prediction


def test_certified_accuracy_by_hand():
    assert certified_accuracy(CORRECT, RADIUS, 0.0) == pytest.approx(3 / 5)
    assert certified_accuracy(CORRECT, RADIUS, 0.5) == pytest.approx(2 / 5)  # radius >= r
    assert certified_accuracy(CORRECT, RADIUS, 0.51) == pytest.approx(1 / 5)
    assert certified_accuracy(CORRECT, RADIUS, 2.0) == 0.0
    np.testing.assert_allclose(certified_accuracy(CORRECT, RADIUS, [0, 1, 2]), [0.6, 0.2, 0.0])


def test_acr_by_hand_and_as_integral_of_the_curve():
    assert acr(CORRECT, RADIUS) == pytest.approx((0.5 + 0.0 + 1.2) / 5)
    grid = np.linspace(0, 2, 200001)
    _, acc = accuracy_curve(CORRECT, RADIUS, grid)
    assert np.trapezoid(acc, grid) == pytest.approx(acr(CORRECT, RADIUS), abs=1e-4)


def test_high_probability_accuracy_is_cohens_formula():
    m, n, a, rho = 0.6, 500, 0.001, 0.001
    expected = m - a - math.sqrt(a * (1 - a) * math.log(1 / rho) / n) - math.log(1 / rho) / (3 * n)
    assert certified_accuracy_hp(m, n, a, rho) == pytest.approx(expected, rel=1e-12)
    assert certified_accuracy_hp(0.001, 500, a, rho) == 0.0  # clipped
    np.testing.assert_allclose(certified_accuracy_hp(np.array([m, 1.0]), n, a, rho),
                               [expected, expected + 0.4])
    with pytest.raises(InvalidParameterError, match="rho"):
        certified_accuracy_hp(m, n, a, rho=0)


def test_r_score_is_the_area_under_the_envelope():
    c1, r1 = np.array([True, True, True, False]), np.array([0.2, 0.3, 0.4, 0.0])  # small sigma
    c2, r2 = np.array([True, False, True, False]), np.array([0.1, 0.0, 1.5, 0.0])  # large sigma
    score = r_score([(c1, r1), (c2, r2)])
    grid = np.linspace(0, 2, 400001)
    env = np.maximum(certified_accuracy(c1, r1, grid), certified_accuracy(c2, r2, grid))
    assert score == pytest.approx(np.trapezoid(env, grid), abs=1e-4)
    assert score >= max(acr(c1, r1), acr(c2, r2))
    # by hand: on (0, 0.2] 0.75, (0.2, 0.3] 0.5, (0.3, 0.4] 0.25, (0.4, 1.5] 0.25
    assert score == pytest.approx(0.2 * 0.75 + 0.1 * 0.5 + 0.1 * 0.25 + 1.1 * 0.25)


arrays = st.integers(1, 30).flatmap(lambda n: st.tuples(
    st.lists(st.booleans(), min_size=n, max_size=n),
    st.lists(st.floats(0, 5, allow_nan=False), min_size=n, max_size=n)))


@settings(max_examples=80, deadline=None)
@given(a=arrays, b=arrays)
def test_r_score_properties(a, b):
    ca, ra = np.array(a[0]), np.array(a[1])
    cb, rb = np.array(b[0]), np.array(b[1])
    assert r_score([(ca, ra)]) == pytest.approx(acr(ca, ra), abs=1e-12)  # one sigma: ACR
    s = r_score([(ca, ra), (cb, rb)])
    assert max(acr(ca, ra), acr(cb, rb)) - 1e-12 <= s <= acr(ca, ra) + acr(cb, rb) + 1e-12
    assert s == pytest.approx(r_score([(cb, rb), (ca, ra)]))
    # certified accuracy is non-increasing in r and equals accuracy at 0
    g = np.sort(np.concatenate([ra, [0.0, 6.0]]))
    acc = certified_accuracy(ca, ra, g)
    assert np.all(np.diff(acc) <= 1e-15) and acc[0] == pytest.approx(ca.mean())


def test_bad_input():
    with pytest.raises(InvalidParameterError, match="equal length"):
        acr([True], [0.1, 0.2])
    with pytest.raises(InvalidParameterError, match=">= 0"):
        acr([True], [-0.1])
    with pytest.raises(InvalidParameterError, match="no results"):
        r_score([])
    with pytest.raises(InvalidParameterError, match="num_points"):
        certified_accuracy_hp(0.5, 0, 0.001)
