"""The records of a Monte Carlo engine run: what :func:`~unicr.engines.montecarlo.run_mc` did.

Kept apart from the pipeline (:mod:`unicr.engines.montecarlo`) and its explanation
(:mod:`unicr.engines.montecarlo_explain`), which both read them, so that neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from unicr.certificate import Witness
from unicr.engines.mc_options import MCOptions
from unicr.neyman_pearson.direction import Direction
from unicr.search.bracket import ScaleBracket

__all__ = ["DirectionRun", "MCRun", "MCBounds"]


@dataclass
class DirectionRun:
    """Search (on S1) and verification (on S2) along one direction: brackets, ladders, indices."""

    direction: Direction
    est: ScaleBracket | None
    passed: ScaleBracket | None = None
    failed: ScaleBracket | None = None
    verified_pass: float | None = None
    verified_fail: float | None = None
    pass_index: int | None = None
    fail_index: int | None = None
    pass_ladder: list[float] = field(default_factory=list)
    fail_ladder: list[float] = field(default_factory=list)
    n_evals: int = 0


@dataclass(frozen=True)
class MCRun:
    """What one :func:`run_mc` did: the input of the certificate's numbers (``_bounds`` of the engine)
    and of its explanation (:func:`unicr.engines.montecarlo_explain.explain_mc`)."""

    #: the validated options of the run
    options: MCOptions
    #: the norm p, the dimension d and whether the test is binary (pB = 1 - pA)
    p: float
    d: int
    binary: bool
    #: rotation invariance used (spherically symmetric noise): one direction, lower bound
    spherical: bool
    #: the noise is a product (i.i.d.) noise
    product: bool
    #: draws in the search sample S1
    n_search: int
    #: DKW band of the first rung used by the searches (0 in estimate mode)
    band0: float
    #: a failure can be proven at all with this sample (``_fail_possible`` of the engine)
    fail_possible: bool
    #: the band D that made a failure unprovable (``None`` when one is provable)
    unprovable_band: float | None
    #: directions ranked by cost ``lambda ||u||_p`` (after refinement), best first
    ranked: tuple[tuple[Direction, float], ...]
    #: structured directions and PSO cost calls of the direction search
    n_structured: int
    n_pso: int
    #: search and verification along the chosen direction ``ranked[0]``
    chosen: DirectionRun
    #: the coordinate-wise draws ran on torch / why torch was not used
    on_torch: bool
    torch_fallback: str | None
    #: ``min ||delta||_p / ||delta||_2`` over R^d (``_lp_factor`` of the engine)
    lp_factor: float


@dataclass(frozen=True)
class MCBounds:
    """The certificate's numbers from an :class:`MCRun` (norms in l_p)."""

    lower: float
    upper: float
    #: UniCR's point estimate (NaN when its statistic has no sign change)
    estimate: float
    witness: Witness | None
    #: a verified pass lay above the verified failure, so ``lower`` was set to 0
    lower_withheld: bool
