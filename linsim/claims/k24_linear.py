"""K24 claims on the general linear model (THEORY.md, "Gradient and Hessian of the general linear
model" and "The linear-model experiment"; Proposition 2 and Section 2 of K24).

Measured on simulations of :mod:`linsim.experiments.k24_linear`; runs shared by claims and
figures are cached. K24.init-grad-hess and K24.block-rows are also derived symbolically
(:mod:`proofs.k24_linear`).

Two predictions of THEORY.md are not what the simulations show, and the checks below test what
they show instead (see the statements):

* K24.experiment: on the m = 7 set, GD leaves the rarest group near log c only for about the
  first hundred steps; from a few hundred steps on, GD at its best step size (a large one: the
  loss first spikes, then falls) fits every group, since d > n and every sample can be
  memorized. The pass criterion is measured at the short horizon (100 steps at m = 7, 25 at
  m = 5), where it holds; the tests check that it fails at long horizons.
* K24.assignment: the Hessian-block traces become proportional to pi_k, but on random labels
  (every class has the same mean input) the gradient norm scales like sqrt(pi_k) once the
  samples are being memorized, so the log-log slope tends to about 1/2 under GD, not 1.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from . import Claim, Figure, Measurement

#: Step sizes of the assignment runs: GD below its stability limit, Adam near its best at
#: m = 5..7 (tuned runs at long horizons pick GD steps far past it, see K24.experiment).
ASSIGNMENT_LRS = {"gd": 0.1, "adam": 3e-3}


@lru_cache(maxsize=4)
def _experiment(m: int, steps: int):
    from ..experiments.k24_linear import experiment

    return experiment(m, steps=steps)


@lru_cache(maxsize=2)
def _experiment_table(m: int, steps: int):
    """The experiment at the tabulated step sizes (no tuning), for the long-horizon figure."""
    from ..experiments.k24_linear import TUNED, experiment

    lrs = TUNED[m]["lrs"] if m in TUNED else None
    return experiment(m, steps=steps, lrs=lrs)


def _experiment_size(quick: bool) -> tuple[int, int]:
    return (5, 25) if quick else (7, 100)


def _check_experiment(quick: bool) -> Measurement:
    from ..experiments.k24_linear import criterion

    m, steps = _experiment_size(quick)
    res = _experiment(m, steps)
    crit = criterion(res)
    return Measurement(crit["margin"], 0.0, 0.0, "max", {
        "m": m, "steps": steps, "rarest_over_log_c": crit["rarest_over_log_c"],
        "lrs": {n: tr.lr for n, tr in res.chosen.items()}, "crossings": crit["crossings"],
        "what": "max(0.9 - GD's rarest-group loss / log c, Adam's and sign descent's - 0.5); "
                "<= 0 passes. Measured at the short horizon: at m = 7 from a few hundred "
                "steps on GD at its best step size fits every group (the tests check it)"})


@lru_cache(maxsize=2)
def _assignment(m: int, steps: int):
    from ..experiments.k24_linear import SPECS, assignment_slopes, run_lockstep, snapshot_steps
    from ..problems.linear import LinearModel, heavy_tailed_labels

    model = LinearModel(heavy_tailed_labels(m))
    entries = [(n, SPECS[n].make(lr)) for n, lr in ASSIGNMENT_LRS.items()]
    runs = run_lockstep(model, entries, steps, snapshots=snapshot_steps(steps, 2))
    slopes = {tr.name: assignment_slopes(tr, model.pi) for tr in runs}
    return runs, model.pi, slopes


def _assignment_size(quick: bool) -> tuple[int, int]:
    return (4, 1000) if quick else (7, 1000)


def _check_assignment(quick: bool) -> Measurement:
    m, steps = _assignment_size(quick)
    runs, pi, slopes = _assignment(m, steps)
    gd, adam = slopes["gd"], slopes["adam"]
    last = max(gd)
    # largest slope once the traces have spread (from step 10 on; before, the fit is noise)
    peak = max(v["slope"] for s, v in gd.items() if s >= 10 and math.isfinite(v["slope"]))
    return Measurement(gd[last]["slope"], 0.5, 0.2, "abs", {
        "m": m, "steps": steps, "lrs": ASSIGNMENT_LRS,
        "gd_slope_by_step": {s: v["slope"] for s, v in gd.items()},
        "gd_peak_slope": peak,
        "gd_trace_vs_pi": gd[last]["trace_vs_pi"], "gd_grad_vs_pi": gd[last]["grad_vs_pi"],
        "adam_slope": adam[last]["slope"], "adam_trace_vs_pi": adam[last]["trace_vs_pi"],
        "adam_grad_vs_pi": adam[last]["grad_vs_pi"], "theory_prediction": 1.0,
        "what": "log-log slope of ||grad_{w_k} L|| against tr H_kk over classes at the last "
                "step along GD; predicted 1/2 for random labels (traces ~ pi_k, gradient "
                "norms ~ sqrt(pi_k)), not THEORY's 1"})


def _check_init(quick: bool) -> Measurement:
    from ..experiments.k24_linear import init_grad_hess_check
    from ..problems.linear import gaussian_mixture, heavy_tailed_labels

    sets = ([gaussian_mixture(6, 1.0, 300, 5, seed=2), heavy_tailed_labels(3)] if quick else
            [gaussian_mixture(20, 1.1, 3000, 12, seed=1), heavy_tailed_labels(4)])
    rows = [init_grad_hess_check(d) for d in sets]
    worst = max(max(r["grad_rel_err"], r["hess_block_rel_err"]) for r in rows)
    fd = max(r["grad_fd_rel_err"] for r in rows)
    return Measurement(worst if fd < 1e-6 else float("nan"), 0.0, 1e-12, "max", {
        "datasets": [d.name for d in sets], "grad_fd_rel_err": fd,
        "trace_spread": max(r["trace_spread"] for r in rows),
        "pi_spread": [r["pi_spread"] for r in rows],
        "what": "largest relative error of the model's gradient (xbar/c - pi_k xbar^k) and of "
                "its diagonal Hessian blocks (from exact HVPs; (1/c)(1-1/c) Hbar) at W = 0"})


def _check_block_rows(quick: bool) -> Measurement:
    from ..experiments.k24_linear import block_rows_check

    r = block_rows_check(20 if quick else 200)
    r.pop("per_draw")
    return Measurement(r["row_sum"] if r["exact_vs_fd"] < 1e-6 else float("nan"), 0.0, 1e-13,
                       "max", {**r, "what": "largest |sum_j H_kj| / max |H| over random single "
                                            "samples (c 2..8, logits up to ~30); exact "
                                            "Hessian checked against finite differences"})


# --------------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------------
def _fig_experiment(quick: bool):
    from ..plotting.k24_linear import experiment_figure

    m, steps = _experiment_size(quick)
    return experiment_figure(_experiment(m, steps))


def _fig_long(quick: bool):
    from ..plotting.k24_linear import experiment_figure

    res = _experiment_table(5, 300) if quick else _experiment_table(7, 1000)
    return experiment_figure(res, title=(
        f"K24.experiment, long horizon: {res.data.name}, {res.steps} steps, tabulated step "
        "sizes; GD at a large step fits every group"))


def _fig_assignment(quick: bool):
    from ..plotting.k24_linear import assignment_figure

    m, steps = _assignment_size(quick)
    runs, pi, slopes = _assignment(m, steps)
    return assignment_figure(runs, pi, slopes, title=(
        f"K24.assignment: heavy-tailed labels m = {m} (c = {pi.size}), one dot per class"))


def _fig_init(quick: bool):
    from ..experiments.k24_linear import block_rows_check
    from ..plotting.k24_linear import init_figure
    from ..problems.linear import LinearModel, heavy_tailed_labels

    model = LinearModel(heavy_tailed_labels(5 if quick else 7))
    W = model.zeros()
    return init_figure(model, model.class_grad_norms(model.grad(W)), model.block_traces(W),
                       block_rows_check(20 if quick else 100))


@lru_cache(maxsize=1)
def _flows():
    from ..experiments.k24_linear import discrete_vs_flow, flow_run
    from ..problems.linear import heavy_tailed_labels

    data = heavy_tailed_labels(3)
    # sign flow only to t = 4: later every |g_i| drops below eps and the smoothed flow stops
    # being a sign flow (its loss then decays like gradient flow at rate 1/eps)
    flows = {"gradient": flow_run(data, ("gradient",), t_eval=np.concatenate(
                 [[0.0], np.logspace(-2, 1.5, 50)]))["gradient"],
             "sign_sqrt": flow_run(data, ("sign_sqrt",), eps=1e-5, t_eval=np.concatenate(
                 [[0.0], np.logspace(-2, math.log10(4.0), 50)]))["sign_sqrt"]}
    disc = {"gradient": discrete_vs_flow(data, "gd", 0.05, 30.0, points=40),
            "sign_sqrt": discrete_vs_flow(data, "sign", 0.002, 4.0, points=40)}
    return data, flows, disc


def _fig_flows(quick: bool):
    from ..plotting.k24_linear import flows_figure

    data, flows, disc = _flows()
    return flows_figure(flows, disc, data, title=(
        f"K24.experiment in continuous time (m = 3, c = {data.classes}): flows, and GD and sign "
        "descent at t = k h (dots)"))


FIGURES = [
    Figure("k24_linear_experiment", ("K24.experiment",),
           "Random heavy-tailed labels (m = 7, c = 127), 100 steps: per-group loss under GD, "
           "momentum, Adam (beta1 0 and 0.9), sign descent and normalized GD, each at its best "
           "step size; GD leaves the rarest group at 1.1 log c, normalized GD at 0.8 log c, "
           "both Adams and sign descent bring it below 0.02 log c.", _fig_experiment),
    Figure("k24_linear_long", ("K24.experiment",),
           "The same experiment over 1000 steps at the tabulated step sizes: GD at a large "
           "step (the loss spikes, then falls) and every other method fit every group; the "
           "imbalance is a transient of about 2^m steps.", _fig_long),
    Figure("k24_linear_assignment", ("K24.assignment",),
           "Per-class gradient norm against Hessian-block trace along GD and Adam (m = 7): "
           "the traces follow pi_k, the gradient norms about sqrt(pi_k) on random labels, so "
           "the cloud tends to slope 1/2 under GD (dashed: THEORY's slope 1).", _fig_assignment),
    Figure("k24_linear_init", ("K24.init-grad-hess", "K24.block-rows"),
           "At W = 0 the per-class gradient norms are imbalanced while the Hessian-block "
           "traces are equal; per sample each row of Hessian blocks sums to zero (to "
           "rounding).", _fig_init),
    Figure("k24_linear_flows", ("K24.experiment",),
           "Gradient flow and sign flow (the eps -> 0 limit of a smoothed sign) on the general "
           "model, m = 3; GD and sign descent at small steps follow them.", _fig_flows),
]


CLAIMS = [
    Claim("K24.init-grad-hess", "K24",
          "at W = 0 grad_{w_k} L = xbar/c - pi_k xbar^k (imbalanced) while every diagonal "
          "Hessian block is (1/c)(1 - 1/c) Hbar (balanced)",
          "general linear model with bias; Gaussian mixture with Zipf labels (c = 20, n = 3000, "
          "d = 12; quick c = 6) and heavy-tailed labels m = 4 (quick 3); blocks from exact "
          "Hessian-vector products, gradient also against finite differences",
          _check_init, "proofs.k24_linear:k24_init_grad_hess", "k24_linear_init"),
    Claim("K24.block-rows", "K24",
          "per sample each row of Hessian blocks sums to zero: H_kk = -sum_{j != k} H_kj",
          "200 random single samples (quick 20), c in 2..8, d in 1..5, logit scales 0.1..30; "
          "exact per-sample Hessian, checked against finite differences of the gradient",
          _check_block_rows, "proofs.k24_linear:k24_block_rows", "k24_linear_init"),
    Claim("K24.assignment", "K24",
          "along GD the Hessian-block traces follow pi_k; on random labels the gradient norms "
          "follow sqrt(pi_k), so log ||grad_k|| vs log tr H_kk tends to slope 1/2 (THEORY's "
          "slope 1 is not observed)",
          "heavy-tailed labels m = 7 (quick 4), GD lr 0.1 and Adam(0.9, 0.999) lr 3e-3 for "
          "1000 steps; slope fitted over the classes at log-spaced steps",
          _check_assignment, None, "k24_linear_assignment"),
    Claim("K24.experiment", "K24",
          "GD leaves the rarest group near log c (>= 0.9 log c) while Adam and sign descent "
          "bring it below 0.5 log c -- at short horizons only (about 2^m steps)",
          "heavy-tailed labels m = 7 for 100 steps (quick m = 5, 25 steps), six optimizers, "
          "each at the best final loss of its 7-point step-size grid",
          _check_experiment, None, "k24_linear_experiment"),
]
