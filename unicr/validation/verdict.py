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
callable over a pA grid.  See docs/certificate-notes.md and docs/soundness-notes.md.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from unicr.certificate import Certificate, Witness, norm_label, parse_norm, validate_probabilities
from unicr.certify import radius as engine_radius
from unicr.checks import check_dimension
from unicr.closed_form.registry import Formula, FormulaResult, get_formula
from unicr.errors import InvalidParameterError
from unicr.noises.base import as_generator
from unicr.noises.registry import noise as make_noise
from unicr.stats import clopper_pearson_lower, clopper_pearson_upper

__all__ = [
    "VERDICTS",
    "DEFAULT_GRID",
    "Verdict",
    "FormulaValidation",
    "WitnessCheck",
    "validate",
    "validate_formula",
    "engine_bands",
    "verdict_from_band",
    "check_rtol",
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
            "band": {"lower": num(self.lower), "upper": num(self.upper), "tight": self.band_tight,
                     "method": self.method, "confidence": self.confidence},
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


def check_rtol(rtol: Any) -> float:
    """``rtol`` as a float in (0, 1), or :class:`InvalidParameterError` naming it.

    A negative tolerance turns a proven-tight band into an UNSOUND verdict, NaN makes every
    comparison false (so everything would be CONSISTENT), and ``rtol >= 1`` makes LOOSE
    impossible and calls claims of twice the proven upper bound acceptable: none of them is
    a verdict anyone should trust.
    """
    try:
        r = float(rtol)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"rtol must be a number, got {rtol!r}") from None
    if not (math.isfinite(r) and 0.0 < r < 1.0):
        raise InvalidParameterError(f"rtol must be finite and in (0, 1), got {rtol!r}")
    return r


def verdict_from_band(claimed: float, lower: float, upper: float, rtol: float = 1e-3,
                      atol: float = 1e-12) -> tuple[str, bool, float]:
    """(verdict, band_tight, margin) for a claimed radius against a proven band.

    UNSOUND if claimed > upper (1 + rtol) + atol; LOOSE if claimed < lower (1 - rtol) - atol;
    otherwise TIGHT when the band itself is tight (upper - lower <= rtol upper + atol), else
    CONSISTENT.
    """
    rtol = check_rtol(rtol)
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


def _direction_support(direction: dict[str, Any]) -> tuple[np.ndarray, bool] | None:
    """Unnormalised values of a witness direction on its support, and whether they are a full
    d-vector (placed as given) rather than the first coordinates."""
    kind = direction.get("kind")
    if kind == "k-equal":
        k = int(direction["k"])
        return np.full(k, float(direction.get("sign", 1.0))), False
    if kind == "two-level":
        k, m = int(direction["k"]), int(direction["m"])
        return np.concatenate([np.ones(k), np.full(m, float(direction["ratio"]))]), False
    if kind == "vector":
        raw = direction.get("values", direction.get("vector"))
        if raw is None:
            return None
        v = np.asarray(raw, dtype=float)
        full = bool(direction.get("full", False))
        if not full:
            v = v[v != 0]
        return v, full
    return None


def _lp(v: np.ndarray, p: float) -> float:
    a = np.abs(v)
    if a.size == 0 or not np.any(a > 0):
        return 0.0
    if math.isinf(p):
        return float(a.max())
    top = float(a.max())
    return top * float(np.sum((a / top) ** p)) ** (1.0 / p)


def witness_vector(witness: Witness, d: int, norm: Any) -> tuple[np.ndarray, int] | None:
    """The witness perturbation on its support: (values of the k non-zero coordinates, k).

    Supports the engines' ``k-equal`` directions (delta = m (1, ..., 1, 0, ..., 0), optional
    ``sign``), the exact engine's ``two-level`` directions (k coordinates at a, m at
    ``ratio`` a) and explicit ``vector`` directions (Monte Carlo engine: ``values`` on the
    first k coordinates, or a full d-vector); the values are scaled so that ||delta||_p =
    ``witness.norm_value``.  None for an unknown direction kind.
    """
    p = parse_norm(norm)
    sup = _direction_support(witness.direction)
    if sup is None:
        return None
    v, _ = sup
    nrm = _lp(v, p)
    if nrm == 0.0 or v.size > int(d):
        return None
    return v * (float(witness.norm_value) / nrm), int(v.size)


def worst_case_set(noise: Any, witness: Witness, d: int, norm: Any, pa: float,
                   pb: float | None = None) -> dict[str, Any]:
    """The Neyman-Pearson worst-case base classifier for the witness perturbation delta.

    With L(z) = log q(z - delta) - log q(z) (a sum over the support of delta for product
    noise), the classifier predicts A at x + eps iff L(eps) <= t_A, with t_A set so that
    P_eps(L <= t_A) = pA (and, two-sided, B iff L(eps) >= t_B with P(L >= t_B) = pB); it
    minimises the A-mass at x + delta (Hong et al. 2022 Theorem 1 / Eq. 3; Cohen et al. 2019
    for the Gaussian half-space).  This is a description; :func:`check_witness` evaluates it
    by Monte Carlo.
    """
    vec = witness_vector(witness, d, norm)
    per_coord = float(vec[0][0]) if vec is not None and vec[0].size else None
    out: dict[str, Any] = {
        "kind": "likelihood-ratio set",
        "rule": "A iff log q(eps - delta) - log q(eps) <= t_A with P(A) = pA"
                + ("" if pb is None else "; B iff the same log-ratio >= t_B with P(B) = pB"),
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
    """Independent Monte Carlo evaluation of the worst-case classifier at the witness.

    The thresholds are set on a first sample *conservatively* (one-sided DKW, level ``alpha``
    each), so that the classifier's true A-mass is >= pA (and its B-mass <= pB) with
    probability >= 1 - alpha: it satisfies the hypotheses of the claimed certificate.
    ``flips`` is the point estimate on a second, independent sample (shifted A-mass below 1/2,
    binary, or below the shifted B-mass); ``confirmed`` requires the same of one-sided
    Clopper-Pearson bounds at level ``alpha``, so a confirmed flip holds with probability
    >= ``confidence`` = 1 - (number of statements) alpha.  A statistical check, never a
    certificate.
    """

    p_a_unshifted: float
    p_a_shifted: float
    p_b_shifted: float
    flips: bool
    threshold_a: float
    threshold_b: float | None
    n: int
    k: int
    seed: Any
    confirmed: bool = False
    radius: float = math.nan
    p_a_shifted_upper: float = math.nan
    p_b_shifted_lower: float = math.nan
    alpha: float = 1e-3
    confidence: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (
            "flips", "confirmed", "radius", "p_a_unshifted", "p_a_shifted", "p_a_shifted_upper",
            "p_b_shifted", "p_b_shifted_lower", "threshold_a", "threshold_b", "n", "k", "alpha",
            "confidence", "seed")}


def _threshold_a(base_sorted: np.ndarray, q: float) -> float:
    """Smallest sample value t with F_n(t) >= q (inf when q > 1)."""
    n = base_sorted.size
    if q > 1.0:
        return math.inf
    i = max(int(math.ceil(q * n - 1e-9)) - 1, 0)
    return float(base_sorted[min(i, n - 1)])


def _threshold_b(base_sorted: np.ndarray, q: float) -> float:
    """Smallest sample value t with #{L >= t} <= q n (inf when no such sample value exists)."""
    n = base_sorted.size
    m = int(math.floor(q * n + 1e-9))
    if m <= 0:
        return math.inf
    counts_ge = n - np.searchsorted(base_sorted, base_sorted, side="left")
    ok = np.nonzero(counts_ge <= m)[0]
    return float(base_sorted[ok[0]]) if ok.size else math.inf


def check_witness(noise: Any, witness: Witness, d: int, norm: Any, pa: float,
                  pb: float | None = None, radius: float | None = None, n: int = 100_000,
                  rng: Any = None, batch: int = 4_000, alpha: float = 1e-3) -> WitnessCheck:
    """Monte Carlo check that the Neyman-Pearson worst case flips along the witness direction.

    The perturbation is the witness direction scaled to l_p norm ``radius`` (default: the
    witness' own norm, where the test fails only marginally; to confirm that a claimed radius
    is unsound use a radius between the engine's upper bound and the claim, e.g.
    ``Verdict.worst_case["check_radius"]``).  Product noise: the log-ratio lives on the
    witness' k non-zero coordinates; joint noise: on the full d-vector.  Two independent
    samples: the first sets the thresholds (t_A at the empirical pA + eps quantile, t_B so that
    at most a fraction pB - eps lies above it, eps = sqrt(ln(1/alpha) / 2n), one-sided DKW /
    Massart), the second measures the A- and B-mass after the shift x -> x + delta (Hong et
    al. 2022, Eq. 3 in noise coordinates; :class:`WitnessCheck` says what is confirmed).
    """
    nz = noise if hasattr(noise, "is_product") else make_noise(noise, d=d)
    product = bool(getattr(nz, "is_product", False))
    dim = check_dimension(d)
    p = parse_norm(norm)
    if not product and getattr(nz, "d", dim) != dim:
        raise InvalidParameterError(f"the joint noise {nz.name} was built for d={nz.d}, not d={dim}")
    sup = _direction_support(witness.direction)
    vec = witness_vector(witness, dim, p)
    if sup is None or vec is None:
        raise InvalidParameterError(f"unsupported witness direction {witness.direction!r}")
    a_, b_ = validate_probabilities(pa, pb)
    n_i = int(n)
    if n_i < 100:
        raise InvalidParameterError(f"n must be an integer >= 100, got {n!r}")
    if not 0.0 < float(alpha) < 0.5:
        raise InvalidParameterError(f"alpha must lie in (0, 1/2), got {alpha!r}")
    r = float(witness.norm_value) if radius is None else float(radius)
    if not (math.isfinite(r) and r > 0):
        raise InvalidParameterError(f"radius must be finite and > 0, got {radius!r}")
    support, k = vec
    support = support * (r / float(witness.norm_value))
    if product:
        delta = support
    else:
        delta = np.zeros(dim)
        if sup[1]:
            delta = support.copy()
        else:
            delta[:k] = support
    width = delta.size
    rows = max(1, min(int(batch), (1 << 22) // max(width, 1)))
    gen = as_generator(rng)

    def losses(shift: bool) -> np.ndarray:
        out = []
        left = n_i
        while left > 0:
            m = min(rows, left)
            if product:
                eps = np.asarray(nz.sample((m, width), gen), dtype=float)
            else:
                eps = np.asarray(nz.sample(m, gen), dtype=float)
            z = eps + delta[None, :] if shift else eps
            lr = nz.log_ratio(z, delta[None, :])
            out.append(np.sum(lr, axis=1) if product else np.asarray(lr, dtype=float))
            left -= m
        return np.concatenate(out)

    eps_dkw = math.sqrt(math.log(1.0 / float(alpha)) / (2.0 * n_i))
    base = np.sort(losses(False))
    t_a = _threshold_a(base, a_ + eps_dkw)
    p_a_un = float(np.mean(base <= t_a))
    t_b = None
    if b_ is not None:
        t_b = _threshold_b(base, b_ - eps_dkw)
    shifted = losses(True)
    in_a = shifted <= t_a
    k_a = int(np.sum(in_a))
    p_a_sh = k_a / n_i
    if t_b is None:
        p_b_sh = 1.0 - p_a_sh
        flips = p_a_sh < 0.5
        up_a = float(clopper_pearson_upper(k_a, n_i, alpha))
        lo_b = 1.0 - up_a
        confirmed = up_a < 0.5
        statements = 2  # t_A, the shifted A-mass
    else:
        k_b = int(np.sum((shifted >= t_b) & ~in_a))
        p_b_sh = k_b / n_i
        flips = p_a_sh < p_b_sh
        up_a = float(clopper_pearson_upper(k_a, n_i, alpha))
        lo_b = float(clopper_pearson_lower(k_b, n_i, alpha))
        confirmed = up_a < lo_b
        statements = 4
    seed = rng if isinstance(rng, (int, type(None))) else "generator"
    return WitnessCheck(p_a_un, p_a_sh, p_b_sh, bool(flips), t_a, t_b, n_i, k, seed,
                        confirmed=bool(confirmed), radius=r, p_a_shifted_upper=up_a,
                        p_b_shifted_lower=lo_b, alpha=float(alpha),
                        confidence=1.0 - statements * float(alpha))


# ---------------------------------------------------------------------------
# verdicts
# ---------------------------------------------------------------------------


def _build_noise(noise: Any, d: int | None) -> Any:
    return make_noise(noise, d=d) if isinstance(noise, str) else make_noise(noise)


def _abstains(pa: float, pb: float | None) -> bool:
    return pa <= 0.5 if pb is None else pa <= pb


def _grid(pas: Sequence[float] | float, pb: float | Sequence[float | None] | None
          ) -> tuple[list[float], list[float | None]]:
    """Validated (pA, pB) lists: ``pb`` None, one value for every point, or aligned with pas."""
    pa_list = [float(pas)] if isinstance(pas, (int, float)) else [float(x) for x in pas]
    if not pa_list:
        raise InvalidParameterError("pas must contain at least one pA value")
    if pb is None or isinstance(pb, (int, float)):
        pb_list: list[float | None] = [None if pb is None else float(pb)] * len(pa_list)
    else:
        pb_list = [None if x is None else float(x) for x in pb]
        if len(pb_list) != len(pa_list):
            raise InvalidParameterError(
                f"pb has {len(pb_list)} values but pas has {len(pa_list)}"
            )
    checked = [validate_probabilities(a, b) for a, b in zip(pa_list, pb_list)]
    return [a for a, _ in checked], [b for _, b in checked]


def engine_bands(noise: Any, norm: Any, d: int, pas: Sequence[float] | float,
                 pb: float | Sequence[float | None] | None = None, *, method: str = "auto",
                 use_curve: bool = True, **engine_kwargs: Any) -> list[Certificate]:
    """The engines' proven bands [lower, upper] of R*(pA, pB) on a pA grid, one
    :class:`~unicr.certificate.Certificate` per point (docs/concepts.md: lower proven <= R*,
    upper proven >= R* with its witness).

    Product noise with the exact engine and one pB for every point: one call of
    :func:`unicr.engines.curve` (all pA at once, cached on disk; bands read at the grid points
    themselves).  An l2-radial joint noise under the radial engine (method "auto" or "radial",
    binary, no options): one :func:`unicr.engines.radius_curve_radial_l2` call (confidence 1).
    Otherwise (other joint noise, the Monte Carlo engine, pB varying along the grid,
    ``use_curve=False`` or engine options): :func:`unicr.radius` per point, with
    ``engine_kwargs`` (e.g. the Monte Carlo engine's ``seed``, ``n_mc``).  ABSTAIN points
    (binary pA <= 1/2, two-sided pA <= pB) get the ABSTAIN certificate.
    """
    p = parse_norm(norm)
    dim = check_dimension(d)
    pa_list, pb_list = _grid(pas, pb)
    nz = _build_noise(noise, dim)
    from unicr.certify import choose_method

    meth = choose_method(nz, method, engine_kwargs)[0]
    out: list[Certificate | None] = [None] * len(pa_list)
    live = sorted({a for a, b in zip(pa_list, pb_list) if not _abstains(a, b)})
    if (use_curve and meth == "radial" and not engine_kwargs and live
            and set(pb_list) == {None}):
        from unicr.engines.radial import lp_from_l2, radius_curve_radial_l2

        for a, cert in zip(live, radius_curve_radial_l2(nz, live)):
            for i, (a2, b2) in enumerate(zip(pa_list, pb_list)):
                if a2 == a and not _abstains(a2, b2):
                    out[i] = lp_from_l2(cert, p)
    if (use_curve and meth == "exact" and nz.is_product and not engine_kwargs and live
            and len(set(pb_list)) == 1):
        from unicr.engines import curve

        cv = curve(nz, [p], dim, live, pb_list[0])
        for i, (a, b) in enumerate(zip(pa_list, pb_list)):
            if not _abstains(a, b):
                out[i] = cv.certificate(a, p)
    for i, (a, b) in enumerate(zip(pa_list, pb_list)):
        if out[i] is None:
            out[i] = engine_radius(nz, a, p, dim, pb=b, method=meth, **engine_kwargs)
    return [c for c in out if c is not None]


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
        engine for the band ("auto": exact for product noise, radial for the l2-radial joint
        noises the radial engine accepts, Monte Carlo otherwise; :func:`unicr.certify.choose_method`).
    rtol:
        relative tolerance of TIGHT / LOOSE / UNSOUND (see :func:`verdict_from_band`).
    formula, status:
        name and published status of the formula the claim came from (for reporting).
    certificate:
        a band already computed for exactly these inputs (skips the engine call; checked
        against pa, pb, norm and d).
    **engine_kwargs:
        passed to the engine (e.g. the Monte Carlo engine's ``seed``, ``n_mc``).

    An ABSTAIN band (binary pA <= 1/2, two-sided pA <= pB) has upper = 0: any claimed radius
    > 0 is UNSOUND there.  For UNSOUND, ``worst_case["check_radius"]`` is a radius between
    the engine's upper bound and the claim (upper + 0.9 (claimed - upper)) at which
    :func:`check_witness` can confirm the flip.
    """
    rtol = check_rtol(rtol)
    p = parse_norm(norm)
    dim = check_dimension(d)
    a, b = validate_probabilities(pa, pb)
    nz = _build_noise(noise, dim)
    if certificate is not None:
        cert = certificate
        same_pb = (cert.pb is None) == (b is None) and (b is None or math.isclose(cert.pb, b))
        if not (math.isclose(cert.pa, a) and same_pb and cert.norm == p and cert.d == dim):
            raise InvalidParameterError(
                f"the certificate given is for pA={cert.pa:g}, pB={cert.pb}, "
                f"l{norm_label(cert.norm)}, d={cert.d}, not pA={a:g}, pB={b}, "
                f"l{norm_label(p)}, d={dim}"
            )
    else:
        cert = engine_radius(nz, a, p, dim, pb=b, method=method, **engine_kwargs)
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
        worst["check_radius"] = witness.norm_value + 0.9 * (float(claimed) - witness.norm_value)
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
    every point is TIGHT, else CONSISTENT.  ``worst`` is the point behind the summary (the
    largest margin, to 3 digits, among the points with the summary's verdict; ties: the
    largest pA).
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
    def worst(self) -> Verdict:
        s = self.summary
        cands = [v for v in self.verdicts if v.verdict == s] or list(self.verdicts)
        # margins equal to 3 digits (Hayes' TV: 2x everywhere): the larger pA
        return max(cands, key=lambda v: (float(f"{v.margin:.3g}"), v.pa))

    @property
    def agrees_with_status(self) -> bool | None:
        flags = [x.agrees_with_status for x in self.verdicts]
        return None if any(f is None for f in flags) else all(flags)

    def column(self, name: str) -> np.ndarray:
        """One field over the grid as an array ("pa", "claimed", "lower", "upper", "margin")."""
        return np.array([float(getattr(v, name)) for v in self.verdicts], dtype=float)

    def to_dict(self) -> dict[str, Any]:
        return {"formula": self.formula, "status": self.status, "summary": self.summary,
                "agrees_with_status": self.agrees_with_status,
                "worst": self.worst.to_dict(),
                "points": [v.to_dict() for v in self.verdicts]}


def validate_formula(formula: str | Formula | Callable[..., float], noise: Any, norm: Any = None,
                     d: int | None = None, pas: Sequence[float] = DEFAULT_GRID,
                     pb: float | Sequence[float] | None = None, *, method: str = "auto",
                     rtol: float = 1e-3, options: dict[str, Any] | None = None,
                     certificates: Sequence[Certificate] | None = None,
                     **engine_kwargs: Any) -> FormulaValidation:
    """Check a published formula (registry name or :class:`Formula`) or a user callable over a
    pA grid against the engine's band.

    A callable is called as ``f(pa)`` (binary) or ``f(pa, pb)`` when ``pb`` is given, and must
    return the claimed radius for ``noise``, ``norm`` and ``d``.  ``pb`` may be one value for
    every grid point or a sequence aligned with ``pas``.  Points where the formula abstains
    are judged against the ABSTAIN band (claimed 0 there).  The bands come from
    :func:`engine_bands` (one exact curve for product noise) unless ``certificates`` (one per
    grid point, e.g. shared by several formulas) are given.
    """
    rtol = check_rtol(rtol)
    pa_list, pb_list = _grid(pas, pb)
    dim = None if d is None else check_dimension(d)
    nz = _build_noise(noise, dim)
    if dim is None and not nz.is_product:
        dim = nz.d
    claims: list[float] = []
    used_pb: list[float | None] = []
    results: list[FormulaResult | None] = []
    if isinstance(formula, (str, Formula)):
        f = get_formula(formula) if isinstance(formula, str) else formula
        name, status = f.name, None
        p_used: float | None = None
        for a, b in zip(pa_list, pb_list):
            res = f.evaluate(nz, a, b, norm, dim, **(options or {}))
            if res.d is None:
                raise InvalidParameterError(
                    f"validating '{f.name}' needs the input dimension d (the engine's band "
                    "depends on it)"
                )
            status, p_used, dim = res.status, res.norm, res.d
            claims.append(res.value)
            used_pb.append(b if res.two_sided else None)
            results.append(res)
    elif callable(formula):
        if norm is None or dim is None:
            raise InvalidParameterError("validating a callable needs an explicit norm and d")
        name, status, p_used = getattr(formula, "__name__", "callable"), None, parse_norm(norm)
        for a, b in zip(pa_list, pb_list):
            claimed = float(formula(a) if b is None else formula(a, b))
            if math.isnan(claimed):
                raise InvalidParameterError(f"the callable {name} returned NaN at pA={a:g}")
            claims.append(max(claimed, 0.0))
            used_pb.append(b)
            results.append(None)
    else:
        raise InvalidParameterError(
            "formula must be a registry name, a Formula or a callable, "
            f"got {type(formula).__name__}"
        )
    if p_used is None or dim is None:  # pragma: no cover - the grid is never empty
        raise InvalidParameterError("validation needs a norm and a dimension d")
    if certificates is None:
        certs = engine_bands(nz, p_used, dim, pa_list, used_pb, method=method, **engine_kwargs)
    else:
        certs = list(certificates)
        if len(certs) != len(pa_list):
            raise InvalidParameterError(
                f"{len(certs)} certificates given for {len(pa_list)} grid points"
            )
    statuses = [None if r is None else r.status for r in results]
    verdicts = [validate(nz, p_used, dim, a, c, b, method=method, rtol=rtol, formula=name,
                         status=s, certificate=cert)
                for a, b, c, s, cert in zip(pa_list, used_pb, claims, statuses, certs)]
    return FormulaValidation(name, status, tuple(verdicts), tuple(results))
