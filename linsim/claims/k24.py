"""K24 claims on the one-hot softmax model (THEORY.md, "K24: the continuous-time model").

Simulations are shared between claims and figures through a small cache.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from . import Claim, Figure, Measurement


@lru_cache(maxsize=8)
def _k24_run(classes: int, zipf_a: float, mode: str, flows: tuple[str, ...], t_max: float,
             rtol: float, atol: float, method: str = "DOP853", points: int = 200):
    from ..experiments.k24 import run_onehot
    from ..problems.softmax import OneHotModel

    return run_onehot(OneHotModel(classes, zipf_a, mode), flows, t_max=t_max, points=points,
                      method=method, rtol=rtol, atol=atol)


def _k24_tight(quick: bool):
    """Full mode at tight tolerance: the run that checks the closed forms."""
    c = 20 if quick else 50
    return _k24_run(c, 1.1, "full", ("gradient", "sign", "normalized"), 1e4, 1e-12, 1e-14)


def _check_decouple(quick: bool) -> Measurement:
    from ..experiments.k24 import decouple_check

    d = decouple_check(10 if quick else 50, 1.1)
    worst = max(d["column_sum"], d["off_diagonal_spread"], d["margin_vs_reduced"])
    return Measurement(worst, 0.0, 1e-8, "max", {
        k: d[k] for k in ("column_sum", "off_diagonal_spread", "margin_vs_reduced")})


def _check_gf_closed(quick: bool) -> Measurement:
    run = _k24_tight(quick)
    return Measurement(run.max_rel_err("gradient"), 0.0, 1e-8, "max", {
        "classes": run.model.classes, "t_max": run.t[-1],
        "what": "max relative error of simulated l_k(t) against the closed form"})


def _check_gf_rate(quick: bool) -> Measurement:
    from ..problems import zipf

    c = 20 if quick else 50
    run = _k24_run(c, 1.1, "full", ("gradient",), 1e10, 1e-10, 1e-13)
    tr = run.traces["gradient"]
    k = c - 1  # the rarest class: the slowest to reach the asymptote
    measured = float(run.pi[k] * run.t[-1] * tr.losses[-1, k])
    lo, hi = zipf.gf_bounds(run.t[:, None], run.pi[None, :], c)
    slack = 1e-7
    violations = int(np.sum(tr.losses < lo * (1 - slack)) + np.sum(tr.losses > hi * (1 + slack)))
    return Measurement(measured if violations == 0 else float("nan"), 1.0 - 1.0 / c, 1e-3,
                       "rel", {"class": k + 1, "pi_t": float(run.pi[k] * run.t[-1]),
                               "bound_violations": violations,
                               "what": "pi_k t l_k at t = 1e10 for the rarest class"})


def _check_sf(quick: bool) -> Measurement:
    run = _k24_tight(quick)
    r = run.rates("sign")
    rate = r[0]
    return Measurement(rate["measured"], 2.0, 1e-2, "rel", {
        "fit_stderr": rate["stderr"], "e2t_l": r[2]["measured"], "c_minus_1": r[2]["predicted"],
        "max_rel_err_vs_closed_form": run.max_rel_err("sign"),
        "what": "fitted exponent r of l_k ~ C e^(-r t) for the rarest class (not c: see "
                "THEORY.md on the slip)"})


def _check_nf(quick: bool) -> Measurement:
    run = _k24_tight(quick)
    return Measurement(run.nf_deviation(), 0.0, 1e-6, "max", {
        "what": "max relative gap of NF's per-class losses from GF's at equal overall loss"})



def _fig_group_losses(quick: bool):
    from ..plotting.k24 import k24_group_losses

    run = _k24_run(1000, 1.1, "reduced", ("gradient", "sign", "normalized"), 1e5, 1e-8, 1e-10,
                   "RK45")
    return k24_group_losses(run, "K24.gf-closed-form, K24.sf-closed-form, K24.nf-reparam")


def _fig_gf_rate(quick: bool):
    from ..plotting.k24 import k24_gf_collapse

    run = _k24_run(1000, 1.1, "reduced", ("gradient",), 1e10, 1e-10, 1e-12, "DOP853", 400)
    return k24_gf_collapse(run)


def _fig_sf_rate(quick: bool):
    from ..plotting.k24 import k24_sf_exponent

    runs = [_k24_run(c, 1.1, "reduced", ("sign",), 1e3, 1e-10, 1e-12, "DOP853", 400)
            for c in (5, 100, 10_000)]
    return k24_sf_exponent(runs)


def _fig_decouple(quick: bool):
    from ..experiments.k24 import decouple_check
    from ..plotting.k24 import k24_two_level

    return k24_two_level(decouple_check(6, 1.0, t_max=1e3, points=80))


def _fig_nf(quick: bool):
    from ..plotting.k24 import k24_equal_loss

    run = _k24_run(100, 1.1, "reduced", ("gradient", "sign", "normalized"), 1e6, 1e-10, 1e-12,
                   "DOP853", 300)
    return k24_equal_loss(run)


FIGURES = [
    Figure("k24_group_losses", ("K24.gf-closed-form", "K24.sf-closed-form", "K24.nf-reparam"),
           "Per-group loss of the Zipf one-hot model (c = 1000, a = 1.1) under gradient, sign "
           "and normalized flow; dashed: closed forms.", _fig_group_losses),
    Figure("k24_gf_rate", ("K24.gf-rate",),
           "Gradient flow: pi_k t l_k(t) against pi_k t for classes across the Zipf range "
           "collapses onto one curve between the bounds and tends to 1 - 1/c.", _fig_gf_rate),
    Figure("k24_sf_rate", ("K24.sf-closed-form",),
           "Sign flow: e^(2t) l(t) tends to c - 1; the exponent is 2 for every class and every "
           "c (not c: the slip THEORY.md names).", _fig_sf_rate),
    Figure("k24_decouple", ("K24.decouple",),
           "Gradient flow on the full c x c model: each column keeps its two-level form "
           "(diagonal a, off-diagonal b) with a + (c-1) b = 0.", _fig_decouple),
    Figure("k24_nf_reparam", ("K24.nf-reparam",),
           "Per-class loss against overall loss: normalized flow retraces gradient flow; sign "
           "flow does not.", _fig_nf),
]


CLAIMS = [
    Claim("K24.decouple", "K24",
          "each column moves on its own, keeps a two-level form with a + (c-1) b = 0, and its "
          "margin solves u' = c pi_k/(e^u + c - 1)",
          "full one-hot model (c = 50; quick 10), gradient flow, DOP853 rtol 1e-11, to t = 1e3; "
          "compared with the reduced margin ODE",
          _check_decouple, "proofs.k24:k24_decouple", "k24_decouple"),
    Claim("K24.gf-closed-form", "K24",
          "under gradient flow e^u + (c-1) u = 1 + c pi_k t and l_k = log(1 + (c-1) e^-u)",
          "full one-hot model (c = 50; quick 20, a = 1.1), gradient flow, DOP853 rtol 1e-12, "
          "200 log-spaced times to t = 1e4",
          _check_gf_closed, "proofs.k24:k24_gf_closed_form", "k24_group_losses"),
    Claim("K24.gf-rate", "K24",
          "(1-1/c)/(1+pi_k t) <= l_k(t) <= (c-1)/(1+pi_k t) and pi_k t l_k(t) -> 1 - 1/c",
          "full one-hot model (c = 50; quick 20, a = 1.1), gradient flow, DOP853 rtol 1e-10, "
          "to t = 1e10; bounds checked at all 200 output times",
          _check_gf_rate, "proofs.k24:k24_gf_rate", "k24_gf_rate"),
    Claim("K24.sf-closed-form", "K24",
          "under sign flow W(t) = t(2I - 11^T), l_k = log(1 + (c-1) e^(-2t)) for every class: "
          "exponent 2, independent of pi_k and c",
          "full one-hot model (c = 50; quick 20, a = 1.1), sign flow, DOP853 rtol 1e-12, to "
          "t = 1e4; exponent fitted where 1e-250 <= l <= 1e-3",
          _check_sf, "proofs.k24:k24_sf_closed_form", "k24_sf_rate"),
    Claim("K24.nf-reparam", "K24",
          "normalized flow follows gradient flow's path: at equal overall loss the per-class "
          "losses agree",
          "full one-hot model (c = 50; quick 20, a = 1.1), normalized flow, DOP853 rtol 1e-12; "
          "GF at the same overall loss from its closed form",
          _check_nf, "proofs.k24:k24_nf_reparam", "k24_nf_reparam"),
]
