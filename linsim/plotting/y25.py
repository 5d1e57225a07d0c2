"""Figure builders for the Y25 claims and the Filippov sign-flow checks."""

from __future__ import annotations

import numpy as np

from . import group_colors, new_figure


def y25_group_gaps(run, title: str = "Y25: unigram model, f - f* per group under each flow"):
    """Per-group mean excess (pi-weighted; the overall mean is ``f - f*``) against t, one panel
    per flow plus one for ``f - f*``; the time to ``f - f* <= eps`` is marked."""
    flows = list(run.traces)
    G = run.traces[flows[0]].groups.shape[1]
    fig, axes = new_figure(len(flows) + 1)
    colors = group_colors(G)
    t = run.t
    for ax, flow in zip(axes, flows, strict=False):
        tr = run.traces[flow]
        for g in range(G):
            v = tr.groups[:, g]
            m = v > 0
            ax.loglog(t[m], v[m], color=colors[g], label=f"group {g + 1}")
        label = f"{flow} flow" + (f" ({tr.method})" if flow == "sign" else "")
        if tr.extinction is not None:
            held = "at f*" if flow == "sign" else "held"
            label += f", {held} from t = {tr.extinction:.3g}"
        ax.set_title(label, fontsize=8)
        ax.set_xlabel("t")
    axes[0].set_ylabel("mean excess of the group")
    ax = axes[-1]
    for flow in flows:
        tr = run.traces[flow]
        m = tr.overall > 0
        (line,) = ax.loglog(t[m], tr.overall[m], label=flow)
        if tr.time_to_tol is not None:
            ax.axvline(tr.time_to_tol, color=line.get_color(), lw=0.7, ls=":")
    ax.axhline(run.eps, color="k", lw=0.6, ls="--", label=f"eps = {run.eps:g}")
    ax.set_title("f - f*  (dotted: time to eps)")
    ax.set_xlabel("t")
    for ax in axes:
        lo, hi = ax.get_ylim()
        ax.set_ylim(max(lo, 1e-30), hi)
    axes[0].legend(loc="lower left")
    axes[-1].legend(loc="lower left")
    fig.suptitle(f"{title} (c = {run.model.classes}, a = {run.model.zipf:g})")
    return fig


def y25_sf_vs_nf(rows: list[dict]):
    """Y25.sf-vs-nf: times to ``f - f* <= eps`` of sign and normalized flow against ``c`` (with
    Y25.sf-extinction and the straight-line bound), and their ratio."""
    zipfs = sorted({r["zipf"] for r in rows})
    fig, (ax0, ax1) = new_figure(2, width=4.2, height=3.4, sharey=False)
    colors = group_colors(len(zipfs))
    for col, a in zip(colors, zipfs, strict=True):
        rs = sorted((r for r in rows if r["zipf"] == a), key=lambda r: r["classes"])
        c = np.array([r["classes"] for r in rs], float)
        ax0.loglog(c, [r["t_nf"] for r in rs], "o-", color=col, label=f"NF, a = {a:g}")
        ax0.loglog(c, [r["t_sf"] for r in rs], "s--", color=col, label=f"SF, a = {a:g}")
        ax0.loglog(c, [r["sf_extinction_predicted"] for r in rs], ":", color="k", lw=0.7)
        ax0.loglog(c, [r["nf_lower_bound"] for r in rs], "-.", color="0.5", lw=0.7)
        ax1.loglog(c, [r["ratio"] for r in rs], "o-", color=col, label=f"a = {a:g}")
    ax0.set_xlabel("classes c")
    ax0.set_ylabel(f"time to f - f* <= {rows[0]['eps']:g}")
    ax0.set_title("dotted: a log(c)/2 (SF reaches the minimizer)\n"
                  "dash-dot: centered ||log pi||_2 (NF lower bound)", fontsize=8)
    ax0.legend(loc="upper left", ncol=2)
    cs = np.array(sorted({r["classes"] for r in rows}), float)
    ax1.loglog(cs, np.log(cs) / (2 * np.sqrt(cs)), ":", color="k", lw=0.9,
               label="log(c)/(2 sqrt c)")
    ax1.set_xlabel("classes c")
    ax1.set_ylabel("T_SF / T_NF")
    ax1.set_title("ratio of times to tolerance; dotted: THEORY.md's\nasymptotic form "
                  "(straight-line distance), tested up to a constant factor", fontsize=8)
    ax1.legend(loc="lower left")
    fig.suptitle("Y25.sf-vs-nf: unigram model from theta = 0, sign flow vs normalized flow")
    return fig


def y25_filippov(quad: dict, smooth: dict, chatter: dict, unigram: dict):
    """The three sign-flow integrators: a rotated-block quadratic's coordinates (exact,
    sliding, implicit), smoothed sign error against eps, explicit chattering against the step,
    and the unigram model's stuck set growing to the minimizer."""
    fig, axes = new_figure(4, width=3.3, height=3.0, sharey=False)
    ax = axes[0]
    res = quad["results"]
    styles = {"exact": ("-", 1.6), "sliding": ("--", 1.2), "implicit": (":", 1.2)}
    colors = group_colors(res["exact"].y.shape[1])
    for m, r in res.items():
        ls, lw = styles.get(m, ("-", 1.0))
        for j in range(r.y.shape[1]):
            ax.plot(r.t, r.y[:, j], ls, lw=lw, color=colors[j],
                    label=m if j == 0 else None)
    for te in res["exact"].t_events:
        ax.axvline(te, color="0.8", lw=0.5, zorder=0)
    ax.set_xlabel("t")
    ax.set_ylabel("x_i(t)")
    ax.set_title(f"rotated blocks: max gap {quad['max_distance']:.1e}")
    ax.legend(loc="best")

    ax = axes[1]
    e = np.array(smooth["eps"])
    ax.loglog(e, smooth["error"], "o-", label=f"tanh(g/eps): slope {smooth['slope']:.2f}")
    ax.loglog(e, e * smooth["error"][0] / e[0], "k:", lw=0.7, label="slope 1")
    ax.set_xlabel("eps")
    ax.set_ylabel("max distance to Filippov solution")
    ax.set_title("smoothed sign: O(eps)")
    ax.legend(loc="upper left")

    ax = axes[2]
    h = np.array(chatter["step"])
    ax.loglog(h, chatter["amplitude"], "o-", label=f"slope {chatter['slope']:.2f}")
    ax.loglog(h, h, "k:", lw=0.7, label="amplitude = h")
    ax.set_xlabel("step h (explicit Euler of -sign(g))")
    ax.set_ylabel("chattering amplitude")
    ax.set_title("naive explicit sign flow")
    ax.legend(loc="upper left")

    ax = axes[3]
    r = unigram["results"]["sliding"]
    ev = np.sort(r.t_events)
    ax.step(np.r_[0.0, ev], np.arange(ev.size + 1), where="post",
            label=f"stuck (vs implicit: {unigram['max_distance']:.0e})")
    ax.axvline(unigram["extinction"]["predicted"], color="k", ls=":", lw=0.8,
               label="a log(c)/2")
    ax.set_xlabel("t")
    ax.set_ylabel("|S| (sliding on g_i = 0)")
    ax.set_title(f"unigram model, c = {ev.size + 1}, a = 1")
    ax.legend(loc="upper left")
    fig.suptitle("Sign flow as a Filippov system: closed form / event-driven sliding / "
                 "implicit Euler agree; smoothing and explicit steps do not")
    return fig
