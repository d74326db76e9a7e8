"""The error of the training package (shared by the trainer and the training methods)."""

from __future__ import annotations

from unicr.errors import UnicrError

__all__ = ["TrainError"]


class TrainError(UnicrError, ValueError):
    """Training settings are invalid or a checkpoint to resume belongs to another run."""
