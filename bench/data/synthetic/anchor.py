"""Anchor composition (Zhang et al., arXiv 2405.05409): the `anchor` and `anchor-both-unseen` generators."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bench.data.synthetic.base import Example, Generator, no_gc, num_words, plant


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
        # Draw order and shapes exactly as the first anchor loader's (see the package docstring): the
        # `train` split stays token-for-token reproducible only while these draws keep their order.
        span = self.seq_len - 2
        seq = torch.randint(self.item_lo, self.item_hi + 1, (n, self.seq_len), generator=gen)
        pair_idx = torch.randint(len(pairs), (n,), generator=gen)
        pair_t = torch.tensor(pairs, dtype=torch.long).reshape(-1, 2)[pair_idx]
        keys = seq[:, 0].clone()
        r = torch.randint(span - 1, (n,), generator=gen) if split == "train" else None
        pos = plant(seq, torch.arange(n), keys, pair_t, span, r)
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
        with no_gc():  # ~10 objects per example: generational GC passes would dominate the run time
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
        return num_words(values)
