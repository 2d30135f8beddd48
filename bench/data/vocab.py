"""Tokenizers: word-level for the synthetic tasks (every word, e.g. every number, is one token) and
byte-level BPE trained with `tokenizers` on the training mixture. Both are `tokenizers.Tokenizer`s
saved as JSON and identified by a content hash that run records and the token cache key on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from bench.core.files import write_text

EOS = "<|endoftext|>"
UNK = "<unk>"
# The byte-level BPE always holds every byte symbol plus EOS, whatever vocab_size asks for: a smaller
# data.vocab_size would silently become this one, so it is refused instead.
BPE_MIN_VOCAB = len(pre_tokenizers.ByteLevel.alphabet()) + 1


@dataclass
class Vocab:
    """A trained tokenizer plus the facts the pipeline needs about it."""

    tok: Tokenizer
    kind: str  # "word" | "bpe"

    @property
    def size(self) -> int:
        return self.tok.get_vocab_size()

    @property
    def eos_id(self) -> int:
        return self.tok.token_to_id(EOS)

    def digest(self) -> str:
        return hashlib.sha256(self.tok.to_str().encode()).hexdigest()[:16]

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text).ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.tok.encode_batch(texts)]

    def decode(self, ids: list[int]) -> str:
        return self.tok.decode(ids)

    def save(self, path: Path) -> None:
        write_text(path, self.tok.to_str(pretty=True))

    @staticmethod
    def load(path: Path) -> Vocab:
        tok = Tokenizer.from_file(str(path))
        kind = "bpe" if isinstance(tok.model, models.BPE) else "word"
        return Vocab(tok, kind)


def word_vocab(words: Iterable[str]) -> Vocab:
    """One id per word. Words that are non-negative integers get their own value as id (so the anchor
    task's token 23 is id 23, as in the papers); other words and the specials follow in sorted order."""
    words = set(words)
    numbers = {w for w in words if w.isdigit() and str(int(w)) == w}
    table = {w: int(w) for w in numbers}
    next_id = max(table.values(), default=-1) + 1
    for w in [EOS, UNK, *sorted(words - numbers)]:
        if w not in table:
            table[w] = next_id
            next_id += 1
    # Unused ids below the largest number stay unnamed; fill them so the id space has no holes.
    used = set(table.values())
    for i in range(next_id):
        if i not in used:
            table[f"<unused{i}>"] = i
    tok = Tokenizer(models.WordLevel(table, unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=False)  # joins words with single spaces
    return Vocab(tok, "word")


def train_bpe(texts: Iterable[str], vocab_size: int) -> Vocab:
    """Byte-level BPE (GPT-2 style pre-tokenization; every byte representable, so nothing is unknown)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer)
    return Vocab(tok, "bpe")
