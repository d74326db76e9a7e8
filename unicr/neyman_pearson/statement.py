"""What a Neyman-Pearson test along one perturbation can state: the :class:`Statement` enum."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["Statement"]


class Statement(IntEnum):
    """The three statements a robustness test (Hong et al. 2022, Theorem 1) can make.

    The values are the indices the compiled Monte Carlo kernels use for their output arrays,
    so a member can index a numpy array directly.
    """

    #: UniCR's point statistic: the test evaluated on the empirical law, no confidence
    ESTIMATE = 0
    #: sound: the perturbation is verified to pass (it cannot change the prediction)
    PASS = 1
    #: sound: the perturbation is verified to fail (the radius is below its norm)
    FAIL = 2

    @property
    def label(self) -> str:
        """The words used in certificates and logs ("point-estimate", "sound pass", ...)."""
        return _LABELS[self]


_LABELS = {Statement.ESTIMATE: "point-estimate", Statement.PASS: "sound pass",
           Statement.FAIL: "sound failure"}
