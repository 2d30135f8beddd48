"""The registered generators by name, and the manifest of what they generate (part of a run's record)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

from bench.core.errors import BenchError
from bench.data.synthetic.anchor import AnchorGenerator
from bench.data.synthetic.base import Example, Generator
from bench.data.synthetic.deduction import DeductionGenerator
from bench.data.synthetic.rsnmem import RsnMemGenerator

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


def manifest(name: str, splits: dict[str, int], seed: int) -> dict[str, Any]:
    """What `generate` produces for these split sizes: counts (per split and per meta kind/hops/label),
    seed, generator version and knobs, and a sha256 over each split's texts."""
    gen = get_generator(name)
    return describe(name, {split: gen.generate(split, n, seed) for split, n in splits.items()}, seed)


def describe(name: str, examples_by_split: dict[str, list[Example]], seed: int) -> dict[str, Any]:
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
