"""Concurrent use: one live process per run directory and per sweep directory (a stale lock of a dead
process is taken over), and one builder per cache entry (the other waits and reuses its entry)."""

import subprocess
import sys
import textwrap
import threading
import time

import pytest

from bench.core.errors import BenchError
from bench.core.lock import check_free, exclusive
from bench.data import cache
from bench.run.pipeline import lock_path
from bench.sweep.execute import lock_file

HOLD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from bench.core.lock import exclusive
    with exclusive(Path(sys.argv[1]), "test", remove=False):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def hold(path, seconds=60.0):
    """A live process holding the lock file `path` (returned once it holds it)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_run_on_a_held_run_directory_is_refused(tmp_path, cli):
    out = tmp_path / "runs"
    holder = hold(lock_path(out / "busy"))
    try:
        code, _, err = cli("run", "--method", "gamma", "--gamma", "0.5", "--out", out, "--run-id", "busy")
    finally:
        holder.kill()
        holder.wait()
    assert code == 2 and f"process {holder.pid}" in err and len(err.strip().splitlines()) == 1
    assert not (out / "busy").exists()


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    path = tmp_path / ".run.lock"
    holder = hold(path)
    holder.kill()  # kill -9: no cleanup, the lock file stays behind with a dead pid in it
    holder.wait()
    assert path.exists()
    check_free(path, "run directory")  # not refused
    with exclusive(path, "run directory"):
        assert path.read_text().strip() != str(holder.pid)
    assert not path.exists()


def test_second_sweep_on_one_output_directory_is_refused(tmp_path, cli):
    out = tmp_path / "sweep"
    holder = hold(lock_file(out))
    try:
        code, _, err = cli("sweep", "--methods", "normal", "--max-steps", "2", "--out", out)
    finally:
        holder.kill()
        holder.wait()
    assert code == 2 and "in use" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in out.iterdir()) == [".sweep.lock"]


def test_a_held_lock_refuses_in_process_too(tmp_path):
    path = tmp_path / "x.lock"
    with exclusive(path, "thing"), pytest.raises(BenchError, match="in use by process"):
        with exclusive(path, "thing"):
            pass


def test_concurrent_builders_of_one_cache_entry_build_it_once(tmp_path):
    """The second builder waits on the entry lock, then finds the entry complete (what `data fetch`
    does around a source's build)."""
    entry = tmp_path / "sources" / "x-1"
    builds: list[str] = []

    def fetch(name: str) -> None:
        if cache.entry_ok(entry):
            return
        with cache.entry_lock(entry):
            if cache.entry_ok(entry):
                return
            with cache.building(entry, {"by": name}) as tmp:
                builds.append(name)
                time.sleep(0.5)  # long enough for the other thread to arrive and wait
                (tmp / "data.txt").write_text(name)

    threads = [threading.Thread(target=fetch, args=(name,)) for name in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(builds) == 1 and cache.entry_ok(entry)
    assert (entry / "data.txt").read_text() == builds[0]
