"""The token cache: every source of a corpus tokenized once into memory-mapped arrays.

An entry is keyed by (the sources' content hashes, the tokenizer's hash), so every scheme in a sweep
reads the same tokens, and nothing is tokenized twice. Per source and split it holds
- `<source>.<split>.tokens.npy`: the documents' token ids, each document followed by EOS;
- `<source>.<split>.cc.npy`: 1 where a token is context-constrained by construction (synthetic answer
  and conclusion tokens), else 0;
- `<source>.<split>.starts.npy`: the offset of every document's first token.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.data.cache import building, cache_dir, entry_ok, read_manifest
from bench.data.vocab import Vocab

FORMAT = 1


@dataclass
class Document:
    """A text, and the character spans of its context-constrained words (empty for natural text)."""

    text: str
    cc_spans: tuple[tuple[int, int], ...] = ()


@dataclass
class Stream:
    tokens: np.ndarray  # (n,) uint16/uint32, memory-mapped
    cc: np.ndarray      # (n,) uint8
    starts: np.ndarray  # (documents,) int64


def cache_key(parts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


def _tokenize(vocab: Vocab, docs: list[Document]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dtype = np.uint16 if vocab.size <= 1 << 16 else np.uint32
    encoded = vocab.tok.encode_batch([d.text for d in docs])
    lengths = np.fromiter((len(e.ids) + 1 for e in encoded), dtype=np.int64, count=len(docs))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    tokens = np.empty(int(lengths.sum()), dtype=dtype)
    cc = np.zeros(len(tokens), dtype=np.uint8)
    eos = vocab.eos_id
    for doc, enc, start in zip(docs, encoded, starts, strict=True):
        n = len(enc.ids)
        tokens[start:start + n] = enc.ids
        tokens[start + n] = eos
        if doc.cc_spans:
            # A token is context-constrained when it overlaps a constrained word's characters.
            for i, (a, b) in enumerate(enc.offsets):
                if any(a < hi and lo < b for lo, hi in doc.cc_spans):
                    cc[start + i] = 1
    return tokens, cc, starts


def build_or_load(key_parts: dict[str, Any], vocab: Vocab,
                  load_docs: Callable[[], dict[str, dict[str, list[Document]]]],
                  log: Callable[[str], None] = lambda _msg: None,
                  describe: Callable[[], dict[str, Any]] = dict) -> tuple[dict[str, dict[str, Stream]], dict]:
    """Streams per source and split, from the cache or tokenized now (`load_docs` is only called then;
    `describe()`, called after it, gives per-source manifests stored with the tokens).

    Returns (streams, stats): token counts per split, tokenization throughput, source manifests.
    """
    parts = {**key_parts, "tokenizer": vocab.digest(), "format": FORMAT}
    path = cache_dir() / "tokens" / cache_key(parts)
    if not entry_ok(path):
        if path.exists():
            log(f"token cache {path.name} is damaged; rebuilding")
        docs = load_docs()
        stats: dict[str, Any] = {}
        with building(path, {"key": parts}) as tmp:
            t0, total_tokens, total_bytes = time.perf_counter(), 0, 0
            for source, splits in docs.items():
                for split, items in splits.items():
                    tokens, cc, starts = _tokenize(vocab, items)
                    stem = f"{source}.{split}"
                    np.save(tmp / f"{stem}.tokens.npy", tokens)
                    np.save(tmp / f"{stem}.cc.npy", cc)
                    np.save(tmp / f"{stem}.starts.npy", starts)
                    n_bytes = sum(len(d.text.encode()) for d in items)
                    stats[stem] = {"documents": len(items), "tokens": len(tokens), "bytes": n_bytes,
                                   "cc_tokens": int(cc.sum())}
                    total_tokens += len(tokens)
                    total_bytes += n_bytes
            elapsed = time.perf_counter() - t0
            (tmp / "stats.json").write_text(json.dumps({
                "splits": stats, "sources": describe(), "tokenize_s": elapsed,
                "tokens_per_s": total_tokens / elapsed if elapsed > 0 else None,
                "bytes_per_s": total_bytes / elapsed if elapsed > 0 else None}, indent=2, sort_keys=True))
        log(f"tokenized {total_tokens:,} tokens in {elapsed:.1f}s "
            f"({total_tokens / max(elapsed, 1e-9):,.0f} tokens/s) -> {path}")
    manifest = read_manifest(path)
    stats = json.loads((path / "stats.json").read_text())
    return open_streams(path), {"key": manifest["key"], "path": str(path), **stats}


def open_streams(path: Path) -> dict[str, dict[str, Stream]]:
    """The memory-mapped streams of a complete token cache entry, per source and split."""
    stats = json.loads((path / "stats.json").read_text())
    streams: dict[str, dict[str, Stream]] = {}
    for stem in stats["splits"]:
        source, split = stem.rsplit(".", 1)
        streams.setdefault(source, {})[split] = Stream(
            *(np.load(path / f"{stem}.{part}.npy", mmap_mode="r") for part in ("tokens", "cc", "starts")))
    return streams
