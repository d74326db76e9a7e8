"""Stage 2 of the data flow: the likelihood-ratio law of a noise and its shifted copy.

Along a perturbation ``delta`` the Neyman-Pearson test between ``X = eps`` and
``Y = eps + delta`` only needs the law of the loss ``log p(x - delta) - log p(x)``.  Two
ways to get it, one module each:

* exact, for product noise -- :mod:`~unicr.neyman_pearson.tradeoff` (one coordinate: fine
  atoms of the loss and of the score) and :mod:`~unicr.neyman_pearson.lattice` (sound
  lattice discretisation, FFT composition of i.i.d. sums), and
  :mod:`~unicr.neyman_pearson.lattice_evaluation` (the test along one lattice direction);
* Monte Carlo, for any noise -- :mod:`~unicr.neyman_pearson.banks` (draws with common random
  numbers, per-sample losses), :mod:`~unicr.neyman_pearson.kernels` (compiled per-coordinate
  sums), :mod:`~unicr.neyman_pearson.torch_banks` (the same banks on a torch device) and
  :mod:`~unicr.neyman_pearson.sampled` (the test on samples: point statistic and DKW bands).
"""
