"""Progress on stderr for long commands: a tqdm bar on a terminal, plain lines elsewhere.

One helper for every command, so that a run under ``nohup``, in a batch job or with its
stderr piped to a log still says how far it got::

    from unicr.reporting.progress import progress

    with progress(total=len(items), desc="certify", unit="img", quiet=args.quiet) as bar:
        for item in items:
            ...
            bar.update(1)

* stderr is a terminal: a tqdm bar (appears after ``delay`` seconds, redrawn in place);
* stderr is not a terminal (a file, a pipe, a notebook's captured stream): one plain line
  ``desc: 12/50 (24%), 3.1 img/s, elapsed 0:00:12, left ~0:00:40`` at most every
  ``interval`` seconds (default 10) and at every ``step`` of the total (default 5 %) -- but
  never before ``delay`` seconds, so quick runs print nothing -- and a last line when done;
* ``quiet=True`` (``--quiet``): nothing at all.

The object returned has the part of tqdm's interface the commands use: ``update``,
``set_postfix_str``, ``refresh``, ``close``, ``n`` and ``total``, and is a context manager.
"""

from __future__ import annotations

import math
import sys
import time
from datetime import timedelta
from typing import Any, TextIO

__all__ = ["progress", "PlainProgress", "NullProgress", "is_terminal"]


def is_terminal(stream: Any) -> bool:
    """True when ``stream`` is an interactive terminal (closed or odd streams are not)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class NullProgress:
    """Progress that shows nothing (``--quiet``); counts all the same."""

    def __init__(self, total: int | None = None, initial: int = 0) -> None:
        self.total = total
        self.n = initial

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        pass

    def set_description(self, desc: str = "", refresh: bool = True) -> None:
        pass

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PlainProgress(NullProgress):
    """Rate-limited plain lines for a stream that is not a terminal (module docstring)."""

    def __init__(self, total: int | None, desc: str, *, unit: str = "it", initial: int = 0,
                 file: TextIO | None = None, interval: float = 10.0, step: float = 0.05,
                 delay: float = 1.0, clock: Any = time.monotonic) -> None:
        super().__init__(total, initial)
        self.desc = desc
        self.unit = unit
        self.file = file
        self.interval = float(interval)
        self.step = float(step)
        self.delay = float(delay)
        self._clock = clock
        self._start = clock()
        self._initial = initial
        self._last_time: float | None = None
        self._last_n = initial
        self._postfix = ""
        self._closed = False
        self.lines = 0

    def _stream(self) -> TextIO:
        return self.file if self.file is not None else sys.stderr

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self._postfix = str(s)

    def set_description(self, desc: str = "", refresh: bool = True) -> None:
        self.desc = str(desc)

    def update(self, n: int = 1) -> None:
        self.n += n
        self._maybe_print()

    def refresh(self) -> None:
        self._maybe_print()

    def _due(self, now: float) -> bool:
        if now - self._start < self.delay:
            return False
        if self._last_time is None:
            return True
        if now - self._last_time >= self.interval:
            return True
        if self.total and self.step > 0:
            return (self.n - self._last_n) >= self.step * self.total
        return False

    def _maybe_print(self) -> None:
        now = self._clock()
        if self._due(now):
            self._print(now)

    def line(self, now: float | None = None, *, final: bool = False) -> str:
        """The text of one progress line (without newline)."""
        now = self._clock() if now is None else now
        el = max(now - self._start, 0.0)
        done = self.n - self._initial
        rate = done / el if el > 0 else math.nan
        head = f"{self.desc}: {self.n}"
        if self.total:
            head += f"/{self.total} ({100.0 * self.n / self.total:.0f}%)"
        parts = [head]
        if done > 0 and math.isfinite(rate):
            parts.append(f"{rate:.3g} {self.unit}/s")
        parts.append(f"{'done in' if final else 'elapsed'} {_clock_text(el)}")
        if not final and self.total and done > 0 and rate > 0:
            parts.append(f"left ~{_clock_text((self.total - self.n) / rate)}")
        text = ", ".join(parts)
        return text + (f" [{self._postfix}]" if self._postfix and not final else "")

    def _print(self, now: float, *, final: bool = False) -> None:
        stream = self._stream()
        try:
            stream.write(self.line(now, final=final) + "\n")
            stream.flush()
        except (OSError, ValueError):  # a closed or broken stderr must not stop the work
            return
        self.lines += 1
        self._last_time = now
        self._last_n = self.n

    def close(self) -> None:
        """A last line (only when an earlier one was printed: quick runs stay silent)."""
        if self._closed:
            return
        self._closed = True
        if self._last_time is not None:
            self._print(self._clock(), final=True)


def _clock_text(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    return str(timedelta(seconds=int(round(seconds))))


def progress(total: int | None, desc: str, *, unit: str = "it", quiet: bool = False,
             initial: int = 0, file: TextIO | None = None, interval: float = 10.0,
             step: float = 0.05, delay: float = 1.0, leave: bool = False) -> Any:
    """The progress display for ``total`` steps (module docstring): a tqdm bar when ``file``
    (default stderr) is a terminal, rate-limited plain lines when it is not, nothing when
    ``quiet``."""
    if quiet:
        return NullProgress(total, initial)
    stream = file if file is not None else sys.stderr
    if is_terminal(stream):
        from tqdm.auto import tqdm

        return tqdm(total=total, initial=initial, desc=desc, unit=unit, file=stream,
                    delay=delay, leave=leave, dynamic_ncols=True)
    return PlainProgress(total, desc, unit=unit, initial=initial, file=file, interval=interval,
                         step=step, delay=delay)
