"""Continuous-time models of adaptive methods (issue 7): the Adam and RMSProp ODEs, the small-step
limit, discrete Adam beside them, and the K24 one-hot model under them.

The O(eta) laws are fitted from simulations over three decades of eta: discrete Adam runs on
the same compiled gradient as the flow, and the flow is integrated at rtol 1e-12.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linsim import flows
from linsim import optimizers as opt
from linsim.experiments import adam as A
from linsim.flow import main
from linsim.integrate import solve
from linsim.problems.quadratic import from_blocks, quadratic_field
from linsim.problems.softmax import OneHotModel, UnigramModel


# --------------------------------------------------------------------------------------------
# the flows with memory
def test_flow_parameters_checked():
    flows.pack("adam", [], (1.0, 2.0, 0.0))  # eps = 0 is allowed
    for bad in [(0.0, 1.0, 1e-8), (1.0, -1.0, 1e-8), (1.0, 1.0, -1e-8), (1.0, np.nan, 0.0),
                (1.0, 1.0)]:
        with pytest.raises(ValueError, match="adam"):
            flows.pack("adam", [], bad)
    with pytest.raises(ValueError, match="sign_eps"):
        flows.pack("sign_eps", [], (0.0,))
    with pytest.raises(ValueError, match="gradient"):
        flows.pack("gradient", [], (1.0,))


def test_state_layout():
    x0 = np.arange(4.0)
    y0 = flows.initial_state("adam", x0)
    assert y0.shape == (12,) and np.all(y0[4:] == 0) and np.all(y0[:4] == x0)
    assert flows.initial_state("rmsprop", x0).shape == (8,)
    assert flows.initial_state("sign", x0).shape == (4,)
    Y = np.arange(24.0).reshape(2, 12)
    np.testing.assert_array_equal(flows.position("adam", Y), Y[:, :4])


def _adam_rhs(t, y, p):
    q = from_blocks([[1.0, 3.0]], rotation="identity", seed=1)
    dy = np.empty_like(y)
    quadratic_field(t, y, q.params("adam", p), dy)
    return dy


def test_start_velocity_is_the_limit():
    """At t = 0 (m = v = 0) the field uses mhat = g, vhat = g^2: -g/(eps + |g|); just after,
    the ratio m/(1 - e^-at) of a state one Euler step away gives the same value."""
    a, b, eps = 2.0, 0.5, 1e-3
    q = from_blocks([[1.0, 3.0]], rotation="identity", seed=1)
    g = q.grad(q.w0)
    dy = _adam_rhs(0.0, flows.initial_state("adam", q.w0), (a, b, eps))
    np.testing.assert_allclose(dy[:2], -g / (eps + np.abs(g)), rtol=1e-15)
    np.testing.assert_allclose(dy[2:4], a * g, rtol=1e-15)
    np.testing.assert_allclose(dy[4:], b * g * g, rtol=1e-15)
    h = 1e-9
    y = flows.initial_state("adam", q.w0) + h * dy
    dy2 = _adam_rhs(h, y, (a, b, eps))
    np.testing.assert_allclose(dy2[:2], dy[:2], rtol=1e-6)


def test_zero_gradient_coordinate_does_not_move():
    """eps = 0 and a coordinate whose gradient is 0 from the start: 0/0 must give rest, not NaN."""
    q = from_blocks([[1.0], [2.0]], rotation="identity", w_star=[0.0, 1.0])
    y0 = flows.initial_state("adam", np.zeros(2))
    sol = solve(quadratic_field, (0.0, 2.0), y0, q.params("adam", (1.0, 1.0, 0.0)), rtol=1e-10,
                atol=1e-12, t_eval=[1.0, 2.0])
    assert np.all(np.isfinite(sol.y))
    assert np.all(sol.y[:, 0] == 0.0) and np.all(sol.y[:, 1] > 0.5)


def test_sign_eps_limits():
    """sign_eps: -g/(|g| + eps) tends to sign flow as eps -> 0 (K24 one-hot, closed form)."""
    m = OneHotModel(5, 1.1, "reduced")
    t = np.array([0.5, 1.0, 2.0])
    sf = m.closed_form("sign", t)
    gaps = []
    for eps in (1e-4, 1e-6, 1e-8):
        sol = solve(m.field, (0.0, 2.0), m.y0(), m.params("sign_eps", flow_params=(eps,)),
                    method="DOP853", rtol=1e-12, atol=1e-14, t_eval=t,
                    output=m.summary_output, n_output=2 + 5)
        gaps.append(np.max(np.abs(sol.y[:, 2:] - sf) / sf))
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 1e-5


@pytest.mark.parametrize("flow,fp", [("adam", (2.0, 1.0, 1e-3)), ("rmsprop", (1.0, 1e-3)),
                                     ("sign_eps", (1e-3,)), ("adam", (5.0, 0.5, 0.0)),
                                     ("adam", (1.0, 1.0, 0.0)), ("rmsprop", (1.0, 0.0))])
@pytest.mark.parametrize("c", [6, 20])
def test_reduced_mode_matches_full_mode(flow, fp, c):
    """The margin ODE of a coordinatewise flow (K24.decouple extended) against all c^2 weights,
    for c <= 20 (the reduced model's figures say so)."""
    full, red = OneHotModel(c, 1.1, "full"), OneHotModel(c, 1.1, "reduced")
    t = np.array([0.5, 2.0, 8.0])
    kw = dict(method="DOP853", rtol=1e-12, atol=1e-14, t_eval=t)
    W = solve(full.field, (0, 8.0), flows.initial_state(flow, full.y0()),
              full.params(flow, flow_params=fp), **kw)
    U = solve(red.field, (0, 8.0), flows.initial_state(flow, red.y0()),
              red.params(flow, flow_params=fp), **kw)
    x = flows.position(flow, W.y).reshape(t.size, c, c)
    diag = np.einsum("tkk->tk", x)
    off = (x.sum(axis=2) - diag) / (c - 1)
    np.testing.assert_allclose(diag - off, flows.position(flow, U.y), rtol=1e-10, atol=1e-12)
    spread = np.ptp(x - np.eye(c)[None] * (diag - off)[:, :, None], axis=2)
    assert spread.max() < 1e-10  # the off-diagonal entries of a column stay equal


def test_discrete_runner_matches_the_python_loop():
    """discrete_positions (compiled, on the field) against Adam written out in NumPy."""
    tgt = A.quadratic_target(3)
    q = from_blocks([[1.0, 4.0], [0.25, 2.0, 0.5]], rotation="haar", seed=3)
    eta, b1, b2, eps = 0.01, 0.9, 0.99, 1e-3
    got = A.discrete_positions(tgt, opt.adam(eta, b1, b2, eps), [0.0, 0.05, 0.5])
    w, m, v = q.w0.copy(), np.zeros(5), np.zeros(5)
    want = [w.copy()]
    for k in range(50):
        g = q.grad(w)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - eta * (m / (1 - b1 ** (k + 1))) / (np.sqrt(v / (1 - b2 ** (k + 1))) + eps)
        if k + 1 in (5, 50):
            want.append(w.copy())
    np.testing.assert_allclose(got, np.array(want), rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="multiples"):
        A.discrete_positions(tgt, opt.adam(0.03), [0.05])


# --------------------------------------------------------------------------------------------
# adam.ode: O(eta) over three decades, property tests on a quadratic and on K24
@settings(deadline=None, max_examples=4)
@given(seed=st.integers(0, 10_000), a=st.floats(0.5, 4.0), b=st.floats(0.2, 2.0),
       eps=st.sampled_from([1e-3, 1e-2, 0.1]))
def test_adam_ode_order_on_a_quadratic(seed, a, b, eps):
    r = A.ode_tracking(A.quadratic_target(seed), a, b, eps)
    assert r.etas.max() / r.etas.min() >= 999  # three decades
    assert abs(r.slope.value - 1.0) <= 0.1, r.to_dict()
    assert np.all(np.diff(r.gaps) < 0)  # smaller steps, smaller gaps


@settings(deadline=None, max_examples=3)
@given(c=st.integers(3, 8), zipf_a=st.floats(0.5, 1.5), a=st.floats(0.5, 4.0),
       b=st.floats(0.2, 2.0))
def test_adam_ode_order_on_k24(c, zipf_a, a, b):
    r = A.ode_tracking(A.onehot_target(c, zipf_a), a, b, 1e-3)
    assert abs(r.slope.value - 1.0) <= 0.1, r.to_dict()


def test_adam_ode_wrong_time_scaling_is_caught():
    """Negative control: discrete Adam with 1 - beta = a eta / 2 tracks a different ODE, and the
    gap then does not shrink with eta (slope far from 1)."""
    tgt = A.quadratic_target(0)
    t = np.arange(1, 11) * 0.3
    x = A.flow_positions(tgt, "adam", (2.0, 1.0, 1e-3), t)
    gaps = [np.max(np.abs(A.discrete_positions(tgt, opt.adam(eta, 1 - eta, 1 - 0.5 * eta, 1e-3),
                                               t) - x)) for eta in (1e-2, 1e-3, 1e-4)]
    assert gaps[-1] > 0.5 * gaps[0]


# --------------------------------------------------------------------------------------------
# adam.small-step
def test_small_step_gap_scales_like_eta_over_one_minus_beta2():
    runs = [A.small_step_gap(A.quadratic_target(0), 0.9, b2, T=0.5, points=10,
                             etas=0.1 * (1 - b2) / np.array([1, 10, 100, 1000]))
            for b2 in (0.99, 0.999)]
    consts = []
    for r in runs:
        assert r.etas.max() / r.etas.min() >= 999
        assert abs(r.slope.value - 1.0) <= 0.1, r.to_dict()
        consts.append(np.median(r.gaps * (1 - r.settings["beta2"]) / r.etas))
    assert 0.5 <= consts[1] / consts[0] <= 2.0  # one constant C in gap = C eta/(1 - beta2)


# --------------------------------------------------------------------------------------------
# K24 under the Adam and RMSProp ODEs
def test_asymptotic_rate():
    # RMSProp closed form (proofs.adam)
    for b in (0.3, 1.0, 7.0):
        assert A.asymptotic_rate(None, b) == pytest.approx(
            2 * (math.sqrt(1 + 4 / b**2) - 2 / b), rel=1e-13)
    assert A.asymptotic_rate(1e9, 1e9) == pytest.approx(2.0, rel=1e-6)  # sign flow's rate
    assert A.asymptotic_rate(10.0, 10.0) > A.asymptotic_rate(None, 10.0)
    with pytest.raises(ValueError, match="a <= b/2"):
        A.asymptotic_rate(1.0, 2.0)


def test_k24_momentum_longer_than_v_beats_sign_flow():
    """a <= b/2 (beta1 >= sqrt(beta2)): no constant rate; the rarest class's loss falls faster
    than under sign flow (rate 2) and the rate grows."""
    res = A.k24_classes(20, 1.1, 1.0, 4.0, 0.0, t_max=8.0, points=200, flows=("sign", "adam"))
    t = res.run.t
    la, ls = (res.run.traces[f].losses[:, -1] for f in ("adam", "sign"))
    i = np.searchsorted(t, [2.0, 4.0])
    assert la[i[1]] < 1e-6 * ls[i[1]]
    r1 = np.log(la[i[0]] / la[i[1]]) / (t[i[1]] - t[i[0]])
    assert r1 > 2.0


@settings(deadline=None, max_examples=4)
@given(b=st.floats(1.0, 8.0), ratio=st.floats(1.0, 10.0), zipf_a=st.floats(0.5, 1.5))
def test_k24_rate_and_pi_independence(b, ratio, zipf_a):
    """eps = 0: every class has the same loss curve and it decays at the predicted rate.

    (b >= 1 and a >= b: towards b -> 0 or a -> r the transient decays like e^(-(b - 2r) t)
    and e^(-(a - r) t), too slowly for the fit window.)
    """
    a, c = b * ratio, 40
    for flow in ("adam", "rmsprop"):
        r = A.asymptotic_rate(a if flow == "adam" else None, b)
        t_max = math.log((c - 1) / 1e-150) / r  # to just past the fit window
        res = A.k24_classes(c, zipf_a, a, b, 0.0, t_max=t_max, points=300, flows=(flow,))
        assert res.spread(flow) < 1e-9
        fit = res.rate(flow)
        assert fit.points >= 10
        assert fit.value == pytest.approx(res.predicted_rate(flow), rel=1e-4)


def test_k24_eps_brings_pi_back():
    """eps > 0: classes move together while pi_k q_k >> eps, apart below (GF-like)."""
    res = A.k24_classes(300, 1.1, 1.0, 1.0, 1e-7, t_max=1e4, points=200,
                        flows=("gradient", "sign", "adam"))
    assert res.pi_slope("gradient", 1e-2).value == pytest.approx(-1.0, abs=0.02)
    assert abs(res.pi_slope("sign", 1e-3).value) < 1e-9
    shallow = res.pi_slope("adam", 1e-3).value
    deep = res.pi_slope("adam", 1e-6).value
    assert abs(shallow) < 0.1 and deep < -0.2 and deep > -1.0


# --------------------------------------------------------------------------------------------
# the command line
@pytest.mark.parametrize("extra", [["--mode", "reduced"], ["--mode", "full"],
                                   ["--problem", "unigram"]])
def test_cli_adam(tmp_path, extra):
    out = tmp_path / "out"
    rc = main(["--classes", "6", "--zipf", "1.0", "--t-max", "50", "--points", "40", "--quiet",
               "--no-plot", "--flows", "gradient,sign,adam,rmsprop", "--adam-a", "2",
               "--adam-b", "1", "--out", str(out), *extra])
    assert rc == 0
    s = json.loads((out / "summary.json").read_text())
    keys = set(s["flows"]["gradient"])
    for f in ("adam", "rmsprop"):
        assert set(s["flows"][f]) == keys  # the same summary keys as before
    assert s["flows"]["adam"]["params"] == {"a": 2.0, "b": 1.0, "eps": 1e-8}
    assert s["flows"]["rmsprop"]["params"] == {"b": 1.0, "eps": 1e-8}
    with np.load(out / "trajectories.npz") as z:
        assert z["loss_adam"].shape == z["loss_gradient"].shape
        # unigram: stopped at f - f* <= 1e-4 eps (NaN after), where the field turns stiff
        ok = np.isfinite(z["overall_adam"])
        assert ok[: ok.sum()].all() and ok.sum() > 10
        final = {f: z[f"overall_{f}"][ok][-1] for f in ("gradient", "adam")}
    assert final["adam"] < final["gradient"]
    if "--problem" not in extra:
        assert "adam.k24-rate" in s["claims"]
        rate = s["flows"]["adam"]["rate"]
        assert rate["name"] == "exp_rate_least_frequent"
        assert rate["predicted"] == pytest.approx(A.asymptotic_rate(2.0, 1.0))


def test_cli_stiffness_note(tmp_path, capsys):
    rc = main(["--classes", "4", "--groups", "2", "--mode", "reduced", "--t-max", "3e4",
               "--flows", "adam",
               "--adam-a", "2", "--quiet", "--no-plot", "--out", str(tmp_path / "o")])
    assert rc == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "note" in err and "--t-max" in err


def test_unigram_adam_converges():
    """The Adam ODE on the unigram model (state [theta, m, v]) through the same field."""
    m = UnigramModel(20, 1.0)
    y0 = flows.initial_state("adam", m.y0())
    sol = solve(m.field, (0.0, 40.0), y0, m.params("adam", flow_params=(2.0, 1.0, 1e-8)),
                rtol=1e-9, atol=1e-12, t_eval=[1.0, 40.0])
    gaps = [m.gap(th) for th in flows.position("adam", sol.y)]
    assert gaps[1] < 1e-3 * gaps[0]
