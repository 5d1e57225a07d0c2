"""Figure builders for the continuous-time models of adaptive methods (adam.* claims)."""

from __future__ import annotations

import numpy as np

from . import group_colors, new_figure


def _slope_one(ax, x, y, label: str) -> None:
    """A dashed reference line of slope 1 through the smallest point."""
    i = int(np.argmin(x))
    xs = np.array([x.min(), x.max()])
    ax.loglog(xs, y[i] * xs / x[i], "k--", lw=0.7, label=label)


def tracking_panels(ode, small):
    """adam.ode and adam.small-step: the largest gap between discrete Adam and its flow.

    ``ode``: :class:`~linsim.experiments.adam.Tracking` results against the Adam ODE (one per
    problem), plotted against ``eta``; ``small``: results against ``x' = -g/(|g| + eps)`` for
    several ``beta2``, plotted against ``eta / (1 - beta2)``.
    """
    fig, axes = new_figure(2, width=3.8, height=3.2, sharey=False)
    colors = group_colors(max(len(ode), len(small)))
    for color, r in zip(colors, ode, strict=False):
        axes[0].loglog(r.etas, r.gaps, "o-", ms=3, color=color,
                       label=f"{r.settings['problem']}: slope {r.slope.value:.3f}")
    _slope_one(axes[0], ode[0].etas, ode[0].gaps, "slope 1")
    axes[0].set_xlabel("eta  (1 - beta1 = a eta, 1 - beta2 = b eta)")
    axes[0].set_ylabel("max_k ||x_k - x(k eta)||_inf")
    axes[0].set_title("adam.ode: vs the Adam ODE")
    axes[0].legend(loc="upper left")
    for color, r in zip(colors, small, strict=False):
        b2 = r.settings["beta2"]
        x = r.etas / (1.0 - b2)
        axes[1].loglog(x, r.gaps, "o-", ms=3, color=color,
                       label=f"beta2 = {b2:g}: slope {r.slope.value:.3f}")
    x0 = small[0].etas / (1.0 - small[0].settings["beta2"])
    _slope_one(axes[1], x0, small[0].gaps, "slope 1")
    axes[1].set_xlabel("eta / (1 - beta2)  (beta1 = 0.9)")
    axes[1].set_ylabel("max_k ||x_k - x(k eta)||_inf")
    axes[1].set_title("adam.small-step: vs x' = -g/(|g| + eps)")
    axes[1].legend(loc="upper left")
    fig.suptitle("adam.ode, adam.small-step: " + small[0].settings["problem"]
                 + " and the K24 one-hot model")
    return fig


def k24_rate_panel(results):
    """adam.k24-rate: the rarest class's loss under sign flow and the Adam/RMSProp ODEs
    (``eps = 0``), with lines of the predicted slope ``-r`` (dashed) through each curve where it
    crosses 1e-6.

    ``results``: :class:`~linsim.experiments.adam.AdamK24` objects (different ``a, b``).
    """
    fig, axes = new_figure(len(results), width=3.8, height=3.2)
    styles = {"sign": ":", "adam": "-", "rmsprop": "--"}
    for ax, res in zip(axes, results, strict=True):
        run = res.run
        t = run.t
        colors = group_colors(len(styles))
        for color, (flow, ls) in zip(colors, styles.items(), strict=True):
            if flow not in run.traces:
                continue
            v = run.traces[flow].losses[:, -1]
            m = (v > 1e-145) & (t > 1e-2)
            r = res.predicted_rate(flow)
            ax.semilogy(t[m], v[m], ls, color=color, label=f"{flow}: r = {r:.4f}")
            i = int(np.argmax(v[m] <= 1e-6))  # anchor: the start of the fit window
            tt = t[m]
            ax.semilogy(tt, v[m][i] * np.exp(-r * (tt - tt[i])), color="k", lw=0.5, ls="--")
        ax.set_ylim(1e-145, 30)
        ax.set_xlabel("t")
        ax.set_title(f"a = {res.a:g}, b = {res.b:g}, eps = {res.eps:g}")
        ax.legend(loc="upper right")
    axes[0].set_ylabel(f"loss of the rarest class (c = {results[0].run.model.classes})")
    fig.suptitle("adam.k24-rate: exponential decay at the predicted r(a, b) (thin dashed: "
                 f"slope -r; {results[0].run.model.mode} mode)")
    return fig
