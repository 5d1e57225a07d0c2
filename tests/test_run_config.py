"""A run's configuration as a library dataclass (issue 16, item 6): linsim.run.FlowConfig."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from linsim import flow, run
from linsim.run import OPTIONS, FlowConfig

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_are_those_of_the_command_line():
    cfg = FlowConfig()
    args = flow.build_parser().parse_args([])
    assert cfg.as_dict() == {k: getattr(args, k) for k in OPTIONS}


@pytest.mark.parametrize("kw,message", [
    ({"classes": 1}, "--classes must be an integer >= 2, got '1'"),
    ({"classes": 2.5}, "--classes must be an integer >= 2"),
    ({"zipf": float("nan")}, "--zipf must be a finite number >= 0"),
    ({"rtol": 0.5}, "--rtol must be a finite number in [1e-13, 0.0001]"),
    ({"flows": ("gradient", "bogus")}, "--flows must be a comma list of distinct names"),
    ({"flows": ("sign_tanh",)}, "--flows must be a comma list of distinct names"),
    ({"mode": "half"}, "argument --mode: invalid choice: 'half'"),
    ({"sign_method": "magic"}, "argument --sign-method: invalid choice"),
    ({"workers": 0}, "--workers must be an integer in [1, 4096]"),
    ({"classes": True}, "--classes must be an integer >= 2, got 'true'"),
])
def test_each_field_is_checked_with_the_option_name(kw, message):
    with pytest.raises(ValueError) as e:
        FlowConfig(**kw)
    assert message in str(e.value)


@pytest.mark.parametrize("raw,flows,message", [
    ({"classes": "4"}, None, "--groups must be an integer in [1, 4]"),
    ({"adam_eps": "0"}, ["sign_eps"], "--adam-eps must be in (0, 1] for --flows sign_eps"),
    ({"problem": "unigram", "mode": "reduced"}, None, "--mode must be full for --problem"),
    ({"sign_method": "sliding"}, None, "--sign-method must be one of auto, explicit, closed"),
    ({"rtol": "1e-3"}, None, "--rtol must be a finite number in [1e-13, 0.0001], got '1e-3'"),
    ({"colour": "red"}, None, "unknown option 'colour'"),
])
def test_cross_option_checks_in_the_library(raw, flows, message):
    with pytest.raises(ValueError) as e:
        FlowConfig.from_text(raw, flows)
    assert message in str(e.value)


def test_check_fills_in_what_auto_means():
    cfg = FlowConfig(classes=20, groups=3).check()
    assert cfg.sign_method == "explicit" and cfg.out == Path("linsim-out/flow-c20-z1.1")
    cfg = FlowConfig.from_text({"problem": "unigram", "classes": "30"}, ["sign"])
    assert cfg.sign_method == "sliding" and cfg.flows == ("sign",) and cfg.classes == 30


def test_the_parser_is_built_from_the_options():
    dests = [a.dest for a in flow.build_parser()._actions]
    assert [d for d in dests if d in OPTIONS] == list(OPTIONS)


def test_the_sweep_checks_cells_without_argv_or_argparse():
    tree = ast.parse((ROOT / "linsim/sweep.py").read_text())
    attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert "_actions" not in attrs
    # the sweep's own parser only: the flow command's is not built or read
    assert "build_parser" not in attrs and "check_args" not in attrs
    from linsim import sweep
    params, flows = sweep.PROBLEMS["onehot"].prepare({"classes": "10", "rtol": "1e-9"}, None,
                                                     Path("o"))
    assert params["classes"] == 10 and params["rtol"] == 1e-9 and flows == ("gradient", "sign")


def test_library_logic_left_the_command_line():
    for name in ("summarize", "check_answer", "flow_params", "simulate", "closed_sign_trace",
                 "judge_gf_rate", "check_config"):
        assert callable(getattr(run, name)), name
    src = (ROOT / "linsim/flow.py").read_text()
    for name in ("def summarize", "def check_answer", "def flow_params", "def _closed_sign_trace",
                 "def _judge_gf_rate", "def _run("):
        assert name not in src, name
