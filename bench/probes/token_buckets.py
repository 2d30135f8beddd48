"""The token-level probe (docs/probes.md): a model's validation loss split into buckets that the data fixes.

Reference n-gram statistics are fitted once per token cache, on the training tokens of all its sources,
and cached beside it (`<cache>/ngrams/<token-cache-entry>-n<ngram_max>`). Every scored validation token
then gets one bucket of `BUCKETS` by `RULE`, independently of the model, so two schemes trained on the
same corpus are compared on the same token sets.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from bench.config import ProbeConfig
from bench.core.errors import BenchError
from bench.data.cache import building, cache_dir, entry_ok
from bench.data.corpus import Corpus
from bench.data.synthetic import GENERATORS
from bench.data.token_cache import Stream, open_streams
from bench.record.schema import BUCKETS, Bucket, BucketLoss, TokenProbe

TRIVIAL, LOCAL, CONSTRAINED, OPEN = range(len(BUCKETS))

RULE = (
    "Buckets are fixed by the data, not by the scored model. Reference: for n = 2..ngram_max, the most "
    "frequent next token after each (n-1)-token context in the training tokens of every source of the "
    "token cache (contexts never cross a document start; ties go to the smallest token id). A scored "
    "token's visible context is the tokens before it in both its document and its scored sequence "
    "(stream mode: consecutive non-overlapping validation windows of seq_len tokens; rows mode: one row "
    "per validation document, its first seq_len targets). An order-n prediction exists only when all "
    "n-1 context tokens are visible and that context occurs in training; otherwise the order is unseen "
    "(no back-off), so a document's first token has no prediction. trivial: the order-2 (bigram) "
    "prediction is the token. local: not trivial, and some order 3..ngram_max prediction is the token. "
    "Natural-text sources: a token that is neither is context_constrained when the same token id occurs "
    "earlier in its visible context, else open. Synthetic sources: the tokens the generator marks as "
    "determined by earlier context (answer and conclusion tokens) are context_constrained whatever the "
    "n-gram labels; the others are trivial, local or open by the n-gram rule (no occurs-earlier rule). "
    "EOS is scored like any token. At most probe.max_tokens scored tokens per source, the first ones in "
    "stream order."
)

BATCH_TOKENS = 8192  # per forward pass: bounds the float32 logits (BATCH_TOKENS x vocab) in memory


@dataclass
class Ngrams:
    """Top next-token predictions per order n: `contexts[n]` the sorted packed (n-1)-token contexts
    seen in training, `preds[n]` the most frequent next token after each. A context packs its tokens
    `bits` bits apiece, the nearest token in the lowest bits."""

    bits: int
    contexts: dict[int, np.ndarray]
    preds: dict[int, np.ndarray]
    info: dict[str, Any]

    def hits(self, n: int, tokens: np.ndarray, pos: np.ndarray, visible: np.ndarray) -> np.ndarray:
        """True where the order-n prediction for `tokens[pos]` (uint64) exists and is that token;
        `visible` is the first position each target's context may use."""
        out = np.zeros(len(pos), dtype=bool)
        table = self.contexts[n]
        ok = np.flatnonzero(pos - (n - 1) >= visible)
        if not len(table) or not len(ok):
            return out
        keys = _context_keys(tokens, pos[ok], n, self.bits)
        i = np.minimum(np.searchsorted(table, keys), len(table) - 1)
        found = table[i] == keys
        out[ok[found]] = self.preds[n][i[found]] == tokens[pos[ok[found]]]
        return out


def _context_keys(tokens: np.ndarray, pos: np.ndarray, n: int, bits: int) -> np.ndarray:
    """The packed n-1 tokens before each position (every pos >= n-1)."""
    keys = np.zeros(len(pos), dtype=np.uint64)
    for k in range(1, n):
        keys |= tokens[pos - k] << np.uint64(bits * (k - 1))
    return keys


def _doc_starts(stream: Stream, end: int) -> np.ndarray:
    """The start of each position's document, for positions [0, end)."""
    starts = np.asarray(stream.starts)
    lengths = np.diff(np.append(starts, len(stream.tokens)))
    return np.repeat(starts, lengths)[:end]


def _top_next(keys: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Per context in packed (context, next) keys: the most frequent next token, ties to the smallest."""
    pairs, counts = np.unique(keys, return_counts=True)
    ctx, nxt = pairs >> np.uint64(bits), pairs & np.uint64((1 << bits) - 1)
    order = np.lexsort((nxt, -counts, ctx))
    ctx, nxt = ctx[order], nxt[order]
    first = np.ones(len(ctx), dtype=bool)
    first[1:] = ctx[1:] != ctx[:-1]
    return ctx[first], nxt[first].astype(np.uint32)


def key_bits(streams: list[Stream], ngram_max: int) -> int:
    """Bits per token in a packed key: enough for every token id of `streams`; ngram_max of them must
    fit in 64."""
    bits = max(max((int(np.max(s.tokens)) for s in streams if len(s.tokens)), default=1).bit_length(), 1)
    if ngram_max * bits > 64:
        raise BenchError(f"probe.ngram_max = {ngram_max} needs {ngram_max} x {bits} key bits for this "
                         f"vocabulary; at most {64 // bits} tokens fit in 64 bits")
    return bits


def fit_ngrams(streams: list[Stream], ngram_max: int, bits: int) -> Ngrams:
    """Orders 2..ngram_max over the documents of `streams` (contexts within one document only)."""
    data = []
    for s in streams:
        tokens = np.asarray(s.tokens).astype(np.uint64)
        data.append((tokens, np.arange(len(tokens)) - _doc_starts(s, len(tokens))))
    contexts, preds = {}, {}
    for n in range(2, ngram_max + 1):
        keys = []
        for tokens, offset in data:
            pos = np.flatnonzero(offset >= n - 1)
            keys.append((_context_keys(tokens, pos, n, bits) << np.uint64(bits)) | tokens[pos])
        contexts[n], preds[n] = _top_next(np.concatenate(keys), bits)
    return Ngrams(bits, contexts, preds, {"ngram_max": ngram_max, "bits": bits,
                                          "train_tokens": sum(len(t) for t, _ in data),
                                          "contexts": {str(n): len(c) for n, c in contexts.items()}})


def reference(token_cache: Path, ngram_max: int) -> Ngrams:
    """The n-gram reference of a token cache entry: fitted on its training splits the first time, then
    loaded from its own cache entry."""
    name = f"{token_cache.name}-n{ngram_max}"
    path = cache_dir() / "ngrams" / name
    if not entry_ok(path):
        streams = open_streams(token_cache)
        train = [splits["train"] for splits in streams.values()]
        t0 = time.perf_counter()
        ngrams = fit_ngrams(train, ngram_max, key_bits([s for sp in streams.values() for s in sp.values()],
                                                       ngram_max))
        info = {**ngrams.info, "cache": name, "fit_s": round(time.perf_counter() - t0, 3)}
        with building(path, {"key": {"token_cache": token_cache.name, "ngram_max": ngram_max}}) as tmp:
            for n in ngrams.contexts:
                np.save(tmp / f"order{n}.contexts.npy", ngrams.contexts[n])
                np.save(tmp / f"order{n}.preds.npy", ngrams.preds[n])
            (tmp / "info.json").write_text(json.dumps(info, indent=2, sort_keys=True))
    info = json.loads((path / "info.json").read_text())
    orders = range(2, ngram_max + 1)
    return Ngrams(info["bits"], {n: np.load(path / f"order{n}.contexts.npy") for n in orders},
                  {n: np.load(path / f"order{n}.preds.npy") for n in orders}, info)


def _seen_before(tokens: np.ndarray, pos: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """True where tokens[pos] also occurs in tokens[visible:pos]."""
    lo = int(visible.min())
    span = tokens[lo:int(pos.max()) + 1]
    order = np.argsort(span, kind="stable")  # equal tokens stay in position order
    prev = np.full(len(span), -1, dtype=np.int64)
    same = span[order[1:]] == span[order[:-1]]
    prev[order[1:][same]] = order[:-1][same] + lo
    return prev[pos - lo] >= visible


def label_tokens(ngrams: Ngrams, stream: Stream, pos: np.ndarray, visible: np.ndarray,
                 synthetic: bool) -> np.ndarray:
    """The bucket (an index into BUCKETS) of the token at each stream position `pos`, whose visible
    context starts at position `visible` (see RULE)."""
    tokens = np.asarray(stream.tokens[:int(pos.max()) + 1]).astype(np.uint64)
    labels = np.full(len(pos), OPEN, dtype=np.uint8)
    if not synthetic:
        labels[_seen_before(tokens, pos, visible)] = CONSTRAINED
    local = np.zeros(len(pos), dtype=bool)
    for n in range(3, max(ngrams.contexts) + 1):
        local |= ngrams.hits(n, tokens, pos, visible)
    labels[local] = LOCAL
    labels[ngrams.hits(2, tokens, pos, visible)] = TRIVIAL
    if synthetic:
        labels[np.asarray(stream.cc)[pos] == 1] = CONSTRAINED
    return labels


def scored_sequences(stream: Stream, mode: str, seq_len: int,
                     max_tokens: int) -> tuple[np.ndarray, np.ndarray]:
    """(start, length) of the scored input sequences: stream mode the consecutive validation windows,
    rows mode one per document (its EOS as the last target, at most seq_len targets); only as many as
    the first `max_tokens` targets need."""
    if mode == "stream":
        count = (len(stream.tokens) - 1) // seq_len
        starts, lengths = np.arange(count, dtype=np.int64) * seq_len, np.full(count, seq_len)
    else:
        starts = np.asarray(stream.starts, dtype=np.int64)
        lengths = np.minimum(np.diff(np.append(starts, len(stream.tokens))) - 1, seq_len)
        starts, lengths = starts[lengths > 0], lengths[lengths > 0]
    keep = int(np.searchsorted(np.cumsum(lengths), max_tokens)) + 1
    return starts[:keep], lengths[:keep]


def scored_targets(stream: Stream, starts: np.ndarray, lengths: np.ndarray,
             max_tokens: int) -> tuple[np.ndarray, np.ndarray]:
    """Stream positions of the scored targets in sequence order, and where each one's visible context
    starts (the later of its sequence's and its document's start)."""
    first = np.repeat(np.cumsum(lengths) - lengths, lengths)
    seq_start = np.repeat(starts, lengths)
    pos = (seq_start + np.arange(len(first)) - first + 1)[:max_tokens]
    doc_start = _doc_starts(stream, int(pos.max()) + 1)[pos]
    return pos, np.maximum(seq_start[:len(pos)], doc_start)


def token_losses(model: torch.nn.Module, stream: Stream, starts: np.ndarray, lengths: np.ndarray,
                 device: torch.device) -> np.ndarray:
    """float32 cross-entropy of every target of the sequences, in sequence order."""
    tokens = np.asarray(stream.tokens)
    per_batch = max(1, BATCH_TOKENS // int(lengths.max()))
    out = []
    for b in range(0, len(starts), per_batch):
        s, n = starts[b:b + per_batch], lengths[b:b + per_batch]
        # Sequences shorter than the batch's width run on into the following tokens; with causal
        # attention those never change the scored positions' logits.
        idx = np.minimum(s[:, None] + np.arange(int(n.max()) + 1), len(tokens) - 1)
        window = torch.from_numpy(tokens[idx].astype(np.int64)).to(device)
        logits = model(window[:, :-1]).float()
        loss = F.cross_entropy(logits.transpose(1, 2), window[:, 1:], reduction="none")
        out.append(loss.cpu().numpy()[np.arange(int(n.max())) < n[:, None]])
    return np.concatenate(out)


def _summary(losses: np.ndarray) -> BucketLoss:
    """The record's count-and-loss pair; the count's key is `tokens` (bench.record.schema.BucketLoss)."""
    return {"tokens": len(losses), "mean_loss": float(losses.mean(dtype=np.float64)) if len(losses) else None}


def token_probe(model: torch.nn.Module, corpus: Corpus, cfg: ProbeConfig,
                device: torch.device) -> TokenProbe:
    """Per-bucket mean validation loss of `model` on every source of `corpus` (the run record's
    `probes.tokens`)."""
    token_cache = Path(corpus.info["token_cache"]["path"])
    ngrams = reference(token_cache, cfg.ngram_max)
    streams = open_streams(token_cache)
    scored: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for source in sorted(corpus.val):
                stream = streams[source]["val"]
                starts, lengths = scored_sequences(stream, corpus.mode, corpus.seq_len, cfg.max_tokens)
                pos, visible = scored_targets(stream, starts, lengths, cfg.max_tokens)
                losses = token_losses(model, stream, starts, lengths, device)[:len(pos)]
                scored[source] = (label_tokens(ngrams, stream, pos, visible, source in GENERATORS), losses)
    finally:
        model.train(was_training)
    buckets: dict[str, Bucket] = {}
    for k, bucket in enumerate(BUCKETS):
        by_source = {s: _summary(losses[labels == k]) for s, (labels, losses) in scored.items()}
        every = np.concatenate([losses[labels == k] for labels, losses in scored.values()])
        buckets[bucket] = {**_summary(every), "by_source": by_source}
    return {"rule": RULE,
            "reference": {key: ngrams.info[key] for key in ("ngram_max", "train_tokens", "cache", "fit_s",
                                                             "contexts")},
            "buckets": buckets,
            "sources": {s: {**_summary(losses), "synthetic": s in GENERATORS}
                        for s, (_labels, losses) in scored.items()}}
