"""Published lower bounds reproduced by ``lower`` and respected by ``upper``; Kumar's ceilings."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from unicr.bounds.differential import rate_from_law
from unicr.engines import radius_exact
from unicr.noises.registry import build_builtin

D = 3072


def pareto_yang(rho: float, a: float, lam: float) -> float:
    """Yang et al. 2020, Pareto l1 (docs/certificate-notes.md#c6): hypergeometric closed form of the
    differential method."""
    x = 2 * rho - 1
    c = a / (a + 1)
    return lam * x / a * float(special.hyp2f1(1, c, c + 1, x ** (1 + 1 / a)))


def gennorm_half_yang(rho: float, lam: float) -> float:
    """Yang et al. 2020, generalized normal p = 1/2, l1 (docs/certificate-notes.md#c5-3), dilogarithm form."""
    c = float(special.gammaincinv(2, 2 * (1 - rho)))
    li2 = float(special.spence(1 - math.exp(-c)))
    return 2 * lam * (-c * math.log(-math.expm1(-c)) + li2)


def laplace_linf_yang(rho: float, d: int, lam: float) -> float:
    """Yang et al. 2020, Laplace l_inf "integrate" mode: differential method, binomial Phi.

    docs/certificate-notes.md#c2-4.
    """
    k = np.arange(d + 1)
    pm = stats.binom.pmf(k, d, 0.5)
    vals = (2.0 * k - d) / lam
    return float(rate_from_law(vals, pm, 0.0, 0.0, True).radius(np.array([rho]))[0])


@pytest.mark.parametrize("a", [3.0, 5.0])
@pytest.mark.parametrize("pa", [0.55, 0.9, 0.999])
def test_pareto_l1(a, pa):
    nz = build_builtin("pareto", a=a, sigma=1.0)
    ref = pareto_yang(pa, a, nz.scale)
    c = radius_exact(nz, pa, None, 1.0, D)
    assert abs(c.lower / ref - 1) <= 1e-3
    assert c.lower <= ref * (1 + 1e-12)
    assert c.upper >= ref


@pytest.mark.parametrize("pa", [0.55, 0.9, 0.999])
def test_gennorm_half_l1(pa):
    nz = build_builtin("gennorm", beta=0.5, sigma=1.0)
    ref = gennorm_half_yang(pa, nz.scale)
    c = radius_exact(nz, pa, None, 1.0, D)
    assert abs(c.lower / ref - 1) <= 1e-3
    assert c.lower <= ref * (1 + 1e-12)
    assert c.upper >= ref


@pytest.mark.parametrize("d", [D, 150528])
@pytest.mark.parametrize("pa", [0.55, 0.9, 0.999])
def test_laplace_linf_differential(d, pa):
    nz = build_builtin("laplace", sigma=1.0)
    ref = laplace_linf_yang(pa, d, nz.scale)
    c = radius_exact(nz, pa, None, math.inf, d)
    assert abs(c.lower / ref - 1) <= 1e-3
    assert c.lower <= ref * (1 + 1e-9)
    assert c.upper >= ref
    # Yang's "approx" lambda Phi^-1(pA)/sqrt(d) is an estimate; the band contains it here
    approx = nz.scale * special.ndtri(pa) / math.sqrt(d)
    assert c.lower * 0.99 <= approx <= c.upper * 1.01


KUMAR_CASES = [("gaussian", {}), ("laplace", {}), ("uniform", {}), ("logistic", {}),
               ("hsecant", {}), ("gennorm", {"beta": 1.5}), ("pareto", {"a": 4.0})]


@pytest.mark.parametrize("name,kw", KUMAR_CASES)
@pytest.mark.parametrize("pa", [0.6, 0.9, 0.99])
def test_linf_upper_below_kumar(name, kw, pa):
    """Kumar et al. 2020 (docs/certificate-notes.md#c11): R_inf <= sigma / (sqrt(2 (1 - pA)) sqrt(d)), any
    i.i.d. noise."""
    nz = build_builtin(name, sigma=1.0, **kw)
    c = radius_exact(nz, pa, None, math.inf, D)
    kumar_any = 1.0 / (math.sqrt(2 * (1 - pa)) * math.sqrt(D))
    assert c.lower <= c.upper <= kumar_any
    if name in ("gaussian", "laplace", "gennorm"):
        kumar_gn = 2 * math.sqrt(math.log(1 / (1 - pa))) / math.sqrt(D)
        assert c.upper <= kumar_gn


def test_truncated_fisher_matches_fisher_for_bounded_score():
    """With nothing removed, the truncated bound is the Fisher bound (Laplace: I = 1/lambda^2)."""
    from unicr.bounds.differential import fisher_radius, score_law, truncated_fisher_radius
    from unicr.neyman_pearson.tradeoff import StdNoise

    std = StdNoise(build_builtin("laplace", scale=1.0))
    pa = np.array([0.6, 0.9, 0.99])
    t = truncated_fisher_radius(score_law(std), D, pa)
    f = fisher_radius(1.0, pa)
    assert np.all(t <= f * (1 + 1e-9)) and np.all(t >= f * (1 - 2e-3))


@pytest.mark.parametrize("p", [2.0, math.inf])
def test_gennorm_half_band_is_finite_and_ordered(p):
    """Infinite Fisher information: the truncated bounds still give a non-trivial lower bound."""
    nz = build_builtin("gennorm", beta=0.5, sigma=1.0)
    c = radius_exact(nz, 0.9, None, p, D)
    r1_over = gennorm_half_yang(0.9, nz.scale) / (math.sqrt(D) if p == 2.0 else D)
    assert r1_over < c.lower <= c.upper < 10 * c.lower
