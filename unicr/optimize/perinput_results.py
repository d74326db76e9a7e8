"""Per-input noise optimisation over a data set: a resumable results TSV, its reader, a summary.

The file imitates ``unicr certify``'s (:mod:`unicr.smoothing.dataset`, whose lock, header
check and resume helpers are reused): header lines with everything that determines the rows
(method, noise family, candidate lattice with start, ranges, steps, mode labels, seed, settings,
model sha256, data), one column line, one row per image appended and flushed, every number
written with ``repr``, ABSTAIN as ``predict = -1`` with ``-`` radii, and the draws of row i
seeded by (seed, i, stream, j) so a killed run resumes to exactly the bytes of an uninterrupted
one.  Columns::

    idx label base_pred chosen_<param>... visited rounds
    <mode>_predict <mode>_radius_l<p>... <mode>_pA_lower <mode>_confidence   (per mode)
    fwd_selection fwd_fixed_theta fwd_deployable fwd_baseline

with modes ``fixed`` (baseline), ``as_published``, ``fixed_theta``, ``deployable``
(:data:`unicr.optimize.perinput.MODES`).  ``as_published``'s confidence is ``-`` for I-OPT: it
is an estimate.  Forward passes: ``fwd_selection`` = n_sel per candidate scored;
``fwd_fixed_theta`` = n; ``fwd_deployable`` = the draws for the other candidates (the
deployable mode also uses theta*'s n draws); ``fwd_baseline`` = the baseline's own n_sel + n_b.
Seconds spent sampling and on radii are run totals (:class:`PerInputRun`), not columns, so that
the rows stay byte-reproducible.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from unicr import __version__
from unicr.certificate import norm_label
from unicr.errors import InvalidParameterError
from unicr.optimize.perinput import MODES, PerInputCertifier, PerInputOutcome
from unicr.smoothing.checks import ABSTAIN
from unicr.smoothing.dataset import (
    MISSING,
    ResultsError,
    _dumps,
    _fmt,
    _indices,
    _prepare_file,
    _progress,
    read_results_text,
    results_lock,
)

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "PerInputRun", "PerInputResults", "ModeArrays",
           "run_perinput", "run_iopt", "run_auto_noise", "read_perinput_results",
           "perinput_columns", "top_fraction_means", "summarize_perinput"]

FORMAT_NAME = "unicr-perinput"
FORMAT_VERSION = 1
FORWARD = ("selection", "fixed_theta", "deployable", "baseline")


def _col(mode: str) -> str:
    return mode.replace("-", "_")


def perinput_columns(param_names: Sequence[str], norms: Sequence[float]) -> list[str]:
    """Column names of a per-input results file."""
    cols = ["idx", "label", "base_pred", *(f"chosen_{k}" for k in param_names), "visited",
            "rounds"]
    for m in MODES:
        c = _col(m)
        cols += [f"{c}_predict", *(f"{c}_radius_l{norm_label(p)}" for p in norms),
                 f"{c}_pA_lower", f"{c}_confidence"]
    return cols + [f"fwd_{k}" for k in FORWARD]


def format_perinput_row(idx: int, label: int, out: PerInputOutcome, names: Sequence[str],
                        norms: Sequence[float]) -> str:
    fields = [str(idx), str(label), str(out.base_pred), *(_fmt(out.chosen[k]) for k in names),
              str(out.visited), str(out.rounds)]
    for m in MODES:
        mo = out.modes[m]
        fields.append(str(mo.prediction))
        fields += [MISSING if mo.abstain else _fmt(mo.radii[p]) for p in norms]
        fields.append(_fmt(mo.pa_lower))
        fields.append(MISSING if mo.confidence is None else _fmt(mo.confidence))
    fields += [str(int(out.forward[k])) for k in FORWARD]
    return "\t".join(fields)


@dataclass
class PerInputRun:
    """Summary of a :func:`run_perinput` call: rows, forward passes and the time split."""

    path: Path
    total: int
    resumed_from: int
    computed: int
    seconds: float
    sampling_seconds: float
    radius_seconds: float
    forward_passes: int
    radius_stats: dict[str, Any] = field(default_factory=dict)

    @property
    def radius_share(self) -> float:
        """Share of (sampling + radius) time spent on radii."""
        tot = self.sampling_seconds + self.radius_seconds
        return self.radius_seconds / tot if tot > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "total": self.total, "resumed_from": self.resumed_from,
                "computed": self.computed, "seconds": self.seconds,
                "sampling_seconds": self.sampling_seconds,
                "radius_seconds": self.radius_seconds, "radius_share": self.radius_share,
                "forward_passes": self.forward_passes, "radius_stats": self.radius_stats}


def merge_run_summaries(earlier: dict[str, Any] | None, now: dict[str, Any]) -> dict[str, Any]:
    """The summary of every invocation of one results file: counts and seconds added up.

    ``earlier`` is what an earlier invocation wrote (None, or another file's summary, is
    ignored); ``now`` is :meth:`PerInputRun.to_dict` of this invocation.  A run killed and
    resumed, or a finished one run again, keeps the forward passes and the time split of every
    row it computed.
    """
    if not earlier or earlier.get("path") != now.get("path") \
            or int(earlier.get("computed", 0)) > int(now.get("resumed_from", 0)):
        return dict(now)
    out = dict(now)
    for k in ("computed", "forward_passes", "seconds", "sampling_seconds", "radius_seconds"):
        out[k] = earlier.get(k, 0) + now.get(k, 0)
    stats = dict(earlier.get("radius_stats") or {})
    for k, v in (now.get("radius_stats") or {}).items():
        stats[k] = stats.get(k, 0) + v
    out["radius_stats"] = stats
    out["resumed_from"] = earlier.get("resumed_from", 0)
    tot = out["sampling_seconds"] + out["radius_seconds"]
    out["radius_share"] = out["radius_seconds"] / tot if tot > 0 else 0.0
    return out


def run_perinput(certifier: PerInputCertifier, dataset: Any, out: str | os.PathLike[str], *,
                 seed: int = 0, skip: int = 1, max_count: int | None = None,
                 progress: bool | None = None, meta: dict[str, Any] | None = None
                 ) -> PerInputRun:
    """Run ``certifier`` on every ``skip``-th item of ``dataset`` (at most ``max_count``) into the
    resumable TSV ``out`` (see the module notes); ``meta`` adds header entries (model, data)."""
    for name, v in (("skip", skip),):
        if isinstance(v, bool) or int(v) != v or v < 1:
            raise InvalidParameterError(f"{name} must be a positive integer, got {v!r}")
    if max_count is not None and (int(max_count) != max_count or max_count < 1):
        raise InvalidParameterError(f"max must be a positive integer, got {max_count!r}")
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise InvalidParameterError(f"seed must be a non-negative integer, got {seed!r}")
    dshape = tuple(getattr(dataset, "input_shape", certifier.input_shape))
    if dshape != certifier.input_shape:
        raise InvalidParameterError(
            f"the data has inputs of shape {dshape}, but the model expects "
            f"{certifier.input_shape}")
    import torch

    lat = certifier.lattice
    settings = {**certifier.describe(), "skip": int(skip), "torch": torch.__version__,
                "unicr": __version__}
    meta = dict(meta or {})
    if "data" not in meta and hasattr(dataset, "describe"):
        meta["data"] = dataset.describe()
    entries: list[tuple[str, Any]] = [
        (FORMAT_NAME, FORMAT_VERSION),
        ("method", certifier.method),
        ("lattice", lat.describe()),
        ("start_noise", lat.noise(lat.start).definition()),
        ("modes", certifier.labels),
        ("seed", int(seed)),
        ("settings", settings),
        ("radius", certifier.book.describe()),
        *sorted(meta.items()),
        ("confidence", "per image and mode: the <mode>_confidence column (1 - alpha - "
                       "alpha_numerics; deployable: union bound over the lattice); '-' marks an "
                       "estimate. Approximate certified accuracy is not a high-probability "
                       "statement"),
    ]
    header = [f"# {k}\t{_dumps(v)}" for k, v in entries]
    columns = "\t".join(perinput_columns(lat.names, certifier.norms))
    expected = _indices(len(dataset), int(skip), None)
    todo = expected if max_count is None else expected[:max_count]
    path = Path(out)
    stats0 = dict(certifier.book.stats.to_dict())
    samp0, fwd0 = certifier.sampling_seconds, certifier.forward_passes
    start = time.perf_counter()
    with results_lock(path):
        done = min(_prepare_file(path, header, columns, expected), len(todo))
        computed = 0
        bar = _progress(len(todo), done, progress, path.name)
        try:
            with path.open("a", encoding="ascii", newline="\n") as f:
                for i in todo[done:]:
                    x, label = dataset[i]
                    res = certifier.certify(x, (int(seed), int(i)))
                    f.write(format_perinput_row(int(i), int(label), res, lat.names,
                                                certifier.norms) + "\n")
                    f.flush()
                    computed += 1
                    if bar is not None:
                        bar.update(1)
        finally:
            if bar is not None:
                bar.close()
    st = certifier.book.stats.to_dict()
    delta = {k: st[k] - stats0.get(k, 0) for k in st}
    return PerInputRun(path=path, total=len(todo), resumed_from=done, computed=computed,
                       seconds=time.perf_counter() - start,
                       sampling_seconds=certifier.sampling_seconds - samp0,
                       radius_seconds=float(delta["seconds"]),
                       forward_passes=certifier.forward_passes - fwd0, radius_stats=delta)


def run_iopt(model: Any, dataset: Any, out: str | os.PathLike[str], lattice: Any, *,
             n_sel: int, n: int, alpha: float, norms: Sequence[Any] = (2,), seed: int = 0,
             skip: int = 1, max_count: int | None = None, progress: bool | None = None,
             meta: dict[str, Any] | None = None, **kwargs: Any) -> PerInputRun:
    """I-OPT (Hong et al. 2022, Algorithm 3) over a data set; ``kwargs`` go to
    :class:`~unicr.optimize.perinput.PerInputCertifier`."""
    cert = PerInputCertifier(model, lattice, n_sel=n_sel, n=n, alpha=alpha, norms=norms,
                             search="hill", **kwargs)
    return run_perinput(cert, dataset, out, seed=seed, skip=skip, max_count=max_count,
                        progress=progress, meta=meta)


def run_auto_noise(model: Any, dataset: Any, out: str | os.PathLike[str], lattice: Any, *,
                   n_auto: int, n: int, alpha: float, norms: Sequence[Any] = (2,),
                   seed: int = 0, skip: int = 1, max_count: int | None = None,
                   progress: bool | None = None, meta: dict[str, Any] | None = None,
                   **kwargs: Any) -> PerInputRun:
    """Auto-Noise ("Certification through adaptation", Algorithm 2) over a data set."""
    cert = PerInputCertifier(model, lattice, n_sel=n_auto, n=n, alpha=alpha, norms=norms,
                             search="argmax", **kwargs)
    return run_perinput(cert, dataset, out, seed=seed, skip=skip, max_count=max_count,
                        progress=progress, meta=meta)


# -- reading -----------------------------------------------------------------------------------
@dataclass
class ModeArrays:
    """One mode's columns: ``radii`` per norm label with 0.0 where the row abstained."""

    mode: str
    label: str
    predict: np.ndarray
    correct: np.ndarray
    abstain: np.ndarray
    radii: dict[str, np.ndarray]
    pa_lower: np.ndarray
    confidence: np.ndarray

    @property
    def is_estimate(self) -> bool:
        return bool(np.all(np.isnan(self.confidence))) and len(self.confidence) > 0


@dataclass
class PerInputResults:
    """A per-input results file read back: header, chosen parameters, per-mode arrays."""

    path: Path
    header: dict[str, Any]
    idx: np.ndarray
    label: np.ndarray
    base_pred: np.ndarray
    chosen: dict[str, np.ndarray]
    modes: dict[str, ModeArrays]
    forward: dict[str, np.ndarray]
    norms: list[str]

    def __len__(self) -> int:
        return int(self.idx.size)

    @property
    def method(self) -> str:
        return str(self.header.get("method", "?"))

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self.header.get("settings", {}))

    def forward_per_mode(self) -> dict[str, np.ndarray]:
        """Forward passes per input that each mode's statement consumed (selection included).

        I-OPT's as-published estimate uses the selection draws only; Auto-Noise's as-published
        certificate also uses the fresh draws of sigma_auto (Algorithm 2, step 2)."""
        f = self.forward
        published = f["selection"] + (f["fixed_theta"] if self.method == "auto-noise" else 0)
        return {"fixed": f["baseline"], "as-published": published,
                "fixed-theta": f["selection"] + f["fixed_theta"],
                "deployable": f["selection"] + f["fixed_theta"] + f["deployable"]}


def read_perinput_results(path: str | os.PathLike[str]) -> PerInputResults:
    """Read a file written by :func:`run_perinput` (I-OPT or Auto-Noise)."""
    p, header, col_line, rows, _ = read_results_text(path)
    if header.get(FORMAT_NAME) != FORMAT_VERSION or col_line is None:
        raise ResultsError(f"{p} is not a per-input results file ({FORMAT_NAME} "
                           f"{FORMAT_VERSION}); `unicr optimize input` / `auto-noise` write them")
    columns = col_line.split("\t")
    data: dict[str, list[str]] = {c: [] for c in columns}
    for k, line in enumerate(rows):
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != len(columns):
            raise ResultsError(f"{p}: row {k + 1} has {len(fields)} fields, expected "
                               f"{len(columns)}")
        for c, v in zip(columns, fields):
            data[c].append(v)

    def num(c: str) -> np.ndarray:
        if c not in data:
            raise ResultsError(f"{p}: missing column {c!r}")
        try:
            return np.array([math.nan if v in (MISSING, "") else float(v) for v in data[c]],
                            dtype=float)
        except ValueError as exc:
            raise ResultsError(f"{p}: column {c!r} holds a non-number: {exc}") from None

    idx = num("idx").astype(np.int64)
    label = num("label").astype(np.int64)
    norms = [c[len("fixed_radius_l"):] for c in columns if c.startswith("fixed_radius_l")]
    labels = header.get("modes", {})
    modes: dict[str, ModeArrays] = {}
    for m in MODES:
        c = _col(m)
        pred = num(f"{c}_predict").astype(np.int64)
        abst = pred == ABSTAIN
        radii = {}
        for nl in norms:
            r = num(f"{c}_radius_l{nl}")
            r = np.where(abst | np.isnan(r), 0.0, r)
            if np.any(r < 0):
                raise ResultsError(f"{p}: negative radius in column {c}_radius_l{nl}")
            radii[nl] = r
        modes[m] = ModeArrays(mode=m, label=str(labels.get(m, m)), predict=pred,
                              correct=(~abst) & (pred == label), abstain=abst, radii=radii,
                              pa_lower=num(f"{c}_pA_lower"), confidence=num(f"{c}_confidence"))
    chosen = {c[len("chosen_"):]: num(c) for c in columns if c.startswith("chosen_")}
    forward = {k: num(f"fwd_{k}").astype(np.int64) for k in FORWARD}
    return PerInputResults(path=p, header=header, idx=idx, label=label,
                           base_pred=num("base_pred").astype(np.int64), chosen=chosen,
                           modes=modes, forward=forward, norms=norms)


# -- summaries ---------------------------------------------------------------------------------
TOP_FRACTIONS = (0.2, 0.4, 0.6, 0.8, 1.0)


def top_fraction_means(correct: np.ndarray, radius: np.ndarray,
                       fractions: Sequence[float] = TOP_FRACTIONS) -> list[float]:
    """UniCR Table 3's statistic: the average of the top q of the per-input radii, for each q.

    Per input the value is the radius when the prediction is certified and correct, else 0
    (abstentions and wrong classes count as 0); the values are sorted in decreasing order and
    the first ceil(q * N) averaged.
    """
    v = np.sort(np.where(np.asarray(correct, bool), np.asarray(radius, float), 0.0))[::-1]
    out = []
    for q in fractions:
        k = max(1, math.ceil(q * len(v) - 1e-9)) if len(v) else 0
        out.append(float(v[:k].mean()) if k else math.nan)
    return out


def summarize_perinput(res: PerInputResults, norm: str = "2",
                       radii: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0)) -> dict[str, Any]:
    """Per mode: Table 3 top-q means, ACR, certified accuracy at ``radii``, abstentions and the
    mean forward passes per input; plus the distribution of the chosen parameters."""
    from unicr.smoothing.metrics import acr, certified_accuracy

    if norm not in res.norms:
        raise InvalidParameterError(f"norm {norm} is not in {res.path} (norms {res.norms})")
    fwd = res.forward_per_mode()
    modes = {}
    for m, ma in res.modes.items():
        r = ma.radii[norm]
        modes[m] = {
            "label": ma.label,
            "top_means": dict(zip([f"{int(q * 100)}%" for q in TOP_FRACTIONS],
                                  top_fraction_means(ma.correct, r))),
            "acr": acr(ma.correct, r) if len(r) else math.nan,
            "certified_accuracy": {repr(float(x)): float(certified_accuracy(ma.correct, r, x))
                                   for x in radii} if len(r) else {},
            "abstain": int(ma.abstain.sum()),
            "forward_per_input": float(fwd[m].mean()) if len(r) else math.nan,
            "estimate": ma.is_estimate,
        }
    chosen = {}
    for k, v in res.chosen.items():
        vals, counts = np.unique(v, return_counts=True)
        chosen[k] = {repr(float(a)): int(b) for a, b in zip(vals, counts)}
    return {"file": str(res.path), "method": res.method, "images": len(res), "norm": norm,
            "modes": modes, "chosen": chosen}
