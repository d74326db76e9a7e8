"""Stages 3-4 of the data flow: the scale search along a direction and the direction search.

* :mod:`~unicr.search.scale` -- the Monte Carlo scale search (Hong et al. 2022, Algorithm 2,
  made sound);
* :mod:`~unicr.search.exact_scale` -- structured directions of the exact engine, their
  Neyman-Pearson evaluation and its scale search;
* :mod:`~unicr.search.directions` -- structured direction families and particle swarm
  (Hong et al. 2022, App. C.3).
"""
