"""Invariants of the exact band (hypothesis) and clear errors on bad input."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unicr.certificate import Certificate
from unicr.engines import radius_exact
from unicr.errors import InvalidParameterError, NotProductNoiseError, UnicrError
from unicr.noises.base import JointNoise, ProductNoise
from unicr.noises.registry import build_builtin

FAMILIES = [("gaussian", {}), ("laplace", {}), ("uniform", {}), ("logistic", {}),
            ("cauchy", {}), ("gennorm", {"beta": 1.5}), ("pareto", {"a": 3.0})]
NORMS = [1.0, 2.0, math.inf, 0.5, 3.0]


def _noise(name: str, kw: dict, scale: float = 1.0) -> ProductNoise:
    return build_builtin(name, scale=scale, **kw)


class Gumbel(ProductNoise):
    """Test double: an asymmetric, log-concave product noise (standard Gumbel)."""

    name = "gumbel-test-double"
    symmetric = False
    var1 = math.pi**2 / 6

    def _logpdf1(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        return -(z + np.exp(-z))

    def _cdf1(self, z: np.ndarray) -> np.ndarray:
        return np.exp(-np.exp(-np.asarray(z, dtype=float)))

    def _sf1(self, z: np.ndarray) -> np.ndarray:
        return -np.expm1(-np.exp(-np.asarray(z, dtype=float)))

    def _ppf1(self, u: np.ndarray) -> np.ndarray:
        return -np.log(-np.log(np.asarray(u, dtype=float)))

    def _isf1(self, u: np.ndarray) -> np.ndarray:
        return -np.log(-np.log1p(-np.asarray(u, dtype=float)))

    def _score1(self, z: np.ndarray) -> np.ndarray:
        return 1.0 - np.exp(-np.asarray(z, dtype=float))

    def fisher_information(self) -> float:
        return 1.0 / self.scale**2

    def mean(self) -> float:
        return float(np.euler_gamma * self.scale)


@settings(max_examples=12, deadline=None)
@given(fam=st.sampled_from(FAMILIES), p=st.sampled_from(NORMS),
       pa=st.floats(0.52, 0.995), c=st.floats(0.2, 5.0))
def test_scale_equivariance_and_order(fam: Any, p: float, pa: float, c: float) -> None:
    name, kw = fam
    a = radius_exact(_noise(name, kw, 1.0), pa, None, p, 256)
    b = radius_exact(_noise(name, kw, c), pa, None, p, 256)
    assert 0.0 <= a.lower <= a.upper
    assert b.lower == pytest.approx(c * a.lower, rel=1e-9, abs=1e-300)
    assert b.upper == pytest.approx(c * a.upper, rel=1e-9)


@settings(max_examples=10, deadline=None)
@given(fam=st.sampled_from(FAMILIES), p=st.sampled_from(NORMS),
       pa1=st.floats(0.52, 0.99), dp=st.floats(0.001, 0.2))
def test_monotone_in_pa(fam: Any, p: float, pa1: float, dp: float) -> None:
    name, kw = fam
    nz = _noise(name, kw)
    pa2 = min(pa1 + dp, 0.999)
    a = radius_exact(nz, pa1, None, p, 512)
    b = radius_exact(nz, pa2, None, p, 512)
    # lower bounds are computed by monotone formulas; R* itself is monotone, so the
    # larger pA's upper bound can never be below the smaller pA's lower bound
    assert b.lower >= a.lower * (1 - 1e-12)
    assert b.upper >= a.lower * (1 - 1e-12)


@settings(max_examples=8, deadline=None)
@given(fam=st.sampled_from(FAMILIES), pa=st.floats(0.55, 0.99), pb_frac=st.floats(0.05, 0.95))
def test_two_sided_decreasing_in_pb(fam: Any, pa: float, pb_frac: float) -> None:
    name, kw = fam
    nz = _noise(name, kw)
    pb = (1 - pa) * pb_frac
    two = radius_exact(nz, pa, pb, 1.0, 64)
    binary = radius_exact(nz, pa, None, 1.0, 64)
    assert two.lower <= two.upper
    # pB < 1 - pA is more information: the two-sided R* is at least the binary one
    assert two.upper >= binary.lower * (1 - 1e-9)


def test_asymmetric_double_is_handled():
    g = Gumbel(scale=1.0)
    for p in (1.0, 2.0, math.inf):
        c = radius_exact(g, 0.9, None, p, 128)
        assert 0 < c.lower <= c.upper < math.inf
        assert any("asymmetric" in s or "norm inclusions only" in s for s in c.assumptions) \
            or p != math.inf


def test_abstain_is_not_zero():
    g = build_builtin("gaussian")
    c = radius_exact(g, 0.5, None, 2.0, 10)
    assert isinstance(c, Certificate) and c.abstain and c.status == "abstain"
    c = radius_exact(g, 0.3, 0.4, 2.0, 10)
    assert c.abstain


class _Joint(JointNoise):
    name = "joint-test-double"

    def _rms1(self) -> float:
        return 1.0


@pytest.mark.parametrize("bad", [
    dict(pa=1.2), dict(pa=0.0), dict(pa=float("nan")), dict(d=0), dict(d=2.5),
    dict(p=0.0), dict(p=-1.0), dict(p="foo"), dict(pa=0.9, pb=0.3),
])
def test_bad_input_clear_errors(bad: dict) -> None:
    args = dict(pa=0.9, pb=None, p=2.0, d=10)
    args.update(bad)
    with pytest.raises(InvalidParameterError) as e:
        radius_exact(build_builtin("laplace"), args["pa"], args["pb"], args["p"], args["d"])
    assert str(e.value)


def test_joint_noise_rejected_with_pointer_to_mc():
    j = _Joint(4)
    with pytest.raises(NotProductNoiseError, match="mc"):
        radius_exact(j, 0.9, None, 2.0, 4)
    with pytest.raises(UnicrError):
        radius_exact("gaussian", 0.9, None, 2.0, 4)


def test_certificate_fields_and_witness():
    c = radius_exact(build_builtin("logistic"), 0.9, None, 2.0, 256)
    assert c.witness is not None
    k = c.witness.direction["k"]
    assert c.witness.norm_value == pytest.approx(c.witness.scale * k ** 0.5, rel=1e-12)
    assert c.witness.norm_value == c.upper
    assert any("Fisher" in s for s in c.assumptions)
    assert any("Yang et al. 2020" in s for s in c.assumptions)
    d = c.to_dict()
    assert d["status"] in ("bracketed", "exact") and d["method"] == "exact"


def test_two_level_option_and_radius_dispatch():
    import unicr

    c = unicr.radius("laplace", 0.9, 2, 64, method="exact", two_level=[(8, 8, 0.5)])
    assert c.lower <= c.upper
    with pytest.raises(InvalidParameterError):
        unicr.radius("laplace", 0.9, 2, 64, method="exact", two_level=[(60, 8, 0.5)])


def _product_families() -> list[str]:
    from unicr.noises.registry import builtin_names

    return [n for n in builtin_names() if _is_product(n)]


def _is_product(name: str) -> bool:
    from unicr.noises.base import ProductNoise
    from unicr.noises.registry import builtin_class

    return issubclass(builtin_class(name), ProductNoise)


@pytest.mark.parametrize("name", _product_families())
@pytest.mark.parametrize("pb", [None, 0.05])
def test_every_product_family_gives_a_band(name: str, pb: float | None) -> None:
    nz = build_builtin(name)
    for p in (1.0, 2.0, math.inf):
        c = radius_exact(nz, 0.9, pb, p, 512)
        assert 0.0 < c.lower <= c.upper < math.inf, (name, p, c.lower, c.upper)
        assert c.witness is not None and c.witness.norm_value == c.upper
