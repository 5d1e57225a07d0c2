"""The one plotting style of linsim: builders take results and return a matplotlib Figure.

They never compute physics. Every figure has labelled log axes where the data span decades and
carries its THEORY.md claim id in the title; :func:`linsim.io.save_figure` writes PNG and PDF.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

STYLE = {
    "figure.dpi": 100,
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.4,
    "legend.fontsize": 7,
    "legend.frameon": False,
    "svg.hashsalt": "linsim",
}


def new_figure(panels: int, *, width: float = 3.2, height: float = 2.8, sharey: bool = True):
    """A row of ``panels`` axes in the linsim style."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, panels, figsize=(width * panels, height), sharey=sharey,
                                 squeeze=False, layout="constrained")
    for ax in axes[0]:
        ax.grid(True, which="major", alpha=0.3)
    return fig, list(axes[0])


def group_colors(n: int):
    """One color per frequency group, from frequent (dark) to rare (light)."""
    cmap = plt.get_cmap("viridis")
    return [cmap(x) for x in np.linspace(0.0, 0.85, max(n, 1))]


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
        if cg is not None:
            for g in range(G):
                ax.loglog(t, cg[:, g], "--", color="k", lw=0.7,
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
