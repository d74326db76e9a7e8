"""A brute-force referee for the tight radius of a 1-D noise, independent of unicr's engines.

In one dimension every l_p norm is |delta|, and the tight radius is

    R* = inf{ |a| : the shift a fails the Neyman-Pearson test }

(Hong et al. 2022, Theorem 1; binary: fails iff T_a(pA) <= 1/2, where T_a(p) is the
smallest Y-mass of a set of X-mass p, X ~ q, Y ~ q(. - a)).  The referee computes T_a on
a fine grid of cells, by brute force:

* cells: a sinh-spaced grid (linear near the centre, logarithmic in the tails, so heavy
  tails are covered out to |z| ~ 1e9 scale units), with nodes at every declared jump of the
  density and at every jump shifted by a, so that no cell straddles a discontinuity;
* X- and Y-masses of every cell by 4-point Gauss-Legendre quadrature of the test's own
  numpy density (no CDF, no code of unicr);
* T_a(pA): sort the cells by likelihood ratio y/m and fill X-mass pA, the last cell
  fractionally (the randomised Neyman-Pearson set of the discretised pair).

Merging each cell into one atom is post-processing, so the discrete T_a is >= the true
one: the referee's radius can only err upwards, by the resolution of the grid (checked in
the tests against Cohen's and Teng's closed forms to ~1e-6 relative).  Shifts are scanned
on a grid from 0 and the first failing cell of the scan is bisected, for both signs; no
monotonicity in a is assumed beyond the scan's resolution.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

_GL_X, _GL_W = np.polynomial.legendre.leggauss(4)


@dataclass
class Density:
    """One test density: a numpy log-density (unnormalised), its support and its jumps.

    ``spec``: the same density as a unicr spec expression in ``x`` (or None);
    ``noise``: a callable returning the unicr noise object for the engine (or None).
    """

    name: str
    logpdf: Callable[[np.ndarray], np.ndarray]
    lo: float = -math.inf
    hi: float = math.inf
    jumps: Sequence[float] = ()
    spec: str | None = None
    noise: Callable[[], object] | None = None
    width: float = 1.0           # centre width c of the sinh grid
    centre: float = 0.0
    tags: tuple[str, ...] = field(default_factory=tuple)

    def nodes(self, n: int) -> np.ndarray:
        s_max = math.asinh(1e9)
        s = np.linspace(-s_max, s_max, n)
        z = self.centre + self.width * np.sinh(s)
        pts = [z, np.asarray(self.jumps, dtype=float)]
        for e in (self.lo, self.hi):
            if math.isfinite(e):
                pts.append(np.array([e]))
        z = np.unique(np.concatenate(pts))
        return z[(z >= self.lo) & (z <= self.hi)]


class Referee:
    """Brute-force Neyman-Pearson for one :class:`Density` (see the module docstring)."""

    def __init__(self, dens: Density, n_cells: int = 200_001):
        self.dens = dens
        self.base = dens.nodes(n_cells)
        # normalisation on the base grid
        m = self._cell_mass(self.base, 0.0)
        self.log_norm = math.log(float(m.sum()))

    def _pdf(self, z: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            f = np.asarray(self.dens.logpdf(z), dtype=float)
        f = np.where(np.isnan(f), -np.inf, f)
        inside = (z >= self.dens.lo) & (z <= self.dens.hi)
        return np.where(inside, np.exp(f), 0.0)

    def _cell_mass(self, z: np.ndarray, shift: float) -> np.ndarray:
        """int over each cell [z_i, z_i+1] of q(t - shift) dt (unnormalised)."""
        zl, zr = z[:-1], z[1:]
        half = 0.5 * (zr - zl)
        mid = 0.5 * (zr + zl)
        pts = mid[:, None] + half[:, None] * _GL_X[None, :]
        vals = self._pdf(pts - shift)
        return (vals * _GL_W[None, :]).sum(axis=1) * half

    def tradeoff(self, a: float, pa: float) -> float:
        """T_a(pA) of the discretised pair (an upper bound on the true one, up to rounding)."""
        z = self.base
        extra = [np.asarray(self.dens.jumps, dtype=float) + a]
        for e in (self.dens.lo, self.dens.hi):
            if math.isfinite(e):
                extra.append(np.array([e + a]))
        z = np.unique(np.concatenate([z, *extra]))
        z = z[(z >= self.dens.lo) & (z <= self.dens.hi)]
        norm = math.exp(self.log_norm)
        m = self._cell_mass(z, 0.0) / norm
        y = self._cell_mass(z, a) / norm
        ok = m > 0
        m, y = m[ok], y[ok]
        ratio = y / m
        order = np.argsort(ratio, kind="stable")
        m, y, ratio = m[order], y[order], ratio[order]
        cm = np.cumsum(m)
        cy = np.cumsum(y)
        j = int(np.searchsorted(cm, pa, side="left"))
        if j >= len(m):
            return float(cy[-1])
        prev_m = cm[j - 1] if j > 0 else 0.0
        prev_y = cy[j - 1] if j > 0 else 0.0
        return float(prev_y + (pa - prev_m) * ratio[j])

    def fails(self, a: float, pa: float) -> bool:
        return self.tradeoff(a, pa) <= 0.5

    def radius_one_sign(self, pa: float, sign: float, a_max: float, n_scan: int = 24,
                        rtol: float = 1e-7) -> float:
        """First failing |a| along one sign (inf if none up to a_max)."""
        grid = np.linspace(0.0, a_max, n_scan + 1)[1:]
        lo = 0.0
        hi = math.inf
        for a in grid:
            if self.fails(sign * a, pa):
                hi = float(a)
                break
            lo = float(a)
        if not math.isfinite(hi):
            return math.inf
        while hi - lo > rtol * hi:
            mid = 0.5 * (lo + hi)
            if self.fails(sign * mid, pa):
                hi = mid
            else:
                lo = mid
        return hi

    def radius(self, pa: float, a_max: float) -> float:
        """R*(pA) for binary pA (both signs)."""
        return min(self.radius_one_sign(pa, 1.0, a_max), self.radius_one_sign(pa, -1.0, a_max))


def sample(dens: Density, n: int, rng: np.random.Generator, n_cells: int = 200_001) -> np.ndarray:
    """Draws from ``dens`` by inverting its own cell-mass table (linear within a cell)."""
    ref = Referee(dens, n_cells)
    z = ref.base
    m = ref._cell_mass(z, 0.0)
    c = np.concatenate([[0.0], np.cumsum(m)])
    c /= c[-1]
    u = rng.random(n)
    i = np.clip(np.searchsorted(c, u, side="right") - 1, 0, len(m) - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(m[i] > 0, (u - c[i]) / (c[i + 1] - c[i]), 0.5)
    return z[i] + np.clip(f, 0.0, 1.0) * (z[i + 1] - z[i])
