"""Exact engine vs tight closed forms: both bounds within 1e-4 (docs/certificate-notes.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

import unicr
from unicr.engines import radius_exact
from unicr.noises.registry import build_builtin

PAS = [0.55, 0.7, 0.9, 0.99, 0.999]
D = 3072
RTOL = 1e-4


def _check(cert, ref):
    assert cert.lower <= cert.upper
    assert cert.lower <= ref * (1 + 1e-12), (cert.lower, ref)
    assert cert.upper >= ref * (1 - 1e-12), (cert.upper, ref)
    assert abs(cert.lower / ref - 1) <= RTOL, (cert.lower, ref)
    assert abs(cert.upper / ref - 1) <= RTOL, (cert.upper, ref)
    assert cert.confidence == 1.0
    assert cert.method == "exact"


@pytest.mark.parametrize("pa", PAS)
@pytest.mark.parametrize("d", [D, 150528])
def test_gaussian_cohen_l2_l1_linf(pa, d):
    g = build_builtin("gaussian", sigma=1.0)
    ref = special.ndtri(pa)  # Cohen et al. 2019, sigma = 1
    _check(radius_exact(g, pa, None, 2.0, d), ref)
    _check(radius_exact(g, pa, None, 1.0, d), ref)
    _check(radius_exact(g, pa, None, math.inf, d), ref / math.sqrt(d))
    c = radius_exact(g, pa, None, 2.0, d)
    assert c.status == "exact" and c.witness.direction["k"] == 1


@pytest.mark.parametrize("pa,pb", [(0.6, 0.3), (0.9, 0.05), (0.99, 0.001), (0.5, 0.2)])
def test_gaussian_two_sided_l2(pa, pb):
    g = build_builtin("gaussian", sigma=2.0)
    ref = 2.0 / 2 * (special.ndtri(pa) - special.ndtri(pb))
    _check(radius_exact(g, pa, pb, 2.0, D), ref)


@pytest.mark.parametrize("pa", PAS)
@pytest.mark.parametrize("d", [D, 150528])
def test_laplace_teng_l1(pa, d):
    lap = build_builtin("laplace", sigma=1.0)
    lam = 1.0 / math.sqrt(2.0)
    _check(radius_exact(lap, pa, None, 1.0, d), -lam * math.log(2 * (1 - pa)))


@pytest.mark.parametrize("pa", PAS)
@pytest.mark.parametrize("d", [D, 150528])
def test_uniform_yang_l1_linf(pa, d):
    u = build_builtin("uniform", sigma=1.0)
    lam = math.sqrt(3.0)
    _check(radius_exact(u, pa, None, 1.0, d), 2 * lam * (pa - 0.5))
    # 1 - (3/2 - pA)^(1/d), computed without cancellation
    _check(radius_exact(u, pa, None, math.inf, d), -2 * lam * math.expm1(math.log(1.5 - pa) / d))


@pytest.mark.parametrize("beta", [1.0, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("pa", PAS)
def test_gennorm_l1_quantile(beta, pa):
    gn = build_builtin("gennorm", sigma=1.0, beta=beta)
    ref = float(stats.gennorm(beta, scale=gn.scale).ppf(pa))  # Yang et al. 2020: F^-1(pA)
    _check(radius_exact(gn, pa, None, 1.0, D), ref)


def test_uniform_l2_all_equal_is_worst():
    """p >= 2: the exact band collapses (k = d direction; docs/exact-engine.md)."""
    u = build_builtin("uniform", sigma=1.0)
    c = radius_exact(u, 0.9, None, 2.0, D)
    lam = math.sqrt(3.0)
    ad = 2 * lam * (1 - (1.5 - 0.9) ** (1.0 / D))
    assert c.status == "exact"
    assert abs(c.lower / (ad * math.sqrt(D)) - 1) < 1e-9
    # norm inclusion from the l1 radius is far weaker
    assert c.lower > 2 * lam * 0.4 / math.sqrt(D)


def test_uniform_two_sided_matches_overlap_rule():
    u = build_builtin("uniform", sigma=1.0)
    lam = math.sqrt(3.0)
    pa, pb = 0.8, 0.1
    c = radius_exact(u, pa, pb, 1.0, D)
    ref = 2 * lam * (pa - pb) / 2  # overlap 1 - r/(2 lam) > 1 - (pA - pB)/2
    _check(c, ref)


def test_laplace_two_sided_between_known_bounds():
    lap = build_builtin("laplace", sigma=1.0)
    lam = lap.scale
    pa, pb = 0.8, 0.1
    c = radius_exact(lap, pa, pb, 1.0, D)
    # Lecuyer and Li two-sided radii are sound (docs/certificate-notes.md#c2-1 (to §2.3)): the band must not
    # fall below them
    li = -lam * math.log(1 - pa + pb)
    lec = lam / 2 * math.log(pa / pb)
    assert c.upper >= max(li, lec) * (1 - 1e-9)
    # the differential bound for log-concave noise is exactly (F^-1(pA) - F^-1(pB)) / 2
    ref = 0.5 * (float(lap.ppf(pa)) - float(lap.ppf(pb)))
    _check(c, ref)


@pytest.mark.parametrize("p", [2.0, 3.0, 1.0, 0.7, math.inf])
def test_uniform_worst_direction_by_brute_force(p):
    """Random directions never fail below the engine's lower bound (uniform noise, small d)."""
    d = 4
    u = build_builtin("uniform", sigma=1.0)
    w = 2 * u.scale
    pa = 0.9
    c = 1.5 - pa
    cert = radius_exact(u, pa, None, p, d)
    rng = np.random.default_rng(0)
    dirs = np.abs(rng.standard_normal((20000, d))) ** rng.uniform(0.2, 3.0, (20000, 1))
    norms = np.linalg.norm(dirs, ord=p, axis=1)
    dirs = dirs / norms[:, None]
    # failing scale along each direction: prod(1 - r v_i / w) = c, by bisection
    lo = np.zeros(len(dirs))
    hi = np.full(len(dirs), w / dirs.max(axis=1))
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        ov = np.prod(np.clip(1 - mid[:, None] * dirs / w, 0, None), axis=1)
        fail = ov <= c
        hi = np.where(fail, mid, hi)
        lo = np.where(fail, lo, mid)
    assert hi.min() >= cert.lower * (1 - 1e-9)
    assert hi.min() <= cert.upper * 1.05 or p in (1.0, 0.7)  # random search comes close


@pytest.mark.parametrize("norm", [1, 2, math.inf])
def test_generalized_normal_at_beta_2_gets_the_gaussian_closed_form(norm):
    """gennorm(beta=2) is a Gaussian: its band is Cohen et al.'s exact radius, not the
    differential method's looser l2 bound (the I-OPT start point of UniCR's Table 3)."""
    g = unicr.radius(unicr.noise("gaussian", sigma=0.5), 0.9, norm, 784, method="exact")
    b = unicr.radius(unicr.noise("gennorm", beta=2.0, sigma=0.5), 0.9, norm, 784, method="exact")
    assert b.lower == pytest.approx(g.lower, rel=1e-12)
    assert b.upper == pytest.approx(g.upper, rel=1e-12)
    near = unicr.radius(unicr.noise("gennorm", beta=2.001, sigma=0.5), 0.9, norm, 784,
                        method="exact")
    assert near.lower <= g.upper * 1.001  # a neighbouring shape is not served the closed form
