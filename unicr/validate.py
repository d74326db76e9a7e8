"""Verdicts on published radii: is a claimed radius tight, loose, unsound, or consistent?

``validate(noise, norm, d, pa, claimed, pb=None)`` compares a claimed radius with the proven
band ``[lower, upper]`` of the tight radius R*(pA, pB) computed by :func:`unicr.radius` (the
exact engine for product noise, the sound Monte Carlo engine otherwise, with its confidence):

* **UNSOUND** -- claimed > upper: a perturbation of norm ``upper`` < claimed (the engine's
  witness) fails the Neyman-Pearson test, so the worst-case base classifier (the likelihood-
  ratio set of :func:`worst_case_set`) flips inside the claimed ball;
* **LOOSE** -- claimed < lower: sound, but below what is provable (``margin`` says by how much);
* **TIGHT** -- within tolerance of a band that is itself tight (lower ~ upper);
* **CONSISTENT** -- inside a band that is not tight (no proof either way).

``validate_formula`` runs a named published formula (:mod:`unicr.closed_form`) or a user
callable over a pA grid.  See reference/CERTIFICATES.md and SOUNDNESS-NOTES.md.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from unicr.certificate import Certificate, Witness, norm_label, parse_norm, validate_probabilities
from unicr.closed_form.registry import Formula, FormulaResult, get_formula
from unicr.errors import InvalidParameterError
from unicr.noise.base import as_generator
from unicr.noise.registry import noise as make_noise
from unicr.radius import radius as engine_radius
from unicr.radius import validate_dimension

__all__ = [
    "VERDICTS",
    "DEFAULT_GRID",
    "Verdict",
    "FormulaValidation",
    "WitnessCheck",
    "validate",
    "validate_formula",
    "verdict_from_band",
    "witness_vector",
    "worst_case_set",
    "check_witness",
]

log = logging.getLogger(__name__)

VERDICTS = ("TIGHT", "LOOSE", "UNSOUND", "CONSISTENT")

#: default pA grid of validate_formula (binary certificates need pA > 1/2)
DEFAULT_GRID = (0.55, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999)

#: verdicts that agree with a formula's published status
_EXPECTED = {
    "tight": {"TIGHT", "CONSISTENT"},
    "lower": {"TIGHT", "LOOSE", "CONSISTENT"},
    "upper": {"TIGHT", "UNSOUND", "CONSISTENT"},
    "unsound-as-printed": {"UNSOUND"},
    "intersection": {"TIGHT", "LOOSE", "UNSOUND", "CONSISTENT"},
    "estimate": {"TIGHT", "LOOSE", "UNSOUND", "CONSISTENT"},
}


@dataclass(frozen=True)
class Verdict:
    """The verdict on one claimed radius.

    ``lower``/``upper`` are the proven band (``confidence`` is the probability that it holds);
    ``margin`` is the relative distance outside the band (LOOSE: (lower - claimed) / lower,
    UNSOUND: (claimed - upper) / upper; 0 otherwise); for UNSOUND, ``witness`` is the
    engine's failing perturbation and ``worst_case`` the Neyman-Pearson set that breaks it.
    """

    verdict: str
    claimed: float
    lower: float
    upper: float
    band_tight: bool
    margin: float
    pa: float
    pb: float | None
    norm: float
    d: int
    method: str
    confidence: float
    abstain: bool
    witness: Witness | None = None
    worst_case: dict[str, Any] | None = None
    formula: str | None = None
    status: str | None = None
    noise: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def agrees_with_status(self) -> bool | None:
        """Whether the verdict is what the formula's published status predicts (None: no status).

        tight -> TIGHT/CONSISTENT; lower -> not UNSOUND; upper -> not LOOSE;
        unsound-as-printed -> UNSOUND; estimate and intersection -> anything.
        """
        if self.status is None:
            return None
        return self.verdict in _EXPECTED.get(self.status, set(VERDICTS))

    def to_dict(self) -> dict[str, Any]:
        def num(v: float) -> float | str:
            return "inf" if isinstance(v, float) and math.isinf(v) else v

        return {
            "verdict": self.verdict,
            "claimed": self.claimed,
            "band": {"lower": num(self.lower), "upper": num(self.upper), "tight": self.band_tight},
            "margin": self.margin,
            "pa": self.pa,
            "pb": self.pb,
            "norm": norm_label(self.norm),
            "d": self.d,
            "method": self.method,
            "confidence": self.confidence,
            "abstain": self.abstain,
            "witness": None if self.witness is None else {
                "direction": self.witness.direction, "scale": self.witness.scale,
                "norm_value": self.witness.norm_value,
            },
            "worst_case": self.worst_case,
            "formula": self.formula,
            "status": self.status,
            "agrees_with_status": self.agrees_with_status,
            "noise": self.noise,
            "notes": list(self.notes),
        }


def verdict_from_band(claimed: float, lower: float, upper: float, rtol: float = 1e-3,
                      atol: float = 1e-12) -> tuple[str, bool, float]:
    """(verdict, band_tight, margin) for a claimed radius against a proven band.

    UNSOUND if claimed > upper (1 + rtol) + atol; LOOSE if claimed < lower (1 - rtol) - atol;
    otherwise TIGHT when the band itself is tight (upper - lower <= rtol upper + atol), else
    CONSISTENT.
    """
    c = float(claimed)
    if not math.isfinite(c) or c < 0:
        raise InvalidParameterError(f"the claimed radius must be finite and >= 0, got {claimed!r}")
    band_tight = math.isfinite(upper) and (upper - lower) <= rtol * upper + atol
    if c > upper * (1 + rtol) + atol:
        return "UNSOUND", band_tight, (c - upper) / upper if upper > 0 else math.inf
    if c < lower * (1 - rtol) - atol:
        return "LOOSE", band_tight, (lower - c) / lower
    return ("TIGHT" if band_tight else "CONSISTENT"), band_tight, 0.0


# ---------------------------------------------------------------------------
# witnesses and worst-case sets
# ---------------------------------------------------------------------------


def witness_vector(witness: Witness, d: int, norm: Any) -> tuple[np.ndarray, int] | None:
    """The witness perturbation on its support: (values of the k non-zero coordinates, k).

    Supports the engines' ``k-equal`` directions (delta = m (1, ..., 1, 0, ..., 0) with
    ||delta||_p = ``norm_value``) and explicit ``vector`` directions; None otherwise.
    """
    p = parse_norm(norm)
    kind = witness.direction.get("kind")
    if kind == "k-equal":
        k = int(witness.direction["k"])
        m = witness.norm_value if math.isinf(p) else witness.norm_value / k ** (1.0 / p)
        return np.full(k, float(m)), k
    if kind == "vector" and "vector" in witness.direction:
        v = np.asarray(witness.direction["vector"], dtype=float)
        nz = v[v != 0]
        return nz, nz.size
    return None


def worst_case_set(noise: Any, witness: Witness, d: int, norm: Any, pa: float,
                   pb: float | None = None) -> dict[str, Any]:
    """The Neyman-Pearson worst-case base classifier for the witness perturbation delta.

    With L(z) = sum_j [log q(z_j - delta_j) - log q(z_j)], the classifier predicts A at
    x + eps iff L(eps) <= t_A, with t_A set so that P_eps(L <= t_A) = pA (and, two-sided,
    B iff L(eps) >= t_B with P(L >= t_B) = pB); it minimises the A-mass at x + delta
    (Hong et al. 2022 Theorem 1; Cohen et al. 2019 for the Gaussian half-space).  This is a
    description; :func:`check_witness` evaluates it by Monte Carlo.
    """
    vec = witness_vector(witness, d, norm)
    per_coord = float(vec[0][0]) if vec is not None and vec[0].size else None
    out: dict[str, Any] = {
        "kind": "likelihood-ratio set",
        "rule": "A iff sum_j log q(eps_j - delta_j) - log q(eps_j) <= t_A with P(A) = pA"
                + ("" if pb is None else "; B iff the same sum >= t_B with P(B) = pB"),
        "delta": {"direction": dict(witness.direction), "per_coordinate": per_coord,
                  "norm_value": witness.norm_value},
        "pa": pa,
        "pb": pb,
    }
    if getattr(noise, "name", "") == "gaussian" and vec is not None and pb is None:
        from scipy import special

        sigma = float(noise.sigma)
        r = float(np.linalg.norm(vec[0]))
        out["kind"] = "half-space"
        out["rule"] = (f"A iff <eps, delta/||delta||_2> <= {sigma * float(special.ndtri(pa)):.6g} "
                       "(sigma Phi^-1(pA), Cohen et al. 2019)")
        out["p_a_shifted"] = float(special.ndtr(special.ndtri(pa) - r / sigma))
    return out


@dataclass(frozen=True)
class WitnessCheck:
    """Independent Monte Carlo evaluation of the worst-case classifier at the witness."""

    p_a_unshifted: float
    p_a_shifted: float
    p_b_shifted: float
    flips: bool
    threshold_a: float
    threshold_b: float | None
    n: int
    k: int
    seed: Any


def _log_ratio_product(nz: Any, eps: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """sum over the support of delta of log q(eps - delta) - log q(eps) (product noise)."""
    return np.sum(nz.log_ratio(eps, delta[None, :]), axis=1)


def check_witness(noise: Any, witness: Witness, d: int, norm: Any, pa: float,
                  pb: float | None = None, radius: float | None = None, n: int = 20_000,
                  rng: Any = None, batch: int = 4_000) -> WitnessCheck:
    """Monte Carlo check that the Neyman-Pearson worst case flips along the witness direction.

    The perturbation is the witness direction scaled to l_p norm ``radius`` (default: the
    witness' own norm, where the test fails only marginally; to confirm that a claimed radius
    is unsound use a radius between the engine's upper bound and the claim, e.g.
    ``Verdict.worst_case["check_radius"]``).  Product noise only (the log-ratio lives on the
    witness' k non-zero coordinates).  Two independent samples: the first sets the thresholds
    (empirical quantiles: t_A at pA, t_B at 1 - pB), the second measures the A- and B-mass
    after the shift x -> x + delta.  ``flips`` is True when the shifted A-mass falls below 1/2
    (binary) or below the shifted B-mass.  A Monte Carlo check, never a certificate.
    """
    nz = noise if hasattr(noise, "is_product") else make_noise(noise)
    if not getattr(nz, "is_product", False):
        raise InvalidParameterError("check_witness needs product (i.i.d.) noise")
    vec = witness_vector(witness, d, norm)
    if vec is None:
        raise InvalidParameterError(f"unsupported witness direction {witness.direction!r}")
    delta, k = vec
    if radius is not None:
        r = float(radius)
        if not (math.isfinite(r) and r > 0):
            raise InvalidParameterError(f"radius must be finite and > 0, got {radius!r}")
        delta = delta * (r / witness.norm_value)
    gen = as_generator(rng)

    def losses(shift: bool) -> np.ndarray:
        out = []
        left = n
        while left > 0:
            m = min(batch, left)
            eps = np.asarray(nz.sample((m, k), gen), dtype=float)
            z = eps + delta[None, :] if shift else eps
            out.append(_log_ratio_product(nz, z, delta))
            left -= m
        return np.concatenate(out)

    base = losses(False)
    t_a = float(np.quantile(base, pa, method="inverted_cdf"))
    p_a_un = float(np.mean(base <= t_a))
    t_b = None
    if pb is not None:
        t_b = float(np.quantile(base, 1.0 - pb, method="inverted_cdf"))
    shifted = losses(True)
    p_a_sh = float(np.mean(shifted <= t_a))
    p_b_sh = float(np.mean(shifted >= t_b)) if t_b is not None else 1.0 - p_a_sh
    flips = p_a_sh < 0.5 if pb is None else p_a_sh < p_b_sh
    seed = rng if isinstance(rng, (int, type(None))) else "generator"
    return WitnessCheck(p_a_un, p_a_sh, p_b_sh, bool(flips), t_a, t_b, n, k, seed)


# ---------------------------------------------------------------------------
# verdicts
# ---------------------------------------------------------------------------


def _band(nz: Any, pa: float, pb: float | None, p: float, d: int, method: str,
          engine_kwargs: dict[str, Any]) -> Certificate:
    return engine_radius(nz, pa, p, d, pb=pb, method=method, **engine_kwargs)


def validate(noise: Any, norm: Any, d: int, pa: float, claimed: float, pb: float | None = None,
             *, method: str = "auto", rtol: float = 1e-3, formula: str | None = None,
             status: str | None = None, certificate: Certificate | None = None,
             **engine_kwargs: Any) -> Verdict:
    """Verdict on a claimed l_p radius for ``noise`` at (pA, pB) in dimension d.

    Parameters
    ----------
    noise:
        anything :func:`unicr.noise` accepts.
    norm, d, pa, pb:
        as in :func:`unicr.radius` (pb None: binary).
    claimed:
        the radius to judge (>= 0).
    method:
        engine for the band ("auto": exact for product noise, Monte Carlo otherwise).
    rtol:
        relative tolerance of TIGHT / LOOSE / UNSOUND (see :func:`verdict_from_band`).
    formula, status:
        name and published status of the formula the claim came from (for reporting).
    certificate:
        a band already computed for exactly these inputs (skips the engine call).
    **engine_kwargs:
        passed to the engine (e.g. the Monte Carlo engine's ``seed``, ``n_mc``).

    An ABSTAIN band (binary pA <= 1/2, two-sided pA <= pB) has upper = 0: any claimed radius
    > 0 is UNSOUND there.
    """
    p = parse_norm(norm)
    dim = validate_dimension(d)
    a, b = validate_probabilities(pa, pb)
    nz = make_noise(noise, d=dim) if isinstance(noise, str) else make_noise(noise)
    cert = certificate if certificate is not None else _band(nz, a, b, p, dim, method,
                                                             engine_kwargs)
    verdict, tight, margin = verdict_from_band(claimed, cert.lower, cert.upper, rtol)
    notes: list[str] = []
    witness = None
    worst = None
    if cert.abstain:
        notes.append("no certificate exists at these probabilities (ABSTAIN)")
    if verdict == "UNSOUND" and cert.witness is not None:
        witness = cert.witness
        worst = worst_case_set(nz, witness, dim, p, a, b)
        # a radius strictly inside the claimed ball and beyond the proven upper bound
        worst["check_radius"] = 0.5 * (witness.norm_value + float(claimed))
        notes.append(
            f"a perturbation of l{norm_label(p)} norm {witness.norm_value:.6g} < claimed "
            f"{float(claimed):.6g} fails the Neyman-Pearson test"
        )
    if cert.confidence < 1.0:
        notes.append(f"band holds with probability {cert.confidence:g} (Monte Carlo engine)")
    return Verdict(
        verdict=verdict, claimed=float(claimed), lower=float(cert.lower), upper=float(cert.upper),
        band_tight=tight, margin=float(margin), pa=a, pb=b, norm=p, d=dim, method=cert.method,
        confidence=float(cert.confidence), abstain=bool(cert.abstain), witness=witness,
        worst_case=worst, formula=formula, status=status, noise=nz.definition(),
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class FormulaValidation:
    """A formula checked over a pA grid: one :class:`Verdict` per grid point and a summary.

    ``summary`` is UNSOUND if any point is UNSOUND, else LOOSE if any is LOOSE, else TIGHT if
    every point is TIGHT, else CONSISTENT.
    """

    formula: str
    status: str | None
    verdicts: tuple[Verdict, ...]
    results: tuple[FormulaResult | None, ...]

    @property
    def summary(self) -> str:
        v = {x.verdict for x in self.verdicts}
        for name in ("UNSOUND", "LOOSE"):
            if name in v:
                return name
        return "TIGHT" if v == {"TIGHT"} else "CONSISTENT"

    @property
    def agrees_with_status(self) -> bool | None:
        flags = [x.agrees_with_status for x in self.verdicts]
        return None if any(f is None for f in flags) else all(flags)

    def to_dict(self) -> dict[str, Any]:
        return {"formula": self.formula, "status": self.status, "summary": self.summary,
                "agrees_with_status": self.agrees_with_status,
                "points": [v.to_dict() for v in self.verdicts]}


def validate_formula(formula: str | Formula | Callable[..., float], noise: Any, norm: Any = None,
                     d: int | None = None, pas: Sequence[float] = DEFAULT_GRID,
                     pb: float | Sequence[float] | None = None, *, method: str = "auto",
                     rtol: float = 1e-3, options: dict[str, Any] | None = None,
                     **engine_kwargs: Any) -> FormulaValidation:
    """Check a published formula (registry name or :class:`Formula`) or a user callable over a
    pA grid against the engine's band.

    A callable is called as ``f(pa)`` (binary) or ``f(pa, pb)`` when ``pb`` is given, and must
    return the claimed radius for ``noise``, ``norm`` and ``d``.  ``pb`` may be one value for
    every grid point or a sequence aligned with ``pas``.  Points where the formula abstains
    are judged against the ABSTAIN band (claimed 0 there).
    """
    pa_list = [float(x) for x in pas]
    if not pa_list:
        raise InvalidParameterError("pas must contain at least one pA value")
    if pb is None or isinstance(pb, (int, float)):
        pb_list: list[float | None] = [None if pb is None else float(pb)] * len(pa_list)
    else:
        pb_list = [float(x) for x in pb]
        if len(pb_list) != len(pa_list):
            raise InvalidParameterError(
                f"pb has {len(pb_list)} values but pas has {len(pa_list)}"
            )
    dim = None if d is None else validate_dimension(d)
    nz = make_noise(noise, d=dim) if isinstance(noise, str) else make_noise(noise)
    if dim is None and not nz.is_product:
        dim = nz.d
    verdicts: list[Verdict] = []
    results: list[FormulaResult | None] = []
    if isinstance(formula, (str, Formula)):
        f = get_formula(formula) if isinstance(formula, str) else formula
        name, status = f.name, None
        for a, b in zip(pa_list, pb_list):
            res = f.evaluate(nz, a, b, norm, dim, **(options or {}))
            if res.d is None:
                raise InvalidParameterError(
                    f"validating '{f.name}' needs the input dimension d (the engine's band "
                    "depends on it)"
                )
            status = res.status
            b_used = b if res.two_sided else None
            verdicts.append(validate(nz, res.norm, res.d, a, res.value, b_used, method=method,
                                     rtol=rtol, formula=f.name, status=res.status,
                                     **engine_kwargs))
            results.append(res)
        return FormulaValidation(name, status, tuple(verdicts), tuple(results))
    if not callable(formula):
        raise InvalidParameterError(
            "formula must be a registry name, a Formula or a callable, "
            f"got {type(formula).__name__}"
        )
    if norm is None or dim is None:
        raise InvalidParameterError("validating a callable needs an explicit norm and d")
    name = getattr(formula, "__name__", "callable")
    for a, b in zip(pa_list, pb_list):
        claimed = float(formula(a) if b is None else formula(a, b))
        if math.isnan(claimed):
            raise InvalidParameterError(f"the callable {name} returned NaN at pA={a:g}")
        verdicts.append(validate(nz, norm, dim, a, max(claimed, 0.0), b, method=method,
                                 rtol=rtol, formula=name, **engine_kwargs))
        results.append(None)
    return FormulaValidation(name, None, tuple(verdicts), tuple(results))
