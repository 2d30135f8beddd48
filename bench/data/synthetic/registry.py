"""The registered generators by name, and the manifest of what they generate (part of a run's record)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from bench.config.overrides import parse_value
from bench.core.errors import BenchError
from bench.data.synthetic.anchor import AnchorGenerator
from bench.data.synthetic.base import Example, Generator
from bench.data.synthetic.deduction import DeductionChainGenerator, DeductionGenerator
from bench.data.synthetic.modadd import ModAddGenerator
from bench.data.synthetic.recall import RecallGenerator
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
        DeductionChainGenerator(),
        ModAddGenerator(),
        RecallGenerator(),
    )
}


def get_generator(name: str) -> Generator:
    if name not in GENERATORS:
        raise BenchError(f"unknown synthetic generator {name!r} (choose from {', '.join(GENERATORS)})")
    return GENERATORS[name]


def generate(name: str, split: str, n: int, seed: int,
             knobs: dict[str, Any] | None = None) -> list[Example]:
    return configure(name, knobs or {}).generate(split, n, seed)


def configure(name: str, knobs: dict[str, Any]) -> Generator:
    """The registered generator `name` with some knobs changed; an unknown knob or a value of the wrong
    type is a BenchError naming the generator's knobs (ranges are checked by the generator itself)."""
    gen = get_generator(name)
    if not knobs:
        return gen
    fields = {f.name: getattr(gen, f.name) for f in dataclasses.fields(gen)}
    allowed = gen.params()
    changes = {}
    for knob, value in knobs.items():
        if knob not in allowed:
            raise BenchError(f"generator {name!r} has no knob {knob!r} (knobs: {', '.join(allowed)})")
        changes[knob] = _typed(value, fields[knob], f"{name}.{knob}")
    return dataclasses.replace(gen, **changes)


def _typed(value: Any, default: Any, where: str) -> Any:
    """`value` in the type of the knob's default: lists become tuples (nested too), ints may be floats."""
    if isinstance(default, tuple):
        if not isinstance(value, (list, tuple)):
            raise BenchError(f"{where}: expected a list, got {value!r}")
        inner = default[0] if default else None
        return tuple(v if inner is None else _typed(v, inner, where) for v in value)
    if isinstance(default, bool) or isinstance(value, bool):
        if type(value) is not type(default):
            raise BenchError(f"{where}: expected {type(default).__name__}, got {value!r}")
        return value
    if isinstance(default, float) and isinstance(value, int):
        return float(value)
    if not isinstance(value, type(default)):
        raise BenchError(f"{where}: expected {type(default).__name__}, got {value!r}")
    return value


def parse_knobs(items: Iterable[str], sources: Iterable[str]) -> dict[str, dict[str, Any]]:
    """`data.synthetic` entries ("generator.knob=value", the value in TOML syntax) as {generator: {knob:
    value}}, each checked against the generator's knobs; a generator that is not among `sources` is
    refused (its knob would silently do nothing)."""
    sources = list(sources)
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        name, dot, knob = key.strip().rpartition(".")
        if not sep or not dot or not name or not knob:
            raise BenchError(f"data.synthetic entry {item!r}: expected GENERATOR.KNOB=VALUE, e.g. "
                             "modadd.p=31")
        if name not in sources:
            raise BenchError(f"data.synthetic entry {item!r}: {name!r} is not a synthetic source of this "
                             f"corpus ({', '.join(s for s in sources if s in GENERATORS) or 'none'})")
        out.setdefault(name, {})[knob] = parse_value(text.strip())
    for name, knobs in out.items():
        configure(name, knobs)  # checks names, types and (in the generator) ranges
    return out


_COUNTED = ("kind", "hops", "label")


def manifest(name: str, splits: dict[str, int], seed: int,
             knobs: dict[str, Any] | None = None) -> dict[str, Any]:
    """What `generate` produces for these split sizes: counts (per split and per meta kind/hops/label),
    seed, generator version and knobs, and a sha256 over each split's texts."""
    gen = configure(name, knobs or {})
    return describe(name, {split: gen.generate(split, n, seed) for split, n in splits.items()}, seed, gen)


def describe(name: str, examples_by_split: dict[str, list[Example]], seed: int,
             gen: Generator | None = None) -> dict[str, Any]:
    """The manifest of examples already generated (so callers never generate twice); `gen` is the
    generator that made them (default: the registered one)."""
    gen = gen or get_generator(name)
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
