"""Monte Carlo sampling of the base classifier under noise, on the model's device.

The expensive part of randomized smoothing (Cohen, Rosenfeld & Kolter 2019,
Algorithm "SAMPLEUNDERNOISE"): count the classes f(x + eps_i) for i.i.d. noise draws.
Here

* the noise of every batch is drawn directly on the model's device with a seeded
  ``torch.Generator`` (never n copies of the input on the host: ``x`` is
  broadcast onto the noise batch in place);
* the model runs under ``torch.inference_mode`` and, optionally, autocast (mixed
  precision for the model only: the noise and the counts stay exact);
* the model must be frozen (eval mode, no batch statistics) — otherwise the draws
  are not i.i.d. and no confidence bound applies (docs/soundness-notes.md#s18).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from unicr.devices import resolve_device
from unicr.errors import InvalidParameterError, UnicrError
from unicr.noises.base import JointNoise, Noise, ProductNoise

__all__ = [
    "SmoothingError",
    "check_eval_mode",
    "NoiseSampler",
    "sample_counts",
    "make_generator",
    "derive_seed",
    "resolve_device",
]


class SmoothingError(UnicrError, ValueError):
    """The base classifier, the input or the noise cannot be used for smoothing as given."""


def check_eval_mode(model: nn.Module) -> None:
    """Refuse a model whose predictions depend on the other samples of the batch
    (docs/soundness-notes.md#s18).

    Every module must be in eval mode, and batch-normalisation layers must use
    stored running statistics (``track_running_stats=False`` uses batch statistics
    even in eval mode).  With batch statistics the Monte Carlo draws are not i.i.d.
    and neither Clopper-Pearson nor Neyman-Pearson applies.
    """
    for name, m in model.named_modules():
        if m.training:
            raise SmoothingError(
                f"the base classifier is in training mode (module {name or type(m).__name__!r}); "
                "call model.eval() before sampling: in train mode batch normalisation makes the "
                "noisy predictions depend on each other and the certificate is void"
            )
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and (
            not m.track_running_stats or m.running_mean is None
        ):
            raise SmoothingError(
                f"batch-normalisation layer {name!r} has no running statistics "
                "(track_running_stats=False), so it normalises with the statistics of each batch "
                "even in eval mode; the noisy predictions would not be independent"
            )


def derive_seed(*keys: int) -> int:
    """A 63-bit seed from integer keys (numpy ``SeedSequence``), e.g. (seed, index, stream)."""
    try:
        entropy = [int(k) for k in keys]
    except (TypeError, ValueError):
        raise InvalidParameterError(f"seeds must be integers, got {keys!r}") from None
    if any(k < 0 for k in entropy):
        raise InvalidParameterError(f"seeds must be non-negative integers, got {keys!r}")
    state = np.random.SeedSequence(entropy).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def make_generator(device: torch.device | str, *keys: int) -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded from :func:`derive_seed` of ``keys``."""
    g = torch.Generator(device=torch.device(device))
    g.manual_seed(derive_seed(*keys))
    return g


class NoiseSampler:
    """Draws noise batches of shape ``(b, *input_shape)`` on a device for a registry noise.

    Product noise: i.i.d. coordinates from ``noise.sample_torch``.  Joint noise on
    R^d: ``noise.sample_torch((b,))`` of shape ``(b, d)`` reshaped to the input shape
    (``noise.d`` must equal the number of input coordinates).  A trial draw at
    construction checks that the noise can be sampled on the device.
    """

    def __init__(self, noise: Noise, input_shape: tuple[int, ...], device: torch.device | str,
                 dtype: torch.dtype = torch.float32):
        if not isinstance(noise, Noise):
            raise InvalidParameterError(
                f"NoiseSampler needs a unicr Noise (unicr.noise(...)), got {type(noise).__name__}"
            )
        self.noise = noise
        self.input_shape = tuple(int(s) for s in input_shape)
        if not self.input_shape or any(s < 1 for s in self.input_shape):
            raise InvalidParameterError(
                f"input shape must be non-empty and positive, got {input_shape}")
        self.d = math.prod(self.input_shape)
        self.device = torch.device(device)
        self.dtype = dtype
        if isinstance(noise, JointNoise) and noise.d != self.d:
            raise SmoothingError(
                f"the joint noise {noise.name} was built for d={noise.d}, but the input "
                f"{self.input_shape} has d={self.d} coordinates"
            )
        if not isinstance(noise, (ProductNoise, JointNoise)):
            raise InvalidParameterError(f"unsupported noise type {type(noise).__name__}")
        try:
            trial = self.draw(2, torch.Generator(device=self.device).manual_seed(0))
        except UnicrError:
            raise
        except Exception as exc:  # any failure of a third-party sampler: name noise and device
            raise SmoothingError(
                f"noise {noise.name} cannot be sampled on device {self.device}: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        del trial

    def draw(self, batch: int, generator: torch.Generator, check: bool = True) -> torch.Tensor:
        """A fresh noise batch ``(batch, *input_shape)`` on the device.

        ``check`` verifies that every value is finite (a host sync on accelerators;
        :func:`sample_counts` checks on the device instead and syncs once).
        """
        if isinstance(self.noise, JointNoise):
            eps = self.noise.sample_torch((batch,), generator=generator, device=self.device,
                                          dtype=self.dtype)
            expected: tuple[int, ...] = (batch, self.d)
        else:
            eps = self.noise.sample_torch((batch, *self.input_shape), generator=generator,
                                          device=self.device, dtype=self.dtype)
            expected = (batch, *self.input_shape)
        if not isinstance(eps, torch.Tensor) or tuple(eps.shape) != expected:
            got = tuple(eps.shape) if isinstance(eps, torch.Tensor) else type(eps).__name__
            raise SmoothingError(f"noise {self.noise.name}: sampler returned {got}, "
                                 f"expected a tensor of shape {expected}")
        if eps.device != self.device:
            eps = eps.to(self.device)
        if eps.dtype != self.dtype:
            eps = eps.to(self.dtype)
        if check and not bool(_all_finite(eps)):
            raise self.non_finite_error()
        return eps.view(batch, *self.input_shape)

    def non_finite_error(self) -> SmoothingError:
        return SmoothingError(f"noise {self.noise.name}: the sampler produced non-finite values "
                              f"on {self.device}")


def _all_finite(t: torch.Tensor) -> torch.Tensor:
    """0-d bool tensor on t's device: one reduction pass, no copy (NaN and inf propagate)."""
    lo, hi = torch.aminmax(t)
    return torch.isfinite(lo) & torch.isfinite(hi)


def _autocast(device: torch.device, amp: bool) -> contextlib.AbstractContextManager[Any]:
    if not amp:
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if device.type == "cpu" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def _batches(num: int, batch_size: int) -> Iterator[int]:
    remaining = num
    while remaining > 0:
        b = min(batch_size, remaining)
        remaining -= b
        yield b


def sample_counts(model: nn.Module, x: torch.Tensor, sampler: NoiseSampler, num: int,
                  num_classes: int, generator: torch.Generator, batch_size: int = 1000,
                  amp: bool = False) -> np.ndarray:
    """Class counts of ``argmax model(x + eps_i)`` over ``num`` i.i.d. noise draws.

    Cohen et al. 2019, ``Smooth._sample_noise``: batches of at most ``batch_size``
    draws, generated on ``sampler.device`` from ``generator``.  ``x`` (shape
    ``input_shape``) is moved to the device once and broadcast onto each noise batch
    in place.  ``amp`` runs the model under autocast (bfloat16 on CPU, float16 on
    CUDA); the noise and the counts are unaffected.  Returns int64 counts of length
    ``num_classes``.
    """
    if num < 0 or batch_size < 1:
        raise InvalidParameterError(
            f"num must be >= 0 and batch_size >= 1, got {num}, {batch_size}")
    check_eval_mode(model)
    dev = sampler.device
    xs = x.to(device=dev, dtype=sampler.dtype)
    if tuple(xs.shape) != sampler.input_shape:
        raise SmoothingError(f"input has shape {tuple(x.shape)}, expected {sampler.input_shape}")
    xs = xs.unsqueeze(0)
    counts = torch.zeros(num_classes, dtype=torch.int64, device=dev)
    finite = torch.ones((), dtype=torch.bool, device=dev)
    with torch.inference_mode():
        for b in _batches(num, batch_size):
            eps = sampler.draw(b, generator, check=False)
            finite &= _all_finite(eps)  # checked once at the end: no per-batch device sync
            batch = eps.add_(xs)
            with _autocast(dev, amp):
                logits = model(batch)
            if logits.ndim != 2 or logits.shape[0] != b or logits.shape[1] != num_classes:
                raise SmoothingError(
                    f"the base classifier returned shape {tuple(logits.shape)} for a batch of {b} "
                    f"inputs; expected ({b}, {num_classes}) (one score per class)"
                )
            counts += torch.bincount(logits.argmax(1), minlength=num_classes)
        if not bool(finite):
            raise sampler.non_finite_error()
    return counts.cpu().numpy()
