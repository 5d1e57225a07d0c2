"""Tests for :mod:`proofs.z24`: the certificates pass, say honestly what is symbolic, and can fail;
the certified formulas are cross-checked numerically against simulations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from linsim import optimizers as opt
from linsim.problems import quadratic as quad
from proofs import Certificate, z24

CLAIMS = ["Z24.gf-closed-form", "Z24.sf-diagonal", "Z24.gd-lower-bound", "Z24.adam-bound",
          "Z24.scale-invariance"]


@pytest.fixture(scope="module")
def certs() -> dict[str, Certificate]:
    return z24.certificates()


def test_every_certificate_passes(certs):
    assert list(certs) == CLAIMS
    for cid, cert in certs.items():
        assert cert.claim == cid
        assert cert.passed, [c.statement for c in cert.checks if not c.passed]


def test_symbolic_status_is_honest(certs):
    # derived end to end: every step an identity or a sign SymPy settles
    for cid in ("Z24.gd-lower-bound", "Z24.scale-invariance"):
        assert certs[cid].symbolic == "proved", cid
        assert not certs[cid].assumes
    # partial: each lists what it takes as given
    for cid in ("Z24.gf-closed-form", "Z24.sf-diagonal", "Z24.adam-bound"):
        assert certs[cid].symbolic == "partial", cid
        assert certs[cid].assumes, cid
    assert any("Rayleigh" in a for a in certs["Z24.adam-bound"].assumes)
    kinds = [c.kind for c in certs["Z24.adam-bound"].checks]
    assert kinds.count("numeric") == 1


@pytest.mark.parametrize("make,wrong", [
    (lambda: z24.z24_gf_closed_form(exponent=1), "f - f* = sum c_i exp(-lambda_i t)"),
    (lambda: z24.z24_sf_diagonal(speed=2), "sign flow moves at speed 2"),
    (lambda: z24.z24_gd_lower_bound(lambda k: (k - 1) / k), "rho = (kappa-1)/kappa"),
    (lambda: z24.z24_gd_lower_bound(lambda k: (k - 1) / (k + 2)), "rho = (kappa-1)/(kappa+2)"),
    (lambda: z24.z24_adam_bound(power=2), "Adam(0,1) divides by g0^2"),
    (lambda: z24.z24_scale_invariance(eps=sp.Rational(1, 10)), "Adam with eps > 0 invariant"),
])
def test_a_wrong_statement_fails_its_own_certificate(make, wrong):
    cert = make()
    assert not cert.passed, wrong
    assert cert.symbolic == "none"


def test_statements_are_one_line(certs):
    for cert in certs.values():
        for chk in cert.checks:
            assert "\n" not in chk.statement


def test_rational_zero_rejects_a_wrong_solution():
    # the machinery used by the GF certificate rejects w(t) with the wrong exponent
    H, U, lam, ws, _ = z24._small_problem()
    z = sp.Matrix(sp.symbols("z1:4", real=True))
    t = z24._T
    wrong = ws + U * sp.diag(*[sp.exp(-2 * li * t) for li in lam]) * z
    ok, bad = z24._matrix_zero(wrong.diff(t) + H * (wrong - ws))
    assert not ok and bad


def test_gd_first_step_identity_numerically():
    # (f_1 - f*)/(f_0 - f*) = rho^2 + kappa (eta - eta*)^2 on the worst case, by simulation
    for kappa in (3.0, 50.0, 2000.0):
        p = quad.worst_case_gd(kappa)
        star = 2 / (kappa + 1)
        rho2 = ((kappa - 1) / (kappa + 1)) ** 2
        for eta in (0.3 * star, star, 1.7 * star):
            g = opt.run(p, opt.gd(eta), max_iter=1).gaps
            assert g[1] / g[0] == pytest.approx(rho2 + kappa * (eta - star) ** 2, rel=1e-12)


def test_omega_kappa_log_bound_numerically():
    for kappa in (10.0, 1e3, 1e5):
        rho2 = (1 - 2 / (kappa + 1)) ** 2
        assert math.log(1e6) / -math.log(rho2) >= (kappa - 1) / 4 * math.log(1e6)


def test_adam_kappa_bound_check_can_fail():
    ok, detail = z24._numeric_kappa_bound(trials=50)
    assert ok and "max kappa_pre" in detail
    # the same quantity on an instance built to break a bound with r replaced by 1
    H = np.array([[2.0, 1.0], [1.0, 2.0]])
    Dg = np.array([1.0, 100.0])
    s = 1 / np.sqrt(Dg)
    ev = np.linalg.eigvalsh(H * np.outer(s, s))
    assert ev[-1] / ev[0] > np.linalg.cond(H)  # without r the bound would fail
