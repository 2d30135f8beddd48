"""SIGINT/SIGTERM during `run`: the step in progress finishes, a checkpoint is written, the run is marked
interrupted, the exit code is 128 + signal with no traceback, and `--resume` ends bit-identical to an
uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from tinyconfig import TINY_FLAGS

from bench.cli import inits as inits_cli
from bench.train.interrupt import Terminated, signals_raise

STEPS = 200
ARGS = ["--method", "gamma", "--gamma", "0.5", "--max-steps", str(STEPS), "--no-progress", *TINY_FLAGS,
        "--set=train.checkpoint_interval=1000", "--set=train.log_interval=1", "--set=probe.plots=false"]


def bench(*argv: object) -> list[str]:
    return [sys.executable, "-m", "bench", *map(str, argv)]


def start(out: Path, run_id: str, *extra: object) -> subprocess.Popen:
    return subprocess.Popen(bench("run", *ARGS, "--out", out, "--run-id", run_id, *extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_steps(metrics: Path, steps: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Until `metrics` has `steps` lines (training is under way), or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if metrics.exists() and len(metrics.read_text().splitlines()) >= steps:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    pytest.fail("training did not start")


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "model.pt", map_location="cpu", weights_only=True)["model"]


def interrupt(out: Path, sig: signal.Signals) -> dict:
    """Start a run, signal it once training is under way, check how it ended; returns its marker."""
    proc = start(out, "cut")
    wait_for_steps(out / "cut" / "metrics.jsonl", 20, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err and "interrupted" in err
    marker = json.loads((out / "cut" / "interrupted.json").read_text())
    ckpt = torch.load(out / "cut" / "last.pt", map_location="cpu", weights_only=True)
    assert marker["status"] == "interrupted" and marker["signal"] == sig.name
    # The checkpoint holds the step the signal ended on, not an older interval (checkpoint_interval 1000).
    assert 20 <= marker["step"] == ckpt["state"]["step"] < STEPS
    assert not (out / "cut" / "record.json").exists()
    assert not list(out.glob(".*.lock"))
    return marker


def test_sigterm_checkpoints_and_marks_the_run(tmp_path):
    interrupt(tmp_path / "runs", signal.SIGTERM)


def test_sigint_checkpoints_and_resume_is_bit_identical(tmp_path):
    sig = signal.SIGINT
    out = tmp_path / "runs"
    interrupt(out, sig)

    resumed = subprocess.run(bench("run", *ARGS, "--out", out, "--run-id", "cut", "--resume"),
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert not (out / "cut" / "interrupted.json").exists()
    whole = subprocess.run(bench("run", *ARGS, "--out", out, "--run-id", "whole"), capture_output=True,
                           text=True, timeout=300)
    assert whole.returncode == 0, whole.stderr
    a, b = weights(out / "cut"), weights(out / "whole")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    steps = [json.loads(line)["step"] for line in (out / "cut" / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(STEPS))  # one line per step across the interruption


@pytest.mark.parametrize(("exc", "code"), [(KeyboardInterrupt, 130), (Terminated, 143)])
def test_interrupt_outside_training_is_one_line(monkeypatch, cli, exc, code):
    """A signal while a command prepares data or scores (any subcommand): exit 130/143, one line."""
    def interrupted(args):
        raise exc

    monkeypatch.setattr(inits_cli, "cmd", interrupted)
    got, _, err = cli("inits")
    name = "SIGTERM" if code == 143 else "SIGINT"
    assert got == code and err.strip().splitlines() == [f"interrupted ({name})"]


def catches_sigterm(pid: int) -> bool:
    """Whether the process has a SIGTERM handler installed (its SigCgt mask in /proc). Python installs none
    of its own, so the bit means bench/__main__.py has run its first lines."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    return False


def test_signal_during_imports_is_quiet():
    proc = subprocess.Popen(bench("inits"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # A signal before bench/__main__.py installs its handlers is the interpreter's own business (and a
    # fixed sleep races with a loaded machine): wait until they are in place, then interrupt the imports.
    deadline = time.monotonic() + 60
    while proc.poll() is None and not catches_sigterm(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, 130) and "Traceback" not in err


def test_sigterm_outside_training_raises_terminated():
    """SIGTERM becomes an exception (cleanup runs, no traceback) while a command runs, and the previous
    handler is back afterwards."""
    before = signal.getsignal(signal.SIGTERM)
    with signals_raise(), pytest.raises(Terminated):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)
    assert signal.getsignal(signal.SIGTERM) == before
