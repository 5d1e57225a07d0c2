"""LM-size vocabularies for the K24 one-hot model: time, memory, full-vs-reduced agreement, figure.

Run by hand, never as a timed test::

    python benchmarks/lm_vocab.py scale                  # reduced mode, c = 50257 and 10^6
    python benchmarks/lm_vocab.py validate --classes 2047  # full against reduced mode
    python benchmarks/lm_vocab.py figure                 # figures/k24_c50257_groups.png/.pdf

``scale`` runs every (c, a, flow) in a fresh process and reports the integration time, the
time of the checks (closed forms, group means, rates), the wall time and the peak resident
memory of that process (``ru_maxrss``, which includes the interpreter, NumPy and Numba: about
``--baseline`` of it, printed first). ``validate`` integrates the same flows in the full mode
(all ``c^2`` weights) and in the reduced mode (the ``c`` margins of K24.decouple) and reports
the largest relative gap between their per-class losses. ``--json`` prints the records.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: Losses below this are not compared (the underflowing tail, as in linsim.experiments.k24).
FLOOR = 1e-250


def _rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def one(classes: int, zipf_a: float, flow: str, mode: str, t_max: float, points: int,
        rtol: float, atol: float, norm: str | None = None) -> dict:
    """Run one flow and time its parts (this process's peak memory included); ``norm``: the
    error norm (default: ``run_onehot``'s for the mode)."""
    start = time.perf_counter()
    from linsim.experiments.k24 import run_onehot
    from linsim.problems.softmax import OneHotModel

    base = _rss_mib()
    t0, c0 = time.perf_counter(), time.process_time()
    run = run_onehot(OneHotModel(classes, zipf_a, mode), (flow,), t_max=t_max, points=points,
                     rtol=rtol, atol=atol, norm=norm)
    t1, c1 = time.perf_counter(), time.process_time()
    rates = run.rates(flow)
    err = run.max_rel_err(flow)
    t2 = time.perf_counter()
    st = run.traces[flow].stats
    return {"classes": classes, "zipf": zipf_a, "flow": flow, "mode": mode, "t_max": t_max,
            "points": points, "rtol": rtol, "atol": atol, "norm": run.settings["norm"],
            "solve_s": st["seconds"], "run_onehot_s": t1 - t0, "run_onehot_cpu_s": c1 - c0,
            "rates_s": t2 - t1, "cpu_s": time.process_time(),
            "wall_s": time.perf_counter() - start, "steps": st["naccepted"],
            "rhs_evals": st["nfev"], "rate": rates[0]["name"],
            "measured": rates[0]["measured"], "predicted": rates[0]["predicted"],
            "max_rel_err": err, "final_loss": float(run.traces[flow].overall[-1]),
            "baseline_rss_mib": base, "peak_rss_mib": _rss_mib()}


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2e}"


def _child(argv: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{out.stderr}")
    return json.loads(out.stdout)


def scale(args) -> list[dict]:
    """Every (classes, zipf, flow) in its own process."""
    recs = []
    for c in args.classes:
        for a in args.zipf:
            for flow in args.flows:
                rec = _child(["one", "--classes", str(c), "--zipf", repr(a), "--flows", flow,
                              "--mode", args.mode, "--t-max", repr(args.t_max), "--points",
                              str(args.points), "--rtol", repr(args.rtol), "--atol",
                              repr(args.atol), *(["--norm", args.norm] if args.norm else [])])
                recs.append(rec)
                if not args.json:
                    print(f"c={c:>8} a={a:<5g} {flow:<10} solve {rec['solve_s']:7.2f} s "
                          f"(steps {rec['steps']:>4}, rhs {rec['rhs_evals']:>5})  checks "
                          f"{rec['run_onehot_s'] - rec['solve_s'] + rec['rates_s']:7.2f} s  "
                          f"wall {rec['wall_s']:7.2f} s (CPU {rec['cpu_s']:6.2f} s)  peak RSS "
                          f"{rec['peak_rss_mib']:7.0f} "
                          f"MiB (baseline {rec['baseline_rss_mib']:.0f})  {rec['rate']} "
                          f"{rec['measured']:.6g} (predicted {rec['predicted']:.6g})  "
                          f"max_rel_err {_fmt(rec['max_rel_err'])}",
                          flush=True)
    return recs


def compare(full, red, flow: str) -> dict:
    """Largest relative gaps between two runs' per-class and group losses, where both exceed
    :data:`FLOOR`."""
    a, b = full.traces[flow], red.traces[flow]
    m = (a.losses > FLOOR) & (b.losses > FLOOR)
    per_class = float(np.max(np.abs(a.losses[m] - b.losses[m]) / b.losses[m]))
    g = (a.groups > FLOOR) & (b.groups > FLOOR)
    groups = float(np.max(np.abs(a.groups[g] - b.groups[g]) / b.groups[g]))
    return {"per_class": per_class, "groups": groups, "compared": int(m.sum()),
            "values": int(m.size)}


def validate_one(classes: int, zipf_a: float, flow: str, t_max: float, points: int,
                 rtol: float, atol: float, method: str = "RK45") -> dict:
    """Full and reduced mode for one flow in this process; their gap, times and memory."""
    from linsim.experiments.k24 import run_onehot
    from linsim.problems.softmax import OneHotModel

    kw = dict(t_max=t_max, points=points, rtol=rtol, atol=atol, method=method)
    t0 = time.perf_counter()
    red = run_onehot(OneHotModel(classes, zipf_a, "reduced"), (flow,), **kw)
    base = _rss_mib()
    t1, c1 = time.perf_counter(), time.process_time()
    full = run_onehot(OneHotModel(classes, zipf_a, "full"), (flow,), **kw)
    t2, c2 = time.perf_counter(), time.process_time()
    gap = compare(full, red, flow)
    return {"classes": classes, "zipf": zipf_a, "flow": flow, "t_max": t_max, "points": points,
            "method": method, "rtol": rtol, "atol": atol, "gap_per_class": gap["per_class"],
            "gap_groups": gap["groups"], "compared": gap["compared"], "values": gap["values"],
            "reduced_s": t1 - t0, "full_s": t2 - t1, "full_cpu_s": c2 - c1,
            "full_solve_s": full.traces[flow].stats["seconds"],
            "full_steps": full.traces[flow].stats["naccepted"],
            "reduced_steps": red.traces[flow].stats["naccepted"],
            "full_max_rel_err": full.max_rel_err(flow),
            "reduced_max_rel_err": red.max_rel_err(flow),
            "rss_before_full_mib": base, "peak_rss_mib": _rss_mib()}


def validate(args) -> list[dict]:
    recs = []
    for c in args.classes:
        for a in args.zipf:
            for flow in args.flows:
                rec = _child(["validate-one", "--classes", str(c), "--zipf", repr(a),
                              "--flows", flow, "--t-max", repr(args.t_max), "--points",
                              str(args.points), "--rtol", repr(args.rtol), "--atol",
                              repr(args.atol), "--method", args.method])
                recs.append(rec)
                if not args.json:
                    print(f"c={c} a={a:g} {flow:<10} full vs reduced: per-class gap "
                          f"{rec['gap_per_class']:.2e}, group gap {rec['gap_groups']:.2e} "
                          f"({rec['compared']} of {rec['values']} values)  full "
                          f"{rec['full_s']:.1f} s (CPU {rec['full_cpu_s']:.1f} s, "
                          f"{rec['full_steps']} steps), reduced "
                          f"{rec['reduced_s']:.2f} s  peak RSS {rec['peak_rss_mib']:.0f} MiB "
                          f"(before the full run {rec['rss_before_full_mib']:.0f} MiB)",
                          flush=True)
    return recs


def figure(args) -> list[Path]:
    """The per-group curves at LM scale (reduced mode), saved under figures/."""
    from linsim import io
    from linsim.experiments.k24 import run_onehot
    from linsim.plotting.scale import lm_vocab_groups
    from linsim.problems.softmax import OneHotModel

    c, a = args.classes[0], args.zipf[0]
    run = run_onehot(OneHotModel(c, a, "reduced"), tuple(args.flows), t_max=args.t_max,
                     points=args.points, groups=args.groups, rtol=args.rtol, atol=args.atol)
    vocab = " (GPT-2's vocabulary)" if c == 50257 else ""
    fig = lm_vocab_groups(run, title=(
        f"K24 at LM scale: c = {c:,} classes{vocab}, Zipf a = {a:g}, reduced mode\n"
        f"gradient flow: a group waits until t ~ 1/pi (K24.gf-rate); sign flow: every group "
        f"falls like (c-1) e^(-2t) (K24.sf-closed-form)"))
    stem = Path(args.out) / f"k24_c{c}_groups"
    cmd = "python benchmarks/lm_vocab.py " + " ".join(sys.argv[1:])
    paths = io.save_figure(fig, stem, {"claims": ["K24.gf-rate", "K24.sf-closed-form"],
                                       "classes": c, "zipf": a, "mode": "reduced",
                                       "command": cmd, "versions": io.versions()})
    if not args.json:
        print("wrote " + ", ".join(str(p) for p in paths))
    return paths


def _floats(text: str) -> list[float]:
    return [float(s) for s in text.split(",")]


def _ints(text: str) -> list[int]:
    return [int(float(s)) for s in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=("scale", "validate", "figure", "one", "validate-one"))
    p.add_argument("--classes", type=_ints, default=None, help="comma list")
    p.add_argument("--zipf", type=_floats, default=None, help="comma list")
    p.add_argument("--flows", type=lambda s: s.split(","), default=None, help="comma list")
    p.add_argument("--mode", default="reduced")
    p.add_argument("--t-max", type=float, default=None)
    p.add_argument("--points", type=int, default=200)
    p.add_argument("--groups", type=int, default=5)
    p.add_argument("--method", default="RK45", help="validate: the integrator of both runs")
    p.add_argument("--rtol", type=float, default=1e-8)
    p.add_argument("--atol", type=float, default=1e-10)
    p.add_argument("--out", default=str(ROOT / "figures"))
    p.add_argument("--norm", choices=("rms", "max"), default=None,
                   help="error norm of the step-size control (default: run_onehot's per mode)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    defaults = {
        "scale": ([50257, 1_000_000], [1.0, 1.05, 1.1], ["gradient", "sign"], 1e5),
        "one": ([50257], [1.05], ["gradient"], 1e5),
        "validate": ([2047], [1.05], ["gradient", "sign", "normalized"], 1e4),
        "validate-one": ([2047], [1.05], ["gradient"], 1e4),
        "figure": ([50257], [1.05], ["gradient", "sign"], 1e8),
    }[args.what]
    args.classes = args.classes or defaults[0]
    args.zipf = args.zipf or defaults[1]
    args.flows = args.flows or defaults[2]
    args.t_max = args.t_max if args.t_max is not None else defaults[3]
    if args.what == "one":
        print(json.dumps(one(args.classes[0], args.zipf[0], args.flows[0], args.mode,
                             args.t_max, args.points, args.rtol, args.atol, args.norm)))
        return 0
    if args.what == "validate-one":
        print(json.dumps(validate_one(args.classes[0], args.zipf[0], args.flows[0],
                                      args.t_max, args.points, args.rtol, args.atol,
                                      args.method)))
        return 0
    if args.what == "figure":
        figure(args)
        return 0
    recs = scale(args) if args.what == "scale" else validate(args)
    if args.json:
        print(json.dumps(recs, indent=2, allow_nan=True))
    return 0 if all(math.isfinite(r.get("wall_s", r.get("full_s", 0.0))) for r in recs) else 1


if __name__ == "__main__":
    sys.exit(main())
