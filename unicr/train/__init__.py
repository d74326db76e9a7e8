"""Training base classifiers with any registry noise as augmentation (checkpoints + resume)."""

from unicr.train.trainer import (
    OPTIMIZERS,
    TrainConfig,
    TrainError,
    TrainResult,
    ensure_known,
    evaluate,
    train,
)

__all__ = ["OPTIMIZERS", "TrainConfig", "TrainError", "TrainResult", "ensure_known", "evaluate",
           "train"]
