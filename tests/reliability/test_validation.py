"""Every user mistake is refused before anything is created, fetched or trained: one line on stderr, exit
status 2, and the output tree and the data cache unchanged. Cases by class of mistake (issue #14) and
subcommand; `run` cases use the default preset and corpus, so a case that were wrongly accepted would
start fetching data rather than pass quietly."""

from pathlib import Path

import pytest

RUN = ["run", "--method", "gamma", "--gamma", "0.5", "--max-steps", "2", "--no-progress"]
SWEEP = ["sweep", "--methods", "gamma", "--gamma", "0.5", "--max-steps", "2"]

CASES = {
    # A run id is a single path component.
    "run-id climbs out": [*RUN, "--run-id", "../../x"],
    "run-id nests": [*RUN, "--run-id", "a/b"],
    "run-id dot": [*RUN, "--run-id", "."],
    "run-id hidden": [*RUN, "--run-id", ".x"],
    "run-id absolute": [*RUN, "--run-id", "/abs"],
    "run-id empty": [*RUN, "--run-id", ""],
    # An output path with a file on its way.
    "out under a file": [*RUN, "--out", "{tmp}/afile/runs"],
    "out is a file": [*RUN, "--out", "{tmp}/afile"],
    "sweep out under a file": [*SWEEP, "--out", "{tmp}/afile/x", "--dry-run"],
    "leaderboard out under a file": ["leaderboard", "--runs", "{tmp}", "--out", "{tmp}/afile/t.md"],
    "leaderboard figure under a file": ["leaderboard", "--runs", "{tmp}", "--figure", "{tmp}/afile/f"],
    "cache dir under a file": ["data", "list", "--cache-dir", "{tmp}/afile/c"],
    # Evaluation tasks resolved against tasks/ up front.
    "unknown eval task": [*RUN, "--eval-tasks", "nosuch_task"],
    "unknown periodic task": [*RUN, "--eval-every", "5", "--set=eval.every_tasks=['nosuch']"],
    "sweep unknown task": [*SWEEP, "--eval-tasks", "nosuch", "--out", "{tmp}/o"],
    "eval unknown task": ["eval", "{tmp}", "--tasks", "nosuch"],
    # Nonsensical values are refused, not replaced.
    "vocab below the byte alphabet": [*RUN, "--set=data.vocab_size=1"],
    "vocab 256": [*RUN, "--set=data.vocab_size=256"],
    "sweep vocab": [*SWEEP, "--set=data.vocab_size=1", "--out", "{tmp}/o"],
    "beta1 >= 1": [*RUN, "--set=optim.beta1=1.5"],
    "beta2 = 1": [*RUN, "--set=optim.beta2=1.0"],
    "eps 0": [*RUN, "--set=optim.eps=0"],
    "grad clip nan": [*RUN, "--set=optim.grad_clip=nan"],
    "rope base 0": [*RUN, "--set=model.rope_base=0"],
    "max_seq_len 0": [*RUN, "--set=model.max_seq_len=0"],
    "model vocab negative": [*RUN, "--set=model.vocab_size=-3"],
    "eval batches 0": [*RUN, "--set=train.eval_batches=0"],
    "spike window 0": [*RUN, "--set=train.spike_window=0"],
    "spike factor 0": [*RUN, "--set=train.spike_factor=0"],
    "negative seed": [*RUN, "--seed", "-1"],
    "data seed too large": [*RUN, "--set=data.seed=99999999999"],
    "eval seed negative": [*RUN, "--set=eval.seed=-1"],
    "empty periodic tasks": [*RUN, "--eval-every", "5", "--set=eval.every_tasks=[]"],
    "word tokenizer on text": [*RUN, "--set=data.tokenizer='word'"],
    "sweep grid value out of range": [*SWEEP, "--grid", "optim.beta2=0.9,1.0", "--out", "{tmp}/o"],
    "sweep empty name": [*SWEEP, "--name", " ", "--out", "{tmp}/o"],
    # Other subcommands' arguments.
    "eval batch size 0": ["eval", "{tmp}", "--batch-size", "0"],
    "eval seed negative (eval)": ["eval", "{tmp}", "--seed", "-5"],
    "eval unknown device": ["eval", "{tmp}", "--device", "nosuch"],
    "probe unknown device": ["probe", "{tmp}", "--device", "nosuch"],
    "inits width not a head multiple": ["inits", "--check", "--widths", "65"],
    "inits width 0": ["inits", "--check", "--widths", "0"],
    "inits steps negative": ["inits", "--check", "--steps", "-1"],
    "fetch archive missing": ["data", "fetch", "wiki", "--archive", "{tmp}/none.whl",
                              "--cache-dir", "{tmp}/c"],
    "leaderboard out is a directory": ["leaderboard", "--runs", "{tmp}", "--out", "{tmp}"],
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_mistake_is_one_line_exit_2_and_creates_nothing(tmp_path, cli, private_cache, case):
    (tmp_path / "afile").write_text("")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in CASES[case]]
    if argv[0] == "run" and "--out" not in argv:
        argv += ["--out", str(tmp_path / "runs")]
    before = sorted(tmp_path.rglob("*")), sorted(Path(private_cache).rglob("*"))
    code, _, err = cli(*argv)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert (sorted(tmp_path.rglob("*")), sorted(Path(private_cache).rglob("*"))) == before
