"""Kumar, Levine, Goldstein & Feizi 2020, *Curse of Dimensionality on Randomized Smoothing*.

Upper bounds on any l_p (p > 2) certificate that uses only pA, for i.i.d. noise whose
per-coordinate standard deviation is ``sigma`` (= unicr sigma).  These are never certificates:
they are ``upper`` values for property tests and verdicts (docs/certificate-notes.md#c11).
"""

from __future__ import annotations

import math

from unicr.certificate import parse_norm
from unicr.closed_form._common import check_dimension, check_positive, check_probabilities
from unicr.errors import InvalidParameterError

__all__ = ["kumar_upper_iid", "kumar_upper_gennorm"]


def _setup(pa: float, sigma: float, d: int, p: float | str) -> tuple[float, float, float]:
    a, _ = check_probabilities(pa, None)
    s = check_positive(sigma, "sigma")
    dim = check_dimension(d)
    pv = parse_norm(p)
    if not pv > 2:
        raise InvalidParameterError(
            f"Kumar et al.'s upper bounds are for l_p with p > 2, got p={p!r}"
        )
    exponent = 0.5 - (0.0 if math.isinf(pv) else 1.0 / pv)
    return a, s, dim**exponent


def kumar_upper_iid(pa: float, sigma: float = 1.0, d: int = 1, p: float | str = "inf") -> float:
    """Kumar et al. 2020 (as implemented in their code), any i.i.d. noise of std sigma:
    ``R_p <= sigma / (sqrt(2 (1 - pA)) d^(1/2 - 1/p))`` for p > 2 (p = inf: exponent 1/2).

    Status: **upper bound** (no certificate from pA alone can exceed it).  Valid for every pA
    (binary); no abstention rule applies to an upper bound.
    """
    a, s, scale = _setup(pa, sigma, d, p)
    return s / (math.sqrt(2.0 * (1.0 - a)) * scale)


def kumar_upper_gennorm(pa: float, sigma: float = 1.0, d: int = 1, p: float | str = "inf") -> float:
    """Kumar et al. 2020 (as implemented in their code), generalized Gaussian noise of std sigma:
    ``R_p <= 2 sigma sqrt(ln(1 / (1 - pA))) / d^(1/2 - 1/p)`` for p > 2.

    Status: **upper bound**.
    """
    a, s, scale = _setup(pa, sigma, d, p)
    return 2.0 * s * math.sqrt(-math.log1p(-a)) / scale
