"""The numerical machinery: discretisations bracket the truth, FFT composition is exact."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from unicr.exact.lattice import LatticeLaw, chord_lattice, compose, split_lattice
from unicr.exact.search import DirectionEvaluator, search_scale
from unicr.exact.tradeoff import StdNoise, loss_atoms, p_star_discrete, tradeoff_discrete
from unicr.noise.registry import build_builtin


def test_compose_matches_direct_convolution():
    rng = np.random.default_rng(0)
    w = rng.random(7)
    w /= w.sum() * 1.02  # sub-probability: 2% sits at +-inf
    law = LatticeLaw(0.1, -3, w, m_minus=0.01, m_plus=0.0096)
    k = 5
    c = compose([(law, k)], eta=1e-30)
    ref = np.array([1.0])
    for _ in range(k):
        ref = np.convolve(ref, w)
    full = np.zeros(len(c.w) + 200)
    off = (law.j0 * k) - c.j0
    assert off >= 0
    got = c.w[off:off + len(ref)]
    assert np.allclose(got, ref, atol=1e-15)
    assert c.m_minus == pytest.approx(1 - (1 - 0.01) ** k, rel=1e-12)
    assert c.w.sum() + c.m_minus + c.m_plus == pytest.approx(1.0, abs=1e-12)
    del full


def test_gaussian_kfold_brackets_exact():
    """p* of the k-equal Gaussian shift is Phi(a sqrt(k)) exactly (the loss is Gaussian)."""
    ev = DirectionEvaluator(StdNoise(build_builtin("gaussian")))
    for k in (2, 100, 3072):
        a = 1.5 / math.sqrt(k)
        e = ev.evaluate([(k, a)])
        exact = special.ndtr(a * math.sqrt(k))
        pf, pp = float(e.p_star_fail()[0]), float(e.p_star_pass()[0])
        assert pf <= exact <= pp
        assert pp - pf < 2e-4


def test_two_level_gaussian_brackets_exact():
    ev = DirectionEvaluator(StdNoise(build_builtin("gaussian")))
    e = ev.evaluate([(30, 0.1), (70, 0.05)])
    c = math.sqrt(30 * 0.01 + 70 * 0.0025)
    exact = special.ndtr(c)
    assert float(e.p_star_fail()[0]) <= exact <= float(e.p_star_pass()[0])
    t_up = float(e.t_upper(0.9)[0])
    t_lo = float(e.t_lower(0.9)[0])
    t_ex = special.ndtr(special.ndtri(0.9) - c)
    assert t_lo <= t_ex <= t_up and t_up - t_lo < 1e-3


@pytest.mark.parametrize("name,kw", [("laplace", {}), ("cauchy", {}), ("gennorm", {"beta": 0.5}),
                                     ("logistic", {}), ("pareto", {"a": 3.0})])
def test_discretisations_bracket_fine_law(name, kw):
    """k = 1: the chord lattice is less informative, the split lattice more, than the atoms."""
    std = StdNoise(build_builtin(name, scale=1.0, **kw))
    at = loss_atoms(std, 0.7, 0.005)
    x, w, mm = at.merged()
    v, ww, mm2 = at.split_points()
    h = 0.01
    jmin, jmax = int(math.floor(x[0] / h)) - 1, int(math.ceil(x[-1] / h)) + 1
    opt = chord_lattice(x, w, h, jmin, jmax, mm)
    pes = split_lattice(v, ww, h, jmin, jmax, mm2)
    for law in (opt, pes):
        assert law.w.sum() + law.m_minus + law.m_plus == pytest.approx(w.sum() + mm, abs=1e-12)
    ps = np.array([0.55, 0.8, 0.95, 0.99])
    t_fine = tradeoff_discrete(x, w, mm, ps)
    t_opt = tradeoff_discrete(opt.x, opt.w, opt.m_minus, ps)
    t_pes = tradeoff_discrete(pes.x, pes.w, pes.m_minus, ps)
    assert np.all(t_opt >= t_fine - 1e-12)
    assert np.all(t_pes <= tradeoff_discrete(v, ww, mm2, ps) + 1e-12)
    assert np.all(t_opt - t_pes < 5e-3)
    # merged atoms are less informative than the split points of the same intervals
    assert p_star_discrete(x, w, mm, 0.5)[0] <= p_star_discrete(v, ww, mm2, 0.5)[0] + 1e-12


def test_monte_carlo_tradeoff_inside_band():
    """Independent check: Monte Carlo T(pA) for Cauchy (non-monotone loss), k = 8."""
    nz = build_builtin("cauchy", scale=1.0)
    std = StdNoise(nz)
    k, a, pa = 8, 0.6, 0.9
    e = DirectionEvaluator(std).evaluate([(k, a)])
    rng = np.random.default_rng(1)
    n = 200_000
    zx = nz.sample((n, k), rng)
    lx = (nz.logpdf(zx - a) - nz.logpdf(zx)).sum(axis=1)
    zy = nz.sample((n, k), rng) + a
    ly = (nz.logpdf(zy - a) - nz.logpdf(zy)).sum(axis=1)
    t = np.quantile(lx, pa)
    t_mc = float(np.mean(ly <= t))
    se = math.sqrt(t_mc * (1 - t_mc) / n) + math.sqrt(pa * (1 - pa) / n) * math.exp(t)
    lo, up = float(e.t_lower(pa)[0]), float(e.t_upper(pa)[0])
    assert lo - 5 * se <= t_mc <= up + 5 * se


def test_search_returns_verified_failure():
    ev = DirectionEvaluator(StdNoise(build_builtin("logistic")))
    br = search_scale(lambda a: ev.evaluate([(16, a)]), 0.9, None, 0.1, rtol=1e-6)
    assert math.isfinite(br.a_fail) and br.a_pass <= br.a_fail
    assert ev.evaluate([(16, br.a_fail)]).fails(0.9, None)
    assert br.a_fail / br.a_pass - 1 < 5e-3  # discretisation gap of the direction (c_h = 0.03)


@pytest.mark.parametrize("name", ["laplace", "cauchy", "logistic"])
@pytest.mark.parametrize("p", [1.0, 2.0, math.inf])
def test_no_searched_direction_beats_the_lower_bound(name, p):
    """Soundness spot-check: verified failing two-level perturbations are never below `lower`."""
    from unicr.exact.engine import get_model

    d = 8
    nz = build_builtin(name, scale=1.0)
    model = get_model(nz, d)
    lower = float(model.lower(p, np.array([0.9]), None)[0][0])
    rng = np.random.default_rng(3)
    for _ in range(6):
        k = int(rng.integers(1, d))
        m = int(rng.integers(1, d - k + 1))
        ratio = float(rng.uniform(0.1, 2.0))
        br = search_scale(lambda a, k=k, m=m, r=ratio: model.evaluate([(k, a), (m, r * a)]),
                          0.9, None, 0.3, rtol=1e-4)
        a = br.a_fail
        norm = ((k * a**p + m * (ratio * a) ** p) ** (1 / p) if math.isfinite(p)
                else max(a, ratio * a))
        assert norm >= lower * (1 - 1e-9), (k, m, ratio, norm, lower)
