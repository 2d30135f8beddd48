"""Probes end to end: a run records its structural series, token buckets and figures, and
`python -m bench probe` re-runs the token probe on the finished run."""

import json

from tinyconfig import TINY_FLAGS

from bench.probes.token_buckets import BUCKETS

FIGURES = {f"{name}.{ext}" for name in ("loss", "structure", "token_buckets") for ext in ("png", "svg")}


def test_run_records_probes_and_probe_command_rescores(tmp_path, cli):
    out = tmp_path / "runs"
    code, stdout, _ = cli("run", "--method", "gamma", "--gamma", "1.0", "--max-steps", "20", "--out", out,
                          "--run-id", "p", "--no-progress", "--set=probe.every=10", *TINY_FLAGS)
    assert code == 0, stdout
    run_dir = out / "p"
    record = json.loads((run_dir / "record.json").read_text())
    structure = record["probes"]["structure"]
    assert structure["every"] == 10
    assert [s["step"] for s in structure["series"]] == [0, 10, 19]
    tokens = record["probes"]["tokens"]
    assert list(tokens["buckets"]) == list(BUCKETS)
    scored = sum(b["tokens"] for b in tokens["buckets"].values())
    assert scored == sum(s["tokens"] for s in tokens["sources"].values()) > 0
    assert {p.name for p in (run_dir / "figures").iterdir()} == FIGURES

    code, stdout, err = cli("probe", run_dir, "--max-tokens", "50", "--no-plots")
    assert code == 0, err
    rescored = json.loads((run_dir / "record.json").read_text())["probes"]["tokens"]
    assert sum(b["tokens"] for b in rescored["buckets"].values()) == 50  # one source, capped
    assert "context_constrained" in stdout
    # Everything but the token probe is untouched.
    after = json.loads((run_dir / "record.json").read_text())
    assert after.keys() == record.keys()
    assert all(after[k] == record[k] for k in record if k != "probes")
    assert after["probes"]["structure"] == record["probes"]["structure"]
    history = [json.loads(line) for line in (run_dir / "record_history.jsonl").read_text().splitlines()]
    assert [(h["action"], h["changed"][-1:]) for h in history][1:] == [("update", ["probes.tokens"])]


def test_probe_command_bad_input(tmp_path, cli):
    code, _, err = cli("probe", tmp_path / "missing")
    assert code == 2 and err.count("\n") == 1 and "does not exist" in err
    code, _, err = cli("probe", tmp_path, "--max-tokens", "0")
    assert code == 2 and err.count("\n") == 1
