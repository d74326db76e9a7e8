"""``unicr.radius``: one entry point over every radius engine.

Input checks that all engines share live here (probabilities, dimension, norm,
abstention); the engines themselves receive validated values:

* ``method="exact"`` -- deterministic numerics for product noise
  (:mod:`unicr.exact`), proven ``lower`` and ``upper``;
* ``method="mc"`` -- the UniCR Monte Carlo engine (:mod:`unicr.montecarlo`), any noise;
* ``method="auto"`` -- ``exact`` for product noise, ``mc`` otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from unicr.certificate import Certificate, parse_norm, validate_probabilities
from unicr.checks import check_dimension as validate_dimension
from unicr.errors import ConvergenceError, InvalidParameterError, NotProductNoiseError
from unicr.noise.registry import noise as make_noise

__all__ = ["radius", "ENGINES", "validate_dimension"]


def _exact_engine() -> Callable[..., Certificate]:
    from unicr.exact import radius_exact

    return radius_exact


def _mc_engine() -> Callable[..., Certificate]:
    from unicr.montecarlo import radius_mc

    return radius_mc


#: method name -> loader of the engine function ``f(noise, pa, pb, p, d, **kw) -> Certificate``
ENGINES: dict[str, Callable[[], Callable[..., Certificate]]] = {
    "exact": _exact_engine,
    "mc": _mc_engine,
}


def radius(noise: Any, pa: float, norm: Any, d: int, pb: float | None = None,
           method: str = "auto", **kwargs: Any) -> Certificate:
    """Certified l_p radius R*(pA, pB) of a noise, as a :class:`~unicr.certificate.Certificate`.

    Parameters
    ----------
    noise:
        anything :func:`unicr.noise` accepts (name, spec path, scipy distribution, Noise).
    pa, pb:
        (lower bound on) the top-class probability and (upper bound on) the runner-up's.
        Binary case when ``pb`` is None (pB = 1 - pA).
    norm:
        1, 2, "inf" or any p > 0.
    d:
        input dimension.
    method:
        "exact", "mc" or "auto".

    Returns an ABSTAIN certificate (not an error) when pA <= 1/2 (binary) or pA <= pB.
    """
    p = parse_norm(norm)
    dim = validate_dimension(d)
    pa_f, pb_f = validate_probabilities(pa, pb)
    nz = make_noise(noise, d=dim) if isinstance(noise, str) else make_noise(noise)
    if not nz.is_product and getattr(nz, "d", dim) != dim:
        raise InvalidParameterError(
            f"the joint noise {nz.name} was built for d={nz.d}, but the radius was asked for d={dim}"
        )
    if method not in (*ENGINES, "auto"):
        raise InvalidParameterError(
            f"unknown method {method!r}; choose one of: auto, {', '.join(ENGINES)}"
        )
    if method == "auto":
        method = "exact" if nz.is_product else "mc"
    if method == "exact" and not nz.is_product:
        raise NotProductNoiseError(
            f"the exact engine needs product (i.i.d.) noise, and {nz.name} is a joint density; "
            "use method='mc' (the Monte Carlo engine) or method='auto'"
        )
    if pb_f is None and pa_f <= 0.5:
        return Certificate.abstained(method=method, norm=p, d=dim, pa=pa_f, pb=None,
                                     reason="binary: pA <= 1/2, no certificate",
                                     noise=nz.definition())
    if pb_f is not None and pa_f <= pb_f:
        return Certificate.abstained(method=method, norm=p, d=dim, pa=pa_f, pb=pb_f,
                                     reason="two-sided: pA <= pB, no certificate",
                                     noise=nz.definition())
    engine = ENGINES[method]()
    try:
        return engine(nz, pa_f, pb_f, p, dim, **kwargs)
    except (OverflowError, MemoryError) as exc:
        raise ConvergenceError(
            f"the {method} engine could not represent the computation for {nz.name} "
            f"(pA={pa_f:g}, pB={pb_f}, p={p:g}, d={dim}): {exc}"
        ) from exc
