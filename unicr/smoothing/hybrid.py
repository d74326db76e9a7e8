"""Nandi et al. 2023's hybrid certifier: two smoothed classifiers, norm conversion, a rule table.

Nandi, Addepalli, Rangwani & Babu 2023 (Secs. 2.1 and 4.1, Table 1; ALGORITHMS.md 4.3) certify
each input twice -- Gaussian smoothing for l2, Uniform smoothing for l1, with separate sigmas
(and possibly models) -- convert the radii between norms and combine them:

1. Norm conversion (sound for one classifier): a radius r in l_q covers the l_p ball of radius
   r / d^max(0, 1/q - 1/p), since ||delta||_q <= d^max(0, 1/q - 1/p) ||delta||_p.  Gaussian
   l1 := l2 radius; Uniform l2 := l1 / sqrt(d).  :func:`unicr.closed_form.convert_radius`
   (docs/certificate-notes.md#c0-6), the same rounding as Nandi's ``nandi_uniform_l2``.
2. Two rules (:func:`combine`):

   * ``"sound"`` (default): the **agreement hybrid**.  Both smoothed classifiers must certify
     the same class c (one abstaining or a disagreement: ABSTAIN), and each radius is the
     minimum of the two.  Certified: with probability >= 1 - (alpha_a + alpha_b) (+ the
     numerical allowances; Bonferroni -- certify each at alpha/2 for 1 - alpha), g_a(x') =
     g_b(x') = c for every ||x' - x||_p < r_p, so the deployed classifier h(x') = c if both
     smoothed classifiers say c, else ABSTAIN, is constant on the ball.
     (docs/soundness-notes.md#s20, "Engine must").
   * ``"as-published"``: the paper's Table 1 -- agreement: max of the two radii; one
     abstained: the other's radii and label; both abstained or disagreement: ABSTAIN.  The
     max picks the better of two classifiers per input and norm, a choice a defender cannot
     make at x'; this is **not a certificate of one deployed classifier** (S20) and is
     offered only to reproduce the paper.

Under the sound rule the hybrid radius never exceeds either smoothed classifier's own radius
(after the sound conversion), so the hybrid l1 ACR cannot exceed the Gaussian-only l1 ACR.

:func:`combine_results` applies both rules to two results files of
:func:`unicr.smoothing.dataset.certify_dataset` (same images) and writes results files that
:func:`unicr.smoothing.dataset.read_results` and ``unicr analyze`` read.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from unicr.certificate import norm_label, parse_norm
from unicr.closed_form._common import convert_radius
from unicr.errors import InvalidParameterError
from unicr.smoothing.checks import ABSTAIN

if TYPE_CHECKING:
    from unicr.smoothing.dataset import CertifyRun, Results
    from unicr.smoothing.smooth import Smooth, SmoothCertificate

__all__ = ["RULES", "CATEGORIES", "HybridCertificate", "best_radius", "combine", "combine_results",
           "HYBRID_COLUMNS", "HybridRun", "hybrid_paths", "certify_hybrid_dataset"]

RULES = ("sound", "as-published")
#: Nandi et al.'s Table 1 rows
CATEGORIES = ("agree", "a-abstained", "b-abstained", "both-abstained", "disagree")
#: columns appended after the standard ones of a hybrid results file
HYBRID_COLUMNS = ("category", "predict_a", "predict_b")

_STATEMENTS = {
    "sound": "agreement hybrid: both smoothed classifiers certify the class and are each robust "
             "within min(r_a, r_b); confidence 1 - (alpha_a + alpha_b) (Bonferroni)",
    "as-published": "Nandi et al. 2023 Table 1 max rule (paper reproduction): NOT a certificate of "
                    "one deployed classifier (docs/soundness-notes.md#s20)",
}


def _check_d(d: int) -> int:
    if isinstance(d, bool) or int(d) != d or d < 1:
        raise InvalidParameterError(f"the input dimension d must be a positive integer, got {d!r}")
    return int(d)


def best_radius(radii: dict[float, float], norm: Any, d: int) -> float:
    """The largest l_p radius implied by one classifier's radii in several norms (each sound:
    :func:`unicr.closed_form.convert_radius`)."""
    p = parse_norm(norm)
    _check_d(d)
    if not radii:
        raise InvalidParameterError("no radii to convert")
    return max(convert_radius(r, q, p, d) for q, r in radii.items())


@dataclass(frozen=True)
class HybridCertificate:
    """The combination of two smoothed classifiers' outcomes at one input (:func:`combine`).

    ``prediction`` is the class or ABSTAIN; ``radii`` per norm (empty when abstaining);
    ``certificate`` is False for the as-published rule (not a certificate of one deployed
    classifier); ``confidence`` = 1 - (1 - conf_a) - (1 - conf_b) for both rules (the
    as-published rule holds no joint statement even then).
    """

    rule: str
    prediction: int
    radii: dict[float, float]
    category: str
    prediction_a: int
    prediction_b: int
    confidence: float
    certificate: bool
    statement: str = field(default="", repr=False)

    @property
    def abstain(self) -> bool:
        return self.prediction == ABSTAIN

    def radius(self, norm: Any = 2) -> float | None:
        """Radius in the given norm (None when abstaining)."""
        return None if self.abstain else self.radii[parse_norm(norm)]


def _category(pred_a: int, pred_b: int) -> str:
    if pred_a == ABSTAIN and pred_b == ABSTAIN:
        return "both-abstained"
    if pred_a == ABSTAIN:
        return "a-abstained"
    if pred_b == ABSTAIN:
        return "b-abstained"
    return "agree" if pred_a == pred_b else "disagree"


def _combine_raw(pred_a: int, radii_a: dict[float, float], pred_b: int,
                 radii_b: dict[float, float], norms: list[float], d: int, rule: str
                 ) -> tuple[int, dict[float, float], str]:
    """(prediction, radii, category) of a rule on two outcomes (pure; the rule table)."""
    cat = _category(pred_a, pred_b)
    if cat in ("both-abstained", "disagree"):
        return ABSTAIN, {}, cat
    ra = {p: best_radius(radii_a, p, d) for p in norms} if pred_a != ABSTAIN else {}
    rb = {p: best_radius(radii_b, p, d) for p in norms} if pred_b != ABSTAIN else {}
    if rule == "sound":
        if cat != "agree":
            return ABSTAIN, {}, cat
        return pred_a, {p: min(ra[p], rb[p]) for p in norms}, cat
    if cat == "agree":
        return pred_a, {p: max(ra[p], rb[p]) for p in norms}, cat
    if cat == "b-abstained":
        return pred_a, ra, cat
    return pred_b, rb, cat


def _check_rule(rule: str) -> str:
    if rule not in RULES:
        raise InvalidParameterError(f"hybrid rule must be one of {', '.join(RULES)}, got {rule!r}")
    return rule


def combine(cert_a: SmoothCertificate, cert_b: SmoothCertificate, d: int, *,
            rule: str = "sound", norms: Sequence[Any] = (1, 2)) -> HybridCertificate:
    """Nandi et al. 2023's hybrid of two certificates of one input (module notes).

    ``cert_a`` / ``cert_b``: :class:`SmoothCertificate` of the two smoothed classifiers (e.g.
    Gaussian with an l2 radius, Uniform with an l1 radius); ``d``: the input dimension of the
    norm conversions; ``norms``: the norms of the result (default l1 and l2, as in the paper).
    """
    _check_rule(rule)
    dim = _check_d(d)
    ps = [parse_norm(p) for p in norms]
    if not ps:
        raise InvalidParameterError("give at least one norm")
    pred, radii, cat = _combine_raw(int(cert_a.prediction), dict(cert_a.radii),
                                    int(cert_b.prediction), dict(cert_b.radii), ps, dim, rule)
    conf = 1.0 - (1.0 - cert_a.confidence) - (1.0 - cert_b.confidence)
    return HybridCertificate(rule=rule, prediction=pred, radii=radii, category=cat,
                             prediction_a=int(cert_a.prediction),
                             prediction_b=int(cert_b.prediction), confidence=conf,
                             certificate=rule == "sound", statement=_STATEMENTS[rule])


def _fmt(x: float) -> str:
    return repr(float(x))


def _describe(res: Results) -> dict[str, Any]:
    return {"file": str(res.path), "noise": res.label_text(),
            "alpha": res.settings.get("alpha"), "norms": list(res.norms)}


def _ceiling(res: Results, norms: list[float], d: int) -> dict[float, float] | None:
    ceil = {parse_norm(k): v for k, v in res.ceiling.items()}
    return {p: best_radius(ceil, p, d) for p in norms} if ceil else None


def combine_results(file_a: str | os.PathLike[str] | Results,
                    file_b: str | os.PathLike[str] | Results, out: str | os.PathLike[str], *,
                    d: int | None = None, rule: str = "sound", norms: Sequence[Any] = (1, 2)
                    ) -> Path:
    """Write the ``rule`` hybrid of two results files (same images, same order) to ``out``.

    The output is a results file in :mod:`unicr.smoothing.dataset`'s layout -- ``predict``,
    ``correct`` and the ``radius_l<p>`` columns hold the hybrid, ``pA_lower pB_upper count_A
    n`` hold ``-`` -- followed by :data:`HYBRID_COLUMNS` (the Table 1 row and the two
    predictions), so :func:`read_results` and ``unicr analyze`` read it.  Rows present in only
    one file are left out.  ``d`` defaults to the input dimension in file a's header.  The file
    is rewritten whole (a pure function of the two inputs), atomically.
    """
    from unicr.smoothing.dataset import (
        FORMAT_NAME,
        FORMAT_VERSION,
        MISSING,
        _dumps,
        read_results,
        results_columns,
    )

    _check_rule(rule)
    ra = file_a if not isinstance(file_a, (str, os.PathLike)) else read_results(file_a)
    rb = file_b if not isinstance(file_b, (str, os.PathLike)) else read_results(file_b)
    if d is None:
        shape = (ra.header.get("smooth") or {}).get("input_shape")
        if not shape:
            raise InvalidParameterError(f"{ra.path}: the header has no input shape; give d")
        d = math.prod(int(s) for s in shape)
    dim = _check_d(d)
    ps = [parse_norm(p) for p in norms]
    index_b = {int(i): k for k, i in enumerate(rb.idx)}
    rows = []
    for ka, i in enumerate(ra.idx):
        kb = index_b.get(int(i))
        if kb is None:
            continue
        if int(ra.label[ka]) != int(rb.label[kb]):
            raise InvalidParameterError(f"image {int(i)} has label {int(ra.label[ka])} in "
                                        f"{ra.path} but {int(rb.label[kb])} in {rb.path}")
        pa, pb = int(ra.predict[ka]), int(rb.predict[kb])
        rad_a = {parse_norm(n): float(ra.radii[n][ka]) for n in ra.norms}
        rad_b = {parse_norm(n): float(rb.radii[n][kb]) for n in rb.norms}
        pred, radii, cat = _combine_raw(pa, rad_a, pb, rad_b, ps, dim, rule)
        label = int(ra.label[ka])
        shown = [MISSING if pred == ABSTAIN else _fmt(radii[p]) for p in ps]
        correct = int(pred != ABSTAIN and pred == label)
        rows.append("\t".join([str(int(i)), str(label), str(pred), shown[0], str(correct), MISSING,
                               *shown, MISSING, MISSING, MISSING, MISSING, cat, str(pa), str(pb)]))
    ceil_a, ceil_b = _ceiling(ra, ps, dim), _ceiling(rb, ps, dim)
    ceiling: dict[str, float] = {}
    if ceil_a is not None and ceil_b is not None:
        pick = min if rule == "sound" else max
        ceiling = {norm_label(p): pick(ceil_a[p], ceil_b[p]) for p in ps}
    name = f"hybrid-{rule}[{ra.label_text()} & {rb.label_text()}]"
    entries: list[tuple[str, Any]] = [
        (FORMAT_NAME, FORMAT_VERSION),
        ("noise", {"name": name}),
        ("hybrid", {"rule": rule, "d": dim, "certificate": rule == "sound",
                    "statement": _STATEMENTS[rule], "a": _describe(ra), "b": _describe(rb),
                    "source": "Nandi, Addepalli, Rangwani & Babu 2023, Table 1"}),
        ("settings", {"norms": [norm_label(p) for p in ps], "rule": rule}),
        ("ceiling", ceiling),
        ("confidence", "per image: 1 - (alpha_a + alpha_b) - numerics for the sound rule; "
                       "none for the as-published rule"),
    ]
    text = "\n".join([*(f"# {k}\t{_dumps(v)}" for k, v in entries),
                      "\t".join([*results_columns(ps), *HYBRID_COLUMNS]), *rows]) + "\n"
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="ascii")
    os.replace(tmp, path)
    return path


def hybrid_paths(out: str | os.PathLike[str]) -> dict[str, Path]:
    """The files of a hybrid run next to the first classifier's results ``out``: ``"b"`` (the
    second classifier), ``"sound"`` and ``"as-published"`` (``<stem>.hybrid-<key><suffix>``)."""
    o = Path(out)
    suffix = o.suffix or ".tsv"
    return {k: o.with_name(f"{o.stem}.hybrid-{k}{suffix}") for k in ("b", *RULES)}


@dataclass
class HybridRun:
    """What :func:`certify_hybrid_dataset` did: the two certification runs and the files."""

    run_a: CertifyRun
    run_b: CertifyRun
    files: dict[str, Path]


def certify_hybrid_dataset(smooth_a: Smooth, smooth_b: Smooth, dataset: Any,
                           out: str | os.PathLike[str], *, norms_a: Sequence[Any] = (2,),
                           norms_b: Sequence[Any] = (1,), norms: Sequence[Any] = (1, 2),
                           out_b: str | os.PathLike[str] | None = None,
                           meta_a: dict[str, Any] | None = None,
                           meta_b: dict[str, Any] | None = None, **settings: Any) -> HybridRun:
    """Nandi et al. 2023's hybrid certification of a data set (``unicr certify --hybrid-*``).

    :func:`unicr.smoothing.dataset.certify_dataset` of ``smooth_a`` into ``out`` and of
    ``smooth_b`` into ``out_b`` (default :func:`hybrid_paths`), with the same ``settings``
    (n0, n, alpha, seed, skip, max_count, ...; both resumable), then :func:`combine_results`
    with both rules into the ``"sound"`` and ``"as-published"`` files.  The sound rule's
    confidence is 1 - 2 alpha: pass alpha/2 for 1 - alpha.
    """
    from unicr.smoothing.dataset import certify_dataset

    files = hybrid_paths(out)
    if out_b is not None:
        files["b"] = Path(out_b)
    if len({Path(out).resolve(), *(p.resolve() for p in files.values())}) != 4:
        raise InvalidParameterError("the results files of the two classifiers and of the two "
                                    "rules must be different files")
    run_a = certify_dataset(smooth_a, dataset, out, norms=norms_a, meta=meta_a, **settings)
    run_b = certify_dataset(smooth_b, dataset, files["b"], norms=norms_b, meta=meta_b,
                            **settings)
    d = math.prod(smooth_a.input_shape)
    for rule in RULES:
        combine_results(out, files["b"], files[rule], d=d, rule=rule, norms=norms)
    return HybridRun(run_a=run_a, run_b=run_b, files={"a": Path(out), **files})
