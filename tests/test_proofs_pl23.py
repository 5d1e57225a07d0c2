"""Tests for :mod:`proofs.pl23`: every certificate passes with an honest grade, and each one's own
code FAILs when it is handed a wrong statement (PL23.sharpness, PL23.clip-helps,
PL23.stable-step)."""

from __future__ import annotations

import pytest
import sympy as sp

from proofs import Certificate, pl23

CLAIMS = ["PL23.sharpness", "PL23.clip-helps", "PL23.stable-step"]


@pytest.fixture(scope="module")
def certs() -> dict[str, Certificate]:
    return pl23.certificates()


def test_every_certificate_passes(certs):
    assert list(certs) == CLAIMS
    for cid, cert in certs.items():
        assert cert.claim == cid
        assert cert.passed, [c.statement for c in cert.checks if not c.passed]
        assert all("\n" not in c.statement for c in cert.checks)


def test_grades_are_honest(certs):
    assert certs["PL23.sharpness"].symbolic == "proved"
    # Newton's bound is only checked numerically
    assert certs["PL23.clip-helps"].symbolic == "partial"
    assert any(c.kind == "numeric" for c in certs["PL23.clip-helps"].checks)
    # the 2/h_(m+1) prediction rests on an assumed step (the unstable coordinates hold the slots)
    st = certs["PL23.stable-step"]
    assert st.symbolic == "partial" and st.assumes


@pytest.mark.parametrize("make,wrong", [
    (lambda: pl23.pl23_sharpness(weight_power=1), "S(g) weighted by |g| instead of g^2"),
    (lambda: pl23.pl23_sharpness(sign_curvature=lambda h: sp.Max(*h)),
     "S(sign g) = the largest curvature"),
    (lambda: pl23.pl23_clip_helps(helps_G=1000), "clipping helps when the sharp group holds 99%"),
    (lambda: pl23.pl23_clip_helps(hurts_G=10), "clipping hurts when the sharp group holds 1%"),
    (lambda: pl23.pl23_stable_step(limit=1), "GD stable iff eta < 1/h"),
    (lambda: pl23.pl23_stable_step(limit=4), "GD stable iff eta < 4/h"),
])
def test_a_wrong_statement_fails_its_own_certificate(make, wrong):
    cert = make()
    assert not cert.passed, wrong
    assert cert.symbolic == "none"
