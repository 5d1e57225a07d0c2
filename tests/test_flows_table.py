"""Flows as data (issue 16, item 4): one table of flows, Rate records, one Adam-velocity helper."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest

from linsim import flows, rates
from linsim.experiments.k24 import MEASURES, run_onehot
from linsim.problems.softmax import OneHotModel

ROOT = Path(__file__).resolve().parents[1]


def test_the_table_holds_what_the_name_lists_held():
    assert flows.flow_names(cli=True) == ("gradient", "sign", "normalized", "adam", "rmsprop",
                                          "sign_eps")
    assert set(flows.flow_names(reduced=True)) == {"gradient", "sign", "normalized", "sign_eps",
                                                   "adam", "rmsprop"}
    assert flows.k24_flows() == ("gradient", "sign", "normalized", "adam", "rmsprop")
    for name, spec in flows.SPECS.items():
        assert spec.measure is None or spec.measure in MEASURES, name
        assert spec.cli <= (spec.measure is not None)  # a CLI flow reports a rate
    for gone in ("FLOWS",):
        assert not hasattr(flows, gone)
    import linsim.experiments.adam as adam
    import linsim.flow as cli
    import linsim.problems.softmax as softmax
    for mod, name in ((cli, "CLI_FLOWS"), (softmax, "REDUCED_FLOWS"), (adam, "K24_FLOWS"),
                      (cli, "_Parser"), (cli, "_number"), (cli, "_available_memory")):
        assert not hasattr(mod, name), name


def test_unknown_flows_raise_a_clear_value_error():
    with pytest.raises(ValueError, match="flow must be one of gradient, sign"):
        flows.flow_spec("gradient_descent")
    with pytest.raises(ValueError, match="in reduced mode"):
        OneHotModel(5, 1.0, "reduced").params("sign_tanh", flow_params=(0.1,))
    run = run_onehot(OneHotModel(5, 1.0, "reduced"), ("gradient",), t_max=10.0, points=10,
                     groups=1)
    with pytest.raises(ValueError, match="flows of this run"):
        run.rates("sign")
    with pytest.raises(ValueError, match="rate name must be one of"):
        run.rate("gradient", "no_such_rate")
    with pytest.raises(ValueError, match="unknown FlowSpec flag"):
        flows.flow_names(cil=True)


def test_rates_are_records_read_by_field():
    run = run_onehot(OneHotModel(5, 1.0, "reduced"), ("gradient", "sign"), t_max=30.0,
                     points=40, groups=1)
    rs = run.rates("sign")
    assert all(isinstance(r, rates.Rate) for r in rs)
    head = run.rate("sign")
    assert head is not None and head.name == rs[0].name == "exp_rate_least_frequent"
    assert head.claim == "K24.sf-closed-form" and head.predicted == 2.0
    assert head["measured"] == head.measured  # the mapping view of summary.json
    d = dict(head)
    assert list(d) == ["name", "claim", "class", "measured", "stderr", "predicted", "note"]
    assert run.rate("sign", "e2t_l_least_frequent").to_dict()["t"] == rs[2].extra["t"]
    gf = run.rate("gradient", "pi_t_l_most_frequent")
    assert "stderr" not in gf and gf.klass == 1 and gf["pi_t"] == gf.extra["pi_t"]


def test_a_flow_without_a_measure_has_no_rate():
    run = run_onehot(OneHotModel(4, 1.0, "full"), ("sign_tanh",), t_max=5.0, points=5, groups=1,
                     flow_params={"sign_tanh": (0.5,)})
    assert run.rates("sign_tanh") == []
    with pytest.raises(ValueError, match="rate name must be one of"):
        run.rate("sign_tanh")


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (also inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_k24_does_not_import_adam():
    """The hidden cycle: experiments/adam.py imports k24, so k24 must not import adam."""
    assert ".k24" in _imports(ROOT / "linsim/experiments/adam.py")
    assert not {".adam", "linsim.experiments.adam"} & _imports(ROOT / "linsim/experiments/k24.py")
    from linsim.experiments import adam
    assert adam.asymptotic_rate is rates.asymptotic_rate
    assert adam.LOSS_UNDERFLOW == rates.LOSS_UNDERFLOW


def _reference_velocity(t, a, b, eps, g, m, v, adam):
    """The Adam/RMSProp velocity as linsim.flows wrote it before the shared helper."""
    start = not t > 0.0
    ca = 1.0 if start else -math.expm1(-a * t)
    cb = 1.0 if start else -math.expm1(-b * t)
    ia = 1.0 / ca if adam and not start else 0.0
    ib = 1.0 / cb
    vh = g * g if start else max(v, 0.0) * ib
    mh = m * ia if adam and not start else g
    den = eps + math.sqrt(vh)
    return -mh / den if den > 0.0 else 0.0


@pytest.mark.parametrize("adam", [True, False])
def test_moment_helper_is_bit_identical_to_the_formula(adam):
    rng = np.random.default_rng(1)
    for _ in range(300):
        t = float(rng.choice([0.0, 1e-12, 1e-3, rng.uniform(0, 20)]))
        a, b = rng.uniform(0.5, 50, 2)
        eps = float(rng.choice([0.0, 1e-8, 0.3]))
        g, m = rng.standard_normal(2) * 10.0 ** rng.integers(-30, 3)
        v = float(rng.choice([0.0, -1e-300, abs(rng.standard_normal())]))
        start, ia, ib = flows.bias_factors(t, a, b, adam)
        mh, root = flows.moment_estimates(g, m, v, ia, ib, start, adam)
        got = flows.moment_velocity(mh, root, eps)
        want = _reference_velocity(t, a, b, eps, g, m, v, adam)
        assert np.float64(got).tobytes() == np.float64(want).tobytes(), (t, a, b, eps, g, m, v)


@pytest.mark.parametrize("flow,fp", [("adam", (3.0, 5.0, 1e-3)), ("rmsprop", (4.0, 0.0))])
def test_both_fields_use_the_one_helper(flow, fp):
    """The full field (flows.apply_flow) on one coordinate and the reduced margin field
    (V(eps) + V((c-1) eps)) give the helper's numbers, bit for bit."""
    c, t = 6, 0.7
    adam = flow == "adam"
    a, b, eps = fp if adam else (0.0, *fp)
    rng = np.random.default_rng(2)
    m = OneHotModel(c, 1.0, "reduced")
    k = flows.state_count(flow)
    u = np.abs(rng.standard_normal(k * c))
    du = np.empty_like(u)
    m.field(t, u, m.params(flow, flow_params=fp), du)
    start, ia, ib = flows.bias_factors(t, a, b, adam)
    for j in range(c):
        eu = math.exp(-u[j])
        g = -m.pi[j] * (c - 1.0) * eu / (1.0 + (c - 1.0) * eu)
        mj = u[c + j] if adam else 0.0
        mh, root = flows.moment_estimates(g, mj, u[(k - 1) * c + j], ia, ib, start, adam)
        want = flows.moment_velocity(mh, root, eps) + flows.moment_velocity(mh, root,
                                                                             (c - 1.0) * eps)
        assert du[j] == pytest.approx(want, rel=1e-14)  # exp_neg vs math.exp: not bitwise
    # full flow on a vector: the helper per coordinate, bitwise
    y = np.abs(rng.standard_normal(k * 3))
    g = rng.standard_normal(3)
    dy = np.zeros_like(y)
    dy[:3] = g
    flows.apply_flow(t, flows.pack(flow, np.zeros(0), fp), y, dy)
    for i in range(3):
        mh, root = flows.moment_estimates(g[i], y[3 + i] if adam else 0.0, y[(k - 1) * 3 + i],
                                          ia, ib, start, adam)
        assert dy[i] == flows.moment_velocity(mh, root, eps)


def test_register_flow_checks_its_entry():
    spec = flows.FlowSpec("sign_again", flows.SIGN, reduced=True, measure="sf-rate")
    with pytest.raises(ValueError, match="already registered"):
        flows.register_flow(flows.FlowSpec("sign", flows.SIGN))
    with pytest.raises(ValueError, match="code must be one of"):
        flows.register_flow(flows.FlowSpec("new_kernel", 99))
    with pytest.raises(ValueError, match="built in"):
        flows.unregister_flow("sign")
    flows.register_flow(spec)
    try:
        assert flows.flow_spec("sign_again") is spec
        assert "sign_again" in flows.flow_names(reduced=True)
    finally:
        flows.unregister_flow("sign_again")
    assert "sign_again" not in flows.SPECS
