"""Reasoning vs memory anchors (Yao, Zhang & Xu, arXiv 2502.04375): the `rsnmem` generator."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from bench.core.errors import BenchError
from bench.data.synthetic.base import Example, Generator, no_gc, num_words, plant


def _row_hash(seq: np.ndarray) -> np.ndarray:
    """A fixed 64-bit hash of each row of small non-negative ints (FNV-1a over values, then fmix64)."""
    h = np.full(seq.shape[0], 0xCBF29CE484222325, dtype=np.uint64)
    for j in range(seq.shape[1]):
        h ^= seq[:, j].astype(np.uint64)
        h *= np.uint64(0x100000001B3)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    return h


@functools.lru_cache(maxsize=8)
def _memory_table(seed: int, label_range: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
    lo, hi = label_range
    n_keys, n_anchors = shape
    table = np.random.default_rng(seed).integers(lo, hi + 1, size=(n_keys, n_anchors, n_anchors))
    table.flags.writeable = False
    return table


@dataclass(frozen=True)
class RsnMemGenerator(Generator):
    """Reasoning anchors vs memory anchors (Yao, Zhang & Xu, arXiv 2502.04375; docs/data.md).

    The paper's setup: keys 21–120; memory anchors 1–10, each key–anchor combination has a fixed random
    label; reasoning anchors 11–20 with label = key + a1 + a2; q = 2 anchors per sequence; length 9;
    held-out reasoning combos (11,13) and (13,11).

    Choices made here where that setup (as far as the paper states it) is silent — all knobs,
    recorded in `params()` and so in every manifest:
    - A sequence's q = 2 anchors are both memory or both reasoning (no mixed pairs); a `train` sequence
      is a memory sequence with probability `p_memory` (0.5). Ordered pairs, repeats allowed (like the
      anchor task's 16 pairs): 100 memory pairs, 100 − 2 reasoning pairs.
    - "Combination" = (key, a1, a2): 100 × 100 = 10,000 memory labels, drawn once, uniformly from
      `memory_label_range` (default 43–160, the range of the reasoning labels, so the label's value does
      not reveal the kind), from the generator's own fixed `memory_table_seed` — so every split and every
      data seed agree.
    - Filler items are drawn from the key range; the key is the item before the anchor pair. The key is
      drawn on its own (unlike the anchor task's `key_also_first`, no copy of it sits at position 0).
    - Position split as in the anchor task: `train` puts key x at position p only where x mod 7 ≠ p.
    - Splits. `train`: both kinds, train positions. `test_reasoning`: seen reasoning pairs with keys at
      test positions (x mod 7 == p), so it needs the rule, not recall of a sequence. `heldout`: the
      held-out pairs at train positions (knob `heldout_positions`), so only the combination is new.
      `test_memory`: a memory label cannot be inferred, only recalled, so its test must use combinations
      seen in training: it is the train distribution restricted to memory sequences, taken from a hash
      bucket of the whole 9-item sequence (1 in `memory_test_buckets`) that `train` never emits. Every
      test_memory sequence is therefore new (fresh filler and/or key position) while its (key, a1, a2)
      is a trained one: with M memory sequences in train a given combination is missing with probability
      about exp(−M/10,000) (M = 100k: 5e-5).
    """

    name: str = "rsnmem"
    source: str = ("Yao, Zhang & Xu, 'An Analysis for Reasoning Bias of Language Models with Small "
                   "Initialization', arXiv 2502.04375 (ICML 2025), anchor-function task")
    description: str = ("9 items from 21-120 with one consecutive anchor pair after the key; memory anchors "
                        "1-10 map (key, a1, a2) to a fixed random label, reasoning anchors 11-20 to "
                        "key + a1 + a2; (11,13) and (13,11) held out")
    splits: tuple[str, ...] = ("train", "test_memory", "test_reasoning", "heldout")
    key_lo: int = 21
    key_hi: int = 120  # inclusive
    memory_anchors: tuple[int, ...] = tuple(range(1, 11))
    reasoning_anchors: tuple[int, ...] = tuple(range(11, 21))
    heldout_pairs: tuple[tuple[int, int], ...] = ((11, 13), (13, 11))
    seq_len: int = 9
    p_memory: float = 0.5
    memory_label_range: tuple[int, int] = (43, 160)  # inclusive
    memory_table_seed: int = 2502_04375
    memory_test_buckets: int = 8
    heldout_positions: str = "train"  # or "test"

    def __post_init__(self) -> None:
        if self.heldout_positions not in ("train", "test"):
            raise BenchError("rsnmem heldout_positions must be 'train' or 'test', "
                             f"got {self.heldout_positions!r}")
        if not 0.0 <= self.p_memory <= 1.0 or self.memory_test_buckets < 2:
            raise BenchError("rsnmem needs 0 <= p_memory <= 1 and memory_test_buckets >= 2")
        if max(*self.memory_anchors, *self.reasoning_anchors) >= self.key_lo:
            raise BenchError("rsnmem anchors must be below the key range (keys are found by value)")

    def memory_pairs(self) -> list[tuple[int, int]]:
        return [(a1, a2) for a1 in self.memory_anchors for a2 in self.memory_anchors]

    def reasoning_pairs(self) -> list[tuple[int, int]]:
        return [(a1, a2) for a1 in self.reasoning_anchors for a2 in self.reasoning_anchors
                if (a1, a2) not in self.heldout_pairs]

    def memory_table(self) -> np.ndarray:
        """labels[key − key_lo, i1, i2] for memory anchors memory_anchors[i1], memory_anchors[i2]."""
        return _memory_table(self.memory_table_seed, self.memory_label_range,
                             (self.key_hi - self.key_lo + 1, len(self.memory_anchors)))

    def _draw(self, rng: np.random.Generator, m: int, pairs: np.ndarray, train_positions: bool,
              p_first: float | None = None, pairs_second: np.ndarray | None = None,
              ) -> tuple[np.ndarray, np.ndarray]:
        """m sequences (m, seq_len) and their key positions; pairs drawn from `pairs` (or, with
        probability 1 − p_first, from `pairs_second`)."""
        span = self.seq_len - 2
        seq = rng.integers(self.key_lo, self.key_hi + 1, size=(m, self.seq_len))
        keys = rng.integers(self.key_lo, self.key_hi + 1, size=m)  # own draw: no copy left at position 0
        pr = pairs[rng.integers(len(pairs), size=m)]
        if pairs_second is not None:
            second = pairs_second[rng.integers(len(pairs_second), size=m)]
            pr = np.where((rng.random(m) < p_first)[:, None], pr, second)
        r = rng.integers(span - 1, size=m) if train_positions else None
        return seq, plant(seq, np.arange(m), keys, pr, span, r)

    def _generate(self, split: str, n: int, seed: int) -> list[Example]:
        rng = np.random.default_rng(seed)
        mem = np.array(self.memory_pairs(), dtype=np.int64)
        rsn = np.array(self.reasoning_pairs(), dtype=np.int64)
        held = np.array(self.heldout_pairs, dtype=np.int64).reshape(-1, 2)
        k = self.memory_test_buckets
        if split == "test_reasoning":
            seq, pos = self._draw(rng, n, rsn, False)
        elif split == "heldout":
            seq, pos = self._draw(rng, n, held, self.heldout_positions == "train")
        else:
            seqs, poss, have = [], [], 0
            while have < n:
                if split == "train":
                    m = n - have + (n - have) // max(k - 1, 1) + 64
                    cand, cpos = self._draw(rng, m, mem, True, self.p_memory, rsn)
                    keep = _row_hash(cand) % np.uint64(k) != 0
                else:  # test_memory
                    m = (n - have) * k + 64
                    cand, cpos = self._draw(rng, m, mem, True)
                    keep = _row_hash(cand) % np.uint64(k) == 0
                seqs.append(cand[keep])
                poss.append(cpos[keep])
                have += int(keep.sum())
            seq = np.concatenate(seqs)[:n] if seqs else np.zeros((0, self.seq_len), dtype=np.int64)
            pos = np.concatenate(poss)[:n] if poss else np.zeros(0, dtype=np.int64)

        table = self.memory_table()
        mem_idx = {a: i for i, a in enumerate(self.memory_anchors)}
        held_set = set(self.heldout_pairs)
        out = []
        answer = (self.seq_len,)
        words = {int(w): w for w in self.vocabulary()}
        with no_gc():
            for row, p in zip(seq.tolist(), pos.tolist(), strict=True):
                key, a1, a2 = row[p], row[p + 1], row[p + 2]
                if a1 in mem_idx:
                    kind, label = "memory", int(table[key - self.key_lo, mem_idx[a1], mem_idx[a2]])
                else:
                    kind, label = ("heldout" if (a1, a2) in held_set else "reasoning"), key + a1 + a2
                meta = {"kind": kind, "split": split, "key": key, "pair": [a1, a2], "key_pos": p,
                        "label": label}
                out.append(Example((*map(words.__getitem__, row), words[label]), answer, meta))
        return out

    def vocabulary(self) -> list[str]:
        lo, hi = self.memory_label_range
        anchors = self.reasoning_anchors
        values = set(range(self.key_lo, self.key_hi + 1)) | set(self.memory_anchors) | set(anchors)
        values |= set(range(lo, hi + 1))
        values |= set(range(self.key_lo + 2 * min(anchors), self.key_hi + 2 * max(anchors) + 1))
        return num_words(values)
