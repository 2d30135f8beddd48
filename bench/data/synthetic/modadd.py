"""Modular addition with held-out operand pairs (Power et al. 2022, arXiv 2201.02177; Liu et al., "Omnigrok",
arXiv 2210.01117): the `modadd` generator."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from bench.core.errors import BenchError
from bench.data.synthetic.base import Example, Generator, num_words


@dataclass(frozen=True)
class ModAddGenerator(Generator):
    """"a + b = c" with c = (a + b) mod p, operands 0 … p−1.

    Split by operand pair, disjoint by construction: the ordered pair (a, b) is hashed (with `pair_seed`)
    into 1000 buckets and belongs to `train` when its bucket is below 1000 · `train_fraction`, else to
    `test`. A test pair is never trained in either the same order or — with `symmetric_split` — the
    mirrored one (b, a), so the commutative shortcut cannot answer it from memory. `train` draws its
    pairs uniformly (with repetition) from the train pairs; `test` walks a seeded permutation of every
    held-out pair, so n up to the number of held-out pairs has no repeated document.
    """

    name: str = "modadd"
    source: str = ("modular addition with held-out operand pairs: Power et al., 'Grokking', arXiv "
                   "2201.02177; Liu et al., 'Omnigrok', arXiv 2210.01117")
    description: str = ("a + b = (a+b) mod p over 0..p-1; train on a fraction of the operand pairs, test on "
                        "the rest")
    splits: tuple[str, ...] = ("train", "test")
    p: int = 97
    train_fraction: float = 0.7
    symmetric_split: bool = True
    pair_seed: int = 0

    def __post_init__(self) -> None:
        if self.p < 2:
            raise BenchError(f"modadd p must be >= 2, got {self.p}")
        if not 0.0 < self.train_fraction < 1.0:
            raise BenchError(f"modadd train_fraction must be in (0, 1), got {self.train_fraction}")

    def split_of(self, a: int, b: int) -> str:
        lo, hi = (min(a, b), max(a, b)) if self.symmetric_split else (a, b)
        ident = f"{self.pair_seed}|{lo}|{hi}".encode()
        bucket = int.from_bytes(hashlib.blake2b(ident, digest_size=8).digest(), "little") % 1000
        return "train" if bucket < round(1000 * self.train_fraction) else "test"

    def pairs(self, split: str) -> list[tuple[int, int]]:
        return [(a, b) for a in range(self.p) for b in range(self.p) if self.split_of(a, b) == split]

    def _generate(self, split: str, n: int, seed: int) -> list[Example]:
        rng = random.Random(seed)
        pool = self.pairs(split)
        if not pool:
            raise BenchError(f"modadd p={self.p}, train_fraction={self.train_fraction} leaves no {split} "
                             "pairs")
        if split == "train":
            chosen = [pool[rng.randrange(len(pool))] for _ in range(n)]
        else:  # every held-out pair once before any repeats
            chosen = []
            while len(chosen) < n:
                order = pool[:]
                rng.shuffle(order)
                chosen.extend(order[: n - len(chosen)])
        out = []
        for a, b in chosen:
            c = (a + b) % self.p
            out.append(Example((str(a), "+", str(b), "=", str(c)), (4,),
                               {"kind": "pair", "split": split, "a": a, "b": b, "label": c}))
        return out

    def vocabulary(self) -> list[str]:
        return [*num_words(range(self.p)), "+", "="]
