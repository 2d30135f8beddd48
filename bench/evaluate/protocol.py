"""Evaluation protocols (docs/evaluation.md#protocols): how many documents of each task are scored.

- quick: the first `limit` documents of every task (`eval.limit`, 200 by default): what a single `run`
  scores, cheap enough to follow a run, too small to separate schemes (±0.035 standard error on 4-way
  multiple choice).
- powered: every document of every split, except the splits in POWERED_SUBSETS, which are scored on a
  fixed seeded subset (the same documents for every run, so comparisons stay paired by document).

The subset sizes were chosen per task from what a full split costs at nano (tokens per document ×
documents, tasks/README.md): HellaSwag's 10,042 documents are ~2.8M tokens, ten times the whole quick
suite, so 2,000 of them; LAMBADA (5,153) and BoolQ (3,270, long passages) likewise get 2,000. Every other
split has at most ~2,400 documents and is scored whole.
"""

from __future__ import annotations

import random
from typing import Any

from bench.config.schema import Protocol
from bench.evaluate import catalog

POWERED_SUBSETS = {"hellaswag": 2000, "lambada_openai": 2000, "boolq": 2000}
# Fixed, not eval.seed: the subset must be the same documents for every run that is compared.
SUBSET_SEED = 15


def subset_ids(split_documents: int, size: int, seed: int = SUBSET_SEED) -> list[int]:
    """`size` document indices of a split drawn without replacement by a seeded generator, sorted; the
    whole split when it is not larger than `size`."""
    if split_documents <= size:
        return list(range(split_documents))
    return sorted(random.Random(seed).sample(range(split_documents), size))


def powered_samples(tm: Any, tasks: list[str]) -> dict[str, list[int]]:
    """lm-eval's `samples` argument for the powered protocol: the subset of every capped leaf task of
    `tasks` (the rest are absent, so lm-eval scores them whole). Loading a capped task to count its split
    costs about a second; lm-eval's own load of it afterwards reuses the loader's memoized dataset."""
    capped = [t for name in tasks for t in catalog.group_members(name) if t in POWERED_SUBSETS]
    if not capped:
        return {}
    loaded = tm.load(list(dict.fromkeys(capped)))["tasks"]
    return {name: subset_ids(len(task.eval_docs), POWERED_SUBSETS[name]) for name, task in loaded.items()}


def task_provenance(results: dict[str, Any], protocol: Protocol,
                    samples: dict[str, list[int]]) -> dict[str, dict[str, Any]]:
    """Per task of lm-eval's results: the protocol, the split's size, and the subset seed where the
    documents were a seeded subset (record.evaluation.tasks[task], bench.record.schema.TaskProvenance)."""
    n_samples = results.get("n-samples") or {}
    out: dict[str, dict[str, Any]] = {}
    for name, counts in sorted(n_samples.items()):
        out[name] = {"protocol": protocol, "split_documents": (counts or {}).get("original"),
                     "subset_seed": SUBSET_SEED if name in samples else None}
    return out
