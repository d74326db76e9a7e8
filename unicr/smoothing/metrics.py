"""Dataset-level metrics of certification results: certified accuracy, ACR, R_score, curves.

All functions take per-image arrays: ``correct`` (the certified prediction equals the
label; abstentions are never correct) and ``radius`` (the certified radius; its value
is ignored where ``correct`` is False, so abstentions may carry any placeholder).

* approximate certified accuracy at r (Cohen, Rosenfeld & Kolter 2019, Sec. 4 and
  their ``analyze.ApproximateAccuracy``): fraction of points with a correct certified
  prediction and radius >= r.  Each point's certificate may fail with probability
  alpha, so this is not a high-probability statement (docs/soundness-notes.md#s6);
* Cohen et al.'s high-probability version (``analyze.HighProbAccuracy``):
  m - alpha - sqrt(alpha (1 - alpha) ln(1/rho) / N) - ln(1/rho) / (3N);
* ACR, the average certified radius (Zhai et al. 2020): mean of R * 1{correct};
* UniCR's robustness score (Hong et al. 2022, Eq. 5): R_score = int_0^inf max_sigma
  Acc_sigma(R) dR — the area under the envelope of several classifiers' curves,
  computed exactly for the step functions (no discretisation).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from unicr.errors import InvalidParameterError

__all__ = [
    "certified_accuracy",
    "certified_accuracy_hp",
    "acr",
    "r_score",
    "accuracy_curve",
    "radius_grid",
    "summarize",
    "r_scores",
]


def _arrays(correct: Sequence[bool] | np.ndarray,
            radius: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = np.asarray(correct, dtype=bool)
    r = np.asarray(radius, dtype=np.float64)
    if c.shape != r.shape or c.ndim != 1:
        raise InvalidParameterError(f"correct and radius must be 1-D arrays of equal length, got "
                                    f"shapes {c.shape} and {r.shape}")
    r = np.where(c, r, 0.0)
    if np.any(np.isnan(r)) or np.any(r < 0):
        raise InvalidParameterError("certified radii of correct points must be >= 0 (no NaN)")
    return c, r


def certified_accuracy(correct: Sequence[bool] | np.ndarray, radius: Sequence[float] | np.ndarray,
                       r: float | Sequence[float] | np.ndarray) -> float | np.ndarray:
    """Approximate certified accuracy at ``r`` (scalar or array): mean(correct & radius >= r).

    Cohen et al. 2019, ``ApproximateAccuracy.at_radius``.  At r = 0 it is the accuracy
    of the certified predictions (abstentions count as wrong).
    """
    c, rad = _arrays(correct, radius)
    rs = np.asarray(r, dtype=np.float64)
    if c.size == 0:
        raise InvalidParameterError("certified_accuracy: no results")
    out = (c[None, :] & (rad[None, :] >= rs.reshape(-1, 1))).mean(axis=1)
    return float(out[0]) if rs.ndim == 0 else out.reshape(rs.shape)


def certified_accuracy_hp(accuracy: float | np.ndarray, num_points: int, alpha: float,
                          rho: float = 0.001) -> float | np.ndarray:
    """Cohen et al. 2019's high-probability lower bound on the true certified accuracy.

    ``accuracy - alpha - sqrt(alpha (1 - alpha) ln(1/rho) / N) - ln(1/rho) / (3 N)``
    (their ``analyze.HighProbAccuracy``; Bernstein's inequality over N points whose
    certificates fail independently with probability <= alpha), which holds with
    probability >= 1 - rho.  Clipped at 0.
    """
    if num_points < 1:
        raise InvalidParameterError(f"num_points must be >= 1, got {num_points}")
    for name, v in (("alpha", alpha), ("rho", rho)):
        if not (0.0 < v < 1.0):
            raise InvalidParameterError(f"{name} must lie strictly between 0 and 1, got {v!r}")
    log_term = math.log(1.0 / rho)
    slack = alpha + math.sqrt(alpha * (1 - alpha) * log_term / num_points) \
        + log_term / (3 * num_points)
    out = np.maximum(np.asarray(accuracy, dtype=np.float64) - slack, 0.0)
    return float(out) if out.ndim == 0 else out


def acr(correct: Sequence[bool] | np.ndarray, radius: Sequence[float] | np.ndarray) -> float:
    """Average certified radius (Zhai et al. 2020; Nandi et al. 2023, Eq. 1): mean(R * 1{correct}).

    Equals the integral of the approximate certified-accuracy curve over r in [0, inf).
    """
    c, r = _arrays(correct, radius)
    if c.size == 0:
        raise InvalidParameterError("acr: no results")
    return float(np.mean(np.where(c, r, 0.0)))


def r_score(results: Sequence[tuple[Sequence[bool] | np.ndarray, Sequence[float] | np.ndarray]],
            ) -> float:
    """UniCR's robustness score (Hong et al. 2022, Eq. 5): int_0^inf max_k Acc_k(R) dR.

    ``results`` holds one ``(correct, radius)`` pair per smoothed classifier (one per
    sigma of the set).  The curves are right-continuous step functions, so the
    integral is exact: between consecutive radii every curve is constant.  For a
    single classifier R_score equals its ACR.  The maximum picks a different
    classifier per radius level: it is an envelope, not one deployed classifier
    (docs/soundness-notes.md#s7).
    """
    if not results:
        raise InvalidParameterError("r_score: no results")
    pairs = [_arrays(c, r) for c, r in results]
    if any(c.size == 0 for c, _ in pairs):
        raise InvalidParameterError("r_score: a results set is empty")
    levels = np.unique(np.concatenate([r[c] for c, r in pairs] + [np.zeros(1)]))
    levels = levels[levels > 0]
    if levels.size == 0:
        return 0.0
    acc = np.stack([certified_accuracy(c, r, levels) for c, r in pairs])  # (K, L)
    env = acc.max(axis=0)
    widths = np.diff(np.concatenate([[0.0], levels]))
    return float(np.sum(widths * env))


def accuracy_curve(correct: Sequence[bool] | np.ndarray, radius: Sequence[float] | np.ndarray,
                   grid: Sequence[float] | np.ndarray | None = None,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``(radii, certified accuracy)`` on ``grid`` (default: :func:`radius_grid`)."""
    c, r = _arrays(correct, radius)
    g = radius_grid(r[c].max() if c.any() else 0.0) if grid is None else np.asarray(grid, float)
    return g, np.asarray(certified_accuracy(c, r, g))


def radius_grid(r_max: float, points: int = 400) -> np.ndarray:
    """An even grid on [0, 1.05 * r_max] (at least [0, 1]) for drawing step curves."""
    top = max(float(r_max) * 1.05, 1e-9)
    if r_max <= 0:
        top = 1.0
    return np.linspace(0.0, top, points)


def summarize(results: object, radii: Sequence[float],
              rho: float = 0.001) -> list[dict[str, object]]:
    """Per-norm summary rows of one :class:`~unicr.smoothing.dataset.Results`.

    Each row: norm, number of images, abstentions, approximate certified accuracy at
    each radius (r = 0 is the smoothed classifier's accuracy), Cohen et al.'s
    high-probability version at level ``rho`` (needs the per-image alpha from the
    header), ACR and the radius ceiling R(alpha^(1/n))
    (docs/soundness-notes.md#s31).
    """
    from unicr.smoothing.dataset import Results

    if not isinstance(results, Results):
        raise InvalidParameterError("summarize() needs a Results object (read_results)")
    settings = results.settings
    alpha = settings.get("alpha")
    rows: list[dict[str, object]] = []
    for norm in results.norms:
        rad = results.radii[norm]
        acc = np.atleast_1d(certified_accuracy(results.correct, rad, np.asarray(radii, float)))
        row: dict[str, object] = {
            "file": str(results.path),
            "label": results.label_text(),
            "norm": norm,
            "images": len(results),
            "abstain": int(results.abstain.sum()),
            "radii": [float(r) for r in radii],
            "certified_accuracy": [float(a) for a in acc],
            "acr": acr(results.correct, rad),
            "ceiling": results.ceiling.get(norm),
            "alpha": alpha,
        }
        if isinstance(alpha, (int, float)) and 0 < alpha < 1:
            hp = np.atleast_1d(certified_accuracy_hp(acc, len(results), float(alpha), rho))
            row["certified_accuracy_hp"] = [float(a) for a in hp]
            row["rho"] = rho
        rows.append(row)
    return rows


def r_scores(results_list: Sequence[object]) -> dict[str, float]:
    """UniCR's R_score (Eq. 5) per norm over several results files (one per sigma)."""
    from unicr.smoothing.dataset import Results

    out: dict[str, float] = {}
    norms: list[str] = []
    for res in results_list:
        if not isinstance(res, Results):
            raise InvalidParameterError("r_scores() needs Results objects (read_results)")
        norms += [n for n in res.norms if n not in norms]
    for norm in norms:
        pairs = [(res.correct, res.radii[norm]) for res in results_list  # type: ignore[attr-defined]
                 if norm in res.radii]  # type: ignore[attr-defined]
        out[norm] = r_score(pairs)
    return out
