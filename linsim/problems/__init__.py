"""What is minimized: one module per family, and the contracts a problem meets.

Layers only look down: a problem may import :mod:`linsim.kernels`, :mod:`linsim.flows` and
:mod:`linsim.integrate` (for :func:`~linsim.integrate.vector_field`), never the experiments;
the integrators import no problem. They meet through the protocols below: an integrator calls
the compiled functions and Python methods that a problem hands it, and nothing else.

Modules: :mod:`.softmax` (the K24 one-hot model, the Y25 unigram model), :mod:`.linear`
(softmax regression on a general linear model), :mod:`.quadratic` (the Z24 block-diagonal
quadratics), :mod:`.filippov` (sign flow as a Filippov system: the quadratic and the unigram
model as sliding problems), :mod:`.zipf` (class frequencies), :mod:`.noise` (samplers).

Compiled functions
------------------
Every compiled function a problem hands an integrator (right-hand side, event function, output
function, mode selection) has the one signature ``f(t, y, p, out) -> None`` of
:data:`linsim.integrate.SIGNATURE` and is built with :func:`linsim.integrate.vector_field` at
module level (so that it is cached on disk and typed as a first-class function). Return it
from a property: a compiled function stored as a class attribute would bind as a method.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Problem(Protocol):
    """A problem that :func:`linsim.integrate.solve` integrates under any flow.

    Rules (what a new problem must provide):

    1. ``params(flow, ...)`` returns the float vector ``p`` of the compiled functions: the flow
       header first (:func:`linsim.flows.pack`, ``flows.HEADER`` entries), then the model's
       own data. Everything the compiled functions need travels in ``p``; they read no global
       state besides module-level constants.
    2. ``field`` is a compiled ``field(t, y, p, dy)`` that writes ``dy = F(grad f(x))`` for the
       flow coded in ``p`` (``linsim.flows.transform``/``finish`` or ``apply_flow``). The state
       ``y`` starts with ``x`` and then holds the flow's extra states (Adam's moments).
    3. The state has a fixed size (``state_size`` or ``n``) and a documented layout; a
       starting point comes from ``y0()`` where the model has a natural one.
    4. Loss-type diagnostics are output functions (``out`` of a given length), so that a run
       records them at the output times without storing the state.
    """

    def params(self, flow: str, *args: Any, **kwargs: Any) -> np.ndarray: ...

    @property
    def field(self) -> Any: ...


@runtime_checkable
class BlockProblem(Problem, Protocol):
    """A :class:`Problem` whose state splits into independent blocks under coordinatewise flows
    (:func:`linsim.integrate.solve_blocks` integrates each block with its own steps).

    Rules, besides those of :class:`Problem`:

    1. ``blocks(flow)`` returns ``[(k0, k1), ...]``: disjoint, contiguous ranges of units
       (classes) that cover the problem, in order; one block ``[(0, units)]`` for a flow that
       couples every unit (one that divides by ``||g||``).
    2. ``block_params(flow, k0, k1, ...)`` returns the ``p`` of one block, so that
       ``block_field`` on it is exactly the restriction of ``field`` to the block's states
       (the same numbers, in the same order of operations where the tests check bits).
    3. ``block_output`` writes the block's share of the diagnostics; the caller merges the
       blocks' rows in block order (a fixed summation order, so the merged numbers do not
       depend on the number of threads).
    """

    def blocks(self, flow: str, size: int | None = None) -> list[tuple[int, int]]: ...

    def block_params(self, flow: str, k0: int, k1: int, *args: Any,
                     **kwargs: Any) -> np.ndarray: ...

    @property
    def block_field(self) -> Any: ...

    @property
    def block_output(self) -> Any: ...


@runtime_checkable
class SlidingProblem(Protocol):
    """A problem for sign flow ``x' in -Sgn(grad f(x))`` as a Filippov system
    (:func:`linsim.integrate.sliding.sign_flow`): event-driven sliding and implicit Euler.

    Rules (all methods take and return ``float64`` arrays of ``n`` entries):

    1. ``n`` is the dimension and ``params("sign", level)`` returns ``p`` whose ``2n`` entries
       from ``mode_at`` hold the *mode*: ``sigma`` (0 for a stuck coordinate, else the sign of
       a free one) and ``u`` (each coordinate's control: ``sigma_i`` when free, the equivalent
       control in ``[-1, 1]`` when stuck). The integrator writes the mode; nothing else of
       ``p`` changes during a run. ``level`` is the target of ``f - f* = level``.
    2. ``grad(x)`` and ``gap(x)`` (``f - f*``) are Python-level, accurate relative to
       ``x - x*`` where the model allows it.
    3. ``sliding_field(t, y, p, dy)`` (compiled) writes the velocity of the current mode: free
       ``-sigma_i``, stuck ``-u_i``.
    4. ``sliding_events(t, y, p, out)`` (compiled) writes ``n + 1`` values: for a free
       coordinate ``sigma_i g_i`` (it falls through zero when the gradient does), for a stuck
       one ``1 - |u_i|`` (zero when the control saturates), then ``f - f* - level``.
    5. ``select(t, y, p, out)`` (compiled) is the mode selection at an event: it writes the new
       ``sigma`` (``n``), ``u`` (``n``) and the state projected back onto ``g_S = 0`` (``n``)
       into ``out`` (``3n``). The candidates are the stuck set and the coordinates whose
       gradient is zero to rounding; a candidate whose Filippov control is interior slides, one
       at ``+-1`` is free with that sign.
    6. ``tr_step(x, h)`` is the implicit Euler step: ``argmin {f(z) : ||z - x||_inf <= h}``.
       ``mode_valid(x, mode)`` says whether ``select`` at ``x``, started from ``mode``,
       releases no stuck coordinate and flips no free sign.
    7. ``field`` (compiled, any flow coded in ``p``) and ``gap_event`` (``f - f* - level``, one
       value) serve the naive explicit method and the time to ``level``.

    Optional: ``closed_form(x0, t)`` enables ``method="closed"``; ``H`` and ``x_star`` (a
    quadratic: linear motion between events) enable ``method="exact"``; ``output``,
    ``mode_output`` (``[x, mode]``, ``2n`` values), ``kink_events`` (the clipped flows'
    kinks, :func:`linsim.problems.filippov.kink_events`) and ``distance(a, b)`` serve the
    experiments.
    """

    n: int
    mode_at: int

    def params(self, flow: str = "sign", level: float = 0.0,
               flow_params: Any = ()) -> np.ndarray: ...

    def grad(self, x: Any) -> np.ndarray: ...

    def gap(self, x: Any) -> float: ...

    @property
    def field(self) -> Any: ...

    @property
    def gap_event(self) -> Any: ...

    @property
    def sliding_field(self) -> Any: ...

    @property
    def sliding_events(self) -> Any: ...

    @property
    def select(self) -> Any: ...

    def tr_step(self, x: Any, h: float) -> np.ndarray: ...

    def mode_valid(self, x: Any, mode: Any) -> bool: ...


__all__ = ["Problem", "BlockProblem", "SlidingProblem"]
