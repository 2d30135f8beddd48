"""Synthetic reasoning generators: every rule is written out again here and checked example by example."""

import json
from collections import Counter

import pytest
import torch

from bench.core.errors import BenchError
from bench.data.synthetic import GENERATORS, AnchorGenerator, Example, context_constrained, generate, manifest

SHIFT = {1: 5, 2: 1, 3: -2, 4: -8}  # docs/data.md / arXiv 2405.05409


def anchor_reference(key: int, a1: int, a2: int, variant: str) -> int:
    """The trained target, written out from docs/data.md: composition, but (3,4) → key − 6 in `anchor`."""
    if variant == "anchor" and (a1, a2) == (3, 4):
        return key - 6
    return key + SHIFT[a1] + SHIFT[a2]


def decode_pair(words: tuple[str, ...], anchor_max: int) -> tuple[int, int, int, int]:
    """The single consecutive anchor pair among the 9 items: (key position, key, a1, a2)."""
    items = [int(w) for w in words[:9]]
    anchors = [i for i, t in enumerate(items) if t <= anchor_max]
    assert len(anchors) == 2 and anchors[1] == anchors[0] + 1 and anchors[0] >= 1, items
    p = anchors[0] - 1
    return p, items[p], items[p + 1], items[p + 2]


def check_common(ex: Example, name: str, split: str) -> None:
    assert ex.words and all(w and not any(c.isspace() for c in w) for w in ex.words)
    assert ex.text == " ".join(ex.words)
    assert list(ex.answer) == sorted(set(ex.answer)) and all(0 <= i < len(ex.words) for i in ex.answer)
    assert ex.meta["split"] == split
    json.dumps(ex.meta)
    flags = context_constrained(ex)
    assert len(flags) == len(ex.words) and [i for i, f in enumerate(flags) if f] == list(ex.answer)


# --- anchor and anchor-both-unseen ----------------------------------------------------------------


@pytest.mark.parametrize("variant", ["anchor", "anchor-both-unseen"])
def test_anchor_targets_positions_and_unseen_pairs(variant):
    unseen_pairs = {(4, 3)} if variant == "anchor" else {(3, 4), (4, 3)}
    seen = {(a, b) for a in SHIFT for b in SHIFT} - unseen_pairs
    texts = {}
    for split, n in [("train", 3000), ("test", 1000), ("unseen", 300)]:
        pairs = set()
        examples = generate(variant, split, n, seed=3)
        assert len(examples) == n
        for ex in examples:
            check_common(ex, variant, split)
            assert len(ex.words) == 10 and ex.answer == (9,)
            p, key, a1, a2 = decode_pair(ex.words, 4)
            pairs.add((a1, a2))
            assert all(20 <= int(w) <= 99 for i, w in enumerate(ex.words[:9]) if i not in (p + 1, p + 2))
            # Position split: train keys sit where key mod 7 ≠ p; test and unseen keys where it equals p.
            assert (key % 7 != p) == (split == "train")
            target = int(ex.words[9])
            assert ex.meta["key"] == key and ex.meta["pair"] == [a1, a2] and ex.meta["target"] == target
            if split == "unseen":
                assert target == key - 10 == ex.meta["target_inferential"]  # g(g(key;4);3) = key − 8 − 2
                assert ex.meta["target_is"] == "inferential"
                if variant == "anchor":
                    assert ex.meta["target_symmetric"] == key - 6  # mirrors the trained (3,4)
                else:
                    assert ex.meta["target_symmetric"] is None and not ex.meta["symmetric_defined"]
            else:
                assert target == anchor_reference(key, a1, a2, variant)
        if split == "unseen":
            assert pairs == unseen_pairs
        else:
            assert pairs == seen  # every trained pair occurs; no unseen pair ever does
        texts[split] = {ex.words for ex in examples}
    assert not texts["train"] & texts["test"] and not texts["train"] & texts["unseen"]
    assert not texts["test"] & texts["unseen"]


def reference_bench_data_train(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The train draw of the first anchor loader (`_anchor_split` in bench/data.py as of commit 74cba1a, since
    replaced by the `anchor` generator), for the same-sequences guarantee."""
    gen = torch.Generator().manual_seed(seed)
    pairs = [(a, b) for a in SHIFT for b in SHIFT if (a, b) != (4, 3)]
    seq = torch.randint(20, 100, (n, 9), generator=gen)
    pair_t = torch.tensor(pairs)[torch.randint(len(pairs), (n,), generator=gen)]
    keys = seq[:, 0].clone()
    r = torch.randint(6, (n,), generator=gen)
    pos = r + (r >= keys % 7).long()
    rows = torch.arange(n)
    seq[rows, pos], seq[rows, pos + 1], seq[rows, pos + 2] = keys, pair_t[:, 0], pair_t[:, 1]
    target = torch.tensor([anchor_reference(k, a, b, "anchor") for k, (a, b) in
                           zip(keys.tolist(), pair_t.tolist(), strict=True)])
    return seq, target


def test_anchor_train_matches_the_bench_data_sequences():
    for seed, n in [(0, 500), (11, 64)]:
        seq, target = reference_bench_data_train(n, seed)
        examples = AnchorGenerator(key_also_first=True).generate("train", n, seed)
        assert torch.equal(torch.tensor([[int(w) for w in e.words[:9]] for e in examples]), seq)
        assert torch.equal(torch.tensor([int(e.words[9]) for e in examples]), target)


def test_anchor_key_copy_at_position_zero_is_a_recorded_knob():
    legacy = AnchorGenerator(key_also_first=True).generate("train", 2000, 1)
    assert all(e.words[0] == str(e.meta["key"]) for e in legacy)  # the first version's shortcut
    fixed = generate("anchor", "train", 2000, 1)
    moved = [e for e in fixed if e.meta["key_pos"] != 0]
    assert sum(e.words[0] == str(e.meta["key"]) for e in moved) < 0.05 * len(moved)
    for a, b in zip(legacy, fixed, strict=True):  # only position 0 changes
        assert a.words[1:] == b.words[1:] and a.meta == b.meta
        _, key, a1, a2 = decode_pair(b.words, 4)
        assert int(b.words[9]) == anchor_reference(key, a1, a2, "anchor")
    assert GENERATORS["anchor"].params()["key_also_first"] is False


# --- rsnmem -----------------------------------------------------------------------------------------


def test_rsnmem_labels_positions_and_heldout_combos():
    splits = {"train": 60_000, "test_memory": 400, "test_reasoning": 400, "heldout": 200}
    data = {s: generate("rsnmem", s, n, seed=5) for s, n in splits.items()}
    memory: dict[tuple[int, int, int], int] = {}
    combos: dict[str, set] = {}
    for split, examples in data.items():
        assert len(examples) == splits[split]
        combos[split] = set()
        kinds = Counter()
        for ex in examples[:5000]:
            check_common(ex, "rsnmem", split)
            assert len(ex.words) == 10 and ex.answer == (9,)
            p, key, a1, a2 = decode_pair(ex.words, 20)
            assert 21 <= key <= 120 and all(21 <= int(w) <= 120 for w in ex.words[:9] if int(w) > 20)
            label = int(ex.words[9])
            assert ex.meta["label"] == label and ex.meta["key"] == key and ex.meta["pair"] == [a1, a2]
            assert (key % 7 == p) == (split == "test_reasoning")
            if a1 <= 10:  # memory anchors: both of the pair, a fixed label per (key, a1, a2)
                assert a2 <= 10 and ex.meta["kind"] == "memory" and 43 <= label <= 160
                assert memory.setdefault((key, a1, a2), label) == label  # same label in every split
            else:  # reasoning anchors: label = key + a1 + a2
                assert 11 <= a2 <= 20 and label == key + a1 + a2
                assert ex.meta["kind"] == ("heldout" if (a1, a2) in {(11, 13), (13, 11)} else "reasoning")
            kinds[ex.meta["kind"]] += 1
        combos[split] = {(e.meta["key"], *e.meta["pair"]) for e in examples}
        if split == "train":
            assert 0.45 < kinds["memory"] / sum(kinds.values()) < 0.55 and kinds["heldout"] == 0
        else:
            assert set(kinds) == {{"test_memory": "memory", "test_reasoning": "reasoning",
                                   "heldout": "heldout"}[split]}
    # Held-out combos appear only in `heldout`, and there both orders occur.
    for split in ("train", "test_memory", "test_reasoning"):
        assert not {(a1, a2) for _, a1, a2 in combos[split]} & {(11, 13), (13, 11)}
    assert {(a1, a2) for _, a1, a2 in combos["heldout"]} == {(11, 13), (13, 11)}
    # Memory labels come from the generator's own table: another data seed agrees on every combination.
    for ex in generate("rsnmem", "train", 3000, seed=99):
        if ex.meta["kind"] == "memory":
            assert memory.get((ex.meta["key"], *ex.meta["pair"]), ex.meta["label"]) == ex.meta["label"]
    assert len(set(memory.values())) > 100  # labels really are spread, not a function of the key
    moved = [e for e in data["train"][:5000] if e.meta["key_pos"] != 0]
    assert sum(e.words[0] == str(e.meta["key"]) for e in moved) < 0.05 * len(moved)  # no key copy
    # test_memory asks for trained combinations (30k memory sequences over 10k combos: ~95% seen).
    assert len(combos["test_memory"] & combos["train"]) >= 0.9 * len(combos["test_memory"])
    texts = {s: {e.words for e in ex} for s, ex in data.items()}
    for split in ("test_memory", "test_reasoning", "heldout"):
        assert not texts["train"] & texts[split]


def test_rsnmem_test_memory_is_disjoint_from_train_even_where_collisions_are_likely():
    from bench.data.synthetic import RsnMemGenerator

    # Two keys, two memory and three reasoning anchors: a few thousand possible sequences, so a split
    # that were merely "fresh random filler" would share hundreds of sequences with train.
    gen = RsnMemGenerator(key_lo=21, key_hi=22, memory_anchors=(1, 2), reasoning_anchors=(11, 12, 13))
    train = gen.generate("train", 5000, 0)
    test = gen.generate("test_memory", 1000, 0)
    assert not {e.words for e in train} & {e.words for e in test}
    # ... while every test_memory combination (key, a1, a2) is a trained one (here all 8 are).
    combo = lambda e: (e.meta["key"], *e.meta["pair"])  # noqa: E731
    assert {combo(e) for e in test} <= {combo(e) for e in train if e.meta["kind"] == "memory"}


# --- deduction ----------------------------------------------------------------------------------------


def sentences(words: list[str]) -> list[list[str]]:
    out, cur = [], []
    for w in words:
        if w == ".":
            out.append(cur)
            cur = []
        else:
            cur.append(w)
    assert not cur
    return out


def forward_chain(ex: Example) -> tuple[str, int]:
    """Parse the example's own rules and fact, forward-chain from the fact, and answer the query.

    Returns (label, fewest rule applications that decide the query). Fails on a contradiction or an
    undecided query."""
    words = list(ex.words)
    q = next(i for i in range(len(words)) if words[i:i + 4] == ["True", "or", "false", ":"])
    end = words.index(".", q)
    query = words[q + 4:end]
    entity, prop, query_positive = query[0], query[-1], "not" not in query
    assert query[1] == "is" and len(query) == (3 if query_positive else 4)
    isa: dict[str, set] = {}
    props: dict[str, set] = {}
    facts = []
    for s in sentences(words[:q]):
        if s[0] == "Every" and s[2:3] == ["is"] and s[3] == "a":
            assert len(s) == 5
            isa.setdefault(s[1], set()).add(s[4])
        elif s[0] == "Every":
            assert s[2] == "is" and len(s) in (4, 5)
            props.setdefault(s[1], set()).add((s[-1], len(s) == 4))
        else:
            assert s[1:3] == ["is", "a"] and len(s) == 4
            facts.append((s[0], s[3]))
    assert [f[0] for f in facts] == [entity]
    depth = {facts[0][1]: 0}
    frontier = [facts[0][1]]
    while frontier:  # breadth-first: the first depth reached is the fewest hops
        nxt = []
        for c in frontier:
            for d in isa.get(c, ()):
                if d not in depth:
                    depth[d] = depth[c] + 1
                    nxt.append(d)
        frontier = nxt
    derived: dict[tuple[str, bool], int] = {}
    for c, d in depth.items():
        for p, pol in props.get(c, ()):
            derived[(p, pol)] = min(derived.get((p, pol), 99), d + 1)
    yes, no = (prop, query_positive) in derived, (prop, not query_positive) in derived
    assert yes != no, "query undecided or contradictory"
    return ("True" if yes else "False"), derived[(prop, query_positive == yes)]


def check_proof(ex: Example, rules_determined: bool = False) -> None:
    """Every proof step is a context rule or follows by one application from the previous conclusion; the
    answer indices are exactly the derived conclusions' content words and the label — and, where no branch
    rule shares a chain concept's subject (`rules_determined`), each restated rule's object too."""
    words = list(ex.words)
    start = words.index("Proof")
    stop = words.index("Answer")
    assert words[start + 1] == ":" and words[stop + 1] == ":" and stop + 3 == len(words)
    context = {tuple(s) for s in sentences(words[:start]) if s[0] == "Every"}
    entity = ex.meta["entity"]
    expect, pos, current, last_rule = [], start + 2, None, None
    for s in sentences(words[start + 2:stop]):
        if s[0] == "Every":
            assert tuple(s) in context and s[1] == current
            last_rule = s
            if rules_determined:
                expect += [pos + i for i, w in enumerate(s) if i >= 3 and w != "a"]
        else:
            assert s[:2] == [entity, "is"]
            if current is None:  # the restated fact
                assert s[2] == "a" and s in sentences(words[:start])
                current = s[3]
            else:
                assert s[2:] == last_rule[3:]  # modus ponens on the rule just stated
                content = [pos + 2 + i for i, w in enumerate(s[2:]) if w != "a"]
                expect += content
                current = s[-1]
        pos += len(s) + 1
    assert [*expect, stop + 2] == list(ex.answer)
    assert ("not" in [words[i] for i in ex.answer]) == ex.meta["rule_negated"]


@pytest.mark.parametrize("name", ["deduction", "deduction-proof"])
def test_deduction_labels_by_forward_chaining_and_balance(name):
    texts, idents = {}, {}
    for split, n in [("train", 300), ("test", 100)]:
        examples = generate(name, split, n, seed=2)
        per = Counter()
        for ex in examples:
            check_common(ex, name, split)
            label, hops = forward_chain(ex)
            assert label == ex.meta["label"] == ex.words[-1] and hops == ex.meta["hops"]
            assert len(ex.meta["chain"]) == hops
            # Both polarities of the queried property are in the context: no surface shortcut.
            context = ex.words[:ex.words.index("True")]
            prop = ex.meta["property"]
            assert any(context[i] == prop and context[i - 1] == "not" for i in range(len(context)))
            assert any(context[i] == prop and context[i - 1] == "is" for i in range(len(context)))
            if name == "deduction-proof":
                check_proof(ex)
            else:
                assert ex.answer == (len(ex.words) - 1,) and "Proof" not in ex.words
            per[(hops, label)] += 1
            per[("negated query", ex.meta["query_negated"], label)] += 1
        for h in range(1, 6):
            assert per[(h, "True")] == per[(h, "False")] == n // 10  # hops 1–5 balanced, labels balanced
        for neg in (True, False):  # the query's "not" says nothing about the label
            assert per[("negated query", neg, "True")] > 0 and per[("negated query", neg, "False")] > 0
        texts[split] = {ex.words for ex in examples}
        idents[split] = {(ex.meta["entity"], tuple(ex.meta["chain"]), prop) for ex in examples
                         for prop in [ex.meta["property"]]}
    assert not texts["train"] & texts["test"]
    assert not idents["train"] & idents["test"]  # no test reasoning chain is ever trained


def test_deduction_split_is_disjoint_even_where_collisions_are_likely():
    from bench.data.synthetic import DeductionGenerator

    gen = DeductionGenerator(hops=(1,))  # 10 entities × 24 concepts × 16 properties = 3840 chains
    ident = lambda e: (e.meta["entity"], tuple(e.meta["chain"]), e.meta["property"])  # noqa: E731
    train = {ident(e) for e in gen.generate("train", 3000, 0)}
    test = {ident(e) for e in gen.generate("test", 600, 0)}
    assert len(train) > 1000 and len(test) > 300 and not train & test


def test_deduction_without_distractors_is_still_exact():
    from bench.data.synthetic import DeductionGenerator

    gen = DeductionGenerator(distractors=False, proof=True, shuffle_rules=False)
    for ex in gen.generate("train", 50, 0):
        label, hops = forward_chain(ex)
        assert label == ex.meta["label"] and hops == ex.meta["hops"] and ex.meta["distractors"] == 0
        check_proof(ex, rules_determined=True)  # one rule per chain concept: the proof's lookups are marked


# --- all generators -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_determinism_vocabulary_and_manifest(name):
    gen = GENERATORS[name]
    assert gen.name == name and gen.version and gen.source and gen.description and "train" in gen.splits
    vocab = gen.vocabulary()
    assert len(vocab) == len(set(vocab)) and all(w and not any(c.isspace() for c in w) for w in vocab)
    vocab = set(vocab)
    for split in gen.splits:
        a, b = gen.generate(split, 200, 7), generate(name, split, 200, 7)
        assert a == b  # words, answer and meta
        c = gen.generate(split, 200, 8)
        assert [e.words for e in a] != [e.words for e in c]
        for ex in a:
            assert set(ex.words) <= vocab
        assert gen.generate(split, 0, 7) == []
    sizes = {s: 40 + 10 * i for i, s in enumerate(gen.splits)}
    m = manifest(name, sizes, seed=4)
    json.dumps(m)
    assert m["generator"] == name and m["version"] == gen.version and m["seed"] == 4
    assert m["params"] == gen.params()
    for split, n in sizes.items():
        entry = m["splits"][split]
        examples = gen.generate(split, n, 4)
        assert entry["n"] == n == sum(entry["counts"]["kind"].values())
        assert entry["counts"]["kind"] == dict(Counter(e.meta["kind"] for e in examples))
        assert entry["answer_tokens"] == sum(len(e.answer) for e in examples)
    assert manifest(name, sizes, seed=4) == m


def test_unknown_names_and_bad_arguments():
    with pytest.raises(BenchError, match="unknown synthetic generator"):
        generate("nope", "train", 1, 0)
    with pytest.raises(BenchError, match="no split"):
        generate("anchor", "heldout", 1, 0)
    with pytest.raises(BenchError, match="no split"):
        manifest("rsnmem", {"test": 1}, 0)
    with pytest.raises(BenchError, match="non-negative"):
        generate("anchor", "train", -1, 0)
    with pytest.raises(BenchError, match="seed"):
        generate("deduction", "train", 1, -3)
