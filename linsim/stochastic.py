"""Stochastic first-order methods under heavy-tailed noise: many runs in one Numba loop.

THEORY.md, "Z20: heavy-tailed gradient noise and clipping" and "PL23". A study is

* a separable problem ``f(x) = sum_i [h_i x_i^2 / 2 + A (cos x_i - 1)]`` (:class:`Separable`:
  a diagonal quadratic for ``A = 0``, a smooth nonconvex function for ``A > h_i``), with
  stochastic gradients ``g = grad f(x) + B * xi``, ``xi`` i.i.d. from a law of
  :mod:`linsim.problems.noise` (``B = 0``: deterministic gradients);
* methods (:class:`Method`), each with a step-size schedule and a threshold schedule
  (:class:`Schedule`):

  ========== ======================================================================= =========
  name       update ``x <- x - eta_k u``                                             THEORY.md
  ========== ======================================================================= =========
  sgd        ``u = g``                                                               Z20
  gclip      ``u = min(1, tau_k / ||g||) g``                                         Z20
  cclip      ``u_i = min(1, tau_k w_i / |g_i|) g_i``                                 Z20
  acclip     ``m = b1 m + (1-b1) g``; ``T = b2 T + (1-b2) |g|^a``;                    Z20
             ``u_i = min(T_i^(1/a) / (|m_i| + eps), 1) m_i`` (``a`` fixed)
  rankclip   ``u_i = sign(g_i) min(|g_i|, c)``, ``c`` = the (floor(q d) + 1)-th        PL23
             largest ``|g_j|`` (``q`` the clipped fraction: coordinate-clipped GD)
  ========== ======================================================================= =========

All methods of a study advance in lock step inside one run and see the same noise at every
step (common random numbers): differences between methods are not sampling noise. Run ``r``
draws its noise from stream ``r`` of :func:`linsim.problems.noise.seed_state`, so a run's
trajectory does not depend on how many other runs there are, on the chunking, or on threads.

Steps are numbered ``k = 1, 2, ...``: step ``k`` maps ``x_{k-1}`` to ``x_k`` with ``eta_k``
and ``tau_k``. At each checkpoint ``k`` the kernel records ``f(x_k) - f*``, the running mean
``(1/k) sum_{j<k} min(||grad f(x_j)||, ||grad f(x_j)||^2)`` (Z20.clip-nonconvex) and the
threshold used at step ``k``.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from .problems import noise

METHODS: dict[str, int] = {"sgd": 0, "gclip": 1, "cclip": 2, "acclip": 3, "rankclip": 4}
SGD, GCLIP, CCLIP, ACCLIP, RANKCLIP = 0, 1, 2, 3, 4
#: Columns of the per-method parameter rows passed to the kernel.
_P_CODE, _P_FRAC, _P_B1, _P_B2, _P_EPS, _P_A = range(6)
#: Samples per noise block (per run): long enough to vectorize the transform.
_BLOCK = 512


# --------------------------------------------------------------------------------------------
# schedules, methods, problems
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Schedule:
    """``value(k) = scale * (k + shift)^power`` for steps ``k = 1, 2, ...``.

    Examples: Z20's ``eta_k = 4/(mu (k+1))`` is ``Schedule(4/mu, -1, 1)``; ``tau_k = G k^(1/alpha)``
    is ``Schedule(G, 1/alpha)``; a constant is ``Schedule(c)``.
    """

    scale: float
    power: float = 0.0
    shift: float = 0.0

    def __post_init__(self):
        for name in ("scale", "power", "shift"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v)):
                raise ValueError(f"Schedule {name} must be a finite number, got {v!r}")
        if self.scale < 0:
            raise ValueError(f"Schedule scale must be >= 0, got {self.scale!r}")
        if self.shift <= -1:
            raise ValueError(f"Schedule shift must be > -1 (k + shift > 0 from k = 1), "
                             f"got {self.shift!r}")

    def values(self, steps: int) -> np.ndarray:
        """The values at ``k = 1..steps``."""
        k = np.arange(1, steps + 1, dtype=float)
        return self.scale * (k + self.shift) ** self.power

    def describe(self) -> str:
        if self.power == 0:
            return f"{self.scale:g}"
        base = "k" if self.shift == 0 else f"(k{self.shift:+g})"
        return f"{self.scale:g} {base}^{self.power:g}"


@dataclass(frozen=True)
class Method:
    """One optimizer of a study.

    Parameters
    ----------
    name : {"sgd", "gclip", "cclip", "acclip", "rankclip"}
    eta : Schedule
        Step sizes ``eta_k``.
    tau : Schedule, optional
        Thresholds ``tau_k`` (gclip, cclip; required there).
    weights : array_like, optional
        Per-coordinate threshold weights ``w_i`` of cclip (default 1).
    frac : float
        rankclip: the clipped fraction ``q`` in [0, 1).
    beta1, beta2, eps, moment : float
        acclip: momentum, threshold average, denominator guard and the fixed exponent ``a``.
    label : str, optional
        Name in results and figures (default ``name``).
    """

    name: str
    eta: Schedule
    tau: Schedule | None = None
    weights: tuple | None = None
    frac: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.99
    eps: float = 1e-8
    moment: float = 1.5
    label: str | None = None

    def __post_init__(self):
        if self.name not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {self.name!r}")
        if self.name in ("gclip", "cclip") and self.tau is None:
            raise ValueError(f"tau (a Schedule) is required for {self.name}")
        if not (0.0 <= self.frac < 1.0):
            raise ValueError(f"frac must be in [0, 1), got {self.frac!r}")
        for name, lo, hi in (("beta1", 0.0, 1.0), ("beta2", 0.0, 1.0)):
            v = getattr(self, name)
            if not (lo <= v < hi):
                raise ValueError(f"{name} must be in [{lo:g}, {hi:g}), got {v!r}")
        if not (self.eps > 0 and self.moment > 0):
            raise ValueError(f"eps and moment must be > 0, got {self.eps!r}, {self.moment!r}")
        if self.label is None:
            object.__setattr__(self, "label", self.name)

    def row(self) -> list[float]:
        return [float(METHODS[self.name]), self.frac, self.beta1, self.beta2, self.eps,
                self.moment]


@dataclass(frozen=True)
class Separable:
    """``f(x) = sum_i [h_i x_i^2 / 2 + A (cos x_i - 1)]`` with noise ``B_i xi_i``.

    Parameters
    ----------
    curvature : array_like
        ``h_i > 0`` (its length is the dimension ``d``).
    x0 : array_like
        Starting point (length ``d``).
    law : {"stable", "pareto", "gauss"}
        Noise law (:mod:`linsim.problems.noise`).
    alpha : float
        Tail index of the law.
    scale : array_like or float
        Per-coordinate noise scales ``B_i >= 0`` (0: deterministic gradients).
    cosine : float
        ``A >= 0``. ``A = 0``: the quadratic, ``f* = 0`` at 0. ``A > h_i``: coordinate ``i`` is
        nonconvex near 0 (``f'' = h - A cos x``) with minima at ``h x = A sin x``, ``x != 0``.
    """

    curvature: np.ndarray
    x0: np.ndarray
    law: str = "stable"
    alpha: float = 1.5
    scale: np.ndarray | float = 1.0
    cosine: float = 0.0
    f_star: float = field(init=False)

    def __post_init__(self):
        h = np.atleast_1d(np.asarray(self.curvature, float))
        d = h.size
        x0 = np.broadcast_to(np.asarray(self.x0, float), (d,)).copy()
        B = np.broadcast_to(np.asarray(self.scale, float), (d,)).copy()
        if d < 1 or not np.all(np.isfinite(h) & (h > 0)):
            raise ValueError("curvature must be finite numbers > 0 (at least one)")
        if not np.all(np.isfinite(x0)):
            raise ValueError("x0 must be finite")
        if not np.all(np.isfinite(B) & (B >= 0)):
            raise ValueError("scale must be finite numbers >= 0")
        if not (math.isfinite(self.cosine) and self.cosine >= 0):
            raise ValueError(f"cosine must be a finite number >= 0, got {self.cosine!r}")
        noise.check_law(self.law, self.alpha)
        for name, v in (("curvature", h), ("x0", x0), ("scale", B)):
            v.setflags(write=False)
            object.__setattr__(self, name, v)
        object.__setattr__(self, "f_star", float(sum(self._coord_min(hi) for hi in h)))

    def _coord_min(self, h: float) -> float:
        """Minimum of ``h x^2/2 + A (cos x - 1)`` (0 when ``A <= h``)."""
        A = self.cosine
        if A <= h:
            return 0.0
        from scipy.optimize import brentq

        x = brentq(lambda x: h * x - A * math.sin(x), 1e-12, A / h + 1.0, xtol=1e-15)
        return h * x * x / 2 + A * (math.cos(x) - 1.0)

    @property
    def dim(self) -> int:
        return int(self.curvature.size)

    def value(self, x) -> np.ndarray:
        """``f(x) - f*`` for points ``x`` of shape ``(..., d)``."""
        x = np.asarray(x, float)
        return (np.sum(self.curvature * x * x / 2 + self.cosine * (np.cos(x) - 1.0), axis=-1)
                - self.f_star)


@dataclass
class StudyResult:
    """What :func:`simulate` recorded.

    Attributes
    ----------
    steps : ndarray of int, shape (C,)
        Checkpoints ``k``.
    gap : ndarray, shape (M, R, C)
        ``f(x_k) - f*`` per method, run and checkpoint.
    stationarity : ndarray, shape (M, R, C)
        ``(1/k) sum_{j<k} min(||grad f(x_j)||, ||grad f(x_j)||^2)``.
    threshold : ndarray, shape (M, R, C)
        Threshold used at step ``k`` (gclip ``tau_k``; cclip ``tau_k``; acclip mean ``tau_i``;
        rankclip ``c``; sgd ``inf``).
    x_mean : ndarray, shape (M, R, C)
        Mean of the coordinates of ``x_k`` (with identical coordinates, an unbiased estimate of
        ``E x_k,i``: the bias term of Z20.threshold-tent).
    methods : list of Method
    problem : Separable
    seed : int
    seconds : float
    """

    steps: np.ndarray
    gap: np.ndarray
    stationarity: np.ndarray
    threshold: np.ndarray
    x_mean: np.ndarray
    methods: list
    problem: Separable
    seed: int
    seconds: float = 0.0

    def index(self, label: str) -> int:
        return [m.label for m in self.methods].index(label)


# --------------------------------------------------------------------------------------------
# the kernel
# --------------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def _select_descending(a, j):
    """The ``j``-th largest entry of ``a`` (0-based), by quickselect; reorders ``a`` in place.

    Written out rather than ``np.partition``, whose Numba compilation took 13 s here.
    """
    lo, hi = 0, a.size - 1
    while lo < hi:
        pivot = a[(lo + hi) // 2]
        i, k = lo, hi
        while i <= k:
            while a[i] > pivot:
                i += 1
            while a[k] < pivot:
                k -= 1
            if i <= k:
                a[i], a[k] = a[k], a[i]
                i += 1
                k -= 1
        if j <= k:
            hi = k
        elif j >= i:
            lo = i
        else:
            return a[j]
    return a[j]


@njit(cache=True, error_model="numpy")
def rank_threshold(g, frac):
    """The (floor(frac d) + 1)-th largest ``|g_i|``: PL23's coordinate-clipping threshold."""
    d = g.size
    j = min(int(math.floor(frac * d)), d - 1)
    a = np.empty(d)
    for i in range(d):
        a[i] = abs(g[i])
    return _select_descending(a, j)


@njit(cache=True, error_model="numpy")
def rank_clip(g, frac, out):
    """``out_i = sign(g_i) min(|g_i|, c)`` with ``c = rank_threshold(g, frac)``; returns ``c``."""
    c = rank_threshold(g, frac)
    for i in range(g.size):
        out[i] = max(-c, min(c, g[i]))
    return c


@njit(cache=True, error_model="numpy")
def _value(h, A, x):
    s = 0.0
    for i in range(x.size):
        s += 0.5 * h[i] * x[i] * x[i]
        if A != 0.0:
            s += A * (math.cos(x[i]) - 1.0)
    return s


@njit(cache=True, error_model="numpy")
def _run_one(problem, noise_law, methods, ckpt, seed, run, out):
    """One run (noise stream ``run``) of every method; records ``out`` (M, C each).

    ``problem = (h, A, x0, B)``: curvatures, cosine weight, start, noise scales;
    ``noise_law = (law, alpha)``; ``methods = (prm, cw, eta, tau)``: each method's code and
    hyper-parameters, coordinate weights, steps and thresholds per step;
    ``out = (gap, stat, thr, xm)``.
    """
    h, A, x0, B = problem
    law, alpha = noise_law
    prm, cw, eta, tau = methods
    gap, stat, thr, xm = out
    M, C = gap.shape
    d = x0.size
    K = ckpt[C - 1]
    per_block = max(1, min(_BLOCK // d, K))  # short runs: no wasted samples
    nbuf = np.empty(per_block * d)
    ubuf = np.empty(2 * per_block * d)
    s = np.empty(4, np.uint64)
    noise.seed_state(seed, np.uint64(run), s)
    X = np.empty((M, d))
    for m in range(M):
        X[m, :] = x0
    mom = np.zeros((M, d))
    tp = np.zeros((M, d))
    acc = np.zeros(M)
    g = np.empty(d)
    u = np.empty(d)
    c = 0
    while c < C and ckpt[c] == 0:
        for m in range(M):
            gap[m, c] = _value(h, A, X[m])
            stat[m, c] = math.nan
            thr[m, c] = math.nan
            xm[m, c] = np.mean(X[m])
        c += 1
    pos = nbuf.size
    for k in range(1, K + 1):
        if pos == nbuf.size:
            noise.fill(law, alpha, s, ubuf, nbuf)
            pos = 0
        for m in range(M):
            # written against X[m, i] without views or calls: a view costs two atomic
            # reference-count updates, which dominated the step for d = 1 (about 50 ns)
            g2 = 0.0
            for i in range(d):
                xv = X[m, i]
                gi = h[i] * xv
                if A != 0.0:
                    gi -= A * math.sin(xv)
                g2 += gi * gi
                g[i] = gi + B[i] * nbuf[pos + i]
            acc[m] += g2 if g2 <= 1.0 else math.sqrt(g2)  # min(|g|, |g|^2)
            code = int(prm[m, 0])
            e = eta[m, k - 1]
            t = tau[m, k - 1]
            used = math.inf
            if code == 0:  # sgd
                for i in range(d):
                    X[m, i] -= e * g[i]
            elif code == 1:  # gclip: the whole vector
                n2 = 0.0
                for i in range(d):
                    n2 += g[i] * g[i]
                f = e if n2 <= t * t else e * (t / math.sqrt(n2))  # no sqrt when unclipped
                for i in range(d):
                    X[m, i] -= f * g[i]
                used = t
            elif code == 2:  # cclip: per coordinate
                for i in range(d):
                    ti = t * cw[m, i]
                    X[m, i] -= e * max(-ti, min(ti, g[i]))
                used = t
            elif code == 3:  # acclip
                b1, b2, eps, a = prm[m, 2], prm[m, 3], prm[m, 4], prm[m, 5]
                used = 0.0
                for i in range(d):
                    mom[m, i] = b1 * mom[m, i] + (1.0 - b1) * g[i]
                    tp[m, i] = b2 * tp[m, i] + (1.0 - b2) * abs(g[i]) ** a
                    ti = tp[m, i] ** (1.0 / a)
                    X[m, i] -= e * min(ti / (abs(mom[m, i]) + eps), 1.0) * mom[m, i]
                    used += ti
                used /= d
            else:  # rankclip
                used = rank_clip(g, prm[m, 1], u)
                for i in range(d):
                    X[m, i] -= e * u[i]
            if c < C:
                thr[m, c] = used  # overwritten until step k reaches the checkpoint
        pos += d
        if k == ckpt[c]:
            for m in range(M):
                gap[m, c] = _value(h, A, X[m])
                stat[m, c] = acc[m] / k
                xm[m, c] = np.mean(X[m])
            c += 1


@njit(cache=True, error_model="numpy")
def _run_many(problem, noise_law, methods, ckpt, seed, run0, out):
    """Runs ``run0 ..`` into ``out = (gap, stat, thr, xm)``, each of shape (R, M, C); the other
    arguments as in :func:`_run_one`.

    One thread: ``parallel=True`` with ``prange`` gave nothing measurable on the loaded 2-core
    machines and added 6 s to the first compilation (DESIGN.md: plan on fewer passes).
    """
    gap, stat, thr, xm = out
    for r in range(gap.shape[0]):
        _run_one(problem, noise_law, methods, ckpt, seed, run0 + r,
                 (gap[r], stat[r], thr[r], xm[r]))


def checkpoints(steps: int, points: int = 60, first: int = 1) -> np.ndarray:
    """About ``points`` log-spaced distinct step counts from ``first`` to ``steps`` (inclusive)."""
    if steps < 1 or first < 0 or first > steps:
        raise ValueError(f"steps must be >= 1 and first in [0, steps], got {steps}, {first}")
    k = np.unique(np.round(np.logspace(0, np.log10(steps), points)).astype(np.int64))
    k = k[k >= max(first, 1)]
    if first == 0:
        k = np.concatenate([[0], k])
    return k


def simulate(problem: Separable, methods: list[Method], runs: int, steps: int | np.ndarray,
             seed: int = 0, points: int = 60, chunk: int = 64, progress: bool = False,
             desc: str = "runs") -> StudyResult:
    """Run every method on ``runs`` independent noise streams (common random numbers).

    Parameters
    ----------
    problem : Separable
    methods : list of Method
    runs : int
        Number of independent runs, >= 1.
    steps : int or array of int
        Horizon ``K`` (checkpoints: :func:`checkpoints`), or the sorted checkpoints themselves
        (0 allowed first: the start).
    seed : int
        In [0, 2^64). Run ``r`` uses stream ``r``.
    points : int
        Number of log-spaced checkpoints when ``steps`` is an int.
    chunk : int
        Least number of runs per kernel call (progress granularity; raised for short runs;
        results do not depend on it).
    progress : bool
        A tqdm bar on stderr (only on a terminal).

    Returns
    -------
    StudyResult
    """
    import time

    if not methods:
        raise ValueError("methods must hold at least one Method")
    if isinstance(runs, bool) or not isinstance(runs, (int, np.integer)) or runs < 1:
        raise ValueError(f"runs must be an integer >= 1, got {runs!r}")
    if np.ndim(steps) == 0:
        if isinstance(steps, bool) or int(steps) != steps or steps < 1:
            raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
        ck = checkpoints(int(steps), points)
    else:
        ck = np.asarray(steps, np.int64)
        if ck.size < 1 or np.any(np.diff(ck) <= 0) or ck[0] < 0 or ck[-1] < 1:
            raise ValueError("steps (checkpoints) must be increasing integers >= 0, last >= 1")
    K = int(ck[-1])
    d = problem.dim
    M = len(methods)
    prm = np.array([m.row() for m in methods], float)
    cw = np.ones((M, d))
    for j, m in enumerate(methods):
        if m.weights is not None:
            w = np.broadcast_to(np.asarray(m.weights, float), (d,))
            if not np.all(np.isfinite(w) & (w > 0)):
                raise ValueError(f"weights of {m.label} must be finite numbers > 0")
            cw[j] = w
    eta = np.array([m.eta.values(K) for m in methods])
    tau = np.array([m.tau.values(K) if m.tau is not None else np.full(K, math.inf)
                    for m in methods])
    C = ck.size
    gap = np.empty((runs, M, C))
    stat = np.empty((runs, M, C))
    thr = np.empty((runs, M, C))
    xm = np.empty((runs, M, C))
    code = noise.check_law(problem.law, problem.alpha)
    seed_u = noise._u64(seed, "seed")
    bar = None
    if progress and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=runs, desc=desc, unit="run", file=sys.stderr, leave=False)
    start = time.perf_counter()
    # enough work per kernel call that waking the threads costs nothing (short runs)
    chunk = max(int(chunk), -(-2_000_000 // (K * M * d)))
    for r0 in range(0, runs, chunk):
        r1 = min(runs, r0 + chunk)
        _run_many((problem.curvature, float(problem.cosine), problem.x0, problem.scale),
                  (code, float(problem.alpha)), (prm, cw, eta, tau), ck, seed_u, r0,
                  (gap[r0:r1], stat[r0:r1], thr[r0:r1], xm[r0:r1]))
        if bar is not None:
            bar.update(r1 - r0)
    if bar is not None:
        bar.close()
    gap -= problem.f_star
    gap, stat, thr, xm = (np.ascontiguousarray(a.transpose(1, 0, 2))
                          for a in (gap, stat, thr, xm))
    return StudyResult(ck, gap, stat, thr, xm, list(methods), problem, int(seed),
                       time.perf_counter() - start)
