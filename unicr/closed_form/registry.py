"""Named published formulas: one uniform interface over the closed-form library.

Every :class:`Formula` knows its citation, the unicr noise families it applies to, its norms,
its status (binary and two-sided) and its scale convention, and evaluates on a unicr
:class:`~unicr.noises.base.Noise`::

    from unicr.closed_form import get_formula
    g = unicr.noise("gaussian", sigma=0.5)
    get_formula("cohen").radius(g, pa=0.9)                  # 0.5 * Phi^-1(0.9)
    res = get_formula("hayes_tv").evaluate(g, pa=0.9)       # status "unsound-as-printed"

The adapter reads the noise's native scale, checks it against unicr sigma with the relations of
docs/certificate-notes.md#c0-4 (and refuses when they disagree, so a convention mismatch can
never inflate a radius), and converts it to the formula's own convention (e.g. Hayes' GN scale
GN(s, 2) = N(0, s^2/2), Nandi's uniform std, Yang's lambda).  A formula applied to a noise of
the wrong family is refused with :class:`FormulaNoiseMismatchError`; an unknown name raises
:class:`UnknownFormulaError` listing the available ones.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scipy import special

from unicr.certificate import norm_label, parse_norm, validate_probabilities
from unicr.closed_form import cohen, feng, hayes, kumar, lecuyer, li, nandi, teng, yang
from unicr.closed_form._common import STATUSES, check_dimension
from unicr.closed_form.hayes import IntersectionRegion
from unicr.errors import InvalidParameterError, UnicrError

__all__ = [
    "Formula",
    "FormulaResult",
    "FORMULAS",
    "UnknownFormulaError",
    "FormulaNoiseMismatchError",
    "get_formula",
    "formula_names",
    "formulas_for",
    "rms_per_unit_scale",
]


class UnknownFormulaError(UnicrError, KeyError):
    """A formula name is not in the registry; the message lists the available ones."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "unknown formula"


class FormulaNoiseMismatchError(InvalidParameterError):
    """A formula was applied to a noise it does not describe (family, shape, norm or scale)."""


# ---------------------------------------------------------------------------
# result type
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FormulaResult:
    """One evaluation of a named formula.

    ``value`` is the radius the formula gives (>= 0; 0.0 when ``abstain``).  ``abstain`` is
    True when no certificate exists (binary pA <= 1/2, two-sided pA <= pB): ABSTAIN is not
    "certified at radius 0".  ``status`` is one of :data:`STATUSES`; only "tight" and "lower"
    values are certificates.  ``region`` is set for intersection certificates (Hayes Eqs.
    22-27); ``raw`` keeps a printed value that is not a radius (Li et al.'s sign error).
    """

    formula: str
    value: float
    abstain: bool
    status: str
    norm: float
    d: int | None
    two_sided: bool
    convention: str
    region: IntersectionRegion | None = None
    raw: float | None = None
    notes: tuple[str, ...] = ()

    @property
    def is_certificate(self) -> bool:
        """True when ``value`` is a proven lower bound on the tight radius R*."""
        return (not self.abstain) and self.status in ("tight", "lower")

    def to_dict(self) -> dict[str, Any]:
        return {
            "formula": self.formula,
            "value": self.value,
            "abstain": self.abstain,
            "status": self.status,
            "norm": norm_label(self.norm),
            "d": self.d,
            "two_sided": self.two_sided,
            "convention": self.convention,
            "region": None if self.region is None else self.region.to_dict(),
            "raw": self.raw,
            "notes": list(self.notes),
        }


@dataclass
class _Call:
    """What an adapter receives: the validated inputs."""

    formula: Formula
    noise: Any
    pa: float
    pb: float | None
    p: float
    d: int | None
    options: dict[str, Any]

    def need_d(self) -> int:
        if self.d is None:
            raise InvalidParameterError(
                f"formula '{self.formula.name}' needs the input dimension d for the "
                f"l_{norm_label(self.p)} norm; pass d=..."
            )
        return self.d


@dataclass
class _Out:
    value: float
    status: str | None = None
    region: IntersectionRegion | None = None
    raw: float | None = None
    notes: tuple[str, ...] = ()


# ---------------------------------------------------------------------------
# the formula object
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Formula:
    """A named published certificate with its metadata and a uniform call signature.

    Attributes
    ----------
    name, citation:
        registry name and "paper, equation".
    families:
        unicr noise registry names it applies to (``("*",)``: any i.i.d. noise).
    norms:
        supported norms (``math.inf`` for l_inf); empty when the norm depends on the noise
        (then ``norms_text`` says how).
    status:
        binary status, one of :data:`STATUSES`; ``status_two_sided`` is the status of the
        two-sided form, or None when the formula is binary-only.
    convention:
        which scale the paper's symbol denotes and how it is obtained from the noise.
    options:
        extra keyword arguments the formula accepts (e.g. Hayes' KL ``convention``).
    """

    name: str
    citation: str
    families: tuple[str, ...]
    norms: tuple[float, ...]
    status: str
    status_two_sided: str | None
    convention: str
    description: str
    impl: Callable[[_Call], _Out] = field(repr=False, compare=False)
    norms_text: str = ""
    options: tuple[str, ...] = ()
    default_norm: Callable[[Any], float] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        for s in (self.status, self.status_two_sided):
            if s is not None and s not in STATUSES:
                raise ValueError(f"formula {self.name}: unknown status {s!r}")

    @property
    def two_sided(self) -> bool:
        """True when the formula uses pB separately (otherwise pB = 1 - pA)."""
        return self.status_two_sided is not None

    @property
    def binary(self) -> bool:
        """Every formula has a binary form (pB := 1 - pA)."""
        return True

    def _noise(self, noise: Any, d: int | None) -> Any:
        from unicr.noises.base import Noise
        from unicr.noises.registry import noise as make_noise

        if isinstance(noise, Noise):
            return noise
        return make_noise(noise, d=d)

    def _check_family(self, nz: Any) -> None:
        if "*" in self.families:
            if not getattr(nz, "is_product", False):
                raise FormulaNoiseMismatchError(
                    f"formula '{self.name}' ({self.citation}) is for i.i.d. (product) noise; "
                    f"{nz.name} is a joint density"
                )
            return
        if nz.name not in self.families:
            others = [f.name for f in FORMULAS.values() if nz.name in f.families]
            hint = (f" Formulas for {nz.name}: {', '.join(others)}." if others
                    else f" No published formula in the library describes {nz.name}.")
            raise FormulaNoiseMismatchError(
                f"formula '{self.name}' ({self.citation}) applies to "
                f"{' / '.join(self.families)} noise, not {nz.name}.{hint}"
            )

    def evaluate(self, noise: Any, pa: float, pb: float | None = None, norm: Any = None,
                 d: int | None = None, **options: Any) -> FormulaResult:
        """Evaluate the formula on a unicr noise.

        Parameters
        ----------
        noise:
            a :class:`~unicr.noises.base.Noise` (or anything :func:`unicr.noise` accepts).
        pa, pb:
            lower bound on pA; upper bound on pB, or None for the binary form.  Binary-only
            formulas ignore pB (sound: pB <= 1 - pA) and say so in ``notes``.
        norm:
            the l_p norm (default: the formula's first norm).
        d:
            input dimension (taken from a joint noise; needed by l_inf and d-dependent forms).
        **options:
            formula-specific options listed in :attr:`options`.
        """
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            allowed = ", ".join(self.options) or "none"
            raise InvalidParameterError(
                f"formula '{self.name}': unknown option(s) {', '.join(unknown)}; "
                f"it takes: {allowed}"
            )
        a, b = validate_probabilities(pa, pb)
        dim = None if d is None else check_dimension(d)
        nz = self._noise(noise, dim)
        self._check_family(nz)
        nd = getattr(nz, "d", None) if not getattr(nz, "is_product", True) else None
        if nd is not None:
            if dim is not None and dim != nd:
                raise InvalidParameterError(
                    f"the joint noise {nz.name} was built for d={nd}, but d={dim} was given"
                )
            dim = nd
        if norm is None:
            if self.norms:
                p = self.norms[0]
            elif self.default_norm is not None:
                p = float(self.default_norm(nz))
            else:  # pragma: no cover - every norm-free entry has a default
                raise InvalidParameterError(
                    f"formula '{self.name}' needs an explicit norm ({self.norms_text})"
                )
        else:
            p = parse_norm(norm)
            if self.norms and p not in self.norms:
                raise FormulaNoiseMismatchError(
                    f"formula '{self.name}' certifies the norm(s) "
                    f"{', '.join('l' + norm_label(q) for q in self.norms)}, not l{norm_label(p)}"
                )
        notes: list[str] = []
        b_used = b if self.two_sided else None
        if b is not None and not self.two_sided:
            notes.append("binary-only formula: pB ignored (pB := 1 - pA, sound since pB <= 1 - pA)")
        two = b_used is not None
        status = self.status_two_sided if two else self.status
        abstain = (a <= b_used) if two else (a <= 0.5)
        call = _Call(self, nz, a, b_used, p, dim, dict(options))
        out = self.impl(call)  # validates the noise's shape and scale even when abstaining
        notes.extend(out.notes)
        value = 0.0 if abstain else float(out.value)
        if math.isnan(value) or value < 0:
            raise UnicrError(f"formula '{self.name}' produced {value!r}")  # pragma: no cover
        return FormulaResult(
            formula=self.name, value=value, abstain=abstain, status=out.status or status, norm=p,
            d=dim, two_sided=two, convention=self.convention, region=out.region,
            raw=out.raw, notes=tuple(notes),
        )

    def radius(self, noise: Any, pa: float, pb: float | None = None, norm: Any = None,
               d: int | None = None, **options: Any) -> float:
        """The formula's radius as a float (0.0 when abstaining; see :meth:`evaluate`)."""
        return self.evaluate(noise, pa, pb, norm, d, **options).value

    def describe(self) -> dict[str, Any]:
        """Metadata for listings (``unicr validate --list``, reports)."""
        return {
            "name": self.name,
            "citation": self.citation,
            "families": list(self.families),
            "norms": [norm_label(q) for q in self.norms] or self.norms_text,
            "status": self.status,
            "status_two_sided": self.status_two_sided,
            "two_sided": self.two_sided,
            "convention": self.convention,
            "description": self.description,
            "options": list(self.options),
        }


# ---------------------------------------------------------------------------
# scale conventions (docs/certificate-notes.md#c0-4)
# ---------------------------------------------------------------------------


def _param(nz: Any, name: str, default: float | None = None) -> float:
    v = getattr(nz, "params", {}).get(name, default)
    if v is None:
        raise FormulaNoiseMismatchError(f"noise {nz.name} has no parameter '{name}'")
    return float(v)


def rms_per_unit_scale(family: str, params: dict[str, float], d: int | None = None) -> float:
    """Per-coordinate RMS sigma of a family at native scale 1 (docs/certificate-notes.md#c0-4);
    ``inf`` for infinite variance."""
    g = special.gammaln
    if family == "gaussian":
        return 1.0
    if family == "laplace":
        return math.sqrt(2.0)
    if family == "uniform":
        return 1.0 / math.sqrt(3.0)
    if family == "gennorm":
        beta = params["beta"]
        return math.exp(0.5 * (g(3.0 / beta) - g(1.0 / beta)))
    if family == "pareto":
        a = params["a"]
        return math.sqrt(2.0 / ((a - 1.0) * (a - 2.0))) if a > 2 else math.inf
    if d is None:
        raise InvalidParameterError(f"the RMS of the joint family {family} depends on d")
    if family == "uniform_ball":
        return 1.0 / math.sqrt(d + 2.0)
    if family == "expinf":
        k, j = params.get("k", 1.0), params.get("j", 0.0)
        return math.exp(0.5 * (math.log(((d - 1) / 3.0 + 1.0) / d) + g((d + 2 - j) / k)
                               - g((d - j) / k)))
    if family == "powinf":
        a = params["a"]
        if not a > d + 2:
            return math.inf
        return math.sqrt(((d - 1) / 3.0 + 1.0) * (d + 1.0) / ((a - d - 1.0) * (a - d - 2.0)))
    if family == "exp2":
        k, j = params.get("k", 1.0), params.get("j", 0.0)
        return math.exp(0.5 * (g((d + 2 - j) / k) - g((d - j) / k) - math.log(d)))
    if family == "exp1":
        k = params.get("k", 1.0)
        return math.exp(0.5 * (math.log(2.0) + g((d + 2) / k) - g(d / k) - math.log(d * (d + 1.0))))
    raise InvalidParameterError(f"no scale convention is recorded for the family {family!r}")


def _native_scale(nz: Any) -> float:
    """The noise's native scale, after checking it against its sigma with §0.4.

    Refuses (rather than guesses) when the noise's native-scale convention differs from the
    reference's, so that a convention mismatch can never inflate a radius.
    """
    scale = float(nz.scale)
    sig = nz.sigma
    params = dict(getattr(nz, "params", {}))
    rms1 = rms_per_unit_scale(nz.name, params, getattr(nz, "d", None))
    if sig is not None and math.isfinite(rms1):
        expected = scale * rms1
        if not math.isclose(sig, expected, rel_tol=1e-6):
            raise FormulaNoiseMismatchError(
                f"noise {nz.name}: native scale {scale:.6g} and sigma {sig:.6g} do not follow the "
                f"convention of docs/certificate-notes.md#c0-4 (expected sigma {expected:.6g}); refusing to "
                "convert"
            )
    return scale


def _special_case_scale(nz: Any, beta: float, family: str) -> float:
    """Native scale of a noise that must be ``family``: the family itself, or gennorm with
    shape ``beta`` (gennorm's alpha; the Gaussian std is alpha / sqrt 2)."""
    scale = _native_scale(nz)
    if nz.name != "gennorm":
        return scale
    b = _param(nz, "beta")
    if b != beta:
        raise FormulaNoiseMismatchError(
            f"this formula is for {family} noise; gennorm with beta={b:g} is not {family} "
            f"(only beta = {beta:g} is)"
        )
    return scale / math.sqrt(2.0) if beta == 2.0 else scale


def _gaussian_std(nz: Any) -> float:
    """Standard deviation of a Gaussian noise (gaussian, or gennorm with beta = 2)."""
    return _special_case_scale(nz, 2.0, "Gaussian")


def _laplace_scale(nz: Any) -> float:
    """Laplace scale lam of laplace, or gennorm with beta = 1."""
    return _special_case_scale(nz, 1.0, "Laplace")


def _gn_shape_scale(nz: Any) -> tuple[float, float]:
    """(beta, native GN scale): gennorm; gaussian (2, sqrt 2 std); laplace (1, lam)."""
    if nz.name == "gaussian":
        return 2.0, math.sqrt(2.0) * _native_scale(nz)
    if nz.name == "laplace":
        return 1.0, _native_scale(nz)
    return _param(nz, "beta"), _native_scale(nz)


# ---------------------------------------------------------------------------
# adapters
# ---------------------------------------------------------------------------

_GAUSS = ("gaussian", "gennorm")
_LAPLACE = ("laplace", "gennorm")
_GN = ("gennorm", "gaussian", "laplace")

_STD = "sigma = Gaussian standard deviation = unicr sigma (gennorm beta=2: alpha / sqrt 2)"
_LAM = "lam = Laplace scale = unicr sigma / sqrt 2 (gennorm beta=1: alpha)"
_GN_CONV = ("Hayes' native GN scale s (GN(s, 2) = N(0, s^2/2), GN(s, 1) = Laplace(s)); read "
            "from gennorm's alpha, sqrt(2) x gaussian std, or the Laplace scale")


def _gauss(fn: Callable[..., float]) -> Callable[[_Call], _Out]:
    def impl(c: _Call) -> _Out:
        return _Out(fn(c.pa, c.pb, _gaussian_std(c.noise)))
    return impl


def _laplace(fn: Callable[..., float]) -> Callable[[_Call], _Out]:
    def impl(c: _Call) -> _Out:
        return _Out(fn(c.pa, c.pb, _laplace_scale(c.noise)))
    return impl


def _hayes_kl(c: _Call) -> _Out:
    conv = c.options.get("convention", "table1")
    return _Out(hayes.hayes_kl(c.pa, c.pb, _gaussian_std(c.noise), convention=conv),
                notes=(f"KL convention: {conv}",))


def _gaussian_linf(c: _Call) -> _Out:
    return _Out(cohen.gaussian_linf_conversion(c.pa, c.pb, _gaussian_std(c.noise), c.need_d()))


def _li_l1_printed(c: _Call) -> _Out:
    raw = li.li_l1_printed(c.pa, c.pb, _laplace_scale(c.noise))
    notes = ()
    if raw < 0:
        notes = (f"the printed value {raw:.6g} is negative (sign error, docs/soundness-notes.md#s23); "
                 "reported as 0",)
    return _Out(max(raw, 0.0), raw=raw, notes=notes)


def _gn_norm(c: _Call) -> tuple[int, float]:
    beta, s = _gn_shape_scale(c.noise)
    if beta != round(beta) or beta < 1:
        raise FormulaNoiseMismatchError(
            f"formula '{c.formula.name}' (Hayes 2020) needs an integer GN shape >= 1, "
            f"got beta={beta:g}"
        )
    if math.isinf(c.p) or c.p != beta:
        raise FormulaNoiseMismatchError(
            f"formula '{c.formula.name}' certifies l_p with p equal to the GN shape "
            f"(beta={beta:g}), not l{norm_label(c.p)}"
        )
    return int(beta), s


def _hayes_gn_lp(c: _Call) -> _Out:
    p, s = _gn_norm(c)
    if p <= 2:  # Eq. 20: no dependence on d
        return _Out(hayes.hayes_gn_l12(c.pa, c.pb, s, p))
    return _Out(hayes.hayes_gn_lp(c.pa, c.pb, s, p, c.need_d()))


def _hayes_gn_intersection(c: _Call) -> _Out:
    p, s = _gn_norm(c)
    trade = float(c.options.get("trade", 0.0))
    dim = c.need_d() if p > 2 else (c.d or 1)  # p <= 2: a single ball, no dependence on d
    region = hayes.hayes_gn_intersection(c.pa, c.pb, s, p, dim, trade=trade)
    value = region.constraints[0][1]  # the eps_p Hayes reports as the "l_p radius"
    inner = region.lp_radius(c.p)
    balls = " and ".join(f"||delta||_{k:g} < {e:.6g}" for k, e in region.constraints)
    lp = f"l{norm_label(c.p)}"
    return _Out(value, region=region, notes=(
        f"certifies the intersection {balls}, not the {lp} ball of radius {value:.6g}; the "
        f"largest {lp} ball inside it has radius {inner:.6g}",))


def _uniform_half_width(nz: Any) -> float:
    return _native_scale(nz)


def _yang_uniform(c: _Call) -> _Out:
    lam = _uniform_half_width(c.noise)
    if c.p == 1.0:
        return _Out(yang.yang_uniform_l1(c.pa, lam))
    return _Out(yang.yang_uniform_linf(c.pa, lam, c.need_d()))


def _nandi_uniform(c: _Call) -> _Out:
    sigma = _uniform_half_width(c.noise) / math.sqrt(3.0)
    if c.p == 1.0:
        return _Out(nandi.nandi_uniform_l1(c.pa, sigma))
    return _Out(nandi.nandi_uniform_l2(c.pa, sigma, c.need_d()), status="lower")


def _yang_pareto(c: _Call) -> _Out:
    return _Out(yang.yang_pareto_l1(c.pa, _native_scale(c.noise), _param(c.noise, "a")))


def _yang_gennorm(c: _Call) -> _Out:
    beta, s = _gn_shape_scale(c.noise)
    status = "tight" if beta >= 1 else "lower"
    notes = ()
    if beta < 1 and beta != 0.5:
        notes = ("beta < 1, beta != 1/2: differential-method integral (Riemann lower sum)",)
    return _Out(yang.yang_gennorm_l1(c.pa, s, beta), status=status, notes=notes)


def _yang_laplace_linf(c: _Call) -> _Out:
    return _Out(yang.yang_laplace_linf(c.pa, _laplace_scale(c.noise), c.need_d()))


def _yang_laplace_linf_approx(c: _Call) -> _Out:
    return _Out(yang.yang_laplace_linf_approx(c.pa, _laplace_scale(c.noise), c.need_d()))


def _expinf_kj(c: _Call) -> tuple[float, float]:
    return _param(c.noise, "k", 1.0), _param(c.noise, "j", 0.0)


def _yang_expinf(c: _Call) -> _Out:
    k, j = _expinf_kj(c)
    lam = _native_scale(c.noise)
    d = c.need_d()
    if c.p == 1.0:
        return _Out(yang.yang_expinf_l1(c.pa, lam, d, k, j))
    if j != 0.0:
        raise FormulaNoiseMismatchError(
            f"Yang et al.'s ExpInf l_inf certificate is for j = 0, got j={j:g}; use the engine"
        )
    return _Out(yang.yang_expinf_linf(c.pa, lam, d, k))


def _unicr_expinf_baseline(c: _Call) -> _Out:
    k, j = _expinf_kj(c)
    if k != 1.0 or j != 0.0:
        raise FormulaNoiseMismatchError(
            f"UniCR's ExpInf baseline is for k = 1, j = 0, got k={k:g}, j={j:g}"
        )
    _native_scale(c.noise)
    sigma = c.noise.sigma
    return _Out(yang.unicr_expinf_baseline(c.pa, sigma, c.need_d()))


def _yang_exp2(c: _Call) -> _Out:
    k, j = _expinf_kj(c)
    if j != 0.0:
        raise FormulaNoiseMismatchError(
            f"Yang et al.'s Exp2 closed forms are for j = 0, got j={j:g}"
        )
    return _Out(yang.yang_exp2_l2(c.pa, _native_scale(c.noise), c.need_d(), k),
                status="tight" if k == 2.0 else "lower")


def _yang_exp1(c: _Call) -> _Out:
    k = _param(c.noise, "k", 1.0)
    return _Out(yang.yang_exp1_l1(c.pa, _native_scale(c.noise), c.need_d(), k),
                status="tight" if k == 1.0 else "lower")


def _yang_uniform_ball(c: _Call) -> _Out:
    return _Out(yang.yang_uniform_ball_l2(c.pa, _native_scale(c.noise), c.need_d()))


def _yang_powinf(c: _Call) -> _Out:
    a = _param(c.noise, "a")
    lam = _native_scale(c.noise)
    if c.p == 1.0:
        return _Out(yang.yang_powinf_l1(c.pa, lam, c.need_d(), a))
    return _Out(yang.yang_powinf_linf(c.pa, lam, c.need_d(), a))


def _kumar(c: _Call) -> _Out:
    if not c.p > 2:
        raise FormulaNoiseMismatchError(
            f"Kumar et al.'s upper bounds are for l_p with p > 2, not l{norm_label(c.p)}"
        )
    sig = c.noise.sigma
    if sig is None:
        raise FormulaNoiseMismatchError(
            f"Kumar et al.'s bounds need a finite per-coordinate std; {c.noise.name} has "
            "infinite variance"
        )
    if c.noise.name in ("gaussian", "gennorm"):
        return _Out(kumar.kumar_upper_gennorm(c.pa, sig, c.need_d(), c.p),
                    notes=("generalized-Gaussian form",))
    return _Out(kumar.kumar_upper_iid(c.pa, sig, c.need_d(), c.p), notes=("generic i.i.d. form",))


_INF = math.inf


def _f(name: str, citation: str, families: tuple[str, ...], norms: tuple[float, ...], status: str,
       status_two: str | None, convention: str, description: str, impl: Callable[[_Call], _Out],
       **kw: Any) -> Formula:
    return Formula(name, citation, families, norms, status, status_two, convention, description,
                   impl, **kw)


_ALL = [
    _f("cohen", "Cohen et al. 2019, Thm. 1", _GAUSS, (2.0,), "tight", "tight", _STD,
       "Gaussian l2: sigma Phi^-1(pA); two-sided (sigma/2)(Phi^-1(pA) - Phi^-1(pB))",
       _gauss(cohen.cohen_l2)),
    _f("gaussian_linf_conversion", "Cohen et al. 2019 + norm conversion (Yang et al. 2020)",
       _GAUSS, (_INF,), "lower", "lower", _STD, "Gaussian l_inf: Cohen's l2 radius / sqrt(d)",
       _gaussian_linf),
    _f("feng_two_sided", "Feng et al. 2020, Prop. 1 / Eq. 14", _GAUSS, (2.0,), "tight", "tight",
       _STD, "Cohen's two-sided radius at Feng's (pA, pB) bounds", _gauss(feng.feng_two_sided)),
    _f("teng", "Teng et al. 2020", _LAPLACE, (1.0,), "tight", "lower", _LAM,
       "Laplace l1: -lam ln(2(1 - pA)); two-sided max{(lam/2) ln(pA/pB), -lam ln(1 - pA + pB)} "
       "(two-sided form from secondary descriptions)", _laplace(teng.teng_l1)),
    _f("pixeldp_gaussian", "Lecuyer et al. 2019 (as printed by Hayes 2020)", _GAUSS, (2.0,),
       "lower", "lower", _STD, "PixelDP Gaussian mechanism, sup over the DP budget beta",
       _gauss(lecuyer.pixeldp_gaussian)),
    _f("pixeldp_laplace", "Lecuyer et al. 2019 (as printed by Hayes 2020)", _LAPLACE, (1.0,),
       "lower", "lower", _LAM, "PixelDP Laplace mechanism: (lam/2) ln(pA/pB)",
       _laplace(lecuyer.pixeldp_laplace)),
    _f("li_renyi", "Li et al. 2019; Hayes 2020 Eqs. 9-12", _GAUSS, (2.0,), "lower", "lower", _STD,
       "Renyi-divergence l2 radius, order alpha optimised in log space", _gauss(li.li_renyi)),
    _f("li_l1", "Li et al. 2019 (Hayes 2020 Sec. 3.1, sign corrected)", _LAPLACE, (1.0,), "lower",
       "lower", _LAM, "Laplace l1: -lam ln(1 - pA + pB)", _laplace(li.li_l1)),
    _f("li_l1_printed", "Li et al. 2019 as printed by Hayes 2020 Sec. 3.1", _LAPLACE, (1.0,),
       "lower", "lower", _LAM,
       "lam log(1 - pA + pB) as printed: negative whenever pA > pB (sign error, docs/soundness-notes.md "
       "S23), so it certifies nothing: value 0 (vacuous but sound), printed value in `raw`; "
       "the corrected form is li_l1", _li_l1_printed),
    _f("hayes_kl", "Hayes 2020 Table 1 (KL row, as printed)", _GAUSS, (2.0,), "lower", "lower",
       _STD + "; option convention='table1' (printed sigma = std: sound, sqrt 2 too small) or "
       "'gn' (printed sigma = GN scale sqrt(2) std: equals hayes_kl_corrected)",
       "sqrt(-sigma^2 ln(2 sqrt(p1 p2) + 1 - p1 - p2))", _hayes_kl, options=("convention",)),
    _f("hayes_kl_corrected", "Hayes 2020 Table 1 (KL row, corrected for N(0, sigma^2))", _GAUSS,
       (2.0,), "lower", "lower", _STD, "sqrt(-2 sigma^2 ln(2 sqrt(p1 p2) + 1 - p1 - p2))",
       _gauss(hayes.hayes_kl_corrected)),
    _f("hayes_chi2", "Hayes 2020 Table 1 (chi-square row)", _GAUSS, (2.0,), "lower", "lower",
       _STD, "sqrt(sigma^2 ln((p1+p2)/((p1+p2) - (p1-p2)^2)))", _gauss(hayes.hayes_chi2)),
    _f("hayes_hellinger", "Hayes 2020 Table 1 (squared-Hellinger row)", _GAUSS, (2.0,), "lower",
       "lower", _STD, "sqrt(-8 sigma^2 ln sqrt(1 - (sqrt p1 - sqrt p2)^2 / 2))",
       _gauss(hayes.hayes_hellinger)),
    _f("hayes_bhattacharyya", "Hayes 2020 Table 1 (Bhattacharyya row)", _GAUSS, (2.0,), "lower",
       "lower", _STD, "identical to the squared-Hellinger radius",
       _gauss(hayes.hayes_bhattacharyya)),
    _f("hayes_tv", "Hayes 2020 Table 1 (TV row, as printed)", _GAUSS, (2.0,), "unsound-as-printed",
       "unsound-as-printed", _STD, "2 sigma Phi^-1(|p1 - p2|/2 + 1/2): twice Cohen's tight radius "
       "in the binary case", _gauss(hayes.hayes_tv)),
    _f("hayes_tv_corrected", "Hayes 2020 Table 1 (TV row, corrected)", _GAUSS, (2.0,), "lower",
       "lower", _STD, "2 sigma Phi^-1(1/2 + |p1 - p2|/4)", _gauss(hayes.hayes_tv_corrected)),
    _f("hayes_gn_lp", "Hayes 2020 Eqs. 20-21", _GN, (), "lower", "lower", _GN_CONV,
       "generalized Gaussian GN(s, p), genuine l_p ball (p = shape, integer; depends on d)",
       _hayes_gn_lp, norms_text="p = the GN shape beta (integer)",
       default_norm=lambda nz: _gn_shape_scale(nz)[0]),
    _f("hayes_gn_intersection", "Hayes 2020 Eqs. 22-27 (Fig. 4)", _GN, (), "intersection",
       "intersection", _GN_CONV + "; option trade in [0, 1] (0: Fig. 4, all eps_k equal)",
       "intersection of l_p, l_(p-2), ... balls; value = Hayes' reported eps_p, region in "
       "`region`", _hayes_gn_intersection, norms_text="p = the GN shape beta (integer)",
       options=("trade",), default_norm=lambda nz: _gn_shape_scale(nz)[0]),
    _f("yang_uniform", "Yang et al. 2020 (uniform cube)", ("uniform",), (1.0, _INF), "tight", None,
       "lam = half-width = sqrt(3) sigma",
       "l1: 2 lam (pA - 1/2); l_inf: 2 lam (1 - (3/2 - pA)^(1/d))",
       _yang_uniform),
    _f("nandi_uniform", "Nandi et al. 2023", ("uniform",), (1.0, 2.0), "tight", None,
       "sigma = the uniform's standard deviation = unicr sigma (half-width sqrt(3) sigma)",
       "l1: 2 sqrt(3) sigma (pA - 1/2) (tight); l2: l1 / sqrt(d) (lower)", _nandi_uniform),
    _f("yang_pareto", "Yang et al. 2020 (Pareto)", ("pareto",), (1.0,), "lower", None,
       "lam = native Pareto scale = sigma sqrt((a-1)(a-2)/2) (a > 2)",
       "(lam (2pA - 1)/a) 2F1(1, a/(a+1); a/(a+1)+1; (2pA-1)^(1+1/a))", _yang_pareto),
    _f("yang_gennorm", "Yang et al. 2020 (Expp)", _GN, (1.0,), "tight", None,
       "lam = native GN scale (scipy gennorm scale) = sigma sqrt(Gamma(1/beta)/Gamma(3/beta))",
       "l1: quantile F^-1(pA) for beta >= 1 (tight); dilogarithm form for beta = 1/2 and the "
       "differential-method integral for other beta < 1 (lower)", _yang_gennorm),
    _f("yang_laplace_linf", "Yang et al. 2020 (Laplace l_inf, differential method)", _LAPLACE,
       (_INF,), "lower", None, _LAM,
       "exact integral of 1/Phi with the Binomial(d, 1/2) Phi-function", _yang_laplace_linf),
    _f("yang_laplace_linf_approx", "Yang et al. 2020 (Laplace l_inf, 'approx' mode)", _LAPLACE,
       (_INF,), "estimate", None, _LAM, "lam Phi^-1(pA)/sqrt(d): no guarantee either way",
       _yang_laplace_linf_approx),
    _f("yang_expinf", "Yang et al. 2020 (ExpInf)", ("expinf",), (1.0, _INF), "lower", None,
       "lam = native ExpInf scale (k=1, j=0: sigma / sqrt((d+1)((d-1)/3+1)))",
       "l1: 2 lam (d/(d-1)) Gamma((d-j)/k)/Gamma((d-j-1)/k) (pA - 1/2); l_inf: "
       "lam ln(1/(2(1 - pA))) (k = 1) or differential integral (k > 1)", _yang_expinf),
    _f("unicr_expinf_baseline", "Hong et al. 2022 (UniCR) reference code", ("expinf",), (_INF,),
       "unsound-as-printed", None,
       "lam' = sigma sqrt(1/((d+1)(d-1)/(3+1))) (operator-precedence error; 1.1553x at d = 3072)",
       "UniCR's ExpInf l_inf baseline with its wrong constant", _unicr_expinf_baseline),
    _f("yang_exp2", "Yang et al. 2020 (Exp2)", ("exp2",), (2.0,), "lower", None,
       "lam = native Exp2 scale (k=1: sigma / sqrt(d+1))",
       "k=1: lam (d-1) artanh(1 - 2 B^-1((d-1)/2,(d-1)/2; 1 - pA)), the differential method's "
       "value: a lower bound, not tight (4.3% below R* at d = 2, pA = 0.9; docs/certificate-"
       "notes.md#c7); k=2: (lam/sqrt 2) Phi^-1(pA) (Cohen's, tight)",
       _yang_exp2),
    _f("yang_exp1", "Yang et al. 2020 (Exp1)", ("exp1",), (1.0,), "tight", None,
       "lam = native Exp1 scale", "k=1: Laplace formula (tight); other k: differential integral "
       "(lower)", _yang_exp1),
    _f("yang_uniform_ball", "Yang et al. 2020 (UniformBall)", ("uniform_ball",), (2.0,), "tight",
       None, "lam = ball radius = sigma sqrt(d+2)",
       "lam (2 - 4 B^-1((d+1)/2, (d+1)/2; 3/4 - pA/2))", _yang_uniform_ball),
    _f("yang_powinf", "Yang et al. 2020 (PowInf)", ("powinf",), (1.0, _INF), "lower", None,
       "lam = native PowInf scale",
       "l1: (2 d lam/(a - d)) (pA - 1/2); l_inf: differential integral",
       _yang_powinf),
    _f("kumar_upper", "Kumar et al. 2020", ("*",), (), "upper", None,
       "sigma = per-coordinate std = unicr sigma",
       "upper bound on any l_p (p > 2) certificate from pA: generalized-Gaussian form for "
       "gaussian/gennorm, generic i.i.d. form otherwise", _kumar, norms_text="any p > 2",
       default_norm=lambda nz: math.inf),
]

#: name -> Formula, in a stable order
FORMULAS: dict[str, Formula] = {f.name: f for f in _ALL}


def formula_names() -> list[str]:
    """All registered formula names."""
    return list(FORMULAS)


def get_formula(name: str) -> Formula:
    """The formula registered under ``name``; unknown names list the available ones."""
    key = str(name).strip().lower().replace("-", "_")
    if key in FORMULAS:
        return FORMULAS[key]
    close = difflib.get_close_matches(key, list(FORMULAS), n=3)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise UnknownFormulaError(
        f"unknown formula {name!r}.{hint} Available formulas: {', '.join(FORMULAS)}"
    )


def formulas_for(noise_name: str) -> list[Formula]:
    """The formulas that apply to a noise family (by registry name; '*' entries included)."""
    return [f for f in FORMULAS.values() if noise_name in f.families or "*" in f.families]
