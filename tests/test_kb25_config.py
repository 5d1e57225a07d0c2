"""``python -m linsim.kb25``'s run configuration as a library dataclass (issue 16, item 6):
linsim.experiments.kb25.KB25Config, and the sweep's bigram cells checked by the library
(linsim.experiments.kb25.BigramCell)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from linsim import kb25 as cli
from linsim import sweep
from linsim.config import UsageError
from linsim.experiments import kb25 as K
from linsim.experiments.kb25 import KB25_OPTIONS, BigramCell, KB25Config

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def counts(tmp_path) -> Path:
    path = tmp_path / "counts.npy"
    np.save(path, np.round(1e6 / np.arange(1, 301) ** 1.1))
    return path


def test_defaults_are_those_of_the_command_line():
    args = cli.build_parser().parse_args([])
    assert KB25Config().as_dict() == {k: getattr(args, k) for k in KB25_OPTIONS}
    cfg = KB25Config.from_args(args)
    assert cfg.out == Path("linsim-out/kb25") and cfg.fit is None and cfg.freq is None


@pytest.mark.parametrize("kw,message", [
    ({"alpha": (0.0,)}, "--alpha must be a comma list of numbers in (0, 10], got '0.0'"),
    ({"alpha": (1.0, float("inf"))}, "--alpha must be a comma list of numbers in (0, 10]"),
    ({"d": (5, 3)}, "--d must be LO:HI with integers 2 <= LO < HI <= 1e+09, got '5:3'"),
    ({"d": (100, 2 * 10**9)}, "--d must be LO:HI with integers"),
    ({"per_decade": 0}, "--per-decade must be an integer in [1, 20], got 0"),
    ({"per_decade": 1.5}, "--per-decade must be an integer in [1, 20], got '1.5'"),
    ({"per_decade": True}, "--per-decade must be an integer in [1, 20], got 'true'"),
    ({"eps": (2.0,)}, "--eps must be a comma list of numbers in (0, 1], got '2.0'"),
    ({"methods": ("gd", "adam")}, "--methods must be a comma list of distinct names from gd,"),
    ({"fit_ranks": "3:1"}, "--fit-ranks must be A:B with integers 1 <= A < B, got '3:1'"),
    ({"fit_ranks": "inf:3"}, "--fit-ranks must be A:B with integers 1 <= A < B"),
])
def test_each_field_is_checked_with_the_option_name(kw, message):
    with pytest.raises(UsageError) as e:
        KB25Config(**kw)
    assert message in str(e.value)
    assert len(str(e.value).splitlines()) == 1


@pytest.mark.parametrize("raw,message", [
    ({"eps": "0.5,1"}, "--eps must be in (0, 1), got 1"),
    ({"frequencies": "/nonexistent.tsv"}, "--frequencies /nonexistent.tsv: no such file"),
    ({"d": "1e2:1e3", "colour": "red"}, "unknown option 'colour'"),
    ({"d": "1e2:1e9"}, "--d must end at most at 1e+08 with --methods gd (GD's loss sums all d "
                       "terms), got 1000000000"),
])
def test_checks_in_the_library(raw, message):
    with pytest.raises(UsageError) as e:
        KB25Config.from_text(raw)
    assert message in str(e.value)


def test_frequencies_are_loaded_and_fit_ranks_checked_against_them(counts):
    cfg = KB25Config.from_text({"frequencies": str(counts), "fit_ranks": "2:1e2"})
    assert cfg.freq.size == 300 and cfg.fit == (2, 100)
    with pytest.raises(UsageError, match=r"--fit-ranks must end at most at 300 \(the classes "
                                         r"of --frequencies\), got '1:1e3'"):
        KB25Config.from_text({"frequencies": str(counts), "fit_ranks": "1:1e3"})
    result = K.simulate(KB25Config.from_text({"frequencies": str(counts), "d": "1e2:300",
                                              "eps": "0.1"}, argv=["x"]))
    doc = K.summarize(KB25Config(argv=["x"]).check(), [], 1.5)
    assert list(doc) == ["command", "versions", "eps", "rows", "seconds"]
    assert doc["command"] == "python -m linsim.kb25 x"
    assert result["d"][-1] == 300 and result["fit"]["ranks"] == [1, 300]


def test_from_text_without_argparse_and_the_scan():
    cfg = KB25Config.from_text({"alpha": "1.5", "d": "1e2:1e3", "per_decade": "1",
                                "eps": "0.1", "methods": "gd"})
    assert (cfg.alpha, cfg.d, cfg.per_decade, cfg.eps) == ((1.5,), (100, 1000), 1, (0.1,))
    rows = K.simulate(cfg)
    assert [r["d"] for r in rows] == [[100, 1000]] and rows[0]["method"] == "gd"
    assert K.summarize(cfg, rows, 0.0)["rows"] is rows


def test_the_parser_is_built_from_the_options():
    dests = [a.dest for a in cli.build_parser()._actions]
    assert [d for d in dests if d in KB25_OPTIONS] == list(KB25_OPTIONS)
    assert {"out", "json", "no_plot"} <= set(dests)


def test_out_is_checked_by_check_out(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert cli.main(["--alpha", "1", "--d", "1e2:1e3", "--out", str(f)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"python -m linsim.kb25: error: --out must be a folder, got the file {str(f)!r}"
    assert cli.main(["--alpha", "1", "--d", "1e2:1e3", "--out", "/proc/linsim-x"]) == 2
    assert "--out: cannot create" in capsys.readouterr().err


@pytest.mark.parametrize("raw,flows,message", [
    ({"alpha": "0"}, None, "--alpha must be a finite number in (0, 10], got '0'"),
    ({"d": "2.5"}, None, "--d must be an integer in [2, 1e+09], got '2.5'"),
    ({"eps": "1"}, None, "--flows must be a comma list from gd,sign,halving and --eps in "
                         "(0, 1) for problem bigram, got gd,sign and 1"),
    ({}, ["gd", "adam"], "--flows must be a comma list from gd,sign,halving"),
    ({"alpha": "0.5", "d": "2e8"}, None, "--d must be <= 1e8 for method gd at alpha <= 1"),
])
def test_the_sweep_checks_bigram_cells_with_the_library(raw, flows, message):
    with pytest.raises(UsageError) as e:
        BigramCell.from_text(raw, **({} if flows is None else {"methods": flows}))
    assert message in str(e.value)
    with pytest.raises(UsageError) as e:
        sweep.PROBLEMS["bigram"].prepare(raw, flows, Path("o"))
    assert message in str(e.value)


def test_the_sweep_cell_is_normalized_as_before():
    params, flows = sweep.PROBLEMS["bigram"].prepare({"d": "1e3", "alpha": "2"}, None,
                                                     Path("o"))
    assert params == {"alpha": 2.0, "d": 1000, "eps": 0.01} and flows == ("gd", "sign")
    assert isinstance(params["d"], int) and isinstance(params["alpha"], float)
    params, flows = sweep.PROBLEMS["bigram"].prepare({"alpha": "0.5", "d": "2e8"}, ["sign"],
                                                     Path("o"))
    assert params["d"] == 200_000_000 and flows == ("sign",)
    assert sweep.PROBLEMS["bigram"].help == {k: o.help for k, o in K.CELL_OPTIONS.items()}
    src = (ROOT / "linsim/sweep.py").read_text()
    assert "10**9" not in src and "_BIGRAM_METHODS" not in src


def test_library_logic_left_the_command_line():
    for name in ("KB25Config", "simulate", "summarize", "BigramCell", "METHODS", "D_MAX"):
        assert hasattr(K, name), name
    tree = ast.parse((ROOT / "linsim/kb25.py").read_text())
    defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert defined == {"build_parser", "write_outputs", "_fmt", "_table", "_real_table",
                       "main"}
    assert "check_args" not in defined


def test_sign_descent_alone_may_go_to_the_largest_d():
    cfg = KB25Config.from_text({"d": "1e2:1e9", "methods": "sign"})
    assert cfg.d == (100, 10**9)
