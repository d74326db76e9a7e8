"""Likelihood-ratio samples and the Neyman-Pearson test, point and sound.

Notation (docs/certificate-notes.md#c9, Hong et al. 2022 Theorem 1 in noise coordinates).
For a perturbation ``delta`` write the *loss*

    L(z) = log mu(z - delta) - log mu(z)

(the log of UniCR's ratio ``mu(x - delta)/mu(x)``).  Under the clean law ``X: z = eps`` and
under the shifted law ``Y: z = eps + delta``, with ``F(t) = P_X(L <= t)`` and
``G(t) = P_Y(L <= t)``.  The worst-case shifted probability of the top class is

    beta(pA) = min {P_Y(S) : P_X(S) >= pA}
             = sup_t [ G(t) + e^t (pA - F(t)) ]                             (1)

and that of the runner-up ``gamma(pB) = max {P_Y(S) : P_X(S) <= pB}``

    gamma(pB) = inf_t [ J(t) + e^t (pB - H(t)) ],  J(t) = P_Y(L >= t), H(t) = P_X(L >= t).  (2)

Each term of (1) is a lower bound on ``beta`` for *every* t (Neyman-Pearson: for any set S,
``P_Y(S) - P_Y(L <= t) >= e^t (P_X(S) - F(t))``), and equality holds at the Neyman-Pearson
threshold, including the randomised part on atoms of L -- which a deterministic set can
realise because the noise itself has no atoms.  So (1)-(2) handle ties and atoms (uniform,
Laplace: docs/soundness-notes.md#s14) exactly, and they turn one-sided DKW bands into sound bounds:

* ``beta >= sup_t [G_n(t) - D + e^t (pA - F_n(t) - D)]`` on the events
  ``F - F_n <= D`` and ``G_n - G <= D``;
* ``gamma <= inf_t [J_n(t) + D + e^t (pB - H_n(t) + D)]`` on the *same* two events;
* the reverse inequalities (a proven *failure*) on the events ``F_n - F <= D``,
  ``G - G_n <= D``.

Each one-sided event fails with probability at most ``exp(-2 n D^2)`` (Dvoretzky-Kiefer-
Wolfowitz with Massart's constant, one-sided form, valid when that probability is <= 1/2).
The test *passes* (the top class provably wins at this perturbation) when ``beta > 1/2``
(binary, Theorem 3) or ``beta > gamma`` (two-sided, Theorem 1), and provably *fails* when
the upper bound on ``beta`` is ``<= 1/2`` (resp. ``<=`` the lower bound on ``gamma``).

UniCR's point estimate (``mode="estimate"``) follows the reference implementation
(reference/ALGORITHMS.md §2.3): ``t_A`` the order statistic of the X-losses at position
``ceil(n pA)``, ``t_B`` at ``floor(n (1 - pB))`` (Eq. 3, not the printed Algorithm 1:
docs/soundness-notes.md#s13), ``K = P_n(L_Y <= t_A) - P_n(L_Y >= t_B)`` (binary ``- 1/2``), pass iff
``K > 0``.  It has no guarantee either way.

Sanitising.  Sampled points have positive density, so ``L_X = +inf`` and ``L_Y = -inf`` have
probability zero; such values and NaNs (from a density evaluated at its support boundary)
are moved to the side that makes each statistic conservative: for a *pass* X-losses to
``-inf`` and Y-losses to ``+inf``, for a *failure* X-NaNs to ``+inf`` and Y-NaNs to ``-inf``.
Moving a sample value this way can only make the empirical CDF cross the true one on the
safe side, so the DKW events keep their meaning.

Floating point.  A computed loss differs from the exact one by at most ``eta`` (each model
bounds the rounding of its sums; docs/concepts.md "Log space").  This matters at atoms: the same
atom ``L = t*`` computed under X and under Y with different rounding would let the empirical
sup count the Y-copy of the atom at a ``t`` just below the X-copy -- an error of up to ``e^t``
times the atom's mass.  So computed values are merged into *clusters* chained by gaps
``<= 2 eta``: exact losses of different clusters are ordered like the clusters, so on the gap
between two clusters the counts are those of the exact losses, and the statistics are
evaluated there.  A lower bound on beta (or an upper bound on gamma) may use any thresholds;
an upper bound on beta (lower on gamma) must also cover thresholds inside a cluster's zone
``[lo - eta, hi + eta]``, where ``T(t) = G(t) + e^t (pA - F(t))`` -- continuous, with
derivative ``e^t (pA - F(t))`` almost everywhere -- moves by at most
``e^(hi + eta) - e^(lo - eta)``.  DKW applies to the computed losses, which are honest random
variables.

All kernels are numba-compiled; the arrays hold one loss per Monte Carlo draw.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from unicr.errors import InvalidParameterError
from unicr.neyman_pearson.statement import Statement

__all__ = [
    "dkw_band",
    "dkw_alpha",
    "margins",
    "margins_batch",
    "beta_bound",
    "gamma_bound",
    "unicr_confidence",
]

# index of each margin in the arrays returned by :func:`margins` (a :class:`Statement`); plain
# ints, because the compiled kernels below index their output with them
_ESTIMATE = int(Statement.ESTIMATE)
_PASS = int(Statement.PASS)
_FAIL = int(Statement.FAIL)


def dkw_band(n: int, alpha: float) -> float:
    """Half-width D of a one-sided DKW band: ``P(sup_t (F_n - F)(t) > D) <= alpha``.

    Dvoretzky, Kiefer & Wolfowitz (1956) with Massart's (1990) tight constant, one-sided:
    ``P(sup (F_n - F) > D) <= exp(-2 n D^2)`` whenever ``exp(-2 n D^2) <= 1/2``; UniCR
    (Hong et al. 2022, Appendix B.4, Lemma 2) states the two-sided form.  Valid for any F,
    continuous or not.
    """
    if not (isinstance(n, (int, np.integer)) and n >= 1):
        raise InvalidParameterError(f"DKW band: sample size n must be an integer >= 1, got {n!r}")
    if not (0.0 < alpha <= 0.5):
        raise InvalidParameterError(
            f"DKW band: alpha must lie in (0, 1/2] for the one-sided Massart bound, got {alpha!r}"
        )
    return math.sqrt(math.log(1.0 / alpha) / (2.0 * n))


def dkw_alpha(n: int, band: float) -> float:
    """Inverse of :func:`dkw_band`: the one-sided failure probability ``exp(-2 n D^2)``."""
    return math.exp(-2.0 * n * band * band)


def unicr_confidence(n: int, band: float, alpha0: float | None = None) -> float:
    """UniCR's confidence statement (Hong et al. 2022, Appendix B.4): (1-a0)^2 (1-2e^{-2n D^2})^4.

    ``alpha0`` is the classifier's confidence level (``None``: the factor is omitted).  The
    product treats the six events as independent and the algorithm never shifts its
    quantiles by the band, so this number is reported for comparison only
    (docs/soundness-notes.md#s9).
    """
    q = (1.0 - 2.0 * math.exp(-2.0 * n * band * band)) ** 4
    if alpha0 is not None:
        q *= (1.0 - alpha0) ** 2
    return q


# ---------------------------------------------------------------------------
# compiled kernels
# ---------------------------------------------------------------------------


@numba.njit(cache=True)
def _times_exp(v: float, w: float) -> float:
    """``e^v * w`` with the conventions ``e^-inf * w = 0`` and ``e^v * 0 = 0``."""
    if w == 0.0 or v == -np.inf:
        return 0.0
    return math.exp(v) * w if v < 709.0 else (np.inf if w > 0 else -np.inf)


@numba.njit(cache=True)
def _exp(v: float) -> float:
    return math.exp(v) if v < 709.0 else np.inf


@numba.njit(cache=True)
def _clusters(xs: np.ndarray, ys: np.ndarray, eta: float):
    """Merge the sorted X- and Y-losses into clusters of values chained by gaps <= 2 eta.

    Returns ``(k, lo, hi, cx, cy)``: cluster c spans ``[lo[c], hi[c]]`` and ``cx[c]``,
    ``cy[c]`` count the X- and Y-values up to and including it.  Exact losses of draws in
    different clusters are ordered like the clusters (gaps > 2 eta); +-inf are exact.
    """
    n = xs.shape[0]
    m = ys.shape[0]
    lo = np.empty(n + m)
    hi = np.empty(n + m)
    cx = np.empty(n + m, dtype=np.int64)
    cy = np.empty(n + m, dtype=np.int64)
    i = 0
    j = 0
    c = 0
    while i < n or j < m:
        v = np.inf
        if i < n:
            v = xs[i]
        if j < m and ys[j] < v:
            v = ys[j]
        end = v
        while True:
            moved = False
            while i < n and xs[i] <= end + 2.0 * eta:
                if xs[i] > end:
                    end = xs[i]
                i += 1
                moved = True
            while j < m and ys[j] <= end + 2.0 * eta:
                if ys[j] > end:
                    end = ys[j]
                j += 1
                moved = True
            if not moved:
                break
        lo[c] = v
        hi[c] = end
        cx[c] = i
        cy[c] = j
        c += 1
    return c, lo, hi, cx, cy


@numba.njit(cache=True)
def _beta_clusters(k: int, lo: np.ndarray, hi: np.ndarray, cx: np.ndarray, cy: np.ndarray,
                   n: int, m: int, pa: float, c1: float, c2: float, eta: float,
                   zones: bool) -> float:
    """``sup_t [G(t) + c1 + e^t (pa - F(t) + c2)]`` over the gaps between clusters.

    On the gap after cluster c (exact losses: ``(hi[c] + eta, lo[c+1] - eta)``) F and G are
    the counts up to c.  With ``zones`` the bound also covers t inside a cluster's zone
    ``[lo - eta, hi + eta]``: T(t) = G(t) + e^t (pa - F(t)) is continuous with derivative
    ``e^t (pa - F(t)) <= e^t`` almost everywhere, so T in the zone is at most its value at the
    zone's left end plus ``e^(hi + eta) - e^(lo - eta)``.  (Needed for an upper bound.)
    """
    if k <= 0 or k > lo.shape[0] or k > hi.shape[0] or k > cx.shape[0] or k > cy.shape[0] \
            or n <= 0 or m <= 0:
        raise ValueError("_beta_clusters: cluster arrays shorter than k, or no losses")
    best = -np.inf
    # (-inf, lo[0] - eta): F = G = 0
    if lo[0] > -np.inf:
        w = pa + c2
        best = c1 + (_times_exp(lo[0] - eta, w) if w > 0.0 else 0.0)
    fp = 0.0
    gp = 0.0
    for c in range(k):
        f = cx[c] / n
        g = cy[c] / m
        if zones and -np.inf < lo[c] and hi[c] < np.inf:
            left = lo[c] - eta
            u_left = gp + c1 + _times_exp(left, pa - fp + c2)
            cand_z = u_left + (_exp(hi[c] + eta) - _exp(left))
            if cand_z > best:
                best = cand_z
        w = pa - f + c2
        if w > 0.0:
            right = lo[c + 1] - eta if c + 1 < k else np.inf
            cand = np.inf if right == np.inf else g + c1 + _times_exp(right, w)
        else:
            cand = g + c1 + _times_exp(hi[c] + eta, w)
        if cand > best:
            best = cand
        fp = f
        gp = g
    return best


@numba.njit(cache=True)
def _gamma_clusters(k: int, lo: np.ndarray, hi: np.ndarray, cx: np.ndarray, cy: np.ndarray,
                    n: int, m: int, pb: float, c1: float, c2: float, eta: float,
                    zones: bool) -> float:
    """``inf_t [J(t) + c1 + e^t (pb - H(t) + c2)]`` over the gaps between clusters
    (``J``, ``H``: probabilities of ``L >= t`` under Y, X).  With ``zones`` also a lower bound
    inside the zones (derivative ``e^t (pb - H) >= -e^t``)."""
    if k <= 0 or k > lo.shape[0] or k > hi.shape[0] or k > cx.shape[0] or k > cy.shape[0] \
            or n <= 0 or m <= 0:
        raise ValueError("_gamma_clusters: cluster arrays shorter than k, or no losses")
    # (-inf, lo[0] - eta): H = J = 1
    w = pb - 1.0 + c2
    if w > 0.0:
        best = 1.0 + c1
    else:
        best = 1.0 + c1 + _times_exp(lo[0] - eta, w)
    hprev = 1.0
    jprev = 1.0
    for c in range(k):
        if hi[c] == np.inf:
            break
        h = 1.0 - cx[c] / n  # on the gap after cluster c
        jj = 1.0 - cy[c] / m
        if zones and -np.inf < lo[c]:
            left = lo[c] - eta
            l_left = jprev + c1 + _times_exp(left, pb - hprev + c2)
            cand_z = l_left - (_exp(hi[c] + eta) - _exp(left))
            if cand_z < best:
                best = cand_z
        w = pb - h + c2
        right = lo[c + 1] - eta if c + 1 < k else np.inf
        if w > 0.0:
            cand = jj + c1 + _times_exp(hi[c] + eta, w)
        elif w < 0.0:
            cand = -np.inf if right == np.inf else jj + c1 + _times_exp(right, w)
        else:
            cand = jj + c1
        if cand < best:
            best = cand
        hprev = h
        jprev = jj
    return best


@numba.njit(cache=True)
def beta_bound(lx: np.ndarray, ly: np.ndarray, pa: float, c1: float, c2: float,
               eta: float = 0.0, zones: bool = False) -> float:
    """``sup_t [G_n(t) + c1 + e^t (pa - F_n(t) + c2)]`` (Eq. 1 of the module docstring).

    ``lx``, ``ly`` sorted ascending, no NaN (may hold +-inf).  ``c1 = c2 = -D`` gives a lower
    bound on the worst-case shifted top-class probability (Hong et al. 2022, Theorem 1, with
    DKW bands), ``c1 = c2 = +D`` with ``zones=True`` an upper bound, ``0`` the plug-in value.
    ``eta`` bounds the rounding of the computed losses.
    """
    k, lo, hi, cx, cy = _clusters(lx, ly, eta)
    return _beta_clusters(k, lo, hi, cx, cy, lx.shape[0], ly.shape[0], pa, c1, c2, eta, zones)


@numba.njit(cache=True)
def gamma_bound(lx: np.ndarray, ly: np.ndarray, pb: float, c1: float, c2: float,
                eta: float = 0.0, zones: bool = False) -> float:
    """``inf_t [J_n(t) + c1 + e^t (pb - H_n(t) + c2)]`` (Eq. 2 of the module docstring).

    ``c1 = c2 = +D``: upper bound on the worst-case runner-up probability; ``-D`` with
    ``zones=True``: lower bound.
    """
    k, lo, hi, cx, cy = _clusters(lx, ly, eta)
    return _gamma_clusters(k, lo, hi, cx, cy, lx.shape[0], ly.shape[0], pb, c1, c2, eta, zones)


@numba.njit(cache=True)
def _sanitised(lx_sorted: np.ndarray, ly_sorted: np.ndarray, for_pass: bool):
    """Copies with impossible values and NaN moved to the conservative side (module doc)."""
    n = lx_sorted.shape[0]
    m = ly_sorted.shape[0]
    ox = np.empty(n)
    oy = np.empty(m)
    if for_pass:
        # X: +inf / NaN -> -inf (they sort last): rotate the tail to the head
        good = 0
        while good < n and lx_sorted[good] < np.inf:
            good += 1
        bad = n - good
        for k in range(bad):
            ox[k] = -np.inf
        for k in range(good):
            ox[bad + k] = lx_sorted[k]
        # Y: -inf / NaN -> +inf
        lo = 0
        while lo < m and ly_sorted[lo] == -np.inf:
            lo += 1
        hi = m
        while hi > lo and np.isnan(ly_sorted[hi - 1]):
            hi -= 1
        k = 0
        for t in range(lo, hi):
            oy[k] = ly_sorted[t]
            k += 1
        while k < m:
            oy[k] = np.inf
            k += 1
    else:
        # X: NaN -> +inf (already last)
        for k in range(n):
            v = lx_sorted[k]
            ox[k] = np.inf if np.isnan(v) else v
        # Y: NaN -> -inf: rotate the NaN tail to the head
        hi = m
        while hi > 0 and np.isnan(ly_sorted[hi - 1]):
            hi -= 1
        bad = m - hi
        for k in range(bad):
            oy[k] = -np.inf
        for k in range(hi):
            oy[bad + k] = ly_sorted[k]
    return ox, oy


@numba.njit(cache=True)
def _count_le(a: np.ndarray, t: float) -> int:
    return np.searchsorted(a, t, side="right")


@numba.njit(cache=True)
def _margins_sorted(lx: np.ndarray, ly: np.ndarray, pa: float, pb: float, binary: bool,
                    d_pass: float, d_fail: float, eta: float) -> np.ndarray:
    out = np.empty(3)
    n = lx.shape[0]
    m = ly.shape[0]
    if n <= 0 or m <= 0:
        raise ValueError("margins: no X- or Y-losses")
    if not (0.0 <= pa <= 1.0 and 0.0 <= pb <= 1.0):
        raise ValueError("margins: pa and pb must lie in [0, 1]")
    # no +inf/NaN among X-losses and no -inf/NaN among Y-losses: nothing to sanitise
    clean = lx[n - 1] < np.inf and ly[0] > -np.inf and not np.isnan(ly[m - 1])
    if clean:
        xe, ye = lx, ly
        xf, yf = lx, ly
    else:
        xe, ye = _sanitised(lx, ly, True)
        xf, yf = _sanitised(lx, ly, False)
    # UniCR's point estimate (reference implementation positions, Eq. 3 for t_B)
    ia = min(int(math.ceil(n * pa)), n - 1)
    t_a = xe[ia]
    k = _count_le(ye, t_a) / m
    if binary:
        out[_ESTIMATE] = k - 0.5
    else:
        ib = min(max(int(math.floor(n * (1.0 - pb))), 0), n - 1)
        t_b = xe[ib]
        ge = (m - np.searchsorted(ye, t_b, side="left")) / m
        out[_ESTIMATE] = k - ge
    # sound pass: lower bound on beta minus upper bound on gamma (or 1/2); both may be
    # evaluated on any set of thresholds, so the gaps between clusters suffice
    k, lo, hi, cx, cy = _clusters(xe, ye, eta)
    b_lo = _beta_clusters(k, lo, hi, cx, cy, n, m, pa, -d_pass, -d_pass, eta, False)
    if binary:
        out[_PASS] = b_lo - 0.5
    else:
        out[_PASS] = b_lo - _gamma_clusters(k, lo, hi, cx, cy, n, m, pb, d_pass, d_pass, eta,
                                           False)
    # sound fail: upper bound on beta minus lower bound on gamma (fail iff <= 0): every
    # threshold must be covered, zones included
    if not clean:
        k, lo, hi, cx, cy = _clusters(xf, yf, eta)
    b_hi = _beta_clusters(k, lo, hi, cx, cy, n, m, pa, d_fail, d_fail, eta, True)
    if binary:
        out[_FAIL] = b_hi - 0.5
    else:
        out[_FAIL] = b_hi - _gamma_clusters(k, lo, hi, cx, cy, n, m, pb, -d_fail, -d_fail, eta,
                                           True)
    return out


@numba.njit(cache=True)
def _neg_reversed(a: np.ndarray) -> np.ndarray:
    """Sorted ``-a`` from sorted ``a`` (NaNs kept last)."""
    n = a.shape[0]
    nan_tail = 0
    while nan_tail < n and np.isnan(a[n - 1 - nan_tail]):
        nan_tail += 1
    good = n - nan_tail
    out = np.empty(n)
    for k in range(good):
        out[k] = -a[good - 1 - k]
    for k in range(good, n):
        out[k] = np.nan
    return out


@numba.njit(cache=True)
def _margins(lx: np.ndarray, ly: np.ndarray, pa: float, pb: float, binary: bool,
             d_pass: float, d_fail: float, ly_is_neg_lx: bool, eta: float) -> np.ndarray:
    xs = np.sort(lx)
    ys = _neg_reversed(xs) if ly_is_neg_lx else np.sort(ly)
    return _margins_sorted(xs, ys, pa, pb, binary, d_pass, d_fail, eta)


@numba.njit(cache=True)
def _margins_batch(lxs: np.ndarray, lys: np.ndarray, pa: float, pb: float, binary: bool,
                   d_pass: np.ndarray, d_fail: np.ndarray, ly_is_neg_lx: bool,
                   eta: np.ndarray) -> np.ndarray:
    m = lxs.shape[0]
    if lys.shape[0] < m or d_pass.shape[0] < m or d_fail.shape[0] < m or eta.shape[0] < m:
        raise ValueError("margins_batch: lys, d_pass, d_fail and eta need one entry per row")
    out = np.empty((m, 3))
    for r in range(m):
        out[r] = _margins(lxs[r], lys[r], pa, pb, binary, d_pass[r], d_fail[r], ly_is_neg_lx,
                          eta[r])
    return out


# ---------------------------------------------------------------------------
# public wrappers
# ---------------------------------------------------------------------------


def _as_losses(a: np.ndarray, name: str) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.float64)
    if a.ndim != 1 or a.shape[0] == 0:
        raise InvalidParameterError(f"{name} must be a non-empty 1-D array of losses")
    return a


def margins(lx: np.ndarray, ly: np.ndarray | None, pa: float, pb: float | None,
            d_pass: float = 0.0, d_fail: float = 0.0, eta: float = 0.0) -> np.ndarray:
    """The three Neyman-Pearson margins at one perturbation (Hong et al. 2022, Theorem 1).

    Parameters
    ----------
    lx, ly:
        losses ``log mu(z - delta) - log mu(z)`` at ``z = eps_i`` (X-law) and at
        ``z = eps'_i + delta`` (Y-law), one per Monte Carlo draw.  ``ly=None`` means
        ``ly = -lx`` (noise symmetric about the origin: the Y-law of L is the law of -L_X).
    pa, pb:
        top-class lower bound and runner-up upper bound (``pb=None``: binary, Theorem 3).
    d_pass, d_fail:
        one-sided DKW half-widths used for the pass and the failure statement.
    eta:
        bound on the floating-point error of every computed loss (applied conservatively).

    Returns ``array([est, pass, fail])``, indexed by
    :class:`~unicr.neyman_pearson.statement.Statement`: UniCR's point statistic K (pass iff
    > 0), the sound pass margin (pass with confidence iff > 0) and the sound failure margin
    (fail with confidence iff <= 0).
    """
    lx = _as_losses(lx, "lx")
    _check_probs(pa, pb)
    neg = ly is None
    ly = lx if neg else _as_losses(ly, "ly")
    binary = pb is None
    return _margins(lx, ly, float(pa), 0.0 if binary else float(pb), binary,
                    float(d_pass), float(d_fail), neg, _eta(eta))


def margins_batch(lxs: np.ndarray, lys: np.ndarray | None, pa: float, pb: float | None,
                  d_pass: np.ndarray | float = 0.0, d_fail: np.ndarray | float = 0.0,
                  eta: np.ndarray | float = 0.0) -> np.ndarray:
    """:func:`margins` for ``m`` perturbations at once: ``lxs``, ``lys`` of shape (m, n)."""
    lxs = np.ascontiguousarray(lxs, dtype=np.float64)
    neg = lys is None
    lys = lxs if neg else np.ascontiguousarray(lys, dtype=np.float64)
    if lxs.ndim != 2 or lys.ndim != 2 or lxs.shape[0] != lys.shape[0]:
        raise InvalidParameterError("margins_batch: lxs and lys must be 2-D with the same rows")
    if lxs.shape[1] == 0 or lys.shape[1] == 0:
        raise InvalidParameterError("margins_batch: lxs and lys need at least one loss per row")
    _check_probs(pa, pb)
    m = lxs.shape[0]
    dp = np.broadcast_to(np.asarray(d_pass, dtype=np.float64), (m,)).copy()
    df = np.broadcast_to(np.asarray(d_fail, dtype=np.float64), (m,)).copy()
    et = np.broadcast_to(np.asarray(eta, dtype=np.float64), (m,)).copy()
    if not np.all(np.isfinite(et) & (et >= 0)):
        raise InvalidParameterError(f"eta must be finite and >= 0, got {eta!r}")
    binary = pb is None
    return _margins_batch(lxs, lys, float(pa), 0.0 if binary else float(pb), binary, dp, df, neg,
                          et)


def _check_probs(pa: float, pb: float | None) -> None:
    """``pa`` (and ``pb``) in [0, 1], before they become array positions in the kernels."""
    for name, v in (("pa", pa), ("pb", pb)):
        if v is None and name == "pb":
            continue
        try:
            f = float(v)
        except (TypeError, ValueError):
            f = math.nan
        if not 0.0 <= f <= 1.0:
            raise InvalidParameterError(f"{name} must be a probability in [0, 1], got {v!r}")


def _eta(eta: float) -> float:
    e = float(eta)
    if not (math.isfinite(e) and e >= 0):
        raise InvalidParameterError(f"eta must be finite and >= 0, got {eta!r}")
    return e
