"""Figure builders for the Z24 claims (block-heterogeneous quadratics).

Each takes a result object of :mod:`linsim.experiments.z24` and returns a matplotlib Figure;
none computes physics.
"""

from __future__ import annotations

import math

import numpy as np

from . import group_colors, new_figure

#: One color per method of the Z24.cases table, fixed across panels.
_METHOD_STYLE = {
    "gd": ("C0", "-"), "heavy_ball": ("C1", "-"), "adam01": ("C3", "-"), "adam": ("C2", "-"),
    "rmsprop": ("C4", "--"), "sign": ("C5", ":"), "sign-geometric": ("C6", "--"),
    "normalized": ("C7", "-."), "block_gd": ("k", ":"),
}


def z24_gf_closed_form(run, gd: dict, adam: dict):
    """Z24.gf-closed-form: GF on matched Case 3 / Case 4, simulated against the closed form;
    GD gives the two cases the same losses, Adam(0, 1) does not."""
    fig, axes = new_figure(3, width=3.6, height=3.2, sharey=False)
    colors = {"case 3": "C3", "case 4": "C0"}
    for name in run.gaps:
        c = colors.get(name, None)
        axes[0].loglog(run.t, run.gaps[name] / run.closed[name][0], color=c, lw=2.2, alpha=0.5,
                       label=f"{name} simulated")
        axes[0].loglog(run.t, run.closed[name] / run.closed[name][0], "k--", lw=0.8,
                       label="closed form" if name == next(iter(run.gaps)) else None)
        rel = np.abs(run.gaps[name] - run.closed[name]) / run.closed[name]
        axes[1].loglog(run.t, np.maximum(rel, 1e-17), color=c, label=name)
    axes[0].set_xlabel("t")
    axes[0].set_ylabel("(f(t) - f*) / (f(0) - f*)")
    axes[0].set_ylim(1e-14, 2)
    axes[0].set_title("gradient flow")
    axes[0].legend(loc="lower left")
    axes[1].axhline(1e-10, color="0.4", ls=":", lw=0.8, label="1e-10")
    axes[1].set_xlabel("t")
    axes[1].set_ylabel("|simulated - closed| / closed")
    axes[1].set_title("DOP853 against the closed form")
    axes[1].legend(loc="upper left")
    for name, v in gd.items():
        k = np.arange(v.size)
        axes[2].loglog(k + 1, v, color=colors.get(name), lw=2.2, alpha=0.5, label=f"GD, {name}")
    for name, v in adam.items():
        k = np.arange(v.size)
        axes[2].loglog(k + 1, v, color=colors.get(name), ls=":", label=f"Adam(0,1), {name}")
    axes[2].set_xlabel("iteration + 1")
    axes[2].set_ylabel("relative loss gap")
    axes[2].set_title("GD cannot tell the cases apart")
    axes[2].legend(loc="lower left")
    fig.suptitle("Z24.gf-closed-form: Case 3 and Case 4 with the same eigen-coordinates")
    return fig


def z24_sf_diagonal(run):
    """Z24.sf-diagonal: event-driven sign flow vs the closed form, and Euler's chatter."""
    p = run.problem
    fig, axes = new_figure(2, width=4.2, height=3.3, sharey=False)
    colors = group_colors(p.n)
    d = p.w0 - p.w_star
    for i in range(p.n):
        axes[0].plot(run.t, run.w[:, i] - p.w_star[i], color=colors[i], lw=2.0, alpha=0.6)
        axes[0].plot(run.t, run.w_closed[:, i] - p.w_star[i], "k--", lw=0.7)
    axes[0].axvline(run.stop_time, color="C3", lw=0.8, ls=":",
                    label=f"stop t = {run.stop_time:.6f} = ||w0 - w*||_inf")
    axes[0].set_xlabel("t")
    axes[0].set_ylabel("w_i(t) - w*_i (dashed: closed form)")
    axes[0].set_title(f"events stop each coordinate (kappa = {p.kappa:g})")
    axes[0].legend(loc="upper right")
    ch = run.chatter
    j = int(np.argmin(np.abs(d)))
    h = ch["step"]
    t_hit = abs(d[j])
    win = (ch["t"] >= t_hit - 8 * h) & (ch["t"] <= t_hit + 40 * h)
    axes[1].plot(ch["t"][win], ch["w"][win, j] - p.w_star[j], ".-", color="C1", lw=0.8, ms=3,
                 label=f"Euler, h = {h:.3g}, no events")
    win2 = (run.t >= t_hit - 8 * h) & (run.t <= t_hit + 40 * h)
    axes[1].plot(run.t[win2], run.w[win2, j] - p.w_star[j], color="C0", lw=2.0, alpha=0.6,
                 label="RK45 + events")
    axes[1].axhspan(-h, h, color="0.9", label="+- h")
    axes[1].set_ylim(-6 * h, 3 * h)
    axes[1].set_xlabel("t")
    axes[1].set_ylabel(f"w_{j + 1}(t) - w*_{j + 1}")
    axes[1].set_title(f"zoom at t = |d_{j + 1}|: Euler chatters")
    axes[1].legend(loc="lower right")
    fig.suptitle("Z24.sf-diagonal: sign flow on a diagonal H stops at t = ||w0 - w*||_inf")
    return fig


def z24_gd_lower_bound(res):
    """Z24.gd-lower-bound: smallest per-step contraction over the step size, per kappa."""
    fig, axes = new_figure(2, width=4.2, height=3.4, sharey=False)
    colors = group_colors(len(res.kappas))
    for c, k in zip(colors, res.kappas, strict=True):
        star = 2.0 / (k + 1.0)
        axes[0].loglog(res.etas[k] / star, res.min_ratio[k] / res.rho2[k], color=c,
                       label=f"kappa = {k:g}")
        v = res.at_star[k]
        kk = np.arange(v.size)
        axes[1].semilogy(kk, v, color=c, lw=2.2, alpha=0.5,
                         label=f"kappa = {k:g}: {res.iterations[k]} it. to {res.tol:g}")
        axes[1].semilogy(kk, res.rho2[k] ** kk, "k--", lw=0.7)
    axes[0].axhline(1.0, color="k", ls="--", lw=0.8, label="bound (1 - 2/(kappa+1))^2")
    axes[0].set_xlabel("step size / eta*,  eta* = 2/(kappa+1)")
    axes[0].set_ylabel("min over steps of ratio / (1 - 2/(kappa+1))^2")
    axes[0].set_ylim(0.5, 1e4)
    axes[0].set_title("no step size beats the bound")
    axes[0].legend(loc="upper left")
    axes[1].set_xlabel("iteration k")
    axes[1].set_ylabel("(f_k - f*) / (f_0 - f*) at eta*")
    axes[1].set_title("at eta* the bound holds with equality")
    axes[1].legend(loc="lower left", fontsize=6)
    fig.suptitle("Z24.gd-lower-bound: GD on H = diag(1, kappa), w0 - w* = (1, 1/kappa) "
                 "(dashed right: rho^(2k))")
    return fig


def z24_adam_bound(results: list):
    """Z24.adam-bound: distribution of r (both definitions) and the measured contraction."""
    fig, axes = new_figure(2, width=4.2, height=3.3, sharey=False)
    colors = ["C3", "C0", "C2", "C1"]
    lo = min(float(r.r1.min()) for r in results)
    hi = max(float(r.r2.max()) for r in results)
    bins = np.logspace(math.floor(math.log10(lo)), math.ceil(math.log10(hi)), 50)
    for c, r in zip(colors, results, strict=False):
        axes[0].hist(r.r1, bins=bins, histtype="step", color=c, lw=1.4,
                     label=f"Case {r.case}: r = max C2/min C1 (median {np.median(r.r1):.3g})")
        axes[0].hist(r.r2, bins=bins, histtype="step", color=c, ls="--", lw=1.0,
                     label=f"Case {r.case}: r^2 (median {np.median(r.r2):.3g})")
        bound = r.r1 * r.kappa_max_block
        axes[1].loglog(bound, r.kappa_pre, ".", ms=2.5, color=c, alpha=0.5,
                       label=f"Case {r.case}: kappa(D^-1/2 H D^-1/2)")
        axes[1].loglog(bound, r.kappa_eff, "x", ms=2.5, color=c, alpha=0.4,
                       label=f"Case {r.case}: 1/(1 - worst step ratio)")
    axes[0].set_xscale("log")
    axes[0].set_xlabel("r")
    axes[0].set_ylabel(f"count of {results[0].r1.size} initial points")
    axes[0].set_title("r over random w0 (heavy-tailed)")
    axes[0].legend(loc="upper right", fontsize=6)
    x = np.logspace(0, math.log10(max(float((r.r1 * r.kappa_max_block).max())
                                      for r in results)), 10)
    axes[1].loglog(x, x, "k--", lw=0.8, label="bound: r max_l kappa_l")
    axes[1].set_xlabel("r max_l kappa_l  (r = max C2/min C1)")
    axes[1].set_ylabel("condition numbers")
    axes[1].set_title("everything stays below the diagonal")
    axes[1].legend(loc="upper left", fontsize=6)
    fig.suptitle("Z24.adam-bound: Adam(0,1) with v0 = g0^2 is GD preconditioned by D = diag|g0|")
    return fig


def z24_scale_invariance(res):
    """Z24.scale-invariance: distance to w* under a block scaling, per method."""
    names = list(res.example)
    fig, axes = new_figure(len(names), width=3.1, height=3.0, sharey=False)
    for ax, name in zip(axes, names, strict=True):
        a, b = res.example[name]
        k = np.arange(a.size)
        ax.semilogy(k, a, color="C0", lw=2.2, alpha=0.5, label="original")
        ax.semilogy(k, b, color="C3", ls="--", label="blocks scaled")
        dev = float(np.max(res.deviation[name]))
        ax.set_title(f"{name}\nmax deviation {dev:.1e}")
        ax.set_xlabel("iteration")
    axes[0].set_ylabel("||w_k - w*||_2")
    axes[0].legend(loc="lower left")
    s = res.scales[0]
    fig.suptitle("Z24.scale-invariance: H_l -> s_l H_l, s = ("
                 + ", ".join(f"{x:.3g}" for x in s) + f"); {res.scales.shape[0]} random scalings")
    return fig


def z24_cases(res):
    """Z24.cases: relative loss against iteration (best step size), one panel per case."""
    fig, axes = new_figure(len(res.cases), width=3.9, height=3.8)
    for ax, c in zip(axes, res.cases, strict=True):
        for m in res.methods:
            col, ls = _METHOD_STYLE.get(m, (None, "-"))
            v = res.curves.get((c, m))
            med = res.median(c, m)
            lab = f"{m}: {'>' + str(res.max_iter) if med is None else f'{med:.0f}'}"
            if v is None:
                ax.plot([], [], color=col, ls=ls, label=lab + " (seed 0 not reached)")
                continue
            k = np.arange(v.size)
            thin = m in ("normalized", "sign", "sign-geometric", "rmsprop")
            ax.loglog(k + 1, np.maximum(v, 1e-12), color=col, ls=ls, lw=0.8 if thin else 1.5,
                      alpha=0.75 if thin else 1.0, label=lab)
        kap, kl = res.kappas[c]
        ax.axhline(res.tol, color="0.5", lw=0.7, ls=":")
        ax.set_title(f"Case {c}\nkappa {kap:g}, max block kappa {kl:.4g}")
        ax.set_xlabel("iteration + 1")
        ax.legend(loc="lower left", fontsize=6, title="median iterations", title_fontsize=6)
    axes[0].set_ylabel("(f - f*) / (f0 - f*), best step size, seed 0")
    axes[0].set_ylim(1e-7, 5)
    fig.suptitle(f"Z24.cases: iterations to {res.tol:g} at the best step size "
                 f"(median over {len(res.seeds)} seeds)")
    return fig


def z24_js(run):
    """Z24.js: heatmaps of the JS distance (SLQ) between the blocks of each case."""
    fig, axes = new_figure(len(run.cases), width=3.0, height=3.0, sharey=False)
    im = None
    for ax, c in zip(axes, run.cases, strict=True):
        js = run.slq[c].js
        L = js.shape[0]
        im = ax.imshow(js, vmin=0.0, vmax=math.log(2.0), cmap="magma")
        ax.grid(False)
        if L <= 6:
            for i in range(L):
                for j in range(L):
                    ax.text(j, i, f"{js[i, j]:.2f}", ha="center", va="center", fontsize=7,
                            color="w" if js[i, j] < 0.45 else "k")
        ax.set_xticks(range(L), [str(i + 1) for i in range(L)])
        ax.set_yticks(range(L), [str(i + 1) for i in range(L)])
        ax.set_xlabel("block")
        ax.set_title(f"Case {c}: mean {run.slq[c].mean_js:.3f}\n(exact spectra "
                     f"{run.exact[c].mean_js:.3f})")
    axes[0].set_ylabel("block")
    cb = fig.colorbar(im, ax=axes, shrink=0.8)
    cb.set_label("JS distance (nats), max log 2")
    fig.suptitle(f"Z24.js: Jensen-Shannon distance between block spectra (SLQ, {run.n_vec} "
                 f"vectors, {run.steps} Lanczos steps; KDE on log10 lambda, bandwidth "
                 f"{run.bandwidth:g} decades)")
    return fig


def z24_spectra(run):
    """Z24.js: each block's density on log10 lambda, SLQ (solid) against exact (dashed)."""
    fig, axes = new_figure(len(run.cases), width=3.2, height=3.0, sharey=False)
    for ax, c in zip(axes, run.cases, strict=True):
        s, e = run.slq[c], run.exact[c]
        colors = group_colors(len(s.densities))
        for b, (ds, de) in enumerate(zip(s.densities, e.densities, strict=True)):
            ax.plot(s.grid, ds, color=colors[b], label=f"block {b + 1}")
            ax.plot(e.grid, de, "k--", lw=0.6)
        ax.set_title(f"Case {c}")
        ax.set_xlabel("log10 lambda")
    axes[0].set_ylabel("density (per decade)")
    axes[0].legend(loc="upper right", fontsize=6)
    fig.suptitle("Z24.js: block spectral densities, SLQ (solid) and exact eigendecomposition "
                 "(dashed)")
    return fig
