"""Tests for :mod:`proofs.k24`, the SymPy certificates of the K24 continuous-time claims.

Besides checking that every certificate passes, the tests make sure the checks can fail (a wrong
margin ODE, a false inequality) and cross-check the certified formulas numerically, independently
of SymPy: the GF bounds and limit, the reference numbers of THEORY.md, the sign-flow gradient
signs, and the normalized-flow reparametrization on a simulated c = 3 model.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from proofs import Certificate, k24, nonneg_from_zero, report

CLAIMS = [
    "K24.decouple",
    "K24.gf-closed-form",
    "K24.gf-rate",
    "K24.sf-closed-form",
    "K24.nf-reparam",
]


@pytest.fixture(scope="module")
def certs() -> dict[str, Certificate]:
    return k24.certificates()


# ---------------------------------------------------------------------------------------------
# the certificates
# ---------------------------------------------------------------------------------------------
def test_every_claim_has_a_certificate(certs):
    assert list(certs) == CLAIMS
    for claim, cert in certs.items():
        assert cert.claim == claim
        assert cert.checks, claim


@pytest.mark.parametrize("claim", CLAIMS)
def test_certificate_passes(certs, claim):
    cert = certs[claim]
    failed = [c.statement for c in cert.checks if not c.passed]
    assert cert.passed, failed


@pytest.mark.parametrize("claim", CLAIMS)
def test_certificate_is_fully_symbolic(certs, claim):
    # With SymPy 1.14 nothing falls back to numerics; a regression here changes the report.
    assert certs[claim].symbolic == "proved", [(c.kind, c.statement) for c in certs[claim].checks]


@pytest.mark.parametrize("claim", CLAIMS)
def test_statements_are_one_line(certs, claim):
    for chk in certs[claim].checks:
        assert "\n" not in chk.statement
        assert chk.kind in ("symbolic", "numeric")


def test_gf_closed_form_ode_checks_are_symbolic(certs):
    ode = [c for c in certs["K24.gf-closed-form"].checks if "solves u'" in c.statement]
    assert len(ode) == 2  # implicit form and Lambert-W form
    for chk in ode:
        assert chk.kind == "symbolic", chk
        assert chk.passed, chk


@pytest.mark.parametrize("form", ["implicit", "lambert"])
def test_true_margin_ode_is_accepted(form):
    ok, kind, detail = k24._check_margin_solution(1, form)
    assert ok and kind == "symbolic", detail


@pytest.mark.parametrize("form", ["implicit", "lambert"])
@pytest.mark.parametrize("factor", [2, sp.Rational(1, 2), -1, sp.Rational(101, 100)])
def test_wrong_margin_ode_is_rejected(form, factor):
    ok, kind, detail = k24._check_margin_solution(factor, form)
    assert not ok, detail
    assert kind == "symbolic", detail  # rejected by a nonzero closed-form residual


def test_unknown_form_raises():
    with pytest.raises(ValueError):
        k24._check_margin_solution(1, "explicit")


@pytest.mark.parametrize(("factor", "expected"), [(1, True), (2, False)])
def test_numeric_fallback_separates_right_from_wrong(factor, expected):
    u, _ = k24._lambert_margin()
    residual = sp.diff(u, k24._T) - k24._margin_rhs(u, factor)
    ok, detail = k24._numeric_margin_residual(residual)
    assert ok is expected, detail


def test_monotonicity_lemma_rejects_false_inequalities():
    y = sp.Symbol("y", nonnegative=True)
    assert nonneg_from_zero(y - sp.log(1 + y), y)[0]
    assert not nonneg_from_zero(sp.log(1 + y) - y, y)[0]  # false: log(1+y) <= y
    assert not nonneg_from_zero(y + 1, y)[0]  # h(0) != 0
    u = sp.Symbol("u", nonnegative=True)
    assert nonneg_from_zero(sp.exp(u) - 1 - u, u)[0]  # needs the second derivative
    assert not nonneg_from_zero(sp.exp(u) - 1 - u, u, depth=1)[0]


def test_a_failed_check_is_not_reported_as_proved():
    cert = Certificate("K24.fake")
    cert.add("true", "symbolic", True)
    cert.add("false", "symbolic", False)
    assert not cert.passed and cert.symbolic == "none"


def test_table_lists_every_claim(certs):
    text = report(certs)
    for claim, cert in certs.items():
        assert claim in text
        for chk in cert.checks:
            assert chk.statement in text


# ---------------------------------------------------------------------------------------------
# independent numerics of the certified formulas
# ---------------------------------------------------------------------------------------------
def margin(c: int, pi: float, t: float) -> float:
    """Solve e^u + (c-1) u = 1 + c pi t by Newton from u = log(1 + c pi t) (from above)."""
    f = 1.0 + c * pi * t
    u = np.log(f)
    for _ in range(200):
        step = (np.exp(u) + (c - 1) * u - f) / (np.exp(u) + c - 1)
        u -= step
        if abs(step) <= 1e-15 * max(1.0, u):
            break
    return float(u)


def gf_loss(c: int, pi: float, t: float) -> float:
    return float(np.log1p((c - 1) * np.exp(-margin(c, pi, t))))


@settings(max_examples=300, deadline=None)
@given(
    c=st.integers(2, 10**7),
    log_pi=st.floats(-7, 0),
    log_t=st.one_of(st.just(-np.inf), st.floats(-6, 8)),
)
def test_gf_bounds_hold_numerically(c, log_pi, log_t):
    pi, t = 10.0**log_pi, 10.0**log_t
    loss = gf_loss(c, pi, t)
    lower = (1 - 1 / c) / (1 + pi * t)
    upper = (c - 1) / (1 + pi * t)
    assert lower * (1 - 1e-9) <= loss <= upper * (1 + 1e-9)


@pytest.mark.parametrize("c", [2, 5, 1000])
def test_gf_rate_limit_numerically(c):
    pi = 0.01
    t = 1e11 / pi
    assert pi * t * gf_loss(c, pi, t) == pytest.approx(1 - 1 / c, rel=1e-6)


def test_gf_margin_ode_numerically():
    c, pi = 7, 0.05
    for t in (0.0, 1.0, 30.0, 1e4):
        h = 1e-6 * max(1.0, t)
        du = (margin(c, pi, t + h) - margin(c, pi, max(t - h, 0.0))) / (h + min(h, t))
        assert du == pytest.approx(c * pi / (np.exp(margin(c, pi, t)) + c - 1), rel=1e-5)
    assert margin(c, pi, 0.0) == pytest.approx(0.0, abs=1e-14)


def test_theory_reference_numbers():
    # THEORY.md, measured reference: c = 5, a = 1.
    c = 5
    pi = 1 / np.arange(1, c + 1)
    pi /= pi.sum()
    u_target = -np.log(np.expm1(0.1) / (c - 1))  # l = 0.1
    t_gf = (np.exp(u_target) + (c - 1) * u_target - 1) / (c * pi)
    assert np.round(t_gf, 1) == pytest.approx([23.6, 47.1, 70.7, 94.2, 117.8])
    assert u_target / 2 == pytest.approx(1.819, abs=5e-4)  # SF: u = 2t
    for t, ref in [(2, 3.86), (4, 3.997), (8, 4.000)]:
        assert np.exp(2 * t) * np.log1p((c - 1) * np.exp(-2 * t)) == pytest.approx(ref, abs=1e-3)


def softmax_grad(W: np.ndarray, pi: np.ndarray) -> np.ndarray:
    """grad_W L = sum_k pi_k (softmax(W e_k) - e_k) e_k^T."""
    Z = W - W.max(axis=0)
    P = np.exp(Z) / np.exp(Z).sum(axis=0)
    return (P - np.eye(W.shape[0])) * pi


@pytest.mark.parametrize("c", [2, 3, 10])
def test_sf_gradient_signs_numerically(c):
    rng = np.random.default_rng(c)
    pi = rng.dirichlet(np.ones(c))
    for t in (0.0, 0.3, 3.0, 15.0):
        W = t * (2 * np.eye(c) - np.ones((c, c)))
        G = softmax_grad(W, pi)
        assert np.all(-np.sign(G) == 2 * np.eye(c) - np.ones((c, c)))
    t = 1.5
    W = t * (2 * np.eye(c) - np.ones((c, c)))
    Z = W - W.max(axis=0)
    loss = -np.log(np.diag(np.exp(Z) / np.exp(Z).sum(axis=0)))
    assert loss == pytest.approx(np.log1p((c - 1) * np.exp(-2 * t)))


def test_nf_matches_gf_at_equal_loss():
    c = 3
    pi = np.array([0.6, 0.3, 0.1])

    def per_class(W: np.ndarray) -> np.ndarray:
        Z = W - W.max(axis=0)
        return -np.log(np.diag(np.exp(Z) / np.exp(Z).sum(axis=0)))

    def nf(_s, w):
        g = softmax_grad(w.reshape(c, c), pi).ravel()
        return -g / np.linalg.norm(g)

    sol = solve_ivp(nf, (0.0, 4.0), np.zeros(c * c), rtol=1e-11, atol=1e-12, dense_output=True)
    assert sol.success
    for s in (0.5, 2.0, 4.0):
        nf_losses = per_class(sol.sol(s).reshape(c, c))
        total = pi @ nf_losses

        def gap(t: float, target: float = total) -> float:
            return pi @ [gf_loss(c, p, t) for p in pi] - target

        t_gf = brentq(gap, 0.0, 1e6, xtol=1e-13)
        gf_losses = np.array([gf_loss(c, p, t_gf) for p in pi])
        np.testing.assert_allclose(nf_losses, gf_losses, rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# the certificates' own code on wrong statements
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("factor", [2, sp.Rational(1, 2)])
def test_decouple_certificate_rejects_a_wrong_margin_ode(factor):
    cert = k24.k24_decouple(rhs_factor=factor)
    assert not cert.passed and cert.symbolic == "none"
    assert k24.k24_gf_closed_form(rhs_factor=factor).symbolic == "none"


@pytest.mark.parametrize("limit", [1, 1 - 1 / (k24._C + 1), k24._C - 1])
def test_gf_rate_certificate_rejects_a_wrong_limit(limit):
    assert k24.k24_gf_rate(limit=limit).symbolic == "none"


@pytest.mark.parametrize("exponent", [k24._C, 1, 3])
def test_sf_certificate_rejects_a_wrong_exponent(exponent):
    """The slip e^(-ct) (THEORY.md) and other exponents fail the certificate's own checks."""
    cert = k24.k24_sf_closed_form(exponent=exponent)
    assert not cert.passed and cert.symbolic == "none"


def test_proved_certificates_derive_their_premises(certs):
    """A "proved" certificate that rests on another one checks that one is proved too."""
    deps = {"K24.gf-closed-form": "K24.decouple (proved)",
            "K24.gf-rate": "K24.gf-closed-form (proved)"}
    for claim, stmt in deps.items():
        assert any(c.statement.startswith(stmt) and c.passed for c in certs[claim].checks)
    assert any(c.statement.startswith("any c:") for c in certs["K24.decouple"].checks)
    assert any(c.statement.startswith("any dimension n") for c in certs["K24.nf-reparam"].checks)


def test_general_c_column_gradient():
    ok, detail = k24._column_gradient_any_c()
    assert ok, detail
