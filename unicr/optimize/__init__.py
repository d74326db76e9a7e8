"""Noise optimisation: choosing the noise per classifier (C-OPT) or per input (I-OPT,
Auto-Noise), reported soundly, with radii read from cached proven tables.

* :mod:`unicr.smoothing.radii` (shared with dataset certification) -- :class:`CurveRadius` /
  :class:`RadiusBook`: proven lower-bound tables per (noise shape, d, norm), sound lookups in
  microseconds; :class:`EngineBook`: one engine call per request (UniCR's way; the benchmark
  baseline).
* :mod:`unicr.optimize.copt` -- C-OPT (Hong et al. 2022, Sec. 4, Table 2): a grid of noises,
  one trained classifier each, the winner chosen on a validation split and certified on the
  test split (:class:`CoptPlan`, :func:`run_copt`); :func:`plot_copt` draws its heatmap.
* :mod:`unicr.optimize.perinput` -- I-OPT (UniCR Algorithm 3) and Auto-Noise (Algorithm 2 of
  "Certification through adaptation") per input over a candidate :class:`Lattice` fixed in
  advance, every input reported in the modes fixed / as-published / fixed-theta / deployable;
  :mod:`unicr.optimize.perinput_results` runs a data set into a resumable results file and
  reads it back; :func:`plot_perinput` draws the certified-accuracy comparison.

Names are loaded on first use (PEP 562) so that importing the package stays cheap.
"""

from __future__ import annotations

from unicr._lazy import lazy_names

#: public name -> submodule that defines it
_WHERE = {
    "CurveRadius": "unicr.smoothing.radii", "RadiusBook": "unicr.smoothing.radii",
    "EngineBook": "unicr.smoothing.radii", "RadiusStats": "unicr.smoothing.radii",
    "CoptPlan": "copt", "run_copt": "copt", "carve_split": "copt",
    "plot_copt": "copt_plots",
    "Lattice": "perinput", "HillClimb": "perinput", "hill_climb": "perinput",
    "PerInputCertifier": "perinput", "PerInputOutcome": "perinput", "ModeOutcome": "perinput",
    "iopt_certify": "perinput", "auto_noise_certify": "perinput",
    "run_iopt": "perinput_results", "run_auto_noise": "perinput_results",
    "run_perinput": "perinput_results", "read_perinput_results": "perinput_results",
    "merge_run_summaries": "perinput_results",
    "summarize_perinput": "perinput_results", "top_fraction_means": "perinput_results",
    "PerInputResults": "perinput_results", "PerInputRun": "perinput_results",
    "plot_perinput": "perinput_plots",
}

__all__ = sorted(_WHERE)


__getattr__, __dir__ = lazy_names(__name__, _WHERE)
