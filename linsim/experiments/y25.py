"""Y25 on the unigram model, and the checks of "Integrating sign flow honestly".

Measured here (THEORY.md ids where they exist):

* **Y25.sf-vs-nf**: time (and integrator work) for sign flow and normalized flow to reach
  ``f - f* <= eps`` from ``theta = 0``, over ``c`` and the Zipf exponent ``a``
  (:func:`sf_vs_nf`, :func:`sf_vs_nf_sweep`).
* **Y25.sf-extinction** (this module's prediction, from the exactness of implicit Euler on
  sticking-only intervals): sign flow reaches the minimizer set exactly at
  ``t* = min_s ||theta0 - log pi - s 1||_inf = (max_k d_k - min_k d_k) / 2`` with
  ``d = log pi - theta0``, i.e. ``a log(c) / 2`` from ``theta0 = 0`` under Zipf's law.
* The three sign-flow integrators agree (closed form, event-driven sliding, implicit Euler) on
  diagonal and rotated-block quadratics and on the unigram model; smoothed sign converges at
  ``O(eps)``; the dissipation identity ``df/dt = -||grad f||_1``; ``g_S = 0`` on the sliding
  set; no chattering (:func:`filippov_agreement`, :func:`unigram_agreement`,
  :func:`smoothed_convergence`, :func:`dissipation`, :func:`explicit_chattering`).

Normalized flow follows gradient flow's path at unit speed, so its time to reach a level is
the arc length of the gradient-flow path up to that level. For large ``c`` gradient flow is
stiff (eigenvalues from ``pi_c`` to ``pi_1``), so :func:`gf_arclength` integrates it with the
extrapolated linearly implicit Euler method of :mod:`linsim.integrate.implicit` (the Jacobian
``-(diag(p) - p p^T)`` is solved by Sherman-Morrison in ``O(c)``); :func:`nf_direct` integrates
normalized flow itself on the Runge-Kutta driver, and the two are compared where the driver is
affordable.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numba import njit
from scipy.optimize import brentq

from .. import rates
from ..flows import initial_state
from ..integrate import Events, IntegrationError, get_tableau, solve
from ..integrate.implicit import linearly_implicit_extrapolation
from ..integrate.sliding import sign_flow, solve_piecewise
from ..problems import zipf
from ..problems.filippov import QuadraticSign, UnigramSign
from ..problems.softmax import (
    UnigramModel,
    unigram_gap_event,
    unigram_grad,
    unigram_rest_events,
)

#: Level of ``f - f*`` taken as "reached the minimizer" by sign flow (rounding below).
EXTINCT = 1e-24


# --------------------------------------------------------------------------------------------
# analytic side


def lambda_min(pi: np.ndarray) -> float:
    """Smallest non-zero eigenvalue of ``diag(pi) - pi pi^T`` (the Hessian at the minimizer).

    It lies in ``[pi_(c), pi_(c-1)]`` (interlacing); found as the root of the secular equation
    ``1 = sum_k pi_k^2 / (pi_k - lambda)`` there.
    """
    p = np.sort(np.asarray(pi, float))
    lo, hi = p[0], p[1]
    if hi <= lo * (1 + 1e-12):
        return float(lo)
    dp = p - lo  # lambda = lo + mu, with the differences p - lo exact
    span = hi - lo

    def secular(mu):
        return 1.0 - float(np.sum(p**2 / (dp - mu)))

    mu = brentq(secular, 1e-14 * span, (1 - 1e-14) * span, xtol=1e-300, rtol=1e-15)
    return float(lo + mu)


def extinction_time(model: UnigramModel, theta0=None) -> float:
    """Y25.sf-extinction: ``(max d - min d) / 2`` with ``d = log pi - theta0``."""
    th = model.y0() if theta0 is None else np.asarray(theta0, float)
    d = model.log_pi - th
    return float(0.5 * (d.max() - d.min()))


def centered_distance(model: UnigramModel, theta0=None) -> float:
    """``||P (theta0 - log pi)||_2`` with ``P`` the centering projection: the straight-line
    distance to the minimizer that gradient and normalized flow reach (they keep the mean of
    ``theta``), a lower bound of normalized flow's time to the minimizer."""
    th = model.y0() if theta0 is None else np.asarray(theta0, float)
    d = th - model.log_pi
    return float(np.linalg.norm(d - d.mean()))


# --------------------------------------------------------------------------------------------
# gradient and normalized flow


@njit(cache=True)
def _gf_rhs_kernel(y, pi, out):
    """``out = (pi - p, ||p - pi||)`` for ``y = (theta, s)``."""
    c = pi.size
    g = out[:c]
    unigram_grad(y[:c], pi, g)
    acc = 0.0
    for k in range(c):
        acc += g[k] * g[k]
        g[k] = -g[k]
    out[c] = math.sqrt(acc)


@njit(cache=True)
def _gf_jac_kernel(y, pi, p, n):
    """``p = softmax(theta)`` and ``n = g / ||g||`` at ``y`` (the Jacobian's data)."""
    c = pi.size
    unigram_grad(y[:c], pi, n)
    acc = 0.0
    for k in range(c):
        p[k] = n[k] + pi[k]
        acc += n[k] * n[k]
    inv = 1.0 / math.sqrt(acc) if acc > 0.0 else 0.0
    for k in range(c):
        n[k] *= inv


@njit(cache=True)
def _gf_solve_kernel(p, n, h, r, out):
    """``(I - h J) x = r`` for ``J`` of ``(theta' = pi - p, s' = ||g||)``: Sherman-Morrison on
    ``I + h (diag(p) - p p^T)``, whose denominator ``1 - h sum p^2/(1 + h p)`` is written as
    ``sum p/(1 + h p)`` (``sum p = 1``, no cancellation); then ``x_s = r_s + h n^T H x``."""
    c = p.size
    a = 0.0
    b = 0.0
    for k in range(c):
        d = 1.0 + h * p[k]
        out[k] = r[k] / d
        a += p[k] * out[k]
        b += p[k] / d
    f = h * a / b
    px = 0.0
    for k in range(c):
        out[k] += p[k] / (1.0 + h * p[k]) * f
        px += p[k] * out[k]
    acc = 0.0
    for k in range(c):
        acc += n[k] * p[k] * (out[k] - px)
    out[c] = r[c] + h * acc


def _gf_factor(model: UnigramModel):
    """``factor(y)`` for :func:`linearly_implicit_extrapolation` on ``y = (theta, s)`` with
    ``theta' = pi - p`` and the arc length ``s' = ||p - pi||`` (compiled kernels)."""
    pi = model.pi
    c = model.classes

    def factor(y):
        p = np.empty(c)
        n = np.empty(c)
        _gf_jac_kernel(y, pi, p, n)

        def solve(h, r):
            out = np.empty(c + 1)
            _gf_solve_kernel(p, n, float(h), r, out)
            return out

        return solve

    return factor


def _gf_rhs(model: UnigramModel):
    pi = model.pi
    c = model.classes

    def rhs(y):
        out = np.empty(c + 1)
        _gf_rhs_kernel(np.ascontiguousarray(y), pi, out)
        return out

    return rhs


def gf_arclength(model: UnigramModel, eps: float, *, t_max: float = 1e16, rtol: float = 1e-10,
                 atol: float = 1e-13) -> dict:
    """Gradient flow from ``theta = 0`` until ``f - f* <= eps``, with its arc length.

    Returns ``{"t_gf": time, "t_nf": arc length = normalized flow's time to the same level,
    "naccepted", "nrejected", "nfev", "seconds"}`` and the rest of the solution's ``stats``
    (times None if not reached by ``t_max``).
    """
    c = model.classes
    y0 = np.zeros(c + 1)

    def gap(y):
        return model.gap(y[:c]) - eps

    start = time.perf_counter()
    res = linearly_implicit_extrapolation(
        _gf_rhs(model), _gf_factor(model), y0, (0.0, t_max), rtol=rtol, atol=atol,
        first_step=1e-2, event=gap, terminal=True)
    hit = res.t_events.size > 0
    return {"t_gf": float(res.t_events[0]) if hit else None,
            "t_nf": float(res.y_events[0, c]) if hit else None,
            **res.stats, "seconds": time.perf_counter() - start}


def nf_direct(model: UnigramModel, eps: float, *, t_max: float = 1e8, method: str = "DOP853",
              rtol: float = 1e-11, atol: float = 1e-13, max_steps: int = 2_000_000) -> dict:
    """Normalized flow integrated on the Runge-Kutta driver until ``f - f* <= eps`` (terminal
    event): the independent check of :func:`gf_arclength` (affordable for small ``c``)."""
    p = model.params("normalized", level=eps)
    ev = Events(unigram_gap_event, 1, -1.0, True)
    sol = solve(model.field, (0.0, t_max), model.y0(), p, method=method, rtol=rtol, atol=atol,
                events=ev, max_steps=max_steps)
    return {"t_nf": float(sol.t_final) if sol.status == 1 else None, "steps": sol.naccepted,
            "rhs_evals": sol.nfev, "seconds": sol.seconds}


def sf_time(model: UnigramModel, eps: float, method: str = "implicit", **kw) -> dict:
    """Sign flow from ``theta = 0`` until ``f - f* <= eps`` (``implicit`` or ``sliding``)."""
    T = 2.0 * extinction_time(model) + 1.0
    r = sign_flow(UnigramSign(model), model.y0(), (0.0, T), method=method, level=eps, **kw)
    return {"t_sf": r.time_to_level, **r.stats}


# --------------------------------------------------------------------------------------------
# Y25.sf-vs-nf


def sf_vs_nf(classes: int, zipf_a: float, eps: float = 1e-10) -> dict:
    """Times to ``f - f* <= eps`` of sign flow (implicit Euler, exact on this model) and
    normalized flow (arc length of gradient flow), with the predictions and the work."""
    model = UnigramModel(classes, zipf_a)
    sf = sf_time(model, eps)
    gf = gf_arclength(model, eps)
    return {
        "classes": classes, "zipf": zipf_a, "eps": eps,
        "t_sf": sf["t_sf"], "t_nf": gf["t_nf"], "t_gf": gf["t_gf"],
        "ratio": (sf["t_sf"] / gf["t_nf"]) if (sf["t_sf"] and gf["t_nf"]) else None,
        "sf_extinction_predicted": extinction_time(model),
        "nf_lower_bound": centered_distance(model),
        "sf_tr_solves": sf["tr_solves"], "gf_steps": gf["naccepted"],
        "gf_rhs_evals": gf["nfev"], "seconds": sf["seconds"] + gf["seconds"],
    }


def sf_vs_nf_sweep(classes=(10, 100, 1000, 10_000, 100_000), zipfs=(0.5, 1.0, 1.5),
                   eps: float = 1e-10) -> list[dict]:
    """:func:`sf_vs_nf` over a grid of ``c`` and ``a``."""
    return [sf_vs_nf(c, a, eps) for a in zipfs for c in classes]


# --------------------------------------------------------------------------------------------
# the CLI run (python -m linsim.flow --problem unigram)


@dataclass
class UnigramTrace:
    """One flow on the unigram model: ``f - f*`` (``overall``), group means and per-class
    values of the excess ``expm1(d_k) - d_k`` at the output times, and the work."""

    flow: str
    overall: np.ndarray
    groups: np.ndarray
    losses: np.ndarray
    stats: dict
    time_to_tol: float | None
    method: str
    closed: np.ndarray | None = None
    closed_groups: np.ndarray | None = None
    extinction: float | None = None


@dataclass
class UnigramRun:
    """Result of :func:`run_unigram` (the same interface as the K24 run for the CLI)."""

    model: UnigramModel
    t: np.ndarray
    labels: np.ndarray
    class_index: np.ndarray
    eps: float
    traces: dict[str, UnigramTrace] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    @property
    def pi(self) -> np.ndarray:
        return self.model.pi

    def max_rel_err(self, flow: str) -> None:
        """No closed form on the unigram model."""
        return None

    def time_to_tol(self, flow: str) -> float | None:
        return self.traces[flow].time_to_tol

    def rates(self, flow: str) -> list[dict]:
        """Measured rates of ``flow``, each ``{name, claim, measured, predicted, note}``."""
        tr = self.traces[flow]
        out: list[dict] = []
        if flow == "gradient":
            lam = lambda_min(self.pi)
            fit = rates.exp_rate(self.t, tr.overall, 1e-12, 1e-4 * tr.overall[0])
            out.append({"name": "exp_rate_of_gap", "claim": "Y25", "measured": fit.value,
                        "stderr": fit.stderr, "points": fit.points, "predicted": 2.0 * lam,
                        "note": "fitted r in f - f* ~ C exp(-r t) where 1e-12 <= f - f* <= 1e-4 "
                                "of its start (above the floor that the tolerances leave); "
                                "predicted: the asymptotic rate 2 lambda_min(diag(pi) - pi "
                                "pi^T) of the linearization, approached from above (the "
                                "smallest eigenvalues cluster near pi_c)"})
        elif flow == "sign":
            out.append({"name": "extinction_time", "claim": "Y25.sf-extinction",
                        "measured": tr.extinction,
                        "predicted": extinction_time(self.model),
                        "note": "time at which sign flow reaches the minimizer (f - f* = 0); "
                                "predicted (max - min)(log pi - theta0)/2 = a log(c)/2"})
        elif flow == "normalized":
            t_tol = tr.time_to_tol
            out.append({"name": "time_to_tol_over_l2_distance", "claim": "Y25.sf-vs-nf",
                        "measured": (t_tol / centered_distance(self.model)) if t_tol else None,
                        "predicted": 1.0,
                        "note": "time to f - f* <= eps over the straight-line distance to the "
                                "minimizer it reaches (>= 1: the path of gradient flow is "
                                "curved); the flow is stopped once f - f* <= 1e-4 eps"})
        if flow != "normalized":
            out.append({"name": "time_to_tol",
                        "claim": "Y25.sf-vs-nf" if flow in ("gradient", "sign") else None,
                        "measured": tr.time_to_tol, "predicted": None,
                        "note": f"first time with f - f* <= {self.eps:g}"})
        return out


#: Step budget of the naive explicit sign-flow integrator (it chatters: its steps collapse).
EXPLICIT_MAX_STEPS = 200_000


def run_unigram(
    model: UnigramModel,
    flows: tuple[str, ...] = ("gradient", "sign"),
    *,
    t_max: float = 1e5,
    points: int = 200,
    groups: int = 5,
    method: str = "RK45",
    rtol: float = 1e-8,
    atol: float = 1e-10,
    eps: float = 1e-10,
    sign_method: str = "sliding",
    progress: bool = False,
    flow_params: Mapping[str, Sequence[float]] | None = None,
) -> UnigramRun:
    """Integrate each flow on the unigram model from ``theta = 0`` and record, at
    ``points`` log-spaced times over 12 decades ending at ``t_max``, ``f - f*``, its group
    means and per-class excess; locate the first time with ``f - f* <= eps``.

    Gradient and normalized flow run on the Runge-Kutta driver (``method``, ``rtol``,
    ``atol``); sign flow with ``sign_method`` (``sliding``, ``implicit`` or ``explicit``, see
    :func:`linsim.integrate.sliding.sign_flow`); every other flow of :mod:`linsim.flows`
    (parameters in ``flow_params``, by name) on the Runge-Kutta driver.
    """
    from .k24 import output_times, recorded_classes

    t = output_times(t_max, points)
    labels = zipf.equal_mass_groups(model.pi, groups)
    sel = recorded_classes(model.classes)
    run = UnigramRun(model, t, labels, sel, eps, settings={
        "method": get_tableau(method).name, "rtol": rtol, "atol": atol, "t_max": t_max,
        "points": points, "groups": groups, "sign_method": sign_method, "eps": eps,
        "flow_params": {f: list(map(float, v)) for f, v in (flow_params or {}).items()
                        if f in flows}})
    flow_params = flow_params or {}
    n_out = 1 + groups + sel.size
    for flow in flows:
        if flow == "sign":
            prob = UnigramSign(model, labels, sel)
            kw = {}
            if sign_method in ("sliding", "explicit"):
                kw = dict(integrator=method, rtol=rtol, atol=atol)
            if sign_method == "explicit":
                kw["max_steps"] = EXPLICIT_MAX_STEPS
            try:
                r = sign_flow(prob, model.y0(), (0.0, t_max), method=sign_method, t_eval=t,
                              output=model.summary_output, n_output=n_out, level=eps, **kw)
            except IntegrationError as e:
                if sign_method == "explicit":
                    raise IntegrationError(e.t, f"{e.reason}; the explicit sign field chatters "
                                           f"on the sliding surfaces g_i = 0 (use "
                                           f"--sign-method sliding or implicit)",
                                           e.stats) from None
                raise
            y, stats, t_tol = r.y, dict(r.stats), r.time_to_level
            if sign_method == "sliding" and r.mode is not None and not np.any(r.mode):
                ext = float(r.t_events[-1]) if r.t_events.size else 0.0
            else:
                ext = sf_time(model, EXTINCT)["t_sf"]
            trace_method = sign_method
        else:
            # normalized flow reaches the minimizer in finite time, where -g/||g|| is
            # discontinuous: stop there (f - f* <= UNIGRAM_REST * eps) and hold the state.
            # The Adam-type flows stop there too: near the minimizer they chatter (eps = 0)
            # or turn into gradient flow slowed by 1/eps, stiff for an explicit method; they
            # are not at rest, so the later output times are NaN (not integrated).
            p = model.params(flow, labels, sel, level=eps,
                             flow_params=flow_params.get(flow, ()))
            adaptive = flow in ("adam", "rmsprop", "sign_eps")
            ev = Events(unigram_rest_events, 2, -1.0,
                        [False, flow == "normalized" or adaptive])
            y0 = initial_state(flow, model.y0())
            sol = solve(model.field, (0.0, t_max), y0, p, method=method, rtol=rtol,
                        atol=atol, t_eval=t, output=model.summary_output, n_output=n_out,
                        events=ev, progress=progress, progress_desc=f"{flow} flow")
            y, stats = sol.y, dict(sol.stats)
            hits = sol.t_events[sol.event_index == 0]
            t_tol = float(hits[0]) if hits.size else None
            ext = None
            if sol.status == 1 and adaptive:
                y = np.vstack([y, np.full((t.size - y.shape[0], n_out), np.nan)])
                stats["stopped_at"] = sol.t_final
            elif sol.status == 1:
                ext = sol.t_final
                rest = np.zeros(n_out)
                model.summary_output(sol.t_final, sol.y_final, p, rest)
                y = np.vstack([y, np.repeat(rest[None, :], t.size - y.shape[0], axis=0)])
                stats["rest_at"] = sol.t_final
            trace_method = get_tableau(method).name
        run.traces[flow] = UnigramTrace(
            flow=flow, overall=y[:, 0].copy(), groups=y[:, 1 : 1 + groups].copy(),
            losses=y[:, 1 + groups :].copy(), stats=stats, time_to_tol=t_tol,
            method=trace_method, extinction=ext)
    return run


# --------------------------------------------------------------------------------------------
# quadratics for the Filippov checks (the Z24 constructors live in problems/quadratic.py)


def rotated_blocks(block_eigs, seed: int = 0) -> np.ndarray:
    """``H = diag(Q_l Lambda_l Q_l^T)`` with Haar-random orthogonal ``Q_l`` (dense blocks)."""
    rng = np.random.default_rng(seed)
    n = sum(len(b) for b in block_eigs)
    H = np.zeros((n, n))
    at = 0
    for lam in block_eigs:
        d = len(lam)
        q, r = np.linalg.qr(rng.standard_normal((d, d)))
        q = q * np.sign(np.diag(r))
        H[at : at + d, at : at + d] = (q * np.asarray(lam, float)) @ q.T
        at += d
    return 0.5 * (H + H.T)


def filippov_quadratic(kind: str, n: int = 9, seed: int = 0) -> tuple[QuadraticSign, np.ndarray]:
    """A sign-flow test problem and a start: ``kind`` = ``"diagonal"`` (eigenvalues log-spaced
    in [1, 100]), ``"blocks"`` (three rotated blocks with eigenvalues in [1, 10], [10, 100],
    [100, 1000]: dense, heterogeneous) or ``"dense"`` (``A A^T + I/20`` with Gaussian ``A``:
    every coordinate coupled, where sign flow can stop later than ``||x0 - x*||_inf``)."""
    rng = np.random.default_rng(seed)
    if kind == "diagonal":
        H = np.diag(np.logspace(0, 2, n))
    elif kind == "blocks":
        sizes = [n // 3, n // 3, n - 2 * (n // 3)]
        H = rotated_blocks([rng.uniform(10.0**k, 10.0 ** (k + 1), s)
                            for k, s in enumerate(sizes)], seed)
    elif kind == "dense":
        A = rng.standard_normal((n, n))
        H = A @ A.T + 0.05 * np.eye(n)
        H = 0.5 * (H + H.T)
    else:
        raise ValueError(f"kind must be 'diagonal', 'blocks' or 'dense', got {kind!r}")
    x_star = rng.standard_normal(n)
    x0 = x_star + rng.uniform(-2.0, 2.0, n)
    return QuadraticSign(H, x_star), x0


# --------------------------------------------------------------------------------------------
# Filippov checks


def filippov_agreement(problem, x0, t_end: float, points: int = 101,
                       methods=("exact", "sliding", "implicit"), reference: str | None = None,
                       **kw) -> dict:
    """Run sign flow with several methods; largest distance of each from the reference
    (``closed`` on diagonal quadratics, else ``exact``/first method) over ``points`` times."""
    t = np.linspace(0.0, t_end, points)
    res = {m: sign_flow(problem, x0, (0.0, t_end), method=m, t_eval=t, **kw) for m in methods}
    ref = reference or methods[0]
    dist = {m: max(problem.distance(a, b) for a, b in zip(res[m].y, res[ref].y, strict=True))
            for m in methods if m != ref}
    return {"reference": ref, "distance": dist, "max_distance": max(dist.values()),
            "stats": {m: r.stats for m, r in res.items()},
            "events": {m: r.stats["events"] for m, r in res.items()}, "results": res}


def unigram_agreement(classes: int, zipf_a: float, points: int = 41, rtol: float = 1e-12,
                      atol: float = 1e-14) -> dict:
    """Sliding vs implicit Euler on the unigram model from ``theta = 0`` (distance modulo the
    shift along ``1``), with the extinction time of both against Y25.sf-extinction."""
    model = UnigramModel(classes, zipf_a)
    prob = UnigramSign(model)
    T = 1.5 * extinction_time(model) + 0.1
    out = filippov_agreement(prob, model.y0(), T, points, ("sliding", "implicit"),
                             rtol=rtol, atol=atol, integrator="DOP853", level=EXTINCT)
    sl = out["results"]["sliding"]
    out["extinction"] = {"sliding_last_event": float(sl.t_events[-1]),
                         "implicit_level": out["results"]["implicit"].time_to_level,
                         "predicted": extinction_time(model)}
    return out


def smoothed_convergence(problem, x0, t_end: float, eps_values=(1e-4, 1e-5, 1e-6),
                         flow: str = "sign_tanh", points: int = 301, rtol: float = 1e-11,
                         atol: float = 1e-13, reference: str = "implicit",
                         t_extra=(), reference_kw: dict | None = None) -> dict:
    """Smoothed sign flow (``tanh(g/eps)`` or ``g/sqrt(g^2 + eps^2)``) against the Filippov
    solution: the largest distance over ``points`` times (plus ``t_extra``, e.g. the time the
    minimizer is reached, where the smoothed flow lags most), for each ``eps``, and the fitted
    log-log slope (predicted 1; the asymptote needs ``eps`` well below the smallest curvature
    times the distance scale). ``reference_kw`` goes to the reference integrator."""
    t = np.unique(np.concatenate([np.linspace(0.0, t_end, points), np.asarray(t_extra, float)]))
    ref = sign_flow(problem, x0, (0.0, t_end), method=reference, t_eval=t,
                    **(reference_kw or {}))
    errs, work = [], []
    for eps in eps_values:
        p = problem.params(flow, 0.0, (eps,))
        sol = solve(problem.field, (0.0, t_end), x0, p, method="DOP853", rtol=rtol, atol=atol,
                    t_eval=t, max_steps=5_000_000)
        errs.append(max(problem.distance(a, b) for a, b in zip(sol.y, ref.y, strict=True)))
        work.append(sol.naccepted)
    e = np.asarray(eps_values, float)
    fit = rates.loglog_slope(e, np.asarray(errs), e.min(), e.max())
    return {"flow": flow, "eps": list(e), "error": errs, "steps": work, "slope": fit.value,
            "slope_stderr": fit.stderr}


def dissipation(problem, x0, t_end: float, method: str = "sliding", nodes: int = 8,
                **kw) -> dict:
    """Dissipation identity ``f(t_b) - f(t_a) = -int ||grad f||_1 dt`` on every segment between
    mode changes (Gauss-Legendre with ``nodes`` points per segment, exact to rounding for
    smooth segments), and ``max |g_S|`` on the sliding set (the coordinates that the integrator
    holds stuck, read from its mode) at those points.

    Returns the largest defect relative to ``f(0) - f*``, the largest ``|g_S|`` relative to
    ``max |g(0)|``, the number of segments and of events.
    """
    n = problem.n
    first = sign_flow(problem, x0, (0.0, t_end), method=method, **kw)
    cuts = np.unique(np.concatenate([[0.0], first.t_events, [t_end]]))
    xg, wg = np.polynomial.legendre.leggauss(nodes)
    nodes_t = [0.5 * (b - a) * xg + 0.5 * (a + b) for a, b in zip(cuts[:-1], cuts[1:],
                                                                     strict=True)]
    times = np.unique(np.concatenate([cuts, *nodes_t]))
    run = sign_flow(problem, x0, (0.0, t_end), method=method, t_eval=times,
                    output=problem.mode_output, n_output=2 * n, **kw)
    X, M = run.y[:, :n], run.y[:, n:]
    G = np.array([problem.grad(x) for x in X])
    f = np.array([problem.gap(x) for x in X])
    g1 = np.abs(G).sum(axis=1)
    worst = 0.0
    for (a, b), tq in zip(zip(cuts[:-1], cuts[1:], strict=True), nodes_t, strict=True):
        ia, ib = np.searchsorted(times, [a, b])
        integral = 0.5 * (b - a) * float(wg @ g1[np.searchsorted(times, tq)])
        worst = max(worst, abs((f[ia] - f[ib]) - integral) / max(f[0], 1e-300))
    stuck = M == 0
    gs = float(np.abs(G[stuck]).max()) if stuck.any() else 0.0
    return {"defect": worst, "max_gS": gs / np.abs(G[0]).max(), "segments": int(cuts.size - 1),
            "events": first.stats["events"], "steps": first.stats["naccepted"]}


def explicit_chattering(problem, x0, t_end: float, steps=(1e-2, 1e-3, 1e-4),
                        method: str = "Euler", integrator: str = "explicit") -> dict:
    """The naive explicit sign integrator (``-sign(g)``, fixed step ``h``) after the flow has
    reached the minimizer: amplitude of the chattering (``max`` distance from the minimizer
    set over the last tenth of the run) for each ``h``; it scales like ``h``.

    ``integrator = "implicit"`` measures implicit Euler with largest step ``h`` instead (the
    negative control: it does not chatter)."""
    ref = sign_flow(problem, x0, (0.0, t_end), method="implicit")
    amp = []
    for h in steps:
        n = int(round(t_end / h))
        t = np.linspace(0.9 * t_end, t_end, min(n // 10, 2000))
        if integrator == "implicit":
            r = sign_flow(problem, x0, (0.0, t_end), method="implicit", h=h, t_eval=t)
        else:
            r = sign_flow(problem, x0, (0.0, t_end), method="explicit", integrator=method,
                          step=h, t_eval=t, max_steps=n + 10)
        amp.append(max(problem.distance(x, ref.y_final) for x in r.y))
    fit = rates.loglog_slope(np.array(steps), np.array(amp), min(steps), max(steps))
    return {"step": list(steps), "amplitude": amp, "amplitude_over_step": list(
        np.array(amp) / np.array(steps)), "slope": fit.value}


def clipped_order(problem, x0, t_end: float, flow: str = "clip_coord", tau: float = 1.0,
                  steps=(0.1, 0.05, 0.025, 0.0125), method: str = "RK4") -> dict:
    """Global error at ``t_end`` of a fixed-step method on a clipped flow, with the kinks
    located by events (restarts) and without; fitted orders (RK4: 4 with, about 2 without)."""
    from ..problems.filippov import kink_events

    p = problem.params(flow, 0.0, (tau,))
    ref, _ = solve_piecewise(problem.field, (0.0, t_end), x0, p, kink_events(problem, flow),
                             method="DOP853", rtol=1e-13, atol=1e-15)
    err_k, err_p, kinks = [], [], 0
    for h in steps:
        sk, kinks = solve_piecewise(problem.field, (0.0, t_end), x0, p,
                                    kink_events(problem, flow), method=method, step=h)
        sp = solve(problem.field, (0.0, t_end), x0, p, method=method, step=h)
        err_k.append(float(np.max(np.abs(sk.y_final - ref.y_final))))
        err_p.append(float(np.max(np.abs(sp.y_final - ref.y_final))))
    s = np.array(steps)
    return {"step": list(s), "error_with_kinks": err_k, "error_plain": err_p,
            "order_with_kinks": rates.loglog_slope(s, np.array(err_k), s.min(), s.max()).value,
            "order_plain": rates.loglog_slope(s, np.array(err_p), s.min(), s.max()).value,
            "kinks": kinks}


__all__ = ["lambda_min", "extinction_time", "centered_distance", "gf_arclength", "nf_direct",
           "sf_time", "sf_vs_nf", "sf_vs_nf_sweep", "UnigramRun", "UnigramTrace",
           "run_unigram", "rotated_blocks", "filippov_quadratic", "filippov_agreement",
           "unigram_agreement", "smoothed_convergence", "dissipation", "explicit_chattering",
           "clipped_order", "EXTINCT"]
