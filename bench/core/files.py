"""Atomic writes: a reader (or a crash) never sees a half-written record or checkpoint; and the one
guarded way to read a torch file back."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import torch

from bench.core.errors import BenchError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp creates 0600 files; a record or checkpoint should get the mode a plain open() would (0666 less
# the umask) so collaborators and web servers can read results. Read once: os.umask is process-global.
_FILE_MODE = 0o666 & ~_umask()


def _atomic(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes(path: Path, data: bytes) -> None:
    _atomic(path, lambda fh: fh.write(data))


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode())


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=False, allow_nan=True) + "\n")


def torch_save(path: Path, obj: Any) -> None:
    _atomic(path, lambda fh: torch.save(obj, fh))


def torch_load(path: Path) -> Any:
    """Tensors and plain containers from a torch file (`weights_only`: never unpickles code). A damaged
    file is a user error, named in one line."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for damaged files
        raise BenchError(f"{path} is corrupt or unreadable ({type(exc).__name__})") from None
