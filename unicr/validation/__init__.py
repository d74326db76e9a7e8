"""Verdicts on published radii: TIGHT, LOOSE, UNSOUND or CONSISTENT, with a witness.

* :mod:`~unicr.validation.verdict` -- :func:`validate` (``unicr.validate``): one formula or
  callable against the engines;
* :mod:`~unicr.validation.report` -- ``unicr validate --all``: every published formula, as a report.
"""
