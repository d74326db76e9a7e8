"""pA-R curves (unicr.reporting.curves) and their CSV/figure writers (unicr.reporting.plot).

Cross-checks against closed forms (Cohen et al. 2019 Thm. 1, Teng et al. 2020), scale
equivariance R(c sigma) = c R(sigma), monotonicity in pA, and clear errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

import unicr
from unicr.closed_form import UnknownFormulaError
from unicr.errors import InvalidParameterError, NotProductNoiseError
from unicr.reporting.curves import (
    NoiseItem,
    auto_overlays,
    catalogue_names,
    closed_form_overlay,
    compute_curves,
    pa_grid,
    parse_noise_item,
    resolve_noises,
)
from unicr.reporting.plot import CSV_COLUMNS, OVERLAY_PREFIX, CurveData, plot_curves, read_csv, write_csv

D = 64
GRID = pa_grid(0.5, 0.99, 6)


pytestmark = pytest.mark.usefixtures("isolated_curve_cache")


# -- grid --------------------------------------------------------------------


def test_pa_grid_probit_and_linear():
    g = pa_grid(0.5, 0.999, 10)
    assert len(g) == 10 and g[-1] == 0.999 and g[0] > 0.5
    z = special.ndtri(g)
    assert np.allclose(np.diff(z), z[0])  # evenly spaced in Phi^-1(pA), starting at 0
    lin = pa_grid(0.6, 0.9, 3, spacing="linear")
    assert np.allclose(lin, [0.7, 0.8, 0.9])
    two = pa_grid(0.3, 0.7, 4, pb=0.3)
    assert two[0] > 0.3 and two[-1] == 0.7


@pytest.mark.parametrize("kw,needle", [
    (dict(pa_min=0.4), "pa_min must be >= 0.5"),
    (dict(pa_max=1.0), "pa_max must be < 1"),
    (dict(pa_min=0.9, pa_max=0.8), "must be larger than pa_min"),
    (dict(points=1), "points must be >= 2"),
    (dict(spacing="log"), "spacing"),
    (dict(pa_min=0.2, pb=0.3), "pB = 0.3"),
    (dict(pa_min=0.5, pa_max=0.8, pb=0.3), "pa_max + pB"),
])
def test_pa_grid_errors_name_the_argument(kw, needle):
    with pytest.raises(InvalidParameterError, match=needle.replace("+", r"\+")):
        pa_grid(**kw)


# -- noise items -------------------------------------------------------------


def test_parse_noise_item():
    assert parse_noise_item("gaussian") == NoiseItem("gaussian")
    it = parse_noise_item("gennorm:beta=1.5,sigma=0.5")
    assert it.name == "gennorm" and it.shape == {"beta": 1.5} and it.get("sigma") == 0.5
    assert parse_noise_item("dir/my:noise.toml").name == "dir/my:noise.toml"  # no '=': a path
    for bad, needle in [("gennorm:beta=x", "not a number"), ("gennorm:beta", "expected"),
                        ("gennorm:beta=1,beta=2", "twice"), ("g:sigma=1,scale=1", "not both"),
                        ("", "empty")]:
        with pytest.raises(InvalidParameterError, match=needle):
            parse_noise_item(bad)


def test_resolve_noises_all_and_infinite_variance():
    names = catalogue_names()
    assert "gaussian" in names and "gennorm" in names and "cauchy" not in names
    assert "exp2" not in names and "exp2" in catalogue_names(joint=True)
    pairs = resolve_noises(["all"], d=D)
    assert [nz.name for _, nz in pairs] == names
    assert all(nz.is_product and math.isclose(nz.sigma, 1.0, rel_tol=1e-6) for _, nz in pairs)
    (lab, nz), = resolve_noises(["cauchy"], d=D)  # no variance: native scale 1
    assert nz.scale == 1.0 and "=1" in lab
    pairs = resolve_noises(["gennorm:beta=1", "gennorm:beta=1", "laplace:sigma=2"], d=D)
    assert pairs[0][0] != pairs[1][0]  # labels made unique
    assert pairs[2][1].sigma == pytest.approx(2.0) and "sigma=2" in pairs[2][0]


# -- curves against closed forms -----------------------------------------------


def test_gaussian_curves_equal_cohen():
    """Gaussian: l1 = l2 = sigma Phi^-1(pA), l_inf = that / sqrt(d) (Cohen et al. 2019, Thm. 1)."""
    sigma = 0.7
    cs = compute_curves("gaussian", [1, 2, "inf"], D, GRID, sigma=sigma, overlays=["cohen"])
    want = sigma * stats.norm.ppf(GRID)
    by = {c.norm: c for c in cs}
    for p, factor in ((1.0, 1.0), (2.0, 1.0), (math.inf, 1 / math.sqrt(D))):
        c = by[p]
        assert c.method == "exact" and c.estimate is None and np.all(c.confidence_array() == 1)
        assert np.all(c.lower <= want * factor * (1 + 1e-9))
        assert np.all(c.upper >= want * factor * (1 - 1e-9))
        assert np.allclose(c.lower, want * factor, rtol=1e-5)
    assert np.allclose(by[2.0].overlays["cohen"], want, rtol=1e-12)
    assert by[2.0].overlay_status["cohen"] == "tight"
    assert "cohen" not in by[1.0].overlays  # Cohen's formula is an l2 certificate only


def test_laplace_l1_band_contains_teng_and_auto_overlays():
    cs = compute_curves(["laplace"], [1, 2], D, GRID, overlays="auto")
    l1 = next(c for c in cs if c.norm == 1.0)
    lam = unicr.noise("laplace").scale
    teng = -lam * np.log(2 * (1 - GRID))  # Teng et al. 2020, binary
    assert list(l1.overlays) == ["teng"] and np.allclose(l1.overlays["teng"], teng)
    assert np.all(l1.lower <= teng * (1 + 1e-6)) and np.all(teng <= l1.upper * (1 + 1e-6))
    l2 = next(c for c in cs if c.norm == 2.0)
    assert l2.overlays == {}  # no published l2 formula for Laplace noise
    assert np.all(l2.lower <= l2.upper) and np.all(l2.lower > 0)


@settings(max_examples=6, deadline=None)
@given(c=st.floats(0.2, 5.0), name=st.sampled_from(["laplace", "logistic", "hsecant"]))
def test_scale_equivariance(c, name):
    """R*(c sigma) = c R*(sigma): the band scales with sigma (both bounds)."""
    a = compute_curves(name, [1, 2], 16, GRID[:3], sigma=1.0)
    b = compute_curves(name, [1, 2], 16, GRID[:3], sigma=c)
    for ca, cb in zip(a, b):
        assert np.allclose(cb.lower, c * ca.lower, rtol=1e-6)
        assert np.allclose(cb.upper, c * ca.upper, rtol=1e-6)


@pytest.mark.parametrize("name", ["laplace", "uniform", "pareto:a=3"])
def test_monotone_and_ordered(name):
    for c in compute_curves(name, [1, 2, "inf"], D, GRID):
        assert np.all(c.lower >= 0) and np.all(c.lower <= c.upper * (1 + 1e-9))
        assert np.all(np.diff(c.lower) >= -1e-12) and np.all(np.diff(c.upper) >= -1e-9)


def test_auto_overlays_are_certificates_inside_the_band():
    """'auto' only picks tight or proven-lower formulas; tight ones lie inside the band."""
    for name in ("gaussian", "laplace", "uniform", "gennorm:beta=1.5", "pareto:a=3"):
        for c in compute_curves(name, [1, 2, "inf"], D, GRID, overlays="auto"):
            for f, vals in c.overlays.items():
                status = c.overlay_status[f]
                assert status in ("tight", "lower"), (name, f, status)
                ok = np.isfinite(vals)
                assert np.all(vals[ok] <= c.upper[ok] * (1 + 1e-5) + 1e-12), (name, f)
                if status == "tight":
                    assert np.all(vals[ok] >= c.lower[ok] * (1 - 1e-5) - 1e-12), (name, f)


def test_overlay_errors():
    with pytest.raises(UnknownFormulaError, match="cohen"):
        compute_curves("gaussian", [2], D, GRID, overlays=["cohenn"])
    with pytest.raises(InvalidParameterError, match="'teng'.*applies to none"):
        compute_curves("gaussian", [2], D, GRID, overlays=["teng"])
    with pytest.raises(InvalidParameterError, match="auto"):
        compute_curves("gaussian", [2], D, GRID, overlays=["auto", "cohen"])
    nz = unicr.noise("gennorm", beta=1.5)
    assert closed_form_overlay("cohen", nz, 2.0, D, GRID) is None  # beta != 2: not Gaussian
    assert auto_overlays(nz, 2.0, D, GRID) == {}


def test_bad_inputs():
    with pytest.raises(InvalidParameterError, match="no certificate"):
        compute_curves("gaussian", [2], D, [0.5, 0.7])
    with pytest.raises(InvalidParameterError, match="increasing"):
        compute_curves("gaussian", [2], D, [0.9, 0.7])
    with pytest.raises(InvalidParameterError, match="norm"):
        compute_curves("gaussian", [-1], D, GRID)
    with pytest.raises(InvalidParameterError, match="dimension"):
        compute_curves("gaussian", [2], 0, GRID)
    with pytest.raises(NotProductNoiseError, match="exp2"):
        compute_curves("exp2", [2], D, GRID, method="exact")
    with pytest.raises(InvalidParameterError, match="Monte Carlo"):
        compute_curves("gaussian", [2], D, GRID, mc_options={"n_mc": 100})
    with pytest.raises(unicr.UnicrError, match="unknown noise"):
        compute_curves("nosuchnoise", [2], D, GRID)


def test_monte_carlo_curve_joint_noise():
    """Exp2 (joint, l2-radial): sound MC band at confidence 1 - alpha contains Yang et al.'s
    tight closed form (fixed seed)."""
    grid = np.array([0.7, 0.9])
    (c,) = compute_curves("exp2", [2], 32, grid, overlays=["yang_exp2"],
                          mc_options={"n_mc": 4000, "seed": 1})
    assert c.method == "mc" and c.estimate is not None
    assert np.allclose(c.confidence_array(), 0.999)
    exact = c.overlays["yang_exp2"]
    assert np.all(c.lower <= exact) and np.all(exact <= c.upper)
    assert np.all(c.lower > 0)  # rotation invariance gives a proven lower bound


# -- CSV and figure ---------------------------------------------------------------


def test_csv_round_trip(tmp_path):
    cs = compute_curves(["gaussian", "laplace"], [1, "inf"], D, GRID, overlays="auto")
    cs.append(CurveData("mc-like", 2.0, D, GRID, np.zeros(len(GRID)),
                        np.full(len(GRID), math.inf), estimate=GRID.copy(), method="mc",
                        confidence=0.99))
    path = write_csv(cs, tmp_path / "sub" / "c.csv")
    header = path.read_text().splitlines()[0].split(",")
    assert tuple(header[:len(CSV_COLUMNS)]) == CSV_COLUMNS
    assert all(h.startswith(OVERLAY_PREFIX) for h in header[len(CSV_COLUMNS):])
    rows = read_csv(path)
    assert len(rows) == len(cs) * len(GRID)
    mc = [r for r in rows if r["noise"] == "mc-like"]
    assert mc[0]["upper"] == math.inf and mc[0]["confidence"] == 0.99
    assert mc[0]["closed_form:teng"] is None  # not applicable: empty cell
    g2 = [r for r in rows if r["noise"] == "gaussian" and r["norm"] == "1"]
    assert [r["pa"] for r in g2] == pytest.approx(list(GRID), rel=1e-15)


def test_plot_is_not_blank(tmp_path):
    from unicr.reporting.plot import save_figure

    cs = compute_curves(["gaussian", "laplace"], [1, 2], 16, GRID[:4], overlays="auto")
    path = save_figure(plot_curves(cs, title="t", logy=True), tmp_path / "f.png")
    import matplotlib.image as mpimg

    img = mpimg.imread(path)
    assert img.shape[0] > 200 and img.shape[1] > 400 and img[..., :3].std() > 0.05
