"""Figure builders for the K24 model at language-model scale (reduced mode, c ~ 5e4 to 1e6)."""

from __future__ import annotations

import numpy as np

from . import group_colors, new_figure


def group_ranks(labels: np.ndarray) -> list[tuple[int, int]]:
    """First and last class (1-based frequency rank) of every group, from the group labels."""
    labels = np.asarray(labels)
    out = []
    for g in range(int(labels.max()) + 1):
        idx = np.flatnonzero(labels == g)
        out.append((int(idx[0]) + 1, int(idx[-1]) + 1))
    return out


def lm_vocab_groups(run, title: str | None = None):
    """Per-group mean loss against t at LM vocabulary size, one panel per flow.

    Each group holds about the same probability mass of Zipf-distributed tokens (group 1: the
    few most frequent tokens; the last group: the long tail); the legend gives each group's
    rank range. Simulated group means are solid, closed forms (K24.gf-closed-form,
    K24.sf-closed-form) dashed.

    Parameters
    ----------
    run : linsim.experiments.k24.OneHotRun
        Usually reduced mode at large ``c``.
    title : str, optional
        Figure title (default: names the claims, ``c``, ``a`` and the mode).

    Returns
    -------
    matplotlib.figure.Figure
    """
    flows = list(run.traces)
    G = run.traces[flows[0]].groups.shape[1]
    c = run.model.classes
    fig, axes = new_figure(len(flows), width=4.2, height=3.4)
    colors = group_colors(G)
    ranks = group_ranks(run.labels)
    t = run.t
    for ax, flow in zip(axes, flows, strict=True):
        tr = run.traces[flow]
        for g, (lo, hi) in enumerate(ranks):
            name = f"tokens {lo:,}" if lo == hi else f"tokens {lo:,}-{hi:,}"
            ax.loglog(t, tr.groups[:, g], color=colors[g], label=name)
        cg = tr.closed_groups
        if cg is not None:
            tg = getattr(tr, "closed_groups_t", None)
            tg = t if tg is None else tg
            for g in range(G):
                ax.loglog(tg, cg[:, g], "--", color="k", lw=0.7,
                          label="closed form" if g == 0 else None)
        ax.set_title(f"{flow} flow")
        ax.set_xlabel("t")
        ax.set_ylim(1e-12, 2 * np.log(c))
        ax.set_xlim(t[0], t[-1])
    axes[0].set_ylabel("mean loss of the group")
    axes[-1].legend(loc="upper right", title=f"{G} groups of equal mass",
                    title_fontsize=7)
    fig.suptitle(title or f"K24 at LM scale: c = {c:,} classes, Zipf a = {run.model.zipf:g}, "
                          f"{run.model.mode} mode\nK24.gf-rate: group g waits until t ~ 1/pi; "
                          f"K24.sf-closed-form: every group falls like (c-1) e^(-2t)", fontsize=9)
    return fig
