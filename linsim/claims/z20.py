"""Z20 claims (THEORY.md, "Z20: heavy-tailed gradient noise and clipping").

Every measurement is a rate fitted from simulated runs of :mod:`linsim.stochastic` (many
independent noise streams, common random numbers across methods); the exponents of THEORY.md
enter only as predictions. Simulations are shared between a claim and its figure through a
small cache. Quick settings are smaller versions of the same studies.
"""

from __future__ import annotations

import math
from functools import lru_cache

from . import Claim, Figure, Measurement

#: Tail indices of Z20.clip-strongly-convex (quick: the middle one).
ALPHAS = (1.2, 1.5, 1.8)
#: Z20.threshold-tent is tested to 0.08, not to the 0.03 of the strongly convex rate: at
#: k <= 3e4 every fitted exponent is still shallower than its limit (measured 0.05-0.06 at
#: p = 0.2 and at the peak, 2000 runs x 3e4 steps; at 1e5 steps the peak moves from 0.61 to
#: 0.65, towards 2/3).
TENT_TOLERANCE = 0.08
TENT_REASON = ("pre-asymptotic terms: the clipped centred-Pareto bias is "
               "(tau + alpha/(alpha-1))^(1-alpha)/(alpha-1), whose local slope reaches "
               "2p(alpha-1) only once tau_k = k^p >> alpha/(alpha-1) = 3 (slow for small p); "
               "the clipped second moment has a constant part beside tau^(2-alpha); near the "
               "peak the two power laws have equal exponents and both carry these corrections")


@lru_cache(maxsize=4)
def sgd_fails(quick: bool):
    from ..experiments import z20

    if quick:
        return z20.sgd_fails(1.5, runs=2**15, steps=50)
    return z20.sgd_fails(1.5, runs=2**16, steps=1000)


@lru_cache(maxsize=8)
def clip_rate(alpha: float, quick: bool):
    from ..experiments import z20

    if quick:
        return z20.clip_rate(alpha, runs=2000, steps=10_000, resamples=400)
    return z20.clip_rate(alpha, runs=2000, steps=30_000)


def clip_rates(quick: bool) -> list:
    return [clip_rate(a, quick) for a in ((1.5,) if quick else ALPHAS)]


@lru_cache(maxsize=4)
def clip_nonconvex(quick: bool):
    from ..experiments import z20

    if quick:
        return z20.clip_nonconvex(1.5, horizons=(300, 1000, 3000, 10_000), runs=500,
                                  resamples=400)
    return z20.clip_nonconvex(1.5, horizons=(300, 1000, 3000, 10_000, 30_000), runs=2000)


@lru_cache(maxsize=4)
def threshold_tent(quick: bool):
    from ..experiments import z20

    if quick:
        return z20.threshold_tent(1.5, ps=(0.0, 0.4, 2 / 3, 0.8), runs=500, steps=30_000,
                                  resamples=200)
    return z20.threshold_tent(1.5, runs=2000, steps=30_000)


@lru_cache(maxsize=4)
def coordinate(quick: bool):
    from ..experiments import z20

    if quick:
        return z20.coordinate(1.5, dims=(1, 4, 16), runs=200, steps=1000)
    return z20.coordinate(1.5, dims=(1, 4, 16, 64), runs=400, steps=3000)


# --------------------------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------------------------
def _check_sgd_fails(quick: bool) -> Measurement:
    r = sgd_fails(quick)
    s = r.summary()
    med = s["median_over_runs_slope"]
    med_ok = abs(med["measured"] - med["predicted"]) <= 0.05
    grows = s["mean_over_R_slope"]["measured"]
    return Measurement(grows if med_ok else math.nan, 2.0 / r.alpha - 1.0, 0.1, "abs", {
        "alpha": r.alpha, "runs": r.settings["runs"], "steps": r.settings["steps"],
        "mean_over_R_slope": s["mean_over_R_slope"], "median_over_runs_slope": med,
        "median_ok (within 0.05 of -2(alpha-1)/alpha)": med_ok,
        "gclip_mean_over_R_slope": s["gclip_mean_over_R_slope"]["measured"],
        "what": "slope in R of the typical mean of f(x_K) over R SGD runs (grows: E f = inf); "
                "NaN unless the median falls at the predicted rate"})


def _check_clip_rate(quick: bool) -> Measurement:
    rows = {}
    worst = 0.0
    for r in clip_rates(quick):
        dev = r.fit.value - r.predicted
        worst = max(worst, abs(dev))
        rows[f"alpha={r.alpha:g}"] = {
            "slope": r.fit.value, "ci95": [r.fit.low, r.fit.high], "predicted": r.predicted,
            "deviation": dev, "ci_covers_prediction": r.fit.low <= r.predicted <= r.fit.high,
            "early_window_slope": r.early.value, "window": list(r.fit.window),
            "runs": r.settings["runs"], "steps": r.settings["steps"]}
    return Measurement(worst, 0.0, 0.03, "max", {
        **rows, "what": "max over alpha of |fitted slope of log E f vs log k + 2(alpha-1)/alpha|"
                        " over the last 1.5 decades"})


def _check_nonconvex(quick: bool) -> Measurement:
    r = clip_nonconvex(quick)
    return Measurement(r.fit.value, r.predicted, 0.05, "abs", {
        "ci95": [r.fit.low, r.fit.high], "horizons": list(r.horizons),
        "runs": r.settings["runs"], "function": r.settings["function"],
        "what": "slope in K of (1/K) sum_k E min(|f'|, f'^2), tuned eta and tau per horizon"})


def _check_tent(quick: bool) -> Measurement:
    r = threshold_tent(quick)
    s = r.summary()
    peak_ok = abs(s["peak_p_measured"] - s["peak_p_predicted"]) <= 0.15
    sym = s["symmetric_constant_tau_slope"]["value"]
    sym_ok = abs(sym + 1.0) <= 0.1
    worst = s["max_abs_deviation"]
    return Measurement(worst if (peak_ok and sym_ok) else math.nan, 0.0, TENT_TOLERANCE, "max", {
        "rows": s["rows"], "peak_p_measured": s["peak_p_measured"],
        "peak_p_predicted": s["peak_p_predicted"], "symmetric_constant_tau_slope": sym,
        "tolerance_reason": TENT_REASON,
        "what": "max over p of |fitted exponent of E f - min(1 - p(2-alpha), 2p(alpha-1))|; "
                "NaN unless the peak is within 0.15 of 1/alpha and constant tau under "
                "symmetric noise gives slope -1 (within 0.1)"})


def _check_coordinate(quick: bool) -> Measurement:
    r = coordinate(quick)
    g = r.slopes["GClip"].value
    c = r.slopes["CClip"].value
    cclip_ok = abs(c) <= 0.05
    return Measurement(g if cclip_ok else math.nan, 2.0 / r.alpha - 1.0, 0.08, "abs", {
        "dims": list(r.dims), "constants": {lab: list(r.constants[:, j])
                                            for j, lab in enumerate(r.labels)},
        "cclip_slope": c, "cclip_ok (|slope| <= 0.05)": cclip_ok,
        "gclip_G1_slope": r.slopes["GClip (G = 1)"].value,
        "acclip_slope": r.slopes["ACClip"].value,
        "what": "slope in log d of GClip's per-coordinate constant with the theory's "
                "threshold G = d^(1/alpha); NaN unless CClip's slope is 0 within 0.05",
        "note": "with symmetric noise GClip with a d-independent threshold (G = 1) does not "
                "grow either: the growth is that of the theory's choice of G"})


# --------------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------------
def _fig_sgd_fails(quick: bool):
    from ..plotting.z20 import z20_sgd_fails

    return z20_sgd_fails(sgd_fails(quick))


def _fig_clip_rate(quick: bool):
    from ..plotting.z20 import z20_clip_rate

    return z20_clip_rate(clip_rates(quick))


def _fig_nonconvex(quick: bool):
    from ..plotting.z20 import z20_clip_nonconvex

    return z20_clip_nonconvex(clip_nonconvex(quick))


def _fig_tent(quick: bool):
    from ..plotting.z20 import z20_threshold_tent

    return z20_threshold_tent(threshold_tent(quick))


def _fig_coordinate(quick: bool):
    from ..plotting.z20 import z20_coordinate

    return z20_coordinate(coordinate(quick))


FIGURES = [
    Figure("z20_sgd_fails", ("Z20.sgd-fails",),
           "SGD on x^2/2 with symmetric 1.5-stable noise: the typical mean of f over R runs "
           "grows like R^(2/alpha-1) (E f = inf) while the median falls like "
           "k^(-2(alpha-1)/alpha); GClip on the same noise does not grow.", _fig_sgd_fails),
    Figure("z20_clip_rate", ("Z20.clip-strongly-convex",),
           "GClip with eta_k = 4/(k+1), tau_k = k^(1/alpha): E f against k for alpha = 1.2, "
           "1.5, 1.8 (2000 runs x 3e4 steps), and the fitted slope minus -2(alpha-1)/alpha "
           "with bootstrap intervals.", _fig_clip_rate),
    Figure("z20_clip_nonconvex", ("Z20.clip-nonconvex",),
           "GClip on x^2/2 + 2(cos x - 1) with horizon-tuned eta and tau: the mean of "
           "min(|f'|, f'^2) over K steps against K.", _fig_nonconvex),
    Figure("z20_threshold_tent", ("Z20.threshold-tent",),
           "GClip with tau_k = k^p under centred Pareto noise: fitted exponents of E f, of its "
           "bias and of its variance term against p, with the tent min(1-p(2-alpha), "
           "2p(alpha-1)).", _fig_tent),
    Figure("z20_coordinate", ("Z20.coordinate",),
           "Per-coordinate constant of GClip (theory threshold), CClip, GClip with G = 1 and "
           "ACClip against the dimension.", _fig_coordinate),
]

CLAIMS = [
    Claim("Z20.sgd-fails", "Z20",
          "with infinite-variance noise E f(x_k) = inf: the mean over R runs grows with R "
          "while the median converges",
          "f = x^2/2, symmetric 1.5-stable noise, SGD eta_k = 1/k, 2^16 runs x 1000 steps "
          "(quick 2^15 x 50); typical mean = geometric mean over disjoint groups of R runs",
          _check_sgd_fails, "proofs.z20:z20_sgd_fails", "z20_sgd_fails"),
    Claim("Z20.clip-strongly-convex", "Z20",
          "GClip with eta_k = 4/(mu(k+1)), tau_k = G k^(1/alpha): E f - f* ~ "
          "k^(-2(alpha-1)/alpha) (slope within 0.03)",
          "f = x^2/2, symmetric stable noise, alpha in {1.2, 1.5, 1.8} (quick 1.5), 2000 runs "
          "x 3e4 steps (quick 1e4); slope over [K/30, K], 95% bootstrap over runs",
          _check_clip_rate, "proofs.z20:z20_clip_strongly_convex", "z20_clip_rate"),
    Claim("Z20.clip-nonconvex", "Z20",
          "tau ~ K^(1/(3alpha-2)), eta ~ K^(-alpha/(3alpha-2)): mean of E min(|f'|, f'^2) is "
          "O(K^(-2(alpha-1)/(3alpha-2)))",
          "f = x^2/2 + 2(cos x - 1), x0 = 3, symmetric 1.5-stable noise, GClip, K = 300..3e4 "
          "(quick ..1e4), 2000 runs (quick 500)",
          _check_nonconvex, "proofs.z20:z20_clip_nonconvex", "z20_clip_nonconvex"),
    Claim("Z20.threshold-tent", "Z20",
          "with tau_k = k^p and asymmetric noise E f ~ k^-min(1 - p(2-alpha), 2p(alpha-1)), "
          "peaked at p = 1/alpha (exponents within 0.08: pre-asymptotic, see detail)",
          "f = x^2/2, centred Pareto noise alpha = 1.5, GClip eta_k = 4/(k+1), p in [0, 1] "
          "(8 values; quick 4 in [0, 0.8]), 2000 runs x 3e4 steps (quick 500 x 3e4)",
          _check_tent, "proofs.z20:z20_threshold_tent", "z20_threshold_tent"),
    Claim("Z20.coordinate", "Z20",
          "with per-coordinate noise scales GClip's constant grows with d (like "
          "d^(2/alpha-1) with the theory's threshold), CClip's does not",
          "f = ||x||^2/2, i.i.d. symmetric 1.5-stable noise, d in {1, 4, 16, 64} (quick "
          "..16), 400 runs x 3000 steps (quick 200 x 1000)",
          _check_coordinate, "proofs.z20:z20_coordinate", "z20_coordinate"),
]
