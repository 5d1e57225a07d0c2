"""Time :func:`linsim.integrate.solve` (RK45) against ``scipy.integrate.solve_ivp(method="RK45")``.

Problem: ``y' = -k * y`` with per-component rates ``k`` spread log-uniformly over one decade
(0.1 .. 1), ``y(0) = 1``, ``t`` in ``[0, 10]``, ``rtol = 1e-6``, ``atol = 1e-9``, at
``n = 10, 10^3, 10^6`` states, both integrators in the same run. The JIT (and the disk cache) is
warmed up before any timing. Medians of ``--repeats`` runs (3 for ``n = 10^6``).

Run by hand from the repository root::

    python benchmarks/integrate_bench.py            # Markdown table
    python benchmarks/integrate_bench.py --json     # the same numbers as JSON
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import numpy as np
import scipy
from scipy.integrate import solve_ivp

import linsim
from linsim.integrate import solve, vector_field

T_SPAN = (0.0, 10.0)
RTOL, ATOL = 1e-6, 1e-9


@vector_field
def decay_rates(t, y, p, dy):
    """dy_i = -p_i y_i."""
    for i in range(y.size):
        dy[i] = -p[i] * y[i]


def rates(n: int) -> np.ndarray:
    return np.logspace(-1.0, 0.0, n)


def run_linsim(k: np.ndarray):
    start = time.perf_counter()
    sol = solve(decay_rates, T_SPAN, np.ones(k.size), k, method="RK45", rtol=RTOL, atol=ATOL)
    return time.perf_counter() - start, sol.y_final, sol.naccepted, sol.nrejected, sol.nfev


def run_scipy(k: np.ndarray):
    def f(t, y):
        return -k * y

    start = time.perf_counter()
    res = solve_ivp(f, T_SPAN, np.ones(k.size), method="RK45", rtol=RTOL, atol=ATOL)
    seconds = time.perf_counter() - start
    assert res.success, res.message
    return seconds, res.y[:, -1], len(res.t) - 1, res.nfev


def bench(n: int, repeats: int) -> dict:
    k = rates(n)
    ours, theirs = [], []
    for _ in range(repeats):  # interleaved, so that drifts in machine load hit both alike
        ours.append(run_linsim(k))
        theirs.append(run_scipy(k))
    t_ours = statistics.median(r[0] for r in ours)
    t_scipy = statistics.median(r[0] for r in theirs)
    _, y_ours, acc, rej, nfev = ours[0]
    _, y_scipy, sp_steps, sp_nfev = theirs[0]
    exact = np.exp(-k * T_SPAN[1])
    scale = ATOL + RTOL * exact
    return {
        "n": n,
        "repeats": repeats,
        "linsim_s": t_ours,
        "scipy_s": t_scipy,
        "speedup": t_scipy / t_ours,
        "linsim_steps": acc,
        "linsim_rejected": rej,
        "linsim_nfev": nfev,
        "scipy_steps": sp_steps,
        "scipy_nfev": sp_nfev,
        "linsim_err_over_tol": float(np.max(np.abs(y_ours - exact) / scale)),
        "scipy_err_over_tol": float(np.max(np.abs(y_scipy - exact) / scale)),
    }


def _fmt_s(x: float) -> str:
    return f"{x * 1e3:.3g} ms" if x < 1 else f"{x:.3g} s"


def markdown(rows: list[dict]) -> str:
    head = ("| n | linsim RK45 | SciPy RK45 | speed-up | steps (linsim / SciPy) "
            "| nfev (linsim / SciPy) | max err / tol (linsim / SciPy) |")
    lines = [head, "|" + "---|" * 7]
    for r in rows:
        lines.append(
            f"| {r['n']:.0e} | {_fmt_s(r['linsim_s'])} | {_fmt_s(r['scipy_s'])} "
            f"| {r['speedup']:.1f}x | {r['linsim_steps']} (+{r['linsim_rejected']} rej) / "
            f"{r['scipy_steps']} | {r['linsim_nfev']} / {r['scipy_nfev']} "
            f"| {r['linsim_err_over_tol']:.2f} / {r['scipy_err_over_tol']:.2f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    ap.add_argument("--repeats", type=int, default=5, help="runs per size (>= 5; 3 at n=1e6)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 1000, 1_000_000])
    args = ap.parse_args(argv)

    # The driver and the field have explicit signatures: they were compiled (or loaded from the
    # disk cache) at import. Warm up anyway: the first call resolves the function addresses.
    start = time.perf_counter()
    run_linsim(rates(10))
    warmup = time.perf_counter() - start
    for n in args.sizes:
        run_linsim(rates(min(n, 1000)))
        run_scipy(rates(min(n, 1000)))

    rows = [bench(n, 3 if n >= 1_000_000 else max(args.repeats, 1)) for n in args.sizes]
    meta = {
        "problem": "y' = -k y, k = logspace(-1, 0, n), y(0) = 1",
        "t_span": list(T_SPAN), "rtol": RTOL, "atol": ATOL,
        "first_call_s": warmup, "statistic": "median",
        "linsim": linsim.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
        "python": platform.python_version(), "machine": platform.machine(),
    }
    if args.json:
        print(json.dumps({"meta": meta, "results": rows}, indent=2))
    else:
        print(f"RK45 on {meta['problem']}, t in {T_SPAN}, rtol={RTOL:g}, atol={ATOL:g}; "
              f"medians of {args.repeats} runs (3 at n >= 1e6); first call {warmup * 1e3:.1f} ms\n")
        print(markdown(rows))


if __name__ == "__main__":
    main()
