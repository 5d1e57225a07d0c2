"""Dynamics: how a gradient becomes a velocity.

A problem's right-hand side computes its gradient ``g`` into ``dy`` and then calls
:func:`apply_flow`, which turns it in place into the velocity of the chosen flow:

============ ======================================= ===========================================
name         velocity                                THEORY.md
============ ======================================= ===========================================
gradient     ``-g``                                  GF
sign         ``-sign(g)``                            SF (see below for ``g_i = 0``)
normalized   ``-g / ||g||_2``                        NF, K24.nf-reparam
sign_tanh    ``-tanh(g / eps)``                      smoothed sign ("Integrating sign flow")
sign_sqrt    ``-g / sqrt(g^2 + eps^2)``              smoothed sign
clip_global  ``-min(1, tau / ||g||_2) g``            clipped flow (Z20 GClip in continuous time)
clip_coord   ``-clip(g, -tau, tau)``                 clipped flow (Z20 CClip in continuous time)
sign_eps     ``-g / (|g| + eps)``                    adam.small-step (Adam as ``eta -> 0``)
adam         ``-mhat / (eps + sqrt(vhat))``,         adam.ode (Barakat-Bianchi), state
             ``m' = a(g - m)``, ``v' = b(g^2 - v)``  ``[x, m, v]``
rmsprop      ``-g / (eps + sqrt(vhat))``,            the m-free Adam ODE, state ``[x, v]``
             ``v' = b(g^2 - v)``
============ ======================================= ===========================================

**Flows with memory** (adam, rmsprop) carry moment estimates beside the position: their state is
``[x, m, v]`` (adam) or ``[x, v]`` (rmsprop), ``n`` entries each, and starts with ``m = v = 0``
(:func:`initial_state`). A problem's right-hand side never sees that layout: it computes the
gradient of the first ``n`` entries into the first ``n`` entries of ``dy`` and calls
:func:`transform`/:func:`finish` (or :func:`apply_flow`) as for any flow; :func:`finish` then
writes the moments' derivatives. Output and event functions read the first ``n`` entries only.
The driver sees one vector of ``states * n`` entries: nothing in it knows about moments.

The clock of the bias correction is the integration time: ``mhat = m / (1 - e^(-a t))`` and
``vhat = v / (1 - e^(-b t))`` are the averages of ``g`` and ``g^2`` over the past, weighted by
``a e^(-a (t - s))`` and normalized to total weight 1, since the start ``t = 0`` (integrate
from 0). At ``t = 0`` the ODE is singular (``0/0``); the averages tend to their current
values, so the field uses the limits ``mhat = g``, ``vhat = g^2`` there: the start velocity is
``-g/(eps + |g|)``, the velocity of the first step of discrete Adam. For ``t > 0``,
``1 - e^(-a t)`` is evaluated as ``-expm1(-a t)``, accurate for every ``t > 0``; ``m`` is
then ``O(t)`` and the ratio is exact to rounding, so the first Runge-Kutta stages see the
smooth solution (``mhat`` is a smooth function of ``t`` down to 0). A coordinate whose
gradient has been exactly 0 since the start (``vhat = 0``, ``eps = 0``) does not move.
``v`` holds squared gradients: below about ``1e-154`` they underflow, and with ``eps = 0`` the
velocity is then no longer the scale-free ``mhat/sqrt(vhat)`` (double precision's limit).

Every field's parameter vector ``p`` starts with a header of :data:`HEADER` floats:
``p[0]`` is the flow code, ``p[1:HEADER]`` the flow's own parameters (``eps`` or ``tau`` in
``p[1]``); the problem's parameters follow. :func:`pack` builds it; :data:`SPECS` lists every
flow with its parameters and what the experiments do with it (one table: no other list of
flow names exists). A new velocity adds a code, a :class:`FlowSpec` and a branch of
:func:`transform` (elementwise part) and, if it needs a global reduction, of :func:`finish`; a
new entry over an existing kernel is :func:`register_flow` (docs/EXTENDING.md).

``sign(0)``: we take ``sign(0) = 0``, the minimum-norm element of the Filippov set
``Sgn(0) = [-1, 1]``. It is exact where a gradient entry is zero at an isolated time and stays
honest (the entry does not move) where it is zero in floating point only because it underflowed.
Sliding along surfaces ``g_i = 0`` needs the event-driven Filippov integrator
(:mod:`linsim.integrate.sliding`) or implicit Euler (:mod:`linsim.integrate.implicit`), not this
rule: an explicit integrator of ``-sign(g)`` chatters with an amplitude of about its step.

The smoothed signs converge to the Filippov solution at rate ``O(eps)`` but are stiff (their
Jacobian is ``H / eps``): use them for ``eps -> 0`` convergence checks only.

The clipped flows are Lipschitz but not smooth where ``||g|| = tau`` (global) or
``|g_i| = tau`` (per coordinate). :func:`kink_values` gives those surfaces as event values, so
an integrator can stop on them and restart (:func:`linsim.integrate.sliding.solve_piecewise`)
and keep its full order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

GRADIENT, SIGN, NORMALIZED = 0, 1, 2
SIGN_TANH, SIGN_SQRT, CLIP_GLOBAL, CLIP_COORD = 3, 4, 5, 6
SIGN_EPS, ADAM, RMSPROP = 7, 8, 9
#: Number of leading entries of ``p`` that belong to the flow.
HEADER = 4


@dataclass(frozen=True)
class FlowSpec:
    """One flow: its code, the names of its parameters (``p[1:HEADER]``) and its kinks.

    ``kinks`` is ``"none"``, ``"global"`` (one surface, ``||g|| = tau``) or ``"coordinate"``
    (``|g_i| = tau`` for every ``i``): where the velocity is not smooth in ``g``.
    ``states`` is the number of ``n``-vectors in the state (1: the position only; 2 or 3 for
    the flows with memory). Parameters named in ``zero_ok`` may be 0 (the others must be > 0).
    ``coordinatewise``: the velocity of coordinate ``i`` reads ``g_i`` (and its own moments)
    only, so a problem whose gradient splits into independent blocks keeps them independent;
    false for the flows that divide by ``||g||``.

    What the experiments and command lines do with a flow is data here too, not lists kept
    elsewhere: ``reduced`` (the one-hot model's exact margin ODE exists for it,
    :class:`linsim.problems.softmax.OneHotModel` in reduced mode), ``cli`` (offered by
    ``python -m linsim.flow --flows``), ``k24`` (compared on the K24 model by
    :func:`linsim.experiments.adam.k24_classes`) and ``measure`` (the name of its rate measure
    in :data:`linsim.experiments.k24.MEASURES`, which :meth:`OneHotRun.rates
    <linsim.experiments.k24.OneHotRun.rates>` runs; None: no rate is measured).
    """

    name: str
    code: int
    params: tuple[str, ...] = ()
    kinks: str = "none"
    states: int = 1
    zero_ok: tuple[str, ...] = ()
    coordinatewise: bool = True
    reduced: bool = False
    cli: bool = False
    k24: bool = False
    measure: str | None = None


#: Every flow, by name (the order of the command line's and the K24 plots' lists).
SPECS: dict[str, FlowSpec] = {s.name: s for s in (
    FlowSpec("gradient", GRADIENT, reduced=True, cli=True, k24=True, measure="gf-rate"),
    FlowSpec("sign", SIGN, reduced=True, cli=True, k24=True, measure="sf-rate"),
    FlowSpec("normalized", NORMALIZED, coordinatewise=False, reduced=True, cli=True, k24=True,
             measure="nf-reparam"),
    FlowSpec("adam", ADAM, ("a", "b", "eps"), states=3, zero_ok=("eps",), reduced=True,
             cli=True, k24=True, measure="adaptive"),
    FlowSpec("rmsprop", RMSPROP, ("b", "eps"), states=2, zero_ok=("eps",), reduced=True,
             cli=True, k24=True, measure="adaptive"),
    FlowSpec("sign_eps", SIGN_EPS, ("eps",), reduced=True, cli=True, measure="adaptive"),
    FlowSpec("sign_tanh", SIGN_TANH, ("eps",)),
    FlowSpec("sign_sqrt", SIGN_SQRT, ("eps",)),
    FlowSpec("clip_global", CLIP_GLOBAL, ("tau",), "global", coordinatewise=False),
    FlowSpec("clip_coord", CLIP_COORD, ("tau",), "coordinate"),
)}
#: The codes of the velocity kernels of :func:`transform` and :func:`finish`.
CODES: frozenset[int] = frozenset(s.code for s in SPECS.values())


def register_flow(spec: FlowSpec, *, replace: bool = False) -> FlowSpec:
    """Add ``spec`` to :data:`SPECS` (at run time, without editing this module).

    A registered flow is a new *entry* of the table: a name with its own parameters,
    reduced-mode support, command-line availability, K24 comparison and rate measure, whose
    velocity is one of the compiled kernels (``spec.code`` in :data:`CODES`, with the
    ``states`` and ``params`` layout of that kernel). A new velocity needs a code and a branch
    of :func:`transform` (and :func:`finish`) here: compiled code dispatches on ``p[0]``.

    Raises ``ValueError`` for a name already in the table (unless ``replace``) or an unknown
    code.
    """
    if not isinstance(spec, FlowSpec):
        raise TypeError(f"spec must be a FlowSpec, got {type(spec).__name__}")
    if spec.name in SPECS and not replace:
        raise ValueError(f"flow {spec.name!r} is already registered (replace=True to replace it)")
    if spec.code not in CODES:
        raise ValueError(f"flow {spec.name!r}: code must be one of {sorted(CODES)} (the "
                         f"compiled kernels), got {spec.code!r}")
    if len(spec.params) > HEADER - 1:
        raise ValueError(f"flow {spec.name!r}: at most {HEADER - 1} parameters")
    SPECS[spec.name] = spec
    return spec


def unregister_flow(name: str) -> None:
    """Remove a flow added by :func:`register_flow` (the built-in flows stay)."""
    if name in _BUILTIN:
        raise ValueError(f"flow {name!r} is built in")
    SPECS.pop(name, None)


def flow_names(**where: bool) -> tuple[str, ...]:
    """Names of the flows whose :class:`FlowSpec` fields equal ``where``, in table order:
    ``flow_names(cli=True)`` (the command line's), ``flow_names(reduced=True)``."""
    for k in where:
        if k not in ("reduced", "cli", "k24", "coordinatewise"):
            raise ValueError(f"unknown FlowSpec flag {k!r}")
    return tuple(n for n, s in SPECS.items() if all(getattr(s, k) == v for k, v in where.items()))


def k24_flows() -> tuple[str, ...]:
    """The flows compared on the K24 model (:attr:`FlowSpec.k24`), in plotting order."""
    return flow_names(k24=True)


_BUILTIN = frozenset(SPECS)


def flow_spec(flow: str) -> FlowSpec:
    """The :class:`FlowSpec` of ``flow``; ``ValueError`` naming the known flows if unknown."""
    spec = SPECS.get(flow)
    if spec is None:
        raise ValueError(f"flow must be one of {', '.join(SPECS)}, got {flow!r}")
    return spec


def check_params(flow: str, flow_params=()) -> np.ndarray:
    """The parameters of ``flow`` as a float array, checked: one per name in
    :data:`SPECS`, finite, > 0 (>= 0 where the spec allows 0)."""
    spec = flow_spec(flow)
    fp = np.atleast_1d(np.asarray(flow_params, float))
    if fp.size != len(spec.params):
        want = ", ".join(spec.params) if spec.params else "no parameters"
        raise ValueError(f"flow {flow} takes {want}, got {list(fp)!r}")
    for name, v in zip(spec.params, fp, strict=True):
        ok = np.isfinite(v) and (v >= 0 if name in spec.zero_ok else v > 0)
        if not ok:
            rng = ">= 0" if name in spec.zero_ok else "> 0"
            raise ValueError(f"flow {flow}: {name} must be finite and {rng}, got {v!r}")
    return fp


def state_count(flow: str) -> int:
    """Number of ``n``-vectors in the state of ``flow``: 1, or 2-3 for flows with memory."""
    return flow_spec(flow).states


def initial_state(flow: str, x0) -> np.ndarray:
    """The integrated state at ``t = 0`` for the position ``x0``: ``x0`` followed by zero
    moments for the flows with memory (``[x0, 0, 0]`` for adam)."""
    x0 = np.ascontiguousarray(x0, dtype=np.float64).ravel()
    k = state_count(flow)
    return x0.copy() if k == 1 else np.concatenate([x0, np.zeros((k - 1) * x0.size)])


def position(flow: str, y) -> np.ndarray:
    """The position part ``x`` of states ``y`` (last axis), without the moments."""
    y = np.asarray(y)
    return y[..., : y.shape[-1] // state_count(flow)]


def pack(flow: str, problem_params: np.ndarray, flow_params=()) -> np.ndarray:
    """Parameter vector ``[flow code, flow params (padded), problem params]`` for a field.

    Flows with parameters (:data:`SPECS`) need them all (:func:`check_params`).
    """
    spec = flow_spec(flow)
    fp = check_params(flow, flow_params)
    head = np.zeros(HEADER)
    head[0] = spec.code
    head[1 : 1 + fp.size] = fp
    return np.ascontiguousarray(np.concatenate([head, np.asarray(problem_params, float)]))


def kink_count(flow: str, n: int) -> int:
    """Number of kink event values of ``flow`` for ``n`` coordinates (see :func:`kink_values`)."""
    kinks = flow_spec(flow).kinks
    return 0 if kinks == "none" else (1 if kinks == "global" else n)


@njit(cache=True)
def sign(x):
    """``sign(x)`` with ``sign(0) = 0`` (see the module docstring); NaN stays NaN."""
    if x > 0.0:
        return 1.0
    if x < 0.0:
        return -1.0
    return x * 0.0


@njit(cache=True)
def transform(p, g):
    """Elementwise part of the flow, in place on a slice ``g`` of the gradient.

    Returns ``sum(g^2)`` of the slice for the flows that need the norm (normalized, clip_global;
    0 otherwise). Problems whose gradient is computed in blocks call it per block while the
    block is in cache, then :func:`finish` once. The flows with memory leave ``g`` as it is:
    :func:`finish` needs the moments.
    """
    code = int(p[0])
    n = g.size
    if code == GRADIENT:
        for i in range(n):
            g[i] = -g[i]
    elif code == SIGN:
        for i in range(n):
            g[i] = -sign(g[i])
    elif code == NORMALIZED or code == CLIP_GLOBAL:
        acc = 0.0
        for i in range(n):
            g[i] = -g[i]
            acc += g[i] * g[i]
        return acc
    elif code == SIGN_TANH:
        inv = 1.0 / p[1]
        for i in range(n):
            g[i] = -math.tanh(g[i] * inv)
    elif code == SIGN_SQRT:
        eps = p[1]
        for i in range(n):
            g[i] = -g[i] / math.hypot(g[i], eps)  # hypot: no overflow of g^2
    elif code == CLIP_COORD:
        tau = p[1]
        for i in range(n):
            g[i] = -min(max(g[i], -tau), tau)
    elif code == SIGN_EPS:
        eps = p[1]
        for i in range(n):
            g[i] = -g[i] / (abs(g[i]) + eps)
    elif code == ADAM or code == RMSPROP:
        pass
    else:
        for i in range(n):
            g[i] = np.nan
    return 0.0


@njit(cache=True)
def _norm(dy, sumsq):
    """``||dy||_2`` from ``sumsq``, recomputed with scaling if it under- or overflowed."""
    if sumsq > 1e-280 and sumsq < 1e280:
        return math.sqrt(sumsq)
    big = 0.0
    for i in range(dy.size):
        big = max(big, abs(dy[i]))
    if not big > 0.0:
        return 0.0
    acc = 0.0
    for i in range(dy.size):
        acc += (dy[i] / big) ** 2
    return big * math.sqrt(acc)


@njit(cache=True, inline="always")
def bias_factors(t, a, b, use_m):
    """Bias-correction factors of the flows with memory at time ``t``: ``(start, ia, ib)``
    with ``ia = 1/(1 - e^(-a t))`` (0 without ``m`` or at the start) and
    ``ib = 1/(1 - e^(-b t))`` (0 at the start, ``t <= 0``, where :func:`moment_velocity` uses
    the limits ``mhat = g``, ``vhat = g^2``)."""
    start = not t > 0.0
    ia = 0.0 if start or not use_m else -1.0 / math.expm1(-a * t)
    ib = 0.0 if start else -1.0 / math.expm1(-b * t)
    return start, ia, ib


@njit(cache=True, inline="always")
def moment_estimates(g, m, v, ia, ib, start, use_m):
    """``(mhat, sqrt(vhat))`` of one coordinate with gradient ``g`` and moments ``m``, ``v``
    (``m`` unused without ``use_m``: RMSProp's ``mhat`` is ``g``), from :func:`bias_factors`."""
    vh = g * g if start else max(v, 0.0) * ib
    mh = m * ia if use_m and not start else g
    return mh, math.sqrt(vh)


@njit(cache=True, inline="always")
def moment_velocity(mh, root, eps):
    """The Adam/RMSProp velocity ``-mhat/(eps + sqrt(vhat))`` of one coordinate from
    :func:`moment_estimates`; 0 where the denominator is 0 (``vhat = 0`` and ``eps = 0``)."""
    den = eps + root
    return -mh / den if den > 0.0 else 0.0


@njit(cache=True)
def _moments(t, p, y, dy):
    """The flows with memory: ``dy[:n]`` holds ``g``; write the velocity and ``m'``, ``v'``.

    See the module docstring for the bias correction and the start ``t = 0``. The scalar maths
    (:func:`bias_factors`, :func:`moment_estimates`, :func:`moment_velocity`) is shared with
    the one-hot model's reduced mode (:mod:`linsim.problems.softmax`).
    """
    code = int(p[0])
    if code == ADAM:
        k, a, b, eps = 3, p[1], p[2], p[3]
    else:
        k, a, b, eps = 2, 0.0, p[1], p[2]
    adam = code == ADAM
    n = dy.size // k
    vo = (k - 1) * n
    start, ia, ib = bias_factors(t, a, b, adam)
    for i in range(n):
        g = dy[i]
        v = y[vo + i]
        dy[vo + i] = b * (g * g - v)
        m = 0.0
        if adam:
            m = y[n + i]
            dy[n + i] = a * (g - m)
        mh, root = moment_estimates(g, m, v, ia, ib, start, adam)
        dy[i] = moment_velocity(mh, root, eps)


@njit(cache=True)
def finish(t, p, y, dy, sumsq):
    """Global part of the flow, from ``sumsq`` of :func:`transform`: the normalized flow divides
    by ``||g||``, the globally clipped flow scales by ``min(1, tau / ||g||)``, the flows with
    memory turn ``g`` (in ``dy[:n]``) into the velocity and the moments' derivatives.

    ``t`` and the state ``y`` matter to the flows with memory only.
    """
    code = int(p[0])
    if code == ADAM or code == RMSPROP:
        _moments(t, p, y, dy)
        return
    if code != NORMALIZED and code != CLIP_GLOBAL:
        return
    norm = _norm(dy, sumsq)
    if not norm > 0.0:
        return  # g = 0: a rest point
    if code == NORMALIZED:
        if norm < 1e-300:  # 1/norm would overflow: divide by the largest entry first
            big = 0.0
            for i in range(dy.size):
                big = max(big, abs(dy[i]))
            acc = 0.0
            for i in range(dy.size):
                acc += (dy[i] / big) ** 2
            root = math.sqrt(acc)
            for i in range(dy.size):
                dy[i] = (dy[i] / big) / root
            return
        inv = 1.0 / norm
    else:
        if norm <= p[1]:
            return
        inv = p[1] / norm
    for i in range(dy.size):
        dy[i] *= inv


@njit(cache=True, inline="always")
def states(p):
    """Number of ``n``-vectors in the state of the flow coded in ``p[0]``."""
    code = int(p[0])
    return 3 if code == ADAM else (2 if code == RMSPROP else 1)


@njit(cache=True)
def apply_flow(t, p, y, dy):
    """Turn the gradient held in ``dy[:n]`` into the flow's velocity (and the moments'
    derivatives), in place; ``n = dy.size / states``."""
    n = dy.size // states(p)
    finish(t, p, y, dy, transform(p, dy[:n]))


@njit(cache=True)
def kink_values(p, g, out):
    """Event values whose zeros are the kinks of the flow, for the gradient ``g``.

    clip_global: ``out[0] = ||g|| - tau``; clip_coord: ``out[i] = |g_i| - tau``; other flows
    write nothing (:func:`kink_count` is 0).
    """
    code = int(p[0])
    tau = p[1]
    if code == CLIP_GLOBAL:
        acc = 0.0
        for i in range(g.size):
            acc += g[i] * g[i]
        out[0] = _norm(g, acc) - tau
    elif code == CLIP_COORD:
        for i in range(g.size):
            out[i] = abs(g[i]) - tau
