"""One argument parser and one set of value checks for every command (`python -m sweeps.NAME`,
`python -m analysis.NAME`, the catalogue and the curriculum): a bad flag or value is a UsageError
whose one line names it and what is allowed, never argparse's usage block.

    parser = OneLineParser(prog="python -m analysis.fgsm", description=__doc__)
    parser.add_argument("--images", type=checked(positive_int))
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Iterable

from models.errors import UserError


class UsageError(UserError):
    """A bad command line; the message names the flag or value and what is allowed."""


class OneLineParser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing its usage block and exiting; an unknown
    flag lists the allowed ones."""

    def error(self, message: str):
        if message.startswith("unrecognized"):
            flags = sorted(o for a in self._actions for o in a.option_strings if o.startswith("--"))
            message += f"; allowed flags: {' '.join(flags)}"
        raise UsageError(message)


def run_command(parser: argparse.ArgumentParser, work: Callable[[argparse.Namespace], Path | Iterable[Path]],
                argv: list[str] | None) -> int:
    """The body of a `python -m analysis.NAME` command that writes files: parse `argv`, run `work`
    on the flags and print each path it returns (exit 0); a UserError is one line, exit 2."""
    try:
        written = work(parser.parse_args(argv))
    except UserError as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 2
    for path in [written] if isinstance(written, (str, Path)) else written:
        print(path)
    return 0


def checked(check: Callable) -> Callable:
    """An argparse type from a check that raises a UserError (argparse keeps the message only of
    an ArgumentTypeError)."""

    def convert(text: str):
        try:
            return check(text)
        except UserError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    return convert


def integer_at_least(text, minimum: int, allowed: str) -> int:
    """An integer (given as text or a number, never a bool) no smaller than `minimum`."""
    try:
        if isinstance(text, bool) or float(text) != int(float(text)):
            raise ValueError
        value = int(float(text))
    except (TypeError, ValueError):
        raise UsageError(f"{text!r} is not allowed; use {allowed}") from None
    if value < minimum:
        raise UsageError(f"{value} is not allowed; use {allowed}")
    return value


def positive_int(text) -> int:
    return integer_at_least(text, 1, "a positive integer")


def non_negative_int(text) -> int:
    return integer_at_least(text, 0, "an integer >= 0")


def number(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        raise UsageError(f"{text!r} is not a number") from None


def non_negative_float(text) -> float:
    value = number(text)
    if not value >= 0:
        raise UsageError(f"{value:g} is not allowed; use a number >= 0")
    return value


def positive_float(text) -> float:
    value = number(text)
    if not value > 0:  # Ray cannot place a trial that asks for no resources at all
        raise UsageError(f"{value:g} is not allowed; use a number > 0 (fractions allowed)")
    return value
