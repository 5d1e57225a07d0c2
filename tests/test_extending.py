"""docs/EXTENDING.md, proved: each extension point takes a toy added in this file alone.

1. a problem (``WeightedSquares``): usable by :func:`linsim.integrate.solve` under any flow
   (the :class:`~linsim.problems.Problem` protocol) and by
   :func:`linsim.integrate.sliding.sign_flow` (the :class:`~linsim.problems.SlidingProblem`
   protocol);
2. a flow: a table entry registered with :func:`linsim.flows.register_flow` and a rate measure
   in :data:`linsim.experiments.k24.MEASURES`, run by :func:`run_onehot`;
3. a claim with its figure and negative control, run by ``verify`` and ``verify --controls``;
4. an explicit Runge-Kutta tableau registered with
   :func:`linsim.integrate.tableaux.register_tableau`, run by ``solve``.

No library file is edited: if one of these needs a change to ``linsim/``, the guide is wrong.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from linsim import flows, rates, verify
from linsim.claims import Claim, Control, Figure, Measurement
from linsim.experiments.k24 import MEASURES, run_onehot
from linsim.flows import HEADER, apply_flow, pack
from linsim.integrate import solve, vector_field
from linsim.integrate.sliding import sign_flow
from linsim.integrate.tableaux import fixed_step, get_tableau, register_tableau
from linsim.problems import Problem, SlidingProblem
from linsim.problems.softmax import OneHotModel

# --------------------------------------------------------------------------------------------
# 1. a problem: f(x) = 1/2 sum_i w_i x_i^2, p = [flow header, n, w (n), level, sigma (n), u (n)]


@vector_field
def ws_field(t, y, p, dy):
    n = int(p[HEADER])
    for i in range(n):
        dy[i] = p[HEADER + 1 + i] * y[i]  # the gradient ...
    apply_flow(t, p, y, dy)  # ... turned into the flow's velocity


@vector_field
def ws_gap_event(t, y, p, out):
    n = int(p[HEADER])
    acc = 0.0
    for i in range(n):
        acc += 0.5 * p[HEADER + 1 + i] * y[i] * y[i]
    out[0] = acc - p[HEADER + 1 + n]


@vector_field
def ws_sliding_field(t, y, p, dy):
    n = int(p[HEADER])
    at = HEADER + 2 + n
    for i in range(n):
        dy[i] = -p[at + n + i]  # -u_i (u_i = sigma_i when free)


@vector_field
def ws_sliding_events(t, y, p, out):
    n = int(p[HEADER])
    at = HEADER + 2 + n
    acc = 0.0
    for i in range(n):
        g = p[HEADER + 1 + i] * y[i]
        acc += 0.5 * g * y[i]
        s = p[at + i]
        out[i] = s * g if s != 0.0 else 1.0 - abs(p[at + n + i])
    out[n] = acc - p[HEADER + 1 + n]


@vector_field
def ws_select(t, y, p, out):
    """Separable: a candidate (stuck, or gradient zero to rounding) has the interior control 0
    and slides at x_i = 0; the others keep their sign."""
    n = int(p[HEADER])
    at = HEADER + 2 + n
    for i in range(n):
        w = p[HEADER + 1 + i]
        s = p[at + i]
        g = w * y[i]
        if s == 0.0 or s * g <= 8.0 * 2.220446049250313e-16 * w * abs(y[i]) + 1e-300:
            out[i], out[n + i], out[2 * n + i] = 0.0, 0.0, 0.0
        else:
            out[i], out[n + i], out[2 * n + i] = s, s, y[i]


class WeightedSquares:
    """Sign flow reaches ``x_i = 0`` at ``t = |x0_i|`` whatever the weights."""

    def __init__(self, w):
        self.w = np.ascontiguousarray(w, dtype=np.float64)
        self.n = self.w.size
        self.mode_at = HEADER + 2 + self.n

    def params(self, flow="sign", level=0.0, flow_params=()):
        return pack(flow, np.concatenate([[float(self.n)], self.w, [float(level)],
                                          np.zeros(2 * self.n)]), flow_params)

    @property
    def field(self):
        return ws_field

    @property
    def gap_event(self):
        return ws_gap_event

    @property
    def sliding_field(self):
        return ws_sliding_field

    @property
    def sliding_events(self):
        return ws_sliding_events

    @property
    def select(self):
        return ws_select

    def grad(self, x):
        return self.w * np.asarray(x, float)

    def gap(self, x):
        x = np.asarray(x, float)
        return float(0.5 * np.sum(self.w * x * x))

    def tr_step(self, x, h):
        x = np.asarray(x, float)
        return np.sign(x) * np.maximum(np.abs(x) - h, 0.0)

    def mode_valid(self, x, mode):
        new = np.where((np.asarray(mode) == 0.0) | (np.asarray(x) == 0.0), 0.0, np.sign(x))
        return bool(np.all((new == 0.0) | (new == mode)))


X0 = np.array([0.3, -1.2, 0.7])
TOY = WeightedSquares([1.0, 5.0, 0.2])


def test_a_new_problem_meets_the_protocols():
    assert isinstance(TOY, Problem) and isinstance(TOY, SlidingProblem)


def test_a_new_problem_runs_under_solve_with_any_flow():
    t = np.linspace(0.0, 2.0, 9)
    sol = solve(TOY.field, (0.0, 2.0), X0, TOY.params("gradient"), method="DOP853",
                rtol=1e-12, atol=1e-14, t_eval=t)
    np.testing.assert_allclose(sol.y, X0 * np.exp(-np.outer(t, TOY.w)), rtol=1e-9, atol=1e-14)
    dy = np.empty(3)
    TOY.field(0.0, X0.copy(), TOY.params("normalized"), dy)
    assert np.linalg.norm(dy) == pytest.approx(1.0, rel=1e-15)  # unit speed
    np.testing.assert_allclose(dy, -TOY.grad(X0) / np.linalg.norm(TOY.grad(X0)), rtol=1e-15)


@pytest.mark.parametrize("method", ["sliding", "implicit"])
def test_a_new_problem_runs_under_sign_flow(method):
    t = np.linspace(0.0, 1.5, 16)
    res = sign_flow(TOY, X0, (0.0, 1.5), method=method, t_eval=t)
    want = np.sign(X0) * np.maximum(np.abs(X0) - t[:, None], 0.0)
    np.testing.assert_allclose(res.y, want, atol=1e-8)


# --------------------------------------------------------------------------------------------
# 2. a flow: RMSProp's kernel under its own name, with its own rate measure


def _toy_rms_rate(run, flow):
    """Exponential rate of the least frequent class against the m-free Adam ODE's root."""
    b, _eps = run.settings["flow_params"][flow]
    fit = rates.exp_rate(run.t, run.traces[flow].losses[:, -1], rates.LOSS_UNDERFLOW, 1e-6)
    return [rates.Rate("toy_exp_rate", "adam.k24-rate", fit.value,
                       rates.asymptotic_rate(None, b), stderr=fit.stderr,
                       note="toy measure of tests/test_extending.py")]


@pytest.fixture
def toy_flow():
    spec = flows.FlowSpec("rms_toy", flows.RMSPROP, ("b", "eps"), states=2, zero_ok=("eps",),
                          reduced=True, measure="toy-rms-rate")
    MEASURES["toy-rms-rate"] = _toy_rms_rate
    flows.register_flow(spec)
    try:
        yield spec
    finally:
        flows.unregister_flow(spec.name)
        del MEASURES["toy-rms-rate"]


def test_a_new_flow_runs_under_run_onehot(toy_flow):
    b, c = 2.0, 40
    r = rates.asymptotic_rate(None, b)
    t_max = math.log((c - 1) / 1e-150) / r
    kw = dict(t_max=t_max, points=300, groups=1, rtol=1e-10, atol=1e-12,
              flow_params={"rms_toy": (b, 0.0), "rmsprop": (b, 0.0)})
    model = OneHotModel(c, 1.1, "reduced")
    run = run_onehot(model, ("rms_toy", "rmsprop"), **kw)
    rate = run.rate("rms_toy")
    assert rate.name == "toy_exp_rate"
    assert rate.measured == pytest.approx(rate.predicted, rel=1e-4)
    np.testing.assert_array_equal(run.traces["rms_toy"].losses, run.traces["rmsprop"].losses)
    assert "rms_toy" in flows.flow_names(reduced=True)


# --------------------------------------------------------------------------------------------
# 3. a claim with its figure and a negative control

DT = 1e-3


def _first_zero_time(quick: bool, flow: str = "sign") -> Measurement:
    """Time at which the toy's state first reaches 0 on a grid of spacing DT (the tolerance):
    THEORY.md's sign flow moves each coordinate at unit speed, so max|x0_i|."""
    t = np.arange(0.0, 2.0 + DT / 2, DT)
    if flow == "sign":
        y = sign_flow(TOY, X0, (0.0, t[-1]), method="sliding", t_eval=t).y
    else:
        y = solve(TOY.field, (0.0, t[-1]), X0, TOY.params(flow), rtol=1e-10, atol=1e-14,
                  t_eval=t).y
    hit = np.flatnonzero(np.max(np.abs(y), axis=1) <= 1e-12)
    measured = float(t[hit[0]]) if hit.size else math.nan
    return Measurement(measured, float(np.max(np.abs(X0))), DT, "abs")


def _figure(quick: bool):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.linspace(0.0, 1.5, 151)
    fig, ax = plt.subplots()
    ax.plot(t, sign_flow(TOY, X0, (0.0, 1.5), t_eval=t).y)
    ax.set_xlabel("t")
    return fig


TOY_CLAIM = Claim(
    "Z24.toy-finite-time", "Z24", "sign flow on weighted squares stops at t = max|x0_i|",
    "WeightedSquares (tests/test_extending.py), sign flow, event-driven sliding",
    _first_zero_time, figure="toy-finite-time",
    prediction_source="THEORY.md, sign flow: unit speed per coordinate, so max|x0_i|",
    tolerance_reason="the output grid's spacing DT = 1e-3 (the measurement's resolution)",
    controls=(Control("gradient flow in place of sign flow",
                      lambda q: _first_zero_time(q, flow="gradient"), "simulation"),))
TOY_FIGURE = Figure("toy-finite-time", (TOY_CLAIM.id,), "the toy's coordinates", _figure)


def test_a_new_claim_is_verified_with_its_controls_and_figure(capsys, tmp_path):
    assert TOY_CLAIM.problems() == []
    reg, figs = {TOY_CLAIM.id: TOY_CLAIM}, {TOY_FIGURE.name: TOY_FIGURE}
    assert verify.main(["--json", "--claims", TOY_CLAIM.id], registry=reg, figures=figs) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["status"] == "PASS"
    assert verify.main(["--controls", "--json"], registry=reg, figures=figs) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [c["status"] for c in rows[0]["control"]] == ["DETECTED"]
    html = tmp_path / "run.html"
    assert verify.main(["--quick", "--html", str(html)], registry=reg, figures=figs) == 0
    assert TOY_FIGURE.name in html.read_text()


# --------------------------------------------------------------------------------------------
# 4. an explicit tableau: Ralston's second-order method


def test_a_new_tableau_runs_under_solve():
    tab = fixed_step("Ralston2", 2, [[0, 0], ["2/3", 0]], ["1/4", "3/4"], [0, "2/3"])
    register_tableau(tab, replace=True)
    assert get_tableau("Ralston2") is tab
    errs = []
    for h in (0.02, 0.01):
        sol = solve(TOY.field, (0.0, 1.0), X0, TOY.params("gradient"), method="Ralston2",
                    step=h)
        errs.append(np.max(np.abs(sol.y[-1] - X0 * np.exp(-TOY.w))))
    assert math.log2(errs[0] / errs[1]) == pytest.approx(2.0, abs=0.1)  # second order
    with pytest.raises(ValueError, match="already exists"):
        register_tableau(tab)
