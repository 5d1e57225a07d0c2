"""Sign flow as a Filippov system (THEORY.md, "Integrating sign flow honestly").

Three independent integrators must agree: the closed form (Z24.sf-diagonal), event-driven
sliding (exact event-to-event on quadratics, and on the Runge-Kutta driver) and implicit Euler
(l_inf trust-region steps). Property tests: the dissipation identity ``df/dt = -||grad f||_1``,
``g_S = 0`` on the sliding set, the time to the minimizer on diagonal quadratics, no
chattering. Also: the new flows of :mod:`linsim.flows` (smoothed sign, clipped flows with their
kinks located by events) and the subproblem solvers, against SciPy.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.linalg import expm
from scipy.optimize import minimize

from linsim.experiments import y25
from linsim.flows import CLIP_COORD, CLIP_GLOBAL, HEADER, kink_values, pack, transform
from linsim.integrate import IntegrationError
from linsim.integrate.implicit import (
    box_qp,
    implicit_euler,
    linearly_implicit_extrapolation,
)
from linsim.integrate.sliding import sign_flow, solve_piecewise
from linsim.problems.filippov import QuadraticSign, kink_events, tr_quadratic, tr_unigram
from linsim.problems.softmax import UnigramModel

SLIDING = {"rtol": 1e-12, "atol": 1e-14, "integrator": "DOP853"}


def _random_pd(n, rng, lo=1.0, hi=100.0):
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return (q * np.exp(rng.uniform(np.log(lo), np.log(hi), n))) @ q.T


# ------------------------------------------------------------------------ subproblem solvers


@settings(deadline=None, max_examples=40)
@given(n=st.integers(1, 12), seed=st.integers(0, 2**31 - 1))
def test_box_qp_kkt(n, seed):
    rng = np.random.default_rng(seed)
    H = _random_pd(n, rng)
    c = rng.normal(size=n) * 10
    lo = -rng.uniform(0, 1, n)
    hi = rng.uniform(0, 1, n)
    lo[0] = hi[0] = 0.3 if n > 2 else lo[0]  # a fixed variable
    z = np.zeros(n)
    state = box_qp(H, c, lo, hi, z, 1000)
    g = H @ z + c
    assert np.all(z >= lo - 1e-15) and np.all(z <= hi + 1e-15)
    free = state == 0
    assert np.all(np.abs(g[free]) <= 1e-9 * (1 + np.abs(c).max()))
    assert np.all(g[state == -1] >= -1e-9) and np.all(g[state == 1] <= 1e-9)
    # against SciPy's bounded L-BFGS-B
    res = minimize(lambda x: 0.5 * x @ H @ x + c @ x, np.clip(np.zeros(n), lo, hi),
                   jac=lambda x: H @ x + c, bounds=list(zip(lo, hi, strict=True)),
                   method="L-BFGS-B", options={"ftol": 1e-15, "gtol": 1e-12})
    assert 0.5 * z @ H @ z + c @ z <= res.fun + 1e-9 * (1 + abs(res.fun))


@settings(deadline=None, max_examples=30)
@given(n=st.integers(1, 10), seed=st.integers(0, 2**31 - 1), h=st.floats(1e-3, 3.0))
def test_tr_quadratic_is_the_box_minimizer(n, seed, h):
    rng = np.random.default_rng(seed)
    H = _random_pd(n, rng)
    xs, x = rng.normal(size=n), rng.normal(size=n) * 2
    z = np.empty(n)
    tr_quadratic(H, xs, x, h, z)
    assert np.abs(z - x).max() <= h * (1 + 1e-12)
    g = H @ (z - xs)
    inside = np.abs(z - x) < h * (1 - 1e-9)
    assert np.all(np.abs(g[inside]) <= 1e-9 * (1 + np.abs(H).max() * np.abs(x - xs).max()))
    # at the boundary the step goes against the gradient: x_new - x = -h sign(g)
    edge = ~inside & (np.abs(g) > 1e-9)
    assert np.all(np.sign(z - x)[edge] == -np.sign(g[edge]))


@settings(deadline=None, max_examples=40)
@given(c=st.integers(2, 60), seed=st.integers(0, 2**31 - 1), h=st.floats(1e-4, 5.0))
def test_tr_unigram_kkt_and_scipy(c, seed, h):
    rng = np.random.default_rng(seed)
    m = UnigramModel.from_frequencies(rng.dirichlet(np.ones(c)) + 1e-3)
    theta = rng.normal(size=c) * 3
    z = np.empty(c)
    tr_unigram(theta, m.log_pi, h, z)
    d = z - theta
    assert np.abs(d).max() <= h * (1 + 1e-12) + 1e-12
    g = m.grad(z)
    inside = np.abs(d) < h - 1e-9
    assert np.all(np.abs(g[inside]) <= 1e-12)
    assert np.all(g[d >= h - 1e-9] <= 1e-12) and np.all(g[d <= -h + 1e-9] >= -1e-12)
    res = minimize(m.loss, theta, jac=m.grad, bounds=list(zip(theta - h, theta + h,
                                                              strict=True)),
                   method="L-BFGS-B", options={"ftol": 1e-15, "gtol": 1e-12})
    assert m.loss(z) <= res.fun + 1e-10


# ------------------------------------------------------------------ the three methods agree


@settings(deadline=None, max_examples=15, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 8), seed=st.integers(0, 2**31 - 1))
def test_diagonal_quadratic_all_methods_and_time(n, seed):
    """Z24.sf-diagonal: closed form = exact = sliding = implicit; the minimizer is reached at
    exactly t = ||x0 - x*||_inf, whatever the curvatures."""
    rng = np.random.default_rng(seed)
    prob = QuadraticSign(np.diag(np.exp(rng.uniform(-3, 5, n))), rng.normal(size=n))
    x0 = prob.x_star + rng.uniform(-3, 3, n)
    d = float(np.abs(x0 - prob.x_star).max())
    r = y25.filippov_agreement(prob, x0, 1.3 * d, 53, ("closed", "exact", "sliding", "implicit"),
                               **{k: v for k, v in SLIDING.items() if k != "integrator"})
    assert r["max_distance"] <= 1e-10
    for m in ("exact", "sliding"):
        assert r["results"][m].t_events[-1] == pytest.approx(d, rel=1e-12)
        assert r["results"][m].stats["events"] == n  # each coordinate sticks once
    ri = sign_flow(prob, x0, (0.0, 1.3 * d), method="implicit", level=1e-28)
    assert ri.time_to_level == pytest.approx(d, rel=1e-7)


@pytest.mark.parametrize("seed", range(4))
def test_rotated_block_quadratic_agreement(seed):
    prob, x0 = y25.filippov_quadratic("blocks", 9, seed)
    T = 1.5 * float(np.abs(x0 - prob.x_star).max())
    r = y25.filippov_agreement(prob, x0, T, 101, ("exact", "sliding", "implicit"),
                               rtol=1e-12, atol=1e-14)
    assert r["max_distance"] <= 1e-10, r["distance"]
    ex, sl = r["results"]["exact"], r["results"]["sliding"]
    # the driver locates the events at the exact roots of the linear motion
    np.testing.assert_allclose(sl.t_events, ex.t_events, rtol=0, atol=1e-11)
    np.testing.assert_array_equal(sl.event_index, ex.event_index)
    assert r["stats"]["sliding"]["events"] <= 3 * 9  # bounded: no chattering
    assert np.abs(prob.grad(ex.y_final)).max() < 1e-12  # ends at the minimizer


def test_crossings_and_releases_happen_and_are_handled():
    """A dense problem where a coordinate crosses and another is released at one event:
    implicit Euler needs the switch detection there (first order without it)."""
    rng = np.random.default_rng(0)
    n = 6
    xs, x0 = rng.normal(size=n), rng.normal(size=n) * 2
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    prob = QuadraticSign(q @ np.diag(rng.uniform(1, 10, n)) @ q.T, xs)
    T = 3.0
    t = np.linspace(0, T, 61)
    ex = sign_flow(prob, x0, (0, T), method="exact", t_eval=t)
    assert np.unique(ex.event_index).size < ex.event_index.size  # some coordinate switches twice
    im = sign_flow(prob, x0, (0, T), method="implicit", t_eval=t)
    assert im.stats["events"] >= 1  # the located switch
    assert max(prob.distance(a, b) for a, b in zip(ex.y, im.y, strict=True)) < 1e-11
    plain = implicit_euler(prob.tr_step, x0, (0, T), t_eval=t, detect_switches=False)
    assert max(prob.distance(a, b) for a, b in zip(ex.y, plain.x, strict=True)) > 1e-6


def test_time_to_level_agrees_between_methods():
    prob, x0 = y25.filippov_quadratic("blocks", 9, 1)
    T = 1.5 * float(np.abs(x0 - prob.x_star).max())
    times = {m: sign_flow(prob, x0, (0.0, T), method=m, level=1e-8,
                          **(SLIDING if m == "sliding" else {})).time_to_level
             for m in ("exact", "sliding", "implicit")}
    assert times["sliding"] == pytest.approx(times["exact"], rel=1e-11)
    assert times["implicit"] == pytest.approx(times["exact"], rel=1e-11)


# ------------------------------------------------------------------------- property tests


@pytest.mark.parametrize("kind", ["diagonal", "blocks"])
@pytest.mark.parametrize("method", ["exact", "sliding"])
def test_dissipation_identity_and_sliding_set(kind, method):
    prob, x0 = y25.filippov_quadratic(kind, 9, 2)
    T = 1.2 * float(np.abs(x0 - prob.x_star).max())
    kw = {"rtol": 1e-12, "atol": 1e-14} if method == "sliding" else {}
    r = y25.dissipation(prob, x0, T, method, **kw)
    assert r["defect"] < 1e-11
    assert r["max_gS"] < 1e-12
    assert r["segments"] >= r["events"]


def test_too_many_events_is_an_error():
    prob, x0 = y25.filippov_quadratic("blocks", 9, 0)
    with pytest.raises(IntegrationError, match="events"):
        sign_flow(prob, x0, (0.0, 10.0), method="sliding", max_events=2, **SLIDING)


def test_explicit_chattering_amplitude_is_the_step():
    prob = QuadraticSign(np.diag([1.0, 4.0, 9.0]), np.zeros(3))
    x0 = np.array([1.0, -0.7, 0.4])
    r = y25.explicit_chattering(prob, x0, 2.0, (1e-2, 1e-3, 1e-4))
    assert r["slope"] == pytest.approx(1.0, abs=0.1)
    assert all(0.2 <= a <= 1.5 for a in r["amplitude_over_step"])


def test_smoothed_sign_converges_at_order_one():
    prob = QuadraticSign(np.diag([1.0, 2.0]), np.zeros(2))
    x0 = np.array([1.0, -0.6])
    for flow in ("sign_tanh", "sign_sqrt"):
        r = y25.smoothed_convergence(prob, x0, 1.5, (1e-3, 3e-4, 1e-4, 3e-5), flow=flow,
                                     reference="closed", t_extra=(1.0,))
        assert r["slope"] == pytest.approx(1.0, abs=0.1), r


def test_bad_arguments():
    prob, x0 = y25.filippov_quadratic("blocks", 6, 0)
    with pytest.raises(ValueError, match="method must be one of"):
        sign_flow(prob, x0, (0, 1), method="rk4")
    with pytest.raises(ValueError, match="diagonal"):
        sign_flow(prob, x0, (0, 1), method="closed")
    with pytest.raises(ValueError, match="x0 must have 6"):
        sign_flow(prob, x0[:3], (0, 1))
    with pytest.raises(ValueError, match="t_span"):
        sign_flow(prob, x0, (1, 1))
    with pytest.raises(ValueError, match="adaptive"):
        sign_flow(prob, x0, (0, 1), integrator="RK4")
    with pytest.raises(ValueError, match="positive definite"):
        QuadraticSign(np.diag([1.0, -1.0]), np.zeros(2))
    with pytest.raises(ValueError, match="symmetric"):
        QuadraticSign(np.array([[1.0, 0.5], [0.0, 1.0]]), np.zeros(2))


# ------------------------------------------------------------------------- clipped flows


@settings(deadline=None, max_examples=30)
@given(seed=st.integers(0, 2**31 - 1), tau=st.floats(1e-3, 10.0), n=st.integers(1, 20))
def test_clip_transforms_and_kinks(seed, tau, n):
    g = np.random.default_rng(seed).normal(size=n) * 3
    for code, want, kinks in (
        (CLIP_GLOBAL, -min(1.0, tau / np.linalg.norm(g)) * g, [np.linalg.norm(g) - tau]),
        (CLIP_COORD, -np.clip(g, -tau, tau), np.abs(g) - tau),
    ):
        p = np.zeros(HEADER)
        p[0], p[1] = code, tau
        dy = g.copy()
        from linsim.flows import finish

        finish(0.0, p, g, dy, transform(p, dy))
        np.testing.assert_allclose(dy, want, rtol=1e-14, atol=1e-300)
        out = np.zeros(len(kinks))
        kink_values(p, g, out)
        np.testing.assert_allclose(out, kinks, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("flow,tau", [("clip_coord", 1.0), ("clip_global", 2.0)])
def test_clipped_flows_keep_full_order_with_kink_events(flow, tau):
    prob = QuadraticSign(np.diag([1.0, 3.0, 0.5]), np.zeros(3))
    x0 = np.array([3.07, -2.0, 4.13])  # kinks off the step grids
    r = y25.clipped_order(prob, x0, 3.0, flow, tau, (0.2, 0.1, 0.05, 0.025))
    assert r["kinks"] >= 1
    assert r["order_with_kinks"] == pytest.approx(4.0, abs=0.4)
    assert r["order_plain"] < 2.5  # a step straddling the kink costs orders


def test_clip_coord_against_closed_form():
    """Per coordinate: x' = -tau sign(x) while lambda |x| > tau, then x' = -lambda x."""
    lam, tau, x0, T = np.array([1.0, 3.0]), 1.0, np.array([3.0, -2.0]), 3.0
    prob = QuadraticSign(np.diag(lam), np.zeros(2))
    p = prob.params("clip_coord", 0.0, (tau,))
    sol, kinks = solve_piecewise(prob.field, (0.0, T), x0, p, kink_events(prob, "clip_coord"),
                                 method="DOP853", rtol=1e-12, atol=1e-14)
    t1 = (np.abs(x0) - tau / lam) / tau  # time of the kink
    want = np.sign(x0) * tau / lam * np.exp(-lam * (T - t1))
    np.testing.assert_allclose(sol.y_final, want, rtol=1e-10)
    # a kink located on the interpolant of the step that straddles it is located again, more
    # accurately, after the segment is redone: the last location of each is the exact time
    assert 2 <= kinks <= 4
    for i in range(2):
        assert sol.t_events[sol.event_index == i][-1] == pytest.approx(t1[i], rel=1e-12)


# ------------------------------------------------------------ linearly implicit extrapolation


def test_extrapolation_on_a_stiff_linear_system():
    rng = np.random.default_rng(1)
    A = -_random_pd(5, rng, 1e-2, 1e4)
    y0 = rng.normal(size=5)

    def factor(y):
        def solve_(h, r):
            return np.linalg.solve(np.eye(5) - h * A, r)
        return solve_

    res = linearly_implicit_extrapolation(lambda y: A @ y, factor, y0, (0.0, 100.0),
                                          t_eval=[1.0, 10.0, 100.0], rtol=1e-10, atol=1e-13)
    for t, y in zip(res.t, res.y, strict=True):
        np.testing.assert_allclose(y, expm(A * t) @ y0, atol=1e-8 * np.abs(y0).max())
    # explicit RK is stable only for h < ~3.3e-4 here: ~3e5 steps; this takes about 1e3
    assert res.stats["naccepted"] < 3000


def test_pack_keeps_the_old_codes():
    p = pack("normalized", np.zeros(2))
    assert p[0] == 2 and p.size == HEADER + 2
    assert pack("sign_tanh", np.zeros(1), (0.1,))[1] == 0.1
