"""Proven lower bounds on the radius that need no search: the differential method and its relatives.

* :mod:`~unicr.bounds.differential` -- Yang et al. 2020's differential method (l1, l_inf),
  Fisher-information and Gaussian convex-order bounds (l2).
"""
