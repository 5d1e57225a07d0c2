"""The K24 general linear softmax model: inputs ``X`` (n x d), labels, weights ``W`` (c x d), bias.

THEORY.md, "Gradient and Hessian of the general linear model" (Proposition 2 of K24) and "The
linear-model experiment" (Section 2 of K24). Per sample ``p(x) = softmax(W x + b)`` and the loss
``-log p_y(x)``; the full-batch loss is ``L = (1/n) sum_i -log p_{y_i}(x_i) = sum_k pi_k l_k``
with ``pi_k = n_k / n`` and ``l_k`` the mean loss of the samples of class ``k``.

The bias is stored as an extra input column of ones: the model holds ``A = [X | 1]``
(n x D, ``D = d + 1``) and one weight matrix ``W = [W | b]`` (c x D); so the logits are one
BLAS product ``Z = A W^T`` and the gradient another, ``G = (P - Y)^T A / n``. Everything below
works on ``W`` of shape ``(c, D)`` or on a *stack* ``(k, c, D)`` of ``k`` models that share the
data: the stack is multiplied as one ``(k c) x D`` matrix, which keeps BLAS efficient when ``c``
is small and lets several optimizers (or step sizes) advance in lockstep. Methods whose steps
are linear combinations of gradients can also advance on the logits alone: the Gram matrix
``K = A A^T`` (:attr:`LinearModel.gram`) maps residuals to logit moves, and
:meth:`LinearModel.loss_logits` is the softmax half of :meth:`LinearModel.loss_grad`.

The softmax of each row of ``Z`` goes through the one softmax kernel of linsim,
:func:`linsim.problems.softmax.softmax_column` (stable for logits of any size, ``1 - p`` kept
exact): an ``n x c`` softmax costs about ``n c`` kernel exponentials (2.5 ns each), negligible
beside the two ``n d c`` products, so a NumPy log-sum-exp (several passes over ``Z``) buys
nothing here.

Second order (exact, checked against finite differences in the tests): Hessian block
``H_kj = (1/n) sum_i p_ik (1[k=j] - p_ij) a_i a_i^T``; :meth:`LinearModel.block_traces`
(``tr H_kk``, and all ``tr H_kj``), :meth:`LinearModel.hvp` (Hessian-vector products, two
products), :meth:`LinearModel.hessian_block` and :meth:`LinearModel.hessian` (dense, small
problems).

Datasets (all seeded): :func:`heavy_tailed_labels` (the paper's "random heavy-tailed labels",
``m`` groups, Uniform[0, 1) inputs) and :func:`gaussian_mixture` (Gaussian classes with Zipf
frequencies).

Flows: :func:`linear_field` and :func:`linear_summary` are the right-hand side and output
function of the general model for :func:`linsim.integrate.solve` under any flow of
:mod:`linsim.flows` (the data travel flattened in the parameter vector: small problems only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from ..flows import HEADER, apply_flow, pack
from ..integrate import vector_field
from . import zipf
from .softmax import softmax_column

#: float32 mode: residuals below this are set to 0 (see :meth:`LinearModel.loss_grad`).
_F32_FLUSH = 1e-30

__all__ = ["LinearData", "LinearModel", "heavy_tailed_labels", "gaussian_mixture",
           "heavy_tailed_means",
           "heavy_tailed_sizes", "linear_field", "linear_summary", "rows_softmax",
           "rows_probs", "rows_curvature"]


# --------------------------------------------------------------------------------------------
# compiled kernels
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def rows_softmax(Z, y, blocks, weight, R, class_sums, flush=0.0):
    """Row-wise softmax cross-entropy of ``blocks`` models side by side, through the one kernel.

    ``Z`` is ``(n, blocks * c)``: row ``i`` holds the logits of sample ``i`` under each model,
    model ``b`` in columns ``b c .. (b+1) c - 1``. ``R`` (same shape) receives
    ``weight * (softmax - e_y)`` per model; ``class_sums[b, k]`` the sum of the losses
    ``-log p_y`` of the samples of class ``k`` under model ``b`` (in sample order: reproducible).
    Entries of ``R`` below ``flush`` in size are set to 0 (float32 mode: no subnormals).
    """
    n = Z.shape[0]
    c = Z.shape[1] // blocks
    class_sums[:, :] = 0.0
    for i in range(n):
        yi = y[i]
        for b in range(blocks):
            lo = b * c
            r = R[i, lo : lo + c]
            class_sums[b, yi] += softmax_column(Z[i, lo : lo + c], yi, weight, r)
            if flush > 0.0:
                for j in range(c):
                    if abs(r[j]) < flush:
                        r[j] = 0.0


@njit(cache=True)
def rows_probs(Z, P, om):
    """Row-wise ``P = softmax(Z)`` through the one kernel, and ``om[i] = 1 - max_k P[i, k]``.

    The kernel is called with the target at the row's arg-max, where it returns ``p_max - 1``
    without cancellation (as :func:`linsim.problems.softmax.unigram_grad` does): every
    ``p_k`` and the one ``1 - p_k`` that can be tiny (at the arg-max) keep their relative
    accuracy, whatever the label.
    """
    n, c = Z.shape
    for i in range(n):
        row = Z[i]
        im = 0
        for k in range(1, c):
            if row[k] > row[im]:
                im = k
        softmax_column(row, im, 1.0, P[i])
        om[i] = -P[i, im]
        P[i, im] = 1.0 - om[i]


@njit(cache=True)
def rows_curvature(P, om, w, q):
    """``q[k] = sum_i p_ik (1 - p_ik) w_i``, with ``1 - p`` at each row's arg-max from ``om``."""
    n, c = P.shape
    q[:] = 0.0
    for i in range(n):
        pmax = 1.0 - om[i]
        for k in range(c):
            p = P[i, k]
            if p == pmax and p > 0.5:
                pq = p * om[i]
            else:
                pq = p * (1.0 - p)
            q[k] += pq * w[i]


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LinearData:
    """Inputs with a column of ones appended, labels, and the class groups of a dataset.

    Attributes
    ----------
    Xa : ndarray
        ``(n, d + 1)``: the inputs ``X`` in the first ``d`` columns, ones in the last (the bias
        input). Stored once, so the model needs no second copy of ``X`` (at ``m = 11`` ``X``
        holds 4.4 GB in float64).
    y : ndarray
        ``(n,)`` int64 labels in ``0 .. c-1``; class 0 is the most frequent.
    classes : int
        ``c``.
    groups : ndarray
        ``(c,)`` group label of each class (equal-mass groups, most frequent first).
    name : str
    params : dict
        The generator's arguments (seed included), for reports.
    """

    Xa: np.ndarray
    y: np.ndarray
    classes: int
    groups: np.ndarray
    name: str
    params: dict = field(default_factory=dict)

    @property
    def X(self) -> np.ndarray:
        """The inputs ``(n, d)`` (a view of :attr:`Xa`)."""
        return self.Xa[:, :-1]

    @property
    def n(self) -> int:
        return self.Xa.shape[0]

    @property
    def d(self) -> int:
        return self.Xa.shape[1] - 1

    @property
    def counts(self) -> np.ndarray:
        """Samples per class."""
        return np.bincount(self.y, minlength=self.classes)

    @property
    def pi(self) -> np.ndarray:
        """Class frequencies ``n_k / n``."""
        return self.counts / self.n

    @property
    def n_groups(self) -> int:
        return int(self.groups.max()) + 1


def _check_int(value, name: str, lo: int, hi: int | None = None) -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or value < lo or (hi is not None and value > hi):
        rng = f"an integer in [{lo}, {hi}]" if hi is not None else f"an integer >= {lo}"
        raise ValueError(f"{name} must be {rng}, got {value!r}")
    return int(value)


def _check_dtype(dtype) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError(f"dtype must be float64 or float32, got {dt}")
    return dt


def heavy_tailed_sizes(m: int) -> dict[str, int]:
    """Sizes of the ``m``-group "random heavy-tailed labels" set (THEORY.md).

    ``c = 2^m - 1`` classes, ``n = m 2^m`` samples, ``d = (m + 1) 2^m`` input dimensions.
    """
    m = _check_int(m, "m", 1, 20)
    return {"m": m, "classes": 2**m - 1, "n": m * 2**m, "d": (m + 1) * 2**m}


def _uniform_rows(rng: np.random.Generator, out: np.ndarray, chunk_bytes: int = 1 << 26) -> None:
    """Fill ``out[:, :-1]`` with Uniform[0, 1) float64 draws (row by row, in chunks of rows,
    rounded to ``out.dtype``) and ``out[:, -1]`` with ones. The draws do not depend on the
    chunk size or the dtype: float32 data are the float64 data rounded."""
    n, D = out.shape
    d = D - 1
    rows = max(1, chunk_bytes // (8 * max(d, 1)))
    for lo in range(0, n, rows):
        hi = min(n, lo + rows)
        out[lo:hi, :d] = rng.random((hi - lo, d))
    out[:, d] = 1.0


def heavy_tailed_labels(m: int, seed: int = 0, dtype=np.float64) -> LinearData:
    """The paper's "random heavy-tailed labels" set with ``m`` groups (THEORY.md, K24 Section 2).

    Group ``i`` (``0 .. m-1``) has ``2^i`` classes of ``2^(m-i)`` samples each, so every group
    holds ``2^m`` samples (the groups have equal mass) and class frequencies fall like a step
    Zipf law; inputs are i.i.d. Uniform[0, 1), independent of the label.

    Parameters
    ----------
    m : int
        Number of groups, 1..20 (``m = 7``: c = 127, n = 896, d = 1024; ``m = 11``, the paper's
        size: c = 2047, n = 22528, d = 24576).
    seed : int
        Seed of NumPy's default generator (PCG64).
    dtype : float64 or float32
        Storage of the inputs (float32 inputs are the float64 draws rounded).

    Returns
    -------
    LinearData
        Samples sorted by class; ``groups`` are the ``m`` construction groups.
    """
    sz = heavy_tailed_sizes(m)
    dt = _check_dtype(dtype)
    seed = _check_int(seed, "seed", 0)
    c, n, d = sz["classes"], sz["n"], sz["d"]
    groups = np.repeat(np.arange(m), 2 ** np.arange(m))  # class -> group
    per_class = 2 ** (m - groups)  # samples of each class
    y = np.repeat(np.arange(c, dtype=np.int64), per_class)
    Xa = np.empty((n, d + 1), dtype=dt)
    _uniform_rows(np.random.default_rng(seed), Xa)
    return LinearData(Xa, y, c, groups.astype(np.intp), f"heavy-tailed labels (m = {m})",
                      {"dataset": "heavy_tailed", "m": m, "seed": seed, "dtype": dt.name})


def heavy_tailed_means(m: int, d: int = 64, noise: float = 1.0, seed: int = 0,
                       frequencies: str = "heavy_tailed", centred: bool = False) -> LinearData:
    """Class-dependent inputs with the class frequencies of :func:`heavy_tailed_labels`.

    THEORY.md, K24.assignment: "class k's inputs have their own mean mu_k, ||mu_k|| equal for
    all k, e.g. x = mu_y + noise". Group ``i`` (``0 .. m-1``) has ``2^i`` classes of
    ``2^(m-i)`` samples each (``c = 2^m - 1``, ``n = m 2^m``, ``c pi_k = (2^m - 1) / (m 2^i)``);
    ``mu_k`` are independent uniform directions on the unit sphere of ``R^d`` (``||mu_k|| = 1``
    exactly) and ``x = mu_y + noise * g / sqrt(d)`` with ``g`` standard normal (noise of norm
    about ``noise``).

    Parameters
    ----------
    m : int
        Number of groups, 2..14.
    d : int
        Input dimension ``>= 1``.
    noise : float
        Typical norm of the noise, ``>= 0``.
    seed : int
    frequencies : {"heavy_tailed", "uniform"}
        ``"uniform"`` gives every class ``m 2^m / c`` samples (rounded; the negative control
        of K24.assignment: every ``c pi_k`` is then about 1).
    centred : bool
        Draw ``x = noise * g / sqrt(d)`` with no class mean (``mu_k = 0``): inputs independent
        of the label (a negative control).

    Returns
    -------
    LinearData
        Samples sorted by class; ``groups`` are the ``m`` construction groups.
    """
    m = _check_int(m, "m", 2, 14)
    d = _check_int(d, "d", 1)
    seed = _check_int(seed, "seed", 0)
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    if frequencies not in ("heavy_tailed", "uniform"):
        raise ValueError(f"frequencies must be 'heavy_tailed' or 'uniform', got {frequencies!r}")
    c = 2**m - 1
    groups = np.repeat(np.arange(m), 2 ** np.arange(m))
    if frequencies == "heavy_tailed":
        counts = 2 ** (m - groups)
    else:
        counts = zipf_counts(m * 2**m, np.full(c, 1.0 / c))
    y = np.repeat(np.arange(c, dtype=np.int64), counts)
    rng = np.random.default_rng(seed)
    mu = rng.standard_normal((c, d))
    mu /= np.linalg.norm(mu, axis=1, keepdims=True)
    Xa = np.empty((y.size, d + 1))
    Xa[:, :d] = rng.standard_normal((y.size, d)) * (noise / math.sqrt(d))
    if not centred:
        Xa[:, :d] += mu[y]
    Xa[:, d] = 1.0
    name = f"class means (m = {m}, d = {d}, noise {noise:g}, {frequencies}" + (
        ", no means)" if centred else ")")
    return LinearData(Xa, y, c, groups.astype(np.intp), name,
                      {"dataset": "heavy_tailed_means", "m": m, "d": d, "noise": float(noise),
                       "seed": seed, "frequencies": frequencies, "centred": bool(centred)})


def zipf_counts(n: int, pi: np.ndarray) -> np.ndarray:
    """Apportion ``n`` samples to classes in proportion to ``pi``, each class at least one.

    Largest remainders on ``(n - c) pi`` after one sample per class: deterministic, sums to
    ``n``, non-increasing for non-increasing ``pi``.
    """
    c = pi.size
    extra = (n - c) * pi
    base = np.floor(extra).astype(np.int64)
    rest = n - c - int(base.sum())
    order = np.argsort(-(extra - base), kind="stable")
    base[order[:rest]] += 1
    return base + 1


def gaussian_mixture(classes: int, zipf_a: float = 1.0, n: int = 2000, d: int = 20,
                     separation: float = 3.0, groups: int = 5, seed: int = 0,
                     dtype=np.float64) -> LinearData:
    """Gaussian class mixture with Zipf class frequencies.

    Class ``k`` has ``n_k`` samples (``n pi_k`` apportioned, at least one each; ``pi`` Zipf with
    exponent ``zipf_a``), drawn from ``N(mu_k, I_d)`` with class means ``mu_k`` i.i.d.
    ``N(0, separation^2 / d I_d)`` (so ``||mu_k|| ~ separation``).

    Parameters
    ----------
    classes : int
        ``c >= 2``.
    zipf_a : float
        Zipf exponent ``>= 0``.
    n : int
        Samples, ``>= c``.
    d : int
        Input dimension ``>= 1``.
    separation : float
        Typical norm of a class mean, ``>= 0``.
    groups : int
        Number of equal-mass groups for the per-group losses (1..c).
    seed : int
    dtype : float64 or float32

    Returns
    -------
    LinearData
        Samples sorted by class.
    """
    c = _check_int(classes, "classes", 2)
    n = _check_int(n, "n", c)
    d = _check_int(d, "d", 1)
    seed = _check_int(seed, "seed", 0)
    if not (math.isfinite(separation) and separation >= 0):
        raise ValueError(f"separation must be a finite number >= 0, got {separation!r}")
    dt = _check_dtype(dtype)
    pi = zipf.zipf_frequencies(c, zipf_a)
    counts = zipf_counts(n, pi)
    rng = np.random.default_rng(seed)
    mu = rng.standard_normal((c, d)) * (separation / math.sqrt(d))
    y = np.repeat(np.arange(c, dtype=np.int64), counts)
    Xa = np.empty((n, d + 1), dtype=dt)
    Xa[:, :d] = mu[y] + rng.standard_normal((n, d))
    Xa[:, d] = 1.0
    labels = zipf.equal_mass_groups(counts / n, groups)
    return LinearData(Xa, y, c, labels, f"Gaussian mixture (c = {c}, a = {zipf_a:g})",
                      {"dataset": "gaussian_mixture", "classes": c, "zipf": float(zipf_a),
                       "n": n, "d": d, "separation": float(separation), "groups": groups,
                       "seed": seed, "dtype": dt.name})


# --------------------------------------------------------------------------------------------
# the model
# --------------------------------------------------------------------------------------------
class LinearModel:
    """Full-batch softmax cross-entropy of a linear model with bias on :class:`LinearData`.

    Parameters
    ----------
    data : LinearData
    bias : bool
        With a bias (the default, as in K24): ``W`` is ``(c, d + 1)``, its last column the
        bias. Without: ``(c, d)``.
    allow_empty : bool
        Allow classes without samples (their per-class loss is reported as 0); for per-sample
        Hessians on a single sample.

    Notes
    -----
    The matrix products run in the dtype of the data (float32 data: float32 products, about
    twice as fast; the softmax kernel then reads float32 logits and writes float32 residuals,
    computing in float64, and residuals below 1e-30 are flushed to 0 to keep float32
    subnormals out of the products); the losses and the returned gradients are float64.
    """

    def __init__(self, data: LinearData, bias: bool = True, allow_empty: bool = False):
        self.data = data
        self.bias = bool(bias)
        self.A = data.Xa if self.bias else data.Xa[:, :-1]
        self.y = np.ascontiguousarray(data.y, dtype=np.int64)
        self.n, self.D = self.A.shape
        self.c = int(data.classes)
        self.dtype = self.A.dtype
        self.pi = data.counts / self.n
        if np.any(data.counts == 0) and not allow_empty:
            raise ValueError("every class needs at least one sample (or allow_empty=True)")
        self.counts = np.maximum(data.counts, 1)
        self._sq = None
        self._gram = None
        self._buf: dict = {}

    # -- shapes -------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """Shape ``(c, D)`` of one model's weights."""
        return (self.c, self.D)

    @property
    def size(self) -> int:
        """Number of parameters ``c D``."""
        return self.c * self.D

    def zeros(self, k: int | None = None) -> np.ndarray:
        """``W = 0`` for one model, or a stack of ``k``."""
        return np.zeros(self.shape if k is None else (k, *self.shape))

    def _stack(self, W: np.ndarray) -> tuple[np.ndarray, int, bool]:
        W = np.asarray(W, dtype=np.float64)
        single = W.ndim == 2
        if W.shape[-2:] != self.shape or W.ndim not in (2, 3):
            raise ValueError(f"W must have shape {self.shape} or (k, *{self.shape}), "
                             f"got {W.shape}")
        k = 1 if single else W.shape[0]
        return np.ascontiguousarray(W).reshape(k * self.c, self.D), k, single

    def _buffers(self, k: int) -> dict:
        """Work arrays for a stack of ``k`` models (kept: large allocations page-fault)."""
        b = self._buf.get(k)
        if b is None:
            self._buf.clear()
            b = {"R": np.empty((self.n, k * self.c), dtype=self.dtype),
                 "sums": np.empty((k, self.c))}
            if self.dtype != np.float64:
                b["W32"] = np.empty((k * self.c, self.D), dtype=self.dtype)
            self._buf[k] = b
        return b

    def logits(self, W: np.ndarray) -> np.ndarray:
        """``Z = A W^T``: ``(n, c)`` for one model, ``(n, k c)`` for a stack (float64)."""
        W2, k, _ = self._stack(W)
        if self.dtype != np.float64:
            return (self.A @ W2.astype(self.dtype).T).astype(np.float64)
        return self.A @ W2.T

    # -- loss and gradient --------------------------------------------------------------------
    def loss_grad(self, W: np.ndarray, grad: np.ndarray | None = None
                  ) -> tuple[float | np.ndarray, np.ndarray]:
        """Full-batch loss, per-class losses and (optionally) the gradient.

        Parameters
        ----------
        W : ndarray
            ``(c, D)``, or a stack ``(k, c, D)``.
        grad : ndarray, optional
            Float64 array of the shape of ``W``; receives ``grad L``.

        Returns
        -------
        loss : float or ndarray
            ``L`` (a float), or ``(k,)`` for a stack.
        class_losses : ndarray
            ``(c,)`` or ``(k, c)``: mean loss of the samples of each class.
        """
        W2, k, single = self._stack(W)
        buf = self._buffers(k)
        R, sums = buf["R"], buf["sums"]
        if self.dtype != np.float64:
            # float32: the kernel reads float32 logits and writes float32 residuals (its sums
            # and the losses stay float64), so no conversion pass over the n x kc arrays
            np.copyto(buf["W32"], W2, casting="same_kind")
            Z = self.A @ buf["W32"].T
        else:
            Z = self.A @ W2.T
        # float32: subnormal residuals (< 1.2e-38) made the product below 5x slower (measured
        # at m = 7: 128 ms instead of 26 ms per step once the losses reach 1e-30); residuals
        # that small are far below float32's resolution of the gradient, so they are flushed
        flush = _F32_FLUSH if self.dtype != np.float64 else 0.0
        rows_softmax(Z, self.y, k, 1.0 / self.n, R, sums, flush)
        class_losses = sums / self.counts
        loss = sums.sum(axis=1) / self.n
        if grad is not None:
            if grad.shape != (self.shape if single else (k, *self.shape)) or \
                    grad.dtype != np.float64 or not grad.flags.c_contiguous:
                raise ValueError(f"grad must be a C-contiguous float64 array of shape "
                                 f"{W.shape if hasattr(W, 'shape') else 'W'}")
            G2 = grad.reshape(k * self.c, self.D)
            if self.dtype != np.float64:
                np.copyto(G2, R.T @ self.A)
            else:
                np.matmul(R.T, self.A, out=G2)
        if single:
            return float(loss[0]), class_losses[0].copy()
        return loss.copy(), class_losses.copy()

    # -- logit space (the Gram matrix) --------------------------------------------------------
    @property
    def gram(self) -> np.ndarray:
        """``K = A A^T`` (n, n), float64, computed once (``8 n^2`` bytes).

        Any ``W = W0 + C^T A`` has logits ``A W^T = A W0^T + K C``, and the gradient ``R^T A``
        moves the logits by ``K R``: a method whose step is a linear combination of gradients
        (GD, heavy ball, normalized GD) can run on the logits with one ``n x n x c`` product per
        step instead of the two ``n x D x c`` products of :meth:`loss_grad` (see
        :func:`linsim.experiments.k24_linear.run_lockstep`).
        """
        if self._gram is None:
            A = self.A.astype(np.float64, copy=False)
            self._gram = A @ A.T
        return self._gram

    def loss_logits(self, Z: np.ndarray, R: np.ndarray, blocks: int = 1
                    ) -> tuple[np.ndarray, np.ndarray]:
        """Losses and residuals from given logits: the softmax half of :meth:`loss_grad`.

        Parameters
        ----------
        Z : ndarray
            ``(n, blocks * c)`` logits, model ``b`` in columns ``b c .. (b+1) c - 1``.
        R : ndarray
            Same shape and dtype; receives ``(softmax - e_y) / n`` per model, so that
            ``R_b^T A`` is model ``b``'s gradient.
        blocks : int
            Number of models side by side.

        Returns
        -------
        loss : ndarray
            ``(blocks,)`` full-batch losses.
        class_losses : ndarray
            ``(blocks, c)`` per-class mean losses.
        """
        if Z.shape != (self.n, blocks * self.c) or R.shape != Z.shape:
            raise ValueError(f"Z and R must have shape {(self.n, blocks * self.c)}, got "
                             f"{Z.shape} and {R.shape}")
        sums = np.empty((blocks, self.c))
        flush = _F32_FLUSH if R.dtype != np.float64 else 0.0
        rows_softmax(Z, self.y, blocks, 1.0 / self.n, R, sums, flush)
        return sums.sum(axis=1) / self.n, sums / self.counts

    def loss(self, W: np.ndarray) -> float | np.ndarray:
        """Full-batch loss (a float, or ``(k,)`` for a stack)."""
        return self.loss_grad(W)[0]

    def class_losses(self, W: np.ndarray) -> np.ndarray:
        """Per-class mean losses ``l_k``."""
        return self.loss_grad(W)[1]

    def grad(self, W: np.ndarray) -> np.ndarray:
        """``grad L`` (float64, the shape of ``W``)."""
        g = np.empty(np.shape(W))
        self.loss_grad(W, g)
        return g

    def probabilities(self, W: np.ndarray) -> np.ndarray:
        """``P`` (n, c): ``softmax(W a_i)`` of every sample, one model (float64)."""
        return self._probs(W)[0]

    def _probs(self, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``P`` and ``1 - max_k P[:, k]`` per row, both to full relative accuracy."""
        W = np.asarray(W, dtype=np.float64)
        if W.shape != self.shape:
            raise ValueError(f"W must have shape {self.shape}, got {W.shape}")
        Z = self.logits(W)
        P = np.empty((self.n, self.c))
        om = np.empty(self.n)
        rows_probs(Z, P, om)
        return P, om

    def _curvature(self, P: np.ndarray, om: np.ndarray) -> np.ndarray:
        """``(n, c)`` weights ``p_ik (1 - p_ik)`` of the diagonal blocks, accurate near 0 and 1."""
        Q = P * (1.0 - P)
        top = (P > 0.5) & (P == (1.0 - om)[:, None])
        Q[top] = (P * om[:, None])[top]
        return Q

    # -- second order -------------------------------------------------------------------------
    @property
    def sq_norms(self) -> np.ndarray:
        """``||a_i||^2`` of every (augmented) input, float64."""
        if self._sq is None:
            A = self.A
            self._sq = np.einsum("ij,ij->i", A, A, dtype=np.float64)
        return self._sq

    def block_traces(self, W: np.ndarray, full: bool = False) -> np.ndarray:
        """Traces of the Hessian blocks, one model.

        ``tr H_kj = (1/n) sum_i p_ik (1[k = j] - p_ij) ||a_i||^2``.

        Parameters
        ----------
        W : ndarray
            ``(c, D)``.
        full : bool
            Return the ``(c, c)`` matrix of all block traces instead of the diagonal ``(c,)``.
        """
        P, om = self._probs(W)
        s = self.sq_norms
        q = np.empty(self.c)
        rows_curvature(P, om, s, q)
        if not full:
            return q / self.n
        T = -(P.T * s) @ P
        T[np.diag_indices(self.c)] = q
        return T / self.n

    def hvp(self, W: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Hessian-vector product ``H V`` at ``W`` (exact), one model; ``V`` of shape ``(c, D)``.

        ``Zdot = A V^T``, ``M = P * (Zdot - rowsum(P * Zdot))`` (the softmax Jacobian applied
        row by row, centred at each row's arg-max), ``H V = M^T A / n``: two matrix products.
        """
        V = np.asarray(V, dtype=np.float64)
        if V.shape != self.shape:
            raise ValueError(f"V must have shape {self.shape}, got {V.shape}")
        P = self.probabilities(W)
        Zd = self.logits(V)
        # centred at each row's arg-max, so that saturated rows (p_max ~ 1) lose no accuracy:
        # M = P * ((Zd - Zd_max) - sum_j P_j (Zd_j - Zd_max)); exactly 0 for constant rows
        rows = np.arange(self.n)
        Zd -= Zd[rows, P.argmax(axis=1)][:, None]
        M = P * (Zd - (P * Zd).sum(axis=1, keepdims=True))
        if self.dtype != np.float64:
            return (M.astype(self.dtype).T @ self.A).astype(np.float64) / self.n
        return (M.T @ self.A) / self.n

    def hessian_block(self, W: np.ndarray, k: int, j: int) -> np.ndarray:
        """Dense Hessian block ``H_kj`` (D x D), one model: small problems."""
        P, om = self._probs(W)
        w = self._curvature(P, om)[:, k] if k == j else -P[:, k] * P[:, j]
        A = self.A.astype(np.float64)
        return (A.T * w) @ A / self.n

    def hessian(self, W: np.ndarray) -> np.ndarray:
        """Dense Hessian ``(c D, c D)`` in the order of ``W.ravel()``: small problems only."""
        c, D = self.shape
        if (c * D) ** 2 > 5e7:
            raise ValueError(f"hessian: c D = {c * D} is too large for a dense Hessian")
        P, om = self._probs(W)
        Q = self._curvature(P, om)
        A = self.A.astype(np.float64)
        H = np.empty((c, D, c, D))
        for k in range(c):
            for j in range(c):
                w = Q[:, k] if k == j else -P[:, k] * P[:, j]
                H[k, :, j, :] = (A.T * w) @ A
        return H.reshape(c * D, c * D) / self.n

    def class_grad_norms(self, G: np.ndarray) -> np.ndarray:
        """``||grad_{w_k} L||_2`` of each class (rows of ``G``, bias included)."""
        return np.sqrt(np.einsum("...kd,...kd->...k", G, G))

    # -- data statistics (Proposition 2 of K24) ------------------------------------------------
    def class_means(self) -> np.ndarray:
        """``xbar^k`` (c, D): mean input of each class (bias entry 1)."""
        out = np.zeros((self.c, self.D))
        np.add.at(out, self.y, self.A.astype(np.float64))
        return out / self.counts[:, None]

    def second_moment(self) -> np.ndarray:
        """``Hbar = (1/n) sum_i a_i a_i^T`` (D, D)."""
        A = self.A.astype(np.float64)
        return A.T @ A / self.n

    # -- flows ------------------------------------------------------------------------------
    def flow_params(self, flow: str, flow_params=()) -> np.ndarray:
        """Parameter vector of :func:`linear_field` for ``flow``: ``[header, n, c, D, y, A]``."""
        if self.n * self.D > 5_000_000:
            raise ValueError("flow_params: the data travel in the parameter vector; "
                             f"n D = {self.n * self.D} is too large (use a small m)")
        prob = np.concatenate([[self.n, self.c, self.D], self.y.astype(np.float64),
                               self.A.astype(np.float64).ravel()])
        return pack(flow, prob, flow_params)

    @property
    def field(self):
        """The compiled right-hand side (:func:`linear_field`)."""
        return linear_field

    @property
    def summary_output(self):
        """The compiled output function ``[L, l_1 .. l_c]`` (:func:`linear_summary`)."""
        return linear_summary


# --------------------------------------------------------------------------------------------
# flows on the general model
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def _unpack(p):
    n = int(p[HEADER])
    c = int(p[HEADER + 1])
    D = int(p[HEADER + 2])
    at = HEADER + 3
    y = p[at : at + n]
    A = p[at + n : at + n + n * D].reshape((n, D))
    return n, c, D, y, A


@njit(cache=True)
def _flow_loss_grad(y_state, p, G, class_sums):
    """Loss sums per class and (if ``G.size``) the gradient, for the flattened weights."""
    n, c, D, lab, A = _unpack(p)
    W = y_state.reshape((c, D))
    Z = np.dot(A, W.T)
    R = np.empty((n, c))
    labels = np.empty(n, dtype=np.int64)
    for i in range(n):
        labels[i] = int(lab[i])
    sums = class_sums.reshape((1, c))
    rows_softmax(Z, labels, 1, 1.0 / n, R, sums)
    if G.size:
        G[:] = np.dot(R.T, A).ravel()
    return labels


@vector_field
def linear_field(t, y, p, dy):
    """The general linear model under the flow coded in ``p[0]``
    (parameters: :meth:`LinearModel.flow_params`)."""
    c = int(p[HEADER + 1])
    nw = c * int(p[HEADER + 2])  # the weights (flows with memory carry moments after them)
    _flow_loss_grad(y[:nw], p, dy[:nw], np.empty(c))
    apply_flow(t, p, y, dy)


@vector_field
def linear_summary(t, y, p, out):
    """Output function: ``[L, l_1, .., l_c]`` (overall and per-class mean losses)."""
    n = int(p[HEADER])
    c = int(p[HEADER + 1])
    sums = np.empty(c)
    labels = _flow_loss_grad(y[: c * int(p[HEADER + 2])], p, np.empty(0), sums)
    counts = np.zeros(c)
    for i in range(n):
        counts[labels[i]] += 1.0
    total = 0.0
    for k in range(c):
        total += sums[k]
        out[1 + k] = sums[k] / counts[k]
    out[0] = total / n
