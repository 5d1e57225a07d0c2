"""K24 on the general linear model, simulated: lockstep optimizers, the experiment and its
criterion, the gradient-Hessian assignment, flows, and the command line.

Claims (THEORY.md): K24.experiment, K24.assignment, K24.assignment-iid, K24.init-grad-hess,
K24.block-rows; the flows connect the discrete methods to gradient and sign flow. The claims'
verdicts and negative controls are run by ``test_k24_linear_claims.py``; the tests here check
the measuring tools (lockstep runs, stable steps, half-loss steps, ratios, finite differences)
and record what the simulations show at short and long horizons (GD at its best final-loss
step fits every group at long horizons: d > n, every sample is memorized).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from linsim import experiment as cli
from linsim import optimizers as opt
from linsim.experiments import k24_linear as K
from linsim.integrate import IntegrationError
from linsim.problems.linear import LinearModel, heavy_tailed_labels


# ----------------------------------------------------------------------------------------------
# lockstep runs against plain NumPy loops
# ----------------------------------------------------------------------------------------------
def _numpy_adam(model, lr, b1, b2, eps, steps):
    """Adam with bias correction written out in NumPy (an independent implementation)."""
    W = model.zeros()
    m = np.zeros_like(W)
    v = np.zeros_like(W)
    for k in range(steps):
        g = model.grad(W)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mh = m / (1 - b1 ** (k + 1))
        vh = v / (1 - b2 ** (k + 1))
        W = W - lr * mh / (np.sqrt(vh) + eps)
    return W


def test_lockstep_matches_numpy_loops_for_each_method():
    model = LinearModel(heavy_tailed_labels(3, seed=2))
    steps = 12
    entries = [("gd", opt.gd(0.3)), ("momentum", opt.heavy_ball(0.05, 0.9)),
               ("adam", opt.adam(1e-2, 0.9, 0.999)), ("sign", opt.sign_descent(1e-2)),
               ("normalized", opt.normalized_gd(0.5))]
    runs = K.run_lockstep(model, entries, steps, record=np.arange(steps + 1))
    # GD, momentum, sign, normalized by hand
    refs = {}
    W = model.zeros()
    for _ in range(steps):
        W = W - 0.3 * model.grad(W)
    refs["gd"] = W
    W, mom = model.zeros(), model.zeros()
    for _ in range(steps):
        mom = 0.9 * mom - 0.05 * model.grad(W)
        W = W + mom
    refs["momentum"] = W
    refs["adam"] = _numpy_adam(model, 1e-2, 0.9, 0.999, 1e-8, steps)
    W = model.zeros()
    for _ in range(steps):
        W = W - 1e-2 * np.sign(model.grad(W))
    refs["sign"] = W
    W = model.zeros()
    for _ in range(steps):
        g = model.grad(W)
        W = W - 0.5 * g / np.linalg.norm(g)
    refs["normalized"] = W
    for tr in runs:
        assert tr.diverged_at is None
        assert tr.overall[-1] == pytest.approx(model.loss(refs[tr.name]), rel=1e-10), tr.name
        assert tr.overall[0] == pytest.approx(math.log(model.c), rel=1e-14)


def test_a_diverging_run_is_dropped_without_touching_the_others():
    model = LinearModel(heavy_tailed_labels(3, seed=1))
    good = ("gd", opt.gd(0.2))
    bad = ("gd", opt.gd(1e6))
    alone = K.run_lockstep(model, [good], 30)[0]
    both = K.run_lockstep(model, [bad, good], 30)
    assert both[0].diverged_at is not None and both[0].final_loss == math.inf
    assert both[1].diverged_at is None
    # equal to rounding (the stacked product of two models rounds differently from one)
    np.testing.assert_allclose(both[1].overall, alone.overall, rtol=1e-13)
    np.testing.assert_allclose(both[1].class_losses, alone.class_losses, rtol=1e-12)


@pytest.mark.parametrize("W0_scale", [0.0, 0.05])
def test_logit_path_equals_the_weight_path(W0_scale):
    # GD, momentum and normalized GD stepped on their logits (one n x n product per step)
    # follow the same iterates as stepped on their weights, to rounding, at step sizes where the
    # dynamics are not chaotic; snapshots (weights formed as W0 + C^T A) agree too
    model = LinearModel(heavy_tailed_labels(4, seed=3))
    assert K.uses_gram(model.n, model.D) and not K.uses_gram(model.n, model.D, np.float32)
    entries = [("gd", opt.gd(0.5)), ("momentum", opt.heavy_ball(0.05, 0.9)),
               ("normalized", opt.normalized_gd(0.3, "polynomial", 0.5)),
               ("adam", opt.adam(1e-2, 0.9, 0.999))]
    W0 = np.random.default_rng(0).standard_normal(model.shape) * W0_scale
    kw = dict(record=np.arange(41), snapshots=[0, 7, 40], W0=W0)
    a = K.run_lockstep(model, entries, 40, gram=False, **kw)
    b = K.run_lockstep(model, entries, 40, gram=True, **kw)
    for ta, tb in zip(a, b, strict=True):
        np.testing.assert_allclose(tb.overall, ta.overall, rtol=1e-11)
        np.testing.assert_allclose(tb.class_losses, ta.class_losses, rtol=1e-9, atol=1e-15)
        for s in (0, 7, 40):
            for x, y in zip(tb.snapshots[s], ta.snapshots[s], strict=True):
                np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-15)
    # adam never goes on the logits (it only sits in a smaller stack: rounding)
    np.testing.assert_allclose(b[3].overall, a[3].overall, rtol=1e-13)


def test_logit_step_rules():
    # the rules of optimizers.update with w -> Z, g -> K R; normalized GD uses <R, K R>
    rng = np.random.default_rng(2)
    n, c = 5, 3
    Z, KR, R = (rng.standard_normal((n, 4 * c)) for _ in range(3))
    M = rng.standard_normal((n, 4 * c))
    KR[:, 2 * c : 3 * c] = 2.0 * R[:, 2 * c : 3 * c]  # <R, K R> > 0, as for a PSD K
    Z0, M0 = Z.copy(), M.copy()
    os_ = [opt.gd(0.1), opt.heavy_ball(0.2, 0.8), opt.normalized_gd(0.3), opt.adam(1e-3)]
    codes = np.array([o.code for o in os_])
    hyp = np.array([o.vector() for o in os_])
    C, MC = np.zeros((n, 4 * c)), np.zeros((n, 4 * c))
    K.logit_step(codes, hyp, 0, Z, KR, R, M, C, MC)
    b = [slice(j * c, (j + 1) * c) for j in range(4)]
    np.testing.assert_array_equal(Z[:, b[0]], Z0[:, b[0]] - 0.1 * KR[:, b[0]])
    np.testing.assert_array_equal(M[:, b[1]], 0.8 * M0[:, b[1]] - 0.2 * KR[:, b[1]])
    np.testing.assert_array_equal(Z[:, b[1]], Z0[:, b[1]] + M[:, b[1]])
    nrm = np.sqrt(np.sum(R[:, b[2]] * KR[:, b[2]]))
    np.testing.assert_allclose(Z[:, b[2]], Z0[:, b[2]] - 0.3 / nrm * KR[:, b[2]], rtol=1e-14)
    assert np.all(np.isnan(Z[:, b[3]]))  # not a logit method: poisoned, so it is dropped
    np.testing.assert_array_equal(C[:, b[0]], -0.1 * R[:, b[0]])


def test_a_diverging_logit_run_is_dropped_and_the_weight_runs_go_on():
    model = LinearModel(heavy_tailed_labels(3, seed=1))
    entries = [("gd", opt.gd(1e6)), ("sign", opt.sign_descent(1e-2)),
               ("normalized", opt.normalized_gd(0.2))]
    runs = K.run_lockstep(model, entries, 20)
    assert runs[0].diverged_at is not None and runs[0].final_loss == math.inf
    assert runs[1].diverged_at is None and runs[2].diverged_at is None
    alone = K.run_lockstep(model, entries[1:], 20)
    for x, y in zip(runs[1:], alone, strict=True):
        np.testing.assert_array_equal(x.overall, y.overall)


def test_record_steps():
    r = K.record_steps(10_000)
    assert r[0] == 0 and r[-1] == 10_000 and np.all(np.diff(r) > 0)
    assert 60 <= r.size <= 130
    assert list(K.record_steps(0)) == [0]


# ----------------------------------------------------------------------------------------------
# K24.experiment
# ----------------------------------------------------------------------------------------------
def test_experiment_short_horizon_meets_the_criterion():
    """At m = 5 over 25 steps (about 2^m): GD's rarest group is still >= 0.9 log c, Adam's and
    sign descent's are below 0.5 log c, each at the best step size of its grid."""
    res = K.experiment(5, steps=25)
    crit = K.criterion(res)
    r = crit["rarest_over_log_c"]
    assert r["gd"] >= 0.9 and r["adam"] < 0.5 and r["adam0"] < 0.5 and r["sign"] < 0.5
    assert crit["passed"] and crit["margin"] <= 0
    # tuning: the chosen step size has the lowest final loss of its grid
    for name, tr in res.chosen.items():
        finals = [t[1] for t in res.trials[name]]
        assert tr.final_loss == min(finals)
        assert len(finals) == len(K.SPECS[name].grid)
    # every group starts at log c (W = 0) and the groups have equal mass
    for name in res.chosen:
        np.testing.assert_allclose(res.group_curves(name)[0], math.log(res.classes), rtol=1e-14)


def test_experiment_long_horizon_gd_fits_every_group():
    """The truth at long horizons: over 300 steps (m = 5) GD at its best step size brings the
    rarest group far below 0.9 log c (d > n: every sample is memorized), so the criterion
    fails; GD's best step size is far past its stability limit. With the step sizes chosen at
    the short horizon (25 steps), GD's rarest group crosses 0.9 log c after Adam's and sign
    descent's cross 0.5 log c, but well within the 300 steps."""
    names = ("gd", "adam", "sign")
    res = K.experiment(5, names, 300)
    crit = K.criterion(res)
    r = crit["rarest_over_log_c"]
    assert r["gd"] < 0.05 and r["adam"] < 0.05 and r["sign"] < 0.05
    assert not crit["passed"]
    assert res.chosen["gd"].lr >= 1.0
    short = K.experiment(5, names, 25, data=res.data)
    assert K.criterion(short)["passed"]
    assert short.crossing_step("gd", 0.9) is None
    lrs = {n: tr.lr for n, tr in short.chosen.items()}
    again = K.experiment(5, names, 300, lrs=lrs, data=res.data)
    gd_cross = again.crossing_step("gd", 0.9)
    assert gd_cross is not None and 25 < gd_cross < 300
    for name in ("adam", "sign"):
        assert again.crossing_step(name, 0.5) < gd_cross
    edges = K.grid_edges(res)
    assert ("gd" in edges) == (res.chosen["gd"].lr == max(K.SPECS["gd"].grid))


# ----------------------------------------------------------------------------------------------
# K24.assignment and K24.assignment-iid
# ----------------------------------------------------------------------------------------------
def test_assignment_ratios_at_zero_match_the_data_statistics():
    """At W = 0 (p = 1/c): tr H_kk = (1/c)(1-1/c) tr Hbar, so the Hessian ratio is
    tr Hbar / (pi_k tr Hbar^k); the gradient ratio is ||xbar/c - pi_k xbar^k|| /
    ((1 - 1/c) pi_k ||xbar^k||) (independent NumPy statistics)."""
    from linsim.problems.linear import heavy_tailed_means

    data = heavy_tailed_means(4, d=8, seed=3)
    model = LinearModel(data, bias=False)
    r = K.assignment_ratios(model, model.zeros())
    X = data.X
    c = data.classes
    xk = np.array([X[data.y == k].mean(0) for k in range(c)])
    hk = np.array([np.mean(np.sum(X[data.y == k] ** 2, 1)) for k in range(c)])
    pi = data.pi
    np.testing.assert_allclose(r["hess_ratio"], np.mean(np.sum(X**2, 1)) / (pi * hk),
                               rtol=1e-12)
    g = np.linalg.norm(X.mean(0) / c - pi[:, None] * xk, axis=1)
    np.testing.assert_allclose(r["grad_ratio"], g / ((1 - 1 / c) * pi * np.linalg.norm(xk, axis=1)),
                               rtol=1e-12)
    np.testing.assert_allclose(r["c_pi"], c * pi)
    s = K.ratio_slopes(r)
    assert s["hess_ratio"] < -0.5  # |ratio - 1| ~ 1/pi_k at W = 0


def test_iid_diagnostics_and_window():
    model = LinearModel(heavy_tailed_labels(4))
    runs = K.run_lockstep(model, [("gd", opt.gd(0.1))], 200, snapshots=[0, 1, 50, 200])
    rows = K.iid_slopes(model, runs[0])
    assert [r["step"] for r in rows] == [1, 50, 200]  # W = 0: no spread, no slope
    assert rows[0]["mean_term"] > K.IID_MEAN_GATE  # the mean is not absorbed after one step
    assert rows[1]["mean_term"] < rows[0]["mean_term"]
    assert all(0 <= r["fitted"] < 1 for r in rows)
    assert runs[0].weights[50].shape == model.shape



def test_assignment_traces_follow_pi_and_slope_tends_to_one_half():
    model = LinearModel(heavy_tailed_labels(4))
    runs = K.run_lockstep(model, [("gd", opt.gd(0.1)), ("adam", opt.adam(3e-3, 0.9, 0.999))],
                          1000, snapshots=[0, 10, 1000])
    gd = K.assignment_slopes(runs[0], model.pi)
    adam = K.assignment_slopes(runs[1], model.pi)
    assert math.isnan(gd[0]["slope"])  # W = 0: equal traces (K24.init-grad-hess)
    assert abs(gd[0]["trace_vs_pi"]) < 1e-10
    assert 0.8 <= gd[1000]["trace_vs_pi"] <= 1.1  # traces follow pi_k
    assert 0.25 <= gd[1000]["grad_vs_pi"] <= 0.6  # gradient norms about sqrt(pi_k)
    assert 0.3 <= gd[1000]["slope"] <= 0.7
    assert 0.4 <= adam[1000]["slope"] <= 0.9
    # the snapshot holds the model's own per-class gradient norms and block traces
    norms, traces = runs[0].snapshots[10]
    assert norms.shape == traces.shape == (model.c,)


def test_init_and_block_row_checks_measure_the_gradient_code():
    """Errors in units of their finite-difference bounds: <= 1 for the softmax model, far above
    for a one-vs-rest sigmoid loss and away from W = 0 (the negative controls)."""
    d = heavy_tailed_labels(3)
    r = K.init_grad_hess_check(d)
    assert r["grad_err_units"] <= 1 and r["hess_err_units"] <= 1
    assert r["trace_spread"] < 1e-13 and r["pi_spread"] == 4.0
    assert K.init_grad_hess_check(d, loss="sigmoid")["hess_err_units"] > 1e3
    W = 0.5 * np.random.default_rng(0).standard_normal((d.classes, d.d + 1))
    assert K.init_grad_hess_check(d, W=W)["grad_err_units"] > 1e3
    b = K.block_rows_check(10)
    assert b["row_sum_units"] <= 1 and b["skipped"] == 0 and len(b["per_draw"]) == 10
    assert K.block_rows_check(10, loss="sigmoid")["row_sum_units"] > 1e6


def test_sigmoid_oracle_is_the_gradient_of_the_one_vs_rest_loss():
    d = heavy_tailed_labels(2, seed=1)
    model = LinearModel(d)
    grad = K.gradient_oracle(model, "sigmoid")
    W = 0.3 * np.random.default_rng(2).standard_normal(model.shape)
    Y = np.eye(model.c)[model.y]

    def loss(W):
        Z = model.A @ W.T
        return float(np.mean(np.sum(np.logaddexp(0, Z) - Y * Z, axis=1)))

    E = np.zeros(model.shape)
    E[1, 2] = 1e-6
    assert grad(W)[1, 2] == pytest.approx((loss(W + E) - loss(W - E)) / 2e-6, rel=1e-6)
    with pytest.raises(ValueError, match="loss must be"):
        K.gradient_oracle(model, "hinge")


# ----------------------------------------------------------------------------------------------
# stable steps, half-loss steps, bootstrap
# ----------------------------------------------------------------------------------------------
def test_loss_rise_and_choose():
    assert K.loss_rise(np.array([3.0, 2.0, 2.1, 1.0])) == pytest.approx(0.05)
    assert K.loss_rise(np.array([3.0, 2.0, np.nan, 5.0])) == 0.0  # up to the divergence
    runs = []
    for lr, curve in ((0.1, [3, 2, 1]), (1.0, [3, 1, 1.2]), (0.3, [3, 2.5, 2.0])):
        runs.append(K.Trajectory("gd", opt.gd(lr), np.arange(3), np.array(curve, float),
                                 np.zeros((3, 2))))
    assert K.choose(runs, "stable").lr == 0.3  # 1.0 rises by 20%
    assert K.choose(runs, "final").lr == 0.1
    with pytest.raises(ValueError, match="select"):
        K.choose(runs, "best")


def test_stable_table_for_m5_is_the_largest_stable_step_of_each_grid():
    """STABLE[5] re-derived: every optimizer's grid run for 500 steps, the largest step whose
    loss never rises more than 5% kept (the claim's quick mode uses the table)."""
    entry = K.STABLE[5]
    res = K.experiment(5, tuple(entry["lrs"]), entry["steps"], select="stable")
    for name, lr in entry["lrs"].items():
        assert res.chosen[name].lr == pytest.approx(lr)
        rises = {t[0]: t[3] for t in res.trials[name]}
        assert rises[lr] <= K.RISE
        assert all(r > K.RISE for x, r in rises.items() if x > lr)
    assert K.largest_stable(5, "gd", entry["steps"])["lr"] == pytest.approx(entry["lrs"]["gd"])


def test_half_loss_steps_slope_and_resolution():
    data = heavy_tailed_labels(4)
    steps = np.arange(101)
    # every class of group g halves at step 10 * 2^g: slope -1 against the frequency
    cl = np.full((101, data.classes), math.log(data.classes))
    for k in range(data.classes):
        cl[steps >= 10 * 2 ** data.groups[k], k] = 0.1
    tr = K.Trajectory("gd", opt.gd(0.1), steps, cl.mean(1), cl)
    half = K.half_loss_steps(tr, data)
    assert half.tolist() == [10.0, 20.0, 40.0, 80.0]
    freq = K.group_frequencies(data)
    fit = K.half_loss_slope(half, freq)
    assert fit["slope"] == pytest.approx(-1.0) and fit["censored"] == 0
    cut = K.half_loss_slope(np.array([10.0, 20.0, np.inf, np.inf]), freq)
    assert math.isnan(cut["slope"]) and cut["censored"] == 2  # fewer than 3 crossed
    assert K.prior_groups(heavy_tailed_labels(7)).tolist() == [True] + [False] * 6


def test_bootstrap_mean():
    b = K.bootstrap_mean([1.0, 2.0, 3.0, 4.0])
    assert b["mean"] == 2.5 and b["lo"] < 2.5 < b["hi"] and b["n"] == 4
    assert K.bootstrap_mean([1.0, 1.0])["halfwidth"] == 0.0
    assert math.isnan(K.bootstrap_mean([1.0, float("nan")])["mean"])


def test_half_loss_study_on_m4():
    study = K.half_loss_study(4, {"gd": 0.1, "adam": 0.01}, 200, [0, 1], keep_first=True)
    assert study["horizons"] == [100, 200] and study["first"].steps == 200
    for rows in study["runs"].values():
        assert len(rows) == 2
        for r in rows:
            assert r["excluded"] == K.prior_groups(heavy_tailed_labels(4)).nonzero()[0].tolist()
            assert r[200]["crossed"] + r[200]["censored"] <= 4
    swapped = K.half_loss_study(4, {"gd": 0.1, "sign": 0.01}, 50, [0], as_gd="sign")
    a, b = swapped["runs"]["gd"][0]["half_steps"], swapped["runs"]["sign"][0]["half_steps"]
    np.testing.assert_array_equal(a, b)  # GD's slot ran sign descent


# ----------------------------------------------------------------------------------------------
# flows on the general model
# ----------------------------------------------------------------------------------------------
def test_gd_tracks_gradient_flow_at_first_order():
    data = heavy_tailed_labels(3)
    gaps = [K.discrete_vs_flow(data, "gd", h, 10.0)["max_group_gap"] for h in (0.1, 0.05)]
    assert gaps[1] < gaps[0]
    assert 1.5 < gaps[0] / gaps[1] < 2.6


def test_gradient_flow_is_slow_on_rare_groups_and_sign_flow_is_not():
    data = heavy_tailed_labels(3)
    t = np.array([0.0, 0.5, 1.0, 2.0])
    fl = K.flow_run(data, ("gradient", "sign_sqrt"), eps=1e-4, t_eval=t)
    log_c = math.log(data.classes)
    gf, sf = fl["gradient"].groups, fl["sign_sqrt"].groups
    assert gf[-1, -1] > 0.9 * log_c  # the rarest group under GF at t = 2: not yet moving
    assert gf[-1, 0] < 0.6 * log_c  # the frequent one is
    assert sf[-1, -1] < 0.5 * log_c  # sign flow: every group
    with pytest.raises(IntegrationError, match="too many steps"):
        K.flow_run(data, ("sign",), t_eval=np.array([0.0, 1.0]), max_steps=20_000)


def test_sign_descent_tracks_the_smoothed_sign_flow():
    data = heavy_tailed_labels(3)
    lim = K.sign_flow_limit(data, np.array([0.0, 0.3, 1.0]), eps=(1e-3, 1e-4))
    assert lim["gaps"][0].max() < 0.05
    gaps = [K.discrete_vs_flow(data, "sign", h, 1.0, eps=1e-4)["max_group_gap"]
            for h in (0.01, 0.0025)]
    assert gaps[1] < 0.5 * gaps[0]


# ----------------------------------------------------------------------------------------------
# estimate and command line
# ----------------------------------------------------------------------------------------------
def test_estimate_counts_flops_and_bytes():
    e = K.estimate(11, 6, 100, np.float32, gflops=100.0)
    s = (22528, 24576, 2047)
    assert (e["n"], e["d"], e["classes"]) == s
    assert e["flops"] == pytest.approx(6 * 100 * 4.0 * s[0] * (s[1] + 1) * s[2])
    assert e["data_bytes"] == s[0] * (s[1] + 1) * 4
    assert e["seconds"] == pytest.approx(e["flops"] / 1e11)
    assert K.models_in_batch(10, 100) == 10 and K.models_in_batch(10**12) == 1
    # float64: GD, momentum and normalized GD on the logits cost one n x n x c product and
    # need the Gram matrix
    f = K.estimate(7, 6, 100, np.float64, gflops=100.0, logit_models=3)
    n, d, c = 896, 1024, 127
    assert f["logit_models"] == 3
    assert f["flops"] == pytest.approx(100 * (3 * 4.0 * n * (d + 1) * c + 3 * 2.0 * n * n * c))
    assert f["data_bytes"] == n * (d + 1) * 8 + 8 * n * n
    assert K.estimate(11, 6, 100, np.float32, gflops=1.0, logit_models=3)["logit_models"] == 0


def _run_cli(args, **kw):
    return subprocess.run([sys.executable, "-m", "linsim.experiment", *args],
                          capture_output=True, text=True, timeout=600, **kw)


@pytest.mark.parametrize("args,needle", [
    (["--m", "1"], "--m must be an integer in [2, 11]"),
    (["--m", "12"], "--m must be an integer in [2, 11]"),
    (["--steps", "0"], "--steps must be"),
    (["--optimizers", "gd,rmsprop"], "--optimizers must be"),
    (["--lr", "gd=-1"], "--lr must be"),
    (["--optimizers", "gd", "--lr", "sign=0.1"], "--lr names optimizers not in"),
])
def test_cli_rejects_bad_input_with_exit_2_and_writes_nothing(tmp_path, capsys, args, needle):
    out = tmp_path / "o"
    assert cli.main([*args, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_runs_writes_reproducible_files_and_json(tmp_path):
    args = ["--m", "3", "--steps", "30", "--optimizers", "gd,adam,sign", "--lr",
            "gd=0.3", "--quiet", "--json"]
    a, b = tmp_path / "a", tmp_path / "b"
    r1 = _run_cli([*args, "--out", str(a)])
    r2 = _run_cli([*args, "--out", str(b), "--no-plot"])
    assert r1.returncode == 0 and r2.returncode == 0, r1.stderr + r2.stderr
    doc = json.loads(r1.stdout)
    assert doc["classes"] == 7 and doc["steps"] == 30 and "seconds" in doc
    assert doc["optimizers"]["gd"]["lr"] == 0.3 and doc["optimizers"]["gd"]["lr_source"] == "--lr"
    assert doc["optimizers"]["adam"]["lr_source"].startswith("grid")
    assert set(doc["criterion"]) >= {"margin", "passed"}
    for f in ("curves.csv", "curves.npz"):
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    sa, sb = (json.loads((x / "summary.json").read_text()) for x in (a, b))
    assert sa.pop("command") != sb.pop("command") and sa == sb  # only --out differs
    assert (a / "group_losses.png").exists() and not (b / "group_losses.png").exists()
    with np.load(a / "curves.npz") as z:
        g = z["groups_adam"]
        recorded = z["steps"].size
        assert g.shape == (recorded, 3)
        np.testing.assert_allclose(g[0], math.log(7), rtol=1e-14)
    lines = (a / "curves.csv").read_text().splitlines()
    assert lines[0] == "optimizer,lr,step,overall,group_1,group_2,group_3"
    assert len(lines) == 1 + 3 * recorded


def test_cli_select_stable_reports_half_loss_steps(tmp_path):
    """--select stable keeps each grid's largest stable step and reports the half-loss steps
    and their slope (K24.experiment)."""
    r = _run_cli(["--m", "4", "--steps", "120", "--optimizers", "gd,adam", "--select",
                  "stable", "--quiet", "--json", "--no-plot", "--out", str(tmp_path / "o")])
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["select"] == "stable" and doc["prior_groups"] == []  # m = 4: log 4 > log(15)/2
    for name in ("gd", "adam"):
        o = doc["optimizers"][name]
        assert o["lr_source"].startswith("grid, largest stable")
        assert o["rise"] <= K.RISE
        assert all(t["rise"] > K.RISE for t in o["trials"] if t["lr"] > o["lr"])
        assert len(o["half_loss_steps"]) == 4
    assert doc["optimizers"]["gd"]["half_loss_predicted"] == -1.0


def test_cli_prints_the_estimate_for_m_11_and_refuses_when_memory_is_short(monkeypatch,
                                                                          capsys, tmp_path):
    monkeypatch.setattr(cli, "available_memory", lambda: 2 * 2**30)
    code = cli.main(["--m", "11", "--steps", "1", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2
    assert "estimate for m = 11" in err and "GiB" in err and "TFLOP" in err
    assert "--m 11 needs about" in err and "--float32" in err
    assert not (tmp_path / "x").exists()


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and "--float32" in out and "--optimizers" in out


def test_blas_threads_sets_and_restores_the_thread_count():
    api = K._openblas()
    if api is None:
        pytest.skip("NumPy's BLAS is not OpenBLAS")
    before = api[0]()
    with K.blas_threads(1):
        assert api[0]() == 1
    assert api[0]() == before
