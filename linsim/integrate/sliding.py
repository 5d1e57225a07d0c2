"""Sign flow as a Filippov system: event-driven sliding on the one Runge-Kutta driver.

Sign flow ``x' in -Sgn(grad f(x))`` with ``Sgn(0) = [-1, 1]`` (THEORY.md, "Integrating sign flow
honestly"). A plain integrator chatters around every surface ``g_i = 0``; this module integrates
it exactly instead, in *segments* between events:

* **mode**: the stuck set ``S`` (coordinates sliding on ``g_i = 0``) and, for the free set
  ``F``, the signs ``sigma_F``. Free coordinates move at ``-sigma_i``; stuck ones at ``-u_i``,
  where ``u_S`` (a selection of ``[-1, 1]``) is the *equivalent control* that keeps
  ``d/dt g_S = 0``: ``H_SS u_S = -H_SF sigma_F``.
* **segment**: the driver (:func:`linsim.integrate.driver.drive`) integrates the smooth field of
  the current mode until an event, located on its interpolant: a free ``sigma_i g_i`` reaches 0,
  or a stuck control reaches ``+-1`` (``1 - |u_i| = 0``). ``f - f* = level`` is a non-terminal
  event, for the time to tolerance.
* **mode selection** at an event (crossing vs sliding, release): the candidates ``C`` (the
  stuck set plus the coordinates whose gradient reached zero) get the controls
  ``argmin { s^T H s : s_C in [-1, 1], s_F = sigma_F }`` (a box QP, :func:`implicit.box_qp`).
  An interior control means *slide* (both sides point into the surface); a control at ``+-1``
  means the coordinate is free with that sign (it *crosses*, or is *released*). For a positive
  definite ``H`` this is the unique Filippov (minimum ``H^-1``-norm) velocity of
  ``y' in -H Sgn(y)``, ``y = grad f``. The stuck coordinates are then projected back onto
  ``g_S = 0`` (a change of the order of the event-location error).

The loop over segments is itself compiled (:func:`_slide`) and takes the problem's functions as
first-class arguments like the driver does, so it is cached on disk and a run with thousands of
events pays the call overhead once.

Problems live in the problem layer (:class:`linsim.problems.SlidingProblem` says what one must
provide; :mod:`linsim.problems.filippov` has the quadratic and the unigram model): this module
only calls the compiled functions a problem hands it, and knows no model.

:func:`sign_flow` runs any of the methods ``closed`` (diagonal quadratics, Z24.sf-diagonal),
``exact`` (problems with linear motion between events: a quadratic's ``H`` and ``x_star``),
``sliding``, ``implicit`` (:mod:`linsim.integrate.implicit`) and ``explicit`` (the
naive ``-sign(g)`` field on the driver, a baseline that chatters). :func:`solve_piecewise`
restarts the driver at the kinks of a Lipschitz field (the clipped flows), so that no step
straddles one.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit, types
from numba.core.errors import NumbaExperimentalFeatureWarning

from .driver import (
    F_H,
    F_T,
    I_EVAL,
    I_EVENTS,
    I_STARTED,
    I_STATUS,
    REASONS,
    RUNNING,
    TERMINAL_EVENT,
    Control,
    ControlType,
    EventBuffers,
    Events,
    FieldType,
    IntegrationError,
    OutputsType,
    Solution,
    StateType,
    TableauType,
    compiled_field,
    drive,
    identity_output,
    prepare,
    solve,
    with_defaults,
)
from .implicit import implicit_euler, span_and_times
from .tableaux import get_tableau

_EPS = 2.220446049250313e-16
#: Status of :func:`_slide` when the number of events exceeds its budget.
TOO_MANY_EVENTS = -4
_f8 = types.float64
_vec = types.float64[::1]
_mat = types.float64[:, ::1]
_ivec = types.int64[::1]


# --------------------------------------------------------------------------------------------
# the compiled segment loop


def _compiled(signature):
    """``njit(signature, cache=True)`` without Numba's notice that first-class function types
    are experimental (printed once, when the loop is compiled; the driver uses them alike)."""

    def wrap(func):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NumbaExperimentalFeatureWarning)
            return njit(signature, cache=True)(func)

    return wrap


class SlideLog(NamedTuple):
    """What the segment loop needs beyond the driver's arguments, and what it reports."""

    mode_at: int  #: where the mode ``[sigma (n), u (n)]`` starts in ``p``
    max_steps: int  #: budget of attempted steps over all segments
    t: np.ndarray  #: times of the mode changes (capacity: the event budget)
    index: np.ndarray  #: which coordinate's event (int64)
    res: np.ndarray  #: ``[time to level (NaN: not reached), events, segments, status]``


_SlideLogType = types.NamedTuple((types.int64, types.int64, _vec, _ivec, _vec), SlideLog)


@njit(cache=True, inline="always")
def _reselect(select, t, y, p, buf, mode_at):
    """The problem's mode selection at ``(t, y)``: new mode into ``p``, projected state into
    ``y``."""
    n = y.size
    select(t, y, p, buf)
    p[mode_at : mode_at + 2 * n] = buf[: 2 * n]
    y[:] = buf[2 * n :]


@_compiled(
    types.void(FieldType, FieldType, FieldType, FieldType, TableauType, ControlType, OutputsType,
               StateType, _SlideLogType)
)
def _slide(rhs, event, output, select, tab, ctl, outs, st, log):
    """Segments of the driver between events, with a mode selection at each event.

    ``event`` writes ``n + 1`` values: ``n`` terminal ones (falling through zero) and
    ``f - f* - level`` (non-terminal). ``select(t, y, p, buf)`` writes the new signs, controls
    and the projected state into ``buf`` (``3n``); they go to ``p[mode_at:]`` and ``y``.
    ``log.res`` receives ``[time to level (NaN if not reached), events, segments, status]``.
    """
    p, y, K, work, fs, ist = st
    mode_at, max_steps, log_t, log_i, res = log
    n = y.size
    m = n + 1
    ev_term = np.ones(m, dtype=np.int64)
    ev_term[n] = 0
    cap = m + 8
    ev = EventBuffers(-np.ones(m), ev_term, np.zeros((2, m)), np.empty(cap),
                      np.empty(cap, dtype=np.int64))
    buf = np.empty(3 * n)
    max_events = log_t.size
    t_level = np.nan
    n_events = 0
    n_seg = 0
    _reselect(select, fs[F_T], y, p, buf, mode_at)
    status = 0
    y_seg = np.empty(n)
    y_stop = np.empty(n)
    t_stop = ctl.t_end
    ctl_stop = ctl
    while True:
        y_seg[:] = y
        t_seg = fs[F_T]
        h_seg = fs[F_H]
        i_eval_seg = ist[I_EVAL]
        term = -1
        for rerun in range(2):
            ist[I_STARTED] = 0
            ist[I_EVENTS] = 0
            ist[I_STATUS] = RUNNING
            drive(rhs, event, output, tab, ctl_stop if rerun else ctl, ev, outs, st,
                  max_steps + 1, max_steps)
            n_seg += 1
            for j in range(min(ist[I_EVENTS], cap)):
                if ev.index[j] == n:
                    if math.isnan(t_level):
                        t_level = ev.t[j]
                elif not rerun:
                    term = ev.index[j]
            if rerun:
                if math.isnan(t_level):
                    t_level = t_stop
                y[:] = y_stop
                fs[F_T] = t_stop
                ist[I_STATUS] = TERMINAL_EVENT
                break
            if ist[I_STATUS] != TERMINAL_EVENT or not math.isnan(t_level):
                break
            event(fs[F_T], y, p, ev.g[1])
            if ev.g[1, n] > 0.0:
                break
            # f - f* fell below level inside this segment, but the last step, extrapolated
            # past the terminal event, hid the crossing: integrate the segment again up to the
            # event time, over which f decreases monotonically
            t_stop = fs[F_T]
            ctl_stop = Control(t_stop, ctl.rtol, ctl.atol, ctl.max_step, 0.0)
            y_stop[:] = y
            y[:] = y_seg
            fs[F_T] = t_seg
            fs[F_H] = h_seg
            ist[I_EVAL] = i_eval_seg
        st_code = ist[I_STATUS]
        if st_code != TERMINAL_EVENT:
            status = st_code
            break
        if n_events >= max_events:
            status = TOO_MANY_EVENTS
            break
        log_t[n_events] = fs[F_T]
        log_i[n_events] = term
        n_events += 1
        _reselect(select, fs[F_T], y, p, buf, mode_at)
        # first step of the next segment: about the length of this one. The driver locates
        # every crossing inside a step before it stops at the first, so a step far longer
        # than the spacing of events would locate many crossings only to discard them.
        seg = fs[F_T] - t_seg
        if seg > 0.0:
            fs[F_H] = min(fs[F_H], seg)
    res[0] = t_level
    res[1] = n_events
    res[2] = n_seg
    res[3] = status


# --------------------------------------------------------------------------------------------
# front ends


@dataclass
class SignFlowSolution(Solution):
    """Result of :func:`sign_flow`: a :class:`~linsim.integrate.Solution` (``y`` the output,
    ``y_final`` the state, ``t_events``/``event_index`` the mode changes and the coordinate
    that changed, -1 where unknown; ``counts``: ``events``, ``segments``, ``tr_solves``) and:

    Attributes
    ----------
    time_to_level : float or None
        First time with ``f - f* <= level``, or None when not reached (or no level given).
    mode : ndarray or None
        The signs of the final mode (``sliding``, ``exact``).
    """

    time_to_level: float | None = None
    mode: np.ndarray | None = None

    @property
    def x_final(self) -> np.ndarray:
        """Deprecated alias of ``y_final``."""
        return self.y_final

    @property
    def event_t(self) -> np.ndarray:
        """Deprecated alias of ``t_events``."""
        return self.t_events


#: Deprecated name of :class:`SignFlowSolution`.
SignFlowResult = SignFlowSolution


def _result(t, y, t_final, y_final, t_level, method: str, seconds: float, counts=(0, 0, 0),
            **fields) -> SignFlowSolution:
    """A :class:`SignFlowSolution`; ``counts``: ``(events, segments, tr_solves)``; ``fields``:
    ``t_events``, ``event_index`` (default -1 each), ``nfev``, ``naccepted``, ``nrejected``
    (default 0), ``mode``."""
    t_events = fields.pop("t_events", np.zeros(0))
    event_index = fields.pop("event_index", np.full(t_events.size, -1, dtype=np.int64))
    work = {k: fields.pop(k, 0) for k in ("nfev", "naccepted", "nrejected")}
    return SignFlowSolution(
        t=t, y=y, t_final=float(t_final), y_final=y_final, status=0, t_events=t_events,
        event_index=event_index, method=method, seconds=seconds,
        counts=dict(zip(("events", "segments", "tr_solves"), counts, strict=True)),
        time_to_level=t_level, **work, **fields)


METHODS = ("closed", "exact", "sliding", "implicit", "explicit")


def _stats(**kw) -> dict:
    base = {"naccepted": 0, "nrejected": 0, "nfev": 0, "events": 0, "segments": 0,
            "tr_solves": 0, "seconds": 0.0, "status": 0}
    base.update(kw)
    return base


def _outputs(problem, output, n_output, x_rows, t, p):
    """Apply ``output`` to states (for the methods that produce states)."""
    if output is None:
        return np.asarray(x_rows)
    out = np.zeros((len(t), n_output))
    for i, (ti, xi) in enumerate(zip(t, x_rows, strict=True)):
        output(float(ti), np.ascontiguousarray(xi), p, out[i])
    return out


#: Keyword options of :func:`sign_flow` beyond its named parameters, with their defaults.
SIGN_FLOW_OPTIONS = {"integrator": "DOP853", "step": None, "max_step": np.inf,
                     "first_step": None, "max_steps": 10_000_000, "max_events": None,
                     "switch_tol": 1e-13, "h": None}


def sign_flow(
    problem,
    x0,
    t_span: tuple[float, float],
    *,
    method: str = "sliding",
    t_eval=None,
    output=None,
    n_output: int | None = None,
    level: float | None = None,
    rtol: float = 1e-12,
    atol: float = 1e-14,
    **options,
) -> SignFlowSolution:
    """Integrate sign flow ``x' in -Sgn(grad f(x))`` on ``problem`` with one of :data:`METHODS`.

    Parameters
    ----------
    problem : sliding problem
        Anything that meets :class:`linsim.problems.SlidingProblem` (for example
        :class:`linsim.problems.filippov.QuadraticSign` or ``UnigramSign``).
    x0 : array_like
    t_span : (float, float)
    method : {"closed", "exact", "sliding", "implicit", "explicit"}
        ``closed``: Z24.sf-diagonal (a problem with a ``closed_form``, diagonal quadratics);
        ``exact``: event to event with the exact roots (a quadratic: ``H`` and ``x_star``);
        ``sliding``: event-driven Filippov integration on the driver;
        ``implicit``: implicit Euler = l_inf trust-region steps, switches located;
        ``explicit``: the naive field ``-sign(g)`` (``sign(0) = 0``) on the driver (a baseline:
        it chatters).
    t_eval, output, n_output
        Output times (default ``[t1]``) and an optional output function as in
        :func:`linsim.integrate.solve`.
    level : float, optional
        Report the first time with ``f - f* <= level``.
    rtol, atol : float
        Tolerances of the driver (``sliding``, ``explicit``).
    **options
        Defaults in :data:`SIGN_FLOW_OPTIONS`:

        integrator, step, max_step, first_step, max_steps
            The driver's method and settings (``sliding``, ``explicit``); ``step`` for
            fixed-step methods.
        max_events : int, optional
            Budget of mode changes (default ``10 n + 100``); exceeding it raises
            :class:`IntegrationError` (chattering or Zeno behaviour).
        switch_tol, h
            ``implicit``: time tolerance of the located crossings and releases, and largest
            step (:func:`linsim.integrate.implicit.implicit_euler`).

    Returns
    -------
    SignFlowSolution
    """
    opts = with_defaults("sign_flow", options, SIGN_FLOW_OPTIONS)
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    t0, t1, te = span_and_times(t_span, t_eval)
    x0 = np.array(x0, dtype=np.float64).ravel()
    n = problem.n
    if x0.size != n:
        raise ValueError(f"x0 must have {n} entries, got {x0.size}")
    if level is not None and not (level >= 0 and math.isfinite(level)):
        raise ValueError(f"level must be finite and >= 0, got {level!r}")
    lev = 0.0 if level is None else float(level)
    p = problem.params("sign", lev)
    if output is not None and (n_output is None or n_output < 1):
        raise ValueError("n_output must be given (>= 1) with an output function")
    start = time.perf_counter()

    if method == "closed":
        if not hasattr(problem, "closed_form"):
            raise ValueError("method 'closed' needs a problem with a closed form (a diagonal "
                             "QuadraticSign)")
        xs = problem.closed_form(x0, te)
        t_level = None
        if level is not None:
            d = np.abs(x0 - problem.x_star)
            ts = np.sort(np.concatenate([[0.0], d]))
            gaps = [problem.gap(problem.closed_form(x0, [v])[0]) for v in ts]
            if gaps[0] <= lev:
                t_level = t0
            else:
                from scipy.optimize import brentq

                k = next((i for i, v in enumerate(gaps) if v <= lev), None)
                if k is not None and t0 + ts[k] <= t1:
                    t_level = t0 + brentq(
                        lambda v: problem.gap(problem.closed_form(x0, [v])[0]) - lev,
                        ts[k - 1], ts[k], xtol=1e-16, rtol=4 * _EPS)
        xf = problem.closed_form(x0, [t1 - t0])[0]
        return _result(te, _outputs(problem, output, n_output, xs, te, p), t1, xf, t_level,
                       method, time.perf_counter() - start)

    if method == "implicit":
        res = implicit_euler(problem.tr_step, x0, (t0, t1), t_eval=te, h=opts["h"],
                             switch_tol=opts["switch_tol"], valid=problem.mode_valid,
                             gap=problem.gap, level=level)
        return _result(res.t, _outputs(problem, output, n_output, res.y, res.t, p), res.t_final,
                       res.y_final, res.time_to_level, method, time.perf_counter() - start,
                       (res.counts["switches"], 0, res.counts["tr_solves"]),
                       t_events=res.t_events, naccepted=res.naccepted,
                       nrejected=res.nrejected)

    driver_opts = {k: opts[k] for k in ("first_step", "max_step")}
    if method == "explicit":
        ev = Events(problem.gap_event, 1, -1.0, False)
        sol = solve(problem.field, (t0, t1), x0, p, method=opts["integrator"], rtol=rtol,
                    atol=atol, t_eval=te, output=output, n_output=n_output, events=ev,
                    step=opts["step"], max_steps=opts["max_steps"], **driver_opts)
        t_level = float(sol.t_events[0]) if (level is not None and sol.t_events.size) else None
        if level is not None and problem.gap(x0) <= lev:
            t_level = t0
        return _result(sol.t, sol.y, sol.t_final, sol.y_final, t_level, method, sol.seconds,
                       nfev=sol.nfev, naccepted=sol.naccepted, nrejected=sol.nrejected)

    # the mode at t0: free signs from the gradient, zeros are candidates of the first selection
    g0 = problem.grad(x0)
    mode_at = int(problem.mode_at)
    p[mode_at : mode_at + n] = np.sign(g0)
    p[mode_at + n : mode_at + 2 * n] = np.sign(g0)
    budget = 10 * n + 100 if opts["max_events"] is None else int(opts["max_events"])
    log = SlideLog(mode_at, int(opts["max_steps"]), np.zeros(budget),
                   np.zeros(budget, dtype=np.int64), np.zeros(4))
    level_hit = level is not None and problem.gap(x0) <= lev

    if method == "exact":
        if not (hasattr(problem, "H") and hasattr(problem, "x_star")):
            raise ValueError("method 'exact' needs a quadratic, H and x_star (linear motion "
                             "between events)")
        return _exact_linear(problem, x0, p, (t0, t1), te, (output, n_output), level,
                             level_hit, log, start)

    if not get_tableau(opts["integrator"]).adaptive:
        raise ValueError("method 'sliding' needs an adaptive integrator (RK45 or DOP853)")
    run = prepare((t0, t1), x0, p, method=opts["integrator"], rtol=float(rtol),
                  atol=float(atol), t_eval=te, output=output, n_output=n_output, **driver_opts)
    _slide(compiled_field(problem.sliding_field), compiled_field(problem.sliding_events),
           run.output_func, compiled_field(problem.select),
           run.tableau, run.control, run.outputs, run.state, log)
    seconds = time.perf_counter() - start
    res = log.res
    status = int(res[3])
    n_ev = int(res[1])
    fs, ist = run.state.f, run.state.i
    stats = _stats(**run.counts(), events=n_ev, segments=int(res[2]), seconds=seconds,
                   status=status)
    if status == TOO_MANY_EVENTS:
        raise IntegrationError(float(fs[F_T]), f"more than {budget} events (chattering or Zeno "
                               f"behaviour; raise max_events)", stats)
    if status < 0:
        raise IntegrationError(float(fs[F_T]), REASONS[status], stats)
    t_level = t0 if level_hit else (None if (level is None or math.isnan(res[0]))
                                    else float(res[0]))
    k = int(ist[I_EVAL])
    c = run.counts()
    return _result(te[:k].copy(), run.outputs.out[:k], fs[F_T], run.state.y, t_level, method,
                   seconds, (n_ev, int(res[2]), 0), t_events=log.t[:n_ev].copy(),
                   event_index=log.index[:n_ev].copy(), **c,
                   mode=run.state.p[mode_at : mode_at + n].copy())


def _exact_linear(problem, x0, p, t_span, te, outputs, level, level_hit, log: SlideLog,
                  start) -> SignFlowSolution:
    """Event to event with exact roots: between events ``x(t) = x + (t - t_k) v`` (a quadratic:
    ``problem.H``, ``problem.x_star``). ``outputs``: ``(output function or None, n_output)``."""
    output, n_output = outputs
    log_t, log_i = log.t, log.index
    t0, t1 = t_span
    n = problem.n
    H, xs = problem.H, problem.x_star
    mode_at = problem.mode_at
    buf = np.empty(3 * n)
    x = x0.copy()
    t = t0
    problem.select(t, x, p, buf)
    p[mode_at : mode_at + 2 * n] = buf[: 2 * n]
    x[:] = buf[2 * n :]
    out_fn, n_out = (identity_output, n) if output is None else (output, int(n_output))
    rows = np.zeros((te.size, n_out))
    i_out = 0
    while i_out < te.size and te[i_out] <= t:
        out_fn(float(te[i_out]), x, p, rows[i_out])
        i_out += 1
    n_ev = 0
    segments = 0
    t_level = t0 if level_hit else None
    lev = 0.0 if level is None else float(level)
    while t < t1:
        segments += 1
        sig = p[mode_at : mode_at + n]
        v = -p[mode_at + n : mode_at + 2 * n]
        g = H @ (x - xs)
        gdot = H @ v
        approaching = (sig != 0.0) & (sig * gdot < 0.0)
        tau = np.inf
        k = -1
        if approaching.any():
            cand = np.where(approaching, -g / np.where(approaching, gdot, 1.0), np.inf)
            k = int(np.argmin(cand))
            tau = max(float(cand[k]), 0.0)
        t_next = min(t + tau, t1)
        while i_out < te.size and te[i_out] <= t_next:
            out_fn(float(te[i_out]), x + (te[i_out] - t) * v, p, rows[i_out])
            i_out += 1
        if level is not None and t_level is None:
            # gap(t + s) = gap0 + s g.v + s^2/2 v.Hv: the first root of gap = level
            a2, a1, a0 = 0.5 * (v @ gdot), g @ v, problem.gap(x) - lev
            dt = t_next - t
            roots = np.roots([a2, a1, a0]) if a2 > 0 else (np.array([-a0 / a1]) if a1 else [])
            ok = [float(r.real) for r in np.atleast_1d(roots)
                  if abs(complex(r).imag) == 0 and 0 <= r.real <= dt]
            if ok:
                t_level = t + min(ok)
        if t + tau >= t1:
            x = x + (t1 - t) * v
            t = t1
            break
        x = x + tau * v
        t = t + tau
        if n_ev >= log_t.size:
            raise IntegrationError(t, f"more than {log_t.size} events (chattering or Zeno "
                                   f"behaviour)", _stats(events=n_ev))
        log_t[n_ev] = t
        log_i[n_ev] = k
        n_ev += 1
        problem.select(t, x, p, buf)
        p[mode_at : mode_at + 2 * n] = buf[: 2 * n]
        x[:] = buf[2 * n :]
    return _result(te[:i_out].copy(), rows[:i_out], t, x, t_level, "exact",
                   time.perf_counter() - start, (n_ev, segments, 0),
                   t_events=log_t[:n_ev].copy(), event_index=log_i[:n_ev].copy(),
                   mode=p[mode_at : mode_at + n].copy())


def solve_piecewise(rhs, t_span, y0, params, events: Events, **kw) -> tuple[Solution, int]:
    """:func:`solve` restarted at every crossing of a terminal event of ``events``.

    For fields that are Lipschitz but not smooth across known surfaces (the kinks of the
    clipped flows, :func:`linsim.flows.kink_values`). The step that straddles a kink has a
    low-order error, and so has its interpolant, which locates the kink and would give the
    restart state; so each segment that ends at a kink is integrated a second time, from its
    start to the located kink time, and no accepted step straddles a kink: the method keeps its
    order. Accepts the keywords of :func:`solve` (``t_eval``, ``output``, ``method``, ...);
    returns the merged :class:`Solution` and the number of kinks restarted at (kinks within
    rounding of the previous one count once).
    """
    t0, t1 = (float(v) for v in t_span)
    t_eval = kw.pop("t_eval", None)
    te = np.array([t1] if t_eval is None else t_eval, dtype=np.float64).ravel()
    y = np.array(y0, dtype=np.float64).ravel()
    t = t0
    ts, ys, et, ei = [], [], [], []
    nfev = nacc = nrej = restarts = 0
    seconds = 0.0
    first = kw.pop("first_step", None)
    while True:
        rest = te[te > t] if t > t0 else te
        sol = solve(rhs, (t, t1), y, params, t_eval=rest, events=events, first_step=first,
                    **kw)
        nfev += sol.nfev
        nacc += sol.naccepted
        nrej += sol.nrejected
        seconds += sol.seconds
        et.append(sol.t_events)
        ei.append(sol.event_index)
        if sol.status == 1 and sol.t_final < t1:
            t_k = sol.t_final
            if t_k - t > 64.0 * _EPS * max(1.0, abs(t)):  # else: two kinks at the same time
                sol = solve(rhs, (t, t_k), y, params, t_eval=rest[rest <= t_k],
                            first_step=first, **kw)
                restarts += 1
                nfev += sol.nfev
                nacc += sol.naccepted
                nrej += sol.nrejected
                seconds += sol.seconds
            ts.append(sol.t)
            ys.append(sol.y)
            t, y = t_k, sol.y_final
            continue
        ts.append(sol.t)
        ys.append(sol.y)
        break
    merged = Solution(t=np.concatenate(ts), y=np.concatenate(ys), t_final=sol.t_final,
                      y_final=sol.y_final, status=0, t_events=np.concatenate(et),
                      event_index=np.concatenate(ei), nfev=nfev, naccepted=nacc,
                      nrejected=nrej, method=sol.method, seconds=seconds,
                      message="reached the end of t_span")
    return merged, restarts


__all__ = ["sign_flow", "SignFlowSolution", "SignFlowResult", "solve_piecewise", "METHODS",
           "TOO_MANY_EVENTS", "SIGN_FLOW_OPTIONS", "SlideLog"]
