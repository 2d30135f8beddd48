"""Atomic writes leave a file with a plain open()'s mode, not mkstemp's private 0600."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from bench.core import files


def test_atomic_write_has_umask_mode(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    files.write_json(target, {"a": 1})
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert os.access(target, os.R_OK)
