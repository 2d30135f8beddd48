"""Provenance of a run, stored as the record's `env`: versions, the git commit of the code that ran, the
device. Written once by the run stage; a record alone says what produced it."""

from __future__ import annotations

import datetime
import importlib.metadata
import platform
import subprocess
from pathlib import Path

import torch

from bench.core.device import denormals_flushed
from bench.record.schema import Env, TaskProvenance

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def package_version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def git_state(root: Path = PROJECT_ROOT) -> dict[str, str | bool | None]:
    """Commit hash of the code that ran, and whether the tree had uncommitted changes outside results/.
    results/ holds what the runs write (records, generated tables and VERDICT.md, which `verdict --run`
    regenerates between its sweeps): a change there says nothing about the code that ran."""
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    head = git("rev-parse", "HEAD")
    code = ("--", ".", ":(exclude)results")
    status = git("status", "--porcelain", "--untracked-files=no", *code) if head else None
    return {"git_hash": head or "unknown", "git_dirty": bool(status) if status is not None else None}


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


def env_info(device: torch.device) -> Env:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "lm_eval": package_version("lm_eval"),
        "numpy": package_version("numpy"),
        "initbench": package_version("initbench"),
        **git_state(),
        "device": str(device),
        "device_name": name,
        "threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "flush_denormal": denormals_flushed(),
    }


def scoring_provenance(limit: int | None, seed: int, batch_size: int | None) -> TaskProvenance:
    """How scores obtained now were obtained (`record.evaluation.tasks[task]`, `documents` filled in per
    task): what a leaderboard must know before it compares two runs' scores of one task."""
    git = git_state()
    return {"limit": limit, "documents": None, "seed": seed, "batch_size": batch_size,
            "lm_eval": package_version("lm_eval"), "git_hash": str(git["git_hash"]),
            "git_dirty": git["git_dirty"],  # type: ignore[typeddict-item]  # bool | None by git_state
            "scored_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
