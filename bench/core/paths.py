"""Checks on the names and places a command will write to, made before anything is created, so that a
mistake in them is a one-line error instead of a traceback half-way through a run."""

from __future__ import annotations

import os
import re
from pathlib import Path

from bench.core.errors import BenchError

# A run id names one directory inside --out: letters, digits and `._+=-`, not starting with a dot (so
# neither `.`, `..` nor a hidden name), and no separator, so it can neither climb out of nor nest in --out.
_RUN_ID = re.compile(r"[A-Za-z0-9_+=-][A-Za-z0-9._+=-]*")
MAX_NAME = 200  # below every common filesystem's 255-byte limit, leaving room for `.config.json`, `.log`


def check_run_id(run_id: str, what: str = "--run-id") -> str:
    """`run_id` if it is one safe path component; a BenchError otherwise."""
    if not _RUN_ID.fullmatch(run_id) or len(run_id) > MAX_NAME:
        raise BenchError(f"{what} {run_id!r}: expected one directory name of letters, digits and ._+=- "
                         f"(not starting with '.', at most {MAX_NAME} characters)")
    return run_id


def check_output_dir(path: Path, what: str = "output directory") -> None:
    """`path` can be a directory this process creates or writes into: every existing component on its
    way is a directory, and the deepest existing one is writable. Nothing is created."""
    for part in [path, *path.parents]:
        if not part.exists():
            if part.is_symlink():
                raise BenchError(f"{what} {path}: {part} is a broken symbolic link")
            continue
        if not part.is_dir():
            where = "exists and is not a directory" if part == path else \
                f"lies under {part}, which is not a directory"
            raise BenchError(f"{what} {path} {where}")
        if not os.access(part, os.W_OK | os.X_OK):
            raise BenchError(f"{what} {path}: {part} is not writable")
        return
