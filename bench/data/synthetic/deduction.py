"""PrOntoQA-style deduction (Saparov & He, ICLR 2023): the `deduction` and `deduction-proof` generators."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from bench.core.errors import BenchError
from bench.data.synthetic.base import Example, Generator

CONCEPTS = ("wumpus", "yumpus", "zumpus", "dumpus", "rompus", "numpus", "tumpus", "vumpus", "impus",
            "jompus", "gorpus", "shumpus", "lempus", "sterpus", "grimpus", "lorpus", "brimpus", "lumpus",
            "gumpus", "quimpus", "felpus", "harpus", "kempus", "mompus")
ENTITIES = ("Max", "Alex", "Sam", "Fae", "Rex", "Sally", "Wren", "Polly", "Stella", "Jo")
PROPERTIES = ("bitter", "sweet", "sour", "salty", "spicy", "hot", "cold", "large", "small", "red", "blue",
              "happy", "sad", "bright", "dull", "wooden")
_FUNCTION_WORDS = ("Every", "is", "a", "not", ".", "True", "or", "false", ":", "Answer", "False")
_RULE_FUNCTION_WORDS = frozenset({"Every", "is", "a"})  # dropped by the compact form


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
    compact: bool = False

    def hop_counts(self, split: str) -> tuple[int, ...]:
        """The hop counts of `split`'s examples."""
        return self.hops

    def __post_init__(self) -> None:
        every = (*self.hops, *self.hop_counts("test"))
        need = max(every, default=0) + (2 + self.n_branch if self.distractors else 0)
        if not self.hops or min(every) < 1 or need > len(CONCEPTS) or self.n_branch < 0:
            raise BenchError(f"deduction hops must be >= 1 and use at most {len(CONCEPTS)} concepts "
                             "with the distractors")
        if not 0.0 < self.test_fraction < 1.0:
            raise BenchError(f"deduction test_fraction must be in (0, 1), got {self.test_fraction}")
        if self.compact and (not self.proof or (self.distractors and self.n_branch)):
            # A branch rule gives a chain concept a second successor: the compact proof's next step would
            # no longer be determined by the context.
            raise BenchError("deduction compact form needs proof = true and n_branch = 0")

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
        if self.compact:
            return self._compact(rules, split, entity, chain, prop, positive, query_positive, label, hops)
        words = [w for r in rules for w in r]
        fact = [entity, "is", "a", chain[0], "."]
        words += fact
        words += ["True", "or", "false", ":", entity, "is", *([] if query_positive else ["not"]), prop, "."]
        answer: list[int] = []
        # Without branch rules every chain concept is the subject of exactly one rule, so a restated rule's
        # object (the next concept, or the property's polarity) is determined by the context: a lookup.
        rules_determined = not (self.distractors and self.n_branch)
        if self.proof:
            words += ["Proof", ":", *fact]
            for i in range(hops - 1):
                words += ["Every", chain[i], "is", "a"]
                if rules_determined:
                    answer.append(len(words))
                words += [chain[i + 1], "."]
                words += [entity, "is", "a"]
                answer.append(len(words))
                words += [chain[i + 1], "."]
            if rules_determined:
                answer.extend(range(len(words) + 3, len(words) + 4 + len(neg)))
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

    def _compact(self, rules: list[list[str]], split: str, entity: str, chain: tuple[str, ...], prop: str,
                 positive: bool, query_positive: bool, label: bool, hops: int) -> Example:
        """The same draws without the function words that sit between a rule's subject and its object
        ("Every c is a d ." → "c d ."; "Every c is not P ." → "c not P ."), so each proof step is a lookup
        of the previous step's concept — a one-token key, as in associative recall — and the proof
        "Proof : E c0 c1 … [not] P ." is every conclusion in turn (see DeductionChainGenerator)."""
        neg = [] if positive else ["not"]
        words = [w for r in rules for w in r if w not in _RULE_FUNCTION_WORDS]
        words += [entity, chain[0], "."]
        words += ["?", entity, *([] if query_positive else ["not"]), prop, "."]
        words += ["Proof", ":"]
        start = len(words)
        words += [entity, *chain, *neg, prop, ".", "Answer", ":", "True" if label else "False"]
        # Every word of the proof and answer is determined by the context (the punctuation trivially), and
        # all are trained: the task scores whether greedy decoding writes the whole proof.
        answer = list(range(start, len(words)))
        meta = {"kind": "proof", "split": split, "hops": hops, "label": "True" if label else "False",
                "entity": entity, "chain": list(chain), "property": prop, "rule_negated": not positive,
                "query_negated": not query_positive,
                "distractors": 2 + self.n_branch if self.distractors else 0, "proof_start": start}
        return Example(tuple(words), tuple(answer), meta)

    def _generate(self, split: str, n: int, seed: int) -> list[Example]:
        rng = random.Random(seed)
        hop_set = self.hop_counts(split)
        h = len(hop_set)
        plan = [(hop_set[i % h], (i // h) % 2 == 0) for i in range(n)]
        rng.shuffle(plan)
        return [self._one(rng, split, hops, label) for hops, label in plan]

    def vocabulary(self) -> list[str]:
        extra = ("Proof",) if self.proof else ()
        extra += ("?",) if self.compact else ()
        return list(dict.fromkeys(_FUNCTION_WORDS + extra + ENTITIES + CONCEPTS + PROPERTIES))


@dataclass(frozen=True)
class DeductionChainGenerator(DeductionGenerator):
    """`deduction-chain`: the proof variant in compact form (`compact`: no "Every … is a"), without branch
    rules, and a test split with other hop counts (`test_hops`; default 1–5 against 1–3 trained: 4 and 5
    are longer chains than any trained).

    "c0 c1 . c1 c2 . c2 not P . d1 d0 . d0 P . E c0 . ? E P . Proof : E c0 c1 c2 not P . Answer : False"
    (rules shuffled). Each proof step names the successor of the previous concept, which the context
    gives once: a chain of one-token lookups, each conditioned on the step before, ending in the
    property's polarity (the distractor d0 carries the opposite one) and the label. Version 2: version 1
    wrote PrOntoQA's English, whose lookups are keyed on two tokens ("Every c is"); a 4-layer d = 128
    model learned none of them in ~5 CPU-minutes (docs/data.md)."""

    name: str = "deduction-chain"
    version: str = "2"
    description: str = ("PrOntoQA-style deduction in compact form with the proof, every proof step a "
                        "one-token lookup; 1-3 hops trained, 1-5 tested")
    proof: bool = True
    n_branch: int = 0
    compact: bool = True
    hops: tuple[int, ...] = (1, 2, 3)
    test_hops: tuple[int, ...] = (1, 2, 3, 4, 5)

    def hop_counts(self, split: str) -> tuple[int, ...]:
        return self.hops if split == "train" else self.test_hops
