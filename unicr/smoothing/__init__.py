"""Smoothed classifiers on PyTorch: sampling on the model's device, CERTIFY/PREDICT,
dataset certification with resume, and dataset metrics."""

from unicr.smoothing.dataset import CertifyRun, Results, certify_dataset, read_results
from unicr.smoothing.metrics import (
    accuracy_curve,
    acr,
    certified_accuracy,
    certified_accuracy_hp,
    r_score,
)
from unicr.smoothing.sampling import NoiseSampler, SmoothingError, check_eval_mode, sample_counts
from unicr.smoothing.smooth import (
    ABSTAIN,
    EngineRadius,
    RadiusProvider,
    Smooth,
    SmoothCertificate,
    certify_from_counts,
)

__all__ = [
    "ABSTAIN",
    "CertifyRun",
    "Results",
    "certify_dataset",
    "read_results",
    "EngineRadius",
    "NoiseSampler",
    "RadiusProvider",
    "Smooth",
    "SmoothCertificate",
    "SmoothingError",
    "accuracy_curve",
    "acr",
    "certified_accuracy",
    "certified_accuracy_hp",
    "certify_from_counts",
    "check_eval_mode",
    "r_score",
    "sample_counts",
]
