"""A library must not litter: no files in the working folder, no root logging handlers."""

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_pso_search_leaves_no_report_log_and_no_root_handlers(tmp_path):
    code = textwrap.dedent("""
        import logging, sys
        sys.path.insert(0, ROOT)
        import unicr
        c = unicr.radius("laplace", 0.9, 1, 16, method="mc", directions="pso", n_mc=5000,
                         particles=3, iterations=1)
        assert c.upper > 0
        assert logging.getLogger().handlers == [], logging.getLogger().handlers
    """).replace("ROOT", repr(str(ROOT)))
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, timeout=300)
    assert list(tmp_path.iterdir()) == []
