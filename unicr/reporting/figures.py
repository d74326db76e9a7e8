"""The UniCR paper's figures, regenerated with unicr's engines (``unicr figures``).

Every figure is a PNG (or PDF / SVG) plus the CSV of everything it shows, written to one folder
(``docs/figures`` for the gallery).  Settings follow Hong et al. 2022 (UniCR), Sec. 5.2 and
App. D.5-D.6: per-coordinate RMS sigma = 1, d = 3072 (CIFAR-10), binary case, l_inf radii
x255; where the paper's setting has no meaning (sigma-matching a noise without variance)
the deviation is stated in the figure's docs page (docs/reproductions/).

=========  =====================================================================
name       figure
=========  =====================================================================
concepts   what lower, upper, the band and a Monte Carlo estimate mean (Laplace, l2)
fig4       engine vs published theory (UniCR Fig. 4): Cohen, Teng, Lecuyer (PixelDP),
           Yang et al.'s Expp, Pareto, Laplace-l_inf and joint-noise formulas
fig6-8     the Table 7 catalogue at sigma = 1 vs l1, l2, l_inf (UniCR Figs. 6-8)
fig12      radius vs the norm exponent p at pA = 0.9 (UniCR Fig. 12)
fig13      beta sweeps of gennorm, laplace_gaussian_mix, exp_mix (UniCR Fig. 13)
=========  =====================================================================

``quick=True`` uses coarse grids and fewer noises (seconds instead of minutes; for tests
and smoke runs); the gallery is made without it.
"""

from __future__ import annotations

import csv
import logging
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from unicr.certificate import norm_label
from unicr.errors import InvalidParameterError
from unicr.reporting.curves import compute_curves, pa_grid
from unicr.reporting.plot import (
    CurveData,
    Panel,
    norm_tex,
    plot_panels,
    plot_radius_vs_p,
    save_figure,
    write_csv,
)
from unicr.reporting.style import check_style, figure_style

__all__ = ["FIGURES", "FigureSpec", "FigureOutput", "make_figures", "Settings", "figure_names",
           "TABLE7", "FIG12_NORMS", "FIG13_SWEEPS"]

log = logging.getLogger(__name__)

#: UniCR Table 7 noises as used in Figs. 6-8 (sigma = 1 unless the item sets a scale):
#: General Normal beta = 1.5, mixtures beta = 0.5 (Sec. 5.2); Pareto at a = 3 because the
#: paper's a = 1 has no variance to match; Cauchy at native scale 1 (no variance either)
TABLE7 = ("gaussian", "laplace", "hsecant", "gennorm:beta=1.5", "laplace_gaussian_mix:beta=0.5",
          "exp_mix:beta=0.5", "pareto:a=3", "cauchy:scale=1")
#: norm exponents of Fig. 12 (l_inf drawn at the right end)
FIG12_NORMS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0, 6.0, 8.0, 16.0, math.inf)
FIG12_NOISES = ("gaussian", "laplace", "hsecant", "gennorm:beta=1.5",
                "laplace_gaussian_mix:beta=0.5", "exp_mix:beta=0.5", "pareto:a=3")
#: Fig. 13: family -> swept beta values (full, quick)
FIG13_SWEEPS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "gennorm": ((0.5, 0.75, 1.0, 1.5, 2.0, 3.0), (0.75, 1.0, 2.0)),
    "laplace_gaussian_mix": ((0.0, 0.25, 0.5, 0.75, 1.0), (0.0, 0.5, 1.0)),
    "exp_mix": ((0.0, 0.25, 0.5, 0.75, 1.0), (0.0, 0.5, 1.0)),
}


@dataclass(frozen=True)
class Settings:
    """Grid and engine settings shared by the figures."""

    d: int = 3072
    sigma: float = 1.0
    pa_max: float = 0.999
    points: int = 60
    mc_points: int = 8
    n_mc: int = 20_000
    seed: int = 0
    quick: bool = False
    progress: bool = False
    cache: bool = True
    #: file format of the figures: png, pdf or svg (the CSVs are always CSV)
    fmt: str = "png"

    @classmethod
    def make(cls, quick: bool = False, **kw: Any) -> Settings:
        if quick:
            base = dict(points=12, mc_points=3, n_mc=5_000)
            base.update(kw)
            return cls(quick=True, **base)
        return cls(**kw)

    def figure(self, out: Path, stem: str) -> Path:
        """Path of the figure ``stem`` in ``out``, with the format's suffix."""
        return out / f"{stem}.{self.fmt}"

    def grid(self, mc: bool = False) -> np.ndarray:
        """Probit-spaced pA grid (:func:`unicr.reporting.curves.pa_grid`); coarser for Monte Carlo."""
        return pa_grid(0.5, self.pa_max, self.mc_points if mc else self.points)


@dataclass
class FigureOutput:
    """Files written for one figure and how long it took."""

    name: str
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "files": [str(f) for f in self.files],
                "seconds": round(self.seconds, 2)}


@dataclass(frozen=True)
class FigureSpec:
    """A reproducible figure: its name, the paper figure it reproduces and its builder."""

    name: str
    paper: str
    description: str
    build: Callable[[Path, Settings], list[Path]]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _curves(noises: Sequence[Any], norms: Sequence[Any], s: Settings, *, method: str = "auto",
            overlays: Any = (), pa: np.ndarray | None = None,
            mc_options: dict[str, Any] | None = None) -> list[CurveData]:
    grid = s.grid(mc=(method == "mc")) if pa is None else pa
    return compute_curves(list(noises), list(norms), s.d, grid, method=method, overlays=overlays,
                          sigma=s.sigma, mc_options=mc_options, progress=s.progress,
                          cache=s.cache)


def _mc_opts(s: Settings, **extra: Any) -> dict[str, Any]:
    return {"n_mc": s.n_mc, "seed": s.seed, **extra}


def _subtitle(s: Settings) -> str:
    return rf"$\sigma$ = {s.sigma:g}, $d$ = {s.d}, binary"


# ---------------------------------------------------------------------------
# the figures
# ---------------------------------------------------------------------------


def build_concepts(out: Path, s: Settings) -> list[Path]:
    """Laplace noise, l2: the proven band [lower, upper] of the exact engine and UniCR's
    Monte Carlo point estimate (Hong et al. 2022, Algorithm 1 with plug-in quantiles).

    The estimate has no guarantee: it may fall on either side of the band's edges, and where
    it exceeds ``upper`` it is provably larger than the tight radius R*.
    """
    exact = _curves(["laplace"], [2], s)
    mc = _curves(["laplace"], [2], s, method="mc", mc_options=_mc_opts(s, mode="estimate"))
    for c in mc:
        c.label = "laplace, Monte Carlo (UniCR)"
        c.lower = np.zeros(len(c.pa))
        c.upper = np.full(len(c.pa), math.inf)  # estimate mode proves nothing
    exact[0].label = "laplace, exact engine"
    fig = plot_panels([Panel(f"Laplace noise, {norm_tex(2.0)}, {_subtitle(s)}", exact + mc,
                             legend=True)], panel_size=5.2, legend="styles")
    png = save_figure(fig, s.figure(out, "concepts"))
    return [png, write_csv(exact + mc, out / "concepts.csv")]


def build_fig4(out: Path, s: Settings) -> list[Path]:
    """UniCR Fig. 4: the engine's band against published certificates.

    Panels: Laplace l1 vs Teng et al. 2020 (tight) and PixelDP (Lecuyer et al. 2019, loose);
    Gaussian l2 vs Cohen et al. 2019 (Thm. 1, tight) and PixelDP; Gaussian l_inf vs Cohen's
    radius / sqrt(d); Pareto l1 vs Yang et al. 2020's bound (not tight); General Normal l1
    vs Yang et al.'s Expp quantile form (tight); Laplace l_inf vs Yang et al.'s differential
    integral; ExpInf l_inf and Exp2 l2 (joint, Monte Carlo) vs Yang et al.'s formulas and
    UniCR's own ExpInf baseline (unsound as printed, docs/soundness-notes.md#s26).
    """
    specs: list[tuple[str, Any, list[str], str]] = [
        ("laplace", 1.0, ["teng", "pixeldp_laplace"], "auto"),
        ("gaussian", 2.0, ["cohen", "pixeldp_gaussian"], "auto"),
        ("gaussian", math.inf, ["gaussian_linf_conversion"], "auto"),
        ("pareto:a=3", 1.0, ["yang_pareto"], "auto"),
        ("gennorm:beta=1.5", 1.0, ["yang_gennorm"], "auto"),
        ("laplace", math.inf, ["yang_laplace_linf", "yang_laplace_linf_approx"], "auto"),
        ("expinf", math.inf, ["yang_expinf", "unicr_expinf_baseline"], "mc"),
        ("exp2", 2.0, ["yang_exp2"], "mc"),
    ]
    panels, every = [], []
    for noise, p, formulas, method in specs:
        mc_kw = _mc_opts(s) if method == "mc" else None
        cs = _curves([noise], [p], s, method=method, overlays=formulas, mc_options=mc_kw)
        c = cs[0]
        engine = "Monte Carlo, sound" if c.method == "mc" else "exact engine"
        letter = "abcdefgh"[len(panels)]
        panels.append(Panel(f"({letter}) {c.label}, {norm_tex(p)} ({engine})", cs))
        every += cs
    fig = plot_panels(panels, ncols=4, legend="panel", linf_x255=True, panel_size=3.9,
                      title=f"Engine vs published certificates ({_subtitle(s)}; "
                            r"$\ell_\infty$ $\times$255)")
    return [save_figure(fig, s.figure(out, "fig4")), write_csv(every, out / "fig4.csv")]


def build_fig6_8(out: Path, s: Settings) -> list[Path]:
    """UniCR Figs. 6-8: the Table 7 noises at sigma = 1 against l1, l2 and l_inf (x255)."""
    noises = TABLE7 if not s.quick else TABLE7[:4]
    curves = _curves(noises, [1, 2, "inf"], s)
    files = []
    for num, p in ((6, 1.0), (7, 2.0), (8, math.inf)):
        sel = [c for c in curves if c.norm == p]
        fig = plot_panels([Panel(f"{norm_tex(p)}, {_subtitle(s)}", sel)], linf_x255=True,
                          panel_size=5.6)
        stem = f"fig{num}_l{norm_label(p)}"
        files += [save_figure(fig, s.figure(out, stem)), write_csv(sel, out / f"{stem}.csv")]
    return files


FIG12_COLUMNS = ("noise", "p", "pa", "d", "lower", "upper", "method")


def build_fig12(out: Path, s: Settings) -> list[Path]:
    """UniCR Fig. 12 (App. D.5): the certified l_p radius against p at pA = 0.9.

    For symmetric product noise every p <= 1 gives the l1 radius (the worst l1 direction is a
    coordinate axis, Yang et al. 2020, whose l_p norm is the same for every p); for p > 2
    the radius falls towards the l_inf radius.
    """
    pa = 0.9
    noises = FIG12_NOISES if not s.quick else FIG12_NOISES[:3]
    ps = list(FIG12_NORMS) if not s.quick else [0.5, 1.0, 1.5, 2.0, 4.0, math.inf]
    curves = _curves(noises, ps, s, pa=np.array([pa]))
    labels = list(dict.fromkeys(c.label for c in curves))
    series = []
    for lab in labels:
        cs = {c.norm: c for c in curves if c.label == lab}
        series.append((lab, np.array([cs[p].lower[0] for p in ps]),
                       np.array([cs[p].upper[0] for p in ps])))
    fig = plot_radius_vs_p(ps, series, pa=pa, d=s.d,
                           title=rf"$p_A$ = {pa:g}, {_subtitle(s)}")
    png = save_figure(fig, s.figure(out, "fig12"))
    path = out / "fig12.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(FIG12_COLUMNS)
        for c in curves:
            w.writerow([c.label, norm_label(c.norm), repr(pa), c.d, repr(float(c.lower[0])),
                        _num(c.upper[0]), c.method])
    return [png, path]


def build_fig13(out: Path, s: Settings) -> list[Path]:
    """UniCR Fig. 13 (App. D.6): beta sweeps of gennorm, laplace_gaussian_mix and exp_mix at
    sigma = 1 against l1, l2 and l_inf (x255); beta = 2 (gennorm) and beta = 0 (mixtures)
    are Gaussian, beta = 1 is Laplace."""
    panels, every = [], []
    for fam, (full, quick) in FIG13_SWEEPS.items():
        betas = quick if s.quick else full
        cs = _curves([f"{fam}:beta={b:g}" for b in betas], [1, 2, "inf"], s)
        every += cs
        for p in (1.0, 2.0, math.inf):
            sel = [c for c in cs if c.norm == p]
            panels.append(Panel(f"{fam}, {norm_tex(p)}", sel, legend=True, palette="sequential"))
    fig = plot_panels(panels, ncols=3, linf_x255=True, legend="styles",
                      title=f"beta sweeps ({_subtitle(s)}; " + r"$\ell_\infty$ $\times$255)",
                      panel_size=4.2)
    return [save_figure(fig, s.figure(out, "fig13")), write_csv(every, out / "fig13.csv")]


def _num(x: float) -> str:
    x = float(x)
    return "inf" if math.isinf(x) else repr(x)


#: name -> figure, in the order ``unicr figures`` makes them
FIGURES: dict[str, FigureSpec] = {
    f.name: f for f in (
        FigureSpec("concepts", "-", "lower, upper, band and a Monte Carlo estimate (Laplace, l2)",
                   build_concepts),
        FigureSpec("fig4", "UniCR Fig. 4", "engine vs published certificates", build_fig4),
        FigureSpec("fig6-8", "UniCR Figs. 6-8", "Table 7 catalogue at sigma = 1 vs l1, l2, l_inf",
                   build_fig6_8),
        FigureSpec("fig12", "UniCR Fig. 12", "radius vs p at pA = 0.9", build_fig12),
        FigureSpec("fig13", "UniCR Fig. 13", "beta sweeps of gennorm and the two mixtures",
                   build_fig13),
    )
}


#: figure file formats of :func:`make_figures`
FORMATS = ("png", "pdf", "svg")


def figure_names() -> list[str]:
    return list(FIGURES)


def make_figures(out: str | Path, names: Sequence[str] | None = None, *, quick: bool = False,
                 progress: bool = False, cache: bool = True,
                 settings: Settings | None = None, style: str | Path | None = None,
                 fmt: str | None = None) -> list[FigureOutput]:
    """Build the named figures (default: all of :data:`FIGURES`) into the folder ``out``.

    ``style`` is a matplotlib style sheet (name or path) applied on top of unicr's
    (:mod:`unicr.reporting.style`); ``fmt`` the figures' file format (png, pdf or svg;
    default png, or ``settings.fmt``).
    """
    chosen = list(FIGURES) if not names else list(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in FIGURES]
    if unknown:
        raise InvalidParameterError(
            f"unknown figure {unknown[0]!r}; choose from: {', '.join(FIGURES)}")
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise InvalidParameterError(f"--out {out} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    s = settings or Settings.make(quick=quick, progress=progress, cache=cache)
    if fmt is not None:
        s = replace(s, fmt=fmt)
    if s.fmt not in FORMATS:
        raise InvalidParameterError(f"figure format {s.fmt!r}: choose from {', '.join(FORMATS)}")
    results = []
    with figure_style(check_style(style)):
        for name in chosen:
            t0 = time.perf_counter()
            if s.progress:
                tqdm.write(f"[{name}] {FIGURES[name].description} ...", file=sys.stderr)
            files = FIGURES[name].build(folder, s)
            results.append(FigureOutput(name, files, time.perf_counter() - t0))
            log.info("figure %s: %s (%.1f s)", name, ", ".join(map(str, files)),
                     results[-1].seconds)
    return results
