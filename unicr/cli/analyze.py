"""``unicr analyze``: certified-accuracy tables, ACR, R_score and curves from results files.

Python equivalents: :func:`unicr.smoothing.dataset.read_results`,
:func:`unicr.smoothing.metrics.summarize`, :func:`unicr.smoothing.metrics.r_scores`,
:func:`unicr.smoothing.plots.plot_results`.
"""

from __future__ import annotations

import argparse

from unicr.cli.common import (
    check_figure,
    fmt,
    nonnegative_float,
    print_json,
    probability,
)

DEFAULT_RADII = (0.0, 0.25, 0.5, 0.75, 1.0)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze", help="certified accuracy, ACR and R_score of certification results",
        description="Summarise one or several results files of `unicr certify`: approximate "
                    "certified accuracy at given radii (and Cohen et al.'s high-probability "
                    "version), the average certified radius (ACR), the radius ceiling "
                    "R(alpha^(1/n)), and UniCR's R_score over all files (the area under the "
                    "envelope of their curves).")
    p.add_argument("files", nargs="+", metavar="RESULTS", help="results TSV files")
    p.add_argument("-o", "--out", default=None, metavar="FIG",
                   help="write the certified-accuracy curves to this image (png, pdf, svg)")
    p.add_argument("--radii", type=nonnegative_float, nargs="+", default=list(DEFAULT_RADII), metavar="R",
                   help="radii of the table (default 0 0.25 0.5 0.75 1)")
    p.add_argument("--rho", type=probability, default=0.001,
                   help="failure probability of the high-probability accuracy (default 0.001)")
    p.add_argument("--title", default=None, help="figure title")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_analyze)


def cmd_analyze(args: argparse.Namespace) -> int:
    from unicr.errors import InvalidParameterError
    from unicr.smoothing.dataset import read_results
    from unicr.smoothing.metrics import r_scores, summarize

    if any(r < 0 for r in args.radii):
        raise InvalidParameterError(f"--radii must be >= 0, got {args.radii}")
    fig_path = check_figure(args.out, "--out")
    results = [read_results(f) for f in args.files]
    empty = [str(r.path) for r in results if len(r) == 0]
    if empty:
        raise InvalidParameterError(f"no result rows in {', '.join(empty)}")
    rows = [row for res in results for row in summarize(res, args.radii, args.rho)]
    scores = r_scores(results)
    if fig_path is not None:
        from unicr.smoothing.plots import plot_results

        plot_results(results, fig_path, title=args.title)
    if args.json:
        print_json({"rows": rows, "r_score": scores, "figure": args.out})
        return 0
    print("approximate certified accuracy (fraction of images certified correct at radius >= r; "
          "abstentions count as wrong; not a high-probability statement)")
    head = f"{'results':<34} {'norm':>4} {'imgs':>5} " + " ".join(
        f"{'r=' + fmt(r, 3):>7}" for r in args.radii) + f" {'ACR':>8} {'ceiling':>8}"
    print(head)
    for row in rows:
        label = f"{row['label']}"[:34]
        accs = " ".join(f"{a:7.3f}" for a in row["certified_accuracy"])  # type: ignore[union-attr]
        ceil = row["ceiling"]
        print(f"{label:<34} {row['norm']:>4} {row['images']:>5} {accs} {row['acr']:8.4f} "
              f"{fmt(ceil, 4) if ceil is not None else '-':>8}")
        if "certified_accuracy_hp" in row:
            hp = " ".join(f"{a:7.3f}" for a in row["certified_accuracy_hp"])  # type: ignore[union-attr]
            print(f"{'  high-prob (rho=' + fmt(args.rho, 3) + ')':<34} {'':>4} {'':>5} {hp}")
    print("ceiling: largest radius any image can get with n samples, R(alpha^(1/n))")
    if len(results) > 1:
        print("R_score (UniCR Eq. 5, area under the max over these files' curves): "
              + ", ".join(f"l_{k} {v:.4f}" for k, v in scores.items()))
    else:
        print("R_score over one file equals its ACR: "
              + ", ".join(f"l_{k} {v:.4f}" for k, v in scores.items()))
    for res in results:
        print(f"  {res.label_text()}: {res.path}")
    if args.out:
        print(f"figure: {args.out}")
    return 0
