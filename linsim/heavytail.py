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

Exit codes: 0 success, 1 a simulation failed numerically (the reason is printed), 2 invalid
input (nothing is written).
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
    deferred_signals,
    names,
    number,
    report_interrupt,
    write_failed,
)

PROG = "python -m linsim.heavytail"
Z20_STUDIES = ("sgd-fails", "clip-rate", "nonconvex", "tent", "coordinate")
PL23_STUDIES = ("sharpness", "clip-helps", "stable-step")
#: Largest recorded array accepted (runs x methods x checkpoints, float64 entries, x4 arrays).
MAX_RECORDED = 50_000_000
#: Largest amount of simulated work accepted (runs x steps x methods x dimension).
MAX_WORK = 5e11


def _alphas(text: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(s) for s in text.split(","))
    except ValueError:
        vals = ()
    if not vals or not all(math.isfinite(a) and 1.0 < a < 2.0 for a in vals):
        raise argparse.ArgumentTypeError(
            f"--alpha must be a comma list of tail indices in (1, 2), got {text!r}")
    return vals


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used for ``--help``)."""
    p = Parser(prog=PROG, description="Heavy-tailed gradient noise and clipping (Z20) and "
                                       "directional sharpness (PL23), measured by simulation.",
                epilog="Examples: python -m linsim.heavytail z20 --study clip-rate --alpha 1.5; "
                       "python -m linsim.heavytail pl23 --quick")
    sub = p.add_subparsers(dest="paper", required=True, metavar="{z20,pl23}",
                           parser_class=Parser)
    z = sub.add_parser("z20", help="Z20 studies: SGD vs clipping under heavy-tailed noise")
    z.add_argument("--study", type=names("--study", Z20_STUDIES, all_ok=True), default=Z20_STUDIES,
                   help=f"'all' (default) or a comma list of {','.join(Z20_STUDIES)}")
    z.add_argument("--alpha", type=_alphas, default=None, metavar="A[,A..]",
                   help="tail indices in (1, 2); clip-rate uses all (default 1.2,1.5,1.8), "
                        "the other studies the first (default 1.5)")
    z.add_argument("--runs", type=number("--runs", int, 1, 10_000_000), default=None,
                   help="independent runs, an integer in [1, 1e7] (default: the study's)")
    z.add_argument("--steps", type=number("--steps", int, 10, 100_000_000), default=None,
                   help="steps per run (nonconvex: the largest horizon), an integer in "
                        "[10, 1e8] (default: the study's)")
    s = sub.add_parser("pl23", help="PL23 studies: directional sharpness and clipped GD")
    s.add_argument("--study", type=names("--study", PL23_STUDIES, all_ok=True),
                   default=PL23_STUDIES,
                   help=f"'all' (default) or a comma list of {','.join(PL23_STUDIES)}")
    for q in (z, s):
        q.add_argument("--seed", type=number("--seed", int, 0, 2**63 - 1), default=0,
                       help="random seed, an integer in [0, 2^63) (default 0)")
        q.add_argument("--quick", action="store_true",
                       help="the small settings of python -m linsim.verify --quick")
        q.add_argument("--out", type=Path, default=None, metavar="DIR",
                       help="output folder (default linsim-out/heavytail-<paper>)")
        q.add_argument("--json", action="store_true",
                       help="print the summary JSON on stdout instead of the table")
        q.add_argument("--no-plot", action="store_true", help="do not write figures")
        q.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


# --------------------------------------------------------------------------------------------
# Z20
# --------------------------------------------------------------------------------------------
def _z20_settings(args) -> dict:
    """Per-study keyword arguments (the claim registry's settings, overridden by options)."""
    q = args.quick
    alphas = args.alpha or ((1.5,) if q else (1.2, 1.5, 1.8))
    a = (args.alpha or (1.5,))[0]
    runs, steps, seed = args.runs, args.steps, args.seed
    out = {
        "sgd-fails": {"alpha": a, "runs": runs or (2**15 if q else 2**16),
                      "steps": steps or (50 if q else 1000), "seed": seed},
        "clip-rate": {"alphas": alphas, "runs": runs or 2000,
                      "steps": steps or (10_000 if q else 30_000), "seed": seed,
                      "resamples": 400 if q else 1000},
        "nonconvex": {"alpha": a, "runs": runs or (500 if q else 2000), "seed": seed,
                      "horizons": _horizons(steps or (10_000 if q else 30_000)),
                      "resamples": 400 if q else 1000},
        "tent": {"alpha": a, "runs": runs or (500 if q else 2000),
                 "steps": steps or 30_000, "seed": seed, "resamples": 200 if q else 400,
                 "ps": (0.0, 0.4, 2 / 3, 0.8) if q else (0.0, 0.2, 0.4, 0.5, 0.6, 2 / 3, 0.8,
                                                         1.0)},
        "coordinate": {"alpha": a, "runs": runs or (200 if q else 400),
                       "steps": steps or (1000 if q else 3000), "seed": seed,
                       "dims": (1, 4, 16) if q else (1, 4, 16, 64)},
    }
    return {k: v for k, v in out.items() if k in args.study}


def _horizons(K: int) -> tuple[int, ...]:
    """Five horizons, log-spaced up to K (from 300, or K/30 when K is small)."""
    lo = max(10, min(300, K // 30))
    return tuple(int(round(x)) for x in np.unique(np.logspace(np.log10(lo), np.log10(K), 5)))


def _check_work(settings: dict) -> None:
    """Refuse studies whose recorded arrays or amount of work would not fit."""
    for name, kw in settings.items():
        runs = kw["runs"]
        steps = max(kw.get("horizons", ()) or (kw.get("steps", 1),))
        methods = {"sgd-fails": 2, "clip-rate": 1, "nonconvex": 1, "tent": len(kw.get("ps", ())),
                   "coordinate": 4}[name]
        dim = max(kw.get("dims", (1,)))
        if runs * methods * 60 * 4 > MAX_RECORDED:
            raise UsageError(f"--runs too large for {name}: the recorded arrays would exceed "
                             f"{MAX_RECORDED:.0e} entries; use --runs <= "
                             f"{MAX_RECORDED // (methods * 240)}")
        if runs * steps * methods * dim > MAX_WORK:
            raise UsageError(f"--runs x --steps too large for {name}: {runs} x {steps} x "
                             f"{methods} methods x d = {dim} exceeds {MAX_WORK:.0e}")


def run_z20(args) -> tuple[dict, dict, dict]:
    """Run the chosen Z20 studies; return (summaries, arrays, figures)."""
    from .experiments import z20
    from .plotting import z20 as plots

    settings = _z20_settings(args)
    prog = not args.quiet
    summaries, arrays, figs = {}, {}, {}
    for name, kw in settings.items():
        if name == "sgd-fails":
            r = z20.sgd_fails(kw["alpha"], runs=kw["runs"], steps=kw["steps"], seed=kw["seed"],
                              progress=prog)
            summaries[name] = r.summary()
            arrays.update({"sgd_fails_steps": r.study.steps, "sgd_fails_group_sizes":
                           r.group_sizes, "sgd_fails_typical_mean": r.typical_mean,
                           "sgd_fails_median_sgd": np.median(r.study.gap[0], axis=0),
                           "sgd_fails_median_gclip": np.median(r.study.gap[1], axis=0)})
            figs["z20_sgd_fails"] = (plots.z20_sgd_fails, r, ("Z20.sgd-fails",))
        elif name == "clip-rate":
            res = [z20.clip_rate(a, runs=kw["runs"], steps=kw["steps"], seed=kw["seed"],
                                 resamples=kw["resamples"], progress=prog)
                   for a in kw["alphas"]]
            summaries[name] = [r.summary() for r in res]
            for r in res:
                arrays[f"clip_rate_alpha{r.alpha:g}_steps"] = r.study.steps
                arrays[f"clip_rate_alpha{r.alpha:g}_mean_f"] = r.study.gap[0].mean(axis=0)
            figs["z20_clip_rate"] = (plots.z20_clip_rate, res, ("Z20.clip-strongly-convex",))
        elif name == "nonconvex":
            r = z20.clip_nonconvex(kw["alpha"], horizons=kw["horizons"], runs=kw["runs"],
                                   seed=kw["seed"], resamples=kw["resamples"], progress=prog)
            summaries[name] = r.summary()
            arrays.update({"nonconvex_horizons": r.horizons,
                           "nonconvex_mean_stationarity": r.per_run.mean(axis=0)})
            figs["z20_clip_nonconvex"] = (plots.z20_clip_nonconvex, r, ("Z20.clip-nonconvex",))
        elif name == "tent":
            r = z20.threshold_tent(kw["alpha"], ps=kw["ps"], runs=kw["runs"], steps=kw["steps"],
                                   seed=kw["seed"], resamples=kw["resamples"], progress=prog)
            summaries[name] = r.summary()
            arrays.update({"tent_p": r.ps, "tent_measured": r.measured,
                           "tent_predicted": r.predicted, "tent_steps": r.study.steps,
                           "tent_mean_f": r.study.gap.mean(axis=1)})
            figs["z20_threshold_tent"] = (plots.z20_threshold_tent, r, ("Z20.threshold-tent",))
        else:
            r = z20.coordinate(kw["alpha"], dims=kw["dims"], runs=kw["runs"], steps=kw["steps"],
                               seed=kw["seed"], progress=prog)
            summaries[name] = r.summary()
            arrays.update({"coordinate_dims": r.dims, "coordinate_constants": r.constants})
            figs["z20_coordinate"] = (plots.z20_coordinate, r, ("Z20.coordinate",))
    return summaries, arrays, figs


# --------------------------------------------------------------------------------------------
# PL23
# --------------------------------------------------------------------------------------------
def run_pl23(args) -> tuple[dict, dict, dict]:
    """Run the chosen PL23 studies; return (summaries, arrays, figures)."""
    from .experiments import pl23
    from .plotting import pl23 as plots

    summaries, arrays, figs = {}, {}, {}
    q, seed = args.quick, args.seed
    for name in args.study:
        if name == "sharpness":
            r = pl23.sharpness_study(q, seed=seed)
            summaries[name] = r.summary()
            for j, tr in enumerate(r.trajectories):
                arrays[f"sharpness_{j}_steps"] = tr.steps
                for d, v in tr.S.items():
                    arrays[f"sharpness_{j}_S_{d}"] = v
            figs["pl23_sharpness"] = (plots.pl23_sharpness, r, ("PL23.sharpness",))
        elif name == "clip-helps":
            r = pl23.clip_helps(d=2000 if q else 5000, seed=seed)
            summaries[name] = r.summary()
            figs["pl23_clip_helps"] = (plots.pl23_clip_helps, r, ("PL23.clip-helps",))
        else:
            r = pl23.stable_step(q, seed=seed)
            summaries[name] = r.summary()
            arrays.update({"stable_step_fracs": r.fracs, "stable_step_measured": r.measured,
                           "stable_step_predicted": r.predicted})
            for k in ("deterministic", "noisy"):
                for f in ("steps", "gap", "threshold"):
                    arrays[f"trap_{k}_{f}"] = r.trap[k][f]
            figs["pl23_stable_step"] = (plots.pl23_stable_step, r, ("PL23.stable-step",))
    return summaries, arrays, figs


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


def _without_timing(obj):
    """``obj`` without its ``seconds`` entries: the files depend on the seed, not the clock."""
    if isinstance(obj, dict):
        return {k: _without_timing(v) for k, v in obj.items() if k != "seconds"}
    if isinstance(obj, (list, tuple)):
        return [_without_timing(v) for v in obj]
    return obj


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.out is None:
            args.out = Path(f"linsim-out/heavytail-{args.paper}")
        check_out(args.out)
        if args.paper == "z20":
            _check_work(_z20_settings(args))
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        with np.errstate(all="ignore"):
            summaries, arrays, figs = (run_z20 if args.paper == "z20" else run_pl23)(args)
    except ValueError as e:  # a study refused its settings: nothing has been written
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except (FloatingPointError, ArithmeticError) as e:
        print(f"{PROG}: numerical failure: {e}", file=sys.stderr)
        return 1
    doc = {"paper": args.paper.upper(), "studies": summaries, "seed": args.seed,
           "quick": args.quick, "seconds": time.perf_counter() - start,
           "versions": io.versions(),
           "command": " ".join([PROG, *(sys.argv[1:] if argv is None else argv)])}
    try:
        with deferred_signals():  # every output file, or none
            paths = [io.write_json(args.out / "summary.json", _without_timing(doc)),
                     io.write_npz(args.out / "arrays.npz", arrays)]
            if not args.no_plot:
                for fname, (builder, res, claims) in figs.items():
                    paths += io.save_figure(builder(res), args.out / fname, {
                        "claims": claims, "seed": args.seed, "quick": args.quick,
                        "versions": doc["versions"]})
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
