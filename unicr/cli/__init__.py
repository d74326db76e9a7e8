"""The ``unicr`` command line: a thin layer over the library.

Every sub-command lives in its own module of this package and exposes
``register(subparsers)``; the module list below fixes the order in ``--help``.
Exit codes: 0 success, 2 bad input (the message names the problem), 1 internal
error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from unicr import __version__
from unicr.errors import UnicrError

#: sub-command modules, in --help order; a module that is absent is skipped
COMMAND_MODULES = ("pdfs", "radius", "curve", "validate", "figures", "plot", "certify",
                   "analyze", "train", "optimize")

log = logging.getLogger("unicr")


class _Parser(argparse.ArgumentParser):
    """argparse with exit code 2 and a one-line hint on bad arguments."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="unicr",
        description="Certified robustness by randomized smoothing with any noise distribution.",
    )
    parser.add_argument("--version", action="version", version=f"unicr {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more logging (-v info, -vv debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    register_modules(sub, COMMAND_MODULES)
    return parser


def register_modules(sub: argparse._SubParsersAction, names: Sequence[str]) -> None:
    """Call ``register(sub)`` of each module ``unicr.cli.<name>`` (absent modules are skipped)."""
    for name in names:
        try:
            mod = importlib.import_module(f"unicr.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"unicr.cli.{name}":
                continue
            raise
        mod.register(sub)


def _cli_message(parser: argparse.ArgumentParser, args: argparse.Namespace,
                 exc: Exception) -> str:
    """One line, in the command line's spelling (``--method mc``, not ``method='mc'``)."""
    from unicr.cli.common import cli_spelling, command_options

    path = [v for k, v in vars(args).items() if k == "command" or k.endswith("_command")]
    text = " ".join(str(exc).split())
    return cli_spelling(text, command_options(parser, [str(v) for v in path]))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING if args.verbose == 0 else (logging.INFO if args.verbose == 1
                                                        else logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except UnicrError as exc:
        print(f"unicr: error: {_cli_message(parser, args, exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("unicr: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception:  # an internal error: keep the traceback for the bug report
        log.exception("internal error (please report it with the command that caused it)")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
