"""``unicr train``: train a base classifier with noise augmentation (checkpoints + resume).

Python equivalent: :func:`unicr.train.train`.
"""

from __future__ import annotations

import argparse

from unicr.cli.common import (
    add_noise_arguments,
    check_output,
    noise_from_args,
    nonnegative_float,
    nonnegative_int,
    positive_float,
    positive_int,
)

#: argparse destinations of the method options (names of the method dataclass fields)
METHOD_OPTIONS = ("beta", "sigma_n", "sigma_u", "terms", "k", "lam", "variant", "steps", "epsilon",
                  "step_size")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train a base classifier with any noise as data augmentation",
        description="Train an architecture on x + noise (Cohen et al. 2019's Gaussian "
                    "augmentation, for any registry noise). A checkpoint is written after every "
                    "epoch; rerunning the same command resumes after the last finished epoch.")
    p.add_argument("--data", required=True, choices=("fashion-mnist", "cifar10"), help="data set")
    p.add_argument("--data-dir", default=None, metavar="DIR", help="data folder")
    p.add_argument("--arch", required=True,
                   help="architecture: mlp, cnn (28x28), cifar_resnet20, cifar_resnet110, resnet50")
    p.add_argument("--noise", required=True, metavar="NOISE",
                   help="training noise: catalogue name, .toml spec, or 'none' for clean training")
    add_noise_arguments(p, positional=False)
    p.add_argument("--epochs", type=positive_int, required=True, help="total number of epochs")
    p.add_argument("--out", required=True, metavar="CKPT", help="checkpoint file (resumable)")
    p.add_argument("--batch", type=positive_int, default=128, help="batch size (default 128)")
    p.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    p.add_argument("--lr", type=positive_float, default=1e-3, help="learning rate (default 1e-3)")
    p.add_argument("--momentum", type=nonnegative_float, default=0.9, help="SGD momentum")
    p.add_argument("--weight-decay", type=nonnegative_float, default=0.0,
                   help="L2 penalty of the optimizer (default 0)")
    p.add_argument("--lr-step", type=nonnegative_int, default=0,
                   help="multiply the learning rate by --lr-gamma every LR_STEP epochs (0: never)")
    p.add_argument("--lr-gamma", type=positive_float, default=0.1,
                   help="learning-rate factor of --lr-step (default 0.1)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="random seed")
    p.add_argument("--device", default=None, help="cpu, cuda ... (default cpu)")
    p.add_argument("--max-train", type=positive_int, default=None,
                   help="use only the first N training images")
    p.add_argument("--eval-max", type=nonnegative_int, default=2000,
                   help="clean accuracy on the first N test images after each epoch (0: skip)")
    m = p.add_argument_group(
        "training method (the options of the other methods are refused)",
        "noise: plain augmentation (Cohen et al. 2019; default). nandi-rs: Nandi et al. 2023, "
        "Eqs. 2-3, CE on x + NU plus beta * (KL to the Gaussian- and Uniform-noise predictions); "
        "use --noise normal_uniform. adre-reg: Feng et al. 2020, Eqs. 5-8. adre-adv: Feng et al. "
        "2020, Eqs. 12-13 (l2 PGD on the soft smoothed classifier, then the ADRE loss).")
    m.add_argument("--method", default="noise", metavar="METHOD",
                   help="noise (default), nandi-rs, adre-reg or adre-adv")
    m.add_argument("--beta", type=float, default=None,
                   help="nandi-rs: weight of R_S (default 2)")
    m.add_argument("--sigma-n", type=float, default=None,
                   help="nandi-rs: std of the Gaussian reference noise (default: the Gaussian "
                        "part of a normal_uniform --noise)")
    m.add_argument("--sigma-u", type=float, default=None,
                   help="nandi-rs: std of the Uniform reference noise (default: the Uniform part)")
    m.add_argument("--rs-terms", dest="terms", choices=("both", "gaussian", "uniform"),
                   default=None, help="nandi-rs: KL terms of R_S (default both, Eq. 2)")
    m.add_argument("--k", type=int, default=None,
                   help="adre-*: noise draws per example (default 8)")
    m.add_argument("--lambda", dest="lam", type=float, default=None,
                   help="adre-*: weight of the runner-up term (default 0.1)")
    m.add_argument("--variant", choices=("full", "single"), default=None,
                   help="adre-*: CE over all k draws (full, Eq. 7) or one draw (single, their "
                        "Table 1)")
    m.add_argument("--steps", type=int, default=None, help="adre-adv: PGD steps M (default 2)")
    m.add_argument("--epsilon", type=float, default=None,
                   help="adre-adv: l2 radius of the PGD ball (default 0.25)")
    m.add_argument("--step-size", type=float, default=None,
                   help="adre-adv: PGD step (default 2 epsilon / M)")
    p.add_argument("--no-resume", dest="resume", action="store_false",
                   help="refuse to continue an existing checkpoint")
    p.add_argument("--progress", dest="progress", action="store_true", default=None)
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    from unicr.smoothing.allocator import cache_allocator

    cache_allocator()  # this command owns its process: reuse large buffers (~2x on CPU)

    from unicr.data import load_dataset
    from unicr.errors import InvalidParameterError
    from unicr.models.archs import ARCHS
    from unicr.train import TrainConfig, ensure_known, make_method, train

    ensure_known(args.arch)
    options = {k: getattr(args, k) for k in METHOD_OPTIONS if getattr(args, k) is not None}
    method = make_method(args.method, **options)  # bad input fails before any data is loaded
    out = check_output(args.out, "--out")
    assert out is not None
    if out.exists() and not args.resume:
        raise InvalidParameterError(f"{out} exists and --no-resume was given")
    data = load_dataset(args.data, "train", args.data_dir)
    if args.max_train is not None:
        data = data.subset(range(min(args.max_train, len(data))))
    spec = ARCHS[args.arch]
    d = 1
    for s in spec.input_shape:
        d *= int(s)
    if args.noise.strip().lower() == "none":
        if args.params or args.sigma is not None or args.scale is not None:
            raise InvalidParameterError("--noise none takes no --param/--sigma/--scale")
        if method.needs_noise:
            raise InvalidParameterError(f"--method {method.name} needs a training noise, "
                                        "not --noise none")
        nz = None
    else:
        nz = noise_from_args(args, name=args.noise, d=d)
    eval_data = None
    if args.eval_max > 0:
        test = load_dataset(args.data, "test", args.data_dir)
        eval_data = test.subset(range(min(args.eval_max, len(test))))
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch, optimizer=args.optimizer,
                      lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay,
                      lr_step=args.lr_step, lr_gamma=args.lr_gamma, seed=args.seed)

    def report(rec: dict[str, float]) -> None:
        extra = f", clean acc {rec['clean_acc']:.4f}" if "clean_acc" in rec else ""
        print(f"epoch {int(rec['epoch'])}: loss {rec['loss']:.4f}, noisy train acc "
              f"{rec['train_noisy_acc']:.4f}{extra}", flush=True)

    result = train(args.arch, data, nz, cfg, out, device=args.device or "cpu",
                   resume=args.resume, eval_data=eval_data, progress=args.progress,
                   on_epoch=report, method=method)
    if result.resumed_from >= args.epochs:
        print(f"{out}: already trained for {result.resumed_from} epoch(s); nothing to do")
    else:
        print(f"{out}: {args.arch} trained to epoch {result.epochs_done} "
              f"({result.seconds:.1f} s)" + (f", resumed after epoch {result.resumed_from}"
                                            if result.resumed_from else ""))
    return 0
