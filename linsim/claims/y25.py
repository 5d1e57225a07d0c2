"""Y25 claims on the unigram model, and the checks of "Integrating sign flow honestly".

THEORY.md ids: **Y25.sf-vs-nf**. The other ids are this module's (THEORY.md names the section
but gives no ids): **Y25.sf-extinction** (sign flow reaches the minimizer at
``a log(c) / 2`` from ``theta = 0``), and the ``SF.*`` checks of the three sign-flow
integrators (closed form, event-driven sliding, implicit Euler): SF.agree-quadratic,
SF.agree-unigram, SF.diagonal-time (Z24.sf-diagonal measured by the integrators),
SF.dissipation, SF.smoothed-order, SF.no-chattering.

Simulations are shared between claims and figures through small caches.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from . import Claim, Figure, Measurement

SWEEP_FULL = (10, 100, 1000, 10_000, 100_000)
SWEEP_QUICK = (10, 30, 100, 300)
ZIPFS = (0.5, 1.0, 1.5)
EPS = 1e-10


@lru_cache(maxsize=4)
def _sweep(classes: tuple[int, ...], zipfs: tuple[float, ...] = ZIPFS, eps: float = EPS):
    from ..experiments.y25 import sf_vs_nf_sweep

    return sf_vs_nf_sweep(classes, zipfs, eps)


def _sweep_for(quick: bool):
    return _sweep(SWEEP_QUICK if quick else SWEEP_FULL)


def _check_sf_vs_nf(quick: bool) -> Measurement:
    rows = _sweep_for(quick)
    slopes = {}
    for a in ZIPFS:
        rs = sorted((r for r in rows if r["zipf"] == a), key=lambda r: r["classes"])
        c = np.log([r["classes"] for r in rs])
        ratio = np.log([r["ratio"] for r in rs])
        slopes[a] = float(np.polyfit(c, ratio, 1)[0])
    table = {f"c={r['classes']},a={r['zipf']:g}": {k: r[k] for k in (
        "t_sf", "t_nf", "ratio", "sf_extinction_predicted", "nf_lower_bound", "gf_steps",
        "sf_tr_solves")} for r in rows}
    worst = max(slopes.values())
    return Measurement(worst, 0.0, 0.0, "max", {
        "what": f"T_SF/T_NF, the ratio of the times sign flow (implicit Euler, exact on this "
                f"model) and normalized flow (arc length of the gradient-flow path, stiff "
                f"extrapolation) take from theta = 0 to f - f* <= {EPS:g}; measured: the "
                f"largest over a of the log-log slope of the ratio against c (negative: the "
                f"advantage of sign flow grows with c)",
        "slope_by_zipf": slopes, "runs": table})


def _check_sf_extinction(quick: bool) -> Measurement:
    from ..experiments.y25 import extinction_time
    from ..integrate.sliding import UnigramSign, sign_flow
    from ..problems.softmax import UnigramModel

    worst = 0.0
    detail = {}
    for c in ((30, 100) if quick else (100, 1000)):
        for a in ZIPFS:
            m = UnigramModel(c, a)
            T = extinction_time(m)
            r = sign_flow(UnigramSign(m), m.y0(), (0.0, 1.5 * T + 0.1), method="sliding",
                          rtol=1e-10, atol=1e-12, integrator="DOP853")
            last = float(r.event_t[-1])
            err = abs(last - T) / T
            worst = max(worst, err)
            detail[f"c={c},a={a:g}"] = {"last_event": last, "predicted": T,
                                        "events": r.stats["events"]}
    return Measurement(worst, 0.0, 1e-9, "max", {
        "what": "relative gap between the time of the last sticking event of event-driven "
                "sliding (the minimizer reached) and a log(c)/2 = (max - min)(log pi)/2",
        "runs": detail})


# -------------------------------------------------------------------------- Filippov checks


@lru_cache(maxsize=8)
def _quad_agreement(kind: str, n: int, seed: int):
    from ..experiments.y25 import filippov_agreement, filippov_quadratic

    prob, x0 = filippov_quadratic(kind, n, seed)
    T = 1.5 * float(np.abs(x0 - prob.x_star).max())
    methods = ("closed", "exact", "sliding", "implicit") if kind == "diagonal" else (
        "exact", "sliding", "implicit")
    return filippov_agreement(prob, x0, T, 101, methods, rtol=1e-12, atol=1e-14)


def _check_agree_quadratic(quick: bool) -> Measurement:
    seeds = (0, 1) if quick else (0, 1, 2, 3, 4)
    worst, detail = 0.0, {}
    for kind in ("diagonal", "blocks"):
        for seed in seeds:
            r = _quad_agreement(kind, 9, seed)
            worst = max(worst, r["max_distance"])
            detail[f"{kind}/{seed}"] = {"distance": r["distance"], "events": r["events"]}
    return Measurement(worst, 0.0, 1e-10, "max", {
        "what": "largest max-norm distance between the trajectories (101 times, past the "
                "minimizer) of closed form (diagonal), exact event-to-event, event-driven "
                "sliding (DOP853, rtol 1e-12) and implicit Euler (trust-region steps), on 9-d "
                "diagonal and rotated 3-block quadratics", "runs": detail})


@lru_cache(maxsize=4)
def _unigram_agreement(c: int, a: float):
    from ..experiments.y25 import unigram_agreement

    return unigram_agreement(c, a)


def _check_agree_unigram(quick: bool) -> Measurement:
    worst, detail = 0.0, {}
    for c in ((10, 30) if quick else (10, 30, 100)):
        for a in ZIPFS:
            r = _unigram_agreement(c, a)
            worst = max(worst, r["max_distance"])
            detail[f"c={c},a={a:g}"] = {"distance": r["max_distance"],
                                        "events": r["events"]}
    return Measurement(worst, 0.0, 1e-8, "max", {
        "what": "largest distance (max norm modulo the shift along 1) between event-driven "
                "sliding (DOP853, rtol 1e-12) and implicit Euler on the unigram model from "
                "theta = 0, over 41 times past the minimizer", "runs": detail})


def _check_diagonal_time(quick: bool) -> Measurement:
    from ..experiments.y25 import filippov_quadratic

    worst, detail = 0.0, {}
    for seed in ((0, 1, 2) if quick else range(10)):
        prob, x0 = filippov_quadratic("diagonal", 9, seed)
        d = float(np.abs(x0 - prob.x_star).max())
        r = _quad_agreement("diagonal", 9, seed) if seed < 2 else None
        from ..integrate.sliding import sign_flow

        for m in ("exact", "sliding"):
            res = r["results"][m] if r else sign_flow(prob, x0, (0.0, 1.5 * d), method=m,
                                                       rtol=1e-12, atol=1e-14)
            err = abs(float(res.event_t[-1]) - d)
            worst = max(worst, err / d)
            detail[f"{seed}/{m}"] = {"last_event": float(res.event_t[-1]), "predicted": d}
    return Measurement(worst, 0.0, 1e-12, "max", {
        "what": "relative gap between the last event (every coordinate stuck at x*) of the "
                "exact and the sliding integrator and ||x0 - x*||_inf on diagonal quadratics "
                "(Z24.sf-diagonal)", "runs": detail})


def _check_dissipation(quick: bool) -> Measurement:
    from ..experiments.y25 import dissipation, filippov_quadratic
    from ..integrate.sliding import UnigramSign
    from ..problems.softmax import UnigramModel

    detail = {}
    worst = 0.0
    for kind in ("diagonal", "blocks"):
        prob, x0 = filippov_quadratic(kind, 9, 0)
        T = 1.2 * float(np.abs(x0 - prob.x_star).max())
        for m in ("exact", "sliding"):
            r = dissipation(prob, x0, T, m, rtol=1e-12, atol=1e-14) if m == "sliding" else \
                dissipation(prob, x0, T, m)
            worst = max(worst, r["defect"], r["max_gS"])
            detail[f"{kind}/{m}"] = r
    c = 30 if quick else 100
    model = UnigramModel(c, 1.0)
    r = dissipation(UnigramSign(model), model.y0(), 1.2 * 0.5 * np.log(c), "sliding",
                    rtol=1e-12, atol=1e-14, integrator="DOP853")
    worst = max(worst, r["defect"], r["max_gS"])
    detail[f"unigram c={c}"] = r
    return Measurement(worst, 0.0, 1e-9, "max", {
        "what": "largest of: |f(b) - f(a) + int_a^b ||grad f||_1 dt| / (f(0) - f*) over the "
                "segments between events (Gauss-Legendre, 8 nodes), and max |g_S| / max |g(0)| "
                "over the coordinates the integrator holds stuck", "runs": detail})


@lru_cache(maxsize=2)
def _smoothed(quick: bool):
    from ..experiments.y25 import extinction_time, smoothed_convergence
    from ..integrate.sliding import UnigramSign
    from ..problems.softmax import UnigramModel

    model = UnigramModel(10, 1.0)
    eps = (1e-4, 3e-5, 1e-5) if quick else (1e-4, 3e-5, 1e-5, 3e-6, 1e-6)
    return smoothed_convergence(UnigramSign(model), model.y0(), 1.5, eps,
                                t_extra=(extinction_time(model),))


def _check_smoothed(quick: bool) -> Measurement:
    r = _smoothed(quick)
    return Measurement(r["slope"], 1.0, 0.1, "rel", {
        "what": "fitted log-log slope of the largest distance between smoothed sign flow "
                "tanh(g/eps) (DOP853, rtol 1e-11) and the Filippov solution (implicit Euler) "
                "on the unigram model (c = 10, a = 1; 301 times to 1.5 and the extinction "
                "time 1.1513, where the gap peaks) against eps; pre-asymptotic above 1e-4 "
                "(local slopes 0.5, 0.8 per decade from 1e-2)", "eps": r["eps"],
        "error": r["error"], "steps": r["steps"]})


@lru_cache(maxsize=2)
def _chatter():
    from ..experiments.y25 import explicit_chattering
    from ..integrate.sliding import UnigramSign
    from ..problems.softmax import UnigramModel

    model = UnigramModel(10, 1.0)
    return explicit_chattering(UnigramSign(model), model.y0(), 2.0, (1e-2, 1e-3, 1e-4))


def _check_no_chattering(quick: bool) -> Measurement:
    ch = _chatter()
    counts = {}
    worst = 0.0
    for c in ((30, 100) if quick else (100, 1000)):
        r = _unigram_agreement(c, 1.0) if c <= 100 else None
        if r is None:
            from ..experiments.y25 import unigram_agreement

            r = unigram_agreement(c, 1.0)
        st = r["stats"]["sliding"]
        counts[f"unigram c={c}"] = {"events": st["events"], "steps": st["steps"],
                                    "segments": st["segments"]}
        # every coordinate sticks once and is never released: c - 1 events
        worst = max(worst, st["events"] / (c - 1), st["steps"] / (5.0 * c))
    for kind in ("diagonal", "blocks"):
        r = _quad_agreement(kind, 9, 0)
        st = r["stats"]["sliding"]
        counts[f"{kind} n=9"] = {"events": st["events"], "steps": st["steps"]}
        worst = max(worst, st["events"] / (3.0 * 9))
    return Measurement(worst, 0.0, 1.0, "max", {
        "what": "largest of events / (c - 1) and steps / (5 c) of event-driven sliding on the "
                "unigram model, and events / (3 n) on the quadratics (<= 1: no chattering)",
        "runs": counts, "explicit_euler_step": ch["step"],
        "explicit_chattering_amplitude": ch["amplitude"], "explicit_amplitude_slope":
            ch["slope"]})


# ----------------------------------------------------------------------------------- figures


def _fig_sf_vs_nf(quick: bool):
    from ..plotting.y25 import y25_sf_vs_nf

    return y25_sf_vs_nf(_sweep_for(quick))


def _fig_filippov(quick: bool):
    from ..plotting.y25 import y25_filippov

    return y25_filippov(_quad_agreement("blocks", 6, 0), _smoothed(quick), _chatter(),
                        _unigram_agreement(100, 1.0))


FIGURES = [
    Figure("y25_sf_vs_nf", ("Y25.sf-vs-nf", "Y25.sf-extinction"),
           "Unigram model from theta = 0: times to f - f* <= 1e-10 of sign flow (exactly "
           "a log(c)/2 to the minimizer) and normalized flow (about the straight-line distance "
           "||theta*||_2 ~ a sqrt(c)), and their ratio, against c for a = 0.5, 1, 1.5.",
           _fig_sf_vs_nf),
    Figure("sf_filippov", ("SF.agree-quadratic", "SF.agree-unigram", "SF.smoothed-order",
                           "SF.no-chattering"),
           "Sign flow as a Filippov system: exact, event-driven sliding and implicit Euler "
           "trajectories coincide on a rotated-block quadratic; smoothed sign converges at "
           "O(eps); the naive explicit integrator chatters with amplitude ~ h; on the unigram "
           "model coordinates stick one by one until the minimizer at a log(c)/2.",
           _fig_filippov),
]


CLAIMS = [
    Claim("Y25.sf-vs-nf", "Y25",
          "the advantage of sign flow over normalized flow (ratio of their times to "
          "f - f* <= eps) grows with the number of classes",
          "unigram model, theta(0) = 0, c in {10, ..., 1e5} (quick: 10 to 300), a in "
          "{0.5, 1, 1.5}, eps = 1e-10; SF: implicit Euler (exact here); NF: arc length of "
          "gradient flow (extrapolated linearly implicit Euler, rtol 1e-10)",
          _check_sf_vs_nf, None, "y25_sf_vs_nf"),
    Claim("Y25.sf-extinction", "Y25",
          "sign flow reaches the minimizer set exactly at t = (max - min)(log pi - theta0)/2 "
          "= a log(c)/2 from theta0 = 0 (each coordinate sticks once, none is released)",
          "unigram model, c in {100, 1000} (quick: 30, 100), a in {0.5, 1, 1.5}; event-driven "
          "sliding, DOP853 rtol 1e-10; the time of the last sticking event",
          _check_sf_extinction, None, "y25_sf_vs_nf"),
    Claim("SF.agree-quadratic", "SF",
          "closed form, exact event-to-event, event-driven sliding and implicit Euler give the "
          "same sign-flow trajectory on diagonal and rotated-block quadratics (<= 1e-10)",
          "9-d diagonal (eigenvalues 1..100) and rotated 3-block (1..1000) quadratics, 5 seeds "
          "(quick 2), 101 times to 1.5 ||x0 - x*||_inf",
          _check_agree_quadratic, None, "sf_filippov"),
    Claim("SF.agree-unigram", "SF",
          "event-driven sliding and implicit Euler agree on the unigram model (<= 1e-8)",
          "unigram model, c in {10, 30, 100} (quick 10, 30), a in {0.5, 1, 1.5}, theta0 = 0",
          _check_agree_unigram, None, "sf_filippov"),
    Claim("SF.diagonal-time", "SF",
          "on a diagonal quadratic sign flow reaches the minimizer at t = ||x0 - x*||_inf "
          "(Z24.sf-diagonal), as located by the event-driven integrators",
          "9-d diagonal quadratics, 10 seeds (quick 3); exact and sliding (DOP853 rtol 1e-12)",
          _check_diagonal_time, None, "sf_filippov"),
    Claim("SF.dissipation", "SF",
          "along sign flow df/dt = -||grad f||_1, and g_S = 0 on the sliding set",
          "diagonal and rotated-block quadratics (exact, sliding) and the unigram model "
          "(c = 100, quick 30; sliding): Gauss-Legendre quadrature per segment",
          _check_dissipation, None, "sf_filippov"),
    Claim("SF.smoothed-order", "SF",
          "smoothed sign flow tanh(g/eps) converges to the Filippov solution at rate O(eps)",
          "unigram model c = 10, a = 1, eps from 1e-4 to 1e-6, DOP853 rtol 1e-11, against "
          "implicit Euler",
          _check_smoothed, None, "sf_filippov"),
    Claim("SF.no-chattering", "SF",
          "event-driven sliding needs at most one event per coordinate on the unigram model "
          "and a bounded number of steps; the naive explicit integrator chatters with "
          "amplitude ~ step",
          "unigram model c in {100, 1000} (quick 30, 100) and 9-d quadratics; explicit Euler "
          "of -sign(g) with h = 1e-2, 1e-3, 1e-4 on c = 10 as the baseline",
          _check_no_chattering, None, "sf_filippov"),
]
