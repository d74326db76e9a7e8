"""Numba dispatcher of the closed-form families' log densities (unicr issue #13).

Each closed-form family of :mod:`unicr.noises.families` declares its unnormalised standardised
log-density ``log q(z)`` once, as the plain-``math`` static method ``logq_scalar(z, p1)`` of
its class (Cauchy and Student t also ``logq_ratio_scalar(z, a, p1)``, the one-logarithm form
of ``log q(z - a) - log q(z)``), and names its slot here in
:meth:`~unicr.noises.base.ProductNoise.compiled_logq`.  This module only jits those methods and
assembles the one switch numba needs: numba cannot call a function chosen at run time from a
table without losing inlining and on-disk caching, so the kernels of
:mod:`unicr.neyman_pearson.kernels` take an integer slot and branch here.  Adding a family:
write its ``logq_scalar``, add a slot constant in kernel_slots.py and a branch below (docs/adding-a-noise.md).

Numba caches a compiled function keyed on the source file of *that* function only: the
kernels (kernels.py) inline these formulas, so after editing a ``logq_scalar`` clear the numba
cache (``__pycache__/*.nbi``, ``*.nbc``) or touch kernels.py.  tests/test_family_backends.py
compares the jitted dispatcher with the plain-Python formulas bit for bit and fails on a stale
cache.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba
import numpy as np

from unicr.noises.families import (
    Cauchy,
    Gaussian,
    GeneralizedNormal,
    HyperbolicSecant,
    Laplace,
    Logistic,
    Pareto,
    StudentT,
    Uniform,
)
from unicr.noises.kernel_slots import (
    CAUCHY,
    GAUSSIAN,
    GENNORM,
    HSECANT,
    LAPLACE,
    LOGISTIC,
    PARETO,
    STUDENT,
    UNIFORM,
)

__all__ = ["logq", "logq_array", "has_ratio_term", "ratio_term", "GAUSSIAN", "LAPLACE",
           "UNIFORM", "CAUCHY", "HSECANT", "GENNORM", "PARETO", "STUDENT", "LOGISTIC"]

# dispatcher slots (``CompiledLogDensity.kernel``): unicr.noises.kernel_slots


def _jit(formula: Callable[..., Any]) -> Any:
    """A family's plain-Python formula as a cached numba function.

    Not ``inline="always"``: numba-IR inlining of nine formulas into the dispatcher, and of the
    dispatcher into five call sites of the kernels, added ~0.9 s to the first (uncached)
    compilation; compiled separately (and cached next to families.py) they cost ~0.3 s, and
    LLVM still inlines them into the kernels (run time unchanged).  The dispatcher itself stays
    ``inline="always"``: without it the kernels ran 1.5-4x slower.
    """
    return numba.njit(cache=True)(formula)


_gaussian = _jit(Gaussian.logq_scalar)
_laplace = _jit(Laplace.logq_scalar)
_uniform = _jit(Uniform.logq_scalar)
_cauchy = _jit(Cauchy.logq_scalar)
_hsecant = _jit(HyperbolicSecant.logq_scalar)
_gennorm = _jit(GeneralizedNormal.logq_scalar)
_pareto = _jit(Pareto.logq_scalar)
_student = _jit(StudentT.logq_scalar)
_logistic = _jit(Logistic.logq_scalar)
_cauchy_ratio = _jit(Cauchy.logq_ratio_scalar)
_student_ratio = _jit(StudentT.logq_ratio_scalar)


@numba.njit(cache=True, inline="always")
def logq(code: int, z: float, p1: float) -> float:
    """``log q(z)`` of the family in slot ``code`` with shape parameter ``p1``."""
    if code == GAUSSIAN:
        return _gaussian(z, p1)
    if code == LAPLACE:
        return _laplace(z, p1)
    if code == UNIFORM:
        return _uniform(z, p1)
    if code == CAUCHY:
        return _cauchy(z, p1)
    if code == HSECANT:
        return _hsecant(z, p1)
    if code == GENNORM:
        return _gennorm(z, p1)
    if code == PARETO:
        return _pareto(z, p1)
    if code == STUDENT:
        return _student(z, p1)
    return _logistic(z, p1)


@numba.njit(cache=True)
def logq_array(code: int, z: np.ndarray, p1: float) -> np.ndarray:
    """:func:`logq` at every point of the 1-D array ``z``."""
    out = np.empty(z.shape[0])
    for i in range(z.shape[0]):
        out[i] = logq(code, z[i], p1)
    return out


@numba.njit(cache=True, inline="always")
def has_ratio_term(code: int) -> bool:
    """True for the families that declare a one-logarithm ``logq_ratio_scalar``."""
    return code == CAUCHY or code == STUDENT


@numba.njit(cache=True, inline="always")
def ratio_term(code: int, z: float, a: float, p1: float) -> tuple[float, float, bool]:
    """``log q(z - a) - log q(z)`` in one logarithm, its magnitude, and whether it applies
    (only for slots with :func:`has_ratio_term`)."""
    if code == CAUCHY:
        return _cauchy_ratio(z, a, p1)
    return _student_ratio(z, a, p1)
