"""Presets: the `reasoning` preset trains on the reasoning suite's training splits and scores the suite;
generator knobs (`data.synthetic`) are refused with one line before anything is created."""

import pytest

from bench.config import build_config
from bench.core.errors import BenchError
from bench.data import synthetic
from bench.data.corpus import parse_sources, synthetic_knobs, tokenizer_kind
from bench.evaluate.catalog import check_tasks


def test_reasoning_preset_is_the_suite():
    cfg = build_config("reasoning")
    sources = parse_sources(cfg.data)
    assert set(sources) == {"anchor", "rsnmem", "deduction-chain", "modadd", "recall"}
    assert all(name in synthetic.GENERATORS for name in sources)
    assert tokenizer_kind(cfg.data) == "word" and cfg.data.loss_on == "answers"
    assert cfg.eval.tasks == ["initbench_reasoning_suite"] and cfg.eval.limit is None
    check_tasks(cfg.eval.tasks, "eval.tasks")  # the group and its tasks exist in tasks/


def test_knobs_travel_through_the_config():
    cfg = build_config("reasoning", None, {"data": {"synthetic": ["modadd.p=31", "recall.n_pairs=4"]}})
    assert synthetic_knobs(cfg.data) == {"modadd": {"p": 31}, "recall": {"n_pairs": 4}}
    with pytest.raises(BenchError, match="expected a list"):
        build_config("reasoning", None, {"data": {"synthetic": "modadd.p=31"}})


@pytest.mark.parametrize("item, message", [("modadd.q=3", "no knob 'q'"), ("wiki.p=3", "not a synthetic"),
                                           ("recall.n_pairs=40", "at most half")])
def test_bad_knob_is_one_line_and_exit_2(tmp_path, cli, item, message):
    out = tmp_path / "runs"
    code, _, err = cli("run", "--preset", "reasoning", f"--set=data.synthetic=['{item}']", "--out", out,
                       "--no-progress")
    assert code == 2 and message in err and err.count("\n") == 1
    assert not out.exists()
