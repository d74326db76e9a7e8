"""Mixtures and sums of product noises.

* :class:`Mixture` / :func:`mixture` -- a density mixture ``sum_i w_i q_i`` of product
  noises built from Python (not registered by name);
* ``laplace_gaussian_mix`` -- UniCR's Laplace-Gaussian mixture (Hong et al. 2022, Table 7);
* ``normal_uniform`` -- Nandi et al. 2023's Normal-Uniform noise, the *sum*
  N(0, sigma_n^2) + U(-sqrt3 sigma_u, sqrt3 sigma_u) (a convolution, not a mixture).

Quantiles without a closed form are computed by :func:`monotone_quantile`, a vectorised
safeguarded Newton iteration on the log-cdf (or log-sf in the upper half) inside an exact
bracket, converged to a relative error ~1e-14 in ``u``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import special

from unicr.errors import InvalidParameterError
from unicr.noises.base import Param, ProductNoise
from unicr.noises.builtins import register
from unicr.noises.families import (
    Gaussian,
    Laplace,
    SymmetricProductNoise,
    _torch_cast,
    log1mexp,
)

__all__ = [
    "Mixture",
    "mixture",
    "LaplaceGaussianMix",
    "NormalUniform",
    "monotone_quantile",
    "log_ndtr_diff",
]

_LN2 = math.log(2.0)
_SQRT3 = math.sqrt(3.0)
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


# ---------------------------------------------------------------------------
# vectorised monotone inversion
# ---------------------------------------------------------------------------


def monotone_quantile(log_tail: Callable[[np.ndarray], np.ndarray],
                      logpdf: Callable[[np.ndarray], np.ndarray],
                      log_target: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                      *, upper: bool = False, rtol: float = 1e-14,
                      max_iter: int = 200) -> np.ndarray:
    """Solve ``log_tail(x) = log_target`` elementwise inside the bracket ``[lo, hi]``.

    ``log_tail`` is a log-cdf (increasing; ``upper=False``) or a log-sf (decreasing;
    ``upper=True``) and ``logpdf`` its density, so that the Newton step uses
    d/dx log F = exp(logpdf - logF).  Steps leaving the current bracket, and every
    fourth step, are bisections, so the bracket shrinks geometrically whatever the
    curvature.  Stops when ``|log_tail(x) - log_target| <= rtol`` (a relative error
    ``rtol`` in ``u``) or the bracket is a few ulps wide.
    """
    log_target = np.asarray(log_target, dtype=float)
    lo = np.array(np.broadcast_to(lo, log_target.shape), dtype=float)
    hi = np.array(np.broadcast_to(hi, log_target.shape), dtype=float)
    x = 0.5 * (lo + hi)
    x = np.where(np.isfinite(x), x, np.where(np.isfinite(lo), lo, hi))
    active = np.ones(log_target.shape, dtype=bool)
    sgn = -1.0 if upper else 1.0
    for it in range(max_iter):
        idx = np.nonzero(active)
        if idx[0].size == 0:
            break
        xa = x[idx]
        lf = log_tail(xa)
        g = sgn * (lf - log_target[idx])  # increasing in x
        below = g < 0
        lo_a = np.where(below, xa, lo[idx])
        hi_a = np.where(below, hi[idx], xa)
        lo[idx], hi[idx] = lo_a, hi_a
        width_ok = (hi_a - lo_a) <= 4.0 * np.spacing(np.maximum(np.abs(lo_a), np.abs(hi_a)))
        done = (np.abs(g) <= rtol) | width_ok | np.isnan(lf)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            dg = np.exp(logpdf(xa) - lf)
            newton = xa - g / dg
        mid = 0.5 * (lo_a + hi_a)
        ok = np.isfinite(newton) & (newton > lo_a) & (newton < hi_a)
        if it % 4 == 3:
            ok[:] = False
        x_new = np.where(ok, newton, mid)
        x[idx] = np.where(done, xa, x_new)
        still = active[idx]
        still &= ~done
        active[idx] = still
    return x


# ---------------------------------------------------------------------------
# generic density mixture
# ---------------------------------------------------------------------------


class _MixtureLaw(ProductNoise):
    """Density mixture ``sum_i w_i q_i`` at native scale 1 (components carry their own scale).

    Subclasses set ``self._comps`` (list of :class:`ProductNoise`) and ``self._w``
    (positive weights summing to 1; zero-weight components already removed) in ``_setup``.
    """

    _comps: list[ProductNoise]
    _w: np.ndarray

    def _logw(self) -> np.ndarray:
        return np.log(self._w)

    def _lse(self, terms: list[np.ndarray]) -> np.ndarray:
        if len(terms) == 1:
            return terms[0]
        stacked = np.stack(np.broadcast_arrays(*terms))
        with np.errstate(divide="ignore", invalid="ignore"):
            m = np.max(stacked, axis=0)
            m_safe = np.where(np.isfinite(m), m, 0.0)
            s = np.sum(np.exp(stacked - m_safe), axis=0)
            out = m_safe + np.log(s)
        return np.where(np.isneginf(m), -np.inf, np.where(np.isposinf(m), np.inf, out))

    def variance1(self) -> float:
        """Raw second moment sum_i w_i E[X_i^2] (equal to the variance for centred components).

        sigma is the per-coordinate RMS (docs/certificate-notes.md#c0-3), so the raw second moment is what
        it matches.
        """
        tot = 0.0
        for w, c in zip(self._w, self._comps):
            v = c.var()
            if not math.isfinite(v):
                return math.inf
            m = c.mean() if not c.symmetric else 0.0
            tot += w * (v + m * m)
        return float(tot)

    def mean(self) -> float:
        return float(sum(w * (0.0 if c.symmetric else c.mean())
                         for w, c in zip(self._w, self._comps)))

    def var(self) -> float:
        m = self.mean() * self.scale if not self.symmetric else 0.0
        return self.scale * self.scale * self.variance1() - m * m

    def _logpdf1(self, z: np.ndarray) -> np.ndarray:
        lw = self._logw()
        return self._lse([lw[i] + c.logpdf(z) for i, c in enumerate(self._comps)])

    def _cdf1(self, z: np.ndarray) -> np.ndarray:
        return sum(w * c.cdf(z) for w, c in zip(self._w, self._comps))

    def _sf1(self, z: np.ndarray) -> np.ndarray:
        return sum(w * c.sf(z) for w, c in zip(self._w, self._comps))

    def _logcdf1(self, z: np.ndarray) -> np.ndarray:
        lw = self._logw()
        return self._lse([lw[i] + c.logcdf(z) for i, c in enumerate(self._comps)])

    def _logsf1(self, z: np.ndarray) -> np.ndarray:
        lw = self._logw()
        return self._lse([lw[i] + c.logsf(z) for i, c in enumerate(self._comps)])

    def _ppf1(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, dtype=float)
        if len(self._comps) == 1:
            return self._comps[0].ppf(u)
        out = np.full(u.shape, np.nan)
        lo_s, hi_s = self.support1
        out = np.where(u == 0.0, lo_s, np.where(u == 1.0, hi_s, out))
        left = (u > 0.0) & (u <= 0.5)
        right = (u > 0.5) & (u < 1.0)
        if np.any(left):
            ul = u[left]
            xs = np.stack([c.ppf(ul) for c in self._comps])
            out[left] = monotone_quantile(self._logcdf1, self._logpdf1, np.log(ul),
                                          xs.min(axis=0), xs.max(axis=0))
        if np.any(right):
            q = 1.0 - u[right]  # exact for u >= 1/2
            out[right] = self._isf_inner(q)
        return out

    def _isf_inner(self, q: np.ndarray) -> np.ndarray:
        xs = np.stack([c.isf(q) for c in self._comps])
        return monotone_quantile(self._logsf1, self._logpdf1, np.log(q),
                                 xs.min(axis=0), xs.max(axis=0), upper=True)

    def _isf1(self, q: np.ndarray) -> np.ndarray:
        q = np.asarray(q, dtype=float)
        if len(self._comps) == 1:
            return self._comps[0].isf(q)
        inner = (q > 0.0) & (q < 0.5)
        out = self._ppf1(np.where(inner, 0.25, 1.0 - q))
        if np.any(inner):
            out = np.array(out, dtype=float, copy=True)
            out[inner] = self._isf_inner(q[inner])
        return out

    def _score1(self, z: np.ndarray) -> np.ndarray:
        """-(log q)' = sum_i (w_i q_i / q) s_i (posterior-weighted component scores)."""
        z = np.asarray(z, dtype=float)
        lp = self._logpdf1(z)
        lw = self._logw()
        out = np.zeros(np.broadcast(z, lp).shape)
        for i, c in enumerate(self._comps):
            with np.errstate(invalid="ignore", under="ignore"):
                r = np.exp(lw[i] + c.logpdf(z) - lp)
            out = out + np.where(r > 0, r * c.score(z), 0.0)
        return out

    def fisher_information(self) -> float:
        """Location Fisher information of the mixture (``inf`` if a component jumps).

        By quadrature with breakpoints at every component's quartiles and 1e-12 tails (in native
        units), so that components of very different widths are all resolved (a single
        quadrature over R returned 0 for 0.5 N(0, 1e-200) + 0.5 N(0, 1e200)).
        """
        if not all(c.has_score for c in self._comps):
            return math.inf
        pts = {0.0}
        for c in self._comps:
            with np.errstate(all="ignore"):
                q = np.asarray(c.ppf(np.array([1e-12, 0.25, 0.5, 0.75, 1.0 - 1e-12])), dtype=float)
            pts.update(float(v) for v in q if np.isfinite(v))
        lo, hi = self.support1
        inner = sorted(v for v in pts if lo < v < hi)
        return self._fisher_quad([lo, *inner, hi]) / self.scale / self.scale

    def _sample1(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        if len(self._comps) == 1:
            return self._comps[0].sample(shape, rng)
        k = rng.choice(len(self._comps), size=shape, p=self._w)
        out = np.empty(shape, dtype=float)
        for i, c in enumerate(self._comps):
            m = k == i
            cnt = int(np.count_nonzero(m))
            if cnt:
                out[m] = c.sample(cnt, rng)
        return out

    def _sample1_torch(self, shape: tuple[int, ...], generator: Any, device: Any,
                       dtype: Any) -> Any:
        import torch

        if len(self._comps) == 1:
            return self._comps[0].sample_torch(shape, generator, device, dtype)
        u = torch.rand(shape, generator=generator, device=device, dtype=torch.float64)
        cum = np.cumsum(self._w)[:-1]
        out = self._comps[-1].sample_torch(shape, generator, device, torch.float64)
        # component i is chosen when cum[i-1] <= u < cum[i]; fill from the last one down
        for i in range(len(self._comps) - 2, -1, -1):
            xi = self._comps[i].sample_torch(shape, generator, device, torch.float64)
            out = torch.where(u < float(cum[i]), xi, out)
        return _torch_cast(out, dtype)


def _check_weights(weights: Any, n: int, owner: str) -> np.ndarray:
    try:
        w = np.asarray(weights, dtype=float)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{owner}: weights must be numbers, got {weights!r}") from None
    if w.ndim != 1 or w.size != n:
        raise InvalidParameterError(
            f"{owner}: weights must be a list of {n} numbers (one per component), got {weights!r}"
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise InvalidParameterError(
            f"{owner}: weights must be finite and >= 0, got {w.tolist()!r}"
        )
    if abs(float(w.sum()) - 1.0) > 1e-9:
        raise InvalidParameterError(
            f"{owner}: weights must sum to 1, got {w.tolist()!r} (sum {float(w.sum()):.12g})"
        )
    return w / w.sum()


class Mixture(_MixtureLaw):
    """Density mixture ``sum_i w_i q_i`` of product noises, built from Python.

    ``Mixture([laplace, gaussian], [0.3, 0.7])`` is the law that draws component ``i``
    with probability ``w_i``.  The components keep their own scales; the mixture's
    native scale multiplies the whole law (default 1, i.e. the mixture as given), and
    ``sigma=`` rescales it to that per-coordinate RMS.  Used for UniCR's mixture noises
    (Hong et al. 2022, Table 7) and any user combination; logpdf by log-sum-exp, cdf
    weighted, quantile by :func:`monotone_quantile`, sampling by component choice.
    """

    name = "mixture"
    description = "Density mixture sum_i w_i q_i of product noises"
    source = "UniCR (Hong et al. 2022) Table 7 (mixture noises)"
    scale_name = "scale"

    def __init__(self, components: Sequence[ProductNoise], weights: Any = None,
                 sigma: float | None = None, scale: float | None = None):
        comps = list(components) if components is not None else []
        if not comps:
            raise InvalidParameterError("mixture: give at least one component")
        for i, c in enumerate(comps):
            if not isinstance(c, ProductNoise):
                raise InvalidParameterError(
                    f"mixture: component {i} must be a product (i.i.d.) noise, "
                    f"got {type(c).__name__}"
                )
        w = (np.full(len(comps), 1.0 / len(comps)) if weights is None
             else _check_weights(weights, len(comps), "mixture"))
        self._all_comps = comps
        self._all_w = w
        keep = w > 0
        self._comps = [c for c, k in zip(comps, keep) if k]
        self._w = w[keep] / w[keep].sum()
        self.symmetric = all(c.symmetric for c in self._comps)
        self.has_score = all(c.has_score for c in self._comps)
        self.support1 = (min(c.support[0] for c in self._comps),
                         max(c.support[1] for c in self._comps))
        if sigma is None and scale is None:
            scale = 1.0
        super().__init__(sigma=sigma, scale=scale)

    def definition(self) -> dict[str, Any]:
        out = super().definition()
        out["components"] = [c.definition() for c in self._all_comps]
        out["weights"] = [float(x) for x in self._all_w]
        return out

    @property
    def components(self) -> list[ProductNoise]:
        return list(self._all_comps)

    @property
    def weights(self) -> np.ndarray:
        return self._all_w.copy()

    def with_scale(self, scale: float) -> Mixture:
        return Mixture(self._all_comps, self._all_w, scale=scale)

    def with_sigma(self, sigma: float) -> Mixture:
        return Mixture(self._all_comps, self._all_w, sigma=sigma)

    def __repr__(self) -> str:
        parts = ", ".join(f"{w:g}*{c!r}" for w, c in zip(self._all_w, self._all_comps))
        return f"Mixture([{parts}], scale={self.scale:.6g})"


def mixture(components: Sequence[Any], weights: Any = None, sigma: float | None = None,
            scale: float | None = None) -> Mixture:
    """Build a :class:`Mixture`; components may be noises or registry names.

    Examples
    --------
    >>> from unicr.noises.mixtures import mixture
    >>> m = mixture(["laplace", "gaussian"], [0.5, 0.5])
    >>> round(m.sigma, 12)
    1.0
    """
    from unicr.noises.registry import noise as build

    comps = []
    for i, c in enumerate(components):
        n = build(c) if isinstance(c, str) else c
        if not isinstance(n, ProductNoise):
            raise InvalidParameterError(
                f"mixture: component {i} ({c!r}) is not a product (i.i.d.) noise"
            )
        comps.append(n)
    return Mixture(comps, weights, sigma=sigma, scale=scale)


# ---------------------------------------------------------------------------
# UniCR's Laplace-Gaussian mixture
# ---------------------------------------------------------------------------


@register("laplace_gaussian_mix", "laplace_gaussian_mixture", "lg_mix")
class LaplaceGaussianMix(_MixtureLaw):
    """UniCR's Laplace-Gaussian mixture, density proportional to
    beta e^{-|x/alpha|} + (1 - beta) e^{-(x/alpha)^2} (Hong et al. 2022, Table 7).

    The two kernels have masses 2 alpha and alpha sqrt(pi), so the normalised law is the
    mixture of Laplace(alpha) (weight w = 2 beta / (2 beta + (1 - beta) sqrt(pi))) and
    N(0, alpha^2/2) (weight 1 - w): beta is the kernel weight, not the mixture weight.
    RMS: sigma^2 = alpha^2 (4 beta + (1 - beta) sqrt(pi)/2) / (2 beta + (1 - beta) sqrt(pi))
    (docs/certificate-notes.md#c0-4).  beta = 0 is exactly Gaussian, beta = 1 exactly Laplace.
    """

    description = "Laplace-Gaussian mixture beta e^{-|x/alpha|} + (1-beta) e^{-(x/alpha)^2}"
    source = "UniCR (Hong et al. 2022) Table 7"
    scale_name = "alpha"
    symmetric = True
    param_info = (
        Param("beta", 0.5, low=0.0, high=1.0, low_open=False, high_open=False,
              doc="weight of the Laplace kernel e^{-|x/alpha|} (unnormalised)"),
    )

    def _setup(self) -> None:
        b = self.params["beta"]
        ml, mg = 2.0 * b, (1.0 - b) * math.sqrt(math.pi)
        wl = ml / (ml + mg)
        comps: list[ProductNoise] = [Laplace(scale=1.0), Gaussian(scale=math.sqrt(0.5))]
        w = np.array([wl, 1.0 - wl])
        keep = w > 0
        self._comps = [c for c, k in zip(comps, keep) if k]
        self._w = w[keep]

    @property
    def laplace_weight(self) -> float:
        """Normalised mixture weight of the Laplace component."""
        b = self.params["beta"]
        return 2.0 * b / (2.0 * b + (1.0 - b) * math.sqrt(math.pi))

    def variance1(self) -> float:
        b = self.params["beta"]
        sp = math.sqrt(math.pi)
        return (4.0 * b + (1.0 - b) * sp / 2.0) / (2.0 * b + (1.0 - b) * sp)


# ---------------------------------------------------------------------------
# Nandi et al.'s Normal-Uniform sum
# ---------------------------------------------------------------------------


def log_ndtr_diff(hi: Any, lo: Any) -> np.ndarray:
    """``log(Phi(hi) - Phi(lo))`` for ``hi >= lo`` without cancellation or underflow.

    Both arguments positive: difference of upper tails; both negative: of lower tails
    (log-cdf differences through ``log1mexp``); straddling zero: a sum of two erf terms
    of the same sign.
    """
    hi = np.asarray(hi, dtype=float)
    lo = np.asarray(lo, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lq_lo = special.log_ndtr(-lo)
        right = lq_lo + log1mexp(special.log_ndtr(-hi) - lq_lo)
        right = np.where(np.isneginf(lq_lo), -np.inf, right)
        lp_hi = special.log_ndtr(hi)
        left = lp_hi + log1mexp(special.log_ndtr(lo) - lp_hi)
        left = np.where(np.isneginf(lp_hi), -np.inf, left)
        mid = np.log(0.5 * (special.erf(hi / math.sqrt(2)) - special.erf(lo / math.sqrt(2))))
    return np.where(lo >= 0, right, np.where(hi <= 0, left, mid))


def _mills_tail(x: np.ndarray, depth: int = 100) -> np.ndarray:
    """``1 - x R(x)`` for ``x >= 5``, R the Mills ratio Q/phi, without cancellation.

    R(x) = 1/(x + 1/(x + 2/(x + 3/(x + ...)))) (Laplace's continued fraction); with
    T = 1/(x + 2/(x + 3/(x + ...))) one has 1 - x R = T/(x + T).
    """
    dk = x.copy()
    for k in range(depth - 1, 0, -1):
        dk = x + (k + 1) / dk
    t = 1.0 / dk
    return t / (x + t)


def _log_g_neg(s: np.ndarray) -> np.ndarray:
    """``log G(s)`` for ``s <= 0`` where G(s) = s Phi(s) + phi(s) = int_{-inf}^s Phi."""
    x = -np.asarray(s, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        logphi = -0.5 * x * x - _LOG_SQRT_2PI
        out = np.log(np.exp(logphi) - x * special.ndtr(-x))
        far = x >= 5.0
        if np.any(far):
            # the continued fraction only where it is needed (it is the costly part)
            out = np.where(far, out, out)  # a writable copy of the right shape
            out[far] = logphi[far] + np.log(_mills_tail(x[far]))
    return out


_GL8_X, _GL8_W = np.polynomial.legendre.leggauss(8)
_LOG_GL8_W = np.log(_GL8_W)

#: admissible sigma_u / sigma_n of a proper normal-uniform sum: below 1e-3 the cdf's difference
#: of nearly equal Gaussian integrals loses digits (log error 1e-9 at 1e-6, 2e-5 at 1e-10);
#: above 1e6 the edges are steps narrower than the quadrature of the engines resolves
_NU_RATIO = (1e-12, 1e6)


@register("normal_uniform", "normaluniform", "nandi_normal_uniform")
class NormalUniform(SymmetricProductNoise):
    """Nandi et al. 2023's Normal-Uniform noise: Z = X + Y, X ~ N(0, sigma_n^2),
    Y ~ U(-sqrt3 sigma_u, sqrt3 sigma_u) independent (Sec. 4.3).

    Convention: ``sigma_n`` and ``sigma_u`` are the standard deviations of the two parts
    *at native scale 1* (Nandi's parameters); the native scale multiplies the whole law,
    and RMS sigma = scale * sqrt(sigma_n^2 + sigma_u^2) (docs/certificate-notes.md#c4).  Built without
    ``sigma``
    and ``scale`` the noise is exactly Nandi's N(0, sigma_n^2) + U(-sqrt3 sigma_u,
    sqrt3 sigma_u) (native scale 1); ``sigma=`` rescales both parts and keeps their
    ratio (the shape).  The defaults (sqrt(4/7), sqrt(3/7)) have Nandi's ratio
    sigma_u = (sqrt3/2) sigma_n (excess kurtosis -0.22) and RMS 1.

    Density (docs/certificate-notes.md#c4) p(z) = (1/(2a)) [Phi((z + a)/sigma_n) - Phi((z - a)/sigma_n)], a
    = sqrt3
    sigma_u, evaluated by :func:`log_ndtr_diff`; cdf F(z) = (sigma_n/(2a)) [G((z + a)/sigma_n)
    - G((z - a)/sigma_n)] with G = int Phi, in log space in the tails.  sigma_u = 0 is the
    Gaussian, sigma_n = 0 the uniform (no score).
    """

    description = "Normal-Uniform sum N(0, sigma_n^2) + U(-sqrt3 sigma_u, sqrt3 sigma_u)"
    source = "Nandi, Addepalli, Rangwani & Babu 2023, Sec. 4.3"
    scale_name = "scale"
    param_info = (
        Param("sigma_n", math.sqrt(4.0 / 7.0), low=0.0, low_open=False,
              doc="std of the Gaussian part at native scale 1"),
        Param("sigma_u", math.sqrt(3.0 / 7.0), low=0.0, low_open=False,
              doc="std of the uniform part at native scale 1 (half-width sqrt3 sigma_u)"),
    )

    def __init__(self, sigma: float | None = None, scale: float | None = None, **params: Any):
        if sigma is None and scale is None:
            scale = 1.0  # Nandi's parameters are absolute
        super().__init__(sigma=sigma, scale=scale, **params)

    def _setup(self) -> None:
        sn, su = self.params["sigma_n"], self.params["sigma_u"]
        if sn == 0.0 and su == 0.0:
            raise InvalidParameterError(
                "normal_uniform: parameters 'sigma_n' and 'sigma_u' cannot both be 0"
            )
        self._sn, self._su = sn, su
        self._a = _SQRT3 * su
        v1 = sn * sn + su * su
        if not (1e-300 < v1 < 1e300):
            raise InvalidParameterError(
                f"normal_uniform: sigma_n = {sn:g}, sigma_u = {su:g} give a variance {v1:g} outside "
                "the float64 range [1e-300, 1e300]; use a moderate shape and set the size with "
                "scale= or sigma="
            )
        if sn > 0.0 and su > 0.0 and not (_NU_RATIO[0] <= su / sn <= _NU_RATIO[1]):
            raise InvalidParameterError(
                f"normal_uniform: the ratio sigma_u/sigma_n = {su / sn:g} is outside "
                f"[{_NU_RATIO[0]:g}, {_NU_RATIO[1]:g}], where the cdf keeps its accuracy "
                "(the uniform half-width must not vanish against the Gaussian part or vice versa); "
                "for a pure Gaussian set sigma_u = 0, for a pure uniform sigma_n = 0"
            )
        if su == 0.0:
            self._kind = "normal"
        elif sn == 0.0:
            self._kind = "uniform"
            self.has_score = False
            self.support1 = (-self._a, self._a)
        else:
            self._kind = "sum"
            self._h = self._a / sn  # half-width in units of sigma_n

    def variance1(self) -> float:
        return self._sn**2 + self._su**2

    def fisher_information(self) -> float:
        """Infinite for the pure uniform (jumps); otherwise by quadrature split at the smoothed
        edges +-a (a single quadrature over R misses edges of width sigma_n << a and returned 0).
        """
        if self._kind == "uniform":
            return math.inf
        if self._kind == "normal":
            return 1.0 / (self._sn * self.scale) ** 2
        a, sn = self._a, self._sn
        pts = sorted({0.0, max(a - 12.0 * sn, 0.0), a, a + 12.0 * sn})
        return 2.0 * self._fisher_quad(pts + [math.inf]) / self.scale / self.scale

    # -- density --------------------------------------------------------------
    def _logpdf1(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        if self._kind == "normal":
            t = z / self._sn
            with np.errstate(over="ignore"):
                return -0.5 * t * t - _LOG_SQRT_2PI - math.log(self._sn)
        if self._kind == "uniform":
            return np.where(np.abs(z) <= self._a, -math.log(2 * self._a), -np.inf)
        t = np.abs(z) / self._sn  # symmetric density
        out = -math.log(2.0 * self._a) + log_ndtr_diff(t + self._h, t - self._h)
        if self._h < 1e-3:
            # Phi(t+h) - Phi(t-h) = int_{-h}^{h} phi(t+s) ds: for h t <= 1 an 8-point
            # Gauss-Legendre rule is exact to ~1e-20 relative, while the difference of the
            # two nearly equal Phi loses ~|log10(2h)| digits
            small = t * self._h <= 1.0
            if np.any(small):
                ts = t[small][..., None] + self._h * _GL8_X
                lp = special.logsumexp(-0.5 * ts * ts - _LOG_SQRT_2PI + _LOG_GL8_W, axis=-1)
                out = np.array(out, dtype=float, copy=True)
                out[small] = -math.log(2.0 * self._a) + math.log(self._h) + lp
        return out

    def _left_logcdf1(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        if self._kind == "normal":
            return special.log_ndtr(z / self._sn)
        if self._kind == "uniform":
            with np.errstate(divide="ignore"):
                return np.log(np.clip((z + self._a) / (2 * self._a), 0.0, 0.5))
        h = self._h
        t = z / self._sn
        t1, t2 = t + h, t - h
        logc = math.log(1.0 / (2.0 * h))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # both ends left of 0: log-space difference of G values
            l1 = _log_g_neg(np.minimum(t1, 0.0))
            l2 = _log_g_neg(t2)
            delta = l1 - l2
            if h < 1e-3:
                # l1 - l2 = int_{t2}^{t1} Phi/G (d log G = Phi/G): Simpson's rule instead of the
                # difference of two nearly equal logs (which loses ~|log10(2h)| digits); error
                # (2h)^5/2880 times the 4th derivative of Phi/G: < 1e-17 relative for h < 1e-3
                def r(v: np.ndarray) -> np.ndarray:
                    return np.exp(special.log_ndtr(v) - _log_g_neg(np.minimum(v, 0.0)))

                delta = (h / 3.0) * (r(np.minimum(t2, 0.0)) + 4.0 * r(np.minimum(t, 0.0))
                                     + r(np.minimum(t1, 0.0)))
            tail = np.where(np.isneginf(l1), -np.inf, logc + l1 + log1mexp(-delta))
            # straddling 0: G(t1) = t1 + G(-t1)
            g1 = np.maximum(t1, 0.0) + np.exp(_log_g_neg(-np.abs(t1)))
            g2 = np.exp(l2)
            direct = np.log((g1 - g2) / (2.0 * h))
            # tiny half-width: Taylor expansion of (1/2h) int_{t-h}^{t+h} Phi
            phi = np.exp(-0.5 * t * t - _LOG_SQRT_2PI)
            taylor = np.log(special.ndtr(t) - (h * h / 6.0) * t * phi
                            + (h**4 / 120.0) * (3.0 * t - t**3) * phi)
        straddle = np.where(h < 1e-3, taylor, direct)
        return np.where(t1 <= 0.0, tail, straddle)

    def _left_cdf1(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        if self._kind == "normal":
            return special.ndtr(z / self._sn)
        if self._kind == "uniform":
            return np.clip((z + self._a) / (2 * self._a), 0.0, 0.5)
        return np.exp(self._left_logcdf1(z))

    def _left_ppf1(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, dtype=float)
        if self._kind == "normal":
            return self._sn * special.ndtri(u)
        if self._kind == "uniform":
            return self._a * (2.0 * u - 1.0)
        # exact bracket: Phi((z - a)/sn) <= F(z) <= Phi((z + a)/sn)
        g = self._sn * special.ndtri(u)
        with np.errstate(divide="ignore"):
            logu = np.log(u)
        inner = u > 0
        out = np.where(u == 0, -np.inf, 0.0)
        if np.any(inner):
            out[inner] = monotone_quantile(
                self._logcdf1, self._logpdf1, logu[inner],
                g[inner] - self._a, np.minimum(g[inner] + self._a, 0.0))
        return out

    def _score1(self, z: np.ndarray) -> np.ndarray:
        """-(log p)'(z) = (phi(t2) - phi(t1)) / (sigma_n (Phi(t1) - Phi(t2))).

        Here t1, t2 = (|z| +- a)/sigma_n (docs/certificate-notes.md#c4 density differentiated).

        In the tail (t2 > 0) written with Mills ratios R = Q/phi (through erfcx) as
        (1 - e^{-2th}) / (sigma_n R(t2) (1 - e^{-2th} R(t1)/R(t2))): no cancellation.
        """
        z = np.asarray(z, dtype=float)
        if self._kind == "normal":
            return z / self._sn**2
        if self._kind == "uniform":  # pragma: no cover - guarded by has_score
            return np.zeros_like(z)
        sn, h = self._sn, self._h
        t = np.abs(z) / sn
        t1, t2 = t + h, t - h
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # centre: phi(t2) - phi(t1) = phi(t2) (1 - exp(-(t1^2 - t2^2)/2)), t1^2 - t2^2 = 4 t h
            lognum = -0.5 * t2 * t2 - _LOG_SQRT_2PI + log1mexp(-2.0 * t * h)
            centre = np.exp(lognum - log_ndtr_diff(t1, t2)) / sn
            r1 = special.erfcx(t1 / math.sqrt(2.0))
            r2 = special.erfcx(np.maximum(t2, 0.0) / math.sqrt(2.0))
            tail = (-np.expm1(-2.0 * t * h)) / (
                sn * math.sqrt(math.pi / 2.0) * r2
                * -np.expm1(-2.0 * t * h + np.log(r1) - np.log(r2)))
        val = np.where(t2 > 0, tail, centre)
        if h < 1e-3:
            # score = int (t+s) phi(t+s) ds / int phi(t+s) ds over |s| <= h, by Gauss-Legendre
            small = t * h <= 1.0
            if np.any(small):
                ts = t[small][..., None] + h * _GL8_X
                w = np.exp(-0.5 * (ts * ts - t[small][..., None] ** 2)) * _GL8_W
                val = np.array(val, dtype=float, copy=True)
                val[small] = np.sum(w * ts, axis=-1) / np.sum(w, axis=-1) / sn
        return np.sign(z) * np.where(t == 0, 0.0, val)

    # -- sampling -------------------------------------------------------------
    def _sample1(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Exact: the sum of independent Gaussian and uniform draws (Nandi et al. Sec. 4.3)."""
        return self._sn * rng.standard_normal(shape) + self._a * rng.uniform(-1.0, 1.0, shape)

    def _sample1_torch(self, shape: tuple[int, ...], generator: Any, device: Any,
                       dtype: Any) -> Any:
        import torch

        n = torch.randn(shape, generator=generator, device=device, dtype=torch.float64)
        u = torch.rand(shape, generator=generator, device=device, dtype=torch.float64)
        return _torch_cast(self._sn * n + self._a * (2.0 * u - 1.0), dtype)
