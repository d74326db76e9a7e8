"""The numerical machinery: discretisations bracket the truth, FFT composition is exact."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from unicr.neyman_pearson.lattice import LatticeLaw, chord_lattice, compose, split_lattice
from unicr.neyman_pearson.lattice_evaluation import DirectionEvaluator
from unicr.neyman_pearson.tradeoff import StdNoise, loss_atoms, p_star_discrete, tradeoff_discrete
from unicr.noises.registry import build_builtin
from unicr.search.lattice_scale import search_scale


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
    assert math.isfinite(br.fails) and br.passes <= br.fails
    assert ev.evaluate([(16, br.fails)]).fails(0.9, None)
    assert br.fails / br.passes - 1 < 5e-3  # discretisation gap of the direction (c_h = 0.03)


@pytest.mark.parametrize("name", ["laplace", "cauchy", "logistic"])
@pytest.mark.parametrize("p", [1.0, 2.0, math.inf])
def test_no_searched_direction_beats_the_lower_bound(name, p):
    """Soundness spot-check: verified failing two-level perturbations are never below `lower`."""
    from unicr.engines.exact import get_model

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
        a = br.fails
        norm = ((k * a**p + m * (ratio * a) ** p) ** (1 / p) if math.isfinite(p)
                else max(a, ratio * a))
        assert norm >= lower * (1 - 1e-9), (k, m, ratio, norm, lower)


# -- memory safety of the lattice (issue #11, item 3) ------------------------------------------


def _guarded(n: int, pad: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A zeroed window of ``n`` cells inside a buffer of sentinels (detects stray writes)."""
    buf = np.full(n + 2 * pad, 7.25)
    buf[pad:pad + n] = 0.0
    return buf, buf[pad:pad + n]


def test_chord_sweep_refuses_a_block_outside_its_window():
    """The segfault of ``laplace --pa 0.500000000001 --norm 2 --d 2``: spacing 3.8e-29 far below
    the ratio tolerance put the first block 2.6e15 cells below the window."""
    from unicr.neyman_pearson.lattice import CHORD_TOL, _sweep

    buf, out = _guarded(5)
    x, w = np.zeros(1), np.ones(1)
    for sgn, start, stop in ((1, 0, 1), (-1, 0, -1)):
        _, _, ok = _sweep(x, w, 3.8e-29, -1, CHORD_TOL, start, stop, sgn, out)
        assert not ok
    # indices outside x are refused too
    assert not _sweep(x, w, 0.1, -1, CHORD_TOL, 0, 5, 1, out)[2]
    assert not _sweep(x, w, 0.1, -1, CHORD_TOL, 3, -1, -1, out)[2]
    assert np.all(buf[:64] == 7.25) and np.all(buf[-64:] == 7.25)


def test_chord_sweep_fuzz_never_writes_outside_out():
    """Random atoms, spacings, windows and tolerances (many deliberately inconsistent): every
    write stays in ``out``; where the sweep succeeds it conserves the X-mass."""
    from unicr.neyman_pearson.lattice import _sweep

    rng = np.random.default_rng(11)
    for _ in range(400):
        n = int(rng.integers(1, 40))
        x = np.sort(rng.normal(0, 10 ** rng.uniform(-3, 2), n))
        w = rng.random(n)
        h = 10 ** rng.uniform(-30, 0)
        tau = 10 ** rng.uniform(-16, -1)
        jmin = int(rng.integers(-50, 50))
        m = int(rng.integers(1, 30))
        buf, out = _guarded(m)
        sgn = 1 if rng.random() < 0.5 else -1
        start, stop = (0, n) if sgn > 0 else (n - 1, -1)
        bx, _, ok = _sweep(x, w, h, jmin, tau, start, stop, sgn, out)
        assert np.all(buf[:64] == 7.25) and np.all(buf[-64:] == 7.25)
        if ok:
            assert out.sum() + bx == pytest.approx(w.sum(), rel=1e-9)


def test_chord_lattice_refuses_unresolvable_spacing():
    from unicr.neyman_pearson.lattice import MIN_SPACING, LatticeError

    x, w = np.array([-1e-20, 0.0, 1e-20]), np.array([0.3, 0.4, 0.3])
    with pytest.raises(LatticeError, match="spacing"):
        chord_lattice(x, w, MIN_SPACING / 2, -3, 3)
    assert issubclass(LatticeError, OverflowError)  # the engines' "leave it out" path


def test_lattice_sizes_checked_before_allocation():
    from unicr.neyman_pearson.lattice import MAX_FFT, LatticeError, lattice_range

    x, w = np.array([0.0, 1.0]), np.array([0.5, 0.5])
    with pytest.raises(LatticeError, match="exceeds"):
        split_lattice(x, w, 1e-9, 0, MAX_FFT + 10)
    with pytest.raises(LatticeError):
        chord_lattice(x, w, 1e-9, -(1 << 60), 1 << 60)
    with pytest.raises(LatticeError, match="2\\^52"):
        lattice_range(np.array([-1e300, 1e300]), w, 1e-300, 0.0)
    for h in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(LatticeError, match="spacing"):
            split_lattice(x, w, h, 0, 4)


def test_compose_with_crossed_chernoff_bounds():
    """A finite mass of 0.99995 composed 10^6 times (finite part e^-50 < eta): the Chernoff
    bounds cross; the result keeps the exact atoms at -inf and loses at most 2 eta."""
    w = np.array([0.2, 0.3, 0.3, 0.2]) * (1 - 5e-5)
    law = LatticeLaw(0.05, -2, w, m_minus=5e-5)
    k = 10**6
    c = compose([(law, k)], eta=1e-15)
    fin = math.exp(k * math.log1p(-5e-5))
    assert c.m_minus == pytest.approx(-math.expm1(k * math.log1p(-5e-5)), rel=1e-12)
    assert abs(c.w.sum() - fin) <= c.err
    assert len(c.w) < 64 and c.err >= 2e-15


def test_radius_at_pa_a_hair_above_half_is_bracketed():
    """Laplace (sigma 1, b = 1/sqrt 2), pA = 1/2 + 1e-12: R* = -b log(2(1 - pA)) ~ 2b 1e-12
    along e_1 in every l_p (the old segfault); the band must hold it."""
    import unicr

    c = unicr.radius("laplace", pa=0.5 + 1e-12, norm=2, d=2, method="exact")
    pa = 0.5 + 1e-12
    r1 = -math.log(2 * (1 - pa)) / math.sqrt(2)
    assert c.lower <= r1 * (1 + 1e-3) and c.upper >= r1 * (1 - 1e-3)
    assert 0 < c.lower <= c.upper <= r1 * 1.01
