"""Faults: a checkpoint write that fails (file size limit, as a full disk) is one clear error and leaves
the previous checkpoint intact; a record write that fails likewise leaves no record and no temporary file,
and `--resume` writes it from the final checkpoint."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tinyconfig import TINY_FLAGS

SCRIPT = textwrap.dedent("""
    import resource, sys
    from pathlib import Path
    from tinyconfig import tiny_config
    from bench.core.errors import BenchError
    from bench.model.schemes import build_model
    from bench.train.checkpoint import TrainState, load_checkpoint, save_checkpoint
    from bench.train.schedule import make_optimizer

    cfg = tiny_config()
    cfg.model.vocab_size = 64
    model, _ = build_model(cfg.model, cfg.init)
    opt = make_optimizer(model, cfg.optim)
    path = Path(sys.argv[1]) / "last.pt"
    save_checkpoint(path, cfg, model, opt, TrainState(step=1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))  # Python ignores SIGXFSZ: writes fail EFBIG
    try:
        save_checkpoint(path, cfg, model, opt, TrainState(step=2))
    except BenchError as exc:
        print("error:", exc)
    print("step", load_checkpoint(path)["state"]["step"])
""")


def test_failed_checkpoint_write_is_one_error_and_keeps_the_previous(tmp_path):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).parents[1])  # tests/: tinyconfig
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("error: could not write checkpoint") and "at step 2" in lines[0]
    assert lines[1] == "step 1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]  # no temporary file left


RECORD_SCRIPT = textwrap.dedent("""
    import resource, sys
    from bench.cli.main import main
    from bench.record import schema
    from bench.run import pipeline

    real = schema.write_record

    def full_disk(*args, **kwargs):  # training is done: from here on no file may grow past 1 KiB
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, hard))
        try:
            real(*args, **kwargs)
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))

    pipeline.write_record = full_disk
    sys.exit(main(sys.argv[1:]))
""")


def test_failed_record_write_is_one_error_and_resume_writes_it(tmp_path, cli):
    out = tmp_path / "runs"
    argv = ["run", "--method", "normal", "--max-steps", "20", "--no-progress", *TINY_FLAGS,
            "--set=probe.plots=false", "--out", str(out), "--run-id", "r"]
    done = subprocess.run([sys.executable, "-c", RECORD_SCRIPT, *argv], capture_output=True, text=True,
                          timeout=300, cwd=Path(__file__).parents[1])
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "could not write" in errors[0] and "--resume" in errors[0]
    assert "Traceback" not in done.stderr
    run_dir = out / "r"
    assert not (run_dir / "record.json").exists()
    assert not [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")]  # no temporary file left
    code, _, err = cli(*argv, "--resume")
    assert code == 0, err
    record = json.loads((run_dir / "record.json").read_text())
    assert record["status"] == "ok" and record["train"]["steps"] == 20
