"""Smooth: PREDICT/CERTIFY statistics, independence of samples, eval mode, abstain, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sst

from unicr.certificate import Certificate
from unicr.errors import InvalidParameterError, UnicrError
from unicr.noises.base import ProductNoise
from unicr.noises.registry import build_builtin
from unicr.smoothing import (
    ABSTAIN,
    EngineRadius,
    Smooth,
    SmoothingError,
    certify_from_counts,
    check_eval_mode,
)
from unicr.smoothing.sampling import NoiseSampler, make_generator, sample_counts
from unicr.stats import clopper_pearson_lower, clopper_pearson_upper


class Cohen:
    """Cohen et al.'s Gaussian l2 radius as an explicit provider."""

    alpha = 0.0

    def __init__(self, sigma: float):
        self.sigma = sigma
        self.calls = 0

    def __call__(self, pa, pb, norm):
        self.calls += 1
        if pb is None:
            return self.sigma * float(sst.norm.ppf(pa))
        return 0.5 * self.sigma * float(sst.norm.ppf(pa) - sst.norm.ppf(pb))

    def describe(self):
        return {"provider": "cohen-test"}


class Threshold(torch.nn.Module):
    """k classes; class 1 iff x_0 > t, else class 0."""

    def __init__(self, t: float = 0.0, k: int = 3):
        super().__init__()
        self.t, self.k = t, k

    def forward(self, x):
        z = (x.flatten(1)[:, 0] > self.t).float()
        out = torch.zeros(x.shape[0], self.k)
        out[:, 0] = 1 - z
        out[:, 1] = z
        return out


def smooth_threshold(x0_class1: bool = True, sigma: float = 0.5,
                     **kw) -> tuple[Smooth, torch.Tensor]:
    model = Threshold()
    s = Smooth(model, build_builtin("gaussian", sigma=sigma), num_classes=3, input_shape=(4,),
               radius=kw.pop("radius", Cohen(sigma)), **kw)
    x = torch.tensor([1.0 if x0_class1 else 0.0, 0.0, 0.0, 0.0])
    return s, x


# -- statistics on counts --------------------------------------------------------------------


def test_binary_certificate_is_cohen_radius_of_clopper_pearson():
    prov = Cohen(0.5)
    cert = certify_from_counts([3, 97, 0], [120, 870, 10], 0.001, [2, 1], prov)
    pa = clopper_pearson_lower(870, 1000, 0.001)
    assert cert.prediction == 1 and cert.selected == 1 and cert.count_a == 870
    assert cert.pa_lower == pa and cert.pb_upper == 1 - pa
    assert cert.radii[2.0] == pytest.approx(0.5 * sst.norm.ppf(pa), rel=1e-12)
    assert cert.confidence == pytest.approx(0.999)
    assert cert.mode == "binary" and cert.n0 == 100 and cert.n == 1000


def test_abstain_is_not_radius_zero():
    cert = certify_from_counts([0, 10, 0], [550, 450, 0], 0.001, [2], Cohen(1.0))
    assert cert.prediction == ABSTAIN and cert.abstain and cert.radii == {}
    assert cert.radius(2) is None and "1/2" in cert.reason

    class Zero(Cohen):
        def __call__(self, pa, pb, norm):
            return 0.0

    cert0 = certify_from_counts([0, 10, 0], [0, 1000, 0], 0.001, [2], Zero(1.0))
    assert not cert0.abstain and cert0.prediction == 1 and cert0.radius(2) == 0.0


def test_provider_abstention_propagates():
    class Never(Cohen):
        def __call__(self, pa, pb, norm):
            return None

    cert = certify_from_counts([0, 10, 0], [0, 1000, 0], 0.001, [2], Never(1.0))
    assert cert.abstain


def test_two_sided_uses_split_and_caps_pb():
    counts = np.array([100, 880, 20])
    cert = certify_from_counts([0, 5, 0], counts, 0.01, [2], Cohen(1.0), mode="two-sided",
                               alpha_split=0.7, runner_up="plain")
    pa = clopper_pearson_lower(880, 1000, 0.007)
    pb = clopper_pearson_upper(100, 1000, 0.003)
    assert cert.pa_lower == pytest.approx(pa, rel=1e-12)
    assert cert.pb_upper == pytest.approx(pb, rel=1e-12)
    assert cert.radii[2.0] == pytest.approx(0.5 * (sst.norm.ppf(pa) - sst.norm.ppf(pb)))
    # almost all mass on A: 1 - pA_lower is below the runner-up bound -> binary form used
    cert2 = certify_from_counts([0, 5, 0], [0, 1000, 0], 0.01, [2], Cohen(1.0), mode="two-sided")
    assert cert2.pb_upper == pytest.approx(1 - cert2.pa_lower)
    assert cert2.radii[2.0] == pytest.approx(sst.norm.ppf(cert2.pa_lower))


def test_two_sided_certifies_below_one_half_when_mass_is_spread():
    # pA ~ 0.45 spread against 9 small classes: binary abstains, two-sided certifies
    counts = np.array([450] + [61] * 9 + [1])
    sel = np.zeros_like(counts)
    sel[0] = 10
    assert certify_from_counts(sel, counts, 0.001, [2], Cohen(1.0)).abstain
    two = certify_from_counts(sel, counts, 0.001, [2], Cohen(1.0), mode="two-sided")
    assert not two.abstain and two.pa_lower < 0.5 and two.pb_upper < two.pa_lower


def test_grid_pays_bonferroni():
    counts = np.array([300, 650, 50])
    grid = (0.25, 0.5, 0.75)
    cert = certify_from_counts([0, 9, 0], counts, 0.003, [2], Cohen(1.0), mode="two-sided",
                               grid=grid)
    each = 0.003 / 3
    cands = []
    for s in grid:
        pa = clopper_pearson_lower(650, 1000, each * s)
        pb = min(clopper_pearson_upper(300, 1000, each * (1 - s)), 1 - pa)
        cands.append(0.5 * (sst.norm.ppf(pa) - sst.norm.ppf(pb)))
    assert cert.radii[2.0] == pytest.approx(max(cands), rel=1e-12)
    assert cert.grid == grid and cert.alpha == 0.003


@pytest.mark.parametrize("kw,needle", [
    (dict(mode="both"), "mode"),
    (dict(mode="two-sided", alpha_split=0.0), "alpha_split"),
    (dict(mode="two-sided", grid=[0.5, 1.5]), "grid"),
    (dict(mode="binary", grid=[0.5]), "two-sided"),
    (dict(mode="two-sided", runner_up="feng"), "runner_up"),
])
def test_bad_modes(kw, needle):
    with pytest.raises(InvalidParameterError, match=needle):
        certify_from_counts([0, 5], [1, 9], 0.01, [2], Cohen(1.0), **kw)


@settings(max_examples=60, deadline=None)
@given(k=st.integers(0, 400), n=st.integers(1, 400), alpha=st.floats(1e-6, 0.5))
def test_properties_of_binary_certificates(k, n, alpha):
    k = min(k, n)
    prov = Cohen(0.3)
    cert = certify_from_counts([0, 1], [n - k, k], alpha, [2], prov)
    c_more = certify_from_counts([0, 1], [n - k - 1, k + 1], alpha, [2], prov) if k < n else cert
    pa = clopper_pearson_lower(k, n, alpha) if k else 0.0
    assert cert.pa_lower == pa
    if cert.prediction == 1:
        assert pa > 0.5 and math.isfinite(cert.radii[2.0]) and cert.radii[2.0] > 0
        assert not c_more.abstain and c_more.radii[2.0] >= cert.radii[2.0]  # monotone in count
    else:
        assert cert.abstain and pa <= 0.5


# -- sampling --------------------------------------------------------------------------------


def test_seeded_certify_is_reproducible_and_streams_are_independent():
    s, _ = smooth_threshold()
    x = torch.zeros(4)  # pA = 1/2 for the threshold: counts are pure noise
    a = s.certify(x, 200, 200, 0.01, seed=7, batch_size=64)
    b = s.certify(x, 200, 200, 0.01, seed=7, batch_size=64)
    assert a == b
    # the estimation counts come from stream 1, the selection from stream 0
    c1 = s.sample(x, 200, make_generator(s.device, 7, 1), 64)
    c0 = s.sample(x, 200, make_generator(s.device, 7, 0), 64)
    assert tuple(c1) == a.counts
    assert not np.array_equal(c0, c1)


def test_batches_that_do_not_divide_n_sum_to_n():
    s, x = smooth_threshold()
    counts = s.sample(x, 1001, make_generator("cpu", 0), batch_size=64)
    assert counts.sum() == 1001 and counts.shape == (3,) and counts[2] == 0


def test_counts_follow_the_noise_law():
    # P(x_0 + eps > 0) with x_0 = 0.3, sigma 0.5: Phi(0.6)
    s, _ = smooth_threshold()
    x = torch.tensor([0.3, 0.0, 0.0, 0.0])
    counts = s.sample(x, 20000, make_generator("cpu", 3), batch_size=5000)
    p = sst.norm.cdf(0.6)
    assert sst.binomtest(int(counts[1]), 20000, p).pvalue > 1e-4


def test_predict_and_abstain():
    s, x = smooth_threshold()
    assert s.predict(x, 500, 0.001, seed=0) == 1
    assert s.predict(torch.zeros(4), 500, 1e-6, seed=0) == ABSTAIN


def test_eval_mode_is_enforced_and_checked():
    bn = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    bn.train()
    s = Smooth(bn, build_builtin("gaussian", sigma=0.5), num_classes=3, input_shape=(4,),
               radius=Cohen(0.5))
    assert not bn.training  # Smooth put it in eval mode
    s.certify(torch.zeros(4), 10, 10, 0.1, seed=0)
    bn.train()  # someone switches it back
    with pytest.raises(SmoothingError, match="training mode"):
        s.certify(torch.zeros(4), 10, 10, 0.1, seed=0)


def test_batch_statistics_are_refused():
    m = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3),
                            torch.nn.BatchNorm1d(3, track_running_stats=False))
    with pytest.raises(SmoothingError, match="running statistics"):
        Smooth(m, build_builtin("gaussian"), num_classes=3, input_shape=(4,), radius=Cohen(1))
    m2 = torch.nn.Linear(4, 2).train()
    with pytest.raises(SmoothingError, match="training mode"):
        check_eval_mode(m2)


def test_mixed_precision_keeps_counts_exact():
    s, x = smooth_threshold(amp=True)
    cert = s.certify(x, 50, 500, 0.01, seed=1)
    assert cert.prediction == 1 and sum(cert.counts) == 500


def test_joint_noise_is_sampled_in_the_input_shape():
    nz = build_builtin("uniform_ball", sigma=0.3, d=4)
    s = Smooth(Threshold(), nz, num_classes=3, input_shape=(2, 2), radius=Cohen(0.3))
    counts = s.sample(torch.ones(2, 2), 300, make_generator("cpu", 0), 128)
    assert counts.sum() == 300
    with pytest.raises(SmoothingError, match="d=4"):
        Smooth(Threshold(), nz, num_classes=3, input_shape=(5,), radius=Cohen(0.3))


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("n0,n,alpha,needle", [
    (0, 100, 0.01, "n0"), (10, 0, 0.01, "n "), (10, -5, 0.01, "n "), (2.5, 100, 0.01, "n0"),
    (10, 100, 0.0, "alpha"), (10, 100, 1.0, "alpha"), (10, 100, float("nan"), "alpha"),
    (10, 100, "x", "alpha"),
])
def test_sample_sizes_and_alpha_out_of_range(n0, n, alpha, needle):
    s, x = smooth_threshold()
    with pytest.raises(InvalidParameterError, match=needle):
        s.certify(x, n0, n, alpha, seed=0)


def test_wrong_input_shape_and_wrong_model_are_clear_errors():
    s, _ = smooth_threshold()
    with pytest.raises(SmoothingError, match=r"\(3,\).*\(4,\)"):
        s.certify(torch.zeros(3), 10, 10, 0.1, seed=0)
    with pytest.raises(SmoothingError, match="expected \\(1, 5\\)"):
        Smooth(Threshold(), build_builtin("gaussian"), num_classes=5, input_shape=(4,),
               radius=Cohen(1))
    with pytest.raises(SmoothingError, match="fails on an input of shape"):
        Smooth(torch.nn.Linear(7, 3), build_builtin("gaussian"), num_classes=3, input_shape=(4,),
               radius=Cohen(1))
    with pytest.raises(InvalidParameterError, match="input_shape"):
        Smooth(torch.nn.Linear(4, 3), build_builtin("gaussian"), num_classes=3)


class Broken(ProductNoise):
    name = "broken"
    description = "a noise whose torch sampler fails"

    def _logpdf1(self, z):
        return -0.5 * np.asarray(z) ** 2

    def _sample1_torch(self, shape, generator, device, dtype):
        raise RuntimeError("no kernel for this device")


class NaNNoise(Broken):
    name = "nan_noise"

    def _sample1_torch(self, shape, generator, device, dtype):
        return torch.full(shape, float("nan"), dtype=dtype, device=device)


def test_noise_that_cannot_be_sampled():
    with pytest.raises(SmoothingError, match="broken cannot be sampled on device cpu"):
        Smooth(Threshold(), Broken(), num_classes=3, input_shape=(4,), radius=Cohen(1))
    with pytest.raises(SmoothingError, match="non-finite"):
        NoiseSampler(NaNNoise(), (4,), "cpu")
    with pytest.raises(UnicrError):
        Smooth(Threshold(), object(), num_classes=3, input_shape=(4,), radius=Cohen(1))


def test_sample_counts_checks_the_logits():
    sampler = NoiseSampler(build_builtin("gaussian"), (4,), "cpu")
    with pytest.raises(SmoothingError, match="expected \\(10, 2\\)"):
        sample_counts(Threshold().eval(), torch.zeros(4), sampler, 10, 2,
                      make_generator("cpu", 0), batch_size=10)


# -- the default radius provider -------------------------------------------------------------


def test_engine_radius_memoises_and_accounts_alpha(monkeypatch):
    import unicr.certify as radius_mod  # the module of unicr.radius()
    calls = []

    def fake(noise, pa, norm, d, pb=None, method="auto", **kw):
        calls.append((pa, pb, norm))
        return Certificate(lower=0.5, upper=0.6, estimate=None, confidence=0.9995, method="fake",
                           norm=float(norm), d=d, pa=pa, pb=pb)

    monkeypatch.setattr(radius_mod, "radius", fake)
    prov = EngineRadius(build_builtin("gaussian"), d=4)
    assert prov(0.9, None, 2.0) == 0.5
    assert prov(0.9, None, 2.0) == 0.5
    assert len(calls) == 1
    assert prov.alpha == pytest.approx(0.0005)
    cert = certify_from_counts([0, 10], [0, 100], 0.001, [2], prov)
    assert cert.confidence == pytest.approx(1 - 0.001 - 0.0005)


def test_engine_radius_gaussian_l2_matches_cohen():
    prov = EngineRadius(build_builtin("gaussian", sigma=0.5), d=784)
    r = prov(0.9, None, 2.0)
    assert r == pytest.approx(0.5 * sst.norm.ppf(0.9), rel=1e-6)
    assert r <= 0.5 * sst.norm.ppf(0.9) * (1 + 1e-12)  # a lower bound never exceeds the truth


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -0.1])
def test_malformed_radii_are_refused(bad):
    class Bad(Cohen):
        def __call__(self, pa, pb, norm):
            return bad

    with pytest.raises(SmoothingError, match="radius provider returned"):
        certify_from_counts([0, 10], [0, 100], 0.001, [2], Bad(1.0))


def test_non_finite_noise_during_sampling_is_refused():
    class SometimesNaN(Broken):
        name = "sometimes_nan"
        calls = 0

        def _sample1_torch(self, shape, generator, device, dtype):
            SometimesNaN.calls += 1
            z = torch.randn(shape, generator=generator, dtype=dtype)
            if SometimesNaN.calls > 1:  # the trial draw passes, the second batch does not
                z.view(-1)[7] = float("inf")
            return z

    s = Smooth(Threshold(), SometimesNaN(), num_classes=3, input_shape=(4,), radius=Cohen(1))
    with pytest.raises(SmoothingError, match="sometimes_nan.*non-finite"):
        s.certify(torch.zeros(4), 10, 10, 0.1, seed=0)
