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
        lab = norm if isinstance(norm, str) and norm in self._lo else norm_label(parse_norm(norm))
        if self.pb is None and pa <= 0.5:
            return None
        if self.pb is not None and pa <= self.pb:
            return None
        lo_list = self._lo[lab]
        i = bisect.bisect_right(self._pa_list, pa) - 1
        j = bisect.bisect_left(self._pa_list, pa)
        lo = lo_list[i] if i >= 0 else 0.0
        up = self._up[lab][j] if j < len(self._pa_list) else math.inf
        return lo, up

    def certificate(self, pa: float, norm: Any = 2) -> Certificate:
        """The lookup as a :class:`~unicr.certificate.Certificate`."""
        p = parse_norm(norm)
        lab = norm_label(p)
        r = self.lookup(pa, p)
        if r is None:
            return Certificate.abstained(method="exact-curve", norm=p, d=self.d, pa=float(pa),
                                         pb=self.pb, reason="no certificate (abstain)",
                                         noise=self.noise)
        lo, up = r
        j = bisect.bisect_left(self._pa_list, pa)
        wit = None
        if j < len(self._pa_list) and math.isfinite(up):
            k = int(self.witness_k[lab][j])
            a = float(self.witness_a[lab][j])
            wit = Witness(_kequal(k, a), abs(a), up, {"grid_pa": self._pa_list[j]})
        notes = list(self.assumptions.get(lab, [])) + [
            "read from a cached curve: lower at the grid point below pA, upper at the grid point "
            "above (R* is non-decreasing in pA)"]
        return Certificate(lower=lo, upper=up, estimate=up if math.isfinite(up) else None,
                           confidence=1.0, method="exact-curve", norm=p, d=self.d, pa=float(pa),
                           pb=self.pb, assumptions=tuple(notes), witness=wit, noise=self.noise,
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

    nz = noise if isinstance(noise, Noise) else make_noise(noise)
    if not getattr(nz, "is_product", False):
        from unicr.errors import NotProductNoiseError

        raise NotProductNoiseError(
            f"exact curves need a product (i.i.d.) noise, and {nz.name!r} is not one; use the "
            "Monte Carlo engine (unicr.radius(..., method='mc'))")
    dim = check_dimension(d)
    if isinstance(norms, (str, int, float)):
        norms = [norms]
    ps = [parse_norm(p) for p in norms]
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
    key = _key(nz, ps, dim, pa, pb)
    if cache:
        hit = _MEM.get(key)
        if hit is not None:
            return hit
        path = Path(directory) if directory is not None else cache_dir()
        f = path / f"exact-{key[:32]}.npz"
        if f.is_file():
            try:
                c = ExactCurve.load(f)
                if c.key == key:
                    _MEM[key] = c
                    return c
            except Exception as e:  # noqa: BLE001 - a corrupt cache file is recomputed
                log.warning("ignoring unreadable curve cache %s: %s", f, e)
    c = _compute(nz, ps, dim, pa, pb, key)
    if cache:
        _MEM[key] = c
        try:
            c.save(f)
        except OSError as e:
            log.warning("could not write curve cache %s: %s", f, e)
    return c


def _valid_mask(pa: np.ndarray, pb: float | None) -> np.ndarray:
    return pa > 0.5 if pb is None else pa > pb


def _compute(nz: Any, ps: list[float], d: int, pa: np.ndarray, pb: float | None,
             key: str) -> ExactCurve:
    model = get_model(nz, d)
    ok = _valid_mask(pa, pb)
    pbs = None if pb is None else np.full(int(ok.sum()), pb)
    lower, upper, wk, wa, notes = {}, {}, {}, {}, {}
    ups = _upper_all(model, ps, pa[ok], pb)
    for p in ps:
        lab = norm_label(p)
        lo = np.zeros(len(pa))
        up = np.zeros(len(pa))
        kk = np.zeros(len(pa), dtype=np.int64)
        aa = np.zeros(len(pa))
        if ok.any():
            lv, nts = model.lower(p, pa[ok], pbs)
            lo[ok] = lv
            u, k_, a_ = ups[p]
            up[ok] = u
            kk[ok] = k_
            aa[ok] = a_
            notes[lab] = nts
        # the band must be consistent: a crossing within the numerical tolerance lowers the
        # lower bound to the upper one (conservative); a larger one is an engine bug
        for i in np.nonzero(ok & (lo > up))[0]:
            lo[i], crossed = reconcile(float(lo[i]), float(up[i]), 1e-5,
                                       f"exact curve of {nz!r} at pA={pa[i]} (norm {lab}, d={d})")
            if crossed and crossed not in notes[lab]:
                notes[lab] = list(notes[lab]) + [crossed]
        lower[lab], upper[lab], wk[lab], wa[lab] = lo, up, kk, aa
    return ExactCurve(noise=nz.definition(), d=d, pb=pb, pa=pa, norms=ps, lower=lower,
                      upper=upper, witness_k=wk, witness_a=wa, assumptions=notes, key=key)


def _kequal(k: int, a: float) -> dict:
    """Witness direction of a k-equal shift of signed scale ``a``."""
    out: dict = {"kind": "k-equal", "k": int(k)}
    if a < 0:
        out["sign"] = -1
    return out


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


def _upper_all(model: ExactModel, ps: list[float], pa: np.ndarray,
               pb: float | None) -> dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Upper bounds for every norm at every pA: closed forms or direction tables."""
    out: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    n = len(pa)
    # asymmetric noise: both shift signs, through the per-pA search (the tables below are
    # built for positive shifts only)
    if (model.is_gaussian or model.uniform_width is not None or pb is not None or n == 0
            or not model.std.symmetric):
        for p in ps:
            res = [model.upper(p, float(x), pb) for x in pa]
            out[p] = (np.array([r.value for r in res]), np.array([r.k for r in res]),
                      np.array([r.a * model.scale for r in res]))
        return out
    scale = model.scale
    half = [model.half_line(float(x), None) for x in pa]
    a_half = np.array([h.a for h in half])
    best = {p: (a_half * scale, np.ones(n, dtype=np.int64), a_half * scale) for p in ps}
    ks: set[int] = set()
    for p in ps:
        ks.update([model.d] if math.isinf(p) else k_grid(model.d, "geometric"))
    fi = model.std.fisher
    g = special.ndtri(pa)
    tables: dict[int, list[tuple[float, float]]] = {}
    for k in sorted(ks):
        pred = a_half / math.sqrt(k)
        if math.isfinite(fi):
            pred = np.minimum(pred, g / math.sqrt(k * fi))
        grid = np.geomspace(max(pred.min() / 1.5, 1e-12), pred.max() * 1.5, 10)
        tab = []

        def pf(a: float, k: int = k) -> float:
            return _pf(model, k, float(a))

        for a in grid:
            tab.append((float(a), pf(a)))
        # extend until the table covers the pA range (or clearly cannot)
        for _ in range(8):
            if tab[-1][1] >= pa[-1]:
                break
            a = tab[-1][0] * 1.6
            tab.append((a, pf(a)))
        for _ in range(8):
            if tab[0][1] <= pa[0]:
                break
            a = tab[0][0] / 1.6
            tab.insert(0, (a, pf(a)))
        tables[k] = tab
    # predict the failing scale of each direction at each pA and refine the best ones,
    # pA by pA, inserting every verified point into the table (better predictions next)
    sorted_cache: dict[int, tuple[int, np.ndarray, np.ndarray]] = {}

    def arrays(k: int) -> tuple[np.ndarray, np.ndarray]:
        tab = tables[k]
        hit = sorted_cache.get(k)
        if hit is not None and hit[0] == len(tab):
            return hit[1], hit[2]
        a_tab = np.array([t[0] for t in tab])
        p_tab = np.array([t[1] for t in tab])
        o = np.argsort(a_tab)
        x = np.log(a_tab[o])
        y = np.maximum.accumulate(special.ndtri(np.clip(p_tab[o], 1e-300, 1 - 1e-16)))
        sorted_cache[k] = (len(tab), x, y)
        return x, y

    def predict(k: int, target: float) -> float | None:
        """Failing scale of direction k at pA = target, interpolated in (Phi^-1(p*), log a)."""
        x, y = arrays(k)
        yt = float(special.ndtri(target))
        if not (y[0] <= yt <= y[-1]):
            return None
        i = int(np.searchsorted(y, yt))
        i = min(max(i, 1), len(y) - 1)
        if len(y) >= 3:
            # three-point (Lagrange) quadratic through the neighbours, if well conditioned
            j0 = min(max(i - 1, 0), len(y) - 3)
            y0, y1, y2 = y[j0:j0 + 3]
            x0, x1, x2 = x[j0:j0 + 3]
            if y0 < y1 < y2:
                xe = (x0 * (yt - y1) * (yt - y2) / ((y0 - y1) * (y0 - y2))
                      + x1 * (yt - y0) * (yt - y2) / ((y1 - y0) * (y1 - y2))
                      + x2 * (yt - y0) * (yt - y1) / ((y2 - y0) * (y2 - y1)))
                if x0 - 0.1 <= xe <= x2 + 0.1:
                    return math.exp(xe)
        return math.exp(float(np.interp(yt, y, x)))

    for j in range(n):
        chosen: set[int] = set()
        for p in ps:
            best_v, best_k = best[p][0][j], None
            for k in tables:
                if math.isinf(p) and k != model.d:
                    continue
                a_e = predict(k, float(pa[j]))
                if a_e is None:
                    continue
                v = a_e * float(_norm_factor(k, p)) * scale
                if v < best_v * (1 - _GAIN):
                    best_v, best_k = v, k
            if best_k is not None:
                chosen.add(best_k)
        target = float(pa[j])
        for k in sorted(chosen):
            for bump in (5e-5, 5e-5, 4e-4, 3e-3, 2e-2):
                a_e = predict(k, target)  # re-predicted with every new point
                if a_e is None:
                    break
                a = a_e * (1 + bump)
                pf = _pf(model, k, a)
                tables[k].append((a, pf))
                if pf >= target:
                    break
    # final: smallest verified failing norm per (norm, pA)
    for p in ps:
        val, kk, aa = (v.copy() for v in best[p])
        for k, tab in tables.items():
            if math.isinf(p) and k != model.d:
                continue
            nf = float(_norm_factor(k, p))
            a_tab = np.array([t[0] for t in tab])
            p_tab = np.array([t[1] for t in tab])
            order = np.argsort(a_tab)
            a_tab, p_tab = a_tab[order], p_tab[order]
            # for each pA: smallest a with p*_fail(a) >= pA
            for j in range(n):
                okk = np.nonzero(p_tab >= pa[j])[0]
                if len(okk):
                    a = a_tab[okk[0]]
                    v = a * nf * scale
                    if v < val[j]:
                        val[j], kk[j], aa[j] = v, k, a * scale
        out[p] = (val, kk, aa)
    return out
