"""Numba-compiled explicit Runge-Kutta integrators: tableaux as data, one adaptive driver.

>>> from linsim.integrate import solve, vector_field
>>> @vector_field
... def decay(t, y, p, dy):
...     dy[:] = -p[0] * y
>>> sol = solve(decay, (0.0, 1.0), [1.0], [2.0], rtol=1e-10, atol=1e-12)
>>> round(float(sol.y_final[0]), 8)
0.13533528
"""

from .blocks import resolve_workers, solve_blocks, usable_cpus
from .driver import (
    SIGNATURE,
    Events,
    IntegrationError,
    Solution,
    identity_output,
    solve,
    vector_field,
)
from .tableaux import METHODS, Tableau, get_tableau

__all__ = ["solve", "solve_blocks", "Solution", "Events", "IntegrationError", "vector_field",
           "SIGNATURE", "identity_output", "METHODS", "Tableau", "get_tableau", "resolve_workers",
           "usable_cpus"]
