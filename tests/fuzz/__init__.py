"""Fuzz harness of unicr (issue #11 item 8): strategies, per-case checks and a crash-proof sandbox.

``tests/test_fuzz.py`` drives it with hypothesis; ``docs/fuzzing.md`` explains the budgets,
the invariants and the collector mode.  The modules:

* :mod:`fuzz.strategies` -- hypothesis strategies over density expressions, spec files and
  command lines;
* :mod:`fuzz.cases` -- the checks run for one generated case (they return a list of
  failures instead of raising, so the same code serves the assert mode and the collector);
* :mod:`fuzz.sandbox` -- a worker process that runs the cases, so a segfault or a hang
  becomes a recorded failure instead of killing the test run;
* :mod:`fuzz.summarize` -- groups a collector file by failure signature.
"""
