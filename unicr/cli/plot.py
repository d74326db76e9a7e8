"""``unicr plot``: redraw saved curves and results files without recomputing anything.

Two kinds of input, one kind per call:

* curve CSVs written by ``unicr curve --csv`` (or :func:`unicr.reporting.plot.write_csv`):
  pA-R curves of several files overlaid in one figure (e.g. an exact curve and a Monte Carlo
  one); Python: :func:`unicr.reporting.curves.read_curves_csv` then
  :func:`unicr.reporting.plot.plot_curves` and :func:`unicr.reporting.plot.save_figure`;
* results files of ``unicr certify`` (or Cohen et al.'s TSV): certified-accuracy curves;
  Python: :func:`unicr.smoothing.dataset.read_results` then
  :func:`unicr.smoothing.plots.plot_results`.

``--table md|latex|csv`` prints the numbers of the same files as a table
(:mod:`unicr.reporting.tables`).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from unicr.cli.common import (
    add_quiet_argument,
    add_table_argument,
    check_figure,
    nonnegative_float,
    print_json,
    print_table,
)
from unicr.errors import InvalidParameterError

#: radii of the certified-accuracy table (the same as ``unicr analyze``)
DEFAULT_RADII = (0.0, 0.25, 0.5, 0.75, 1.0)

_EPILOG = """workflow (the files come from earlier runs):
  $ unicr curve laplace --norm 1 2 --csv exact.csv
  $ unicr curve laplace --norm 1 2 --method mc --csv mc.csv
  $ unicr plot exact.csv mc.csv -o laplace.pdf       # exact and Monte Carlo together
  $ unicr plot exact.csv --table latex               # the radius table for a paper
  $ unicr plot sigma0.25.tsv sigma0.5.tsv -o accuracy.png --table md
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plot", help="redraw saved curve CSVs or results files (no recomputation)",
        description="Redraw the pA-R curves of CSV files written by `unicr curve --csv`, or the "
                    "certified-accuracy curves of results files of `unicr certify`, overlaid "
                    "in one figure (PNG, PDF or SVG); --table prints their numbers as "
                    "Markdown, LaTeX or CSV.  Nothing is recomputed.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="curve CSVs (unicr curve --csv) or results files (unicr certify); "
                        "one kind per call")
    p.add_argument("-o", "--out", metavar="FIG", default=None,
                   help="write the figure here (png, pdf, svg)")
    add_table_argument(p)
    p.add_argument("--norm", nargs="+", default=None, metavar="P",
                   help="only these norms (1, 2, inf or any p > 0)")
    p.add_argument("--title", default=None, help="figure title")
    curves = p.add_argument_group("curve CSVs")
    curves.add_argument("--logy", action="store_true", help="logarithmic radius axis")
    curves.add_argument("--linf-x255", action="store_true",
                        help="l_inf radii x255 (pixel units of an 8-bit image)")
    curves.add_argument("--estimate", action="store_true",
                        help="--table: add the point-estimate column (Monte Carlo curves)")
    res = p.add_argument_group("results files")
    res.add_argument("--radii", type=nonnegative_float, nargs="+", default=list(DEFAULT_RADII),
                     metavar="R", help="--table: radii of the certified accuracy "
                                       "(default 0 0.25 0.5 0.75 1)")
    p.add_argument("--json", action="store_true", help="print what was read and written as JSON")
    add_quiet_argument(p)
    p.set_defaults(func=cmd_plot)


def file_kind(path: str | Path) -> str:
    """``"curves"`` for a curve CSV (its first line starts with ``noise,``), ``"results"`` for a
    results file (a ``#`` header or a tab-separated column line)."""
    p = Path(path)
    try:
        with p.open(encoding="utf-8", errors="replace") as fh:
            first = fh.readline()
    except OSError as exc:
        raise InvalidParameterError(f"cannot read {p}: {exc.strerror or exc}") from None
    if first.startswith("noise,"):
        return "curves"
    if first.startswith("#") or "\t" in first:
        return "results"
    raise InvalidParameterError(
        f"{p} is neither a curve CSV of `unicr curve --csv` (first line 'noise,norm,...') nor a "
        "results file of `unicr certify` (tab-separated)")


def _unique_labels(groups: list[tuple[Path, list[Any]]]) -> list[Any]:
    """Curves of several files in one list; a label found in several files gets the engine
    (when the engines differ) or the file name, so that each curve keeps its own colour."""
    seen: dict[str, set[Path]] = {}
    for path, cs in groups:
        for c in cs:
            seen.setdefault(c.label, set()).add(path)
    out = []
    for path, cs in groups:
        for c in cs:
            if len(seen[c.label]) > 1:
                methods = {x.method for _, xs in groups for x in xs if x.label == c.label}
                tag = c.method if len(methods) > 1 and c.method else path.stem
                c = dataclasses.replace(c, label=f"{c.label} [{tag}]")
            out.append(c)
    return out


def cmd_plot(args: argparse.Namespace) -> int:
    from unicr.certificate import norm_label, parse_norm
    from unicr.reporting.progress import progress

    if args.out is None and args.table is None:
        raise InvalidParameterError("nothing to do: give -o FIG (a figure) and/or --table FORMAT")
    if args.table and args.json:
        raise InvalidParameterError("give --table or --json, not both")
    fig_path = check_figure(args.out, "--out")
    kinds = {f: file_kind(f) for f in args.files}
    if len(set(kinds.values())) > 1:
        csvs = [f for f, k in kinds.items() if k == "curves"]
        raise InvalidParameterError(
            f"give curve CSVs or results files, not both (curve CSV: {csvs[0]}; results file: "
            f"{next(f for f, k in kinds.items() if k == 'results')})")
    kind = next(iter(kinds.values()))
    norms = None if args.norm is None else [norm_label(parse_norm(n)) for n in args.norm]
    bar = progress(len(args.files), "reading", unit="file", quiet=args.quiet or args.json)
    with bar:
        if kind == "curves":
            from unicr.reporting.curves import read_curves_csv

            groups = []
            for f in args.files:
                groups.append((Path(f), read_curves_csv(f)))
                bar.update(1)
            items: list[Any] = _unique_labels(groups)
            if norms is not None:
                items = [c for c in items if norm_label(c.norm) in norms]
        else:
            from unicr.smoothing.dataset import read_results

            items = []
            for f in args.files:
                items.append(read_results(f))
                bar.update(1)
            empty = [str(r.path) for r in items if len(r) == 0]
            if empty:
                raise InvalidParameterError(f"no result rows in {', '.join(empty)}")
    if not items:
        raise InvalidParameterError(f"no curve of the norm(s) {', '.join(norms or [])} in "
                                    f"{', '.join(args.files)}")
    files: dict[str, str] = {}
    if fig_path is not None:
        if kind == "curves":
            from unicr.reporting.plot import plot_curves, save_figure

            fig = plot_curves(items, title=args.title, linf_x255=args.linf_x255, logy=args.logy)
            save_figure(fig, fig_path)
        else:
            from unicr.smoothing.plots import plot_results

            plot_results(_only_norms(items, norms), fig_path, title=args.title)
        files["figure"] = str(fig_path)
    if args.table:
        from unicr.reporting.tables import accuracy_table, radius_table

        print_table(radius_table(items, estimate=args.estimate) if kind == "curves"
                    else accuracy_table(items, args.radii, norms=norms), args.table)
    if args.json:
        what = ([{"noise": c.label, "norm": norm_label(c.norm), "method": c.method,
                  "points": len(c.pa)} for c in items] if kind == "curves"
                else [{"file": str(r.path), "noise": r.label_text(), "images": len(r),
                       "norms": r.norms} for r in items])
        print_json({"kind": kind, "inputs": list(args.files), "items": what, "files": files})
    else:
        for name, path in files.items():
            print(f"wrote {name}: {path}", file=sys.stderr if args.table else sys.stdout)
    return 0


def _only_norms(results: list[Any], norms: list[str] | None) -> list[Any]:
    """Results restricted to ``norms`` (for the figure: one panel per norm kept)."""
    if norms is None:
        return results
    out = []
    for r in results:
        keep = [n for n in r.norms if n in norms]
        if not keep:
            continue
        out.append(dataclasses.replace(r, norms=keep, radii={n: r.radii[n] for n in keep}))
    if not out:
        raise InvalidParameterError(f"no results of the norm(s) {', '.join(norms)}")
    return out
