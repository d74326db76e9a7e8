"""The fast paths of the Monte Carlo engine: same statements, less work.

* the scale search's safeguarded interpolation (fewer evaluations, never much worse than
  bisection) and its grid mode (a pure function of the predicate);
* exact per-row reductions of uniform and Laplace product noise (Hong et al. 2022, Eqs. 26-29)
  -- checked against the coordinate-wise sums on identical draws, and their samplers against
  the generic bank and closed forms;
* the one-logarithm Cauchy/Student kernel and the fast random signs.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import unicr
from unicr.engines import montecarlo
from unicr.engines.mc_options import MCOptions
from unicr.neyman_pearson import banks, kernels
from unicr.neyman_pearson.direction import canonical_direction, k_equal
from unicr.noises.registry import build_builtin
from unicr.search.scale import OK, search_core

PA = 0.9


def _run(ev, lam0, tol, lo=0.0, hi=math.inf, m_lo=math.nan, m_hi=math.nan, **kw):
    hl, hm = np.zeros(1000), np.zeros((1000, 3))
    lo, hi, k, status = search_core(ev, None, 0, lam0, lo, hi, tol, hl, hm,
                                    kw.pop("first_step", 1.0), kw.pop("grid", False),
                                    kw.pop("interp", True), m_lo, m_hi)
    assert not kw
    return lo, hi, k, status, hl[:k].copy()


# ---------------------------------------------------------------------------
# scale search
# ---------------------------------------------------------------------------


def _smooth(root):
    def ev(lam, _s=None):
        return np.full(3, math.tanh(3.0 * (math.log(root) - math.log(lam))) - 0.1 * (lam - root))

    return ev


def test_interpolation_needs_far_fewer_evaluations_than_bisection():
    """Smooth margins: the refinement of a bracket needs about half the evaluations of
    bisection (two accurate interpolation steps close it); from scratch the shared
    doubling/halving phase dilutes the gain."""
    rng = np.random.default_rng(0)
    n_interp = n_bisect = n_scratch = n_scratch_b = 0
    for root in np.exp(rng.uniform(-6, 6, 40)):
        for tol in (1e-3, 1e-4):
            ev = _smooth(root)
            lo, hi = root / 1.7, root * 1.3
            known = {"lo": lo, "hi": hi, "m_lo": ev(lo)[0], "m_hi": ev(hi)[0]}
            a = _run(ev, 1.0, tol, **known)
            b = _run(ev, 1.0, tol, interp=False, **known)
            c = _run(ev, 1.0, tol)
            d = _run(ev, 1.0, tol, interp=False)
            for lo_, hi_, _, status, _ in (a, b, c, d):
                assert status == OK and lo_ < root <= hi_ * (1 + 1e-12)
                assert hi_ <= lo_ * (1 + tol) * (1 + 1e-12)
            n_interp += a[2]
            n_bisect += b[2]
            n_scratch += c[2]
            n_scratch_b += d[2]
    assert n_interp < 0.6 * n_bisect
    assert n_scratch < 0.7 * n_scratch_b


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), width=st.floats(1e-3, 3.0), tol=st.sampled_from([1e-3, 1e-4]))
def test_refinement_never_needs_more_than_one_evaluation_beyond_bisection(seed, width, tol):
    """ITP projection: with a known bracket, at most ceil(log2(width / log(1 + tol))) + 1
    evaluations, even for margins of random magnitude (one sign change, discontinuous)."""
    rng = np.random.default_rng(seed)
    root = math.exp(rng.uniform(0.0, width))
    mags = {}

    def ev(lam, _s=None):
        mag = mags.setdefault(lam, float(rng.exponential()) ** 3 + 1e-12)
        return np.full(3, mag if lam < root else -mag)

    lo, hi = 1.0, math.exp(width)
    lo_, hi_, k, status, _ = _run(ev, 1.0, tol, lo=lo, hi=hi, m_lo=1.0, m_hi=-1.0)
    assert status == OK and lo_ < root <= hi_
    assert k <= math.ceil(math.log2(width / math.log1p(tol))) + 1


@settings(max_examples=60, deadline=None)
@given(root=st.floats(1e-4, 1e4), lam0=st.floats(1e-3, 1e3), rough=st.booleans(),
       step=st.sampled_from([1.0, 0.1, 0.05]))
def test_grid_search_returns_the_unique_cell_whatever_the_path(root, lam0, rough, step):
    tol = 1e-3
    g = math.log1p(tol)
    rng = np.random.default_rng(7)

    def ev(lam, _s=None):
        m = (math.log(root) - math.log(lam)) * (1.0 + 9.0 * rng.random() if rough else 1.0)
        return np.full(3, m)

    results = {(_run(ev, x0, tol, grid=True, first_step=step, interp=ip)[:2])
               for x0 in (lam0, 1.0, root * 1.7) for ip in (True, False)}
    assert len(results) == 1
    lo, hi = results.pop()
    i = round(math.log(lo) / g)
    assert lo == math.exp(i * g) and hi == math.exp((i + 1) * g)
    assert lo < root <= hi  # the cell of the sign change
    # ends given off the grid are dropped, ends on it are used
    assert _run(ev, lam0, tol, lo=lo * 0.9999, hi=hi * 1.00001, grid=True)[:2] == (lo, hi)
    assert _run(ev, lam0, tol, lo=math.exp((i - 40) * g), hi=math.exp((i + 3) * g),
                grid=True)[:2] == (lo, hi)


def test_bracketing_from_a_known_end_without_its_margin():
    """A cached inside (outside) end with unknown margin: grow (shrink) from it."""
    ev = _smooth(3.0)
    lo, hi, _, status, lams = _run(ev, 1.0, 1e-4, lo=2.0)
    assert status == OK and lo < 3.0 <= hi and lams[0] > 2.0
    lo, hi, _, status, lams = _run(ev, 1.0, 1e-4, hi=4.0)
    assert status == OK and lo < 3.0 <= hi and lams[0] < 4.0


def test_secant_bracketing_gives_a_tight_first_bracket():
    """From far away, once two margins approach zero the step is cut to the secant estimate:
    the bracket handed to the refinement is much narrower than a doubling step."""
    ev = _smooth(1.37)
    hl, hm = np.zeros(100), np.zeros((100, 3))
    search_core(ev, None, 0, 1.0, 0.0, math.inf, 1e-4, hl, hm, 0.05)
    lams = hl[hl > 0]
    ins, outs = lams[lams < 1.37], lams[lams >= 1.37]
    first_out = outs[0]
    below = ins[ins < first_out].max()
    assert first_out / below < 1.05


# ---------------------------------------------------------------------------
# uniform: one threshold per row
# ---------------------------------------------------------------------------


def _uniform_ref(noise, e, values, lam):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sum(noise.logpdf(e - lam * values) - noise.logpdf(e), axis=1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_uniform_threshold_model_equals_the_coordinatewise_sum(dtype):
    """On the same draws the threshold losses are exactly the compiled coordinate-wise sums
    and numpy's logpdf sums (0 or -inf), for k-equal and general directions."""
    uni = build_builtin("uniform", sigma=0.7)
    d = 40
    bank = banks.ProductBank(uni, 3000, d, np.random.SeedSequence(4), dtype, 2**28)
    rng = np.random.default_rng(1)
    dirs = [k_equal(1), k_equal(7), k_equal(d),
            canonical_direction(rng.uniform(0.1, 1.0, d), uni)[0],
            canonical_direction(np.r_[1.0, rng.uniform(0, 0.3, 9)], uni)[0]]
    for dirn in dirs:
        model = bank.model(dirn)
        assert isinstance(model, banks._UniformThresholdModel)
        t_row = bank.uniform_thresholds(dirn.support_values())
        lams = np.r_[np.quantile(t_row, [0.05, 0.5, 0.95]) * (1 + 1e-6), 1e-9, 3.0 * uni.scale]
        lx, ly, eta = model.losses(lams)
        ref, _, _ = bank.losses(dirn.support_values(), lams)  # the coordinate-wise kernel
        assert ly is None and np.all(eta == 0.0)
        np.testing.assert_array_equal(lx, ref)
        assert set(np.unique(lx)) <= {0.0, -np.inf}
        e = np.concatenate([np.concatenate([bank._block(c, b)[0]
                                            for b in range(len(bank.edges) - 1)], axis=1)
                            for c in range((bank.n + bank.rows - 1) // bank.rows)])
        vals = dirn.vector(d)
        for t, lam in enumerate(lams):
            np.testing.assert_array_equal(lx[t], _uniform_ref(uni, e.astype(np.float64), vals,
                                                              lam))


@pytest.mark.parametrize("k", [1, 5, 3072])
def test_uniform_kequal_sampler_has_the_exact_law(k):
    """P(L_X = -inf) = P(T < lam) = 1 - (1 - lam/(2b))^k: the exact bank within a DKW band
    (alpha 1e-6) at every scale, and the generic bank agrees (same law, other draws)."""
    uni = build_builtin("uniform", sigma=1.0)
    b = uni.scale
    n = 40_000
    bank = banks.KEqualProductBank(uni, n, np.random.SeedSequence(3), np.float64, 2**28)
    lams = 2 * b * (1 - (1 - np.array([0.05, 0.3, 0.6, 0.95])) ** (1 / k))
    lx, ly, eta = bank.model(k_equal(k)).losses(lams)
    assert ly is None and np.all(eta == 0.0)
    band = math.sqrt(math.log(2 / 1e-6) / (2 * n))
    exact = 1 - (1 - lams / (2 * b)) ** k
    frac = np.mean(lx == -np.inf, axis=1)
    assert np.all(np.abs(frac - exact) <= band)
    if k <= 5:
        gen = banks.ProductBank(uni, n, k, np.random.SeedSequence(8), np.float64, 2**28)
        gx, _, _ = gen.model(k_equal(k)).losses(lams)
        assert np.all(np.abs(np.mean(gx == -np.inf, axis=1) - frac) <= 2 * band)


# ---------------------------------------------------------------------------
# Laplace: sign count + positive coordinates below lambda
# ---------------------------------------------------------------------------


def _dense(bank, k):
    blocks = []
    for c in range((bank.n + bank.rows - 1) // bank.rows):
        row = [bank._block(c, b)[0] for b in range(len(bank.edges) - 1) if bank.edges[b] < k]
        blocks.append(np.concatenate(row, axis=1)[:, :k])
    return np.concatenate(blocks).astype(np.float64)


@pytest.mark.parametrize("k", [1, 7, 64])
def test_laplace_reduction_equals_the_coordinatewise_sum_on_identical_draws(k):
    """``L_X = x (N_pos - N_neg - 2 C) + 2 S`` (x = lam/b; C, S: count and sum of the
    positive standardised coordinates below x) on the generic bank's draws: equal to its
    compiled coordinate-wise sums within the two rounding bounds, and to an exact rational
    evaluation within the reduction's own bound."""
    lap = build_builtin("laplace", sigma=1.3)
    b = lap.scale
    n = 2000
    gen = banks.ProductBank(lap, n, k, np.random.SeedSequence(6), np.float64, 2**28)
    z = _dense(gen, k) / b
    pos = z > 0
    base_int = (2 * pos.sum(axis=1) - k).astype(np.int64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(pos.sum(axis=1), out=offsets[1:])
    values = np.ascontiguousarray(z[pos])  # row-major: CSR by row
    zero_c, zero_s = np.zeros(n, dtype=np.int64), np.zeros(n)
    for lam in (1e-3 * b, 0.2 * b / math.sqrt(k), b / math.sqrt(k), 3.0 * b):
        ref, _, eta_ref = gen.losses(np.ones(k), [lam])
        out, mag = np.empty(n), np.empty(n)
        cmax = banks._laplace_kequal_row_losses(lam / b, base_int, zero_c, zero_s, offsets,
                                            values, out, mag)
        eta = 4.0 * (cmax + 5) * banks._U * float(np.max(mag))
        assert np.all(np.abs(out - ref[0]) <= eta + eta_ref[0])
        # exact rational arithmetic on the same draws, for a few rows
        x = Fraction(lam / b)
        for r in range(0, n, 97):
            zr = [Fraction(float(v)) for v in z[r]]
            exact = sum((abs(v) - abs(v - x) for v in zr), Fraction(0))
            assert abs(float(exact - Fraction(float(out[r])))) <= eta


@pytest.mark.parametrize("k", [1, 7, 300])
def test_laplace_kequal_sampler_has_the_law_of_the_generic_bank(k):
    """Two-sample KS of the exact bank's losses against the generic bank's (atoms rounded to
    1e-9 so that both copies of an atom coincide), and the mean against the closed form
    E[L_X] = k (1 - x - e^-x)."""
    lap = build_builtin("laplace", sigma=1.0)
    n = 30_000
    exact_bank = banks.KEqualProductBank(lap, n, np.random.SeedSequence(1), np.float64, 2**28)
    gen = banks.ProductBank(lap, n, k, np.random.SeedSequence(2), np.float64, 2**28)
    lams = lap.scale * np.array([0.3, 1.0, 3.0]) / math.sqrt(k)
    a, ly, eta = exact_bank.model(k_equal(k)).losses(lams)
    g, _, _ = gen.model(k_equal(k)).losses(lams)
    assert ly is None and np.all((eta > 0) & (eta < 1e-9))
    for t, lam in enumerate(lams):
        p = stats.ks_2samp(np.round(a[t], 9), np.round(g[t], 9)).pvalue
        assert p > 1e-4, (k, lam, p)
        x = lam / lap.scale
        mean = k * (1 - x - math.exp(-x))
        assert abs(a[t].mean() - mean) <= 5 * a[t].std() / math.sqrt(n)


def test_laplace_levels_are_lazy_streamable_and_reproducible():
    lap = build_builtin("laplace", sigma=2.0)
    k = 500
    lams = [0.01, 0.05, 0.3, 2.0]

    def bank(budget, seed=11, dtype=np.float64):
        return banks.KEqualProductBank(lap, 4000, np.random.SeedSequence(seed), dtype, budget)

    small_first = bank(2**28).model(k_equal(k))
    a0 = small_first.losses(lams[:1])
    a1 = small_first.losses(lams)  # materialises more levels
    a2 = small_first.losses(lams[:1])
    big_first = bank(2**28).model(k_equal(k))
    b1 = big_first.losses(lams[::-1])
    streamed = bank(2**10)  # levels regenerated from their seeds at every evaluation
    s1 = streamed.model(k_equal(k)).losses(lams)
    s1b = streamed.model(k_equal(k)).losses(lams)
    assert streamed.state(k)._bytes <= 2**10
    np.testing.assert_array_equal(a0[0][0], a1[0][0])
    np.testing.assert_array_equal(a0[0], a2[0])
    np.testing.assert_array_equal(a1[0], b1[0][::-1])
    np.testing.assert_array_equal(a1[0], s1[0])
    np.testing.assert_array_equal(s1[0], s1b[0])
    np.testing.assert_array_equal(a1[2], s1[2])
    # the budget for level values is shared by every k of a bank
    shared = bank(60_000)
    for kk in (3, 50, 500, 3000):
        shared.model(k_equal(kk)).losses(lams)
    assert sum(s._bytes for s in shared._per_k.values()) <= 60_000
    assert any(lev is None for s in shared._per_k.values() for lev in s.levels)
    np.testing.assert_array_equal(shared.model(k_equal(k)).losses(lams)[0], a1[0])
    other = bank(2**28, seed=12).model(k_equal(k)).losses(lams)
    assert not np.array_equal(other[0], a1[0])
    # float32 storage: every stored value is a float32 number, level boundaries respected
    st32 = bank(2**28, dtype=np.float32).state(k)
    st32._ensure(st32.level_of(2.0 / lap.scale))
    for i, lev in enumerate(st32.levels):
        v = lev[1]
        assert np.array_equal(v, v.astype(np.float32).astype(np.float64))
        assert np.all((v >= st32.edge(i)) & (v <= st32.edge(i + 1)))


def test_kequal_banks_are_scale_free():
    """Standardised draws: lambda and the scale enter only through lambda / b."""
    for name in ("laplace", "uniform"):
        ms = [banks.KEqualProductBank(build_builtin(name, sigma=s), 3000, np.random.SeedSequence(0),
                                  np.float64, 2**28).model(k_equal(9)) for s in (1.0, 4.0)]
        a = ms[0].losses([0.1, 0.7])[0]
        b = ms[1].losses([0.4, 2.8])[0]
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------
# engine: dispatch and end-to-end agreement with the generic path
# ---------------------------------------------------------------------------


def test_bank_dispatch():
    options = MCOptions.from_kwargs({}, 64)
    lap = build_builtin("laplace", sigma=1.0)
    vec = canonical_direction(np.linspace(1.0, 0.2, 64), lap)[0]
    stream_banks = montecarlo._Banks(lap, 64, np.random.SeedSequence(0), 500, options, [1, 64],
                                     exact_kequal=True)
    assert isinstance(stream_banks.for_direction(k_equal(64)), banks.KEqualProductBank)
    assert isinstance(stream_banks.for_direction(vec), banks.ProductBank)
    plain = montecarlo._Banks(lap, 64, np.random.SeedSequence(0), 500, options, [1, 64])
    assert isinstance(plain.for_direction(k_equal(64)), banks.ProductBank)
    for name, kw in (("gaussian", {"sigma": 1.0}), ("cauchy", {"scale": 1.0}),
                     ("gennorm", {"sigma": 1.0, "beta": 1.0})):
        assert banks.kequal_family(build_builtin(name, **kw)) is None
    assert montecarlo._n_search(lap, options, 3072, 3072) == options.n_mc
    pso = MCOptions.from_kwargs({"directions": "pso"}, 3072)
    assert montecarlo._n_search(lap, pso, 3072, 3072) < options.n_mc


@pytest.mark.parametrize("name, p", [("uniform", math.inf), ("uniform", 2.0),
                                     ("laplace", math.inf), ("laplace", 1.0)])
def test_structured_dense_runs_never_touch_the_coordinatewise_bank(monkeypatch, name, p):
    """d = 3072, n_mc = 1e5 (issue #4's setting): the structured search and the verification
    run on the exact per-row banks only, and the certificate brackets the exact engine."""
    def refuse(*a, **k):
        raise AssertionError("ProductBank built on a structured uniform/Laplace run")

    monkeypatch.setattr(banks.ProductBank, "__init__", refuse)
    nz = build_builtin(name, sigma=1.0)
    c = unicr.radius(nz, PA, p, 3072, method="mc")
    ex = unicr.radius(nz, PA, p, 3072, method="exact")
    assert c.lower == 0.0 and ex.lower <= c.upper <= 1.15 * ex.upper
    assert c.witness.detail["verified_on"] == "fresh sample"


@pytest.mark.parametrize("name, p", [("uniform", math.inf), ("uniform", 2.0),
                                     ("laplace", math.inf), ("laplace", 1.0)])
def test_exact_and_generic_paths_give_the_same_radius(monkeypatch, name, p):
    """Same law, other draws: the verified uppers agree within the DKW-ladder resolution and
    both lie above the exact engine's proven lower bound (closed forms where they exist)."""
    d = 48
    nz = build_builtin(name, sigma=1.0)
    kw = {"n_mc": 40_000, "seed": 5}
    fast = unicr.radius(nz, PA, p, d, method="mc", **kw)
    monkeypatch.setattr(banks, "kequal_family", lambda noise: None)
    slow = unicr.radius(nz, PA, p, d, method="mc", **kw)
    ex = unicr.radius(nz, PA, p, d, method="exact")
    for c in (fast, slow):
        assert c.upper >= ex.lower
    assert fast.upper == pytest.approx(slow.upper, rel=0.04)
    assert fast.witness.direction == slow.witness.direction
    if name == "uniform" and math.isinf(p):
        yang = 2 * nz.scale * (1 - (1.5 - PA) ** (1 / d))
        assert fast.upper >= yang
    if name == "laplace" and p == 1.0:
        teng = -nz.scale * math.log(2 * (1 - PA))
        assert fast.upper >= teng and fast.witness.direction == {"kind": "k-equal", "k": 1}


# ---------------------------------------------------------------------------
# kernels and samplers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name, kw", [("cauchy", {}), ("student_t", {"nu": 3.0})])
def test_one_logarithm_kernel_is_within_its_rounding_bound(name, kw):
    nz = build_builtin(name, scale=1.7, **kw)
    code, p1 = kernels.kernel_for(nz)
    rng = np.random.default_rng(0)
    n, k = 400, 120
    e = nz.sample((n, k), rng)
    e[0, :6] = [1e5, -3e4, 1e3, 9999.0, 0.0, 17.0]  # both forms, both sides of the cut
    vals = np.abs(rng.standard_normal(k))
    vals[:3] = 1.0
    for lams in (np.array([0.03]), np.array([0.03, 2.0, 50.0]), np.array([2e4]),
                 np.array([17.0 * 1.7])):
        out = np.zeros((lams.size, n))
        mag = np.zeros((lams.size, n))
        kernels._accumulate(e, vals, lams, 1 / 1.7, code, p1, out, 0, False, out, mag)
        eta = 4.0 * (k + 2) * banks._U * mag.max(axis=1)
        for t, lam in enumerate(lams):
            ref = np.array([math.fsum(nz.logpdf(e[r] - lam * vals) - nz.logpdf(e[r]))
                            for r in range(n)])
            assert np.all(np.abs(out[t] - ref) <= eta[t] + 1e-12 * np.abs(ref))


def test_random_signs_are_the_same_draws_as_before():
    """One raw word per coordinate, sign flipped iff its top bit is clear: bit-identical to
    ``np.where(rng.random(shape) < 0.5, -x, x)`` (seeded runs unchanged), fair and
    independent of x."""
    from unicr.noises.families import _random_sign

    for shape in [(), (5,), (3, 4), (0,)]:
        x = np.random.default_rng(1).standard_exponential(shape)
        old = np.where(np.random.default_rng(2).random(np.shape(x)) < 0.5, -x, x)
        new = _random_sign(x, np.random.default_rng(2))
        np.testing.assert_array_equal(np.signbit(old), np.signbit(new))
        np.testing.assert_array_equal(old, new)
    s = _random_sign(np.ones(200_000), np.random.default_rng(3))
    assert abs(np.mean(s < 0) - 0.5) < 5 * 0.5 / math.sqrt(s.size)
