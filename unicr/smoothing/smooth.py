"""The smoothed classifier g(x) = argmax_c P(f(x + eps) = c) for any registry noise.

:class:`Smooth` follows Cohen, Rosenfeld & Kolter 2019 (``core.Smooth``, Algorithms
PREDICT and CERTIFY) with three generalisations:

* any noise of the registry (product or joint), sampled on the model's device
  (:mod:`unicr.smoothing.sampling`);
* any l_p norm: the radius comes from a *radius provider* ``(pA, pB, p) -> lower``,
  by default :func:`unicr.radius`'s proven ``lower`` (closed form where exact, else
  the engines), memoised per (pA, pB, p);
* two-sided certification (pA, pB) with Feng, Wu, Chen, Zhang & Ning 2020's
  runner-up bound (their Eq. 14), an alpha split fixed in advance (default 1/2,
  docs/soundness-notes.md#s3), or a grid over the split only with a Bonferroni
  correction (docs/soundness-notes.md#s4).

Guarantee of :meth:`Smooth.certify` (Cohen et al. 2019, Theorem 1 and Sec. 3.2):
with probability at least ``confidence = 1 - alpha - alpha_numerics`` over the noise
draws, if a class c is returned (not ABSTAIN) then g(x + delta) = c for every
``||delta||_p < radius[p]``.  The selection (n0) and estimation (n) samples are drawn
independently (docs/soundness-notes.md#s1); ABSTAIN (no certificate) is distinct from "certified at
radius 0" (docs/soundness-notes.md#s32).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from unicr import stats
from unicr.certificate import norm_label, parse_norm
from unicr.errors import InvalidParameterError
from unicr.noises.base import Noise
from unicr.noises.registry import noise as make_noise
from unicr.smoothing.checks import ABSTAIN, MODES, RUNNER_UP, _validate_mode, validate_sampling
from unicr.smoothing.radii import EngineRadius, RadiusProvider
from unicr.smoothing.sampling import (
    NoiseSampler,
    SmoothingError,
    check_eval_mode,
    make_generator,
    resolve_device,
    sample_counts,
)

__all__ = [
    "ABSTAIN",
    "Smooth",
    "SmoothCertificate",
    "RadiusProvider",
    "EngineRadius",
    "certify_from_counts",
    "validate_sampling",
    "MODES",
    "RUNNER_UP",
]

@dataclass(frozen=True)
class SmoothCertificate:
    """Outcome of :meth:`Smooth.certify` at one input.

    ``prediction`` is the certified class or :data:`ABSTAIN`; ``radii`` maps each
    norm p to its certified radius (empty when abstaining).  ``pa_lower`` and
    ``pb_upper`` are the bounds behind the radii (``pb_upper = 1 - pa_lower`` in the
    binary mode); ``confidence`` = 1 - alpha - alpha_numerics.
    """

    prediction: int
    radii: dict[float, float]
    pa_lower: float
    pb_upper: float
    selected: int
    count_a: int
    n0: int
    n: int
    alpha: float
    alpha_numerics: float
    mode: str
    alpha_split: float | None
    grid: tuple[float, ...] = ()
    runner_up: str = ""
    reason: str = ""
    counts: tuple[int, ...] = field(default=(), repr=False)

    @property
    def abstain(self) -> bool:
        return self.prediction == ABSTAIN

    @property
    def confidence(self) -> float:
        return 1.0 - self.alpha - self.alpha_numerics

    def radius(self, norm: Any = 2) -> float | None:
        """Radius in the given norm (None when abstaining)."""
        if self.abstain:
            return None
        return self.radii[parse_norm(norm)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "prediction": self.prediction,
            "abstain": self.abstain,
            "radii": {norm_label(p): r for p, r in self.radii.items()},
            "pa_lower": self.pa_lower,
            "pb_upper": self.pb_upper,
            "selected": self.selected,
            "count_a": self.count_a,
            "n0": self.n0,
            "n": self.n,
            "alpha": self.alpha,
            "alpha_numerics": self.alpha_numerics,
            "confidence": self.confidence,
            "mode": self.mode,
            "alpha_split": self.alpha_split,
            "grid": list(self.grid),
            "runner_up": self.runner_up,
            "reason": self.reason,
        }


@functools.lru_cache(maxsize=4096)
def _bounds(counts: tuple[int, ...], selected: int, alpha: float, split: float | None,
            runner_up: str) -> tuple[float, float | None]:
    """(pA_lower, pB_upper or None for binary) at total level ``alpha`` (unicr.stats).

    Binary (``split is None`` or 1): one-sided Clopper-Pearson at alpha (Cohen et al.
    2019; Feng et al.'s convention at alpha' = alpha).  Two-sided: pA at
    ``alpha * split`` and pB at ``alpha * (1 - split)`` over the non-selected counts,
    either Feng et al. 2020's Eq. 14 ("generalized") or the Clopper-Pearson bound on
    the largest non-selected count ("plain": valid by the argument of
    docs/soundness-notes.md#s3, and never larger).  Memoised: counts repeat across images.
    """
    n = int(sum(counts))
    if split is None or split >= 1.0:
        return float(stats.clopper_pearson_lower(int(counts[selected]), n, alpha)), None
    return stats.two_sided_bounds(np.asarray(counts), top=selected, alpha=alpha,
                                  alpha_a=alpha * split, runner_up=runner_up)


def _radii_at(radius: RadiusProvider | Callable[..., Any], pa: float, pb: float | None,
              norms: list[float]) -> dict[float, float]:
    """The provider's radius for every norm, or ``{}`` when it has none for one of them."""
    radii: dict[float, float] = {}
    for p in norms:
        r = radius(pa, pb, p)
        if r is None:
            return {}
        r = float(r)
        if not (math.isfinite(r) and r >= 0.0):  # never print a NaN/inf/negative radius
            raise SmoothingError(f"the radius provider returned {r!r} for pA={pa}, "
                                 f"pB={pb}, p={norm_label(p)}")
        radii[p] = r
    return radii


def certify_from_counts(counts_selection: Sequence[int] | np.ndarray,
                        counts_estimation: Sequence[int] | np.ndarray, alpha: float,
                        norms: Sequence[Any], radius: RadiusProvider | Callable[..., Any], *,
                        mode: str = "binary", alpha_split: float | None = None,
                        grid: Sequence[float] | None = None,
                        runner_up: str = "plain") -> SmoothCertificate:
    """The statistics of CERTIFY on given counts (Cohen et al. 2019, Algorithm CERTIFY).

    ``counts_selection`` (n0 draws) only chooses the class c_A = argmax (ties: lowest
    index); ``counts_estimation`` (n independent draws) bounds it.  Binary mode:
    pA_lower = one-sided Clopper-Pearson at level alpha, ABSTAIN if pA_lower <= 1/2.
    Two-sided: pA_lower at alpha * split and a runner-up bound at alpha * (1 - split)
    (Feng et al. 2020, Eq. 14 with ``runner_up="generalized"``; the Clopper-Pearson
    bound on the largest other count with ``"plain"``, tighter), pB_upper capped at
    1 - pA_lower (always valid), ABSTAIN if pA_lower <= pB_upper.  With a grid of K
    splits each grid point runs at level alpha / K (Bonferroni) and the largest radius
    per norm is kept (all K statements hold jointly with probability >= 1 - alpha).
    """
    cs = np.asarray(counts_selection, dtype=np.int64)
    ce = np.asarray(counts_estimation, dtype=np.int64)
    if cs.ndim != 1 or ce.shape != cs.shape or cs.size < 2:
        raise InvalidParameterError(
            f"selection and estimation counts must be 1-D arrays over the same >= 2 classes, "
            f"got shapes {cs.shape} and {ce.shape}")
    if np.any(cs < 0) or np.any(ce < 0):
        raise InvalidParameterError("counts must be non-negative")
    n0, n = int(cs.sum()), int(ce.sum())
    _, _, alpha = validate_sampling(max(n0, 1), max(n, 1), alpha)
    if n < 1:
        raise InvalidParameterError("the estimation sample is empty (n = 0)")
    mode, split, g = _validate_mode(mode, alpha_split, grid)
    if runner_up not in RUNNER_UP:
        raise InvalidParameterError(f"runner_up must be one of {', '.join(RUNNER_UP)}, "
                                    f"got {runner_up!r}")
    ps = [parse_norm(p) for p in norms]
    if not ps:
        raise InvalidParameterError("give at least one norm")
    selected = int(np.argmax(cs))
    n_a = int(ce[selected])
    splits: list[float | None] = [None] if mode == "binary" else (list(g) if g else [split])
    level = alpha / len(splits)
    best: dict[float, float] = {}
    best_bounds: tuple[float, float] | None = None
    first_bounds: tuple[float, float] | None = None
    for s in splits:
        pa, pb = _bounds(tuple(int(v) for v in ce), selected, level, s, runner_up)
        if pb is not None and pb >= 1.0 - pa:
            pb = None  # p_B <= 1 - p_A <= 1 - pA_lower: the binary form is at least as good
        pb_eff = 1.0 - pa if pb is None else pb
        if first_bounds is None:
            first_bounds = (pa, pb_eff)
        if pa <= pb_eff:  # binary: pA_lower <= 1/2; two-sided: pA_lower <= pB_upper
            continue
        radii = _radii_at(radius, pa, pb, ps)
        if not radii:
            continue
        if best_bounds is None or radii[ps[0]] > best[ps[0]]:
            best_bounds = (pa, pb_eff)
        for p in ps:
            best[p] = max(best.get(p, 0.0), radii[p])
    alpha_num = float(getattr(radius, "alpha", 0.0))
    common = dict(selected=selected, count_a=n_a, n0=n0, n=n, alpha=alpha,
                  alpha_numerics=alpha_num, mode=mode, alpha_split=split, grid=g,
                  runner_up=runner_up if mode == "two-sided" else "",
                  counts=tuple(int(v) for v in ce))
    if best_bounds is None:
        assert first_bounds is not None
        reason = ("pA_lower <= 1/2" if mode == "binary" else "pA_lower <= pB_upper")
        return SmoothCertificate(prediction=ABSTAIN, radii={}, pa_lower=first_bounds[0],
                                 pb_upper=first_bounds[1], reason=reason, **common)
    return SmoothCertificate(prediction=selected, radii={p: best[p] for p in ps},
                             pa_lower=best_bounds[0], pb_upper=best_bounds[1], **common)


class Smooth:
    """A smoothed classifier around a base classifier ``model`` and a noise (Cohen et al. 2019).

    Parameters
    ----------
    model:
        base classifier mapping ``(b, *input_shape)`` to ``(b, num_classes)`` scores.  It is
        put in eval mode here, and eval mode is checked before every sampling run
        (docs/soundness-notes.md#s18).
    noise:
        anything :func:`unicr.noise` accepts; joint noises are built for d = prod(input_shape).
    num_classes, input_shape:
        default to ``model.num_classes`` / ``model.input_shape`` (unicr models carry them).
    device:
        where noise and model run; default the model's device.  The model is moved there.
    radius:
        radius provider ``(pa, pb, p) -> lower or None``; default from ``radius_method``.
    radius_method:
        ``"curve"``: :class:`unicr.smoothing.radii.CurveRadius` (proven lower-bound tables, sound
        lookups in microseconds, at most ``1e-3`` relative below the engine);
        ``"auto"`` / ``"exact"`` / ``"mc"``: :class:`EngineRadius`, one engine call per
        distinct (pA, pB, p) (the default ``"auto"``).
    amp:
        run the model under autocast (mixed precision); the noise and the counts are exact.
    """

    ABSTAIN = ABSTAIN

    def __init__(self, model: nn.Module, noise: Any, num_classes: int | None = None, *,
                 input_shape: Sequence[int] | None = None, device: str | torch.device | None = None,
                 radius: RadiusProvider | None = None, radius_method: str = "auto",
                 amp: bool = False, dtype: torch.dtype = torch.float32):
        if not isinstance(model, nn.Module):
            raise InvalidParameterError(
                f"model must be a torch.nn.Module, got {type(model).__name__}")
        shape = input_shape if input_shape is not None else getattr(model, "input_shape", None)
        if shape is None:
            raise InvalidParameterError(
                "input_shape is required for a model that does not carry one")
        self.input_shape = tuple(int(s) for s in shape)
        k = num_classes if num_classes is not None else getattr(model, "num_classes", None)
        if k is None or int(k) < 2:
            raise InvalidParameterError(f"num_classes must be an integer >= 2, got {k!r}")
        self.num_classes = int(k)
        self.d = math.prod(self.input_shape)
        if isinstance(noise, Noise):
            self.noise = noise
        else:
            self.noise = (make_noise(noise, d=self.d) if isinstance(noise, str)
                          else make_noise(noise))
        self.device = resolve_device(device, model)
        self.model = model.to(self.device)
        self.model.eval()
        check_eval_mode(self.model)
        self.amp = bool(amp)
        self.dtype = dtype
        self.sampler = NoiseSampler(self.noise, self.input_shape, self.device, dtype)
        if radius is not None:
            self.radius_provider: RadiusProvider = radius
        elif radius_method == "curve":
            from unicr.smoothing.radii import CurveRadius

            self.radius_provider = CurveRadius(self.noise, self.d)
        else:
            self.radius_provider = EngineRadius(self.noise, self.d, method=radius_method)
        #: seconds spent drawing noise and running the model, and on statistics + radii
        self.sampling_seconds = 0.0
        self.radius_seconds = 0.0
        self._check_model()

    def _check_model(self) -> None:
        x = torch.zeros((1, *self.input_shape), device=self.device, dtype=self.dtype)
        try:
            with torch.inference_mode():
                out = self.model(x)
        except (RuntimeError, ValueError, TypeError) as exc:
            raise SmoothingError(
                f"the base classifier fails on an input of shape {self.input_shape}: "
                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
            ) from None
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (1, self.num_classes):
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise SmoothingError(
                f"the base classifier returned {got} for one input of shape {self.input_shape}; "
                f"expected (1, {self.num_classes}) class scores"
            )

    # -- inputs and randomness ------------------------------------------------------
    def check_input(self, x: Any) -> torch.Tensor:
        """Return ``x`` as a tensor of the model's input shape, or raise naming both shapes."""
        t = torch.as_tensor(x)
        if tuple(t.shape) != self.input_shape:
            if t.ndim == len(self.input_shape) + 1 and t.shape[0] == 1 \
                    and tuple(t.shape[1:]) == self.input_shape:
                t = t[0]
            else:
                raise SmoothingError(f"input has shape {tuple(t.shape)}, but the model expects "
                                     f"{self.input_shape} (one input, no batch axis)")
        if not torch.is_floating_point(t):
            t = t.to(self.dtype)
        return t

    def _generators(self, seed: int | Sequence[int] | None, generator: torch.Generator | None,
                    ) -> tuple[torch.Generator, torch.Generator]:
        """Selection and estimation generators: streams (*seed, 0) and (*seed, 1)."""
        if generator is not None:
            if seed is not None:
                raise InvalidParameterError("give either seed or generator, not both")
            return generator, generator
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**63))
        keys = (seed,) if isinstance(seed, (int, np.integer)) else tuple(seed)
        return make_generator(self.device, *keys, 0), make_generator(self.device, *keys, 1)

    def sample(self, x: Any, num: int, generator: torch.Generator,
               batch_size: int = 1000) -> np.ndarray:
        """Class counts of f(x + eps) over ``num`` draws (Cohen et al.'s SAMPLEUNDERNOISE)."""
        xt = self.check_input(x)
        t0 = time.perf_counter()
        try:
            return sample_counts(self.model, xt, self.sampler, int(num), self.num_classes,
                                 generator, batch_size=int(batch_size), amp=self.amp)
        finally:
            self.sampling_seconds += time.perf_counter() - t0

    # -- Cohen et al. 2019's two procedures ----------------------------------------
    def predict(self, x: Any, n: int, alpha: float, batch_size: int = 1000, *,
                seed: int | Sequence[int] | None = None,
                generator: torch.Generator | None = None) -> int:
        """PREDICT (Cohen et al. 2019, Sec. 3.2): returns g(x) or ABSTAIN.

        The top-two counts n_A, n_B of n draws enter a two-sided binomial test at 1/2;
        if its p-value exceeds alpha, ABSTAIN.  With probability >= 1 - alpha the
        returned class (if any) equals g(x).
        """
        _, n_i, a = validate_sampling(1, n, alpha, need_n0=False)
        g, _ = self._generators(seed, generator)
        counts = self.sample(x, n_i, g, batch_size)
        top = stats.predict(counts, a)
        return ABSTAIN if top is None else int(top)

    def certify(self, x: Any, n0: int, n: int, alpha: float, norms: Sequence[Any] = (2,),
                batch_size: int = 1000, *, seed: int | Sequence[int] | None = None,
                generator: torch.Generator | None = None, mode: str = "binary",
                alpha_split: float | None = None, grid: Sequence[float] | None = None,
                runner_up: str = "plain") -> SmoothCertificate:
        """CERTIFY (Cohen et al. 2019, Sec. 3.2) with independent selection and estimation samples.

        Draws ``n0`` samples to choose c_A and ``n`` fresh samples to bound it; with
        ``seed`` (an int or a tuple of ints such as (seed, image index)) they come from the
        independent generator streams (*seed, 0) and (*seed, 1).  See
        :func:`certify_from_counts` for the statistics and the modes.
        """
        n0_i, n_i, a = validate_sampling(n0, n, alpha)
        _validate_mode(mode, alpha_split, grid)
        g0, g1 = self._generators(seed, generator)
        counts0 = self.sample(x, n0_i, g0, batch_size)
        counts1 = self.sample(x, n_i, g1, batch_size)
        t0 = time.perf_counter()
        try:
            return certify_from_counts(counts0, counts1, a, norms, self.radius_provider,
                                       mode=mode, alpha_split=alpha_split, grid=grid,
                                       runner_up=runner_up)
        finally:
            self.radius_seconds += time.perf_counter() - t0

    def ceiling(self, n: int, alpha: float, norms: Sequence[Any], *, mode: str = "binary",
                alpha_split: float | None = None, grid: Sequence[float] | None = None,
                runner_up: str = "plain") -> dict[float, float]:
        """Largest radius any input can receive with n draws: all n on one class
        (docs/soundness-notes.md#s31).

        Binary: R(alpha^(1/n)) (Cohen et al. 2019's ceiling; docs/certificate-notes.md#c10-6).
        """
        counts = np.zeros(self.num_classes, dtype=np.int64)
        counts[0] = int(n)
        cert = certify_from_counts(counts, counts, alpha, norms, self.radius_provider, mode=mode,
                                   alpha_split=alpha_split, grid=grid, runner_up=runner_up)
        return dict(cert.radii) if not cert.abstain else {parse_norm(p): 0.0 for p in norms}

    def describe(self) -> dict[str, Any]:
        """Settings that determine the noise draws and the radii (written into results headers)."""
        return {
            "noise": self.noise.definition(),
            "sigma": self.noise.sigma,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "device": self.device.type,
            "dtype": str(self.dtype).replace("torch.", ""),
            "amp": self.amp,
            "radius": self.radius_provider.describe()
            if hasattr(self.radius_provider, "describe") else {"provider": "custom"},
        }

