"""The ``assumptions`` text of a Monte Carlo certificate, written from the run's record.

:func:`explain_mc` turns the :class:`~unicr.engines.montecarlo.MCRun` of
:func:`unicr.engines.montecarlo.run_mc` (what was searched, verified and with which bands) and
the :class:`~unicr.engines.montecarlo.MCBounds` taken from it into the lines a reader of the
certificate needs to check it: the test and its arithmetic (Hong et al. 2022, Theorems 1 and
3), the confidence and its union bound (Dvoretzky-Kiefer-Wolfowitz with Massart's constant),
where each bound comes from, and how the directions and scales were searched.  It computes
nothing the pipeline has not recorded, apart from UniCR's own confidence statement
(App. B.4) reported for comparison.
"""

from __future__ import annotations

import math

import numpy as np

from unicr.certificate import norm_label
from unicr.engines.mc_records import MCBounds, MCRun
from unicr.neyman_pearson.sampled import unicr_confidence

__all__ = ["explain_mc"]


def _test_lines(record: MCRun) -> list[str]:
    """The test, its form and arithmetic, and the torch fallback if there was one."""
    options = record.options
    form = "binary (Theorem 3, pB = 1 - pA)" if record.binary else "two-sided (Theorem 1)"
    if record.on_torch:
        arith = (f"torch backend on {options.device}: draws from torch generators on the "
                 f"device, log densities in {options.dtype.name}, sums over coordinates in "
                 "float64")
    else:
        arith = f"float64 arithmetic, draws stored as {options.dtype.name}"
    lines = [
        f"Monte Carlo Neyman-Pearson test of Hong et al. 2022, {form}; losses summed in log "
        f"space ({arith}); rounding bounded and applied on the conservative side"
    ]
    if options.backend == "torch" and record.torch_fallback:
        lines.append(f"torch backend not used for the coordinate-wise draws: "
                     f"{record.torch_fallback}; numpy/numba banks on the CPU instead")
    return lines


def _confidence_lines(record: MCRun) -> list[str]:
    """Sound mode: the union bound behind ``confidence``, and UniCR's statement beside it."""
    options = record.options
    n_events = 2 * options.candidates * (2 if record.spherical else 1)
    return [
        f"confidence {1.0 - options.alpha_np:.6g}: union bound over {n_events} one-sided DKW "
        f"events (Massart), alpha_np = {options.alpha_np:g}, on a fresh verification sample "
        f"of n_mc = {options.n_mc} draws; scales chosen on an independent search sample of "
        f"{record.n_search} draws (seed {options.seed})",
        f"for comparison, UniCR's App. B.4 statement: (1-alpha0)^2 (1-2e^(-2 n D^2))^4 = "
        f"(1-alpha0)^2 x {unicr_confidence(options.n_mc, record.band0):.6f} with "
        f"n = {options.n_mc}, D = {record.band0:.4g} (not a certificate: point quantiles are "
        "never shifted by D)",
        "combine with the classifier's alpha: total 1 - alpha_classifier - alpha_np (union "
        "bound)",
    ]


def _upper_lines(record: MCRun, bounds: MCBounds) -> list[str]:
    """Sound mode: where ``upper`` comes from (a verified witness) or why it is infinite."""
    run = record.chosen
    if run.verified_fail is not None:
        return [f"upper: perturbation verified to fail at l_{norm_label(record.p)} norm "
                f"{bounds.upper:.6g} (witness; ladder candidate {run.fail_index})"]
    if not record.fail_possible:
        return ["upper = inf: a failure cannot be proven with this sample size -- the DKW "
                f"band D = {record.unprovable_band:.4g} is not below "
                + ("1 - pA" if record.binary else "min(1 - pA, pB)") + "; increase n_mc"]
    return ["upper = inf: no failing perturbation was verified on the fresh sample"]


def _lower_lines(record: MCRun) -> list[str]:
    """Sound mode: where ``lower`` comes from (rotation invariance) or why it is 0."""
    run, label = record.chosen, norm_label(record.p)
    if not record.spherical:
        return ["lower = 0: no reduction theorem applies to this noise and norm in the Monte "
                "Carlo engine (searched directions only give upper bounds, "
                "docs/soundness-notes.md#s11)"
                + ("; use method='exact' for product noise" if record.product else "")]
    if run.verified_pass is not None:
        lines = [
            f"lower: pass verified on the fresh sample (ladder candidate {run.pass_index}); "
            "rotation invariance -- the noise is spherically symmetric, so every l2 direction "
            "is equivalent and a pass verified along e_1 at l2 norm r covers every "
            "perturbation of l2 norm r (pass/fail monotone along rays, as in Yang et al. "
            f"2020's level-set method); l_{label} radius = l2 radius x min ||delta||_{label} "
            f"/ ||delta||_2 = {record.lp_factor:.6g}"
        ]
    else:
        lines = ["lower = 0: no pass was verified on the fresh sample"]
    if record.options.directions != "structured":
        lines.append("direction search skipped: rotation invariance makes every l2 direction "
                     "equivalent")
    return lines


def explain_mc(record: MCRun, bounds: MCBounds) -> tuple[str, ...]:
    """The certificate's ``assumptions``, one statement per line, in a fixed order: the
    test, the confidence (sound mode) or the estimate's lack of one, each bound's source,
    the search samples, directions and scale tolerance, and the caveats (float32, no
    estimate)."""
    options = record.options
    sound = options.mode == "sound"
    lines = _test_lines(record)
    if sound:
        lines += _confidence_lines(record)
        lines += _upper_lines(record, bounds)
        lines += _lower_lines(record)
        if bounds.lower_withheld:
            lines.append("verified pass above verified failure (inconsistent sample "
                         "statements): lower withheld")
    else:
        lines.append("estimate: UniCR's point estimate (plug-in quantiles t_A, t_B; K > 0), no "
                     "confidence either way; lower = 0 and upper = inf are the only proven "
                     "statements")
    if sound and bounds.estimate == bounds.estimate:  # not NaN
        lines.append(f"estimate: UniCR's point statistic on the search sample "
                     f"({record.n_search} draws)")
    if not record.spherical:
        lines.append(
            f"directions: {options.directions}; best of {len(record.ranked)} ranked "
            f"({record.n_structured} structured, {record.n_pso} from PSO: {options.particles} "
            f"particles x {options.iterations} iterations) on a selection sample; minimum over "
            "searched directions is an upper bound on R* (docs/soundness-notes.md#s11)"
        )
    lines.append(f"scale search: relative tolerance {options.rel_tol:g} in lambda (Algorithm 2 "
                 "bracketed, never |K| thresholds)")
    if options.dtype == np.float32:
        lines.append("draws rounded to float32: the statements refer to the rounded draws "
                     "(relative perturbation 6e-8 of each coordinate)")
    if not math.isfinite(bounds.estimate):
        lines.append("estimate = None: UniCR's plug-in statistic K has no sign change along the "
                     "direction (tied losses, docs/soundness-notes.md#s14)")
    return tuple(lines)
