import json
import subprocess
import sys

import pytest
from tinyconfig import TINY_FLAGS

from bench.cli.main import build_parser
from bench.cli.run import run_config
from bench.core.files import write_json
from bench.model.schemes import SCHEMES

CONTRACT = {"status", "run_id", "config", "env", "init", "train", "eval", "groups", "probes"}
TRAIN_KEYS = {"steps", "tokens", "final_loss", "best_val_loss", "val_loss_by_source", "wall_s",
              "tokens_per_s", "mfu", "spikes"}


def test_run_end_to_end_writes_the_record_contract(tmp_path, cli):
    out = tmp_path / "runs"
    code, stdout, _ = cli("run", "--method", "gamma", "--gamma", "0.75", "--max-steps", "12",
                          "--out", out, "--run-id", "e2e", "--no-progress", *TINY_FLAGS)
    assert code == 0, stdout
    assert "status ok" in stdout and "record:" in stdout
    run_dir = out / "e2e"
    assert {p.name for p in run_dir.iterdir()} >= {"record.json", "metrics.jsonl", "model.pt", "last.pt",
                                                  "tokenizer.json", "init.json"}
    record = json.loads((run_dir / "record.json").read_text())
    assert CONTRACT <= record.keys() and TRAIN_KEYS <= record["train"].keys()
    assert record["status"] == "ok" and record["run_id"] == "e2e"
    assert record["config"]["init"] == {**record["config"]["init"], "method": "gamma", "gamma": 0.75}
    assert record["config"]["train"]["max_steps"] == 12 and record["train"]["steps"] == 12
    assert {"python", "torch", "lm_eval", "git_hash", "device"} <= record["env"].keys()
    names = {p["name"] for p in record["init"]["params"]}
    assert "embed.weight" in names and "blocks.1.mlp.down.weight" in names
    for p in record["init"]["params"]:
        assert {"name", "role", "shape", "std_expected", "std_measured"} <= p.keys()
    # Rerunning the same command refuses to clobber the finished run.
    code, _, err = cli("run", "--method", "gamma", "--gamma", "0.75", "--max-steps", "12",
                       "--out", out, "--run-id", "e2e", "--no-progress", *TINY_FLAGS)
    assert code == 2 and "--overwrite" in err


def test_config_file_and_default_run_id(tmp_path, cli):
    toml = tmp_path / "x.toml"
    toml.write_text('[init]\nmethod = "megatron"\n[train]\nmax_steps = 5\n')
    code, _, _ = cli("run", "--config", toml, "--out", tmp_path / "runs", "--no-progress",
                     *TINY_FLAGS)
    assert code == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert run_dir.name.startswith("megatron-s0.02-nano-seed0-")
    assert json.loads((run_dir / "record.json").read_text())["config"]["init"]["method"] == "megatron"


def test_inits_lists_every_scheme(cli):
    code, out, _ = cli("inits")
    assert code == 0
    for name, scheme in SCHEMES.items():
        assert f"| {name} " in out and scheme.formula in out


def test_run_help_documents_every_option():
    out = subprocess.run([sys.executable, "-m", "bench", "run", "--help"], capture_output=True, text=True,
                         check=True).stdout
    for flag in ("--method", "--gamma", "--sigma", "--preset", "--config", "--seed", "--max-steps", "--out",
                 "--run-id", "--resume", "--device", "--set", "--init-override"):
        assert flag in out


def corrupt(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a checkpoint")
    return path


BAD = {
    "unknown-method": (["--method", "lecun"], "unknown init method"),
    "gamma-missing": (["--method", "gamma"], "needs --gamma"),
    "gamma-negative": (["--method", "gamma", "--gamma", "-1"], "finite positive"),
    "gamma-inf": (["--method", "gamma", "--gamma", "inf"], "finite positive"),
    "gamma-nan": (["--method", "gamma", "--gamma", "nan"], "finite positive"),
    "gamma-not-a-number": (["--method", "gamma", "--gamma", "big"], "invalid float"),
    "unknown-preset": (["--preset", "giant"], "unknown preset"),
    "unknown-device": (["--device", "tpu"], "device"),
    "bad-set": (["--set", "model.width=3"], "unknown key model.width"),
    "wesar-over-zero": (["--method", "wesar", "--backbone", "zero"], "zero"),
    "sigma2-zero": (["--method", "wesar", "--sigma2", "0"], "--sigma2"),
    "bad-override-role": (["--init-override", "ffn=zero"], "unknown role"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(tmp_path, cli, case):
    argv, message = BAD[case]
    out = tmp_path / "runs"
    code, _, err = cli("run", "--out", out, "--no-progress", *argv)
    assert code == 2
    assert message in err and err.count("\n") == 1, err
    assert not out.exists()


def test_bad_toml_files(tmp_path, cli):
    for text, message in [("[model]\nwidth = 1\n", "unknown key"), ("[model]\nd_model = 'x'\n", "integer")]:
        toml = tmp_path / "bad.toml"
        toml.write_text(text)
        code, _, err = cli("run", "--config", toml, "--out", tmp_path / "runs")
        assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "runs").exists()


def test_output_directory_that_is_a_file(tmp_path, cli):
    (tmp_path / "file").write_text("x")
    code, _, err = cli("run", "--out", tmp_path / "file")
    assert code == 2 and "not a directory" in err


def test_resume_from_missing_or_corrupt_checkpoint(tmp_path, cli):
    out = tmp_path / "runs"
    code, _, err = cli("run", "--out", out, "--run-id", "x", "--resume")
    assert code == 2 and "does not exist" in err and not out.exists()
    bad = corrupt(tmp_path / "elsewhere" / "last.pt")
    code, _, err = cli("run", "--out", out, "--resume", bad)
    assert code == 2 and "corrupt" in err and err.count("\n") == 1


def test_resume_with_a_changed_config_is_refused(tmp_path, cli):
    out = tmp_path / "runs"
    base = ["run", "--out", out, "--run-id", "r", "--no-progress", "--max-steps", "4", *TINY_FLAGS]
    assert cli(*base)[0] == 0
    code, _, err = cli(*base, "--lr", "0.5", "--resume")
    assert code == 2 and "optim.lr" in err
    code, stdout, _ = cli(*base, "--resume")
    assert code == 0 and "steps 4" in stdout


def run_args(*argv):
    return build_parser().parse_args(["run", *map(str, argv)])


def test_run_config_json_round_trip(tmp_path, cli):
    """`run --config X.json` trains the Config the TOML/flags command would: same config, same record."""
    toml = tmp_path / "x.toml"
    toml.write_text('[init]\nmethod = "gamma"\ngamma = 0.75\n[eval]\nenabled = false\n')
    flags = ["--config", toml, "--max-steps", "4", "--eval-limit", "50", "--set=probe.tokens=false",
             "--set=probe.plots=false", *TINY_FLAGS]
    cfg = run_config(run_args(*flags))
    saved = tmp_path / "x.config.json"
    write_json(saved, cfg.to_dict())
    assert run_config(run_args("--config", saved)) == cfg
    lr = ["--lr", "0.5"]  # flags apply on top of a JSON config as on top of a TOML one
    assert run_config(run_args("--config", saved, *lr)) == run_config(run_args(*flags, *lr))

    out = tmp_path / "runs"
    assert cli("run", *flags, "--out", out, "--run-id", "flags", "--no-progress")[0] == 0
    assert cli("run", "--config", saved, "--out", out, "--run-id", "json", "--no-progress")[0] == 0
    a, b = (json.loads((out / name / "record.json").read_text()) for name in ("flags", "json"))
    assert a["config"] == b["config"] and a["config"]["model"]["vocab_size"] > 0
    timing = {"wall_s", "tokens_per_s", "mfu"}
    same = {k for k in a if k not in {"run_id", "env", "train"}}
    assert {k: a[k] for k in same} == {k: b[k] for k in same}
    assert {k: v for k, v in a["train"].items() if k not in timing} == \
        {k: v for k, v in b["train"].items() if k not in timing}


def test_bad_json_config_is_one_line_exit_2(tmp_path, cli):
    path = tmp_path / "bad.json"
    path.write_text('{"preset": "nano", "model": {"d_model": 64}}')
    code, _, err = cli("run", "--config", path, "--out", tmp_path / "runs")
    assert code == 2 and "lacks" in err and err.count("\n") == 1
    write_json(path, run_config(run_args()).to_dict())
    code, _, err = cli("run", "--config", path, "--preset", "micro", "--out", tmp_path / "runs")
    assert code == 2 and "conflicts" in err and err.count("\n") == 1
    assert not (tmp_path / "runs").exists()
