"""Noise registry: closed-form families, mixtures, joint densities, spec files and adapters."""

from unicr.noises import families, joint  # noqa: F401 -- importing them registers the built-ins
from unicr.noises.base import CompiledLogDensity, JointNoise, Noise, Param, ProductNoise
from unicr.noises.mixtures import Mixture, mixture
from unicr.noises.registry import builtin_names, catalogue, noise, pdfs_dir, register

__all__ = [
    "Noise",
    "ProductNoise",
    "JointNoise",
    "Param",
    "CompiledLogDensity",
    "Mixture",
    "mixture",
    "noise",
    "register",
    "builtin_names",
    "catalogue",
    "pdfs_dir",
]
