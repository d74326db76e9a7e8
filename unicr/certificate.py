"""Result objects: what every radius says about itself (docs/concepts.md).

A :class:`Certificate` is never a bare float.  ``lower`` is proven <= R*,
``upper`` is proven >= R* (with a :class:`Witness` perturbation that fails the
Neyman-Pearson test), ``estimate`` carries no guarantee, and ``confidence`` is
the probability that ``lower``/``upper`` hold (1.0 for deterministic numerics).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from unicr.checks import parse_norm, validate_probabilities

__all__ = ["Certificate", "Witness", "parse_norm", "norm_label", "validate_probabilities"]


def norm_label(p: float) -> str:
    """'1', '2', 'inf', '0.5' ..."""
    if math.isinf(p):
        return "inf"
    return f"{p:g}"


@dataclass(frozen=True)
class Witness:
    """A perturbation that fails the Neyman-Pearson test (proof of an ``upper`` bound).

    ``direction`` describes the perturbation family (for product noise, e.g.
    ``{"kind": "k-equal", "k": 1}`` means ``delta = a * (1,...,1,0,...,0)`` with ``k``
    non-zero coordinates; ``{"kind": "two-level", ...}`` two magnitudes; ``"vector"``
    an explicit vector), ``scale`` is the magnitude ``a`` and ``norm_value`` its l_p norm.
    """

    direction: dict[str, Any]
    scale: float
    norm_value: float
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Certificate:
    """A certified radius and everything needed to trust it.

    Attributes
    ----------
    lower:
        proven <= R* (0.0 when nothing better is proven; ``nan`` never appears).
    upper:
        proven >= R* (``inf`` when no failing perturbation was found).
    estimate:
        point estimate without guarantee, or ``None``.
    confidence:
        probability that ``lower``/``upper`` hold (1.0 for deterministic numerics).
    abstain:
        True when no certificate is possible (binary pA <= 1/2, or pA <= pB): this is
        not the same as "certified at radius 0".
    """

    lower: float
    upper: float
    estimate: float | None
    confidence: float
    method: str
    norm: float
    d: int
    pa: float
    pb: float | None
    assumptions: tuple[str, ...] = ()
    witness: Witness | None = None
    abstain: bool = False
    noise: dict[str, Any] = field(default_factory=dict)
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        for name in ("lower", "upper"):
            v = getattr(self, name)
            if v is None or (isinstance(v, float) and math.isnan(v)):
                raise ValueError(f"Certificate.{name} must be a number, got {v!r}")
        if self.lower < 0:
            raise ValueError(f"Certificate.lower must be >= 0, got {self.lower}")
        if self.lower > self.upper * (1 + 1e-9) + 1e-15:
            raise ValueError(f"Certificate with lower {self.lower} > upper {self.upper}")

    @property
    def exact(self) -> bool:
        """True when lower and upper agree within the stated relative tolerance."""
        if self.abstain:
            return False
        if math.isinf(self.upper):
            return False
        tol = max(self.tolerance, 1e-12)
        return self.upper - self.lower <= tol * max(self.upper, 1e-300)

    @property
    def status(self) -> str:
        """'abstain', 'exact', 'bracketed' (finite lower and upper), 'lower-only', 'estimate'."""
        if self.abstain:
            return "abstain"
        if self.exact:
            return "exact"
        if math.isfinite(self.upper) and self.lower > 0:
            return "bracketed"
        if self.lower > 0:
            return "lower-only"
        return "estimate" if self.estimate is not None else "bracketed"

    @property
    def gap(self) -> float:
        """upper / lower (inf when lower is 0)."""
        if self.lower <= 0:
            return math.inf
        return self.upper / self.lower

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["norm"] = norm_label(self.norm)
        out["status"] = self.status
        out["assumptions"] = list(self.assumptions)
        for k in ("lower", "upper", "estimate"):
            v = out[k]
            if isinstance(v, float) and math.isinf(v):
                out[k] = "inf"
        return out

    @classmethod
    def abstained(cls, *, method: str, norm: float, d: int, pa: float, pb: float | None,
                  reason: str, noise: dict[str, Any] | None = None) -> Certificate:
        """The ABSTAIN outcome: no certificate at all (distinct from radius 0)."""
        return cls(lower=0.0, upper=0.0, estimate=None, confidence=1.0, method=method, norm=norm,
                   d=d, pa=pa, pb=pb, assumptions=(reason,), abstain=True, noise=noise or {})
