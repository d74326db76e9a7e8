"""``unicr figures``: regenerate the UniCR paper's figures (PNG, PDF or SVG + CSV each) into a folder.

Python equivalent: :func:`unicr.reporting.figures.make_figures`.
"""

from __future__ import annotations

import argparse
import sys

from unicr.cli.common import check_output, print_json
from unicr.reporting.figures import FIGURES, FORMATS, make_figures
from unicr.reporting.style import STYLE_HELP, check_style


def register(sub: argparse._SubParsersAction) -> None:
    names = ", ".join(f"{k} ({v.paper if v.paper != '-' else v.description})"
                      for k, v in FIGURES.items())
    p = sub.add_parser(
        "figures", help="regenerate the UniCR paper figures (PNG + CSV)",
        description="Regenerate the figures of the UniCR paper with unicr's engines: "
                    f"{names}. Every figure writes a PNG and the CSV of what it shows.")
    p.add_argument("--out", default="docs/figures", metavar="DIR",
                   help="output folder (default docs/figures)")
    p.add_argument("--only", nargs="+", choices=list(FIGURES), default=None, metavar="NAME",
                   help="make only these figures")
    p.add_argument("--quick", action="store_true",
                   help="coarse grids and fewer noises: a smoke run in well under a minute")
    p.add_argument("--format", choices=FORMATS, default="png",
                   help="file format of the figures (default png; the CSVs are always CSV)")
    p.add_argument("--style", default=None, metavar="STYLE", help=STYLE_HELP)
    p.add_argument("--no-cache", action="store_true",
                   help="do not read or write the exact engine's curve cache")
    p.add_argument("--json", action="store_true", help="print the files written as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_figures)


def cmd_figures(args: argparse.Namespace) -> int:
    check_output(args.out, "--out", kind="dir")
    style = check_style(args.style)
    progress = not args.quiet and not args.json and sys.stderr.isatty()
    results = make_figures(args.out, args.only, quick=args.quick, progress=progress,
                           cache=not args.no_cache, style=style, fmt=args.format)
    if args.json:
        print_json({"out": args.out, "quick": args.quick,
                    "figures": [r.to_dict() for r in results]})
        return 0
    for r in results:
        for f in r.files:
            print(f"wrote {f}")
        if not args.quiet:
            print(f"  ({r.name}: {r.seconds:.1f} s)")
    return 0
