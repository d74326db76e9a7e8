"""unicr: certified robustness by randomized smoothing with any noise distribution.

Quick start::

    import unicr
    g = unicr.noise("gennorm", beta=1.5, sigma=1.0)   # any catalogue noise, spec file or scipy law
    cert = unicr.radius(g, pa=0.9, norm=1, d=3072)     # proven lower/upper bounds on R*

Every radius is a :class:`~unicr.certificate.Certificate` that says whether it is
exact, a proven lower bound, an upper bound or an estimate (see docs/concepts.md).

The packages follow the data (docs/architecture.md)::

    noises/          pdf -> logpdf, sampler, scale <-> sigma      (unicr.noise() builds one)
    neyman_pearson/  the likelihood-ratio law along a shift: exact lattices, Monte Carlo banks
    search/          scale search along a direction, direction search (structured, PSO)
    bounds/          lower bounds without search (differential method, Fisher, convex order)
    engines/         the exact and the Monte Carlo pipelines, and the cache of exact curves
    certify.py       unicr.radius(): one entry point over the engines
    closed_form/     published certificates;  validation/  verdicts on them (unicr.validate)
    reporting/       curves, figures, CSV;  smoothing/ models/ data/ train/ optimize/  PyTorch side
    cli/             the command line, a thin layer over all of the above
"""

from unicr import _compat
from unicr.certificate import Certificate, Witness
from unicr.certify import radius
from unicr.errors import UnicrError
from unicr.noises import JointNoise, Noise, ProductNoise, catalogue, noise
from unicr.validation.verdict import validate

_compat.protect_functions(__name__)
_compat.install()  # the import paths of unicr 0.1, deprecated (unicr._compat)

__version__ = "0.1.0"

__all__ = [
    "Certificate",
    "Witness",
    "UnicrError",
    "Noise",
    "ProductNoise",
    "JointNoise",
    "noise",
    "catalogue",
    "radius",
    "validate",
    "__version__",
]
