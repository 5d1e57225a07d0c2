"""Module-level vector fields for the tests that run in a subprocess (JIT parity, disk caching).

They live in an importable module (``tests/`` on ``sys.path``) so that a fresh interpreter, with
or without ``NUMBA_DISABLE_JIT``, compiles or loads exactly the same functions.
"""

from __future__ import annotations

from linsim.integrate import vector_field


@vector_field
def lotka_volterra(t, y, p, dy):
    """Predator-prey: ``p = (a, b, c, d)``."""
    dy[0] = p[0] * y[0] - p[1] * y[0] * y[1]
    dy[1] = -p[2] * y[1] + p[3] * y[0] * y[1]


@vector_field
def prey_level(t, y, p, out):
    """Event: the prey population crosses 3."""
    out[0] = y[0] - 3.0
