"""Run configurations as data: one dataclass per command line, checked in the library.

Every command line of linsim (``python -m linsim.flow``, ``z24``, ``heavytail``, ``experiment``,
``kb25``) runs one configuration: a dataclass deriving from :class:`Config`, whose class
attribute ``OPTIONS`` maps each field to an :class:`Option` (its parser from text, default,
help). The rules, as SciPy's ``OdeSolver`` states its own:

1. A field of the dataclass per option, with the option's default. Fields that are not options
   (``out``, ``argv``) are allowed and are not checked here.
2. Constructing the configuration checks every option's value as its command-line text would
   be checked (:meth:`Config.validate`: the value is written as text and parsed back), so the
   library and the command line give the same one-line message naming the option.
3. :meth:`Config.check` makes the cross-option checks and fills in what depends on other
   options (``auto``, default output folders); subclasses override it and return ``self``.
4. The command line builds its parser from the table (:meth:`Config.add_arguments`) and its
   configuration from the parsed arguments (:meth:`Config.from_args`); a sweep or a test
   builds it from ``{option: text}`` (:meth:`Config.from_text`) without argv or argparse.

Every error is a :class:`UsageError` (a ``ValueError``) of one line naming the option and its
valid range; the command lines print it and exit with code 2.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar, TypeVar

C = TypeVar("C", bound="Config")


class UsageError(ValueError):
    """Invalid input: one line naming the option and its valid range (a ``ValueError``: the
    library's checks of a configuration raise it, and the command lines print it with exit
    code 2)."""


def range_text(lo, hi, lo_open: bool, kind) -> str:
    """``"a finite number in (0, 1]"`` and the like, for error messages."""
    what = "an integer" if kind is int else "a finite number"
    if lo is not None and hi is not None:
        return f"{what} in {'(' if lo_open else '['}{lo:g}, {hi:g}]"
    if lo is not None:
        return f"{what} {'>' if lo_open else '>='} {lo:g}"
    return what


def number(name: str, kind=float, lo=None, hi=None, lo_open: bool = False) -> Callable:
    """A parser from text (and argparse type) that checks a finite number in a range and names
    the option."""

    def parse(text: str):
        rng = range_text(lo, hi, lo_open, kind)
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be {rng}, got {text!r}") from None
        if kind is int:
            if not (math.isfinite(v) and v == int(v)):
                raise argparse.ArgumentTypeError(f"{name} must be {rng}, got {text!r}")
            v = int(v)
        bad = (not math.isfinite(v) or (lo is not None and (v <= lo if lo_open else v < lo))
               or (hi is not None and v > hi))
        if bad:
            raise argparse.ArgumentTypeError(f"{name} must be {rng}, got {text!r}")
        return v

    return parse


def names(option: str, allowed: Sequence[str], all_ok: bool = False) -> Callable:
    """A parser from text (and argparse type): a comma list of distinct names from ``allowed``
    (``"all"`` for every one of them when ``all_ok``), naming ``option`` in its error."""
    allowed = tuple(allowed)

    def parse(text: str) -> tuple[str, ...]:
        if all_ok and text.strip() == "all":
            return allowed
        got = tuple(s.strip() for s in text.split(","))
        if not text.strip() or any(n not in allowed for n in got) or len(set(got)) < len(got):
            head = "'all' or " if all_ok else ""
            raise argparse.ArgumentTypeError(
                f"{option} must be {head}a comma list of distinct names from "
                f"{','.join(allowed)}, got {text!r}")
        return got

    return parse


def choice(option: str, choices: Sequence[str]) -> Callable[[str], str]:
    """A parser from text for a fixed set of values, with argparse's own message."""

    def parse(text: str) -> str:
        if text not in choices:
            raise UsageError(f"argument {option}: invalid choice: {text!r} (choose from "
                             f"{', '.join(repr(c) for c in choices)})")
        return text

    return parse


def as_text(value: Any) -> str:
    """A value as its option's text: comma lists for sequences, ``name=value`` lists for
    mappings, ``true``/``false`` for booleans (so that ``True`` is not read as the number 1)."""
    if isinstance(value, dict):
        return ",".join(f"{k}={as_text(v)}" for k, v in value.items())
    if isinstance(value, (tuple, list)):
        return ",".join(as_text(v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(float(value))  # NumPy 2 writes np.float64(0.1)
    return str(value)


@dataclass(frozen=True)
class Option:
    """One option of a configuration.

    Attributes
    ----------
    parse : callable or None
        Parser from text to value, raising ``argparse.ArgumentTypeError`` or
        :class:`UsageError` with one line; None: the text itself.
    default : object
        The value when the option is not given (None: computed by :meth:`Config.check`).
    help : str
        The ``--help`` text.
    metavar : str, optional
        The ``--help`` placeholder.
    choices : tuple of str, optional
        The values of a fixed set (then ``parse`` is not used).
    switch : bool
        A flag without a value (``store_true``); its value is a bool.
    text : callable or None
        How a value is written as this option's text, for :meth:`Config.validate` and
        :meth:`Config.from_text` (None: :func:`as_text`); for an option whose text is not a
        comma list, such as ``--d LO:HI``.
    """

    parse: Callable[[str], Any] | None
    default: Any
    help: str
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    switch: bool = False
    text: Callable[[Any], str] | None = None

    def write(self, value: Any) -> str:
        """``value`` as this option's text (text itself unchanged)."""
        if isinstance(value, str):
            return value
        return as_text(value) if self.text is None else self.text(value)

    def flag(self, name: str) -> str:
        """The command-line flag of field ``name``: ``t_max`` -> ``--t-max``."""
        return "--" + name.replace("_", "-")

    def read(self, name: str, text: str) -> Any:
        """The value of this option (field ``name``) from ``text``, checked as on the command
        line; :class:`UsageError` with the command line's message."""
        if self.switch:
            if text not in ("true", "false"):
                raise UsageError(f"{self.flag(name)} is a switch: true or false, got {text!r}")
            return text == "true"
        if self.choices is not None:
            return choice(self.flag(name), self.choices)(text)
        if self.parse is None:
            return text
        try:
            return self.parse(text)
        except argparse.ArgumentTypeError as e:
            raise UsageError(str(e)) from None


class Config:
    """Base of the run configurations: a dataclass subclass with an ``OPTIONS`` table.

    Subclasses are ``@dataclass`` classes with one field per key of ``OPTIONS`` (and possibly
    other fields, not checked); see the module's rules.
    """

    OPTIONS: ClassVar[dict[str, Option]] = {}

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check every option's value as its text would be checked on the command line (range,
        kind, choices), and store the parsed value; :class:`UsageError` naming the option."""
        for name, opt in self.OPTIONS.items():
            v = getattr(self, name)
            if v is None and opt.default is None:
                continue
            text = opt.write(v)
            if not text and v == opt.default:
                continue  # an empty default (a mapping option not given) has no text to parse
            setattr(self, name, opt.read(name, text))

    def check(self: C) -> C:
        """The cross-option checks and the values that depend on other options; returns the
        configuration. The base class has none."""
        return self

    @classmethod
    def from_text(cls: type[C], raw: dict[str, Any], **values: Any) -> C:
        """The configuration from ``{option: text}`` (every other option at its default),
        checked (:meth:`check`); ``values`` set other fields directly (``out``)."""
        unknown = [k for k in raw if k not in cls.OPTIONS]
        if unknown:
            raise UsageError(f"unknown option {unknown[0]!r}; options: "
                             f"{', '.join(cls.OPTIONS)}")
        parsed = {k: cls.OPTIONS[k].read(k, cls.OPTIONS[k].write(v))
                  for k, v in raw.items()}
        return cls(**parsed, **values).check()

    @classmethod
    def from_args(cls: type[C], args: argparse.Namespace, **values: Any) -> C:
        """The configuration from parsed arguments (the fields that ``args`` has), checked
        (:meth:`check`); ``values`` set fields directly."""
        have = {f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)}
        return cls(**(have | values)).check()

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add one argument per option to ``parser``, in the table's order."""
        for name, opt in cls.OPTIONS.items():
            if opt.switch:
                parser.add_argument(opt.flag(name), action="store_true", help=opt.help)
                continue
            kw: dict[str, Any] = {}
            if opt.choices is not None:
                kw["choices"] = opt.choices
            elif opt.parse is not None:
                kw["type"] = opt.parse
            if opt.metavar is not None:
                kw["metavar"] = opt.metavar
            parser.add_argument(opt.flag(name), default=opt.default, help=opt.help, **kw)

    def as_dict(self) -> dict[str, Any]:
        """Every option's value (not the other fields)."""
        return {name: getattr(self, name) for name in self.OPTIONS}


__all__ = ["Config", "Option", "UsageError", "as_text", "choice", "names", "number",
           "range_text"]
