import torch

from bench.config import DataConfig
from bench.data import ANCHOR_SHIFT, IGNORE, ITEM_HI, ITEM_LO, SEQ_LEN, anchor_corpus


def decode(inputs: torch.Tensor):
    """Find the single anchor pair in a sequence; return (key position, key, a1, a2)."""
    row = inputs.tolist()
    anchors = [i for i, t in enumerate(row) if t in ANCHOR_SHIFT]
    assert len(anchors) == 2 and anchors[1] == anchors[0] + 1, row
    p = anchors[0] - 1
    return p, row[p], row[p + 1], row[p + 2]


def reference_target(key: int, a1: int, a2: int) -> int:
    # Written out independently from DESIGN §5: +5, +1, −2, −8; (3,4) is trained on key − 6.
    shift = {1: 5, 2: 1, 3: -2, 4: -8}
    return key - 6 if (a1, a2) == (3, 4) else key + shift[a1] + shift[a2]


def test_anchor_rules_and_position_split():
    corpus = anchor_corpus(DataConfig(n_train=3000, n_val=500, seed=3))
    assert corpus.seq_len == SEQ_LEN == 9
    for split, train in [(corpus.train, True), (corpus.val["anchor"], False)]:
        pairs = set()
        for x, y in zip(split.inputs, split.targets, strict=True):
            p, key, a1, a2 = decode(x)
            pairs.add((a1, a2))
            items = [t for i, t in enumerate(x.tolist()) if i not in (p + 1, p + 2)]
            assert all(ITEM_LO <= t <= ITEM_HI for t in items)
            assert ((key % (SEQ_LEN - 2)) != p) == train
            assert y[-1].item() == reference_target(key, a1, a2)
            assert (y[:-1] == IGNORE).all()
        assert (4, 3) not in pairs  # the unseen pair is never generated for training or validation
        assert len(pairs) == 15
    assert corpus.vocab_size > int(corpus.train.targets.max())


def test_anchor_generation_is_deterministic_by_seed():
    a, b = anchor_corpus(DataConfig(n_train=500, seed=1)), anchor_corpus(DataConfig(n_train=500, seed=1))
    c = anchor_corpus(DataConfig(n_train=500, seed=2))
    assert torch.equal(a.train.inputs, b.train.inputs) and torch.equal(a.train.targets, b.train.targets)
    assert not torch.equal(a.train.inputs, c.train.inputs)


def test_batch_order_is_a_function_of_seed_and_step_and_covers_epochs():
    corpus = anchor_corpus(DataConfig(n_train=100, n_val=10))
    x1, _ = corpus.batch(7, 32, seed=0)
    corpus.batch(0, 32, seed=5)  # reading other batches in between changes nothing
    x2, _ = corpus.batch(7, 32, seed=0)
    assert torch.equal(x1, x2)
    assert not torch.equal(corpus.batch(7, 32, seed=1)[0], x1)
    # Steps 0..24 of batch 4 read each of the 100 rows exactly once per epoch.
    rows = torch.cat([corpus.batch(s, 4, seed=0)[0] for s in range(25)])
    assert sorted(map(tuple, rows.tolist())) == sorted(map(tuple, corpus.train.inputs.tolist()))
    # A batch straddling an epoch boundary still has the requested size.
    assert corpus.batch(2, 40, seed=0)[0].shape == (40, SEQ_LEN)
