"""Exact numerics for product noise: proven lower and upper bounds on the certified radius.

Modules follow the data (reference/ALGORITHMS.md, STYLE.md):

* :mod:`~unicr.exact.tradeoff` -- one coordinate: fine atoms of the loss of a shift and of
  the score, Neyman-Pearson quantities of discrete laws;
* :mod:`~unicr.exact.lattice` -- lattice laws, sound (pessimistic / optimistic)
  discretisation, FFT composition with a Chernoff window;
* :mod:`~unicr.exact.differential` -- lower bounds: Yang et al.'s differential method
  (l1, l_inf), Fisher and Gaussian-domination bounds (l2);
* :mod:`~unicr.exact.search` -- structured directions and the scale search;
* :mod:`~unicr.exact.engine` -- :func:`radius_exact`;
* :mod:`~unicr.exact.curves` -- pA curves with a disk cache and sound lookup.

See docs/exact-engine.md for what the band means and how it is computed.
"""

from unicr.exact.curves import ExactCurve, cache_dir, curve
from unicr.exact.engine import ENGINE_VERSION, ExactModel, radius_exact

__all__ = ["radius_exact", "curve", "ExactCurve", "ExactModel", "ENGINE_VERSION", "cache_dir"]
