"""The per-cell LR protocol of `bench sweep` (docs/protocol.md): the default grid, the edge extension, the
selection rule, resuming a search, and trials that skip what only the finished model needs."""

import json
import signal

import pytest
from test_sweep import fake_child, planned, records
from tinyconfig import TINY_FLAGS

from bench.core.files import torch_load, torch_save
from bench.sweep import execute, lr_search


def rec(loss, status="ok"):
    return {"status": status, "train": {"best_val_loss": loss}}


def sweep_of(out, *argv):
    # One child at a time: these tests assert the order in which runs start, which is the plan's order only
    # without concurrency (the default runs one child per CPU core at once).
    return ["sweep", "--methods", "normal", "--out", out, "--name", "s", "--jobs", "1", *TINY_FLAGS, *argv]


def search_in(out, run_id):
    return json.loads((out / run_id / "record.json").read_text())["sweep"]["lr_search"]


def by_lr(losses, diverge=(), fail=()):
    """A fake child whose loss is `losses(lr)`; LRs in `diverge` diverge, those in `fail` crash."""
    def loss(run):
        return losses(run.lr)
    child, calls = fake_child(loss=loss, diverge={f"normal-nano-seed0-lr{lr:g}" for lr in diverge},
                              fail={f"normal-nano-seed0-lr{lr:g}" for lr in fail})
    return child, calls


def test_the_default_grid_is_four_lrs_around_the_cells_own_lr():
    assert lr_search.default_grid(3e-3) == [3.3e-4, 1e-3, 3e-3, 9e-3]
    assert lr_search.default_grid(1e-3) == [1.1e-4, 3.3e-4, 1e-3, 3e-3]
    # Without --lrs every cell searches; the grid follows the LR its config sets (TINY: 1e-2).
    s = planned("--baselines", "baselines/wesar.toml,baselines/normal.toml", "--seeds", "2", *TINY_FLAGS)
    first = [r.id for r in s.candidates if r.trial]
    assert first == [f"{label}-nano-seed0-lr{lr}" for label in ("wesar", "normal")
                     for lr in ("0.0011", "0.0033", "0.01", "0.03")]
    assert all(r.cfg.optim.lr == r.lr for r in s.candidates)
    s = planned("--methods", "normal", *TINY_FLAGS, "--set=optim.lr=3e-3")
    assert [r.lr for r in s.candidates] == [3.3e-4, 1e-3, 3e-3, 9e-3]


def test_a_fixed_lr_is_recorded_as_not_tuned(tmp_path, cli, monkeypatch):
    child, calls = fake_child()
    monkeypatch.setattr(execute, "run_child", child)
    for argv, run_id in [(["--lrs", "2e-3"], "normal-nano-seed0-lr0.002"), (["--lr-grid", "off"],
                                                                            "normal-nano-seed0")]:
        out = tmp_path / argv[0]
        code, stdout, _ = cli(*sweep_of(out, *argv))
        assert code == 0 and "LR search" not in stdout and calls[-1] == run_id
        record = json.loads((out / run_id / "record.json").read_text())
        assert record["sweep"]["lr_search"] is None and json.loads((out / "sweep.json").read_text())[
            "lr_search"] is None


def test_selection_rule_ties_diverged_and_failed_runs():
    assert lr_search.choose_lr({1e-3: rec(2.0), 3e-3: rec(1.5), 1e-2: rec(0.5, "diverged"), 3e-2: None,
                                1e-1: rec(None), 3e-1: rec(float("nan"))}) == 3e-3
    assert lr_search.choose_lr({3e-3: rec(1.0), 1e-3: rec(1.0), 1e-2: rec(1.0)}) == 1e-3  # tie: smaller
    assert lr_search.choose_lr({1e-3: rec(0.1, "diverged"), 1e-2: None}) is None
    assert lr_search.edge([1e-3, 3e-3], 1e-3) == "low" and lr_search.edge([1e-3, 3e-3], 3e-3) == "high"
    assert lr_search.edge([1e-3, 3e-3, 1e-2], 3e-3) is None and lr_search.edge([1e-3], 1e-3) is None
    assert lr_search.next_lr([3.3e-4, 1e-3, 3e-3, 9e-3], [3.3e-4, 1e-3, 3e-3, 9e-3], "high") == 2.7e-2
    assert lr_search.next_lr([3.3e-4, 1e-3, 3e-3, 9e-3], [1.09e-4, 3.3e-4, 9e-3], "low") == 3.6e-5
    assert lr_search.next_lr([1e-3, 1e-2], [1e-3, 1e-2], "low") == 1e-4


def test_the_selection_reads_each_trials_loss_as_the_search_ranked_it():
    """A chosen trial retrained on another machine (completion without its checkpoint) ends at another
    loss; the loss stamped into its record when the search decided keeps the choice."""
    def stamped(run_id, trained, searched):
        r = {**rec(trained), "run_id": run_id}
        r["sweep"] = {"lr_search": {"trials": [{"lr": 9.0, "run_id": "other", "best_val_loss": 0.1},
                                               {"lr": 1.0, "run_id": run_id, "best_val_loss": searched}]}}
        return r
    retrained = stamped("a-lr0.003", trained=4.7704, searched=4.7606)
    records = {1e-3: rec(4.8041), 3e-3: retrained, 9e-3: rec(4.7665)}
    assert lr_search.loss_of(retrained) == 4.7606 and lr_search.choose_lr(records) == 3e-3
    assert lr_search.choose_lr({3e-3: rec(4.7704), 9e-3: rec(4.7665)}) == 9e-3  # without the stamp
    search = lr_search.CellSearch("c", "gamma", [1e-3, 3e-3], 3, extended=[9e-3], records=records,
                                  run_ids={1e-3: "a-lr0.001", 3e-3: "a-lr0.003", 9e-3: "a-lr0.009"})
    assert [t["best_val_loss"] for t in search.outcome()["trials"]] == [4.8041, 4.7606, 4.7665]
    assert search.outcome()["chosen"] == 3e-3 and search.outcome()["interior"]


def test_best_at_the_upper_edge_adds_one_lr_above(tmp_path, cli, monkeypatch):
    out = tmp_path / "up"
    losses = {1e-3: 3.0, 3e-3: 2.0, 1e-2: 1.0, 3.33e-2: 1.5}  # a step continues the edge's ratio
    child, calls = by_lr(losses.get)
    monkeypatch.setattr(execute, "run_child", child)
    code, stdout, _ = cli(*sweep_of(out, "--lrs", "1e-3,3e-3,1e-2", "--seeds", "2"))
    assert code == 0 and calls == [*(f"normal-nano-seed0-lr{lr:g}" for lr in losses),
                                   "normal-nano-seed0-lr0.01", "normal-nano-seed1-lr0.01"]
    assert "chosen 0.01 of 0.001, 0.003, 0.01, 0.0333 (interior, extended by 0.0333" in stdout
    search = search_in(out, "normal-nano-seed1-lr0.01")
    assert search["grid"] == [1e-3, 3e-3, 1e-2, 3.33e-2] and search["extended"] == [3.33e-2]
    assert search["interior"] is True and search["selected"] is True
    assert [t["lr"] for t in search["trials"]] == search["grid"]
    assert search_in(out, "normal-nano-seed0-lr0.0333") == {**search, "selected": False}


def test_best_at_the_lower_edge_adds_one_lr_below_and_a_diverged_one_is_worst(tmp_path, cli, monkeypatch):
    out = tmp_path / "down"
    # The default grid around TINY's 1e-2: the lowest LR wins, the one below it diverges with a lower
    # loss (which never counts), so the winner becomes interior after one extension.
    losses = {1.1e-3: 1.0, 3.3e-3: 2.0, 1e-2: 3.0, 3e-2: 4.0, 3.67e-4: 0.1}
    child, calls = by_lr(losses.get, diverge=[3.67e-4])
    monkeypatch.setattr(execute, "run_child", child)
    assert cli(*sweep_of(out))[0] == 0 and calls[4] == "normal-nano-seed0-lr0.000367" and len(calls) == 6
    search = search_in(out, "normal-nano-seed0-lr0.0011")
    assert search["chosen"] == 1.1e-3 and search["extended"] == [3.67e-4] and search["interior"] is True
    assert search["trials"][0] == {"lr": 3.67e-4, "run_id": "normal-nano-seed0-lr0.000367",
                                   "status": "diverged", "best_val_loss": 0.1}
    assert search["rule"] == lr_search.rule(3) and "first init seed" in search["rule"]


def test_extension_stops_at_the_maximum_and_records_an_edge(tmp_path, cli, monkeypatch):
    out = tmp_path / "edge"
    child, calls = by_lr(lambda lr: lr, fail=[1e-3])  # lower is always better; a failed run never wins
    monkeypatch.setattr(execute, "run_child", child)
    code, stdout, _ = cli(*sweep_of(out, "--lrs", "1e-3,1e-2,1e-1", "--lr-extensions", "2", "--seeds", "2"))
    # 1e-3 failed: it ranks last, so 1e-2 wins and is interior; its trial is completed, then seed 1 runs.
    assert code == 1 and calls[3:] == ["normal-nano-seed0-lr0.01", "normal-nano-seed1-lr0.01"]
    assert "chosen 0.01 of 0.001, 0.01, 0.1 (interior; by best_val_loss)" in stdout
    out = tmp_path / "edge2"
    child, calls = by_lr(lambda lr: lr)
    monkeypatch.setattr(execute, "run_child", child)
    code, stdout, _ = cli(*sweep_of(out, "--lrs", "1e-3,1e-2,1e-1", "--lr-extensions", "2", "--seeds", "2"))
    assert code == 0 and calls[3:5] == ["normal-nano-seed0-lr0.0001", "normal-nano-seed0-lr1e-05"]
    assert "chosen 1e-05 of 1e-05, 0.0001, 0.001, 0.01, 0.1 (AT AN EDGE" in stdout
    search = search_in(out, "normal-nano-seed1-lr1e-05")
    assert search["interior"] is False and search["extended"] == [1e-4, 1e-5] and search["chosen"] == 1e-5
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["lr_search"]["normal-nano"] == {"label": "normal", **{k: v for k, v in search.items()
                                                                         if k != "selected"}}


def test_an_interrupted_search_resumes_with_the_same_decisions(tmp_path, cli, monkeypatch):
    argv = ["--lrs", "1e-3,3e-3", "--seeds", "2"]
    losses = {1e-3: 3.0, 3e-3: 2.0, 9e-3: 2.5}
    monkeypatch.setattr(execute, "run_child", by_lr(losses.get)[0])
    assert cli(*sweep_of(tmp_path / "whole", *argv))[0] == 0

    cut = tmp_path / "cut"
    child, calls = by_lr(losses.get)

    def interrupted_at_the_extension(run, out, threads):
        if run.lr == 9e-3:  # Ctrl-C while the extension's trial trains
            execute.stop_children(signal.SIGINT)
            return 130
        return child(run, out, threads)

    monkeypatch.setattr(execute, "run_child", interrupted_at_the_extension)
    code, _, err = cli(*sweep_of(cut, *argv))
    assert code == 130 and "run the same command again to resume" in err
    assert json.loads((cut / "sweep.json").read_text())["lr_search"] is None  # nothing decided yet
    monkeypatch.setattr(execute, "run_child", child)
    code, stdout, err = cli(*sweep_of(cut, *argv))
    assert code == 0 and "skipped (finished: ok)" in err
    assert calls == ["normal-nano-seed0-lr0.001", "normal-nano-seed0-lr0.003", "normal-nano-seed0-lr0.009",
                     "normal-nano-seed0-lr0.003", "normal-nano-seed1-lr0.003"]
    assert records(cut) == records(tmp_path / "whole")
    before = records(cut)
    code, stdout, _ = cli(*sweep_of(cut, *argv))
    assert code == 0 and len(calls) == 5 and "skipped 4" in stdout and records(cut) == before


def test_trials_skip_lm_eval_and_the_chosen_trial_is_completed_by_resuming(tmp_path, cli, monkeypatch):
    out = tmp_path / "eval"
    seen = []
    child, _ = fake_child(loss=lambda run: {1e-3: 2.0, 3e-3: 1.0, 1e-2: 3.0}[run.lr])

    def child_with_checkpoint(run, out, threads):
        cfg = execute.child_config(run)
        seen.append((run.id, cfg.eval.enabled, cfg.probe.tokens, execute.output_args(run, out)[-1]))
        code = child(run, out, threads)
        (out / run.id / "last.pt").write_bytes(b"")  # a finished training keeps its final checkpoint
        return code

    monkeypatch.setattr(execute, "run_child", child_with_checkpoint)
    monkeypatch.setattr(execute, "prepare_data", lambda runs: None)
    argv = sweep_of(out, "--lrs", "1e-3,3e-3,1e-2", "--seeds", "2", "--set=eval.enabled=true",
                    "--eval-tasks", "anchor_seen")
    assert cli(*argv)[0] == 0
    assert seen == [("normal-nano-seed0-lr0.001", False, False, "--no-progress"),
                    ("normal-nano-seed0-lr0.003", False, False, "--no-progress"),
                    ("normal-nano-seed0-lr0.01", False, False, "--no-progress"),
                    ("normal-nano-seed0-lr0.003", True, True, "--resume"),
                    ("normal-nano-seed1-lr0.003", True, True, "--no-progress")]
    chosen, other = (json.loads((out / r / "record.json").read_text())["config"]
                     for r in ("normal-nano-seed0-lr0.003", "normal-nano-seed1-lr0.003"))
    assert {**chosen, "init": None} == {**other, "init": None}  # the same config as the other seeds
    assert cli(*argv)[0] == 0 and len(seen) == 5  # a completed trial is not completed again


def test_a_finished_trial_resumed_with_the_token_probe_trains_nothing_again(tmp_path, cli):
    """How the sweep completes a chosen trial: `run --resume` of a finished training may add what only the
    finished model needs; a checkpoint in mid-training may not change it."""
    args = ["run", *TINY_FLAGS, "--set=probe.every=0", "--set=probe.plots=false",
            "--set=probe.max_tokens=2048", "--max-steps", "4", "--out", tmp_path, "--run-id", "t",
            "--no-progress"]
    assert cli(*args, "--set=probe.tokens=false")[0] == 0
    run_dir = tmp_path / "t"
    trial = json.loads((run_dir / "record.json").read_text())
    code, _, err = cli(*args, "--set=probe.tokens=true", "--resume")
    assert code == 0, err
    done = json.loads((run_dir / "record.json").read_text())
    assert done["probes"]["tokens"] and not trial["probes"]["tokens"]
    assert done["config"] == {**trial["config"], "probe": {**trial["config"]["probe"], "tokens": True}}
    machine = {"wall_s", "tokens_per_s", "mfu", "peak_flops", "peak_source"}
    assert {k: v for k, v in done["train"].items() if k not in machine} == \
        {k: v for k, v in trial["train"].items() if k not in machine}
    steps = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").open()]
    assert len(steps) == len(set(steps))  # no step trained twice
    history = [json.loads(line) for line in (run_dir / "record_history.jsonl").open()]
    assert [h["action"] for h in history] == ["create", "update"]  # the completion replaces the record

    ckpt = torch_load(run_dir / "last.pt")
    ckpt["state"]["step"] = 2  # as if interrupted in mid-training
    torch_save(run_dir / "last.pt", ckpt)
    code, _, err = cli(*args, "--set=probe.tokens=true", "--resume")  # the checkpoint's config has false
    assert code == 2 and "changes probe.tokens" in err



def test_a_finished_training_with_periodic_scoring_is_completed_but_never_given_its_scores(tmp_path, cli):
    """A config with eval.every keeps its periodic scoring in its trials (trial_config), so completing the
    chosen trial adds only the token probe; a training that ran without scoring cannot be given it by a
    resume, since its periodic scores were never taken."""
    args = ["run", *TINY_FLAGS, "--set=probe.every=0", "--set=probe.plots=false", "--set=eval.every=2",
            "--set=probe.max_tokens=2048", "--max-steps", "4", "--out", tmp_path, "--run-id", "t",
            "--no-progress", "--set=eval.enabled=false", "--eval-tasks", "anchor_seen"]  # synthetic: no fetch
    assert cli(*args, "--set=probe.tokens=false")[0] == 0
    code, _, err = cli(*args, "--set=probe.tokens=true", "--resume")
    assert code == 0, err
    assert json.loads((tmp_path / "t" / "record.json").read_text())["probes"]["tokens"]
    code, _, err = cli(*args, "--set=probe.tokens=true", "--set=eval.enabled=true", "--resume")
    assert code == 2 and "changes eval.enabled" in err and err.count("\n") == 1


BAD = {
    "lrs-and-off": (["--lrs", "1e-3,1e-2", "--lr-grid", "off"], "--lr-grid off"),
    "no-lr": (["--lrs", ","], "--lrs"),
    "non-positive-lr": (["--lrs=-1e-3,1e-3"], "optim.lr"),
    "unknown-protocol": (["--lr-grid", "sometimes"], "--lr-grid"),
    "negative-extensions": (["--lr-extensions", "-1"], "--lr-extensions"),
    "lr-axis-and-search": (["--grid", "optim.lr=1e-3,1e-2"], "--lr-grid off"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_protocol_input_is_one_line_exit_2(tmp_path, cli, case):
    argv, message = BAD[case]
    out = tmp_path / "runs"
    code, _, err = cli("sweep", "--methods", "normal", "--out", out, *argv, *TINY_FLAGS)
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert not out.exists()
