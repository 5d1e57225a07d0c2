"""KB25: times to a relative error eps of GD and sign descent on the linear bigram model.

THEORY.md, "KB25". The measured times come from the exact reductions of
:mod:`linsim.problems.bigram` (checked against the full ``d x d`` model: KB25.reduce); the
predicted ones from THEORY.md's formulas and the derivations of ``proofs/kb25.py``.

Step rules (say which one each number uses):

- GD: the constant step ``eta = 1/pi_1`` (one over the largest curvature). ``T_eps`` is found
  as the real root ``t*`` of ``r(t) = eps`` (``r`` is a finite sum of ``(1 - x_k)^(2t)``,
  decreasing in ``t``) by Brent's method; the integer count is ``ceil(t*)``.
- Sign descent ``"tuned"``: a constant step tuned to the horizon ``T``: for each ``T`` the
  step minimizing ``r(T, eta)`` over a log grid of 96 steps refined by golden section;
  ``T_eps`` is the smallest ``T`` whose tuned error is ``<= eps`` (bisection: the tuned error
  does not increase with ``T``). ``output``: ``"average"`` (the mean of the last two
  iterates), ``"even"`` (the raw iterate, even horizons only: the negative control of
  KB25.sd-sqrt).
- Sign descent ``"halving"``: ``eta_t = c_max 2^-(t+1)``, the smallest ``T`` with
  ``r <= eps``.

A run of ``python -m linsim.kb25`` is a :class:`KB25Config` (its options, checked here), run by
:func:`simulate` and turned into ``summary.json`` by :func:`summarize`; one cell of
``python -m linsim.sweep --problem bigram`` is a :class:`BigramCell`, checked with the same
ranges.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from scipy import integrate, optimize, special

from .. import io
from ..config import Config, Option, UsageError, names, number
from ..problems import bigram

#: Points of the log grid of steps tried for each horizon (then refined by golden section).
ETA_GRID = 96
#: Golden-section steps after the grid.
GOLDEN_STEPS = 30


# ------------------------------------------------------------------------------------- GD


@lru_cache(maxsize=4)
def _curve(alpha: float, d: int) -> bigram.gd_curve:
    return bigram.gd_curve.power(alpha, d)


def gd_time(curve: bigram.gd_curve, d: int, eps: float, guess: float | None = None) -> float:
    """The real root ``t*`` of ``r_d(t) = eps`` for GD with ``eta = 1/pi_1`` (``inf`` if
    ``r`` never reaches ``eps``). ``guess`` only seeds the bracket search."""
    f = lambda t: math.log(curve(t, d)) - math.log(eps)  # noqa: E731
    if guess is not None and guess > 0 and f(guess) > 0:
        lo, hi = guess, 1.5 * guess
    elif guess is not None and guess > 0:
        lo, hi = 0.0, guess
        if f(0.7 * guess) > 0:
            lo = 0.7 * guess
    else:
        lo, hi = 0.0, 1.0
    while f(hi) > 0:
        lo, hi = hi, 2.0 * hi
        if hi > 1e15:
            return math.inf
    return optimize.brentq(f, lo, hi, xtol=1e-12, rtol=1e-13)


def gd_times(alpha: float, ds, eps: float, x=None) -> np.ndarray:
    """GD's ``t*`` for every ``d`` in ``ds``: Zipf marginals ``k^-alpha``, or the given
    non-increasing marginals ``x`` (any scale; prefixes of ``x`` are the vocabularies)."""
    ds = [int(d) for d in ds]
    curve = _curve(float(alpha), max(ds)) if x is None else bigram.gd_curve(
        np.asarray(x, float) / float(np.max(x)))
    out, prev = [], None
    for d in ds:  # each root seeds the next bracket (T grows at most linearly in d)
        g = None if prev is None else prev[1] * d / prev[0]
        t = gd_time(curve, d, eps, g if g is not None and math.isfinite(g) else None)
        out.append(t)
        prev = (d, t)
    return np.array(out)


def zipf1_time(d: int, eps: float) -> float:
    """KB25.gd-zipf's finite-d form: the root of ``[E1(2t/d) - E1(2t)]/H_d = eps``."""
    H = bigram.power_sum(1.0, 1, d)
    f = lambda t: (special.exp1(2 * t / d) - special.exp1(2 * t)) / H - eps  # noqa: E731
    hi = float(d)
    while f(hi) > 0:
        hi *= 2
    return optimize.brentq(f, 1e-12, hi, xtol=1e-12, rtol=1e-14)


def tau_eps(alpha: float, eps: float) -> float:
    """KB25.gd-regimes (alpha < 1): the root of ``(1 - alpha) int_0^1 z^-a e^(-2 tau z^-a) dz
    = eps``; then ``T_eps ~ tau_eps d^alpha``."""
    def r(tau):
        val, _ = integrate.quad(lambda z: z ** -alpha * math.exp(-2 * tau * z ** -alpha),
                                0.0, 1.0, epsabs=0, epsrel=1e-13, limit=200)
        return (1 - alpha) * val - eps

    hi = 1.0
    while r(hi) > 0:
        hi *= 2
    return optimize.brentq(r, 0.0, hi, xtol=1e-14, rtol=1e-13)


def r_infinite(alpha: float, t: float, head: int = 1 << 20) -> float:
    """``r_inf(t) = sum_(k>=1) k^-a (1 - k^-a)^(2t) / zeta(a)`` for ``alpha > 1``: the first
    ``head`` terms summed, the rest by ``(1-x)^(2t) = 1 - 2tx + O(t^2 x^2)`` (Hurwitz zeta)."""
    x = np.arange(1, head + 1, dtype=np.float64) ** -alpha
    with np.errstate(divide="ignore"):
        s = float(np.sum(x * np.exp(2 * t * np.log1p(-x))))
    s += float(special.zeta(alpha, head + 1) - 2 * t * special.zeta(2 * alpha, head + 1))
    return s / float(special.zeta(alpha))


def t_infinite(alpha: float, eps: float) -> float:
    """KB25.gd-regimes (alpha > 1): the d-free limit ``T_inf``, root of ``r_inf(t) = eps``."""
    f = lambda t: math.log(r_infinite(alpha, t)) - math.log(eps)  # noqa: E731
    hi = 1.0
    while f(hi) > 0:
        hi *= 2
    return optimize.brentq(f, hi / 2 if hi > 1 else 0.0, hi, xtol=1e-10, rtol=1e-12)


def gd_predicted(alpha: float, d: int, eps: float) -> float:
    """THEORY.md's GD prediction at ``d``: the finite-d E1 form (alpha = 1), ``tau d^alpha``
    (alpha < 1) or ``T_inf`` (alpha > 1)."""
    if alpha == 1.0:
        return zipf1_time(d, eps)
    if alpha < 1.0:
        return tau_eps(alpha, eps) * d ** alpha
    return t_infinite(alpha, eps)


def gd_predicted_slope(alpha: float, d: int, eps: float) -> float:
    """The local log-log slope of the prediction: ``1 - eps e^(2T/d)`` (alpha = 1, THEORY's
    finite-d slope), ``alpha`` (alpha < 1), 0 (alpha > 1)."""
    if alpha == 1.0:
        T = zipf1_time(d, eps)
        return (math.exp(-2 * T / d) - eps) / (math.exp(-2 * T / d) - math.exp(-2 * T))
    return alpha if alpha < 1.0 else 0.0


# ---------------------------------------------------------------------------- sign descent


def sd_tuned_error(alpha: float, d: int, T: int, output: str = "average",
                   grid: int = ETA_GRID) -> tuple[float, float]:
    """``min_eta r(T, eta)`` for a constant step tuned to the horizon ``T``, and the step.

    The steps tried: a log grid over ``[min(1/(16T), T/(16d)), 2/T]`` (in units of the
    largest target ``c_1 = 1``: beyond ``2/T`` every coordinate oscillates with a larger
    amplitude; below, nothing moves), then golden section between the grid neighbours of the
    best one.
    """
    code = "last" if output == "even" else output
    lo = min(1.0 / (16 * T), T / (16.0 * d))
    etas = np.geomspace(lo, 2.0 / T, grid)
    vals = bigram.sd_power_errors(alpha, d, T, etas, code)
    j = int(np.argmin(vals))
    a, b = math.log(etas[max(j - 1, 0)]), math.log(etas[min(j + 1, grid - 1)])
    best, best_eta = float(vals[j]), float(etas[j])
    g = (math.sqrt(5) - 1) / 2
    x1, x2 = b - g * (b - a), a + g * (b - a)
    f1 = bigram.sd_power_error(alpha, d, T, math.exp(x1), code)
    f2 = bigram.sd_power_error(alpha, d, T, math.exp(x2), code)
    for _ in range(GOLDEN_STEPS):
        if f1 < f2:
            b, x2, f2 = x2, x1, f1
            x1 = b - g * (b - a)
            f1 = bigram.sd_power_error(alpha, d, T, math.exp(x1), code)
        else:
            a, x1, f1 = x1, x2, f2
            x2 = a + g * (b - a)
            f2 = bigram.sd_power_error(alpha, d, T, math.exp(x2), code)
    for f, x in ((f1, x1), (f2, x2)):
        if f < best:
            best, best_eta = f, math.exp(x)
    return best, best_eta


def sd_time(alpha: float, d: int, eps: float, rule: str = "tuned",
            output: str = "average") -> dict:
    """Sign descent's ``T_eps`` on conditionals ``~ k^-alpha`` (KB25.sd-sqrt).

    ``rule``: ``"tuned"`` (a constant step tuned to the horizon; ``output`` ``"average"`` or
    ``"even"``) or ``"halving"``. Returns ``{"T", "eta", "r"}`` (``eta`` in units of the
    largest conditional; None for halving).
    """
    d = int(d)
    if rule == "halving":
        T = 1
        while bigram.sd_halving_error(alpha, d, T) > eps:
            T += 1
            if T > 200:
                return {"T": math.inf, "eta": None, "r": None}
        return {"T": T, "eta": None, "r": bigram.sd_halving_error(alpha, d, T)}
    if rule != "tuned":
        raise ValueError(f"rule must be 'tuned' or 'halving', got {rule!r}")
    step = 2 if output == "even" else 1
    cache: dict[int, tuple[float, float]] = {}

    def err(T):
        if T not in cache:
            cache[T] = sd_tuned_error(alpha, d, T, output)
        return cache[T][0]

    # seed: the predicted time (only where the bracket search starts)
    guess = sd_predicted(alpha, d, eps, 0.25) if alpha > 0.5 else math.nan
    hi = max(step, int(guess) - int(guess) % step) if math.isfinite(guess) else step
    lo = 0
    while err(hi) > eps:
        lo, hi = hi, 2 * hi
        if hi > 1 << 40:
            return {"T": math.inf, "eta": None, "r": None}
    while lo == 0 and hi > step:  # err(hi) <= eps: find lo below with err(lo) > eps
        cand = max(step, (hi // 2) - (hi // 2) % step)
        if err(cand) > eps:
            lo = cand
        elif cand == step:
            hi = step
        else:
            hi = cand
    while hi - lo > step:
        mid = (lo + hi) // 2
        mid -= mid % step
        if mid <= lo:
            break
        if err(mid) <= eps:
            hi = mid
        else:
            lo = mid
    r, eta = cache[hi]
    return {"T": hi, "eta": eta, "r": r}


def sd_floor_constant(output: str = "average") -> float:
    """The oscillation floor per coordinate far below the step, in units of ``eta^2``:
    ``(eta/2)^2`` for the mean of the last two iterates (proofs/kb25.py); THEORY.md's
    ``d eta^2 / 2`` is ``1/2`` (the mean of the last two losses)."""
    return 0.25 if output == "average" else 0.5


def sd_predicted(alpha: float, d: int, eps: float, floor: float = 0.25) -> float:
    """``T_eps ~ sqrt(d (1 - eps L0) / (eps L0) / (1/floor))`` with ``L0 = sum_(k<=d) k^-2a``:
    ``floor = 1/4`` (derived, mean of the last two iterates) or ``1/2`` (THEORY.md's form,
    ``sqrt(d (1 - eps L0)/(2 eps L0))``). NaN where ``eps L0 >= 1``."""
    L0 = bigram.power_sum(2 * alpha, 1, d)
    if eps * L0 >= 1:
        return math.nan
    return math.sqrt(floor * d * (1 - eps * L0) / (eps * L0))


def halving_bound(alpha: float, d: int, eps: float) -> int:
    """``ceil(log2(d/(eps L0))/2)``: the halving schedule reaches eps by then (proofs/kb25)."""
    L0 = bigram.power_sum(2 * alpha, 1, d)
    return max(0, math.ceil(math.log2(d / (eps * L0)) / 2))


# ------------------------------------------------------------------------------- the scan


def d_grid(lo: float, hi: float, per_decade: int = 2) -> list[int]:
    """Log-spaced vocabulary sizes from ``lo`` to ``hi`` (integers, distinct)."""
    n = max(2, int(round(math.log10(hi / lo) * per_decade)) + 1)
    return sorted({int(round(v)) for v in np.geomspace(lo, hi, n)})


def loglog_slope(ds, Ts, top: int = 3) -> float:
    """Least-squares slope of ``log T`` against ``log d`` over the ``top`` largest ``d``."""
    ds, Ts = np.asarray(ds, float)[-top:], np.asarray(Ts, float)[-top:]
    ok = np.isfinite(Ts) & (Ts > 0)
    if ok.sum() < 2:
        return math.nan
    return float(np.polyfit(np.log(ds[ok]), np.log(Ts[ok]), 1)[0])


def scan(alphas, ds, eps_list, methods=("gd", "sign"), frequencies=None) -> list[dict]:
    """T_eps over the grid; one row per (alpha, eps, method) with the times per d, the
    predictions and the fitted and predicted slopes over the top decade.

    ``frequencies``: a :class:`linsim.problems.frequencies.Frequencies` instead of Zipf
    ``alphas``: GD on its marginals; sign descent assumes every row of conditionals is a
    permutation of the same profile (not implemented for sign descent beyond Zipf: skipped).
    """
    rows = []
    ds = [int(d) for d in ds]
    for alpha in alphas:
        for eps in eps_list:
            for method in methods:
                row = {"alpha": alpha, "eps": eps, "method": method, "d": ds}
                if method == "gd":
                    t = gd_times(alpha, ds, eps)
                    row["t_star"] = t.tolist()
                    row["T"] = [math.ceil(v) if math.isfinite(v) else None for v in t]
                    row["predicted"] = [gd_predicted(alpha, d, eps) for d in ds]
                    row["rule"] = "constant step 1/pi_1"
                    row["slope"] = loglog_slope(ds, t)
                    row["slope_predicted"] = gd_predicted_slope(alpha, ds[-1], eps)
                    row["prediction"] = ("THEORY: E1 finite-d form" if alpha == 1 else
                                         "THEORY: tau_eps d^alpha" if alpha < 1 else
                                         "THEORY: T_inf")
                elif method == "sign":
                    res = [sd_time(alpha, d, eps) for d in ds]
                    row["T"] = [r["T"] for r in res]
                    row["eta"] = [r["eta"] for r in res]
                    row["predicted"] = [sd_predicted(alpha, d, eps, 0.25) for d in ds]
                    row["predicted_theory"] = [sd_predicted(alpha, d, eps, 0.5) for d in ds]
                    row["rule"] = "constant step tuned to T, mean of the last two iterates"
                    row["slope"] = loglog_slope(ds, row["T"])
                    row["slope_predicted"] = 0.5 if alpha > 0.5 else math.nan
                    row["prediction"] = "derived: sqrt(d (1 - eps L0)/(4 eps L0))"
                elif method == "halving":
                    row["T"] = [sd_time(alpha, d, eps, "halving")["T"] for d in ds]
                    row["predicted"] = [halving_bound(alpha, d, eps) for d in ds]
                    row["rule"] = "halving schedule c_max 2^-(t+1)"
                    row["slope"] = loglog_slope(ds, row["T"])
                    row["slope_predicted"] = 0.0
                    row["prediction"] = "bound: ceil(log2(d/(eps L0))/2)"
                rows.append(row)
    return rows


# ------------------------------------------------------------- rigorous finite-d brackets (GD)


def _tail_integral(alpha: float, t: float, d: int, lower: bool) -> float:
    """``int_2^d x^-a e^(-2 t phi(x^-a)) dx`` with ``phi(y) = y`` (upper bound of the sum) or
    ``y/(1-y)`` (lower bound), in the variable ``u = log x``."""
    def f(u):
        y = math.exp(-alpha * u)
        e = y / (1.0 - y) if lower else y
        return y * math.exp(u - 2.0 * t * e)

    a, b = math.log(2.0), math.log(float(d))
    if b <= a:
        return 0.0
    # the integrand peaks where y ~ 1/(2t): split there for quad
    peak = min(max(math.log(max(2.0 * t, 1.0)) / alpha, a), b)
    pts = sorted({a, peak, b})
    return sum(integrate.quad(f, lo, hi, epsabs=0, epsrel=1e-12, limit=400)[0]
               for lo, hi in zip(pts[:-1], pts[1:], strict=True) if hi > lo)


def _max_term(alpha: float, t: float, d: int) -> float:
    """``max over x in [2, d] of y e^(-2ty)``, ``y = x^-a``: bounds both integrands."""
    y_lo, y_hi = float(d) ** -alpha, 2.0 ** -alpha
    y = min(max(1.0 / (2.0 * t), y_lo), y_hi)
    return y * math.exp(-2.0 * t * y)


def gd_bracket(alpha: float, d: int, eps: float) -> tuple[float, float]:
    """A rigorous bracket ``[t_lo, t_hi]`` of GD's exact ``t*`` (proofs/kb25.py).

    With ``y_i = i^-a``, ``e^(-2t y/(1-y)) <= (1 - y)^(2t) <= e^(-2ty)`` (from
    ``-y/(1-y) <= log(1-y) <= -y``), and for a unimodal ``f`` on ``[2, d]``,
    ``|sum_(i=2)^d f(i) - int_2^d f| <= max f``. So ``r_lo(t) <= r(t) <= r_hi(t)`` with
    ``r_hi = (int f + M)/H``, ``r_lo = (int g - M)/H``; ``t_hi`` solves ``r_hi = eps`` and
    ``t_lo`` ``r_lo = eps``. These are the sum-versus-integral and ``(1-x)^(2t)`` versus
    ``e^(-2tx)`` errors of THEORY's integral forms.
    """
    H = bigram.power_sum(alpha, 1, d)

    def r(t, lower):
        M = _max_term(alpha, t, d)
        return (_tail_integral(alpha, t, d, lower) + (-M if lower else M)) / H

    guess = gd_times(alpha, [d], eps)[0] if d <= 10**5 else None
    out = []
    for lower in (True, False):
        f = lambda t, lower=lower: r(t, lower) - eps  # noqa: E731
        lo, hi = (0.5 * guess, 2.0 * guess) if guess else (1.0, 2.0)
        while f(lo) < 0 and lo > 1e-9:
            lo *= 0.5
        if f(lo) < 0:  # the lower bound is below eps from the start: t* >= 0 is all it says
            out.append(0.0)
            continue
        while f(hi) > 0:
            hi *= 2.0
        out.append(optimize.brentq(f, lo, hi, xtol=1e-10, rtol=1e-12))
    return out[0], out[1]


# --------------------------------------------------------------- finite-d error models (SD, GD)


def sd_slope_tolerance(alpha: float, d1: int, d2: int, eps: float) -> dict:
    """The finite-d error of the log-log slope of sign descent's ``T_eps`` between ``d1`` and
    ``d2`` (proofs/kb25.py, ``kb25_sd_sqrt``).

    The floor ``d eta^2/4`` counts every coordinate at ``(eta/2)^2``; exactly, a coordinate
    below the step (``c_k < eta``, ``k > K = eta^(-1/a)``) sits at ``(eta/2 - c_k)^2``, lower by
    ``eta c_k - c_k^2``, and one between ``eta`` and the unreached head at most ``(eta/2)^2``
    (between 0 and ``(eta/2)^2``). Relative to the floor: ``tau = (eta sum c - sum c^2)/(d
    eta^2/4)`` over the tail and ``mu <= K/d``. ``T_eps`` scales like the square root of the
    floor, so the slope moves by at most ``(|Delta log(1 - tau)| + mu_1 + mu_2
    + |Delta log((1 - eps L0)/L0)|)/(2 log(d2/d1))``, evaluated at the predicted step.
    """
    parts = {}
    for d in (d1, d2):
        T = sd_predicted(alpha, d, eps, 0.25)
        L0 = bigram.power_sum(2 * alpha, 1, d)
        eta = (1 - eps * L0) / T
        K = min(d, int(eta ** (-1.0 / alpha)))
        s1 = bigram.power_sum(alpha, K + 1, d)
        s2 = bigram.power_sum(2 * alpha, K + 1, d)
        tau = (eta * s1 - s2) / (d * eta * eta / 4)
        parts[d] = {"T": T, "eta": eta, "K": K, "tau": tau, "mu": K / d,
                    "head": math.log((1 - eps * L0) / L0)}
    a, b = parts[d1], parts[d2]
    tol = (abs(math.log(1 - b["tau"]) - math.log(1 - a["tau"])) + a["mu"] + b["mu"]
           + abs(b["head"] - a["head"])) / (2 * math.log(d2 / d1))
    return {"tolerance": tol, "terms": parts}


def local_power(alpha: float, eps: float) -> tuple[float, float]:
    """``T_inf`` and the local exponent ``p = -d log r_inf / d log t`` there (alpha > 1)."""
    T = t_infinite(alpha, eps)
    h = 1e-3
    p = -(math.log(r_infinite(alpha, T * (1 + h))) - math.log(r_infinite(alpha, T * (1 - h)))) / (
        math.log1p(h) - math.log1p(-h))
    return T, p


def approach_tolerance(alpha: float, d1: int, eps: float) -> dict:
    """The finite-d error of the slope of ``log(1 - T_d/T_inf)`` against ``log d`` (alpha > 1),
    predicted ``1 - alpha`` (proofs/kb25.py, ``kb25_gd_regimes``).

    Past ``d`` the coordinates are untouched while ``2 T d^-a << 1``, so ``r_inf(T_d) = eps +
    x`` with ``x = (1 - eps) R_d / (zeta(a) eps)``, ``R_d = sum_(k>d) k^-a ~ d^(1-a)``. With
    ``r_inf ~ t^-p`` near ``T_inf``: ``1 - T_d/T_inf = 1 - (1 + x)^(-1/p)``, whose slope in
    ``log x`` is ``1 - (1 + 1/p) x/2 + O(x^2)``. Tolerance: ``|1 - a| (1 + 1/p) x(d1)/2 + 2
    T_inf d1^-a`` (the untouched-tail error), at the smallest ``d`` of the fit.
    """
    T, p = local_power(alpha, eps)
    R = float(special.zeta(alpha, d1 + 1))
    x = (1 - eps) * R / (float(special.zeta(alpha)) * eps)
    tol = abs(1 - alpha) * (1 + 1 / p) * x / 2 + 2 * T * d1 ** -alpha
    return {"tolerance": tol, "T_inf": T, "p": p, "x": x}


# ------------------------------------------------------------------------ real frequencies


def real_curve(source, d_max: float, eps_list, fit_ranks: tuple[int, int] | None = None,
               per_decade: int = 2) -> dict:
    """GD's ``t*`` against the vocabulary size on real frequencies, beside their Zipf fit.

    ``source``: a ``--frequencies`` spec or a :class:`~linsim.problems.frequencies.Frequencies`.
    The vocabulary of size ``d`` is the ``d`` most frequent classes (renormalized; GD's step
    ``1/pi_1`` and its ``r`` do not depend on the normalization). Under the KB25 assumption GD
    needs only these marginals (KB25.reduce). The Zipf exponent is fitted by maximum
    likelihood over ``fit_ranks`` (default: ranks 1 to the largest ``d``).
    """
    from ..problems.frequencies import load_frequencies, zipf_mle

    freq = load_frequencies(source) if isinstance(source, str) else source
    top = int(min(d_max, freq.size))
    ds = d_grid(min(100, top // 2), top, per_decade)
    fit = zipf_mle(freq, fit_ranks or (1, top))
    x = freq.counts[:top] / freq.counts[0]
    out = {"source": freq.source, "classes_available": freq.size, "d": ds, "fit": fit,
           "frequencies": x.tolist() if top <= 2000 else None, "eps": list(eps_list),
           "real": {}, "zipf_fit": {}}
    pick = np.unique(np.geomspace(1, top, 400).astype(int)) - 1
    out["rank_sample"] = (pick + 1).tolist()
    out["freq_sample"] = (freq.counts[pick] / np.sum(freq.counts[:top])).tolist()
    a = fit["alpha"]
    zx = np.arange(1, top + 1, dtype=np.float64) ** -a
    out["zipf_sample"] = (zx[pick] / np.sum(zx)).tolist()
    for eps in eps_list:
        out["real"][eps] = gd_times(0.0, ds, eps, x=x).tolist()
        out["zipf_fit"][eps] = gd_times(a, ds, eps).tolist()
    return out


# ---------------------------------------------------- GD beyond 10^7 (alpha > 1, any d)

_HEAD = 1 << 20


def gd_r_large(alpha: float, d: int, t: float) -> float:
    """GD's exact ``r_d(t)`` for ``alpha > 1`` at any ``d``: the first ``2^20`` terms summed,
    the rest by the binomial series ``(1 - y)^(2t) = sum_j C(2t, j) (-y)^j`` of power sums
    (:func:`linsim.problems.bigram.power_sum`), which converges geometrically with ratio
    ``2t N^-alpha`` (required ``< 0.5``)."""
    N = min(_HEAD, int(d))
    head = _curve(float(alpha), _HEAD)
    s = head(t, N) * float(head.cum[N - 1])
    if d > N:
        ratio = 2 * t * N ** -alpha
        if ratio >= 0.5:
            raise ValueError(f"2t N^-alpha = {ratio:.3g} >= 0.5: the tail series would not "
                             f"converge fast")
        coef, j, tail = 1.0, 0, 0.0
        while True:
            term = coef * (-1) ** j * bigram.power_sum(alpha * (j + 1), N + 1, d)
            tail += term
            if abs(term) <= 1e-17 * abs(tail) or j > 60:
                break
            coef *= (2 * t - j) / (j + 1)
            j += 1
        s += tail
    return s / bigram.power_sum(alpha, 1, d)


def gd_time_large(alpha: float, d: int, eps: float) -> float:
    """GD's ``t*`` at any ``d`` for ``alpha > 1`` (:func:`gd_r_large`)."""
    if d <= _HEAD:
        return gd_times(alpha, [d], eps)[0]
    f = lambda t: math.log(gd_r_large(alpha, d, t)) - math.log(eps)  # noqa: E731
    lo, hi = 0.0, 1.0
    while f(hi) > 0:
        lo, hi = hi, 2.0 * hi
    return optimize.brentq(f, lo, hi, xtol=1e-10, rtol=1e-13)


def crossover_size(alpha: float, eps: float) -> int:
    """For alpha > 1, ten times the predicted crossover size ``d*`` (where GD's ``T_inf``
    equals sign descent's ``sqrt(d (1 - eps L0)/(4 eps L0))``, ``L0 = zeta(2 alpha)``), as a
    power of ten: where "large d" starts by the predictions."""
    L0 = float(special.zeta(2 * alpha))
    dstar = t_infinite(alpha, eps) ** 2 * 4 * eps * L0 / (1 - eps * L0)
    return int(10 ** math.ceil(math.log10(10 * dstar)))


# ------------------------------------------------- python -m linsim.kb25: configuration, summary

#: The command line's name, recorded in ``summary.json``'s ``command``.
PROG = "python -m linsim.kb25"
#: The methods: GD at step ``1/pi_1``, sign descent tuned to the horizon, halving schedule.
METHODS = ("gd", "sign", "halving")
#: Largest vocabulary size.
D_MAX = 10**9
#: Largest ``d`` of GD at ``alpha <= 1`` in one sweep cell: its sum has ``d`` terms (above
#: ``alpha = 1`` :func:`gd_time_large` sums a fixed head).
GD_SUM_D_MAX = 10**8
#: Zipf exponents ``alpha`` in ``(lo, hi]``; target relative errors ``eps`` in ``(lo, hi)``.
ALPHA_RANGE = (0.0, 10.0)
EPS_RANGE = (0.0, 1.0)


def _floats(option: str, lo: float, hi: float, lo_open: bool = True):
    """A parser of a comma list of distinct finite numbers in ``(lo, hi]`` (``[lo, hi]``),
    naming ``option`` in its error."""

    def parse(text: str) -> tuple[float, ...]:
        try:
            vals = tuple(float(s) for s in text.split(","))
        except ValueError:
            vals = ()
        ok = vals and all(math.isfinite(v) and (v > lo if lo_open else v >= lo) and v <= hi
                          for v in vals)
        if not ok:
            br = "(" if lo_open else "["
            raise argparse.ArgumentTypeError(f"{option} must be a comma list of numbers in "
                                             f"{br}{lo:g}, {hi:g}], got {text!r}")
        return tuple(dict.fromkeys(vals))

    return parse


def _drange(text: str) -> tuple[int, int]:
    """``--d LO:HI``: integers ``2 <= LO < HI <= D_MAX``."""
    msg = f"--d must be LO:HI with integers 2 <= LO < HI <= {D_MAX:.0e}, got {text!r}"
    try:
        lo, hi = (float(s) for s in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(msg) from None
    if not (math.isfinite(lo) and math.isfinite(hi) and 2 <= lo < hi <= D_MAX):
        raise argparse.ArgumentTypeError(msg)
    return int(lo), int(hi)


def _per_decade(text: str) -> int:
    """``--per-decade``: an integer in [1, 20]."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--per-decade must be an integer in [1, 20], got "
                                         f"{text!r}") from None
    if not 1 <= v <= 20:
        raise argparse.ArgumentTypeError(f"--per-decade must be an integer in [1, 20], got {v}")
    return v


def _fit_ranks(text: str) -> str:
    """``--fit-ranks A:B``, checked (:func:`linsim.problems.frequencies.parse_ranks`) and kept
    as text; :meth:`KB25Config.check` reads it into ``fit``."""
    from ..problems.frequencies import parse_ranks

    try:
        parse_ranks(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


#: Every option of ``python -m linsim.kb25``, by :class:`KB25Config` field, in ``--help`` order.
KB25_OPTIONS: dict[str, Option] = {
    "alpha": Option(_floats("--alpha", *ALPHA_RANGE), (0.5, 1.0, 1.5),
                    "comma list of Zipf exponents in (0, 10] (default 0.5,1,1.5)"),
    "d": Option(_drange, (100, 10**7), "vocabulary sizes, log-spaced from LO to HI, "
                "2 <= LO < HI <= 1e9 (1e8 with --methods gd) (default 1e2:1e7)", "LO:HI",
                text=lambda v: f"{v[0]}:{v[1]}"),
    "per_decade": Option(_per_decade, 2, "sizes per decade of d, 1..20 (default 2)", "N"),
    "eps": Option(_floats("--eps", *EPS_RANGE), (0.1, 0.01),
                  "comma list of target relative errors in (0, 1) (default 0.1,0.01)"),
    "methods": Option(names("--methods", METHODS), ("gd", "sign"),
                      "comma list of gd, sign (constant step tuned to the horizon, mean of "
                      "the last two iterates), halving (default gd,sign)"),
    "frequencies": Option(None, None,
                          "real class frequencies (a .csv/.tsv with a count column, a .npy of "
                          "counts, or wordfreq:LANG): GD on the top-d marginals beside their "
                          "Zipf fit; --alpha is then ignored", "PATH|wordfreq:LANG"),
    "fit_ranks": Option(_fit_ranks, None,
                        "ranks of the maximum-likelihood Zipf fit (default 1:HI)", "A:B"),
}


@dataclass
class KB25Config(Config):
    """One run of ``python -m linsim.kb25``: every option of :data:`KB25_OPTIONS` as a field.

    Construct it with values (each is checked as its option is) or from text with
    :meth:`~linsim.config.Config.from_text`; :meth:`check` makes the cross-option checks,
    loads ``frequencies`` and fills in ``fit``, ``freq`` and ``out``. Every error is a
    :class:`linsim.config.UsageError` of one line naming the option.

    Attributes
    ----------
    d : tuple of int
        ``(LO, HI)``: the vocabulary sizes, log-spaced, ``per_decade`` per decade.
    fit_ranks : str or None
        ``"A:B"``, the ranks of the Zipf fit, as given; :meth:`check` sets ``fit = (A, B)``.
    freq : Frequencies or None
        The loaded ``frequencies`` (:meth:`check`).
    out : Path or None
        The output folder (not an option here; None: ``linsim-out/kb25`` after :meth:`check`).
    argv : list of str or None
        The arguments that ``summary.json``'s ``command`` records (None: ``sys.argv[1:]``).
    """

    alpha: tuple[float, ...] = (0.5, 1.0, 1.5)
    d: tuple[int, int] = (100, 10**7)
    per_decade: int = 2
    eps: tuple[float, ...] = (0.1, 0.01)
    methods: tuple[str, ...] = ("gd", "sign")
    frequencies: str | None = None
    fit_ranks: str | None = None
    out: Path | None = None
    argv: list[str] | None = None
    fit: tuple[int, int] | None = field(default=None, init=False)
    freq: Any = field(default=None, init=False, repr=False)

    OPTIONS: ClassVar[dict[str, Option]] = KB25_OPTIONS

    def check(self) -> KB25Config:
        """The cross-option checks; load ``frequencies``; returns the configuration."""
        from ..problems.frequencies import FrequencyError, load_frequencies, parse_ranks

        if any(e >= EPS_RANGE[1] for e in self.eps):
            raise UsageError(f"--eps must be in (0, 1), got {max(self.eps):g}")
        if "gd" in self.methods and self.frequencies is None and self.d[1] > GD_SUM_D_MAX:
            # gd_times holds all d marginals (and temporaries of that size): 1e9 is 24 GB
            raise UsageError(f"--d must end at most at {GD_SUM_D_MAX:.0e} with --methods gd "
                             f"(GD's loss sums all d terms), got {self.d[1]}")
        self.fit = None if self.fit_ranks is None else parse_ranks(self.fit_ranks)
        self.freq = None
        if self.frequencies is not None:
            try:
                self.freq = load_frequencies(self.frequencies)
            except FrequencyError as e:
                raise UsageError(str(e)) from None
            if self.fit is not None and self.fit[1] > self.freq.size:
                raise UsageError(f"--fit-ranks must end at most at {self.freq.size} (the "
                                 f"classes of --frequencies), got {self.fit_ranks!r}")
        if self.out is None:
            self.out = Path("linsim-out/kb25")
        return self


def simulate(cfg: KB25Config) -> list[dict] | dict:
    """The run of a checked :class:`KB25Config`: the rows of :func:`scan` over the Zipf
    exponents, or with ``frequencies`` the :func:`real_curve` of the real frequencies."""
    lo, hi = cfg.d
    if cfg.freq is not None:
        return real_curve(cfg.freq, hi, cfg.eps, cfg.fit, cfg.per_decade)
    return scan(cfg.alpha, d_grid(lo, hi, cfg.per_decade), cfg.eps, methods=cfg.methods)


def summarize(cfg: KB25Config, result: list[dict] | dict, seconds: float) -> dict[str, Any]:
    """The ``summary.json`` document of a run (``result``: :func:`simulate`'s)."""
    argv = sys.argv[1:] if cfg.argv is None else cfg.argv
    summary: dict[str, Any] = {"command": " ".join([PROG, *argv]), "versions": io.versions(),
                               "eps": list(cfg.eps)}
    if cfg.freq is not None:
        summary["real"] = {k: v for k, v in result.items() if k != "frequencies"}
    else:
        summary["rows"] = result
    summary["seconds"] = seconds
    return summary


#: The parameters of one sweep cell, by :class:`BigramCell` field (the help of
#: ``python -m linsim.sweep --alpha`` and the others).
CELL_OPTIONS: dict[str, Option] = {
    "alpha": Option(number("--alpha", float, *ALPHA_RANGE, lo_open=True), 1.0,
                    "Zipf exponent in (0, 10]"),
    "d": Option(number("--d", int, 2, D_MAX), 10**4, "vocabulary size, 2..1e9"),
    "eps": Option(number("--eps", float, *EPS_RANGE, lo_open=True), 0.01,
                  "target relative error in (0, 1)"),
}


@dataclass
class BigramCell(Config):
    """One configuration of ``python -m linsim.sweep --problem bigram``: a Zipf exponent, a
    vocabulary size, a target relative error and the methods (the sweep's flows), checked
    with the ranges of :class:`KB25Config`.

    Attributes
    ----------
    methods : tuple of str
        Names from :data:`METHODS` (not an option: the sweep's ``--flows``).
    """

    alpha: float = 1.0
    d: int = 10**4
    eps: float = 0.01
    methods: tuple[str, ...] = ("gd", "sign")

    OPTIONS: ClassVar[dict[str, Option]] = CELL_OPTIONS

    def check(self) -> BigramCell:
        """The methods, ``eps < 1`` and GD's size limit at ``alpha <= 1``
        (:data:`GD_SUM_D_MAX`); returns the cell."""
        self.methods = tuple(self.methods)
        bad = [m for m in self.methods if m not in METHODS]
        if bad or self.eps >= EPS_RANGE[1]:
            raise UsageError(f"--flows must be a comma list from {','.join(METHODS)} and "
                             f"--eps in (0, 1) for problem bigram, got "
                             f"{','.join(self.methods)} and {self.eps:g}")
        if self.alpha <= 1 and self.d > GD_SUM_D_MAX and "gd" in self.methods:
            raise UsageError(f"--d must be <= 1e8 for method gd at alpha <= 1 (its sum has d "
                             f"terms), got {self.d}")
        return self

    def params(self) -> dict[str, Any]:
        """The parameters (``alpha``, ``d``, ``eps``) as the sweep records them."""
        return self.as_dict()
