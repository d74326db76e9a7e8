"""One progress helper: a bar on a terminal, rate-limited plain lines elsewhere, silence with quiet."""

from __future__ import annotations

import io

from unicr.reporting.progress import NullProgress, PlainProgress, progress


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_plain_lines_are_rate_limited_and_end_with_a_summary():
    out, clock = io.StringIO(), Clock()
    bar = PlainProgress(100, "certify", unit="img", file=out, interval=10, step=0.05, delay=1,
                        clock=clock)
    bar.update(1)  # before the delay: quiet
    assert out.getvalue() == ""
    clock.t = 1.5
    bar.update(1)
    assert out.getvalue().splitlines() == ["certify: 2/100 (2%), 1.33 img/s, elapsed 0:00:02, "
                                           "left ~0:01:14"]
    clock.t = 2.0
    bar.update(1)  # 1 step, 0.5 s later: neither 5 % nor 10 s
    assert len(out.getvalue().splitlines()) == 1
    bar.update(4)  # 5 % of the total since the last line
    assert len(out.getvalue().splitlines()) == 2
    clock.t = 13.0
    bar.set_postfix_str("3 fwd/s")
    bar.update(1)  # 11 s later
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and lines[-1].endswith("[3 fwd/s]")
    bar.n = 100
    bar.close()
    assert out.getvalue().splitlines()[-1].startswith("certify: 100/100 (100%)")
    assert "done in 0:00:13" in out.getvalue().splitlines()[-1]
    bar.close()
    assert len(out.getvalue().splitlines()) == 4


def test_quick_runs_print_nothing_and_quiet_prints_nothing():
    out = io.StringIO()
    with progress(10, "x", file=out) as bar:  # not a terminal, done before the delay
        assert isinstance(bar, PlainProgress)
        bar.update(10)
    assert out.getvalue() == ""
    quiet = progress(10, "x", quiet=True, file=out)
    assert isinstance(quiet, NullProgress) and not isinstance(quiet, PlainProgress)
    quiet.update(3)
    assert quiet.n == 3 and out.getvalue() == ""


def test_a_terminal_gets_a_tqdm_bar():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    bar = progress(5, "x", file=Tty())
    try:
        assert type(bar).__module__.startswith("tqdm")
    finally:
        bar.close()
