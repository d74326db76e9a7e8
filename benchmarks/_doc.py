"""Shared by the benchmark scripts: put a section into docs/benchmarks.md between its markers.

Every script prints its table and leaves the tracked docs alone unless it is given ``--write``
(:func:`add_write_argument`): a benchmark run on a laptop or a loaded machine must not rewrite
the published numbers by accident.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_write_argument(ap: argparse.ArgumentParser, doc: str = "docs/benchmarks.md") -> None:
    """``--write`` (update ``doc``; default: print only); ``--no-write`` is still accepted (it
    was the opt-out when writing was the default) and changes nothing."""
    ap.add_argument("--write", action="store_true",
                    help=f"also put the table into {doc} (default: print it only)")
    ap.add_argument("--no-write", action="store_true", help=argparse.SUPPRESS)


def write_section(path: Path, name: str, body: str) -> Path:
    """Replace the text between ``<!-- name:begin -->`` and ``<!-- name:end -->`` in ``path``
    with ``body`` (appended, with its markers, when they are absent; the file is created with a
    title when missing)."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = path.read_text() if path.is_file() else "# Benchmarks\n"
    block = f"{begin}\n{body.strip()}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
