"""Inter-process locks on files: one run per run directory, one sweep per output directory, one builder
per cache entry.

The lock is an `fcntl.flock` on a small file that holds the owner's pid. The kernel drops the lock when
its holder exits, however it exits (kill -9 included), so a lock file left by a dead process is stale by
construction: the next process takes it over and only the pid in it is out of date. POSIX only, as the
rest of the project.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from bench.core.errors import BenchError


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        return "another process"
    return f"process {pid}" if pid.isdigit() else "another process"


def _in_use(path: Path, what: str) -> BenchError:
    return BenchError(f"{what} is in use by {_holder(path)} (lock {path}); wait for it to finish")


def _acquire(path: Path, wait: bool) -> int | None:
    """An open descriptor of `path` holding its exclusive lock, or None when someone else holds it and
    `wait` is false. Re-opens when the file was unlinked by its previous holder meanwhile, since a lock
    on an unlinked file excludes nobody."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        os.close(fd)


@contextlib.contextmanager
def exclusive(path: Path, what: str, wait: bool = False, remove: bool = True) -> Iterator[None]:
    """Hold the lock file `path` for the block. Without `wait`, a live holder is a BenchError naming
    `what` and the holder's pid; with it, the block waits for the holder to finish. `remove` deletes the
    file on release (a run's lock beside its directory); cache locks stay, being reused by every build."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _acquire(path, wait)
    if fd is None:
        raise _in_use(path, what)
    try:
        yield
    finally:
        if remove:
            path.unlink(missing_ok=True)  # before unlocking: a waiter then re-opens a fresh file
        os.close(fd)


def check_free(path: Path, what: str) -> None:
    """Refuse early, creating nothing, when a live process holds the lock file `path`: a command checks
    this while planning and takes the lock (`exclusive`) when it starts writing."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return  # no lock file: nobody holds it
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        raise _in_use(path, what) from None
    finally:
        os.close(fd)
