"""Cohen, Rosenfeld & Kolter 2019 -- Gaussian l2 (Neyman-Pearson), and its l_inf conversion.

Convention: sigma is the Gaussian standard deviation, i.e. unicr's sigma (per-coordinate RMS)
and the native scale of :class:`unicr.noises.families.Gaussian` (docs/certificate-notes.md#c0-3).
"""

from __future__ import annotations

import math

from scipy import special

from unicr.closed_form._common import (
    abstains,
    check_dimension,
    check_positive,
    check_probabilities,
    round_down,
)

__all__ = ["cohen_l2", "gaussian_linf_conversion"]


def cohen_l2(pa: float, pb: float | None = None, sigma: float = 1.0) -> float:
    """Cohen et al. 2019, Theorem 1: the tight Gaussian l2 radius.

    Binary (``pb=None``): ``R = sigma * Phi^-1(pA)``; two-sided:
    ``R = (sigma / 2) * (Phi^-1(pA) - Phi^-1(pB))`` (docs/certificate-notes.md#c1-1).

    Parameters
    ----------
    pa, pb:
        lower bound on the top-class probability and upper bound on the runner-up's.
    sigma:
        standard deviation of N(0, sigma^2 I) (= unicr sigma = native scale).

    Status: **tight** (Cohen et al. Theorem 2: a half-space classifier attains it).
    Returns 0.0 when abstaining (binary pA <= 1/2, two-sided pA <= pB).
    """
    a, b = check_probabilities(pa, pb)
    s = check_positive(sigma, "sigma")
    if abstains(a, b):
        return 0.0
    if b is None:
        return s * float(special.ndtri(a))
    return max(0.0, 0.5 * s * (float(special.ndtri(a)) - float(special.ndtri(b))))


def gaussian_linf_conversion(pa: float, pb: float | None = None, sigma: float = 1.0,
                             d: int = 1) -> float:
    """Gaussian l_inf radius by norm conversion: Cohen's l2 radius / sqrt(d).

    docs/certificate-notes.md#c1-1 and §0.6 (||x||_2 <= sqrt(d) ||x||_inf); used by Yang et al. 2020
    and as UniCR's "Yang's Gaussian l_inf" baseline ``sigma * Phi^-1(pA) / sqrt(d)``.
    sigma: Gaussian standard deviation.  Status: **lower bound** (loose).
    """
    r2 = cohen_l2(pa, pb, sigma)
    dim = check_dimension(d)
    return round_down(r2 / math.sqrt(dim)) if dim > 1 else r2
