"""KB25 claims: GD and sign descent on the linear bigram model under Zipf's law.

THEORY.md, "KB25" (Kunstner and Bach 2025, arXiv 2505.19227): KB25.reduce, KB25.gd-zipf,
KB25.gd-regimes, KB25.sd-sqrt, KB25.crossover. The paper's theorem statements and its
sign-descent step rule were not recovered; the predictions are THEORY.md's formulas and the
derivations of ``proofs/kb25.py``. Where they part from THEORY.md (the sign-descent floor is
``d eta^2/4`` for the mean of the last two iterates, not ``d eta^2/2``), the registry says so.

Every measured time is computed from the exact reductions of :mod:`linsim.problems.bigram`,
which KB25.reduce checks against the full ``d x d`` model.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from . import Claim, Control, Figure, Measurement

EPS = (0.1, 0.01)


def _ds(quick: bool, top: float = 1e7) -> tuple[int, ...]:
    return (100, 1000, 10_000) if quick else tuple(int(10**k) for k in range(2, 8)
                                                   if 10**k <= top)


# --------------------------------------------------------------------------- KB25.reduce


@lru_cache(maxsize=8)
def _reduce_runs(quick: bool, mixed_rows: bool = False) -> dict:
    from ..problems import bigram

    d = 200 if quick else 2000
    alpha = 1.0
    cond = None
    if mixed_rows:
        cond = np.random.default_rng(1).uniform(0.5, 1.5, d)
    model = bigram.BigramModel.zipf(d, alpha, cond_alpha=cond, seed=0)
    pi = model.pi
    q = np.sort(model.C[0])[::-1]  # the conditionals of one row: the SD reduction's targets
    runs = {}
    T = 40 if quick else 60
    # GD, eta = 1/pi_1; reduction on the marginals only (weights proportional to pi)
    full = bigram.run_full(model, "gd", np.full(T, 1 / pi[0]))
    red = bigram.gd_relative_error(np.arange(T + 1), pi, pi, 1 / pi[0])
    runs["gd"] = (full, red)
    # sign descent: the constant step 0.9 c_max/T, averaged; and the halving schedule
    eta = 0.9 * q[0] / T
    full = bigram.run_full(model, "sign", np.full(T, eta), average=True)
    red = bigram.sign_relative_error(q, np.full(T, eta), average=True)
    runs["sign-constant-average"] = (full, red)
    steps = bigram.halving_steps(20, q[0])
    runs["sign-halving"] = (bigram.run_full(model, "sign", steps),
                            bigram.sign_relative_error(q, steps))
    return {"d": d, "T": T, "runs": runs}


def _check_reduce(quick: bool, mixed_rows: bool = False) -> Measurement:
    out = _reduce_runs(quick, mixed_rows)
    worst, detail = 0.0, {}
    for name, (full, red) in out["runs"].items():
        dev = float(np.max(np.abs(full - red) / red))
        detail[name] = dev
        worst = max(worst, dev)
    return Measurement(worst, 0.0, 1e-9, "max", {
        "what": "largest relative gap, over every step, between r(t) of the full d x d model "
                "(all d^2 weights) and the one-dimensional reduction (GD: marginals only; "
                "sign descent: one row's conditionals only)",
        "d": out["d"], "steps": out["T"], "by_method": detail})


# -------------------------------------------------------------------------- KB25.gd-zipf


@lru_cache(maxsize=16)
def _gd_rows(alpha: float, ds: tuple[int, ...], eps: float, data_alpha: float,
             step_scale: float = 1.0) -> list[dict]:
    """Measured t*, prediction and rigorous bracket for GD at each d (marginals ~ k^-data)."""
    from ..experiments import kb25 as K
    from ..problems import bigram

    rows = []
    curve = bigram.gd_curve.power(data_alpha, max(ds))
    if step_scale != 1.0:  # a smaller step: the marginals seen by the step shrink
        curve = bigram.gd_curve(curve.x * step_scale)
    for d in ds:
        t = K.gd_time(curve, d, eps)
        rows.append({"d": d, "t": t})
    return rows


@lru_cache(maxsize=32)
def _bracket(alpha: float, d: int, eps: float) -> tuple[float, float]:
    from ..experiments import kb25 as K

    return K.gd_bracket(alpha, d, eps)


def _check_gd_zipf(quick: bool, data_alpha: float = 1.0, step_scale: float = 1.0
                   ) -> Measurement:
    from ..experiments import kb25 as K

    worst, detail = 0.0, {}
    ds = _ds(quick)
    for eps in EPS:
        rows = _gd_rows(1.0, ds, eps, data_alpha, step_scale)
        for r in rows:
            d = r["d"]
            pred = K.zipf1_time(d, eps)
            lo, hi = _bracket(1.0, d, eps)
            w = max(abs(lo / pred - 1), abs(hi / pred - 1))
            dev = abs(r["t"] / pred - 1)
            worst = max(worst, dev / w)
            detail[f"eps={eps:g},d={d}"] = {"t_measured": r["t"], "t_predicted": pred,
                                            "bracket": [lo, hi], "rel_dev": dev,
                                            "rel_allowed": w}
        ts = [r["t"] for r in rows]
        detail[f"eps={eps:g} slope"] = {
            "fitted_top": K.loglog_slope(ds, ts, 2),
            "predicted_local_1_minus_eps_e^(2T/d)": K.gd_predicted_slope(1.0, ds[-1], eps)}
    return Measurement(worst, 0.0, 1.0, "max", {
        "what": "max over d and eps of |t*/T_pred - 1| / w(d), t* the exact GD time (real root "
                "of r(t) = eps, eta = 1/pi_1), T_pred the root of [E1(2t/d) - E1(2t)]/H_d = eps "
                "and w(d) the relative distance from T_pred of the farthest end of the proved "
                "bracket of t* (<= 1: within the finite-d error)", "runs": detail})


# ----------------------------------------------------------------------- KB25.gd-regimes

_REGIME_ALPHAS = (0.5, 0.75, 2.0)


def _check_gd_regimes(quick: bool, shift: float = 0.0) -> Measurement:
    from ..experiments import kb25 as K

    eps = 0.01
    detail, worst = {}, 0.0
    ds = _ds(quick)
    alphas = _REGIME_ALPHAS if quick else (*_REGIME_ALPHAS, 1.5)
    for alpha in alphas:
        rows = _gd_rows(alpha, ds[-1:] if alpha < 1 else _regime_ds(quick, alpha), eps,
                        alpha + shift)
        if alpha < 1:
            d = rows[-1]["d"]
            pred = K.tau_eps(alpha, eps) * d**alpha
            lo, hi = _bracket(alpha, d, eps)
            w = max(abs(lo / pred - 1), abs(hi / pred - 1))
            dev = abs(rows[-1]["t"] / pred - 1)
            worst = max(worst, dev / w)
            detail[f"alpha={alpha:g}"] = {"d": d, "t_measured": rows[-1]["t"],
                                          "tau_eps_d^alpha": pred, "rel_dev": dev,
                                          "rel_allowed": w, "bracket": [lo, hi]}
        else:
            dd = [r["d"] for r in rows]
            tol = K.approach_tolerance(alpha, dd[0], eps)
            y = [1 - r["t"] / tol["T_inf"] for r in rows]
            slope = (float(np.polyfit(np.log(dd), np.log(y), 1)[0]) if min(y) > 0
                     else math.nan)
            dev = abs(slope - (1 - alpha))
            worst = max(worst, dev / tol["tolerance"] if math.isfinite(dev) else math.inf)
            detail[f"alpha={alpha:g}"] = {"d": dd, "t_measured": [r["t"] for r in rows],
                                          "T_inf": tol["T_inf"], "slope": slope,
                                          "slope_predicted": 1 - alpha,
                                          "allowed": tol["tolerance"], "x": tol["x"],
                                          "p": tol["p"]}
    return Measurement(worst, 0.0, 1.0, "max", {
        "what": "max over alpha of |measured - predicted| / allowed: alpha < 1, t* at the "
                "largest d against tau_eps d^alpha (allowed: the proved finite-d bracket's "
                "farthest end); alpha > 1, the fitted slope of log(1 - t*_d/T_inf) against "
                "log d against 1 - alpha (allowed: the first-order finite-d error); eps = 0.01",
        "runs": detail})


def _regime_ds(quick: bool, alpha: float) -> tuple[int, ...]:
    if quick:
        return (1000, 3162, 10_000)
    return (1_000_000, 3_162_278, 10_000_000) if alpha < 2 else (10_000, 31_623, 100_000)


# -------------------------------------------------------------------------- KB25.sd-sqrt


@lru_cache(maxsize=16)
def _sd_times(alpha: float, ds: tuple[int, ...], eps: float, rule: str, output: str,
              method: str = "sign") -> tuple:
    from ..experiments import kb25 as K

    if method == "gd":
        return tuple(math.ceil(t) for t in K.gd_times(alpha, ds, eps))
    return tuple(K.sd_time(alpha, d, eps, rule, output)["T"] for d in ds)


def _sd_window(quick: bool) -> tuple[int, ...]:
    # the grouped sign-descent sums cost the same at any d: quick and full share the window
    return (1_000_000, 3_162_278, 10_000_000)


def _check_sd_sqrt(quick: bool, rule: str = "tuned", output: str = "average",
                   method: str = "sign") -> Measurement:
    from ..experiments import kb25 as K

    eps = 0.01
    detail, worst = {}, 0.0
    ds = _sd_window(quick)
    for alpha in (0.75, 1.0, 1.5):
        T = _sd_times(alpha, ds, eps, rule, output, method)
        slope = K.loglog_slope(ds, T)
        tol = K.sd_slope_tolerance(alpha, ds[0], ds[-1], eps)
        worst = max(worst, abs(slope - 0.5) / tol["tolerance"])
        detail[f"alpha={alpha:g}"] = {
            "d": ds, "T": T, "slope": slope, "allowed": tol["tolerance"],
            "T/derived_(floor_eta^2/4)": [t / K.sd_predicted(alpha, d, eps, 0.25)
                                          for t, d in zip(T, ds, strict=True)],
            "T/THEORY_(floor_eta^2/2)": [t / K.sd_predicted(alpha, d, eps, 0.5)
                                         for t, d in zip(T, ds, strict=True)],
            "halving_T": _sd_times(alpha, ds, eps, "halving", "average"),
            "halving_bound": [K.halving_bound(alpha, d, eps) for d in ds]}
    return Measurement(worst, 0.0, 1.0, "max", {
        "what": "max over alpha in {0.75, 1, 1.5} of |slope - 1/2| / allowed, slope the "
                "log-log slope of sign descent's T_eps (constant step tuned to the horizon, "
                "mean of the last two iterates, eps = 0.01) over the top decade of d; allowed: "
                "the finite-d error of the slope (tail below the step, mid-range coordinates, "
                "L0_d)", "rule": rule, "output": output, "runs": detail})


# ------------------------------------------------------------------------ KB25.crossover


@lru_cache(maxsize=16)
def _crossover_times(alpha: float, d: int, eps: float, output: str) -> tuple[float, int]:
    from ..experiments import kb25 as K

    tg = math.ceil(K.gd_time_large(alpha, d, eps) if alpha > 1 else K.gd_times(alpha, [d],
                                                                               eps)[0])
    return tg, K.sd_time(alpha, d, eps, "tuned", output)["T"]


def _check_crossover(quick: bool, output: str = "average") -> Measurement:
    from ..experiments import kb25 as K

    eps = 0.01
    detail, worst = {}, -math.inf
    for alpha in (0.75, 1.0, 1.5, 2.0):
        # alpha <= 1: the largest d of the runs; alpha > 1: ten times the predicted crossover
        d = (100_000 if quick else 10_000_000) if alpha <= 1 else K.crossover_size(alpha, eps)
        tg, ts = _crossover_times(alpha, d, eps, output)
        sign = 1.0 if alpha <= 1 else -1.0  # SD should win (log ratio < 0) for alpha <= 1
        margin = sign * math.log(ts / tg)
        worst = max(worst, margin)
        detail[f"alpha={alpha:g}"] = {"d": d, "T_gd": tg, "T_sd": ts,
                                      "log_T_sd/T_gd": math.log(ts / tg)}
        if alpha > 1 and not quick:
            d7 = 10_000_000
            tg7, ts7 = _crossover_times(alpha, d7, eps, output)
            detail[f"alpha={alpha:g}"]["at_d=1e7"] = {"T_gd": tg7, "T_sd": ts7}
    return Measurement(worst, 0.0, 0.0, "max", {
        "what": f"largest wrong-way margin, eps = {eps}: log(T_SD/T_GD) for alpha in {{0.75, 1}} "
                "at d = 1e7 (quick 1e5; must be < 0: sign descent wins) and -log(T_SD/T_GD) for "
                "alpha in {1.5, 2} at ten times the predicted crossover size (GD wins); <= 0 "
                "passes", "runs": detail})


# --------------------------------------------------------------------------------- figures


@lru_cache(maxsize=2)
def _scan(quick: bool):
    from ..experiments import kb25 as K

    ds = K.d_grid(1e2, 1e5 if quick else 1e7, 2)
    return K.scan((0.5, 1.0, 1.5), ds, EPS, methods=("gd", "sign"))


def _fig_scaling(quick: bool):
    from ..plotting.kb25 import kb25_scaling

    return kb25_scaling(_scan(quick))


def _fig_real(quick: bool):
    from ..experiments.kb25 import real_curve
    from ..plotting.kb25 import kb25_real

    return kb25_real(real_curve(_real_source(), 1e4 if quick else 1e5, EPS))


def _real_source() -> str:
    try:
        import wordfreq  # noqa: F401

        return "wordfreq:en"
    except ImportError:
        from pathlib import Path

        return str(Path(__file__).resolve().parents[2] / "tests" / "data" / "word_counts.tsv")


FIGURES = [
    Figure("kb25_scaling", ("KB25.gd-zipf", "KB25.gd-regimes", "KB25.sd-sqrt",
                            "KB25.crossover"),
           "Linear bigram model: iterations to relative error eps of GD (step 1/pi_1) and sign "
           "descent (constant step tuned to the horizon, mean of the last two iterates) against "
           "the vocabulary size d, one panel per alpha; dashed: predictions (THEORY.md for GD, "
           "the derived floor d eta^2/4 for sign descent), dotted: THEORY.md's sign-descent form "
           "(floor d eta^2/2).", _fig_scaling),
    Figure("kb25_real", ("KB25.reduce", "KB25.gd-zipf"),
           "GD's iterations to eps on real English word frequencies (wordfreq) against the "
           "vocabulary size (the top-d words), beside the Zipf law fitted by maximum likelihood "
           "to the same frequencies; left: the frequencies and their fit.", _fig_real),
]


# ---------------------------------------------------------------------------------- claims

_TAIL = ("the finite-d errors derived in proofs/kb25.py: the sum versus the integral (for a "
         "unimodal summand, |sum - integral| <= its maximum) and (1 - x)^(2t) versus e^(-2tx) "
         "(e^(-2tx/(1-x)) <= (1-x)^(2t) <= e^(-2tx)) give a proved bracket of the exact time")

CLAIMS = [
    Claim("KB25.reduce", "KB25",
          "under the KB25 assumption GD's relative error depends on the marginals only and "
          "sign descent's on the conditionals only: the full d x d model matches both "
          "one-dimensional reductions to rounding",
          "full bigram model, d = 2000 (quick 200), alpha = 1, rows of conditionals random "
          "permutations of ~k^-1; GD (eta = 1/pi_1, 60 steps), sign descent (constant step, mean "
          "of the last two iterates; halving schedule, 20 steps), against "
          "bigram.gd_relative_error and bigram.sign_relative_error",
          _check_reduce, "proofs.kb25:kb25_reduce", "kb25_real",
          prediction_source="THEORY.md, KB25 (KB25.reduce): the reductions; derived "
                            "coordinatewise in proofs/kb25.py:kb25_reduce",
          tolerance_reason="float64 rounding: each step rounds every weight once (relative "
                           "u = 1.1e-16), so after T <= 60 steps and sums of d^2 <= 4e6 terms "
                           "the relative error of r is below (T + log2 d^2) 8u, far below 1e-9",
          controls=(Control("rows of conditionals with different exponents (uniform in "
                            "[0.5, 1.5]), breaking the KB25 assumption",
                            lambda q: _check_reduce(q, mixed_rows=True), "data"),)),
    Claim("KB25.gd-zipf", "KB25",
          "alpha = 1: GD's T_eps is the root of [E1(2t/d) - E1(2t)]/H_d = eps (almost linear "
          "in d, local slope 1 - eps e^(2T/d))",
          "exact GD reduction (eta = 1/pi_1), d = 1e2..1e7 (quick 1e2..1e4), eps = 0.1, 0.01; "
          "real root of r(t) = eps by Brent's method",
          _check_gd_zipf, "proofs.kb25:kb25_gd_integral", "kb25_scaling",
          prediction_source="THEORY.md, KB25 (KB25.gd-zipf): the finite-d E1 form",
          tolerance_reason=_TAIL + "; its width is O(1/d) relative",
          controls=(Control("marginals ~k^-0.9 in place of k^-1",
                            lambda q: _check_gd_zipf(q, data_alpha=0.9), "data"),
                    Control("GD at step 1/(2 pi_1) in place of 1/pi_1",
                            lambda q: _check_gd_zipf(q, step_scale=0.5), "simulation"))),
    Claim("KB25.gd-regimes", "KB25",
          "alpha < 1: T_eps = tau_eps d^alpha; alpha > 1: T_eps tends to a d-free T_inf, "
          "approached like 1 - T/T_inf ~ d^(1-alpha)",
          "exact GD reduction, eps = 0.01; alpha = 0.5, 0.75 at d = 1e7 (quick 1e4); alpha = 2 "
          "over d = 1e4..1e5 (quick 1e3..1e4) and 1.5 over d = 1e6..1e7 (full only)",
          _check_gd_regimes, "proofs.kb25:kb25_gd_regimes", "kb25_scaling",
          prediction_source="THEORY.md, KB25 (KB25.gd-regimes): tau_eps d^alpha and the "
                            "exponent 1 - alpha; T_inf from r_inf (proofs/kb25.py)",
          tolerance_reason="alpha < 1: " + _TAIL + ", plus H_d against its leading term; "
                           "alpha > 1: first-order error of the fitted slope, (1 - alpha)(1 + "
                           "1/p) x/2 with x = (1 - eps) R_d/(zeta eps) and p the local power "
                           "of r_inf, plus the untouched-tail error 2 T_inf d^-alpha",
          controls=(Control("marginals ~k^-(alpha + 0.25) (a wrong exponent)",
                            lambda q: _check_gd_regimes(q, shift=0.25), "data"),)),
    Claim("KB25.sd-sqrt", "KB25",
          "sign descent with a constant step tuned to the horizon (mean of the last two "
          "iterates) needs T_eps ~ sqrt(d) steps for alpha > 1/2; a halving schedule needs at "
          "most ceil(log2(d/(eps L0))/2)",
          "exact sign-descent reduction on c_k = k^-alpha, alpha = 0.75, 1, 1.5, eps = 0.01, "
          "d = 1e6..1e7 (quick too: the grouped sums cost the same at any d); step tuned "
          "per horizon on a 96-point log grid refined "
          "by golden section; T_eps by bisection",
          _check_sd_sqrt, "proofs.kb25:kb25_sd_sqrt", "kb25_scaling",
          prediction_source="THEORY.md, KB25 (KB25.sd-sqrt): exponent 1/2. The constant: "
                            "proofs/kb25.py derives the floor d eta^2/4 for the mean of the last "
                            "two iterates, so T_eps ~ sqrt(d (1 - eps L0)/(4 eps L0)); THEORY's "
                            "sqrt(d (1 - eps L0)/(2 eps L0)) is the floor d eta^2/2 of the mean "
                            "of the last two losses (measured T/THEORY ~ 0.70, T/derived ~ 0.99)",
          tolerance_reason="finite-d error of the slope (sd_slope_tolerance): the tail below "
                           "the step sits at (eta/2 - c)^2, not (eta/2)^2, the mid-range "
                           "coordinates at most (eta/2)^2, and L0_d varies with d",
          controls=(Control("even iterates only (raw, no averaging)",
                            lambda q: _check_sd_sqrt(q, output="even"), "simulation"),
                    Control("the halving schedule in place of the constant step",
                            lambda q: _check_sd_sqrt(q, rule="halving"), "simulation"),
                    )),
    Claim("KB25.crossover", "KB25",
          "at large d sign descent beats GD for alpha in (1/2, 1] and GD beats sign descent "
          "for alpha > 1",
          "exact reductions, eps = 0.01: alpha = 0.75, 1 at d = 1e7 (quick 1e5); alpha = 1.5, "
          "2 at ten times the crossover size d* predicted by T_inf = sqrt(d* (1 - eps L0)/"
          "(4 eps L0)) (d = 1e11 and 1e6; GD past 2^20 terms by a binomial series of power "
          "sums); GD at eta = 1/pi_1, sign descent at a constant step tuned to the horizon "
          "(mean of the last two iterates)",
          _check_crossover, None, "kb25_scaling",
          prediction_source="THEORY.md, KB25 (KB25.crossover): the signs of log(T_SD/T_GD)",
          tolerance_reason="the times are exact integers of the reductions; a tuned step found "
                           "on a grid can only overestimate T_SD, by far less than the margins "
                           "(a factor > 2 at every alpha), so the sign needs no slack: 0",
          controls=(Control("sign descent read at even iterates only (its d-free time)",
                            lambda q: _check_crossover(q, output="even"), "simulation"),)),
]
