"""The checks run for one fuzz case, inside the sandbox worker (see :mod:`fuzz.sandbox`).

Every function returns ``{"failures": [...], "info": {...}}``; a failure is a dict with

* ``check`` -- which invariant broke (``code-execution``, ``exit-code``, ``traceback``,
  ``nan-output``, ``radius-order``, ``cdf-monotone`` ...);
* ``signature`` -- a short key used to group failures by cause (exception type and the
  innermost unicr frame, or the check and a fixed reason);
* ``message`` -- what happened (the exception text, the numbers).

The payload itself is the reproducer; the test process adds it to the record.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import re
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: name of the file a hostile expression would create if it ever ran code
SENTINEL = "FUZZ_SENTINEL"

_NAN_TOKEN = re.compile(r"(?<![A-Za-z_])nan(?![A-Za-z_])", re.IGNORECASE)


def failure(check: str, signature: str, message: str) -> dict[str, str]:
    return {"check": check, "signature": signature, "message": message[-4000:]}


def exception_signature(check: str, exc: BaseException) -> str:
    """``check:ExcType@innermost unicr frame`` -- the same bug gives the same signature."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = "?"
    for fr in reversed(frames):
        if "/unicr/" in fr.filename.replace(os.sep, "/"):
            where = f"{fr.filename.replace(os.sep, '/').rsplit('/unicr/', 1)[1]}:{fr.name}"
            break
    return f"{check}:{type(exc).__name__}@{where}"


def exception_failure(check: str, exc: BaseException) -> dict[str, str]:
    text = "".join(traceback.format_exception(exc))
    return failure(check, exception_signature(check, exc), text)


def sentinel_check(case_dir: Path) -> list[dict[str, str]]:
    if (case_dir / SENTINEL).exists():
        return [failure("code-execution", "code-execution",
                        f"{SENTINEL} was created in {case_dir}: the input ran code")]
    return []


# ---------------------------------------------------------------------------
# density expressions
# ---------------------------------------------------------------------------

_X = np.concatenate([-np.logspace(-4, 4, 25)[::-1], [0.0], np.logspace(-4, 4, 25),
                     [-np.inf, np.inf, np.nan]])


def case_expression(payload: dict[str, Any]) -> dict[str, Any]:
    """Compile one expression; refused means ExpressionError only; accepted means it evaluates."""
    from unicr.errors import ExpressionError
    from unicr.noises.expr import compile_expression

    case_dir = Path(payload["dir"])
    text = payload["text"]
    params = list(payload.get("params", []))
    values = dict(payload.get("values", {}))
    fails: list[dict[str, str]] = []
    info: dict[str, Any] = {"accepted": False}
    try:
        expr = compile_expression(text, variable="x", params=params, file="fuzz.toml",
                                  field="logpdf")
    except ExpressionError as exc:
        info["refused"] = str(exc)[:200]
        if "fuzz.toml" not in str(exc):
            fails.append(failure("error-message", "expression:message-without-file",
                                 f"the error does not name the file: {exc}"))
        return {"failures": fails + sentinel_check(case_dir), "info": info}
    except Exception as exc:
        return {"failures": [exception_failure("expression-compile", exc)]
                + sentinel_check(case_dir), "info": info}
    info["accepted"] = True
    try:
        with np.errstate(all="ignore"):
            y = np.asarray(expr(_X, **values), dtype=float)
        if y.shape != _X.shape:
            fails.append(failure("expression-eval", "expression:eval-shape",
                                 f"shape {y.shape} for input shape {_X.shape}"))
    except Exception as exc:
        fails.append(exception_failure("expression-eval", exc))
        y = None
    try:
        expr.derivative()
    except ExpressionError:
        pass
    except Exception as exc:
        fails.append(exception_failure("expression-derivative", exc))
    if payload.get("numba") and y is not None:
        try:
            fn = expr.numba_vectorized() if hasattr(expr, "numba_vectorized") else None
            if fn is not None:
                pv = [float(values[p]) for p in params]
                xs = _X[np.isfinite(_X)]
                with np.errstate(all="ignore"):
                    yn = np.asarray(fn(xs, *pv), dtype=float)
                    yp = np.asarray(expr(xs, **values), dtype=float)
                both = np.isfinite(yn) & np.isfinite(yp)
                bad = both & ~np.isclose(yn, yp, rtol=1e-6, atol=1e-9)
                if np.any(bad) or np.any(np.isnan(yn) != np.isnan(yp)):
                    k = int(np.argmax(bad | (np.isnan(yn) != np.isnan(yp))))
                    fails.append(failure("expression-numba", "expression:numba-mismatch",
                                         f"numba {yn[k]!r} vs numpy {yp[k]!r} at x = {xs[k]!r}"))
        except ExpressionError:
            pass
        except Exception as exc:
            fails.append(exception_failure("expression-numba", exc))
    return {"failures": fails + sentinel_check(case_dir), "info": info}


# ---------------------------------------------------------------------------
# spec files and the noise they build
# ---------------------------------------------------------------------------


def noise_sanity(nz: Any, seed: int = 0) -> list[dict[str, str]]:
    """cdf monotone in [0, 1], cdf(ppf(u)) ~ u, finite draws that pass a KS test, logpdf sane."""
    from scipy import stats

    fails: list[dict[str, str]] = []

    def bad(check: str, reason: str, msg: str) -> None:
        fails.append(failure(check, f"noise:{check}:{reason}", msg))

    with np.errstate(all="ignore"):
        u_tail = np.array([1e-6, 1e-3, 0.01, 0.25, 0.5, 0.75, 0.99, 0.999, 1 - 1e-6])
        q = np.asarray(nz.ppf(u_tail), dtype=float)
        if np.any(np.isnan(q)):
            bad("ppf", "nan", f"ppf({u_tail.tolist()}) = {q.tolist()}")
            return fails
        if np.any(np.diff(q) < 0):
            bad("ppf", "not-monotone", f"ppf({u_tail.tolist()}) = {q.tolist()}")
        lo, hi = float(q[0]), float(q[-1])
        if not (math.isfinite(lo) and math.isfinite(hi)):
            bad("ppf", "infinite-inner-quantile", f"ppf(1e-6) = {lo}, ppf(1-1e-6) = {hi}")
            return fails
        span = max(hi - lo, 1e-300)
        grid = np.unique(np.concatenate([np.linspace(lo - span, hi + span, 801), q]))
        c = np.asarray(nz.cdf(grid), dtype=float)
        if np.any(np.isnan(c)):
            bad("cdf-range", "nan", f"cdf is NaN at x = {grid[np.isnan(c)][:5].tolist()}")
        elif np.any((c < 0) | (c > 1)):
            k = int(np.argmax((c < 0) | (c > 1)))
            bad("cdf-range", "outside-0-1", f"cdf({grid[k]!r}) = {c[k]!r}")
        dc = np.diff(c)
        if np.any(dc < -1e-12):
            k = int(np.argmin(dc))
            bad("cdf-monotone", "decreasing",
                f"cdf({grid[k]!r}) = {c[k]!r} > cdf({grid[k + 1]!r}) = {c[k + 1]!r}")
        try:
            ends = np.asarray(nz.cdf(np.array([-np.inf, np.inf])), dtype=float)
            if not (ends[0] == 0.0 and ends[1] == 1.0):
                bad("cdf-infinity", "wrong-value", f"cdf([-inf, inf]) = {ends.tolist()}")
        except Exception as exc:
            fails.append(exception_failure("cdf-infinity", exc))
        u = np.linspace(0.001, 0.999, 199)
        x = np.asarray(nz.ppf(u), dtype=float)
        back = np.asarray(nz.cdf(x), dtype=float)
        err = np.abs(back - u)
        if np.any(~np.isfinite(err)) or float(np.max(err)) > 1e-4:
            k = int(np.argmax(np.where(np.isfinite(err), err, np.inf)))
            bad("cdf-ppf", "roundtrip", f"cdf(ppf({u[k]!r})) = {back[k]!r} (ppf = {x[k]!r})")
        lg = np.asarray(nz.logpdf(grid), dtype=float)
        if np.any(np.isnan(lg)):
            bad("logpdf", "nan", f"logpdf is NaN at x = {grid[np.isnan(lg)][:5].tolist()}")
        if np.any(lg == np.inf):
            bad("logpdf", "plus-inf", f"logpdf is +inf at x = {grid[lg == np.inf][:5].tolist()}")
        draws = np.asarray(nz.sample((4000,), rng=np.random.default_rng(seed)), dtype=float)
        if draws.shape != (4000,):
            bad("sampler", "shape", f"sample((4000,)) has shape {draws.shape}")
            return fails
        if not np.all(np.isfinite(draws)):
            bad("sampler", "non-finite", f"{int(np.sum(~np.isfinite(draws)))} non-finite draws")
            return fails
        ld = np.asarray(nz.logpdf(draws), dtype=float)
        if not np.all(np.isfinite(ld)):
            k = int(np.argmax(~np.isfinite(ld)))
            bad("sampler", "outside-support",
                f"{int(np.sum(~np.isfinite(ld)))} draws where logpdf is not finite, "
                f"e.g. logpdf({draws[k]!r}) = {ld[k]!r}")
        ks = stats.kstest(draws, lambda t: np.asarray(nz.cdf(t), dtype=float))
        if not ks.pvalue > 1e-6:
            bad("sampler", "ks", f"KS statistic {ks.statistic:.4g}, p-value {ks.pvalue:.3g} "
                "(4000 draws against the noise's own cdf)")
        sig = nz.sigma
        if sig is not None and math.isfinite(sig):
            if not sig > 0:
                bad("sigma", "not-positive", f"sigma = {sig!r}")
            else:
                uu = np.linspace(1e-4, 1 - 1e-4, 4001)
                xq = np.asarray(nz.ppf(uu), dtype=float)
                mean = float(np.mean(xq))
                sd_trunc = float(np.sqrt(np.mean((xq - mean) ** 2)))
                if sd_trunc > 1.5 * sig:
                    bad("sigma", "claim-too-small",
                        f"sigma claims {sig:.4g} but the quantile function already gives a "
                        f"standard deviation of {sd_trunc:.4g} inside [1e-4, 1-1e-4]")
                elif sd_trunc < 1e-3 * sig:
                    bad("sigma", "claim-too-large",
                        f"sigma claims {sig:.4g} but the law inside [1e-4, 1-1e-4] has a "
                        f"standard deviation of {sd_trunc:.4g}")
            # (an extreme native scale alone is no defect: exp(-x**2 * 1e-300) is a legitimate
            # law of width 1e150, sampled at sigma 1 with an RMS of 1.003; the checks above
            # and below test the law itself)
        fails += _pdf_integrates_to_cdf(nz, q)
        fails += _law_matches_expression(nz, q)
    return fails


def _pdf_integrates_to_cdf(nz: Any, q: np.ndarray) -> list[dict[str, str]]:
    """pdf is the derivative of cdf: at 99 quantile points of the law (u = 0.0105 .. 0.9895,
    off the median), the central difference of cdf matches exp(logpdf) within 5% at 9 points
    in 10 (a jump or a cusp may spoil a few points, not most)."""
    u = np.linspace(0.0105, 0.9895, 99)
    iqr = float(q[5] - q[3])
    if not (math.isfinite(iqr) and iqr > 0):
        return []
    with np.errstate(all="ignore"):
        x = np.asarray(nz.ppf(u), dtype=float)
        h = 1e-5 * iqr
        slope = (np.asarray(nz.cdf(x + h), dtype=float) - np.asarray(nz.cdf(x - h), dtype=float)) \
            / (2 * h)
        pdf = np.exp(np.asarray(nz.logpdf(x), dtype=float))
        ok = np.isfinite(slope) & np.isfinite(pdf) & (
            np.abs(slope - pdf) <= 0.05 * np.maximum(np.abs(slope), np.abs(pdf)) + 1e-300)
    if np.mean(ok) < 0.9:
        k = int(np.argmax(~ok))
        return [failure("pdf-vs-cdf", "noise:pdf-vs-cdf:derivative",
                        f"at {int(np.sum(~ok))} of 99 quantile points exp(logpdf) is not the "
                        f"slope of cdf, e.g. x = {x[k]!r}: pdf {pdf[k]!r}, cdf slope {slope[k]!r}")]
    return []


def _law_matches_expression(nz: Any, q: np.ndarray) -> list[dict[str, str]]:
    """A spec noise's logpdf is its expression at scale ``nz.scale`` plus a constant.

    Checked on the central part of the law (where both are finite the difference must be
    constant within 0.01 in log space) and far out (the noise must not lack density where
    the expression's density is within e^-30 of its central maximum).
    """
    expr = getattr(nz, "expression", None)
    scale = getattr(nz, "scale", None)
    if expr is None or not scale or not math.isfinite(scale):
        return []
    fails: list[dict[str, str]] = []
    with np.errstate(all="ignore"):
        xs = np.linspace(float(q[2]), float(q[-3]), 201)  # ppf(0.01) .. ppf(0.99)
        lg = np.asarray(nz.logpdf(xs), dtype=float)
        ex = np.asarray(expr(xs / scale), dtype=float)
        both = np.isfinite(lg) & np.isfinite(ex)
        if np.sum(both) >= 2:
            diff = lg[both] - ex[both]
            if float(np.max(diff) - np.min(diff)) > 1e-2:
                k = int(np.argmax(np.abs(diff - np.median(diff))))
                fails.append(failure("law-vs-expression", "noise:law-vs-expression:shape",
                                     f"logpdf - expression(x/scale) varies by "
                                     f"{float(np.max(diff) - np.min(diff)):.3g} over the central "
                                     f"98% (e.g. x = {xs[both][k]!r}); scale = {scale!r}"))
        peak = float(np.max(ex[np.isfinite(ex)])) if np.any(np.isfinite(ex)) else None
        far = np.concatenate([-np.logspace(-3, 3, 61), np.logspace(-3, 3, 61)]) * scale
        lf = np.asarray(nz.logpdf(far), dtype=float)
        ef = np.asarray(expr(far / scale), dtype=float)
        if peak is not None:
            missing = (lf == -np.inf) & np.isfinite(ef) & (ef > peak - 30.0)
            if np.any(missing):
                k = int(np.argmax(missing))
                fails.append(failure(
                    "law-vs-expression", "noise:law-vs-expression:missing-mass",
                    f"the expression's density at x = {far[k]:.4g} is e^{ef[k] - peak:.3g} times "
                    f"its central maximum, but the noise's logpdf there is -inf "
                    f"(scale = {scale!r})"))
    return fails


def case_spec(payload: dict[str, Any]) -> dict[str, Any]:
    """Load a spec file and build its noise; refused means a UnicrError; accepted means sane."""
    import unicr
    from unicr.errors import UnicrError

    case_dir = Path(payload["dir"])
    path = case_dir / payload.get("filename", "fuzz.toml")
    content = payload["content"]
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    else:
        path.write_bytes(bytes(content))
    info: dict[str, Any] = {"accepted": False}
    kw: dict[str, Any] = dict(payload.get("build", {}))
    try:
        nz = unicr.noise(str(path), **kw)
    except UnicrError as exc:
        info["refused"] = str(exc)[:200]
        return {"failures": sentinel_check(case_dir), "info": info}
    except RecursionError as exc:
        return {"failures": [exception_failure("spec-load", exc)] + sentinel_check(case_dir),
                "info": info}
    except Exception as exc:
        return {"failures": [exception_failure("spec-load", exc)] + sentinel_check(case_dir),
                "info": info}
    info["accepted"] = True
    fails: list[dict[str, str]] = []
    from unicr.noises.base import ProductNoise

    if isinstance(nz, ProductNoise):
        try:
            fails += noise_sanity(nz)
        except Exception as exc:
            fails.append(exception_failure("noise-sanity", exc))
    for pa, norm, d in payload.get("radii", []):
        fails += radius_sanity(nz, pa, norm, d)
    return {"failures": fails + sentinel_check(case_dir), "info": info}


def radius_sanity(nz: Any, pa: float, norm: Any, d: int) -> list[dict[str, str]]:
    """``unicr.radius`` on an accepted noise: a UnicrError or a certificate with
    0 <= lower <= upper, no NaN."""
    import unicr
    from unicr.errors import UnicrError

    where = f"unicr.radius(noise, {pa!r}, {norm!r}, {d!r})"
    try:
        cert = unicr.radius(nz, pa, norm, d)
    except UnicrError:
        return []
    except Exception as exc:
        f = exception_failure("radius-crash", exc)
        f["message"] = f"{where}\n{f['message']}"
        return [f]
    obj = {"lower": cert.lower, "upper": cert.upper, "abstain": cert.abstain}
    fails = []
    for k in ("lower", "upper", "estimate"):
        v = getattr(cert, k)
        if isinstance(v, float) and math.isnan(v):
            fails.append(failure("nan-output", f"radius:nan-{k}", f"{where}: {k} is NaN"))
    if not fails:
        fails += _check_radius_json(obj, where)
    return fails


# ---------------------------------------------------------------------------
# the command line
# ---------------------------------------------------------------------------


def _check_radius_json(obj: Any, where: str) -> list[dict[str, str]]:
    fails: list[dict[str, str]] = []

    def num(v: Any) -> float | None:
        if v == "inf":
            return math.inf
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            return None
        return float(v)

    if isinstance(obj, dict) and "lower" in obj and "upper" in obj:
        lows, ups = obj.get("lower"), obj.get("upper")
        if isinstance(lows, list) and isinstance(ups, list):  # a curve: one pair per pA
            for i, (a, b) in enumerate(zip(lows, ups)):
                fails += _check_radius_json({"lower": a, "upper": b}, f"{where}[{i}]")
            return fails
        lo, up = num(lows), num(ups)
        if lows is None or ups is None:
            if not obj.get("abstain"):
                fails.append(failure("nan-output", "radius:null-bound",
                                     f"{where}: lower = {lows!r}, "
                                     f"upper = {ups!r} (NaN prints as null)"))
        elif lo is not None and up is not None:
            if lo < 0:
                fails.append(failure("radius-order", "radius:negative-lower",
                                     f"{where}: lower = {lo!r}"))
            if lo > up * (1 + 1e-9) + 1e-12:
                fails.append(failure("radius-order", "radius:lower-above-upper",
                                     f"{where}: lower = {lo!r} > upper = {up!r}"))
    if isinstance(obj, dict):
        for k, v in obj.items():
            fails += _check_radius_json(v, f"{where}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:2000]):
            fails += _check_radius_json(v, f"{where}[{i}]")
    return fails


def check_cli_result(argv: Sequence[str], code: Any, out: str, err: str) -> list[dict[str, str]]:
    """The CLI invariants: exit 0 or 2, no traceback, no NaN printed, lower <= upper in JSON."""
    cmd = argv[0] if argv else "-"
    fails: list[dict[str, str]] = []
    if code not in (0, 2):
        tail = err.strip().splitlines()[-1] if err.strip() else ""
        fails.append(failure("exit-code", f"cli:{cmd}:exit-{code}:{_exc_name(err)}",
                             f"exit code {code}; stderr ends: {err[-2500:]}" if tail else
                             f"exit code {code}, empty stderr"))
    elif "Traceback" in err:
        fails.append(failure("traceback", f"cli:{cmd}:traceback:{_exc_name(err)}",
                             err[-2500:]))
    if code == 0:
        if _NAN_TOKEN.search(out):
            line = next(ln for ln in out.splitlines() if _NAN_TOKEN.search(ln))
            fails.append(failure("nan-output", f"cli:{cmd}:nan-printed", line[:500]))
        if "--json" in argv and not {"-h", "--help", "--version"} & set(argv):
            try:
                obj = json.loads(out)
            except ValueError:
                obj = None
                fails.append(failure("json-output", f"cli:{cmd}:json-unparsable", out[:500]))
            if obj is not None:
                fails += _check_radius_json(obj, cmd)
    return fails


def _exc_name(err: str) -> str:
    """The exception class of the last traceback in ``err`` (for the signature)."""
    m = re.findall(r"^([A-Za-z_][\w.]*(?:Error|Exception|Interrupt|Exit|Warning))\b", err,
                   re.MULTILINE)
    if m:
        return m[-1].rsplit(".", 1)[-1]
    low = err.lower()
    for key in ("segmentation", "bus error", "killed"):
        if key in low:
            return key
    return "?"


def _write_files(case_dir: Path, files: dict[str, Any]) -> None:
    for name, content in files.items():
        p = case_dir / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            p.write_text(content, encoding="utf-8", errors="surrogatepass")
        elif isinstance(content, (bytes, bytearray, list)):
            p.write_bytes(bytes(content))
        elif isinstance(content, dict) and "copy" in content:
            src = Path(content["copy"])
            if src.is_file():
                p.write_bytes(src.read_bytes())


def case_cli(payload: dict[str, Any]) -> dict[str, Any]:
    """``unicr.cli.main(argv)`` in the worker, with its own working folder and captured output."""
    from unicr.cli import main

    case_dir = Path(payload["dir"])
    _write_files(case_dir, payload.get("files", {}))
    argv = list(payload["argv"])
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    os.chdir(case_dir)
    logging.root.handlers.clear()  # main() calls basicConfig: let it bind to the captured stderr
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code: Any = main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
            except BaseException as exc:  # noqa: B036 - anything escaping main() is a finding
                code = f"escaped-{type(exc).__name__}"
                print("".join(traceback.format_exception(exc)), file=sys.stderr)
    finally:
        os.chdir(old)
        logging.root.handlers.clear()
    fails = check_cli_result(argv, code, out.getvalue(), err.getvalue())
    return {"failures": fails + sentinel_check(case_dir),
            "info": {"code": code, "stdout": out.getvalue()[-1500:],
                     "stderr": err.getvalue()[-1500:]}}


def case_selftest(payload: dict[str, Any]) -> dict[str, Any]:
    """Misbehave on purpose, so the harness's own detection is tested (never used on unicr)."""
    action = payload["action"]
    if action == "segv":
        import signal

        os.kill(os.getpid(), signal.SIGSEGV)
    elif action == "sleep":
        import time

        time.sleep(float(payload.get("seconds", 60)))
    elif action == "sentinel":
        Path(SENTINEL).write_text("ran")
    return {"failures": sentinel_check(Path(payload["dir"]))}


def run_case(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    if kind == "ping":
        import unicr  # noqa: F401 - warm the imports before the first timed case
        import unicr.cli  # noqa: F401

        return {"failures": []}
    funcs = {"expression": case_expression, "spec": case_spec, "cli": case_cli,
             "selftest": case_selftest}
    if kind not in funcs:
        raise ValueError(f"unknown case kind {kind!r}")
    old = os.getcwd()
    os.chdir(payload["dir"])  # relative paths, and the sentinel, land in the case folder
    try:
        return funcs[kind](payload)
    finally:
        os.chdir(old)
