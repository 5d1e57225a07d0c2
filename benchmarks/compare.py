"""Before and after: the same cases timed on two revisions of linsim, interleaved, in one run.

A refactor must not cost speed (issue 16: "benchmarks within 5% of today's, in the same run").
This script checks out ``--before`` (default ``bd6224c``, main before the layer refactor of
issue 16) into a temporary git worktree, and times each case on it and on the working tree
(``after``) in turn: every round runs one fresh process per side and case, in alternating order
(before first in even rounds, after first in odd ones), so that a change of load hits both
sides alike. Each process warms up once (compilation, caches), then times at least
``--repeats`` calls (more until they take a second); the table reports per side the median
over rounds of each process's median, and the ratio after/before. Only public entry points
that both revisions share are timed, and only cases whose maths did not change between them:

* ``main job``: ``python -m linsim.flow --classes 1000 --zipf 1.1`` without the figure;
* ``reduced 1e6 GF``: gradient flow alone on the reduced model with 10^6 classes, in process,
  with the RMS error norm (the reduced sign flow changed its maths in issue 15, and the reduced
  mode's default norm changed after issue 16, so neither is compared);
* ``unigram sliding``: the Y25 unigram model's sign flow by event-driven sliding, c = 1000,
  through the command line, and ``unigram sign_flow``: the same integration alone;
* ``RK45 n=1000``: the driver on a linear ODE of dimension 1000, ``t`` in [0, 10];
* ``sliding quad n=8``: sign flow on a dense 8-dimensional quadratic (sliding on its surfaces).

Run by hand from the repository root, never as a test (the machine is shared and noisy)::

    python benchmarks/compare.py [--before REV] [--rounds 5] [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: main before the layer refactor of issue 16 (the start of its session)
BEFORE = "bd6224c"
#: Within this ratio after/before, a case "holds" (issue 16's 5%).
HOLD = 1.05

#: The timed body of each case: Python run in a fresh process with ``out`` (a temporary folder)
#: defined; it must call ``bench()`` (a no-argument callable) through ``timed``.
CASES = {
    "main job": """
from linsim import flow
def bench():
    assert flow.main(["--classes", "1000", "--zipf", "1.1", "--no-plot", "--quiet", "--json",
                      "--out", out]) == 0
""",
    "reduced 1e6 GF": """
from linsim.experiments.k24 import run_onehot
from linsim.problems.softmax import OneHotModel
model = OneHotModel(10**6, 1.1, "reduced")
def bench():  # the norm fixed: the reduced mode's default changed after the refactor
    run_onehot(model, ("gradient",), rtol=1e-8, atol=1e-10, norm="rms", workers=None)
""",
    "unigram sliding": """
from linsim import flow
def bench():
    assert flow.main(["--problem", "unigram", "--classes", "1000", "--zipf", "1", "--flows",
                      "sign", "--sign-method", "sliding", "--no-plot", "--quiet", "--json",
                      "--out", out]) == 0
""",
    "unigram sign_flow": """
try:
    from linsim.problems.filippov import UnigramSign
except ImportError:  # before issue 16 it lived in the integrator
    from linsim.integrate.sliding import UnigramSign
from linsim.experiments.k24 import output_times, recorded_classes
from linsim.integrate.sliding import sign_flow
from linsim.problems import zipf
from linsim.problems.softmax import UnigramModel
model = UnigramModel(1000, 1.0)
t = output_times(1e5, 200)
labels = zipf.equal_mass_groups(model.pi, 5)
sel = recorded_classes(1000)
prob = UnigramSign(model, labels, sel)
def bench():  # as linsim.experiments.y25.run_unigram calls it
    sign_flow(prob, model.y0(), (0.0, 1e5), method="sliding", t_eval=t,
              output=model.summary_output, n_output=6 + sel.size, level=1e-10,
              integrator="RK45", rtol=1e-8, atol=1e-10)
""",
    "RK45 n=1000": """
import numpy as np
from numba import njit
from linsim.integrate import solve
@njit(cache=False)
def rhs(t, y, p, dy):
    for i in range(y.size):
        dy[i] = -p[i] * y[i]
p = np.logspace(-2, 1, 1000)
y0 = np.ones(1000)
def bench():
    sol = solve(rhs, (0.0, 10.0), y0, p, rtol=1e-8, atol=1e-10)
    assert sol.status == 0
""",
    "sliding quad n=8": """
import numpy as np
try:
    from linsim.problems.filippov import QuadraticSign
except ImportError:  # before issue 16 it lived in the integrator
    from linsim.integrate.sliding import QuadraticSign
from linsim.integrate.sliding import sign_flow
rng = np.random.default_rng(0)
A = rng.standard_normal((8, 8))
H = A @ A.T + 8 * np.eye(8)
x_star = rng.standard_normal(8)
prob = QuadraticSign(H, x_star)
def bench():
    sign_flow(prob, np.zeros(8), (0.0, 20.0), method="sliding")
""",
}

RUNNER = """
import contextlib, io, json, statistics, sys, time
out = sys.argv[1]
{body}
with contextlib.redirect_stdout(io.StringIO()):
    bench()  # warm-up: compilation and caches
    times = []
    while len(times) < {repeats} or (sum(times) < 1.0 and len(times) < 1000):
        t0 = time.perf_counter()
        bench()
        times.append(time.perf_counter() - t0)
print(json.dumps(statistics.median(times)))
"""


def time_case(tree: Path, body: str, repeats: int, out: str) -> float:
    """The median of ``repeats`` warm calls of the case, in a fresh process importing linsim
    from ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    code = RUNNER.format(body=body, repeats=repeats)
    res = subprocess.run([sys.executable, "-c", code, out], env=env, cwd=tree,
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"case failed in {tree}:\n{res.stderr[-2000:]}")
    return float(res.stdout.strip().splitlines()[-1])


def compare(before: str, rounds: int, repeats: int, cases: list[str]) -> dict:
    """``{case: {"before": [...], "after": [...]}}`` seconds per round (each a process's
    median), the two sides interleaved."""
    times = {c: {"before": [], "after": []} for c in cases}
    with tempfile.TemporaryDirectory(prefix="linsim-compare-") as tmp:
        old = Path(tmp) / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(old),
                        before], check=True)
        try:
            trees = {"before": old, "after": ROOT}
            for r in range(rounds):
                order = ("before", "after") if r % 2 == 0 else ("after", "before")
                for c in cases:
                    for side in order:
                        out = str(Path(tmp) / f"out-{side}")
                        times[c][side].append(time_case(trees[side], CASES[c], repeats, out))
                print(f"round {r + 1}/{rounds} done", file=sys.stderr)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)],
                           check=False)
    return times


def _ms(seconds: float) -> str:
    """``2580 ms``, ``0.557 ms``: three significant digits, never an exponent."""
    ms = seconds * 1e3
    return f"{ms:.0f} ms" if ms >= 100 else f"{ms:.3g} ms"


def table(times: dict, before: str, after: str) -> str:
    """The Markdown table: medians per side, ratio after/before, whether it holds."""
    lines = [f"| case | before ({before}) | after ({after}) | after/before | within "
             f"{(HOLD - 1) * 100:.0f}% |", "|---|---|---|---|---|"]
    for c, t in times.items():
        b, a = statistics.median(t["before"]), statistics.median(t["after"])
        lines.append(f"| {c} | {_ms(b)} | {_ms(a)} | {a / b:.3f} | "
                     f"{'yes' if a / b <= HOLD else 'no'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default=BEFORE, help=f"revision to compare with (default "
                                                     f"{BEFORE})")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    ap.add_argument("--repeats", type=int, default=3,
                    help="timed calls per process after one warm-up, at least; more until "
                         "they take 1 s (default 3)")
    ap.add_argument("--cases", default=",".join(CASES),
                    help=f"comma list of {','.join(CASES)} (default all)")
    ap.add_argument("--json", action="store_true", help="print the times as JSON")
    args = ap.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",")]
    bad = [c for c in cases if c not in CASES]
    if bad:
        ap.error(f"--cases: unknown {bad[0]!r}; cases: {', '.join(CASES)}")
    after = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True, check=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "linsim"],
                           capture_output=True, text=True, check=True).stdout.strip()
    after += "+changes" if dirty else ""
    load = os.getloadavg()[0]
    times = compare(args.before, args.rounds, args.repeats, cases)
    if args.json:
        print(json.dumps({"before": args.before, "after": after, "times": times}))
    else:
        print(f"{args.rounds} interleaved rounds, a fresh process per side, case and round; "
              f"median of >= {args.repeats} warm calls (>= 1 s) per process, median over rounds; "
              f"load average {load:.1f} at the start.\n")
        print(table(times, args.before, after))
    return 0


if __name__ == "__main__":
    sys.exit(main())
