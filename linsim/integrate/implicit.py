"""Implicit Euler on the set-valued sign-flow law: the l_inf trust-region step.

Sign flow ``x' in -Sgn(grad f(x))`` (THEORY.md, "Integrating sign flow honestly") discretized by
implicit Euler reads ``x_{k+1} in x_k - h Sgn(grad f(x_{k+1}))``. For convex ``f`` that is the
optimality condition of the l_inf trust-region step

    x_{k+1} = argmin { f(x) : ||x - x_k||_inf <= h },

so each step is a small convex problem and the scheme never chatters: a coordinate whose gradient
vanishes inside the box stays put on its sliding surface, to the accuracy of the subproblem.

Exactness
---------
If, during ``[t_k, t_k + h]``, the Filippov solution only *sticks* (a coordinate's gradient
reaches zero and slides from then on, with ``|control| < 1``), the exact point ``x(t_k + h)``
satisfies the optimality conditions of the box problem: free coordinates moved by exactly
``-h sign(g_i)`` and keep that sign, stuck ones moved less than ``h`` and have ``g_i = 0``. When
the box minimizer is unique, implicit Euler is therefore *exact* at the grid times, whatever
``h``. A step that contains a crossing or a release is only first-order accurate, with an error
of the order of the time from the step's start to the switch (so step doubling cannot see it: a
switch in the first half spoils both halves alike, and a crossing can even look like a stick);
:func:`implicit_euler` detects it from the mode at the step's end (a release, a flipped sign,
or a stuck set that could not slide there) and ends the step at the switch, located by bisection
on the step size. On the unigram model every event is a sticking event (the equivalent control
of the stuck set is a weighted mean of free signs of both signs), so implicit Euler is exact
there.

Subproblem solvers
------------------
:func:`box_qp`: a primal active-set method for ``min 1/2 z^T H z + c^T z`` over a box, with
finite termination; the problem layer builds on it (:mod:`linsim.problems.filippov`: the
quadratic's trust-region step and the Filippov mode selection). A problem hands
:func:`implicit_euler` its step as a Python callable (``tr_step(x, h)``, see
:class:`linsim.problems.SlidingProblem`), so this module knows no model.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy.optimize import brentq

from .driver import Solution

_EPS = 2.220446049250313e-16


# --------------------------------------------------------------------------------------------
# box-constrained quadratic programs


@njit(cache=True)
def box_qp(H, c, lo, hi, z, max_iter):
    """Minimize ``1/2 z^T H z + c^T z`` subject to ``lo <= z <= hi``, in place on ``z``.

    Primal active-set method started from ``clip(z, lo, hi)``; ``H`` must be positive definite
    on every face that the iteration visits (any symmetric positive definite ``H``). Variables
    with ``lo == hi`` are fixed. Returns ``state`` (int array): 0 interior, -1 at ``lo``, +1 at
    ``hi``, 2 fixed; raises if ``max_iter`` iterations do not reach the optimum.
    """
    n = z.size
    state = np.zeros(n, dtype=np.int64)
    for i in range(n):
        if lo[i] == hi[i]:
            z[i] = lo[i]
            state[i] = 2
        else:
            z[i] = min(max(z[i], lo[i]), hi[i])
            if z[i] == lo[i]:
                state[i] = -1
            elif z[i] == hi[i]:
                state[i] = 1
    grad = np.empty(n)
    free = np.empty(n, dtype=np.int64)
    for _ in range(max_iter):
        for i in range(n):
            acc = c[i]
            for j in range(n):
                acc += H[i, j] * z[j]
            grad[i] = acc
        nf = 0
        for i in range(n):
            if state[i] == 0:
                free[nf] = i
                nf += 1
        moved = False
        if nf > 0:
            A = np.empty((nf, nf))
            r = np.empty(nf)
            for a in range(nf):
                r[a] = -grad[free[a]]
                for b in range(nf):
                    A[a, b] = H[free[a], free[b]]
            d = np.linalg.solve(A, r)
            alpha = 1.0
            block = -1
            side = 0
            for a in range(nf):
                i = free[a]
                if d[a] < 0.0:
                    s = (lo[i] - z[i]) / d[a]
                    if s < alpha:
                        alpha, block, side = s, i, -1
                elif d[a] > 0.0:
                    s = (hi[i] - z[i]) / d[a]
                    if s < alpha:
                        alpha, block, side = s, i, 1
            alpha = max(alpha, 0.0)
            for a in range(nf):
                z[free[a]] += alpha * d[a]
            if block >= 0:
                z[block] = lo[block] if side < 0 else hi[block]
                state[block] = side
                continue
            moved = True
        if moved:
            for i in range(n):
                acc = c[i]
                for j in range(n):
                    acc += H[i, j] * z[j]
                grad[i] = acc
        # multipliers of the active bounds: at lo the gradient must be >= 0, at hi <= 0
        worst = -1
        wv = 0.0
        for i in range(n):
            if state[i] == -1 or state[i] == 1:
                scale = abs(c[i])
                for j in range(n):
                    scale += abs(H[i, j] * z[j])
                viol = -grad[i] if state[i] == -1 else grad[i]
                if viol > 64.0 * _EPS * scale and viol > wv:
                    wv = viol
                    worst = i
        if worst < 0:
            return state
        state[worst] = 0
    raise RuntimeError("box_qp: no convergence within max_iter iterations")


# --------------------------------------------------------------------------------------------
# the implicit Euler loop


def span_and_times(t_span, t_eval) -> tuple[float, float, np.ndarray]:
    """``(t0, t1, t_eval)`` checked: finite ``t1 > t0``, sorted output times in ``[t0, t1]``
    (default ``[t1]``); one-line ValueErrors naming the parameter."""
    t0, t1 = float(t_span[0]), float(t_span[1])
    if not (math.isfinite(t0) and math.isfinite(t1) and t1 > t0):
        raise ValueError(f"t_span must be finite with t1 > t0, got {t_span!r}")
    te = np.array([t1] if t_eval is None else t_eval, dtype=np.float64).ravel()
    if te.size and (np.any(np.diff(te) < 0) or te[0] < t0 or te[-1] > t1):
        raise ValueError("t_eval must be sorted and lie within t_span")
    return t0, t1, te


@dataclass
class ImplicitSolution(Solution):
    """Result of :func:`implicit_euler`: a :class:`~linsim.integrate.Solution` (``y`` the
    states, ``t_events`` the located crossing and release times, ``event_index`` -1,
    ``naccepted`` steps, ``nrejected`` inconsistent trial steps, ``nfev`` 0; ``counts``:
    ``switches``, ``tr_solves``) and:

    Attributes
    ----------
    time_to_level : float or None
        First time with ``gap <= level`` (root of the gap along a single trust-region step,
        which is exact on sticking-only intervals), or None.
    """

    time_to_level: float | None = None

    @property
    def x(self) -> np.ndarray:
        """Deprecated alias of ``y``."""
        return self.y

    @property
    def x_final(self) -> np.ndarray:
        """Deprecated alias of ``y_final``."""
        return self.y_final

    @property
    def switch_t(self) -> np.ndarray:
        """Deprecated alias of ``t_events``."""
        return self.t_events


#: Deprecated name of :class:`ImplicitSolution`.
ImplicitResult = ImplicitSolution


def step_status(x_old: np.ndarray, x_new: np.ndarray, h: float) -> np.ndarray:
    """Mode of each coordinate over a trust-region step: 0 stuck (moved less than ``h``, so its
    gradient is zero at the end), else the sign of its gradient (it moved ``-h`` times it)."""
    d = x_new - x_old
    slack = 8.0 * _EPS * (np.abs(x_old) + h)
    return np.where(np.abs(d) >= h - slack, -np.sign(d), 0.0)


def _consistent(s0: np.ndarray, s1: np.ndarray) -> bool:
    """No crossing or release between modes ``s0`` and ``s1``: stuck stays stuck, free keeps
    its sign or sticks."""
    return bool(np.all((s1 == 0) | (s1 == s0)))


def implicit_euler(
    step: Callable[[np.ndarray, float], np.ndarray],
    x0,
    t_span: tuple[float, float],
    *,
    t_eval=None,
    h: float | None = None,
    switch_tol: float = 1e-13,
    detect_switches: bool = True,
    valid: Callable[[np.ndarray, np.ndarray], bool] | None = None,
    gap: Callable[[np.ndarray], float] | None = None,
    level: float | None = None,
    max_steps: int = 1_000_000,
) -> ImplicitSolution:
    """Implicit Euler for sign flow, ``x_{k+1} = step(x_k, h)`` (a trust-region solver).

    Parameters
    ----------
    step : callable
        ``step(x, h)``: the l_inf trust-region minimizer around ``x`` of radius ``h``
        (for example :func:`tr_quadratic` or :func:`tr_unigram` wrapped).
    x0 : array_like
        Initial state.
    t_span : (float, float)
        ``t1 > t0``.
    t_eval : array_like, optional
        Sorted output times in ``[t0, t1]``; the steps land on them exactly. Default ``[t1]``.
    h : float, optional
        Largest step (default ``t1 - t0``).
    switch_tol : float
        With ``detect_switches``, a step is exact when it only sticks (see the module
        docstring). It is not when its end mode (:func:`step_status`) shows a crossing or a
        release with respect to the mode at its start, or when that end mode is not a valid
        Filippov mode (``valid(x_new, mode)`` False: the stuck set could not slide there; a
        crossing can look like a stick in the trust-region step). Then the largest step
        without a switch is found by bisection to ``switch_tol * max(1, t)`` and taken, so the
        step ends at the switch, and the mode after it is read from a probe step. Without
        detection the steps are plain implicit Euler steps (first order across switches).
    valid : callable, optional
        ``valid(x, mode) -> bool`` (for example the problem's mode selection reproduces
        ``mode``); default: every mode is valid.
    gap, level
        ``gap(x) = f(x) - f*``; the first time with ``gap <= level`` is located by root finding
        along one trust-region step from the last state above ``level``.

    Returns
    -------
    ImplicitSolution
    """
    t0, t1, te = span_and_times(t_span, t_eval)
    if not (switch_tol > 0 and math.isfinite(switch_tol)):
        raise ValueError(f"switch_tol must be finite and > 0, got {switch_tol!r}")
    hmax = t1 - t0 if h is None else float(h)
    if not (hmax > 0 and math.isfinite(hmax)):
        raise ValueError(f"h must be finite and > 0, got {h!r}")
    x = np.array(x0, dtype=np.float64).ravel().copy()
    out = np.zeros((te.size, x.size))
    start = time.perf_counter()
    t = t0
    i_out = 0
    while i_out < te.size and te[i_out] <= t:
        out[i_out] = x
        i_out += 1
    steps = rejected = 0
    solves = [0]
    raw_step = step

    def step(x, h):
        solves[0] += 1
        return raw_step(x, h)

    switches: list[float] = []
    t_level = None
    above = gap is not None and level is not None and gap(x) > level
    if gap is not None and level is not None and not above:
        t_level = t0
    mode = None  # mode at the current point (right limit), read from a probe step

    def ok(mode, x_new, s1):
        return _consistent(mode, s1) and (valid is None or valid(x_new, s1))

    def probe(x, t, limit):
        hp = min(limit, 1e-7 * max(1.0, abs(t)))
        return step_status(x, step(x, hp), hp)

    while t < t1:
        if steps + rejected >= max_steps:
            raise RuntimeError(f"implicit Euler: more than {max_steps} steps at t={t:.17g}")
        t_next = te[i_out] if i_out < te.size else t1
        hs = min(hmax, t_next - t)
        if t + 1.0001 * hs >= t_next:
            hs = t_next - t
        x_new = step(x, hs)
        if detect_switches:
            if mode is None:
                mode = probe(x, t, hs)
            s1 = step_status(x, x_new, hs)
            if not ok(mode, x_new, s1):
                rejected += 1
                lo, hi = 0.0, hs
                x_lo = x
                s_lo = mode
                while hi - lo > switch_tol * max(1.0, abs(t)):
                    mid = 0.5 * (lo + hi)
                    x_mid = step(x, mid)
                    s_mid = step_status(x, x_mid, mid)
                    if ok(mode, x_mid, s_mid):
                        lo, x_lo, s_lo = mid, x_mid, s_mid
                    else:
                        hi = mid
                if lo > 0.0:
                    hs, x_new, s1 = lo, x_lo, s_lo
                else:  # the switch is at the start: cross it with a step of the tolerance
                    hs = hi
                    x_new = step(x, hi)
                    s1 = step_status(x, x_new, hi)
                switches.append(t + hi)
        t_new = t_next if hs == t_next - t else t + hs
        if above and hs > 0 and gap(x_new) <= level:
            above = False
            if gap(x) <= level:
                tau = 0.0
            else:
                tau = brentq(lambda v, x=x: gap(step(x, v)) - level, 0.0, hs,
                             xtol=1e-15 * max(1.0, t), rtol=4 * _EPS)
            t_level = t + tau
        if detect_switches:
            if t_new < t_next and hs < t_next - t:
                mode = None  # at a switch: read the new mode with a probe
            else:
                mode = np.where(s1 == 0, 0.0, mode)  # stuck coordinates stay stuck
        x = x_new
        t = t_new
        steps += 1
        while i_out < te.size and te[i_out] <= t:
            out[i_out] = x
            i_out += 1
    switch_t = np.array(switches)
    return ImplicitSolution(
        t=te[:i_out].copy(), y=out[:i_out], t_final=t, y_final=x, status=0, t_events=switch_t,
        event_index=np.full(switch_t.size, -1, dtype=np.int64), nfev=0, naccepted=steps,
        nrejected=rejected, method="implicit Euler", seconds=time.perf_counter() - start,
        counts={"switches": len(switches), "tr_solves": solves[0]}, time_to_level=t_level)


# --------------------------------------------------------------------------------------------
# linearly implicit Euler with extrapolation, for stiff smooth fields


@dataclass
class ExtrapolationSolution(Solution):
    """Result of :func:`linearly_implicit_extrapolation`: a :class:`~linsim.integrate.Solution`
    (``t_events``/``y_events``: the first zero of ``event`` and the state there, if any;
    ``status`` 1 when a terminal event stopped it; ``counts``: ``solves``)."""

    @property
    def t_event(self) -> float | None:
        """Deprecated: ``t_events[0]``, or None without an event."""
        return float(self.t_events[0]) if self.t_events.size else None

    @property
    def y_event(self) -> np.ndarray | None:
        """Deprecated: ``y_events[0]``, or None without an event."""
        return self.y_events[0] if self.t_events.size else None


#: Deprecated name of :class:`ExtrapolationSolution`.
ExtrapolationResult = ExtrapolationSolution


def linearly_implicit_extrapolation(
    rhs: Callable[[np.ndarray], np.ndarray],
    factor: Callable[[np.ndarray], Callable[[float, np.ndarray], np.ndarray]],
    y0,
    t_span: tuple[float, float],
    *,
    t_eval=None,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    first_step: float = 1e-3,
    columns: int = 5,
    event: Callable[[np.ndarray], float] | None = None,
    terminal: bool = False,
    max_steps: int = 100_000,
) -> ExtrapolationSolution:
    """Extrapolated linearly implicit Euler (Deuflhard's LIMEX/SEULEX idea) for stiff ODEs.

    A macro step ``H`` from ``y`` takes ``n_j = 1, 2, ..., columns`` substeps
    ``(I - h J) (y_{i+1} - y_i) = h f(y_i)`` with ``J`` the Jacobian at ``y``, and extrapolates
    the results in ``h`` (Aitken-Neville, the error expansion is in powers of ``h``): order
    ``columns``, L-stable substeps. The difference of the last two diagonal entries controls
    ``H``. Meant for autonomous fields whose ``(I - h J)`` solve is cheap (a diagonal plus low
    rank Jacobian, as for the softmax models), where the driver's explicit methods need
    ``lambda_max / lambda_min`` steps.

    Parameters
    ----------
    rhs : callable
        ``rhs(y) -> y'``.
    factor : callable
        ``factor(y)`` returns ``solve(h, r) = (I - h J(y))^-1 r``.
    y0, t_span, t_eval
        Initial state, ``(t0, t1)``, output times (landed on exactly).
    rtol, atol : float
        Error tolerance of a macro step (RMS norm).
    event : callable, optional
        ``event(y)``; its first sign change from positive to non-positive is located by root
        finding along the macro step (``t_event``); ``terminal`` stops there.

    Returns
    -------
    ExtrapolationSolution
    """
    t0, t1, te = span_and_times(t_span, t_eval)
    if columns < 2:
        raise ValueError(f"columns must be an integer >= 2, got {columns!r}")
    y = np.array(y0, dtype=np.float64).ravel().copy()
    start = time.perf_counter()
    seq = np.arange(1, columns + 1)
    out = np.zeros((te.size, y.size))
    i_out = 0
    while i_out < te.size and te[i_out] <= t0:
        out[i_out] = y
        i_out += 1
    nfev = solves = steps = rejected = 0

    def macro(y, H, solve):
        nonlocal nfev, solves
        T = []
        err = np.inf
        for j, nj in enumerate(seq):
            h = H / nj
            yj = y.copy()
            for _ in range(nj):
                yj = yj + solve(h, h * rhs(yj))
                nfev += 1
                solves += 1
            row = [yj]
            for k in range(1, j + 1):
                r = nj / seq[j - k] - 1.0
                row.append(row[k - 1] + (row[k - 1] - T[j - 1][k - 1]) / r)
            T.append(row)
        y_new = T[-1][-1]
        sc = atol + rtol * np.maximum(np.abs(y), np.abs(y_new))
        err = float(np.sqrt(np.mean(((T[-1][-1] - T[-1][-2]) / sc) ** 2)))
        return y_new, err

    t = t0
    H = float(first_step)
    t_event = y_event = None
    ev_prev = event(y) if event is not None else None
    while t < t1:
        if steps + rejected >= max_steps:
            raise RuntimeError(f"linearly implicit extrapolation: more than {max_steps} steps "
                               f"at t={t:.17g}")
        t_next = te[i_out] if i_out < te.size else t1
        Hs = min(H, t_next - t)
        if t + 1.0001 * Hs >= t_next:
            Hs = t_next - t
        solve = factor(y)
        y_new, err = macro(y, Hs, solve)
        if not (err <= 1.0 and np.all(np.isfinite(y_new))):
            rejected += 1
            H = Hs * (max(0.1, 0.9 * err ** (-1.0 / columns)) if math.isfinite(err) else 0.1)
            if H <= 1e-14 * max(1.0, abs(t)):
                raise RuntimeError(f"linearly implicit extrapolation: step size underflow at "
                                   f"t={t:.17g}")
            continue
        steps += 1
        t_new = t_next if Hs == t_next - t else t + Hs
        if event is not None and t_event is None:
            ev_new = event(y_new)
            if ev_prev > 0.0 and ev_new <= 0.0:
                tau = brentq(lambda v, y=y, solve=solve: event(macro(y, v, solve)[0]), 0.0, Hs,
                             xtol=1e-13 * max(1.0, abs(t)), rtol=4 * _EPS)
                t_event = t + tau
                y_event = macro(y, tau, solve)[0]
                if terminal:
                    y, t = y_event, t_event
                    break
            ev_prev = ev_new
        y, t = y_new, t_new
        while i_out < te.size and te[i_out] <= t:
            out[i_out] = y
            i_out += 1
        H = Hs * min(4.0, max(0.2, 0.9 * (err if err > 0 else 1e-10) ** (-1.0 / columns)))
    found = t_event is not None
    return ExtrapolationSolution(
        t=te[:i_out].copy(), y=out[:i_out], t_final=t, y_final=y,
        status=1 if (found and terminal) else 0,
        t_events=np.array([t_event] if found else []),
        event_index=np.zeros(1 if found else 0, dtype=np.int64),
        y_events=(y_event[None, :] if found else np.zeros((0, y.size))), nfev=nfev,
        naccepted=steps, nrejected=rejected, method=f"linearly implicit extrapolation "
        f"({columns} columns)", seconds=time.perf_counter() - start, counts={"solves": solves})
