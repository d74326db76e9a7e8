"""Stage 5 of the data flow: the two radius engines, each a short pipeline over the stages before.

* :mod:`~unicr.engines.exact` -- :func:`radius_exact`: proven lower and upper bounds for
  product noise (deterministic numerics);
* :mod:`~unicr.engines.montecarlo` -- :func:`radius_mc`: the UniCR Monte Carlo engine, any
  noise, as published or sound;
* :mod:`~unicr.engines.curve_cache` -- pA curves of the exact band, kept in a disk cache and
  read with sound lookups.

``unicr.radius`` (:mod:`unicr.certify`) chooses between them.
"""

from unicr.engines.curve_cache import ExactCurve, cache_dir, curve
from unicr.engines.exact import ENGINE_VERSION, ExactModel, radius_exact
from unicr.engines.montecarlo import DEFAULTS, DirectionalResult, directional_bracket, radius_mc

__all__ = [
    "radius_exact",
    "ExactModel",
    "ENGINE_VERSION",
    "radius_mc",
    "directional_bracket",
    "DirectionalResult",
    "DEFAULTS",
    "curve",
    "ExactCurve",
    "cache_dir",
]
