"""The KB25 linear bigram model under Zipf's law (THEORY.md, "KB25").

Token pairs ``(i, j)`` with one-hot ``X, Y`` in ``{0,1}^(n x d)``, weights ``W`` in ``R^(d x d)``,
``L(W) = (1/2n) ||X W - Y||_F^2``. With ``pi_i`` the marginal frequency of token ``i`` and
``C_ij = pi_(j|i)`` the conditional frequency of ``j`` after ``i``,

    L(W) = 1/2 - sum_ij pi_i C_ij W_ij + (1/2) sum_i pi_i ||w_i||^2,
    grad L = diag(pi) (W - C),  W* = C,  L - L* = (1/2) sum_ij pi_i (W_ij - C_ij)^2,

so the model splits into ``d^2`` independent coordinates: coordinate ``(i, j)`` has curvature
``pi_i`` and, from ``W = 0``, distance ``C_ij`` to the minimizer. The relative error is
``r = (L - L*)/(L(0) - L*)``.

Three levels, each checked against the one below it (KB25.reduce):

1. :class:`BigramModel`: the full ``d x d`` model, its loss and gradient, and discrete gradient
   descent and sign descent on all ``d^2`` weights (:func:`run_full`; ``d`` up to about 2000).
2. The exact one-dimensional reductions (:func:`gd_relative_error`,
   :func:`sign_relative_error`): GD's ``r(t)`` is a sum of geometric terms over the rows,
   ``sum_i w_i (1 - eta pi_i)^(2t) / sum_i w_i`` with ``w_i = pi_i ||c_i||^2``, which depends on
   the marginals only when every row has the same ``||c_i||`` (every row a permutation of the
   same conditionals); sign descent moves each coordinate by ``+-eta`` towards ``C_ij``
   whatever ``pi_i``, so under the same assumption its ``r`` depends on the conditionals only.
3. Fast evaluators of those reductions for power laws up to ``d = 10^7`` and beyond
   (:func:`gd_curve`, :func:`sd_power_error`), used by the time-to-eps searches of
   :mod:`linsim.experiments.kb25`.

Sign descent with a constant step ``eta`` from 0 towards a target ``c > 0``: the iterate is
``t eta`` until ``m = floor(c/eta)`` steps, then alternates between ``m eta`` and
``(m+1) eta``. :data:`SD_OUTPUTS` names what is measured at the horizon ``T``: ``"average"``
(the mean of the last two iterates, which sits at ``(m + 1/2) eta`` once the coordinate
oscillates), ``"last"`` (the raw iterate) and ``"even"`` (the raw iterate, horizons even only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

__all__ = [
    "SD_OUTPUTS",
    "BigramModel",
    "gd_curve",
    "gd_relative_error",
    "gf_relative_error",
    "halving_steps",
    "power_sum",
    "run_full",
    "sd_halving_error",
    "sd_power_error",
    "sd_power_errors",
    "sf_relative_error",
    "sign_positions",
    "sign_relative_error",
]

#: What sign descent reports at the horizon T (see the module docstring).
SD_OUTPUTS = ("average", "last", "even")
_OUT_CODE = {"average": 0, "last": 1, "even": 1}


# ----------------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class BigramModel:
    """The full linear bigram model with marginals ``pi`` and conditionals ``C``.

    Parameters
    ----------
    pi : ndarray, shape (d,)
        Marginal frequencies of the first token (positive, summing to 1).
    C : ndarray, shape (d, d)
        Row ``i`` holds the conditional frequencies ``pi_(j|i)`` (non-negative rows summing to
        1).
    """

    pi: np.ndarray
    C: np.ndarray

    def __post_init__(self):
        pi = np.asarray(self.pi, dtype=np.float64)
        C = np.asarray(self.C, dtype=np.float64)
        d = pi.size
        if pi.ndim != 1 or d < 2 or C.shape != (d, d):
            raise ValueError(f"pi must have shape (d,) with d >= 2 and C shape (d, d), got "
                             f"{pi.shape} and {C.shape}")
        if not (np.all(np.isfinite(pi)) and np.all(pi > 0)):
            raise ValueError("pi must hold finite numbers > 0")
        if not (np.all(np.isfinite(C)) and np.all(C >= 0)):
            raise ValueError("C must hold finite numbers >= 0")
        object.__setattr__(self, "pi", pi)
        object.__setattr__(self, "C", C)

    @property
    def d(self) -> int:
        """Vocabulary size."""
        return self.pi.size

    @classmethod
    def zipf(cls, d: int, alpha: float, cond_alpha=None, seed: int = 0) -> BigramModel:
        """Zipf marginals ``pi_k ~ k^-alpha`` and rows of conditionals that are random
        permutations of ``~ k^-a_i`` (``a_i = cond_alpha``, default ``alpha``; an array gives
        each row its own exponent, which breaks the KB25 assumption)."""
        from .zipf import zipf_frequencies

        pi = zipf_frequencies(d, alpha)
        a = np.broadcast_to(np.asarray(alpha if cond_alpha is None else cond_alpha, float), (d,))
        rng = np.random.default_rng(seed)
        C = np.empty((d, d))
        for i in range(d):
            C[i] = zipf_frequencies(d, float(a[i]))[rng.permutation(d)]
        return cls(pi, C)

    @classmethod
    def from_counts(cls, counts) -> BigramModel:
        """The model of a ``d x d`` table of pair counts ``N_ij`` (every row with a count)."""
        N = np.asarray(counts, dtype=np.float64)
        rows = N.sum(axis=1)
        if N.ndim != 2 or N.shape[0] != N.shape[1] or np.any(rows <= 0):
            raise ValueError("counts must be a square table whose every row has a count > 0")
        return cls(rows / rows.sum(), N / rows[:, None])

    def loss(self, W: np.ndarray) -> float:
        """``L(W) = (1/2n) ||XW - Y||_F^2`` for the pairs of these frequencies."""
        P = self.pi[:, None] * self.C
        return float(0.5 - np.sum(P * W) + 0.5 * np.sum(self.pi * np.sum(W * W, axis=1)))

    def grad(self, W: np.ndarray) -> np.ndarray:
        """``grad L = diag(pi) (W - C)``."""
        return self.pi[:, None] * (W - self.C)

    def gap(self, W: np.ndarray) -> float:
        """``L(W) - L* = (1/2) sum_ij pi_i (W_ij - C_ij)^2`` (computed without cancellation)."""
        E = W - self.C
        return float(0.5 * np.sum(self.pi * np.sum(E * E, axis=1)))

    @property
    def gap0(self) -> float:
        """``L(0) - L*``."""
        return float(0.5 * np.sum(self.pi * np.sum(self.C * self.C, axis=1)))

    def relative_error(self, W: np.ndarray) -> float:
        """``r = (L(W) - L*)/(L(0) - L*)``."""
        return self.gap(W) / self.gap0

    @property
    def row_weights(self) -> np.ndarray:
        """``w_i = pi_i ||c_i||^2``: the weight of row ``i`` in GD's relative error."""
        return self.pi * np.sum(self.C * self.C, axis=1)


def halving_steps(T: int, top: float) -> np.ndarray:
    """The halving schedule ``eta_t = top 2^-(t+1)``, ``t = 0..T-1``: from 0, sign descent then
    bisects ``[0, top]`` in every coordinate, so ``|x_T - c| <= top 2^-T`` for ``0 < c <= top``
    (KB25.sd-sqrt)."""
    return top * 0.5 ** np.arange(1, T + 1, dtype=np.float64)


def run_full(model: BigramModel, method: str, steps, average: bool = False) -> np.ndarray:
    """Discrete GD or sign descent on all ``d^2`` weights from ``W = 0``.

    Parameters
    ----------
    model : BigramModel
    method : {"gd", "sign"}
    steps : array_like
        The step ``eta_t`` of each iteration ``t = 0..T-1`` (a constant step repeated, a step
        tuned to the horizon, or :func:`halving_steps`).
    average : bool
        Report the relative error of the mean of the last two iterates (``(W_(t-1) + W_t)/2``;
        at ``t = 0`` the iterate itself) instead of the iterate.

    Returns
    -------
    ndarray, shape (T + 1,)
        ``r(t)`` for ``t = 0..T``.
    """
    steps = np.asarray(steps, dtype=np.float64)
    if method not in ("gd", "sign"):
        raise ValueError(f"method must be 'gd' or 'sign', got {method!r}")
    W = np.zeros_like(model.C)
    prev = W.copy()
    out = np.empty(steps.size + 1)
    out[0] = model.relative_error(W)
    pi = model.pi[:, None]
    for t, eta in enumerate(steps):
        g = pi * (W - model.C)
        if average:
            prev[...] = W
        W = W - eta * (g if method == "gd" else np.sign(g))
        out[t + 1] = model.relative_error(0.5 * (W + prev) if average else W)
    return out


# ------------------------------------------------------------------ exact one-dimensional forms


def gd_relative_error(t, curvature, weights, eta: float) -> np.ndarray:
    """GD's exact relative error ``sum_i w_i (1 - eta pi_i)^(2t) / sum_i w_i`` (KB25.reduce).

    ``curvature`` are the ``pi_i`` (one per row), ``weights`` the ``w_i = pi_i ||c_i||^2``
    (:attr:`BigramModel.row_weights`; proportional to ``pi_i`` under the KB25 assumption).
    ``t`` may be real (an array); ``t = 0`` gives 1.
    """
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    pi = np.asarray(curvature, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    q = np.abs(1.0 - eta * pi)
    with np.errstate(divide="ignore"):
        lq = np.log(q)
    out = np.empty(t.size)
    for n, tt in enumerate(t):
        out[n] = 1.0 if tt == 0 else float(np.sum(w * np.exp(2.0 * tt * lq)) / np.sum(w))
    return out


def gf_relative_error(t, curvature, weights) -> np.ndarray:
    """Gradient flow ``W' = -grad L``: ``r(t) = sum_i w_i e^(-2 pi_i t) / sum_i w_i`` (the
    small-step limit of :func:`gd_relative_error` at ``t/eta`` steps)."""
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    pi = np.asarray(curvature, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    return np.exp(-2.0 * t[:, None] * pi[None, :]) @ w / np.sum(w)


def sf_relative_error(t, targets) -> np.ndarray:
    """Sign flow ``W' in -Sgn(grad L)`` (Filippov): every coordinate moves at unit speed to its
    target and sticks there, so ``r(t) = sum_k (c_k - t)_+^2 / sum_k c_k^2``, zero from
    ``t = max c``: the d-dependence of sign descent is the discrete oscillation alone."""
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    c = np.asarray(targets, dtype=np.float64)
    e = np.maximum(c[None, :] - t[:, None], 0.0)
    return np.sum(e * e, axis=1) / np.sum(c * c)


def sign_positions(targets, steps) -> np.ndarray:
    """Sign descent on one coordinate per target, from 0: ``x_(t+1) = x_t + eta_t sign(c - x_t)``.

    Returns the iterates, shape ``(T + 1, len(targets))``.
    """
    c = np.asarray(targets, dtype=np.float64)
    steps = np.asarray(steps, dtype=np.float64)
    x = np.zeros((steps.size + 1, c.size))
    for t, eta in enumerate(steps):
        x[t + 1] = x[t] + eta * np.sign(c - x[t])
    return x


def sign_relative_error(targets, steps, average: bool = False) -> np.ndarray:
    """Sign descent's exact relative error ``sum_k (c_k - x_k(t))^2 / sum_k c_k^2`` over the
    distinct conditionals ``c_k`` of one row (KB25.reduce: under the KB25 assumption every row
    holds the same values, and ``pi_i`` never enters a sign step).

    ``average``: the mean of the last two iterates, as in :func:`run_full`.
    """
    c = np.asarray(targets, dtype=np.float64)
    x = sign_positions(c, steps)
    if average:
        x = np.concatenate([x[:1], 0.5 * (x[1:] + x[:-1])])
    e = c[None, :] - x
    return np.sum(e * e, axis=1) / np.sum(c * c)


# --------------------------------------------------------- fast forms for power laws, any d


_B2J = (1.0 / 6.0, -1.0 / 30.0, 1.0 / 42.0)  # Bernoulli numbers B_2, B_4, B_6
_FACT = (2.0, 24.0, 720.0)  # (2j)!
_DIRECT = 64  # sums over fewer terms are added term by term


@njit(cache=True)
def _power_sum(s, a, b):
    """``sum_{k=a}^{b} k^-s`` for integers ``1 <= a``: term by term below ``_DIRECT`` terms
    or for ``a < _DIRECT``, else Euler-Maclaurin with three Bernoulli corrections (remainder
    below ``1e-20`` relative for ``a >= 64``)."""
    if b < a:
        return 0.0
    total = 0.0
    k = a
    while k <= b and (k < _DIRECT or b - a < _DIRECT):
        total += k ** -s
        k += 1
    if k > b:
        return total
    A, B = float(k), float(b)
    lr = math.log(B / A)
    if s == 1.0:
        integral = lr
    else:
        integral = A ** (1.0 - s) * math.expm1((1.0 - s) * lr) / (1.0 - s)
    total += integral + 0.5 * (A ** -s + B ** -s)
    # f^(2j-1)(x) = -s (s+1) ... (s+2j-2) x^(-s-2j+1)
    coef = -s
    for j in range(3):
        if j > 0:
            coef *= (s + 2 * j - 1) * (s + 2 * j)
        p = s + 2 * j + 1
        total += _B2J[j] / _FACT[j] * coef * (B ** -p - A ** -p)
    return total


def power_sum(s: float, a: int, b: int) -> float:
    """``sum_{k=a}^{b} k^-s`` (exact to rounding for any ``b``, at constant cost)."""
    return float(_power_sum(float(s), int(a), int(b)))


@njit(cache=True)
def _last_index(alpha, level, d):
    """Largest ``k <= d`` with ``k^-alpha >= level`` (0 if none)."""
    if level <= 0.0:
        return d
    if level > 1.0:
        return 0
    k = int(min(float(d), math.floor(level ** (-1.0 / alpha))))
    while k >= 1 and k ** -alpha < level:
        k -= 1
    while k < d and (k + 1) ** -alpha >= level:
        k += 1
    return k


@njit(cache=True)
def _sd_power_error(alpha, d, T, eta, out, halving=False):
    """``sum_k e_k^2`` for ``c_k = k^-alpha`` (k = 1..d) after ``T`` constant sign steps of
    ``eta`` from 0; ``out`` 0: mean of the last two iterates, 1: the raw iterate.

    Coordinates are grouped by ``m = floor(c/eta)``: within a group every error is ``c - a``
    with one ``a``, so a group costs three power sums (:func:`_power_sum`). The first
    ``k_direct`` coordinates (groups of fewer than about 32) are added one by one. A target hit
    exactly (``c = m eta``) stays there; under ``halving`` the iterates are midpoints, which never
    hit ``c_1 = 1``.
    """
    total = 0.0
    k_direct = int(min(float(d), max(100.0, (32.0 * alpha / eta) ** (1.0 / (1.0 + alpha)))))
    half = 0.5 * eta
    for k in range(1, k_direct + 1):
        c = k ** -alpha
        m = math.floor(c / eta)
        if m >= T:
            a = (T - 0.5) * eta if out == 0 else T * eta
        elif out == 0:
            a = m * eta + half
        else:
            a = m * eta + eta * ((T - m) % 2)
        if c == m * eta and m < T and not (halving and c >= 1.0):
            a = c  # reached exactly: sign(0) = 0 keeps it there
        e = c - a
        total += e * e
    k = k_direct + 1
    while k <= d:
        c = k ** -alpha
        m = math.floor(c / eta)
        k_hi = d if m == 0 else _last_index(alpha, m * eta, d)
        if k_hi < k:
            k_hi = k
        if m >= T:
            a = (T - 0.5) * eta if out == 0 else T * eta
        elif out == 0:
            a = m * eta + half
        else:
            a = m * eta + eta * ((T - m) % 2)
        n = k_hi - k + 1
        c_hi = k_hi ** -alpha
        if m > 0 and m < T and c_hi == m * eta:
            total -= (c_hi - a) * (c_hi - a)  # reached exactly: sign(0) = 0 keeps it there
        s2 = _power_sum(2.0 * alpha, k, k_hi)
        s1 = _power_sum(alpha, k, k_hi)
        total += s2 - 2.0 * a * s1 + a * a * n
        k = k_hi + 1
    return total


def sd_power_error(alpha: float, d: int, T: int, eta: float, output: str = "average") -> float:
    """Sign descent's exact relative error on the power-law conditionals ``c_k = k^-alpha``,
    ``k = 1..d``, after ``T`` constant steps ``eta`` (in units of ``c_1 = 1``), at constant cost
    in ``d``. ``output`` is one of :data:`SD_OUTPUTS` (``"even"`` reads as ``"last"``)."""
    num = _sd_power_error(float(alpha), int(d), int(T), float(eta), _OUT_CODE[output])
    return num / power_sum(2.0 * alpha, 1, d)


@njit(cache=True)
def _sd_power_errors(alpha, d, T, etas, out):
    res = np.empty(etas.size)
    for i in range(etas.size):
        res[i] = _sd_power_error(alpha, d, T, etas[i], out)
    return res


def sd_power_errors(alpha: float, d: int, T: int, etas, output: str = "average") -> np.ndarray:
    """:func:`sd_power_error` at every step of ``etas`` (one compiled loop)."""
    num = _sd_power_errors(float(alpha), int(d), int(T), np.asarray(etas, np.float64),
                           _OUT_CODE[output])
    return num / power_sum(2.0 * alpha, 1, d)


def sd_halving_error(alpha: float, d: int, T: int) -> float:
    """Sign descent's exact relative error on ``c_k = k^-alpha`` after ``T`` steps of the
    halving schedule :func:`halving_steps` with ``top = c_1 = 1`` (the raw iterate).

    After ``T`` halvings the iterate is the midpoint ``(m + 1/2) eta`` of the dyadic interval of
    length ``eta = 2^(1-T)`` that holds ``c`` (or ``c`` itself if an earlier midpoint hit it):
    the grouped sums of :func:`sd_power_error` with every coordinate reached.
    """
    eta = 2.0 ** (1 - int(T))
    num = _sd_power_error(float(alpha), int(d), 2**62, eta, 0, True)
    return num / power_sum(2.0 * alpha, 1, d)


@njit(cache=True)
def _gd_sum(x, lq, t, n):
    """``sum_{k<n} x_k exp(2 t lq_k)``, skipping the underflowing head."""
    s = 0.0
    for k in range(n):
        v = 2.0 * t * lq[k]
        if v > -745.0:
            s += x[k] * math.exp(v)
    return s


class gd_curve:
    """GD's exact relative error ``r_d(t) = sum_{k<=d} x_k (1 - x_k)^(2t) / sum_{k<=d} x_k`` for
    the marginals ``x_k = pi_k / pi_1`` (step ``eta = 1/pi_1``), for every prefix ``d``.

    ``x`` sorted non-increasing; for Zipf ``x_k = k^-alpha`` (:meth:`power`). Evaluated with
    NumPy's vectorized ``exp`` in blocks.
    """

    def __init__(self, x):
        x = np.asarray(x, dtype=np.float64)
        self.x = x
        with np.errstate(divide="ignore"):
            self.lq = np.log1p(-x)
        self.cum = np.cumsum(x)

    @classmethod
    def power(cls, alpha: float, d: int) -> gd_curve:
        """The Zipf marginals ``x_k = k^-alpha``, ``k = 1..d``."""
        return cls(np.arange(1, int(d) + 1, dtype=np.float64) ** -float(alpha))

    def __call__(self, t: float, d: int | None = None) -> float:
        n = self.x.size if d is None else int(d)
        if t <= 0:
            return 1.0
        # the head with 2 t lq < -745 underflows: start where it stops
        k0 = int(np.searchsorted(self.lq[:n], -745.0 / (2.0 * t), side="left"))
        s = 0.0
        block = 1 << 20
        for a in range(k0, n, block):
            b = min(n, a + block)
            s += float(np.dot(self.x[a:b], np.exp(2.0 * t * self.lq[a:b])))
        return s / float(self.cum[n - 1])
