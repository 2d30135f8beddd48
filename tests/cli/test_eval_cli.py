"""The evaluation stage end to end: scoring after training, `bench eval`, and lm-eval's own CLI."""

import json
import sys

import pytest
from tinyconfig import tiny_config

from bench.evaluate.documents import read_docs
from bench.run.pipeline import execute, plan


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model trained on the anchor task, scored on anchor_seen after training."""
    out = tmp_path_factory.mktemp("runs")
    cfg = tiny_config(model={"d_model": 64, "n_layers": 2, "n_heads": 2, "d_ff": 128},
                      data={"n_train": 20000, "n_val": 200},
                      train={"max_steps": 300, "batch_size": 128, "eval_interval": 100},
                      optim={"lr": 3e-3, "warmup_steps": 20},
                      eval={"enabled": True, "tasks": ["anchor_seen"], "limit": 200, "every": 100,
                            "every_tasks": ["anchor_seen"]})
    record = execute(plan(cfg, out, "r", None, False), progress=False)
    return out / "r", record


def test_a_trained_model_beats_chance_and_the_record_holds_the_scores(trained):
    run_dir, record = trained
    seen = record["eval"]["anchor_seen"]
    assert seen["n"] == 200 and seen["chance"] == pytest.approx(1 / 106)
    # 200 documents at chance 1/106 give ≤ 0.04 with overwhelming probability; trained, far more.
    assert seen["acc"] > 0.1
    assert seen["normalized"] == pytest.approx((seen["acc"] - seen["chance"]) / (1 - seen["chance"]))
    assert [e["step"] for e in record["train"]["eval_curve"]] == [100, 200, 300]
    assert record["train"]["eval_curve"][-1]["anchor_seen"]["acc"] == seen["acc"]  # same model, same docs
    assert record["evaluation"]["wall_s"] > 0
    assert record["evaluation"]["tasks"]["anchor_seen"]["protocol"] == "quick"
    # The per-document outputs next to the record agree with its score.
    docs = read_docs(run_dir)["tasks"]["anchor_seen"]
    assert docs["doc_id"] == list(range(200))
    assert sum(docs["metrics"]["acc"]) / 200 == pytest.approx(seen["acc"])
    assert all(b >= g for b, g in zip(docs["best_ll"], docs["gold_ll"], strict=True))


def test_bench_eval_scores_a_run_and_updates_its_record(trained, cli):
    run_dir, record = trained
    code, out, _ = cli("eval", run_dir, "--tasks", "anchor_seen,anchor_unseen", "--limit", "200",
                       "--update-record")
    assert code == 0 and "| anchor_unseen | acc_inferential |" in out
    updated = json.loads((run_dir / "record.json").read_text())
    assert updated["eval"]["anchor_seen"] == record["eval"]["anchor_seen"]  # deterministic scoring
    assert set(updated["eval"]["anchor_unseen"]) >= {"acc_inferential", "acc_symmetric"}


def test_update_record_merges_per_task_with_provenance_and_history(trained, cli, monkeypatch):
    run_dir, record = trained
    before = json.loads((run_dir / "record.json").read_text())
    argv = ["eval", str(run_dir), "--tasks", "anchor_unseen", "--limit", "50", "--seed", "7",
            "--update-record"]
    monkeypatch.setattr(sys, "argv", ["bench", *argv])  # the history logs the process's command line
    code, _, err = cli(*argv)
    assert code == 0, err
    after = json.loads((run_dir / "record.json").read_text())
    # Scored before and not now: kept, scores and provenance (the run's limit 200, seed 1234).
    assert after["eval"]["anchor_seen"] == record["eval"]["anchor_seen"]
    assert after["evaluation"]["tasks"]["anchor_seen"] == before["evaluation"]["tasks"]["anchor_seen"]
    assert after["evaluation"]["tasks"]["anchor_seen"]["limit"] == 200
    prov = after["evaluation"]["tasks"]["anchor_unseen"]
    assert (prov["limit"], prov["documents"], prov["seed"], prov["batch_size"]) == (50, 50, 7, 64)
    assert prov["lm_eval"] and prov["git_hash"] and prov["scored_at"]
    assert after["eval"]["anchor_unseen"]["n"] == 50
    # Nothing outside the scores changed.
    assert {k: v for k, v in after.items() if k not in ("eval", "evaluation")} == \
        {k: v for k, v in before.items() if k not in ("eval", "evaluation")}
    history = [json.loads(line) for line in (run_dir / "record_history.jsonl").read_text().splitlines()]
    assert history[0]["action"] == "create"
    last = history[-1]
    assert last["action"] == "update" and last["command"] == ["bench", *argv]
    assert "eval.anchor_unseen" in last["changed"] and "eval.anchor_seen" not in last["changed"]
    # The per-document outputs merge task by task too.
    docs = read_docs(run_dir)["tasks"]
    assert len(docs["anchor_unseen"]["doc_id"]) == 50 and len(docs["anchor_seen"]["doc_id"]) == 200


def test_full_scores_the_powered_protocol(trained, cli):
    run_dir, _ = trained
    code, _, err = cli("eval", run_dir, "--tasks", "deduction", "--full", "--limit", "10")
    assert code == 2 and "cannot be combined with --limit" in err
    # deduction: two one-token choices per document, the cheapest whole split.
    code, out, err = cli("eval", run_dir, "--tasks", "deduction", "--full", "--update-record")
    assert code == 0, err
    assert "powered protocol" in out
    after = json.loads((run_dir / "record.json").read_text())
    prov = after["evaluation"]["tasks"]["deduction"]
    assert (prov["limit"], prov["protocol"], prov["subset_seed"]) == (None, "powered", None)  # whole split
    assert prov["documents"] == prov["split_documents"] == after["eval"]["deduction"]["n"] >= 500
    assert len(read_docs(run_dir)["tasks"]["deduction"]["doc_id"]) == prov["documents"]


def test_lm_eval_cli_through_the_launcher(trained, cli, tmp_path):
    run_dir, record = trained
    code, _, _ = cli("lm-eval", "--model", "bench", "--model_args", f"run={run_dir}", "--tasks",
                     "anchor_seen", "--limit", "200", "--output_path", tmp_path / "out")
    assert code == 0
    (result,) = tmp_path.glob("out/**/results_*.json")
    acc = json.loads(result.read_text())["results"]["anchor_seen"]["acc,none"]
    assert acc == record["eval"]["anchor_seen"]["acc"]


@pytest.mark.parametrize("argv, message", [
    (["eval", "{missing}"], "does not exist"),
    (["eval", "{no_model}"], "model.pt"),
    (["eval", "{run}", "--tasks", "no_such_task"], "unknown task"),
    (["eval"], "run directory"),
])
def test_eval_bad_input(trained, cli, tmp_path, argv, message):
    (tmp_path / "empty").mkdir()
    fill = {"missing": tmp_path / "nope", "no_model": tmp_path / "empty", "run": trained[0]}
    code, _, err = cli(*[a.format(**fill) for a in argv])
    assert code == 2 and message in err and err.strip().count("\n") == 0, err
