"""git_dirty says whether the code that ran differs from its commit; what runs write under results/ does not
count (bench.record.env.git_state)."""

import subprocess
from pathlib import Path

from bench.record.env import git_state


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def test_git_dirty_counts_code_changes_but_not_results(tmp_path):
    _git(tmp_path, "init", "-q")
    (tmp_path / "bench").mkdir()
    (tmp_path / "results").mkdir()
    (tmp_path / "bench" / "code.py").write_text("x = 1\n")
    (tmp_path / "results" / "VERDICT.md").write_text("old\n")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")

    clean = git_state(tmp_path)
    assert clean["git_dirty"] is False and len(str(clean["git_hash"])) == 40

    (tmp_path / "results" / "VERDICT.md").write_text("regenerated\n")  # a tracked result rewritten
    assert git_state(tmp_path)["git_dirty"] is False

    (tmp_path / "bench" / "code.py").write_text("x = 2\n")
    assert git_state(tmp_path)["git_dirty"] is True
