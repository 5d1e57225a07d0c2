"""K24 on the general linear model: the paper's experiment, the gradient-Hessian assignment, flows.

Claims measured here (THEORY.md, "Gradient and Hessian of the general linear model" and "The
linear-model experiment"):

* **K24.init-grad-hess** (:func:`init_grad_hess_check`): at ``W = 0`` the gradient is
  ``xbar/c - pi_k xbar^k`` and every diagonal Hessian block is ``(1/c)(1 - 1/c) Hbar``;
* **K24.block-rows** (:func:`block_rows_check`): per sample, each row of Hessian blocks sums to
  zero;
* **K24.assignment** (:func:`assignment_slopes`): along GD and Adam, each class's gradient norm
  against its Hessian-block trace on log-log axes; the fitted slope tends to 1;
* **K24.experiment** (:func:`experiment`, :func:`criterion`): GD, GD with momentum, Adam with
  ``beta1 = 0`` and ``0.9``, sign descent and normalized GD on the "random heavy-tailed labels"
  set, each at the best step size of its own grid; per-group losses.

The optimizers are the compiled update rules of :mod:`linsim.optimizers`
(:func:`linsim.optimizers.update` on the flattened ``(c, d + 1)`` weights): every model of a
step-size grid advances in *lockstep* (:func:`run_lockstep`), so one pair of BLAS products per
step serves them all (:meth:`linsim.problems.linear.LinearModel.loss_grad` on a stack). GD,
momentum and normalized GD, whose steps are linear combinations of gradients, run on their
logits instead (:func:`logit_step`: one ``n x n x c`` product with the Gram matrix ``A A^T``
per step, about 0.44 of the two ``n x D x c`` products at m = 7, same iterates up to rounding).

Rounding matters here: at the tabulated step sizes of m = 7, GD (lr 10, far past its stability
limit) and normalized GD are chaotic. Two runs whose products round differently (OpenBLAS with
1 or 2 threads; a model stacked with others or alone; weights or logits) agree to about 1e-10
up to step ~50-100, then their losses differ by O(1) (measured: 0.34 and 0.047 for GD at step
200 with 1 and 2 BLAS threads); momentum drifts by about 1e-4. Every run is bit-reproducible
for a fixed BLAS configuration, but those curves past ~100 steps are one rounding's
realization, not a property of the method.

Flows (:func:`flow_run`, :func:`sign_flow_limit`, :func:`discrete_vs_flow`): gradient and sign
flow on the same general model through :func:`linsim.integrate.solve` (right-hand side
:func:`linsim.problems.linear.linear_field` with the transforms of :mod:`linsim.flows`), for
small ``m``, compared with GD and sign descent at small steps (a step ``h`` for ``N`` steps
against the flow at ``t = N h``). Plain sign flow stalls on this model (sliding, see
:func:`flow_run`); sign flow is taken as the ``eps -> 0`` limit of the ``sign_sqrt`` flow.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from .. import optimizers as opt
from .. import rates
from ..integrate import solve
from ..problems import zipf
from ..problems.linear import LinearData, LinearModel, heavy_tailed_labels
from ..problems.linear import heavy_tailed_sizes as sizes

# --------------------------------------------------------------------------------------------
# BLAS threads
# --------------------------------------------------------------------------------------------
_BLAS_SYMBOLS = ("scipy_openblas_{}_num_threads64_", "scipy_openblas_{}_num_threads",
                 "openblas_{}_num_threads64_", "openblas_{}_num_threads")


def _openblas():
    """``(get, set)`` of the OpenBLAS loaded by NumPy (found in ``/proc/self/maps``), or None."""
    import ctypes
    import re

    try:
        with open("/proc/self/maps") as f:
            paths = sorted(set(re.findall(r"(/\S+openblas\S*\.so\S*)", f.read())))
    except OSError:
        return None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for sym in _BLAS_SYMBOLS:
            if hasattr(lib, sym.format("get")) and hasattr(lib, sym.format("set")):
                get, put = getattr(lib, sym.format("get")), getattr(lib, sym.format("set"))
                get.restype = ctypes.c_int
                return get, lambda k, put=put: put(ctypes.c_int(k))
    return None


class blas_threads:
    """Context manager: run NumPy's OpenBLAS with ``k`` threads inside the block.

    The products of the small checks (``m <= 7``) gain nothing from threads, and on a loaded
    machine OpenBLAS's spinning threads made them up to 50x slower (measured: a 400-step
    ``m = 5`` study 28 s with two threads, 0.4 s with one). A no-op where OpenBLAS is not
    found.
    """

    def __init__(self, k: int = 1):
        self.k = k
        self.prev = None
        self.api = None

    def __enter__(self):
        self.api = _openblas()
        if self.api is not None:
            self.prev = int(self.api[0]())
            self.api[1](self.k)
        return self

    def __exit__(self, *exc):
        if self.api is not None and self.prev is not None:
            self.api[1](self.prev)
        return False


# --------------------------------------------------------------------------------------------
# optimizers and their step-size grids
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OptimizerSpec:
    """One optimizer of the experiment: CLI name, label, constructor and step-size grid."""

    name: str
    label: str
    make: Callable[[float], opt.Optimizer]
    grid: tuple[float, ...]


def _grid(lo: float, hi: float) -> tuple[float, ...]:
    """Half-decade grid from ``lo`` to ``hi`` (7 points over 3 decades)."""
    return tuple(float(x) for x in opt.lr_grid(lo, hi, per_decade=2))


def _momentum(lr: float) -> opt.Optimizer:
    return opt.heavy_ball(lr, 0.9)


def _adam0(lr: float) -> opt.Optimizer:
    return opt.adam(lr, 0.0, 0.999, name="adam(0,0.999)")


def _adam(lr: float) -> opt.Optimizer:
    return opt.adam(lr, 0.9, 0.999, name="adam(0.9,0.999)")


#: The optimizers of K24.experiment, in figure order. The grids span three decades around the
#: best step sizes measured at m = 5..7 (half-decade spacing); GD's reaches 10x past its
#: classical stability limit 2/lambda_max (about 0.06 at m = 7 once the class prior is learned).
SPECS: dict[str, OptimizerSpec] = {s.name: s for s in (
    OptimizerSpec("gd", "GD", opt.gd, _grid(1e-2, 1e1)),
    OptimizerSpec("momentum", "GD + momentum (0.9)", _momentum, _grid(1e-3, 1e0)),
    OptimizerSpec("adam0", "Adam (beta1 = 0)", _adam0, _grid(1e-4, 1e-1)),
    OptimizerSpec("adam", "Adam (beta1 = 0.9)", _adam, _grid(1e-4, 1e-1)),
    OptimizerSpec("sign", "sign descent", opt.sign_descent, _grid(1e-5, 1e-2)),
    OptimizerSpec("normalized", "normalized GD", opt.normalized_gd, _grid(1e-2, 1e1)),
)}
#: Tabulated step sizes (``m -> {"steps", "lrs"}``): the best final overall loss on each grid at
#: the given horizon, measured with ``python -m linsim.experiment --m M --steps S --tune``.
#: Measured on a 16-core Xeon (the algorithm is deterministic: another machine chooses the same
#: step sizes up to rounding of the final losses, which differ by orders of magnitude here).
#: At m = 7 GD, momentum and both Adams choose the largest step of their grids.
TUNED: dict[int, dict] = {
    7: {"steps": 1000, "lrs": {"gd": 10.0, "momentum": 1.0, "adam0": 0.1, "adam": 0.1,
                               "sign": 0.00031622776601683794, "normalized": 1.0}},
}
#: Pass criterion of K24.experiment (THEORY.md): rarest group's loss / log c.
GD_FLOOR, ADAPTIVE_CEILING = 0.9, 0.5
#: Optimizers held to each side of the criterion.
SLOW, FAST = ("gd",), ("adam0", "adam", "sign")
#: A run whose loss exceeds ``BLOWUP * log c`` (or is not finite) has diverged.
BLOWUP = 1e3
#: A run is *stable* when its overall loss never rises more than this fraction above its
#: running minimum (THEORY.md, K24.experiment: "never rises by more than a few percent").
RISE = 0.05
#: Tabulated *stable* step sizes (``m -> {"steps", "lrs"}``): the largest step of each grid
#: whose overall loss never rose more than :data:`RISE` over ``steps`` steps (data seed 0),
#: measured with ``python -m linsim.experiment --m M --steps S --select stable
#: --optimizers gd,sign,adam`` (:func:`experiment` with ``select="stable"``).
STABLE: dict[int, dict] = {
    5: {"steps": 500, "lrs": {"gd": 0.1, "sign": 0.01, "adam": 0.01}},
    # measured with largest_stable(7, name, 1000) (same rule; the grid from its top down):
    # rises GD 10 .. 0.316: 224, 217, 246, 9.9; 0.1: 0.16; 0.0316: 0. Sign 0.01: 0.52,
    # 0.00316: 0.033. Adam 0.1, 0.0316, 0.01: 30.6, 5.9, 0.54; 0.00316: 0.018
    7: {"steps": 1000, "lrs": {"gd": 0.03162277660168379, "sign": 0.0031622776601683794,
                               "adam": 0.0031622776601683794}},
}
#: Predicted slope of log(half-loss steps) against log(group frequency) (THEORY.md,
#: K24.experiment: GD's times grow like 1/pi, K24.gf-rate; sign descent's and Adam's do not).
HALF_SLOPE = {"gd": -1.0, "sign": 0.0, "adam": 0.0, "adam0": 0.0}


def record_steps(steps: int, points: int = 120) -> np.ndarray:
    """Recorded steps: 0, then about ``points`` log-spaced steps up to ``steps``."""
    if steps < 1:
        return np.array([0])
    s = np.unique(np.round(np.logspace(0, math.log10(steps), points)).astype(np.int64))
    return np.concatenate([[0], s[s <= steps]])


# --------------------------------------------------------------------------------------------
# lockstep runs
# --------------------------------------------------------------------------------------------
@dataclass
class Trajectory:
    """One optimizer run: losses at the recorded steps, and assignment snapshots.

    Attributes
    ----------
    name : str
        Optimizer name (a key of :data:`SPECS`, or any label).
    optimizer : Optimizer
    steps : ndarray
        Recorded steps.
    overall : ndarray
        ``(R,)`` full-batch loss (NaN after a divergence).
    class_losses : ndarray
        ``(R, c)`` per-class mean losses.
    diverged_at : int or None
        Step at which the loss became non-finite or exceeded ``BLOWUP log c``.
    snapshots : dict
        Step -> ``(grad_norms, traces)``, each ``(c,)``: per-class gradient norms and Hessian
        block traces (K24.assignment-iid).
    weights : dict
        Step -> the weights ``(c, D)`` at the snapshot steps (K24.assignment).
    """

    name: str
    optimizer: opt.Optimizer
    steps: np.ndarray
    overall: np.ndarray
    class_losses: np.ndarray
    diverged_at: int | None = None
    snapshots: dict = field(default_factory=dict)
    weights: dict = field(default_factory=dict)

    @property
    def lr(self) -> float:
        return self.optimizer.lr

    @property
    def final_loss(self) -> float:
        """The last recorded loss (inf after a divergence)."""
        return float("inf") if self.diverged_at is not None else float(self.overall[-1])

    @property
    def rise(self) -> float:
        """Largest relative rise of the overall loss above its running minimum (inf after a
        divergence): ``max_t L(t) / min_{s <= t} L(s) - 1`` over the recorded steps."""
        return loss_rise(self.overall) if self.diverged_at is None else float("inf")


def loss_rise(overall: np.ndarray) -> float:
    """``max_t L(t) / min_{s <= t} L(s) - 1`` over the finite prefix of ``overall``."""
    v = np.asarray(overall, float)
    v = v[: np.argmin(np.isfinite(v)) if not np.isfinite(v).all() else v.size]
    if v.size == 0:
        return float("inf")
    return float(np.max(v / np.minimum.accumulate(v)) - 1.0)


#: Methods whose step is a linear combination of gradients: they can run on the logits.
LOGIT_CODES = (opt.GD, opt.HEAVY_BALL, opt.NORMALIZED)


def uses_gram(n: int, D: int, dtype=np.float64) -> bool:
    """Whether :func:`run_lockstep` runs GD, heavy ball and normalized GD on the logits by
    default: float64 data with ``n <= D``, where the ``n x n`` Gram matrix holds no more than
    the inputs and its one product per step (``2 n^2 c`` flops) costs at most half of the two
    products of a gradient (``4 n D c``)."""
    return np.dtype(dtype) == np.float64 and n <= D


@njit(cache=True)
def logit_step(codes, hypers, k, Z, KR, R, M, C, MC):
    """One step of GD, heavy ball or normalized GD for models side by side, on their logits.

    Model ``b`` holds columns ``b c .. (b+1) c - 1`` of every ``(n, blocks c)`` array: logits
    ``Z = A W^T``, residuals ``R`` (its gradient is ``R_b^T A``), ``KR = K R`` with the Gram
    matrix ``K = A A^T`` (the gradient's move of the logits: ``A (R_b^T A)^T = K R_b``), the
    momentum ``M`` of the logits. The rules are those of :func:`linsim.optimizers.update` with
    ``w -> Z`` and ``g -> K R``: ``Z -= lr K R``; ``M = beta M - lr K R, Z += M``; and
    ``Z -= lr_k K R / ||g||`` with ``||g||^2 = <R, K R>`` (no move when it is 0). With
    ``C.shape[0] > 0`` the weights' coefficients are tracked as well (``W = W0 + C^T A``: the
    same rules with ``g -> R``, momentum ``MC``), for snapshots. Any other method code poisons
    the model's logits with NaN (it is then dropped as diverged).
    """
    n = Z.shape[0]
    blocks = codes.size
    c = Z.shape[1] // blocks
    track = C.shape[0] > 0
    for b in range(blocks):
        code = codes[b]
        h = hypers[b]
        lo = b * c
        hi = lo + c
        # loops over row views (1-D, unit stride): they vectorize, 2-D indexing does not
        if code == opt.HEAVY_BALL:
            lr = h[0]
            beta = h[1]
            for i in range(n):
                _momentum_row(Z[i], M[i], KR[i], lo, hi, lr, beta)
                if track:
                    _momentum_row(C[i], MC[i], R[i], lo, hi, lr, beta)
            continue
        if code == opt.GD:
            a = h[0]
        elif code == opt.NORMALIZED:
            acc = 0.0
            for i in range(n):
                r = R[i]
                kr = KR[i]
                for j in range(lo, hi):
                    acc += r[j] * kr[j]
            if not acc > 0.0:
                continue
            a = opt.step_size(h, k) / math.sqrt(acc)
        else:
            for i in range(n):
                Z[i, lo:hi] = np.nan
            continue
        for i in range(n):
            _axpy_row(Z[i], KR[i], lo, hi, a)
            if track:
                _axpy_row(C[i], R[i], lo, hi, a)


@njit(cache=True)
def _axpy_row(z, g, lo, hi, a):
    """``z[lo:hi] -= a g[lo:hi]`` (on slices, indices from 0: no wraparound test, so the loop
    vectorizes)."""
    zs = z[lo:hi]
    gs = g[lo:hi]
    for j in range(zs.size):
        zs[j] -= a * gs[j]


@njit(cache=True)
def _momentum_row(z, m, g, lo, hi, lr, beta):
    """``m = beta m - lr g; z += m`` on ``[lo, hi)`` (slices, as :func:`_axpy_row`)."""
    zs = z[lo:hi]
    ms = m[lo:hi]
    gs = g[lo:hi]
    for j in range(zs.size):
        ms[j] = beta * ms[j] - lr * gs[j]
        zs[j] += ms[j]


class _WeightGroup:
    """Models that step their weights (every method): one stacked :meth:`loss_grad` per step."""

    def __init__(self, model: LinearModel, entries: Sequence[tuple[str, opt.Optimizer]],
                 index: Sequence[int], W0: np.ndarray | None):
        k = len(index)
        self.model = model
        self.alive = np.asarray(index, dtype=np.int64)
        self.W = model.zeros(k)
        if W0 is not None:
            self.W[:] = W0
        self.G = np.empty_like(self.W)
        self.mom = np.zeros((k, model.size))
        self.sec = np.zeros((k, model.size))
        self.codes = {a: entries[a][1].code for a in index}
        self.hypers = {a: entries[a][1].vector() for a in index}
        self.offsets = np.array([0, model.size], dtype=np.int64)

    def evaluate(self) -> tuple[np.ndarray, np.ndarray]:
        return self.model.loss_grad(self.W, self.G)

    def snapshot(self) -> list[tuple[np.ndarray, np.ndarray]]:
        norms = self.model.class_grad_norms(self.G)
        return [(norms[j].copy(), self.model.block_traces(self.W[j]), self.W[j].copy())
                for j in range(self.alive.size)]

    def keep(self, keep: np.ndarray) -> None:
        self.alive = self.alive[keep]
        # G: this step's gradients, still needed
        self.W, self.G = self.W[keep].copy(), self.G[keep].copy()
        self.mom, self.sec = self.mom[keep].copy(), self.sec[keep].copy()

    def step(self, s: int) -> None:
        for j, a in enumerate(self.alive):
            opt.update(self.codes[a], self.hypers[a], s, self.W[j].reshape(-1),
                       self.G[j].reshape(-1), self.mom[j], self.sec[j], self.offsets)


class _LogitGroup:
    """GD, heavy ball and normalized GD on their logits (:func:`logit_step`): one ``n x n x
    (k c)`` product ``K R`` per step, weights only at snapshots (``W = W0 + C^T A``)."""

    def __init__(self, model: LinearModel, entries: Sequence[tuple[str, opt.Optimizer]],
                 index: Sequence[int], W0: np.ndarray | None, track: bool):
        k = len(index)
        n, c = model.n, model.c
        self.model = model
        self.alive = np.asarray(index, dtype=np.int64)
        self.K = model.gram if k else np.zeros((0, 0))
        self.A = model.A.astype(np.float64, copy=False)
        self.W0 = None if W0 is None else np.asarray(W0, dtype=np.float64)
        self.Z = np.zeros((n, k * c))
        if self.W0 is not None and k:
            self.Z[:] = np.tile(self.A @ self.W0.T, (1, k))
        self.R = np.empty((n, k * c))
        self.KR = np.empty((n, k * c))
        self.M = np.zeros((n, k * c))
        shape = (n, k * c) if track else (0, 0)
        self.C, self.MC = np.zeros(shape), np.zeros(shape)
        self.codes = np.array([entries[a][1].code for a in index], dtype=np.int64)
        self.hypers = np.array([entries[a][1].vector()[: opt.HYPER_HEAD] for a in index]
                               ).reshape(k, opt.HYPER_HEAD)

    def evaluate(self) -> tuple[np.ndarray, np.ndarray]:
        return self.model.loss_logits(self.Z, self.R, self.alive.size)

    def snapshot(self) -> list[tuple[np.ndarray, np.ndarray]]:
        c, out = self.model.c, []
        for j in range(self.alive.size):
            cols = slice(j * c, (j + 1) * c)
            G = self.R[:, cols].T @ self.A
            W = self.C[:, cols].T @ self.A
            if self.W0 is not None:
                W += self.W0
            out.append((self.model.class_grad_norms(G), self.model.block_traces(W), W))
        return out

    def keep(self, keep: np.ndarray) -> None:
        n, c = self.model.n, self.model.c
        k = self.alive.size
        self.alive = self.alive[keep]
        self.codes, self.hypers = self.codes[keep].copy(), self.hypers[keep].copy()
        for name in ("Z", "R", "KR", "M", "C", "MC"):
            x = getattr(self, name)
            if x.shape[0]:
                setattr(self, name, x.reshape(n, k, c)[:, keep].reshape(n, -1).copy())

    def step(self, s: int) -> None:
        np.matmul(self.K, self.R, out=self.KR)
        logit_step(self.codes, self.hypers, s, self.Z, self.KR, self.R, self.M, self.C,
                   self.MC)


def run_lockstep(model: LinearModel, entries: Sequence[tuple[str, opt.Optimizer]], steps: int,
                 record: np.ndarray | None = None, snapshots: Sequence[int] = (),
                 blowup: float = BLOWUP, progress: Callable[[int], None] | None = None,
                 W0: np.ndarray | None = None, gram: bool | None = None) -> list[Trajectory]:
    """Run every ``(name, optimizer)`` from ``W0`` (default 0) for ``steps`` steps, in lockstep.

    Two groups advance side by side, each with one stacked evaluation per step:

    * GD, heavy ball and normalized GD (with ``gram``) run on their logits ``Z = A W^T``: a
      gradient ``G = R^T A`` moves them by ``K R``, with the Gram matrix ``K = A A^T``, so
      one ``n x n x (k c)`` product serves the step (:func:`logit_step`; the weights are formed
      only at snapshots). The same iterates as stepping the weights, up to rounding: about
      ``2 n / (4 D)`` of the cost, 0.44 at ``m = 7``;
    * every other model steps its weights: one stacked :meth:`LinearModel.loss_grad` (two BLAS
      products) and its compiled update rule (:func:`linsim.optimizers.update`).

    A model whose loss is not finite or exceeds ``blowup log c`` is dropped (its
    ``diverged_at`` set).

    Parameters
    ----------
    model : LinearModel
    entries : sequence of (str, Optimizer)
    steps : int
        Number of updates.
    record : ndarray, optional
        Sorted steps at which to record the losses (default :func:`record_steps`).
    snapshots : sequence of int
        Steps at which to record per-class gradient norms and Hessian-block traces.
    blowup : float
    progress : callable, optional
        Called with the number of steps done since the last call.
    W0 : ndarray, optional
        Initial weights ``(c, D)``.
    gram : bool, optional
        Run GD, heavy ball and normalized GD on the logits; default :func:`uses_gram` (float64
        data with ``n <= D``).

    Returns
    -------
    list of Trajectory
        In the order of ``entries``.
    """
    record = record_steps(steps) if record is None else np.asarray(record, dtype=np.int64)
    k, c = len(entries), model.c
    nrec = record.size
    overall = np.full((nrec, k), np.nan)
    cls = np.full((nrec, k, c), np.nan)
    out = [Trajectory(name, o, record, overall[:, j], cls[:, j]) for j, (name, o) in
           enumerate(entries)]
    if gram is None:
        gram = uses_gram(model.n, model.D, model.dtype)
    on_logits = [j for j, (_, o) in enumerate(entries) if gram and o.code in LOGIT_CODES]
    on_weights = [j for j in range(k) if j not in set(on_logits)]
    snap = set(int(s) for s in snapshots)
    groups = [g for g in (_WeightGroup(model, entries, on_weights, W0),
                          _LogitGroup(model, entries, on_logits, W0, bool(snap)))
              if g.alive.size]
    limit = blowup * math.log(c)
    ri = 0
    for s in range(steps + 1):
        lo = ri
        while ri < nrec and record[ri] == s:
            ri += 1
        for g in groups:
            L, CL = g.evaluate()
            overall[lo:ri, g.alive] = L
            cls[lo:ri, g.alive] = CL
            if s in snap:
                for a, (norms, traces, W) in zip(g.alive, g.snapshot(), strict=True):
                    out[a].snapshots[s] = (norms, traces)
                    out[a].weights[s] = W
            bad = ~(np.isfinite(L) & (L <= limit))
            if bad.any():
                for a in g.alive[bad]:
                    out[a].diverged_at = s
                g.keep(~bad)
        groups = [g for g in groups if g.alive.size]
        if not groups or s == steps:
            break
        for g in groups:
            g.step(s)
        if progress is not None:
            progress(1)
    return out


# --------------------------------------------------------------------------------------------
# K24.experiment
# --------------------------------------------------------------------------------------------
@dataclass
class ExperimentResult:
    """The K24 linear-model experiment: every optimizer at its chosen step size.

    Attributes
    ----------
    data : LinearData
    steps : int
        Number of updates of every run.
    chosen : dict
        Optimizer name -> its :class:`Trajectory` at the chosen step size.
    trials : dict
        Optimizer name -> list of ``(lr, final loss, diverged_at)`` over its grid.
    lr_source : dict
        Optimizer name -> ``"grid"`` (chosen on its grid) or ``"given"``.
    seconds : float
        Wall time of all runs.
    select : str
        How a grid's step was chosen (:func:`choose`).
    """

    data: LinearData
    steps: int
    chosen: dict
    trials: dict
    lr_source: dict
    seconds: float = 0.0
    select: str = "final"

    @property
    def classes(self) -> int:
        return self.data.classes

    @property
    def record(self) -> np.ndarray:
        return next(iter(self.chosen.values())).steps

    @property
    def pi(self) -> np.ndarray:
        return self.data.pi

    @property
    def n_groups(self) -> int:
        return self.data.n_groups

    def group_curves(self, name: str) -> np.ndarray:
        """``(R, G)`` sample-weighted mean loss of each equal-mass group (most frequent first)."""
        tr = self.chosen[name]
        with np.errstate(invalid="ignore"):
            return zipf.group_means(np.nan_to_num(tr.class_losses, nan=np.inf), self.pi,
                                    self.data.groups, self.n_groups)

    def rarest_ratio(self, name: str) -> float:
        """Final loss of the rarest group divided by ``log c`` (inf after a divergence)."""
        tr = self.chosen[name]
        if tr.diverged_at is not None:
            return float("inf")
        return float(self.group_curves(name)[-1, -1] / math.log(self.classes))

    def crossing_step(self, name: str, level: float, group: int = -1) -> int | None:
        """First recorded step at which ``group``'s loss is below ``level log c`` (None: never)."""
        g = self.group_curves(name)[:, group]
        hit = np.flatnonzero(g < level * math.log(self.classes))
        return int(self.record[hit[0]]) if hit.size else None


def criterion(result: ExperimentResult) -> dict:
    """K24.experiment's pass criterion, measured on the finished runs.

    Under GD the rarest group's loss is still ``>= 0.9 log c``; under Adam (both ``beta1``) and
    sign descent it has fallen below ``0.5 log c``. Returns the ratios (loss / log c), the
    ``margin`` (``<= 0`` exactly when every present optimizer meets its side) and ``passed``.
    """
    ratios = {name: result.rarest_ratio(name) for name in result.chosen}
    terms = [GD_FLOOR - ratios[n] for n in SLOW if n in ratios]
    terms += [ratios[n] - ADAPTIVE_CEILING for n in FAST if n in ratios]
    margin = max(terms) if terms else float("nan")
    return {"rarest_over_log_c": ratios, "margin": margin, "passed": bool(margin <= 0.0),
            "gd_floor": GD_FLOOR, "adaptive_ceiling": ADAPTIVE_CEILING,
            "crossings": {n: {"below_0.9": result.crossing_step(n, GD_FLOOR),
                              "below_0.5": result.crossing_step(n, ADAPTIVE_CEILING)}
                          for n in result.chosen}}


def half_loss_steps(tr: Trajectory, data: LinearData) -> np.ndarray:
    """Per group, the first recorded step at which its loss is at most half its loss at step 0
    (K24.experiment; at ``W = 0`` every group's loss is ``log c``).

    Returns ``(G,)`` floats; ``inf`` where the group never gets there within the run (censored)
    or the run diverged first.
    """
    cl = np.nan_to_num(tr.class_losses, nan=np.inf)
    with np.errstate(invalid="ignore"):
        g = zipf.group_means(cl, data.pi, data.groups, data.n_groups)
    hit = g <= 0.5 * g[:1]
    out = np.full(data.n_groups, np.inf)
    for j in range(data.n_groups):
        idx = np.flatnonzero(hit[:, j])
        if idx.size:
            out[j] = float(tr.steps[idx[0]])
    return out


def group_frequencies(data: LinearData) -> np.ndarray:
    """Mean class frequency ``pi_k`` of each group (the classes of a heavy-tailed-labels group
    share one)."""
    G = data.n_groups
    return np.array([data.pi[data.groups == g].mean() for g in range(G)])


def half_loss_slope(steps: np.ndarray, freq: np.ndarray, min_groups: int = 3) -> dict:
    """Least-squares slope of ``log(steps)`` against ``log(frequency)`` over the groups that
    reached half their initial loss (the censored ones, ``inf``, are left out and counted).

    NaN when fewer than ``min_groups`` groups crossed, or when the crossed groups' frequencies
    do not spread.
    """
    steps = np.asarray(steps, float)
    ok = np.isfinite(steps) & (steps > 0)
    out = {"crossed": int(ok.sum()), "censored": int((~np.isfinite(steps)).sum())}
    if ok.sum() < min_groups or np.ptp(np.log(freq[ok])) < 1e-9:
        return {**out, "slope": float("nan")}
    x, y = np.log(freq[ok]), np.log(steps[ok])
    return {**out, "slope": float(np.polyfit(x, y, 1)[0])}


def prior_groups(data: LinearData) -> np.ndarray:
    """Groups whose loss falls below half of ``log c`` by the class prior alone.

    Once the bias has learned the class frequencies (every sample predicts ``p = pi``), a class
    has loss ``log(1 / pi_k)``; where that is already ``<= log(c) / 2`` the group's half-loss
    step times the bias, not the fit of its classes, and says nothing about its time scale
    (for the heavy-tailed labels: ``m 2^i <= sqrt(c)``, group 0 at ``m = 5..7``).
    """
    return np.log(1.0 / group_frequencies(data)) <= 0.5 * math.log(data.classes)


def half_loss_study(m: int, lrs: dict[str, float], steps: int, seeds: Sequence[int],
                    horizons: Sequence[int] | None = None, data_kw: dict | None = None,
                    keep_first: bool = False, as_gd: str | None = None) -> dict:
    """K24.experiment's measurement: per seed, per optimizer, the half-loss step of every group
    and the slope of ``log(steps)`` against ``log(group frequency)``.

    Every optimizer runs at its given step size on :func:`heavy_tailed_labels` ``(m, seed)``
    for ``steps`` steps, every step recorded. The slope is fitted over the groups that crossed
    within each horizon (default ``steps / 2`` and ``steps``) and are not prior groups
    (:func:`prior_groups`); censored groups (no crossing within the horizon) are counted, and
    ``consistent`` says whether each is predicted, by the fitted line, to cross after the
    horizon (a censored group that the line puts inside the horizon contradicts the fit).
    ``data_kw`` overrides arguments of the data set (e.g. ``{"dataset": "uniform"}`` for the
    uniform-frequency control, :func:`heavy_tailed_means` arguments otherwise). ``as_gd``
    runs another optimizer (at its own step size) in GD's slot (a negative control);
    ``keep_first`` keeps the first seed's runs as an :class:`ExperimentResult` (``"first"``).
    ``resolution`` bounds the change of a fitted slope when every half-loss step moves by one
    step: ``sum_i |x_i - xbar| / (S_xx step_i)``.
    """
    horizons = [steps // 2, steps] if horizons is None else list(horizons)
    names = list(lrs)
    per: dict[str, list] = {n: [] for n in names}
    first = None
    for seed in seeds:
        data = _study_data(m, seed, data_kw)
        model = LinearModel(data)
        entries = []
        for n in names:
            src = as_gd if (n == "gd" and as_gd) else n
            entries.append((n, SPECS[src].make(float(lrs[src]))))
        runs = run_lockstep(model, entries, steps, record=np.arange(steps + 1))
        if keep_first and first is None:
            first = ExperimentResult(data, steps, {tr.name: tr for tr in runs}, {},
                                     {n: "given" for n in names})
        freq = group_frequencies(data)
        skip = prior_groups(data)
        for tr in runs:
            half = half_loss_steps(tr, data)
            row = {"seed": int(seed), "half_steps": half, "rise": tr.rise,
                   "excluded": np.flatnonzero(skip).tolist()}
            for H in horizons:
                cut = np.where((half <= H) & ~skip, half, np.inf)
                cut[skip] = np.nan
                keep = ~skip
                fit = half_loss_slope(cut[keep], freq[keep])
                cons, res = True, float("nan")
                if math.isfinite(fit["slope"]):
                    ok = np.isfinite(cut) & keep
                    x, y = np.log(freq[ok]), np.log(cut[ok])
                    b = float(np.mean(y - fit["slope"] * x))
                    cens = keep & ~np.isfinite(cut)
                    pred = np.exp(b + fit["slope"] * np.log(freq[cens]))
                    cons = bool(np.all(pred > 0.5 * H))
                    xc = x - x.mean()
                    res = float(np.sum(np.abs(xc) / cut[ok]) / np.sum(xc * xc))
                row[H] = {**fit, "consistent": cons, "resolution": res}
            per[tr.name].append(row)
    return {"m": m, "lrs": dict(lrs), "steps": steps, "horizons": horizons,
            "seeds": list(seeds), "runs": per, "first": first, "as_gd": as_gd}


def _study_data(m: int, seed: int, data_kw: dict | None) -> LinearData:
    from ..problems.linear import heavy_tailed_means

    kw = dict(data_kw or {})
    kind = kw.pop("dataset", "heavy_tailed")
    if kind == "heavy_tailed":
        return heavy_tailed_labels(m, seed=seed)
    if kind == "uniform":
        # the same inputs with every class given (about) the same number of samples
        base = heavy_tailed_labels(m, seed=seed)
        c = base.classes
        counts = np.full(c, base.n // c)
        counts[: base.n - counts.sum()] += 1
        y = np.repeat(np.arange(c, dtype=np.int64), counts)
        groups = np.repeat(np.arange(m), 2 ** np.arange(m)).astype(np.intp)
        return LinearData(base.Xa, y, c, groups, base.name + ", uniform frequencies",
                          {**base.params, "frequencies": "uniform"})
    return heavy_tailed_means(m, seed=seed, **kw)


#: Bytes of model state per lockstep batch of :func:`experiment`.
MEMORY_BUDGET = 1 << 30


def models_in_batch(model_bytes: int, budget: int = MEMORY_BUDGET) -> int:
    """How many models to run in one lockstep batch within ``budget`` bytes of state."""
    return max(1, int(budget // max(model_bytes, 1)))


def model_bytes(data_sizes: dict, dtype=np.float64) -> int:
    """State of one model in lockstep: W, G and two optimizer moments (float64), logits and
    residuals (the data dtype), and a float32 copy of W in float32 mode."""
    c, n, D = data_sizes["classes"], data_sizes["n"], data_sizes["d"] + 1
    item = np.dtype(dtype).itemsize
    w32 = item * c * D if item < 8 else 0
    return 4 * 8 * c * D + 2 * item * n * c + w32


def experiment(
    m: int = 7,
    optimizers: Sequence[str] = tuple(SPECS),
    steps: int = 1000,
    *,
    lrs: dict[str, float] | None = None,
    grids: dict[str, Sequence[float]] | None = None,
    data: LinearData | None = None,
    seed: int = 0,
    dtype=np.float64,
    snapshots: Sequence[int] = (),
    progress: bool = False,
    gram: bool | None = None,
    select: str = "final",
) -> ExperimentResult:
    """Run K24.experiment: each optimizer at the best step size of its grid.

    For every optimizer without a given step size, every step size of its grid runs for
    ``steps`` steps (all in lockstep, in batches within :data:`MEMORY_BUDGET`) and one is kept
    (:func:`choose`): the lowest final overall loss (``select="final"``) or the largest
    stable step (``select="stable"``).

    Parameters
    ----------
    m : int
        Groups of the heavy-tailed-labels set (ignored when ``data`` is given).
    optimizers : sequence of str
        Names from :data:`SPECS`.
    steps : int
        Updates per run.
    lrs : dict, optional
        Fixed step sizes by optimizer name (those are not tuned).
    grids : dict, optional
        Step-size grids by name (default :attr:`OptimizerSpec.grid`).
    data : LinearData, optional
        Another dataset (e.g. :func:`gaussian_mixture`).
    seed, dtype
        Data seed and storage (float32 halves the time of the products).
    snapshots : sequence of int
        Steps at which to record per-class gradient norms and block traces.
    progress : bool
        tqdm bar on stderr (terminal only).
    gram : bool, optional
        Run GD, momentum and normalized GD on the logits (see :func:`run_lockstep`); default
        :func:`uses_gram`.
    select : {"final", "stable"}
        How a grid's step is chosen (:func:`choose`).

    Returns
    -------
    ExperimentResult
    """
    if select not in ("final", "stable"):
        raise ValueError(f"select must be 'final' or 'stable', got {select!r}")
    unknown = [n for n in optimizers if n not in SPECS]
    if unknown or not optimizers:
        raise ValueError(f"optimizers must be names from {', '.join(SPECS)}, got {unknown}")
    lrs = dict(lrs or {})
    grids = dict(grids or {})
    if data is None:
        data = heavy_tailed_labels(m, seed=seed, dtype=dtype)
    model = LinearModel(data)
    # "stable" judges every step's overall loss (never rising by more than RISE)
    record = np.arange(steps + 1) if select == "stable" else record_steps(steps)
    entries: list[tuple[str, opt.Optimizer]] = []
    source = {}
    for name in optimizers:
        spec = SPECS[name]
        if name in lrs:
            entries.append((name, spec.make(float(lrs[name]))))
            source[name] = "given"
        else:
            entries += [(name, spec.make(float(lr))) for lr in grids.get(name, spec.grid)]
            source[name] = "grid"
    sz = {"classes": model.c, "n": model.n, "d": model.D - 1}
    per = models_in_batch(model_bytes(sz, model.dtype), MEMORY_BUDGET)
    bar = None
    if progress:
        import sys

        if sys.stderr.isatty():
            from tqdm import tqdm

            bar = tqdm(total=steps * math.ceil(len(entries) / per), desc="K24.experiment",
                       unit="step", file=sys.stderr, leave=False)
    start = time.perf_counter()
    runs: list[Trajectory] = []
    try:
        for lo in range(0, len(entries), per):
            runs += run_lockstep(model, entries[lo : lo + per], steps, record, snapshots,
                                 progress=None if bar is None else bar.update, gram=gram)
    finally:
        if bar is not None:
            bar.close()
    chosen, trials = {}, {}
    for name in optimizers:
        mine = [r for r in runs if r.name == name]
        trials[name] = [(r.lr, r.final_loss, r.diverged_at, r.rise) for r in mine]
        chosen[name] = choose(mine, select)
    return ExperimentResult(data, steps, chosen, trials, source, time.perf_counter() - start,
                            select)


def choose(runs: Sequence[Trajectory], select: str = "final") -> Trajectory:
    """The run kept from a step-size grid.

    ``"final"``: the lowest final overall loss (the smaller step on ties; diverged runs never
    win). ``"stable"``: the largest step whose overall loss never rose more than :data:`RISE`
    above its running minimum (THEORY.md, K24.experiment: the continuous-time theory describes
    small, stable steps); when none is stable, the smallest step.
    """
    if select == "final":
        return min(runs, key=lambda r: (r.final_loss, r.lr))
    if select == "stable":
        ok = [r for r in runs if r.rise <= RISE]
        return max(ok, key=lambda r: r.lr) if ok else min(runs, key=lambda r: r.lr)
    raise ValueError(f"select must be 'final' or 'stable', got {select!r}")


def largest_stable(m: int, name: str, steps: int, seed: int = 0,
                   grid: Sequence[float] | None = None) -> dict:
    """The largest step of ``name``'s grid whose overall loss never rises more than
    :data:`RISE` above its running minimum over ``steps`` steps (:func:`choose` with
    ``select="stable"``), found from the top of the grid down: each run alone, stopping at the
    first stable one (the smaller steps cannot be chosen). Returns the chosen step and the
    ``(lr, rise, final loss)`` of every step tried."""
    data = heavy_tailed_labels(m, seed=seed)
    model = LinearModel(data)
    tried = []
    grid = sorted(SPECS[name].grid if grid is None else grid, reverse=True)
    for lr in grid:
        (tr,) = run_lockstep(model, [(name, SPECS[name].make(float(lr)))], steps,
                             record=np.arange(steps + 1))
        tried.append((float(lr), tr.rise, tr.final_loss))
        if tr.rise <= RISE:
            return {"lr": float(lr), "tried": tried}
    return {"lr": float(min(grid)), "tried": tried}


def grid_edges(result: ExperimentResult) -> list[str]:
    """Optimizers whose chosen step size lies at an end of its grid (the grid may be short)."""
    out = []
    for name, tr in result.chosen.items():
        lrs = [t[0] for t in result.trials[name]]
        if result.select == "stable" and tr.lr == max(lrs):
            continue  # the largest step is stable: the grid's top is the answer, not a cut
        if result.lr_source[name] == "grid" and len(lrs) > 1 and tr.lr in (min(lrs), max(lrs)):
            out.append(name)
    return out


# --------------------------------------------------------------------------------------------
# K24.assignment
# --------------------------------------------------------------------------------------------
def assignment_slopes(tr: Trajectory, pi: np.ndarray) -> dict[int, dict]:
    """Fitted log-log slopes at each snapshot of ``tr`` (K24.assignment).

    ``slope``: ``log ||grad_{w_k} L||`` against ``log tr H_kk`` over the classes (the scatter of
    the claim); ``grad_vs_pi`` and ``trace_vs_pi``: each against ``log pi_k``. The scatter slope
    is NaN where the traces do not spread (at ``W = 0`` every block has the same trace,
    K24.init-grad-hess).
    """
    out = {}
    lo, hi = float(pi.min()), float(pi.max())
    for s in sorted(tr.snapshots):
        norms, traces = tr.snapshots[s]
        spread = float(np.log(traces.max() / traces.min())) if traces.min() > 0 else math.inf
        row = {"trace_spread": spread, "points": int(traces.size)}
        if spread < 1e-6:
            row.update(slope=float("nan"), stderr=float("nan"))
        else:
            fit = rates.loglog_slope(traces, norms, float(traces.min()), float(traces.max()))
            row.update(slope=fit.value, stderr=fit.stderr)
        if hi > lo:
            row["grad_vs_pi"] = rates.loglog_slope(pi, norms, lo, hi).value
            row["trace_vs_pi"] = rates.loglog_slope(pi, traces, lo, hi).value
        out[s] = row
    return out


def assignment_ratios(model: LinearModel, W: np.ndarray) -> dict[str, np.ndarray]:
    """K24.assignment's per-class ratios at ``W`` (THEORY.md, restated Proposition 2).

    ``grad_ratio[k] = ||grad_{w_k} L|| / ((1 - p_bar_k) pi_k ||xbar^k||)`` and
    ``hess_ratio[k] = tr H_kk / (p_bar_k (1 - p_bar_k) pi_k tr Hbar^k)``, where ``p_bar_k`` is
    the mean correct-class probability of the class-``k`` samples, ``xbar^k`` their mean input
    and ``tr Hbar^k`` their mean ``||a_i||^2``. The numerators are the model's own gradient
    (:meth:`LinearModel.grad`) and Hessian-block traces (:meth:`LinearModel.block_traces`),
    summed over every sample; the denominators keep only the class-``k`` samples, so each ratio
    minus 1 is the other classes' share.
    """
    c = model.c
    G = model.grad(W)
    P = model.probabilities(W)
    rows = np.arange(model.n)
    pbar = np.bincount(model.y, P[rows, model.y], minlength=c) / model.counts
    xnorm = np.linalg.norm(model.class_means(), axis=1)
    hbar = np.bincount(model.y, model.sq_norms, minlength=c) / model.counts
    pi = model.pi
    with np.errstate(divide="ignore", invalid="ignore"):
        grad_ratio = model.class_grad_norms(G) / ((1.0 - pbar) * pi * xnorm)
        hess_ratio = model.block_traces(W) / (pbar * (1.0 - pbar) * pi * hbar)
    return {"c_pi": c * pi, "p_bar": pbar, "grad_ratio": grad_ratio, "hess_ratio": hess_ratio}


def ratio_slopes(ratios: dict[str, np.ndarray]) -> dict[str, float]:
    """Slopes of ``log|ratio - 1|`` against ``log(c pi_k)`` over the classes (K24.assignment:
    THEORY.md predicts about -1); NaN where ``c pi_k`` does not spread."""
    x = np.log(ratios["c_pi"])
    out = {}
    for key in ("grad_ratio", "hess_ratio"):
        dev = np.abs(ratios[key] - 1.0)
        ok = np.isfinite(dev) & (dev > 0) & np.isfinite(x)
        if ok.sum() < 3 or np.ptp(x[ok]) < 1e-9:
            out[key] = float("nan")
        else:
            out[key] = float(np.polyfit(x[ok], np.log(dev[ok]), 1)[0])
    return out


def gd_safe_lr(model: LinearModel) -> float:
    """``1 / L`` with ``L = lambda_max(Hbar) / 2`` a bound on the Hessian of the softmax loss
    (``diag(p) - p p^T <= I / 2``): GD at this step decreases the loss at every step (the
    descent lemma), a stable step by construction."""
    return 2.0 / float(np.linalg.eigvalsh(model.second_moment()).max())


#: K24.assignment-iid's window (THEORY.md: "once the mean is absorbed and while most classes
#: are still far from fitted"): every class's mean term at most half its fluctuation term,
#: and the median class has closed at most a tenth of its gap to p = 1.
IID_MEAN_GATE, IID_FIT_GATE = 0.5, 0.1


def iid_diagnostics(model: LinearModel, W: np.ndarray) -> dict[str, float]:
    """Where K24.assignment-iid's derivation applies (:mod:`proofs.k24_linear`).

    ``mean_term``: largest over classes of ``|p_k - pi_k| ||xbar|| / sqrt(pi_k (1 - pi_k)
    tr Sigma / n)``, the mean (bias) part of ``grad_{w_k}`` against its central-limit part
    (``p_k`` the class's mean probability over all samples, ``Sigma`` the input covariance);
    ``fitted``: median over classes of ``(p_bar_k - p_k) / (1 - p_k)``, how far the class's own
    samples have moved from the common probability (0: not fitted, 1: memorized).
    """
    A = model.A.astype(np.float64)
    xbar = A.mean(axis=0)
    tr_sigma = float(((A - xbar) ** 2).sum(axis=1).mean())
    P = model.probabilities(W)
    pk = P.mean(axis=0)
    pi = model.pi
    mean_term = np.abs(pk - pi) * np.linalg.norm(xbar) / np.sqrt(pi * (1 - pi) * tr_sigma
                                                                  / model.n)
    pbar = np.bincount(model.y, P[np.arange(model.n), model.y], minlength=model.c)
    pbar = pbar / model.counts
    fitted = (pbar - pk) / (1.0 - pk)
    return {"mean_term": float(np.max(mean_term)), "fitted": float(np.median(fitted))}


def iid_slopes(model: LinearModel, tr: Trajectory) -> list[dict]:
    """K24.assignment-iid along one run: at each snapshot the slope of ``log ||grad_k||``
    against ``log tr H_kk`` over the classes, the diagnostics of :func:`iid_diagnostics` and
    whether the snapshot lies in the window (:data:`IID_MEAN_GATE`, :data:`IID_FIT_GATE`)."""
    out = []
    for s in sorted(tr.snapshots):
        norms, traces = tr.snapshots[s]
        if traces.min() <= 0 or np.log(traces.max() / traces.min()) < 1e-6:
            continue  # W = 0: every block has the same trace
        fit = rates.loglog_slope(traces, norms, float(traces.min()), float(traces.max()))
        diag = iid_diagnostics(model, tr.weights[s])
        inside = diag["mean_term"] <= IID_MEAN_GATE and diag["fitted"] <= IID_FIT_GATE
        out.append({"step": int(s), "slope": fit.value, "stderr": fit.stderr, **diag,
                    "window": bool(inside)})
    return out


def bootstrap_mean(values: Sequence[float], level: float = 0.95, resamples: int = 4000,
                   seed: int = 0) -> dict[str, float]:
    """Mean of per-seed values and its percentile bootstrap interval (resampling the seeds).

    Returns ``mean``, ``lo``, ``hi`` and ``halfwidth = (hi - lo) / 2``; NaN when a value is
    not finite.
    """
    v = np.asarray(values, float)
    if v.size == 0 or not np.isfinite(v).all():
        nan = float("nan")
        return {"mean": nan, "lo": nan, "hi": nan, "halfwidth": nan, "n": int(v.size)}
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, (resamples, v.size))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return {"mean": float(v.mean()), "lo": float(lo), "hi": float(hi),
            "halfwidth": float((hi - lo) / 2), "n": int(v.size)}


def snapshot_steps(steps: int, per_decade: int = 2) -> list[int]:
    """0 and about ``per_decade`` log-spaced steps per decade up to ``steps``."""
    k = max(1, int(round(math.log10(max(steps, 1)) * per_decade)))
    s = np.unique(np.round(np.logspace(0, math.log10(max(steps, 1)), k + 1)).astype(int))
    return [0, *[int(x) for x in s]]


# --------------------------------------------------------------------------------------------
# K24.init-grad-hess and K24.block-rows
# --------------------------------------------------------------------------------------------
def gradient_oracle(model: LinearModel, loss: str = "softmax") -> Callable[[np.ndarray],
                                                                        np.ndarray]:
    """The gradient code that K24.init-grad-hess and K24.block-rows differentiate.

    ``"softmax"``: the model's own gradient (:meth:`LinearModel.grad`, the compiled softmax
    kernel and BLAS). ``"sigmoid"``: one-vs-rest logistic loss ``sum_k softplus((1 - 2 y_k)
    z_k)`` on the same logits (written here in NumPy), the negative control: its Hessian blocks
    are ``s_k (1 - s_k) x x^T`` on the diagonal and 0 off it, so its rows do not sum to 0 and its
    blocks at ``W = 0`` are ``Hbar / 4``.
    """
    if loss == "softmax":
        return model.grad
    if loss != "sigmoid":
        raise ValueError(f"loss must be 'softmax' or 'sigmoid', got {loss!r}")
    A = model.A.astype(np.float64)
    Y = np.zeros((model.n, model.c))
    Y[np.arange(model.n), model.y] = 1.0

    def grad(W: np.ndarray) -> np.ndarray:
        Z = A @ np.asarray(W, float).T
        S = 0.5 * (1.0 + np.tanh(0.5 * Z))  # the logistic function, without overflow
        return (S - Y).T @ A / model.n

    return grad


def fd_hessian_columns(grad: Callable[[np.ndarray], np.ndarray], W: np.ndarray,
                       directions: Sequence[np.ndarray], h: float) -> np.ndarray:
    """Central differences of a gradient code: ``(grad(W + h V) - grad(W - h V)) / (2 h)`` for
    each direction ``V``; returns ``(len(directions), *W.shape)``."""
    return np.stack([(grad(W + h * V) - grad(W - h * V)) / (2.0 * h) for V in directions])


#: Step of the central differences of K24.init-grad-hess.
FD_STEP = 1e-4


def init_grad_hess_check(data: LinearData, loss: str = "softmax", W: np.ndarray | None = None,
                         h: float = FD_STEP) -> dict:
    """K24.init-grad-hess on ``data``: the gradient code and its finite differences at ``W = 0``
    against the data-statistics formulas.

    Both sides are independent: the gradient is the model's compiled code
    (:func:`gradient_oracle`), each diagonal Hessian block is formed column by column from
    central differences of that code along ``E_ka`` (weight ``(k, a)``), and the predictions
    ``xbar/c - pi_k xbar^k`` and ``(1/c)(1 - 1/c) Hbar`` come from the data's class means and
    second moment. Each error is returned in units of its error bound:

    * gradient: ``|G - pred| <= 4 n eps max|a|`` per entry (rounding of a sum of ``n`` terms
      in the softmax kernel and the BLAS product);
    * blocks: truncation ``h^2 / 6 * max|d^3 l / dz_k^3| * max|a_ia|^2 |a_ib|`` with
      ``|p (1 - p)(1 - 2 p)| <= 1 / (6 sqrt 3)`` plus rounding ``2 eps_g / h`` (``eps_g`` the
      gradient's rounding bound).

    ``loss = "sigmoid"`` or a given ``W`` are the negative controls (a wrong model, a point
    other than 0).
    """
    model = LinearModel(data)
    c, D = model.shape
    W0 = model.zeros() if W is None else np.asarray(W, float)
    grad = gradient_oracle(model, loss)
    G = grad(W0)
    A = model.A.astype(np.float64)
    amax = float(np.abs(A).max())
    xbar = A.mean(axis=0)
    pred_g = xbar[None, :] / c - model.pi[:, None] * model.class_means()
    eps = float(np.finfo(float).eps)
    g_bound = 4.0 * model.n * eps * amax
    g_units = float(np.abs(G - pred_g).max() / g_bound)
    Hbar = model.second_moment()
    pred_h = (1.0 / c) * (1.0 - 1.0 / c) * Hbar
    trunc = h * h / 6.0 / (6.0 * math.sqrt(3.0)) * amax**3
    h_bound = trunc + 2.0 * g_bound / h
    h_units = 0.0
    for k in range(c):
        dirs = []
        for a in range(D):
            V = np.zeros_like(W0)
            V[k, a] = 1.0
            dirs.append(V)
        block = fd_hessian_columns(grad, W0, dirs, h)[:, k, :].T
        h_units = max(h_units, float(np.abs(block - pred_h).max() / h_bound))
    traces = model.block_traces(model.zeros())
    return {"grad_err_units": g_units, "hess_err_units": h_units, "grad_bound": g_bound,
            "hess_bound": h_bound, "trace_spread": float(traces.max() / traces.min() - 1.0),
            "pi_spread": float(model.pi.max() / model.pi.min()), "classes": c, "D": D,
            "loss": loss, "at_zero": W is None}


def block_rows_check(draws: int = 20, seed: int = 0, loss: str = "softmax",
                     h: float = 1.0) -> dict:
    """K24.block-rows on random single samples, from differences of the gradient code.

    Each draw: one sample ``(x, y)`` with random ``c`` (2..8) and ``d`` (1..5) and weights of
    random scale (logits from near-uniform probabilities to saturated ones, ``|z|`` up to about
    30); no draw is skipped. ``sum_j H_kj v`` is the derivative of the gradient code along the
    all-classes direction ``1 (x) v`` (every logit moves by ``v . x``), taken by central
    differences for each basis vector ``v = e_a``. The softmax is invariant along that
    direction, so the difference has no truncation error at any ``h``, and its rounding error is
    at most ``eps_g / h`` with ``eps_g = 4 c eps (1 + max|z| + h max|x|) max|x|`` (the rounding
    of one gradient evaluation). The row sums are reported in units of that bound (``<= 1``:
    zero to rounding), and relative to the largest block entry (central differences along
    ``E_ka`` with step ``1e-5``) where that is resolved.
    """
    rng = np.random.default_rng(seed)
    eps = float(np.finfo(float).eps)
    worst_units = 0.0
    per_draw = []
    for _ in range(draws):
        c = int(rng.integers(2, 9))
        d = int(rng.integers(1, 6))
        Xa = np.concatenate([rng.standard_normal((1, d)), np.ones((1, 1))], axis=1)
        y = np.array([int(rng.integers(c))], dtype=np.int64)
        model = LinearModel(LinearData(Xa, y, c, np.zeros(c, dtype=np.intp), "one sample"),
                            allow_empty=True)
        scale = 10.0 ** rng.uniform(-1, 1.5)
        W = rng.standard_normal(model.shape) * scale / math.sqrt(d + 1)
        D = model.D
        grad = gradient_oracle(model, loss)
        xmax = float(np.abs(Xa).max())
        zmax = float(np.abs(model.logits(W)).max())
        ones = [np.outer(np.ones(c), np.eye(D)[a]) for a in range(D)]
        rows = fd_hessian_columns(grad, W, ones, h)  # (D, c, D): sum_j H_kj e_a
        bound = 4.0 * c * eps * (1.0 + zmax + h * xmax) * xmax / h
        units = float(np.abs(rows).max() / bound)
        coords = []
        for k in range(c):
            for a in range(D):
                V = np.zeros(model.shape)
                V[k, a] = 1.0
                coords.append(V)
        big = float(np.abs(fd_hessian_columns(grad, W, coords, 1e-5)).max())
        worst_units = max(worst_units, units)
        per_draw.append((zmax, units, float(np.abs(rows).max() / big) if big > 0 else math.inf))
    return {"row_sum_units": worst_units, "draws": draws, "skipped": 0, "loss": loss,
            "h": h, "per_draw": per_draw}


# --------------------------------------------------------------------------------------------
# flows on the general model
# --------------------------------------------------------------------------------------------
@dataclass
class FlowResult:
    """Gradient or sign flow on the general model: losses at the output times."""

    flow: str
    t: np.ndarray
    overall: np.ndarray
    class_losses: np.ndarray
    groups: np.ndarray
    stats: dict


def flow_run(data: LinearData, flows: Sequence[str] = ("gradient", "sign_sqrt"), *,
             eps: float = 1e-4, t_max: float = 10.0, t_eval: np.ndarray | None = None,
             method: str = "RK45", rtol: float = 1e-8, atol: float = 1e-10,
             max_steps: int = 1_000_000) -> dict[str, FlowResult]:
    """Integrate flows of :mod:`linsim.flows` on the general model from ``W = 0``.

    The right-hand side is :func:`linsim.problems.linear.linear_field` (the data travel in the
    parameter vector: small problems, e.g. ``m <= 4``); smoothed sign flows (``sign_sqrt``,
    ``sign_tanh``) get the smoothing ``eps``.

    Notes
    -----
    Plain sign flow (``"sign"``, ``sign(0) = 0``) stalls on this model: gradient entries reach
    zero and slide there (at ``m = 3`` from ``t ~ 0.04``), every explicit step straddles the
    surface and the adaptive step collapses (THEORY.md, "Integrating sign flow honestly"). The
    sliding integrators of :mod:`linsim.integrate.sliding` serve quadratics and the unigram
    model only; here sign flow is the ``eps -> 0`` limit of ``sign_sqrt`` (error ``O(eps)``
    while ``|g_i| >> eps``), checked by halving ``eps`` (:func:`sign_flow_limit`).
    """
    model = LinearModel(data)
    t = np.asarray(t_eval if t_eval is not None else
                   np.concatenate([[0.0], np.logspace(-2, math.log10(t_max), 60)]), float)
    out = {}
    for flow in flows:
        fp = (eps,) if flow in ("sign_sqrt", "sign_tanh") else ()
        p = model.flow_params(flow, fp)
        sol = solve(model.field, (0.0, float(t[-1])), model.zeros().ravel(), p, method=method,
                    rtol=rtol, atol=atol, t_eval=t, output=model.summary_output,
                    n_output=1 + model.c, max_steps=max_steps)
        cl = sol.y[:, 1:]
        out[flow] = FlowResult(flow, t, sol.y[:, 0].copy(), cl.copy(),
                               zipf.group_means(cl, model.pi, data.groups, data.n_groups),
                               dict(sol.stats))
    return out


def sign_flow_limit(data: LinearData, t_eval: np.ndarray, eps: Sequence[float] = (1e-3, 1e-4,
                    1e-5)) -> dict:
    """Sign flow as the limit of ``sign_sqrt`` flows: group losses for each ``eps`` and the gaps
    between successive ``eps`` (they shrink like ``eps`` where the limit is reached)."""
    runs = [flow_run(data, ("sign_sqrt",), eps=e, t_eval=t_eval)["sign_sqrt"] for e in eps]
    gaps = [np.abs(a.groups - b.groups) for a, b in zip(runs, runs[1:], strict=False)]
    return {"eps": list(eps), "runs": runs, "gaps": gaps}


def discrete_vs_flow(data: LinearData, method: str, step: float, t_max: float,
                     points: int = 25, eps: float = 1e-5) -> dict:
    """Largest gap between the group losses of a discrete method at step ``step`` and its flow.

    GD (``method = "gd"``, against gradient flow) or sign descent (``"sign"``, against the
    ``sign_sqrt`` flow with small ``eps``) runs ``N = t_max / step`` steps; its losses at steps
    ``k`` are compared with the flow's at ``t = k step``. The gap is ``O(step)`` for GD.
    """
    flow = {"gd": "gradient", "sign": "sign_sqrt"}[method]
    model = LinearModel(data)
    n_steps = int(round(t_max / step))
    rec = np.unique(np.round(np.linspace(0, n_steps, points)).astype(np.int64))
    (tr,) = run_lockstep(model, [(method, SPECS[method].make(step))], n_steps, rec)
    fl = flow_run(data, (flow,), eps=eps, t_eval=rec * step, rtol=1e-10, atol=1e-12)[flow]
    disc = zipf.group_means(tr.class_losses, model.pi, data.groups, data.n_groups)
    gap = float(np.abs(disc - fl.groups).max())
    return {"method": method, "flow": flow, "step": step, "t_max": t_max,
            "max_group_gap": gap, "flow_stats": fl.stats, "t": rec * step, "discrete": disc,
            "continuous": fl.groups}


# --------------------------------------------------------------------------------------------
# cost estimate (the command line prints it before large runs)
# --------------------------------------------------------------------------------------------
def flops_per_step(m: int) -> float:
    """Floating-point operations of one model's loss and gradient: two ``n x D x c`` products."""
    s = sizes(m)
    return 4.0 * s["n"] * (s["d"] + 1) * s["classes"]


def measure_gflops(dtype=np.float64, size: int = 768, repeats: int = 3) -> float:
    """Measured rate of this machine's BLAS on a ``size^3`` product (GFLOP/s, best of a few)."""
    rng = np.random.default_rng(0)
    a = rng.random((size, size)).astype(dtype)
    b = rng.random((size, size)).astype(dtype)
    a @ b
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2.0 * size**3 / best / 1e9


def estimate(m: int, models: int, steps: int, dtype=np.float64,
             gflops: float | None = None, logit_models: int = 0) -> dict:
    """Memory and time of ``models`` runs of ``steps`` steps at size ``m``.

    Memory: the inputs ``n x (d + 1)`` in the data dtype, the Gram matrix (``8 n^2`` bytes)
    where some runs go on the logits, plus one lockstep state per model (:func:`model_bytes`);
    time: the products of ``models * steps`` steps at the measured BLAS rate, where
    ``logit_models`` of the runs (GD, momentum, normalized GD) cost one ``n x n x c`` product
    per step instead of two ``n x D x c`` ones when :func:`uses_gram` holds.
    """
    s = sizes(m)
    dt = np.dtype(dtype)
    n, D, c = s["n"], s["d"] + 1, s["classes"]
    logit = min(int(logit_models), models) if uses_gram(n, D, dt) else 0
    data_b = n * D * dt.itemsize + (8 * n * n if logit else 0)
    state_b = models * model_bytes(s, dt)
    rate = measure_gflops(dt) if gflops is None else gflops
    flops = steps * ((models - logit) * flops_per_step(m) + logit * 2.0 * n * n * c)
    return {"m": m, **s, "models": models, "logit_models": logit, "steps": steps,
            "dtype": dt.name, "data_bytes": int(data_b), "state_bytes": int(state_b),
            "total_bytes": int(data_b + state_b), "flops": flops, "gflops": rate,
            "seconds": flops / (rate * 1e9)}


__all__ = ["blas_threads", "SPECS", "TUNED", "STABLE", "RISE", "HALF_SLOPE", "loss_rise", "choose",
           "largest_stable", "half_loss_steps", "group_frequencies", "half_loss_slope",
           "assignment_ratios", "OptimizerSpec", "Trajectory", "ExperimentResult", "FlowResult",
           "record_steps", "run_lockstep", "experiment", "criterion", "grid_edges",
           "assignment_slopes", "snapshot_steps", "init_grad_hess_check", "block_rows_check",
           "gradient_oracle", "fd_hessian_columns", "ratio_slopes", "gd_safe_lr",
           "iid_diagnostics", "iid_slopes", "bootstrap_mean", "prior_groups", "half_loss_study",
           "flow_run", "sign_flow_limit", "discrete_vs_flow", "estimate", "flops_per_step",
           "measure_gflops", "model_bytes", "models_in_batch", "uses_gram", "logit_step",
           "LOGIT_CODES"]
