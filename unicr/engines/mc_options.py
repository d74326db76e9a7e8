"""The options of the Monte Carlo engine (:func:`unicr.engines.montecarlo.radius_mc`).

One frozen :class:`MCOptions`, validated once on construction (every number through
:mod:`unicr.checks`); :meth:`MCOptions.from_kwargs` builds it from the keyword options of
:func:`unicr.radius` and refuses an unknown one by name.  :data:`DEFAULTS` is the mapping
option -> default derived from the dataclass (the public option names and their order).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from unicr.checks import check_bool, check_choice, check_in_range, check_integer, check_seed
from unicr.errors import InvalidParameterError

__all__ = ["MCOptions", "DEFAULTS"]

_MODES = ("sound", "estimate")
_DIRECTIONS = ("structured", "pso", "both")
_SPACES = ("auto", "full", "sorted", "levels")
_BACKENDS = ("auto", "numpy", "torch")


@dataclass(frozen=True)
class MCOptions:
    """Validated options of the Monte Carlo engine (Hong et al. 2022, Algorithms 1-2, App. C.3).

    After construction ``seed`` is an int (a Generator or ``None`` resolved once), ``dtype`` a
    numpy dtype, ``device`` / ``backend`` resolved (``device`` ``"cpu"`` or ``"cuda:N"``,
    ``backend`` ``"numpy"`` or ``"torch"``) and ``k_values`` a sorted tuple or ``None``.
    Options that depend on the dimension are checked by :meth:`for_dimension`.
    """

    #: "sound" (DKW-banded statements verified on a fresh sample) or "estimate" (UniCR's
    #: plug-in point estimate only)
    mode: str = "sound"
    #: verification sample size, in Monte Carlo draws (>= 100)
    n_mc: int = 100_000
    #: total failure probability of the Monte Carlo statements, in (0, 1/2]
    alpha_np: float = 1e-3
    #: reproducibility seed: non-negative int, numpy Generator or None (fresh entropy)
    seed: Any = 0
    #: direction search: "structured" (k-equal family), "pso" (particle swarm) or "both"
    directions: str = "structured"
    #: PSO swarm size, in particles (>= 1)
    particles: int = 10
    #: PSO iterations (>= 1)
    iterations: int = 20
    #: PSO cognitive coefficient (dimensionless, in [0, 1000))
    c1: float = 0.5
    #: PSO social coefficient (dimensionless, in [0, 1000))
    c2: float = 0.3
    #: PSO inertia weight (dimensionless, in [0, 1000))
    w: float = 0.9
    #: relative tolerance of the scale search, in units of lambda (hi / lo - 1), in (0, 1/2)
    rel_tol: float = 1e-4
    #: storage precision of the draws: "float64" or "float32"
    dtype: Any = "float64"
    #: where the coordinate-wise banks run: None (CUDA when present, else the CPU), "cpu",
    #: "cuda:N" or a torch.device
    device: Any = None
    #: "auto" (torch on a CUDA device, numpy on the CPU), "numpy" or "torch"
    backend: str = "auto"
    #: memory for draws kept at once, in bytes (>= 1 MiB)
    memory_budget: int = 512 * 2**20
    #: search-sample size, in draws (>= 100; None: from n_mc and the memory budget)
    n_search: int | None = None
    #: PSO selection-subsample size, in draws (>= 100)
    n_pso: int = 2000
    #: PSO search space: "auto", "full", "sorted" or "levels"
    pso_space: str = "auto"
    #: PSO neighbourhood: "nested" (monotone in particles and iterations) or "global"
    pso_topology: str = "nested"
    #: k of the structured k-equal family (integers in [1, d]; None: 1, 2, 3, 4, 6, 8, ..., d)
    k_values: Any = None
    #: length of each verification ladder, in candidate scales (>= 1)
    candidates: int = 8
    #: use rotation invariance for spherically symmetric noise (lower bound, one direction)
    reduction: bool = True

    def __post_init__(self) -> None:
        from unicr.search.directions import TOPOLOGIES

        put = object.__setattr__
        put(self, "mode", check_choice(self.mode, "mode", _MODES))
        put(self, "directions", check_choice(self.directions, "directions", _DIRECTIONS))
        put(self, "pso_space", check_choice(self.pso_space, "pso_space", _SPACES))
        put(self, "pso_topology", check_choice(self.pso_topology, "pso_topology", TOPOLOGIES))
        put(self, "k_values", _k_values(self.k_values))
        if self.n_search is not None:
            put(self, "n_search", check_integer(self.n_search, "n_search", 100))
        device, backend = _device(self.device, self.backend)
        put(self, "device", device)
        put(self, "backend", backend)
        put(self, "memory_budget", check_integer(self.memory_budget, "memory_budget", 2**20))
        put(self, "n_mc", check_integer(self.n_mc, "n_mc", 100))
        put(self, "alpha_np", check_in_range(self.alpha_np, "alpha_np", 0.0, 0.5,
                                             high_open=False))
        put(self, "seed", check_seed(self.seed))
        put(self, "particles", check_integer(self.particles, "particles", 1))
        put(self, "iterations", check_integer(self.iterations, "iterations", 1))
        for name in ("c1", "c2", "w"):
            put(self, name, check_in_range(getattr(self, name), name, 0.0, 1e3,
                                           low_open=False))
        put(self, "rel_tol", check_in_range(self.rel_tol, "rel_tol", 0.0, 0.5))
        put(self, "dtype", _dtype(self.dtype))
        put(self, "n_pso", check_integer(self.n_pso, "n_pso", 100))
        put(self, "candidates", check_integer(self.candidates, "candidates", 1))
        put(self, "reduction", check_bool(self.reduction, "reduction"))

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any], d: int | None = None) -> MCOptions:
        """Options from keyword arguments (defaults: :data:`DEFAULTS`), checked for dimension
        ``d`` when given; an unknown name is refused with the list of known ones."""
        unknown = sorted(set(kwargs) - set(DEFAULTS))
        if unknown:
            raise InvalidParameterError(
                f"unknown option(s) for method='mc': {', '.join(unknown)}; "
                f"known: {', '.join(DEFAULTS)}"
            )
        options = cls(**kwargs)
        return options if d is None else options.for_dimension(d)

    def replace(self, **changes: Any) -> MCOptions:
        """A copy with ``changes`` (validated like :meth:`from_kwargs`)."""
        merged = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - set(DEFAULTS))
        if unknown:
            self.from_kwargs(changes)  # raises, naming them
        merged.update(changes)
        return type(self)(**merged)

    def for_dimension(self, d: int) -> MCOptions:
        """``self`` after the checks that need the dimension ``d`` (before any allocation):
        ``k_values`` within [1, d], and one d-dimensional row within ``memory_budget``."""
        ks = self.k_values
        if ks is not None and (not ks or ks[-1] > d):
            raise InvalidParameterError(
                f"k_values must be integers in [1, d={d}], got {list(ks)!r}"
            )
        # a direction is a dense d-vector and a block of draws holds at least one row of d
        # coordinates
        if 8 * d > self.memory_budget:
            raise InvalidParameterError(
                f"d={d} is too large for the Monte Carlo engine: one d-dimensional draw or "
                f"direction takes {8 * d:.3g} bytes, beyond memory_budget={self.memory_budget} "
                "bytes; raise memory_budget, or use the exact engine (method exact) for "
                "product noise"
            )
        return self


#: option name -> default of :class:`MCOptions` (read-only)
DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {f.name: f.default for f in dataclasses.fields(MCOptions)}
)


def _k_values(ks: Any) -> tuple[int, ...] | None:
    """Sorted distinct integers >= 1 (emptiness and the upper limit d are checked by
    ``for_dimension``)."""
    if ks is None:
        return None
    try:
        out = tuple(sorted({check_integer(k, "k_values entry", 1) for k in ks}))
    except TypeError:
        raise InvalidParameterError(f"k_values must be a list of integers, got {ks!r}") from None
    return out


def _dtype(value: Any) -> np.dtype:
    """``float64`` or ``float32`` (numpy or torch spelling)."""
    if isinstance(value, np.dtype) and value in (np.dtype(np.float64), np.dtype(np.float32)):
        return value
    try:
        dt = np.dtype(str(value).replace("torch.", ""))
    except TypeError:
        dt = None
    if dt is None or dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise InvalidParameterError(f"dtype must be 'float64' or 'float32', got {value!r}")
    return dt


def _device(value: Any, backend: Any = "auto") -> tuple[str, str]:
    """Validated ``(device, backend)``: device ``"cpu"`` or ``"cuda:N"``; backend ``"numpy"``
    (numpy/numba on the CPU) or ``"torch"`` (the general banks on ``device``,
    :mod:`unicr.neyman_pearson.torch_banks`).

    ``device=None``: CUDA when torch sees it, else the CPU (always the CPU for
    ``backend="numpy"``).  ``backend="auto"``: torch on a CUDA device, numpy on the CPU.
    """
    from unicr.neyman_pearson import torch_banks

    backend = check_choice(backend, "backend", _BACKENDS)
    if backend == "torch" and not torch_banks.torch_available():
        raise InvalidParameterError("backend='torch' needs PyTorch, which is not importable; "
                                    "install torch or use backend='numpy'")
    if value is None:
        dev = "cuda" if backend != "numpy" and torch_banks.cuda_available() else "cpu"
    else:
        dev = value
    if isinstance(dev, str) and dev.strip().lower() == "cpu":
        dev = "cpu"
    else:
        if not torch_banks.torch_available():
            raise InvalidParameterError(f"device {value!r} needs PyTorch, which is not "
                                        "importable; use device='cpu'")
        dev = str(torch_banks.resolve_device(dev))
    if backend == "auto":
        backend = "numpy" if dev == "cpu" else "torch"
    if backend == "numpy" and dev != "cpu":
        raise InvalidParameterError(f"device {value!r} with backend='numpy': the numpy/numba "
                                    "banks run on the CPU; use backend='torch' or 'auto'")
    return dev, backend
