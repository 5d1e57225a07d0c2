"""Benchmark of the K24 general linear model (issue: K24.experiment's performance targets).

Targets:

1. **Gradient cost**: one full-batch loss and gradient
   (:meth:`linsim.problems.linear.LinearModel.loss_grad`) within 1.5x of two BLAS products of
   the same shapes (``A W^T``: n x D times D x c, and ``R^T A``: c x n times n x D), on the
   heavy-tailed-labels set at m = 5, 6, 7 (one model and a lockstep stack of six), float64
   and float32. Interleaved medians: the machine is shared.
2. **The m = 7 experiment**: every optimizer (GD, momentum, Adam beta1 = 0 and 0.9, sign
   descent, normalized GD) at its chosen step size for 10,000 steps
   (:func:`linsim.experiments.k24_linear.experiment` with the step sizes of
   :data:`~linsim.experiments.k24_linear.TUNED`, or ``--lr``), under 5 minutes on 2 cores.
   ``--steps`` shorter than 10,000 times that many steps and scales the time to 10,000
   (the cost per step is constant: every step is two products of fixed shape).

Run by hand from the repository root (never a test)::

    python benchmarks/linear_bench.py                  # both parts, Markdown
    python benchmarks/linear_bench.py --steps 500      # part 2 on 500 steps, scaled
    python benchmarks/linear_bench.py --part grad --json

Pin it to two cores with ``taskset -c 0,1`` on a larger machine; the report states the BLAS
threads and the core count it saw.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

from linsim import io
from linsim.experiments.k24_linear import SPECS, TUNED, criterion, experiment
from linsim.problems.linear import LinearModel, heavy_tailed_labels

TARGET_RATIO = 1.5
TARGET_SECONDS = 300.0
FULL_STEPS = 10_000


def _time(f) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def grad_cost(m: int, k: int, dtype, repeats: int) -> dict:
    """Median time of ``loss_grad`` on a stack of ``k`` models against the two products alone."""
    model = LinearModel(heavy_tailed_labels(m, dtype=dtype))
    rng = np.random.default_rng(0)
    W = rng.standard_normal((k, *model.shape)) * 0.01
    G = np.empty_like(W)
    A = model.A
    W2 = W.reshape(k * model.c, model.D).astype(dtype)
    R = rng.random((model.n, k * model.c)).astype(dtype)

    def products():
        A @ W2.T
        R.T @ A

    def grad():
        model.loss_grad(W, G)

    grad()
    products()
    tg, tp = [], []
    for _ in range(repeats):  # interleaved: load drifts hit both alike
        tg.append(_time(grad))
        tp.append(_time(products))
    g, p = statistics.median(tg), statistics.median(tp)
    flops = 4.0 * model.n * model.D * model.c * k
    return {"m": m, "models": k, "dtype": np.dtype(dtype).name, "n": model.n, "D": model.D,
            "c": model.c, "grad_ms": 1e3 * g, "products_ms": 1e3 * p, "ratio": g / p,
            "gflops_products": flops / p / 1e9, "target": TARGET_RATIO,
            "met": g / p <= TARGET_RATIO}


def experiment_time(m: int, steps: int, lrs: dict, dtype) -> dict:
    """Wall time of every optimizer at its step size for ``steps`` steps (lockstep)."""
    experiment(m, tuple(lrs), 2, lrs=lrs, dtype=dtype)  # warm-up (compilation, allocation)
    t0 = time.perf_counter()
    res = experiment(m, tuple(lrs), steps, lrs=lrs, dtype=dtype)
    sec = time.perf_counter() - t0
    scaled = sec * FULL_STEPS / steps
    crit = criterion(res)
    return {"m": m, "steps": steps, "dtype": np.dtype(dtype).name, "lrs": lrs,
            "seconds": sec, "seconds_per_step": sec / steps, "seconds_10k": scaled,
            "target_seconds": TARGET_SECONDS, "met": scaled <= TARGET_SECONDS,
            "rarest_over_log_c": crit["rarest_over_log_c"], "criterion_passed": crit["passed"],
            "final_loss": {n: tr.final_loss for n, tr in res.chosen.items()}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=("grad", "experiment", "all"), default="all")
    p.add_argument("--steps", type=int, default=FULL_STEPS,
                   help="steps of part 2 (the time is scaled to 10,000)")
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--lr", default=None, help="name=value,... (default: TUNED[7])")
    p.add_argument("--float32", action="store_true", help="part 2 in float32")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    env = {"cores_visible": len(os.sched_getaffinity(0)), "cpu_count": os.cpu_count(),
           "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
           "machine": platform.processor() or platform.machine(),
           "load_avg": os.getloadavg(), "versions": io.versions()}
    out: dict = {"env": env}
    if args.part in ("grad", "all"):
        out["grad"] = [grad_cost(m, k, dt, args.repeats) for dt in (np.float64, np.float32)
                       for m in (5, 6, 7) for k in (1, 6)]
    if args.part in ("experiment", "all"):
        if args.lr:
            lrs = {k: float(v) for k, v in (s.split("=") for s in args.lr.split(","))}
        elif 7 in TUNED:
            lrs = dict(TUNED[7]["lrs"])
        else:
            print("no TUNED[7] table: pass --lr", file=sys.stderr)
            return 2
        lrs = {n: lrs[n] for n in SPECS if n in lrs}
        out["experiment"] = experiment_time(7, args.steps, lrs,
                                            np.float32 if args.float32 else np.float64)
    if args.json:
        sys.stdout.write(json.dumps(io.to_jsonable(out), indent=2) + "\n")
        return 0
    print(f"cores visible {env['cores_visible']} of {env['cpu_count']}, OPENBLAS_NUM_THREADS="
          f"{env['OPENBLAS_NUM_THREADS']}, load {env['load_avg'][0]:.1f}")
    if "grad" in out:
        print("\n| m | models | dtype | n x D x c | loss+grad (ms) | two products (ms) | ratio "
              "| GFLOP/s | <= 1.5 |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in out["grad"]:
            print(f"| {r['m']} | {r['models']} | {r['dtype']} | {r['n']} x {r['D']} x "
                  f"{r['c']} | {r['grad_ms']:.2f} | {r['products_ms']:.2f} | "
                  f"{r['ratio']:.3f} | {r['gflops_products']:.1f} | {r['met']} |")
    if "experiment" in out:
        e = out["experiment"]
        print(f"\nm = 7 experiment, {len(e['lrs'])} optimizers in lockstep, {e['dtype']}: "
              f"{e['steps']} steps in {e['seconds']:.1f} s ({1e3 * e['seconds_per_step']:.1f} "
              f"ms/step); 10,000 steps: {e['seconds_10k']:.0f} s (target "
              f"{e['target_seconds']:.0f} s: {'met' if e['met'] else 'missed'})")
        print("rarest group / log c: " + ", ".join(
            f"{n} {v:.3g}" for n, v in e["rarest_over_log_c"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
