"""``python -m linsim.sweep``: grids, checks before work, resumption, determinism, backends."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from linsim import sweep
from linsim.integrate import IntegrationError
from linsim.problems import zipf

#: A small, fast K24 grid (reduced mode): 2 x 2 configurations x 2 flows.
SMALL = ["--classes", "10,50", "--zipf", "0.5,1.1", "--flows", "gradient,sign",
         "--mode", "reduced", "--t-max", "1e3", "--points", "30", "--groups", "2"]


def _main(argv, capsys):
    rc = sweep.main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _files(out: Path) -> dict[str, bytes]:
    return {n: (out / n).read_bytes() for n in ("results.csv", "results.npz")}


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """The SMALL grid run once in this process; its folder and table bytes."""
    out = tmp_path_factory.mktemp("small")
    assert sweep.main([*SMALL, "--out", str(out), "--workers", "1", "--quiet"]) == 0
    return out, _files(out)


def test_table_rows_and_rates(small_run):
    out, _ = small_run
    rows = _read_csv(out / "results.csv")
    assert len(rows) == 8
    assert [(r["classes"], r["zipf"], r["flow"]) for r in rows[:4]] == [
        ("10", "0.5", "gradient"), ("10", "0.5", "sign"), ("10", "1.1", "gradient"),
        ("10", "1.1", "sign")]  # grid order: parameters in the problem's order, flows innermost
    assert {r["status"] for r in rows} == {"ok"}
    assert len(set(r["cell"] for r in rows)) == 8
    for r in rows:
        if r["flow"] == "sign":  # K24.sf-closed-form: l ~ (c-1) e^(-2t)
            assert r["rate_name"] == "exp_rate_least_frequent"
            assert abs(float(r["rate_measured"]) - 2.0) < 1e-5
            assert float(r["max_rel_err"]) < 1e-10
        else:  # K24.gf-rate: pi_1 t l_1(t), which tends to 1 - 1/c; here at t = 1e3
            c, a = int(r["classes"]), float(r["zipf"])
            assert float(r["rate_predicted"]) == 1 - 1 / c
            pi1 = zipf.zipf_frequencies(c, a)[0]
            exact = pi1 * 1e3 * float(zipf.gf_loss(1e3, pi1, c))
            assert float(r["rate_measured"]) == pytest.approx(exact, rel=1e-6)
            assert float(r["max_rel_err"]) < 1e-5
        assert int(r["steps"]) > 0 and int(r["rhs_evals"]) > int(r["steps"])
    z = np.load(out / "results.npz")
    assert z["classes"].dtype == np.int64 and z["zipf"].dtype == np.float64
    assert list(z["flow"][:2]) == ["gradient", "sign"]
    meta = json.loads(str(z["meta"]))
    assert meta["columns"][:3] == ["cell", "problem", "classes"]
    t = _read_csv(out / "timings.csv")
    assert [r["cell"] for r in t] == [r["cell"] for r in rows]
    assert all(float(r["seconds"]) > 0 for r in t)
    # each cell file holds the normalized configuration and every rate
    rec = json.loads((out / "cells" / f"{rows[0]['cell']}.json").read_text())
    assert rec["params"]["classes"] == 10 and rec["params"]["rtol"] == 1e-8
    assert rec["result"]["detail"]["rates"][0]["claim"] == "K24.gf-rate"


def test_rerun_skips_and_recompute_is_byte_identical(small_run, tmp_path, capsys):
    src, files = small_run
    out = tmp_path / "copy"
    (out / "cells").mkdir(parents=True)
    for p in (src / "cells").iterdir():
        (out / "cells" / p.name).write_bytes(p.read_bytes())
    rc, _, err = _main([*SMALL, "--out", str(out), "--workers", "1"], capsys)
    assert rc == 0
    assert "skipped 8 of 8 cells" in err
    assert _files(out) == files
    # lose three cells (an interrupted sweep): only those are computed again, same bytes
    gone = sorted((out / "cells").iterdir())[:3]
    for p in gone:
        p.unlink()
    rc, stdout, err = _main([*SMALL, "--out", str(out), "--workers", "1", "--json"], capsys)
    doc = json.loads(stdout)
    assert (rc, doc["computed"], doc["skipped"], doc["failed"]) == (0, 3, 5, 0)
    assert "skipped 5 of 8 cells" in err
    assert _files(out) == files
    assert len(doc["rows"]) == 8 and all(r["seconds"] > 0 for r in doc["rows"])
    # a larger grid reuses the cells it shares with the first one
    rc, stdout, _ = _main(["--classes", "10,50,20", *SMALL[2:], "--out", str(out),
                           "--workers", "1", "--json", "--quiet"], capsys)
    doc = json.loads(stdout)
    assert (rc, doc["computed"], doc["skipped"]) == (0, 4, 8)


def test_local_processes_match_in_process(small_run, tmp_path, capsys):
    _, files = small_run
    out = tmp_path / "procs"
    rc, _, _ = _main([*SMALL, "--out", str(out), "--workers", "2", "--quiet"], capsys)
    assert rc == 0
    assert _files(out) == files


def test_spec_files_and_overrides(small_run, tmp_path, capsys):
    _, files = small_run
    spec = {"problem": "onehot", "flows": ["gradient", "sign"], "mode": "reduced",
            "t_max": 1000.0, "points": 30, "groups": 2,
            "grid": [{"classes": 10, "zipf": [0.5, 1.1]}, {"classes": [50], "zipf": "0.5,1.1"}]}
    # "0.5,1.1" is one text value, not a list: the second grid must reject it
    (tmp_path / "bad.json").write_text(json.dumps(spec))
    rc, _, err = _main(["--spec", str(tmp_path / "bad.json"), "--out",
                        str(tmp_path / "o0")], capsys)
    assert rc == 2 and "grid 2: --zipf must be" in err
    spec["grid"][1]["zipf"] = [0.5, 1.1]
    (tmp_path / "grid.json").write_text(json.dumps(spec))
    out = tmp_path / "json"
    rc, _, _ = _main(["--spec", str(tmp_path / "grid.json"), "--out", str(out), "--workers",
                      "1", "--quiet"], capsys)
    assert rc == 0
    assert _files(out) == files  # the same cells, the same bytes, as the command line
    toml = (
        'flows = "gradient,sign"\nmode = "reduced"\nt_max = 1e3\npoints = 30\ngroups = 2\n'
        'classes = [10, 50]\nzipf = [0.5, 1.1]\n')
    (tmp_path / "grid.toml").write_text(toml)
    rc, _, err = _main(["--spec", str(tmp_path / "grid.toml"), "--out", str(out),
                        "--workers", "1"], capsys)
    assert rc == 0 and "skipped 8 of 8" in err
    # a command-line list replaces the spec's values
    rc, stdout, _ = _main(["--spec", str(tmp_path / "grid.toml"), "--zipf", "1.1",
                           "--out", str(out), "--workers", "1", "--json"], capsys)
    doc = json.loads(stdout)
    assert (rc, doc["cells"], doc["skipped"]) == (0, 4, 4)
    assert {r["zipf"] for r in doc["rows"]} == {1.1}


def test_normalized_configuration_has_one_id():
    a = sweep.expand([{"classes": "10", "zipf": "1", "mode": "reduced", "groups": 2}], Path("o"))
    b = sweep.expand([{"classes": 10.0, "zipf": 1.0, "mode": ["reduced"], "groups": "2",
                       "rtol": 1e-8, "flows": ["gradient", "sign"]}], Path("o"))
    assert [c.id for c in a] == [c.id for c in b]
    assert len({c.id for c in a}) == 2
    c = sweep.expand([{"classes": 10, "zipf": 1, "mode": "reduced", "groups": 2,
                       "rtol": 1e-9}], Path("o"))
    assert c[0].id != a[0].id


@pytest.mark.parametrize("argv, message", [
    (["--classes", "1"], "--classes must be an integer >= 2, got '1'"),
    (["--classes", "10,1.5"], "--classes must be an integer >= 2, got '1.5'"),
    (["--zipf", "1,nan"], "--zipf must be a finite number >= 0, got 'nan'"),
    (["--zipf", "inf"], "--zipf must be a finite number >= 0, got 'inf'"),
    (["--flows", "gradient,bogus"], "--flows must be a comma list of distinct names"),
    (["--mode", "reduced,half"], "argument --mode: invalid choice: 'half'"),
    (["--classes", "4"], "--groups must be an integer in [1, 4]"),
    (["--classes", "100000", "--mode", "full"], "--mode full needs about"),
    (["--problem", "k42"], "--problem must be one of onehot"),
    (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler needs --dask"),
    (["--workers", "0"], "--workers must be an integer in [1, 1024]"),
    (["--spec", "missing.toml"], "--spec: cannot read 'missing.toml'"),
])
def test_bad_grids_fail_before_any_work(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    rc, stdout, err = _main([*argv, "--out", str(out)], capsys)
    assert rc == 2
    assert message in err
    assert err.count("\n") == 1 and err.startswith("python -m linsim.sweep: error: ")
    assert stdout == "" and not out.exists()


@pytest.mark.parametrize("text, suffix, message", [
    ('{"classes": [10], "clases": 5}', ".json", "unknown parameter 'clases' for problem onehot"),
    ('{"classes": [10], ', ".json", "is not valid JSON"),
    ('classes = [10\n', ".toml", "is not valid TOML"),
    ('[1, 2]', ".json", "must hold a table"),
    ('{"classes": [[10, 20]]}', ".json", "classes must be a value or a non-empty list"),
    ('{"classes": []}', ".json", "classes must be a value or a non-empty list"),
    ('{"grid": []}', ".json", "grid must be a non-empty list of tables"),
    ('{"classes": true}', ".json", "--classes must be an integer >= 2, got 'true'"),
    ('{"problem": ["onehot"]}', ".json", "--problem must be one of onehot"),
])
def test_bad_spec_files(text, suffix, message, tmp_path, capsys):
    spec = tmp_path / f"spec{suffix}"
    spec.write_text(text)
    out = tmp_path / "out"
    rc, _, err = _main(["--spec", str(spec), "--out", str(out)], capsys)
    assert rc == 2 and message in err and err.count("\n") == 1
    assert not out.exists()


def test_workers_memory_refusal(tmp_path, capsys, monkeypatch):
    """Full-mode cells running at once must fit together, not only one by one."""
    monkeypatch.setattr(sweep, "available_memory", lambda: 2**29)
    grid = ["--classes", "1500,1501,1502", "--mode", "full", "--out", str(tmp_path / "o")]
    rc, _, err = _main([*grid, "--workers", "3"], capsys)
    assert rc == 2 and "--workers 3: the largest cells need about" in err
    cells = sweep.expand([{"classes": [1500, 1501, 1502], "mode": "full"}], tmp_path)
    sweep.check_memory(cells, 1)  # one at a time fits


def test_integration_failure_is_recorded_not_fatal(tmp_path, capsys, monkeypatch):
    from linsim.experiments import k24

    real = k24.run_onehot

    def run_onehot(model, flows, **kw):  # the integrator gives up on the tightest atol
        if kw["atol"] == 1e-20:
            raise IntegrationError(0.0, "step size underflow (test)", {"steps": 5,
                                                                      "rejected": 9})
        return real(model, flows, **kw)

    monkeypatch.setattr(k24, "run_onehot", run_onehot)
    out = tmp_path / "fail"
    argv = ["--classes", "10", "--groups", "2", "--mode", "reduced", "--t-max", "100",
            "--points", "10", "--atol", "1e-20,1e-10", "--flows", "gradient",
            "--out", str(out), "--workers", "1"]
    rc, stdout, err = _main(argv, capsys)
    assert rc == 1
    rows = _read_csv(out / "results.csv")
    assert [r["status"] for r in rows] == ["failed", "ok"]
    assert rows[0]["error"] == "integration failed at t=0: step size underflow (test)"
    assert rows[1]["error"] == ""
    assert rows[0]["rate_measured"] == "nan" and rows[0]["rate_name"] == ""
    assert (rows[0]["steps"], rows[0]["rejected"], rows[0]["rhs_evals"]) == ("5", "9", "-1")
    assert "1 not ok" in stdout and "failed: " + rows[0]["cell"] in stdout
    # a failed integration is saved: a rerun does not retry it
    rc, _, err = _main(argv, capsys)
    assert rc == 1 and "skipped 2 of 2" in err


def _fake_runner(run):
    def prepare(raw, flows, out):
        return {"x": int(raw.get("x", 0))}, tuple(flows or ("gradient",))

    return sweep.ProblemRunner(name="fake", description="test", params=("x",),
                               prepare=prepare, run=run)


def test_other_exceptions_and_csv_quoting(tmp_path, capsys, monkeypatch):
    calls = []

    def run(params, flow):
        calls.append(params["x"])
        if params["x"] == 1:
            raise IntegrationError(3.0, 'stiff, "very"\nstiff', {"steps": 7, "rhs_evals": 40})
        if params["x"] == 2:
            raise ValueError("a bug")
        return {"rate_name": "r", "rate_measured": 1.5, "rate_predicted": 1.5, "steps": 3,
                "detail": {"anything": [1, 2]}}

    monkeypatch.setitem(sweep.PROBLEMS, "fake", _fake_runner(run))
    monkeypatch.setattr(sweep, "_all_params", lambda: {"x": "x", **{
        p: "" for p in sweep.PROBLEMS["onehot"].params}})
    out = tmp_path / "fake"
    argv = ["--problem", "fake", "--x", "0,1,2", "--out", str(out), "--workers", "1",
            "--json", "--quiet"]
    rc, stdout, _ = _main(argv, capsys)
    doc = json.loads(stdout)
    assert rc == 1 and doc["failed"] == 2
    rows = _read_csv(out / "results.csv")
    assert [r["status"] for r in rows] == ["ok", "failed", "error"]
    assert rows[1]["error"] == 'integration failed at t=3: stiff, "very"\nstiff'
    assert (rows[1]["steps"], rows[1]["rhs_evals"], rows[1]["rejected"]) == ("7", "40", "-1")
    assert rows[2]["error"] == "ValueError: a bug"
    assert rows[0]["max_rel_err"] == "nan" and rows[0]["steps"] == "3"
    # the error cell is not saved, so a rerun retries it (and only it)
    calls.clear()
    rc, stdout, _ = _main(argv, capsys)
    assert rc == 1 and calls == [2] and json.loads(stdout)["skipped"] == 2


def test_interrupt_keeps_finished_cells(tmp_path, capsys, monkeypatch):
    calls = []

    def run(params, flow):
        calls.append(params["x"])
        if params["x"] == 1 and len(calls) == 2:
            raise KeyboardInterrupt
        return {"rate_name": "r", "rate_measured": float(params["x"])}

    monkeypatch.setitem(sweep.PROBLEMS, "fake", _fake_runner(run))
    cells = sweep.expand([{"problem": "fake", "x": [0, 1, 2]}], tmp_path)
    monkeypatch.setattr(sweep, "check_args", lambda args: cells)
    argv = ["--out", str(tmp_path / "o"), "--workers", "1"]
    rc, _, err = _main(argv, capsys)
    assert rc == 130 and "1 finished cells are saved" in err
    assert not (tmp_path / "o" / "results.csv").exists()
    rc, stdout, err = _main(argv, capsys)
    assert rc == 0 and calls == [0, 1, 1, 2] and "skipped 1 of 3" in err


def test_dask_local_cluster_matches(small_run, tmp_path):
    _, files = small_run
    cells = sweep.expand([{"classes": [10, 50], "zipf": [0.5, 1.1], "flows": "gradient,sign",
                           "mode": "reduced", "t_max": 1e3, "points": 30, "groups": 2}],
                         tmp_path)
    out = tmp_path / "dask"
    res = sweep.run_sweep(cells, out, backend="dask", workers=1,
                          cluster_kwargs={"processes": False, "threads_per_worker": 2})
    assert (res.computed, res.skipped, res.failed) == (8, 0, 0)
    assert _files(out) == files


def test_dask_scheduler_address(small_run, tmp_path, capsys):
    import dask.distributed as distributed  # the test extra installs it: no skip

    src, files = small_run
    out = tmp_path / "sched"
    (out / "cells").mkdir(parents=True)
    for p in sorted((src / "cells").iterdir())[:5]:
        (out / "cells" / p.name).write_bytes(p.read_bytes())
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        rc, stdout, _ = _main([*SMALL, "--out", str(out), "--dask", "--scheduler",
                               cluster.scheduler_address, "--json", "--quiet"], capsys)
    doc = json.loads(stdout)
    assert (rc, doc["computed"], doc["skipped"]) == (0, 3, 5)
    assert _files(out) == files


def test_help_lists_problem_parameters(capsys):
    with pytest.raises(SystemExit) as e:
        sweep.main(["--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    for opt in ("--classes", "--zipf", "--mode", "--t-max", "--dask", "--scheduler",
                "--workers", "--spec"):
        assert opt in text


def test_progress_bar_on_a_terminal_only(tmp_path, capsys, monkeypatch):
    argv = ["--classes", "10", "--groups", "2", "--mode", "reduced", "--t-max", "10",
            "--points", "5", "--flows", "sign", "--workers", "1"]
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    rc, _, err = _main([*argv, "--out", str(tmp_path / "a")], capsys)
    assert rc == 0 and "sweep:" in err and "0/1 [" in err and "cell/s" in err
    rc, _, err = _main([*argv, "--out", str(tmp_path / "b"), "--quiet"], capsys)
    assert rc == 0 and err == ""


def test_dask_missing_is_a_usage_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # import raises ImportError
    rc, _, err = _main(["--dask", "--out", str(tmp_path / "o")], capsys)
    assert rc == 2 and "--dask needs dask.distributed: pip install -e '.[dask]'" in err


def test_docstring_spec_example(tmp_path):
    """The TOML example of the module docstring is a valid spec: 3 x 3 + 2 configurations."""
    doc = sweep.__doc__
    text = doc.split("shared defaults)::\n")[1].split("\n\nOptions given")[0]
    (tmp_path / "grid.toml").write_text("\n".join(line[4:] for line in text.splitlines()))
    grids = sweep.spec_grids(sweep.load_spec(tmp_path / "grid.toml"), {})
    cells = sweep.expand(grids, tmp_path / "out")
    assert len(cells) == (9 + 2) * 2
    assert {c.params["mode"] for c in cells[-4:]} == {"full", "reduced"}
    assert all(c.params["mode"] == "reduced" for c in cells[:18])


def test_adam_flows_sweep(tmp_path, capsys):
    """The Adam ODE through a sweep: --adam-b is a grid axis, and each row reports the fitted
    exponential rate against the asymptotic rate of that b (adam.k24-rate, eps = 0)."""
    from linsim.experiments.adam import asymptotic_rate

    out = tmp_path / "adam"
    rc = sweep.main(["--classes", "20", "--zipf", "1.1", "--mode", "reduced", "--t-max", "300",
                     "--adam-a", "3", "--adam-b", "1,2", "--adam-eps", "0", "--flows",
                     "adam,rmsprop", "--out", str(out), "--workers", "1", "--quiet"])
    assert rc == 0
    rows = _read_csv(out / "results.csv")
    assert [(r["adam_b"], r["flow"]) for r in rows] == [
        ("1.0", "adam"), ("1.0", "rmsprop"), ("2.0", "adam"), ("2.0", "rmsprop")]
    for r in rows:
        b = float(r["adam_b"])
        assert r["status"] == "ok" and r["rate_name"] == "exp_rate_least_frequent"
        want = asymptotic_rate(3.0 if r["flow"] == "adam" else None, b)
        assert float(r["rate_predicted"]) == pytest.approx(want, rel=1e-12)
        assert float(r["rate_measured"]) == pytest.approx(want, rel=1e-3)


# ----------------------------------------------------------------------------------------------
# Dask: a real LocalCluster of worker processes, the command line in a subprocess
# ----------------------------------------------------------------------------------------------

#: 2 x 3 x 2 = 12 full-mode cells of a fraction of a second each.
DASK_GRID = ["--classes", "150,200", "--zipf", "0.5,1.1,1.4", "--flows", "gradient,sign",
             "--t-max", "1e4", "--points", "20", "--groups", "2"]


def _children(pid: int) -> list[int]:
    """Every descendant process of ``pid`` (parent ids from /proc/*/stat)."""
    parent = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        parent[int(stat.parent.name)] = int(text.rsplit(")", 1)[1].split()[1])
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [q for q, pp in parent.items() if pp == p]
        out += kids
        todo += kids
    return out


def _is_worker(pid: int) -> bool:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return False
    return b"spawn_main" in cmd  # a multiprocessing child: the nannies' worker processes


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs /proc (Linux)")
def test_dask_processes_worker_killed_mid_sweep(tmp_path):
    """``--dask --workers 2``: a LocalCluster of two worker processes. One worker is killed
    (SIGKILL) once the first cell is saved; the scheduler reruns its cell elsewhere and the
    sweep finishes (or, if a cell ends as ``error``, a rerun resumes): every cell is saved
    once, and the table equals the one computed in a single process."""
    import os
    import signal
    import subprocess

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root),
                                                        os.environ.get("PYTHONPATH", "")])}
    out = tmp_path / "dask"
    cmd = [sys.executable, "-m", "linsim.sweep", *DASK_GRID, "--dask", "--workers", "2",
           "--quiet", "--json", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    import time

    end = time.monotonic() + 120
    while not any((out / "cells").glob("*.json")):
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < end, "no cell finished"
        time.sleep(0.02)
    workers = [p for p in _children(proc.pid) if _is_worker(p)]
    assert len(workers) >= 2, workers
    done_at_kill = len(list((out / "cells").glob("*.json")))
    os.kill(workers[0], signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=180)
    assert done_at_kill < 12, "the sweep ended before the kill: make the cells slower"
    assert proc.returncode in (0, 1), stderr
    doc = json.loads(stdout)
    computed = doc["computed"]
    if proc.returncode == 1:  # a cell ended as "error" (KilledWorker): resume it
        assert all(r["status"] in ("ok", "error") for r in doc["rows"])
        again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=180)
        assert again.returncode == 0, again.stderr
        redo = json.loads(again.stdout)
        assert redo["computed"] == sum(r["status"] == "error" for r in doc["rows"])
        assert redo["skipped"] + redo["computed"] == 12
        doc = redo
    assert computed == 12 and doc["failed"] == 0
    assert len(list((out / "cells").glob("*.json"))) == 12
    assert sorted(r["cell"] for r in doc["rows"]) == sorted(
        p.stem for p in (out / "cells").glob("*.json"))
    # the same table as one process computes
    ref = tmp_path / "ref"
    assert sweep.main([*DASK_GRID, "--workers", "1", "--quiet", "--out", str(ref)]) == 0
    assert _files(out) == _files(ref)


def test_cell_that_disagrees_with_its_closed_form_fails(tmp_path, capsys):
    """A wrong answer is never an "ok" row: with atol = 1 gradient flow is 57% off its closed
    form (python -m linsim.flow says DISAGREES); the cell's status is failed, exit code 1."""
    argv = ["--classes", "50", "--flows", "gradient,sign", "--rtol", "1e-4", "--atol", "1",
            "--workers", "1", "--json", "--quiet", "--out", str(tmp_path / "o")]
    rc, stdout, _ = _main(argv, capsys)
    rows = {r["flow"]: r for r in json.loads(stdout)["rows"]}
    assert rc == 1
    assert rows["gradient"]["status"] == "failed" and "DISAGREES" in rows["gradient"]["error"]
    assert rows["gradient"]["max_rel_err"] > 0.1
    assert rows["sign"]["status"] == "ok"
