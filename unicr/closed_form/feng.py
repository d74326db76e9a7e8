"""Feng, Wu, Chen, Zhang & Ning 2020 -- two-sided Gaussian certificates (T-CERTIFY, fixed alpha').

The radius is Cohen's two-sided ``(sigma/2)(Phi^-1(pA) - Phi^-1(pB))`` with pA bounded at level
alpha' and pB at level alpha - alpha' (Eq. 14; Proposition 1).  sigma: Gaussian std (= unicr
sigma).  docs/certificate-notes.md#c10-3, ALGORITHMS.md §3.1, docs/soundness-notes.md#s3 (to S4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from unicr.closed_form.cohen import cohen_l2
from unicr.stats import two_sided_bounds

__all__ = ["feng_two_sided", "FengCertificate", "feng_certify"]


def feng_two_sided(pa: float, pb: float | None = None, sigma: float = 1.0) -> float:
    """Feng et al. 2020 Proposition 1: ``R = (sigma/2)(Phi^-1(pA) - Phi^-1(pB))``.

    Cohen's two-sided radius (docs/certificate-notes.md#c1-1) evaluated at Eq. 14's bounds; with
    ``pb=None`` it is CERTIFY's binary radius (Feng's alpha' = alpha case).  sigma: Gaussian
    std.  Status: **tight** in (pA, pB).  Returns 0.0 when abstaining.
    """
    return cohen_l2(pa, pb, sigma)


@dataclass(frozen=True)
class FengCertificate:
    """Result of :func:`feng_certify`: the bounds, the radius and the alpha split."""

    pa_lower: float
    pb_upper: float
    radius: float
    abstain: bool
    alpha: float
    alpha_a: float
    runner_up: str


def feng_certify(counts: Sequence[int] | np.ndarray, top: int | None = None, sigma: float = 1.0,
                 alpha: float = 0.001, alpha_a: float | None = None,
                 runner_up: str = "generalized") -> FengCertificate:
    """Feng et al. 2020 T-CERTIFY at one **pre-fixed** alpha' (Algorithm 2, Eq. 14).

    pA: Clopper-Pearson at level alpha' (= ``alpha_a``, default alpha/2); pB: Eq. 14's
    generalized Clopper-Pearson bound at level alpha - alpha' (``runner_up="generalized"``, as
    published) or the plain Clopper-Pearson bound on the largest non-top count
    (``runner_up="plain"``: valid and never larger, docs/soundness-notes.md#s3).  As in the paper the
    result abstains unless pA > 1/2 and the radius is > 0.  ``counts`` must come from a sample
    independent of the one that chose ``top`` (S1).  A maximum over a grid of alpha' is not
    covered by Proposition 1 (S4) and is deliberately not offered here.
    """
    pa, pb = two_sided_bounds(counts, top=top, alpha=alpha, alpha_a=alpha_a, runner_up=runner_up)
    a_a = alpha / 2.0 if alpha_a is None else float(alpha_a)
    if pa <= 0.5 or pa <= pb:
        return FengCertificate(pa, pb, 0.0, True, float(alpha), a_a, runner_up)
    r = cohen_l2(pa, pb, sigma)
    return FengCertificate(pa, pb, r, not r > 0, float(alpha), a_a, runner_up)
