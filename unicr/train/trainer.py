"""Training base classifiers with noise augmentation, CPU friendly, with checkpoints and resume.

Cohen, Rosenfeld & Kolter 2019 (Sec. 3.3 and their ``train.py``) train the base
classifier on x + eps with one fresh Gaussian draw per example and step; here eps
comes from any registry noise (the training noise may differ from the
certification noise).  The noise is drawn on the model's device in the batch loop.

Reproducibility and resume: the initial weights derive from the seed, epoch e
shuffles with a generator seeded by (seed, e, 0) and draws noise from (seed, e, 1).  A checkpoint
(``{"arch", "state_dict", "optimizer", "epoch", "train": {...}}``, Cohen et al.'s
format plus entries) is written atomically after every epoch; rerunning the same
command continues after the last finished epoch, and the result equals an
uninterrupted run.  The learning-rate schedule (multiply by ``lr_gamma`` every
``lr_step`` epochs, Cohen et al.'s step schedule) does not depend on the total
number of epochs, so a finished run can be extended with more epochs.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from unicr.data.datasets import ArrayDataset
from unicr.errors import UnicrError
from unicr.models.archs import SmoothableModel
from unicr.models.checkpoint import build_model, load_checkpoint, save_checkpoint
from unicr.noises.base import Noise
from unicr.smoothing.sampling import NoiseSampler, derive_seed, make_generator, resolve_device

__all__ = ["TrainError", "TrainConfig", "TrainResult", "train", "evaluate", "ensure_known",
           "OPTIMIZERS"]

log = logging.getLogger(__name__)

OPTIMIZERS = ("adam", "sgd")
#: seed key of the initial weights (epochs use keys (seed, epoch, 0/1))
_INIT_STREAM = 999_999_937


class TrainError(UnicrError, ValueError):
    """Training settings are invalid or a checkpoint to resume belongs to another run."""


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters; everything except ``epochs`` must match to resume a checkpoint."""

    epochs: int
    batch_size: int = 128
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    lr_step: int = 0
    lr_gamma: float = 0.1
    seed: int = 0

    def validate(self) -> None:
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or int(v) != v or v < 1:
                raise TrainError(f"{name} must be a positive integer, got {v!r}")
        if self.optimizer not in OPTIMIZERS:
            raise TrainError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, "
                             f"got {self.optimizer!r}")
        for name in ("lr", "lr_gamma"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise TrainError(f"{name} must be finite and > 0, got {v!r}")
        if not (0 <= self.momentum < 1) or not (math.isfinite(self.weight_decay)
                                                 and self.weight_decay >= 0):
            raise TrainError("momentum must lie in [0, 1) and weight_decay be >= 0")
        if int(self.lr_step) != self.lr_step or self.lr_step < 0:
            raise TrainError(f"lr_step must be an integer >= 0, got {self.lr_step!r}")
        if int(self.seed) != self.seed or self.seed < 0:
            raise TrainError(f"seed must be a non-negative integer, got {self.seed!r}")

    def identity(self) -> dict[str, Any]:
        return {"batch_size": int(self.batch_size), "optimizer": self.optimizer,
                "lr": float(self.lr), "momentum": float(self.momentum),
                "weight_decay": float(self.weight_decay), "lr_step": int(self.lr_step),
                "lr_gamma": float(self.lr_gamma), "seed": int(self.seed)}

    def lr_at(self, epoch: int) -> float:
        """Learning rate of (0-based) ``epoch``: lr * gamma^(epoch // lr_step)."""
        if self.lr_step <= 0:
            return float(self.lr)
        return float(self.lr) * float(self.lr_gamma) ** (epoch // self.lr_step)


@dataclass
class TrainResult:
    """What :func:`train` did: the model (eval mode), epochs run now and in total, history."""

    model: SmoothableModel
    path: Path | None
    epochs_done: int
    resumed_from: int
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


def _make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                               weight_decay=cfg.weight_decay)
    return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)


def evaluate(model: nn.Module, dataset: ArrayDataset, batch_size: int = 1000,
             device: str | torch.device | None = None) -> float:
    """Clean accuracy of the base classifier (eval mode, no noise)."""
    dev = resolve_device(device, model)
    was_training = model.training
    model.eval()
    correct = 0
    with torch.inference_mode():
        for start in range(0, len(dataset), batch_size):
            idx = torch.arange(start, min(start + batch_size, len(dataset)))
            x, y = dataset.batch(idx)
            pred = model(x.to(dev)).argmax(1).cpu()
            correct += int((pred == y).sum())
    model.train(was_training)
    return correct / max(len(dataset), 1)


def _data_identity(dataset: ArrayDataset) -> dict[str, Any]:
    return {"name": getattr(dataset, "name", "?"), "split": getattr(dataset, "split", "?"),
            "size": len(dataset)}


def _initial_model(arch: str | SmoothableModel, dataset: ArrayDataset,
                   config: TrainConfig) -> SmoothableModel:
    """The model to train: built from the run's seed (``arch`` a name) or given; shapes checked."""
    if isinstance(arch, str):
        # initial weights from the run's seed (torch's initialisers draw from the global
        # generator: fork it so the caller's random state is untouched)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derive_seed(config.seed, _INIT_STREAM))
            model = build_model(arch, num_classes=dataset.num_classes)
    else:
        model = arch
    if tuple(dataset.input_shape) != tuple(model.input_shape):
        raise TrainError(f"the data has inputs of shape {tuple(dataset.input_shape)}, but "
                         f"architecture {model.arch!r} expects {tuple(model.input_shape)}")
    if dataset.num_classes > model.num_classes:
        raise TrainError(f"the data has {dataset.num_classes} classes, but the model predicts "
                         f"{model.num_classes}")
    return model


def _resume(path: Path, identity: dict[str, Any], device: torch.device, config: TrainConfig
            ) -> tuple[SmoothableModel, torch.optim.Optimizer, int, list[dict[str, float]]]:
    """``(model, optimizer, epochs done, history)`` from the checkpoint of the same run."""
    loaded, info = load_checkpoint(path, device=device, with_optimizer=True)
    old = (info.get("train") or {}).get("identity")
    if old != identity:
        diff = sorted(k for k in set(old or {}) | set(identity)
                      if (old or {}).get(k) != identity.get(k))
        raise TrainError(
            f"{path} exists but comes from a different training run (differs in: "
            f"{', '.join(diff) or 'metadata'}); use another --out or delete it")
    optimizer = _make_optimizer(loaded, config)
    if "optimizer" in info:
        optimizer.load_state_dict(info["optimizer"])
    log.info("%s: resuming after epoch %d", path, int(info.get("epoch", 0)))
    return (loaded, optimizer, int(info.get("epoch", 0)),
            list((info.get("train") or {}).get("history", [])))


def _one_epoch(model: SmoothableModel, optimizer: torch.optim.Optimizer, dataset: ArrayDataset,
               sampler: NoiseSampler | None, config: TrainConfig, epoch: int,
               device: torch.device, bar: Any) -> dict[str, float]:
    """One pass over the data in the run's seeded order, noise added per batch; its record."""
    lr = config.lr_at(epoch)
    for group in optimizer.param_groups:
        group["lr"] = lr
    model.train()
    n = len(dataset)
    perm = torch.randperm(n, generator=make_generator("cpu", config.seed, epoch, 0))
    g_noise = make_generator(device, config.seed, epoch, 1)
    loss_fn = nn.CrossEntropyLoss()
    total_loss, total_correct = 0.0, 0
    for step in range(math.ceil(n / config.batch_size)):
        idx = perm[step * config.batch_size:(step + 1) * config.batch_size]
        x, y = dataset.batch(idx)
        x, y = x.to(device), y.to(device)
        if sampler is not None:
            x = x + sampler.draw(x.shape[0], g_noise)
        logits = model(x)
        loss = loss_fn(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += float(loss.detach()) * y.shape[0]
        total_correct += int((logits.detach().argmax(1) == y).sum())
        if bar is not None:
            bar.update(1)
    return {"epoch": epoch + 1, "lr": lr, "loss": total_loss / n,
            "train_noisy_acc": total_correct / n}


def train(arch: str | SmoothableModel, dataset: ArrayDataset, noise: Noise | None,
          config: TrainConfig, out: str | os.PathLike[str] | None = None, *,
          device: str | torch.device | None = None, resume: bool = True,
          eval_data: ArrayDataset | None = None, progress: bool | None = None,
          on_epoch: Callable[[dict[str, float]], None] | None = None) -> TrainResult:
    """Train ``arch`` on ``dataset`` with ``noise`` added to each input (Cohen et al. 2019, 3.3).

    ``noise=None`` trains on clean inputs.  With ``out`` a checkpoint is written after
    every epoch; if ``out`` exists and ``resume`` is true, training continues from it
    (it must come from the same settings, data and noise).  Returns the trained model
    in eval mode.
    """
    config.validate()
    if not isinstance(dataset, ArrayDataset):
        raise TrainError("training needs an in-memory data set (fashion-mnist or cifar10)")
    if len(dataset) == 0:
        raise TrainError("the training set is empty")
    dev = resolve_device(device)
    model = _initial_model(arch, dataset, config)
    noise_def = None if noise is None else noise.definition()
    identity = {"arch": model.arch, "noise": noise_def, "data": _data_identity(dataset),
                **config.identity()}
    model.to(dev)
    optimizer = _make_optimizer(model, config)
    start_epoch = 0
    history: list[dict[str, float]] = []
    path = Path(out) if out is not None else None
    if path is not None and path.exists() and resume:
        model, optimizer, start_epoch, history = _resume(path, identity, dev, config)
    sampler = None if noise is None else NoiseSampler(noise, model.input_shape, dev)
    steps = math.ceil(len(dataset) / config.batch_size)
    t_start = time.perf_counter()
    bar = None
    if progress is not False and start_epoch < config.epochs:
        from tqdm.auto import tqdm

        bar = tqdm(total=(config.epochs - start_epoch) * steps, unit="batch", desc="train",
                   disable=None if progress is None else not progress, dynamic_ncols=True)
    try:
        for epoch in range(start_epoch, config.epochs):
            record = _one_epoch(model, optimizer, dataset, sampler, config, epoch, dev, bar)
            if eval_data is not None:
                record["clean_acc"] = evaluate(model, eval_data, device=dev)
            history.append(record)
            log.info("epoch %d: %s", epoch + 1, record)
            if on_epoch is not None:
                on_epoch(record)
            if path is not None:
                model.eval()
                save_checkpoint(path, model, epoch=epoch + 1, optimizer=optimizer.state_dict(),
                                train={"identity": identity, "history": history,
                                       "sigma": None if noise is None else noise.sigma})
    finally:
        if bar is not None:
            bar.close()
    model.eval()
    return TrainResult(model=model, path=path, epochs_done=max(config.epochs, start_epoch),
                       resumed_from=start_epoch, history=history,
                       seconds=time.perf_counter() - t_start)


def ensure_known(arch: str) -> None:
    """Raise :class:`TrainError` for an unknown architecture name."""
    from unicr.models.archs import ARCHS

    if arch not in ARCHS:
        raise TrainError(f"unknown architecture {arch!r}; known: {', '.join(sorted(ARCHS))}")

