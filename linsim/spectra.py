"""Spectral densities of Hessian blocks and the Jensen-Shannon distance between them (Z24.js).

* :func:`lanczos` / :func:`lanczos_block`: Lanczos with *full* re-orthogonalization
  (classical Gram-Schmidt, applied twice), so the Ritz values carry no ghost copies; the
  recurrences of several starting vectors run side by side.
* :func:`slq`: stochastic Lanczos quadrature. For each of ``n_vec`` random unit vectors ``v``,
  ``m`` Lanczos steps give a tridiagonal ``T``; its eigenvalues ``theta_j`` (by
  :func:`scipy.linalg.eigh_tridiagonal`) and squared first eigenvector components ``tau_j^2``
  are the nodes and weights of a Gauss quadrature of the spectral measure ``v^T delta(H -
  lambda) v``. Averaged over the vectors it estimates the spectral density ``(1/d) sum_i
  delta(lambda - lambda_i)``; the weights sum to 1.
* :func:`kde_log10`: a Gaussian kernel density of those nodes on the ``log10 lambda`` axis,
  bandwidth in decades, normalized on its grid.
* :func:`js_divergence`: ``JS(p, q) = 1/2 KL(p || m) + 1/2 KL(q || m)``, ``m = (p + q)/2``, in
  nats: the proper Jensen-Shannon distance of THEORY.md, in ``[0, log 2]`` (``log 2`` for
  densities with disjoint support). Its square root is a metric; both are reported where
  useful. Z24's published values exceed ``log 2``, so they are not this normalized quantity.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.linalg import eigh_tridiagonal

#: Default KDE bandwidth, in decades of lambda.
BANDWIDTH = 0.2
LOG2 = math.log(2.0)


def _matvec(op) -> tuple[Callable[[np.ndarray], np.ndarray], int]:
    if callable(op) and not isinstance(op, np.ndarray):
        raise ValueError("op must be a square matrix; wrap a matvec with (matvec, n)")
    if isinstance(op, tuple):
        f, n = op
        return f, int(n)
    a = np.asarray(op, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise ValueError(f"op must be a non-empty square matrix, got shape {a.shape}")
    return (lambda x: a @ x), a.shape[0]


def lanczos_block(op, V0: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Independent Lanczos recurrences from the ``k`` columns of ``V0``, run side by side.

    Each column gets its own tridiagonal ``T`` (no block Lanczos coupling); the ``k`` matrix
    products of a step are one ``n x k`` product. Every new vector is re-orthogonalized
    against all previous vectors *of its own recurrence*, twice (classical Gram-Schmidt,
    CGS2): full re-orthogonalization, so no ghost Ritz values appear.

    Parameters
    ----------
    op : ndarray or (callable, int)
        A symmetric ``n x n`` matrix, or ``(matvec, n)`` with ``matvec`` accepting an
        ``(n, k)`` array.
    V0 : ndarray
        ``(n, k)`` starting vectors (normalized here).
    steps : int
        Largest number of steps ``m`` (at most ``n``). A recurrence stops earlier when its
        Krylov space is exhausted (``beta_j <= 1e-12`` times its largest coefficient).

    Returns
    -------
    alpha : ndarray
        ``(m, k)`` diagonals.
    beta : ndarray
        ``(m - 1, k)`` off-diagonals.
    length : ndarray
        ``(k,)`` steps taken by each recurrence (its ``T`` is the leading block).
    """
    f, n = _matvec(op)
    if not (isinstance(steps, (int, np.integer)) and steps >= 1):
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    V0 = np.asarray(V0, dtype=np.float64)
    if V0.ndim == 1:
        V0 = V0[:, None]
    if V0.shape[0] != n:
        raise ValueError(f"starting vectors must have {n} rows, got {V0.shape[0]}")
    nv = np.linalg.norm(V0, axis=0)
    if not np.all((nv > 0) & np.isfinite(nv)):
        raise ValueError("starting vectors must be finite and nonzero")
    k = V0.shape[1]
    m = min(int(steps), n)
    V = np.zeros((m, n, k))
    V[0] = V0 / nv
    alpha = np.zeros((m, k))
    beta = np.zeros((max(m - 1, 0), k))
    length = np.full(k, m, dtype=np.int64)
    active = np.ones(k, dtype=bool)
    scale = np.zeros(k)
    for j in range(m):
        W = np.asarray(f(V[j]), dtype=np.float64).reshape(n, k)
        alpha[j] = np.einsum("ik,ik->k", V[j], W)
        for _ in range(2):  # CGS2 against every previous vector of the same recurrence
            c = np.einsum("jik,ik->jk", V[: j + 1], W)
            W -= np.einsum("jik,jk->ik", V[: j + 1], c)
        b = np.linalg.norm(W, axis=0)
        scale = np.maximum(scale, np.maximum(np.abs(alpha[j]), b))
        alpha[j, ~active] = 0.0
        if j == m - 1:
            break
        stop = active & (b <= 1e-12 * scale)
        length[stop] = j + 1
        active &= ~stop
        beta[j] = np.where(active, b, 0.0)
        V[j + 1] = np.where(active, W / np.where(active, b, 1.0), 0.0)
    return alpha, beta, length


def lanczos(op, v0: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Lanczos tridiagonalization of ``op`` from ``v0`` with full re-orthogonalization.

    One recurrence of :func:`lanczos_block`; returns the diagonal ``alpha`` (``m``) and the
    off-diagonal ``beta`` (``m - 1``) of ``T``, cut where the Krylov space is exhausted.
    """
    v = np.asarray(v0, dtype=np.float64).ravel()
    a, b, length = lanczos_block(op, v[:, None], steps)
    m = int(length[0])
    return a[:m, 0].copy(), b[: m - 1, 0].copy()


def gauss_quadrature(alpha: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (Ritz values) and weights (squared first eigenvector components) of ``T``."""
    if alpha.size == 1:
        return alpha.copy(), np.ones(1)
    theta, S = eigh_tridiagonal(alpha, beta)
    return theta, S[0] ** 2


def slq(op, *, n_vec: int = 20, steps: int = 30, seed: int = 0,
        dist: str = "rademacher") -> tuple[np.ndarray, np.ndarray]:
    """Stochastic Lanczos quadrature: nodes and weights of the spectral density of ``op``.

    Parameters
    ----------
    op : ndarray or (callable, int)
        Symmetric matrix, or ``(matvec, n)`` with ``matvec`` accepting ``(n, k)`` arrays.
    n_vec : int
        Number of random starting vectors (their recurrences run side by side).
    steps : int
        Lanczos steps per vector (at most the dimension).
    seed : int
    dist : {"rademacher", "gaussian"}
        Distribution of the starting vectors (normalized).

    Returns
    -------
    nodes, weights : ndarray
        All vectors' Ritz values and weights; the weights sum to 1.
    """
    f, n = _matvec(op)
    if not (isinstance(n_vec, (int, np.integer)) and n_vec >= 1):
        raise ValueError(f"n_vec must be an integer >= 1, got {n_vec!r}")
    if dist not in ("rademacher", "gaussian"):
        raise ValueError(f"dist must be 'rademacher' or 'gaussian', got {dist!r}")
    rng = np.random.default_rng(seed)
    V0 = (rng.choice([-1.0, 1.0], size=(n, int(n_vec))) if dist == "rademacher"
          else rng.standard_normal((n, int(n_vec))))
    A, B, length = lanczos_block((f, n), V0, steps)
    nodes, weights = [], []
    for v in range(int(n_vec)):
        m = int(length[v])
        th, w = gauss_quadrature(A[:m, v], B[: m - 1, v])
        nodes.append(th)
        weights.append(w / n_vec)
    return np.concatenate(nodes), np.concatenate(weights)


def log10_grid(lo: float, hi: float, points: int = 2001, pad: float = 0.5) -> np.ndarray:
    """A uniform grid on the ``log10 lambda`` axis from ``log10 lo - pad`` to ``log10 hi + pad``."""
    if not (lo > 0 and hi >= lo and math.isfinite(hi)):
        raise ValueError(f"need 0 < lo <= hi finite, got lo={lo!r}, hi={hi!r}")
    return np.linspace(math.log10(lo) - pad, math.log10(hi) + pad, int(points))


def kde_log10(nodes, weights, grid: np.ndarray, bandwidth: float = BANDWIDTH) -> np.ndarray:
    """Gaussian kernel density of ``log10(nodes)`` with ``weights``, on ``grid`` (in log10 units).

    The result is normalized to integrate to 1 on the grid (trapezoid rule), so mass that the
    kernel puts outside the grid is not lost to the JS distance.
    """
    nodes = np.asarray(nodes, dtype=np.float64).ravel()
    weights = np.asarray(weights, dtype=np.float64).ravel()
    if nodes.size != weights.size or nodes.size == 0:
        raise ValueError("nodes and weights must be non-empty and of the same length")
    if np.any(nodes <= 0) or not np.all(np.isfinite(nodes)):
        raise ValueError("the log10 axis needs positive finite eigenvalues (nodes > 0)")
    if not (math.isfinite(bandwidth) and bandwidth > 0):
        raise ValueError(f"bandwidth must be a finite number > 0 (decades), got {bandwidth!r}")
    x = np.log10(nodes)
    z = (np.asarray(grid)[:, None] - x[None, :]) / bandwidth
    dens = np.exp(-0.5 * z * z) @ weights / (bandwidth * math.sqrt(2 * math.pi))
    total = np.trapezoid(dens, grid)
    if not total > 0:
        raise ValueError("the density vanishes on the grid: widen the grid")
    return dens / total


def js_divergence(p: np.ndarray, q: np.ndarray, grid: np.ndarray) -> float:
    """Jensen-Shannon divergence (nats) of two densities on ``grid``: in ``[0, log 2]``."""
    p = np.asarray(p, float)
    q = np.asarray(q, float)
    p = p / np.trapezoid(p, grid)
    q = q / np.trapezoid(q, grid)
    m = 0.5 * (p + q)

    def kl(a):
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(a > 0, a * np.log(a / m), 0.0)
        return np.trapezoid(t, grid)

    js = 0.5 * kl(p) + 0.5 * kl(q)
    return float(min(max(js, 0.0), LOG2))


def pairwise_js(densities: list[np.ndarray], grid: np.ndarray) -> np.ndarray:
    """Symmetric matrix of :func:`js_divergence` between every pair of densities."""
    k = len(densities)
    out = np.zeros((k, k))
    for i in range(k):
        for j in range(i + 1, k):
            out[i, j] = out[j, i] = js_divergence(densities[i], densities[j], grid)
    return out


def mean_offdiagonal(m: np.ndarray) -> float:
    """Mean over the pairs ``i < j`` (0 for a single block)."""
    k = m.shape[0]
    if k < 2:
        return 0.0
    return float(m[np.triu_indices(k, 1)].mean())


@dataclass
class BlockSpectra:
    """Block densities and their JS distances (:func:`block_spectra`).

    Attributes
    ----------
    grid : ndarray
        The ``log10 lambda`` grid.
    densities : list of ndarray
        One density per block.
    js : ndarray
        Pairwise JS distances (nats, in [0, log 2]).
    nodes, weights : list of ndarray
        Quadrature nodes and weights of each block.
    bandwidth : float
        KDE bandwidth in decades.
    """

    grid: np.ndarray
    densities: list
    js: np.ndarray
    nodes: list
    weights: list
    bandwidth: float

    @property
    def mean_js(self) -> float:
        """Mean JS distance over block pairs."""
        return mean_offdiagonal(self.js)


def block_spectra(blocks: list[np.ndarray], *, method: str = "slq", grid=None,
                  bandwidth: float = BANDWIDTH, n_vec: int = 20, steps: int = 30,
                  seed: int = 0) -> BlockSpectra:
    """Spectral densities of each (symmetric, positive definite) block and their JS distances.

    ``method="slq"`` estimates them by :func:`slq`; ``"exact"`` uses every eigenvalue (weight
    ``1/d``) from :func:`numpy.linalg.eigvalsh`, the reference for small blocks.
    """
    if method not in ("slq", "exact"):
        raise ValueError(f"method must be 'slq' or 'exact', got {method!r}")
    nodes, weights = [], []
    for b, H in enumerate(blocks):
        H = np.asarray(H, dtype=np.float64)
        if method == "exact":
            lam = np.linalg.eigvalsh(H)
            nodes.append(lam)
            weights.append(np.full(lam.size, 1.0 / lam.size))
        else:
            th, w = slq(H, n_vec=n_vec, steps=steps, seed=seed + 7919 * b)
            nodes.append(th)
            weights.append(w)
    if grid is None:
        allv = np.concatenate(nodes)
        grid = log10_grid(float(allv.min()), float(allv.max()))
    dens = [kde_log10(x, w, grid, bandwidth) for x, w in zip(nodes, weights, strict=True)]
    return BlockSpectra(grid, dens, pairwise_js(dens, grid), nodes, weights, float(bandwidth))
