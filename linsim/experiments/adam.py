"""Continuous-time models of adaptive methods against discrete Adam.

THEORY.md, "Continuous-time models of adaptive methods". The flows are :mod:`linsim.flows`
``adam`` (the Barakat-Bianchi ODE), ``rmsprop`` (its m-free version) and ``sign_eps``
(``x' = -g/(|g| + eps)``); the discrete optimizer is :func:`linsim.optimizers.adam`, run by
:func:`discrete_positions` (through :func:`linsim.optimizers.field_iterates`) on the *same
compiled gradient* as the flows (a problem's field with the gradient-flow code returns
``-g``), so flow and iterates differ only by the dynamics. Measured here:

* **adam.ode** (:func:`ode_tracking`): discrete Adam with ``1 - beta1 = a eta``,
  ``1 - beta2 = b eta`` against the ODE; the largest gap over ``[0, T]`` for ``eta`` over
  three decades, and the fitted slope of ``log gap`` against ``log eta`` (predicted 1).
* **adam.small-step** (:func:`small_step_gap`): discrete Adam with ``beta1, beta2`` fixed
  against ``sign_eps``; slope 1 in ``eta`` and a gap proportional to ``eta / (1 - beta2)``.
* **adam.k24-classes** (:func:`k24_classes`): the K24 one-hot model under the Adam and
  RMSProp ODEs beside gradient, sign and normalized flow (reduced mode, which is exact for
  coordinatewise flows: :func:`linsim.problems.softmax._margin_coordinatewise`). The
  question of issue 7: does the dependence of the per-class loss on ``pi_k`` vanish as under
  sign flow? With ``eps = 0`` it vanishes *exactly*: the velocity ``mhat/sqrt(vhat)`` of a
  coordinate is invariant under scaling its gradient history, and in column ``k`` that
  history is ``pi_k`` times a function of the margin alone, so every class follows the same
  margin curve. The loss then decays like ``e^(-r t)`` with ``r`` the root of
  ``r = 2 (a/(a-r)) sqrt(1 - 2r/b)`` (:func:`asymptotic_rate`; RMSProp: ``a -> inf``),
  below both 2 (sign flow) and ``b/2``. With ``eps > 0`` a class keeps that curve until its
  gradient ``pi_k q_k`` falls to about ``eps``; below, ``eps`` dominates the denominator, the
  flow is gradient flow slowed by ``1/eps`` and ``pi_k`` is back (:meth:`AdamK24.pi_slopes`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .. import optimizers, rates
from ..flows import initial_state, k24_flows, position
from ..integrate import solve
from ..problems import quadratic
from ..problems.softmax import OneHotModel
from ..rates import LOSS_UNDERFLOW, asymptotic_rate
from .k24 import OneHotRun, run_onehot

__all__ = ["LOSS_UNDERFLOW", "asymptotic_rate"]  # re-exported: they live in linsim.rates


# --------------------------------------------------------------------------------------------
# problems that flows and discrete optimizers share
@dataclass(frozen=True)
class Target:
    """A problem run by both the flows and the discrete optimizers.

    Attributes
    ----------
    name : str
    field : compiled function
        The problem's right-hand side (any flow of :mod:`linsim.flows`).
    params : callable
        ``params(flow, flow_params) -> p`` for :attr:`field`.
    x0 : ndarray
        Start position.
    """

    name: str
    field: object
    params: Callable[[str, Sequence[float]], np.ndarray]
    x0: np.ndarray


def quadratic_target(seed: int = 0) -> Target:
    """A dense two-block quadratic in R^5 (eigenvalues 0.25..4, Haar blocks, ``w*`` standard
    normal from ``seed``, start 0)."""
    q = quadratic.from_blocks([[1.0, 4.0], [0.25, 2.0, 0.5]], rotation="haar", seed=seed)
    return Target(f"quadratic(seed={seed})", quadratic.quadratic_field,
                  lambda flow, fp=(): q.params(flow, fp), q.w0.copy())


def onehot_target(classes: int = 10, zipf_a: float = 1.1) -> Target:
    """The K24 one-hot model, full mode (all ``c^2`` weights, start 0)."""
    m = OneHotModel(classes, zipf_a, "full")
    return Target(f"onehot(c={classes}, a={zipf_a:g})", m.field,
                  lambda flow, fp=(): m.params(flow, flow_params=fp), m.y0())


#: Discrete iterates already computed, by (problem, optimizer, times): a negative control that
#: changes only the flow compared with reuses them.
_DISCRETE: dict = {}


def discrete_positions(target: Target, opt: optimizers.Optimizer, times) -> np.ndarray:
    """Iterates of ``opt`` on ``target`` at the times ``k * lr`` given in ``times``.

    Every time must be a multiple of the step size ``opt.lr`` (to 1e-9 relative). Results are
    kept per ``(target.name, opt, times)`` (a target's name fixes its problem).
    """
    times = np.asarray(times, float)
    key = (target.name, repr(opt), times.tobytes())
    if key not in _DISCRETE:
        if len(_DISCRETE) > 256:
            _DISCRETE.clear()
        _DISCRETE[key] = _discrete_positions(target, opt, times)
    return _DISCRETE[key].copy()


def _discrete_positions(target: Target, opt: optimizers.Optimizer, times) -> np.ndarray:
    steps = np.rint(times / opt.lr)
    if np.any(np.abs(steps * opt.lr - times) > 1e-9 * np.maximum(times, opt.lr)):
        raise ValueError(f"times must be multiples of the step size {opt.lr:g}")
    if np.any(np.diff(steps) < 0):
        raise ValueError("times must be sorted")
    return optimizers.field_iterates(target.field, target.params("gradient", ()), target.x0,
                                     opt, steps)


def flow_positions(target: Target, flow: str, flow_params: Sequence[float], times,
                   rtol: float = 1e-12, atol: float = 1e-14) -> np.ndarray:
    """Positions of ``flow`` from ``target.x0`` at ``times`` (DOP853, tight tolerances)."""
    times = np.asarray(times, float)
    sol = solve(target.field, (0.0, float(times[-1])), initial_state(flow, target.x0),
                target.params(flow, tuple(flow_params)), method="DOP853", rtol=rtol,
                atol=atol, t_eval=times)
    return position(flow, sol.y)


# --------------------------------------------------------------------------------------------
# adam.ode and adam.small-step
@dataclass(frozen=True)
class Tracking:
    """Gap between discrete iterates and a flow, per step size.

    Attributes
    ----------
    etas, gaps : ndarray
        Step sizes and the largest max-norm gap ``||x_k - x(k eta)||_inf`` over the output
        times.
    slope : rates.Fit
        Fitted slope of ``log gap`` against ``log eta``.
    settings : dict
    """

    etas: np.ndarray
    gaps: np.ndarray
    slope: rates.Fit
    settings: dict

    def to_dict(self) -> dict:
        return {"etas": self.etas.tolist(), "gaps": self.gaps.tolist(),
                "slope": self.slope.to_dict(), **self.settings}


#: Step sizes over three decades; each divides 0.01, so the output times are shared.
ETAS = 0.01 / np.array([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000])


def _times(T: float, points: int) -> np.ndarray:
    return T * np.arange(1, points + 1) / points


def _fit(etas: np.ndarray, gaps: np.ndarray) -> rates.Fit:
    return rates.loglog_slope(etas, gaps, float(etas.min()), float(etas.max()))


def ode_tracking(target: Target, a: float = 2.0, b: float = 1.0, eps: float = 1e-3,
                 etas=ETAS, T: float = 3.0, points: int = 30,
                 beta_eta: float | None = None) -> Tracking:
    """adam.ode: discrete Adam (``beta1 = 1 - a eta``, ``beta2 = 1 - b eta``, bias-corrected)
    against the Adam ODE, for each ``eta``.

    ``T / points`` must be a multiple of every ``eta``; ``a eta`` and ``b eta`` must be < 1.
    ``beta_eta`` fixes the betas at ``1 - a beta_eta``, ``1 - b beta_eta`` for every ``eta``
    (the negative control of adam.ode: the averaging windows no longer shrink with the step,
    so the iterates do not converge to the ODE).
    """
    etas = np.asarray(etas, float)
    if np.any(etas * max(a, b) >= 1.0):
        raise ValueError(f"a eta and b eta must be < 1; largest eta is {etas.max():g}")
    t = _times(T, points)
    x = flow_positions(target, "adam", (a, b, eps), t)
    gaps = np.array([
        np.max(np.abs(discrete_positions(
            target, optimizers.adam(eta, 1.0 - a * be, 1.0 - b * be, eps), t) - x))
        for eta, be in ((e, e if beta_eta is None else beta_eta) for e in etas)])
    return Tracking(etas, gaps, _fit(etas, gaps), {
        "claim": "adam.ode", "problem": target.name, "a": a, "b": b, "eps": eps, "T": T,
        "points": points, "beta_eta": beta_eta})


def small_step_gap(target: Target, beta1: float = 0.9, beta2: float = 0.99, eps: float = 0.1,
                   etas=None, T: float = 2.0, points: int = 20,
                   flow: str = "sign_eps") -> Tracking:
    """adam.small-step: discrete Adam with fixed ``beta1``, ``beta2`` against the flow
    ``x' = -g/(|g| + eps)`` (``sign_eps``), for each ``eta``.

    Default ``etas``: three decades ending at ``(1 - beta2) / 10``, where the averaging window
    ``eta / (1 - beta2)`` of ``v`` is a tenth of a time unit. ``flow`` is the flow compared
    with (``"gradient"``: adam.small-step's negative control, with the same iterates).
    """
    if etas is None:
        top = 0.1 * (1.0 - beta2)
        etas = top / np.array([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000])
    etas = np.asarray(etas, float)
    step = T / points
    etas = step / np.rint(step / etas)  # each divides the output spacing
    t = _times(T, points)
    x = flow_positions(target, flow, (eps,) if flow == "sign_eps" else (), t)
    gaps = np.array([
        np.max(np.abs(discrete_positions(target, optimizers.adam(eta, beta1, beta2, eps), t)
                      - x))
        for eta in etas])
    return Tracking(etas, gaps, _fit(etas, gaps), {
        "claim": "adam.small-step", "problem": target.name, "beta1": beta1, "beta2": beta2,
        "eps": eps, "T": T, "points": points, "flow": flow})


# --------------------------------------------------------------------------------------------
# the K24 one-hot model under the Adam and RMSProp ODEs
@dataclass
class AdamK24:
    """Result of :func:`k24_classes`: a :class:`~linsim.experiments.k24.OneHotRun` with the
    Adam and RMSProp ODEs beside gradient, sign and normalized flow."""

    run: OneHotRun
    a: float
    b: float
    eps: float

    def time_to_level(self, flow: str, level: float) -> np.ndarray:
        """Per recorded class: first output time with loss ``<= level`` (log-interpolated;
        NaN if never)."""
        tr = self.run.traces[flow]
        out = np.full(tr.losses.shape[1], np.nan)
        for j in range(out.size):
            v = rates.time_to_tol(self.run.t, tr.losses[:, j], level)
            out[j] = np.nan if v is None else v
        return out

    def pi_slope(self, flow: str, level: float) -> rates.Fit:
        """Slope of ``log(time to level)`` against ``log pi_k`` over the recorded classes that
        reach ``level``: -1 under gradient flow (``t ~ 1/pi_k``), 0 where ``pi_k`` does not
        matter."""
        tt = self.time_to_level(flow, level)
        pi = self.run.pi[self.run.class_index]
        ok = np.isfinite(tt) & (tt > 0)
        return rates.loglog_slope(pi[ok], tt[ok], float(pi.min()), float(pi.max()))

    def spread(self, flow: str) -> float:
        """Largest relative spread of the per-class losses across classes at any output time
        (0 when ``pi_k`` does not matter), over losses above :data:`LOSS_UNDERFLOW`."""
        L = self.run.traces[flow].losses
        hi, lo = L.max(axis=1), L.min(axis=1)
        ok = lo > LOSS_UNDERFLOW
        return float(np.max((hi[ok] - lo[ok]) / hi[ok])) if ok.any() else float("nan")

    def rate(self, flow: str, v_min: float = LOSS_UNDERFLOW, v_max: float = 1e-6) -> rates.Fit:
        """Fitted exponential rate of the least frequent recorded class's loss."""
        return rates.exp_rate(self.run.t, self.run.traces[flow].losses[:, -1], v_min, v_max)

    def predicted_rate(self, flow: str) -> float:
        """:func:`asymptotic_rate` (``eps = 0``) for adam and rmsprop, 2 for sign flow."""
        if flow == "sign":
            return 2.0
        return asymptotic_rate(self.a if flow == "adam" else None, self.b)


def k24_classes(classes: int = 1000, zipf_a: float = 1.1, a: float = 10.0, b: float = 10.0,
                eps: float = 0.0, t_max: float = 1e3, points: int = 300, groups: int = 5,
                flows: Sequence[str] | None = None, rtol: float = 1e-10,
                atol: float = 1e-12) -> AdamK24:
    """The K24 one-hot model (reduced mode, exact) under ``flows``.

    Parameters
    ----------
    classes, zipf_a
        ``c`` and the Zipf exponent.
    a, b, eps
        The Adam ODE's rates (``1 - beta1 = a eta``, ``1 - beta2 = b eta``) and ``eps``
        (RMSProp uses ``b`` and ``eps``).
    t_max, points, groups
        Output grid (log-spaced over 12 decades) and equal-mass groups.
    flows
        The flows run; default those of the table compared on the K24 model
        (:func:`linsim.flows.k24_flows`: gradient, sign, normalized, adam, rmsprop).
    rtol, atol
        RK45 tolerances.
    """
    model = OneHotModel(classes, zipf_a, "reduced")
    fp = {"adam": (a, b, eps), "rmsprop": (b, eps)}
    flows = k24_flows() if flows is None else tuple(flows)
    run = run_onehot(model, flows, t_max=t_max, points=points, groups=groups,
                     rtol=rtol, atol=atol, flow_params=fp)
    return AdamK24(run, a, b, eps)
