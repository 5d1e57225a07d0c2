"""KB25 figures: iterations to eps against the vocabulary size, on Zipf and real frequencies."""

from __future__ import annotations

import numpy as np

from . import new_figure

_COLORS = {"gd": "tab:blue", "sign": "tab:red", "halving": "tab:green"}
_LABEL = {"gd": "GD (1/pi_1)", "sign": "sign descent (tuned, averaged)",
          "halving": "sign descent (halving)"}


def kb25_scaling(rows: list[dict], title: str = "KB25: iterations to r <= eps"):
    """``T_eps`` against ``d``, one panel per alpha; solid: measured (exact reductions),
    dashed: predictions, dotted: THEORY.md's sign-descent form (floor ``d eta^2/2``).

    ``rows``: :func:`linsim.experiments.kb25.scan` output.
    """
    alphas = list(dict.fromkeys(r["alpha"] for r in rows))
    eps_list = list(dict.fromkeys(r["eps"] for r in rows))
    fig, axes = new_figure(len(alphas), width=3.4, height=3.0)
    styles = dict(zip(eps_list, ("o", "s", "^", "v", "d") * 4, strict=False))
    for ax, alpha in zip(axes, alphas, strict=True):
        for r in (r for r in rows if r["alpha"] == alpha):
            d = np.asarray(r["d"], float)
            T = np.array([np.nan if v is None else v for v in r["T"]], float)
            col = _COLORS[r["method"]]
            ax.loglog(d, T, "-", marker=styles[r["eps"]], ms=3, color=col,
                      label=f"{_LABEL[r['method']]}, eps={r['eps']:g} "
                            f"(slope {r['slope']:.3f})")
            pred = np.asarray(r["predicted"], float)
            ax.loglog(d, pred, "--", color=col, lw=0.9, alpha=0.8)
            if "predicted_theory" in r:
                ax.loglog(d, np.asarray(r["predicted_theory"], float), ":", color=col, lw=0.9)
        ax.set_title(f"alpha = {alpha:g}")
        ax.set_xlabel("vocabulary size d")
        ax.legend(loc="upper left", fontsize=5.5)
    axes[0].set_ylabel("iterations to r <= eps")
    fig.suptitle(f"{title}; dashed: predictions, dotted: THEORY's SD form", fontsize=8)
    return fig


def kb25_real(res: dict, title: str = "KB25 on real frequencies"):
    """Left: the real frequencies against rank beside their Zipf MLE fit; right: GD's
    iterations to eps against the vocabulary size, real (solid) and Zipf fit (dashed).

    ``res``: :func:`linsim.experiments.kb25.real_curve` output.
    """
    fig, axes = new_figure(2, width=3.6, height=3.0, sharey=False)
    fit = res["fit"]
    ax = axes[0]
    ax.loglog(res["rank_sample"], res["freq_sample"], color="k", label="real")
    ax.loglog(res["rank_sample"], res["zipf_sample"], "--", color="tab:orange",
              label=f"Zipf fit, alpha = {fit['alpha']:.3f} (MLE, ranks "
                    f"{fit['ranks'][0]}-{fit['ranks'][1]})")
    ax.set_xlabel("rank k")
    ax.set_ylabel("frequency pi_k")
    ax.legend(loc="lower left", fontsize=6)
    ax.set_title(res["source"])
    ax = axes[1]
    d = np.asarray(res["d"], float)
    for i, eps in enumerate(res["eps"]):
        col = ("tab:blue", "tab:purple", "tab:green")[i % 3]
        ax.loglog(d, res["real"][eps], "-o", ms=3, color=col, label=f"real, eps={eps:g}")
        ax.loglog(d, res["zipf_fit"][eps], "--", color=col, label=f"Zipf fit, eps={eps:g}")
    ax.set_xlabel("vocabulary size d (top-d words)")
    ax.set_ylabel("GD iterations to r <= eps")
    ax.legend(loc="upper left", fontsize=6)
    ax.set_title("GD (step 1/pi_1), marginals only")
    fig.suptitle(title)
    return fig


def k24_real_groups(run_real, run_fit, fit: dict, source: str):
    """Per-group losses of the K24 one-hot model on real frequencies (solid) beside the same
    run on their Zipf fit (dashed), one panel per flow."""
    from . import group_colors

    flows = list(run_real.traces)
    G = run_real.traces[flows[0]].groups.shape[1]
    fig, axes = new_figure(len(flows), width=3.4, height=3.0)
    colors = group_colors(G)
    c = run_real.model.classes
    for ax, flow in zip(axes, flows, strict=True):
        for g in range(G):
            ax.loglog(run_real.t, run_real.traces[flow].groups[:, g], color=colors[g],
                      label=f"group {g + 1} (real)")
            ax.loglog(run_fit.t, run_fit.traces[flow].groups[:, g], "--", color=colors[g],
                      lw=0.9, label="Zipf fit" if g == 0 else None)
        ax.set_title(f"{flow} flow")
        ax.set_xlabel("t")
        ax.set_ylim(max(1e-12, ax.get_ylim()[0]), 2 * np.log(c))
    axes[0].set_ylabel("mean loss of the group")
    axes[0].legend(loc="lower left", fontsize=6)
    fig.suptitle(f"K24 one-hot model on {source} (c = {c}): real frequencies (solid)\nand "
                 f"their Zipf fit alpha = {fit['alpha']:.3f} (dashed; MLE over ranks "
                 f"{fit['ranks'][0]}-{fit['ranks'][1]})", fontsize=8)
    return fig
