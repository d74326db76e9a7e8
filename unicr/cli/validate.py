"""``unicr validate``: is a published (or your own) radius tight, loose, unsound or consistent?

Three modes, all thin layers over the library:

* one check -- ``unicr validate gaussian --norm 2 --d 3072 --formula hayes_tv --pa 0.9``
  (Python: :func:`unicr.validate.validate_formula` / :func:`unicr.validate`), with the witness
  of an UNSOUND verdict confirmed by :func:`unicr.validate.check_witness`;
* a pA grid -- ``--pa-grid 0.55 0.999 50`` (or several ``--pa`` values): a table (``--table
  md|latex|csv`` for a paper, :func:`unicr.reporting.tables.validation_table`), ``-o fig.png``
  (claimed against the band) and ``--csv table.csv``;
* every formula -- ``unicr validate --all --out DIR [--quick]``
  (:func:`unicr.validation.report.run_all`): ``DIR/report.md``, ``results.json``, ``figures/``.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

import numpy as np

from unicr.certificate import norm_label, parse_norm
from unicr.cli.common import (
    D_HELP,
    DEFAULT_D,
    add_noise_arguments,
    add_quiet_argument,
    add_table_argument,
    check_figure,
    check_output,
    finite_float,
    fmt,
    noise_from_args,
    nonnegative_int,
    positive_int,
    print_json,
    print_table,
    probability,
)
from unicr.errors import InvalidParameterError
from unicr.reporting.style import STYLE_HELP, check_style

_EPILOG = """examples:
  unicr validate gaussian --norm 2 --d 3072 --formula hayes_tv --pa 0.9
  unicr validate laplace --norm 1 --d 3072 --formula teng --pa 0.9 --pb 0.05 --json
  unicr validate gaussian --norm 2 --d 3072 --claimed 1.5 --pa 0.9
  unicr validate gaussian --d 3072 --formula pixeldp_gaussian --pa-grid 0.55 0.999 50 \\
      -o pixeldp.png --csv pixeldp.csv
  unicr validate laplace --d 3072 --formula teng --pa-grid 0.6 0.99 5 --table latex
  unicr validate --list
  unicr validate --all --out docs/validation
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate", help="verdict on a published or claimed radius (TIGHT, LOOSE, UNSOUND, "
                         "CONSISTENT); --all: report on every published formula",
        description="Compare a claimed radius (a published formula, or your own number) with "
                    "the proven band [lower, upper] of the tight radius R*: TIGHT (within "
                    "tolerance of a tight band), LOOSE (below the proven lower bound), UNSOUND "
                    "(above the proven upper bound; the witness perturbation and the "
                    "Neyman-Pearson worst-case set that break it are shown), CONSISTENT "
                    "(inside a band that is not tight).",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("noise", metavar="NOISE", nargs="?", default=None,
                   help="catalogue name (see `unicr pdfs list`) or path to a .toml spec")
    add_noise_arguments(p, positional=False)
    what = p.add_mutually_exclusive_group()
    what.add_argument("--formula", metavar="NAME",
                      help="published formula to check (see --list)")
    what.add_argument("--claimed", type=finite_float, nargs="+", metavar="R",
                      help="your own radius: one value, or one per pA of the grid")
    p.add_argument("--option", dest="options", action="append", default=[], metavar="NAME=VALUE",
                   help="formula option, e.g. convention=gn for hayes_kl (repeatable)")
    p.add_argument("--norm", type=str, default=None,
                   help="1, 2, inf or any p > 0 (default: the formula's own norm; required "
                        "with --claimed)")
    p.add_argument("--d", type=positive_int, default=DEFAULT_D, help=D_HELP)
    grid = p.add_mutually_exclusive_group()
    grid.add_argument("--pa", type=probability, nargs="+", metavar="PA",
                      help="(lower bound on) pA; several values make a grid")
    grid.add_argument("--pa-grid", type=finite_float, nargs=3, metavar=("LO", "HI", "N"),
                      help="N equally spaced pA values from LO to HI")
    p.add_argument("--pb", type=probability, default=None,
                   help="(upper bound on) pB; omitted: binary case pB = 1 - pA")
    p.add_argument("--rtol", type=_rtol, default=1e-3,
                   help="relative tolerance of TIGHT / LOOSE / UNSOUND, in (0, 1) (default "
                        "1e-3)")
    p.add_argument("--method", choices=("auto", "exact", "mc", "radial"), default="auto",
                   help="engine of the band: exact (product noise), radial (l2-radial joint "
                        "noise), mc (sound Monte Carlo, any noise) or auto")
    mc = p.add_argument_group("Monte Carlo engine (joint noise or --method mc; sound mode)")
    mc.add_argument("--n-mc", type=positive_int, default=None, help="Monte Carlo sample size")
    mc.add_argument("--alpha-np", type=probability, default=None,
                    help="failure probability of the Monte Carlo band")
    mc.add_argument("--seed", type=nonnegative_int, default=None, help="random seed (engine and checks)")
    mc.add_argument("--directions", choices=("structured", "pso", "both"), default=None,
                    help="direction search")
    p.add_argument("--witness-n", type=nonnegative_int, default=100_000, metavar="N",
                   help="samples of the Monte Carlo check of an UNSOUND witness (0: skip)")
    out = p.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print the result as JSON")
    out.add_argument("-o", "--out", metavar="PATH", default=None,
                     help="grid mode: save the figure claimed vs band (png, pdf, svg); --all: "
                          "the folder for report.md, results.json and figures/")
    out.add_argument("--output", dest="out", default=None, help=argparse.SUPPRESS)
    out.add_argument("--style", default=None, metavar="STYLE",
                     help=STYLE_HELP + " (the -o figure, or the figures of --all)")
    add_table_argument(out, "the verdicts (one row per pA)")
    add_quiet_argument(out)
    out.add_argument("--csv", metavar="FILE", default=None,
                     help="write the table (one row per pA) as CSV")
    allp = p.add_argument_group("every formula (--all)")
    allp.add_argument("--list", action="store_true", help="list the formulas and exit")
    allp.add_argument("--all", action="store_true",
                      help="check every formula on the standard grid and write a report")
    allp.add_argument("--quick", action="store_true",
                      help="--all: small grid (3 pA points, joint noise in d = 64) for CI")
    allp.add_argument("--no-figures", action="store_true", help="--all: skip the figures")
    allp.add_argument("--no-progress", action="store_true", help="--all: no progress bar")
    p.set_defaults(func=cmd_validate)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _rtol(text: str) -> float:
    """argparse type of --rtol: :func:`unicr.validate.check_rtol`'s rule, at parse time."""
    from unicr.validation.verdict import check_rtol

    try:
        return check_rtol(text)
    except InvalidParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _options(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for text in items:
        if "=" not in text:
            raise InvalidParameterError(f"--option expects NAME=VALUE, got {text!r}")
        key, _, val = text.partition("=")
        try:
            out[key.strip()] = float(val)
        except ValueError:
            out[key.strip()] = val.strip()
    return out


def _grid(args: argparse.Namespace) -> list[float]:
    if args.pa_grid is not None:
        lo, hi, n = args.pa_grid
        if n != int(n) or n < 1:
            raise InvalidParameterError(f"--pa-grid: N must be a positive integer, got {n:g}")
        if not (0.0 < lo < 1.0 and 0.0 < hi < 1.0 and lo <= hi):
            raise InvalidParameterError(
                f"--pa-grid: need 0 < LO <= HI < 1, got LO={lo:g}, HI={hi:g}")
        if int(n) > 1 and lo == hi:
            raise InvalidParameterError("--pa-grid: LO and HI must differ when N > 1")
        return [float(x) for x in np.linspace(lo, hi, int(n))]
    if args.pa is None:
        raise InvalidParameterError("give --pa (one or more values) or --pa-grid LO HI N")
    return [float(x) for x in args.pa]


def _engine_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    for name in ("n_mc", "alpha_np", "seed", "directions"):
        v = getattr(args, name)
        if v is not None:
            kw[name] = v
    return kw


def noise_label(nz: Any) -> str:
    """``gennorm(beta=1.5, sigma=1)``: family, shape parameters and size."""
    ps = [f"{k}={v:g}" for k, v in getattr(nz, "params", {}).items()]
    sig = nz.sigma
    ps.append(f"sigma={sig:.6g}" if sig is not None else f"scale={nz.scale:.6g}")
    if not nz.is_product:
        ps.append(f"d={nz.d}")
    return f"{nz.name}({', '.join(ps)})"


# ---------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    if args.list:
        return _cmd_list(args)
    if args.all:
        return _cmd_all(args)
    for flag, name in ((args.quick, "--quick"), (args.no_figures, "--no-figures")):
        if flag:
            raise InvalidParameterError(f"{name} belongs to --all")
    if args.noise is None:
        raise InvalidParameterError("give a NOISE (see `unicr pdfs list`), or --all, or --list")
    if args.formula is None and args.claimed is None:
        raise InvalidParameterError("give --formula NAME (see `unicr validate --list`) or "
                                    "--claimed R")
    if args.witness_n != 0 and args.witness_n < 100:
        raise InvalidParameterError(f"--witness-n must be 0 or >= 100, got {args.witness_n}")
    if args.table and args.json:
        raise InvalidParameterError("give --table or --json, not both")
    pas = _grid(args)
    if args.out and len(pas) < 2:
        raise InvalidParameterError("-o draws a curve: give at least two pA values "
                                    "(--pa-grid LO HI N)")
    fig_path = check_figure(args.out, "--out")
    style = check_style(args.style)
    csv_path = check_output(args.csv, "--csv", suffixes=(".csv",))
    nz = noise_from_args(args, d=args.d)
    kw = _engine_kwargs(args)
    method = args.method if args.method != "auto" else ("exact" if nz.is_product else "mc")
    if method == "exact":
        kw.pop("seed", None)  # the exact engine is deterministic; --seed still seeds the check
        if kw:
            raise InvalidParameterError(
                f"option(s) {', '.join('--' + k.replace('_', '-') for k in kw)} belong to the "
                f"Monte Carlo engine, and {nz.name} uses the exact engine; add --method mc")
    from unicr.validation.verdict import validate_formula

    options = _options(args.options)
    if args.claimed is not None:
        if options:
            raise InvalidParameterError("--option applies to --formula, not to --claimed")
        if args.norm is None:
            raise InvalidParameterError("--claimed needs --norm (the norm of your radius)")
        claims = list(args.claimed)
        if len(claims) not in (1, len(pas)):
            raise InvalidParameterError(
                f"--claimed: give one value or one per pA ({len(pas)}), got {len(claims)}")
        for c in claims:
            if not (math.isfinite(c) and c >= 0):
                raise InvalidParameterError(f"--claimed must be finite and >= 0, got {c:g}")
        table = dict(zip(pas, claims * len(pas) if len(claims) == 1 else claims))

        def claimed(pa: float, pb: float | None = None) -> float:
            return table[pa]

        fv = validate_formula(claimed, nz, args.norm, args.d, pas, args.pb, method=method,
                              rtol=args.rtol, **kw)
    else:
        fv = validate_formula(args.formula, nz, args.norm, args.d, pas, args.pb,
                              method=method, rtol=args.rtol, options=options or None, **kw)
    point, check = _witness(nz, fv, args)
    files: dict[str, str] = {}
    if fig_path is not None:
        from unicr.reporting.style import figure_style
        from unicr.validation.report import plot_validation

        with figure_style(style):
            files["figure"] = str(plot_validation(fv, fig_path))
    if csv_path is not None:
        from unicr.validation.report import write_validation_csv

        files["csv"] = str(write_validation_csv([fv], csv_path))
    if args.json:
        _print_json(fv, nz, point, check, files, single=len(pas) == 1)
    elif args.table:
        from unicr.reporting.tables import validation_table

        print_table(validation_table(fv), args.table)
    elif len(pas) == 1:
        _print_single(fv, nz, check)
    else:
        _print_grid(fv, nz, point, check)
    for kind, path in files.items():
        if not args.json:  # after a --table: on stderr, so that stdout is the table alone
            print(f"wrote {kind}: {path}", file=sys.stderr if args.table else sys.stdout)
    return 0


def _witness(nz: Any, fv: Any, args: argparse.Namespace) -> tuple[Any, Any]:
    """Confirm an UNSOUND verdict by Monte Carlo at the most informative grid point."""
    if fv.summary != "UNSOUND" or args.witness_n == 0:
        return None, None
    from unicr.validation.report import checkable_point
    from unicr.validation.verdict import check_witness

    v = checkable_point(fv, args.witness_n)
    if v is None or v.witness is None or v.worst_case is None:
        return v, None
    seed = 0 if args.seed is None else args.seed
    return v, check_witness(nz, v.witness, v.d, v.norm, v.pa, v.pb,
                            radius=v.worst_case["check_radius"], n=args.witness_n, rng=seed)


def _print_json(fv: Any, nz: Any, point: Any, check: Any, files: dict[str, str],
                single: bool) -> None:
    if single:
        v = fv.verdicts[0]
        out = v.to_dict()
        res = fv.results[0]
        out["formula_result"] = None if res is None else res.to_dict()
    else:
        out = fv.to_dict()
    out["noise_label"] = noise_label(nz)
    out["witness_check"] = None if check is None else {
        "pa": point.pa, "pb": point.pb, **check.to_dict()}
    if files:
        out["files"] = files
    print_json(out)


def _header(fv: Any, nz: Any) -> str:
    from unicr.closed_form.registry import FORMULAS

    v = fv.verdicts[0]
    f = FORMULAS.get(fv.formula)
    who = f"{fv.formula} ({f.citation})" if f is not None else "claimed radius"
    status = f", published status: {fv.status}" if fv.status else ""
    return (f"{who}{status}\n  noise {noise_label(nz)}, l{norm_label(v.norm)}, d = {v.d}")


def _check_lines(v: Any, check: Any) -> list[str]:
    lines = []
    if v.witness is not None:
        from unicr.validation.report import direction_text

        lines.append(f"  witness: {direction_text(v.witness.direction)}, l{norm_label(v.norm)} norm "
                     f"{fmt(v.witness.norm_value)} < claimed {fmt(v.claimed)} fails the "
                     "Neyman-Pearson test")
    if v.worst_case is not None:
        lines.append(f"  worst-case set ({v.worst_case['kind']}): {v.worst_case['rule']}")
    if check is not None:
        state = ("CONFIRMED" if check.confirmed else
                 ("flips, not significant" if check.flips else "NOT confirmed"))
        side = ("" if v.pb is None else
                f", B-mass {check.p_b_shifted:.4f} (>= {check.p_b_shifted_lower:.4f})")
        lines.append(
            f"  Monte Carlo check (n = {check.n}, seed {check.seed}): the worst-case classifier "
            f"with P(A) = {check.p_a_unshifted:.4f} >= pA = {v.pa:g}, shifted by "
            f"{fmt(check.radius)} < claimed along the witness, keeps A-mass "
            f"{check.p_a_shifted:.4f} (<= {check.p_a_shifted_upper:.4f}){side}: flip {state} "
            f"(confidence {check.confidence:g})")
    return lines


def _print_single(fv: Any, nz: Any, check: Any) -> None:
    v = fv.verdicts[0]
    side = "binary" if v.pb is None else f"two-sided, pB = {v.pb:g}"
    print(_header(fv, nz) + f", pA = {v.pa:g} ({side})")
    print(f"  claimed radius: {fmt(v.claimed, 8)}")
    print(f"  proven band:    lower {fmt(v.lower, 8)}, upper {fmt(v.upper, 8)} "
          f"({v.method}, confidence {v.confidence:g}{', tight' if v.band_tight else ''})")
    print(f"verdict: {v.verdict}{_margin(v)}")
    for line in _check_lines(v, check):
        print(line)
    for n in v.notes:
        if not (v.witness is not None and n.endswith("fails the Neyman-Pearson test")):
            print(f"  - {n}")


def _margin(v: Any) -> str:
    if v.verdict == "LOOSE":
        return f" (claimed is {100 * v.margin:.3g}% below the proven lower bound)"
    if v.verdict == "UNSOUND":
        m = "inf" if math.isinf(v.margin) else f"{100 * v.margin:.3g}%"
        return f" (claimed is {m} above the proven upper bound)"
    if v.verdict == "CONSISTENT":
        return " (inside a band that is not tight: neither proven tight nor refuted)"
    return ""


def _print_grid(fv: Any, nz: Any, point: Any, check: Any) -> None:
    print(_header(fv, nz))
    w = sys.stdout.write
    w(f"  {'pA':>8} {'pB':>8} {'claimed':>12} {'lower':>12} {'upper':>12}  verdict     margin\n")
    for v in fv.verdicts:
        pb = "-" if v.pb is None else f"{v.pb:.4g}"
        margin = "" if v.verdict in ("TIGHT", "CONSISTENT") else f"{100 * v.margin:.3g}%"
        w(f"  {v.pa:>8.4g} {pb:>8} {fmt(v.claimed):>12} {fmt(v.lower):>12} {fmt(v.upper):>12}"
          f"  {v.verdict:<10}  {margin}\n")
    conf = min(v.confidence for v in fv.verdicts)
    print(f"summary: {fv.summary} over {len(fv.verdicts)} points (engine "
          f"{fv.verdicts[0].method}, confidence {conf:g})")
    if point is not None:
        print(f"at pA = {point.pa:g}:")
        for line in _check_lines(point, check):
            print(line)


def _cmd_list(args: argparse.Namespace) -> int:
    from unicr.closed_form.registry import FORMULAS

    rows = [f.describe() for f in FORMULAS.values()]
    if args.json:
        print_json(rows)
        return 0
    print(f"{'name':26} {'status':19} {'two-sided':19} {'noise':28} norms  citation")
    for r in rows:
        norms = ", ".join(r["norms"]) if isinstance(r["norms"], list) else r["norms"]
        print(f"{r['name']:26} {r['status']:19} {str(r['status_two_sided'] or '-'):19} "
              f"{'/'.join(r['families']):28} {norms:6} {r['citation']}")
    print(f"\n{len(rows)} formulas. `unicr validate NOISE --d D --formula NAME --pa P` checks one.")
    return 0


def _cmd_all(args: argparse.Namespace) -> int:
    if args.noise is not None or args.formula or args.claimed is not None:
        raise InvalidParameterError("--all checks every formula on its standard noise: do not "
                                    "give NOISE, --formula or --claimed")
    if args.out is None:
        raise InvalidParameterError("--all needs --out DIR (where report.md and the figures go)")
    for flag, name in ((args.csv, "--csv"), (args.table, "--table")):
        if flag:
            raise InvalidParameterError(f"{name} belongs to a single check; --all writes into "
                                        "--out DIR")
    check_output(args.out, "--out", kind="dir")
    style = check_style(args.style)
    from unicr.reporting.style import figure_style
    from unicr.validation.report import run_all

    cmd = "unicr validate --all --out " + str(args.out) + (" --quick" if args.quick else "")
    with figure_style(style):
        report = run_all(args.out, quick=args.quick, figures=not args.no_figures,
                         progress=not (args.no_progress or args.quiet),
                         seed=0 if args.seed is None else args.seed,
                         witness_n=None if args.witness_n == 100_000 else args.witness_n,
                         command=cmd)
    if args.json:
        print_json({"out": str(report.out), "seconds": report.seconds,
                    "summary": [{"formula": r.check.formula, "noise": r.check.noise_label(),
                                 "norm": norm_label(parse_norm(r.check.norm)),
                                 "two_sided": r.check.two_sided, "verdict": r.summary,
                                 "status": r.validation.status,
                                 "agrees_with_status": r.validation.agrees_with_status}
                                for r in report.results],
                    "not_checked": report.not_checked})
        return 0
    counts: dict[str, int] = {}
    for r in report.results:
        counts[r.summary] = counts.get(r.summary, 0) + 1
    bad = [r for r in report.results if r.validation.agrees_with_status is False]
    print(f"checked {len(report.results)} (formula, noise, norm) combinations in "
          f"{report.seconds:.0f} s: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for r in bad:
        print(f"  status disagreement: {r.check.formula} ({r.check.noise_label()}): "
              f"published {r.validation.status}, verdict {r.summary}")
    for name, why in report.not_checked.items():
        print(f"  not checked: {name}: {why}")
    print(f"wrote {report.out / 'report.md'}" + ("" if args.no_figures else
                                                f" and {len(report.figures)} figures"))
    return 0
