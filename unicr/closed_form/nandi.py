"""Nandi, Addepalli, Rangwani & Babu 2023 -- uniform l1 certificate and norm conversions.

Convention: Nandi et al.'s uniform "sigma" is the **standard deviation** of U(-sqrt(3) sigma,
sqrt(3) sigma) (= unicr sigma); their code computes 2 sigma (pA - 1/2) sqrt(3)
(docs/certificate-notes.md#c3-1, §3.3, §12).
"""

from __future__ import annotations

import math

from unicr.closed_form._common import check_dimension, check_positive, round_down
from unicr.closed_form.yang import yang_uniform_l1

__all__ = ["nandi_uniform_l1", "nandi_uniform_l2"]


def nandi_uniform_l1(pa: float, sigma: float = 1.0) -> float:
    """Nandi et al. 2023 uniform l1 radius ``R = 2 sqrt(3) sigma (pA - 1/2)`` (binary).

    Identical to Yang et al.'s 2 lam (pA - 1/2) with half-width lam = sqrt(3) sigma.
    sigma: standard deviation of the uniform.  Status: **tight**.  Ceiling at n = 1e5,
    alpha = 0.001: 1.7318 sigma (docs/certificate-notes.md#c3-1).  Returns 0.0 when abstaining.
    """
    s = check_positive(sigma, "sigma")
    return yang_uniform_l1(pa, math.sqrt(3.0) * s)


def nandi_uniform_l2(pa: float, sigma: float = 1.0, d: int = 3072) -> float:
    """Nandi et al. 2023 uniform l2 radius by norm conversion: ``R_2 = R_1 / sqrt(d)``.

    docs/certificate-notes.md#c3-3 / §0.6 (their code hard-codes d = 3072).  sigma: uniform std.
    Status: **lower bound** (very small in high d).
    """
    dim = check_dimension(d)
    r1 = nandi_uniform_l1(pa, sigma)
    return round_down(r1 / math.sqrt(dim)) if dim > 1 else r1
