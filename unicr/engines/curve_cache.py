"""pA curves of the exact band, a disk cache, and sound lookups.

``curve(noise, norms, d, pa_grid)`` computes ``lower``/``upper`` on a grid of pA for
several norms at once.  For a fixed direction and shift, one composition answers the
binary test for *every* pA (``pass`` iff ``pA > p*(a)``, ``p* = T^{-1}(1/2)``), so each
direction is tabulated ``a -> p*_fail(a)``; the best direction per (pA, norm) is then
refined by one verified evaluation near its predicted failing scale.

Lookup for an arbitrary pA is sound because R* is non-decreasing in pA: ``lower`` is
read at the grid point below, ``upper`` at the grid point above (``bisect`` on in-memory
lists: a few microseconds).  Curves are cached on disk (``$UNICR_CACHE_DIR`` or
``~/.cache/unicr``), keyed by the SHA-256 of the noise fingerprint, norms, ``d``, grid,
``pB`` and :data:`~unicr.engines.exact.ENGINE_VERSION`.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import special

from unicr.certificate import Certificate, Witness, norm_label, parse_norm
from unicr.engines.exact import (
    ENGINE_VERSION,
    NUMERIC_FAILURES,
    ExactModel,
    _norm_factor,
    get_model,
    reconcile,
)
from unicr.errors import InvalidParameterError
from unicr.neyman_pearson.direction import k_equal
from unicr.search.grids import k_grid

__all__ = ["ExactCurve", "curve", "cache_dir"]

log = logging.getLogger(__name__)

_MEM: dict[str, ExactCurve] = {}
#: a direction is refined at a pA only if predicted to beat the current upper by this much
_GAIN = 2e-4


def cache_dir() -> Path:
    """``$UNICR_CACHE_DIR`` or ``~/.cache/unicr``."""
    env = os.environ.get("UNICR_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "unicr"


@dataclass
class ExactCurve:
    """Lower/upper bounds of R* on a pA grid for several norms (native units).

    ``lower[label]``, ``upper[label]``: arrays over ``pa``; ``witness_k[label]`` and
    ``witness_a[label]``: the k-equal direction and scale of the failing perturbation
    behind each upper value (``k = 1`` half-line sets included).
    """

    noise: dict
    d: int
    pb: float | None
    pa: np.ndarray
    norms: list[float]
    lower: dict[str, np.ndarray]
    upper: dict[str, np.ndarray]
    witness_k: dict[str, np.ndarray]
    witness_a: dict[str, np.ndarray]
    assumptions: dict[str, list[str]] = field(default_factory=dict)
    key: str = ""
    engine_version: str = ENGINE_VERSION

    def __post_init__(self) -> None:
        self._pa_list = [float(x) for x in self.pa]
        self._lo = {k: [float(x) for x in v] for k, v in self.lower.items()}
        self._up = {k: [float(x) for x in v] for k, v in self.upper.items()}

    def lookup(self, pa: float, norm: Any = 2) -> tuple[float, float] | None:
        """``(lower, upper)`` at any pA, soundly (None = abstain: binary pA <= 1/2).

        ``lower`` from the grid point at or below ``pa`` (0 below the grid), ``upper`` from
        the grid point at or above (``inf`` beyond the grid).
        """
        label = norm if isinstance(norm, str) and norm in self._lo else norm_label(parse_norm(norm))
        if self.pb is None and pa <= 0.5:
            return None
        if self.pb is not None and pa <= self.pb:
            return None
        lower_list = self._lo[label]
        i = bisect.bisect_right(self._pa_list, pa) - 1
        j = bisect.bisect_left(self._pa_list, pa)
        lower = lower_list[i] if i >= 0 else 0.0
        upper = self._up[label][j] if j < len(self._pa_list) else math.inf
        return lower, upper

    def certificate(self, pa: float, norm: Any = 2) -> Certificate:
        """The lookup as a :class:`~unicr.certificate.Certificate`."""
        p = parse_norm(norm)
        label = norm_label(p)
        bounds = self.lookup(pa, p)
        if bounds is None:
            return Certificate.abstained(method="exact-curve", norm=p, d=self.d, pa=float(pa),
                                         pb=self.pb, reason="no certificate (abstain)",
                                         noise=self.noise)
        lower, upper = bounds
        j = bisect.bisect_left(self._pa_list, pa)
        witness = None
        if j < len(self._pa_list) and math.isfinite(upper):
            k = int(self.witness_k[label][j])
            a = float(self.witness_a[label][j])
            direction = k_equal(k, -1.0 if a < 0 else 1.0).describe()
            witness = Witness(direction, abs(a), upper, {"grid_pa": self._pa_list[j]})
        notes = list(self.assumptions.get(label, [])) + [
            "read from a cached curve: lower at the grid point below pA, upper at the grid point "
            "above (R* is non-decreasing in pA)"]
        return Certificate(lower=lower, upper=upper, estimate=upper if math.isfinite(upper) else None,
                           confidence=1.0, method="exact-curve", norm=p, d=self.d, pa=float(pa),
                           pb=self.pb, assumptions=tuple(notes), witness=witness, noise=self.noise,
                           tolerance=1e-5)

    # -- persistence ----------------------------------------------------------
    def save(self, path: Path) -> None:
        arrays: dict[str, np.ndarray] = {"pa": self.pa}
        for lab in self.lower:
            arrays[f"lower_{lab}"] = self.lower[lab]
            arrays[f"upper_{lab}"] = self.upper[lab]
            arrays[f"wk_{lab}"] = self.witness_k[lab]
            arrays[f"wa_{lab}"] = self.witness_a[lab]
        meta = {"noise": self.noise, "d": self.d, "pb": self.pb, "norms": self.norms,
                "assumptions": self.assumptions, "key": self.key,
                "engine_version": self.engine_version}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, meta=np.array(json.dumps(meta)), **arrays)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> ExactCurve:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            labs = [norm_label(float(p)) for p in meta["norms"]]
            return cls(noise=meta["noise"], d=int(meta["d"]), pb=meta["pb"], pa=z["pa"].copy(),
                       norms=[float(p) for p in meta["norms"]],
                       lower={lab: z[f"lower_{lab}"].copy() for lab in labs},
                       upper={lab: z[f"upper_{lab}"].copy() for lab in labs},
                       witness_k={lab: z[f"wk_{lab}"].copy() for lab in labs},
                       witness_a={lab: z[f"wa_{lab}"].copy() for lab in labs},
                       assumptions=meta.get("assumptions", {}), key=meta.get("key", ""),
                       engine_version=meta.get("engine_version", ""))


def _key(noise: Any, norms: list[float], d: int, pa: np.ndarray, pb: float | None) -> str:
    blob = json.dumps({"noise": noise.fingerprint(), "norms": [repr(float(p)) for p in norms],
                       "d": int(d), "grid": [repr(float(x)) for x in pa],
                       "pb": None if pb is None else repr(float(pb)),
                       "engine": ENGINE_VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def curve(noise: Any, norms: Any, d: int, pa_grid: Sequence[float], pb: float | None = None, *,
          cache: bool = True, directory: str | os.PathLike | None = None) -> ExactCurve:
    """Lower and upper bounds of R* on a pA grid for one or several norms (cached on disk).

    Parameters
    ----------
    noise:
        a product noise (or anything :func:`unicr.noise` accepts).
    norms:
        one norm or a list (1, 2, "inf", any p > 0).
    d:
        input dimension.
    pa_grid:
        increasing pA values in (0, 1).
    pb:
        fixed pB for a two-sided curve (None: binary).
    cache:
        read/write the disk cache (and the in-memory one).
    directory:
        cache folder (default :func:`cache_dir`).
    """
    from unicr.checks import check_dimension
    from unicr.noises.base import Noise
    from unicr.noises.registry import noise as make_noise

    product_noise = noise if isinstance(noise, Noise) else make_noise(noise)
    if not getattr(product_noise, "is_product", False):
        from unicr.errors import NotProductNoiseError

        raise NotProductNoiseError(
            f"exact curves need a product (i.i.d.) noise, and {product_noise.name!r} is not one; "
            "use the "
            "Monte Carlo engine (unicr.radius(..., method='mc'))")
    dim = check_dimension(d)
    if isinstance(norms, (str, int, float)):
        norms = [norms]
    norm_values = [parse_norm(p) for p in norms]
    pa = np.asarray(pa_grid, dtype=float)
    if pa.ndim != 1 or len(pa) == 0:
        raise InvalidParameterError("pa_grid must be a non-empty 1-D sequence of probabilities")
    if not (np.all(np.isfinite(pa)) and np.all((pa > 0) & (pa < 1))):
        raise InvalidParameterError(f"pa_grid values must lie strictly between 0 and 1, got {pa}")
    if np.any(np.diff(pa) <= 0):
        raise InvalidParameterError("pa_grid must be strictly increasing")
    if pb is not None:
        pb = float(pb)
        if not (0 < pb < 1):
            raise InvalidParameterError(f"pB must lie strictly between 0 and 1, got {pb}")
    key = _key(product_noise, norm_values, dim, pa, pb)
    if cache:
        cached = _MEM.get(key)
        if cached is not None:
            return cached
        path = Path(directory) if directory is not None else cache_dir()
        cache_file = path / f"exact-{key[:32]}.npz"
        if cache_file.is_file():
            try:
                computed = ExactCurve.load(cache_file)
                if computed.key == key:
                    _MEM[key] = computed
                    return computed
            except Exception as exc:  # noqa: BLE001 - a corrupt cache file is recomputed
                log.warning("ignoring unreadable curve cache %s: %s", cache_file, exc)
    computed = _compute(product_noise, norm_values, dim, pa, pb, key)
    if cache:
        _MEM[key] = computed
        try:
            computed.save(cache_file)
        except OSError as exc:
            log.warning("could not write curve cache %s: %s", cache_file, exc)
    return computed


def _valid_mask(pa: np.ndarray, pb: float | None) -> np.ndarray:
    return pa > 0.5 if pb is None else pa > pb


def _compute(product_noise: Any, norm_values: list[float], d: int, pa: np.ndarray,
             pb: float | None, key: str) -> ExactCurve:
    """Lower bounds, upper bounds and witnesses of every norm on the valid part of the grid."""
    model = get_model(product_noise, d)
    valid = _valid_mask(pa, pb)
    pb_values = None if pb is None else np.full(int(valid.sum()), pb)
    lower, upper, witness_k, witness_a, notes = {}, {}, {}, {}, {}
    uppers = _upper_all(model, norm_values, pa[valid], pb)
    for p in norm_values:
        label = norm_label(p)
        low = np.zeros(len(pa))
        high = np.zeros(len(pa))
        ks = np.zeros(len(pa), dtype=np.int64)
        scales = np.zeros(len(pa))
        if valid.any():
            lower_values, lower_notes = model.lower(p, pa[valid], pb_values)
            low[valid] = lower_values
            upper_values, upper_ks, upper_scales = uppers[p]
            high[valid] = upper_values
            ks[valid] = upper_ks
            scales[valid] = upper_scales
            notes[label] = lower_notes
        # the band must be consistent: a crossing within the numerical tolerance lowers the
        # lower bound to the upper one (conservative); a larger one is an engine bug
        for i in np.nonzero(valid & (low > high))[0]:
            low[i], crossed = reconcile(
                float(low[i]), float(high[i]), 1e-5,
                f"exact curve of {product_noise!r} at pA={pa[i]} (norm {label}, d={d})")
            if crossed and crossed not in notes[label]:
                notes[label] = list(notes[label]) + [crossed]
        lower[label], upper[label], witness_k[label], witness_a[label] = low, high, ks, scales
    return ExactCurve(noise=product_noise.definition(), d=d, pb=pb, pa=pa, norms=norm_values,
                      lower=lower, upper=upper, witness_k=witness_k, witness_a=witness_a,
                      assumptions=notes, key=key)


def _pf(model: ExactModel, k: int, a: float) -> float:
    """Verified lower bound on p*(a) of the k-equal direction (binary test).

    Where the lattice cannot represent the direction (:class:`~unicr.neyman_pearson.lattice.LatticeError`
    and other overflows) nothing is verified and the trivial bound 0 is returned: the point then
    proves no failure, and the direction is not used at that scale (sound for an upper bound).
    """
    try:
        return float(model.evaluate([(k, a)], pessimistic=False).p_star_fail(0.5)[0])
    except NUMERIC_FAILURES as e:
        log.info("exact curve: direction k=%d at scale %.3g left out: %s", k, a, e)
        return 0.0


#: per norm: (upper values, k of the witness, signed native scale of the witness) over pA
UpperTable = dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]]


def _upper_all(model: ExactModel, ps: list[float], pa: np.ndarray,
               pb: float | None) -> UpperTable:
    """Upper bounds for every norm at every pA: closed forms or direction tables."""
    # asymmetric noise: both shift signs, through the per-pA search (the tables below are
    # built for positive shifts only)
    if (model.is_gaussian or model.uniform_width is not None or pb is not None or len(pa) == 0
            or not model.std.symmetric):
        out: UpperTable = {}
        for p in ps:
            results = [model.upper(p, float(x), pb) for x in pa]
            out[p] = (np.array([r.value for r in results]), np.array([r.k for r in results]),
                      np.array([r.a * model.scale for r in results]))
        return out
    scale = model.scale
    a_half = np.array([model.half_line(float(x), None).a for x in pa])
    half_line_best = {p: (a_half * scale, np.ones(len(pa), dtype=np.int64), a_half * scale)
                      for p in ps}
    ks: set[int] = set()
    for p in ps:
        ks.update([model.d] if math.isinf(p) else k_grid(model.d, "geometric"))
    tables = _DirectionTables(model)
    fisher = model.std.fisher
    gaussian_quantile = special.ndtri(pa)
    for k in sorted(ks):
        predicted = a_half / math.sqrt(k)
        if math.isfinite(fisher):
            predicted = np.minimum(predicted, gaussian_quantile / math.sqrt(k * fisher))
        tables.build(k, predicted, pa)
    for j in range(len(pa)):
        tables.refine(_promising(tables, half_line_best, ps, float(pa[j]), j), float(pa[j]))
    return {p: _smallest_failing(tables, half_line_best[p], p, pa) for p in ps}


class _DirectionTables:
    """Per k-equal direction ``k``: verified points ``(a, p*_fail(a))`` and predictions from them.

    Every point is a verified lower bound on ``p*`` at scale ``a`` (binary test,
    :func:`_pf`): ``pA <= p*_fail(a)`` fails at ``a``.  Predictions of the failing scale
    only choose where to evaluate; soundness comes from the verified points alone.
    """

    def __init__(self, model: ExactModel) -> None:
        self.model = model
        self.points: dict[int, list[tuple[float, float]]] = {}
        self._sorted: dict[int, tuple[int, np.ndarray, np.ndarray]] = {}

    def add(self, k: int, scale: float) -> float:
        """Evaluate direction ``k`` at ``scale``, keep the point, return ``p*_fail``."""
        p_fail = _pf(self.model, k, scale)
        self.points[k].append((scale, p_fail))
        return p_fail

    def build(self, k: int, predicted: np.ndarray, pa: np.ndarray) -> None:
        """A geometric grid of 10 scales around ``predicted``, extended to cover ``pa``."""
        grid = np.geomspace(max(predicted.min() / 1.5, 1e-12), predicted.max() * 1.5, 10)
        table = [(float(a), _pf(self.model, k, float(a))) for a in grid]
        # extend until the table covers the pA range (or clearly cannot)
        for _ in range(8):
            if table[-1][1] >= pa[-1]:
                break
            scale = table[-1][0] * 1.6
            table.append((scale, _pf(self.model, k, float(scale))))
        for _ in range(8):
            if table[0][1] <= pa[0]:
                break
            scale = table[0][0] / 1.6
            table.insert(0, (scale, _pf(self.model, k, float(scale))))
        self.points[k] = table

    def arrays(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(log a, running max of Phi^-1(p*))`` sorted by ``a`` (cached until a point is added)."""
        table = self.points[k]
        hit = self._sorted.get(k)
        if hit is not None and hit[0] == len(table):
            return hit[1], hit[2]
        scales = np.array([t[0] for t in table])
        p_fail = np.array([t[1] for t in table])
        order = np.argsort(scales)
        log_scales = np.log(scales[order])
        quantiles = np.maximum.accumulate(
            special.ndtri(np.clip(p_fail[order], 1e-300, 1 - 1e-16)))
        self._sorted[k] = (len(table), log_scales, quantiles)
        return log_scales, quantiles

    def predict(self, k: int, target: float) -> float | None:
        """Failing scale of direction k at pA = target, interpolated in (Phi^-1(p*), log a)."""
        x, y = self.arrays(k)
        y_target = float(special.ndtri(target))
        if not (y[0] <= y_target <= y[-1]):
            return None
        i = int(np.searchsorted(y, y_target))
        i = min(max(i, 1), len(y) - 1)
        if len(y) >= 3:
            # three-point (Lagrange) quadratic through the neighbours, if well conditioned
            j0 = min(max(i - 1, 0), len(y) - 3)
            y0, y1, y2 = y[j0:j0 + 3]
            x0, x1, x2 = x[j0:j0 + 3]
            if y0 < y1 < y2:
                x_estimate = (x0 * (y_target - y1) * (y_target - y2) / ((y0 - y1) * (y0 - y2))
                              + x1 * (y_target - y0) * (y_target - y2) / ((y1 - y0) * (y1 - y2))
                              + x2 * (y_target - y0) * (y_target - y1) / ((y2 - y0) * (y2 - y1)))
                if x0 - 0.1 <= x_estimate <= x2 + 0.1:
                    return math.exp(x_estimate)
        return math.exp(float(np.interp(y_target, y, x)))

    def refine(self, chosen: set[int], target: float) -> None:
        """Verified points just above the predicted failing scale of each chosen direction.

        Each new point improves the next prediction; a direction stops once a point
        verifies failure at ``target`` (or no prediction is possible).
        """
        for k in sorted(chosen):
            for bump in (5e-5, 5e-5, 4e-4, 3e-3, 2e-2):
                a_estimate = self.predict(k, target)  # re-predicted with every new point
                if a_estimate is None:
                    break
                if self.add(k, a_estimate * (1 + bump)) >= target:
                    break


def _promising(tables: _DirectionTables, best: UpperTable, ps: list[float], target: float,
               j: int) -> set[int]:
    """Directions predicted to beat the current upper bound at ``pa[j]`` by ``_GAIN`` (per norm)."""
    model = tables.model
    chosen: set[int] = set()
    for p in ps:
        best_value, best_k = best[p][0][j], None
        for k in tables.points:
            if math.isinf(p) and k != model.d:
                continue
            a_estimate = tables.predict(k, target)
            if a_estimate is None:
                continue
            value = a_estimate * float(_norm_factor(k, p)) * model.scale
            if value < best_value * (1 - _GAIN):
                best_value, best_k = value, k
        if best_k is not None:
            chosen.add(best_k)
    return chosen


def _smallest_failing(tables: _DirectionTables, start: tuple[np.ndarray, np.ndarray, np.ndarray],
                      p: float, pa: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smallest verified failing l_p norm per pA over ``start`` (half-line) and every table."""
    model = tables.model
    values, ks, scales = (v.copy() for v in start)
    for k, table in tables.points.items():
        if math.isinf(p) and k != model.d:
            continue
        norm_factor = float(_norm_factor(k, p))
        a_table = np.array([t[0] for t in table])
        p_table = np.array([t[1] for t in table])
        order = np.argsort(a_table)
        a_table, p_table = a_table[order], p_table[order]
        # for each pA: smallest a with p*_fail(a) >= pA
        for j in range(len(pa)):
            failing = np.nonzero(p_table >= pa[j])[0]
            if len(failing):
                a = a_table[failing[0]]
                value = a * norm_factor * model.scale
                if value < values[j]:
                    values[j], ks[j], scales[j] = value, k, a * model.scale
    return values, ks, scales
