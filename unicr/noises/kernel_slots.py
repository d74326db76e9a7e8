"""Slot numbers of the compiled closed-form log densities (``CompiledLogDensity.kernel``).

A family names its slot in :meth:`~unicr.noises.base.ProductNoise.compiled_logq`;
:mod:`unicr.noises.numba_logq` branches on it.  The numbers are stable: numba caches the
kernels compiled for them.  Kept apart from both so that neither imports the other.
"""

from __future__ import annotations

__all__ = ["GAUSSIAN", "LAPLACE", "UNIFORM", "CAUCHY", "HSECANT", "GENNORM", "PARETO", "STUDENT",
           "LOGISTIC"]

GAUSSIAN, LAPLACE, UNIFORM, CAUCHY, HSECANT, GENNORM, PARETO, STUDENT, LOGISTIC = range(9)
