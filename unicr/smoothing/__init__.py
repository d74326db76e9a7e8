"""Smoothed classifiers on PyTorch: sampling on the model's device, CERTIFY/PREDICT,
dataset certification with resume, and dataset metrics.

The names below are loaded on first use (PEP 562), so that reading results files
(:func:`read_results`, the metrics, ``unicr analyze``) does not import PyTorch.
"""

from __future__ import annotations

from unicr._lazy import lazy_names

#: public name -> submodule that defines it
_WHERE = {
    "CertifyRun": "dataset", "Results": "dataset", "certify_dataset": "dataset",
    "read_results": "dataset",
    "accuracy_curve": "metrics", "acr": "metrics", "certified_accuracy": "metrics",
    "certified_accuracy_hp": "metrics", "r_score": "metrics",
    "NoiseSampler": "sampling", "SmoothingError": "sampling", "check_eval_mode": "sampling",
    "sample_counts": "sampling",
    "ABSTAIN": "checks",
    "EngineRadius": "radii", "RadiusProvider": "radii", "CurveRadius": "radii",
    "RadiusBook": "radii", "Smooth": "smooth",
    "SmoothCertificate": "smooth", "certify_from_counts": "smooth",
}

__all__ = sorted(_WHERE)


__getattr__, __dir__ = lazy_names(__name__, _WHERE)
