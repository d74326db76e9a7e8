"""Where a smoothed classifier's radii come from: radius providers, pA_lower -> proven R.

A provider maps ``(pA_lower, pB_upper or None, p)`` to a proven lower bound on R*
(:class:`RadiusProvider`).  :class:`EngineRadius` calls ``unicr.radius`` once per distinct
request; :class:`CurveRadius` reads cached tables, for many noises at once, in microseconds:

Noise optimisation (C-OPT, I-OPT, Auto-Noise) and dataset certification ask for the radius of
the same few noises at thousands of values of pA_lower.  :class:`CurveRadius` answers each
request from a table of the engine's proven lower bound, built once per (noise shape, d, norm):

1. **Scale out.**  The tight radius is scale-equivariant: R*(s * mu) = s * R*(mu) (the
   Neyman-Pearson test of mu and of s * mu differ by the change of variables x -> s x).  A
   table is built for the noise at native scale 1 and multiplied by the scale, so every
   sigma of a family with the same shape shares one table.
2. **Grid.**  For product noise the table holds :meth:`unicr.engines.exact.ExactModel.lower`
   (the exact engine's proven lower bound: closed forms where exact, the differential method,
   the d = 1 certified walk) on a grid that is geometric in u = Phi^-1(pA) from
   pA = 1/2 + 1e-9 to pA = 1 - 1e-12 with ratio ``1 + rel_loss``; every interval whose
   consecutive values differ by more than ``rel_loss`` (relative) is halved in u, up to
   :data:`MAX_REFINE` times.  For joint (non-product) noise the table holds
   ``unicr.radius(..., method="auto")`` lower bounds on ``joint_points`` probit-spaced pA values
   up to 1 - 1e-7: the radial engine for the l2-radial noises it accepts (UniformBall, Exp2,
   Pow2: proven, confidence 1, so they add 0 to ``alpha``), the Monte Carlo engine otherwise
   (about 30 s a point at d = 784; its ``1 - confidence`` is the provider's ``alpha``).  This
   grid is coarse: its loss is reported as ``max_step`` and is not held to ``rel_loss``.
3. **Sound lookup.**  R* is non-decreasing in pA, so for pA between grid points g_j <= pA <
   g_{j+1} the value at g_j is a lower bound on R*(pA); the table is first replaced by its
   running maximum (each entry stays below R* at its own pA because R* is non-decreasing).
   Below the first grid point the answer is 0 (certified at radius 0; ABSTAIN only for
   pA_lower <= 1/2).  The loss against the engine at pA itself is at most the relative step
   between the two neighbours, recorded per norm as ``max_step`` (``describe()``).

Two-sided requests (``pb`` given) are not tabulated: they go to the engine directly (memoised
per (pA, pB, p)), as :class:`EngineRadius` does.

:class:`RadiusBook` hands out providers that share tables and one set of counters (engine
calls, lookups, seconds in each); :class:`EngineBook` is the same interface with one engine
call per (noise, pA, norm) -- UniCR's way, the baseline of ``benchmarks/bench_optimize.py``.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from scipy import special

from unicr.certificate import Certificate, parse_norm
from unicr.errors import InvalidParameterError, UnicrError
from unicr.noises.base import Noise

__all__ = ["RadiusProvider", "EngineRadius", "CurveRadius", "RadiusBook", "EngineBook",
           "RadiusStats", "MAX_REFINE",
           "PA_FIRST", "PA_LAST"]

log = logging.getLogger(__name__)

#: first and last grid points of a product-noise table
PA_FIRST = 0.5 + 1e-9
PA_LAST = 1.0 - 1e-12
#: last grid point of a joint-noise table (the ceiling alpha^(1/n) of n = 10^7 draws at
#: alpha = 0.001 is 1 - 6.9e-7)
JOINT_PA_LAST = 1.0 - 1e-7
#: rounds of interval halving where the relative step exceeds rel_loss
MAX_REFINE = 12
#: version of the table layout (part of the cache key with the engine version)
TABLE_VERSION = "lower-table-1"

#: tables shared by every provider of this process, by key
_TABLES: dict[str, _Table] = {}


class RadiusProvider(Protocol):
    """Maps ``(pA_lower, pB_upper or None, p)`` to a proven lower bound on R*, or None to abstain.

    ``alpha`` is the failure probability of the numerics behind the radius (0 for
    deterministic engines); it is added to the classifier's alpha by the union bound.
    """

    alpha: float

    def __call__(self, pa: float, pb: float | None, norm: float) -> float | None: ...

    def describe(self) -> dict[str, Any]: ...


class EngineRadius:
    """Default radius provider: ``unicr.radius(noise, pa, norm, d, pb=pb, method).lower``.

    Results are memoised per ``(pa, pb, p)``: counts take few distinct values, so a
    dataset run calls the engine a handful of times.  The largest ``1 - confidence``
    seen is recorded in ``alpha`` (per norm in ``alpha_by_norm``).
    """

    def __init__(self, noise: Noise, d: int, method: str = "auto", **engine_kwargs: Any):
        self.noise = noise
        self.d = int(d)
        self.method = method
        self.engine_kwargs = dict(engine_kwargs)
        self._cache: dict[tuple[float, float | None, float], Certificate] = {}
        self.alpha_by_norm: dict[float, float] = {}

    @property
    def alpha(self) -> float:
        return float(sum(self.alpha_by_norm.values()))

    def certificate(self, pa: float, pb: float | None, norm: float) -> Certificate:
        key = (float(pa), None if pb is None else float(pb), float(norm))
        cert = self._cache.get(key)
        if cert is None:
            from unicr.certify import radius
            from unicr.smoothing.sampling import SmoothingError

            try:
                cert = radius(self.noise, pa, norm, self.d, pb=pb, method=self.method,
                              **self.engine_kwargs)
            except ImportError as exc:
                raise SmoothingError(
                    f"the radius engine for method {self.method!r} is not available "
                    f"({exc}); pass a radius provider to Smooth(radius=...)"
                ) from None
            self._cache[key] = cert
            a = max(0.0, 1.0 - float(cert.confidence))
            self.alpha_by_norm[key[2]] = max(self.alpha_by_norm.get(key[2], 0.0), a)
        return cert

    def __call__(self, pa: float, pb: float | None, norm: float) -> float | None:
        cert = self.certificate(pa, pb, norm)
        if cert.abstain:
            return None
        lower = float(cert.lower)
        if math.isnan(lower) or lower < 0:  # never trust a malformed radius
            from unicr.smoothing.sampling import SmoothingError

            raise SmoothingError(f"radius engine returned lower={cert.lower!r} for pA={pa}")
        return lower

    def describe(self) -> dict[str, Any]:
        return {"provider": "unicr.radius", "method": self.method,
                "engine_kwargs": {k: repr(v) for k, v in sorted(self.engine_kwargs.items())}}


@dataclass
class RadiusStats:
    """Counters shared by the providers of one book (what a run reports).

    ``builds``: tables computed (each a vectorised engine call over the grid) or loaded;
    ``engine_calls``: direct engine calls (two-sided requests, :class:`EngineBook`);
    ``lookups``: radii answered; seconds spent in each.
    """

    builds: int = 0
    loads: int = 0
    engine_calls: int = 0
    lookups: int = 0
    build_seconds: float = 0.0
    engine_seconds: float = 0.0
    lookup_seconds: float = 0.0

    @property
    def seconds(self) -> float:
        """All time spent producing radii."""
        return self.build_seconds + self.engine_seconds + self.lookup_seconds

    def to_dict(self) -> dict[str, Any]:
        return {"builds": self.builds, "loads": self.loads, "engine_calls": self.engine_calls,
                "lookups": self.lookups, "build_seconds": self.build_seconds,
                "engine_seconds": self.engine_seconds, "lookup_seconds": self.lookup_seconds,
                "seconds": self.seconds}


@dataclass
class _Table:
    """Lower bounds of R* (native scale 1) on a pA grid, made monotone; lookups by bisect."""

    pa: list[float]
    lower: list[float]
    alpha: float = 0.0
    max_step: float = 0.0
    notes: list[str] = field(default_factory=list)

    def lookup(self, pa: float) -> float:
        j = bisect.bisect_right(self.pa, pa) - 1
        return 0.0 if j < 0 else self.lower[j]


def _check_rel_loss(rel_loss: Any) -> float:
    try:
        v = float(rel_loss)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"rel_loss must be a number in (0, 0.1], got {rel_loss!r}") \
            from None
    if not (0.0 < v <= 0.1):
        raise InvalidParameterError(f"rel_loss must be a number in (0, 0.1], got {rel_loss!r}")
    return v


def _unit_noise(noise: Any) -> tuple[Any, float]:
    """``(noise at native scale 1, its scale)``, or ``(noise, 1.0)`` when it cannot be rescaled."""
    scale = float(getattr(noise, "scale", 1.0))
    rescale = getattr(noise, "with_scale", None)
    if rescale is None or not math.isfinite(scale) or scale <= 0:
        return noise, 1.0
    try:
        unit = rescale(1.0)
    except (UnicrError, TypeError, ValueError):
        return noise, 1.0
    a, b = dict(noise.definition()), dict(unit.definition())
    a.pop("scale", None)
    b.pop("scale", None)
    if a != b:  # not the same law up to scale: tabulate the noise as it is
        return noise, 1.0
    return unit, scale


def _probit_grid(rel_loss: float) -> np.ndarray:
    u0, u1 = special.ndtri(PA_FIRST), special.ndtri(PA_LAST)
    n = int(math.ceil(math.log(u1 / u0) / math.log1p(rel_loss))) + 1
    return np.geomspace(u0, u1, n)


def _rel_steps(lower: np.ndarray) -> np.ndarray:
    """Relative loss of reading lower[j] instead of lower[j+1]: 1 - lower[j] / lower[j+1]."""
    hi = lower[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(hi > 0, 1.0 - lower[:-1] / hi, 0.0)
    return np.nan_to_num(out, nan=0.0)


def _product_table(unit: Any, d: int, p: float, rel_loss: float) -> _Table:
    from unicr.engines.exact import get_model

    model = get_model(unit, d)
    u = _probit_grid(rel_loss)
    notes: list[str] = []

    def lower_at(uu: np.ndarray) -> np.ndarray:
        lo, nts = model.lower(p, special.ndtr(uu), None)
        for t in nts:
            if t not in notes:
                notes.append(t)
        return np.maximum(np.nan_to_num(np.asarray(lo, dtype=float), nan=0.0), 0.0)

    lo = lower_at(u)
    for _ in range(MAX_REFINE):
        bad = np.nonzero(_rel_steps(np.maximum.accumulate(lo)) > rel_loss)[0]
        if len(bad) == 0:
            break
        mid = 0.5 * (u[bad] + u[bad + 1])
        u = np.concatenate([u, mid])
        lo = np.concatenate([lo, lower_at(mid)])
        order = np.argsort(u)
        u, lo = u[order], lo[order]
    pa = special.ndtr(u)
    keep = np.concatenate([[True], np.diff(pa) > 0])  # probit ties in float64 near pA = 1
    pa, lo = pa[keep], np.maximum.accumulate(lo[keep])
    step = float(_rel_steps(lo).max()) if len(lo) > 1 else 0.0
    return _Table(pa=pa.tolist(), lower=lo.tolist(), alpha=0.0, max_step=step, notes=notes)


def _joint_table(noise: Any, d: int, p: float, points: int, engine_kwargs: dict) -> _Table:
    from unicr.certify import choose_method, radius
    from unicr.reporting.curves import pa_grid

    pa = pa_grid(0.5, JOINT_PA_LAST, points)
    lo = np.zeros(len(pa))
    alpha = 0.0
    notes: list[str] = []
    certs = None
    if not engine_kwargs and choose_method(noise, "auto")[0] == "radial":
        # the radial engine's curve path (proven, confidence 1: alpha stays 0)
        from unicr.engines.radial import lp_from_l2, radius_curve_radial_l2

        certs = [lp_from_l2(c, p) for c in radius_curve_radial_l2(noise, pa)]
    for j, x in enumerate(pa):
        cert = (certs[j] if certs is not None
                else radius(noise, float(x), p, d, method="auto", **engine_kwargs))
        if not cert.abstain and math.isfinite(float(cert.lower)):
            lo[j] = max(float(cert.lower), 0.0)
        alpha = max(alpha, 1.0 - float(cert.confidence))
        if not notes:
            notes = [f"method {cert.method}", *cert.assumptions]
    lo = np.maximum.accumulate(lo)
    step = float(_rel_steps(lo).max()) if len(lo) > 1 else 0.0
    return _Table(pa=pa.tolist(), lower=lo.tolist(), alpha=alpha, max_step=step, notes=notes)


def _joint_engine_name(unit: Any) -> str:
    """The engine behind a joint noise's table (part of its cache key, so a Monte Carlo table
    cached before the radial engine existed is not reused; '' for product noise)."""
    if getattr(unit, "is_product", True):
        return ""
    from unicr.certify import choose_method

    return choose_method(unit, "auto")[0]


def _table_key(unit: Any, d: int, p: float, rel_loss: float, joint_points: int) -> str:
    from unicr.engines.exact import ENGINE_VERSION

    fields = {"noise": unit.fingerprint(), "d": int(d), "p": repr(float(p)),
              "rel_loss": repr(float(rel_loss)), "joint_points": int(joint_points),
              "engine": ENGINE_VERSION, "table": TABLE_VERSION}
    joint_engine = _joint_engine_name(unit)
    if joint_engine:  # product keys unchanged (their caches stay valid)
        fields["joint_engine"] = joint_engine
    blob = json.dumps(fields, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _load(path: Path, key: str) -> _Table | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta.get("key") != key:
                return None
            return _Table(pa=z["pa"].tolist(), lower=z["lower"].tolist(),
                          alpha=float(meta["alpha"]), max_step=float(meta["max_step"]),
                          notes=list(meta["notes"]))
    except Exception as e:  # noqa: BLE001 - an unreadable cache file is recomputed
        log.warning("ignoring unreadable radius table %s: %s", path, e)
        return None


def _save(path: Path, key: str, t: _Table) -> None:
    meta = {"key": key, "alpha": t.alpha, "max_step": t.max_step, "notes": t.notes}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, meta=np.array(json.dumps(meta)), pa=np.asarray(t.pa),
                 lower=np.asarray(t.lower))
        tmp.replace(path)
    except OSError as e:
        log.warning("could not write radius table %s: %s", path, e)


class CurveRadius:
    """Radius provider ``(pA_lower, pB or None, p) -> proven lower bound`` from cached tables.

    Implements :class:`RadiusProvider`: pass it as
    ``Smooth(model, noise, radius=CurveRadius(noise, d))``.  See the module docstring for the
    grid, the scale equivariance and why the lookup is sound.

    Parameters
    ----------
    noise:
        any noise of the registry (product: exact engine; joint: ``unicr.radius``).
    d:
        input dimension.
    rel_loss:
        largest relative step between neighbouring table entries (product noise): the
        loss of a lookup against the engine at pA itself (default 1e-3).
    cache:
        keep tables on disk (``unicr.engines.curve_cache.cache_dir()``) as well as in memory.
    joint_points:
        pA grid size of a joint noise's table (each point is one engine call).
    stats:
        counters to update (a :class:`RadiusBook` shares one among its providers).
    """

    def __init__(self, noise: Any, d: int, *, rel_loss: float = 1e-3, cache: bool = True,
                 joint_points: int = 24, stats: RadiusStats | None = None,
                 engine_kwargs: dict[str, Any] | None = None):
        from unicr.certify import validate_dimension
        from unicr.noises.base import Noise
        from unicr.noises.registry import noise as make_noise

        self.noise = noise if isinstance(noise, Noise) else make_noise(noise, d=d)
        self.d = validate_dimension(d)
        self.rel_loss = _check_rel_loss(rel_loss)
        if isinstance(joint_points, bool) or int(joint_points) != joint_points \
                or joint_points < 2:
            raise InvalidParameterError(f"joint_points must be an integer >= 2, got "
                                        f"{joint_points!r}")
        self.joint_points = int(joint_points)
        self.cache = bool(cache)
        self.stats = stats if stats is not None else RadiusStats()
        self.engine_kwargs = dict(engine_kwargs or {})
        self.product = bool(getattr(self.noise, "is_product", False))
        self.unit, self.factor = (_unit_noise(self.noise) if self.product
                                  else (self.noise, 1.0))
        self._tables: dict[float, _Table] = {}
        self._direct: Any = None

    # -- tables ---------------------------------------------------------------------
    def table(self, norm: Any) -> _Table:
        """The lower-bound table of one norm (built, or read from the caches, on first use)."""
        p = parse_norm(norm)
        t = self._tables.get(p)
        if t is not None:
            return t
        key = _table_key(self.unit, self.d, p, self.rel_loss, self.joint_points)
        t = _TABLES.get(key)
        if t is None:
            t0 = time.perf_counter()
            path = None
            if self.cache:
                from unicr.engines.curve_cache import cache_dir

                path = cache_dir() / f"lower-{key[:32]}.npz"
                if path.is_file():
                    t = _load(path, key)
            if t is not None:
                self.stats.loads += 1
            else:
                t = (_product_table(self.unit, self.d, p, self.rel_loss) if self.product
                     else _joint_table(self.unit, self.d, p, self.joint_points,
                                       self.engine_kwargs))
                self.stats.builds += 1
                if path is not None:
                    _save(path, key, t)
            self.stats.build_seconds += time.perf_counter() - t0
            _TABLES[key] = t
        self._tables[p] = t
        return t

    @property
    def alpha(self) -> float:
        """Failure probability of the numerics per certificate: the sum over norms in use."""
        a = sum(t.alpha for t in self._tables.values())
        if self._direct is not None:
            a += self._direct.alpha
        return float(a)

    # -- RadiusProvider -------------------------------------------------------------
    def __call__(self, pa: float, pb: float | None, norm: float) -> float | None:
        pa = float(pa)
        if pb is not None:
            return self._two_sided(pa, float(pb), norm)
        if not pa > 0.5:
            return None
        t = self.table(norm)
        t0 = time.perf_counter()
        r = t.lookup(pa) * self.factor
        self.stats.lookups += 1
        self.stats.lookup_seconds += time.perf_counter() - t0
        return r

    def _two_sided(self, pa: float, pb: float, norm: float) -> float | None:
        if self._direct is None:
            self._direct = EngineRadius(self.noise, self.d)
        t0 = time.perf_counter()
        r = self._direct(pa, pb, norm)
        self.stats.engine_calls += 1
        self.stats.engine_seconds += time.perf_counter() - t0
        return r

    def max_step(self, norm: Any) -> float:
        """Largest relative step of the table of ``norm`` (bound on a lookup's loss)."""
        return self.table(norm).max_step

    def describe(self) -> dict[str, Any]:
        return {"provider": "unicr.optimize.CurveRadius", "rel_loss": self.rel_loss,
                "table": TABLE_VERSION,
                "engine": "exact lower" if self.product else self._joint_engine(),
                "scaled_from_unit": self.factor != 1.0 or self.unit is not self.noise}

    def _joint_engine(self) -> str:
        """Which engine fills a joint noise's table, and what it adds to ``alpha``."""
        from unicr.certify import choose_method

        if choose_method(self.unit, "auto")[0] == "radial":
            return ("unicr.radius(method='auto') = the radial engine (proven, confidence 1; "
                    "adds 0 to alpha)")
        return ("unicr.radius(method='auto') = the Monte Carlo engine (adds 1 - confidence "
                "to alpha)")

    def __repr__(self) -> str:
        return f"CurveRadius({self.noise!r}, d={self.d}, rel_loss={self.rel_loss:g})"


class _Book:
    """Providers memoised per noise (``_make`` builds one) and one lookup entry point."""

    stats: RadiusStats
    _providers: dict[str, Any]

    def _make(self, noise: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def provider(self, noise: Any) -> Any:
        """The radius provider of ``noise`` (one per noise, shared counters)."""
        key = noise.fingerprint()
        prov = self._providers.get(key)
        if prov is None:
            prov = self._make(noise)
            self._providers[key] = prov
        return prov

    def radius(self, noise: Any, pa: float, norm: Any = 2, pb: float | None = None,
               ) -> float | None:
        """Proven lower bound (or the engine's estimate, see :class:`EngineBook`) at ``pa``."""
        return self.provider(noise)(pa, pb, parse_norm(norm))


class RadiusBook(_Book):
    """Providers for many noises over one dimension, sharing tables and counters.

    ``book.provider(noise)`` returns a :class:`CurveRadius` (memoised per noise);
    ``book.radius(noise, pa, norm)`` is one lookup.  ``book.stats`` counts table builds,
    loads and lookups over every noise (what C-OPT / I-OPT runs report).
    """

    kind = "curve"

    def __init__(self, d: int, *, rel_loss: float = 1e-3, cache: bool = True,
                 joint_points: int = 24):
        from unicr.certify import validate_dimension

        self.d = validate_dimension(d)
        self.rel_loss = _check_rel_loss(rel_loss)
        self.cache = bool(cache)
        self.joint_points = joint_points
        self.stats = RadiusStats()
        self._providers: dict[str, CurveRadius] = {}

    def _make(self, noise: Any) -> CurveRadius:
        return CurveRadius(noise, self.d, rel_loss=self.rel_loss, cache=self.cache,
                           joint_points=self.joint_points, stats=self.stats)

    def describe(self) -> dict[str, Any]:
        return {"book": self.kind, "d": self.d, "rel_loss": self.rel_loss}


class _TimedEngineRadius:
    """:class:`EngineRadius` with the book's counters.

    ``value="lower"`` answers the proven lower bound (a certificate); ``"estimate"`` the
    engine's point estimate (UniCR's plug-in radius: no guarantee either way).
    """

    def __init__(self, noise: Any, d: int, method: str, stats: RadiusStats,
                 engine_kwargs: dict[str, Any], value: str):
        self.inner = EngineRadius(noise, d, method=method, **engine_kwargs)
        self.stats = stats
        self.value = value

    @property
    def alpha(self) -> float:
        return self.inner.alpha

    def __call__(self, pa: float, pb: float | None, norm: float) -> float | None:
        t0 = time.perf_counter()
        n_before = len(self.inner._cache)
        if self.value == "lower":
            r = self.inner(pa, pb, norm)
        else:
            cert = self.inner.certificate(pa, pb, norm)
            est = None if cert.abstain else cert.estimate
            r = None if est is None or not math.isfinite(float(est)) else max(float(est), 0.0)
        if len(self.inner._cache) > n_before:
            self.stats.engine_calls += 1
            self.stats.engine_seconds += time.perf_counter() - t0
        else:
            self.stats.lookups += 1
            self.stats.lookup_seconds += time.perf_counter() - t0
        return r

    def describe(self) -> dict[str, Any]:
        return {**self.inner.describe(), "value": self.value}


class EngineBook(_Book):
    """The :class:`RadiusBook` interface with one engine call per (noise, pA, pB, norm).

    UniCR's way of scoring a candidate noise (Hong et al. 2022, Algorithm 3 calls UniCR(x, mu)
    per candidate): ``method="mc"`` runs the Monte Carlo engine (Algorithms 1-2) for each
    request; ``value="estimate"`` with ``mode="estimate"`` is the published setting (a point
    estimate, not a certificate).  Memoised per exact (pA, pB, p) like
    :class:`EngineRadius`.
    """

    kind = "engine"

    def __init__(self, d: int, method: str = "mc", *, value: str = "lower",
                 **engine_kwargs: Any):
        from unicr.certify import validate_dimension

        if value not in ("lower", "estimate"):
            raise InvalidParameterError(f"value must be 'lower' or 'estimate', got {value!r}")
        self.d = validate_dimension(d)
        self.method = method
        self.value = value
        self.engine_kwargs = engine_kwargs
        self.stats = RadiusStats()
        self._providers: dict[str, _TimedEngineRadius] = {}

    def _make(self, noise: Any) -> _TimedEngineRadius:
        return _TimedEngineRadius(noise, self.d, self.method, self.stats, self.engine_kwargs,
                                  self.value)

    def describe(self) -> dict[str, Any]:
        return {"book": self.kind, "d": self.d, "method": self.method, "value": self.value}


def lookup_loss(provider: CurveRadius, pa: np.ndarray, norm: Any = 2) -> np.ndarray:
    """Relative loss of the provider against the exact engine's lower bound at each pA.

    ``1 - provider / direct`` (0 where the direct bound is 0); used by the tests and the
    benchmark to check the ``rel_loss`` promise.
    """
    from unicr.engines.exact import get_model

    p = parse_norm(norm)
    pa = np.asarray(pa, dtype=float)
    direct, _ = get_model(provider.noise, provider.d).lower(p, pa, None)
    mine = np.array([provider(float(x), None, p) or 0.0 for x in pa])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(direct > 0, 1.0 - mine / direct, 0.0)

