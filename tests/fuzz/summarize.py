"""Group a fuzz collector file (``UNICR_FUZZ_COLLECT``) by failure signature.

Usage: ``python tests/fuzz/summarize.py failures.jsonl [--json]``.  For every distinct
signature it prints how often it occurred, the check, the shortest reproducer seen and the
last lines of its message.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def group(lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for rec in lines:
        sig = rec.get("signature", "?")
        g = out.setdefault(sig, {"count": 0, "check": rec.get("check"), "repro": None,
                                 "message": "", "tests": set()})
        g["count"] += 1
        g["tests"].add(rec.get("test"))
        if g["repro"] is None or len(rec.get("repro", "")) < len(g["repro"]):
            g["repro"] = rec.get("repro", "")
            g["message"] = rec.get("message", "")
    return out


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    with open(argv[0], encoding="utf-8") as fh:
        recs = [json.loads(line) for line in fh if line.strip()]
    groups = group(recs)
    if "--json" in argv:
        print(json.dumps({k: {**v, "tests": sorted(v["tests"])} for k, v in groups.items()},
                         indent=2))
        return 0
    print(f"{len(recs)} failures, {len(groups)} distinct signatures\n")
    for sig, g in sorted(groups.items(), key=lambda kv: -kv[1]["count"]):
        msg = [ln for ln in g["message"].strip().splitlines() if ln.strip()][-3:]
        print(f"## {sig}  ({g['count']}x, {g['check']}; {', '.join(sorted(g['tests']))})")
        print(f"   repro: {g['repro'][:600]}")
        for ln in msg:
            print(f"   | {ln[:300]}")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
