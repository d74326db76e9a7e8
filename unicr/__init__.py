"""unicr: certified robustness by randomized smoothing with any noise distribution.

Quick start::

    import unicr
    g = unicr.noise("gennorm", beta=1.5, sigma=1.0)   # any catalogue noise, spec file or scipy law
    cert = unicr.radius(g, pa=0.9, norm=1, d=3072)     # proven lower/upper bounds on R*

Every radius is a :class:`~unicr.certificate.Certificate` that says whether it is
exact, a proven lower bound, an upper bound or an estimate (see docs/concepts.md).
"""

from unicr.certificate import Certificate, Witness
from unicr.errors import UnicrError
from unicr.noise import JointNoise, Noise, ProductNoise, catalogue, noise
from unicr.radius import radius
from unicr.validate import validate

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
