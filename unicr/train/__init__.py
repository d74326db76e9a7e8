"""Training base classifiers with any registry noise as augmentation (checkpoints + resume);
training methods (plain augmentation, Nandi et al. 2023's R_S, Feng et al. 2020's ADRE)."""

from unicr.train.methods import (
    ADRE,
    METHODS,
    NANDI_RATIO,
    ADREAdv,
    NandiRS,
    NoiseAugmentation,
    TrainMethod,
    make_method,
    nu_sigma_u,
)
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
           "train", "TrainMethod", "NoiseAugmentation", "NandiRS", "ADRE", "ADREAdv", "METHODS",
           "make_method", "nu_sigma_u", "NANDI_RATIO"]
