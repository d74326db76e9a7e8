"""Hypothesis strategies: density expressions, spec files (TOML) and ``unicr`` command lines.

Each strategy mixes sensible input (so that the deep code paths run) with hostile input
(so that the refusals are exercised): extreme constants, forbidden Python constructs that
would run code if they were ever evaluated, deep nesting, huge strings, wrong types,
unknown options, unwritable paths.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import strategies as st

from fuzz.cases import SENTINEL

# ---------------------------------------------------------------------------
# density expressions
# ---------------------------------------------------------------------------

#: accepted one-argument functions (unicr/noises/expr.py FUNCTIONS) and two-argument ones
FUNCS1 = ("exp", "log", "log1p", "expm1", "sqrt", "abs", "sin", "cos", "tan", "sinh", "cosh",
          "tanh", "arctan", "atan", "sech", "erf", "erfc", "log_ndtr", "ndtr", "gammaln", "sign",
          "floor")
FUNCS2 = ("min", "max", "pow", "logaddexp")
PARAM_NAMES = ("alpha", "beta", "k")

#: numbers as text, ordinary and extreme (1e309 and 9**9**9 overflow to inf)
NUMBERS = ("0", "1", "2", "3", "0.5", "1.5", "10", "0.1", "1e-3", "1e3", "1e300", "1e-300",
           "1e308", "1e309", "1e-320", "5e-324", "-0.0", "0.0", "100", "1e10", "1e-10", "1e200",
           "1e-200", "9**9**9", "2**1023", "2**-1074", "0x10", "1_000", "1j", "nan", "inf", "pi",
           "e")

#: constructs that must be refused; several would create the sentinel file if evaluated
HOSTILE = (
    f"__import__('os').system('touch {SENTINEL}')",
    f"open('{SENTINEL}', 'w').write('x')",
    f"exec(\"open('{SENTINEL}','w')\")",
    f"eval(\"open('{SENTINEL}','w')\")",
    f"(lambda: open('{SENTINEL}', 'w'))()",
    f"[open('{SENTINEL}', 'w') for _ in (1,)]",
    "x.__class__.__bases__[0].__subclasses__()",
    "().__class__.__mro__[1].__subclasses__()",
    "__builtins__",
    "__import__",
    "globals()",
    "getattr(x, 'real')",
    "breakpoint()",
    "x.real",
    "x[0]",
    "x @ x",
    "x % 2",
    "x // 2",
    "x ^ 2",
    "x | 1",
    "~x",
    "not x",
    "x and 1",
    "x or 1",
    "x if x > 0 else -x",
    "x is x",
    "x in (1,)",
    "(x := 1)",
    "*x",
    "f'{x}'",
    "'abc'",
    "b'abc'",
    "...",
    "None",
    "True",
    "import os",
    "x; import os",
    "x\nimport os",
    "def f(): pass",
    "exp(x=1)",
    "exp(*x)",
    "unknown_function(x)",
    "np.exp(x)",
    "math.exp(x)",
    "os",
    "sys",
    "y",
    "r",
    "d",
    "X",
    "\uff58",  # fullwidth x: NFKC-normalised to x by Python's parser
    "\U0001d465",  # mathematical italic x
    "x\x00",
    "exp(x, x)",
    "where(x)",
    "where(x, 1)",
    "exp()",
    "digamma(x)",
    "cmp(x, 1)",
    "yield x",
    "await x",
    "{x}",
    "{'a': x}",
    "[x]",
    "(x, x)",
    "x[::2]",
    "",
    "   ",
    "#",
    "x # comment",
    "(",
    ")",
    "x +",
    "\\",
)

#: the hostile constructs that would reach Python objects or run code: always refused
DANGEROUS = tuple(h for h in HOSTILE if SENTINEL in h or "__" in h or "import" in h
                  or h.split("(")[0] in ("globals", "getattr", "breakpoint", "def f"))

_LEAF = st.one_of(
    st.sampled_from(("x", "x", "x", "pi", "e", "inf") + PARAM_NAMES),
    st.sampled_from(NUMBERS),
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
    st.integers(-10**30, 10**30).map(str),
)


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    def binop(t: tuple[str, str, str]) -> str:
        return f"({t[0]} {t[1]} {t[2]})"

    return st.one_of(
        st.tuples(children, st.sampled_from(("+", "-", "*", "/", "**", "<", "<=", ">", ">=",
                                             "==", "!=")), children).map(binop),
        children.map(lambda a: f"-{a}"),
        children.map(lambda a: f"+{a}"),
        st.tuples(st.sampled_from(FUNCS1), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(FUNCS2), children, children).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        st.tuples(children, children, children).map(lambda t: f"where({t[0]}, {t[1]}, {t[2]})"),
        st.tuples(children, children, children).map(lambda t: f"{t[0]} < {t[1]} <= {t[2]}"),
    )


#: arithmetic over the whitelist (mostly accepted)
ARITHMETIC = st.recursive(_LEAF, _extend, max_leaves=12)

#: log-densities that are (mostly) normalisable, with shapes and constants drawn at random
_SHAPE = st.sampled_from(("0.1", "0.5", "1", "1.5", "2", "3", "8", "50", "300", "1e3", "1e-3"))
_CONST = st.sampled_from(("1", "2", "0.5", "1e-3", "1e3", "1e-20", "1e20", "1e-200", "1e200",
                          "1e300", "1e-300", "0"))
DENSITY = st.one_of(
    st.tuples(_CONST, _SHAPE).map(lambda t: f"-abs(x/{t[0]})**{t[1]}"),
    _CONST.map(lambda c: f"-(x/{c})**2"),
    _CONST.map(lambda c: f"-log1p((x/{c})**2)"),
    st.tuples(_SHAPE, _CONST).map(lambda t: f"-{t[0]}*log1p(abs(x)/{t[1]})"),
    st.tuples(_CONST, _CONST).map(lambda t: f"where(abs(x) <= {t[0]}, 0, -inf) + 0*{t[1]}"),
    _CONST.map(lambda c: f"where(x >= 0, -x*{c}, -inf)"),
    _CONST.map(lambda c: f"where(x > 0, -x**2, -inf) + {c}"),
    _CONST.map(lambda c: f"-x**2 + {c}"),
    _CONST.map(lambda c: f"{c}*x**2"),
    st.tuples(_CONST, _SHAPE).map(lambda t: f"logaddexp(-abs(x), -(x - {t[0]})**2*{t[1]})"),
    st.tuples(_CONST, _CONST).map(lambda t: f"where(x == 0, {t[0]}, -x**2*{t[1]})"),
    _SHAPE.map(lambda s: f"-abs(x)**{s} + sin(x)"),
    _SHAPE.map(lambda s: f"-cosh(x)**{s}"),
    _SHAPE.map(lambda s: f"log(sech(x)**{s})"),
    _SHAPE.map(lambda s: f"-x**2 + where(abs(x) < 1, {s}, 0)"),
    st.just("tan(x**2)"),
    st.just("-abs(x)*floor(abs(x) + 1)"),
)

#: a density with random noise terms added, so near-valid inputs are common
PERTURBED_DENSITY = st.tuples(DENSITY, st.sampled_from(("+", "-", "*")), ARITHMETIC).map(
    lambda t: f"{t[0]} {t[1]} 1e-6*({t[2]})")


def _nest(depth: int, inner: str, kind: str) -> str:
    if kind == "paren":
        return "(" * depth + inner + ")" * depth
    if kind == "abs":
        return "abs(" * depth + inner + ")" * depth
    if kind == "neg":
        return "-" * depth + inner
    if kind == "pow":
        return "**".join([inner] * depth)
    return "+".join([inner] * depth)


DEEP = st.builds(_nest, st.integers(1, 3000), st.sampled_from(("x", "1", "abs(x)")),
                 st.sampled_from(("paren", "abs", "neg", "pow", "sum")))

#: everything: hostile constructs, deep nesting, arithmetic, densities, junk text
EXPRESSION = st.one_of(
    st.sampled_from(HOSTILE),
    st.tuples(st.sampled_from(HOSTILE), ARITHMETIC).map(lambda t: f"{t[1]} + {t[0]}"),
    DEEP,
    ARITHMETIC,
    DENSITY,
    PERTURBED_DENSITY,
    st.text(max_size=40),
    st.text(alphabet="x()+-*/.e0123456789 ,<=>!abspqrtwhinlog_", max_size=60),
)

#: expressions for spec files: mostly density-like so that building and sanity checks run
SPEC_EXPRESSION = st.one_of(DENSITY, DENSITY, DENSITY, PERTURBED_DENSITY, ARITHMETIC,
                            st.sampled_from(HOSTILE), DEEP)


# ---------------------------------------------------------------------------
# spec files (TOML)
# ---------------------------------------------------------------------------


def toml_value(v: Any) -> str:
    """A TOML literal for ``v`` (this harness's own tiny writer)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(a) for a in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(a)}" for k, a in v.items()) + "}"
    raise TypeError(type(v))


def toml_document(top: dict[str, Any], tables: dict[str, dict[str, Any]]) -> str:
    lines = [f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in top.items()]
    for name, table in tables.items():
        lines.append(f"[params.{json.dumps(str(name))}]")
        lines += [f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


_SCALAR = st.one_of(
    st.booleans(), st.integers(-10**20, 10**20),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from((0, 1, -1, 0.5, 1e300, -1e300, 1e-300, math.inf, -math.inf, math.nan)),
)
_ANY_VALUE = st.recursive(_SCALAR, lambda c: st.one_of(st.lists(c, max_size=3),
                                                       st.dictionaries(st.text(max_size=5), c,
                                                                       max_size=3)),
                          max_leaves=6)
_NAME = st.one_of(st.sampled_from(("fuzz", "my_noise", "a-b", "x1")), st.text(max_size=12),
                  st.just("1bad"), st.just("a" * 5000))
_NUMLIKE = st.one_of(st.sampled_from((0, 1, 2, -1, 0.5, 10, 1e300, 1e-300, math.inf, -math.inf,
                                      math.nan, 300, 1e6)), _ANY_VALUE)

_PARAM_TABLE = st.fixed_dictionaries(
    {},
    optional={"default": _NUMLIKE, "min": _NUMLIKE, "max": _NUMLIKE, "min_open": _ANY_VALUE,
              "max_open": _ANY_VALUE, "integer": _ANY_VALUE, "doc": _ANY_VALUE,
              "bogus": _ANY_VALUE},
)

_BUILTINS = st.sampled_from(("gennorm", "gaussian", "laplace", "cauchy", "uniform", "exp2",
                             "uniform_ball", "student_t", "nosuch", "__init__"))


@st.composite
def spec_document(draw: st.DrawFn) -> str:
    """A spec file: a mostly well-formed structure with random, missing and wrong fields."""
    if draw(st.integers(0, 9)) < 6:  # a well-formed file, so that building and the checks run
        expr = draw(st.one_of(DENSITY, DENSITY, PERTURBED_DENSITY, ARITHMETIC))
        top: dict[str, Any] = {"name": "fuzz", "logpdf": expr}
        used = [p for p in PARAM_NAMES if p in expr]
        tables = {p: {"default": draw(st.sampled_from((1, 2, 0.5, 1.5, 1e-3, 1e3)))} for p in used}
        if used and draw(st.booleans()):
            top["scale"] = used[0]
            tables.pop(used[0])
        if draw(st.integers(0, 3)) == 0:
            top["symmetric"] = draw(st.booleans())
        if draw(st.integers(0, 3)) == 0:
            top = {"name": "fuzz", "pdf": f"exp({expr})", **{k: v for k, v in top.items()
                                                          if k not in ("name", "logpdf")}}
        return toml_document(top, tables)
    top = {}
    if draw(st.integers(0, 9)) < 9:
        top["name"] = draw(_NAME) if draw(st.booleans()) else "fuzz"
    field = draw(st.sampled_from(("logpdf", "logpdf", "logpdf", "pdf", "both", "none")))
    expr = draw(SPEC_EXPRESSION)
    if field in ("logpdf", "both"):
        top["logpdf"] = expr
    if field in ("pdf", "both"):
        top["pdf"] = draw(st.sampled_from(("exp(-x**2)", "1/(1+x**2)", "exp(-abs(x))", expr)))
    params: dict[str, dict[str, Any]] = {}
    used = [p for p in PARAM_NAMES if p in expr]
    for p in used:
        if draw(st.integers(0, 4)) < 4:
            table: dict[str, Any] = {"default": draw(st.sampled_from((1, 2, 0.5, 1.5)))}
            if draw(st.booleans()):
                table = draw(_PARAM_TABLE)
            params[p] = table
    if used and draw(st.booleans()):
        top["scale"] = draw(st.sampled_from(used))
        params.pop(top["scale"], None)
    for key in ("aliases", "description", "source", "kind", "builtin", "symmetric", "norm",
                "bogus_key", "sigma"):
        if draw(st.integers(0, 7)) == 7:
            if key == "builtin":
                top[key] = draw(_BUILTINS)
            elif key == "kind":
                top[key] = draw(st.sampled_from(("product", "joint", "other", 1)))
            elif key == "symmetric":
                top[key] = draw(st.one_of(st.booleans(), _ANY_VALUE))
            elif key == "description":
                top[key] = draw(st.one_of(st.text(max_size=50), st.just("\u00e9" * 100000)))
            else:
                top[key] = draw(_ANY_VALUE)
    if draw(st.integers(0, 9)) == 9:
        params[draw(st.sampled_from(("x", "exp", "pi", "__class__", "gamma", "d")))] = \
            {"default": 1}
    text = toml_document(top, params)
    if draw(st.integers(0, 14)) == 14:  # a deeply nested array (RecursionError in the parser?)
        depth = draw(st.integers(10, 5000))
        text += "junk = " + "[" * depth + "]" * depth + "\n"
    if draw(st.integers(0, 14)) == 14:  # a params value that is not a table
        text = text.replace("[params.", "[paramz.", 1) + f"params = {toml_value(draw(_ANY_VALUE))}\n"
    if draw(st.integers(0, 14)) == 14:  # raw mutation: cut, duplicate keys, junk bytes
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.text(max_size=10)) + text[cut:]
    return text


# ---------------------------------------------------------------------------
# command lines
# ---------------------------------------------------------------------------

def _val(sane: tuple[str, ...], hostile: tuple[str, ...], odds: int = 7) -> st.SearchStrategy[str]:
    """A sane value, or (one time in ``odds``) a hostile one."""
    return st.integers(0, odds - 1).flatmap(
        lambda k: st.sampled_from(hostile) if k == odds - 1 else st.sampled_from(sane))


#: numbers as the user might type them: sane, then hostile
NUM_SANE = ("0.5", "1", "2", "0.25", "0.1", "3")
NUM_HOSTILE = ("nan", "inf", "-inf", "-1", "0", "1e308", "1e-320", "1e-12", "abc", "", "1e999",
               "-0", "1e-100", "1e100")
NUM_TEXT = NUM_SANE + NUM_HOSTILE
PROB_SANE = ("0.6", "0.75", "0.9", "0.99", "0.999", "0.51", "0.9999")
PROB_HOSTILE = ("0.500000000001", "0.9999999999", "1", "0", "nan", "-0.5", "1.5", "inf", "0.5")
PROB_TEXT = PROB_SANE + PROB_HOSTILE
NOISE_SANE = ("gaussian", "laplace", "gennorm", "cauchy", "uniform", "logistic", "student_t",
              "exp_mix", "hsecant", "huber", "pareto", "exp2", "expinf", "exp1", "pow2",
              "uniform_ball", "normal_uniform", "laplace_gaussian_mix", "cubic_exp", "laplacian",
              "spec.toml", "spec.toml", "spec.toml")
NOISE_HOSTILE = ("gaussian ", "GAUSSIAN", "nosuch", "", "missing.toml", "sub", "/dev/null",
                 "garbage.toml", "../../etc/passwd", "half.toml")
NOISES = NOISE_SANE + NOISE_HOSTILE
PARAM_SANE = ("beta=1.5", "beta=1", "beta=2", "beta=3", "beta=0.5", "nu=3", "nu=1.2", "a=3",
              "alpha=1")
PARAM_HOSTILE = ("beta=300", "beta=1e6", "beta=0.01", "beta=nan", "beta=-1", "beta=inf", "nu=0",
                 "bogus=1", "beta", "=1", "beta=abc", "1x=2", "beta=1e-300")
D_SANE = ("1", "2", "3", "10", "100", "784")
D_HOSTILE = ("1000000", "1000000000000", "0", "-1", "nan", "1.5")
NORM_SANE = ("1", "2", "inf", "3", "1.5", "0.5")
NORM_HOSTILE = ("0", "-1", "nan", "abc", "1e308", "l2", "INF", "1e-300", "")
NORMS = NORM_SANE + NORM_HOSTILE
OUT_SANE = ("out.png", "out.svg", "out.pdf", "out.csv", "sub/out.png")
OUT_HOSTILE = ("out.txt", "/nonexistent/dir/out.png", "/proc/out.png", "sub", "", ".", "out",
               "x" * 300 + ".png")
OUT_PATHS = OUT_SANE + OUT_HOSTILE
_files_for_noise = {"spec.toml": 'name = "spec"\nlogpdf = "-abs(x)**3"\n',
                    "half.toml": 'name = "half"\nlogpdf = "where(x >= 0, -x**2, -inf)"\n',
                    "garbage.toml": b"\x00\xff\xfe not toml [[[",
                    "sub/keep": ""}


def _opt(flag: str, values: tuple[str, ...] | st.SearchStrategy[str],
         often: bool = False) -> st.SearchStrategy[list[str]]:
    vals = values if isinstance(values, st.SearchStrategy) else st.sampled_from(values)
    with_flag = vals.map(lambda v: [flag, v])
    return st.one_of(st.just([]), with_flag) if not often else st.one_of(st.just([]), with_flag,
                                                                          with_flag)


def _opts(*parts: st.SearchStrategy[list[str]]) -> st.SearchStrategy[list[str]]:
    return st.tuples(*parts).map(lambda t: [a for part in t for a in part])


_HOSTILE_EXTRA = st.integers(0, 14).flatmap(lambda k: st.just([]) if k < 14 else st.sampled_from((
    ["--bogus"], ["--pa"], ["-x"], ["--"], ["--d=3"], ["--json", "--json"], ["\x00"], ["--help"],
    ["-vv"], ["--version"])))
_NOISE_OPTS = _opts(
    st.integers(0, 3).flatmap(lambda k: st.just([]) if k < 3 else st.lists(
        _val(PARAM_SANE, PARAM_HOSTILE, 4), min_size=1, max_size=2).map(
        lambda ps: [a for p in ps for a in ("--param", p)])),
    st.one_of(st.just([]), st.just([]), _opt("--sigma", _val(NUM_SANE, NUM_HOSTILE, 3)),
              _opt("--scale", _val(NUM_SANE, NUM_HOSTILE, 3))),
)
_D = _val(D_SANE, D_HOSTILE)
_MC = _opts(_opt("--n-mc", _val(("100", "200", "500"), ("0", "-1", "nan", "1e9", "1"))),
            _opt("--seed", _val(("0", "1", "7"), ("-1", "abc", "99999999999999999999"))),
            _opt("--alpha-np", _val(("0.001", "0.01"), ("0", "1", "nan", "0.5"))),
            _opt("--directions", _val(("structured", "pso", "both"), ("bogus",))),
            _opt("--mode", _val(("sound", "estimate"), ("bogus",))),
            _opt("--backend", _val(("numpy", "torch", "auto"), ("bogus",))),
            _opt("--device", _val(("cpu",), ("cuda", "bogus", "cuda:99"))))


_NOISE = _val(NOISE_SANE, NOISE_HOSTILE)
_PROB = _val(PROB_SANE, PROB_HOSTILE)
_NORM = _val(NORM_SANE, NORM_HOSTILE)
_OUT = _val(OUT_SANE, OUT_HOSTILE, 3)
_NUM = _val(NUM_SANE, NUM_HOSTILE)


def _needs_mc(argv: list[str]) -> bool:
    return "mc" in argv or any(n in argv for n in ("exp2", "expinf", "exp1", "pow2",
                                                     "uniform_ball"))


@st.composite
def radius_argv(draw: st.DrawFn) -> list[str]:
    argv = ["radius", draw(_NOISE)]
    if draw(st.integers(0, 19)) < 19:
        argv += ["--pa", draw(_PROB)]
    if draw(st.integers(0, 19)) < 19:
        argv += ["--d", draw(_D)]
    argv += draw(_opts(_NOISE_OPTS,
                       _opt("--pb", _val(("0.01", "0.1", "0.05", "0.3"), PROB_HOSTILE + ("0.9",)),
                            ),
                       _opt("--norm", _NORM, often=True),
                       _opt("--method", _val(("auto", "exact", "mc"), ("bogus",)))))
    if _needs_mc(argv) or draw(st.integers(0, 5)) == 0:
        mc = draw(_MC)
        if "--n-mc" not in mc and _needs_mc(argv):
            mc += ["--n-mc", "200"]
        argv += mc
    if _needs_mc(argv) and "1000000" in argv:
        # a Monte Carlo radius costs n_mc * d per scale: at d = 1e6 a heavy-tailed noise takes
        # minutes (3.5 min measured for student_t, n_mc = 200), which is work, not a hang;
        # the crash paths of d = 1e6 are exercised with the exact engine
        argv[argv.index("1000000")] = "100000"
    if draw(st.booleans()):
        argv.append("--json")
    return argv + draw(_HOSTILE_EXTRA)


@st.composite
def curve_argv(draw: st.DrawFn) -> list[str]:
    argv = ["curve"]
    if draw(st.integers(0, 5)) < 5:
        argv.append(draw(_NOISE))
    else:
        argv += ["--compare", *draw(st.lists(st.one_of(_NOISE, st.sampled_from((
            "gennorm:beta=1", "gennorm:beta=nan", "laplace:bogus", "all"))), min_size=1,
            max_size=3))]
    argv += ["--points", draw(_val(("2", "3", "4"), ("1", "0", "-1", "nan")))]
    argv += ["--d", draw(_val(("1", "2", "10", "100"), ("0", "1000000", "nan")))]
    argv += draw(_opts(
        _NOISE_OPTS,
        st.one_of(st.just([]), st.lists(_NORM, min_size=1, max_size=2).map(
            lambda ns: ["--norm", *ns])),
        _opt("--pa-min", _val(("0.5", "0.6"), PROB_HOSTILE)),
        _opt("--pa-max", _val(("0.99", "0.999", "0.9"), PROB_HOSTILE)),
        _opt("--pb", _val(("0.01", "0.1"), PROB_HOSTILE)),
        _opt("--spacing", _val(("probit", "linear"), ("bogus",))),
        _opt("--method", _val(("auto", "exact"), ("mc",))),
        _opt("--overlay", _val(("auto", "none"), ("cohen", "bogus"))),
        _opt("-o", _OUT), _opt("--csv", _OUT),
        _opt("--title", ("t", "\u00e9\u4e2d", "$\\frac$"))))
    if _needs_mc(argv):
        argv += ["--n-mc", "200"]
    argv += ["--no-cache"] if draw(st.booleans()) else []
    argv += ["--json"] if draw(st.booleans()) else []
    argv += ["--logy"] if draw(st.integers(0, 4)) == 0 else []
    argv += ["-q"]
    return argv + draw(_HOSTILE_EXTRA)


@st.composite
def validate_argv(draw: st.DrawFn) -> list[str]:
    if draw(st.integers(0, 19)) == 19:
        return ["validate", "--list"] + draw(st.sampled_from(([], ["--json"], ["gaussian"])))
    if draw(st.booleans()):  # a clean command line: reaches the verdict code
        noise = draw(st.sampled_from(NOISE_SANE))
        argv = ["validate", noise, "--d", draw(st.sampled_from(D_SANE)),
                "--pa", *draw(st.lists(st.sampled_from(PROB_SANE), min_size=1, max_size=3))]
        if draw(st.booleans()):
            argv += ["--formula", draw(st.sampled_from(("cohen", "teng", "hayes_tv",
                                                        "pixeldp_gaussian", "yang_l1")))]
        else:
            argv += ["--claimed", draw(st.sampled_from(("0.1", "0.5", "1.5", "0", "10", "inf"))),
                     "--norm", draw(st.sampled_from(NORM_SANE))]
        argv += draw(_opts(_opt("--pb", ("0.01", "0.1")), _opt("--rtol", ("1e-3", "0.1")),
                           _opt("--witness-n", ("0", "200"))))
        if _needs_mc(argv):
            argv += ["--n-mc", "200"]
        return argv + (["--json"] if draw(st.booleans()) else [])
    argv = ["validate", draw(_NOISE)]
    argv += draw(st.sampled_from((
        ["--formula", "cohen"], ["--formula", "teng"], ["--formula", "hayes_tv"],
        ["--formula", "pixeldp_gaussian"], ["--formula", "bogus"], ["--formula", "yang_l1"],
        ["--claimed", "1.5"], ["--claimed", "0.3"], ["--claimed", "nan"], ["--claimed", "inf"],
        ["--claimed", "-1"], ["--claimed", "0"], ["--claimed", "1e308"], ["--claimed", "1", "2"],
        [])))
    argv += ["--d", draw(_val(("1", "3", "10", "100"), ("0", "nan", "1000000")))]
    argv += draw(_opts(
        _NOISE_OPTS, _opt("--norm", _NORM, often=True),
        st.integers(0, 9).flatmap(lambda k: st.lists(_PROB, min_size=1, max_size=3).map(
            lambda ps: ["--pa", *ps]) if k < 8 else st.sampled_from((
                ["--pa-grid", "0.6", "0.9", "3"], ["--pa-grid", "0.6", "0.9", "3"], [],
                ["--pa-grid", "0.9", "0.6", "-3"], ["--pa-grid", "nan", "1", "2"]))),
        _opt("--pb", _val(("0.01", "0.1"), PROB_HOSTILE)),
        _opt("--rtol", _val(("1e-3", "0.01"), ("-1", "nan", "inf", "0", "abc"))),
        _opt("--method", _val(("auto", "exact"), ("mc",))),
        _opt("--witness-n", _val(("0", "100"), ("-1", "nan"))),
        _opt("--option", ("convention=gn", "bogus=1", "x")),
        _opt("-o", _OUT), _opt("--csv", _OUT)))
    if _needs_mc(argv) or draw(st.integers(0, 9)) == 9:
        argv += ["--n-mc", "200"]
    argv += ["--json"] if draw(st.booleans()) else []
    return argv + draw(_HOSTILE_EXTRA)


@st.composite
def pdfs_argv(draw: st.DrawFn) -> list[str]:
    if draw(st.integers(0, 4)) == 4:
        return ["pdfs", draw(st.sampled_from(("list", "list", "bogus", "")))] + \
            draw(st.sampled_from(([], ["--json"], ["--d", "3"])))
    argv = ["pdfs", "show", draw(_NOISE)]
    argv += draw(_opts(_NOISE_OPTS, _opt("--d", _val(("1", "3", "10"),
                                                     ("0", "-1", "1000000", "nan")), often=True)))
    argv += ["--json"] if draw(st.booleans()) else []
    return argv + draw(_HOSTILE_EXTRA)


#: a tiny valid results file for ``analyze`` (format of ``unicr certify``)
ANALYZE_TSV = ("# unicr-certify\t1\nidx\tlabel\tpredict\tradius\tcorrect\ttime\n"
               "0\t1\t1\t0.5\t1\t-\n1\t2\t0\t-1\t0\t-\n2\t3\t3\t0.1\t1\t-\n")


@st.composite
def analyze_argv(draw: st.DrawFn) -> list[str]:
    files = draw(st.lists(_val(("ok.tsv", "real.tsv"), ("empty.tsv", "garbage.tsv", "missing.tsv",
                                                         "sub", "nan.tsv"), 3),
                          min_size=1, max_size=2))
    argv = ["analyze", *files]
    argv += draw(_opts(_opt("-o", _OUT),
                       st.one_of(st.just([]), st.lists(_NUM, min_size=1, max_size=3).map(
                           lambda r: ["--radii", *r])),
                       _opt("--rho", _val(("0.001", "0.01"), NUM_HOSTILE)),
                       _opt("--title", ("t", "\u00e9"))))
    argv += ["--json"] if draw(st.booleans()) else []
    return argv + draw(_HOSTILE_EXTRA)


@st.composite
def certify_argv(draw: st.DrawFn) -> list[str]:
    model = draw(_val(("model.pt",), ("garbage.pt", "missing.pt", "sub"), 3))
    argv = ["certify", "--model", model, "--data",
            draw(_val(("fashion-mnist",), ("cifar10", "image-folder"), 4)),
            "--noise", draw(_val(("gaussian", "laplace", "gennorm", "uniform", "spec.toml",
                                  "cauchy", "half.toml"), ("nosuch", "exp2", "uniform_ball"))),
            "--out", draw(_val(("res.tsv",), ("/nonexistent/res.tsv", "sub", "res.png"), 4))]
    argv += ["--n0", draw(_val(("10",), ("0", "-1", "nan"))),
             "--n", draw(_val(("50", "100"), ("0", "1"))),
             "--max", draw(_val(("1", "2"), ("0", "-1")))]
    argv += draw(_opts(_NOISE_OPTS,
                       _opt("--alpha", _val(("0.001", "0.01"), ("0", "1", "nan", "0.5"))),
                       st.one_of(st.just([]), st.lists(_NORM, min_size=1, max_size=2).map(
                           lambda n: ["--norms", *n])),
                       _opt("--skip", _val(("1", "100"), ("0", "-1", "1000000"))),
                       _opt("--batch", _val(("16", "50"), ("0", "-1"))),
                       _opt("--mode", ("binary", "two-sided")),
                       _opt("--alpha-split", _val(("0.5", "0.7"), ("0", "1", "nan"))),
                       _opt("--runner-up", ("plain", "generalized")),
                       _opt("--data-dir", _val(("/usr/share/datasets/fashion-mnist",),
                                               ("/nonexistent", "sub"))),
                       _opt("--radius-method", ("auto", "exact", "mc"))))
    return argv + ["--no-progress"] + draw(_HOSTILE_EXTRA)


@st.composite
def train_argv(draw: st.DrawFn) -> list[str]:
    argv = ["train", "--data", draw(_val(("fashion-mnist",), ("cifar10", "bogus"), 4)),
            "--arch", draw(_val(("mlp", "cnn"), ("bogus", "resnet50"), 4)),
            "--noise", draw(_val(("none", "gaussian", "laplace", "spec.toml", "gennorm"),
                                 ("nosuch", "uniform_ball", "half.toml"))),
            "--epochs", draw(_val(("1",), ("0", "-1", "nan"))),
            "--out", draw(_val(("m.pt",), ("/nonexistent/m.pt", "sub", "m.png"), 4)),
            "--max-train", draw(_val(("64", "32"), ("0", "-1"))),
            "--eval-max", draw(_val(("0", "16"), ("-1",)))]
    argv += draw(_opts(_NOISE_OPTS, _opt("--batch", _val(("32",), ("0", "-1"))),
                       _opt("--lr", _val(("1e-3",), ("nan", "-1", "inf", "0"))),
                       _opt("--optimizer", _val(("adam", "sgd"), ("bogus",))),
                       _opt("--data-dir", ("/nonexistent", "sub"))))
    return argv + ["--no-progress"] + draw(_HOSTILE_EXTRA)


@st.composite
def misc_argv(draw: st.DrawFn) -> list[str]:
    return draw(st.one_of(
        st.sampled_from(([], ["--help"], ["--version"], ["bogus"], ["-v"], ["-vvv", "pdfs", "list"],
                         ["figures", "--only", "bogus"], ["figures", "--bogus"],
                         ["figures", "--only"], ["docgen"], [""], ["\x00"], ["--", "radius"])),
        st.lists(st.text(max_size=12), max_size=4),
    ))


#: (name, strategy, weight): relative share of the CLI budget
CLI_COMMANDS = (
    ("radius", radius_argv(), 6),
    ("curve", curve_argv(), 3),
    ("validate", validate_argv(), 3),
    ("pdfs", pdfs_argv(), 3),
    ("analyze", analyze_argv(), 2),
    ("certify", certify_argv(), 1),
    ("train", train_argv(), 1),
    ("misc", misc_argv(), 1),
)


def cli_files(argv: list[str], model_path: str | None, results_tsv: str | None) -> dict[str, Any]:
    """The input files a command line refers to (written into the case folder)."""
    files: dict[str, Any] = dict(_files_for_noise)
    files.update({"ok.tsv": ANALYZE_TSV, "empty.tsv": "", "garbage.tsv": b"\x00\x01junk\tjunk\n",
                  "nan.tsv": ANALYZE_TSV.replace("0.5", "nan"), "garbage.pt": b"not a checkpoint"})
    if model_path is not None and "model.pt" in argv:
        files["model.pt"] = {"copy": model_path}
    if results_tsv is not None and "real.tsv" in argv:
        files["real.tsv"] = {"copy": results_tsv}
    return files
