"""Adapters: frozen ``scipy.stats`` distributions and Python callables as product noises.

``unicr.noise(scipy.stats.t(df=3))`` and ``unicr.noise(my_logpdf, sigma=0.5)`` go
through this module (see :func:`unicr.noises.registry.noise`):

* :class:`ScipyNoise` wraps a frozen 1-D continuous ``scipy.stats`` distribution;
  its ``loc`` must be 0 and its ``scale`` is the native scale (``sigma=`` rescales
  to a per-coordinate RMS instead).  Every method delegates to scipy's
  ``logpdf``/``cdf``/``sf``/``logcdf``/``logsf``/``ppf``/``isf``/``rvs``.
* :class:`CallableNoise` turns a vectorised log-density ``logpdf(x, **params)``
  (up to an additive constant, at native scale 1) into a
  :class:`~unicr.noises.numeric.NumericNoise` (numeric normalisation, CDF/PPF tables),
  optionally with an exact sampler ``sampler(shape, rng)``.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from unicr.checks import check_positive
from unicr.errors import InvalidParameterError
from unicr.noises.base import Param, ProductNoise
from unicr.noises.numeric import NumericNoise

__all__ = ["is_scipy_frozen", "ScipyNoise", "CallableNoise"]

log = logging.getLogger(__name__)


def is_scipy_frozen(obj: Any) -> bool:
    """Whether ``obj`` is a frozen (parameters fixed) univariate ``scipy.stats`` distribution."""
    dist = getattr(obj, "dist", None)
    if dist is None or not hasattr(obj, "args") or not hasattr(obj, "kwds"):
        return False
    try:
        from scipy import stats
    except ImportError:  # pragma: no cover - scipy is a dependency
        return False
    return isinstance(dist, stats.rv_continuous | stats.rv_discrete)


def _split_args(frozen: Any) -> tuple[dict[str, float], float, float]:
    """(shape parameters by name, loc, scale) of a frozen scipy distribution."""
    dist = frozen.dist
    names = [s.strip() for s in dist.shapes.split(",")] if dist.shapes else []
    args = list(frozen.args)
    kw = dict(frozen.kwds)
    shapes: dict[str, float] = {}
    for i, nm in enumerate(names):
        if i < len(args):
            shapes[nm] = args[i]
        elif nm in kw:
            shapes[nm] = kw.pop(nm)
        else:
            raise InvalidParameterError(f"scipy.stats.{dist.name}: missing shape parameter {nm!r}")
    rest = args[len(names):]
    loc = rest[0] if len(rest) > 0 else kw.pop("loc", 0.0)
    sc = rest[1] if len(rest) > 1 else kw.pop("scale", 1.0)
    if kw:
        raise InvalidParameterError(
            f"scipy.stats.{dist.name}: unexpected argument(s) {', '.join(map(str, kw))}")
    try:
        shapes_f = {k: float(v) for k, v in shapes.items()}
        return shapes_f, float(loc), float(sc)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"scipy.stats.{dist.name}: parameters must be scalars (got shapes={shapes!r}, "
            f"loc={loc!r}, scale={sc!r})") from None


class ScipyNoise(ProductNoise):
    """A frozen 1-D continuous ``scipy.stats`` distribution as a product noise.

    Parameters
    ----------
    frozen_dist:
        e.g. ``scipy.stats.t(df=3)`` or ``scipy.stats.laplace(scale=0.5)``; ``loc`` must be 0.
    sigma:
        per-coordinate RMS; rescales the law (refused if the variance is infinite).
    scale:
        native scale of the standardised law (replaces the distribution's own ``scale``).

    With neither, the distribution is used exactly as given (native scale = its ``scale``).
    """

    def __init__(self, frozen_dist: Any, sigma: float | None = None, scale: float | None = None):
        from scipy import stats

        if not is_scipy_frozen(frozen_dist):
            raise InvalidParameterError(
                f"ScipyNoise needs a frozen scipy.stats distribution, got "
                f"{type(frozen_dist).__name__}")
        dist = frozen_dist.dist
        if not isinstance(dist, stats.rv_continuous):
            raise InvalidParameterError(
                f"scipy.stats.{dist.name} is a discrete distribution; a noise needs a continuous "
                "density")
        shapes, loc, own_scale = _split_args(frozen_dist)
        self.name = f"scipy.{dist.name}"
        if loc != 0.0:
            raise InvalidParameterError(
                f"{self.name}: loc = {loc:g}, but a smoothing noise must be centred; build it "
                f"with loc=0 (its scale = {own_scale:g} is the native scale)")
        own_scale = check_positive(own_scale, "scale", self.name)
        try:
            std = dist(**shapes)
            lo, hi = (float(t) for t in std.support())
        except Exception as exc:  # noqa: BLE001 - scipy raises various types for bad shapes
            raise InvalidParameterError(f"{self.name}: invalid shape parameters {shapes}: "
                                        f"{exc}") from None
        if math.isnan(lo) or math.isnan(hi):
            raise InvalidParameterError(f"{self.name}: invalid shape parameters {shapes}")
        self._std = std
        self.param_info = tuple(Param(k, v) for k, v in shapes.items())
        args_txt = ", ".join(f"{k}={v:g}" for k, v in shapes.items())
        self.description = f"scipy.stats.{dist.name}({args_txt})"
        self.source = "scipy.stats"
        self.support1 = (lo, hi)
        self.symmetric = self._check_symmetric()
        with np.errstate(all="ignore"):
            m, v = (float(t) for t in std.stats(moments="mv"))
        m = m if math.isfinite(m) else (0.0 if self.symmetric else math.nan)
        second = v + m * m if math.isfinite(v) and math.isfinite(m) else math.inf
        self.var1 = second
        self._mean1 = m
        self.has_score = not self._jumps()
        if sigma is None and scale is None:
            scale = own_scale
        super().__init__(sigma=sigma, scale=scale)

    def _check_symmetric(self) -> bool:
        u = np.linspace(0.01, 0.49, 25)
        z = -self._std.ppf(u)
        if not np.all(np.isfinite(z)):
            return False
        with np.errstate(all="ignore"):
            a = self._std.logpdf(z)
            b = self._std.logpdf(-z)
        return bool(np.allclose(a, b, rtol=1e-10, atol=1e-12))

    def _jumps(self) -> bool:
        lo, hi = self.support1
        width = hi - lo
        if not math.isfinite(width):
            return False
        eps = 1e-9 * width
        with np.errstate(all="ignore"):
            ends = self._std.pdf(np.array([lo + eps, hi - eps]))
        return bool(np.any(ends * width > 1e-6))

    def variance1(self) -> float:
        """Second moment ``E[Z^2]`` of the standardised law (= variance when centred)."""
        return float(self.var1)

    def mean(self) -> float:
        return self.scale * self._mean1

    def var(self) -> float:
        m = self._mean1 if math.isfinite(self._mean1) else 0.0
        return self.scale * self.scale * (self.variance1() - m * m)

    def with_scale(self, scale: float) -> ScipyNoise:
        new = copy.copy(self)
        new.scale = check_positive(scale, "scale", self.name)
        return new

    def with_sigma(self, sigma: float) -> ScipyNoise:
        new = copy.copy(self)
        s = check_positive(sigma, "sigma", self.name)
        if not math.isfinite(self.variance1()):
            from unicr.errors import InfiniteVarianceError

            raise InfiniteVarianceError(
                f"{self.name}: this noise has infinite variance, so sigma (per-coordinate RMS) is "
                "undefined; build it from its native scale instead (scale=...)")
        new.scale = s / math.sqrt(self.variance1())
        return new

    def definition(self) -> dict[str, Any]:
        out = super().definition()
        out["scipy"] = self._std.dist.name
        return out

    # -- standardised law (delegated to scipy) ---------------------------------------
    def _logpdf1(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(self._std.logpdf(z), dtype=float)

    def _cdf1(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(self._std.cdf(z), dtype=float)

    def _sf1(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(self._std.sf(z), dtype=float)

    def _logcdf1(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(self._std.logcdf(z), dtype=float)

    def _logsf1(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(self._std.logsf(z), dtype=float)

    def _ppf1(self, u: np.ndarray) -> np.ndarray:
        return np.asarray(self._std.ppf(u), dtype=float)

    def _isf1(self, u: np.ndarray) -> np.ndarray:
        return np.asarray(self._std.isf(u), dtype=float)

    def _sample1(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        return np.asarray(self._std.rvs(size=shape, random_state=rng), dtype=float).reshape(shape)


def _vectorised(logpdf: Callable[..., Any], params: dict[str, float],
                name: str) -> Callable[[np.ndarray], np.ndarray]:
    """``f(z)`` calling ``logpdf(z, **params)``, falling back to ``numpy.vectorize`` if needed."""

    def direct(z: np.ndarray) -> np.ndarray:
        return np.asarray(logpdf(z, **params), dtype=float)

    probe = np.array([-1.5, 0.25, 2.0])
    try:
        with np.errstate(all="ignore"):
            out = direct(probe)
        if out.shape == probe.shape:
            return direct
    except Exception:  # noqa: BLE001 - a scalar-only function fails on arrays in many ways
        pass
    log.warning("%s: the logpdf callable is not vectorised; evaluating it point by point "
                "(slow)", name)
    scalar = np.vectorize(lambda t: float(logpdf(float(t), **params)), otypes=[float])
    return lambda z: scalar(np.asarray(z, dtype=float))


class CallableNoise(NumericNoise):
    """A user Python log-density (vectorised, up to a constant, native scale 1) as a noise.

    Parameters
    ----------
    logpdf:
        ``logpdf(x, **params) -> log q(x) + const`` for numpy arrays ``x``.
    sigma, scale:
        per-coordinate RMS or native scale.
    sampler:
        optional exact sampler ``sampler(shape, rng) -> ndarray`` of the law at scale 1
        (otherwise inverse-CDF sampling from the numeric tables).
    symmetric:
        ``None`` to detect symmetry numerically.
    **params:
        numeric parameters forwarded to ``logpdf``.
    """

    def __init__(self, logpdf: Callable[..., Any], sigma: float | None = None,
                 scale: float | None = None,
                 sampler: Callable[[tuple[int, ...], np.random.Generator], Any] | None = None,
                 symmetric: bool | None = None, **params: Any):
        if not callable(logpdf):
            raise InvalidParameterError(f"CallableNoise needs a callable logpdf, got "
                                        f"{type(logpdf).__name__}")
        if sampler is not None and not callable(sampler):
            raise InvalidParameterError("sampler must be callable as sampler(shape, rng)")
        name = getattr(logpdf, "__name__", None) or type(logpdf).__name__
        if name == "<lambda>":
            name = "lambda"
        # no ranges are known for a user callable: only "a finite number" is checked
        values = {k: Param(k, None).validate(v, f"callable noise {name}") for k, v in params.items()}
        f = _vectorised(logpdf, values, name)
        code = getattr(logpdf, "__code__", None)
        ident = hashlib.sha256(
            repr((getattr(code, "co_code", b""), getattr(code, "co_consts", ()),
                  getattr(code, "co_names", ()), getattr(logpdf, "__qualname__", name)))
            .encode()).hexdigest()[:16]
        super().__init__(
            f, sigma=sigma, scale=scale, name=f"callable:{name}",
            description=f"user log-density {name}", source="Python callable",
            symmetric=symmetric, sampler=sampler, origin=f"callable {name}", field="logpdf",
            params=values, param_info=tuple(Param(k, v) for k, v in values.items()),
            definition={"callable": getattr(logpdf, "__qualname__", name), "code": ident})
        # the law's values pin the identity down beyond the code hash (closures, globals)
        probe = np.array([-3.0, -1.0, -0.3, 0.0, 0.3, 1.0, 3.0])
        vals = self.table.logpdf(probe)
        self._definition_extra["values"] = [round(float(v), 12) if math.isfinite(v) else None
                                            for v in vals]
