"""Record integrity: an update merges per task and keeps everything else, every score carries its
provenance, every write is logged in the run's history, and records older than provenance still load."""

import copy
import json
import math
from pathlib import Path

import pytest

from bench.evaluate.catalog import group_members
from bench.evaluate.results import merge_scores
from bench.record.schema import (
    HISTORY_FILE,
    RECORD_FILE,
    read_record,
    record_changes,
    scoring_conditions,
    update_record,
    write_record,
)

COMMITTED = sorted(Path(__file__).resolve().parents[2].glob("results/*/runs/*/record.json"))
REASONING = group_members("initbench_reasoning")


def provenance(limit=200, seed=1234, lm_eval="0.4.13"):
    return {"limit": limit, "documents": None, "seed": seed, "batch_size": 64, "lm_eval": lm_eval,
            "git_hash": "abc", "git_dirty": False, "scored_at": "2026-01-01T00:00:00+00:00"}


def task(acc, se=0.03, n=200, chance=0.25):
    return {"acc": acc, "acc_stderr": se, "n": n, "chance": chance,
            "normalized": (acc - chance) / (1 - chance), "normalized_by_metric": {}}


def results(tasks, groups=None, **prov):
    return {"tasks": tasks, "groups": groups or {}, "versions": dict.fromkeys(tasks, 1), "wall_s": 1.0,
            "provenance": provenance(**prov)}


def reasoning_record():
    """A record scored on initbench_reasoning by lm-eval (group acc = mean of its tasks' acc)."""
    tasks = {t: task(0.3 + 0.01 * i, se=0.02 + 0.001 * i) for i, t in enumerate(REASONING)}
    group = {"acc": sum(t["acc"] for t in tasks.values()) / len(tasks), "acc_stderr": 0.01, "n": 1600,
             "chance": None, "normalized": None, "subtasks": list(REASONING)}
    record = {"status": "ok", "run_id": "r", "train": {"steps": 1}, "eval": {}, "groups": {},
              "probes": {"tokens": {}, "structure": {}}}
    merge_scores(record, results(tasks, {"initbench_reasoning": group}))
    return record


def test_a_fresh_scoring_keeps_lm_evals_groups_and_records_provenance_per_task():
    record = reasoning_record()
    assert "recomputed" not in record["groups"]["initbench_reasoning"]  # lm-eval's aggregate, as is
    prov = record["evaluation"]["tasks"]
    assert list(prov) == sorted(REASONING)
    assert prov["piqa"]["limit"] == 200 and prov["piqa"]["documents"] == 200 and prov["piqa"]["seed"] == 1234
    assert scoring_conditions(record, "piqa") == (200, None, 1234, "0.4.13")
    assert scoring_conditions(record, "no_such_task") is None


def test_update_adds_and_replaces_only_the_tasks_scored_now_and_reaggregates_their_groups():
    record = reasoning_record()
    before = copy.deepcopy(record)
    stale = merge_scores(record, results({"arc_challenge": task(0.9, se=0.05, n=100),
                                          "sciq": task(0.5)}, limit=100))
    assert stale == ["initbench_reasoning"]
    # Kept: every task not scored now, with its scores and provenance; the rest of the record.
    for t in REASONING:
        if t != "arc_challenge":
            assert record["eval"][t] == before["eval"][t]
            assert record["evaluation"]["tasks"][t] == before["evaluation"]["tasks"][t]
    assert {k: v for k, v in record.items() if k not in ("eval", "groups", "evaluation")} == \
        {k: v for k, v in before.items() if k not in ("eval", "groups", "evaluation")}
    # Replaced and added, with their own provenance.
    assert record["eval"]["arc_challenge"]["acc"] == 0.9 and record["eval"]["sciq"]["acc"] == 0.5
    assert record["evaluation"]["tasks"]["arc_challenge"]["limit"] == 100
    assert record["evaluation"]["versions"]["sciq"] == 1
    assert record["evaluation"]["wall_s"] == 2.0  # both scorings
    # The group: lm-eval's unweighted mean of acc over the tasks now in the record, and its stderr
    # for an unweighted mean, sqrt(Σ se²) / k; it says it was recomputed and from what.
    group = record["groups"]["initbench_reasoning"]
    accs = [record["eval"][t]["acc"] for t in REASONING]
    ses = [record["eval"][t]["acc_stderr"] for t in REASONING]
    assert group["acc"] == pytest.approx(sum(accs) / len(accs))
    assert group["acc"] != before["groups"]["initbench_reasoning"]["acc"]
    assert group["acc_stderr"] == pytest.approx(math.sqrt(sum(s * s for s in ses)) / len(ses))
    assert group["n"] == 7 * 200 + 100 and group["subtasks"] == list(REASONING)
    assert group["recomputed"] == {"missing": [], "mixed_provenance": True}  # limit 100 next to 200
    # No group is made up for sciq: the record never held initbench_knowledge.
    assert "initbench_knowledge" not in record["groups"]


def test_a_group_is_recomputed_from_the_members_present_and_names_the_missing_ones():
    record = {"eval": {}, "groups": {}}
    some = {t: task(0.4) for t in REASONING[:3]}
    merge_scores(record, results(some, {"initbench_reasoning": {"acc": 0.4, "n": 600, "chance": None,
                                                                "normalized": None,
                                                                "subtasks": list(REASONING[:3])}}))
    merge_scores(record, results({REASONING[0]: task(0.7)}))
    group = record["groups"]["initbench_reasoning"]
    assert group["subtasks"] == list(REASONING[:3])
    assert group["recomputed"]["missing"] == list(REASONING[3:])
    assert group["recomputed"]["mixed_provenance"] is False  # same limit, seed, lm-eval
    assert group["acc"] == pytest.approx((0.7 + 0.4 + 0.4) / 3)
    # A later scoring of a missing member is picked up too.
    merge_scores(record, results({REASONING[5]: task(0.1)}))
    assert REASONING[5] in record["groups"]["initbench_reasoning"]["subtasks"]


@pytest.mark.skipif(not COMMITTED, reason="no committed records")
def test_old_records_without_provenance_load_and_merge():
    record = read_record(COMMITTED[0])
    assert "tasks" not in record.get("evaluation", {})  # written before provenance existed
    assert scoring_conditions(record, "arc_easy") is None
    before = copy.deepcopy(record)
    merge_scores(record, results({"arc_easy": task(0.5)}))
    assert record["eval"]["piqa"] == before["eval"]["piqa"]
    assert list(record["evaluation"]["tasks"]) == ["arc_easy"]  # the others stay unknown
    group = record["groups"]["initbench_default"]
    assert group["n"] == before["groups"]["initbench_default"]["n"]  # 200 documents replaced 200
    assert group["recomputed"]["mixed_provenance"] is None  # unknown for the old tasks


def test_writes_are_logged_in_the_history_and_unchanged_updates_write_nothing(tmp_path):
    path = tmp_path / "run" / RECORD_FILE
    path.parent.mkdir()
    write_record(path, {"status": "ok", "eval": {"a": {"acc": 1}}, "probes": {"tokens": {}}})

    def set_tokens(record):
        record["probes"]["tokens"] = {"rule": "r"}

    update_record(path, set_tokens)
    mtime = path.stat().st_mtime_ns
    update_record(path, set_tokens)  # the same change again: nothing to write
    assert path.stat().st_mtime_ns == mtime
    lines = [json.loads(line) for line in (path.parent / HISTORY_FILE).read_text().splitlines()]
    assert [line["action"] for line in lines] == ["create", "update"]
    assert lines[0]["changed"] == ["eval", "probes", "status"]
    assert lines[1]["changed"] == ["probes.tokens"]
    assert all(isinstance(line["command"], list) and line["at"].endswith("+00:00") for line in lines)
    assert not list(path.parent.glob(".record.lock"))  # the update lock is released and removed


def test_record_changes_names_entries_of_objects_and_whole_keys():
    before = {"eval": {"a": 1, "b": 2}, "sweep": None, "status": "ok"}
    after = {"eval": {"a": 1, "b": 3, "c": 4}, "sweep": {"name": "s"}, "status": "ok"}
    assert record_changes(before, after) == ["eval.b", "eval.c", "sweep"]


def test_a_sweep_annotation_changes_only_sweep(tmp_path):
    from bench.sweep.execute import annotate

    path = tmp_path / "run" / RECORD_FILE
    path.parent.mkdir()
    record = reasoning_record()
    write_record(path, record)
    info = {"name": "s", "label": "gamma-0.5", "lr_search": None}
    annotate(path, info)
    annotate(path, info)  # a resumed sweep annotates again: unchanged, not rewritten
    after = read_record(path)
    assert after == {**record, "sweep": info}
    lines = (path.parent / HISTORY_FILE).read_text().splitlines()
    assert [json.loads(line)["changed"] for line in lines][1:] == [["sweep"]]


def test_a_powered_subset_and_a_whole_split_are_different_conditions():
    from bench.record.schema import describe_conditions

    subset = {"evaluation": {"tasks": {"hellaswag": {"limit": None, "subset_seed": 15, "seed": 1234,
                                                     "lm_eval": "0.4.13"}}}}
    whole = {"evaluation": {"tasks": {"hellaswag": {"limit": None, "seed": 1234, "lm_eval": "0.4.13"}}}}
    a, b = scoring_conditions(subset, "hellaswag"), scoring_conditions(whole, "hellaswag")
    assert a != b
    assert describe_conditions(a) == "subset (seed 15), seed 1234, lm-eval 0.4.13"
    assert describe_conditions(b) == "full split, seed 1234, lm-eval 0.4.13"
