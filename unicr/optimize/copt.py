"""C-OPT: choose a classifier's smoothing noise on a validation split, then certify the test split.

Hong, Wang & Hong 2022 (UniCR), Sec. 4 and Sec. 5.3 / Table 2: for a parameterised noise
family mu(x; theta) (their "alpha" vector of hyper-parameters) train one base classifier per
grid point with that noise as augmentation, certify it with the same noise, and keep the
grid point with the largest robustness score

    R_score = int_0^inf max_{sigma in Sigma} Acc_sigma(R) dR              (UniCR Eq. 5)

where Acc_sigma is the certified-accuracy curve of the classifier trained and certified
with the shape theta at scale sigma.  UniCR selects on the test images it reports; here:

1. **Split.**  A validation split of ``val_size`` images is carved from the *training* data
   by a seeded permutation (:func:`carve_split`); the base classifiers are trained on the
   rest.  The test split is never read before the winners are fixed.
2. **Grid.**  Every (shape, sigma) point, sigma-matched (``unicr.noise(family, sigma=s,
   **shape)``: beta fixes the shape, sigma the per-coordinate RMS), is trained
   (:func:`unicr.train.train`, resumable checkpoints) and certified on the validation
   split (:func:`unicr.smoothing.dataset.certify_dataset`, resumable TSV) with radii from
   a shared :class:`~unicr.smoothing.radii.RadiusBook` (proven lower-bound tables).
3. **Scores.**  Per point and norm the ACR (mean of R * 1{correct}, Zhai et al. 2020);
   per shape and norm UniCR's R_score over its sigmas.  Discretisation of Eq. 5:
   none -- :func:`unicr.smoothing.metrics.r_score` integrates the envelope of the
   step functions Acc_sigma exactly (the curves are constant between consecutive
   certified radii).
4. **Winners (validation only).**  Per norm: the *winner shape* is the shape with the
   largest validation R_score (UniCR's Table 2 reading); *the* winner -- the classifier
   that is deployed -- is the single (shape, sigma) with the largest validation ACR, because
   R_score's max over sigma is an envelope of several classifiers, not one classifier
   (docs/soundness-notes.md#s7).  Ties go to the earlier grid point.
5. **Test.**  Each distinct winner classifier is certified on the test split: that is an
   ordinary certificate (Cohen et al. 2019) of a classifier chosen without looking at the
   test data, valid per image with probability >= 1 - alpha - alpha_numerics.

Resume: every file is resumable on its own (checkpoints per epoch, TSV rows), finished
points are not redone, and ``summary.json`` is computed only from the files on disk and
written deterministically (sorted keys, no timings, no absolute paths): a run that is
killed and started again ends with the same bytes.  Timings (training, certification,
radius lookups versus sampling and forward passes) go to ``timing.json``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from unicr.certificate import norm_label, parse_norm
from unicr.checks import check_finite
from unicr.errors import InvalidParameterError

__all__ = ["CoptPlan", "CoptResult", "GridPoint", "run_copt", "carve_split", "read_summary",
           "UNICR_BETAS", "UNICR_SIGMAS", "SUMMARY_FORMAT"]

log = logging.getLogger(__name__)

#: UniCR Table 2's grid of the generalized normal's shape beta
UNICR_BETAS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 4.0, 5.0)
#: UniCR's sigma set Sigma of the robustness score (Sec. 5.3)
UNICR_SIGMAS = (0.12, 0.25, 0.5, 1.0)
SUMMARY_FORMAT = "unicr-copt"
SUMMARY_VERSION = 1
#: radii at which the summary reports approximate certified accuracy
SUMMARY_RADII = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
#: stream key of the validation split's permutation (seeded by (seed, this))
_SPLIT_STREAM = 0xC0_0715
R_SCORE_NOTE = ("UniCR Eq. 5, int_0^inf max_sigma Acc_sigma(R) dR over the plan's sigmas, "
                "integrated exactly on the step functions (no discretisation; "
                "unicr.smoothing.metrics.r_score); an envelope of several classifiers, not a "
                "certificate")




def _count(v: Any, what: str, low: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or int(v) < low:
        raise InvalidParameterError(f"{what} must be an integer >= {low}, got {v!r}")
    return int(v)


def family_params(family: str, d: int) -> tuple[Any, ...]:
    """The shape-parameter metadata (:class:`unicr.noises.base.Param`) of a registry family."""
    from unicr.noises.registry import builtin_class, builtin_names, catalogue
    from unicr.noises.registry import noise as make_noise

    if not isinstance(family, str) or not family.strip():
        raise InvalidParameterError(f"family must be a noise family name, got {family!r}")
    if family.endswith(".toml"):
        from unicr.noises.spec import load_spec

        return tuple(load_spec(family).params)
    key = family.strip().lower().replace("-", "_")
    for spec in catalogue():  # the catalogue comes first, as in unicr.noise()
        if key in {spec.name.lower(), *(a.lower() for a in spec.aliases)}:
            return tuple(spec.params)
    if key in builtin_names():
        return tuple(builtin_class(key).param_info)
    return tuple(make_noise(family, d=d).param_info)  # raises UnknownNoiseError with hints


@dataclass(frozen=True)
class GridPoint:
    """One grid point: shape parameters of the family and the sigma it is matched to."""

    params: tuple[tuple[str, float], ...]
    sigma: float

    @property
    def shape(self) -> tuple[tuple[str, float], ...]:
        return self.params

    @property
    def tag(self) -> str:
        """Folder name: ``beta=0.5_sigma=0.12`` (shortest round-trip numbers)."""
        return "_".join([*(f"{k}={v!r}" for k, v in self.params), f"sigma={self.sigma!r}"])

    def shape_text(self) -> str:
        return ", ".join(f"{k}={v:g}" for k, v in self.params)

    def to_dict(self) -> dict[str, Any]:
        return {"params": dict(self.params), "sigma": self.sigma, "tag": self.tag}


@dataclass(frozen=True)
class CoptPlan:
    """Everything that determines a C-OPT run (UniCR Sec. 4, C-OPT by grid search).

    ``grid`` maps each shape parameter of ``family`` to its values (the grid is their
    Cartesian product); ``sigmas`` is UniCR's set Sigma (each shape is sigma-matched to
    every sigma).  Training: ``arch`` for ``epochs`` with Adam at ``lr`` (``batch_size``),
    on the training pool (the first ``max_train`` training images, all by default) minus a
    validation split of ``val_size`` images carved by ``seed``.  Certification:
    ``n0`` selection and ``n`` estimation samples at failure probability ``alpha`` in the
    ``norms``; the test split's first ``test_max`` images (all when None).
    Use :meth:`checked` to validate and normalise.
    """

    family: str = "gennorm"
    grid: Mapping[str, Sequence[float]] = field(default_factory=lambda: {"beta": UNICR_BETAS})
    sigmas: Sequence[float] = UNICR_SIGMAS
    arch: str = "mlp"
    epochs: int = 3
    batch_size: int = 128
    optimizer: str = "adam"
    lr: float = 1e-3
    lr_step: int = 0
    lr_gamma: float = 0.1
    val_size: int = 500
    max_train: int | None = None
    test_max: int | None = 500
    n0: int = 100
    n: int = 1000
    alpha: float = 0.001
    norms: Sequence[Any] = (1, 2, math.inf)
    seed: int = 0
    batch: int = 1000

    # -- validation ---------------------------------------------------------------------
    def checked(self, d: int | None = None) -> CoptPlan:
        """A validated copy with canonical types; errors name the bad input.

        Refuses an empty grid or sigma set, a family without shape parameters (e.g.
        ``gaussian``), a parameter the family does not have (naming the family's
        parameters), a value outside a parameter's range, sigma <= 0, and bad counts.
        ``d`` is the input dimension (joint noises need it; default 784).
        """
        from unicr.noises.registry import noise as make_noise
        from unicr.smoothing.checks import validate_sampling
        from unicr.train import TrainConfig, ensure_known

        dim = 784 if d is None else int(d)
        info = family_params(self.family, dim)
        names = [p.name for p in info]
        if not names:
            raise InvalidParameterError(
                f"family {self.family!r} has no shape parameters, so there is nothing to "
                "optimise; C-OPT needs a parameterised family such as gennorm (beta), pareto "
                "(a), student_t (nu) or laplace_gaussian_mix (beta)")
        if not isinstance(self.grid, Mapping) or not self.grid:
            raise InvalidParameterError(
                f"the grid is empty; give values for a parameter of {self.family!r} "
                f"({', '.join(names)}), e.g. {names[0]}=0.5,1,2")
        grid: dict[str, tuple[float, ...]] = {}
        for key, values in self.grid.items():
            if key not in names:
                raise InvalidParameterError(
                    f"the grid names parameter {key!r}, which family {self.family!r} does not "
                    f"have; its parameters: {', '.join(names)}")
            vals = [values] if isinstance(values, (int, float)) else list(values)
            if not vals:
                raise InvalidParameterError(f"the grid of {key!r} is empty; give at least one "
                                            "value")
            out = tuple(check_finite(v, f"grid value of {key!r}") for v in vals)
            if len(set(out)) != len(out):
                raise InvalidParameterError(f"the grid of {key!r} repeats a value: "
                                            f"{', '.join(f'{v:g}' for v in out)}")
            grid[key] = out
        sig_list = [self.sigmas] if isinstance(self.sigmas, (int, float)) else list(self.sigmas)
        if not sig_list:
            raise InvalidParameterError("the sigma set is empty; give at least one sigma > 0")
        sigmas = tuple(check_finite(s, "sigma") for s in sig_list)
        bad = [s for s in sigmas if s <= 0]
        if bad:
            raise InvalidParameterError(f"sigma must be > 0, got {bad[0]!r}")
        if len(set(sigmas)) != len(sigmas):
            raise InvalidParameterError(f"the sigma set repeats a value: {list(sigmas)}")
        ensure_known(self.arch)
        cfg = TrainConfig(epochs=self.epochs, batch_size=self.batch_size,
                          optimizer=self.optimizer, lr=self.lr, lr_step=self.lr_step,
                          lr_gamma=self.lr_gamma, seed=self.seed)
        cfg.validate()
        n0, n, alpha = validate_sampling(self.n0, self.n, self.alpha)
        ps = [parse_norm(p) for p in (self.norms if not isinstance(self.norms, (int, float, str))
                                      else [self.norms])]
        if not ps or len(set(ps)) != len(ps):
            raise InvalidParameterError(f"norms must be distinct and non-empty, got "
                                        f"{list(self.norms)}")
        plan = CoptPlan(
            family=self.family, grid=grid, sigmas=sigmas, arch=self.arch,
            epochs=_count(self.epochs, "epochs"), batch_size=_count(self.batch_size, "batch_size"),
            optimizer=self.optimizer, lr=float(self.lr), lr_step=int(self.lr_step),
            lr_gamma=float(self.lr_gamma), val_size=_count(self.val_size, "val_size"),
            max_train=None if self.max_train is None else _count(self.max_train, "max_train", 2),
            test_max=None if self.test_max is None else _count(self.test_max, "test_max"),
            n0=n0, n=n, alpha=alpha, norms=tuple(ps), seed=_count(self.seed, "seed", 0),
            batch=_count(self.batch, "batch"))
        if plan.max_train is not None and plan.val_size >= plan.max_train:
            raise InvalidParameterError(
                f"val_size ({plan.val_size}) must be smaller than the training pool "
                f"(max_train = {plan.max_train}): some images must remain for training")
        for pt in plan.points():  # every noise of the grid must exist (ranges, finite sigma)
            make_noise(plan.family, sigma=pt.sigma, d=dim, **dict(pt.params))
        return plan

    def points(self) -> list[GridPoint]:
        """The grid in run order: shapes (Cartesian product, given order) x sigmas."""
        keys = list(self.grid)
        shapes = itertools.product(*(self.grid[k] for k in keys))
        return [GridPoint(tuple(zip(keys, (float(v) for v in shape))), float(s))
                for shape in shapes for s in self.sigmas]

    def shapes(self) -> list[tuple[tuple[str, float], ...]]:
        out: list[tuple[tuple[str, float], ...]] = []
        for pt in self.points():
            if pt.params not in out:
                out.append(pt.params)
        return out

    def train_config(self) -> Any:
        from unicr.train import TrainConfig

        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size,
                           optimizer=self.optimizer, lr=self.lr, lr_step=self.lr_step,
                           lr_gamma=self.lr_gamma, seed=self.seed)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["grid"] = {k: list(v) for k, v in self.grid.items()}
        out["sigmas"] = list(self.sigmas)
        out["norms"] = [norm_label(parse_norm(p)) for p in self.norms]
        return out

    def fixed_part(self) -> dict[str, Any]:
        """Settings every finished file depends on: a resume must not change them (the grid,
        the sigma set and ``test_max`` may grow or shrink)."""
        out = self.to_dict()
        for k in ("grid", "sigmas", "test_max"):
            out.pop(k)
        return out


def carve_split(pool_size: int, val_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train indices, validation indices)`` of a pool of training images, both sorted.

    A permutation of ``range(pool_size)`` from ``numpy.random.default_rng([seed, stream])``;
    its first ``val_size`` entries are the validation split.  Disjoint by construction
    (asserted), their union is the pool.
    """
    pool = _count(pool_size, "the training pool size", 2)
    v = _count(val_size, "val_size")
    if v >= pool:
        raise InvalidParameterError(
            f"val_size ({v}) must be smaller than the training pool ({pool} images): some "
            "images must remain for training")
    perm = np.random.default_rng([int(seed), _SPLIT_STREAM]).permutation(pool)
    val = np.sort(perm[:v]).astype(np.int64)
    train = np.sort(perm[v:]).astype(np.int64)
    assert np.intersect1d(val, train).size == 0 and val.size + train.size == pool
    return train, val


def indices_sha256(idx: np.ndarray) -> str:
    """SHA-256 of indices as little-endian int64 (identity of a split)."""
    return hashlib.sha256(np.ascontiguousarray(idx, dtype="<i8").tobytes()).hexdigest()


def weights_sha256(model: Any) -> str:
    """SHA-256 of a model's weights (names, dtypes, shapes, bytes), independent of the file:
    torch writes a fresh serialisation id into every checkpoint, so equal weights can have
    different file hashes."""
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        arr = t.detach().cpu().contiguous().numpy()
        h.update(f"{name}|{arr.dtype.str}|{arr.shape}|".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, indent=2, allow_nan=False) + "\n"


@dataclass
class CoptResult:
    """What :func:`run_copt` wrote: the summary (as in ``summary.json``), timings, folder."""

    out: Path
    summary: dict[str, Any]
    timing: dict[str, Any]

    @property
    def winners(self) -> dict[str, Any]:
        return self.summary["winners"]


def _check_out(out: Path, plan: CoptPlan) -> None:
    """Create ``out`` with ``plan.json``, or check that an existing one fits this plan."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "plan.json"
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidParameterError(f"{path} is unreadable ({exc}); delete it or use "
                                        "another output folder") from None
        old_fixed = {k: v for k, v in old.items() if k not in ("grid", "sigmas", "test_max")}
        new_fixed = plan.fixed_part()
        diff = sorted(k for k in set(old_fixed) | set(new_fixed)
                      if old_fixed.get(k) != new_fixed.get(k))
        if diff:
            raise InvalidParameterError(
                f"{out} holds a C-OPT run with other settings (differs in: {', '.join(diff)}); "
                "resuming needs the same settings (only the grid, the sigmas and test_max may "
                "change). Use another output folder")
    _write_atomic(path, _json(plan.to_dict()))


def _noise(plan: CoptPlan, pt: GridPoint, d: int) -> Any:
    from unicr.noises.registry import noise as make_noise

    return make_noise(plan.family, sigma=pt.sigma, d=d, **dict(pt.params))


def _checked_inputs(plan: CoptPlan, train_data: Any, test_data: Any) -> tuple[CoptPlan, int]:
    """``(plan checked for d, d)``; the splits must be in memory, shaped alike and distinct."""
    from unicr.data.datasets import ArrayDataset
    from unicr.models.archs import ARCHS

    if not isinstance(plan, CoptPlan):
        raise InvalidParameterError(f"plan must be a CoptPlan, got {type(plan).__name__}")
    if not isinstance(train_data, ArrayDataset):
        raise InvalidParameterError("C-OPT trains on an in-memory data set (ArrayDataset); "
                                    f"got {type(train_data).__name__}")
    shape = tuple(ARCHS[plan.arch].input_shape) if plan.arch in ARCHS else None
    d = math.prod(shape) if shape else math.prod(train_data.input_shape)
    plan = plan.checked(d)
    if shape is not None and tuple(train_data.input_shape) != shape:
        raise InvalidParameterError(
            f"the training data has inputs of shape {tuple(train_data.input_shape)}, but "
            f"architecture {plan.arch!r} expects {shape}")
    if tuple(test_data.input_shape) != tuple(train_data.input_shape):
        raise InvalidParameterError("the test data and the training data have different input "
                                    "shapes")
    if (getattr(test_data, "name", None), getattr(test_data, "split", None)) == \
            (train_data.name, train_data.split):
        raise InvalidParameterError(
            f"the test data is the same split ({train_data.name} {train_data.split}) as the "
            "training data; the validation split is carved from the training data and must "
            "never overlap the test split")
    return plan, d


@dataclass
class _CoptRun:
    """What every stage of one C-OPT invocation shares: plan, splits, radius book, timing file."""

    plan: CoptPlan
    out_dir: Path
    d: int
    train_set: Any
    val_set: Any
    val_ident: dict[str, Any]
    book: Any
    timing: dict[str, Any]
    device: str | None
    say: Callable[[str], None]
    hook: Callable[[str, str], None] | None

    @property
    def timing_path(self) -> Path:
        return self.out_dir / "timing.json"

    def save_timing(self) -> None:
        _write_atomic(self.timing_path, _json(self.timing))

    def stage_done(self, stage: str, tag: str) -> None:
        if self.hook is not None:
            self.hook(stage, tag)


def _grid_point(run: _CoptRun, k: int, pt: Any, n_points: int) -> None:
    """Train (or resume) the classifier of one grid point and certify the validation split."""
    from unicr.smoothing import Smooth
    from unicr.smoothing.dataset import certify_dataset
    from unicr.train import train

    plan, folder = run.plan, run.out_dir / "points" / pt.tag
    nz = _noise(plan, pt, run.d)
    t0 = time.perf_counter()
    res = train(plan.arch, run.train_set, nz, plan.train_config(), folder / "model.pt",
                device=run.device, progress=False)
    t_train = time.perf_counter() - t0
    entry = run.timing["points"].setdefault(pt.tag, {})
    if res.resumed_from < plan.epochs:  # recorded now: a kill during certification
        entry.update(train_seconds=t_train, epochs_run=plan.epochs - res.resumed_from)
        run.save_timing()
    run.stage_done("trained", pt.tag)
    smooth = Smooth(res.model, nz, device=run.device, radius=run.book.provider(nz))
    before = run.book.stats.seconds
    t1 = time.perf_counter()
    certified = certify_dataset(
        smooth, run.val_set, folder / "val.tsv", n0=plan.n0, n=plan.n, alpha=plan.alpha,
        norms=plan.norms, seed=plan.seed, batch_size=plan.batch, progress=False,
        meta={"model": {"arch": plan.arch, "weights_sha256": weights_sha256(res.model)},
              "data": {**run.val_ident, "role": "validation (carved from training data)"}})
    t_cert = time.perf_counter() - t1
    t_rad = run.book.stats.seconds - before
    if certified.computed:
        entry.update(val_certify_seconds=t_cert, val_images_certified=certified.computed,
                     val_radius_seconds=t_rad,
                     val_sampling_forward_seconds=max(t_cert - t_rad, 0.0))
        run.save_timing()
    run.stage_done("validated", pt.tag)
    acr_text = ", ".join(f"l{nl} {v:.4f}" for nl, v in _val_acr(folder / "val.tsv").items())
    trained = ("trained earlier" if res.resumed_from >= plan.epochs
               else f"train {t_train:.1f} s")
    certify_text = ("certified earlier" if certified.computed == 0
                    else f"certify {t_cert:.1f} s (radii {t_rad:.2f} s)")
    run.say(f"[{k + 1}/{n_points}] {plan.family} {pt.shape_text()}, sigma={pt.sigma:g}: "
            f"validation ACR {acr_text} ({trained}, {certify_text})")


def _certify_winners(run: _CoptRun, test_data: Any, test_count: int,
                     progress: bool | None) -> None:
    """Certify the test split once per distinct winning classifier (one per norm at most)."""
    from unicr.models.checkpoint import load_checkpoint
    from unicr.smoothing import Smooth
    from unicr.smoothing.dataset import certify_dataset

    plan, points = run.plan, run.plan.points()
    winners = _validation_summary(plan, run.out_dir)["winners"]
    tested: set[str] = set()
    for nl in sorted(winners, key=_norm_key):
        tag = winners[nl]["classifier"]["tag"]
        if tag in tested:
            continue
        pt = next(p for p in points if p.tag == tag)
        nz = _noise(plan, pt, run.d)
        model, _ = load_checkpoint(run.out_dir / "points" / tag / "model.pt",
                                   device=run.device or "cpu")
        smooth = Smooth(model, nz, device=run.device, radius=run.book.provider(nz))
        before = run.book.stats.seconds
        t1 = time.perf_counter()
        certified = certify_dataset(
            smooth, test_data, run.out_dir / "test" / f"{tag}.tsv", n0=plan.n0, n=plan.n,
            alpha=plan.alpha, norms=plan.norms, seed=plan.seed, max_count=test_count,
            batch_size=plan.batch, progress=progress,
            meta={"model": {"arch": plan.arch, "weights_sha256": weights_sha256(model)}})
        t_cert = time.perf_counter() - t1
        t_rad = run.book.stats.seconds - before
        if certified.computed:
            run.timing["test"][tag] = {"certify_seconds": t_cert,
                                       "images_certified": certified.computed,
                                       "radius_seconds": t_rad,
                                       "sampling_forward_seconds": max(t_cert - t_rad, 0.0)}
            run.save_timing()
        tested.add(tag)
        run.stage_done("tested", tag)
        run.say(f"test split: winner {plan.family} {pt.shape_text()}, sigma={pt.sigma:g} "
                f"certified on {test_count} image(s)")


def run_copt(plan: CoptPlan, out: str | os.PathLike[str], train_data: Any, test_data: Any, *,
             device: str | None = "cpu", progress: bool | None = None,
             report: Callable[[str], None] | None = None,
             hook: Callable[[str, str], None] | None = None,
             rel_loss: float = 1e-3) -> CoptResult:
    """Run (or resume) C-OPT (Hong et al. 2022, Sec. 4; Table 2's protocol with a validation split).

    ``train_data`` is the training split (an :class:`~unicr.data.datasets.ArrayDataset`);
    the validation split is carved from it (:func:`carve_split`), never from
    ``test_data``, which is only certified once the winners are fixed.  ``report`` receives
    one line per finished step; ``hook(stage, tag)`` is called after each stage
    (``"trained"``, ``"validated"``, ``"tested"``) -- used by the tests to interrupt a run.
    Files under ``out``: ``plan.json``, ``points/<tag>/model.pt`` and ``val.tsv``,
    ``test/<tag>.tsv``, ``summary.json`` (deterministic) and ``timing.json``.
    See the module docstring for the selection rule and what the final number certifies.
    """
    from unicr.smoothing.radii import RadiusBook

    plan, d = _checked_inputs(plan, train_data, test_data)
    out_dir = Path(out)
    _check_out(out_dir, plan)
    pool = train_data if plan.max_train is None else train_data.subset(
        range(min(plan.max_train, len(train_data))))
    train_idx, val_idx = carve_split(len(pool), plan.val_size, plan.seed)
    if np.intersect1d(train_idx, val_idx).size:  # pragma: no cover - carve_split asserts it
        raise AssertionError("validation and training indices overlap")
    val_set = pool.subset(val_idx.tolist())
    run = _CoptRun(
        plan=plan, out_dir=out_dir, d=d, train_set=pool.subset(train_idx.tolist()),
        val_set=val_set, book=RadiusBook(d, rel_loss=rel_loss),
        val_ident={"name": pool.name, "split": pool.split, "pool": len(pool),
                   "size": len(val_set), "indices_sha256": indices_sha256(val_idx)},
        timing=_load_timing(out_dir / "timing.json"), device=device,
        say=report or (lambda msg: log.info("%s", msg)), hook=hook)
    test_count = len(test_data) if plan.test_max is None else min(plan.test_max, len(test_data))
    points = plan.points()
    bar = _bar(len(points), progress, "C-OPT grid")
    try:
        for k, pt in enumerate(points):
            _grid_point(run, k, pt, len(points))
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    _certify_winners(run, test_data, test_count, progress)
    summary = build_summary(plan, out_dir, test_count=test_count, val_ident=run.val_ident,
                            train_size=len(run.train_set),
                            train_sha=indices_sha256(train_idx),
                            test_ident={"name": getattr(test_data, "name", "?"),
                                        "split": getattr(test_data, "split", "?")})
    _write_atomic(out_dir / "summary.json", _json(summary))
    run.timing["radius_book_last_invocation"] = run.book.stats.to_dict()
    run.timing["totals"] = _timing_totals(run.timing)
    run.save_timing()
    return CoptResult(out=out_dir, summary=summary, timing=run.timing)


def _bar(total: int, enabled: bool | None, desc: str) -> Any:
    if enabled is False:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="point", desc=desc,
                disable=None if enabled is None else not enabled, dynamic_ncols=True)


def _load_timing(path: Path) -> dict[str, Any]:
    try:
        t = json.loads(path.read_text())
        if isinstance(t, dict) and isinstance(t.get("points"), dict):
            t.setdefault("test", {})
            return t
    except (OSError, json.JSONDecodeError):
        pass
    return {"points": {}, "test": {},
            "note": "seconds measured by the invocation that did the work (a resumed run keeps "
                    "the earlier entries); radius = RadiusBook time (table builds, loads, "
                    "lookups), sampling_forward = certification wall time minus radius time "
                    "(noise draws, forward passes, Clopper-Pearson)"}


def _timing_totals(timing: dict[str, Any]) -> dict[str, float]:
    pts = timing["points"].values()
    tst = timing["test"].values()
    return {
        "train_seconds": sum(p.get("train_seconds", 0.0) for p in pts),
        "radius_seconds": sum(p.get("val_radius_seconds", 0.0) for p in pts)
        + sum(t.get("radius_seconds", 0.0) for t in tst),
        "sampling_forward_seconds": sum(p.get("val_sampling_forward_seconds", 0.0) for p in pts)
        + sum(t.get("sampling_forward_seconds", 0.0) for t in tst),
    }


def _norm_key(label: str) -> float:
    return parse_norm(label)


def _val_acr(path: Path) -> dict[str, float]:
    from unicr.smoothing.dataset import read_results
    from unicr.smoothing.metrics import acr

    res = read_results(path)
    return {nl: acr(res.correct, res.radii[nl]) for nl in res.norms}


def _results_entry(path: Path, base: Path) -> dict[str, Any]:
    """Per-norm metrics of one results file, from the file alone."""
    from unicr.smoothing.dataset import read_results
    from unicr.smoothing.metrics import acr, certified_accuracy

    res = read_results(path)
    per_norm = {}
    for nl in res.norms:
        ca = certified_accuracy(res.correct, res.radii[nl], np.asarray(SUMMARY_RADII))
        per_norm[nl] = {"acr": acr(res.correct, res.radii[nl]),
                        "certified_accuracy": {repr(r): float(a)
                                               for r, a in zip(SUMMARY_RADII, ca)}}
    return {"file": path.relative_to(base).as_posix(), "images": len(res),
            "abstain": int(res.abstain.sum()), "accuracy": float(res.correct.mean()),
            "norms": per_norm}


def _validation_summary(plan: CoptPlan, out: Path) -> dict[str, Any]:
    """Per-point validation metrics, R_score per shape and the winners (validation only)."""
    from unicr.smoothing.dataset import read_results
    from unicr.smoothing.metrics import r_score

    norms = [norm_label(parse_norm(p)) for p in plan.norms]
    points = plan.points()
    rows = []
    loaded = {}
    for pt in points:
        path = out / "points" / pt.tag / "val.tsv"
        loaded[pt.tag] = read_results(path)
        if len(loaded[pt.tag]) != plan.val_size:
            raise InvalidParameterError(f"{path} holds {len(loaded[pt.tag])} rows, expected "
                                        f"{plan.val_size}; run C-OPT again to complete it")
        rows.append({**pt.to_dict(), "validation": _results_entry(path, out)})
    shapes = []
    for shape in plan.shapes():
        mine = [pt for pt in points if pt.params == shape]
        scores = {nl: r_score([(loaded[pt.tag].correct, loaded[pt.tag].radii[nl])
                               for pt in mine]) for nl in norms}
        shapes.append({"params": dict(shape), "sigmas": [pt.sigma for pt in mine],
                       "r_score": scores})
    winners: dict[str, Any] = {}
    for nl in norms:
        best_shape = max(range(len(shapes)), key=lambda j: (shapes[j]["r_score"][nl], -j))
        best_pt = max(range(len(rows)),
                      key=lambda j: (rows[j]["validation"]["norms"][nl]["acr"], -j))
        winners[nl] = {
            "shape": {"params": shapes[best_shape]["params"],
                      "r_score": shapes[best_shape]["r_score"][nl]},
            "classifier": {"params": rows[best_pt]["params"], "sigma": rows[best_pt]["sigma"],
                           "tag": rows[best_pt]["tag"],
                           "validation_acr": rows[best_pt]["validation"]["norms"][nl]["acr"]},
        }
    return {"points": rows, "shapes": shapes, "winners": winners}


def build_summary(plan: CoptPlan, out: Path, *, test_count: int, val_ident: dict[str, Any],
                  train_size: int, train_sha: str, test_ident: dict[str, Any]) -> dict[str, Any]:
    """The content of ``summary.json``: computed only from the files under ``out``."""
    val = _validation_summary(plan, out)
    test: dict[str, Any] = {}
    for nl, w in sorted(val["winners"].items(), key=lambda kv: _norm_key(kv[0])):
        tag = w["classifier"]["tag"]
        entry = _results_entry(out / "test" / f"{tag}.tsv", out)
        if entry["images"] != test_count:
            raise InvalidParameterError(f"{out / 'test' / (tag + '.tsv')} holds "
                                        f"{entry['images']} rows, expected {test_count}")
        test[nl] = {"tag": tag, "params": w["classifier"]["params"],
                    "sigma": w["classifier"]["sigma"], "file": entry["file"],
                    "images": entry["images"], "abstain": entry["abstain"],
                    "accuracy": entry["accuracy"], **entry["norms"][nl]}
    return {
        "format": SUMMARY_FORMAT, "version": SUMMARY_VERSION,
        "method": "C-OPT (Hong et al. 2022, Sec. 4 and Table 2) with the winner chosen on a "
                  "validation split carved from the training data",
        "plan": plan.to_dict(),
        "split": {
            "validation": val_ident,
            "train": {"size": train_size, "indices_sha256": train_sha},
            "test": {**test_ident, "images": test_count,
                     "selection": f"the first {test_count} images of the test split"},
        },
        "r_score_definition": R_SCORE_NOTE,
        "selection": "per norm: winner shape = largest validation R_score over the sigmas; "
                     "winner classifier (the deployed one, certified on the test split) = "
                     "largest validation ACR over (shape, sigma); ties to the earlier grid "
                     "point",
        "points": val["points"],
        "shapes": val["shapes"],
        "winners": val["winners"],
        "test": test,
        "test_statement": "ordinary certificates (Cohen et al. 2019) of the winner classifier, "
                          "chosen without the test split: per image valid with probability >= "
                          "1 - alpha - alpha_numerics; certified accuracy and ACR are "
                          "approximate (per-image failures add up)",
    }


def read_summary(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a ``summary.json`` written by :func:`run_copt` (its folder or the file)."""
    p = Path(path)
    if p.is_dir():
        p = p / "summary.json"
    try:
        s = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidParameterError(f"cannot read C-OPT summary {p}: {exc}") from None
    if not isinstance(s, dict) or s.get("format") != SUMMARY_FORMAT:
        raise InvalidParameterError(f"{p} is not a C-OPT summary (format {SUMMARY_FORMAT!r})")
    return s
