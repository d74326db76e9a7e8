"""Compiled per-coordinate log-ratio sums for the closed-form i.i.d. families.

For i.i.d. noise the loss along ``lam * v`` is ``sum_j [log q((eps_j - lam v_j)/s) -
log q(eps_j/s)]`` (Hong et al. 2022, Eqs. 26-29, in log space).  The numpy path evaluates the
family's ``logpdf`` on temporaries; here one numba loop evaluates the *unnormalised*
standardised log-density of the family for many scales at once (normalising constants cancel
in the difference).  Each kernel is cross-checked against ``noise.logpdf`` when a bank is built
(:func:`kernel_for`); any mismatch falls back to the numpy path, so the kernels can never
change what is certified -- only how fast.

The formulas are declared by the families themselves (``logq_scalar`` of each class in
:mod:`unicr.noises.families`, reached through
:meth:`~unicr.noises.base.ProductNoise.compiled_logq`); :mod:`unicr.noises.numba_logq` jits
them behind one switch on the family's slot (``code``), which these loops take with the shape
parameter ``p1``.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from unicr.noises.numba_logq import (  # noqa: F401 - LAPLACE, UNIFORM: read by banks.py
    LAPLACE,
    UNIFORM,
    has_ratio_term,
    logq,
    logq_array,
    ratio_term,
)

__all__ = ["kernel_for", "product_losses", "uniform_row_thresholds"]

_RATIO_MAX = 1e4  # |z|, |a| up to which the one-logarithm form is used (Cauchy, Student)


@numba.njit(cache=True)
def _accumulate_one(e: np.ndarray, vals: np.ndarray, lam: float, inv_s: float, code: int,
                    p1: float, out: np.ndarray, r0: int, mag: np.ndarray, ratio: bool) -> None:
    """X-losses at one scale: ``out[r0 + r] += sum_j logq((e[r,j] - lam vals[j]) / s) -
    logq(e[r,j] / s)``, ``mag[r0 + r] +=`` the terms' magnitudes; scalar accumulators per
    row (sequential sums of k terms, the order the rounding bound assumes)."""
    rows, k = e.shape
    if vals.shape[0] < k or r0 < 0 or r0 + rows > out.shape[0] or r0 + rows > mag.shape[0]:
        raise ValueError("_accumulate_one: vals shorter than the block, or rows outside out/mag")
    for r in range(rows):
        acc = 0.0
        g = 0.0
        for j in range(k):
            x = float(e[r, j])
            if ratio:
                z = x * inv_s
                a = lam * vals[j] * inv_s
                if abs(z) <= _RATIO_MAX and abs(a) <= _RATIO_MAX:
                    tm, gm, ok = ratio_term(code, z, a, p1)
                    if ok:
                        acc += tm
                        g += gm
                        continue
            base = logq(code, x * inv_s, p1)
            q = logq(code, (x - lam * vals[j]) * inv_s, p1)
            acc += q - base
            g += abs(base) + (abs(q) if q > -np.inf else 0.0)
        out[r0 + r] += acc
        mag[r0 + r] += g


@numba.njit(cache=True)
def _accumulate(e: np.ndarray, vals: np.ndarray, lams: np.ndarray, inv_s: float, code: int,
                p1: float, out: np.ndarray, r0: int, with_y: bool, out_y: np.ndarray,
                mag: np.ndarray) -> None:
    """``out[t, r0 + r] += sum_j logq((e[r,j] - lams[t] vals[j]) / s) - logq(e[r,j] / s)``.

    With ``with_y`` also the Y-losses ``sum_j logq(e/s) - logq((e + lams[t] vals[j]) / s)``;
    ``mag`` accumulates the sum of the terms' magnitudes (for the rounding bound).  Row sums
    run in local accumulators (sequential sums of k terms, the order the rounding bound
    assumes).  Without Y-losses the scales are processed one at a time with scalar
    accumulators (:func:`_accumulate_one`: faster than sharing ``logq(z)`` across scales),
    and Cauchy and Student t use one logarithm per term (their ``logq_ratio_scalar``) while
    ``|z|, |a| <= 1e4``.
    """
    rows, k = e.shape
    m = lams.shape[0]
    if vals.shape[0] < k or r0 < 0 or out.shape[0] < m or mag.shape[0] < m \
            or r0 + rows > out.shape[1] or r0 + rows > mag.shape[1]:
        raise ValueError("_accumulate: vals shorter than the block, or rows outside out/mag")
    if with_y and (out_y.shape[0] < m or r0 + rows > out_y.shape[1]):
        raise ValueError("_accumulate: rows outside out_y")
    if not with_y:
        ratio = has_ratio_term(code)
        for t in range(m):
            _accumulate_one(e, vals, lams[t], inv_s, code, p1, out[t], r0, mag[t], ratio)
        return
    acc_x = np.zeros(m)
    acc_y = np.zeros(m)
    acc_g = np.zeros(m)
    for r in range(rows):
        for t in range(m):
            acc_x[t] = 0.0
            acc_y[t] = 0.0
            acc_g[t] = 0.0
        for j in range(k):
            x = float(e[r, j])
            base = logq(code, x * inv_s, p1)
            v = vals[j]
            for t in range(m):
                a = lams[t] * v
                q = logq(code, (x - a) * inv_s, p1)
                q2 = logq(code, (x + a) * inv_s, p1)
                acc_x[t] += q - base
                acc_y[t] += base - q2
                acc_g[t] += (abs(base) + (abs(q) if q > -np.inf else 0.0)
                             + (abs(q2) if q2 > -np.inf else 0.0))
        for t in range(m):
            out[t, r0 + r] += acc_x[t]
            mag[t, r0 + r] += acc_g[t]
            out_y[t, r0 + r] += acc_y[t]


def kernel_for(noise: Any) -> tuple[int, float] | None:
    """``(code, p1)`` of a compiled kernel reproducing ``noise.logpdf`` differences, or None.

    ``code`` and ``p1`` come from the family's :meth:`~unicr.noises.base.ProductNoise.compiled_logq`
    (None: no compiled form).  The check compares ``logpdf(x) - logpdf(0)`` with the kernel's
    unnormalised form at points of the support from the centre to far in the tails (relative
    tolerance 1e-9).
    """
    compiled_logq = getattr(noise, "compiled_logq", None)
    fam = compiled_logq() if compiled_logq is not None else None
    if fam is None:
        return None
    code, p1 = fam.kernel, fam.p1
    s = float(noise.scale)
    z = check_points(noise)
    ref = np.asarray(noise.logpdf(z * s), dtype=np.float64) - float(noise.logpdf(np.array(0.0)))
    mine = logq_array(code, z, p1) - logq(code, 0.0, p1)
    with np.errstate(invalid="ignore"):
        both_inf = (ref == mine) & np.isinf(ref)
        ok = both_inf | (np.abs(ref - mine) <= 1e-9 * (1.0 + np.abs(ref)))
    return (code, p1) if bool(np.all(ok)) else None


def check_points(noise: Any) -> np.ndarray:
    """Standardised points at which a compiled log-density is cross-checked against ``logpdf``:
    from the centre to far in the tails, restricted to the support ``noise.support1``."""
    z = np.array([0.0, 1e-3, 0.1, -0.3, 0.5, -0.999, 1.0, 1.7, -2.5, 7.0, -30.0, 400.0, 1e5,
                  -1e9, 1e200])
    lo, hi = noise.support1
    return z[(z >= lo) & (z <= hi)]


def product_losses(e: np.ndarray, vals: np.ndarray, lams: np.ndarray, scale: float,
                   kernel: tuple[int, float], out: np.ndarray, r0: int,
                   out_y: np.ndarray | None, mag: np.ndarray) -> None:
    """Accumulate the X- (and Y-) losses of one block of draws into ``out`` (rows from r0),
    and the magnitudes of the summed terms into ``mag``."""
    code, p1 = kernel
    with_y = out_y is not None
    _accumulate(e, np.ascontiguousarray(vals, dtype=np.float64),
                np.ascontiguousarray(lams, dtype=np.float64), 1.0 / scale, code, p1, out, r0,
                with_y, out_y if with_y else out, mag)


@numba.njit(cache=True)
def uniform_row_thresholds(e: np.ndarray, vals: np.ndarray, b: float, t_row: np.ndarray,
                           r0: int) -> None:
    """``t_row[r0 + r] = min(t_row[r0 + r], min_j (b + sign(v_j) e[r, j]) / |v_j|)`` over
    ``v_j != 0`` (uniform noise on ``[-b, b]``: the largest ``lam`` with ``|e - lam v| <= b``)."""
    rows, k = e.shape
    if vals.shape[0] < k or r0 < 0 or r0 + rows > t_row.shape[0]:
        raise ValueError("uniform_row_thresholds: vals shorter than the block, or rows outside "
                         "t_row")
    for r in range(rows):
        t = t_row[r0 + r]
        for j in range(k):
            v = vals[j]
            if v > 0.0:
                c = (b + float(e[r, j])) / v
            elif v < 0.0:
                c = (b - float(e[r, j])) / (-v)
            else:
                continue
            if c < t:
                t = c
        t_row[r0 + r] = t
