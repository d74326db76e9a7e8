"""Curves: band consistency, sound lookup between grid points, disk cache, lookup speed."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from unicr.engines import curve, radius_exact
from unicr.engines import curve_cache as curves_mod
from unicr.errors import InvalidParameterError, NotProductNoiseError
from unicr.noises.registry import build_builtin

GRID = np.linspace(0.55, 0.99, 9)


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("UNICR_CACHE_DIR", str(tmp_path))
    curves_mod._MEM.clear()
    yield
    curves_mod._MEM.clear()


@pytest.mark.parametrize("name,kw", [("laplace", {}), ("cauchy", {}), ("gaussian", {}),
                                     ("uniform", {})])
def test_curve_band_and_lookup(name, kw):
    nz = build_builtin(name, scale=1.0, **kw)
    d = 64
    c = curve(nz, [1, 2, "inf"], d, GRID)
    for lab in ("1", "2", "inf"):
        lo, up = c.lower[lab], c.upper[lab]
        assert np.all(lo >= 0) and np.all(lo <= up * (1 + 1e-9))
        assert np.all(np.diff(lo) >= -1e-12)  # monotone in pA
    # off-grid lookup is sound against a direct computation
    pa = 0.8123
    for p, lab in ((1.0, "1"), (2.0, "2"), (math.inf, "inf")):
        lo, up = c.lookup(pa, p)
        direct = radius_exact(nz, pa, None, p, d)
        assert lo <= direct.upper * (1 + 1e-9)
        assert up >= direct.lower * (1 - 1e-9)
        i = np.searchsorted(GRID, pa) - 1
        assert lo == c.lower[lab][i] and up == c.upper[lab][i + 1]
    assert c.lookup(0.5, 2) is None  # abstain
    assert c.lookup(0.999, 2)[1] == math.inf  # beyond the grid: no upper bound
    assert c.lookup(0.51, 2)[0] == 0.0  # below the grid: nothing proven
    cert = c.certificate(0.8123, 2)
    assert cert.lower <= cert.upper and cert.method == "exact-curve"


def test_curve_grid_points_agree_with_radius_exact():
    nz = build_builtin("logistic", scale=1.0)
    c = curve(nz, [1, "inf"], 64, GRID)
    for j in (0, 4, 8):
        for p, lab in ((1.0, "1"), (math.inf, "inf")):
            direct = radius_exact(nz, float(GRID[j]), None, p, 64)
            assert c.lower[lab][j] == pytest.approx(direct.lower, rel=1e-12)
            assert c.upper[lab][j] >= direct.lower
            assert c.upper[lab][j] <= direct.upper * (1 + 1e-2)


def test_disk_cache_roundtrip(tmp_path):
    nz = build_builtin("laplace", scale=2.0)
    c1 = curve(nz, [2, "inf"], 32, GRID)
    files = list(tmp_path.glob("exact-*.npz"))
    assert len(files) == 1
    curves_mod._MEM.clear()
    t = time.perf_counter()
    c2 = curve(nz, [2, "inf"], 32, GRID)
    assert time.perf_counter() - t < 0.5  # read from disk, not recomputed
    for lab in ("2", "inf"):
        assert np.array_equal(c1.lower[lab], c2.lower[lab])
        assert np.array_equal(c1.upper[lab], c2.upper[lab])
    # another key (different d) is a different file
    curve(nz, [2], 33, GRID)
    assert len(list(tmp_path.glob("exact-*.npz"))) == 2


def test_lookup_speed():
    nz = build_builtin("gaussian", scale=1.0)
    c = curve(nz, [2], 3072, np.linspace(0.51, 0.999, 100))
    n = 20000
    best = math.inf
    xs = [0.6 + 0.3 * i / n for i in range(n)]
    for _ in range(5):
        t = time.perf_counter()
        for x in xs:
            c.lookup(x, 2)
        best = min(best, (time.perf_counter() - t) / n)
    assert best < 10e-6, f"lookup took {best * 1e6:.2f} us"


def test_curve_bad_input():
    nz = build_builtin("gaussian")
    with pytest.raises(InvalidParameterError):
        curve(nz, 2, 10, [0.9, 0.8])
    with pytest.raises(InvalidParameterError):
        curve(nz, 2, 10, [0.5, 1.0])
    with pytest.raises(InvalidParameterError):
        curve(nz, 0, 10, [0.9])

    from unicr.noises.base import JointNoise

    class J(JointNoise):
        name = "joint-double"

        def _rms1(self) -> float:
            return 1.0

    with pytest.raises(NotProductNoiseError):
        curve(J(3), 2, 3, [0.9])
