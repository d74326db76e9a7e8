"""The Monte Carlo engine against closed forms (docs/certificate-notes.md), end to end.

Sound mode must bracket every tight closed form (lower <= R* <= upper) and never report an
upper bound below a proven lower bound; estimate mode reproduces UniCR's point estimate.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special
from scipy.stats import norm

import unicr
from unicr.engines import directional_bracket, radius_mc
from unicr.errors import ConvergenceError, InvalidParameterError, UnicrError
from unicr.neyman_pearson import banks
from unicr.neyman_pearson.direction import k_equal, noise_symmetric
from unicr.noises.registry import build_builtin
from unicr.search.scale import Search

PA = 0.9


def _mc(noise, pa, p, d, pb=None, **kw):
    return unicr.radius(noise, pa, p, d, pb=pb, method="mc", **kw)


# ---------------------------------------------------------------------------
# Gaussian: rotation invariance gives lower and upper for every p
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("p", [2.0, 1.0, 0.5, 3.0, math.inf])
def test_gaussian_sound_brackets_cohen_for_every_norm(p):
    d = 3072
    g = build_builtin("gaussian", sigma=0.5)
    c = _mc(g, PA, p, d)
    factor = 1.0 if p <= 2 else d ** (1.0 / p - 0.5)
    exact = 0.5 * norm.ppf(PA) * factor
    assert 0 < c.lower <= exact <= c.upper
    assert c.upper / c.lower < 1.15  # n_mc = 1e5: the DKW band costs a few percent
    assert c.estimate == pytest.approx(exact, rel=0.02)
    assert c.confidence == pytest.approx(0.999)
    assert c.status == "bracketed"
    # the witness is a verified failure at the upper norm (axis for p <= 2, all-ones above)
    w = c.witness
    assert w.norm_value == pytest.approx(c.upper)
    assert w.direction == {"kind": "k-equal", "k": 1 if p <= 2 else d}
    k = w.direction["k"]
    assert w.scale * (k ** (1 / p) if math.isfinite(p) else 1.0) == pytest.approx(c.upper)
    assert any("rotation invariance" in a for a in c.assumptions)
    assert any("UniCR's App. B.4" in a for a in c.assumptions)


def test_gaussian_without_the_rotation_reduction():
    """reduction=False: the coordinate-wise path with a direction search (as UniCR): only an
    upper bound, consistent with Cohen's radius."""
    g = build_builtin("gaussian", sigma=1.0)
    c = _mc(g, PA, 2, 16, n_mc=20_000, reduction=False)
    assert c.lower == 0.0 and c.upper >= norm.ppf(PA)
    assert c.estimate == pytest.approx(norm.ppf(PA), rel=0.03)
    assert not any("rotation invariance" in a for a in c.assumptions)
    with pytest.raises(InvalidParameterError, match="reduction"):
        _mc(g, PA, 2, 16, reduction="no")


def test_gaussian_two_sided_matches_cohen_two_sided():
    """S13: the two-sided test with t_B at the (1 - pB) quantile reproduces Cohen et al."""
    g = build_builtin("gaussian", sigma=1.0)
    pa, pb = 0.8, 0.1
    exact = 0.5 * (norm.ppf(pa) - norm.ppf(pb))
    c = _mc(g, pa, 2, 10, pb=pb)
    assert c.lower <= exact <= c.upper
    assert c.estimate == pytest.approx(exact, rel=0.02)
    e = _mc(g, pa, 2, 10, pb=pb, mode="estimate")
    assert (e.lower, e.upper) == (0.0, math.inf)
    assert e.estimate == pytest.approx(exact, rel=0.02)


# ---------------------------------------------------------------------------
# product noises along fixed directions (closed forms along that direction)
# ---------------------------------------------------------------------------


def test_laplace_l1_axis_brackets_teng():
    lap = build_builtin("laplace", sigma=1.0)
    teng = -lap.scale * math.log(2 * (1 - PA))
    r = directional_bracket(lap, PA, None, 1, 10, n_mc=20_000)
    assert r.lower_scale <= teng <= r.upper_scale
    assert r.estimate_scale == pytest.approx(teng, rel=0.05)
    c = _mc(lap, PA, 1, 10, n_mc=20_000)
    assert c.lower == 0.0 and c.upper >= teng
    assert c.witness.direction == {"kind": "k-equal", "k": 1}
    assert any("no reduction theorem" in a for a in c.assumptions)


def test_uniform_l1_axis_and_linf_all_ones_bracket_yang():
    uni = build_builtin("uniform", sigma=1.0)
    lam, d = uni.scale, 10
    r1 = directional_bracket(uni, PA, None, 1, d, n_mc=20_000)
    assert r1.lower_scale <= 2 * lam * (PA - 0.5) <= r1.upper_scale
    rinf = directional_bracket(uni, PA, None, d, d, n_mc=20_000)
    exact_inf = 2 * lam * (1 - (1.5 - PA) ** (1 / d))
    assert rinf.lower_scale <= exact_inf <= rinf.upper_scale
    assert rinf.upper_scale / rinf.lower_scale < 1.4


def test_gennorm_l1_axis_brackets_yang_quantile():
    """Generalised normal, beta >= 1: R_1 = lambda [G^-1_{1/beta}(2 rho - 1)]^(1/beta)
    (docs/certificate-notes.md#c5-2)."""
    gn = build_builtin("gennorm", sigma=1.0, beta=1.5)
    exact = gn.scale * special.gammaincinv(1 / 1.5, 2 * PA - 1) ** (1 / 1.5)
    r = directional_bracket(gn, PA, None, 1, 4, n_mc=20_000)
    assert r.lower_scale <= exact <= r.upper_scale
    assert r.estimate_scale == pytest.approx(exact, rel=0.03)


def test_gaussian_through_the_generic_product_path_agrees():
    """The generic product bank (numpy densities) must agree with the exact Gaussian model."""
    g = build_builtin("gaussian", sigma=1.0)
    bank = banks.ProductBank(g, 20_000, 4, np.random.SeedSequence(0), np.float64, 2**28)
    srch = Search.along(bank.model(k_equal(4)), PA, None, 0.0, 0.0, 1e-4)
    lam = srch.run(0, 0.5).mid
    assert lam * 2.0 == pytest.approx(norm.ppf(PA), rel=0.03)


def test_streaming_equals_cached_draws():
    """Blocks beyond the memory budget are regenerated from their seeds: identical losses."""
    lap = build_builtin("laplace", sigma=1.0)
    u = k_equal(40)
    big = banks.ProductBank(lap, 3000, 40, np.random.SeedSequence(2), np.float64, 2**28)
    tiny = banks.ProductBank(lap, 3000, 40, np.random.SeedSequence(2), np.float64, 2**20)
    a, _, ea = big.model(u).losses([0.1, 0.2])
    b, _, eb = tiny.model(u).losses([0.1, 0.2])
    b2, _, _ = tiny.model(u).losses([0.1, 0.2])
    np.testing.assert_array_equal(ea, eb)
    assert np.all((ea > 0) & (ea < 1e-9))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(b, b2)
    assert tiny._bytes <= 2**20


# ---------------------------------------------------------------------------
# joint noises of Yang et al. 2020 (docs/certificate-notes.md#c3-4, docs/certificate-notes.md#c7)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("d", [10, 3072])
def test_uniform_ball_l2_tight(d):
    ub = build_builtin("uniform_ball", sigma=1.0, d=d)
    exact = ub.scale * (2 - 4 * special.betaincinv((d + 1) / 2, (d + 1) / 2, 0.75 - PA / 2))
    c = _mc(ub, PA, 2, d)
    assert c.lower <= exact <= c.upper
    assert c.upper / c.lower < 1.15


@pytest.mark.parametrize("d", [10, 3072])
def test_exp2_l2_tight(d):
    e2 = build_builtin("exp2", sigma=1.0, d=d, k=1.0)
    exact = e2.scale * (d - 1) * np.arctanh(
        1 - 2 * special.betaincinv((d - 1) / 2, (d - 1) / 2, 1 - PA))
    c = _mc(e2, PA, 2, d)
    assert c.lower <= exact <= c.upper
    assert c.estimate == pytest.approx(exact, rel=0.03)


@pytest.mark.parametrize("p", [1.0, math.inf])
def test_expinf_upper_is_above_yang_lower_bounds(p):
    """Yang's ExpInf(k=1) forms are lower bounds on R*: a verified failure lies above them."""
    d = 12
    ei = build_builtin("expinf", sigma=1.0, d=d, k=1.0)
    lam = ei.scale
    lower_cf = 2 * d * lam * (PA - 0.5) if p == 1.0 else lam * math.log(1 / (2 * (1 - PA)))
    c = _mc(ei, PA, p, d, n_mc=20_000)
    assert c.upper >= lower_cf
    # UniCR's wrong constant (S26) would claim a radius 15.5% larger at d=3072; here d=12:
    wrong = lam * math.sqrt(((d - 1) / 3 + 1) / ((d - 1) / 4))
    assert wrong > lam


def test_two_sided_joint_noise():
    ub = build_builtin("uniform_ball", sigma=1.0, d=20)
    c = _mc(ub, 0.8, 2, 20, pb=0.1, n_mc=20_000)
    cb = _mc(ub, 0.8, 2, 20, n_mc=20_000)
    assert 0 < c.lower <= c.upper
    assert c.upper <= cb.upper * 1.5  # a runner-up bound below 1 - pA only helps
    # UniCR's plug-in K never changes sign here (all losses tied at small scales: S14)
    assert c.estimate is None
    with pytest.raises(ConvergenceError, match="point-estimate"):
        _mc(ub, 0.8, 2, 20, pb=0.1, n_mc=20_000, mode="estimate")


# ---------------------------------------------------------------------------
# reproducibility, precision, robustness
# ---------------------------------------------------------------------------


def test_seed_reproducibility():
    lap = build_builtin("laplace", sigma=1.0)
    a = _mc(lap, PA, 2, 6, n_mc=5000, seed=3)
    b = _mc(lap, PA, 2, 6, n_mc=5000, seed=3)
    c = _mc(lap, PA, 2, 6, n_mc=5000, seed=4)
    assert a == b
    assert (a.upper, a.estimate) != (c.upper, c.estimate)


@pytest.mark.parametrize("name, kw", [("gaussian", {"sigma": 1.0}), ("laplace", {"sigma": 1.0})])
def test_float32_matches_float64(name, kw):
    nz = build_builtin(name, **kw)
    a = _mc(nz, PA, 1, 8, n_mc=20_000, dtype="float64")
    b = _mc(nz, PA, 1, 8, n_mc=20_000, dtype="float32")
    # the point estimate moves by the rounding only; the sound bound may land on another
    # rung of the verification ladder where the tied Laplace losses make the margin flat
    assert b.estimate == pytest.approx(a.estimate, rel=1e-3)
    assert b.upper == pytest.approx(a.upper, rel=0.03)
    assert b.lower == pytest.approx(a.lower, rel=0.03)
    assert any("float32" in s for s in b.assumptions)


@pytest.mark.parametrize("name, kw", [("cauchy", {"scale": 1.0}),
                                      ("pareto", {"a": 1.0, "scale": 1.0}),
                                      ("student_t", {"nu": 1.0, "scale": 1.0})])
def test_heavy_tails_give_finite_radii(name, kw):
    nz = build_builtin(name, **kw)
    for p in (1.0, 2.0, math.inf):
        c = _mc(nz, 0.95, p, 8, n_mc=10_000)
        assert math.isfinite(c.upper) and c.upper > 0
        assert math.isfinite(c.estimate) and c.estimate > 0
    # with too few draws a failure cannot be proven at pA = 0.99 (D >= 1 - pA): upper = inf
    c = _mc(nz, 0.99, 1.0, 8, n_mc=5000)
    assert c.upper == math.inf and c.estimate > 0
    assert any("cannot be proven" in a for a in c.assumptions)


def test_imagenet_dimension():
    d = 150528
    g = build_builtin("gaussian", sigma=0.25)
    c = _mc(g, PA, math.inf, d, n_mc=20_000)
    exact = 0.25 * norm.ppf(PA) / math.sqrt(d)
    assert c.lower <= exact <= c.upper
    e2 = build_builtin("exp2", sigma=0.25, d=d, k=1.0)
    c = _mc(e2, PA, 2, d, n_mc=20_000)
    assert 0 < c.lower <= c.upper < math.inf
    cau = build_builtin("cauchy", scale=0.1)
    c = _mc(cau, PA, 1, d, n_mc=5000, k_values=[1, 2, 4])
    assert math.isfinite(c.upper) and c.upper > 0


def test_every_catalogue_family_gets_an_mc_radius():
    """Every registered family (product and joint) in l1, l2, l_inf, p = 0.5 and 3."""
    from unicr.noises.registry import builtin_names

    d = 3
    for name in builtin_names():
        cls_kw = {"d": d}
        try:
            nz = build_builtin(name, **cls_kw)
        except UnicrError:
            nz = build_builtin(name, scale=1.0, **cls_kw)
        for p in (1.0, 2.0, math.inf, 0.5, 3.0):
            c = _mc(nz, 0.9, p, d, n_mc=3000)
            assert math.isfinite(c.upper) and c.upper > 0, (name, p)
            assert 0.0 <= c.lower <= c.upper
            assert c.estimate is not None and c.estimate > 0


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------


def test_bad_input_is_refused_clearly():
    g = build_builtin("gaussian", sigma=1.0)
    with pytest.raises(InvalidParameterError, match="n_mc = 200 is too small"):
        _mc(g, 0.55, 2, 4, n_mc=200)
    with pytest.raises(InvalidParameterError, match="n_mc"):
        _mc(g, PA, 2, 4, n_mc=10)
    with pytest.raises(InvalidParameterError, match="mode"):
        _mc(g, PA, 2, 4, mode="fast")
    with pytest.raises(InvalidParameterError, match="rel_tol"):
        _mc(g, PA, 2, 4, rel_tol=float("nan"))
    with pytest.raises(InvalidParameterError, match="alpha_np"):
        _mc(g, PA, 2, 4, alpha_np=float("inf"))
    with pytest.raises(InvalidParameterError, match="c1"):
        _mc(g, PA, 2, 4, c1=float("nan"))
    with pytest.raises(InvalidParameterError, match="unknown option"):
        _mc(g, PA, 2, 4, n_samples=10)
    with pytest.raises(InvalidParameterError, match="device"):
        _mc(g, PA, 2, 4, device="cuda")
    with pytest.raises(InvalidParameterError, match="dtype"):
        _mc(g, PA, 2, 4, dtype="int8")
    with pytest.raises(InvalidParameterError, match="directions"):
        _mc(g, PA, 2, 4, directions="random")
    with pytest.raises(InvalidParameterError, match="seed"):
        _mc(g, PA, 2, 4, seed=-1)
    with pytest.raises(InvalidParameterError, match="pA"):
        _mc(g, float("nan"), 2, 4)
    # the two-sided room: pA - pB must exceed 4D
    with pytest.raises(InvalidParameterError, match="pB"):
        _mc(g, 0.51, 2, 4, pb=0.49, n_mc=10_000)
    with pytest.raises(InvalidParameterError, match="shape"):
        directional_bracket(g, PA, None, np.ones(3), 4)
    ub = build_builtin("uniform_ball", sigma=1.0, d=5)
    with pytest.raises(InvalidParameterError, match="d=5"):
        radius_mc(ub, PA, None, 2.0, 6)


def test_estimate_mode_is_labelled():
    lap = build_builtin("laplace", sigma=1.0)
    c = _mc(lap, PA, 1, 6, mode="estimate", n_mc=20_000)
    assert (c.lower, c.upper, c.confidence) == (0.0, math.inf, 1.0)
    assert c.status == "estimate"
    assert c.estimate == pytest.approx(-lap.scale * math.log(2 * (1 - PA)), rel=0.05)
    assert any("UniCR's point estimate" in a for a in c.assumptions)


def test_sound_pso_finds_the_axis_for_laplace_l1():
    lap = build_builtin("laplace", sigma=1.0)
    teng = -lap.scale * math.log(2 * (1 - PA))
    c = _mc(lap, PA, 1, 8, n_mc=20_000, directions="pso", particles=8, iterations=8)
    assert c.upper >= teng
    d = c.witness.direction
    # the PSO witness is (numerically) the axis: one dominant coordinate
    assert d["k"] == 1 or max(d["values"][1:]) < 0.05 * d["values"][0]
    assert any("PSO" in a for a in c.assumptions)


@pytest.mark.parametrize("name, tol", [("gaussian", 1e-9), ("exp2", 1e-9), ("laplace", 1e-2)])
def test_radius_scales_linearly_with_the_noise(name, tol):
    """R(c sigma) = c R(sigma): draws scale with the noise and the search is scale-free.

    Exact up to rounding for continuous losses; with tied (Laplace) losses rounding moves
    ties, which moves the search within its tolerance and the ladder spacing slightly.
    """
    kw = {"d": 6, "k": 1.0} if name == "exp2" else {}
    a = build_builtin(name, sigma=1.0, **kw)
    b = build_builtin(name, sigma=3.0, **kw)
    ca = _mc(a, PA, 2, 6, n_mc=10_000)
    cb = _mc(b, PA, 2, 6, n_mc=10_000)
    assert cb.upper == pytest.approx(3.0 * ca.upper, rel=tol)
    assert cb.lower == pytest.approx(3.0 * ca.lower, rel=tol)
    assert cb.estimate == pytest.approx(3.0 * ca.estimate, rel=max(tol, 1e-3))


def test_alpha_accounting_is_reported():
    g = build_builtin("gaussian", sigma=1.0)
    c = _mc(g, PA, 2, 5, n_mc=20_000, alpha_np=0.01, candidates=5)
    assert c.confidence == pytest.approx(0.99)
    # two statements (pass, fail) x 5 ladder candidates x 2 one-sided events
    assert any("union bound over 20 one-sided DKW events" in a for a in c.assumptions)
    lap = build_builtin("laplace", sigma=1.0)
    c = _mc(lap, PA, 2, 5, n_mc=20_000, alpha_np=0.01, candidates=5)
    assert any("union bound over 10 one-sided DKW events" in a for a in c.assumptions)


def test_convergence_error_is_typed():
    assert issubclass(ConvergenceError, UnicrError)


# ---------------------------------------------------------------------------
# cross-checks: exact engine, end-to-end coverage
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name, kw", [("laplace", {"sigma": 1.0}), ("cauchy", {"scale": 1.0})])
def test_consistent_with_the_exact_engine(name, kw):
    """Both engines' statements must be compatible: mc upper >= exact lower (R* lies between)."""
    nz = build_builtin(name, **kw)
    for p in (1.0, math.inf):
        ex = unicr.radius(nz, PA, p, 8, method="exact")
        mc = _mc(nz, PA, p, 8, n_mc=10_000)
        assert mc.upper >= ex.lower
        assert mc.estimate == pytest.approx(0.5 * (ex.lower + ex.upper), rel=0.08)


def test_directional_brackets_cover_the_truth_end_to_end():
    """Search, ladder and verification together, at a large alpha and small samples: the
    bracket along the axis misses Teng's exact value in at most alpha of the runs."""
    from scipy.stats import binom

    lap = build_builtin("laplace", sigma=1.0)
    exact = -lap.scale * math.log(2 * (1 - PA))
    runs, alpha, bad = 40, 0.3, 0
    for seed in range(runs):
        r = directional_bracket(lap, PA, None, 1, 3, n_mc=2000, alpha_np=alpha, seed=seed,
                                candidates=4)
        bad += not (r.lower_scale <= exact <= r.upper_scale)
    assert bad <= binom.ppf(0.999, runs, alpha)


@pytest.mark.parametrize("d", [1, 7, 40])
def test_expinf_kequal_sampler_matches_the_generic_joint_path(d):
    """Exact order-statistic samplers (cube surface) vs full draws from the noise's sampler:
    the plug-in worst-case probability beta agrees within the sampling error."""
    from unicr.neyman_pearson.sampled import margins

    nz = build_builtin("expinf", sigma=1.0, d=d, k=1.0)
    n = 40_000
    for k in sorted({1, max(1, d // 2), d}):
        lb = banks.LinfKEqualBank(nz, n, np.random.SeedSequence(1), np.float64, [k])
        jb = banks.JointBank(nz, n, np.random.SeedSequence(2), np.float64, 2**28)
        for a in (0.3, 1.0):
            lam = a * nz.scale
            x1, y1, e1 = lb.model(k_equal(k)).losses([lam])
            x2, y2, e2 = jb.model(k_equal(k)).losses([lam])
            b1 = margins(x1[0], y1[0], PA, None, eta=e1[0])[1]
            b2 = margins(x2[0], None if y2 is None else y2[0], PA, None, eta=e2[0])[1]
            assert b1 == pytest.approx(b2, abs=4.0 / math.sqrt(n)), (k, a)


def test_cli_radius_method_mc_json(capsys):
    """``unicr radius NOISE --method mc --json``: the same Certificate fields as the API."""
    import json

    from unicr.cli import main

    rc = main(["radius", "exp2", "--param", "k=1", "--pa", "0.9", "--d", "50", "--norm", "2",
               "--method", "mc", "--n-mc", "20000", "--seed", "3", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    api = _mc(build_builtin("exp2", k=1.0, d=50), 0.9, 2, 50, n_mc=20_000, seed=3)
    assert out["method"] == "mc" and out["status"] == "bracketed"
    assert out["lower"] == pytest.approx(api.lower) and out["upper"] == pytest.approx(api.upper)
    assert out["witness"]["direction"] == {"kind": "k-equal", "k": 1}
    rc = main(["radius", "gaussian", "--pa", "0.55", "--d", "4", "--method", "mc", "--n-mc",
               "200"])
    assert rc == 2
    assert "too small" in capsys.readouterr().err


def test_asymmetric_noise_uses_both_signs():
    """An asymmetric law (scipy skew-normal through the adapter): L_Y is computed, not -L_X,
    and the structured family includes negative directions."""
    import scipy.stats as st

    nz = unicr.noise(st.skewnorm(4.0))
    assert not noise_symmetric(nz)
    c = _mc(nz, PA, 1, 4, n_mc=10_000)
    assert math.isfinite(c.upper) and c.estimate > 0
    c_neg = directional_bracket(nz, PA, None, -np.eye(4)[0], 4, n_mc=10_000)
    c_pos = directional_bracket(nz, PA, None, np.eye(4)[0], 4, n_mc=10_000)
    assert c.upper <= max(c_neg.upper_scale, c_pos.upper_scale) * 1.05
    assert c_neg.estimate_scale != pytest.approx(c_pos.estimate_scale, rel=0.05)


def test_options_dataclass_and_keywords_give_the_same_certificate():
    """``radius_mc(..., options=MCOptions(...))`` is the keyword call, to the last digit; keywords
    given with ``options`` override its fields; the dataclass is validated once and frozen."""
    from dataclasses import FrozenInstanceError

    from unicr.engines.mc_options import DEFAULTS, MCOptions

    nz = build_builtin("laplace", sigma=1.0)
    by_kw = radius_mc(nz, 0.9, None, 1.0, 8, n_mc=2000, seed=3)
    options = MCOptions(n_mc=2000, seed=3)
    assert radius_mc(nz, 0.9, None, 1.0, 8, options=options) == by_kw
    assert radius_mc(nz, 0.9, None, 1.0, 8, options=MCOptions(n_mc=2000), seed=3) == by_kw
    assert list(DEFAULTS) == [f for f in MCOptions.__dataclass_fields__]
    assert MCOptions().dtype == np.dtype(np.float64) and MCOptions().seed == 0
    with pytest.raises(FrozenInstanceError):
        options.n_mc = 10  # type: ignore[misc]
    with pytest.raises(TypeError):
        DEFAULTS["n_mc"] = 10  # type: ignore[index]
    with pytest.raises(InvalidParameterError, match="n_mc must be an integer >= 100"):
        MCOptions(n_mc=3.5)
    with pytest.raises(InvalidParameterError, match="unknown option.*n_mcc"):
        radius_mc(nz, 0.9, None, 1.0, 8, options=options, n_mcc=5)
    with pytest.raises(InvalidParameterError, match=r"k_values must be integers in \[1, d=8\]"):
        radius_mc(nz, 0.9, None, 1.0, 8, options=MCOptions(k_values=[1, 9]))


def test_failure_ladder_with_an_infinite_band_sensitivity_is_placed_not_nan():
    # n_mc = 2000 at pA = 0.95: at the failure ladder's widest DKW band the failure margin is
    # infinite, so the ladder's band sensitivity was inf and its first rung inf * 0 = NaN (the
    # engine then refused its own scale as "eta must be finite"); found by the notebook-API
    # tests of #15.  The certificate must exist and bracket the tight radius Phi^-1(0.95).
    cert = unicr.radius("gaussian", 0.95, 2, 8, method="mc", n_mc=2000, seed=3)
    assert cert.lower <= norm.ppf(0.95) <= cert.upper
    assert math.isfinite(cert.upper) and cert.lower > 0
