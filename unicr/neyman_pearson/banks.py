"""Monte Carlo draws (common random numbers) and per-sample losses along a direction.

A *bank* holds the draws of one Monte Carlo sample -- the same draws serve every scale
``lambda`` of a search and every direction of a direction search (common random numbers).
``bank.model(direction)`` gives a *model* whose ``losses(lams)`` returns, for every draw,

    L_X = log mu(eps - lam u) - log mu(eps)          (the clean law X)
    L_Y = log mu(eps) - log mu(eps + lam u)          (the shifted law Y, z = eps + lam u)

always as sums/differences of log densities (never products of ratios: docs/soundness-notes.md#s8),
in float64 arithmetic.  Hong et al. 2022, Theorem 1 (Eqs. 26-29 for i.i.d. noise).  For
noise that is symmetric about the origin the Y-law of L is the law of ``-L_X``, so the same
draws give ``L_Y := -L_X`` (one density evaluation instead of two); ``losses`` then returns
``None`` for ``L_Y``.  ``losses`` also returns, per scale, a bound ``eta`` on the floating-point
error of every computed loss (a generous multiple of the unit roundoff times the magnitudes
summed), which the statistics apply on the conservative side (:mod:`unicr.neyman_pearson.sampled`).
Rounding at a *discontinuity* of the density (a draw within ~1e-16 relative of the uniform
cube's or ball's boundary) is not covered; its probability (~d x 1e-16) is negligible next to
alpha.

Banks, from the fastest to the most general:

* :class:`GaussianBank` -- i.i.d. Gaussian: ``L_X = s Z - s^2/2`` with ``s = lam ||u||_2 / sigma``
  and one ``Z ~ N(0, 1)`` per draw (exact law; rotation invariance).  Its evaluator and the
  whole scale search are numba-compiled.
* :class:`RadialL2Bank` -- spherically symmetric joint noise (``RadialJointNoise`` with an
  l2 profile: UniformBall, Exp2, Pow2): per draw ``(eps_1, ||eps_perp||^2)`` from the exact
  radial law (``sample_radius``) and the exact law of one coordinate of a uniform direction
  (``(1 + theta_1)/2 ~ Beta((d-1)/2, (d-1)/2)``); losses from the radial log-profile.
* :class:`LinfKEqualBank` -- l_inf-radial joint noise (ExpInf) along k-equal directions
  ``a (1, ..., 1, 0, ..., 0)``: per draw the maximum and minimum of the first k coordinates
  and the largest |coordinate| of the rest, so each scale costs O(1) per draw.
* :class:`KEqualProductBank` -- uniform and Laplace product noise along k-equal directions:
  exact per-row reductions (uniform: one threshold ``b + min_j eps_j`` per draw, with an O(1)
  sampler; Laplace: the sign count and the positive coordinates below lambda, drawn level by
  level from their exact law), O(n) to O(n sqrt(k)) per scale instead of O(n k).
* :class:`ProductBank` -- any i.i.d. noise: coordinates drawn in (row-chunk, column-block)
  blocks, each from its own child ``SeedSequence`` so any sub-matrix is reproducible; a
  direction with k non-zero coordinates costs n k density evaluations per scale (uniform
  noise: one pass per direction, then O(n) per scale through its threshold per draw).
* :class:`JointBank` -- any joint density: rows of d coordinates.

Memory: product and joint banks keep generated blocks (draws and their log densities) only
while the total stays within ``memory_budget`` bytes; blocks beyond it are regenerated from
their seeds at every evaluation (streaming), so ``n x d`` is never materialised beyond the
budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from unicr.errors import InvalidParameterError
from unicr.neyman_pearson.direction import Direction, noise_symmetric
from unicr.neyman_pearson.sampled import _margins_sorted, margins, margins_batch
from unicr.noises.base import JointNoise, Noise, ProductNoise

__all__ = [
    "GaussianBank",
    "RadialL2Bank",
    "LinfKEqualBank",
    "ProductBank",
    "KEqualProductBank",
    "JointBank",
    "make_bank",
    "MarginFunction",
    "kequal_family",
    "is_spherical",
]

_BLOCK_ELEMS = 1 << 21  # elements per generated block (16 MiB in float64)
_U = 2.0**-52  # float64 unit roundoff (x2)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _child_rng(ss: np.random.SeedSequence, *key: int) -> np.random.Generator:
    child = np.random.SeedSequence(entropy=ss.entropy, spawn_key=tuple(ss.spawn_key) + key)
    return np.random.Generator(np.random.PCG64(child))


@dataclass(frozen=True)
class MarginFunction:
    """The three Neyman-Pearson margins of a loss model as a function of the scale lambda.

    Either a Python callable ``evaluate(lam) -> array(3)`` or a numba kernel
    ``kernel(lam, state) -> array(3)`` with its ``state`` tuple (the other fields ``None``);
    indexed by :class:`~unicr.neyman_pearson.statement.Statement`.  The search stage
    (:meth:`unicr.search.scale.Search.along`) builds its scale search around it.
    """

    evaluate: Callable[[float], np.ndarray] | None = None
    kernel: Any = None
    state: Any = None


class _ModelBase:
    """Common API of a loss model along one direction."""

    n: int
    what: str = "direction"

    def losses(self, lams: Sequence[float]
               ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """X- and Y-losses, shape (len(lams), n) (``None`` for Y means ``-L_X``), and the
        rounding bound ``eta`` per scale."""
        raise NotImplementedError  # pragma: no cover

    def evaluator(self, pa: float, pb: float | None, d_pass: float, d_fail: float):
        def ev(lam: float) -> np.ndarray:
            lx, ly, eta = self.losses([lam])
            return margins(lx[0], None if ly is None else ly[0], pa, pb, d_pass, d_fail,
                           float(eta[0]))

        return ev

    def margin_function(self, pa: float, pb: float | None, d_pass: float,
                        d_fail: float) -> MarginFunction:
        """The margins at ``pa``, ``pb`` with DKW bands ``d_pass``, ``d_fail``, per scale."""
        return MarginFunction(evaluate=self.evaluator(pa, pb, d_pass, d_fail))

    def margins_batch(self, lams: Sequence[float], pa: float, pb: float | None,
                      d_pass: Sequence[float] | float, d_fail: Sequence[float] | float
                      ) -> np.ndarray:
        lx, ly, eta = self.losses(lams)
        return margins_batch(lx, ly, pa, pb, d_pass, d_fail, eta)


# ---------------------------------------------------------------------------
# Gaussian: exact one-dimensional reduction, numba end to end
# ---------------------------------------------------------------------------


@numba.njit(cache=True)
def _gauss_eval(lam: float, state: tuple) -> np.ndarray:
    """Margins at scale ``lam`` from the sorted projections ``z`` (no sort needed: s > 0)."""
    z_sorted, coef, pa, pb, binary, d_pass, d_fail = state
    s = lam * coef
    n = z_sorted.shape[0]
    if n <= 0:
        raise ValueError("_gauss_eval: no draws")
    lx = np.empty(n)
    ly = np.empty(n)
    h = 0.5 * s * s
    for i in range(n):
        lx[i] = s * z_sorted[i] - h
        ly[i] = s * z_sorted[i] + h
    zmax = max(abs(z_sorted[0]), abs(z_sorted[n - 1]))
    eta = 8.0 * 2.0**-52 * (s * zmax + s * s)
    return _margins_sorted(lx, ly, pa, pb, binary, d_pass, d_fail, eta)


class GaussianBank:
    """i.i.d. Gaussian noise: the loss depends on the draw only through ``<eps, u>``.

    ``L_X = s Z - s^2/2``, ``L_Y = s Z + s^2/2`` with ``s = lam ||u||_2 / sigma`` (Cohen et
    al. 2019; Hong et al. 2022 Sec. 3 "Gaussian check"), one ``Z ~ N(0,1)`` per draw: the
    exact law, for every direction at once.
    """

    spherical = True

    def __init__(self, noise: ProductNoise, n: int, seed: np.random.SeedSequence, dtype: Any):
        self.noise = noise
        self.n = int(n)
        rng = _child_rng(seed, 0)
        self.z = rng.standard_normal(self.n).astype(dtype).astype(np.float64)
        self.z_sorted = np.sort(self.z)

    def model(self, direction: Direction) -> _GaussModel:
        return _GaussModel(self, direction.norm(2.0) / float(self.noise.scale))


class _GaussModel(_ModelBase):
    what = "any direction (Gaussian, rotation invariant)"

    def __init__(self, bank: GaussianBank, coef: float):
        self.bank = bank
        self.coef = coef
        self.n = bank.n

    def losses(self, lams: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = np.asarray(lams, dtype=np.float64)[:, None] * self.coef
        lx = s * self.bank.z[None, :] - 0.5 * s * s
        zmax = float(np.max(np.abs(self.bank.z)))
        eta = 8.0 * _U * (s[:, 0] * zmax + s[:, 0] ** 2)
        return lx, lx + s * s, eta

    def margin_function(self, pa: float, pb: float | None, d_pass: float,
                        d_fail: float) -> MarginFunction:
        """The compiled margins (:func:`_gauss_eval`) over the sorted projections."""
        binary = pb is None
        state = (self.bank.z_sorted, float(self.coef), float(pa), 0.0 if binary else float(pb),
                 binary,
                 float(d_pass), float(d_fail))
        return MarginFunction(kernel=_gauss_eval, state=state)


# ---------------------------------------------------------------------------
# spherically symmetric joint noise
# ---------------------------------------------------------------------------


def radial_profile_matches(noise: Any) -> bool:
    """True when the radial log-profile ``log_radial(||x||_p / scale)`` reproduces ``logpdf``
    differences at a few draws (guards the private hook every radial bank relies on)."""
    from unicr.noises.joint import _norm

    p = float(noise.norm_p)
    s = float(noise.scale)
    rng = np.random.default_rng(12345)
    x = noise.sample(4, rng)
    y = x * 0.97
    with np.errstate(invalid="ignore"):
        lhs = noise.logpdf(x) - noise.logpdf(y)
        rhs = noise.log_radial(_norm(x, p) / s) - noise.log_radial(_norm(y, p) / s)
        return bool(np.all((lhs == rhs) | (np.abs(lhs - rhs) <= 1e-7 * (1.0 + np.abs(lhs)))))


def _check_radial_profile(noise: Any) -> None:
    if noise.d < 1 or not radial_profile_matches(noise):
        raise InvalidParameterError(
            f"{noise.name}: its radial profile does not reproduce logpdf; "
            "cannot use the radial Monte Carlo model"
        )


def _radial_eta(noise: Any, s: float, r0: np.ndarray, h0: np.ndarray,
                rs: tuple[np.ndarray, ...], hs: tuple[np.ndarray, ...]) -> np.ndarray:
    """Rounding bound of ``h(r1) - h(r0)`` per scale: ulps of the values plus the profile's
    sensitivity to a relative error of 16 ulps in the computed radii."""
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        def spread(r: np.ndarray, h: np.ndarray) -> np.ndarray:
            hp = np.asarray(noise.log_radial(r * (1.0 + 16 * _U) / s))
            dh = np.abs(hp - h)
            return np.where(np.isfinite(dh), dh, 0.0) + 16 * _U * np.where(np.isfinite(h),
                                                                             np.abs(h), 0.0)
        base = float(np.max(spread(r0, h0)))
        out = np.zeros(rs[0].shape[0])
        for r, h in zip(rs, hs):
            out = np.maximum(out, np.max(spread(r, h), axis=1))
    return out + base


class RadialL2Bank:
    """Spherically symmetric joint noise ``mu(x) = f(||x||_2 / lambda)`` (Yang et al. 2020).

    Every l2 direction is equivalent, so the losses along ``u`` depend on the draw through
    ``(eps . u/||u||, ||eps||)`` only.  Per draw: ``R`` from the exact radial law
    (``noise.sample_radius``) and ``theta_1 = 2B - 1`` with ``B ~ Beta((d-1)/2, (d-1)/2)``,
    the first coordinate of a uniform unit vector; ``eps_1 = R theta_1`` and
    ``||eps_perp||^2 = R^2 4B(1-B)``.
    """

    spherical = True

    def __init__(self, noise: Any, n: int, seed: np.random.SeedSequence, dtype: Any):
        _check_radial_profile(noise)
        self.noise = noise
        self.n = int(n)
        d = noise.d
        rng = _child_rng(seed, 0)
        r = np.asarray(noise.sample_radius(self.n, rng), dtype=np.float64)
        if d == 1:
            b = (rng.random(self.n) < 0.5).astype(np.float64)
        else:
            b = rng.beta((d - 1) / 2.0, (d - 1) / 2.0, self.n)
        e1 = r * (2.0 * b - 1.0)
        perp2 = r * r * (4.0 * b * (1.0 - b))
        self.e1 = e1.astype(dtype).astype(np.float64)
        self.perp2 = perp2.astype(dtype).astype(np.float64)
        self.r0 = np.sqrt(self.e1 * self.e1 + self.perp2)
        s = float(noise.scale)
        self.h0 = np.asarray(noise.log_radial(self.r0 / s), dtype=np.float64)

    def model(self, direction: Direction) -> _RadialModel:
        return _RadialModel(self, direction.norm(2.0))


class _RadialModel(_ModelBase):
    what = "any direction (spherically symmetric noise)"

    def __init__(self, bank: RadialL2Bank, unorm: float):
        self.bank = bank
        self.unorm = unorm
        self.n = bank.n

    def losses(self, lams: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        b = self.bank
        s = float(b.noise.scale)
        t = np.asarray(lams, dtype=np.float64)[:, None] * self.unorm
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            r_minus = np.sqrt((b.e1[None, :] - t) ** 2 + b.perp2[None, :])
            r_plus = np.sqrt((b.e1[None, :] + t) ** 2 + b.perp2[None, :])
            h_minus = np.asarray(b.noise.log_radial(r_minus / s))
            h_plus = np.asarray(b.noise.log_radial(r_plus / s))
            lx = h_minus - b.h0[None, :]
            ly = b.h0[None, :] - h_plus
        eta = _radial_eta(b.noise, s, b.r0, b.h0, (r_minus, r_plus), (h_minus, h_plus))
        return lx, ly, eta


# ---------------------------------------------------------------------------
# l_inf-radial joint noise along k-equal directions
# ---------------------------------------------------------------------------


class LinfKEqualBank:
    """``mu(x) = f(||x||_inf / lambda)`` (ExpInf) along ``a (1_k, 0)``, k in a fixed set.

    ``||eps - a 1_k||_inf = max(max_{j<k} eps_j - a, a - min_{j<k} eps_j, max_{j>=k} |eps_j|)``:
    three numbers per draw and k.  A norm-radial law is ``eps = R U`` with ``R`` its radial law
    (``noise.sample_radius``) and ``U`` uniform on the surface of the cube ``[-1, 1]^d`` (one
    uniformly placed coordinate ``+-1``, the others ``U(-1, 1)``; Yang et al. 2020,
    docs/certificate-notes.md#c7), so the
    three numbers have exact O(1) samplers: with ``m`` uniform coordinates among the first k,
    their maximum is ``2 V^(1/m) - 1`` and, given it, their minimum ``-1 + (max + 1)(1 -
    W^(1/(m-1)))``; the largest |coordinate| of ``d - k`` uniforms is ``V'^(1/(d-k))``.  Each k
    has its own draws.
    """

    spherical = False

    def __init__(self, noise: Any, n: int, seed: np.random.SeedSequence, dtype: Any,
                 ks: Sequence[int]):
        _check_radial_profile(noise)
        self.noise = noise
        self.n = int(n)
        d = noise.d
        self.ks = sorted({int(k) for k in ks if 1 <= int(k) <= d})
        nk = len(self.ks)
        self.pmax = np.empty((nk, self.n))
        self.pmin = np.empty((nk, self.n))
        self.rest = np.empty((nk, self.n))
        self.r0 = np.empty((nk, self.n))
        self.h0 = np.empty((nk, self.n))
        s = float(noise.scale)
        for i, k in enumerate(self.ks):
            rng = _child_rng(seed, k)
            r = np.asarray(noise.sample_radius(self.n, rng), dtype=np.float64)
            pmax, pmin, rest = _cube_surface_stats(self.n, d, k, rng)
            cast = np.dtype(dtype)
            self.pmax[i] = (r * pmax).astype(cast)
            self.pmin[i] = (r * pmin).astype(cast)
            self.rest[i] = (r * rest).astype(cast)
            self.r0[i] = np.maximum(np.maximum(self.pmax[i], -self.pmin[i]), self.rest[i])
            self.h0[i] = np.asarray(noise.log_radial(self.r0[i] / s), dtype=np.float64)

    def model(self, direction: Direction) -> _LinfModel:
        if direction.kind != "k-equal" or direction.k not in self.ks:
            raise InvalidParameterError("LinfKEqualBank: only its k-equal directions are available")
        return _LinfModel(self, self.ks.index(direction.k))


def _cube_surface_stats(n: int, d: int, k: int, rng: np.random.Generator
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(max, min) of the first k coordinates and max |.| of the others, for n points uniform on
    the surface of [-1, 1]^d (exact order-statistic samplers)."""
    special_in = rng.random(n) < k / d
    sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    m = k - special_in.astype(np.int64)  # uniform coordinates among the first k
    v, w, v2 = rng.random(n), rng.random(n), rng.random(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        mx = 2.0 * (1.0 - v) ** (1.0 / np.maximum(m, 1)) - 1.0
        frac = 1.0 - (1.0 - w) ** (1.0 / np.maximum(m - 1, 1))
        mn = np.where(m >= 2, -1.0 + (mx + 1.0) * frac, mx)
        r_unif = (1.0 - v2) ** (1.0 / max(d - k, 1)) if d > k else np.zeros(n)
    pmax = np.where(m >= 1, mx, sign)
    pmin = np.where(m >= 1, mn, sign)
    pmax = np.where(special_in & (m >= 1), np.maximum(pmax, sign), pmax)
    pmin = np.where(special_in & (m >= 1), np.minimum(pmin, sign), pmin)
    rest = np.where(special_in, r_unif if d > k else 0.0, 1.0)
    return pmax, pmin, np.asarray(rest, dtype=np.float64)


class _LinfModel(_ModelBase):
    def __init__(self, bank: LinfKEqualBank, idx: int):
        self.bank = bank
        self.idx = idx
        self.n = bank.n
        self.what = f"k-equal direction, k = {bank.ks[idx]}"

    def losses(self, lams: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        b = self.bank
        i = self.idx
        s = float(b.noise.scale)
        a = np.asarray(lams, dtype=np.float64)[:, None]
        pmax, pmin, rest = b.pmax[i][None, :], b.pmin[i][None, :], b.rest[i][None, :]
        r_minus = np.maximum(np.maximum(pmax - a, a - pmin), rest)
        r_plus = np.maximum(np.maximum(pmax + a, -a - pmin), rest)
        h0 = b.h0[i][None, :]
        with np.errstate(invalid="ignore", over="ignore"):
            h_minus = np.asarray(b.noise.log_radial(r_minus / s))
            h_plus = np.asarray(b.noise.log_radial(r_plus / s))
            lx = h_minus - h0
            ly = h0 - h_plus
        eta = _radial_eta(b.noise, s, b.r0[i], b.h0[i], (r_minus, r_plus), (h_minus, h_plus))
        return lx, ly, eta


# ---------------------------------------------------------------------------
# generic product noise
# ---------------------------------------------------------------------------


def column_edges(d: int) -> list[int]:
    """Column blocks [0,1), [1,2), [2,4), [4,8), ... of a product bank: a direction with k
    non-zero coordinates (canonical order) touches only the first ~log2 k blocks."""
    edges = [0]
    w = 1
    while edges[-1] < d:
        edges.append(min(d, edges[-1] + w))
        if edges[-1] >= 2:
            w = edges[-1]
    return edges


class DirectionMemo:
    """The per-draw arrays of the last few directions of a bank (key: the direction's values):
    one pass over the draws per direction, reused by every scale of its searches."""

    def __init__(self, size: int = 8):
        self.size = size
        self._memo: dict[tuple[float, ...], np.ndarray] = {}

    def get(self, values: np.ndarray, compute: Any) -> np.ndarray:
        key = tuple(float(x) for x in values)
        hit = self._memo.get(key)
        if hit is None:
            hit = compute()
            if len(self._memo) >= self.size:
                self._memo.pop(next(iter(self._memo)))
            self._memo[key] = hit
        return hit


class ProductBank:
    """Draws of an i.i.d. noise, ``n`` rows x ``d`` columns, generated block by block.

    Columns are grouped in blocks [0,1), [1,2), [2,4), [4,8), ... so that a direction with k
    non-zero coordinates (canonical order: coordinates 0..k-1) touches only the first
    ``~log2 k`` blocks.  Block ``(c, b)`` is drawn from its own child of the bank's
    ``SeedSequence``: the same sub-matrix whatever was generated before (common random
    numbers, reproducible streaming).
    """

    spherical = False

    def __init__(self, noise: ProductNoise, n: int, d: int, seed: np.random.SeedSequence,
                 dtype: Any, memory_budget: int):
        self.noise = noise
        self.n = int(n)
        self.d = int(d)
        self.seed = seed
        self.dtype = np.dtype(dtype)
        self.budget = int(memory_budget)
        self.edges = edges = column_edges(self.d)
        maxw = max(b - a for a, b in zip(edges[:-1], edges[1:]))
        self.rows = int(np.clip(_BLOCK_ELEMS // maxw, 256, 65536))
        self.symmetric = bool(noise.symmetric)
        from unicr.neyman_pearson.kernels import kernel_for

        #: compiled log-density kernel (closed-form families), None: numpy ``logpdf``
        self.kernel = kernel_for(noise)
        self._cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray | None]] = {}
        self._bytes = 0
        self._thresholds = DirectionMemo()

    def _block(self, c: int, b: int) -> tuple[np.ndarray, np.ndarray | None]:
        key = (c, b)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        r0 = c * self.rows
        r1 = min(self.n, r0 + self.rows)
        w = self.edges[b + 1] - self.edges[b]
        e = np.asarray(self.noise.sample((r1 - r0, w), _child_rng(self.seed, c, b)))
        e = np.ascontiguousarray(e.astype(self.dtype))
        base = None
        if self.kernel is None:
            with np.errstate(divide="ignore"):
                base = np.asarray(self.noise.logpdf(e), dtype=np.float64)
        nbytes = e.nbytes + (base.nbytes if base is not None else 0)
        if self._bytes + nbytes <= self.budget:
            self._cache[key] = (e, base)
            self._bytes += nbytes
        return e, base

    def model(self, direction: Direction) -> _ProductModel:
        if direction.full:
            raise InvalidParameterError("ProductBank needs a canonical (support-first) direction")
        from unicr.neyman_pearson.kernels import UNIFORM

        if self.kernel is not None and self.kernel[0] == UNIFORM:
            return _UniformThresholdModel(self, direction)
        return _ProductModel(self, direction)

    def uniform_thresholds(self, values: np.ndarray) -> np.ndarray:
        """Uniform noise on ``[-b, b]``: per row ``T = min_j (b + sign(v_j) eps_j) / |v_j|``
        over ``v_j != 0``, so that ``L_X(lam) = 0`` iff ``lam <= T`` (else ``-inf``).

        One pass over the draws per direction (cached for the last few directions); every
        scale then costs O(n).
        """
        return self._thresholds.get(values, lambda: self._uniform_thresholds(values))

    def _uniform_thresholds(self, values: np.ndarray) -> np.ndarray:
        b = float(self.noise.scale)
        k = values.size
        t_row = np.full(self.n, np.inf)
        for c in range((self.n + self.rows - 1) // self.rows):
            r0 = c * self.rows
            for blk in range(len(self.edges) - 1):
                lo_b = self.edges[blk]
                if lo_b >= k:
                    break
                hi_b = min(self.edges[blk + 1], k)
                e, _ = self._block(c, blk)
                e = e[:, : hi_b - lo_b]
                from unicr.neyman_pearson.kernels import uniform_row_thresholds

                uniform_row_thresholds(np.ascontiguousarray(e), np.ascontiguousarray(
                    values[lo_b:hi_b], dtype=np.float64), b, t_row, r0)
        return t_row

    def losses(self, values: np.ndarray, lams: Sequence[float]
               ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        lams = np.asarray(lams, dtype=np.float64)
        m = lams.size
        k = values.size
        lx = np.zeros((m, self.n))
        ly = None if self.symmetric else np.zeros((m, self.n))
        mag = np.zeros((m, self.n))  # sum of |log-density terms| per draw (rounding bound)
        nz = self.noise
        for c in range((self.n + self.rows - 1) // self.rows):
            r0 = c * self.rows
            r1 = min(self.n, r0 + self.rows)
            for b in range(len(self.edges) - 1):
                lo_b = self.edges[b]
                if lo_b >= k:
                    break
                hi_b = min(self.edges[b + 1], k)
                e, base = self._block(c, b)
                e = e[:, : hi_b - lo_b]
                vv = values[lo_b:hi_b]
                if self.kernel is not None:
                    from unicr.neyman_pearson.kernels import product_losses

                    product_losses(np.ascontiguousarray(e), vv, lams, float(nz.scale),
                                   self.kernel, lx, r0, ly, mag)
                    continue
                base = base[:, : hi_b - lo_b]
                with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                    abase = np.abs(base)
                    for t in range(m):
                        a = lams[t] * vv
                        lp = nz.logpdf(e - a)
                        lx[t, r0:r1] += np.sum(lp - base, axis=1)
                        tm = np.abs(lp) + abase
                        if ly is not None:
                            lq = nz.logpdf(e + a)
                            ly[t, r0:r1] += np.sum(base - lq, axis=1)
                            tm = tm + np.abs(lq)
                        mag[t, r0:r1] += np.sum(np.where(np.isfinite(tm), tm, 0.0), axis=1)
        # sequential sums of k terms: |error| <= (k + 2) u sum|terms| (x4 for the terms' own
        # rounding)
        eta = 4.0 * (k + 2) * _U * np.max(mag, axis=1)
        return lx, ly, eta


class _ProductModel(_ModelBase):
    """Losses along a canonical direction from a product bank's ``losses(values, lams)`` (the
    numpy :class:`ProductBank` or the torch ``TorchProductBank``)."""

    def __init__(self, bank: Any, direction: Direction):
        self.bank = bank
        self.values = direction.support_values()
        self.n = bank.n
        self.what = f"direction {direction.describe()['kind']} (k = {direction.k})"

    def losses(self, lams: Sequence[float]) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        return self.bank.losses(self.values, lams)


class _UniformThresholdModel(_ProductModel):
    """Uniform product noise along any direction: one threshold per draw.

    ``log mu(eps - lam v) - log mu(eps)`` is 0 while every ``|eps_j - lam v_j| <= b`` and
    ``-inf`` afterwards (Hong et al. 2022, Eqs. 26-29 for the uniform density), i.e. 0 iff
    ``lam <= T = min_j (b + sign(v_j) eps_j)/|v_j|``: the same losses as the coordinate-wise
    sum on the same draws (exactly 0 or ``-inf``, ``eta = 0``), at O(n) per scale.  The law is
    symmetric: ``L_Y := -L_X``.  The bank (numpy or torch) supplies ``uniform_thresholds``.
    Rounding at the cube's faces is not covered (probability ~d x 1e-16).
    """

    def losses(self, lams: Sequence[float]) -> tuple[np.ndarray, None, np.ndarray]:
        lams = np.ascontiguousarray(lams, dtype=np.float64).ravel()
        t_row = self.bank.uniform_thresholds(self.values)
        lx = np.empty((lams.size, self.n))
        _threshold_losses(t_row, lams, lx)
        return lx, None, np.zeros(lams.size)


# ---------------------------------------------------------------------------
# exact per-row reductions of product noise (uniform, Laplace)
# ---------------------------------------------------------------------------

_KEQ_TAG = 0x4B45  # spawn-key tag of the k-equal banks (disjoint from ProductBank's (c, b))


def kequal_family(noise: Noise) -> str | None:
    """``"uniform"`` / ``"laplace"`` when :class:`KEqualProductBank` samples this noise exactly.

    Only the built-in classes whose compiled kernel reproduces ``logpdf`` (the cross-check of
    :func:`unicr.neyman_pearson.kernels.kernel_for`) qualify; anything else uses the generic
    coordinate-wise bank.
    """
    from unicr.neyman_pearson.kernels import LAPLACE, UNIFORM, kernel_for
    from unicr.noises.families import Laplace, Uniform

    if type(noise) is Uniform and kernel_for(noise) == (UNIFORM, 0.0):
        return "uniform"
    if type(noise) is Laplace and kernel_for(noise) == (LAPLACE, 0.0):
        return "laplace"
    return None


def _uniform_min_gap(n: int, k: int, b: float, rng: np.random.Generator) -> np.ndarray:
    """``T = b + min_{j<k} eps_j`` for eps uniform on ``[-b, b]^k``: ``2b (1 - V^(1/k))``.

    ``P(T > t) = (1 - t/(2b))^k``; computed as ``-2b expm1(log(V)/k)`` (no cancellation for
    large k), ``V = 1 - U`` in ``(0, 1]``.
    """
    v = 1.0 - rng.random(n)
    return np.minimum(-2.0 * b * np.expm1(np.log(v) / k), 2.0 * b)


@numba.njit(cache=True)
def _threshold_losses(t_row: np.ndarray, lams: np.ndarray, out: np.ndarray) -> None:
    """``out[t, r] = 0`` if ``lams[t] <= t_row[r]`` else ``-inf`` (uniform noise)."""
    if out.shape[0] < lams.shape[0] or out.shape[1] < t_row.shape[0]:
        raise ValueError("_threshold_losses: out smaller than (len(lams), len(t_row))")
    for t in range(lams.shape[0]):
        lam = lams[t]
        for r in range(t_row.shape[0]):
            out[t, r] = 0.0 if lam <= t_row[r] else -np.inf


@numba.njit(cache=True)
def _laplace_kequal_row_losses(x: float, base_int: np.ndarray, cum_c: np.ndarray,
                               cum_s: np.ndarray, offsets: np.ndarray, values: np.ndarray,
                               out: np.ndarray, mag: np.ndarray) -> int:
    """``L_X = x (k - 2 N_neg - 2 C) + 2 S`` per row (Laplace along ``lam 1_k``, ``x = lam/b``).

    ``C``, ``S``: count and sum of the positive standardised coordinates below ``x`` -- the
    full levels below the partial one (``cum_c``, ``cum_s``) plus the partial level's values
    ``< x`` (CSR ``offsets``/``values``).  ``mag`` receives ``|x (..)| + 2 S`` (rounding
    bound); returns the largest count ``C``.
    """
    n = base_int.shape[0]
    nv = values.shape[0]
    if cum_c.shape[0] < n or cum_s.shape[0] < n or offsets.shape[0] < n + 1 \
            or out.shape[0] < n or mag.shape[0] < n:
        raise ValueError("_laplace_kequal_row_losses: per-row arrays shorter than base_int")
    cmax = 0
    for r in range(n):
        c = cum_c[r]
        s = cum_s[r]
        if offsets[r] < 0 or offsets[r + 1] > nv:
            raise ValueError("_laplace_kequal_row_losses: CSR offsets outside values")
        for q in range(offsets[r], offsets[r + 1]):
            v = values[q]
            if v < x:
                c += 1
                s += v
        coef = x * (base_int[r] - 2 * c)
        out[r] = coef + 2.0 * s
        mag[r] = abs(coef) + 2.0 * s
        if c > cmax:
            cmax = c
    return cmax


@numba.njit(cache=True)
def _csr_row_sums(offsets: np.ndarray, values: np.ndarray) -> np.ndarray:
    n = max(offsets.shape[0] - 1, 0)
    nv = values.shape[0]
    out = np.zeros(n)
    for r in range(n):
        if offsets[r] < 0 or offsets[r + 1] > nv:
            raise ValueError("_csr_row_sums: CSR offsets outside values")
        s = 0.0
        for q in range(offsets[r], offsets[r + 1]):
            s += values[q]
        out[r] = s
    return out


class _UniformKEqual:
    """Uniform noise along ``lam 1_k``: one standardised threshold ``T / b`` per row."""

    def __init__(self, n: int, k: int, seed: np.random.SeedSequence, dtype: np.dtype):
        t = _uniform_min_gap(n, k, 1.0, _child_rng(seed, _KEQ_TAG, k, 0))
        if dtype != np.float64:  # the draw min_j z_j = T/b - 1 stored in the requested dtype
            t = 1.0 + (t - 1.0).astype(dtype).astype(np.float64)
        self.t = t


class _LaplaceKEqual:
    """Laplace noise along ``lam 1_k``: the sign count and the positive coordinates, by levels.

    In standardised units ``z = eps / b``: ``N_neg ~ Bin(k, 1/2)``; the ``N_pos = k - N_neg``
    positive coordinates are i.i.d. ``Exp(1)`` and are drawn level by level on the fixed grid
    ``0 < c_1 < 2 c_1 < 4 c_1 < ...`` (``c_1`` the power of two at or below
    ``1 / (4 sqrt k)``, so the boundaries are exact in float32 and float64): the count in
    ``[c_i, c_(i+1))`` among the ``R_i`` not yet placed is ``Bin(R_i, 1 - e^(c_i - c_(i+1)))``
    (memorylessness) and the values are exponentials truncated to the level.  Each level comes
    from its own child seed and depends on earlier levels only through ``R_i``, so
    materialising more levels (for a larger lambda) never changes the ones already drawn: the
    sample is one fixed draw of the exact law, evaluated lazily, and every lambda is evaluated
    exactly (no cap).  Values of a level are kept while within the memory budget, else
    regenerated from the level's seed.  Standardised units make the sample scale-free: scale
    b and lambda enter only through ``lambda / b``.
    """

    def __init__(self, n: int, k: int, seed: np.random.SeedSequence, dtype: np.dtype,
                 pool: list[int]):
        self.n, self.k = int(n), int(k)
        self.seed = seed
        self.dtype = dtype
        self.pool = pool  # [bytes of level values kept by the bank, budget]: shared by all k
        rng = _child_rng(seed, _KEQ_TAG, k, 0)
        n_neg = rng.binomial(k, 0.5, self.n).astype(np.int64)
        self.base_int = (k - 2 * n_neg).astype(np.int64)  # N_pos - N_neg
        self.c1 = 2.0 ** math.floor(math.log2(1.0 / (4.0 * math.sqrt(k))))
        self.remaining = [(k - n_neg).astype(np.int64)]  # R_i before level i
        self.cum_c = [np.zeros(self.n, dtype=np.int64)]  # count below c_i
        self.cum_s = [np.zeros(self.n)]  # sum of the values below c_i
        self.levels: list[tuple[np.ndarray, np.ndarray] | None] = []
        self._bytes = 0  # level values kept for this k

    def edge(self, i: int) -> float:
        """Lower boundary ``c_i`` of level i (``c_0 = 0``)."""
        return 0.0 if i == 0 else self.c1 * 2.0 ** (i - 1)

    def level_of(self, x: float) -> int:
        i = 0
        while self.edge(i + 1) <= x:
            i += 1
        return i

    def _draw_level(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Counts, values (CSR by row) and row offsets of level i, from the level's own seed."""
        rng = _child_rng(self.seed, _KEQ_TAG, self.k, i + 1)
        lo, hi = self.edge(i), self.edge(i + 1)
        p = -math.expm1(-(hi - lo))
        cnt = rng.binomial(self.remaining[i], p).astype(np.int64)
        u = rng.random(int(cnt.sum()))
        v = lo - np.log1p(-u * p)  # Exp(1) truncated to [lo, hi)
        v = np.minimum(np.maximum(v, lo), hi)
        if self.dtype != np.float64:
            v = v.astype(self.dtype).astype(np.float64)  # boundaries are exact in float32
        offsets = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(cnt, out=offsets[1:])
        return cnt, np.ascontiguousarray(v), offsets

    def _ensure(self, i: int) -> None:
        """Materialise levels 0..i: per-row counts and sums below each level (always kept,
        O(n) per level), the values while the bank's budget allows (else regenerated)."""
        while len(self.levels) <= i:
            j = len(self.levels)
            cnt, v, offsets = self._draw_level(j)
            self.remaining.append(self.remaining[j] - cnt)
            self.cum_c.append(self.cum_c[j] + cnt)
            self.cum_s.append(self.cum_s[j] + _csr_row_sums(offsets, v))
            nbytes = v.nbytes + offsets.nbytes
            if self.pool[0] + nbytes <= self.pool[1]:
                self.levels.append((offsets, v))
                self.pool[0] += nbytes
                self._bytes += nbytes
            else:
                self.levels.append(None)

    def level_values(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        self._ensure(i)
        hit = self.levels[i]
        if hit is not None:
            return hit
        _, v, offsets = self._draw_level(i)  # streamed: regenerated from the level's seed
        return offsets, v

    def losses(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """X-losses at the standardised scales ``xs = lams / b`` and their rounding bounds."""
        m = xs.size
        lx = np.empty((m, self.n))
        mag = np.empty((m, self.n))
        eta = np.zeros(m)
        for t in range(m):
            x = float(xs[t])
            i = self.level_of(x)
            offsets, v = self.level_values(i)
            cmax = _laplace_kequal_row_losses(x, self.base_int, self.cum_c[i], self.cum_s[i],
                                              offsets, v, lx[t], mag[t])
            # a sum of C values, one product, one sum, plus the rounding of x = lam / b
            # (derivative |k - 2 N_neg - 2 C| <= mag / x): (C + 4) roundings of the
            # magnitudes, x4 margin (U = 2 u)
            if self.n:
                eta[t] = 4.0 * (cmax + 5) * _U * float(np.max(mag[t]))
        return lx, eta


class KEqualProductBank:
    """Exact per-row reductions of uniform and Laplace product noise along k-equal directions.

    Hong et al. 2022, Theorem 1, with the loss of i.i.d. noise (Eqs. 26-29) reduced to a few
    numbers per draw, sampled from their exact law in standardised units ``z = eps / b``
    (``b`` the native scale; each k has its own draws, independent of the generic bank's):

    * **Uniform** on ``[-b, b]^d`` along ``lam 1_k``: ``L_X = 0`` iff every
      ``|eps_j - lam| <= b``, i.e. ``lam / b <= T = 1 + min_{j<k} z_j``, else ``-inf``;
      ``T`` has the exact O(1) sampler ``2 (1 - V^(1/k))`` (minimum of k uniforms).  The
      losses take the values 0 and ``-inf`` only: no rounding (``eta = 0``).
    * **Laplace** along ``lam 1_k``, ``x = lam / b``: with ``N_pos`` / ``N_neg`` the numbers
      of positive / non-positive coordinates, ``L_X = x (N_pos - N_neg) - 2 sum_{z_j > 0}
      (x - z_j)^+``; only the positive coordinates below ``x`` matter, drawn level by level
      from their exact law (:class:`_LaplaceKEqual`, no cap: every scale is exact).  O(n +
      values below x) per scale instead of O(n k).

    Both laws are symmetric, so ``L_Y := -L_X`` (``ly = None``), and the direction's sign is
    irrelevant.  ``dtype=float32`` rounds the stored coordinates (``min_j z_j``, the positive
    ``z_j``) as the coordinate-wise bank does.
    """

    spherical = False

    def __init__(self, noise: ProductNoise, n: int, seed: np.random.SeedSequence, dtype: Any,
                 memory_budget: int):
        fam = kequal_family(noise)
        if fam is None:
            raise InvalidParameterError(
                f"{noise.name}: no exact k-equal sampler (uniform and Laplace only)")
        self.noise = noise
        self.family = fam
        self.n = int(n)
        self.seed = seed
        self.dtype = np.dtype(dtype)
        self.budget = int(memory_budget)
        self._pool = [0, self.budget]  # level values kept (Laplace), shared by every k
        self._per_k: dict[int, Any] = {}

    def state(self, k: int) -> Any:
        hit = self._per_k.get(k)
        if hit is None:
            if self.family == "uniform":
                hit = _UniformKEqual(self.n, k, self.seed, self.dtype)
            else:
                hit = _LaplaceKEqual(self.n, k, self.seed, self.dtype, self._pool)
            self._per_k[k] = hit
        return hit

    def model(self, direction: Direction) -> _KEqualModel:
        if direction.kind != "k-equal" or direction.k < 1:
            raise InvalidParameterError("KEqualProductBank: only k-equal directions")
        return _KEqualModel(self, direction.k)


class _KEqualModel(_ModelBase):
    def __init__(self, bank: KEqualProductBank, k: int):
        self.bank = bank
        self.k = k
        self.n = bank.n
        self.what = f"k-equal direction, k = {k} (exact {bank.family} reduction)"

    def losses(self, lams: Sequence[float]) -> tuple[np.ndarray, None, np.ndarray]:
        lams = np.ascontiguousarray(lams, dtype=np.float64).ravel()
        st = self.bank.state(self.k)
        xs = lams / float(self.bank.noise.scale)  # standardised scales
        if self.bank.family == "uniform":
            lx = np.empty((lams.size, self.n))
            _threshold_losses(st.t, xs, lx)
            return lx, None, np.zeros(lams.size)
        lx, eta = st.losses(xs)
        return lx, None, eta


# ---------------------------------------------------------------------------
# generic joint noise
# ---------------------------------------------------------------------------


class JointBank:
    """Draws of a joint noise on R^d, generated in row chunks (each from its own seed)."""

    spherical = False

    def __init__(self, noise: JointNoise, n: int, seed: np.random.SeedSequence, dtype: Any,
                 memory_budget: int):
        self.noise = noise
        self.n = int(n)
        self.d = int(noise.d)
        self.seed = seed
        self.dtype = np.dtype(dtype)
        self.budget = int(memory_budget)
        self.rows = int(np.clip(_BLOCK_ELEMS // self.d, 16, 65536))
        self.symmetric = noise_symmetric(noise)
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._bytes = 0

    def _block(self, c: int) -> tuple[np.ndarray, np.ndarray]:
        hit = self._cache.get(c)
        if hit is not None:
            return hit
        r0 = c * self.rows
        r1 = min(self.n, r0 + self.rows)
        e = np.asarray(self.noise.sample(r1 - r0, _child_rng(self.seed, c))).astype(self.dtype)
        with np.errstate(divide="ignore"):
            base = np.asarray(self.noise.logpdf(e), dtype=np.float64)
        nbytes = e.nbytes + base.nbytes
        if self._bytes + nbytes <= self.budget:
            self._cache[c] = (e, base)
            self._bytes += nbytes
        return e, base

    def model(self, direction: Direction) -> _JointModel:
        return _JointModel(self, direction.vector(self.d))

    def losses(self, u: np.ndarray, lams: Sequence[float]
               ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        lams = np.asarray(lams, dtype=np.float64)
        m = lams.size
        lx = np.zeros((m, self.n))
        ly = None if self.symmetric else np.zeros((m, self.n))
        mag = np.zeros(m)
        for c in range((self.n + self.rows - 1) // self.rows):
            r0 = c * self.rows
            r1 = min(self.n, r0 + self.rows)
            e, base = self._block(c)
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                for t in range(m):
                    a = lams[t] * u
                    lp = np.asarray(self.noise.logpdf(e - a))
                    lx[t, r0:r1] = lp - base
                    tm = np.abs(lp) + np.abs(base)
                    if ly is not None:
                        lq = np.asarray(self.noise.logpdf(e + a))
                        ly[t, r0:r1] = base - lq
                        tm = tm + np.abs(lq)
                    fin = tm[np.isfinite(tm)]
                    if fin.size:
                        mag[t] = max(mag[t], float(np.max(fin)))
        # a joint log-density sums O(d) terms (norms, constants): (d + 2) ulps of its magnitude
        eta = 4.0 * (self.d + 2) * _U * mag
        return lx, ly, eta


class _JointModel(_ModelBase):
    def __init__(self, bank: JointBank, u: np.ndarray):
        self.bank = bank
        self.u = u
        self.n = bank.n
        self.what = "the given direction"

    def losses(self, lams: Sequence[float]) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        return self.bank.losses(self.u, lams)


# ---------------------------------------------------------------------------
# factory
# ---------------------------------------------------------------------------


def is_spherical(noise: Noise) -> bool:
    """Spherically symmetric noise: every l2 direction is equivalent (rotation invariance).

    i.i.d. Gaussian (the only spherically symmetric product law) and l2-radial joint noise.
    """
    from unicr.noises.families import Gaussian
    from unicr.noises.joint import RadialJointNoise

    if isinstance(noise, Gaussian):
        return True
    return isinstance(noise, RadialJointNoise) and float(noise.norm_p) == 2.0


def linf_radial(noise: Noise) -> bool:
    from unicr.noises.joint import RadialJointNoise

    return isinstance(noise, RadialJointNoise) and math.isinf(float(noise.norm_p))


def make_bank(noise: Noise, n: int, d: int, seed: np.random.SeedSequence, dtype: Any,
              memory_budget: int, ks: Sequence[int] | None = None, general: bool = False):
    """The fastest exact bank for ``noise``; ``general=True``: the coordinate-wise banks
    (no rotation-invariance or k-equal specialisation)."""
    from unicr.noises.families import Gaussian

    if isinstance(noise, Gaussian) and not general:
        return GaussianBank(noise, n, seed, dtype)
    if is_spherical(noise) and not general:
        return RadialL2Bank(noise, n, seed, dtype)
    if isinstance(noise, ProductNoise):
        return ProductBank(noise, n, d, seed, dtype, memory_budget)
    if linf_radial(noise) and ks is not None and not general:
        return LinfKEqualBank(noise, n, seed, dtype, ks)
    return JointBank(noise, n, seed, dtype, memory_budget)
