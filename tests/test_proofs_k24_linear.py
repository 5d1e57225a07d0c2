"""Tests for :mod:`proofs.k24_linear`, the SymPy certificates of K24.init-grad-hess,
K24.block-rows (Proposition 2 of K24) and K24.assignment-iid (the slope 1/2 as a variance
computation).

Besides checking that the certificates pass and are fully symbolic, the tests make sure every
kind of check rejects a wrong statement (a balanced gradient, a wrong curvature factor, a row
sum without its diagonal block), that the claims registry runs them, and cross-check the
certified formulas (the off-diagonal blocks at W = 0 included) on the simulated model.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from linsim.claims import CLAIMS
from linsim.problems.linear import LinearData, LinearModel, gaussian_mixture
from proofs import Certificate
from proofs import k24_linear as P

IDS = ["K24.init-grad-hess", "K24.block-rows"]


@pytest.fixture(scope="module")
def certs() -> dict[str, Certificate]:
    return P.certificates()


# ---------------------------------------------------------------------------------------------
# the certificates
# ---------------------------------------------------------------------------------------------
def test_every_claim_has_a_passing_fully_symbolic_certificate(certs):
    assert list(certs) == [*IDS, "K24.assignment-iid"]
    for cid in IDS:
        cert = certs[cid]
        assert cert.claim == cid
        assert cert.passed, [c.statement for c in cert.checks if not c.passed]
        assert cert.symbolic == "proved", [(c.kind, c.statement) for c in cert.checks]
        for chk in cert.checks:
            assert "\n" not in chk.statement and chk.kind == "symbolic"


def test_certificates_cover_any_c_and_the_explicit_models(certs):
    init = [c.statement for c in certs["K24.init-grad-hess"].checks]
    assert any(s.startswith("any c:") for s in init)
    assert any(s.startswith("any n, n_k, c:") for s in init)
    assert sum("grad_(w_k) L = xbar/c - pi_k xbar^k" in s for s in init) == len(P.EXPLICIT_INIT)
    rows = [c.statement for c in certs["K24.block-rows"].checks]
    assert rows[0].startswith("any c, any logits z")
    assert len(rows) == 1 + 2 + 3 + 1  # every label for c = 2, 3; one for c = 4


def test_claims_registry_runs_the_certificates():
    for cid, func in zip(IDS, ("k24_init_grad_hess", "k24_block_rows"), strict=True):
        claim = CLAIMS[cid]
        assert claim.proof == f"proofs.k24_linear:{func}"
        cert = claim.certificate()
        assert cert.claim == cid and cert.symbolic == "proved"


# ---------------------------------------------------------------------------------------------
# wrong statements fail
# ---------------------------------------------------------------------------------------------
def test_any_c_logit_derivatives_reject_a_wrong_curvature():
    assert P._general_init()[0]
    for wrong in (1 / P._C, (1 - 1 / P._C) ** 2, 1 / P._C**2):
        assert not P._general_init(wrong)[0]


def test_explicit_model_rejects_a_balanced_gradient_and_a_wrong_block():
    c, d, labels = P.EXPLICIT_INIT[0]
    g_ok, h_ok, off_ok, _ = P._init_explicit(c, d, labels,
                                             grad_rule=lambda c_, p, xb, xk: xb / c_ - xk / c_)
    assert not g_ok and h_ok and off_ok  # pi_k cannot be replaced by 1/c: the gradient is
    g_ok, h_ok, _, _ = P._init_explicit(*P.EXPLICIT_INIT[0],  # imbalanced, the blocks are not
                                        diag_rule=lambda c_, Hb: Hb / c_)
    assert g_ok and not h_ok
    g_ok, h_ok, _, _ = P._init_explicit(*P.EXPLICIT_INIT[0],
                                        diag_rule=lambda c_, Hb: sp.Rational(1, 4) * Hb
                                        + sp.Rational(1, 100) * sp.eye(Hb.rows))
    assert not h_ok


def test_average_over_samples_rejects_a_wrong_factor():
    assert P._general_average()[0]
    assert not P._general_average(1 / P._C)[0]


def test_row_sums_fail_without_the_diagonal_block():
    ok, detail = P._general_rows(include_diagonal=False)
    assert not ok and "S" in detail
    form_ok, rows_ok, _ = P._rows_explicit(3, 1, 1, include_diagonal=False)
    assert form_ok and not rows_ok


# ---------------------------------------------------------------------------------------------
# the certified formulas, numerically on the model
# ---------------------------------------------------------------------------------------------
def test_certified_blocks_at_zero_match_the_model():
    # diagonal (1/c)(1-1/c) Hbar (K24.init-grad-hess) and off-diagonal -(1/c^2) Hbar (also
    # certified) against the model's exact dense Hessian
    data = gaussian_mixture(5, 1.0, 60, 3, seed=4)
    model = LinearModel(data)
    c, D = model.shape
    H = model.hessian(model.zeros()).reshape(c, D, c, D)
    Hbar = model.second_moment()
    for k in range(c):
        for j in range(c):
            want = (1 / c) * (1 - 1 / c) * Hbar if k == j else -Hbar / c**2
            np.testing.assert_allclose(H[k, :, j, :], want, rtol=1e-12, atol=1e-14)


def test_certified_per_sample_block_formula_matches_the_model():
    # H_kj = p_k (1[k=j] - p_j) x x^T on one sample at random weights (K24.block-rows' form)
    rng = np.random.default_rng(7)
    c, d = 4, 3
    Xa = np.concatenate([rng.standard_normal((1, d)), np.ones((1, 1))], axis=1)
    model = LinearModel(LinearData(Xa, np.array([2]), c, np.zeros(c, dtype=np.intp), "one"),
                        allow_empty=True)
    W = rng.standard_normal(model.shape)
    p = model.probabilities(W)[0]
    H = model.hessian(W).reshape(c, d + 1, c, d + 1)
    xx = np.outer(Xa[0], Xa[0])
    for k in range(c):
        for j in range(c):
            np.testing.assert_allclose(H[k, :, j, :], p[k] * ((k == j) - p[j]) * xx,
                                       rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# K24.assignment-iid: the derived slope 1/2
# ---------------------------------------------------------------------------------------------
def test_iid_certificate_is_partial_and_lists_its_assumptions(certs):
    cert = certs["K24.assignment-iid"]
    assert cert.passed and cert.symbolic == "partial"
    assert all(c.kind == "symbolic" for c in cert.checks) and len(cert.checks) == 3
    assert any("far from fitted" in a for a in cert.assumes)
    assert CLAIMS["K24.assignment-iid"].proof == "proofs.k24_linear:k24_assignment_iid"
    assert "k24_assignment_iid" in CLAIMS["K24.assignment-iid"].prediction_source


def test_iid_steps_reject_wrong_statements():
    pi = sp.Symbol("pi", positive=True)
    assert P._iid_variance()[0]
    assert not P._iid_variance(pi**2)[0]  # the class-k samples' weight squared wrongly
    assert P._iid_slope()[0]
    assert not P._iid_slope(sp.Integer(1))[0]  # a gradient linear in pi_k: slope 1, not 1/2


def test_iid_variance_matches_a_monte_carlo_of_the_centred_sum():
    """E||(1/n) sum_i (pi - y_i)(x_i - m)||^2 = pi (1 - pi) tr Sigma / n, by simulation."""
    rng = np.random.default_rng(0)
    n, nk, d = 200, 20, 30
    pi = nk / n
    y = np.zeros(n)
    y[:nk] = 1.0
    sq = [np.sum((((pi - y)[:, None]) * (rng.random((n, d)) - 0.5)).sum(0) ** 2) / n**2
          for _ in range(4000)]
    want = pi * (1 - pi) * (d / 12.0) / n
    assert np.mean(sq) == pytest.approx(want, rel=0.05)  # 4000 draws: ~2% standard error
