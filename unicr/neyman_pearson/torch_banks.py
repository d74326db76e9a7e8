"""Torch backend (CPU or CUDA) of the general Monte Carlo banks (unicr issue #4).

:class:`TorchProductBank` and :class:`TorchJointBank` have the API of
:class:`~unicr.neyman_pearson.banks.ProductBank` and :class:`~unicr.neyman_pearson.banks.JointBank`
(``.n``, ``.model(direction).losses(lams) -> (lx, ly | None, eta)``, numpy float64), so the
scale search, ``margins_batch`` and the engine use them unchanged.  The losses are UniCR's
log likelihood ratios along ``lam u`` (Hong et al. 2022, Theorem 1; Eqs. 26-29 for i.i.d.
noise), computed in log space as differences of sums of log densities (docs/concepts.md "Log
space"; never products of ratios).

Draws.  Generated on the device, block by block, each block from its own ``torch.Generator``
(created on the device) seeded from a child of the bank's ``SeedSequence``: any block is
reproducible whatever was generated before, for a seed and a device type.  Product banks keep
the column-block layout of ``ProductBank`` (columns [0,1), [1,2), [2,4), [4,8), ...), so a
direction with k non-zero coordinates touches only the first ~log2 k column blocks; each column
block is cut into row chunks of about ``block_elems`` elements.  Blocks are kept while the total
stays within ``memory_budget`` bytes and regenerated at every pass otherwise (streaming: n x d is
never materialised beyond the budget, and streamed losses are bit-identical to cached ones).
Product banks store the *standardised* draws ``Z`` (``eps = scale * Z``).

Densities.  Product noise: the unnormalised standardised log-density of a closed-form family
as the family declares it (:meth:`~unicr.noises.base.ProductNoise.compiled_logq`: its torch
formula ``logq_torch_``, rounding constants ``elastic`` and ``c_eval``, and modulus of
continuity), cross-checked against ``noise.logpdf`` when a bank is built (any mismatch: no
torch bank).  Joint noise: ``RadialJointNoise`` (density ``f(||x||_p / scale)``, p in
{1, 2, inf}): the norms ``||eps - lam u||_p`` are computed on the device, the n norms are moved
to the host and the radial profile ``noise.log_radial`` is applied in numpy float64.  Any
other noise (spec-file and numeric noises, mixtures, other joint laws): :func:`make_torch_bank`
returns ``None`` and a reason, and the engine uses the numpy/numba banks.

Precision.  The arithmetic on draws runs in the storage dtype (float64 default, float32
allowed); the sums over coordinates are accumulated in float64 (``sum(dtype=float64)``, any
order).  The shift ``a = lam v / scale`` is split into ``hi + lo`` in the dtype so that
``z - a`` is computed to ``2u |z - a| + O(u^2 |a|)``.  The rounding bound ``eta`` per scale
covers: the argument error (the family's elasticity ``|z (log q)'| <= E |log q|`` times the
relative error, plus a modulus-of-continuity term for the absolute part), the evaluation error
of the log-density formula (a few ulps of its value, ``u`` = the dtype's unit roundoff), and the
float64 summation of k terms in any order, ``(k + 2) u64 sum|terms|`` -- everything doubled.
A float64 accumulator keeps ``eta`` usable in float32 at large d (a float32 tree sum would
cost ``(k + 2) u32 sum|terms|``, about 1e3 at d = 150528); the float32 terms still cost
``~ 10 u32 sum|log q|``, about 0.1 for a dense direction at d = 150528 (see the docs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from unicr.devices import resolve_device
from unicr.errors import InvalidParameterError
from unicr.neyman_pearson.banks import (
    DirectionMemo,
    _ModelBase,
    _ProductModel,
    _UniformThresholdModel,
    column_edges,
    radial_profile_matches,
)
from unicr.neyman_pearson.direction import Direction
from unicr.neyman_pearson.kernels import check_points
from unicr.noises.base import CompiledLogDensity, Noise, ProductNoise

__all__ = [
    "torch_available",
    "cuda_available",
    "resolve_device",
    "make_torch_bank",
    "TorchProductBank",
    "TorchJointBank",
]

#: elements per generated block (32 MiB of float64): large enough to keep a GPU busy
BLOCK_ELEMS = 1 << 22
_U64 = 2.0**-53  # float64 unit roundoff
_SEED_KEY = 0x746F7263  # 'torc': the torch banks' draws are a stream apart from the numpy banks'
_SAFETY = 2.0  # every rounding bound is doubled


# ---------------------------------------------------------------------------
# torch and devices
# ---------------------------------------------------------------------------


def torch_available() -> bool:
    """True when ``import torch`` works."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def cuda_available() -> bool:
    """True when torch is importable and sees a CUDA device."""
    if not torch_available():
        return False
    import torch

    return bool(torch.cuda.is_available())


def _torch_dtype(dtype: Any) -> Any:
    import torch

    dt = np.dtype(dtype)
    if dt == np.float64:
        return torch.float64
    if dt == np.float32:
        return torch.float32
    raise InvalidParameterError(f"dtype must be float64 or float32, got {dtype!r}")


def _unit_roundoff(tdtype: Any) -> float:
    import torch

    return float(torch.finfo(tdtype).eps) / 2.0


def _generator(ss: np.random.SeedSequence, device: Any, *key: int) -> Any:
    """A ``torch.Generator`` on ``device`` seeded from the child ``key`` of ``ss``.

    ``None`` on PyTorch's ``meta`` device (tests: shapes only, no random numbers)."""
    import torch

    if device.type == "meta":
        return None
    child = np.random.SeedSequence(entropy=ss.entropy,
                                   spawn_key=tuple(ss.spawn_key) + (_SEED_KEY,) + key)
    seed = int(child.generate_state(1, np.uint64)[0])
    g = torch.Generator(device=device)
    g.manual_seed(seed)
    return g


def _split(a: np.ndarray, np_dtype: np.dtype) -> tuple[np.ndarray, np.ndarray | None]:
    """``a`` (float64) as ``hi + lo`` in ``np_dtype`` (``lo`` None for float64)."""
    if np_dtype == np.float64:
        return a, None
    hi = a.astype(np_dtype)
    lo = (a - hi.astype(np.float64)).astype(np_dtype)  # a - hi is exact (Sterbenz)
    return hi, lo


def _big(tdtype: Any) -> float:
    import torch

    return 1e150 if tdtype == torch.float64 else 1e15


def _check_family(noise: ProductNoise, fam: CompiledLogDensity, device: Any, tdtype: Any
                  ) -> str | None:
    """Cross-check the family's torch formula against ``noise.logpdf`` (like
    ``kernels.kernel_for``): float64 on the device at points from the centre to far in the
    tails (relative tolerance 1e-9), and in the storage dtype where it can represent them
    (tolerance 1e-5 for float32).  Also checks ``log q <= 0`` (the rounding bound uses it).
    Returns a reason or None."""
    import torch

    s = float(noise.scale)
    z = check_points(noise)
    ref = np.asarray(noise.logpdf(z * s), dtype=np.float64) - float(noise.logpdf(np.array(0.0)))
    checks = [(torch.float64, np.ones(z.size, dtype=bool), 1e-9)]
    if tdtype != torch.float64:
        checks.append((tdtype, np.abs(z) <= 1e30, 1e-5))
    for dt, sel, tol in checks:
        zt = torch.as_tensor(z[sel], dtype=dt, device=device)
        mine = fam.logq_torch(zt, _big(dt)).to(torch.float64).cpu().numpy()
        mine0 = float(fam.logq_torch(torch.zeros(1, dtype=dt, device=device), _big(dt))
                      .to(torch.float64).cpu()[0])
        r = ref[sel]
        with np.errstate(invalid="ignore"):
            diff = mine - mine0
            both_inf = (r == diff) & np.isinf(r)
            ok = both_inf | (np.abs(r - diff) <= tol * (1.0 + np.abs(r)))
        if not bool(np.all(ok)):
            return (f"{noise.name}: the torch log-density does not reproduce logpdf "
                    f"(dtype {str(dt).replace('torch.', '')})")
        if not bool(np.all(mine <= 0.0)):
            return f"{noise.name}: torch log-density is positive somewhere"
    return None


# ---------------------------------------------------------------------------
# product noise
# ---------------------------------------------------------------------------


class TorchProductBank:
    """I.i.d. noise of a closed-form family, ``n`` rows x ``d`` columns, on a torch device.

    The torch counterpart of :class:`~unicr.neyman_pearson.banks.ProductBank` (same column blocks,
    each column block cut into row chunks of about ``block_elems`` elements); block ``(b, c)``
    (column block b, row chunk c) is drawn on the device from its own generator.  Build it with
    :func:`make_torch_bank` (which runs the density cross-check).
    """

    spherical = False

    def __init__(self, noise: ProductNoise, n: int, d: int, seed: np.random.SeedSequence,
                 dtype: Any, memory_budget: int, device: Any, fam: CompiledLogDensity,
                 block_elems: int = BLOCK_ELEMS):
        import torch

        self.noise = noise
        self.n = int(n)
        self.d = int(d)
        self.seed = seed
        self.np_dtype = np.dtype(dtype)
        self.dtype = _torch_dtype(dtype)
        self.device = torch.device(device)
        self.budget = int(memory_budget)
        self.fam = fam
        self.u = _unit_roundoff(self.dtype)
        self.big = _big(self.dtype)
        self.symmetric = True
        self.edges = edges = column_edges(self.d)
        be = max(1, int(block_elems))
        #: rows per chunk of each column block (independent of n: a smaller bank from the same
        #: seed holds a prefix of the draws, up to its last chunk)
        self.rows = [max(1, be // (b1 - b0)) for b0, b1 in zip(edges[:-1], edges[1:])]
        self._cache: dict[tuple[int, int], tuple[Any, float]] = {}
        self._bytes = 0
        self._work: tuple[Any, Any, Any] | None = None
        self._work64: Any = None
        self._thresholds = DirectionMemo()

    def _workspace(self, shape: tuple[int, int]) -> tuple[Any, Any, Any]:
        """Views of shape ``shape`` into three preallocated scratch buffers (value, scratch,
        mask) of the largest block's size."""
        import torch

        if self._work is None:
            size = max(min(self.n, r) * (b1 - b0)
                       for r, b0, b1 in zip(self.rows, self.edges[:-1], self.edges[1:]))
            self._work = (torch.empty(size, dtype=self.dtype, device=self.device),
                          torch.empty(size, dtype=self.dtype, device=self.device),
                          torch.empty(size, dtype=torch.bool, device=self.device))
            if self.dtype != torch.float64 and self.device.type == "cpu":
                # torch's CPU sum(dtype=float64) of float32 is slow: copy to float64, then sum
                self._work64 = torch.empty(size, dtype=torch.float64, device=self.device)
        cnt = shape[0] * shape[1]
        return tuple(w[:cnt].view(shape) for w in self._work)  # type: ignore[return-value]

    def _rowsum64(self, x: Any) -> Any:
        """Row sums of ``x`` (a workspace view) accumulated in float64."""
        import torch

        if x.dtype == torch.float64:
            return x.sum(dim=1)
        if self._work64 is not None:
            return self._work64[: x.numel()].view(x.shape).copy_(x).sum(dim=1)
        return x.sum(dim=1, dtype=torch.float64)

    def chunks(self, b: int) -> list[tuple[int, int]]:
        """Row ranges ``(r0, r1)`` of the chunks of column block ``b``."""
        r = self.rows[b]
        return [(r0, min(self.n, r0 + r)) for r0 in range(0, self.n, r)]

    def block(self, b: int, c: int) -> Any:
        """Standardised draws ``Z`` of block (column block b, row chunk c) on the device."""
        return self._block(b, c)[0]

    def _block(self, b: int, c: int) -> tuple[Any, float]:
        """``(Z, max |Z|)`` of block (b, c); the maximum decides the overflow-free formula."""
        key = (b, c)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        r0, r1 = self.chunks(b)[c]
        w = self.edges[b + 1] - self.edges[b]
        g = _generator(self.seed, self.device, b, c)
        z = self.noise._sample1_torch((r1 - r0, w), g, self.device, self.dtype)
        zmax = math.inf if z.device.type == "meta" else float(z.abs().max())
        nbytes = z.element_size() * z.numel()
        if self._bytes + nbytes <= self.budget:
            self._cache[key] = (z, zmax)
            self._bytes += nbytes
        return z, zmax

    def draws(self, b: int, c: int) -> np.ndarray:
        """Block (b, c) as numpy float64 noise values ``eps = scale * Z`` (for checks)."""
        import torch

        z = self.block(b, c).to(torch.float64).cpu().numpy()
        return z * float(self.noise.scale)

    def model(self, direction: Direction) -> _ProductModel:
        if direction.full:
            raise InvalidParameterError("TorchProductBank needs a canonical (support-first) "
                                        "direction")
        if self.fam.indicator:
            return _UniformThresholdModel(self, direction)
        return _ProductModel(self, direction)

    def uniform_thresholds(self, values: np.ndarray) -> np.ndarray:
        """Uniform noise on ``[-s, s]``: per draw ``T = s min_j (1 + sign(v_j) Z_j) / |v_j|``
        over ``v_j != 0`` (float64, on the device), so that ``L_X(lam) = 0`` iff ``lam <= T``,
        else ``-inf`` -- the same losses as the coordinate-wise sum, O(n) per scale after one
        pass per direction (read by ``models._UniformThresholdModel``)."""
        return self._thresholds.get(values, lambda: self._uniform_thresholds(values))

    def _uniform_thresholds(self, values: np.ndarray) -> np.ndarray:
        import torch

        k = values.size
        t_row = torch.full((self.n,), math.inf, dtype=torch.float64, device=self.device)
        for b in range(len(self.edges) - 1):
            lo_b = self.edges[b]
            if lo_b >= k:
                break
            w = min(self.edges[b + 1], k) - lo_b
            v = values[lo_b:lo_b + w]
            nzv = v != 0.0
            if not np.any(nzv):
                continue
            idx = torch.as_tensor(np.flatnonzero(nzv), device=self.device)
            sgn = torch.as_tensor(np.sign(v[nzv]), dtype=torch.float64, device=self.device)
            inv = torch.as_tensor(1.0 / np.abs(v[nzv]), dtype=torch.float64, device=self.device)
            for c, (r0, r1) in enumerate(self.chunks(b)):
                z = self.block(b, c)[:, :w].index_select(1, idx).to(torch.float64)
                tb = z.mul_(sgn).add_(1.0).mul_(inv).amin(dim=1)
                torch.minimum(t_row[r0:r1], tb, out=t_row[r0:r1])
        return t_row.mul_(float(self.noise.scale)).cpu().numpy()

    def _shifts(self, values: np.ndarray, lams: np.ndarray) -> tuple[Any, Any | None, np.ndarray]:
        """Standardised shifts ``a = lam v / scale`` as device tensors ``hi (+ lo)``, (m, k)."""
        import torch

        a = (lams[:, None] * values[None, :]) / float(self.noise.scale)
        hi, lo = _split(a, self.np_dtype)
        th = torch.as_tensor(np.ascontiguousarray(hi), device=self.device)
        tl = None if lo is None else torch.as_tensor(np.ascontiguousarray(lo), device=self.device)
        return th, tl, a

    def device_pass(self, hi: Any, lo: Any | None, amax_cols: np.ndarray | None = None
                    ) -> tuple[Any, Any]:
        """One pass over the draws for m shifts (rows of ``hi``/``lo``, shape (m, k)): returns
        ``S1[t, i] = sum_j log q(Z_ij - a_tj)`` (m, n) and ``S0[i] = sum_j log q(Z_ij)`` (n,),
        float64 tensors on the device (no host transfer).  ``amax_cols``: ``max_t |a_tj|``
        per column (host), which lets overflow-free formulas skip their large-argument branch."""
        import torch

        m, k = hi.shape
        s1 = torch.zeros((m, self.n), dtype=torch.float64, device=self.device)
        s0 = torch.zeros(self.n, dtype=torch.float64, device=self.device)
        logq_, big = self.fam.logq_torch_, self.big
        for b in range(len(self.edges) - 1):
            lo_b = self.edges[b]
            if lo_b >= k:
                break
            w = min(self.edges[b + 1], k) - lo_b
            hb = hi[:, lo_b:lo_b + w]
            lb = None if lo is None else lo[:, lo_b:lo_b + w]
            # |Z - a| <= max|Z| + max|a| (+ rounding): decided on the host, no device sync
            amax = float(amax_cols[lo_b:lo_b + w].max()) if amax_cols is not None else math.inf
            for c, (r0, r1) in enumerate(self.chunks(b)):
                z, zmax = self._block(b, c)
                z = z[:, :w]
                x, sc, mk = self._workspace((r1 - r0, w))
                x.copy_(z)
                s0[r0:r1] += self._rowsum64(logq_(x, sc, mk, big, self.fam.small(zmax, big)))
                small = self.fam.small(zmax + amax, big)
                for t in range(m):
                    torch.sub(z, hb[t], out=x)
                    if lb is not None:
                        x.sub_(lb[t])
                    s1[t, r0:r1] += self._rowsum64(logq_(x, sc, mk, big, small))
        return s1, s0

    def losses(self, values: np.ndarray, lams: Sequence[float]
               ) -> tuple[np.ndarray, None, np.ndarray]:
        lams = np.asarray(lams, dtype=np.float64)
        values = np.asarray(values, dtype=np.float64)
        k = values.size
        hi, lo, a = self._shifts(values, lams)
        s1_t, s0_t = self.device_pass(hi, lo, np.max(np.abs(a), axis=0, initial=0.0))
        s1 = s1_t.cpu().numpy()
        s0 = s0_t.cpu().numpy()
        with np.errstate(invalid="ignore"):
            lx = s1 - s0[None, :]  # NaN (a draw outside the support) is left to lr's sanitising
        # every log q is <= 0: sum_j (|log q(z1_j)| + |log q(z0_j)|) = |S1| + |S0| (1% slack
        # for the rounding of the two sums); rows with S1 = -inf are exact (zero density)
        fin = np.isfinite(s1) & np.isfinite(s0)[None, :]
        mag = 1.01 * np.max(np.where(fin, np.abs(s1) + np.abs(s0)[None, :], 0.0), axis=1,
                            initial=0.0)
        return lx, None, self.eta(mag, a, k)

    def eta(self, mag: np.ndarray, a: np.ndarray, k: int) -> np.ndarray:
        """Rounding bound per scale (module docstring): ``mag`` = max over draws of
        ``sum_j |log q(z1_j)| + |log q(z0_j)|``, ``a`` the (m, k) standardised shifts."""
        u, f = self.u, self.fam
        # z1 = Z - hi - lo: relative error 2.01 u, absolute (2.1 u64 + 3 u^2) |a| (the float64
        # product lam v / scale and the dtype split)
        amax = np.max(np.abs(a), axis=1, initial=0.0)
        delta = 1.01 * (2.1 * _U64 + 3.0 * u * u) * amax
        out = np.empty(a.shape[0])
        for t in range(a.shape[0]):
            rel_c, abs_c = f.continuity(float(delta[t]))
            rel = (1.1 * f.elastic * 2.01 * u + rel_c + f.c_eval * u + (k + 2) * _U64 + _U64)
            out[t] = _SAFETY * (rel * mag[t] + k * abs_c)
        return out


# ---------------------------------------------------------------------------
# norm-radial joint noise
# ---------------------------------------------------------------------------


def _check_radial(noise: Any) -> str | None:
    """The radial profile reproduces ``logpdf`` (guards ``log_radial``), and a torch sampler
    exists.  Returns a reason or None."""
    p = float(noise.norm_p)
    if p not in (1.0, 2.0, math.inf):
        return f"{noise.name}: torch joint bank supports l1, l2 and l_inf radial noise, not p = {p}"
    if not radial_profile_matches(noise):
        return f"{noise.name}: its radial profile does not reproduce logpdf"
    return None


class TorchJointBank:
    """Norm-radial joint noise ``f(||x||_p / scale)`` on a torch device, rows of d coordinates.

    The torch counterpart of :class:`~unicr.neyman_pearson.banks.JointBank` for
    ``RadialJointNoise`` (Yang et al. 2020's UniformBall, Exp1, Exp2, ExpInf, Pow2): row chunk
    ``c`` is drawn with ``noise.sample_torch`` on the device from its own generator; the norms
    ``||eps - lam u||_p`` are reduced on the device (float64 accumulation) and only the n norms
    go to the host, where ``noise.log_radial`` gives the log densities.
    """

    spherical = False

    def __init__(self, noise: Any, n: int, seed: np.random.SeedSequence, dtype: Any,
                 memory_budget: int, device: Any, block_elems: int = BLOCK_ELEMS):
        import torch

        self.noise = noise
        self.n = int(n)
        self.d = int(noise.d)
        self.p = float(noise.norm_p)
        self.seed = seed
        self.np_dtype = np.dtype(dtype)
        self.dtype = _torch_dtype(dtype)
        self.device = torch.device(device)
        self.budget = int(memory_budget)
        self.u = _unit_roundoff(self.dtype)
        self.symmetric = True  # norms are even functions
        self.rows = max(1, int(block_elems) // self.d)
        self._cache: dict[int, Any] = {}
        self._bytes = 0
        self._r0: np.ndarray | None = None  # ||eps||_p per draw (host, float64)

    def chunks(self) -> list[tuple[int, int]]:
        return [(r0, min(self.n, r0 + self.rows)) for r0 in range(0, self.n, self.rows)]

    def block(self, c: int) -> Any:
        hit = self._cache.get(c)
        if hit is not None:
            return hit
        r0, r1 = self.chunks()[c]
        g = _generator(self.seed, self.device, c)
        e = self.noise.sample_torch(r1 - r0, generator=g, device=self.device, dtype=self.dtype)
        nbytes = e.element_size() * e.numel()
        if self._bytes + nbytes <= self.budget:
            self._cache[c] = e
            self._bytes += nbytes
        return e

    def draws(self, c: int) -> np.ndarray:
        """Row chunk c as numpy float64 (for checks)."""
        import torch

        return self.block(c).to(torch.float64).cpu().numpy()

    def model(self, direction: Direction) -> _TorchJointModel:
        return _TorchJointModel(self, direction.vector(self.d))

    def _norm(self, x: Any) -> Any:
        import torch

        if math.isinf(self.p):
            return x.abs().amax(dim=1).to(torch.float64)
        if self.p == 1.0:
            return x.abs().sum(dim=1, dtype=torch.float64)
        return torch.linalg.vector_norm(x, 2, dim=1, dtype=torch.float64)

    def _rho(self) -> float:
        """Relative error of a float64 norm reduction of d exact terms (+ division by scale)."""
        if math.isinf(self.p):
            return _U64
        if self.p == 1.0:
            return (self.d + 2) * _U64
        return ((self.d + 2) / 2.0 + 3.0) * _U64

    def device_pass(self, hi: Any, lo: Any | None) -> Any:
        """``||eps_i - a_t||_p`` for the m shifts (rows of ``hi``/``lo``, (m, d)): an (m, n)
        float64 tensor on the device (no host transfer)."""
        import torch

        m = hi.shape[0]
        out = torch.empty((m, self.n), dtype=torch.float64, device=self.device)
        work = None
        for c, (r0, r1) in enumerate(self.chunks()):
            e = self.block(c)
            if work is None or work.numel() < e.numel():
                work = torch.empty(e.numel(), dtype=e.dtype, device=self.device)
            x = work[: e.numel()].view(e.shape)
            for t in range(m):
                torch.sub(e, hi[t], out=x)
                if lo is not None:
                    x.sub_(lo[t])
                out[t, r0:r1] = self._norm(x)
        return out

    def base_norms(self) -> np.ndarray:
        """``||eps_i||_p`` (host float64), computed once."""
        import torch

        if self._r0 is None:
            r0 = torch.empty(self.n, dtype=torch.float64, device=self.device)
            for c, (a, b) in enumerate(self.chunks()):
                r0[a:b] = self._norm(self.block(c))
            self._r0 = r0.cpu().numpy()
        return self._r0

    def losses(self, u: np.ndarray, lams: Sequence[float]
               ) -> tuple[np.ndarray, None, np.ndarray]:
        import torch

        lams = np.asarray(lams, dtype=np.float64)
        nz = self.noise
        s = float(nz.scale)
        a = lams[:, None] * np.asarray(u, dtype=np.float64)[None, :]
        hi, lo = _split(a, self.np_dtype)
        th = torch.as_tensor(np.ascontiguousarray(hi), device=self.device)
        tl = None if lo is None else torch.as_tensor(np.ascontiguousarray(lo), device=self.device)
        r1 = self.device_pass(th, tl).cpu().numpy()
        r0 = self.base_norms()
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            h1 = np.asarray(nz.log_radial(r1 / s), dtype=np.float64)
            h0 = np.asarray(nz.log_radial(r0 / s), dtype=np.float64)
            lx = h1 - h0[None, :]
        # norms: relative error 2.01 u (the dtype's z - hi - lo) + the float64 reduction;
        # absolute (2.1 u64 + 3 u^2) ||a||_p (the shift's rounding; ||a||_p <= ||a||_1)
        anorm = np.sum(np.abs(a), axis=1)
        rho1 = 1.01 * (2.01 * self.u + self._rho())
        abs1 = 1.01 * (2.1 * _U64 + 3.0 * self.u * self.u) * anorm
        rho0 = 1.01 * self._rho()
        base = float(np.max(self._spread(r0, h0, rho0, 0.0), initial=0.0))
        eta = np.empty(len(lams))
        for t in range(len(lams)):
            sp = self._spread(r1[t], h1[t], rho1, float(abs1[t]))
            fin = lx[t][np.isfinite(lx[t])]
            eta[t] = _SAFETY * (float(np.max(sp, initial=0.0)) + base
                                + 2.0 * _U64 * float(np.max(np.abs(fin), initial=0.0)))
        return lx, None, eta

    def _spread(self, r: np.ndarray, h: np.ndarray, rho: float, absr: float) -> np.ndarray:
        """Error of ``h = log f(r / scale)`` when ``r`` is off by ``rho r + absr``: the profile
        at both ends of the interval (radial profiles are monotone) plus 16 ulps of h for its
        evaluation.  Discontinuities (the uniform ball's boundary) are not covered
        (models.py)."""
        nz = self.noise
        s = float(nz.scale)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            hp = np.asarray(nz.log_radial((r * (1.0 + rho) + absr) / s), dtype=np.float64)
            hm = np.asarray(nz.log_radial(np.maximum(r * (1.0 - rho) - absr, 0.0) / s),
                            dtype=np.float64)
            dh = np.maximum(np.abs(hp - h), np.abs(hm - h))
            out = np.where(np.isfinite(dh), dh, 0.0) + 16 * _U64 * np.where(np.isfinite(h),
                                                                              np.abs(h), 0.0)
        return out


class _TorchJointModel(_ModelBase):
    def __init__(self, bank: TorchJointBank, u: np.ndarray):
        self.bank = bank
        self.u = u
        self.n = bank.n
        self.what = "the given direction"

    def losses(self, lams: Sequence[float]) -> tuple[np.ndarray, None, np.ndarray]:
        return self.bank.losses(self.u, lams)


# ---------------------------------------------------------------------------
# factory
# ---------------------------------------------------------------------------


def make_torch_bank(noise: Noise, n: int, d: int, seed: np.random.SeedSequence, dtype: Any,
                    memory_budget: int, device: Any, block_elems: int = BLOCK_ELEMS
                    ) -> tuple[TorchProductBank | TorchJointBank | None, str | None]:
    """The torch bank for ``noise`` on ``device``, or ``(None, reason)`` when it has none.

    Torch banks exist for the closed-form product families (cross-checked against ``logpdf``)
    and for norm-radial joint noise (``RadialJointNoise``, p in {1, 2, inf}); the caller falls
    back to the numpy banks otherwise.
    """
    if not torch_available():
        return None, "torch is not importable"
    import torch

    dev = device if isinstance(device, torch.device) else resolve_device(device)
    tdtype = _torch_dtype(dtype)
    if isinstance(noise, ProductNoise):
        fam = noise.compiled_logq()
        if fam is None:
            return None, (f"{noise.name}: no torch log-density (its compiled_logq() is None; "
                          "the closed-form families of unicr.noises.families declare one)")
        if not noise.symmetric:
            return None, f"{noise.name}: asymmetric product noise has no torch bank"
        why = _check_family(noise, fam, dev, tdtype)
        if why is not None:
            return None, why
        return TorchProductBank(noise, n, d, seed, dtype, memory_budget, dev, fam,
                                block_elems), None
    from unicr.noises.joint import RadialJointNoise

    if isinstance(noise, RadialJointNoise):
        why = _check_radial(noise)
        if why is not None:
            return None, why
        try:
            noise.sample_torch(2, generator=_generator(seed, dev, 2**31), device=dev,
                               dtype=tdtype)
        except NotImplementedError:
            return None, f"{noise.name}: no torch sampler"
        return TorchJointBank(noise, n, seed, dtype, memory_budget, dev, block_elems), None
    return None, (f"{noise.name}: no torch implementation of this joint noise (only "
                  "norm-radial joint noise)")
