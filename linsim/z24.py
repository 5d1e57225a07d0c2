"""``python -m linsim.z24``: the Z24.cases table on block-heterogeneous quadratics.

For each case (THEORY.md, "Z24": 1 and 2 the parametric heterogeneous/homogeneous families,
3 heterogeneous, 4 homogeneous), each seed and each method (GD, heavy ball, Adam(0,1), Adam,
RMSProp, sign descent with constant and decaying steps, normalized GD, oracle per-block GD),
sweeps the step size (and momentum or decay), keeps the best, and reports the iterations to a
relative loss ``(f - f*)/(f0 - f*) <= --tol``::

    python -m linsim.z24                      # the full table: 4 cases x 5 seeds x 9 methods
    python -m linsim.z24 --quick              # Cases 3 and 4, GD and Adam(0,1)
    python -m linsim.z24 --cases 3,4 --methods gd,adam --seeds 3 --json

Writes ``summary.json``, ``table.csv`` (one row per case, method and seed), ``curves.npz``
(relative loss per iteration of the best setting, first seed) and the figure
``cases.png``/``.pdf`` into ``--out``. Same options, same bytes.

Exit codes: 0 success, 1 numerical failure (the reason is printed), 2 invalid input.
"""

from __future__ import annotations

import argparse
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
    deferred_signals,
    report_interrupt,
    write_failed,
)
from .experiments.z24 import (
    METHODS,
    PROG,
    QUICK_CASES,
    QUICK_METHODS,
    CasesConfig,
    run_cases,
    summarize,
)

#: The library's names that this command line used to define (:mod:`linsim.experiments.z24`).
__all__ = ["PROG", "QUICK_CASES", "QUICK_METHODS", "CasesConfig", "summarize", "build_parser",
           "main", "table", "write_outputs"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used for ``--help``): the options of
    :data:`linsim.experiments.z24.CASES_OPTIONS`, then the command line's own (``--out``,
    ``--json``, ...)."""
    p = Parser(
        prog=PROG,
        description="Iterations to a relative loss tolerance for GD, heavy ball, Adam, RMSProp, "
                    "sign descent, normalized GD and oracle per-block GD on the Z24 "
                    "block-diagonal quadratics, each at its best swept step size (Z24.cases).",
        epilog="Example: python -m linsim.z24 --cases 3,4 --seeds 5",
    )
    CasesConfig.add_arguments(p)
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="output folder (default linsim-out/z24)")
    p.add_argument("--json", action="store_true",
                   help="print the summary JSON on stdout instead of the table")
    p.add_argument("--no-plot", action="store_true", help="do not write the figure")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def write_outputs(res, summary: dict, out: Path, plot: bool) -> list[Path]:
    """Write every output file atomically; return their paths."""
    rows = {"case": [], "method": [], "seed": [], "iterations": [], "lr": []}
    for c in res.cases:
        for m in res.methods:
            for s, it, best in zip(res.seeds, res.iterations[(c, m)], res.best[(c, m)],
                                   strict=True):
                rows["case"].append(c)
                rows["method"].append(m)
                rows["seed"].append(s)
                rows["iterations"].append("" if it is None else it)
                rows["lr"].append("" if best is None else repr(float(best["lr"])))
    arrays = {f"case{c}_{m}": v for (c, m), v in res.curves.items()}
    arrays["meta"] = np.array(io.dumps({k: summary[k] for k in (
        "cases", "methods", "seeds", "tol", "max_iter", "versions")}))
    paths = [io.write_json(out / "summary.json", summary),
             io.write_csv(out / "table.csv", rows),
             io.write_npz(out / "curves.npz", arrays)]
    if plot:
        from .plotting.z24 import z24_cases

        paths += io.save_figure(z24_cases(res), out / "cases", {
            "claims": summary["claims"], "cases": list(summary["cases"]),
            "seeds": summary["seeds"], "tol": summary["tol"], "versions": summary["versions"]})
    return paths


def table(res) -> str:
    """The human-readable table: median [min-max] iterations and how many seeds reached."""
    n = len(res.seeds)
    w = 22
    head = f"{'method':<16}" + "".join(f"{'Case ' + str(c):>{w}}" for c in res.cases)
    lines = [f"Z24.cases: iterations to (f - f*)/(f0 - f*) <= {res.tol:g}, best step size per "
             f"seed; median [min-max] over {n} seed(s), (k/{n}) = seeds that reached it", "",
             head]
    for m in res.methods:
        cells = []
        for c in res.cases:
            its = res.iterations[(c, m)]
            got = [x for x in its if x is not None]
            med = res.median(c, m)
            if not got:
                cell = f">{res.max_iter} (0/{n})"
            else:
                rng = f"{min(got)}-{max(got)}" if len(got) == n else f"{min(got)}-"
                cell = (f"{'>' + str(res.max_iter) if med is None else f'{med:.0f}'} "
                        f"[{rng}]" + ("" if len(got) == n else f" ({len(got)}/{n})"))
            cells.append(f"{cell:>{w}}")
        lines.append(f"{m:<16}" + "".join(cells))
    lines.append("")
    for c in res.cases:
        k, kl = res.kappas[c]
        lines.append(f"Case {c}: kappa = {k:g}, max_l kappa_l = {kl:.4g}")
    for m in res.methods:
        lines.append(f"{m}: {METHODS[m].label}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        cfg = CasesConfig.from_args(args)  # "command" records sys.argv, as it always has
        check_out(cfg.out)
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    total = cfg.runs
    bar = None
    if not args.quiet and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=total, desc="Z24.cases", unit="run", file=sys.stderr, leave=False)
    start = time.perf_counter()
    try:
        res = run_cases(cfg, progress=None if bar is None else (lambda label: (
            bar.set_postfix_str(label, refresh=False), bar.update(1))))
    except (FloatingPointError, ValueError, ZeroDivisionError) as e:
        print(f"{PROG}: numerical failure: {e}", file=sys.stderr)
        return 1
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - start
    summary = summarize(res, cfg)
    try:
        with deferred_signals():  # every output file, or none
            paths = write_outputs(res, summary, cfg.out, plot=not args.no_plot)
    except OSError as e:
        return write_failed(PROG, "--out", e)
    except Interrupted as e:
        return report_interrupt(PROG, e, "nothing written")
    if args.json:
        sys.stdout.write(io.dumps(summary))
    else:
        print(table(res))
        print("")
        print(f"{total} sweeps in {seconds:.1f} s; wrote " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
