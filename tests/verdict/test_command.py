"""`python -m bench verdict`: regeneration and --check, refusals (exit 2, nothing written), the committed
manifest and VERDICT.md, the per-task flags against their config files, and one tiny end-to-end --run."""

import dataclasses
import json
import math
import re
from pathlib import Path

import pytest
from tinyconfig import TINY_FLAGS
from verdict_fixtures import HEAD, claim, line, record, write_manifest, write_runs

from bench.cli.verdict import planner
from bench.config import build_config
from bench.verdict.generate import verdict_files
from bench.verdict.manifest import DEFAULT_MANIFEST, load_manifest
from bench.verdict.plan import measured_timings, plan_sweep, spent_hours

ROOT = Path(__file__).resolve().parents[2]


def files_under(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_regenerates_and_check_names_a_stale_file(tmp_path, cli):
    write_runs(tmp_path / "runs" / "s", [record(g, s, bpb=3 + s / 10 - g / 20) for g in (0.5, 1.0)
                                         for s in range(3)])
    path = write_manifest(tmp_path, claim([line(min_seeds=3)], table="C1.md"))
    assert cli("verdict", "--manifest", path, "--check")[0] == 1  # nothing generated yet
    code, _, err = cli("verdict", "--manifest", path)
    assert code == 0 and "wrote" in err
    text = (tmp_path / "VERDICT.md").read_text()
    assert "| C1.1 | a setting |" in text and "**reproduced**" in text and "3/3" in text
    assert "Holm p = " in (tmp_path / "C1.md").read_text()
    # γ 1.0 sits at 3 + s/10 − 0.05 (mean 3.05), γ 0.5 at 3 + s/10 − 0.025 (3.075).
    assert "; seed means 3.05 (scheme) vs 3.075 (reference)." in text
    code, out, _ = cli("verdict", "--manifest", path, "--check")
    assert code == 0 and "up to date: 4 files" in out  # VERDICT.md, C1.md, C1.png, C1.svg
    (tmp_path / "C1.md").write_text("edited by hand\n")
    code, out, _ = cli("verdict", "--manifest", path, "--check")
    assert code == 1 and out.strip() == f"differs: {tmp_path / 'C1.md'}"
    # A new record changes the verdict file, which --check then reports too.
    write_runs(tmp_path / "runs" / "s", [record(g, 3, bpb=9.0) for g in (0.5, 1.0)])
    assert "VERDICT.md" in cli("verdict", "--manifest", path, "--check")[1]


def test_each_claim_names_the_devices_its_sweeps_ran_on(tmp_path):
    runs = []
    for g in (0.5, 1.0):
        for s in range(3):
            r = record(g, s, bpb=3 + s / 10 - g / 20)
            r["env"] = {"device_name": "AMD EPYC" if s else "Intel(R) Xeon(R) Processor"}
            runs.append(r)
    write_runs(tmp_path / "runs" / "s", runs)
    manifest = load_manifest(write_manifest(tmp_path, claim([line(min_seeds=3)])))
    text = verdict_files(manifest, planner)[tmp_path / "VERDICT.md"].decode()
    assert ("Machines: AMD EPYC ran `s` (4 runs); Intel(R) Xeon(R) Processor ran `s` (2 runs). A sweep that "
            "ran on several CPUs") in text
    for r in runs:
        r["env"]["device_name"] = "AMD EPYC"
    write_runs(tmp_path / "runs" / "s", runs)
    text = verdict_files(manifest, planner)[tmp_path / "VERDICT.md"].decode()
    assert "Machines: AMD EPYC ran `s` (6 runs).\n" in text and "several CPUs" not in text


BAD = {
    "unknown key": HEAD + claim([line()]).replace("budget_h", "budget_hours"),
    "unknown metric": HEAD + claim([line(metric="bogus")]),
    "unknown sweep": HEAD + claim([line().replace('sweep = "s"', 'sweep = "t"')]),
    "unknown config key": HEAD + claim([line(scheme='{"init.gama" = 1.0}')]),
    "no reference": HEAD + claim([line(reference=None)]),
    "bad expect": HEAD + claim([line(expect="better")]),
    "min seeds 1": HEAD + claim([line(min_seeds=1)]),
    "reserved flag": HEAD.replace('"0.5,1.0"]', '"0.5,1.0", "--out", "x"]') + claim([line()]),
    "no claims": HEAD,
    "not toml": "[[claim]\n",
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_manifest_is_one_line_exit_2_and_writes_nothing(tmp_path, cli, case):
    path = tmp_path / "verdict.toml"
    path.write_text(BAD[case])
    code, out, err = cli("verdict", "--manifest", path)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    assert files_under(tmp_path) == ["verdict.toml"]


@pytest.mark.parametrize("argv", [["--claims", "C9"], ["--run", "--claims", "C9"], ["--plan", "--jobs", "0"],
                                  ["--manifest", "missing.toml"]])
def test_bad_flags_exit_2_and_write_nothing(tmp_path, cli, argv):
    path = write_manifest(tmp_path, claim([line()]))
    code, _, err = cli("verdict", "--manifest", path, *argv)
    assert code == 2 and err.startswith("error: ") and files_under(tmp_path) == ["verdict.toml"]


def test_the_committed_verdict_is_what_the_records_say(monkeypatch):
    """The committed documents regenerate byte for byte (`verdict --check`); figures are compared only as
    valid images, since their bytes depend on the matplotlib/freetype build, which differs across the
    Python versions tox runs (as for the leaderboard's figures, tests/report/test_results.py)."""
    monkeypatch.chdir(ROOT)
    files = verdict_files(load_manifest(DEFAULT_MANIFEST), planner)
    for path, data in files.items():
        assert path.is_file(), f"{path} is not committed"
        if path.suffix == ".png":
            assert data.startswith(b"\x89PNG") and path.read_bytes().startswith(b"\x89PNG"), path
        elif path.suffix == ".svg":
            assert b"<svg" in data[:2000] and b"<svg" in path.read_bytes()[:2000], path
        else:
            assert path.read_bytes() == data, f"{path} differs from its regeneration"


def test_the_readme_states_the_verdict_as_the_committed_verdict_does():
    """The README's headline paragraph is prose, but its state and hours are VERDICT.md's: a record
    committed without updating the README fails here instead of leaving the front page stale."""
    verdict = (ROOT / "results" / "VERDICT.md").read_text()
    readme = " ".join((ROOT / "README.md").read_text().split())
    counts = re.search(r"^State: \d+ claims, \d+ lines: (.+)\.$", verdict, re.M)
    spent = re.search(r"; spent so far (\d+\.\d) h \(the finished runs", verdict)
    budget = load_manifest(ROOT / DEFAULT_MANIFEST)
    assert counts and spent, "VERDICT.md lost its State or Budget line"
    stated = f"State now: {counts[1]};"
    hours = f"{spent[1]} of the {sum(c.budget_h for c in budget.claims):g} budgeted wall hours spent"
    assert stated in readme, f"README lacks {stated!r}"
    assert hours in readme, f"README lacks {hours!r}"


def test_the_committed_manifest_preregisters_every_claim():
    manifest = load_manifest(ROOT / DEFAULT_MANIFEST)
    assert [c.id for c in manifest.claims] == [f"C{i}" for i in range(1, 11)]
    assert sum(c.budget_h for c in manifest.claims) <= manifest.total_h <= 30
    kinds = {line.kind for c in manifest.claims for line in c.lines}
    assert kinds == {"compare", "contrast", "bucket_contrast", "trajectory", "critical_gamma"}


def test_every_committed_sweep_plans(tmp_path, monkeypatch):
    """Every sweep of results/verdict.toml is a valid `bench sweep` (configs, globs, flags), and a per-task
    sweep trains its config file's budget with the LR search centred on the file's LR."""
    monkeypatch.chdir(ROOT)
    manifest = load_manifest(DEFAULT_MANIFEST)
    for spec in manifest.sweeps.values():
        runs = planner([*spec.args, "--out", str(tmp_path / spec.name)]).candidates
        assert runs, spec.name
        if "--config" in spec.args:
            path = Path(spec.args[spec.args.index("--config") + 1])
            want = build_config(None, path, {})
            assert all(r.cfg.train.max_steps == want.train.max_steps for r in runs)
            assert any(r.lr is not None and math.isclose(r.lr, want.optim.lr) for r in runs), spec.name


def test_a_finished_searched_sweep_plans_nothing_left(monkeypatch):
    """The committed grid-2606 (LR searched per cell), suite-modadd (one cell's grid extended) and
    gamma-recall (γ 0.3 chose an LR its extension added, whose seeds the planned candidates lack) are
    finished: every run counts, extensions and the seeds at an extension's LR too, and nothing is left to
    estimate; each took measurable time."""
    monkeypatch.chdir(ROOT)
    manifest = load_manifest(DEFAULT_MANIFEST)
    timings = measured_timings(manifest.base)
    for name in ("grid-2606", "suite-modadd", "gamma-recall"):
        plan = plan_sweep(manifest, name, planner, timings)
        assert plan.runs_min == plan.runs_max == plan.finished and plan.finished > 0, name
        assert plan.hours_min == plan.hours_max == 0.0, name
        assert spent_hours(manifest.out_dir(name), manifest.sweeps[name].jobs) > 0.1, name
    # As if no record had timed powered scoring (as on a machine whose own anchor records scored quick):
    # anchor-depth2 scores powered, but nothing is left to score, so no low estimate to warn about.
    limited = {key: dataclasses.replace(t, whole_s=None) for key, t in timings.items()}
    assert not plan_sweep(manifest, "anchor-depth2", planner, limited).untimed_protocol


def test_run_plans_runs_resumes_and_regenerates(tmp_path, cli, capsys):
    """A tiny two-scheme sweep through `verdict --plan` and `--run`, then again (nothing to train)."""
    fast = [*TINY_FLAGS, "--set=probe.every=0", "--set=probe.tokens=false", "--set=probe.plots=false",
            "--max-steps", "4"]
    head = HEAD.replace('args = ["--methods", "gamma", "--gamma", "0.5,1.0"]',
                        "args = " + str(["--methods", "gamma", "--gamma", "0.5,1.0", "--seeds", "2",
                                         "--lr-grid", "off", *fast]).replace("'", '"'))
    table = claim([], cid="C2").replace('gpu = "none"\n',
                                        'gpu = "none"\nleaderboard = "board.md"\nsweep = "s"\n')
    path = write_manifest(tmp_path, claim([line(metric="val_loss", min_seeds=2)]), table, head=head)
    code, out, _ = cli("verdict", "--manifest", path, "--plan")
    assert code == 0 and "sweep s: 4-4 runs (0 finished, 0.0 h spent)" in out
    # The sweep counts under the table-only claim it feeds; C1 reads it without counting it again.
    assert "C2: spent 0.0 h, estimated" in out and "C1: spent 0.0 h, estimated 0.0-0.0 h left" in out
    code, _, err = cli("verdict", "--manifest", path, "--run", "--jobs", "2")
    assert code == 0, err
    assert len(list((tmp_path / "runs" / "s").glob("*/record.json"))) == 4
    text = (tmp_path / "VERDICT.md").read_text()
    assert "2/2" in text and "pending" not in text.split("## C1")[1].split("## C2")[0]
    assert "val loss" in (tmp_path / "board.md").read_text()  # the leaderboard renderer's table
    assert cli("verdict", "--manifest", path, "--check")[0] == 0
    assert "sweep s: 4-4 runs (4 finished, 0.0 h spent), 0.0-0.0 h left" in \
        cli("verdict", "--manifest", path, "--plan")[1]
    assert "| C2 | arXiv 0000.00000, a test | table | 0.5 | 0.0 |" in text
    assert "it reads `s` (C2), counted there" in text
    assert "in progress" not in text  # the sweep is complete: its table is final
    # A run the sweep has not finished yet: the table-only claim says its table is partial, and how far.
    (sorted((tmp_path / "runs" / "s").glob("*/record.json"))[-1]).unlink()
    assert cli("verdict", "--manifest", path)[0] == 0
    text = (tmp_path / "VERDICT.md").read_text()
    assert "| C2 | arXiv 0000.00000, a test | table, in progress, not final | 0.5 | 0.0 |" in text
    assert ("(generated from the sweep's records by the leaderboard renderer; in progress, not final: 3 of 4 "
            "runs trained, 3 of 4 scored).") in text


def test_plan_times_runs_on_the_records_of_the_asking_device_where_it_has_any(tmp_path):
    """CPUs differ: the runs left run on the machine that asks, so its own records time them; a key it has
    no record of falls back to every device's records."""
    config = {"preset": "nano", "data": {"corpus": "mixture"}, "train": {"max_steps": 800, "batch_size": 16}}
    for i, (device, wall) in enumerate([("fast", 100.0), ("fast", 110.0), ("slow", 250.0)]):
        (tmp_path / str(i)).mkdir()
        (tmp_path / str(i) / "record.json").write_text(json.dumps(
            {"config": config, "env": {"device_name": device}, "train": {"wall_s": wall}}))
    (timing,) = measured_timings(tmp_path, "slow").values()
    assert (timing.train_s, timing.n, timing.device) == (250.0, 1, "slow")
    (timing,) = measured_timings(tmp_path, "fast").values()
    assert (timing.train_s, timing.n, timing.device) == (105.0, 2, "fast")
    for device in ("unseen", None):
        (timing,) = measured_timings(tmp_path, device).values()
        assert (timing.train_s, timing.n, timing.device) == (110.0, 3, None)


def test_plan_times_a_powered_sweep_by_the_records_that_scored_whole_splits(tmp_path):
    """Quick scorings (a `limit`) and powered ones of the same runs' shape are timed apart: a powered sweep's
    scoring estimate comes from the powered records once there are any."""
    config = {"preset": "nano", "data": {"corpus": "mixture"}, "train": {"max_steps": 800, "batch_size": 16}}

    def scored(wall, protocol, documents):
        task = {"protocol": protocol, "documents": documents, "split_documents": 2000}
        return {"config": config, "train": {"wall_s": 100.0},
                "evaluation": {"wall_s": wall, "tasks": {"arc_easy": task}}}

    unscored = {"config": config, "train": {"wall_s": 90.0}}
    runs = [scored(10.0, "quick", 200), scored(12.0, "quick", 200), scored(300.0, "powered", 2000), unscored]
    for i, rec in enumerate(runs):
        (tmp_path / str(i)).mkdir()
        (tmp_path / str(i) / "record.json").write_text(json.dumps(rec))
    (timing,) = measured_timings(tmp_path).values()
    assert (timing.train_s, timing.n, timing.eval_s, timing.whole_s) == (100.0, 4, 12.0, 300.0)
    (tmp_path / "2").rename(tmp_path / "gone")
    (tmp_path / "gone" / "record.json").unlink()
    assert next(iter(measured_timings(tmp_path).values())).whole_s is None  # only quick scorings: unknown
    # Spent: every record's training and scoring seconds, over the sweep's jobs (unreadable ones skipped).
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "record.json").write_text("{")
    assert math.isclose(spent_hours(tmp_path, 2), (100 + 10 + 100 + 12 + 90) / 2 / 3600)
    assert spent_hours(tmp_path / "missing", 2) == 0.0
