"""K24 on the one-hot softmax model: gradient, sign and normalized flow against the closed forms.

Claims measured here (THEORY.md): K24.decouple (through the full mode), K24.gf-closed-form,
K24.gf-rate, K24.sf-closed-form, K24.nf-reparam.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from .. import rates
from ..integrate import Solution, get_tableau, solve
from ..problems import zipf
from ..problems.softmax import OneHotModel

#: Above this many classes only a log-spaced subset of classes is recorded per class.
MAX_RECORDED_CLASSES = 20_000
#: Closed-form losses below this are not compared: the underflowing tail of double precision.
COMPARE_FLOOR = 1e-250


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

    def rates(self, flow: str) -> list[dict]:
        """Every rate measured for ``flow``, each ``{name, claim, measured, predicted, ...}``.

        The first entry is the flow's headline rate.
        """
        c = self.model.classes
        tr = self.traces[flow]
        t = self.t
        first, last = 0, self.class_index.size - 1  # most and least frequent recorded class
        k_first, k_last = int(self.class_index[first]), int(self.class_index[last])
        out: list[dict] = []
        if flow == "gradient":
            for col, k, who in ((first, k_first, "most"), (last, k_last, "least")):
                out.append({
                    "name": f"pi_t_l_{who}_frequent",
                    "claim": "K24.gf-rate",
                    "class": k + 1,
                    "measured": float(self.pi[k] * t[-1] * tr.losses[-1, col]),
                    "predicted": 1.0 - 1.0 / c,
                    "note": "pi_k t l_k(t) at t = t_max; tends to 1 - 1/c as pi_k t grows",
                    "pi_t": float(self.pi[k] * t[-1]),
                })
            for col, k, who in ((first, k_first, "most"), (last, k_last, "least")):
                fit = rates.loglog_slope(t, tr.losses[:, col], t[-1] / 100.0, t[-1])
                out.append({
                    "name": f"loglog_slope_{who}_frequent",
                    "claim": "K24.gf-rate",
                    "class": k + 1,
                    "measured": fit.value,
                    "stderr": fit.stderr,
                    "predicted": -1.0,
                    "note": "slope of log l_k against log t over the last two decades",
                })
        elif flow == "sign":
            for col, k, who in ((last, k_last, "least"), (first, k_first, "most")):
                fit = rates.exp_rate(t, tr.losses[:, col])
                out.append({
                    "name": f"exp_rate_{who}_frequent",
                    "claim": "K24.sf-closed-form",
                    "class": k + 1,
                    "measured": fit.value,
                    "stderr": fit.stderr,
                    "predicted": 2.0,
                    "note": "fitted r in l_k ~ C exp(-r t), where 1e-250 <= l_k <= 1e-3",
                })
            col = last
            v = tr.losses[:, col]
            ok = np.flatnonzero((v > 1e-200) & (v < 1e-8))
            with np.errstate(over="ignore"):  # inf (JSON null) when the trajectory is far off
                meas = (float(np.exp(2 * t[ok[-1]] + np.log(v[ok[-1]]))) if ok.size
                        else float("nan"))
            out.append({
                "name": "e2t_l_least_frequent",
                "claim": "K24.sf-closed-form",
                "class": k_last + 1,
                "measured": meas,
                "predicted": float(c - 1),
                "t": float(t[ok[-1]]) if ok.size else None,
                "note": "e^(2t) l_k(t) at the largest output time with l_k > 1e-200",
            })
        elif flow == "normalized":
            dev = self.nf_deviation()
            out.append({
                "name": "nf_vs_gf_at_equal_loss",
                "claim": "K24.nf-reparam",
                "measured": dev,
                "predicted": 0.0,
                "note": "max relative gap between NF's per-class losses and GF's (closed form) at "
                        "the same overall loss",
            })
        return out

    def nf_deviation(self) -> float:
        """K24.nf-reparam: at each NF output time, find the GF time with the same overall loss
        (closed form, by root finding) and compare the per-class losses there."""
        tr = self.traces["normalized"]
        c = self.model.classes
        pi = self.pi
        sel = self.class_index

        def overall_gf(tg):
            return float(pi @ zipf.gf_loss(tg, pi, c))

        worst = 0.0
        L0 = math.log(c)
        for i, L in enumerate(tr.overall):
            if not (L < L0 * (1 - 1e-9)) or L < 1e-12:
                continue  # t ~ 0 (no information) or beyond the resolution of the overall loss
            hi = 1.0
            while overall_gf(hi) > L:
                hi *= 4.0
            tg = brentq(lambda s, L=L: overall_gf(s) - L, 0.0, hi, xtol=1e-300, rtol=1e-15)
            ref = zipf.gf_loss(tg, pi[sel], c)
            m = ref > COMPARE_FLOOR
            worst = max(worst, float(np.max(np.abs(tr.losses[i, m] - ref[m]) / ref[m])))
        return worst


def closed_group_means(model: OneHotModel, flow: str, t: np.ndarray, labels: np.ndarray,
                       groups: int, chunk: int = 50_000) -> np.ndarray | None:
    """Group means (pi-weighted) of the closed-form losses, in chunks of classes."""
    if model.closed_form(flow, t[:1], np.arange(1)) is None:
        return None
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
) -> OneHotRun:
    """Integrate each flow on ``model`` and record losses at log-spaced times.

    Parameters
    ----------
    model : OneHotModel
    flows : tuple of str
        Names from :data:`linsim.flows.FLOWS`.
    t_max, points
        The output grid: ``points`` log-spaced times over 12 decades ending at ``t_max``.
    groups : int
        Number of equal-mass frequency groups.
    method, rtol, atol
        Integrator and tolerances (see :func:`linsim.integrate.solve`).
    progress : bool
        Show a progress bar per flow (on a terminal only).

    Returns
    -------
    OneHotRun
    """
    t = output_times(t_max, points)
    labels = zipf.equal_mass_groups(model.pi, groups)
    sel = recorded_classes(model.classes)
    run = OneHotRun(model, t, labels, sel, settings={
        "method": get_tableau(method).name, "rtol": rtol, "atol": atol, "t_max": t_max,
        "points": points, "groups": groups})
    n_out = 1 + groups + sel.size
    # closed-form group means need every class at every time: for large c, 50 times suffice
    # for the dashed reference curves (2e8 root solves at c = 10^6 would dominate the run)
    tg = t if model.classes <= MAX_RECORDED_CLASSES else output_times(t_max, 50)
    for flow in flows:
        p = model.params(flow, labels, sel)
        sol = solve(model.field, (0.0, t_max), model.y0(), p, method=method, rtol=rtol,
                    atol=atol, t_eval=t, output=model.summary_output, n_output=n_out,
                    progress=progress, progress_desc=f"{flow} flow")
        y = sol.y
        closed = model.closed_form(flow, t, sel)
        run.traces[flow] = FlowTrace(
            flow=flow, overall=y[:, 0].copy(), groups=y[:, 1 : 1 + groups].copy(),
            losses=y[:, 1 + groups :].copy(), solution=sol,
            closed=closed, closed_groups=closed_group_means(model, flow, tg, labels, groups),
            closed_groups_t=tg)
    return run


def decouple_check(classes: int, zipf_a: float, flow: str = "gradient", t_max: float = 1e3,
                   points: int = 25, rtol: float = 1e-11, atol: float = 1e-13) -> dict:
    """K24.decouple on the full model: the state along the flow, column by column.

    Returns the largest column sum (relative to the column's size), the largest spread of the
    off-diagonal entries of a column, and the largest gap between the full model's margins
    ``a - b`` and the reduced margin ODE, over ``points`` log-spaced times.
    """
    full = OneHotModel(classes, zipf_a, "full")
    red = OneHotModel(classes, zipf_a, "reduced")
    t = output_times(t_max, points, decades=6)
    kw = dict(method="DOP853", rtol=rtol, atol=atol, t_eval=t)
    W = solve(full.field, (0.0, t_max), full.y0(), full.params(flow), **kw).y
    U = solve(red.field, (0.0, t_max), red.y0(), red.params(flow), **kw).y
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
