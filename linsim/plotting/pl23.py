"""Figure builders for the PL23 claims (directional sharpness, coordinate-wise clipping)."""

from __future__ import annotations

import numpy as np

from . import new_figure

#: One color per direction, the same in every PL23 figure.
COLORS = {"gd": "C3", "sign": "C0", "adam": "C2", "clip": "C1"}
NAMES = {"gd": "GD g", "sign": "sign(g)", "adam": "Adam", "clip": "clipped g"}


def pl23_sharpness(study):
    """PL23.sharpness: S(v) of each direction along the GD trajectory of every problem."""
    trs = study.trajectories
    fig, axes = new_figure(len(trs), width=2.75, height=3.0, sharey=False)
    for ax, tr in zip(axes, trs, strict=True):
        k = np.maximum(tr.steps, 0.5)
        for name, color in COLORS.items():
            label = NAMES[name] + (f" (q = {tr.frac:.2g})" if name == "clip" else "")
            ax.loglog(k, tr.S[name], color=color, label=label)
        ax.set_xlabel("GD step (0 plotted at 0.5)")
        ax.set_title(tr.problem.replace(" (", "\n("), fontsize=8)
    axes[0].set_ylabel("directional sharpness S(v) = v'Hv / |v|^2")
    axes[0].legend(loc="lower left", fontsize=6)
    fig.suptitle("PL23.sharpness: S(sign g) is the mean curvature, S(g) weights curvature by "
                 f"g_i^2 (identity checked to {study.identity_error:.1e} with finite-difference "
                 "HVPs)")
    return fig


def pl23_clip_helps(res):
    """PL23.clip-helps: Delta*(v) / Delta*(g) per regime, diagonal and rotated."""
    fig, (ax,) = new_figure(1, width=8.4, height=3.6)
    keys = list(res.table)
    names = list(res.table[keys[0]])
    width = 0.8 / len(names)
    x = np.arange(len(keys))
    colors = ["C1", "C4", "C0"]
    for j, name in enumerate(names):
        vals = [res.table[k][name] for k in keys]
        ax.bar(x + (j - (len(names) - 1) / 2) * width, vals, width, color=colors[j % 3],
               label=name)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_yscale("log")
    ax.set_xticks(x)
    ax.set_xticklabels([f"{r}\n{'diagonal H' if rot == 'identity' else 'rotated H'}\n"
                        f"sharp: {100 * res.shares[r]:.2g}% of loss" for r, rot in keys],
                       fontsize=7)
    ax.set_ylabel("Delta*(v) / Delta*(g)  (> 1: better than GD)")
    ax.legend(loc="upper right", title="direction v")
    ax.set_title(f"PL23.clip-helps: d = {res.settings['d']}, "
                 f"{res.settings['sharp_coordinates']} sharp coordinates (curvature "
                 f"{res.settings['h_sharp']:g}), the rest curvature 1", fontsize=8)
    return fig


def pl23_stable_step(res):
    """PL23.stable-step: largest stable step against the clipped fraction; the collapse trap."""
    fig, axes = new_figure(2, width=4.0, height=3.3, sharey=False)
    ax = axes[0]
    q = res.fracs
    qq = np.linspace(0, max(q.max(), 0.05) * 1.05, 400)
    h = np.sort(res.curvatures)[::-1]
    pred = 2.0 / h[np.minimum(np.floor(qq * h.size).astype(int), h.size - 1)]
    ax.semilogy(qq, pred, "k-", lw=0.9, label="2 / h_(floor(qd)+1) (sufficient)")
    ax.semilogy(q, res.measured, "o", color="C1", label="measured (bisection)")
    ax.axhline(2.0 / h[0], color="C3", ls="--", lw=0.9, label="GD: 2 / lambda_max")
    ax.set_xlabel("clipped fraction q")
    ax.set_ylabel("largest stable step")
    ax.set_title("coordinate-clipped GD, deterministic")
    ax.legend(loc="center right", bbox_to_anchor=(1.0, 0.3))
    ax = axes[1]
    tr = res.trap
    for name, ls in (("deterministic", "-"), ("noisy", "--")):
        d = tr[name]
        ax.loglog(d["steps"], d["gap"] / d["gap"][0], ls, color="C0",
                  label=f"{name}: f / f_0")
        thr = np.maximum(d["threshold"] / d["threshold"][0], 1e-300)
        ax.loglog(d["steps"], thr, ls, color="C1", label=f"{name}: threshold c / c_0")
    ax.set_ylim(1e-30, 10)
    ax.set_xlabel("step")
    st = tr["settings"]
    verdict = "TRAP detected" if tr["trap_detected"] else "no trap"
    ax.set_title(f"q = {st['frac']:g}, eta = {st['eta']:g}: {verdict} "
                 f"(frozen at f/f0 = {tr['deterministic']['final_gap_ratio']:.2g})", fontsize=8)
    ax.legend(loc="lower left", fontsize=6)
    fig.suptitle(f"PL23.stable-step: d = {res.settings['d']}, {res.settings['n_sharp']} "
                 f"coordinates of curvature {res.settings['h_sharp']:g}, the rest in [0.1, 1]")
    return fig
