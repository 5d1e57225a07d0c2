"""Figure builders for the K24 claims."""

from __future__ import annotations

import numpy as np

from . import group_colors, new_figure


def k24_group_losses(run, title: str = "K24: per-group loss under each flow"):
    """Per-group mean loss against t, one panel per flow plus one for the overall loss.

    Simulated values are solid lines; closed forms (K24.gf-closed-form, K24.sf-closed-form)
    are dashed.
    """
    flows = list(run.traces)
    G = run.traces[flows[0]].groups.shape[1]
    fig, axes = new_figure(len(flows) + 1)
    colors = group_colors(G)
    t = run.t
    c = run.model.classes

    for ax, flow in zip(axes, flows, strict=False):
        tr = run.traces[flow]
        for g in range(G):
            ax.loglog(t, tr.groups[:, g], color=colors[g], label=f"group {g + 1}")
        cg = tr.closed_groups
        tg = t if getattr(tr, "closed_groups_t", None) is None else tr.closed_groups_t
        if cg is not None:
            for g in range(G):
                ax.loglog(tg, cg[:, g], "--", color="k", lw=0.7,
                          label="closed form" if g == 0 else None)
        ax.set_title(f"{flow} flow")
        ax.set_xlabel("t")
    axes[0].set_ylabel("mean loss of the group")
    ax = axes[-1]
    for flow in flows:
        ax.loglog(t, run.traces[flow].overall, label=f"{flow}")
    ax.set_title("overall loss")
    ax.set_xlabel("t")
    for ax in axes:
        ax.set_ylim(max(1e-12, ax.get_ylim()[0]), 2 * np.log(c))
    axes[0].legend(loc="lower left")
    axes[-1].legend(loc="lower left")
    fig.suptitle(f"{title} (c = {c}, a = {run.model.zipf:g}, {run.model.mode} mode)")
    return fig


def _pick_classes(index: np.ndarray, n: int = 6) -> list[int]:
    """Columns (into ``index``) of ``n`` classes spread log-uniformly over the Zipf range."""
    pos = np.unique(np.round(np.logspace(0, np.log10(index.size), n)).astype(int) - 1)
    return [int(p) for p in pos]


def k24_gf_collapse(run):
    """K24.gf-rate: ``pi_k t l_k`` against ``pi_k t`` for classes spread over the Zipf range."""
    c = run.model.classes
    tr = run.traces["gradient"]
    fig, (ax,) = new_figure(1, width=4.6, height=3.4)
    cols = _pick_classes(run.class_index)
    colors = group_colors(len(cols))
    for color, j in zip(colors, cols, strict=True):
        k = int(run.class_index[j])
        x = run.pi[k] * run.t
        ax.loglog(x, x * tr.losses[:, j], color=color, label=f"class {k + 1}")
    x = np.logspace(np.log10(run.pi[-1] * run.t[0]), np.log10(run.pi[0] * run.t[-1]), 200)
    ax.loglog(x, (1 - 1 / c) * x / (1 + x), "k--", lw=0.8, label="bounds x (1+pi t)^-1")
    ax.loglog(x, (c - 1) * x / (1 + x), "k--", lw=0.8)
    ax.axhline(1 - 1 / c, color="0.4", lw=0.8, ls=":", label="1 - 1/c")
    ax.set_xlabel("pi_k t")
    ax.set_ylabel("pi_k t l_k(t)")
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5))
    # a figure title, not an axes title: the legend beside the axes would push it off the left
    fig.suptitle(f"K24.gf-rate: gradient flow, c = {c}, a = {run.model.zipf:g} "
                 f"({run.model.mode} mode)")
    return fig


def k24_sf_exponent(runs):
    """K24.sf-closed-form: ``l(t)`` and ``e^(2t) l(t) / (c-1)`` under sign flow for several c."""
    fig, axes = new_figure(2, width=3.8, height=3.2, sharey=False)
    colors = group_colors(len(runs))
    for color, run in zip(colors, runs, strict=True):
        c = run.model.classes
        tr = run.traces["sign"]
        j = run.class_index.size - 1
        t, v = run.t, tr.losses[:, j]
        m = (v > 1e-300) & (t > 1e-3)
        axes[0].semilogy(t[m], v[m], color=color, label=f"c = {c}")
        axes[1].semilogx(t[m], np.exp(2 * t[m] + np.log(v[m])) / (c - 1), color=color,
                         label=f"c = {c}")
    axes[0].set_xlim(0, 60)
    axes[0].set_ylim(1e-55, 30)
    axes[0].set_xlabel("t")
    axes[0].set_ylabel("l_k(t), rarest class")
    axes[0].set_title("slope -2 whatever c and pi_k")
    axes[1].axhline(1.0, color="k", ls="--", lw=0.8)
    axes[1].set_xlabel("t")
    axes[1].set_ylabel("e^(2t) l_k(t) / (c - 1)")
    axes[1].set_title("tends to 1")
    axes[0].legend()
    fig.suptitle("K24.sf-closed-form: sign flow decays like e^(-2t), not e^(-ct) "
                 f"({runs[0].model.mode} mode)")
    return fig


def k24_two_level(d):
    """K24.decouple: entries of a few columns of W(t) under gradient flow (full model)."""
    t, W = d["t"], d["W"]
    c = W.shape[1]
    fig, axes = new_figure(2, width=3.8, height=3.2, sharey=False)
    colors = group_colors(c)
    for k in range(c):
        axes[0].semilogx(t, W[:, k, k], color=colors[k], label=f"a, column {k + 1}")
        for j in range(c):
            if j != k:
                axes[0].semilogx(t, W[:, k, j], color=colors[k], ls=":", lw=0.9)
    axes[0].set_xlabel("t")
    axes[0].set_ylabel("W_jk(t) (solid: diagonal, dotted: the c-1 others)")
    axes[0].legend(loc="upper left")
    dev = np.abs(W.sum(axis=2)) / np.maximum(np.abs(W).max(axis=2), 1e-300)
    axes[1].loglog(t, np.maximum(dev.max(axis=1), 1e-18), label="max |a + (c-1) b| / max|W|")
    axes[1].loglog(t, np.maximum(np.abs(d["U"] - (np.einsum("tkk->tk", W) - (
        W.sum(axis=2) - np.einsum("tkk->tk", W)) / (c - 1))).max(axis=1), 1e-18),
        label="max |margin - reduced ODE|")
    axes[1].set_xlabel("t")
    axes[1].set_title("invariants (rounding level)")
    axes[1].legend()
    fig.suptitle(f"K24.decouple: two-level columns under gradient flow (c = {c})")
    return fig


def k24_equal_loss(run):
    """K24.nf-reparam: per-group loss against overall loss for GF, NF and SF."""
    fig, (ax,) = new_figure(1, width=4.6, height=3.4)
    G = run.traces["gradient"].groups.shape[1]
    colors = group_colors(G)
    styles = {"gradient": "-", "normalized": "--", "sign": ":"}
    for flow, ls in styles.items():
        if flow not in run.traces:
            continue
        tr = run.traces[flow]
        for g in range(G):
            ax.loglog(tr.overall, tr.groups[:, g], ls, color=colors[g],
                      label=f"{flow}" if g == 0 else None)
    c = run.model.classes
    ax.set_xlim(2 * np.log(c), 1e-10)
    ax.set_ylim(1e-12, 2 * np.log(c))
    ax.set_xlabel("overall loss L (decreasing)")
    ax.set_ylabel("mean loss of each frequency group")
    ax.legend(loc="lower left")
    ax.set_title(f"K24.nf-reparam: c = {run.model.classes}, a = {run.model.zipf:g} "
                 f"({run.model.mode} mode)")
    return fig
