"""The performance budget: run every benchmark of linsim and write benchmarks/RESULTS.md.

Each script in :data:`SCRIPTS` times one issue's targets against a plain SciPy/NumPy baseline in
the same run (medians of several runs) and prints a Markdown table of target, measured median,
baseline and ratio. This script runs them one after the other, so they do not compete for the
two cores, and collects their tables under a description of the machine.

Usage::

    python benchmarks/run_all.py [--quick] [--only NAME,...] [--out benchmarks/RESULTS.md]

With ``--only``, the chosen sections replace their namesakes in an existing ``--out`` and the
other sections stay as they were (each section says when it was run and under what load).

Run by hand, never as a test: the machine is shared and timings are noisy.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: (name, script, arguments for --quick, what it measures)
SCRIPTS = [
    ("integrate", "integrate_bench.py", ["--repeats", "3"], "Spine 1: the RK45 driver against "
     "solve_ivp at n = 10, 10^3, 10^6"),
    ("flow", "flow_bench.py", ["--quick"], "Spine 2: the main job against a SciPy + NumPy "
     "version; reduced mode at 10^6 classes; full mode at c = 2047"),
    ("filippov", "filippov_bench.py", ["--repeats", "3"], "Filippov sign flow on the unigram "
     "model (c = 1000) against gradient flow"),
    ("z24", "z24_bench.py", ["--repeats", "1"], "the Z24 cases table"),
    ("linear", "linear_bench.py", ["--part", "grad"], "the m = 7 K24 linear-model experiment "
     "(not with --quick); gradient cost against two BLAS products"),
    ("lockstep", "linear_bench.py", ["--part", "lockstep"], "the K24.experiment optimizers "
     "stepped together against a bare loop of the same products (issue 17: <= 1.5x)"),
    ("z20", "z20_bench.py", ["--repeats", "1"], "the Z20 rate fits"),
    ("layers", "compare.py", ["--rounds", "3"], "issue 16: the same cases on main before the "
     "layer refactor (bd6224c) and now, interleaved in one run"),
    ("peers", "peers.py", ["--quick"], "linsim beside SciPy, SciPy + Numba and JAX + diffrax "
     "on the full K24 gradient flow; the CLI's fixed cost and first run (issue 17)"),
]


def machine() -> str:
    """A one-paragraph description of the machine the numbers come from."""
    from linsim.io import cpu_name

    cpu = cpu_name()
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f", {int(line.split()[1]) / 2**20:.0f} GiB memory"
    except OSError:
        pass
    import numba
    import numpy
    import scipy

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu}, {os.cpu_count()} cores{mem}; Python {platform.python_version()}, "
            f"NumPy {numpy.__version__}, SciPy {scipy.__version__}, Numba {numba.__version__}; "
            f"load average {load:.1f} when the run started")


def _header(name: str, what: str) -> str:
    return f"## {name}: {what}"


def split_sections(text: str) -> tuple[list[str], dict[str, list[str]]]:
    """The lines before the first script section, and each script's section (by name) as in
    :data:`SCRIPTS`. A section runs from its ``## name: what`` line to the next one (a script's
    own table may hold ``##`` headings of its own)."""
    heads = {_header(n, w): n for n, _, _, w in SCRIPTS}
    names_by_prefix = {f"## {n}: ": n for n, _, _, _ in SCRIPTS}
    preamble: list[str] = []
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        name = heads.get(line) or next(
            (n for pre, n in names_by_prefix.items() if line.startswith(pre)), None)
        if name is not None:
            current = name
            sections[current] = []
        if current is None:
            preamble.append(line)
        else:
            sections[current].append(line)
    return preamble, sections


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="fewer repeats and smaller parts (see SCRIPTS)")
    p.add_argument("--only", default=None, help="comma list of benchmark names")
    p.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = p.parse_args(argv)
    chosen = SCRIPTS
    if args.only:
        names = {s.strip() for s in args.only.split(",")}
        unknown = names - {s[0] for s in SCRIPTS}
        if unknown:
            print(f"run_all.py: error: --only: unknown {', '.join(sorted(unknown))}",
                  file=sys.stderr)
            return 2
        chosen = [s for s in SCRIPTS if s[0] in names]
    head = ["# linsim performance budget", "",
            f"Machine: {machine()}.", "",
            f"Generated by `python benchmarks/run_all.py{' --quick' if args.quick else ''}` on "
            f"{time.strftime('%Y-%m-%d')}. Each section is one script's own table (medians of "
            "several runs, baseline in the same run).", ""]
    failed = 0
    done: dict[str, list[str]] = {}
    for name, script, quick_args, what in chosen:
        path = HERE / script
        shown = " ".join(["python", f"benchmarks/{script}", *(quick_args if args.quick else [])])
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        parts = done.setdefault(name, [])
        parts += [_header(name, what), "",
                  f"`{shown}` (run on {time.strftime('%Y-%m-%d %H:%M %Z')}, load average "
                  f"{load:.1f})", ""]
        if not path.exists():
            parts += ["(script not present)", ""]
            continue
        cmd = [sys.executable, str(path), *(quick_args if args.quick else [])]
        print(f"running {' '.join(cmd[1:])} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE.parent)
        secs = time.perf_counter() - start
        if res.returncode != 0:
            failed += 1
            parts += [f"FAILED (exit {res.returncode}) after {secs:.0f} s:", "", "```",
                      res.stderr[-3000:], "```", ""]
        else:
            parts += [res.stdout.strip(), "", f"({secs:.0f} s wall)", ""]
    if args.only and args.out.exists():
        preamble, sections = split_sections(args.out.read_text())
        sections.update(done)
        order = [n for n, _, _, _ in SCRIPTS if n in sections]
        text = "\n".join(preamble) + "\n" + "\n".join(
            "\n".join(sections[n]).rstrip("\n") + "\n" for n in order)
    else:
        text = "\n".join(head + [line for n, _, _, _ in chosen for line in done[n]]) + "\n"
    args.out.write_text(text.rstrip("\n") + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
