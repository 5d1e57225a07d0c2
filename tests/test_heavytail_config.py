"""The runs of ``python -m linsim.heavytail`` as library dataclasses (issue 16, item 6):
linsim.experiments.z20.Z20Config and linsim.experiments.pl23.PL23Config."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import numpy as np
import pytest

from linsim import heavytail, io
from linsim.config import UsageError
from linsim.experiments import pl23, z20
from linsim.experiments.pl23 import PL23Config
from linsim.experiments.z20 import Z20Config

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("paper,config", [("z20", Z20Config), ("pl23", PL23Config)])
def test_defaults_are_those_of_the_command_line(paper, config):
    args = heavytail.build_parser().parse_args([paper])
    assert config().as_dict() == {k: getattr(args, k) for k in config.OPTIONS}
    assert config.from_args(args).out == Path(f"linsim-out/heavytail-{paper}")


@pytest.mark.parametrize("config,kw,message", [
    (Z20Config, {"runs": 0}, "--runs must be an integer in [1, 1e+07], got '0'"),
    (Z20Config, {"runs": 2.5}, "--runs must be an integer in [1, 1e+07]"),
    (Z20Config, {"steps": 5}, "--steps must be an integer in [10, 1e+08]"),
    (Z20Config, {"alpha": (1.5, 2.5)}, "--alpha must be a comma list of tail indices in (1, 2)"),
    (Z20Config, {"alpha": (float("nan"),)}, "--alpha must be a comma list"),
    (Z20Config, {"study": ("tent", "nope")}, "--study must be 'all' or a comma list of distinct"),
    (Z20Config, {"study": ("tent", "tent")}, "--study must be 'all' or a comma list of distinct"),
    (Z20Config, {"seed": -1}, "--seed must be an integer in [0, 9.22337e+18]"),
    (Z20Config, {"quick": "yes"}, "--quick is a switch: true or false, got 'yes'"),
    (PL23Config, {"study": ("sgd-fails",)}, "--study must be 'all' or a comma list"),
    (PL23Config, {"seed": 1.5}, "--seed must be an integer in [0"),
    (PL23Config, {"quick": 1}, "--quick is a switch: true or false, got '1'"),
])
def test_each_field_is_checked_with_the_option_name(config, kw, message):
    with pytest.raises(UsageError) as e:
        config(**kw)
    assert message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("raw,message", [
    ({"study": "sgd-fails", "runs": "100"},
     "--runs must be >= 512 for Z20.sgd-fails (groups of up to R runs), got 100"),
    ({"study": "tent", "alpha": "1.995"}, "--alpha must be in (1, 1.99] for --study tent"),
    ({"alpha": "1.995,1.5"}, "--alpha must be in (1, 1.99] for --study sgd-fails"),
    ({"study": "sgd-fails", "runs": "10000000"}, "--runs too large for sgd-fails"),
    ({"study": "clip-rate", "runs": "200000", "steps": "100000000"},
     "--runs x --steps too large for clip-rate: 200000 x 100000000 x 1 methods x d = 1"),
    ({"study": "coordinate", "runs": "10000", "steps": "1000000"},
     "--runs x --steps too large for coordinate"),
    ({"colour": "red"}, "unknown option 'colour'"),
])
def test_cross_option_checks_in_the_library(raw, message):
    with pytest.raises(UsageError) as e:
        Z20Config.from_text(raw)
    assert message in str(e.value)


def test_what_the_cross_option_checks_allow():
    # clip-rate and nonconvex take a tail index up to 2; sgd-fails its runs from 512
    cfg = Z20Config.from_text({"study": "clip-rate,nonconvex", "alpha": "1.995"})
    assert cfg.alpha == (1.995,)
    assert Z20Config.from_text({"study": "sgd-fails", "runs": "512"}).runs == 512
    with pytest.raises(UsageError, match="--runs too large for tent"):
        z20.check_work({"tent": {"runs": 10**6, "steps": 10, "ps": (0, 1)}})


def test_from_text_builds_the_run_without_argparse():
    cfg = Z20Config.from_text({"study": "coordinate,clip-rate", "alpha": "1.6,1.2",
                               "runs": "60", "quick": "true"}, out=Path("o"))
    assert cfg.study == ("coordinate", "clip-rate") and cfg.alpha == (1.6, 1.2)
    assert cfg.quick is True and cfg.out == Path("o")
    settings = z20.study_settings(cfg)
    assert list(settings) == ["clip-rate", "coordinate"]  # the order in which they run
    assert settings["clip-rate"]["alphas"] == (1.6, 1.2)
    assert settings["coordinate"] == {"alpha": 1.6, "runs": 60, "steps": 1000, "seed": 0,
                                      "dims": (1, 4, 16)}
    assert Z20Config.from_text({"study": "all"}).study == z20.STUDIES
    assert PL23Config.from_text({"study": "stable-step,sharpness"}).study == (
        "stable-step", "sharpness")


def test_settings_are_those_of_the_claim_registry():
    full = z20.study_settings(Z20Config().check())
    assert full["sgd-fails"] == {"alpha": 1.5, "runs": 2**16, "steps": 1000, "seed": 0}
    assert full["clip-rate"]["alphas"] == (1.2, 1.5, 1.8)
    assert full["nonconvex"]["horizons"] == z20.log_horizons(30_000)
    assert z20.log_horizons(30_000)[0] == 300 and z20.log_horizons(30_000)[-1] == 30_000
    assert len(full["tent"]["ps"]) == 8
    quick = z20.study_settings(Z20Config(quick=True, steps=300))
    assert quick["nonconvex"]["horizons"][0] == 10 and quick["tent"]["steps"] == 300


def test_the_parser_is_built_from_the_options():
    parser = heavytail.build_parser()
    subs = next(a for a in parser._actions if a.dest == "paper").choices
    for paper, config in (("z20", Z20Config), ("pl23", PL23Config)):
        dests = [a.dest for a in subs[paper]._actions]
        assert [d for d in dests if d in config.OPTIONS] == list(config.OPTIONS)
        assert {"out", "json", "no_plot", "quiet"} <= set(dests)
        assert not {"out", "json", "no_plot", "quiet"} & set(config.OPTIONS)


def test_a_run_and_its_summary_from_the_library():
    cfg = Z20Config.from_text({"study": "coordinate", "runs": "20", "steps": "50",
                               "quick": "true", "seed": "3"})
    summaries, arrays, figs = z20.run_studies(cfg)
    assert list(summaries) == ["coordinate"] and "coordinate_constants" in arrays
    assert list(figs) == ["z20_coordinate"] and figs["z20_coordinate"][1] == ("Z20.coordinate",)
    doc = z20.summarize(cfg, summaries, 1.5, "python -m linsim.heavytail z20")
    assert (doc["paper"], doc["seed"], doc["quick"], doc["seconds"]) == ("Z20", 3, True, 1.5)
    assert "seconds" in doc["studies"]["coordinate"]
    kept = io.without_timing(doc)
    assert "seconds" not in kept and "seconds" not in kept["studies"]["coordinate"]
    assert np.array_equal(kept["studies"]["coordinate"]["dims"], [1, 4, 16])
    assert z20.summarize(PL23Config(), {}, 0.0, "x")["paper"] == "PL23"


@pytest.mark.parametrize("paper", ["z20", "pl23"])
def test_figure_names_are_the_plotting_functions(paper):
    """The runners return figure names, not plotting functions; the command line draws each
    with the function of that name."""
    plots = importlib.import_module(f"linsim.plotting.{paper}")
    src = (ROOT / f"linsim/experiments/{paper}.py").read_text()
    names = re.findall(r'figs\["(\w+)"\]', src)
    assert len(names) == len(z20.STUDIES if paper == "z20" else pl23.STUDIES)
    assert all(callable(getattr(plots, n)) for n in names), names


@pytest.mark.parametrize("paper", ["z20", "pl23"])
def test_the_experiments_import_neither_plotting_nor_the_command_line(paper):
    tree = ast.parse((ROOT / f"linsim/experiments/{paper}.py").read_text())
    found = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    found |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in found if m and ("plotting" in m or "heavytail" in m)}, found


def test_library_logic_left_the_command_line():
    for module, name in ((z20, "study_settings"), (z20, "log_horizons"), (z20, "check_work"),
                         (z20, "run_studies"), (z20, "summarize"), (pl23, "run_studies"),
                         (io, "without_timing")):
        assert callable(getattr(module, name)), name
    src = (ROOT / "linsim/heavytail.py").read_text()
    for name in ("def _z20_settings", "def _horizons", "def _check_work", "def run_z20",
                 "def run_pl23", "def _without_timing", "def _alphas", "MAX_WORK =",
                 '"paper":', "add_argument(\"--study\"", "add_argument(\"--seed\""):
        assert name not in src, name
