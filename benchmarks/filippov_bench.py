"""Cost of sign flow as a Filippov system against gradient flow, and the naive baseline.

Problem: the Y25 unigram model (``--classes 1000``, ``--zipf 1``) from ``theta = 0``. Target
(issue 5): sign flow to ``f - f* <= 1e-10`` costs at most 20x gradient flow to the same
tolerance. Measured in the same run, interleaved, medians of ``--repeats`` warm runs:

* gradient flow on the Runge-Kutta driver (RK45, rtol 1e-8, atol 1e-10: the CLI defaults)
  with a terminal event at ``f - f* = 1e-10`` -- the baseline;
* sign flow by event-driven sliding on the same driver, same method and tolerances, to the
  extinction time ``a log(c) / 2`` (just past the level); its events and steps;
* sign flow by implicit Euler (l_inf trust-region steps), time to the level by root finding;
* the naive explicit integrator of ``-sign(g)``: fixed-step Euler with ``h = 1e-2, 1e-3, 1e-4``
  (chattering amplitude after the minimizer is reached, max norm modulo shifts: about ``h``),
  and adaptive RK45, whose step collapses on the first sliding surface (the time it reaches
  with ``--explicit-steps`` steps).

Run by hand from the repository root (never a test)::

    python benchmarks/filippov_bench.py             # Markdown
    python benchmarks/filippov_bench.py --json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import numpy as np

import linsim
from linsim.experiments.y25 import extinction_time
from linsim.integrate import Events, IntegrationError, solve
from linsim.integrate.sliding import sign_flow
from linsim.problems.filippov import UnigramSign
from linsim.problems.softmax import UnigramModel, unigram_gap_event

LEVEL = 1e-10
RTOL, ATOL, METHOD = 1e-8, 1e-10, "RK45"


def run_gf(model: UnigramModel) -> dict:
    p = model.params("gradient", level=LEVEL)
    start = time.perf_counter()
    sol = solve(model.field, (0.0, 1e12), model.y0(), p, method=METHOD, rtol=RTOL, atol=ATOL,
                events=Events(unigram_gap_event, 1, -1.0, True))
    return {"seconds": time.perf_counter() - start, "time_to_level": sol.t_final,
            "steps": sol.naccepted, "rhs_evals": sol.nfev}


def run_sf(model: UnigramModel, method: str) -> dict:
    T = extinction_time(model) * (1 + 1e-6)
    kw = {"integrator": METHOD, "rtol": RTOL, "atol": ATOL} if method == "sliding" else {}
    start = time.perf_counter()
    r = sign_flow(UnigramSign(model), model.y0(), (0.0, T), method=method, level=LEVEL, **kw)
    return {"seconds": time.perf_counter() - start, "time_to_level": r.time_to_level,
            "steps": r.naccepted, "rhs_evals": r.nfev,
            **{k: r.stats[k] for k in ("events", "tr_solves")}}


def chattering(model: UnigramModel, steps=(1e-2, 1e-3, 1e-4)) -> list[dict]:
    prob = UnigramSign(model)
    T = 2.0 * extinction_time(model)
    x_star = model.minimizer()
    rows = []
    for h in steps:
        n = int(round(T / h))
        t = np.linspace(0.75 * T, T, 200)
        start = time.perf_counter()
        r = sign_flow(prob, model.y0(), (0.0, T), method="explicit", integrator="Euler",
                      step=h, t_eval=t, max_steps=n + 10)
        amp = max(prob.distance(x, x_star) for x in r.y)
        rows.append({"h": h, "steps": r.naccepted, "amplitude": amp,
                     "amplitude_over_h": amp / h, "seconds": time.perf_counter() - start})
    return rows


def adaptive_explicit(model: UnigramModel, max_steps: int) -> dict:
    start = time.perf_counter()
    try:
        r = sign_flow(UnigramSign(model), model.y0(), (0.0, 2 * extinction_time(model)),
                      method="explicit", integrator=METHOD, rtol=RTOL, atol=ATOL,
                      max_steps=max_steps)
        reached, failed = r.t_final, None
    except IntegrationError as e:
        reached, failed = e.t, e.reason
    return {"max_steps": max_steps, "t_reached": reached, "failed": failed,
            "t_needed": extinction_time(model), "seconds": time.perf_counter() - start}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--classes", type=int, default=1000)
    ap.add_argument("--zipf", type=float, default=1.0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--explicit-steps", type=int, default=200_000)
    ap.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    args = ap.parse_args(argv)
    model = UnigramModel(args.classes, args.zipf)
    small = UnigramModel(10, 1.0)
    for f in (run_gf, lambda m: run_sf(m, "sliding"), lambda m: run_sf(m, "implicit")):
        f(small)  # warm: resolve the compiled functions
    runs = {"gradient": [], "sliding": [], "implicit": []}
    for _ in range(max(args.repeats, 1)):  # interleaved: drifts in load hit all alike
        runs["gradient"].append(run_gf(model))
        runs["sliding"].append(run_sf(model, "sliding"))
        runs["implicit"].append(run_sf(model, "implicit"))
    med = {k: statistics.median(r["seconds"] for r in v) for k, v in runs.items()}
    res = {
        "meta": {"problem": f"unigram c={args.classes} a={args.zipf:g}, theta0 = 0",
                 "level": LEVEL, "method": METHOD, "rtol": RTOL, "atol": ATOL,
                 "repeats": args.repeats, "statistic": "median",
                 "linsim": linsim.__version__, "numpy": np.__version__,
                 "python": platform.python_version(), "machine": platform.machine()},
        "median_seconds": med,
        "ratio_sliding_over_gf": med["sliding"] / med["gradient"],
        "ratio_implicit_over_gf": med["implicit"] / med["gradient"],
        "target_ratio": 20.0,
        "first_run": {k: v[0] for k, v in runs.items()},
        "extinction_time_predicted": extinction_time(model),
        "explicit_euler": chattering(model),
        "explicit_adaptive": adaptive_explicit(model, args.explicit_steps),
    }
    if args.json:
        print(json.dumps(res, indent=2))
        return
    m = res["meta"]
    print(f"{m['problem']}; to f - f* <= {LEVEL:g}; {METHOD} rtol={RTOL:g} atol={ATOL:g}; "
          f"medians of {args.repeats} interleaved runs\n")
    print("| flow | seconds | x gradient flow | time to level | steps | rhs evals | events |")
    print("|---|---|---|---|---|---|---|")
    for k in ("gradient", "sliding", "implicit"):
        r = res["first_run"][k]
        print(f"| {k} | {med[k]:.4g} | {med[k] / med['gradient']:.2f} | "
              f"{r['time_to_level']:.10g} | {r['steps']} | {r['rhs_evals']} | "
              f"{r.get('events', '-')} |")
    ok = res["ratio_sliding_over_gf"] <= 20.0
    print(f"\ntarget: sign flow (sliding) <= 20x gradient flow: "
          f"{res['ratio_sliding_over_gf']:.2f}x -> {'met' if ok else 'MISSED'}")
    print(f"extinction time predicted a log(c)/2 = {res['extinction_time_predicted']:.10g}\n")
    print("naive explicit Euler of -sign(g): chattering amplitude (max norm modulo shifts)")
    print("| h | steps | amplitude | amplitude / h |")
    print("|---|---|---|---|")
    for r in res["explicit_euler"]:
        print(f"| {r['h']:g} | {r['steps']} | {r['amplitude']:.3g} | "
              f"{r['amplitude_over_h']:.3g} |")
    a = res["explicit_adaptive"]
    print(f"\nadaptive {METHOD} on -sign(g): {a['max_steps']} steps reach t = "
          f"{a['t_reached']:.4g} of {a['t_needed']:.4g} ({a['failed'] or 'finished'})")


if __name__ == "__main__":
    main()
