"""Figure builders for the Z20 claims (heavy-tailed noise and clipping)."""

from __future__ import annotations

import numpy as np

from . import group_colors, new_figure


def _guide(ax, x, slope, anchor_x, anchor_y, **kw):
    """A dashed power-law guide of ``slope`` through ``(anchor_x, anchor_y)``."""
    x = np.asarray(x, float)
    ax.loglog(x, anchor_y * (x / anchor_x) ** slope, "--", lw=0.9, **kw)


def z20_sgd_fails(res):
    """Z20.sgd-fails: typical mean over R runs against R; median and mean against k."""
    a = res.alpha
    fig, axes = new_figure(2, width=3.9, height=3.2, sharey=False)
    ax = axes[0]
    sizes, typ = res.group_sizes, res.typical_mean
    ax.loglog(sizes, typ, "o-", ms=3, color="C3", label="SGD")
    ax.loglog(sizes, res.settings["clip_typical_mean"], "s-", ms=3, color="C0",
              label="GClip (same noise)")
    _guide(ax, sizes, 2 / a - 1, sizes[-1], typ[-1], color="k",
           label=f"R^(2/alpha - 1), slope {2 / a - 1:.3f}")
    ax.set_xlabel("number of runs R")
    ax.set_ylabel("typical mean of f(x_K) over R runs\n(geometric mean over groups)")
    ax.set_title(f"mean grows with R (fit {res.mean_slope.value:.3f})")
    ax.legend(loc="upper left")
    ax = axes[1]
    st = res.study
    k = st.steps
    for j, (color, name) in enumerate((("C3", "SGD"), ("C0", "GClip"))):
        ax.loglog(k, np.median(st.gap[j], axis=0), color=color, label=f"{name}: median")
        ax.loglog(k, st.gap[j].mean(axis=0), ":", color=color, label=f"{name}: mean")
    med = np.median(st.gap[0], axis=0)
    e = 2 * (a - 1) / a
    _guide(ax, k[k >= 10], -e, k[-1], med[-1], color="k", label=f"k^-{e:.3f}")
    ax.set_xlabel("step k")
    ax.set_ylabel("f(x_k) over runs")
    ax.set_title(f"median converges (fit {res.median_slope.value:.3f})")
    ax.legend(loc="lower left", ncol=1)
    fig.suptitle(f"Z20.sgd-fails: f = x^2/2, symmetric {a:g}-stable noise, "
                 f"{st.gap.shape[1]} runs, SGD eta_k = 1/k")
    return fig


def z20_clip_rate(results):
    """Z20.clip-strongly-convex: E f against k for each alpha, fitted and predicted slopes."""
    fig, axes = new_figure(2, width=3.9, height=3.2, sharey=False)
    colors = group_colors(len(results))
    ax = axes[0]
    for color, r in zip(colors, results, strict=True):
        st = r.study
        Ef = st.gap[0].mean(axis=0)
        ax.loglog(st.steps, Ef, color=color, label=f"alpha = {r.alpha:g}")
        lo, hi = r.fit.window
        _guide(ax, [lo, hi], r.predicted, hi, 0.5 * Ef[-1], color="k")
    ax.set_xlabel("step k")
    ax.set_ylabel("E f(x_k) (mean over runs)")
    ax.set_title("dashed: predicted slopes (offset x0.5)")
    ax.legend(loc="lower left")
    ax = axes[1]
    a = np.array([r.alpha for r in results])
    dev = np.array([r.fit.value - r.predicted for r in results])
    lo = np.array([r.fit.low - r.predicted for r in results])
    hi = np.array([r.fit.high - r.predicted for r in results])
    ax.errorbar(a, dev, yerr=[dev - lo, hi - dev], fmt="o", color="C0", capsize=3,
                label="fitted - predicted (95% bootstrap CI)")
    early = np.array([r.early.value - r.predicted for r in results])
    ax.plot(a, early, "x", color="C1", label="same, one decade earlier")
    ax.axhspan(-0.03, 0.03, color="0.85", label="tolerance +-0.03")
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xlabel("tail index alpha")
    ax.set_ylabel("slope error")
    ax.set_xlim(a.min() - 0.15, a.max() + 0.15)
    ax.set_ylim(-0.06, 0.06)
    ax.set_title("fitted slope minus -2(alpha-1)/alpha")
    ax.legend(loc="lower right", fontsize=6)
    r0 = results[0]
    fig.suptitle(f"Z20.clip-strongly-convex: GClip (eta_k = 4/(k+1), tau_k = k^(1/alpha)) on "
                 f"x^2/2, symmetric stable noise\n{r0.study.gap.shape[1]} runs x "
                 f"{r0.study.steps[-1]} steps; slope fitted over the last 1.5 decades",
                 fontsize=8)
    return fig


def z20_clip_nonconvex(res):
    """Z20.clip-nonconvex: mean of min(|f'|, f'^2) over the horizon against K."""
    fig, (ax,) = new_figure(1, width=5.2, height=3.6)
    H = res.horizons
    m = res.per_run.mean(axis=0)
    se = res.per_run.std(axis=0, ddof=1) / np.sqrt(res.per_run.shape[0])
    ax.errorbar(H, m, yerr=2 * se, fmt="o-", ms=4, capsize=3, label="GClip (mean +- 2 se)")
    _guide(ax, H, res.predicted, H[-1], 0.8 * m[-1], color="k",
           label=f"predicted K^{res.predicted:.3f} (offset x0.8)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("horizon K")
    ax.set_ylabel("(1/K) sum_k E min(|f'(x_k)|, f'(x_k)^2)")
    ax.legend(loc="lower left")
    ax.set_title(f"Z20.clip-nonconvex: f = {res.settings['function']}, {res.alpha:g}-stable "
                 f"noise\nGClip tuned per horizon K; fitted slope {res.fit.value:.3f} "
                 f"(95% CI [{res.fit.low:.3f}, {res.fit.high:.3f}])", fontsize=8)
    return fig


def z20_threshold_tent(res):
    """Z20.threshold-tent: fitted exponent against p with the tent; the two terms."""
    a = res.alpha
    fig, axes = new_figure(2, width=3.9, height=3.2, sharey=False)
    ax = axes[0]
    p = np.linspace(0, 1, 201)
    ax.plot(p, 1 - p * (2 - a), ":", color="C1", lw=0.9, label="variance term 1 - p(2-alpha)")
    ax.plot(p, 2 * p * (a - 1), ":", color="C2", lw=0.9, label="bias term 2p(alpha-1)")
    ax.plot(p, np.minimum(1 - p * (2 - a), 2 * p * (a - 1)), "k-", lw=1.0,
            label="predicted e(p) (min)")
    meas = res.measured
    lo = -np.array([f.high for f in res.fits])
    hi = -np.array([f.low for f in res.fits])
    ax.errorbar(res.ps, meas, yerr=[meas - lo, hi - meas], fmt="o", color="C0", capsize=3,
                label="fitted exponent of E f")
    ax.plot(res.ps, [-f.value for f in res.bias_fits], "^", color="C2", ms=4,
            label="fitted bias term")
    ax.plot(res.ps, [-f.value for f in res.var_fits], "v", color="C1", ms=4,
            label="fitted variance term")
    ax.axvline(1 / a, color="0.5", lw=0.8, ls="--")
    ax.set_xlabel("threshold exponent p (tau_k = k^p)")
    ax.set_ylabel("exponent e in E f ~ k^-e")
    ax.set_ylim(-0.05, 1.1)
    ax.set_title(f"peak at p = 1/alpha = {1 / a:.3f}")
    ax.legend(loc="lower right", fontsize=6)
    ax = axes[1]
    st = res.study
    colors = group_colors(len(res.ps))
    for j, (color, pj) in enumerate(zip(colors, res.ps, strict=True)):
        ax.loglog(st.steps, st.gap[j].mean(axis=0), color=color, label=f"p = {pj:.2g}")
    ax.loglog(res.symmetric.steps, res.symmetric.gap[0].mean(axis=0), "k--", lw=1.0,
              label="constant tau, symmetric noise")
    ax.set_xlabel("step k")
    ax.set_ylabel("E f(x_k)")
    ax.set_title("p = 0 under Pareto noise: a bias floor")
    ax.legend(loc="lower left", fontsize=6, ncol=2)
    fig.suptitle(f"Z20.threshold-tent: GClip, centred Pareto noise (alpha = {a:g}), "
                 f"{st.gap.shape[1]} runs")
    return fig


def z20_coordinate(res):
    """Z20.coordinate: the per-coordinate constant C(d) of each method against d."""
    fig, (ax,) = new_figure(1, width=5.6, height=3.6)
    styles = {"GClip": ("o-", "C3"), "CClip": ("s-", "C0"), "GClip (G = 1)": ("^:", "C1"),
              "ACClip": ("d:", "C2")}
    for j, lab in enumerate(res.labels):
        fmt, color = styles.get(lab, ("o-", None))
        ax.loglog(res.dims, res.constants[:, j], fmt, color=color, ms=4,
                  label=f"{lab} (slope {res.slopes[lab].value:.2f})")
    a = res.alpha
    j = res.labels.index("GClip")
    _guide(ax, res.dims, 2 / a - 1, res.dims[-1], res.constants[-1, j], color="k",
           label=f"d^(2/alpha - 1) = d^{2 / a - 1:.3f}")
    ax.set_xlabel("dimension d")
    ax.set_ylabel("C(d) = (E f / d) k^(2(alpha-1)/alpha)\n(mean over the last decade of k)")
    ax.legend(loc="upper left", fontsize=6)
    ax.set_title(f"Z20.coordinate: f = ||x||^2/2, i.i.d. {a:g}-stable noise per coordinate\n"
                 "GClip: tau_k = (d k)^(1/alpha); CClip: tau_k = k^(1/alpha) each", fontsize=8)
    return fig
