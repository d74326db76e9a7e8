"""The Neyman-Pearson test of one lattice direction (exact engine, stage 2 of the data flow).

A lattice direction is a list of components ``(count, shift)``
(:data:`LatticeComponents`): ``count`` coordinates moved by ``shift`` (standardised units).
``[(k, a)]`` is the k-equal direction ``a (1, ..., 1, 0, ..., 0)``; ``[(k, a), (m, b)]`` a
two-level one.  The loss of the perturbation is the sum of the per-coordinate losses
(product noise), so its X-law is the convolution of the components' laws.

:class:`DirectionEvaluator` returns, for one perturbation, two discrete X-laws of the
total loss: a *less informative* one (merged atoms + chord lattice,
:func:`~unicr.neyman_pearson.lattice.chord_lattice`) whose tradeoff is an upper bound on
the true ``T`` -- it proves failure -- and a *more informative* one (split,
:func:`~unicr.neyman_pearson.lattice.split_lattice`) that proves passing.  The robustness
test is Theorem 1 of Hong et al. 2022: binary ``T(pA) > 1/2``, two-sided
``T(pA) > 1 - T(1 - pB)``.  Every bound carries the error of the discrete CDFs
(:attr:`Evaluation.err`: float rounding, FFT, wrap-around mass) to the safe side.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from unicr.neyman_pearson.lattice import (
    LatticeLaw,
    chord_lattice,
    compose,
    lattice_range,
    split_lattice,
)
from unicr.neyman_pearson.tradeoff import (
    FLAT_TOL,
    LossAtoms,
    StdNoise,
    loss_atoms,
    loss_variance,
    p_star_discrete,
    tradeoff_discrete,
)

__all__ = ["DirectionEvaluator", "Evaluation", "LatticeComponents"]

#: A lattice direction as the exact engine's input form: components ``(count, shift)``,
#: ``count`` coordinates moved by ``shift`` (standardised units, the other coordinates 0).
#: ``[(k, a)]`` is the k-equal direction at scale ``a``; ``[(k, a), (m, ratio * a)]`` a
#: two-level one.  (The k-equal case as a unit direction is
#: :func:`unicr.neyman_pearson.direction.k_equal`; this form carries the scale too.)
LatticeComponents = Sequence[tuple[int, float]]


@dataclass
class Evaluation:
    """Bracketing discrete X-laws of the total loss of one perturbation.

    ``opt``: values/masses/``-inf`` mass of the less informative law (T_opt >= T);
    ``pes``: the more informative one (T_pes <= T); ``err``: bound on the absolute
    error of their CDFs (float rounding, FFT, wrap-around mass).
    """

    opt: tuple[np.ndarray, np.ndarray, float]
    pes: tuple[np.ndarray, np.ndarray, float] | None
    err: float
    h: float | None = None

    def p_star_fail(self, c: float | np.ndarray = 0.5) -> np.ndarray:
        """Lower bound on ``p* = T^{-1}(c)``: every ``pA <= p_star_fail`` fails at level ``c``."""
        x, w, mm = self.opt
        return p_star_discrete(x, w, mm, c) - 3.0 * self.err

    def p_star_pass(self, c: float | np.ndarray = 0.5) -> np.ndarray:
        """Upper bound on ``p*``: every ``pA > p_star_pass`` passes (1 if not computed)."""
        if self.pes is None:
            return np.ones_like(np.atleast_1d(np.asarray(c, dtype=float)))
        x, w, mm = self.pes
        return p_star_discrete(x, w, mm, c) + 3.0 * self.err

    def t_upper(self, p: float | np.ndarray) -> np.ndarray:
        """Upper bound on the tradeoff ``T(p)`` (inf where not available)."""
        x, w, mm = self.opt
        t = tradeoff_discrete(x, w, mm, p)
        return t + self.err * (2.0 + _slope(x, w, mm, p))

    def t_lower(self, p: float | np.ndarray) -> np.ndarray:
        """Lower bound on the tradeoff ``T(p)`` (0 if the pass-proving law was not computed)."""
        if self.pes is None:
            return np.zeros_like(np.atleast_1d(np.asarray(p, dtype=float)))
        x, w, mm = self.pes
        t = tradeoff_discrete(x, w, mm, p)
        return np.maximum(t - self.err * (2.0 + _slope(x, w, mm, p)), 0.0)

    def fails(self, pa: float, pb: float | None) -> bool:
        """Proven failure of the test (binary if ``pb`` is None, else two-sided)."""
        if pb is None:
            return bool(pa <= float(self.p_star_fail(0.5)[0]))
        tot = float(self.t_upper(pa)[0]) + float(self.t_upper(1.0 - pb)[0])
        return tot <= 1.0

    def passes(self, pa: float, pb: float | None) -> bool:
        """Proven pass of the test."""
        if pb is None:
            return bool(pa > float(self.p_star_pass(0.5)[0]))
        tot = float(self.t_lower(pa)[0]) + float(self.t_lower(1.0 - pb)[0])
        return tot > 1.0

    def margin(self, pa: float, pb: float | None) -> float:
        """A continuous fail score: >= 0 where the failure is proven."""
        if pb is None:
            return float(self.p_star_fail(0.5)[0]) - pa
        return 1.0 - float(self.t_upper(pa)[0]) - float(self.t_upper(1.0 - pb)[0])


def _slope(x: np.ndarray, w: np.ndarray, mm: float, p: float | np.ndarray) -> np.ndarray:
    p = np.atleast_1d(np.asarray(p, dtype=float))
    if len(x) == 0:
        return np.zeros_like(p)
    fx = mm + np.cumsum(w)
    j = np.minimum(np.searchsorted(fx, p, side="left"), len(x) - 1)
    return np.exp(np.minimum(x[j], 700.0))


def _align_h(atoms: list[LossAtoms], h: float) -> float:
    """Shrink ``h`` so that heavy point masses of the loss (flat pieces) sit on the lattice.

    The chord construction is second order only where the loss law has no isolated heavy
    atom between lattice points; Laplace noise has atoms atom ``+-a``.
    """
    groups: dict[float, list[float]] = {}  # rounded |value| -> [exact |value|, mass]
    for atom in atoms:
        narrow = (atom.hi - atom.lo <= FLAT_TOL * (1.0 + np.abs(atom.lo))) & np.isfinite(atom.loss)
        narrow &= atom.m > 1e-4
        for value, mass in zip(atom.loss[narrow], atom.m[narrow]):
            if abs(value) >= h:  # values below one lattice step cannot be aligned usefully
                key = float(np.round(abs(value), 12))
                group = groups.setdefault(key, [abs(float(value)), 0.0])
                group[1] += float(mass)
    if not groups:
        return h
    values = [group[0] for group in sorted(groups.values(), key=lambda group: -group[1])]
    base = values[0]
    first_n = max(1, math.ceil(base / h))
    for n in range(first_n, 4 * first_n + 1):
        spacing = base / n
        if all(abs(value / spacing - round(value / spacing)) < 1e-6 for value in values[1:]):
            return spacing
    return base / first_n  # in [h/2, h]: the heaviest atom atom least is aligned


class DirectionEvaluator:
    """The Neyman-Pearson test along structured directions, for one standardised noise.

    Parameters
    ----------
    std:
        the standardised noise.
    c_h:
        lattice spacing in units of the per-coordinate loss standard deviation divided by
        ``sqrt(total count)``... precisely ``h = c_h * sd(L) / sqrt(K)`` for a total of ``K``
        moved coordinates (the error of both discretisations is ``O(c_h^2)`` relative).
    c_h1:
        loss resolution of the fine atoms for single-coordinate directions (no lattice).
    eta:
        Chernoff wrap-around mass allowed per side of the FFT window.
    """

    def __init__(self, std: StdNoise, c_h: float = 0.03, c_h1: float = 1e-2, eta: float = 1e-15):
        self.std = std
        self.c_h = c_h
        self.c_h1 = c_h1
        self.eta = eta
        self.n_evals = 0
        self._coarse: dict[float, float] = {}

    def _loss_var(self, a: float) -> float:
        v = self._coarse.get(a)
        if v is None:
            v = loss_variance(self.std, a)
            if len(self._coarse) > 256:
                self._coarse.clear()
            self._coarse[a] = v
        return v

    def evaluate(self, direction: LatticeComponents, pessimistic: bool = True) -> Evaluation:
        """Bracketing laws of the total loss of ``direction`` (standardised shifts).

        ``pessimistic=False`` skips the pass-proving law (nothing can then be proven to pass).
        """
        self.n_evals += 1
        components = [(int(k), float(a)) for k, a in direction if k > 0 and a != 0.0]
        if not components:
            # no perturbation: the loss is 0 (T(p) = p)
            one = (np.zeros(1), np.ones(1), 0.0)
            return Evaluation(one, one, 0.0)
        total_k = sum(k for k, _ in components)
        fisher = self.std.fisher
        small = math.isfinite(fisher) and all(abs(a) * math.sqrt(fisher) < 0.05
                                              for _, a in components)
        variance_total = 0.0
        for k, a in components:
            if small:
                # small shifts: the loss is ~ a * score, variance ~ a^2 I (a guess for the
                # resolution only; the lattice uses the variance of the atoms below)
                variance_total += k * a * a * fisher
            else:
                variance_total += k * self._loss_var(a)
        # degenerate finite loss (e.g. uniform noise: loss 0 or +-inf): any spacing is exact
        sd = math.sqrt(variance_total) if variance_total > 1e-300 else math.sqrt(total_k)
        if len(components) == 1 and components[0][0] == 1:
            a = components[0][1]
            component_atoms = loss_atoms(self.std, a, self.c_h1 * max(sd, 1e-3))
            x, w, mm = component_atoms.merged()
            v, ww, mm2 = component_atoms.split_points()
            return Evaluation((x, w, mm), (v, ww, mm2), component_atoms.err)
        h = self.c_h * sd / math.sqrt(total_k)
        atoms = [loss_atoms(self.std, a, h) for _, a in components]
        if small:
            variance_atoms = sum(k * at.moments()[1] for (k, _), at in zip(components, atoms))
            if variance_atoms > 0:
                h = self.c_h * math.sqrt(variance_atoms) / math.sqrt(total_k)
        h = _align_h(atoms, h)
        optimistic_parts: list[tuple[LatticeLaw, int]] = []
        pessimistic_parts: list[tuple[LatticeLaw, int]] = []
        for (k, _a), component_atoms in zip(components, atoms):
            x, w, mm = component_atoms.merged()
            if len(x) == 0:
                jmin, jmax = 0, 1
            else:
                jmin, jmax = lattice_range(x, w, h, 1e-18 / total_k)
            chord = chord_lattice(x, w, h, jmin, jmax, mm)
            chord.err = component_atoms.err
            optimistic_parts.append((chord, k))
            if pessimistic:
                v, ww, mm2 = component_atoms.split_points()
                split = split_lattice(v, ww, h, jmin, jmax, mm2, mode="ratio")
                split.err = component_atoms.err
                pessimistic_parts.append((split, k))
        optimistic = compose(optimistic_parts, self.eta)
        if not pessimistic:
            return Evaluation(_law(optimistic), None, optimistic.err, h)
        pessimistic_law = compose(pessimistic_parts, self.eta)
        err = max(optimistic.err, pessimistic_law.err)
        return Evaluation(_law(optimistic), _law(pessimistic_law), err, h)


def _law(law: LatticeLaw) -> tuple[np.ndarray, np.ndarray, float]:
    """``(values, masses, mass at -inf)`` of a composed lattice law (the form :class:`Evaluation` keeps)."""
    return law.x, law.w, law.m_minus
