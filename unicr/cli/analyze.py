"""``unicr analyze``: certified-accuracy tables, ACR, R_score and curves from results files.

Python equivalents: :func:`unicr.smoothing.dataset.read_results`,
:func:`unicr.smoothing.metrics.summarize`, :func:`unicr.smoothing.metrics.r_scores`,
:func:`unicr.smoothing.plots.plot_results`.
"""

from __future__ import annotations

import argparse

from unicr.cli.common import (
    add_table_argument,
    check_figure,
    fmt,
    nonnegative_float,
    print_json,
    print_table,
    probability,
)
from unicr.cli.curve import add_figure_arguments
from unicr.reporting.style import LINF_FACTOR, check_style, linf_factor
from unicr.smoothing.plots import norm_groups, norm_value

#: default table radii of l1, l2 and any finite p (input units)
DEFAULT_RADII = (0.0, 0.25, 0.5, 0.75, 1.0)
#: default table radii of l_inf in pixel levels (x255), as in the papers: 0, 1/255 ... 8/255
DEFAULT_RADII_LINF_X255 = (0.0, 1.0, 2.0, 4.0, 8.0)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze", help="certified accuracy, ACR and R_score of certification results",
        description="Summarise one or several results files of `unicr certify`: approximate "
                    "certified accuracy at given radii (and Cohen et al.'s high-probability "
                    "version), the average certified radius (ACR), the radius ceiling "
                    "R(alpha^(1/n)), and UniCR's R_score over all files (the area under the "
                    "envelope of their curves). l_inf radii are shown x255 (pixel levels) by "
                    "default, as in the papers; --json always holds input units.")
    p.add_argument("files", nargs="+", metavar="RESULTS", help="results TSV files")
    p.add_argument("-o", "--out", default=None, metavar="FIG",
                   help="write the certified-accuracy curves to this image (png, pdf, svg)")
    p.add_argument("--radii", type=nonnegative_float, nargs="+", default=list(DEFAULT_RADII),
                   metavar="R",
                   help="table radii of l1, l2 and other finite norms (default 0 0.25 0.5 0.75 1)")
    p.add_argument("--radii-linf", type=nonnegative_float, nargs="+", default=None, metavar="R",
                   help="table radii of l_inf, x255 unless --no-linf-x255 (default 0 1 2 4 8, "
                        "i.e. 0 to 8/255)")
    p.add_argument("--linf-x255", action=argparse.BooleanOptionalAction, default=True,
                   help="show l_inf radii x255 in the table and figure (default on)")
    p.add_argument("--rho", type=probability, default=0.001,
                   help="failure probability of the high-probability accuracy (default 0.001)")
    p.add_argument("--title", default=None, help="figure title")
    add_figure_arguments(p)
    p.add_argument("--json", action="store_true",
                   help="machine-readable output (radii, ACR, ceiling, R_score in input units)")
    add_table_argument(p, "the certified accuracy at the radii, ACR and R_score (input units)")
    p.set_defaults(func=cmd_analyze)


def table_radii(norm: str, args: argparse.Namespace) -> list[float]:
    """The radii of ``norm``'s table in input units (l_inf converted from x255)."""
    if norm_value(norm) != float("inf"):
        return list(args.radii)
    factor = LINF_FACTOR if args.linf_x255 else 1.0
    if args.radii_linf is None:
        return [r / LINF_FACTOR for r in DEFAULT_RADII_LINF_X255]
    return [r / factor for r in args.radii_linf]


def cmd_analyze(args: argparse.Namespace) -> int:
    from unicr.errors import InvalidParameterError
    from unicr.smoothing.dataset import read_results
    from unicr.smoothing.metrics import r_scores, summarize

    if any(r < 0 for r in args.radii):
        raise InvalidParameterError(f"--radii must be >= 0, got {args.radii}")
    fig_path = check_figure(args.out, "--out")
    style = check_style(args.style)
    results = [read_results(f) for f in args.files]
    empty = [str(r.path) for r in results if len(r) == 0]
    if empty:
        raise InvalidParameterError(f"no result rows in {', '.join(empty)}")
    groups = norm_groups(results)
    rows = []
    for res in results:
        for norm in res.norms:  # each norm with its own radii
            rows += [row for row in summarize(res, table_radii(norm, args), args.rho)
                     if row["norm"] == norm]
    scores = r_scores(results)
    if fig_path is not None:
        from unicr.smoothing.plots import plot_results

        plot_results(results, fig_path, title=args.title, linf_x255=args.linf_x255, style=style,
                     width=args.width)
    if args.table:
        from unicr.reporting.tables import accuracy_table

        for group in groups:  # one table per norm (a group of norms with the same radii: one)
            print_table(accuracy_table(results, table_radii(group[0], args), norms=[group[0]]),
                        args.table)
        return 0
    if args.json:
        print_json({"rows": rows, "r_score": scores, "figure": args.out,
                    "units": "radii, ACR, ceiling and R_score in input units (l_inf not x255)",
                    "same_radii": [g for g in groups if len(g) > 1]})
        return 0
    print("approximate certified accuracy (fraction of images certified correct at radius >= r; "
          "abstentions count as wrong; not a high-probability statement)")
    order = [n for g in groups for n in g]
    for norm in order:
        f = linf_factor(norm_value(norm), args.linf_x255)
        unit = " (x255)" if f != 1.0 else ""
        sel = [row for row in rows if row["norm"] == norm]
        same = next(g for g in groups if norm in g)
        radii = table_radii(norm, args)
        if len(same) > 1 and same[0] != norm and radii == table_radii(same[0], args):
            print(f"\nl_{norm}: the same radii as l_{same[0]} in every file (table above)")
            continue
        print(f"\nl_{norm}{unit}")
        print(f"{'results':<34} {'imgs':>5} " + " ".join(
            f"{'r=' + fmt(r * f, 3):>7}" for r in radii) + f" {'ACR':>8} {'ceiling':>8}")
        for row in sel:
            label = f"{row['label']}"[:34]
            accs = " ".join(f"{a:7.3f}" for a in row["certified_accuracy"])  # type: ignore[union-attr]
            ceil = row["ceiling"]
            print(f"{label:<34} {row['images']:>5} {accs} {row['acr'] * f:8.4f} "  # type: ignore[operator]
                  f"{fmt(ceil * f, 4) if ceil is not None else '-':>8}")  # type: ignore[operator]
            if "certified_accuracy_hp" in row:
                hp = " ".join(f"{a:7.3f}" for a in row["certified_accuracy_hp"])  # type: ignore[union-attr]
                print(f"{'  high-prob (rho=' + fmt(args.rho, 3) + ')':<34} {'':>5} {hp}")
    print("\nceiling: largest radius any image can get with n samples, R(alpha^(1/n))")

    def shown(k: str, v: float) -> str:
        f = linf_factor(norm_value(k), args.linf_x255)
        return f"l_{k} {v * f:.4f}" + (" (x255)" if f != 1.0 else "")

    if len(results) > 1:
        print("R_score (UniCR Eq. 5, area under the max over these files' curves): "
              + ", ".join(shown(k, v) for k, v in scores.items()))
    else:
        print("R_score over one file equals its ACR: "
              + ", ".join(shown(k, v) for k, v in scores.items()))
    for res in results:
        print(f"  {res.label_text()}: {res.path}")
    if args.out:
        print(f"figure: {args.out}")
    return 0
