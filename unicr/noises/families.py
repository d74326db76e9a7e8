"""Closed-form i.i.d. (product) noise families.

Each class implements the standardised law (native scale 1) of
:class:`unicr.noises.base.ProductNoise`; conventions for the native scale follow
docs/certificate-notes.md#c0-4 (docs/certificate-notes.md#c0-4 below).

Numerical habits (docs/concepts.md "Log space"):

* every symmetric family implements its *left half* (``z <= 0``: ``_left_cdf1``,
  ``_left_logcdf1``; ``u <= 1/2``: ``_left_ppf1``) and the right half follows by
  symmetry, so upper tails are computed as lower tails (no ``1 - cdf`` cancellation,
  accurate ``ppf`` near 1 through ``1 - u``, which is exact for ``u >= 1/2``);
* log-cdfs stay finite far beyond the underflow of the cdf (continued fractions for
  the incomplete gamma/beta tails, closed forms elsewhere);
* quantiles that exceed the float64 range (Pareto/Cauchy/Student t at ``u`` ~ 1e-310)
  saturate at ``+-numpy.finfo(float).max`` instead of returning ``inf``;
* torch samplers draw on the requested device with the given ``torch.Generator``,
  compute in float64 and cast once (saturating at the target dtype's range).

Compiled log-density (unicr issue #13): each family also declares, in its class and nowhere
else, the unnormalised standardised log-density the Monte Carlo kernels evaluate --
``logq_scalar`` (plain ``math``, jitted by :mod:`unicr.noises.numba_logq`), ``logq_torch_``
(in place on torch tensors), ``logq_continuity`` and the rounding constants -- returned by
``compiled_logq()`` as a :class:`~unicr.noises.base.CompiledLogDensity`
(docs/adding-a-noise.md, "Adding a closed-form family").
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from unicr.noises import kernel_slots
from unicr.noises.base import Param, ProductNoise
from unicr.noises.builtins import register

__all__ = [
    "Gaussian",
    "Laplace",
    "Uniform",
    "Cauchy",
    "HyperbolicSecant",
    "GeneralizedNormal",
    "Pareto",
    "StudentT",
    "Logistic",
    "SymmetricProductNoise",
    "log1mexp",
]

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_LN2 = math.log(2.0)
_LOG_PI = math.log(math.pi)
_FMAX = float(np.finfo(float).max)
#: below this a cdf computed by a special function is replaced by its log-space form
_TINY = 1e-250
_LOG_TINY_X = math.log(1e-280)


# ---------------------------------------------------------------------------
# numerical helpers (shared with mixtures.py and joint.py)
# ---------------------------------------------------------------------------


def log1mexp(x: Any) -> np.ndarray:
    """``log(1 - exp(x))`` for ``x <= 0``, accurate over the whole range (Maechler 2012)."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(x > -_LN2, np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def _log1p_sq(t: np.ndarray) -> np.ndarray:
    """``log(1 + t^2)`` without overflow of ``t^2`` for huge ``|t|``."""
    a = np.abs(np.asarray(t, dtype=float))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        big = 2.0 * np.log(a) + np.log1p(1.0 / (a * a))
        small = np.log1p(a * a)
    return np.where(a > 1.0, big, small)


def _saturate(x: np.ndarray) -> np.ndarray:
    """Clip to the finite float64 range (quantiles of very heavy tails)."""
    return np.clip(x, -_FMAX, _FMAX)


def _log_gammaincc_cf(a: float, x: np.ndarray, iters: int = 300) -> np.ndarray:
    """``log Q(a, x)`` (regularised upper incomplete gamma) by its continued fraction.

    Modified Lentz evaluation of Numerical Recipes (3rd ed.) Eq. 6.2.7; converges
    quickly for ``x > a + 1``, the only region where it is used.
    """
    tiny = 1e-300
    b = x + 1.0 - a
    c = np.full_like(x, 1.0 / tiny)
    d = 1.0 / b
    h = d.copy()
    for i in range(1, iters + 1):
        an = -i * (i - a)
        b = b + 2.0
        d = an * d + b
        d = np.where(np.abs(d) < tiny, tiny, d)
        c = b + an / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        d = 1.0 / d
        delta = d * c
        h = h * delta
        if np.all(np.abs(delta - 1.0) < 1e-16):
            break
    return -x + a * np.log(x) - special.gammaln(a) + np.log(h)


def log_gammaincc(a: float, x: Any) -> np.ndarray:
    """``log Q(a, x)`` for ``x >= 0``, finite far beyond the underflow of ``Q``."""
    x = np.asarray(x, dtype=float)
    q = special.gammaincc(a, x)
    with np.errstate(divide="ignore"):
        out = np.log(q)
    deep = (q < _TINY) & np.isfinite(x) & (x > a + 1.0)
    if np.any(deep):
        out = np.array(out, dtype=float, copy=True)
        out[deep] = _log_gammaincc_cf(a, x[deep])
    return out


def _log_betainc_cf(a: float, b: float, logx: np.ndarray, log1mx: np.ndarray,
                    iters: int = 400) -> np.ndarray:
    """``log I_x(a, b)`` by the continued fraction of Numerical Recipes Eq. 6.4.5.

    Valid (fast convergence) for ``x < (a + 1)/(a + b + 2)``.  ``x`` enters through
    ``log x`` and ``log(1 - x)`` so that it may be far below the float64 range.
    """
    tiny = 1e-300
    x = np.exp(logx)  # may underflow to 0: the fraction then equals 1 exactly
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = np.ones_like(x)
    d = 1.0 - qab * x / qap
    d = np.where(np.abs(d) < tiny, tiny, d)
    d = 1.0 / d
    h = d.copy()
    for m in range(1, iters + 1):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = np.where(np.abs(d) < tiny, tiny, d)
        c = 1.0 + aa / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        d = 1.0 / d
        h = h * d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = np.where(np.abs(d) < tiny, tiny, d)
        c = 1.0 + aa / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        d = 1.0 / d
        delta = d * c
        h = h * delta
        if np.all(np.abs(delta - 1.0) < 1e-16):
            break
    return a * logx + b * log1mx - math.log(a) - special.betaln(a, b) + np.log(h)


def _torch_random_sign(x: Any, generator: Any) -> Any:
    """Multiply ``x`` by independent fair random signs (drawn on ``x``'s device)."""
    import torch

    flip = torch.rand(x.shape, generator=generator, device=x.device, dtype=torch.float64) < 0.5
    return torch.where(flip, -x, x)


def _torch_gamma(shape: tuple[int, ...], alpha: float, generator: Any, device: Any) -> Any:
    """Gamma(alpha, 1) variates (float64) on ``device``."""
    import torch

    conc = torch.full(shape, float(alpha), dtype=torch.float64, device=device)
    return torch._standard_gamma(conc, generator=generator)


def _torch_cast(x: Any, dtype: Any) -> Any:
    """Cast a float64 tensor to ``dtype``, saturating at the dtype's finite range."""
    import torch

    fmax = float(torch.finfo(dtype).max)
    return x.clamp(-fmax, fmax).to(dtype)


def _random_sign(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``x`` times independent fair random signs.

    The sign of coordinate i is flipped when the i-th raw 64-bit word of the generator has
    its top bit clear, by XOR-ing that bit into the float64 sign bit: the same words, hence
    the same draws, as ``np.where(rng.random(shape) < 0.5, -x, x)`` (``random() < 1/2`` iff
    the word's top bit is clear), about twice as fast (no uniform conversion, no select).
    """
    out = np.array(x, dtype=np.float64)
    if out.size:
        words = rng.integers(0, 2**64 - 1, size=out.shape, dtype=np.uint64, endpoint=True)
        np.invert(words, out=words)
        words &= np.uint64(1 << 63)
        flat = out.reshape(-1).view(np.uint64)
        flat ^= words.reshape(-1)
    return out


# ---------------------------------------------------------------------------
# symmetric families: left half implemented, right half by symmetry
# ---------------------------------------------------------------------------


class SymmetricProductNoise(ProductNoise):
    """A symmetric product noise defined by its left half.

    Subclasses implement ``_left_cdf1(z)``, ``_left_logcdf1(z)`` for ``z <= 0`` and
    ``_left_ppf1(u)`` for ``0 <= u <= 1/2``; cdf, sf, log-cdf, log-sf, ppf and isf
    follow by symmetry with both tails computed as lower tails.
    """

    symmetric = True

    def _left_cdf1(self, z: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _left_logcdf1(self, z: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _left_ppf1(self, u: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _cdf1(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        c = self._left_cdf1(-np.abs(z))
        return np.where(z <= 0, c, 1.0 - c)

    def _sf1(self, z: np.ndarray) -> np.ndarray:
        return self._cdf1(-np.asarray(z, dtype=float))

    def _logcdf1(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        lc = self._left_logcdf1(-np.abs(z))
        return np.where(z <= 0, lc, log1mexp(lc))

    def _logsf1(self, z: np.ndarray) -> np.ndarray:
        return self._logcdf1(-np.asarray(z, dtype=float))

    def _ppf1(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, dtype=float)
        with np.errstate(invalid="ignore"):
            bad = ~((u >= 0.0) & (u <= 1.0))
            lo = np.where(u <= 0.5, u, 1.0 - u)  # 1 - u is exact for u >= 1/2
            lo = np.where(bad, 0.25, lo)
            x = self._left_ppf1(lo)
            out = np.where(u <= 0.5, x, -x)
        lo_s, hi_s = self.support1
        out = np.where(u == 0.0, lo_s, np.where(u == 1.0, hi_s, out))
        return np.where(bad, np.nan, out)

    def _isf1(self, u: np.ndarray) -> np.ndarray:
        return -self._ppf1(u)

    def mean(self) -> float:
        return 0.0


# ---------------------------------------------------------------------------
# Gaussian
# ---------------------------------------------------------------------------


@register("gaussian", "normal", "gauss")
class Gaussian(ProductNoise):
    """Gaussian noise N(0, scale^2); the native scale is the standard deviation (sigma = scale).

    Cohen et al. 2019; UniCR Table 7 writes it as exp(-|x/alpha|^2) with alpha = sqrt(2) sigma.
    """

    description = "Gaussian N(0, sigma^2)"
    source = "Cohen, Rosenfeld & Kolter 2019; UniCR (Hong et al. 2022) Table 7"
    scale_name = "std"
    symmetric = True
    var1 = 1.0

    def _logpdf1(self, z: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):  # z^2 = inf -> logpdf = -inf, correctly
            return -0.5 * z * z - _LOG_SQRT_2PI


    # -- compiled log-density (Monte Carlo kernels: numba and torch) ------------------
    @staticmethod
    def logq_scalar(z: float, p1: float) -> float:
        """Unnormalised standardised log-density ``-z^2/2`` at one point (plain ``math``,
        jitted by :mod:`unicr.noises.numba_logq`; ``p1`` unused)."""
        return -0.5 * z * z

    def logq_torch_(self, x: Any, scratch: Any, mask: Any, big: float, small: bool = False) -> Any:
        """``-x^2/2`` in place (:class:`~unicr.noises.base.CompiledLogDensity`)."""
        return x.square_().mul_(-0.5)

    def logq_continuity(self, delta: float) -> tuple[float, float]:
        """``|z e + e^2/2| <= delta max(1, z^2) + delta^2`` for ``|e| <= delta``."""
        return 2.0 * delta, delta + delta * delta

    kernel_slot = kernel_slots.GAUSSIAN
    kernel_elastic = 2.0
    kernel_c_eval = 4.0

    def _cdf1(self, z: np.ndarray) -> np.ndarray:
        return special.ndtr(z)

    def _logcdf1(self, z: np.ndarray) -> np.ndarray:
        return special.log_ndtr(z)

    def _ppf1(self, u: np.ndarray) -> np.ndarray:
        return special.ndtri(u)

    def _score1(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, dtype=float)

    def _sample1(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal(shape)

    def _sample1_torch(self, shape: tuple[int, ...], generator: Any, device: Any,
                       dtype: Any) -> Any:
        import torch

        return torch.randn(shape, generator=generator, device=device, dtype=dtype)

    def fisher_information(self) -> float:
        return 1.0 / self.scale / self.scale


# ---------------------------------------------------------------------------
# Laplace
# ---------------------------------------------------------------------------


@register("laplace", "laplacian")
class Laplace(SymmetricProductNoise):
    """Laplace noise, density exp(-|x|/lambda) / (2 lambda); sigma = sqrt(2) lambda.

    Teng et al. 2020 (l1 certificate); Yang et al. 2020; UniCR Table 7 (e^{-|x/alpha|});
    scale convention docs/certificate-notes.md#c0-4 (lambda = sigma/sqrt(2)).
    """

    description = "Laplace exp(-|x|/lambda)/(2 lambda)"
    source = "Teng, Lee & Yuan 2020; Yang et al. 2020; UniCR (Hong et al. 2022) Table 7"
    scale_name = "lambda"
    var1 = 2.0

    def _logpdf1(self, z: np.ndarray) -> np.ndarray:
        return -np.abs(z) - _LN2


    # -- compiled log-density (Monte Carlo kernels: numba and torch) ------------------
    @staticmethod
    def logq_scalar(z: float, p1: float) -> float:
        """Unnormalised standardised log-density ``-|z|`` at one point (plain ``math``,
        jitted by :mod:`unicr.noises.numba_logq`; ``p1`` unused)."""
        return -abs(z)

    def logq_torch_(self, x: Any, scratch: Any, mask: Any, big: float, small: bool = False) -> Any:
        """``-|x|`` in place (:class:`~unicr.noises.base.CompiledLogDensity`)."""
        return x.abs_().neg_()

    def logq_continuity(self, delta: float) -> tuple[float, float]:
        """Lipschitz constant 1."""
        return 0.0, 1.0 * delta

    kernel_slot = kernel_slots.LAPLACE
    kernel_elastic = 1.0
    kernel_c_eval = 1.0

    def _left_cdf1(self, z: np.ndarray) -> np.ndarray:
        return 0.5 * np.exp(z)

    def _left_logcdf1(self, z: np.ndarray) -> np.ndarray:
        return z - _LN2

    def _left_ppf1(self, u: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(2.0 * u)

    def _score1(self, z: np.ndarray) -> np.ndarray:
        return np.sign(np.asarray(z, dtype=float))

    def fisher_information(self) -> float:
        """E[sign(eps)^2 / lambda^2] = 1/lambda^2."""
        return 1.0 / self.scale / self.scale

    def _sample1(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        return _random_sign(rng.standard_exponential(shape), rng)

    def _sample1_torch(self, shape: tuple[int, ...], generator: Any, device: Any,
                       dtype: Any) -> Any:
        import torch

        u = torch.rand(shape, generator=generator, device=device, dtype=torch.float64)
        e = -torch.log1p(-u)  # Exp(1), finite because u < 1
        return _torch_cast(_torch_random_sign(e, generator), dtype)


# ---------------------------------------------------------------------------
# Uniform
# ---------------------------------------------------------------------------


@register("uniform", "uniform_cube")
class Uniform(SymmetricProductNoise):
    """Uniform noise U[-lambda, lambda]; sigma = lambda / sqrt(3).

    Yang et al. 2020 (l1 / l_inf certificates, docs/certificate-notes.md#c3-1 (to §3.2)); Nandi et al. 2023
    parameterise it
    by its standard deviation.  The density has jumps: ``has_score = False``.
    """

    description = "Uniform on [-lambda, lambda]"
    source = "Yang et al. 2020; Nandi et al. 2023"
    scale_name = "lambda"
    var1 = 1.0 / 3.0
    support1 = (-1.0, 1.0)
    has_score = False

    def _logpdf1(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        return np.where(np.abs(z) <= 1.0, -_LN2, -np.inf)


    # -- compiled log-density (Monte Carlo kernels: numba and torch) ------------------
    @staticmethod
    def logq_scalar(z: float, p1: float) -> float:
        """Unnormalised standardised log-density (0 on ``|z| <= 1``, ``-inf`` outside) at one
        point (plain ``math``, jitted by :mod:`unicr.noises.numba_logq`; ``p1`` unused)."""
        return 0.0 if abs(z) <= 1.0 else -math.inf

    def logq_torch_(self, x: Any, scratch: Any, mask: Any, big: float, small: bool = False) -> Any:
        """0 on ``|x| <= 1``, ``-inf`` outside, in place
        (:class:`~unicr.noises.base.CompiledLogDensity`)."""
        import torch

        x.abs_()
        torch.gt(x, 1.0, out=mask)
        return x.zero_().masked_fill_(mask, -math.inf)

    def logq_continuity(self, delta: float) -> tuple[float, float]:
        """A jump: rounding at the cube's faces is not covered (models.py)."""
        return 0.0, 0.0

    kernel_slot = kernel_slots.UNIFORM
    kernel_elastic = 0.0
    kernel_c_eval = 0.0
    kernel_indicator = True

    def _left_cdf1(self, z: np.ndarray) -> np.ndarray:
        return np.clip(0.5 * (1.0 + z), 0.0, 0.5)

    def _left_logcdf1(self, z: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self._left_cdf1(z))

    def _left_ppf1(self, u: np.ndarray) -> np.ndarray:
        return 2.0 * u - 1.0

    def fisher_information(self) -> float:
        """Infinite: the density jumps at +-lambda (no regular location Fisher information)."""
        return math.inf

    def _sample1(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(-1.0, 1.0, shape)

    def _sample1_torch(self, shape: tuple[int, ...], generator: Any, device: Any,
                       dtype: Any) -> Any:
        import torch

        u = torch.rand(shape, generator=generator, device=device, dtype=torch.float64)
        return _torch_cast(2.0 * u - 1.0, dtype)


# ---------------------------------------------------------------------------
# Cauchy
# ---------------------------------------------------------------------------


@register("cauchy", "cauthy")
class Cauchy(SymmetricProductNoise):
    """Cauchy noise, density s / (pi (x^2 + s^2)); infinite variance (no sigma).

    UniCR Table 7 ("Cauthy", alpha^2/(x^2 + alpha^2)); docs/certificate-notes.md#c0-3 (to §0.4): sigma
    matching is
    undefined, build it with ``scale=``.
    """

    description = "Cauchy s/(pi (x^2 + s^2)) (infinite variance)"
    source = "UniCR (Hong et al. 2022) Table 7"
    scale_name = "s"
    var1 = math.inf

    def _logpdf1(self, z: np.ndarray) -> np.ndarray:
        return -_LOG_PI - _log1p_sq(z)


    # -- compiled log-density (Monte Carlo kernels: numba and torch) ------------------
    @staticmethod
    def logq_scalar(z: float, p1: float) -> float:
        """Unnormalised standardised log-density ``-log(1 + z^2)`` at one point (``2 log|z|``
        beyond 1e150, no overflow of ``z^2``; plain ``math``, jitted by
        :mod:`unicr.noises.numba_logq`; ``p1`` unused)."""
        a = abs(z)
        if a > 1e150:
            return -2.0 * math.log(a)
        return -math.log1p(a * a)

    @staticmethod
    def logq_ratio_scalar(z: float, a: float, p1: float) -> tuple[float, float, bool]:
        """``log q(z - a) - log q(z)`` with one logarithm and a magnitude covering its rounding;
        ``ok = False``: use the two-logarithm form instead.

        ``log(1 + (z - a)^2) - log(1 + z^2) = log1p(d)``, ``d = a (a - 2z) / (1 + z^2)``, times
        -1.  ``d`` carries a relative error of a few ulps, which log1p turns into an absolute
        error of a few ulps times ``|d| / (1 + d) <= min(2 |d|, 1)`` -- hence only for
        ``d >= -1/2`` -- so ``|term| + 2 min(|d|, 1)`` is returned as the term's magnitude
        (the rounding bound multiplies it by >= 8 ulps).
        """
        nu = 1.0
        c = 1.0
        d = a * (a - 2.0 * z) / (nu + z * z)
        if not d >= -0.5:
            return 0.0, 0.0, False
        t = -c * math.log1p(d)
        return t, abs(t) + 2.0 * c * min(abs(d), 1.0), True

    def logq_torch_(self, x: Any, scratch: Any, mask: Any, big: float, small: bool = False) -> Any:
        """``-log(1 + x^2)`` in place, ``-2 log|x|`` beyond ``big``
        (:class:`~unicr.noises.base.CompiledLogDensity`)."""
        import torch

        x.abs_()
        if small:
            return x.square_().log1p_().neg_()
        torch.gt(x, big, out=mask)
        torch.mul(x, x, out=scratch).log1p_()
        x.log_().mul_(2.0)
        return torch.where(mask, x, scratch, out=scratch).neg_()

    def logq_continuity(self, delta: float) -> tuple[float, float]:
        """Lipschitz constant 1 (``|2z / (1 + z^2)| <= 1``)."""
        return 0.0, 1.0 * delta

    kernel_slot = kernel_slots.CAUCHY
    kernel_elastic = 2.0
    kernel_c_eval = 12.0

    def _left_cdf1(self, z: np.ndarray) -> np.ndarray:
        # arctan(1/|z|)/pi: accurate in the far left tail
        return np.arctan2(1.0, -np.asarray(z, dtype=float)) / math.pi

    def _left_logcdf1(self, z: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self._left_cdf1(z))

    def _left_ppf1(self, u: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            centre = np.tan(math.pi * (u - 0.5))
            tail = -1.0 / np.tan(math.pi * u)
        return _saturate(np.where(u > 0.25, centre, tail))

    def _score1(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            big = 2.0 / (z + 1.0 / z)
            small = 2.0 * z / (1.0 + z * z)
        return np.where(np.abs(z) > 1.0, big, small)

    def fisher_information(self) -> float:
        """1 / (2 s^2) (location Fisher information of the Cauchy law)."""
        return 0.5 / self.scale / self.scale

    def _sample1(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        return _saturate(rng.standard_cauchy(shape))

    def _sample1_torch(self, shape: tuple[int, ...], generator: Any, device: Any,
                       dtype: Any) -> Any:
        import torch

        v = torch.rand(shape, generator=generator, device=device, dtype=torch.float64)
        half = torch.tan(0.5 * math.pi * v)  # half-Cauchy; finite because v < 1
        return _torch_cast(_torch_random_sign(half, generator), dtype)


# ---------------------------------------------------------------------------
# hyperbolic secant
# ---------------------------------------------------------------------------


@register("hsecant", "hyperbolic_secant", "sech", "hypsecant")
class HyperbolicSecant(SymmetricProductNoise):
    """Hyperbolic-secant noise, density sech(x/s) / (pi s); sigma = pi s / 2.

    UniCR Table 7 writes the density as proportional to sech(x/alpha); the native scale is that
    alpha (= s), and docs/certificate-notes.md#c0-4 gives s = 2 sigma / pi (UniCR's docstring quotes 0.642
    for sigma = 1,
    a numeric estimate of 2/pi = 0.6366).  At s = 1 this is scipy.stats.hypsecant.
    """

    description = "Hyperbolic secant sech(x/s)/(pi s)"
    source = "UniCR (Hong et al. 2022) Table 7"
    scale_name = "s"
    var1 = math.pi**2 / 4.0

    def _logpdf1(self, z: np.ndarray) -> np.ndarray:
        a = np.abs(np.asarray(z, dtype=float))
        # -log cosh(a) - log(pi)
        return -(a + np.log1p(np.exp(-2.0 * a)) - _LN2) - _LOG_PI


    # -- compiled log-density (Monte Carlo kernels: numba and torch) ------------------
    @staticmethod
    def logq_scalar(z: float, p1: float) -> float:
        """Unnormalised standardised log-density ``-(|z| + log1p(e^{-2|z|}))`` (``-log cosh z``
        up to a constant) at one point (plain ``math``, jitted by
        :mod:`unicr.noises.numba_logq`; ``p1`` unused)."""
        a = abs(z)
        return -(a + math.log1p(math.exp(-2.0 * a)))

    def logq_torch_(self, x: Any, scratch: Any, mask: Any, big: float, small: bool = False) -> Any:
        """``-(|x| + log1p(e^{-2|x|}))`` in place (:class:`~unicr.noises.base.CompiledLogDensity`)."""
        import torch

        x.abs_()
        torch.mul(x, -2.0, out=scratch).exp_().log1p_()
        return x.add_(scratch).neg_()

    def logq_continuity(self, delta: float) -> tuple[float, float]:
        """Lipschitz constant 1 (``|tanh| <= 1``)."""
        return 0.0, 1.0 * delta

    kernel_slot = kernel_slots.HSECANT
    kernel_elastic = 1.0
    kernel_c_eval = 16.0

    def _left_cdf1(self, z: np.ndarray) -> np.ndarray:
        return (2.0 / math.pi) * np.arctan(np.exp(z))

    def _left_logcdf1(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        with np.errstate(divide="ignore", under="ignore"):
            direct = np.log(np.arctan(np.exp(z)))
            # arctan(t) = t (1 - t^2/3 + ...) for t = e^z -> 0
            deep = z - np.exp(2.0 * z) / 3.0
        return math.log(2.0 / math.pi) + np.where(z < -20.0, deep, direct)

    def _left_ppf1(self, u: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            tail = np.log(np.tan(0.5 * math.pi * u))
            # centre: log tan(pi u / 2) = 2 artanh(tan(pi (2u - 1) / 4)), 2u - 1 exact
            centre = 2.0 * np.arctanh(np.tan(0.25 * math.pi * (2.0 * u - 1.0)))
        return np.where(u < 0.25, tail, centre)

    def _score1(self, z: np.ndarray) -> np.ndarray:
        return np.tanh(np.asarray(z, dtype=float))

    def fisher_information(self) -> float:
        """E[tanh(Z)^2] / s^2 = 1/(2 s^2)  (int sech - int sech^3 = pi - pi/2, over pi)."""
        return 0.5 / self.scale / self.scale

    def _sample1(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        v = rng.random(shape)
        return _random_sign(2.0 * np.arctanh(np.tan(0.25 * math.pi * v)), rng)

    def _sample1_torch(self, shape: tuple[int, ...], generator: Any, device: Any,
                       dtype: Any) -> Any:
        import torch

        v = torch.rand(shape, generator=generator, device=device, dtype=torch.float64)
        half = 2.0 * torch.atanh(torch.tan(0.25 * math.pi * v))
        return _torch_cast(_torch_random_sign(half, generator), dtype)


# ---------------------------------------------------------------------------
# generalized normal
# ---------------------------------------------------------------------------


@register("gennorm", "general_normal", "generalized_normal", "generalized_gaussian", "expp")
class GeneralizedNormal(SymmetricProductNoise):
    """Generalized normal noise, density beta/(2 alpha Gamma(1/beta)) exp(-|x/alpha|^beta).

    sigma = alpha sqrt(Gamma(3/beta)/Gamma(1/beta)) (docs/certificate-notes.md#c0-4,
    docs/certificate-notes.md#c5-1); the same law as Yang et al.
    2020's Expp, UniCR's General Normal (Table 7), Hayes 2020 GN (Eq. 13) and scipy's gennorm.
    beta = 1 is Laplace(alpha), beta = 2 is a Gaussian of std alpha/sqrt(2); beta -> inf is
    the uniform law on [-alpha, alpha].

    Every formula is written so that it stays exact for any beta in range, with
    ``a = 1/beta``:

    * normalisation and moments through ``Gamma(1 + a)`` (no ``log beta - log Gamma(1/beta)``
      cancellation at huge beta);
    * the cdf near the centre (``|z| <= 1``) through ``P(a, |z|^beta) = |z| K(a, |z|^beta) /
      Gamma(1 + a)`` with ``K(a, x) = 1F1(a; a + 1; -x) = sum_k a/(a + k) (-x)^k / k!``
      (DLMF 8.5.1), which needs ``|z|^beta`` only inside ``K`` where its underflow is harmless;
      beyond ``|z| = 1`` the upper incomplete gamma function of ``|z|^beta >= 1``;
    * sampling by ``|Z| = U G^a`` with ``G ~ Gamma(1 + a)``, ``U ~ Uniform(0, 1]``
      independent: ``G U^(1/a) ~ Gamma(a)`` (Stuart 1962; Marsaglia & Tsang 2000, Sec. 6), so
      ``|Z|^beta ~ Gamma(1/beta)`` exactly, and nothing underflows (the classical
      ``Gamma(1/beta)^(1/beta)`` draw underflows to 0 for beta >~ 300).

    The lower end of ``beta`` is where the law leaves float64: at beta = 0.02 the variance
    is ``e^455`` and the quantiles reach ``1e145``; below ~0.015 the variance overflows.
    """

    description = "Generalized normal exp(-|x/alpha|^beta)"
    source = "Yang et al. 2020 (Expp); UniCR (Hong et al. 2022) Table 7; Hayes 2020 Eq. 13"
    scale_name = "alpha"
    param_info = (
        Param("beta", 1.5, low=0.02, low_open=False,
              doc="shape: 1 = Laplace, 2 = Gaussian, large -> uniform; >= 0.02 (smaller "
                  "shapes have a variance beyond the float64 range)"),
    )

    def _setup(self) -> None:
        b = self.params["beta"]
        self._b = b
        self._a = 1.0 / b
        self._lg1a = float(special.gammaln(1.0 + self._a))  # log Gamma(1 + 1/beta)
        # beta / (2 Gamma(1/beta)) = 1 / (2 Gamma(1 + 1/beta))
        self._lognorm = -_LN2 - self._lg1a
        # Q(a, 1): twice the cdf at z = -1, where the centre and tail formulas meet
        self._q1 = float(special.gammaincc(self._a, 1.0))

    def variance1(self) -> float:
        # Gamma(3a)/Gamma(a) = Gamma(1 + 3a) / (3 Gamma(1 + a))
        return math.exp(special.gammaln(1.0 + 3.0 * self._a) - self._lg1a) / 3.0

    def _pow(self, z: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", under="ignore"):
            return np.abs(np.asarray(z, dtype=float)) ** self._b

    def _logpdf1(self, z: np.ndarray) -> np.ndarray:
        return self._lognorm - self._pow(z)


    # -- compiled log-density (Monte Carlo kernels: numba and torch) ------------------
    @staticmethod
    def logq_scalar(z: float, p1: float) -> float:
        """Unnormalised standardised log-density ``-|z|^beta`` (``p1 = beta``) at one point
        (plain ``math``, jitted by :mod:`unicr.noises.numba_logq`)."""
        return -(abs(z) ** p1)

    def logq_torch_(self, x: Any, scratch: Any, mask: Any, big: float, small: bool = False) -> Any:
        """``-|x|^beta`` in place (:class:`~unicr.noises.base.CompiledLogDensity`)."""
        return x.abs_().pow_(float(self.params["beta"])).neg_()

    def logq_continuity(self, delta: float) -> tuple[float, float]:
        """Hoelder for ``beta <= 1``; else ``beta |xi|^(beta-1) delta`` with
        ``(|z| + delta)^beta <= 2^(beta-1)(|z|^beta + delta^beta)``."""
        p1 = float(self.params["beta"])
        if p1 <= 1.0:  # Hoelder: ||z + e|^b - |z|^b| <= |e|^b
            return 0.0, delta**p1
        c = p1 * 2.0 ** (p1 - 1.0)
        return c * delta, p1 * delta * (1.0 + 2.0 ** (p1 - 1.0) * delta**p1)

    kernel_slot = kernel_slots.GENNORM
    kernel_c_eval = 12.0

    def kernel_shape(self) -> tuple[float, float, float]:
        beta = float(self.params["beta"])
        return beta, beta, 1.0  # p1 = elastic = beta

    def _kummer(self, x: np.ndarray) -> np.ndarray:
        """``K(a, x) = 1F1(a; a+1; -x)`` for ``0 <= x <= 1`` by its series (30 terms: < 1e-32)."""
        a = self._a
        out = np.ones_like(x)
        term = np.ones_like(x)
        for k in range(1, 30):
            term = term * (-x) / k
            out = out + term * (a / (a + k))
        return out

    def _lower_p(self, t: np.ndarray) -> np.ndarray:
        """``P(a, t^beta)`` (mass of ``|Z| <= t``) for ``0 <= t <= 1``."""
        return t * self._kummer(self._pow(t)) * math.exp(-self._lg1a)

    def _left_cdf1(self, z: np.ndarray) -> np.ndarray:
        t = np.abs(np.asarray(z, dtype=float))
        inner = t <= 1.0
        ti = np.where(inner, t, 0.0)
        with np.errstate(invalid="ignore"):
            centre = 0.5 * (1.0 - self._lower_p(ti))
            tail = 0.5 * special.gammaincc(self._a, self._pow(np.where(inner, 1.0, t)))
        return np.where(inner, centre, tail)

    def _left_logcdf1(self, z: np.ndarray) -> np.ndarray:
        t = np.abs(np.asarray(z, dtype=float))
        inner = t <= 1.0
        ti = np.where(inner, t, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            centre = -_LN2 + np.log1p(-self._lower_p(ti))
            tail = -_LN2 + log_gammaincc(self._a, self._pow(np.where(inner, 1.0, t)))
        return np.where(inner, centre, tail)

    def _left_ppf1(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, dtype=float)
        a = self._a
        # tail (|z| > 1, i.e. 2u < Q(a, 1)): x = Q^{-1}(a, 2u) >= 1 is representable
        outer = 2.0 * u < self._q1
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            x = special.gammainccinv(a, np.where(outer, 2.0 * u, self._q1))
            tail = x**a
        # centre: solve t K(a, t^beta) = (1 - 2u) Gamma(1 + a) for t in [0, 1] by Newton;
        # the left side is concave increasing in t, so Newton from t0 = y (<= root) increases
        # monotonically to the root.  d/dt = exp(-t^beta).
        y = np.where(outer, 0.0, (1.0 - 2.0 * u) * math.exp(self._lg1a))
        t = np.clip(y, 0.0, 1.0)
        for _ in range(100):
            with np.errstate(over="ignore", invalid="ignore"):
                g = t * self._kummer(self._pow(t)) - y
                step = g * np.exp(self._pow(t))
            tn = np.clip(np.nan_to_num(t - step, nan=1.0), t, 1.0)  # monotone from the left
            done = np.all(np.abs(tn - t) <= 2e-16 * np.maximum(tn, 1e-300))
            t = tn
            if done:
                break
        return -_saturate(np.where(outer, tail, t))

    def _score1(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        a = np.abs(z)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            s = self._b * a ** (self._b - 1.0)
        return np.where(z == 0, 0.0, np.sign(z) * s)

    def fisher_information(self) -> float:
        """beta^2 Gamma(2 - 1/beta) / Gamma(1/beta) / alpha^2, infinite for beta <= 1/2.

        Written as beta Gamma(2 - 1/beta) / Gamma(1 + 1/beta) (exact at huge beta).
        """
        b = self._b
        if b <= 0.5:
            return math.inf
        val = b * math.exp(special.gammaln(2.0 - self._a) - self._lg1a)
        return val / self.scale / self.scale

    def _sample1(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        g = rng.standard_gamma(1.0 + self._a, shape)
        u = 1.0 - rng.random(shape)  # (0, 1]
        with np.errstate(over="ignore", divide="ignore"):
            m = np.exp(self._a * np.log(g) + np.log(u))
        return _saturate(_random_sign(m, rng))

    def _sample1_torch(self, shape: tuple[int, ...], generator: Any, device: Any,
                       dtype: Any) -> Any:
        import torch

        g = _torch_gamma(shape, 1.0 + self._a, generator, device)
        u = 1.0 - torch.rand(shape, generator=generator, device=device, dtype=torch.float64)
        m = torch.exp(self._a * torch.log(g) + torch.log(u))
        return _torch_cast(_torch_random_sign(m, generator), dtype)


# ---------------------------------------------------------------------------
# Pareto (two-sided Lomax)
# ---------------------------------------------------------------------------


@register("pareto")
class Pareto(SymmetricProductNoise):
    """Symmetric Pareto noise, density (a / (2 lambda)) (1 + |x|/lambda)^-(a+1).

    Yang et al. 2020 (docs/certificate-notes.md#c6): lambda = sigma sqrt((a-1)(a-2)/2), finite variance only
    for a > 2
    (E Z^2 = a B(3, a-2) = 2/((a-1)(a-2)) at lambda = 1).  UniCR Table 7 calls the shape beta.
    Sampling: |Z| = U^{-1/a} - 1 = expm1(E/a) with E ~ Exp(1), random sign.
    """

    description = "Pareto (1 + |x|/lambda)^-(a+1) (two-sided Lomax)"
    source = "Yang et al. 2020; UniCR (Hong et al. 2022) Table 7"
    scale_name = "lambda"
    #: a >= 0.05: the mass beyond the float64 range, (1 + 1.8e308)^-a, is then <= 4e-16 (a few
    #: float64 uniform steps); at a = 1e-3 it is half the mass, so no float64 sampler or cdf can
    #: represent the law; a <= 1e100: beyond, the variance 2/((a-1)(a-2)) underflows
    param_info = (Param("a", 3.0, low=0.05, high=1e100, low_open=False, high_open=False,
                        doc="tail index in [0.05, 1e100]; variance finite for a > 2"),)

    def _setup(self) -> None:
        self._sh = self.params["a"]

    def variance1(self) -> float:
        a = self._sh
        return 2.0 / ((a - 1.0) * (a - 2.0)) if a > 2.0 else math.inf

    def _logpdf1(self, z: np.ndarray) -> np.ndarray:
        a = self._sh
        return math.log(a / 2.0) - (a + 1.0) * np.log1p(np.abs(z))


    # -- compiled log-density (Monte Carlo kernels: numba and torch) ------------------
    @staticmethod
    def logq_scalar(z: float, p1: float) -> float:
        """Unnormalised standardised log-density ``-(a + 1) log(1 + |z|)`` (``p1 = a``) at one
        point (plain ``math``, jitted by :mod:`unicr.noises.numba_logq`)."""
        return -(p1 + 1.0) * math.log1p(abs(z))

    def logq_torch_(self, x: Any, scratch: Any, mask: Any, big: float, small: bool = False) -> Any:
        """``-(a + 1) log1p(|x|)`` in place (:class:`~unicr.noises.base.CompiledLogDensity`)."""
        return x.abs_().log1p_().mul_(-(float(self.params["a"]) + 1.0))

    def logq_continuity(self, delta: float) -> tuple[float, float]:
        """Lipschitz constant ``a + 1``."""
        return 0.0, (float(self.params["a"]) + 1.0) * delta

    kernel_slot = kernel_slots.PARETO
    kernel_elastic = 1.0
    kernel_c_eval = 12.0

    def kernel_shape(self) -> tuple[float, float, float]:
        return float(self.params["a"]), self.kernel_elastic, 1.0

    def _left_cdf1(self, z: np.ndarray) -> np.ndarray:
        return 0.5 * np.exp(-self._sh * np.log1p(np.abs(z)))

    def _left_logcdf1(self, z: np.ndarray) -> np.ndarray:
        return -_LN2 - self._sh * np.log1p(np.abs(z))

    def _left_ppf1(self, u: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", over="ignore"):
            return _saturate(-np.expm1(-np.log(2.0 * u) / self._sh))

    def _score1(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        return (self._sh + 1.0) * np.sign(z) / (1.0 + np.abs(z))

    def fisher_information(self) -> float:
        """(a+1)^2 E[(1+|Z|)^-2] / lambda^2 = a (a+1)^2 / (a+2) / lambda^2."""
        a = self._sh
        return a * (a + 1.0) ** 2 / (a + 2.0) / self.scale / self.scale

    def _sample1(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        with np.errstate(over="ignore"):
            m = np.expm1(rng.standard_exponential(shape) / self._sh)
        return _saturate(_random_sign(m, rng))

    def _sample1_torch(self, shape: tuple[int, ...], generator: Any, device: Any,
                       dtype: Any) -> Any:
        import torch

        u = torch.rand(shape, generator=generator, device=device, dtype=torch.float64)
        m = torch.expm1(-torch.log1p(-u) / self._sh)
        return _torch_cast(_torch_random_sign(m, generator), dtype)


# ---------------------------------------------------------------------------
# Student t
# ---------------------------------------------------------------------------


@register("student_t", "studentt", "student")
class StudentT(SymmetricProductNoise):
    """Student t noise with ``nu`` degrees of freedom and scale s; sigma = s sqrt(nu/(nu-2)).

    Density Gamma((nu+1)/2) / (sqrt(nu pi) s Gamma(nu/2)) (1 + (x/s)^2/nu)^-((nu+1)/2);
    variance finite only for nu > 2.  The cdf is 1/2 I_x(nu/2, 1/2), x = nu/(nu + z^2)
    (Abramowitz & Stegun 26.7.1), with a continued fraction in log space in the far tails.
    """

    description = "Student t with nu degrees of freedom"
    source = "classical; heavy-tailed baseline for randomized smoothing"
    scale_name = "s"
    #: nu >= 0.05: the mass beyond the float64 range is then <= 4e-16 (a few float64 uniform
    #: steps; half the mass at nu = 1e-3); nu <= 1e6: beyond, scipy's incomplete beta function
    #: loses digits (cdf error 1e-8 at nu = 1e10, 1e-5 at 1e12) -- use the Gaussian there
    param_info = (Param("nu", 3.0, low=0.05, high=1e6, low_open=False, high_open=False,
                        doc="degrees of freedom in [0.05, 1e6]; variance finite for nu > 2"),)

    def _setup(self) -> None:
        nu = self.params["nu"]
        self._nu = nu
        self._ha = 0.5 * nu
        self._lognorm = (special.gammaln(0.5 * (nu + 1.0)) - special.gammaln(0.5 * nu)
                         - 0.5 * math.log(nu * math.pi))

    def variance1(self) -> float:
        nu = self._nu
        return nu / (nu - 2.0) if nu > 2.0 else math.inf

    def _logt(self, z: np.ndarray) -> np.ndarray:
        """log|t|, t = z / sqrt(nu), without overflow for nu < 1."""
        with np.errstate(divide="ignore"):
            return np.log(np.abs(np.asarray(z, dtype=float))) - 0.5 * math.log(self._nu)

    def _logpdf1(self, z: np.ndarray) -> np.ndarray:
        return self._lognorm - 0.5 * (self._nu + 1.0) * np.logaddexp(0.0, 2.0 * self._logt(z))


    # -- compiled log-density (Monte Carlo kernels: numba and torch) ------------------
    @staticmethod
    def logq_scalar(z: float, p1: float) -> float:
        """Unnormalised standardised log-density ``-(nu + 1)/2 log(1 + z^2/nu)`` (``p1 = nu``)
        at one point (``2 log|z| - log nu`` beyond 1e150, no overflow; plain ``math``, jitted
        by :mod:`unicr.noises.numba_logq`)."""
        a = abs(z)
        if a > 1e150:
            return -0.5 * (p1 + 1.0) * (2.0 * math.log(a) - math.log(p1))
        return -0.5 * (p1 + 1.0) * math.log1p(a * a / p1)

    @staticmethod
    def logq_ratio_scalar(z: float, a: float, p1: float) -> tuple[float, float, bool]:
        """``log q(z - a) - log q(z)`` with one logarithm and a magnitude covering its rounding;
        ``ok = False``: use the two-logarithm form instead.

        ``log(nu + (z - a)^2) - log(nu + z^2) = log1p(d)``, ``d = a (a - 2z) / (nu + z^2)``,
        times ``-(nu + 1)/2``.  ``d`` carries a relative error of a few ulps, which log1p turns
        into an absolute error of a few ulps times ``|d| / (1 + d) <= min(2 |d|, 1)`` -- hence
        only for ``d >= -1/2`` -- so ``|term| + 2 c min(|d|, 1)`` is returned as the term's
        magnitude (the rounding bound multiplies it by >= 8 ulps).
        """
        nu = p1
        c = 0.5 * (p1 + 1.0)
        d = a * (a - 2.0 * z) / (nu + z * z)
        if not d >= -0.5:
            return 0.0, 0.0, False
        t = -c * math.log1p(d)
        return t, abs(t) + 2.0 * c * min(abs(d), 1.0), True

    def logq_torch_(self, x: Any, scratch: Any, mask: Any, big: float, small: bool = False) -> Any:
        """``-(nu + 1)/2 log1p(w^2)``, ``w = |x| / sqrt(nu)``, in place; ``-(nu + 1) log w``
        beyond ``big`` (:class:`~unicr.noises.base.CompiledLogDensity`)."""
        import torch

        p1 = float(self.params["nu"])
        x.abs_()
        x.mul_(1.0 / math.sqrt(p1))  # w = |z| / sqrt(nu)
        if small:
            return x.square_().log1p_().mul_(-0.5 * (p1 + 1.0))
        torch.gt(x, big, out=mask)
        torch.mul(x, x, out=scratch).log1p_().mul_(0.5)
        x.log_()
        return torch.where(mask, x, scratch, out=scratch).mul_(-(p1 + 1.0))

    def logq_continuity(self, delta: float) -> tuple[float, float]:
        """Lipschitz constant ``(nu + 1) / (2 sqrt(nu))``."""
        p1 = float(self.params["nu"])
        lip = (p1 + 1.0) / (2.0 * math.sqrt(p1)) if p1 > 0 else math.inf
        return 0.0, lip * delta

    kernel_slot = kernel_slots.STUDENT
    kernel_elastic = 2.0
    kernel_c_eval = 24.0

    def kernel_shape(self) -> tuple[float, float, float]:
        nu = float(self.params["nu"])
        return nu, self.kernel_elastic, 1.0 / math.sqrt(nu)

    def _logx(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """log x and log(1 - x) for x = nu/(nu + z^2) = 1/(1 + t^2), t = z/sqrt(nu)."""
        lt2 = 2.0 * self._logt(z)
        return -np.logaddexp(0.0, lt2), -np.logaddexp(0.0, -lt2)

    def _left_logcdf1(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        logx, log1mx = self._logx(z)
        i = special.betainc(self._ha, 0.5, np.exp(logx))
        with np.errstate(divide="ignore"):
            out = np.log(i) - _LN2
        # tiny (or subnormal) x: betainc loses accuracy, use the continued fraction
        deep = ((i < _TINY) | (logx < _LOG_TINY_X)) & np.isfinite(z)
        if np.any(deep):
            out = np.array(out, dtype=float, copy=True)
            out[deep] = _log_betainc_cf(self._ha, 0.5, logx[deep], log1mx[deep]) - _LN2
        return out

    def _left_cdf1(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        logx, _ = self._logx(z)
        c = 0.5 * special.betainc(self._ha, 0.5, np.exp(logx))
        deep = (c < _TINY) | (logx < _LOG_TINY_X)
        if np.any(deep):
            c = np.array(c, dtype=float, copy=True)
            c[deep] = np.exp(self._left_logcdf1(z[deep]))
        return c

    def _left_ppf1(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, dtype=float)
        nu, a = self._nu, self._ha
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # centre: 1 - x = I^{-1}_{1/2, nu/2}(1 - 2u), with 1 - 2u exact
            y = special.betaincinv(0.5, a, 1.0 - 2.0 * u)
            centre = -np.sqrt(nu * y / (1.0 - y))
            # tail: x = I^{-1}_{nu/2, 1/2}(2u)
            x = special.betaincinv(a, 0.5, 2.0 * u)
            tail = -np.sqrt(nu * (1.0 - x) / x)
            # deep tail (x below ~1e-280): I_x(a, 1/2) = x^a / (a B(a, 1/2)) (1 + O(x))
            logx = (np.log(2.0 * u) + math.log(a) + special.betaln(a, 0.5)) / a
            deep = -np.exp(0.5 * (math.log(nu) - logx))
        return _saturate(np.where(u >= 0.25, centre, np.where(x > 1e-280, tail, deep)))

    def _score1(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        nu = self._nu
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            big = (nu + 1.0) / (z + nu / z)
            small = (nu + 1.0) * z / (nu + z * z)
        return np.where(np.abs(z) > 1.0, big, small)

    def fisher_information(self) -> float:
        """(nu + 1)/(nu + 3) / s^2."""
        return (self._nu + 1.0) / (self._nu + 3.0) / self.scale / self.scale

    def _sample1(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        return _saturate(rng.standard_t(self._nu, shape))

    def _sample1_torch(self, shape: tuple[int, ...], generator: Any, device: Any,
                       dtype: Any) -> Any:
        import torch

        n = torch.randn(shape, generator=generator, device=device, dtype=torch.float64)
        g = _torch_gamma(shape, self._ha, generator, device)
        return _torch_cast(n * torch.rsqrt(g / self._ha), dtype)


# ---------------------------------------------------------------------------
# logistic
# ---------------------------------------------------------------------------


@register("logistic")
class Logistic(SymmetricProductNoise):
    """Logistic noise, density e^{-x/s} / (s (1 + e^{-x/s})^2); sigma = pi s / sqrt(3)."""

    description = "Logistic e^{-x/s}/(s (1 + e^{-x/s})^2)"
    source = "classical; scipy.stats.logistic"
    scale_name = "s"
    var1 = math.pi**2 / 3.0

    def _logpdf1(self, z: np.ndarray) -> np.ndarray:
        a = np.abs(np.asarray(z, dtype=float))
        return -a - 2.0 * np.log1p(np.exp(-a))


    # -- compiled log-density (Monte Carlo kernels: numba and torch) ------------------
    @staticmethod
    def logq_scalar(z: float, p1: float) -> float:
        """Unnormalised standardised log-density ``-|z| - 2 log(1 + e^{-|z|})`` at one point
        (plain ``math``, jitted by :mod:`unicr.noises.numba_logq`; ``p1`` unused)."""
        a = abs(z)
        return -a - 2.0 * math.log1p(math.exp(-a))

    def logq_torch_(self, x: Any, scratch: Any, mask: Any, big: float, small: bool = False) -> Any:
        """``-(|x| + 2 log1p(e^{-|x|}))`` in place (:class:`~unicr.noises.base.CompiledLogDensity`)."""
        import torch

        x.abs_()
        torch.neg(x, out=scratch).exp_().log1p_().mul_(2.0)
        return x.add_(scratch).neg_()

    def logq_continuity(self, delta: float) -> tuple[float, float]:
        """Lipschitz constant 1 (``|tanh(z/2)| <= 1``)."""
        return 0.0, 1.0 * delta

    kernel_slot = kernel_slots.LOGISTIC
    kernel_elastic = 1.0
    kernel_c_eval = 16.0

    def _left_cdf1(self, z: np.ndarray) -> np.ndarray:
        return special.expit(z)

    def _left_logcdf1(self, z: np.ndarray) -> np.ndarray:
        return special.log_expit(z)

    def _left_ppf1(self, u: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(u) - np.log1p(-u)

    def _score1(self, z: np.ndarray) -> np.ndarray:
        return np.tanh(0.5 * np.asarray(z, dtype=float))

    def fisher_information(self) -> float:
        """E[tanh(Z/2)^2] / s^2 = 1/(3 s^2)."""
        return 1.0 / 3.0 / self.scale / self.scale

    def _sample1(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        v = rng.random(shape)
        return _random_sign(2.0 * np.arctanh(v), rng)

    def _sample1_torch(self, shape: tuple[int, ...], generator: Any, device: Any,
                       dtype: Any) -> Any:
        import torch

        v = torch.rand(shape, generator=generator, device=device, dtype=torch.float64)
        return _torch_cast(_torch_random_sign(2.0 * torch.atanh(v), generator), dtype)
