"""Sign flow as a Filippov system: event-driven sliding on the one Runge-Kutta driver.

Sign flow ``x' in -Sgn(grad f(x))`` with ``Sgn(0) = [-1, 1]`` (THEORY.md, "Integrating sign flow
honestly"). A plain integrator chatters around every surface ``g_i = 0``; this module integrates
it exactly instead, in *segments* between events:

* **mode**: the stuck set ``S`` (coordinates sliding on ``g_i = 0``) and, for the free set
  ``F``, the signs ``sigma_F``. Free coordinates move at ``-sigma_i``; stuck ones at ``-u_i``,
  where ``u_S`` (a selection of ``[-1, 1]``) is the *equivalent control* that keeps
  ``d/dt g_S = 0``: ``H_SS u_S = -H_SF sigma_F``.
* **segment**: the driver (:func:`linsim.integrate.driver._drive`) integrates the smooth field of
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

Problems (each gives its gradient, sliding field, events and mode selection as module-level
compiled functions):

* :class:`QuadraticSign`: ``f = 1/2 (x - x*)^T H (x - x*)``, dense ``H``. Between events the
  motion is linear, so :func:`sign_flow` with ``method="exact"`` steps from event to event with
  the exact roots; ``"sliding"`` runs the same model on the driver.
* :class:`UnigramSign`: the Y25 unigram model. ``H = diag(p) - p p^T`` makes the stuck-set system
  diagonal plus rank one; by Sherman-Morrison every stuck coordinate gets the same control
  ``u = sum_F p_i sigma_i / sum_F p_i`` (``O(|S|)``), a weighted mean of free signs. Because
  ``sum_i g_i = 0`` the free set always holds both signs, so ``|u| < 1``: coordinates stick and
  are never released, and the last two reach zero together, at the minimizer, in finite time.

:func:`sign_flow` runs any of the methods ``closed`` (diagonal quadratics, Z24.sf-diagonal),
``exact``, ``sliding``, ``implicit`` (:mod:`linsim.integrate.implicit`) and ``explicit`` (the
naive ``-sign(g)`` field on the driver, a baseline that chatters). :func:`solve_piecewise`
restarts the driver at the kinks of a Lipschitz field (the clipped flows), so that no step
straddles one.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from numba import njit, types
from numba.core.errors import NumbaExperimentalFeatureWarning

from ..flows import HEADER, apply_flow, kink_count, kink_values, pack
from ..problems.softmax import (
    UnigramModel,
    unigram_excess,
    unigram_grad,
    unigram_kink_events,
    unigram_level_event,
    unigram_tail,
)
from . import driver
from .driver import (
    _H,
    _I_EVAL,
    _N_ACC,
    _N_EV,
    _N_FEV,
    _N_REJ,
    _STARTED,
    _STATUS,
    _T,
    RUNNING,
    TERMINAL_EVENT,
    Events,
    FieldType,
    IntegrationError,
    Solution,
    _drive,
    identity_output,
    solve,
    vector_field,
)
from .implicit import box_qp, implicit_euler, span_and_times, tr_quadratic, tr_unigram
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


@_compiled(
    types.void(
        FieldType, FieldType, FieldType, FieldType,  # rhs, event, output, select
        _mat, _vec, _vec, _vec, _vec, _mat, types.int64, types.int64, types.int64,  # tableau
        _vec, _vec, _mat, _mat,  # p, y, K, work
        _f8, _vec, _vec, _f8,  # t_end, rtol, atol, max_step
        _vec, _mat,  # t_eval, out
        _vec, _ivec, types.int64, types.int64,  # fstate, istate, mode_at, max_steps
        _vec, _ivec, _vec,  # event log (times, which), results
    )
)
def _slide(rhs, event, output, select, A, C, B, E, E3, P, s, q, use3, p, y, K, work, t_end, rtol,
           atol, max_step, t_eval, out, fs, ist, mode_at, max_steps, log_t, log_i, res):
    """Segments of the driver between events, with a mode selection at each event.

    ``event`` writes ``n + 1`` values: ``n`` terminal ones (falling through zero) and
    ``f - f* - level`` (non-terminal). ``select(t, y, p, buf)`` writes the new signs, controls
    and the projected state into ``buf`` (``3n``); they go to ``p[mode_at:]`` and ``y``.
    ``res`` receives ``[time to level (NaN if not reached), events, segments, status]``.
    """
    n = y.size
    m = n + 1
    ev_dir = -np.ones(m)
    ev_term = np.ones(m, dtype=np.int64)
    ev_term[n] = 0
    g = np.zeros((2, m))
    cap = m + 8
    ev_t = np.empty(cap)
    ev_i = np.empty(cap, dtype=np.int64)
    buf = np.empty(3 * n)
    max_events = log_t.size
    t_level = np.nan
    n_events = 0
    n_seg = 0
    select(fs[_T], y, p, buf)
    p[mode_at : mode_at + 2 * n] = buf[: 2 * n]
    y[:] = buf[2 * n :]
    status = 0
    y_seg = np.empty(n)
    y_stop = np.empty(n)
    t_stop = t_end
    while True:
        y_seg[:] = y
        t_seg = fs[_T]
        h_seg = fs[_H]
        i_eval_seg = ist[_I_EVAL]
        term = -1
        for rerun in range(2):
            ist[_STARTED] = 0
            ist[_N_EV] = 0
            ist[_STATUS] = RUNNING
            t_to = t_stop if rerun else t_end
            _drive(rhs, event, output, A, C, B, E, E3, P, s, q, use3, p, y, K, work, t_to, rtol,
                   atol, max_step, 0.0, t_eval, out, ev_dir, ev_term, g, ev_t, ev_i, fs, ist,
                   max_steps + 1, max_steps)
            n_seg += 1
            for j in range(min(ist[_N_EV], cap)):
                if ev_i[j] == n:
                    if math.isnan(t_level):
                        t_level = ev_t[j]
                elif not rerun:
                    term = ev_i[j]
            if rerun:
                if math.isnan(t_level):
                    t_level = t_stop
                y[:] = y_stop
                fs[_T] = t_stop
                ist[_STATUS] = TERMINAL_EVENT
                break
            if ist[_STATUS] != TERMINAL_EVENT or not math.isnan(t_level):
                break
            event(fs[_T], y, p, g[1])
            if g[1, n] > 0.0:
                break
            # f - f* fell below level inside this segment, but the last step, extrapolated
            # past the terminal event, hid the crossing: integrate the segment again up to the
            # event time, over which f decreases monotonically
            t_stop = fs[_T]
            y_stop[:] = y
            y[:] = y_seg
            fs[_T] = t_seg
            fs[_H] = h_seg
            ist[_I_EVAL] = i_eval_seg
        st = ist[_STATUS]
        if st != TERMINAL_EVENT:
            status = st
            break
        if n_events >= max_events:
            status = TOO_MANY_EVENTS
            break
        log_t[n_events] = fs[_T]
        log_i[n_events] = term
        n_events += 1
        select(fs[_T], y, p, buf)
        p[mode_at : mode_at + 2 * n] = buf[: 2 * n]
        y[:] = buf[2 * n :]
        # first step of the next segment: about the length of this one. The driver locates
        # every crossing inside a step before it stops at the first, so a step far longer
        # than the spacing of events would locate many crossings only to discard them.
        seg = fs[_T] - t_seg
        if seg > 0.0:
            fs[_H] = min(fs[_H], seg)
    res[0] = t_level
    res[1] = n_events
    res[2] = n_seg
    res[3] = status


# --------------------------------------------------------------------------------------------
# quadratics: p = [header, n, H (n*n, row-major), x* (n), level, sigma (n), u (n)]


@njit(cache=True, inline="always")
def _q_unpack(p):
    n = int(p[HEADER])
    H = p[HEADER + 1 : HEADER + 1 + n * n].reshape((n, n))
    xs = p[HEADER + 1 + n * n : HEADER + 1 + n * n + n]
    at = HEADER + 1 + n * n + n
    return n, H, xs, at


@njit(cache=True)
def _q_grad(H, xs, x, g):
    """``g = H (x - x*)``; returns ``f - f* = 1/2 (x - x*)^T H (x - x*)``."""
    n = x.size
    gap = 0.0
    for i in range(n):
        acc = 0.0
        for j in range(n):
            acc += H[i, j] * (x[j] - xs[j])
        g[i] = acc
        gap += 0.5 * acc * (x[i] - xs[i])
    return gap


@vector_field
def quadratic_flow_field(t, y, p, dy):
    """Any flow of :mod:`linsim.flows` on the quadratic (plain field, no sliding)."""
    n, H, xs, at = _q_unpack(p)
    _q_grad(H, xs, y[:n], dy[:n])
    apply_flow(t, p, y, dy)


@vector_field
def quadratic_gap_event(t, y, p, out):
    """Event: ``f - f* - level``."""
    n, H, xs, at = _q_unpack(p)
    g = np.empty(n)
    out[0] = _q_grad(H, xs, y[:n], g) - p[at]


@vector_field
def quadratic_kink_events(t, y, p, out):
    """Events: the kinks of a clipped flow, then ``f - f* - level``."""
    n, H, xs, at = _q_unpack(p)
    g = np.empty(n)
    gap = _q_grad(H, xs, y, g)
    kink_values(p, g, out)
    out[out.size - 1] = gap - p[at]


@vector_field
def quadratic_sliding_field(t, y, p, dy):
    """Sliding mode: ``x' = -u`` (constant between events on a quadratic)."""
    n, H, xs, at = _q_unpack(p)
    for i in range(n):
        dy[i] = -p[at + 1 + n + i]


@vector_field
def quadratic_sliding_events(t, y, p, out):
    """``sigma_i g_i`` (free), ``1 - |u_i|`` (stuck), then ``f - f* - level``."""
    n, H, xs, at = _q_unpack(p)
    g = np.empty(n)
    gap = _q_grad(H, xs, y, g)
    for i in range(n):
        sg = p[at + 1 + i]
        out[i] = sg * g[i] if sg != 0.0 else 1.0 - abs(p[at + 1 + n + i])
    out[n] = gap - p[at]


@vector_field
def quadratic_mode_output(t, y, p, out):
    """Output: the state, then the mode (0 stuck, else the free sign) of the segment."""
    n, H, xs, at = _q_unpack(p)
    out[:n] = y
    out[n : 2 * n] = p[at + 1 : at + 1 + n]


@vector_field
def quadratic_select(t, y, p, out):
    """Mode selection (see the module docstring) and projection onto ``g_S = 0``."""
    n, H, xs, at = _q_unpack(p)
    sig = p[at + 1 : at + 1 + n]
    u = p[at + 1 + n : at + 1 + 2 * n]
    g = np.empty(n)
    _q_grad(H, xs, y, g)
    cand = np.zeros(n, dtype=np.bool_)
    nc = 0
    for i in range(n):
        scale = 0.0  # rounding level of g_i = sum_j H_ij (x_j - x*_j)
        for j in range(n):
            scale += abs(H[i, j]) * (abs(y[j]) + abs(xs[j]))
        if sig[i] == 0.0 or sig[i] * g[i] <= 8.0 * n * _EPS * scale:
            cand[i] = True
            nc += 1
    newsig = out[:n]
    newu = out[n : 2 * n]
    ynew = out[2 * n :]
    ynew[:] = y
    for i in range(n):
        newsig[i] = sig[i]
        newu[i] = sig[i]
    if nc == 0:
        return
    idx = np.empty(nc, dtype=np.int64)
    k = 0
    for i in range(n):
        if cand[i]:
            idx[k] = i
            k += 1
    Hc = np.empty((nc, nc))
    cvec = np.zeros(nc)
    lo = -np.ones(nc)
    hi = np.ones(nc)
    z = np.empty(nc)
    for a in range(nc):
        i = idx[a]
        z[a] = u[i] if sig[i] == 0.0 else sig[i]
        for b in range(nc):
            Hc[a, b] = H[i, idx[b]]
        for j in range(n):
            if not cand[j]:
                cvec[a] += H[i, j] * sig[j]
    state = box_qp(Hc, cvec, lo, hi, z, 20 * nc + 50)
    ns = 0
    for a in range(nc):
        i = idx[a]
        if state[a] == 0:
            newsig[i] = 0.0
            newu[i] = z[a]
            ns += 1
        else:
            newsig[i] = float(state[a])
            newu[i] = float(state[a])
    if ns == 0:
        return
    # projection onto g_S = 0: x_S = x*_S - H_SS^-1 H_SF (x_F - x*_F)
    sidx = np.empty(ns, dtype=np.int64)
    k = 0
    for i in range(n):
        if newsig[i] == 0.0:
            sidx[k] = i
            k += 1
    Hs = np.empty((ns, ns))
    r = np.zeros(ns)
    for a in range(ns):
        i = sidx[a]
        for b in range(ns):
            Hs[a, b] = H[i, sidx[b]]
        for j in range(n):
            if newsig[j] != 0.0:
                r[a] -= H[i, j] * (y[j] - xs[j])
    w = np.linalg.solve(Hs, r)
    for a in range(ns):
        ynew[sidx[a]] = xs[sidx[a]] + w[a]


# --------------------------------------------------------------------------------------------
# the unigram model: p = unigram params (linsim.problems.softmax) + [sigma (c), u (c)]


@njit(cache=True, inline="always")
def _u_mode_at(p):
    return unigram_tail(p) + 1 + int(p[HEADER])


@njit(cache=True)
def _u_control(g, pi, sig):
    """The common control of the stuck set, ``u = sum_F p sigma / sum_F p`` (Sherman-Morrison on
    ``H_SS = diag(p_S) - p_S p_S^T``); 0 when nothing is free."""
    num = 0.0
    den = 0.0
    for i in range(g.size):
        if sig[i] != 0.0:
            ps = g[i] + pi[i]
            num += ps * sig[i]
            den += ps
    return num / den if den > 0.0 else 0.0


@vector_field
def unigram_sliding_field(t, y, p, dy):
    """Sliding mode of the unigram model: free ``-sigma_i``, stuck ``-u`` (recomputed)."""
    c = int(p[HEADER])
    pi = p[HEADER + 1 : HEADER + 1 + c]
    sig = p[_u_mode_at(p) : _u_mode_at(p) + c]
    unigram_grad(y, pi, dy)
    u = _u_control(dy, pi, sig)
    for i in range(c):
        dy[i] = -sig[i] if sig[i] != 0.0 else -u


@vector_field
def unigram_sliding_events(t, y, p, out):
    """``sigma_i g_i`` (free), ``1 - |u|`` (stuck), then ``f - f* - level``."""
    c = int(p[HEADER])
    pi = p[HEADER + 1 : HEADER + 1 + c]
    at = unigram_tail(p)
    sig = p[at + 1 + c : at + 1 + 2 * c]
    g = np.empty(c)
    lse = unigram_grad(y, pi, g)
    u = _u_control(g, pi, sig)
    for i in range(c):
        out[i] = sig[i] * g[i] if sig[i] != 0.0 else 1.0 - abs(u)
    out[c] = unigram_level_event(y, pi, p[at + 1 : at + 1 + c], lse, p[at])


@vector_field
def unigram_mode_output(t, y, p, out):
    """Output: the state, then the mode (0 stuck, else the free sign) of the segment."""
    c = int(p[HEADER])
    at = _u_mode_at(p)
    out[:c] = y
    out[c : 2 * c] = p[at : at + c]


@vector_field
def unigram_select(t, y, p, out):
    """Mode selection of the unigram model and projection onto ``g_S = 0``.

    The box QP ``min Var_p(s)`` over the candidates has the closed-form solution
    ``s_C = sum_F p sigma / sum_F p``, inside ``(-1, 1)`` as long as the free signs differ, so
    candidates always slide; the stuck coordinates are put back on
    ``theta_i = log pi_i + LSE(theta_F) - log(sum_F pi)``, where ``p_S = pi_S`` exactly.
    """
    c = int(p[HEADER])
    pi = p[HEADER + 1 : HEADER + 1 + c]
    at = unigram_tail(p)
    logpi = p[at + 1 : at + 1 + c]
    sig = p[at + 1 + c : at + 1 + 2 * c]
    g = np.empty(c)
    unigram_grad(y, pi, g)
    newsig = out[:c]
    newu = out[c : 2 * c]
    ynew = out[2 * c :]
    ynew[:] = y
    num = 0.0
    den = 0.0
    for i in range(c):
        ps = g[i] + pi[i]
        if sig[i] != 0.0 and sig[i] * g[i] > 8.0 * _EPS * (ps + pi[i]):
            newsig[i] = sig[i]
            num += ps * sig[i]
            den += ps
        else:
            newsig[i] = 0.0
    u = num / den if den > 0.0 else 0.0
    if abs(u) >= 1.0:
        # every free sign equal, while sum(g) = 0 and g_S = 0: the free gradients are rounding
        # noise (the last two coordinates stick at the same time), this is the minimizer
        u = 0.0
        for i in range(c):
            newsig[i] = 0.0
    for i in range(c):
        newu[i] = newsig[i] if newsig[i] != 0.0 else u
    # projection
    mf = -np.inf
    mass = 0.0
    for i in range(c):
        if newsig[i] != 0.0:
            mf = max(mf, y[i])
            mass += pi[i]
    if mass > 0.0:
        acc = 0.0
        for i in range(c):
            if newsig[i] != 0.0:
                acc += math.exp(y[i] - mf)
        shift = mf + math.log(acc) - math.log(mass)
    else:  # every coordinate stuck: the minimizer log pi + LSE(theta)
        mf = y.max()
        acc = 0.0
        for i in range(c):
            acc += math.exp(y[i] - mf)
        shift = mf + math.log(acc)
    for i in range(c):
        if newsig[i] == 0.0:
            ynew[i] = logpi[i] + shift


# --------------------------------------------------------------------------------------------
# problems


def _mode_valid(problem, x, mode) -> bool:
    """The problem's mode selection at ``x``, started from ``mode``, releases no stuck
    coordinate and flips no free sign (it may only add coordinates that reach zero)."""
    p = problem._p_select
    n = problem.n
    at = problem.mode_at
    p[at : at + n] = mode
    p[at + n : at + 2 * n] = 0.0
    buf = np.empty(3 * n)
    problem.select(0.0, np.ascontiguousarray(x, dtype=np.float64), p, buf)
    new = buf[:n]
    return bool(np.all((new == 0.0) | (new == mode)))


class QuadraticSign:
    """Sign flow on ``f(x) = 1/2 (x - x*)^T H (x - x*)`` (``H`` symmetric positive definite).

    Parameters
    ----------
    H : array_like
        ``(n, n)`` symmetric positive definite matrix (dense; a diagonal one is detected).
    x_star : array_like
        The minimizer.
    """

    def __init__(self, H, x_star):
        H = np.array(H, dtype=np.float64)
        xs = np.array(x_star, dtype=np.float64).ravel()
        n = xs.size
        if H.shape != (n, n) or n < 1:
            raise ValueError(f"H must be an (n, n) matrix with n = len(x_star) = {n}, got shape "
                             f"{H.shape}")
        if not np.all(np.isfinite(H)) or not np.all(np.isfinite(xs)):
            raise ValueError("H and x_star must be finite")
        if not np.allclose(H, H.T, rtol=1e-13, atol=0.0):
            raise ValueError("H must be symmetric")
        try:
            np.linalg.cholesky(H)
        except np.linalg.LinAlgError:
            raise ValueError("H must be positive definite") from None
        self.H = np.ascontiguousarray(0.5 * (H + H.T))
        self.x_star = np.ascontiguousarray(xs)
        self.n = n
        self.diagonal = bool(np.all(self.H == np.diag(np.diag(self.H))))
        self.mode_at = HEADER + 2 + n * n + n
        self._p_select = self.params()

    def params(self, flow: str = "sign", level: float = 0.0, flow_params=()) -> np.ndarray:
        """``[flow header, n, H, x*, level, sigma (n), u (n)]``."""
        return pack(flow, np.concatenate([[float(self.n)], self.H.ravel(), self.x_star,
                                          [float(level)], np.zeros(2 * self.n)]), flow_params)

    # compiled functions are returned by properties: a class attribute would bind as a method
    @property
    def field(self):
        """Plain field of any flow (:mod:`linsim.flows`)."""
        return quadratic_flow_field

    @property
    def output(self):
        return identity_output

    @property
    def mode_output(self):
        """Output function ``[x, mode]`` (``2n`` values; sliding and exact methods)."""
        return quadratic_mode_output

    @property
    def sliding_field(self):
        return quadratic_sliding_field

    @property
    def sliding_events(self):
        return quadratic_sliding_events

    @property
    def select(self):
        return quadratic_select

    @property
    def gap_event(self):
        return quadratic_gap_event

    @property
    def kink_events(self):
        return quadratic_kink_events

    def grad(self, x) -> np.ndarray:
        return self.H @ (np.asarray(x, float) - self.x_star)

    def gap(self, x) -> float:
        d = np.asarray(x, float) - self.x_star
        return float(0.5 * d @ self.H @ d)

    def tr_step(self, x, h: float) -> np.ndarray:
        """Implicit Euler step: the l_inf trust-region minimizer (:func:`implicit.tr_quadratic`)."""
        out = np.empty(self.n)
        tr_quadratic(self.H, self.x_star, np.ascontiguousarray(x, dtype=np.float64), float(h),
                     out)
        return out

    @staticmethod
    def distance(a, b) -> float:
        return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))

    def mode_valid(self, x, mode) -> bool:
        """Whether ``mode`` (0 stuck, else the free sign) is the Filippov mode at ``x``."""
        return _mode_valid(self, x, mode)

    def closed_form(self, x0, t) -> np.ndarray:
        """Z24.sf-diagonal: ``x_i(t) = x*_i + sign(d_i) max(|d_i| - t, 0)``, ``d = x0 - x*``
        (diagonal ``H`` only)."""
        if not self.diagonal:
            raise ValueError("the sign-flow closed form needs a diagonal H")
        d = np.asarray(x0, float) - self.x_star
        t = np.asarray(t, float)[:, None]
        return self.x_star + np.sign(d) * np.maximum(np.abs(d) - t, 0.0)


class UnigramSign:
    """Sign flow on the Y25 unigram model (:class:`linsim.problems.softmax.UnigramModel`).

    ``labels``/``selected`` set up :func:`linsim.problems.softmax.unigram_summary` as output.
    """

    def __init__(self, model: UnigramModel, labels=None, selected=None):
        self.model = model
        self.n = model.classes
        self.labels = labels
        self.selected = selected
        n_sel = self.n if selected is None else int(np.asarray(selected).size)
        self.mode_at = HEADER + 4 + 3 * self.n + n_sel
        self._p_select = self.params()

    def params(self, flow: str = "sign", level: float = 0.0, flow_params=()) -> np.ndarray:
        """The model's parameter vector plus the mode block ``[sigma (c), u (c)]``."""
        base = self.model.params(flow, self.labels, self.selected, level, flow_params)
        assert base.size == self.mode_at
        return np.concatenate([base, np.zeros(2 * self.n)])

    @property
    def field(self):
        return self.model.field

    @property
    def sliding_field(self):
        return unigram_sliding_field

    @property
    def sliding_events(self):
        return unigram_sliding_events

    @property
    def select(self):
        return unigram_select

    @property
    def output(self):
        return self.model.summary_output

    @property
    def mode_output(self):
        """Output function ``[theta, mode]`` (``2c`` values; sliding method)."""
        return unigram_mode_output

    @property
    def gap_event(self):
        from ..problems.softmax import unigram_gap_event

        return unigram_gap_event

    @property
    def kink_events(self):
        return unigram_kink_events

    def grad(self, x) -> np.ndarray:
        return self.model.grad(x)

    def gap(self, x) -> float:
        return self.model.gap(x)

    def tr_step(self, x, h: float) -> np.ndarray:
        """Implicit Euler step (:func:`implicit.tr_unigram`)."""
        out = np.empty(self.n)
        tr_unigram(np.ascontiguousarray(x, dtype=np.float64), self.model.log_pi, float(h), out)
        return out

    @staticmethod
    def distance(a, b) -> float:
        """``max |a - b|`` modulo shifts along ``1`` (the model is shift invariant)."""
        d = np.asarray(a) - np.asarray(b)
        return float(0.5 * (d.max() - d.min()))

    def mode_valid(self, x, mode) -> bool:
        """Whether ``mode`` (0 stuck, else the free sign) is the Filippov mode at ``x``."""
        return _mode_valid(self, x, mode)

    def excess(self, x) -> np.ndarray:
        """Per-class excess ``expm1(d_k) - d_k`` (sums to ``f - f*`` with weights ``pi``)."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        g = np.empty(self.n)
        e = np.empty(self.n)
        lse = unigram_grad(x, self.model.pi, g)
        unigram_excess(x, self.model.log_pi, lse, e)
        return e


# --------------------------------------------------------------------------------------------
# front ends


@dataclass
class SignFlowResult:
    """Result of :func:`sign_flow`.

    Attributes
    ----------
    t, y : ndarray
        Output times and the output there (the state, or the problem's output function).
    t_final, x_final
        Where the integration stopped and the state there.
    time_to_level : float or None
        First time with ``f - f* <= level``, or None when not reached (or no level given).
    event_t, event_index : ndarray
        Times and coordinates of the mode changes (sliding, exact).
    method : str
    stats : dict
        ``steps``, ``rejected``, ``rhs_evals``, ``events``, ``segments``, ``tr_solves``,
        ``seconds``, ``status``.
    """

    t: np.ndarray
    y: np.ndarray
    t_final: float
    x_final: np.ndarray
    time_to_level: float | None
    method: str
    event_t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    event_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    stats: dict = field(default_factory=dict)
    mode: np.ndarray | None = None


METHODS = ("closed", "exact", "sliding", "implicit", "explicit")


def _stats(**kw) -> dict:
    base = {"steps": 0, "rejected": 0, "rhs_evals": 0, "events": 0, "segments": 0,
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
    integrator: str = "DOP853",
    rtol: float = 1e-12,
    atol: float = 1e-14,
    step: float | None = None,
    max_step: float = np.inf,
    first_step: float | None = None,
    max_steps: int = 10_000_000,
    max_events: int | None = None,
    switch_tol: float = 1e-13,
    h: float | None = None,
) -> SignFlowResult:
    """Integrate sign flow ``x' in -Sgn(grad f(x))`` on ``problem`` with one of :data:`METHODS`.

    Parameters
    ----------
    problem : QuadraticSign or UnigramSign
    x0 : array_like
    t_span : (float, float)
    method : {"closed", "exact", "sliding", "implicit", "explicit"}
        ``closed``: Z24.sf-diagonal (diagonal quadratics); ``exact``: event to event with the
        exact roots (quadratics); ``sliding``: event-driven Filippov integration on the driver;
        ``implicit``: implicit Euler = l_inf trust-region steps, switches located;
        ``explicit``: the naive field ``-sign(g)`` (``sign(0) = 0``) on the driver (a baseline:
        it chatters).
    t_eval, output, n_output
        Output times (default ``[t1]``) and an optional output function as in
        :func:`linsim.integrate.solve`.
    level : float, optional
        Report the first time with ``f - f* <= level``.
    integrator, rtol, atol, step, max_step, first_step, max_steps
        The driver's method and settings (``sliding``, ``explicit``); ``step`` for fixed-step
        methods.
    max_events : int, optional
        Budget of mode changes (default ``10 n + 100``); exceeding it raises
        :class:`IntegrationError` (chattering or Zeno behaviour).
    switch_tol, h
        ``implicit``: time tolerance of the located crossings and releases, and largest step
        (:func:`linsim.integrate.implicit.implicit_euler`).

    Returns
    -------
    SignFlowResult
    """
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
        if not isinstance(problem, QuadraticSign):
            raise ValueError("method 'closed' needs a diagonal QuadraticSign")
        xs = problem.closed_form(x0, te)
        d = np.abs(x0 - problem.x_star)
        t_level = None
        if level is not None:
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
        return SignFlowResult(te, _outputs(problem, output, n_output, xs, te, p), t1, xf,
                              t_level, method,
                              stats=_stats(seconds=time.perf_counter() - start))

    if method == "implicit":
        res = implicit_euler(problem.tr_step, x0, (t0, t1), t_eval=te, h=h,
                             switch_tol=switch_tol, valid=problem.mode_valid, gap=problem.gap,
                             level=level)
        st = res.stats
        return SignFlowResult(
            res.t, _outputs(problem, output, n_output, res.x, res.t, p), res.t_final,
            res.x_final, res.time_to_level, method, res.switch_t,
            np.full(res.switch_t.size, -1, dtype=np.int64),
            stats=_stats(steps=st["steps"], rejected=st["rejected"], tr_solves=st["tr_solves"],
                         events=st["switches"], seconds=time.perf_counter() - start))

    if method == "explicit":
        ev = Events(problem.gap_event, 1, -1.0, False)
        sol = solve(problem.field, (t0, t1), x0, p, method=integrator, rtol=rtol, atol=atol,
                    t_eval=te, output=output, n_output=n_output, events=ev,
                    first_step=first_step, max_step=max_step, step=step, max_steps=max_steps)
        t_level = float(sol.t_events[0]) if (level is not None and sol.t_events.size) else None
        if level is not None and problem.gap(x0) <= lev:
            t_level = t0
        return SignFlowResult(sol.t, sol.y, sol.t_final, sol.y_final, t_level, method,
                              stats=_stats(steps=sol.naccepted, rejected=sol.nrejected,
                                           rhs_evals=sol.nfev, seconds=sol.seconds))

    # the mode at t0: free signs from the gradient, zeros are candidates of the first selection
    g0 = problem.grad(x0)
    mode_at = problem.mode_at
    p[mode_at : mode_at + n] = np.sign(g0)
    p[mode_at + n : mode_at + 2 * n] = np.sign(g0)
    budget = 10 * n + 100 if max_events is None else int(max_events)
    log_t = np.zeros(budget)
    log_i = np.zeros(budget, dtype=np.int64)
    level_hit = level is not None and problem.gap(x0) <= lev

    if method == "exact":
        if not isinstance(problem, QuadraticSign):
            raise ValueError("method 'exact' needs a QuadraticSign (linear motion between "
                             "events)")
        return _exact_quadratic(problem, x0, p, (t0, t1), te, output, n_output, level,
                                level_hit, log_t, log_i, start)

    tab = get_tableau(integrator)
    if not tab.adaptive:
        raise ValueError("method 'sliding' needs an adaptive integrator (RK45 or DOP853)")
    y = x0.copy()
    rt = np.array([float(rtol)])
    at = np.array([float(atol)])
    out_fn, n_out = (identity_output, n) if output is None else (output, int(n_output))
    out = np.zeros((te.size, n_out))
    K = np.empty((tab.total_stages, n))
    work = np.empty((2 + tab.P.shape[1], n))
    fs = np.array([t0, float(first_step) if first_step else 0.0, 1e-4])
    ist = np.zeros(9, dtype=np.int64)
    res = np.zeros(4)
    q = tab.error_order + 1
    use3 = int(np.any(tab.E3 != 0))
    _slide(problem.sliding_field, problem.sliding_events, out_fn, problem.select, tab.A, tab.C,
           tab.B, tab.E, tab.E3, tab.P, tab.stages, q, use3, p, y, K, work, t1, rt, at,
           float(max_step), te, out, fs, ist, int(mode_at), int(max_steps), log_t, log_i, res)
    seconds = time.perf_counter() - start
    status = int(res[3])
    n_ev = int(res[1])
    stats = _stats(steps=int(ist[_N_ACC]), rejected=int(ist[_N_REJ]),
                   rhs_evals=int(ist[_N_FEV]), events=n_ev, segments=int(res[2]),
                   seconds=seconds, status=status)
    if status == TOO_MANY_EVENTS:
        raise IntegrationError(float(fs[_T]), f"more than {budget} events (chattering or Zeno "
                               f"behaviour; raise max_events)", stats)
    if status < 0:
        raise IntegrationError(float(fs[_T]), driver._REASONS[status], stats)
    t_level = t0 if level_hit else (None if (level is None or math.isnan(res[0]))
                                    else float(res[0]))
    k = int(ist[_I_EVAL])
    return SignFlowResult(te[:k].copy(), out[:k], float(fs[_T]), y, t_level, method,
                          log_t[:n_ev].copy(), log_i[:n_ev].copy(), stats,
                          mode=p[mode_at : mode_at + n].copy())


def _exact_quadratic(problem: QuadraticSign, x0, p, t_span, te, output, n_output, level,
                     level_hit, log_t, log_i, start) -> SignFlowResult:
    """Event to event with exact roots: between events ``x(t) = x + (t - t_k) v``."""
    t0, t1 = t_span
    n = problem.n
    H, xs = problem.H, problem.x_star
    mode_at = problem.mode_at
    buf = np.empty(3 * n)
    x = x0.copy()
    t = t0
    quadratic_select(t, x, p, buf)
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
        quadratic_select(t, x, p, buf)
        p[mode_at : mode_at + 2 * n] = buf[: 2 * n]
        x[:] = buf[2 * n :]
    return SignFlowResult(
        te[:i_out].copy(), rows[:i_out], t, x, t_level, "exact", log_t[:n_ev].copy(),
        log_i[:n_ev].copy(),
        _stats(events=n_ev, segments=segments, seconds=time.perf_counter() - start),
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


def kink_events(problem, flow: str) -> Events:
    """The kink events of a clipped ``flow`` on ``problem`` (terminal), then its
    ``f - f* = level`` (non-terminal, falling)."""
    m = kink_count(flow, problem.n)
    return Events(problem.kink_events, m + 1, np.r_[np.zeros(m), -1.0],
                  np.r_[np.ones(m, bool), False])


__all__ = ["sign_flow", "SignFlowResult", "QuadraticSign", "UnigramSign", "solve_piecewise",
           "kink_events", "METHODS", "TOO_MANY_EVENTS"]
