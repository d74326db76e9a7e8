"""``unicr certify``: certify a trained model on a data set into a resumable TSV.

Python equivalent: :func:`unicr.smoothing.dataset.certify_dataset` with a
:class:`unicr.smoothing.Smooth` around :func:`unicr.models.load_checkpoint`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from unicr.certificate import parse_norm
from unicr.cli.common import (
    add_noise_arguments,
    check_output,
    load_model_and_data,
    noise_from_args,
    nonnegative_int,
    parse_param,
    positive_int,
    probability,
)
from unicr.cli.common import positive_float as positive_float_arg

if TYPE_CHECKING:
    from unicr.smoothing.dataset import CertifyRun

#: the rules of the combined files (unicr.smoothing.hybrid.RULES; not imported at start-up)
HYBRID_RULES = ("sound", "as-published")

#: what `--data` accepts
DATA_CHOICES = ("fashion-mnist", "cifar10", "imagenet", "image-folder")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "certify", help="certify a model's smoothed predictions on a data set (TSV results)",
        description="Randomized-smoothing certification (Cohen et al. 2019's CERTIFY) of every "
                    "--skip-th image with any noise and norms. Results are appended to --out one "
                    "row at a time; rerunning the same command resumes after the last complete "
                    "row. One run at a time per --out: a second one exits 2 naming the PID "
                    "that holds OUT.lock (released when that run ends or is killed).")
    p.add_argument("--model", required=True, metavar="CKPT",
                   help="checkpoint {'arch', 'state_dict'} (Cohen et al.'s format or unicr train)")
    p.add_argument("--data", required=True, choices=DATA_CHOICES, help="data set")
    p.add_argument("--data-dir", default=None, metavar="DIR",
                   help="data folder (fashion-mnist default: /usr/share/datasets/fashion-mnist)")
    p.add_argument("--split", choices=("test", "train"), default="test", help="data split")
    p.add_argument("--noise", required=True, metavar="NOISE",
                   help="certification noise: catalogue name or .toml spec")
    add_noise_arguments(p, positional=False)
    p.add_argument("--n0", type=positive_int, default=100, help="selection samples (default 100)")
    p.add_argument("--n", type=positive_int, default=100_000,
                   help="estimation samples (default 100000)")
    p.add_argument("--alpha", type=probability, default=0.001,
                   help="failure probability per image (default 0.001)")
    p.add_argument("--norms", nargs="+", default=["2"], metavar="P",
                   help="norms to certify: 1 2 inf or any p > 0 (default 2); the first one fills "
                        "Cohen's 'radius' column")
    p.add_argument("--out", required=True, metavar="TSV", help="results file (appended, resumable)")
    p.add_argument("--skip", type=positive_int, default=1, help="certify every SKIP-th image")
    p.add_argument("--max", type=positive_int, default=None, dest="max_count", metavar="MAX",
                   help="certify at most MAX images (a count, not an index)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cpu)")
    p.add_argument("--batch", type=positive_int, default=1000,
                   help="noise samples per forward pass")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (written into the results)")
    p.add_argument("--amp", action="store_true",
                   help="mixed precision for the model only (noise and counts stay exact)")
    p.add_argument("--mode", choices=("binary", "two-sided"), default="binary",
                   help="binary: pB = 1 - pA (Cohen); two-sided: pA and a runner-up bound pB")
    p.add_argument("--alpha-split", type=split_fraction, default=None, metavar="S",
                   help="two-sided: share of alpha spent on pA, fixed in advance (default 0.5)")
    p.add_argument("--split-grid", type=split_fraction, nargs="+", default=None, metavar="S",
                   help="two-sided: try several alpha splits, each at alpha/K (Bonferroni)")
    p.add_argument("--runner-up", choices=("plain", "generalized"), default="plain",
                   help="two-sided pB bound: Clopper-Pearson on the largest other count (plain) "
                        "or Feng et al. 2020's Eq. 14 (generalized)")
    p.add_argument("--radius-method", choices=("curve", "auto", "exact", "mc"), default="curve",
                   help="where radii come from: curve (default) = cached proven lower-bound tables "
                        "of the exact engine (joint noise: of unicr.radius), read in microseconds, "
                        "at most 1e-3 relative below a direct engine call; auto/exact/mc = one "
                        "engine call per distinct pA")
    p.add_argument("--time", dest="timing", action="store_true", default=False,
                   help="record wall-clock seconds in the time column (Cohen's format); the "
                        "file is then no longer byte-reproducible on resume")
    p.add_argument("--no-time", dest="timing", action="store_false",
                   help="write '-' in the time column (the default): byte-reproducible files")
    p.add_argument("--progress", dest="progress", action="store_true", default=None,
                   help="show progress on stderr (the default): a bar on a terminal, a plain line "
                        "every 10 s when stderr is a file or a pipe")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="never show the progress bar")
    h = p.add_argument_group(
        "hybrid certification (Nandi et al. 2023)",
        "With --hybrid-noise, every image is also certified by a second smoothed classifier "
        "(e.g. --noise gaussian for l2 and --hybrid-noise uniform for l1, separate sigmas and "
        "models) into --hybrid-out, and both are combined into OUT_STEM.hybrid-sound.tsv (the "
        "agreement hybrid: both must certify the same class, each radius the minimum of the "
        "two after the sound norm conversion; confidence 1 - 2 alpha, so pass alpha/2 for "
        "1 - alpha) and OUT_STEM.hybrid-as-published.tsv (the paper's max rule, Table 1: not a "
        "certificate of one deployed classifier). All four files are read by `unicr analyze`.")
    h.add_argument("--hybrid-noise", default=None, metavar="NOISE",
                   help="noise of the second smoothed classifier (enables the hybrid)")
    h.add_argument("--hybrid-sigma", type=positive_float_arg, default=None,
                   help="per-coordinate RMS of --hybrid-noise")
    h.add_argument("--hybrid-param", dest="hybrid_params", action="append", default=[],
                   type=parse_param, metavar="NAME=VALUE", help="shape parameter of --hybrid-noise")
    h.add_argument("--hybrid-model", default=None, metavar="CKPT",
                   help="checkpoint of the second base classifier (default: --model)")
    h.add_argument("--hybrid-norms", nargs="+", default=["1"], metavar="P",
                   help="norms certified by the second classifier (default 1)")
    h.add_argument("--hybrid-out", default=None, metavar="TSV",
                   help="results file of the second classifier (default OUT_STEM.hybrid-b.tsv)")
    h.add_argument("--hybrid-result-norms", nargs="+", default=["1", "2"], metavar="P",
                   help="norms of the combined files (default 1 2)")
    p.set_defaults(func=cmd_certify)


def split_fraction(text: str) -> float:
    """argparse type of --alpha-split / --split-grid: a share of alpha in (0, 1]."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}") from None
    if not (0.0 < v <= 1.0):  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return v


def cmd_certify(args: argparse.Namespace) -> int:
    from unicr.smoothing.allocator import cache_allocator

    cache_allocator()  # this command owns its process: reuse large buffers (~2x on CPU)
    from unicr.smoothing import Smooth
    from unicr.smoothing.dataset import certify_dataset, results_lock

    norms = [parse_norm(p) for p in args.norms]
    check_output(args.out, "--out")
    hybrid = _hybrid_setup(args)
    with results_lock(args.out):  # fail fast, before loading anything, if a run writes it
        pass  # (certify_dataset takes the lock again for the whole run)
    model, data, meta, d = load_model_and_data(args)
    nz = noise_from_args(args, name=args.noise, d=d)
    smooth = Smooth(model, nz, amp=args.amp, radius_method=args.radius_method)
    if hybrid is not None:  # build the second classifier before any long run: fail fast
        from unicr.noises.registry import noise as make_noise

        model_b, meta_b = model, meta
        if args.hybrid_model is not None:
            ns = argparse.Namespace(**{**vars(args), "model": args.hybrid_model})
            model_b, _, meta_b, _ = load_model_and_data(ns)
        nz_b = make_noise(args.hybrid_noise, sigma=args.hybrid_sigma, d=d,
                          **dict(args.hybrid_params))
        smooth_b = Smooth(model_b, nz_b, amp=args.amp, radius_method=args.radius_method)
    settings = dict(n0=args.n0, n=args.n, alpha=args.alpha, seed=args.seed, skip=args.skip,
                    max_count=args.max_count, batch_size=args.batch, mode=args.mode,
                    alpha_split=args.alpha_split, grid=args.split_grid,
                    runner_up=args.runner_up, timing=args.timing, progress=args.progress)
    if hybrid is None:
        _report(certify_dataset(smooth, data, args.out, norms=norms, meta=meta, **settings))
        sys.stdout.flush()
        return 0
    from unicr.smoothing.hybrid import certify_hybrid_dataset

    hrun = certify_hybrid_dataset(smooth, smooth_b, data, args.out, norms_a=norms,
                                  norms_b=hybrid["norms_b"], norms=hybrid["norms"],
                                  out_b=hybrid["b"], meta_a=meta, meta_b=meta_b, **settings)
    _report(hrun.run_a)
    _report(hrun.run_b)
    for rule in HYBRID_RULES:
        note = ("agreement hybrid, confidence 1 - 2 alpha" if rule == "sound" else
                "paper's max rule, NOT a certificate of one deployed classifier")
        print(f"{hrun.files[rule]}: hybrid ({note})")
    sys.stdout.flush()
    return 0


def _hybrid_setup(args: argparse.Namespace) -> dict[str, Any] | None:
    """Paths and norms of a hybrid run (checked before any work), or None without one."""
    from unicr.errors import InvalidParameterError

    given = [o for o, v in (("--hybrid-sigma", args.hybrid_sigma),
                            ("--hybrid-param", args.hybrid_params),
                            ("--hybrid-model", args.hybrid_model),
                            ("--hybrid-out", args.hybrid_out)) if v]
    if args.hybrid_noise is None:
        if given:
            raise InvalidParameterError(f"{', '.join(given)} need(s) --hybrid-noise")
        return None
    from unicr.smoothing.hybrid import hybrid_paths

    paths: dict[str, Any] = dict(hybrid_paths(args.out))
    if args.hybrid_out is not None:
        paths["b"] = Path(args.hybrid_out)
    if len({Path(args.out).resolve(), *(Path(v).resolve() for v in paths.values())}) != 4:
        raise InvalidParameterError("--out and --hybrid-out must be different files")
    for key, option in (("b", "--hybrid-out"), ("sound", "--out"), ("as-published", "--out")):
        check_output(paths[key], option)
    paths["norms_b"] = [parse_norm(p) for p in args.hybrid_norms]
    paths["norms"] = [parse_norm(p) for p in args.hybrid_result_norms]
    return paths


def _report(run: CertifyRun) -> None:
    """One line about a finished :func:`certify_dataset` run."""
    if run.computed == 0:
        print(f"{run.path}: already complete ({run.total} images); nothing to do")
    else:
        what = f"resumed after {run.resumed_from}, " if run.resumed_from else ""
        print(f"{run.path}: certified {run.computed} image(s) ({what}{run.total} in total) in "
              f"{run.seconds:.1f} s, {run.images_per_second:.2f} images/s, "
              f"{run.forward_passes / max(run.seconds, 1e-9):,.0f} noisy forward passes/s; "
              f"{run.sampling_seconds:.1f} s sampling + forward passes, {run.radius_seconds:.2f} s "
              f"statistics + radii ({100 * run.radius_share:.2f}%)")
