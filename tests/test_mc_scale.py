"""Scale search (Hong et al. 2022, Algorithm 2 with a tolerance in lambda: S10)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from unicr.errors import ConvergenceError
from unicr.neyman_pearson.banks import GaussianBank
from unicr.neyman_pearson.direction import k_equal
from unicr.neyman_pearson.sampled import dkw_band
from unicr.neyman_pearson.statement import Statement
from unicr.noises.registry import build_builtin
from unicr.search.scale import NO_INSIDE, NO_OUTSIDE, OK, Search, search_core


def _linear(roots):
    roots = np.asarray(roots, dtype=float)

    def ev(lam, _state=None):
        return roots - lam

    return ev


@settings(max_examples=50, deadline=None)
@given(root=st.floats(1e-6, 1e6), lam0=st.floats(1e-3, 1e3), tol=st.sampled_from([1e-2, 1e-4]))
def test_bracket_contains_root_within_relative_tolerance(root, lam0, tol):
    hist_l = np.zeros(800)
    hist_m = np.zeros((800, 3))
    lo, hi, k, status = search_core(_linear([root] * 3), None, 0, lam0, 0.0, math.inf, tol,
                                    hist_l, hist_m)
    assert status == OK
    assert lo < root <= hi or lo <= root < hi
    assert hi <= lo * (1 + tol) * (1 + 1e-12)
    # the history records every evaluation
    assert np.all(hist_l[:k] > 0)


def test_no_bracket_is_an_explicit_status_and_error():
    hl, hm = np.zeros(800), np.zeros((800, 3))
    assert search_core(lambda lam, s: np.ones(3), None, 0, 1.0, 0.0, math.inf, 1e-4, hl,
                       hm)[3] == NO_OUTSIDE
    assert search_core(lambda lam, s: -np.ones(3), None, 0, 1.0, 0.0, math.inf, 1e-4, hl,
                       hm)[3] == NO_INSIDE
    with pytest.raises(ConvergenceError, match="still passed"):
        Search(evaluate=lambda lam: np.ones(3)).run(Statement.ESTIMATE, 1.0)
    with pytest.raises(ConvergenceError, match="no scale passed"):
        Search(evaluate=lambda lam: -np.ones(3)).run(Statement.PASS, 1.0)


def test_later_searches_reuse_the_cache():
    calls = []

    def ev(lam):
        calls.append(lam)
        return np.array([2.0, 1.9, 2.1]) - lam

    search = Search(evaluate=ev, rel_tol=1e-4)
    b0 = search.run(Statement.ESTIMATE, 1.0)
    n0 = len(calls)
    b1 = search.run(Statement.PASS, 1.0)
    b2 = search.run(Statement.FAIL, 1.0)
    assert b0.passes < 2.0 <= b0.fails and b1.passes < 1.9 <= b1.fails
    assert b2.passes < 2.1 <= b2.fails
    cached = len(calls) - n0
    # the pass/fail searches start from the cached bracket: fewer evaluations than the same
    # searches from scratch
    calls.clear()
    Search(evaluate=ev, rel_tol=1e-4).run(Statement.PASS, 1.0)
    Search(evaluate=ev, rel_tol=1e-4).run(Statement.FAIL, 1.0)
    assert cached < len(calls)


def test_gaussian_search_recovers_cohen_radius():
    g = build_builtin("gaussian", sigma=2.0)
    n = 50_000
    bank = GaussianBank(g, n, np.random.SeedSequence(11), np.float64)
    d = dkw_band(n, 1e-3)
    srch = Search.along(bank.model(k_equal(1)), 0.9, None, d, d, 1e-4)
    est = srch.run(Statement.ESTIMATE, 1.0)
    exact = 2.0 * norm.ppf(0.9)
    assert est.mid == pytest.approx(exact, rel=0.02)
    p = srch.run(Statement.PASS, est.passes)
    f = srch.run(Statement.FAIL, est.fails)
    assert p.passes < exact < f.fails
    assert f.fails / f.passes - 1 <= 1e-4 * (1 + 1e-9)
    # rotation invariance: the all-ones direction gives the same l2 boundary
    srch4 = Search.along(bank.model(k_equal(4)), 0.9, None, d, d, 1e-4)
    assert srch4.run(Statement.ESTIMATE, 1.0).mid * 2.0 == pytest.approx(est.mid, rel=2e-4)


def test_neyman_pearson_stage_never_imports_search_or_engines():
    """Layering (#13): the Neyman-Pearson stage hands out margin functions; the search stage
    builds the searches (:meth:`Search.along`), never the other way round."""
    import ast
    from pathlib import Path

    import unicr.neyman_pearson as stage

    for path in Path(stage.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                assert not name.startswith(("unicr.search", "unicr.engines")), (path.name, name)
