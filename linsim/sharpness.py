"""Directional sharpness of update directions (THEORY.md, "PL23").

Second-order model of a step ``x+ = x - eta v``: ``f(x - eta v) ~ f(x) - eta g^T v +
eta^2/2 v^T H v`` (exact on quadratics). For a direction ``v``:

=========================== ===============================================================
:func:`sharpness`            ``S(v) = v^T H v / ||v||^2``
:func:`correlation`          ``C(v) = g^T v / ||v||``
:func:`best_step`            ``eta*(v) = g^T v / v^T H v``
:func:`best_decrease`        ``Delta*(v) = (g^T v)^2 / (2 v^T H v)``
=========================== ===============================================================

Directions (:func:`directions`): GD ``g``, sign ``sign(g)``, coordinate-clipped ``g`` with the
rank threshold of PL23's code (:func:`linsim.stochastic.rank_clip`: the (floor(q d)+1)-th
largest ``|g_i|``), and Adam ``mhat / (sqrt(vhat) + eps)`` from moments accumulated along a
trajectory (at the first step it is ``sign(g)`` up to ``eps``).

Problems are *oracles* with ``grad(x)``, ``hvp(x, v)`` and ``gap(x)``: :class:`QuadraticOracle`
(a dense Hessian or a :class:`~linsim.problems.quadratic.BlockQuadratic`, the Z24 problems),
:class:`SpectralQuadratic` (a diagonal ``H`` or the same spectrum densely rotated),
:class:`OneHotOracle` (the K24 one-hot softmax model, with its exact Hessian-vector product
``H_k v_k = pi_k (p * v_k - p (p . v_k))`` per column) and :class:`FiniteDifference` (any
oracle's ``hvp`` replaced by central differences of its gradient).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from .problems.softmax import OneHotModel, onehot_loss_grad, softmax_column
from .stochastic import rank_clip

#: Direction names measured by :func:`trajectory`.
DIRECTIONS = ("gd", "sign", "adam", "clip")


# --------------------------------------------------------------------------------------------
# the measures
# --------------------------------------------------------------------------------------------
def sharpness(v: np.ndarray, Hv: np.ndarray) -> float:
    """Directional sharpness ``S(v) = v^T H v / ||v||^2`` (NaN for ``v = 0``)."""
    vv = float(v @ v)
    return float(v @ Hv) / vv if vv > 0 else math.nan


def correlation(g: np.ndarray, v: np.ndarray) -> float:
    """Gradient correlation ``C(v) = g^T v / ||v||`` (NaN for ``v = 0``)."""
    n = float(np.linalg.norm(v))
    return float(g @ v) / n if n > 0 else math.nan


def best_step(g: np.ndarray, v: np.ndarray, Hv: np.ndarray) -> float:
    """``eta* = g^T v / v^T H v``: the step along ``v`` that minimizes the quadratic model."""
    c = float(v @ Hv)
    return float(g @ v) / c if c > 0 else math.inf


def best_decrease(g: np.ndarray, v: np.ndarray, Hv: np.ndarray) -> float:
    """``Delta*(v) = (g^T v)^2 / (2 v^T H v)``: the largest decrease of the quadratic model.

    ``inf`` where ``v^T H v <= 0`` (the model is unbounded below along ``v``).
    """
    c = float(v @ Hv)
    return float(g @ v) ** 2 / (2.0 * c) if c > 0 else math.inf


def directions(g: np.ndarray, frac: float, adam: tuple | None = None) -> dict[str, np.ndarray]:
    """The update directions of GD, sign descent, Adam and coordinate-clipped GD at ``g``.

    Parameters
    ----------
    g : ndarray
        The gradient.
    frac : float
        Clipped fraction ``q`` in [0, 1) of the rank threshold.
    adam : tuple (mhat, vhat, eps), optional
        Bias-corrected Adam moments; default: those of a first step (``mhat = g``,
        ``vhat = g^2``, ``eps = 1e-12``), i.e. about ``sign(g)``.
    """
    if not (0.0 <= frac < 1.0):
        raise ValueError(f"frac must be in [0, 1), got {frac!r}")
    g = np.ascontiguousarray(g, dtype=np.float64)
    clip = np.empty_like(g)
    rank_clip(g, float(frac), clip)
    mh, vh, eps = (g, g * g, 1e-12) if adam is None else adam
    return {"gd": g.copy(), "sign": np.sign(g), "adam": mh / (np.sqrt(vh) + eps), "clip": clip}


# --------------------------------------------------------------------------------------------
# oracles
# --------------------------------------------------------------------------------------------
class QuadraticOracle:
    """``f(x) = 1/2 (x - x*)^T H (x - x*)``.

    Parameters
    ----------
    H : ndarray (d, d) or BlockQuadratic
        Symmetric Hessian, or a Z24 block quadratic (its dense ``H`` and ``w*``).
    x_star : ndarray, optional
        Minimizer (default 0; taken from the BlockQuadratic).
    """

    def __init__(self, H, x_star=None):
        if hasattr(H, "w_star") and hasattr(H, "H"):
            x_star = H.w_star if x_star is None else x_star
            self.name = getattr(H, "name", "quadratic")
            H = H.H
        else:
            self.name = "quadratic"
        H = np.asarray(H, float)
        if H.ndim != 2 or H.shape[0] != H.shape[1] or not np.allclose(H, H.T, rtol=0,
                                                                      atol=1e-12 * np.abs(H).max()):
            raise ValueError("H must be a symmetric square matrix")
        self.H = H
        self.x_star = np.zeros(H.shape[0]) if x_star is None else np.asarray(x_star, float)

    @property
    def dim(self) -> int:
        return self.H.shape[0]

    def grad(self, x):
        return self.H @ (np.asarray(x, float) - self.x_star)

    def hvp(self, x, v):
        return self.H @ v

    def gap(self, x) -> float:
        e = np.asarray(x, float) - self.x_star
        return 0.5 * float(e @ (self.H @ e))


class SpectralQuadratic:
    """``f(x) = 1/2 x^T Q diag(h) Q^T x`` (``x* = 0``) with ``Q`` applied, never stored.

    Parameters
    ----------
    curvatures : array_like
        The eigenvalues ``h_i > 0``.
    z0 : array_like
        Eigen-coordinates of the start: ``x0 = Q z0``.
    rotation : {"identity", "dct"}
        ``Q = I`` (diagonal ``H``), or a dense orthogonal ``Q``: three rounds of random signs
        followed by the orthonormal DCT-II. Every column of ``Q`` is delocalized (entries of
        size about ``1/sqrt(d)``), as for a Haar matrix, at ``O(d log d)`` per product and
        without LAPACK (whose threads stall on loaded 2-core machines).
    seed : int
        Seed of the signs.
    """

    def __init__(self, curvatures, z0, rotation: str = "identity", seed: int = 0,
                 name: str | None = None):
        h = np.asarray(curvatures, float)
        if h.ndim != 1 or h.size < 1 or not np.all(np.isfinite(h) & (h > 0)):
            raise ValueError("curvatures must be a 1-D array of finite numbers > 0")
        if rotation not in ("identity", "dct"):
            raise ValueError(f"rotation must be 'identity' or 'dct', got {rotation!r}")
        self.h = h
        self.rotation = rotation
        self._signs = np.random.default_rng(seed).choice([-1.0, 1.0], (3, h.size))
        self.z0 = np.broadcast_to(np.asarray(z0, float), h.shape).copy()
        self.x0 = self.Q(self.z0)
        self.name = name or f"{'diagonal' if rotation == 'identity' else 'rotated'} quadratic"

    @property
    def dim(self) -> int:
        return self.h.size

    def Q(self, z):
        """``Q z``."""
        if self.rotation == "identity":
            return np.array(z, float)
        from scipy.fft import dct

        y = np.asarray(z, float)
        for s in self._signs:
            y = dct(s * y, norm="ortho")
        return y

    def QT(self, x):
        """``Q^T x``."""
        if self.rotation == "identity":
            return np.array(x, float)
        from scipy.fft import idct

        y = np.asarray(x, float)
        for s in self._signs[::-1]:
            y = s * idct(y, norm="ortho")
        return y

    def grad(self, x):
        return self.Q(self.h * self.QT(x))

    def hvp(self, x, v):
        return self.Q(self.h * self.QT(v))

    def gap(self, x) -> float:
        z = self.QT(x)
        return 0.5 * float(z @ (self.h * z))


@njit(cache=True)
def onehot_hvp(y, pi, v, out):
    """Hessian-vector product of the K24 one-hot model (columns contiguous, as the state).

    Column ``k``'s Hessian is ``pi_k (diag(p) - p p^T)`` with ``p = softmax(W e_k)``; ``p`` comes
    from the one softmax kernel (:func:`~linsim.problems.softmax.softmax_column` gives
    ``p - e_k``).
    """
    c = pi.size
    p = np.empty(c)
    for k in range(c):
        lo = k * c
        softmax_column(y[lo : lo + c], k, 1.0, p)
        p[k] += 1.0
        dot = 0.0
        for j in range(c):
            dot += p[j] * v[lo + j]
        for j in range(c):
            out[lo + j] = pi[k] * p[j] * (v[lo + j] - dot)


class OneHotOracle:
    """The K24 one-hot softmax model (full mode: ``c^2`` weights, column-major as the state).

    The model has no minimizer; :meth:`gap` is the loss itself (``inf f = 0``).
    """

    def __init__(self, model: OneHotModel):
        self.model = model
        self.name = f"K24 one-hot (c = {model.classes}, a = {model.zipf:g})"
        c = model.classes
        self._losses = np.empty(c)

    @property
    def dim(self) -> int:
        return self.model.classes ** 2

    def grad(self, x):
        g = np.empty(self.dim)
        onehot_loss_grad(np.ascontiguousarray(x, float), self.model.pi, g, self._losses)
        return g

    def hvp(self, x, v):
        out = np.empty(self.dim)
        onehot_hvp(np.ascontiguousarray(x, float), self.model.pi,
                   np.ascontiguousarray(v, float), out)
        return out

    def gap(self, x) -> float:
        self.grad(x)
        return float(self.model.pi @ self._losses)


class FiniteDifference:
    """Wrap an oracle: ``hvp`` by central differences of its gradient.

    ``H v ~ (g(x + h u) - g(x - h u)) / (2 h) ||v||`` with ``u = v/||v||`` and
    ``h = step * (1 + ||x||)``. Exact up to rounding on quadratics.
    """

    def __init__(self, oracle, step: float = 1e-5):
        self.oracle = oracle
        self.step = float(step)
        self.name = f"{getattr(oracle, 'name', 'oracle')} (finite-difference hvp)"

    @property
    def dim(self) -> int:
        return self.oracle.dim

    def grad(self, x):
        return self.oracle.grad(x)

    def gap(self, x) -> float:
        return self.oracle.gap(x)

    def hvp(self, x, v):
        n = float(np.linalg.norm(v))
        if n == 0:
            return np.zeros_like(v)
        h = self.step * (1.0 + float(np.linalg.norm(x)))
        u = v / n
        return (self.oracle.grad(x + h * u) - self.oracle.grad(x - h * u)) * (n / (2 * h))


def measure(oracle, x, dirs: dict[str, np.ndarray], g=None) -> dict[str, dict[str, float]]:
    """``S``, ``C``, ``eta*`` and ``Delta*`` of each direction at ``x``."""
    g = oracle.grad(x) if g is None else g
    out = {}
    for name, v in dirs.items():
        Hv = oracle.hvp(x, v)
        out[name] = {"S": sharpness(v, Hv), "C": correlation(g, v),
                     "eta": best_step(g, v, Hv), "delta": best_decrease(g, v, Hv)}
    return out


# --------------------------------------------------------------------------------------------
# along a trajectory
# --------------------------------------------------------------------------------------------
@dataclass
class Trajectory:
    """Sharpness measures along a trajectory (:func:`trajectory`).

    ``S[name]``, ``C[name]``, ``delta[name]``, ``eta[name]`` are arrays over the recorded steps
    ``steps``; ``gap`` is ``f - f*`` there.
    """

    problem: str
    method: str
    lr: float
    frac: float
    steps: np.ndarray
    gap: np.ndarray
    S: dict = field(default_factory=dict)
    C: dict = field(default_factory=dict)
    delta: dict = field(default_factory=dict)
    eta: dict = field(default_factory=dict)

    def ratio(self, num: str, den: str = "gd", what: str = "S") -> np.ndarray:
        """``what[num] / what[den]`` along the trajectory."""
        d = getattr(self, what)
        return d[num] / d[den]

    def summary(self) -> dict:
        def med(a):
            a = np.asarray(a, float)
            a = a[np.isfinite(a)]
            return float(np.median(a)) if a.size else None

        return {"problem": self.problem, "method": self.method, "lr": self.lr,
                "frac": self.frac, "recorded": int(self.steps.size),
                "final_gap": float(self.gap[-1]),
                "median_S": {k: med(v) for k, v in self.S.items()},
                "median_S_ratio_to_gd": {k: med(self.ratio(k)) for k in self.S},
                "median_delta_ratio_to_gd": {k: med(self.ratio(k, what="delta"))
                                             for k in self.delta}}


def trajectory(oracle, x0, *, steps: int, lr: float, method: str = "gd", frac: float = 0.1,
               beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-12,
               points: int = 60) -> Trajectory:
    """Run ``method`` from ``x0`` and measure every direction at log-spaced steps.

    Parameters
    ----------
    oracle : QuadraticOracle, OneHotOracle, FiniteDifference or alike
    x0 : array_like
    steps : int
        Number of steps, >= 1.
    lr : float
        Step size, > 0.
    method : {"gd", "sign", "adam", "clip"}
        The optimizer that moves (its own direction times ``lr``).
    frac : float
        Clipped fraction of the rank threshold (direction ``clip``).
    beta1, beta2, eps : float
        Adam's moments, accumulated along the trajectory from the observed gradients whatever
        ``method`` moves (bias-corrected), so the Adam direction is the one Adam would take
        after the same gradient history.
    points : int
        Number of recorded steps (log-spaced, always including step 0).
    """
    if method not in DIRECTIONS:
        raise ValueError(f"method must be one of {', '.join(DIRECTIONS)}, got {method!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    for name, b in (("beta1", beta1), ("beta2", beta2)):
        if not (0.0 <= b < 1.0):
            raise ValueError(f"{name} must be in [0, 1), got {b!r}")
    rec = np.unique(np.concatenate([[0], np.round(np.logspace(0, np.log10(steps),
                                                               points)).astype(int)]))
    rec = rec[rec < steps]
    x = np.array(x0, dtype=float)
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    tr = Trajectory(getattr(oracle, "name", "problem"), method, float(lr), float(frac), rec,
                    np.empty(rec.size), **{k: {n: np.empty(rec.size) for n in DIRECTIONS}
                                           for k in ("S", "C", "delta", "eta")})
    j = 0
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is an exception
        for k in range(steps):
            g = oracle.grad(x)
            if not math.isfinite(float(g @ g)):
                raise FloatingPointError(f"{method} with lr = {lr:g} diverged before step {k}")
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g * g
            recording = j < rec.size and k == rec[j]
            if recording or method == "adam":
                mh = m / (1 - beta1 ** (k + 1))
                vh = v / (1 - beta2 ** (k + 1))
            if recording:
                dirs = directions(g, frac, (mh, vh, eps))
                tr.gap[j] = oracle.gap(x)
                for name, res in measure(oracle, x, dirs, g).items():
                    tr.S[name][j] = res["S"]
                    tr.C[name][j] = res["C"]
                    tr.delta[name][j] = res["delta"]
                    tr.eta[name][j] = res["eta"]
                j += 1
                step = dirs[method]
            elif method == "gd":
                step = g
            elif method == "sign":
                step = np.sign(g)
            elif method == "adam":
                step = mh / (np.sqrt(vh) + eps)
            else:
                step = np.empty_like(g)
                rank_clip(g, float(frac), step)
            x = x - lr * step
    if not np.all(np.isfinite(x)):
        raise FloatingPointError(f"{method} with lr = {lr:g} diverged")
    return tr
