"""PL23: directional sharpness and coordinate-wise clipping (THEORY.md, "PL23").

=========================== =================================================================
study                        claim
=========================== =================================================================
:func:`sharpness_study`      PL23.sharpness: S, C and Delta* of the GD, sign, Adam and clipped
                             directions along GD trajectories of a diagonal and a rotated
                             quadratic, the K24 one-hot model and the Z24 cases 3 and 4; the
                             identities S(sign g) = mean curvature and S(g) = g^2-weighted
                             curvature on the diagonal quadratic (finite-difference HVPs)
:func:`clip_helps`           PL23.clip-helps: Delta*(v)/Delta*(g) in the three regimes, with and
                             without a rotation of H
:func:`stable_step`          PL23.stable-step: the largest stable step of coordinate-clipped GD
                             against the clipped fraction, and the threshold-collapse trap
=========================== =================================================================

The Z24 problems are Cases 3 and 4 of :mod:`linsim.problems.quadratic` (Haar-rotated 3x3
blocks); the diagonal and rotated quadratics are :class:`~linsim.sharpness.SpectralQuadratic`
(a dense rotation by random signs and DCTs, no LAPACK); the K24 model is
:class:`~linsim.problems.softmax.OneHotModel`; clipped GD runs in
:func:`linsim.stochastic.simulate` (``rankclip``, deterministic when the noise scale is 0).

``python -m linsim.heavytail pl23`` runs a :class:`PL23Config` with :func:`run_studies` and
:func:`summarize`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .. import sharpness as sh
from ..config import Config, Option, names, number
from ..problems import quadratic
from ..problems.softmax import OneHotModel
from ..stochastic import Method, Schedule, Separable, simulate


# --------------------------------------------------------------------------------------------
# PL23.sharpness
# --------------------------------------------------------------------------------------------
@dataclass
class SharpnessStudy:
    """Result of :func:`sharpness_study`."""

    trajectories: list
    identity_error: float
    identity_detail: dict
    settings: dict = field(default_factory=dict)

    def summary(self) -> dict:
        return {"claim": "PL23.sharpness", **self.settings,
                "identity_max_rel_error": self.identity_error, **self.identity_detail,
                "trajectories": [t.summary() for t in self.trajectories]}

    def get(self, key: str):
        for t in self.trajectories:
            if t.problem.startswith(key):
                return t
        raise KeyError(key)


def diagonal_problem(d: int = 200, kappa: float = 1000.0, seed: int = 0,
                     rotation: str = "identity") -> sh.SpectralQuadratic:
    """``H = Q diag(h) Q^T`` with ``h`` log-spaced in [1, kappa], ``x0 - x*`` standard normal in
    the eigenbasis (the same for both rotations), ``x* = 0``; ``rotation="dct"`` is dense."""
    h = np.logspace(0.0, math.log10(kappa), d)
    z0 = np.random.default_rng(seed).standard_normal(d)
    kind = "diagonal" if rotation == "identity" else "rotated"
    return sh.SpectralQuadratic(h, z0, rotation, seed,
                                f"{kind} quadratic (d = {d}, kappa = {kappa:g})")


def _identity_check(prob, tr_steps: int, lr: float, frac: float) -> tuple[float, dict]:
    """S(sign g) = mean of h_i over g_i != 0 and S(g) = sum h g^2/sum g^2 along GD.

    The Hessian-vector products are central differences of the gradient (:class:`FiniteDifference`):
    the whole measuring pipeline is checked, not only the algebra.
    """
    fd = sh.FiniteDifference(prob)
    h = prob.h
    x = prob.x0.copy()
    worst_sign = worst_gd = 0.0
    for _ in range(tr_steps):
        g = fd.grad(x)
        dirs = {"gd": g, "sign": np.sign(g)}
        res = sh.measure(fd, x, dirs, g)
        # sign(0) = 0: a coordinate that GD has solved exactly drops out of the mean
        worst_sign = max(worst_sign, abs(res["sign"]["S"] / h[g != 0].mean() - 1))
        pred = float(h @ g**2 / (g @ g))
        worst_gd = max(worst_gd, abs(res["gd"]["S"] / pred - 1))
        x = x - lr * g
    return max(worst_sign, worst_gd), {
        "S_sign_vs_mean_curvature": worst_sign, "S_gd_vs_weighted_curvature": worst_gd,
        "identity_points": tr_steps}


def sharpness_study(quick: bool = False, frac: float = 0.1, seed: int = 0) -> SharpnessStudy:
    """PL23.sharpness along GD trajectories of five problems (see the module docstring)."""
    d = 100 if quick else 200
    steps = 400 if quick else 3000
    kappa = 1000.0
    trs = []
    diag = diagonal_problem(d, kappa, seed)
    for prob in (diag, diagonal_problem(d, kappa, seed, "dct")):
        trs.append(sh.trajectory(prob, prob.x0, steps=steps, lr=1.0 / kappa, frac=frac,
                                 points=40))
    c = 20 if quick else 60
    model = OneHotModel(c, 1.1, "full")
    trs.append(sh.trajectory(sh.OneHotOracle(model), np.zeros(c * c), steps=steps,
                             lr=2.0 / model.pi[0], frac=frac, points=40))
    for case in (quadratic.case3(seed), quadratic.case4(seed)):
        lam = case.eigenvalues.max()
        # 9 coordinates: clip the top 3 (frac = 1/3) so that clipping acts at all
        trs.append(sh.trajectory(sh.QuadraticOracle(case), case.w0, steps=10 * steps,
                                 lr=1.0 / lam, frac=1 / 3, points=40))
    err, detail = _identity_check(diag, 20 if quick else 50, 1.0 / kappa, frac)
    return SharpnessStudy(trs, err, detail, {
        "frac": frac, "steps": steps, "d": d, "kappa": kappa, "k24_classes": c,
        "optimizer": "GD (lr = 1/lambda_max; K24: 2/pi_1); every direction measured at the "
                     "same points; Adam's moments accumulate the observed gradients"})


# --------------------------------------------------------------------------------------------
# PL23.clip-helps
# --------------------------------------------------------------------------------------------
#: The three regimes of THEORY.md, by the offset of the sharp coordinates (a fraction rho,
#: curvature 100): 0.1 (|g| = 10, about 1% of the loss: clipping helps), 10 (|g| = 1000, 99% of
#: the loss: it hurts), 0.01 with every flat offset +-1 (every |g_i| = 1: balanced). Flat
#: coordinates: curvature 1, offsets standard normal (balanced: +-1); random signs throughout.
REGIMES = {"helps": 0.1, "hurts": 10.0, "balanced": 0.01}


def regime_problem(regime: str, d: int = 1000, rho: float = 0.01, h_sharp: float = 100.0,
                   rotation: str = "identity", seed: int = 0) -> sh.SpectralQuadratic:
    """A quadratic of one regime (:data:`REGIMES`); ``rotation="dct"`` rotates ``H`` densely,
    keeping the spectrum and the eigen-coordinates of ``x0 - x*`` (so GD's Delta* is the same)."""
    if regime not in REGIMES:
        raise ValueError(f"regime must be one of {', '.join(REGIMES)}, got {regime!r}")
    n = max(1, int(round(rho * d)))
    rng = np.random.default_rng(seed)
    h = np.ones(d)
    h[:n] = h_sharp
    z = rng.choice([-1.0, 1.0], d)
    if regime != "balanced":
        z[n:] = rng.standard_normal(d - n)
    z[:n] *= REGIMES[regime]
    return sh.SpectralQuadratic(h, z, rotation, seed, f"{regime} ({rotation})")


#: Seeds of the rotated instances of :func:`clip_helps`.
ROTATED_SEEDS = 30
#: One-sided confidence level of "no advantage" over the seeds, before the Bonferroni split
#: over the rotated cells.
CONFIDENCE = 0.95


def _lower_bound(x: np.ndarray, level: float) -> float:
    """One-sided lower confidence bound of the mean of ``x`` (Student t, ``len(x) - 1`` dof)."""
    from scipy import stats

    n = x.size
    if n < 2:
        return float(x.mean())
    return float(x.mean() - stats.t.ppf(level, n - 1) * x.std(ddof=1) / math.sqrt(n))


@dataclass
class ClipHelps:
    """Result of :func:`clip_helps`.

    ``table[(regime, rotation)][direction]`` is ``Delta*(v)/Delta*(g)`` at the first seed (the
    figure); ``samples[(regime, rotation)][direction]`` the same over every seed.
    """

    table: dict
    shares: dict
    fracs: tuple
    samples: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    def verdicts(self) -> dict:
        """Predicted against measured effect of every (regime, rotation, direction) cell.

        Predictions (THEORY.md): helps: ratio > 1 on every seed; hurts: ratio < 1 on every
        seed; balanced: ratio = 1 (to 1e-12) on every seed. Rotated H, any regime: no advantage,
        i.e. the mean ratio over the random instances is at most 1. A rotated instance's ratio
        scatters around its mean (the rotation decides how much of the clipped part falls on
        sharp directions), so the rule is a one-sided test over the seeds: the lower
        confidence bound of the mean, at level :data:`CONFIDENCE` split (Bonferroni) over the
        rotated cells, must not exceed 1.
        """
        rot_cells = sum(len(row) for (_, rot), row in self.samples.items() if rot == "dct")
        level = 1.0 - (1.0 - CONFIDENCE) / max(rot_cells, 1)
        out = {}
        for (regime, rot), row in self.samples.items():
            for name, x in row.items():
                x = np.asarray(x, float)
                cell = {"ratio": float(x.mean()), "min": float(x.min()), "max": float(x.max()),
                        "seeds": int(x.size)}
                if rot == "dct":
                    lb = _lower_bound(x, level)
                    cell["lower_bound_of_mean"] = lb
                    pred, ok = f"no advantage (mean <= 1 at {100 * level:.2f}%)", lb <= 1.0
                elif regime == "helps":
                    pred, ok = "helps (> 1)", bool(np.all(x > 1.0))
                elif regime == "hurts":
                    pred, ok = "hurts (< 1)", bool(np.all(x < 1.0))
                else:
                    pred, ok = "nothing (= 1)", bool(np.all(np.abs(x - 1.0) <= 1e-12))
                out[f"{regime}/{rot}/{name}"] = {**cell, "predicted": pred, "agrees": ok}
        return out

    def summary(self) -> dict:
        v = self.verdicts()
        return {"claim": "PL23.clip-helps", **self.settings, "fracs": list(self.fracs),
                "sharp_loss_share": self.shares, "cells": v,
                "disagreements": sum(not c["agrees"] for c in v.values())}


def _ratios(orc, fracs, direction: str) -> dict:
    """``Delta*(v)/Delta*(g)`` at ``x0`` for clipping at each fraction and for sign.

    ``direction="gd"`` replaces every direction by ``g`` itself (a negative control).
    """
    x = orc.x0
    g = orc.grad(x)
    base = sh.best_decrease(g, g, orc.hvp(x, g))
    row = {}
    for q in fracs:
        v = g if direction == "gd" else sh.directions(g, q)["clip"]
        row[f"clip {q:g}"] = sh.best_decrease(g, v, orc.hvp(x, v)) / base
    v = g if direction == "gd" else np.sign(g)
    row["sign/adam"] = sh.best_decrease(g, v, orc.hvp(x, v)) / base
    return row


def clip_helps(d: int = 5000, rho: float = 0.01, h_sharp: float = 100.0,
               fracs=(0.01, 0.1), seed: int = 0, seeds: int = ROTATED_SEEDS,
               rotated: str = "dct", direction: str = "clip") -> ClipHelps:
    """PL23.clip-helps: ``Delta*(v) / Delta*(g)`` at ``x0`` of each regime, diagonal and rotated,
    over ``seeds`` random instances (seeds ``seed .. seed + seeds - 1``).

    Directions: coordinate clipping at each fraction of ``fracs`` and sign (= Adam's first step).
    Negative controls: ``rotated="identity"`` puts the diagonal H where the rotated one belongs;
    ``direction="gd"`` measures GD's own direction in place of clipping and sign.
    """
    table, shares, samples = {}, {}, {}
    n = max(1, int(round(rho * d)))
    for k in range(seeds):
        for regime in REGIMES:
            for rot in ("identity", "dct"):
                orc = regime_problem(regime, d, rho, h_sharp,
                                     rotated if rot == "dct" else rot, seed + k)
                row = _ratios(orc, fracs, direction)
                cell = samples.setdefault((regime, rot), {})
                for name, r in row.items():
                    cell.setdefault(name, []).append(r)
                if k == 0:
                    table[(regime, rot)] = row
                    if rot == "identity":
                        loss = 0.5 * orc.h * orc.z0**2
                        shares[regime] = float(loss[orc.h > 1].sum() / loss.sum())
    samples = {key: {name: np.asarray(v) for name, v in row.items()}
               for key, row in samples.items()}
    return ClipHelps(table, shares, tuple(fracs), samples, {
        "d": d, "sharp_coordinates": n, "h_sharp": h_sharp, "h_flat": 1.0,
        "sharp_offsets": REGIMES, "seed": seed, "seeds": seeds, "confidence": CONFIDENCE,
        "rotated": rotated, "direction": direction})


# --------------------------------------------------------------------------------------------
# PL23.stable-step
# --------------------------------------------------------------------------------------------
def stable_step_prediction(curvatures, frac: float) -> float:
    """Largest stable step of coordinate-clipped GD on a diagonal quadratic.

    At most ``floor(q d)`` coordinates are clipped, and a clipped coordinate moves at most
    ``eta c`` per step whatever its curvature; so the unstable coordinates (``eta h_i > 2``)
    stay bounded as long as there are at most ``floor(q d)`` of them: ``eta < 2 / h_(m+1)``
    with ``h_(1) >= h_(2) >= ...`` and ``m = floor(q d)``. ``q = 0`` is GD's ``2/lambda_max``.
    """
    h = np.sort(np.asarray(curvatures, float))[::-1]
    m = min(int(math.floor(frac * h.size)), h.size - 1)
    return 2.0 / h[m]


@dataclass
class StableStep:
    """Result of :func:`stable_step`."""

    fracs: np.ndarray
    measured: np.ndarray
    predicted: np.ndarray
    curvatures: np.ndarray
    trap: dict
    settings: dict = field(default_factory=dict)

    def summary(self) -> dict:
        rel = np.abs(self.measured / self.predicted - 1)
        return {"claim": "PL23.stable-step", **self.settings,
                "rows": [{"frac": q, "eta_max": m, "predicted": p, "rel_error": r}
                         for q, m, p, r in zip(self.fracs, self.measured, self.predicted, rel,
                                               strict=True)],
                "max_rel_error": float(rel.max()),
                "gain_over_gd": float(self.measured.max() / self.measured[0]),
                "trap": {k: ({kk: vv for kk, vv in v.items() if not isinstance(vv, np.ndarray)}
                             if isinstance(v, dict) else v) for k, v in self.trap.items()}}


def _bounded(prob: Separable, frac: float, etas: np.ndarray, steps: int, seed: int) -> np.ndarray:
    """Whether each step size keeps ``f`` below its start for ``steps`` steps (one run each)."""
    methods = [Method("rankclip", Schedule(float(e)), frac=frac) for e in etas]
    st = simulate(prob, methods, 1, steps, seed=seed, points=20)
    f0 = float(prob.value(prob.x0))
    last = st.gap[:, 0, -1]
    return np.isfinite(last) & (last <= f0) & np.all(np.isfinite(st.gap[:, 0, :]), axis=1)


#: Relative resolution of the bisected largest stable step: 10x finer than PL23.stable-step's
#: 3% tolerance.
RESOLUTION = 0.003


def largest_stable(prob: Separable, frac: float, lo: float, hi: float, steps: int = 2000,
                   grid: int = 16, resolution: float = RESOLUTION, seed: int = 0,
                   rounds: int | None = None) -> float:
    """The largest step in ``[lo, hi]`` that stays bounded, bracketed to ``resolution``.

    Each round runs ``grid`` log-spaced steps (the methods of one
    :func:`~linsim.stochastic.simulate` call) across the current bracket and keeps the cell
    between the largest bounded step and the next one; rounds continue until that cell's ratio
    is at most ``1 + resolution`` (or for ``rounds`` rounds when given). The true limit then
    lies in ``[result, result (1 + resolution))``, up to the finite horizon (a step just above
    the limit needs about ``log(f0 / f_i) / (4 eps)`` steps to grow the unstable coordinate's
    share ``f_i / f0`` of the loss back to ``f0``, at relative excess ``eps``).
    """
    a, b = math.log(lo), math.log(hi)
    best = math.nan
    done = 0
    while rounds is None or done < rounds:
        etas = np.exp(np.linspace(a, b, grid))
        ok = _bounded(prob, frac, etas, steps, seed)
        done += 1
        if not ok.any():
            return best
        i = int(np.flatnonzero(ok).max())
        best = float(etas[i])
        if i == grid - 1:
            return best
        a, b = math.log(etas[i]), math.log(etas[i + 1])
        if rounds is None and b - a <= math.log1p(resolution):
            break
    return best


def collapse_trap(curvatures, x0, frac: float, eta: float, steps: int = 3000,
                  noise: float = 1e-2, seed: int = 0) -> dict:
    """Deterministic clipped GD at a stable step: does the rank threshold collapse?

    The run is repeated with Gaussian gradient noise of scale ``noise`` (same everything else):
    the noise floor keeps the threshold away from 0, so the clipped coordinates keep moving.
    The trap is reported when the threshold falls below 1e-8 of its start while ``f`` stays
    above 1e-6 of its start (the sharp coordinates are frozen away from the minimum).
    """
    out = {}
    for name, B in (("deterministic", 0.0), ("noisy", noise)):
        prob = Separable(curvatures, x0, "gauss", 2.0, B)
        st = simulate(prob, [Method("rankclip", Schedule(eta), frac=frac)], 1, steps,
                      seed=seed, points=80)
        gap, thr = st.gap[0, 0], st.threshold[0, 0]
        f0 = float(prob.value(prob.x0))
        collapsed = bool(thr[-1] < 1e-8 * thr[0])
        frozen = bool(gap[-1] > 1e-6 * f0)
        h = np.asarray(curvatures)
        out[name] = {"steps": st.steps, "gap": gap, "threshold": thr,
                     "final_gap_ratio": float(gap[-1] / f0),
                     "final_threshold_ratio": float(thr[-1] / thr[0]),
                     "collapsed": collapsed, "trap": collapsed and frozen}
        out[name]["sharp_coordinates"] = int(np.sum(h == h.max()))
    out["trap_detected"] = out["deterministic"]["trap"]
    out["noise_avoids_trap"] = not out["noisy"]["trap"]
    out["settings"] = {"frac": frac, "eta": eta, "steps": steps, "noise": noise}
    return out


def stable_step(quick: bool = False, d: int = 100, n_sharp: int = 5, h_sharp: float = 100.0,
                fracs=None, seed: int = 0) -> StableStep:
    """PL23.stable-step on a diagonal quadratic: ``n_sharp`` coordinates of curvature
    ``h_sharp``, the others log-spaced in [0.1, 1]; ``x0`` standard normal."""
    if fracs is None:
        fracs = (0.0, 0.04, 0.05, 0.2) if quick else (0.0, 0.02, 0.04, 0.05, 0.1, 0.2, 0.5)
    fracs = np.asarray(fracs, float)
    h = np.concatenate([np.full(n_sharp, h_sharp), np.logspace(-1, 0, d - n_sharp)])
    x0 = np.random.default_rng(seed).standard_normal(d)
    prob = Separable(h, x0, "gauss", 2.0, 0.0)
    steps = 500 if quick else 2000
    # 16 and 24 cells split 5 decades into cells that do not divide 2 decades: the grids of
    # GD (2/100) and of clipped GD (2/1) do not line up, so their ratio is measured, not gridded
    meas = np.array([largest_stable(prob, q, 1e-3, 1e2, steps=steps, grid=17 if quick else 25,
                                    resolution=RESOLUTION, seed=seed) for q in fracs])
    pred = np.array([stable_step_prediction(h, q) for q in fracs])
    q_trap = max(float(fracs[fracs * d >= n_sharp].min()), n_sharp / d)
    x_trap = x0.copy()
    x_trap[:n_sharp] = 10.0 * np.sign(x0[:n_sharp])  # far: more travel than the threshold allows
    trap = collapse_trap(h, x_trap, q_trap, 1.0, steps=1000 if quick else 3000, seed=seed)
    return StableStep(fracs, meas, pred, h, trap, {
        "d": d, "n_sharp": n_sharp, "h_sharp": h_sharp, "h_flat": [0.1, 1.0],
        "steps": steps, "seed": seed, "resolution": RESOLUTION,
        "stable": "f(x_K) <= f(x_0) and finite after K steps (deterministic gradients)"})


# --------------------------------------------------------------------------------------------
# the command line's run: python -m linsim.heavytail pl23
# --------------------------------------------------------------------------------------------
#: The studies of ``python -m linsim.heavytail pl23``.
STUDIES = ("sharpness", "clip-helps", "stable-step")

#: Every option of a PL23 run, by :class:`PL23Config` field, in the order of ``--help``.
OPTIONS: dict[str, Option] = {
    "study": Option(names("--study", STUDIES, all_ok=True), STUDIES,
                    f"'all' (default) or a comma list of {','.join(STUDIES)}"),
    "seed": Option(number("--seed", int, 0, 2**63 - 1), 0,
                   "random seed, an integer in [0, 2^63) (default 0)"),
    "quick": Option(None, False, "the small settings of python -m linsim.verify --quick",
                    switch=True),
}


@dataclass
class PL23Config(Config):
    """One run of ``python -m linsim.heavytail pl23``: every option of :data:`OPTIONS` as a
    field, and the output folder (default filled in by :meth:`check`)."""

    study: tuple[str, ...] = STUDIES
    seed: int = 0
    quick: bool = False
    out: Path | None = None

    OPTIONS: ClassVar[dict[str, Option]] = OPTIONS
    #: The paper's name in ``summary.json``.
    PAPER: ClassVar[str] = "PL23"

    def check(self) -> PL23Config:
        """Fill in the default ``out`` (the options have no cross-option checks); returns the
        configuration."""
        if self.out is None:
            self.out = Path("linsim-out/heavytail-pl23")
        return self


def run_studies(cfg: PL23Config) -> tuple[dict, dict, dict]:
    """Run the chosen studies of a configuration, in the order of ``cfg.study``.

    Parameters
    ----------
    cfg : PL23Config
        The run.

    Returns
    -------
    summaries : dict
        Study name -> its JSON-ready summary.
    arrays : dict
        Name -> array, the contents of ``arrays.npz``.
    figures : dict
        Figure name -> ``(result, claim ids)``; the name is also that of the function of
        :mod:`linsim.plotting.pl23` that draws it.
    """
    summaries: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    figs: dict[str, tuple[Any, tuple[str, ...]]] = {}
    q, seed = cfg.quick, cfg.seed
    for name in cfg.study:
        if name == "sharpness":
            r = sharpness_study(q, seed=seed)
            summaries[name] = r.summary()
            for j, tr in enumerate(r.trajectories):
                arrays[f"sharpness_{j}_steps"] = tr.steps
                for d, v in tr.S.items():
                    arrays[f"sharpness_{j}_S_{d}"] = v
            figs["pl23_sharpness"] = (r, ("PL23.sharpness",))
        elif name == "clip-helps":
            r = clip_helps(d=2000 if q else 5000, seed=seed)
            summaries[name] = r.summary()
            figs["pl23_clip_helps"] = (r, ("PL23.clip-helps",))
        else:
            r = stable_step(q, seed=seed)
            summaries[name] = r.summary()
            arrays.update({"stable_step_fracs": r.fracs, "stable_step_measured": r.measured,
                           "stable_step_predicted": r.predicted})
            for k in ("deterministic", "noisy"):
                for f in ("steps", "gap", "threshold"):
                    arrays[f"trap_{k}_{f}"] = r.trap[k][f]
            figs["pl23_stable_step"] = (r, ("PL23.stable-step",))
    return summaries, arrays, figs
