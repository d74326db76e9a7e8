"""``radius_mc``: the UniCR Monte Carlo engine, as published and sound.

Pipeline (docs/montecarlo-engine.md has the full story):

1. **Draws.**  Three independent streams from one seed: a *search* sample S1 (direction and
   scale search), a fresh *verification* sample S2 of ``n_mc`` draws, and the PSO's random
   numbers.  Common random numbers inside each stream (every scale, every direction).
2. **Directions.**  Spherically symmetric noise (i.i.d. Gaussian, l2-radial joint noise): one
   direction suffices (rotation invariance).  Otherwise structured k-equal directions and/or
   PSO (Hong et al. 2022, App. C.3) on a selection subsample of S1; the best few are refined
   on all of S1.
3. **Scale search** along the chosen direction on S1 (Algorithm 2 with a tolerance in lambda):
   the boundaries of UniCR's point statistic, of the sound pass test and of the sound failure
   test (:mod:`unicr.neyman_pearson.sampled`), the bands being those of the verification.
4. **Verification (sound mode).**  Because S1 chose the scales, the statements are checked on
   S2: a predetermined ladder of candidate scales below the S1 pass boundary (and above the
   S1 failure boundary), spaced by the S1 estimate of the sampling error; candidate ``k``
   spends ``alpha_k`` (weights ``1/((k+1)(k+2))``), split over its two one-sided DKW events.
   The first candidate that verifies is reported; the union bound over every candidate and
   statement gives ``confidence = 1 - alpha_np``.
5. **Certificate.**  ``upper`` = the norm of the verified failing perturbation (witness).
   ``lower`` = the verified pass, only through rotation invariance (spherically symmetric noise:
   every l2 direction is equivalent, and ``min ||delta||_p / ||delta||_2`` converts to l_p);
   otherwise 0 (no reduction theorem in this engine).  ``estimate`` = UniCR's point estimate.

Where things live: the options are :class:`unicr.engines.mc_options.MCOptions`; the pipeline
(:func:`run_mc`) returns a :class:`MCRun` record of what it did, from which
:func:`_bounds` takes the certificate's numbers and
:func:`unicr.engines.montecarlo_explain.explain_mc` writes its ``assumptions`` text.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from unicr.certificate import Certificate, Witness
from unicr.engines.mc_options import DEFAULTS, MCOptions
from unicr.engines.mc_records import DirectionRun, MCBounds, MCRun
from unicr.engines.montecarlo_explain import explain_mc
from unicr.errors import ConvergenceError, InvalidParameterError
from unicr.neyman_pearson import banks
from unicr.neyman_pearson.direction import (
    Direction,
    canonical_direction,
    k_equal,
    noise_symmetric,
    permutation_invariant,
)
from unicr.neyman_pearson.sampled import dkw_band
from unicr.neyman_pearson.statement import Statement
from unicr.noises.base import JointNoise, Noise, ProductNoise
from unicr.search.directions import pso_search, structured_family, structured_ks
from unicr.search.scale import Search

__all__ = ["radius_mc", "run_mc", "directional_bracket", "DirectionalResult", "DEFAULTS",
           "MCOptions", "MCRun", "MCBounds"]

log = logging.getLogger(__name__)

_REFINE = 3  # directions refined on the whole search sample


# ---------------------------------------------------------------------------
# alpha plan
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ladder:
    """Per-candidate statement levels and DKW bands for one statement family."""

    alpha: float
    alphas: tuple[float, ...]
    bands: tuple[float, ...]


def _ladder(n: int, alpha: float, k: int) -> _Ladder:
    """The verification ladder of ``k`` candidates on ``n`` draws spending ``alpha`` in all:
    candidate i gets ``alpha_i`` proportional to ``1/((i+1)(i+2))`` (module docstring, step 4)
    and the one-sided DKW band (Massart) of ``alpha_i / 2``."""
    raw = [1.0 / ((i + 1) * (i + 2)) for i in range(k)]
    tot = sum(raw)
    alphas = tuple(alpha * r / tot for r in raw)
    # two one-sided DKW events per statement (X-law and Y-law), alpha_k/2 each
    bands = tuple(dkw_band(n, a / 2.0) for a in alphas)
    return _Ladder(alpha=alpha, alphas=alphas, bands=bands)


def _fail_possible(band: float, pa: float, pb: float | None) -> bool:
    """A failure is provable only if D < 1 - pA (and D < pB two-sided).

    Otherwise the upper bound on the worst-case top-class probability stays above every
    threshold (``pA + D >= 1`` lets the X-CDF be anywhere) or the lower bound on the runner-up
    one is ``-inf``.
    """
    return band < 1.0 - pa and (pb is None or band < pb)


def _check_room(n: int, band: float, pa: float, pb: float | None, alpha: float) -> None:
    """The sound test at lambda -> 0 needs pA - 2D > 1/2 (binary) or pA - 2D > pB + 2D."""
    room = (pa - 0.5) / 2.0 if pb is None else (pa - pb) / 4.0
    if band < room:
        return
    need = band * band * n / (room * room)
    what = "1/2" if pb is None else f"pB = {pb:g}"
    raise InvalidParameterError(
        f"n_mc = {n} is too small for alpha_np = {alpha:g}: the DKW band D = {band:.4g} leaves "
        f"no room between pA = {pa:g} and {what} (the sound test needs "
        f"{'pA - 2D > 1/2' if pb is None else 'pA - 2D > pB + 2D'}); "
        f"use n_mc >= {int(math.ceil(need * 1.05))} or a larger alpha_np"
    )


# ---------------------------------------------------------------------------
# banks
# ---------------------------------------------------------------------------


class _Banks:
    """Lazily built banks of one stream (specialised and general), all from one seed."""

    def __init__(self, noise: Noise, d: int, seed: np.random.SeedSequence, n: int,
                 options: MCOptions, ks: list[int], exact_kequal: bool = False):
        self.noise, self.d, self.seed, self.n = noise, d, seed, n
        self.options, self.ks = options, ks
        self.spherical = options.reduction and banks.is_spherical(noise)
        self._special: Any = None
        self._general: Any = None
        # exact per-row reductions along k-equal directions (uniform, Laplace product noise,
        # :class:`banks.KEqualProductBank`).  Their draws differ from the coordinate-wise
        # bank's, so they are used only where no k-equal direction is compared with a vector
        # direction (a PSO ranks both kinds on common random numbers): structured searches and
        # the verification sample.
        self._kequal: Any = None
        self.kequal = exact_kequal and banks.kequal_family(noise) is not None
        #: the coordinate-wise draws live on a torch device / why torch could not be used
        self.on_torch = False
        self.torch_fallback: str | None = None

    def for_direction(self, dirn: Direction) -> Any:
        """The bank that evaluates ``dirn``: a specialised one when the noise and direction
        allow it (rotation invariance, l_inf k-equal, exact k-equal rows), else the
        coordinate-wise bank (on torch when asked and possible)."""
        nz, options = self.noise, self.options
        if self.spherical:
            if self._special is None:
                self._special = banks.make_bank(nz, self.n, self.d, self.seed, options.dtype,
                                                options.memory_budget)
            return self._special
        if (banks.linf_radial(nz) and dirn.kind == "k-equal" and dirn.k in self.ks):
            if self._special is None:
                self._special = banks.LinfKEqualBank(nz, self.n, self.seed, options.dtype,
                                                     self.ks)
            return self._special
        if self.kequal and dirn.kind == "k-equal" and 1 <= dirn.k <= self.d:
            if self._kequal is None:
                self._kequal = banks.KEqualProductBank(nz, self.n, self.seed, options.dtype,
                                                       options.memory_budget)
            return self._kequal
        if self._general is None:
            if options.backend == "torch":
                # the coordinate-wise banks on the device (unicr issue #4); ``torch_fallback``
                # says why a noise without torch implementation runs on the numpy banks
                from unicr.neyman_pearson.torch_banks import make_torch_bank

                self._general, self.torch_fallback = make_torch_bank(
                    nz, self.n, self.d, self.seed, options.dtype, options.memory_budget,
                    options.device)
                self.on_torch = self._general is not None
                if self._general is None:
                    log.info("torch backend not used: %s", self.torch_fallback)
            if self._general is None:
                self._general = banks.make_bank(nz, self.n, self.d, self.seed, options.dtype,
                                                options.memory_budget, general=True)
        return self._general


def _typical_scale(noise: Noise) -> float:
    """The noise's sigma when finite, else its scale: the first trial scale of a search."""
    sig = noise.sigma
    return float(sig) if sig is not None and math.isfinite(sig) else float(noise.scale)


# ---------------------------------------------------------------------------
# one direction: search on S1, verify on S2
# ---------------------------------------------------------------------------


def _search(bank: Any, dirn: Direction, pa: float, pb: float | None, band: float,
            rel_tol: float) -> Search:
    """The scale search along ``dirn`` on ``bank``, both statements at DKW band ``band``."""
    return Search.along(bank.for_direction(dirn).model(dirn), pa, pb, band, band, rel_tol)


def _spacing(model: Any, lam: float, statement: Statement, pa: float, pb: float | None,
             bands: tuple[float, ...], n_search: int, n_verify: int,
             rel_tol: float) -> tuple[float, float, float]:
    """Placement of the verification ladder, from S1 only: ``(kappa, slope, sens)``.

    ``slope``: decrease of the margin per unit ``log lambda`` (two nearby scales); ``kappa``:
    the S1-vs-S2 sampling error of the boundary in ``log lambda`` (the margin's standard
    deviation from 8 slices of S1, x1.25, over the slope); ``sens``: decrease of the margin per
    unit of DKW band (the same losses with the last rung's band), which sets how much further
    out a rung with a wider band must sit.  Only the placement of the (predetermined) ladder
    depends on these, never the validity of a verified statement.
    """
    from unicr.neyman_pearson.sampled import margins, margins_batch

    d0, dl = bands[0], bands[-1]
    h = 0.02
    lams = [lam, lam * math.exp(-h), lam * math.exp(h)]
    lx, ly, eta = model.losses(lams)
    n = lx.shape[1]

    def at(i: int, band: float) -> float:
        return float(margins(lx[i], None if ly is None else ly[i], pa, pb, band, band,
                             eta[i])[statement])

    slope = (at(1, d0) - at(2, d0)) / (2.0 * h)
    # a wider band lowers the pass margin and raises the failure margin
    raw = (at(0, dl) - at(0, d0)) / (dl - d0) if dl > d0 else 0.0
    sens = max(0.0, -raw if statement == Statement.PASS else raw)
    nsl = 8 if n >= 800 else max(2, n // 100)
    size = n // nsl
    if size >= 20:
        xs = lx[0, : size * nsl].reshape(nsl, size)
        ys = None if ly is None else ly[0, : size * nsl].reshape(nsl, size)
        mm = margins_batch(xs, ys, pa, pb, d0, d0, eta[0])[:, statement]
        sd_sub = float(np.std(mm, ddof=1))
    else:
        sd_sub = 0.5
    sd_diff = 1.25 * sd_sub * math.sqrt(size) * math.sqrt(1.0 / n_search + 1.0 / n_verify)
    if not (slope > 0 and math.isfinite(slope)) or not math.isfinite(sd_diff):
        return 0.02, math.nan, sens
    return float(np.clip(sd_diff / slope, max(rel_tol, 5e-3), 0.1)), float(slope), float(sens)


def _rungs(start: float, kappa: float, slope: float, sens: float, bands: tuple[float, ...],
           sign: float) -> list[float]:
    """Ladder ``start * exp(sign * (kappa (k + 1/2) + shift_k))``: rung k also moves by the
    effect of its wider band, ``shift_k = sens (D_k - D_0) / slope`` (capped at 0.5)."""
    out = []
    ok = math.isfinite(slope) and slope > 0
    for k, band in enumerate(bands):
        shift = 0.0
        if ok and band > bands[0]:
            shift = sens * (band - bands[0]) / slope
            if not shift <= 0.5:  # the cap; also an infinite sensitivity (a margin that
                shift = 0.5       # becomes infinite at the widest band), never NaN
        out.append(start * math.exp(sign * (kappa * (k + 0.5) + shift)))
    return out


def _verify(bank: Any, dirn: Direction, cands: list[float], statement: Statement, pa: float,
            pb: float | None, bands: tuple[float, ...]) -> int | None:
    """First candidate that verifies on the fresh sample (pass: margin > 0; fail: <= 0)."""
    model = bank.for_direction(dirn).model(dirn)
    step = 2  # the first rungs usually verify: stop early
    for start in range(0, len(cands), step):
        sl = slice(start, min(len(cands), start + step))
        ms = model.margins_batch(cands[sl], pa, pb, list(bands[sl]), list(bands[sl]))
        for i, m in enumerate(ms):
            if statement == Statement.PASS:
                ok = m[Statement.PASS] > 0.0
            else:
                ok = m[Statement.FAIL] <= 0.0
            if ok:
                return start + i
    return None


def _ladder_on(verification_banks: _Banks, model: Any, dirn: Direction, start: float,
               statement: Statement, ladder: _Ladder, pa: float, pb: float | None,
               n_search: int, rel_tol: float) -> tuple[list[float], int | None]:
    """Rungs of the verification ladder from the search boundary ``start`` (below it for a
    pass, above it for a failure) and the index of the first rung verified on the fresh
    sample (``None``: none verified)."""
    kap, slope, sens = _spacing(model, start, statement, pa, pb, ladder.bands, n_search,
                                verification_banks.n, rel_tol)
    sign = -1.0 if statement == Statement.PASS else 1.0
    rungs = _rungs(start, kap, slope, sens, ladder.bands, sign)
    return rungs, _verify(verification_banks, dirn, rungs, statement, pa, pb, ladder.bands)


def _run_direction(dirn: Direction, search_banks: _Banks, verification_banks: _Banks | None,
                   pa: float, pb: float | None, options: MCOptions, lam0: float,
                   pass_ladder: _Ladder | None, fail_ladder: _Ladder | None,
                   first_step: float = 1.0) -> DirectionRun:
    """Steps 3-4 of the module docstring along ``dirn``: the point-estimate, pass and failure
    boundaries searched on the search sample, then each statement's ladder verified on the
    fresh sample (``verification_banks``; ``None`` in estimate mode)."""
    band0 = 0.0
    if fail_ladder is not None:
        band0 = fail_ladder.bands[0]
    elif pass_ladder is not None:
        band0 = pass_ladder.bands[0]
    search = _search(search_banks, dirn, pa, pb, band0, options.rel_tol)
    try:
        est = search.run(Statement.ESTIMATE, lam0, first_step)
    except ConvergenceError:
        if verification_banks is None:
            raise
        # UniCR's plug-in statistic can lack a boundary when the losses are all tied (S14);
        # the sound statements do not depend on it
        est = None
    run = DirectionRun(direction=dirn, est=est)
    if verification_banks is None:
        run.n_evals = len(search.cache_lam)
        return run
    start_lo = est.passes if est is not None else lam0
    start_hi = est.fails if est is not None else lam0
    model = search_banks.for_direction(dirn).model(dirn)
    if pass_ladder is not None:
        search_pass = _search(search_banks, dirn, pa, pb, pass_ladder.bands[0], options.rel_tol)
        if pass_ladder.bands[0] == band0:  # same bands: the cached margins are valid here too
            search_pass.cache_lam, search_pass.cache_m = search.cache_lam, search.cache_m
        run.passed = search_pass.run(Statement.PASS, start_lo, 0.05)
        run.pass_ladder, idx = _ladder_on(verification_banks, model, dirn, run.passed.passes,
                                          Statement.PASS, pass_ladder, pa, pb, search_banks.n,
                                          options.rel_tol)
        if idx is not None:
            run.pass_index = idx
            run.verified_pass = run.pass_ladder[idx]
    if fail_ladder is not None:
        run.failed = search.run(Statement.FAIL, start_hi, 0.05)
        run.fail_ladder, idx = _ladder_on(verification_banks, model, dirn, run.failed.fails,
                                          Statement.FAIL, fail_ladder, pa, pb, search_banks.n,
                                          options.rel_tol)
        if idx is not None:
            run.fail_index = idx
            run.verified_fail = run.fail_ladder[idx]
    run.n_evals = len(search.cache_lam)
    return run


# ---------------------------------------------------------------------------
# direction selection
# ---------------------------------------------------------------------------


def _select(noise: Noise, d: int, p: float, pa: float, pb: float | None, options: MCOptions,
            selection_banks: _Banks, statement: Statement, band: float,
            ks: list[int]) -> tuple[list, dict]:
    """Cost ``lambda(dir) ||dir||_p`` of candidate directions on the selection sample.

    ``cost`` is a pure function of (direction, selection sample): every search starts from
    the fixed scale ``typical / ||u||_2`` with doubling steps and snaps its evaluations to the
    geometric grid ``(1 + tol)^i`` (:func:`unicr.search.scale.search_core`), so the order
    in which directions are met never changes their cost (the nested PSO's monotonicity
    guarantee relies on it).  Under a single sign change of the predicate along the grid the
    boundary cell, hence the cost, does not even depend on the start.
    """
    info: dict[str, Any] = {"n_structured": 0, "n_pso": 0}
    tol = max(options.rel_tol, 1e-3)
    typical = _typical_scale(noise)
    memo: dict[tuple, float] = {}

    def cost(dirn: Direction) -> float:
        key = (dirn.kind, dirn.k, dirn.sign, dirn.values)
        if key in memo:
            return memo[key]
        nrm = dirn.norm(p)
        lam0 = typical / max(dirn.norm(2.0), 1e-300)
        try:
            br = _search(selection_banks, dirn, pa, pb, band, tol).run(statement, lam0, 1.0,
                                                                       grid=True)
            c = (br.fails if statement == Statement.FAIL else br.mid) * nrm
        except ConvergenceError as err:
            log.debug("direction %s skipped: %s", dirn.describe(), err)
            c = math.inf
        memo[key] = c
        return c

    cands: list[tuple[Direction, float]] = []
    if options.directions in ("structured", "both"):
        for dirn in structured_family(noise, d, p, ks):
            cands.append((dirn, cost(dirn)))
        info["n_structured"] = len(cands)
    if options.directions in ("pso", "both"):
        rng = np.random.default_rng(np.random.SeedSequence(options.seed, spawn_key=(3,)))
        res = pso_search(noise, d, p, cost, rng, particles=options.particles,
                         iterations=options.iterations, c1=options.c1, c2=options.c2,
                         w=options.w, space=options.pso_space, topology=options.pso_topology)
        cands.extend(res.evaluated)
        info["n_pso"] = res.n_cost_calls
    uniq: dict[tuple, tuple[Direction, float]] = {}
    for dirn, c in cands:
        uniq[(dirn.kind, dirn.k, dirn.sign, dirn.values)] = (dirn, c)
    ranked = sorted(uniq.values(), key=lambda t: t[1])
    if not ranked or not math.isfinite(ranked[0][1]):
        raise ConvergenceError(
            "direction search: no searched direction has a finite boundary scale "
            "(every scale search failed to bracket)"
        )
    return ranked, info


def _refine(ranked: list, search_banks: _Banks, p: float, pa: float, pb: float | None,
            options: MCOptions, statement: Statement, band: float) -> list:
    """Re-rank the best ``_REFINE`` directions on the whole search sample (costs from the
    selection subsample are noisier); directions whose search fails to bracket are dropped."""
    refined = []
    for dirn, c in ranked[:_REFINE]:
        try:
            br = _search(search_banks, dirn, pa, pb, band, options.rel_tol).run(
                statement, c / dirn.norm(p), 0.05)
            sound = options.mode == "sound"
            refined.append((dirn, (br.fails if sound else br.mid) * dirn.norm(p)))
        except ConvergenceError:
            continue
    return sorted(refined, key=lambda t: t[1]) if refined else ranked


# ---------------------------------------------------------------------------
# public entry points
# ---------------------------------------------------------------------------


def _lp_factor(p: float, d: int) -> float:
    """``min ||delta||_p / ||delta||_2`` over R^d: 1 for p <= 2, d^(1/p - 1/2) for p > 2."""
    if p <= 2.0:
        return 1.0
    if math.isinf(p):
        return 1.0 / math.sqrt(d)
    return d ** (1.0 / p - 0.5)


def _check_noise(noise: Any, d: int) -> None:
    """A built product noise, or a joint noise built for dimension ``d``."""
    if not isinstance(noise, (ProductNoise, JointNoise)):
        raise InvalidParameterError(
            f"the Monte Carlo engine needs a built unicr noise, got {type(noise).__name__}"
        )
    if isinstance(noise, JointNoise) and noise.d != d:
        raise InvalidParameterError(
            f"the joint noise {noise.name} was built for d={noise.d}, but d={d} was asked"
        )


def _n_search(noise: Noise, options: MCOptions, d: int, kmax: int,
              exact_kequal: bool | None = None) -> int:
    """Search sample size: all of ``n_mc`` when each scale costs O(n) (rotation invariance,
    per-draw statistics of k-equal directions), else what the memory budget keeps.

    ``exact_kequal``: every searched direction is k-equal (default: structured directions)."""
    if exact_kequal is None:
        exact_kequal = options.directions == "structured"
    if options.n_search is not None:
        if options.mode == "estimate":
            return min(options.n_search, options.n_mc)
        return options.n_search
    if (options.reduction and banks.is_spherical(noise)) or options.mode == "estimate":
        return options.n_mc
    if banks.linf_radial(noise) and options.directions == "structured":
        return options.n_mc  # per-draw statistics only (LinfKEqualBank)
    if banks.kequal_family(noise) is not None and exact_kequal:
        return options.n_mc  # a few numbers per draw (KEqualProductBank)
    width = d if isinstance(noise, JointNoise) else max(1, kmax)
    from unicr.neyman_pearson.kernels import kernel_for

    compiled = isinstance(noise, ProductNoise) and kernel_for(noise) is not None
    per_row = width * (options.dtype.itemsize + (0 if compiled else 8))
    fit = options.memory_budget // max(per_row, 1)
    return int(min(options.n_mc, max(fit, 2000)))


# ---------------------------------------------------------------------------
# the pipeline and its record
# ---------------------------------------------------------------------------


def _plan(options: MCOptions, spherical: bool, pa: float,
          pb: float | None) -> tuple[_Ladder | None, _Ladder | None, bool]:
    """The alpha plan (step 4): ``(pass_ladder, fail_ladder, fail_possible)``.

    Sound mode splits ``alpha_np`` between the pass ladder (spherical noise only: half) and
    the failure ladder; the failure ladder is dropped when no failure is provable."""
    if options.mode != "sound":
        return None, None, True
    alpha_pass = options.alpha_np / 2.0 if spherical else 0.0
    alpha_fail = options.alpha_np - alpha_pass
    pass_ladder = None
    fail_ladder = _ladder(options.n_mc, alpha_fail, options.candidates)
    if spherical:
        pass_ladder = _ladder(options.n_mc, alpha_pass, options.candidates)
        _check_room(options.n_mc, pass_ladder.bands[0], pa, pb, options.alpha_np)
    _check_room(options.n_mc, fail_ladder.bands[0], pa, pb, options.alpha_np)
    fail_possible = _fail_possible(fail_ladder.bands[0], pa, pb)
    return pass_ladder, (fail_ladder if fail_possible else None), fail_possible


def _streams(seed: int) -> tuple[np.random.SeedSequence, np.random.SeedSequence]:
    """The search and verification seeds (step 1), children 1 and 2 of ``seed``."""
    root = np.random.SeedSequence(seed)
    return (np.random.SeedSequence(root.entropy, spawn_key=(1,)),
            np.random.SeedSequence(root.entropy, spawn_key=(2,)))


def run_mc(noise: Noise, pa: float, pb: float | None, p: float, d: int,
           options: MCOptions) -> MCRun:
    """Steps 1-4 of the module docstring: draws, directions, scale search, verification."""
    sound = options.mode == "sound"
    spherical = options.reduction and banks.is_spherical(noise)
    product = isinstance(noise, ProductNoise)
    ks = list(options.k_values) if options.k_values else structured_ks(d, p, product)
    if spherical:
        ks = [1]
    pass_ladder, fail_ladder, fail_possible = _plan(options, spherical, pa, pb)
    band0 = fail_ladder.bands[0] if fail_ladder is not None else (
        pass_ladder.bands[0] if pass_ladder is not None else 0.0)
    search_seed, verification_seed = _streams(options.seed)
    n_search = _n_search(noise, options, d, max(ks))
    structured = options.directions == "structured"
    search_banks = _Banks(noise, d, search_seed, n_search, options, ks, exact_kequal=structured)
    verification_banks = _Banks(noise, d, verification_seed, options.n_mc, options, ks,
                                exact_kequal=True) if sound else None
    statement = Statement.FAIL if fail_ladder is not None else Statement.ESTIMATE
    info: dict[str, Any] = {"n_structured": 0, "n_pso": 0}
    banks_used = [search_banks] + ([verification_banks] if verification_banks else [])
    if spherical:
        ranked = [(k_equal(1), math.nan)]
    else:
        selection_banks = _Banks(noise, d, search_seed, min(n_search, options.n_pso), options,
                                 ks, exact_kequal=structured)
        banks_used.append(selection_banks)
        ranked, info = _select(noise, d, p, pa, pb, options, selection_banks, statement, band0,
                               ks)
        if len(ranked) > 1 and selection_banks.n < n_search:
            ranked = _refine(ranked, search_banks, p, pa, pb, options, statement, band0)
    chosen, cost = ranked[0]
    lam0 = cost / chosen.norm(p) if math.isfinite(cost) else \
        _typical_scale(noise) / max(chosen.norm(2.0), 1e-300)
    run = _run_direction(chosen, search_banks, verification_banks, pa, pb, options, lam0,
                         pass_ladder, fail_ladder, 1.0 if spherical else 0.05)
    unprovable = None
    if sound and not fail_possible:
        unprovable = _ladder(options.n_mc, options.alpha_np, options.candidates).bands[0]
    return MCRun(
        options=options, p=p, d=d, binary=pb is None, spherical=spherical, product=product,
        n_search=n_search, band0=band0, fail_possible=fail_possible,
        unprovable_band=unprovable, ranked=tuple(ranked), n_structured=info["n_structured"],
        n_pso=info["n_pso"], chosen=run, on_torch=any(b.on_torch for b in banks_used),
        torch_fallback=next((b.torch_fallback for b in banks_used if b.torch_fallback), None),
        lp_factor=_lp_factor(p, d),
    )


def _witness(record: MCRun, noise: Noise, upper: float, scale_per_lam: float) -> Witness:
    """The verified failing perturbation (step 5), in the direction reported to the user."""
    run, options = record.chosen, record.options
    if record.spherical:
        wdir = k_equal(1) if record.p <= 2.0 else k_equal(record.d)
        equivalent = "any rotation (spherically symmetric noise)"
    else:
        wdir = run.direction
        equivalent = ("any permutation" + (" and sign flip" if noise_symmetric(noise) else "")
                      + " of it") if permutation_invariant(noise) else "this vector"
    return Witness(
        direction=wdir.describe(),
        scale=run.verified_fail * scale_per_lam,
        norm_value=upper,
        detail={
            "verified_on": "fresh sample",
            "n_verify": options.n_mc,
            "ladder_index": run.fail_index,
            "search_fail_scale": (run.failed.fails * scale_per_lam if run.failed else None),
            "search_evaluations": run.n_evals,
            "seed": options.seed,
            "equivalent_to": equivalent,
        },
    )


def _bounds(record: MCRun, noise: Noise) -> MCBounds:
    """Step 5: ``upper`` from the verified failure, ``lower`` from the verified pass (rotation
    invariance only), ``estimate`` from the point statistic, all as l_p norms."""
    run = record.chosen
    if record.spherical:
        to_norm = record.lp_factor  # l2 norm lambda (||e_1||_2 = 1) -> l_p radius
        scale_per_lam = 1.0 if record.p <= 2.0 else 1.0 / math.sqrt(record.d)
    else:
        to_norm = run.direction.norm(record.p)
        scale_per_lam = 1.0
    estimate = run.est.mid * to_norm if run.est is not None else math.nan
    lower, upper, witness = 0.0, math.inf, None
    withheld = False
    if record.options.mode == "sound":
        if run.verified_fail is not None:
            upper = run.verified_fail * to_norm
            witness = _witness(record, noise, upper, scale_per_lam)
        if record.spherical and run.verified_pass is not None:
            lower = run.verified_pass * to_norm
        if lower > upper:
            lower, withheld = 0.0, True
    return MCBounds(lower=lower, upper=upper, estimate=estimate, witness=witness,
                    lower_withheld=withheld)


def _options(d: int, options: MCOptions | None, kwargs: dict[str, Any]) -> MCOptions:
    """The run's options: ``options`` (default :data:`DEFAULTS`) with ``kwargs`` applied,
    checked for dimension ``d``."""
    if options is None:
        return MCOptions.from_kwargs(kwargs, d)
    if not isinstance(options, MCOptions):
        raise InvalidParameterError(
            f"options must be an MCOptions, got {type(options).__name__}"
        )
    return (options.replace(**kwargs) if kwargs else options).for_dimension(d)


def radius_mc(noise: Noise, pa: float, pb: float | None, p: float, d: int,
              options: MCOptions | None = None, **kwargs: Any) -> Certificate:
    """Certified l_p radius by the UniCR Monte Carlo method (Hong et al. 2022, Theorem 1).

    Parameters (validated by :func:`unicr.radius`): a built noise (product or joint with
    ``noise.d == d``), ``pa`` in (0, 1), ``pb`` None (binary, Theorem 3) or < pa, ``p`` in
    (0, inf], ``d``.  Options: an :class:`~unicr.engines.mc_options.MCOptions` and/or its
    fields as keywords (defaults in :data:`DEFAULTS`; each field documented there): ``mode``
    ("sound": statements verified on a fresh sample, ``confidence = 1 - alpha_np``;
    "estimate": UniCR's published point estimate only), ``n_mc``, ``alpha_np``, ``seed``,
    the direction search (``directions``, PSO settings, ``k_values``), ``rel_tol``,
    ``candidates``, ``reduction`` (rotation invariance for spherically symmetric noise) and
    where the draws live (``dtype``, ``device``, ``backend``, ``memory_budget``,
    ``n_search``).

    The pipeline (:func:`run_mc`) records what it did; :func:`_bounds` takes the numbers and
    :func:`~unicr.engines.montecarlo_explain.explain_mc` the assumptions text from that record.
    """
    t0 = time.perf_counter()
    _check_noise(noise, d)
    options = _options(d, options, kwargs)
    record = run_mc(noise, pa, pb, p, d, options)
    bounds = _bounds(record, noise)
    assumptions = explain_mc(record, bounds)
    sound = options.mode == "sound"
    log.debug("radius_mc done in %.3fs", time.perf_counter() - t0)
    return Certificate(
        lower=float(bounds.lower), upper=float(bounds.upper),
        estimate=bounds.estimate if math.isfinite(bounds.estimate) else None,
        confidence=1.0 - options.alpha_np if sound else 1.0, method="mc", norm=p, d=d, pa=pa,
        pb=pb, assumptions=assumptions, witness=bounds.witness, noise=noise.definition(),
        tolerance=options.rel_tol,
    )


@dataclass(frozen=True)
class DirectionalResult:
    """Sound bracket of the boundary scale along one fixed direction.

    ``lower_scale``: verified to pass (all of ``lam u`` for this lam; not a bound on R*
    unless every direction is equivalent); ``upper_scale``: verified to fail.  Norms via
    ``scale * ||u||_p``.  ``confidence`` covers both statements.
    """

    direction: dict[str, Any]
    lower_scale: float
    upper_scale: float
    estimate_scale: float
    confidence: float
    search_bracket: tuple[float, float]
    n_verify: int
    n_search: int


def _direction_of(direction: Any, d: int, noise: Noise) -> Direction:
    """``direction`` (a d-vector, ``("k-equal", k)`` or an int k) as a canonical
    :class:`~unicr.neyman_pearson.direction.Direction`, checked against ``d``."""
    if isinstance(direction, (int, np.integer)):
        dirn = k_equal(int(direction))
    elif isinstance(direction, tuple) and direction and direction[0] == "k-equal":
        dirn = k_equal(int(direction[1]))
    else:
        u = np.asarray(direction, dtype=np.float64)
        if u.shape != (d,):
            raise InvalidParameterError(f"direction must have shape ({d},), got {u.shape}")
        dirn, _ = canonical_direction(u, noise)
        if dirn.k == 0:
            raise InvalidParameterError("direction must not be the zero vector")
    if not (1 <= dirn.k <= d):
        raise InvalidParameterError(f"k-equal direction needs 1 <= k <= d = {d}, got {dirn.k}")
    return dirn


def directional_bracket(noise: Noise, pa: float, pb: float | None, direction: Any, d: int,
                        options: MCOptions | None = None, **kwargs: Any) -> DirectionalResult:
    """Sound pass/fail bracket along one direction (Hong et al. 2022, Theorem 1, Algorithm 2).

    ``direction``: a d-vector, ``("k-equal", k)`` or an ``int`` k.  Same options as
    :func:`radius_mc` (direction-search options are ignored).  Both statements are verified on
    a fresh sample; ``confidence = 1 - alpha_np`` covers them jointly.
    """
    _check_noise(noise, d)
    options = _options(d, options, kwargs)
    dirn = _direction_of(direction, d, noise)
    pass_ladder = _ladder(options.n_mc, options.alpha_np / 2.0, options.candidates)
    fail_ladder = _ladder(options.n_mc, options.alpha_np / 2.0, options.candidates)
    _check_room(options.n_mc, pass_ladder.bands[0], pa, pb, options.alpha_np)
    search_seed, verification_seed = _streams(options.seed)
    ks = [dirn.k] if dirn.kind == "k-equal" else []
    n_search = _n_search(noise, options, d, dirn.k, exact_kequal=dirn.kind == "k-equal")
    search_banks = _Banks(noise, d, search_seed, n_search, options, ks, exact_kequal=True)
    verification_banks = _Banks(noise, d, verification_seed, options.n_mc, options, ks,
                                exact_kequal=True)
    lam0 = _typical_scale(noise) / max(dirn.norm(2.0), 1e-300)
    if not _fail_possible(fail_ladder.bands[0], pa, pb):
        fail_ladder = None
    run = _run_direction(dirn, search_banks, verification_banks, pa, pb, options, lam0,
                         pass_ladder, fail_ladder)
    return DirectionalResult(
        direction=dirn.describe(),
        lower_scale=run.verified_pass if run.verified_pass is not None else 0.0,
        upper_scale=run.verified_fail if run.verified_fail is not None else math.inf,
        estimate_scale=run.est.mid if run.est is not None else math.nan,
        confidence=1.0 - options.alpha_np,
        search_bracket=(run.passed.passes if run.passed else math.nan,
                        run.failed.fails if run.failed else math.nan),
        n_verify=options.n_mc,
        n_search=n_search,
    )
