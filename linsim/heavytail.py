"""``python -m linsim.heavytail``: heavy-tailed noise, clipping (Z20) and sharpness (PL23).

Two families of studies, one subcommand each::

    python -m linsim.heavytail z20 --study clip-rate --alpha 1.2,1.5,1.8 --runs 2000 --steps 30000
    python -m linsim.heavytail pl23 --study all --quick

``z20`` simulates many independent runs with common random numbers across methods
(:mod:`linsim.stochastic`) and fits rates with bootstrap intervals (Z20.sgd-fails,
Z20.clip-strongly-convex, Z20.clip-nonconvex, Z20.threshold-tent, Z20.coordinate). ``pl23``
measures directional sharpness, Delta* tables and stable steps (PL23.sharpness,
PL23.clip-helps, PL23.stable-step). Each writes ``summary.json`` (measured against predicted,
parameters, versions), ``arrays.npz`` and one figure per study (PNG and PDF) into ``--out``.
Same seed, same bytes.

Each subcommand's run is a library configuration, checked there
(:class:`linsim.experiments.z20.Z20Config`, :class:`linsim.experiments.pl23.PL23Config`); this
module parses argv into it, prints the table and writes the files.

Exit codes: 0 success, 1 a simulation failed numerically (the reason is printed), 2 invalid
input (nothing is written).
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
from .experiments import pl23, z20
from .experiments.pl23 import PL23Config
from .experiments.z20 import Z20Config

PROG = "python -m linsim.heavytail"
#: The configuration of each subcommand (:mod:`linsim.experiments.z20`,
#: :mod:`linsim.experiments.pl23`).
CONFIGS: dict[str, type[Z20Config] | type[PL23Config]] = {"z20": Z20Config, "pl23": PL23Config}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used for ``--help``): per subcommand the options of its
    configuration's table, then the command line's own (``--out``, ``--json``, ...)."""
    p = Parser(prog=PROG, description="Heavy-tailed gradient noise and clipping (Z20) and "
                                       "directional sharpness (PL23), measured by simulation.",
                epilog="Examples: python -m linsim.heavytail z20 --study clip-rate --alpha 1.5; "
                       "python -m linsim.heavytail pl23 --quick")
    sub = p.add_subparsers(dest="paper", required=True, metavar="{z20,pl23}",
                           parser_class=Parser)
    helps = {"z20": "Z20 studies: SGD vs clipping under heavy-tailed noise",
             "pl23": "PL23 studies: directional sharpness and clipped GD"}
    for paper, config in CONFIGS.items():
        q = sub.add_parser(paper, help=helps[paper])
        config.add_arguments(q)
        q.add_argument("--out", type=Path, default=None, metavar="DIR",
                       help="output folder (default linsim-out/heavytail-<paper>)")
        q.add_argument("--json", action="store_true",
                       help="print the summary JSON on stdout instead of the table")
        q.add_argument("--no-plot", action="store_true", help="do not write figures")
        q.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


# --------------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------------
def _table(paper: str, summaries: dict) -> str:
    """One line per measured quantity: measured, predicted."""
    lines = [f"{paper.upper()} studies"]

    def row(label, meas, pred, extra=""):
        m = "-" if meas is None else f"{meas:.4g}"
        p = "-" if pred is None else f"{pred:.4g}"
        lines.append(f"  {label:<46} measured {m:>10}  predicted {p:>10}  {extra}")

    for name, s in summaries.items():
        lines.append(f"[{name}]")
        if name == "sgd-fails":
            row("slope in R of the typical mean over R runs", s["mean_over_R_slope"]["measured"],
                s["mean_over_R_slope"]["predicted"])
            row("slope in k of the median over runs", s["median_over_runs_slope"]["measured"],
                s["median_over_runs_slope"]["predicted"])
        elif name == "clip-rate":
            for r in s:
                lo, hi = r["slope"]["ci95"]
                row(f"alpha = {r['alpha']:g}: slope of log E f vs log k", r["slope"]["value"],
                    r["predicted"], f"95% CI [{lo:.4f}, {hi:.4f}]")
        elif name == "nonconvex":
            row("slope in K of mean min(|f'|, f'^2)", s["slope"]["value"], s["predicted"])
        elif name == "tent":
            for r in s["rows"]:
                row(f"p = {r['p']:.3g}: exponent of E f", r["exponent"], r["predicted"])
            row("peak p", s["peak_p_measured"], s["peak_p_predicted"])
        elif name == "coordinate":
            for lab, v in s["slope_in_d"].items():
                row(f"{lab}: slope of C(d) in d", v, s["predicted"].get(lab))
        elif name == "sharpness":
            row("identity error (FD HVPs)", s["identity_max_rel_error"], 0.0)
            for t in s["trajectories"]:
                r = t["median_S_ratio_to_gd"]
                lines.append(f"  {t['problem']:<46} median S(v)/S(g): sign {r['sign']:.3g}, "
                             f"adam {r['adam']:.3g}, clip {r['clip']:.3g}")
        elif name == "clip-helps":
            for k, c in s["cells"].items():
                lines.append(f"  {k:<34} Delta* ratio {c['ratio']:<10.4g} {c['predicted']:<22}"
                             f" {'ok' if c['agrees'] else 'DISAGREES'}")
        elif name == "stable-step":
            for r in s["rows"]:
                row(f"q = {r['frac']:g}: largest stable step", r["eta_max"], r["predicted"])
            lines.append(f"  threshold-collapse trap detected: {s['trap']['trap_detected']}; "
                         f"avoided with gradient noise: {s['trap']['noise_avoids_trap']}")
    return "\n".join(lines)


def write_outputs(paper: str, cfg: Z20Config | PL23Config, doc: dict, arrays: dict,
                  figs: dict) -> list[Path]:
    """Write ``summary.json`` (without timings), ``arrays.npz`` and the figures ``figs``
    (name -> ``(result, claim ids)``, drawn by the function of that name in
    :mod:`linsim.plotting.z20` or :mod:`linsim.plotting.pl23`) into ``cfg.out``; return the
    paths."""
    paths = [io.write_json(cfg.out / "summary.json", io.without_timing(doc)),
             io.write_npz(cfg.out / "arrays.npz", arrays)]
    if figs:
        if paper == "z20":
            from .plotting import z20 as plots
        else:
            from .plotting import pl23 as plots
        for fname, (res, claims) in figs.items():
            paths += io.save_figure(getattr(plots, fname)(res), cfg.out / fname, {
                "claims": claims, "seed": cfg.seed, "quick": cfg.quick,
                "versions": doc["versions"]})
    return paths


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        cfg = CONFIGS[args.paper].from_args(args)
        check_out(cfg.out)
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        with np.errstate(all="ignore"):
            if args.paper == "z20":
                summaries, arrays, figs = z20.run_studies(cfg, progress=not args.quiet)
            else:
                summaries, arrays, figs = pl23.run_studies(cfg)
    except ValueError as e:  # a study refused its settings: nothing has been written
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except (FloatingPointError, ArithmeticError) as e:
        print(f"{PROG}: numerical failure: {e}", file=sys.stderr)
        return 1
    doc = z20.summarize(cfg, summaries, time.perf_counter() - start,  # one for both papers
                        " ".join([PROG, *(sys.argv[1:] if argv is None else argv)]))
    try:
        with deferred_signals():  # every output file, or none
            paths = write_outputs(args.paper, cfg, doc, arrays,
                                  {} if args.no_plot else figs)
    except OSError as e:
        return write_failed(PROG, "--out", e)
    except Interrupted as e:
        return report_interrupt(PROG, e, "nothing written")
    if args.json:
        sys.stdout.write(io.dumps(doc))
    else:
        print(_table(args.paper, summaries))
        print(f"\n{doc['seconds']:.1f} s; wrote " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
