"""``unicr optimize``: choose the noise per classifier (C-OPT) or per input (I-OPT, Auto-Noise).

The sub-commands live in their own modules, each with ``register(subparsers)``:
``optimize_classifier`` (C-OPT grid: train, certify on a validation split, pick, certify the
test split) and ``optimize_input`` (I-OPT and Auto-Noise per input, the reporting modes,
plots).  Python equivalents: :mod:`unicr.optimize`.
"""

from __future__ import annotations

import argparse

#: sub-command modules of ``unicr optimize``, in --help order (absent ones are skipped)
SUBCOMMAND_MODULES = ("optimize_classifier", "optimize_input")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "optimize", help="choose the noise per classifier (C-OPT) or per input (I-OPT, Auto-Noise)",
        description="Noise optimisation with sound reporting: C-OPT picks the noise of a "
                    "classifier on a validation split and certifies the test split with it; "
                    "I-OPT and Auto-Noise pick the noise per input and report each radius in "
                    "named modes (as-published estimate, fixed-theta certificate, deployable "
                    "certificate).")
    osub = p.add_subparsers(dest="optimize_command", metavar="COMMAND",
                            parser_class=type(p))
    osub.required = True
    from unicr.cli import register_modules

    register_modules(osub, SUBCOMMAND_MODULES)
