"""The results-file lock of unicr.smoothing.dataset: exclusive, names its holder, dies with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from unicr.smoothing.dataset import ResultsError, lock_path, results_lock

HOLD = ("import sys, time; from unicr.smoothing.dataset import results_lock\n"
        "with results_lock(sys.argv[1]):\n"
        "    print('locked', flush=True); time.sleep(60)\n")


def test_lock_is_exclusive_names_the_holder_and_dies_with_it(tmp_path):
    out = tmp_path / "r.tsv"
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        with pytest.raises(ResultsError) as info:
            with results_lock(out):
                pass
        assert str(out) in str(info.value) and f"PID {proc.pid}" in str(info.value)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert lock_path(out).exists()  # left behind by the killed holder, with its PID
    t0 = time.perf_counter()
    with results_lock(out) as lock:
        assert lock.read_text().strip() == str(os.getpid())
        # a second holder in the same process is refused too (flock is per open file)
        with pytest.raises(ResultsError, match=f"PID {os.getpid()}"):
            with results_lock(out):
                pass
    assert time.perf_counter() - t0 < 1.0
    assert not lock_path(out).exists()
