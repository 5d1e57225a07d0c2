"""SymPy certificates of the adam.* claims (proofs/adam.py): graded honestly ("partial", with
the steps they assume), and the certificates' own code fails on a wrong statement."""

from __future__ import annotations

import math

import pytest
import sympy as sp

from linsim.experiments.adam import asymptotic_rate
from proofs import adam


@pytest.fixture(scope="module")
def certs():
    return adam.certificates()


def test_every_certificate_passes_and_is_partial_with_its_assumptions(certs):
    assert set(certs) == {"adam.ode", "adam.small-step", "adam.k24-rate", "adam.k24-classes"}
    for cert in certs.values():
        assert cert.passed, cert.to_dict()
        # none derives its claim whole: each lists what it takes as given
        assert cert.symbolic == "partial" and cert.assumes, cert.to_dict()
        assert all(c.kind == "symbolic" for c in cert.checks)


def test_ode_certificate_assumes_the_global_bound(certs):
    assert any("global O(eta)" in a for a in certs["adam.ode"].assumes)


def test_rate_root_is_derived_from_the_reduced_ode(certs):
    stmts = [c.statement for c in certs["adam.k24-rate"].checks]
    assert any(s.startswith("the fixed point M = -aP/(a - r)") for s in stmts)
    assert any("autonomous" in s for s in stmts)


def test_wrong_rate_equation_fails():
    """The certificate's fixed-point derivation run on a wrong root equation fails."""
    a, b, r = adam._a, adam._b, adam._r
    for wrong in (r - 2 * (a / (a - r)) * sp.sqrt(1 - r / b),      # 2r/b -> r/b
                  r - 2 * sp.sqrt(1 - 2 * r / b),                  # RMSProp's, for Adam
                  r - 2 * (a / (a - 2 * r)) * sp.sqrt(1 - 2 * r / b)):
        cert = adam.adam_k24_rate(rate_eq=wrong)
        assert not cert.passed and cert.symbolic == "none"
        failed = [c.statement for c in cert.checks if not c.passed]
        assert len(failed) == 1 and "fixed point" in failed[0]
    assert adam.adam_k24_rate(rate_eq=r - 2 * (a / (a - r)) * sp.sqrt(1 - 2 * r / b)).passed


def test_wrong_rmsprop_closed_form_fails():
    """The RMSProp rate with a slip (4/b instead of 2/b) fails."""
    b = sp.Symbol("b", positive=True)
    wrong = adam.adam_k24_rate(2 * (sp.sqrt(1 + 4 / b**2) - 4 / b))
    assert not wrong.passed and wrong.symbolic == "none"


def test_wrong_moment_scaling_fails():
    """v scaled by pi (not pi^2) leaves pi in the reduced field: the class check fails."""
    assert not adam.adam_k24_classes(power=1).passed
    assert adam.adam_k24_classes(power=2).passed


def test_wrong_lag_fails():
    """An exponential average lags by eta beta/(1 - beta), not eta/(1 - beta)."""
    q, eta, g1 = sp.symbols("q eta g1", positive=True)
    beta = 1 / (1 + q)
    assert not adam._zero(-eta * g1 / q + g1 * eta / (1 - beta))


@pytest.mark.parametrize("a,b", [(1.0, 1.0), (10.0, 10.0), (10.0, 1.0), (6.0, 10.0)])
def test_certified_equation_is_what_the_experiment_solves(a, b):
    """asymptotic_rate (brentq) returns a root of the certified equation; r > 2 at (6, 10)."""
    r = asymptotic_rate(a, b)
    assert r - 2 * (a / (a - r)) * math.sqrt(1 - 2 * r / b) == pytest.approx(0.0, abs=1e-12)
    assert (r > 2.0) == ((a, b) == (6.0, 10.0))
