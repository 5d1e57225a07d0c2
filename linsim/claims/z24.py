"""Z24 claims on block-heterogeneous quadratics (THEORY.md, "Z24").

Simulations are shared between claims and figures through a small cache. Every measured value
comes from a simulated trajectory (integrator or optimizer); closed forms and bounds enter only
as predictions.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from . import Claim, Figure, Measurement

_LOG2 = math.log(2.0)


# --------------------------------------------------------------------------------------------
# shared runs
# --------------------------------------------------------------------------------------------
@lru_cache(maxsize=2)
def _gf(quick: bool):
    from ..experiments import z24 as E

    a, b = E.matched_cases()
    probs = {"case 3": a, "case 4": b}
    if not quick:
        from ..problems import quadratic as quad

        probs["case 1"] = quad.case(1)
    return E.gf_run(probs), probs


@lru_cache(maxsize=4)
def _sf(kappa: float):
    from ..experiments import z24 as E
    from ..problems import quadratic as quad

    if kappa == 5000.0:
        prob = quad.case3(0, rotation="identity")
    else:
        lam = quad.parametric_spectrum(9, kappa)
        prob = quad.from_blocks([lam[:3], lam[3:6], lam[6:]], rotation="identity", seed=1)
    return E.sf_diagonal_run(prob)


@lru_cache(maxsize=2)
def _gd_bound(quick: bool):
    from ..experiments import z24 as E

    return E.gd_lower_bound(n_eta=150 if quick else 600)


@lru_cache(maxsize=4)
def _adam(case: int, quick: bool):
    from ..experiments import z24 as E

    return E.adam_bound(case, n_init=200 if quick else 1000)


@lru_cache(maxsize=2)
def _scale(quick: bool):
    from ..experiments import z24 as E

    return E.scale_invariance(n_scalings=10 if quick else 50)


@lru_cache(maxsize=2)
def _cases(quick: bool):
    from ..experiments import z24 as E

    if quick:
        return E.cases_table(cases=(3, 4), methods=("gd", "adam01"))
    return E.cases_table()


@lru_cache(maxsize=2)
def _js(quick: bool):
    from ..experiments import z24 as E

    return E.js_run(cases=(3, 4) if quick else (1, 2, 3, 4))


# --------------------------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------------------------
def _check_gf(quick: bool) -> Measurement:
    from ..experiments import z24 as E

    run, probs = _gf(quick)
    errs = {k: run.rel_err(k) for k in run.gaps}
    gd = E.gd_matched({k: probs[k] for k in ("case 3", "case 4")}, 1e-4, 2000)
    hb = E.gd_matched({k: probs[k] for k in ("case 3", "case 4")}, 1e-4, 2000, "heavy_ball")
    ad = E.gd_matched({k: probs[k] for k in ("case 3", "case 4")}, 1e-2, 200, "adam01")

    def gap(d):
        return float(np.max(np.abs(d["case 3"] - d["case 4"]) / d["case 4"]))

    return Measurement(max(errs.values()), 0.0, 1e-10, "max", {
        "rel_err_by_problem": errs,
        "gf_case3_vs_case4": run.cross_gap("case 3", "case 4"),
        "gd_case3_vs_case4": gap(gd), "heavy_ball_case3_vs_case4": gap(hb),
        "adam01_case3_vs_case4": gap(ad),
        "steps": {k: v["steps"] for k, v in run.stats.items()},
        "what": "max relative error of the simulated f(t) - f* (DOP853, rtol 3e-14) against "
                "sum_i c_i exp(-2 lambda_i t), down to a relative gap of 1e-13; GD and heavy "
                "ball give matched Case 3/4 the same losses, Adam(0,1) does not"})


def _check_sf(quick: bool) -> Measurement:
    kappas = (5000.0,) if quick else (5000.0, 1e2, 1e6)
    worst, detail = 0.0, {}
    for k in kappas:
        run = _sf(k)
        pred = run.problem.sf_stop_time
        rel = abs(run.stop_time - pred) / pred
        worst = max(worst, rel)
        detail[f"kappa {k:g}"] = {
            "stop_time": run.stop_time, "predicted": pred, "max_state_err": run.max_err,
            "max_event_time_err": float(np.max(np.abs(
                run.event_times - np.abs(run.problem.w0 - run.problem.w_star)))),
            "euler_chatter_amplitude_over_step": float(np.max(np.abs(
                run.chatter["w"][-20:] - run.problem.w_star)) / run.chatter["step"]),
            "adaptive_rk45_without_events": run.adaptive_failure}
    detail["what"] = ("relative error of the simulated stopping time (RK45 + terminal events, "
                      "each coordinate snapped to w*_i) against ||w0 - w*||_inf")
    return Measurement(worst, 0.0, 1e-9, "max", detail)


def _check_gd_bound(quick: bool) -> Measurement:
    res = _gd_bound(quick)
    lo, at_star = res.worst()
    iters_ok = all(res.iterations[k] == res.predicted_iterations[k] for k in res.kappas)
    return Measurement(lo if iters_ok else float("nan"), 1.0, 1e-9, "rel", {
        "rel_gap_at_eta_star": at_star, "iterations": res.iterations,
        "predicted_iterations": res.predicted_iterations, "best_eta": res.best_eta,
        "kappas": res.kappas, "step_sizes_per_kappa": int(res.etas[res.kappas[0]].size),
        "what": "min over kappa, step sizes and steps of the measured per-step ratio divided by "
                "(1-2/(kappa+1))^2 (1 = the bound holds and is attained at eta*); NaN if the "
                "best swept GD needs other than ceil(log(1/tol)/log(1/rho^2)) iterations"})


def _check_adam(quick: bool) -> Measurement:
    worst, detail = 0.0, {}
    for case in (3, 4):
        r = _adam(case, quick)
        ratio = r.kappa_eff / (r.r1 * r.kappa_max_block)
        worst = max(worst, float(ratio.max()))
        detail[f"case {case}"] = {
            "r1 (max C2/min C1)": r.quantiles(r.r1), "r2 (squared)": r.quantiles(r.r2),
            "kappa_pre": r.quantiles(r.kappa_pre), "kappa_eff/(r1 max kappa_l)":
            r.quantiles(ratio), "violations_r1": r.violations("r1"),
            "violations_r2": r.violations("r2"), "max_kappa_l": r.kappa_max_block,
            "initial_points": int(r.r1.size)}
    detail["what"] = ("max over initial points of kappa_eff / (r1 max_l kappa_l), kappa_eff = "
                      "1/(1 - worst per-step loss ratio along Adam(0,1), lr = 1/lambda_max of "
                      "the preconditioned Hessian); <= 1 means the contraction bound holds")
    return Measurement(worst, 1.0, 1.0, "max", detail)


def _check_scale(quick: bool) -> Measurement:
    res = _scale(quick)
    inv = {k: float(v.max()) for k, v in res.deviation.items() if k != "gd"}
    gd_min = float(res.deviation["gd"].min())
    measured = max(inv.values()) if gd_min > 1e-3 else float("nan")
    return Measurement(measured, 0.0, 1e-12, "max", {
        "max_deviation": inv, "gd_min_deviation": gd_min, "scalings": int(res.scales.shape[0]),
        "steps": res.steps,
        "what": "max over random block scalings (10^U[-2,2]) and iterations of ||w_k(scaled) - "
                "w_k|| / ||w0 - w*|| for sign descent and Adam with beta2 = 1; NaN if GD's "
                "trajectory did not change by > 1e-3"})


def _check_cases(quick: bool) -> Measurement:
    res = _cases(quick)
    med = {f"case {c}": {m: res.median(c, m) for m in res.methods} for c in res.cases}
    a3, g3 = res.median(3, "adam01"), res.median(3, "gd")
    a4, g4 = res.median(4, "adam01"), res.median(4, "gd")
    ratio = (a3 / g3) if (a3 and g3) else float("nan")
    case4_ok = (g4 is not None and g4 >= 1000) and (a4 is None or a4 >= 1000)
    return Measurement(ratio if case4_ok else float("nan"), 0.0, 0.1, "max", {
        "median_iterations": med,
        "per_seed": {f"case {c}": {m: res.iterations[(c, m)] for m in res.methods}
                     for c in res.cases},
        "case4_both_need_thousands": case4_ok, "seeds": res.seeds, "tol": res.tol,
        "max_iter": res.max_iter, "seconds": res.seconds,
        "what": "median over 5 seeds of Adam(0,1)'s best iterations to 1e-6 over GD's on Case 3"
                " (tens vs thousands: <= 0.1); NaN unless both medians on Case 4 are >= 1000 "
                "(None: not reached within max_iter)"})


def _check_js(quick: bool) -> Measurement:
    run = _js(quick)
    s3, s4 = run.slq[3].mean_js, run.slq[4].mean_js
    e3, e4 = run.exact[3].mean_js, run.exact[4].mean_js
    shape_ok = s3 >= 0.9 * _LOG2 and s4 <= 0.25 * _LOG2
    return Measurement((s3 - s4) if shape_ok else float("nan"), e3 - e4, 0.05, "rel", {
        "mean_js_slq": {f"case {c}": run.slq[c].mean_js for c in run.cases},
        "mean_js_exact": {f"case {c}": run.exact[c].mean_js for c in run.cases},
        "log2": _LOG2, "bandwidth_decades": run.bandwidth, "axis": "log10 lambda",
        "n_vec": run.n_vec, "lanczos_steps": run.steps,
        "what": "mean pairwise JS (nats, in [0, log 2]) of Case 3 minus Case 4 by SLQ, against "
                "the same from exact eigendecompositions; NaN unless Case 3 >= 0.9 log 2 and "
                "Case 4 <= 0.25 log 2"})


# --------------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------------
def _fig_gf(quick: bool):
    from ..experiments import z24 as E
    from ..plotting.z24 import z24_gf_closed_form

    run, probs = _gf(True)
    pair = {k: probs[k] for k in ("case 3", "case 4")}
    return z24_gf_closed_form(run, E.gd_matched(pair, 3e-4, 20_000),
                              E.gd_matched(pair, 0.05, 20_000, "adam01"))


def _fig_sf(quick: bool):
    from ..plotting.z24 import z24_sf_diagonal

    return z24_sf_diagonal(_sf(5000.0))


def _fig_gd(quick: bool):
    from ..plotting.z24 import z24_gd_lower_bound

    return z24_gd_lower_bound(_gd_bound(quick))


def _fig_adam(quick: bool):
    from ..plotting.z24 import z24_adam_bound

    return z24_adam_bound([_adam(3, quick), _adam(4, quick)])


def _fig_scale(quick: bool):
    from ..plotting.z24 import z24_scale_invariance

    return z24_scale_invariance(_scale(quick))


def _fig_cases(quick: bool):
    from ..plotting.z24 import z24_cases

    return z24_cases(_cases(quick))


def _fig_js(quick: bool):
    from ..plotting.z24 import z24_js

    return z24_js(_js(False))


def _fig_spectra(quick: bool):
    from ..plotting.z24 import z24_spectra

    return z24_spectra(_js(False))


FIGURES = [
    Figure("z24_gf_closed_form", ("Z24.gf-closed-form",),
           "Gradient flow on Case 3 and Case 4 with the same eigen-coordinates: simulated losses "
           "match the closed form to 1e-10 and each other; GD cannot tell the cases apart, "
           "Adam(0,1) can.", _fig_gf),
    Figure("z24_sf_diagonal", ("Z24.sf-diagonal",),
           "Sign flow on a diagonal H (Case 3 eigenvalues): event-driven RK45 follows the "
           "closed form and stops at ||w0 - w*||_inf; fixed-step Euler chatters.", _fig_sf),
    Figure("z24_gd_lower_bound", ("Z24.gd-lower-bound",),
           "GD on diag(1, kappa), w0 - w* = (1, 1/kappa): no step size contracts faster than "
           "(1 - 2/(kappa+1))^2 per step.", _fig_gd),
    Figure("z24_adam_bound", ("Z24.adam-bound",),
           "Adam(0,1) from 1000 random initial points: distribution of r under both "
           "definitions, and the preconditioned and measured condition numbers against "
           "r max_l kappa_l.", _fig_adam),
    Figure("z24_scale_invariance", ("Z24.scale-invariance",),
           "Scaling the blocks leaves sign descent and Adam(beta2 = 1) iterates unchanged and "
           "changes GD's.", _fig_scale),
    Figure("z24_cases", ("Z24.cases",),
           "Relative loss against iteration for each method at its best step size, one panel "
           "per case (legend: median iterations to 1e-6 over the seeds).", _fig_cases),
    Figure("z24_js", ("Z24.js",),
           "Pairwise Jensen-Shannon distance (nats, in [0, log 2]) between block spectra "
           "estimated by SLQ: large for heterogeneous cases, small for homogeneous ones.",
           _fig_js),
    Figure("z24_spectra", ("Z24.js",),
           "Block spectral densities on log10 lambda: SLQ against exact eigendecompositions.",
           _fig_spectra),
]


CLAIMS = [
    Claim("Z24.gf-closed-form", "Z24",
          "GF gives f(t) - f* = sum_i c_i exp(-2 lambda_i t); GF, GD and heavy ball cannot tell "
          "the heterogeneous case from the homogeneous one",
          "matched Case 3 / Case 4 (same eigen-coordinates; + Case 1 in full mode), gradient "
          "flow by linsim.integrate.solve (DOP853, rtol 3e-14, atol 1e-18) on quadratic_field, "
          "200 log-spaced times to t = 10; GD/heavy ball/Adam(0,1) on both cases",
          _check_gf, "proofs.z24:z24_gf_closed_form", "z24_gf_closed_form"),
    Claim("Z24.sf-diagonal", "Z24",
          "on a diagonal H, SF gives w_i = w*_i + sign(d_i) max(|d_i| - t, 0) and stops at "
          "t = ||w0 - w*||_inf whatever lambda and kappa (dense blocks: not simulated here, "
          "they need the Filippov sliding integrator, linsim.integrate.sliding)",
          "Case 3 eigenvalues on the diagonal (+ kappa = 1e2, 1e6 in full mode), sign flow by "
          "RK45 (rtol 1e-14) with a terminal event per coordinate, the coordinate snapped to "
          "w*_i at its event; also fixed-step Euler and RK45 without events (they chatter)",
          _check_sf, "proofs.z24:z24_sf_diagonal", "z24_sf_diagonal"),
    Claim("Z24.gd-lower-bound", "Z24",
          "on H = diag(1, kappa), w0 - w* = (1, 1/kappa) no step size makes GD contract faster "
          "than (1 - 2/(kappa+1))^2 per step: Omega(kappa log 1/eps) iterations",
          "kappa in 10, 100, 1000, 5000; GD (linsim.optimizers, compiled) for 40 steps at 600 "
          "step sizes (quick 150) log-spaced from 1e-3/kappa to 2 plus eta*; iterations to "
          "1e-6 from a dense sweep around eta*",
          _check_gd_bound, "proofs.z24:z24_gd_lower_bound", "z24_gd_lower_bound"),
    Claim("Z24.adam-bound", "Z24",
          "Adam(0, 1) with v0 = g0^2 is GD preconditioned by D = diag|g0|; kappa(D^-1/2 H "
          "D^-1/2) <= r max_l kappa_l and the loss contracts by at least 1 - 1/(r max_l "
          "kappa_l) per step (r = max C_l2/min C_l1; the squared ratio reported too)",
          "Case 3 and Case 4 (seed 0), 1000 initial points w0 = w* + N(0, I) (quick 200), "
          "Adam(0,1) for 200 steps with lr = 1/lambda_max(D^-1/2 H D^-1/2)",
          _check_adam, "proofs.z24:z24_adam_bound", "z24_adam_bound"),
    Claim("Z24.scale-invariance", "Z24",
          "scaling one block H_l -> s_l H_l leaves sign descent and Adam(beta2 = 1) trajectories "
          "unchanged and changes GD's",
          "Case 3, 50 random block scalings s_l = 10^U[-2,2] (quick 10), 200 iterations of sign "
          "descent, Adam(0.9, 1) and Adam(0, 1) (v0 = g0^2, eps 0) and GD",
          _check_scale, "proofs.z24:z24_scale_invariance", "z24_scale_invariance"),
    Claim("Z24.cases", "Z24",
          "best step size, iterations to relative loss 1e-6, 5 seeds: on Case 3 Adam(0, 1) "
          "needs tens of steps and GD thousands; on Case 4 both need thousands",
          "Cases 1-4, seeds 0-4, every method of linsim.experiments.z24.METHODS (quick: Cases "
          "3 and 4, GD and Adam(0,1)), pruned step-size sweeps (4 per decade from 10 to 1e-7, "
          "refined x3 around the best), max 100000 iterations",
          _check_cases, None, "z24_cases"),
    Claim("Z24.js", "Z24",
          "the JS distance between block spectra (SLQ) is large for Case 3 and small for Case "
          "4 (proper JS, in [0, log 2], on log10 lambda)",
          "SLQ with full re-orthogonalization (50 Rademacher vectors, 30 Lanczos steps), "
          "Gaussian KDE on log10 lambda with bandwidth 0.2 decades, Cases 3 and 4 (+ 1 and 2 "
          "in full mode); reference: the same KDE of exact eigendecompositions",
          _check_js, None, "z24_js"),
]
