"""Dynamics: how a gradient becomes a velocity.

A problem's right-hand side computes its gradient ``g`` into ``dy`` and then calls
:func:`apply_flow`, which turns it in place into the velocity of the chosen flow:

========== ======================================= ==========================================
name       velocity                                THEORY.md
========== ======================================= ==========================================
gradient   ``-g``                                  GF
sign       ``-sign(g)``                            SF (see below for ``g_i = 0``)
normalized ``-g / ||g||_2``                        NF, K24.nf-reparam
========== ======================================= ==========================================

Every field's parameter vector ``p`` starts with a header of :data:`HEADER` floats:
``p[0]`` is the flow code, ``p[1:HEADER]`` the flow's own parameters; the problem's parameters
follow. :func:`pack` builds it.

``sign(0)``: we take ``sign(0) = 0``, the minimum-norm element of the Filippov set
``Sgn(0) = [-1, 1]``. It is exact where a gradient entry is zero at an isolated time and stays
honest (the entry does not move) where it is zero in floating point only because it underflowed.
Sliding along surfaces ``g_i = 0`` needs the event-driven Filippov integrator, not this rule.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

GRADIENT, SIGN, NORMALIZED = 0, 1, 2
#: Flow names accepted on the command line, and their codes.
FLOWS: dict[str, int] = {"gradient": GRADIENT, "sign": SIGN, "normalized": NORMALIZED}
#: Number of leading entries of ``p`` that belong to the flow.
HEADER = 4


def pack(flow: str, problem_params: np.ndarray, flow_params=()) -> np.ndarray:
    """Parameter vector ``[flow code, flow params (padded), problem params]`` for a field."""
    if flow not in FLOWS:
        raise ValueError(f"flow must be one of {', '.join(FLOWS)}, got {flow!r}")
    head = np.zeros(HEADER)
    head[0] = FLOWS[flow]
    head[1 : 1 + len(flow_params)] = flow_params
    return np.ascontiguousarray(np.concatenate([head, np.asarray(problem_params, float)]))


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

    Returns ``sum(g^2)`` of the slice for the normalized flow (0 otherwise). Problems whose
    gradient is computed in blocks call it per block while the block is in cache, then
    :func:`finish` once.
    """
    code = int(p[0])
    n = g.size
    if code == GRADIENT:
        for i in range(n):
            g[i] = -g[i]
    elif code == SIGN:
        for i in range(n):
            g[i] = -sign(g[i])
    elif code == NORMALIZED:
        acc = 0.0
        for i in range(n):
            g[i] = -g[i]
            acc += g[i] * g[i]
        return acc
    else:
        for i in range(n):
            g[i] = np.nan
    return 0.0


@njit(cache=True)
def finish(p, dy, sumsq):
    """Global part of the flow: the normalized flow divides by ``||g||`` (``sumsq`` from
    :func:`transform`, recomputed with scaling if it under- or overflowed)."""
    if int(p[0]) != NORMALIZED:
        return
    n = dy.size
    if not (sumsq > 1e-280 and sumsq < 1e280):
        big = 0.0
        for i in range(n):
            big = max(big, abs(dy[i]))
        if not big > 0.0:
            return  # g = 0: a rest point
        acc = 0.0
        for i in range(n):
            acc += (dy[i] / big) ** 2
        inv = 1.0 / (big * math.sqrt(acc))
    else:
        inv = 1.0 / math.sqrt(sumsq)
    for i in range(n):
        dy[i] *= inv


@njit(cache=True)
def apply_flow(p, dy):
    """Turn the gradient held in ``dy`` into the flow's velocity, in place."""
    finish(p, dy, transform(p, dy))
