"""What every subcommand's parser shares: one-line argparse errors and integer-list options."""

from __future__ import annotations

import argparse
from typing import NoReturn

from bench.config import names
from bench.core.errors import BenchError


class Parser(argparse.ArgumentParser):
    """argparse that reports a user mistake in one line (usage stays available through --help)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def int_list(text: str, what: str) -> list[int]:
    """A comma-separated option value of positive integers (e.g. --widths 64,128); `what` names the
    option in the error."""
    try:
        values = [int(v) for v in names(text)]
    except ValueError:
        raise BenchError(f"{what}: expected comma-separated integers, got {text!r}") from None
    if not values or min(values) <= 0:
        raise BenchError(f"{what}: expected positive integers, got {text!r}")
    return values
