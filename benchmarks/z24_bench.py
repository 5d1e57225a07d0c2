"""Z24 timings: the full Z24.cases table, and linsim against plain NumPy/SciPy baselines.

1. **The full table** (``linsim.experiments.z24.cases_table()``: Cases 1-4, seeds 0-4, all nine
   methods with their step-size/momentum/decay sweeps): wall-clock and CPU time, median of
   ``--repeats`` runs. Target (issue 6): under 60 s on 2 cores.
2. **Optimizer loop vs NumPy**: the same pruned GD and Adam(0,1) step-size sweeps on Case 3
   (seed 0, ``slack = 0``), once with linsim's compiled driver and once with a plain NumPy
   loop (``H @ (w - w*)`` per step, identical stopping rules); both must return the same
   best iteration counts.
3. **Gradient flow vs SciPy**: ``linsim.integrate.solve`` (DOP853, rtol 1e-12) against
   ``scipy.integrate.solve_ivp`` (DOP853, same tolerances, ``jac``-free) on Case 3 to t = 10.

The JIT caches are warmed before any timing. Run by hand from the repository root::

    python benchmarks/z24_bench.py               # Markdown tables
    python benchmarks/z24_bench.py --json        # the same numbers as JSON
    python benchmarks/z24_bench.py --repeats 1   # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np
import scipy
from scipy.integrate import solve_ivp

import linsim
from linsim import optimizers as opt
from linsim.experiments import z24 as E
from linsim.integrate import solve
from linsim.problems import quadratic as quad


def _timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def bench_table(repeats: int) -> dict:
    E.cases_table(cases=(3,), seeds=(0,))  # warm every kernel
    walls, cpus, res = [], [], None
    for _ in range(repeats):
        w, c, res = _timed(E.cases_table)
        walls.append(w)
        cpus.append(c)
    sweeps = len(res.cases) * len(res.seeds) * len(res.methods)
    return {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus),
            "walls": walls, "cpus": cpus, "sweeps": sweeps, "target_s": 60.0,
            "load_avg_1min": os.getloadavg()[0]}


def _numpy_run(p, o: opt.Optimizer, max_iter: int, tol: float, blowup: float = 1e8):
    """GD or Adam(0,1) in plain NumPy with the stopping rules of linsim.optimizers.run."""
    H, ws, w = p.H, p.w_star, p.w0.copy()
    e = w - ws
    g = H @ e
    gap0 = 0.5 * e @ g
    d = np.abs(g)
    for k in range(max_iter):
        w = w - (o.lr * g if o.code == opt.GD else o.lr * g / d)
        e = w - ws
        g = H @ e
        gap = 0.5 * e @ g
        if gap <= tol * gap0:
            return k + 1
        if not gap <= blowup * gap0:
            return None
    return None


def _numpy_sweep(p, template, lrs, tol=1e-6, max_iter=100_000):
    best = None
    for lr in lrs:
        cap = max_iter if best is None else best - 1
        it = _numpy_run(p, template.with_lr(lr), cap, tol)
        if it is not None and (best is None or it < best):
            best = it
    return best


def bench_loop(repeats: int) -> list[dict]:
    p = quad.case3(0)
    lrs = opt.lr_grid(1e-7, 10.0, 4)[::-1]
    rows = []
    for name, template in (("gd", opt.gd(1.0)), ("adam01", opt.adam01(1.0))):
        opt.sweep(p, (template.with_lr(x) for x in lrs[:3]))  # warm
        ours, base = [], []
        for _ in range(repeats):
            ours.append(_timed(lambda t=template: opt.sweep(p, (t.with_lr(x) for x in lrs))))
            base.append(_timed(lambda t=template: _numpy_sweep(p, t, lrs)))
        it_ours = ours[0][2].iterations
        it_base = base[0][2]
        steps = sum(it for _, _, it in ours[0][2].trials)
        t_ours = statistics.median(r[0] for r in ours)
        t_base = statistics.median(r[0] for r in base)
        rows.append({"method": name, "linsim_s": t_ours, "numpy_s": t_base,
                     "speedup": t_base / t_ours, "best_iterations": it_ours,
                     "numpy_best_iterations": it_base, "same_result": it_ours == it_base,
                     "total_steps": steps, "ns_per_step_linsim": 1e9 * t_ours / steps})
    return rows


def bench_gf(repeats: int) -> dict:
    p = quad.case3(0)
    t_eval = np.logspace(-5, 1, 200)
    prm = p.params("gradient")
    H, h = p.H, p.h

    def ours():
        return solve(quad.quadratic_field, (0.0, 10.0), p.w0, prm, method="DOP853", rtol=1e-12,
                     atol=1e-14, t_eval=t_eval, output=quad.quadratic_gaps, n_output=4)

    def theirs():
        return solve_ivp(lambda t, w: h - H @ w, (0.0, 10.0), p.w0, method="DOP853",
                         rtol=1e-12, atol=1e-14, t_eval=t_eval)

    ours()
    a = [_timed(ours) for _ in range(repeats)]
    b = [_timed(theirs) for _ in range(repeats)]
    sol, ref = a[0][2], b[0][2]
    closed = p.gf_gap(t_eval)
    err_ours = float(np.max(np.abs(sol.y[:, 0] - closed) / closed))
    gaps_ref = np.array([p.gap(w) for w in ref.y.T])
    err_ref = float(np.max(np.abs(gaps_ref - closed) / closed))
    t_ours = statistics.median(r[0] for r in a)
    t_ref = statistics.median(r[0] for r in b)
    return {"linsim_s": t_ours, "scipy_s": t_ref, "speedup": t_ref / t_ours,
            "linsim_steps": sol.naccepted, "scipy_nfev": int(ref.nfev),
            "linsim_max_rel_err": err_ours, "scipy_max_rel_err": err_ref}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out = {
        "machine": {"python": platform.python_version(), "numpy": np.__version__,
                    "scipy": scipy.__version__, "linsim": linsim.__version__,
                    "cpus": os.cpu_count()},
        "table": bench_table(args.repeats),
        "loop": bench_loop(args.repeats),
        "gf": bench_gf(args.repeats),
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return
    t = out["table"]
    print(f"## Z24.cases full table ({t['sweeps']} sweeps, median of {args.repeats})\n")
    print("| wall s | CPU s | target s | load avg (1 min) |\n|---|---|---|---|")
    print(f"| {t['wall_s']:.1f} | {t['cpu_s']:.1f} | {t['target_s']:.0f} | "
          f"{t['load_avg_1min']:.1f} |\n")
    print("## Step-size sweep on Case 3: compiled driver vs plain NumPy loop\n")
    print("| method | linsim s | NumPy s | speedup | best iterations (both) | steps | ns/step |")
    print("|---|---|---|---|---|---|---|")
    for r in out["loop"]:
        print(f"| {r['method']} | {r['linsim_s']:.3f} | {r['numpy_s']:.3f} | "
              f"{r['speedup']:.1f}x | {r['best_iterations']} / {r['numpy_best_iterations']} | "
              f"{r['total_steps']} | {r['ns_per_step_linsim']:.0f} |")
    g = out["gf"]
    print("\n## Gradient flow on Case 3 (DOP853, rtol 1e-12, t = 10)\n")
    print("| linsim s | SciPy s | speedup | linsim steps | max rel err linsim | SciPy |")
    print("|---|---|---|---|---|---|")
    print(f"| {g['linsim_s']:.3f} | {g['scipy_s']:.3f} | {g['speedup']:.1f}x | "
          f"{g['linsim_steps']} | {g['linsim_max_rel_err']:.1e} | "
          f"{g['scipy_max_rel_err']:.1e} |")


if __name__ == "__main__":
    main()
