"""pA-R curves for one or several noises and norms, with any engine and closed-form overlays.

This is the method-agnostic front behind ``unicr curve`` and the paper figures::

    import unicr
    from unicr.reporting.curves import compute_curves, pa_grid

    curves = compute_curves(["gaussian", "laplace"], norms=[1, 2, "inf"], d=3072,
                            pa=pa_grid(0.5, 0.999, 40), overlays="auto")
    curves[0].lower, curves[0].upper            # proven bounds on R*(pA) per grid point

* ``method="exact"`` -- deterministic numerics for product noise (:func:`unicr.engines.curve`,
  disk-cached): proven ``lower`` and ``upper`` at every pA of the grid;
* ``method="mc"`` -- the UniCR Monte Carlo engine (Hong et al. 2022, Algorithms 1-2), one
  :func:`unicr.radius` call per (norm, pA): sound ``lower``/``upper`` at confidence
  ``1 - alpha_np`` per point and UniCR's point ``estimate``;
* ``method="radial"`` -- the radial engine (l2-radial joint noise: UniformBall, Exp2, Pow2),
  proven ``lower`` and ``upper`` at confidence 1 (:func:`unicr.engines.radius_curve_radial_l2`,
  one shared model for the whole grid; any l_p by rotation invariance);
* ``method="auto"`` -- exact for product noise, radial for the joint noises the radial engine
  accepts, Monte Carlo for other joint densities (:func:`unicr.certify.choose_method`); with
  ``mc_options`` given, every joint noise runs the Monte Carlo engine (the options ask for it).

Closed-form overlays are the published certificates of :mod:`unicr.closed_form` evaluated on
the same noise (with its scale converted explicitly by the registry's adapter), each kept
with its status (tight / lower / unsound-as-printed ...).
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from unicr.certificate import norm_label, parse_norm
from unicr.errors import InvalidParameterError, UnicrError
from unicr.reporting.plot import OVERLAY_PREFIX, CurveData

__all__ = ["NoiseItem", "parse_noise_item", "resolve_noises", "catalogue_names", "pa_grid",
           "compute_curves", "closed_form_overlay", "auto_overlays", "noise_label",
           "METHODS", "SPACINGS", "AUTO_OVERLAY_STATUSES", "curves_from_rows", "read_curves_csv",
           "curves_to_records", "curves_to_dataframe"]

log = logging.getLogger(__name__)

#: engine choices of :func:`compute_curves`
METHODS = ("auto", "exact", "mc", "radial")
#: formula statuses ``overlays="auto"`` may pick (certificates only; never unsound ones)
AUTO_OVERLAY_STATUSES = ("tight", "lower")


# ---------------------------------------------------------------------------
# noises
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NoiseItem:
    """A noise as named on the command line: ``NAME`` or ``NAME:key=value,key=value``.

    ``params`` are shape parameters; the keys ``sigma`` and ``scale`` set the noise's
    per-coordinate RMS or native scale for this item only.
    """

    name: str
    params: tuple[tuple[str, float], ...] = ()

    @property
    def shape(self) -> dict[str, float]:
        return {k: v for k, v in self.params if k not in ("sigma", "scale")}

    def get(self, key: str) -> float | None:
        return dict(self.params).get(key)


def parse_noise_item(text: str) -> NoiseItem:
    """``"gennorm:beta=1.5"`` -> ``NoiseItem("gennorm", (("beta", 1.5),))``; plain names pass.

    Errors name the item and the bad part (:class:`~unicr.errors.InvalidParameterError`).
    """
    text = str(text).strip()
    if not text:
        raise InvalidParameterError("empty noise name")
    name, sep, rest = text.partition(":")
    looks_like_path = text.endswith(".toml") or any(ch in rest for ch in "/\\")
    if not sep or looks_like_path or Path(text).is_file():
        return NoiseItem(text)
    params: list[tuple[str, float]] = []
    for part in rest.split(","):
        key, eq, val = part.partition("=")
        key = key.strip()
        if not eq or not key.isidentifier():
            raise InvalidParameterError(
                f"noise {text!r}: expected NAME:key=value[,key=value...], got the part {part!r}")
        try:
            num = float(val)
        except ValueError:
            raise InvalidParameterError(
                f"noise {text!r}: parameter {key} = {val!r} is not a number") from None
        params.append((key, num))
    keys = [k for k, _ in params]
    if len(set(keys)) != len(keys):
        raise InvalidParameterError(f"noise {text!r}: a parameter is given twice")
    if "sigma" in keys and "scale" in keys:
        raise InvalidParameterError(f"noise {text!r}: give sigma or scale, not both")
    return NoiseItem(name.strip(), tuple(params))


def catalogue_names(*, joint: bool = False, finite_variance: bool = True) -> list[str]:
    """Catalogue noises (``pdfs/*.toml``) at their default parameters, by name.

    Product noises only unless ``joint``; with ``finite_variance`` only those that can be
    matched to a per-coordinate RMS sigma (Cauchy, Pareto with a <= 2 ... are left out).
    """
    from unicr.noises.registry import catalogue, noise

    out = []
    for spec in catalogue():
        if spec.kind != "product" and not joint:
            continue
        if finite_variance:
            try:
                nz = noise(spec.name, d=8)
            except UnicrError:
                continue
            if nz.sigma is None or not math.isfinite(nz.sigma):
                continue
        out.append(spec.name)
    return out


def noise_label(nz: Any, item: NoiseItem | None = None, *, show_sigma: bool = False) -> str:
    """``"gennorm (beta=1.5)"``; with ``show_sigma`` (or an item that sets its own sigma or
    scale) also ``sigma=...``; noises without finite variance always show their native scale."""
    parts = [f"{k}={v:.4g}" for k, v in nz.params.items()]
    sig = nz.sigma
    finite = sig is not None and math.isfinite(sig)
    if not finite:  # no variance: the native scale is the only way to say how wide it is
        parts.append(f"{nz.scale_name}={nz.scale:.4g}")
    elif show_sigma or (item is not None and (item.get("sigma") is not None
                                              or item.get("scale") is not None)):
        parts.append(f"sigma={sig:.4g}")
    return f"{nz.name} ({', '.join(parts)})" if parts else nz.name


def resolve_noises(items: Iterable[Any], *, d: int, sigma: float | None = None,
                   scale: float | None = None, params: dict[str, float] | None = None,
                   method: str = "auto") -> list[tuple[str, Any]]:
    """Build ``(label, noise)`` pairs from names, ``NAME:k=v`` items, paths or built noises.

    A ``(label, noise)`` pair is kept as given.  ``"all"`` expands to :func:`catalogue_names`
    (product noises with finite variance; with ``method="mc"`` also the joint ones).
    ``sigma``/``scale``/``params`` apply to every item that does not set its own; noises
    without a finite variance are built at native scale 1 when neither is given.  Labels
    are made unique.
    """
    from unicr.noises.base import Noise
    from unicr.noises.registry import noise as make_noise

    expanded: list[Any] = []
    for it in items:
        if isinstance(it, str) and it.strip().lower() == "all":
            expanded += catalogue_names(joint=(method == "mc"))
        else:
            expanded.append(it)
    if not expanded:
        raise InvalidParameterError("no noise given")
    out: list[tuple[str, Any]] = []
    for it in expanded:
        if isinstance(it, tuple) and len(it) == 2 and isinstance(it[1], Noise):
            out.append((str(it[0]), it[1]))
            continue
        if isinstance(it, Noise):
            out.append((noise_label(it), it))
            continue
        if not isinstance(it, NoiseItem):
            if not isinstance(it, str):  # scipy distributions, callables
                nz = make_noise(it, sigma=sigma, scale=scale)
                out.append((noise_label(nz), nz))
                continue
            it = parse_noise_item(it)
        kw = {**(params or {}), **it.shape}
        s_it, c_it = it.get("sigma"), it.get("scale")
        if s_it is None and c_it is None:
            s_it, c_it = sigma, scale
        try:
            nz = make_noise(it.name, sigma=s_it, scale=c_it, d=d, **kw)
        except UnicrError as e:
            if s_it is None and c_it is None and "infinite variance" in str(e).lower():
                nz = make_noise(it.name, scale=1.0, d=d, **kw)
            else:
                raise
        out.append((noise_label(nz, it), nz))
    seen: dict[str, int] = {}
    unique = []
    for lab, nz in out:
        seen[lab] = seen.get(lab, 0) + 1
        unique.append((lab if seen[lab] == 1 else f"{lab} #{seen[lab]}", nz))
    return unique


# ---------------------------------------------------------------------------
# grid
# ---------------------------------------------------------------------------


#: pA spacings of :func:`pa_grid`
SPACINGS = ("probit", "linear")


def pa_grid(pa_min: float = 0.5, pa_max: float = 0.999, points: int = 50,
            pb: float | None = None, spacing: str = "probit") -> np.ndarray:
    """``points`` values of pA in ``(pa_min, pa_max]`` (``pa_min`` excluded, ``pa_max`` included).

    ``spacing="probit"`` spaces them evenly in Phi^-1(pA), the scale on which the Gaussian
    radius sigma Phi^-1(pA) (Cohen et al. 2019, Thm. 1) is linear: the grid is denser near
    pA = 1, where every radius grows fastest, and curves drawn through it look smooth on a
    linear pA axis.  ``"linear"`` spaces them evenly in pA.

    ``pa_min`` itself is left out because at the smallest pA with a certificate the radius is
    0: binary pA = 1/2 (or pA = pB) means ABSTAIN, which is not "radius 0".  Errors name the
    bad argument: ``pa_min < 1/2`` (binary) or ``< pB`` would produce abstentions.
    """
    from scipy import special

    try:
        lo, hi, n = float(pa_min), float(pa_max), int(points)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"pa_min, pa_max and points must be numbers, got {pa_min!r}, {pa_max!r}, {points!r}"
        ) from None
    if spacing not in SPACINGS:
        raise InvalidParameterError(f"spacing must be one of {', '.join(SPACINGS)}, got {spacing!r}")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise InvalidParameterError(f"pa_min and pa_max must be finite, got {lo!r}, {hi!r}")
    floor = 0.5 if pb is None else float(pb)
    side = "binary case: pA <= 1/2 has no certificate" if pb is None else \
        f"two-sided: pA <= pB = {floor:g} has no certificate"
    if lo < floor:
        raise InvalidParameterError(f"pa_min must be >= {floor:g} ({side}), got {lo:g}")
    if not hi < 1.0:
        raise InvalidParameterError(f"pa_max must be < 1, got {hi:g}")
    if not hi > lo:
        raise InvalidParameterError(f"pa_max ({hi:g}) must be larger than pa_min ({lo:g})")
    if pb is not None and hi + floor > 1.0 + 1e-12:
        raise InvalidParameterError(f"pa_max + pB must be <= 1, got {hi:g} + {floor:g}")
    if n < 2:
        raise InvalidParameterError(f"points must be >= 2, got {points!r}")
    t = np.arange(1, n + 1, dtype=float) / n
    if spacing == "linear":
        grid = lo + (hi - lo) * t
    else:
        z0, z1 = special.ndtri(lo), special.ndtri(hi)
        grid = special.ndtr(z0 + (z1 - z0) * t)
    grid[-1] = hi
    if np.any(np.diff(grid) <= 0) or grid[0] <= lo:
        raise InvalidParameterError(
            f"{n} points do not fit between pa_min = {lo:g} and pa_max = {hi:g}")
    return grid


# ---------------------------------------------------------------------------
# closed forms
# ---------------------------------------------------------------------------


def closed_form_overlay(formula: Any, nz: Any, p: float, d: int, pa: np.ndarray,
                        pb: float | None = None, **options: Any) -> tuple[np.ndarray, str] | None:
    """A published formula on a pA grid: ``(values, status)``, or None when it does not apply.

    ``values`` are the formula's radii (``nan`` where it abstains); ``status`` is the one the
    registry reports (e.g. "tight", "lower", "unsound-as-printed" -- only "tight" and
    "lower" are certificates).  The formula is evaluated on the unicr noise itself, so its
    scale convention is converted by :mod:`unicr.closed_form.registry` (docs/certificate-notes.md#c0-4).
    """
    from unicr.closed_form import FormulaNoiseMismatchError, get_formula

    f = get_formula(formula) if isinstance(formula, str) else formula
    if f.norms and not any(p == q for q in f.norms):
        return None
    if not f.norms:
        if f.default_norm is None:
            return None
        try:
            if f.default_norm(nz) != p:
                return None
        except UnicrError:
            return None
    vals = np.full(len(pa), np.nan)
    status = ""
    for i, x in enumerate(pa):
        try:
            r = f.evaluate(nz, pa=float(x), pb=pb, norm=p, d=d, **options)
        except FormulaNoiseMismatchError:
            return None
        if not r.abstain:
            vals[i] = r.value
            status = status or r.status
    return vals, status or f.status


def auto_overlays(nz: Any, p: float, d: int, pa: np.ndarray,
                  pb: float | None = None) -> dict[str, tuple[np.ndarray, str]]:
    """The best-known published certificate for (noise, norm): the first tight formula of the
    registry that applies, else the first proven lower bound (never an unsound one)."""
    from unicr.closed_form import FORMULAS

    best: tuple[str, tuple[np.ndarray, str]] | None = None
    for name, f in FORMULAS.items():
        if "*" in f.families or nz.name not in f.families or not f.norms:
            continue
        if not any(p == q for q in f.norms):
            continue
        if f.status not in AUTO_OVERLAY_STATUSES:
            continue
        try:
            res = closed_form_overlay(f, nz, p, d, pa, pb)
        except UnicrError as e:
            log.info("closed form %s skipped for %s: %s", name, nz.name, e)
            continue
        if res is None or res[1] not in AUTO_OVERLAY_STATUSES:
            continue
        if not np.any(np.nan_to_num(res[0]) > 0):  # vacuous (e.g. a sign error reported as 0)
            continue
        if res[1] == "tight":
            return {name: res}
        if best is None:
            best = (name, res)
    return {} if best is None else {best[0]: best[1]}


# ---------------------------------------------------------------------------
# curves
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def _progress(total: int, desc: str, enabled: bool) -> Iterator[Any]:
    """Progress on stderr (:func:`unicr.reporting.progress.progress`) that ticks during long steps.

    The steps of a curve are long (one exact curve of a noise in every norm is a single
    step of several seconds), and tqdm's ``delay`` only shows a bar on an ``update`` after
    the delay: a one-step run never showed one.  A daemon thread redraws the bar every
    half second from the first second on, so the elapsed time moves during a long step.
    """
    from unicr.reporting.progress import progress

    # a tqdm bar on a terminal; rate-limited plain lines when stderr is a file or a pipe
    bar = progress(total, desc, unit="step", quiet=not enabled)
    stop = threading.Event()

    def tick() -> None:
        if stop.wait(1.0):
            return
        while True:
            bar.refresh()
            if stop.wait(0.5):
                return

    thread = threading.Thread(target=tick, name="unicr-progress", daemon=True)
    if enabled:
        thread.start()
    try:
        yield bar
    finally:
        stop.set()
        if enabled:
            thread.join()
        bar.close()


def _method_for(nz: Any, method: str, mc_options: bool = False) -> str:
    """The engine of one noise's curves.  ``method="auto"``: exact for product noise; for a
    joint noise the radial engine where it applies, except when Monte Carlo options were given
    (they ask for the Monte Carlo engine, which then runs every joint noise)."""
    if method not in METHODS:
        raise InvalidParameterError(f"unknown method {method!r}; choose one of: {', '.join(METHODS)}")
    if method == "exact" and not nz.is_product:
        from unicr.errors import NotProductNoiseError

        raise NotProductNoiseError(
            f"the exact engine needs product (i.i.d.) noise, and {nz.name} is a joint density; "
            "use the Monte Carlo engine (method 'mc' / --method mc) or 'auto'")
    if method == "auto" and mc_options and not nz.is_product:
        return "mc"
    from unicr.certify import choose_method

    return choose_method(nz, method)[0]


def _exact_curves(label: str, nz: Any, ps: list[float], d: int, pa: np.ndarray,
                  pb: float | None, cache: bool) -> list[CurveData]:
    from unicr.engines import curve

    c = curve(nz, ps, d, pa, pb=pb, cache=cache)
    pbs = None if pb is None else np.full(len(pa), pb)
    out = []
    for p in ps:
        lab = norm_label(p)
        out.append(CurveData(label=label, norm=p, d=d, pa=pa.copy(),
                             lower=np.asarray(c.lower[lab], float).copy(),
                             upper=np.asarray(c.upper[lab], float).copy(), estimate=None,
                             pb=pbs, method="exact", confidence=1.0, noise=nz.definition()))
    return out


def _radial_curves(label: str, nz: Any, ps: list[float], d: int, pa: np.ndarray,
                   pb: float | None) -> list[CurveData]:
    """Proven bands of the radial engine: one l2 curve (binary: the shared-grid curve path;
    two-sided: one call per pA), then every norm by rotation invariance."""
    from unicr.certify import radius
    from unicr.engines.radial import lp_from_l2, radius_curve_radial_l2

    if pb is None:
        l2 = radius_curve_radial_l2(nz, pa)
    else:
        l2 = [radius(nz, float(x), 2.0, d, pb=pb, method="radial") for x in pa]
    out = []
    for p in ps:
        certs = [lp_from_l2(c, p) for c in l2]
        out.append(CurveData(label=label, norm=p, d=d, pa=pa.copy(),
                             lower=np.array([c.lower for c in certs], dtype=float),
                             upper=np.array([c.upper for c in certs], dtype=float),
                             estimate=None, pb=None if pb is None else np.full(len(pa), pb),
                             method=certs[0].method, confidence=1.0, noise=nz.definition()))
    return out


def _mc_curves(label: str, nz: Any, ps: list[float], d: int, pa: np.ndarray, pb: float | None,
               options: dict[str, Any], bar: Any) -> list[CurveData]:
    from unicr.certify import radius

    out = []
    for p in ps:
        lo = np.zeros(len(pa))
        up = np.full(len(pa), math.inf)
        est = np.full(len(pa), np.nan)
        conf = np.ones(len(pa))
        for i, x in enumerate(pa):
            bar.set_postfix_str(f"{label}, l{norm_label(p)}, pA={x:.4g}", refresh=False)
            cert = radius(nz, float(x), p, d, pb=pb, method="mc", **options)
            lo[i], up[i], conf[i] = cert.lower, cert.upper, cert.confidence
            est[i] = np.nan if cert.estimate is None else cert.estimate
            bar.update(1)
        out.append(CurveData(label=label, norm=p, d=d, pa=pa.copy(), lower=lo, upper=up,
                             estimate=est, pb=None if pb is None else np.full(len(pa), pb),
                             method="mc", confidence=conf, noise=nz.definition()))
    return out


def compute_curves(noises: Any, norms: Any, d: int, pa: Sequence[float] | None = None, *,
                   pb: float | None = None, method: str = "auto", overlays: Any = (),
                   sigma: float | None = None, scale: float | None = None,
                   params: dict[str, float] | None = None, mc_options: dict[str, Any] | None = None,
                   progress: bool = False, cache: bool = True) -> list[CurveData]:
    """Radius curves R(pA) of every noise for every norm, as :class:`~unicr.reporting.plot.CurveData`.

    Parameters
    ----------
    noises:
        one noise or a list: names, ``"NAME:key=value"`` items, ``.toml`` paths, built
        :class:`~unicr.noises.base.Noise` objects, ``(label, noise)`` pairs, or ``"all"``
        (see :func:`resolve_noises`).
    norms:
        one norm or a list (1, 2, "inf", any p > 0).
    d:
        input dimension.
    pa:
        increasing pA grid (default :func:`pa_grid` with 50 points).
    pb:
        fixed pB for two-sided curves (None: binary, pB = 1 - pA).
    method:
        "auto", "exact", "mc" or "radial" (module docstring).
    overlays:
        closed-form formula names (:data:`unicr.closed_form.FORMULAS`) or ``"auto"``
        (:func:`auto_overlays`).  A named formula that applies to none of the curves is an
        error naming it.
    sigma, scale, params:
        applied to every noise that does not set its own (``NAME:sigma=0.5``).
    mc_options:
        keyword options of the Monte Carlo engine (``n_mc``, ``mode``, ``seed`` ...).
    progress:
        tqdm progress bar on stderr (shown only when the work takes more than a second).
    cache:
        use the exact engine's disk cache.

    Returns the curves ordered by noise, then norm.  Every ``lower`` is a proven lower
    bound on R* (with the curve's ``confidence``), every ``upper`` a proven upper bound.
    """
    from unicr.checks import check_dimension

    dim = check_dimension(d)
    if isinstance(norms, (str, int, float)):
        norms = [norms]
    ps = list(dict.fromkeys(parse_norm(p) for p in norms))
    if not ps:
        raise InvalidParameterError("give at least one norm")
    grid = pa_grid(pb=pb) if pa is None else np.asarray(pa, dtype=float)
    if grid.ndim != 1 or grid.size == 0:
        raise InvalidParameterError("the pA grid must be a non-empty 1-D sequence")
    if not np.all(np.isfinite(grid)) or np.any(grid <= 0) or np.any(grid >= 1):
        raise InvalidParameterError("pA grid values must lie strictly between 0 and 1")
    if np.any(np.diff(grid) <= 0):
        raise InvalidParameterError("the pA grid must be strictly increasing")
    floor = 0.5 if pb is None else float(pb)
    if grid[0] <= floor:
        raise InvalidParameterError(
            f"the pA grid starts at {grid[0]:g}, where there is no certificate (pA must exceed "
            f"{'1/2' if pb is None else f'pB = {floor:g}'})")
    if isinstance(noises, (str, bytes)) or not isinstance(noises, Iterable):
        noises = [noises]
    pairs = resolve_noises(list(noises), d=dim, sigma=sigma, scale=scale, params=params,
                           method=method)
    mc_opts = dict(mc_options or {})
    methods = [_method_for(nz, method, bool(mc_opts)) for _, nz in pairs]
    overlay_names = _overlay_request(overlays)
    if mc_opts and "mc" not in methods:
        raise InvalidParameterError(
            f"Monte Carlo options ({', '.join(sorted(mc_opts))}) given, but no curve uses the "
            "Monte Carlo engine; use method 'mc' (--method mc)")
    total = sum(len(ps) * len(grid) if m == "mc" else 1 for m in methods)
    curves: list[CurveData] = []
    with _progress(total, "pA-R curves", progress) as bar:
        for (label, nz), m in zip(pairs, methods):
            if m == "exact":
                bar.set_postfix_str(f"{label} (exact)", refresh=False)
                curves += _exact_curves(label, nz, ps, dim, grid, pb, cache)
                bar.update(1)
            elif m == "radial":
                bar.set_postfix_str(f"{label} (radial)", refresh=False)
                curves += _radial_curves(label, nz, ps, dim, grid, pb)
                bar.update(1)
            else:
                curves += _mc_curves(label, nz, ps, dim, grid, pb, mc_opts, bar)
    by_label = dict(pairs)
    _add_overlays(curves, by_label, overlay_names, pb)
    return curves


def _overlay_request(overlays: Any) -> list[str] | str:
    if overlays is None:
        return []
    if isinstance(overlays, str):
        overlays = [overlays]
    names = [str(o) for o in overlays]
    if any(n.lower() == "auto" for n in names):
        if len(names) > 1:
            raise InvalidParameterError("overlay 'auto' cannot be combined with formula names")
        return "auto"
    from unicr.closed_form import get_formula

    return [get_formula(n).name for n in names]  # unknown names raise, listing the known ones


def _add_overlays(curves: list[CurveData], noises: dict[str, Any], names: list[str] | str,
                  pb: float | None) -> None:
    if not names:
        return
    used: set[str] = set()
    for c in curves:
        nz = noises[c.label]
        if names == "auto":
            found = auto_overlays(nz, c.norm, c.d, c.pa, pb)
        else:
            found = {}
            for n in names:
                res = closed_form_overlay(n, nz, c.norm, c.d, c.pa, pb)
                if res is not None:
                    found[n] = res
        for n, (vals, status) in found.items():
            c.overlays[n] = vals
            c.overlay_status[n] = status
            used.add(n)
    if names != "auto":
        from unicr.closed_form import get_formula

        missing = [n for n in names if n not in used]
        if missing:
            f = get_formula(missing[0])
            fam = ", ".join(f.families)
            nrm = ", ".join(norm_label(q) for q in f.norms) or f.norms_text
            raise InvalidParameterError(
                f"closed form '{missing[0]}' ({f.citation}) applies to none of the curves: it is "
                f"for {fam} noise and the norm(s) {nrm}")


# ---------------------------------------------------------------------------
# curves as rows: back from a saved CSV, out to a DataFrame
# ---------------------------------------------------------------------------


def curves_from_rows(rows: Iterable[dict[str, Any]]) -> list[CurveData]:
    """:class:`CurveData` rebuilt from rows of :func:`unicr.reporting.plot.read_csv`.

    Rows are grouped by (noise, norm, d, method) in the order they first appear; a column
    that is empty on every row of a curve (``pb``, ``estimate``, an overlay) is left out.
    Overlay statuses are not stored in the CSV: they are taken from the formula registry
    when the name is known (else empty).
    """
    groups: dict[tuple[str, str, int, str], list[dict[str, Any]]] = {}
    for row in rows:
        try:
            key = (str(row["noise"]), str(row["norm"]), int(row["d"]), str(row.get("method") or ""))
        except (KeyError, TypeError, ValueError):
            raise InvalidParameterError(
                f"not a curve row (needs noise, norm, d, pa, lower, upper): {row!r}"[:200]) from None
        groups.setdefault(key, []).append(row)
    out = []
    for (label, norm, d, method), rs in groups.items():
        def col(name: str, rs: list[dict[str, Any]] = rs) -> np.ndarray | None:
            vals = [r.get(name) for r in rs]
            if all(v is None for v in vals):
                return None
            return np.array([np.nan if v is None else float(v) for v in vals], dtype=float)

        pa, lower, upper = col("pa"), col("lower"), col("upper")
        if pa is None or lower is None or upper is None:
            raise InvalidParameterError(f"curve {label!r} (l{norm}): the rows lack pa, lower or "
                                        "upper values")
        conf = col("confidence")
        c = CurveData(label=label, norm=parse_norm(norm), d=d, pa=pa, lower=lower, upper=upper,
                      estimate=col("estimate"), pb=col("pb"), method=method,
                      confidence=1.0 if conf is None else conf)
        for name in dict.fromkeys(k for r in rs for k in r if k.startswith(OVERLAY_PREFIX)):
            vals = col(name)
            if vals is not None:
                short = name[len(OVERLAY_PREFIX):]
                c.overlays[short] = vals
                c.overlay_status[short] = _formula_status(short)
        out.append(c)
    return out


def _formula_status(name: str) -> str:
    try:
        from unicr.closed_form import get_formula

        return str(get_formula(name).status)
    except (UnicrError, KeyError):
        return ""


def read_curves_csv(path: str | Path) -> list[CurveData]:
    """The curves of a CSV written by ``unicr curve --csv`` / :func:`unicr.reporting.plot.write_csv`,
    ready for :func:`unicr.reporting.plot.plot_curves` or the tables of
    :mod:`unicr.reporting.tables` -- no recomputation.  Errors name the file."""
    from unicr.reporting.plot import read_csv

    p = Path(path)
    try:
        rows = read_csv(p)
    except OSError as exc:
        raise InvalidParameterError(f"cannot read curve CSV {p}: {exc.strerror or exc}") from None
    except (ValueError, KeyError) as exc:
        raise InvalidParameterError(f"{p} is not a curve CSV of unicr curve --csv ({exc})"
                                    ) from None
    if not rows:
        raise InvalidParameterError(f"{p}: no curve rows")
    missing = [c for c in ("noise", "norm", "d", "pa", "lower", "upper") if c not in rows[0]]
    if missing:
        raise InvalidParameterError(f"{p} is not a curve CSV of unicr curve --csv (missing "
                                    f"column(s) {', '.join(missing)})")
    try:
        return curves_from_rows(rows)
    except InvalidParameterError as exc:
        raise InvalidParameterError(f"{p}: {exc}") from None


def curves_to_records(curves: Iterable[CurveData]) -> list[dict[str, Any]]:
    """One flat dict per (curve, pA): the columns of the curve CSV
    (:data:`unicr.reporting.plot.CSV_COLUMNS`) plus ``status`` and one ``closed_form:NAME``
    per overlay; ``pb``/``estimate`` are ``nan`` where absent."""
    curves = list(curves)
    extra = list(dict.fromkeys(name for c in curves for name in c.overlays))
    out = []
    for c in curves:
        conf = c.confidence_array()
        for i, pa in enumerate(np.asarray(c.pa, float)):
            lo, up = float(c.lower[i]), float(c.upper[i])
            rec: dict[str, Any] = {
                "noise": c.label, "norm": norm_label(c.norm), "d": int(c.d), "pa": float(pa),
                "pb": math.nan if c.pb is None else float(c.pb[i]), "lower": lo, "upper": up,
                "estimate": math.nan if c.estimate is None else float(c.estimate[i]),
                "confidence": float(conf[i]), "method": c.method,
                "status": band_status(lo, up),
            }
            for name in extra:
                vals = c.overlays.get(name)
                rec[OVERLAY_PREFIX + name] = math.nan if vals is None else float(vals[i])
            out.append(rec)
    return out


def band_status(lower: float, upper: float, rtol: float = 1e-6) -> str:
    """What a proven band says: "exact" (upper - lower within ``rtol`` relative), "bracketed"
    (lower > 0 and upper finite), "lower-only" (no failing perturbation known), "upper-only"
    (nothing proven below, a failing perturbation known) or "none" (nothing proven)."""
    finite = math.isfinite(upper)
    if finite and lower > 0 and upper - lower <= rtol * max(upper, 1e-300):
        return "exact"
    if lower > 0:
        return "bracketed" if finite else "lower-only"
    return "upper-only" if finite else "none"


def curves_to_dataframe(curves: Iterable[CurveData]) -> Any:
    """:func:`curves_to_records` as a ``pandas.DataFrame`` (pandas is optional:
    ``pip install unicr[notebook]``)."""
    from unicr.certificate import dataframe

    return dataframe(curves_to_records(curves))
