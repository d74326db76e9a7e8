"""The notebook API: arrays of pA in unicr.radius, short reprs, DataFrames (pandas optional),
results labels, checkpoint info without the optimizer state."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

import unicr
from unicr.certificate import REPR_MAX, Certificate, CertificateArray, Witness
from unicr.reporting.curves import curves_to_dataframe, curves_to_records
from unicr.reporting.plot import CurveData
from unicr.smoothing.dataset import read_results, results_dataframe

HAVE_PANDAS = importlib.util.find_spec("pandas") is not None


def _frame_or_hint(make, columns, rows):
    """With pandas: the DataFrame has these columns and rows.  Without: the error names the extra."""
    if HAVE_PANDAS:
        df = make()
        assert list(df.columns)[: len(columns)] == list(columns) and len(df) == rows
        return df
    with pytest.raises(unicr.UnicrError, match=r"pip install unicr\[notebook\]"):
        make()
    return None


# -- unicr.radius with arrays ---------------------------------------------------------------


@pytest.mark.parametrize("pa", [[0.6, 0.9, 0.999], (0.55, 0.8), np.array([0.7, 0.95])])
def test_array_of_pa_equals_scalar_calls(pa):
    arr = unicr.radius("laplace", pa=pa, norm=1, d=64)
    assert isinstance(arr, CertificateArray) and len(arr) == len(pa)
    for x, cert in zip(pa, arr):
        assert cert == unicr.radius("laplace", float(x), 1, 64)
    assert np.array_equal(arr.lower, [c.lower for c in arr])
    assert np.array_equal(arr.upper, [c.upper for c in arr])
    assert np.array_equal(arr.pa, np.asarray(pa, float))
    assert arr.status == [c.status for c in arr]
    assert isinstance(arr[1:], CertificateArray) and arr[1:][0] == arr[1]


def test_monte_carlo_array_equals_scalar_calls_with_the_same_seed():
    kw = dict(method="mc", n_mc=2000, seed=3)
    arr = unicr.radius("gaussian", pa=[0.8, 0.9], norm=2, d=8, **kw)
    for x, cert in zip([0.8, 0.9], arr):
        assert cert == unicr.radius("gaussian", x, 2, 8, **kw)
    est = arr.estimate
    assert est.shape == (2,) and np.all(np.isfinite(est))


def test_pb_broadcast_and_abstentions():
    arr = unicr.radius("gaussian", pa=[0.4, 0.6, 0.3], norm="inf", d=10, pb=0.35)
    assert np.array_equal(arr.pb, [0.35] * 3)
    assert list(arr.abstain) == [False, False, True]
    for x, c in zip([0.4, 0.6, 0.3], arr):
        assert c == unicr.radius("gaussian", x, "inf", 10, pb=0.35)
    both = unicr.radius("gaussian", pa=[0.6, 0.7], norm=2, d=10, pb=[0.1, 0.2])
    assert [c.pb for c in both] == [0.1, 0.2]
    one_pa = unicr.radius("gaussian", pa=0.7, norm=2, d=10, pb=[0.1, 0.2])
    assert [c.pa for c in one_pa] == [0.7, 0.7]
    binary = unicr.radius("gaussian", pa=[0.4, 0.6], norm=2, d=10)
    assert np.all(np.isnan(binary.pb)) and binary.status[0] == "abstain"
    assert np.isnan(binary.estimate[0])  # an abstention has no estimate


def test_scalar_inputs_still_give_one_certificate():
    assert isinstance(unicr.radius("gaussian", np.float64(0.9), 2, 10), Certificate)
    assert isinstance(unicr.radius("gaussian", np.array(0.9), 2, 10), Certificate)


@pytest.mark.parametrize("kw, needle", [
    (dict(pa=[]), "empty"),
    (dict(pa=[[0.6, 0.7]]), "1-D"),
    (dict(pa=[0.6, 0.7], pb=[0.1, 0.2, 0.3]), "different lengths"),
    (dict(pa=["a"]), "numbers"),
    (dict(pa=[0.6, 1.5]), "pA must lie"),
])
def test_bad_arrays_are_named(kw, needle):
    with pytest.raises(unicr.UnicrError, match=needle):
        unicr.radius("gaussian", norm=2, d=10, **kw)


# -- display -----------------------------------------------------------------------------------


def test_certificate_repr_is_one_short_line_and_describe_keeps_everything():
    cert = unicr.radius("gaussian", 0.9, 2, 3072)
    text = repr(cert)
    assert "\n" not in text and len(text) <= REPR_MAX
    for part in ("lower=1.28155", "upper=1.28155", "status=exact", "confidence=1",
                 "method=exact", "norm=l2", "d=3072", "pA=0.9"):
        assert part in text
    assert str(cert) == text
    full = cert.describe()
    assert all(a in full for a in cert.assumptions) and "witness" in full
    assert "1.281551566" in cert._repr_markdown_() and "<table>" in cert._repr_html_()


def test_repr_is_bounded_for_any_content():
    cert = Certificate(lower=0.1, upper=math.inf, estimate=0.3, confidence=0.999,
                       method="mc <sound> " * 40, norm=0.5, d=10**9, pa=0.123456789, pb=0.01,
                       assumptions=("a & b <c>",) * 50, witness=Witness({"kind": "vector"}, 1, 1))
    text = repr(cert)
    assert len(text) <= REPR_MAX and "\n" not in text and "estimate=0.3" in text
    assert "upper=inf" in text and "pB=0.01" in text and "norm=l0.5" in text
    assert "&lt;c&gt;" in cert._repr_html_() and "<c>" not in cert._repr_html_()
    arr = CertificateArray([cert] * 30)
    assert len(repr(arr)) <= REPR_MAX and "n=30" in repr(arr)
    assert repr(CertificateArray([])) == "CertificateArray([])"
    ab = Certificate.abstained(method="exact", norm=2, d=3, pa=0.4, pb=None, reason="binary")
    assert "status=abstain" in repr(ab)


# -- DataFrames ------------------------------------------------------------------------------


def test_certificate_array_records_and_dataframe():
    arr = unicr.radius("laplace", pa=[0.6, 0.9], norm=1, d=16)
    recs = arr.to_records()
    assert [r["lower"] for r in recs] == list(arr.lower) and recs[0]["norm"] == "1"
    df = _frame_or_hint(arr.to_dataframe, ["pa", "pb", "lower", "upper"], 2)
    if df is not None:
        assert list(df["lower"]) == list(arr.lower)


def test_curves_to_dataframe():
    c = CurveData(label="laplace", norm=1.0, d=10, pa=np.array([0.6, 0.9]),
                  lower=np.array([0.1, 1.0]), upper=np.array([0.1, math.inf]), method="exact",
                  overlays={"teng": np.array([0.1, np.nan])})
    recs = curves_to_records([c])
    assert [r["status"] for r in recs] == ["exact", "lower-only"]
    assert math.isnan(recs[1]["closed_form:teng"]) and math.isnan(recs[0]["estimate"])
    _frame_or_hint(lambda: curves_to_dataframe([c]), ["noise", "norm", "d", "pa"], 2)


def _cohen_file(tmp_path, name="sigma_0.50.tsv"):
    p = tmp_path / name
    p.write_text("idx\tlabel\tpredict\tradius\tcorrect\ttime\n"
                 "0\t3\t3\t0.5\t1\t0:00:01.2\n1\t2\t-1\t0.0\t0\t0:00:01.1\n"
                 "2\t7\t1\t0.25\t0\t0:00:01.0\n")
    return p


def test_results_records_label_and_dataframe(tmp_path):
    res = read_results(_cohen_file(tmp_path))
    assert res.label_text() == "sigma_0.50 (unknown noise)"
    recs = res.to_records()
    assert [r["correct"] for r in recs] == [True, False, False]
    assert recs[0]["radius_l2"] == 0.5 and math.isnan(recs[1]["radius_l2"])  # ABSTAIN != 0
    assert recs[0]["time"] == pytest.approx(1.2)
    _frame_or_hint(res.to_dataframe, ["idx", "label", "predict", "correct", "abstain"], 3)
    other = tmp_path / "unicr.tsv"
    other.write_text('# unicr-certify\t1\n# noise\t{"name":"gennorm","params":{"beta":1.5},'
                     '"scale":0.9}\nidx\tlabel\tpredict\tradius\tcorrect\ttime\tradius_l1\t'
                     'radius_l2\tpA_lower\tpB_upper\tcount_A\tn\n'
                     '0\t1\t1\t0.3\t1\t-\t0.3\t0.2\t0.9\t0.1\t90\t100\n')
    assert read_results(other).label_text() == "gennorm(beta=1.5, scale=0.9)"
    df = _frame_or_hint(lambda: results_dataframe([_cohen_file(tmp_path), other]),
                        ["file", "noise", "idx"], 4)
    if df is not None:
        assert set(df["noise"]) == {"sigma_0.50 (unknown noise)", "gennorm(beta=1.5, scale=0.9)"}


def test_table_to_dataframe():
    from unicr.reporting.tables import radius_table

    table = radius_table(unicr.radius("laplace", pa=[0.6, 0.9], norm=1, d=16))
    _frame_or_hint(table.to_dataframe, ["pA", "l1 lower", "l1 upper", "l1 status"], 2)


# -- checkpoints -----------------------------------------------------------------------------


def test_checkpoint_info_leaves_the_optimizer_out_unless_asked(tmp_path):
    from unicr.models import build_model, load_checkpoint, save_checkpoint

    path = save_checkpoint(tmp_path / "m.pt", build_model("mlp"), epoch=2,
                           optimizer={"state": {}, "param_groups": [{"lr": 0.1}]})
    _, info = load_checkpoint(path)
    assert "optimizer" not in info and info["epoch"] == 2 and info["arch"] == "mlp"
    _, full = load_checkpoint(path, with_optimizer=True)
    assert full["optimizer"]["param_groups"][0]["lr"] == 0.1
