"""The UniCR Monte Carlo engine: any noise (product or joint), any l_p, sound or as published.

``radius_mc(noise, pa, pb, p, d, **options)`` is what ``unicr.radius(..., method="mc")``
calls; :func:`directional_bracket` gives the sound bracket along one fixed direction.  The
modules follow the data (docs/montecarlo-engine.md):

* :mod:`unicr.montecarlo.lr` -- Neyman-Pearson statistics on loss samples (point and DKW-sound);
* :mod:`unicr.montecarlo.models` -- draws (common random numbers) and per-sample losses;
* :mod:`unicr.montecarlo.scale` -- scale search along a direction (Algorithm 2, sound);
* :mod:`unicr.montecarlo.directions` -- structured directions and PSO (App. C.3);
* :mod:`unicr.montecarlo.engine` -- the pipeline and the Certificate.
"""

from unicr.montecarlo.engine import DEFAULTS, DirectionalResult, directional_bracket, radius_mc
from unicr.montecarlo.lr import dkw_band, margins, margins_batch

__all__ = [
    "radius_mc",
    "directional_bracket",
    "DirectionalResult",
    "DEFAULTS",
    "dkw_band",
    "margins",
    "margins_batch",
]
