"""Name resolution, parameter validation and the scale convention of the registry."""

import math

import numpy as np
import pytest

import unicr
from unicr.errors import InfiniteVarianceError, InvalidParameterError, UnknownNoiseError
from unicr.noises.base import Param
from unicr.noises.registry import build_builtin, builtin_names


def test_required_builtin_names_are_registered():
    names = set(builtin_names())
    required = {"gaussian", "laplace", "uniform", "cauchy", "hsecant", "gennorm", "pareto",
                "student_t", "logistic", "laplace_gaussian_mix", "normal_uniform",
                "uniform_ball", "exp2", "expinf", "exp1", "pow2"}
    assert required <= names, f"missing: {sorted(required - names)}"


def test_unknown_name_suggests_close_matches():
    with pytest.raises(UnknownNoiseError) as exc:
        unicr.noise("gausian")
    msg = str(exc.value)
    assert "gaussian" in msg and "gausian" in msg


def test_prebuilt_noise_is_returned_unchanged():
    g = unicr.noise("gaussian", sigma=2.0)
    assert unicr.noise(g) is g
    with pytest.raises(InvalidParameterError):
        unicr.noise(g, sigma=1.0)


def test_sigma_and_scale_are_exclusive_and_positive():
    with pytest.raises(InvalidParameterError, match="either sigma"):
        build_builtin("gaussian", sigma=1.0, scale=1.0)
    for bad in (0.0, -1.0, math.nan, math.inf, "abc"):
        with pytest.raises(InvalidParameterError, match="sigma"):
            build_builtin("gaussian", sigma=bad)


def test_unknown_parameter_is_named():
    with pytest.raises(InvalidParameterError, match="unknown parameter.*bogus"):
        build_builtin("gaussian", bogus=1.0)


def test_default_is_unit_sigma_and_scale_roundtrip():
    g = build_builtin("gaussian")
    assert g.sigma == pytest.approx(1.0)
    h = g.with_sigma(0.25)
    assert h.std() == pytest.approx(0.25) and h.scale == pytest.approx(0.25)
    assert h.fingerprint() != g.fingerprint()
    assert build_builtin("gaussian", sigma=0.25).fingerprint() == h.fingerprint()


def test_infinite_variance_refuses_sigma():
    with pytest.raises(InfiniteVarianceError, match="infinite variance"):
        build_builtin("cauchy", sigma=1.0)
    c = build_builtin("cauchy", scale=2.0)
    assert c.sigma is None and c.scale == 2.0


def test_joint_noise_needs_dimension():
    with pytest.raises(InvalidParameterError, match="dimension d"):
        build_builtin("exp2", k=1.0)
    e = build_builtin("exp2", k=1.0, d=8, sigma=0.5)
    assert e.d == 8 and e.sigma == pytest.approx(0.5)


def test_param_validation_messages():
    p = Param("beta", 1.0, low=0.0, high=10.0)
    assert p.validate("2.5", "gennorm") == 2.5
    with pytest.raises(InvalidParameterError, match=r"gennorm: parameter 'beta' = 0 is outside"):
        p.validate(0, "gennorm")
    with pytest.raises(InvalidParameterError, match="finite"):
        p.validate(math.nan, "gennorm")
    q = Param("k", 1, low=1, high=math.inf, low_open=False, integer=True)
    with pytest.raises(InvalidParameterError, match="whole number"):
        q.validate(1.5, "x")


def test_numpy_and_torch_samplers_share_the_scale():
    import torch

    g = build_builtin("gaussian", sigma=3.0)
    x = g.sample(200_000, rng=0)
    t = g.sample_torch((200_000,), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert t.dtype == torch.float64
    assert np.std(x) == pytest.approx(3.0, rel=0.01)
    assert float(t.std()) == pytest.approx(3.0, rel=0.01)
