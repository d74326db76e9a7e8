"""Published randomized-smoothing certificates, as printed and (where wrong) corrected.

One module per family of papers; every function cites paper, equation and scale convention
(docs/certificate-notes.md, docs/soundness-notes.md):

* :mod:`~unicr.closed_form.cohen` -- Cohen et al. 2019 (Gaussian l2; l_inf by conversion)
* :mod:`~unicr.closed_form.teng` -- Teng et al. 2020 (Laplace l1)
* :mod:`~unicr.closed_form.lecuyer` -- Lecuyer et al. 2019, PixelDP (Gaussian, Laplace)
* :mod:`~unicr.closed_form.li` -- Li et al. 2019 (Renyi l2; l1 with Hayes' sign error fixed)
* :mod:`~unicr.closed_form.hayes` -- Hayes 2020 (Table 1 divergences; generalized Gaussian)
* :mod:`~unicr.closed_form.yang` -- Yang et al. 2020 (uniform, Pareto, Expp, Laplace l_inf,
  ExpInf, PowInf, Exp2, Exp1, UniformBall) and UniCR's ExpInf baseline
* :mod:`~unicr.closed_form.kumar` -- Kumar et al. 2020 (upper bounds for p > 2)
* :mod:`~unicr.closed_form.nandi` -- Nandi et al. 2023 (uniform l1, norm conversion)
* :mod:`~unicr.closed_form.feng` -- Feng et al. 2020 (two-sided bounds)

Pure functions take plain floats (pA, pB, a scale in the paper's convention, d) and return a
radius >= 0 (0.0 when abstaining -- see :func:`abstains`).  The registry
(:func:`get_formula`, :data:`FORMULAS`) wraps them with metadata and evaluates them on a unicr
noise, converting its scale explicitly.
"""

from unicr.closed_form._common import (
    STATUSES,
    abstains,
    convert_radius,
    differential_radius,
    norm_conversion_factor,
)
from unicr.closed_form.cohen import cohen_l2, gaussian_linf_conversion
from unicr.closed_form.feng import FengCertificate, feng_certify, feng_two_sided
from unicr.closed_form.hayes import (
    IntersectionRegion,
    gn_kl_coefficients,
    gn_kl_divergence,
    hayes_bhattacharyya,
    hayes_chi2,
    hayes_gn_intersection,
    hayes_gn_l12,
    hayes_gn_lp,
    hayes_hellinger,
    hayes_kl,
    hayes_kl_corrected,
    hayes_tv,
    hayes_tv_corrected,
    kl_bound,
    lp_linf_volume_ratio,
)
from unicr.closed_form.kumar import kumar_upper_gennorm, kumar_upper_iid
from unicr.closed_form.lecuyer import pixeldp_gaussian, pixeldp_laplace
from unicr.closed_form.li import li_l1, li_l1_printed, li_renyi, renyi_h
from unicr.closed_form.nandi import nandi_uniform_l1, nandi_uniform_l2
from unicr.closed_form.registry import (
    FORMULAS,
    Formula,
    FormulaNoiseMismatchError,
    FormulaResult,
    UnknownFormulaError,
    formula_names,
    formulas_for,
    get_formula,
    rms_per_unit_scale,
)
from unicr.closed_form.teng import teng_l1
from unicr.closed_form.yang import (
    expinf_scale,
    unicr_expinf_baseline,
    unicr_expinf_scale,
    yang_exp1_l1,
    yang_exp2_l2,
    yang_expinf_l1,
    yang_expinf_linf,
    yang_gennorm_l1,
    yang_laplace_linf,
    yang_laplace_linf_approx,
    yang_pareto_l1,
    yang_powinf_l1,
    yang_powinf_linf,
    yang_uniform_ball_l2,
    yang_uniform_l1,
    yang_uniform_linf,
)

__all__ = [
    "STATUSES", "abstains", "convert_radius", "differential_radius", "norm_conversion_factor",
    "cohen_l2", "gaussian_linf_conversion",
    "FengCertificate", "feng_certify", "feng_two_sided",
    "IntersectionRegion", "gn_kl_coefficients", "gn_kl_divergence", "hayes_bhattacharyya",
    "hayes_chi2", "hayes_gn_intersection", "hayes_gn_l12", "hayes_gn_lp", "hayes_hellinger",
    "hayes_kl", "hayes_kl_corrected", "hayes_tv", "hayes_tv_corrected", "kl_bound",
    "lp_linf_volume_ratio",
    "kumar_upper_gennorm", "kumar_upper_iid",
    "pixeldp_gaussian", "pixeldp_laplace",
    "li_l1", "li_l1_printed", "li_renyi", "renyi_h",
    "nandi_uniform_l1", "nandi_uniform_l2",
    "FORMULAS", "Formula", "FormulaNoiseMismatchError", "FormulaResult", "UnknownFormulaError",
    "formula_names", "formulas_for", "get_formula", "rms_per_unit_scale",
    "teng_l1",
    "expinf_scale", "unicr_expinf_baseline", "unicr_expinf_scale", "yang_exp1_l1", "yang_exp2_l2",
    "yang_expinf_l1", "yang_expinf_linf", "yang_gennorm_l1", "yang_laplace_linf",
    "yang_laplace_linf_approx", "yang_pareto_l1", "yang_powinf_l1", "yang_powinf_linf",
    "yang_uniform_ball_l2", "yang_uniform_l1", "yang_uniform_linf",
]
