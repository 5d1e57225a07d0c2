"""``python -m linsim.z24``'s run configuration as a library dataclass (issue 16, item 6):
linsim.experiments.z24.CasesConfig."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from linsim import z24 as cli
from linsim.config import UsageError
from linsim.experiments import z24 as E
from linsim.experiments.z24 import CASES_OPTIONS, CasesConfig

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_are_those_of_the_command_line():
    args = cli.build_parser().parse_args([])
    assert CasesConfig().as_dict() == {k: getattr(args, k) for k in CASES_OPTIONS}
    assert CasesConfig.from_args(args).as_dict() == CasesConfig().check().as_dict()


@pytest.mark.parametrize("kw,message", [
    ({"cases": (0,)}, "--cases must be a comma list of distinct names from 1,2,3,4, got '0'"),
    ({"cases": (3, 3)}, "--cases must be a comma list of distinct names"),
    ({"methods": ("gd", "sgd")}, "--methods must be a comma list of distinct names from gd,"),
    ({"seeds": 0}, "--seeds must be an integer in [1, 1000], got '0'"),
    ({"seeds": 2.5}, "--seeds must be an integer in [1, 1000]"),
    ({"tol": 0.0}, "--tol must be a finite number in (0, 0.5]"),
    ({"tol": float("nan")}, "--tol must be a finite number in (0, 0.5]"),
    ({"max_iter": 0}, "--max-iter must be an integer in [1, 1e+07]"),
    ({"quick": "yes"}, "--quick is a switch: true or false, got 'yes'"),
])
def test_each_field_is_checked_with_the_option_name(kw, message):
    with pytest.raises(UsageError) as e:
        CasesConfig(**kw)
    assert message in str(e.value)
    assert len(str(e.value).splitlines()) == 1


def test_quick_fills_cases_and_methods_unless_given():
    """The option that depends on another: --quick changes the defaults of --cases and
    --methods only where they are not given."""
    cfg = CasesConfig.from_text({"quick": "true"})
    assert (cfg.cases, cfg.methods) == (E.QUICK_CASES, E.QUICK_METHODS) == ((3, 4), ("gd",
                                                                                    "adam01"))
    cfg = CasesConfig.from_text({"quick": "true", "cases": "1", "methods": "sign,gd"})
    assert (cfg.cases, cfg.methods) == ((1,), ("sign", "gd"))
    cfg = CasesConfig.from_text({})
    assert cfg.cases == (1, 2, 3, 4) and cfg.methods == tuple(E.METHODS)
    assert cfg.out == Path("linsim-out/z24") and cfg.runs == 4 * 5 * len(E.METHODS)
    assert CasesConfig(out=Path("x")).check().out == Path("x")


def test_from_text_without_argparse():
    cfg = CasesConfig.from_text({"cases": "4,3", "seeds": "2", "tol": "1e-3",
                                 "max_iter": "1e3"}, out=Path("o"))
    assert (cfg.cases, cfg.seeds, cfg.tol, cfg.max_iter) == ((4, 3), 2, 1e-3, 1000)
    assert isinstance(cfg.max_iter, int) and cfg.out == Path("o")
    with pytest.raises(UsageError, match="unknown option 'case'"):
        CasesConfig.from_text({"case": "3"})
    with pytest.raises(UsageError, match="--seeds must be an integer in"):
        CasesConfig.from_text({"seeds": "x"})


def test_the_parser_is_built_from_the_options():
    dests = [a.dest for a in cli.build_parser()._actions]
    assert [d for d in dests if d in CASES_OPTIONS] == list(CASES_OPTIONS)
    assert {"out", "json", "no_plot", "quiet"} <= set(dests)
    assert not {"out", "json", "no_plot", "quiet"} & set(CASES_OPTIONS)


def test_summary_records_the_command(monkeypatch):
    res = E.CasesResult([3], [0], ["block_gd"], 1e-6, 10)
    res.iterations[(3, "block_gd")], res.best[(3, "block_gd")] = [None], [None]
    res.kappas[3] = (10.0, 2.0)
    monkeypatch.setattr(sys, "argv", ["z24", "--cases", "3"])
    assert E.summarize(res, CasesConfig())["command"] == "python -m linsim.z24 --cases 3"
    cfg = CasesConfig(argv=["--quick"])
    assert E.summarize(res, cfg)["command"] == "python -m linsim.z24 --quick"


def test_library_logic_left_the_command_line():
    for name in ("summarize", "run_cases", "CasesConfig", "QUICK_CASES", "QUICK_METHODS",
                 "PROG"):
        assert hasattr(E, name), name
    tree = ast.parse((ROOT / "linsim/z24.py").read_text())
    defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert defined == {"build_parser", "main", "table", "write_outputs"}
    assert cli.summarize is E.summarize  # re-exported for the old importers
