"""Seeded, exact synthetic reasoning data behind one interface (DESIGN §5 "Synthetic reasoning data", §7).

Every generator turns (split, n, seed) into `Example`s: the example as whitespace-free words, the indices of
the words that earlier context determines by construction (the answer / conclusion tokens — the
"context-constrained" tokens of the §7 probes), and JSON-serializable generator facts. The data pipeline,
the lm-eval tasks and the token probes all read this interface.

Generators (`GENERATORS`):

- `anchor` — anchor composition, arXiv 2405.05409. Same rules as `bench.data` (written out again here, so
  this module imports nothing from the training pipeline): anchors 1,2,3,4 shift by +5,+1,−2,−8; items
  20–99; 9 items with exactly one consecutive anchor pair, the key is the item before it; target
  key + shift(a1) + shift(a2), except (3,4) which is trained on the non-inferential key−6; (4,3) is never
  generated for `train`/`test`. Position split: `train` puts key x at position p only where x mod 7 ≠ p,
  `test` and `unseen` only where x mod 7 == p. `unseen` is the (4,3) pair; its last word is the
  inferential target key−10, and meta carries both `target_inferential` (key−10) and `target_symmetric`
  (key−6, the trained target of the mirrored pair (3,4)).
  For the same (seed, n), `train` is token-for-token the train split of `bench.data.anchor_corpus` (same
  torch generator and draw order). `test`/`unseen` use their own derived seed: bench.data draws its val
  split after the train split from one stream, so it depends on n_train and cannot be reproduced alone.
- `anchor-both-unseen` — the same task with (3,4) and (4,3) both unseen: `train`/`test` use the other 14
  pairs, with no non-inferential exception; `unseen` holds both pairs with the composed target key−10.
  The symmetric answer of a pair is defined as the trained target of its mirror; here neither mirror is
  trained, so `target_symmetric` is None (and `symmetric_defined` False): the two readings coincide
  (composition commutes), and only the inferential score is meaningful.
- `rsnmem` — reasoning vs memory anchors, arXiv 2502.04375 (see `RsnMemGenerator` for the choices the
  DESIGN summary leaves open; each is a recorded knob).
- `deduction` / `deduction-proof` — PrOntoQA-style deduction (Saparov & He 2023) over fictional ontologies,
  1–5 hops, balanced True/False, optional chain-of-thought proof (see `DeductionGenerator`).

Seeds: `train` uses the given seed directly (this is what keeps `anchor` identical to bench.data); every
other split uses a seed derived from (generator name, split, seed), so splits are independent streams.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from bench.core.errors import BenchError


@dataclass(frozen=True)
class Example:
    """One generated example.

    words:  the example as words; its text is " ".join(words); no word contains whitespace.
    answer: indices into words that earlier context determines by construction (answer/conclusion tokens).
    meta:   generator facts, JSON-serializable.
    """

    words: tuple[str, ...]
    answer: tuple[int, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return " ".join(self.words)


def context_constrained(example: Example) -> list[bool]:
    """Per word: is it an answer/conclusion token, determined by earlier context by construction (§7)?"""
    marked = set(example.answer)
    return [i in marked for i in range(len(example.words))]


def _derived_seed(name: str, split: str, seed: int) -> int:
    if split == "train":
        return seed
    digest = hashlib.sha256(f"initbench-synthetic|{name}|{split}|{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1  # non-negative, fits torch/numpy seeds


@contextlib.contextmanager
def _no_gc():
    """Pause the cyclic garbage collector while building many small objects (none form cycles)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _jsonable(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Generator:
    """A named, versioned, seeded generator. Subclasses add their knobs as further dataclass fields."""

    name: str = ""
    version: str = "1"
    source: str = ""
    description: str = ""
    splits: tuple[str, ...] = ()

    def generate(self, split: str, n: int, seed: int) -> list[Example]:
        """n examples of `split`, a pure function of (split, n, seed) and the generator's knobs."""
        if split not in self.splits:
            raise BenchError(f"generator {self.name!r} has no split {split!r} (choose from "
                             f"{', '.join(self.splits)})")
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise BenchError(f"example count must be a non-negative integer, got {n!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise BenchError(f"seed must be a non-negative integer, got {seed!r}")
        return self._generate(split, n, _derived_seed(self.name, split, seed))

    def _generate(self, split: str, n: int, seed: int) -> list[Example]:
        raise NotImplementedError

    def vocabulary(self) -> list[str]:
        """Every word any split can produce, in a fixed order (for a word-level tokenizer)."""
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        """The generator's knobs (everything but the descriptive fields), JSON-ready."""
        base = {f.name for f in dataclasses.fields(Generator)}
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)
                if f.name not in base}


def _plant(seq: Any, rows: Any, keys: Any, pairs: Any, span: int, r: Any) -> Any:
    """Write key, a1, a2 at positions p, p+1, p+2 of every row (numpy or torch arrays) and return p.

    The position split of arXiv 2405.05409: with `r` (uniform draws in [0, span−1)) the key sits at any
    position but `key mod span` (training); without, exactly at `key mod span` (test)."""
    pos = keys % span if r is None else r + (r >= keys % span) * 1
    seq[rows, pos] = keys
    seq[rows, pos + 1] = pairs[:, 0]
    seq[rows, pos + 2] = pairs[:, 1]
    return pos


def _num_words(values) -> list[str]:
    return [str(v) for v in sorted(set(values))]


# --- Anchor composition (arXiv 2405.05409) -------------------------------------------------------


@dataclass(frozen=True)
class AnchorGenerator(Generator):
    name: str = "anchor"
    source: str = ("Zhang et al., 'Initialization is Critical to Whether Transformers Fit Composite "
                   "Functions by Reasoning or Memorizing', arXiv 2405.05409 (synthetic anchor composition)")
    description: str = ("9 items from 20-99 with one consecutive anchor pair; answer = key shifted by both "
                        "anchors (+5,+1,-2,-8); (3,4) trained on key-6, (4,3) held out; position split")
    splits: tuple[str, ...] = ("train", "test", "unseen")
    shifts: tuple[tuple[int, int], ...] = ((1, 5), (2, 1), (3, -2), (4, -8))
    item_lo: int = 20
    item_hi: int = 99  # inclusive
    seq_len: int = 9
    non_inferential: tuple[tuple[tuple[int, int], int], ...] = (((3, 4), -6),)  # pair -> trained offset
    unseen_pairs: tuple[tuple[int, int], ...] = ((4, 3),)
    # The first draw of each sequence supplies the key; True leaves that copy at position 0 too, a
    # shortcut for finding the key that the papers' task does not have (the generator's first version
    # shipped it). False (default) redraws position 0 wherever the key sits elsewhere.
    key_also_first: bool = False

    def _shift(self) -> dict[int, int]:
        return dict(self.shifts)

    def seen_pairs(self) -> list[tuple[int, int]]:
        anchors = [a for a, _ in self.shifts]
        return [(a1, a2) for a1 in anchors for a2 in anchors if (a1, a2) not in self.unseen_pairs]

    def target(self, key: int, a1: int, a2: int) -> int:
        """The trained answer: composition, or the pair's non-inferential offset."""
        offsets = dict(self.non_inferential)
        shift = self._shift()
        return key + offsets.get((a1, a2), shift[a1] + shift[a2])

    def symmetric_target(self, key: int, a1: int, a2: int) -> int | None:
        """The answer of the mirrored pair as trained; None where the mirror is not trained either."""
        if (a2, a1) in self.unseen_pairs:
            return None
        return self.target(key, a2, a1)

    def _generate(self, split: str, n: int, seed: int) -> list[Example]:
        pairs = list(self.unseen_pairs) if split == "unseen" else self.seen_pairs()
        gen = torch.Generator().manual_seed(seed)
        # Draw order and shapes exactly as bench.data._anchor_split (so `train` matches anchor_corpus).
        span = self.seq_len - 2
        seq = torch.randint(self.item_lo, self.item_hi + 1, (n, self.seq_len), generator=gen)
        pair_idx = torch.randint(len(pairs), (n,), generator=gen)
        pair_t = torch.tensor(pairs, dtype=torch.long).reshape(-1, 2)[pair_idx]
        keys = seq[:, 0].clone()
        r = torch.randint(span - 1, (n,), generator=gen) if split == "train" else None
        pos = _plant(seq, torch.arange(n), keys, pair_t, span, r)
        if not self.key_also_first:  # drawn last, so every earlier draw is unchanged
            fresh = torch.randint(self.item_lo, self.item_hi + 1, (n,), generator=gen)
            seq[:, 0] = torch.where(pos == 0, seq[:, 0], fresh)

        shift = self._shift()
        offset = {pr: self.target(0, *pr) for pr in pairs}
        non_inf = {p for p, _ in self.non_inferential}
        vocab = {int(w): w for w in self.vocabulary()}
        word = vocab.__getitem__
        kind = {pr: "non_inferential" if pr in non_inf else "inferential" for pr in pairs}
        answer = (self.seq_len,)
        out = []
        with _no_gc():  # ~10 objects per example: generational GC passes would dominate the run time
            for row, p, (a1, a2) in zip(seq.tolist(), pos.tolist(), pair_t.tolist(), strict=True):
                key = row[p]
                if split == "unseen":
                    tgt = key + shift[a1] + shift[a2]  # the last word is the inferential (composed) answer
                    meta = {"kind": "unseen", "split": split, "key": key, "pair": [a1, a2], "key_pos": p,
                            "target": tgt, "target_inferential": tgt,
                            "target_symmetric": self.symmetric_target(key, a1, a2),
                            "symmetric_defined": (a2, a1) not in self.unseen_pairs,
                            "target_is": "inferential"}
                else:
                    tgt = key + offset[(a1, a2)]
                    meta = {"kind": kind[(a1, a2)], "split": split, "key": key, "pair": [a1, a2],
                            "key_pos": p, "target": tgt}
                out.append(Example((*map(word, row), word(tgt)), answer, meta))
        return out

    def vocabulary(self) -> list[str]:
        keys = range(self.item_lo, self.item_hi + 1)
        anchors = self._shift()
        values = set(keys) | set(anchors)
        for a1 in anchors:
            for a2 in anchors:
                for k in keys:
                    values.add(k + anchors[a1] + anchors[a2])
                    values.add(self.target(k, a1, a2))
        return _num_words(values)


# --- Reasoning vs memory anchors (arXiv 2502.04375) ----------------------------------------------


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
    """Reasoning anchors vs memory anchors (Yao, Zhang & Xu, arXiv 2502.04375; DESIGN §5).

    Stated by DESIGN: keys 21–120; memory anchors 1–10, each key–anchor combination has a fixed random
    label; reasoning anchors 11–20 with label = key + a1 + a2; q = 2 anchors per sequence; length 9;
    held-out reasoning combos (11,13) and (13,11).

    Choices made here where that summary (and what could be read of the paper) is silent — all knobs,
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

    def memory_label(self, key: int, a1: int, a2: int) -> int:
        idx = {a: i for i, a in enumerate(self.memory_anchors)}
        return int(self.memory_table()[key - self.key_lo, idx[a1], idx[a2]])

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
        return seq, _plant(seq, np.arange(m), keys, pr, span, r)

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
        with _no_gc():
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
        return _num_words(values)


# --- Deduction (PrOntoQA-style, Saparov & He 2023) -------------------------------------------------

CONCEPTS = ("wumpus", "yumpus", "zumpus", "dumpus", "rompus", "numpus", "tumpus", "vumpus", "impus",
            "jompus", "gorpus", "shumpus", "lempus", "sterpus", "grimpus", "lorpus", "brimpus", "lumpus",
            "gumpus", "quimpus", "felpus", "harpus", "kempus", "mompus")
ENTITIES = ("Max", "Alex", "Sam", "Fae", "Rex", "Sally", "Wren", "Polly", "Stella", "Jo")
PROPERTIES = ("bitter", "sweet", "sour", "salty", "spicy", "hot", "cold", "large", "small", "red", "blue",
              "happy", "sad", "bright", "dull", "wooden")
_FUNCTION_WORDS = ("Every", "is", "a", "not", ".", "True", "or", "false", ":", "Answer", "False")


@dataclass(frozen=True)
class DeductionGenerator(Generator):
    """PrOntoQA-style deduction over a fresh fictional ontology per example (Saparov & He, ICLR 2023).

    An example with h hops (h rule applications): a chain of concepts c0 → … → c_{h−1} ("Every c_i is a
    c_{i+1} ."), a property rule at its end ("Every c_{h−1} is [not] P ."), the fact "E is a c0 .", then
    the query "True or false : E is [not] P ." and "Answer : True|False". The label is True iff the query's
    polarity equals the derived one; query polarity is drawn independently of the label's value so "not"
    in the query says nothing about the answer.

    Distractors (knob `distractors`, default on): the same property with the opposite polarity on a
    concept the entity cannot reach ("Every d0 is [not] P ."), a parent of it ("Every d1 is a d0 ."),
    and `n_branch` rules from chain concepts to fresh concepts that have no rules of their own. So both
    polarities of P always appear in the context and the chain must be followed; none changes the label
    or the hop count. Rule order is shuffled (knob `shuffle_rules`); the fact comes after the rules.

    Proof (knob `proof`, registered as `deduction-proof`): "Proof :" then PrOntoQA's chain of thought —
    the fact, then for each hop the rule used and the conclusion "E is a c_{i+1} ." / "E is [not] P ." —
    before "Answer :". `answer` holds each derived conclusion's content words (c_{i+1}; "not" and P in the
    last) and the label; the restated fact and rules are copies, not conclusions, and a restated rule's
    object is not determined (a branch rule can share its subject).

    Balance: hop counts cycle through `hops` and labels alternate within each hop before a seeded
    shuffle, so any n that is a multiple of 2·len(hops) is exactly balanced in hops × label.

    Split (disjoint by construction): the reasoning chain's identity (entity, c0…c_{h−1}, P) is hashed
    into 1000 buckets; `test` takes the buckets below 1000·`test_fraction`, `train` the rest. No test
    chain, with either polarity, appears in training, while both splits use one vocabulary (held-out
    name sets would leave test words with untrained embeddings).
    """

    name: str = "deduction"
    source: str = ("PrOntoQA-style fictional-ontology deduction: Saparov & He, 'Language Models Are Greedy "
                   "Reasoners', ICLR 2023 (arXiv 2210.01240); used in arXiv 2502.04375")
    description: str = ("fictional ontology chains with made-up names, 1-5 hops, balanced True/False "
                        "queries, distractor rules, optional chain-of-thought proof")
    splits: tuple[str, ...] = ("train", "test")
    hops: tuple[int, ...] = (1, 2, 3, 4, 5)
    proof: bool = False
    distractors: bool = True
    n_branch: int = 1
    shuffle_rules: bool = True
    test_fraction: float = 0.2

    def __post_init__(self) -> None:
        need = max(self.hops, default=0) + (2 + self.n_branch if self.distractors else 0)
        if not self.hops or min(self.hops) < 1 or need > len(CONCEPTS) or self.n_branch < 0:
            raise BenchError(f"deduction hops must be >= 1 and use at most {len(CONCEPTS)} concepts "
                             "with the distractors")
        if not 0.0 < self.test_fraction < 1.0:
            raise BenchError(f"deduction test_fraction must be in (0, 1), got {self.test_fraction}")

    def split_of(self, entity: str, chain: tuple[str, ...], prop: str) -> str:
        ident = f"{entity}|{'/'.join(chain)}|{prop}".encode()
        bucket = int.from_bytes(hashlib.blake2b(ident, digest_size=8).digest(), "little") % 1000
        return "test" if bucket < round(1000 * self.test_fraction) else "train"

    def _one(self, rng: random.Random, split: str, hops: int, label: bool) -> Example:
        while True:
            entity = rng.choice(ENTITIES)
            chain = tuple(rng.sample(CONCEPTS, hops))
            prop = rng.choice(PROPERTIES)
            if self.split_of(entity, chain, prop) == split:
                break
        positive = rng.random() < 0.5  # polarity of the chain's property rule
        query_positive = positive if label else not positive
        neg = [] if positive else ["not"]
        rules = [["Every", chain[i], "is", "a", chain[i + 1], "."] for i in range(hops - 1)]
        last_rule = ["Every", chain[-1], "is", *neg, prop, "."]
        rules.append(last_rule)
        if self.distractors:
            fresh = [c for c in CONCEPTS if c not in chain]
            extra = rng.sample(fresh, 2 + self.n_branch)
            d0, d1, branch = extra[0], extra[1], extra[2:]
            rules.append(["Every", d0, "is", *(["not"] if positive else []), prop, "."])
            rules.append(["Every", d1, "is", "a", d0, "."])
            for z in branch:
                rules.append(["Every", rng.choice(chain), "is", "a", z, "."])
        if self.shuffle_rules:
            rng.shuffle(rules)
        words = [w for r in rules for w in r]
        fact = [entity, "is", "a", chain[0], "."]
        words += fact
        words += ["True", "or", "false", ":", entity, "is", *([] if query_positive else ["not"]), prop, "."]
        answer: list[int] = []
        if self.proof:
            words += ["Proof", ":", *fact]
            for i in range(hops - 1):
                words += ["Every", chain[i], "is", "a", chain[i + 1], "."]
                words += [entity, "is", "a"]
                answer.append(len(words))
                words += [chain[i + 1], "."]
            words += last_rule
            words += [entity, "is"]
            answer.extend(range(len(words), len(words) + len(neg) + 1))
            words += [*neg, prop, "."]
        words += ["Answer", ":"]
        answer.append(len(words))
        words.append("True" if label else "False")
        meta = {"kind": "proof" if self.proof else "direct", "split": split, "hops": hops,
                "label": "True" if label else "False", "entity": entity, "chain": list(chain),
                "property": prop, "rule_negated": not positive, "query_negated": not query_positive,
                "distractors": 2 + self.n_branch if self.distractors else 0}
        return Example(tuple(words), tuple(answer), meta)

    def _generate(self, split: str, n: int, seed: int) -> list[Example]:
        rng = random.Random(seed)
        h = len(self.hops)
        plan = [(self.hops[i % h], (i // h) % 2 == 0) for i in range(n)]
        rng.shuffle(plan)
        return [self._one(rng, split, hops, label) for hops, label in plan]

    def vocabulary(self) -> list[str]:
        extra = ("Proof",) if self.proof else ()
        return list(dict.fromkeys(_FUNCTION_WORDS + extra + ENTITIES + CONCEPTS + PROPERTIES))


# --- Registry ---------------------------------------------------------------------------------------

GENERATORS: dict[str, Generator] = {
    g.name: g for g in (
        AnchorGenerator(),
        AnchorGenerator(name="anchor-both-unseen", non_inferential=(), unseen_pairs=((3, 4), (4, 3)),
                        description="anchor composition with both (3,4) and (4,3) held out: train on the "
                                    "other 14 pairs; unseen scored on the composed target key-10"),
        RsnMemGenerator(),
        DeductionGenerator(),
        DeductionGenerator(name="deduction-proof", proof=True,
                           description="PrOntoQA-style deduction with the chain-of-thought proof before "
                                       "the answer; 1-5 hops, balanced True/False, distractor rules"),
    )
}


def get_generator(name: str) -> Generator:
    if name not in GENERATORS:
        raise BenchError(f"unknown synthetic generator {name!r} (choose from {', '.join(GENERATORS)})")
    return GENERATORS[name]


def generate(name: str, split: str, n: int, seed: int) -> list[Example]:
    return get_generator(name).generate(split, n, seed)


_COUNTED = ("kind", "hops", "label")


def manifest(name: str, splits: dict[str, int], seed: int) -> dict:
    """What `generate` produces for these split sizes: counts (per split and per meta kind/hops/label),
    seed, generator version and knobs, and a sha256 over each split's texts."""
    gen = get_generator(name)
    return describe(name, {split: gen.generate(split, n, seed) for split, n in splits.items()}, seed)


def describe(name: str, examples_by_split: dict[str, list[Example]], seed: int) -> dict:
    """The manifest of examples already generated (so callers never generate twice)."""
    gen = get_generator(name)
    out: dict[str, Any] = {"generator": gen.name, "version": gen.version, "source": gen.source,
                           "description": gen.description, "seed": seed, "params": gen.params(),
                           "vocab_size": len(gen.vocabulary()), "splits": {}}
    for split, examples in examples_by_split.items():
        counts = {}
        for key in _COUNTED:
            c = Counter(str(e.meta[key]) for e in examples if key in e.meta)
            if c:
                counts[key] = dict(sorted(c.items()))
        digest = hashlib.sha256("\n".join(e.text for e in examples).encode()).hexdigest()
        out["splits"][split] = {"n": len(examples), "counts": counts,
                                "answer_tokens": sum(len(e.answer) for e in examples), "sha256": digest}
    json.dumps(out)  # the manifest is part of the record: it must serialize
    return out
