"""In-context associative recall, MQAR-style (Arora et al., "Zoology", arXiv 2312.04927): the `recall`
generator."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from bench.core.errors import BenchError
from bench.data.synthetic.base import Example, Generator


@dataclass(frozen=True)
class RecallGenerator(Generator):
    """Key–value pairs in context, then keys to look up: "k3 v17 k9 v2 … ; k9 v2 k3 v17".

    An example has `n_pairs` distinct keys (words k0 … k{n_keys−1}), each bound to a value (v0 …
    v{n_values−1}); values are distinct within an example, so every query has exactly one right answer
    among the values in context. After ";" come `n_queries` distinct keys of the context, each followed
    by its value (the answers, context-constrained by construction). Bindings are drawn afresh per
    example, so the answer can only come from the context, never from memory.

    Held-out bindings: a (key, value) binding is held out when its hash (with `binding_seed`) falls in the
    lowest `heldout_fraction` of 1000 buckets. `train` never shows a held-out binding anywhere; in `test`
    and `test_long` the first query's binding is held out (the other pairs are drawn as in training), so
    the scored lookup is a pair the model has never seen bound. `test_long` has `n_pairs_long` pairs in
    context: a longer context than any trained.
    """

    name: str = "recall"
    source: str = ("multi-query associative recall (MQAR): Arora et al., 'Zoology', arXiv 2312.04927; "
                   "induction heads, Olsson et al. 2022")
    description: str = ("key-value pairs in context, then queried keys answered by their values; held-out "
                        "bindings and a longer-context split")
    splits: tuple[str, ...] = ("train", "test", "test_long")
    n_keys: int = 32
    n_values: int = 32
    n_pairs: int = 6
    n_pairs_long: int = 10
    n_queries: int = 3
    heldout_fraction: float = 0.2
    binding_seed: int = 0

    def __post_init__(self) -> None:
        most = max(self.n_pairs, self.n_pairs_long)
        if not 1 <= self.n_queries <= self.n_pairs or most > min(self.n_keys, self.n_values) // 2:
            raise BenchError("recall needs 1 <= n_queries <= n_pairs and n_pairs, n_pairs_long at most half "
                             f"of n_keys and n_values (got {self.n_queries}, {self.n_pairs}, "
                             f"{self.n_pairs_long}, {self.n_keys}, {self.n_values})")
        if not 0.0 < self.heldout_fraction < 1.0:
            raise BenchError(f"recall heldout_fraction must be in (0, 1), got {self.heldout_fraction}")
        if any(not self.heldout_values(k) for k in range(self.n_keys)):
            raise BenchError("recall: some key has no held-out value; raise heldout_fraction or n_values")

    def is_heldout(self, key: int, value: int) -> bool:
        ident = f"{self.binding_seed}|{key}|{value}".encode()
        bucket = int.from_bytes(hashlib.blake2b(ident, digest_size=8).digest(), "little") % 1000
        return bucket < round(1000 * self.heldout_fraction)

    def heldout_values(self, key: int) -> list[int]:
        return [v for v in range(self.n_values) if self.is_heldout(key, v)]

    def _one(self, rng: random.Random, split: str) -> Example:
        m = self.n_pairs_long if split == "test_long" else self.n_pairs
        while True:  # rejection: a draw where the values run out is retried (rare at the defaults)
            keys = rng.sample(range(self.n_keys), m)
            used: set[int] = set()
            values = []
            for i, k in enumerate(keys):
                if i == 0 and split != "train":
                    allowed = [v for v in self.heldout_values(k) if v not in used]
                else:
                    allowed = [v for v in range(self.n_values) if v not in used and not self.is_heldout(k, v)]
                if not allowed:
                    break
                values.append(rng.choice(allowed))
                used.add(values[-1])
            if len(values) == m:
                break
        queries = [0, *rng.sample(range(1, m), self.n_queries - 1)]  # the held-out binding is asked first
        order = list(range(m))
        rng.shuffle(order)
        words = [w for i in order for w in (f"k{keys[i]}", f"v{values[i]}")]
        words.append(";")
        answer = []
        for q in queries:
            words.append(f"k{keys[q]}")
            answer.append(len(words))
            words.append(f"v{values[q]}")
        meta = {"kind": "long" if split == "test_long" else "recall", "split": split, "n_pairs": m,
                "query_key": keys[0], "label": values[0], "choices": [values[i] for i in order]}
        return Example(tuple(words), tuple(answer), meta)

    def _generate(self, split: str, n: int, seed: int) -> list[Example]:
        rng = random.Random(seed)
        return [self._one(rng, split) for _ in range(n)]

    def vocabulary(self) -> list[str]:
        return [*(f"k{i}" for i in range(self.n_keys)), *(f"v{i}" for i in range(self.n_values)), ";"]
