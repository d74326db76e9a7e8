"""Direction search: structured families and particle swarm (Hong et al. 2022, App. C.3).

The radius of Theorem 1 is ``R* = min ||lambda(delta) delta||_p`` over directions ``delta``,
with ``lambda(delta)`` the boundary scale along ``delta`` (Phase II of Eq. 4).  A minimum over
*searched* directions is an upper bound on R* (SOUNDNESS-NOTES S11); the engine verifies the
best direction's failure on a fresh sample and reports it as ``upper``.

* :func:`structured_family` -- k-equal directions ``(1, ..., 1, 0, ..., 0)`` for a geometric
  set of k (one-hot and all-ones included).  For i.i.d. noise under l_inf only ``k = d`` is
  needed: shifting fewer coordinates is a garbling (marginal) of shifting all of them, so it
  is never more distinguishable.
* :func:`pso_search` -- pyswarms ``GlobalBestPSO`` minimising ``||lambda(delta) delta||_p``
  over ``delta in [-1, 1]^d`` (``space="full"``: UniCR's reference setting, c1 = 0.5,
  c2 = 0.3, w = 0.9), or, for noises invariant under permutations and sign flips (product
  noise, norm-radial joint noise), over reduced spaces without that redundancy: ``"sorted"``
  (non-increasing magnitudes through the stick parametrisation ``m_1 = 1``,
  ``m_{j+1} = m_j x_j``, ``x in [0, 1]^(d-1)``) and ``"levels"`` (the same for groups of
  1, 1, 2, 4, 8, ... coordinates sharing one magnitude: ~log2 d dimensions).  In these spaces
  one-hot and all-equal directions are corners of the box, kept reachable by clipping.
  Initial positions: UniCR's symmetric one (one-hot for finite p, all-ones for l_inf), then
  k-equal seeds, then uniform random ones.  pyswarms draws from numpy's global generator, so
  its state is seeded from the run's ``numpy.random.Generator`` and restored afterwards:
  runs are reproducible and the caller's global state is untouched.  With the same seed and
  common random numbers the first ``T`` iterations of a ``T' > T`` run are identical, so
  the minimum found never increases with the number of iterations.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from unicr.errors import InvalidParameterError
from unicr.montecarlo.models import Direction, canonical_direction, k_equal, noise_symmetric
from unicr.noise.base import Noise, ProductNoise

__all__ = ["structured_ks", "structured_family", "level_sizes", "stick_magnitudes",
           "expand_levels", "pso_search", "PSOResult"]

log = logging.getLogger(__name__)


def structured_ks(d: int, p: float, product: bool) -> list[int]:
    """k values of the structured family: 1, 2, 3, 4, 6, 8, 12, 16, ... and d.

    For product noise under l_inf only ``k = d`` (the all-ones direction dominates every
    k-equal one: the k-coordinate experiment is a marginal of the d-coordinate one).
    """
    if math.isinf(p) and product:
        return [d]
    ks = {1, d}
    k = 2
    while k < d:
        ks.add(k)
        k3 = (3 * k) // 2
        if k3 < d:
            ks.add(k3)
        k *= 2
    return sorted(ks)


def structured_family(noise: Noise, d: int, p: float,
                      ks: Sequence[int] | None = None) -> list[Direction]:
    """k-equal directions (with both signs for asymmetric product noise)."""
    product = isinstance(noise, ProductNoise)
    ks = structured_ks(d, p, product) if ks is None else sorted({int(k) for k in ks})
    out = [k_equal(k) for k in ks]
    if not noise_symmetric(noise):
        out += [k_equal(k, -1.0) for k in ks]
    return out


def level_sizes(d: int) -> list[int]:
    """Group sizes 1, 1, 2, 4, 8, ... (truncated) summing to d: the 'levels' search space."""
    sizes: list[int] = []
    total = 0
    s = 1
    while total < d:
        take = min(s, d - total)
        sizes.append(take)
        total += take
        if len(sizes) >= 2:
            s *= 2
    return sizes


def stick_magnitudes(x: np.ndarray) -> np.ndarray:
    """Non-increasing magnitudes ``m_1 = 1, m_{j+1} = m_j x_j`` from ``x in [0, 1]^(n-1)``.

    A parametrisation of sorted magnitudes without permutation redundancy: the one-hot
    direction is ``x = 0``, the all-equal one ``x = 1`` -- corners of the box.
    """
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    return np.concatenate(([1.0], np.cumprod(x)))


def expand_levels(x: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """Direction with ``sizes[g]`` coordinates equal to the g-th stick magnitude of ``x``."""
    return np.repeat(stick_magnitudes(x), np.asarray(sizes))


_PYSWARMS_LOG_CFG = os.path.join(os.path.dirname(__file__), "pyswarms_logging.yaml")


@contextlib.contextmanager
def _quiet_pyswarms() -> Iterator[None]:
    """Keep pyswarms from reconfiguring logging.

    pyswarms' Reporter calls ``logging.config.dictConfig`` on import and for every optimiser,
    adding a root handler and a ``report.log`` file in the working folder unless the
    environment variable ``LOG_CFG`` names a configuration file; point it at a no-op one.
    """
    old = os.environ.get("LOG_CFG")
    os.environ["LOG_CFG"] = _PYSWARMS_LOG_CFG
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("LOG_CFG", None)
        else:
            os.environ["LOG_CFG"] = old


@contextlib.contextmanager
def _seeded_global_numpy(rng: np.random.Generator) -> Iterator[None]:
    """Seed numpy's legacy global generator from ``rng`` and restore it afterwards (pyswarms)."""
    state = np.random.get_state()
    np.random.seed(int(rng.integers(0, 2**32 - 1)))
    try:
        yield
    finally:
        np.random.set_state(state)


@dataclass
class PSOResult:
    """Best direction found, its cost, and every (direction, cost) evaluated."""

    best: Direction
    best_cost: float
    evaluated: list[tuple[Direction, float]] = field(default_factory=list)
    n_cost_calls: int = 0


def _initial_positions(n_particles: int, dim: int, p: float, space: str,
                       rng: np.random.Generator, seeded: bool = True,
                       signed: bool = False) -> np.ndarray:
    """UniCR's symmetric start (Appendix C.3), then k-equal seeds, then random points.

    In the full space (UniCR's ``[-1, 1]^d``) the symmetric starts are ``a e_1`` (finite p)
    or ``a (1, ..., 1)`` (l_inf) with a random ``a``; in the stick spaces (``sorted``,
    ``levels``) one-hot is ``x = 0``, all-equal ``x = 1`` and k-equal ``x = (1, .., 1, 0, ..)``.
    ``signed`` (asymmetric noise, full space): each seed is followed by its negation.
    """
    low = -1.0 if space == "full" else 0.0
    pos = rng.uniform(low, 1.0, size=(n_particles, dim))
    if not seeded:
        return pos
    seeds: list[np.ndarray] = []
    if space == "full":
        a = rng.uniform(0.1, 1.0)
        first = np.zeros(dim)
        if math.isinf(p):
            first[:] = a
        else:
            first[0] = a
        seeds.append(first)
        k = 2
        while k <= dim:
            v = np.zeros(dim)
            v[:k] = a
            seeds.append(v)
            k *= 2
        if signed:
            seeds = [x for sd in seeds for x in (sd, -sd)]
    else:
        seeds.append(np.ones(dim) if math.isinf(p) else np.zeros(dim))
        seeds.append(np.zeros(dim) if math.isinf(p) else np.ones(dim))
        for j in range(1, dim):
            v = np.zeros(dim)
            v[:j] = 1.0
            seeds.append(v)
    for i, sd in enumerate(seeds[:n_particles]):
        pos[i] = sd
    return pos


def pso_search(noise: Noise, d: int, p: float, cost: Callable[[Direction], float],
               rng: np.random.Generator, particles: int = 10, iterations: int = 20,
               c1: float = 0.5, c2: float = 0.3, w: float = 0.9, space: str = "auto",
               zero_tol: float = 1e-3, seeded: bool = True) -> PSOResult:
    """pyswarms GlobalBestPSO over directions (Hong et al. 2022, Sec. 3.1 / App. C.3).

    ``cost(direction)`` is ``lambda(direction) ||direction||_p`` on the selection sample; it is
    memoised on the canonical direction, so equivalent particles (permutations, signs, scale)
    cost one search.  Returns the minimum over every evaluated position.  ``seeded=False``
    starts every particle at a uniform random position.
    """
    with _quiet_pyswarms():
        from pyswarms.single import GlobalBestPSO

    sym = noise_symmetric(noise)
    if space == "auto":
        if not (sym and (isinstance(noise, ProductNoise) or _perm_inv(noise))):
            space = "full"
        else:
            space = "levels" if d > 64 else "sorted"
    if space in ("sorted", "levels") and not (sym and (isinstance(noise, ProductNoise)
                                                      or _perm_inv(noise))):
        raise InvalidParameterError(
            f"pso_space={space!r} needs a noise invariant under permutations and sign flips"
        )
    sizes = level_sizes(d) if space == "levels" else [1] * d
    dim = max(1, len(sizes) - 1) if space != "full" else d
    low = -1.0 if space == "full" else 0.0
    bounds = (np.full(dim, low), np.ones(dim))
    init = _initial_positions(particles, dim, p, space, rng, seeded, signed=not sym)
    memo: dict[tuple, float] = {}
    result = PSOResult(best=k_equal(1), best_cost=math.inf)

    def direction_of(x: np.ndarray) -> Direction:
        if space == "full":
            u = np.asarray(x, dtype=np.float64)
        elif len(sizes) == 1:
            u = np.ones(d)
        else:
            u = expand_levels(x, sizes)
        dirn, _ = canonical_direction(u, noise, tol=zero_tol)
        return dirn

    def objective(xs: np.ndarray) -> np.ndarray:
        out = np.empty(xs.shape[0])
        for i, x in enumerate(xs):
            dirn = direction_of(x)
            if dirn.k == 0:
                out[i] = math.inf
                continue
            key = (dirn.kind, dirn.k, dirn.sign, dirn.values)
            c = memo.get(key)
            if c is None:
                c = float(cost(dirn))
                memo[key] = c
                result.evaluated.append((dirn, c))
                result.n_cost_calls += 1
                if c < result.best_cost:
                    result.best_cost = c
                    result.best = dirn
            out[i] = c
        return out

    with _seeded_global_numpy(rng), _quiet_pyswarms():
        # UniCR's setting in the full space; clipping to the box in the stick spaces, whose
        # corners are the symmetric directions
        bh = "periodic" if space == "full" else "nearest"
        opt = GlobalBestPSO(n_particles=particles, dimensions=dim,
                            options={"c1": c1, "c2": c2, "w": w}, bounds=bounds, init_pos=init,
                            bh_strategy=bh)
        # silence pyswarms' own reporter
        logging.getLogger("pyswarms").setLevel(logging.WARNING)
        opt.optimize(objective, iters=iterations, verbose=False)
    log.debug("PSO: %d distinct directions, best cost %.6g", len(memo), result.best_cost)
    return result


def _perm_inv(noise: Noise) -> bool:
    from unicr.montecarlo.models import permutation_invariant

    return permutation_invariant(noise)
