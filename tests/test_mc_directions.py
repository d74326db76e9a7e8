"""Direction search of the Monte Carlo engine (Hong et al. 2022, App. C.3; S11)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import unicr
from unicr.errors import InvalidParameterError
from unicr.montecarlo import models as M
from unicr.montecarlo.directions import (
    expand_levels,
    level_sizes,
    pso_search,
    stick_magnitudes,
    structured_family,
    structured_ks,
)
from unicr.montecarlo.lr import EST
from unicr.noise.registry import build_builtin


def test_structured_family():
    assert structured_ks(3072, math.inf, product=True) == [3072]
    ks = structured_ks(3072, 2.0, product=True)
    assert ks[0] == 1 and ks[-1] == 3072 and ks == sorted(set(ks))
    assert all(b / a <= 2.0 for a, b in zip(ks, ks[1:]))
    assert structured_ks(1, 1.0, product=True) == [1]
    lap = build_builtin("laplace", sigma=1.0)
    assert all(d.sign == 1.0 for d in structured_family(lap, 16, 1.0))


def test_level_space_and_stick_parametrisation():
    for d in (1, 2, 3, 10, 3072, 150528):
        assert sum(level_sizes(d)) == d
    m = stick_magnitudes(np.array([0.5, 1.0, 0.2]))
    np.testing.assert_allclose(m, [1.0, 0.5, 0.5, 0.1])
    assert np.all(np.diff(m) <= 0)
    sizes = level_sizes(10)
    assert expand_levels(np.zeros(len(sizes) - 1), sizes).tolist() == [1.0] + [0.0] * 9
    assert expand_levels(np.ones(len(sizes) - 1), sizes).tolist() == [1.0] * 10


def test_canonical_direction_invariances():
    lap = build_builtin("laplace", sigma=1.0)
    rng = np.random.default_rng(0)
    u = rng.normal(size=12)
    a, fa = M.canonical_direction(u, lap)
    perm = rng.permutation(12)
    b, fb = M.canonical_direction(-3.0 * u[perm] * np.where(rng.random(12) < 0.5, -1, 1), lap)
    assert a.kind == "vector" and a.k == 12
    np.testing.assert_allclose(np.asarray(b.values) / 3.0, a.values)
    # k-equal recognised with its scale factor
    d, f = M.canonical_direction(np.array([0.0, -0.3, 0.3, 0.0]), lap)
    assert (d.kind, d.k, f) == ("k-equal", 2, 0.3)
    assert d.norm(1.0) == 2.0 and d.norm(math.inf) == 1.0
    assert d.norm(0.5) == pytest.approx(4.0)
    # the zero vector and non-finite entries
    assert M.canonical_direction(np.zeros(3), lap)[0].k == 0
    with pytest.raises(InvalidParameterError):
        M.canonical_direction(np.array([1.0, np.nan]), lap)


def _cost_on(bank, p):
    def cost(dirn):
        br = bank.model(dirn).search(0.9, None, 0.0, 0.0, 1e-3).run(EST, 1.0 / dirn.norm(2.0))
        return br.mid * dirn.norm(p)

    return cost


@pytest.mark.parametrize("p, k", [(1.0, 1), (math.inf, 8)])
def test_pso_from_random_starts_finds_axis_or_all_ones(p, k):
    """Laplace l1: the axis direction (Teng et al.'s worst case); l_inf: all ones."""
    d = 8
    lap = build_builtin("laplace", sigma=1.0)
    bank = M.ProductBank(lap, 3000, d, np.random.SeedSequence(5), np.float64, 2**28)
    state = np.random.get_state()
    res = pso_search(lap, d, p, _cost_on(bank, p), np.random.default_rng(1), particles=10,
                     iterations=20, seeded=False, space="sorted")
    assert (res.best.kind, res.best.k) == ("k-equal", k)
    # pyswarms' global-state randomness is seeded and restored
    after = np.random.get_state()
    assert after[0] == state[0] and np.array_equal(after[1], state[1])


def test_pso_is_reproducible_and_monotone_in_iterations():
    """Same seed, common random numbers: longer runs extend shorter ones (never worse)."""
    d = 6
    cau = build_builtin("cauchy", scale=1.0)
    bank = M.ProductBank(cau, 2000, d, np.random.SeedSequence(3), np.float64, 2**28)
    cost = _cost_on(bank, 2.0)
    best = []
    for iters in (2, 4, 8):
        r1 = pso_search(cau, d, 2.0, cost, np.random.default_rng(9), particles=6,
                        iterations=iters, space="full")
        r2 = pso_search(cau, d, 2.0, cost, np.random.default_rng(9), particles=6,
                        iterations=iters, space="full")
        assert r1.best_cost == r2.best_cost and r1.best == r2.best
        best.append(r1.best_cost)
    assert best[0] >= best[1] >= best[2]


def test_radius_never_increases_with_iterations_or_particles():
    """Engine level, estimate mode (UniCR): fixed seed and common random numbers."""
    nz = build_builtin("logistic", scale=1.0)
    radii = []
    for particles, iterations in ((4, 2), (4, 6), (8, 6), (12, 10)):
        c = unicr.radius(nz, 0.85, 2, 8, method="mc", mode="estimate", n_mc=2000,
                         directions="both", particles=particles, iterations=iterations, seed=4)
        radii.append(c.estimate)
    assert all(a >= b for a, b in zip(radii, radii[1:]))
