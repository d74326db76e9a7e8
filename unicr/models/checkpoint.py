"""Building models by name and reading/writing checkpoints safely.

Checkpoint format (Cohen, Rosenfeld & Kolter 2019's ``train.py``)::

    {"arch": "cifar_resnet110", "state_dict": model.state_dict(), ...}

Cohen et al.'s published checkpoints use this format (with DataParallel's
``module.`` inside the ImageNet keys, stripped here).  unicr writes the same
format and adds plain entries (``epoch``, ``optimizer``, ``normalization``,
``num_classes``, ``unicr`` metadata).  Checkpoints are read with
``torch.load(weights_only=True)``: a pickle that would run arbitrary code is
refused with :class:`CheckpointError`.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from unicr.errors import UnicrError
from unicr.models.archs import ARCHS, NormalizeLayer, SmoothableModel

__all__ = ["CheckpointError", "build_model", "load_checkpoint", "save_checkpoint", "arch_names"]

log = logging.getLogger(__name__)


class CheckpointError(UnicrError, ValueError):
    """A checkpoint is missing, unsafe, malformed or does not match its architecture."""


def arch_names() -> list[str]:
    """Registered architecture names."""
    return sorted(ARCHS)


def build_model(arch: str, num_classes: int | None = None, mean: Sequence[float] | None = None,
                std: Sequence[float] | None = None) -> SmoothableModel:
    """A freshly initialised ``Sequential(NormalizeLayer, backbone)`` for ``arch``.

    ``num_classes``, ``mean`` and ``std`` default to the architecture's dataset
    (Fashion-MNIST, CIFAR-10 or ImageNet; Cohen et al. 2019's constants).
    """
    if arch not in ARCHS:
        raise CheckpointError(f"unknown architecture {arch!r}; known: {', '.join(arch_names())}")
    spec = ARCHS[arch]
    k = spec.num_classes if num_classes is None else int(num_classes)
    if k < 2:
        raise CheckpointError(f"num_classes must be >= 2, got {num_classes!r}")
    mean = spec.mean if mean is None else tuple(float(v) for v in mean)
    std = spec.std if std is None else tuple(float(v) for v in std)
    if len(mean) != spec.input_shape[0] or len(std) != spec.input_shape[0]:
        raise CheckpointError(
            f"{arch}: normalisation needs {spec.input_shape[0]} channel value(s), "
            f"got mean={list(mean)}, std={list(std)}"
        )
    try:
        norm = NormalizeLayer(mean, std)
    except ValueError as exc:
        raise CheckpointError(f"{arch}: {exc}") from None
    return SmoothableModel(norm, spec.builder(k), arch=arch, input_shape=spec.input_shape,
                           num_classes=k)


def _torch_load(path: Path, map_location: Any) -> Any:
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        if "weights_only" in text.lower() or "Weights only load failed" in text:
            first = text.strip().splitlines()
            why = next((ln.strip() for ln in first if "Unsupported global" in ln
                        or "Unsupported operand" in ln), "")
            raise CheckpointError(
                f"refusing to load checkpoint {path}: it is a pickle with Python objects other "
                "than tensors and plain containers, and unpickling it could run arbitrary code "
                f"(torch.load(weights_only=True) rejected it{': ' + why if why else ''}). "
                "Re-save it from trusted code as {'arch': NAME, 'state_dict': model.state_dict()}."
            ) from None
        raise CheckpointError(f"{path} is not a readable torch checkpoint: {text}") from None
    except Exception as exc:  # any other failure of the reader: the file is not a checkpoint
        raise CheckpointError(
            f"{path} is not a readable torch checkpoint ({type(exc).__name__}: {exc})"
        ) from None


_PREFIX = re.compile(r"(^|\.)module\.")


def _clean_state_dict(sd: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """Strip DataParallel's ``module.`` components; accept a bare backbone state dict."""
    out: dict[str, torch.Tensor] = {}
    for k, v in sd.items():
        if not isinstance(k, str) or not isinstance(v, torch.Tensor):
            raise CheckpointError(f"state_dict entry {k!r} is not a named tensor")
        out[_PREFIX.sub(r"\1", k)] = v
    if out and not any(k.startswith(("0.", "1.")) for k in out):
        out = {f"1.{k}": v for k, v in out.items()}  # backbone only (no normalisation wrapper)
    return out


def _check_finite(path: Path, sd: Mapping[str, torch.Tensor]) -> None:
    """Refuse a state dict with a NaN or infinite entry, naming the first such tensor.

    A model with non-finite weights predicts garbage (usually one class for every input, or
    NaN logits that ``argmax`` turns into class 0); certifying it would print radii for a
    classifier that does not exist.  Integer tensors (``num_batches_tracked``) are always
    finite.
    """
    for key, t in sd.items():
        if not (t.is_floating_point() or t.is_complex()):
            continue
        finite = torch.isfinite(t)
        if not bool(finite.all()):
            bad = int((~finite).sum())
            first = t.reshape(-1)[int((~finite).reshape(-1).nonzero()[0])].item()
            raise CheckpointError(
                f"checkpoint {path}: tensor {key} has {bad} non-finite value(s) (first: "
                f"{first}) of {t.numel()}; the model is broken (diverged training?) and cannot "
                "be certified")


#: checkpoint entries that hold training state, left out of ``info`` unless asked for
TRAINING_STATE = ("optimizer",)


def load_checkpoint(path: str | os.PathLike[str], device: str | torch.device = "cpu",
                    arch: str | None = None, *, with_optimizer: bool = False,
                    ) -> tuple[SmoothableModel, dict[str, Any]]:
    """Load ``{"arch", "state_dict"}`` (Cohen et al. 2019's format) into a fresh model in eval mode.

    Returns ``(model, info)``: the checkpoint's other entries (``arch``, ``epoch``,
    ``normalization``, ``num_classes``, ``train`` ...) plus ``path``.  The optimizer state a
    training run saves (:data:`TRAINING_STATE`, as large as the model) is left out unless
    ``with_optimizer=True`` (what resuming a training run needs).  ``arch`` may be given to
    check (or supply, for a checkpoint without one) the architecture.  Raises
    :class:`CheckpointError` naming the file for a missing file, an unsafe pickle,
    a missing ``arch``/``state_dict``, an unknown architecture, tensors that do
    not fit the architecture, or a NaN/infinite weight (naming the first such tensor).
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint {p} does not exist (or is not a file)")
    ckpt = _torch_load(p, map_location="cpu")
    if not isinstance(ckpt, Mapping):
        raise CheckpointError(
            f"checkpoint {p} holds a {type(ckpt).__name__}, expected a dict "
            "{'arch': NAME, 'state_dict': ...}"
        )
    if "state_dict" not in ckpt:
        raise CheckpointError(f"checkpoint {p} has no 'state_dict' entry (keys: {sorted(ckpt)})")
    name = ckpt.get("arch", arch)
    if name is None:
        raise CheckpointError(
            f"checkpoint {p} has no 'arch' entry; pass the architecture explicitly")
    if arch is not None and name != arch:
        raise CheckpointError(f"checkpoint {p} is a {name!r} model, but {arch!r} was requested")
    if name not in ARCHS:
        raise CheckpointError(
            f"checkpoint {p}: unknown architecture {name!r}; known: {', '.join(arch_names())}"
        )
    sd = ckpt["state_dict"]
    if not isinstance(sd, Mapping):
        raise CheckpointError(f"checkpoint {p}: 'state_dict' is not a dict of tensors")
    sd = _clean_state_dict(sd)
    _check_finite(p, sd)
    norm = ckpt.get("normalization") or {}
    num_classes = ckpt.get("num_classes")
    if num_classes is None:
        fc = [v for k, v in sd.items() if k.endswith(".weight") and v.ndim == 2]
        num_classes = int(fc[-1].shape[0]) if fc else None
    model = build_model(name, num_classes=num_classes, mean=norm.get("mean"), std=norm.get("std"))
    expected = model.state_dict()
    missing = [k for k in expected if k not in sd and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in sd if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensor(s) (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(
                f"unexpected {len(unexpected)} tensor(s) (e.g. {', '.join(unexpected[:3])})")
        raise CheckpointError(f"checkpoint {p} does not fit architecture {name!r}: "
                              + "; ".join(parts))
    bad = [k for k in sd if tuple(sd[k].shape) != tuple(expected[k].shape)]
    if bad:
        k = bad[0]
        raise CheckpointError(
            f"checkpoint {p} does not fit architecture {name!r}: tensor {k} has shape "
            f"{tuple(sd[k].shape)}, expected {tuple(expected[k].shape)}"
        )
    model.load_state_dict(sd, strict=False)
    model.to(device)
    model.eval()
    info = {k: v for k, v in ckpt.items()
            if k != "state_dict" and (with_optimizer or k not in TRAINING_STATE)}
    info["arch"] = name
    info["path"] = str(p)
    return model, info


def save_checkpoint(path: str | os.PathLike[str], model: SmoothableModel, **extra: Any) -> Path:
    """Write ``{"arch", "state_dict", "num_classes", "normalization", **extra}`` atomically.

    The file is written next to its destination and renamed, so a crash never
    leaves a truncated checkpoint.  ``extra`` must hold only tensors and plain
    containers (the file must load with ``weights_only=True``).
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu") for k, v in model.state_dict().items()}
    ckpt: dict[str, Any] = {
        "arch": model.arch,
        "state_dict": state,
        "num_classes": model.num_classes,
        "normalization": model.normalization,
    }
    ckpt.update(extra)
    fd, tmp = tempfile.mkstemp(prefix=p.name + ".", suffix=".tmp", dir=p.parent)
    os.close(fd)
    try:
        torch.save(ckpt, tmp)
        os.replace(tmp, p)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return p
