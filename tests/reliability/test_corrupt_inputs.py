"""Corrupted inputs are detected: one line, never a traceback or a silent use. Covered elsewhere: a damaged
token-cache entry is rebuilt (tests/data/test_corpus.py::test_token_cache_is_reused_and_rebuilt_when_damaged),
so is a damaged n-gram entry (tests/probes/test_probe_tokens.py), a corrupt checkpoint on --resume is refused
(tests/cli/test_cli.py::test_resume_from_missing_or_corrupt_checkpoint) and the leaderboard skips a corrupt
record with a warning (tests/report/test_leaderboard.py). Here: a sweep over a corrupt record."""

import pytest


@pytest.mark.parametrize("text", ["{\"status\": \"ok\", \"conf", "[1, 2]", "\x00\xff garbage"])
def test_sweep_refuses_a_corrupt_record_with_one_line(tmp_path, cli, text):
    out = tmp_path / "sweep"
    (out / "normal-nano-seed0").mkdir(parents=True)
    record = out / "normal-nano-seed0" / "record.json"
    record.write_bytes(text.encode("utf-8", "surrogateescape"))
    before = sorted(out.rglob("*"))
    code, _, err = cli("sweep", "--methods", "normal", "--lr-grid", "off", "--max-steps", "2", "--out", out)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert str(record) in err and "delete it to rerun" in err
    assert sorted(out.rglob("*")) == before  # nothing started
