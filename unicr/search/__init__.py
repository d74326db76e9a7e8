"""Stages 3-4 of the data flow: the scale search along a direction and the direction search.

* :mod:`~unicr.search.scale` -- the Monte Carlo scale search (Hong et al. 2022, Algorithm 2,
  made sound);
* :mod:`~unicr.search.lattice_scale` -- the exact engine's scale search along one lattice
  direction (its Neyman-Pearson test is :mod:`unicr.neyman_pearson.lattice_evaluation`);
* :mod:`~unicr.search.bracket` and :mod:`~unicr.search.grids` -- the one scale bracket and
  the one k-grid of both engines;
* :mod:`~unicr.search.directions` -- structured direction families and particle swarm
  (Hong et al. 2022, App. C.3).
"""
