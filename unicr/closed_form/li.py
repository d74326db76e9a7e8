"""Li, Chen, Wang & Carin 2019 -- Renyi-divergence certificates (Gaussian l2, Laplace l1).

Conventions: ``sigma`` is the Gaussian standard deviation (= unicr sigma); ``lam`` is the
Laplace scale (unicr sigma = sqrt(2) lam).  Formulas as restated by Hayes 2020 (Eqs. 9-12,
Sec. 3.1) and docs/certificate-notes.md#c1-3, §2.3.
"""

from __future__ import annotations

import math

import numpy as np

from unicr.closed_form._common import (
    abstains,
    check_positive,
    check_probabilities,
    lncosh,
    round_down,
    runner_up,
)

__all__ = ["renyi_h", "li_renyi", "li_renyi_at", "li_l1", "li_l1_printed"]


def renyi_h(pa: float, pb: float, alpha: float | np.ndarray) -> np.ndarray:
    """Smallest order-alpha Renyi divergence between multinomials whose argmax differ.

    Li et al. 2019 (Hayes 2020 Eq. 10):
    ``h_alpha = -ln(1 - pA - pB + 2 (((pA^(1-alpha) + pB^(1-alpha)) / 2)^(1/(1-alpha))))``,
    and at ``alpha = 1`` its limit ``-ln(2 sqrt(pA pB) + 1 - pA - pB)`` (the KL bound, Hayes
    Eq. 15).

    Evaluated without overflow or cancellation: with s = pA + pB, y = (pA - pB)/s, t = 1 - alpha,
    ``ln(power mean / (s/2)) = (1/2) log1p(-y^2) + lncosh(t artanh y) / t`` and
    ``h = -log1p(s * expm1(that))``.
    """
    alpha = np.asarray(alpha, dtype=float)
    s = pa + pb
    y = (pa - pb) / s
    t = 1.0 - alpha
    if abs(y) < 0.5:
        base = 0.5 * math.log1p(-y * y)
        at = math.atanh(y)
    else:  # 1 - y^2 = 4 pA pB / s^2 and artanh(y) = ln(pA / pB) / 2, exact even when pB << pA
        base = 0.5 * (math.log(4.0) + math.log(pa) + math.log(pb)) - math.log(s)
        at = 0.5 * (math.log(pa) - math.log(pb))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.where(t != 0.0, lncosh(t * at) / np.where(t != 0.0, t, 1.0), 0.0)
    log_m = base + corr
    return -np.log1p(s * np.expm1(log_m))


def li_renyi_at(pa: float, pb: float | None, alpha: float | np.ndarray,
                sigma: float = 1.0) -> np.ndarray:
    """Li et al.'s l2 radius at a fixed order alpha > 1: ``sqrt(2 sigma^2 h_alpha / alpha)``.

    Hayes 2020 Eq. 11 (Gaussian Renyi divergence alpha ||delta||^2 / (2 sigma^2)).  Any
    alpha > 1 gives a valid certificate.  sigma: Gaussian std.
    """
    pb_eff = runner_up(pa, pb)
    alpha = np.asarray(alpha, dtype=float)
    h = np.maximum(renyi_h(pa, pb_eff, alpha), 0.0)
    return sigma * np.sqrt(2.0 * h / alpha)


def li_renyi(pa: float, pb: float | None = None, sigma: float = 1.0) -> float:
    """Li et al. 2019, Gaussian l2 via Renyi divergence, optimised over the order alpha > 1.

    ``R = sqrt(sup_{alpha > 1} -(2 sigma^2 / alpha) ln(1 - pA - pB +
    2 ((pA^(1-alpha) + pB^(1-alpha)) / 2)^(1/(1-alpha))))`` (Hayes 2020 Eq. 12,
    docs/certificate-notes.md#c1-3).  The search runs over ``u = ln(alpha - 1)`` in [-20, 10] (log space:
    a 97-point grid, alpha = 2 exactly, then Brent's bounded method around the best grid
    point); the returned value is the radius at an evaluated alpha, hence a certificate, and
    is rounded down.  It is >= the chi-square radius (alpha = 2) by construction.

    sigma: Gaussian std.  Status: **lower bound, loose** (below Cohen).
    Returns 0.0 when abstaining.
    """
    from scipy import optimize  # deferred: keeps `import unicr` light

    a, b = check_probabilities(pa, pb)
    s = check_positive(sigma, "sigma")
    if abstains(a, b):
        return 0.0
    grid_u = np.linspace(-20.0, 10.0, 97)
    alphas = np.concatenate([1.0 + np.exp(grid_u), [2.0]])
    vals = li_renyi_at(a, b, alphas, 1.0)
    i = int(np.argmax(vals[:-1]))
    best = float(np.max(vals))
    lo = grid_u[max(i - 1, 0)]
    hi = grid_u[min(i + 1, grid_u.size - 1)]
    res = optimize.minimize_scalar(
        lambda u: -float(li_renyi_at(a, b, 1.0 + math.exp(u), 1.0)),
        bounds=(lo, hi), method="bounded", options={"xatol": 1e-10},
    )
    best = max(best, float(li_renyi_at(a, b, 1.0 + math.exp(res.x), 1.0)))
    return round_down(s * best)


def li_l1(pa: float, pb: float | None = None, lam: float = 1.0) -> float:
    """Li et al. 2019, Laplace l1, sign-corrected: ``R = -lam ln(1 - pA + pB)``.

    docs/certificate-notes.md#c2-3 / docs/soundness-notes.md#s23.  lam: Laplace scale.  Two-sided; equals
    Teng et al.'s binary radius when pB = 1 - pA.  Status: **lower bound** (tight in the
    binary case).  Returns 0.0 when abstaining.
    """
    a, b = check_probabilities(pa, pb)
    s = check_positive(lam, "lam")
    if abstains(a, b):
        return 0.0
    return max(0.0, -s * math.log1p(runner_up(a, b) - a))


def li_l1_printed(pa: float, pb: float | None = None, lam: float = 1.0) -> float:
    """Li et al.'s l1 radius **as printed by Hayes 2020** (Sec. 3.1): ``lam log(1 - pA + pB)``.

    Erratum (docs/soundness-notes.md#s23): the printed value is **negative** whenever pA > pB -- a sign
    error; it is returned unchanged (the only function of this library that may return a
    negative number) so that the erratum can be reported.  As a radius it certifies nothing
    (read as 0 it is vacuous but sound: the registry reports status "lower", value 0); use
    :func:`li_l1`.  Returns 0.0 when abstaining.
    """
    a, b = check_probabilities(pa, pb)
    s = check_positive(lam, "lam")
    if abstains(a, b):
        return 0.0
    return s * math.log1p(runner_up(a, b) - a)
