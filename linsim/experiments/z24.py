"""Z24 on block-heterogeneous quadratics: flows against closed forms, GD and Adam bounds, the
four cases, block spectra.

Claims measured here (THEORY.md, "Z24"): Z24.gf-closed-form (:func:`gf_run`),
Z24.sf-diagonal (:func:`sf_diagonal_run`), Z24.gd-lower-bound (:func:`gd_lower_bound`),
Z24.adam-bound (:func:`adam_bound`), Z24.scale-invariance (:func:`scale_invariance`),
Z24.cases (:func:`cases_table`), Z24.js (:func:`js_run`). Each returns a plain result object
shared by the command line (``python -m linsim.z24``), the claim registry and the figures.

A run of ``python -m linsim.z24`` is a :class:`CasesConfig` (its options, checked here), run by
:func:`run_cases` and turned into ``summary.json`` by :func:`summarize`.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .. import io, spectra
from .. import optimizers as opt
from ..config import Config, Option, names, number
from ..integrate import Events, IntegrationError, solve
from ..problems import quadratic as quad
from ..problems.quadratic import BlockQuadratic


# --------------------------------------------------------------------------------------------
# Z24.gf-closed-form
# --------------------------------------------------------------------------------------------
def matched_cases(seed: int = 0, z_seed: int = 1) -> tuple[BlockQuadratic, BlockQuadratic]:
    """Case 3 and Case 4 with the same eigen-coordinates ``z0`` of ``w0 - w*``.

    They share the full spectrum, so gradient flow, GD and heavy ball give them the same
    losses; only the block structure differs.
    """
    z0 = np.random.default_rng(z_seed).standard_normal(9)
    return quad.case3(seed, z0=z0), quad.case4(seed, z0=z0)


@dataclass
class GFRun:
    """Gradient flow on several problems, simulated and in closed form.

    Attributes
    ----------
    t : ndarray
        Output times.
    problems : dict
        Name -> problem.
    gaps, closed : dict
        Name -> simulated / closed-form ``f(t) - f*``.
    block_gaps : dict
        Name -> simulated per-block gaps, shape ``(len(t), L)``.
    stats : dict
        Name -> integrator statistics.
    """

    t: np.ndarray
    problems: dict
    gaps: dict = field(default_factory=dict)
    closed: dict = field(default_factory=dict)
    block_gaps: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    def rel_err(self, name: str, floor: float = 1e-13) -> float:
        """Largest ``|simulated - closed| / closed`` where ``closed / closed[0] > floor``."""
        c = self.closed[name]
        m = c > floor * c[0]
        return float(np.max(np.abs(self.gaps[name][m] - c[m]) / c[m]))

    def cross_gap(self, a: str, b: str, floor: float = 1e-13) -> float:
        """Largest relative difference between the simulated losses of two problems."""
        x, y = self.gaps[a], self.gaps[b]
        m = y > floor * y[0]
        return float(np.max(np.abs(x[m] - y[m]) / y[m]))


def gf_run(problems: dict[str, BlockQuadratic], *, t_max: float = 10.0, points: int = 200,
           method: str = "DOP853", rtol: float = 3e-14, atol: float = 1e-18) -> GFRun:
    """Integrate gradient flow (``linsim.integrate.solve`` on :func:`quadratic_field`) on each
    problem and record ``f - f*`` (and per-block gaps) at log-spaced times from ``1e-5``."""
    t = np.logspace(-5, math.log10(t_max), points)
    run = GFRun(t, dict(problems), settings={"method": method, "rtol": rtol, "atol": atol,
                                              "t_max": t_max, "points": points})
    for name, p in problems.items():
        sol = solve(quad.quadratic_field, (0.0, t_max), p.w0, p.params("gradient"),
                    method=method, rtol=rtol, atol=atol, t_eval=t, output=quad.quadratic_gaps,
                    n_output=1 + p.blocks)
        run.gaps[name] = sol.y[:, 0].copy()
        run.block_gaps[name] = sol.y[:, 1:].copy()
        run.closed[name] = p.gf_gap(t)
        run.stats[name] = sol.stats
    return run


def gd_matched(problems: dict[str, BlockQuadratic], lr: float, steps: int,
               method: str = "gd") -> dict[str, np.ndarray]:
    """Relative gaps of GD (``method="gd"``), heavy ball (``"heavy_ball"``, beta 0.9) or
    Adam(0, 1) (``"adam01"``) with one step size on each problem."""
    make = {"gd": opt.gd, "heavy_ball": lambda x: opt.heavy_ball(x, 0.9), "adam01": opt.adam01}
    return {k: opt.run(p, make[method](lr), max_iter=steps).relative
            for k, p in problems.items()}


# --------------------------------------------------------------------------------------------
# Z24.sf-diagonal
# --------------------------------------------------------------------------------------------
@dataclass
class SFRun:
    """Sign flow on a diagonal H: event-driven simulation against the closed form.

    Attributes
    ----------
    problem : BlockQuadratic
    t : ndarray
        Output times.
    w, w_closed : ndarray
        Simulated and closed-form states, shape ``(len(t), n)``.
    event_times : ndarray
        When each coordinate reached ``w*_i`` (simulated), by coordinate.
    stop_time : float
        The last of them: the simulated stopping time.
    chatter : dict
        Fixed-step Euler without events: ``{"t", "w", "step"}``; the coordinates chatter around
        ``w*`` with an amplitude of about the step.
    adaptive_failure : str or None
        What the adaptive RK45 integrator without events reported past the stopping time.
    """

    problem: BlockQuadratic
    t: np.ndarray
    w: np.ndarray
    w_closed: np.ndarray
    event_times: np.ndarray
    stop_time: float
    chatter: dict = field(default_factory=dict)
    adaptive_failure: str | None = None
    settings: dict = field(default_factory=dict)

    @property
    def max_err(self) -> float:
        """Largest ``|w - w_closed|`` over all output times and coordinates."""
        return float(np.max(np.abs(self.w - self.w_closed)))


def sf_events(problem: BlockQuadratic, t_eval: np.ndarray, *, method: str = "RK45",
              rtol: float = 1e-14, atol: float = 1e-16,
              flow: str = "sign") -> tuple[np.ndarray, np.ndarray]:
    """Sign flow on a diagonal H, stopping each coordinate at its zero with an event.

    The right-hand side is :func:`quadratic_field` with the sign flow of :mod:`linsim.flows`.
    A terminal event (:func:`coordinate_gaps`) stops the integration when some ``w_i`` reaches
    ``w*_i``; that coordinate is set to ``w*_i`` exactly and the integration restarts. With a
    diagonal H its gradient entry is then exactly 0, so ``sign(0) = 0`` keeps it there: on a
    diagonal H this *is* the Filippov solution (the equivalent control of a stuck coordinate is
    0). Dense blocks couple the coordinates and need the sliding integrator of the Filippov
    issue (``linsim.integrate.sliding``).

    ``flow`` names the field of :mod:`linsim.flows` (``"sign"``; ``"gradient"`` is the negative
    control of Z24.sf-diagonal). Gradient flow has no switching surface and never reaches ``w*``
    in finite time, so it is integrated without events (its coordinates reach ``w*`` only to
    rounding, and the driver's event location divides by zero on such a flat zero).

    The step that contains a crossing straddles the discontinuity of the right-hand side; the
    error control shrinks it until the crossing is located to about ``atol``. With the default
    tolerances the event times come out within about 1e-11 of the exact ones.

    Returns
    -------
    w : ndarray
        States at ``t_eval``.
    event_times : ndarray
        Per coordinate, the time it reached ``w*_i`` (NaN if it did not by ``t_eval[-1]``).
    """
    if not problem.diagonal:
        raise ValueError("sf_events needs a diagonal H; dense blocks need the Filippov "
                         "sliding integrator")
    n = problem.n
    p = problem.params(flow)
    ev = Events(quad.coordinate_gaps, n, 0.0, True) if flow == "sign" else None
    y = problem.w0.copy()
    t0, t1 = 0.0, float(t_eval[-1])
    out = np.empty((t_eval.size, n))
    done = 0
    hits = np.full(n, np.nan)
    hits[y == problem.w_star] = 0.0
    while True:
        te = t_eval[done:]
        sol = solve(quad.quadratic_field, (t0, t1), y, p, method=method, rtol=rtol, atol=atol,
                    t_eval=te, events=ev)
        k = sol.t.size
        out[done : done + k] = sol.y
        done += k
        if sol.status != 1:
            break
        i = int(sol.event_index[-1])
        hits[i] = sol.t_final
        y = sol.y_final.copy()
        y[i] = problem.w_star[i]
        t0 = sol.t_final
        if t0 >= t1:
            break
    if done < t_eval.size:  # the last event fell exactly on t1
        out[done:] = y
    return out, hits


def sf_diagonal_run(problem: BlockQuadratic, *, points: int = 400, horizon: float = 1.5,
                    euler_step: float | None = None, flow: str = "sign") -> SFRun:
    """Z24.sf-diagonal: event-driven sign flow, the closed form, and two naive integrations.

    ``horizon`` times the predicted stopping time is simulated. The naive runs are fixed-step
    Euler without events (it chatters) and adaptive RK45 without events (its step collapses at
    the discontinuity; the error it raises is recorded); they illustrate the figure and are no
    part of the claim. ``flow="gradient"`` integrates gradient flow instead (the negative
    control): no coordinate reaches ``w*``, and the stopping time is ``inf``.
    """
    T = horizon * problem.sf_stop_time
    t = np.linspace(0.0, T, points)
    w, hits = sf_events(problem, t, flow=flow)
    stop = float(np.max(hits)) if np.all(np.isfinite(hits)) else math.inf
    run = SFRun(problem, t, w, problem.sf_state(t), hits, stop,
                settings={"points": points, "horizon": horizon, "flow": flow})
    h = euler_step or problem.sf_stop_time / 200.0
    te = np.arange(0.0, T, h)  # every Euler step
    try:
        sol = solve(quad.quadratic_field, (0.0, T), problem.w0, problem.params(flow),
                    method="Euler", step=h, t_eval=te)
        run.chatter = {"t": sol.t, "w": sol.y, "step": h}
    except IntegrationError as e:  # explicit Euler on stiff gradient flow blows up
        run.chatter = {"error": str(e), "step": h}
    try:
        solve(quad.quadratic_field, (0.0, T), problem.w0, problem.params(flow),
              method="RK45", rtol=1e-10, atol=1e-12, max_steps=20_000)
    except IntegrationError as e:
        run.adaptive_failure = str(e)
    return run


# --------------------------------------------------------------------------------------------
# Z24.gd-lower-bound
# --------------------------------------------------------------------------------------------
@dataclass
class GDBound:
    """Per-step contraction of GD on the worst case, over a grid of step sizes, per kappa.

    Attributes
    ----------
    kappas : list of float
    etas : dict
        kappa -> step sizes (a log grid plus ``eta* = 2/(kappa+1)``).
    min_ratio : dict
        kappa -> the smallest per-step ratio ``(f_{k+1} - f*)/(f_k - f*)`` over the steps, per
        step size.
    rho2 : dict
        kappa -> ``(1 - 2/(kappa+1))^2``.
    iterations, predicted_iterations : dict
        kappa -> GD's best iterations to ``tol`` over a dense step sweep, and
        ``ceil(log(1/tol) / log(1/rho2))``.
    at_star : dict
        kappa -> relative gaps of GD at ``eta*`` for ``steps`` steps.
    """

    kappas: list
    etas: dict
    min_ratio: dict
    rho2: dict
    iterations: dict
    predicted_iterations: dict
    best_eta: dict
    tol: float
    steps: int
    at_star: dict = field(default_factory=dict)

    def worst(self) -> tuple[float, float]:
        """``min over kappa, eta, steps of ratio / rho2`` and the relative gap at ``eta*``."""
        lo = min(float(np.min(self.min_ratio[k] / self.rho2[k])) for k in self.kappas)
        at = max(abs(float(self.min_ratio[k][self.etas[k] == 2.0 / (k + 1.0)][0])
                     / self.rho2[k] - 1.0) for k in self.kappas)
        return lo, at


def _lower_bound_method(method: str, kappa: float) -> Callable[[float], opt.Optimizer]:
    """The optimizer of :func:`gd_lower_bound` at step ``eta``: GD, or (the negative control)
    heavy ball with Polyak's momentum ``((sqrt(kappa) - 1)/(sqrt(kappa) + 1))^2``."""
    if method == "gd":
        return opt.gd
    if method == "heavy_ball":
        beta = ((math.sqrt(kappa) - 1.0) / (math.sqrt(kappa) + 1.0)) ** 2
        return lambda eta: opt.heavy_ball(eta, beta)
    raise ValueError(f"method must be 'gd' or 'heavy_ball', got {method!r}")


def gd_lower_bound(kappas: Sequence[float] = (10.0, 100.0, 1000.0, 5000.0), *,
                   n_eta: int = 400, steps: int = 40, tol: float = 1e-6,
                   method: str = "gd") -> GDBound:
    """Z24.gd-lower-bound: run GD on ``H = diag(1, kappa)``, ``w0 - w* = (1, 1/kappa)``.

    For each of ``n_eta`` step sizes from ``1e-3/kappa`` to 2 (and ``eta*``), ``steps`` steps
    of GD; the smallest per-step ratio is recorded. ``method="heavy_ball"`` runs heavy ball
    (Polyak's momentum) instead: the negative control, which beats the bound.
    """
    res = GDBound(list(kappas), {}, {}, {}, {}, {}, {}, tol, steps)
    for kappa in kappas:
        prob = quad.worst_case_gd(kappa)
        make = _lower_bound_method(method, kappa)
        star = 2.0 / (kappa + 1.0)
        etas = np.unique(np.concatenate([np.logspace(math.log10(1e-3 / kappa), math.log10(2.0),
                                                     n_eta), [star]]))
        mins = np.empty(etas.size)
        for j, eta in enumerate(etas):
            gaps = opt.run(prob, make(eta), max_iter=steps).gaps
            ok = (gaps[:-1] > 1e-250) & np.isfinite(gaps[1:])
            mins[j] = np.min(gaps[1:][ok] / gaps[:-1][ok])
            if eta == star:
                res.at_star[kappa] = gaps / gaps[0]
        rho2 = (1.0 - 2.0 / (kappa + 1.0)) ** 2
        fine = np.concatenate([opt.lr_grid(star / 10.0, min(2.0, star * 10.0), 64)[::-1],
                               [star]])
        sw = opt.sweep(prob, (make(e) for e in fine), tol=tol, max_iter=100 * int(kappa) + 100)
        res.etas[kappa] = etas
        res.min_ratio[kappa] = mins
        res.rho2[kappa] = rho2
        res.iterations[kappa] = sw.iterations
        res.best_eta[kappa] = sw.best.lr if sw.best else None
        res.predicted_iterations[kappa] = math.ceil(math.log(1.0 / tol) / -math.log(rho2))
    return res


# --------------------------------------------------------------------------------------------
# Z24.adam-bound
# --------------------------------------------------------------------------------------------
@dataclass
class AdamBound:
    """Adam(0, 1) from random initial points: the preconditioner, both r, the contraction.

    Per initial point (arrays of length ``n_init``):

    ``r1 = max_l C_{l,2} / min_l C_{l,1}`` with ``C_{l,1} = min_{i in l} |g0_i| / lambda_max,l``
    and ``C_{l,2} = max_{i in l} |g0_i| / lambda_max,l``; ``r2 = r1^2`` (THEORY.md: the paper's
    r may be the squared ratio); ``kappa_pre = kappa(D^-1/2 H D^-1/2)`` with ``D`` the diagonal
    preconditioner *measured* from the run's first step (``D_i = lr g0_i / (w0_i - w1_i)``;
    ``|g0|`` for Adam(0, 1)); ``max_ratio``, the largest per-step ratio
    ``(f_{k+1} - f*)/(f_k - f*)`` along the run with ``lr = 1/lambda_max(D^-1/2 H D^-1/2)``;
    ``kappa_eff = 1/(1 - max_ratio)``, the condition number that contraction corresponds to.
    ``precond_error`` is ``max_i |D_i / |g0_i| - 1|``.
    """

    case: int
    kappa_max_block: float
    kappa: float
    r1: np.ndarray
    r2: np.ndarray
    kappa_pre: np.ndarray
    max_ratio: np.ndarray
    steps: int
    method: str = "adam01"
    precond_error: np.ndarray | None = None

    @property
    def kappa_eff(self) -> np.ndarray:
        return 1.0 / (1.0 - self.max_ratio)

    @property
    def bound_ratio(self) -> np.ndarray:
        """``1 - 1/(r1 max_l kappa_l)``: the claimed per-step contraction (r = r1)."""
        return 1.0 - 1.0 / (self.r1 * self.kappa_max_block)

    @property
    def rounding(self) -> np.ndarray:
        """Per initial point, the relative error allowed for ``kappa_pre``: eigvalsh's backward
        error moves ``lambda_min`` by about ``n eps lambda_max``, i.e. ``n eps kappa_pre``
        relative (``n = 9``)."""
        return 9 * np.finfo(float).eps * self.kappa_pre

    def excess(self, which: str = "r1") -> np.ndarray:
        """Per initial point ``max(kappa_pre, kappa_eff) / (r max_l kappa_l (1 + rounding))``:
        the claim holds where it is <= 1 (kappa bound and contraction bound together)."""
        r = self.r1 if which == "r1" else self.r2
        return (np.maximum(self.kappa_pre, self.kappa_eff)
                / (r * self.kappa_max_block * (1.0 + self.rounding)))

    def violations(self, which: str = "r1") -> dict:
        """Counts of initial points where a bound fails beyond the eigenvalue rounding."""
        r = self.r1 if which == "r1" else self.r2
        b = r * self.kappa_max_block * (1.0 + self.rounding)
        return {"kappa_pre": int(np.sum(self.kappa_pre > b)),
                "contraction": int(np.sum(self.kappa_eff > b))}

    def quantiles(self, x: np.ndarray) -> dict:
        q = np.quantile(x, [0.1, 0.5, 0.9, 0.99])
        return {"min": float(x.min()), "q10": float(q[0]), "median": float(q[1]),
                "q90": float(q[2]), "q99": float(q[3]), "max": float(x.max())}


def preconditioner_stats(problem: BlockQuadratic, g0: np.ndarray,
                         d: np.ndarray | None = None) -> dict:
    """``C_{l,1}``, ``C_{l,2}``, ``r1``, ``r2`` of ``|g0|`` and ``kappa(D^-1/2 H D^-1/2)``.

    ``D`` is ``|g0|`` (Adam(0, 1)'s preconditioner) unless ``d`` gives another diagonal.
    """
    d = np.abs(g0) if d is None else np.asarray(d, float)
    a = np.abs(g0)
    off = problem.offsets
    lmax = np.array([v.max() for v in problem.eigvals])
    c1 = np.array([a[off[b]:off[b + 1]].min() for b in range(problem.blocks)]) / lmax
    c2 = np.array([a[off[b]:off[b + 1]].max() for b in range(problem.blocks)]) / lmax
    r1 = float(c2.max() / c1.min())
    s = 1.0 / np.sqrt(d)
    ev = np.linalg.eigvalsh(problem.H * np.outer(s, s))
    return {"D": d, "C1": c1, "C2": c2, "r1": r1, "r2": r1 * r1,
            "kappa_pre": float(ev[-1] / ev[0]), "lambda_max_pre": float(ev[-1])}


#: Methods of :func:`adam_bound`: Adam(0, 1) (the claim), and two negative controls with a
#: wrong preconditioner: GD (``D = I``) and preconditioned GD with ``D = |g0|`` in reversed
#: coordinate order (each coordinate divided by another block's gradient).
ADAM_BOUND_METHODS = ("adam01", "gd", "reversed")


def _nominal_preconditioner(method: str, g0: np.ndarray) -> np.ndarray:
    if method == "adam01":
        return np.abs(g0)
    if method == "gd":
        return np.ones_like(g0)
    if method == "reversed":
        return np.abs(g0)[::-1].copy()
    raise ValueError(f"method must be one of {', '.join(ADAM_BOUND_METHODS)}, got {method!r}")


def _run_preconditioned(p: BlockQuadratic, method: str, lr: float, d: np.ndarray,
                        steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaps and the first two iterates of ``method``: compiled Adam(0, 1) or GD; the reversed
    preconditioner ``w -= lr g / d`` as compiled GD in ``y = d^1/2 w`` on the Hessian
    ``d^-1/2 H d^-1/2`` (the same iterates, mapped back; the same losses)."""
    if method in ("adam01", "gd"):
        o = opt.adam01(lr) if method == "adam01" else opt.gd(lr)
        r = opt.run(p, o, max_iter=steps, record_iterates=2)
        return r.gaps, r.iterates
    q = coordinate_scaled(p, 1.0 / d)
    s = np.sqrt(d)
    y = BlockQuadratic(q.eigvals, q.rotations, s * p.w_star, s * p.w0, q.name)
    r = opt.run(y, opt.gd(lr), max_iter=steps, record_iterates=2)
    return r.gaps, r.iterates / s


def adam_bound(case: int = 3, *, n_init: int = 1000, seed: int = 0, steps: int = 200,
               problem_seed: int = 0, method: str = "adam01") -> AdamBound:
    """Z24.adam-bound over ``n_init`` initial points ``w0 = w* + N(0, I)``.

    Adam(0, 1) (:func:`linsim.optimizers.adam01`: ``beta1 = 0``, ``beta2 = 1``, ``v0 = g0^2``,
    no bias correction, eps 0) runs ``steps`` steps with ``lr = 1/lambda_max`` of the
    preconditioned Hessian; ratios are taken while the relative gap exceeds 1e-12 (below
    that the rounding of ``w - w*``, about 1e-16 ``|w*|``, shows in the ratios). The
    preconditioner is measured from the first step. ``method`` (:data:`ADAM_BOUND_METHODS`)
    swaps in a negative control with a wrong preconditioner; ``r`` is always that of ``|g0|``.
    """
    base = quad.case(case, seed=problem_seed)
    rng = np.random.default_rng(seed)
    out = {k: np.empty(n_init) for k in ("r1", "kpre", "ratio", "perr")}
    for j in range(n_init):
        p = base.with_start(base.w_star + rng.standard_normal(base.n))
        g0 = p.grad(p.w0)
        nominal = preconditioner_stats(p, g0, _nominal_preconditioner(method, g0))
        lr = 1.0 / nominal["lambda_max_pre"]
        gaps, its = _run_preconditioned(p, method, lr, nominal["D"], steps)
        d = lr * g0 / (its[0] - its[1])  # the preconditioner the run applied
        st = preconditioner_stats(p, g0, d)
        ok = gaps[:-1] > 1e-12 * gaps[0]  # below, rounding of w - w* shows in the ratios
        out["r1"][j] = st["r1"]
        out["kpre"][j] = st["kappa_pre"]
        out["ratio"][j] = float(np.max(gaps[1:][ok] / gaps[:-1][ok]))
        out["perr"][j] = float(np.max(np.abs(d / np.abs(g0) - 1.0)))
    return AdamBound(case, float(base.block_kappas.max()), base.kappa, out["r1"],
                     out["r1"] ** 2, out["kpre"], out["ratio"], steps, method, out["perr"])


# --------------------------------------------------------------------------------------------
# Z24.scale-invariance
# --------------------------------------------------------------------------------------------
def _invariance_methods(problem: BlockQuadratic) -> dict[str, Callable[[], opt.Optimizer]]:
    """The methods of the scale-invariance check, by label.

    Sign descent moves by ``||w0 - w*||_inf / 100`` per step; the Adam variants use ``lr =
    1/lambda_max(D^-1/2 H D^-1/2)``, stable and itself invariant under block scaling (a step
    size that made one run diverge would amplify rounding differences).
    """
    d = float(np.max(np.abs(problem.w0 - problem.w_star)))
    lr = 1.0 / preconditioner_stats(problem, problem.grad(problem.w0))["lambda_max_pre"]
    return {
        "sign descent": lambda: opt.sign_descent(d / 100.0),
        "adam(0.9,1)": lambda: opt.adam(lr, 0.9, 1.0, 0.0, bias_correction=False, v0="g0sq",
                                        name="adam(0.9,1)"),
        "adam(0,1)": lambda: opt.adam01(lr),
    }


@dataclass
class ScaleInvariance:
    """Trajectories of each method on the problem and on block-scaled copies.

    Attributes
    ----------
    scales : ndarray
        ``(n_scalings, L)`` block factors.
    deviation : dict
        Method -> per scaling, ``max_k ||w_k(scaled) - w_k|| / ||w0 - w*||`` (inf norms).
    example : dict
        Method -> ``(distances of the original, distances of the first scaled copy)`` with
        distance ``||w_k - w*||_2``, for the figure.
    """

    scales: np.ndarray
    deviation: dict
    example: dict
    steps: int


def coordinate_scaled(problem: BlockQuadratic, s) -> BlockQuadratic:
    """``H -> S^1/2 H S^1/2`` with one factor ``s_i > 0`` per coordinate (same ``w*``, ``w0``).

    With ``s`` constant on each block this is :meth:`BlockQuadratic.scaled`; with ``s``
    varying inside a block it is not a block scaling (the negative control of
    Z24.scale-invariance): the blocks stay blocks, but their eigenvectors turn.
    """
    s = np.asarray(s, float)
    off = problem.offsets
    eig, rots = [], []
    for b in range(problem.blocks):
        r = np.sqrt(s[off[b]:off[b + 1]])
        m = r[:, None] * problem.block_matrix(b) * r[None, :]
        lam, q = np.linalg.eigh(0.5 * (m + m.T))
        eig.append(np.ascontiguousarray(lam))
        rots.append(np.ascontiguousarray(q))
    return BlockQuadratic(tuple(eig), tuple(rots), problem.w_star, problem.w0,
                          problem.name + " (coordinate-scaled)")


def scale_invariance(case: int = 3, *, n_scalings: int = 20, seed: int = 0, steps: int = 200,
                     log10_range: float = 2.0, problem_seed: int = 0,
                     blockwise: bool = True) -> ScaleInvariance:
    """Z24.scale-invariance: ``H_l -> s_l H_l`` with ``log10 s_l`` uniform in
    ``[-log10_range, log10_range]``.

    Sign descent and Adam with ``beta2 = 1`` (``v0 = g0^2``, eps 0) must keep their iterates;
    GD (step ``1/lambda_max`` of the larger of the two Hessians, so both runs are stable) must
    not. ``blockwise=False`` draws one factor per coordinate instead and scales
    ``H -> S^1/2 H S^1/2`` (:func:`coordinate_scaled`): the negative control, under which no
    method is invariant.
    """
    base = quad.case(case, seed=problem_seed)
    rng = np.random.default_rng(seed)
    width = base.blocks if blockwise else base.n
    scales = 10.0 ** rng.uniform(-log10_range, log10_range, size=(n_scalings, width))
    methods = _invariance_methods(base)
    d0 = float(np.max(np.abs(base.w0 - base.w_star)))
    ref = {k: opt.run(base, m(), max_iter=steps, record_iterates=steps + 1).iterates
           for k, m in methods.items()}
    dev = {k: np.empty(n_scalings) for k in [*methods, "gd"]}
    example = {}
    for j, s in enumerate(scales):
        sp = base.scaled(s) if blockwise else coordinate_scaled(base, s)
        for k, m in methods.items():
            w = opt.run(sp, m(), max_iter=steps, record_iterates=steps + 1).iterates
            # a run that diverged stops early: its iterates are not the reference's
            dev[k][j] = (float(np.max(np.abs(w - ref[k]))) / d0 if w.shape == ref[k].shape
                         else math.inf)
            if j == 0:
                example[k] = (np.linalg.norm(ref[k] - base.w_star, axis=1),
                              np.linalg.norm(w - base.w_star, axis=1))
        lr = 1.0 / max(base.eigenvalues.max(), sp.eigenvalues.max())
        a = opt.run(base, opt.gd(lr), max_iter=steps, record_iterates=steps + 1).iterates
        b = opt.run(sp, opt.gd(lr), max_iter=steps, record_iterates=steps + 1).iterates
        dev["gd"][j] = (float(np.max(np.abs(a - b))) / d0 if a.shape == b.shape
                        else math.inf)
        if j == 0:
            example["gd"] = (np.linalg.norm(a - base.w_star, axis=1),
                             np.linalg.norm(b - base.w_star, axis=1))
    return ScaleInvariance(scales, dev, example, steps)


# --------------------------------------------------------------------------------------------
# Z24.cases
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MethodSpec:
    """A row of the Z24.cases table: templates (step size 1) and the step sizes to sweep.

    ``templates(problem)`` lists the settings other than the step size (one per momentum or
    decay); ``lrs(problem)`` the step sizes, largest first.
    """

    name: str
    label: str
    templates: Callable[[BlockQuadratic], list]
    lrs: Callable[[BlockQuadratic], np.ndarray]


_LRS = opt.lr_grid(1e-7, 10.0, 4)[::-1]
_DECAYS = (0.9999, 0.9997, 0.999, 0.997, 0.99, 0.97, 0.9)

#: Every method of the Z24.cases table, in order.
METHODS: dict[str, MethodSpec] = {m.name: m for m in (
    MethodSpec("gd", "GD", lambda p: [opt.gd(1.0)], lambda p: _LRS),
    MethodSpec("heavy_ball", "heavy ball (beta in .5,.9,.99,.999)",
               lambda p: [opt.heavy_ball(1.0, b) for b in (0.999, 0.99, 0.9, 0.5)],
               lambda p: _LRS),
    MethodSpec("adam01", "Adam(0,1), v0=g0^2, no bias corr.", lambda p: [opt.adam01(1.0)],
               lambda p: _LRS),
    MethodSpec("adam", "Adam(0.9,0.999), eps 1e-8, bias corr.", lambda p: [opt.adam(1.0)],
               lambda p: _LRS),
    MethodSpec("rmsprop", "RMSProp(0.99), eps 1e-8", lambda p: [opt.rmsprop(1.0)],
               lambda p: _LRS),
    MethodSpec("sign", "sign descent, constant step", lambda p: [opt.sign_descent(1.0)],
               lambda p: _LRS),
    MethodSpec("sign-geometric", "sign descent, lr decay^k",
               lambda p: [opt.sign_descent(1.0, "geometric", d) for d in _DECAYS],
               lambda p: _LRS),
    MethodSpec("normalized", "normalized GD, constant or lr decay^k",
               lambda p: [opt.normalized_gd(1.0)]
               + [opt.normalized_gd(1.0, "geometric", d) for d in _DECAYS],
               lambda p: _LRS),
    MethodSpec("block_gd", "oracle GD, 2/(lmin_l+lmax_l) per block",
               lambda p: [opt.oracle_block_gd(p)],
               lambda p: opt.lr_grid(0.05, 1.25, 32)[::-1]),
)}


@dataclass
class CasesResult:
    """The Z24.cases table.

    Attributes
    ----------
    cases, seeds, methods : lists
    iterations : dict
        ``(case, method) -> [iterations or None per seed]``: the best over the sweep.
    best : dict
        ``(case, method) -> [best setting (dict) or None per seed]``.
    curves : dict
        ``(case, method) -> relative gap per iteration`` of the best setting, first seed.
    kappas : dict
        ``case -> (kappa, max_l kappa_l)``.
    """

    cases: list
    seeds: list
    methods: list
    tol: float
    max_iter: int
    iterations: dict = field(default_factory=dict)
    best: dict = field(default_factory=dict)
    curves: dict = field(default_factory=dict)
    kappas: dict = field(default_factory=dict)
    seconds: float = 0.0

    def median(self, case: int, method: str) -> float | None:
        """Median iterations over the seeds (a seed that did not reach counts as infinite)."""
        v = [math.inf if x is None else x for x in self.iterations[(case, method)]]
        m = float(np.median(v))
        return None if math.isinf(m) else m

    def summary(self) -> dict:
        """``{"case N": {method: {median, min, max, reached, iterations, best}}}``."""
        out = {}
        for c in self.cases:
            row = {}
            for m in self.methods:
                its = self.iterations[(c, m)]
                got = [x for x in its if x is not None]
                row[m] = {"median": self.median(c, m), "min": min(got) if got else None,
                          "max": max(got) if len(got) == len(its) else None,
                          "reached": len(got), "iterations": its,
                          "best": self.best[(c, m)]}
            out[f"case {c}"] = row
        return out


def best_iterations(problem: BlockQuadratic, method: str, *, tol: float = 1e-6,
                    max_iter: int = 100_000, slack: float = 2.0) -> opt.Sweep:
    """The best setting of one table method on one problem (pruned sweep, see
    :func:`linsim.optimizers.tune_all`)."""
    spec = METHODS[method]
    return opt.tune_all(problem, spec.templates(problem), spec.lrs(problem), tol=tol,
                        max_iter=max_iter, slack=slack)


def cases_table(cases: Sequence[int] = (1, 2, 3, 4), seeds: Sequence[int] = range(5),
                methods: Sequence[str] | None = None, *, tol: float = 1e-6,
                max_iter: int = 100_000, slack: float = 2.0, curves: bool = True,
                progress: Callable[[str], None] | None = None) -> CasesResult:
    """Z24.cases: for each case, seed and method, the fewest iterations to relative gap ``tol``
    over the step-size sweep (and momentum or decay where the method has one).

    ``progress(label)`` is called after each (case, seed, method).
    """
    methods = list(METHODS) if methods is None else list(methods)
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise ValueError(f"methods must be among {', '.join(METHODS)}, got {bad[0]!r}")
    start = time.perf_counter()
    res = CasesResult(list(cases), list(seeds), methods, tol, max_iter)
    for c in cases:
        for m in methods:
            res.iterations[(c, m)] = []
            res.best[(c, m)] = []
        for s in seeds:
            p = quad.case(c, seed=s)
            res.kappas[c] = (p.kappa, float(p.block_kappas.max()))
            for m in methods:
                sw = best_iterations(p, m, tol=tol, max_iter=max_iter, slack=slack)
                res.iterations[(c, m)].append(sw.iterations)
                res.best[(c, m)].append(None if sw.best is None else sw.best.describe())
                if curves and s == seeds[0] and sw.best is not None:
                    res.curves[(c, m)] = opt.run(p, sw.best, max_iter=sw.iterations,
                                                 tol=tol).relative
                if progress is not None:
                    progress(f"case {c} seed {s} {m}")
    res.seconds = time.perf_counter() - start
    return res


# --------------------------------------------------------------------------------------------
# python -m linsim.z24: the Z24.cases table's configuration and summary
# --------------------------------------------------------------------------------------------
#: The command line's name, recorded in ``summary.json``'s ``command``.
PROG = "python -m linsim.z24"
#: What ``--quick`` runs when ``--cases`` or ``--methods`` is not given.
QUICK_CASES = (3, 4)
QUICK_METHODS = ("gd", "adam01")


def _cases(text: str) -> tuple[int, ...]:
    """``--cases``: a comma list of distinct cases from 1, 2, 3, 4."""
    return tuple(int(c) for c in names("--cases", ("1", "2", "3", "4"))(text))


#: Every option of ``python -m linsim.z24``, by :class:`CasesConfig` field, in ``--help`` order.
CASES_OPTIONS: dict[str, Option] = {
    "cases": Option(_cases, None, "comma list of cases from 1,2,3,4 (default all; --quick: 3,4)",
                    "LIST"),
    "methods": Option(names("--methods", tuple(METHODS)), None,
                      "comma list of methods (default all; --quick: gd,adam01); names: "
                      "gd, heavy_ball, adam01, adam, rmsprop, sign, sign-geometric, "
                      "normalized, block_gd", "LIST"),
    "seeds": Option(number("--seeds", int, 1, 1000), 5,
                    "number of seeds 0..N-1 (rotations and w*), an integer in [1, 1000] "
                    "(default 5)", "N"),
    "tol": Option(number("--tol", float, 0.0, 0.5, lo_open=True), 1e-6,
                  "relative loss tolerance, in (0, 0.5] (default 1e-6)"),
    "max_iter": Option(number("--max-iter", int, 1, 10_000_000), 100_000,
                       "iteration budget per run, an integer in [1, 1e7] (default 100000)"),
    "quick": Option(None, False, "Cases 3 and 4, GD and Adam(0,1) only (explicit "
                    "--cases/--methods win)", switch=True),
}


@dataclass
class CasesConfig(Config):
    """One run of ``python -m linsim.z24`` (the Z24.cases table): every option of
    :data:`CASES_OPTIONS` as a field.

    Construct it with values (each is checked as its option is) or from text with
    :meth:`~linsim.config.Config.from_text`; :meth:`check` fills in what depends on other
    options. Every error is a :class:`linsim.config.UsageError` naming the option.

    Attributes
    ----------
    cases, methods : tuple or None
        None until :meth:`check`: every case and method, or with ``quick`` those of
        :data:`QUICK_CASES` and :data:`QUICK_METHODS`.
    out : Path or None
        The output folder (not an option here; None: ``linsim-out/z24`` after :meth:`check`).
    argv : list of str or None
        The arguments that ``summary.json``'s ``command`` records (None: ``sys.argv[1:]``).
    """

    cases: tuple[int, ...] | None = None
    methods: tuple[str, ...] | None = None
    seeds: int = 5
    tol: float = 1e-6
    max_iter: int = 100_000
    quick: bool = False
    out: Path | None = None
    argv: list[str] | None = None

    OPTIONS: ClassVar[dict[str, Option]] = CASES_OPTIONS

    def check(self) -> CasesConfig:
        """Fill in ``cases``, ``methods`` (by ``quick``) and ``out``; returns the
        configuration."""
        if self.cases is None:
            self.cases = QUICK_CASES if self.quick else (1, 2, 3, 4)
        if self.methods is None:
            self.methods = QUICK_METHODS if self.quick else tuple(METHODS)
        if self.out is None:
            self.out = Path("linsim-out/z24")
        return self

    @property
    def runs(self) -> int:
        """How many (case, seed, method) sweeps the table takes."""
        return len(self.cases) * self.seeds * len(self.methods)


def run_cases(cfg: CasesConfig, progress: Callable[[str], None] | None = None) -> CasesResult:
    """The Z24.cases table of a checked :class:`CasesConfig` (:func:`cases_table`);
    ``progress(label)`` after each (case, seed, method)."""
    return cases_table(cfg.cases, range(cfg.seeds), cfg.methods, tol=cfg.tol,
                       max_iter=cfg.max_iter, progress=progress)


def summarize(res: CasesResult, cfg: CasesConfig) -> dict[str, Any]:
    """The ``summary.json`` document of a Z24.cases run (no timings: same options, same
    bytes)."""
    if cfg.argv is not None:
        command = " ".join([PROG, *cfg.argv])
    else:
        command = " ".join([PROG, *sys.argv[1:]]) if sys.argv else PROG
    return {
        "claims": ["Z24.cases"],
        "cases": {f"case {c}": {"name": quad.CASE_NAMES[c], "kappa": res.kappas[c][0],
                                "max_block_kappa": res.kappas[c][1]} for c in res.cases},
        "methods": {m: METHODS[m].label for m in res.methods},
        "seeds": res.seeds,
        "tol": res.tol,
        "max_iter": res.max_iter,
        "table": res.summary(),
        "note": "iterations: best over the step-size sweep per seed (None: not reached within "
                "max_iter); median over seeds counts None as infinite",
        "versions": io.versions(),
        "command": command,
    }


# --------------------------------------------------------------------------------------------
# Z24.js
# --------------------------------------------------------------------------------------------
@dataclass
class JSRun:
    """Block spectra of each case by SLQ and exactly, and their JS distances.

    Attributes
    ----------
    slq, exact : dict
        ``case -> linsim.spectra.BlockSpectra``.
    """

    cases: list
    slq: dict
    exact: dict
    bandwidth: float
    n_vec: int
    steps: int


def js_run(cases: Sequence[int] = (1, 2, 3, 4), *, seed: int = 0,
           bandwidth: float = spectra.BANDWIDTH, n_vec: int = 50, steps: int = 30) -> JSRun:
    """Z24.js: SLQ (``n_vec`` Rademacher vectors, ``steps`` Lanczos steps with full
    re-orthogonalization) and exact block densities on one ``log10 lambda`` grid."""
    probs = {c: quad.case(c, seed=seed) for c in cases}
    lam = np.concatenate([p.eigenvalues for p in probs.values()])
    grid = spectra.log10_grid(float(lam.min()), float(lam.max()))
    run = JSRun(list(cases), {}, {}, bandwidth, n_vec, steps)
    for c, p in probs.items():
        blocks = [p.block_matrix(b) for b in range(p.blocks)]
        run.slq[c] = spectra.block_spectra(blocks, method="slq", grid=grid, bandwidth=bandwidth,
                                           n_vec=n_vec, steps=steps, seed=seed)
        run.exact[c] = spectra.block_spectra(blocks, method="exact", grid=grid,
                                             bandwidth=bandwidth)
    return run


def slq_convergence(d: int = 40, n_vecs: Sequence[int] = (4, 16, 64, 256), *, steps: int = 40,
                    kappa: float = 1000.0, bandwidth: float = spectra.BANDWIDTH, seed: int = 0,
                    repeats: int = 8) -> dict:
    """L1 distance between the SLQ and the exact density of one Haar-rotated block, as the
    number of vectors grows (mean over ``repeats`` seeds); Monte Carlo predicts ``n_vec^-1/2``.
    """
    lam = quad.parametric_spectrum(d, kappa)
    H = quad.from_blocks([lam], seed=seed).block_matrix(0)
    grid = spectra.log10_grid(1.0, kappa, points=601)
    exact = spectra.kde_log10(lam, np.full(d, 1.0 / d), grid, bandwidth)
    errs = []
    for nv in n_vecs:
        e = []
        for r in range(repeats):
            x, w = spectra.slq(H, n_vec=nv, steps=steps, seed=1000 * r + nv)
            e.append(np.trapezoid(np.abs(spectra.kde_log10(x, w, grid, bandwidth) - exact),
                                  grid))
        errs.append(float(np.mean(e)))
    return {"n_vec": np.asarray(n_vecs, float), "l1": np.asarray(errs), "d": d, "steps": steps}
