"""``unicr curve``: pA-R curves of one noise or several (``--compare``), as a figure and CSV.

Python equivalent: :func:`unicr.reporting.curves.compute_curves` with :func:`unicr.reporting.plot.plot_curves`
and :func:`unicr.reporting.plot.write_csv`.
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

from unicr.certificate import norm_label, parse_norm
from unicr.cli.common import (
    D_HELP,
    DEFAULT_D,
    add_mc_arguments,
    add_noise_arguments,
    add_table_argument,
    check_figure,
    check_output,
    finite_float,
    fmt,
    mc_kwargs,
    positive_float,
    positive_int,
    print_json,
    print_table,
    probability,
)
from unicr.errors import InvalidParameterError
from unicr.reporting.style import STYLE_HELP, check_style

#: default number of pA points: exact curves are cheap, Monte Carlo ones cost a search per point
DEFAULT_POINTS = {"exact": 50, "mc": 10}
#: rows of the summary table printed when no --json is asked
SUMMARY_ROWS = 6


_EPILOG = """examples:
  unicr curve gaussian --norm 2 --points 10
  unicr curve laplace --norm 1 2 inf --points 10 -o laplace.png --csv laplace.csv
  unicr curve --compare gaussian laplace gennorm:beta=1.5 --norm 2 --points 10 -o cmp.png
  unicr curve --compare gaussian laplace hsecant --norm 1 2 --facet -o cmp.pdf
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "curve", help="pA-R curves of one or several noises (figure + CSV)",
        description="Certified radius against pA for one noise, or several on one figure "
                    "(--compare), in any l_p norms: the proven band [lower, upper] shaded, "
                    "Monte Carlo estimates dashed, published closed forms dotted.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("noise", metavar="NOISE", nargs="?", default=None,
                   help="catalogue name (see `unicr pdfs list`) or path to a .toml spec")
    p.add_argument("--compare", nargs="+", metavar="NOISE", default=None,
                   help="several noises on one figure instead of NOISE: names, .toml paths or "
                        "NAME:key=value[,key=value] (e.g. gennorm:beta=1); 'all' = every "
                        "catalogue product noise with finite variance (with --method mc also "
                        "the joint ones)")
    add_noise_arguments(p, positional=False)
    p.add_argument("--norm", nargs="+", default=["1", "2", "inf"], metavar="P",
                   help="norms: 1, 2, inf or any p > 0 (default: 1 2 inf)")
    p.add_argument("--d", type=positive_int, default=DEFAULT_D, help=D_HELP)
    p.add_argument("--pa-min", type=finite_float, default=0.5,
                   help="smallest pA (excluded from the grid; default 0.5)")
    p.add_argument("--pa-max", type=finite_float, default=0.999, help="largest pA (default 0.999)")
    p.add_argument("--points", type=positive_int, default=None,
                   help=f"number of pA values in (pa-min, pa-max] (default {DEFAULT_POINTS['exact']}, "
                        f"or {DEFAULT_POINTS['mc']} when a curve uses the Monte Carlo engine)")
    p.add_argument("--spacing", choices=("probit", "linear"), default="probit",
                   help="pA values evenly spaced in Phi^-1(pA) (probit: denser near 1, where "
                        "radii grow fastest) or in pA (linear)")
    p.add_argument("--pb", type=probability, default=None,
                   help="fixed (upper bound on) pB for two-sided curves; omitted: binary")
    p.add_argument("--method", choices=("auto", "exact", "mc", "radial"), default="auto",
                   help="exact (product noise), radial (l2-radial joint noise: proven band), mc "
                        "(Monte Carlo, any noise) or auto (exact for product noise, radial where "
                        "it applies, mc for other joint densities or when Monte Carlo options "
                        "are given)")
    p.add_argument("--overlay", nargs="+", metavar="NAME", default=None,
                   help="published closed forms to draw (names: `unicr.closed_form.FORMULAS`), "
                        "'auto' (the best-known certificate per noise and norm) or 'none'; "
                        "default: auto for one noise, none with --compare")
    p.add_argument("-o", "--out", metavar="FIGURE", default=None,
                   help="write the figure (.png, .pdf or .svg)")
    p.add_argument("--csv", metavar="CSV", default=None, help="write the curves as CSV")
    p.add_argument("--title", default=None, help="figure title")
    p.add_argument("--linf-x255", action=argparse.BooleanOptionalAction, default=True,
                   help="show l_inf radii x255 in the figure and the summary (pixel levels of "
                        "an 8-bit image, as in the papers; default on); the CSV and JSON always "
                        "hold the radius itself")
    p.add_argument("--logy", action="store_true", help="logarithmic radius axis")
    p.add_argument("--facet", action="store_true",
                   help="one panel per noise and norm (rows: noises) instead of every noise in "
                        "one panel per norm: for comparisons whose bands would cover each other")
    add_figure_arguments(p)
    p.add_argument("--no-cache", action="store_true",
                   help="do not read or write the exact engine's curve cache")
    p.add_argument("--json", action="store_true",
                   help="print the curves (and the files written) as JSON on stdout")
    add_table_argument(p, "every row of the curves (pA x noise x norm: lower, upper, status)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar and no summary table (the summary is printed for one "
                        "noise, or with --compare when no file is written)")
    add_mc_arguments(p, "Monte Carlo engine (--method mc, or joint noises)",
                     "failure probability spent on the Neyman-Pearson estimates, per point")
    p.set_defaults(func=cmd_curve)


def add_figure_arguments(p: argparse.ArgumentParser) -> None:
    """``--style`` and ``--width`` of the commands that draw panels of curves (``curve``,
    ``analyze``)."""
    p.add_argument("--style", default=None, metavar="STYLE", help=STYLE_HELP)
    p.add_argument("--width", type=positive_float, default=None, metavar="INCHES",
                   help="figure width in inches, shared by the panels (3.3: one column of a "
                        "two-column paper, 7: both); fonts keep their size")


def cmd_curve(args: argparse.Namespace) -> int:
    from unicr.reporting.curves import compute_curves, pa_grid, resolve_noises
    from unicr.reporting.plot import plot_curves, save_figure, write_csv
    from unicr.reporting.style import figure_style

    if (args.noise is None) == (args.compare is None):
        raise InvalidParameterError("give one NOISE, or several noises with --compare "
                                    "(not both)")
    if args.compare is not None and args.params:
        raise InvalidParameterError(
            "--param applies to a single NOISE; with --compare write NAME:key=value "
            "(e.g. gennorm:beta=1.5)")
    norms = [parse_norm(x) for x in args.norm]
    fig_path = check_figure(args.out, "--out")
    style = check_style(args.style)
    csv_path = check_output(args.csv, "--csv", suffixes=(".csv",))
    items = [args.noise] if args.compare is None else list(args.compare)
    pairs = resolve_noises(items, d=args.d, sigma=args.sigma, scale=args.scale,
                           params=dict(args.params), method=args.method)
    uses_mc = args.method == "mc" or (args.method == "auto"
                                      and any(not nz.is_product for _, nz in pairs))
    points = args.points or DEFAULT_POINTS["mc" if uses_mc else "exact"]
    grid = pa_grid(args.pa_min, args.pa_max, points, pb=args.pb, spacing=args.spacing)
    overlays = args.overlay
    if overlays is None:
        overlays = ["auto"] if args.compare is None else []
    if [o.lower() for o in overlays] == ["none"]:
        overlays = []
    mc_kw = mc_kwargs(args)
    if mc_kw and not uses_mc:
        raise InvalidParameterError(
            f"options {', '.join('--' + k.replace('_', '-') for k in mc_kw)} belong to the Monte "
            "Carlo engine; use --method mc")
    progress = not args.quiet and not args.json
    curves = compute_curves(pairs, norms, args.d, grid, pb=args.pb, method=args.method,
                            overlays=overlays, mc_options=mc_kw, progress=progress,
                            cache=not args.no_cache)
    written: dict[str, str] = {}
    if fig_path is not None:
        title = args.title if args.title is not None else default_title(pairs, args)
        with figure_style(style):
            fig = plot_curves(curves, title=title, linf_x255=args.linf_x255, logy=args.logy,
                              facet=args.facet, width=args.width)
            save_figure(fig, fig_path)
        written["figure"] = str(fig_path)
    if csv_path is not None:
        write_csv(curves, csv_path)
        written["csv"] = str(csv_path)
    if args.json:
        print_json({"curves": [c.to_dict() for c in curves], "files": written})
        return 0
    if args.table:
        from unicr.reporting.tables import radius_table

        print_table(radius_table(curves, estimate=any(c.estimate is not None for c in curves)),
                    args.table)
        for kind, path in written.items():  # stdout holds the table alone
            print(f"wrote {kind}: {path}", file=sys.stderr)
        return 0
    # the table is for one noise, or when nothing is written; a comparison is read on the figure
    if not args.quiet and (args.compare is None or not written):
        print_summary(curves, linf_x255=args.linf_x255)
        if not written:
            print("\n(no files written: add -o FIGURE.png and/or --csv FILE.csv)")
    for kind, path in written.items():
        rows = f" ({len(curves) * len(grid)} rows)" if kind == "csv" else ""
        print(f"wrote {kind}: {path}{rows}")
    return 0


def default_title(pairs: list, args: argparse.Namespace) -> str:
    r"""``"$p_A$-$R$ curves, $\sigma$ = 1, $d$ = 3072 (binary)"`` (mathtext)."""
    if args.scale is not None:
        scale = f"native scale = {args.scale:g}"
    else:
        sig = {round(nz.sigma, 9) for _, nz in pairs if nz.sigma is not None
               and math.isfinite(nz.sigma)}
        scale = (rf"$\sigma$ = {next(iter(sig)):g}" if len(sig) == 1
                 else r"$\sigma$ as labelled")
    side = "binary" if args.pb is None else f"$p_B$ = {args.pb:g}"
    return f"$p_A$-$R$ curves, {scale}, $d$ = {args.d} ({side})"


def print_summary(curves: list, *, linf_x255: bool = False) -> None:
    """A few rows of every curve: pA, lower, upper (and estimate / closed forms)."""
    for c in curves:
        n = len(c.pa)
        idx = sorted(set(np.linspace(0, n - 1, min(SUMMARY_ROWS, n)).round().astype(int)))
        f = 255.0 if (linf_x255 and math.isinf(c.norm)) else 1.0
        unit = " x255" if f != 1.0 else ""
        conf = float(np.min(c.confidence_array()))
        print(f"{c.label}: l_{norm_label(c.norm)}{unit}, d = {c.d}, method {c.method}, "
              f"confidence {conf:g} per point")
        cols = ["pA", "lower", "upper"] + (["estimate"] if c.estimate is not None else []) \
            + list(c.overlays)
        widths = [max(12, len(h)) for h in cols]
        print("  " + "  ".join(f"{h:>{w}}" for h, w in zip(cols, widths)))
        for i in idx:
            row = [c.pa[i], c.lower[i] * f, c.upper[i] * f]
            if c.estimate is not None:
                row.append(c.estimate[i] * f)
            row += [c.overlays[k][i] * f for k in c.overlays]
            print("  " + "  ".join(f"{fmt(float(v), 6):>{w}}" for v, w in zip(row, widths)))
        if len(idx) < n:
            print(f"  ({len(idx)} of {n} rows; every row: --table md|latex|csv or --csv FILE)")
