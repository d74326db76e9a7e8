"""Coverage trials: how often does Smooth.certify print a radius beyond the true one?

Classifiers whose smoothed probability pA is known exactly, and whose smoothed decision
boundary is known (docs/concepts.md, "Tests that guard the contract"):

* a linear classifier under Gaussian noise: pA = Phi(margin / (sigma ||w||)); the tight l2
  radius at the true pA is exactly the distance margin / ||w|| to the hyperplane;
* an axis threshold 1{x_0 > 0} under uniform and Laplace noise: pA = (x_0 + lam) / (2 lam)
  and 1 - exp(-x_0 / lam) / 2; the tight l1 radii 2 lam (pA - 1/2) (Yang et al. 2020) and
  -lam ln(2 (1 - pA)) (Teng et al. 2020) equal x_0 at the true pA.

A certificate is false when it names the wrong class or its radius exceeds the true distance.
Over T seeded runs the number of false certificates must be binomial with the exact
probability q of the pipeline's statistics (computed by enumerating the count k of the
estimation sample), and q <= alpha.  Everything runs through the real sampling code
(noise drawn with torch generators, batched forward passes, eval-mode checks).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats as sst

from unicr.noises.registry import build_builtin
from unicr.smoothing import ABSTAIN, Smooth, certify_from_counts

ALPHA = 0.05
TRIALS = 2000
N0, N = 50, 300


class Linear(torch.nn.Module):
    """Two or three classes: class 1 iff w.x + b > 0; a third class that never wins."""

    def __init__(self, w: torch.Tensor, b: float, classes: int = 2):
        super().__init__()
        self.register_buffer("w", w)
        self.b = b
        self.classes = classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x.flatten(1) @ self.w + self.b
        cols = [torch.zeros_like(z), z]
        if self.classes == 3:
            cols.append(torch.full_like(z, -1e9))
        return torch.stack(cols, 1)


class Oracle:
    """Tight closed-form radius of the case (independent of the library's engines)."""

    alpha = 0.0

    def __init__(self, kind: str, scale: float):
        self.kind, self.scale = kind, scale

    def __call__(self, pa: float, pb: float | None, norm: float) -> float:
        s = self.scale
        if self.kind == "gaussian":
            if pb is None:
                return s * float(sst.norm.ppf(pa))
            return 0.5 * s * float(sst.norm.ppf(pa) - sst.norm.ppf(pb))
        if self.kind == "uniform":
            assert pb is None
            return 2.0 * s * (pa - 0.5)
        assert self.kind == "laplace" and pb is None
        return -s * math.log(2.0 * (1.0 - pa))

    def describe(self) -> dict:
        return {"provider": "oracle", "kind": self.kind}


def _case(kind: str, pa_true: float, classes: int = 2):
    d = 5
    if kind == "gaussian":
        nz = build_builtin("gaussian", sigma=0.7)
        w = torch.tensor([0.5, -1.0, 2.0, 0.25, 1.5])
        wn = float(torch.linalg.norm(w))
        margin = nz.scale * wn * float(sst.norm.ppf(pa_true))
        x = (margin / wn**2) * w  # b = 0: w.x = margin
        model = Linear(w, 0.0, classes)
        dist = margin / wn
        norm = 2
    else:
        nz = build_builtin(kind, sigma=0.4)
        lam = nz.scale
        x0 = lam * (2 * pa_true - 1) if kind == "uniform" else -lam * math.log(2 * (1 - pa_true))
        x = torch.zeros(d)
        x[0] = x0
        model = Linear(torch.eye(d)[0], 0.0, classes)
        dist = x0
        norm = 1
    return nz, model, x, dist, norm


def _exact_false_rate(radius, pa_true: float, dist: float, classes: int,
                      mode: str, runner_up: str, norm: float = 2) -> float:
    """P(false certificate) for a correct selection, by enumerating k ~ Bin(N, pA)."""
    q = 0.0
    sel = np.zeros(classes, dtype=np.int64)
    sel[1] = N0
    ks = np.arange(N + 1)
    pmf = sst.binom.pmf(ks, N, pa_true)
    for k in ks[pmf > 1e-15]:  # the rest cannot move q by more than 1e-12
        counts = np.zeros(classes, dtype=np.int64)
        counts[1], counts[0] = k, N - k
        cert = certify_from_counts(sel, counts, ALPHA, [norm], radius, mode=mode,
                                   runner_up=runner_up)
        if not cert.abstain and cert.radius(norm) > dist:
            q += pmf[k]
    return q


CASES = [  # (noise, true pA, classes, mode, runner-up bound, trials, radius provider)
    ("gaussian", 0.8, 2, "binary", "plain", TRIALS, "oracle"),
    ("uniform", 0.75, 2, "binary", "plain", TRIALS, "oracle"),
    ("laplace", 0.85, 2, "binary", "plain", TRIALS, "oracle"),
    ("gaussian", 0.8, 3, "two-sided", "generalized", TRIALS, "oracle"),  # Feng Eq. 14
    # the default provider: unicr.radius(...).lower from the engines
    ("gaussian", 0.8, 2, "binary", "plain", TRIALS, "engine"),
    ("laplace", 0.85, 2, "two-sided", "plain", TRIALS, "engine"),
]


@pytest.mark.parametrize("kind,pa_true,classes,mode,runner_up,trials,provider", CASES)
def test_false_certificate_rate_is_binomial_within_alpha(kind, pa_true, classes, mode, runner_up,
                                                         trials, provider):
    nz, model, x, dist, norm = _case(kind, pa_true, classes)
    oracle = Oracle(kind, nz.scale)
    smooth = Smooth(model, nz, num_classes=classes, input_shape=(5,),
                    radius=oracle if provider == "oracle" else None)
    # sanity of the construction: at the true pA the tight radius is the true distance
    assert oracle(pa_true, None, norm) == pytest.approx(dist, rel=1e-9)
    assert smooth.radius_provider(pa_true, None, norm) == pytest.approx(dist, rel=1e-6)
    false = certified = 0
    for seed in range(trials):
        cert = smooth.certify(x, N0, N, ALPHA, norms=[norm], seed=seed, batch_size=N,
                              mode=mode, runner_up=runner_up)
        if cert.prediction == ABSTAIN:
            continue
        certified += 1
        if cert.prediction != 1 or cert.radius(norm) > dist:
            false += 1
    q = _exact_false_rate(smooth.radius_provider, pa_true, dist, classes, mode, runner_up, norm)
    assert 0.01 < q <= ALPHA  # the statistics are sound and the trial is not trivial
    lo, hi = sst.binom.interval(1 - 1e-4, trials, q)
    assert lo <= false <= hi, (false, q * trials)
    assert certified > trials // 2  # the certifier is not vacuous


def test_a_radius_inflated_by_ten_percent_is_caught():
    """The same trial detects a certifier whose radii are 10% too large."""
    nz, model, x, dist, norm = _case("gaussian", 0.8)
    oracle = Oracle("gaussian", nz.scale)

    class Inflated(Oracle):
        def __call__(self, pa, pb, p):
            return 1.1 * super().__call__(pa, pb, p)

    smooth = Smooth(model, nz, num_classes=2, input_shape=(5,), radius=Inflated("gaussian",
                                                                                 nz.scale))
    false = sum(
        1 for seed in range(TRIALS // 2)
        if (c := smooth.certify(x, N0, N, ALPHA, norms=[2], seed=seed, batch_size=N)).prediction
        != ABSTAIN and c.radius(2) > dist
    )
    q = _exact_false_rate(oracle, pa_true=0.8, dist=dist, classes=2, mode="binary",
                          runner_up="plain")
    _, hi = sst.binom.interval(1 - 1e-4, TRIALS // 2, q)
    assert false > hi
