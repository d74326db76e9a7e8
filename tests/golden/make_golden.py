"""Golden certificates: a record of what the public API returns, to the last digit.

Recorded before the package layout reorganisation (issue #13): modules move, behaviour must
not.  ``tests/test_golden.py`` recomputes every case and compares with
``tests/golden/certificates.json`` field by field, exactly.

Usage (from the repository root)::

    python tests/golden/make_golden.py            # recompute and compare with the file
    python tests/golden/make_golden.py --write    # (re)record the file

Only the public API is used: ``unicr.radius``, ``unicr.noise``, ``unicr.catalogue``,
``unicr.UnicrError`` and ``unicr.noises.mixture`` (before the reorganisation of issue #13 the
package was ``unicr.noise``, hidden by the builder function of the same name; the old path
still works, deprecated).

Encoding (exact and readable): a Python float is written as ``"float:" + repr(x)`` (repr
round-trips every double exactly and spells ``inf``, ``nan`` and ``-0.0``); numpy scalars as
``"<numpy type>:" + repr(value)``; ints, bools, strings and None as themselves; tuples and
lists as lists; dicts and dataclasses (``Witness``) as objects.  Besides every dataclass field
of a ``Certificate``, the derived properties ``status``, ``exact`` and ``gap`` are recorded.
A case that raises records ``{"error": class name, "message": str(exc), "unicr_error": bool}``.

Determinism (checked when the file was recorded): identical output in one process and in
fresh processes, with warm and cold numba caches, with an empty ``UNICR_CACHE_DIR``, with
``OMP_NUM_THREADS``/``NUMBA_NUM_THREADS`` 1 or 2, and with the cases run in reverse order
(the exact engine keeps an in-memory model per noise and d; results do not depend on it).
``unicr.radius`` never reads the on-disk curve cache (only ``unicr.exact.curve`` does).
No field had to be excluded.

The Monte Carlo cases pass ``backend="numpy"`` so that a machine with CUDA runs the same
numpy/numba banks (``backend="auto"`` would switch to torch there).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "certificates.json"

#: the exact engine: binary pA values, two-sided (pA, pB) pairs, dimensions
EXACT_PA = (0.6, 0.9, 0.999)
EXACT_TWO_SIDED = ((0.7, 0.2),)
EXACT_D = 16
EXACT_BIG_D = 784
#: the Monte Carlo engine: small and seeded (the values are a record, not good radii)
MC_OPTIONS: dict[str, Any] = {"n_mc": 5000, "seed": 0, "backend": "numpy"}
MC_CASES = ((0.9, None), (0.7, 0.2))
MC_HIGH_PA = 0.99  # l2 only
MC_D = 16
NORMS = (1, 2, "inf")


# ---------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Case:
    """One call ``unicr.radius(noise, pa, norm, d, pb=pb, method=method, **options)``.

    ``group`` names the test the case belongs to (one parametrised test per group);
    ``noise`` is a name/path string (given to ``unicr.radius`` as is) or a zero-argument
    builder of a ``Noise`` (called for each run).
    """

    group: str
    label: str
    noise: str | Callable[[], Any]
    method: str
    norm: Any
    d: int
    pa: float
    pb: float | None = None
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def key(self) -> str:
        opts = "".join(f"|{k}={v}" for k, v in self.options
                       if (k, v) not in MC_OPTIONS.items())
        return (f"{self.method}|{self.label}|p={self.norm}|d={self.d}|pa={self.pa}|pb={self.pb}"
                + opts)


def _mc_opts(**extra: Any) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted({**MC_OPTIONS, **extra}.items()))


def _mixture() -> Any:
    from unicr.noises import mixture

    return mixture(["laplace", "gaussian"], [0.3, 0.7])


def _scipy_logistic() -> Any:
    import scipy.stats

    import unicr

    return unicr.noise(scipy.stats.logistic())


def _scipy_t5() -> Any:
    import scipy.stats

    import unicr

    return unicr.noise(scipy.stats.t(df=5), sigma=1.0)


def _gennorm(beta: float) -> Callable[[], Any]:
    def build() -> Any:
        import unicr

        return unicr.noise("gennorm", beta=beta)

    return build


def _gaussian_half() -> Any:
    import unicr

    return unicr.noise("gaussian", sigma=0.5)


#: non-catalogue constructions: label -> builder (or a spec path string), product noises
EXTRA_NOISES: dict[str, str | Callable[[], Any]] = {
    "mixture(laplace:0.3,gaussian:0.7)": _mixture,
    "scipy.logistic()": _scipy_logistic,
    "scipy.t(df=5),sigma=1": _scipy_t5,
    "spec-file:pdfs/cubic_exp.toml": str(ROOT / "pdfs" / "cubic_exp.toml"),
    "gennorm(beta=3)": _gennorm(3.0),
    "gennorm(beta=0.8)": _gennorm(0.8),
    "gaussian(sigma=0.5)": _gaussian_half,
}


def cases() -> list[Case]:
    """Every golden case, in a fixed order."""
    import unicr

    out: list[Case] = []
    specs = unicr.catalogue()
    product = [s.name for s in specs if s.kind == "product"]
    joint = [s.name for s in specs if s.kind != "product"]

    # exact engine on every product catalogue noise
    for name in product:
        g = f"exact:{name}"
        for p in NORMS:
            for pa in EXACT_PA:
                out.append(Case(g, name, name, "exact", p, EXACT_D, pa))
            for pa, pb in EXACT_TWO_SIDED:
                out.append(Case(g, name, name, "exact", p, EXACT_D, pa, pb))
            out.append(Case(g, name, name, "exact", p, EXACT_BIG_D, 0.9))
    # exact engine on a joint noise: an error (NotProductNoiseError) is the behaviour
    for name in joint:
        out.append(Case("exact:joint-refused", name, name, "exact", 2, EXACT_D, 0.9))
    # abstentions and option handling (cheap, engine-independent paths of unicr.radius)
    g = "radius:abstain-and-options"
    out += [
        Case(g, "gaussian", "gaussian", "exact", 2, EXACT_D, 0.5),
        Case(g, "gaussian", "gaussian", "exact", 2, EXACT_D, 0.4, 0.4),
        Case(g, "laplace", "laplace", "mc", 1, MC_D, 0.5, None, _mc_opts()),
        Case(g, "exp1", "exp1", "mc", 1, MC_D, 0.3, 0.6, _mc_opts()),
        Case(g, "gaussian", "gaussian", "auto", 2, EXACT_D, 0.9),
        Case(g, "exp2", "exp2", "auto", 2, MC_D, 0.9, None, (("n_mc", 2000), ("seed", 0))),
        Case(g, "gaussian", "gaussian", "exact", 2, EXACT_D, 0.9, None, (("seed", 3),)),
        Case(g, "gaussian", "gaussian", "auto", 2, EXACT_D, 0.9, None, (("n_mc", 100),)),
        Case(g, "gaussian", "gaussian", "exact", 2, EXACT_D, 0.9, None, (("rtol", 1e-3),)),
        Case(g, "laplace", "laplace", "exact", 1, EXACT_D, 0.9, None, (("directions", (1, 2)),)),
        Case(g, "laplace", "laplace", "exact", 2, EXACT_D, 0.9, None,
             (("two_level", ((2, 4, 0.5),)),)),
        Case(g, "gaussian", "gaussian", "mc", 2, MC_D, 0.9, None, (("n_mc", 0), ("seed", 0))),
        Case(g, "gaussian", "gaussian", "bogus", 2, MC_D, 0.9),
        Case(g, "gaussian", "gaussian", "exact", 2, 0, 0.9),
        Case(g, "gaussian", "gaussian", "exact", 2, EXACT_D, 1.0),
        Case(g, "no-such-noise", "no-such-noise", "exact", 2, EXACT_D, 0.9),
    ]
    # Monte Carlo engine on every catalogue noise
    for s in specs:
        g = f"mc:{s.name}"
        for p in NORMS:
            for pa, pb in MC_CASES:
                out.append(Case(g, s.name, s.name, "mc", p, MC_D, pa, pb, _mc_opts()))
        out.append(Case(g, s.name, s.name, "mc", 2, MC_D, MC_HIGH_PA, None, _mc_opts()))
    # Monte Carlo engine: other options
    g = "mc:options"
    out += [
        Case(g, "laplace", "laplace", "mc", 1, MC_D, 0.9, None,
             _mc_opts(directions="pso", n_pso=500, particles=5, iterations=5)),
        Case(g, "exp1", "exp1", "mc", "inf", MC_D, 0.9, None,
             _mc_opts(directions="both", n_pso=500, particles=5, iterations=5)),
        Case(g, "logistic", "logistic", "mc", 2, MC_D, 0.9, None, _mc_opts(mode="estimate")),
        Case(g, "expinf", "expinf", "mc", 2, MC_D, 0.7, 0.2, _mc_opts(mode="estimate")),
        Case(g, "gaussian", "gaussian", "mc", 2, MC_D, 0.9, None, _mc_opts(seed=1)),
        Case(g, "hsecant", "hsecant", "mc", 2, MC_D, 0.9, None, _mc_opts(dtype="float32")),
        Case(g, "laplace", "laplace", "mc", 1, MC_D, 0.9, None,
             _mc_opts(n_search=3000, alpha_np=0.01, candidates=4, k_values=(1, 4, 16))),
        Case(g, "laplace", "laplace", "mc", 2, MC_D, 0.9, None, _mc_opts(reduction=False)),
        Case(g, "gaussian", "gaussian", "mc", 2, EXACT_BIG_D, 0.9, None, _mc_opts(n_mc=2000)),
        Case(g, "laplace", "laplace", "mc", 2, EXACT_BIG_D, 0.9, None, _mc_opts(n_mc=2000)),
        Case(g, "exp2", "exp2", "mc", 2, EXACT_BIG_D, 0.9, None, _mc_opts(n_mc=2000)),
    ]
    # non-catalogue constructions: both engines
    for label, build in EXTRA_NOISES.items():
        g = f"extra:{label}"
        for p in NORMS:
            out.append(Case(g, label, build, "exact", p, EXACT_D, 0.9))
        out.append(Case(g, label, build, "exact", 2, EXACT_D, 0.7, 0.2))
        out.append(Case(g, label, build, "exact", 1, EXACT_BIG_D, 0.999))
        out.append(Case(g, label, build, "mc", 2, MC_D, 0.9, None, _mc_opts()))
        out.append(Case(g, label, build, "mc", "inf", MC_D, 0.7, 0.2, _mc_opts()))
    keys = [c.key for c in out]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        raise AssertionError(f"duplicate golden case keys: {sorted(dup)}")
    return out


def groups(all_cases: list[Case] | None = None) -> dict[str, list[Case]]:
    """Cases by group, in order."""
    out: dict[str, list[Case]] = {}
    for c in cases() if all_cases is None else all_cases:
        out.setdefault(c.group, []).append(c)
    return out


# ---------------------------------------------------------------------------
# running and encoding
# ---------------------------------------------------------------------------


def encode(v: Any) -> Any:
    """An exact, JSON-able image of ``v`` (module doc)."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int) and not isinstance(v, np.integer):
        return v
    if isinstance(v, float) and type(v) is float:
        return "float:" + repr(v)
    if isinstance(v, np.generic):
        return f"{type(v).__name__}:{v.item()!r}"
    if isinstance(v, np.ndarray):
        return {"ndarray": str(v.dtype), "data": [encode(x) for x in v.tolist()]}
    if isinstance(v, (list, tuple)):
        return [encode(x) for x in v]
    if isinstance(v, dict):
        return {str(k): encode(x) for k, x in v.items()}
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        out = {"__class__": type(v).__name__}
        out.update({f.name: encode(getattr(v, f.name)) for f in dataclasses.fields(v)})
        return out
    if isinstance(v, float):  # a float subclass
        return f"{type(v).__name__}:{float(v)!r}"
    return f"{type(v).__name__}:{v!r}"


def run(case: Case) -> dict[str, Any]:
    """The encoded certificate (or error) of one case."""
    import unicr

    nz = case.noise if isinstance(case.noise, str) else case.noise()
    try:
        cert = unicr.radius(nz, case.pa, case.norm, case.d, pb=case.pb, method=case.method,
                            **dict(case.options))
    except Exception as exc:  # noqa: BLE001 - an error is recorded behaviour
        return {"error": type(exc).__name__, "message": str(exc),
                "unicr_error": isinstance(exc, unicr.UnicrError)}
    out = encode(cert)
    out["status"] = cert.status
    out["exact"] = cert.exact
    out["gap"] = encode(cert.gap)
    return out


def compute(all_cases: list[Case] | None = None) -> dict[str, Any]:
    """``{key: encoded result}`` for the given cases (default: all)."""
    return {c.key: run(c) for c in (cases() if all_cases is None else all_cases)}


def load() -> dict[str, Any]:
    """The recorded golden results."""
    return json.loads(GOLDEN.read_text(encoding="utf-8"))["cases"]


def first_difference(expected: Any, got: Any, path: str = "") -> str | None:
    """``None`` when equal, else a line naming the first differing field and both values."""
    if type(expected) is not type(got):
        return f"{path or '<root>'}: expected {expected!r}, got {got!r}"
    if isinstance(expected, dict):
        for k in sorted(set(expected) | set(got)):
            if k not in got:
                return f"{path}.{k}: expected {expected[k]!r}, field missing"
            if k not in expected:
                return f"{path}.{k}: unexpected new field, got {got[k]!r}"
            d = first_difference(expected[k], got[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(expected, list):
        for i, (a, b) in enumerate(zip(expected, got)):
            d = first_difference(a, b, f"{path}[{i}]")
            if d:
                return d
        if len(expected) != len(got):
            return f"{path}: expected {len(expected)} items, got {len(got)}: {got!r}"
        return None
    if expected != got:
        return f"{path or '<root>'}: expected {expected!r}, got {got!r}"
    return None


def dump(results: dict[str, Any]) -> str:
    doc = {
        "about": ("golden certificates of unicr.radius (tests/golden/make_golden.py); "
                  "recorded before the layout reorganisation, issue #13"),
        "cases": results,
    }
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="record tests/golden/certificates.json")
    ap.add_argument("--out", type=Path, default=None, help="write the results to this file too")
    ap.add_argument("--reverse", action="store_true", help="run the cases in reverse order")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    all_cases = cases()
    results = compute(all_cases[::-1] if args.reverse else all_cases)
    dt = time.perf_counter() - t0
    text = dump(results)
    n_err = sum(1 for r in results.values() if "error" in r)
    print(f"{len(results)} cases ({n_err} recorded errors) in {dt:.1f} s", file=sys.stderr)
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
    if args.write:
        GOLDEN.write_text(text, encoding="utf-8")
        print(f"wrote {GOLDEN}", file=sys.stderr)
        return 0
    if not GOLDEN.is_file():
        print(f"no {GOLDEN}; run with --write", file=sys.stderr)
        return 1
    expected = load()
    bad = 0
    for key in sorted(set(expected) | set(results)):
        if key not in results:
            print(f"MISSING {key}", file=sys.stderr)
            bad += 1
        elif key not in expected:
            print(f"NEW     {key}", file=sys.stderr)
            bad += 1
        else:
            d = first_difference(expected[key], results[key])
            if d:
                print(f"DIFF    {key}: {d}", file=sys.stderr)
                bad += 1
    print("identical" if not bad else f"{bad} cases differ", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
