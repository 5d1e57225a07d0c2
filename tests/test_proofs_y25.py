"""SymPy certificates of Y25.sf-extinction and Y25.sf-vs-nf (proofs/y25.py): they pass as
"partial" (the flows' dynamics are assumed and listed) and fail on a wrong statement."""

from __future__ import annotations

import sympy as sp

from proofs import y25


def test_certificates_pass_and_are_partial():
    certs = y25.certificates()
    assert set(certs) == {"Y25.sf-extinction", "Y25.sf-vs-nf"}
    for cert in certs.values():
        assert cert.passed and cert.symbolic == "partial" and cert.assumes, cert.to_dict()


def test_wrong_statements_fail():
    a, c = sp.Symbol("a", positive=True), sp.Symbol("c", positive=True)
    assert not y25.y25_sf_extinction(a * sp.log(c)).passed  # the range, not half of it
    assert not y25.y25_sf_vs_nf(sp.Integer(2)).passed  # Var(log U) is 1
