"""Issue 17, "a wrong answer never passes silently": every command line run as a user runs it,
in a subprocess.

- an unusable ``--out`` is one line naming ``--out``, exit code 2, nothing written (every CLI);
- a flow with a closed form that disagrees with it prints ``DISAGREES``, marks summary.json and
  exits 1; ``--rtol`` is bounded;
- K24.gf-rate's asymptote gets a verdict only in its regime (``pi_k t`` printed otherwise);
- SIGINT or SIGTERM leaves complete outputs or none, and the sweep resumes;
- a cold Numba cache is announced on stderr before the compilation;
- random argument lists never give a traceback (every CLI, output paths included).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from linsim import cli

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}

#: A tiny valid run of each command line that writes into --out (``--out`` is appended).
TINY = {
    "flow": ["--classes", "3", "--t-max", "10", "--points", "5", "--groups", "2", "--no-plot",
             "--quiet"],
    "z24": ["--cases", "3", "--methods", "gd", "--seeds", "1", "--max-iter", "20", "--no-plot",
            "--quiet"],
    "sweep": ["--classes", "3", "--mode", "reduced", "--t-max", "10", "--points", "5",
              "--groups", "1", "--workers", "1", "--quiet"],
    "figures": ["--only", "k24_decouple", "--quick"],
    "heavytail": ["z20", "--quick", "--no-plot", "--quiet"],
    "experiment": ["--m", "2", "--steps", "2", "--no-plot", "--quiet"],
    "kb25": ["--alpha", "1", "--d", "1e2:1e3", "--eps", "0.1", "--per-decade", "1",
             "--no-plot"],
}


def run(module: str, *argv, timeout: float = 300, env: dict | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m linsim.<module> argv`` in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", f"linsim.{module}", *map(str, argv)],
                          capture_output=True, text=True, timeout=timeout, env=env or ENV,
                          cwd=cwd)


def start(module: str, *argv, env: dict | None = None, cwd: Path | None = None,
          stdout=subprocess.PIPE) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", f"linsim.{module}", *map(str, argv)],
                            stdout=stdout, stderr=subprocess.PIPE, text=True, env=env or ENV,
                            cwd=cwd)


def one_error_line(proc, prog: str, *words: str) -> str:
    """Exit code 2, nothing on stdout, one line on stderr naming ``words``."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"python -m linsim.{prog}: error: "), lines[0]
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def leftovers(root: Path) -> list[str]:
    """Temporary files of an atomic write (``.name.XXXX``) or of the --out probe."""
    return [str(p) for p in root.rglob(".*") if p.is_file()]


# ----------------------------------------------------------------------------------------------
# 1. an unusable --out: one line naming --out, exit 2, nothing written
# ----------------------------------------------------------------------------------------------

def _bad_out(kind: str, tmp: Path) -> tuple[Path, str]:
    """An unusable output folder of the given kind and a word its error line must hold."""
    if kind == "proc":  # a pseudo file system: mkdir fails (ENOENT)
        return Path("/proc/linsim-x/out"), "cannot create"
    if kind == "sys":  # mkdir fails with EPERM, for root too: the "no permission" case
        return Path("/sys/linsim-x"), "Operation not permitted"
    (tmp / "afile").write_text("keep me")
    if kind == "file":
        return tmp / "afile", "must be a folder"
    if kind == "under-file":  # a missing parent that cannot be created
        return tmp / "afile" / "sub" / "out", "not a folder"
    if kind == "read-only":
        ro = tmp / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        return ro / "out", "Permission denied"
    raise AssertionError(kind)


#: Every kind for the main command, two for the others ("read-only" only where permissions
#: bind: root writes anywhere, and "sys" covers EPERM for root too).
_OUT_CASES = ([("flow", k) for k in ("proc", "sys", "file", "under-file")
               + (("read-only",) if os.geteuid() != 0 else ())]
              + [(m, k) for m in TINY if m != "flow" for k in ("proc", "under-file")])


@pytest.mark.parametrize("module,kind", _OUT_CASES, ids=[f"{m}-{k}" for m, k in _OUT_CASES])
def test_unusable_out_is_one_line_exit_2_nothing_written(module, kind, tmp_path):
    out, word = _bad_out(kind, tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    proc = run(module, *TINY[module], "--out", out, cwd=tmp_path)
    one_error_line(proc, module, "--out", word, str(out))
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert leftovers(tmp_path) == []
    if kind == "file":
        assert (tmp_path / "afile").read_text() == "keep me"


def test_out_with_missing_parents_is_created(tmp_path):
    out = tmp_path / "new" / "deeper" / "out"
    proc = run("flow", *TINY["flow"], "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in out.iterdir()} == {"summary.json", "trajectories.npz",
                                              "per_class.csv"}


def test_check_out_leaves_nothing_behind(tmp_path):
    """The probe of a writable folder (existing or to be created) removes what it made."""
    cli.check_out(tmp_path)
    cli.check_out(tmp_path / "a" / "b")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------------------------
# 2. a flow that disagrees with its closed form: DISAGREES, summary.json, exit 1; --rtol bounded
# ----------------------------------------------------------------------------------------------

DISAGREE = ["--classes", "50", "--flows", "gradient,sign", "--no-plot", "--quiet"]


def test_disagreement_with_the_closed_form_exits_1(tmp_path):
    """atol = 1 lets the driver accept steps whose error is of the order of the weights: the
    losses are 57% off, above the stated threshold; sign flow still agrees."""
    proc = run("flow", *DISAGREE, "--rtol", "1e-4", "--atol", "1", "--out", tmp_path / "o")
    assert proc.returncode == 1, proc.stderr
    assert "DISAGREES" in proc.stdout
    err = [ln for ln in proc.stderr.splitlines() if "DISAGREES" in ln]
    assert len(err) == 1 and "gradient flow" in err[0] and "max(100 rtol, 1e-6)" in err[0]
    doc = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert doc["disagrees"] == ["gradient"]
    g, s = doc["flows"]["gradient"], doc["flows"]["sign"]
    assert g["disagrees"] is True and g["max_rel_err"] > g["closed_form_threshold"]
    assert s["disagrees"] is False and s["max_rel_err"] <= s["closed_form_threshold"]
    # the threshold is the stated one: max(100 rtol, 1e-6) x max(1, log(1 + c pi_1 t_max))
    from linsim.problems.zipf import zipf_frequencies

    kappa = math.log1p(50 * float(zipf_frequencies(50, 1.1)[0]) * 1e5)
    assert g["closed_form_threshold"] == pytest.approx(1e-2 * kappa)


def test_default_tolerances_agree(tmp_path):
    proc = run("flow", *DISAGREE, "--out", tmp_path / "o")
    assert proc.returncode == 0, proc.stderr
    assert "DISAGREES" not in proc.stdout + proc.stderr
    doc = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert doc["disagrees"] == [] and doc["problems"] == []
    assert all(f["disagrees"] is False for f in doc["flows"].values())


@pytest.mark.parametrize("rtol", ["0.5", "1e-2", "1e-3", "1e-14", "0"])
def test_rtol_out_of_range_is_refused(rtol, tmp_path):
    proc = run("flow", "--classes", "50", "--rtol", rtol, "--out", tmp_path / "o")
    one_error_line(proc, "flow", "--rtol", "[1e-13, 0.0001]")
    assert not (tmp_path / "o").exists()


def test_help_states_the_threshold():
    proc = run("flow", "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert "max(100 rtol, 1e-6) x max(1, log(1 + c pi_1 t_max))" in text
    assert "DISAGREES" in text and "[1e-13, 0.0001]" in text


# ----------------------------------------------------------------------------------------------
# 3. K24.gf-rate: the regime, and a verdict only where the theory predicts the number
# ----------------------------------------------------------------------------------------------


def test_rare_class_is_pre_asymptotic_without_a_verdict(tmp_path):
    """The main job's numbers (c = 1000, a = 1.1, t = 1e5; the exact margin ODE): the rarest
    class has pi_k t = 9, far from the limit; the most frequent one is in it and PASSes."""
    proc = run("flow", "--classes", "1000", "--zipf", "1.1", "--mode", "reduced", "--flows",
               "gradient", "--no-plot", "--quiet", "--out", tmp_path / "o")
    assert proc.returncode == 0, proc.stderr
    lines = {ln.split()[0]: ln for ln in proc.stdout.splitlines()
             if ln.strip().startswith(("pi_t_l_", "loglog_slope_"))}
    least = lines["pi_t_l_least_frequent"]
    assert "pi_k t = 8.99" in least and "pre-asymptotic, no verdict" in least
    assert "PASS" not in least.split("pre-asymptotic")[1].split(";")[0]
    assert "all-t bounds" in least and least.endswith("PASS")  # the bound holds at every t
    assert "pre-asymptotic, no verdict" in lines["loglog_slope_least_frequent"]
    assert "asymptotic, PASS" in lines["pi_t_l_most_frequent"]
    assert "asymptotic, PASS" in lines["loglog_slope_most_frequent"]
    doc = json.loads((tmp_path / "o" / "summary.json").read_text())
    rates = {r["name"]: r for r in doc["flows"]["gradient"]["rates"]}
    r = rates["pi_t_l_least_frequent"]
    assert r["regime"] == "pre-asymptotic" and r["verdict"] is None
    assert r["pi_t"] == pytest.approx(8.99, abs=0.01) and r["asymptotic_eps"] > 0.1
    assert rates["pi_t_l_most_frequent"]["verdict"] == "PASS"


class _Run:
    """Just what :func:`linsim.flow._judge_gf_rate` reads of a run."""

    def __init__(self, c, pi, t_end):
        import numpy as np

        self.model = type("M", (), {"classes": c})()
        self.pi = np.asarray(pi)
        self.t = np.array([1.0, t_end])


@pytest.mark.parametrize("measured,verdict", [(0.99905, "PASS"), (0.9995, "FAIL"), (1.05, "FAIL"),
                                             (None, "FAIL")])
def test_verdict_in_the_asymptotic_regime(measured, verdict):
    """pi_k t = 1e5, c = 1000: eps = log(1 + 1e8)/1e5 = 1.8e-4, tolerance 2 eps + 1e-6."""
    from linsim.flow import _judge_gf_rate

    r = {"name": "pi_t_l_least_frequent", "class": 1, "measured": measured,
         "predicted": 0.999}
    _judge_gf_rate(r, _Run(1000, [0.5], 2e5), 1e-6)
    assert r["regime"] == "asymptotic" and r["verdict"] == verdict
    assert r["tolerance"] == pytest.approx(2 * 18.42068 / 1e5 + 1e-6, rel=1e-5)


# ----------------------------------------------------------------------------------------------
# 4. SIGINT / SIGTERM: complete outputs or none; the sweep resumes
# ----------------------------------------------------------------------------------------------


def _wait_for(cond, timeout: float, proc: subprocess.Popen | None = None) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"finished early: {proc.returncode} {proc.stderr.read()}")
        if time.monotonic() > end:
            raise AssertionError("timed out")
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_flow_interrupted_writes_nothing(sig, tmp_path):
    out = tmp_path / "o"
    proc = start("flow", "--classes", "2000", "--flows", "gradient,sign", "--quiet", "--out",
                 out)
    time.sleep(2.5)  # imports done (warm cache), integrating c^2 = 4e6 weights
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, stderr
    assert stdout == "" and "Traceback" not in stderr
    assert stderr.splitlines()[-1] == (f"python -m linsim.flow: interrupted "
                                       f"({signal.Signals(sig).name}); nothing written to "
                                       f"{str(out)!r}")
    assert not out.exists() and leftovers(tmp_path) == []


def test_deferred_signals_finish_the_block_then_interrupt():
    """The writing of a set of files is never cut: the signal is delivered after the block."""
    done = []
    with pytest.raises(cli.Interrupted) as e:
        with cli.deferred_signals():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
            done.append(1)
    assert done == [1] and e.value.signum == signal.SIGTERM and e.value.exit_code == 143
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


SWEEP = ["--classes", "200,300", "--zipf", "0.5,1,1.5", "--flows", "gradient,sign",
         "--t-max", "1e4", "--points", "20", "--groups", "2", "--workers", "1", "--quiet"]


def test_sweep_interrupted_then_resumed(tmp_path):
    """SIGTERM after the first finished cell: exit 143, the finished cells kept, no table, no
    temporary file; the same command then computes only the rest, each cell once."""
    out = tmp_path / "o"
    proc = start("sweep", *SWEEP, "--out", out)
    _wait_for(lambda: any((out / "cells").glob("*.json")), 240, proc)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    assert "Traceback" not in stderr and "rerun the same command to resume" in stderr
    kept = sorted(p.name for p in (out / "cells").glob("*.json"))
    assert 1 <= len(kept) < 12
    assert not (out / "results.csv").exists() and leftovers(tmp_path) == []
    proc = run("sweep", *SWEEP, "--out", out, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert (doc["cells"], doc["skipped"], doc["computed"]) == (12, len(kept), 12 - len(kept))
    assert len(list((out / "cells").glob("*.json"))) == 12
    # the kept cells were not rewritten
    assert all(json.loads((out / "cells" / n).read_text())["status"] == "ok" for n in kept)


def test_figures_interrupted_keeps_complete_figures(tmp_path):
    out = tmp_path / "figs"
    proc = start("figures", "--quick", "--out", out)
    first = proc.stdout.readline()  # one figure finished (PNG and PDF)
    assert "->" in first, proc.stderr.read()
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    assert "Traceback" not in stderr and "figures written, each complete" in stderr
    stems = {p.stem for p in out.iterdir()}
    assert stems and all((out / f"{s}.png").is_file() and (out / f"{s}.pdf").is_file()
                         for s in stems)
    assert leftovers(tmp_path) == []


# ----------------------------------------------------------------------------------------------
# 5. a cold Numba cache is announced before compiling
# ----------------------------------------------------------------------------------------------

NOTE = "compiling the Numba kernels once for this install"


@pytest.mark.parametrize("quiet", [False, True])
def test_cold_cache_note_then_clean_interrupt(quiet, tmp_path):
    """An empty NUMBA_CACHE_DIR is a fresh install: the note comes first (unless --quiet),
    and Ctrl-C during the compilation is one line, no traceback, nothing written."""
    env = {**ENV, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    out = tmp_path / "o"
    proc = start("flow", *TINY["flow"][:-1], *(["--quiet"] if quiet else []), "--out", out,
                 env=env)
    if not quiet:
        line = proc.stderr.readline()
        assert line.startswith("python -m linsim.flow: ") and NOTE in line, line
        assert "45 s" in line
    else:
        time.sleep(3.0)  # compiling the driver at import
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and NOTE not in stderr
    assert "interrupted (SIGINT)" in stderr.splitlines()[-1]
    assert not out.exists()


def test_warm_cache_no_note(tmp_path):
    run("flow", *TINY["flow"], "--out", tmp_path / "a")  # compiles if this is the first run
    assert cli.kernels_cached() is True
    proc = run("flow", *TINY["flow"][:-1], "--out", tmp_path / "b")  # not --quiet
    assert proc.returncode == 0 and proc.stderr == ""


# ----------------------------------------------------------------------------------------------
# 6. random argument lists, every command line, output paths included
# ----------------------------------------------------------------------------------------------

def _main(module: str):
    import importlib

    return importlib.import_module(f"linsim.{module}").main


#: Per command: a small valid start, and option values, valid and not, to draw from.
RANDOM = {
    "flow": (TINY["flow"], {
        "--classes": ["3", "1", "x", "2.5"], "--zipf": ["1", "-1", "nan"],
        "--rtol": ["1e-6", "1e-3", "0.5", "0"], "--atol": ["1e-8", "1", "0"],
        "--flows": ["sign", "bogus", ""], "--t-max": ["5", "0", "inf"],
        "--points": ["3", "1"], "--groups": ["2", "9"], "--mode": ["reduced", "x"]}),
    "z24": (TINY["z24"], {
        "--cases": ["3", "5", "", "3,3"], "--methods": ["gd", "adam01", "nope"],
        "--seeds": ["1", "0", "x"], "--tol": ["0.1", "0", "1"], "--max-iter": ["5", "0"]}),
    "sweep": (TINY["sweep"], {
        "--classes": ["3", "3,4", "1", "a"], "--zipf": ["1", "x"], "--flows": ["sign", "no"],
        "--workers": ["1", "0"], "--problem": ["onehot", "nope"], "--rtol": ["1e-6", "1"],
        "--spec": ["/nonexistent.toml"], "--scheduler": ["tcp://x:1"]}),
    "figures": (["--quick", "--only", "nope"], {
        "--only": ["nope", "K24.bogus", "a,b"], "--quick": []}),
    "heavytail": (["z20", "--quick", "--no-plot", "--quiet", "--runs", "0"], {
        "--study": ["bogus", "all"], "--alpha": ["3", "1.5"], "--runs": ["0", "x"],
        "--steps": ["1", "x"], "--seed": ["-1"]}),
    "experiment": (["--m", "2", "--steps", "2", "--no-plot", "--quiet", "--m", "1"], {
        "--m": ["1", "x", "99"], "--optimizers": ["gd", "nope"], "--lr": ["gd=-1", "x"],
        "--steps": ["0", "2"], "--seed": ["-1"]}),
    "verify": (["--claims", "nope"], {"--claims": ["nope", "", ","], "--bogus": []}),
    "kb25": (TINY["kb25"], {
        "--alpha": ["1", "0", "x", "0.5,2"], "--d": ["1e2:1e3", "5:2", "x"],
        "--eps": ["0.1", "1", "0"], "--per-decade": ["1", "0", "x"],
        "--methods": ["gd", "nope"], "--fit-ranks": ["1:10", "inf:3"]}),
}
LONE = ["--bogus", "extra", "-x", "--json", "--", "--quiet", "--out"]
OUTS = ["ok", "ok", "nested", "file", "under-file", "proc"]


@st.composite
def _argv(draw):
    module = draw(st.sampled_from(sorted(RANDOM)))
    base, values = RANDOM[module]
    extra = []
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            opt = draw(st.sampled_from(sorted(values)))
            vals = values[opt]
            extra += [opt, *([draw(st.sampled_from(vals))] if vals else [])]
        else:
            extra.append(draw(st.sampled_from(LONE)))
    return module, base, extra, draw(st.sampled_from(OUTS))


def _out_path(kind: str, tmp: Path) -> Path:
    (tmp / "afile").write_text("x")
    return {"ok": tmp / "out", "file": tmp / "afile", "under-file": tmp / "afile" / "o",
            "proc": Path("/proc/linsim-x"), "nested": tmp / "a" / "b" / "out"}[kind]


@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(case=_argv())
def test_random_arguments_every_cli(case):
    """Never a traceback; exit code 0, 1 or 2; an error is one line; a refused run writes
    nothing. Mostly invalid lists; the valid ones are tiny runs."""
    module, base, extra, out_kind = case
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        out = _out_path(out_kind, tmp)
        argv = [*base, *([] if module == "verify" else ["--out", str(out)]), *extra]
        stdout, stderr = io.StringIO(), io.StringIO()
        cwd = os.getcwd()
        os.chdir(tmp)  # a stray relative path lands here, not in the repository
        try:
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                try:
                    rc = _main(module)([str(a) for a in argv])
                except SystemExit as e:  # --help only
                    rc = e.code
        finally:
            os.chdir(cwd)
        err = stderr.getvalue()
        event(f"{module} exit {rc}")  # pytest --hypothesis-show-statistics
        assert rc in (0, 1, 2), (argv, rc, err)
        assert "Traceback" not in err
        if rc == 2:
            assert len(err.splitlines()) == 1, (argv, err)
            if out_kind in ("ok", "nested"):
                assert not out.exists() and not (tmp / "a").exists(), argv
            assert leftovers(tmp) == []


@pytest.mark.parametrize("module,argv", [
    ("flow", ["--classes", "2.5", "--out", "/proc/x"]),
    ("z24", ["--cases", "7"]),
    ("sweep", ["--classes", "3", "--zipf", "x"]),
    ("figures", ["--only", "nope"]),
    ("heavytail", ["z20", "--alpha", "3"]),
    ("experiment", ["--m", "99"]),
    ("kb25", ["--eps", "1"]),
    ("verify", ["--claims", "nope"]),
    ("heavytail", []),
    ("verify", ["--bogus"]),
])
def test_invalid_argv_in_a_subprocess(module, argv, tmp_path):
    """The same contract from a fresh interpreter (``python -m``), imports included."""
    proc = run(module, *argv, cwd=tmp_path)
    one_error_line(proc, module)
    assert list(tmp_path.iterdir()) == []
