"""Spec files: the 3-line user file, parameters, builtins, and every validation error."""

from __future__ import annotations

import json
import math
import os
import textwrap

import numpy as np
import pytest
from scipy import stats

import unicr
from unicr.errors import (
    ExpressionError,
    InvalidParameterError,
    NormalisationError,
    SpecError,
    UnknownNoiseError,
)
from unicr.noises.numeric import NumericNoise
from unicr.noises.spec import load_spec


def _write(tmp_path, text, name="noise.toml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_three_line_user_file_by_path(tmp_path):
    p = _write(tmp_path, """\
        name = "my_noise"
        description = "cubic-exponential noise"
        logpdf = "-abs(x)**3"
        """)
    n = unicr.noise(str(p), sigma=0.7)
    assert isinstance(n, NumericNoise) and n.name == "my_noise"
    assert n.sigma == pytest.approx(0.7, rel=1e-12)
    # exp(-|x|^3) is gennorm(beta=3) with alpha = sigma sqrt(Gamma(1/3)/Gamma(3/3))
    alpha = 0.7 * math.sqrt(math.gamma(1 / 3) / math.gamma(1.0))
    ref = stats.gennorm(3, scale=alpha)
    z = n.sample(40_000, np.random.default_rng(1))
    assert stats.kstest(z, ref.cdf).pvalue > 1e-3
    assert np.sqrt(np.mean(z**2)) == pytest.approx(0.7, rel=0.01)
    x = np.linspace(-1.5, 1.5, 13)
    np.testing.assert_allclose(n.cdf(x), ref.cdf(x), atol=1e-9)
    # native scale and a Path object work too
    m = unicr.noise(p, scale=2.0)
    assert m.scale == 2.0
    np.testing.assert_allclose(m.cdf(x), stats.gennorm(3, scale=2.0).cdf(x), atol=1e-9)


def test_parameters_scale_symbol_and_pdf_field(tmp_path):
    p = _write(tmp_path, """\
        name = "gn"
        description = "generalized normal"
        source = "test"
        pdf = "exp(-abs(x/alpha)**beta)"
        scale = "alpha"

        [params.beta]
        default = 1.5
        min = 0
        min_open = true
        max = 8
        doc = "shape"
        """)
    spec = load_spec(p)
    assert spec.scale_param == "alpha" and [q.name for q in spec.params] == ["beta"]
    n = spec.build(scale=1.0)
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(n.cdf(x), stats.gennorm(1.5).cdf(x), atol=1e-9)
    n = spec.build(sigma=1.0, beta=0.7)
    assert n.params == {"beta": 0.7}
    ref = stats.gennorm(0.7, scale=1.0 / stats.gennorm(0.7).std())
    np.testing.assert_allclose(n.cdf(x), ref.cdf(x), atol=1e-8)
    with pytest.raises(InvalidParameterError) as info:
        spec.build(beta=0.0)
    assert "noise.toml" in str(info.value) and "beta" in str(info.value)
    with pytest.raises(InvalidParameterError, match="no parameter"):
        spec.build(gamma=1.0)
    d = spec.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["params"][0]["min"] == 0.0 and d["params"][0]["max"] == 8.0


def test_builtin_entry_narrows_defaults(tmp_path):
    p = _write(tmp_path, """\
        name = "gennorm_three"
        builtin = "gennorm"
        logpdf = "-abs(x)**beta"

        [params.beta]
        default = 3
        max = 4
        """)
    spec = load_spec(p)
    n = spec.build(sigma=1.0)
    assert type(n).__name__ == "GeneralizedNormal" and n.params["beta"] == 3.0
    with pytest.raises(InvalidParameterError, match="outside"):
        spec.build(beta=5.0)
    # a parameter the class does not have
    q = _write(tmp_path, """\
        name = "bad"
        builtin = "gennorm"
        [params.gamma]
        default = 1
        """, "bad.toml")
    with pytest.raises(SpecError, match="no parameter 'gamma'"):
        load_spec(q)


def test_load_spec_is_cached_by_path_and_mtime(tmp_path):
    p = _write(tmp_path, 'name = "a"\nlogpdf = "-x**2"\n')
    s1 = load_spec(p)
    assert load_spec(str(p)) is s1
    p.write_text('name = "b"\nlogpdf = "-x**2"\n')
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert load_spec(p).name == "b"
    with pytest.raises(UnknownNoiseError, match="does not exist"):
        load_spec(tmp_path / "nope.toml")
    with pytest.raises(UnknownNoiseError):
        unicr.noise(str(tmp_path / "nope.toml"))


BAD = [
    # (file text, exception type, fragments that must appear in the message)
    ('name = "a"\nlogpdf = "-x**2\n', SpecError, ["invalid TOML", "line 2"]),
    ('name = "a"\nlogpfd = "-x**2"\n', SpecError, ["logpfd", "did you mean 'logpdf'"]),
    ('logpdf = "-x**2"\n', SpecError, ["'name'"]),
    ('name = "a"\ndescription = "no density"\n', SpecError, ["'logpdf'"]),
    ('name = "a"\nlogpdf = "-x**2"\npdf = "exp(-x**2)"\n', SpecError, ["not both"]),
    ('name = "a"\nlogpdf = "-abs(x)**beta"\n[params.beta]\ndefault = -1\nmin = 0\n',
     SpecError, ["params.beta.default", "outside"]),
    ('name = "a"\nlogpdf = "-abs(x)**beta"\n[params.beta]\ndefault = 1\nmaximum = 3\n',
     SpecError, ["params.beta.maximum", "did you mean 'max'"]),
    ('name = "a"\nlogpdf = "-abs(x)**beta"\n[params.beta]\nmin = 3\nmax = 1\n',
     SpecError, ["params.beta", "empty range"]),
    ('name = "a"\nlogpdf = "-abs(x)**beta"\n', ExpressionError,
     ["logpdf", "unknown symbol 'beta'"]),
    ('name = "a"\nlogpdf = "__import__(\'os\').system(\'true\')"\n', ExpressionError,
     ["logpdf", "__import__"]),
    ('name = "a"\nlogpdf = "x.real"\n', ExpressionError, ["logpdf", "attribute"]),
    ('name = "a"\nkind = "joint"\nlogpdf = "-r"\n', SpecError, ["builtin"]),
    ('name = "a"\nkind = "mixed"\nlogpdf = "-x"\n', SpecError, ["kind"]),
    ('name = 3\nlogpdf = "-x**2"\n', SpecError, ["name", "string"]),
    ('name = "a b"\nlogpdf = "-x**2"\n', SpecError, ["name"]),
    ('name = "a"\nlogpdf = "-x**2"\nsymmetric = "yes"\n', SpecError, ["symmetric"]),
    ('name = "a"\nlogpdf = "-x**2"\n[params.exp]\ndefault = 1\n', SpecError,
     ["params.exp", "reserved"]),
    ('name = "a"\nlogpdf = "-abs(x)/alpha - x**2"\nscale = "alpha"\n', None,
     ["scale", "not a scale family"]),
    ('name = "a"\nlogpdf = "-x**2"\nscale = "alpha"\n', SpecError, ["scale", "does not appear"]),
    ('name = "a"\nlogpdf = "0"\n', NormalisationError, ["logpdf", "infinite"]),
    ('name = "a"\nlogpdf = "-0.5*log1p(x**2)"\n', NormalisationError, ["logpdf", "infinite"]),
    ('name = "a"\npdf = "x"\n', NormalisationError, ["pdf", "negative"]),
    ('name = "a"\nlogpdf = "log(x)"\n', NormalisationError, ["logpdf", "NaN"]),
    ('name = "a"\nlogpdf = "-1.001*log1p(abs(x))"\n', NormalisationError, ["escapes"]),
    ('name = "a"\nlogpdf = "-x**2"\nsymmetric = true\n', None, []),
    ('name = "a"\nlogpdf = "-(x-1)**2"\nsymmetric = true\n', NormalisationError,
     ["declared symmetric"]),
]


@pytest.mark.parametrize(("text", "exc", "fragments"), BAD)
def test_bad_specs_are_rejected_naming_file_and_field(tmp_path, text, exc, fragments):
    p = _write(tmp_path, text, "bad_spec.toml")
    if exc is None and not fragments:
        unicr.noise(str(p))  # control: a valid file
        return
    with pytest.raises(exc or SpecError) as info:
        unicr.noise(str(p))
    msg = str(info.value)
    assert "bad_spec.toml" in msg
    for frag in fragments:
        assert frag in msg, (frag, msg)


def test_joint_spec_needs_d_and_builds_the_builtin(tmp_path):
    p = _write(tmp_path, """\
        name = "my_ball"
        kind = "joint"
        builtin = "uniform_ball"
        norm = 2
        logpdf = "where(r <= 1, 0, -inf)"
        """)
    spec = load_spec(p)
    assert spec.kind == "joint" and spec.norm == "2"
    with pytest.raises(InvalidParameterError, match="d"):
        spec.build(sigma=1.0)
    n = spec.build(sigma=1.0, d=5)
    assert n.d == 5 and n.sigma == pytest.approx(1.0)
    q = _write(tmp_path, 'name = "x"\nkind = "joint"\nbuiltin = "gennorm"\n', "j.toml")
    with pytest.raises(SpecError, match="kind"):
        load_spec(q)


def test_spec_tables_are_shared_between_scales(tmp_path):
    p = _write(tmp_path, 'name = "lap"\nlogpdf = "-abs(x)"\n')
    a = unicr.noise(str(p), sigma=1.0)
    b = unicr.noise(str(p), sigma=3.0)
    assert a.table is b.table and b.std() == pytest.approx(3.0)
    assert a.fingerprint() != b.fingerprint()


def test_spec_noise_pickles_and_reports_its_normalisation_error(tmp_path):
    import pickle

    p = _write(tmp_path, 'name = "mix"\nlogpdf = "-0.5*abs(x) - 0.5*x**2"\n')
    n = unicr.noise(str(p), sigma=0.5)
    m = pickle.loads(pickle.dumps(n))
    x = np.linspace(-2, 2, 9)
    np.testing.assert_array_equal(m.cdf(x), n.cdf(x))
    np.testing.assert_array_equal(m.sample(6, 3), n.sample(6, 3))
    np.testing.assert_array_equal(m.score(x), n.score(x))
    assert n.describe()["normalisation_error"] < 1e-10
    # numba version of the normalised standardised log-density (for the engines)
    f = n.numba_logpdf1()
    z = np.array([-2.0, -0.3, 0.0, 1.7])
    np.testing.assert_allclose([f(v) for v in z], n._logpdf1(z), rtol=1e-13, atol=1e-13)
    assert pickle.loads(pickle.dumps(n)).numba_logpdf1() is not None
