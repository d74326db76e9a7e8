"""Safe compiler for density expressions (the ``logpdf`` / ``pdf`` fields of noise spec files).

A density expression is a small arithmetic formula in one variable (``x`` for
1-D product noises, ``r`` = a norm of the point for joint noises) and in the
parameters declared by the spec file, for example ``-abs(x/alpha)**beta`` or
``log(beta*exp(-abs(x)) + (1-beta)*exp(-x**2))``.  It is parsed with
:func:`ast.parse` (parsing never executes anything), checked against a
whitelist, and translated into unicr's own small expression tree
(:class:`Node`).  Everything downstream works on that tree only:

* :meth:`CompiledExpression.__call__` evaluates it with numpy through a tree of
  Python closures (no code generation at all);
* :meth:`CompiledExpression.derivative` differentiates it symbolically in the
  variable (the ``score`` of a noise is ``-(d/dx) logpdf``);
* :meth:`CompiledExpression.numba_scalar` / :meth:`numba_vectorized` give
  numba-jitted versions for the engines.

Why generating source for numba is safe here
--------------------------------------------
numba compiles Python functions, so the numba variant needs Python source.  That
source is *emitted* by :func:`_emit_numba` from the validated :class:`Node`
tree, never copied from the user's text:

* numbers are emitted as ``repr(float(v))`` of float64 values (``inf`` as the
  fixed name ``_INF``), so a literal can only ever be a float token;
* the variable is emitted as the fixed identifier ``x`` and parameter *i* as the
  fixed identifier ``p<i>`` -- the user's parameter names never appear;
* operators are emitted from a fixed table (``+ - * / **``, comparisons) and
  functions as fixed helper names from :data:`_NUMBA_FUNCS` that are the only
  entries of the namespace the code is compiled in (no builtins are reachable:
  ``__builtins__`` is an empty dict).

So every token of the generated code comes from unicr's emitter, and the
compiled code object is only passed to ``numba.njit``; it is kept in a private
cache and never exposed.

Whitelist
---------
numbers; the variable; declared parameters; the constants ``pi``, ``e``,
``inf``; unary ``+``/``-``; binary ``+ - * / **``; comparisons ``< <= > >= ==
!=`` (chains allowed) evaluating to 1.0 or 0.0; ``where(cond, a, b)`` (``a``
where ``cond != 0``, else ``b``) and the functions listed in :data:`FUNCTIONS`.
Everything else (attributes, subscripts, other calls, lambdas, comprehensions,
keywords such as ``if``/``and``/``not``/``True``, starred arguments, ``:=``,
f-strings, strings, bytes, statements) is rejected with an
:class:`~unicr.errors.ExpressionError` naming the file, the field and the
offending construct.  Texts longer than :data:`MAX_LENGTH` characters or nested
deeper than :data:`MAX_DEPTH` are rejected as well.  Numbers are float64 from
the start, so ``9**9**9`` evaluates to ``inf`` instantly instead of building a
huge Python integer.
"""

from __future__ import annotations

import ast
import difflib
import functools
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

import numpy as np
from scipy import special

from unicr.errors import ExpressionError

__all__ = [
    "FUNCTIONS",
    "CONSTANTS",
    "MAX_LENGTH",
    "MAX_DEPTH",
    "Node",
    "CompiledExpression",
    "BoundExpression",
    "compile_expression",
]

#: longest accepted expression text (characters)
MAX_LENGTH = 2000
#: deepest accepted nesting of the expression tree
MAX_DEPTH = 50
#: largest node count of a symbolic derivative before falling back to finite differences
MAX_DERIVATIVE_NODES = 20000

#: function name -> number of arguments
FUNCTIONS: dict[str, int] = {
    "exp": 1, "log": 1, "log1p": 1, "expm1": 1, "sqrt": 1, "abs": 1,
    "sin": 1, "cos": 1, "tan": 1, "sinh": 1, "cosh": 1, "tanh": 1,
    "arctan": 1, "atan": 1, "sech": 1, "erf": 1, "erfc": 1, "log_ndtr": 1, "ndtr": 1,
    "gammaln": 1, "sign": 1, "floor": 1,
    "min": 2, "max": 2, "pow": 2, "logaddexp": 2,
    "where": 3,
}
_ALIASES = {"atan": "arctan", "pow": "**"}
#: internal functions produced by differentiation only (not accepted in user text)
_INTERNAL_FUNCTIONS = {"digamma": 1}

#: named constants
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "inf": math.inf}

#: functions whose derivative is zero almost everywhere but that make the density jump
DISCONTINUOUS = frozenset({"floor", "sign", "where", "cmp"})

_CMP_OPS: dict[type, str] = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
}
_BIN_OPS: dict[type, str] = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
}

# friendly names of rejected Python constructs
_FORBIDDEN_NAMES: dict[str, str] = {
    "Attribute": "attribute access (a.b)",
    "Subscript": "subscript (a[i])",
    "Lambda": "lambda",
    "ListComp": "comprehension",
    "SetComp": "comprehension",
    "DictComp": "comprehension",
    "GeneratorExp": "comprehension",
    "Starred": "starred expression (*a)",
    "NamedExpr": "assignment expression (:=)",
    "JoinedStr": "f-string",
    "FormattedValue": "f-string",
    "IfExp": "conditional expression (a if c else b); use where(c, a, b)",
    "BoolOp": "keyword 'and'/'or'",
    "Await": "keyword 'await'",
    "Yield": "keyword 'yield'",
    "YieldFrom": "keyword 'yield'",
    "List": "list display",
    "Tuple": "tuple",
    "Set": "set display",
    "Dict": "dict display",
    "Slice": "slice",
}
_UNARY_NAMES = {ast.Not: "keyword 'not'", ast.Invert: "bitwise operator '~'"}
_BINOP_NAMES = {
    ast.Mod: "operator '%'", ast.FloorDiv: "operator '//'", ast.MatMult: "operator '@'",
    ast.LShift: "operator '<<'", ast.RShift: "operator '>>'", ast.BitOr: "operator '|'",
    ast.BitAnd: "operator '&'", ast.BitXor: "operator '^' (use ** for powers)",
}
_CMP_NAMES = {ast.Is: "keyword 'is'", ast.IsNot: "keyword 'is not'", ast.In: "keyword 'in'",
              ast.NotIn: "keyword 'not in'"}


# ---------------------------------------------------------------------------
# the expression tree
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """One node of a validated expression.

    ``op`` is one of ``"num"`` (``value`` holds a float64), ``"var"``,
    ``"param"`` (``name`` holds the declared name), ``"neg"``, ``"+"``, ``"-"``,
    ``"*"``, ``"/"``, ``"**"``, ``"cmp"`` (``name`` holds the comparison
    operator) or ``"call"`` (``name`` holds the canonical function name).
    """

    op: str
    args: tuple[Node, ...] = ()
    value: float = 0.0
    name: str = ""

    def size(self) -> int:
        return 1 + sum(a.size() for a in self.args)

    def uses(self, op: str, name: str | None = None) -> bool:
        """Whether the tree contains a node with this ``op`` (and ``name``)."""
        if self.op == op and (name is None or self.name == name):
            return True
        return any(a.uses(op, name) for a in self.args)

    def param_names(self) -> set[str]:
        out = {self.name} if self.op == "param" else set()
        for a in self.args:
            out |= a.param_names()
        return out

    def has_var(self) -> bool:
        return self.uses("var")

    def text(self) -> str:
        """A canonical infix rendering (for messages and fingerprints)."""
        if self.op == "num":
            return repr(float(self.value))
        if self.op == "var":
            return "x"
        if self.op == "param":
            return self.name
        if self.op == "neg":
            return f"(-{self.args[0].text()})"
        if self.op in ("+", "-", "*", "/", "**"):
            return f"({self.args[0].text()} {self.op} {self.args[1].text()})"
        if self.op == "cmp":
            return f"({self.args[0].text()} {self.name} {self.args[1].text()})"
        return f"{self.name}({', '.join(a.text() for a in self.args)})"


def _num(v: float) -> Node:
    return Node("num", value=float(v))


_ZERO = _num(0.0)
_ONE = _num(1.0)


def _is_num(n: Node, v: float | None = None) -> bool:
    return n.op == "num" and (v is None or n.value == v)


# light algebraic simplification used by the differentiator (keeps derivative trees small)
def _add(a: Node, b: Node) -> Node:
    if _is_num(a, 0.0):
        return b
    if _is_num(b, 0.0):
        return a
    return Node("+", (a, b))


def _sub(a: Node, b: Node) -> Node:
    if _is_num(b, 0.0):
        return a
    if _is_num(a, 0.0):
        return _neg(b)
    return Node("-", (a, b))


def _neg(a: Node) -> Node:
    if _is_num(a):
        return _num(-a.value)
    if a.op == "neg":
        return a.args[0]
    return Node("neg", (a,))


def _mul(a: Node, b: Node) -> Node:
    if _is_num(a, 0.0) or _is_num(b, 0.0):
        return _ZERO
    if _is_num(a, 1.0):
        return b
    if _is_num(b, 1.0):
        return a
    return Node("*", (a, b))


def _div(a: Node, b: Node) -> Node:
    if _is_num(a, 0.0):
        return _ZERO
    if _is_num(b, 1.0):
        return a
    return Node("/", (a, b))


def _pow(a: Node, b: Node) -> Node:
    if _is_num(b, 1.0):
        return a
    return Node("**", (a, b))


def _call(name: str, *args: Node) -> Node:
    return Node("call", tuple(args), name=name)


# ---------------------------------------------------------------------------
# parsing and validation
# ---------------------------------------------------------------------------


def _err(msg: str, file: str | None, fld: str | None, text: str | None = None) -> ExpressionError:
    return ExpressionError(msg, file=file, field=fld, value=text)


def _depth(tree: ast.AST) -> int:
    """Depth of a Python AST, computed iteratively (no recursion on untrusted input)."""
    best = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, d = stack.pop()
        best = max(best, d)
        if best > MAX_DEPTH + 5:
            return best
        for child in ast.iter_child_nodes(node):
            stack.append((child, d + 1))
    return best


class _Translator:
    """Python AST -> :class:`Node`, rejecting everything outside the whitelist."""

    def __init__(self, variable: str, params: Sequence[str], file: str | None, fld: str | None,
                 text: str):
        self.variable = variable
        self.params = tuple(params)
        self.file = file
        self.fld = fld
        self.text = text

    def fail(self, what: str, node: ast.AST | None = None) -> ExpressionError:
        where = ""
        if node is not None and hasattr(node, "col_offset"):
            where = f" at column {node.col_offset + 1}"
        return _err(f"forbidden construct{where}: {what} in expression {self.text!r}",
                    self.file, self.fld)

    def symbols_hint(self) -> str:
        names = [self.variable, *self.params, *CONSTANTS]
        return ", ".join(names)

    def visit(self, node: ast.AST) -> Node:
        kind = type(node).__name__
        if isinstance(node, ast.Expression):
            return self.visit(node.body)
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or v is None or v is Ellipsis:
                raise self.fail(f"keyword {v!r}", node)
            if isinstance(v, str):
                raise self.fail("string literal", node)
            if isinstance(v, bytes):
                raise self.fail("bytes literal", node)
            if isinstance(v, complex):
                raise self.fail("complex number", node)
            if isinstance(v, (int, float)):
                try:
                    return _num(float(v))
                except OverflowError:
                    raise self.fail("number too large for float64", node) from None
            raise self.fail(f"constant of type {type(v).__name__}", node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return _neg_keep(self.visit(node.operand))
            if isinstance(node.op, ast.UAdd):
                return self.visit(node.operand)
            raise self.fail(_UNARY_NAMES.get(type(node.op), f"operator {type(node.op).__name__}"),
                            node)
        if isinstance(node, ast.BinOp):
            op = _BIN_OPS.get(type(node.op))
            if op is None:
                raise self.fail(_BINOP_NAMES.get(type(node.op), type(node.op).__name__), node)
            return Node(op, (self.visit(node.left), self.visit(node.right)))
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.fail(_FORBIDDEN_NAMES.get(kind, kind), node)

    def name(self, node: ast.Name) -> Node:
        nm = node.id
        if nm == self.variable:
            return Node("var")
        if nm in self.params:
            return Node("param", name=nm)
        if nm in CONSTANTS:
            return _num(CONSTANTS[nm])
        if nm in FUNCTIONS:
            raise _err(f"'{nm}' is a function: call it as {nm}(...) in expression {self.text!r}",
                       self.file, self.fld)
        known = [self.variable, *self.params, *CONSTANTS]
        close = difflib.get_close_matches(nm, known, n=2)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise _err(f"unknown symbol '{nm}' in expression {self.text!r} (allowed symbols: "
                   f"{self.symbols_hint()}; declare parameters under [params]){hint}",
                   self.file, self.fld)

    def compare(self, node: ast.Compare) -> Node:
        left = self.visit(node.left)
        out: Node | None = None
        for op, right_ast in zip(node.ops, node.comparators):
            sym = _CMP_OPS.get(type(op))
            if sym is None:
                raise self.fail(_CMP_NAMES.get(type(op), type(op).__name__), node)
            right = self.visit(right_ast)
            term = Node("cmp", (left, right), name=sym)
            out = term if out is None else Node("*", (out, term))
            left = right
        assert out is not None
        return out

    def call(self, node: ast.Call) -> Node:
        if not isinstance(node.func, ast.Name):
            self.visit(node.func)  # raises for attributes (np.exp), subscripts, lambdas ...
            raise self.fail("call of something that is not a plain function name", node)
        fname = node.func.id
        if fname not in FUNCTIONS:
            close = difflib.get_close_matches(fname, list(FUNCTIONS), n=2)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise self.fail(f"call to unknown function '{fname}' (allowed: "
                            f"{', '.join(sorted(FUNCTIONS))}){hint}", node)
        if node.keywords:
            raise self.fail(f"keyword argument in call to {fname}()", node)
        for a in node.args:
            if isinstance(a, ast.Starred):
                raise self.fail("starred expression (*a)", a)
        n = FUNCTIONS[fname]
        if len(node.args) != n:
            raise _err(f"{fname}() takes {n} argument{'s' if n > 1 else ''}, got "
                       f"{len(node.args)} in expression {self.text!r}", self.file, self.fld)
        args = tuple(self.visit(a) for a in node.args)
        canon = _ALIASES.get(fname, fname)
        if canon == "**":
            return Node("**", args)
        return _call(canon, *args)


def _neg_keep(a: Node) -> Node:
    # fold "-3" into a number so that literals print nicely, keep everything else
    if a.op == "num":
        return _num(-a.value)
    return Node("neg", (a,))


def parse_expression(text: Any, *, variable: str = "x", params: Sequence[str] = (),
                     file: str | None = None, field: str | None = None) -> Node:
    """Parse and validate ``text`` into a :class:`Node` tree (see the module docstring)."""
    if not isinstance(text, str):
        raise _err(f"an expression must be a string, got {type(text).__name__}", file, field, text)
    if len(text) > MAX_LENGTH:
        raise _err(f"expression is too long ({len(text)} characters, at most {MAX_LENGTH})",
                   file, field)
    src = text.strip()
    if not src:
        raise _err("expression is empty", file, field)
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError as exc:
        # a statement (assignment, import ...) parses in exec mode: say what it is
        kind = None
        try:
            mod = ast.parse(src, mode="exec")
            if mod.body:
                kind = type(mod.body[0]).__name__
        except Exception:  # noqa: BLE001 - any parse failure just means "not a statement"
            kind = None
        if kind is not None and kind != "Expr":
            raise _err(f"statements are not allowed (found {kind.lower()}); give a single "
                       f"expression in x, got {src!r}", file, field) from None
        col = f" at column {exc.offset}" if exc.offset else ""
        raise _err(f"syntax error{col} in expression {src!r}: {exc.msg}", file, field) from None
    except (ValueError, TypeError, MemoryError, RecursionError, OverflowError) as exc:
        raise _err(f"cannot parse expression {src!r}: {type(exc).__name__}", file, field) from None
    if _depth(tree) > MAX_DEPTH:
        raise _err(f"expression is nested too deeply (more than {MAX_DEPTH} levels)", file, field)
    return _Translator(variable, params, file, field, src).visit(tree)


# ---------------------------------------------------------------------------
# numpy evaluation (closures over the tree; no code generation)
# ---------------------------------------------------------------------------

_Eval = Callable[[np.ndarray, tuple[float, ...]], Any]


def _np_sech(a: Any) -> Any:
    return 1.0 / np.cosh(a)


_NP_FUNCS: dict[str, Callable[..., Any]] = {
    "exp": np.exp, "log": np.log, "log1p": np.log1p, "expm1": np.expm1, "sqrt": np.sqrt,
    "abs": np.abs, "sin": np.sin, "cos": np.cos, "tan": np.tan, "sinh": np.sinh,
    "cosh": np.cosh, "tanh": np.tanh, "arctan": np.arctan, "sech": _np_sech,
    "erf": special.erf, "erfc": special.erfc, "log_ndtr": special.log_ndtr,
    "ndtr": special.ndtr, "gammaln": special.gammaln, "sign": np.sign, "floor": np.floor,
    "min": np.minimum, "max": np.maximum, "logaddexp": np.logaddexp,
    "digamma": special.digamma,
}

_NP_CMP: dict[str, Callable[[Any, Any], Any]] = {
    "<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
    "==": np.equal, "!=": np.not_equal,
}


def _build_eval(node: Node, index: Mapping[str, int]) -> _Eval:
    """A closure evaluating ``node`` on ``(x, params)`` with numpy, built by walking the tree."""
    op = node.op
    if op == "num":
        v = node.value
        return lambda x, p: v
    if op == "var":
        return lambda x, p: x
    if op == "param":
        i = index[node.name]
        return lambda x, p: p[i]
    subs = [_build_eval(a, index) for a in node.args]
    if op == "neg":
        (a,) = subs
        return lambda x, p: np.negative(a(x, p))
    if op in ("+", "-", "*", "/", "**"):
        a, b = subs
        f = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide,
             "**": np.power}[op]
        return lambda x, p: f(a(x, p), b(x, p))
    if op == "cmp":
        a, b = subs
        c = _NP_CMP[node.name]
        return lambda x, p: np.asarray(c(a(x, p), b(x, p)), dtype=float)
    if node.name == "where":
        c, a, b = subs
        return lambda x, p: np.where(np.asarray(c(x, p)) != 0, a(x, p), b(x, p))
    f = _NP_FUNCS[node.name]
    if len(subs) == 1:
        (a,) = subs
        return lambda x, p: f(a(x, p))
    a, b = subs
    return lambda x, p: f(a(x, p), b(x, p))


# ---------------------------------------------------------------------------
# symbolic differentiation in the variable
# ---------------------------------------------------------------------------

_SQRT_2PI = math.sqrt(2 * math.pi)


def differentiate(node: Node) -> Node:
    """d(node)/dx as a new tree; zero almost everywhere for comparisons, floor, sign.

    Standard rules of calculus; the derivative of ``where(c, a, b)`` is
    ``where(c, a', b')`` (valid away from the switching points).
    """
    op = node.op
    if op in ("num", "param", "cmp"):
        return _ZERO
    if op == "var":
        return _ONE
    if not node.has_var():
        return _ZERO
    args = node.args
    if op == "neg":
        return _neg(differentiate(args[0]))
    if op in ("+", "-"):
        da, db = differentiate(args[0]), differentiate(args[1])
        return _add(da, db) if op == "+" else _sub(da, db)
    if op == "*":
        a, b = args
        return _add(_mul(differentiate(a), b), _mul(a, differentiate(b)))
    if op == "/":
        a, b = args
        da, db = differentiate(a), differentiate(b)
        return _sub(_div(da, b), _div(_mul(a, db), _mul(b, b)))
    if op == "**":
        a, b = args
        da = differentiate(a)
        if not b.has_var():
            # b * a**(b-1) * a'
            return _mul(_mul(b, _pow(a, _sub(b, _ONE) if not _is_num(b) else _num(b.value - 1))),
                        da)
        db = differentiate(b)
        return _mul(node, _add(_mul(db, _call("log", a)), _div(_mul(b, da), a)))
    # function calls
    name = node.name
    if name in ("floor", "sign"):
        return _ZERO
    if name == "where":
        c, a, b = args
        return _call("where", c, differentiate(a), differentiate(b))
    if name in ("min", "max"):
        a, b = args
        cmp = "<=" if name == "min" else ">="
        return _call("where", Node("cmp", (a, b), name=cmp), differentiate(a), differentiate(b))
    if name == "logaddexp":
        a, b = args
        da, db = differentiate(a), differentiate(b)
        return _add(_mul(da, _call("exp", _sub(a, node))), _mul(db, _call("exp", _sub(b, node))))
    (a,) = args
    da = differentiate(a)
    if name == "exp":
        inner = node
    elif name == "log":
        inner = _div(_ONE, a)
    elif name == "log1p":
        inner = _div(_ONE, _add(_ONE, a))
    elif name == "expm1":
        inner = _call("exp", a)
    elif name == "sqrt":
        inner = _div(_num(0.5), node)
    elif name == "abs":
        inner = _call("sign", a)
    elif name == "sin":
        inner = _call("cos", a)
    elif name == "cos":
        inner = _neg(_call("sin", a))
    elif name == "tan":
        inner = _add(_ONE, _mul(node, node))
    elif name == "sinh":
        inner = _call("cosh", a)
    elif name == "cosh":
        inner = _call("sinh", a)
    elif name == "tanh":
        s = _call("sech", a)
        inner = _mul(s, s)
    elif name == "arctan":
        inner = _div(_ONE, _add(_ONE, _mul(a, a)))
    elif name == "sech":
        inner = _neg(_mul(node, _call("tanh", a)))
    elif name in ("erf", "erfc"):
        g = _mul(_num(2 / math.sqrt(math.pi)), _call("exp", _neg(_mul(a, a))))
        inner = g if name == "erf" else _neg(g)
    elif name == "ndtr":
        inner = _mul(_num(1 / _SQRT_2PI), _call("exp", _mul(_num(-0.5), _mul(a, a))))
    elif name == "log_ndtr":
        # phi(a)/Phi(a) computed as exp(log phi - log Phi): finite in the far left tail
        inner = _call("exp", _sub(_sub(_mul(_num(-0.5), _mul(a, a)), _num(math.log(_SQRT_2PI))),
                                  node))
    elif name == "gammaln":
        inner = _call("digamma", a)
    else:  # pragma: no cover - every whitelisted function is handled above
        raise ExpressionError(f"no derivative rule for {name}()")
    return _mul(inner, da)


# ---------------------------------------------------------------------------
# numba: source emitted from the validated tree (see the module docstring)
# ---------------------------------------------------------------------------

_numba_lock = threading.Lock()


def _numba_helpers() -> dict[str, Any]:
    """Whitelisted scalar helpers: the only names visible to generated numba code."""
    import numba

    jit = functools.partial(numba.njit, cache=False, error_model="numpy")

    @jit
    def _sech(a: float) -> float:
        return 1.0 / math.cosh(a) if abs(a) < 710.0 else 0.0

    @jit
    def _ndtr(a: float) -> float:
        return 0.5 * math.erfc(-a / math.sqrt(2.0))

    @jit
    def _log_ndtr(a: float) -> float:
        if a > 5.0:
            return math.log1p(-0.5 * math.erfc(a / math.sqrt(2.0)))
        if a > -20.0:
            return math.log(0.5 * math.erfc(-a / math.sqrt(2.0)))
        # asymptotic series of the Mills ratio (relative error < 1e-10 for a <= -20)
        z2 = 1.0 / (a * a)
        series = 1.0 - z2 * (1.0 - 3.0 * z2 * (1.0 - 5.0 * z2 * (1.0 - 7.0 * z2)))
        return -0.5 * a * a - math.log(-a) - 0.5 * math.log(2.0 * math.pi) + math.log(series)

    @jit
    def _sign(a: float) -> float:
        if a > 0.0:
            return 1.0
        if a < 0.0:
            return -1.0
        return a  # 0.0, -0.0 or nan

    @jit
    def _min(a: float, b: float) -> float:
        if a != a or b != b:
            return math.nan
        return a if a <= b else b

    @jit
    def _max(a: float, b: float) -> float:
        if a != a or b != b:
            return math.nan
        return a if a >= b else b

    @jit
    def _logaddexp(a: float, b: float) -> float:
        if a == b:
            return a + math.log(2.0)
        m = a if a > b else b
        if m == -math.inf:
            return -math.inf
        return m + math.log1p(math.exp(-abs(a - b)))

    @jit
    def _pow(a: float, b: float) -> float:
        return a ** b

    @jit
    def _where(c: float, a: float, b: float) -> float:
        return a if c != 0.0 else b

    @jit
    def _log(a: float) -> float:
        if a > 0.0:
            return math.log(a)
        if a == 0.0:
            return -math.inf
        return math.nan

    @jit
    def _log1p(a: float) -> float:
        if a > -1.0:
            return math.log1p(a)
        if a == -1.0:
            return -math.inf
        return math.nan

    @jit
    def _sqrt(a: float) -> float:
        return math.sqrt(a) if a >= 0.0 else math.nan

    @jit
    def _gammaln(a: float) -> float:
        return math.lgamma(a)

    return {
        "_INF": math.inf, "_exp": numba.njit(lambda a: math.exp(a)),
        "_log": _log, "_log1p": _log1p, "_expm1": numba.njit(lambda a: math.expm1(a)),
        "_sqrt": _sqrt, "_abs": numba.njit(lambda a: abs(a)),
        "_sin": numba.njit(lambda a: math.sin(a)), "_cos": numba.njit(lambda a: math.cos(a)),
        "_tan": numba.njit(lambda a: math.tan(a)), "_sinh": numba.njit(lambda a: math.sinh(a)),
        "_cosh": numba.njit(lambda a: math.cosh(a)), "_tanh": numba.njit(lambda a: math.tanh(a)),
        "_arctan": numba.njit(lambda a: math.atan(a)), "_sech": _sech,
        "_erf": numba.njit(lambda a: math.erf(a)), "_erfc": numba.njit(lambda a: math.erfc(a)),
        "_log_ndtr": _log_ndtr, "_ndtr": _ndtr, "_gammaln": _gammaln, "_sign": _sign,
        "_floor": numba.njit(lambda a: math.floor(a) * 1.0), "_min": _min, "_max": _max,
        "_logaddexp": _logaddexp, "_pow": _pow, "_where": _where,
    }


_NUMBA_FUNCS = frozenset({
    "exp", "log", "log1p", "expm1", "sqrt", "abs", "sin", "cos", "tan", "sinh", "cosh", "tanh",
    "arctan", "sech", "erf", "erfc", "log_ndtr", "ndtr", "gammaln", "sign", "floor", "min",
    "max", "logaddexp", "where",
})


def _emit_numba(node: Node, index: Mapping[str, int]) -> str:
    """Python source for ``node`` made only of tokens produced here (never user text)."""
    op = node.op
    if op == "num":
        v = float(node.value)
        if math.isinf(v):
            return "_INF" if v > 0 else "(-_INF)"
        if math.isnan(v):  # pragma: no cover - the parser never produces nan
            return "(_INF - _INF)"
        return repr(v)
    if op == "var":
        return "x"
    if op == "param":
        return f"p{int(index[node.name])}"
    args = [_emit_numba(a, index) for a in node.args]
    if op == "neg":
        return f"(-{args[0]})"
    if op == "**":
        return f"_pow({args[0]}, {args[1]})"
    if op in ("+", "-", "*", "/"):
        return f"({args[0]} {op} {args[1]})"
    if op == "cmp":
        sym = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "==", "!=": "!="}[node.name]
        return f"(1.0 if {args[0]} {sym} {args[1]} else 0.0)"
    if node.name not in _NUMBA_FUNCS:
        raise ExpressionError(f"function {node.name}() has no numba version")
    return f"_{node.name}({', '.join(args)})"


# ---------------------------------------------------------------------------
# public result
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CompiledExpression:
    """A validated density expression, callable on numpy arrays.

    ``expr(x, beta=1.5)`` evaluates the tree at ``x`` (any array shape) with the
    given parameter values; every declared parameter must be given.
    """

    text: str
    tree: Node
    variable: str = "x"
    params: tuple[str, ...] = ()
    file: str | None = None
    field: str | None = None
    _cache: dict[str, Any] = dc_field(default_factory=dict, repr=False, compare=False)

    # -- evaluation -------------------------------------------------------------
    def _param_tuple(self, values: Mapping[str, Any]) -> tuple[float, ...]:
        missing = [p for p in self.params if p not in values]
        if missing:
            raise ExpressionError(f"missing value for parameter(s) {', '.join(missing)}",
                                  file=self.file, field=self.field)
        return tuple(float(values[p]) for p in self.params)

    def _evaluator(self) -> _Eval:
        ev = self._cache.get("eval")
        if ev is None:
            ev = _build_eval(self.tree, {p: i for i, p in enumerate(self.params)})
            self._cache["eval"] = ev
        return ev

    def __call__(self, x: Any, **params: Any) -> np.ndarray:
        return self.bind(**params)(x)

    def bind(self, **params: Any) -> BoundExpression:
        """``f(x)`` with the parameters fixed (a picklable callable)."""
        return BoundExpression(self, self._param_tuple(params))

    def __getstate__(self) -> dict[str, Any]:
        # closures and numba dispatchers are rebuilt on demand, never pickled
        state = dict(self.__dict__)
        state["_cache"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)

    # -- structure ---------------------------------------------------------------
    @property
    def symbols(self) -> set[str]:
        """Parameter names the expression actually uses."""
        return self.tree.param_names()

    @property
    def is_smooth(self) -> bool:
        """False if the expression contains comparisons, ``where``, ``floor`` or ``sign``."""
        return not (self.tree.uses("cmp") or any(self.tree.uses("call", f)
                                                 for f in ("where", "floor", "sign")))

    def derivative(self) -> CompiledExpression | None:
        """d/dx of the expression (``None`` if the symbolic derivative is too large)."""
        if "deriv" not in self._cache:
            d = differentiate(self.tree)
            self._cache["deriv"] = None if d.size() > MAX_DERIVATIVE_NODES else CompiledExpression(
                text=f"d/d{self.variable}[{self.text}]", tree=d, variable=self.variable,
                params=self.params, file=self.file, field=self.field)
        return self._cache["deriv"]

    def substitute(self, **values: float) -> CompiledExpression:
        """The expression with some parameters replaced by numbers (removed from ``params``)."""
        def sub(n: Node) -> Node:
            if n.op == "param" and n.name in values:
                return _num(float(values[n.name]))
            if not n.args:
                return n
            return Node(n.op, tuple(sub(a) for a in n.args), n.value, n.name)

        keep = tuple(p for p in self.params if p not in values)
        return CompiledExpression(text=self.text, tree=sub(self.tree), variable=self.variable,
                                  params=keep, file=self.file, field=self.field)

    def log_of(self) -> CompiledExpression:
        """``log(expr)``: turns a density expression (field ``pdf``) into a log-density."""
        return CompiledExpression(text=f"log({self.text})", tree=_call("log", self.tree),
                                  variable=self.variable, params=self.params, file=self.file,
                                  field=self.field)

    # -- numba -------------------------------------------------------------------
    def numba_scalar(self) -> Any:
        """An ``@njit`` scalar function ``f(x, p0, p1, ...)`` (parameters in ``params`` order).

        Built from source emitted by :func:`_emit_numba` (see the module docstring
        for why this is safe); compiled lazily and cached on this object.
        """
        fn = self._cache.get("numba_scalar")
        if fn is not None:
            return fn
        import numba

        with _numba_lock:
            helpers = _numba_helpers_cached()
            body = _emit_numba(self.tree, {p: i for i, p in enumerate(self.params)})
            args = ", ".join(["x", *(f"p{i}" for i in range(len(self.params)))])
            source = f"def _unicr_expr({args}):\n    return {body}\n"
            namespace: dict[str, Any] = {"__builtins__": {}}
            namespace.update(helpers)
            code = compile(source, "<unicr-expression>", "exec")
            exec(code, namespace)  # noqa: S102 - source emitted from the validated tree only
            fn = numba.njit(error_model="numpy")(namespace["_unicr_expr"])
            self._cache["numba_scalar"] = fn
        return fn

    def numba_vectorized(self) -> Callable[..., np.ndarray]:
        """A numpy-ufunc-like ``f(x, p0, ...)`` (numba ``vectorize`` of :meth:`numba_scalar`)."""
        fn = self._cache.get("numba_vec")
        if fn is not None:
            return fn
        import numba

        scalar = self.numba_scalar()
        n = len(self.params)
        sig = "float64(" + ", ".join(["float64"] * (n + 1)) + ")"
        fn = numba.vectorize([sig])(_as_vectorizable(scalar, n))
        self._cache["numba_vec"] = fn
        return fn


class BoundExpression:
    """A :class:`CompiledExpression` with its parameter values fixed: ``f(x) -> ndarray``."""

    def __init__(self, expr: CompiledExpression, values: tuple[float, ...]):
        self.expr = expr
        self.values = values

    def __call__(self, x: Any) -> np.ndarray:
        xa = np.asarray(x, dtype=float)
        with np.errstate(all="ignore"):
            out = np.asarray(self.expr._evaluator()(xa, self.values), dtype=float)
        if out.shape != xa.shape:
            out = np.broadcast_to(out, xa.shape).copy()
        return out

    def overflows(self, x: Any) -> bool:
        """Whether evaluating at ``x`` overflows float64 anywhere in the expression tree.

        Used by the normalisation to tell a support end written by the author
        (``where(abs(x) < 1, ..., -inf)``) from one produced by overflow
        (``-log1p((x/1e-200)**2)`` is ``-inf`` beyond ``x ~ 1e-46``).
        """
        xa = np.asarray(x, dtype=float)
        try:
            with np.errstate(all="ignore", over="raise"):
                self.expr._evaluator()(xa, self.values)
        except FloatingPointError:
            return True
        return False

    def __repr__(self) -> str:
        vals = ", ".join(f"{k}={v:g}" for k, v in zip(self.expr.params, self.values))
        return f"BoundExpression({self.expr.text!r}{', ' if vals else ''}{vals})"


def _as_vectorizable(scalar: Any, n: int) -> Any:
    """A plain njit wrapper with a fixed arity (numba.vectorize needs explicit arguments)."""
    import numba

    if n == 0:
        return numba.njit(lambda x: scalar(x))
    if n == 1:
        return numba.njit(lambda x, a: scalar(x, a))
    if n == 2:
        return numba.njit(lambda x, a, b: scalar(x, a, b))
    if n == 3:
        return numba.njit(lambda x, a, b, c: scalar(x, a, b, c))
    if n == 4:
        return numba.njit(lambda x, a, b, c, d: scalar(x, a, b, c, d))
    raise ExpressionError("numba_vectorized supports at most 4 parameters; use numba_scalar")


@functools.lru_cache(maxsize=1)
def _numba_helpers_cached() -> dict[str, Any]:
    return _numba_helpers()


def compile_expression(text: Any, *, variable: str = "x", params: Sequence[str] = (),
                       file: str | None = None, field: str | None = None) -> CompiledExpression:
    """Validate ``text`` and return a :class:`CompiledExpression`.

    Parameters
    ----------
    text:
        the expression (a log-density up to a constant, or a density).
    variable:
        name of the variable (``"x"``; ``"r"`` for joint noises).
    params:
        declared parameter names (any other name is an unknown symbol).
    file, field:
        where the expression comes from, for error messages.

    Raises
    ------
    ExpressionError
        syntax errors, forbidden constructs, unknown symbols, too long or too deep.
    """
    names = tuple(params)
    for nm in (variable, *names):
        if not isinstance(nm, str) or not nm.isidentifier() or nm.startswith("__"):
            raise _err(f"invalid symbol name {nm!r}", file, field)
        if nm in FUNCTIONS or nm in CONSTANTS:
            raise _err(f"symbol name {nm!r} clashes with a built-in function or constant",
                       file, field)
    tree = parse_expression(text, variable=variable, params=names, file=file, field=field)
    return CompiledExpression(text=str(text).strip(), tree=tree, variable=variable, params=names,
                              file=file, field=field)
