"""One result type (issue 16, item 5): every integrator returns a :class:`Solution` whose core
fields mean the same thing, and the old attribute names still read the same values."""

from __future__ import annotations

import numpy as np
import pytest

from linsim.integrate import Events, Solution, identity_output, solve, solve_blocks, vector_field
from linsim.integrate.driver import DEPRECATED_STATS
from linsim.integrate.implicit import (
    ExtrapolationResult,
    ExtrapolationSolution,
    ImplicitResult,
    ImplicitSolution,
    implicit_euler,
    linearly_implicit_extrapolation,
)
from linsim.integrate.sliding import (
    METHODS,
    SignFlowResult,
    SignFlowSolution,
    sign_flow,
    solve_piecewise,
)
from linsim.problems.filippov import QuadraticSign, tr_quadratic

H = np.diag([1.0, 3.0])
X_STAR = np.array([0.25, -0.5])
X0 = np.array([1.0, 1.0])
T_EVAL = np.linspace(0.0, 2.0, 5)


@vector_field
def _decay(t, y, p, dy):
    dy[:] = -p[0] * y


def _quadratic_tr(x, h):
    z = np.empty_like(x)
    tr_quadratic(H, X_STAR, x, h, z)
    return z


def _results() -> dict[str, Solution]:
    """One result of each integrator, all with states as outputs on ``T_EVAL``."""
    out = {
        "solve": solve(_decay, (0.0, 2.0), X0, [1.0], t_eval=T_EVAL),
        "solve_blocks": solve_blocks(_decay, (0.0, 2.0), [X0[:1], X0[1:]], [[1.0], [1.0]],
                                     output=identity_output, n_outputs=[1, 1], t_eval=T_EVAL),
        "implicit_euler": implicit_euler(_quadratic_tr, X0, (0.0, 2.0), t_eval=T_EVAL, h=0.05),
        "extrapolation": linearly_implicit_extrapolation(
            lambda y: -y, lambda y: (lambda h, r: r / (1.0 + h)), X0, (0.0, 2.0),
            t_eval=T_EVAL),
    }
    @vector_field
    def never(t, y, p, g):
        g[0] = 1.0

    out["solve_piecewise"] = solve_piecewise(_decay, (0.0, 2.0), X0, np.array([1.0]),
                                             Events(never, 1, 0.0, True), t_eval=T_EVAL)[0]
    problem = QuadraticSign(H, X_STAR)
    for method in METHODS:
        # the naive explicit field chatters once a coordinate sticks: start it far away
        x0 = X_STAR + 10.0 if method == "explicit" else X0
        out[f"sign_flow/{method}"] = sign_flow(problem, x0, (0.0, 2.0), method=method,
                                               t_eval=T_EVAL)
    return out


@pytest.fixture(scope="module")
def results() -> dict[str, Solution]:
    return _results()


CORE = ("t", "y", "t_final", "y_final", "status", "message", "success", "t_events",
        "event_index", "y_events", "nfev", "naccepted", "nrejected", "method", "seconds",
        "stats")


def test_every_integrator_returns_a_solution_with_the_core_fields(results):
    assert len(results) == 10
    for name, r in results.items():
        assert isinstance(r, Solution), name
        for attr in CORE:
            assert hasattr(r, attr), f"{name}: {attr}"
        # t: the output times reached; y: the state there (no output function given)
        np.testing.assert_array_equal(r.t, T_EVAL, err_msg=name)
        assert r.y.shape == (T_EVAL.size, X0.size), name
        # y_final: the state at t_final, the end of t_span (no terminal event)
        assert r.t_final == 2.0 and r.status == 0 and r.success, name
        assert r.message == "reached the end of t_span", name
        np.testing.assert_array_equal(r.y_final, r.y[-1], err_msg=name)
        # events: times in order, one index each, states (if recorded) one row each
        assert r.t_events.ndim == 1 and r.event_index.shape == r.t_events.shape, name
        assert np.all(np.diff(r.t_events) >= 0), name
        assert r.y_events is None or r.y_events.shape == (r.t_events.size, X0.size), name
        # work: integers, and the stats dict says the same under SciPy-style keys
        st = r.stats
        for key in ("nfev", "naccepted", "nrejected"):
            assert isinstance(getattr(r, key), int) and getattr(r, key) >= 0, f"{name}: {key}"
            assert st[key] == getattr(r, key), f"{name}: {key}"
        assert st["status"] == r.status and st["seconds"] == r.seconds >= 0.0, name
        for new, old in DEPRECATED_STATS.items():
            assert st[old] == st[new], f"{name}: deprecated key {old}"
        assert isinstance(r.method, str) and r.method, name


def test_the_results_agree_on_what_they_computed(results):
    """Same meanings: the two smooth solvers agree with exp(-t); the sign-flow methods agree
    with the exact event-to-event solution, and count their work where they do it."""
    exact = X0[None, :] * np.exp(-T_EVAL)[:, None]
    for name in ("solve", "solve_blocks", "solve_piecewise"):
        np.testing.assert_allclose(results[name].y, exact, rtol=1e-5, err_msg=name)
        assert results[name].nfev > results[name].naccepted > 0, name
    np.testing.assert_allclose(results["extrapolation"].y, exact, rtol=1e-6)
    assert results["extrapolation"].nfev > results["extrapolation"].naccepted > 0
    ref = results["sign_flow/exact"]
    for name in ("sign_flow/sliding", "sign_flow/implicit", "implicit_euler", "sign_flow/closed"):
        np.testing.assert_allclose(results[name].y, ref.y, atol=1e-6, err_msg=name)
    # both coordinates stick once: two mode changes, located by the event-driven methods;
    # implicit Euler locates only crossings and releases (a step that only sticks is exact)
    for name in ("sign_flow/exact", "sign_flow/sliding"):
        assert results[name].t_events.size == 2, name
        np.testing.assert_allclose(results[name].t_events, [0.75, 1.5], atol=1e-8,
                                   err_msg=name)
        np.testing.assert_array_equal(results[name].event_index, [0, 1], err_msg=name)
    for name in ("sign_flow/implicit", "implicit_euler"):
        assert results[name].t_events.size == 0, name
    assert results["implicit_euler"].nfev == 0  # its work is trust-region solves
    assert results["implicit_euler"].stats["tr_solves"] > 0
    assert results["sign_flow/sliding"].stats["events"] == 2


def test_the_specific_results_are_subclasses_and_old_names_are_aliases(results):
    assert SignFlowResult is SignFlowSolution and ImplicitResult is ImplicitSolution
    assert ExtrapolationResult is ExtrapolationSolution
    for method in METHODS:
        r = results[f"sign_flow/{method}"]
        assert isinstance(r, SignFlowSolution)
        assert r.x_final is r.y_final and r.event_t is r.t_events
    r = results["implicit_euler"]
    assert isinstance(r, ImplicitSolution)
    assert r.x is r.y and r.x_final is r.y_final and r.switch_t is r.t_events
    r = results["extrapolation"]
    assert r.t_event is None and r.y_event is None and r.y_events.shape == (0, X0.size)
    with pytest.raises(AttributeError):
        r.t_event = 1.0  # read-only


def test_extrapolation_event_fields():
    """A terminal event: status 1, t_final at the event, the event in t_events/y_events."""
    r = linearly_implicit_extrapolation(lambda y: -y, lambda y: (lambda h, r: r / (1.0 + h)),
                                        [1.0], (0.0, 5.0), event=lambda y: y[0] - 0.5,
                                        terminal=True, rtol=1e-10, atol=1e-12)
    assert r.status == 1 and r.message == "terminal event" and r.success
    assert r.t_events.size == 1 and r.t_final == r.t_events[0]
    np.testing.assert_allclose(r.t_events[0], np.log(2.0), rtol=1e-8)
    np.testing.assert_allclose(r.y_events[0], [0.5], rtol=1e-8)
    assert r.t_event == r.t_events[0] and np.array_equal(r.y_event, r.y_events[0])


def test_a_failure_reports_its_work_under_the_same_keys():
    """:class:`IntegrationError` (the failure path, ``success`` False) counts the work spent
    under the keys of :attr:`Solution.stats`, old and new."""
    from linsim.integrate import IntegrationError

    with pytest.raises(IntegrationError) as info:
        solve(_decay, (0.0, 2.0), X0, [1.0], max_steps=3)
    st = info.value.stats
    assert st["naccepted"] == 3 and st["nfev"] > 0
    for new, old in DEPRECATED_STATS.items():
        assert st[old] == st[new]
    assert IntegrationError(0.0, "x", {"naccepted": 2}).stats["steps"] == 2


#: The deprecated attribute names of the old result types (read-only aliases now).
DEPRECATED_ATTRIBUTES = ("x_final", "event_t", "switch_t", "t_event", "y_event")


def _deprecated_uses(source: str) -> list[int]:
    import ast

    return [node.lineno for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Attribute) and node.attr in DEPRECATED_ATTRIBUTES]


def test_callers_use_the_new_names():
    """Only the aliases themselves (linsim/integrate) and this file's alias test name the old
    attributes; every other caller in linsim/, tests/ and benchmarks/ reads the new ones."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    bad = []
    for folder in ("linsim", "tests", "benchmarks"):
        for path in sorted((root / folder).rglob("*.py")):
            if path.parent.name == "integrate" or path.name == "test_results.py":
                continue
            bad += [f"{path.relative_to(root)}:{n}" for n in _deprecated_uses(path.read_text())]
    assert not bad, "old result attribute names in use: " + ", ".join(bad)
    assert _deprecated_uses("r.x_final + s.event_t\n") == [1, 1]  # the check can fail
