"""The shipped catalogue (pdfs/*.toml): every entry loads, builds and matches its density.

Builtin entries are cross-checked against their own ``logpdf`` expression compiled into a
:class:`NumericNoise` at the same sigma (or the same native scale when the variance is
infinite): log-density differences constant, CDFs equal to 1e-6.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

import unicr
from unicr.noises.base import JointNoise, ProductNoise
from unicr.noises.numeric import NumericNoise
from unicr.noises.registry import catalogue, pdfs_dir

SPECS = catalogue()
BY_NAME = {s.name: s for s in SPECS}
PRODUCT_BUILTINS = [s.name for s in SPECS if s.builtin and s.kind == "product"]
JOINT = [s.name for s in SPECS if s.kind == "joint"]
EXPRESSIONS = [s.name for s in SPECS if s.builtin is None]

REQUIRED = {"gaussian", "laplace", "uniform", "cauchy", "hsecant", "gennorm", "pareto",
            "student_t", "logistic", "laplace_gaussian_mix", "normal_uniform", "uniform_ball",
            "exp2", "expinf", "exp1", "pow2", "exp_mix"}

_NORMS = {"1": 1, "2": 2, "inf": np.inf}


def test_catalogue_contents():
    assert len(SPECS) >= 15
    assert REQUIRED <= set(BY_NAME)
    assert {"cubic_exp"} <= set(EXPRESSIONS)
    names = [s.name for s in SPECS]
    assert len(set(names)) == len(names)
    aliases = [a for s in SPECS for a in s.aliases]
    assert len(set(aliases)) == len(aliases) and not set(aliases) & set(names)
    for s in SPECS:
        assert s.description and s.source, s.name
        assert s.path.parent == pdfs_dir() and s.path.stem == s.name
        assert s.logpdf, f"{s.name}: every entry documents its density"
        json.dumps(s.to_dict(), allow_nan=False)
    assert BY_NAME["gennorm"].params[0].default == 1.5
    assert BY_NAME["laplace_gaussian_mix"].params[0].default == 0.5
    assert BY_NAME["exp_mix"].params[0].default == 0.5


@pytest.mark.parametrize("name", [s.name for s in SPECS])
def test_every_entry_builds_through_unicr_noise(name):
    spec = BY_NAME[name]
    if spec.kind == "joint":
        n = unicr.noise(name, d=3)
        assert isinstance(n, JointNoise) and n.d == 3
        assert n.sample(4, 0).shape == (4, 3)
        return
    n = unicr.noise(name) if spec.builtin is None else spec.build()
    assert isinstance(n, ProductNoise)
    assert np.all(np.isfinite(n.sample(100, 0)))
    if n.sigma is not None:
        assert unicr.noise(name, sigma=0.5).sigma == pytest.approx(0.5, rel=1e-12)


def _compiled(spec, **params) -> NumericNoise:
    expr = spec.log_expression()
    bound = dict(params)
    if spec.scale_param:
        bound[spec.scale_param] = 1.0
    return NumericNoise(expr.bind(**bound), name=f"{spec.name}-expr")


# extra parameter points (besides the defaults) for the cross-checks
EXTRA = {
    "gennorm": [{"beta": 0.5}, {"beta": 4.0}],
    "pareto": [{"a": 1.0}],
    "student_t": [{"nu": 1.5}, {"nu": 7.0}],
    "laplace_gaussian_mix": [{"beta": 0.0}, {"beta": 1.0}, {"beta": 0.2}],
    "normal_uniform": [{"sigma_n": 0.5, "sigma_u": 0.433}],
}


@pytest.mark.parametrize(
    ("name", "params"),
    [(n, {}) for n in PRODUCT_BUILTINS] + [(n, p) for n in PRODUCT_BUILTINS
                                           for p in EXTRA.get(n, [])],
)
def test_builtin_matches_its_documented_expression(name, params):
    spec = BY_NAME[name]
    builtin = spec.build(scale=1.0, **params)
    num = _compiled(spec, **{**{p.name: p.default for p in builtin.param_info
                                if p.name in params or p.default is not None},
                             **builtin.params})
    if builtin.sigma is not None:
        assert num.sigma is not None
        builtin = spec.build(sigma=1.0, **params)
        num = num.with_sigma(1.0)
        assert num.scale == pytest.approx(builtin.scale, rel=1e-8)
    else:
        assert num.sigma is None  # the numeric variance agrees: infinite
        num = num.with_scale(builtin.scale)
    q = np.linspace(1e-6, 1 - 1e-6, 41)
    x = np.concatenate([builtin.ppf(q), np.linspace(-3, 3, 25)])
    lb, ln = builtin.logpdf(x), num.logpdf(x)
    finite = np.isfinite(lb)
    np.testing.assert_array_equal(finite, np.isfinite(ln))
    diff = lb[finite] - ln[finite]
    assert np.ptp(diff) < 1e-6, (name, params, np.ptp(diff))
    np.testing.assert_allclose(num.cdf(x), builtin.cdf(x), rtol=0, atol=1e-6)
    assert builtin.symmetric == num.symmetric
    assert builtin.has_score == num.has_score  # jumps detected numerically


@pytest.mark.parametrize("name", JOINT)
def test_joint_entries_match_their_radial_expression(name):
    spec = BY_NAME[name]
    d = 3
    noise = spec.build(scale=1.0, d=d)
    expr = spec.log_expression()
    pts = noise.sample(200, np.random.default_rng(4))
    r = np.linalg.norm(pts, ord=_NORMS[spec.norm], axis=-1)
    values = {p: noise.params[p] for p in expr.params if p != "d"}
    ref = expr(r, d=float(d), **values)
    diff = noise.logpdf(pts) - ref
    assert np.all(np.isfinite(diff))
    assert np.ptp(diff) < 1e-9


def test_exp_mix_is_sigma_matched_by_quadrature():
    n = unicr.noise("exp_mix", sigma=1.0)
    assert isinstance(n, NumericNoise) and n.params == {"beta": 0.5}
    assert n.std() == pytest.approx(1.0, rel=1e-12)
    z = n.sample(100_000, np.random.default_rng(0))
    assert np.std(z) == pytest.approx(1.0, rel=0.01)
    # beta = 1 is the Laplace law, beta = 0 the Gaussian (same sigma)
    x = np.linspace(-4, 4, 33)
    lap = unicr.noise("exp_mix", sigma=1.0, beta=1.0)
    np.testing.assert_allclose(lap.cdf(x), stats.laplace(scale=1 / math.sqrt(2)).cdf(x),
                               atol=1e-9)
    gau = unicr.noise("exp_mix", sigma=1.0, beta=0.0)
    np.testing.assert_allclose(gau.cdf(x), stats.norm.cdf(x), atol=1e-9)
    # the native scale is alpha of UniCR's Table 7 form
    a = unicr.noise("exp_mix", scale=2.0)
    w = np.linspace(-5, 5, 11)
    diff = a.logpdf(w) - (-0.5 * np.abs(w / 2) - 0.5 * (w / 2) ** 2)
    assert np.ptp(diff) < 1e-10


def test_cubic_exp_equals_gennorm_three():
    a = unicr.noise("cubic_exp", sigma=1.0)
    b = unicr.noise("gennorm", beta=3.0, sigma=1.0)
    x = np.linspace(-3, 3, 61)
    np.testing.assert_allclose(a.cdf(x), b.cdf(x), atol=1e-9)
    np.testing.assert_allclose(a.logpdf(x), b.logpdf(x), atol=1e-8)


def test_huber_is_continuous_and_has_laplace_tails():
    n = unicr.noise("huber", scale=1.0)
    k = n.params["k"]
    eps = 1e-9
    assert n.logpdf(k - eps) == pytest.approx(float(n.logpdf(k + eps)), abs=1e-7)
    assert n.score(np.array([3.0, 10.0])) == pytest.approx([k, k])
    assert n.score(np.array([0.5]))[0] == pytest.approx(0.5)


def test_catalogue_names_resolve_before_builtins():
    g = unicr.noise("gennorm")  # catalogue default beta = 1.5 (UniCR's experiments)
    assert g.params["beta"] == 1.5 and g.sigma == pytest.approx(1.0)
    assert unicr.noise("normal").sigma == pytest.approx(1.0)
    with pytest.raises(Exception, match="pareto"):
        unicr.noise("paretoo")
