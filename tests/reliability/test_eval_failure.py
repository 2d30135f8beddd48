"""Scoring that fails after training: the record keeps the training results and names the error, the
command exits 2 with one line, and `bench eval --update-record` completes the record later."""

import json

from tinyconfig import TINY_FLAGS

from bench.record.schema import attach_scores
from bench.run import pipeline


def test_failed_scoring_keeps_the_record_and_eval_update_completes_it(tmp_path, cli, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("harness exploded\nsecond line of detail")

    monkeypatch.setattr(pipeline, "score", broken)
    out = tmp_path / "runs"
    code, _, err = cli("run", "--method", "normal", "--max-steps", "20", "--no-progress", *TINY_FLAGS,
                       "--set=probe.plots=false", "--eval", "--eval-tasks", "anchor_seen", "--eval-limit",
                       "20", "--out", out, "--run-id", "r")
    assert code == 2, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "RuntimeError: harness exploded" in errors[0]
    assert "--update-record" in errors[0] and "Traceback" not in err and "second line" not in err
    record = json.loads((out / "r" / "record.json").read_text())
    assert record["status"] == "ok" and record["train"]["steps"] == 20
    assert record["eval"] == {} and record["groups"] == {}
    assert record["evaluation"] == {"error": "RuntimeError: harness exploded", "error_tasks": ["anchor_seen"]}

    code, _, err = cli("eval", out / "r", "--tasks", "anchor_seen", "--limit", "20", "--update-record")
    assert code == 0, err
    done = json.loads((out / "r" / "record.json").read_text())
    assert done["eval"]["anchor_seen"]["n"] == 20
    assert "error" not in done["evaluation"] and "error_tasks" not in done["evaluation"]
    assert done["evaluation"]["tasks"]["anchor_seen"]["limit"] == 20
    assert {k: v for k, v in done.items() if k not in ("eval", "evaluation")} == \
        {k: v for k, v in record.items() if k not in ("eval", "evaluation")}


def test_the_error_stays_until_every_task_it_names_is_scored():
    record = {"eval": {}, "groups": {}, "evaluation": {"error": "E: x", "error_tasks": ["a", "grp"]}}
    attach_scores(record, {"tasks": {"a": {"n": 1}}, "groups": {}})
    assert record["evaluation"]["error"] == "E: x"  # the group is still unscored
    attach_scores(record, {"tasks": {"b": {"n": 1}}, "groups": {"grp": {"n": 1}}})
    assert "error" not in record["evaluation"] and "error_tasks" not in record["evaluation"]
