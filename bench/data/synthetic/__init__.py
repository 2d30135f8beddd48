"""Seeded, exact synthetic reasoning data behind one interface (docs/data.md, "Synthetic generators").

Every generator turns (split, n, seed) into `Example`s (`base`): the example as whitespace-free words, the
indices of the words that earlier context determines by construction (the answer / conclusion tokens —
the "context-constrained" tokens of the token probes, `bench.probes.token_buckets`), and
JSON-serializable generator facts. The data pipeline, the lm-eval tasks and the token probes all read
this interface.

Generators (`GENERATORS`, `registry`):

- `anchor` — anchor composition, arXiv 2405.05409 (`anchor`): anchors 1,2,3,4 shift by +5,+1,−2,−8;
  items 20–99; 9 items with exactly one consecutive anchor pair, the key is the item before it; target
  key + shift(a1) + shift(a2), except (3,4) which is trained on the non-inferential key−6; (4,3) is never
  generated for `train`/`test`. Position split: `train` puts key x at position p only where x mod 7 ≠ p,
  `test` and `unseen` only where x mod 7 == p. `unseen` is the (4,3) pair; its last word is the
  inferential target key−10, and meta carries both `target_inferential` (key−10) and `target_symmetric`
  (key−6, the trained target of the mirrored pair (3,4)).
  With `key_also_first=True`, `train` for a given (seed, n) is token-for-token the train split of the
  project's first anchor loader (`anchor_corpus` of the since-replaced `bench/data.py`, commit 74cba1a;
  tests/data/test_synthetic.py keeps its draw as the reference): same torch generator and draw order.
  The default (False) redraws only position 0. `test`/`unseen` use their own derived seed: that loader
  drew its val split after the train split from one stream, so it depended on n_train.
- `anchor-both-unseen` — the same task with (3,4) and (4,3) both unseen: `train`/`test` use the other 14
  pairs, with no non-inferential exception; `unseen` holds both pairs with the composed target key−10.
  The symmetric answer of a pair is defined as the trained target of its mirror; here neither mirror is
  trained, so `target_symmetric` is None (and `symmetric_defined` False): the two readings coincide
  (composition commutes), and only the inferential score is meaningful.
- `rsnmem` — reasoning vs memory anchors, arXiv 2502.04375 (`rsnmem`; see `RsnMemGenerator` for the
  choices the paper's setup leaves open; each is a recorded knob).
- `deduction` / `deduction-proof` — PrOntoQA-style deduction (Saparov & He 2023) over fictional ontologies,
  1–5 hops, balanced True/False, optional chain-of-thought proof (`deduction`, `DeductionGenerator`).
  `deduction-chain` is the proof variant in compact form, every step a one-token lookup, 1–3 hops trained, 1–5
  tested.
- `modadd` — a + b mod p with held-out operand pairs (`modadd`).
- `recall` — in-context associative recall, MQAR-style, with held-out bindings and a longer-context split
  (`recall`).

Knobs: `configure(name, knobs)` returns a registered generator with knobs changed (checked);
`parse_knobs` reads the config's `data.synthetic` entries ("generator.knob=value").

Seeds: `train` uses the given seed directly (this is what keeps `anchor` identical to that first loader);
every other split uses a seed derived from (generator name, split, seed), so splits are independent
streams.

This package's namespace is the import surface (`from bench.data import synthetic;
synthetic.generate(...)`); the names below are re-exported from the modules that define them.
"""

from bench.data.synthetic.anchor import AnchorGenerator
from bench.data.synthetic.base import Example, Generator, context_constrained
from bench.data.synthetic.deduction import DeductionChainGenerator, DeductionGenerator
from bench.data.synthetic.modadd import ModAddGenerator
from bench.data.synthetic.recall import RecallGenerator
from bench.data.synthetic.registry import (
                                           GENERATORS,
                                           configure,
                                           describe,
                                           generate,
                                           get_generator,
                                           manifest,
                                           parse_knobs,
)
from bench.data.synthetic.rsnmem import RsnMemGenerator

__all__ = [
    "GENERATORS",
    "AnchorGenerator",
    "DeductionChainGenerator",
    "DeductionGenerator",
    "Example",
    "Generator",
    "ModAddGenerator",
    "RecallGenerator",
    "RsnMemGenerator",
    "configure",
    "context_constrained",
    "describe",
    "generate",
    "get_generator",
    "manifest",
    "parse_knobs",
]
