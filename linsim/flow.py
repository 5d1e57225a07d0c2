"""``python -m linsim.flow``: gradient, sign and normalized flow on the Zipf softmax models.

The main job of linsim::

    python -m linsim.flow --classes 1000 --zipf 1.1
    python -m linsim.flow --problem unigram --classes 1000 --zipf 1 --flows sign,normalized,gradient

integrates each flow on the K24 one-hot model (THEORY.md, "K24: the continuous-time model"),
compares the per-class losses with the closed forms (K24.gf-closed-form, K24.sf-closed-form),
measures the rates from the simulated trajectories (K24.gf-rate, K24.sf-closed-form,
K24.nf-reparam), and writes ``summary.json``, ``trajectories.npz``, ``per_class.csv`` and a
figure (PNG and PDF) into ``--out``.

``--problem unigram`` runs the Y25 unigram model instead (THEORY.md, "The unigram model (Y25)"):
its sign flow slides on the surfaces ``g_i = 0``, so it is integrated as a Filippov system
(``--sign-method``: event-driven ``sliding``, ``implicit`` Euler, or the chattering
``explicit`` field; ``auto`` picks ``explicit`` for the one-hot model, whose gradient entries
never vanish, and ``sliding`` for the unigram model). The per-class values are the excess
``expm1(d_k) - d_k`` (``d_k = log p_k - log pi_k``), whose pi-weighted mean is ``f - f*``. Every
flow reports the first time with ``f - f* <= --eps`` (``time_to_tol``; for the one-hot model,
``f* = 0``, interpolated between output times).

``--flows adam,rmsprop,sign_eps`` adds the Adam ODE of Barakat and Bianchi (``--adam-a``,
``--adam-b``: ``1 - beta1 = a eta``, ``1 - beta2 = b eta``; ``--adam-eps``), its m-free RMSProp
version and Adam's small-step limit ``x' = -g/(|g| + eps)`` (THEORY.md, "Continuous-time models
of adaptive methods"; :mod:`linsim.experiments.adam`). Their moments travel in the state
(:mod:`linsim.flows`); on the one-hot model they report the fitted exponential rate against
:func:`linsim.rates.asymptotic_rate` (adam.k24-rate) and the spread across classes
(adam.k24-classes).

Checks of its own answer (the one-hot model): where a flow has a closed form (gradient and sign
flow), a largest relative error of the per-class losses above :func:`disagreement_threshold`,
``max(100 rtol, 1e-6) x max(1, log(1 + c pi_1 t_max))``, prints ``DISAGREES`` with the numbers,
sets ``disagrees`` in ``summary.json`` and exits 1. The asymptote of K24.gf-rate
(``pi_k t l_k -> 1 - 1/c``, slope -1) gets a verdict only in its regime,
where the next term of the closed form's expansion, ``eps = log(1 + c pi_k t)/(pi_k t)``, is at
most :data:`ASYMPTOTIC_EPS` (then it must lie within ``2 eps`` plus that threshold); before
that the rate is printed as ``pre-asymptotic`` with ``pi_k t``, beside the bounds
``(1 - 1/c)/(1 + pi_k t) <= l_k <= (c - 1)/(1 + pi_k t)`` that hold at every t.

Exit codes: 0 success, 1 the integration failed or disagrees with a closed form or a verdict is
FAIL (the reason is printed), 2 invalid input (nothing written), 130/143 interrupted by
SIGINT/SIGTERM (nothing written: the output files are written together or not at all).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

from . import io
from .cli import (
    Interrupted,
    Parser,
    UsageError,
    check_out,
    compile_progress,
    deferred_signals,
    interruptible,
    report_interrupt,
    write_failed,
)
from .integrate import IntegrationError
from .run import (
    ASYMPTOTIC_EPS,
    CLAIMS_BY_PROBLEM,
    PROG,
    RTOL_RANGE,
    SIGN_AUTO,
    SIGN_AVAILABLE,
    SIGN_METHODS,
    FlowConfig,
    check_answer,
    closed_form_kappa,
    disagreement_threshold,
    flow_params,
    fmt,
    simulate,
    stiffness_note,
    summarize,
)
from .run import judge_gf_rate as _judge_gf_rate  # the name tests/test_cli_reliability reads

#: The library's names that this command line used to define (:mod:`linsim.run`).
__all__ = ["ASYMPTOTIC_EPS", "CLAIMS_BY_PROBLEM", "RTOL_RANGE", "SIGN_AUTO", "SIGN_AVAILABLE",
           "SIGN_METHODS", "FlowConfig", "check_answer", "closed_form_kappa",
           "disagreement_threshold", "flow_params", "summarize", "_judge_gf_rate", "PROG",
           "build_parser", "main"]

def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used for ``--help``): the options of
    :data:`linsim.run.OPTIONS`, then the command line's own (``--out``, ``--json``, ...)."""
    p = Parser(
        prog=PROG,
        description="Gradient, sign and normalized flow (and the Adam and RMSProp ODEs) on "
                    "the K24 one-hot softmax model with Zipf classes, checked against the "
                    "closed forms (claims K24.*, adam.k24-*), or on the Y25 unigram model "
                    "(claims Y25.*), where sign flow is a Filippov system.",
        epilog="Example: python -m linsim.flow --classes 1000 --zipf 1.1",
    )
    FlowConfig.add_arguments(p)
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="output folder (default linsim-out/flow-c{C}-z{A})")
    p.add_argument("--json", action="store_true",
                   help="print the summary JSON on stdout instead of the tables")
    p.add_argument("--no-plot", action="store_true", help="do not write the figure")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar and no compile note")
    return p


def write_outputs(run, summary: dict, out: Path, plot: bool) -> list[Path]:
    """Write every output file atomically; return their paths."""
    arrays = {"t": run.t, "pi": run.pi, "class_index": run.class_index, "labels": run.labels,
              "meta": np.array(io.dumps({k: summary[k] for k in (
                  "classes", "zipf", "mode", "t_max", "points", "groups", "method", "rtol",
                  "atol", "versions")}))}
    cols = {"class": run.class_index + 1, "pi": run.pi[run.class_index],
            "group": run.labels[run.class_index] + 1}
    for name, tr in run.traces.items():
        arrays[f"loss_{name}"] = tr.losses
        arrays[f"overall_{name}"] = tr.overall
        arrays[f"groups_{name}"] = tr.groups
        cols[f"loss_{name}"] = tr.losses[-1]
        if tr.closed is not None:
            arrays[f"closed_{name}"] = tr.closed
            cols[f"closed_{name}"] = tr.closed[-1]
    paths = [io.write_json(out / "summary.json", summary),
             io.write_npz(out / "trajectories.npz", arrays),
             io.write_csv(out / "per_class.csv", cols)]
    if plot and getattr(run, "fit_run", None) is not None:  # --frequencies: real vs Zipf fit
        from .plotting.kb25 import k24_real_groups

        fig = k24_real_groups(run, run.fit_run, summary["frequencies"]["zipf_fit"],
                              summary["frequencies"]["source"])
        paths += io.save_figure(fig, out / "group_losses", {
            "claims": summary["claims"], "classes": summary["classes"],
            "frequencies": summary["frequencies"], "versions": summary["versions"]})
    elif plot:
        if summary.get("problem", "onehot") == "unigram":
            from .plotting.y25 import y25_group_gaps as draw
        else:
            from .plotting.k24 import k24_group_losses as draw

        fig = draw(run)
        paths += io.save_figure(fig, out / "group_losses", {
            "claims": summary["claims"], "classes": summary["classes"], "zipf": summary["zipf"],
            "mode": summary["mode"], "versions": summary["versions"]})
    return paths


_g = fmt


def _regime(r: dict) -> str:
    """The regime and verdict of a judged rate (see :func:`_judge_gf_rate`), or nothing."""
    if "regime" not in r:
        return ""
    where = "at t_max/100, " if r["name"].startswith("loglog_slope") else ""
    text = f"; {where}pi_k t = {r['pi_t']:.4g}: "
    if r["verdict"] is None:
        text += (f"pre-asymptotic, no verdict (the limit applies once log(1 + c pi_k t)/(pi_k t)"
                 f" <= {ASYMPTOTIC_EPS:g}; here {r['asymptotic_eps']:.3g})")
    else:
        op = "<=" if r["verdict"] == "PASS" else ">"
        text += (f"asymptotic, {r['verdict']} (|deviation| {r['deviation']:.2g} {op} "
                 f"{r['tolerance']:.2g})")
    if "bounds" in r:
        text += (f"; all-t bounds [{r['bounds'][0]:.3g}, {r['bounds'][1]:.3g}]: "
                 f"{r['bounds_verdict']}")
    return text


def _tables(run, summary: dict) -> str:
    lines = []
    t = run.t
    G = summary["groups"]
    decades = [10.0**k for k in range(math.ceil(math.log10(t[0])), math.floor(
        math.log10(t[-1])) + 1)]
    idx = [int(np.argmin(np.abs(np.log(t) - math.log(d)))) for d in decades]
    c, a = summary["classes"], summary["zipf"]
    if summary.get("problem", "onehot") == "unigram":
        lines.append(f"Y25 unigram model: c = {c}, zipf a = {a:g}, {summary['method']} "
                     f"rtol={summary['rtol']:g} atol={summary['atol']:g}, sign flow: "
                     f"{summary['sign_method']}; values: f - f* (overall) and the per-class "
                     f"excess")
    else:
        lines.append(f"K24 one-hot softmax model: c = {c}, zipf a = {a:g}, {summary['mode']} "
                     f"mode, {summary['method']} rtol={summary['rtol']:g} "
                     f"atol={summary['atol']:g}")
    for name, tr in run.traces.items():
        fs = summary["flows"][name]
        lines.append("")
        lines.append(f"== {name} flow ==")
        head = f"{'t':>9} " + " ".join(f"{'group ' + str(g + 1):>11}" for g in range(G))
        lines.append(head + f" {'overall':>11}")
        for i in idx:
            row = " ".join(f"{v:11.4e}" for v in tr.groups[i])
            lines.append(f"{t[i]:9.3g} {row} {tr.overall[i]:11.4e}")
        for r in fs["rates"]:
            lines.append(f"  {r['name']:<30} measured {_g(r['measured']):<12} predicted "
                         f"{_g(r['predicted']):<10}" + (f" [{r['claim']}]" if r["claim"] else "")
                         + _regime(r))
        err = fs["max_rel_err"]
        lines.append("  max rel. error vs closed form: "
                     + ("(no closed form)" if err is None and not fs.get("closed_form_threshold")
                        else f"{_g(err)} (threshold {fs['closed_form_threshold']:g}: "
                        + ("DISAGREES)" if fs["disagrees"] else "agrees)")
                        if fs.get("closed_form_threshold") else f"{err:.3e}"))
        tt = fs.get("time_to_tol")
        lines.append(f"  time to f - f* <= {summary.get('eps', 1e-10):g}: "
                     + ("not reached" if tt is None else f"{tt:.10g}")
                     + f" ({fs.get('time_to_tol_method', '')})")
        ev = f", {fs['events']} events" if "events" in fs else ""
        lines.append(f"  steps {fs['steps']} (+{fs['rejected']} rejected), rhs evals "
                     f"{fs['rhs_evals']}{ev}, {fs['seconds']:.2f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        # what "command" records
        cfg = FlowConfig.from_args(args, argv=list(sys.argv[1:] if argv is None else argv))
        check_out(cfg.out)  # here, not in FlowConfig.check: the sweep checks its own --out
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    note = stiffness_note(cfg)
    if note:
        print(f"{PROG}: note: {note}", file=sys.stderr)
    try:
        with interruptible():
            compile_progress(PROG, "the driver is compiled; now the flows' kernels and the run")
            start = time.perf_counter()
            try:
                run = simulate(cfg, progress=not args.quiet)
            except IntegrationError as e:
                print(f"{PROG}: {e}", file=sys.stderr)
                return 1
            compile_progress(PROG, "compiled and cached; the run is done")
            summary = summarize(run, cfg, time.perf_counter() - start)
            if cfg.freq is not None:
                summary["frequencies"] = {"source": cfg.freq.source,
                                          "available": cfg.freq.size, "zipf_fit": cfg.fit}
            try:
                with deferred_signals():  # every output file, or none
                    paths = write_outputs(run, summary, cfg.out, plot=not args.no_plot)
            except OSError as e:
                return write_failed(PROG, "--out", e)
    except Interrupted as e:
        return report_interrupt(PROG, e, f"nothing written to {str(cfg.out)!r}")
    if args.json:
        sys.stdout.write(io.dumps(summary))
    else:
        print(_tables(run, summary))
        print("")
        print("wrote " + ", ".join(str(p) for p in paths))
    for line in summary.get("problems", []):
        print(f"{PROG}: {line}", file=sys.stderr)
    return 1 if summary.get("problems") else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
