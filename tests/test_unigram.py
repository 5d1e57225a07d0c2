"""The Y25 unigram model (THEORY.md, "The unigram model (Y25)"), its flows and the CLI.

Claims: Y25.sf-vs-nf, Y25.sf-extinction (the module's prediction, linsim.claims.y25). Model
quantities are checked against SciPy/NumPy/mpmath computed independently; flows against SciPy's
integrators or another linsim method (sliding vs implicit Euler, normalized flow direct vs the
arc length of gradient flow).
"""

from __future__ import annotations

import contextlib
import io
import json
import math

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp
from scipy.special import logsumexp
from scipy.special import softmax as sp_softmax

from linsim.experiments import y25
from linsim.flow import PROG, main
from linsim.flows import SPECS, pack
from linsim.integrate import IntegrationError, solve
from linsim.integrate.sliding import sign_flow
from linsim.problems import zipf
from linsim.problems.filippov import UnigramSign
from linsim.problems.softmax import UnigramModel, unigram_field

EPS = float(np.finfo(np.float64).eps)

_pi = st.integers(2, 40).flatmap(lambda c: st.lists(
    st.floats(0.05, 20.0), min_size=c, max_size=c)).map(np.array)


def _model(weights) -> UnigramModel:
    return UnigramModel.from_frequencies(weights)


# --------------------------------------------------------------------------------- the model


@settings(deadline=None, max_examples=40)
@given(w=_pi, seed=st.integers(0, 2**31 - 1), scale=st.floats(0.1, 30.0))
def test_loss_grad_against_scipy(w, seed, scale):
    m = _model(w)
    theta = np.random.default_rng(seed).normal(size=m.classes) * scale
    p = sp_softmax(theta)
    np.testing.assert_allclose(m.grad(theta), p - m.pi, atol=4 * EPS, rtol=0)
    f = logsumexp(theta) - m.pi @ theta
    assert m.loss(theta) == pytest.approx(f, rel=1e-13, abs=1e-13)
    # gap: f - f* = KL(pi || p), independent high-precision reference
    kl = mpmath.fsum(mpmath.mpf(a) * (mpmath.log(mpmath.mpf(a)) - mpmath.log(mpmath.mpf(b)))
                     for a, b in zip(m.pi, p, strict=True))
    assert m.gap(theta) == pytest.approx(float(kl), rel=1e-9, abs=1e-15)


def test_gap_keeps_relative_accuracy_near_the_minimizer():
    m = UnigramModel(50, 1.2)
    rng = np.random.default_rng(3)
    for delta in (1e-3, 1e-6, 1e-9, 1e-12):
        theta = m.minimizer(2.5) + delta * rng.normal(size=m.classes)
        with mpmath.workdps(60):
            th = [mpmath.mpf(float(v)) for v in theta]
            lse = mpmath.log(mpmath.fsum(mpmath.e**v for v in th))
            kl = mpmath.fsum(mpmath.mpf(float(a)) * (mpmath.log(mpmath.mpf(float(a))) - (v - lse))
                             for a, v in zip(m.pi, th, strict=True))
        # f - f* ~ delta^2 while theta_k - LSE - log pi_k carries an error ~ eps |theta|:
        # relative accuracy ~ 1e-15 / delta, where the plain difference f - f* would lose all
        assert m.gap(theta) == pytest.approx(float(kl), rel=1e-11 + 1e-13 / delta)
        assert abs((m.loss(theta) - m.f_star) - float(kl)) > 1e-3 * float(kl) or delta > 1e-7


def test_minimizers_and_f_star():
    m = UnigramModel(30, 1.0)
    for s in (-40.0, 0.0, 7.5):
        theta = m.minimizer(s)
        assert np.abs(m.grad(theta)).max() < 4 * EPS
        assert m.gap(theta) < 1e-26
        assert m.loss(theta) == pytest.approx(m.f_star, rel=1e-14)
    assert m.f_star == pytest.approx(-np.sum(m.pi * np.log(m.pi)), rel=1e-15)


def test_no_overflow_for_large_logits():
    m = UnigramModel(10, 1.0)
    theta = np.linspace(-800.0, 800.0, 10)
    g = m.grad(theta)
    assert np.all(np.isfinite(g)) and abs(g.sum()) < 1e-15
    assert math.isfinite(m.gap(theta)) and m.gap(theta) > 0


@settings(deadline=None, max_examples=20)
@given(w=_pi, seed=st.integers(0, 2**31 - 1))
def test_hessian_action_against_finite_differences(w, seed):
    m = _model(w)
    rng = np.random.default_rng(seed)
    theta, v = rng.normal(size=m.classes), rng.normal(size=m.classes)
    h = 1e-6
    fd = (m.grad(theta + h * v) - m.grad(theta - h * v)) / (2 * h)
    np.testing.assert_allclose(m.hess_vec(theta, v), fd, atol=1e-8)


def test_lambda_min_against_eigvalsh():
    for c, a in ((10, 1.0), (200, 0.5), (500, 1.5), (40, 0.0)):
        pi = zipf.zipf_frequencies(c, a)
        ev = np.linalg.eigvalsh(np.diag(pi) - np.outer(pi, pi))
        assert y25.lambda_min(pi) == pytest.approx(ev[1], rel=1e-10)


def test_bad_frequencies():
    for bad in ([1.0], [1.0, -1.0], [1.0, np.nan], [1.0, 0.0]):
        with pytest.raises(ValueError, match="pi must"):
            UnigramModel.from_frequencies(bad)
    with pytest.raises(ValueError, match="classes"):
        UnigramModel(1, 1.0)
    with pytest.raises(ValueError, match="mode"):
        UnigramModel(5, 1.0, "reduced")


@pytest.mark.parametrize("flow,fp", [("gradient", ()), ("sign", ()), ("normalized", ()),
                                     ("sign_tanh", (0.01,)), ("sign_sqrt", (0.02,)),
                                     ("clip_global", (0.05,)), ("clip_coord", (0.01,))])
def test_field_is_the_flow_of_the_gradient(flow, fp):
    m = UnigramModel(12, 1.1)
    theta = np.random.default_rng(0).normal(size=12)
    g = sp_softmax(theta) - m.pi
    want = {"gradient": -g, "sign": -np.sign(g), "normalized": -g / np.linalg.norm(g),
            "sign_tanh": -np.tanh(g / 0.01), "sign_sqrt": -g / np.sqrt(g**2 + 0.02**2),
            "clip_global": -min(1.0, 0.05 / np.linalg.norm(g)) * g,
            "clip_coord": -np.clip(g, -0.01, 0.01)}[flow]
    dy = np.empty(12)
    unigram_field(0.0, theta, m.params(flow, flow_params=fp), dy)
    np.testing.assert_allclose(dy, want, atol=1e-15, rtol=1e-13)


def test_gradient_flow_against_scipy():
    m = UnigramModel(20, 1.0)
    t = np.array([0.5, 5.0, 50.0, 500.0])
    ours = solve(m.field, (0.0, 500.0), m.y0(), m.params("gradient"), method="DOP853",
                 rtol=1e-12, atol=1e-14, t_eval=t).y
    ref = solve_ivp(lambda _, th: m.pi - sp_softmax(th), (0.0, 500.0), m.y0(), method="Radau",
                    rtol=1e-12, atol=1e-14, t_eval=t).y.T
    np.testing.assert_allclose(ours, ref, atol=1e-9)


# --------------------------------------------------------------------------- sign flow: Y25


@settings(deadline=None, max_examples=15, suppress_health_check=[HealthCheck.too_slow])
@given(w=_pi, seed=st.integers(0, 2**31 - 1))
def test_extinction_time_is_the_linf_distance(w, seed):
    """Y25.sf-extinction for any pi and any start: every event is a sticking event, so sign
    flow reaches the minimizer set at the l_inf distance modulo shifts."""
    m = _model(w)
    theta0 = np.random.default_rng(seed).normal(size=m.classes)
    T = y25.extinction_time(m, theta0)
    r = sign_flow(UnigramSign(m), theta0, (0.0, 1.5 * T + 0.1), method="sliding",
                  integrator="DOP853", rtol=1e-11, atol=1e-13)
    assert r.t_events[-1] == pytest.approx(T, rel=1e-9)
    assert not np.any(r.mode)  # all stuck: at the minimizer
    assert m.gap(r.y_final) < 1e-25
    assert r.stats["events"] <= m.classes - 1  # each sticks once, the last pair together
    # implicit Euler, independent of the driver, reaches the minimizer at the same time
    ri = sign_flow(UnigramSign(m), theta0, (0.0, 1.5 * T + 0.1), method="implicit",
                   level=1e-26)
    assert ri.time_to_level == pytest.approx(T, rel=1e-6)


@pytest.mark.parametrize("c,a", [(10, 0.5), (30, 1.0), (100, 1.5)])
def test_sliding_and_implicit_agree(c, a):
    r = y25.unigram_agreement(c, a)
    assert r["max_distance"] <= 1e-8
    assert r["extinction"]["sliding_last_event"] == pytest.approx(
        r["extinction"]["predicted"], rel=1e-10)


def test_sliding_set_and_dissipation_on_the_unigram_model():
    m = UnigramModel(40, 1.0)
    r = y25.dissipation(UnigramSign(m), m.y0(), 1.1 * y25.extinction_time(m), "sliding",
                        rtol=1e-12, atol=1e-14, integrator="DOP853")
    assert r["defect"] < 1e-10
    assert r["max_gS"] < 1e-12
    assert r["events"] == 39


def test_explicit_sign_chatters_on_the_unigram_model():
    """The naive explicit field: adaptive RK45 collapses its step at the first sliding surface."""
    m = UnigramModel(10, 1.0)
    with pytest.raises(IntegrationError, match="too many steps"):
        sign_flow(UnigramSign(m), m.y0(), (0.0, 2.0), method="explicit", integrator="RK45",
                  rtol=1e-8, atol=1e-10, max_steps=20_000)


# -------------------------------------------------------------------------- Y25.sf-vs-nf


def test_normalized_flow_time_is_the_gradient_flow_arc_length():
    m = UnigramModel(30, 1.0)
    arc = y25.gf_arclength(m, 1e-10)
    direct = y25.nf_direct(m, 1e-10)
    assert arc["t_nf"] == pytest.approx(direct["t_nf"], rel=1e-8)
    # gradient flow's own time to the level, against the Runge-Kutta driver
    from linsim.integrate import Events
    from linsim.problems.softmax import unigram_gap_event

    sol = solve(m.field, (0.0, 1e6), m.y0(), m.params("gradient", level=1e-10),
                method="DOP853", rtol=1e-12, atol=1e-14,
                events=Events(unigram_gap_event, 1, -1.0, True))
    assert arc["t_gf"] == pytest.approx(sol.t_final, rel=1e-7)


def test_sf_vs_nf_small_sweep():
    rows = y25.sf_vs_nf_sweep((10, 100), (1.0,), 1e-10)
    r10, r100 = rows
    for r in rows:
        assert r["t_sf"] < r["sf_extinction_predicted"]  # the level comes just before
        assert r["t_sf"] == pytest.approx(r["sf_extinction_predicted"], rel=1e-3)
        assert r["t_nf"] >= r["nf_lower_bound"]  # no faster than the straight line
    assert r100["ratio"] < r10["ratio"] < 1


# --------------------------------------------------------------------------------- the CLI


def _call(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def test_cli_unigram_end_to_end(tmp_path):
    out = tmp_path / "out"
    rc, stdout, stderr = _call(["--problem", "unigram", "--classes", "20", "--zipf", "1",
                                "--flows", "sign,normalized,gradient", "--t-max", "1e5",
                                "--points", "60", "--quiet", "--no-plot", "--out", out])
    assert rc == 0, stderr
    s = json.loads((out / "summary.json").read_text())
    assert s["problem"] == "unigram" and s["sign_method"] == "sliding" and s["eps"] == 1e-10
    assert "Y25.sf-vs-nf" in s["claims"]
    m = UnigramModel(20, 1.0)
    for fs in s["flows"].values():
        assert {"max_rel_err", "rate", "rates", "steps", "rejected", "rhs_evals", "seconds",
                "final_overall_loss", "time_to_tol"} <= set(fs)
        assert set(fs["rate"]) == {"name", "measured", "predicted"}
        assert fs["time_to_tol"] is not None and fs["time_to_tol_method"] == "event"
    sf = s["flows"]["sign"]
    assert sf["rate"]["name"] == "extinction_time"
    assert sf["rate"]["measured"] == pytest.approx(y25.extinction_time(m), rel=1e-9)
    assert sf["events"] == 19
    assert sf["time_to_tol"] < s["flows"]["normalized"]["time_to_tol"] < \
        s["flows"]["gradient"]["time_to_tol"]
    with np.load(out / "trajectories.npz") as z:
        gap = z["overall_sign"]
        assert gap.shape == (60,) and np.all(np.diff(gap) <= 1e-15)  # f decreases
        assert z["loss_gradient"].shape == (60, 20)
    # the sign-flow time to tolerance of the implicit method agrees
    rc, _, stderr = _call(["--problem", "unigram", "--classes", "20", "--zipf", "1",
                           "--flows", "sign", "--sign-method", "implicit", "--points", "60",
                           "--quiet", "--no-plot", "--out", tmp_path / "o2"])
    assert rc == 0, stderr
    s2 = json.loads((tmp_path / "o2" / "summary.json").read_text())
    assert s2["flows"]["sign"]["time_to_tol"] == pytest.approx(sf["time_to_tol"], rel=1e-9)


def test_cli_onehot_time_to_tol_and_closed_sign(tmp_path):
    rc, _, stderr = _call(["--classes", "5", "--zipf", "1", "--t-max", "1e3", "--points", "400",
                           "--quiet", "--no-plot", "--sign-method", "closed", "--eps", "1e-6",
                           "--out", tmp_path / "o"])
    assert rc == 0, stderr
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert s["problem"] == "onehot" and s["sign_method"] == "closed"
    sf = s["flows"]["sign"]
    assert sf["max_rel_err"] == 0.0 and sf["steps"] == 0
    # K24.sf-closed-form: every class at log(1 + (c-1) e^-2t), so the overall loss too
    assert sf["time_to_tol"] == pytest.approx(float(zipf.sf_time_to_loss(1e-6, 5)), rel=1e-3)
    assert sf["time_to_tol_method"] == "interpolated"


@pytest.mark.parametrize("bad,name", [
    (["--problem", "unigram", "--sign-method", "closed"], "--sign-method"),
    (["--sign-method", "sliding"], "--sign-method"),
    (["--sign-method", "implicit"], "--sign-method"),
    (["--sign-method", "bogus"], "--sign-method"),
    (["--problem", "unigram", "--mode", "reduced"], "--mode"),
    (["--problem", "quadratic"], "--problem"),
    (["--eps", "0"], "--eps"),
    (["--eps", "2"], "--eps"),
    (["--eps", "nan"], "--eps"),
])
def test_cli_bad_input(tmp_path, bad, name):
    out = tmp_path / "out"
    rc, stdout, stderr = _call(["--classes", "5", "--quiet", "--no-plot", "--out", out, *bad])
    assert rc == 2 and stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{PROG}: error: ") and name in lines[0]
    assert not out.exists()


def test_cli_explicit_sign_fails_with_a_hint(tmp_path):
    rc, stdout, stderr = _call(["--problem", "unigram", "--classes", "5", "--flows", "sign",
                                "--sign-method", "explicit", "--quiet", "--no-plot",
                                "--out", tmp_path / "o"])
    assert rc == 1 and stdout == ""
    assert len(stderr.splitlines()) == 1 and "chatters" in stderr and "sliding" in stderr


def test_flow_specs_and_pack_validation():
    assert {s.name: s.code for s in SPECS.values()}["sign"] == 1
    for flow in ("sign_tanh", "clip_coord"):
        with pytest.raises(ValueError, match=SPECS[flow].params[0]):
            pack(flow, np.zeros(3))
        with pytest.raises(ValueError, match="finite and > 0"):
            pack(flow, np.zeros(3), (-1.0,))
    with pytest.raises(ValueError, match="flow must be one of"):
        pack("bogus", np.zeros(3))
