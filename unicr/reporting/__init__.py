"""What a user takes away: pA-R curves, figures, CSV and JSON.

* :mod:`~unicr.reporting.curves` -- curves of one or several noises and norms, any engine;
* :mod:`~unicr.reporting.plot` -- figures and CSV of curves, and the one figure writer;
* :mod:`~unicr.reporting.figures` -- the UniCR paper's figures, regenerated.
"""
