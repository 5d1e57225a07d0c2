"""Z20: heavy-tailed gradient noise breaks SGD; clipping fixes it (THEORY.md, "Z20").

Every study runs many independent noise streams of :func:`linsim.stochastic.simulate` (common
random numbers across the methods of a study), fits the rate from the simulated runs and
returns a plain result whose :meth:`summary` is JSON-ready and whose arrays feed the figures.

=========================== =================================================================
study                        claim
=========================== =================================================================
:func:`sgd_fails`            Z20.sgd-fails: mean over R runs grows like R^(2/alpha - 1); the
                             median converges like k^(-2(alpha-1)/alpha)
:func:`clip_rate`            Z20.clip-strongly-convex: GClip, eta_k = 4/(mu(k+1)),
                             tau_k = G k^(1/alpha): E f ~ k^(-2(alpha-1)/alpha)
:func:`clip_nonconvex`       Z20.clip-nonconvex: mean of min(|f'|, f'^2) over a horizon K is
                             O(K^(-2(alpha-1)/(3alpha-2)))
:func:`threshold_tent`       Z20.threshold-tent: tau_k = G k^p, asymmetric noise:
                             E f ~ k^-min(1 - p(2-alpha), 2p(alpha-1))
:func:`coordinate`           Z20.coordinate: GClip's constant grows with d, CClip's does not
=========================== =================================================================

Rates are slopes of ``log E f`` against ``log k`` (least squares over a window of late
checkpoints) with a bootstrap over runs (:func:`bootstrap_slope`).

``python -m linsim.heavytail z20`` runs a :class:`Z20Config` (its options, checked in
:meth:`Z20Config.check`, including the limits on recorded arrays and simulated work) with
:func:`run_studies` and :func:`summarize`.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .. import io, rates
from ..config import Config, Option, UsageError, names, number
from ..problems import noise
from ..stochastic import Method, Schedule, Separable, StudyResult, simulate


def strongly_convex_exponent(alpha: float) -> float:
    """Z20.clip-strongly-convex: ``E f - f* = O(k^-e)``, ``e = 2(alpha-1)/alpha``."""
    return 2.0 * (alpha - 1.0) / alpha


def nonconvex_exponent(alpha: float) -> float:
    """Z20.clip-nonconvex: ``e = 2(alpha-1)/(3 alpha - 2)``."""
    return 2.0 * (alpha - 1.0) / (3.0 * alpha - 2.0)


def tent_exponent(p, alpha: float):
    """Z20.threshold-tent: ``e(p) = min(1 - p(2-alpha), 2p(alpha-1))``, peak at ``p = 1/alpha``."""
    p = np.asarray(p, float)
    return np.minimum(1.0 - p * (2.0 - alpha), 2.0 * p * (alpha - 1.0))


# --------------------------------------------------------------------------------------------
# fitting with a bootstrap over runs
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SlopeCI:
    """A log-log slope of the mean over runs, with a percentile bootstrap interval over runs."""

    value: float
    low: float
    high: float
    stderr: float
    window: tuple[float, float]
    points: int
    runs: int
    resamples: int

    level: float = 95.0

    def to_dict(self) -> dict:
        return {"value": self.value, f"ci{self.level:g}": [self.low, self.high],
                "stderr_fit": self.stderr, "window": list(self.window), "points": self.points,
                "runs": self.runs, "bootstrap_resamples": self.resamples}

    def distance(self, x: float) -> float:
        """How far ``x`` lies outside the interval ``[low, high]`` (0 inside it)."""
        return float(max(0.0, self.low - x, x - self.high))


def _slopes(x: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Least-squares slopes of each row of ``Y`` against ``x``."""
    xc = x - x.mean()
    return (Y - Y.mean(axis=1, keepdims=True)) @ xc / (xc @ xc)


def bootstrap_slope(steps, per_run, k_min: float, k_max: float, resamples: int = 1000,
                    seed: int = 0, level: float = 95.0) -> SlopeCI:
    """Slope of ``log mean_r per_run[r, k]`` against ``log k`` over ``k_min <= k <= k_max``.

    The ``level``% percentile interval resamples runs (rows) with replacement ``resamples``
    times, so it carries the correlation between checkpoints of one run.
    """
    steps = np.asarray(steps, float)
    per_run = np.asarray(per_run, float)
    R = per_run.shape[0]
    sel = (steps >= k_min) & (steps <= k_max)
    if sel.sum() < 2:
        nan = math.nan
        return SlopeCI(nan, nan, nan, nan, (float(k_min), float(k_max)), int(sel.sum()), R, 0,
                       level)
    mean = per_run.mean(axis=0)
    fit = rates.loglog_slope(steps[sel], mean[sel], k_min, k_max)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(R, np.full(R, 1.0 / R), size=resamples).astype(float)
    boot = counts @ per_run[:, sel] / R
    with np.errstate(divide="ignore"):
        b = _slopes(np.log(steps[sel]), np.log(boot))
    b = b[np.isfinite(b)]
    q = (100.0 - level) / 2
    lo, hi = np.percentile(b, [q, 100.0 - q]) if b.size else (math.nan, math.nan)
    return SlopeCI(fit.value, float(lo), float(hi), fit.stderr, (float(k_min), float(k_max)),
                   fit.points, R, resamples, level)


# --------------------------------------------------------------------------------------------
# the pre-asymptotic model: mean and variance recursions with the law's clipped moments
# --------------------------------------------------------------------------------------------
_TABLE_SAMPLES = 2**21


def _sorted_squares(law: str, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    y = np.sort(noise.sample(law, alpha, _TABLE_SAMPLES, seed=2**40 + 7) ** 2)
    return y, np.concatenate([[0.0], np.cumsum(y)])


_SQUARES: dict = {}


def clipped_moments(law: str, alpha: float, tau) -> tuple[np.ndarray, np.ndarray]:
    """``E clip(xi)`` and ``Var clip(xi)`` for ``clip`` to ``[-tau, tau]`` and ``xi`` of ``law``.

    Centred Pareto (``xi = P - m``, ``P ~ Pareto(alpha)`` on ``[1, inf)``,
    ``m = alpha/(alpha-1)``): closed forms from ``E[P 1{a<P<b}] = m (a^(1-alpha) -
    b^(1-alpha))`` and ``E[P^2 1{a<P<b}] = alpha/(2-alpha) (b^(2-alpha) - a^(2-alpha))``. The
    symmetric laws (``stable``, ``gauss``): ``E clip = 0`` and ``E min(xi^2, tau^2)`` from a
    sorted sample of ``2^21`` draws of the law (relative error about 1e-3 where it matters).
    """
    t = np.asarray(tau, float)
    if law == "pareto":
        a = float(alpha)
        m = a / (a - 1.0)
        lo = np.maximum(m - t, 1.0)  # clip of P to [m - tau, m + tau]
        hi = m + t
        below = np.where(m - t > 1.0, 1.0 - np.maximum(m - t, 1.0) ** -a, 0.0)
        e1 = np.where(m - t > 1.0, (m - t) * below, 0.0) + m * (lo ** (1 - a) - hi ** (1 - a)) \
            + hi * hi**-a
        e2 = (np.where(m - t > 1.0, (m - t) ** 2 * below, 0.0)
              + a / (2 - a) * (hi ** (2 - a) - lo ** (2 - a)) + hi * hi * hi**-a)
        mean = e1 - m
        return mean, e2 - e1 * e1
    key = (law, float(alpha))
    if key not in _SQUARES:
        _SQUARES[key] = _sorted_squares(law, alpha)
    y, cum = _SQUARES[key]
    i = np.searchsorted(y, t * t)
    second = (cum[i] + t * t * (y.size - i)) / y.size
    return np.zeros_like(t), second


def moment_model(law: str, alpha: float, eta: Schedule, tau: Schedule, steps: int,
                 mu: float = 1.0, x0: float = 1.0) -> np.ndarray:
    """``E f(x_k)`` of GClip on ``mu x^2/2`` in the small-``x`` model, ``k = 0..steps``.

    With ``|mu x| << tau``, ``clip(mu x + xi) ~ mu x + clip(xi)``, so the mean and the variance
    of ``x_k`` follow ``m_k = (1 - eta_k mu) m_(k-1) - eta_k E clip(xi)`` and
    ``v_k = (1 - eta_k mu)^2 v_(k-1) + eta_k^2 Var clip(xi)`` at ``tau = tau_k``, and
    ``E f = mu (m^2 + v)/2``. The exponents of THEORY.md are this model's limits; its slope at
    finite ``k`` gives the pre-asymptotic bias of a fitted exponent.
    """
    e = eta.values(steps)
    c1, var = clipped_moments(law, alpha, tau.values(steps))
    a = 1.0 - e * mu
    m = np.empty(steps + 1)
    v = np.empty(steps + 1)
    m[0], v[0] = x0, 0.0
    for k in range(steps):
        m[k + 1] = a[k] * m[k] - e[k] * c1[k]
        v[k + 1] = a[k] * a[k] * v[k] + e[k] * e[k] * var[k]
    return mu * (m * m + v) / 2


def model_slope(law: str, alpha: float, eta: Schedule, tau: Schedule, steps, k_min: float,
                k_max: float, mu: float = 1.0, x0: float = 1.0) -> float:
    """Slope of ``log E f`` against ``log k`` of :func:`moment_model` at the checkpoints
    ``steps`` within ``[k_min, k_max]`` (the same fit as the simulation's)."""
    ck = np.asarray(steps, np.int64)
    f = moment_model(law, alpha, eta, tau, int(ck[-1]), mu, x0)
    return rates.loglog_slope(ck, f[ck], k_min, k_max).value


def _check_alpha(alpha: float, lo: float = 1.0, hi: float = 2.0) -> float:
    a = float(alpha)
    if not (lo < a <= hi):
        raise ValueError(f"alpha must be in ({lo:g}, {hi:g}], got {alpha!r}")
    return a


# --------------------------------------------------------------------------------------------
# Z20.sgd-fails
# --------------------------------------------------------------------------------------------
@dataclass
class SgdFails:
    """Result of :func:`sgd_fails`."""

    alpha: float
    study: StudyResult
    group_sizes: np.ndarray
    typical_mean: np.ndarray
    mean_slope: rates.Fit
    median_slope: rates.Fit
    clip_mean_slope: rates.Fit
    settings: dict = field(default_factory=dict)

    def summary(self) -> dict:
        a = self.alpha
        return {
            "claim": "Z20.sgd-fails", "alpha": a, **self.settings,
            "mean_over_R_slope": {"measured": self.mean_slope.value,
                                  "stderr": self.mean_slope.stderr,
                                  "predicted": 2.0 / a - 1.0,
                                  "what": "slope of the typical (geometric mean over disjoint "
                                          "groups) mean of f(x_K) over R runs, against R"},
            "median_over_runs_slope": {"measured": self.median_slope.value,
                                       "stderr": self.median_slope.stderr,
                                       "predicted": -strongly_convex_exponent(a),
                                       "what": "slope of the median over runs of f(x_k) "
                                               "against k"},
            "gclip_mean_over_R_slope": {"measured": self.clip_mean_slope.value,
                                        "predicted": 0.0,
                                        "what": "same as mean_over_R_slope for GClip (CRN)"},
            "seconds": self.study.seconds,
        }

    def bootstrap(self, resamples: int = 400, level: float = 99.0, seed: int = 0,
                  median_resamples: int = 50) -> tuple[tuple[float, float], tuple[float, float]]:
        """Intervals at ``level``%, resampling runs with replacement, of the slope in R of the
        typical mean (percentile interval over ``resamples``; over the fitted group sizes) and
        of the slope in k of the median (normal interval from the standard deviation over
        ``median_resamples``: a median of 10^4 runs per resample is the costly part)."""
        from scipy.stats import norm

        rng = np.random.default_rng(seed)
        final = self.study.gap[0, :, -1]
        R = final.size
        sizes = self.group_sizes[self.group_sizes >= 16]
        k = self.study.steps
        ksel = (k >= min(10, self.settings["steps"] // 4)) & (k > 0)
        gap = self.study.gap[0][:, ksel]
        lx, lk = np.log(sizes.astype(float)), np.log(k[ksel].astype(float))
        mean_b = [np.log(typical_group_mean(final[rng.integers(0, R, R)], sizes))
                  for _ in range(resamples)]
        med_b = [np.log(np.median(gap[rng.integers(0, R, R)], axis=0))
                 for _ in range(median_resamples)]
        q = (100.0 - level) / 2
        s1 = _slopes(lx, np.array(mean_b))
        half = norm.ppf(1 - q / 100) * float(np.std(_slopes(lk, np.array(med_b)), ddof=1))
        med = self.median_slope.value
        return tuple(np.percentile(s1, [q, 100 - q])), (med - half, med + half)


def typical_group_mean(values: np.ndarray, sizes) -> np.ndarray:
    """For each R in ``sizes``: the typical mean of R runs over disjoint groups of R runs.

    "Typical" is the geometric mean over groups, ``exp(mean log(group mean))``: the sample mean
    of R heavy-tailed values is itself heavy-tailed, but its logarithm is not, so this scale
    is estimated with a small spread (smaller than the median's) and grows like the mean's
    scale, ``R^(2/alpha - 1)`` here.
    """
    v = np.asarray(values, float)
    out = []
    for R in sizes:
        g = v.size // R
        out.append(float(np.exp(np.mean(np.log(v[: g * R].reshape(g, R).mean(axis=1))))))
    return np.array(out)


def sgd_fails(alpha: float = 1.5, runs: int = 2**15, steps: int = 1000, mu: float = 1.0,
              seed: int = 0, progress: bool = False, law: str = "stable") -> SgdFails:
    """Z20.sgd-fails on ``f = mu x^2/2`` with symmetric alpha-stable noise.

    SGD with ``eta_k = 1/(mu k)`` makes ``x_K = -(1/(mu K)) sum_j xi_j`` exactly: alpha-stable
    with scale ``K^(1/alpha - 1)/mu``, so ``E f(x_K) = inf`` for every K while the median of
    ``f(x_K)`` falls like ``K^(-2(alpha-1)/alpha)``. The mean over R runs of ``f(x_K)`` (a
    positive variable with tail index alpha/2 < 1) grows like ``R^(2/alpha - 1)``. GClip (Z20's
    schedule, same noise) is run beside it: its mean does not grow with R. ``law = "gauss"``
    (finite variance, the negative control) keeps alpha in the schedules only.
    """
    a = _check_alpha(alpha, 1.0, 1.99)
    if runs < 512:
        raise ValueError(f"runs must be >= 512 for Z20.sgd-fails (groups of up to R runs), "
                         f"got {runs}")
    prob = Separable([mu], [1.0], law, a, 1.0)
    methods = [Method("sgd", Schedule(1.0 / mu, -1.0), label="SGD"),
               Method("gclip", Schedule(4.0 / mu, -1.0, 1.0), Schedule(1.0, 1.0 / a),
                      label="GClip")]
    study = simulate(prob, methods, runs, steps, seed=seed, points=40, progress=progress,
                     desc="Z20.sgd-fails")
    final = study.gap[0, :, -1]
    sizes = 2 ** np.arange(0, int(math.log2(runs)) - 3)  # at least 16 groups per size
    typ = typical_group_mean(final, sizes)
    fit_r = rates.loglog_slope(sizes, typ, 16, sizes[-1])
    med = np.median(study.gap[0], axis=0)
    fit_k = rates.loglog_slope(study.steps, med, min(10, steps // 4), steps)
    clip_typ = typical_group_mean(study.gap[1, :, -1], sizes)
    fit_c = rates.loglog_slope(sizes, clip_typ, 16, sizes[-1])
    return SgdFails(a, study, sizes, typ, fit_r, fit_k, fit_c, {
        "runs": runs, "steps": steps, "mu": mu, "seed": seed, "noise": law,
        "sgd_step": "1/(mu k)", "gclip": "eta_k = 4/(mu(k+1)), tau_k = k^(1/alpha)",
        "clip_typical_mean": clip_typ})


# --------------------------------------------------------------------------------------------
# Z20.clip-strongly-convex
# --------------------------------------------------------------------------------------------
@dataclass
class ClipRate:
    """Result of :func:`clip_rate`: one alpha."""

    alpha: float
    study: StudyResult
    fit: SlopeCI
    early: SlopeCI
    settings: dict = field(default_factory=dict)

    @property
    def predicted(self) -> float:
        return -strongly_convex_exponent(self.alpha)

    def summary(self) -> dict:
        return {"claim": "Z20.clip-strongly-convex", "alpha": self.alpha, **self.settings,
                "slope": self.fit.to_dict(), "predicted": self.predicted,
                "deviation": self.fit.value - self.predicted,
                "early_window_slope": self.early.to_dict(), "seconds": self.study.seconds}


def clip_rate(alpha: float, runs: int = 2000, steps: int = 30_000, mu: float = 1.0,
              G: float = 1.0, x0: float = 1.0, seed: int = 0, window: float = 30.0,
              resamples: int = 1000, progress: bool = False,
              tau_power: float | None = None) -> ClipRate:
    """Z20.clip-strongly-convex: GClip on ``f = mu x^2/2``, symmetric alpha-stable noise.

    ``eta_k = 4/(mu(k+1))``, ``tau_k = G k^(1/alpha)``. The slope of ``log E f`` against
    ``log k`` is fitted over ``[steps/window, steps]`` (and, for comparison, over the decade
    before it) with a bootstrap interval over runs. ``tau_power`` replaces the threshold's
    exponent ``1/alpha`` (0: a constant threshold, the negative control).
    """
    a = _check_alpha(alpha)
    prob = Separable([mu], [x0], "stable", a, 1.0)
    tp = 1.0 / a if tau_power is None else float(tau_power)
    m = Method("gclip", Schedule(4.0 / mu, -1.0, 1.0), Schedule(G, tp), label="GClip")
    study = simulate(prob, [m], runs, steps, seed=seed, points=60, progress=progress,
                     desc=f"Z20 GClip alpha={a:g}")
    lo = steps / window
    fit = bootstrap_slope(study.steps, study.gap[0], lo, steps, resamples, seed)
    early = bootstrap_slope(study.steps, study.gap[0], lo / 10, lo, resamples, seed)
    return ClipRate(a, study, fit, early, {"runs": runs, "steps": steps, "mu": mu, "G": G,
                                           "x0": x0, "seed": seed, "eta": "4/(mu(k+1))",
                                           "tau": f"G k^{tp:.4g}", "tau_power": tp})


# --------------------------------------------------------------------------------------------
# Z20.clip-nonconvex
# --------------------------------------------------------------------------------------------
@dataclass
class ClipNonconvex:
    """Result of :func:`clip_nonconvex`."""

    alpha: float
    horizons: np.ndarray
    per_run: np.ndarray
    fit: SlopeCI
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def predicted(self) -> float:
        return -nonconvex_exponent(self.alpha)

    def summary(self) -> dict:
        return {"claim": "Z20.clip-nonconvex", "alpha": self.alpha, **self.settings,
                "horizons": self.horizons, "mean_stationarity": self.per_run.mean(axis=0),
                "slope": self.fit.to_dict(), "predicted": self.predicted,
                "deviation": self.fit.value - self.predicted, "seconds": self.seconds}


def clip_nonconvex(alpha: float = 1.5, horizons=(300, 1000, 3000, 10_000, 30_000),
                   runs: int = 2000, A: float = 2.0, x0: float = 3.0, eta0: float = 1 / 3,
                   tau0: float = 1.0, law: str = "stable", seed: int = 0,
                   resamples: int = 1000, progress: bool = False,
                   eta_power: float | None = None) -> ClipNonconvex:
    """Z20.clip-nonconvex on ``f(x) = x^2/2 + A (cos x - 1)`` (A = 2: L = 3, nonconvex near 0).

    For each horizon K: GClip with ``eta = eta0 K^(-alpha/(3alpha-2))`` and
    ``tau = tau0 K^(1/(3alpha-2))`` for K steps; the measured quantity is
    ``(1/K) sum_{k<K} min(|f'(x_k)|, f'(x_k)^2)`` per run. Runs ``r`` of different horizons use
    the same noise stream. The slope against K is fitted with a bootstrap over runs.
    ``eta_power`` replaces the step's exponent ``-alpha/(3alpha-2)`` (0: a step that ignores the
    horizon, the negative control).
    """
    import time

    a = _check_alpha(alpha)
    prob = Separable([1.0], [x0], law, a, 1.0, cosine=A)
    H = np.asarray(horizons, np.int64)
    per_run = np.empty((runs, H.size))
    start = time.perf_counter()
    for j, K in enumerate(H):
        eta = eta0 * K ** (-a / (3 * a - 2) if eta_power is None else eta_power)
        tau = tau0 * K ** (1.0 / (3 * a - 2))
        st = simulate(prob, [Method("gclip", Schedule(eta), Schedule(tau))], runs, np.array([K]),
                      seed=seed, progress=progress, desc=f"Z20 nonconvex K={K}")
        per_run[:, j] = st.stationarity[0, :, -1]
    fit = bootstrap_slope(H, per_run, H[0], H[-1], resamples, seed)
    return ClipNonconvex(a, H, per_run, fit, {
        "runs": runs, "function": f"x^2/2 + {A:g}(cos x - 1)", "x0": x0, "law": law,
        "eta": f"{eta0:.4g} K^(-alpha/(3alpha-2))" if eta_power is None else
               f"{eta0:.4g} K^{eta_power:g}", "tau": f"{tau0:g} K^(1/(3alpha-2))",
        "seed": seed}, time.perf_counter() - start)


# --------------------------------------------------------------------------------------------
# Z20.threshold-tent
# --------------------------------------------------------------------------------------------
@dataclass
class ThresholdTent:
    """Result of :func:`threshold_tent`."""

    alpha: float
    ps: np.ndarray
    study: StudyResult
    fits: list
    bias_fits: list
    var_fits: list
    symmetric: StudyResult
    symmetric_fit: SlopeCI
    settings: dict = field(default_factory=dict)

    @property
    def measured(self) -> np.ndarray:
        return -np.array([f.value for f in self.fits])

    @property
    def predicted(self) -> np.ndarray:
        return tent_exponent(self.ps, self.alpha)

    def summary(self) -> dict:
        a = self.alpha
        rows = []
        for p, f, b, v in zip(self.ps, self.fits, self.bias_fits, self.var_fits, strict=True):
            rows.append({"p": p, "exponent": -f.value, "ci95": [-f.high, -f.low],
                         "predicted": float(tent_exponent(p, a)),
                         "bias_term_exponent": -b.value, "bias_predicted": 2 * p * (a - 1),
                         "variance_term_exponent": -v.value,
                         "variance_predicted": 1 - p * (2 - a)})
        return {"claim": "Z20.threshold-tent", "alpha": a, **self.settings, "rows": rows,
                "peak_p_measured": float(self.ps[int(np.argmax(self.measured))]),
                "peak_p_predicted": 1.0 / a,
                "max_abs_deviation": float(np.max(np.abs(self.measured - self.predicted))),
                "symmetric_constant_tau_slope": self.symmetric_fit.to_dict(),
                "seconds": self.study.seconds + self.symmetric.seconds}


def threshold_tent(alpha: float = 1.5, ps=(0.0, 0.2, 0.4, 0.5, 0.6, 2 / 3, 0.8, 1.0),
                   runs: int = 2000, steps: int = 30_000, G: float = 1.0, mu: float = 1.0,
                   seed: int = 0, window: float = 30.0, resamples: int = 400,
                   progress: bool = False, law: str = "pareto") -> ThresholdTent:
    """Z20.threshold-tent: GClip with ``tau_k = G k^p`` under centred Pareto noise.

    All thresholds run on the same noise (one method per p). ``E f`` is split into the bias
    term ``mu (E x)^2 / 2`` and the variance term ``mu Var(x) / 2``; each has its own predicted
    exponent (``2p(alpha-1)`` and ``1 - p(2-alpha)``), ``E f`` the smaller one. A second study
    runs a constant threshold under *symmetric* noise: rate ``1/k``, no bias floor.
    ``law = "stable"`` (symmetric noise in place of the asymmetric Pareto law) is the negative
    control: no clipping bias, no tent.
    """
    a = _check_alpha(alpha, 1.0, 1.99)
    ps = np.asarray(ps, float)
    if ps.size < 2 or np.any(ps < 0) or np.any(ps > 1):
        raise ValueError("ps must hold at least two exponents in [0, 1]")
    prob = Separable([mu], [1.0], law, a, 1.0)
    eta = Schedule(4.0 / mu, -1.0, 1.0)
    methods = [Method("gclip", eta, Schedule(G, float(p)), label=f"p={p:.3g}") for p in ps]
    study = simulate(prob, methods, runs, steps, seed=seed, points=60, progress=progress,
                     desc="Z20 tent")
    lo = steps / window
    fits, bias, var = [], [], []
    R = runs
    for j in range(ps.size):
        fits.append(bootstrap_slope(study.steps, study.gap[j], lo, steps, resamples, seed))
        xm = study.x_mean[j]
        mean, v = xm.mean(axis=0), xm.var(axis=0, ddof=1)
        bias.append(rates.loglog_slope(study.steps, mu / 2 * (mean**2 - v / R), lo, steps))
        var.append(rates.loglog_slope(study.steps, mu / 2 * v, lo, steps))
    sym = simulate(Separable([mu], [1.0], "stable", a, 1.0),
                   [Method("gclip", eta, Schedule(G), label="constant tau")],
                   max(runs // 4, 100), steps, seed=seed, points=60, progress=progress,
                   desc="Z20 tent (symmetric)")
    sym_fit = bootstrap_slope(sym.steps, sym.gap[0], lo, steps, resamples, seed)
    return ThresholdTent(a, ps, study, fits, bias, var, sym, sym_fit, {
        "runs": runs, "steps": steps, "G": G, "mu": mu, "seed": seed, "noise": law,
        "eta": "4/(mu(k+1))", "tau": "G k^p", "window": [lo, steps]})


# --------------------------------------------------------------------------------------------
# Z20.coordinate
# --------------------------------------------------------------------------------------------
@dataclass
class Coordinate:
    """Result of :func:`coordinate`."""

    alpha: float
    dims: np.ndarray
    labels: list
    constants: np.ndarray
    slopes: dict
    studies: list
    settings: dict = field(default_factory=dict)
    #: per dimension, the per-run constants, shape (methods, runs)
    per_run: list = field(default_factory=list)

    def bootstrap(self, label: str, resamples: int = 1000, level: float = 99.0,
                  seed: int = 0) -> tuple[float, float]:
        """Percentile interval of the slope of ``log C(d)`` against ``log d`` for ``label``,
        resampling the runs of every dimension (independent studies) with replacement."""
        j = self.labels.index(label)
        rng = np.random.default_rng(seed)
        logc = []
        for pr in self.per_run:
            v = pr[j]
            w = rng.multinomial(v.size, np.full(v.size, 1.0 / v.size), size=resamples)
            logc.append(np.log(w @ v / v.size))
        b = _slopes(np.log(self.dims.astype(float)), np.array(logc).T)
        q = (100.0 - level) / 2
        lo, hi = np.percentile(b, [q, 100.0 - q])
        return float(lo), float(hi)

    def summary(self) -> dict:
        a = self.alpha
        return {"claim": "Z20.coordinate", "alpha": a, **self.settings, "dims": self.dims,
                "constants": {lab: self.constants[:, j] for j, lab in enumerate(self.labels)},
                "slope_in_d": {lab: f.value for lab, f in self.slopes.items()},
                "slope_stderr": {lab: f.stderr for lab, f in self.slopes.items()},
                "predicted": {"GClip": 2.0 / a - 1.0, "CClip": 0.0},
                "seconds": sum(s.seconds for s in self.studies)}


def coordinate(alpha: float = 1.5, dims=(1, 4, 16, 64), runs: int = 400, steps: int = 3000,
               mu: float = 1.0, seed: int = 0, progress: bool = False,
               law: str = "stable") -> Coordinate:
    """Z20.coordinate: ``f = mu ||x||^2/2`` in d dimensions, i.i.d. symmetric stable noise.

    GClip uses the theory's threshold ``tau_k = G k^(1/alpha)`` with ``G = ||B||_alpha =
    d^(1/alpha)`` (the bound ``E ||xi||^alpha <= G^alpha`` for unit per-coordinate scales);
    CClip uses ``tau_k = B_i k^(1/alpha)`` per coordinate. The constant of a method is
    ``C(d) = mean_k (E f_k / d) k^(2(alpha-1)/alpha)`` over the last decade of k; its slope
    against ``log d`` is predicted ``2/alpha - 1`` for GClip (``G^(2-alpha)`` per coordinate)
    and 0 for CClip. GClip with a d-independent threshold (``G = 1``) and ACClip (moment 1)
    run on the same noise for comparison. ``law = "gauss"`` (light tails) is the negative
    control: nothing is clipped and no constant grows with d.
    """
    a = _check_alpha(alpha, 1.0, 1.99)
    dims = np.asarray(dims, np.int64)
    e = strongly_convex_exponent(a)
    eta = Schedule(4.0 / mu, -1.0, 1.0)
    labels = ["GClip", "CClip", "GClip (G = 1)", "ACClip"]
    consts, studies, per_run = [], [], []
    for d in dims:
        prob = Separable(np.full(d, mu), 0.0, law, a, 1.0)
        methods = [Method("gclip", eta, Schedule(float(d) ** (1.0 / a), 1.0 / a), label=labels[0]),
                   Method("cclip", eta, Schedule(1.0, 1.0 / a), label=labels[1]),
                   Method("gclip", eta, Schedule(1.0, 1.0 / a), label=labels[2]),
                   Method("acclip", eta, beta1=0.9, beta2=0.99, moment=1.0, label=labels[3])]
        st = simulate(prob, methods, runs, steps, seed=seed, points=30, progress=progress,
                      desc=f"Z20 coordinate d={d}")
        sel = st.steps >= steps / 10
        pr = (st.gap[:, :, sel] / d * st.steps[sel] ** e).mean(axis=2)
        per_run.append(pr)
        consts.append(list(pr.mean(axis=1)))
        studies.append(st)
    consts = np.array(consts)
    slopes = {lab: rates.loglog_slope(dims, consts[:, j], dims[0], dims[-1])
              for j, lab in enumerate(labels)}
    return Coordinate(a, dims, labels, consts, slopes, studies, {
        "runs": runs, "steps": steps, "mu": mu, "seed": seed, "noise": law,
        "eta": "4/(mu(k+1))", "gclip_tau": "d^(1/alpha) k^(1/alpha)",
        "cclip_tau": "k^(1/alpha) per coordinate"}, per_run)


# --------------------------------------------------------------------------------------------
# the command line's run: python -m linsim.heavytail z20
# --------------------------------------------------------------------------------------------
#: The studies of ``python -m linsim.heavytail z20``, in the order they run.
STUDIES = ("sgd-fails", "clip-rate", "nonconvex", "tent", "coordinate")
#: Largest recorded array accepted (runs x methods x checkpoints, float64 entries, x4 arrays).
MAX_RECORDED = 50_000_000
#: Largest amount of simulated work accepted (runs x steps x methods x dimension).
MAX_WORK = 5e11
#: Largest tail index of the studies that use only the first ``--alpha`` (:func:`sgd_fails`,
#: :func:`threshold_tent`, :func:`coordinate`; clip-rate and nonconvex take up to 2).
ALPHA_MAX_STRICT = 1.99
#: Fewest runs of :func:`sgd_fails` (groups of up to R runs).
SGD_FAILS_MIN_RUNS = 512


def parse_alphas(text: str) -> tuple[float, ...]:
    """``--alpha``: a comma list of tail indices in (1, 2)."""
    try:
        vals = tuple(float(s) for s in text.split(","))
    except ValueError:
        vals = ()
    if not vals or not all(math.isfinite(a) and 1.0 < a < 2.0 for a in vals):
        raise argparse.ArgumentTypeError(
            f"--alpha must be a comma list of tail indices in (1, 2), got {text!r}")
    return vals


#: Every option of a Z20 run, by :class:`Z20Config` field, in the order of ``--help``.
OPTIONS: dict[str, Option] = {
    "study": Option(names("--study", STUDIES, all_ok=True), STUDIES,
                    f"'all' (default) or a comma list of {','.join(STUDIES)}"),
    "alpha": Option(parse_alphas, None,
                    "tail indices in (1, 2); clip-rate uses all (default 1.2,1.5,1.8), "
                    "the other studies the first (default 1.5)", "A[,A..]"),
    "runs": Option(number("--runs", int, 1, 10_000_000), None,
                   "independent runs, an integer in [1, 1e7] (default: the study's)"),
    "steps": Option(number("--steps", int, 10, 100_000_000), None,
                    "steps per run (nonconvex: the largest horizon), an integer in "
                    "[10, 1e8] (default: the study's)"),
    "seed": Option(number("--seed", int, 0, 2**63 - 1), 0,
                   "random seed, an integer in [0, 2^63) (default 0)"),
    "quick": Option(None, False, "the small settings of python -m linsim.verify --quick",
                    switch=True),
}


@dataclass
class Z20Config(Config):
    """One run of ``python -m linsim.heavytail z20``: every option of :data:`OPTIONS` as a
    field, and the output folder.

    Construct it with values (each is checked as its option is), or from text with
    :meth:`from_text`; :meth:`check` makes the cross-option checks (the tail index and runs
    that a study needs, the limits on recorded arrays and work) and fills in the default
    ``out``. Every error is a :class:`linsim.config.UsageError` naming the option.
    """

    study: tuple[str, ...] = STUDIES
    alpha: tuple[float, ...] | None = None
    runs: int | None = None
    steps: int | None = None
    seed: int = 0
    quick: bool = False
    out: Path | None = None

    OPTIONS: ClassVar[dict[str, Option]] = OPTIONS
    #: The paper's name in ``summary.json``.
    PAPER: ClassVar[str] = "Z20"

    def check(self) -> Z20Config:
        """The cross-option checks; returns the configuration."""
        settings = study_settings(self)
        for name in ("sgd-fails", "tent", "coordinate"):
            if name in settings and settings[name]["alpha"] > ALPHA_MAX_STRICT:
                raise UsageError(f"--alpha must be in (1, {ALPHA_MAX_STRICT:g}] for --study "
                                 f"{name} (its first value), got {settings[name]['alpha']:g}")
        if "sgd-fails" in settings and settings["sgd-fails"]["runs"] < SGD_FAILS_MIN_RUNS:
            raise UsageError(f"--runs must be >= {SGD_FAILS_MIN_RUNS} for Z20.sgd-fails (groups "
                             f"of up to R runs), got {settings['sgd-fails']['runs']}")
        check_work(settings)
        if self.out is None:
            self.out = Path("linsim-out/heavytail-z20")
        return self


def study_settings(cfg: Z20Config) -> dict[str, dict[str, Any]]:
    """Per-study keyword arguments of the chosen studies (the claim registry's settings,
    overridden by the options), in the order of :data:`STUDIES`."""
    q = cfg.quick
    alphas = cfg.alpha or ((1.5,) if q else (1.2, 1.5, 1.8))
    a = (cfg.alpha or (1.5,))[0]
    runs, steps, seed = cfg.runs, cfg.steps, cfg.seed
    out = {
        "sgd-fails": {"alpha": a, "runs": runs or (2**15 if q else 2**16),
                      "steps": steps or (50 if q else 1000), "seed": seed},
        "clip-rate": {"alphas": alphas, "runs": runs or 2000,
                      "steps": steps or (10_000 if q else 30_000), "seed": seed,
                      "resamples": 400 if q else 1000},
        "nonconvex": {"alpha": a, "runs": runs or (500 if q else 2000), "seed": seed,
                      "horizons": log_horizons(steps or (10_000 if q else 30_000)),
                      "resamples": 400 if q else 1000},
        "tent": {"alpha": a, "runs": runs or (500 if q else 2000),
                 "steps": steps or 30_000, "seed": seed, "resamples": 200 if q else 400,
                 "ps": (0.0, 0.4, 2 / 3, 0.8) if q else (0.0, 0.2, 0.4, 0.5, 0.6, 2 / 3, 0.8,
                                                         1.0)},
        "coordinate": {"alpha": a, "runs": runs or (200 if q else 400),
                       "steps": steps or (1000 if q else 3000), "seed": seed,
                       "dims": (1, 4, 16) if q else (1, 4, 16, 64)},
    }
    return {k: v for k, v in out.items() if k in cfg.study}


def log_horizons(K: int) -> tuple[int, ...]:
    """Five horizons, log-spaced up to K (from 300, or K/30 when K is small)."""
    lo = max(10, min(300, K // 30))
    return tuple(int(round(x)) for x in np.unique(np.logspace(np.log10(lo), np.log10(K), 5)))


def check_work(settings: dict[str, dict[str, Any]]) -> None:
    """Refuse studies whose recorded arrays or amount of work would not fit
    (:data:`MAX_RECORDED`, :data:`MAX_WORK`); :class:`UsageError` naming the options."""
    for name, kw in settings.items():
        runs = kw["runs"]
        steps = max(kw.get("horizons", ()) or (kw.get("steps", 1),))
        methods = {"sgd-fails": 2, "clip-rate": 1, "nonconvex": 1, "tent": len(kw.get("ps", ())),
                   "coordinate": 4}[name]
        dim = max(kw.get("dims", (1,)))
        if runs * methods * 60 * 4 > MAX_RECORDED:
            raise UsageError(f"--runs too large for {name}: the recorded arrays would exceed "
                             f"{MAX_RECORDED:.0e} entries; use --runs <= "
                             f"{MAX_RECORDED // (methods * 240)}")
        if runs * steps * methods * dim > MAX_WORK:
            raise UsageError(f"--runs x --steps too large for {name}: {runs} x {steps} x "
                             f"{methods} methods x d = {dim} exceeds {MAX_WORK:.0e}")


def run_studies(cfg: Z20Config, progress: bool = False) -> tuple[dict, dict, dict]:
    """Run the chosen studies of a checked configuration.

    Parameters
    ----------
    cfg : Z20Config
        The run (after :meth:`Z20Config.check`).
    progress : bool
        Show a progress bar per simulation.

    Returns
    -------
    summaries : dict
        Study name -> its JSON-ready summary (a list of them for clip-rate).
    arrays : dict
        Name -> array, the contents of ``arrays.npz``.
    figures : dict
        Figure name -> ``(result, claim ids)``; the name is also that of the function of
        :mod:`linsim.plotting.z20` that draws it.
    """
    summaries: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    figs: dict[str, tuple[Any, tuple[str, ...]]] = {}
    for name, kw in study_settings(cfg).items():
        if name == "sgd-fails":
            r = sgd_fails(kw["alpha"], runs=kw["runs"], steps=kw["steps"], seed=kw["seed"],
                          progress=progress)
            summaries[name] = r.summary()
            arrays.update({"sgd_fails_steps": r.study.steps, "sgd_fails_group_sizes":
                           r.group_sizes, "sgd_fails_typical_mean": r.typical_mean,
                           "sgd_fails_median_sgd": np.median(r.study.gap[0], axis=0),
                           "sgd_fails_median_gclip": np.median(r.study.gap[1], axis=0)})
            figs["z20_sgd_fails"] = (r, ("Z20.sgd-fails",))
        elif name == "clip-rate":
            res = [clip_rate(a, runs=kw["runs"], steps=kw["steps"], seed=kw["seed"],
                             resamples=kw["resamples"], progress=progress)
                   for a in kw["alphas"]]
            summaries[name] = [r.summary() for r in res]
            for r in res:
                arrays[f"clip_rate_alpha{r.alpha:g}_steps"] = r.study.steps
                arrays[f"clip_rate_alpha{r.alpha:g}_mean_f"] = r.study.gap[0].mean(axis=0)
            figs["z20_clip_rate"] = (res, ("Z20.clip-strongly-convex",))
        elif name == "nonconvex":
            r = clip_nonconvex(kw["alpha"], horizons=kw["horizons"], runs=kw["runs"],
                               seed=kw["seed"], resamples=kw["resamples"], progress=progress)
            summaries[name] = r.summary()
            arrays.update({"nonconvex_horizons": r.horizons,
                           "nonconvex_mean_stationarity": r.per_run.mean(axis=0)})
            figs["z20_clip_nonconvex"] = (r, ("Z20.clip-nonconvex",))
        elif name == "tent":
            r = threshold_tent(kw["alpha"], ps=kw["ps"], runs=kw["runs"], steps=kw["steps"],
                               seed=kw["seed"], resamples=kw["resamples"], progress=progress)
            summaries[name] = r.summary()
            arrays.update({"tent_p": r.ps, "tent_measured": r.measured,
                           "tent_predicted": r.predicted, "tent_steps": r.study.steps,
                           "tent_mean_f": r.study.gap.mean(axis=1)})
            figs["z20_threshold_tent"] = (r, ("Z20.threshold-tent",))
        else:
            r = coordinate(kw["alpha"], dims=kw["dims"], runs=kw["runs"], steps=kw["steps"],
                           seed=kw["seed"], progress=progress)
            summaries[name] = r.summary()
            arrays.update({"coordinate_dims": r.dims, "coordinate_constants": r.constants})
            figs["z20_coordinate"] = (r, ("Z20.coordinate",))
    return summaries, arrays, figs


def summarize(cfg: Config, summaries: dict, seconds: float, command: str) -> dict[str, Any]:
    """The ``summary.json`` document of a run of ``python -m linsim.heavytail`` (either paper),
    with its ``seconds`` (:func:`linsim.io.without_timing` drops them from the file).

    Parameters
    ----------
    cfg : Z20Config or PL23Config
        The run (its ``PAPER``, ``seed`` and ``quick``).
    summaries : dict
        The studies' summaries (:func:`run_studies`).
    seconds : float
        Wall-clock time of the run.
    command : str
        The command line, recorded as ``command``.

    Returns
    -------
    dict
        ``paper``, ``studies``, ``seed``, ``quick``, ``seconds``, ``versions``, ``command``.
    """
    return {"paper": cfg.PAPER, "studies": summaries, "seed": cfg.seed, "quick": cfg.quick,
            "seconds": seconds, "versions": io.versions(), "command": command}
