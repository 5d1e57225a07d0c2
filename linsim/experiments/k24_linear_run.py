"""A run of ``python -m linsim.experiment`` as a library: its configuration, plan and summary.

:class:`ExperimentConfig` is one run of K24's linear-model experiment (claim K24.experiment,
:func:`linsim.experiments.k24_linear.experiment`): :data:`OPTIONS` holds every option's parser
from text, default and help (the command line builds its argument parser from it), and
:meth:`ExperimentConfig.check` makes the cross-option checks: ``--lr`` names only optimizers of
``--optimizers``, and the run fits in memory (:class:`TooLarge`). Every error is a
:class:`linsim.config.UsageError` of one line naming the option.

:meth:`ExperimentConfig.plan` says which step sizes are fixed (``--lr``, then the table
:data:`~linsim.experiments.k24_linear.TUNED`) and which optimizers are tuned on their grid;
:meth:`ExperimentConfig.estimate` gives the run's memory and time; :func:`run_experiment` runs
the configuration and :func:`summarize` turns the result into the ``summary.json`` document.

Kept apart from :mod:`linsim.experiments.k24_linear` (the numerical experiment itself) as
:mod:`linsim.run` is kept apart from the flows: this module is the run's interface.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .. import io
from ..config import Config, Option, UsageError, names, number
from ..io import available_memory
from . import k24_linear as K

#: The command line's name, recorded in ``summary.json``'s ``command``.
PROG = "python -m linsim.experiment"
#: Largest m accepted (m = 11 is the paper's size).
M_MAX = 11
#: A run is refused when it needs more than this fraction of the available memory.
MEMORY_FRACTION = 0.8


def optimizer_names(text: str) -> tuple[str, ...]:
    """``--optimizers``: a comma list of distinct names from
    :data:`~linsim.experiments.k24_linear.SPECS`."""
    return names("--optimizers", tuple(K.SPECS))(text)


def step_sizes(text: str) -> dict[str, float]:
    """``--lr``: a comma list of ``name=value`` with distinct optimizer names and finite
    positive values; ``argparse.ArgumentTypeError`` naming ``--lr`` otherwise."""
    out = {}
    for item in (s.strip() for s in text.split(",")):
        name, eq, value = item.partition("=")
        try:
            v = float(value)
        except ValueError:
            v = float("nan")
        if not eq or name not in K.SPECS or not (math.isfinite(v) and v > 0) or name in out:
            raise argparse.ArgumentTypeError(
                f"--lr must be a comma list of name=value with distinct names from "
                f"{','.join(K.SPECS)} and values finite and > 0, got {text!r}")
        out[name] = v
    return out


#: Every option of a run, by :class:`ExperimentConfig` field, in the order of ``--help``.
OPTIONS: dict[str, Option] = {
    "m": Option(number("--m", int, 2, M_MAX), 7,
                f"number of groups, an integer in [2, {M_MAX}]: c = 2^m - 1 classes, "
                "n = m 2^m samples, d = (m+1) 2^m (default 7; 11 is the paper's size)"),
    "optimizers": Option(optimizer_names, tuple(K.SPECS),
                         f"comma list of {','.join(K.SPECS)} (default all)"),
    "steps": Option(number("--steps", int, 1, 10_000_000), 1000,
                    "updates per run, an integer in [1, 1e7] (default 1000)"),
    "lr": Option(step_sizes, {}, "fixed step sizes, e.g. gd=0.1,sign=3e-4 (others: table or "
                 "grid)", "NAME=LR,..."),
    "tune": Option(None, False, "tune every optimizer without --lr on its grid at this --steps "
                   "(default: use the tabulated step sizes where they exist)", switch=True),
    "select": Option(None, "final",
                     "how a grid's step size is chosen: the best final loss (default) or "
                     "the largest stable step, whose overall loss never rises more than "
                     "5%% above its running minimum (K24.experiment; implies --tune for "
                     "the optimizers without --lr)", choices=("final", "stable")),
    "seed": Option(number("--seed", int, 0, 2**32 - 1), 0,
                   "data seed, an integer in [0, 2^32 - 1] (default 0)"),
    "float32": Option(None, False,
                      "float32 inputs and matrix products (float64 softmax and updates)",
                      switch=True),
}


def default_out(m: int) -> Path:
    """The output folder of a run at size ``m`` when ``--out`` is not given."""
    return Path(f"linsim-out/experiment-m{m}")


class TooLarge(UsageError):
    """The run does not fit in the available memory: a :class:`UsageError` whose ``config`` is
    the refused configuration (the command line prints its estimate before the error)."""

    def __init__(self, message: str, config: ExperimentConfig) -> None:
        super().__init__(message)
        self.config = config


@dataclass
class ExperimentConfig(Config):
    """One run of ``python -m linsim.experiment``: every option of :data:`OPTIONS` as a field.

    Construct it with values (each is checked as its option is), or from text with
    :meth:`from_text`; :meth:`check` then makes the cross-option checks and fills in the
    default ``out`` and the ``available`` memory. Every error is a
    :class:`linsim.config.UsageError` naming the option.

    Attributes
    ----------
    out : Path or None
        Output folder (None: :func:`default_out`, filled in by :meth:`check`).
    argv : list of str or None
        The command line's arguments, recorded in ``summary.json`` (None: ``sys.argv[1:]``).
    available : int or None
        Bytes of memory the run may use (None: :func:`linsim.io.available_memory`, filled in
        by :meth:`check`).
    """

    m: int = 7
    optimizers: tuple[str, ...] = tuple(K.SPECS)
    steps: int = 1000
    lr: dict[str, float] = field(default_factory=dict)
    tune: bool = False
    select: str = "final"
    seed: int = 0
    float32: bool = False
    out: Path | None = None
    argv: list[str] | None = None
    available: int | None = None

    OPTIONS: ClassVar[dict[str, Option]] = OPTIONS

    @property
    def dtype(self) -> type:
        """The data type of the inputs and matrix products (``--float32``)."""
        return np.float32 if self.float32 else np.float64

    def plan(self) -> tuple[dict[str, float], list[str]]:
        """Step sizes fixed before the run (``--lr``, then the table for this ``m`` unless
        ``--tune`` or ``--select stable``) and the names of the optimizers to tune on their
        grid."""
        fixed = dict(self.lr)
        table = K.TUNED.get(self.m)
        tune = []
        for name in self.optimizers:
            if name in fixed:
                continue
            if (not self.tune and self.select == "final" and table is not None
                    and name in table["lrs"]):
                fixed[name] = table["lrs"][name]
            else:
                tune.append(name)
        return {k: v for k, v in fixed.items() if k in self.optimizers}, tune

    def estimate(self, gflops: float | None = None) -> dict[str, Any]:
        """Memory and time of the planned runs.

        Parameters
        ----------
        gflops : float, optional
            The BLAS rate for the time (None: measured, which takes a moment); the memory does
            not depend on it.

        Returns
        -------
        dict
            :func:`linsim.experiments.k24_linear.estimate` for the runs of :meth:`plan` (one
            per fixed step size, a grid per tuned optimizer), plus ``run_bytes`` (one run's
            state), ``need_bytes`` (the inputs and one lockstep batch of at most
            :data:`~linsim.experiments.k24_linear.MEMORY_BUDGET` of state, at least one run)
            and ``available_bytes``.
        """
        fixed, tune = self.plan()
        counts = {n: 1 for n in fixed} | {n: len(K.SPECS[n].grid) for n in tune}
        logit = sum(k for n, k in counts.items() if K.SPECS[n].make(1.0).code in K.LOGIT_CODES)
        est = K.estimate(self.m, sum(counts.values()), self.steps, self.dtype, gflops=gflops,
                         logit_models=logit)
        one = K.model_bytes(est, self.dtype)
        batch = max(one, min(est["state_bytes"], K.MEMORY_BUDGET))
        avail = available_memory() if self.available is None else self.available
        return est | {"run_bytes": one, "need_bytes": est["data_bytes"] + batch,
                      "available_bytes": avail}

    def check(self) -> ExperimentConfig:
        """The cross-option checks: ``--lr`` names only optimizers of ``--optimizers``, and the
        run needs at most :data:`MEMORY_FRACTION` of the available memory (else
        :class:`TooLarge`). Fills in ``out`` and ``available``; returns the configuration."""
        if self.out is None:
            self.out = default_out(self.m)
        extra = [n for n in self.lr if n not in self.optimizers]
        if extra:
            raise UsageError(f"--lr names optimizers not in --optimizers: {','.join(extra)}")
        if self.available is None:
            self.available = available_memory()
        need = self.estimate(gflops=1.0)["need_bytes"]  # any rate: only the memory is read
        if need > MEMORY_FRACTION * self.available:
            hint = "" if self.float32 else "; --float32 halves the inputs"
            raise TooLarge(f"--m {self.m} needs about {need / 2**30:.1f} GiB "
                           f"({self.available / 2**30:.1f} GiB available){hint}", self)
        return self


def run_experiment(cfg: ExperimentConfig, progress: bool = False) -> K.ExperimentResult:
    """Run a checked configuration (:func:`linsim.experiments.k24_linear.experiment` with the
    step sizes of :meth:`ExperimentConfig.plan`); ``progress`` draws a progress bar."""
    fixed, _ = cfg.plan()
    return K.experiment(cfg.m, cfg.optimizers, cfg.steps, lrs=fixed, seed=cfg.seed,
                        dtype=cfg.dtype, progress=progress, select=cfg.select)


def summarize(result: K.ExperimentResult, cfg: ExperimentConfig) -> dict[str, Any]:
    """The ``summary.json`` document of a run of ``cfg`` (no timings: same seed, same bytes).

    Parameters
    ----------
    result : ExperimentResult
        What :func:`run_experiment` returned for ``cfg``.
    cfg : ExperimentConfig
        The checked configuration.

    Returns
    -------
    dict
        The dataset, every optimizer's chosen step size (and where it came from), final and
        per-group losses, half-loss steps and their slope, trials; the pass criterion
        (:func:`~linsim.experiments.k24_linear.criterion`); versions and the command.
    """
    _, tune = cfg.plan()
    crit = K.criterion(result)
    freq = K.group_frequencies(result.data)
    prior = K.prior_groups(result.data)
    table = K.TUNED.get(cfg.m)
    opts = {}
    for name, tr in result.chosen.items():
        half = K.half_loss_steps(tr, result.data)
        fit = K.half_loss_slope(np.where(prior, np.nan, half)[~prior], freq[~prior])
        if name in cfg.lr:
            source = "--lr"
        elif name in tune and cfg.select == "stable":
            source = f"grid, largest stable step over {cfg.steps} steps"
        elif name in tune:
            source = f"grid, best final loss at {cfg.steps} steps"
        else:
            source = f"table (grid, best final loss at {table['steps']} steps)"
        opts[name] = {
            "label": K.SPECS[name].label,
            "optimizer": tr.optimizer.describe(),
            "lr": tr.lr,
            "lr_source": source,
            "final_loss": tr.final_loss,
            "diverged_at": tr.diverged_at,
            "final_groups": result.group_curves(name)[-1],
            "rarest_over_log_c": crit["rarest_over_log_c"][name],
            "crossings": crit["crossings"][name],
            "rise": tr.rise,
            "half_loss_steps": [None if not math.isfinite(v) else int(v) for v in half],
            "half_loss_slope": fit["slope"],
            "half_loss_censored": fit["censored"],
            "half_loss_predicted": K.HALF_SLOPE.get(name),
            "trials": [{"lr": lr, "final_loss": f, "diverged_at": dv, "rise": ri}
                       for lr, f, dv, ri in result.trials[name]],
        }
    d = result.data
    return {
        "claims": ["K24.experiment"],
        "dataset": d.params,
        "classes": d.classes, "n": d.n, "d": d.d, "groups": d.n_groups,
        "log_c": math.log(d.classes),
        "steps": cfg.steps,
        "optimizers": opts,
        "criterion": {k: crit[k] for k in ("margin", "passed", "gd_floor",
                                           "adaptive_ceiling")},
        "grid_edges": K.grid_edges(result),
        "select": cfg.select,
        "group_frequencies": freq.tolist(),
        "prior_groups": np.flatnonzero(prior).tolist(),
        "versions": io.versions(),
        "command": " ".join([PROG, *(sys.argv[1:] if cfg.argv is None else cfg.argv)]),
    }


__all__ = ["PROG", "M_MAX", "MEMORY_FRACTION", "OPTIONS", "ExperimentConfig", "TooLarge",
           "default_out", "optimizer_names", "step_sizes", "run_experiment", "summarize"]
