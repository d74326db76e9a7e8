"""Training methods: the loss of one training step, selectable by name (``unicr train --method``).

A :class:`TrainMethod` turns a clean batch ``(x, y)`` into the loss of one SGD step; the
trainer (:func:`unicr.train.train`) owns data order, optimiser, checkpoints and resume.
Every method draws its main noise from the trainer's noise stream (seed, epoch, 1) exactly as
plain augmentation does, and any further draws from a second stream (seed, epoch, 2), so the
main draws are the same whatever else a method draws.  The methods:

* ``noise`` (:class:`NoiseAugmentation`): Cohen, Rosenfeld & Kolter 2019, Sec. 3.3 --
  cross-entropy of f(x + eps), one fresh draw per example and step (the default);
* ``nandi-rs`` (:class:`NandiRS`): Nandi, Addepalli, Rangwani & Babu 2023, Eqs. 2-3 --
  CE on Normal-Uniform noise + beta * (KL to the Gaussian-noise and to the Uniform-noise
  predictions);
* ``adre-reg`` (:class:`ADRE`): Feng, Wu, Chen, Zhang & Ning 2020, Eqs. 5-8 -- k draws per
  example, CE minus lambda times the runner-up cross-entropy of the soft smoothed classifier;
* ``adre-adv`` (:class:`ADREAdv`): Feng et al. 2020, Eqs. 12-13 -- the ADRE loss at an l2 PGD
  point of the smoothed soft classifier (SmoothAdv-style, Salman et al. 2019).

With ``beta = 0`` (nandi-rs) or ``lambda = 0`` and one draw in the CE term (adre-reg single
variant, or k = 1) a method *is* plain augmentation: the extra passes are skipped and the
weights after each step are bit for bit those of ``noise``.  The method and its
hyper-parameters enter the checkpoint identity (:meth:`TrainMethod.identity`), so resuming
with other settings is refused.  None of these losses changes what a certificate means: the
certificate is always computed afterwards, for the trained base classifier and the
certification noise.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

import torch
import torch.nn.functional as F  # noqa: N812 - torch's convention
from torch import nn

from unicr.noises.base import Noise
from unicr.smoothing.sampling import NoiseSampler
from unicr.train.errors import TrainError

__all__ = ["TrainMethod", "NoiseAugmentation", "NandiRS", "ADRE", "ADREAdv", "METHODS",
           "make_method", "NoiseDraws", "similarity_regulariser", "adre_terms", "adre_pgd",
           "nu_sigma_u", "NANDI_RATIO"]

#: Nandi et al. 2023 Sec. 5.3's rounded ratio sigma_U / sigma_N = sqrt(3)/2 (kurtosis -54/245)
NANDI_RATIO = math.sqrt(3.0) / 2.0


def nu_sigma_u(sigma_n: float, kurtosis: float = -0.22) -> float:
    """sigma_U of Normal-Uniform noise with the given excess kurtosis (Nandi et al. 2023, Sec. 5.3).

    K = -(6/5) sigma_U^4 / (sigma_N^2 + sigma_U^2)^2 (cumulants add, ALGORITHMS.md 4.1), so with
    s = sqrt(-5K/6): (sigma_U/sigma_N)^2 = s / (1 - s).  K = -0.22 gives sigma_U/sigma_N =
    0.8653; the paper rounds to sqrt(3)/2 = 0.8660 (:data:`NANDI_RATIO`, K = -0.2204).
    """
    if not (math.isfinite(sigma_n) and sigma_n > 0):
        raise TrainError(f"sigma_n must be finite and > 0, got {sigma_n!r}")
    if not (-1.2 < kurtosis <= 0.0):
        raise TrainError(f"the excess kurtosis of Normal-Uniform noise lies in (-1.2, 0], "
                     f"got {kurtosis!r}")
    s = math.sqrt(-5.0 * kurtosis / 6.0)
    return float(sigma_n) * math.sqrt(s / (1.0 - s))


class NoiseDraws:
    """The noise of one step: the main noise from the trainer's stream, extras from another.

    ``main(b)`` is exactly the draw of plain augmentation (generator (seed, epoch, 1));
    ``extra(name, b)`` draws from the method's additional samplers with generator
    (seed, epoch, 2), so the main stream is the same whatever the method draws besides.
    """

    def __init__(self, main: NoiseSampler | None, g_main: torch.Generator,
                 extras: dict[str, NoiseSampler], g_extra: torch.Generator):
        self._main, self._g_main = main, g_main
        self._extras, self._g_extra = extras, g_extra

    @property
    def has_noise(self) -> bool:
        return self._main is not None

    def main(self, batch: int) -> torch.Tensor | None:
        return None if self._main is None else self._main.draw(batch, self._g_main)

    def main_more(self, batch: int) -> torch.Tensor:
        """Further draws of the main noise, from the extra stream (ADRE's draws 2..k)."""
        assert self._main is not None
        return self._main.draw(batch, self._g_extra)

    def extra(self, name: str, batch: int) -> torch.Tensor:
        return self._extras[name].draw(batch, self._g_extra)


@dataclass(frozen=True)
class TrainMethod:
    """Base class: a named loss of one training step with validated hyper-parameters."""

    name: ClassVar[str] = "noise"
    #: whether the method needs a training noise (only plain augmentation trains clean)
    needs_noise: ClassVar[bool] = True

    def validate(self) -> None:
        """Raise :class:`unicr.train.TrainError` naming a bad hyper-parameter."""

    def identity(self) -> dict[str, Any]:
        """What enters the checkpoint identity: the name and every hyper-parameter."""
        return {"name": self.name, **asdict(self)}

    def extra_noises(self, noise: Noise | None) -> dict[str, Noise]:
        """Noises drawn besides the main one (built once per run)."""
        return {}

    def step_loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                  draws: NoiseDraws) -> tuple[torch.Tensor, torch.Tensor]:
        """``(loss, logits of the main noisy batch)`` of one step (logits for the accuracy)."""
        return _plain_loss(model, x, y, draws)


def _plain_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                draws: NoiseDraws) -> tuple[torch.Tensor, torch.Tensor]:
    """Cohen et al. 2019, Sec. 3.3: CE(f(x + eps), y) with one draw per example."""
    eps = draws.main(x.shape[0])
    logits = model(x if eps is None else x + eps)
    return F.cross_entropy(logits, y), logits


@dataclass(frozen=True)
class NoiseAugmentation(TrainMethod):
    """Plain noise augmentation (Cohen, Rosenfeld & Kolter 2019, Sec. 3.3), any registry noise."""

    name: ClassVar[str] = "noise"
    needs_noise: ClassVar[bool] = False


def _check_nonneg(name: str, v: float) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
        raise TrainError(f"{name} must be a finite number >= 0, got {v!r}")


def _check_int(name: str, v: int, low: int) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise TrainError(f"{name} must be an integer >= {low}, got {v!r}")


# -- Nandi et al. 2023 -----------------------------------------------------------------------

def similarity_regulariser(logits_nu: torch.Tensor, logits_n: torch.Tensor | None,
                           logits_u: torch.Tensor | None) -> torch.Tensor:
    """R_S of Nandi et al. 2023, Eq. 2, averaged over the batch.

    R_S = KL(f(x + NU) || f(x + N)) + KL(f(x + NU) || f(x + U)), f = softmax, KL(p || q) =
    sum_c p_c (ln p_c - ln q_c); a term whose logits are ``None`` is left out (their
    "choice of regulariser" ablation).  Gradients flow through both arguments, as in the
    reference implementation.
    """
    log_p = F.log_softmax(logits_nu, dim=1)
    total = logits_nu.new_zeros(())
    for other in (logits_n, logits_u):
        if other is not None:
            log_q = F.log_softmax(other, dim=1)
            total = total + (log_p.exp() * (log_p - log_q)).sum(1).mean()
    return total


@dataclass(frozen=True)
class NandiRS(TrainMethod):
    """Normal-Uniform noise with the similarity regulariser (Nandi et al. 2023, Eqs. 2-3).

    Loss (Eq. 3): CE(f(x + NU), y) + beta * R_S (Eq. 2, :func:`similarity_regulariser`),
    three forward passes per step.  The NU draw is the trainer's main noise (normally
    ``normal_uniform``; any registry noise is accepted); N ~ N(0, sigma_n^2) and U ~
    U(-sqrt3 sigma_u, sqrt3 sigma_u) are fresh independent draws.  ``sigma_n`` / ``sigma_u``
    default to the two parts of a ``normal_uniform`` main noise (scale * its parameters) and
    must be given for any other main noise.  ``terms``: ``both`` (Eq. 2), ``gaussian`` or
    ``uniform`` (one KL term; their ablation).  beta = 0 is plain augmentation, bit for bit.
    """

    name: ClassVar[str] = "nandi-rs"
    beta: float = 2.0
    sigma_n: float | None = None
    sigma_u: float | None = None
    terms: str = "both"

    def validate(self) -> None:
        _check_nonneg("beta", self.beta)
        for nm in ("sigma_n", "sigma_u"):
            v = getattr(self, nm)
            if v is not None:
                _check_nonneg(nm, v)
        if self.terms not in ("both", "gaussian", "uniform"):
            raise TrainError(f"terms must be both, gaussian or uniform, got {self.terms!r}")

    def resolved(self, noise: Noise | None) -> NandiRS:
        """This method with sigma_n and sigma_u filled in from a ``normal_uniform`` noise."""
        if self.sigma_n is not None and self.sigma_u is not None:
            return self
        if noise is None or type(noise).__name__ != "NormalUniform":
            got = "none" if noise is None else noise.name
            raise TrainError(f"nandi-rs: give sigma_n and sigma_u, the stds of the "
                         f"Gaussian and Uniform parts; they default to the parts of a "
                         f"normal_uniform training noise, but the noise is {got}")
        scale = float(noise.scale)
        sn = scale * float(noise.params["sigma_n"]) if self.sigma_n is None else self.sigma_n
        su = scale * float(noise.params["sigma_u"]) if self.sigma_u is None else self.sigma_u
        return NandiRS(beta=self.beta, sigma_n=sn, sigma_u=su, terms=self.terms)

    def extra_noises(self, noise: Noise | None) -> dict[str, Noise]:
        from unicr.noises.registry import build_builtin

        r = self.resolved(noise)
        out: dict[str, Noise] = {}
        if r.terms in ("both", "gaussian"):
            if not r.sigma_n:
                raise TrainError("nandi-rs: the Gaussian term needs sigma_n > 0")
            out["gaussian"] = build_builtin("gaussian", sigma=r.sigma_n)
        if r.terms in ("both", "uniform"):
            if not r.sigma_u:
                raise TrainError("nandi-rs: the Uniform term needs sigma_u > 0")
            out["uniform"] = build_builtin("uniform", sigma=r.sigma_u)
        return out

    def step_loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                  draws: NoiseDraws) -> tuple[torch.Tensor, torch.Tensor]:
        loss, logits = _plain_loss(model, x, y, draws)
        if self.beta == 0:
            return loss, logits
        b = x.shape[0]
        ln = model(x + draws.extra("gaussian", b)) if self.terms != "uniform" else None
        lu = model(x + draws.extra("uniform", b)) if self.terms != "gaussian" else None
        return loss + self.beta * similarity_regulariser(logits, ln, lu), logits


# -- Feng et al. 2020 ------------------------------------------------------------------------

def adre_terms(logits: torch.Tensor, y: torch.Tensor, variant: str = "full"
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-example ``(l_per, P)`` of Feng et al. 2020, Eqs. 6-8, from logits of shape (k, B, C).

    s_ij = softmax(logits[j, i]); l_per_i = (1/k) sum_j -ln s_ij[y_i] (Eq. 7; ``variant =
    "single"``: -ln s_i0[y_i], the one-draw CE of their Table 1 -- draw 0 is as good as a
    uniformly chosen j, the draws being i.i.d.); G_i = (1/k) sum_j s_ij (Eq. 8);
    c'_i = argmax_{c != y_i} G_i[c] (no gradient through the choice); P_i = -ln G_i[c'_i].
    The ADRE_REG loss is mean_i (l_per_i - lambda P_i) (Eq. 6).
    """
    k, b, _ = logits.shape
    logs = F.log_softmax(logits, dim=2)
    nll = -logs.gather(2, y.view(1, b, 1).expand(k, b, 1)).squeeze(2)  # (k, B)
    l_per = nll[0] if variant == "single" else nll.mean(0)
    log_g = _log_g(logits)
    p = -log_g.gather(1, _runner_up(log_g, y).view(b, 1)).squeeze(1)
    return l_per, p


def _log_g(logits: torch.Tensor) -> torch.Tensor:
    """ln G (B, C) of Eq. 8: the log of the mean softmax over the k draws of logits (k, B, C)."""
    return torch.logsumexp(F.log_softmax(logits, dim=2), dim=0) - math.log(logits.shape[0])


def _runner_up(log_g: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """argmax_{c != y} G^c (Feng et al. 2020, Eq. 6), chosen without gradient."""
    return log_g.detach().scatter(1, y.view(-1, 1), -math.inf).argmax(1)


def _forward_k(model: nn.Module, x: torch.Tensor, deltas: torch.Tensor) -> torch.Tensor:
    """Logits (k, B, C) of f(x + delta_j) for deltas of shape (k, B, *input)."""
    k, b = deltas.shape[:2]
    out = model((x.unsqueeze(0) + deltas).reshape(k * b, *x.shape[1:]))
    return out.view(k, b, -1)


def _adre_draws(x: torch.Tensor, k: int, draws: NoiseDraws) -> torch.Tensor:
    """k draws per example (k, B, *input): draw 0 from the main stream, the rest from the extra."""
    b = x.shape[0]
    first = draws.main(b)
    assert first is not None
    if k == 1:
        return first.unsqueeze(0)
    more = draws.main_more(b * (k - 1)).view(k - 1, b, *x.shape[1:])
    return torch.cat([first.unsqueeze(0), more], 0)


@dataclass(frozen=True)
class ADRE(TrainMethod):
    """ADRE_REG of Feng, Wu, Chen, Zhang & Ning 2020 (Eqs. 5-8; ALGORITHMS.md 3.2).

    k draws per example; loss = mean_i (l_per_i - lambda P_i) (:func:`adre_terms`).
    ``variant="full"``: l_per over all k draws (Eq. 7); ``"single"``: the one-draw CE of their
    Table 1.  lambda = 0 with ``single`` (or k = 1) is plain augmentation, bit for bit.  Note:
    -lambda P_i = lambda ln G^{c'} is unbounded below (the paper uses lambda <= 0.3), and G is
    the soft surrogate, not the vote probability that is certified.
    """

    name: ClassVar[str] = "adre-reg"
    k: int = 8
    lam: float = 0.1
    variant: str = "full"

    def validate(self) -> None:
        _check_int("k", self.k, 1)
        _check_nonneg("lambda", self.lam)
        if self.variant not in ("full", "single"):
            raise TrainError(f"variant must be full or single, got {self.variant!r}")

    def _plain(self) -> bool:
        return self.lam == 0 and (self.variant == "single" or self.k == 1)

    def adre_loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                  deltas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Eq. 6 at inputs ``x`` with the given draws (k, B, *input)."""
        logits = _forward_k(model, x, deltas)
        l_per, p = adre_terms(logits, y, self.variant)
        return (l_per - self.lam * p).mean(), logits[0]

    def step_loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                  draws: NoiseDraws) -> tuple[torch.Tensor, torch.Tensor]:
        if self._plain():
            return _plain_loss(model, x, y, draws)
        return self.adre_loss(model, x, y, _adre_draws(x, self.k, draws))


def adre_pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, deltas: torch.Tensor,
             epsilon: float, steps: int, step_size: float, lam: float) -> torch.Tensor:
    """Feng et al. 2020's attack (Eqs. 12-13): l2 PGD on the plug-in smoothed classifier.

    Ascends J(x') = CE(G(x'), y) - lam * CE(G(x'), argmax_{c != y} G^c(x')) with G(x') =
    (1/k) sum_j softmax f(x' + delta_j), the same draws ``deltas`` at every step; each step
    moves ``step_size`` along the per-example l2-normalised gradient (as in SmoothAdv; the
    paper does not say) and projects onto {||x' - x||_2 <= epsilon} (P_{2,eps}).  Run in eval
    mode without parameter gradients; returns x' (detached), inside the ball.
    """
    was_training = model.training
    model.eval()
    b = x.shape[0]
    x0 = x.detach()
    adv = x0.clone()
    try:
        for _ in range(steps):
            adv.requires_grad_(True)
            log_g = _log_g(_forward_k(model, adv, deltas))
            ce_y = -log_g.gather(1, y.view(b, 1)).squeeze(1)
            p = -log_g.gather(1, _runner_up(log_g, y).view(b, 1)).squeeze(1)
            objective = (ce_y - lam * p).sum()
            (grad,) = torch.autograd.grad(objective, adv)
            norm = grad.reshape(b, -1).norm(dim=1).clamp_min(1e-12).view(b, *([1] * (x.ndim - 1)))
            adv = adv.detach() + step_size * grad / norm
            adv = _project_l2(adv, x0, epsilon)
    finally:
        model.train(was_training)
    return adv.detach()


def _project_l2(adv: torch.Tensor, x0: torch.Tensor, epsilon: float) -> torch.Tensor:
    """P_{2,eps}: the nearest point of the l2 ball of radius epsilon around x0 (per example)."""
    b = x0.shape[0]
    diff = adv - x0
    norm = diff.reshape(b, -1).norm(dim=1)
    factor = torch.where(norm > epsilon, epsilon / norm.clamp_min(1e-30),
                         torch.ones_like(norm))
    # shrink a hair more than needed so that rounding never leaves the ball
    factor = torch.where(norm > epsilon, factor * (1.0 - 1e-6), factor)
    return x0 + diff * factor.view(b, *([1] * (x0.ndim - 1)))


@dataclass(frozen=True)
class ADREAdv(ADRE):
    """ADRE_ADV of Feng et al. 2020 (Eqs. 12-13; ALGORITHMS.md 3.3): the ADRE loss at a PGD point.

    For each batch: k draws per example, ``steps`` (M) steps of :func:`adre_pgd` within the
    l2 ball of radius ``epsilon`` (step size ``step_size``, default 2 epsilon / M as in the
    paper), then the ADRE_REG loss (Eq. 6) at x' with the same draws (SmoothAdv reuses the
    draws for the attack and the step).  epsilon = 0 is ADRE_REG.
    """

    name: ClassVar[str] = "adre-adv"
    steps: int = 2
    epsilon: float = 0.25
    step_size: float | None = None

    def validate(self) -> None:
        super().validate()
        _check_int("steps", self.steps, 1)
        _check_nonneg("epsilon", self.epsilon)
        if self.step_size is not None:
            _check_nonneg("step_size", self.step_size)

    @property
    def alpha(self) -> float:
        """The PGD step: ``step_size`` or 2 epsilon / M (Feng et al. 2020, Sec. 3.3)."""
        return 2.0 * self.epsilon / self.steps if self.step_size is None else self.step_size

    def step_loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                  draws: NoiseDraws) -> tuple[torch.Tensor, torch.Tensor]:
        deltas = _adre_draws(x, self.k, draws)
        adv = adre_pgd(model, x, y, deltas, self.epsilon, self.steps, self.alpha, self.lam)
        return self.adre_loss(model, adv, y, deltas)


METHODS: dict[str, type[TrainMethod]] = {
    cls.name: cls for cls in (NoiseAugmentation, NandiRS, ADRE, ADREAdv)}
#: option names as the CLI spells them -> dataclass fields
_ALIASES = {"lambda": "lam", "lambda_": "lam"}


def make_method(name: str = "noise", **options: Any) -> TrainMethod:
    """The method ``name`` (one of :data:`METHODS`) with ``options``, validated.

    Unknown names and options that the method does not take raise
    :class:`unicr.train.TrainError` naming them.
    """
    cls = METHODS.get(str(name).strip().lower())
    if cls is None:
        raise TrainError(f"unknown training method {name!r}; known: {', '.join(METHODS)}")
    allowed = {f.name for f in fields(cls)}
    opts = {_ALIASES.get(k, k): v for k, v in options.items()}
    bad = sorted(k for k in opts if k not in allowed)
    if bad:
        shown = ", ".join("lambda" if b == "lam" else b for b in bad)
        takes = ", ".join("lambda" if a == "lam" else a for a in sorted(allowed)) or "no options"
        raise TrainError(f"training method {cls.name!r} does not take {shown} (it takes {takes})")
    method = cls(**opts)
    method.validate()
    return method

