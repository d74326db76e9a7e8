"""The formula registry: names, metadata, scale conversion from unicr noises, refusals."""

import json
import math

import pytest

from unicr.closed_form import (
    FORMULAS,
    STATUSES,
    FormulaNoiseMismatchError,
    UnknownFormulaError,
    cohen_l2,
    formula_names,
    formulas_for,
    get_formula,
    hayes_gn_lp,
    hayes_kl_corrected,
    rms_per_unit_scale,
    teng_l1,
    yang_gennorm_l1,
    yang_pareto_l1,
    yang_powinf_l1,
    yang_powinf_linf,
)
from unicr.errors import InvalidParameterError, UnicrError
from unicr.noises.base import JointNoise, Param, ProductNoise
from unicr.noises.registry import build_builtin

REQUIRED = {
    "cohen", "teng", "pixeldp_gaussian", "pixeldp_laplace", "li_renyi", "li_l1", "li_l1_printed",
    "hayes_kl", "hayes_kl_corrected", "hayes_chi2", "hayes_hellinger", "hayes_bhattacharyya",
    "hayes_tv", "hayes_tv_corrected", "hayes_gn_lp", "hayes_gn_intersection", "yang_uniform",
    "yang_pareto", "yang_gennorm", "yang_laplace_linf", "yang_laplace_linf_approx", "yang_expinf",
    "unicr_expinf_baseline", "yang_exp2", "yang_exp1", "yang_uniform_ball", "yang_powinf",
    "kumar_upper", "nandi_uniform", "feng_two_sided", "gaussian_linf_conversion",
}


def gauss(sigma=1.0):
    return build_builtin("gaussian", sigma=sigma)


def test_required_names_and_metadata():
    assert REQUIRED <= set(formula_names())
    for name, f in FORMULAS.items():
        assert f.name == name
        assert f.status in STATUSES
        assert f.status_two_sided is None or f.status_two_sided in STATUSES
        assert f.citation and f.families and f.convention and f.description
        assert f.norms or f.norms_text
        json.dumps(f.describe())
    assert get_formula("hayes_tv").status == "unsound-as-printed"
    assert get_formula("hayes_gn_intersection").status == "intersection"
    assert get_formula("kumar_upper").status == "upper"
    assert get_formula("yang_laplace_linf_approx").status == "estimate"
    assert get_formula("cohen").two_sided and not get_formula("yang_uniform").two_sided
    assert get_formula("teng").status == "tight" and get_formula("teng").status_two_sided == "lower"
    assert "teng" in [f.name for f in formulas_for("laplace")]
    assert "kumar_upper" in [f.name for f in formulas_for("logistic")]


def test_unknown_formula_lists_the_available_ones():
    with pytest.raises(UnknownFormulaError) as exc:
        get_formula("cohn")
    msg = str(exc.value)
    assert "cohn" in msg and "Did you mean: cohen" in msg and "hayes_tv_corrected" in msg
    assert isinstance(exc.value, UnicrError)
    assert get_formula("Hayes-TV").name == "hayes_tv"


def test_family_mismatch_is_refused_with_the_alternatives():
    lap = build_builtin("laplace", sigma=1.0)
    with pytest.raises(FormulaNoiseMismatchError) as exc:
        get_formula("cohen").radius(lap, 0.9)
    msg = str(exc.value)
    assert "laplace" in msg and "gaussian" in msg and "teng" in msg
    with pytest.raises(FormulaNoiseMismatchError, match="beta=1.5"):
        get_formula("cohen").radius(build_builtin("gennorm", beta=1.5), 0.9)
    with pytest.raises(FormulaNoiseMismatchError, match="joint"):
        get_formula("kumar_upper").radius(build_builtin("exp2", d=10), 0.9, d=10)


def test_gaussian_adapters_use_the_std():
    g = gauss(0.5)
    for p in (0.6, 0.9, 0.999):
        assert get_formula("cohen").radius(g, p) == pytest.approx(cohen_l2(p, sigma=0.5))
        assert get_formula("cohen").radius(g, p, 0.001) == pytest.approx(cohen_l2(p, 0.001, 0.5))
        # a gennorm with beta = 2 is the same Gaussian
        g2 = build_builtin("gennorm", beta=2.0, sigma=0.5)
        assert get_formula("cohen").radius(g2, p) == pytest.approx(cohen_l2(p, sigma=0.5))
        # Hayes' GN scale for N(0, 0.25) is sqrt(2) * 0.5: Eq. 20 == corrected KL
        assert get_formula("hayes_gn_lp").radius(g, p) == pytest.approx(
            hayes_kl_corrected(p, sigma=0.5), rel=1e-12)
        # generalized normal beta = 2 l1 radius == Cohen at matching sigma
        assert get_formula("yang_gennorm").radius(g, p) == pytest.approx(cohen_l2(p, sigma=0.5))
    kl = get_formula("hayes_kl")
    assert kl.radius(g, 0.9, convention="gn") == pytest.approx(
        get_formula("hayes_kl_corrected").radius(g, 0.9))
    assert kl.radius(g, 0.9) == pytest.approx(kl.radius(g, 0.9, convention="gn") / math.sqrt(2))
    with pytest.raises(InvalidParameterError, match="convention"):
        kl.radius(g, 0.9, convention="other")
    with pytest.raises(InvalidParameterError, match="unknown option"):
        get_formula("cohen").radius(g, 0.9, trade=0.5)


def test_product_family_adapters_convert_sigma():
    lap = build_builtin("laplace", sigma=1.0)
    assert get_formula("teng").radius(lap, 0.9) == pytest.approx(teng_l1(0.9, lam=1 / math.sqrt(2)))
    uni = build_builtin("uniform", sigma=0.25)
    expected = 2 * math.sqrt(3) * 0.25 * 0.4
    assert get_formula("yang_uniform").radius(uni, 0.9) == pytest.approx(expected)
    assert get_formula("nandi_uniform").radius(uni, 0.9) == pytest.approx(
        get_formula("yang_uniform").radius(uni, 0.9))
    res = get_formula("nandi_uniform").evaluate(uni, 0.9, norm=2, d=3072)
    assert res.status == "lower"
    assert res.value == pytest.approx(2 * math.sqrt(3) * 0.1 / math.sqrt(3072))
    gn = build_builtin("gennorm", beta=1.5, sigma=0.8)
    alpha = 0.8 / rms_per_unit_scale("gennorm", {"beta": 1.5})
    assert get_formula("yang_gennorm").radius(gn, 0.8) == pytest.approx(
        yang_gennorm_l1(0.8, alpha, 1.5))
    gn_half = build_builtin("gennorm", beta=0.5, sigma=1.0)
    assert get_formula("yang_gennorm").evaluate(gn_half, 0.8).status == "lower"
    gn3 = build_builtin("gennorm", beta=3.0, sigma=1.0)
    assert get_formula("hayes_gn_lp").radius(gn3, 0.9, d=3072) == pytest.approx(
        hayes_gn_lp(0.9, None, gn3.scale, 3, 3072))
    # Pareto with infinite variance: only the native scale exists, and it is used as is
    par = build_builtin("pareto", a=1.5, scale=2.0)
    assert get_formula("yang_pareto").radius(par, 0.9) == pytest.approx(
        yang_pareto_l1(0.9, 2.0, 1.5))


def test_joint_family_adapters_take_d_from_the_noise():
    d = 500
    e2 = build_builtin("exp2", d=d, k=2.0, sigma=0.7)  # a Gaussian of std 0.7
    assert get_formula("yang_exp2").radius(e2, 0.9) == pytest.approx(cohen_l2(0.9, sigma=0.7))
    ei = build_builtin("expinf", d=3072, k=1.0, sigma=1.0)
    good = get_formula("yang_expinf").radius(ei, 0.9, norm="inf")
    bad = get_formula("unicr_expinf_baseline").evaluate(ei, 0.9)
    assert bad.status == "unsound-as-printed" and not bad.is_certificate
    assert bad.value / good == pytest.approx(1.1553, abs=1e-4)
    ball = build_builtin("uniform_ball", d=d, sigma=1.0)
    assert get_formula("yang_uniform_ball").evaluate(ball, 0.9).d == d
    with pytest.raises(InvalidParameterError, match="d=500"):
        get_formula("yang_uniform_ball").radius(ball, 0.9, d=100)
    e1 = build_builtin("exp1", d=50, k=2.0)
    assert get_formula("yang_exp1").evaluate(e1, 0.9).status == "lower"


class _PowInf(JointNoise):
    """Stand-in for a PowInf(a) noise (no built-in yet): only what the adapter reads."""

    name = "powinf"
    param_info = (Param("a", None, low=0.0),)

    def _rms1(self):
        return rms_per_unit_scale("powinf", self.params, self.d)


def test_powinf_adapter():
    nz = _PowInf(10, sigma=1.0, a=20.0)
    f = get_formula("yang_powinf")
    assert f.radius(nz, 0.8) == pytest.approx(yang_powinf_l1(0.8, nz.scale, 10, 20.0))
    assert f.radius(nz, 0.8, norm="inf") == pytest.approx(yang_powinf_linf(0.8, nz.scale, 10, 20.0))


class _WrongLaplace(ProductNoise):
    """A 'laplace' whose native scale is the std: a convention the registry must refuse."""

    name = "laplace"
    var1 = 1.0


def test_scale_convention_mismatch_is_refused():
    with pytest.raises(FormulaNoiseMismatchError, match="convention"):
        get_formula("teng").radius(_WrongLaplace(sigma=1.0), 0.9)


def test_norm_and_dimension_checks():
    g = gauss()
    with pytest.raises(FormulaNoiseMismatchError, match="l1"):
        get_formula("cohen").radius(g, 0.9, norm=1)
    with pytest.raises(InvalidParameterError, match="dimension d"):
        get_formula("gaussian_linf_conversion").radius(g, 0.9)
    assert get_formula("gaussian_linf_conversion").radius(g, 0.9, d=100) == pytest.approx(
        cohen_l2(0.9) / 10, rel=1e-9)
    with pytest.raises(FormulaNoiseMismatchError, match="GN shape"):
        get_formula("hayes_gn_lp").radius(g, 0.9, norm=3, d=100)
    with pytest.raises(FormulaNoiseMismatchError, match="p > 2"):
        get_formula("kumar_upper").radius(g, 0.9, norm=2, d=100)
    with pytest.raises(FormulaNoiseMismatchError, match="infinite variance"):
        get_formula("kumar_upper").radius(build_builtin("pareto", a=1.5, scale=1.0), 0.9, d=100)
    with pytest.raises(InvalidParameterError, match="pA"):
        get_formula("cohen").radius(g, 1.2)


def test_abstain_and_binary_only_notes():
    g = gauss()
    res = get_formula("cohen").evaluate(g, 0.5)
    assert res.abstain and res.value == 0.0 and not res.is_certificate
    res = get_formula("cohen").evaluate(g, 0.45, 0.4)
    assert not res.abstain and res.two_sided and res.value > 0
    assert get_formula("cohen").evaluate(g, 0.4, 0.4).abstain
    uni = build_builtin("uniform", sigma=1.0)
    res = get_formula("yang_uniform").evaluate(uni, 0.45, 0.1)
    assert res.abstain and not res.two_sided and "binary-only" in res.notes[0]


def test_printed_erratum_and_intersection_results():
    lap = build_builtin("laplace", sigma=1.0)
    res = get_formula("li_l1_printed").evaluate(lap, 0.9, 0.05)
    assert res.value == 0.0 and res.raw < 0 and "sign error" in res.notes[0]
    assert get_formula("li_l1").radius(lap, 0.9, 0.05) == pytest.approx(-res.raw)
    gn3 = build_builtin("gennorm", beta=3.0, scale=1.0)
    res = get_formula("hayes_gn_intersection").evaluate(gn3, 0.99, d=3072)
    assert res.status == "intersection" and not res.is_certificate
    assert res.value == pytest.approx(0.864578, abs=1e-6)
    assert [k for k, _ in res.region.constraints] == [3.0, 1.0]
    assert res.region.lp_radius(3) < res.value / 100
    assert "intersection" in res.notes[0]
    traded = get_formula("hayes_gn_intersection").evaluate(gn3, 0.99, d=3072, trade=1.0)
    assert traded.region.constraints[1][1] == pytest.approx(1.441682, abs=1e-6)
    json.dumps(res.to_dict())
