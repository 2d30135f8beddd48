import json
import subprocess
import sys
from types import SimpleNamespace

import pytest
from tinyconfig import TINY_FLAGS

from bench.cli.main import build_parser
from bench.cli.run import run_config
from bench.core.errors import BenchError
from bench.core.files import write_json
from bench.sweep import execute, grid, lr_search

# Tiny runs without probes: each real child trains for a second or two.
FAST = [*TINY_FLAGS, "--set=probe.every=0", "--set=probe.tokens=false", "--set=probe.plots=false",
        "--max-steps", "4"]
# One fixed LR per run: these tests are about the grid and its execution (tests/sweep/test_lr_search.py has
# the LR protocol).
OFF = ["--lr-grid", "off"]
# Fields that measure the machine, not the run.
TIMING = {"wall_s", "tokens_per_s", "mfu", "peak_flops", "peak_source"}


def planned(*argv):
    return execute.build_sweep(build_parser().parse_args(["sweep", *map(str, argv)]))


def records(out):
    return {p.parent.name: p.read_bytes() for p in sorted(out.glob("*/record.json"))}


def fake_child(fail=(), diverge=(), loss=lambda run: 2.0):
    """Stands in for `run_child`: writes a hand-made record (or fails) without training."""
    calls = []

    def run_child(run, out, threads):
        calls.append(run.id)
        if run.id in fail:
            execute.log_path(out, run).write_text("training...\nerror: injected failure\n")
            return 3
        write_json(out / run.id / "record.json", {
            "status": "diverged" if run.id in diverge else "ok", "run_id": run.id,
            "config": execute.child_config(run).to_dict(),
            "train": {"best_val_loss": loss(run), "wall_s": 1.0}})
        return 0
    return run_child, calls


def test_ranges_are_inclusive_and_float_safe():
    assert grid.parse_range("0.3:1.2:0.1", "--gamma") == [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2]
    assert grid.parse_range("2:4:1", "x") == [2, 3, 4] and grid.parse_range("0.5", "x") is None
    assert grid.parse_range("0:1:0.4", "x") == [0.0, 0.4, 0.8]
    assert grid.numbers("1e-3, 3e-3", "--lrs") == [1e-3, 3e-3]
    assert grid.grid_axis("model.n_layers=2:4:1") == ("model.n_layers", ["2", "3", "4"])
    assert grid.grid_axis("model.norm_eps=1e-5,1e-12") == ("model.norm_eps", ["1e-5", "1e-12"])
    for text in ("1.2:0.3:0.1", "0:1:0", "a:b:c", "1:2", "0:inf:1"):
        with pytest.raises(BenchError):
            grid.numbers(text, "--gamma")
    with pytest.raises(BenchError, match="distinct"):
        grid.numbers("0.5,0.5", "--gamma")


def test_grid_expands_into_readable_ids_and_configs():
    s = planned("--methods", "gamma,normal", "--gamma", "0.5,1.0", "--grid", "model.n_layers=1,2",
                "--seeds", "2", *OFF, *TINY_FLAGS)
    ids = [r.id for r in s.candidates]
    assert ids == [f"{label}-nano-n_layers{d}-seed{seed}" for label in ("gamma-0.5", "gamma-1.0", "normal")
                   for d in (1, 2) for seed in (0, 1)]
    for run in s.candidates:
        assert run.cfg.model.n_layers == run.axes["model.n_layers"] and run.cfg.init.seed == run.seed
        assert run.cfg.data.seed == 0  # every scheme and seed sees the same data order
        assert run.label == ("normal" if run.cfg.init.method == "normal" else f"gamma-{run.cfg.init.gamma}")
    toml = planned("--baselines", "all", "--lrs", "1e-3,1e-2", *TINY_FLAGS)
    assert {r.label for r in toml.candidates} >= {"megatron", "gamma-0.5", "wesar"}
    assert "megatron-nano-seed0-lr0.01" in {r.id for r in toml.candidates}


def test_dry_run_prints_the_plan_and_creates_nothing(tmp_path, cli):
    out = tmp_path / "runs"
    code, stdout, _ = cli("sweep", "--methods", "gamma", "--gamma", "0.3:1.2:0.1", "--out", out,
                          "--dry-run", *OFF, *TINY_FLAGS)
    assert code == 0 and not out.exists()
    lines = [line for line in stdout.splitlines() if line.startswith("gamma-")]
    assert len(lines) == 10 and "python -m bench run" in lines[0]
    assert "--run-id gamma-0.3-nano-seed0" in lines[0] and "--run-id gamma-1.2-nano-seed0" in lines[-1]


def test_choose_lr_takes_the_lowest_validation_loss_of_finished_runs():
    def rec(loss, status="ok"):
        return {"status": status, "train": {"best_val_loss": loss}}

    assert lr_search.choose_lr({1e-3: rec(2.0), 3e-3: rec(1.5), 1e-2: rec(0.5, "diverged"), 3e-2: None,
                                1e-1: rec(None)}) == 3e-3
    assert lr_search.choose_lr({1e-3: rec(1.0), 1e-4: rec(1.0)}) == 1e-4
    assert lr_search.choose_lr({1e-3: rec(0.1, "diverged"), 1e-2: None}) is None


def test_a_failing_run_never_stops_the_sweep_and_a_rerun_resumes(tmp_path, cli, monkeypatch):
    out = tmp_path / "runs"
    argv = ["sweep", "--methods", "normal,zero", "--seeds", "2", "--jobs", "2", "--out", out, "--name", "t",
            *OFF, *TINY_FLAGS]
    child, calls = fake_child(fail={"normal-nano-seed1"}, diverge={"zero-nano-seed0"})
    monkeypatch.setattr(execute, "run_child", child)
    code, stdout, err = cli(*argv)
    assert code == 1 and sorted(calls) == ["normal-nano-seed0", "normal-nano-seed1", "zero-nano-seed0",
                                           "zero-nano-seed1"]
    assert "ok 2 | diverged 1 | failed 1 | skipped 0" in stdout
    log = out / "normal-nano-seed1.log"
    assert f"failed: normal-nano-seed1 (exit 3): error: injected failure | log {log}" in stdout
    assert "] normal-nano-seed1 ... FAILED (exit 3)" in err and "[4/4]" in err
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["name"] == "t" and manifest["counts"]["failed"] == 1
    assert {r["id"]: r["status"] for r in manifest["runs"]}["zero-nano-seed0"] == "diverged"
    record = json.loads((out / "zero-nano-seed0" / "record.json").read_text())
    assert record["sweep"] == {"name": "t", "label": "zero", "lr_search": None}

    wall = {r["id"]: r["wall_s"] for r in manifest["runs"]}
    assert all(isinstance(w, float) and w > 0 for w in wall.values())

    # The rerun executes only the failed run, then nothing at all; finished records stay byte-identical,
    # and the manifest keeps the wall time each skipped run took when it ran.
    child, calls = fake_child()
    monkeypatch.setattr(execute, "run_child", child)
    before = records(out)
    code, stdout, err = cli(*argv)
    assert code == 0 and calls == ["normal-nano-seed1"] and "skipped 3" in stdout
    assert "normal-nano-seed0 ... skipped (finished: ok)" in err
    assert {k: v for k, v in records(out).items() if k != "normal-nano-seed1"} == before
    runs = {r["id"]: r for r in json.loads((out / "sweep.json").read_text())["runs"]}
    assert {k: r["wall_s"] for k, r in runs.items() if r["skipped"]} == \
        {k: w for k, w in wall.items() if k != "normal-nano-seed1"}
    assert not runs["normal-nano-seed1"]["skipped"] and runs["normal-nano-seed1"]["wall_s"] > 0
    wall = {k: r["wall_s"] for k, r in runs.items()}
    before = records(out)
    code, stdout, _ = cli(*argv)
    assert code == 0 and calls == ["normal-nano-seed1"] and "skipped 4" in stdout and records(out) == before
    assert {r["id"]: r["wall_s"] for r in json.loads((out / "sweep.json").read_text())["runs"]} == wall


def test_a_finished_run_of_another_config_is_refused(tmp_path, cli, monkeypatch):
    out = tmp_path / "runs"
    monkeypatch.setattr(execute, "run_child", fake_child()[0])
    assert cli("sweep", "--methods", "normal", "--out", out, *OFF, *TINY_FLAGS)[0] == 0
    code, _, err = cli("sweep", "--methods", "normal", "--out", out, "--max-steps", "7", *OFF, *TINY_FLAGS)
    assert code == 2 and "different train.max_steps" in err and err.count("\n") == 1


def test_lr_search_runs_the_other_seeds_at_the_best_lr(tmp_path, cli, monkeypatch):
    out = tmp_path / "runs"
    losses = {1e-3: 3.0, 3e-3: 2.0, 1e-2: 1.0}
    child, calls = fake_child(diverge={"normal-nano-seed0-lr0.01"}, loss=lambda run: losses[run.lr])
    monkeypatch.setattr(execute, "run_child", child)
    argv = ["sweep", "--methods", "normal", "--lrs", "1e-3,3e-3,1e-2", "--seeds", "3", "--out", out,
            "--name", "lr", *TINY_FLAGS]
    code, stdout, _ = cli(*argv)
    assert code == 0 and "LR search normal-nano: chosen 0.003 of 0.001, 0.003, 0.01" in stdout
    # The chosen trial trained without the token probe (TINY's eval is off anyway) and is completed first.
    assert calls[3:] == ["normal-nano-seed0-lr0.003", "normal-nano-seed1-lr0.003",
                         "normal-nano-seed2-lr0.003"]
    # 3e-3 is interior: the diverged 1e-2 above it counts as the worst loss.
    search = {"grid": [1e-3, 3e-3, 1e-2], "chosen": 3e-3, "by": "best_val_loss", "interior": True,
              "extended": [], "rule": lr_search.rule(3),
              "trials": [{"lr": lr, "run_id": f"normal-nano-seed0-lr{lr:g}", "status": status,
                          "best_val_loss": losses[lr]}
                         for lr, status in [(1e-3, "ok"), (3e-3, "ok"), (1e-2, "diverged")]]}
    for run_id, selected in [("normal-nano-seed0-lr0.001", False), ("normal-nano-seed0-lr0.003", True),
                             ("normal-nano-seed0-lr0.01", False), ("normal-nano-seed2-lr0.003", True)]:
        record = json.loads((out / run_id / "record.json").read_text())
        assert record["sweep"] == {"name": "lr", "label": "normal",
                                   "lr_search": {**search, "selected": selected}}
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["lr_search"]["normal-nano"] == {"label": "normal", **search}
    assert len(manifest["runs"]) == 5
    before = records(out)
    assert cli(*argv)[0] == 0 and len(calls) == 6 and records(out) == before


def test_child_command_resumes_a_checkpoint_and_restarts_leftovers(tmp_path):
    (run,) = planned("--methods", "normal", *OFF, *TINY_FLAGS).candidates
    assert execute.child_command(run, tmp_path)[-1] == "--no-progress"
    (tmp_path / run.id).mkdir()
    assert execute.child_command(run, tmp_path)[-1] == "--overwrite"
    (tmp_path / run.id / "last.pt").write_bytes(b"")
    assert execute.child_command(run, tmp_path)[-1] == "--resume"


BAD = {
    "unknown-method": (["--methods", "lecun"], "unknown init method"),
    "bad-range": (["--methods", "gamma", "--gamma", "0.3:x:0.1"], "START:STOP:STEP"),
    "empty-range": (["--methods", "gamma", "--gamma", "1.2:0.3:0.1"], "STOP >= START"),
    "gamma-needs-method": (["--methods", "normal", "--gamma", "0.5"], "--gamma"),
    "missing-toml": (["--baselines", "missing.toml"], "does not exist"),
    "empty-glob": (["--baselines", "nowhere/*.toml"], "matches no file"),
    "jobs-0": (["--methods", "normal", "--jobs", "0"], "--jobs"),
    "seeds-0": (["--methods", "normal", "--seeds", "0"], "--seeds"),
    "bad-grid-key": (["--methods", "normal", "--grid", "model.width=1,2"], "unknown key model.width"),
    "bad-grid-form": (["--methods", "normal", "--grid", "n_layers=2"], "SECTION.KEY"),
    "bad-grid-value": (["--methods", "normal", "--grid", "model.n_layers=2,x"], "integer"),
    "grid-over-seed": (["--methods", "normal", "--grid", "init.seed=1,2"], "--seeds"),
    "bad-lr": (["--methods", "normal", "--lrs", "0,1e-3"], "optim.lr"),
    "twice": (["--methods", "gamma,gamma", "--gamma", "0.5"], "more than once"),
    "device": (["--methods", "normal", "--device", "tpu"], "device"),
    "nothing": ([], "nothing to run"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_input_is_one_line_exit_2_before_any_run(tmp_path, cli, case):
    argv, message = BAD[case]
    out = tmp_path / "runs"
    code, _, err = cli("sweep", "--out", out, *argv)
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert not out.exists()


def comparable(record):
    return {**record, "env": None, "train": {k: v for k, v in record["train"].items() if k not in TIMING}}


def test_end_to_end_parallel_equals_sequential_and_rerun_skips(tmp_path, cli):
    grid = ["sweep", "--methods", "gamma", "--gamma", "0.5,1.0", "--name", "e2e", *OFF, *FAST]
    code, stdout, err = cli(*grid, "--jobs", "2", "--out", tmp_path / "a")
    assert code == 0 and "ok 2 |" in stdout, err
    assert cli(*grid, "--jobs", "1", "--out", tmp_path / "b")[0] == 0
    a, b = records(tmp_path / "a"), records(tmp_path / "b")
    assert list(a) == ["gamma-0.5-nano-seed0", "gamma-1.0-nano-seed0"] and list(b) == list(a)
    for run_id in a:
        ra, rb = json.loads(a[run_id]), json.loads(b[run_id])
        assert ra["status"] == "ok" and ra["sweep"] == {"name": "e2e", "label": run_id[:9], "lr_search": None}
        assert comparable(ra) == comparable(rb)
    code, stdout, _ = cli(*grid, "--jobs", "2", "--out", tmp_path / "a")
    assert code == 0 and "ok 0 | diverged 0 | failed 0 | skipped 2" in stdout
    assert records(tmp_path / "a") == a


def test_end_to_end_lr_search_and_a_failing_child(tmp_path, cli):
    out = tmp_path / "runs"
    # vocab_size 5 passes every up-front check but fails in the child once the data is known, so that
    # cell has no usable LR; the other cell runs seed 1 at its best LR.
    code, stdout, _ = cli("sweep", "--methods", "normal", "--grid", "model.vocab_size=0,5",
                          "--lrs", "1e-4,1e-2", "--lr-extensions", "0", "--seeds", "2", "--jobs", "2",
                          "--out", out, *FAST)
    assert code == 1 and "ok 3 | diverged 0 | failed 2 | skipped 0 (finished earlier) | not run 1" in stdout
    failed = "normal-nano-vocab_size5-seed0-lr0.0001"
    assert f"failed: {failed} (exit 2): error: model.vocab_size 5 is smaller" in stdout
    assert "smaller than the corpus" in (out / f"{failed}.log").read_text()
    assert "LR search normal-nano-vocab_size5: chosen none" in stdout
    found = {k: json.loads(v) for k, v in records(out).items()}
    assert all("vocab_size0" in run_id for run_id in found) and len(found) == 3
    trials = {r["config"]["optim"]["lr"]: r["train"]["best_val_loss"]
              for run_id, r in found.items() if "seed0" in run_id}
    best = min(trials, key=trials.get)
    assert f"LR search normal-nano-vocab_size0: chosen {best:g}" in stdout
    (second,) = [r for run_id, r in found.items() if "seed1" in run_id]
    assert second["config"]["optim"]["lr"] == best and second["config"]["init"]["seed"] == 1
    search = second["sweep"]["lr_search"]
    assert {k: search[k] for k in ("grid", "chosen", "selected", "interior", "extended")} == {
        "grid": [1e-4, 1e-2], "chosen": best, "selected": True, "interior": False, "extended": []}


def test_run_id_part_keeps_the_committed_rule():
    assert grid.run_id_part("1e-5") == "1e-5" and grid.run_id_part("+0.5") == "+0.5"
    assert grid.run_id_part("['norm', 'bias']") == "__norm____bias__"


def test_args_in_the_manifest_rebuild_the_planned_config():
    """Each run's `args` (sweep.json) is the equivalent `run` command: it builds the very Config the sweep
    plans, whatever mix of baselines, γ, --grid, --set and pass-through flags made it."""
    s = planned("--baselines", "baselines/megatron.toml", "--methods", "gamma,zero", "--gamma", "0.5,1.0",
                "--grid", "model.norm_eps=1e-5,1e-12", "--grid", "optim.no_decay_roles=['norm'],[]",
                "--seed-list", "3,5", "--lrs", "1e-3,1e-2", "--preset", "nano", "--max-steps", "7",
                "--eval-tasks", "anchor_seen, deduction", "--eval-limit", "9", "--device", "cpu", *TINY_FLAGS)
    assert len(s.candidates) == 4 * 2 * 2 * 2 * 2
    for run in s.candidates:
        assert run_config(build_parser().parse_args(["run", *run.argv])) == run.cfg
    cfg = s.candidates[-1].cfg
    assert cfg.eval.tasks == ["anchor_seen", "deduction"] and cfg.eval.limit == 9 and cfg.train.max_steps == 7
    assert cfg.optim.no_decay_roles == [] and cfg.optim.lr == 1e-2 and cfg.init.seed == 5


def test_each_child_trains_its_planned_config_from_a_file(tmp_path, cli, monkeypatch):
    """The child command is `run --config <out>/<run-id>.config.json` plus output options; that file holds
    the planned Config whole (vocab_size 0, "from the data", included), beside the log."""
    out = tmp_path / "runs"
    argv = ["--methods", "gamma", "--gamma", "0.5,1.0", "--grid", "model.vocab_size=0,300", "--out", out,
            *OFF, *TINY_FLAGS]
    plan = {r.id: r for r in planned(*argv).candidates}
    seen = {}

    def child(command, stdout, stderr, env):
        assert command[:4] == [sys.executable, "-m", "bench", "run"] and env["OMP_NUM_THREADS"]
        args = build_parser().parse_args(command[3:])
        run = plan[args.run_id]
        assert args.config == out / f"{run.id}.config.json" and args.out == out and args.no_progress
        cfg = run_config(args)
        assert cfg == run.cfg and command[4:] == ["--config", str(args.config), "--out", str(out),
                                                  "--run-id", run.id, "--no-progress"]
        seen[run.id] = cfg
        write_json(out / run.id / "record.json", {"status": "ok", "config": cfg.to_dict(),
                                                  "train": {"best_val_loss": 1.0}})
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(execute, "subprocess", fake_subprocess(child))
    monkeypatch.setattr(execute, "prepare_data", lambda runs: None)
    code, stdout, _ = cli("sweep", *argv)
    assert code == 0 and "ok 4 |" in stdout and set(seen) == set(plan)
    assert {cfg.model.vocab_size for cfg in seen.values()} == {0, 300}
    manifest = json.loads((out / "sweep.json").read_text())
    for entry in manifest["runs"]:
        assert entry["config"] == f"{entry['id']}.config.json" and (out / entry["config"]).is_file()
        assert json.loads((out / entry["config"]).read_text()) == plan[entry["id"]].cfg.to_dict()


def fake_subprocess(run):
    """Stands in for the `subprocess` module of execute: its Popen runs `run(command, **kwargs)` (which
    returns a CompletedProcess) at once and waits for nothing."""
    class Popen:
        def __init__(self, command, start_new_session=False, **kwargs):
            self.code = run(command, **kwargs).returncode

        def wait(self):
            return self.code

        def send_signal(self, signum):
            pass

    return SimpleNamespace(Popen=Popen, STDOUT=subprocess.STDOUT)


def test_a_json_child_config_keeps_eval_limit_none(tmp_path, monkeypatch):
    """eval.limit None (every document) survives the config file the child reads."""
    (run,) = planned("--methods", "normal", *OFF, *TINY_FLAGS).candidates
    run.cfg.eval.limit = None  # TOML has no null: a TOML file would drop it and the child get 200

    def exit_5(command, **_):
        return subprocess.CompletedProcess(command, 5)

    monkeypatch.setattr(execute, "subprocess", fake_subprocess(exit_5))
    assert execute.run_child(run, tmp_path, 1) == 5
    args = build_parser().parse_args(execute.child_command(run, tmp_path)[3:])
    assert run_config(args) == run.cfg and run_config(args).eval.limit is None


def test_a_base_config_file_sits_under_every_methods_run(tmp_path, cli):
    base = tmp_path / "base.toml"
    base.write_text('preset = "anchor"\n[optim]\nlr = 2e-3\nweight_decay = 0.5\n[train]\nmax_steps = 7\n')
    s = planned("--config", base, "--methods", "gamma", "--gamma", "0.5,1.0",
                "--set", "optim.weight_decay=0.3", *OFF)
    assert [r.id for r in s.candidates] == ["gamma-0.5-anchor-seed0", "gamma-1.0-anchor-seed0"]
    for run in s.candidates:
        # preset < file < --set < flags, as for `run --config`; the child's argv repeats the file.
        assert run.cfg.preset == "anchor" and run.cfg.train.max_steps == 7 and run.cfg.optim.lr == 2e-3
        assert run.cfg.optim.weight_decay == 0.3 and run.argv[:2] == ["--config", str(base)]
        assert run_config(build_parser().parse_args(["run", *run.argv])) == run.cfg
    code, _, err = cli("sweep", "--config", base, "--baselines", "all", "--out", tmp_path / "x", "--dry-run")
    assert code == 2 and err.count("\n") == 1 and "--config is the base of --methods runs" in err
    assert not (tmp_path / "x").exists()


def test_jobs_default_one_run_per_core_on_the_cpu(monkeypatch):
    monkeypatch.setattr(execute.os, "cpu_count", lambda: 6)
    base = ["--methods", "normal", *OFF, *FAST]
    sweep = planned(*base, "--device", "cpu")
    assert (sweep.jobs, sweep.threads) == (6, 1)
    assert planned(*base, "--device", "cpu", "--jobs", "2").threads == 3
    run = SimpleNamespace(cfg=SimpleNamespace(train=SimpleNamespace(device="cuda")))
    monkeypatch.setattr(execute, "resolve_device", lambda name: SimpleNamespace(type=name))
    assert execute.default_jobs([run], None) == 1  # runs sharing a GPU: one at a time
    run.cfg.train.device = "cpu"
    assert execute.default_jobs([run], None) == 6
    assert execute.default_jobs([run], object()) == 1  # a cluster sets its own array parallelism
