"""SIGINT to a sweep: its running child stops at a step boundary with a checkpoint, sweep.json marks it
interrupted, the exit code is 130 without a traceback, and the same command resumes and finishes it."""

import json
import signal
import subprocess
import sys
import time

from tinyconfig import TINY_FLAGS

ARGS = ["sweep", "--methods", "normal", "--max-steps", "150", *TINY_FLAGS, "--set=train.log_interval=1",
        "--set=train.checkpoint_interval=1000", "--set=probe.every=0", "--set=probe.tokens=false",
        "--set=probe.plots=false"]


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
