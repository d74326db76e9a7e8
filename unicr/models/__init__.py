"""Base classifiers: architectures in plain torch and safe checkpoint loading.

>>> from unicr.models import build_model
>>> model = build_model("cnn")          # Sequential(NormalizeLayer, SmallCNN)
>>> model.input_shape, model.num_classes
((1, 28, 28), 10)
"""

from unicr.models.archs import ARCHS, ArchSpec, NormalizeLayer, SmoothableModel
from unicr.models.checkpoint import (
    CheckpointError,
    arch_names,
    build_model,
    load_checkpoint,
    save_checkpoint,
)

__all__ = [
    "ARCHS",
    "ArchSpec",
    "NormalizeLayer",
    "SmoothableModel",
    "CheckpointError",
    "arch_names",
    "build_model",
    "load_checkpoint",
    "save_checkpoint",
]
