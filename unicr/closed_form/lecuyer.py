"""Lecuyer, Atlidakis, Geambasu, Hsu & Jana 2019 (PixelDP), as printed by Hayes 2020.

Gaussian mechanism (l2): ``sigma`` is the Gaussian standard deviation (= unicr sigma).
Laplace mechanism (l1): ``lam`` is the Laplace scale (unicr sigma = sqrt(2) lam).
Both are two-sided; the binary form uses pB = 1 - pA.
"""

from __future__ import annotations

import math

import numpy as np

from unicr.closed_form._common import (
    abstains,
    check_positive,
    check_probabilities,
    round_down,
    runner_up,
)

__all__ = ["pixeldp_gaussian", "pixeldp_laplace", "pixeldp_gaussian_objective"]

_LOG_125 = math.log(1.25)


def pixeldp_gaussian_objective(beta: float | np.ndarray, pa: float, pb: float,
                               sigma: float = 1.0) -> np.ndarray:
    """The PixelDP Gaussian-mechanism radius at a fixed DP budget ``beta`` (log-space evaluation).

    ``sigma * beta / sqrt(2 ln(1.25 (1 + e^beta) / (pA - e^(2 beta) pB)))`` for
    ``0 < beta < (1/2) ln(pA/pB)``, and 0 outside (docs/certificate-notes.md#c1-2, Hayes 2020 Sec. 2).
    Any admissible beta gives a valid (loose) certificate.
    """
    beta = np.asarray(beta, dtype=float)
    lpa, lpb = math.log(pa), math.log(pb)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # pA - e^{2 beta} pB = pA * (-expm1(2 beta + ln pB - ln pA))
        gap = -np.expm1(2.0 * beta + lpb - lpa)
        log_l = _LOG_125 + np.logaddexp(0.0, beta) - lpa - np.log(gap)
        val = sigma * beta / np.sqrt(2.0 * log_l)
    ok = (beta > 0) & (gap > 0) & np.isfinite(val) & (log_l > 0)
    return np.where(ok, val, 0.0)


def pixeldp_gaussian(pa: float, pb: float | None = None, sigma: float = 1.0) -> float:
    """Lecuyer et al. 2019, Gaussian mechanism, l2 (Hayes 2020's statement, docs/certificate-notes.md#c1-2).

    ``R = sup_{0 < beta <= min(1, (1/2) ln(pA/pB))} sigma beta /
    sqrt(2 ln(1.25 (1 + e^beta) / (pA - e^(2 beta) pB)))``.

    The supremum is found by bounded maximisation (a 64-point grid, then Brent's bounded
    method around the best grid point); the value returned is the objective evaluated at an
    admissible beta, hence itself a certificate, rounded down.  sigma: Gaussian std.

    Status: **lower bound, loose** (well below Cohen's radius).  Returns 0.0 when abstaining.
    """
    from scipy import optimize  # deferred: keeps `import unicr` light

    a, b = check_probabilities(pa, pb)
    s = check_positive(sigma, "sigma")
    if abstains(a, b):
        return 0.0
    pb_eff = runner_up(a, b)
    beta_max = min(1.0, 0.5 * (math.log(a) - math.log(pb_eff)))
    if not beta_max > 0:
        return 0.0
    grid = beta_max * np.linspace(1.0 / 64, 1.0, 64)
    vals = pixeldp_gaussian_objective(grid, a, pb_eff, 1.0)
    i = int(np.argmax(vals))
    lo = grid[i - 1] if i > 0 else 0.0
    hi = grid[i + 1] if i + 1 < grid.size else beta_max
    best = float(vals[i])
    if hi > lo:
        res = optimize.minimize_scalar(
            lambda x: -float(pixeldp_gaussian_objective(x, a, pb_eff, 1.0)),
            bounds=(lo, hi), method="bounded", options={"xatol": 1e-12 * beta_max},
        )
        best = max(best, float(pixeldp_gaussian_objective(res.x, a, pb_eff, 1.0)))
    return round_down(s * best)


def pixeldp_laplace(pa: float, pb: float | None = None, lam: float = 1.0) -> float:
    """Lecuyer et al. 2019, Laplace mechanism (pure DP), l1: ``R = (lam/2) ln(pA/pB)``.

    docs/certificate-notes.md#c2-2 (as printed by Hayes 2020).  A shift r makes the Laplace mechanism
    (r/lam)-DP, so robustness holds while e^(-r/lam) pA > e^(r/lam) pB.
    lam: Laplace scale (unicr sigma = sqrt(2) lam).  Status: **lower bound, loose**.
    Returns 0.0 when abstaining.
    """
    a, b = check_probabilities(pa, pb)
    s = check_positive(lam, "lam")
    if abstains(a, b):
        return 0.0
    pb_eff = runner_up(a, b)
    return max(0.0, 0.5 * s * (math.log(a) - math.log(pb_eff)))
