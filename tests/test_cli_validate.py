"""``unicr validate``: single checks, grids, ``--all`` reports and bad input (in-process CLI)."""

import csv
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import unicr
from unicr.cli import main
from unicr.closed_form import FORMULAS, get_formula
from unicr.validation.report import NOT_CHECKED, run_all, standard_checks

D = "3072"


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse-level errors exit directly
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv):
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_single_check_json_verdicts(capsys):
    tv = run_json(capsys, "validate", "gaussian", "--norm", "2", "--d", D, "--formula",
                  "hayes_tv", "--pa", "0.9", "--witness-n", "4000")
    assert tv["verdict"] == "UNSOUND" and tv["status"] == "unsound-as-printed"
    assert tv["claimed"] == pytest.approx(2 * 1.2815515655446004, rel=1e-9)  # twice Cohen
    band = tv["band"]
    assert band["tight"] and band["upper"] == pytest.approx(1.2815515655446004, rel=1e-5)
    assert tv["confidence"] == 1.0 and tv["method"].startswith("exact")
    assert tv["witness"]["norm_value"] < tv["claimed"]
    assert tv["worst_case"]["kind"] == "half-space"
    chk = tv["witness_check"]
    assert chk["confirmed"] and chk["p_a_unshifted"] >= 0.9 and chk["p_a_shifted_upper"] < 0.5
    cohen = run_json(capsys, "validate", "gaussian", "--sigma", "0.5", "--d", D, "--formula",
                     "cohen", "--pa", "0.8")
    assert cohen["verdict"] == "TIGHT" and cohen["witness_check"] is None
    assert cohen["formula_result"]["value"] == pytest.approx(0.5 * 0.8416212335729143)
    px = run_json(capsys, "validate", "gaussian", "--d", D, "--formula", "pixeldp_gaussian",
                  "--pa", "0.9", "--pb", "0.05")
    assert px["verdict"] == "LOOSE" and px["pb"] == 0.05 and px["margin"] > 0.5
    # a user's own number: LOOSE below R*, UNSOUND above it
    low = run_json(capsys, "validate", "laplace", "--norm", "1", "--d", D, "--claimed", "0.5",
                   "--pa", "0.9", "--witness-n", "0")
    r_star = -math.log(2 * 0.1) / math.sqrt(2)  # Teng, lambda = sigma / sqrt 2
    assert low["verdict"] == "LOOSE" and low["band"]["lower"] == pytest.approx(r_star, rel=1e-5)
    high = run_json(capsys, "validate", "laplace", "--norm", "1", "--d", D, "--claimed", "2",
                    "--pa", "0.9", "--witness-n", "20000")
    assert high["verdict"] == "UNSOUND" and high["witness"] is not None
    assert high["witness_check"]["confirmed"]


def test_single_check_text(capsys):
    code, out, _ = run(capsys, "validate", "gaussian", "--d", D, "--formula", "hayes_tv",
                       "--pa", "0.7", "--witness-n", "2000")
    assert code == 0
    assert "verdict: UNSOUND" in out and "witness" in out and "half-space" in out
    assert "CONFIRMED" in out
    code, out, _ = run(capsys, "validate", "pareto", "--d", D, "--formula", "yang_pareto",
                       "--pa", "0.9")
    assert code == 0 and "verdict: CONSISTENT" in out
    # --seed seeds the witness check; the exact engine (deterministic) does not take it
    code, out, err = run(capsys, "validate", "gaussian", "--d", D, "--formula", "hayes_tv",
                         "--pa", "0.9", "--seed", "3", "--witness-n", "1000")
    assert code == 0 and "seed 3" in out, err


def test_grid_mode_writes_files(capsys, tmp_path):
    fig, table = tmp_path / "px.png", tmp_path / "px.csv"
    code, out, err = run(capsys, "validate", "gaussian", "--d", D, "--formula",
                         "pixeldp_gaussian", "--pa-grid", "0.55", "0.999", "6", "-o", str(fig),
                         "--csv", str(table))
    assert code == 0, err
    assert "summary: LOOSE over 6 points" in out
    assert fig.stat().st_size > 10_000 and fig.read_bytes()[:4] == b"\x89PNG"
    rows = list(csv.DictReader(table.open()))
    assert len(rows) == 6 and {r["verdict"] for r in rows} == {"LOOSE"}
    for r in rows:
        assert float(r["claimed"]) < float(r["lower"]) <= float(r["upper"])
    data = run_json(capsys, "validate", "gaussian", "--d", D, "--formula", "hayes_tv",
                    "--pa", "0.6", "0.8", "0.95", "--witness-n", "2000")
    assert data["summary"] == "UNSOUND" and len(data["points"]) == 3
    assert data["witness_check"]["confirmed"]
    assert {p["verdict"] for p in data["points"]} == {"UNSOUND"}


def test_all_quick_report(capsys, tmp_path):
    code, out, err = run(capsys, "validate", "--all", "--quick", "--out", str(tmp_path),
                         "--no-figures", "--no-progress")
    assert code == 0, err
    assert "not checked: yang_powinf" in out
    md = (tmp_path / "report.md").read_text()
    res = json.loads((tmp_path / "results.json").read_text())

    def verdict(formula, noise, two_sided=False):
        for r in res["results"]:
            if (r["formula"] == formula and r["noise"].startswith(noise)
                    and (r["pb"] is not None) == two_sided):
                return r
        raise KeyError(formula)

    assert verdict("cohen", "gaussian")["summary"] == "TIGHT"
    assert verdict("pixeldp_gaussian", "gaussian")["summary"] == "LOOSE"
    assert verdict("li_renyi", "gaussian")["summary"] == "LOOSE"
    assert verdict("teng", "laplace")["summary"] == "TIGHT"
    tv = verdict("hayes_tv", "gaussian")
    assert tv["summary"] == "UNSOUND" and tv["witness_check"]["confirmed"]
    assert verdict("hayes_tv", "gaussian", two_sided=True)["summary"] == "UNSOUND"
    base = verdict("unicr_expinf_baseline", "expinf")
    assert base["summary"] in ("UNSOUND", "CONSISTENT")  # Monte Carlo band (d = 64, n 20,000)
    assert verdict("yang_expinf", "expinf")["summary"] != "UNSOUND"
    # no formula contradicts its published status
    assert all(r["agrees_with_status"] is not False for r in res["results"])
    # every formula of the library is either checked or listed with a reason
    checked = {r["formula"] for r in res["results"]}
    assert checked | set(NOT_CHECKED) == set(FORMULAS)
    for line in ("| `cohen` |", "| `pixeldp_gaussian` |", "| `hayes_tv` |"):
        assert line in md
    row = next(ln for ln in md.splitlines() if ln.startswith("| `hayes_tv` |"))
    assert "**UNSOUND**" in row and "confirmed" in row
    assert "**TIGHT**" in next(ln for ln in md.splitlines() if ln.startswith("| `cohen` |"))
    assert "**LOOSE**" in next(ln for ln in md.splitlines()
                               if ln.startswith("| `pixeldp_gaussian` |"))
    assert "## Not checked" in md and "yang_powinf" in md


def test_report_figures(tmp_path):
    checks = [c for c in standard_checks(quick=True)
              if c.figure in ("fig4b_gaussian_l2", "fig4a_laplace_l1")]
    rep = run_all(tmp_path, checks=checks, figures=True, witness_n=2000)
    assert set(rep.figures) == {"fig4_tightness_validation", "fig4b_gaussian_l2",
                                "fig4a_laplace_l1"}
    for path in rep.figures.values():
        assert path.exists() and path.read_bytes()[:4] == b"\x89PNG"
    md = (tmp_path / "report.md").read_text()
    assert "figures/fig4_tightness_validation.png" in md
    assert rep.verdict("cohen") == "TIGHT" and rep.verdict("hayes_tv") == "UNSOUND"


@pytest.mark.parametrize("argv,needle", [
    (["--formula", "nope", "--pa", "0.9"], "Available formulas"),
    (["--formula", "teng", "--pa", "0.9"], "applies to laplace"),
    (["--formula", "cohen", "--pa", "0.9", "--norm", "1"], "not l1"),
    (["--claimed", "0.3", "--pa", "0.9"], "--norm"),
    (["--claimed", "-1", "--pa", "0.9", "--norm", "2"], "claimed"),
    (["--claimed", "0.1", "0.2", "--pa", "0.9", "--norm", "2"], "one value or one per pA"),
    (["--formula", "cohen", "--pa", "0.9", "-o", "x.png"], "at least two pA"),
    (["--formula", "cohen", "--pa-grid", "0.9", "0.5", "5"], "LO <= HI"),
    (["--formula", "cohen", "--pa-grid", "0.5", "0.9", "2.5"], "positive integer"),
    (["--formula", "cohen", "--pa", "1.2"], "probability"),
    (["--formula", "cohen"], "--pa"),
    (["--formula", "cohen", "--pa", "0.9", "--pb", "0.2"], "pA + pB"),
    (["--formula", "hayes_kl", "--pa", "0.9", "--option", "convention=bogus"], "convention"),
    (["--formula", "cohen", "--pa", "0.9", "--method", "exact", "--n-mc", "100"], "Monte Carlo"),
    (["--formula", "cohen", "--pa", "0.9", "--n-mc", "100"], "--method mc"),
    (["--formula", "cohen", "--pa", "0.9", "--witness-n", "5"], "--witness-n"),
])
def test_bad_input_exit_code_2(capsys, argv, needle):
    code, _, err = run(capsys, "validate", "gaussian", "--d", "100", *argv)
    assert code == 2
    assert needle in err


@pytest.mark.parametrize("argv,needle", [
    (["validate", "--all"], "--out"),
    (["validate", "--all", "--out", "x", "gaussian"], "do not give NOISE"),
    (["validate", "--formula", "cohen", "--pa", "0.9"], "NOISE"),
    (["validate", "gaussian", "--d", "10", "--pa", "0.9"], "--formula"),
    (["validate", "laplace", "--d", "10", "--formula", "cohen", "--pa", "0.9"],
     "Formulas for laplace"),
    (["validate", "gaussian", "--d", "10", "--formula", "cohen", "--pa", "0.9", "--quick"],
     "--all"),
    (["validate", "nosuchnoise", "--d", "10", "--formula", "cohen", "--pa", "0.9"],
     "unknown noise"),
])
def test_bad_usage_exit_code_2(capsys, argv, needle):
    code, _, err = run(capsys, *argv)
    assert code == 2 and needle in err


def test_list(capsys):
    rows = run_json(capsys, "validate", "--list")
    assert {r["name"] for r in rows} == set(FORMULAS)
    code, out, _ = run(capsys, "validate", "--list")
    assert code == 0 and "hayes_tv" in out and "unsound-as-printed" in out


# ---------------------------------------------------------------------------
# every sound formula of the library stays below the engine's upper bound
# ---------------------------------------------------------------------------

_SOUND = ("tight", "lower")
#: (noise, params, norm) the exact engine handles, with the formulas that describe them
_PRODUCT_CASES = sorted({(c.noise, tuple(sorted(c.params.items())), str(c.norm))
                         for c in standard_checks(quick=True)
                         if c.noise in ("gaussian", "laplace", "uniform", "pareto", "gennorm")})


def _sound_formulas(noise, norm):
    out = []
    for c in standard_checks(quick=True):
        if (c.noise, tuple(sorted(c.params.items())), str(c.norm)) == (noise[0], noise[1], norm):
            out.append(c.formula)
    return sorted(set(out))


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(_PRODUCT_CASES), pa=st.floats(0.501, 0.9999),
       frac=st.floats(0.0, 1.0), two=st.booleans())
def test_sound_formulas_below_the_engine_upper_bound(case, pa, frac, two):
    name, params, norm = case
    nz = unicr.noise(name, sigma=1.0, **dict(params))
    pb = max((1.0 - pa) * frac, 1e-9) if two else None
    cert = unicr.radius(nz, pa, norm, int(D), pb=pb, method="exact")
    for fname in _sound_formulas((name, params), norm):
        f = get_formula(fname)
        res = f.evaluate(nz, pa, pb, norm, int(D))
        if res.status not in _SOUND or res.abstain:
            continue
        assert res.value <= cert.upper * (1 + 1e-9) + 1e-12, (fname, name, norm, pa, pb)
        assert res.value <= cert.upper or math.isinf(cert.upper)


def test_d_defaults_to_3072_like_curve_and_radius(capsys):
    """--d was required by validate (and radius) while curve defaulted to 3072."""
    code, out, _ = run(capsys, "validate", "gaussian", "--formula", "cohen", "--pa", "0.9")
    assert code == 0 and "d = 3072" in out and "verdict: TIGHT" in out
    code, out, _ = run(capsys, "radius", "laplace", "--pa", "0.9", "--norm", "inf")
    assert code == 0 and "d = 3072" in out
