"""Confidence bounds on class probabilities and the statistical tests of smoothing.

* One-sided Clopper-Pearson bounds at level alpha each (docs/certificate-notes.md#c10-1,
docs/soundness-notes.md
  S2): computed directly from Beta quantiles, not as the end of a two-sided interval.
* Feng et al. 2020 Eq. 14: the "generalized Clopper-Pearson" upper bound on the runner-up
  probability, by bisection rounded up (the safe side), and the plain Clopper-Pearson bound
  on the largest non-top count, which is valid and never larger (§10.3, S3).
* Cohen et al. 2019's PREDICT binomial test (two-sided, via :func:`scipy.stats.binomtest`).
* Radius ceilings: with n draws the largest possible lower bound is alpha^(1/n) (§10.6, S31).

Every function validates its inputs and raises :class:`~unicr.errors.InvalidParameterError`
naming the bad argument.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import special

from unicr.errors import InvalidParameterError

__all__ = [
    "clopper_pearson_lower",
    "clopper_pearson_upper",
    "generalized_cp_upper",
    "cp_runner_up_upper",
    "two_sided_bounds",
    "predict",
    "pa_ceiling",
    "radius_ceiling",
]


def _alpha(alpha: Any, name: str = "alpha") -> float:
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{name} must be a number in (0, 1), got {alpha!r}") from None
    if not (0.0 < a < 1.0):
        raise InvalidParameterError(f"{name} must lie strictly between 0 and 1, got {alpha!r}")
    return a


def _counts(k: Any, n: Any) -> tuple[np.ndarray, int]:
    try:
        n_i = int(n)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"n must be a positive integer, got {n!r}") from None
    if n_i != n or n_i < 1:
        raise InvalidParameterError(f"n must be a positive integer, got {n!r}")
    k_arr = np.asarray(k)
    if k_arr.dtype.kind not in "iuf" or not np.all(np.isfinite(k_arr)):
        raise InvalidParameterError(f"counts must be integers, got {k!r}")
    if np.any(k_arr != np.round(k_arr)):
        raise InvalidParameterError(f"counts must be whole numbers, got {k!r}")
    if np.any(k_arr < 0) or np.any(k_arr > n_i):
        raise InvalidParameterError(f"counts must lie in [0, n={n_i}], got {k!r}")
    return k_arr.astype(np.int64), n_i


def _out(x: np.ndarray, like: Any) -> Any:
    return float(x) if np.ndim(like) == 0 else x


def clopper_pearson_lower(k: Any, n: int, alpha: float = 0.001) -> Any:
    """One-sided (1 - alpha) Clopper-Pearson lower bound on a binomial proportion.

    ``B^-1_{k, n-k+1}(alpha)``; 0 at k = 0; ``alpha^(1/n)`` (computed as exp(ln(alpha)/n)) at
    k = n (docs/certificate-notes.md#c10-1).  ``k`` may be an array of counts.
    """
    a = _alpha(alpha)
    kk, nn = _counts(k, n)
    with np.errstate(invalid="ignore"):
        val = special.betaincinv(np.maximum(kk, 1), nn - kk + 1, a)
    val = np.where(kk == 0, 0.0, val)
    val = np.where(kk == nn, math.exp(math.log(a) / nn), val)
    return _out(val, k)


def clopper_pearson_upper(k: Any, n: int, alpha: float = 0.001) -> Any:
    """One-sided (1 - alpha) Clopper-Pearson upper bound: ``B^-1_{k+1, n-k}(1 - alpha)``;
    1 at k = n; ``1 - alpha^(1/n)`` at k = 0 (docs/certificate-notes.md#c10-1)."""
    a = _alpha(alpha)
    kk, nn = _counts(k, n)
    with np.errstate(invalid="ignore"):
        # B^-1_{k+1, n-k}(1 - alpha) solved as the complemented inverse at alpha (no 1 - alpha
        # rounding); SciPy < 1.11 lacks betainccinv: use the symmetry 1 - B^-1_{n-k, k+1}(alpha)
        if hasattr(special, "betainccinv"):
            val = special.betainccinv(kk + 1, np.maximum(nn - kk, 1), a)
        else:  # pragma: no cover - old SciPy
            val = 1.0 - special.betaincinv(np.maximum(nn - kk, 1), kk + 1, a)
        val = np.where(kk == 0, -math.expm1(math.log(a) / nn), val)
    val = np.where(kk == nn, 1.0, val)
    return _out(val, k)


def _runner_up_counts(counts: Sequence[int] | np.ndarray, n: int) -> tuple[np.ndarray, int]:
    c, nn = _counts(counts, n)
    c = np.atleast_1d(c)
    if c.ndim != 1 or c.size == 0:
        raise InvalidParameterError(
            "runner-up counts must be a non-empty 1-D list (one count per non-top class), "
            f"got {counts!r}"
        )
    if int(c.sum()) > nn:
        raise InvalidParameterError(f"runner-up counts sum to {int(c.sum())} > n = {nn}")
    return c, nn


def generalized_cp_upper(counts: Sequence[int] | np.ndarray, n: int, alpha: float = 0.001,
                         tol: float = 1e-14) -> float:
    """Feng et al. 2020 Eq. 14: ``inf{p : sum_j P(Bin(n, p) <= N_j) <= alpha}``.

    ``counts`` are the counts N_j of **every** non-top class, zero counts included (each
    contributes (1 - p)^n).  The sum is continuous and decreasing in p; bisection keeps the
    upper end verified (sum <= alpha) and returns it -- rounded up, the safe side for an upper
    bound (docs/soundness-notes.md#s34).  With a single runner-up class it equals
    :func:`clopper_pearson_upper`.  It is never below :func:`cp_runner_up_upper`.
    """
    from scipy import stats

    a = _alpha(alpha)
    c, nn = _runner_up_counts(counts, n)

    def total(p: float) -> float:
        return float(np.sum(stats.binom.cdf(c, nn, p)))

    lo, hi = 0.0, 1.0
    if total(hi) > a:  # only when some count equals n (then every p fails): bound is 1
        return 1.0
    # start from the plain bound on the largest count, which is never above the answer
    start = float(clopper_pearson_upper(int(c.max()), nn, a))
    if total(start) > a:
        lo = start
    else:  # one runner-up class: Eq. 14 is the plain bound (up to rounding)
        hi = start
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if total(mid) <= a:
            hi = mid
        else:
            lo = mid
    return hi


def cp_runner_up_upper(counts: Sequence[int] | np.ndarray, n: int, alpha: float = 0.001) -> float:
    """Plain Clopper-Pearson upper bound on the largest non-top count (docs/certificate-notes.md#c10-3):
    ``B^-1_{N_max+1, n-N_max}(1 - alpha)``.  Valid (docs/soundness-notes.md#s3) and never larger than
    Feng et al.'s Eq. 14 bound."""
    a = _alpha(alpha)
    c, nn = _runner_up_counts(counts, n)
    return float(clopper_pearson_upper(int(c.max()), nn, a))


def two_sided_bounds(counts: Sequence[int] | np.ndarray, top: int | None = None,
                     alpha: float = 0.001, alpha_a: float | None = None,
                     runner_up: str = "plain") -> tuple[float, float]:
    """(pA lower, pB upper) from one sample of class counts, Feng et al. 2020 Eq. 14.

    pA is bounded at level ``alpha_a`` (default alpha / 2) and pB at level
    ``alpha - alpha_a`` (union bound: total alpha, docs/soundness-notes.md#s3).  ``runner_up`` chooses
    "plain" (Clopper-Pearson on the largest non-top count, the default: valid and tighter) or
    "generalized" (Feng's Eq. 14).  ``top`` is the class selected **on an independent sample**
    (Cohen's n0; S1); by default the argmax of ``counts`` -- only valid when the counts were not
    used to select it.  At alpha_a = alpha Eq. 14 degenerates (pB = 1); use the binary form
    pB = 1 - pA there instead.
    """
    c = np.asarray(counts)
    if c.ndim != 1 or c.size < 2:
        raise InvalidParameterError(f"counts must list at least two classes, got {counts!r}")
    n = int(np.sum(c))
    a = _alpha(alpha)
    a_a = a / 2.0 if alpha_a is None else _alpha(alpha_a, "alpha_a")
    if not a_a < a:
        raise InvalidParameterError(
            f"alpha_a must be < alpha (the rest bounds pB), got alpha_a={alpha_a!r}, "
            f"alpha={alpha!r}"
        )
    t = int(np.argmax(c)) if top is None else int(top)
    if not (0 <= t < c.size):
        raise InvalidParameterError(f"top class index {top!r} is outside 0..{c.size - 1}")
    rest = np.delete(c, t)
    pa = float(clopper_pearson_lower(int(c[t]), n, a_a))
    if runner_up == "plain":
        pb = cp_runner_up_upper(rest, n, a - a_a)
    elif runner_up == "generalized":
        pb = generalized_cp_upper(rest, n, a - a_a)
    else:
        raise InvalidParameterError(
            f"runner_up must be 'plain' or 'generalized', got {runner_up!r}"
        )
    return pa, pb


def predict(counts: Sequence[int] | np.ndarray, alpha: float = 0.001) -> int | None:
    """Cohen et al. 2019 PREDICT: the top class if the two-sided binomial test of its count
    n_A against n_A + n_B (runner-up) at p = 1/2 has p-value <= alpha, else ``None`` (ABSTAIN).

    Returns a class other than g(x) with probability <= alpha (ALGORITHMS.md §1.2).  Uses
    :func:`scipy.stats.binomtest` (``binom_test`` was removed in SciPy 1.12).
    """
    from scipy import stats

    a = _alpha(alpha)
    c = np.asarray(counts)
    if c.ndim != 1 or c.size < 2:
        raise InvalidParameterError(f"counts must list at least two classes, got {counts!r}")
    c, _ = _counts(c, max(int(np.sum(c)), 1))
    order = np.argsort(-c, kind="stable")
    n_a, n_b = int(c[order[0]]), int(c[order[1]])
    if n_a + n_b == 0:
        return None
    pval = stats.binomtest(n_a, n_a + n_b, 0.5).pvalue
    return int(order[0]) if pval <= a else None


def pa_ceiling(n: int, alpha: float = 0.001) -> float:
    """Largest possible Clopper-Pearson lower bound with n draws: ``alpha^(1/n)`` (all draws on
    the top class; docs/certificate-notes.md#c10-6)."""
    a = _alpha(alpha)
    _, nn = _counts(0, n)
    return math.exp(math.log(a) / nn)


def radius_ceiling(n: int, alpha: float = 0.001,
                   formula: Callable[[float], float] | None = None, sigma: float = 1.0) -> float:
    """Largest binary radius any certificate can print with n draws: ``R(alpha^(1/n))``.

    ``formula`` maps pA to a radius; by default Cohen's Gaussian l2 ``sigma Phi^-1(pA)``,
    computed as ``-sigma Phi^-1(1 - alpha^(1/n))`` for accuracy.  At alpha = 0.001:
    n = 1e3 -> 2.4633 sigma, 1e4 -> 3.1986 sigma, 1e5 -> 3.8115 sigma (§10.6, S31).
    """
    a = _alpha(alpha)
    _, nn = _counts(0, n)
    if formula is not None:
        return float(formula(pa_ceiling(nn, a)))
    s = float(sigma)
    if not (math.isfinite(s) and s > 0):
        raise InvalidParameterError(f"sigma must be finite and > 0, got {sigma!r}")
    return -s * float(special.ndtri(-math.expm1(math.log(a) / nn)))
