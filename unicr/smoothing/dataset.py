"""Certification of a data set: an append-only TSV of results that resumes byte for byte.

File layout (one header block, one column line, one row per certified image)::

    # unicr-certify<TAB>1
    # noise<TAB>{"class": "Gaussian", ..., "sigma": 0.5}
    # seed<TAB>0
    # settings<TAB>{"alpha": 0.001, "batch": 1000, "n": 10000, "n0": 100, ...}
    # data<TAB>{...}
    # model<TAB>{...}
    # ceiling<TAB>{"2": 1.599...}
    idx label predict radius correct time radius_l1 radius_l2 ... pA_lower pB_upper count_A n

* Cohen, Rosenfeld & Kolter 2019's columns (``idx label predict radius correct time``)
  come first; ``radius`` is the radius in the first norm asked for, then one
  ``radius_l<p>`` column per norm, the bounds behind them and the count.
* ABSTAIN is ``predict = -1`` with ``-`` in every radius column (never "radius 0",
  docs/soundness-notes.md#s32); ``pB_upper`` is ``1 - pA_lower`` in the binary mode.
* Every number is written with ``repr`` (shortest round-trip form): no rounding, so
  a radius read back is exactly the proven one.
* Each image's noise comes from its own generator streams seeded by
  (seed, dataset index, stream) (``Smooth.certify(seed=(seed, index))``), so any row
  can be recomputed alone: a run that is killed and started again with the same
  command skips the complete rows, drops a torn last row and ends with exactly the
  bytes of an uninterrupted run.  The
  ``time`` column holds ``-`` by default; ``timing=True`` (``--time``) records
  wall-clock seconds as Cohen et al. do, and then that column alone differs.
* The header holds everything that determines the rows (noise, seed, n0, n, alpha,
  norms, mode, batch size, device, precision, torch and unicr versions, model and
  data identity).  Resuming with a different header is refused.
* ``max_count`` is not part of the header: rerunning with a larger one extends a
  finished file.
* One writer at a time: a run holds an exclusive ``flock`` on ``<results>.lock`` (next to
  the results file, holding the run's PID) for as long as it writes.  A second run on the
  same file fails at once with :class:`ResultsError` naming the file and that PID.  The
  operating system releases the lock when its process dies, so the lock file a killed run
  leaves behind never blocks the resume.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import math
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from unicr import __version__
from unicr.certificate import norm_label, parse_norm
from unicr.errors import InvalidParameterError, UnicrError
from unicr.smoothing.checks import ABSTAIN, RUNNER_UP, _validate_mode, validate_sampling

if TYPE_CHECKING:  # reading results (unicr analyze) must not import torch
    from unicr.smoothing.smooth import Smooth, SmoothCertificate

__all__ = [
    "ResultsError",
    "Results",
    "CertifyRun",
    "certify_dataset",
    "read_results",
    "results_dataframe",
    "results_columns",
    "FORMAT_NAME",
    "FORMAT_VERSION",
]

log = logging.getLogger(__name__)

FORMAT_NAME = "unicr-certify"
FORMAT_VERSION = 1
BASE_COLUMNS = ("idx", "label", "predict", "radius", "correct", "time")
TAIL_COLUMNS = ("pA_lower", "pB_upper", "count_A", "n")
MISSING = "-"


class ResultsError(UnicrError, ValueError):
    """A results file is malformed or belongs to a different run."""


def _dumps(obj: Any) -> str:
    """Deterministic compact JSON (sorted keys); infinities as strings."""

    def fix(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return "inf" if v > 0 else ("-inf" if v < 0 else "nan")
        if isinstance(v, dict):
            return {str(k): fix(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [fix(x) for x in v]
        if isinstance(v, np.generic):
            return fix(v.item())
        return v

    return json.dumps(fix(obj), sort_keys=True, separators=(",", ":"))


def results_columns(norms: Sequence[Any]) -> list[str]:
    """Column names for the given norms."""
    return [*BASE_COLUMNS, *(f"radius_l{norm_label(parse_norm(p))}" for p in norms), *TAIL_COLUMNS]


def _fmt(x: float) -> str:
    return repr(float(x))


def format_row(idx: int, label: int, cert: SmoothCertificate, norms: Sequence[float],
               seconds: float | None) -> str:
    """One TSV line (without newline) for a certification outcome."""
    abstain = cert.prediction == ABSTAIN
    radii = [MISSING if abstain else _fmt(cert.radii[p]) for p in norms]
    correct = int((not abstain) and cert.prediction == label)
    t = MISSING if seconds is None else f"{seconds:.4f}"
    fields = [str(idx), str(label), str(cert.prediction), radii[0], str(correct), t, *radii,
              _fmt(cert.pa_lower), _fmt(cert.pb_upper), str(cert.count_a), str(cert.n)]
    return "\t".join(fields)


@dataclass
class Results:
    """A results file read back: header entries and per-row arrays.

    ``radii`` maps a norm label ("1", "2", "inf") to radii with 0.0 where the row
    abstained (use ``abstain``/``correct`` to tell them apart).
    """

    path: Path
    header: dict[str, Any]
    columns: list[str]
    idx: np.ndarray
    label: np.ndarray
    predict: np.ndarray
    correct: np.ndarray
    abstain: np.ndarray
    radii: dict[str, np.ndarray]
    pa_lower: np.ndarray
    pb_upper: np.ndarray
    time: np.ndarray
    norms: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.idx.size)

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self.header.get("settings", {}))

    @property
    def noise(self) -> dict[str, Any]:
        return dict(self.header.get("noise", {}))

    @property
    def ceiling(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.header.get("ceiling", {}).items()}

    def label_text(self) -> str:
        """A short legend: what the header says of the noise (name, parameters, sigma or native
        scale), or ``"<file stem> (unknown noise)"`` for a file that does not say (Cohen et
        al.'s format has no header)."""
        nz = self.noise
        name = nz.get("name") or nz.get("class")
        if not name:
            return f"{self.path.stem} (unknown noise)"
        parts = [f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}"
                 for k, v in (nz.get("params") or {}).items()]
        sig = self.header.get("sigma", nz.get("sigma"))
        scale = nz.get("scale")
        if isinstance(sig, (int, float)) and math.isfinite(sig):
            parts.append(f"sigma={sig:g}")
        elif isinstance(scale, (int, float)) and math.isfinite(scale):
            parts.append(f"scale={scale:g}")
        return f"{name}({', '.join(parts)})" if parts else str(name)

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per image: ``idx label predict correct abstain``, one ``radius_l<p>`` per
        norm (``nan`` where the image abstained: ABSTAIN is not radius 0), ``pA_lower
        pB_upper time``."""
        out = []
        for i in range(len(self)):
            rec: dict[str, Any] = {"idx": int(self.idx[i]), "label": int(self.label[i]),
                                   "predict": int(self.predict[i]),
                                   "correct": bool(self.correct[i]),
                                   "abstain": bool(self.abstain[i])}
            for n in self.norms:
                rec[f"radius_l{n}"] = math.nan if self.abstain[i] else float(self.radii[n][i])
            rec["pA_lower"] = float(self.pa_lower[i])
            rec["pB_upper"] = float(self.pb_upper[i])
            rec["time"] = float(self.time[i])
            out.append(rec)
        return out

    def record_columns(self) -> list[str]:
        """The keys of :meth:`to_records`, in order."""
        return ["idx", "label", "predict", "correct", "abstain",
                *(f"radius_l{n}" for n in self.norms), "pA_lower", "pB_upper", "time"]

    def to_dataframe(self) -> Any:
        """A ``pandas.DataFrame`` with one row per image (:meth:`to_records`); pandas is an
        optional dependency (``pip install unicr[notebook]``)."""
        from unicr.certificate import dataframe

        return dataframe(self.to_records(), self.record_columns())


def results_dataframe(results: Sequence[Results | str | os.PathLike[str]]) -> Any:
    """Several results files (paths or :class:`Results`) as one ``pandas.DataFrame``.

    Rows of :meth:`Results.to_records` with two leading columns, ``file`` and ``noise``
    (:meth:`Results.label_text`), so that files with different noises can be grouped;
    radius columns a file does not have are ``nan``.
    """
    from unicr.certificate import dataframe

    loaded = [r if isinstance(r, Results) else read_results(r) for r in results]
    if not loaded:
        raise InvalidParameterError("results_dataframe: no results files given")
    columns = ["file", "noise"]
    records: list[dict[str, Any]] = []
    for res in loaded:
        columns += [c for c in res.record_columns() if c not in columns]
        records += [{"file": str(res.path), "noise": res.label_text(), **rec}
                    for rec in res.to_records()]
    return dataframe([{c: rec.get(c, math.nan) for c in columns} for rec in records], columns)


def _parse_header_line(line: str) -> tuple[str, Any]:
    body = line[1:].strip()
    key, _, value = body.partition("\t")
    key = key.strip()
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value.strip()


def _split_lines(text: str) -> tuple[list[str], str | None, list[str], str]:
    """(header lines, column line, complete row lines, trailing partial text)."""
    lines = text.split("\n")
    tail = lines.pop()  # text after the last newline ('' when the file ends with one)
    header: list[str] = []
    i = 0
    while i < len(lines) and lines[i].startswith("#"):
        header.append(lines[i])
        i += 1
    columns = lines[i] if i < len(lines) else None
    return header, columns, lines[i + 1:], tail


def read_results_text(path: str | os.PathLike[str],
                      ) -> tuple[Path, dict[str, Any], str | None, list[str], str]:
    """``(path, header entries, column line or None, data rows, torn tail)`` of a results file
    in this module's layout (also the per-input files of :mod:`unicr.optimize`)."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ResultsError(f"cannot read results file {p}: {exc.strerror or exc}") from None
    header_lines, col_line, rows, tail = _split_lines(text)
    return p, dict(_parse_header_line(h) for h in header_lines), col_line, rows, tail


def read_results(path: str | os.PathLike[str]) -> Results:
    """Read a results TSV written by :func:`certify_dataset` (also accepts Cohen et al.'s format:
    ``idx label predict radius correct time``, where radius is l2 and predict -1 abstains)."""
    p, header, col_line, rows, tail = read_results_text(path)
    if col_line is None:
        raise ResultsError(f"{p} has no column line (expected {' '.join(BASE_COLUMNS)} ...)")
    columns = col_line.split("\t")
    missing = [c for c in ("idx", "label", "predict", "radius", "correct") if c not in columns]
    if missing:
        raise ResultsError(f"{p}: missing column(s) {', '.join(missing)}; found {columns}")
    if tail:
        log.warning("%s: ignoring an incomplete last row", p)
    data: dict[str, list[str]] = {c: [] for c in columns}
    for k, line in enumerate(rows):
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != len(columns):
            raise ResultsError(
                f"{p}: row {k + 1} has {len(fields)} fields, expected {len(columns)}")
        for c, v in zip(columns, fields):
            data[c].append(v)

    def num(c: str, dtype: Any = float) -> np.ndarray:
        vals = data.get(c)
        if vals is None:
            return np.full(len(data["idx"]), np.nan)
        try:
            return np.array([np.nan if v in (MISSING, "") else dtype(v) for v in vals], dtype=float)
        except ValueError as exc:
            raise ResultsError(f"{p}: column {c!r} holds a non-number: {exc}") from None

    idx = num("idx", int).astype(np.int64)
    predict = num("predict", int).astype(np.int64)
    label = num("label", int).astype(np.int64)
    correct = num("correct", int).astype(bool)
    abstain = predict == ABSTAIN
    norm_cols = [c for c in columns if c.startswith("radius_l")]
    if norm_cols:
        norms = [c[len("radius_l"):] for c in norm_cols]
    else:  # Cohen et al.'s file: one l2 radius column
        norms, norm_cols = ["2"], ["radius"]
    radii: dict[str, np.ndarray] = {}
    for nl, c in zip(norms, norm_cols):
        r = num(c)
        r = np.where(abstain | np.isnan(r), 0.0, r)
        if np.any(r < 0):
            raise ResultsError(f"{p}: negative radius in column {c!r}")
        radii[nl] = r
    if np.any(correct & abstain):
        raise ResultsError(f"{p}: a row is marked correct although it abstained")
    return Results(path=p, header=header, columns=columns, idx=idx, label=label, predict=predict,
                   correct=correct, abstain=abstain, radii=radii, pa_lower=num("pA_lower"),
                   pb_upper=num("pB_upper"), time=num("time", _seconds), norms=norms)


def _seconds(text: str) -> float:
    """Seconds from ``12.5`` or Cohen et al.'s ``H:MM:SS.ffffff`` (str of a timedelta)."""
    if ":" not in text:
        return float(text)
    total = 0.0
    for part in text.split(":"):
        total = total * 60 + float(part)
    return total


@dataclass
class CertifyRun:
    """Summary of a :func:`certify_dataset` call."""

    path: Path
    total: int
    resumed_from: int
    computed: int
    seconds: float
    forward_passes: int
    #: of ``seconds``: drawing noise and running the model, and Clopper-Pearson + radii
    sampling_seconds: float = 0.0
    radius_seconds: float = 0.0

    @property
    def radius_share(self) -> float:
        """Fraction of the sampling + radius time that went to statistics and radii."""
        tot = self.sampling_seconds + self.radius_seconds
        return self.radius_seconds / tot if tot > 0 else 0.0

    @property
    def images_per_second(self) -> float:
        return self.computed / self.seconds if self.seconds > 0 else math.inf


def lock_path(path: str | os.PathLike[str]) -> Path:
    """The lock file of a results file: ``<results>.lock`` in the same folder."""
    p = Path(path)
    return p.with_name(p.name + ".lock")


def _lock_holder(lock: Path) -> str:
    try:
        pid = lock.read_text(encoding="ascii").strip()
    except OSError:
        pid = ""
    return f"PID {pid}" if pid.isdigit() else "another process"


@contextlib.contextmanager
def results_lock(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the exclusive lock of the results file ``path`` (see the module notes).

    Raises :class:`ResultsError` at once, naming the file and the PID of the holder, when
    another process (or another run in this one) writes the same file.  Uses ``fcntl.flock``,
    which the kernel releases when the holder dies: a stale lock file never blocks.  The lock
    file is removed on exit; a run that finds the file replaced under it (another run removed
    and recreated it between our open and our lock) takes the new one.
    """
    import fcntl

    lock = lock_path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise ResultsError(
                    f"results file {Path(path)} is being written by another run "
                    f"({_lock_holder(lock)}, lock {lock}); wait for it to finish or stop it"
                ) from None
            raise ResultsError(f"cannot lock results file {Path(path)} ({exc})") from None
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the file we locked was unlinked by its previous holder: retry
    else:  # pragma: no cover - needs 100 lost races in a row
        raise ResultsError(f"cannot lock results file {Path(path)}: its lock {lock} keeps changing")
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        yield lock
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)


def _indices(size: int, skip: int, max_count: int | None) -> list[int]:
    idx = list(range(0, size, skip))
    return idx if max_count is None else idx[:max_count]


def certify_dataset(smooth: Smooth, dataset: Any, out: str | os.PathLike[str], *, n0: int,
                    n: int, alpha: float, norms: Sequence[Any] = (2,), seed: int = 0,
                    skip: int = 1, max_count: int | None = None, batch_size: int = 1000,
                    mode: str = "binary", alpha_split: float | None = None,
                    grid: Sequence[float] | None = None, runner_up: str = "plain",
                    timing: bool = False, progress: bool | None = None,
                    meta: dict[str, Any] | None = None) -> CertifyRun:
    """Certify every ``skip``-th item of ``dataset`` (at most ``max_count``) into ``out``.

    Cohen et al. 2019's ``certify.py`` loop, with resume: if ``out`` exists with the
    same header, complete rows are kept (a torn last row is dropped) and the run
    continues after them.  Rows are appended and flushed one by one.  ``meta``
    adds entries to the header (``model`` and ``data`` identity).  ``progress``
    shows the progress on stderr with images/s: a bar on a terminal, a plain line every 10 s
    or 5 % otherwise (``None`` or ``True``); ``False`` shows nothing.
    """
    import torch

    n0_i, n_i, a = validate_sampling(n0, n, alpha)
    mode, split, g = _validate_mode(mode, alpha_split, grid)
    if runner_up not in RUNNER_UP:
        raise InvalidParameterError(f"runner_up must be one of {', '.join(RUNNER_UP)}")
    ps = [parse_norm(p) for p in norms]
    if not ps or len(set(ps)) != len(ps):
        raise InvalidParameterError(f"norms must be distinct and non-empty, got {list(norms)}")
    for name, v in (("skip", skip), ("batch_size", batch_size)):
        if int(v) != v or v < 1:
            raise InvalidParameterError(f"{name} must be a positive integer, got {v!r}")
    if max_count is not None and (int(max_count) != max_count or max_count < 1):
        raise InvalidParameterError(f"max must be a positive integer, got {max_count!r}")
    if int(seed) != seed or seed < 0:
        raise InvalidParameterError(f"seed must be a non-negative integer, got {seed!r}")
    dshape = tuple(getattr(dataset, "input_shape", smooth.input_shape))
    if dshape != smooth.input_shape:
        raise InvalidParameterError(
            f"the data has inputs of shape {dshape}, but the model expects {smooth.input_shape}")
    dk = getattr(dataset, "num_classes", None)
    if dk is not None and int(dk) > smooth.num_classes:
        raise InvalidParameterError(
            f"the data has {dk} classes, but the model predicts only {smooth.num_classes}")

    settings = {
        "n0": n0_i, "n": n_i, "alpha": a, "norms": [norm_label(p) for p in ps], "mode": mode,
        "alpha_split": split, "grid": list(g), "runner_up": runner_up if mode != "binary" else None,
        "skip": int(skip), "batch": int(batch_size), "timing": bool(timing),
        "torch": torch.__version__, "unicr": __version__,
    }
    info = smooth.describe()
    ceiling = smooth.ceiling(n_i, a, ps, mode=mode, alpha_split=split, grid=g or None,
                             runner_up=runner_up)
    meta = dict(meta or {})
    if "data" not in meta and hasattr(dataset, "describe"):
        meta["data"] = dataset.describe()
    entries: list[tuple[str, Any]] = [
        (FORMAT_NAME, FORMAT_VERSION),
        ("noise", info.pop("noise")),
        ("sigma", info.pop("sigma")),
        ("seed", int(seed)),
        ("settings", settings),
        ("smooth", info),
        *sorted(meta.items()),
        ("ceiling", {norm_label(p): r for p, r in ceiling.items()}),
        ("confidence", "per image: 1 - alpha - alpha_numerics; approximate certified accuracy "
                       "is not a high-probability statement"),
    ]
    header = [f"# {k}\t{_dumps(v)}" for k, v in entries]
    columns = "\t".join(results_columns(ps))
    expected = _indices(len(dataset), int(skip), None)
    todo = expected if max_count is None else expected[:max_count]

    path = Path(out)
    with results_lock(path):
        return _certify_locked(smooth, dataset, path, header, columns, expected, todo,
                               n0_i, n_i, a, ps, int(seed), int(batch_size), mode, split, g,
                               runner_up, timing, progress)


def _certify_locked(smooth: Smooth, dataset: Any, path: Path, header: list[str], columns: str,
                    expected: list[int], todo: list[int], n0_i: int, n_i: int, a: float,
                    ps: list[float], seed: int, batch_size: int, mode: str, split: float | None,
                    g: Sequence[float], runner_up: str, timing: bool,
                    progress: bool | None) -> CertifyRun:
    """The loop of :func:`certify_dataset`, run while holding the results file's lock."""
    done = min(_prepare_file(path, header, columns, expected), len(todo))
    start = time.perf_counter()
    s0, r0 = smooth.sampling_seconds, smooth.radius_seconds
    computed = 0
    remaining = todo[done:]
    bar = _progress(len(todo), done, progress, path.name)
    try:
        with path.open("a", encoding="ascii", newline="\n") as f:
            for i in remaining:
                x, label = dataset[i]
                t0 = time.perf_counter()
                cert = smooth.certify(x, n0_i, n_i, a, ps, int(batch_size),
                                      seed=(int(seed), int(i)), mode=mode, alpha_split=split, grid=g or None,
                                      runner_up=runner_up)
                dt = time.perf_counter() - t0
                f.write(format_row(int(i), int(label), cert, ps, dt if timing else None) + "\n")
                f.flush()
                computed += 1
                if bar is not None:
                    bar.update(1)
                    el = time.perf_counter() - start
                    bar.set_postfix_str(f"{computed * (n0_i + n_i) / max(el, 1e-9):,.0f} fwd/s",
                                        refresh=False)
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - start
    return CertifyRun(path=path, total=len(todo), resumed_from=done, computed=computed,
                      seconds=seconds, forward_passes=computed * (n0_i + n_i),
                      sampling_seconds=smooth.sampling_seconds - s0,
                      radius_seconds=smooth.radius_seconds - r0)


def _progress(total: int, initial: int, enabled: bool | None, name: str) -> Any:
    """The run's progress on stderr (:func:`unicr.reporting.progress.progress`): a bar on a
    terminal, plain rate-limited lines otherwise (``None`` and ``True``), nothing (``False``)."""
    if enabled is False:
        return None
    from unicr.reporting.progress import progress

    return progress(total, name, unit="img", initial=initial, leave=True)


def _prepare_file(path: Path, header: list[str], columns: str, expected: list[int]) -> int:
    """Create the file, or check it and cut a torn last row; return the number of complete rows.

    ``expected`` is the full sequence of dataset indices of this run (before ``max``),
    so a file extended by an earlier run with a larger ``max`` is accepted as is.
    """
    head = ("\n".join([*header, columns]) + "\n").encode("ascii")
    if not path.exists() or path.stat().st_size == 0:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            f.write(head)
            f.flush()
        return 0
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ResultsError(f"cannot read existing results file {path}: {exc}") from None
    if not raw.startswith(head):
        if head.startswith(raw):  # killed while the header was being written
            path.write_bytes(head)
            return 0
        text = raw.decode("utf-8", errors="replace")
        old_header, _, _, _ = _split_lines(text)
        old = dict(_parse_header_line(h) for h in old_header)
        new = dict(_parse_header_line(h) for h in header)
        diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        what = ", ".join(diff) if diff else "the column line"
        raise ResultsError(
            f"{path} exists but was written by a different run (differs in: {what}); "
            "resuming needs exactly the same settings. Use another --out or delete the file."
        )
    lines = raw[len(head):].split(b"\n")
    tail = lines.pop()  # bytes after the last newline: a torn row (or b"")
    ncol = columns.count("\t") + 1
    good = 0
    for k, line in enumerate(lines):
        fields = line.split(b"\t")
        if len(fields) == ncol and k < len(expected) and fields[0] == str(expected[k]).encode():
            good += 1
            continue
        if k == len(lines) - 1 and not tail:
            break  # a malformed last line is treated like a torn row
        raise ResultsError(
            f"{path}: row {k + 1} does not match this run (expected index "
            f"{expected[k] if k < len(expected) else 'none'}, got {fields[0][:20]!r}); "
            "the file is corrupt or belongs to other settings"
        )
    keep = len(head) + sum(len(line) + 1 for line in lines[:good])
    if keep != len(raw):
        log.warning("%s: dropping an incomplete last row before resuming", path)
        with path.open("r+b") as f:
            f.truncate(keep)
    if good:
        log.info("%s: resuming after %d complete row(s)", path, good)
    return good


def iter_rows(path: str | os.PathLike[str]) -> Iterator[list[str]]:
    """The complete data rows of a results file, split into fields."""
    _, _, rows, _ = _split_lines(Path(path).read_text())
    for line in rows:
        if line:
            yield line.split("\t")
