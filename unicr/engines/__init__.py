"""Stage 5 of the data flow: the radius engines, each a short pipeline over the stages before.

* :mod:`~unicr.engines.exact` -- :func:`radius_exact`: proven lower and upper bounds for
  product noise (deterministic numerics); its options (:class:`ExactOptions`, exact_options.py),
  run record (exact_records.py) and the assumptions text written from it (exact_explain.py);
* :mod:`~unicr.engines.montecarlo` -- :func:`radius_mc`: the UniCR Monte Carlo engine, any
  noise, as published or sound; likewise mc_options.py (:class:`MCOptions`), mc_records.py and
  montecarlo_explain.py;
* :mod:`~unicr.engines.radial` -- :func:`radius_radial` (any l_p) and :func:`radius_radial_l2`:
  proven lower and upper bounds for l2-radial joint noise (UniformBall, Exp2, Pow2; Yang et al.
  2020 level-set method with proven enclosures); options :class:`RadialOptions`
  (radial_options.py); :func:`radius_curve_radial_l2` for many pA at once;
* :mod:`~unicr.engines.curve_cache` -- pA curves of the exact band, kept in a disk cache and
  read with sound lookups.

``unicr.radius`` (:mod:`unicr.certify`) chooses between them.
"""

from unicr.engines.curve_cache import ExactCurve, cache_dir, curve
from unicr.engines.exact import ENGINE_VERSION, ExactModel, radius_exact
from unicr.engines.exact_options import ExactOptions
from unicr.engines.mc_options import MCOptions
from unicr.engines.montecarlo import DEFAULTS, DirectionalResult, directional_bracket, radius_mc
from unicr.engines.radial import (
    radial_applies,
    radius_curve_radial_l2,
    radius_radial,
    radius_radial_l2,
)
from unicr.engines.radial_options import RadialOptions

__all__ = [
    "radius_exact",
    "ExactOptions",
    "ExactModel",
    "ENGINE_VERSION",
    "radius_mc",
    "MCOptions",
    "directional_bracket",
    "DirectionalResult",
    "DEFAULTS",
    "radius_radial",
    "radius_radial_l2",
    "radius_curve_radial_l2",
    "radial_applies",
    "RadialOptions",
    "curve",
    "ExactCurve",
    "cache_dir",
]
