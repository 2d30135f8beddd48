"""Run records as the leaderboard reads them: every `record.json` under a runs directory, sorted by path;
unreadable, partial or foreign files are skipped with a warning naming the file, so one bad run never
hides the others. Also the two accessors every later module reads records with (`dig`, `number`)."""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.core.errors import BenchError
from bench.record.schema import RECORD_FILE, RunRecord


@dataclass(frozen=True)
class LoadedRecord:
    """A usable record and the file it came from (named in warnings)."""

    path: Path
    record: RunRecord


def dig(obj: Any, *keys: str) -> Any:
    """obj[k1][k2]... or None when any level is missing or not a mapping."""
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def number(value: Any) -> float | None:
    """A finite number as float; None for anything else (missing, NaN, bool, text)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def seq_len(record: RunRecord) -> Any:
    """The sequence length the data stage used, else the configured one."""
    value = dig(record, "data", "seq_len")
    return value if value is not None else dig(record, "config", "data", "seq_len")


# What suites, labels and seeds are read from: a record without one of these cannot be placed in a row.
_REQUIRED: tuple[tuple[tuple[str, ...], type], ...] = (
    (("run_id",), str), (("config", "preset"), str), (("config", "init", "method"), str),
    (("config", "init", "seed"), int), (("config", "data", "corpus"), str),
    (("config", "train", "max_steps"), int), (("config", "train", "batch_size"), int),
)


def record_problem(record: Any) -> str | None:
    """Why a parsed record.json cannot be used, or None."""
    if not isinstance(record, dict):
        return "not a run record (JSON is not an object)"
    if record.get("status") not in ("ok", "diverged"):
        return f"status {record.get('status')!r} is not a finished run (ok or diverged)"
    for keys, kind in _REQUIRED:
        value = dig(record, *keys)
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"missing or invalid {'.'.join(keys)}"
    if not isinstance(seq_len(record), int):
        return "missing data.seq_len"
    return None


def load_runs(runs_dir: Path) -> list[LoadedRecord]:
    """Every usable record under `runs_dir`, sorted by path; warns about each file it skips."""
    if not runs_dir.is_dir():
        raise BenchError(f"runs directory {runs_dir} does not exist")
    paths = sorted(runs_dir.rglob(RECORD_FILE), key=lambda p: p.as_posix())
    if not paths:
        raise BenchError(f"no {RECORD_FILE} under {runs_dir}")
    runs = []
    for path in paths:
        # Not bench.record.schema.read_record: that one stops at the first bad file, this skips it.
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:  # ValueError covers JSON and UTF-8 decoding errors
            warn(f"skipping {path}: unreadable ({exc})")
            continue
        problem = record_problem(record)
        if problem:
            warn(f"skipping {path}: {problem}")
            continue
        runs.append(LoadedRecord(path, record))
    if not runs:
        raise BenchError(f"no usable run record under {runs_dir} ({len(paths)} skipped, see warnings)")
    return runs
