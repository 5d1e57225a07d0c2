"""What every ``python -m linsim.*`` command line shares: one-line errors with exit code 2,
checked numbers and comma lists, and the memory check.

Each command builds its parser with :class:`Parser`, whose errors raise :class:`UsageError`
(one line naming the option); its ``main`` prints ``PROG: error: ...`` and returns 2.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Sequence


class UsageError(Exception):
    """Invalid command-line input: one line naming the option and its valid range."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors raise :class:`UsageError` instead of exiting."""

    def error(self, message):  # one line, exit code 2 (argparse prints usage too)
        head, sep, rest = message.partition(": ")
        if head.startswith("argument ") and rest.startswith(head[len("argument "):].split("/")[0]):
            message = rest  # our own message already names the option
        raise UsageError(message)


def range_text(lo, hi, lo_open: bool, kind) -> str:
    """``"a finite number in (0, 1]"`` and the like, for error messages."""
    what = "an integer" if kind is int else "a finite number"
    if lo is not None and hi is not None:
        return f"{what} in {'(' if lo_open else '['}{lo:g}, {hi:g}]"
    if lo is not None:
        return f"{what} {'>' if lo_open else '>='} {lo:g}"
    return what


def number(name: str, kind=float, lo=None, hi=None, lo_open: bool = False) -> Callable:
    """An argparse type that checks a finite number in a range and names the option."""

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
    """An argparse type: a comma list of distinct names from ``allowed`` (``"all"`` for every
    one of them when ``all_ok``), naming ``option`` in its error."""
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


def available_memory() -> int:
    """Bytes of memory available now (``MemAvailable``), or the physical memory."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
