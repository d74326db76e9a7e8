"""Torch backend of the Monte Carlo banks (unicr issue #4), tested with torch on the CPU.

The torch banks must give the losses of the numpy formulas on the *same* draws within their
rounding bound ``eta`` (for the dtype actually used), stream bit-identically, reproduce for a
seed, keep the device work free of host round trips, and give certificates that bracket the
exact engine and agree with the numpy backend up to sampling error.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

import unicr
from unicr.engines import mc_options, montecarlo
from unicr.engines.mc_options import MCOptions
from unicr.errors import InvalidParameterError
from unicr.neyman_pearson import banks, torch_banks
from unicr.neyman_pearson.direction import Direction, k_equal
from unicr.neyman_pearson.sampled import dkw_band
from unicr.noises.mixtures import Mixture
from unicr.noises.registry import build_builtin

U64 = 2.0**-53

PRODUCT = [
    ("gaussian", {}),
    ("laplace", {}),
    ("uniform", {}),
    ("cauchy", {}),
    ("hsecant", {}),
    ("gennorm", {"beta": 0.5}),
    ("gennorm", {"beta": 3.0}),
    ("pareto", {"a": 1.0}),
    ("student_t", {"nu": 1.5}),
    ("logistic", {}),
]
JOINT = [("uniform_ball", {}), ("exp2", {"k": 1.0}), ("expinf", {"k": 1.0}),
         ("exp1", {"k": 1.0}), ("pow2", {"k": 2.0})]


def _product(name: str, params: dict):
    try:
        return build_builtin(name, sigma=0.7, **params)
    except unicr.UnicrError:  # infinite variance: native scale
        return build_builtin(name, scale=0.7, **params)


def _bank(noise, n, d, dtype="float64", budget=2**26, seed=5, block_elems=2048):
    bank, why = torch_banks.make_torch_bank(noise, n, d, np.random.SeedSequence(seed), dtype,
                                            budget, "cpu", block_elems=block_elems)
    assert bank is not None, why
    return bank


def _product_reference(bank, noise, dirn, lams):
    """numpy float64 ``logpdf`` differences on the bank's own draws, and their rounding."""
    k = dirn.k
    v = dirn.support_values()
    ref = np.zeros((len(lams), bank.n))
    mag = np.zeros((len(lams), bank.n))
    for b in range(len(bank.edges) - 1):
        lo = bank.edges[b]
        if lo >= k:
            break
        w = min(bank.edges[b + 1], k) - lo
        for c, (r0, r1) in enumerate(bank.chunks(b)):
            e = bank.draws(b, c)[:, :w]
            with np.errstate(all="ignore"):
                base = noise.logpdf(e)
                for t, lam in enumerate(lams):
                    q = noise.logpdf(e - lam * v[lo:lo + w])
                    ref[t, r0:r1] += np.sum(q - base, axis=1)
                    tm = np.abs(q) + np.abs(base)
                    mag[t, r0:r1] += np.sum(np.where(np.isfinite(tm), tm, 0.0), axis=1)
    # the reference's own rounding (float64, includes the draws' rescaling eps = scale * Z)
    return ref, 16.0 * (k + 2) * U64 * np.max(mag, axis=1)


def _close(lx, ref, tol):
    same = (lx == ref) | (np.isnan(lx) & np.isnan(ref))
    with np.errstate(invalid="ignore"):
        err = np.where(same, 0.0, np.abs(lx - ref))
    return np.all(err <= tol[:, None]), float(np.max(err / np.maximum(tol[:, None], 1e-300)))


# ---------------------------------------------------------------------------
# losses on the same draws
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,params", PRODUCT, ids=[f"{n}-{p}" for n, p in PRODUCT])
def test_product_losses_match_numpy_on_same_draws(name, params, dtype):
    nz = _product(name, params)
    d = 50
    bank = _bank(nz, 1500, d, dtype)
    assert isinstance(bank, torch_banks.TorchProductBank)
    lams = [0.05, 0.3, 1.2]
    dirs = [k_equal(7), Direction(kind="vector", k=5, values=(1.0, 0.8, 0.5, -0.3, 0.1)),
            k_equal(d)]
    for dirn in dirs:
        lx, ly, eta = bank.model(dirn).losses(lams)
        assert ly is None and lx.shape == (3, bank.n) and lx.dtype == np.float64
        assert np.all(np.isfinite(eta)) and np.all(eta >= 0)
        ref, ref_err = _product_reference(bank, nz, dirn, lams)
        ok, worst = _close(lx, ref, eta + ref_err)
        assert ok, f"{name} {dtype} {dirn}: error {worst:.3g} x eta"
        if name == "uniform":
            assert np.all(eta == 0) and np.all(np.isin(lx, (0.0, -np.inf)))
        else:
            # the bound is not vacuous: far below the spread of the losses (gennorm with
            # beta < 1 pays k (u |a|)^beta for the rounding of the shift near z = 0)
            holder = name == "gennorm" and params["beta"] < 1
            assert np.all(eta < (2e-3 if dtype == "float32" else 1e-5 if holder else 1e-8))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,params", JOINT, ids=[f"{n}-{p}" for n, p in JOINT])
def test_joint_losses_match_numpy_on_same_draws(name, params, dtype):
    d = 20
    nz = build_builtin(name, d=d, sigma=0.5, **params)
    bank = _bank(nz, 1200, d, dtype, block_elems=5000)
    assert isinstance(bank, torch_banks.TorchJointBank) and len(bank.chunks()) > 1
    rng = np.random.default_rng(0)
    lams = [0.05, 0.3, 1.0]
    for dirn in (k_equal(5),
                 Direction(kind="vector", k=d, values=tuple(rng.normal(size=d)), full=True)):
        lx, ly, eta = bank.model(dirn).losses(lams)
        assert ly is None and lx.shape == (3, bank.n)
        u = dirn.vector(d)
        ref = np.zeros_like(lx)
        for c, (r0, r1) in enumerate(bank.chunks()):
            e = bank.draws(c)
            with np.errstate(all="ignore"):
                for t, lam in enumerate(lams):
                    ref[t, r0:r1] = nz.logpdf(e - lam * u) - nz.logpdf(e)
        ref_err = 64 * (d + 2) * U64 * np.max(np.abs(np.where(np.isfinite(ref), ref, 0)),
                                               axis=1) + 1e-12
        ok, worst = _close(lx, ref, eta + ref_err)
        assert ok, f"{name} {dtype}: error {worst:.3g} x eta"


def test_heavy_tails_and_imagenet_dimension_give_no_nan():
    d = 150528
    nz = build_builtin("cauchy", scale=0.5)
    for dtype in ("float64", "float32"):
        bank = _bank(nz, 48, d, dtype, budget=2**28, block_elems=torch_banks.BLOCK_ELEMS)
        lx, _, eta = bank.model(k_equal(d)).losses([1e-3, 1e-2, 0.1])
        assert np.all(np.isfinite(lx)) and np.all(np.isfinite(eta))
        assert np.all(np.diff(lx.mean(axis=1)) < 0)  # larger shifts, smaller likelihood ratios
        # far tails and absurd scales: the large-argument branch (2 log|z|), never NaN
        lx, _, eta = bank.model(Direction(kind="vector", k=3, values=(1.0, 0.5, 0.2))).losses(
            [1e3, 1e8, 1e20])
        assert np.all(np.isfinite(lx)) and np.all(np.isfinite(eta))
    # float64 keeps eta small at this size; float32 terms cost ~35 u32 sum|log q|
    bank = _bank(nz, 48, d, "float64", budget=2**28, block_elems=torch_banks.BLOCK_ELEMS)
    assert bank.model(k_equal(d)).losses([1e-2])[2][0] < 1e-4


def test_large_argument_branch_matches_logpdf():
    """Cauchy / Student t at |z| far beyond ``big`` (both dtypes) against ``logpdf``."""
    for name, params in (("cauchy", {}), ("student_t", {"nu": 0.7})):
        nz = build_builtin(name, scale=1.0, **params)
        fam = nz.compiled_logq()
        z = np.array([0.0, 3.0, 1e14, 2e15, 1e17, 3e20, 1e30])
        ref = nz.logpdf(z) - nz.logpdf(0.0)
        for tdt in (torch.float32, torch.float64):
            big = torch_banks._big(tdt)
            mine = fam.logq_torch(torch.as_tensor(z, dtype=tdt), big).double().numpy()
            mine = mine - mine[0]
            assert np.allclose(mine, ref, rtol=1e-6), (name, tdt, mine, ref)
            small = z[z < 0.4 * big]
            x = torch.as_tensor(small, dtype=tdt)
            a = fam.logq_torch_(x.clone(), torch.empty_like(x),
                                torch.empty(x.shape, dtype=torch.bool), big, small=True)
            assert torch.equal(a, fam.logq_torch(x, big))


# ---------------------------------------------------------------------------
# streaming, reproducibility, device discipline
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name,d", [("cauchy", 300), ("uniform", 300), ("exp1", 64)])
def test_streaming_equals_cached(name, d):
    nz = build_builtin(name, scale=1.0, d=d) if name == "exp1" else build_builtin(name, scale=1.0)
    cached = _bank(nz, 700, d, budget=2**26, block_elems=4096)
    streamed = _bank(nz, 700, d, budget=1, block_elems=4096)
    dirn = Direction(kind="vector", k=40, values=tuple(np.linspace(1.0, 0.1, 40)))
    lams = [0.01, 0.1, 0.5]
    a = cached.model(dirn).losses(lams)
    b = streamed.model(dirn).losses(lams)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[2], b[2])
    b2 = streamed.model(dirn).losses(lams)  # regenerated again: still identical
    assert np.array_equal(b[0], b2[0])
    assert cached._bytes > 0 and streamed._bytes == 0 and not streamed._cache


def test_reproducible_for_a_seed():
    nz = build_builtin("laplace", sigma=1.0)
    dirn = Direction(kind="vector", k=20, values=tuple(np.linspace(1.0, 0.5, 20)))
    x1 = _bank(nz, 500, 64, seed=11).model(dirn).losses([0.2])[0]
    x2 = _bank(nz, 500, 64, seed=11).model(dirn).losses([0.2])[0]
    x3 = _bank(nz, 500, 64, seed=12).model(dirn).losses([0.2])[0]
    assert np.array_equal(x1, x2) and not np.array_equal(x1, x3)
    # every block has its own generator: the order of generation does not matter
    b = _bank(nz, 500, 64, seed=11)
    late = b.block(len(b.edges) - 2, 0).clone()
    assert torch.equal(late, _bank(nz, 500, 64, seed=11).block(len(b.edges) - 2, 0))


def test_device_work_has_no_host_round_trip():
    """The per-block work runs on PyTorch's ``meta`` device (any transfer to host memory
    would fail there): draws, log densities, float64 accumulation, norms."""
    meta = torch.device("meta")
    for name in ("cauchy", "student_t", "uniform", "gaussian"):
        nz = build_builtin(name, scale=1.0)
        fam = nz.compiled_logq()
        bank = torch_banks.TorchProductBank(nz, 300, 40, np.random.SeedSequence(0), "float32",
                                            2**20, meta, fam, block_elems=512)
        hi = torch.zeros((2, 17), dtype=torch.float32, device=meta)
        s1, s0 = bank.device_pass(hi, hi.clone())
        assert s1.device.type == "meta" and s1.shape == (2, 300) and s1.dtype == torch.float64
        assert s0.shape == (300,)
    nz = build_builtin("expinf", scale=1.0, d=30)
    jb = torch_banks.TorchJointBank(nz, 100, np.random.SeedSequence(0), "float32", 2**20, meta,
                                    block_elems=300)
    r = jb.device_pass(torch.zeros((3, 30), dtype=torch.float32, device=meta), None)
    assert r.device.type == "meta" and r.shape == (3, 100) and r.dtype == torch.float64


def test_unsupported_noise_falls_back_with_a_reason():
    mix = Mixture([build_builtin("cauchy", scale=0.3), build_builtin("gaussian", sigma=1.0)],
                  [0.5, 0.5])
    bank, why = torch_banks.make_torch_bank(mix, 100, 8, np.random.SeedSequence(0), "float64",
                                            2**20, "cpu")
    assert bank is None and "no torch log-density" in why
    # the engine then uses the numpy bank and records why
    options = MCOptions.from_kwargs({"backend": "torch", "device": "cpu", "n_mc": 1000}, 8)
    stream_banks = montecarlo._Banks(mix, 8, np.random.SeedSequence(0), 1000, options, [1, 8])
    dirn = Direction(kind="vector", k=2, values=(1.0, 0.5))
    assert isinstance(stream_banks.for_direction(dirn), banks.ProductBank)
    assert "no torch log-density" in stream_banks.torch_fallback


def test_engine_uses_torch_only_for_the_general_banks():
    options = MCOptions.from_kwargs({"backend": "torch", "device": "cpu", "n_mc": 1000}, 8)
    vec = Direction(kind="vector", k=3, values=(1.0, 0.5, 0.2))
    lap = build_builtin("laplace", sigma=1.0)
    stream_banks = montecarlo._Banks(lap, 8, np.random.SeedSequence(0), 1000, options, [1, 8])
    assert isinstance(stream_banks.for_direction(vec), torch_banks.TorchProductBank)
    gauss = montecarlo._Banks(build_builtin("gaussian", sigma=1.0), 8, np.random.SeedSequence(0),
                              1000, options, [1])
    assert isinstance(gauss.for_direction(vec), banks.GaussianBank)  # O(n) bank stays on the CPU
    ei = build_builtin("expinf", d=8, sigma=1.0)
    stream_banks = montecarlo._Banks(ei, 8, np.random.SeedSequence(0), 1000, options, [1, 8])
    assert isinstance(stream_banks.for_direction(k_equal(8)), banks.LinfKEqualBank)
    assert isinstance(stream_banks.for_direction(vec), torch_banks.TorchJointBank)
    numpy_options = MCOptions.from_kwargs({"n_mc": 1000}, 8)
    assert (numpy_options.device, numpy_options.backend) == ("cpu", "numpy")  # no CUDA here: auto -> numpy
    stream_banks = montecarlo._Banks(lap, 8, np.random.SeedSequence(0), 1000, numpy_options, [1, 8])
    assert isinstance(stream_banks.for_direction(vec), banks.ProductBank)


# ---------------------------------------------------------------------------
# certificates
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["laplace", "uniform", "cauchy"])
def test_torch_radius_brackets_the_exact_engine(name):
    nz = _product(name, {})
    d = 4
    ex = unicr.radius(nz, 0.9, 1, d, method="exact")
    # PSO directions are vectors: they go through the torch bank (the k-equal directions of
    # Laplace and uniform noise use the O(n) CPU bank; Cauchy's use the torch bank too)
    mc = unicr.radius(nz, 0.9, 1, d, method="mc", backend="torch", device="cpu", n_mc=20_000,
                      directions="both", particles=4, iterations=3, seed=2)
    assert mc.lower <= ex.upper
    assert math.isfinite(mc.upper) and mc.upper >= ex.lower * (1 - 1e-9)
    assert mc.upper <= 1.3 * ex.upper  # and it is a useful bound


def test_torch_agrees_with_numpy_within_dkw():
    """Different draws, same law: at a fixed perturbation the empirical CDFs of the losses from
    the two backends are within the two DKW bands of each other (alpha 1e-6 each)."""
    n, d = 20_000, 16
    for name in ("cauchy", "laplace", "gennorm"):
        nz = _product(name, {"beta": 0.7} if name == "gennorm" else {})
        tb = _bank(nz, n, d, block_elems=1 << 16)
        nb = banks.ProductBank(nz, n, d, np.random.SeedSequence(5), "float64", 2**26)
        for dirn, lam in ((k_equal(d), 0.4), (k_equal(1), 1.5)):
            # rounded to 1e-9: the atoms of L (Laplace: L = +-lam/s) must coincide exactly
            lt = np.sort(np.round(tb.model(dirn).losses([lam])[0][0], 9))
            ln = np.sort(np.round(nb.model(dirn).losses([lam])[0][0], 9))
            grid = np.concatenate([lt, ln])
            ks = np.max(np.abs(np.searchsorted(lt, grid, "right") - np.searchsorted(ln, grid,
                                                                                     "right"))) / n
            assert ks <= 2 * dkw_band(n, 1e-6), (name, dirn, ks)
    # and whole certificates agree (fixed seeds): Cauchy l_inf, d = 8
    nz = build_builtin("cauchy", scale=1.0)
    ex = unicr.radius(nz, 0.9, math.inf, 8, method="exact")
    c_t = unicr.radius(nz, 0.9, math.inf, 8, method="mc", backend="torch", device="cpu",
                       n_mc=20_000, seed=1)
    c_n = unicr.radius(nz, 0.9, math.inf, 8, method="mc", backend="numpy", n_mc=20_000, seed=1)
    assert c_t.upper >= ex.lower and c_n.upper >= ex.lower
    assert abs(c_t.upper / c_n.upper - 1) < 0.1 and abs(c_t.estimate / c_n.estimate - 1) < 0.1


# ---------------------------------------------------------------------------
# options
# ---------------------------------------------------------------------------


def test_device_and_backend_options():
    g = build_builtin("laplace", sigma=1.0)

    def mc(**kw):
        return unicr.radius(g, 0.9, 1, 4, method="mc", n_mc=2000, **kw)

    assert mc_options._device(None, "torch") == ("cpu", "torch")
    assert mc_options._device(torch.device("cpu"), "auto") == ("cpu", "numpy")
    assert mc_options._device("CPU", "numpy") == ("cpu", "numpy")
    with pytest.raises(InvalidParameterError, match="not a valid device name"):
        mc(device="gpu")
    with pytest.raises(InvalidParameterError, match="'cpu' or 'cuda"):
        mc(device="mps")
    with pytest.raises(InvalidParameterError, match="backend must be one of"):
        mc(backend="jax")
    if not torch.cuda.is_available():
        with pytest.raises(InvalidParameterError, match="CUDA is not available"):
            mc(device="cuda")
        with pytest.raises(InvalidParameterError, match="CUDA is not available"):
            mc(device="cuda:1", backend="torch")
    assert mc(device="cpu", backend="torch").upper == mc(device=torch.device("cpu")).upper


def test_backend_torch_without_torch_is_refused():
    """A fresh interpreter in which ``import torch`` fails (as on a machine without it)."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import unicr\n"
        "from unicr.errors import InvalidParameterError\n"
        "from unicr.noises.registry import build_builtin\n"
        "g = build_builtin('laplace', sigma=1.0)\n"
        "c = unicr.radius(g, 0.9, 1, 4, method='mc', n_mc=2000)\n"
        "assert c.upper > 0\n"
        "for kw in ({'backend': 'torch'}, {'device': 'cuda'}):\n"
        "    try:\n"
        "        unicr.radius(g, 0.9, 1, 4, method='mc', n_mc=2000, **kw)\n"
        "    except InvalidParameterError as e:\n"
        "        assert 'not importable' in str(e), e\n"
        "    else:\n"
        "        raise AssertionError(kw)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_certificate_says_which_backend_ran_and_why_not():
    """The assumptions name the torch backend when it ran, and the reason when it could not."""
    import unicr
    from unicr.noises.registry import noise

    kw = dict(norm=2, d=16, method="mc", n_mc=3000, backend="torch", device="cpu",
              directions="pso", particles=2, iterations=1)
    c = unicr.radius(noise("cauchy", scale=1.0), 0.9, **kw)
    assert any("torch backend on cpu" in a for a in c.assumptions)
    m = unicr.radius(noise("laplace_gaussian_mix", sigma=1.0), 0.9, **kw)
    assert any("torch backend not used" in a and "laplace_gaussian_mix" in a
               for a in m.assumptions)
    assert not any("torch backend on" in a for a in m.assumptions)
    n = unicr.radius(noise("cauchy", scale=1.0), 0.9, **{**kw, "backend": "numpy"})
    assert not any("torch" in a for a in n.assumptions)


def test_cli_passes_device_and_backend(capsys):
    import json

    from unicr.cli import main

    argv = ["radius", "cauchy", "--scale", "1", "--pa", "0.9", "--norm", "2", "--d", "16",
            "--method", "mc", "--n-mc", "3000", "--directions", "pso", "--backend", "torch",
            "--device", "cpu", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    text = json.dumps(out)
    assert "torch backend on cpu" in text
    assert main(argv[:-5] + ["--device", "tpu", "--backend", "torch", "--json"]) == 2
