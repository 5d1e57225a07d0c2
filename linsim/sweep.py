"""``python -m linsim.sweep``: a grid of (problem, parameters, flows) configurations.

Every configuration x flow is one *cell*. The cells run on local processes (the default,
``--workers``) or on dask.distributed (``--dask``: a LocalCluster, or ``--scheduler
tcp://HOST:PORT`` for a running cluster; ``pip install -e '.[dask]'``)::

    python -m linsim.sweep --classes 10,100,1000 --zipf 0.5,1,1.1 --flows gradient,sign \\
        --mode reduced --out sweep-onehot
    python -m linsim.sweep --spec grid.toml --dask

Grid specification
------------------
On the command line every problem parameter takes a comma list; the grid is their Cartesian
product, times ``--flows``. A spec file (``--spec``, JSON or TOML) holds the same keys, each a
value or a list of values, and optionally ``grid``: a list of such tables, each one grid (the
top-level keys are shared defaults)::

    problem = "onehot"
    flows = ["gradient", "sign"]
    mode = "reduced"
    [[grid]]
    classes = [10, 100, 1000]
    zipf = [0.5, 1.0, 1.1]
    [[grid]]
    classes = 2047
    zipf = 1.05
    mode = ["full", "reduced"]

Options given on the command line replace the spec's values in every grid. Parameters left out
take the problem's defaults. The whole grid is checked before any work starts (names, ranges,
memory): a bad one gets a one-line error and exit code 2, and nothing is written.

Problems
--------
:data:`PROBLEMS` maps a name to a :class:`ProblemRunner`: its parameter names, how to check one
configuration and how to run one cell. ``onehot`` (the default) is the K24 one-hot model of
``python -m linsim.flow`` (its ``--problem onehot``) and reuses that command's checks and
per-flow summary. ``bigram`` is the KB25 linear bigram model of ``python -m linsim.kb25``
(parameters ``alpha, d, eps``; flows ``gd, sign, halving``; each cell reports ``T_eps``).

Outputs (in ``--out``)
----------------------
``cells/<id>.json``
    One finished cell each, written atomically as soon as it finishes; ``<id>`` hashes the
    normalized configuration. A rerun skips the cells found there (and says how many), so an
    interrupted sweep resumes where it stopped. Delete a file to recompute its cell.
``results.csv``, ``results.npz``
    The tidy table, one row per cell in grid order: ``cell, problem``, the parameters,
    ``flow, status, error``, the headline rate (``rate_name, rate_measured, rate_predicted``),
    ``max_rel_err, final_loss, steps, rejected, rhs_evals``. No timing is in them: the same grid
    gives the same bytes, whether computed or resumed.
``timings.csv``
    ``cell, seconds`` (wall time of each cell, as first computed).

``status`` is ``ok``, ``failed`` (the integration failed; ``error`` says why; kept, not
retried) or ``error`` (any other exception; not saved, so a rerun retries it).

Exit codes: 0 every cell succeeded, 1 some cell failed or raised (the table says which), 2
invalid input (nothing computed or written), 130/143 interrupted by SIGINT/SIGTERM (finished
cells are kept; the table files are written together or not at all).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import io
from .cli import (
    Parser,
    UsageError,
    available_memory,
    check_out,
    compile_progress,
    deferred_signals,
    interruptible,
    number,
    write_failed,
)
from .integrate import IntegrationError, usable_cpus

PROG = "python -m linsim.sweep"
#: Columns of the tidy table after the parameters, in order, with their kinds.
RESULT_COLUMNS: dict[str, type] = {
    "rate_name": str, "rate_measured": float, "rate_predicted": float, "max_rel_err": float,
    "final_loss": float, "steps": int, "rejected": int, "rhs_evals": int,
}
#: Status of a cell whose result is saved (a rerun skips it).
SAVED_STATUS = ("ok", "failed")
#: Fraction of the available memory that the cells running at once may claim.
MEMORY_FRACTION = 0.8


# ----------------------------------------------------------------------------------------------
# problem runners
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProblemRunner:
    """How the sweep checks and runs one problem.

    Attributes
    ----------
    name : str
        The key in :data:`PROBLEMS` and the value of ``--problem``.
    description : str
        One line for ``--help``.
    params : tuple of str
        Grid parameter names, in table order (``--classes`` on the command line for ``classes``).
    prepare : callable
        ``prepare(raw, flows, out) -> (params, flows)``: check one configuration, given as
        ``{name: text}`` for the parameters that are set and the flow names (None for the
        default); return every parameter normalized (typed, defaults filled in) and the flows.
        Raises :class:`linsim.flow.UsageError` with one line.
    run : callable
        ``run(params, flow) -> dict``: one cell. Returns the :data:`RESULT_COLUMNS` values and
        optionally ``detail`` (JSON data kept in the cell file) and ``failed`` (one line: the
        answer is wrong, e.g. DISAGREES with a closed form; the cell's status is then
        ``failed``). Raises
        :class:`linsim.integrate.IntegrationError` when the integration fails.
    memory_bytes : callable
        ``memory_bytes(params) -> int``: about how much memory one cell needs.
    help : dict
        Parameter name -> help text (also ``flows``).
    """

    name: str
    description: str
    params: tuple[str, ...]
    prepare: Callable[[dict[str, str], list[str] | None, Path], tuple[dict, tuple[str, ...]]]
    run: Callable[[dict, str], dict]
    memory_bytes: Callable[[dict], int] = lambda params: 0
    help: dict[str, str] = field(default_factory=dict)


_ONEHOT_PARAMS = ("classes", "zipf", "mode", "t_max", "points", "groups", "method", "rtol", "atol",
                  "adam_a", "adam_b", "adam_eps")


def _onehot_config(raw: dict[str, Any], flows: list[str] | tuple[str, ...] | None,
                   out: Path):
    """``python -m linsim.flow``'s own checks of one configuration
    (:meth:`linsim.run.FlowConfig.from_text`): every option gets its default, every value its
    check."""
    from .run import FlowConfig

    return FlowConfig.from_text(raw, flows, out=out)


def _onehot_prepare(raw: dict[str, str], flows: list[str] | None,
                    out: Path) -> tuple[dict, tuple[str, ...]]:
    """Check one one-hot configuration; return its normalized parameters and flows."""
    cfg = _onehot_config(raw, flows, out)
    return {k: getattr(cfg, k) for k in _ONEHOT_PARAMS}, tuple(cfg.flows)


def _onehot_run(params: dict, flow_name: str) -> dict:
    """One one-hot cell: :func:`linsim.experiments.k24.run_onehot` for one flow, summarized by
    ``python -m linsim.flow``'s own :func:`linsim.run.summarize` (as in its summary.json)."""
    from .experiments.k24 import run_onehot
    from .problems.softmax import OneHotModel
    from .run import flow_params, summarize

    args = _onehot_config(params, (flow_name,), Path("."))
    model = OneHotModel(params["classes"], params["zipf"], params["mode"])
    run = run_onehot(model, (flow_name,), t_max=params["t_max"], points=params["points"],
                     groups=params["groups"], method=params["method"], rtol=params["rtol"],
                     atol=params["atol"], flow_params=flow_params(args))
    summary = summarize(run, args, 0.0)
    s = summary["flows"][flow_name]
    return {"rate_name": s["rate"]["name"], "rate_measured": s["rate"]["measured"],
            "rate_predicted": s["rate"]["predicted"], "max_rel_err": s["max_rel_err"],
            "final_loss": s["final_overall_loss"], "steps": s["steps"],
            "rejected": s["rejected"], "rhs_evals": s["rhs_evals"], "detail": s,
            **({"failed": "; ".join(summary["problems"])} if summary["problems"] else {})}


def _onehot_memory(params: dict) -> int:
    from .integrate import get_tableau
    from .problems.softmax import OneHotModel

    model = OneHotModel(params["classes"], params["zipf"], params["mode"])
    return model.memory_bytes(get_tableau(params["method"]).state_vectors)


def _flow_help() -> dict[str, str]:
    from .run import OPTIONS

    return {name: opt.help for name, opt in OPTIONS.items()}


def _bigram_prepare(raw: dict[str, str], flows: list[str] | None,
                    out: Path) -> tuple[dict, tuple[str, ...]]:
    """Check one KB25 bigram configuration (THEORY.md, "KB25") with ``python -m
    linsim.kb25``'s ranges (:class:`linsim.experiments.kb25.BigramCell`); ``flows`` are the
    methods (None: gd, sign)."""
    from .experiments.kb25 import BigramCell

    cell = BigramCell.from_text(raw, methods=tuple(flows or ("gd", "sign")))
    return cell.params(), cell.methods


def _bigram_help() -> dict[str, str]:
    from .experiments.kb25 import CELL_OPTIONS

    return {name: opt.help for name, opt in CELL_OPTIONS.items()}


def _bigram_run(params: dict, method: str) -> dict:
    """One KB25 cell: the iterations to ``r <= eps`` (:mod:`linsim.experiments.kb25`)."""
    from .experiments import kb25 as K

    a, d, eps = params["alpha"], params["d"], params["eps"]
    if method == "gd":
        t = K.gd_time_large(a, d, eps) if a > 1 else K.gd_times(a, [d], eps)[0]
        T, pred, name = math.ceil(t), K.gd_predicted(a, d, eps), "T_eps_gd"
    elif method == "sign":
        T, pred, name = K.sd_time(a, d, eps)["T"], K.sd_predicted(a, d, eps), "T_eps_sign"
    else:
        T, pred, name = K.sd_time(a, d, eps, "halving")["T"], K.halving_bound(a, d, eps), \
            "T_eps_halving"
    return {"rate_name": name, "rate_measured": T, "rate_predicted": pred, "max_rel_err": None,
            "final_loss": eps, "steps": T, "rejected": 0, "rhs_evals": 0}


#: The problems a sweep can run, by name. Add a :class:`ProblemRunner` here to sweep another
#: (here, at import: worker processes and Dask workers look the runner up by name in their own
#: import of this module).
PROBLEMS: dict[str, ProblemRunner] = {
    "onehot": ProblemRunner(
        name="onehot",
        description="K24 one-hot softmax model with Zipf classes (python -m linsim.flow)",
        params=_ONEHOT_PARAMS, prepare=_onehot_prepare, run=_onehot_run,
        memory_bytes=_onehot_memory, help=_flow_help()),
    "bigram": ProblemRunner(
        name="bigram",
        description="KB25 linear bigram model: iterations to relative error eps of gd, sign "
                    "(step tuned to the horizon) and halving (python -m linsim.kb25)",
        params=("alpha", "d", "eps"), prepare=_bigram_prepare, run=_bigram_run,
        memory_bytes=lambda p: 24 * p["d"] if p["alpha"] <= 1 else 24 * 2**20,
        help=_bigram_help()),
}


# ----------------------------------------------------------------------------------------------
# the grid
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One configuration x flow: the unit of work and of resumption."""

    problem: str
    params: dict
    flow: str

    @property
    def key(self) -> dict:
        """The normalized configuration that :attr:`id` hashes."""
        return {"problem": self.problem, "params": self.params, "flow": self.flow}

    @property
    def id(self) -> str:
        """16 hex digits of the SHA-256 of the normalized configuration."""
        return hashlib.sha256(io.dumps(self.key).encode()).hexdigest()[:16]


def _values(name: str, value: Any, where: str) -> list[str]:
    """A spec value (scalar or non-empty list of scalars) as a list of texts."""
    items = value if isinstance(value, list) else [value]
    if not items or any(isinstance(v, (list, dict)) for v in items):
        raise UsageError(f"{where}{name} must be a value or a non-empty list of values, "
                         f"got {json.dumps(value)}")
    return [json.dumps(v) if isinstance(v, bool) else str(v) for v in items]


def _flow_list(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        return [s.strip() for s in value.split(",")]
    return _values("flows", value, where)


def expand(grids: list[dict], out: Path) -> list[Cell]:
    """Check every configuration of ``grids`` and return the cells, in grid order.

    Parameters
    ----------
    grids : list of dict
        Each ``{"problem": name, "flows": list or None, param: value or list, ...}``; values
        as in a spec file.
    out : Path
        The output folder (checked by the problems that write there).

    Returns
    -------
    list of Cell
        The Cartesian product of each grid (parameters in the problem's order, flows
        innermost), duplicates dropped.

    Raises
    ------
    linsim.flow.UsageError
        On the first bad name or value, with one line that names it.
    """
    cells: list[Cell] = []
    seen: set[str] = set()
    for i, grid in enumerate(grids):
        where = f"grid {i + 1}: " if len(grids) > 1 else ""
        grid = dict(grid)
        name = grid.pop("problem", "onehot")
        runner = PROBLEMS.get(name) if isinstance(name, str) else None
        if runner is None:
            raise UsageError(f"{where}--problem must be one of {', '.join(PROBLEMS)}, "
                             f"got {name!r}")
        flows = grid.pop("flows", None)
        flows = None if flows is None else _flow_list(flows, where)
        unknown = [k for k in grid if k not in runner.params]
        if unknown:
            raise UsageError(f"{where}unknown parameter {unknown[0]!r} for problem {name} "
                             f"(valid: {', '.join(runner.params)}, flows)")
        names = [k for k in runner.params if k in grid]
        lists = [_values(k, grid[k], where) for k in names]
        for combo in itertools.product(*lists):
            raw = dict(zip(names, combo, strict=True))
            try:
                params, fl = runner.prepare(raw, flows, out)
            except UsageError as e:
                raise UsageError(f"{where}{e}") from None
            for f in fl:
                cell = Cell(name, params, f)
                if cell.id not in seen:
                    seen.add(cell.id)
                    cells.append(cell)
    if not cells:
        raise UsageError("the grid is empty")
    return cells


def check_memory(cells: list[Cell], workers: int) -> None:
    """Refuse a sweep whose ``workers`` largest cells, running at once, would not fit."""
    need = sorted((PROBLEMS[c.problem].memory_bytes(c.params) for c in cells), reverse=True)
    together = sum(need[:max(1, workers)])
    avail = available_memory()
    if together > MEMORY_FRACTION * avail and workers > 1:
        raise UsageError(
            f"--workers {workers}: the largest cells need about {together / 2**30:.1f} GiB "
            f"at once ({avail / 2**30:.1f} GiB available); lower --workers")


def load_spec(path: Path) -> dict:
    """Read a JSON or TOML spec file (a table); raise :class:`UsageError` with one line."""
    try:
        text = path.read_bytes()
    except OSError as e:
        raise UsageError(f"--spec: cannot read {str(path)!r}: {e.strerror}") from None
    try:
        if path.suffix.lower() == ".toml":
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib
            doc = tomllib.loads(text.decode())
        else:
            doc = json.loads(text)
    except (ValueError, UnicodeDecodeError) as e:
        kind = "TOML" if path.suffix.lower() == ".toml" else "JSON"
        raise UsageError(f"--spec: {str(path)!r} is not valid {kind}: {e}") from None
    if not isinstance(doc, dict):
        raise UsageError(f"--spec: {str(path)!r} must hold a table (an object), not "
                         f"{type(doc).__name__}")
    return doc


def spec_grids(spec: dict, overrides: dict[str, Any]) -> list[dict]:
    """The grids of a spec (``grid`` entries over shared keys), with ``overrides`` applied."""
    spec = dict(spec)
    subs = spec.pop("grid", [{}])
    if not isinstance(subs, list) or not subs or not all(isinstance(g, dict) for g in subs):
        raise UsageError("--spec: grid must be a non-empty list of tables")
    return [{**spec, **g, **overrides} for g in subs]


# ----------------------------------------------------------------------------------------------
# running cells
# ----------------------------------------------------------------------------------------------


def run_cell(cell: Cell) -> dict:
    """Run one cell and return its record (the content of ``cells/<id>.json``).

    An :class:`~linsim.integrate.IntegrationError` gives status ``failed``; any other exception
    status ``error``; both with the reason in ``error``.
    """
    start = time.perf_counter()
    try:
        result = PROBLEMS[cell.problem].run(cell.params, cell.flow)
    except IntegrationError as e:
        stats = {k: e.stats.get(new) for new, k in
                 (("naccepted", "steps"), ("nrejected", "rejected"), ("nfev", "rhs_evals"))}
        return _record(cell, "failed", str(e), stats, time.perf_counter() - start)
    except Exception as e:  # recorded, not fatal: the rest of the sweep goes on
        return error_record(cell, e, time.perf_counter() - start)
    wrong = result.pop("failed", None)  # a wrong answer is a failure, never a silent "ok"
    return _record(cell, "failed" if wrong else "ok", wrong or "", result,
                   time.perf_counter() - start)


def _record(cell: Cell, status: str, error: str, result: dict, seconds: float) -> dict:
    return {**cell.key, "cell": cell.id, "status": status, "error": error, "result": result,
            "seconds": seconds, "versions": io.versions()}


def error_record(cell: Cell, exc: BaseException, seconds: float = math.nan) -> dict:
    """The record of a cell that raised ``exc`` (status ``error``; not saved, so retried)."""
    return _record(cell, "error", f"{type(exc).__name__}: {exc}".splitlines()[0], {}, seconds)


def _ignore_sigint() -> None:  # worker processes: Ctrl-C is the parent's to handle
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_local(cells: list[Cell], workers: int, done: Callable[[dict], None]) -> None:
    if workers <= 1 or len(cells) <= 1:
        for cell in cells:
            done(run_cell(cell))
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ex = ProcessPoolExecutor(min(workers, len(cells)), initializer=_ignore_sigint,
                             mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = {ex.submit(run_cell, c): c for c in cells}
        for fut in as_completed(futures):
            try:
                rec = fut.result()
            except Exception as e:  # a worker died (killed, out of memory): BrokenProcessPool
                rec = error_record(futures[fut], e)
            done(rec)
    except BaseException:  # Ctrl-C: stop the running cells too (finished ones are saved)
        procs = list((getattr(ex, "_processes", None) or {}).values())
        ex.shutdown(wait=False, cancel_futures=True)
        for proc in procs:
            proc.terminate()
        raise
    ex.shutdown()


def _run_dask(cells: list[Cell], done: Callable[[dict], None], *, workers: int,
              scheduler: str | None, client=None, cluster_kwargs: dict | None = None) -> None:
    from uuid import uuid4

    from dask.distributed import Client, LocalCluster, as_completed

    own = []
    if client is None:
        if scheduler is not None:
            client = Client(scheduler)
        else:
            kw = {"n_workers": workers, "threads_per_worker": 1, "dashboard_address": None,
                  **(cluster_kwargs or {})}
            own.append(LocalCluster(**kw))
            client = Client(own[0])
        own.insert(0, client)
    token = uuid4().hex[:8]
    try:
        futures = {client.submit(run_cell, c, key=f"linsim-cell-{c.id}-{token}",
                                 pure=False): c for c in cells}
        try:
            for fut in as_completed(list(futures)):
                try:
                    rec = fut.result()
                except Exception as e:  # a worker died (KilledWorker) or the cluster failed
                    rec = error_record(futures[fut], e)
                done(rec)
        except BaseException:
            client.cancel(list(futures))
            raise
    finally:
        for obj in own:
            obj.close()


@dataclass
class SweepResult:
    """What :func:`run_sweep` did: the records in grid order and the counts."""

    cells: list[Cell]
    records: list[dict]
    skipped: int
    computed: int
    files: list[Path]

    @property
    def failed(self) -> int:
        """Cells whose status is not ``ok``."""
        return sum(r["status"] != "ok" for r in self.records)


def _cell_path(out: Path, cell: Cell) -> Path:
    return out / "cells" / f"{cell.id}.json"


def load_done(out: Path, cell: Cell) -> dict | None:
    """The saved record of ``cell`` in ``out``, or None (absent, unreadable or not saved)."""
    try:
        rec = json.loads(_cell_path(out, cell).read_text())
    except (OSError, ValueError):
        return None
    if rec.get("cell") != cell.id or rec.get("status") not in SAVED_STATUS:
        return None
    return rec


def run_sweep(cells: list[Cell], out: str | os.PathLike, *, backend: str = "local",
              workers: int = 1, scheduler: str | None = None, client=None,
              cluster_kwargs: dict | None = None, progress: bool = False,
              log: Callable[[str], None] | None = None) -> SweepResult:
    """Run the cells not yet saved in ``out``, then write the tidy table.

    Parameters
    ----------
    cells : list of Cell
        From :func:`expand`.
    out : path
        Output folder; ``out/cells`` holds one JSON file per finished cell.
    backend : {"local", "dask"}
        Local processes (``workers`` of them; 1 runs in this process) or dask.distributed.
    workers : int
        Local processes, or workers of the LocalCluster that ``backend="dask"`` starts.
    scheduler : str, optional
        Address of a running dask scheduler (``tcp://HOST:PORT``) instead of a LocalCluster.
    client : dask.distributed.Client, optional
        An existing client to use (not closed here).
    cluster_kwargs : dict, optional
        Extra arguments of the LocalCluster (for example ``processes=False``).
    progress : bool
        Show a tqdm bar on stderr (on a terminal only).
    log : callable, optional
        Receives one-line messages (how many cells were skipped).

    Returns
    -------
    SweepResult
    """
    out = Path(out)
    saved = {c.id: load_done(out, c) for c in cells}
    todo = [c for c in cells if saved[c.id] is None]
    skipped = len(cells) - len(todo)
    if log is not None and skipped:
        log(f"skipped {skipped} of {len(cells)} cells already done in {out / 'cells'}; "
            f"computing {len(todo)}")
    records: dict[str, dict] = {k: v for k, v in saved.items() if v is not None}
    bar = None
    if progress and sys.stderr.isatty() and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(cells), initial=skipped, desc="sweep", unit="cell",
                   file=sys.stderr, leave=False)

    def done(rec: dict) -> None:
        records[rec["cell"]] = rec
        if rec["status"] in SAVED_STATUS:
            io.write_json(out / "cells" / f"{rec['cell']}.json", rec)
        if bar is not None:
            bar.update(1)

    try:
        if todo and backend == "dask":
            _run_dask(todo, done, workers=workers, scheduler=scheduler, client=client,
                      cluster_kwargs=cluster_kwargs)
        elif todo:
            _run_local(todo, workers, done)
    finally:
        if bar is not None:
            bar.close()
    ordered = [records[c.id] for c in cells]
    with deferred_signals():  # the three table files together, or none
        files = write_table(ordered, out)
    return SweepResult(cells, ordered, skipped, len(todo), files)


# ----------------------------------------------------------------------------------------------
# the table
# ----------------------------------------------------------------------------------------------


def _column(values: list, kind: type | None = None) -> np.ndarray:
    """A typed column: int64, float64 (None -> NaN) or str (None -> "")."""
    present = [v for v in values if v is not None]
    if kind is None:
        if present and all(isinstance(v, str) for v in present):
            kind = str
        elif all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                 for v in values):
            kind = int
        else:
            kind = float
    if kind is str:
        return np.array(["" if v is None else str(v) for v in values], dtype=str)
    if kind is int:
        return np.array([-1 if v is None else int(v) for v in values], dtype=np.int64)
    return np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)


def table(records: list[dict]) -> dict[str, np.ndarray]:
    """The tidy table of ``records``: one row each, typed columns (see the module docstring).

    Missing numbers are NaN (``-1`` in integer columns), missing texts empty.
    """
    params: list[str] = []
    for name in dict.fromkeys(r["problem"] for r in records):
        params += [p for p in PROBLEMS[name].params if p not in params]
    cols: dict[str, np.ndarray] = {
        "cell": _column([r["cell"] for r in records], str),
        "problem": _column([r["problem"] for r in records], str),
    }
    for p in params:
        cols[p] = _column([r["params"].get(p) for r in records])
    for k in ("flow", "status", "error"):
        cols[k] = _column([r[k] for r in records], str)
    for k, kind in RESULT_COLUMNS.items():
        cols[k] = _column([r["result"].get(k) for r in records], kind)
    return cols


def _csv_text(s: str) -> str:
    """A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break."""
    if any(ch in s for ch in ',"\r\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


def write_table(records: list[dict], out: Path) -> list[Path]:
    """Write ``results.csv``, ``results.npz`` (reproducible bytes) and ``timings.csv``."""
    cols = table(records)
    csv_cols = {k: (np.array([_csv_text(s) for s in v], dtype=object) if v.dtype.kind == "U"
                    else v) for k, v in cols.items()}
    meta = {"columns": list(cols), "versions": io.versions(),
            "cells": [{**{k: r[k] for k in ("problem", "params", "flow")}, "cell": r["cell"]}
                      for r in records]}
    return [io.write_csv(out / "results.csv", csv_cols),
            io.write_npz(out / "results.npz", {**cols, "meta": np.array(io.dumps(meta))}),
            io.write_csv(out / "timings.csv", {
                "cell": cols["cell"],
                "seconds": np.array([r["seconds"] for r in records], dtype=np.float64)})]


def rows(records: list[dict]) -> list[dict]:
    """The table as a list of row dicts, with each cell's ``seconds`` (for ``--json``)."""
    cols = table(records)
    out = []
    for i, r in enumerate(records):
        row = {k: v[i].item() for k, v in cols.items()}
        row["seconds"] = r["seconds"]
        out.append(row)
    return out


def format_table(records: list[dict], limit: int = 100) -> str:
    """A text table: the parameters that vary, the flow, the headline rate, error and cost."""
    cols = table(records)
    params = [k for k in cols if k not in ("cell", "problem", "flow", "status", "error")
              and k not in RESULT_COLUMNS]
    varying = [k for k in params if len(set(cols[k].tolist())) > 1]
    fixed = [k for k in params if k not in varying]
    lines = []
    if fixed:
        lines.append("fixed: " + ", ".join(f"{k}={cols[k][0]}" for k in fixed))
    heads = [*varying, "flow", "rate", "measured", "predicted", "max_rel_err", "steps",
             "seconds", "status"]
    body = []
    for i, r in enumerate(records[:limit]):
        body.append([*(f"{cols[k][i]:g}" if cols[k].dtype.kind == "f" else str(cols[k][i])
                       for k in varying),
                     r["flow"], cols["rate_name"][i], f"{cols['rate_measured'][i]:.6g}",
                     f"{cols['rate_predicted'][i]:.6g}", f"{cols['max_rel_err'][i]:.3g}",
                     str(cols["steps"][i]), f"{r['seconds']:.2f}", r["status"]])
    widths = [max([len(h), *(len(b[j]) for b in body)]) for j, h in enumerate(heads)]
    lines.append("  ".join(h.rjust(w) for h, w in zip(heads, widths, strict=True)))
    lines += ["  ".join(s.rjust(w) for s, w in zip(b, widths, strict=True)) for b in body]
    if len(records) > limit:
        lines.append(f"... {len(records) - limit} more rows in results.csv")
    for r in records:
        if r["status"] != "ok":
            lines.append(f"{r['status']}: {r['cell']} ({r['flow']}): {r['error']}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------------------------


def _all_params() -> dict[str, str]:
    """Every problem's parameter names, with the help of the first problem that has it."""
    out: dict[str, str] = {}
    for runner in PROBLEMS.values():
        for p in runner.params:
            out.setdefault(p, runner.help.get(p, ""))
    return out


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used for ``--help``)."""
    p = Parser(
        prog=PROG,
        description="Run a grid of (problem, parameters, flows) configurations on local "
                    "processes or Dask, resumably, into one tidy table. Every problem "
                    "parameter takes a comma list; the grid is their product.",
        epilog="Example: python -m linsim.sweep --classes 10,100,1000 --zipf 0.5,1,1.1 "
               "--flows gradient,sign --mode reduced --out sweep-onehot",
    )
    p.add_argument("--spec", type=Path, default=None, metavar="FILE",
                   help="grid spec file, JSON or TOML (see the module docstring); options "
                        "given here replace its values")
    p.add_argument("--problem", default=None,
                   help=f"problem, one of {', '.join(PROBLEMS)} (default onehot: "
                        f"{PROBLEMS['onehot'].description})")
    p.add_argument("--flows", default=None,
                   help="flows, each one row of the table; onehot: "
                        + PROBLEMS["onehot"].help.get("flows", ""))
    for name, text in _all_params().items():
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None, metavar="LIST",
                       help=f"comma list, each: {text}".replace("%", "%%"))
    p.add_argument("--out", type=Path, default=Path("linsim-out/sweep"), metavar="DIR",
                   help="output folder; cells already in DIR/cells are skipped "
                        "(default linsim-out/sweep)")
    p.add_argument("--workers", type=number("--workers", int, 1, 1024),
                   default=usable_cpus(),
                   help="local processes, or LocalCluster workers with --dask; 1 runs in "
                        "this process (default: the number of usable CPUs)")
    p.add_argument("--dask", action="store_true",
                   help="run on dask.distributed (pip install -e '.[dask]')")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="with --dask: a running scheduler, tcp://HOST:PORT (default: start a "
                        "LocalCluster)")
    p.add_argument("--json", action="store_true", help="print the table as JSON on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no messages")
    return p


def grids_from_args(args: argparse.Namespace) -> list[dict]:
    """The grids the command line asks for: ``--spec`` with the options applied, or one grid."""
    overrides: dict[str, Any] = {k: [s.strip() for s in v.split(",")]
                                 for k in _all_params() if (v := getattr(args, k)) is not None}
    if args.flows is not None:
        overrides["flows"] = args.flows
    if args.problem is not None:
        overrides["problem"] = args.problem
    spec = load_spec(args.spec) if args.spec is not None else {}
    return spec_grids(spec, overrides)


def check_args(args: argparse.Namespace) -> list[Cell]:
    """Every check that can fail before work starts; return the cells."""
    check_out(args.out)
    if args.scheduler is not None and not args.dask:
        raise UsageError("--scheduler needs --dask")
    if args.dask:
        try:
            import dask.distributed  # noqa: F401
        except ImportError:
            raise UsageError("--dask needs dask.distributed: pip install -e '.[dask]'") from None
    cells = expand(grids_from_args(args), args.out)
    if args.scheduler is None:
        check_memory(cells, args.workers)
    return cells


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        cells = check_args(args)
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2

    def log(msg: str) -> None:
        if not args.quiet:
            print(f"{PROG}: {msg}", file=sys.stderr)

    try:
        with interruptible():  # SIGTERM too: stop the workers, keep the finished cells
            compile_progress(PROG, "the driver is compiled; now the cells")
            res = run_sweep(cells, args.out, backend="dask" if args.dask else "local",
                            workers=args.workers, scheduler=args.scheduler,
                            progress=not args.quiet, log=log)
    except KeyboardInterrupt as e:
        n = len(list((args.out / "cells").glob("*.json")))
        print(f"{PROG}: interrupted; {n} finished cells are saved in {args.out / 'cells'}: "
              f"rerun the same command to resume", file=sys.stderr)
        return getattr(e, "exit_code", 130)
    except OSError as e:
        return write_failed(PROG, "--out", e)
    if args.json:
        sys.stdout.write(io.dumps({
            "rows": rows(res.records), "cells": len(cells), "computed": res.computed,
            "skipped": res.skipped, "failed": res.failed, "out": str(args.out),
            "files": [str(p) for p in res.files]}))
    else:
        print(format_table(res.records))
        print("")
        print(f"{len(cells)} cells: {res.computed} computed, {res.skipped} skipped (already "
              f"done), {res.failed} not ok")
        print("wrote " + ", ".join(str(p) for p in res.files))
    return 1 if res.failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
