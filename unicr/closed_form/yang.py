"""Yang, Duan, Hu, Salman, Razenshteyn & Li 2020, *Randomized Smoothing of All Shapes and Sizes*.

Closed forms of the paper and its reference implementation (docs/certificate-notes.md#c2-4, §3, §5.2-5.4,
§6, §7, §8), plus UniCR's (Hong et al. 2022) ExpInf l_inf baseline with its wrong constant.
All radii are binary (they use rho = pA only; pB = 1 - pA) and abstain (return 0.0) when
pA <= 1/2.

Convention: every function takes the family's **native scale** ``lam`` (Yang et al.'s lambda,
docs/certificate-notes.md#c0-4) -- Yang et al. themselves match the RMS sigma and convert with
``lam = sigma / sigma_1``:

* uniform cube U[-lam, lam]: lam = sqrt(3) sigma;
* generalized normal (Expp) exp(-|x/lam|^beta): lam = sigma sqrt(Gamma(1/beta)/Gamma(3/beta));
* Laplace: lam = sigma / sqrt(2);  Pareto(a): lam = sigma sqrt((a-1)(a-2)/2) (a > 2);
* joint families (UniformBall, ExpInf, Exp2, Exp1, PowInf): the d-dependent relations of §0.4.

Numerically integrated radii (differential method) are proven lower bounds: the integrand
1/Phi is monotone, so a right-endpoint Riemann sum bounds the integral from below
(:func:`unicr.closed_form._common.differential_radius`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from unicr.closed_form._common import (
    check_dimension,
    check_positive,
    check_probabilities,
    differential_radius,
    round_down,
)
from unicr.errors import InvalidParameterError

__all__ = [
    "yang_uniform_l1",
    "yang_uniform_linf",
    "yang_pareto_l1",
    "yang_gennorm_l1",
    "gennorm_phi",
    "yang_laplace_linf_approx",
    "yang_laplace_linf",
    "yang_expinf_l1",
    "yang_expinf_linf",
    "unicr_expinf_baseline",
    "unicr_expinf_scale",
    "expinf_scale",
    "yang_exp2_l2",
    "yang_exp1_l1",
    "yang_uniform_ball_l2",
    "yang_powinf_l1",
    "yang_powinf_linf",
]


def _binary(pa: float, lam: float, name: str = "lam") -> tuple[float, float] | None:
    """Validate (pA, scale); None when abstaining (pA <= 1/2)."""
    a, _ = check_probabilities(pa, None)
    s = check_positive(lam, name)
    if a <= 0.5:
        return None
    return a, s


def _shape(value: float, name: str, low: float = 0.0) -> float:
    v = check_positive(value, name)
    if v <= low:
        raise InvalidParameterError(f"{name} must be > {low:g}, got {value!r}")
    return v


# ---------------------------------------------------------------------------
# uniform cube
# ---------------------------------------------------------------------------


def yang_uniform_l1(pa: float, lam: float = 1.0) -> float:
    """Yang et al. 2020 Thm. (uniform cube U[-lam, lam]^d, l1): ``R = 2 lam (pA - 1/2)``.

    docs/certificate-notes.md#c3-1.  lam: half-width = sqrt(3) sigma.  Status: **tight**.
    """
    st = _binary(pa, lam)
    if st is None:
        return 0.0
    a, s = st
    return 2.0 * s * (a - 0.5)


def yang_uniform_linf(pa: float, lam: float = 1.0, d: int = 1) -> float:
    """Yang et al. 2020 (uniform cube, l_inf): ``R = 2 lam (1 - (3/2 - pA)^(1/d))``.

    docs/certificate-notes.md#c3-2.  lam: half-width = sqrt(3) sigma.  Status: **tight**.
    """
    dim = check_dimension(d)
    st = _binary(pa, lam)
    if st is None:
        return 0.0
    a, s = st
    # 1 - (3/2 - pA)^(1/d) = -expm1(log1p(1/2 - pA) / d)
    return max(0.0, -2.0 * s * math.expm1(math.log1p(0.5 - a) / dim))


# ---------------------------------------------------------------------------
# Pareto
# ---------------------------------------------------------------------------


def _hyp2f1_1b(b: float, z: float, w: float) -> float:
    """2F1(1, b; b + 1; z) for 0 <= z < 1, with w = 1 - z given accurately.

    For z <= 0.9 SciPy's hyp2f1; above, the logarithmic connection formula (Abramowitz &
    Stegun 15.3.10 with a = 1, c = a + b):
    ``b sum_n (b)_n / n! [psi(n + 1) - psi(b + n) - ln w] w^n`` (SciPy loses all accuracy as
    z -> 1).
    """
    if z <= 0.9:
        return float(special.hyp2f1(1.0, b, b + 1.0, z))
    log_w = math.log(w)
    total = 0.0
    coef = 1.0  # (b)_n / n!
    wn = 1.0
    for n in range(400):
        term = coef * (special.digamma(n + 1.0) - special.digamma(b + n) - log_w) * wn
        total += term
        if abs(term) < 1e-17 * abs(total):
            break
        coef *= (b + n) / (n + 1.0)
        wn *= w
    return b * total


def yang_pareto_l1(pa: float, lam: float = 1.0, a: float = 3.0) -> float:
    """Yang et al. 2020, Pareto(a) noise, l1:
    ``R = (lam (2 pA - 1) / a) 2F1(1, a/(a+1); a/(a+1) + 1; (2 pA - 1)^(1 + 1/a))``.

    docs/certificate-notes.md#c6: density proportional to (1 + |x|/lam)^-(a+1), lam = sigma sqrt((a-1)(a-2)/2)
    (a > 2; for a <= 2 only the native scale exists).  It is the closed form of the differential
    method with Phi(u) = (a / (2 lam)) (1 - (1 - 2u)^((a+1)/a)).  Status: **lower bound, not
    tight** (UniCR Fig. 4(d) finds larger Neyman-Pearson radii).  Returns 0.0 when abstaining.
    """
    av = _shape(a, "a")
    st = _binary(pa, lam)
    if st is None:
        return 0.0
    p, s = st
    x = 2.0 * p - 1.0
    c = 1.0 + 1.0 / av
    log_x = math.log1p(-2.0 * (1.0 - p))
    z = math.exp(c * log_x)
    w = -math.expm1(c * log_x)
    b = av / (av + 1.0)
    return round_down(s * x / av * _hyp2f1_1b(b, z, w))


# ---------------------------------------------------------------------------
# generalized normal (Expp) l1
# ---------------------------------------------------------------------------


def gennorm_phi(beta: float) -> callable:
    """Phi-function of the differential method for GN(beta) at lam = 1, l1 (docs/certificate-notes.md#c5-4):
    ``Phi(u) = (1 - exp(-G^-1_{1/beta}(2u))) / (2 Gamma(1 + 1/beta))`` (valid for beta <= 1,
    where the worst set of mass u is (0, t) because the score decreases in |x|)."""
    inv = 1.0 / beta
    norm = 2.0 * math.exp(special.gammaln(1.0 + inv))

    def phi(u: np.ndarray) -> np.ndarray:
        return -np.expm1(-special.gammaincinv(inv, 2.0 * np.asarray(u))) / norm

    return phi


def _dilog(z: float) -> float:
    """Li2(z) for 0 <= z <= 1: series for small z (spence(1 - z) loses z's digits), else SciPy."""
    if z < 0.5:
        total, zk, k = 0.0, z, 1
        while k < 200:
            term = zk / (k * k)
            total += term
            if term < 1e-18 * total:
                break
            k += 1
            zk *= z
        return total
    return float(special.spence(1.0 - z))


def yang_gennorm_l1(pa: float, lam: float = 1.0, beta: float = 2.0) -> float:
    """Yang et al. 2020, generalized normal (Expp) noise exp(-|x/lam|^beta), l1.

    * beta >= 1 (log-concave): ``R = lam [G^-1_{1/beta}(2 pA - 1)]^(1/beta)`` = F^-1(pA), the
      1-D quantile -- **tight** (docs/certificate-notes.md#c5-2; beta = 1 is Teng et al., beta = 2 is
      Cohen at sigma = lam / sqrt(2)).
    * beta = 1/2: ``R = 2 lam (-c ln(1 - e^-c) + Li2(e^-c))``, ``c = G^-1_2(2 (1 - pA))`` --
      **lower bound** (closed form of the differential method, §5.3).
    * other beta < 1: the differential-method integral with :func:`gennorm_phi`, a proven
      lower bound by a right-endpoint Riemann sum (§5.4) -- **lower bound**.

    lam: native scale (Yang's lambda = UniCR's alpha = SciPy's gennorm scale = Hayes' s),
    lam = sigma sqrt(Gamma(1/beta) / Gamma(3/beta)).  Returns 0.0 when abstaining.
    """
    bv = _shape(beta, "beta")
    st = _binary(pa, lam)
    if st is None:
        return 0.0
    p, s = st
    if bv >= 1.0:
        # 2 pA - 1 = 1 - 2 (1 - pA): use the complementary inverse for accuracy near pA = 1
        g = float(special.gammainccinv(1.0 / bv, 2.0 * (1.0 - p)))
        return s * g ** (1.0 / bv)
    if bv == 0.5:
        c = float(special.gammaincinv(2.0, 2.0 * (1.0 - p)))
        e = math.exp(-c)
        val = -c * math.log(-math.expm1(-c)) + _dilog(e)
        return max(0.0, 2.0 * s * val)
    lower, _ = differential_radius(gennorm_phi(bv), p)
    return s * lower


# ---------------------------------------------------------------------------
# Laplace l_inf
# ---------------------------------------------------------------------------


def yang_laplace_linf_approx(pa: float, lam: float = 1.0, d: int = 1) -> float:
    """Yang et al. 2020's default ("approx") Laplace l_inf radius ``lam Phi^-1(pA) / sqrt(d)``.

    A central-limit approximation of the differential-method bound (docs/certificate-notes.md#c2-4,
    docs/soundness-notes.md#s27).  lam: Laplace scale.  Status: **estimate** -- never a certificate;
    use :func:`yang_laplace_linf`.
    """
    dim = check_dimension(d)
    st = _binary(pa, lam)
    if st is None:
        return 0.0
    a, s = st
    return s * float(special.ndtri(a)) / math.sqrt(dim)


#: most binomial atoms :func:`yang_laplace_linf` evaluates (scipy's binomial at huge d costs ~20 us each)
_MAX_ATOMS = 1 << 18


def yang_laplace_linf(pa: float, lam: float = 1.0, d: int = 1) -> float:
    """Yang et al. 2020's "integrate" mode: the differential-method Laplace l_inf certificate.

    ``R = lam int_{1-pA}^{1/2} du / Phi(u)`` (docs/certificate-notes.md#c2-4, §8.1) where, for the worst
    sign-vector direction v (Yang et al.: the supremum over the l_inf ball is attained at sign
    vectors), the directional score <sign(eps), v> = 2K - d with K ~ Binomial(d, 1/2), and
    Phi(u) is the largest E[(2K - d) 1_U] over sets of mass u: the top-u quantile of 2K - d.
    Phi is piecewise linear in u (slope 2j - d across the atom K = j) and at the cumulative
    mass P(K >= j) equals (d/2) P(Binomial(d-1, 1/2) = j - 1), so the integral is evaluated
    **exactly**, piece by piece, as sum (1/S_j) log1p(S_j du / Phi(u_lo)) (du / Phi on the
    flat atom S_j = 0), then rounded down -- no grid, no table interpolation.

    d = 1 reproduces Teng's -lam ln(2 (1 - pA)); in high d it approaches
    :func:`yang_laplace_linf_approx`.  lam: Laplace scale.  Status: **lower bound**.
    """
    from scipy import stats  # deferred: keeps `import unicr` light

    dim = check_dimension(d)
    st = _binary(pa, lam)
    if st is None:
        return 0.0
    p, s = st
    lo_u = 1.0 - p
    # atoms with 2j - d >= 0, from the top; those with P(K >= j) <= 1 - pA never meet the
    # integration range, and Hoeffding (P(K >= j) <= exp(-2 (j - d/2)^2 / d)) bounds where
    # they start, so the arrays are O(sqrt(d log(1/(1-pA)))) long instead of O(d)
    top = dim
    if lo_u > 0.0:
        top = min(dim, math.ceil(0.5 * dim + math.sqrt(0.5 * dim * math.log(1.0 / lo_u))) + 1)
    n_atoms = top - (dim - 1) // 2
    if n_atoms > _MAX_ATOMS:
        raise InvalidParameterError(
            f"yang_laplace_linf: d={dim} at pA={pa!r} needs {n_atoms} binomial atoms, more than "
            f"the {_MAX_ATOMS} this closed form evaluates")
    j = np.arange(top, (dim - 1) // 2, -1)
    slope = 2.0 * j - dim
    t_start = stats.binom.sf(j, dim, 0.5)  # P(K >= j + 1): mass before atom j
    t_end = stats.binom.sf(j - 1, dim, 0.5)  # P(K >= j)
    phi_start = 0.5 * dim * stats.binom.pmf(j, dim - 1, 0.5)  # Phi at P(K >= j + 1)
    u0 = np.maximum(t_start, lo_u)
    u1 = np.minimum(t_end, 0.5)
    use = u1 > u0
    u0, u1, slope, t_start, phi_start = u0[use], u1[use], slope[use], t_start[use], phi_start[use]
    phi0 = phi_start + slope * (u0 - t_start)
    if np.any(phi0 <= 0):
        return 0.0  # pragma: no cover - only when 1 - pA underflows
    du = u1 - u0
    with np.errstate(divide="ignore", invalid="ignore"):
        pieces = np.where(slope > 0, np.log1p(slope * du / phi0) / np.where(slope > 0, slope, 1.0),
                          du / phi0)
    return round_down(s * float(np.sum(pieces)), 1e-10)


# ---------------------------------------------------------------------------
# ExpInf, PowInf (l_inf-radial families)
# ---------------------------------------------------------------------------


def expinf_scale(sigma: float, d: int, k: float = 1.0, j: float = 0.0) -> float:
    """Native lam of ExpInf(k, j) with per-coordinate RMS sigma (docs/certificate-notes.md#c0-4):
    ``sigma = lam sqrt(((d-1)/3 + 1)/d * Gamma((d+2-j)/k) / Gamma((d-j)/k))``; for k = 1, j = 0:
    ``lam = sigma / sqrt((d+1)((d-1)/3 + 1))``."""
    s = check_positive(sigma, "sigma")
    dim = check_dimension(d)
    kv = _shape(k, "k")
    log_r = 0.5 * (math.log(((dim - 1) / 3.0 + 1.0) / dim)
                   + special.gammaln((dim + 2 - j) / kv) - special.gammaln((dim - j) / kv))
    return s * math.exp(-log_r)


def unicr_expinf_scale(sigma: float, d: int) -> float:
    """UniCR's ExpInf scale **as implemented** (Hong et al. 2022 reference code):
    ``lam = sigma sqrt(1 / ((d+1)(d-1)/(3+1)))`` -- an operator-precedence error
    (docs/soundness-notes.md#s26); 1.1553x the correct :func:`expinf_scale` at d = 3072."""
    s = check_positive(sigma, "sigma")
    dim = check_dimension(d, 2)
    return s * math.sqrt(1.0 / ((dim + 1) * (dim - 1) / (3 + 1)))


def yang_expinf_l1(pa: float, lam: float = 1.0, d: int = 2, k: float = 1.0,
                   j: float = 0.0) -> float:
    """Yang et al. 2020, ExpInf(k, j) noise ||x||_inf^-j exp(-||x/lam||_inf^k), l1:
    ``R = 2 lam (d/(d-1)) (Gamma((d-j)/k) / Gamma((d-j-1)/k)) (pA - 1/2)``; k = 1, j = 0:
    ``2 d lam (pA - 1/2)``.

    docs/certificate-notes.md#c7.  lam: native scale (see :func:`expinf_scale`).  Status: **lower bound**.
    """
    dim = check_dimension(d, 2)
    kv = _shape(k, "k")
    if not (dim - j - 1 > 0):
        raise InvalidParameterError(f"ExpInf needs d - j - 1 > 0, got d={dim}, j={j!r}")
    st = _binary(pa, lam)
    if st is None:
        return 0.0
    p, s = st
    ratio = math.exp(special.gammaln((dim - j) / kv) - special.gammaln((dim - j - 1) / kv))
    return round_down(2.0 * s * dim / (dim - 1.0) * ratio * (p - 0.5))


def _gamma_phi(d: int, k: float):
    """Phi of the Gamma-radial families at lam = 1 (docs/certificate-notes.md#c7): ExpInf(k, 0) for l_inf
    and Exp1(k) for l1 share ``(k/2) (Gamma((d+k-1)/k)/Gamma(d/k)) Psi(u)`` with
    ``Psi(u) = 1 - G_{(d+k-1)/k}(G^-1_{d/k}(1 - 2u))`` for k >= 1 and
    ``G_{(d+k-1)/k}(G^-1_{d/k}(2u))`` for 0 < k < 1 (Exp1 only)."""
    a1 = d / k
    a2 = (d + k - 1) / k
    const = 0.5 * k * math.exp(special.gammaln(a2) - special.gammaln(a1))
    if k >= 1.0:
        def phi(u: np.ndarray) -> np.ndarray:
            return const * special.gammaincc(a2, special.gammainccinv(a1, 2.0 * np.asarray(u)))
    else:
        def phi(u: np.ndarray) -> np.ndarray:
            return const * special.gammainc(a2, special.gammaincinv(a1, 2.0 * np.asarray(u)))
    return phi


#: ExpInf(k, 0) l_inf and Exp1(k) l1 Phi-functions (the same expression)
_expinf_phi = _exp1_phi = _gamma_phi


def _gamma_radial_radius(pa: float, lam: float, dim: int, kv: float) -> float:
    """Differential-method radius with :func:`_gamma_phi`; k = 1 (Phi(u) = u) in closed form
    ``lam ln(1 / (2 (1 - pA)))``.  0.0 when abstaining."""
    st = _binary(pa, lam)
    if st is None:
        return 0.0
    p, s = st
    if kv == 1.0:
        return max(0.0, -s * (math.log(2.0) + math.log1p(-p)))
    lower, _ = differential_radius(_gamma_phi(dim, kv), p)
    return s * lower


def yang_expinf_linf(pa: float, lam: float = 1.0, d: int = 2, k: float = 1.0) -> float:
    """Yang et al. 2020, ExpInf(k, 0) noise, l_inf.

    k = 1: ``R = lam ln(1 / (2 (1 - pA)))`` (differential method with Phi(u) = u).  k > 1: the
    differential-method integral with Phi of docs/certificate-notes.md#c7, a proven lower bound (Riemann
    sum).  lam: native scale (:func:`expinf_scale`).  Status: **lower bound**.
    """
    dim = check_dimension(d, 2)
    kv = _shape(k, "k")
    if kv < 1.0:
        raise InvalidParameterError(
            f"Yang et al.'s ExpInf l_inf certificate needs k >= 1, got k={k!r}; "
            "use the numeric engine (unicr.radius)"
        )
    return _gamma_radial_radius(pa, lam, dim, kv)


def unicr_expinf_baseline(pa: float, sigma: float = 1.0, d: int = 3072) -> float:
    """UniCR's ExpInf l_inf baseline **as implemented** (Hong et al. 2022 reference code):
    ``lam' ln(1 / (2 (1 - pA)))`` with lam' = :func:`unicr_expinf_scale` (sigma, d).

    Takes unicr's sigma (RMS) because the error is in the sigma -> lam conversion: lam' is
    1.1553x too large at d = 3072, so the radius is ~15.5% too large.  Status:
    **unsound as printed** (docs/soundness-notes.md#s26); the sound radius is
    :func:`yang_expinf_linf` with :func:`expinf_scale`.
    """
    lam_wrong = unicr_expinf_scale(sigma, d)
    return yang_expinf_linf(pa, lam_wrong, d, 1.0)


def _powinf_setup(pa: float, lam: float, d: int,
                  a: float) -> tuple[int, float, float, float] | None:
    """Validated (d, a, pA, lam) of PowInf(a) (a > d), or None when abstaining."""
    dim = check_dimension(d)
    av = _shape(a, "a")
    if not av > dim:
        raise InvalidParameterError(f"PowInf needs a > d, got a={a!r}, d={dim}")
    st = _binary(pa, lam)
    return None if st is None else (dim, av, st[0], st[1])


def yang_powinf_l1(pa: float, lam: float = 1.0, d: int = 1, a: float = 10.0) -> float:
    """Yang et al. 2020, PowInf(a) noise (1 + ||x/lam||_inf)^-a, l1:
    ``R = (2 d lam / (a - d)) (pA - 1/2)``.  docs/certificate-notes.md#c7 (a > d + 2 for a finite
    variance; the formula needs a > d).  lam: native scale.  Status: **lower bound**.
    """
    st = _powinf_setup(pa, lam, d, a)
    if st is None:
        return 0.0
    dim, av, p, s = st
    return round_down(2.0 * dim * s / (av - dim) * (p - 0.5))


def yang_powinf_linf(pa: float, lam: float = 1.0, d: int = 1, a: float = 10.0) -> float:
    """Yang et al. 2020, PowInf(a) noise, l_inf: differential method with
    ``Phi(u) = ((a - d)/2) F_{beta'(d, a+1-d)}(F^-1_{beta'(d, a-d)}(2u))`` (docs/certificate-notes.md#c7),
    evaluated through Beta laws (X ~ beta'(p, q) iff X/(1+X) ~ Beta(p, q)) and integrated by a
    proven lower Riemann sum.  lam: native scale.  Status: **lower bound**.
    """
    st = _powinf_setup(pa, lam, d, a)
    if st is None:
        return 0.0
    dim, av, p, s = st
    const = 0.5 * (av - dim)

    def phi(u: np.ndarray) -> np.ndarray:
        w = special.betaincinv(dim, av - dim, 2.0 * np.asarray(u))
        return const * special.betainc(dim, av + 1.0 - dim, w)

    lower, _ = differential_radius(phi, p)
    return s * lower


# ---------------------------------------------------------------------------
# l2-radial families: Exp2, UniformBall;  l1-radial: Exp1
# ---------------------------------------------------------------------------


def yang_exp2_l2(pa: float, lam: float = 1.0, d: int = 2, k: float = 1.0) -> float:
    """Yang et al. 2020, Exp2(k, 0) noise exp(-||x/lam||_2^k), l2.

    k = 1: ``R = lam (d - 1) artanh(1 - 2 B^-1_{(d-1)/2,(d-1)/2}(1 - pA))``; k = 2:
    ``R = (lam / sqrt 2) Phi^-1(pA)`` (a Gaussian of std lam / sqrt 2).  Other k need the
    level-set table: use the numeric engine.  docs/certificate-notes.md#c7; lam: native scale
    (k = 1: lam = sigma / sqrt(d + 1)).
    Status: k = 2 **tight**; k = 1 a **lower bound**, not tight.  The k = 1 value is the
    differential method's (the score of exp(-||x||) is the unit vector x/||x||, whose projection
    has the Beta law in the formula): at d = 2, pA = 0.9 it is 1.0639 sigma while the tight
    radius is 1.1098-1.1110 sigma (a proven deterministic band, and 1.1123 sigma by a
    4-million-sample Neyman-Pearson computation); the gap closes as d grows.
    """
    dim = check_dimension(d, 2)
    kv = _shape(k, "k")
    if kv not in (1.0, 2.0):
        raise InvalidParameterError(
            f"Yang et al.'s Exp2 closed forms exist for k = 1 and k = 2, got k={k!r}; other k need "
            "the level-set table -- use the numeric engine (unicr.radius)"
        )
    st = _binary(pa, lam)
    if st is None:
        return 0.0
    p, s = st
    if kv == 2.0:
        return s / math.sqrt(2.0) * float(special.ndtri(p))
    h = 0.5 * (dim - 1)
    b = float(special.betaincinv(h, h, 1.0 - p))
    # artanh(1 - 2b) = (1/2) ln((1 - b) / b)
    return max(0.0, s * (dim - 1) * 0.5 * (math.log1p(-b) - math.log(b)))


def yang_uniform_ball_l2(pa: float, lam: float = 1.0, d: int = 1) -> float:
    """Yang et al. 2020, uniform noise on the l2 ball of radius lam, l2:
    ``R = lam (2 - 4 B^-1_{(d+1)/2,(d+1)/2}(3/4 - pA/2))``.

    docs/certificate-notes.md#c3-4; equivalently I_{1 - R^2/(4 lam^2)}((d+1)/2, 1/2) = 3/2 - pA.
    lam: ball radius = sigma sqrt(d + 2).  Status: **tight**.
    """
    dim = check_dimension(d)
    st = _binary(pa, lam)
    if st is None:
        return 0.0
    p, s = st
    h = 0.5 * (dim + 1)
    b = float(special.betaincinv(h, h, 0.75 - 0.5 * p))
    return max(0.0, s * 4.0 * (0.5 - b))


def yang_exp1_l1(pa: float, lam: float = 1.0, d: int = 1, k: float = 1.0) -> float:
    """Yang et al. 2020, Exp1(k) noise exp(-||x/lam||_1^k), l1.

    k = 1 is i.i.d. Laplace(lam): Teng's ``-lam ln(2 (1 - pA))`` (**tight**).  Other k: the
    differential-method integral with Phi(u) = (k/2)(Gamma((d+k-1)/k)/Gamma(d/k)) Psi(u),
    Psi(u) = 1 - G_{(d+k-1)/k}(G^-1_{d/k}(1 - 2u)) (k >= 1) or G_{(d+k-1)/k}(G^-1_{d/k}(2u))
    (k < 1), integrated by a proven lower Riemann sum (**lower bound**).  docs/certificate-notes.md#c7;
    lam: native scale, sigma = lam sqrt(2 Gamma((d+2)/k) / (d (d+1) Gamma(d/k))).
    """
    dim = check_dimension(d)
    kv = _shape(k, "k")
    return _gamma_radial_radius(pa, lam, dim, kv)
