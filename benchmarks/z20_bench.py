"""Time one Z20 rate fit: linsim's Numba kernel against a plain NumPy baseline.

The workload is the fit behind Z20.clip-strongly-convex: GClip on ``f = x^2/2`` with
symmetric alpha-stable noise (Chambers-Mallows-Stuck), ``eta_k = 4/(k+1)``,
``tau_k = k^(1/alpha)``, ``--runs`` runs x ``--steps`` steps (default 2000 x 3e4, the
target's size), 60 log-spaced checkpoints, then the slope of ``log E f`` over the last 1.5
decades with a 1000-resample bootstrap over runs. Both implementations feed the same fit
(:func:`linsim.experiments.z20.bootstrap_slope`), so only the simulation differs:

* linsim: :func:`linsim.stochastic.simulate` (one compiled loop over runs and steps, one
  thread, the noise transform vectorized in blocks);
* NumPy: the same recursion vectorized over runs, one step at a time, noise from
  ``numpy.random.Generator`` through the same CMS formula.

The JIT (and the disk cache) is warmed up before timing. Medians of ``--repeats`` runs of each,
wall-clock and CPU time (CPU time is what a loaded shared machine does not distort).

Target (issue 9): each Z20 rate fit uses at least 2000 runs x 3e4 steps and finishes in under
30 s on 2 cores. Run by hand from the repository root::

    python benchmarks/z20_bench.py                 # Markdown table
    python benchmarks/z20_bench.py --json          # the same numbers as JSON
    python benchmarks/z20_bench.py --repeats 1 --steps 10000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numba
import numpy as np

import linsim
from linsim.experiments.z20 import bootstrap_slope, strongly_convex_exponent
from linsim.stochastic import Method, Schedule, Separable, checkpoints, simulate

TARGET_SECONDS = 30.0


def fit_linsim(alpha: float, runs: int, steps: int, seed: int):
    prob = Separable([1.0], [1.0], "stable", alpha, 1.0)
    m = Method("gclip", Schedule(4.0, -1.0, 1.0), Schedule(1.0, 1.0 / alpha))
    st = simulate(prob, [m], runs, steps, seed=seed, points=60)
    return bootstrap_slope(st.steps, st.gap[0], steps / 30, steps, 1000, seed)


def fit_numpy(alpha: float, runs: int, steps: int, seed: int):
    rng = np.random.default_rng(seed)
    ck = checkpoints(steps, 60)
    rec = np.empty((runs, ck.size))
    x = np.ones(runs)
    a = alpha
    j = 0
    for k in range(1, steps + 1):
        v = np.pi * (rng.random(runs) - 0.5)
        w = -np.log(rng.random(runs))
        xi = np.sin(a * v) / np.cos(v) ** (1 / a) * (np.cos((1 - a) * v) / w) ** ((1 - a) / a)
        g = np.clip(x + xi, -(k ** (1 / a)), k ** (1 / a))  # GClip in 1-D
        x -= 4.0 / (k + 1) * g
        if k == ck[j]:
            rec[:, j] = x * x / 2
            j += 1
    return bootstrap_slope(ck, rec, steps / 30, steps, 1000, seed)


def timed(fn, *args):
    w, c = time.perf_counter(), time.process_time()
    fit = fn(*args)
    return time.perf_counter() - w, time.process_time() - c, fit


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--alpha", type=float, default=1.5)
    p.add_argument("--runs", type=int, default=2000)
    p.add_argument("--steps", type=int, default=30_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--skip-numpy", action="store_true", help="time linsim only")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    fit_linsim(args.alpha, 64, 100, 0)  # compile or load the cache
    rows = {}
    impls = [("linsim (Numba)", fit_linsim)] + ([] if args.skip_numpy else
                                               [("NumPy baseline", fit_numpy)])
    for name, fn in impls:
        walls, cpus, fits = [], [], []
        for r in range(args.repeats):
            w, c, fit = timed(fn, args.alpha, args.runs, args.steps, r)
            walls.append(w)
            cpus.append(c)
            fits.append(fit.value)
        rows[name] = {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus),
                      "walls": walls, "cpus": cpus, "slopes": fits}
    out = {
        "workload": f"GClip, alpha = {args.alpha}, {args.runs} runs x {args.steps} steps, "
                    "60 checkpoints, bootstrap slope (1000 resamples)",
        "predicted_slope": -strongly_convex_exponent(args.alpha),
        "results": rows,
        "target_s": TARGET_SECONDS,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "versions": {"linsim": linsim.__version__, "numpy": np.__version__,
                     "numba": numba.__version__, "python": platform.python_version()},
    }
    if "NumPy baseline" in rows:
        out["speedup_wall"] = rows["NumPy baseline"]["wall_s"] / rows["linsim (Numba)"]["wall_s"]
        out["speedup_cpu"] = rows["NumPy baseline"]["cpu_s"] / rows["linsim (Numba)"]["cpu_s"]
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"Z20 rate fit: {out['workload']}; predicted slope {out['predicted_slope']:.4f}")
    print(f"{os.cpu_count()} CPUs, load average {out['load_average'][0]:.2f}; medians of "
          f"{args.repeats}\n")
    print("| implementation | wall (s) | CPU (s) | fitted slopes |")
    print("|---|---:|---:|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | "
              f"{', '.join(f'{s:.4f}' for s in r['slopes'])} |")
    if "speedup_wall" in out:
        print(f"\nspeed-up over NumPy: {out['speedup_wall']:.1f}x wall, "
              f"{out['speedup_cpu']:.1f}x CPU")
    ok = rows["linsim (Numba)"]["wall_s"] < TARGET_SECONDS
    print(f"target: under {TARGET_SECONDS:g} s per fit: "
          f"{'met' if ok else 'MISSED'} ({rows['linsim (Numba)']['wall_s']:.1f} s wall)")


if __name__ == "__main__":
    main()
