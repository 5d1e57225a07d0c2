"""K24 on the one-hot softmax model: gradient, sign and normalized flow against the closed forms.

Claims measured here (THEORY.md): K24.decouple (through the full mode), K24.gf-closed-form,
K24.gf-rate, K24.sf-closed-form, K24.nf-reparam.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from .. import rates
from ..flows import ADAM, RMSPROP, SIGN_EPS, flow_spec, initial_state
from ..integrate import Solution, get_tableau, resolve_workers, solve, solve_blocks
from ..kernels import sum_range as _sum
from ..problems import zipf
from ..problems.softmax import (
    OneHotModel,
    add_by_group,
    expm1_pos,
    log1p_pos,
    summarize,
)

#: Above this many classes only a log-spaced subset of classes is recorded per class.
MAX_RECORDED_CLASSES = 20_000
#: Closed-form losses below this are not compared: the underflowing tail of double precision.
COMPARE_FLOOR = 1e-250
#: Error norm of :func:`run_onehot`'s step-size control per mode (``norm=`` of
#: :func:`linsim.integrate.solve`). The reduced mode integrates all c margins as one state, so
#: an RMS norm divides the error of the few fast (frequent) classes by about sqrt(c): at
#: c = 10^6 gradient flow's largest relative error against its closed form was 6.3e-5 with
#: "rms" (the CLI reports DISAGREES) and 8.3e-8 with "max", which was also faster (4.9 s
#: against 5.5 s for the main job's flows; benchmarks/RESULTS.md). The full mode integrates
#: each block of c weights on its own, where RMS is SciPy's choice and agrees.
NORM_DEFAULT = {"full": "rms", "reduced": "max"}


# --------------------------------------------------------------------------------------------
# Compiled gradient-flow closed form (K24.gf-closed-form) for sums over every class
#
# The algorithm of :func:`linsim.problems.zipf.gf_margin` and :func:`~.zipf.gf_loss`:
# safeguarded Halley on expm1(u) + (c-1) u = c pi t from the upper bound min(s/c, log1p(s)) of
# the root, and the same loss formula. :func:`_gf_sweep` runs it on blocks of classes with a
# fixed number of Halley steps (zipf measured at most 4 sweeps to convergence for c <= 1e9, the
# last one a step below 5e-10 u; after it the error is far below an ulp) and libm-free exp/log
# (linsim.problems.softmax), so that the loops vectorize: about 10x faster than zipf's NumPy
# form, and within a few ulps of it (the loss is that sensitive to the last bit of u:
# tests/test_scale.py). Used where sums over 10^5 to 10^6 classes are needed many times:
# closed_group_means, nf_deviation. :func:`_gf_margin_loss` is the scalar form (zipf's
# stopping rule), used for c pi t > 1e300.

_STEP_TOL, _TINY_STEP, _MAX_ITER, _BIG_RHS = 5e-10, 2e-323, 40, 1e300
#: Halley steps of the vectorized sweep, and its block of classes.
_GF_STEPS, _GF_BLOCK = 4, 256


@njit(cache=True, error_model="numpy")
def _gf_margin_loss(s, log_s, c, u_start):
    """Gradient-flow margin ``u`` and loss ``l`` of one class with ``s = c pi t``.

    ``u_start`` is an upper bound of the root or ``inf`` (then ``min(s/c, log1p(s))``, the bound
    of zipf); ``log_s = log(c pi t)`` is used only for ``s > 1e300``. Returns ``(u, l, x)``
    with ``x = (c-1) e^-u`` (``l = log1p(x)``).
    """
    cm1 = c - 1.0
    if s <= 0.0:
        return 0.0, math.log1p(cm1), cm1
    if s > _BIG_RHS:
        u = log_s
        if math.isfinite(u):
            for _ in range(2):
                u = log_s - math.log1p((cm1 * u - 1.0) * math.exp(-u))
        x = math.exp(math.log(cm1) - u)
        return u, math.log1p(x), x
    u = min(s / c, math.log1p(s), u_start)
    for _ in range(_MAX_ITER):
        em = math.expm1(u)
        fp = em + (1.0 + cm1)
        du = (em + cm1 * u - s) / fp
        corr = 1.0 - 0.5 * du * (em + 1.0) / fp
        if corr > 0.5:
            du = du / corr
        u -= du
        if not abs(du) > max(_STEP_TOL * u, _TINY_STEP):
            break
    u = max(u, 0.0)
    if cm1 * u <= 0.5 * (1.0 + s):
        e_u = 1.0 + s - cm1 * u
    else:
        e_u = math.exp(u)
    x = cm1 / e_u
    return u, math.log1p(x), x


@njit(cache=True, error_model="numpy", nogil=True)
def _gf_sweep(t, pi, c, labels, sums):
    """Sum ``pi_k l_k(t)`` over every class, and per group into ``sums[labels[k]]`` (added to;
    ``labels`` int64, empty for no groups, then ``sums`` is not touched).

    Returns ``(overall, d overall / dt)`` with ``dl_k/dt = -c pi_k x^2 / ((c-1)(1+x)^2)``,
    ``x = (c-1) e^-u_k``. Blocks of :data:`_GF_BLOCK` classes, :data:`_GF_STEPS` Halley steps
    each; block sums with four accumulators, in class order (a fixed order: reproducible).
    """
    B = _GF_BLOCK
    cm1 = c - 1.0
    log_c = math.log(c)
    log_t = math.log(t) if t > 0.0 else -math.inf
    n = pi.size
    grouped = labels.size > 0
    sb = np.empty(B)
    ub = np.empty(B)
    wl = np.empty(B)
    wd = np.empty(B)
    overall = 0.0
    deriv = 0.0
    for i0 in range(0, n, B):
        L = min(B, n - i0)
        pb = pi[i0 : i0 + L]
        big = 0
        for i in range(L):
            si = (c * pb[i]) * t
            big += si > _BIG_RHS
            si = min(si, _BIG_RHS)  # c pi t > 1e300 is redone below
            sb[i] = si
            ub[i] = min(si / c, log1p_pos(si))
        for _ in range(_GF_STEPS):
            for i in range(L):
                u = ub[i]
                em = expm1_pos(u)
                inv = 1.0 / (em + c)
                du = (em + cm1 * u - sb[i]) * inv
                corr = 1.0 - 0.5 * du * (em + 1.0) * inv
                ub[i] = u - (du / corr if corr > 0.5 else du)
        for i in range(L):
            u = max(ub[i], 0.0)
            si = sb[i]
            e_u = 1.0 + si - cm1 * u if cm1 * u <= 0.5 * (1.0 + si) else expm1_pos(u) + 1.0
            x = cm1 / e_u
            wl[i] = pb[i] * log1p_pos(x)
            wd[i] = c * pb[i] * pb[i] * x * x / (cm1 * (1.0 + x) * (1.0 + x))
        if big > 0:
            for i in range(L):
                if (c * pb[i]) * t > _BIG_RHS:
                    u, l, x = _gf_margin_loss((c * pb[i]) * t, log_c + math.log(pb[i]) + log_t,
                                              c, math.inf)
                    wl[i] = pb[i] * l
                    wd[i] = c * pb[i] * pb[i] * x * x / (cm1 * (1.0 + x) * (1.0 + x))
        block = _sum(wl, 0, L)
        overall += block
        deriv -= _sum(wd, 0, L)
        if grouped:
            add_by_group(sums, labels[i0 : i0 + L], wl[:L], block)
    return overall, deriv


@dataclass
class FlowTrace:
    """One flow's recorded trajectory: overall, group and per-class losses at the output times."""

    flow: str
    overall: np.ndarray
    groups: np.ndarray
    losses: np.ndarray
    solution: Solution
    closed: np.ndarray | None = None
    closed_groups: np.ndarray | None = None
    #: times of ``closed_groups`` when they are not the output times (large c: fewer times)
    closed_groups_t: np.ndarray | None = None

    @property
    def stats(self) -> dict:
        return self.solution.stats


@dataclass
class OneHotRun:
    """Result of :func:`run_onehot`.

    Attributes
    ----------
    model : OneHotModel
    t : ndarray
        Output times (log-spaced).
    labels : ndarray
        Equal-mass group of every class.
    class_index : ndarray
        The classes whose own losses are recorded (all classes unless ``c`` is large).
    traces : dict
        Flow name -> :class:`FlowTrace`.
    """

    model: OneHotModel
    t: np.ndarray
    labels: np.ndarray
    class_index: np.ndarray
    traces: dict[str, FlowTrace] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    @property
    def pi(self) -> np.ndarray:
        return self.model.pi

    def max_rel_err(self, flow: str) -> float | None:
        """Largest relative error of the simulated per-class losses against the closed form.

        Values whose closed form lies below :data:`COMPARE_FLOOR` are not compared.
        """
        tr = self.traces[flow]
        if tr.closed is None:
            return None
        m = tr.closed > COMPARE_FLOOR
        if not m.any():
            return None
        return float(np.max(np.abs(tr.losses[m] - tr.closed[m]) / tr.closed[m]))

    def rates(self, flow: str) -> list[rates.Rate]:
        """Every rate measured for ``flow``: the measure its :class:`~linsim.flows.FlowSpec`
        names (``measure``, a key of :data:`MEASURES`), as :class:`~linsim.rates.Rate` records.

        The first entry is the flow's headline rate; a flow without a measure has none (an
        empty list). ``ValueError`` for a flow this run did not integrate.
        """
        if flow not in self.traces:
            raise ValueError(f"flow must be one of {', '.join(self.traces)} (the flows of this "
                             f"run), got {flow!r}")
        key = flow_spec(flow).measure
        if key is None:
            return []
        if key not in MEASURES:
            raise ValueError(f"flow {flow}: measure must be one of {', '.join(MEASURES)}, got "
                             f"{key!r}")
        return list(MEASURES[key](self, flow))

    def rate(self, flow: str, name: str | None = None) -> rates.Rate:
        """The rate called ``name`` of :meth:`rates` (default: the headline, the first);
        ``ValueError`` if there is none."""
        found = self.rates(flow)
        for r in found:
            if name is None or r.name == name:
                return r
        raise ValueError(f"rate name must be one of {', '.join(r.name for r in found)} for "
                         f"flow {flow}, got {name!r}")

    def _ends(self) -> tuple[int, int, int, int]:
        """Columns and classes of the most and least frequent recorded class."""
        first, last = 0, self.class_index.size - 1
        return first, last, int(self.class_index[first]), int(self.class_index[last])

    def nf_deviation(self, flow: str = "normalized") -> float:
        """K24.nf-reparam: at each NF output time, find the GF time with the same overall loss
        (closed form, by root finding) and compare the per-class losses there.

        The overall gradient-flow loss ``O(t) = sum_k pi_k l_k(t)`` over every class and its
        derivative come from one compiled sweep (:func:`_gf_sweep`); the time ``t_g`` with
        ``O(t_g) = L`` is found by :func:`gf_time_at_overall` (Newton on ``log O`` against
        ``log t``, safeguarded by bisection, to a relative ``1e-15``), started one Newton step
        away from the previous output time's root (``L`` falls along the run): about two sweeps
        per output time. The per-class losses at ``t_g`` are those of
        :func:`linsim.problems.zipf.gf_loss`. ``flow`` names the trace compared (another flow
        than ``"normalized"`` is K24.nf-reparam's negative control).
        """
        tr = self.traces[flow]
        c = self.model.classes
        pi = self.pi
        sel = self.class_index
        worst = 0.0
        L0 = math.log(c)
        guess = 1.0
        prev = None  # (level, root, d log O / d log t there) of the previous output time
        for i, L in enumerate(tr.overall):
            if not (L < L0 * (1 - 1e-9)) or L < 1e-12:
                continue  # t ~ 0 (no information) or beyond the resolution of the overall loss
            if prev is not None and prev[2] < 0.0:  # a Newton step from the previous root
                guess = prev[1] * math.exp(max(-8.0, min(8.0, math.log(L / prev[0]) / prev[2])))
            tg, slope = _gf_time_at_overall(pi, float(c), float(L), guess, 1e-15)
            prev = (float(L), tg, slope)
            ref = zipf.gf_loss(tg, pi[sel], c)
            m = ref > COMPARE_FLOOR
            worst = max(worst, float(np.max(np.abs(tr.losses[i, m] - ref[m]) / ref[m])))
        return worst


def _gf_rates(run: OneHotRun, flow: str) -> list[rates.Rate]:
    """K24.gf-rate: ``pi_k t l_k`` at ``t_max`` and the log-log slope, for the most and the
    least frequent recorded class."""
    c, t, tr = run.model.classes, run.t, run.traces[flow]
    first, last, k_first, k_last = run._ends()
    out = []
    for col, k, who in ((first, k_first, "most"), (last, k_last, "least")):
        out.append(rates.Rate(
            f"pi_t_l_{who}_frequent", "K24.gf-rate",
            float(run.pi[k] * t[-1] * tr.losses[-1, col]), 1.0 - 1.0 / c, klass=k + 1,
            note="pi_k t l_k(t) at t = t_max; tends to 1 - 1/c as pi_k t grows",
            extra={"pi_t": float(run.pi[k] * t[-1])}))
    for col, k, who in ((first, k_first, "most"), (last, k_last, "least")):
        fit = rates.loglog_slope(t, tr.losses[:, col], t[-1] / 100.0, t[-1])
        out.append(rates.Rate(
            f"loglog_slope_{who}_frequent", "K24.gf-rate", fit.value, -1.0, stderr=fit.stderr,
            klass=k + 1, note="slope of log l_k against log t over the last two decades"))
    return out


def _sf_rates(run: OneHotRun, flow: str) -> list[rates.Rate]:
    """K24.sf-closed-form: the exponential rate 2 and ``e^(2t) l_k -> c - 1``."""
    c, t, tr = run.model.classes, run.t, run.traces[flow]
    first, last, k_first, k_last = run._ends()
    out = []
    for col, k, who in ((last, k_last, "least"), (first, k_first, "most")):
        fit = rates.exp_rate(t, tr.losses[:, col])
        out.append(rates.Rate(
            f"exp_rate_{who}_frequent", "K24.sf-closed-form", fit.value, 2.0, stderr=fit.stderr,
            klass=k + 1, note="fitted r in l_k ~ C exp(-r t), where 1e-250 <= l_k <= 1e-3"))
    v = tr.losses[:, last]
    ok = np.flatnonzero((v > 1e-200) & (v < 1e-8))
    with np.errstate(over="ignore"):  # inf (JSON null) when the trajectory is far off
        meas = float(np.exp(2 * t[ok[-1]] + np.log(v[ok[-1]]))) if ok.size else float("nan")
    out.append(rates.Rate(
        "e2t_l_least_frequent", "K24.sf-closed-form", meas, float(c - 1), klass=k_last + 1,
        note="e^(2t) l_k(t) at the largest output time with l_k > 1e-200",
        extra={"t": float(t[ok[-1]]) if ok.size else None}))
    return out


def _nf_rates(run: OneHotRun, flow: str) -> list[rates.Rate]:
    """K24.nf-reparam: NF's per-class losses against GF's at equal overall loss."""
    return [rates.Rate(
        "nf_vs_gf_at_equal_loss", "K24.nf-reparam", run.nf_deviation(flow), 0.0,
        note="max relative gap between NF's per-class losses and GF's (closed form) at the "
             "same overall loss")]


def _adaptive_rates(run: OneHotRun, flow: str) -> list[rates.Rate]:
    """adam.k24-rate and adam.k24-classes for the Adam and RMSProp ODEs and the small-step
    limit ``sign_eps`` (sign flow's rate 2 while ``eps`` does not matter); the flow's kernel
    (:attr:`~linsim.flows.FlowSpec.code`) says which parameters are ``a``, ``b``, ``eps``."""
    code = flow_spec(flow).code
    fp = tuple(run.settings["flow_params"][flow])
    if code == ADAM:
        a, b, eps = fp
    elif code == RMSPROP:
        a, (b, eps) = None, fp
    elif code == SIGN_EPS:
        a, b, (eps,) = None, None, fp
    else:
        raise ValueError(f"flow {flow}: the adaptive measure needs the adam, rmsprop or "
                         f"sign_eps kernel, got code {code}")
    sign_eps = code == SIGN_EPS
    tr = run.traces[flow]
    k = int(run.class_index[-1])
    # eps stays out of the way while pi_k q_k >> eps (q_k ~ l_k once l_k is small)
    lo = max(rates.LOSS_UNDERFLOW, 100.0 * eps / run.pi[k])
    fit = rates.exp_rate(run.t, tr.losses[:, -1], lo, 1e-3)
    measured = fit.value if lo <= 1e-6 else None  # no asymptotic window: eps too large
    L = tr.losses
    ok = L.min(axis=1) > rates.LOSS_UNDERFLOW
    spread = (float(np.max((L[ok].max(axis=1) - L[ok].min(axis=1)) / L[ok].max(axis=1)))
              if ok.any() else None)
    return [rates.Rate(
        "exp_rate_least_frequent", "adam.k24-rate", measured,
        (2.0 if sign_eps else
         rates.asymptotic_rate(a, b) if a is None or a > b / 2 else None),
        stderr=fit.stderr, klass=k + 1,
        note=f"fitted r in l_k ~ C exp(-r t) where {lo:.3g} <= l_k <= 1e-3 (above "
             f"100 eps/pi_k, where eps matters; none if that is above 1e-6); predicted: "
             + ("2 (sign flow)" if sign_eps else
                "the root of r = 2 (a/(a-r)) sqrt(1 - 2r/b) (eps = 0; none for "
                "a <= b/2, where the decay is faster than exponential)")),
        rates.Rate(
        "class_spread", "adam.k24-classes", spread, 0.0 if eps == 0 else None,
        note="largest relative spread of the recorded per-class losses at one time "
             "(0 when pi_k does not matter; predicted 0 for eps = 0)")]


#: Rate measures by name (:attr:`linsim.flows.FlowSpec.measure`): ``measure(run, flow)``
#: returns the :class:`~linsim.rates.Rate` records of ``flow`` in ``run``, the headline first.
#: A new measure is a new entry (docs/EXTENDING.md).
MEASURES: dict[str, Callable[[OneHotRun, str], list[rates.Rate]]] = {
    "gf-rate": _gf_rates,
    "sf-rate": _sf_rates,
    "nf-reparam": _nf_rates,
    "adaptive": _adaptive_rates,
}


def gf_overall(pi: np.ndarray, classes: int, t: float) -> tuple[float, float]:
    """Overall gradient-flow loss ``O(t) = sum_k pi_k l_k(t)`` over every class, and ``dO/dt``.

    Parameters
    ----------
    pi : ndarray
        Class frequencies (any order; a non-increasing order is fastest).
    classes : int
        Number of classes ``c``.
    t : float
        Time, ``>= 0``.

    Returns
    -------
    (float, float)
        ``O(t)`` (K24.gf-closed-form per class, summed) and its derivative (``<= 0``).
    """
    pi = np.ascontiguousarray(pi, dtype=np.float64)
    return _gf_sweep(float(t), pi, float(classes), _NO_LABELS, _NO_SUMS)


_NO_LABELS = np.zeros(0, dtype=np.int64)
_NO_SUMS = np.zeros(1)


def gf_time_at_overall(pi: np.ndarray, classes: int, level: float, guess: float = 1.0,
                       rtol: float = 1e-15) -> float:
    """The time ``t`` at which gradient flow's overall loss ``O(t)`` (:func:`gf_overall`) equals
    ``level``.

    Parameters
    ----------
    pi : ndarray
        Class frequencies.
    classes : int
        Number of classes ``c``.
    level : float
        Target overall loss, ``0 < level < log c``.
    guess : float
        Starting time (``> 0``), for example the root for a nearby level.
    rtol : float
        Relative tolerance on ``t``.

    Returns
    -------
    float
        The root. ``O`` falls strictly from ``log c``, so it is unique.

    Notes
    -----
    Newton on ``phi(s) = log O(e^s) - log level`` (nearly linear in ``s = log t``, since ``O``
    falls like a power of ``t``), with a bracket ``lo < t < hi`` kept from the signs of ``phi``:
    a step that leaves the bracket is replaced by a bisection (geometric once both ends are
    positive), and one without an upper end yet is capped at a factor ``e^8``. It stops when a
    step changes ``t`` by at most ``rtol t``, when the bracket is that narrow, or when the
    quadratic convergence of the steps so far puts the error after the step below ``rtol / 2``
    (``K d^2`` with ``d`` the step in ``log t`` and ``K = max(1, d / d_prev^2)``).
    """
    cf = float(classes)
    if not (0.0 < level < math.log(cf)):
        raise ValueError(f"level must lie in (0, log c) = (0, {math.log(cf):.17g}), got {level!r}")
    pi = np.ascontiguousarray(pi, dtype=np.float64)
    return _gf_time_at_overall(pi, cf, float(level), float(guess), float(rtol))[0]


def _gf_time_at_overall(pi, cf, level, guess, rtol):
    """:func:`gf_time_at_overall`; returns ``(t, d log O / d log t)`` at the last sweep."""
    log_level = math.log(level)
    t = guess if guess > 0 and math.isfinite(guess) else 1.0
    lo, hi = 0.0, math.inf
    slope = math.nan
    d_prev = math.nan
    for _ in range(200):
        o, do = _gf_sweep(t, pi, cf, _NO_LABELS, _NO_SUMS)
        if o == level:
            return t, slope
        if o > level:
            lo = t
        else:
            hi = t
        step = 8.0 if o > level else -8.0
        if o > 0.0 and do < 0.0:
            slope = t * do / o  # d log O / d log t < 0
            newton = -(math.log(o) - log_level) / slope
            if math.isfinite(newton):
                step = newton
        step = max(-8.0, min(8.0, step))
        t_new = t * math.exp(step)
        d = abs(step)
        quad = d * d * max(1.0, d / (d_prev * d_prev)) if d_prev > 0.0 else math.inf
        if abs(t_new - t) <= rtol * t or quad <= 0.5 * rtol:
            return t_new, slope
        d_prev = d
        if not (lo < t_new < hi):  # a step past a known end: bisect (geometrically)
            d_prev = math.nan  # not a Newton step: no convergence estimate
            if hi == math.inf:
                t_new = t * math.exp(8.0)
            elif lo == 0.0:
                t_new = hi * math.exp(-8.0)
            else:
                t_new = math.sqrt(lo * hi)
        if hi - lo <= rtol * lo:
            return t_new, slope
        t = t_new
    return t, slope


def map_times(fn: Callable[[np.ndarray], np.ndarray | None], t: np.ndarray,
               workers: int | None = 1) -> np.ndarray | None:
    """``fn(t)`` for a function of the times that works time by time (row ``i`` of its result
    belongs to ``t[i]``; or None), on contiguous chunks of ``t`` in ``workers`` threads: for
    compiled code that releases the GIL, or large NumPy operations. The same numbers for any
    ``workers``."""
    n = min(resolve_workers(workers), t.size)
    if n <= 1:
        return fn(t)
    with ThreadPoolExecutor(n) as pool:
        parts = list(pool.map(fn, np.array_split(t, n)))
    return None if parts[0] is None else np.concatenate(parts, axis=0)


def closed_group_means(model: OneHotModel, flow: str, t: np.ndarray, labels: np.ndarray,
                       groups: int, chunk: int = 50_000,
                       workers: int | None = 1) -> np.ndarray | None:
    """Group means (pi-weighted) of the closed-form losses, in chunks of classes.

    Gradient flow goes through the compiled sweep :func:`_gf_sweep` (one pass over the classes
    per time; the same closed form as ``model.closed_form``, to a few ulps); sign flow's loss is
    the same for every class, so every group mean is that loss; other flows go through
    ``model.closed_form``.
    """
    if model.closed_form(flow, t[:1], np.arange(1)) is None:
        return None
    if isinstance(model, OneHotModel) and flow in ("gradient", "sign"):
        lab = np.ascontiguousarray(labels, dtype=np.int64)
        pi = np.ascontiguousarray(model.pi, dtype=np.float64)
        den = np.bincount(lab, weights=pi, minlength=groups)[:groups]
        tt = np.asarray(t, dtype=np.float64)
        if flow == "sign":  # K24.sf-closed-form: the same loss for every class
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.outer(zipf.sf_loss(tt, model.classes), den / den)
        def sweep(ts: np.ndarray) -> np.ndarray:
            num = np.zeros((ts.size, groups))
            for i, ti in enumerate(ts):
                _gf_sweep(float(ti), pi, float(model.classes), lab, num[i])
            return num

        num = map_times(sweep, tt, workers)  # the compiled sweep releases the GIL
        with np.errstate(invalid="ignore", divide="ignore"):  # NaN for a group of zero mass
            return num / den
    num = np.zeros((t.size, groups))
    den = np.zeros(groups)
    for lo in range(0, model.classes, chunk):
        idx = np.arange(lo, min(lo + chunk, model.classes))
        cf = model.closed_form(flow, t, idx)
        w = model.pi[idx]
        for g in np.unique(labels[idx]):
            m = labels[idx] == g
            num[:, g] += cf[:, m] @ w[m]
            den[g] += w[m].sum()
    with np.errstate(invalid="ignore", divide="ignore"):  # NaN for a group of zero mass
        return num / den


def recorded_classes(classes: int, limit: int = MAX_RECORDED_CLASSES) -> np.ndarray:
    """All classes, or a log-spaced subset (always the first and the last) when there are many."""
    if classes <= limit:
        return np.arange(classes)
    idx = np.unique(np.round(np.logspace(0, math.log10(classes), limit)).astype(np.int64)) - 1
    return idx


def output_times(t_max: float, points: int, decades: float = 12.0) -> np.ndarray:
    """``points`` log-spaced times over ``decades`` decades ending at ``t_max``."""
    t = np.logspace(math.log10(t_max) - decades, math.log10(t_max), points)
    t[-1] = t_max  # 10**log10(t_max) can round above t_max (e.g. 5, 300): outside t_span
    return t


def run_onehot(
    model: OneHotModel,
    flows: tuple[str, ...] = ("gradient", "sign"),
    *,
    t_max: float = 1e5,
    points: int = 200,
    groups: int = 5,
    method: str = "RK45",
    rtol: float = 1e-6,
    atol: float = 1e-9,
    progress: bool = False,
    flow_params: Mapping[str, Sequence[float]] | None = None,
    norm: str | None = None,
    workers: int | None = 1,
) -> OneHotRun:
    """Integrate each flow on ``model`` and record losses at log-spaced times.

    The classes (columns of ``W``, or margins) are integrated in independent blocks, each with
    its own steps (:meth:`OneHotModel.blocks`; one block for the flows that divide by
    ``||g||``); the solution's step counts are then whole-state equivalents
    (:func:`linsim.integrate.solve_blocks`).

    Parameters
    ----------
    model : OneHotModel
    flows : tuple of str
        Names from :data:`linsim.flows.SPECS` (in reduced mode: those with
        :attr:`~linsim.flows.FlowSpec.reduced`).
    t_max, points
        The output grid: ``points`` log-spaced times over 12 decades ending at ``t_max``.
    groups : int
        Number of equal-mass frequency groups.
    method, rtol, atol
        Integrator and tolerances (see :func:`linsim.integrate.solve`).
    progress : bool
        Show a progress bar per flow (on a terminal only).
    flow_params : dict, optional
        Flow name -> its parameters (``adam``: ``(a, b, eps)``; see :data:`linsim.flows.SPECS`).
    norm : {"rms", "max"}, optional
        Error norm of the step-size control (:func:`linsim.integrate.solve`); default
        ``NORM_DEFAULT[model.mode]``.
    workers : int or None
        Threads for the blocks of classes (``None`` or ``-1``: every CPU). The numbers do not
        depend on it.

    Returns
    -------
    OneHotRun
    """
    t = output_times(t_max, points)
    labels = zipf.equal_mass_groups(model.pi, groups)
    sel = recorded_classes(model.classes)
    norm = NORM_DEFAULT[model.mode] if norm is None else norm
    run = OneHotRun(model, t, labels, sel, settings={
        "method": get_tableau(method).name, "rtol": rtol, "atol": atol, "t_max": t_max,
        "points": points, "groups": groups, "norm": norm,
        "flow_params": {f: list(map(float, v)) for f, v in (flow_params or {}).items()
                        if f in flows}})
    n_out = 1 + groups + sel.size
    # closed-form group means need every class at every time: for large c, 50 times suffice
    # for the dashed reference curves (2e8 root solves at c = 10^6 would dominate the run)
    tg = t if model.classes <= MAX_RECORDED_CLASSES else output_times(t_max, 50)
    flow_params = flow_params or {}
    for flow in flows:
        fp = flow_params.get(flow, ())
        sol, y = _solve_blocks(model, flow, fp, labels, sel, t, n_out, method=method,
                               rtol=rtol, atol=atol, progress=progress, norm=norm,
                               workers=workers)
        closed = map_times(lambda ts, f=flow: model.closed_form(f, ts, sel), t, workers)
        run.traces[flow] = FlowTrace(
            flow=flow, overall=y[:, 0].copy(), groups=y[:, 1 : 1 + groups].copy(),
            losses=y[:, 1 + groups :].copy(), solution=sol,
            closed=closed, closed_groups=closed_group_means(model, flow, tg, labels, groups,
                                                           workers=workers),
            closed_groups_t=tg)
    return run


def _solve_blocks(model: OneHotModel, flow: str, flow_params, labels: np.ndarray,
                  sel: np.ndarray, t: np.ndarray, n_out: int, *, progress: bool,
                  workers: int | None, **kw) -> tuple[Solution, np.ndarray]:
    """The blocks of classes of ``flow`` (:meth:`OneHotModel.blocks`), each integrated by
    itself; returns the solution (final state in the model's layout) and the rows of
    ``model.summary_output``'s layout: ``[overall, group means, selected losses]``."""
    c = model.classes
    blocks = model.blocks(flow)
    states = flow_spec(flow).states
    per = c if model.mode == "full" else 1  # states per class
    G = int(labels.max()) + 1
    params = [model.block_params(flow, k0, k1, labels, sel, flow_params) for k0, k1 in blocks]
    if model.mode == "full":
        n_outputs = [k1 - k0 for k0, k1 in blocks]  # per-class losses
    else:
        n_outputs = [1 + G + int(np.count_nonzero((sel >= k0) & (sel < k1)))
                     for k0, k1 in blocks]
    sol = solve_blocks(
        model.block_field, (0.0, float(t[-1])),
        [initial_state(flow, np.zeros((k1 - k0) * per)) for k0, k1 in blocks], params,
        output=model.block_output, n_outputs=n_outputs, workers=workers, progress=progress,
        progress_desc=f"{flow} flow", t_eval=t, **kw)
    # block finals are [x_b, m_b, v_b]; the model's layout is [x, m, v]
    parts = np.split(sol.y_final, np.cumsum([states * (k1 - k0) * per for k0, k1 in blocks])[:-1])
    sol.y_final = np.concatenate([q.reshape(states, -1) for q in parts], axis=1).ravel()
    y = np.empty((t.size, n_out))
    if model.mode == "full":
        p = model.params(flow, labels, sel, flow_params)
        for i in range(t.size):
            summarize(np.ascontiguousarray(sol.y[i]), p, y[i])
        return sol, y
    cols = np.split(sol.y, np.cumsum(n_outputs)[:-1], axis=1)
    weight = np.bincount(labels.astype(np.int64), weights=model.pi, minlength=G)[:G]
    y[:, 0] = 0.0
    y[:, 1 : 1 + G] = 0.0
    for part in cols:  # block order: a fixed summation order
        y[:, 0] += part[:, 0]
        y[:, 1 : 1 + G] += part[:, 1 : 1 + G]
    with np.errstate(invalid="ignore", divide="ignore"):  # NaN for a group of zero mass
        y[:, 1 : 1 + G] /= weight
    y[:, 1 + G :] = np.concatenate([part[:, 1 + G :] for part in cols], axis=1)
    return sol, y


def decouple_check(classes: int, zipf_a: float, flow: str = "gradient", t_max: float = 1e3,
                   points: int = 25, rtol: float = 1e-11, atol: float = 1e-13,
                   reduced_flow: str | None = None, w0_scale: float = 0.0,
                   seed: int = 0) -> dict:
    """K24.decouple on the full model: the state along the flow, column by column.

    Returns the largest column sum (relative to the column's size), the largest spread of the
    off-diagonal entries of a column, and the largest gap between the full model's margins
    ``a - b`` and the reduced margin ODE, over ``points`` log-spaced times.

    ``reduced_flow`` (default ``flow``) is the flow of the reduced margin ODE the full model's
    margins are compared with; ``w0_scale > 0`` starts the full model from
    ``W(0) ~ N(0, w0_scale^2)`` (seeded) instead of 0. Both exist for the negative controls of
    K24.decouple: a full model under another flow, or off the two-level start, must fail.
    """
    full = OneHotModel(classes, zipf_a, "full")
    red = OneHotModel(classes, zipf_a, "reduced")
    t = output_times(t_max, points, decades=6)
    kw = dict(method="DOP853", rtol=rtol, atol=atol, t_eval=t)
    w0 = full.y0()
    if w0_scale > 0.0:
        w0 = w0_scale * np.random.default_rng(seed).standard_normal(w0.size)
    W = solve(full.field, (0.0, t_max), w0, full.params(flow), **kw).y
    rf = flow if reduced_flow is None else reduced_flow
    U = solve(red.field, (0.0, t_max), red.y0(), red.params(rf), **kw).y
    c = classes
    cols = W.reshape(t.size, c, c)  # [time, column k, entry j]
    diag = np.einsum("tkk->tk", cols)
    scale = np.maximum(np.abs(cols).max(axis=2), 1e-300)
    colsum = np.abs(cols.sum(axis=2)) / scale
    off = cols.copy()
    idx = np.arange(c)
    off[:, idx, idx] = np.nan
    spread = (np.nanmax(off, axis=2) - np.nanmin(off, axis=2)) / scale
    b = np.nanmean(off, axis=2)
    margin_gap = np.abs((diag - b) - U) / np.maximum(np.abs(U), 1e-300)
    return {"column_sum": float(colsum.max()), "off_diagonal_spread": float(spread.max()),
            "margin_vs_reduced": float(margin_gap[U > 1e-12].max()),
            "t": t, "W": cols, "U": U}
