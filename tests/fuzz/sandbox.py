"""A worker process that runs fuzz cases so that a native crash or a hang is a result, not an outage.

The test process never calls unicr on fuzzed input itself: it sends ``(case kind, payload)``
to a worker started with the ``spawn`` method and waits at most ``timeout`` seconds.  A
worker that dies (segfault, SIGBUS, ``os._exit``) or does not answer in time is replaced by
a fresh one and the case is reported as a ``native-crash`` or ``hang`` failure.  Each case
runs in its own empty folder (the worker's working directory) so files written by the CLI
and the sentinel of the no-code-execution check stay inside the test's temporary folder.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

#: environment of the worker: one thread per library (the machine is shared), plots off-screen
_WORKER_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "NUMBA_NUM_THREADS": "1", "MPLBACKEND": "Agg"}


def limit_memory() -> None:
    """Cap the address space (``UNICR_FUZZ_MEMORY_GB``, default 4): a case asking for a huge
    array gets a MemoryError instead of pushing the shared machine into the OOM killer."""
    import resource

    gb = float(os.environ.get("UNICR_FUZZ_MEMORY_GB", "4"))
    if gb > 0:
        cap = int(gb * (1 << 30))
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _worker_main(conn: Connection) -> None:
    """Loop of the worker: receive a case, run it, send its result dict back."""
    os.environ.update(_WORKER_ENV)
    limit_memory()
    from fuzz import cases  # imported here: the heavy imports happen in the worker only

    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        kind, payload = msg
        try:
            result = cases.run_case(kind, payload)
        except BaseException as exc:  # noqa: B036 - a harness bug must be reported, not hidden
            result = {"failures": [{
                "check": "harness-error", "signature": f"harness:{type(exc).__name__}",
                "message": "".join(traceback.format_exception(exc))[-3000:]}]}
        conn.send(result)


class Sandbox:
    """Runs cases in a worker process; restarts it after a crash or a timeout."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._ctx = mp.get_context("spawn")
        self._proc: Any = None
        self._conn: Connection | None = None
        self._count = 0

    def _start(self) -> None:
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=_worker_main, args=(child,), daemon=True)
        proc.start()
        child.close()
        self._proc, self._conn = proc, parent

    def _stop(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            self._proc.kill()  # only the worker this sandbox started
        if self._proc is not None:
            self._proc.join(5)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def close(self) -> None:
        if self._conn is not None and self._proc is not None and self._proc.is_alive():
            try:
                self._conn.send(None)
                self._proc.join(5)
            except (BrokenPipeError, OSError):
                pass
        self._stop()

    def new_case_dir(self) -> Path:
        self._count += 1
        d = self.root / f"case{self._count:06d}"
        d.mkdir()
        return d

    def run(self, kind: str, payload: dict[str, Any], timeout: float,
            warmup: float = 60.0) -> dict[str, Any]:
        """Run one case; ``timeout`` bounds the case, ``warmup`` the worker's first imports."""
        if self._proc is None or not self._proc.is_alive():
            self._stop()
            self._start()
            assert self._conn is not None
            self._conn.send(("ping", {}))
            if not self._conn.poll(warmup):
                self._stop()
                raise RuntimeError("the fuzz worker did not start")
            self._conn.recv()
        assert self._conn is not None and self._proc is not None
        self._conn.send((kind, payload))
        try:
            ready = self._conn.poll(timeout)
        except (EOFError, OSError):
            ready = True
        if not ready:
            self._stop()
            return {"failures": [{"check": "hang", "signature": f"{kind}:hang",
                                  "message": f"no answer within {timeout:g} s"}]}
        try:
            return self._conn.recv()
        except (EOFError, OSError):
            self._proc.join(5)
            code = self._proc.exitcode
            self._stop()
            if code is not None and code < 0:
                try:
                    name = signal.Signals(-code).name
                except ValueError:
                    name = f"signal {-code}"
            else:
                name = f"exit code {code}"
            return {"failures": [{"check": "native-crash", "signature": f"{kind}:crash:{name}",
                                  "message": f"the worker process died: {name}"}]}
