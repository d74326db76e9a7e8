"""Lattice laws, sound discretisation and FFT composition of i.i.d. sums.

A :class:`LatticeLaw` is a sub-probability vector on the lattice ``x_j = j h`` plus
atoms at ``-inf`` and ``+inf``.  Two discretisations of a per-coordinate pair are
built from its fine atoms (:mod:`unicr.neyman_pearson.tradeoff`), in the spirit of the
pessimistic / optimistic privacy-loss distributions of Google's dp_accounting
(Doroshenko et al. 2022, "Connect the dots"):

* :func:`split_lattice` -- **pessimistic** (more informative pair): each point
  ``v`` in ``[x_j, x_{j+1}]`` is split onto ``x_j`` and ``x_{j+1}`` preserving its X-
  and Y-masses (``mode="ratio"``), so that merging back recovers it.  Points below the
  window go to ``-inf`` and points above are rounded down to the top (both lower the
  loss).  With ``mode="mean"`` the split preserves the mean instead: a mean-preserving
  spread, i.e. an upper bound in the convex order (used for the score law).
* :func:`chord_lattice` -- **optimistic** (less informative pair): sorted atoms are
  merged into consecutive blocks whose likelihood ratio is *exactly* a lattice value
  (partial atoms are allowed: splitting an atom into two of equal ratio loses
  nothing).  Merging is post-processing, so the result is less informative; the
  error is second order in ``h``.  Points below the window are rounded *up* to the
  bottom and points above go to ``+inf`` (both raise the loss); the last block,
  whose ratio is below its target, is rounded up too.

Blackwell dominance is preserved by products, so the k-fold compositions of the two
lattice pairs bracket the k-fold product of the true pair.

:func:`compose` computes the law of the sum of independent lattice variables with one
real FFT: the window is chosen by a Chernoff bound (the mass outside it, which would
wrap around, is at most ``eta`` on each side and is added to the error budget).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import fft as sfft

try:  # numba is a declared dependency; the pure-Python fallback is slow but equivalent
    from numba import njit
except ImportError:  # pragma: no cover
    def njit(*args, **kwargs):  # type: ignore[no-redef]
        def deco(f):
            return f
        return deco if not (args and callable(args[0])) else args[0]

__all__ = ["LatticeLaw", "LatticeError", "split_lattice", "chord_lattice", "compose",
           "lattice_range", "MIN_SPACING"]

#: largest FFT length (2^23 doubles = 64 MB)
MAX_FFT = 1 << 23

#: largest lattice index magnitude: indices and ``j h`` stay exact in int64 / float64
MAX_INDEX = 1 << 52


class LatticeError(OverflowError):
    """A lattice that cannot represent the law: window too long, spacing too fine, indices too large.

    A subclass of :class:`OverflowError` so that the callers' existing handling applies: the
    exact engine leaves the direction out of its upper-bound search (sound: fewer searched
    directions can only make the upper bound larger).
    """


def _check_window(h: float, jmin: int, jmax: int, what: str) -> None:
    """Validate a lattice window *before* anything is allocated or a kernel indexes it."""
    if not (math.isfinite(h) and h > 0.0):
        raise LatticeError(f"{what}: lattice spacing h={h!r} is not a finite positive number")
    if not (-MAX_INDEX <= jmin <= jmax <= MAX_INDEX):
        raise LatticeError(f"{what}: lattice window [{jmin}, {jmax}] (spacing {h:.3g}) is out of "
                           f"the representable range +-2^52")
    if jmax - jmin + 1 > MAX_FFT:
        raise LatticeError(f"{what}: lattice window of {jmax - jmin + 1} points exceeds {MAX_FFT}")


@dataclass
class LatticeLaw:
    """Masses ``w[i]`` at ``x = (j0 + i) h``, ``m_minus`` at ``-inf`` and ``m_plus`` at ``+inf``.

    ``err`` bounds the total absolute error of the masses (sum over the vector); the
    finite values are ``x = (j0 + i) h + shift``.
    """

    h: float
    j0: int
    w: np.ndarray
    m_minus: float = 0.0
    m_plus: float = 0.0
    err: float = 0.0
    #: constant added to every finite value (the chord's ratio tolerance, summed by composition)
    shift: float = 0.0

    @property
    def x(self) -> np.ndarray:
        return (self.j0 + np.arange(len(self.w))) * self.h + self.shift

    @property
    def finite_mass(self) -> float:
        return float(self.w.sum())

    def moments(self) -> tuple[float, float]:
        """Mean and variance of the (normalised) finite part."""
        tot = self.w.sum()
        if tot <= 0:
            return 0.0, 0.0
        x = self.x
        mu = float((self.w * x).sum() / tot)
        return mu, float((self.w * (x - mu) ** 2).sum() / tot)

    def log_mgf(self, lam: np.ndarray) -> np.ndarray:
        """``log sum_i w_i exp(lam x_i)`` for each ``lam`` (finite part, unnormalised)."""
        pos = self.w > 0
        x = self.x[pos]
        lw = np.log(self.w[pos])
        e = lam[:, None] * x[None, :] + lw[None, :]
        mx = e.max(axis=1)
        return mx + np.log(np.exp(e - mx[:, None]).sum(axis=1))


def lattice_range(x: np.ndarray, w: np.ndarray, h: float, tail: float,
                  max_points: int = 1 << 21) -> tuple[int, int]:
    """Lattice indices ``[jmin, jmax]`` covering the points except ``tail`` mass on each side."""
    if not (math.isfinite(h) and h > 0.0):
        raise LatticeError(f"lattice_range: spacing h={h!r} is not a finite positive number")
    c = np.cumsum(w)
    tot = c[-1]
    i_lo = int(np.searchsorted(c, tail, side="left"))
    i_hi = int(np.searchsorted(c, tot - tail, side="left"))
    i_lo = min(max(i_lo, 0), len(x) - 1)
    i_hi = min(max(i_hi, i_lo), len(x) - 1)
    lo, hi = float(x[i_lo]) / h, float(x[i_hi]) / h
    if not (abs(lo) <= MAX_INDEX and abs(hi) <= MAX_INDEX):
        raise LatticeError(f"lattice_range: points [{x[i_lo]:.3g}, {x[i_hi]:.3g}] span more "
                           f"than 2^52 lattice steps of {h:.3g}")
    jmin = math.floor(lo) - 1
    jmax = math.ceil(hi) + 1
    if jmax - jmin > max_points:
        mid = (jmax + jmin) // 2
        jmin, jmax = mid - max_points // 2, mid + max_points // 2
    return jmin, jmax


def _window(v: np.ndarray, w: np.ndarray, h: float, jmin: int,
            jmax: int) -> tuple[np.ndarray, np.ndarray, int, np.ndarray, np.ndarray]:
    """Points and masses as float arrays, the window length, and the masks below / above it."""
    v = np.asarray(v, dtype=float)
    w = np.asarray(w, dtype=float)
    return v, w, jmax - jmin + 1, v < jmin * h, v > jmax * h


def split_lattice(v: np.ndarray, w: np.ndarray, h: float, jmin: int, jmax: int,
                  m_minus: float = 0.0, mode: str = "ratio",
                  clip: str = "pessimistic") -> LatticeLaw:
    """Split points ``v`` (masses ``w``) onto the two neighbouring lattice values.

    ``mode="ratio"``: preserves X- and Y-mass (``e^v``-weighted), the pessimistic
    loss split.  ``mode="mean"``: preserves mass and mean (convex-order spread).
    Outside ``[jmin h, jmax h]``: ``clip="pessimistic"`` sends low points to ``-inf``
    and rounds high points down to ``jmax``; ``clip="spread"`` (mean mode) is not
    allowed to move points and raises if any fall outside.
    """
    _check_window(h, jmin, jmax, "split_lattice")
    v, w, n, below, above = _window(v, w, h, jmin, jmax)
    if clip == "spread" and (below.any() or above.any()):
        raise ValueError("split_lattice: points outside the lattice window in spread mode")
    m_minus = m_minus + float(w[below].sum())
    out = np.zeros(n)
    if above.any():
        out[-1] += float(w[above].sum())
    ins = ~below & ~above
    vi, wi = v[ins], w[ins]
    j = np.floor(vi / h).astype(np.int64)
    j = np.clip(j, jmin, jmax - 1)
    r = vi - j * h
    if mode == "ratio":
        with np.errstate(invalid="ignore", over="ignore"):
            f = np.expm1(r) / np.expm1(h)
    else:
        f = r / h
    f = np.clip(np.nan_to_num(f, nan=0.0), 0.0, 1.0)
    out += np.bincount(j - jmin, weights=wi * (1.0 - f), minlength=n)[:n]
    out += np.bincount(j - jmin + 1, weights=wi * f, minlength=n + 1)[:n]
    return LatticeLaw(h, jmin, out, m_minus=m_minus)


#: loss tolerance of the chord's block ratios (added to every optimistic loss value)
CHORD_TOL = 1e-13


#: smallest lattice spacing the chord accepts, in units of its ratio tolerance: below it the
#: lattice ratios ``exp(j h)`` are not resolved by float64 comparisons of block masses
MIN_SPACING = 100.0 * CHORD_TOL


@njit(cache=True)
def _sweep(x: np.ndarray, w: np.ndarray, h: float, jmin: int, tau: float, start: int,
           stop: int, sgn: int, out: np.ndarray) -> tuple[float, float, bool]:
    """One chord sweep over ``x[start:stop:sgn]`` (``sgn = 1`` bottom-up, ``-1`` top-down).

    Bottom-up, a block's ratio rises to the lattice ratio above it; top-down it falls to the
    one below; a block is emitted when its ratio equals ``exp(j h)`` (a fraction ``theta``
    of the next atom completes it) and never exceeds ``exp(j h + tau)``.  Returns the
    unfinished block ``(X, Y)`` and ``ok``.

    Memory safety: every index is checked (``start``/``stop`` against ``x``, every emitted
    block against ``out``); a block that would fall outside ``out`` or a non-finite point
    stops the sweep with ``ok = False`` and nothing written out of bounds.  Each emission
    moves ``j`` by at least one cell, so the inner loop ends after at most ``len(out)``
    emissions.
    """
    bx = 0.0
    by = 0.0
    j = 0
    n_out = out.shape[0]
    n_x = min(x.shape[0], w.shape[0])
    if sgn > 0:
        if start < 0 or stop > n_x:
            return bx, by, False
    elif start >= n_x or stop < -1:
        return bx, by, False
    started = False
    for i in range(start, stop, sgn):
        X = w[i]
        if X <= 0.0:
            continue
        xi = x[i]
        if not (math.isfinite(xi) and math.isfinite(X)):
            return bx, by, False
        # the lattice cell of this atom, checked as a float before any int conversion
        q = (xi - tau) / h if sgn > 0 else (xi + tau) / h
        if not (abs(q - jmin) < 4.0 * n_out + 4.0):
            return bx, by, False
        jq = math.ceil(q) if sgn > 0 else math.floor(q)
        Y = X * math.exp(xi)
        if not started:
            if jq - jmin < 0 or jq - jmin >= n_out:
                return bx, by, False
            j = jq
            started = True
        while X > 0.0:
            ratio_j = math.exp(j * h)
            if sgn > 0:
                fits = by + Y <= ratio_j * math.exp(tau) * (bx + X)
            else:
                fits = by + Y >= ratio_j * math.exp(-tau) * (bx + X)
            if fits:
                bx += X
                by += Y
                X = 0.0
            else:
                den = Y - ratio_j * X
                theta = (ratio_j * bx - by) / den if den * sgn > 0.0 else 0.0
                theta = min(max(theta, 0.0), 1.0)
                k = j - jmin
                if k < 0 or k >= n_out:
                    return bx, by, False
                bx += theta * X
                out[k] += bx
                X -= theta * X
                Y -= theta * Y
                bx = 0.0
                by = 0.0
                if sgn > 0:
                    j = jq if jq > j else j + 1
                else:
                    j = jq if jq < j else j - 1
    return bx, by, True


def _chord(x: np.ndarray, w: np.ndarray, h: float, jmin: int, tau: float, i_med: int,
           out: np.ndarray) -> tuple[float, float]:
    """Two-sided chord: merge sorted atoms into blocks of ratio exactly ``exp(j h)``.

    Bottom-up over ``[0, i_med)``, top-down over ``[i_med, n)``; writes masses into ``out``
    in place and returns the two unfinished blocks merged, ``(X, Y)``.  Raises
    :class:`LatticeError` if a block would leave ``out`` (then ``out`` is garbage).
    """
    i_med = min(max(int(i_med), 0), len(x))
    lx, ly, ok1 = _sweep(x, w, h, jmin, tau, 0, i_med, 1, out)
    ux, uy, ok2 = _sweep(x, w, h, jmin, tau, len(x) - 1, i_med - 1, -1, out)
    if not (ok1 and ok2):
        raise LatticeError(f"chord lattice: a block leaves the window of {len(out)} points "
                           f"(spacing {h:.3g}, ratio tolerance {tau:.3g})")
    return lx + ux, ly + uy


def _meeting_index(x: np.ndarray, w: np.ndarray, h: float) -> int:
    """Where the two sweeps of the chord meet: the lightest lattice cell of the central mass.

    The unfinished blocks left there are closed by :func:`_close_leftover`, over a few cells
    around the meeting point; a light cell keeps that merge small.
    """
    n = len(x)
    if n < 3:
        return n
    c = np.cumsum(w)
    tot = c[-1]
    cell = np.floor(x / h).astype(np.int64)
    lo_i = int(np.searchsorted(c, 0.05 * tot))
    hi_i = int(np.searchsorted(c, 0.95 * tot))
    if hi_i <= lo_i + 1:
        return int(np.searchsorted(c, 0.5 * tot))
    c0, c1 = int(cell[lo_i]), int(cell[min(hi_i, n - 1)])
    if c1 - c0 < 2:
        return int(np.searchsorted(c, 0.5 * tot))
    mass = np.bincount(cell[lo_i:hi_i + 1] - c0, weights=w[lo_i:hi_i + 1], minlength=c1 - c0 + 1)
    # candidate cells strictly inside, lightest by mass of the cell and its neighbours
    m3 = mass[:-2] + mass[1:-1] + mass[2:]
    best = int(np.argmin(m3)) + 1 + c0
    return int(np.searchsorted(x, best * h, side="left"))


def _close_leftover(out: np.ndarray, lx: float, ly: float, h: float, jmin: int,
                    jmax: int) -> float:
    """Place the chord's unfinished block ``(lx, ly)`` on the lattice without rounding.

    Its ratio ``r`` lies below the lattice ratio ``s*`` just above it; merging it with
    fractions of the emitted blocks above ``s*`` (exact lattice ratios) raises the ratio
    to exactly ``s*`` -- one more merge, so still post-processing, and only over a few
    cells (second order).  Falls back to rounding up when there is not enough mass above.
    Returns the mass sent to ``+inf`` (0 or ``lx``).
    """
    n = jmax - jmin + 1
    r_log = (math.log(ly) - math.log(lx)) if ly > 0 else -math.inf
    j = math.ceil((r_log - CHORD_TOL) / h) if math.isfinite(r_log) else jmin
    j = max(j, jmin)
    if j > jmax:
        return lx
    i = j - jmin
    s_t = math.exp(j * h)
    deficit = lx * s_t - ly  # Y-mass missing for the ratio to equal s_t
    if deficit > 1e-16 * ly and i + 1 < n:
        up = out[i + 1:n]
        gain = up * (np.exp(np.minimum((jmin + i + 1 + np.arange(len(up))) * h, 700.0)) - s_t)
        cum = np.cumsum(gain)
        if cum[-1] >= deficit:
            last = int(np.searchsorted(cum, deficit, side="left"))
            take = up[:last + 1].copy()
            before = cum[last - 1] if last > 0 else 0.0
            take[last] = up[last] * (deficit - before) / gain[last] if gain[last] > 0 else up[last]
            out[i + 1:i + 2 + last] -= take
            out[i] += lx + float(take.sum())
            return 0.0
    out[i] += lx  # rounded up (ratio below s_t)
    return 0.0


def chord_lattice(x: np.ndarray, w: np.ndarray, h: float, jmin: int, jmax: int,
                  m_minus: float = 0.0) -> LatticeLaw:
    """Optimistic (less informative) lattice pair from sorted merged atoms ``(x, w)``.

    Two sweeps (bottom-up and top-down) meet in the lightest central cell; the two
    unfinished blocks left there are merged with fractions of neighbouring blocks so that
    nothing is rounded (:func:`_close_leftover`).
    Every finite value of the result is to be read ``+ CHORD_TOL`` (field ``shift``).
    """
    _check_window(h, jmin, jmax, "chord_lattice")
    if h < MIN_SPACING:
        raise LatticeError(f"chord_lattice: spacing {h:.3g} is below {MIN_SPACING:.3g}, where "
                           "float64 cannot resolve the lattice ratios exp(j h)")
    x, w, n, below, above = _window(x, w, h, jmin, jmax)
    base = np.zeros(n + 2)
    base[0] += float(w[below].sum())  # rounded up to the bottom
    m_plus0 = float(w[above].sum())  # rounded up to +inf
    ins = ~below & ~above
    xi = np.ascontiguousarray(x[ins])
    wi = np.ascontiguousarray(w[ins])
    xs = (jmin + np.arange(n + 2)) * h
    best = None
    true_mean = float((wi * xi).sum())
    meet = _meeting_index(xi, wi, h)
    for i_med in (meet, len(xi), 0):
        out = base.copy()
        lx, ly = _chord(xi, wi, float(h), int(jmin), CHORD_TOL, int(i_med), out)
        m_plus = m_plus0
        if lx > 0.0:
            m_plus += _close_leftover(out, lx, ly, h, jmin, jmax)
        m_plus += float(out[n:].sum())
        out[n:] = 0.0
        # the first-order effect of the discretisation on a k-fold sum is its mean shift
        key = (m_plus, float((out * xs).sum()))
        if best is None or key < best[0]:
            best = (key, out[:n].copy(), m_plus)
        # the meeting sweep is second order unless an isolated heavy atom defeats it;
        # only then are the one-sided sweeps tried as well
        if m_plus == m_plus0 and key[1] - true_mean <= 0.02 * h * float(wi.sum()):
            break
    _, wout, m_plus = best
    return LatticeLaw(h, jmin, wout, m_minus=m_minus, m_plus=m_plus, shift=CHORD_TOL)


def _cpow(f: np.ndarray, k: int) -> np.ndarray:
    """``f**k`` for complex ``|f| <= 1``, as ``exp(k log f)``; underflowing terms are set to 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lf = np.log(f)
    re = k * lf.real
    keep = re > -745.0
    out = np.zeros_like(f)
    out[keep] = np.exp(k * lf[keep])
    return out


def _chernoff_window(parts: list[tuple[LatticeLaw, int]], eta: float) -> tuple[float, float]:
    """``[c_lo, c_hi]`` outside which the finite part of the sum has mass <= eta on each side."""
    var = 0.0
    mean = 0.0
    for law, k in parts:
        mu, v = law.moments()
        var += k * v
        mean += k * mu
    sd = math.sqrt(var) if var > 0 else parts[0][0].h
    lam = np.geomspace(1e-2, 1e2, 17) / sd
    log_eta = math.log(eta)
    up = np.zeros_like(lam)
    dn = np.zeros_like(lam)
    for law, k in parts:
        up += k * law.log_mgf(lam)
        dn += k * law.log_mgf(-lam)
    c_hi = float(np.min((up - log_eta) / lam))
    c_lo = float(np.max((log_eta - dn) / lam))
    return c_lo, c_hi


def compose(parts: list[tuple[LatticeLaw, int]], eta: float = 1e-15,
            max_len: int = MAX_FFT) -> LatticeLaw:
    """Law of ``sum_i (sum of k_i i.i.d. copies of law_i)`` on one lattice, by FFT.

    The window comes from a Chernoff bound; the wrap-around mass (<= ``eta`` per side)
    and an estimate of the FFT rounding (from its noise floor) go into ``err``.
    ``-inf`` wins over ``+inf``: a coordinate at ``-inf`` makes the whole loss ``-inf``
    (true for the loss, where only the genuine X-only region sits at ``-inf``).
    """
    h = parts[0][0].h
    for law, _ in parts:
        if law.h != h:
            raise ValueError("compose: all laws must share the lattice spacing")
    if len(parts) == 1 and parts[0][1] == 1:
        return parts[0][0]
    # atoms at +-inf
    log_no_minus = 0.0
    log_fin = 0.0
    err = 0.0
    shift = 0.0
    for law, k in parts:
        shift += k * law.shift
        log_no_minus += k * math.log1p(-min(law.m_minus, 1.0 - 1e-300))
        fm = law.finite_mass
        log_fin += k * (math.log(fm) if fm > 0 else -math.inf)
        err += k * law.err
    m_minus = -math.expm1(log_no_minus)
    fin_tot = math.exp(log_fin)
    m_plus = max(math.exp(log_no_minus) - fin_tot, 0.0)
    if fin_tot <= 0:
        return LatticeLaw(h, 0, np.zeros(1), m_minus=m_minus, m_plus=m_plus, err=err, shift=shift)
    c_lo, c_hi = _chernoff_window(parts, eta)
    if not (math.isfinite(c_lo) and math.isfinite(c_hi)):
        raise LatticeError(f"compose: Chernoff window [{c_lo}, {c_hi}] is not finite")
    if c_lo > c_hi:
        # the bounds cross when the finite part itself has mass <= 2 eta (e.g. a small
        # finite mass raised to a large k): mass above c_hi <= eta and below c_hi <= mass
        # below c_lo <= eta, so a window around c_hi keeps the same wrap-around budget
        c_lo = c_hi
    if abs(c_lo / h) > MAX_INDEX or abs(c_hi / h) > MAX_INDEX:
        raise LatticeError(f"compose: window [{c_lo:.3g}, {c_hi:.3g}] is beyond 2^52 lattice "
                           f"steps of {h:.3g}")
    s_lo = math.floor(c_lo / h) - 2
    s_hi = math.ceil(c_hi / h) + 2
    length = s_hi - s_lo + 1
    if length > max_len:
        raise LatticeError(f"composition window of {length} points exceeds {max_len}")
    n = sfft.next_fast_len(length, real=True)
    spec = None
    for law, k in parts:
        idx = (law.j0 + np.arange(len(law.w))) % n
        placed = np.bincount(idx, weights=law.w, minlength=n)
        f = sfft.rfft(placed)
        fk = f if k == 1 else _cpow(f, k)
        spec = fk if spec is None else spec * fk
    r = sfft.irfft(spec, n)
    r = np.roll(r, -(s_lo % n))[:length]
    neg = float(max(0.0, -r.min()))
    floor = max(neg, 2.2e-16 * math.log2(n) * float(r.max()))
    err += 2.0 * eta + 4.0 * n * floor
    r = np.maximum(r, 0.0)
    return LatticeLaw(h, s_lo, r, m_minus=m_minus, m_plus=m_plus, err=err, shift=shift)
