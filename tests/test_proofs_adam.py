"""SymPy certificates of the adam.* claims (proofs/adam.py): all symbolic, and a wrong statement
fails the same checks."""

from __future__ import annotations

import sympy as sp

from proofs import adam


def test_every_certificate_is_proved():
    certs = adam.certificates()
    assert set(certs) == {"adam.ode", "adam.small-step", "adam.k24-rate", "adam.k24-classes"}
    for cert in certs.values():
        assert cert.passed and cert.symbolic == "proved", cert.to_dict()


def test_wrong_rate_fails():
    """The RMSProp root with a slip (4/b instead of 2/b) does not solve the rate equation."""
    b = sp.Symbol("b", positive=True)
    wrong = 2 * (sp.sqrt(1 + 4 / b**2) - 4 / b)
    assert not adam._zero(sp.expand(wrong**2 - 4 * (1 - 2 * wrong / b)))


def test_wrong_lag_fails():
    """An exponential average lags by eta beta/(1 - beta), not eta/(1 - beta)."""
    q, eta, g1 = sp.symbols("q eta g1", positive=True)
    beta = 1 / (1 + q)
    assert not adam._zero(-eta * g1 / q + g1 * eta / (1 - beta))
