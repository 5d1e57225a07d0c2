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
   (the cost per step is constant: every step is products of fixed shape). Timed twice per
   repeat, interleaved: GD, momentum and normalized GD stepping their weights (``gram`` off,
   the code before issue 8's performance pass: two ``n x D x c`` products per model and step)
   and on their logits (``gram`` on, the default: one ``n x n x c`` product, see
   :func:`linsim.experiments.k24_linear.run_lockstep`).
4. **All optimizers stepped together** (issue 17 item 3): GD, sign descent and Adam of
   K24.experiment advance in lockstep with ``gram`` off, so every step is one product
   ``A [W_1 .. W_k]^T`` and one ``R^T A`` for all of them
   (:func:`linsim.experiments.k24_linear.run_lockstep`); its wall time against a bare loop of
   the same two products for the same number of steps, timed in the same run (interleaved
   repeats), target <= 1.5x. ``--part lockstep``.
3. **The Adam update** (:func:`linsim.optimizers.update`), ns per entry for n = 10^5 .. 10^6:
   the compiled branch-free rule against the rule it replaced (an ``if m != 0`` around the
   store, Python error model; kept verbatim below as :func:`_adam_before`), interleaved, with
   a check that both give the same bits.

Run by hand from the repository root (never a test)::

    python benchmarks/linear_bench.py                  # both parts, Markdown
    python benchmarks/linear_bench.py --steps 500      # part 2 on 500 steps, scaled
    python benchmarks/linear_bench.py --part grad --json
    python benchmarks/linear_bench.py --part update
    OPENBLAS_NUM_THREADS=1 python benchmarks/linear_bench.py --part experiment --steps 300

Pin it to two cores with ``taskset -c 0,1`` on a larger machine; the report states the BLAS
threads and the core count it saw.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

import numpy as np
from numba import njit

from linsim import io
from linsim import optimizers as opt
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


def experiment_time(m: int, steps: int, lrs: dict, dtype, repeats: int = 1,
                    variants: tuple = (False, True)) -> dict:
    """Wall time of every optimizer at its step size for ``steps`` steps (lockstep).

    Each repeat times every ``gram`` variant in turn (interleaved: load drifts hit both alike);
    medians over the repeats, scaled to 10,000 steps.
    """
    for gram in variants:  # warm-up (compilation, allocation)
        experiment(m, tuple(lrs), 2, lrs=lrs, dtype=dtype, gram=gram)
    times: dict = {g: [] for g in variants}
    cpu: dict = {g: [] for g in variants}
    loads: list = []
    res = {}
    for _ in range(repeats):
        for gram in variants:
            t0, c0 = time.perf_counter(), time.process_time()
            res[gram] = experiment(m, tuple(lrs), steps, lrs=lrs, dtype=dtype, gram=gram)
            times[gram].append(time.perf_counter() - t0)
            cpu[gram].append(time.process_time() - c0)
            loads.append(os.getloadavg()[0])
    rows = {}
    for gram in variants:
        sec = statistics.median(times[gram])
        scaled = sec * FULL_STEPS / steps
        crit = criterion(res[gram])
        rows["logits" if gram else "weights"] = {
            "gram": gram, "seconds": sec, "all_seconds": times[gram],
            # process CPU time: with OPENBLAS_NUM_THREADS=1 the work itself, whatever the load
            "cpu_seconds": statistics.median(cpu[gram]),
            "cpu_seconds_10k": statistics.median(cpu[gram]) * FULL_STEPS / steps,
            "seconds_per_step": sec / steps, "seconds_10k": scaled,
            "met": scaled <= TARGET_SECONDS,
            "rarest_over_log_c": crit["rarest_over_log_c"],
            "criterion_passed": crit["passed"],
            "final_loss": {n: tr.final_loss for n, tr in res[gram].chosen.items()}}
    return {"m": m, "steps": steps, "dtype": np.dtype(dtype).name, "lrs": lrs,
            "repeats": repeats, "target_seconds": TARGET_SECONDS, "load_avg_1min": loads,
            "variants": rows}


def lockstep_cost(m: int, steps: int, lrs: dict, repeats: int = 3) -> dict:
    """Median wall time of :func:`run_lockstep` (``gram`` off: one stacked product pair per
    step for every optimizer) against a bare loop of the same two products."""
    from linsim.experiments.k24_linear import run_lockstep

    model = LinearModel(heavy_tailed_labels(m))
    entries = [(n, SPECS[n].make(float(lr))) for n, lr in lrs.items()]
    k = len(entries)
    A = model.A
    rng = np.random.default_rng(0)
    W2 = rng.standard_normal((k * model.c, model.D)) * 0.01
    R = rng.random((model.n, k * model.c))
    G = np.empty((k * model.c, model.D))

    def bare():
        for _ in range(steps):
            np.matmul(A, W2.T)
            np.matmul(R.T, A, out=G)

    def run():
        run_lockstep(model, entries, steps, gram=False)

    run_lockstep(model, entries, 2, gram=False)
    bare()
    tr, tb = [], []
    for _ in range(repeats):
        tr.append(_time(run))
        tb.append(_time(bare))
    r, b = statistics.median(tr), statistics.median(tb)
    return {"m": m, "steps": steps, "optimizers": list(lrs), "lockstep_s": r, "bare_s": b,
            "ratio": r / b, "target": TARGET_RATIO, "met": r / b <= TARGET_RATIO,
            "all_lockstep_s": tr, "all_bare_s": tb}


@njit
def _adam_before(hyper, k, w, g, m, v):
    """The Adam branch of :func:`linsim.optimizers.update` as it was before issue 8's
    performance pass, verbatim (Python error model: a zero test before each division)."""
    n = w.size
    lr = hyper[0]
    b1 = hyper[1]
    b2 = hyper[2]
    eps = hyper[3]
    bc = hyper[4] != 0.0
    if k == 0 and hyper[5] != 0.0:
        for i in range(n):
            v[i] = g[i] * g[i]
    c1 = 1.0 - b1 ** (k + 1) if (bc and b1 < 1.0) else 1.0
    c2 = math.sqrt(1.0 - b2 ** (k + 1)) if (bc and b2 < 1.0) else 1.0
    for i in range(n):
        m[i] = b1 * m[i] + (1.0 - b1) * g[i]
        v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i]
        if m[i] != 0.0:
            w[i] -= lr * (m[i] / c1) / (math.sqrt(v[i]) / c2 + eps)


def update_cost(sizes=(10**5, 3 * 10**5, 10**6), repeats: int = 9, inner: int = 20) -> list:
    """ns per entry of one Adam step, before and after, interleaved; and a bit-identity check.

    The gradients have 10% zeros (entries with ``m = 0`` at the first step) and span six
    decades, as a real run's do.
    """
    o = opt.adam(1e-3, 0.9, 0.999)
    hyper = o.vector()
    rows = []
    for n in sizes:
        rng = np.random.default_rng(0)
        g = rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3, n)
        g[rng.random(n) < 0.1] = 0.0
        w0 = rng.standard_normal(n)
        off = np.array([0, n], dtype=np.int64)
        st = {"after": [w0.copy(), np.zeros(n), np.zeros(n)],
              "before": [w0.copy(), np.zeros(n), np.zeros(n)]}
        opt.update(opt.ADAM, hyper, 0, st["after"][0], g, st["after"][1], st["after"][2], off)
        _adam_before(hyper, 0, st["before"][0], g, st["before"][1], st["before"][2])
        same = all(np.array_equal(a.view(np.int64), b.view(np.int64))
                   for a, b in zip(st["after"], st["before"], strict=True))
        ts: dict = {"before": [], "after": []}
        k = 1
        for _ in range(repeats):
            for name in ("before", "after"):
                w, m, v = st[name]
                t0 = time.perf_counter()
                for j in range(inner):
                    if name == "after":
                        opt.update(opt.ADAM, hyper, k + j, w, g, m, v, off)
                    else:
                        _adam_before(hyper, k + j, w, g, m, v)
                ts[name].append((time.perf_counter() - t0) / inner / n * 1e9)
            k += inner
        same = same and all(np.array_equal(a.view(np.int64), b.view(np.int64))
                            for a, b in zip(st["after"], st["before"], strict=True))
        rows.append({"n": n, "before_ns": statistics.median(ts["before"]),
                     "after_ns": statistics.median(ts["after"]),
                     "speedup": statistics.median(ts["before"]) / statistics.median(ts["after"]),
                     "bit_identical": bool(same), "load_avg_1min": os.getloadavg()[0]})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=("grad", "experiment", "update", "lockstep", "all"),
                   default="all")
    p.add_argument("--lockstep-m", type=int, default=7, help="part 4: groups m (default 7)")
    p.add_argument("--steps", type=int, default=FULL_STEPS,
                   help="steps of part 2 (the time is scaled to 10,000)")
    p.add_argument("--repeats", type=int, default=15, help="repeats of parts 1 and 3")
    p.add_argument("--experiment-repeats", type=int, default=1,
                   help="repeats of part 2 (each times both variants)")
    p.add_argument("--variants", choices=("both", "weights", "logits"), default="both",
                   help="part 2: GD, momentum and normalized GD on their weights (before), on "
                        "their logits (after, the default of the experiment) or both")
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
        variants = {"both": (False, True), "weights": (False,), "logits": (True,)}
        out["experiment"] = experiment_time(7, args.steps, lrs,
                                            np.float32 if args.float32 else np.float64,
                                            args.experiment_repeats, variants[args.variants])
    if args.part in ("update", "all"):
        out["update"] = update_cost(repeats=args.repeats)
    if args.part in ("lockstep", "all"):
        steps = min(args.steps, 200)
        out["lockstep"] = lockstep_cost(args.lockstep_m, steps,
                                        {"gd": 0.01, "sign": 1e-4, "adam": 1e-3},
                                        max(1, min(args.repeats, 5)))
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
        print(f"\nm = 7 experiment, {len(e['lrs'])} optimizers in lockstep, {e['dtype']}, "
              f"{e['steps']} steps, median of {e['repeats']} (1-min load "
              f"{min(e['load_avg_1min']):.1f}..{max(e['load_avg_1min']):.1f}):")
        print("\n| GD, momentum, normalized GD | s | ms/step | 10,000 steps (s) | <= 300 s "
              "| CPU s, 10,000 steps |")
        print("|---|---|---|---|---|---|")
        for name, r in e["variants"].items():
            print(f"| on their {name} | {r['seconds']:.1f} | {1e3 * r['seconds_per_step']:.1f} "
                  f"| {r['seconds_10k']:.0f} | {r['met']} | {r['cpu_seconds_10k']:.0f} |")
        for name, r in e["variants"].items():
            print(f"rarest group / log c ({name}): " + ", ".join(
                f"{n} {v:.3g}" for n, v in r["rarest_over_log_c"].items()))
    if "lockstep" in out:
        r = out["lockstep"]
        print(f"\nGD, sign descent and Adam stepped together (m = {r['m']}, {r['steps']} "
              f"steps): lockstep {r['lockstep_s']:.2f} s, bare products {r['bare_s']:.2f} s, "
              f"ratio {r['ratio']:.2f} (target <= {r['target']}: {r['met']})")
    if "update" in out:
        print("\n| n | Adam before (ns/entry) | after (ns/entry) | speedup | same bits | load |")
        print("|---|---|---|---|---|---|")
        for r in out["update"]:
            print(f"| {r['n']:.0e} | {r['before_ns']:.2f} | {r['after_ns']:.2f} | "
                  f"{r['speedup']:.1f} | {r['bit_identical']} | {r['load_avg_1min']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
