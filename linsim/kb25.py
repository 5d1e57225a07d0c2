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

Exit codes: 0 success, 2 invalid input.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from . import io
from .cli import Parser, UsageError, names

PROG = "python -m linsim.kb25"
METHODS = ("gd", "sign", "halving")
D_MAX = 10**9


def _floats(option: str, lo: float, hi: float, lo_open: bool = True):
    def parse(text: str) -> tuple[float, ...]:
        try:
            vals = tuple(float(s) for s in text.split(","))
        except ValueError:
            vals = ()
        ok = vals and all(math.isfinite(v) and (v > lo if lo_open else v >= lo) and v <= hi
                          for v in vals)
        if not ok:
            br = "(" if lo_open else "["
            raise argparse.ArgumentTypeError(f"{option} must be a comma list of numbers in "
                                             f"{br}{lo:g}, {hi:g}], got {text!r}")
        return tuple(dict.fromkeys(vals))

    return parse


def _drange(text: str) -> tuple[int, int]:
    msg = f"--d must be LO:HI with integers 2 <= LO < HI <= {D_MAX:.0e}, got {text!r}"
    try:
        lo, hi = (float(s) for s in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(msg) from None
    if not (math.isfinite(lo) and math.isfinite(hi) and 2 <= lo < hi <= D_MAX):
        raise argparse.ArgumentTypeError(msg)
    return int(lo), int(hi)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used for ``--help``)."""
    p = Parser(prog=PROG, description="Iterations to relative error eps of GD and sign "
                                      "descent on the KB25 linear bigram model against the "
                                      "vocabulary size d (claims KB25.*).",
               epilog="Example: python -m linsim.kb25 --alpha 0.5,1,1.5 --d 1e2:1e7 "
                      "--eps 0.1,0.01")
    p.add_argument("--alpha", type=_floats("--alpha", 0.0, 10.0), default=(0.5, 1.0, 1.5),
                   help="comma list of Zipf exponents in (0, 10] (default 0.5,1,1.5)")
    p.add_argument("--d", type=_drange, default=(100, 10**7), metavar="LO:HI",
                   help="vocabulary sizes, log-spaced from LO to HI (default 1e2:1e7)")
    p.add_argument("--per-decade", type=int, default=2, metavar="N",
                   help="sizes per decade of d, 1..20 (default 2)")
    p.add_argument("--eps", type=_floats("--eps", 0.0, 1.0), default=(0.1, 0.01),
                   help="comma list of target relative errors in (0, 1) (default 0.1,0.01)")
    p.add_argument("--methods", type=names("--methods", METHODS), default=("gd", "sign"),
                   help="comma list of gd, sign (constant step tuned to the horizon, mean of "
                        "the last two iterates), halving (default gd,sign)")
    p.add_argument("--frequencies", default=None, metavar="PATH|wordfreq:LANG",
                   help="real class frequencies (a .csv/.tsv with a count column, a .npy of "
                        "counts, or wordfreq:LANG): GD on the top-d marginals beside their "
                        "Zipf fit; --alpha is then ignored")
    p.add_argument("--fit-ranks", default=None, metavar="A:B",
                   help="ranks of the maximum-likelihood Zipf fit (default 1:HI)")
    p.add_argument("--out", type=Path, default=Path("linsim-out/kb25"), metavar="DIR",
                   help="output folder (default linsim-out/kb25)")
    p.add_argument("--json", action="store_true", help="print the summary JSON on stdout")
    p.add_argument("--no-plot", action="store_true", help="do not write the figure")
    return p


def check_args(args) -> None:
    """Cross-option checks; raise :class:`UsageError` with one line."""
    if not 1 <= args.per_decade <= 20:
        raise UsageError(f"--per-decade must be an integer in [1, 20], got {args.per_decade}")
    if any(e >= 1 for e in args.eps):
        raise UsageError(f"--eps must be in (0, 1), got {max(args.eps):g}")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out must be a folder, got the file {str(args.out)!r}")
    args.fit = None
    if args.fit_ranks is not None:
        from .problems.frequencies import parse_ranks

        try:
            args.fit = parse_ranks(args.fit_ranks)
        except ValueError as e:
            raise UsageError(str(e)) from None
    args.freq = None
    if args.frequencies is not None:
        from .problems.frequencies import FrequencyError, load_frequencies

        try:
            args.freq = load_frequencies(args.frequencies)
        except FrequencyError as e:
            raise UsageError(str(e)) from None
        if args.fit is not None and args.fit[1] > args.freq.size:
            raise UsageError(f"--fit-ranks must end at most at {args.freq.size} (the classes "
                             f"of --frequencies), got {args.fit_ranks!r}")


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


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        check_args(args)
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    from .experiments import kb25 as K

    start = time.perf_counter()
    lo, hi = args.d
    summary = {"command": " ".join([PROG, *(sys.argv[1:] if argv is None else argv)]),
               "versions": io.versions(), "eps": list(args.eps)}
    paths = []
    if args.freq is not None:
        res = K.real_curve(args.freq, hi, args.eps, args.fit, args.per_decade)
        summary["real"] = {k: v for k, v in res.items() if k != "frequencies"}
        text = [f"{args.freq.source}: {args.freq.size} classes; Zipf exponent by maximum "
                f"likelihood over ranks {res['fit']['ranks'][0]}-{res['fit']['ranks'][1]}: "
                f"alpha = {res['fit']['alpha']:.4f}"
                + (f" +- {res['fit']['stderr']:.2g}" if res["fit"]["stderr"] else ""),
                "GD (step 1/pi_1) iterations to eps on the top-d classes (real | Zipf fit):"]
        for eps in args.eps:
            text.append(f"  eps = {eps:g}")
            for d, a, b in zip(res["d"], res["real"][eps], res["zipf_fit"][eps], strict=True):
                text.append(f"{d:>12} {math.ceil(a):>12} {math.ceil(b):>12}")
        if not args.no_plot:
            from .plotting.kb25 import kb25_real

            paths += io.save_figure(kb25_real(res), args.out / "kb25_real",
                                    {"claims": ["KB25.reduce"], "source": args.freq.source})
        table = "\n".join(text)
    else:
        ds = K.d_grid(lo, hi, args.per_decade)
        rows = K.scan(args.alpha, ds, args.eps, methods=args.methods)
        summary["rows"] = rows
        table = _table(rows)
        if not args.no_plot:
            from .plotting.kb25 import kb25_scaling

            paths += io.save_figure(kb25_scaling(rows), args.out / "kb25_scaling",
                                    {"claims": ["KB25.gd-zipf", "KB25.gd-regimes",
                                                "KB25.sd-sqrt", "KB25.crossover"]})
    summary["seconds"] = time.perf_counter() - start
    paths.insert(0, io.write_json(args.out / "summary.json", summary))
    if args.json:
        sys.stdout.write(io.dumps(summary))
    else:
        print(table)
        print("")
        print(f"{summary['seconds']:.1f} s; wrote " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
