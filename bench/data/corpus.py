"""Training data: corpora built from sources, tokenized once, and read by the trainer in a seeded order.

A corpus is one source or a weighted mixture of sources. A source is either a synthetic generator
(`bench.data.synthetic`: anchor, rsnmem, deduction, ...) or documents from `bench.data.sources` (a
registered registry package such as `wiki` or `shakespeare`, a local txt/jsonl/parquet file or folder, or
a hub dataset id). Two layouts:
- *stream* (mixtures and text): every source's documents packed into one token stream with EOS between
  documents; each training row is a random window of `seq_len + 1` tokens from a source drawn with the
  mixture weights. Loss on every token (or only on context-constrained ones with `loss_on = "answers"`).
- *rows* (a single synthetic source): one example per row, loss on the answer tokens by default — the
  setting of the anchor/rsnmem papers.
The trainer reads batches by step index only (`Corpus.batch(step, batch_size, seed)`), so every scheme
sees the same tokens in the same order for a given data seed, and a resumed run continues exactly.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from bench.config import DataConfig
from bench.core.errors import BenchError
from bench.data.cache import building, cache_dir, entry_ok
from bench.data.token_cache import Document, Stream, build_or_load, cache_key
from bench.data.vocab import BPE_MIN_VOCAB, Vocab, train_bpe, word_vocab

IGNORE = -100  # target value that the loss skips
BPE_SAMPLE_CHARS = 4_000_000  # per source: enough for a small BPE vocabulary, cheap to train


@dataclass
class Split:
    """inputs (N, T) token ids; targets (N, T) next-token ids or IGNORE where no loss is taken."""

    inputs: torch.Tensor
    targets: torch.Tensor

    def __len__(self) -> int:
        return self.inputs.shape[0]


@dataclass
class Corpus:
    name: str
    vocab: Vocab
    seq_len: int
    mode: str  # "stream" | "rows"
    val: dict[str, Split]
    info: dict[str, Any]
    streams: dict[str, Stream] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    rows: Split | None = None
    answers_only: bool = False

    @property
    def vocab_size(self) -> int:
        return 64 * ((self.vocab.size + 63) // 64)  # friendlier matmul shapes; extra ids are never seen

    def batch(self, step: int, batch_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch for `step`; a function of (seed, step) only."""
        if self.rows is not None:
            return self._row_batch(step, batch_size, seed)
        gen = torch.Generator().manual_seed(_mix(seed, step))
        names = list(self.weights)
        probs = torch.tensor([self.weights[n] for n in names], dtype=torch.float64)
        choice = torch.multinomial(probs, batch_size, replacement=True, generator=gen).tolist()
        t = self.seq_len
        windows, masks = [], []
        for k in choice:
            stream = self.streams[names[k]]
            start = int(torch.randint(len(stream.tokens) - t, (1,), generator=gen))
            windows.append(np.asarray(stream.tokens[start:start + t + 1], dtype=np.int64))
            masks.append(np.asarray(stream.cc[start + 1:start + t + 1]))
        w = torch.from_numpy(np.stack(windows))
        targets = w[:, 1:].clone()
        if self.answers_only:
            targets[torch.from_numpy(np.stack(masks)) == 0] = IGNORE
        return w[:, :-1], targets

    def _row_batch(self, step: int, batch_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Epoch-wise seeded permutations of the rows."""
        n = len(self.rows)
        pos = torch.arange(step * batch_size, (step + 1) * batch_size)
        epochs, offsets = pos // n, pos % n
        idx = torch.empty_like(pos)
        for epoch in epochs.unique().tolist():
            sel = epochs == epoch
            idx[sel] = _permutation(n, seed, epoch)[offsets[sel]]
        return self.rows.inputs[idx], self.rows.targets[idx]


def _mix(seed: int, step: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{step}".encode()).digest()[:8], "little") >> 1


_PERM_CACHE: dict[tuple[int, int, int], torch.Tensor] = {}


def _permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    key = (n, seed, epoch)
    if key not in _PERM_CACHE:
        if len(_PERM_CACHE) > 2:
            _PERM_CACHE.clear()  # a sequential reader needs at most the current and the next epoch
        gen = torch.Generator().manual_seed(seed * 7919 + epoch)
        _PERM_CACHE[key] = torch.randperm(n, generator=gen)
    return _PERM_CACHE[key]


# --- sources --------------------------------------------------------------------------------------------


@dataclass
class Material:
    """One source, before tokenization: how to get its documents and what identifies their content."""

    name: str
    synthetic: bool
    content: dict[str, Any]  # goes into cache keys: a change here means new tokens
    info: dict[str, Any]     # goes into run records: license, attribution, counts
    documents: Callable[[], dict[str, list[Document]]]  # {"train": [...], "val": [...]}
    vocabulary: list[str] = field(default_factory=list)  # synthetic only: every word it can produce
    manifest: dict[str, Any] | None = None  # synthetic only: set when the documents are generated


def parse_sources(cfg: DataConfig) -> dict[str, float]:
    """`corpus = "mixture"` reads `sources` ("name" or "name:weight"); any other corpus is one source."""
    specs = cfg.sources if cfg.corpus == "mixture" else [cfg.corpus]
    if not specs:
        raise BenchError("data.sources is empty: name at least one source for the mixture")
    weights: dict[str, float] = {}
    for spec in specs:
        name, sep, w = spec.rpartition(":")
        if not sep or not _is_number(w):
            name, w = spec, "1"
        weight = float(w)
        if not weight > 0:
            raise BenchError(f"data source {spec!r}: the weight must be positive")
        if name in weights:
            raise BenchError(f"data source {name!r} is listed twice")
        weights[name] = weight
    total = sum(weights.values())
    return {name: w / total for name, w in weights.items()}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _example_document(ex: Any) -> Document:
    """Render a synthetic example as text, keeping the character spans of its answer words."""
    spans, pos = [], 0
    answer = set(ex.answer)
    for i, word in enumerate(ex.words):
        if i in answer:
            spans.append((pos, pos + len(word)))
        pos += len(word) + 1
    return Document(" ".join(ex.words), tuple(spans))


def material(name: str, cfg: DataConfig) -> Material:
    from bench.data import synthetic

    if name in synthetic.GENERATORS:
        gen = synthetic.configure(name, synthetic_knobs(cfg).get(name, {}))
        val_split = next(s for s in gen.splits if s != "train")
        sizes = {"train": cfg.n_train, "val": cfg.n_val}

        def docs() -> dict[str, list[Document]]:
            examples = {"train": gen.generate("train", cfg.n_train, cfg.seed),
                        val_split: gen.generate(val_split, cfg.n_val, cfg.seed)}
            mat.manifest = synthetic.describe(name, examples, cfg.seed, gen)
            return {"train": [_example_document(e) for e in examples["train"]],
                    "val": [_example_document(e) for e in examples[val_split]]}

        content = {"generator": name, "version": gen.version, "params": gen.params(), "sizes": sizes,
                   "seed": cfg.seed, "val_split": val_split}
        info = {**content, "source": gen.source, "license": "generated", "description": gen.description}
        mat = Material(name, True, content, info, docs, list(gen.vocabulary()))
        return mat

    from bench.data import sources

    meta = sources.source_info(name)

    def text_docs() -> dict[str, list[Document]]:
        out: dict[str, list[Document]] = {"train": [], "val": []}
        for text in sources.load_documents(name):
            out["val" if held_out(text, cfg.val_fraction) else "train"].append(Document(text))
        if not out["train"] or not out["val"]:
            raise BenchError(f"source {name!r} has too few documents for a train/validation split "
                             f"(data.val_fraction = {cfg.val_fraction})")
        return out

    content = {"source": name, "content_hash": meta["content_hash"], "val_fraction": cfg.val_fraction}
    return Material(name, False, content, meta, text_docs)


def synthetic_knobs(cfg: DataConfig) -> dict[str, dict[str, Any]]:
    """`data.synthetic` as {generator: {knob: value}}, checked against the corpus's sources."""
    from bench.data import synthetic

    return synthetic.parse_knobs(cfg.synthetic, parse_sources(cfg))


def held_out(text: str, fraction: float) -> bool:
    """Validation membership by content hash: stable across data seeds, runs and machines."""
    h = int.from_bytes(hashlib.sha1(text.encode()).digest()[:4], "little")
    return h % 100_000 < fraction * 100_000


def _log(msg: str) -> None:
    print(msg, file=sys.stderr)


def tokenizer_kind(cfg: DataConfig) -> str:
    """"word" or "bpe": the tokenizer `cfg` trains, from the source names alone (nothing is fetched), with
    the checks that need the kind: word-level needs synthetic sources only, BPE a vocabulary at least as
    large as its byte alphabet."""
    from bench.data import synthetic

    synthetic_only = all(name in synthetic.GENERATORS for name in parse_sources(cfg))
    kind = cfg.tokenizer if cfg.tokenizer != "auto" else "word" if synthetic_only else "bpe"
    if kind == "word" and not synthetic_only:
        raise BenchError("data.tokenizer = 'word' needs synthetic sources only (natural text needs 'bpe')")
    if kind == "bpe" and cfg.vocab_size < BPE_MIN_VOCAB:
        raise BenchError(f"data.vocab_size {cfg.vocab_size} is below the byte-level BPE's minimum "
                         f"{BPE_MIN_VOCAB} (256 byte symbols + EOS)")
    return kind


def make_vocab(cfg: DataConfig, materials: list[Material],
               docs: Callable[[], dict[str, dict[str, list[Document]]]]) -> Vocab:
    if tokenizer_kind(cfg) == "word":
        return word_vocab(w for m in materials for w in m.vocabulary)
    parts = {"kind": "bpe", "vocab_size": cfg.vocab_size, "sample_chars": BPE_SAMPLE_CHARS,
             "sources": sorted(json.dumps(m.content, sort_keys=True) for m in materials)}
    path = cache_dir() / "tokenizers" / cache_key(parts)
    if not entry_ok(path):
        texts = []
        for splits in docs().values():
            budget = BPE_SAMPLE_CHARS
            for d in splits["train"]:
                if budget <= 0:
                    break
                texts.append(d.text)
                budget -= len(d.text)
        _log(f"training a {cfg.vocab_size}-token byte-level BPE on {sum(map(len, texts)):,} characters")
        vocab = train_bpe(texts, cfg.vocab_size)
        with building(path, {"key": parts}) as tmp:
            vocab.save(tmp / "tokenizer.json")
    return Vocab.load(path / "tokenizer.json")


def _rows(stream: Stream, answers_only: bool, pad: int) -> Split:
    """One row per document (its EOS dropped from the inputs), right-padded."""
    tokens = np.asarray(stream.tokens, dtype=np.int64)
    cc = np.asarray(stream.cc)
    starts = np.asarray(stream.starts)
    lengths = np.append(starts[1:], len(tokens)) - starts - 1  # tokens before each document's EOS
    width = int(lengths.max())
    col = np.arange(width)
    valid = col[None, :] < lengths[:, None]
    pos = np.minimum(starts[:, None] + col[None, :], len(tokens) - 2)
    inputs = np.where(valid, tokens[pos], pad)
    keep = valid & (cc[pos + 1] == 1) if answers_only else valid
    targets = np.where(keep, tokens[pos + 1], IGNORE)
    return Split(torch.from_numpy(inputs), torch.from_numpy(targets))


def _val_windows(stream: Stream, seq_len: int, answers_only: bool) -> Split:
    """Consecutive non-overlapping windows over the validation stream (a fixed, order-free set)."""
    tokens = torch.from_numpy(np.asarray(stream.tokens, dtype=np.int64))
    cc = torch.from_numpy(np.asarray(stream.cc, dtype=np.int64))
    n = (len(tokens) - 1) // seq_len
    if n == 0:
        raise BenchError(f"validation stream has {len(tokens)} tokens, fewer than data.seq_len + 1")
    x = tokens[:n * seq_len].view(n, seq_len)
    y = tokens[1:n * seq_len + 1].view(n, seq_len).clone()
    if answers_only:
        y[cc[1:n * seq_len + 1].view(n, seq_len) == 0] = IGNORE
    return Split(x, y)


def load_corpus(cfg: DataConfig) -> Corpus:
    tokenizer_kind(cfg)  # its checks come before any source is fetched or generated
    synthetic_knobs(cfg)
    weights = parse_sources(cfg)
    materials = [material(name, cfg) for name in weights]
    rows_mode = len(materials) == 1 and materials[0].synthetic and cfg.corpus != "mixture"
    loss_on = cfg.loss_on if cfg.loss_on != "auto" else ("answers" if rows_mode else "all")
    loaded: dict[str, dict[str, list[Document]]] = {}

    def docs() -> dict[str, dict[str, list[Document]]]:
        if not loaded:
            loaded.update({m.name: m.documents() for m in materials})
        return loaded

    vocab = make_vocab(cfg, materials, docs)
    key = {"sources": {m.name: m.content for m in materials}}
    streams, stats = build_or_load(key, vocab, docs, log=_log,
                                   describe=lambda: {m.name: m.manifest for m in materials if m.manifest})
    answers_only = loss_on == "answers"
    info = {
        "corpus": cfg.corpus, "mode": "rows" if rows_mode else "stream", "loss_on": loss_on,
        "weights": weights, "sources": {m.name: m.info for m in materials},
        "tokenizer": {"kind": vocab.kind, "size": vocab.size, "hash": vocab.digest()},
        "token_cache": stats,
    }
    if rows_mode:
        (name,) = weights
        rows = _rows(streams[name]["train"], answers_only, vocab.eos_id)
        val = _rows(streams[name]["val"], answers_only, vocab.eos_id)
        return Corpus(name, vocab, rows.inputs.shape[1], "rows", {name: val}, info, rows=rows,
                      answers_only=answers_only)
    for name in weights:
        n_tokens = len(streams[name]["train"].tokens)
        if n_tokens <= cfg.seq_len + 1:
            raise BenchError(f"source {name!r} has only {n_tokens} training tokens, fewer than "
                             f"data.seq_len + 1 = {cfg.seq_len + 1}")
    val = {name: _val_windows(streams[name]["val"], cfg.seq_len, answers_only) for name in weights}
    return Corpus(cfg.corpus, vocab, cfg.seq_len, "stream", val, info,
                  streams={n: s["train"] for n, s in streams.items()}, weights=weights,
                  answers_only=answers_only)
