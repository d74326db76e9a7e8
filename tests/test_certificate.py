"""The result type and the shared input checks of unicr.radius."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import unicr
from unicr.certificate import Certificate, norm_label, parse_norm, validate_probabilities
from unicr.errors import InvalidParameterError, NotProductNoiseError, UnicrError


@pytest.mark.parametrize("text,p", [(1, 1.0), ("2", 2.0), ("inf", math.inf), ("l1", 1.0),
                                    ("Linf", math.inf), (0.5, 0.5), (math.inf, math.inf)])
def test_parse_norm(text, p):
    assert parse_norm(text) == p


@pytest.mark.parametrize("bad", [0, -1, "x", float("nan"), None, "-2"])
def test_parse_norm_rejects(bad):
    with pytest.raises(InvalidParameterError, match="norm"):
        parse_norm(bad)


def test_norm_label():
    assert norm_label(math.inf) == "inf" and norm_label(2.0) == "2" and norm_label(0.5) == "0.5"


@pytest.mark.parametrize("pa,pb,match", [(0.0, None, "pA"), (1.0, None, "pA"), (float("nan"), None, "pA"),
                                         (0.9, 1.2, "pB"), (0.7, 0.5, "pA \\+ pB"), ("x", None, "pA")])
def test_probabilities_rejected(pa, pb, match):
    with pytest.raises(InvalidParameterError, match=match):
        validate_probabilities(pa, pb)


def _cert(lower, upper, **kw):
    base = dict(estimate=None, confidence=1.0, method="test", norm=2.0, d=10, pa=0.9, pb=None)
    base.update(kw)
    return Certificate(lower=lower, upper=upper, **base)


def test_certificate_invariants():
    with pytest.raises(ValueError):
        _cert(2.0, 1.0)
    with pytest.raises(ValueError):
        _cert(float("nan"), 1.0)
    with pytest.raises(ValueError):
        _cert(-0.1, 1.0)
    c = _cert(1.0, 1.0 + 1e-9, tolerance=1e-6)
    assert c.exact and c.status == "exact"
    c = _cert(1.0, 2.0)
    assert c.status == "bracketed" and c.gap == 2.0
    c = _cert(1.0, math.inf)
    assert c.status == "lower-only"
    d = c.to_dict()
    assert d["upper"] == "inf" and d["norm"] == "2"


def test_abstain_is_not_zero():
    a = Certificate.abstained(method="exact", norm=2.0, d=3, pa=0.4, pb=None, reason="binary")
    assert a.abstain and a.status == "abstain"
    z = _cert(0.0, 0.5)
    assert not z.abstain


def test_radius_abstains_without_calling_an_engine():
    c = unicr.radius("gaussian", pa=0.5, norm=2, d=10)
    assert c.abstain and "pA <= 1/2" in c.assumptions[0]
    c = unicr.radius("gaussian", pa=0.4, pb=0.45, norm=2, d=10)
    assert c.abstain and "pA <= pB" in c.assumptions[0]


@pytest.mark.parametrize("kw,match", [
    (dict(pa=1.5, norm=2, d=10), "pA"),
    (dict(pa=0.9, norm=0, d=10), "norm"),
    (dict(pa=0.9, norm=2, d=0), "dimension"),
    (dict(pa=0.9, norm=2, d=2.5), "dimension"),
    (dict(pa=0.9, norm=2, d=10, method="magic"), "unknown method"),
])
def test_radius_bad_input(kw, match):
    with pytest.raises(UnicrError, match=match):
        unicr.radius("gaussian", **kw)


def test_exact_engine_refuses_joint_noise():
    from unicr.noises.base import JointNoise

    class Iso(JointNoise):
        name = "iso_test"

        def _rms1(self):
            return 1.0

    with pytest.raises(NotProductNoiseError, match="Monte Carlo"):
        unicr.radius(Iso(4), pa=0.9, norm=2, d=4, method="exact")


@given(st.floats(min_value=1e-6, max_value=0.5))
def test_binary_abstain_region(pa):
    assert unicr.radius("gaussian", pa=pa, norm=1, d=5).abstain
