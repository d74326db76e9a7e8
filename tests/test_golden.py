"""Golden certificates: the public API still returns tests/golden/certificates.json, exactly.

The file was recorded before the package layout reorganisation (issue #13) by
``python tests/golden/make_golden.py --write``; the cases, the encoding (floats by repr, so
every digit counts) and the determinism checks are described in that script.  A failure names
the case and its first differing field with both values.  Re-record the file only for an
intended change of behaviour, and say so in the commit message.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parent / "golden" / "make_golden.py"


def _load_make_golden():
    name = "unicr_tests_make_golden"
    mod = sys.modules.get(name)
    if mod is None:
        spec = importlib.util.spec_from_file_location(name, _PATH)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod  # dataclasses look the module up while building Case
        spec.loader.exec_module(mod)
    return mod


G = _load_make_golden()
GROUPS = G.groups()


@pytest.fixture(scope="module")
def golden():
    return G.load()


def test_golden_file_lists_exactly_the_cases(golden):
    keys = {c.key for cases in GROUPS.values() for c in cases}
    missing = sorted(keys - set(golden))
    extra = sorted(set(golden) - keys)
    assert not missing and not extra, (
        f"case list and {G.GOLDEN.name} disagree: not recorded {missing[:5]} "
        f"({len(missing)}); recorded but no longer a case {extra[:5]} ({len(extra)})")


@pytest.mark.parametrize("group", list(GROUPS))
def test_golden_certificates(group, golden):
    diffs = []
    for case in GROUPS[group]:
        if case.key not in golden:
            diffs.append(f"{case.key}: not in {G.GOLDEN.name}")
            continue
        d = G.first_difference(golden[case.key], G.run(case))
        if d:
            diffs.append(f"{case.key}: {d}")
    assert not diffs, (f"{len(diffs)} of {len(GROUPS[group])} golden cases differ; first:\n  "
                       + "\n  ".join(diffs[:5]))
