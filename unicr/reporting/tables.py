r"""Tables for papers and notes: radius tables and certified-accuracy tables as Markdown,
LaTeX (booktabs) and CSV -- pure functions from the library's own objects.

Two steps, each a pure function:

1. *build* a :class:`Table` from results --
   :func:`radius_table` (curves :class:`~unicr.reporting.plot.CurveData` or a
   :class:`~unicr.certificate.CertificateArray`: one row per pA, per norm the proven
   ``lower``, ``upper`` and the band's status), :func:`accuracy_table` (results files:
   approximate certified accuracy at chosen radii and ACR per file and norm, plus the
   envelope row whose ACR is UniCR's R_score), :func:`validation_table` (a verdict of
   :func:`unicr.validate`, one row per pA);
2. *render* it -- :func:`render` with ``"md"``, ``"latex"`` or ``"csv"``
   (:func:`to_markdown`, :func:`to_latex`, :func:`to_csv`).

:func:`parse` reads each format back into a :class:`Table` (the tests check that the numbers
survive the round trip).  Numbers: Markdown and LaTeX keep ``digits`` significant digits
(default 6), CSV keeps every digit (``repr``) unless ``digits`` is given (``digits=None``:
every digit in every format); ``inf`` is ``inf``
(``$\infty$`` in LaTeX) and a missing value is empty (``--`` in LaTeX).  LaTeX text is escaped
(``_ % & # $ { } ~ ^ \``); the tabular needs ``\usepackage{booktabs}``.

Example::

    from unicr.reporting.curves import compute_curves
    from unicr.reporting.tables import radius_table, render

    curves = compute_curves("laplace", norms=[1, 2], d=3072, pa=[0.6, 0.9, 0.99])
    print(render(radius_table(curves), "latex"))
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from unicr.certificate import CertificateArray, norm_label
from unicr.errors import InvalidParameterError

__all__ = ["Table", "FORMATS", "radius_table", "accuracy_table", "validation_table", "render",
           "to_markdown", "to_latex", "to_csv", "parse", "write", "latex_escape"]

#: output formats of :func:`render` (``--table`` on the command line)
FORMATS = ("md", "latex", "csv")

Cell = float | int | str | None


@dataclass(frozen=True)
class Table:
    """A rectangular table: ``columns`` (names), ``rows`` (cells: numbers, text or None).

    ``groups`` optionally spans column names with a heading, as ``(heading, span)`` pairs
    that cover the columns from the left (heading ``""`` for columns without one, e.g. pA);
    LaTeX draws them as a two-level header (``\\multicolumn`` + ``\\cmidrule``), Markdown and
    CSV write the flat names ``"heading column"`` (:meth:`flat_columns`).  ``caption`` is
    written as a comment (LaTeX ``%``, Markdown and CSV ``#``) above the table.
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    groups: tuple[tuple[str, int], ...] = ()
    caption: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(str(c) for c in self.columns))
        object.__setattr__(self, "rows", tuple(tuple(r) for r in self.rows))
        object.__setattr__(self, "groups", tuple((str(g), int(n)) for g, n in self.groups))
        for i, r in enumerate(self.rows):
            if len(r) != len(self.columns):
                raise InvalidParameterError(
                    f"table row {i} has {len(r)} cells, expected {len(self.columns)}")
        if self.groups and sum(n for _, n in self.groups) != len(self.columns):
            raise InvalidParameterError("table groups must span every column exactly once")

    def flat_columns(self) -> list[str]:
        """Column names with their group heading in front (``"l1 lower"``)."""
        if not self.groups:
            return list(self.columns)
        out = []
        k = 0
        for head, span in self.groups:
            for c in self.columns[k:k + span]:
                out.append(f"{head} {c}" if head else c)
            k += span
        return out

    def column(self, name: str) -> list[Cell]:
        """The cells of one column, by flat name (:meth:`flat_columns`)."""
        names = self.flat_columns()
        if name not in names:
            raise InvalidParameterError(f"no column {name!r}; columns: {', '.join(names)}")
        j = names.index(name)
        return [r[j] for r in self.rows]

    def to_records(self) -> list[dict[str, Cell]]:
        """One dict per row, keyed by the flat column names."""
        names = self.flat_columns()
        return [dict(zip(names, r)) for r in self.rows]

    def to_dataframe(self) -> Any:
        """The table as a ``pandas.DataFrame`` (pandas is optional: ``pip install unicr[notebook]``)."""
        from unicr.certificate import dataframe

        return dataframe(self.to_records(), self.flat_columns())


# ---------------------------------------------------------------------------
# building tables
# ---------------------------------------------------------------------------


def _band_status(lower: float, upper: float) -> str:
    from unicr.reporting.curves import band_status

    return band_status(lower, upper)


def _as_curves(data: Any) -> list[Any]:
    """CurveData, a CertificateArray or a list of either, as a list of CurveData."""
    from unicr.reporting.plot import CurveData

    items = [data] if isinstance(data, (CurveData, CertificateArray)) else list(data)
    out = []
    for it in items:
        if isinstance(it, CurveData):
            out.append(it)
        elif isinstance(it, CertificateArray):
            if len(it) == 0:
                continue
            c0 = it[0]
            for c in it:
                if (c.norm, c.d) != (c0.norm, c0.d):
                    raise InvalidParameterError("a CertificateArray for a table must have one "
                                                "norm and one d")
            name = c0.noise.get("name", "radius") if c0.noise else "radius"
            pb = it.pb
            out.append(CurveData(label=str(name), norm=c0.norm, d=c0.d, pa=it.pa,
                                 lower=it.lower, upper=it.upper,
                                 estimate=None if np.all(np.isnan(it.estimate)) else it.estimate,
                                 pb=None if np.all(np.isnan(pb)) else pb, method=c0.method,
                                 confidence=it.confidence))
        else:
            raise InvalidParameterError(
                f"radius_table takes CurveData or a CertificateArray, got {type(it).__name__}")
    if not out:
        raise InvalidParameterError("radius_table: no curves")
    return out


def radius_table(curves: Any, *, estimate: bool = False, caption: str | None = None) -> Table:
    """pA rows x (noise, norm) column groups, each with ``lower``, ``upper`` and ``status``.

    ``curves``: :class:`~unicr.reporting.plot.CurveData` (one or a list, e.g. from
    :func:`unicr.reporting.curves.compute_curves` or ``read_curves_csv``) or a
    :class:`~unicr.certificate.CertificateArray` (from ``unicr.radius(noise, pa=[...])``).
    ``status`` is "exact", "bracketed", "lower-only", "upper-only" or "none"
    (:func:`unicr.reporting.curves.band_status`).  With
    ``estimate`` the point estimate gets a column too (Monte Carlo curves).  A pB column is
    added when some curve is two-sided; pA values missing from a curve's grid are empty.
    The group heading names the noise only when there are several.
    """
    cs = _as_curves(curves)
    labels = list(dict.fromkeys(c.label for c in cs))
    keys: list[tuple[float, float | None]] = []
    for c in cs:
        for i, x in enumerate(np.asarray(c.pa, float)):
            pb = None if c.pb is None else float(c.pb[i])
            if (float(x), pb) not in keys:
                keys.append((float(x), pb))
    keys.sort(key=lambda k: (math.inf if k[1] is None else k[1], k[0]))
    two_sided = any(pb is not None for _, pb in keys)
    sub = ["lower", "upper", "status"] + (["estimate"] if estimate else [])
    columns = ["pA"] + (["pB"] if two_sided else [])
    groups = [("", len(columns))]
    per_curve = []
    for c in cs:
        head = f"l{norm_label(c.norm)}" if len(labels) == 1 else f"{c.label}, l{norm_label(c.norm)}"
        groups.append((head, len(sub)))
        columns += sub
        lookup = {}
        for i, x in enumerate(np.asarray(c.pa, float)):
            pb = None if c.pb is None else float(c.pb[i])
            lo, up = float(c.lower[i]), float(c.upper[i])
            cells: list[Cell] = [lo, up, _band_status(lo, up)]
            if estimate:
                est = None if c.estimate is None else float(c.estimate[i])
                cells.append(None if est is None or math.isnan(est) else est)
            lookup[(float(x), pb)] = cells
        per_curve.append(lookup)
    rows = []
    for key in keys:
        row: list[Cell] = [key[0]] + ([key[1]] if two_sided else [])
        for lookup in per_curve:
            row += lookup.get(key, [None] * len(sub))
        rows.append(tuple(row))
    if caption is None:
        d = sorted({int(c.d) for c in cs})
        what = labels[0] if len(labels) == 1 else ", ".join(labels)
        conf = min(float(np.min(c.confidence_array())) for c in cs)
        caption = (f"certified radius of {what}, d = {', '.join(map(str, d))}: lower (proven <= "
                   f"R*), upper (proven >= R*), confidence {conf:g}")
    return Table(tuple(columns), tuple(rows), tuple(groups), caption)


def accuracy_table(results: Any, radii: Sequence[float], *, norms: Sequence[Any] | None = None,
                   envelope: bool = True, caption: str | None = None) -> Table:
    """Approximate certified accuracy at ``radii`` and ACR, one row per (results file, norm).

    ``results``: :class:`~unicr.smoothing.dataset.Results` or paths of results files (one or
    a list).  Columns: ``noise`` (:meth:`Results.label_text`), ``norm``, ``images``, ``r=...``
    per radius (Cohen et al. 2019's approximate certified accuracy; r = 0 is the accuracy of
    the certified predictions) and ``ACR`` (Zhai et al. 2020).  With several files and
    ``envelope``, each norm gets one more row, ``envelope (R_score)``: the best accuracy over
    the files at each radius, and in the ACR column UniCR's R_score (Hong et al. 2022, Eq. 5),
    the area under that envelope.
    """
    from unicr.smoothing.dataset import Results, read_results
    from unicr.smoothing.metrics import certified_accuracy, r_scores, summarize

    items = [results] if isinstance(results, (Results, str)) or hasattr(results, "__fspath__") \
        else list(results)
    loaded = [r if isinstance(r, Results) else read_results(r) for r in items]
    if not loaded:
        raise InvalidParameterError("accuracy_table: no results")
    rs = [float(r) for r in radii]
    if not rs or any(not math.isfinite(r) or r < 0 for r in rs):
        raise InvalidParameterError(f"accuracy_table: radii must be finite and >= 0, got {radii!r}")
    all_norms = list(dict.fromkeys(n for res in loaded for n in res.norms))
    if norms is not None:
        want = [norm_label(_parse_norm(n)) for n in norms]
        missing = [n for n in want if n not in all_norms]
        if missing:
            raise InvalidParameterError(f"accuracy_table: no results for the norm(s) "
                                        f"{', '.join(missing)}; the files have {', '.join(all_norms)}")
        all_norms = want
    columns = ["noise", "norm", "images", *(f"r={r:g}" for r in rs), "ACR"]
    rows: list[tuple[Cell, ...]] = []
    scores = r_scores(loaded) if envelope and len(loaded) > 1 else {}
    for norm in all_norms:
        for res in loaded:
            for s in summarize(res, rs):
                if s["norm"] == norm:
                    rows.append((str(s["label"]), f"l{norm}", int(s["images"]),  # type: ignore[call-overload]
                                 *(float(a) for a in s["certified_accuracy"]),  # type: ignore[attr-defined]
                                 float(s["acr"])))  # type: ignore[arg-type]
        if norm in scores:
            env = np.max([np.atleast_1d(certified_accuracy(res.correct, res.radii[norm], rs))
                          for res in loaded if norm in res.radii], axis=0)
            rows.append(("envelope (R_score)", f"l{norm}", None, *(float(a) for a in env),
                         float(scores[norm])))
    if caption is None:
        caption = ("approximate certified accuracy at radius r (Cohen et al. 2019) and ACR; "
                   "each image's certificate holds with probability 1 - alpha")
        if scores:
            caption += "; envelope: best file per radius, its ACR is R_score (Hong et al. 2022)"
    return Table(tuple(columns), tuple(rows), (), caption)


def _parse_norm(p: Any) -> float:
    from unicr.certificate import parse_norm

    return parse_norm(p)


def validation_table(validation: Any, *, caption: str | None = None) -> Table:
    """One row per pA of a :func:`unicr.validate` result (``FormulaValidation``): ``pA``,
    ``pB`` (two-sided only), ``claimed``, ``lower``, ``upper``, ``verdict`` and ``margin`` (relative distance
    of the claim outside the band; empty for TIGHT and CONSISTENT)."""
    verdicts = list(getattr(validation, "verdicts", validation))
    if not verdicts:
        raise InvalidParameterError("validation_table: no verdicts")
    rows = []
    for v in verdicts:
        margin = None if v.verdict in ("TIGHT", "CONSISTENT") else float(v.margin)
        rows.append((float(v.pa), None if v.pb is None else float(v.pb), float(v.claimed),
                     float(v.lower), float(v.upper), str(v.verdict), margin))
    columns = ["pA", "pB", "claimed", "lower", "upper", "verdict", "margin"]
    if all(r[1] is None for r in rows):  # binary case: no pB column
        columns.pop(1)
        rows = [(r[0], *r[2:]) for r in rows]
    if caption is None:
        v0 = verdicts[0]
        who = getattr(validation, "formula", None) or "claimed radius"
        caption = (f"{who} against the proven band, l{norm_label(v0.norm)}, d = {v0.d}, engine "
                   f"{v0.method}, confidence {min(v.confidence for v in verdicts):g}")
    return Table(tuple(columns), tuple(rows), (), caption)


# ---------------------------------------------------------------------------
# rendering
# ---------------------------------------------------------------------------


def _is_number(x: Cell) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _num_text(x: Cell, digits: int | None) -> str:
    """A cell as text: ints as they are, floats with ``digits`` significant digits (all of
    them when None), ``inf``; None and nan empty."""
    if x is None:
        return ""
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        v = float(x)
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v) if digits is None else f"{v:.{digits}g}"
    return str(x)


def _numeric_columns(table: Table) -> list[bool]:
    return [all(r[j] is None or _is_number(r[j]) for r in table.rows) and
            any(_is_number(r[j]) for r in table.rows) for j in range(len(table.columns))]


def to_markdown(table: Table, digits: int | None = 6) -> str:
    """A GitHub Markdown table (numbers right-aligned), the caption as a line above it."""
    def cell(x: Cell) -> str:
        return _num_text(x, digits).replace("|", "\\|").replace("\n", " ")

    num = _numeric_columns(table)
    lines = [f"<!-- {table.caption} -->"] if table.caption else []
    lines.append("| " + " | ".join(c.replace("|", "\\|") for c in table.flat_columns()) + " |")
    lines.append("|" + "|".join("---:" if n else "---" for n in num) + "|")
    lines += ["| " + " | ".join(cell(x) for x in r) + " |" for r in table.rows]
    return "\n".join(lines) + "\n"


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}"}
_LATEX_RE = re.compile("|".join(re.escape(k) for k in _LATEX_SPECIAL))
_UNLATEX = {v: k for k, v in _LATEX_SPECIAL.items()}
_UNLATEX_RE = re.compile("|".join(re.escape(k) for k in sorted(_UNLATEX, key=len, reverse=True)))


def latex_escape(text: str) -> str:
    r"""Text safe inside a LaTeX tabular: ``_ % & # $ { } ~ ^ \`` escaped."""
    return _LATEX_RE.sub(lambda m: _LATEX_SPECIAL[m.group(0)], str(text))


def _latex_unescape(text: str) -> str:
    return _UNLATEX_RE.sub(lambda m: _UNLATEX[m.group(0)], text)


def to_latex(table: Table, digits: int | None = 6) -> str:
    r"""A booktabs ``tabular`` (``\toprule``, ``\midrule``, ``\bottomrule``); grouped columns
    get a ``\multicolumn`` heading with ``\cmidrule``; the caption is a ``%`` comment."""
    def cell(x: Cell) -> str:
        if x is None or (isinstance(x, float) and math.isnan(x)):
            return "--"
        if _is_number(x) and math.isinf(float(x)):  # type: ignore[arg-type]
            return r"$\infty$" if float(x) > 0 else r"$-\infty$"  # type: ignore[arg-type]
        return latex_escape(_num_text(x, digits))

    num = _numeric_columns(table)
    lines = [f"% {line}" for line in table.caption.splitlines()] if table.caption else []
    lines.append(r"\begin{tabular}{" + "".join("r" if n else "l" for n in num) + "}")
    lines.append(r"\toprule")
    if table.groups and any(h for h, _ in table.groups):
        heads, rules, k = [], [], 1
        for head, span in table.groups:
            if head:
                heads.append(rf"\multicolumn{{{span}}}{{c}}{{{latex_escape(head)}}}")
                rules.append(rf"\cmidrule(lr){{{k}-{k + span - 1}}}")
            else:
                heads += [""] * span
            k += span
        lines.append(" & ".join(heads) + r" \\")
        lines.append(" ".join(rules))
    lines.append(" & ".join(latex_escape(c) for c in table.columns) + r" \\")
    lines.append(r"\midrule")
    lines += [" & ".join(cell(x) for x in r) + r" \\" for r in table.rows]
    lines.append(r"\bottomrule")
    lines.append(r"\end{tabular}")
    return "\n".join(lines) + "\n"


def to_csv(table: Table, digits: int | None = None) -> str:
    """CSV with the flat column names (every digit kept unless ``digits`` is given); the
    caption, if any, is a first line starting with ``#``."""
    buf = io.StringIO()
    if table.caption:
        buf.write("# " + " ".join(table.caption.split()) + "\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(table.flat_columns())
    for r in table.rows:
        w.writerow([_num_text(x, digits) for x in r])
    return buf.getvalue()


def render(table: Table, fmt: str, digits: int | None | str = "auto") -> str:
    """``table`` as ``"md"``, ``"latex"`` or ``"csv"``.

    ``digits``: significant digits of the numbers; ``"auto"`` (default) is 6 for md/latex
    and every digit for csv; ``None`` keeps every digit (shortest round-trip ``repr``).
    """
    if digits == "auto":
        digits = None if fmt == "csv" else 6
    if digits is not None and (isinstance(digits, str) or int(digits) < 1):
        raise InvalidParameterError(f"digits must be a positive integer, None or 'auto', got "
                                    f"{digits!r}")
    if fmt in ("md", "markdown"):
        return to_markdown(table, digits)  # type: ignore[arg-type]
    if fmt in ("latex", "tex"):
        return to_latex(table, digits)  # type: ignore[arg-type]
    if fmt == "csv":
        return to_csv(table, digits)  # type: ignore[arg-type]
    raise InvalidParameterError(f"unknown table format {fmt!r}; choose one of {', '.join(FORMATS)}")


# ---------------------------------------------------------------------------
# parsing back (round trips; reading a table from a paper's source)
# ---------------------------------------------------------------------------


def _cell_value(text: str) -> Cell:
    t = text.strip()
    if t in ("", "--"):
        return None
    if t in (r"$\infty$", "inf"):
        return math.inf
    if t in (r"$-\infty$", "-inf"):
        return -math.inf
    if re.fullmatch(r"[-+]?\d+", t):
        return int(t)
    try:
        return float(t)
    except ValueError:
        return t


def _split_md(line: str) -> list[str]:
    body = line.strip()[1:-1]
    return [c.replace("\\|", "|").strip() for c in re.split(r"(?<!\\)\|", body)]


def _parse_markdown(text: str) -> Table:
    caption = ""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if lines and lines[0].startswith("<!--"):
        caption = lines.pop(0).strip()[4:-3].strip()
    rows = [_split_md(ln) for ln in lines if ln.strip().startswith("|")]
    if len(rows) < 2:
        raise InvalidParameterError("not a Markdown table")
    return Table(tuple(rows[0]), tuple(tuple(_cell_value(c) for c in r) for r in rows[2:]), (),
                 caption)


def _parse_csv(text: str) -> Table:
    lines = text.splitlines()
    caption = ""
    if lines and lines[0].startswith("#"):
        caption = lines.pop(0)[1:].strip()
    rows = list(csv.reader(lines))
    if not rows:
        raise InvalidParameterError("empty CSV table")
    return Table(tuple(rows[0]), tuple(tuple(_cell_value(c) for c in r) for r in rows[1:]), (),
                 caption)


def _latex_cells(line: str) -> list[str]:
    body = line.strip()
    body = body[: -2] if body.endswith(r"\\") else body
    return [c.strip() for c in re.split(r"(?<!\\)&", body)]


def _parse_latex(text: str) -> Table:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    caption = " ".join(ln[1:].strip() for ln in lines if ln.startswith("%"))
    body = [ln for ln in lines if not ln.startswith("%") and not ln.startswith(r"\begin")
            and not ln.startswith(r"\end") and ln not in (r"\toprule", r"\bottomrule")]
    if r"\midrule" not in body:
        raise InvalidParameterError("not a booktabs table (no \\midrule)")
    mid = body.index(r"\midrule")
    head = [ln for ln in body[:mid] if not ln.startswith(r"\cmidrule")]
    columns = [_latex_unescape(c) for c in _latex_cells(head[-1])]
    groups: list[tuple[str, int]] = []
    if len(head) > 1:
        for c in _latex_cells(head[0]):
            m = re.fullmatch(r"\\multicolumn\{(\d+)\}\{\w+\}\{(.*)\}", c)
            groups.append((_latex_unescape(m.group(2)), int(m.group(1))) if m else ("", 1))
        merged: list[tuple[str, int]] = []
        for g in groups:  # consecutive ungrouped columns form one group
            if merged and not g[0] and not merged[-1][0]:
                merged[-1] = ("", merged[-1][1] + g[1])
            else:
                merged.append(g)
        groups = merged
    rows = []
    for ln in body[mid + 1:]:
        cells = _latex_cells(ln)
        rows.append(tuple(_cell_value(c) if c in ("--", r"$\infty$", r"$-\infty$")
                          else _cell_value(_latex_unescape(c)) for c in cells))
    return Table(tuple(columns), tuple(rows), tuple(groups), caption)


def parse(text: str, fmt: str) -> Table:
    """A table written by :func:`render` read back (numbers as int/float, ``inf`` kept, empty
    cells None).  Grouped LaTeX headings are restored; Markdown and CSV give flat names."""
    if fmt in ("md", "markdown"):
        return _parse_markdown(text)
    if fmt in ("latex", "tex"):
        return _parse_latex(text)
    if fmt == "csv":
        return _parse_csv(text)
    raise InvalidParameterError(f"unknown table format {fmt!r}; choose one of {', '.join(FORMATS)}")


def write(table: Table, path: Any, fmt: str | None = None, digits: int | None | str = "auto"
          ) -> Any:
    """Write ``table`` to ``path`` in ``fmt`` (default from the suffix: .md, .tex, .csv)."""
    from pathlib import Path

    p = Path(path)
    if fmt is None:
        fmt = {".md": "md", ".tex": "latex", ".csv": "csv"}.get(p.suffix.lower())
        if fmt is None:
            raise InvalidParameterError(f"{p}: table format unknown from the suffix "
                                        f"{p.suffix or '(none)'!r}; use .md, .tex or .csv")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(render(table, fmt, digits))
    return p
