"""The noise model: what every engine may ask of a noise distribution.

Two kinds of noise exist:

* :class:`ProductNoise` -- i.i.d. coordinates, ``eps_j = scale * Z_j`` with a 1-D
  *standardised* law ``Z`` (native scale 1).  It behaves like a frozen
  ``scipy.stats`` distribution (``logpdf``, ``cdf``, ``ppf``, ``rvs`` ...) and adds
  what certification needs: ``score`` = -(log q)', ``log_ratio``, symmetry,
  Fisher information, and samplers for numpy and torch.
* :class:`JointNoise` -- a density on R^d that is not a product (Yang et al. 2020's
  UniformBall, Exp2, ExpInf, ...), with ``logpdf(x)`` for ``x`` of shape
  ``(..., d)`` and exact samplers.

Scale convention (docs/concepts.md, docs/certificate-notes.md#c0-3 (to §0.4)): ``sigma`` is
the per-coordinate RMS, ``sigma = sqrt(E ||eps||^2 / d)``; every family also has
its *native* scale.  A noise is built from either one; infinite-variance
families refuse ``sigma`` with :class:`~unicr.errors.InfiniteVarianceError`.
When neither is given the default is ``sigma = 1`` where the variance is finite
and native ``scale = 1`` otherwise.

Subclasses of :class:`ProductNoise` implement the standardised methods
``_logpdf1``, ``_cdf1``, ``_ppf1``, ``_sample1`` (and optionally ``_sf1``,
``_logcdf1``, ``_logsf1``, ``_isf1``, ``_score1``, ``_sample1_torch``) and the
class attributes below; the public methods handle the scale (scipy's ``pdf`` / ``_pdf``
split: engines call the public names, e.g. :meth:`ProductNoise.standard_logpdf`, never the
``_*1`` hooks).

Compiled log-density.  A closed-form family may also declare its unnormalised standardised
log-density for the compiled Monte Carlo backends (numba kernels, torch banks) by returning a
:class:`CompiledLogDensity` from :meth:`ProductNoise.compiled_logq`; the engines use nothing
else, and cross-check it against ``logpdf`` before use (docs/adding-a-noise.md, "Adding a
closed-form family").
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from unicr.checks import check_dimension, check_positive
from unicr.errors import InfiniteVarianceError, InvalidParameterError, UnicrError

__all__ = ["Param", "Noise", "ProductNoise", "JointNoise", "CompiledLogDensity", "as_generator"]


# ---------------------------------------------------------------------------
# parameters
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """Metadata of one noise parameter: default and admissible range.

    ``low``/``high`` are bounds; ``low_open``/``high_open`` say whether the bound
    itself is excluded.  ``integer`` parameters must be whole numbers.
    """

    name: str
    default: float | None
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = True
    high_open: bool = True
    integer: bool = False
    doc: str = ""

    def range_text(self) -> str:
        lo = "(" if self.low_open else "["
        hi = ")" if self.high_open else "]"
        return f"{lo}{self.low:g}, {self.high:g}{hi}"

    def validate(self, value: Any, owner: str) -> float:
        """Return ``value`` as a float, or raise with a message naming owner, parameter and value."""
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"{owner}: parameter '{self.name}' must be a number, got {value!r}"
            ) from None
        if not math.isfinite(v):
            raise InvalidParameterError(f"{owner}: parameter '{self.name}' must be finite, got {v!r}")
        too_low = v < self.low or (self.low_open and v == self.low)
        too_high = v > self.high or (self.high_open and v == self.high)
        if too_low or too_high:
            raise InvalidParameterError(
                f"{owner}: parameter '{self.name}' = {v:g} is outside its range {self.range_text()}"
            )
        if self.integer and v != round(v):
            raise InvalidParameterError(
                f"{owner}: parameter '{self.name}' must be a whole number, got {v:g}"
            )
        return v

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "default": self.default,
            "low": self.low,
            "high": self.high,
            "low_open": self.low_open,
            "high_open": self.high_open,
            "integer": self.integer,
            "doc": self.doc,
        }


def resolve_params(info: tuple[Param, ...], given: Mapping[str, Any], owner: str,
                   require: bool = True) -> dict[str, float]:
    """Validate ``given`` against the parameter metadata ``info``, filling in defaults.

    Unknown names and out-of-range values raise :class:`InvalidParameterError` naming
    ``owner``; a parameter without default and without a value is an error when
    ``require`` (else left out, for a class that validates it itself).
    """
    known = {p.name: p for p in info}
    unknown = sorted(set(given) - set(known))
    if unknown:
        names = ", ".join(known) or "none"
        raise InvalidParameterError(
            f"{owner}: unknown parameter(s) {', '.join(unknown)} (no parameter of that name); "
            f"this noise takes: {names}"
        )
    out: dict[str, float] = {}
    for p in info:
        v = given.get(p.name)
        if v is not None:
            out[p.name] = p.validate(v, owner)
        elif p.default is not None:
            out[p.name] = float(p.default)
        elif require:
            raise InvalidParameterError(f"{owner}: parameter '{p.name}' is required")
    return out


def as_generator(rng: Any = None) -> np.random.Generator:
    """Coerce ``None``, an int seed or a Generator into a ``numpy.random.Generator``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise InvalidParameterError(
        f"rng must be None, an integer seed or a numpy.random.Generator, got {type(rng).__name__}"
    )


def _shape_tuple(shape: Any) -> tuple[int, ...]:
    if shape is None:
        return ()
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        t = tuple(int(s) for s in shape)
    except TypeError:
        raise InvalidParameterError(
            f"sample shape must be an int or a tuple of ints, got {shape!r}"
        ) from None
    if any(s < 0 for s in t):
        raise InvalidParameterError(f"sample shape must be non-negative, got {shape!r}")
    return t


def _finite_scale(scale: float, given: str, value: float, owner: str) -> float:
    """The native scale computed from ``sigma``, or an error if it left the float64 range."""
    if not (math.isfinite(scale) and scale > 0.0):
        raise InvalidParameterError(
            f"{owner}: {given} = {value:g} gives a native scale {scale!r} outside the float64 range "
            f"(0, {np.finfo(float).max:g}); choose a {given} closer to 1"
        )
    return scale


# ---------------------------------------------------------------------------
# compiled log-density of a closed-form family
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledLogDensity:
    """The unnormalised standardised log-density ``log q(z)`` of a closed-form product family
    (``z = x / scale``, additive constant dropped, ``log q <= 0``), in the forms the compiled
    Monte Carlo backends evaluate, as declared once by the family
    (:meth:`ProductNoise.compiled_logq`).

    The losses along ``lam v`` are sums of ``log q((eps_j - lam v_j)/s) - log q(eps_j/s)``
    (Hong et al. 2022, Eqs. 26-29, in log space), so the constant cancels.  Both backends
    cross-check the formula against ``logpdf`` before use (any mismatch: the numpy path), so a
    compiled form only changes speed, never a certificate.

    Attributes
    ----------
    kernel:
        slot of the family's numba formula in the dispatcher
        :func:`unicr.noises.numba_logq.logq` (``logq(kernel, z, p1)``).
    p1:
        the formula's shape parameter (gennorm ``beta``, Pareto ``a``, Student ``nu``; 0.0 for
        families without one).
    elastic:
        ``sup |z (log q)'(z)| / |log q(z)|``: a relative error of the argument costs at most
        this times that error, relative to ``|log q|`` (torch banks' rounding bound).
    c_eval:
        ulps of ``|log q|`` lost evaluating the torch formula at an exact argument (CUDA's
        worst-case ``logf``/``log1pf``/``expf``/``powf`` errors included, then doubled).
    logq_torch_:
        the torch formula, in place: ``logq_torch_(x, scratch, mask, big, small)`` overwrites
        ``x`` and the scratch tensors ``scratch`` (same shape and dtype) and ``mask`` (bool)
        and returns whichever holds ``log q(x)``.  ``big``: beyond it heavy-tailed formulas use
        ``2 log|z|`` (no overflow of ``z^2``); ``small=True`` promises
        ``|x| * big_arg_scale <= big`` everywhere (one transcendental instead of two).
    continuity:
        ``delta -> (rel, abs)`` with ``|log q(z + e) - log q(z)| <= rel |log q(z)| + abs`` for
        ``|e| <= delta`` (absolute argument errors: the rounding of the shift).
    big_arg_scale:
        the torch formula compares ``|z| * big_arg_scale`` with ``big`` (Student t:
        ``1/sqrt(nu)``; 1 otherwise).
    indicator:
        True when ``log q`` is 0 on ``[-1, 1]`` and ``-inf`` outside (uniform noise): the
        banks then use per-draw thresholds instead of sums of log densities.
    """

    kernel: int
    p1: float
    elastic: float
    c_eval: float
    logq_torch_: Callable[..., Any]
    continuity: Callable[[float], tuple[float, float]]
    big_arg_scale: float = 1.0
    indicator: bool = False

    def logq_torch(self, z: Any, big: float) -> Any:
        """``log q(z)`` as a new tensor on ``z``'s device and dtype (``z`` is not modified)."""
        import torch

        x = z.clone()
        return self.logq_torch_(x, torch.empty_like(x),
                                torch.empty(x.shape, dtype=torch.bool, device=x.device), big)

    def small(self, zmax: float, big: float) -> bool:
        """True when ``|z| <= zmax`` keeps the torch formula's argument below ``big / 2``."""
        return zmax * self.big_arg_scale * 1.01 <= 0.5 * big



# ---------------------------------------------------------------------------
# common base
# ---------------------------------------------------------------------------


class Noise:
    """Common part of product and joint noises.

    Attributes
    ----------
    name:
        registry name (``"gaussian"``, ``"gennorm"``, a spec file's ``name`` ...).
    params:
        validated shape parameters (native scale excluded).
    scale:
        native scale (``lambda``/``alpha``/``s`` of the family).
    """

    name: str = "noise"
    is_product: bool = False
    #: parameter metadata, in order
    param_info: tuple[Param, ...] = ()
    #: one-line description and literature source (shown by ``unicr pdfs show``)
    description: str = ""
    source: str = ""
    #: what the native scale is called in the family's formula ("lambda", "alpha", ...)
    scale_name: str = "scale"

    params: dict[str, float]
    scale: float

    # -- parameters ---------------------------------------------------------
    def _init_params(self, params: Mapping[str, Any]) -> dict[str, float]:
        return resolve_params(self.param_info, params, self.name)

    # -- identity -----------------------------------------------------------
    def definition(self) -> dict[str, Any]:
        """A JSON-able canonical description; equal definitions mean equal laws."""
        return {
            "name": self.name,
            "kind": "product" if self.is_product else "joint",
            "class": type(self).__name__,
            "params": {k: float(v) for k, v in sorted(self.params.items())},
            "scale": float(self.scale),
        }

    def fingerprint(self) -> str:
        """SHA-256 of :meth:`definition` (used as a cache key)."""
        blob = json.dumps(self.definition(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def __repr__(self) -> str:
        ps = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        sig = self.sigma
        sig_txt = f"sigma={sig:.6g}" if sig is not None else "sigma=inf"
        extra = f", {ps}" if ps else ""
        return f"{type(self).__name__}({self.scale_name}={self.scale:.6g}, {sig_txt}{extra})"

    # -- subclasses provide ------------------------------------------------------
    @property
    def sigma(self) -> float | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Properties for display (``unicr pdfs show``)."""
        sig = self.sigma
        return {
            "name": self.name,
            "kind": "product" if self.is_product else "joint",
            "description": self.description,
            "source": self.source,
            "params": dict(self.params),
            "param_info": [p.to_dict() for p in self.param_info],
            "scale_name": self.scale_name,
            "scale": self.scale,
            "sigma": sig if sig is not None else math.inf,
        }


# ---------------------------------------------------------------------------
# product (i.i.d.) noise
# ---------------------------------------------------------------------------


class ProductNoise(Noise):
    """I.i.d. noise: each coordinate is ``scale * Z`` with ``Z`` of standardised density ``q1``.

    Subclasses set the class attributes ``symmetric``, ``support1`` (support of ``Z``),
    ``var1`` (variance of ``Z``; ``math.inf`` if infinite) and implement the
    ``_*1`` methods on the standardised variable.
    """

    is_product = True
    symmetric: bool = True
    support1: tuple[float, float] = (-math.inf, math.inf)
    var1: float = 1.0
    #: False for laws without a usable score -(log q)' (uniform, densities with jumps);
    #: engines that need the score (differential method) must check it.
    has_score: bool = True

    def __init__(self, sigma: float | None = None, scale: float | None = None, **params: Any):
        self.params = self._init_params(params)
        self._setup()
        v1 = self.variance1()
        if sigma is not None and scale is not None:
            raise InvalidParameterError(
                f"{self.name}: give either sigma (per-coordinate RMS) or scale (native), not both"
            )
        if not (v1 > 0.0):  # NaN or zero: a law this class cannot represent
            raise InvalidParameterError(
                f"{self.name}: the variance of the standardised law is {v1!r}; this noise cannot "
                "be represented in float64 with these parameters"
            )
        if sigma is not None:
            s = check_positive(sigma, "sigma", self.name)
            if not math.isfinite(v1):
                raise InfiniteVarianceError(
                    f"{self.name}: this noise has infinite variance, so sigma (per-coordinate RMS) "
                    f"is undefined; build it from its native scale instead (scale=...)"
                )
            self.scale = _finite_scale(s / math.sqrt(v1), "sigma", s, self.name)
        elif scale is not None:
            self.scale = check_positive(scale, "scale", self.name)
        else:
            self.scale = (_finite_scale(1.0 / math.sqrt(v1), "sigma", 1.0, self.name)
                          if math.isfinite(v1) else 1.0)

    # hook for subclasses that precompute things from self.params
    def _setup(self) -> None:
        pass

    def variance1(self) -> float:
        """Variance of the standardised law (native scale 1); ``inf`` if infinite."""
        return float(self.var1)

    # -- scale / moments ------------------------------------------------------
    @property
    def sigma(self) -> float | None:
        """Per-coordinate RMS (= std for symmetric noise); ``None`` if the variance is infinite."""
        v1 = self.variance1()
        return self.scale * math.sqrt(v1) if math.isfinite(v1) else None

    def var(self) -> float:
        return self.scale * self.scale * self.variance1()

    def std(self) -> float:
        return math.sqrt(self.var())

    def mean(self) -> float:
        if self.symmetric:
            return 0.0
        raise NotImplementedError(f"{self.name}: mean of an asymmetric noise is not implemented")

    @property
    def support(self) -> tuple[float, float]:
        lo, hi = self.support1
        return (lo * self.scale, hi * self.scale)

    def with_scale(self, scale: float) -> ProductNoise:
        """The same family and shape at another native scale."""
        return type(self)(scale=scale, **self.params)

    def with_sigma(self, sigma: float) -> ProductNoise:
        """The same family and shape at another per-coordinate RMS."""
        return type(self)(sigma=sigma, **self.params)

    # -- standardised methods (override) --------------------------------------
    def _logpdf1(self, z: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _cdf1(self, z: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _ppf1(self, u: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _sf1(self, z: np.ndarray) -> np.ndarray:
        if self.symmetric:
            return self._cdf1(-z)
        return 1.0 - self._cdf1(z)

    def _logcdf1(self, z: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self._cdf1(z))

    def _logsf1(self, z: np.ndarray) -> np.ndarray:
        if self.symmetric:
            return self._logcdf1(-z)
        with np.errstate(divide="ignore"):
            return np.log(self._sf1(z))

    def _isf1(self, u: np.ndarray) -> np.ndarray:
        if self.symmetric:
            return -self._ppf1(u)
        return self._ppf1(1.0 - u)

    def _score1(self, z: np.ndarray) -> np.ndarray:
        """-(d/dz) log q1(z); default: central difference of ``_logpdf1``."""
        h = 1e-6 * np.maximum(1.0, np.abs(z))
        return -(self._logpdf1(z + h) - self._logpdf1(z - h)) / (2 * h)

    def _sample1(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Default: inverse-CDF sampling."""
        return self._ppf1(rng.random(shape))

    def _sample1_torch(self, shape: tuple[int, ...], generator: Any, device: Any, dtype: Any) -> Any:
        """Default torch sampler: inverse CDF computed on the host from torch uniforms.

        Families override this with a sampler that runs on ``device``.
        """
        import torch

        gdev = generator.device if generator is not None else torch.device("cpu")
        u = torch.rand(shape, generator=generator, device=gdev, dtype=torch.float64)
        z = self._ppf1(u.cpu().numpy())
        return torch.as_tensor(z, dtype=dtype, device=device)

    # -- the standardised law for engines (native scale 1) ----------------------
    def standard_logpdf(self, z: np.ndarray) -> np.ndarray:
        """Log-density of the standardised law ``Z = eps / scale`` (native scale 1).

        Parameters
        ----------
        z : ndarray of float
            points of the standardised variable.

        Returns
        -------
        ndarray
            ``log q1(z)`` (normalised); ``logpdf(x) = standard_logpdf(x / scale) - log(scale)``.
            Engines use it to stay exactly scale-equivariant.
        """
        return self._logpdf1(z)

    def standard_ppf(self, u: np.ndarray) -> np.ndarray:
        """Quantile function of the standardised law ``Z = eps / scale`` (native scale 1).

        Parameters
        ----------
        u : ndarray of float
            probabilities in ``[0, 1]``.

        Returns
        -------
        ndarray
            ``q1``-quantiles; ``ppf(u) = scale * standard_ppf(u)``.
        """
        return self._ppf1(u)

    #: the compiled log-density, declared by a closed-form family (:meth:`compiled_logq`): its
    #: numba slot (:mod:`unicr.noises.kernel_slots`; None: no compiled form) and the rounding
    #: constants of its torch formula (:class:`CompiledLogDensity`)
    kernel_slot: int | None = None
    kernel_elastic: float = 0.0
    kernel_c_eval: float = 0.0
    kernel_indicator: bool = False

    def kernel_shape(self) -> tuple[float, float, float]:
        """``(p1, elastic, big_arg_scale)`` of the compiled form: the shape parameter the
        formula reads, and the constants that depend on it (override when they do)."""
        return 0.0, self.kernel_elastic, 1.0

    def compiled_logq(self) -> CompiledLogDensity | None:
        """The family's log-density for the compiled Monte Carlo backends, or None.

        Returns
        -------
        CompiledLogDensity or None
            None for noises without a closed-form compiled formula (``kernel_slot`` None): the
            engines then evaluate :meth:`logpdf` in numpy.  Closed-form families
            (:mod:`unicr.noises.families`) declare ``kernel_slot`` and the constants, and
            implement ``logq_torch_`` and ``logq_continuity``.
        """
        if self.kernel_slot is None:
            return None
        p1, elastic, big_arg_scale = self.kernel_shape()
        return CompiledLogDensity(kernel=self.kernel_slot, p1=p1, elastic=elastic,
                                  c_eval=self.kernel_c_eval, logq_torch_=self.logq_torch_,
                                  continuity=self.logq_continuity, big_arg_scale=big_arg_scale,
                                  indicator=self.kernel_indicator)

    # -- public API (scale applied) ------------------------------------------
    def logpdf(self, x: Any) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return self._logpdf1(x / self.scale) - math.log(self.scale)

    def pdf(self, x: Any) -> np.ndarray:
        return np.exp(self.logpdf(x))

    def cdf(self, x: Any) -> np.ndarray:
        return self._cdf1(np.asarray(x, dtype=float) / self.scale)

    def sf(self, x: Any) -> np.ndarray:
        return self._sf1(np.asarray(x, dtype=float) / self.scale)

    def logcdf(self, x: Any) -> np.ndarray:
        return self._logcdf1(np.asarray(x, dtype=float) / self.scale)

    def logsf(self, x: Any) -> np.ndarray:
        return self._logsf1(np.asarray(x, dtype=float) / self.scale)

    def ppf(self, u: Any) -> np.ndarray:
        return self.scale * self._ppf1(np.asarray(u, dtype=float))

    def isf(self, u: Any) -> np.ndarray:
        return self.scale * self._isf1(np.asarray(u, dtype=float))

    def score(self, x: Any) -> np.ndarray:
        """Score ``-(d/dx) log q(x)`` (scale applied); raises for laws without one."""
        if not self.has_score:
            raise UnicrError(f"{self.name}: this noise has no usable score -(log q)' "
                             "(its density is not differentiable)")
        return self._score1(np.asarray(x, dtype=float) / self.scale) / self.scale

    def log_ratio(self, x: Any, a: float) -> np.ndarray:
        """Per-coordinate log likelihood ratio ``log q(x - a) - log q(x)`` (the loss of a shift ``a``)."""
        x = np.asarray(x, dtype=float)
        with np.errstate(invalid="ignore"):
            out = self.logpdf(x - a) - self.logpdf(x)
        # -inf - -inf (outside the support of both) is undefined: such points have no mass
        return np.where(np.isnan(out), -np.inf, out)

    def sample(self, shape: Any = (), rng: Any = None) -> np.ndarray:
        """Draw i.i.d. coordinates of the given shape with a ``numpy.random.Generator`` (or seed)."""
        return self.scale * self._sample1(_shape_tuple(shape), as_generator(rng))

    # scipy.stats-style alias
    def rvs(self, size: Any = (), random_state: Any = None) -> np.ndarray:
        return self.sample(size, random_state)

    def sample_torch(self, shape: Any, generator: Any = None, device: Any = None,
                     dtype: Any = None) -> Any:
        """Draw a torch tensor of i.i.d. coordinates on ``device`` (CPU or CUDA)."""
        import torch

        dtype = torch.float32 if dtype is None else dtype
        device = torch.device("cpu") if device is None else torch.device(device)
        z = self._sample1_torch(_shape_tuple(shape), generator, device, dtype)
        return z * self.scale

    def fisher_information(self) -> float:
        """Fisher information for location ``E[score(eps)^2]`` (``inf`` if infinite).

        Default: numerical quadrature over the support; families override with closed forms.
        """
        lo, hi = self.support1
        return self._fisher_quad([lo, hi]) / self.scale / self.scale

    def _fisher_quad(self, edges: list[float]) -> float:
        """``int score1^2 q1`` over consecutive ``edges`` (native scale 1); ``inf`` if infinite."""
        import warnings

        from scipy import integrate

        bad = False

        def f(z: float) -> float:
            # only finite numbers may reach scipy's quad (a NaN integrand crashed it natively):
            # a point with mass whose score is infinite or undefined makes the integral infinite
            nonlocal bad
            with np.errstate(all="ignore"):
                lp = float(self._logpdf1(np.array(z)))
                if not lp > -math.inf:  # no mass here (or NaN density: not counted)
                    return 0.0
                s = float(self._score1(np.array(z)))
                val = s * s * math.exp(lp) if math.isfinite(s) else math.nan
            if not math.isfinite(val):
                bad = True
                return 0.0
            return val

        val = 0.0
        with warnings.catch_warnings():
            warnings.simplefilter("error", integrate.IntegrationWarning)
            for lo, hi in zip(edges[:-1], edges[1:]):
                if not lo < hi:
                    continue
                try:
                    part, _ = integrate.quad(f, lo, hi, limit=400)
                except integrate.IntegrationWarning:
                    # quad could not reach its tolerance: a divergent integral (|x|^-1.8 near a
                    # cusp); infinite is the conservative answer (it only weakens score bounds)
                    return math.inf
                val += part
        if bad or not math.isfinite(val):
            return math.inf
        return val

    def interval(self, confidence: float) -> tuple[float, float]:
        a = (1.0 - confidence) / 2
        return float(self.ppf(a)), float(self.isf(a))

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out.update({
            "symmetric": self.symmetric,
            "support": list(self.support),
            "variance": self.var(),
        })
        return out


# ---------------------------------------------------------------------------
# joint (non-product) noise on R^d
# ---------------------------------------------------------------------------


class JointNoise(Noise):
    """A density on R^d that is not a product of 1-D laws.

    Subclasses implement ``logpdf`` (normalised, in log space), ``_sample``
    (exact sampler returning ``(n, d)`` at native scale 1) and ``_rms1`` (the
    per-coordinate RMS at native scale 1 for this ``d``; ``inf`` if infinite).
    """

    is_product = False
    d: int

    def __init__(self, d: int, sigma: float | None = None, scale: float | None = None,
                 **params: Any):
        d_int = check_dimension(d, owner=self.name)
        self.d = d_int
        self.params = self._init_params(params)
        self._setup()
        r1 = self._rms1()
        if sigma is not None and scale is not None:
            raise InvalidParameterError(
                f"{self.name}: give either sigma (per-coordinate RMS) or scale (native), not both"
            )
        if sigma is not None:
            s = check_positive(sigma, "sigma", self.name)
            if not math.isfinite(r1):
                raise InfiniteVarianceError(
                    f"{self.name}: this noise has infinite variance for d={self.d}; "
                    "build it from its native scale instead (scale=...)"
                )
            self.scale = _finite_scale(s / r1, "sigma", s, self.name)
        elif scale is not None:
            self.scale = check_positive(scale, "scale", self.name)
        else:
            self.scale = (_finite_scale(1.0 / r1, "sigma", 1.0, self.name)
                          if math.isfinite(r1) else 1.0)

    def _setup(self) -> None:
        pass

    def _rms1(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def _logpdf1(self, z: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Log density at native scale 1, ``z`` of shape (..., d)."""
        raise NotImplementedError

    def _sample(self, n_shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    @property
    def sigma(self) -> float | None:
        r1 = self._rms1()
        return self.scale * r1 if math.isfinite(r1) else None

    def definition(self) -> dict[str, Any]:
        out = super().definition()
        out["d"] = self.d
        return out

    def _check_last_axis(self, x: np.ndarray) -> None:
        if x.ndim == 0 or x.shape[-1] != self.d:
            raise InvalidParameterError(
                f"{self.name}: expected points of shape (..., {self.d}), got shape {x.shape}"
            )

    def logpdf(self, x: Any) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        self._check_last_axis(x)
        return self._logpdf1(x / self.scale) - self.d * math.log(self.scale)

    def pdf(self, x: Any) -> np.ndarray:
        return np.exp(self.logpdf(x))

    def log_ratio(self, x: Any, delta: Any) -> np.ndarray:
        """``log q(x - delta) - log q(x)`` for points ``x`` of shape (..., d)."""
        x = np.asarray(x, dtype=float)
        delta = np.asarray(delta, dtype=float)
        with np.errstate(invalid="ignore"):
            out = self.logpdf(x - delta) - self.logpdf(x)
        return np.where(np.isnan(out), -np.inf, out)

    def sample(self, n: Any = (), rng: Any = None) -> np.ndarray:
        """Draw points: ``sample(n)`` has shape ``(n, d)``; ``sample(())`` has shape ``(d,)``."""
        return self.scale * self._sample(_shape_tuple(n), as_generator(rng))

    def sample_torch(self, n: Any, generator: Any = None, device: Any = None, dtype: Any = None) -> Any:
        """Torch tensor of shape ``(*n, d)`` on ``device``.

        Default: exact numpy sampler seeded from ``generator``; families override
        with samplers that run on the device.
        """
        import torch

        dtype = torch.float32 if dtype is None else dtype
        device = torch.device("cpu") if device is None else torch.device(device)
        gdev = generator.device if generator is not None else torch.device("cpu")
        seed = int(torch.randint(0, 2**63 - 1, (1,), generator=generator, device=gdev).item())
        z = self._sample(_shape_tuple(n), np.random.default_rng(seed))
        return torch.as_tensor(z, dtype=dtype, device=device) * self.scale

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out["d"] = self.d
        return out
