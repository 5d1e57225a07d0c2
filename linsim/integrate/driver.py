"""The one adaptive Runge-Kutta driver, compiled with Numba, and its Python front end :func:`solve`.

Design
------
Right-hand sides, event functions and output functions share one Numba signature,
:data:`SIGNATURE` ``(t, y, p, out) -> None``, and are passed to the compiled driver as
*first-class functions* (``numba.types.FunctionType``). The driver itself is compiled once with
an explicit signature and cached on disk; unlike a driver that takes a jitted dispatcher as an
argument (numba issue 6251) it is not recompiled in a new process.

The compiled driver :func:`drive` takes the three functions and a handful of small named
layouts (``typing.NamedTuple``, which Numba passes at no cost): :class:`RKTableau` (the method as
data), :class:`Control` (end time, tolerances, step limits), :class:`EventBuffers` (event
settings and the record of located events), :class:`Outputs` (output times and rows) and
:class:`State` (parameters, state, stages, work space and the run's scalars, indexed by the
named ``F_*``/``I_*`` constants). :func:`prepare` checks the arguments and builds them: the
one setup path of :func:`solve`, :func:`linsim.integrate.solve_blocks` (through ``solve``)
and :func:`linsim.integrate.sliding.sign_flow`. The step loop is split into inline helpers
(:func:`_initial_step`, :func:`_pi_factor`, :func:`_scan_events`, :func:`_emit_outputs`).

The driver runs in *chunks*: it stops after ``chunk`` accepted steps with its whole state
(``t``, ``h``, the last error, the stage ``K_0``, the event values) in :class:`State`, and the
next call resumes bit-for-bit where it stopped. :func:`solve` uses that to update a progress
bar; the numbers do not depend on the chunk size.

For large states the driver is bound by memory traffic (each stage is a pass over state-sized
vectors): the new point and the partial error sums are formed in one pass over the stages
(:func:`_combine_step`), and the error pass then reads only those and the last stage. The
error norm is RMS (as SciPy) or, with ``solve(norm="max")``, the largest scaled component
(``State.i[I_NORM]``).
"""

from __future__ import annotations

import functools
import math
import sys
import time
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numba import njit, types
from numba.core.dispatcher import Dispatcher
from numba.extending import typeof_impl

from ..kernels import sum4
from .tableaux import METHODS, Tableau, get_tableau

_f8 = types.float64
_vec = types.float64[::1]
_mat = types.float64[:, ::1]
_ivec = types.int64[::1]

#: Signature shared by right-hand sides, events and outputs: ``f(t, y, p, out)``.
SIGNATURE = types.void(_f8, _vec, _vec, _vec)
FieldType = types.FunctionType(SIGNATURE)


class CompiledField(types.WrapperAddressProtocol):
    """A compiled field (right-hand side, event or output function) whose machine address is
    looked up once.

    Passed to a compiled entry point (:func:`drive`, the sliding loop), a jitted function is
    resolved by Numba on every call: two compile-cache lookups, about 0.15 ms in all, which
    was most of the fixed cost of a small integration. This wrapper (Numba's wrapper-address
    protocol) hands over the address of its C wrapper, found on first use; calls then go
    through that wrapper (Numba's C calling convention), one indirection more per evaluation.
    """

    __slots__ = ("func", "_address")

    def __init__(self, func: Dispatcher):
        self.func = func
        self._address = 0

    def __wrapper_address__(self) -> int:
        if not self._address:  # as Numba finds it for a jitted function (compiling if need be)
            cres = self.func.get_compile_result(SIGNATURE)
            self._address = cres.library.get_pointer_to_function(
                cres.fndesc.llvm_cfunc_wrapper_name)
        return self._address

    def signature(self):
        return SIGNATURE


@typeof_impl.register(CompiledField)
def _typeof_compiled_field(val, c):  # the type once, not a FunctionType built per call
    return FieldType


@functools.cache
def _compiled(func: Dispatcher) -> CompiledField:
    return CompiledField(func)


def compiled_field(func):
    """``func`` as a :class:`CompiledField` (one per jitted function); anything else (a
    ``cfunc``, a :class:`CompiledField`) unchanged."""
    return _compiled(func) if isinstance(func, Dispatcher) else func


def vector_field(func):
    """Compile ``func(t, y, p, out)`` for the shared :data:`SIGNATURE` (cached on disk).

    Use it for right-hand sides (``out = dy/dt``), event functions (``out`` = event values) and
    output functions (``out`` = what to record at each output time).

    Compiled on first use, not at import: passed to the driver (whose argument type is the
    first-class function type of :data:`SIGNATURE`), Numba compiles it for that signature, or
    loads it from the disk cache. A run thus compiles only the fields it uses (a module defines
    many: the first run of the main job would otherwise compile every one of them).
    """
    # error_model="numpy": a division by zero gives inf/NaN, which the driver reports as a
    # non-finite right-hand side at the time it happened, instead of an exception without one
    try:
        return njit(cache=True, error_model="numpy")(func)
    except RuntimeError:  # defined where Numba cannot cache (a REPL, ``python -c``)
        return njit(error_model="numpy")(func)


@njit(cache=True, inline="always")
def _copy(dest, src):
    """``dest[:n] = src[:n]`` with ``n = dest.size`` as a loop: an array assigned to a slice
    compiles Numba's shape-mismatch error message (string formatting: seconds of the first
    run's compilation, for a check the callers do not need)."""
    for i in range(dest.size):
        dest[i] = src[i]


@vector_field
def _no_event(t, y, p, out):  # pragma: no cover - never called with zero events
    pass


@vector_field
def identity_output(t, y, p, out):
    """Output function that records the full state."""
    _copy(out, y)


# --------------------------------------------------------------------------------------------
# The grouped arguments of the compiled driver (small named layouts: Numba passes a NamedTuple
# of arrays and scalars at no cost, and the explicit signature below keeps the disk cache).


class RKTableau(NamedTuple):
    """A :class:`~linsim.integrate.tableaux.Tableau` as the compiled driver reads it."""

    A: np.ndarray  #: ``(total_stages, total_stages)`` stage coefficients
    C: np.ndarray  #: nodes
    B: np.ndarray  #: weights of the propagated solution
    E: np.ndarray  #: error weights
    E3: np.ndarray  #: DOP853's 3rd-order error weights (zeros otherwise)
    P: np.ndarray  #: dense-output coefficients ``(total_stages, degree)``
    stages: int  #: stages of a step (``K[stages]`` is the FSAL stage)
    q: int  #: error order + 1 of an adaptive method; 0 for a fixed-step one
    use3: int  #: 1 when ``E3`` is used (DOP853's blended error estimate)


class Control(NamedTuple):
    """Where to stop, the tolerances and the step-size limits."""

    t_end: float
    rtol: np.ndarray  #: one entry, or one per component
    atol: np.ndarray
    max_step: float
    h_fixed: float  #: the step of a fixed-step method (0 for adaptive ones)


class EventBuffers(NamedTuple):
    """Event settings and the driver's record of located events."""

    direction: np.ndarray  #: per event: > 0 rising only, < 0 falling only, 0 both
    terminal: np.ndarray  #: per event: 1 stops the integration (int64)
    g: np.ndarray  #: ``(2, max(m, 1))``: event values at the step's start and end
    t: np.ndarray  #: located event times (capacity = its size)
    index: np.ndarray  #: which event crossed (int64)


class Outputs(NamedTuple):
    """Requested output times and the rows written there."""

    t_eval: np.ndarray
    out: np.ndarray  #: ``(len(t_eval), n_out)``


class State(NamedTuple):
    """Everything that carries over between chunks of :func:`_drive` (resumable bit for bit).

    ``f`` and ``i`` are the float and integer scalars of the run, indexed by the ``F_*`` and
    ``I_*`` constants of this module (arrays, so that the compiled driver updates them in place).
    """

    p: np.ndarray  #: parameters of ``rhs``, events and outputs
    y: np.ndarray  #: the state (in/out)
    K: np.ndarray  #: ``(total_stages, n)`` stages; ``K[0]`` is ``rhs`` at ``(t, y)``
    work: np.ndarray  #: ``(2 + degree, n)``: new state, a stage argument, dense coefficients
    f: np.ndarray  #: float scalars, :data:`F_SIZE` entries
    i: np.ndarray  #: integer scalars, :data:`I_SIZE` entries


#: Layout of ``State.f``: time reached, next step, previous error (PI controller).
F_T, F_H, F_ERR_OLD = 0, 1, 2
F_SIZE = 3
#: Layout of ``State.i``: next output row, accepted and rejected steps, right-hand-side
#: evaluations, located events, status, started (``K[0]`` and the event values are set), the
#: last step was rejected, consecutive non-finite steps, then the error norm (an option, coded
#: as in :data:`NORMS`; a vector without it means RMS).
(I_EVAL, I_ACCEPTED, I_REJECTED, I_FEV, I_EVENTS, I_STATUS, I_STARTED, I_LAST_REJECTED,
 I_BAD, I_NORM) = range(10)
I_SIZE = 10
_NORM = I_NORM  # the name that tests/test_integrate.py reads
_NORM_RMS, _NORM_MAX = 0, 1
#: Error norms of :func:`solve` (``norm=``), as coded in ``State.i[I_NORM]``.
NORMS = {"rms": _NORM_RMS, "max": _NORM_MAX}
# Controller constants (Hairer's DOPRI5 defaults).
_SAFETY, _MIN_FAC, _MAX_FAC = 0.9, 0.2, 10.0

#: Status codes written by the driver.
RUNNING, DONE, TERMINAL_EVENT, PAUSED = 3, 0, 1, 2
UNDERFLOW, NONFINITE, TOO_MANY_STEPS = -1, -2, -3
#: Why an integration with a negative status stopped (the message of :class:`IntegrationError`).
REASONS = {
    UNDERFLOW: "step size underflow (the solution may blow up or the problem is too stiff)",
    NONFINITE: "non-finite state or right-hand side (NaN or overflow)",
    TOO_MANY_STEPS: "too many steps (raise max_steps, or loosen rtol/atol)",
}


# Vector kernels work on blocks of _BLOCK components, so that the partial sums stay in L1 and
# the inner loops over contiguous memory vectorize; for n = 10^6 states the driver is otherwise
# bound by memory traffic, not arithmetic. Per component the order of operations is fixed.
_BLOCK = 512


@njit(cache=True)
def _combine(dest, base, h, K, w, m):
    """dest = base + h * sum_{j<m} w[j] K[j]."""
    n = base.size
    acc = np.empty(_BLOCK)
    for i0 in range(0, n, _BLOCK):
        L = min(_BLOCK, n - i0)
        acc[:L] = 0.0
        for j in range(m):
            wj = w[j]
            if wj != 0.0:
                Kj = K[j, i0 : i0 + L]
                for ii in range(L):
                    acc[ii] += wj * Kj[ii]
        b = base[i0 : i0 + L]
        d = dest[i0 : i0 + L]
        for ii in range(L):
            d[ii] = b[ii] + h * acc[ii]


@njit(cache=True)
def _dense_coeffs(Q, K, P):
    """Q[d] = sum_j P[j, d] K[j]: one pass over the stages per step that needs dense output.

    Blocks of 256 components keep every stage's block in L1 while the ``deg`` sums are formed
    in a local accumulator (writing straight into slices of Q does not vectorize).
    """
    s_tot, deg = P.shape
    n = K.shape[1]
    B = 256
    acc = np.empty(B)
    for i0 in range(0, n, B):
        L = min(B, n - i0)
        for d in range(deg):
            acc[:L] = 0.0
            for j in range(s_tot):
                pj = P[j, d]
                if pj != 0.0:
                    Kj = K[j, i0 : i0 + L]
                    for ii in range(L):
                        acc[ii] += pj * Kj[ii]
            q = Q[d, i0 : i0 + L]
            for ii in range(L):
                q[ii] = acc[ii]


@njit(cache=True)
def _interp(dest, y0, Q, h, theta, w):
    """Dense output y0 + h sum_d Q[d] theta^(d+1) at t0 + theta h."""
    deg = Q.shape[0]
    pw = theta
    for d in range(deg):
        w[d] = pw
        pw *= theta
    _combine(dest, y0, h, Q, w, deg)


@njit(cache=True)
def _rms(v, y0, y1, rtol, atol):
    n = v.size
    nr, na = rtol.size, atol.size
    acc = 0.0
    for i in range(n):
        sc = atol[i if na > 1 else 0] + rtol[i if nr > 1 else 0] * max(abs(y0[i]), abs(y1[i]))
        acc += (v[i] / sc) ** 2
    return math.sqrt(acc / n)


@njit(cache=True)
def _combine_step(ynew, part5, part3, y, h, K, B, E, E3, s, use3):
    """``ynew = y + h sum_{j<s} B_j K_j`` and the partial error sums ``sum_{j<s} E_j K_j`` (and
    ``E3``) in one pass over the stages.

    The error pass (:func:`_error_norm_partial`) then reads these partial sums and ``K_s``
    instead of every stage again: four state-sized passes fewer per RK45 step. Per component
    the sums are formed in the same order as by :func:`_combine` and a two-pass error sum, so
    every number is the same bits as with those (``tests/test_integrate.py``).
    """
    n = y.size
    ab = np.empty(_BLOCK)
    a5 = np.empty(_BLOCK)
    a3 = np.empty(_BLOCK)
    for i0 in range(0, n, _BLOCK):
        L = min(_BLOCK, n - i0)
        ab[:L] = 0.0
        a5[:L] = 0.0
        if use3:
            a3[:L] = 0.0
        for j in range(s):
            Kj = K[j, i0 : i0 + L]
            bj = B[j]
            if bj != 0.0:
                for ii in range(L):
                    ab[ii] += bj * Kj[ii]
            ej = E[j]
            if ej != 0.0:
                for ii in range(L):
                    a5[ii] += ej * Kj[ii]
            if use3 and E3[j] != 0.0:
                e3j = E3[j]
                for ii in range(L):
                    a3[ii] += e3j * Kj[ii]
        b = y[i0 : i0 + L]
        d = ynew[i0 : i0 + L]
        for ii in range(L):
            d[ii] = b[ii] + h * ab[ii]
        _copy(part5[i0 : i0 + L], a5)
        if use3:
            _copy(part3[i0 : i0 + L], a3)


@njit(cache=True, inline="always")
def _block_sums(a5, a3, use3, u0, u1, i0, rtol, atol, use_max):
    """The error sums of one block: ``sum (a5_i / sc_i)^2`` (and of ``a3``), or their
    maxima with ``use_max``, with ``sc_i = atol_i + rtol_i max(|u0_i|, |u1_i|)``.

    ``a5``/``a3`` are overwritten. Branch-free, with four accumulators in a fixed order, so the
    loops vectorize (a single running sum is one dependent add per component) and the bits do
    not depend on the caller. ``u1 - u1`` (0, or NaN for inf and NaN) is added to each term, so
    a non-finite new state gives a NaN sum.
    """
    L = a5.size
    nr, na = rtol.size, atol.size
    if nr == 1 and na == 1:
        rt0 = rtol[0]
        at0 = atol[0]
        for ii in range(L):
            inv = 1.0 / (at0 + rt0 * max(abs(u0[ii]), abs(u1[ii])))
            a5[ii] = (a5[ii] * inv) ** 2 + (u1[ii] - u1[ii])
            if use3:
                a3[ii] = (a3[ii] * inv) ** 2
    else:
        for ii in range(L):
            i = i0 + ii
            inv = 1.0 / (atol[i if na > 1 else 0]
                         + rtol[i if nr > 1 else 0] * max(abs(u0[ii]), abs(u1[ii])))
            a5[ii] = (a5[ii] * inv) ** 2 + (u1[ii] - u1[ii])
            if use3:
                a3[ii] = (a3[ii] * inv) ** 2
    if use_max:
        m5 = m3 = 0.0
        bad = 0.0
        for ii in range(L):
            m5 = max(m5, a5[ii])
            m3 = max(m3, a3[ii])
            bad += u1[ii] - u1[ii]
        return m5 + bad, m3
    return sum4(a5), (sum4(a3) if use3 else 0.0)


@njit(cache=True, inline="always")
def _norm_from_sums(e5, e3, use3, h, n, use_max):
    if not math.isfinite(e5):
        return np.nan
    m = 1.0 if use_max else float(n)
    if use3:
        if e5 == 0.0 and e3 == 0.0:
            return 0.0
        return abs(h) * e5 / math.sqrt((e5 + 0.01 * e3) * m)
    return abs(h) * math.sqrt(e5 / m)


@njit(cache=True)
def _error_norm_partial(part5, part3, Ks, es, e3s, use3, h, y0, y1, rtol, atol, use_max):
    """The scaled error of a step (RMS, or the max with ``use_max``; DOP853: SciPy's blended
    5th/3rd order estimate) from the partial sums of :func:`_combine_step` and the last stage
    ``Ks`` (weights ``es``, ``e3s``): a third of the reads of summing every stage again. NaN
    when the new state is not finite."""
    n = y0.size
    a5 = np.empty(_BLOCK)
    a3 = np.zeros(_BLOCK)
    e5 = 0.0
    e3 = 0.0
    bad = 0.0
    for i0 in range(0, n, _BLOCK):
        L = min(_BLOCK, n - i0)
        p5 = part5[i0 : i0 + L]
        k = Ks[i0 : i0 + L]
        if es != 0.0:
            for ii in range(L):
                a5[ii] = p5[ii] + es * k[ii]
        else:
            _copy(a5[:L], p5)
        if use3:
            p3 = part3[i0 : i0 + L]
            if e3s != 0.0:
                for ii in range(L):
                    a3[ii] = p3[ii] + e3s * k[ii]
            else:
                _copy(a3[:L], p3)
        b5, b3 = _block_sums(a5[:L], a3[:L], use3, y0[i0 : i0 + L], y1[i0 : i0 + L], i0,
                             rtol, atol, use_max)
        if use_max:
            e5 = max(e5, b5)
            e3 = max(e3, b3)
            bad += b5 - b5  # max() may drop a NaN; this keeps it
        else:
            e5 += b5
            e3 += b3
    return _norm_from_sums(e5 + bad, e3, use3, h, n, use_max)


@njit(cache=True)
def _all_finite(v):
    for i in range(v.size):
        if not math.isfinite(v[i]):
            return False
    return True


@njit(cache=True)
def _prepare_dense(rhs, t, h, y, K, A, C, s, P, Q, p, tmp):
    """Extra stages K_{s+1} .. (DOP853), then the dense coefficients Q of this step.

    Returns the right-hand-side evaluations used.
    """
    s_tot = A.shape[0]
    for i in range(s + 1, s_tot):
        _combine(tmp, y, h, K, A[i], i)
        rhs(t + C[i] * h, tmp, p, K[i])
    _dense_coeffs(Q, K, P)
    return s_tot - s - 1


@njit(cache=True)
def _event_at(event, t, h, theta, y, Q, p, tmp, w, gtmp, k):
    _interp(tmp, y, Q, h, theta, w)
    event(t + theta * h, tmp, p, gtmp)
    return gtmp[k]


@njit(cache=True)
def _locate(event, t, h, y, Q, p, tmp, w, gtmp, k, g0, g1):
    """Illinois regula falsi for event k on the interpolant; returns theta past the crossing."""
    lo, hi = 0.0, 1.0
    flo, fhi = g0, g1
    side = 0
    for _ in range(200):
        if (hi - lo) * abs(h) <= 4.0 * 2.220446049250313e-16 * max(abs(t + hi * h), 1e-300):
            break
        den = fhi - flo
        # equal ends (after Illinois halving, or an event flat to rounding): bisect
        mid = 0.5 * (lo + hi) if den == 0.0 else (lo * fhi - hi * flo) / den
        if not (lo < mid < hi):
            mid = 0.5 * (lo + hi)
        fm = _event_at(event, t, h, mid, y, Q, p, tmp, w, gtmp, k)
        if fm == 0.0:
            return mid
        if (fm > 0.0) == (fhi > 0.0):
            hi, fhi = mid, fm
            if side == 1:
                flo *= 0.5
            side = 1
        else:
            lo, flo = mid, fm
            if side == -1:
                fhi *= 0.5
            side = -1
    return hi


#: Numba types of the grouped arguments (the compiled signatures of :func:`drive` and of the
#: segment loop of :mod:`linsim.integrate.sliding`).
TableauType = types.NamedTuple(
    (_mat, _vec, _vec, _vec, _vec, _mat, types.int64, types.int64, types.int64), RKTableau)
ControlType = types.NamedTuple((_f8, _vec, _vec, _f8, _f8), Control)
EventsType = types.NamedTuple((_vec, _ivec, _mat, _vec, _ivec), EventBuffers)
OutputsType = types.NamedTuple((_vec, _mat), Outputs)
StateType = types.NamedTuple((_vec, _vec, _mat, _mat, _vec, _ivec), State)


@njit(cache=True, inline="always")
def _initial_step(rhs, tab, ctl, st):
    """Hairer's starting step (as in SciPy's ``select_initial_step``); one evaluation of ``rhs``
    (into ``K[1]``), with ``K[0]`` at ``(t, y)`` already set."""
    y, K, p, ist = st.y, st.K, st.p, st.i
    ynew = st.work[0]
    tmp = st.work[1]
    t = st.f[F_T]
    n = y.size
    d0 = _rms(y, y, y, ctl.rtol, ctl.atol)
    d1 = _rms(K[0], y, y, ctl.rtol, ctl.atol)
    h0 = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
    h0 = min(h0, ctl.t_end - t)
    for i in range(n):
        tmp[i] = y[i] + h0 * K[0, i]
    rhs(t + h0, tmp, p, K[1])
    ist[I_FEV] += 1
    for i in range(n):
        ynew[i] = (K[1, i] - K[0, i]) / h0
    d2 = _rms(ynew, y, y, ctl.rtol, ctl.atol)
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1.0 / tab.q)
    return min(100.0 * h0, h1)


@njit(cache=True, inline="always")
def _pi_factor(err, err_old, alpha, beta, after_reject):
    """Step-size factor of the PI controller after an accepted step (no growth right after a
    rejection)."""
    if err == 0.0:
        fac = _MAX_FAC
    else:
        fac = min(_MAX_FAC, max(_MIN_FAC, _SAFETY * err ** (-alpha) * err_old ** beta))
    if after_reject:
        fac = min(fac, 1.0)
    return fac


@njit(cache=True, inline="always")
def _ensure_dense(rhs, tab, st, t, h, dense_ready):
    """The step's dense-output coefficients (``work[2:]``), computed once per step."""
    if not dense_ready:
        st.i[I_FEV] += _prepare_dense(rhs, t, h, st.y, st.K, tab.A, tab.C, tab.stages, tab.P,
                                      st.work[2:], st.p, st.work[1])
    return True


@njit(cache=True, inline="always")
def _crosses(g0, g1, direction):
    """Whether an event value going from ``g0`` to ``g1`` is a counted crossing: through zero
    (a start at exactly zero is none) in the event's ``direction`` (0: both ways)."""
    up = g0 < 0.0 and g1 >= 0.0
    down = g0 > 0.0 and g1 <= 0.0
    return (up and direction >= 0.0) or (down and direction <= 0.0)


@njit(cache=True, inline="always")
def _any_crossing(g, direction):
    for k in range(direction.size):
        if _crosses(g[0, k], g[1, k], direction[k]):
            return True
    return False


@njit(cache=True, inline="always")
def _scan_events(rhs, event, tab, ev, st, scratch, t, h):
    """The crossings of the event functions over the accepted step from ``t`` (values in
    ``ev.g``: start, end), located on the interpolant and logged in time order.

    Returns ``(dense_ready, term_k, theta_stop)``: whether the dense coefficients were formed,
    the first terminal event crossed (-1: none) and where in the step (``theta``) it lies.
    """
    w, gtmp, hit_th, hit_k = scratch
    ist, g = st.i, ev.g
    tmp = st.work[1]
    Q = st.work[2:]
    dense_ready = False
    theta_stop = 1.0
    term_k = -1
    n_hit = 0
    for k in range(ev.direction.size):
        g0 = g[0, k]
        g1 = g[1, k]
        if _crosses(g0, g1, ev.direction[k]):
            dense_ready = _ensure_dense(rhs, tab, st, t, h, dense_ready)
            th = _locate(event, t, h, st.y, Q, st.p, tmp, w, gtmp, k, g0, g1)
            # insertion into this step's crossings, kept sorted by time
            j = n_hit
            while j > 0 and hit_th[j - 1] > th:
                hit_th[j] = hit_th[j - 1]
                hit_k[j] = hit_k[j - 1]
                j -= 1
            hit_th[j] = th
            hit_k[j] = k
            n_hit += 1
    for j in range(n_hit):
        k = hit_k[j]
        if ist[I_EVENTS] < ev.t.size:
            ev.t[ist[I_EVENTS]] = t + hit_th[j] * h
            ev.index[ist[I_EVENTS]] = k
        ist[I_EVENTS] += 1
        if ev.terminal[k] != 0:
            term_k = k
            theta_stop = hit_th[j]
            break
    return dense_ready, term_k, theta_stop


@njit(cache=True, inline="always")
def _emit_outputs(rhs, output, tab, outs, st, w, t, h, t_new, t_stop, dense_ready):
    """The output function at the requested times in ``(t, t_stop]``, from the interpolant
    (or the new state itself at ``t_new``). Returns whether the dense coefficients are formed."""
    ist, t_eval, out = st.i, outs.t_eval, outs.out
    tmp = st.work[1]
    while ist[I_EVAL] < t_eval.size and t_eval[ist[I_EVAL]] <= t_stop:
        te = t_eval[ist[I_EVAL]]
        if te == t_new:
            output(te, st.work[0], st.p, out[ist[I_EVAL]])
        else:
            dense_ready = _ensure_dense(rhs, tab, st, t, h, dense_ready)
            _interp(tmp, st.y, st.work[2:], h, (te - t) / h, w)
            output(te, tmp, st.p, out[ist[I_EVAL]])
        ist[I_EVAL] += 1
    return dense_ready


@njit(
    types.void(FieldType, FieldType, FieldType, TableauType, ControlType, EventsType,
               OutputsType, StateType, types.int64, types.int64),
    cache=True,
    nogil=True,  # independent integrations may run in threads (solve_blocks)
)
def drive(rhs, event, output, tab, ctl, ev, outs, st, chunk, max_steps):
    """Adaptive (or fixed-step) Runge-Kutta steps from ``State.f[F_T]`` towards ``ctl.t_end``,
    at most ``chunk`` accepted steps in this call and ``max_steps`` attempted ones in the run.

    Resumable: everything that carries over is in ``st``; ``st.i[I_STATUS]`` says why it
    stopped (:data:`DONE`, :data:`PAUSED` after ``chunk`` steps, :data:`TERMINAL_EVENT`, or a
    negative failure code of :data:`REASONS`).
    """
    A, C, B, E, E3, P, s, q, use3 = tab
    p, y, K, work, fs, ist = st
    t_end, rtol, atol, max_step, h_fixed = ctl
    ynew = work[0]
    tmp = work[1]
    Q = work[2:]
    g, ev_dir = ev.g, ev.direction
    m_ev = ev_dir.size
    t_eval = outs.t_eval
    n_eval = t_eval.size
    w = np.empty(P.shape[1])
    scratch = (w, np.empty(max(m_ev, 1)), np.empty(max(m_ev, 1)),
               np.empty(max(m_ev, 1), dtype=np.int64))
    adaptive = q > 0
    use_max = ist.size > I_NORM and ist[I_NORM] == _NORM_MAX
    beta = 0.2 / q if adaptive else 0.0
    alpha = 1.0 / q - 0.75 * beta if adaptive else 0.0
    eps = 2.220446049250313e-16

    if ist[I_STARTED] == 0:
        ist[I_STARTED] = 1
        t = fs[F_T]
        rhs(t, y, p, K[0])
        ist[I_FEV] += 1
        if not (_all_finite(y) and _all_finite(K[0])):
            ist[I_STATUS] = NONFINITE
            return
        while ist[I_EVAL] < n_eval and t_eval[ist[I_EVAL]] <= t:
            output(t, y, p, outs.out[ist[I_EVAL]])
            ist[I_EVAL] += 1
        if m_ev > 0:
            event(t, y, p, g[0])
        if not adaptive:
            fs[F_H] = h_fixed
        elif fs[F_H] <= 0.0:
            fs[F_H] = _initial_step(rhs, tab, ctl, st)
        fs[F_ERR_OLD] = 1e-4

    t = fs[F_T]
    h = fs[F_H]
    err_old = fs[F_ERR_OLD]
    steps = 0
    status = RUNNING
    while status == RUNNING:
        if t >= t_end:
            status = DONE
            break
        if steps >= chunk:
            status = PAUSED
            break
        if ist[I_ACCEPTED] + ist[I_REJECTED] >= max_steps:
            status = TOO_MANY_STEPS
            break
        h = min(h, max_step)
        last = t + h >= t_end or t + 1.0001 * h >= t_end
        if last:
            h = t_end - t
        if h <= 16.0 * eps * abs(t) or h <= 1e-300:
            # shrunk by rejections: name the cause when the last ones were non-finite
            status = NONFINITE if ist[I_BAD] > 0 else UNDERFLOW
            break
        for i in range(1, s):
            _combine(tmp, y, h, K, A[i], i)
            rhs(t + C[i] * h, tmp, p, K[i])
        if adaptive:
            # partial error sums in tmp (free until the dense output) and Q[0] (DOP853)
            _combine_step(ynew, tmp, Q[0], y, h, K, B, E, E3, s, use3 == 1)
        else:
            _combine(ynew, y, h, K, B, s)
        t_new = t_end if last else t + h
        rhs(t_new, ynew, p, K[s])
        ist[I_FEV] += s

        if adaptive:
            err = _error_norm_partial(tmp, Q[0], K[s], E[s], E3[s], use3 == 1, h, y, ynew,
                                      rtol, atol, use_max)
            if not math.isfinite(err):
                ist[I_BAD] += 1
                ist[I_REJECTED] += 1
                ist[I_LAST_REJECTED] = 1
                if ist[I_BAD] > 40:
                    status = NONFINITE
                    break
                h *= _MIN_FAC
                continue
            if err > 1.0:
                h *= max(_MIN_FAC, _SAFETY * err ** (-alpha))
                ist[I_REJECTED] += 1
                ist[I_LAST_REJECTED] = 1
                continue
            fac = _pi_factor(err, err_old, alpha, beta, ist[I_LAST_REJECTED] == 1)
            err_old = max(err, 1e-4)
            h_next = h * fac
        else:
            if not (_all_finite(ynew) and _all_finite(K[s])):
                status = NONFINITE
                break
            h_next = h_fixed
        if not _all_finite(K[s]):
            status = NONFINITE
            break
        ist[I_LAST_REJECTED] = 0
        ist[I_BAD] = 0
        ist[I_ACCEPTED] += 1
        steps += 1

        # the helpers run only on the steps that need them (a crossing, an output time)
        dense_ready = False
        term_k = -1
        theta_stop = 1.0
        if m_ev > 0:
            event(t_new, ynew, p, g[1])
            if _any_crossing(g, ev_dir):
                dense_ready, term_k, theta_stop = _scan_events(rhs, event, tab, ev, st, scratch,
                                                               t, h)
        t_stop = t + theta_stop * h if term_k >= 0 else t_new
        if ist[I_EVAL] < n_eval and t_eval[ist[I_EVAL]] <= t_stop:
            _emit_outputs(rhs, output, tab, outs, st, w, t, h, t_new, t_stop, dense_ready)

        if term_k >= 0:
            _interp(tmp, y, Q, h, theta_stop, w)
            _copy(y, tmp)
            t = t_stop
            status = TERMINAL_EVENT
            break

        _copy(y, ynew)
        _copy(K[0], K[s])
        if m_ev > 0:
            _copy(g[0], g[1])
        t = t_new
        h = h_next

    fs[F_T] = t
    fs[F_H] = h
    fs[F_ERR_OLD] = err_old
    ist[I_STATUS] = status


_drive = drive  # solve calls it by this name (tests/test_integrate.py patches and inspects it)


#: Old keys of :attr:`Solution.stats`, deprecated: kept, with the same values, until every
#: caller reads the new names (new name -> old name).
DEPRECATED_STATS = {"naccepted": "steps", "nrejected": "rejected", "nfev": "rhs_evals"}


class IntegrationError(RuntimeError):
    """Raised when an integration cannot reach its end: names the time and the reason.

    Attributes
    ----------
    t : float
        Time reached.
    reason : str
        Why it stopped.
    stats : dict
        Steps and evaluations spent before the failure, under :attr:`Solution.stats`' keys
        (``naccepted``, ``nrejected``, ``nfev``, filled in from the deprecated ``steps``,
        ``rejected``, ``rhs_evals`` where only those are given, and the other way round).
    """

    def __init__(self, t: float, reason: str, stats: dict):
        super().__init__(f"integration failed at t={t:.17g}: {reason}")
        self.t = t
        self.reason = reason
        self.stats = dict(stats)
        for new, old in DEPRECATED_STATS.items():
            if old in self.stats:
                self.stats.setdefault(new, self.stats[old])
            elif new in self.stats:
                self.stats[old] = self.stats[new]


@dataclass
class Events:
    """Event functions for :func:`solve`: ``func(t, y, p, out)`` writes ``count`` values.

    A crossing of zero by ``out[k]`` is an event. ``direction[k]`` > 0 keeps only rising
    crossings, < 0 only falling ones, 0 both. A crossing of a ``terminal`` event stops the
    integration there. A value that starts at exactly zero does not count as a crossing.
    """

    func: object
    count: int
    direction: np.ndarray | float = 0.0
    terminal: np.ndarray | bool = False
    capacity: int = 100_000


@dataclass
class Solution:
    """What every integrator in :mod:`linsim.integrate` returns (SciPy's ``OdeResult`` names).

    :func:`solve`, :func:`~linsim.integrate.solve_blocks` and
    :func:`~linsim.integrate.sliding.solve_piecewise` return it as is; the sign-flow, implicit
    Euler and extrapolation integrators return a subclass that only adds what is specific to
    them (a time to a level, the final mode). A failed integration raises
    :class:`IntegrationError` instead of returning, so ``success`` is always True here.

    Attributes
    ----------
    t : ndarray
        The output times reached (``t_eval``, cut at a terminal event).
    y : ndarray
        ``(len(t), n_out)``: the output function at those times (the state by default).
    t_final, y_final
        Where the integration stopped, and the state there.
    status : int
        0: reached the end of ``t_span``; 1: stopped by a terminal event.
    message : str
        ``status`` in words.
    t_events, event_index : ndarray
        Times of the located events (mode changes, switches), in order, and which event
        function (coordinate) crossed, -1 where the integrator does not know.
    y_events : ndarray or None
        ``(len(t_events), n)``: the state at each event, or None where the integrator does
        not record it (the compiled driver).
    nfev, naccepted, nrejected : int
        Right-hand-side evaluations (0 for implicit Euler, whose work is ``tr_solves``),
        accepted steps and rejected trial steps.
    method : str
        The method that produced it (a tableau name, or a sign-flow method).
    seconds : float
        Wall-clock time of the integration.
    blocks, block_max_steps : int
        Independent blocks integrated one by one (:func:`linsim.integrate.solve_blocks`; 1
        elsewhere) and the most steps one block took; with several blocks the counts above are
        whole-state equivalents.
    counts : dict
        Integrator-specific counts, merged into :attr:`stats` (``events``, ``segments``,
        ``tr_solves``, ``switches``, ``solves``).
    """

    t: np.ndarray
    y: np.ndarray
    t_final: float
    y_final: np.ndarray
    status: int
    t_events: np.ndarray
    event_index: np.ndarray
    nfev: int
    naccepted: int
    nrejected: int
    method: str
    seconds: float = 0.0
    message: str = field(default="")
    blocks: int = 1
    block_max_steps: int = -1
    y_events: np.ndarray | None = None
    counts: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.block_max_steps < 0:
            self.block_max_steps = self.naccepted
        if not self.message:
            self.message = ("terminal event" if self.status == 1
                            else "reached the end of t_span")

    @property
    def success(self) -> bool:
        """True: the integration reached the end of ``t_span`` or a terminal event."""
        return self.status >= 0

    @property
    def stats(self) -> dict:
        """``{"nfev", "naccepted", "nrejected", "status", "seconds", "blocks"}`` and
        :attr:`counts`; also under the deprecated keys of :data:`DEPRECATED_STATS`
        (``steps``, ``rejected``, ``rhs_evals``)."""
        out = {"nfev": self.nfev, "naccepted": self.naccepted, "nrejected": self.nrejected,
               "status": self.status, "seconds": self.seconds, "blocks": self.blocks,
               **self.counts}
        for new, old in DEPRECATED_STATS.items():
            out[old] = out[new]
        return out


def _tol(value, n: int, name: str) -> np.ndarray:
    if isinstance(value, float | int) and math.isfinite(value) and value >= 0:
        return np.array([float(value)])  # the common case, without NumPy's checks
    arr = np.atleast_1d(np.asarray(value, dtype=np.float64)).ravel()
    if arr.size not in (1, n):
        raise ValueError(f"{name} must be a scalar or have one entry per component ({n}), "
                         f"got {arr.size}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and >= 0")
    return np.ascontiguousarray(arr)


#: Keyword options of :func:`prepare` beyond its named parameters, with their defaults.
PREPARE_OPTIONS = {"first_step": None, "max_step": np.inf, "step": None, "norm": "rms"}
#: Keyword options of :func:`solve` beyond its named parameters, with their defaults.
SOLVE_OPTIONS = {**PREPARE_OPTIONS, "max_steps": 10_000_000, "progress": False,
                 "progress_desc": "integrate"}


#: The event buffers of a run without events: shared (the driver never writes them then).
_NO_EVENTS = EventBuffers(np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros((2, 1)),
                          np.zeros(1), np.zeros(1, dtype=np.int64))


@functools.cache
def _rk_tableau(method: str) -> RKTableau:
    tab = get_tableau(method)
    return RKTableau(tab.A, tab.C, tab.B, tab.E, tab.E3, tab.P, tab.stages,
                     tab.error_order + 1 if tab.adaptive else 0, int(np.any(tab.E3 != 0)))


def with_defaults(func: str, given: dict, known: dict) -> dict:
    """``known`` updated with ``given``; an unknown key raises the TypeError Python would."""
    for key in given:
        if key not in known:
            raise TypeError(f"{func}() got an unexpected keyword argument {key!r}")
    return {**known, **given}


@dataclass
class Setup:
    """The compiled driver's arguments for one integration, built by :func:`prepare`: the one
    setup path of :func:`solve`, :func:`linsim.integrate.solve_blocks` (through ``solve``) and
    :func:`linsim.integrate.sliding.sign_flow`."""

    tableau: RKTableau
    control: Control
    events: EventBuffers
    outputs: Outputs
    state: State
    event_func: object
    output_func: object
    method: str

    def counts(self) -> dict:
        """``{"naccepted", "nrejected", "nfev"}`` so far."""
        ist = self.state.i
        return {"naccepted": int(ist[I_ACCEPTED]), "nrejected": int(ist[I_REJECTED]),
                "nfev": int(ist[I_FEV])}


def prepare(
    t_span: tuple[float, float],
    y0,
    params=None,
    *,
    method: str = "RK45",
    rtol=1e-6,
    atol=1e-9,
    t_eval=None,
    output=None,
    n_output: int | None = None,
    events: Events | None = None,
    **options,
) -> Setup:
    """Check the arguments of an integration and allocate everything the driver works in.

    Parameters and ``options`` (``first_step``, ``max_step``, ``step``, ``norm``) are those of
    :func:`solve`. The state vector ``y`` is a copy of ``y0``; ``t_eval`` defaults to ``[t1]``.
    """
    opts = with_defaults("prepare", options, PREPARE_OPTIONS)
    tab: Tableau = get_tableau(method)
    norm = opts["norm"]
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}")
    t0, t1 = (float(v) for v in t_span)
    if not (math.isfinite(t0) and math.isfinite(t1) and t1 > t0):
        raise ValueError(f"t_span must be finite with t1 > t0, got {t_span!r}")
    y = np.array(y0, dtype=np.float64).ravel()  # a copy
    n = y.size
    if n == 0:
        raise ValueError("y0 must have at least one component")
    p = np.ascontiguousarray(np.atleast_1d(np.asarray(
        [0.0] if params is None else params, dtype=np.float64)).ravel())
    rt = _tol(rtol, n, "rtol")
    at = _tol(atol, n, "atol")
    step = opts["step"]
    if tab.adaptive:
        if not at.any() and not rt.all():
            raise ValueError("rtol and atol cannot both be zero")
        h_fixed = 0.0
    else:
        if step is None or not (step > 0 and math.isfinite(step)):
            raise ValueError(f"method {method} is fixed-step: step must be finite and > 0")
        h_fixed = float(step)
    te = np.array([t1] if t_eval is None else t_eval, dtype=np.float64).ravel()
    if te.size and ((te[1:] < te[:-1]).any() or te[0] < t0 or te[-1] > t1):
        raise ValueError("t_eval must be sorted and lie within t_span")
    if output is None:
        output, n_out = identity_output, n
    else:
        if n_output is None or n_output < 1:
            raise ValueError("n_output must be given (>= 1) with an output function")
        n_out = int(n_output)
    if events is None:
        efunc, evb = _no_event, _NO_EVENTS
    else:
        efunc, m = events.func, int(events.count)
        cap = int(events.capacity)
        evb = EventBuffers(
            np.broadcast_to(np.asarray(events.direction, float), (m,)).copy(),
            np.broadcast_to(np.asarray(events.terminal, bool), (m,)).astype(np.int64),
            np.zeros((2, max(m, 1))), np.zeros(cap), np.zeros(cap, dtype=np.int64))
    first_step = opts["first_step"]
    fs = np.zeros(F_SIZE)
    fs[F_T] = t0
    fs[F_H] = float(first_step) if first_step else 0.0
    fs[F_ERR_OLD] = 1e-4
    ist = np.zeros(I_SIZE, dtype=np.int64)
    ist[I_NORM] = NORMS[norm]
    return Setup(
        tableau=_rk_tableau(tab.name),
        control=Control(t1, rt, at, float(opts["max_step"]), h_fixed),
        events=evb,
        outputs=Outputs(te, np.zeros((te.size, n_out))),
        # K: the stages; work: y_new, a stage argument, the dense coefficients
        state=State(p, y, np.empty((tab.total_stages, n)), np.empty((2 + tab.P.shape[1], n)),
                    fs, ist),
        event_func=compiled_field(efunc), output_func=compiled_field(output), method=tab.name,
    )


def solve(
    rhs,
    t_span: tuple[float, float],
    y0,
    params=None,
    *,
    method: str = "RK45",
    rtol=1e-6,
    atol=1e-9,
    t_eval=None,
    output=None,
    n_output: int | None = None,
    events: Events | None = None,
    **options,
) -> Solution:
    """Integrate ``y' = rhs(t, y, p)`` with one of the compiled Runge-Kutta methods.

    Parameters
    ----------
    rhs : compiled function
        ``rhs(t, y, p, dy)`` compiled with :func:`vector_field`.
    t_span : (float, float)
        ``(t0, t1)`` with ``t1 > t0``.
    y0 : array_like
        Initial state.
    params : array_like, optional
        Float parameters handed to ``rhs``, events and outputs as ``p``.
    method : {"Euler", "Heun", "RK4", "RK45", "DOP853"}
        The first three are fixed-step and need ``step``; RK45 is Dormand-Prince 5(4).
    rtol, atol : float or array_like
        Relative and absolute tolerance, scalar or per component (adaptive methods).
    t_eval : array_like, optional
        Sorted output times in ``[t0, t1]``; the state (or ``output``) is recorded there from
        the method's own interpolant, at no extra steps. Default: ``[t1]``.
    output, n_output
        Optional output function ``output(t, y, p, out)`` writing ``n_output`` values, recorded
        instead of the full state (for example per-class losses of a large model).
    events : Events, optional
        Zero crossings to locate on the interpolant.
    **options
        Keyword options (as SciPy's ``solve_ivp``), defaults in :data:`SOLVE_OPTIONS`:

        first_step, max_step : float
            Initial step (default: chosen automatically) and largest step.
        step : float
            Step of a fixed-step method.
        max_steps : int
            Budget of attempted steps before :class:`IntegrationError`.
        progress : bool
            Show a tqdm bar on stderr that counts the integration time reached.
        progress_desc : str
            Label of the progress bar.
        norm : {"rms", "max"}
            Norm of the scaled error estimate ``e_i / (atol_i + rtol_i max(|y0_i|, |y1_i|))``
            that the step-size control keeps below 1 (adaptive methods). ``"rms"`` (default, as
            SciPy) averages it over the components; ``"max"`` takes its largest entry, so that
            a few components with large errors are not diluted by many with small ones (many
            decoupled components, e.g. the K24 reduced mode at ``10^6`` classes). The starting
            step is chosen with the RMS norm either way.

    Returns
    -------
    Solution

    Raises
    ------
    IntegrationError
        On step-size underflow, a non-finite state or right-hand side, or too many steps; the
        message names the time reached.
    TypeError
        For an unknown keyword option.
    """
    opts = with_defaults("solve", options, SOLVE_OPTIONS)
    max_steps = opts.pop("max_steps")
    progress = opts.pop("progress")
    progress_desc = opts.pop("progress_desc")
    run = prepare(t_span, y0, params, method=method, rtol=rtol, atol=atol, t_eval=t_eval,
                  output=output, n_output=n_output, events=events, **opts)
    field = compiled_field(rhs)
    t0 = run.state.f[F_T]
    t1 = run.control.t_end
    fs, ist = run.state.f, run.state.i
    bar = None
    if progress and sys.stderr.isatty():
        from tqdm import tqdm

        # delay: only runs longer than about a second show a bar
        bar = tqdm(total=t1 - t0, desc=progress_desc, unit="t", file=sys.stderr, leave=False,
                   delay=1.0, bar_format="{l_bar}{bar}| t={n:.3g}/{total:.3g} [{elapsed}]")
    chunk = 64 if bar is not None else max_steps + 1
    start = time.perf_counter()
    while True:
        tc = time.perf_counter()
        _drive(field, run.event_func, run.output_func, run.tableau, run.control, run.events,
               run.outputs, run.state, chunk, max_steps)
        if ist[I_STATUS] != PAUSED:
            break
        if bar is not None:
            bar.update(fs[F_T] - t0 - bar.n)
            if time.perf_counter() - tc < 0.05:  # aim at ~10 updates a second
                chunk *= 2
    seconds = time.perf_counter() - start
    if bar is not None:
        bar.close()
    status = int(ist[I_STATUS])
    stats = run.counts()
    if status < 0:
        raise IntegrationError(float(fs[F_T]), REASONS[status], stats)
    n_ev = int(ist[I_EVENTS])
    cap = run.events.t.size
    if n_ev > cap:
        raise IntegrationError(float(fs[F_T]), f"more than {cap} events (raise Events.capacity)",
                               stats)
    k = int(ist[I_EVAL])
    te = run.outputs.t_eval
    return Solution(
        t=te[:k].copy(), y=run.outputs.out[:k], t_final=float(fs[F_T]), y_final=run.state.y,
        status=status, t_events=run.events.t[:n_ev].copy(),
        event_index=run.events.index[:n_ev].copy(), **stats, method=run.method,
        seconds=seconds,
        message="terminal event" if status == TERMINAL_EVENT else "reached the end of t_span",
    )


__all__ = ["solve", "prepare", "Setup", "Solution", "DEPRECATED_STATS", "Events",
           "CompiledField", "compiled_field",
           "IntegrationError", "vector_field",
           "SIGNATURE", "FieldType", "identity_output", "METHODS", "NORMS", "REASONS",
           "RKTableau", "Control", "EventBuffers", "Outputs", "State", "drive", "with_defaults",
           "PREPARE_OPTIONS", "SOLVE_OPTIONS"]
