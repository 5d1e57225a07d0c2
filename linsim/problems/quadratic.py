"""Block-diagonal quadratics with Haar-rotated blocks: the Z24 problems (THEORY.md, "Z24").

``f(w) = 1/2 w^T H w - h^T w`` with ``H = diag(H_1, ..., H_L)``, ``H_l = s_l Q_l Lambda_l Q_l^T``
(``Q_l`` Haar-random orthogonal, ``s_l`` a per-block scale factor), so the blocks are aligned
with the coordinates but dense inside. ``h = H w*``, so ``w*`` is the minimizer.

Constructors
------------
========================= ================================================================
:func:`case3`             heterogeneous: blocks {1,2,3}, {99,100,101}, {4998,4999,5000}
:func:`case4`             homogeneous: {1,99,4998}, {2,100,4999}, {3,101,5000}
:func:`parametric_case`   Cases 1 and 2 as families: L blocks of sizes d_l, one shared full
                          spectrum; each block in its own band (heterogeneous) or every block
                          spanning the whole range (homogeneous)
:func:`case`              1, 2, 3 or 4 by number
:func:`from_blocks`       any block spectra; ``rotation="identity"`` is the diagonal variant
:func:`worst_case_gd`     ``H = diag(1, kappa)``, ``w0 - w* = (1, 1/kappa)`` (Z24.gd-lower-bound)
========================= ================================================================

Every constructor accepts ``w_star`` or ``h`` (not both), ``w0``, ``scales`` (one factor per
block) and ``seed``. Alternatively ``z0`` fixes the eigen-coordinates of ``w0 - w*`` (ordered
by the sorted full spectrum): two problems with the same spectrum and the same ``z0`` have the
same gradient-flow and gradient-descent losses whatever their blocks (Z24.gf-closed-form).

Numerics
--------
The gradient is computed as ``H (w - w*)`` block by block, never as ``H w - h``, and the loss gap
as ``f - f* = 1/2 (w - w*)^T H (w - w*)``: both stay accurate to rounding relative to
``w - w*`` however close ``w`` is to ``w*``, so relative gaps of 1e-20 are meaningful.

Storage for the compiled kernels: ``offsets`` (``L + 1`` coordinate offsets), ``hptr``
(``L + 1`` offsets into ``hdata``) and ``hdata`` (each block's ``d_l x d_l`` matrix, row-major,
concatenated). :attr:`BlockQuadratic.params` packs them into the float vector ``p`` of the
compiled vector fields (:func:`quadratic_field`, :func:`quadratic_gaps`, :func:`coordinate_gaps`):
``p = [flow header, n, L, offsets (L+1), hdata, w*]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from ..flows import HEADER, finish, pack, transform
from ..integrate import vector_field

#: Block eigenvalues of Case 3 (heterogeneous) and Case 4 (homogeneous), THEORY.md.
CASE3_EIGENVALUES = ((1.0, 2.0, 3.0), (99.0, 100.0, 101.0), (4998.0, 4999.0, 5000.0))
CASE4_EIGENVALUES = ((1.0, 99.0, 4998.0), (2.0, 100.0, 4999.0), (3.0, 101.0, 5000.0))
#: Defaults of the parametric Cases 1 (heterogeneous) and 2 (homogeneous).
PARAMETRIC_SIZES = (6, 6, 6, 6)
PARAMETRIC_KAPPA = 1000.0
CASE_NAMES = {1: "Case 1 (heterogeneous family)", 2: "Case 2 (homogeneous family)",
              3: "Case 3 (heterogeneous)", 4: "Case 4 (homogeneous)"}


# --------------------------------------------------------------------------------------------
# compiled kernels
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def block_matvec(hdata, base, d, lo, y, wstar, out):
    """``out[lo:lo+d] = H_b (y - w*)[lo:lo+d]``; returns ``1/2 e_b^T H_b e_b``.

    ``H_b`` is the symmetric ``d x d`` block stored row-major in ``hdata[base:]``. The one
    compiled quadratic of the library (also :class:`linsim.problems.filippov.QuadraticSign`'s).

    Column-oriented (an axpy per column, ``H_b`` being symmetric) so that the inner loop has no
    reduction and vectorizes; the order of operations per component is fixed.
    """
    for i in range(d):
        out[lo + i] = 0.0
    for j in range(d):
        ej = y[lo + j] - wstar[lo + j]
        row = base + j * d
        for i in range(d):
            out[lo + i] += hdata[row + i] * ej
    gap = 0.0
    for i in range(d):
        gap += (y[lo + i] - wstar[lo + i]) * out[lo + i]
    return 0.5 * gap


@njit(cache=True)
def block_grad(offsets, hptr, hdata, wstar, w, g):
    """``g = H (w - w*)`` block by block; returns the gap ``f - f* = 1/2 (w - w*)^T g``."""
    gap = 0.0
    for b in range(offsets.size - 1):
        gap += block_matvec(hdata, hptr[b], offsets[b + 1] - offsets[b], offsets[b], w, wstar,
                             g)
    return gap


@njit(cache=True)
def _unpack(p):
    """Views of ``p = [header, n, L, offsets (L+1), hdata, w*]`` (see the module docstring)."""
    n = int(p[HEADER])
    L = int(p[HEADER + 1])
    off_f = p[HEADER + 2 : HEADER + 3 + L]
    offsets = np.empty(L + 1, dtype=np.int64)
    hptr = np.empty(L + 1, dtype=np.int64)
    hptr[0] = 0
    for b in range(L + 1):
        offsets[b] = int(off_f[b])
    for b in range(L):
        d = offsets[b + 1] - offsets[b]
        hptr[b + 1] = hptr[b] + d * d
    at = HEADER + 3 + L
    hdata = p[at : at + hptr[L]]
    wstar = p[at + hptr[L] : at + hptr[L] + n]
    return offsets, hptr, hdata, wstar


@vector_field
def quadratic_field(t, y, p, dy):
    """Right-hand side of the flow coded in ``p[0]`` (:mod:`linsim.flows`) on the quadratic.

    The gradient of each block is computed and transformed while it is in cache.
    """
    offsets, hptr, hdata, wstar = _unpack(p)
    sumsq = 0.0
    for b in range(offsets.size - 1):
        lo = offsets[b]
        hi = offsets[b + 1]
        block_matvec(hdata, hptr[b], hi - lo, lo, y, wstar, dy)
        sumsq += transform(p, dy[lo:hi])
    finish(t, p, y, dy, sumsq)


@vector_field
def quadratic_gaps(t, y, p, out):
    """Output function: ``out = [f - f*, gap of block 1, ..., gap of block L]``."""
    offsets, hptr, hdata, wstar = _unpack(p)
    scratch = np.empty(y.size)
    total = 0.0
    for b in range(offsets.size - 1):
        gb = block_matvec(hdata, hptr[b], offsets[b + 1] - offsets[b], offsets[b], y, wstar,
                           scratch)
        out[1 + b] = gb
        total += gb
    out[0] = total


@vector_field
def coordinate_gaps(t, y, p, out):
    """Event function: ``out_i = w_i - w*_i`` (on a diagonal H the zeros of the gradient)."""
    wstar = _unpack(p)[3]
    for i in range(wstar.size):
        out[i] = y[i] - wstar[i]


# --------------------------------------------------------------------------------------------
# the problem
# --------------------------------------------------------------------------------------------
def haar_orthogonal(d: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-distributed ``d x d`` orthogonal matrix (QR of a Gaussian matrix, signs fixed)."""
    if d == 1:
        return np.ones((1, 1))
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


@dataclass(frozen=True, eq=False)
class BlockQuadratic:
    """``f(w) = 1/2 w^T H w - h^T w``, ``H = diag(H_1, .., H_L)``, ``H_l = Q_l diag(lam_l) Q_l^T``.

    Build it with the constructors of this module rather than directly.

    Attributes
    ----------
    eigvals : tuple of ndarray
        Each block's eigenvalues (scale factors already applied), sorted ascending.
    rotations : tuple of ndarray
        Each block's orthogonal ``Q_l`` (columns: eigenvectors in the order of ``eigvals``).
    w_star, w0 : ndarray
        Minimizer and initial point.
    name : str
    """

    eigvals: tuple
    rotations: tuple
    w_star: np.ndarray
    w0: np.ndarray
    name: str = "quadratic"
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    # ---- structure -------------------------------------------------------------------------
    @property
    def sizes(self) -> tuple[int, ...]:
        """Block sizes ``d_l``."""
        return tuple(int(v.size) for v in self.eigvals)

    @property
    def n(self) -> int:
        """Dimension."""
        return int(sum(self.sizes))

    @property
    def blocks(self) -> int:
        """Number of blocks ``L``."""
        return len(self.eigvals)

    @property
    def offsets(self) -> np.ndarray:
        """Coordinate offsets of the blocks (``L + 1`` entries, int64)."""
        return np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)

    @property
    def hptr(self) -> np.ndarray:
        """Offsets of each block's matrix in :attr:`hdata`."""
        return np.concatenate([[0], np.cumsum(np.square(self.sizes))]).astype(np.int64)

    def block_matrix(self, b: int) -> np.ndarray:
        """``H_b = Q_b diag(lam_b) Q_b^T``, symmetrized."""
        q, lam = self.rotations[b], self.eigvals[b]
        m = (q * lam) @ q.T
        return 0.5 * (m + m.T)

    @property
    def hdata(self) -> np.ndarray:
        """Every block's matrix, row-major, concatenated (the compiled kernels' storage)."""
        if "hdata" not in self._cache:
            self._cache["hdata"] = np.ascontiguousarray(np.concatenate(
                [self.block_matrix(b).ravel() for b in range(self.blocks)]))
        return self._cache["hdata"]

    @property
    def H(self) -> np.ndarray:
        """The dense ``n x n`` Hessian."""
        out = np.zeros((self.n, self.n))
        off = self.offsets
        for b in range(self.blocks):
            out[off[b]:off[b + 1], off[b]:off[b + 1]] = self.block_matrix(b)
        return out

    @property
    def h(self) -> np.ndarray:
        """Linear term ``h = H w*``."""
        return self.H @ self.w_star

    @property
    def eigenvalues(self) -> np.ndarray:
        """All eigenvalues, in block order."""
        return np.concatenate(self.eigvals)

    @property
    def eigenvectors(self) -> np.ndarray:
        """``n x n`` orthogonal matrix: column i is the eigenvector of :attr:`eigenvalues` [i]."""
        U = np.zeros((self.n, self.n))
        off = self.offsets
        for b in range(self.blocks):
            U[off[b]:off[b + 1], off[b]:off[b + 1]] = self.rotations[b]
        return U

    @property
    def kappa(self) -> float:
        """Condition number of ``H``."""
        lam = self.eigenvalues
        return float(lam.max() / lam.min())

    @property
    def block_kappas(self) -> np.ndarray:
        """Condition number ``kappa_l`` of each block."""
        return np.array([v.max() / v.min() for v in self.eigvals])

    @property
    def diagonal(self) -> bool:
        """True when every block is diagonal (every ``Q_l`` a signed permutation)."""
        return all(np.count_nonzero(q) == q.shape[0] for q in self.rotations)

    # ---- values ----------------------------------------------------------------------------
    def gap(self, w) -> float:
        """``f(w) - f*``, accurate to rounding relative to ``w - w*``."""
        g = np.empty(self.n)
        return float(block_grad(self.offsets, self.hptr, self.hdata, self.w_star,
                                np.ascontiguousarray(w, dtype=np.float64), g))

    def grad(self, w) -> np.ndarray:
        """``H (w - w*) = H w - h``."""
        g = np.empty(self.n)
        block_grad(self.offsets, self.hptr, self.hdata, self.w_star,
                   np.ascontiguousarray(w, dtype=np.float64), g)
        return g

    def loss(self, w) -> float:
        """``f(w) = 1/2 w^T H w - h^T w`` (as a difference: use :meth:`gap` near ``w*``)."""
        return self.gap(w) + self.f_star

    @property
    def f_star(self) -> float:
        """``f* = -1/2 h^T w*``."""
        return float(-0.5 * self.h @ self.w_star)

    def block_gaps(self, w) -> np.ndarray:
        """``1/2 e_l^T H_l e_l`` for each block, ``e = w - w*``."""
        e = np.asarray(w, float) - self.w_star
        off = self.offsets
        return np.array([0.5 * e[off[b]:off[b + 1]] @ self.block_matrix(b)
                         @ e[off[b]:off[b + 1]] for b in range(self.blocks)])

    def eigen_coordinates(self, w=None) -> np.ndarray:
        """``u_i^T (w - w*)`` for each eigenvector (block order); ``w`` defaults to ``w0``."""
        e = (self.w0 if w is None else np.asarray(w, float)) - self.w_star
        return self.eigenvectors.T @ e

    def modes(self) -> tuple[np.ndarray, np.ndarray]:
        """``(lambda_i, c_i)`` with ``c_i = lambda_i (u_i^T (w0 - w*))^2 / 2``."""
        lam = self.eigenvalues
        return lam, 0.5 * lam * self.eigen_coordinates() ** 2

    # ---- closed forms ----------------------------------------------------------------------
    def gf_gap(self, t) -> np.ndarray:
        """Z24.gf-closed-form: ``f(t) - f* = sum_i c_i exp(-2 lambda_i t)`` under gradient flow."""
        lam, c = self.modes()
        t = np.asarray(t, float)
        return np.exp(-2.0 * np.multiply.outer(t, lam)) @ c

    def gf_state(self, t) -> np.ndarray:
        """Gradient-flow state ``w(t) = w* + U exp(-Lambda t) U^T (w0 - w*)``, shape (len(t), n)."""
        U = self.eigenvectors
        z = self.eigen_coordinates()
        t = np.atleast_1d(np.asarray(t, float))
        return self.w_star + (np.exp(-np.multiply.outer(t, self.eigenvalues)) * z) @ U.T

    def gd_gap(self, k, lr: float) -> np.ndarray:
        """GD: ``f(w_k) - f* = sum_i c_i (1 - lr lambda_i)^(2k)`` (``k`` a scalar or an array)."""
        lam, c = self.modes()
        k = np.asarray(k, float)
        return (np.abs(1.0 - lr * lam) ** (2.0 * k[..., None])) @ c

    def sf_state(self, t) -> np.ndarray:
        """Z24.sf-diagonal: ``w_i(t) = w*_i + sign(d_i) max(|d_i| - t, 0)``, ``d = w0 - w*``.

        Only for a diagonal H (:attr:`diagonal`); on dense blocks sign flow slides along
        surfaces ``g_i = 0`` and needs the Filippov integrator.
        """
        if not self.diagonal:
            raise ValueError("sf_state needs a diagonal H (rotation='identity'); dense blocks "
                             "need the Filippov sliding integrator")
        d = self.w0 - self.w_star
        t = np.atleast_1d(np.asarray(t, float))[:, None]
        return self.w_star + np.sign(d) * np.maximum(np.abs(d) - t, 0.0)

    @property
    def sf_stop_time(self) -> float:
        """Sign flow on a diagonal H reaches ``w*`` at ``t = ||w0 - w*||_inf``."""
        return float(np.max(np.abs(self.w0 - self.w_star)))

    # ---- derived problems and packing ------------------------------------------------------
    def scaled(self, scales) -> BlockQuadratic:
        """The problem with ``H_l -> s_l H_l`` (same ``w*``, ``w0`` and rotations)."""
        s = _scales(scales, self.blocks)
        return BlockQuadratic(tuple(v * f for v, f in zip(self.eigvals, s, strict=True)),
                              self.rotations, self.w_star, self.w0, self.name + " (scaled)")

    def with_start(self, w0) -> BlockQuadratic:
        """The same problem from another initial point."""
        w0 = _vector(w0, self.n, "w0")
        return BlockQuadratic(self.eigvals, self.rotations, self.w_star, w0, self.name)

    def params(self, flow: str = "gradient", flow_params=()) -> np.ndarray:
        """Parameter vector ``[flow header, n, L, offsets, hdata, w*]`` of the compiled fields
        (``flow_params``: the flow's own, :data:`linsim.flows.SPECS`)."""
        return pack(flow, np.concatenate([[float(self.n), float(self.blocks)],
                                          self.offsets.astype(float), self.hdata,
                                          self.w_star]), flow_params)

    @property
    def field(self):
        """The compiled right-hand side of any flow on this layout (:func:`quadratic_field`;
        a :class:`linsim.problems.Problem`)."""
        return quadratic_field


# --------------------------------------------------------------------------------------------
# constructors
# --------------------------------------------------------------------------------------------
def _vector(x, n: int, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64).ravel()
    if arr.size != n:
        raise ValueError(f"{name} must have {n} entries (the dimension), got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return np.ascontiguousarray(arr.copy())


def _scales(scales, L: int) -> np.ndarray:
    if scales is None:
        return np.ones(L)
    s = np.asarray(scales, dtype=np.float64).ravel()
    if s.size == 1:
        s = np.repeat(s, L)
    if s.size != L:
        raise ValueError(f"scales must have one entry per block ({L}), got {s.size}")
    if not np.all(np.isfinite(s) & (s > 0)):
        raise ValueError("scales must be finite and > 0")
    return s


def from_blocks(block_eigvals, *, rotation: str = "haar", w_star=None, h=None, w0=None, z0=None,
                scales=None, seed: int = 0, name: str = "quadratic") -> BlockQuadratic:
    """A block-diagonal quadratic from each block's eigenvalues.

    Parameters
    ----------
    block_eigvals : sequence of sequences of float
        Eigenvalues of each block (all > 0).
    rotation : {"haar", "identity"}
        Haar-random ``Q_l`` (dense blocks), or the identity (the diagonal variant).
    w_star, h : array_like, optional
        Minimizer, or linear term ``h`` (then ``w* = H^-1 h``); not both. Default: ``w*`` standard
        normal from ``seed``.
    w0 : array_like, optional
        Initial point; default 0. Not together with ``z0``.
    z0 : array_like, optional
        Eigen-coordinates of ``w0 - w*``, ordered by the ascending full spectrum.
    scales : float or array_like, optional
        Per-block factors ``s_l > 0``: ``H_l -> s_l H_l``.
    seed : int
        Seed of the rotations and of the default ``w*``.
    name : str

    Returns
    -------
    BlockQuadratic
    """
    blocks = [np.asarray(b, dtype=np.float64).ravel() for b in block_eigvals]
    if not blocks or any(b.size == 0 for b in blocks):
        raise ValueError("block_eigvals must hold at least one non-empty block")
    if not all(np.all(np.isfinite(b) & (b > 0)) for b in blocks):
        raise ValueError("block eigenvalues must be finite and > 0")
    if rotation not in ("haar", "identity"):
        raise ValueError(f"rotation must be 'haar' or 'identity', got {rotation!r}")
    if not (isinstance(seed, (int, np.integer)) and seed >= 0):
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    s = _scales(scales, len(blocks))
    rng = np.random.default_rng(int(seed))
    rots = []
    eig = []
    for b, f in zip(blocks, s, strict=True):
        order = np.argsort(b, kind="stable")
        eig.append(np.ascontiguousarray(b[order] * f))
        q = haar_orthogonal(b.size, rng) if rotation == "haar" else np.eye(b.size)
        rots.append(np.ascontiguousarray(q))
    n = sum(b.size for b in blocks)
    prob = BlockQuadratic(tuple(eig), tuple(rots), np.zeros(n), np.zeros(n), name)
    if w_star is not None and h is not None:
        raise ValueError("give w_star or h, not both")
    if h is not None:
        ws = np.linalg.solve(prob.H, _vector(h, n, "h"))
    elif w_star is not None:
        ws = _vector(w_star, n, "w_star")
    else:
        ws = rng.standard_normal(n)
    if w0 is not None and z0 is not None:
        raise ValueError("give w0 or z0, not both")
    if z0 is not None:
        z = _vector(z0, n, "z0")
        lam = prob.eigenvalues
        rank = np.empty(n, dtype=np.int64)
        rank[np.argsort(lam, kind="stable")] = np.arange(n)
        start = ws + prob.eigenvectors @ z[rank]
    else:
        start = np.zeros(n) if w0 is None else _vector(w0, n, "w0")
    return BlockQuadratic(prob.eigvals, prob.rotations, np.ascontiguousarray(ws), start, name)


def case3(seed: int = 0, **kw) -> BlockQuadratic:
    """Case 3 (heterogeneous): blocks {1,2,3}, {99,100,101}, {4998,4999,5000}; kappa = 5000.

    Keyword arguments go to :func:`from_blocks` (``rotation``, ``w_star``, ``h``, ``w0``,
    ``z0``, ``scales``).
    """
    kw.setdefault("name", CASE_NAMES[3])
    return from_blocks(CASE3_EIGENVALUES, seed=seed, **kw)


def case4(seed: int = 0, **kw) -> BlockQuadratic:
    """Case 4 (homogeneous): blocks {1,99,4998}, {2,100,4999}, {3,101,5000}; kappa = 5000."""
    kw.setdefault("name", CASE_NAMES[4])
    return from_blocks(CASE4_EIGENVALUES, seed=seed, **kw)


def parametric_spectrum(n: int, kappa: float, spacing: str = "log") -> np.ndarray:
    """The shared full spectrum of Cases 1 and 2: ``n`` values from 1 to ``kappa``.

    ``spacing="log"`` spaces them log-uniformly, ``"linear"`` uniformly.
    """
    if not (isinstance(n, (int, np.integer)) and n >= 1):
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if not (math.isfinite(kappa) and kappa >= 1):
        raise ValueError(f"kappa must be a finite number >= 1, got {kappa!r}")
    if spacing == "log":
        return np.logspace(0.0, math.log10(kappa), n)
    if spacing == "linear":
        return np.linspace(1.0, kappa, n)
    raise ValueError(f"spacing must be 'log' or 'linear', got {spacing!r}")


def parametric_blocks(kind: str, sizes, kappa: float, spacing: str = "log") -> list[np.ndarray]:
    """Split the shared spectrum into blocks of ``sizes``.

    ``kind="heterogeneous"``: block l takes the next ``d_l`` values of the sorted spectrum (its
    own band). ``"homogeneous"``: the sorted spectrum is dealt round-robin, so every block spans
    the whole range. Both give the same full spectrum and the same kappa.
    """
    sizes = [int(d) for d in sizes]
    if not sizes or any(d < 1 for d in sizes):
        raise ValueError(f"sizes must be a non-empty list of integers >= 1, got {sizes!r}")
    lam = parametric_spectrum(sum(sizes), kappa, spacing)
    if kind == "heterogeneous":
        off = np.concatenate([[0], np.cumsum(sizes)])
        return [lam[off[b]:off[b + 1]] for b in range(len(sizes))]
    if kind == "homogeneous":
        out: list[list[float]] = [[] for _ in sizes]
        b = 0
        for v in lam:  # deal in turn, skipping blocks that are full
            while len(out[b]) >= sizes[b]:
                b = (b + 1) % len(sizes)
            out[b].append(v)
            b = (b + 1) % len(sizes)
        return [np.array(x) for x in out]
    raise ValueError(f"kind must be 'heterogeneous' or 'homogeneous', got {kind!r}")


def parametric_case(kind: str, sizes=PARAMETRIC_SIZES, kappa: float = PARAMETRIC_KAPPA,
                    seed: int = 0, spacing: str = "log", **kw) -> BlockQuadratic:
    """Cases 1 and 2 as parametric families (see :func:`parametric_blocks`).

    The paper samples its block spectra from GPT-2 (Case 1, heterogeneous) and ResNet-18
    (Case 2, homogeneous); here the same contrast comes from one shared log-spaced spectrum.
    """
    kw.setdefault("name", CASE_NAMES[1 if kind == "heterogeneous" else 2])
    return from_blocks(parametric_blocks(kind, sizes, kappa, spacing), seed=seed, **kw)


def case(number: int, seed: int = 0, **kw) -> BlockQuadratic:
    """Case ``number`` (1-4) of THEORY.md, with the defaults of this module."""
    if number == 1:
        return parametric_case("heterogeneous", seed=seed, **kw)
    if number == 2:
        return parametric_case("homogeneous", seed=seed, **kw)
    if number == 3:
        return case3(seed, **kw)
    if number == 4:
        return case4(seed, **kw)
    raise ValueError(f"case must be 1, 2, 3 or 4, got {number!r}")


def worst_case_gd(kappa: float) -> BlockQuadratic:
    """Z24.gd-lower-bound: ``H = diag(1, kappa)``, ``w* = 0``, ``w0 = (1, 1/kappa)``.

    The gradient at ``w0`` is ``(1, 1)``; every fixed step size contracts the loss by at least
    ``(1 - 2/(kappa+1))^2`` per step.
    """
    if not (math.isfinite(kappa) and kappa > 1):
        raise ValueError(f"kappa must be a finite number > 1, got {kappa!r}")
    return from_blocks([[1.0], [kappa]], rotation="identity", w_star=[0.0, 0.0],
                       w0=[1.0, 1.0 / kappa], name=f"GD worst case (kappa = {kappa:g})")
