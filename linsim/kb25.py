"""``python -m linsim.kb25``: GD and sign descent on the linear bigram model at vocabulary size d.

    python -m linsim.kb25 --alpha 0.5,1,1.5 --d 1e2:1e7 --eps 0.1,0.01
    python -m linsim.kb25 --frequencies wordfreq:en --d 1e2:1e5

For every (alpha, eps, method) prints the iterations ``T_eps`` to relative error eps at each
vocabulary size ``d`` (THEORY.md, "KB25"), the fitted log-log slope over the top decade and the
predicted one, and writes ``summary.json`` and the figure ``kb25_scaling`` (PNG and PDF: T_eps
against d, one panel per alpha, predictions dashed) into ``--out``.

Times come from the exact reductions (KB25.reduce): GD at step ``1/pi_1`` (real root of ``r(t)
= eps``, the integer count is its ceiling); sign descent at a constant step tuned to the horizon,
reporting the mean of the last two iterates; ``--methods halving`` adds sign descent with the
halving schedule. ``--frequencies PATH|wordfreq:LANG`` runs GD on real marginals (the top-d
classes) beside the Zipf law fitted to them by maximum likelihood over ``--fit-ranks``, and
draws ``kb25_real``.

Exit codes: 0 success, 1 the output could not be written, 2 invalid input (nothing written),
130/143 interrupted by SIGINT/SIGTERM (the output files are written together or not at all).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from . import io
from .cli import (
    Interrupted,
    Parser,
    UsageError,
    check_out,
    deferred_signals,
    interruptible,
    report_interrupt,
    write_failed,
)
from .experiments.kb25 import D_MAX, METHODS, PROG, KB25Config, simulate, summarize

#: The library's names that this command line used to define (:mod:`linsim.experiments.kb25`).
__all__ = ["D_MAX", "METHODS", "PROG", "KB25Config", "build_parser", "main", "write_outputs"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used for ``--help``): the options of
    :data:`linsim.experiments.kb25.KB25_OPTIONS`, then the command line's own (``--out``,
    ``--json``, ``--no-plot``)."""
    p = Parser(prog=PROG, description="Iterations to relative error eps of GD and sign "
                                      "descent on the KB25 linear bigram model against the "
                                      "vocabulary size d (claims KB25.*).",
               epilog="Example: python -m linsim.kb25 --alpha 0.5,1,1.5 --d 1e2:1e7 "
                      "--eps 0.1,0.01")
    KB25Config.add_arguments(p)
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="output folder (default linsim-out/kb25)")
    p.add_argument("--json", action="store_true", help="print the summary JSON on stdout")
    p.add_argument("--no-plot", action="store_true", help="do not write the figure")
    return p


def write_outputs(result: list[dict] | dict, summary: dict, out: Path,
                  plot: bool) -> list[Path]:
    """Write the figure (``kb25_scaling``, or ``kb25_real`` for real frequencies) and
    ``summary.json``; return their paths, ``summary.json`` first."""
    paths = []
    if plot and "real" in summary:
        from .plotting.kb25 import kb25_real

        paths += io.save_figure(kb25_real(result), out / "kb25_real",
                                {"claims": ["KB25.reduce"], "source": result["source"]})
    elif plot:
        from .plotting.kb25 import kb25_scaling

        paths += io.save_figure(kb25_scaling(result), out / "kb25_scaling",
                                {"claims": ["KB25.gd-zipf", "KB25.gd-regimes",
                                            "KB25.sd-sqrt", "KB25.crossover"]})
    return [io.write_json(out / "summary.json", summary), *paths]


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _table(rows: list[dict]) -> str:
    lines = []
    for r in rows:
        lines.append("")
        lines.append(f"== alpha = {r['alpha']:g}, eps = {r['eps']:g}, {r['method']}: "
                     f"{r['rule']} ==")
        lines.append(f"{'d':>10} {'T_eps':>10} {'predicted':>11}"
                     + (f" {'THEORY SD':>10}" if "predicted_theory" in r else ""))
        for i, d in enumerate(r["d"]):
            extra = (f" {_fmt(r['predicted_theory'][i]):>10}" if "predicted_theory" in r
                     else "")
            lines.append(f"{d:>10} {_fmt(r['T'][i]):>10} {_fmt(r['predicted'][i]):>11}{extra}")
        lines.append(f"  log-log slope over the top decade: measured {_fmt(r['slope'])}, "
                     f"predicted {_fmt(r['slope_predicted'])} ({r['prediction']})")
    return "\n".join(lines)


def _real_table(cfg: KB25Config, res: dict) -> str:
    """The real-frequency curve: its Zipf fit and GD's iterations per d (real | Zipf fit)."""
    fit = res["fit"]
    text = [f"{cfg.freq.source}: {cfg.freq.size} classes; Zipf exponent by maximum "
            f"likelihood over ranks {fit['ranks'][0]}-{fit['ranks'][1]}: "
            f"alpha = {fit['alpha']:.4f}" + (f" +- {fit['stderr']:.2g}" if fit["stderr"] else ""),
            "GD (step 1/pi_1) iterations to eps on the top-d classes (real | Zipf fit):"]
    for eps in cfg.eps:
        text.append(f"  eps = {eps:g}")
        for d, a, b in zip(res["d"], res["real"][eps], res["zipf_fit"][eps], strict=True):
            text.append(f"{d:>12} {math.ceil(a):>12} {math.ceil(b):>12}")
    return "\n".join(text)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        # what "command" records
        cfg = KB25Config.from_args(args, argv=list(sys.argv[1:] if argv is None else argv))
        check_out(cfg.out)
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    try:
        with interruptible():
            start = time.perf_counter()
            result = simulate(cfg)
            summary = summarize(cfg, result, time.perf_counter() - start)
            try:
                with deferred_signals():  # every output file, or none
                    paths = write_outputs(result, summary, cfg.out, plot=not args.no_plot)
            except OSError as e:
                return write_failed(PROG, "--out", e)
    except Interrupted as e:
        return report_interrupt(PROG, e, f"nothing written to {str(cfg.out)!r}")
    if args.json:
        sys.stdout.write(io.dumps(summary))
    else:
        print(_real_table(cfg, result) if cfg.freq is not None else _table(result))
        print("")
        print(f"{summary['seconds']:.1f} s; wrote " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
