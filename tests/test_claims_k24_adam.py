"""The K24 one-hot and adam.* claims meet THEORY.md's standard ("What a PASS must mean"):
stated sources, error-model tolerances, negative controls that are DETECTED (quick), and
reduced-model figures whose reduced model is the full one's, not the theorem's.
"""

from __future__ import annotations

import numpy as np
import pytest

from linsim import verify
from linsim.claims import CLAIMS, FIGURES
from linsim.integrate import solve
from linsim.problems.softmax import OneHotModel

MINE = ("K24.decouple", "K24.gf-closed-form", "K24.gf-rate", "K24.sf-closed-form",
        "K24.nf-reparam", "adam.ode", "adam.small-step", "adam.k24-rate", "adam.k24-classes")


@pytest.mark.parametrize("cid", MINE)
def test_claim_meets_the_standard(cid):
    claim = CLAIMS[cid]
    assert claim.problems() == []
    assert claim.evidence == "trajectory"  # every measurement is fitted from simulated runs
    assert any(c.kind == "simulation" for c in claim.controls)


@pytest.mark.parametrize("cid", MINE)
def test_controls_are_detected_quick(cid):
    """Each control runs the claim's own check on a mutant; each must FAIL (DETECTED)."""
    row = verify.verify_controls(CLAIMS[cid], quick=True)
    assert row["status"] == "DETECTED", row
    assert all(c["status"] == "DETECTED" for c in row["control"]), row


@pytest.mark.parametrize("cid", MINE)
def test_claim_passes_quick(cid):
    row = verify.verify_claim(CLAIMS[cid], quick=True)
    assert row["status"] == "PASS", row


def test_reduced_figures_say_so():
    reduced = ("k24_group_losses", "k24_gf_rate", "k24_sf_rate", "k24_nf_reparam",
               "adam_k24_groups", "adam_k24_rate")
    for name in reduced:
        assert "checked against full mode" in FIGURES[name].caption, name
        assert "c <= 20" in FIGURES[name].caption, name


# --------------------------------------------------------------------------------------------
# the reduced sign flow reads the signs of its gradient; it matches the full model
def _margin_velocity(c: int, u: float) -> float:
    m = OneHotModel(c, 1.1, "reduced")
    du = np.full(c, np.nan)
    m.field(0.0, np.full(c, u), m.params("sign"), du)
    return du


def test_reduced_sign_flow_velocity_comes_from_the_gradient_signs():
    assert np.all(_margin_velocity(7, 0.0) == 2.0)
    assert np.all(_margin_velocity(7, 50.0) == 2.0)
    # the reduced gradient pi q underflows (q ~ (c-1) e^-u < e^-708): sign(0) = 0, no motion,
    # as in the full model's column
    assert np.all(_margin_velocity(7, 800.0) == 0.0)


@pytest.mark.parametrize("c", [3, 20])
def test_reduced_sign_flow_matches_full_mode_to_the_underflow_stop(c):
    """c <= 20: the margins of all c^2 weights under sign flow equal the reduced margins at
    every time, before and after the gradient underflows (near margin 708, t ~ 354)."""
    full, red = OneHotModel(c, 1.1, "full"), OneHotModel(c, 1.1, "reduced")
    t = np.array([0.5, 10.0, 100.0, 300.0, 400.0, 1000.0])
    kw = dict(method="DOP853", rtol=1e-12, atol=1e-14, t_eval=t)
    W = solve(full.field, (0.0, t[-1]), full.y0(), full.params("sign"), **kw).y
    U = solve(red.field, (0.0, t[-1]), red.y0(), red.params("sign"), **kw).y
    cols = W.reshape(t.size, c, c)
    diag = np.einsum("tkk->tk", cols)
    off = (cols.sum(axis=2) - diag) / (c - 1)
    np.testing.assert_allclose(diag - off, U, rtol=1e-12)
    assert np.all(U[-1] < 710.0) and np.all(U[-1] > 700.0)  # stopped, not u = 2t = 2000
