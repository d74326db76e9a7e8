"""Teng, Lee & Yuan 2020 -- Laplace l1.

Convention: ``lam`` is the Laplace scale (density exp(-|x|/lam) / (2 lam)); unicr's sigma is
``sqrt(2) * lam`` (docs/certificate-notes.md#c0-4).  UniCR's baseline writes the same radius with
``lam = sigma / sqrt(2)``.
"""

from __future__ import annotations

import math

from unicr.closed_form._common import abstains, check_positive, check_probabilities

__all__ = ["teng_l1"]


def teng_l1(pa: float, pb: float | None = None, lam: float = 1.0) -> float:
    """Teng et al. 2020: the Laplace l1 certificate.

    Binary: ``R = -lam * ln(2 (1 - pA))`` (tight; equals the 1-D Laplace quantile F^-1(pA),
    Yang et al.'s Exp1 k=1 / Expp p=1).  Two-sided:
    ``R = max{(lam/2) ln(pA/pB), -lam ln(1 - pA + pB)}`` (docs/certificate-notes.md#c2-1; reproduced
    from secondary descriptions of Teng et al.: each term is itself a sound l1 certificate --
    Lecuyer et al. 2019 and the sign-corrected Li et al. 2019 -- so the maximum is sound).

    Parameters
    ----------
    lam:
        Laplace scale (native), ``lam = sigma / sqrt(2)``.

    Status: binary **tight**; two-sided **lower bound**.  Returns 0.0 when abstaining.
    """
    a, b = check_probabilities(pa, pb)
    s = check_positive(lam, "lam")
    if abstains(a, b):
        return 0.0
    if b is None:
        # -ln(2(1 - pA)) = -(ln 2 + log1p(-pA))
        return max(0.0, -s * (math.log(2.0) + math.log1p(-a)))
    lecuyer = 0.5 * s * (math.log(a) - math.log(b))
    li = -s * math.log1p(b - a)
    return max(0.0, lecuyer, li)
