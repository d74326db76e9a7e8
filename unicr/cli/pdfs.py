"""``unicr pdfs list|show``: the noise catalogue.

Python equivalents: :func:`unicr.catalogue` and :func:`unicr.noise`.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from unicr.cli.common import add_noise_arguments, fmt, noise_from_args, print_json
from unicr.errors import InvalidParameterError, UnicrError
from unicr.noises.base import JointNoise, ProductNoise
from unicr.noises.registry import catalogue

#: a dimension to tell a joint noise from a product one when --d is missing
_PROBE_D = 3072


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pdfs", help="list and inspect the noise catalogue",
                       description="List the noise catalogue (pdfs/*.toml) or show one noise.")
    psub = p.add_subparsers(dest="pdfs_command", metavar="ACTION")
    psub.required = True

    pl = psub.add_parser("list", help="list every catalogue noise")
    pl.add_argument("--json", action="store_true", help="machine-readable output")
    pl.set_defaults(func=cmd_list)

    ps = psub.add_parser("show", help="properties of one noise (name or .toml path)",
                         description="Properties of one noise. A joint (non-product) noise "
                                     "such as exp2 depends on the input dimension: --d is "
                                     "required for it (no silent default).")
    add_noise_arguments(ps, with_d=True)
    ps.add_argument("--json", action="store_true", help="machine-readable output")
    ps.set_defaults(func=cmd_show)


def cmd_list(args: argparse.Namespace) -> int:
    entries = catalogue()
    if args.json:
        print_json([e.to_dict() for e in entries])
        return 0
    width = max(len(e.name) for e in entries)
    print(f"{'name':<{width}}  {'kind':<7}  {'parameters':<24}  description")
    for e in entries:
        params = ", ".join(f"{p.name}={p.default:g}" for p in e.params if p.default is not None)
        print(f"{e.name:<{width}}  {e.kind:<7}  {params or '-':<24}  {e.description}")
    print(f"\n{len(entries)} noises. `unicr pdfs show NAME` for details; "
          "a .toml path works wherever a name does.")
    return 0


def noise_properties(nz: Any) -> dict[str, Any]:
    """What `unicr pdfs show` prints, as a dict (also used by `--json`)."""
    info = nz.describe()
    if isinstance(nz, ProductNoise):
        qs = [0.9, 0.99, 0.999]
        info["quantiles"] = {f"{q:g}": float(nz.ppf(q)) for q in qs}
        try:
            info["fisher_information"] = float(nz.fisher_information()) if nz.has_score else None
        except Exception:  # numerical quadrature may fail for exotic laws; not essential here
            info["fisher_information"] = None
    info["fingerprint"] = nz.fingerprint()[:16]
    return info


def cmd_show(args: argparse.Namespace) -> int:
    nz = _show_noise(args)
    info = noise_properties(nz)
    if args.json:
        print_json(info)
        return 0
    print(f"{info['name']}  ({info['kind']} noise)")
    if info.get("description"):
        print(f"  {info['description']}")
    if info.get("source"):
        print(f"  source: {info['source']}")
    for p in info["param_info"]:
        rng = p_range(p)
        print(f"  param {p['name']} = {info['params'][p['name']]:g}   range {rng}"
              + (f"   {p['doc']}" if p.get("doc") else ""))
    print(f"  native scale ({info['scale_name']}) = {fmt(info['scale'])}")
    sig = info["sigma"]
    print(f"  sigma (per-coordinate RMS) = {fmt(sig)}"
          + ("   (infinite variance: build it with --scale)" if math.isinf(sig) else ""))
    if isinstance(nz, JointNoise):
        print(f"  dimension d = {nz.d}")
    if isinstance(nz, ProductNoise):
        lo, hi = info["support"]
        print(f"  support = [{fmt(lo)}, {fmt(hi)}]   symmetric = {info['symmetric']}")
        print("  quantiles: " + ", ".join(f"F^-1({k}) = {fmt(v)}"
                                          for k, v in info["quantiles"].items()))
        if info.get("fisher_information") is not None:
            print(f"  Fisher information (location) = {fmt(info['fisher_information'])}")
        elif not nz.has_score:
            print("  Fisher information: none (density not differentiable)")
    return 0


def _show_noise(args: argparse.Namespace) -> Any:
    """The noise of `pdfs show`; a joint noise without --d is refused with the CLI spelling."""
    if args.d is not None:
        return noise_from_args(args)
    try:
        return noise_from_args(args)
    except InvalidParameterError:
        try:
            joint = isinstance(noise_from_args(args, d=_PROBE_D), JointNoise)
        except UnicrError:
            joint = False
        if not joint:
            raise
        raise InvalidParameterError(
            f"{args.noise} is a joint (non-product) noise: its sigma, scale and shape depend "
            "on the input dimension, so give --d D (e.g. --d 3072 for 3x32x32 CIFAR-10 "
            "images, --d 784 for 28x28 Fashion-MNIST)") from None


def p_range(p: dict[str, Any]) -> str:
    lo = "(" if p["low_open"] else "["
    hi = ")" if p["high_open"] else "]"
    return f"{lo}{fmt(p['low'])}, {fmt(p['high'])}{hi}"
