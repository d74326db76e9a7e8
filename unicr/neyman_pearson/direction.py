"""A perturbation direction ``u`` (the perturbation is ``a * u``) and its canonical form.

One type, :class:`Direction`, for every search: k-equal directions ``sign (1, ..., 1, 0, ...)``
and general vectors; :func:`canonical_direction` maps a vector to its representative under
the invariances of a noise (permutations, sign flips), so that equivalent directions share
their Monte Carlo draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from unicr.errors import InvalidParameterError
from unicr.noises.base import Noise, ProductNoise

__all__ = ["Direction", "k_equal", "canonical_direction", "permutation_invariant",
           "noise_symmetric"]

@dataclass(frozen=True)
class Direction:
    """A perturbation direction ``u``; the perturbation is ``lam * u``.

    ``kind="k-equal"``: ``u = sign (1, ..., 1, 0, ..., 0)`` with ``k`` ones.
    ``kind="vector"``: ``values`` are the non-zero coordinates in canonical order (product
    or permutation-invariant noise: coordinates ``0..k-1``; zeros implied) or, with
    ``full=True``, the whole d-vector.
    """

    kind: str
    k: int
    values: tuple[float, ...] | None = None
    sign: float = 1.0
    full: bool = False

    def support_values(self) -> np.ndarray:
        """The coordinates 0..k-1 (the rest are zero unless ``full``)."""
        if self.kind == "k-equal":
            return np.full(self.k, self.sign, dtype=np.float64)
        return np.asarray(self.values, dtype=np.float64)

    def vector(self, d: int) -> np.ndarray:
        """The full d-vector."""
        v = self.support_values()
        if self.full:
            return v
        out = np.zeros(d)
        out[: v.size] = v
        return out

    def norm(self, p: float) -> float:
        """``||u||_p`` (any p in (0, inf]; for p < 1 the quasi-norm)."""
        v = np.abs(self.support_values())
        if math.isinf(p):
            return float(v.max()) if v.size else 0.0
        vmax = float(v.max()) if v.size else 0.0
        if vmax == 0.0:
            return 0.0
        return vmax * float(np.sum((v / vmax) ** p)) ** (1.0 / p)

    def describe(self) -> dict[str, Any]:
        """JSON-able description (the ``Witness.direction`` field)."""
        if self.kind == "k-equal":
            out: dict[str, Any] = {"kind": "k-equal", "k": int(self.k)}
            if self.sign < 0:
                out["sign"] = -1
            return out
        return {"kind": "vector", "k": int(self.k), "full": bool(self.full),
                "values": [float(x) for x in self.values or ()]}


def k_equal(k: int, sign: float = 1.0) -> Direction:
    return Direction(kind="k-equal", k=int(k), sign=float(sign))


def permutation_invariant(noise: Noise) -> bool:
    """True when the law is invariant under coordinate permutations (product noise, norm-radial)."""
    if isinstance(noise, ProductNoise):
        return True
    from unicr.noises.joint import RadialJointNoise

    return isinstance(noise, RadialJointNoise)


def noise_symmetric(noise: Noise) -> bool:
    """True when ``mu(-x) = mu(x)`` (coordinate-wise for product noise; central for joint)."""
    if isinstance(noise, ProductNoise):
        return bool(noise.symmetric)
    from unicr.noises.joint import RadialJointNoise

    if isinstance(noise, RadialJointNoise):
        return True  # norms are even functions
    return bool(getattr(noise, "symmetric", False))


def canonical_direction(u: np.ndarray, noise: Noise, tol: float = 0.0) -> tuple[Direction, float]:
    """Canonical representative of ``u`` under the invariances of ``noise``: ``(dir, factor)``.

    ``u`` is equivalent to ``factor * dir``.  Product noise and norm-radial joint noise are
    invariant under permutations of the coordinates, and under sign flips when symmetric:
    such directions are sorted (by magnitude, or by value for asymmetric noise) so that
    equivalent directions share their draws (common random numbers), and k-equal directions
    are recognised.  Coordinates with ``|u_j| <= tol * max|u|`` are set to zero.  Other
    joint noises keep the vector as given.
    """
    u = np.asarray(u, dtype=np.float64).ravel()
    if not np.all(np.isfinite(u)):
        raise InvalidParameterError("direction has non-finite coordinates")
    amax = float(np.max(np.abs(u))) if u.size else 0.0
    if amax == 0.0:
        return Direction(kind="vector", k=0, values=()), 1.0
    if tol > 0:
        u = np.where(np.abs(u) <= tol * amax, 0.0, u)
    if not permutation_invariant(noise):
        nz = int(np.count_nonzero(u))
        return Direction(kind="vector", k=nz, values=tuple(u.tolist()), full=True), 1.0
    v = np.sort(np.abs(u))[::-1] if noise_symmetric(noise) else np.sort(u)[::-1]
    v = v[v != 0.0]
    k = int(v.size)
    if np.all(v == v[0]):
        # k-equal up to scale: normalise to +-1 (the scale goes into lambda)
        return k_equal(k, 1.0 if v[0] > 0 else -1.0), abs(float(v[0]))
    return Direction(kind="vector", k=k, values=tuple(v.tolist())), 1.0
