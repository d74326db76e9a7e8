"""Certification throughput and peak memory (unicr issue 7, "Performance") -> docs/benchmarks.md.

One process, one model, the same n0, n, batch size, sigma and alpha for every method:

* ``raw forward``  -- the physical limit: the Gaussian noise batches are generated *before*
  timing; only ``argmax(model(x + eps))`` and the ``bincount`` are timed, under
  ``torch.inference_mode`` (n0 + n forward passes in batches of ``--batch``);
* ``unicr``        -- ``Smooth.certify(x, n0, n, alpha, norms=(2,), batch_size)``: noise drawn
  on the device from a seeded ``torch.Generator``, counts, Clopper-Pearson, radius;
* ``ART``          -- the peer ``adversarial-robustness-toolbox``:
  ``PyTorchRandomizedSmoothing(model, ..., sample_size=n0, scale=sigma, alpha).certify(x, n,
  batch_size)`` on the same ``nn.Module`` (skipped with a message if ART is not installed).

Throughput = (n0 + n) noisy forward passes / CPU seconds (``time.process_time``) of one whole
call (Cohen et al. 2019's CERTIFY draws n0 selection and n estimation samples; every method
does both); with one thread this is the wall-clock throughput of an idle machine, and it is far
less disturbed by other jobs than the wall clock (also reported).  Repetitions are interleaved
(the order rotates each repetition) and medians are reported.
``torch.set_num_threads(1)`` (and one thread for OpenMP/BLAS) for reproducibility.

Peak memory: each method runs once more in a fresh subprocess (same setup, one small
warm-up call so that imports and lazy initialisation are excluded), and reports

* the increase of the resident set during the call: the kernel's peak-RSS counter (VmHWM) is
  reset through ``/proc/self/clear_refs`` just before the call and compared with the RSS at
  that moment (fallback off Linux: the ``resource.getrusage`` max-RSS delta);
* the ``tracemalloc`` peak (host memory allocated through Python, which includes numpy
  arrays but not torch's CPU tensors).

For the raw forward the pre-made noise is part of the setup and not counted.  Usage::

    python benchmarks/bench_smoothing.py              # cnn, cifar_resnet20, mlp; prints only
    python benchmarks/bench_smoothing.py --write      # and updates docs/benchmarks.md
    python benchmarks/bench_smoothing.py --archs cnn --reps 3
    python benchmarks/bench_smoothing.py --no-art     # unicr vs raw only
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from _doc import add_write_argument, write_section  # noqa: E402

import unicr  # noqa: E402
from unicr.models import build_model  # noqa: E402
from unicr.smoothing import Smooth  # noqa: E402
from unicr.smoothing.allocator import cache_allocator  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
METHODS = ("raw", "noise", "unicr", "art")
LABELS = {"raw": "raw forward (pre-made noise)", "noise": "noise draws only (no model)",
          "unicr": "unicr `Smooth.certify`",
          "art": "ART `PyTorchRandomizedSmoothing.certify`"}
#: default estimation sample size per architecture: a few seconds per call on one core
DEFAULT_N = {"cnn": 10_000, "cifar_resnet20": 1_000, "mlp": 100_000}

try:  # the peer is optional: never a dependency of unicr
    import art as _art  # noqa: E402
    from art.estimators.certification.randomized_smoothing import (  # noqa: E402
        PyTorchRandomizedSmoothing,
    )

    ART_VERSION: str | None = str(_art.__version__)
    ART_ERROR = ""
except Exception as exc:  # ImportError, or a broken install of one of its dependencies
    PyTorchRandomizedSmoothing = None
    ART_VERSION = None
    ART_ERROR = f"{type(exc).__name__}: {exc}"


# ---------------------------------------------------------------------------
# the methods, each as  Setup.<method>() -> run(rep) -> (prediction, l2 radius)
# ---------------------------------------------------------------------------


#: the untrained model's last bias is shifted so that one class wins about this often under noise
PA_TARGET = 0.9


def _calibrate(model: torch.nn.Module, x: torch.Tensor, sigma: float, target: float) -> int:
    """Shift the last layer's bias so that f(x + eps) = c for a fraction ``target`` of the noise.

    The weights are random (throughput does not depend on them); the shift makes the
    smoothed classifier certify x with pA around ``target`` instead of abstaining, so the
    radii of unicr and ART can be compared (both are sigma * Phi^-1(pA_lower) for Gaussian
    noise, Cohen et al. 2019, Theorem 1).  Returns the favoured class.
    """
    last = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    g = torch.Generator().manual_seed(3)
    with torch.inference_mode():
        logits = model(x + sigma * torch.randn((1000, *x.shape), generator=g))
    c = int(torch.bincount(logits.argmax(1), minlength=logits.shape[1]).argmax())
    others = logits.clone()
    others[:, c] = -float("inf")
    margin = others.max(1).values - logits[:, c]  # c wins iff bias shift > margin
    with torch.no_grad():
        last.bias[c] += float(torch.quantile(margin, target))
    return c


def _batches(num: int, batch: int) -> list[int]:
    return [min(batch, num - i) for i in range(0, num, batch)]


class Setup:
    """Model, input and settings shared by every method (fixed seeds)."""

    def __init__(self, arch: str, n0: int, n: int, batch: int, sigma: float, alpha: float):
        self.arch, self.n0, self.n, self.batch = arch, n0, n, batch
        self.sigma, self.alpha = sigma, alpha
        torch.manual_seed(0)
        self.model = build_model(arch).eval()
        self.shape = tuple(self.model.input_shape)
        self.k = int(self.model.num_classes)
        self.x = torch.rand(self.shape, generator=torch.Generator().manual_seed(1))
        self.target_class = _calibrate(self.model, self.x, sigma, PA_TARGET)

    def raw(self) -> Callable[[int], tuple[int, float]]:
        """Forward passes on noise generated here, before any timing (the physical limit)."""
        g = torch.Generator().manual_seed(2)
        plan = _batches(self.n0, self.batch) + _batches(self.n, self.batch)
        noise = [torch.randn((b, *self.shape), generator=g).mul_(self.sigma) for b in plan]
        model, x, k = self.model, self.x.unsqueeze(0), self.k

        def run(rep: int) -> tuple[int, float]:
            counts = torch.zeros(k, dtype=torch.int64)
            with torch.inference_mode():
                for eps in noise:
                    counts += torch.bincount(model(x + eps).argmax(1), minlength=k)
            return int(counts.argmax()), float("nan")

        return run

    def noise(self) -> Callable[[int], tuple[int, float]]:
        """unicr's noise draws alone (``NoiseSampler.draw`` of every batch, no model): the work
        a certifier adds to the raw forward pass."""
        sampler = Smooth(self.model, unicr.noise("gaussian", sigma=self.sigma)).sampler
        plan = _batches(self.n0, self.batch) + _batches(self.n, self.batch)

        def run(rep: int) -> tuple[int, float]:
            g = torch.Generator().manual_seed(rep)
            with torch.inference_mode():
                for b in plan:
                    sampler.draw(b, g)
            return -1, float("nan")

        return run

    def unicr(self) -> Callable[[int], tuple[int, float]]:
        smooth = self.smooth = Smooth(self.model, unicr.noise("gaussian", sigma=self.sigma))

        def run(rep: int) -> tuple[int, float]:
            cert = smooth.certify(self.x, self.n0, self.n, self.alpha, norms=(2,),
                                  batch_size=self.batch, seed=rep)
            return int(cert.prediction), (float(cert.radius(2)) if not cert.abstain else 0.0)

        return run

    def art(self) -> Callable[[int], tuple[int, float]]:
        if PyTorchRandomizedSmoothing is None:
            raise RuntimeError(f"adversarial-robustness-toolbox is not importable ({ART_ERROR})")
        clf = PyTorchRandomizedSmoothing(
            model=self.model, loss=torch.nn.CrossEntropyLoss(), input_shape=self.shape,
            nb_classes=self.k, device_type="cpu", sample_size=self.n0, scale=self.sigma,
            alpha=self.alpha)
        x = self.x.numpy()[None].astype(np.float32)

        def run(rep: int) -> tuple[int, float]:
            np.random.seed(rep)  # ART draws its noise from numpy's global generator
            pred, rad = clf.certify(x, n=self.n, batch_size=self.batch)
            return int(pred[0]), float(rad[0])

        return run

    def small(self) -> Setup:
        """The same setup with tiny n0, n (warm-up before a memory measurement)."""
        s = Setup.__new__(Setup)
        s.__dict__.update(self.__dict__)
        s.n0, s.n = 10, 20
        return s


# ---------------------------------------------------------------------------
# memory (fresh subprocess per method)
# ---------------------------------------------------------------------------


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) of this process (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def measure_memory(setup: Setup, method: str) -> dict[str, Any]:
    """Peak RSS increase and tracemalloc peak of one full call of ``method`` (in this process)."""
    small = setup.small()
    getattr(small, method)()(0)  # imports and lazy initialisation
    if method == "unicr":  # the radius engine's imports (the small call may abstain)
        small.smooth.ceiling(setup.n, setup.alpha, (2,))
    run = getattr(setup, method)()
    gc.collect()
    tracemalloc.start()
    reset = _reset_peak_rss()
    rss0 = _status_kb("VmRSS")
    maxrss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    run(0)
    peak_tm = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    hwm = _status_kb("VmHWM")
    if reset and rss0 is not None and hwm is not None:
        rss_mb, how = (hwm - rss0) / 1024, "VmHWM - VmRSS"
    else:
        rss_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - maxrss0) / 1024
        how = "getrusage max RSS delta"
    return {"rss_mb": rss_mb, "tracemalloc_mb": peak_tm / 2**20, "how": how}


def memory_subprocess(args: argparse.Namespace, arch: str, n: int, method: str) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_memory", method, "--archs", arch,
           "--n", str(n), "--n0", str(args.n0), "--batch", str(args.batch),
           "--sigma", str(args.sigma), "--alpha", str(args.alpha)]
    # a fixed glibc mmap threshold: every large buffer is mapped and unmapped with its lifetime,
    # so the peak RSS is the peak of live memory (glibc's default adapts the threshold and
    # caches freed buffers, which moves the peak of the same call by +-50 MB run to run)
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072")
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or ["?"])[-1]
        return {"rss_mb": float("nan"), "tracemalloc_mb": float("nan"), "how": f"failed: {tail}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------
# the C allocator
# ---------------------------------------------------------------------------

ALLOCATORS = ("default", "cached")
MALLOC_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")
ALLOC_TITLES = {
    "cached": "### Main table: malloc cache (`mallopt(M_MMAP_THRESHOLD, 1 GiB)`, "
              "`mallopt(M_TRIM_THRESHOLD, 2 GiB)`: freed activations stay in the heap, no page "
              "faults; the methods' own work)",
    "default": "### glibc's default malloc (what a plain `python` process gets: page faults "
               "dominate and vary with the allocation history; timed first, in the same process)",
}


# ---------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------


def time_methods(setup: Setup, methods: list[str], reps: int) -> dict[str, dict[str, Any]]:
    """Interleaved repetitions (rotating order) after one untimed full-size warm-up each.

    Both the wall-clock time and the CPU time of the process (``time.process_time``) are
    recorded; with one thread the CPU time is what the call costs, and is much less
    sensitive than the wall clock to other jobs on a shared machine.
    """
    runs = {m: getattr(setup, m)() for m in methods}
    for m in methods:
        runs[m](10_000)
    wall: dict[str, list[float]] = {m: [] for m in methods}
    cpu: dict[str, list[float]] = {m: [] for m in methods}
    faults: dict[str, list[int]] = {m: [] for m in methods}
    results: dict[str, list[tuple[int, float]]] = {m: [] for m in methods}
    for rep in range(reps):
        order = methods[rep % len(methods):] + methods[:rep % len(methods)]
        for m in order:
            gc.collect()
            f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            c0, t0 = time.process_time(), time.perf_counter()
            res = runs[m](rep)
            t1, c1 = time.perf_counter(), time.process_time()
            faults[m].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
            wall[m].append(t1 - t0)
            cpu[m].append(c1 - c0)
            results[m].append(res)
    total = setup.n0 + setup.n
    out = {}
    for m in methods:
        out[m] = {"rate_cpu": total / statistics.median(cpu[m]),
                  "rate_cpu_lo": total / max(cpu[m]), "rate_cpu_hi": total / min(cpu[m]),
                  "rate_wall": total / statistics.median(wall[m]),
                  "cpu_s": cpu[m], "wall_s": wall[m], "page_faults": faults[m],
                  "faults_per_1000": 1000 * statistics.median(faults[m]) / total,
                  "predictions": sorted({p for p, _ in results[m]}),
                  "radius_l2": statistics.median(r for _, r in results[m])}
    return out


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------


def _fmt(v: float) -> str:
    if v != v:  # NaN
        return "-"
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"


HEADER = ("| model (n0, n) | method | forward passes / CPU-s (median) | min-max | wall-clock "
          "passes/s | page faults / 1000 passes | vs raw forward | vs ART | peak RSS increase (MB) "
          "| tracemalloc peak (MB) "
          "| memory vs ART | prediction, l2 radius |")


def table_rows(label: str, res: dict[str, dict[str, Any]],
               mem: dict[str, dict[str, Any]]) -> list[str]:
    """One markdown row per method (ratios on the CPU-time throughput and on the peak RSS)."""
    rows = []
    raw, art = res.get("raw"), res.get("art")
    art_mem = mem.get("art", {}).get("rss_mb", float("nan"))
    nan = float("nan")
    for i, (m, r) in enumerate(res.items()):
        mm = mem.get(m, {"rss_mb": nan, "tracemalloc_mb": nan})
        ratios = m != "noise"  # the noise draws alone are a component, not a certifier
        vs_raw = f"{100 * r['rate_cpu'] / raw['rate_cpu']:.1f}%" if raw and ratios else "-"
        vs_art = f"{r['rate_cpu'] / art['rate_cpu']:.2f}x" if art and ratios else "-"
        mem_art = (f"{100 * mm['rss_mb'] / art_mem:.0f}%"
                   if art and ratios and art_mem == art_mem and art_mem > 0 else "-")
        preds = ",".join(str(p) for p in r["predictions"])
        cert = "-" if m in ("raw", "noise") else f"{preds}, {r['radius_l2']:.4f}"
        rows.append(f"| {label if i == 0 else ''} | {LABELS[m]} | {_fmt(r['rate_cpu'])} "
                    f"| {_fmt(r['rate_cpu_lo'])}-{_fmt(r['rate_cpu_hi'])} | {_fmt(r['rate_wall'])} "
                    f"| {_fmt(r['faults_per_1000'])} "
                    f"| {vs_raw} | {vs_art} | {_fmt(mm['rss_mb'])} | {_fmt(mm['tracemalloc_mb'])} "
                    f"| {mem_art} | {cert} |")
    return rows


def summary(arch: str, res: dict[str, dict[str, Any]], mem: dict[str, dict[str, Any]]) -> str:
    """One sentence per model: the targets, met or not, from the measured numbers."""
    u, raw, art = res["unicr"], res["raw"], res.get("art")
    frac = u["rate_cpu"] / raw["rate_cpu"]
    text = (f"**{arch}**: unicr runs at {100 * frac:.1f}% of the raw-forward throughput "
            f"(target >= 90%: {'met' if frac >= 0.9 else 'not met'}")
    if "noise" in res:  # forward + noise draws: what any certifier has to do
        both = 1.0 / (1.0 / raw["rate_cpu"] + 1.0 / res["noise"]["rate_cpu"])
        text += (f"; drawing the noise alone costs {100 * raw['rate_cpu'] / res['noise']['rate_cpu']:.1f}% "
                 f"of the forward time, and unicr runs at {100 * u['rate_cpu'] / both:.1f}% of "
                 "forward + noise")
    text += ")"
    if art:
        speed = u["rate_cpu"] / art["rate_cpu"]
        um, am = mem.get("unicr", {}).get("rss_mb"), mem.get("art", {}).get("rss_mb")
        text += f"; {speed:.2f}x ART's throughput ({'faster' if speed > 1 else 'not faster'})"
        if um is not None and am is not None and am == am and am > 0:
            text += f" with {100 * um / am:.0f}% of its peak memory"
    return text + "."


METHOD_NOTES = """\
What is timed (one whole call each, n0 + n noisy forward passes, the same `nn.Module` for all):

* **raw forward**: the physical limit. The Gaussian noise batches are generated before timing;
  only `argmax(model(x + eps))` and `bincount` are timed, under `torch.inference_mode`.
* **noise draws only**: unicr's `NoiseSampler.draw` for the same batches, without the model:
  the work that any certifier adds to the raw forward pass (not a certifier; no ratios).
* **unicr**: `Smooth(model, unicr.noise("gaussian", sigma)).certify(x, n0, n, alpha,
  norms=(2,), batch_size, seed=rep)`: noise drawn from a seeded `torch.Generator` batch by
  batch, finiteness check, counts, Clopper-Pearson bound and radius.
* **ART**: `PyTorchRandomizedSmoothing(model, loss, input_shape, nb_classes, device_type="cpu",
  sample_size=n0, scale=sigma, alpha).certify(x[None], n, batch_size)` (numpy's global
  generator seeded per repetition).

Throughput is n0 + n divided by the CPU time of the call (`time.process_time`; one thread, so
on an idle machine it equals the wall-clock time); the wall-clock column is given for
reference and is inflated by the other jobs on this shared machine. Ratios use the CPU-time
medians. Memory: each method runs once more in a fresh subprocess after a small warm-up call
(imports and lazy initialisation excluded); *peak RSS increase* is the kernel's peak resident
set (VmHWM, reset through `/proc/self/clear_refs` just before the call) minus the resident set
at that moment, i.e. everything the call needs on top of the loaded model (the subprocess runs
with `MALLOC_MMAP_THRESHOLD_=131072`, so that glibc maps and unmaps every large buffer with its
lifetime and the peak RSS is the peak of live memory; with glibc's adaptive default the same
call's peak moves by +-50 MB from run to run); *tracemalloc peak*
is the host memory allocated through Python (numpy arrays included, torch tensors not). The
raw forward's pre-made noise is setup and not counted. The models have random weights (speed
does not depend on them) with the last bias shifted so that one class wins about 90% of the
time under noise: both certifiers then return a class and an l2 radius (last column, median
over repetitions), which agree up to the sampling error of pA.

Reading the numbers:

* **Two allocator settings.** torch takes every activation from `malloc`. With glibc's
  defaults the activations of a batch of 1000 (tens of MB for the CNN and ResNet-20, above
  glibc's adaptive mmap threshold of at most 32 MiB) are mapped afresh for every batch and
  unmapped when freed, so the kernel zeroes them again each time (the page-fault column): that
  system time is up to half of the CPU time of the forward pass, and how many faults a call
  takes depends on the allocation history of the process (each method's own allocations
  included: ART's pattern often faults less), so the ranking of the methods under the default
  allocator changes from run to run. The main table keeps freed buffers in the heap (`mallopt`, called
  by the script after the default-allocator rows; `MALLOC_MMAP_THRESHOLD_=1073741824
  MALLOC_TRIM_THRESHOLD_=2147483647` in the environment does the same for any run, `unicr
  certify` included; so do batches whose activations stay under 32 MiB, at some cost in
  matrix-multiply efficiency): no page faults, so it compares the methods' own work, and its
  speed-up over the default table applies to every certification run on CPU.
* **Cheap models.** The raw forward on pre-made noise leaves out drawing the noise, which no
  certifier can skip. For the CNN and ResNet-20 drawing d Gaussian numbers per sample costs a
  few percent of the forward pass; for the MLP it costs about a third of it, so no certifier
  can reach 90% of the raw forward there: the fair limit is forward + noise, and the summary
  line gives unicr's throughput against that too.
* **Memory.** All methods share the activations of one batch of the model (the raw forward's
  peak). unicr adds one noise batch on top; ART materialises all n noisy copies of the input on
  the host (at its peak x repeated n times in float32, an n x d float64 noise array and its
  float32 cast: 16 bytes x n x d, the tracemalloc column), so its memory grows linearly with n:
  1.2 GB at Cohen et al.'s n = 100,000 for a 28x28 image, 4.9 GB for a CIFAR-10 image. The
  memory ratio therefore depends on n: ResNet-20 runs with a small n (to keep each call to a
  few seconds) and its ratio is dominated by the shared activations; the MLP runs at n =
  100,000.
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--archs", nargs="+", default=["cnn", "cifar_resnet20", "mlp"])
    ap.add_argument("--n", type=int, default=None,
                    help="estimation samples (default per arch: " + ", ".join(
                        f"{a} {v}" for a, v in DEFAULT_N.items()) + ")")
    ap.add_argument("--n0", type=int, default=100)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--sigma", type=float, default=0.5)
    ap.add_argument("--alpha", type=float, default=0.001)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--allocator", nargs="+", choices=ALLOCATORS, default=list(ALLOCATORS),
                    help="time with glibc's default malloc, with the malloc cache, or both "
                         "(default: both; the default rows are always timed first)")
    ap.add_argument("--no-art", action="store_true", help="skip the ART column")
    ap.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    add_write_argument(ap)
    ap.add_argument("--_memory", choices=METHODS, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)

    if args._memory:  # worker: one method, one arch, print JSON
        arch = args.archs[0]
        setup = Setup(arch, args.n0, args.n or DEFAULT_N.get(arch, 2000), args.batch,
                      args.sigma, args.alpha)
        print(json.dumps(measure_memory(setup, args._memory)))
        return 0

    methods = ["raw", "noise", "unicr"]
    art_note = ""
    if args.no_art:
        art_note = "ART column skipped (`--no-art`)."
    elif PyTorchRandomizedSmoothing is None:
        art_note = (f"ART column skipped: adversarial-robustness-toolbox is not importable "
                    f"({ART_ERROR}); `pip install adversarial-robustness-toolbox statsmodels` "
                    "to compare.")
    else:
        methods.append("art")
    if art_note:
        print(art_note, flush=True)

    allocators = [a for a in ALLOCATORS if a in args.allocator]  # "default" must come first
    if "default" in allocators and any(v in os.environ for v in MALLOC_ENV):
        print("note: MALLOC_* tuning variables are set in the environment; the 'default' "
              "allocator rows are not glibc's defaults", flush=True)
    load0 = os.getloadavg()
    tables: dict[str, list[str]] = {}
    sentences: dict[str, list[str]] = {}
    mems: dict[str, dict[str, dict[str, Any]]] = {}
    for alloc in allocators:
        if alloc == "cached" and not cache_allocator():
            print("allocator cache unavailable (not glibc): 'cached' rows skipped", flush=True)
            continue
        rows = [HEADER, "|" + "---|" * HEADER.count(" | ") + "---|"]
        sentences[alloc] = []
        for arch in args.archs:
            n = args.n or DEFAULT_N.get(arch, 2000)
            setup = Setup(arch, args.n0, n, args.batch, args.sigma, args.alpha)
            print(f"[{arch}, {alloc} malloc] n0={args.n0} n={n} batch={args.batch} "
                  f"sigma={args.sigma} reps={args.reps} methods={methods}", flush=True)
            la0 = os.getloadavg()[0]
            res = time_methods(setup, methods, args.reps)
            la1 = os.getloadavg()[0]
            del setup
            gc.collect()
            if arch not in mems:
                mems[arch] = ({m: memory_subprocess(args, arch, n, m) for m in methods}
                              if not args.no_memory else {})
            mem = mems[arch]
            new = table_rows(f"{arch} ({args.n0}, {n:,})", res, mem)
            rows += new
            sentences[alloc].append(summary(arch, res, mem)[:-1]
                                    + f" (1-minute load average {la0:.1f} -> {la1:.1f}).")
            print("\n".join(new), flush=True)
            print(json.dumps({"arch": arch, "allocator": alloc, "n": n, "timing": res,
                              "memory": mem}, default=float), flush=True)
        tables[alloc] = rows
    load1 = os.getloadavg()

    cmd = "python benchmarks/bench_smoothing.py" + "".join(
        " " + a for a in (argv if argv is not None else sys.argv[1:]))
    setting = (f"Gaussian noise sigma = {args.sigma}, alpha = {args.alpha}, n0 = {args.n0}, "
               f"batch size {args.batch}, {args.reps} interleaved repetitions (medians), "
               f"`torch.set_num_threads(1)` (one thread for reproducibility on a shared machine); "
               f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
               f"torch {torch.__version__}, numpy {np.__version__}, "
               f"ART {ART_VERSION or 'not installed'}. 1-minute load average "
               f"{load0[0]:.1f} at the start and {load1[0]:.1f} at the end (above the core count "
               f"the wall clock is inflated; the CPU-time throughput much less so).")
    parts = [
        "## Smoothed classifiers: certification throughput and memory (`Smooth.certify`)",
        "",
        "Reproduce (the peer is optional and not a dependency of unicr; without it the ART "
        "column is skipped with a message; its `certify` imports statsmodels, which it does not "
        "declare):",
        "",
        "```",
        "pip install adversarial-robustness-toolbox statsmodels",
        cmd,
        "```",
        "",
        setting + (" " + art_note if art_note else ""),
        "",
    ]
    for alloc in sorted(tables, key=list(ALLOC_TITLES).index):  # main table first
        parts += [ALLOC_TITLES[alloc], "", *tables[alloc], "",
                  *(f"* {t}" for t in sentences[alloc]), ""]
    doc = "\n".join(parts + [
        METHOD_NOTES,
    ])
    print(setting)
    for alloc in tables:
        print(alloc + ":\n" + "\n".join(sentences[alloc]))
    if args.write:
        write_section(DOC, "smoothing", doc)
        print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
