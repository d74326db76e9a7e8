"""Shared helpers of the closed-form library: input checks, abstention, safe-side numerics.

Conventions used by every module of :mod:`unicr.closed_form`:

* ``pa`` is (a lower confidence bound on) the top-class probability, ``pb`` (an upper bound
  on) the runner-up's.  ``pb=None`` is the binary form, ``pB := 1 - pA``
  (docs/certificate-notes.md#c0-5).
* A pure formula returns a ``float >= 0``.  When the formula abstains -- binary ``pA <= 1/2``
  or two-sided ``pA <= pB`` -- it returns ``0.0``; :func:`abstains` tells ABSTAIN from a
  certificate of radius 0 and :meth:`unicr.closed_form.Formula.evaluate` reports it as a flag
  (docs/concepts.md habit 7).  No formula ever returns NaN or a negative radius, except the
  documented erratum :func:`unicr.closed_form.li.li_l1_printed`, which reproduces a sign error.
* Numerically solved quantities are rounded to the safe side (docs/soundness-notes.md#s34).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from unicr.certificate import parse_norm, validate_probabilities
from unicr.checks import check_dimension, check_positive  # noqa: F401  (re-exported)
from unicr.errors import ConvergenceError, InvalidParameterError

__all__ = [
    "STATUSES",
    "SAFETY",
    "check_probabilities",
    "abstains",
    "runner_up",
    "check_positive",
    "check_dimension",
    "round_down",
    "norm_conversion_factor",
    "convert_radius",
    "differential_radius",
    "lncosh",
]

#: status vocabulary (docs/certificate-notes.md#c0-1, plus Hayes' intersection certificates)
STATUSES = ("tight", "lower", "upper", "unsound-as-printed", "estimate", "intersection")

#: relative amount by which numerically solved lower bounds are rounded down
SAFETY = 1e-12


def check_probabilities(pa: float, pb: float | None = None) -> tuple[float, float | None]:
    """Validate ``pa`` (and ``pb``) as probabilities in (0, 1) with ``pa + pb <= 1``."""
    return validate_probabilities(pa, pb)


def abstains(pa: float, pb: float | None = None) -> bool:
    """True when no certificate exists: binary ``pA <= 1/2``, or two-sided ``pA <= pB``.

    docs/certificate-notes.md#c0-5 and docs/soundness-notes.md#s32.
    """
    a, b = check_probabilities(pa, pb)
    if b is None:
        return a <= 0.5
    return a <= b


def runner_up(pa: float, pb: float | None) -> float:
    """The runner-up probability used by a two-sided formula: ``pb``, or ``1 - pa`` (binary)."""
    return 1.0 - pa if pb is None else pb


def round_down(value: float, rel: float = SAFETY) -> float:
    """Round a numerically obtained lower bound towards 0 by a relative margin ``rel``."""
    if value <= 0.0:
        return 0.0
    return float(np.nextafter(value * (1.0 - rel), 0.0))


def norm_conversion_factor(from_norm: float | str, to_norm: float | str, d: int) -> float:
    """Factor f such that an l_from certificate R gives the l_to certificate R / f.

    docs/certificate-notes.md#c0-6: for 1 <= a < q <= inf, ||x||_q <= ||x||_a <=
    d^(1/a - 1/q) ||x||_q, so an l_a radius R certifies the l_q ball of radius
    R / d^(1/a - 1/q) when q > a and of radius R when q < a.  Status: lower bound.
    """
    a = parse_norm(from_norm)
    q = parse_norm(to_norm)
    dim = check_dimension(d)
    if q <= a:
        return 1.0
    inv_q = 0.0 if math.isinf(q) else 1.0 / q
    inv_a = 0.0 if math.isinf(a) else 1.0 / a
    return float(dim ** (inv_a - inv_q))


def convert_radius(radius: float, from_norm: float | str, to_norm: float | str, d: int) -> float:
    """Sound conversion of an l_from radius into an l_to radius (docs/certificate-notes.md#c0-6)."""
    r = float(radius)
    if not math.isfinite(r) or r < 0:
        raise InvalidParameterError(f"radius must be finite and >= 0, got {radius!r}")
    f = norm_conversion_factor(from_norm, to_norm, d)
    return round_down(r / f) if f != 1.0 else r


def lncosh(z: np.ndarray | float) -> np.ndarray:
    """``log(cosh(z))`` without overflow and without cancellation near 0."""
    z = np.abs(np.asarray(z, dtype=float))
    small = z < 20.0
    zs = np.where(small, z, 0.0)
    out_small = np.log1p(2.0 * np.sinh(zs / 2.0) ** 2)
    out_big = z - math.log(2.0) + np.log1p(np.exp(-2.0 * z))
    return np.where(small, out_small, out_big)


def differential_radius(phi: Callable[[np.ndarray], np.ndarray], rho: float, *,
                        rel_step: float = 2e-4, min_points: int = 256) -> tuple[float, float]:
    """Yang et al. 2020's differential method: ``R(rho) = int_{1-rho}^{1/2} du / Phi(u)``.

    docs/certificate-notes.md#c8-1.  ``phi`` is the family's Phi-function at native scale 1,
    vectorised over ``u``.  For symmetric noise Phi is non-decreasing on (0, 1/2] (the
    worst set of mass u is the top-u level set of the directional score, whose values are
    >= 0 up to mass 1/2), so ``1/Phi`` is non-increasing and the right-endpoint Riemann sum
    on any grid is a **proven lower bound** on the integral; the left-endpoint sum is an
    upper bound.  The grid is geometric in u (ratio ``1 + rel_step``).

    Returns ``(lower, upper)``; ``lower`` is rounded down.  Raises
    :class:`~unicr.errors.ConvergenceError` if Phi is not positive and non-decreasing on the
    grid (the premise of the bound), never returns NaN.
    """
    a = 1.0 - float(rho)
    b = 0.5
    if not (0.0 < a < b):
        return 0.0, 0.0
    n = max(min_points, int(math.ceil(math.log(b / a) / math.log1p(rel_step))) + 1)
    u = np.geomspace(a, b, n)
    u[0], u[-1] = a, b
    vals = np.asarray(phi(u), dtype=float)
    if not np.all(np.isfinite(vals)) or np.any(vals[1:] <= 0.0):
        raise ConvergenceError(
            f"differential method: the Phi-function is not finite and positive on (1 - pA, 1/2] "
            f"(pA = {rho!r})"
        )
    if np.any(np.diff(vals) < -1e-9 * np.abs(vals[1:])):
        raise ConvergenceError(
            "differential method: the Phi-function is not non-decreasing on (1 - pA, 1/2]; "
            "the Riemann lower bound does not apply"
        )
    du = np.diff(u)
    lower = float(np.sum(du / vals[1:]))
    upper = float(np.sum(du / vals[:-1])) if vals[0] > 0 else math.inf
    return round_down(lower, 1e-10), upper
