"""``unicr optimize classifier``: C-OPT, the noise of a classifier chosen on a validation split.

Python equivalent: :func:`unicr.optimize.copt.run_copt` with a
:class:`unicr.optimize.copt.CoptPlan`; the figure: :func:`unicr.optimize.copt_plots.plot_copt`.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from unicr.cli.common import check_figure, check_output, nonnegative_int, positive_int
from unicr.errors import InvalidParameterError

#: UniCR Table 2's grid, as the default of --grid
DEFAULT_GRID = "beta=0.25,0.5,0.75,1,1.25,1.5,1.75,2,2.25,2.5,2.75,3,4,5"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "classifier", help="C-OPT: train and certify one classifier per noise grid point, pick "
                           "on a validation split, certify the test split with the winner",
        description="C-OPT (Hong et al. 2022, Sec. 4 and Table 2): for every shape of the "
                    "--grid of a --family and every sigma of --sigmas (sigma-matched noise), "
                    "train a base classifier with that noise and certify it on a validation "
                    "split carved from the training data by --seed. Per norm the winner "
                    "shape is the one with the largest validation R_score (UniCR Eq. 5 over "
                    "the sigmas, integrated exactly on the step functions) and the winner "
                    "classifier the (shape, sigma) with the largest validation ACR; the test "
                    "split is then certified with each winner classifier: ordinary "
                    "certificates of a classifier chosen without the test data. Rerunning the "
                    "same command resumes; finished points are not redone and OUT/summary.json "
                    "comes out byte-identical.")
    p.add_argument("--data", required=True, choices=("fashion-mnist", "cifar10"),
                   help="data set (its train split gives training and validation images, its "
                        "test split the final certificates)")
    p.add_argument("--data-dir", default=None, metavar="DIR", help="data folder")
    p.add_argument("--arch", default="mlp",
                   help="architecture (default mlp, UniCR Table 2's MLP; cnn for 28x28, "
                        "cifar_resnet20 ...)")
    p.add_argument("--family", default="gennorm", metavar="NOISE",
                   help="noise family with shape parameters (default gennorm: "
                        "exp(-|x/alpha|^beta))")
    p.add_argument("--grid", action="append", default=None, metavar="NAME=V1,V2,...",
                   help=f"values of one shape parameter (repeatable: the grid is the product); "
                        f"default {DEFAULT_GRID} (UniCR Table 2)")
    p.add_argument("--sigmas", nargs="+", default=["0.12", "0.25", "0.5", "1.0"], metavar="S",
                   help="sigma set of the R_score (per-coordinate RMS; default 0.12 0.25 0.5 "
                        "1.0, UniCR Sec. 5.3)")
    p.add_argument("--epochs", type=positive_int, default=3, help="training epochs (default 3)")
    p.add_argument("--batch-size", type=positive_int, default=128,
                   help="training batch size (default 128)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    p.add_argument("--val-size", type=positive_int, default=500,
                   help="validation images carved from the training split (default 500)")
    p.add_argument("--max-train", type=positive_int, default=None,
                   help="training pool: the first N training images (default all)")
    p.add_argument("--max", type=positive_int, default=500, dest="test_max", metavar="MAX",
                   help="certify the first MAX test images with each winner (default 500)")
    p.add_argument("--n0", type=positive_int, default=100, help="selection samples (default 100)")
    p.add_argument("--n", type=positive_int, default=1000,
                   help="estimation samples (default 1000, UniCR Table 2)")
    p.add_argument("--alpha", type=float, default=0.001,
                   help="failure probability per image (default 0.001)")
    p.add_argument("--norms", nargs="+", default=["1", "2", "inf"], metavar="P",
                   help="norms (default 1 2 inf)")
    p.add_argument("--seed", type=nonnegative_int, default=0,
                   help="seed of the split, the training and the noise draws")
    p.add_argument("--batch", type=positive_int, default=1000,
                   help="noise samples per forward pass (default 1000)")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="output folder (resumable): plan.json, points/<tag>/{model.pt,val.tsv}, "
                        "test/<tag>.tsv, summary.json, timing.json")
    p.add_argument("--plot", default=None, metavar="FILE",
                   help="draw the C-OPT heatmap (shape x sigma -> validation ACR, R_score per "
                        "shape, winners marked) to FILE (.png, .pdf, .svg)")
    p.add_argument("--device", default=None, help="cpu, cuda ... (default cpu)")
    p.add_argument("--progress", dest="progress", action="store_true", default=None,
                   help="show progress on stderr (the default): a bar on a terminal, a plain line "
                        "every 10 s when stderr is a file or a pipe")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="never show the progress bar")
    p.set_defaults(func=cmd_classifier)


def parse_grid(items: list[str] | None) -> dict[str, list[float]]:
    """``["beta=0.5,1,2"]`` -> ``{"beta": [0.5, 1.0, 2.0]}``; errors name the bad item."""
    out: dict[str, list[float]] = {}
    for item in items if items is not None else [DEFAULT_GRID]:
        name, eq, values = item.partition("=")
        name = name.strip()
        if not eq or not name:
            raise InvalidParameterError(f"--grid expects NAME=V1,V2,..., got {item!r}")
        if name in out:
            raise InvalidParameterError(f"--grid names {name!r} twice")
        vals = [v.strip() for v in values.split(",") if v.strip()]
        if not vals:
            raise InvalidParameterError(f"--grid {name}: no values given (the grid is empty)")
        out[name] = [_number(v, f"--grid {name}") for v in vals]
    return out


def _number(text: str, what: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise InvalidParameterError(f"{what}: {text!r} is not a number") from None
    if not math.isfinite(v):
        raise InvalidParameterError(f"{what}: {text!r} is not a finite number")
    return v


def cmd_classifier(args: argparse.Namespace) -> int:
    from unicr.certificate import parse_norm
    from unicr.optimize.copt import CoptPlan, run_copt

    grid = parse_grid(args.grid)
    sigmas = [_number(s, "--sigmas") for s in args.sigmas]
    norms = [parse_norm(p) for p in args.norms]
    plan = CoptPlan(family=args.family, grid=grid, sigmas=sigmas, arch=args.arch,
                    epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                    val_size=args.val_size, max_train=args.max_train, test_max=args.test_max,
                    n0=args.n0, n=args.n, alpha=args.alpha, norms=norms, seed=args.seed,
                    batch=args.batch)
    plan = plan.checked(_dimension(args.arch))
    out = check_output(args.out, "--out", kind="dir")
    plot = check_figure(args.plot, "--plot")
    assert out is not None

    from unicr.smoothing.allocator import cache_allocator

    cache_allocator()  # this command owns its process: reuse large buffers
    from unicr.data import load_dataset

    train_data = load_dataset(args.data, "train", args.data_dir)
    test_data = load_dataset(args.data, "test", args.data_dir)
    pool = len(train_data) if plan.max_train is None else min(plan.max_train, len(train_data))
    if plan.val_size >= pool:
        raise InvalidParameterError(
            f"--val-size {plan.val_size} must be smaller than the training pool ({pool} "
            "images): some images must remain for training")
    result = run_copt(plan, out, train_data, test_data, device=args.device or "cpu",
                      progress=args.progress, report=lambda msg: print(msg, flush=True))
    _print_summary(result.summary)
    tot = result.timing["totals"]
    book = result.timing["radius_book_last_invocation"]
    print(f"time (timing.json): training {tot['train_seconds']:.1f} s, noise sampling and "
          f"forward passes {tot['sampling_forward_seconds']:.1f} s, radii "
          f"{tot['radius_seconds']:.2f} s (this invocation: {book['builds']} table build(s), "
          f"{book['loads']} load(s), {book['lookups']} lookup(s))")
    if plot is not None:
        from unicr.optimize.copt_plots import plot_copt

        plot_copt(result.summary, plot)
        print(f"figure: {plot}")
    return 0


def _dimension(arch: str) -> int:
    from unicr.models.archs import ARCHS

    spec = ARCHS.get(arch)
    return math.prod(spec.input_shape) if spec is not None else 784


def _print_summary(summary: dict[str, Any]) -> None:
    """Winners per norm and the test split's certificate of each winner classifier."""
    for nl, w in summary["winners"].items():
        shape = ", ".join(f"{k}={v:g}" for k, v in w["shape"]["params"].items())
        cls = w["classifier"]
        cshape = ", ".join(f"{k}={v:g}" for k, v in cls["params"].items())
        t = summary["test"][nl]
        print(f"l{nl}: winner shape {shape} (validation R_score {w['shape']['r_score']:.4f}); "
              f"winner classifier {cshape}, sigma={cls['sigma']:g} (validation ACR "
              f"{cls['validation_acr']:.4f}) -> test ACR {t['acr']:.4f}, certified accuracy "
              f"at 0 {t['certified_accuracy']['0.0']:.4f} on {t['images']} test images")
