"""``python -m linsim.experiment``: the K24 linear-model experiment (claim K24.experiment).

The "random heavy-tailed labels" set with ``m`` groups (THEORY.md, "The linear-model
experiment"): ``c = 2^m - 1`` classes, ``n = m 2^m`` samples, ``d = (m+1) 2^m`` Uniform[0, 1)
inputs, a linear model with bias, full batch. Every optimizer (GD, GD with momentum, Adam with
``beta1 = 0`` and ``0.9``, sign descent, normalized GD) runs at its step size::

    python -m linsim.experiment --m 7 --steps 1000

Step sizes: ``--lr name=value`` fixes one; otherwise the tabulated choice for this ``m``
(:data:`linsim.experiments.k24_linear.TUNED`, the best final loss on the optimizer's grid at the
tabulated horizon) is used, or, with ``--tune`` or where no table entry exists, every step size
of the grid runs for ``--steps`` steps and the best final loss wins. Writes ``summary.json``,
``curves.csv`` (per-group losses, long format), ``curves.npz`` and the figure
``group_losses.png``/``.pdf`` into ``--out``; the same seed gives the same bytes.

Large ``m`` (``m >= 10``, or an estimated run over ten minutes) prints a memory and time
estimate first; ``--float32`` stores the inputs and runs the products in float32 (about twice
as fast, half the memory of the inputs).

The run's configuration, its checks and its summary are the library's
(:class:`linsim.experiments.k24_linear_run.ExperimentConfig`); this module parses, prints and
writes.

Exit codes: 0 success (whatever the pass criterion says: it is reported), 1 a numerical failure
(every step size of an optimizer diverged), 2 invalid input (nothing written).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from . import io
from .cli import Parser, UsageError, available_memory, check_out
from .experiments.k24_linear_run import (
    PROG,
    ExperimentConfig,
    TooLarge,
    default_out,
    run_experiment,
    summarize,
)

#: Print the estimate above this many seconds (and always for m >= 10).
ESTIMATE_SECONDS = 600.0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used for ``--help``): the options of
    :data:`linsim.experiments.k24_linear_run.OPTIONS`, then the command line's own (``--out``,
    ``--json``, ...)."""
    p = Parser(
        prog=PROG,
        description="K24's linear-model experiment: GD, momentum, Adam, sign descent and "
                    "normalized GD on random heavy-tailed labels; per-group losses "
                    "(claim K24.experiment).",
        epilog="Example: python -m linsim.experiment --m 7 --steps 1000",
    )
    ExperimentConfig.add_arguments(p)
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="output folder (default linsim-out/experiment-m{M})")
    p.add_argument("--json", action="store_true",
                   help="print the summary JSON on stdout instead of the tables")
    p.add_argument("--no-plot", action="store_true", help="do not write the figure")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no estimate")
    return p


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


def _print_estimate(cfg: ExperimentConfig, quiet: bool) -> None:
    """Print the memory and time estimate (:meth:`ExperimentConfig.estimate`) on stderr for
    ``m >= 10``, or, unless ``quiet``, for a run estimated over :data:`ESTIMATE_SECONDS`."""
    big = cfg.m >= 10
    if quiet and not big:
        return  # nothing to print: the BLAS rate is not measured
    est = cfg.estimate()
    if not (big or est["seconds"] > ESTIMATE_SECONDS):
        return
    gram = " and Gram matrix" if est["logit_models"] else ""
    print(f"{PROG}: estimate for m = {cfg.m} (c = {est['classes']}, n = {est['n']}, "
          f"d = {est['d']}), {est['models']} runs of {cfg.steps} steps in {est['dtype']}: "
          f"memory {est['need_bytes'] / 2**30:.2f} GiB (inputs{gram} "
          f"{est['data_bytes'] / 2**30:.2f} GiB, {est['run_bytes'] / 2**30:.2f} GiB per run; "
          f"{est['available_bytes'] / 2**30:.1f} GiB available), "
          f"{est['flops'] / 1e12:.3g} TFLOP, about {_duration(est['seconds'])} at the "
          f"measured {est['gflops']:.1f} GFLOP/s", file=sys.stderr)


def write_outputs(result, summary: dict, out: Path, plot: bool) -> list[Path]:
    """Write every output file atomically; return their paths."""
    G = result.n_groups
    steps = result.record
    arrays = {"steps": steps, "pi": result.pi, "class_group": result.data.groups,
              "meta": np.array(io.dumps({k: summary[k] for k in (
                  "dataset", "classes", "n", "d", "groups", "steps", "versions")}))}
    rows: dict[str, list] = {"optimizer": [], "lr": [], "step": [], "overall": []}
    for g in range(G):
        rows[f"group_{g + 1}"] = []
    for name, tr in result.chosen.items():
        gc = result.group_curves(name)
        arrays[f"overall_{name}"] = tr.overall
        arrays[f"groups_{name}"] = gc
        arrays[f"class_losses_{name}"] = tr.class_losses
        arrays[f"lr_{name}"] = np.array(tr.lr)
        rows["optimizer"] += [name] * steps.size
        rows["lr"] += [tr.lr] * steps.size
        rows["step"] += list(steps)
        rows["overall"] += list(tr.overall)
        for g in range(G):
            rows[f"group_{g + 1}"] += list(gc[:, g])
    cols = {k: np.array(v) for k, v in rows.items()}
    paths = [io.write_json(out / "summary.json", summary),
             io.write_npz(out / "curves.npz", arrays),
             io.write_csv(out / "curves.csv", cols)]
    if plot:
        from .plotting.k24_linear import experiment_figure

        fig = experiment_figure(result)
        paths += io.save_figure(fig, out / "group_losses", {
            "claims": summary["claims"], "dataset": summary["dataset"],
            "steps": summary["steps"], "versions": summary["versions"]})
    return paths


def _tables(result, summary: dict, seconds: float) -> str:
    log_c = summary["log_c"]
    d = result.data
    lines = [f"K24 linear-model experiment: {d.name}, c = {d.classes}, n = {d.n}, d = {d.d}, "
             f"{summary['steps']} steps, {summary['dataset']['dtype']}; losses / log c "
             f"(log c = {log_c:.4g})", ""]
    G = result.n_groups
    head = f"{'optimizer':<22} {'lr':>9} " + " ".join(f"{'g' + str(g + 1):>7}" for g in range(G))
    lines.append(head + f" {'overall':>7}  rarest<0.9  rarest<0.5  (steps)")
    for o in summary["optimizers"].values():
        row = " ".join(f"{v / log_c:7.2g}" for v in o["final_groups"])
        cr = o["crossings"]
        lines.append(f"{o['label']:<22} {o['lr']:9.3g} {row} {o['final_loss'] / log_c:7.2g}  "
                     f"{str(cr['below_0.9']):>10}  {str(cr['below_0.5']):>10}")
    lines.append("")
    lines.append("steps until each group's loss first halves (-: not within the run, "
                 "censored); slope of log(steps) against log(group frequency) without the "
                 f"prior groups {[g + 1 for g in summary['prior_groups']]} (K24.experiment)")
    for o in summary["optimizers"].values():
        row = " ".join(f"{'-' if v is None else v:>7}" for v in o["half_loss_steps"])
        p = o["half_loss_predicted"]
        pred = "" if p is None else f" (predicted {p:g})"
        lines.append(f"{o['label']:<22} {'':9} {row}  slope {o['half_loss_slope']:.3g}{pred}, "
                     f"rise {o['rise']:.3g}")
    c = summary["criterion"]
    lines.append("")
    lines.append(f"pass criterion (rarest group: GD >= {c['gd_floor']} log c, Adam and sign "
                 f"< {c['adaptive_ceiling']} log c): {'PASS' if c['passed'] else 'FAIL'} "
                 f"(margin {c['margin']:.3g})")
    if summary["grid_edges"]:
        lines.append("chosen step size at the end of its grid: "
                     + ", ".join(summary["grid_edges"]))
    lines.append(f"{seconds:.1f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        out = default_out(args.m) if args.out is None else args.out
        check_out(out)  # first: before the other checks and the estimate line
        try:
            cfg = ExperimentConfig.from_args(
                args, out=out, available=available_memory(),
                argv=list(sys.argv[1:] if argv is None else argv))  # what "command" records
        except TooLarge as e:
            _print_estimate(e.config, args.quiet)  # the estimate, then why it is refused
            raise
        _print_estimate(cfg, args.quiet)
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    result = run_experiment(cfg, progress=not args.quiet)
    seconds = time.perf_counter() - start
    failed = [n for n, tr in result.chosen.items() if tr.diverged_at is not None]
    if failed:
        print(f"{PROG}: every step size diverged for {', '.join(failed)} (loss not finite or "
              f"above 1e3 log c); try smaller --lr", file=sys.stderr)
        return 1
    summary = summarize(result, cfg)
    paths = write_outputs(result, summary, cfg.out, plot=not args.no_plot)
    if args.json:
        sys.stdout.write(io.dumps({**summary, "seconds": seconds}))
    else:
        print(_tables(result, summary, seconds))
        print("wrote " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
