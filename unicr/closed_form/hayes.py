"""Hayes 2020, *Extensions and Limitations of Randomized Smoothing for Robustness Guarantees*.

Two groups of certificates (docs/certificate-notes.md#c1-4, §1.5, §2.5, §5.5; docs/soundness-notes.md#s21
(to S25)):

* **Table 1** (Gaussian l2 via divergences).  ``sigma`` is the standard deviation of
  N(0, sigma^2 I) = unicr sigma -- the convention of every Table 1 row except the printed KL
  row, whose r^2/sigma^2 is the KL of N(0, sigma^2/2) = GN(sigma, 2) (see
  :func:`hayes_kl`).  With (p1, p2) := (pA, pB) every row is two-sided; Hayes uses
  p2 = 1 - p1 (binary).
* **Generalized Gaussian GN(0, s_gn, p)** (Eqs. 13-27).  ``scale`` is Hayes' **native** GN
  scale s_gn (density proportional to exp(-|x / s_gn|^p), SciPy ``gennorm(p, scale=s_gn)``):
  GN(s, 2) = N(0, s^2 / 2) (unicr sigma = s / sqrt(2)); GN(s, 1) = Laplace(s) (unicr
  sigma = sqrt(2) s).  In general unicr sigma = s_gn sqrt(Gamma(3/p) / Gamma(1/p)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

from unicr.closed_form._common import (
    abstains,
    check_dimension,
    check_positive,
    check_probabilities,
    round_down,
    runner_up,
)
from unicr.closed_form.li import renyi_h
from unicr.errors import InvalidParameterError

__all__ = [
    "kl_bound",
    "hayes_kl",
    "hayes_kl_corrected",
    "hayes_chi2",
    "hayes_hellinger",
    "hayes_bhattacharyya",
    "hayes_tv",
    "hayes_tv_corrected",
    "gn_kl_coefficients",
    "gn_kl_divergence",
    "hayes_gn_l12",
    "hayes_gn_lp",
    "IntersectionRegion",
    "hayes_gn_intersection",
    "lp_linf_volume_ratio",
    "KL_CONVENTIONS",
]

#: the two readings of the printed KL row's sigma (docs/soundness-notes.md#s22)
KL_CONVENTIONS = ("table1", "gn")


def _setup(pa: float, pb: float | None, sigma: float, name: str = "sigma"
           ) -> tuple[float, float, float] | None:
    a, b = check_probabilities(pa, pb)
    s = check_positive(sigma, name)
    if abstains(a, b):
        return None
    return a, runner_up(a, b), s


def kl_bound(pa: float, pb: float | None = None) -> float:
    """B(p1, p2) = -ln(2 sqrt(p1 p2) + 1 - p1 - p2): smallest KL between multinomials with
    different argmax (Hayes 2020 Table 1 / Eq. 15).  Evaluated without cancellation.
    Returns 0.0 when abstaining."""
    a, b = check_probabilities(pa, pb)
    if abstains(a, b):
        return 0.0
    return max(0.0, float(renyi_h(a, runner_up(a, b), 1.0)))


def hayes_kl(pa: float, pb: float | None = None, sigma: float = 1.0,
             convention: str = "table1") -> float:
    """Hayes 2020 Table 1, KL row **as printed**:
    ``R = sqrt(-s^2 ln(2 sqrt(p1 p2) + 1 - p1 - p2))``.

    The printed divergence between the shifted noises is r^2 / s^2, which is the KL of
    N(0, s^2/2) = GN(s, 2), not of N(0, s^2) (docs/soundness-notes.md#s22).  ``sigma`` here is always
    the Gaussian standard deviation (unicr sigma); ``convention`` says how the printed ``s``
    is read:

    * ``"table1"`` (default): s = sigma, as in the other rows of Table 1.  The result
      sigma sqrt(B) is sound but sqrt(2) too small (status **lower bound**).
    * ``"gn"``: s is the GN native scale, s = sqrt(2) sigma (Hayes' Eq. 20 convention).  The
      result sigma sqrt(2 B) equals :func:`hayes_kl_corrected`.

    Returns 0.0 when abstaining.
    """
    if convention not in KL_CONVENTIONS:
        raise InvalidParameterError(
            f"hayes_kl: convention must be one of {', '.join(KL_CONVENTIONS)}, got {convention!r}"
        )
    st = _setup(pa, pb, sigma)
    if st is None:
        return 0.0
    a, b, s = st
    scale = s if convention == "table1" else math.sqrt(2.0) * s
    return scale * math.sqrt(max(0.0, float(renyi_h(a, b, 1.0))))


def hayes_kl_corrected(pa: float, pb: float | None = None, sigma: float = 1.0) -> float:
    """Hayes 2020 Table 1 KL row, corrected for N(0, sigma^2 I):
    ``R = sqrt(-2 sigma^2 ln(2 sqrt(p1 p2) + 1 - p1 - p2))`` (KL = r^2 / (2 sigma^2)).

    docs/certificate-notes.md#c1-4.  sigma: Gaussian std.  Equal to the chi-square radius when
    p2 = 1 - p1.  Status: **lower bound, loose**.  Returns 0.0 when abstaining.
    """
    return hayes_kl(pa, pb, sigma, convention="gn")


def hayes_chi2(pa: float, pb: float | None = None, sigma: float = 1.0) -> float:
    """Hayes 2020 Table 1, chi-square row:
    ``R = sqrt(sigma^2 ln((p1+p2) / ((p1+p2) - (p1-p2)^2)))``.

    (Hayes calls it "Neyman"; the expression is Pearson chi^2(Q||P); noise divergence
    e^(r^2/sigma^2) - 1.)  Equals Li et al.'s Renyi bound at order 2.  sigma: Gaussian std.
    Status: **lower bound, loose**.  Returns 0.0 when abstaining.
    """
    st = _setup(pa, pb, sigma)
    if st is None:
        return 0.0
    a, b, s = st
    h = -math.log1p(-((a - b) ** 2) / (a + b))
    return s * math.sqrt(max(0.0, h))


def _hellinger_log(a: float, b: float) -> float:
    """-ln sqrt(1 - (sqrt p1 - sqrt p2)^2 / 2), without cancellation:
    (sqrt p1 - sqrt p2)^2 = (p1 - p2)^2 / (sqrt p1 + sqrt p2)^2."""
    diff2 = (a - b) ** 2 / (math.sqrt(a) + math.sqrt(b)) ** 2
    return -0.5 * math.log1p(-0.5 * diff2)


def hayes_hellinger(pa: float, pb: float | None = None, sigma: float = 1.0) -> float:
    """Hayes 2020 Table 1, squared-Hellinger row:
    ``R = sqrt(-8 sigma^2 ln sqrt(1 - (sqrt p1 - sqrt p2)^2 / 2))`` (noise divergence
    1 - e^(-r^2 / (8 sigma^2))).  sigma: Gaussian std.  Saturates at 2 sqrt(ln 2) sigma in the
    binary case.  Status: **lower bound, loose**.  Returns 0.0 when abstaining.
    """
    st = _setup(pa, pb, sigma)
    if st is None:
        return 0.0
    a, b, s = st
    return s * math.sqrt(8.0 * max(0.0, _hellinger_log(a, b)))


def hayes_bhattacharyya(pa: float, pb: float | None = None, sigma: float = 1.0) -> float:
    """Hayes 2020 Table 1, Bhattacharyya row (noise divergence r^2 / (8 sigma^2)):
    ``R = sqrt(-8 sigma^2 ln(((sqrt p1 + sqrt p2)^2 + 2(1 - p1 - p2)) /
    sqrt(2 (2 sqrt(p1 p2) + 2 - p1 - p2))))``.

    The printed ratio simplifies exactly to sqrt(1 - (sqrt p1 - sqrt p2)^2 / 2) (numerator
    N = 2 - p1 - p2 + 2 sqrt(p1 p2), denominator sqrt(2N)), so the radius is identical to the
    squared-Hellinger one (docs/certificate-notes.md#c1-4); it is evaluated through that form to avoid
    cancellation.  sigma: Gaussian std.  Status: **lower bound, loose**.
    Returns 0.0 when abstaining.
    """
    return hayes_hellinger(pa, pb, sigma)


def hayes_tv(pa: float, pb: float | None = None, sigma: float = 1.0) -> float:
    """Hayes 2020 Table 1, total-variation row **as printed**:
    ``R = 2 sigma Phi^-1(|p1 - p2|/2 + 1/2)``.

    **Unsound** (docs/soundness-notes.md#s21): in the binary case it equals 2 sigma Phi^-1(p1), twice
    Cohen's tight radius, and it contradicts the row's own h = |p1 - p2|/2 and the Gaussian
    TV 2 Phi(r / (2 sigma)) - 1.  Use :func:`hayes_tv_corrected`.  sigma: Gaussian std.
    Returns 0.0 when abstaining.
    """
    st = _setup(pa, pb, sigma)
    if st is None:
        return 0.0
    a, b, s = st
    return max(0.0, 2.0 * s * float(special.ndtri(0.5 + abs(a - b) / 2.0)))


def hayes_tv_corrected(pa: float, pb: float | None = None, sigma: float = 1.0) -> float:
    """Hayes 2020 Table 1 TV row, corrected: ``R = 2 sigma Phi^-1(1/2 + |p1 - p2| / 4)``.

    Solves 2 Phi(r / (2 sigma)) - 1 <= |p1 - p2| / 2 (docs/certificate-notes.md#c1-4).  Saturates at
    2 sigma Phi^-1(3/4) ~ 1.349 sigma in the binary case.  sigma: Gaussian std.
    Status: **lower bound, loose**.  Returns 0.0 when abstaining.
    """
    st = _setup(pa, pb, sigma)
    if st is None:
        return 0.0
    a, b, s = st
    return max(0.0, 2.0 * s * float(special.ndtri(0.5 + abs(a - b) / 4.0)))


# ---------------------------------------------------------------------------
# generalized Gaussian GN(0, s_gn, p): Eqs. 13-27
# ---------------------------------------------------------------------------


def _check_shape(p: int | float, what: str = "p") -> int:
    try:
        pf = float(p)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{what} must be a positive integer, got {p!r}") from None
    if not math.isfinite(pf) or pf < 1 or pf != round(pf):
        raise InvalidParameterError(
            f"Hayes 2020's generalized-Gaussian certificates need an integer shape/norm "
            f"{what} >= 1, got {p!r}"
        )
    return int(round(pf))


def gn_kl_coefficients(p: int) -> np.ndarray:
    """Coefficients c_k, k = 1..p, of Hayes 2020 Eq. 14:
    ``KL(GN(x, s, p) || GN(x', s, p)) = sum_k c_k ||x - x'||_k^k / s^k`` with
    ``c_k = C(p,k) (1 + (-1)^(p-k)) Gamma((p-k+1)/p) / (2 Gamma(1/p))`` (c_p = 1; c_k = 0 when
    k and p differ in parity).  Exact for even p, an upper bound on the KL for odd p
    (docs/soundness-notes.md#s25).  Returned as an array indexed k - 1.
    """
    pp = _check_shape(p)
    out = np.zeros(pp)
    for k in range(1, pp + 1):
        if (pp - k) % 2:
            continue
        out[k - 1] = math.exp(math.log(math.comb(pp, k)) + special.gammaln((pp - k + 1) / pp)
                              - special.gammaln(1 / pp))
    return out


def gn_kl_divergence(delta: Sequence[float] | np.ndarray, scale: float, p: int) -> float:
    """Hayes 2020 Eq. 14 evaluated at a perturbation ``delta`` (shape (d,)).

    Exact KL between GN(x, scale, p) and GN(x + delta, scale, p) for even p; an **upper bound**
    on it for odd p (e.g. p = 1: the exact KL is sum(|delta_i|/s + e^(-|delta_i|/s) - 1)).
    scale: Hayes' native GN scale.
    """
    pp = _check_shape(p)
    s = check_positive(scale, "scale")
    x = np.abs(np.asarray(delta, dtype=float)) / s
    c = gn_kl_coefficients(pp)
    return float(sum(c[k - 1] * np.sum(x**k) for k in range(1, pp + 1) if c[k - 1] != 0.0))


def hayes_gn_l12(pa: float, pb: float | None = None, scale: float = 1.0, p: int = 2) -> float:
    """Hayes 2020 Eq. 20: ``R = (-s^p ln(2 sqrt(p1 p2) + 1 - p1 - p2))^(1/p)`` for p in {1, 2}.

    Noise GN(0, s, p) with s = ``scale`` the **native** GN scale: p = 2 is N(0, s^2/2) (in unicr
    sigma: sqrt(2 sigma^2 B), the corrected KL radius); p = 1 is Laplace(s) (l1 radius s B).
    Status: **lower bound, loose**.  Returns 0.0 when abstaining.
    """
    pp = _check_shape(p)
    if pp not in (1, 2):
        raise InvalidParameterError(
            f"Hayes Eq. 20 is for p = 1 or 2, got p = {p!r}; use hayes_gn_lp"
        )
    st = _setup(pa, pb, scale, "scale")
    if st is None:
        return 0.0
    a, b, s = st
    return s * max(0.0, float(renyi_h(a, b, 1.0))) ** (1.0 / pp)


def _log_poly(log_u: float, log_coef: np.ndarray, powers: np.ndarray) -> float:
    """log(sum_k exp(log_coef_k + k log_u)) (terms with log_coef = -inf dropped)."""
    return float(special.logsumexp(log_coef + powers * log_u))


def _solve_poly(log_coef: np.ndarray, powers: np.ndarray, log_b: float) -> float:
    """Largest u > 0 with sum_k exp(log_coef_k) u^k <= exp(log_b), rounded down.

    The polynomial has non-negative coefficients, so it is increasing in u > 0; bisection on
    ln u keeps ``lo`` verified (polynomial <= B) and returns exp(lo) re-verified.
    """
    # bracket: each single term bounds u from above; u = 0+ is always feasible
    hi = float(np.min((log_b - log_coef) / powers)) + 1.0
    lo = hi - 1.0
    while _log_poly(lo, log_coef, powers) > log_b:
        lo -= 1.0
        if lo < -800:
            return 0.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if _log_poly(mid, log_coef, powers) <= log_b:
            lo = mid
        else:
            hi = mid
    u = math.exp(lo)
    while u > 0 and _log_poly(math.log(u), log_coef, powers) > log_b:  # pragma: no cover
        u = float(np.nextafter(u, 0.0))
    return u


def hayes_gn_lp(pa: float, pb: float | None = None, scale: float = 1.0, p: int = 3,
                d: int = 1) -> float:
    """Hayes 2020 Eq. 21: the genuine l_p-ball certificate for GN(0, s, p) noise, p in N.

    R is the largest eps with
    ``eps^p / s^p + sum_{k<p} c_k d^(1 - k/p) eps^k / s^k <= B(p1, p2)``
    (c_k of Eq. 14, ||delta||_k <= d^(1/k - 1/p) ||delta||_p).  Solved by bisection in log
    space, rounded down.  For p in {1, 2} it reduces to Eq. 20.  Depends on d and is very small
    for p > 2 (consistent with Kumar et al. 2020).  scale: native GN scale s.
    Status: **lower bound** for the l_p ball.  Returns 0.0 when abstaining.
    """
    pp = _check_shape(p)
    dim = check_dimension(d)
    st = _setup(pa, pb, scale, "scale")
    if st is None:
        return 0.0
    a, b, s = st
    big_b = float(renyi_h(a, b, 1.0))
    if not big_b > 0:
        return 0.0
    c = gn_kl_coefficients(pp)
    ks = np.arange(1, pp + 1, dtype=float)
    keep = c > 0
    log_coef = np.log(c[keep]) + (1.0 - ks[keep] / pp) * math.log(dim)
    u = _solve_poly(log_coef, ks[keep], math.log(big_b))
    return round_down(s * u)


@dataclass(frozen=True)
class IntersectionRegion:
    """A certified set ``{delta : ||delta||_k < eps_k for every (k, eps_k)}`` (Hayes Eqs. 22-27).

    This is **not** an l_p ball: with all eps_k equal it is the smallest ball of the chain
    (l1 for odd p, l2 for even p).  :meth:`lp_radius` gives the largest l_q ball inside it.
    """

    constraints: tuple[tuple[float, float], ...]
    d: int

    def lp_radius(self, q: float) -> float:
        """Largest r such that the l_q ball of radius r lies inside the region (sound).

        sup_{||delta||_q <= r} ||delta||_k = r d^(max(0, 1/k - 1/q)), so
        r = min_k eps_k / d^(max(0, 1/k - 1/q)).
        """
        inv_q = 0.0 if math.isinf(q) else 1.0 / q
        r = math.inf
        for k, eps in self.constraints:
            r = min(r, eps / self.d ** max(0.0, 1.0 / k - inv_q))
        return round_down(r) if math.isfinite(r) else 0.0

    def to_dict(self) -> dict[str, object]:
        return {"kind": "intersection", "d": self.d,
                "constraints": [{"norm": k, "radius": e} for k, e in self.constraints]}


def hayes_gn_intersection(pa: float, pb: float | None = None, scale: float = 1.0, p: int = 3,
                          d: int = 1, trade: float = 0.0) -> IntersectionRegion:
    """Hayes 2020 Eqs. 22-27: the joint multi-norm certificate -- an **intersection of balls**.

    The chain of norms is k = p, p-2, ..., (2 or 1).  Eq. 23 requires
    ``sum_k c_k eps_k^k / s^k <= B(p1, p2)`` and Eq. 24 ``eps_{k+2} <= eps_k <=
    d^(1/k - 1/(k+2)) eps_{k+2}``.  The one-parameter family solved here puts
    ``eps_k = eps_{k+2} d^(trade (1/k - 1/(k+2)))``, trade in [0, 1], and takes the largest
    common scale (bisection, rounded down):

    * ``trade = 0`` -- all eps_k equal, Hayes' Fig. 4 numbers (Eqs. 26-27 with eps_3 = eps_1,
      eps_4 = eps_2); the region is then the l1 (odd p) or l2 (even p) ball of that radius;
    * ``trade = 1`` -- eps_k = d^(1/k - 1/p) eps_p, the genuine l_p ball of Eq. 21.

    Worked example (Sec. 3.2, s = 1, d = 3072, p1 = 0.99 = 1 - p2, p = 3): trade = 0 gives
    eps_3 = eps_1 = 0.864578; trade -> 1 gives eps_1 -> 1.441682.

    scale: native GN scale.  Status: **intersection** (never an l_p-ball radius: read the region
    with :meth:`IntersectionRegion.lp_radius`).  Abstaining gives all radii 0.
    """
    pp = _check_shape(p)
    dim = check_dimension(d)
    t = float(trade)
    if not (0.0 <= t <= 1.0):
        raise InvalidParameterError(f"trade must lie in [0, 1], got {trade!r}")
    chain = list(range(pp, 0, -2))  # p, p-2, ..., 2 or 1
    st = _setup(pa, pb, scale, "scale")
    big_b = float(renyi_h(st[0], st[1], 1.0)) if st is not None else 0.0
    if st is None or not big_b > 0:
        return IntersectionRegion(tuple((float(k), 0.0) for k in chain), dim)
    s = st[2]
    # eps_k = eps_p * m_k with log m_k = trade * (1/k - 1/p) * ln d (telescoping Eq. 24 ratios)
    log_m = np.array([t * (1.0 / k - 1.0 / pp) * math.log(dim) for k in chain])
    c = gn_kl_coefficients(pp)
    ks = np.array(chain, dtype=float)
    log_coef = np.log(c[np.array(chain) - 1]) + ks * log_m
    u = _solve_poly(log_coef, ks, math.log(big_b))
    eps = [round_down(s * u * math.exp(lm)) for lm in log_m]
    return IntersectionRegion(tuple((float(k), e) for k, e in zip(chain, eps)), dim)


def lp_linf_volume_ratio(p: float, d: int) -> float:
    """Hayes 2020 Sec. 3.3: volume of the unit l_p ball over that of the unit l_inf ball,
    ``Gamma(1 + 1/p)^d / Gamma(1 + d/p)``, evaluated in log space."""
    pf = check_positive(p, "p")
    dim = check_dimension(d)
    return math.exp(dim * special.gammaln(1.0 + 1.0 / pf) - special.gammaln(1.0 + dim / pf))
