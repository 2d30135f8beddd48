"""`python -m bench leaderboard` end to end: bad input, output files, the manifest and `--check`, figure
stems (bench.report.leaderboard)."""

import csv
import io
import json
from pathlib import Path

import pytest
from fake_records import anchor_records, baseline_records, make_record, write_runs

# ------------------------------------------------------------------ bad input

def test_corrupt_partial_and_foreign_files_are_skipped_with_a_warning(tmp_path, cli):
    root = write_runs(tmp_path / "runs", baseline_records())
    bad = {"truncated": json.dumps(make_record("normal", 7))[:200], "list": "[1, 2]", "binary": "\udcff",
           "running": json.dumps({**make_record("normal", 8), "status": "running"}),
           "foreign": json.dumps({"status": "ok", "hello": 1})}
    for name, text in bad.items():
        (root / name).mkdir()
        (root / name / "record.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    code, out, err = cli("leaderboard", "--runs", root)
    assert code == 0 and "### Leaderboard" in out
    for name in bad:
        assert f"{root / name / 'record.json'}" in err, name
    assert err.count("warning: skipping") == len(bad)


@pytest.mark.parametrize("setup", ["empty", "missing", "only-corrupt"])
def test_nothing_usable_exits_2_with_one_line(tmp_path, cli, setup):
    root = tmp_path / "runs"
    if setup != "missing":
        root.mkdir()
    if setup == "only-corrupt":
        (root / "r").mkdir()
        (root / "r" / "record.json").write_text("{")
    code, out, err = cli("leaderboard", "--runs", root)
    assert code == 2 and out == ""
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and str(root) in errors[0]


def test_unknown_reference_suite_or_headline_exit_2(tmp_path, cli):
    root = write_runs(tmp_path / "runs", baseline_records())
    code, _, err = cli("leaderboard", "--runs", root, "--reference", "nope")
    assert code == 2 and "unknown reference scheme 'nope'" in err and "gamma-1.0" in err
    code, _, err = cli("leaderboard", "--runs", root, "--suite", "nope")
    assert code == 2 and "nano/mixture/205k-tok" in err
    code, _, err = cli("leaderboard", "--runs", root, "--headline", "nope")
    assert code == 2 and "unknown headline" in err
    code, _, err = cli("leaderboard", "--check", "--runs", root)
    assert code == 2 and "--runs" in err


# ------------------------------------------------------------------ CLI and manifest

def test_cli_writes_out_files_with_the_format_of_the_suffix(tmp_path, cli):
    root = write_runs(tmp_path / "runs", baseline_records())
    code, out, _ = cli("leaderboard", "--runs", root, "--out", tmp_path / "t.csv", "--reference", "xavier")
    assert code == 0 and out == ""
    rows = list(csv.DictReader(io.StringIO((tmp_path / "t.csv").read_text())))
    assert {r["reference"] for r in rows} == {"xavier"} and len(rows) == 3
    code, _, _ = cli("leaderboard", "--runs", root, "--out", tmp_path / "t.txt", "--format", "latex",
                     "--headline", "tokens_per_s")
    assert code == 0 and "tabular" in (tmp_path / "t.txt").read_text()
    assert "tok/s ($\\uparrow$)" in (tmp_path / "t.txt").read_text()  # pdflatex-safe symbols


def write_manifest(tmp_path):
    results = tmp_path / "results"
    write_runs(results / "runs" / "nano", baseline_records())
    write_runs(results / "runs" / "anchor", anchor_records())
    (results / "leaderboards.toml").write_text(
        '[[table]]\nout = "nano.md"\nruns = "runs/nano"\nreference = "normal"\n\n'
        '[[table]]\nout = "nano.csv"\nruns = "runs/nano"\n\n'
        '[[table]]\nout = "phase.md"\nruns = "runs/anchor"\nfigure = "figures/phase"\n')
    return results


def test_manifest_regeneration_is_byte_identical_and_check_detects_changes(tmp_path, cli, monkeypatch):
    results = write_manifest(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("leaderboard")  # no arguments: results/leaderboards.toml
    assert code == 0, err
    files = sorted(p for p in results.rglob("*") if p.is_file() and "runs" not in p.parts)
    names = {p.relative_to(results).as_posix() for p in files}
    assert {"nano.md", "nano.csv", "phase.md", "figures/phase-gamma.png", "figures/phase-gamma.svg",
            "figures/phase-phase.png", "figures/phase-phase.svg"} <= names
    before = {p: p.read_bytes() for p in files}
    code, _, err = cli("leaderboard")
    assert code == 0 and err.count("unchanged") == 7 and not err.count("wrote ")
    assert {p: p.read_bytes() for p in files} == before
    code, out, _ = cli("leaderboard", "--check")
    assert code == 0 and "up to date: 7 files" in out
    (results / "nano.md").write_text((results / "nano.md").read_text().replace("3.100", "3.101"))
    (results / "nano.csv").unlink()
    code, out, _ = cli("leaderboard", "--check")
    assert code == 1 and out.splitlines() == [f"differs: {Path('results/nano.csv')}",
                                              f"differs: {Path('results/nano.md')}"]
    assert "3.101" in (results / "nano.md").read_text()  # --check writes nothing


def test_manifest_missing_or_invalid(tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("leaderboard")
    assert code == 2 and "no leaderboard manifest results/leaderboards.toml" in err
    manifest = tmp_path / "m.toml"
    manifest.write_text('[[table]]\nout = "x.md"\nruns = "runs"\ncolour = "red"\n')
    code, _, err = cli("leaderboard", "--manifest", manifest)
    assert code == 2 and "unknown keys colour" in err
    manifest.write_text('[[table]]\nout = "x.md"\n')
    code, _, err = cli("leaderboard", "--manifest", manifest)
    assert code == 2 and "`runs`" in err


def test_figure_stem_from_the_command_line(tmp_path, cli):
    root = write_runs(tmp_path / "runs", anchor_records() + baseline_records())
    code, _, err = cli("leaderboard", "--runs", root, "--out", tmp_path / "t.md",
                       "--figure", tmp_path / "fig")
    assert code == 0, err
    # Two suites: the suite's name is part of each figure's name; only the anchor suite has figures.
    assert sorted(p.name for p in tmp_path.glob("fig-*")) == [
        f"fig-nano-anchor-16k-tok-{kind}.{ext}" for kind in ("gamma", "phase") for ext in ("png", "svg")]
