"""The run-configuration base (linsim.config): every option checked as its command-line text,
cross-option checks in the library, parsers built from the table."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from linsim.cli import Parser
from linsim.config import Config, Option, UsageError, as_text, names, number


@dataclass
class Toy(Config):
    OPTIONS: ClassVar[dict[str, Option]] = {
        "size": Option(number("--size", int, 1, 100), 10, "an integer in [1, 100]"),
        "rate": Option(number("--rate", float, 0.0, 1.0, lo_open=True), 0.5, "in (0, 1]"),
        "kinds": Option(names("--kinds", ("a", "b", "c")), ("a",), "comma list"),
        "mode": Option(None, "fast", "fast or slow", choices=("fast", "slow")),
        "quick": Option(None, False, "a switch", switch=True),
        "label": Option(None, None, "free text"),
    }
    size: int = 10
    rate: float = 0.5
    kinds: tuple[str, ...] = ("a",)
    mode: str = "fast"
    quick: bool = False
    label: str | None = None
    out: str | None = None  # not an option: not checked

    def check(self) -> Toy:
        if self.quick and self.size > 50:
            raise UsageError(f"--size must be <= 50 with --quick, got {self.size}")
        if self.out is None:
            self.out = f"out-{self.size}"
        return self


def test_values_are_checked_as_their_text():
    assert Toy(size=np.int64(3), rate=np.float64(0.1), kinds=["b", "c"]).as_dict() == {
        "size": 3, "rate": 0.1, "kinds": ("b", "c"), "mode": "fast", "quick": False,
        "label": None}


@pytest.mark.parametrize("kw,message", [
    ({"size": 0}, "--size must be an integer in [1, 100], got '0'"),
    ({"size": 2.5}, "--size must be an integer in [1, 100], got '2.5'"),
    ({"size": True}, "--size must be an integer in [1, 100], got 'true'"),
    ({"rate": 0.0}, "--rate must be a finite number in (0, 1], got '0.0'"),
    ({"rate": float("inf")}, "--rate must be a finite number in (0, 1]"),
    ({"kinds": ("a", "a")}, "--kinds must be a comma list of distinct names from a,b,c"),
    ({"mode": "medium"}, "argument --mode: invalid choice: 'medium'"),
    ({"quick": 1}, "--quick is a switch: true or false, got '1'"),
])
def test_a_bad_value_names_its_option(kw, message):
    with pytest.raises(UsageError) as e:
        Toy(**kw)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_from_text_parses_and_checks_across_options():
    cfg = Toy.from_text({"size": "20", "kinds": "c,a", "quick": "true"})
    assert (cfg.size, cfg.kinds, cfg.quick, cfg.out) == (20, ("c", "a"), True, "out-20")
    with pytest.raises(UsageError, match="--size must be <= 50 with --quick, got 60"):
        Toy.from_text({"size": "60", "quick": "true"})
    with pytest.raises(UsageError, match="unknown option 'colour'; options: size, rate"):
        Toy.from_text({"colour": "red"})


def test_the_parser_is_built_from_the_table_and_gives_the_same_config():
    p = Parser(prog="toy")
    Toy.add_arguments(p)
    p.add_argument("--json", action="store_true")  # a command line's own option
    args = p.parse_args(["--size", "7", "--kinds", "b", "--quick", "--json"])
    cfg = Toy.from_args(args)
    assert cfg == Toy(size=7, kinds=("b",), quick=True, out="out-7")
    assert Toy.from_args(p.parse_args([])).as_dict() == Toy().as_dict()
    with pytest.raises(UsageError, match="--size must be an integer in \\[1, 100\\], got '0'"):
        p.parse_args(["--size", "0"])
    helps = {a.dest: a.help for a in p._actions}
    assert all(helps[k] == o.help for k, o in Toy.OPTIONS.items())


@pytest.mark.parametrize("value,text", [
    (0.1, "0.1"), (np.float64(1e-8), "1e-08"), (True, "true"), (("a", "b"), "a,b"),
    ({"gd": 0.1, "sign": 3e-4}, "gd=0.1,sign=0.0003"), ({"gd": np.float64(0.3)}, "gd=0.3"),
    (7, "7"),
])
def test_as_text_writes_what_the_parsers_read(value, text):
    assert as_text(value) == text


def test_number_is_an_argparse_type():
    with pytest.raises(argparse.ArgumentTypeError, match="--n must be an integer >= 2"):
        number("--n", int, 2)("1")
