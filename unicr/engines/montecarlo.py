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
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from unicr.certificate import Certificate, Witness, norm_label
from unicr.errors import ConvergenceError, InvalidParameterError
from unicr.neyman_pearson import banks as M
from unicr.neyman_pearson.sampled import EST, FAIL, PASS, dkw_band, unicr_confidence
from unicr.noises.base import JointNoise, Noise, ProductNoise
from unicr.search.directions import pso_search, structured_family, structured_ks
from unicr.search.scale import ScaleBracket, Search

__all__ = ["radius_mc", "directional_bracket", "DirectionalResult", "DEFAULTS"]

log = logging.getLogger(__name__)

#: default keyword arguments of :func:`radius_mc`
DEFAULTS: dict[str, Any] = {
    "mode": "sound",
    "n_mc": 100_000,
    "alpha_np": 1e-3,
    "seed": 0,
    "directions": "structured",
    "particles": 10,
    "iterations": 20,
    "c1": 0.5,
    "c2": 0.3,
    "w": 0.9,
    "rel_tol": 1e-4,
    "dtype": "float64",
    "device": None,
    "backend": "auto",
    "memory_budget": 512 * 2**20,
    "n_search": None,
    "n_pso": 2000,
    "pso_space": "auto",
    "pso_topology": "nested",
    "k_values": None,
    "candidates": 8,
    "reduction": True,
}

_MODES = ("sound", "estimate")
_DIRECTIONS = ("structured", "pso", "both")
_SPACES = ("auto", "full", "sorted", "levels")
_REFINE = 3  # directions refined on the whole search sample


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------


def _int(name: str, v: Any, low: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer, float)):
        raise InvalidParameterError(f"{name} must be an integer >= {low}, got {v!r}")
    if isinstance(v, float) and (not math.isfinite(v) or v != int(v)):
        raise InvalidParameterError(f"{name} must be an integer >= {low}, got {v!r}")
    iv = int(v)
    if iv < low:
        raise InvalidParameterError(f"{name} must be an integer >= {low}, got {v!r}")
    return iv


def _float(name: str, v: Any, low: float, high: float, low_open: bool = True,
           high_open: bool = True) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{name} must be a number, got {v!r}") from None
    if isinstance(v, bool) or not math.isfinite(f):
        raise InvalidParameterError(f"{name} must be a finite number, got {v!r}")
    bad_low = f < low or (low_open and f == low)
    bad_high = f > high or (high_open and f == high)
    if bad_low or bad_high:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise InvalidParameterError(f"{name} must lie in {lo}{low:g}, {high:g}{hi}, got {v!r}")
    return f


def _bool(name: str, v: Any) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise InvalidParameterError(f"{name} must be True or False, got {v!r}")
    return bool(v)


def _choice(name: str, v: Any, options: tuple[str, ...]) -> str:
    if not isinstance(v, str) or v not in options:
        raise InvalidParameterError(f"{name} must be one of {', '.join(options)}, got {v!r}")
    return v


def _dtype(v: Any) -> np.dtype:
    try:
        dt = np.dtype(str(v).replace("torch.", ""))
    except TypeError:
        dt = None
    if dt is None or dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise InvalidParameterError(f"dtype must be 'float64' or 'float32', got {v!r}")
    return dt


_BACKENDS = ("auto", "numpy", "torch")


def _device(v: Any, backend: Any = "auto") -> tuple[str, str]:
    """Validated ``(device, backend)``: device ``"cpu"`` or ``"cuda:N"``; backend ``"numpy"``
    (numpy/numba on the CPU) or ``"torch"`` (the general banks on ``device``,
    :mod:`unicr.neyman_pearson.torch_banks`).

    ``device=None``: CUDA when torch sees it, else the CPU (always the CPU for
    ``backend="numpy"``).  ``backend="auto"``: torch on a CUDA device, numpy on the CPU.
    """
    from unicr.neyman_pearson import torch_banks as TB

    backend = _choice("backend", backend, _BACKENDS)
    if backend == "torch" and not TB.torch_available():
        raise InvalidParameterError("backend='torch' needs PyTorch, which is not importable; "
                                    "install torch or use backend='numpy'")
    if v is None:
        dev = "cuda" if backend != "numpy" and TB.cuda_available() else "cpu"
    else:
        dev = v
    if isinstance(dev, str) and dev.strip().lower() == "cpu":
        dev = "cpu"
    else:
        if not TB.torch_available():
            raise InvalidParameterError(f"device {v!r} needs PyTorch, which is not importable; "
                                        "use device='cpu'")
        dev = str(TB.resolve_device(dev))
    if backend == "auto":
        backend = "numpy" if dev == "cpu" else "torch"
    if backend == "numpy" and dev != "cpu":
        raise InvalidParameterError(f"device {v!r} with backend='numpy': the numpy/numba "
                                    "banks run on the CPU; use backend='torch' or 'auto'")
    return dev, backend


def _seed(v: Any) -> int:
    if isinstance(v, np.random.Generator):
        return int(v.integers(0, 2**63 - 1))
    if v is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or int(v) < 0:
        raise InvalidParameterError(
            f"seed must be a non-negative integer, a numpy Generator or None, got {v!r}"
        )
    return int(v)


@dataclass
class _Settings:
    mode: str
    n_mc: int
    alpha_np: float
    seed: int
    directions: str
    particles: int
    iterations: int
    c1: float
    c2: float
    w: float
    rel_tol: float
    dtype: np.dtype
    device: str
    backend: str
    memory_budget: int
    n_search: int | None
    n_pso: int
    pso_space: str
    pso_topology: str
    k_values: list[int] | None
    candidates: int
    reduction: bool


def _settings(d: int, kw: dict[str, Any]) -> _Settings:
    unknown = sorted(set(kw) - set(DEFAULTS))
    if unknown:
        raise InvalidParameterError(
            f"unknown option(s) for method='mc': {', '.join(unknown)}; "
            f"known: {', '.join(DEFAULTS)}"
        )
    o = {**DEFAULTS, **kw}
    from unicr.search.directions import TOPOLOGIES

    mode = _choice("mode", o["mode"], _MODES)
    directions = _choice("directions", o["directions"], _DIRECTIONS)
    space = _choice("pso_space", o["pso_space"], _SPACES)
    topology = _choice("pso_topology", o["pso_topology"], TOPOLOGIES)
    ks = o["k_values"]
    if ks is not None:
        try:
            ks = sorted({_int("k_values entry", k, 1) for k in ks})
        except TypeError:
            raise InvalidParameterError(
                f"k_values must be a list of integers, got {ks!r}"
            ) from None
        if not ks or ks[-1] > d:
            raise InvalidParameterError(f"k_values must be integers in [1, d={d}], got {ks!r}")
    n_search = o["n_search"]
    if n_search is not None:
        n_search = _int("n_search", n_search, 100)
    device, backend = _device(o["device"], o["backend"])
    budget = _int("memory_budget", o["memory_budget"], 2**20)
    # sizes from user input are checked before anything is allocated: a direction is a dense
    # d-vector and a block of draws holds at least one row of d coordinates
    if 8 * d > budget:
        raise InvalidParameterError(
            f"d={d} is too large for the Monte Carlo engine: one d-dimensional draw or "
            f"direction takes {8 * d:.3g} bytes, beyond memory_budget={budget} bytes; raise "
            "memory_budget, or use the exact engine (method exact) for product noise"
        )
    return _Settings(
        mode=mode,
        n_mc=_int("n_mc", o["n_mc"], 100),
        alpha_np=_float("alpha_np", o["alpha_np"], 0.0, 0.5, high_open=False),
        seed=_seed(o["seed"]),
        directions=directions,
        particles=_int("particles", o["particles"], 1),
        iterations=_int("iterations", o["iterations"], 1),
        c1=_float("c1", o["c1"], 0.0, 1e3, low_open=False),
        c2=_float("c2", o["c2"], 0.0, 1e3, low_open=False),
        w=_float("w", o["w"], 0.0, 1e3, low_open=False),
        rel_tol=_float("rel_tol", o["rel_tol"], 0.0, 0.5),
        dtype=_dtype(o["dtype"]),
        device=device,
        backend=backend,
        memory_budget=budget,
        n_search=n_search,
        n_pso=_int("n_pso", o["n_pso"], 100),
        pso_space=space,
        pso_topology=topology,
        k_values=ks,
        candidates=_int("candidates", o["candidates"], 1),
        reduction=_bool("reduction", o["reduction"]),
    )


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

    def __init__(self, noise: Noise, d: int, ss: np.random.SeedSequence, n: int,
                 s: _Settings, ks: list[int], exact_kequal: bool = False):
        self.noise, self.d, self.ss, self.n, self.s, self.ks = noise, d, ss, n, s, ks
        self.spherical = s.reduction and M.is_spherical(noise)
        self._special: Any = None
        self._general: Any = None
        # exact per-row reductions along k-equal directions (uniform, Laplace product noise,
        # :class:`M.KEqualProductBank`).  Their draws differ from the coordinate-wise bank's, so
        # they are used only where no k-equal direction is compared with a vector direction
        # (a PSO ranks both kinds on common random numbers): structured searches and the
        # verification sample.
        self._kequal: Any = None
        self.kequal = exact_kequal and M.kequal_family(noise) is not None
        #: the coordinate-wise draws live on a torch device / why torch could not be used
        self.on_torch = False
        self.torch_fallback: str | None = None

    def for_direction(self, dirn: M.Direction) -> Any:
        nz = self.noise
        if self.spherical:
            if self._special is None:
                self._special = M.make_bank(nz, self.n, self.d, self.ss, self.s.dtype,
                                            self.s.memory_budget)
            return self._special
        if (M.linf_radial(nz) and dirn.kind == "k-equal" and dirn.k in self.ks):
            if self._special is None:
                self._special = M.LinfKEqualBank(nz, self.n, self.ss, self.s.dtype, self.ks)
            return self._special
        if self.kequal and dirn.kind == "k-equal" and 1 <= dirn.k <= self.d:
            if self._kequal is None:
                self._kequal = M.KEqualProductBank(nz, self.n, self.ss, self.s.dtype,
                                                   self.s.memory_budget)
            return self._kequal
        if self._general is None:
            if self.s.backend == "torch":
                # the coordinate-wise banks on the device (unicr issue #4); ``torch_fallback``
                # says why a noise without torch implementation runs on the numpy banks
                from unicr.neyman_pearson.torch_banks import make_torch_bank

                self._general, self.torch_fallback = make_torch_bank(
                    nz, self.n, self.d, self.ss, self.s.dtype, self.s.memory_budget,
                    self.s.device)
                self.on_torch = self._general is not None
                if self._general is None:
                    log.info("torch backend not used: %s", self.torch_fallback)
            if self._general is None:
                self._general = M.make_bank(nz, self.n, self.d, self.ss, self.s.dtype,
                                            self.s.memory_budget, general=True)
        return self._general


def _typical_scale(noise: Noise) -> float:
    sig = noise.sigma
    return float(sig) if sig is not None and math.isfinite(sig) else float(noise.scale)


# ---------------------------------------------------------------------------
# one direction: search on S1, verify on S2
# ---------------------------------------------------------------------------


@dataclass
class _DirectionRun:
    direction: M.Direction
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


def _search(bank: Any, dirn: M.Direction, pa: float, pb: float | None, band: float,
            rel_tol: float) -> Search:
    return bank.for_direction(dirn).model(dirn).search(pa, pb, band, band, rel_tol)


def _spacing(model: Any, lam: float, which: int, pa: float, pb: float | None,
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
                             eta[i])[which])

    slope = (at(1, d0) - at(2, d0)) / (2.0 * h)
    # a wider band lowers the pass margin and raises the failure margin
    raw = (at(0, dl) - at(0, d0)) / (dl - d0) if dl > d0 else 0.0
    sens = max(0.0, -raw if which == PASS else raw)
    nsl = 8 if n >= 800 else max(2, n // 100)
    size = n // nsl
    if size >= 20:
        xs = lx[0, : size * nsl].reshape(nsl, size)
        ys = None if ly is None else ly[0, : size * nsl].reshape(nsl, size)
        mm = margins_batch(xs, ys, pa, pb, d0, d0, eta[0])[:, which]
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
    for k, band in enumerate(bands):
        ok = math.isfinite(slope) and slope > 0
        shift = sens * (band - bands[0]) / slope if ok else 0.0
        out.append(start * math.exp(sign * (kappa * (k + 0.5) + min(shift, 0.5))))
    return out


def _verify(bank: Any, dirn: M.Direction, cands: list[float], which: int, pa: float,
            pb: float | None, bands: tuple[float, ...]) -> int | None:
    """First candidate that verifies on the fresh sample (pass: margin > 0; fail: <= 0)."""
    model = bank.for_direction(dirn).model(dirn)
    step = 2  # the first rungs usually verify: stop early
    for start in range(0, len(cands), step):
        sl = slice(start, min(len(cands), start + step))
        ms = model.margins_batch(cands[sl], pa, pb, list(bands[sl]), list(bands[sl]))
        for i, m in enumerate(ms):
            ok = m[PASS] > 0.0 if which == PASS else m[FAIL] <= 0.0
            if ok:
                return start + i
    return None


def _run_direction(dirn: M.Direction, s1: _Banks, s2: _Banks | None, pa: float, pb: float | None,
                   s: _Settings, lam0: float, pass_ladder: _Ladder | None,
                   fail_ladder: _Ladder | None, first_step: float = 1.0) -> _DirectionRun:
    band0 = 0.0
    if fail_ladder is not None:
        band0 = fail_ladder.bands[0]
    elif pass_ladder is not None:
        band0 = pass_ladder.bands[0]
    srch = _search(s1, dirn, pa, pb, band0, s.rel_tol)
    try:
        est = srch.run(EST, lam0, first_step)
    except ConvergenceError:
        if s2 is None:
            raise
        # UniCR's plug-in statistic can lack a boundary when the losses are all tied (S14);
        # the sound statements do not depend on it
        est = None
    run = _DirectionRun(direction=dirn, est=est)
    if s2 is None:
        run.n_evals = len(srch.cache_lam)
        return run
    start_lo = est.lo if est is not None else lam0
    start_hi = est.hi if est is not None else lam0
    model1 = s1.for_direction(dirn).model(dirn)
    if pass_ladder is not None:
        srch_p = _search(s1, dirn, pa, pb, pass_ladder.bands[0], s.rel_tol)
        if pass_ladder.bands[0] == band0:  # same bands: the cached margins are valid here too
            srch_p.cache_lam, srch_p.cache_m = srch.cache_lam, srch.cache_m
        run.passed = srch_p.run(PASS, start_lo, 0.05)
        kap, slope, sens = _spacing(model1, run.passed.lo, PASS, pa, pb, pass_ladder.bands,
                                    s1.n, s2.n, s.rel_tol)
        run.pass_ladder = _rungs(run.passed.lo, kap, slope, sens, pass_ladder.bands, -1.0)
        idx = _verify(s2, dirn, run.pass_ladder, PASS, pa, pb, pass_ladder.bands)
        if idx is not None:
            run.pass_index = idx
            run.verified_pass = run.pass_ladder[idx]
    if fail_ladder is not None:
        run.failed = srch.run(FAIL, start_hi, 0.05)
        kap, slope, sens = _spacing(model1, run.failed.hi, FAIL, pa, pb, fail_ladder.bands,
                                    s1.n, s2.n, s.rel_tol)
        run.fail_ladder = _rungs(run.failed.hi, kap, slope, sens, fail_ladder.bands, 1.0)
        idx = _verify(s2, dirn, run.fail_ladder, FAIL, pa, pb, fail_ladder.bands)
        if idx is not None:
            run.fail_index = idx
            run.verified_fail = run.fail_ladder[idx]
    run.n_evals = len(srch.cache_lam)
    return run


# ---------------------------------------------------------------------------
# direction selection
# ---------------------------------------------------------------------------


def _select(noise: Noise, d: int, p: float, pa: float, pb: float | None, s: _Settings,
            sel: _Banks, which: int, band: float, ks: list[int]) -> tuple[list, dict]:
    """Cost ``lambda(dir) ||dir||_p`` of candidate directions on the selection sample.

    ``cost`` is a pure function of (direction, selection sample): every search starts from
    the fixed scale ``typical / ||u||_2`` with doubling steps and snaps its evaluations to the
    geometric grid ``(1 + tol)^i`` (:func:`unicr.search.scale.search_core`), so the order
    in which directions are met never changes their cost (the nested PSO's monotonicity
    guarantee relies on it).  Under a single sign change of the predicate along the grid the
    boundary cell, hence the cost, does not even depend on the start.
    """
    info: dict[str, Any] = {"n_structured": 0, "n_pso": 0}
    tol = max(s.rel_tol, 1e-3)
    typical = _typical_scale(noise)
    memo: dict[tuple, float] = {}

    def cost(dirn: M.Direction) -> float:
        key = (dirn.kind, dirn.k, dirn.sign, dirn.values)
        if key in memo:
            return memo[key]
        nrm = dirn.norm(p)
        lam0 = typical / max(dirn.norm(2.0), 1e-300)
        try:
            br = _search(sel, dirn, pa, pb, band, tol).run(which, lam0, 1.0, grid=True)
            c = (br.hi if which == FAIL else br.mid) * nrm
        except ConvergenceError as err:
            log.debug("direction %s skipped: %s", dirn.describe(), err)
            c = math.inf
        memo[key] = c
        return c

    cands: list[tuple[M.Direction, float]] = []
    if s.directions in ("structured", "both"):
        for dirn in structured_family(noise, d, p, ks):
            cands.append((dirn, cost(dirn)))
        info["n_structured"] = len(cands)
    if s.directions in ("pso", "both"):
        rng = np.random.default_rng(np.random.SeedSequence(s.seed, spawn_key=(3,)))
        res = pso_search(noise, d, p, cost, rng, particles=s.particles, iterations=s.iterations,
                         c1=s.c1, c2=s.c2, w=s.w, space=s.pso_space,
                         topology=s.pso_topology)
        cands.extend(res.evaluated)
        info["n_pso"] = res.n_cost_calls
    uniq: dict[tuple, tuple[M.Direction, float]] = {}
    for dirn, c in cands:
        uniq[(dirn.kind, dirn.k, dirn.sign, dirn.values)] = (dirn, c)
    ranked = sorted(uniq.values(), key=lambda t: t[1])
    if not ranked or not math.isfinite(ranked[0][1]):
        raise ConvergenceError(
            "direction search: no searched direction has a finite boundary scale "
            "(every scale search failed to bracket)"
        )
    return ranked, info


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
    if not isinstance(noise, (ProductNoise, JointNoise)):
        raise InvalidParameterError(
            f"the Monte Carlo engine needs a built unicr noise, got {type(noise).__name__}"
        )
    if isinstance(noise, JointNoise) and noise.d != d:
        raise InvalidParameterError(
            f"the joint noise {noise.name} was built for d={noise.d}, but d={d} was asked"
        )


def _n_search(noise: Noise, s: _Settings, d: int, kmax: int,
              exact_kequal: bool | None = None) -> int:
    """Search sample size: all of ``n_mc`` when each scale costs O(n) (rotation invariance,
    per-draw statistics of k-equal directions), else what the memory budget keeps.

    ``exact_kequal``: every searched direction is k-equal (default: structured directions)."""
    if exact_kequal is None:
        exact_kequal = s.directions == "structured"
    if s.n_search is not None:
        return min(s.n_search, s.n_mc) if s.mode == "estimate" else s.n_search
    if (s.reduction and M.is_spherical(noise)) or s.mode == "estimate":
        return s.n_mc
    if M.linf_radial(noise) and s.directions == "structured":
        return s.n_mc  # per-draw statistics only (LinfKEqualBank)
    if M.kequal_family(noise) is not None and exact_kequal:
        return s.n_mc  # a few numbers per draw (KEqualProductBank)
    width = d if isinstance(noise, JointNoise) else max(1, kmax)
    from unicr.neyman_pearson.kernels import kernel_for

    compiled = isinstance(noise, ProductNoise) and kernel_for(noise) is not None
    per_row = width * (s.dtype.itemsize + (0 if compiled else 8))
    fit = s.memory_budget // max(per_row, 1)
    return int(min(s.n_mc, max(fit, 2000)))


def radius_mc(noise: Noise, pa: float, pb: float | None, p: float, d: int,
              **kwargs: Any) -> Certificate:
    """Certified l_p radius by the UniCR Monte Carlo method (Hong et al. 2022, Theorem 1).

    Parameters (validated by :func:`unicr.radius`): a built noise (product or joint with
    ``noise.d == d``), ``pa`` in (0, 1), ``pb`` None (binary, Theorem 3) or < pa, ``p`` in
    (0, inf], ``d``.  Keyword options (defaults in :data:`DEFAULTS`):

    mode
        ``"sound"``: DKW-banded Neyman-Pearson statistics, statements verified on a fresh
        sample, ``confidence = 1 - alpha_np``.  ``"estimate"``: UniCR's published point
        estimate (plug-in quantiles), reported as ``estimate`` only.
    n_mc, alpha_np, seed
        verification sample size, its total alpha, reproducibility seed.
    directions, particles, iterations, c1, c2, w, pso_space, pso_topology, n_pso, k_values
        direction search: ``"structured"`` (k-equal family), ``"pso"`` (particle swarm,
        App. C.3: ``pso_topology="nested"``, monotone in particles and iterations, or
        ``"global"``, pyswarms GlobalBestPSO as UniCR) or ``"both"``; PSO swarm settings and
        the selection subsample size; the k of the structured family.
    rel_tol, candidates
        relative tolerance in lambda of the scale search; length of the verification ladder.
    reduction
        use rotation invariance for spherically symmetric noise (lower bound, one direction);
        ``False`` treats it like any noise (direction search, ``lower = 0``), as UniCR does.
    dtype, device, backend, memory_budget, n_search
        storage precision of the draws; where the coordinate-wise banks run (``device`` None:
        CUDA when present, else the CPU; ``backend`` "auto" | "numpy" | "torch"); bytes of
        draws kept in memory; size of the search sample.
    """
    t0 = time.perf_counter()
    _check_noise(noise, d)
    s = _settings(d, kwargs)
    sound = s.mode == "sound"
    binary = pb is None
    spherical = s.reduction and M.is_spherical(noise)
    product = isinstance(noise, ProductNoise)
    ks = s.k_values or structured_ks(d, p, product)
    if spherical:
        ks = [1]

    pass_ladder = fail_ladder = None
    fail_possible = True
    if sound:
        alpha_pass = s.alpha_np / 2.0 if spherical else 0.0
        alpha_fail = s.alpha_np - alpha_pass
        fail_ladder = _ladder(s.n_mc, alpha_fail, s.candidates)
        if spherical:
            pass_ladder = _ladder(s.n_mc, alpha_pass, s.candidates)
            _check_room(s.n_mc, pass_ladder.bands[0], pa, pb, s.alpha_np)
        _check_room(s.n_mc, fail_ladder.bands[0], pa, pb, s.alpha_np)
        fail_possible = _fail_possible(fail_ladder.bands[0], pa, pb)
        if not fail_possible:
            fail_ladder = None
    band0 = fail_ladder.bands[0] if fail_ladder is not None else (
        pass_ladder.bands[0] if pass_ladder is not None else 0.0)

    root = np.random.SeedSequence(s.seed)
    ss1 = np.random.SeedSequence(root.entropy, spawn_key=(1,))
    ss2 = np.random.SeedSequence(root.entropy, spawn_key=(2,))
    n1 = _n_search(noise, s, d, max(ks))
    structured = s.directions == "structured"
    s1 = _Banks(noise, d, ss1, n1, s, ks, exact_kequal=structured)
    s2 = _Banks(noise, d, ss2, s.n_mc, s, ks, exact_kequal=True) if sound else None

    which = FAIL if fail_ladder is not None else EST
    info: dict[str, Any] = {"n_structured": 0, "n_pso": 0}
    banks_used: list[_Banks] = [s1] + ([s2] if s2 is not None else [])
    if spherical:
        ranked = [(M.k_equal(1), math.nan)]
    else:
        n_sel = min(n1, s.n_pso)
        sel = _Banks(noise, d, ss1, n_sel, s, ks, exact_kequal=structured)
        banks_used.append(sel)
        ranked, info = _select(noise, d, p, pa, pb, s, sel, which, band0, ks)
        # refine the best few on the whole search sample
        if len(ranked) > 1 and n_sel < n1:
            refined = []
            for dirn, c in ranked[:_REFINE]:
                try:
                    br = _search(s1, dirn, pa, pb, band0, s.rel_tol).run(
                        which, c / dirn.norm(p), 0.05)
                    refined.append((dirn, (br.hi if sound else br.mid) * dirn.norm(p)))
                except ConvergenceError:
                    continue
            if refined:
                ranked = sorted(refined, key=lambda t: t[1])
    dirn = ranked[0][0]
    nrm = dirn.norm(p)
    lam0 = ranked[0][1] / nrm if math.isfinite(ranked[0][1]) else \
        _typical_scale(noise) / max(dirn.norm(2.0), 1e-300)
    run = _run_direction(dirn, s1, s2, pa, pb, s, lam0, pass_ladder, fail_ladder,
                         1.0 if spherical else 0.05)

    # -- assemble the certificate ------------------------------------------------------
    if spherical:
        fac = _lp_factor(p, d)
        to_norm = fac  # l2 norm lambda (||e_1||_2 = 1) -> l_p radius
        wdir = M.k_equal(1) if p <= 2.0 else M.k_equal(d)
        wscale_per_lam = 1.0 if p <= 2.0 else 1.0 / math.sqrt(d)
    else:
        to_norm = nrm
        wdir = dirn
        wscale_per_lam = 1.0
    estimate = run.est.mid * to_norm if run.est is not None else math.nan
    lower = 0.0
    upper = math.inf
    witness = None
    assumptions: list[str] = []
    form = "binary (Theorem 3, pB = 1 - pA)" if binary else "two-sided (Theorem 1)"
    if any(b.on_torch for b in banks_used):
        arith = (f"torch backend on {s.device}: draws from torch generators on the device, "
                 f"log densities in {s.dtype.name}, sums over coordinates in float64")
    else:
        arith = f"float64 arithmetic, draws stored as {s.dtype.name}"
    assumptions.append(
        f"Monte Carlo Neyman-Pearson test of Hong et al. 2022, {form}; losses summed in log "
        f"space ({arith}); rounding bounded and applied on the conservative side"
    )
    fallback = next((b.torch_fallback for b in banks_used if b.torch_fallback), None)
    if s.backend == "torch" and fallback:
        assumptions.append(f"torch backend not used for the coordinate-wise draws: {fallback}; "
                           "numpy/numba banks on the CPU instead")
    if sound:
        n_events = 2 * s.candidates * (2 if spherical else 1)
        assumptions.append(
            f"confidence {1.0 - s.alpha_np:.6g}: union bound over {n_events} one-sided DKW "
            f"events (Massart), alpha_np = {s.alpha_np:g}, on a fresh verification sample of "
            f"n_mc = {s.n_mc} draws; scales chosen on an independent search sample of "
            f"{n1} draws (seed {s.seed})"
        )
        assumptions.append(
            f"for comparison, UniCR's App. B.4 statement: (1-alpha0)^2 (1-2e^(-2 n D^2))^4 = "
            f"(1-alpha0)^2 x {unicr_confidence(s.n_mc, band0):.6f} with n = {s.n_mc}, "
            f"D = {band0:.4g} (not a certificate: point quantiles are never shifted by D)"
        )
        assumptions.append("combine with the classifier's alpha: total 1 - alpha_classifier - "
                           "alpha_np (union bound)")
        if run.verified_fail is not None:
            upper = run.verified_fail * to_norm
            witness = Witness(
                direction=wdir.describe(),
                scale=run.verified_fail * wscale_per_lam,
                norm_value=upper,
                detail={
                    "verified_on": "fresh sample",
                    "n_verify": s.n_mc,
                    "ladder_index": run.fail_index,
                    "search_fail_scale": (run.failed.hi * wscale_per_lam if run.failed
                                          else None),
                    "search_evaluations": run.n_evals,
                    "seed": s.seed,
                    "equivalent_to": ("any rotation (spherically symmetric noise)" if spherical
                                      else ("any permutation" + (" and sign flip" if
                                            M.noise_symmetric(noise) else "") + " of it")
                                      if M.permutation_invariant(noise) else "this vector"),
                },
            )
            assumptions.append(
                f"upper: perturbation verified to fail at l_{norm_label(p)} norm {upper:.6g} "
                f"(witness; ladder candidate {run.fail_index})"
            )
        elif not fail_possible:
            assumptions.append(
                "upper = inf: a failure cannot be proven with this sample size -- the DKW band "
                f"D = {_ladder(s.n_mc, s.alpha_np, s.candidates).bands[0]:.4g} is not below "
                + ("1 - pA" if binary else "min(1 - pA, pB)") + "; increase n_mc"
            )
        else:
            assumptions.append("upper = inf: no failing perturbation was verified on the fresh "
                               "sample")
        if spherical:
            if run.verified_pass is not None:
                lower = run.verified_pass * to_norm
                assumptions.append(
                    f"lower: pass verified on the fresh sample (ladder candidate "
                    f"{run.pass_index}); rotation invariance -- the noise is spherically "
                    "symmetric, so every "
                    "l2 direction is equivalent and a pass verified along e_1 at l2 norm r "
                    "covers every perturbation of l2 norm r (pass/fail monotone along rays, as "
                    "in Yang et al. 2020's level-set method); "
                    f"l_{norm_label(p)} radius = l2 radius x min ||delta||_{norm_label(p)} / "
                    f"||delta||_2 = {_lp_factor(p, d):.6g}"
                )
            else:
                assumptions.append("lower = 0: no pass was verified on the fresh sample")
            if s.directions != "structured":
                assumptions.append("direction search skipped: rotation invariance makes every "
                                   "l2 direction equivalent")
        else:
            assumptions.append(
                "lower = 0: no reduction theorem applies to this noise and norm in the Monte "
                "Carlo engine (searched directions only give upper bounds, docs/soundness-notes.md#s11)"
                + ("; use method='exact' for product noise" if product else "")
            )
        if lower > upper:
            assumptions.append("verified pass above verified failure (inconsistent sample "
                               "statements): lower withheld")
            lower = 0.0
    else:
        assumptions.append(
            "estimate: UniCR's point estimate (plug-in quantiles t_A, t_B; K > 0), no confidence "
            "either way; lower = 0 and upper = inf are the only proven statements"
        )
    if sound and estimate == estimate:  # not NaN
        assumptions.append(f"estimate: UniCR's point statistic on the search sample ({n1} draws)")
    if not spherical:
        assumptions.append(
            f"directions: {s.directions}; best of {len(ranked)} ranked "
            f"({info['n_structured']} structured, {info['n_pso']} from PSO: {s.particles} "
            f"particles x {s.iterations} iterations) on a selection sample; minimum over "
            "searched directions is an upper bound on R* (docs/soundness-notes.md#s11)"
        )
    assumptions.append(f"scale search: relative tolerance {s.rel_tol:g} in lambda (Algorithm 2 "
                       "bracketed, never |K| thresholds)")
    if s.dtype == np.float32:
        assumptions.append("draws rounded to float32: the statements refer to the rounded draws "
                           "(relative perturbation 6e-8 of each coordinate)")
    if not math.isfinite(estimate):
        estimate = None
        assumptions.append("estimate = None: UniCR's plug-in statistic K has no sign change "
                           "along the direction (tied losses, docs/soundness-notes.md#s14)")
    log.debug("radius_mc done in %.3fs", time.perf_counter() - t0)
    return Certificate(
        lower=float(lower), upper=float(upper), estimate=estimate,
        confidence=1.0 - s.alpha_np if sound else 1.0, method="mc", norm=p, d=d, pa=pa, pb=pb,
        assumptions=tuple(assumptions), witness=witness, noise=noise.definition(),
        tolerance=s.rel_tol,
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


def directional_bracket(noise: Noise, pa: float, pb: float | None, direction: Any, d: int,
                        **kwargs: Any) -> DirectionalResult:
    """Sound pass/fail bracket along one direction (Hong et al. 2022, Theorem 1, Algorithm 2).

    ``direction``: a d-vector, ``("k-equal", k)`` or an ``int`` k.  Same options as
    :func:`radius_mc` (direction-search options are ignored).  Both statements are verified on
    a fresh sample; ``confidence = 1 - alpha_np`` covers them jointly.
    """
    _check_noise(noise, d)
    s = _settings(d, kwargs)
    if isinstance(direction, (int, np.integer)):
        dirn = M.k_equal(int(direction))
    elif isinstance(direction, tuple) and direction and direction[0] == "k-equal":
        dirn = M.k_equal(int(direction[1]))
    else:
        u = np.asarray(direction, dtype=np.float64)
        if u.shape != (d,):
            raise InvalidParameterError(f"direction must have shape ({d},), got {u.shape}")
        dirn, _ = M.canonical_direction(u, noise)
        if dirn.k == 0:
            raise InvalidParameterError("direction must not be the zero vector")
    if not (1 <= dirn.k <= d):
        raise InvalidParameterError(f"k-equal direction needs 1 <= k <= d = {d}, got {dirn.k}")
    pass_ladder = _ladder(s.n_mc, s.alpha_np / 2.0, s.candidates)
    fail_ladder = _ladder(s.n_mc, s.alpha_np / 2.0, s.candidates)
    _check_room(s.n_mc, pass_ladder.bands[0], pa, pb, s.alpha_np)
    root = np.random.SeedSequence(s.seed)
    ss1 = np.random.SeedSequence(root.entropy, spawn_key=(1,))
    ss2 = np.random.SeedSequence(root.entropy, spawn_key=(2,))
    ks = [dirn.k] if dirn.kind == "k-equal" else []
    n1 = _n_search(noise, s, d, dirn.k, exact_kequal=dirn.kind == "k-equal")
    s1 = _Banks(noise, d, ss1, n1, s, ks, exact_kequal=True)
    s2 = _Banks(noise, d, ss2, s.n_mc, s, ks, exact_kequal=True)
    lam0 = _typical_scale(noise) / max(dirn.norm(2.0), 1e-300)
    if not _fail_possible(fail_ladder.bands[0], pa, pb):
        fail_ladder = None
    run = _run_direction(dirn, s1, s2, pa, pb, s, lam0, pass_ladder, fail_ladder)
    return DirectionalResult(
        direction=dirn.describe(),
        lower_scale=run.verified_pass if run.verified_pass is not None else 0.0,
        upper_scale=run.verified_fail if run.verified_fail is not None else math.inf,
        estimate_scale=run.est.mid if run.est is not None else math.nan,
        confidence=1.0 - s.alpha_np,
        search_bracket=(run.passed.lo if run.passed else math.nan,
                        run.failed.hi if run.failed else math.nan),
        n_verify=s.n_mc,
        n_search=n1,
    )
