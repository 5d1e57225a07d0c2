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
============ ======================================= ===========================================

Every field's parameter vector ``p`` starts with a header of :data:`HEADER` floats:
``p[0]`` is the flow code, ``p[1:HEADER]`` the flow's own parameters (``eps`` or ``tau`` in
``p[1]``); the problem's parameters follow. :func:`pack` builds it; :data:`SPECS` lists every
flow with its parameters. A new flow adds a code, a :class:`FlowSpec` and a branch of
:func:`transform` (elementwise part) and, if it needs a global reduction, of :func:`finish`.

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
#: Flow names accepted on the command line, and their codes (the parameter-free flows).
FLOWS: dict[str, int] = {"gradient": GRADIENT, "sign": SIGN, "normalized": NORMALIZED}
#: Number of leading entries of ``p`` that belong to the flow.
HEADER = 4


@dataclass(frozen=True)
class FlowSpec:
    """One flow: its code, the names of its parameters (``p[1:HEADER]``) and its kinks.

    ``kinks`` is ``"none"``, ``"global"`` (one surface, ``||g|| = tau``) or ``"coordinate"``
    (``|g_i| = tau`` for every ``i``): where the velocity is not smooth in ``g``.
    """

    name: str
    code: int
    params: tuple[str, ...] = ()
    kinks: str = "none"


#: Every flow, by name.
SPECS: dict[str, FlowSpec] = {s.name: s for s in (
    FlowSpec("gradient", GRADIENT),
    FlowSpec("sign", SIGN),
    FlowSpec("normalized", NORMALIZED),
    FlowSpec("sign_tanh", SIGN_TANH, ("eps",)),
    FlowSpec("sign_sqrt", SIGN_SQRT, ("eps",)),
    FlowSpec("clip_global", CLIP_GLOBAL, ("tau",), "global"),
    FlowSpec("clip_coord", CLIP_COORD, ("tau",), "coordinate"),
)}


def pack(flow: str, problem_params: np.ndarray, flow_params=()) -> np.ndarray:
    """Parameter vector ``[flow code, flow params (padded), problem params]`` for a field.

    Flows with parameters (:data:`SPECS`) need them all, finite and > 0.
    """
    spec = SPECS.get(flow)
    if spec is None:
        raise ValueError(f"flow must be one of {', '.join(SPECS)}, got {flow!r}")
    fp = np.atleast_1d(np.asarray(flow_params, float))
    if spec.params:
        if fp.size != len(spec.params) or not np.all(np.isfinite(fp) & (fp > 0)):
            raise ValueError(f"flow {flow} needs {', '.join(spec.params)} finite and > 0, got "
                             f"{list(fp)!r}")
    elif fp.size > HEADER - 1:
        raise ValueError(f"at most {HEADER - 1} flow parameters, got {fp.size}")
    head = np.zeros(HEADER)
    head[0] = spec.code
    head[1 : 1 + fp.size] = fp
    return np.ascontiguousarray(np.concatenate([head, np.asarray(problem_params, float)]))


def kink_count(flow: str, n: int) -> int:
    """Number of kink event values of ``flow`` for ``n`` coordinates (see :func:`kink_values`)."""
    kinks = SPECS[flow].kinks
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
    block is in cache, then :func:`finish` once.
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


@njit(cache=True)
def finish(p, dy, sumsq):
    """Global part of the flow, from ``sumsq`` of :func:`transform`: the normalized flow divides
    by ``||g||``, the globally clipped flow scales by ``min(1, tau / ||g||)``."""
    code = int(p[0])
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


@njit(cache=True)
def apply_flow(p, dy):
    """Turn the gradient held in ``dy`` into the flow's velocity, in place."""
    finish(p, dy, transform(p, dy))


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
