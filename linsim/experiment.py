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

Exit codes: 0 success (whatever the pass criterion says: it is reported), 1 a numerical failure
(every step size of an optimizer diverged), 2 invalid input (nothing written).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

from . import io
from .cli import Parser, UsageError, available_memory, check_out, names, number

PROG = "python -m linsim.experiment"
#: Largest m accepted (m = 11 is the paper's size).
M_MAX = 11
#: Print the estimate above this many seconds (and always for m >= 10).
ESTIMATE_SECONDS = 600.0


def _names(text: str) -> tuple[str, ...]:
    from .experiments.k24_linear import SPECS

    return names("--optimizers", tuple(SPECS))(text)


def _lrs(text: str) -> dict[str, float]:
    from .experiments.k24_linear import SPECS

    out = {}
    for item in (s.strip() for s in text.split(",")):
        name, eq, value = item.partition("=")
        try:
            v = float(value)
        except ValueError:
            v = float("nan")
        if not eq or name not in SPECS or not (math.isfinite(v) and v > 0) or name in out:
            raise argparse.ArgumentTypeError(
                f"--lr must be a comma list of name=value with distinct names from "
                f"{','.join(SPECS)} and values finite and > 0, got {text!r}")
        out[name] = v
    return out


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used for ``--help``)."""
    from .experiments.k24_linear import SPECS

    p = Parser(
        prog=PROG,
        description="K24's linear-model experiment: GD, momentum, Adam, sign descent and "
                    "normalized GD on random heavy-tailed labels; per-group losses "
                    "(claim K24.experiment).",
        epilog="Example: python -m linsim.experiment --m 7 --steps 1000",
    )
    p.add_argument("--m", type=number("--m", int, 2, M_MAX), default=7,
                   help=f"number of groups, an integer in [2, {M_MAX}]: c = 2^m - 1 classes, "
                        "n = m 2^m samples, d = (m+1) 2^m (default 7; 11 is the paper's size)")
    p.add_argument("--optimizers", type=_names, default=tuple(SPECS),
                   help=f"comma list of {','.join(SPECS)} (default all)")
    p.add_argument("--steps", type=number("--steps", int, 1, 10_000_000), default=1000,
                   help="updates per run, an integer in [1, 1e7] (default 1000)")
    p.add_argument("--lr", type=_lrs, default={}, metavar="NAME=LR,...",
                   help="fixed step sizes, e.g. gd=0.1,sign=3e-4 (others: table or grid)")
    p.add_argument("--tune", action="store_true",
                   help="tune every optimizer without --lr on its grid at this --steps "
                        "(default: use the tabulated step sizes where they exist)")
    p.add_argument("--select", choices=("final", "stable"), default="final",
                   help="how a grid's step size is chosen: the best final loss (default) or "
                        "the largest stable step, whose overall loss never rises more than "
                        "5%% above its running minimum (K24.experiment; implies --tune for "
                        "the optimizers without --lr)")
    p.add_argument("--seed", type=number("--seed", int, 0, 2**32 - 1), default=0,
                   help="data seed, an integer in [0, 2^32 - 1] (default 0)")
    p.add_argument("--float32", action="store_true",
                   help="float32 inputs and matrix products (float64 softmax and updates)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="output folder (default linsim-out/experiment-m{M})")
    p.add_argument("--json", action="store_true",
                   help="print the summary JSON on stdout instead of the tables")
    p.add_argument("--no-plot", action="store_true", help="do not write the figure")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no estimate")
    return p


def plan(args) -> tuple[dict[str, float], list[str]]:
    """Step sizes fixed before the run (``--lr``, then the table) and the names to tune."""
    from .experiments.k24_linear import TUNED

    fixed = dict(args.lr)
    table = TUNED.get(args.m)
    tune = []
    for name in args.optimizers:
        if name in fixed:
            continue
        if (not args.tune and args.select == "final" and table is not None
                and name in table["lrs"]):
            fixed[name] = table["lrs"][name]
        else:
            tune.append(name)
    return {k: v for k, v in fixed.items() if k in args.optimizers}, tune


def check_args(args) -> dict:
    """Cross-option checks; raise :class:`UsageError` with one line. Returns the estimate."""
    from .experiments.k24_linear import LOGIT_CODES, SPECS, estimate, model_bytes

    if args.out is None:
        args.out = Path(f"linsim-out/experiment-m{args.m}")
    check_out(args.out)  # first: before the estimate line
    extra = [n for n in args.lr if n not in args.optimizers]
    if extra:
        raise UsageError(f"--lr names optimizers not in --optimizers: {','.join(extra)}")
    fixed, tune = plan(args)
    counts = {n: 1 for n in fixed} | {n: len(SPECS[n].grid) for n in tune}
    models = sum(counts.values())
    logit = sum(k for n, k in counts.items() if SPECS[n].make(1.0).code in LOGIT_CODES)
    dtype = np.float32 if args.float32 else np.float64
    big = args.m >= 10
    est = estimate(args.m, models, args.steps, dtype,
                   gflops=None if (big or not args.quiet) else 10.0, logit_models=logit)
    avail = available_memory()
    # the runs go in lockstep batches of at most 1 GiB of state (at least one model each)
    one = model_bytes(est, dtype)
    batch = max(one, min(est["state_bytes"], 1 << 30))
    need = est["data_bytes"] + batch
    if big or (not args.quiet and est["seconds"] > ESTIMATE_SECONDS):
        gram = " and Gram matrix" if est["logit_models"] else ""
        print(f"{PROG}: estimate for m = {args.m} (c = {est['classes']}, n = {est['n']}, "
              f"d = {est['d']}), {models} runs of {args.steps} steps in {est['dtype']}: "
              f"memory {need / 2**30:.2f} GiB (inputs{gram} {est['data_bytes'] / 2**30:.2f} GiB, "
              f"{one / 2**30:.2f} GiB per run; {avail / 2**30:.1f} GiB available), "
              f"{est['flops'] / 1e12:.3g} TFLOP, about {_duration(est['seconds'])} at the "
              f"measured {est['gflops']:.1f} GFLOP/s", file=sys.stderr)
    if need > 0.8 * avail:
        hint = "" if args.float32 else "; --float32 halves the inputs"
        raise UsageError(f"--m {args.m} needs about {need / 2**30:.1f} GiB "
                         f"({avail / 2**30:.1f} GiB available){hint}")
    return est


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


def summarize(result, args, fixed: dict, tune: list) -> dict:
    """The ``summary.json`` document (no timings: same seed, same bytes)."""
    from .experiments.k24_linear import (
        HALF_SLOPE,
        SPECS,
        TUNED,
        criterion,
        grid_edges,
        group_frequencies,
        half_loss_slope,
        half_loss_steps,
        prior_groups,
    )

    crit = criterion(result)
    freq = group_frequencies(result.data)
    prior = prior_groups(result.data)
    table = TUNED.get(args.m)
    opts = {}
    for name, tr in result.chosen.items():
        half = half_loss_steps(tr, result.data)
        fit = half_loss_slope(np.where(prior, np.nan, half)[~prior], freq[~prior])
        if name in args.lr:
            source = "--lr"
        elif name in tune and args.select == "stable":
            source = f"grid, largest stable step over {args.steps} steps"
        elif name in tune:
            source = f"grid, best final loss at {args.steps} steps"
        else:
            source = f"table (grid, best final loss at {table['steps']} steps)"
        opts[name] = {
            "label": SPECS[name].label,
            "optimizer": tr.optimizer.describe(),
            "lr": tr.lr,
            "lr_source": source,
            "final_loss": tr.final_loss,
            "diverged_at": tr.diverged_at,
            "final_groups": result.group_curves(name)[-1],
            "rarest_over_log_c": crit["rarest_over_log_c"][name],
            "crossings": crit["crossings"][name],
            "rise": tr.rise,
            "half_loss_steps": [None if not math.isfinite(v) else int(v) for v in half],
            "half_loss_slope": fit["slope"],
            "half_loss_censored": fit["censored"],
            "half_loss_predicted": HALF_SLOPE.get(name),
            "trials": [{"lr": lr, "final_loss": f, "diverged_at": dv, "rise": ri}
                       for lr, f, dv, ri in result.trials[name]],
        }
    d = result.data
    return {
        "claims": ["K24.experiment"],
        "dataset": d.params,
        "classes": d.classes, "n": d.n, "d": d.d, "groups": d.n_groups,
        "log_c": math.log(d.classes),
        "steps": args.steps,
        "optimizers": opts,
        "criterion": {k: crit[k] for k in ("margin", "passed", "gd_floor",
                                           "adaptive_ceiling")},
        "grid_edges": grid_edges(result),
        "select": args.select,
        "group_frequencies": freq.tolist(),
        "prior_groups": np.flatnonzero(prior).tolist(),
        "versions": io.versions(),
        "command": " ".join([PROG, *getattr(args, "argv", sys.argv[1:])]),
    }


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
        args.argv = list(sys.argv[1:] if argv is None else argv)
        check_args(args)
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    from .experiments.k24_linear import experiment

    fixed, tune = plan(args)
    start = time.perf_counter()
    result = experiment(args.m, args.optimizers, args.steps, lrs=fixed, seed=args.seed,
                        dtype=np.float32 if args.float32 else np.float64,
                        progress=not args.quiet, select=args.select)
    seconds = time.perf_counter() - start
    failed = [n for n, tr in result.chosen.items() if tr.diverged_at is not None]
    if failed:
        print(f"{PROG}: every step size diverged for {', '.join(failed)} (loss not finite or "
              f"above 1e3 log c); try smaller --lr", file=sys.stderr)
        return 1
    summary = summarize(result, args, fixed, tune)
    paths = write_outputs(result, summary, args.out, plot=not args.no_plot)
    if args.json:
        sys.stdout.write(io.dumps({**summary, "seconds": seconds}))
    else:
        print(_tables(result, summary, seconds))
        print("wrote " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
