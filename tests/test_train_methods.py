"""Training methods (unicr.train.methods): each loss against a hand computation, the reductions
to plain augmentation bit for bit, PGD inside its ball, resume identity, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from unicr.cli import main
from unicr.data import ArrayDataset
from unicr.noises.registry import build_builtin
from unicr.smoothing.sampling import NoiseSampler, make_generator
from unicr.train import (
    ADRE,
    NANDI_RATIO,
    ADREAdv,
    NandiRS,
    TrainConfig,
    TrainError,
    make_method,
    nu_sigma_u,
    train,
)
from unicr.train.methods import NoiseDraws, adre_pgd, adre_terms, similarity_regulariser


def _data(n: int = 48, seed: int = 0) -> ArrayDataset:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 1, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n)
    return ArrayDataset(images, labels, name="synthetic", split="train", num_classes=10)


CFG = TrainConfig(epochs=1, batch_size=16, lr=1e-2, seed=3)


def _weights(noise, method, arch: str = "mlp", cfg: TrainConfig = CFG) -> dict:
    res = train(arch, _data(), noise, cfg, progress=False, method=method)
    return {k: v.clone() for k, v in res.model.state_dict().items()}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# -- hand computations --------------------------------------------------------------------

def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_similarity_regulariser_is_nandi_eq2_by_hand():
    z_nu = np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 0.3]])
    z_n = np.array([[1.0, 1.0, 0.0], [0.2, 0.1, 0.0]])
    z_u = np.array([[0.0, 2.0, -0.5], [1.0, -1.0, 2.0]])
    p, q, r = _softmax(z_nu), _softmax(z_n), _softmax(z_u)
    kl = lambda a, b: np.sum(a * np.log(a / b), axis=1)  # noqa: E731 - KL(a || b) per row
    want = np.mean(kl(p, q)) + np.mean(kl(p, r))
    t = [torch.tensor(z, dtype=torch.float64) for z in (z_nu, z_n, z_u)]
    assert float(similarity_regulariser(*t)) == pytest.approx(want, rel=1e-12)
    assert float(similarity_regulariser(t[0], t[1], None)) == pytest.approx(np.mean(kl(p, q)),
                                                                           rel=1e-12)
    assert float(similarity_regulariser(t[0], t[0], t[0])) == pytest.approx(0.0, abs=1e-15)


def test_adre_terms_are_feng_eqs_6_to_8_by_hand():
    # k = 2 draws, B = 2 examples, C = 3 classes; example 1's G has its top on a wrong class
    z = np.array([[[3.0, 1.0, 0.0], [0.0, 2.0, 1.0]],
                  [[1.0, 2.0, 0.5], [0.5, 3.0, 0.0]]])
    y = np.array([0, 2])
    s = _softmax(z)  # (k, B, C)
    l_per = -np.log(s[:, [0, 1], y]).mean(axis=0)
    g = s.mean(axis=0)
    runner = [max((c for c in range(3) if c != y[i]), key=lambda c, i=i: g[i, c]) for i in range(2)]
    assert runner == [1, 1]  # for example 1 the runner-up is the top class 1 (y = 2 excluded)
    p = -np.log(g[[0, 1], runner])
    got_l, got_p = adre_terms(torch.tensor(z, dtype=torch.float64), torch.tensor(y))
    np.testing.assert_allclose(got_l.numpy(), l_per, rtol=1e-12)
    np.testing.assert_allclose(got_p.numpy(), p, rtol=1e-12)
    single, _ = adre_terms(torch.tensor(z, dtype=torch.float64), torch.tensor(y), "single")
    np.testing.assert_allclose(single.numpy(), -np.log(s[0, [0, 1], y]), rtol=1e-12)


class _Linear(torch.nn.Module):
    input_shape = (4,)
    num_classes = 3

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc = torch.nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(x)


def _draws(noise, extras: dict, seed: int = 1) -> NoiseDraws:
    return NoiseDraws(NoiseSampler(noise, (4,), "cpu"), make_generator("cpu", seed, 0, 1),
                      {k: NoiseSampler(v, (4,), "cpu") for k, v in extras.items()},
                      make_generator("cpu", seed, 0, 2))


def test_nandi_step_loss_is_ce_plus_beta_rs_with_the_same_draws():
    model = _Linear()
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(2))
    y = torch.tensor([0, 1, 2, 1, 0])
    nu = build_builtin("normal_uniform", sigma=0.5)
    method = NandiRS(beta=3.0).resolved(nu)
    assert method.sigma_u == pytest.approx(method.sigma_n * NANDI_RATIO)  # the default shape
    assert math.hypot(method.sigma_n, method.sigma_u) == pytest.approx(0.5)
    extras = method.extra_noises(nu)
    loss, _ = method.step_loss(model, x, y, _draws(nu, extras))
    # the same draws again, by hand: NU from stream 1; N then U from stream 2
    d = _draws(nu, extras)
    z_nu = model(x + d.main(5))
    z_n, z_u = model(x + d.extra("gaussian", 5)), model(x + d.extra("uniform", 5))
    want = torch.nn.functional.cross_entropy(z_nu, y) + 3.0 * similarity_regulariser(z_nu, z_n, z_u)
    assert float(loss.detach()) == pytest.approx(float(want.detach()), rel=1e-6)


def test_adre_step_loss_uses_k_draws_and_the_runner_up():
    model = _Linear()
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(4))
    y = torch.tensor([2, 0, 1])
    g = build_builtin("gaussian", sigma=0.4)
    method = ADRE(k=4, lam=0.2)
    loss, _ = method.step_loss(model, x, y, _draws(g, {}))
    d = _draws(g, {})
    deltas = torch.cat([d.main(3).unsqueeze(0), d.main_more(9).view(3, 3, 4)])
    logits = torch.stack([model(x + deltas[j]) for j in range(4)])
    l_per, p = adre_terms(logits, y)
    assert float(loss.detach()) == pytest.approx(float((l_per - 0.2 * p).mean().detach()), rel=1e-6)


def test_nu_sigma_u_is_the_kurtosis_rule():
    assert nu_sigma_u(1.0) == pytest.approx(0.8653, abs=1e-4)  # Nandi et al. Sec. 5.3
    assert nu_sigma_u(2.0, -54 / 245) == pytest.approx(2.0 * NANDI_RATIO, rel=1e-12)
    r = nu_sigma_u(1.0, -0.5)
    assert -1.2 * r**4 / (1 + r * r) ** 2 == pytest.approx(-0.5, rel=1e-12)
    with pytest.raises(TrainError, match="kurtosis"):
        nu_sigma_u(1.0, -1.3)


# -- reductions to plain augmentation, bit for bit ----------------------------------------

@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_zero_weights_are_plain_augmentation_bit_for_bit(arch):
    nu = build_builtin("normal_uniform", sigma=0.5)
    g = build_builtin("gaussian", sigma=0.5)
    cfg = TrainConfig(epochs=1, batch_size=48, lr=1e-2, seed=3)  # one step
    plain_nu = _weights(nu, None, arch, cfg)
    assert _same(plain_nu, _weights(nu, NandiRS(beta=0.0), arch, cfg))
    assert not _same(plain_nu, _weights(nu, NandiRS(beta=2.0), arch, cfg))
    plain_g = _weights(g, None, arch, cfg)
    assert _same(plain_g, _weights(g, ADRE(k=4, lam=0.0, variant="single"), arch, cfg))
    assert _same(plain_g, _weights(g, ADRE(k=1, lam=0.0), arch, cfg))
    assert not _same(plain_g, _weights(g, ADRE(k=4, lam=0.1), arch, cfg))


def test_adre_adv_with_epsilon_zero_is_adre_reg():
    g = build_builtin("gaussian", sigma=0.5)
    reg = _weights(g, ADRE(k=2, lam=0.1))
    assert _same(reg, _weights(g, ADREAdv(k=2, lam=0.1, epsilon=0.0, steps=2)))
    assert not _same(reg, _weights(g, ADREAdv(k=2, lam=0.1, epsilon=0.5, steps=2)))


def test_pgd_stays_inside_the_epsilon_ball():
    model = _Linear()
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(6, 4, generator=gen)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    deltas = 0.3 * torch.randn(3, 6, 4, generator=gen)
    for eps, steps, step in ((0.25, 5, 1.0), (0.1, 1, 0.2), (1.0, 3, 2 / 3)):
        adv = adre_pgd(model, x, y, deltas, eps, steps, step, lam=0.1)
        norms = (adv - x).norm(dim=1)
        assert torch.all(norms <= eps) and torch.all(norms > 0.5 * eps)
    assert torch.equal(adre_pgd(model, x, y, deltas, 0.0, 3, 1.0, 0.1), x)
    assert model.training  # mode restored


def test_pgd_increases_the_adre_objective():
    model = _Linear()
    gen = torch.Generator().manual_seed(8)
    x, y = torch.randn(4, 4, generator=gen), torch.tensor([0, 1, 2, 0])
    deltas = 0.1 * torch.randn(2, 4, 4, generator=gen)

    def objective(z):
        logits = torch.stack([model(z + deltas[j]) for j in range(2)])
        log_g = torch.log(torch.softmax(logits, 2).mean(0))
        _, p = adre_terms(logits, y)
        return float((-log_g[range(4), y] - 0.1 * p).sum().detach())

    adv = adre_pgd(model, x, y, deltas, 0.2, 3, 0.1, 0.1)
    assert objective(adv) > objective(x)


# -- resume and bad input -----------------------------------------------------------------

def test_method_enters_the_checkpoint_identity(tmp_path):
    nu = build_builtin("normal_uniform", sigma=0.5)
    out = tmp_path / "m.pt"
    train("mlp", _data(16), nu, TrainConfig(epochs=1, batch_size=16), out, progress=False,
          method=NandiRS(beta=2.0))
    again = train("mlp", _data(16), nu, TrainConfig(epochs=1, batch_size=16), out,
                  progress=False, method=NandiRS(beta=2.0))
    assert again.resumed_from == 1
    with pytest.raises(TrainError, match="method"):
        train("mlp", _data(16), nu, TrainConfig(epochs=2, batch_size=16), out, progress=False,
              method=NandiRS(beta=3.0))
    with pytest.raises(TrainError, match="method"):
        train("mlp", _data(16), nu, TrainConfig(epochs=2, batch_size=16), out, progress=False)


@pytest.mark.parametrize("name, options, match", [
    ("sgd-magic", {}, "unknown training method 'sgd-magic'"),
    ("nandi-rs", {"beta": -1.0}, "beta must be"),
    ("adre-reg", {"lam": -0.1}, "lambda must be"),
    ("adre-reg", {"k": 0}, "k must be an integer >= 1"),
    ("adre-adv", {"epsilon": -0.5}, "epsilon must be"),
    ("adre-adv", {"steps": 0}, "steps must be"),
    ("adre-reg", {"variant": "half"}, "variant must be"),
    ("noise", {"beta": 1.0}, "'noise' does not take beta"),
    ("adre-reg", {"epsilon": 1.0}, "'adre-reg' does not take epsilon"),
])
def test_bad_method_input_is_a_clear_error(name, options, match):
    with pytest.raises(TrainError, match=match):
        make_method(name, **options)


def test_nandi_needs_its_parts_and_methods_need_noise():
    with pytest.raises(TrainError, match="sigma_n and sigma_u"):
        train("mlp", _data(16), build_builtin("gaussian", sigma=0.5), CFG, progress=False,
              method=NandiRS())
    with pytest.raises(TrainError, match="needs a training noise"):
        train("mlp", _data(16), None, CFG, progress=False, method=ADRE())


@pytest.mark.parametrize("extra, match", [
    (["--method", "magic"], "unknown training method"),
    (["--method", "adre-reg", "--lambda", "-1"], "lambda must be"),
    (["--method", "adre-reg", "--k", "0"], "k must be"),
    (["--method", "adre-adv", "--epsilon", "-0.1"], "epsilon must be"),
    (["--method", "nandi-rs", "--beta", "-2"], "beta must be"),
    (["--method", "noise", "--k", "3"], "does not take k"),
])
def test_cli_bad_method_exits_2(tmp_path, capsys, extra, match):
    code = main(["train", "--data", "fashion-mnist", "--arch", "mlp", "--noise", "gaussian",
                 "--sigma", "0.5", "--epochs", "1", "--out", str(tmp_path / "x.pt"), *extra])
    assert code == 2
    assert match in capsys.readouterr().err
