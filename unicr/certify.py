"""``unicr.radius``: one entry point over every radius engine.

Input checks that all engines share live here (probabilities, dimension, norm,
abstention); the engines themselves receive validated values:

* ``method="exact"`` -- deterministic numerics for product noise
  (:mod:`unicr.engines`), proven ``lower`` and ``upper``;
* ``method="mc"`` -- the UniCR Monte Carlo engine (:mod:`unicr.engines`), any noise;
* ``method="radial"`` -- proven ``lower`` and ``upper`` (confidence 1) for the l2-radial joint
  noises the radial engine accepts (UniformBall, Exp2, Pow2: its own applicability test,
  :func:`unicr.engines.radial.radial_applies`), any l_p norm by rotation invariance;
* ``method="auto"`` -- ``exact`` for product noise, ``radial`` for the joint noises it accepts,
  ``mc`` otherwise (:func:`choose_method`).

Engine options (keyword arguments) are checked here against the engine that will run, before
any work: an option that engine does not take is an :class:`InvalidParameterError` naming the
option, the engine that was chosen and the engine that takes it.  One exception: ``seed`` is
accepted by every method -- the exact engine is deterministic, so a seed cannot change its
result and is only validated, then dropped (scripts that pass ``seed=0`` everywhere keep
working under ``method="auto"``).  Every other Monte Carlo option (``n_mc``, ``alpha_np``, ...)
under ``method="auto"`` on a product noise is refused rather than silently ignored: the exact
engine would not use it, so the caller asks for ``method="mc"`` explicitly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from unicr.certificate import Certificate, CertificateArray, parse_norm, validate_probabilities
from unicr.checks import check_dimension as validate_dimension
from unicr.errors import ConvergenceError, InvalidParameterError, NotProductNoiseError
from unicr.noises.registry import noise as make_noise

__all__ = ["radius", "ENGINES", "validate_dimension", "choose_method"]


def _exact_engine() -> Callable[..., Certificate]:
    from unicr.engines import radius_exact

    return radius_exact


def _mc_engine() -> Callable[..., Certificate]:
    from unicr.engines import radius_mc

    return radius_mc


def _radial_engine() -> Callable[..., Certificate]:
    from unicr.engines.radial import radius_radial

    return radius_radial


#: method name -> loader of the engine function ``f(noise, pa, pb, p, d, **kw) -> Certificate``
ENGINES: dict[str, Callable[[], Callable[..., Certificate]]] = {
    "exact": _exact_engine,
    "mc": _mc_engine,
    "radial": _radial_engine,
}

#: options every method accepts; engines that have no use for them drop them (module doc)
_UNIVERSAL = ("seed",)


def engine_options(method: str) -> frozenset[str]:
    """Names of the keyword options the engine behind ``method`` ("exact", "mc" or "radial")
    takes."""
    if method == "mc":
        from unicr.engines.mc_options import DEFAULTS

        return frozenset(DEFAULTS)
    if method == "radial":
        from unicr.engines.radial_options import option_names as radial_names

        return radial_names()
    from unicr.engines.exact_options import option_names

    return option_names()


def _engine_kwargs(method: str, chosen_by: str, noise_name: str,
                   kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` checked against the engine of ``method``; universal options it lacks dropped.

    ``chosen_by``: how the method was chosen (for the message), e.g. "method auto".
    """
    takes = engine_options(method)
    out = {}
    for name, value in kwargs.items():
        if name in takes:
            out[name] = value
        elif name in _UNIVERSAL:
            if name == "seed":
                from unicr.checks import check_seed

                check_seed(value)  # a bad seed is refused even where it is not used
        else:
            others = [m for m in ENGINES if m != method and name in engine_options(m)]
            where = (f"it is taken by the {' and '.join(others)} engine"
                     f"{'s' if len(others) > 1 else ''} only (choose method {others[0]})"
                     if others else "no engine takes it")
            what = "engine option" if others else "unknown option"
            raise InvalidParameterError(
                f"{what} {name!r} does not apply: {chosen_by} runs the {method} engine "
                f"for {noise_name}, which takes: {', '.join(sorted(takes)) or 'no options'}; "
                f"{where}"
            )
    return out


def choose_method(noise: Any, method: str, options: Any = ()) -> tuple[str, str]:
    """``(engine, how it was chosen)`` for a built noise, a requested method and the names of
    the engine options given.

    ``"auto"``: ``exact`` for product noise, ``radial`` for a joint noise the radial engine's
    own applicability test accepts (:func:`unicr.engines.radial.radial_applies`) -- unless
    Monte Carlo options are given: they ask for the Monte Carlo engine, which runs every joint
    noise (as :mod:`unicr.reporting.curves` does; for product noise they are refused later,
    by name) -- and ``mc`` otherwise.  ``"exact"`` on a joint noise and ``"radial"`` on a
    noise the radial engine does not take are errors naming the noise; an unknown method is an
    error listing the methods.
    """
    if method not in (*ENGINES, "auto"):
        raise InvalidParameterError(
            f"unknown method {method!r}; choose one of: auto, {', '.join(ENGINES)}"
        )
    name = getattr(noise, "name", type(noise).__name__)
    if method == "auto":
        if noise.is_product:
            return "exact", "method auto (exact for product noise)"
        from unicr.engines.radial import radial_applies

        mc_only = engine_options("mc") - engine_options("radial") - set(_UNIVERSAL)
        if set(options) & mc_only:
            return "mc", "method auto (mc: Monte Carlo options given for a joint noise)"
        if radial_applies(noise):
            return "radial", "method auto (radial for an l2-radial joint noise)"
        return "mc", "method auto (mc for a joint noise)"
    if method == "exact" and not noise.is_product:
        raise NotProductNoiseError(
            f"the exact engine needs product (i.i.d.) noise, and {name} is a joint density; "
            "use method='mc' (the Monte Carlo engine) or method='auto'"
        )
    if method == "radial":
        from unicr.engines.radial import check_radial_noise

        try:
            check_radial_noise(noise)
        except InvalidParameterError as exc:
            raise InvalidParameterError(
                f"method 'radial' does not apply to the noise {name}: {exc}; use method='mc' "
                "(the Monte Carlo engine) or method='auto'") from None
    return method, f"method {method}"


def _is_array(x: Any) -> bool:
    """True for a list, tuple or numpy array of at least one dimension (not a 0-d array)."""
    return isinstance(x, (list, tuple)) or (isinstance(x, np.ndarray) and x.ndim > 0)


def _broadcast(pa: Any, pb: Any) -> tuple[list[float], list[float | None]]:
    """pA and pB as two equally long lists (a scalar pB, or None, is repeated)."""
    try:
        pas = np.asarray(pa, dtype=float)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"pa must be a number or a 1-D array of numbers, got {pa!r}"
                                    ) from None
    if pas.ndim == 0:  # one pA for an array of pB
        pas = pas.reshape(1)
    if pas.ndim != 1:
        raise InvalidParameterError(f"pa must be a number or a 1-D array, got shape {pas.shape}")
    if pb is None or not _is_array(pb):
        return [float(x) for x in pas], [pb] * len(pas)
    try:
        pbs = np.asarray(pb, dtype=float)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"pb must be a number or a 1-D array of numbers, got {pb!r}"
                                    ) from None
    if pbs.ndim != 1:
        raise InvalidParameterError(f"pb must be a number or a 1-D array, got shape {pbs.shape}")
    if pas.size == 1 and pbs.size > 1:
        pas = np.repeat(pas, pbs.size)
    if pbs.size == 1 and pas.size > 1:
        pbs = np.repeat(pbs, pas.size)
    if pas.size != pbs.size:
        raise InvalidParameterError(
            f"pa and pb have different lengths ({pas.size} and {pbs.size}); give one pb, or one "
            "per pA")
    return [float(x) for x in pas], [float(x) for x in pbs]


def radius(noise: Any, pa: Any, norm: Any, d: int, pb: Any = None,
           method: str = "auto", **kwargs: Any) -> Certificate | CertificateArray:
    """Certified l_p radius R*(pA, pB) of a noise, as a :class:`~unicr.certificate.Certificate`.

    With a 1-D array (list, tuple or numpy array) of pA -- or of pB -- it returns a
    :class:`~unicr.certificate.CertificateArray`, one certificate per value, each exactly
    what the scalar call returns (same engine, same options, same seed); a scalar ``pb`` is
    used for every pA.

    Parameters
    ----------
    noise:
        anything :func:`unicr.noise` accepts (name, spec path, scipy distribution, Noise).
    pa, pb:
        (lower bound on) the top-class probability and (upper bound on) the runner-up's.
        Binary case when ``pb`` is None (pB = 1 - pA).  Numbers or 1-D arrays.
    norm:
        1, 2, "inf" or any p > 0.
    d:
        input dimension.
    method:
        "exact", "mc", "radial" or "auto" (module docstring).

    Returns an ABSTAIN certificate (not an error) when pA <= 1/2 (binary) or pA <= pB.
    """
    if _is_array(pa) or _is_array(pb):
        pas, pbs = _broadcast(pa, pb)
        if not pas:
            raise InvalidParameterError("pa is an empty array; give at least one pA")
        p = parse_norm(norm)
        dim = validate_dimension(d)
        nz = make_noise(noise, d=dim) if isinstance(noise, str) else make_noise(noise)
        return CertificateArray(tuple(radius(nz, x, p, dim, pb=y, method=method, **kwargs)
                                      for x, y in zip(pas, pbs)))
    if isinstance(pa, np.ndarray):  # a 0-d array is a number
        pa = float(pa)
    if isinstance(pb, np.ndarray):
        pb = float(pb)
    p = parse_norm(norm)
    dim = validate_dimension(d)
    pa_f, pb_f = validate_probabilities(pa, pb)
    nz = make_noise(noise, d=dim) if isinstance(noise, str) else make_noise(noise)
    if not nz.is_product and getattr(nz, "d", dim) != dim:
        raise InvalidParameterError(
            f"the joint noise {nz.name} was built for d={nz.d}, but the radius was asked for d={dim}"
        )
    method, chosen_by = choose_method(nz, method, kwargs)
    kwargs = _engine_kwargs(method, chosen_by, nz.name, kwargs)
    if method == "exact":
        from unicr.engines.exact_options import ExactOptions

        kwargs = {"options": ExactOptions.from_keywords(dim, **kwargs)}
    if method == "radial":
        from unicr.engines.radial_options import RadialOptions

        kwargs = {"options": RadialOptions.from_keywords(**kwargs)}
    label = "radial-exact" if method == "radial" else method
    if pb_f is None and pa_f <= 0.5:
        return Certificate.abstained(method=label, norm=p, d=dim, pa=pa_f, pb=None,
                                     reason="binary: pA <= 1/2, no certificate",
                                     noise=nz.definition())
    if pb_f is not None and pa_f <= pb_f:
        return Certificate.abstained(method=label, norm=p, d=dim, pa=pa_f, pb=pb_f,
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
