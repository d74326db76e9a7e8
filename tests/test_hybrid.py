"""Nandi et al. 2023's hybrid certifier (unicr.smoothing.hybrid): the rule table on constructed
counts, the sound rule never above either certificate, norm conversion, results files, CLI."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm as normal

from unicr.cli import main
from unicr.closed_form import convert_radius
from unicr.closed_form.nandi import nandi_uniform_l1, nandi_uniform_l2
from unicr.errors import InvalidParameterError
from unicr.smoothing.dataset import read_results
from unicr.smoothing.hybrid import HYBRID_COLUMNS, best_radius, combine, combine_results
from unicr.smoothing.smooth import certify_from_counts

D = 784
ALPHA = 0.001
SIG_G, SIG_U = 0.5, 0.6


def gauss(pa, pb, p):  # Cohen et al. 2019: the Gaussian l2 radius (binary)
    return SIG_G * normal.ppf(pa) if p == 2 else None


def unif(pa, pb, p):  # Nandi et al. 2023 / Yang et al. 2020: the uniform l1 radius
    return nandi_uniform_l1(pa, SIG_U) if p == 1 else None


def cert(top: int, n_top: int, radius, norm, n: int = 1000, k: int = 10):
    """A certificate from constructed counts: ``n_top`` of ``n`` on class ``top``, the rest
    spread over the other classes (the same counts for selection and estimation)."""
    rest = n - n_top
    counts = np.full(k, rest // (k - 1), dtype=np.int64)
    counts[: rest % (k - 1)] += 1
    counts = np.insert(counts[:-1], top, n_top)
    return certify_from_counts(counts, counts, ALPHA, [norm], radius)


def g_cert(top, n_top):
    return cert(top, n_top, gauss, 2)


def u_cert(top, n_top):
    return cert(top, n_top, unif, 1)


def test_norm_conversions_are_nandis_and_sound():
    assert convert_radius(0.7, 2, 1, D) == 0.7  # Gaussian l1 := l2
    assert convert_radius(0.7, 1, 2, D) <= 0.7 / math.sqrt(D)  # Uniform l2 := l1 / sqrt(d)
    assert convert_radius(0.7, 1, 2, D) == pytest.approx(0.7 / 28, rel=1e-9)
    assert convert_radius(0.7, 2, "inf", D) == pytest.approx(0.7 / 28, rel=1e-9)
    assert convert_radius(0.7, "inf", 1, D) == 0.7
    pa = 0.93
    assert convert_radius(nandi_uniform_l1(pa, SIG_U), 1, 2, D) == nandi_uniform_l2(pa, SIG_U, D)
    with pytest.raises(InvalidParameterError, match="dimension"):
        best_radius({1.0: 1.0}, 2, 0)


def test_rule_table_on_constructed_counts():
    ga, ua = g_cert(3, 990), u_cert(3, 900)  # both certify class 3
    assert not ga.abstain and not ua.abstain
    rg2 = ga.radius(2)
    ru1 = ua.radius(1)
    ru2 = convert_radius(ru1, 1, 2, D)
    sound = combine(ga, ua, D)
    pub = combine(ga, ua, D, rule="as-published")
    assert sound.category == pub.category == "agree"
    assert sound.prediction == pub.prediction == 3
    assert sound.radii == {1.0: min(rg2, ru1), 2.0: min(rg2, ru2)}
    assert pub.radii == {1.0: max(rg2, ru1), 2.0: max(rg2, ru2)}
    assert sound.certificate and not pub.certificate
    assert sound.confidence == pytest.approx(1 - 2 * ALPHA)
    assert "NOT a certificate" in pub.statement

    gx = g_cert(3, 400)  # the Gaussian classifier abstains (pA_lower < 1/2)
    assert gx.abstain
    for rule in ("sound", "as-published"):
        h = combine(gx, ua, D, rule=rule)
        assert h.category == "a-abstained"
    assert combine(gx, ua, D).abstain
    pub = combine(gx, ua, D, rule="as-published")
    assert pub.prediction == 3 and pub.radii == {1.0: ru1, 2.0: ru2}

    ux = u_cert(3, 450)
    assert ux.abstain
    assert combine(ga, ux, D).abstain and combine(ga, ux, D).category == "b-abstained"
    pub = combine(ga, ux, D, rule="as-published")
    assert pub.prediction == 3 and pub.radii == {1.0: rg2, 2.0: rg2}

    for rule in ("sound", "as-published"):
        both = combine(gx, ux, D, rule=rule)
        assert both.abstain and both.category == "both-abstained" and both.radii == {}
        dis = combine(ga, u_cert(5, 900), D, rule=rule)
        assert dis.abstain and dis.category == "disagree" and dis.radius(1) is None


def test_sound_rule_never_reports_more_than_either_certificate():
    rng = np.random.default_rng(0)
    for _ in range(300):
        a = g_cert(int(rng.integers(0, 3)), int(rng.integers(300, 1001)))
        b = u_cert(int(rng.integers(0, 3)), int(rng.integers(300, 1001)))
        s = combine(a, b, D)
        p_ = combine(a, b, D, rule="as-published")
        if s.abstain:
            continue
        assert s.prediction == a.prediction == b.prediction
        for p in (1, 2):
            r = s.radius(p)
            assert r <= best_radius(a.radii, p, D) and r <= best_radius(b.radii, p, D)
            assert r <= p_.radius(p)


def test_bad_rule_is_refused():
    with pytest.raises(InvalidParameterError, match="hybrid rule"):
        combine(g_cert(0, 990), u_cert(0, 990), D, rule="max")


# -- results files and the CLI ------------------------------------------------------------

def hybrid_args(ckpt, out, *extra):  # the first 4 test images of the installed Fashion-MNIST
    return ["certify", "--model", str(ckpt), "--data", "fashion-mnist",
            "--noise", "gaussian", "--sigma", "0.25", "--n0", "10", "--n", "200", "--alpha",
            "0.01", "--norms", "2", "--out", str(out), "--max", "4", "--batch", "200",
            "--no-progress", *extra]


def test_cli_hybrid_writes_analyze_readable_files(ckpt, tmp_path, capsys):
    out = tmp_path / "g.tsv"
    argv = hybrid_args(ckpt, out, "--hybrid-noise", "uniform", "--hybrid-sigma", "0.3")
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "NOT a certificate" in text
    ra, rb = read_results(out), read_results(tmp_path / "g.hybrid-b.tsv")
    sound = read_results(tmp_path / "g.hybrid-sound.tsv")
    pub = read_results(tmp_path / "g.hybrid-as-published.tsv")
    assert len(sound) == len(pub) == 4 and sound.norms == ["1", "2"]
    assert sound.columns[-len(HYBRID_COLUMNS):] == list(HYBRID_COLUMNS)
    assert sound.header["hybrid"]["certificate"] is True
    assert pub.header["hybrid"]["certificate"] is False
    for i in range(4):  # the file rows are the library rule on the two files' rows
        for p in ("1", "2"):
            if not sound.abstain[i]:
                assert sound.radii[p][i] <= pub.radii[p][i]
                assert sound.predict[i] == ra.predict[i] == rb.predict[i]
    # the same combination from the library, and resuming is a no-op
    again = combine_results(out, tmp_path / "g.hybrid-b.tsv", tmp_path / "again.tsv")
    assert again.read_text() == (tmp_path / "g.hybrid-sound.tsv").read_text()
    assert main(argv) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert main(["analyze", str(out), str(tmp_path / "g.hybrid-sound.tsv"),
                 str(tmp_path / "g.hybrid-as-published.tsv")]) == 0
    shown = capsys.readouterr().out
    assert "hybrid-sound" in shown and "AVG ACR" in shown  # Nandi's (l1 ACR + l2 ACR) / 2


def test_cli_hybrid_bad_input_exits_2(ckpt, tmp_path, capsys):
    out = tmp_path / "g.tsv"
    assert main(hybrid_args(ckpt, out, "--hybrid-sigma", "0.3")) == 2
    assert "--hybrid-noise" in capsys.readouterr().err
    assert main(hybrid_args(ckpt, out, "--hybrid-noise", "uniform",
                            "--hybrid-out", str(out))) == 2
    assert "different files" in capsys.readouterr().err
    assert main(hybrid_args(ckpt, out, "--hybrid-noise", "nonesuch")) == 2
    assert not out.exists()  # every check runs before the first certification
