"""The interface every synthetic generator implements: `Example` and the seeded, versioned `Generator`,
plus the helpers the number-sequence generators share."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

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
    """Per word: is it an answer/conclusion token, determined by earlier context by construction (the
    context-constrained tokens of the token probes)?"""
    marked = set(example.answer)
    return [i in marked for i in range(len(example.words))]


def _derived_seed(name: str, split: str, seed: int) -> int:
    if split == "train":
        return seed
    digest = hashlib.sha256(f"initbench-synthetic|{name}|{split}|{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1  # non-negative, fits torch/numpy seeds


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
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


def plant(seq: Any, rows: Any, keys: Any, pairs: Any, span: int, r: Any) -> Any:
    """Write key, a1, a2 at positions p, p+1, p+2 of every row (numpy or torch arrays) and return p.

    The position split of arXiv 2405.05409: with `r` (uniform draws in [0, span−1)) the key sits at any
    position but `key mod span` (training); without, exactly at `key mod span` (test)."""
    pos = keys % span if r is None else r + (r >= keys % span) * 1
    seq[rows, pos] = keys
    seq[rows, pos + 1] = pairs[:, 0]
    seq[rows, pos + 2] = pairs[:, 1]
    return pos


def num_words(values: Iterable[int]) -> list[str]:
    """Numbers as words, each once, in numeric order (a number-task vocabulary)."""
    return [str(v) for v in sorted(set(values))]
