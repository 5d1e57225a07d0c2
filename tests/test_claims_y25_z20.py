"""The Y25.*, SF.* and Z20.* claims meet THEORY.md's standard: every control is DETECTED by the
claim's own check, the pass rules depend on the claims' settings only (so a mutant cannot move
them), and the derived tolerances behave as their derivations say."""

from __future__ import annotations

import math

import numpy as np
import pytest

from linsim.claims import CLAIMS
from linsim.claims import y25 as cy
from linsim.claims import z20 as cz
from linsim.verify import verify_controls

IDS = ("Y25.sf-vs-nf", "Y25.sf-extinction", "SF.agree-quadratic", "SF.agree-unigram",
       "SF.diagonal-time", "SF.dissipation", "SF.smoothed-order", "SF.no-chattering",
       "Z20.sgd-fails", "Z20.clip-strongly-convex", "Z20.clip-nonconvex",
       "Z20.threshold-tent", "Z20.coordinate")


@pytest.mark.parametrize("cid", IDS)
def test_every_control_is_detected_quick(cid):
    claim = CLAIMS[cid]
    assert not claim.problems(), claim.problems()
    row = verify_controls(claim, quick=True)
    assert row["status"] == "DETECTED", row
    assert all(c["kind"] in ("simulation", "data") for c in row["control"])


def test_sf_vs_nf_tolerance_is_half_the_log_factor_signature():
    # the signature of log c over [c1, c2] tends to 1/log c on a narrow window
    c = 1e4
    assert cy.log_factor_signature(c, c * 1.001) == pytest.approx(1 / math.log(c), rel=1e-3)
    assert cy.sf_vs_nf_tolerance(True) == pytest.approx(
        0.5 * (math.log(math.log(1000)) - math.log(math.log(100))) / math.log(10))
    # a ratio 1/sqrt(c) (no log factor) would be outside the tolerance on both windows
    for quick in (True, False):
        c1, c2 = cy.WINDOW_QUICK if quick else cy.WINDOW_FULL
        assert cy.log_factor_signature(c1, c2) > cy.sf_vs_nf_tolerance(quick)


def test_z20_bias_bounds_are_functions_of_the_settings_only():
    a = 1.5
    assert cz.tent_bias(0.2, a, 30_000) == cz.tent_bias(0.2, a, 30_000)
    # the pre-asymptotic bias shrinks as the horizon grows (the model tends to the tent)
    assert cz.tent_bias(0.2, a, 300_000) < cz.tent_bias(0.2, a, 30_000)
    assert cz.clip_rate_bias(a, 30_000) < cz.clip_rate_bias(a, 10_000)
    assert cz.constant_tau_bias(a, 30_000) < 1e-3


def test_clipped_pareto_moments_against_samples():
    from linsim.experiments.z20 import clipped_moments
    from linsim.problems import noise

    x = noise.sample("pareto", 1.5, 400_000, seed=5)
    for tau in (0.5, 1.0, 2.5, 10.0):
        mean, var = clipped_moments("pareto", 1.5, tau)
        c = np.clip(x, -tau, tau)
        assert float(mean) == pytest.approx(c.mean(), abs=4 * c.std() / math.sqrt(x.size))
        assert float(var) == pytest.approx(c.var(), rel=0.02)


def test_explicit_chattering_amplitude_in_the_derived_band_on_another_model():
    from linsim.experiments.y25 import explicit_chattering
    from linsim.problems.filippov import UnigramSign
    from linsim.problems.softmax import UnigramModel

    m = UnigramModel(20, 1.5)
    r = explicit_chattering(UnigramSign(m), m.y0(), 3.0, (1e-2, 1e-3))
    lo, hi = cy.CHATTER_BAND
    assert all(lo <= v <= hi for v in r["amplitude_over_step"]), r
