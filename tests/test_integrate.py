"""Tests for :mod:`linsim.integrate`: the Numba Runge-Kutta driver and its tableaux.

Every claim is checked against something computed independently of the code under test: matrix
exponentials, closed-form solutions, SciPy's own integrators and coefficient tables, the
classical order conditions, or the same integration run another way (chunked, without the JIT,
in a fresh process).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.integrate as si
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit
from scipy.linalg import expm

from linsim.integrate import (
    METHODS,
    Events,
    IntegrationError,
    driver,
    get_tableau,
    solve,
    vector_field,
)

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
import _fields  # noqa: E402  (module-level fields shared with the subprocess tests)

ADAPTIVE = ("RK45", "DOP853")
FIXED = ("Euler", "Heun", "RK4")
ORDER = {"Euler": 1, "Heun": 2, "RK4": 4, "RK45": 5, "DOP853": 8}


# --------------------------------------------------------------------------- vector fields


@vector_field
def linear(t, y, p, dy):
    """y' = A y with A = p.reshape(n, n)."""
    n = y.size
    for i in range(n):
        acc = 0.0
        for j in range(n):
            acc += p[i * n + j] * y[j]
        dy[i] = acc


@vector_field
def decay(t, y, p, dy):
    """y' = -p[0] y, componentwise."""
    for i in range(y.size):
        dy[i] = -p[0] * y[i]


@vector_field
def harmonic(t, y, p, dy):
    """y0' = w y1, y1' = -w y0 with w = p[0]: y = (cos(w t + phi), -sin(w t + phi))."""
    dy[0] = p[0] * y[1]
    dy[1] = -p[0] * y[0]


@vector_field
def logistic(t, y, p, dy):
    """y' = r y (1 - y / K), p = (r, K)."""
    dy[0] = p[0] * y[0] * (1.0 - y[0] / p[1])


@vector_field
def van_der_pol(t, y, p, dy):
    dy[0] = y[1]
    dy[1] = p[0] * (1.0 - y[0] * y[0]) * y[1] - y[0]


@vector_field
def slow_decay(t, y, p, dy):
    """y' = -p[0] y / (1 + t): y = (1 + t)^(-p[0])."""
    dy[0] = -p[0] * y[0] / (1.0 + t)


@vector_field
def square(t, y, p, dy):
    """y' = y^2: from y(0) = 1 it blows up at t = 1."""
    dy[0] = y[0] * y[0]


@vector_field
def nan_after(t, y, p, dy):
    """Decay whose right-hand side is NaN for t > p[0]."""
    dy[0] = -y[0]
    if t > p[0]:
        dy[0] = np.nan


@vector_field
def first_component(t, y, p, out):
    out[0] = y[0]


@vector_field
def both_components(t, y, p, out):
    out[0] = y[0]
    out[1] = y[1]


@vector_field
def half_level(t, y, p, out):
    out[0] = y[0] - 0.5


@vector_field
def energy(t, y, p, out):
    out[0] = y[0] * y[0] + y[1] * y[1]


# The SciPy twins of the fields above.
def lv_py(t, y, a=1.5, b=1.0, c=3.0, d=1.0):
    return [a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]]


def vdp_py(t, y, mu=1.0):
    return [y[1], mu * (1.0 - y[0] ** 2) * y[1] - y[0]]


# A non-normal 4x4 matrix: eigenvalues -1, -2, -0.5 +- i sqrt(5).
A4 = np.array([
    [-1.0, 4.0, 0.0, 0.0],
    [0.0, -2.0, 3.0, 0.0],
    [0.0, 0.0, -0.5, 5.0],
    [0.0, 0.0, -1.0, -0.5],
])
Y4 = np.array([1.0, -0.5, 0.25, 2.0])

# name -> (jitted field, params, python field, t_span, y0)
PROBLEMS = {
    "linear": (linear, A4.ravel(), lambda t, y: A4 @ y, (0.0, 10.0), Y4),
    "lotka-volterra": (_fields.lotka_volterra, [1.5, 1.0, 3.0, 1.0], lv_py, (0.0, 8.0),
                       [4.0, 2.0]),
    "van-der-pol": (van_der_pol, [1.0], vdp_py, (0.0, 8.0), [2.0, 0.0]),
    "decay": (decay, [0.7], lambda t, y: -0.7 * y, (0.0, 10.0), [1.0, 2.0]),
}


def slope(h, err) -> float:
    return float(np.polyfit(np.log(h), np.log(err), 1)[0])


def fixed_solve(method, rhs, t_span, y0, p, h, **kw):
    """Constant steps h: native for the fixed-step methods, forced for the adaptive ones."""
    if method in FIXED:
        return solve(rhs, t_span, y0, p, method=method, step=h, **kw)
    return solve(rhs, t_span, y0, p, method=method, first_step=h, max_step=h, rtol=1e3,
                 atol=1e3, **kw)


# --------------------------------------------------------------------------- convergence order

# (time span, steps): errors well above round-off and in the asymptotic range.
CONVERGENCE = {
    "Euler": (1.0, [1 / 20, 1 / 40, 1 / 80, 1 / 160, 1 / 320]),
    "Heun": (1.0, [1 / 10, 1 / 20, 1 / 40, 1 / 80, 1 / 160]),
    "RK4": (2.0, [1 / 5, 1 / 10, 1 / 20, 1 / 40]),
    "RK45": (2.0, [1 / 4, 1 / 8, 1 / 16, 1 / 32]),
    "DOP853": (4.0, [1 / 2, 1 / 3, 1 / 4, 1 / 6, 1 / 8]),
}


@pytest.mark.parametrize("method", METHODS)
def test_convergence_order(method):
    """Fixed steps on y' = A y (non-normal A): the error slope is the method's order, at the
    step points and at the midpoints (the dense output is accurate enough not to spoil it)."""
    T, hs = CONVERGENCE[method]
    end_err, mid_err = [], []
    for h in hs:
        n = round(T / h)
        mids = (np.arange(n) + 0.5) * h
        sol = fixed_solve(method, linear, (0.0, T), Y4, A4.ravel(), h, t_eval=mids)
        assert sol.nrejected == 0
        assert sol.naccepted == n
        end_err.append(np.abs(sol.y_final - expm(A4 * T) @ Y4).max())
        exact = np.array([expm(A4 * t) @ Y4 for t in mids])
        mid_err.append(np.abs(sol.y - exact).max())
    order = ORDER[method]
    assert min(end_err) > 1e-12  # well above round-off
    assert abs(slope(hs, end_err) - order) < 0.3, (hs, end_err)
    assert abs(slope(hs, mid_err) - order) < 0.3, (hs, mid_err)


# --------------------------------------------------------------------------- tableaux


@pytest.mark.parametrize("method", METHODS)
def test_tableau_consistency(method):
    tab = get_tableau(method)
    s = tab.stages
    assert tab.order == ORDER[method]
    assert tab.A.shape == (tab.total_stages, tab.total_stages)
    assert np.sum(tab.B) == pytest.approx(1.0, abs=1e-14)
    np.testing.assert_allclose(tab.A.sum(axis=1), tab.C, atol=1e-13)
    np.testing.assert_array_equal(tab.A[s, :s], tab.B)  # the new point is a stage at c = 1
    assert tab.C[s] == 1.0
    assert np.all(np.triu(tab.A) == 0)  # explicit
    if tab.adaptive:
        assert np.sum(tab.E) == pytest.approx(0.0, abs=1e-14)  # a difference of two methods


@pytest.mark.parametrize("method", METHODS)
def test_tableau_order_conditions(method):
    """Bushy-tree conditions b.c^(k-1) = 1/k for k <= p and b.A.c^(k-1) = 1/(k(k+1)) for
    k + 1 <= p: independent of how the coefficients were typed in."""
    tab = get_tableau(method)
    s = tab.stages
    b, c, A = tab.B, tab.C[:s], tab.A[:s, :s]
    for k in range(1, tab.order + 1):
        assert b @ c ** (k - 1) == pytest.approx(1.0 / k, abs=1e-13), k
        if k + 1 <= tab.order:
            assert b @ A @ c ** (k - 1) == pytest.approx(1.0 / (k * (k + 1)), abs=1e-13), k


def test_tableau_dp5_matches_scipy():
    tab = get_tableau("RK45")
    Sp = si.RK45
    assert tab.stages == Sp.n_stages == 6
    np.testing.assert_allclose(tab.A[:6, :5], Sp.A, rtol=1e-15, atol=0)
    assert np.all(tab.A[:6, 5:] == 0)
    np.testing.assert_allclose(tab.B, Sp.B, rtol=1e-15, atol=0)
    np.testing.assert_allclose(tab.C[:6], Sp.C, rtol=1e-15, atol=0)
    np.testing.assert_allclose(tab.E, Sp.E, rtol=1e-15, atol=0)
    np.testing.assert_allclose(tab.P, Sp.P, rtol=1e-15, atol=0)
    assert tab.error_order == Sp.error_estimator_order


@pytest.mark.parametrize("method", METHODS)
def test_dense_output_polynomial_endpoints(method):
    """theta = 1 reproduces y1 (weights B, 0 for K_s and the extra stages); the interpolant's
    derivative is f(t0) = K_0 at theta = 0 and f(t1) = K_s at theta = 1 (C^1 dense output)."""
    tab = get_tableau(method)
    s, (s_tot, deg) = tab.stages, tab.P.shape
    assert s_tot == tab.total_stages
    at_one = tab.P.sum(axis=1)
    np.testing.assert_allclose(at_one, np.concatenate([tab.B, np.zeros(s_tot - s)]), atol=1e-12)
    e0 = np.zeros(s_tot)
    e0[0] = 1.0
    np.testing.assert_allclose(tab.P[:, 0], e0, atol=1e-15)
    es = np.zeros(s_tot)
    es[s] = 1.0
    np.testing.assert_allclose(tab.P @ np.arange(1.0, deg + 1), es, atol=1e-11)


# --------------------------------------------------------------------------- agreement with SciPy


@pytest.mark.parametrize("rtol", [1e-4, 1e-6, 1e-8])
@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("method", ADAPTIVE)
def test_agrees_with_scipy(method, problem, rtol):
    """Same method, same tolerances, same error norm and starting step: the final states agree
    to the tolerance and the step counts to 20 % (the driver's PI step controller, Hairer's,
    takes about 5 % more steps than SciPy's I controller)."""
    f, p, f_py, t_span, y0 = PROBLEMS[problem]
    atol = rtol * 1e-3
    ours = solve(f, t_span, y0, p, method=method, rtol=rtol, atol=atol)
    ref = si.solve_ivp(f_py, t_span, np.asarray(y0, float), method=method, rtol=rtol, atol=atol)
    assert ref.success
    y_ref = ref.y[:, -1]
    assert np.all(np.abs(ours.y_final - y_ref) <= 10 * (atol + rtol * np.abs(y_ref)))
    assert ours.naccepted == pytest.approx(len(ref.t) - 1, rel=0.2)
    # attempted steps: both spend 2 evaluations to start and `stages` per attempt
    s = get_tableau(method).stages
    assert ours.nfev == 2 + s * (ours.naccepted + ours.nrejected)
    assert ours.nfev == pytest.approx(ref.nfev, rel=0.2)


# --------------------------------------------------------------------------- high accuracy


def _logistic_exact(t, r=1.0, K=2.0, y0=0.1):
    return K / (1.0 + (K / y0 - 1.0) * math.exp(-r * t))


HIGH_ACCURACY = {
    "decay": (decay, [1.0], (0.0, 10.0), [1.0], lambda T: [math.exp(-T)]),
    "harmonic": (harmonic, [1.0], (0.0, 6 * math.pi), [1.0, 0.0],
                 lambda T: [math.cos(T), -math.sin(T)]),
    "logistic": (logistic, [1.0, 2.0], (0.0, 10.0), [0.1], lambda T: [_logistic_exact(T)]),
}


@pytest.mark.parametrize("problem", list(HIGH_ACCURACY))
@pytest.mark.parametrize("method", ADAPTIVE)
def test_high_accuracy(method, problem):
    f, p, t_span, y0, exact = HIGH_ACCURACY[problem]
    sol = solve(f, t_span, y0, p, method=method, rtol=1e-12, atol=1e-14)
    y = np.asarray(exact(t_span[1]))
    scale = max(np.abs(y).max(), 1.0) if problem == "harmonic" else np.abs(y)
    assert np.all(np.abs(sol.y_final - y) <= 1e-10 * scale)
    assert sol.t_final == t_span[1]


# --------------------------------------------------------------------------- dense output

LOG_GRID = np.logspace(-7, 5, 200)


@pytest.mark.parametrize("rtol", [1e-6, 1e-8, 1e-10])
@pytest.mark.parametrize("method", ADAPTIVE)
def test_dense_output_log_grid(method, rtol):
    """200 outputs over 12 decades of y = (1 + t)^(-1/2): accurate, and free in steps (and, for
    RK45, in evaluations; DOP853 pays its 3 extra dense stages in the steps that hold outputs)."""
    atol = rtol * 1e-4
    args = (slow_decay, (0.0, 1e5), [1.0], [0.5])
    dense = solve(*args, method=method, rtol=rtol, atol=atol, t_eval=LOG_GRID)
    plain = solve(*args, method=method, rtol=rtol, atol=atol)
    exact = (1.0 + LOG_GRID) ** -0.5
    np.testing.assert_array_equal(dense.t, LOG_GRID)
    rel = np.abs(dense.y[:, 0] / exact - 1.0)
    # global error of a neutral problem grows ~ with the number of steps; SciPy shows the same
    # (RK45: ours 4/13/31 x rtol, SciPy 8/20/45 x rtol at rtol 1e-6/1e-8/1e-10)
    assert rel.max() <= (100 * rtol if method == "RK45" else rtol)
    assert dense.naccepted == plain.naccepted
    assert dense.nrejected == plain.nrejected
    np.testing.assert_array_equal(dense.y_final, plain.y_final)
    if method == "RK45":
        assert dense.nfev == plain.nfev
    else:
        assert dense.nfev > plain.nfev


@settings(deadline=None, max_examples=30)
@given(st.lists(st.floats(0.0, 3.0), min_size=1, max_size=20), st.sampled_from(METHODS))
def test_t_eval_changes_nothing_but_outputs(times, method):
    t_eval = np.sort(np.array(times))
    kw = {"step": 0.01} if method in FIXED else {"rtol": 1e-9, "atol": 1e-12}
    dense = solve(decay, (0.0, 3.0), [1.0, -2.0], [1.3], method=method, t_eval=t_eval, **kw)
    plain = solve(decay, (0.0, 3.0), [1.0, -2.0], [1.3], method=method, **kw)
    np.testing.assert_array_equal(dense.y_final, plain.y_final)
    assert (dense.naccepted, dense.nrejected) == (plain.naccepted, plain.nrejected)
    exact = np.exp(-1.3 * t_eval)[:, None] * np.array([1.0, -2.0])
    tol = {"Euler": 3e-2, "Heun": 1e-4, "RK4": 1e-8}.get(method, 1e-8)
    np.testing.assert_allclose(dense.y, exact, rtol=0, atol=tol)


def test_output_function():
    sol = solve(harmonic, (0.0, 10.0), [1.0, 0.0], [2.0], rtol=1e-10, atol=1e-12,
                t_eval=np.linspace(0, 10, 11), output=energy, n_output=1)
    assert sol.y.shape == (11, 1)
    np.testing.assert_allclose(sol.y[:, 0], 1.0, atol=1e-8)
    assert sol.y_final.shape == (2,)


# --------------------------------------------------------------------------- events

TIGHT = {"rtol": 1e-12, "atol": 1e-14}


@pytest.mark.parametrize("method", ADAPTIVE)
def test_event_roots(method):
    sol = solve(harmonic, (0.0, 10.0), [1.0, 0.0], [1.0], method=method, **TIGHT,
                events=Events(first_component, 1))
    roots = np.pi / 2 + np.pi * np.arange(3)  # 7 pi / 2 > 10
    np.testing.assert_allclose(sol.t_events, roots, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(sol.event_index, 0)
    assert sol.status == 0 and sol.t_final == 10.0


def test_event_roots_fixed_step():
    """RK4 locates on its cubic Hermite interpolant: O(h^4) accurate."""
    sol = solve(harmonic, (0.0, 10.0), [1.0, 0.0], [1.0], method="RK4", step=1e-3,
                events=Events(first_component, 1))
    np.testing.assert_allclose(sol.t_events, np.pi / 2 + np.pi * np.arange(3), atol=1e-10)


@settings(deadline=None, max_examples=30)
@given(st.floats(0.5, 3.0), st.floats(0.05, 1.5))
def test_event_roots_random_oscillator(w, phi):
    sol = solve(harmonic, (0.0, 10.0), [math.cos(phi), -math.sin(phi)], [w], **TIGHT,
                events=Events(first_component, 1))
    k = np.arange(40)
    roots = (np.pi / 2 - phi + np.pi * k) / w
    roots = roots[(roots > 0) & (roots < 10.0)]
    np.testing.assert_allclose(sol.t_events, roots, rtol=0, atol=1e-10)


@pytest.mark.parametrize("direction, roots", [
    (1.0, [1.5 * np.pi]),  # cos t rises through 0
    (-1.0, [0.5 * np.pi, 2.5 * np.pi]),  # and falls
    (0.0, [0.5 * np.pi, 1.5 * np.pi, 2.5 * np.pi]),
])
def test_event_direction(direction, roots):
    sol = solve(harmonic, (0.0, 10.0), [1.0, 0.0], [1.0], **TIGHT,
                events=Events(first_component, 1, direction=direction))
    np.testing.assert_allclose(sol.t_events, roots, rtol=0, atol=1e-10)


@pytest.mark.parametrize("method", ADAPTIVE)
def test_event_several_components(method):
    """(cos t, -sin t): both components, merged in time order; -sin t starts at exactly 0,
    which is not a crossing."""
    sol = solve(harmonic, (0.0, 10.0), [1.0, 0.0], [1.0], method=method, **TIGHT,
                events=Events(both_components, 2, direction=[0.0, 0.0]))
    np.testing.assert_allclose(sol.t_events, np.pi / 2 * np.arange(1, 7), rtol=0, atol=1e-10)
    np.testing.assert_array_equal(sol.event_index, [0, 1, 0, 1, 0, 1])
    # per-component directions: cos t falling (pi/2, 5 pi/2), -sin t rising (pi, 3 pi)
    sol = solve(harmonic, (0.0, 10.0), [1.0, 0.0], [1.0], method=method, **TIGHT,
                events=Events(both_components, 2, direction=[-1.0, 1.0]))
    np.testing.assert_allclose(sol.t_events, np.pi * np.array([0.5, 1.0, 2.5, 3.0]),
                               rtol=0, atol=1e-10)
    np.testing.assert_array_equal(sol.event_index, [0, 1, 0, 1])


@pytest.mark.parametrize("method", METHODS)
def test_terminal_event(method):
    """y' = -y, y(0) = 1 stops where y = 1/2: t = ln 2, with outputs only up to there."""
    kw = {"step": 1e-3} if method in FIXED else TIGHT
    tol = {"Euler": 1e-3, "Heun": 1e-6}.get(method, 1e-10)
    t_eval = np.linspace(0.0, 2.0, 21)
    sol = solve(decay, (0.0, 2.0), [1.0], [1.0], method=method, t_eval=t_eval,
                events=Events(half_level, 1, terminal=True), **kw)
    assert sol.status == 1 and sol.message == "terminal event"
    assert sol.t_final == pytest.approx(math.log(2.0), abs=tol)
    assert sol.t_events.size == 1 and sol.t_events[0] == sol.t_final
    assert sol.y_final[0] == pytest.approx(0.5, abs=tol)
    np.testing.assert_array_equal(sol.t, t_eval[t_eval <= math.log(2.0)])  # 0, 0.1, .., 0.6
    np.testing.assert_allclose(sol.y[:, 0], np.exp(-sol.t), atol=tol)


def test_terminal_event_wrong_direction_does_not_stop():
    sol = solve(decay, (0.0, 2.0), [1.0], [1.0], **TIGHT,
                events=Events(half_level, 1, direction=1.0, terminal=True))
    assert sol.status == 0 and sol.t_final == 2.0 and sol.t_events.size == 0


def test_terminal_event_after_other_events():
    """A non-terminal crossing (component 0) before the terminal one (component 1) is kept."""
    sol = solve(harmonic, (0.0, 10.0), [1.0, 0.0], [1.0], **TIGHT,
                events=Events(both_components, 2, terminal=[False, True]))
    np.testing.assert_allclose(sol.t_events, [np.pi / 2, np.pi], atol=1e-10)
    np.testing.assert_array_equal(sol.event_index, [0, 1])
    assert sol.t_final == sol.t_events[-1]
    np.testing.assert_allclose(sol.y_final, [-1.0, 0.0], atol=1e-10)


def test_event_capacity():
    with pytest.raises(IntegrationError, match="more than 2 events"):
        solve(harmonic, (0.0, 10.0), [1.0, 0.0], [1.0],
              events=Events(first_component, 1, capacity=2))


# --------------------------------------------------------------------------- failures


def _t_in_message(err: IntegrationError) -> float:
    m = re.search(r"at t=([-+0-9.eE]+)", str(err))
    assert m, str(err)
    t = float(m.group(1))
    assert t == err.t
    return t


@pytest.mark.parametrize("method", METHODS)
def test_blow_up(method):
    kw = {"step": 1e-3} if method in FIXED else {}
    with pytest.raises(IntegrationError) as info:
        solve(square, (0.0, 2.0), [1.0], method=method, **kw)
    t = _t_in_message(info.value)
    # fixed steps of 1e-3 overshoot the singularity a little before overflowing (Euler most)
    assert abs(t - 1.0) < {"Euler": 3e-2, "Heun": 1e-2, "RK4": 2e-3}.get(method, 1e-4)
    reason = "underflow" if method in ADAPTIVE else "non-finite"
    assert reason in str(info.value)


@pytest.mark.parametrize("method", METHODS)
def test_nan_rhs_later(method):
    kw = {"step": 1e-3} if method in FIXED else {}
    with pytest.raises(IntegrationError, match="non-finite") as info:
        solve(nan_after, (0.0, 2.0), [1.0], [0.5], method=method, **kw)
    assert abs(_t_in_message(info.value) - 0.5) < (2e-3 if method in FIXED else 1e-10)


@pytest.mark.parametrize("method", METHODS)
def test_nan_rhs_from_start(method):
    kw = {"step": 1e-3} if method in FIXED else {}
    with pytest.raises(IntegrationError, match="non-finite") as info:
        solve(nan_after, (0.0, 2.0), [1.0], [-1.0], method=method, **kw)
    assert _t_in_message(info.value) == 0.0
    assert info.value.stats["steps"] == 0


@pytest.mark.parametrize("method", METHODS)
def test_too_many_steps(method):
    kw = {"step": 1e-3} if method in FIXED else {}
    with pytest.raises(IntegrationError, match="too many steps") as info:
        solve(decay, (0.0, 100.0), [1.0], [1.0], method=method, max_steps=5, **kw)
    err = info.value
    assert err.stats["steps"] + err.stats["rejected"] == 5
    assert 0.0 < _t_in_message(err) < 100.0


@pytest.mark.parametrize("kwargs, match", [
    ({"t_span": (1.0, 1.0)}, "t1 > t0"),
    ({"t_span": (1.0, 0.0)}, "t1 > t0"),
    ({"t_span": (0.0, np.inf)}, "finite"),
    ({"rtol": [1e-6, 1e-6, 1e-6]}, "rtol"),
    ({"atol": [1e-9, -1e-9]}, "atol"),
    ({"method": "RK23"}, "method"),
    ({"method": "RK4"}, "step"),
    ({"method": "Euler", "step": 0.0}, "step"),
    ({"t_eval": [0.5, 0.2]}, "sorted"),
    ({"t_eval": [0.5, 1.5]}, "within"),
    ({"rtol": 0.0, "atol": 0.0}, "both be zero"),
    ({"output": energy}, "n_output"),
])
def test_bad_input(kwargs, match):
    args = {"t_span": (0.0, 1.0), "y0": [1.0, 0.0], "params": [1.0]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        solve(harmonic, args.pop("t_span"), args.pop("y0"), args.pop("params"), **args)


# --------------------------------------------------------------------------- chunking


class _FakeTTY:
    """A stderr that claims to be a terminal, so that ``progress=True`` draws its bar here."""

    def __init__(self):
        self.writes = 0

    def isatty(self):
        return True

    def write(self, text):
        self.writes += 1
        return len(text)

    def flush(self):
        pass


@pytest.mark.parametrize("method", ["RK45", "DOP853", "RK4"])
def test_chunking_is_invisible(method, monkeypatch):
    """With a progress bar the driver runs in chunks of 64, 128, ... steps; every number must be
    bit-identical to one uninterrupted call (state, outputs, events, counters)."""
    kw = {"step": 2e-3} if method in FIXED else {"rtol": 1e-10, "atol": 1e-12}
    args = (van_der_pol, (0.0, 20.0), [2.0, 0.0], [1.0])
    common = dict(method=method, t_eval=np.linspace(0.0, 20.0, 77),
                  events=Events(both_components, 2), **kw)
    plain = solve(*args, **common)
    assert plain.naccepted > 200

    calls = []
    real_drive = driver._drive

    def counting_drive(*a):
        calls.append(int(a[-2]))  # the chunk size
        return real_drive(*a)

    fake = _FakeTTY()
    monkeypatch.setattr(driver.sys, "stderr", fake)
    monkeypatch.setattr(driver, "_drive", counting_drive)
    chunked = solve(*args, progress=True, **common)
    monkeypatch.undo()
    # the bar itself appears only after a second (tqdm's delay), so count chunks, not writes
    assert len(calls) > 1 and calls[0] == 64
    for name in ("t", "y", "y_final", "t_events", "event_index"):
        np.testing.assert_array_equal(getattr(chunked, name), getattr(plain, name), err_msg=name)
    for name in ("t_final", "status", "nfev", "naccepted", "nrejected"):
        assert getattr(chunked, name) == getattr(plain, name), name


# --------------------------------------------------------------------------- JIT and caching

_SUBPROCESS_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
import numpy as np
import _fields
from linsim.integrate import Events, solve
sol = solve(_fields.lotka_volterra, (0.0, 5.0), [4.0, 2.0], [1.5, 1.0, 3.0, 1.0],
            method={method!r}, rtol=1e-8, atol=1e-11, t_eval=np.linspace(0.0, 5.0, 11),
            events=Events(_fields.prey_level, 1))
print(json.dumps({{"y_final": sol.y_final.tolist(), "y": sol.y.tolist(),
                  "t_events": sol.t_events.tolist(),
                  "counts": [sol.naccepted, sol.nrejected, sol.nfev]}}))
"""


def _run_python(code: str, **env) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **env}, cwd=TESTS.parent)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.mark.slow
@pytest.mark.parametrize("method", ADAPTIVE)
def test_jit_parity(method):
    """The driver run as plain Python (NUMBA_DISABLE_JIT=1) gives the compiled result (bitwise,
    in practice; asserted to 1e-13) with the same step counts; the compiled run in a fresh
    process is bit-identical to this one."""
    script = _SUBPROCESS_SCRIPT.format(tests=str(TESTS), method=method)
    jit = json.loads(_run_python(script))
    nojit = json.loads(_run_python(script, NUMBA_DISABLE_JIT="1"))
    assert len(nojit["t_events"]) >= 2
    for key in ("y_final", "y", "t_events"):
        np.testing.assert_allclose(nojit[key], jit[key], rtol=1e-13, atol=0, err_msg=key)
    assert nojit["counts"] == jit["counts"]
    sol = solve(_fields.lotka_volterra, (0.0, 5.0), [4.0, 2.0], [1.5, 1.0, 3.0, 1.0],
                method=method, rtol=1e-8, atol=1e-11, t_eval=np.linspace(0.0, 5.0, 11),
                events=Events(_fields.prey_level, 1))
    assert sol.y_final.tolist() == jit["y_final"]
    assert sol.y.tolist() == jit["y"] and sol.t_events.tolist() == jit["t_events"]
    assert [sol.naccepted, sol.nrejected, sol.nfev] == jit["counts"]


_CACHE_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import _fields
from linsim.integrate import driver
sol = driver.solve(_fields.lotka_volterra, (0.0, 1.0), [4.0, 2.0], [1.5, 1.0, 3.0, 1.0])
st = driver._drive.stats
fst = _fields.lotka_volterra.stats
print(sum(st.cache_hits.values()), sum(st.cache_misses.values()),
      sum(fst.cache_hits.values()), sum(fst.cache_misses.values()))
"""


@pytest.mark.slow
def test_driver_is_cached_on_disk():
    """A fresh process loads the compiled driver (and a field) from the disk cache."""
    script = _CACHE_SCRIPT.format(tests=str(TESTS))
    _run_python(script)  # fills the cache if this checkout has not yet
    hits, misses, f_hits, f_misses = map(int, _run_python(script).split())
    assert (hits, misses) == (1, 0)
    assert (f_hits, f_misses) == (1, 0)


# --------------------------------------------------------------------------- error norm


@vector_field
def rate_decay(t, y, p, dy):
    """y_i' = -p[i] y_i: one rate per component."""
    for i in range(y.size):
        dy[i] = -p[i] * y[i]


@njit
def two_pass_error_norm(K, E, E3, use3, h, y0, y1, rtol, atol):
    """The RMS error of a step the plain way: every stage summed again, block by block in the
    driver's order, then the driver's block sums and norm."""
    n = y0.size
    B = driver._BLOCK
    a5 = np.empty(B)
    a3 = np.zeros(B)
    e5 = e3 = 0.0
    for i0 in range(0, n, B):
        L = min(B, n - i0)
        a5[:L] = 0.0
        if use3:
            a3[:L] = 0.0
        for j in range(E.size):
            if E[j] != 0.0:
                for ii in range(L):
                    a5[ii] += E[j] * K[j, i0 + ii]
            if use3 and E3[j] != 0.0:
                for ii in range(L):
                    a3[ii] += E3[j] * K[j, i0 + ii]
        b5, b3 = driver._block_sums(a5[:L], a3[:L], use3, y0[i0 : i0 + L], y1[i0 : i0 + L],
                                    i0, rtol, atol, False)
        e5 += b5
        e3 += b3
    return driver._norm_from_sums(e5, e3, use3, h, n, False)


@pytest.mark.parametrize("method", ADAPTIVE)
@pytest.mark.parametrize("vector_tol", [False, True])
def test_fused_error_norm_is_the_same_number(method, vector_tol):
    """The driver's one-pass final combination plus partial error sums give the new point and
    the scaled error of the two-pass kernels bit for bit (RMS); the max norm is the largest
    scaled error."""
    tab = get_tableau(method)
    s = tab.stages
    n = 1237  # not a multiple of the block
    rng = np.random.default_rng(7)
    K = rng.standard_normal((tab.total_stages, n))
    y = rng.standard_normal(n)
    rt = rng.uniform(1e-9, 1e-6, n) if vector_tol else np.array([1e-7])
    at = rng.uniform(1e-12, 1e-9, n) if vector_tol else np.array([1e-10])
    use3 = bool(np.any(tab.E3 != 0))
    h = 0.0123
    y_old = np.empty(n)
    driver._combine(y_old, y, h, K, tab.B, s)
    err_old = two_pass_error_norm(K, tab.E, tab.E3, use3, h, y, y_old, rt, at)
    y_new, part5, part3 = np.empty(n), np.empty(n), np.empty(n)
    driver._combine_step(y_new, part5, part3, y, h, K, tab.B, tab.E, tab.E3, s, use3)
    err_new = driver._error_norm_partial(part5, part3, K[s], tab.E[s], tab.E3[s], use3, h, y,
                                         y_new, rt, at, False)
    assert y_new.tobytes() == y_old.tobytes()
    assert err_new == err_old
    err_max = driver._error_norm_partial(part5, part3, K[s], tab.E[s], tab.E3[s], use3, h, y,
                                         y_new, rt, at, True)
    sc = (at + rt * np.maximum(np.abs(y), np.abs(y_new))) / abs(h)
    e5 = np.max((tab.E[: s + 1] @ K[: s + 1] / sc) ** 2)
    if use3:
        e3 = np.max((tab.E3[: s + 1] @ K[: s + 1] / sc) ** 2)
        ref = e5 / math.sqrt(e5 + 0.01 * e3)
    else:
        ref = math.sqrt(e5)
    assert err_max == pytest.approx(ref, rel=1e-12)
    assert err_max >= err_new
    # a non-finite new point is reported as NaN
    y_new[5] = np.inf
    assert math.isnan(driver._error_norm_partial(part5, part3, K[s], tab.E[s], tab.E3[s], use3,
                                                 h, y, y_new, rt, at, True))


@pytest.mark.parametrize("method", ADAPTIVE)
def test_max_norm_keeps_few_fast_components_accurate(method):
    """10^4 slow components and 4 fast ones: the RMS norm dilutes the fast ones' error (as
    SciPy's); the max norm holds every component near the tolerance, at more steps."""
    n = 10_000
    rates = np.full(n, 1e-3)
    rates[:4] = [1.0, 2.0, 3.0, 5.0]
    t_end = 4.0
    kw = dict(method=method, rtol=1e-8, atol=1e-12, t_eval=np.linspace(0.0, t_end, 9))
    rms = solve(rate_decay, (0.0, t_end), np.ones(n), rates, **kw)
    rms2 = solve(rate_decay, (0.0, t_end), np.ones(n), rates, norm="rms", **kw)
    mx = solve(rate_decay, (0.0, t_end), np.ones(n), rates, norm="max", **kw)
    assert rms.y.tobytes() == rms2.y.tobytes() and rms.nfev == rms2.nfev  # the default
    exact = np.exp(-np.outer(kw["t_eval"], rates))
    scale = kw["atol"] + kw["rtol"] * exact  # the error in units of the tolerance
    err_rms = np.max(np.abs(rms.y - exact) / scale)
    err_max = np.max(np.abs(mx.y - exact) / scale)
    assert err_max < 2.0  # measured 0.97 (RK45), 0.57 (DOP853)
    assert err_rms > 30.0  # measured 115, 67
    assert mx.naccepted > rms.naccepted
    # one component alone: both norms are the same number
    one = [solve(rate_decay, (0.0, t_end), [1.0], [2.0], method=method, rtol=1e-8, atol=1e-12,
                 norm=nm) for nm in ("rms", "max")]
    assert one[0].y_final.tobytes() == one[1].y_final.tobytes()
    assert one[0].nfev == one[1].nfev


def test_norm_validation_and_default_state_vector():
    with pytest.raises(ValueError, match="norm must be one of rms, max"):
        solve(decay, (0.0, 1.0), [1.0], [1.0], norm="l2")
    # callers of the compiled driver with the 9-entry state vector (no options) get RMS
    assert driver._NORM == 9 and driver.NORMS == {"rms": 0, "max": 1}


def test_a_field_is_resolved_once_not_on_every_call(monkeypatch):
    """Numba resolves a jitted function passed to a compiled entry point on every call (two
    compile-cache lookups, most of a small integration's fixed cost); linsim hands the driver
    a CompiledField whose address is looked up once per function, with the same numbers."""
    from numba.core.dispatcher import Dispatcher

    from linsim.integrate.driver import CompiledField, compiled_field

    args = (_fields.lotka_volterra, (0.0, 1.0), [4.0, 2.0], [1.5, 1.0, 3.0, 1.0])
    first = solve(*args, rtol=1e-9, atol=1e-12)
    lookups = []
    real = Dispatcher.get_compile_result

    def counting(self, sig):
        lookups.append(self)
        return real(self, sig)

    monkeypatch.setattr(Dispatcher, "get_compile_result", counting)
    again = solve(*args, rtol=1e-9, atol=1e-12)
    assert lookups == []
    assert again.y_final.tolist() == first.y_final.tolist() and again.nfev == first.nfev
    wrapped = compiled_field(_fields.lotka_volterra)
    assert isinstance(wrapped, CompiledField) and compiled_field(wrapped) is wrapped
    assert compiled_field(_fields.lotka_volterra) is wrapped  # one per function
    # the control: the jitted function itself is looked up again on every call
    from linsim.integrate import driver

    monkeypatch.setattr(driver, "compiled_field", lambda f: f)
    solve(*args, rtol=1e-9, atol=1e-12)
    assert _fields.lotka_volterra in lookups
