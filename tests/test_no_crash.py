"""No native crash, no traceback: the engine reproducers of issue #11 (items 3 and 5).

Each command runs as a subprocess of the CLI, because a segfault or SIGBUS would take the test
process down with it; the contract is exit code 0 (a result) or 2 (a clear error on one line),
never a signal, never exit 1 and never "Traceback" on stderr.  The commands run two at a time
(the module's budget is about a minute on two cores); every test then reads its own outcome.

The in-process tests at the end check how :func:`unicr.radius` treats engine options.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import unicr
from unicr.errors import InvalidParameterError

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 150  # seconds per command; the slowest (d = 10^12) takes ~10 s on an idle core

#: id -> (arguments of ``unicr radius``, allowed exit codes, text stderr must contain)
CASES: dict[str, tuple[list[str], tuple[int, ...], str]] = {
    # segfaults of the chord sweep (exact/lattice.py)
    "laplace-pa-half-d2": (["laplace", "--pa", "0.500000000001", "--norm", "2", "--d", "2"],
                           (0,), ""),
    "laplace-pa-half-d1e6-inf": (["laplace", "--pa", "0.500000000001", "--norm", "inf",
                                  "--d", "1000000"], (0, 2), ""),
    "laplace-pa-near-1-d1e6": (["laplace", "--pa", "0.999999", "--norm", "2", "--d", "1000000"],
                               (0, 2), ""),
    "laplace-d1e12": (["laplace", "--pa", "0.9", "--norm", "2", "--d", "1000000000000"],
                      (0, 2), ""),
    # "Target length must be positive" (heavy tails at d = 10^6)
    "cauchy-d1e6": (["cauchy", "--pa", "0.9", "--norm", "1", "--d", "1000000"], (0, 2), ""),
    "student-d1e6": (["student_t", "--pa", "0.9", "--norm", "1", "--d", "1000000"], (0, 2), ""),
    "pareto-d1e6": (["pareto", "--pa", "0.9", "--norm", "1", "--d", "1000000"], (0, 2), ""),
    "cauchy-pa-1e-12-linf-d1e6": (["cauchy", "--pa", "0.999999999999", "--norm", "inf",
                                   "--d", "1000000"], (0, 2), ""),
    # gennorm with a large beta (ConvergenceError / empty score law)
    "gennorm-beta-1e3": (["gennorm", "--param", "beta=1000", "--pa", "0.9", "--norm", "2",
                          "--d", "10"], (0, 2), ""),
    "gennorm-beta-1e50": (["gennorm", "--param", "beta=1e50", "--pa", "0.9", "--norm", "2",
                           "--d", "10"], (0, 2), ""),
    # extreme scales, both engines
    "gauss-scale-1e-100": (["gaussian", "--scale", "1e-100", "--pa", "0.9", "--norm", "2",
                            "--d", "10"], (0,), ""),
    "laplace-scale-1e-20-l1": (["laplace", "--scale", "1e-20", "--pa", "0.9", "--norm", "1",
                                "--d", "10"], (0,), ""),
    "laplace-sigma-1e308": (["laplace", "--sigma", "1e308", "--pa", "0.9", "--norm", "0.5",
                             "--d", "10"], (0, 2), ""),
    "mc-cauchy-scale-1e-100": (["cauchy", "--method", "mc", "--n-mc", "2000", "--scale",
                                "1e-100", "--pa", "0.999999", "--norm", "inf", "--d", "100"],
                               (0, 2), ""),
    "mc-laplace-pa-half": (["laplace", "--method", "mc", "--n-mc", "1000", "--pa",
                            "0.500000000001", "--norm", "3", "--d", "10"], (0, 2), ""),
    # sizes from user input checked before allocation (7 TiB / 8 TB arrays before)
    "uniform-d1e12": (["uniform", "--pa", "0.9", "--norm", "3", "--d", "1000000000000"], (0,),
                      ""),
    "mc-d1e12": (["laplace", "--method", "mc", "--n-mc", "1000", "--pa", "0.9", "--norm", "2",
                  "--d", "1000000000000"], (2,), "memory_budget"),
    # engine options the chosen engine does not take (TypeError / ValueError before)
    "auto-gauss-n-mc": (["gaussian", "--n-mc", "1000", "--pa", "0.9", "--norm", "2", "--d",
                         "10"], (2,), "--n-mc"),
    "auto-laplace-directions-pso": (["laplace", "--directions", "pso", "--pa", "0.9", "--norm",
                                     "2", "--d", "10"], (2,), "directions"),
    # SIGBUS: a NaN integrand reached scipy's quad in fisher_information (noise side)
    "spec-exp-abs-x-0.1": (["{spec}", "--pa", "0.9", "--norm", "2", "--d", "10"], (0, 2), ""),
}


def _run(argv: list[str]) -> tuple[int, str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["MPLBACKEND"] = "Agg"
    env["PYTHONWARNINGS"] = "ignore"
    try:
        r = subprocess.run([sys.executable, "-m", "unicr.cli", "radius", *argv], env=env,
                           capture_output=True, text=True, timeout=TIMEOUT, cwd=str(ROOT))
    except subprocess.TimeoutExpired:
        return -999, "", f"timed out after {TIMEOUT} s"
    return r.returncode, r.stdout, r.stderr


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, str]]:
    spec = tmp_path_factory.mktemp("specs") / "heavy01.toml"
    spec.write_text('name = "heavy01"\npdf = "exp(-abs(x)**0.1)"\n')
    jobs = {cid: [a.replace("{spec}", str(spec)) for a in argv]
            for cid, (argv, _, _) in CASES.items()}
    # longest first, two at a time
    order = sorted(jobs, key=lambda c: "1000000" not in " ".join(jobs[c]))
    with ThreadPoolExecutor(max_workers=2) as pool:
        futs = {cid: pool.submit(_run, jobs[cid]) for cid in order}
        return {cid: f.result() for cid, f in futs.items()}


@pytest.mark.parametrize("cid", list(CASES))
def test_cli_exits_cleanly(outcomes: dict[str, tuple[int, str, str]], cid: str):
    code, out, err = outcomes[cid]
    _, allowed, needle = CASES[cid]
    what = f"unicr radius {' '.join(CASES[cid][0])}: exit {code}\n{err[-2000:]}"
    assert code in allowed, what
    assert "Traceback" not in err, what
    if code == 2:
        lines = [ln for ln in err.strip().splitlines() if ln.startswith("unicr: error")]
        assert lines, what
    if needle:
        assert needle in err, what
    if code == 0:
        low = [ln for ln in out.splitlines() if ln.strip().startswith("lower")]
        up = [ln for ln in out.splitlines() if ln.strip().startswith("upper")]
        assert low and up, out
        lo, hi = (float(ln.rsplit("=", 1)[1]) for ln in (low[0], up[0]))
        assert not (math.isnan(lo) or math.isnan(hi)) and 0.0 <= lo <= hi, out


# -- engine options (issue #11 item 5, unicr/certify.py) ----------------------------------------


def test_seed_is_accepted_and_ignored_by_the_deterministic_engine():
    c = unicr.radius("gaussian", pa=0.9, norm=2, d=10, seed=0)
    ref = unicr.radius("gaussian", pa=0.9, norm=2, d=10)
    assert c.method == "exact" and c.lower == ref.lower and c.upper == ref.upper
    with pytest.raises(InvalidParameterError, match="seed"):
        unicr.radius("gaussian", pa=0.9, norm=2, d=10, seed=-1)


@pytest.mark.parametrize("method, kw, words", [
    ("auto", {"n_mc": 1000}, ["'n_mc'", "method auto", "exact engine", "choose method mc"]),
    ("exact", {"alpha_np": 1e-3}, ["'alpha_np'", "method exact", "choose method mc"]),
    ("mc", {"rtol": 1e-3}, ["'rtol'", "mc engine", "choose method exact"]),
    ("auto", {"frobnicate": 1}, ["'frobnicate'", "no engine takes it"]),
    ("exact", {"directions": "pso"}, ["directions", "mc engine"]),
    ("exact", {"directions": [0, 3]}, ["directions", "[1, d=10]"]),
    ("exact", {"two_level": [(1, 2)]}, ["two_level", "triples"]),
    ("exact", {"rtol": -1.0}, ["rtol", "(0, 0.5]"]),
    ("exact", {"c_h": math.nan}, ["c_h"]),
])
def test_engine_options_the_engine_does_not_take_are_named(method, kw, words):
    with pytest.raises(InvalidParameterError) as ei:
        unicr.radius("laplace", pa=0.9, norm=2, d=10, method=method, **kw)
    for w in words:
        assert w in str(ei.value), str(ei.value)


def test_valid_exact_options_still_reach_the_engine():
    c = unicr.radius("laplace", pa=0.9, norm=1, d=10, method="exact", directions=[1, 10],
                     two_level=[(2, 3, 0.5)], rtol=1e-4)
    assert 0 < c.lower <= c.upper
    assert "k in [1, 10]" in " ".join(c.assumptions)


def test_yang_laplace_linf_at_huge_d_is_bounded_in_size():
    """Yang et al.'s Laplace l_inf integral allocated O(d) binomial atoms (MemoryError at
    d = 10^12); only the O(sqrt(d log(1/(1-pA)))) atoms that meet the integration range are
    built now, and the value approaches its Gaussian limit Phi^-1(pA) / sqrt(d) from below."""
    from scipy import special

    from unicr.closed_form.yang import yang_laplace_linf

    r = yang_laplace_linf(0.9, 1.0, 10**10)
    g = float(special.ndtri(0.9)) / 1e5
    assert r <= g and r == pytest.approx(g, rel=1e-4)
    assert yang_laplace_linf(0.9, 1.0, 1) == pytest.approx(-math.log(0.2), rel=1e-9)  # Teng
    with pytest.raises(InvalidParameterError, match="binomial atoms"):
        yang_laplace_linf(0.9, 1.0, 10**12)
