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


def _label(name: str) -> str:
    from ..experiments.k24_linear import SPECS

    return SPECS[name].label if name in SPECS else name


def experiment_figure(result, title: str | None = None, levels: bool = True):
    """K24.experiment: per-group loss against step, one panel per optimizer, plus the overall
    loss; dashed lines at the criterion levels ``0.9 log c`` and ``0.5 log c`` (``levels``).

    Losses above ``10 log c`` (the spikes of GD at large steps) leave the top of the axes.
    """
    from ..experiments.k24_linear import ADAPTIVE_CEILING, GD_FLOOR

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
        ax.set_title(f"{_label(name)}, lr = {result.chosen[name].lr:.3g}")
    ax = axes[-1]
    for name in names:
        ax.loglog(x, result.chosen[name].overall[1:], label=_label(name))
        lows.append(_floor(result.chosen[name].overall[1:]))
    ax.set_title("overall loss")
    low = min(lows)
    for i, ax in enumerate(axes):
        if levels:
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


def half_loss_figure(study: dict, title: str | None = None):
    """K24.experiment at stable steps: per-group losses of the first seed (one panel per
    optimizer, a dotted line at half of ``log c``) and a last panel with every group's
    half-loss step against its class frequency (one dot per seed; censored groups drawn at the
    top edge as open markers; grey: groups excluded as prior groups), with lines of slope -1
    and 0 through GD's and Adam's middle groups."""
    from ..experiments.k24_linear import group_frequencies

    res = study["first"]
    names = list(res.chosen)
    G, c = res.n_groups, res.classes
    log_c = math.log(c)
    fig, axes, cols = _grid(len(names) + 1, width=3.2, height=2.8)
    colors = group_colors(G)
    x = res.record[1:]
    for ax, name in zip(axes, names, strict=False):
        gc = res.group_curves(name)
        for g in range(G):
            ax.loglog(x, gc[1:, g], color=colors[g], label=f"group {g + 1}")
        ax.axhline(0.5 * log_c, color="0.3", ls=":", lw=0.7)
        ax.set_ylim(_floor(gc[1:]), 2 * log_c)
        ax.set_title(f"{_label(name)}, lr = {res.chosen[name].lr:.3g}", fontsize=8)
        ax.set_xlabel("step")
    axes[0].set_ylabel("mean loss of the group")
    axes[0].legend(loc="lower left", fontsize=6, title="frequent to rare", title_fontsize=6)
    ax = axes[-1]
    ax.remove()
    ax = fig.add_subplot(axes[-1].get_subplotspec())
    freq = group_frequencies(res.data)
    markers = {"gd": "o", "sign": "s", "adam": "^"}
    H = study["steps"]
    for name, rows in study["runs"].items():
        for j, r in enumerate(rows):
            hs = np.asarray(r["half_steps"], float)
            ex = np.zeros(G, bool)
            ex[r["excluded"]] = True
            ok = np.isfinite(hs) & ~ex
            lab = f"{_label(name)}: slope {r[H]['slope']:.2f}" if j == 0 else None
            ax.loglog(freq[ok], hs[ok], markers.get(name, "o"), ms=3, alpha=0.7,
                      color=f"C{names.index(name)}", label=lab)
            ax.loglog(freq[ex & np.isfinite(hs)], hs[ex & np.isfinite(hs)], markers.get(
                name, "o"), ms=3, color="0.6")
            cens = ~np.isfinite(hs) & ~ex
            ax.loglog(freq[cens], np.full(cens.sum(), H), markers.get(name, "o"), ms=4,
                      mfc="none", color=f"C{names.index(name)}")
    mid = freq[G // 2]
    ref = study["runs"][names[0]][0]["half_steps"][G // 2]
    if np.isfinite(ref):
        ax.loglog(freq, ref * (freq / mid) ** -1.0, "k--", lw=0.7, label="slope -1")
    ax.axhline(H, color="0.5", lw=0.5)
    _no_minor_labels(ax)
    ax.set_xlabel("class frequency of the group")
    ax.set_ylabel("steps until the group's loss halves")
    ax.set_title("half-loss steps (open: censored)", fontsize=8)
    ax.legend(loc="best", fontsize=6)
    fig.suptitle(title or f"K24.experiment: {res.data.name}", fontsize=8)
    return fig


def assignment_figure(means: dict, iid: dict, title: str | None = None):
    """K24.assignment and K24.assignment-iid side by side.

    ``means``: per optimizer ``{"lr", "snaps": {step: {"ratios": ..., slopes}}}`` on the
    class-means data; one panel per ratio (gradient, Hessian) with ``|ratio - 1|`` against
    ``c pi_k`` at each snapshot (colour) and a line of slope -1 (THEORY). ``iid``: per
    optimizer ``{"rows": iid_slopes rows}`` on random labels; one panel with the slope of
    ``log ||grad_k||`` against ``log tr H_kk`` at each snapshot against step, the window
    shaded, and 1/2 (derived) dashed.
    """
    fig, axes = new_figure(3, width=3.6, height=3.2, sharey=False)
    marks = {"gd": "o", "adam": "^"}
    for ax, key, what in ((axes[0], "grad_ratio", "gradient"), (axes[1], "hess_ratio",
                                                                 "Hessian-block trace")):
        for name, run in means.items():
            snaps = sorted(run["snaps"])
            colors = group_colors(len(snaps))
            for col, s in zip(colors, snaps, strict=True):
                r = run["snaps"][s]["ratios"]
                dev = np.abs(r[key] - 1.0)
                ok = np.isfinite(dev) & (dev > 0)
                ax.loglog(r["c_pi"][ok], dev[ok], marks.get(name, "o"), ms=2.5, color=col,
                          alpha=0.6, label=f"{name} step {s}: slope "
                                           f"{run['snaps'][s][key]:.2f}")
        cp = np.array([r["c_pi"].min(), r["c_pi"].max()])
        ax.loglog(cp, 1.0 / cp, "k--", lw=0.8, label="1/(c pi_k) (THEORY)")
        _no_minor_labels(ax)
        ax.set_xlabel("c pi_k")
        ax.set_ylabel("|ratio - 1|")
        ax.set_title(f"K24.assignment: {what} ratio", fontsize=8)
        ax.legend(loc="lower left", fontsize=4.5, ncol=2)
    ax = axes[2]
    for i, (name, run) in enumerate(iid.items()):
        rows = run["rows"]
        st = np.array([r["step"] for r in rows], float)
        sl = np.array([r["slope"] for r in rows], float)
        win = np.array([r["window"] for r in rows], bool)
        ax.semilogx(st, sl, "-", color=f"C{i}", lw=0.8, label=f"{name}, lr {run['lr']:.3g}")
        ax.semilogx(st[win], sl[win], "o", color=f"C{i}", ms=4,
                    label=f"{name}: in the window")
    ax.axhline(0.5, color="k", ls="--", lw=0.8, label="1/2 (derived)")
    ax.axhline(1.0, color="0.5", ls=":", lw=0.8, label="1")
    ax.set_ylim(0, 2)
    ax.set_xlabel("step")
    ax.set_ylabel("slope of log ||grad_k|| vs log tr H_kk")
    ax.set_title("K24.assignment-iid: random heavy-tailed labels", fontsize=8)
    ax.legend(loc="upper right", fontsize=5)
    fig.suptitle(title or "K24.assignment and K24.assignment-iid", fontsize=8)
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
    ax.loglog(z, np.maximum(v, 1e-6), "o", ms=3,
              label="max_k |sum_j H_kj| (differences of the gradient code) / rounding bound")
    ax.axhline(1.0, color="k", ls="--", lw=0.8, label="rounding bound")
    ax.set_ylim(5e-7, 10)
    ax.set_xlabel("largest |logit| of the sample")
    ax.set_title(f"K24.block-rows: {rows['draws']} random samples")
    ax.legend(loc="upper left", fontsize=6)
    fig.suptitle("K24.init-grad-hess and K24.block-rows on the general linear model")
    return fig
