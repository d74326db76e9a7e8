"""Every closed-form family's log-density agrees across its backends (unicr issue #13).

A family declares its unnormalised standardised log-density ``log q`` once per backend
(:meth:`~unicr.noises.base.ProductNoise.compiled_logq`): numpy ``logpdf``, the plain-Python
``logq_scalar`` jitted by :mod:`unicr.noises.numba_logq`, and the torch formula.  Here, for
every family with a compiled form and for default and non-default shape parameters, the
differences ``log q(z) - log q(0)`` of the three are compared from the centre to far in the
tails (z up to 1e300), and the jitted formula is compared bit for bit with the plain-Python one
(a stale numba cache fails here).  A deliberately wrong family shows that the check can fail.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from unicr.noises import families, numba_logq
from unicr.noises.base import ProductNoise

#: shape parameters to check besides the defaults, per family with a parameter
SHAPES: dict[str, list[dict[str, float]]] = {
    "GeneralizedNormal": [{"beta": 0.3}, {"beta": 1.0}, {"beta": 2.0}, {"beta": 7.5},
                          {"beta": 40.0}],
    "Pareto": [{"a": 0.5}, {"a": 3.0}, {"a": 50.0}],
    "StudentT": [{"nu": 0.1}, {"nu": 0.7}, {"nu": 3.0}, {"nu": 1e4}],
}

#: relative tolerance of numba and torch against numpy logpdf differences
RTOL = 1e-12


def _compiled_classes() -> list[type[ProductNoise]]:
    out = []
    for name in families.__all__:
        cls = getattr(families, name)
        if isinstance(cls, type) and issubclass(cls, ProductNoise) and \
                cls.kernel_slot is not None:
            out.append(cls)
    return out


def test_the_compiled_families_are_found():
    # every slot of unicr.noises.kernel_slots has its family (a silent empty list would skip all)
    from unicr.noises import kernel_slots

    slots = {cls.kernel_slot for cls in _compiled_classes()}
    assert slots == {getattr(kernel_slots, n) for n in kernel_slots.__all__}, slots


def _cases() -> list[tuple[str, ProductNoise]]:
    cases = []
    for cls in _compiled_classes():
        cases.append((f"{cls.__name__}-default", cls(scale=1.3)))
        for params in SHAPES.get(cls.__name__, []):
            tag = ",".join(f"{k}={v:g}" for k, v in params.items())
            cases.append((f"{cls.__name__}-{tag}", cls(scale=1.3, **params)))
    return cases


CASES = _cases()


def _points(noise: ProductNoise) -> np.ndarray:
    """Standardised points from the centre to 1e300 on both sides, within the support."""
    mags = np.concatenate([[0.0, 1e-12, 1e-3, 0.1, 0.5, 0.999, 1.0, 1.001, 1.7, 2.5, 7.0, 30.0],
                           np.logspace(-8, 300, 120)])
    z = np.concatenate([mags, -mags[1:]])
    lo, hi = noise.support1
    return z[(z >= lo) & (z <= hi)]


def _numpy_diff(noise: ProductNoise, z: np.ndarray) -> np.ndarray:
    s = float(noise.scale)
    return np.asarray(noise.logpdf(z * s), dtype=float) - float(noise.logpdf(0.0))


def _agree(ref: np.ndarray, mine: np.ndarray, rtol: float) -> np.ndarray:
    """Element-wise: equal infinities, or within ``rtol (1 + |ref|)``."""
    with np.errstate(invalid="ignore"):
        return ((ref == mine) & np.isinf(ref)) | (np.abs(ref - mine) <= rtol * (1.0 + np.abs(ref)))


def _plain(formula, z: float, p1: float) -> float:
    """``formula(z, p1)`` in plain Python; an overflow (Python raises, numba gives inf) is the
    ``-inf`` numba returns (every ``log q`` is <= 0)."""
    try:
        return formula(z, p1)
    except OverflowError:
        return -math.inf


def mismatches(noise: ProductNoise) -> list[str]:
    """Where the backends of ``noise``'s compiled log-density disagree (empty: they agree)."""
    import torch

    fam = noise.compiled_logq()
    z = _points(noise)
    ref = _numpy_diff(noise, z)
    out = []
    jit = numba_logq.logq_array(fam.kernel, z, fam.p1) - numba_logq.logq(fam.kernel, 0.0, fam.p1)
    bad = ~_agree(ref, jit, RTOL)
    if bad.any():
        out.append(f"numba != numpy at z = {z[bad][:4]}: {jit[bad][:4]} vs {ref[bad][:4]}")
    plain = np.array([_plain(type(noise).logq_scalar, float(v), fam.p1) for v in z])
    if not np.array_equal(plain, numba_logq.logq_array(fam.kernel, z, fam.p1)):
        out.append("jitted formula differs from the plain-Python logq_scalar (stale numba cache?)")
    big = 1e150
    tz = torch.as_tensor(z, dtype=torch.float64)
    tq = fam.logq_torch(tz, big).numpy() - fam.logq_torch(torch.zeros(1, dtype=torch.float64),
                                                          big).numpy()[0]
    bad = ~_agree(ref, tq, RTOL)
    if bad.any():
        out.append(f"torch != numpy at z = {z[bad][:4]}: {tq[bad][:4]} vs {ref[bad][:4]}")
    if not np.all(fam.logq_torch(tz, big).numpy() <= 0.0):
        out.append("torch log q is positive somewhere")
    inside = np.abs(z) * fam.big_arg_scale * 1.01 <= 0.5 * big  # where small=True is promised
    x = tz[torch.as_tensor(inside)].clone()
    fast = fam.logq_torch_(x.clone(), torch.empty_like(x), torch.empty(x.shape, dtype=torch.bool),
                           big, small=True).numpy()
    bad = ~_agree(fam.logq_torch(x, big).numpy(), fast, RTOL)
    if bad.any():
        out.append(f"torch small=True branch differs at z = {z[inside][bad][:4]}")
    return out


def test_every_family_with_a_shape_parameter_has_shapes_to_check():
    for cls in _compiled_classes():
        if cls.param_info:
            assert cls.__name__ in SHAPES, f"add non-default shapes of {cls.__name__} to SHAPES"


@pytest.mark.parametrize("case", [c for _, c in CASES], ids=[i for i, _ in CASES])
def test_backends_agree(case):
    pytest.importorskip("torch")
    assert mismatches(case) == []


@pytest.mark.parametrize("case", [c for _, c in CASES if hasattr(type(c), "logq_ratio_scalar")],
                         ids=[i for i, c in CASES if hasattr(type(c), "logq_ratio_scalar")])
def test_one_logarithm_ratio_matches_the_difference(case):
    """``logq_ratio_scalar(z, a)`` = ``log q(z - a) - log q(z)`` within its stated magnitude."""
    fam = case.compiled_logq()
    rng = np.random.default_rng(3)
    zs = np.concatenate([rng.standard_normal(200) * 30.0, [0.0, 1.0, -1e3, 9999.0]])
    for z in zs:
        for a in (1e-6, 0.03, 1.0, -2.5, 400.0):
            t, mag, ok = numba_logq.ratio_term(fam.kernel, float(z), a, fam.p1)
            if not ok:
                continue
            q1 = numba_logq.logq(fam.kernel, z - a, fam.p1)
            q0 = numba_logq.logq(fam.kernel, float(z), fam.p1)
            # the two-logarithm reference is the less accurate one: a few ulps of |q1| + |q0|
            tol = 1e-13 * mag + 8 * 2.0**-53 * (abs(q1) + abs(q0))
            assert abs(t - (q1 - q0)) <= tol, (z, a, t, q1 - q0)


def test_the_check_fails_on_a_wrong_formula():
    """A family whose compiled shape parameter is off fails the cross-check (and kernel_for)."""
    pytest.importorskip("torch")
    from dataclasses import replace

    from unicr.neyman_pearson.kernels import kernel_for

    class WrongStudent(families.StudentT):
        def compiled_logq(self):
            return replace(super().compiled_logq(), p1=float(self.params["nu"]) * 1.001)

    class WrongTorchPareto(families.Pareto):
        def logq_torch_(self, x, scratch, mask, big, small=False):
            return x.abs_().log1p_().mul_(-float(self.params["a"]))

    wrong = WrongStudent(scale=1.0, nu=3.0)
    assert any("numba != numpy" in m for m in mismatches(wrong))
    assert kernel_for(wrong) is None
    assert kernel_for(families.StudentT(scale=1.0, nu=3.0)) is not None
    assert any("torch != numpy" in m for m in mismatches(WrongTorchPareto(scale=1.0, a=3.0)))
