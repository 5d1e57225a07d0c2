"""python -m linsim.verify and python -m linsim.figures: the registry, exit codes, failure path."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from linsim import verify
from linsim.claims import CLAIMS, FIGURES, Claim, Measurement


def test_every_claim_has_an_id_a_statement_and_a_known_figure():
    assert CLAIMS, "the registry is empty"
    for cid, claim in CLAIMS.items():
        assert cid == claim.id and "." in cid and claim.paper == cid.split(".")[0]
        assert claim.statement and claim.simulate
        assert claim.figure is None or claim.figure in FIGURES
    for fig in FIGURES.values():
        assert all(c in CLAIMS for c in fig.claims), fig.name


@pytest.mark.parametrize("compare,measured,ok", [
    ("rel", 2.01, True), ("rel", 2.03, False), ("abs", 2.01, True), ("abs", 2.2, False),
    ("max", 0.009, True), ("max", 0.011, False), ("max", float("nan"), False),
])
def test_measurement_comparisons(compare, measured, ok):
    pred = 0.0 if compare == "max" else 2.0
    tol = 0.01 if compare != "abs" else 0.05
    assert Measurement(measured, pred, tol, compare).passed is ok


def test_verify_quick_passes_for_k24_in_json():
    """The quick verification of the K24 claims: all PASS, fitted from simulations."""
    out = subprocess.run([sys.executable, "-m", "linsim.verify", "--quick", "--json",
                          "--claims", "K24.gf-rate,K24.sf-closed-form,K24.nf-reparam"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr + out.stdout
    rows = json.loads(out.stdout)
    assert [r["id"] for r in rows] == ["K24.gf-rate", "K24.sf-closed-form", "K24.nf-reparam"]
    for r in rows:
        assert set(r) >= {"id", "status", "symbolic", "measured", "predicted", "tolerance",
                          "prediction_source", "tolerance_reason", "evidence"}
        assert r["status"] == "PASS"
        assert r["symbolic"] in ("proved", "partial", "numeric")


def test_every_claim_meets_the_standard():
    """THEORY.md, "What a PASS must mean": a stated source for the prediction and the tolerance,
    and a negative control that changes the simulation or the data, for every claim."""
    lacking = {cid: c.problems() for cid, c in CLAIMS.items() if c.problems()}
    assert not lacking, lacking


def _toy():
    from linsim.claims import Control

    def check(quick, x=2.0):
        return Measurement(x, 2.0, 0.01, "rel")

    controls = (
        Control("x moved far", lambda q: check(q, 3.0), "simulation"),
        Control("x barely moved", lambda q: check(q, 2.001), "data"),
        Control("rule moved", lambda q: Measurement(3.0, 3.0, 0.01, "rel"), "simulation"),
        Control("crashes", lambda q: 1 / 0, "simulation"),
    )
    return Claim("K24.toy", "K24", "x is 2", "none", check, prediction_source="THEORY.md",
                 tolerance_reason="exact arithmetic", controls=controls)


def test_controls_report_detected_missed_invalid_and_error(capsys):
    toy = _toy()
    code = verify.main(["--controls", "--json", "--claims", toy.id], registry={toy.id: toy})
    rows = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [c["status"] for c in rows[0]["control"]] == ["DETECTED", "MISSED", "INVALID", "ERROR"]
    assert rows[0]["status"] == "MISSED"
    assert rows[0]["control"][0]["measured"] == 3.0


def test_a_claim_whose_controls_are_all_detected_exits_0(capsys):
    from dataclasses import replace

    toy = _toy()
    toy = replace(toy, controls=toy.controls[:1])
    code = verify.main(["--controls", "--json", "--claims", toy.id], registry={toy.id: toy})
    rows = json.loads(capsys.readouterr().out)
    assert code == 0 and rows[0]["status"] == "DETECTED"


def test_a_claim_without_a_simulation_control_is_missed(capsys):
    from dataclasses import replace

    from linsim.claims import Control

    toy = _toy()
    only_prediction = (Control("predict 3", lambda q: Measurement(2.0, 3.0, 0.01), "prediction"),)
    toy = replace(toy, controls=only_prediction)
    assert toy.problems() == ["no control that changes the simulation or the data"]
    code = verify.main(["--controls", "--claims", toy.id], registry={toy.id: toy})
    assert code == 1 and "no control that changes" in capsys.readouterr().out


@pytest.mark.slow
def test_every_control_of_every_claim_is_detected_quick():
    """CI's negative controls: ``verify --controls --quick`` over the whole registry."""
    out = subprocess.run([sys.executable, "-m", "linsim.verify", "--controls", "--quick",
                          "--json"], capture_output=True, text=True, timeout=900)
    rows = json.loads(out.stdout)
    missed = {r["id"]: [(c["mutant"], c["status"], c["error"]) for c in r["control"]
                        if c["status"] != "DETECTED"] or r["problems"]
              for r in rows if r["status"] != "DETECTED"}
    assert not missed, missed
    assert out.returncode == 0
    assert {r["id"] for r in rows} == set(CLAIMS)


def test_a_failing_simulation_is_reported_as_fail_with_reason(capsys):
    def boom(quick):
        raise RuntimeError("integration failed at t=1: test")

    claim = Claim("K24.test-broken", "K24", "a claim whose simulation fails", "none", boom)
    code = verify.main(["--claims", claim.id], registry={claim.id: claim})
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL" in out and "integration failed at t=1" in out


def test_unknown_claim_id_exits_2_with_one_line(capsys):
    code = verify.main(["--claims", "K24.gf-rate,K99.nonsense"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "K99.nonsense" in err[0]


def test_figures_writes_png_and_pdf_for_one_claim(tmp_path, capsys):
    from linsim import figures

    assert figures.main(["--only", "K24.decouple", "--out", str(tmp_path)]) == 0
    png, pdf = tmp_path / "k24_decouple.png", tmp_path / "k24_decouple.pdf"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert figures.main(["--only", "nope", "--out", str(tmp_path)]) == 2


#: Claims whose simulation disagrees with THEORY.md at the quick settings: findings, explained
#: in the README ("Findings") and in each claim's detail. They must keep failing until THEORY.md
#: or the evidence changes; a change either way should be seen, not slip through.
QUICK_FINDINGS = {"K24.assignment", "K24.assignment-iid", "K24.experiment"}


@pytest.mark.slow
def test_verify_quick_every_claim_passes_but_the_reported_findings():
    """What CI runs: every claim of every paper, quick settings."""
    out = subprocess.run([sys.executable, "-m", "linsim.verify", "--quick", "--json"],
                         capture_output=True, text=True, timeout=1200)
    rows = json.loads(out.stdout)
    failed = {r["id"] for r in rows if r["status"] == "FAIL"}
    assert failed == QUICK_FINDINGS, [(r["id"], r["error"]) for r in rows
                                      if r["id"] in failed ^ QUICK_FINDINGS]
    assert out.returncode == 1
    assert {r["id"] for r in rows} == set(CLAIMS)
