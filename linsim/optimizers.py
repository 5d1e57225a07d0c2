"""Deterministic discrete-time optimizers, compiled with Numba, generic over a gradient oracle.

One compiled update rule, :func:`update`, serves every method; the method is a code and its
hyperparameters a float vector (no jitted function is ever passed to another one: numba
issue 6251). Three drivers call it:

* :func:`run` on a :class:`~linsim.problems.quadratic.BlockQuadratic`: the whole loop is
  compiled (gradient :func:`~linsim.problems.quadratic.block_grad`, update, stopping test),
  about 0.1 microsecond per iteration on the 9-dimensional Z24 cases;
* :func:`run` on an :class:`Oracle` (any Python ``loss_and_grad(w, g) -> loss``): a Python
  loop around the same compiled :func:`update`, for models whose gradient is the expensive
  part (the K24 general linear model). On a quadratic both drivers give the same iterates.
* :func:`field_iterates` on any compiled right-hand side of :mod:`linsim.integrate` (its
  gradient-flow field returns ``-g``): the whole loop compiled, so a discrete method runs on the
  very gradient code its continuous-time flow integrates (:mod:`linsim.experiments.adam`).

Methods (THEORY.md, "Z24"; constructors below):

================== ====================================================================
:func:`gd`          ``w -= lr g``
:func:`heavy_ball`  ``m = beta m - lr g; w += m`` (Polyak; ``m0 = 0``)
:func:`adam`        ``m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
                    w -= lr mhat / (sqrt(vhat) + eps)``, bias correction on or off,
                    ``v0 = 0`` or ``v0 = g0^2``; Adam(0, 1) with ``v0 = g0^2`` is GD
                    preconditioned by ``D = diag|g0|`` (Z24.adam-bound)
:func:`rmsprop`     Adam with ``b1 = 0`` and no bias correction
:func:`sign_descent` ``w -= lr_k sign(g)`` (``sign(0) = 0``), constant or decaying ``lr_k``
:func:`normalized_gd` ``w -= lr_k g / ||g||_2``
:func:`block_gd`    oracle GD with one step size per block: ``w_l -= lr * lr_l g_l``
================== ====================================================================

Decaying steps (sign descent, normalized GD): ``"geometric"`` ``lr_k = lr decay^k``;
``"polynomial"`` ``lr_k = lr / (k + 1)^decay``.

Learning-rate sweeps (:func:`sweep`, :func:`tune`) keep the best setting, measured as the
number of iterations to reach a relative loss gap ``(f - f*)/(f0 - f*) <= tol``
(:func:`iterations_to_tolerance`). A sweep can *prune*: once some setting reached the tolerance
in ``k`` iterations, every later run stops after ``k - 1`` — it cannot be the best any more.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from numba import njit, types

from .flows import sign
from .integrate.driver import FieldType
from .problems.quadratic import block_grad

GD, HEAVY_BALL, ADAM, SIGN, NORMALIZED, BLOCK_GD = range(6)
#: Method codes by name.
CODES = {"gd": GD, "heavy_ball": HEAVY_BALL, "adam": ADAM, "sign": SIGN,
         "normalized": NORMALIZED, "block_gd": BLOCK_GD}
#: Entries of the hyperparameter vector before the per-block step sizes of :func:`block_gd`.
HYPER_HEAD = 8
#: Step schedules of sign descent and normalized GD.
SCHEDULES = {"constant": 0, "geometric": 1, "polynomial": 2}
#: Run status: reached the tolerance, ran out of iterations, diverged (or NaN), stalled.
REACHED, NOT_REACHED, DIVERGED, STALLED = 0, 1, 2, 3
STATUS_NAMES = {REACHED: "reached", NOT_REACHED: "not reached", DIVERGED: "diverged",
                STALLED: "stalled"}


# --------------------------------------------------------------------------------------------
# compiled update rule
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def step_size(hyper, k):
    """``lr_k`` of the schedule in ``hyper[1]`` (0 constant, 1 geometric, 2 polynomial)."""
    lr = hyper[0]
    sched = int(hyper[1])
    if sched == 1:
        return lr * hyper[2] ** k
    if sched == 2:
        return lr / (k + 1.0) ** hyper[2]
    return lr


@njit(cache=True)
def _norm2(g):
    """``||g||_2`` without overflow or underflow."""
    big = 0.0
    for i in range(g.size):
        big = max(big, abs(g[i]))
    if not big > 0.0:
        return big
    acc = 0.0
    for i in range(g.size):
        acc += (g[i] / big) ** 2
    return big * math.sqrt(acc)


@njit(cache=True, error_model="numpy")
def update(code, hyper, k, w, g, m, v, offsets):
    """One step, in place: ``w`` (and the states ``m``, ``v``) from the gradient ``g`` at step k.

    ``k`` counts from 0; ``m`` and ``v`` must be zero before step 0. ``offsets`` are the block
    offsets (used by :data:`BLOCK_GD` only).

    Compiled with ``error_model="numpy"``: a float division by zero gives inf or NaN instead of
    raising ``ZeroDivisionError``. The Python error model puts a zero test before every
    division, and that branch (not the ``m = 0`` test) is what kept the Adam loop scalar:
    vectorized (AVX2) it costs about 2 ns per entry instead of 7 to 8.5. An entry whose
    denominator is 0 while ``m != 0`` (``beta2 = 1``, ``eps = 0`` and ``g0 = 0`` there) now
    moves to +-inf, and the run is reported as diverged, where it used to raise.
    """
    n = w.size
    lr = hyper[0]
    if code == GD:
        for i in range(n):
            w[i] -= lr * g[i]
    elif code == HEAVY_BALL:
        beta = hyper[1]
        for i in range(n):
            m[i] = beta * m[i] - lr * g[i]
            w[i] += m[i]
    elif code == ADAM:
        b1 = hyper[1]
        b2 = hyper[2]
        eps = hyper[3]
        bc = hyper[4] != 0.0
        if k == 0 and hyper[5] != 0.0:
            for i in range(n):
                v[i] = g[i] * g[i]
        c1 = 1.0 - b1 ** (k + 1) if (bc and b1 < 1.0) else 1.0
        c2 = math.sqrt(1.0 - b2 ** (k + 1)) if (bc and b2 < 1.0) else 1.0
        # Branch-free, so that the loop vectorizes (AVX2: the divisions and the square root
        # dominate). The step is computed for every entry, then replaced by 0 where m = 0: a
        # select, not a branch around the store. Where m = 0 the entry does not move, exactly
        # as before (w - 0.0 == w bit for bit, -0.0 included), even when the discarded step
        # is 0/0 (eps = 0 and v = 0) or NaN; elsewhere the step is the same expression.
        for i in range(n):
            mi = b1 * m[i] + (1.0 - b1) * g[i]
            vi = b2 * v[i] + (1.0 - b2) * g[i] * g[i]
            m[i] = mi
            v[i] = vi
            step = lr * (mi / c1) / (math.sqrt(vi) / c2 + eps)
            w[i] = w[i] - (step if mi != 0.0 else 0.0)
    elif code == SIGN:
        s = step_size(hyper, k)
        for i in range(n):
            w[i] -= s * sign(g[i])
    elif code == NORMALIZED:
        nrm = _norm2(g)
        if nrm > 0.0:
            s = step_size(hyper, k) / nrm
            for i in range(n):
                w[i] -= s * g[i]
    elif code == BLOCK_GD:
        for b in range(offsets.size - 1):
            lrb = lr * hyper[HYPER_HEAD + b]
            for i in range(offsets[b], offsets[b + 1]):
                w[i] -= lrb * g[i]
    else:
        for i in range(n):
            w[i] = np.nan


@njit(cache=True)
def _stop(gap, gap0, tol, blowup, it, cap, slack, best, last, nhalv):
    """Stopping test shared by both drivers: ``(status or -1, best, last, nhalv)``.

    ``best`` is the gap at the last *halving* (a new minimum below half the previous one),
    ``last`` its iteration and ``nhalv`` their number. With ``slack > 0`` a run is
    :data:`STALLED` once its projected iterations to the tolerance exceed ``slack * cap``: the
    halvings still needed times the cost of one halving (the larger of the time since the last
    halving and the mean so far). Runs on a floor never halve again and are dropped early.
    """
    if gap <= tol * gap0:
        return REACHED, best, last, nhalv
    if not gap <= blowup * gap0:
        return DIVERGED, best, last, nhalv
    if gap <= 0.5 * best:
        best = gap
        last = it
        nhalv += 1
    elif slack > 0.0 and it >= 100 and tol > 0.0:
        per = max(it - last, last / nhalv if nhalv > 0 else it)
        needed = math.log2(best / (tol * gap0))
        if it + needed * per > slack * cap:
            return STALLED, best, last, nhalv
    return -1, best, last, nhalv


@njit(cache=True)
def run_quadratic_kernel(code, hyper, quadratic, w0, stop, hist, whist, w):
    """Compiled driver on a block quadratic. Returns ``(status, iterations)``.

    ``quadratic = (offsets, hptr, hdata, wstar)`` is the block quadratic's layout (as
    :func:`block_grad` takes it); ``stop = (max_iter, tol, blowup, slack)``.

    ``w`` receives the final iterate; ``hist[k]`` the gap ``f(w_k) - f*`` for ``k <
    hist.size`` and ``whist[k]`` the iterate ``w_k`` for ``k < whist.shape[0]``.

    Stops when ``gap <= tol * gap0`` (:data:`REACHED`), when ``gap > blowup * gap0`` or is NaN
    (:data:`DIVERGED`), when it is projected to need more than ``slack * max_iter`` steps
    (:data:`STALLED`, only if ``slack > 0``), or after ``max_iter`` steps (:data:`NOT_REACHED`).
    """
    offsets, hptr, hdata, wstar = quadratic
    max_iter, tol, blowup, slack = stop
    n = w0.size
    for i in range(n):
        w[i] = w0[i]
    g = np.empty(n)
    m = np.zeros(n)
    v = np.zeros(n)
    gap0 = block_grad(offsets, hptr, hdata, wstar, w, g)
    nh = hist.size
    nw = whist.shape[0]
    if nh > 0:
        hist[0] = gap0
    if nw > 0:
        whist[0, :] = w
    if not gap0 > 0.0:
        return REACHED, 0
    status = NOT_REACHED
    it = 0
    best = gap0
    last = 0
    nhalv = 0
    for k in range(max_iter):
        update(code, hyper, k, w, g, m, v, offsets)
        gap = block_grad(offsets, hptr, hdata, wstar, w, g)
        it = k + 1
        if it < nh:
            hist[it] = gap
        if it < nw:
            whist[it, :] = w
        s, best, last, nhalv = _stop(gap, gap0, tol, blowup, it, max_iter, slack, best, last,
                                     nhalv)
        if s >= 0:
            status = s
            break
    return status, it


@njit(types.void(FieldType, types.float64[::1], types.float64[::1], types.int64,
                 types.float64[::1], types.int64[::1], types.float64[:, ::1]), cache=True)
def _field_kernel(rhs, p, w, code, hyper, record, out):
    """Run method ``code`` on the gradient ``-rhs(t, w, p)`` (``p`` codes gradient flow); store
    ``w`` after ``record[j]`` steps (sorted) in ``out[j]``."""
    n = w.size
    g = np.empty(n)
    m = np.zeros(n)
    v = np.zeros(n)
    offsets = np.zeros(1, dtype=np.int64)
    j = 0
    while j < record.size and record[j] == 0:
        out[j, :] = w
        j += 1
    for k in range(record[record.size - 1]):
        rhs(0.0, w, p, g)
        for i in range(n):
            g[i] = -g[i]
        update(code, hyper, k, w, g, m, v, offsets)
        while j < record.size and record[j] == k + 1:
            out[j, :] = w
            j += 1


def field_iterates(field, params: np.ndarray, w0, opt: Optimizer, steps) -> np.ndarray:
    """Iterates of ``opt`` after each number of ``steps`` (sorted), on a compiled field.

    Parameters
    ----------
    field : compiled function
        A right-hand side ``field(t, y, p, dy)`` of :mod:`linsim.integrate`.
    params : ndarray
        Its parameter vector for gradient flow (``dy = -g``), e.g.
        ``model.params("gradient")``.
    w0 : array_like
        Start.
    opt : Optimizer
    steps : array_like of int
        Sorted step counts (0 is the start).

    Returns
    -------
    ndarray, shape (len(steps), len(w0))
    """
    record = np.asarray(steps, dtype=np.int64)
    if record.ndim != 1 or record.size == 0 or np.any(record < 0) or np.any(np.diff(record) < 0):
        raise ValueError("steps must be a non-empty sorted list of counts >= 0")
    w = np.array(w0, dtype=np.float64).ravel()
    out = np.empty((record.size, w.size))
    _field_kernel(field, np.ascontiguousarray(params, dtype=np.float64), w, opt.code,
                  opt.vector(), record, out)
    return out


# --------------------------------------------------------------------------------------------
# optimizer specifications
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Optimizer:
    """A method and its hyperparameters (build it with :func:`gd`, :func:`adam`, ...).

    Attributes
    ----------
    name : str
        Short label (``"gd"``, ``"adam(0,1)"``, ...).
    code : int
        One of the method codes (:data:`CODES`).
    hyper : tuple of float
        ``[lr, method parameters, ..., per-block step sizes]`` (see :func:`update`).
    params : tuple of (str, float or str)
        The named hyperparameters, for reports.
    """

    name: str
    code: int
    hyper: tuple
    params: tuple = ()

    @property
    def lr(self) -> float:
        """The (initial) step size."""
        return float(self.hyper[0])

    def with_lr(self, lr: float) -> Optimizer:
        """The same method with step size ``lr``."""
        _positive("lr", lr)
        h = list(self.hyper)
        h[0] = float(lr)
        p = tuple((k, float(lr) if k == "lr" else v) for k, v in self.params)
        return replace(self, hyper=tuple(h), params=p)

    def vector(self) -> np.ndarray:
        """The hyperparameter vector for the compiled kernels."""
        return np.ascontiguousarray(self.hyper, dtype=np.float64)

    def describe(self) -> dict:
        """``{"name", "method", params...}`` for JSON reports."""
        inv = {v: k for k, v in CODES.items()}
        return {"name": self.name, "method": inv[self.code], **dict(self.params)}


def _positive(name: str, x: float, allow_zero: bool = False) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number {'>=' if allow_zero else '>'} 0, "
                         f"got {x!r}") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be a finite number {'>=' if allow_zero else '>'} 0, "
                         f"got {x!r}")
    return v


def _unit(name: str, x: float, closed_top: bool = True) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        v = float("nan")
    ok = math.isfinite(v) and 0.0 <= v and (v <= 1.0 if closed_top else v < 1.0)
    if not ok:
        raise ValueError(f"{name} must be in [0, 1{']' if closed_top else ')'}, got {x!r}")
    return v


def _hyper(lr: float, *rest: float) -> tuple:
    h = [0.0] * HYPER_HEAD
    h[0] = _positive("lr", lr)
    h[1 : 1 + len(rest)] = [float(r) for r in rest]
    return tuple(h)


def gd(lr: float) -> Optimizer:
    """Gradient descent ``w -= lr g``."""
    return Optimizer("gd", GD, _hyper(lr), (("lr", float(lr)),))


def heavy_ball(lr: float, beta: float = 0.9) -> Optimizer:
    """Heavy ball ``m = beta m - lr g; w += m`` (``beta`` in [0, 1))."""
    b = _unit("beta", beta, closed_top=False)
    return Optimizer("heavy_ball", HEAVY_BALL, _hyper(lr, b),
                     (("lr", float(lr)), ("beta", b)))


def adam(lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
         bias_correction: bool = True, v0: str = "zero", name: str | None = None) -> Optimizer:
    """Adam.

    Parameters
    ----------
    lr : float
        Step size > 0.
    beta1 : float in [0, 1)
    beta2 : float in [0, 1]
        ``beta2 = 1`` freezes ``v`` at ``v0``.
    eps : float >= 0
    bias_correction : bool
        Divide ``m`` by ``1 - beta1^(k+1)`` and ``v`` by ``1 - beta2^(k+1)`` (a factor that is
        skipped where ``beta = 1``).
    v0 : {"zero", "g0sq"}
        ``v`` before the first step: 0, or ``g0^2`` as in Z24's theorem.
    name : str, optional
        Label; default ``"adam(b1,b2)"``.
    """
    b1 = _unit("beta1", beta1, closed_top=False)
    b2 = _unit("beta2", beta2)
    e = _positive("eps", eps, allow_zero=True)
    if v0 not in ("zero", "g0sq"):
        raise ValueError(f"v0 must be 'zero' or 'g0sq', got {v0!r}")
    if b2 == 1.0 and v0 == "zero" and e == 0.0:
        raise ValueError("beta2 = 1 with v0 = 'zero' and eps = 0 divides by zero: use v0='g0sq'")
    label = name or f"adam({b1:g},{b2:g})"
    return Optimizer(label, ADAM, _hyper(lr, b1, b2, e, float(bool(bias_correction)),
                                         float(v0 == "g0sq")),
                     (("lr", float(lr)), ("beta1", b1), ("beta2", b2), ("eps", e),
                      ("bias_correction", bool(bias_correction)), ("v0", v0)))


def adam01(lr: float) -> Optimizer:
    """Z24's Adam(0, 1): ``beta1 = 0``, ``beta2 = 1``, ``v0 = g0^2``, no bias correction, eps 0.

    It is GD preconditioned by ``D = diag|g0|`` (Z24.adam-bound).
    """
    return adam(lr, 0.0, 1.0, 0.0, bias_correction=False, v0="g0sq", name="adam(0,1)")


def rmsprop(lr: float, beta2: float = 0.99, eps: float = 1e-8, v0: str = "zero") -> Optimizer:
    """RMSProp ``v = b2 v + (1-b2) g^2; w -= lr g / (sqrt(v) + eps)``: Adam with ``b1 = 0``."""
    o = adam(lr, 0.0, beta2, eps, bias_correction=False, v0=v0, name="rmsprop")
    return replace(o, params=(("lr", float(lr)), ("beta2", float(beta2)), ("eps", float(eps)),
                              ("v0", v0)))


def _schedule(schedule: str, decay: float) -> tuple[int, float]:
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
    if schedule == "geometric":
        d = _unit("decay", decay)
        if d == 0.0:
            raise ValueError(f"decay must be in (0, 1] for a geometric schedule, got {decay!r}")
    elif schedule == "polynomial":
        d = _positive("decay", decay, allow_zero=True)
    else:
        d = 0.0
    return SCHEDULES[schedule], d


def sign_descent(lr: float, schedule: str = "constant", decay: float = 1.0) -> Optimizer:
    """Sign descent ``w -= lr_k sign(g)`` with ``sign(0) = 0``.

    ``schedule``: ``"constant"``, ``"geometric"`` (``lr decay^k``, ``decay`` in (0, 1]) or
    ``"polynomial"`` (``lr / (k+1)^decay``, ``decay >= 0``).
    """
    code, d = _schedule(schedule, decay)
    name = "sign" if schedule == "constant" else f"sign-{schedule}"
    return Optimizer(name, SIGN, _hyper(lr, code, d),
                     (("lr", float(lr)), ("schedule", schedule), ("decay", d)))


def normalized_gd(lr: float, schedule: str = "constant", decay: float = 1.0) -> Optimizer:
    """Normalized GD ``w -= lr_k g / ||g||_2`` (schedules as in :func:`sign_descent`)."""
    code, d = _schedule(schedule, decay)
    name = "normalized" if schedule == "constant" else f"normalized-{schedule}"
    return Optimizer(name, NORMALIZED, _hyper(lr, code, d),
                     (("lr", float(lr)), ("schedule", schedule), ("decay", d)))


def block_gd(block_lrs: Sequence[float], lr: float = 1.0) -> Optimizer:
    """Oracle GD with one step size per block: ``w_l -= lr * block_lrs[l] * g_l``.

    ``lr`` is a common multiplier (what a sweep tunes).
    """
    lrs = [_positive("block_lrs", x) for x in block_lrs]
    if not lrs:
        raise ValueError("block_lrs must hold one step size per block (at least one)")
    h = list(_hyper(lr)) + lrs
    return Optimizer("block_gd", BLOCK_GD, tuple(h),
                     (("lr", float(lr)), ("block_lrs", tuple(lrs))))


def oracle_block_gd(problem, lr: float = 1.0) -> Optimizer:
    """:func:`block_gd` with the per-block optimal steps ``2 / (lambda_min,l + lambda_max,l)``.

    The oracle knows each block's extreme eigenvalues; each block then contracts like GD on a
    problem of condition number ``kappa_l``.
    """
    return block_gd([2.0 / (v.min() + v.max()) for v in problem.eigvals], lr)


# --------------------------------------------------------------------------------------------
# drivers
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Oracle:
    """A Python gradient oracle for :func:`run`: ``loss_and_grad(w, g) -> f(w)``, filling ``g``.

    Attributes
    ----------
    loss_and_grad : callable
    w0 : ndarray
        Initial point.
    f_star : float
        Optimal value (gaps are ``f - f_star``); 0 when unknown.
    offsets : ndarray, optional
        Block offsets for :func:`block_gd` (default one block).
    """

    loss_and_grad: Callable[[np.ndarray, np.ndarray], float]
    w0: np.ndarray
    f_star: float = 0.0
    offsets: np.ndarray | None = None


@dataclass
class Run:
    """The result of :func:`run`.

    Attributes
    ----------
    optimizer : Optimizer
    status : int
        :data:`REACHED`, :data:`NOT_REACHED` or :data:`DIVERGED`.
    iterations : int
        Steps taken (to the tolerance when reached).
    gaps : ndarray
        ``f(w_k) - f*`` for ``k = 0 .. iterations`` (recorded ones only).
    w : ndarray
        Final iterate.
    iterates : ndarray
        ``w_k`` for the first recorded steps (``record_iterates`` of :func:`run`), shape
        ``(steps, n)``.
    """

    optimizer: Optimizer
    status: int
    iterations: int
    gaps: np.ndarray
    w: np.ndarray
    iterates: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    @property
    def reached(self) -> bool:
        return self.status == REACHED

    @property
    def relative(self) -> np.ndarray:
        """``gaps / gaps[0]``."""
        return self.gaps / self.gaps[0] if self.gaps.size and self.gaps[0] > 0 else self.gaps


def _check_run_args(max_iter, tol, blowup, slack):
    if not (isinstance(max_iter, (int, np.integer)) and max_iter >= 0):
        raise ValueError(f"max_iter must be an integer >= 0, got {max_iter!r}")
    _positive("slack", slack, allow_zero=True)
    _positive("tol", tol, allow_zero=True)
    _positive("blowup", blowup)


def run(problem, opt: Optimizer, *, max_iter: int = 10_000, tol: float = 0.0,
        blowup: float = 1e8, slack: float = 0.0, record: bool | int = True,
        record_iterates: int = 0) -> Run:
    """Run ``opt`` from ``problem.w0`` until the relative gap is ``<= tol``.

    Parameters
    ----------
    problem : BlockQuadratic or Oracle
        A block quadratic (compiled loop) or any Python gradient oracle (Python loop around the
        same compiled update).
    opt : Optimizer
    max_iter : int
        Largest number of steps.
    tol : float
        Stop once ``(f - f*) / (f0 - f*) <= tol`` (0: run ``max_iter`` steps unless the gap
        reaches exactly 0).
    blowup : float
        Stop as diverged once the relative gap exceeds it (or is NaN).
    slack : float
        Stop as stalled once the run is projected to need more than ``slack * max_iter`` steps
        (0: never; see :func:`_stop`). Sweeps use it to drop settings stuck on a floor (sign
        descent with a constant step) or too slow to beat the best so far.
    record : bool or int
        Record the gap at every step (True), at none (False), or at the first ``record`` steps.
    record_iterates : int
        Record the iterates ``w_0 .. w_{record_iterates - 1}``.

    Returns
    -------
    Run
    """
    _check_run_args(max_iter, tol, blowup, slack)
    nh = (max_iter + 1 if record is True else 0) if isinstance(record, bool) else int(record)
    hist = np.zeros(max(nh, 0))
    hyper = opt.vector()
    if not (isinstance(record_iterates, (int, np.integer)) and record_iterates >= 0):
        raise ValueError(f"record_iterates must be an integer >= 0, got {record_iterates!r}")
    n = problem.n if not isinstance(problem, Oracle) else np.asarray(problem.w0).size
    whist = np.zeros((min(int(record_iterates), max_iter + 1), n))
    if isinstance(problem, Oracle):
        return _run_oracle(problem, opt, hyper, max_iter, tol, blowup, slack, hist, whist)
    w = np.empty(problem.n)
    if opt.code == BLOCK_GD and hyper.size - HYPER_HEAD != problem.blocks:
        raise ValueError(f"block_gd needs one step size per block ({problem.blocks}), "
                         f"got {hyper.size - HYPER_HEAD}")
    quadratic = (problem.offsets, problem.hptr, problem.hdata, problem.w_star)
    stop = (int(max_iter), float(tol), float(blowup), float(slack))
    status, it = run_quadratic_kernel(opt.code, hyper, quadratic, problem.w0, stop, hist, whist,
                                      w)
    return Run(opt, int(status), int(it), hist[: min(it + 1, hist.size)], w,
               whist[: min(it + 1, whist.shape[0])])


def _run_oracle(problem: Oracle, opt, hyper, max_iter, tol, blowup, slack, hist,
                whist) -> Run:
    w = np.array(problem.w0, dtype=np.float64).ravel().copy()
    n = w.size
    offsets = (np.array([0, n], dtype=np.int64) if problem.offsets is None
               else np.asarray(problem.offsets, dtype=np.int64))
    g, m, v = np.empty(n), np.zeros(n), np.zeros(n)
    gap0 = float(problem.loss_and_grad(w, g)) - problem.f_star
    if hist.size:
        hist[0] = gap0
    if whist.shape[0]:
        whist[0] = w
    if not gap0 > 0.0:
        return Run(opt, REACHED, 0, hist[:1], w, whist[:1])
    status, it, best, last, nhalv = NOT_REACHED, 0, gap0, 0, 0
    for k in range(max_iter):
        update(opt.code, hyper, k, w, g, m, v, offsets)
        gap = float(problem.loss_and_grad(w, g)) - problem.f_star
        it = k + 1
        if it < hist.size:
            hist[it] = gap
        if it < whist.shape[0]:
            whist[it] = w
        s, best, last, nhalv = _stop(gap, gap0, tol, blowup, it, max_iter, slack, best, last,
                                     nhalv)
        if s >= 0:
            status = int(s)
            break
    return Run(opt, status, it, hist[: min(it + 1, hist.size)], w,
               whist[: min(it + 1, whist.shape[0])])


def iterations_to_tolerance(problem, opt: Optimizer, tol: float = 1e-6,
                            max_iter: int = 100_000) -> int | None:
    """Steps until ``(f - f*)/(f0 - f*) <= tol``, or None when not reached in ``max_iter``."""
    r = run(problem, opt, max_iter=max_iter, tol=tol, record=False)
    return r.iterations if r.reached else None


# --------------------------------------------------------------------------------------------
# sweeps
# --------------------------------------------------------------------------------------------
def lr_grid(lo: float, hi: float, per_decade: int = 8) -> np.ndarray:
    """Log-spaced step sizes from ``lo`` to ``hi`` with ``per_decade`` points per decade."""
    _positive("lo", lo)
    _positive("hi", hi)
    if hi < lo:
        raise ValueError(f"hi must be >= lo, got lo={lo!r}, hi={hi!r}")
    if not (isinstance(per_decade, (int, np.integer)) and per_decade >= 1):
        raise ValueError(f"per_decade must be an integer >= 1, got {per_decade!r}")
    k = max(1, int(round(math.log10(hi / lo) * per_decade)))
    return np.logspace(math.log10(lo), math.log10(hi), k + 1)


@dataclass
class Sweep:
    """The result of :func:`sweep`.

    Attributes
    ----------
    best : Optimizer or None
        The setting that reached the tolerance in the fewest iterations (the first one on ties).
    iterations : int or None
        Its iteration count (None when no setting reached the tolerance).
    trials : list of (Optimizer, status, iterations)
        Every run; with pruning, a run stopped at the current best shows ``NOT_REACHED``.
    """

    best: Optimizer | None
    iterations: int | None
    trials: list


def sweep(problem, candidates: Iterable[Optimizer], *, tol: float = 1e-6,
          max_iter: int = 100_000, prune: bool = True, slack: float = 0.0) -> Sweep:
    """Run every candidate setting and keep the one that reaches ``tol`` in the fewest steps.

    With ``prune`` a run is stopped as soon as it can no longer beat the best so far;
    ``slack`` (see :func:`run`) also drops runs projected to be far too slow (a heuristic).
    Order the candidates from large to small steps: large steps fail fast, and the first
    success then prunes the slow ones.
    """
    best, best_it, trials = None, None, []
    for opt in candidates:
        cap = max_iter if (best_it is None or not prune) else best_it - 1
        if cap < 1:
            trials.append((opt, NOT_REACHED, 0))
            continue
        r = run(problem, opt, max_iter=cap, tol=tol, slack=slack, record=False)
        trials.append((opt, r.status, r.iterations))
        if r.reached and (best_it is None or r.iterations < best_it):
            best, best_it = opt, r.iterations
    return Sweep(best, best_it, trials)


def tune(problem, opt: Optimizer, lrs: Sequence[float], *, tol: float = 1e-6,
         max_iter: int = 100_000, refine: int = 3, prune: bool = True,
         slack: float = 0.0) -> Sweep:
    """Sweep the step size of ``opt`` over ``lrs``, then refine around the best.

    ``refine`` extra points on each side of the best step, geometrically between it and its
    grid neighbours.
    """
    lrs = np.asarray(lrs, dtype=np.float64)
    res = sweep(problem, (opt.with_lr(x) for x in lrs), tol=tol, max_iter=max_iter,
                prune=prune, slack=slack)
    if res.best is None or refine <= 0 or lrs.size < 2:
        return res
    ratio = float(np.exp(np.mean(np.diff(np.log(lrs)))))
    b = res.best.lr
    extra = [b * ratio ** (j / (refine + 1)) for j in range(-refine, refine + 1) if j != 0]
    more = sweep(problem, (opt.with_lr(x) for x in extra), tol=tol,
                 max_iter=res.iterations if prune else max_iter, prune=prune,
                 slack=slack)
    trials = res.trials + more.trials
    if more.best is not None and more.iterations < res.iterations:
        return Sweep(more.best, more.iterations, trials)
    return Sweep(res.best, res.iterations, trials)


def tune_all(problem, templates: Sequence[Optimizer], lrs: Sequence[float], *,
             tol: float = 1e-6, max_iter: int = 100_000, refine: int = 3, prune: bool = True,
             slack: float = 0.0) -> Sweep:
    """:func:`tune` each template (e.g. one per momentum or decay) and keep the overall best.

    With ``prune`` the best so far caps the later templates' runs.
    """
    best, best_it, trials = None, None, []
    for opt in templates:
        cap = max_iter if (best_it is None or not prune) else best_it - 1
        if cap < 1:
            break
        res = tune(problem, opt, lrs, tol=tol, max_iter=cap, refine=refine, prune=prune,
                   slack=slack)
        trials += res.trials
        if res.best is not None and (best_it is None or res.iterations < best_it):
            best, best_it = res.best, res.iterations
    return Sweep(best, best_it, trials)


__all__ = ["GD", "HEAVY_BALL", "ADAM", "SIGN", "NORMALIZED", "BLOCK_GD", "CODES", "SCHEDULES",
           "REACHED", "NOT_REACHED", "DIVERGED", "STALLED", "Optimizer", "Oracle", "Run",
           "Sweep", "update",
           "step_size", "run", "run_quadratic_kernel", "iterations_to_tolerance", "gd",
           "heavy_ball", "adam", "adam01", "rmsprop", "sign_descent", "normalized_gd",
           "block_gd", "oracle_block_gd", "lr_grid", "sweep", "tune", "tune_all"]
