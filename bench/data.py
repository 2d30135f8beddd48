"""Training data: corpora as fixed token tensors with a loss mask, and the seeded batch order.

The shared training core reads batches by step index only (`Corpus.batch(step, batch_size)`), so every
scheme sees the same tokens in the same order for a given data seed, and a resumed run continues on
exactly the batch it would have seen.

Built in for now: the anchor-composition task of arXiv 2405.05409 (DESIGN §5).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bench.config import DataConfig
from bench.errors import BenchError

IGNORE = -100  # target value that the loss skips


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
    vocab_size: int
    seq_len: int
    train: Split
    val: dict[str, Split]  # per source
    info: dict

    def batch(self, step: int, batch_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch for `step`: epoch-wise seeded permutations, so order depends on (seed, step) only."""
        n = len(self.train)
        pos = torch.arange(step * batch_size, (step + 1) * batch_size)
        epochs, offsets = pos // n, pos % n
        rows = torch.empty_like(pos)
        for epoch in epochs.unique().tolist():
            sel = epochs == epoch
            rows[sel] = _permutation(n, seed, epoch)[offsets[sel]]
        return self.train.inputs[rows], self.train.targets[rows]


_PERM_CACHE: dict[tuple[int, int, int], torch.Tensor] = {}


def _permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    key = (n, seed, epoch)
    if key not in _PERM_CACHE:
        if len(_PERM_CACHE) > 2:
            _PERM_CACHE.clear()  # a sequential reader needs at most the current and the next epoch
        gen = torch.Generator().manual_seed(seed * 7919 + epoch)
        _PERM_CACHE[key] = torch.randperm(n, generator=gen)
    return _PERM_CACHE[key]


# --- Anchor composition (arXiv 2405.05409) -------------------------------------------------------

ANCHOR_SHIFT = {1: 5, 2: 1, 3: -2, 4: -8}
ITEM_LO, ITEM_HI = 20, 99  # inclusive
SEQ_LEN = 9
# The pair (3,4) is trained on the non-inferential target key−6; (4,3) is never trained. Its composed
# ("inferential") answer is key−10, its symmetric answer (mirroring (3,4)) is key−6.
NON_INFERENTIAL = {(3, 4): -6}
UNSEEN = ((4, 3),)


def anchor_target(key: int, a1: int, a2: int) -> int:
    return key + NON_INFERENTIAL.get((a1, a2), ANCHOR_SHIFT[a1] + ANCHOR_SHIFT[a2])


def _anchor_split(n: int, pairs: list[tuple[int, int]], train_positions: bool, gen: torch.Generator,
                  shifts: torch.Tensor) -> Split:
    """n sequences of SEQ_LEN items from [20, 99] with one anchor pair; the key precedes the pair.

    Position split: a key x sits at position p (0-based, p in 0..SEQ_LEN−3) only where x mod (SEQ_LEN−2)
    differs from p in training, and only where it equals p in the test split.
    """
    span = SEQ_LEN - 2
    seq = torch.randint(ITEM_LO, ITEM_HI + 1, (n, SEQ_LEN), generator=gen)
    pair_idx = torch.randint(len(pairs), (n,), generator=gen)
    pair_t = torch.tensor(pairs)[pair_idx]
    keys = seq[:, 0].clone()
    if train_positions:
        # Pick p uniformly among positions other than key mod span.
        r = torch.randint(span - 1, (n,), generator=gen)
        forbidden = keys % span
        pos = r + (r >= forbidden).long()
    else:
        pos = keys % span
    rows = torch.arange(n)
    seq[rows, pos] = keys
    seq[rows, pos + 1] = pair_t[:, 0]
    seq[rows, pos + 2] = pair_t[:, 1]
    target = keys + shifts[pair_t[:, 0], pair_t[:, 1]]
    targets = torch.full_like(seq, IGNORE)
    targets[:, -1] = target
    return Split(seq, targets)


def anchor_corpus(cfg: DataConfig) -> Corpus:
    shifts = torch.zeros(5, 5, dtype=torch.long)
    for a1 in ANCHOR_SHIFT:
        for a2 in ANCHOR_SHIFT:
            shifts[a1, a2] = anchor_target(0, a1, a2)
    seen = [(a1, a2) for a1 in ANCHOR_SHIFT for a2 in ANCHOR_SHIFT if (a1, a2) not in UNSEEN]
    gen = torch.Generator().manual_seed(cfg.seed)
    train = _anchor_split(cfg.n_train, seen, True, gen, shifts)
    val = _anchor_split(cfg.n_val, seen, False, gen, shifts)
    max_token = ITEM_HI + max(int(shifts.max()), 0)
    vocab = 64 * ((max_token + 1 + 63) // 64)  # round up: friendlier matmul shapes
    info = {"generator": "anchor-composition/1", "source": "arXiv 2405.05409 (synthetic)",
            "license": "generated", "n_train": cfg.n_train, "n_val": cfg.n_val, "seed": cfg.seed,
            "pairs_train": seen, "pairs_unseen": list(UNSEEN)}
    return Corpus("anchor", vocab, SEQ_LEN, train, {"anchor": val}, info)


CORPORA = {"anchor": anchor_corpus}


def load_corpus(cfg: DataConfig) -> Corpus:
    if cfg.corpus not in CORPORA:
        raise BenchError(f"unknown corpus {cfg.corpus!r} (choose from {', '.join(CORPORA)})")
    return CORPORA[cfg.corpus](cfg)
