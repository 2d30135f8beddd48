"""Faults: a checkpoint write that fails (file size limit, as a full disk) is one clear error and leaves
the previous checkpoint intact."""

import subprocess
import sys
import textwrap
from pathlib import Path

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
