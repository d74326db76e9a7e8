"""Fuzz harness (issue #11 item 8): hostile expressions, spec files and command lines.

Invariants checked on every generated case (see docs/fuzzing.md):

* no code execution: a hostile expression never creates the sentinel file;
* expressions are refused with an ExpressionError only; spec files with a UnicrError only;
* the CLI exits with 0 or 2 only (never 1, never a signal), prints no traceback, prints no
  NaN, and every JSON radius has lower <= upper;
* no case runs longer than its bound (``TIMEOUTS``);
* an accepted product noise is sane: cdf monotone in [0, 1], cdf(ppf(u)) ~ u, finite draws
  that pass a KS test against the cdf, logpdf finite at the draws, sigma not contradicted.

Budgets: by default a fixed, derandomized number of examples (about one minute in total).
``UNICR_FUZZ_EXAMPLES=N`` runs about N cases in total, split by ``SHARES``;
``UNICR_FUZZ_SEED=S`` explores randomly from seed S instead of the fixed derandomized
sequence; ``UNICR_FUZZ_COLLECT=path.jsonl`` records every failure to that file instead of
stopping at the first one (summarise it with ``python tests/fuzz/summarize.py path.jsonl``);
``UNICR_FUZZ_STATS=path.jsonl`` logs every case (kind, seconds, exit code, accepted);
``UNICR_FUZZ_ONLY=spec,cli:certify`` runs only some groups or CLI commands;
``UNICR_FUZZ_SHRINK=1`` lets hypothesis shrink a failing case (off by default: shrinking
re-runs slow cases many times).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fuzz import strategies as argv_strategies
from fuzz.cases import SENTINEL, check_cli_result
from fuzz.sandbox import Sandbox, limit_memory
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[1]

#: per-case time bounds (seconds): a case running longer is a "hang" failure
TIMEOUTS = {"expression": 10.0, "spec": 30.0, "cli": 60.0, "subprocess": 90.0}

#: examples per test in the default (CI) run
CI_EXAMPLES = {"expression": 1200, "spec": 120, "cli": 6, "subprocess": 4}

#: share of UNICR_FUZZ_EXAMPLES per group (the CLI share is split by command weight)
SHARES = {"expression": 0.60, "spec": 0.12, "cli": 0.26, "subprocess": 0.02}

_TOTAL = int(os.environ["UNICR_FUZZ_EXAMPLES"]) if os.environ.get("UNICR_FUZZ_EXAMPLES") else None
_SEED = os.environ.get("UNICR_FUZZ_SEED")
_COLLECT = os.environ.get("UNICR_FUZZ_COLLECT")
_STATS = os.environ.get("UNICR_FUZZ_STATS")
_ONLY = set(filter(None, os.environ.get("UNICR_FUZZ_ONLY", "").split(",")))
_CLI_WEIGHT = sum(w for _, _, w in argv_strategies.CLI_COMMANDS)


def _examples(group: str, weight: int = 1) -> int:
    if _TOTAL is None:
        return CI_EXAMPLES[group] * (weight if group == "cli" else 1)
    n = _TOTAL * SHARES[group]
    if group == "cli":
        n = n * weight / _CLI_WEIGHT
    return max(1, round(n))


def _settings(group: str, weight: int = 1) -> Any:
    phases = [Phase.explicit, Phase.reuse, Phase.generate]
    if os.environ.get("UNICR_FUZZ_SHRINK") == "1":
        phases.append(Phase.shrink)
    return settings(max_examples=_examples(group, weight), deadline=None,
                    derandomize=_SEED is None, database=None, phases=phases,
                    suppress_health_check=list(HealthCheck), print_blob=True)


def _maybe_seed(fn: Any) -> Any:
    return seed(int(_SEED))(fn) if _SEED is not None else fn


def _skip_unless(group: str, command: str | None = None) -> None:
    """``UNICR_FUZZ_ONLY`` names groups (``expression``, ``spec``, ``cli``, ``subprocess``) or
    single CLI commands (``cli:certify``)."""
    if _ONLY and group not in _ONLY and f"{group}:{command}" not in _ONLY:
        pytest.skip(f"UNICR_FUZZ_ONLY={','.join(sorted(_ONLY))}")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Any:
    box = Sandbox(tmp_path_factory.mktemp("fuzz-cases"))
    yield box
    box.close()


def _report(test: str, kind: str, payload: dict[str, Any], result: dict[str, Any],
            repro: str) -> None:
    """Collector mode: append the failures; otherwise fail the example with all of them."""
    fails = result.get("failures", [])
    if not fails:
        return
    if _COLLECT:
        with open(_COLLECT, "a", encoding="utf-8") as fh:
            for f in fails:
                rec = {"test": test, "kind": kind, "repro": repro, **f,
                       "payload": {k: v for k, v in payload.items() if k != "dir"},
                       "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
                fh.write(json.dumps(rec, default=repr) + "\n")
        return
    text = "\n\n".join(f"[{f['check']}] {f['signature']}\n{f['message']}" for f in fails)
    pytest.fail(f"reproducer: {repro}\n\n{text}", pytrace=False)


#: results by payload: hypothesis repeats examples, and a repeated hang would cost its bound again
_SEEN: dict[str, dict[str, Any]] = {}


def _run(box: Sandbox, kind: str, payload: dict[str, Any]) -> tuple[dict[str, Any], Path]:
    key = kind + json.dumps(payload, sort_keys=True, default=repr)
    if key in _SEEN:
        return json.loads(json.dumps(_SEEN[key])), box.root
    case_dir = box.new_case_dir()
    payload = {**payload, "dir": str(case_dir)}
    t0 = time.monotonic()
    result = box.run(kind, payload, TIMEOUTS[kind])
    for f in result.get("failures", []):
        if f["check"] in ("hang", "native-crash") and payload.get("argv"):
            f["signature"] = f"{f['signature']}:{payload['argv'][0]}"
    if _STATS:
        info = result.get("info", {})
        with open(_STATS, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"kind": kind, "seconds": round(time.monotonic() - t0, 3),
                                 "argv": payload.get("argv"), "accepted": info.get("accepted"),
                                 "code": info.get("code"), "failures": len(result.get("failures", []))},
                                default=repr) + "\n")
    if (case_dir / SENTINEL).exists() or (Path.cwd() / SENTINEL).exists():
        result.setdefault("failures", []).append(
            {"check": "code-execution", "signature": "code-execution",
             "message": f"{SENTINEL} appeared: the input ran code"})
    if len(_SEEN) < 100000:
        _SEEN[key] = json.loads(json.dumps(result, default=repr))
    return result, case_dir


# ---------------------------------------------------------------------------
# the harness detects what it claims to detect
# ---------------------------------------------------------------------------


def test_harness_detects_crash_hang_and_code_execution(tmp_path: Path) -> None:
    """A segfault, a hang and a created sentinel each come back as a failure; the worker
    restarts after each and answers the next case."""
    box = Sandbox(tmp_path)
    try:
        crash = box.run("selftest", {"action": "segv", "dir": str(box.new_case_dir())}, 30)
        assert [f["signature"] for f in crash["failures"]] == ["selftest:crash:SIGSEGV"]
        hang = box.run("selftest", {"action": "sleep", "seconds": 30,
                                    "dir": str(box.new_case_dir())}, 1.0)
        assert [f["check"] for f in hang["failures"]] == ["hang"]
        ran = box.run("selftest", {"action": "sentinel", "dir": str(box.new_case_dir())}, 30)
        assert [f["check"] for f in ran["failures"]] == ["code-execution"]
        ok = box.run("selftest", {"action": "none", "dir": str(box.new_case_dir())}, 30)
        assert ok["failures"] == []
    finally:
        box.close()


@pytest.mark.parametrize(("code", "out", "err", "argv", "check"), [
    (1, "", "ERROR unicr: internal error\nTraceback (most recent call last):\nValueError: x\n",
     ["radius"], "exit-code"),
    ("signal-SIGSEGV", "", "", ["radius"], "exit-code"),
    (2, "", "Traceback (most recent call last):\nKeyError: 1\n", ["pdfs"], "traceback"),
    (0, "  lower (proven <= R*)  = nan\n", "", ["radius"], "nan-output"),
    (0, '{"lower": 2.0, "upper": 1.0}', "", ["radius", "--json"], "radius-order"),
    (0, '{"lower": null, "upper": 1.0, "abstain": false}', "", ["radius", "--json"],
     "nan-output"),
    (0, '{"curves": [{"lower": [0.1, 0.5], "upper": [0.2, 0.4]}]}', "", ["curve", "--json"],
     "radius-order"),
])
def test_cli_invariants_fire(code: Any, out: str, err: str, argv: list[str], check: str) -> None:
    """Each CLI invariant rejects a synthetic output that breaks it ..."""
    assert check in [f["check"] for f in check_cli_result(argv, code, out, err)]


def test_cli_invariants_accept_good_output() -> None:
    """... and accepts good ones (an inf upper, a refusal with exit 2, the word 'nandi')."""
    good = '{"lower": 0.5, "upper": "inf", "abstain": false, "formula": "nandi"}'
    assert check_cli_result(["radius", "--json"], 0, good, "") == []
    assert check_cli_result(["radius"], 2, "", "unicr: error: --pa must be in (0, 1)\n") == []
    assert check_cli_result(["radius", "--json", "--help"], 0, "usage: unicr radius\n", "") == []


# ---------------------------------------------------------------------------
# (a) density expressions
# ---------------------------------------------------------------------------


@_maybe_seed
@_settings("expression")
@given(text=argv_strategies.EXPRESSION, numba=st.integers(0, 19).map(lambda k: k == 0),
       values=st.fixed_dictionaries({p: st.sampled_from((0.0, 1.0, 2.5, -1.0, 1e300, 1e-300))
                                     for p in argv_strategies.PARAM_NAMES}))
def test_fuzz_expressions(sandbox: Sandbox, text: str, numba: bool,
                          values: dict[str, float]) -> None:
    """Compile any text: refused with ExpressionError (and nothing runs) or evaluable."""
    _skip_unless("expression")
    payload = {"text": text, "params": list(argv_strategies.PARAM_NAMES), "values": values, "numba": numba}
    result, _ = _run(sandbox, "expression", payload)
    _report("test_fuzz_expressions", "expression", payload, result,
            f"compile_expression({text!r}, params={list(argv_strategies.PARAM_NAMES)})")


def test_hostile_expressions_never_run(sandbox: Sandbox) -> None:
    """Every hostile construct of the corpus is refused and never creates the sentinel."""
    _skip_unless("expression")
    for text in argv_strategies.HOSTILE:
        payload = {"text": text, "params": [], "values": {}}
        result, case_dir = _run(sandbox, "expression", payload)
        assert not (case_dir / SENTINEL).exists(), text
        if text in argv_strategies.DANGEROUS and result.get("info", {}).get("accepted"):
            result.setdefault("failures", []).append(
                {"check": "code-execution", "signature": "expression:dangerous-accepted",
                 "message": f"{text!r} was accepted"})
        _report("test_hostile_expressions_never_run", "expression", payload, result, repr(text))


# ---------------------------------------------------------------------------
# (b) spec files
# ---------------------------------------------------------------------------


@_maybe_seed
@_settings("spec")
@given(content=argv_strategies.spec_document(),
       build=st.sampled_from(({}, {}, {"sigma": 0.5}, {"scale": 2.0}, {"sigma": 1e-20},
                              {"scale": 1e20}, {"d": 3})),
       radii=st.lists(st.tuples(st.sampled_from((0.9, 0.6, 0.999, 0.500001, 0.99999)),
                                st.sampled_from((2, 1, "inf", 3)),
                                st.sampled_from((1, 2, 10, 1000))), max_size=2))
def test_fuzz_spec_files(sandbox: Sandbox, content: str, build: dict[str, Any],
                         radii: list[tuple[float, Any, int]]) -> None:
    """Load any spec file: refused with a UnicrError, or a noise that passes the sanity checks
    and whose radii are UnicrErrors or 0 <= lower <= upper."""
    _skip_unless("spec")
    payload = {"content": content, "build": build, "radii": radii}
    result, _ = _run(sandbox, "spec", payload)
    _report("test_fuzz_spec_files", "spec", payload, result,
            f"unicr.noise('fuzz.toml', **{build!r}) with fuzz.toml = {content[:3000]!r}")


# ---------------------------------------------------------------------------
# (c) command lines, in-process in the sandbox worker
# ---------------------------------------------------------------------------


def _model_path() -> str | None:
    p = REPO / "results" / "fashion-mnist" / "cnn-sigma0.12.pt"
    return str(p) if p.is_file() else None


def _results_tsv() -> str | None:
    p = REPO / "results" / "fashion-mnist" / "certify-sigma0.12.tsv"
    return str(p) if p.is_file() else None


def _cli_repro(argv: list[str]) -> str:
    return "unicr " + shlex.join(argv)


def _make_cli_test(name: str, strategy: Any, weight: int) -> Any:
    @_maybe_seed
    @_settings("cli", weight)
    @given(argv=strategy)
    def test(sandbox: Sandbox, argv: list[str]) -> None:
        _skip_unless("cli", name)
        payload = {"argv": argv, "files": argv_strategies.cli_files(argv, _model_path(), _results_tsv())}
        result, _ = _run(sandbox, "cli", payload)
        _report(f"test_fuzz_cli_{name}", "cli", payload, result, _cli_repro(argv))

    test.__name__ = f"test_fuzz_cli_{name}"
    test.__doc__ = f"`unicr {name}` on fuzzed arguments: exit 0/2, no traceback, no NaN radius."
    return test


for _name, _strategy, _weight in argv_strategies.CLI_COMMANDS:
    globals()[f"test_fuzz_cli_{_name}"] = _make_cli_test(_name, _strategy, _weight)


# ---------------------------------------------------------------------------
# the real executable in a subprocess (signals, exit codes, wall-clock bound)
# ---------------------------------------------------------------------------


def _run_subprocess(argv: list[str], cwd: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    files = argv_strategies.cli_files(argv, _model_path(), _results_tsv())
    for fname, content in files.items():
        p = cwd / fname
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            p.write_text(content, encoding="utf-8")
        elif isinstance(content, bytes):
            p.write_bytes(content)
        elif isinstance(content, dict) and Path(content["copy"]).is_file():
            p.write_bytes(Path(content["copy"]).read_bytes())
    try:
        proc = subprocess.run([sys.executable, "-m", "unicr.cli", *argv], cwd=cwd, env=env,
                              capture_output=True, text=True, errors="replace",
                              timeout=TIMEOUTS["subprocess"], preexec_fn=limit_memory)
    except subprocess.TimeoutExpired:
        return {"failures": [{"check": "hang", "signature": f"subprocess:{argv[0]}:hang",
                              "message": f"no exit within {TIMEOUTS['subprocess']:g} s"}]}
    code: Any = proc.returncode
    if code < 0:
        import signal as _signal

        try:
            code = f"signal-{_signal.Signals(-code).name}"
        except ValueError:
            code = f"signal-{-code}"
    fails = check_cli_result(argv, code, proc.stdout, proc.stderr)
    if (cwd / SENTINEL).exists():
        fails.append({"check": "code-execution", "signature": "code-execution",
                      "message": f"{SENTINEL} appeared"})
    return {"failures": fails}


@_maybe_seed
@_settings("subprocess")
@given(argv=st.one_of(argv_strategies.radius_argv(), argv_strategies.pdfs_argv(),
                      argv_strategies.validate_argv()))
def test_fuzz_cli_subprocess(tmp_path_factory: pytest.TempPathFactory, argv: list[str]) -> None:
    """A few command lines through the real executable: exit 0/2, never a signal."""
    _skip_unless("subprocess")
    if any("\x00" in a for a in argv):  # the OS refuses NUL in argv before unicr sees it
        argv = [a.replace("\x00", "") for a in argv]
    cwd = tmp_path_factory.mktemp("fuzz-subprocess")
    result = _run_subprocess(argv, cwd)
    _report("test_fuzz_cli_subprocess", "subprocess", {"argv": argv}, result, _cli_repro(argv))
