"""``unicr radius``: one certified radius with its band, confidence and witness.

Python equivalent: :func:`unicr.radius`.
"""

from __future__ import annotations

import argparse
import math

from unicr.certificate import Certificate, norm_label, parse_norm
from unicr.certify import radius
from unicr.cli.common import (
    D_HELP,
    DEFAULT_D,
    add_mc_arguments,
    add_noise_arguments,
    fmt,
    mc_kwargs,
    noise_from_args,
    positive_int,
    print_json,
    probability,
)

_EPILOG = """examples:
  unicr radius gaussian --pa 0.9
  unicr radius laplace --pa 0.9 --norm 1 --d 784 --sigma 0.5
  unicr radius gennorm --param beta=1.5 --pa 0.8 --pb 0.1 --norm inf --json
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "radius", help="certified radius of a noise for given pA (and pB)",
        description="Bracket the tight certified radius R*(pA, pB) between a proven lower "
                    "bound and a proven upper bound (with a failing perturbation as witness).",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_noise_arguments(p)
    p.add_argument("--pa", type=probability, required=True, help="(lower bound on) pA")
    p.add_argument("--pb", type=probability, default=None,
                   help="(upper bound on) pB; omitted: binary case pB = 1 - pA")
    p.add_argument("--norm", type=str, default="2", help="1, 2, inf or any p > 0 (default 2)")
    p.add_argument("--d", type=positive_int, default=DEFAULT_D, help=D_HELP)
    p.add_argument("--method", choices=("auto", "exact", "mc", "radial"), default="auto",
                   help="exact (product noise), radial (l2-radial joint noise), mc (Monte Carlo, "
                        "any noise) or auto")
    add_mc_arguments(p)
    p.add_argument("--json", action="store_true", help="print the certificate as JSON")
    p.set_defaults(func=cmd_radius)


def cmd_radius(args: argparse.Namespace) -> int:
    p = parse_norm(args.norm)
    nz = noise_from_args(args, d=args.d)
    kw = mc_kwargs(args)
    engine = args.method if args.method != "auto" else ("exact" if nz.is_product else "mc")
    if kw and engine == "exact":
        from unicr.errors import InvalidParameterError

        how = "" if args.method == "exact" else f" ({nz.name} is product noise: --method auto " \
            "picks the exact engine)"
        raise InvalidParameterError(
            f"options {', '.join('--' + k.replace('_', '-') for k in kw)} belong to the Monte Carlo "
            f"engine{how}; add --method mc"
        )
    cert = radius(nz, args.pa, p, args.d, pb=args.pb, method=args.method, **kw)
    if args.json:
        print_json(cert.to_dict())
    else:
        print_certificate(cert)
    return 0


def print_certificate(cert: Certificate) -> None:
    side = "binary" if cert.pb is None else f"two-sided, pB = {cert.pb:g}"
    print(f"l_{norm_label(cert.norm)} radius, pA = {cert.pa:g} ({side}), d = {cert.d}, "
          f"method {cert.method}")
    if cert.abstain:
        print("  ABSTAIN: " + "; ".join(cert.assumptions))
        return
    print(f"  lower (proven <= R*)  = {fmt(cert.lower, 8)}")
    print(f"  upper (proven >= R*)  = {fmt(cert.upper, 8)}")
    if cert.estimate is not None and cert.status != "exact":  # exact: lower = upper says it
        inside = cert.method != "mc" and cert.lower <= cert.estimate <= cert.upper
        label = "estimate (in the band)" if inside else "estimate (no proof)"
        print(f"  {label:<22}= {fmt(cert.estimate, 8)}")
    print(f"  status: {cert.status}   confidence: {cert.confidence:g}"
          + (f"   gap upper/lower: {cert.gap:.4g}" if math.isfinite(cert.gap) else ""))
    if cert.witness is not None:
        w = cert.witness
        print(f"  witness: {w.direction} scale {fmt(w.scale)} (norm {fmt(w.norm_value)}) "
              "fails the Neyman-Pearson test")
    for a in cert.assumptions:
        print(f"  - {a}")
