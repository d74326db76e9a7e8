"""Closed-form i.i.d. (product) noise families.

Each class implements the standardised law (native scale 1) of
:class:`unicr.noise.base.ProductNoise`; conventions for the native scale follow
reference/CERTIFICATES.md §0.4.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from unicr.noise.base import ProductNoise
from unicr.noise.registry import register

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


@register("gaussian", "normal", "gauss")
class Gaussian(ProductNoise):
    """Gaussian noise N(0, scale^2); the native scale is the standard deviation (sigma = scale).

    Cohen et al. 2019; UniCR Table 7 writes it as exp(-|x/alpha|^2) with alpha = sqrt(2) sigma.
    """

    description = "Gaussian N(0, sigma^2)"
    source = "Cohen, Rosenfeld & Kolter 2019; UniCR (Hong et al. 2022) Table 7"
    scale_name = "std"
    symmetric = True
    var1 = 1.0

    def _logpdf1(self, z: np.ndarray) -> np.ndarray:
        return -0.5 * z * z - _LOG_SQRT_2PI

    def _cdf1(self, z: np.ndarray) -> np.ndarray:
        return special.ndtr(z)

    def _logcdf1(self, z: np.ndarray) -> np.ndarray:
        return special.log_ndtr(z)

    def _ppf1(self, u: np.ndarray) -> np.ndarray:
        return special.ndtri(u)

    def _score1(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, dtype=float)

    def _sample1(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal(shape)

    def _sample1_torch(self, shape: tuple[int, ...], generator: Any, device: Any, dtype: Any) -> Any:
        import torch

        return torch.randn(shape, generator=generator, device=device, dtype=dtype)

    def fisher_information(self) -> float:
        return 1.0 / self.scale**2
