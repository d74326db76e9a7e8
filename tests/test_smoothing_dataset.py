"""Dataset certification: results format, append-only resume (byte for byte), analysis."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats as sst

from unicr.data import ArrayDataset
from unicr.errors import InvalidParameterError
from unicr.noises.registry import build_builtin
from unicr.smoothing import Smooth
from unicr.smoothing.dataset import (
    ResultsError,
    certify_dataset,
    read_results,
    results_columns,
)
from unicr.smoothing.metrics import acr, certified_accuracy, r_scores, summarize
from unicr.smoothing.plots import plot_results


class Cohen:
    alpha = 0.0

    def __init__(self, sigma):
        self.sigma = sigma

    def __call__(self, pa, pb, norm):
        r = self.sigma * float(sst.norm.ppf(pa))
        return r if norm <= 2 else r / 6.0

    def describe(self):
        return {"provider": "cohen-test"}


def tiny_data(n: int = 12) -> ArrayDataset:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 1, 6, 6), dtype=np.uint8)
    labels = (images.reshape(n, -1).mean(1) > 127).astype(np.int64)
    return ArrayDataset(images, labels, name="tiny", split="test", num_classes=3, source="memory")


def tiny_smooth(sigma: float = 0.25) -> Smooth:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(36, 3))
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].bias.zero_()
        model[1].weight[1] += 1.0 / 36
        model[1].bias[1] -= 0.5
    return Smooth(model, build_builtin("gaussian", sigma=sigma), num_classes=3,
                  input_shape=(1, 6, 6), radius=Cohen(sigma))


RUN = dict(n0=20, n=200, alpha=0.01, norms=[2, "inf"], seed=3, skip=1, batch_size=64,
           timing=False, progress=False)


def test_full_run_and_read_back(tmp_path):
    out = tmp_path / "r.tsv"
    run = certify_dataset(tiny_smooth(), tiny_data(), out, **RUN)
    assert run.total == 12 and run.computed == 12 and run.resumed_from == 0
    text = out.read_text()
    lines = text.splitlines()
    assert lines[0] == "# unicr-certify\t1"
    assert any(line.startswith("# seed\t3") for line in lines)
    assert any(line.startswith("# noise\t") and '"gaussian"' in line for line in lines)
    col = lines.index("\t".join(results_columns([2, "inf"])))
    rows = [r.split("\t") for r in lines[col + 1:]]
    assert len(rows) == 12 and [int(r[0]) for r in rows] == list(range(12))
    res = read_results(out)
    assert res.norms == ["2", "inf"] and len(res) == 12
    assert res.settings["n"] == 200 and res.header["seed"] == 3
    for r, abst, rad in zip(rows, res.abstain, res.radii["2"]):
        if abst:  # ABSTAIN: predict -1 and no radius at all
            assert r[2] == "-1" and r[3] == "-" and r[6] == "-" and r[4] == "0"
        else:  # radii are written exactly (repr) and read back bit for bit
            assert float(r[3]) == rad and float(r[6]) == rad and r[3] == repr(float(rad))
    assert res.abstain.any() and (~res.abstain).any()
    # the ceiling in the header is the radius at pA = alpha^(1/n)
    assert res.ceiling["2"] == pytest.approx(0.25 * sst.norm.ppf(0.01 ** (1 / 200)))


def _reference(tmp_path, **kw):
    ref = tmp_path / "ref.tsv"
    certify_dataset(tiny_smooth(), tiny_data(), ref, **{**RUN, **kw})
    return ref.read_bytes()


def test_resume_after_torn_row_is_byte_identical(tmp_path):
    ref = _reference(tmp_path)
    out = tmp_path / "r.tsv"
    certify_dataset(tiny_smooth(), tiny_data(), out, **{**RUN, "max_count": 5})
    partial = out.read_bytes()
    out.write_bytes(partial + b"5\t1\t1\t0.12")  # killed in the middle of a row
    run = certify_dataset(tiny_smooth(), tiny_data(), out, **RUN)
    assert run.resumed_from == 5 and run.computed == 7
    assert out.read_bytes() == ref
    again = certify_dataset(tiny_smooth(), tiny_data(), out, **RUN)  # complete: no-op
    assert again.computed == 0 and out.read_bytes() == ref


def test_resume_with_timing_differs_only_in_the_time_column(tmp_path):
    ref = _reference(tmp_path, timing=True).decode().splitlines()
    out = tmp_path / "r.tsv"
    certify_dataset(tiny_smooth(), tiny_data(), out, **{**RUN, "timing": True, "max_count": 4})
    certify_dataset(tiny_smooth(), tiny_data(), out, **{**RUN, "timing": True})
    got = out.read_text().splitlines()
    assert len(got) == len(ref)

    def drop_time(line):
        f = line.split("\t")
        return f if line.startswith("#") or len(f) < 6 else f[:5] + f[6:]

    assert [drop_time(x) for x in got] == [drop_time(x) for x in ref]


def test_killed_while_writing_header(tmp_path):
    ref = _reference(tmp_path)
    out = tmp_path / "r.tsv"
    out.write_bytes(ref[:40])
    certify_dataset(tiny_smooth(), tiny_data(), out, **RUN)
    assert out.read_bytes() == ref


def test_other_settings_are_refused(tmp_path):
    out = tmp_path / "r.tsv"
    certify_dataset(tiny_smooth(), tiny_data(), out, **{**RUN, "max_count": 3})
    with pytest.raises(ResultsError, match="seed"):
        certify_dataset(tiny_smooth(), tiny_data(), out, **{**RUN, "seed": 4})
    with pytest.raises(ResultsError, match="settings"):
        certify_dataset(tiny_smooth(), tiny_data(), out, **{**RUN, "n": 201})
    with pytest.raises(ResultsError, match="noise"):
        certify_dataset(tiny_smooth(0.3), tiny_data(), out, **RUN)


def test_corrupt_middle_row_is_refused(tmp_path):
    out = tmp_path / "r.tsv"
    certify_dataset(tiny_smooth(), tiny_data(), out, **{**RUN, "max_count": 4})
    lines = out.read_bytes().split(b"\n")
    lines[-4] = b"7" + lines[-4][1:]  # second data row gets a wrong index
    out.write_bytes(b"\n".join(lines))
    with pytest.raises(ResultsError, match="row 2"):
        certify_dataset(tiny_smooth(), tiny_data(), out, **RUN)


def test_skip_max_and_extension(tmp_path):
    out = tmp_path / "r.tsv"
    certify_dataset(tiny_smooth(), tiny_data(), out, **{**RUN, "skip": 5, "max_count": 2})
    assert list(read_results(out).idx) == [0, 5]
    run = certify_dataset(tiny_smooth(), tiny_data(), out, **{**RUN, "skip": 5})
    assert run.resumed_from == 2 and list(read_results(out).idx) == [0, 5, 10]


def test_bad_arguments(tmp_path):
    out = tmp_path / "r.tsv"
    with pytest.raises(InvalidParameterError, match="n0"):
        certify_dataset(tiny_smooth(), tiny_data(), out, **{**RUN, "n0": 0})
    with pytest.raises(InvalidParameterError, match="norms"):
        certify_dataset(tiny_smooth(), tiny_data(), out, **{**RUN, "norms": [2, 2]})
    with pytest.raises(InvalidParameterError, match="seed"):
        certify_dataset(tiny_smooth(), tiny_data(), out, **{**RUN, "seed": -1})
    rng = np.random.default_rng(0)
    other = ArrayDataset(rng.integers(0, 255, (3, 1, 5, 5), dtype=np.uint8), np.zeros(3),
                         name="x", split="test")
    with pytest.raises(InvalidParameterError, match=r"\(1, 5, 5\).*\(1, 6, 6\)"):
        certify_dataset(tiny_smooth(), other, out, **RUN)
    assert not out.exists()


def test_summaries_plots_and_cohen_format(tmp_path):
    a, b = tmp_path / "a.tsv", tmp_path / "b.tsv"
    certify_dataset(tiny_smooth(0.25), tiny_data(), a, **RUN)
    certify_dataset(tiny_smooth(0.5), tiny_data(), b, **RUN)
    ra, rb = read_results(a), read_results(b)
    rows = summarize(ra, [0.0, 0.1], rho=0.001)
    assert [r["norm"] for r in rows] == ["2", "inf"]
    assert rows[0]["certified_accuracy"][0] == pytest.approx(ra.correct.mean())
    assert rows[0]["acr"] == pytest.approx(acr(ra.correct, ra.radii["2"]))
    assert rows[0]["certified_accuracy_hp"][0] < rows[0]["certified_accuracy"][0]
    scores = r_scores([ra, rb])
    assert scores["2"] >= max(acr(ra.correct, ra.radii["2"]), acr(rb.correct, rb.radii["2"]))
    fig = tmp_path / "fig.png"
    plot_results([ra, rb], fig, title="tiny")
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    cohen = tmp_path / "cohen.tsv"
    cohen.write_text("idx\tlabel\tpredict\tradius\tcorrect\ttime\n"
                     "0\t3\t3\t0.5\t1\t0:00:01.2\n1\t2\t-1\t0.0\t0\t0:00:01.1\n")
    rc = read_results(cohen)
    assert rc.norms == ["2"] and list(rc.abstain) == [False, True]
    assert certified_accuracy(rc.correct, rc.radii["2"], 0.5) == 0.5
