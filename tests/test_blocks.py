"""Tests for :func:`linsim.integrate.solve_blocks` and the full mode's column blocks.

References: the same system integrated as one state by :func:`linsim.integrate.solve`, exact
solutions, and the K24 closed forms.
"""

from __future__ import annotations

import numpy as np
import pytest

from linsim import flows
from linsim.experiments.k24 import map_times, run_onehot
from linsim.integrate import IntegrationError, solve, solve_blocks, vector_field
from linsim.problems.softmax import OneHotModel, onehot_block_field, onehot_field


@vector_field
def rates(t, y, p, dy):
    """y' = -k y with rates k = p (one per component)."""
    for i in range(y.size):
        dy[i] = -p[i] * y[i]


@vector_field
def square_sum(t, y, p, out):
    out[0] = 0.0
    for i in range(y.size):
        out[0] += y[i] * y[i]


@vector_field
def blow_up(t, y, p, dy):
    for i in range(y.size):
        dy[i] = p[i] * y[i] * y[i]


def _split(k, size):
    parts = [k[i : i + size] for i in range(0, k.size, size)]
    return [np.ones(q.size) for q in parts], parts


def test_blocks_match_the_exact_solution_and_count_whole_state_equivalents():
    k = np.logspace(-2, 1, 12)
    t = np.linspace(0.0, 3.0, 7)
    y0s, ps = _split(k, 4)
    sol = solve_blocks(rates, (0.0, 3.0), y0s, ps, output=square_sum, n_outputs=[1] * 3,
                       t_eval=t, rtol=1e-10, atol=1e-12)
    exact = [[np.sum(np.exp(-2 * q * ti)) for q in ps] for ti in t]
    np.testing.assert_allclose(sol.y, exact, rtol=1e-8)
    np.testing.assert_allclose(sol.y_final, np.exp(-3.0 * k), rtol=1e-8, atol=1e-12)
    each = [solve(rates, (0.0, 3.0), y, p, rtol=1e-10, atol=1e-12)
            for y, p in zip(y0s, ps, strict=True)]
    assert sol.blocks == 3 and sol.stats["blocks"] == 3
    assert sol.nfev == round(np.mean([s.nfev for s in each]))  # equal block sizes
    assert sol.block_max_steps == max(s.naccepted for s in each)
    # the slow block takes fewer steps than one integration of the whole state
    whole = solve(rates, (0.0, 3.0), np.ones(k.size), k, rtol=1e-10, atol=1e-12)
    assert min(s.naccepted for s in each) < whole.naccepted


def test_workers_do_not_change_a_bit():
    k = np.logspace(-1, 2, 40)
    y0s, ps = _split(k, 3)
    kw = dict(output=square_sum, n_outputs=[1] * len(ps), t_eval=np.linspace(0, 1, 9))
    one = solve_blocks(rates, (0.0, 1.0), y0s, ps, workers=1, **kw)
    two = solve_blocks(rates, (0.0, 1.0), y0s, ps, workers=2, **kw)
    assert one.y.tobytes() == two.y.tobytes()
    assert one.y_final.tobytes() == two.y_final.tobytes()
    assert (one.nfev, one.naccepted, one.nrejected) == (two.nfev, two.naccepted, two.nrejected)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_block_is_named(workers):
    p = [np.array([0.1]), np.array([1.0]), np.array([0.2])]  # y' = y^2 blows up at t = 1/p
    with pytest.raises(IntegrationError, match=r"block 1 of 3") as info:
        solve_blocks(blow_up, (0.0, 5.0), [np.ones(1)] * 3, p, output=square_sum,
                     n_outputs=[1] * 3, workers=workers)
    assert info.value.t == pytest.approx(1.0, rel=1e-3)


@pytest.mark.parametrize("kwargs, message", [
    (dict(workers=0), "workers must be an integer >= 1"),
    (dict(workers=1.5), "workers must be an integer >= 1"),
    (dict(n_outputs=[1]), "one entry per block"),
    (dict(events=object()), "does not locate events"),
])
def test_bad_arguments(kwargs, message):
    args = dict(output=square_sum, n_outputs=[1, 1])
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        solve_blocks(rates, (0.0, 1.0), [np.ones(1)] * 2, [np.ones(1)] * 2, **args)


def test_blocks():
    m = OneHotModel(100, 1.1)
    blocks = m.blocks("gradient", size=30)
    assert blocks == [(0, 30), (30, 60), (60, 90), (90, 100)]
    assert m.blocks("normalized") == [(0, 100)]  # divides by ||g||: every column
    assert m.blocks("clip_global", size=3) == [(0, 100)]
    adam = m.blocks("adam")
    assert all(k1 - k0 == adam[0][1] for k0, k1 in adam[:-1])
    assert adam[0][1] < m.blocks("gradient")[0][1]  # three states per weight
    with pytest.raises(ValueError, match="size must be an integer >= 1"):
        m.blocks("gradient", size=0)
    red = OneHotModel(10**5, 1.0, "reduced")
    assert red.blocks("gradient") == [(0, 65536), (65536, 10**5)]
    assert red.blocks("normalized") == [(0, 10**5)]


@pytest.mark.parametrize("flow, fp", [("gradient", ()), ("sign", ()), ("adam", (2.0, 1.0, 1e-8))])
def test_block_field_is_the_whole_field_column_by_column(flow, fp):
    m = OneHotModel(9, 1.2)
    states = flows.SPECS[flow].states
    rng = np.random.default_rng(3)
    y = rng.standard_normal(states * m.state_size)
    whole = np.empty_like(y)
    onehot_field(0.5, y, m.params(flow, flow_params=fp), whole)
    c = m.classes
    for k0, k1 in m.blocks(flow, size=4):
        w = k1 - k0
        yb = np.concatenate([y[s * c * c + k0 * c : s * c * c + k1 * c] for s in range(states)])
        db = np.empty_like(yb)
        onehot_block_field(0.5, yb, m.block_params(flow, k0, k1, flow_params=fp), db)
        for s in range(states):
            np.testing.assert_array_equal(db[s * w * c : (s + 1) * w * c],
                                          whole[s * c * c + k0 * c : s * c * c + k1 * c])


@pytest.mark.parametrize("mode", ["full", "reduced"])
def test_blocks_against_one_block_and_the_closed_form(monkeypatch, mode):
    m = OneHotModel(40, 1.1, mode)
    kw = dict(t_max=1e4, points=40, rtol=1e-9, atol=1e-11)
    split = OneHotModel.blocks
    monkeypatch.setattr(OneHotModel, "blocks", lambda self, flow, size=None:
                        split(self, flow, 7))  # c = 40 fits one default block
    blocked = run_onehot(m, ("gradient", "adam"), workers=2,
                         flow_params={"adam": (1.0, 1.0, 1e-8)}, **kw)
    assert blocked.traces["gradient"].stats["blocks"] == 6
    tr = blocked.traces["gradient"]
    np.testing.assert_allclose(tr.losses, tr.closed, rtol=1e-6)
    # one block of every column: the old whole-state integration
    monkeypatch.setattr(OneHotModel, "blocks", lambda self, flow, size=None:
                        [(0, self.classes)])
    whole = run_onehot(m, ("gradient", "adam"), flow_params={"adam": (1.0, 1.0, 1e-8)}, **kw)
    for flow in ("gradient", "adam"):
        a, b = blocked.traces[flow], whole.traces[flow]
        assert b.stats["blocks"] == 1
        np.testing.assert_allclose(a.overall, b.overall, rtol=1e-6)
        np.testing.assert_allclose(a.losses, b.losses, rtol=1e-5)
        # the final state comes back in the model's layout ([x, m, v] for adam)
        np.testing.assert_allclose(a.solution.y_final, b.solution.y_final, rtol=1e-5,
                                   atol=1e-9)
        # and the model's own whole-state field and summary output, without blocks
        fp = (1.0, 1.0, 1e-8) if flow == "adam" else ()
        p = m.params(flow, blocked.labels, blocked.class_index, fp)
        ref = solve(m.field, (0.0, 1e4), flows.initial_state(flow, m.y0()), p, t_eval=blocked.t,
                    output=m.summary_output, n_output=1 + 5 + 40, rtol=1e-9, atol=1e-11).y
        np.testing.assert_allclose(a.overall, ref[:, 0], rtol=1e-6)
        np.testing.assert_allclose(a.groups, ref[:, 1:6], rtol=1e-6)
        np.testing.assert_allclose(a.losses, ref[:, 6:], rtol=1e-5)


def test_map_times_is_the_function_of_all_times():
    t = np.logspace(-3, 3, 37)
    m = OneHotModel(50, 1.1)
    ref = m.closed_form("gradient", t)
    for workers in (1, 2, 3, None):
        got = map_times(lambda ts: m.closed_form("gradient", ts), t, workers)
        assert got.tobytes() == ref.tobytes()
    assert map_times(lambda ts: m.closed_form("normalized", ts), t, 2) is None
