"""Joint (non-product) noises of Yang et al. 2020: norm-radial densities on R^d.

Every family here has a density ``f(||x/lambda||_p)`` for a norm ``p`` in {1, 2, inf}.
Writing ``x = lambda R U`` with ``U`` distributed by the cone measure of the unit
``l_p`` sphere (uniform direction for ``p = 2``; uniform point of the cube surface
for ``p = inf``; Dirichlet(1, ..., 1) with random signs for ``p = 1``) and ``R`` with
density proportional to ``r^(d-1) f(r)`` gives the exact samplers of
docs/certificate-notes.md#c7, and the normalising constant

    Z = d V_p(d) int_0^inf r^(d-1) f(r) dr,

with ``V_p(d)`` the volume of the unit ``l_p`` ball: ``pi^(d/2)/Gamma(d/2 + 1)``,
``2^d/d!``, ``2^d``.  Everything is in log space (``gammaln``/``betaln``) so that
ImageNet dimensions (d = 150528) work.  The per-coordinate RMS is
``sigma^2 = E[R^2] E||U||_2^2 / d`` with ``E||U||_2^2`` = 1, 2/(d+1), 1 + (d-1)/3 for
p = 2, 1, inf (docs/certificate-notes.md#c0-4).

| name | density (lambda = 1) | R law |
|---|---|---|
| ``uniform_ball`` | 1{||x||_2 <= 1} | U^(1/d) |
| ``exp2(k)`` | exp(-||x||_2^k) | Gamma(d/k)^(1/k) |
| ``expinf(k)`` | exp(-||x||_inf^k) | Gamma(d/k)^(1/k) |
| ``exp1(k)`` | exp(-||x||_1^k) | Gamma(d/k)^(1/k) |
| ``pow2(k, a)`` | (1 + ||x||_2^k)^(-a) | BetaPrime(d/k, a - d/k)^(1/k) |

The ExpInf RMS is sigma = lambda sqrt(((d-1)/3 + 1)/d Gamma((d+2)/k)/Gamma(d/k)); for k = 1
lambda = sigma / sqrt((d+1)((d-1)/3 + 1)) -- the corrected constant (docs/soundness-notes.md#s26;
UniCR's reference implementation has an operator-precedence error).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from unicr.errors import InvalidParameterError
from unicr.noises.base import JointNoise, Param, _shape_tuple, as_generator
from unicr.noises.builtins import register
from unicr.noises.families import _torch_cast, _torch_gamma

__all__ = ["RadialJointNoise", "UniformBall", "Exp2", "ExpInf", "Exp1", "Pow2", "log_ball_volume"]

_LN2 = math.log(2.0)
_LOG_PI = math.log(math.pi)


def log_ball_volume(d: int, p: float) -> float:
    """log of the volume of the unit l_p ball in R^d, p in {1, 2, inf}."""
    if p == 2:
        return 0.5 * d * _LOG_PI - float(special.gammaln(0.5 * d + 1.0))
    if p == 1:
        return d * _LN2 - float(special.gammaln(d + 1.0))
    if p == math.inf:
        return d * _LN2
    raise InvalidParameterError(f"log_ball_volume: p must be 1, 2 or inf, got {p!r}")


def _norm(z: np.ndarray, p: float) -> np.ndarray:
    if p == 2:
        return np.sqrt(np.einsum("...i,...i->...", z, z))
    if p == 1:
        return np.sum(np.abs(z), axis=-1)
    return np.max(np.abs(z), axis=-1)


def _log_gamma_variates(alpha: float, shape: tuple[int, ...],
                        rng: np.random.Generator) -> np.ndarray:
    """log of Gamma(alpha, 1) variates, accurate for small alpha.

    For alpha < 1 uses Gamma(alpha) = Gamma(alpha + 1) U^(1/alpha) (Marsaglia & Tsang 2000),
    in log form, so no variate underflows to 0.
    """
    if alpha >= 1.0:
        return np.log(rng.standard_gamma(alpha, shape))
    g = rng.standard_gamma(alpha + 1.0, shape)
    u = 1.0 - rng.random(shape)  # (0, 1]
    return np.log(g) + np.log(u) / alpha


# ---------------------------------------------------------------------------
# base class
# ---------------------------------------------------------------------------


class RadialJointNoise(JointNoise):
    """Density ``f(||x/lambda||_p) / (lambda^d Z)`` (Yang et al. 2020, Sec. 4 and App. E).

    Subclasses set the class attribute ``norm_p`` and implement ``_log_radial(r)``
    (log f; engines call it as :meth:`log_radial`), ``_log_radial_mass()``
    (log int_0^inf r^(d-1) f(r) dr), ``_log_radius_sq_mean()``
    (log E R^2, ``inf`` if infinite) and ``_log_radius(shape, rng)`` (log R samples); torch
    samplers override ``_log_radius_torch``.
    """

    norm_p: float = 2.0

    def _setup(self) -> None:
        self._logz = (math.log(self.d) + log_ball_volume(self.d, self.norm_p)
                      + self._log_radial_mass())
        lm2 = self._log_radius_sq_mean()
        self._log_rms1 = 0.5 * (lm2 + math.log(self._direction_sq_mean()) - math.log(self.d))
        if math.isfinite(self._log_rms1) and self._log_rms1 > 700.0:
            ps = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
            raise InvalidParameterError(
                f"{self.name}: parameters ({ps}) give a per-coordinate RMS of "
                f"e^{self._log_rms1:.0f} at native scale 1 for d={self.d}, beyond the float64 "
                "range; increase 'k'"
            )

    # -- for engines ----------------------------------------------------------------
    def log_radial(self, r: np.ndarray) -> np.ndarray:
        """Unnormalised log radial profile ``log f(r)`` at native scale 1.

        Parameters
        ----------
        r : ndarray of float
            ``||x||_p / scale`` (``p = norm_p``), non-negative.

        Returns
        -------
        ndarray
            ``log f(r)``; ``logpdf(x) = log_radial(||x||_p / scale) + const``, so differences
            of it are the log likelihood ratios the Monte Carlo radial banks sum.
        """
        return self._log_radial(r)

    # -- subclass hooks ---------------------------------------------------------
    def _log_radial(self, r: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _log_radial_mass(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def _log_radius_sq_mean(self) -> float:  # pragma: no cover - abstract
        """log E[R^2] at native scale 1 (``inf`` if infinite)."""
        raise NotImplementedError

    def _log_radius(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover - abstract

    def _log_radius_torch(self, shape: tuple[int, ...], generator: Any,
                          device: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- direction ----------------------------------------------------------------
    def _direction_sq_mean(self) -> float:
        """E ||U||_2^2 for the cone-measure direction U on the unit l_p sphere."""
        d = self.d
        if self.norm_p == 2:
            return 1.0
        if self.norm_p == 1:
            return 2.0 / (d + 1.0)  # Dirichlet(1, ..., 1): E U_i^2 = 2/(d(d+1))
        return 1.0 + (d - 1.0) / 3.0  # one coordinate +-1, the others U[-1, 1]

    def _direction(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        d = self.d
        full = (*shape, d)
        if self.norm_p == 2:
            g = rng.standard_normal(full)
            return g / _norm(g, 2)[..., None]
        if self.norm_p == 1:
            e = rng.standard_exponential(full)
            e /= np.sum(e, axis=-1, keepdims=True)
            return np.where(rng.random(full) < 0.5, -e, e)
        u = rng.uniform(-1.0, 1.0, full)
        idx = rng.integers(0, d, size=shape)
        sign = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
        np.put_along_axis(u, np.asarray(idx)[..., None], np.asarray(sign)[..., None], axis=-1)
        return u

    def _direction_torch(self, shape: tuple[int, ...], generator: Any, device: Any) -> Any:
        import torch

        d = self.d
        full = (*shape, d)
        f64 = torch.float64
        if self.norm_p == 2:
            g = torch.randn(full, generator=generator, device=device, dtype=f64)
            return g / torch.linalg.vector_norm(g, dim=-1, keepdim=True)
        if self.norm_p == 1:
            u = torch.rand(full, generator=generator, device=device, dtype=f64)
            e = -torch.log1p(-u)
            e = e / e.sum(dim=-1, keepdim=True)
            flip = torch.rand(full, generator=generator, device=device, dtype=f64) < 0.5
            return torch.where(flip, -e, e)
        u = 2.0 * torch.rand(full, generator=generator, device=device, dtype=f64) - 1.0
        idx = torch.randint(0, d, (*shape, 1), generator=generator, device=device)
        flip = torch.rand((*shape, 1), generator=generator, device=device, dtype=f64) < 0.5
        sign = torch.where(flip, -torch.ones_like(flip, dtype=f64),
                           torch.ones_like(flip, dtype=f64))
        return u.scatter(-1, idx, sign)

    # -- JointNoise API --------------------------------------------------------------
    def _rms1(self) -> float:
        return math.exp(self._log_rms1) if math.isfinite(self._log_rms1) else math.inf

    def _logpdf1(self, z: np.ndarray) -> np.ndarray:
        return self._log_radial(_norm(np.asarray(z, dtype=float), self.norm_p)) - self._logz

    def log_normaliser(self) -> float:
        """log Z at native scale 1 (the density is f(||x||_p) / Z)."""
        return self._logz

    def _sample(self, n_shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        r = np.exp(self._log_radius(n_shape, rng))
        return np.asarray(r)[..., None] * self._direction(n_shape, rng)

    def sample_radius(self, n: Any = (), rng: Any = None) -> np.ndarray:
        """``||eps||_p`` samples (scale applied) -- the radial law alone."""
        return self.scale * np.exp(self._log_radius(_shape_tuple(n), as_generator(rng)))

    def sample_torch(self, n: Any, generator: Any = None, device: Any = None,
                     dtype: Any = None) -> Any:
        """Torch tensor of shape ``(*n, d)`` drawn on ``device`` with torch ops."""
        import torch

        dtype = torch.float32 if dtype is None else dtype
        device = torch.device("cpu") if device is None else torch.device(device)
        shape = _shape_tuple(n)
        lr = self._log_radius_torch(shape, generator, device)
        x = torch.exp(lr).unsqueeze(-1) * self._direction_torch(shape, generator, device)
        return _torch_cast(x * self.scale, dtype)


class _GammaRadius(RadialJointNoise):
    """f(r) = exp(-r^k): R^k ~ Gamma(d/k) (Yang et al. 2020, App. E; docs/certificate-notes.md#c7)."""

    param_info = (Param("k", 1.0, low=0.0, doc="exponent of the norm in exp(-||x/lambda||^k)"),)

    def _log_radial(self, r: np.ndarray) -> np.ndarray:
        return -(r ** self.params["k"])

    def _log_radial_mass(self) -> float:
        k = self.params["k"]
        return float(special.gammaln(self.d / k)) - math.log(k)

    def _log_radius_sq_mean(self) -> float:
        k = self.params["k"]
        return float(special.gammaln((self.d + 2.0) / k) - special.gammaln(self.d / k))

    def _log_radius(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        return _log_gamma_variates(self.d / self.params["k"], shape, rng) / self.params["k"]

    def _log_radius_torch(self, shape: tuple[int, ...], generator: Any, device: Any) -> Any:
        import torch

        k = self.params["k"]
        alpha = self.d / k
        if alpha >= 1.0:
            return torch.log(_torch_gamma(shape, alpha, generator, device)) / k
        g = _torch_gamma(shape, alpha + 1.0, generator, device)
        u = 1.0 - torch.rand(shape, generator=generator, device=device, dtype=torch.float64)
        return (torch.log(g) + torch.log(u) / alpha) / k


# ---------------------------------------------------------------------------
# families
# ---------------------------------------------------------------------------


@register("uniform_ball", "uniformball")
class UniformBall(RadialJointNoise):
    """Uniform on the l2 ball of radius lambda; lambda = sigma sqrt(d + 2) (docs/certificate-notes.md#c3-4,
    docs/certificate-notes.md#c0-4).

    Yang et al. 2020.  Sampling: uniform direction times lambda U^(1/d).
    """

    description = "Uniform on the l2 ball {||x||_2 <= lambda}"
    source = "Yang et al. 2020"
    scale_name = "lambda"
    norm_p = 2.0

    def _log_radial(self, r: np.ndarray) -> np.ndarray:
        return np.where(r <= 1.0, 0.0, -np.inf)

    def _log_radial_mass(self) -> float:
        return -math.log(self.d)

    def _log_radius_sq_mean(self) -> float:
        return math.log(self.d / (self.d + 2.0))

    def _log_radius(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        return np.log(1.0 - rng.random(shape)) / self.d

    def _log_radius_torch(self, shape: tuple[int, ...], generator: Any, device: Any) -> Any:
        import torch

        u = torch.rand(shape, generator=generator, device=device, dtype=torch.float64)
        return torch.log1p(-u) / self.d


@register("exp2")
class Exp2(_GammaRadius):
    """Exp2(k): density proportional to exp(-||x/lambda||_2^k) (j = 0), Yang et al. 2020.

    sigma = lambda sqrt(Gamma((d+2)/k) / (d Gamma(d/k))) (docs/certificate-notes.md#c0-4); k = 1: lambda =
    sigma/sqrt(d+1);
    k = 2 is a Gaussian of std lambda/sqrt(2) for every d.
    """

    description = "Exp2: exp(-||x/lambda||_2^k)"
    source = "Yang et al. 2020"
    scale_name = "lambda"
    norm_p = 2.0


@register("expinf", "exp_inf")
class ExpInf(_GammaRadius):
    """ExpInf(k): density proportional to exp(-||x/lambda||_inf^k) (j = 0), Yang et al. 2020.

    sigma = lambda sqrt(((d-1)/3 + 1)/d Gamma((d+2)/k)/Gamma(d/k)) (docs/certificate-notes.md#c0-4); k = 1:
    lambda = sigma / sqrt((d+1)((d-1)/3 + 1)) -- the corrected constant (docs/soundness-notes.md#s26).
    Sampling: Gamma(d/k)^(1/k) times a uniform point of the cube surface (docs/certificate-notes.md#c7).
    """

    description = "ExpInf: exp(-||x/lambda||_inf^k)"
    source = "Yang et al. 2020 (constant corrected, docs/soundness-notes.md#s26)"
    scale_name = "lambda"
    norm_p = math.inf


@register("exp1")
class Exp1(_GammaRadius):
    """Exp1(k): density proportional to exp(-||x/lambda||_1^k), Yang et al. 2020.

    sigma = lambda sqrt(2 Gamma((d+2)/k) / (d (d+1) Gamma(d/k))) (docs/certificate-notes.md#c0-4); k = 1 is
    i.i.d.
    Laplace(lambda).  Sampling: Gamma(d/k)^(1/k) times Dirichlet(1, ..., 1) with random signs.
    """

    description = "Exp1: exp(-||x/lambda||_1^k)"
    source = "Yang et al. 2020"
    scale_name = "lambda"
    norm_p = 1.0


@register("pow2")
class Pow2(RadialJointNoise):
    """Pow2(k, a): density proportional to (1 + ||x/lambda||_2^k)^(-a), Yang et al. 2020.

    ``a`` defaults to d + 10 (Yang et al.'s default; give ``a=None`` or omit it).  The law
    is proper only for a > d/k and has finite variance only for a > (d+2)/k:
    sigma = lambda exp(1/2 [lnG((d+2)/k) + lnG(a-(d+2)/k) - lnG(d/k) - lnG(a-d/k) - ln d])
    (docs/certificate-notes.md#c0-4).  Sampling: R^k ~ BetaPrime(d/k, a - d/k) = G1/G2 with independent
    gammas (docs/certificate-notes.md#c7).
    """

    description = "Pow2: (1 + ||x/lambda||_2^k)^(-a)"
    source = "Yang et al. 2020"
    scale_name = "lambda"
    norm_p = 2.0
    param_info = (
        Param("k", 1.0, low=0.0, doc="exponent of the norm"),
        Param("a", None, low=0.0, doc="power; default d + 10; proper for a > d/k"),
    )

    def _init_params(self, params: Any) -> dict[str, float]:
        params = dict(params)
        if params.get("a") is None:
            params["a"] = self.d + 10.0
        return super()._init_params(params)

    def _setup(self) -> None:
        k, a = self.params["k"], self.params["a"]
        if not a > self.d / k:
            raise InvalidParameterError(
                f"pow2: parameter 'a' = {a:g} must exceed d/k = {self.d / k:g} "
                "for the density to be normalisable"
            )
        self._alpha = self.d / k
        self._beta = a - self.d / k
        super()._setup()

    def _log_radial(self, r: np.ndarray) -> np.ndarray:
        k, a = self.params["k"], self.params["a"]
        with np.errstate(divide="ignore"):
            return -a * np.logaddexp(0.0, k * np.log(r))

    def _log_radial_mass(self) -> float:
        return float(special.betaln(self._alpha, self._beta)) - math.log(self.params["k"])

    def _log_radius_sq_mean(self) -> float:
        k = self.params["k"]
        s = 2.0 / k
        if not self._beta > s:
            return math.inf
        return float(special.betaln(self._alpha + s, self._beta - s)
                     - special.betaln(self._alpha, self._beta))

    def _log_radius(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        g1 = _log_gamma_variates(self._alpha, shape, rng)
        g2 = _log_gamma_variates(self._beta, shape, rng)
        return (g1 - g2) / self.params["k"]

    def _log_radius_torch(self, shape: tuple[int, ...], generator: Any, device: Any) -> Any:
        import torch

        def log_gamma(alpha: float) -> Any:
            if alpha >= 1.0:
                return torch.log(_torch_gamma(shape, alpha, generator, device))
            g = _torch_gamma(shape, alpha + 1.0, generator, device)
            u = 1.0 - torch.rand(shape, generator=generator, device=device, dtype=torch.float64)
            return torch.log(g) + torch.log(u) / alpha

        return (log_gamma(self._alpha) - log_gamma(self._beta)) / self.params["k"]
