"""The documents of a text corpus spec, and its provenance for run records.

A spec is a registered text source (fetched when needed), a local file or folder, or
`hub:<org>/<name>[:split]`. Local files: a `.txt` file is ONE document (a folder of .txt files is one
document per file; no splitting on blank lines, so a play or a book stays whole); `.jsonl`/`.json` (field
"text") and `.parquet` (column "text") give one document per row, read through `datasets`; a folder is
read recursively in sorted path order (hidden files skipped). Empty and whitespace-only documents are
dropped. `source_info(spec)` describes a spec for run records, with a stable `content_hash`.
`hub_offline()` keeps `datasets` and the hub offline while local files (and lm-eval's tasks) are read.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.core.errors import BenchError
from bench.data.cache import cache_dir, read_manifest, sha256_file
from bench.data.sources.entries import fetch
from bench.data.sources.prepare import DOCUMENTS
from bench.data.sources.registry import SOURCES

HUB_PREFIX = "hub:"

LOCAL_KINDS = {".txt": "text", ".jsonl": "json", ".json": "json", ".parquet": "parquet"}


@contextlib.contextmanager
def hub_offline() -> Iterator[None]:
    """Offline mode for `datasets`/`huggingface_hub` while local files are read, unless the user set
    HF_HUB_OFFLINE or HF_DATASETS_OFFLINE; both libraries read these at import, so their module
    constants are switched too, and everything is restored afterwards."""
    names = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    if any(n in os.environ for n in (*names, "TRANSFORMERS_OFFLINE")):
        yield
        return
    patches = [("datasets.config", "HF_HUB_OFFLINE"), ("datasets.config", "HF_DATASETS_OFFLINE"),
               ("huggingface_hub.constants", "HF_HUB_OFFLINE")]
    saved = {(mod, attr): getattr(sys.modules[mod], attr) for mod, attr in patches
             if mod in sys.modules and hasattr(sys.modules[mod], attr)}
    for n in names:
        os.environ[n] = "1"
    try:
        for mod, attr in patches:
            if mod in sys.modules:
                setattr(sys.modules[mod], attr, True)
        yield
    finally:
        for n in names:
            os.environ.pop(n, None)
        for mod, attr in patches:
            if mod in sys.modules:
                if (mod, attr) in saved:
                    setattr(sys.modules[mod], attr, saved[(mod, attr)])
                else:  # first imported inside: its import-time value was the forced offline one
                    setattr(sys.modules[mod], attr, False)


def _local_files(spec: str) -> list[Path]:
    path = Path(spec).expanduser()
    if not path.exists():
        raise BenchError(f"{spec!r} is neither a registered source ({', '.join(SOURCES)}), an existing "
                         f"file or folder, nor a hub id (hub:<org>/<name>[:split])")
    if path.is_file():
        if path.suffix.lower() not in LOCAL_KINDS:
            raise BenchError(f"{spec}: unsupported file type (use {', '.join(LOCAL_KINDS)})")
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in LOCAL_KINDS
                   and not any(part.startswith(".") for part in p.relative_to(path).parts))
    if not files:
        raise BenchError(f"{spec}: no {'/'.join(LOCAL_KINDS)} files in this folder")
    return files


def _load_table(kind: str, files: list[Path]) -> list[str]:
    with hub_offline():
        import datasets

        try:
            ds = datasets.load_dataset(kind, data_files=[str(f) for f in files], split="train",
                                       cache_dir=str(cache_dir() / "datasets"))
        except Exception as exc:  # malformed user files: report, don't crash
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            raise BenchError(f"could not read {files[0]}{' and others' if len(files) > 1 else ''} as "
                             f"{kind}: {type(exc).__name__}: {first}") from None
    if "text" not in ds.column_names:
        raise BenchError(f"{files[0]}: no 'text' {'field' if kind == 'json' else 'column'} "
                         f"(has {', '.join(ds.column_names) or 'none'})")
    return list(ds["text"])


def _keep(texts: list[Any]) -> list[str]:
    return [t for t in texts if isinstance(t, str) and t.strip()]


def _local_documents(files: list[Path]) -> list[str]:
    docs: list[str] = []
    for kind, group in itertools.groupby(files, key=lambda p: LOCAL_KINDS[p.suffix.lower()]):
        group_files = list(group)
        if kind == "text":
            for f in group_files:
                try:
                    docs.append(f.read_text(encoding="utf-8"))
                except UnicodeDecodeError:
                    raise BenchError(f"{f}: not UTF-8 text") from None
        else:
            docs.extend(_load_table(kind, group_files))
    return _keep(docs)


def _parse_hub(spec: str) -> tuple[str, str]:
    repo, _, split = spec.removeprefix(HUB_PREFIX).partition(":")
    if not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", repo):
        raise BenchError(f"{spec!r}: expected hub:<org>/<name>[:split]")
    return repo, split or "train"


_HUB_DOCS: dict[tuple[str, str], tuple[list[str], str | None]] = {}


def _hub_documents(spec: str) -> tuple[list[str], str | None]:
    repo, split = _parse_hub(spec)
    if (repo, split) not in _HUB_DOCS:
        import datasets

        try:
            ds = datasets.load_dataset(repo, split=split)
        except Exception as exc:  # no network, unknown dataset or split: one line for the user
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            raise BenchError(f"could not load hub dataset {repo!r} split {split!r} ({type(exc).__name__}: "
                             f"{first}); it needs the Hugging Face hub or a copy in the local HF cache; "
                             f"offline, use a registered source ({', '.join(SOURCES)}) or local files"
                             ) from None
        if "text" not in ds.column_names:
            raise BenchError(f"hub dataset {repo!r}: no 'text' column (has {', '.join(ds.column_names)})")
        _HUB_DOCS[(repo, split)] = (_keep(list(ds["text"])), getattr(ds.info, "license", None) or None)
    return _HUB_DOCS[(repo, split)]


def _read_documents_file(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh if line.strip()]


def load_documents(spec: str) -> list[str]:
    """The documents of a text corpus: a registered source name (fetched when needed), a local file or
    folder (.txt = one document per file; .jsonl/.json field "text"; .parquet column "text"), or
    `hub:<org>/<name>[:split]` (default split train). Registered names win over same-named paths
    (write ./wiki for a folder called wiki)."""
    if spec.startswith(HUB_PREFIX):
        docs = _hub_documents(spec)[0]
    elif spec in SOURCES:
        src = SOURCES[spec]
        if src.kind != "text":
            raise BenchError(f"{spec!r} is an evaluation source, not a text corpus")
        docs = _keep(_read_documents_file(fetch(spec) / DOCUMENTS))
    else:
        docs = _local_documents(_local_files(spec))
    if not docs:
        raise BenchError(f"{spec}: no text found")
    return docs


def _docs_hash(docs: list[str]) -> str:
    h = hashlib.sha256()
    for d in docs:
        b = d.encode("utf-8")
        h.update(len(b).to_bytes(8, "little") + b)
    return h.hexdigest()


def source_info(spec: str) -> dict[str, Any]:
    """Provenance of a corpus spec for run records. `content_hash` is stable across machines and cache
    locations: a registered source's sha256 of its documents.jsonl (of all prepared files for an eval
    source), local files' sha256s in load order (with their kind; names and paths left out), a hub
    split's hash of its loaded documents."""
    if spec.startswith(HUB_PREFIX):
        repo, split = _parse_hub(spec)
        docs, license_ = _hub_documents(spec)
        return {"name": spec, "type": "hub", "dataset": repo, "split": split,
                "license": license_ or "see the dataset card", "attribution": f"https://huggingface.co/datasets/{repo}",
                "documents": len(docs), "content_hash": _docs_hash(docs)}
    if spec in SOURCES:
        src = SOURCES[spec]
        entry = fetch(spec)
        m = read_manifest(entry)
        files = m["files"]
        content = files[DOCUMENTS] if src.kind == "text" and DOCUMENTS in files else \
            hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
        counts = m.get("counts") or {}
        return {"name": spec, "type": "registered", "package": src.pin, "archive": src.filename,
                "archive_sha256": src.sha256, "kind": src.kind, "license": src.license,
                "attribution": src.attribution, "documents": counts.get("documents"), "counts": counts,
                "bytes": m.get("bytes"), "content_hash": content}
    files = _local_files(spec)
    parts = [f"{LOCAL_KINDS[f.suffix.lower()]}:{sha256_file(f)}" for f in files]
    return {"name": spec, "type": "local", "path": str(Path(spec).expanduser().resolve()),
            "files": len(files), "bytes": sum(f.stat().st_size for f in files),
            "license": "unknown (local files)", "attribution": None,
            "content_hash": hashlib.sha256("\n".join(parts).encode()).hexdigest()}
