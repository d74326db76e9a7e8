"""Direction search: structured families and particle swarm (Hong et al. 2022, App. C.3).

The radius of Theorem 1 is ``R* = min ||lambda(delta) delta||_p`` over directions ``delta``,
with ``lambda(delta)`` the boundary scale along ``delta`` (Phase II of Eq. 4).  A minimum over
*searched* directions is an upper bound on R* (docs/soundness-notes.md#s11); the engine verifies the
best direction's failure on a fresh sample and reports it as ``upper``.

* :func:`structured_family` -- k-equal directions ``(1, ..., 1, 0, ..., 0)`` for a geometric
  set of k (one-hot and all-ones included).  For i.i.d. noise under l_inf only ``k = d`` is
  needed: shifting fewer coordinates is a garbling (marginal) of shifting all of them, so it
  is never more distinguishable.
* :func:`pso_search` -- particle swarm minimising ``||lambda(delta) delta||_p`` over
  ``delta in [-1, 1]^d`` (``space="full"``: UniCR's reference setting, c1 = 0.5, c2 = 0.3,
  w = 0.9), or, for noises invariant under permutations and sign flips (product noise,
  norm-radial joint noise), over reduced spaces without that redundancy: ``"sorted"``
  (non-increasing magnitudes through the stick parametrisation ``m_1 = 1``,
  ``m_{j+1} = m_j x_j``, ``x in [0, 1]^(d-1)``) and ``"levels"`` (the same for groups of
  1, 1, 2, 4, 8, ... coordinates sharing one magnitude: ~log2 d dimensions).  In these spaces
  one-hot and all-equal directions are corners of the box, kept reachable by clipping.
  Initial positions: UniCR's symmetric one (one-hot for finite p, all-ones for l_inf), then
  k-equal seeds, then uniform random ones.

Two swarm topologies, with the same coefficients, bounds, boundary handling (periodic in the
full space as in UniCR, clipping in the stick spaces) and initial positions:

* ``topology="global"`` -- pyswarms ``GlobalBestPSO`` (star topology: every particle is
  attracted by the best position of the whole swarm), UniCR's published setting (App. C.3).
  pyswarms draws from numpy's global generator, so its state is seeded from the run's
  ``numpy.random.Generator`` and restored afterwards: runs are reproducible and the caller's
  global state is untouched.  The first ``T`` iterations of a ``T' > T`` run coincide, but a
  larger swarm changes every particle's random numbers and social attractor, so the minimum
  found may *increase* with the number of particles.
* ``topology="nested"`` (the default) -- a small numpy PSO with a *prefix* neighbourhood:
  particle ``i`` draws its initial position, initial velocity and every ``r1, r2`` from its own
  stream (the child ``i`` of the run's seed), and its social attractor is the best position
  found so far by particles ``0..i``; particles are evaluated in order.  Particle ``i``'s
  trajectory then depends only on particles ``0..i`` and on past iterations, so the first
  ``P`` particles of a ``P' > P`` run and the first ``T`` iterations of a ``T' > T`` run
  follow identical trajectories: the set of evaluated directions is nested and, for a
  deterministic cost, **the minimum cost is non-increasing in both particles and
  iterations** -- a guarantee, not an observation.  Soundness is the same for both
  topologies: the engine verifies the chosen direction's failure on a fresh sample, whatever
  search produced it.
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
from unicr.neyman_pearson.direction import (
    Direction,
    canonical_direction,
    k_equal,
    noise_symmetric,
    permutation_invariant,
)
from unicr.noises.base import Noise, ProductNoise
from unicr.search.grids import k_grid

__all__ = ["structured_ks", "structured_family", "level_sizes", "stick_magnitudes",
           "expand_levels", "pso_search", "PSOResult", "TOPOLOGIES"]

log = logging.getLogger(__name__)


def structured_ks(d: int, p: float, product: bool) -> list[int]:
    """k values of the structured family: 1, 2, 3, 4, 6, 8, 12, 16, ... and d.

    For product noise under l_inf only ``k = d`` (the all-ones direction dominates every
    k-equal one: the k-coordinate experiment is a marginal of the d-coordinate one).
    """
    if math.isinf(p) and product:
        return [d]
    return k_grid(d, "doubling")


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


def _seed_points(dim: int, p: float, space: str, rng: np.random.Generator,
                 signed: bool = False) -> list[np.ndarray]:
    """UniCR's symmetric start (Appendix C.3), then k-equal seeds (in this order).

    In the full space (UniCR's ``[-1, 1]^d``) the symmetric starts are ``a e_1`` (finite p)
    or ``a (1, ..., 1)`` (l_inf) with a random ``a`` (the only draw from ``rng``); in the stick
    spaces (``sorted``, ``levels``) one-hot is ``x = 0``, all-equal ``x = 1`` and k-equal
    ``x = (1, .., 1, 0, ..)``.  ``signed`` (asymmetric noise, full space): each seed is
    followed by its negation.
    """
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
    return seeds


def _initial_positions(n_particles: int, dim: int, p: float, space: str,
                       rng: np.random.Generator, seeded: bool = True,
                       signed: bool = False) -> np.ndarray:
    """Initial swarm of the ``global`` topology: uniform random points, the first ones
    replaced by :func:`_seed_points` (UniCR's symmetric start, then k-equal seeds)."""
    low = -1.0 if space == "full" else 0.0
    pos = rng.uniform(low, 1.0, size=(n_particles, dim))
    if not seeded:
        return pos
    for i, sd in enumerate(_seed_points(dim, p, space, rng, signed)[:n_particles]):
        pos[i] = sd
    return pos


def _nested_pso(objective: Callable[[np.ndarray], np.ndarray], n_particles: int, dim: int,
                p: float, space: str, bounds: tuple[np.ndarray, np.ndarray], bh: str,
                iterations: int, c1: float, c2: float, w: float, base_seed: int,
                seeded: bool, signed: bool) -> None:
    """PSO with a prefix neighbourhood and per-particle random streams (nested runs).

    The velocity and position updates are those of pyswarms' ``GlobalBestPSO`` (Kennedy &
    Eberhart 1995 with inertia ``w``; Hong et al. 2022, App. C.3 coefficients):
    ``v <- w v + c1 r1 (pbest_i - x) + c2 r2 (g_i - x)``, ``x <- bh(x + v)``, initial velocity
    uniform in ``[0, 1)``, ``r1, r2`` uniform in ``[0, 1)`` per coordinate and iteration,
    personal bests updated on strict improvement, the swarm evaluated ``iterations`` times.
    Differences (the *nested* guarantee): particle ``i`` draws its initial position,
    initial velocity and every ``r1, r2`` from ``SeedSequence(base_seed, spawn_key=(i,))``;
    the shared symmetric-start scale ``a`` comes from ``SeedSequence(base_seed)``; and the
    social attractor ``g_i`` is the best personal best of particles ``0..i`` (ties: the
    lowest index), not of the whole swarm.  So particle ``i`` never depends on particles
    ``j > i`` nor on future iterations: a run with more particles or iterations extends a
    smaller one (same seed), evaluating a superset of its positions.
    """
    with _quiet_pyswarms():  # its constructor configures logging (report.log) otherwise
        from pyswarms.backend.handlers import BoundaryHandler

        handle = BoundaryHandler(strategy=bh)  # the same boundary rule as the global swarm
    low, high = bounds
    rngs = [np.random.default_rng(np.random.SeedSequence(base_seed, spawn_key=(i,)))
            for i in range(n_particles)]
    seeds = (_seed_points(dim, p, space, np.random.default_rng(np.random.SeedSequence(base_seed)),
                          signed) if seeded else [])
    x = np.empty((n_particles, dim))
    v = np.empty((n_particles, dim))
    for i, r in enumerate(rngs):
        x[i] = r.uniform(low, high)  # drawn even when replaced: the streams stay aligned
        if i < len(seeds):
            x[i] = seeds[i]
        v[i] = r.uniform(0.0, 1.0, size=dim)
    pbest = x.copy()
    pcost = np.full(n_particles, np.inf)
    g = np.empty_like(x)
    for t in range(iterations):
        cur = objective(x)  # rows in particle order
        better = cur < pcost
        pbest[better] = x[better]
        pcost[better] = cur[better]
        if t == iterations - 1:
            break  # pyswarms moves the swarm once more but never evaluates it
        lead = 0
        for i in range(n_particles):
            if pcost[i] < pcost[lead]:
                lead = i
            g[i] = pbest[lead]
        for i, r in enumerate(rngs):
            r1 = r.uniform(0.0, 1.0, size=dim)
            r2 = r.uniform(0.0, 1.0, size=dim)
            v[i] = w * v[i] + c1 * r1 * (pbest[i] - x[i]) + c2 * r2 * (g[i] - x[i])
            x[i] = handle((x[i] + v[i])[None, :], bounds)[0]


TOPOLOGIES = ("nested", "global")


def pso_search(noise: Noise, d: int, p: float, cost: Callable[[Direction], float],
               rng: np.random.Generator, particles: int = 10, iterations: int = 20,
               c1: float = 0.5, c2: float = 0.3, w: float = 0.9, space: str = "auto",
               zero_tol: float = 1e-3, seeded: bool = True,
               topology: str = "nested") -> PSOResult:
    """Particle swarm over directions (Hong et al. 2022, Sec. 3.1 / App. C.3).

    ``cost(direction)`` is ``lambda(direction) ||direction||_p`` on the selection sample; it is
    memoised on the canonical direction, so equivalent particles (permutations, signs, scale)
    cost one search.  Returns the minimum over every evaluated position.  ``seeded=False``
    starts every particle at a uniform random position.  ``topology``: ``"nested"`` (default;
    prefix neighbourhood and per-particle streams, so the minimum never increases with
    ``particles`` or ``iterations`` for a deterministic ``cost``) or ``"global"`` (pyswarms
    ``GlobalBestPSO``, UniCR's published setting); see the module docstring.
    """
    if topology not in TOPOLOGIES:
        raise InvalidParameterError(
            f"pso_topology must be one of {', '.join(TOPOLOGIES)}, got {topology!r}"
        )
    sym = noise_symmetric(noise)
    space = _pso_space(noise, d, space)
    sizes = level_sizes(d) if space == "levels" else [1] * d
    dim = max(1, len(sizes) - 1) if space != "full" else d
    low = -1.0 if space == "full" else 0.0
    bounds = (np.full(dim, low), np.ones(dim))
    # UniCR's setting in the full space; clipping to the box in the stick spaces, whose
    # corners are the symmetric directions
    bh = "periodic" if space == "full" else "nearest"
    memo: dict[tuple, float] = {}
    result = PSOResult(best=k_equal(1), best_cost=math.inf)
    objective = _memoised_objective(noise, d, space, sizes, zero_tol, cost, memo, result)

    if topology == "nested":
        _nested_pso(objective, particles, dim, p, space, bounds, bh, iterations, c1, c2, w,
                    int(rng.integers(0, 2**63 - 1)), seeded, not sym)
    else:
        with _quiet_pyswarms():
            from pyswarms.single import GlobalBestPSO

        init = _initial_positions(particles, dim, p, space, rng, seeded, signed=not sym)
        with _seeded_global_numpy(rng), _quiet_pyswarms():
            opt = GlobalBestPSO(n_particles=particles, dimensions=dim,
                                options={"c1": c1, "c2": c2, "w": w}, bounds=bounds,
                                init_pos=init, bh_strategy=bh)
            # silence pyswarms' own reporter
            logging.getLogger("pyswarms").setLevel(logging.WARNING)
            opt.optimize(objective, iters=iterations, verbose=False)
    log.debug("PSO (%s): %d distinct directions, best cost %.6g", topology, len(memo),
              result.best_cost)
    return result


def _pso_space(noise: Noise, d: int, space: str) -> str:
    """The PSO search space for ``space`` ("auto": "levels" above d = 64, else "sorted", for
    noise invariant under permutations and sign flips; "full" otherwise), checked."""
    invariant = noise_symmetric(noise) and (isinstance(noise, ProductNoise)
                                               or permutation_invariant(noise))
    if space == "auto":
        if not invariant:
            return "full"
        return "levels" if d > 64 else "sorted"
    if space in ("sorted", "levels") and not invariant:
        raise InvalidParameterError(
            f"pso_space={space!r} needs a noise invariant under permutations and sign flips"
        )
    return space


def _memoised_objective(noise: Noise, d: int, space: str, sizes: list[int], zero_tol: float,
                        cost: Callable[[Direction], float], memo: dict[tuple, float],
                        result: PSOResult) -> Callable[[np.ndarray], np.ndarray]:
    """The swarm's objective: positions -> ``cost`` of their canonical directions, one cost
    call per distinct direction (``memo``), every new one recorded in ``result``."""

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

    return objective

