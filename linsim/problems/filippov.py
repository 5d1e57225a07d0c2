"""Sign-flow problems: what the Filippov integrators of :mod:`linsim.integrate.sliding` need.

Each class here is a *sliding problem* (:class:`linsim.problems.SlidingProblem`): it gives
:func:`linsim.integrate.sliding.sign_flow` its gradient and gap, the compiled functions of
event-driven sliding (the sliding field, its events, the mode selection at an event) and the
implicit Euler step (the l_inf trust-region minimizer), all on one parameter vector ``p`` whose
last ``2n`` entries (from :attr:`mode_at`) hold the mode: ``sigma`` (0 for a stuck coordinate,
else the free sign) and ``u`` (the control of each coordinate).

The mode selection at an event (see :mod:`linsim.integrate.sliding`): the candidates ``C`` (the
stuck set plus the coordinates whose gradient reached zero) get the controls
``argmin { s^T H s : s_C in [-1, 1], s_F = sigma_F }`` (a box QP,
:func:`linsim.integrate.implicit.box_qp`); an interior control means *slide*, a control at
``+-1`` means the coordinate is free with that sign. The stuck coordinates are then projected
back onto ``g_S = 0``.

* :class:`QuadraticSign`: ``f = 1/2 (x - x*)^T H (x - x*)``, dense ``H``. Between events the
  motion is linear, so it also serves ``sign_flow(method="exact")`` (event to event with the
  exact roots) and, for diagonal ``H``, ``method="closed"`` (Z24.sf-diagonal).
* :class:`UnigramSign`: the Y25 unigram model. ``H = diag(p) - p p^T`` makes the stuck-set system
  diagonal plus rank one; by Sherman-Morrison every stuck coordinate gets the same control
  ``u = sum_F p_i sigma_i / sum_F p_i`` (``O(|S|)``), a weighted mean of free signs. Because
  ``sum_i g_i = 0`` the free set always holds both signs, so ``|u| < 1``: coordinates stick and
  are never released, and the last two reach zero together, at the minimizer, in finite time.

Implicit Euler steps: :func:`tr_quadratic` (a box QP) and :func:`tr_unigram` (for the unigram
model the minimizer is ``theta_i = clip(log pi_i + s, lo_i, hi_i)`` with one scalar ``s``
solving ``LSE(theta(s)) = s``, found among the ``2c`` sorted breakpoints and then in closed
form: ``O(c log c)``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..flows import HEADER, apply_flow, kink_count, kink_values, pack
from ..integrate import Events, identity_output, vector_field
from ..integrate.implicit import box_qp
from .quadratic import block_matvec
from .softmax import (
    UnigramModel,
    unigram_excess,
    unigram_gap_event,
    unigram_grad,
    unigram_kink_events,
    unigram_level_event,
    unigram_tail,
)

_EPS = 2.220446049250313e-16


# --------------------------------------------------------------------------------------------
# quadratics: p = [header, n, H (n*n, row-major), x* (n), level, sigma (n), u (n)]


@njit(cache=True, inline="always")
def _q_unpack(p):
    n = int(p[HEADER])
    H = p[HEADER + 1 : HEADER + 1 + n * n].reshape((n, n))
    xs = p[HEADER + 1 + n * n : HEADER + 1 + n * n + n]
    at = HEADER + 1 + n * n + n
    return n, H, xs, at


@njit(cache=True, inline="always")
def _q_grad(H, xs, x, g):
    """``g = H (x - x*)``; returns ``f - f* = 1/2 (x - x*)^T H (x - x*)`` (one dense block of
    :func:`linsim.problems.quadratic.block_matvec`; ``H`` is exactly symmetric)."""
    return block_matvec(H.reshape(H.size), 0, x.size, 0, x, xs, g)


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
        """Implicit Euler step: the l_inf trust-region minimizer (:func:`tr_quadratic`)."""
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
        return unigram_gap_event

    @property
    def kink_events(self):
        return unigram_kink_events

    def grad(self, x) -> np.ndarray:
        return self.model.grad(x)

    def gap(self, x) -> float:
        return self.model.gap(x)

    def tr_step(self, x, h: float) -> np.ndarray:
        """Implicit Euler step (:func:`tr_unigram`)."""
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
# implicit Euler steps (l_inf trust-region minimizers)


@njit(cache=True)
def tr_quadratic(H, xstar, x, h, out):
    """Trust-region step ``argmin {1/2 (z - x*)^T H (z - x*) : ||z - x||_inf <= h}`` into ``out``.

    Solved for ``w = z - x*`` (so that ``z = x*`` exactly when the box holds the minimizer),
    started at the projection of ``x*`` onto the box.
    """
    n = x.size
    lo = np.empty(n)
    hi = np.empty(n)
    c = np.zeros(n)
    w = np.zeros(n)
    for i in range(n):
        lo[i] = (x[i] - h) - xstar[i]
        hi[i] = (x[i] + h) - xstar[i]
    box_qp(H, c, lo, hi, w, 20 * n + 50)
    for i in range(n):
        out[i] = xstar[i] + w[i]


# --------------------------------------------------------------------------------------------
# the unigram trust-region step


@njit(cache=True)
def _lse_clipped(logpi, lo, hi, s):
    """``LSE_i clip(log pi_i + s, lo_i, hi_i) - s`` (zero at the solution's ``s``)."""
    n = logpi.size
    m = -np.inf
    for i in range(n):
        v = min(max(logpi[i] + s, lo[i]), hi[i])
        m = max(m, v)
    acc = 0.0
    for i in range(n):
        v = min(max(logpi[i] + s, lo[i]), hi[i])
        acc += math.exp(v - m)
    return m + math.log(acc) - s


@njit(cache=True)
def tr_unigram(theta, logpi, h, out):
    """Trust-region step of the unigram model: ``argmin {f : ||z - theta||_inf <= h}``.

    The optimality conditions give ``z_i = clip(log pi_i + s, theta_i - h, theta_i + h)`` with
    ``s = LSE(z)``. ``F(s) = LSE(z(s)) - s`` is non-increasing; it is evaluated at the sorted
    breakpoints ``lo_i - log pi_i``, ``hi_i - log pi_i`` to find the interval that holds its
    root, where the clipped set ``K`` is fixed and ``s = LSE_K(z_K) - log(sum_K pi)`` in closed
    form (the clipped classes hold exactly their target mass). When every class can be inside
    (the box holds minimizers) the root is an interval; the ``s`` nearest to
    ``LSE(theta) - log(sum pi)`` is taken, so a step from a minimizer does not move. Returns
    ``s``.
    """
    n = theta.size
    lo = np.empty(n)
    hi = np.empty(n)
    bp = np.empty(2 * n)
    for i in range(n):
        lo[i] = theta[i] - h
        hi[i] = theta[i] + h
        bp[i] = lo[i] - logpi[i]
        bp[n + i] = hi[i] - logpi[i]
    # every class inside for s in [bp_lo, bp_hi]: the box holds minimizers, a flat root of F
    # (found explicitly: F is zero there only up to rounding, as sum(pi) is 1 up to rounding)
    flat_lo = bp[:n].max()
    flat_hi = bp[n:].min()
    if flat_lo <= flat_hi:
        mt = theta.max()
        acc = 0.0
        for i in range(n):
            acc += math.exp(theta[i] - mt)
        lw = 0.0
        mp = logpi.max()
        for i in range(n):
            lw += math.exp(logpi[i] - mp)
        s = min(max(mt + math.log(acc) - (mp + math.log(lw)), flat_lo), flat_hi)
        for i in range(n):
            out[i] = logpi[i] + s
        return s
    bp.sort()
    # largest breakpoint index j with F(bp[j]) >= 0 (F(bp[0]) >= 0 >= F(bp[-1]) always)
    a, b = 0, 2 * n - 1
    while b - a > 1:
        mid = (a + b) // 2
        if _lse_clipped(logpi, lo, hi, bp[mid]) >= 0.0:
            a = mid
        else:
            b = mid
    s_lo, s_hi = bp[a], bp[b]
    # on (s_lo, s_hi) no breakpoint: class i sits at hi iff hi_i - log pi_i <= s_lo, at lo iff
    # lo_i - log pi_i >= s_hi; those classes must hold exactly their target mass
    m = -np.inf
    for i in range(n):
        if hi[i] - logpi[i] <= s_lo:
            m = max(m, hi[i])
        elif lo[i] - logpi[i] >= s_hi:
            m = max(m, lo[i])
    acc = 0.0
    mass = 0.0
    for i in range(n):
        if hi[i] - logpi[i] <= s_lo:
            acc += math.exp(hi[i] - m)
            mass += math.exp(logpi[i])
        elif lo[i] - logpi[i] >= s_hi:
            acc += math.exp(lo[i] - m)
            mass += math.exp(logpi[i])
    s = min(max(m + math.log(acc) - math.log(mass), s_lo), s_hi)
    for i in range(n):
        out[i] = min(max(logpi[i] + s, lo[i]), hi[i])
    return s


def kink_events(problem, flow: str) -> Events:
    """The kink events of a clipped ``flow`` on ``problem`` (terminal), then its
    ``f - f* = level`` (non-terminal, falling)."""
    m = kink_count(flow, problem.n)
    return Events(problem.kink_events, m + 1, np.r_[np.zeros(m), -1.0],
                  np.r_[np.ones(m, bool), False])


__all__ = ["QuadraticSign", "UnigramSign", "kink_events", "tr_quadratic", "tr_unigram",
           "quadratic_select", "unigram_select"]
