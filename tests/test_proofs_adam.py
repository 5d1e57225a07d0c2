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
    """The certificate run on the RMSProp rate with a slip (4/b instead of 2/b) fails."""
    b = sp.Symbol("b", positive=True)
    wrong = adam.adam_k24_rate(2 * (sp.sqrt(1 + 4 / b**2) - 4 / b))
    assert not wrong.passed and wrong.symbolic == "none"
    assert adam.adam_k24_rate(2 * (sp.sqrt(1 + 4 / b**2) - 2 / b)).passed


def test_wrong_lag_fails():
    """An exponential average lags by eta beta/(1 - beta), not eta/(1 - beta)."""
    q, eta, g1 = sp.symbols("q eta g1", positive=True)
    beta = 1 / (1 + q)
    assert not adam._zero(-eta * g1 / q + g1 * eta / (1 - beta))
