"""Noise chosen per input -- I-OPT and Auto-Noise -- reported in named modes, sound by default.

Two published procedures pick the smoothing noise theta separately for every test input x:

* **I-OPT** (Hong, Wang & Hong 2022, UniCR, Sec. 4 and Algorithm 3): hill climbing over the
  noise hyper-parameters (scale and shape), each coordinate moved by +-S inside (L, H), for
  rounds until no step improves the radius at x, starting from the training noise;
* **Auto-Noise** ("Certification through adaptation", Algorithm 2): sigma_auto = the sigma of a
  fixed set with the largest radius from N_auto cheap draws, then certification with N fresh
  draws (its batch-norm adaptation plugs in through the ``adapt`` hook, not implemented here).

Both choose theta from a finite **candidate lattice** fixed in advance (:class:`Lattice`): per
hyper-parameter the values ``start + k * S`` strictly inside (L, H) (Algorithm 3 tests
``L < a +- S < H``), or the sigma set.  A candidate is scored at x from ``n_sel`` selection draws:
class c = argmax of the counts, pA_lower = one-sided Clopper-Pearson at alpha, score = the proven
radius of ``book.radius(noise, pA_lower, objective norm)``; abstaining scores below any radius.
Every candidate is scored on common random numbers (the same generator seed per input), as
UniCR's reference implementation evaluates all candidates on the same Monte Carlo draws.

What the chosen theta* certifies (docs/soundness-notes.md#s15, #s16; SOUNDNESS.md rules 5, 6),
one column group per **mode** in the results:

``fixed``
    the baseline: the training noise theta_0 with fresh draws (Cohen et al. 2019's CERTIFY,
    class guess from theta_0's selection draws), ``baseline_n="equal"`` spending at x the
    forward passes of the ``fixed-theta`` mode.
``as-published``
    I-OPT: the chosen candidate's selection score itself (selection and certification share
    draws, Algorithm 3 as published) -- an **estimate**, never a certificate, biased upward by
    the maximum over candidates.  Auto-Noise: Algorithm 2 with the protocol of Sec. 3.2 (fresh
    draws for sigma_auto, class guess f(x) of the base model, certified iff f(x) = g(x) and
    pA > 1/2): a certificate of g_sigma_auto that the paper presents as the deployed predictor's.
``fixed-theta`` (default)
    fresh n draws for theta*; a certificate of the **fixed** smoothed classifier g_theta* at x
    with probability >= 1 - alpha - alpha_numerics ("per-input best theta").
``deployable``
    the certificate of the predictor G(x') = g_theta(x')(x') that picks theta per input: for
    every theta of the lattice (at a perturbed x' it may pick any of them) fresh n draws; all must
    give the fixed-theta class c with pA_lower at alpha / |Theta| (Bonferroni); radius = min over
    theta of R_theta; confidence 1 - alpha - sum of the numerics' alphas.  It stops at the first
    theta that fails (the outcome is ABSTAIN either way) and records the forward passes it spent.

``agree_with_base`` adds the condition of UniCR Table 8 (Eq. 34) and Auto-Noise Sec. 3.2: a mode
certifies only if its class equals the base classifier's clean prediction f(x) (the labels say so).

Choices where the papers are silent or differ (stated so that a reader can change them):

* hill climbing accepts a step only if it strictly improves the score, and stops after a round
  with no accepted step or after ``max_rounds`` (20, as UniCR's reference implementation); it
  does not first shrink the scale when the training noise abstains, as that implementation
  does -- an abstaining start stays put unless a neighbour certifies;
* Auto-Noise's argmax breaks ties in favour of the training sigma, otherwise of the smallest
  sigma (the paper does not say);
* candidates may certify different classes; each is scored by its own top class.

Randomness: every draw at dataset index i comes from a generator seeded by
``(seed, i, stream, j)`` -- stream 0 selection (the same for every candidate: common random
numbers), 1 fixed-theta estimation, 2 baseline estimation, (3, j) the deployable estimation of
lattice point j -- so any row can be recomputed alone and a resumed results file is byte-identical.
Radii of every candidate come from one :class:`~unicr.smoothing.radii.RadiusBook`.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from unicr import stats
from unicr.certificate import norm_label, parse_norm
from unicr.checks import check_finite
from unicr.errors import InvalidParameterError, UnicrError
from unicr.smoothing.checks import ABSTAIN, validate_sampling

__all__ = [
    "Lattice",
    "HillClimb",
    "hill_climb",
    "ModeOutcome",
    "PerInputOutcome",
    "PerInputCertifier",
    "iopt_certify",
    "auto_noise_certify",
    "MODES",
    "MODE_LABELS",
    "AGREE_SUFFIX",
    "MAX_ROUNDS",
]

#: reporting modes, in column order
MODES = ("fixed", "as-published", "fixed-theta", "deployable")
#: default cap on hill-climbing rounds (UniCR's reference implementation stops after 20)
MAX_ROUNDS = 20
#: stream numbers of the per-input generators (see the module notes)
STREAM_SELECTION, STREAM_ESTIMATION, STREAM_BASELINE, STREAM_DEPLOYABLE = 0, 1, 2, 3

MODE_LABELS = {
    "iopt": {
        "fixed": "baseline: training noise theta_0, fresh draws (Cohen et al. 2019 CERTIFY)",
        "as-published": "estimate (UniCR Algorithm 3 as published: selection and certification "
                        "share draws); not a certificate",
        "fixed-theta": "per-input best theta: certificate of the fixed smoothed classifier "
                       "g_theta* at x",
        "deployable": "certificate of the deployed predictor that picks theta per input "
                      "(SOUNDNESS.md rule 6: min over the lattice, Bonferroni)",
    },
    "auto-noise": {
        "fixed": "baseline: training noise sigma_0, fresh draws (Cohen et al. 2019 CERTIFY)",
        "as-published": "Auto-Noise as published (Algorithm 2 + Sec. 3.2): certificate of "
                        "g_sigma_auto(x) with fresh draws and class f(x), presented as the "
                        "deployed predictor's",
        "fixed-theta": "per-input best theta: certificate of the fixed smoothed classifier "
                       "g_sigma_auto at x",
        "deployable": "certificate of the deployed predictor that picks sigma per input "
                      "(SOUNDNESS.md rule 6: min over the sigma set, Bonferroni)",
    },
}
AGREE_SUFFIX = " + condition g(x) = f(x) (UniCR Table 8 / Auto-Noise Sec. 3.2)"


# -- the candidate lattice -------------------------------------------------------------------


def _clean(v: float) -> float:
    """start + k * S without float dust (0.30000000000000004 -> 0.3)."""
    return float(round(v, 12))


@dataclass(frozen=True)
class Lattice:
    """The finite set Theta of candidate noises, fixed before any input is seen.

    ``names`` are the tuned hyper-parameters ("sigma" or "scale" for the scale, then shape
    parameters of the family), ``axes`` their values (increasing), ``start`` the index of the
    training noise theta_0 on each axis; ``shape`` holds the family's other parameters, fixed.
    A point of the lattice is a tuple of indices, one per axis.
    """

    family: str
    names: tuple[str, ...]
    axes: tuple[tuple[float, ...], ...]
    start: tuple[int, ...]
    shape: tuple[tuple[str, float], ...] = ()
    scale_name: str = "sigma"
    d: int | None = None

    # constructors ---------------------------------------------------------------------------
    @classmethod
    def hill(cls, family: str, start: Mapping[str, Any], ranges: Mapping[str, Any],
             steps: Mapping[str, Any], *, d: int | None = None) -> Lattice:
        """I-OPT's lattice (UniCR Algorithm 3): per ranged parameter a, the values
        ``start_a + k * S_a`` with L_a < value < H_a; unranged parameters stay at ``start``.

        ``start`` names the scale as ``sigma`` (per-coordinate RMS, UniCR's convention) or
        ``scale`` (the family's native scale) and any shape parameters (defaults of the family
        otherwise).  ``ranges`` maps a name to ``(L, H)``, ``steps`` a name to S > 0.
        """
        start = dict(start)
        ranges = {k: tuple(v) for k, v in dict(ranges).items()}
        steps = dict(steps)
        if not ranges:
            raise InvalidParameterError(
                "nothing to optimise: give at least one range (e.g. --range beta=0.5:4)")
        for k in steps:
            if k not in ranges:
                raise InvalidParameterError(f"a step is given for {k!r} but no range")
        for k in ranges:
            if k not in steps:
                raise InvalidParameterError(f"range {k!r} has no step (e.g. --step {k}=0.25)")
        scale_name, shape_defaults = _family_params(family, start, d)
        for k in ranges:
            if k not in (scale_name, *shape_defaults):
                raise InvalidParameterError(_unknown_param(family, k, scale_name, shape_defaults))
        full = {scale_name: start.get(scale_name), **shape_defaults,
                **{k: v for k, v in start.items() if k != scale_name}}
        names: list[str] = []
        axes: list[tuple[float, ...]] = []
        idx: list[int] = []
        for k in [scale_name, *shape_defaults]:
            if k not in ranges:
                continue
            a0 = check_finite(full[k], f"start value of {k}")
            lo_hi = ranges[k]
            if len(lo_hi) != 2:
                raise InvalidParameterError(f"range of {k} must be (L, H), got {lo_hi!r}")
            lo, hi = (check_finite(v, f"range of {k}") for v in lo_hi)
            if not lo < hi:
                raise InvalidParameterError(f"range of {k}: L must be < H, got L={lo:g}, H={hi:g}")
            s = check_finite(steps[k], f"step of {k}")
            if not s > 0:
                raise InvalidParameterError(f"step of {k} must be > 0, got {steps[k]!r}")
            if not lo < a0 < hi:
                raise InvalidParameterError(
                    f"start value {k}={a0:g} lies outside its range ({lo:g}, {hi:g})")
            k_lo = math.ceil((lo - a0) / s - 1e-9)
            k_hi = math.floor((hi - a0) / s + 1e-9)
            vals = [_clean(a0 + j * s) for j in range(k_lo, k_hi + 1)]
            vals = [v for v in vals if lo < v < hi]
            if len(vals) > 10_000:
                raise InvalidParameterError(f"{k}: {len(vals)} lattice values; use a larger step")
            names.append(k)
            axes.append(tuple(vals))
            idx.append(vals.index(_clean(a0)))
        fixed = tuple((k, float(full[k])) for k in [scale_name, *shape_defaults]
                      if k not in names and full[k] is not None)
        lat = cls(family=family, names=tuple(names), axes=tuple(axes), start=tuple(idx),
                  shape=fixed, scale_name=scale_name, d=d)
        lat._check_noises()
        return lat

    @classmethod
    def sigmas(cls, family: str, sigmas: Sequence[Any], start: Any, *,
               shape: Mapping[str, Any] | None = None, d: int | None = None,
               scale_name: str = "sigma") -> Lattice:
        """Auto-Noise's candidate set (Algorithm 2): the given sigmas (sorted, distinct), other
        parameters fixed at ``shape``; ``start`` (the training sigma) must be one of them."""
        vals = sorted({_clean(check_finite(s, "sigma")) for s in sigmas})
        if not vals:
            raise InvalidParameterError("the sigma set is empty")
        if any(v <= 0 for v in vals):
            raise InvalidParameterError(f"every sigma must be > 0, got {list(sigmas)}")
        s0 = _clean(check_finite(start, "start sigma"))
        if s0 not in vals:
            raise InvalidParameterError(
                f"the training sigma {s0:g} must be one of the sigma set {vals} (it is the "
                "baseline and the tie-break)")
        given = dict(shape or {})
        sn, defaults = _family_params(family, {scale_name: s0, **given}, d)
        if sn != scale_name:
            raise InvalidParameterError(f"{family} has no finite sigma; give scales instead")
        fixed = tuple((k, float(given.get(k, v))) for k, v in defaults.items())
        lat = cls(family=family, names=(scale_name,), axes=(tuple(vals),),
                  start=(vals.index(s0),), shape=fixed, scale_name=scale_name, d=d)
        lat._check_noises()
        return lat

    # queries ---------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return math.prod(len(a) for a in self.axes)

    def points(self) -> list[tuple[int, ...]]:
        """Every point, row-major (the order of the deployable columns and of ties)."""
        return list(itertools.product(*(range(len(a)) for a in self.axes)))

    def params(self, point: Sequence[int]) -> dict[str, float]:
        """The tuned parameters at ``point`` (name -> value)."""
        return {k: self.axes[i][j] for i, (k, j) in enumerate(zip(self.names, point))}

    def noise(self, point: Sequence[int]) -> Any:
        from unicr.noises.registry import noise as make_noise

        kw = dict(self.shape)
        kw.update(self.params(point))
        scale = kw.pop("scale", None)
        sigma = kw.pop("sigma", None)
        return make_noise(self.family, sigma=sigma, scale=scale, d=self.d, **kw)

    def step(self, point: Sequence[int], axis: int, direction: int) -> tuple[int, ...] | None:
        """The neighbour one step of ``direction`` (+1/-1) along ``axis``, or None outside."""
        j = point[axis] + direction
        if not 0 <= j < len(self.axes[axis]):
            return None
        out = list(point)
        out[axis] = j
        return tuple(out)

    def describe(self) -> dict[str, Any]:
        return {"family": self.family, "names": list(self.names),
                "axes": {k: list(a) for k, a in zip(self.names, self.axes)},
                "start": self.params(self.start), "fixed": dict(self.shape), "size": self.size}

    def _check_noises(self) -> None:
        """Build the corner noises once so that a bad value fails before any sampling."""
        from unicr.noises.base import ProductNoise

        for point in {tuple(0 for _ in self.axes), tuple(len(a) - 1 for a in self.axes),
                      self.start}:
            try:
                nz = self.noise(point)
            except UnicrError as exc:
                raise InvalidParameterError(f"candidate {self.params(point)}: {exc}") from None
            if not isinstance(nz, ProductNoise):
                raise InvalidParameterError(
                    f"{self.family} is not a parametric product noise; per-input noise "
                    "optimisation needs a family with a scale and/or shape parameters")


def _family_params(family: str, start: Mapping[str, Any], d: int | None,
                   ) -> tuple[str, dict[str, float]]:
    """(scale name, {shape parameter: default or start value}) of a family, checked."""
    from unicr.noises.base import ProductNoise
    from unicr.noises.registry import noise as make_noise

    if not isinstance(family, str) or not family.strip():
        raise InvalidParameterError(f"family must be a noise name, got {family!r}")
    try:
        probe = make_noise(family, d=d)
    except UnicrError as exc:
        raise InvalidParameterError(f"family {family!r}: {exc}") from None
    if not isinstance(probe, ProductNoise):
        raise InvalidParameterError(
            f"{family} is a joint (non-parametric product) noise; per-input noise optimisation "
            "needs a product family with a scale and/or shape parameters")
    info = tuple(getattr(probe, "param_info", ()))
    shape = {p.name: float(probe.params[p.name]) for p in info}
    for k, v in start.items():
        if k in ("sigma", "scale"):
            continue
        if k not in shape:
            raise InvalidParameterError(_unknown_param(family, k, "sigma", shape))
        shape[k] = check_finite(v, f"start value of {k}")
    if "sigma" in start and "scale" in start:
        raise InvalidParameterError("give the start scale as sigma or as scale, not both")
    scale_name = "scale" if "scale" in start else "sigma"
    if scale_name == "sigma" and start.get("sigma") is None:
        raise InvalidParameterError(f"give the start sigma (e.g. sigma=0.5) of {family}")
    return scale_name, shape


def _unknown_param(family: str, name: str, scale_name: str, shape: Mapping[str, Any]) -> str:
    known = [scale_name, *shape]
    return (f"{family} has no parameter {name!r}; its hyper-parameters are "
            f"{', '.join(known)}")


# -- hill climbing -----------------------------------------------------------------------------
@dataclass(frozen=True)
class HillClimb:
    """Outcome of :func:`hill_climb`: the final point, its score, every point scored (in
    order) and the number of rounds run (the last one made no step)."""

    point: tuple[int, ...]
    score: float
    visited: tuple[tuple[int, ...], ...]
    rounds: int


def hill_climb(lattice: Lattice, score: Callable[[tuple[int, ...]], float], *,
               start: Sequence[int] | None = None, max_rounds: int = MAX_ROUNDS) -> HillClimb:
    """Coordinate-wise hill climbing on the lattice (UniCR Algorithm 3, read as in its text).

    In each round, for each hyper-parameter in turn: try one step up (+S); accept it only if
    the score strictly improves; otherwise try one step down (-S) likewise.  Rounds repeat until
    a round accepts no step, at most ``max_rounds``.  Steps never leave the lattice (values
    strictly inside (L, H)); ties keep the current point.  ``score`` is called at most once per
    point (memoised here).
    """
    if isinstance(max_rounds, bool) or int(max_rounds) != max_rounds or max_rounds < 1:
        raise InvalidParameterError(f"rounds must be a positive integer, got {max_rounds!r}")
    seen: dict[tuple[int, ...], float] = {}

    def value(p: tuple[int, ...]) -> float:
        if p not in seen:
            seen[p] = float(score(p))
        return seen[p]

    cur = tuple(lattice.start if start is None else start)
    best = value(cur)
    rounds = 0
    for _ in range(int(max_rounds)):
        rounds += 1
        moved = False
        for axis in range(len(lattice.axes)):
            for direction in (+1, -1):
                nb = lattice.step(cur, axis, direction)
                if nb is None:
                    continue
                v = value(nb)
                if v > best:
                    cur, best, moved = nb, v, True
                    break
        if not moved:
            break
    return HillClimb(point=cur, score=best, visited=tuple(seen), rounds=rounds)


# -- per-input outcome -------------------------------------------------------------------------
@dataclass(frozen=True)
class ModeOutcome:
    """One reporting mode at one input: ``prediction`` (or ABSTAIN), radius per norm (empty
    when abstaining), the pA_lower behind it (min over theta for ``deployable``), the
    confidence (None for an estimate) and its label."""

    mode: str
    label: str
    prediction: int
    radii: dict[float, float]
    pa_lower: float
    confidence: float | None
    reason: str = ""

    @property
    def abstain(self) -> bool:
        return self.prediction == ABSTAIN

    @property
    def is_certificate(self) -> bool:
        return self.confidence is not None


@dataclass(frozen=True)
class PerInputOutcome:
    """Everything :class:`PerInputCertifier` found at one input."""

    chosen: dict[str, float]
    base_pred: int
    modes: dict[str, ModeOutcome]
    forward: dict[str, int]
    visited: int
    rounds: int
    selection_scores: dict[tuple[int, ...], float] = field(default_factory=dict, repr=False)


def _abstain(mode: str, label: str, pa: float, conf: float | None, reason: str) -> ModeOutcome:
    return ModeOutcome(mode=mode, label=label, prediction=ABSTAIN, radii={}, pa_lower=pa,
                       confidence=conf, reason=reason)


class PerInputCertifier:
    """I-OPT (``search="hill"``) or Auto-Noise (``search="argmax"``) at single inputs.

    Parameters
    ----------
    model:
        base classifier ``(b, *input_shape) -> (b, num_classes)`` in eval mode.
    lattice:
        the candidate set Theta (:class:`Lattice`); its start is the training noise theta_0.
    n_sel, n, alpha:
        selection draws per candidate, fresh estimation draws, failure probability.
    norms:
        norms of the radii; the first one is the objective of the search.
    book:
        a :class:`~unicr.smoothing.radii.RadiusBook` (default: a new one for d) -- or an
        :class:`~unicr.smoothing.radii.EngineBook` for UniCR's per-candidate engine calls.
    baseline_n:
        estimation draws of the ``fixed`` baseline: ``"equal"`` (per input, the forward passes
        of the fixed-theta mode minus the baseline's n_sel selection draws) or an integer.
    agree_with_base:
        certify only when the class equals the base model's clean prediction f(x).
    adapt:
        hook ``adapt(model, noise) -> model`` applied before sampling with a candidate noise
        (e.g. the batch-norm adaptation of Auto-Noise's Algorithm 1); ``None`` = identity.  It
        must not depend on the test input (docs/soundness-notes.md#s19): its result is cached
        per noise for the life of the certifier, and the returned model must be in eval mode.
    """

    def __init__(self, model: Any, lattice: Lattice, *, n_sel: int, n: int, alpha: float,
                 norms: Sequence[Any] = (2,), search: str = "hill", max_rounds: int = MAX_ROUNDS,
                 baseline_n: int | str = "equal", agree_with_base: bool = False,
                 book: Any = None, adapt: Callable[[Any, Any], Any] | None = None,
                 num_classes: int | None = None, input_shape: Sequence[int] | None = None,
                 device: Any = None, batch_size: int = 1000):
        from unicr.smoothing.sampling import resolve_device

        if not isinstance(lattice, Lattice):
            raise InvalidParameterError(f"lattice must be a Lattice, got {type(lattice).__name__}")
        self.lattice = lattice
        self.n_sel, self.n, self.alpha = validate_sampling(n_sel, n, alpha)
        self.norms = [parse_norm(p) for p in norms]
        if not self.norms or len(set(self.norms)) != len(self.norms):
            raise InvalidParameterError(f"norms must be distinct and non-empty, got {list(norms)}")
        if search not in ("hill", "argmax"):
            raise InvalidParameterError(f"search must be 'hill' or 'argmax', got {search!r}")
        self.search = search
        self.method = "iopt" if search == "hill" else "auto-noise"
        if isinstance(max_rounds, bool) or int(max_rounds) != max_rounds or max_rounds < 1:
            raise InvalidParameterError(f"rounds must be a positive integer, got {max_rounds!r}")
        self.max_rounds = int(max_rounds)
        self.baseline_n = check_baseline_n(baseline_n)
        self.agree = bool(agree_with_base)
        if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
            raise InvalidParameterError(f"batch size must be a positive integer, got {batch_size!r}")
        self.batch_size = int(batch_size)
        shape = input_shape if input_shape is not None else getattr(model, "input_shape", None)
        if shape is None:
            raise InvalidParameterError("input_shape is required for a model that has none")
        self.input_shape = tuple(int(s) for s in shape)
        self.d = math.prod(self.input_shape)
        k = num_classes if num_classes is not None else getattr(model, "num_classes", None)
        if k is None or int(k) < 2:
            raise InvalidParameterError(f"num_classes must be an integer >= 2, got {k!r}")
        self.num_classes = int(k)
        self.device = resolve_device(device, model)
        self.model = model.to(self.device)
        self.model.eval()
        if book is None:
            from unicr.smoothing.radii import RadiusBook

            book = RadiusBook(self.d)
        if int(getattr(book, "d", self.d)) != self.d:
            raise InvalidParameterError(f"the radius book is for d={book.d}, the inputs have "
                                        f"d={self.d}")
        self.book = book
        self.adapt = adapt
        self.labels = {m: MODE_LABELS[self.method][m] + (AGREE_SUFFIX if self.agree else "")
                       for m in MODES}
        self._points = lattice.points()
        self._noises: dict[tuple[int, ...], Any] = {}
        self._samplers: dict[tuple[int, ...], Any] = {}
        self._models: dict[tuple[int, ...], Any] = {}
        self.sampling_seconds = 0.0
        self.forward_passes = 0

    # machinery ---------------------------------------------------------------------------------
    def noise(self, point: tuple[int, ...]) -> Any:
        nz = self._noises.get(point)
        if nz is None:
            nz = self.lattice.noise(point)
            self._noises[point] = nz
        return nz

    def _sample(self, x: Any, point: tuple[int, ...], num: int, keys: tuple[int, ...]
                ) -> np.ndarray:
        from unicr.smoothing.sampling import NoiseSampler, make_generator, sample_counts

        sampler = self._samplers.get(point)
        if sampler is None:
            sampler = NoiseSampler(self.noise(point), self.input_shape, self.device)
            self._samplers[point] = sampler
        model = self._models.get(point)
        if model is None:
            model = self.model if self.adapt is None else self.adapt(self.model, self.noise(point))
            self._models[point] = model
        t0 = time.perf_counter()
        counts = sample_counts(model, x, sampler, int(num), self.num_classes,
                               make_generator(self.device, *keys), batch_size=self.batch_size)
        self.sampling_seconds += time.perf_counter() - t0
        self.forward_passes += int(num)
        return counts

    def _radii(self, point: tuple[int, ...], pa: float) -> dict[float, float] | None:
        out: dict[float, float] = {}
        for p in self.norms:
            r = self.book.radius(self.noise(point), pa, p)
            if r is None:
                return None
            r = float(r)
            if not (math.isfinite(r) and r >= 0.0):
                raise UnicrError(f"the radius book returned {r!r} for pA={pa}, "
                                 f"p={norm_label(p)}")
            out[p] = r
        return out

    def _alpha_numerics(self, point: tuple[int, ...]) -> float:
        return float(getattr(self.book.provider(self.noise(point)), "alpha", 0.0))

    def base_prediction(self, x: Any) -> int:
        """f(x): the unadapted base classifier's class on the clean input (1 forward pass)."""
        import torch

        xt = torch.as_tensor(x, dtype=torch.float32).to(self.device).reshape(1, *self.input_shape)
        with torch.inference_mode():
            return int(self.model(xt).argmax(1)[0])

    # the procedure -----------------------------------------------------------------------------
    def certify(self, x: Any, key: Sequence[int] = (0, 0)) -> PerInputOutcome:
        """Search theta at ``x`` and report every mode (see the module notes).

        ``key`` = (seed, dataset index): the generator keys of this input's draws.
        """
        import torch

        keys = tuple(int(k) for k in key)
        xt = torch.as_tensor(x)
        if not torch.is_floating_point(xt):
            xt = xt.to(torch.float32)
        if tuple(xt.shape) != self.input_shape:
            raise InvalidParameterError(f"input has shape {tuple(xt.shape)}, but the model "
                                        f"expects {self.input_shape}")
        base = self.base_prediction(xt)
        sel: dict[tuple[int, ...], np.ndarray] = {}
        scores: dict[tuple[int, ...], float] = {}

        def score(point: tuple[int, ...]) -> float:
            if point not in scores:
                counts = self._sample(xt, point, self.n_sel, (*keys, STREAM_SELECTION, 0))
                sel[point] = counts
                c = int(np.argmax(counts))
                pa = float(stats.clopper_pearson_lower(int(counts[c]), self.n_sel, self.alpha))
                r = None if (self.agree and c != base) else \
                    self.book.radius(self.noise(point), pa, self.norms[0])
                scores[point] = -math.inf if r is None else float(r)
            return scores[point]

        if self.search == "hill":
            hc = hill_climb(self.lattice, score, max_rounds=self.max_rounds)
            chosen, rounds = hc.point, hc.rounds
        else:
            for point in self._points:
                score(point)
            top = max(scores.values())
            tied = [p for p in self._points if scores[p] == top]
            chosen = self.lattice.start if self.lattice.start in tied else tied[0]
            rounds = 1
        fwd_sel = len(sel) * self.n_sel
        modes: dict[str, ModeOutcome] = {}
        c_star = int(np.argmax(sel[chosen]))

        # fixed-theta: fresh draws for theta*, class from its selection draws (Cohen's n0)
        est = self._sample(xt, chosen, self.n, (*keys, STREAM_ESTIMATION, 0))
        modes["fixed-theta"] = self._certify_counts(
            "fixed-theta", chosen, c_star, est, self.alpha, base)

        # as-published
        if self.method == "iopt":
            # UniCR Algorithm 3: the radius of the selection draws that chose theta*
            modes["as-published"] = self._certify_counts(
                "as-published", chosen, c_star, sel[chosen], self.alpha, base, estimate=True)
        else:
            modes["as-published"] = self._certify_counts(
                "as-published", chosen, base, est, self.alpha, base)

        # deployable: every theta of the lattice, the fixed-theta class, alpha / |Theta|
        modes["deployable"], fwd_dep = self._deployable(xt, keys, chosen, c_star, est,
                                                        modes["fixed-theta"])

        # fixed baseline: theta_0, class from its selection draws, n_b fresh draws
        start = self.lattice.start
        if start not in sel:
            score(start)  # Auto-Noise and hill climbing always score it; kept for safety
        n_b = (fwd_sel + self.n - self.n_sel) if self.baseline_n == "equal" else self.baseline_n
        n_b = max(int(n_b), 1)
        counts_b = self._sample(xt, start, n_b, (*keys, STREAM_BASELINE, 0))
        modes["fixed"] = self._certify_counts(
            "fixed", start, int(np.argmax(sel[start])), counts_b, self.alpha, base)

        forward = {"selection": fwd_sel, "fixed_theta": self.n, "deployable": fwd_dep,
                   "baseline": self.n_sel + n_b}
        return PerInputOutcome(chosen=self.lattice.params(chosen), base_pred=base,
                               modes={m: modes[m] for m in MODES}, forward=forward,
                               visited=len(sel), rounds=rounds, selection_scores=dict(scores))

    def _deployable(self, xt: Any, keys: tuple[int, ...], chosen: tuple[int, ...], c_star: int,
                    est: np.ndarray, fixed_theta: ModeOutcome) -> tuple[ModeOutcome, int]:
        """The deployable mode and its extra forward passes: the fixed-theta class certified at
        every theta of the lattice at level alpha / |Theta|, the smallest radius reported."""
        lab = self.labels["deployable"]
        if fixed_theta.abstain:
            return _abstain("deployable", lab, fixed_theta.pa_lower, self._dep_conf(),
                            "the fixed-theta mode abstains"), 0
        fwd_dep = 0
        level = self.alpha / self.lattice.size
        order = [chosen, *(p for p in self._points if p != chosen)]
        worst_pa, radii = 1.0, {p: math.inf for p in self.norms}
        for point in order:
            if point == chosen:
                counts = est
            else:
                counts = self._sample(xt, point, self.n,
                                      (*keys, STREAM_DEPLOYABLE, self._points.index(point)))
                fwd_dep += self.n
            pa = float(stats.clopper_pearson_lower(int(counts[c_star]), self.n, level))
            worst_pa = min(worst_pa, pa)
            r = self._radii(point, pa) if pa > 0.5 else None
            if r is None:
                return _abstain("deployable", lab, worst_pa, self._dep_conf(),
                                f"pA_lower <= 1/2 at {self.lattice.params(point)}"), fwd_dep
            radii = {p: min(radii[p], r[p]) for p in self.norms}
        return ModeOutcome(mode="deployable", label=lab, prediction=c_star, radii=radii,
                           pa_lower=worst_pa, confidence=self._dep_conf()), fwd_dep

    def _dep_conf(self) -> float:
        return 1.0 - self.alpha - sum(self._alpha_numerics(p) for p in self._points)

    def _certify_counts(self, mode: str, point: tuple[int, ...], cls: int, counts: np.ndarray,
                        alpha: float, base: int, *, estimate: bool = False) -> ModeOutcome:
        """Cohen et al.'s CERTIFY statistics for class ``cls`` on ``counts``.

        With ``estimate`` the counts are the selection draws that chose the noise (UniCR
        Algorithm 3 as published): the number is recorded without a confidence."""
        n = int(counts.sum())
        pa = float(stats.clopper_pearson_lower(int(counts[cls]), n, alpha))
        conf = None if estimate else 1.0 - alpha - self._alpha_numerics(point)
        lab = self.labels[mode]
        if self.agree and cls != base:
            return _abstain(mode, lab, pa, conf, "class differs from f(x)")
        r = self._radii(point, pa) if pa > 0.5 else None
        if r is None:
            return _abstain(mode, lab, pa, conf, "pA_lower <= 1/2")
        return ModeOutcome(mode=mode, label=lab, prediction=int(cls), radii=r, pa_lower=pa,
                           confidence=conf)

    def describe(self) -> dict[str, Any]:
        """Settings that determine the rows (written into results headers)."""
        return {"method": self.method, "search": self.search, "n_sel": self.n_sel, "n": self.n,
                "alpha": self.alpha, "norms": [norm_label(p) for p in self.norms],
                "objective": norm_label(self.norms[0]), "rounds": self.max_rounds,
                "baseline_n": self.baseline_n, "agree_with_base": self.agree,
                "batch": self.batch_size, "device": self.device.type,
                "adapt": None if self.adapt is None else getattr(self.adapt, "__name__",
                                                                  type(self.adapt).__name__)}


def check_baseline_n(value: Any) -> int | str:
    """``"equal"`` or a positive integer (the ``fixed`` baseline's estimation draws)."""
    if isinstance(value, str):
        if value.strip().lower() == "equal":
            return "equal"
        try:
            value = int(value)
        except ValueError:
            raise InvalidParameterError(
                f"baseline n must be 'equal' or a positive integer, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidParameterError(
            f"baseline n must be 'equal' or a positive integer, got {value!r}")
    return int(value)


def iopt_certify(model: Any, x: Any, lattice: Lattice, *, n_sel: int = 1000, n: int = 10_000,
                 alpha: float = 0.001, norms: Sequence[Any] = (2,), key: Sequence[int] = (0, 0),
                 **kwargs: Any) -> PerInputOutcome:
    """I-OPT at one input (Hong et al. 2022, Sec. 4, Algorithm 3) with every reporting mode.

    ``kwargs`` go to :class:`PerInputCertifier` (``max_rounds``, ``baseline_n``,
    ``agree_with_base``, ``book``, ``adapt``, ``device``, ``batch_size``, ...).
    """
    cert = PerInputCertifier(model, lattice, n_sel=n_sel, n=n, alpha=alpha, norms=norms,
                             search="hill", **kwargs)
    return cert.certify(x, key)


def auto_noise_certify(model: Any, x: Any, lattice: Lattice, *, n_auto: int = 1000,
                       n: int = 100_000, alpha: float = 0.001, norms: Sequence[Any] = (2,),
                       key: Sequence[int] = (0, 0), **kwargs: Any) -> PerInputOutcome:
    """Auto-Noise at one input ("Certification through adaptation", Algorithm 2; protocol of
    Sec. 3.2 in the ``as-published`` mode) with every reporting mode.  ``lattice`` is a
    :meth:`Lattice.sigmas` set; ``kwargs`` as for :func:`iopt_certify`."""
    cert = PerInputCertifier(model, lattice, n_sel=n_auto, n=n, alpha=alpha, norms=norms,
                             search="argmax", **kwargs)
    return cert.certify(x, key)
