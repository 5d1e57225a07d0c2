"""The K24 linear-model experiment's configuration as a library dataclass (issue 16, item 6):
linsim.experiments.k24_linear_run.ExperimentConfig, which python -m linsim.experiment builds."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from linsim import experiment
from linsim.config import UsageError
from linsim.experiments import k24_linear as K
from linsim.experiments import k24_linear_run as R
from linsim.experiments.k24_linear_run import OPTIONS, ExperimentConfig, TooLarge

ROOT = Path(__file__).resolve().parents[1]
GiB = 2**30


def test_defaults_are_those_of_the_command_line():
    cfg = ExperimentConfig()
    args = experiment.build_parser().parse_args([])
    assert cfg.as_dict() == {k: getattr(args, k) for k in OPTIONS}
    assert cfg.lr == {} and cfg.optimizers == tuple(K.SPECS) and cfg.tune is False


@pytest.mark.parametrize("kw,message", [
    ({"m": 1}, "--m must be an integer in [2, 11], got '1'"),
    ({"m": 12}, "--m must be an integer in [2, 11], got '12'"),
    ({"m": True}, "--m must be an integer in [2, 11], got 'true'"),
    ({"steps": 0}, "--steps must be an integer in [1, 1e+07], got '0'"),
    ({"optimizers": ("gd", "rmsprop")}, "--optimizers must be a comma list of distinct names"),
    ({"lr": {"gd": -1.0}}, "--lr must be a comma list of name=value"),
    ({"lr": {"rmsprop": 0.1}}, "--lr must be a comma list of name=value"),
    ({"select": "best"}, "argument --select: invalid choice: 'best'"),
    ({"seed": -1}, "--seed must be an integer in [0, 4.29497e+09], got '-1'"),
    ({"tune": "yes"}, "--tune is a switch: true or false, got 'yes'"),
    ({"float32": 1}, "--float32 is a switch: true or false, got '1'"),
])
def test_each_field_is_checked_with_the_option_name(kw, message):
    with pytest.raises(UsageError) as e:
        ExperimentConfig(**kw)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_values_are_parsed_as_their_text():
    cfg = ExperimentConfig(m=3.0, optimizers=["sign", "gd"], lr={"gd": 1}, tune="true")
    assert cfg.m == 3 and isinstance(cfg.m, int)
    assert cfg.optimizers == ("sign", "gd") and cfg.lr == {"gd": 1.0} and cfg.tune is True


@pytest.mark.parametrize("raw,message", [
    ({"optimizers": "gd", "lr": "sign=0.1,gd=1"},
     "--lr names optimizers not in --optimizers: sign"),
    ({"lr": ""}, "--lr must be a comma list of name=value"),
    ({"colour": "red"}, "unknown option 'colour'"),
])
def test_cross_option_checks_in_the_library(raw, message):
    with pytest.raises(UsageError) as e:
        ExperimentConfig.from_text(raw)
    assert message in str(e.value)


def test_the_memory_check_refuses_in_the_library():
    with pytest.raises(TooLarge) as e:
        ExperimentConfig(m=11, steps=1, available=2 * GiB).check()
    assert str(e.value) == ("--m 11 needs about 10.1 GiB (2.0 GiB available); --float32 "
                            "halves the inputs")
    assert isinstance(e.value, UsageError) and e.value.config.m == 11
    with pytest.raises(TooLarge, match=r"GiB available\)$"):  # no hint: already float32
        ExperimentConfig(m=11, float32=True, available=2 * GiB).check()
    cfg = ExperimentConfig(m=11, float32=True, available=64 * GiB).check()
    assert cfg.estimate(gflops=1.0)["need_bytes"] <= R.MEMORY_FRACTION * 64 * GiB


def test_from_text_works_without_argparse():
    cfg = ExperimentConfig.from_text({"m": "3", "optimizers": "gd,sign", "lr": "gd=0.3",
                                      "select": "stable", "float32": "true"})
    assert (cfg.m, cfg.optimizers, cfg.lr, cfg.select) == (3, ("gd", "sign"), {"gd": 0.3},
                                                             "stable")
    assert cfg.out == Path("linsim-out/experiment-m3") == R.default_out(3)
    assert cfg.available > 0 and cfg.dtype is np.float32
    assert ExperimentConfig.from_text({}, out=Path("o")).out == Path("o")


def test_plan_fixes_step_sizes_from_lr_then_the_table():
    table = K.TUNED[7]["lrs"]
    fixed, tune = ExperimentConfig(m=7).plan()
    assert fixed == table and tune == []
    fixed, tune = ExperimentConfig(m=7, lr={"gd": 0.5}).plan()
    assert fixed["gd"] == 0.5 and fixed["sign"] == table["sign"] and tune == []
    fixed, tune = ExperimentConfig(m=7, optimizers=("gd", "adam"), lr={"gd": 0.5},
                                   tune=True).plan()
    assert fixed == {"gd": 0.5} and tune == ["adam"]
    assert ExperimentConfig(m=7, optimizers=("sign",), select="stable").plan() == ({}, ["sign"])
    assert ExperimentConfig(m=3, optimizers=("gd", "sign")).plan() == ({}, ["gd", "sign"])


def test_estimate_counts_one_run_per_fixed_step_and_a_grid_per_tuned_optimizer():
    cfg = ExperimentConfig(m=3, optimizers=("gd", "sign"), lr={"gd": 0.3}, steps=10,
                           available=GiB).check()
    est = cfg.estimate(gflops=10.0)
    assert est["models"] == 1 + len(K.SPECS["sign"].grid)
    assert est["need_bytes"] == est["data_bytes"] + est["state_bytes"]  # within one batch
    assert est["run_bytes"] == K.model_bytes(est, np.float64)
    assert est["available_bytes"] == GiB and est["steps"] == 10 and est["gflops"] == 10.0


def test_the_parser_is_built_from_the_options():
    dests = [a.dest for a in experiment.build_parser()._actions]
    assert [d for d in dests if d in OPTIONS] == list(OPTIONS)
    assert {"out", "json", "no_plot", "quiet"} <= set(dests)
    assert not {"out", "json", "no_plot", "quiet"} & set(OPTIONS)  # the command line's own


def test_summarize_takes_the_config():
    cfg = ExperimentConfig(m=2, steps=3, optimizers=("gd", "sign"), lr={"gd": 0.1},
                           argv=["--m", "2"]).check()
    doc = R.summarize(R.run_experiment(cfg), cfg)
    assert doc["command"] == "python -m linsim.experiment --m 2" and doc["steps"] == 3
    assert doc["optimizers"]["gd"]["lr_source"] == "--lr"
    assert doc["optimizers"]["sign"]["lr_source"] == "grid, best final loss at 3 steps"
    assert doc["select"] == "final" and doc["classes"] == 3


def test_library_logic_left_the_command_line():
    tree = ast.parse((ROOT / "linsim/experiment.py").read_text())
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert not defined & {"_names", "_lrs", "plan", "check_args", "summarize"}, defined
    assert defined >= {"build_parser", "main", "write_outputs", "_tables"}
    for name in ("summarize", "run_experiment", "optimizer_names", "step_sizes",
                 "default_out"):
        assert callable(getattr(R, name)), name
    # the library does not look up at the command lines
    lib = ast.parse((ROOT / "linsim/experiments/k24_linear_run.py").read_text())
    imported = {n.module for n in ast.walk(lib) if isinstance(n, ast.ImportFrom)}
    assert not imported & {"experiment", "flow", "sweep", "z24", "heavytail", "kb25"}
