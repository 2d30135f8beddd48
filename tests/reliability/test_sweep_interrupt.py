"""SIGINT to a sweep: its running child stops at a step boundary with a checkpoint, sweep.json marks it
interrupted, the exit code is 130 without a traceback, and the same command resumes and finishes it.
kill -9 of the sweep and its children: the same command finishes it, with the records of a whole sweep."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

from tinyconfig import TINY_FLAGS

ARGS = ["sweep", "--methods", "normal", "--lr-grid", "off", "--max-steps", "150", *TINY_FLAGS,
        "--set=train.log_interval=1", "--set=train.checkpoint_interval=1000", "--set=probe.every=0",
        "--set=probe.tokens=false", "--set=probe.plots=false"]


def test_sigint_stops_children_marks_them_and_rerun_resumes(tmp_path):
    out = tmp_path / "sweep"
    command = [sys.executable, "-m", "bench", *ARGS, "--out", str(out)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = out / "normal-nano-seed0" / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while not (metrics.exists() and len(metrics.read_text().splitlines()) >= 10):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    manifest = json.loads((out / "sweep.json").read_text())
    (run,) = manifest["runs"]
    assert run["status"] == "interrupted" and run["exit_code"] == 130
    assert manifest["counts"]["interrupted"] == 1
    assert (out / "normal-nano-seed0" / "interrupted.json").exists()
    assert "Traceback" not in (out / "normal-nano-seed0.log").read_text()

    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    (run,) = json.loads((out / "sweep.json").read_text())["runs"]
    assert run["status"] == "ok"
    steps = [json.loads(line)["step"] for line in metrics.read_text().splitlines()]
    assert steps == list(range(150))  # resumed, not restarted


# Keys that measure the machine or the moment, not the run: a resumed run differs from a whole one there.
MACHINE = {"env", "wall_s", "tokens_per_s", "mfu", "peak_flops", "peak_source", "scored_at", "git_hash",
           "git_dirty"}


def comparable(value: object) -> object:
    """`value` without MACHINE keys and `*_s` timings, at any depth."""
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items() if k not in MACHINE and not k.endswith("_s")}
    if isinstance(value, list):
        return [comparable(v) for v in value]
    return value


def test_kill_9_of_sweep_and_children_then_rerun_equals_an_uninterrupted_sweep(tmp_path):
    """kill -9 leaves no marker, only the last interval checkpoint and stale locks: the rerun resumes the
    cut run from that checkpoint (bit-identically on CPU), starts the other, and ends where a whole sweep
    ends."""
    grid = ["sweep", "--methods", "gamma", "--gamma", "0.5,1.0", "--lr-grid", "off", "--name", "k",
            "--max-steps", "120", *TINY_FLAGS, "--set=train.log_interval=1",
            "--set=train.checkpoint_interval=40", "--set=probe.every=0", "--set=probe.tokens=false",
            "--set=probe.plots=false"]
    cut, whole = tmp_path / "cut", tmp_path / "whole"
    proc = subprocess.Popen([sys.executable, "-m", "bench", *grid, "--out", str(cut)], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    metrics = cut / "gamma-0.5-nano-seed0" / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while not (metrics.exists() and len(metrics.read_text().splitlines()) >= 60):  # past a checkpoint
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep first, so that it starts no other child
    proc.wait()
    for lock in cut.glob(".*.lock"):  # a live child's run-directory lock names its pid (its own session)
        pid = lock.read_text().strip()
        if pid.isdigit():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(pid), signal.SIGKILL)
    assert not (cut / "gamma-0.5-nano-seed0" / "record.json").exists()
    init = (cut / "gamma-0.5-nano-seed0" / "init.json").stat().st_ino  # rewritten only by a fresh start
    # The two runs train side by side; γ 1.0 may have finished before the kill (py312 CI saw it), and then
    # the rerun must skip it and train only the cut one.
    finished = (cut / "gamma-1.0-nano-seed0" / "record.json").exists()

    again = subprocess.run([sys.executable, "-m", "bench", *grid, "--out", str(cut)], capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"ok {2 - finished} | diverged 0 | failed 0 | skipped {int(finished)} (finished earlier)" \
        in again.stdout, again.stdout
    done = subprocess.run([sys.executable, "-m", "bench", *grid, "--out", str(whole)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for run_id in ("gamma-0.5-nano-seed0", "gamma-1.0-nano-seed0"):
        a, b = (json.loads((root / run_id / "record.json").read_text()) for root in (cut, whole))
        assert comparable(a) == comparable(b), run_id
    assert (cut / "gamma-0.5-nano-seed0" / "init.json").stat().st_ino == init  # resumed, not restarted
    steps = [json.loads(line)["step"] for line in metrics.read_text().splitlines()]
    assert steps == list(range(120))  # from the checkpoint on, no step twice


def test_sigterm_to_verdict_run_stops_the_sweep_and_its_runs_and_rerun_finishes(tmp_path):
    """`verdict --run` runs each sweep as a child: a SIGTERM to the verdict alone reaches the sweep and, once,
    its runs, which checkpoint and exit, so when the verdict has exited no run is left training (each is
    interrupted, or had finished before the signal); the same command then finishes them."""
    sweep_args = ["--methods", "gamma", "--gamma", "0.5,1.0", "--lr-grid", "off", *ARGS[5:],
                  "--max-steps", "400"]  # the last --max-steps counts
    manifest = tmp_path / "verdict.toml"
    manifest.write_text(
        '[budget]\ntotal_h = 1\nmachine = "a test machine"\ngpu = "none"\n\n'
        f'[[sweep]]\nname = "s"\nout = "runs/s"\nargs = {json.dumps(sweep_args)}\n\n'
        '[[claim]]\nid = "C1"\nsource = "a paper"\nclaim = "a claim"\nbudget_h = 1\ncut = "none"\n'
        'gpu = "none"\n\n[[claim.line]]\nsetting = "s"\nsweep = "s"\nmetric = "val_loss"\n'
        'scheme = {"init.gamma" = 1.0}\nreference = {"init.gamma" = 0.5}\nexpect = "lower"\nmin_seeds = 2\n')
    command = [sys.executable, "-m", "bench", "verdict", "--manifest", str(manifest), "--run", "--jobs", "2"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    runs = tmp_path / "runs" / "s"
    dirs = [runs / f"gamma-{g}-nano-seed0" for g in ("0.5", "1.0")]
    deadline = time.monotonic() + 120
    while not all((d / "metrics.jsonl").exists() and len((d / "metrics.jsonl").read_text().splitlines()) >= 10
                  for d in dirs):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "Traceback" not in err, err
    # The moment the verdict is gone, every run has stopped: checkpointed on its one signal, or finished.
    stopped = {d.name: (d / "interrupted.json").exists() for d in dirs}
    for d in dirs:
        assert stopped[d.name] or (d / "record.json").exists(), f"{d.name} is still training"
        if stopped[d.name]:
            assert (d / "last.pt").exists() and "stopped by SIGTERM" in (runs / f"{d.name}.log").read_text()
    assert any(stopped.values())
    assert json.loads((runs / "sweep.json").read_text())["counts"]["interrupted"] == sum(stopped.values())
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    for d in dirs:
        steps = [json.loads(line)["step"] for line in (d / "metrics.jsonl").read_text().splitlines()]
        assert steps == list(range(400))
