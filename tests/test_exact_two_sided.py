"""Two-sided certificates with pA < 1/2 (the runner-up bound matters most there).

Regression: the differential lower bound once integrated 1/Phi from pB to 1/2 instead of
from pB to pA when pA < 1/2, giving lower > upper (an unsound lower bound).
"""

import math

import numpy as np
import pytest

import unicr


@pytest.mark.parametrize("pa,pb", [(0.4, 0.3), (0.35, 0.3), (0.45, 0.2), (0.3, 0.05), (0.6, 0.3)])
def test_laplace_l1_two_sided_matches_the_integral(pa, pb):
    # Laplace l1, axis direction: Phi(u) = u / lambda on [0, 1/2], so
    # R* = (1/2) int_pB^pA lambda/u du = (lambda/2) ln(pA/pB) when both are <= 1/2;
    # for pA > 1/2 the integral splits at 1/2 (Teng et al. 2020 two-sided form).
    nz = unicr.noise("laplace", sigma=1.0)
    lam = nz.scale
    c = unicr.radius(nz, pa, 1, 3072, pb=pb, method="exact")
    if pa <= 0.5:
        ref = 0.5 * lam * math.log(pa / pb)
    else:
        ref = 0.5 * lam * (math.log(0.5 / pb) + math.log(0.5 / (1 - pa)))
    assert c.lower <= ref * (1 + 1e-9) <= c.upper * (1 + 1e-9) + 1e-12
    assert c.lower == pytest.approx(ref, rel=1e-6)


@pytest.mark.parametrize("name,kw", [("cauchy", {"scale": 1.0}), ("gennorm", {"beta": 0.5}),
                                     ("logistic", {}), ("pareto", {"a": 3.0})])
@pytest.mark.parametrize("norm", [1, 2, math.inf])
def test_two_sided_small_pa_is_consistent(name, kw, norm):
    nz = unicr.noise(name, **kw)
    rng = np.random.default_rng(7)
    for _ in range(1):
        pa = rng.uniform(0.25, 0.5)
        pb = rng.uniform(0.02, pa - 0.01)
        c = unicr.radius(nz, pa, norm, 256, pb=pb, method="exact")
        assert 0 <= c.lower <= c.upper
        # more room between pA and pB can only help
        wider = unicr.radius(nz, pa, norm, 256, pb=pb / 2, method="exact")
        assert wider.lower >= c.lower * (1 - 1e-9)
