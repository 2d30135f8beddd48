"""`bench sweep --executor submitit` (bench/sweep/cluster.py), run through submitit's local executor: the same
runs, skips and sweep.json as the local executor's child processes."""

import json
import sys

import pytest
from test_sweep import FAST, OFF, fake_child

from bench.sweep import cluster, execute


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch):
    monkeypatch.setattr(cluster, "POLL_S", 0.2)


def shape(value):
    """The key structure of a JSON value (dict keys, recursively; lists by their first element)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value and isinstance(value[0], dict) else "list"
    return "value"


def test_submitit_local_sweep_trains_skips_and_writes_the_local_manifest(tmp_path, cli, monkeypatch):
    out = tmp_path / "runs"
    argv = ["sweep", "--methods", "normal,zero", "--out", out, "--name", "t", *OFF, *FAST,
            "--executor", "submitit", "--submitit-cluster", "local", "--jobs", "2", "--cpus-per-run", "1"]
    code, stdout, err = cli(*argv)
    assert code == 0, err
    assert "submitted 2 run(s) as job array" in err and "ok 2 | diverged 0 | failed 0" in stdout
    manifest = json.loads((out / "sweep.json").read_text())
    assert [r["status"] for r in manifest["runs"]] == ["ok", "ok"]
    assert all(r["exit_code"] is None and r["wall_s"] > 0 for r in manifest["runs"])
    for run in manifest["runs"]:
        record = json.loads((out / run["id"] / "record.json").read_text())
        assert record["status"] == "ok" and record["sweep"] == {"name": "t", "label": run["label"],
                                                                 "lr_search": None}
        assert "distributed" not in record  # one plain process per run (no --gpus-per-run)
        assert (out / run["log"]).read_text().strip()  # the child's output, as with the local executor

    # The same sweep by the local executor (children faked) writes a manifest of the same shape.
    local = tmp_path / "local"
    monkeypatch.setattr(execute, "run_child", fake_child()[0])
    code, _, err = cli(*argv[:argv.index("--executor")], "--out", local)
    assert code == 0, err
    assert shape(json.loads((local / "sweep.json").read_text())) == shape(manifest)

    # Rerun: both runs are finished, nothing is submitted, the records stay byte-identical.
    before = {p: p.read_bytes() for p in out.glob("*/record.json")}
    code, stdout, err = cli(*argv)
    assert code == 0 and "skipped 2" in stdout and "submitted" not in err
    assert {p: p.read_bytes() for p in out.glob("*/record.json")} == before


def test_submitit_failure_is_a_failed_run(tmp_path, cli, monkeypatch):
    """A task whose child fails is a failed run with its log's last line and exit code; the sweep exits 1
    (and, as with the local executor, the next invocation runs it again: it has no record)."""
    out = tmp_path / "runs"
    argv = ["sweep", "--methods", "normal", "--out", out, *OFF, *FAST, "--executor", "submitit",
            "--submitit-cluster", "local", "--cpus-per-run", "1"]
    # The array task runs a child that exits 3 after one line, instead of a training.
    monkeypatch.setattr(cluster.Submitit, "command", lambda self, argv: [
        sys.executable, "-c", "print('error: injected'); raise SystemExit(3)"])
    code, stdout, _ = cli(*argv)
    assert code == 1 and "failed 1" in stdout and "(exit 3): error: injected" in stdout
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["runs"][0]["status"] == "failed" and manifest["runs"][0]["exit_code"] == 3
    assert not (out / manifest["runs"][0]["id"] / "record.json").exists()


def test_executor_mistakes_are_one_line_and_create_nothing(tmp_path, cli, monkeypatch):
    out = tmp_path / "runs"
    base = ["sweep", "--methods", "normal", "--out", out, *OFF, *FAST]
    code, _, err = cli(*base, "--gpus-per-run", "2")
    assert code == 2 and err.count("\n") == 1 and "--executor submitit" in err
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch
    code, _, err = cli(*base, "--executor", "submitit")
    assert code == 2 and err.count("\n") == 1 and "no sbatch on PATH" in err
    monkeypatch.setitem(sys.modules, "submitit", None)  # not installed
    code, _, err = cli(*base, "--executor", "submitit", "--submitit-cluster", "local")
    assert code == 2 and err.count("\n") == 1 and "needs the submitit package" in err
    assert not out.exists()
