"""linsim beside the tools a researcher would pick instead, in one run (issue 17).

The job: the full K24 one-hot model (THEORY.md, "K24: the continuous-time model") at
``c = 1000`` classes (all ``c^2 = 10^6`` weights, ``W(0) = 0``), Zipf ``a = 1.1``, gradient
flow to ``t = 1e5``, and the per-class losses at the main job's 200 log-spaced output times over
12 decades, written four ways:

* **scipy-numpy**: SciPy's ``RK45`` (the solver class behind ``solve_ivp(method="RK45")``)
  with the vectorized NumPy right-hand side of ``benchmarks/scipy_baseline.py``. The loop is
  ``solve_ivp``'s own ``t_eval`` loop (a step, then the step's dense output at the output
  times inside it), computing the losses there instead of storing ``c^2 x 200`` states (1.6 GB);
* **scipy-numba**: the same with a Numba right-hand side (``parallel=True``, ``prange`` over
  the classes, ``cache=True``) and Numba losses;
* **diffrax**: JAX + diffrax, ``Dopri5`` with ``PIDController``, ``SaveAt(ts=t, fn=losses)``,
  the whole solve under ``jax.jit``, float64 (``jax_enable_x64``), on the CPU. Optional
  (``pip install -e '.[peers]'``); skipped with a line saying so when JAX or diffrax is missing;
* **linsim**: :func:`linsim.experiments.k24.run_onehot` with the main job's method, rtol and
  atol (the defaults of ``python -m linsim.flow``), gradient flow only. Its time includes what
  the peers do not do: the closed forms and group means it records beside the trajectory.

**Accuracy.** Every run's error is the largest relative error of its per-class losses against
the closed form (K24.gf-closed-form, :meth:`linsim.problems.softmax.OneHotModel.closed_form`)
over all classes and output times. linsim runs at its default tolerance; each peer runs at the
tolerance that gives it *no better* accuracy than that: from a ladder
``rtol = linsim's rtol x 10^(k/2)`` (``atol = rtol x`` linsim's ``atol/rtol``), the tightest
whose error is at least linsim's (calibrated once per peer, in a process of its own;
scipy-numpy takes scipy-numba's tolerance, the same algorithm, and its error is measured again).

**Timing.** Each peer runs in a fresh subprocess per thread setting: the imports it needs, the
first call (*cold*: compilation included; Numba's disk cache warm, as after any earlier run;
JAX has no persistent cache unless one configures it, so it compiles in every process), then
``--repeats`` more calls (*warm*: their median). Medians, never the best run.

**Threads**, set in the environment of the subprocess before anything is imported:

* *1 thread*: ``OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = NUMBA_NUM_THREADS =
  1``, ``XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"``, and
  linsim's ``workers=1``;
* *every core*: none of those set (each library's default: every core), linsim's
  ``workers=None`` (every usable CPU, the CLI's default).

**The CLI** (the targets of issue 17), in subprocesses: the main job ``python -m linsim.flow
--classes 1000 --zipf 1.1`` with its figure (after one warm-up run: warm cache), its fixed cost
``--classes 8 --no-plot``, what ``python -X importtime`` attributes to numpy, numba, SciPy,
matplotlib and linsim in that fixed-cost run, and the main job's cold first run with an empty
Numba cache (``NUMBA_CACHE_DIR`` pointing to an empty folder: what a fresh install pays).

Run by hand from the repository root (several minutes; never a test)::

    python benchmarks/peers.py             # Markdown table on stdout
    python benchmarks/peers.py --quick     # fewer repeats, no empty-cache run
    python benchmarks/peers.py --json      # the same numbers as JSON
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

CLASSES, ZIPF, T_MAX, POINTS, GROUPS = 1000, 1.1, 1e5, 200, 5
PEERS = ("scipy-numpy", "scipy-numba", "diffrax", "linsim")
THREADS = ("1", "all")
#: Ladder of tolerances for the peers: linsim's rtol times 10^(k/2), k in LADDER.
LADDER = (-4, -3, -2, -1, 0, 1, 2, 3, 4)
#: The issue's targets.
TARGET_SPEEDUP = 3.0  # linsim's gradient flow against the fastest peer, one thread
TARGET_FIXED_SHARE = 1.0 / 3.0  # fixed cost / main job
TARGET_JOB_S = 3.0  # main job on two cores (the goal)
TARGET_COLD_S = 25.0  # first run of the main job with an empty Numba cache
#: Closed-form losses below this are not compared (linsim.experiments.k24.COMPARE_FLOOR).
COMPARE_FLOOR = 1e-250

#: Warm calls of the slow peers, at most (tens of seconds each: their medians need no more to
#: show that they are not the fastest peer).
MAX_REPEATS = {"scipy-numpy": 2, "scipy-numba": 2}

SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
}


def log(msg: str) -> None:
    print(f"[peers] {msg}", file=sys.stderr, flush=True)


def median(values):
    return float(statistics.median(values)) if values else None


# ------------------------------------------------------------------------------------------
# The four implementations. Each ``prepare_*`` imports what it needs and returns ``run()``,
# which integrates once and returns (losses (points x c), stats).


def _times():
    import numpy as np

    t = np.logspace(math.log10(T_MAX) - 12.0, math.log10(T_MAX), POINTS)
    t[-1] = T_MAX
    return t


def _zipf_pi():
    import numpy as np

    k = np.arange(1, CLASSES + 1, dtype=np.float64)
    w = np.exp(-ZIPF * np.log(k))
    return w / np.sum(w[::-1])


def _scipy_loop(fun, losses, y0, t, rtol, atol):
    """``solve_ivp``'s ``t_eval`` loop on SciPy's RK45, with the losses at each output time."""
    import numpy as np
    from scipy.integrate import RK45

    solver = RK45(fun, 0.0, y0, float(t[-1]), rtol=rtol, atol=atol)
    out = np.empty((t.size, CLASSES))
    i = steps = 0
    while solver.status == "running":
        msg = solver.step()
        if solver.status == "failed":
            raise RuntimeError(f"RK45 failed: {msg}")
        steps += 1
        j = int(np.searchsorted(t, solver.t, side="right"))
        if j > i:
            sol = solver.dense_output()
            for ii in range(i, j):
                out[ii] = losses(sol(t[ii]))
            i = j
    return out, {"steps": steps, "rejected": None, "rhs_evals": int(solver.nfev)}


def prepare_scipy_numpy(rtol: float, atol: float, threads: str):
    spec = importlib.util.spec_from_file_location("scipy_baseline", HERE / "scipy_baseline.py")
    base = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(base)
    import numpy as np

    model = base.OneHotSoftmax(_zipf_pi())
    fun = model.rhs("gradient")
    work = np.empty((CLASSES, CLASSES))
    t = _times()

    def losses(y):
        return model.losses(y.reshape(CLASSES, CLASSES), work)

    return lambda: _scipy_loop(fun, losses, np.zeros(CLASSES * CLASSES), t, rtol, atol)


def prepare_scipy_numba(rtol: float, atol: float, threads: str):
    import numpy as np

    kernels = _numba_kernels()
    pi = _zipf_pi()
    c = CLASSES
    t = _times()

    def fun(_t, y):
        dy = np.empty_like(y)
        kernels[0](y, pi, dy)
        return dy

    def losses(y):
        out = np.empty(c)
        kernels[1](y, out)
        return out

    return lambda: _scipy_loop(fun, losses, np.zeros(c * c), t, rtol, atol)


_KERNELS = None


def _numba_kernels():
    """The Numba right-hand side and losses a user would write (row ``k`` of the ``c x c``
    state: the logits of input ``k``), compiled on first use and cached on disk."""
    global _KERNELS
    if _KERNELS is not None:
        return _KERNELS
    from numba import njit, prange

    @njit(cache=True, parallel=True)
    def rhs(y, pi, dy):
        c = pi.size
        for k in prange(c):
            w = y[k * c : (k + 1) * c]
            d = dy[k * c : (k + 1) * c]
            m = w.max()
            s = 0.0
            for j in range(c):
                e = math.exp(w[j] - m)
                d[j] = e
                s += e
            inv = pi[k] / s
            for j in range(c):
                d[j] *= -inv
            d[k] += pi[k]  # -pi_k (p - e_k)

    @njit(cache=True, parallel=True)
    def losses(y, out):
        c = out.size
        for k in prange(c):
            w = y[k * c : (k + 1) * c]
            m = w.max()
            im = 0
            while w[im] != m:
                im += 1
            rest = 0.0
            for j in range(c):
                if j != im:
                    rest += math.exp(w[j] - m)
            out[k] = (m - w[k]) + math.log1p(rest)  # exact to rounding when tiny

    _KERNELS = (rhs, losses)
    return _KERNELS


def prepare_diffrax(rtol: float, atol: float, threads: str):
    import jax

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_platform_name", "cpu")
    import diffrax
    import jax.numpy as jnp
    import numpy as np

    c = CLASSES

    def field(t, W, pi):
        p = jax.nn.softmax(W, axis=1)
        return -pi[:, None] * (p - jnp.eye(c, dtype=W.dtype))

    def losses(t, W, args):
        return jax.nn.logsumexp(W, axis=1) - jnp.diagonal(W)

    @jax.jit
    def solve(pi, ts, rtol, atol):
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(field), diffrax.Dopri5(), t0=0.0, t1=ts[-1], dt0=None,
            y0=jnp.zeros((c, c)), args=pi, saveat=diffrax.SaveAt(ts=ts, fn=losses),
            stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
            max_steps=100_000)
        return sol.ys, sol.stats["num_accepted_steps"], sol.stats["num_rejected_steps"]

    pi = jnp.asarray(_zipf_pi())
    ts = jnp.asarray(_times())
    r, a = jnp.asarray(rtol), jnp.asarray(atol)  # traced: one compilation for every tolerance

    def run():
        ys, acc, rej = jax.block_until_ready(solve(pi, ts, r, a))
        acc, rej = int(acc), int(rej)
        return np.asarray(ys), {"steps": acc, "rejected": rej, "rhs_evals": 6 * (acc + rej) + 2}

    return run


def prepare_linsim(rtol: float, atol: float, threads: str):
    from linsim.experiments.k24 import run_onehot
    from linsim.flow import build_parser
    from linsim.problems.softmax import OneHotModel

    d = build_parser().parse_args([])
    model = OneHotModel(CLASSES, ZIPF, "full")
    workers = 1 if threads == "1" else None

    def run():
        r = run_onehot(model, ("gradient",), t_max=T_MAX, points=POINTS, groups=GROUPS,
                       method=d.method, rtol=rtol, atol=atol, workers=workers)
        st = r.traces["gradient"].stats
        return r.traces["gradient"].losses, {"steps": st["steps"], "rejected": st["rejected"],
                                             "rhs_evals": st["rhs_evals"]}

    return run


PREPARE = {"scipy-numpy": prepare_scipy_numpy, "scipy-numba": prepare_scipy_numba,
           "diffrax": prepare_diffrax, "linsim": prepare_linsim}


def max_rel_err(losses) -> float:
    """Largest relative error against K24.gf-closed-form (linsim's comparison floor)."""
    import numpy as np

    from linsim.problems import zipf  # NumPy only: no numba in the peers' processes

    closed = zipf.gf_loss(_times()[:, None], _zipf_pi()[None, :], CLASSES)
    m = closed > COMPARE_FLOOR
    return float(np.max(np.abs(np.asarray(losses)[m] - closed[m]) / closed[m]))


def worker(peer: str, threads: str, rtols: list[float], atols: list[float],
           repeats: int) -> dict:
    """In a fresh process: imports, first call (cold), ``repeats`` warm calls, per tolerance."""
    t0 = time.perf_counter()
    runs = [PREPARE[peer](r, a, threads) for r, a in zip(rtols, atols, strict=True)]
    import_s = time.perf_counter() - t0
    results = []
    for run, rtol, atol in zip(runs, rtols, atols, strict=True):
        t0 = time.perf_counter()
        losses, stats = run()
        first = time.perf_counter() - t0
        warm = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            run()
            warm.append(time.perf_counter() - t0)
        results.append({"rtol": rtol, "atol": atol, "first_s": first, "warm_s": warm,
                        "losses": losses, **stats})
    for r in results:  # after the timings: the closed form's imports stay out of them
        r["max_rel_err"] = max_rel_err(r.pop("losses"))
    return {"peer": peer, "threads": threads, "import_s": import_s, "results": results}


# ------------------------------------------------------------------------------------------
# The orchestrator


def available(peer: str) -> str | None:
    """None when ``peer`` can run here, else why not."""
    if peer == "diffrax":
        missing = [m for m in ("jax", "diffrax") if importlib.util.find_spec(m) is None]
        if missing:
            return (f"skipped: {' and '.join(missing)} not installed (pip install -e "
                    f"'.[peers]')")
    if peer == "scipy-numba" and importlib.util.find_spec("numba") is None:
        return "skipped: numba not installed"
    return None


def _env(threads: str, extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in SINGLE_THREAD_ENV}
    if threads == "1":
        env.update(SINGLE_THREAD_ENV)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def spawn(peer: str, threads: str, rtols, atols, repeats: int, extra_env=None,
          timeout: float = 1800) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", peer, "--threads",
           threads, "--rtols", ",".join(map(repr, rtols)), "--atols",
           ",".join(map(repr, atols)), "--repeats", str(repeats), "--classes", str(CLASSES)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(threads, extra_env),
                          cwd=ROOT, timeout=timeout)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{peer} ({threads} threads) failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_s"] = wall
    return out


def calibrate(peer: str, target_err: float, rtol0: float, atol0: float) -> dict:
    """The tightest ladder tolerance whose error is at least ``target_err``: walk from linsim's
    tolerance towards tighter ones while the error stays at least ``target_err``, or towards
    looser ones until it is. One process (one compilation for JAX)."""
    ratio = atol0 / rtol0
    ladder = [rtol0 * 10.0 ** (k / 2) for k in LADDER]
    tried: dict[float, float] = {}

    def err(r):
        if r not in tried:
            res = spawn(peer, "all", [r], [r * ratio], 0)["results"][0]
            tried[r] = res["max_rel_err"]
            log(f"  {peer}: rtol {r:.3g} -> max rel. err {tried[r]:.3g}")
        return tried[r]

    i = LADDER.index(0)
    if err(ladder[i]) >= target_err:
        while i > 0 and err(ladder[i - 1]) >= target_err:
            i -= 1
        note = "" if i > 0 else "less accurate than linsim at every tolerance tried"
    else:
        while i < len(ladder) - 1 and err(ladder[i]) < target_err:
            i += 1
        note = ("" if err(ladder[i]) >= target_err
                else "more accurate than linsim at every tolerance tried")
    return {"rtol": ladder[i], "atol": ladder[i] * ratio, "tried": tried, "note": note}


def _timed_cli(args, env=None, timeout=1800) -> float:
    cmd = [sys.executable, "-m", "linsim.flow", *args]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env or _env("all"),
                          timeout=timeout)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n"
                           f"{proc.stderr[-2000:]}")
    return wall


def import_times(out: Path) -> dict:
    """Import seconds of the fixed-cost run (``python -X importtime``): each module's own time,
    summed per top-level package (numpy, numba with llvmlite, scipy, matplotlib, linsim, other),
    and the total. linsim's own time includes loading its compiled driver from Numba's cache
    (and the Numba set-up that the first loaded function triggers)."""
    cmd = [sys.executable, "-X", "importtime", "-m", "linsim.flow", "--classes", "8",
           "--no-plot", "--quiet", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=_env("all"))
    groups = {"numba": ("numba", "llvmlite"), "numpy": ("numpy",), "scipy": ("scipy",),
              "matplotlib": ("matplotlib",), "sympy": ("sympy",), "linsim": ("linsim",)}
    sums: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        own, _, name = line[len("import time:"):].split("|")
        if not own.strip().isdigit():
            continue
        root = name.strip().split(".")[0]
        key = next((k for k, roots in groups.items() if root in roots), "other")
        sums[key] = sums.get(key, 0.0) + int(own) / 1e6
    sums["total"] = sum(sums.values())
    return sums


def cli_measurements(repeats: int, cold: bool) -> dict:
    base = Path(tempfile.mkdtemp(prefix="linsim-peers-"))
    try:
        job = ["--classes", str(CLASSES), "--zipf", str(ZIPF), "--quiet", "--out",
               str(base / "job")]
        fixed = ["--classes", "8", "--no-plot", "--quiet", "--out", str(base / "fixed")]
        log("CLI: warm-up run of the main job (fills the Numba cache if it is empty)")
        _timed_cli(job)
        jobs, fixes = [], []
        for i in range(repeats):
            jobs.append(_timed_cli(job))
            fixes.append(_timed_cli(fixed))
            log(f"  main job {jobs[-1]:.2f} s, fixed cost {fixes[-1]:.2f} s ({i + 1}/{repeats})")
        summary = json.loads((base / "job" / "summary.json").read_text())
        res = {"main_job_s": jobs, "fixed_s": fixes, "imports_s": import_times(base / "imp"),
               "job_inner_s": summary["seconds"], "workers": summary["workers"]}
        if cold:
            cache = base / "numba-cache"
            cache.mkdir()
            log("CLI: main job with an empty Numba cache (compiles everything it uses)")
            env = _env("all", {"NUMBA_CACHE_DIR": str(cache)})
            res["cold_empty_cache_s"] = _timed_cli(job, env=env)
            log(f"  {res['cold_empty_cache_s']:.1f} s")
            res["second_run_same_cache_s"] = _timed_cli(job, env=env)
            log(f"  then {res['second_run_same_cache_s']:.1f} s from that cache")
        return res
    finally:
        shutil.rmtree(base, ignore_errors=True)


def machine() -> dict:
    import numpy
    import scipy

    from linsim.io import cpu_name

    cpu = cpu_name()
    vers = {"python": platform.python_version(), "numpy": numpy.__version__,
            "scipy": scipy.__version__}
    for mod in ("numba", "jax", "diffrax"):
        try:
            vers[mod] = __import__(mod).__version__
        except ImportError:
            vers[mod] = None
    return {"cpu": cpu, "cores": os.cpu_count(), **vers}


def run_all(repeats: int, quick: bool, calibration: dict | None = None,
            peers: tuple[str, ...] = PEERS) -> dict:
    from linsim.flow import build_parser

    d = build_parser().parse_args([])
    load0 = os.getloadavg()
    res: dict = {"machine": machine(), "load_before": load0, "repeats": repeats,
                 "linsim_method": d.method, "linsim_rtol": d.rtol, "linsim_atol": d.atol,
                 "peers": {}, "skipped": {}, "calibration": {}}
    t_start = time.perf_counter()
    log(f"linsim at its default tolerance (rtol {d.rtol:g}, atol {d.atol:g})")
    ref = spawn("linsim", "all", [d.rtol], [d.atol], 0)["results"][0]
    target = ref["max_rel_err"]
    log(f"  max rel. err {target:.3g}")
    tol = {"linsim": (d.rtol, d.atol)}
    for peer in ("scipy-numba", "diffrax"):
        if peer not in peers and not (peer == "scipy-numba" and "scipy-numpy" in peers):
            continue
        why = available(peer)
        if why:
            res["skipped"][peer] = why
            log(f"{peer}: {why}")
            continue
        if calibration and peer in calibration:
            cal = {**calibration[peer], "from_earlier_run": True}
            log(f"{peer}: tolerance {cal['rtol']:.3g} from an earlier calibration")
        else:
            log(f"calibrating {peer} to linsim's error {target:.3g}")
            cal = calibrate(peer, target, d.rtol, d.atol)
        res["calibration"][peer] = cal
        tol[peer] = (cal["rtol"], cal["atol"])
    if "scipy-numba" in tol:
        tol["scipy-numpy"] = tol["scipy-numba"]
    else:
        log("calibrating scipy-numpy itself (no numba)")
        cal = calibrate("scipy-numpy", target, d.rtol, d.atol)
        res["calibration"]["scipy-numpy"] = cal
        tol["scipy-numpy"] = (cal["rtol"], cal["atol"])
    res["linsim_max_rel_err"] = target
    for threads in THREADS:
        for peer in PEERS:
            if peer not in tol or peer not in peers:
                continue
            r, a = tol[peer]
            n = min(repeats, MAX_REPEATS.get(peer, repeats))
            log(f"{peer}, {threads} thread(s), rtol {r:.3g}: cold + {n} warm")
            out = spawn(peer, threads, [r], [a], n)
            res["peers"][f"{peer}/{threads}"] = out
            x = out["results"][0]
            log(f"  cold {x['first_s']:.2f} s, warm {median(x['warm_s']):.2f} s, err "
                f"{x['max_rel_err']:.3g}")
    res["cli"] = cli_measurements(max(2, repeats), cold=not quick)
    res["load_after"] = os.getloadavg()
    res["seconds"] = time.perf_counter() - t_start
    res["targets"] = targets(res)
    return res


def _warm(res, key):
    p = res["peers"].get(key)
    return None if p is None else median(p["results"][0]["warm_s"])


def targets(res: dict) -> list[dict]:
    """Each target of issue 17 with its measured ratio and met / missed."""
    out = []
    lin1 = _warm(res, "linsim/1")
    peers1 = {p: _warm(res, f"{p}/1") for p in PEERS if p != "linsim"}
    peers1 = {p: v for p, v in peers1.items() if v is not None}
    if lin1 and peers1:
        fast = min(peers1, key=peers1.get)
        ratio = peers1[fast] / lin1
        out.append({"target": "linsim gradient flow >= 3x faster than the fastest peer, 1 thread "
                              "(warm medians, accuracy equal or better)",
                    "measured": f"{ratio:.2f}x ({fast} {peers1[fast]:.2f} s / linsim "
                                f"{lin1:.2f} s)",
                    "met": ratio >= TARGET_SPEEDUP, "ratio": ratio,
                    "missed_by": None if ratio >= TARGET_SPEEDUP
                    else f"{TARGET_SPEEDUP / ratio:.2f}x too slow"})
    cli = res["cli"]
    job = median(cli["main_job_s"])
    allpeers = {k: _warm(res, k) for k in res["peers"] if not k.startswith("linsim")}
    allpeers = {k: v for k, v in allpeers.items() if v is not None}
    if allpeers:
        fast = min(allpeers, key=allpeers.get)
        ratio = allpeers[fast] / job
        out.append({"target": "CLI main job (fresh process, warm cache, figure) faster than the "
                              "fastest peer's warm gradient flow alone",
                    "measured": f"{ratio:.2f}x (main job {job:.2f} s; {fast} {allpeers[fast]:.2f} "
                                f"s)",
                    "met": ratio > 1.0, "ratio": ratio,
                    "missed_by": None if ratio > 1.0 else f"{job - allpeers[fast]:.2f} s slower"})
    fixed = median(cli["fixed_s"])
    share = fixed / job
    out.append({"target": "fixed cost (--classes 8 --no-plot) <= 1/3 of the main job",
                "measured": f"{share:.2f} ({fixed:.2f} s / {job:.2f} s)",
                "met": share <= TARGET_FIXED_SHARE, "ratio": share,
                "missed_by": None if share <= TARGET_FIXED_SHARE
                else f"{fixed - job * TARGET_FIXED_SHARE:.2f} s over"})
    out.append({"target": f"main job <= {TARGET_JOB_S:g} s on {res['cli']['workers']} cores "
                          "(the goal)",
                "measured": f"{job:.2f} s", "met": job <= TARGET_JOB_S, "ratio": job / TARGET_JOB_S,
                "missed_by": None if job <= TARGET_JOB_S else f"{job - TARGET_JOB_S:.2f} s over"})
    if "cold_empty_cache_s" in cli:
        cold = cli["cold_empty_cache_s"]
        out.append({"target": f"cold first run of the main job, empty Numba cache, <= "
                              f"{TARGET_COLD_S:g} s",
                    "measured": f"{cold:.1f} s", "met": cold <= TARGET_COLD_S,
                    "ratio": cold / TARGET_COLD_S,
                    "missed_by": None if cold <= TARGET_COLD_S
                    else f"{cold - TARGET_COLD_S:.1f} s over"})
    return out


def _f(v, fmt="{:.2f}"):
    return "—" if v is None else fmt.format(v)


def markdown(res: dict) -> str:
    m = res["machine"]
    vers = ", ".join(f"{k} {v}" for k, v in m.items() if k not in ("cpu", "cores") and v)
    lines = [
        f"### linsim beside its peers: K24 one-hot gradient flow, c = {CLASSES}, zipf {ZIPF}, "
        f"t <= {T_MAX:g}, {POINTS} output times",
        "",
        f"{m['cpu']}, {m['cores']} cores; {vers}. Load average {res['load_before'][0]:.1f} "
        f"before, {res['load_after'][0]:.1f} after ({res['seconds']:.0f} s); warm: median of "
        f"{res['repeats']} calls after the first (" + ", ".join(
            f"{min(res['repeats'], n)} for {p}" for p, n in MAX_REPEATS.items()) + "); "
        f"cold: the first call in a fresh process, compilation included (Numba's disk cache "
        f"warm; JAX compiles in every process). linsim: {res['linsim_method']} rtol "
        f"{res['linsim_rtol']:g} atol {res['linsim_atol']:g} (the main job's); each peer at the "
        f"tightest tolerance of the ladder whose error is at least linsim's. Threads: 1 = "
        f"OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS=1, XLA_FLAGS='{SINGLE_THREAD_ENV['XLA_FLAGS']}', "
        f"linsim workers=1; all = each library's default, linsim's every usable CPU. "
        f"diffrax's rhs evals: 6 per attempted step + 2 (its counts are of steps).",
        "",
        "| implementation | threads | rtol | max rel. err | steps | rhs evals | warm (s) | "
        "cold (s) | imports (s) | warm / linsim's |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for threads in THREADS:
        lin = _warm(res, f"linsim/{threads}")
        for peer in PEERS:
            p = res["peers"].get(f"{peer}/{threads}")
            if p is None:
                continue
            x = p["results"][0]
            w = median(x["warm_s"])
            steps = f"{x['steps']}" + (f" (+{x['rejected']})" if x.get("rejected") else "")
            lines.append(
                f"| {peer} | {threads} | {x['rtol']:.3g} | {x['max_rel_err']:.2e} | {steps} | "
                f"{'~' if peer == 'diffrax' else ''}{x['rhs_evals']} | {_f(w)} | "
                f"{_f(x['first_s'])} | {_f(p['import_s'])} | "
                f"{_f(w / lin if lin else None)}x |")
    for peer, why in res["skipped"].items():
        lines.append(f"| {peer} | — | — | — | — | — | — | — | — | {why} |")
    lines.append("")
    for peer, cal in res["calibration"].items():
        tried = ", ".join(f"{float(r):.3g} -> {e:.2e}"
                          for r, e in sorted(cal["tried"].items(), key=lambda kv: float(kv[0])))
        lines.append(f"Calibration of {peer} (rtol -> max rel. err"
                     + (", measured in an earlier run of this script and measured again above "
                        "at the chosen tolerance" if cal.get("from_earlier_run") else "")
                     + f"): {tried}; chose {cal['rtol']:.3g}"
                     + (f" ({cal['note']})" if cal["note"] else "") + ".")
    cli = res["cli"]
    imp = ", ".join(f"{k} {v:.2f} s" for k, v in sorted(cli["imports_s"].items(),
                                                       key=lambda kv: -kv[1]) if v >= 0.005)
    lines += [
        "",
        f"The CLI (`python -m linsim.flow`, fresh processes, {cli['workers']} workers): main job "
        f"`--classes {CLASSES} --zipf {ZIPF}` with its figure, median "
        f"{median(cli['main_job_s']):.2f} s wall of {len(cli['main_job_s'])} after a warm-up "
        f"run (its own `seconds` in summary.json: {cli['job_inner_s']:.2f} s); fixed cost "
        f"`--classes 8 --no-plot` median {median(cli['fixed_s']):.2f} s; imports in the "
        f"fixed-cost run (`python -X importtime`, own times per package): "
        f"{imp or 'none recorded'}.",
    ]
    if "cold_empty_cache_s" in cli:
        lines.append(f"Cold first run of the main job with an empty Numba cache "
                     f"(`NUMBA_CACHE_DIR` an empty folder): {cli['cold_empty_cache_s']:.1f} s; "
                     f"the next run from that cache: {cli['second_run_same_cache_s']:.1f} s.")
    lines += ["", "| target | measured | met |", "|---|---|---|"]
    for tg in res["targets"]:
        met = "yes" if tg["met"] else f"**no** ({tg['missed_by']})"
        lines.append(f"| {tg['target']} | {tg['measured']} | {met} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    global CLASSES
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="3 warm calls, no empty-cache run of the CLI")
    p.add_argument("--repeats", type=int, default=None,
                   help="warm calls per peer and thread setting (default 5; 3 with --quick)")
    p.add_argument("--json", action="store_true", help="print the numbers as JSON")
    p.add_argument("--classes", type=int, default=CLASSES,
                   help=f"number of classes (default {CLASSES}; smaller only to try the script "
                        f"out: the targets are about c = {CLASSES})")
    p.add_argument("--peers", default=",".join(PEERS),
                   help=f"comma list of the implementations to time (default {','.join(PEERS)})")
    p.add_argument("--calibration", type=Path, default=None, metavar="JSON",
                   help="take the peers' tolerances from the calibration of an earlier run "
                        "(its --json or --save output) instead of calibrating again; the errors "
                        "are measured again at those tolerances")
    p.add_argument("--save", type=Path, default=None, metavar="JSON",
                   help="also write the numbers as JSON to this file")
    p.add_argument("--worker", choices=PEERS, help=argparse.SUPPRESS)
    p.add_argument("--threads", choices=THREADS, default="all", help=argparse.SUPPRESS)
    p.add_argument("--rtols", default="", help=argparse.SUPPRESS)
    p.add_argument("--atols", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    CLASSES = args.classes
    if args.worker:
        rtols = [float(v) for v in args.rtols.split(",")]
        atols = [float(v) for v in args.atols.split(",")]
        out = worker(args.worker, args.threads, rtols, atols, args.repeats or 0)
        print(json.dumps(out))
        return 0
    repeats = args.repeats or (3 if args.quick else 5)
    chosen = tuple(x.strip() for x in args.peers.split(",") if x.strip())
    if not set(chosen) <= set(PEERS) or "linsim" not in chosen:
        print(f"peers.py: error: --peers must list some of {', '.join(PEERS)}, linsim "
              f"included, got {args.peers!r}", file=sys.stderr)
        return 2
    cal = None
    if args.calibration is not None:
        cal = json.loads(args.calibration.read_text())["calibration"]
    res = run_all(repeats, args.quick, cal, chosen)
    if args.save is not None:
        args.save.write_text(json.dumps(res, indent=1) + "\n")
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        print(markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
