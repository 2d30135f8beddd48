"""Per-document outputs (bench.evaluate.documents) and the powered protocol's subsets
(bench.evaluate.protocol): parsing lm-eval's samples, the file's round trip, merge and size."""

import gzip
import json
import random

import pytest

from bench.core.errors import BenchError
from bench.evaluate.documents import encode, merge_docs, read_docs, task_docs
from bench.evaluate.protocol import SUBSET_SEED, subset_ids, task_provenance
from bench.record.schema import EVAL_DOCS_FILE


def mc_sample(doc_id, lls, target, acc, filt="none"):
    return {"doc_id": doc_id, "target": target, "filtered_resps": [(ll, False) for ll in lls],
            "filter": filt, "metrics": ["acc", "acc_norm"], "acc": acc, "acc_norm": 1.0}


def test_samples_become_compact_columns():
    samples = {
        "mc": [mc_sample(1, [-2.0, -1.0, -3.0], 0, 0.0), mc_sample(0, [-1.23456, -2.0], 0, 1.0),
               mc_sample(0, [-9.0, -9.0], 1, 0.0, filt="other")],  # another filter: left out
        "ppl": [{"doc_id": 0, "target": "", "filtered_resps": [-120.5], "filter": "none",
                 "metrics": ["word_perplexity", "bits_per_byte"], "word_perplexity": (-120.5, 30),
                 "bits_per_byte": (-120.5, 200)}],
        "hops": [{"doc_id": 0, "target": 0, "filtered_resps": [(-1.0, True), (-2.0, False)], "filter": "none",
                  "metrics": ["acc", "acc_hop1"], "acc": True, "acc_hop1": True},
                 {"doc_id": 1, "target": 1, "filtered_resps": [(-1.0, True), (-2.0, False)], "filter": "none",
                  "metrics": ["acc", "acc_hop2"], "acc": False, "acc_hop2": False}],
    }
    docs = task_docs(samples)
    mc = docs["mc"]
    assert mc["doc_id"] == [0, 1] and mc["metrics"] == {"acc": [1, 0], "acc_norm": [1, 1]}
    assert mc["gold_ll"] == [-1.2346, -2.0] and mc["best_ll"] == [-1.2346, -1.0]
    assert mc["loglik"] is None and mc["bytes"] is None
    ppl = docs["ppl"]
    assert (ppl["loglik"], ppl["bytes"], ppl["metrics"]) == ([-120.5], [200], {})
    # A metric a document does not report is None there (each hop count averages its own documents).
    assert docs["hops"]["metrics"] == {"acc": [1, 0], "acc_hop1": [1, None], "acc_hop2": [None, 0]}


def big_docs(n_tasks=12, n_docs=2000, seed=0):
    rng = random.Random(seed)
    tasks = {}
    for t in range(n_tasks):
        ids = sorted(rng.sample(range(10 * n_docs), n_docs))
        tasks[f"task{t}"] = {"doc_id": ids, "metrics": {"acc": [rng.randint(0, 1) for _ in ids],
                                                         "acc_norm": [rng.randint(0, 1) for _ in ids]},
                             "gold_ll": [round(-rng.uniform(0, 40), 4) for _ in ids],
                             "best_ll": [round(-rng.uniform(0, 40), 4) for _ in ids], "loglik": None,
                             "bytes": None}
    return tasks


def test_round_trip_merge_and_size_bound(tmp_path):
    assert read_docs(tmp_path) is None  # a run scored before per-document outputs were kept
    tasks = big_docs()
    merge_docs(tmp_path, tasks)
    path = tmp_path / EVAL_DOCS_FILE
    # 12 tasks × 2,000 documents with random (incompressible) log-likelihoods: well under 500 kB.
    assert path.stat().st_size < 500_000
    assert read_docs(tmp_path) == {"version": 1, "tasks": tasks}
    # Merged task by task: a re-scored task is replaced, the others keep their documents.
    new = {"task3": {**tasks["task3"], "doc_id": [0], "metrics": {"acc": [1]}, "gold_ll": [-1.0],
                     "best_ll": [-1.0]}, "extra": tasks["task0"]}
    merge_docs(tmp_path, new)
    after = read_docs(tmp_path)["tasks"]
    assert after["task3"] == new["task3"] and after["task5"] == tasks["task5"] and "extra" in after
    assert list(after) == sorted(after)
    # Deterministic bytes (no gzip timestamp) and no leftover temporary file.
    assert encode({"version": 1, "tasks": tasks}) == encode({"version": 1, "tasks": tasks})
    assert sorted(p.name for p in tmp_path.iterdir()) == [EVAL_DOCS_FILE]


def test_unreadable_file_is_one_clear_error(tmp_path):
    (tmp_path / EVAL_DOCS_FILE).write_bytes(b"not gzip")
    with pytest.raises(BenchError, match="unreadable"):
        read_docs(tmp_path)
    (tmp_path / EVAL_DOCS_FILE).write_bytes(gzip.compress(json.dumps({"version": 99}).encode()))
    with pytest.raises(BenchError, match="version 1"):
        read_docs(tmp_path)


def test_powered_subsets_are_fixed_and_documented():
    ids = subset_ids(10042, 2000)
    assert len(ids) == len(set(ids)) == 2000 and ids == sorted(ids) and ids[-1] < 10042
    assert ids == subset_ids(10042, 2000, SUBSET_SEED) and ids != subset_ids(10042, 2000, SUBSET_SEED + 1)
    assert subset_ids(500, 2000) == list(range(500))
    prov = task_provenance({"n-samples": {"hellaswag": {"original": 10042, "effective": 2000},
                                          "piqa": {"original": 1838, "effective": 1838}}},
                           "powered", {"hellaswag": ids})
    assert prov["hellaswag"] == {"protocol": "powered", "split_documents": 10042, "subset_seed": SUBSET_SEED}
    assert prov["piqa"] == {"protocol": "powered", "split_documents": 1838, "subset_seed": None}
