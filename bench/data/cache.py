"""The on-disk cache for fetched sources, converted eval sets, tokenizers and token arrays.

Location: `--cache-dir` where a command offers it, else `$INITBENCH_CACHE`, else the user cache dir
(`~/.cache/initbench` on Linux). Every entry is built in a temporary sibling directory and renamed into
place when complete, so an interrupted build never leaves a half-written entry; a completed entry carries
`MANIFEST.json` with a checksum of its files, so a damaged entry is detected and rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.core.errors import BenchError
from bench.core.lock import exclusive

MANIFEST = "MANIFEST.json"
_override: Path | None = None


def set_cache_dir(path: Path | None) -> None:
    """Used by the CLI's --cache-dir; None restores the default."""
    global _override
    _override = path


def cache_dir() -> Path:
    if _override is not None:
        root = _override
    elif os.environ.get("INITBENCH_CACHE"):
        root = Path(os.environ["INITBENCH_CACHE"])
    else:
        import platformdirs

        root = Path(platformdirs.user_cache_dir("initbench"))
    if root.exists() and not root.is_dir():
        raise BenchError(f"cache directory {root} exists and is not a directory")
    return root


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _files_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): sha256_file(p) for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != MANIFEST}


def entry_ok(path: Path) -> bool:
    """True when `path` is a complete entry whose files still match the checksums in its manifest."""
    manifest = path / MANIFEST
    if not manifest.is_file():
        return False
    try:
        recorded = json.loads(manifest.read_text())["files"]
    except (ValueError, KeyError, TypeError):
        return False
    return recorded == _files_digest(path)


def read_manifest(path: Path) -> dict[str, Any]:
    return json.loads((path / MANIFEST).read_text())


def entry_lock(path: Path) -> contextlib.AbstractContextManager[None]:
    """Held while one process builds the entry `path`: a concurrent builder of the same entry waits, then
    finds it complete (check `entry_ok` again inside) instead of building it a second time. The lock files
    live in `<cache>/locks/`, apart from the entries, whose folders hold nothing but complete entries and
    the temporary folders of builds in progress."""
    lock = cache_dir() / "locks" / f"{path.parent.name}-{path.name}.lock"
    return exclusive(lock, f"cache entry {path}", wait=True, remove=False)


@contextlib.contextmanager
def building(path: Path, info: dict[str, Any]) -> Iterator[Path]:
    """Build a cache entry: yields an empty temporary directory; on success writes the manifest (with
    `info` and per-file sha256) and renames it to `path`, replacing any damaged previous entry."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        manifest = {**info, "files": _files_digest(tmp)}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
