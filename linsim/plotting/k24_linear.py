"""Figure builders for the K24 claims on the general linear model (K24.experiment,
K24.assignment, flows)."""

from __future__ import annotations

import math

import numpy as np

from . import group_colors, new_figure


def _no_minor_labels(ax) -> None:
    """Log axes spanning less than a decade label their minor ticks, which then overlap."""
    from matplotlib.ticker import NullFormatter

    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())


def _floor(values, low: float = 1e-8) -> float:
    v = np.asarray(values, float)
    v = v[np.isfinite(v) & (v > 0)]
    return max(low, 0.5 * float(v.min())) if v.size else low


def _grid(panels: int, width: float = 3.0, height: float = 2.6):
    """Panels on two rows in the linsim style (shared axes)."""
    import matplotlib.pyplot as plt

    from . import STYLE

    cols = math.ceil(panels / 2) if panels > 3 else panels
    rows = math.ceil(panels / cols)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows + 0.4),
                                 sharex=True, sharey=True, squeeze=False, layout="constrained")
    flat = list(axes.ravel())
    for ax in flat[panels:]:
        ax.set_visible(False)
    for ax in flat[:panels]:
        ax.grid(True, which="major", alpha=0.3)
    return fig, flat[:panels], cols


def experiment_figure(result, title: str | None = None):
    """K24.experiment: per-group loss against step, one panel per optimizer, plus the overall
    loss; dashed lines at the criterion levels ``0.9 log c`` and ``0.5 log c``.

    Losses above ``10 log c`` (the spikes of GD at large steps) leave the top of the axes.
    """
    from ..experiments.k24_linear import ADAPTIVE_CEILING, GD_FLOOR, SPECS

    names = list(result.chosen)
    G = result.n_groups
    c = result.classes
    log_c = math.log(c)
    x = result.record[1:]
    fig, axes, cols = _grid(len(names) + 1)
    colors = group_colors(G)
    lows = []
    for ax, name in zip(axes, names, strict=False):
        gc = result.group_curves(name)
        for g in range(G):
            ax.loglog(x, gc[1:, g], color=colors[g], label=f"group {g + 1}")
        lows.append(_floor(gc[1:]))
        ax.set_title(f"{SPECS[name].label}, lr = {result.chosen[name].lr:.3g}")
    ax = axes[-1]
    for name in names:
        ax.loglog(x, result.chosen[name].overall[1:], label=SPECS[name].label)
        lows.append(_floor(result.chosen[name].overall[1:]))
    ax.set_title("overall loss")
    low = min(lows)
    for i, ax in enumerate(axes):
        ax.axhline(GD_FLOOR * log_c, color="0.3", ls="--", lw=0.7)
        ax.axhline(ADAPTIVE_CEILING * log_c, color="0.3", ls=":", lw=0.7)
        ax.set_ylim(low, 10 * log_c)
        if i % cols == 0:
            ax.set_ylabel("mean loss of the group")
        if i >= len(axes) - cols:
            ax.set_xlabel("step")
            ax.xaxis.set_tick_params(labelbottom=True)
    axes[0].legend(loc="lower left", fontsize=6, title="frequent to rare", title_fontsize=6)
    axes[-1].legend(loc="lower left", fontsize=6)
    d = result.data
    fig.suptitle(title or f"K24.experiment: {d.name}, c = {c}, n = {d.n}, d = {d.d}, "
                 f"{result.steps} steps; dashed 0.9 log c, dotted 0.5 log c")
    return fig


def assignment_figure(runs, pi, slopes: dict, title: str | None = None):
    """K24.assignment: per-class gradient norm against Hessian-block trace at several steps,
    one panel per optimizer; reference lines of slope 1 and 1/2 through the last cloud."""
    fig, axes = new_figure(len(runs), width=3.8, height=3.4, sharey=False)
    for ax, tr in zip(axes, runs, strict=True):
        snaps = [s for s in sorted(tr.snapshots) if s > 0]
        colors = group_colors(len(snaps))
        for color, s in zip(colors, snaps, strict=True):
            norms, traces = tr.snapshots[s]
            sl = slopes[tr.name][s]["slope"]
            ax.loglog(traces, norms, "o", ms=2.5, color=color, alpha=0.8,
                      label=f"step {s}: slope {sl:.2f}")
        norms, traces = tr.snapshots[snaps[-1]]
        x0, y0 = np.exp(np.mean(np.log(traces))), np.exp(np.mean(np.log(norms)))
        xs = np.array([traces.min(), traces.max()])
        ax.loglog(xs, y0 * (xs / x0), "k--", lw=0.8, label="slope 1 (THEORY)")
        ax.loglog(xs, y0 * (xs / x0) ** 0.5, "k:", lw=0.8, label="slope 1/2")
        _no_minor_labels(ax)
        ax.set_xlabel("trace of the Hessian block tr H_kk")
        ax.set_ylabel("gradient norm ||grad_{w_k} L||")
        ax.set_title(f"{tr.name}, lr = {tr.lr:.3g}")
        ax.legend(loc="upper left", fontsize=6)
    fig.suptitle(title or "K24.assignment: one dot per class, colored by step (pi_k ranges "
                 f"{pi.max() / pi.min():.0f}x)", fontsize=8)
    return fig


def flows_figure(flows: dict, discrete: dict, data, title: str | None = None):
    """Gradient and (smoothed) sign flow on the general model, per group, with the discrete
    methods at a small step overlaid at ``t = k h`` (dots)."""
    names = list(flows)
    G = data.n_groups
    fig, axes = new_figure(len(names), width=3.6, height=3.2)
    colors = group_colors(G)
    log_c = math.log(data.classes)
    for ax, name in zip(axes, names, strict=True):
        fr = flows[name]
        t = fr.t[1:]
        for g in range(G):
            ax.loglog(t, fr.groups[1:, g], color=colors[g], label=f"group {g + 1}")
        dv = discrete.get(name)
        if dv is not None:
            td = dv["t"][1:]
            for g in range(G):
                ax.loglog(td, dv["discrete"][1:, g], ".", ms=3, color=colors[g])
            ax.plot([], [], "k.", label=f"{dv['method']} at step {dv['step']:g} (t = k h)")
        ax.axhline(log_c, color="0.4", lw=0.7, ls="--")
        ax.set_xlabel("t")
        ax.set_title({"gradient": "gradient flow", "sign_sqrt": "sign flow (eps -> 0 limit)",
                      "sign": "sign flow"}.get(name, name))
        ax.legend(loc="lower left", fontsize=6)
    axes[0].set_ylabel("mean loss of the group")
    fig.suptitle(title or f"K24 flows on the general model: {data.name}, c = {data.classes}",
                 fontsize=8)
    return fig


def init_figure(model, grad_norms, traces, rows: dict):
    """K24.init-grad-hess and K24.block-rows: per-class gradient norms and Hessian-block traces
    against pi_k at ``W = 0``; per-sample block-row sums relative to the largest entry."""
    fig, axes = new_figure(2, width=3.8, height=3.2, sharey=False)
    pi = model.pi
    ax = axes[0]
    ax.loglog(pi, grad_norms, "o", ms=3, label="||grad_{w_k} L|| (imbalanced)")
    ax.loglog(pi, traces, "s", ms=3, label="tr H_kk = (1/c)(1-1/c) tr Hbar (balanced)")
    _no_minor_labels(ax)
    ax.set_xlabel("class frequency pi_k")
    ax.set_ylabel("value at W = 0")
    ax.set_title(f"K24.init-grad-hess: {model.data.name}")
    ax.legend(loc="best", fontsize=6)
    ax = axes[1]
    z = np.array([r[0] for r in rows["per_draw"]])
    v = np.array([r[1] for r in rows["per_draw"]])
    eps = float(np.finfo(float).eps)
    ax.loglog(z, np.maximum(v, eps / 100), "o", ms=3, label="max_k |sum_j H_kj| / max |H|")
    ax.axhline(eps, color="k", ls="--", lw=0.8, label="machine epsilon")
    ax.set_ylim(eps / 200, 1e-12)
    ax.set_xlabel("largest |logit| of the sample")
    ax.set_title(f"K24.block-rows: {rows['draws']} random samples")
    ax.legend(loc="upper left", fontsize=6)
    fig.suptitle("K24.init-grad-hess and K24.block-rows on the general linear model")
    return fig
