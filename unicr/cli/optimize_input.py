"""``unicr optimize input | auto-noise | plot``: the noise chosen per input, reported soundly.

Python equivalents: :func:`unicr.optimize.run_iopt` / :func:`unicr.optimize.run_auto_noise`
with a :class:`unicr.optimize.Lattice`, :func:`unicr.optimize.read_perinput_results`,
:func:`unicr.optimize.plot_perinput` and :func:`unicr.optimize.summarize_perinput`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from unicr.cli.common import (
    check_figure,
    check_output,
    load_model_and_data,
    nonnegative_int,
    positive_float,
    positive_int,
    print_json,
    probability,
)
from unicr.errors import InvalidParameterError

DATA_CHOICES = ("fashion-mnist", "cifar10", "imagenet", "image-folder")


def _assignments(text: str, option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise argparse.ArgumentTypeError(f"{option} expects NAME=VALUE[,NAME=VALUE], "
                                             f"got {text!r}")
        k, _, v = part.partition("=")
        k = k.strip()
        if not k.isidentifier():
            raise argparse.ArgumentTypeError(f"{option}: {k!r} is not a parameter name")
        out[k] = v.strip()
    return out


def _number(text: str, what: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what}: {text!r} is not a number") from None
    if v != v or v in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"{what}: {text!r} is not a finite number")
    return v


def start_type(text: str) -> dict[str, float]:
    """``sigma=0.5,beta=2`` -> {"sigma": 0.5, "beta": 2.0}."""
    return {k: _number(v, f"--start {k}") for k, v in _assignments(text, "--start").items()}


def range_type(text: str) -> tuple[str, tuple[float, float]]:
    """``beta=0.5:4`` -> ("beta", (0.5, 4.0))."""
    a = _assignments(text, "--range")
    if len(a) != 1:
        raise argparse.ArgumentTypeError(f"--range expects NAME=L:H, got {text!r}")
    (k, v), = a.items()
    lo, sep, hi = v.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"--range {k}: expected L:H, got {v!r}")
    return k, (_number(lo, f"--range {k}"), _number(hi, f"--range {k}"))


def step_type(text: str) -> tuple[str, float]:
    """``beta=0.25`` -> ("beta", 0.25)."""
    a = _assignments(text, "--step")
    if len(a) != 1:
        raise argparse.ArgumentTypeError(f"--step expects NAME=S, got {text!r}")
    (k, v), = a.items()
    return k, _number(v, f"--step {k}")


def baseline_type(text: str) -> int | str:
    if text.strip().lower() == "equal":
        return "equal"
    return positive_int(text)


def _common(p: argparse.ArgumentParser, *, n_default: int) -> None:
    p.add_argument("--model", required=True, metavar="CKPT", help="checkpoint (unicr train)")
    p.add_argument("--data", required=True, choices=DATA_CHOICES, help="data set")
    p.add_argument("--data-dir", default=None, metavar="DIR", help="data folder")
    p.add_argument("--split", choices=("test", "train"), default="test", help="data split")
    p.add_argument("--n", type=positive_int, default=n_default,
                   help=f"fresh estimation draws per certified theta (default {n_default})")
    p.add_argument("--alpha", type=probability, default=0.001,
                   help="failure probability per image and mode (default 0.001)")
    p.add_argument("--norms", nargs="+", default=["2"], metavar="P",
                   help="norms of the radii (default 2); the first is the search objective")
    p.add_argument("--baseline-n", type=baseline_type, default="equal", metavar="equal|N",
                   help="estimation draws of the fixed-noise baseline: 'equal' (the forward "
                        "passes of the fixed-theta mode at that input, selection included; "
                        "default) or N")
    p.add_argument("--agree-with-base", action="store_true",
                   help="certify only if the class equals the base model's clean prediction "
                        "f(x) (UniCR Table 8 / Auto-Noise Sec. 3.2); the labels say so")
    p.add_argument("--out", required=True, metavar="TSV", help="results file (resumable)")
    p.add_argument("--summary", default=None, metavar="JSON",
                   help="also write this run's forward passes and time split to JSON")
    p.add_argument("--skip", type=positive_int, default=1, help="every SKIP-th image")
    p.add_argument("--max", type=positive_int, default=None, dest="max_count", metavar="MAX",
                   help="at most MAX images")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: cpu)")
    p.add_argument("--batch", type=positive_int, default=1000, help="draws per forward batch")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="random seed")
    p.add_argument("--progress", dest="progress", action="store_true", default=None,
                   help="show progress on stderr (the default): a bar on a terminal, a plain line "
                        "every 10 s when stderr is a file or a pipe")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="never show the progress bar")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "input", help="I-OPT: hill-climb the noise per input (UniCR Algorithm 3), sound modes",
        description="I-OPT (Hong et al. 2022, Sec. 4, Algorithm 3): per test image, hill climbing "
                    "over the noise hyper-parameters on the lattice start + k*STEP strictly "
                    "inside each --range, each candidate scored from --n-sel draws. Every image "
                    "is reported in four named modes: fixed (training noise baseline), "
                    "as-published (estimate: selection and certification share draws), "
                    "fixed-theta (certificate of g_theta* with fresh draws) and deployable "
                    "(certificate of the predictor that picks theta per input: every candidate, "
                    "Bonferroni, min radius). Resumable like `unicr certify`.")
    _common(p, n_default=10_000)
    p.add_argument("--family", default="gennorm", help="noise family (default gennorm)")
    p.add_argument("--start", type=start_type, default={"sigma": 0.5, "beta": 2.0},
                   metavar="K=V[,K=V]",
                   help="training noise theta_0 (default sigma=0.5,beta=2); sigma is the "
                        "per-coordinate RMS, or give scale=")
    p.add_argument("--range", dest="ranges", type=range_type, action="append", default=[],
                   metavar="NAME=L:H", help="open range (L, H) of a tuned parameter (repeatable)")
    p.add_argument("--step", dest="steps", type=step_type, action="append", default=[],
                   metavar="NAME=S", help="step S of a tuned parameter (repeatable)")
    p.add_argument("--n-sel", type=positive_int, default=1000,
                   help="selection draws per candidate (default 1000, UniCR's setting)")
    p.add_argument("--rounds", type=positive_int, default=20,
                   help="cap on hill-climbing rounds (default 20, as UniCR's code)")
    p.set_defaults(func=cmd_input)

    a = sub.add_parser(
        "auto-noise", help="Auto-Noise: best sigma of a set per input (Algorithm 2), sound modes",
        description="Auto-Noise ('Certification through adaptation', Algorithm 2): per test "
                    "image, sigma_auto = the sigma of --sigmas with the largest radius from "
                    "--n-auto draws, then --n fresh draws. Reported in the same four modes "
                    "(as-published = the paper's Sec. 3.2 protocol with class f(x)). The "
                    "batch-norm adaptation of Algorithm 1 is not applied (Python: adapt=).")
    _common(p=a, n_default=100_000)
    a.add_argument("--family", default="gaussian", help="noise family (default gaussian)")
    a.add_argument("--sigmas", type=positive_float, nargs="+",
                   default=[0.12, 0.25, 0.37, 0.5, 0.67, 0.75, 0.87, 1.0], metavar="SIGMA",
                   help="candidate sigmas (default the paper's 0.12 ... 1.0)")
    a.add_argument("--start", type=start_type, default={"sigma": 0.5}, metavar="K=V[,K=V]",
                   help="training noise: sigma (one of --sigmas) and fixed shape parameters "
                        "(default sigma=0.5)")
    a.add_argument("--n-auto", type=positive_int, default=1000,
                   help="selection draws per sigma (default 1000, the paper's N_auto)")
    a.set_defaults(func=cmd_auto_noise)

    r = sub.add_parser(
        "plot", help="plot/summarise per-input results: modes vs fixed noise, chosen parameters",
        description="Certified accuracy against radius of the fixed-noise baseline and each "
                    "reporting mode (one panel per norm; the as-published estimate dashed), "
                    "histograms of the chosen parameters, and a summary (UniCR Table 3's "
                    "average of the top 20%...100% radii, certified accuracy, forward passes "
                    "per input per mode).")
    r.add_argument("results", nargs="+", metavar="TSV", help="results of `input`/`auto-noise`")
    r.add_argument("-o", "--out", default=None, metavar="FIG", help="figure (.png/.pdf/.svg)")
    r.add_argument("--norm", default="2", help="norm of the summary (default 2)")
    r.add_argument("--radii", type=float, nargs="+", default=[0.0, 0.25, 0.5, 0.75, 1.0],
                   metavar="R", help="radii of the certified-accuracy summary")
    r.add_argument("--json", action="store_true", help="print the summary as JSON")
    r.set_defaults(func=cmd_plot)


def _finish(args: argparse.Namespace, run: Any) -> int:
    if args.summary:
        from unicr.optimize.perinput_results import merge_run_summaries

        try:
            with open(args.summary, encoding="utf-8") as f:
                earlier = json.load(f)
        except (OSError, ValueError):
            earlier = None
        total = merge_run_summaries(earlier, run.to_dict())
        with open(args.summary, "w", encoding="utf-8") as f:
            json.dump(total, f, indent=2, sort_keys=True)
            f.write("\n")
    if run.computed == 0:
        print(f"{run.path}: already complete ({run.total} images); nothing to do")
    else:
        print(f"{run.path}: {run.computed} image(s) in {run.seconds:.1f} s "
              f"({run.total} in total); {run.forward_passes:,} forward passes, "
              f"sampling {run.sampling_seconds:.1f} s, radii {run.radius_seconds:.3f} s "
              f"({100 * run.radius_share:.2f}% of both)")
    sys.stdout.flush()
    return 0


def _check_files(args: argparse.Namespace) -> None:
    from unicr.smoothing.dataset import results_lock

    check_output(args.out, "--out")
    if args.summary:
        check_output(args.summary, "--summary")
    with results_lock(args.out):  # fail fast if another run writes it
        pass


def cmd_input(args: argparse.Namespace) -> int:
    from unicr.certificate import parse_norm
    from unicr.optimize.perinput import Lattice
    from unicr.optimize.perinput_results import run_iopt

    norms = [parse_norm(p) for p in args.norms]
    ranges, steps = dict(args.ranges), dict(args.steps)
    for opt, pairs in (("--range", args.ranges), ("--step", args.steps)):
        names = [k for k, _ in pairs]
        if len(set(names)) != len(names):
            raise InvalidParameterError(f"{opt} is given twice for the same parameter")
    lattice = Lattice.hill(args.family, args.start, ranges, steps)  # errors before loading
    _check_files(args)
    model, data, meta, d = load_model_and_data(args)
    lattice = Lattice.hill(args.family, args.start, ranges, steps, d=d)
    run = run_iopt(model, data, args.out, lattice, n_sel=args.n_sel, n=args.n, alpha=args.alpha,
                   norms=norms, seed=args.seed, skip=args.skip, max_count=args.max_count,
                   progress=args.progress, meta=meta, max_rounds=args.rounds,
                   baseline_n=args.baseline_n, agree_with_base=args.agree_with_base,
                   batch_size=args.batch)
    return _finish(args, run)


def cmd_auto_noise(args: argparse.Namespace) -> int:
    from unicr.certificate import parse_norm
    from unicr.optimize.perinput import Lattice
    from unicr.optimize.perinput_results import run_auto_noise

    norms = [parse_norm(p) for p in args.norms]
    start = dict(args.start)
    if "sigma" not in start:
        raise InvalidParameterError("--start must give the training sigma (e.g. sigma=0.5)")
    s0 = start.pop("sigma")
    Lattice.sigmas(args.family, args.sigmas, s0, shape=start)  # errors before loading
    _check_files(args)
    model, data, meta, d = load_model_and_data(args)
    lattice = Lattice.sigmas(args.family, args.sigmas, s0, shape=start, d=d)
    run = run_auto_noise(model, data, args.out, lattice, n_auto=args.n_auto, n=args.n,
                         alpha=args.alpha, norms=norms, seed=args.seed, skip=args.skip,
                         max_count=args.max_count, progress=args.progress, meta=meta,
                         baseline_n=args.baseline_n, agree_with_base=args.agree_with_base,
                         batch_size=args.batch)
    return _finish(args, run)


def cmd_plot(args: argparse.Namespace) -> int:
    from unicr.optimize.perinput_plots import plot_perinput
    from unicr.optimize.perinput_results import read_perinput_results, summarize_perinput

    check_figure(args.out, "--out")
    res = [read_perinput_results(p) for p in args.results]
    summaries = [summarize_perinput(r, args.norm, args.radii) for r in res]
    if args.out:
        plot_perinput(res, args.out)
    if args.json:
        print_json(summaries)
        return 0
    for s in summaries:
        print(f"{s['file']}: {s['method']}, {s['images']} images, l_{s['norm']}")
        qs = list(next(iter(s["modes"].values()))["top_means"])
        print(f"  {'mode':<14}{'fwd/input':>11}" + "".join(f"{'top ' + q:>10}" for q in qs)
              + f"{'ACR':>9}")
        for m, v in s["modes"].items():
            name = m + (" (estimate)" if v["estimate"] else "")
            print(f"  {name:<14}{v['forward_per_input']:>11.0f}"
                  + "".join(f"{x:>10.4f}" for x in v["top_means"].values())
                  + f"{v['acr']:>9.4f}")
    if args.out:
        print(f"wrote {args.out}")
    return 0
