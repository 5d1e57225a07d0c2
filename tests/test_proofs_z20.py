"""SymPy certificates of the Z20 claims (proofs/z20.py): each passes, none claims more than
"partial" (the rates of Z20's theorems are assumed and listed), and the same code run on a
wrong statement fails."""

from __future__ import annotations

import pytest

from proofs import z20
from proofs.z20 import _ALPHA

IDS = {"Z20.sgd-fails", "Z20.clip-strongly-convex", "Z20.clip-nonconvex",
       "Z20.threshold-tent", "Z20.coordinate"}


@pytest.fixture(scope="module")
def certs():
    return z20.certificates()


def test_every_certificate_passes_and_is_graded_partial(certs):
    assert set(certs) == IDS
    for cert in certs.values():
        assert cert.passed, cert.to_dict()
        assert cert.symbolic == "partial", cert.to_dict()
        assert cert.assumes, f"{cert.claim} assumes nothing but is not proved"


def test_sgd_fails_derives_the_infinite_second_moment(certs):
    checks = {c.statement: c for c in certs["Z20.sgd-fails"].checks}
    inf = [c for s, c in checks.items() if s.startswith("E (xi + s)^2 = inf")]
    assert len(inf) == 1 and inf[0].kind == "symbolic" and inf[0].passed
    assert "oo" in inf[0].detail


@pytest.mark.parametrize("make", [
    lambda: z20.z20_sgd_fails(growth=2 / _ALPHA),  # sum scale, not mean
    lambda: z20.z20_sgd_fails(median=-(_ALPHA - 1) / _ALPHA),  # the unsquared rate
    lambda: z20.z20_clip_strongly_convex(beta=(_ALPHA - 1) / _ALPHA),
    lambda: z20.z20_clip_nonconvex(target=-(_ALPHA - 1) / (3 * _ALPHA - 2)),
    lambda: z20.z20_threshold_tent(peak=1 / (2 * _ALPHA - 1)),
    lambda: z20.z20_coordinate(factor=1 / _ALPHA),
], ids=["sgd-growth", "sgd-median", "clip-rate", "nonconvex", "tent-peak", "coordinate"])
def test_a_wrong_statement_fails(make):
    cert = make()
    assert not cert.passed and cert.symbolic == "none"
