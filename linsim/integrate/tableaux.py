"""Explicit Runge-Kutta methods as data: Butcher tableaux plus their dense-output polynomials.

Every method is stored in one uniform form, the one the driver in :mod:`linsim.integrate.driver`
executes:

* ``s`` stages ``K_0 .. K_{s-1}`` from ``A``, ``C``; the new point ``y1 = y0 + h sum_j B_j K_j``;
* stage ``K_s = f(t0 + h, y1)``, which is the next step's ``K_0`` (so a step costs ``s``
  right-hand-side evaluations, FSAL or not);
* optional *extra* stages ``K_{s+1} ..`` (rows of ``A`` below row ``s``), computed only in a step
  that holds an output time or an event;
* error weights ``E`` over ``K_0 .. K_s`` (and ``E3`` for DOP853's blended 5th/3rd order estimate);
* the dense output ``y(t0 + theta h) = y0 + h sum_j K_j sum_p P[j, p] theta^(p+1)``.

Fixed-step methods carry the cubic Hermite interpolant built from ``K_0``, ``K_s`` and ``y1``,
which is third-order accurate and costs nothing extra.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction as Fr
from functools import cache

import numpy as np
from numpy.polynomial import polynomial as npoly


@dataclass(frozen=True)
class Tableau:
    """An explicit Runge-Kutta method in the driver's uniform form (see the module docstring).

    Attributes
    ----------
    name : str
        Name used by :func:`linsim.integrate.solve` (``"RK45"``, ``"DOP853"``, ...).
    order : int
        Order of the propagated solution.
    error_order : int
        Order of the embedded error estimate, or 0 for a fixed-step method.
    stages : int
        Number ``s`` of stages of one step.
    A, C : ndarray
        ``(s_tot, s_tot)`` coefficients and ``(s_tot,)`` nodes, ``s_tot = s + 1 + extras``.
    B : ndarray
        ``(s,)`` weights of the propagated solution.
    E, E3 : ndarray
        ``(s + 1,)`` error weights; ``E3`` is all zeros except for DOP853.
    P : ndarray
        ``(s_tot, degree)`` dense-output coefficients.
    """

    name: str
    order: int
    error_order: int
    stages: int
    A: np.ndarray
    C: np.ndarray
    B: np.ndarray
    E: np.ndarray
    E3: np.ndarray
    P: np.ndarray

    @property
    def adaptive(self) -> bool:
        """True when the method has an embedded error estimate."""
        return self.error_order > 0

    @property
    def state_vectors(self) -> int:
        """State-sized float64 vectors the driver holds: stages, work, dense output, y, y0."""
        return self.A.shape[0] + 2 + self.P.shape[1] + 2

    @property
    def total_stages(self) -> int:
        """Stages held per step: ``s`` + the new point + the extra dense-output stages."""
        return self.A.shape[0]


def _f(rows) -> np.ndarray:
    return np.array([[float(Fr(x)) for x in r] for r in rows], dtype=np.float64)


def _hermite_P(B: np.ndarray) -> np.ndarray:
    """Cubic Hermite interpolant in stage form: uses K_0 = f(t0), K_s = f(t1) and y1 - y0."""
    s = B.size
    P = np.zeros((s + 1, 3))
    P[:s] += np.outer(B, [0.0, 3.0, -2.0])  # (y1 - y0) (3 theta^2 - 2 theta^3)
    P[0] += [1.0, -2.0, 1.0]  # h f0 (theta - 2 theta^2 + theta^3)
    P[s] += [0.0, -1.0, 1.0]  # h f1 (theta^3 - theta^2)
    return P


def fixed_step(name: str, order: int, A_rows, B, C) -> Tableau:
    """A fixed-step explicit method from its Butcher tableau (``A_rows``: ``s`` rows of ``s``
    entries, strictly lower triangular; ``B``, ``C``: ``s`` entries), exact fractions allowed
    as strings (``"1/3"``); the dense output is the cubic Hermite interpolant."""
    return _fixed(name, order, A_rows, B, C)


def register_tableau(tableau: Tableau, *, replace: bool = False) -> Tableau:
    """Make ``tableau`` available to :func:`linsim.integrate.solve` as ``method=tableau.name``
    (at run time, without editing this module). ``ValueError`` for a taken name (unless
    ``replace``) or a tableau that is not explicit."""
    if not isinstance(tableau, Tableau):
        raise TypeError(f"tableau must be a Tableau, got {type(tableau).__name__}")
    if tableau.name in _BUILDERS and not replace:
        raise ValueError(f"method {tableau.name!r} already exists (replace=True to replace it)")
    A = np.asarray(tableau.A)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or np.any(np.triu(A) != 0.0):
        raise ValueError(f"method {tableau.name!r}: A must be square and strictly lower "
                         f"triangular (an explicit method)")
    _BUILDERS[tableau.name] = lambda: tableau
    global METHODS
    METHODS = tuple(_BUILDERS)
    get_tableau.cache_clear()
    return tableau


def _fixed(name: str, order: int, A_rows, B, C) -> Tableau:
    s = len(B)
    A = np.zeros((s + 1, s + 1))
    A[:s, :s] = _f(A_rows)
    Bv = _f([B])[0]
    A[s, :s] = Bv
    Cv = np.append(_f([C])[0], 1.0)
    z = np.zeros(s + 1)
    return Tableau(name, order, 0, s, A, Cv, Bv, z, z, _hermite_P(Bv))


def _dopri5() -> Tableau:
    # Dormand & Prince (1980), with Shampine's 4th-order continuous extension.
    s = 6
    A = np.zeros((7, 7))
    A[:7, :6] = _f([
        [0, 0, 0, 0, 0, 0],
        ["1/5", 0, 0, 0, 0, 0],
        ["3/40", "9/40", 0, 0, 0, 0],
        ["44/45", "-56/15", "32/9", 0, 0, 0],
        ["19372/6561", "-25360/2187", "64448/6561", "-212/729", 0, 0],
        ["9017/3168", "-355/33", "46732/5247", "49/176", "-5103/18656", 0],
        ["35/384", 0, "500/1113", "125/192", "-2187/6784", "11/84"],
    ])
    C = _f([[0, "1/5", "3/10", "4/5", "8/9", 1, 1]])[0]
    B = A[6, :6].copy()
    E = _f([["-71/57600", 0, "71/16695", "-71/1920", "17253/339200", "-22/525", "1/40"]])[0]
    P = _f([
        [1, "-8048581381/2820520608", "8663915743/2820520608", "-12715105075/11282082432"],
        [0, 0, 0, 0],
        [0, "131558114200/32700410799", "-68118460800/10900136933", "87487479700/32700410799"],
        [0, "-1754552775/470086768", "14199869525/1410260304", "-10690763975/1880347072"],
        [0, "127303824393/49829197408", "-318862633887/49829197408",
         "701980252875/199316789632"],
        [0, "-282668133/205662961", "2019193451/616988883", "-1453857185/822651844"],
        [0, "40617522/29380423", "-110615467/29380423", "69997945/29380423"],
    ])
    return Tableau("RK45", 5, 4, s, A, C, B, E, np.zeros(7), P)


def _dop853() -> Tableau:
    """Hairer's DOP853, from the coefficient tables SciPy ships with its public ``DOP853``.

    SciPy writes the 7th-degree interpolant as ``y0 + sum_i F_i phi_i(theta)`` with
    ``phi = x, x(1-x), x^2(1-x), x^2(1-x)^2, ...`` and each ``F_i`` linear in the stages;
    here it is expanded once into plain monomials per stage.
    """
    from scipy.integrate import DOP853 as Sp

    s = Sp.n_stages  # 12
    n_ext = Sp.A_EXTRA.shape[0]  # 3
    tot = s + 1 + n_ext  # 16
    A = np.zeros((tot, tot))
    A[:s, :s] = Sp.A
    A[s, :s] = Sp.B
    A[s + 1:, :] = Sp.A_EXTRA
    C = np.concatenate([Sp.C, [1.0], Sp.C_EXTRA])
    B = np.asarray(Sp.B, dtype=float)
    # F_i = h * sum_j M[i, j] K_j
    M = np.zeros((7, tot))
    M[0, :s] = B
    M[1, :s] = -B
    M[1, 0] += 1.0
    M[2, :s] = 2.0 * B
    M[2, 0] -= 1.0
    M[2, s] -= 1.0
    M[3:] = Sp.D
    x = np.array([0.0, 1.0])
    one_minus = np.array([1.0, -1.0])
    phis, cur = [], x
    for i in range(7):  # phi_0 = x, then alternately times (1 - x) and times x
        phis.append(cur)
        cur = npoly.polymul(cur, one_minus if i % 2 == 0 else x)
    deg = 7
    Phi = np.zeros((7, deg))
    for i, ph in enumerate(phis):
        Phi[i, : len(ph) - 1] = ph[1:]  # coefficients of theta^1 .. theta^deg
    P = M.T @ Phi
    E5, E3 = np.asarray(Sp.E5, float), np.asarray(Sp.E3, float)
    return Tableau("DOP853", 8, 7, s, A, C, B, E5, E3, P)


@cache
def get_tableau(name: str) -> Tableau:
    """Return the :class:`Tableau` called ``name`` (one of :data:`METHODS`)."""
    if name not in _BUILDERS:
        raise ValueError(f"method must be one of {', '.join(_BUILDERS)}, got {name!r}")
    return _BUILDERS[name]()


_BUILDERS = {
    "Euler": lambda: _fixed("Euler", 1, [[0]], [1], [0]),
    "Heun": lambda: _fixed("Heun", 2, [[0, 0], [1, 0]], ["1/2", "1/2"], [0, 1]),
    "RK4": lambda: _fixed(
        "RK4",
        4,
        [[0, 0, 0, 0], ["1/2", 0, 0, 0], [0, "1/2", 0, 0], [0, 0, 1, 0]],
        ["1/6", "1/3", "1/3", "1/6"],
        [0, "1/2", "1/2", 1],
    ),
    "RK45": _dopri5,
    "DOP853": _dop853,
}

#: Names accepted by :func:`linsim.integrate.solve`; the last two are adaptive.
METHODS: tuple[str, ...] = tuple(_BUILDERS)
