"""Leaderboard comparisons per document (bench.report.compare) and the headline table's shape
(bench.report.tables), on hand-made records with per-document outputs."""

import json

import numpy as np
import pytest
from fake_records import baseline_records, make_record, one_suite, write_runs

from bench.evaluate.documents import merge_docs
from bench.record.schema import BUCKETS
from bench.report.aggregate import build_suites
from bench.report.compare import FALLBACK
from bench.report.records import load_runs
from bench.report.render import render
from bench.report.tables import headline_block, mde_lines

N_DOCS = 2000
CHANCE = 0.25


def reasoning_records(schemes=("normal", "better", "same"), seeds=(0, 1, 2)):
    """arc_easy scored for every scheme and seed; the per-document outputs are written by `with_docs`."""
    out = []
    for label in schemes:
        for seed in seeds:
            ev = {"arc_easy": {"acc": 0.5, "chance": CHANCE, "normalized": 0.5, "n": N_DOCS}}
            record = make_record(label, seed, bpb=3.0 + seed / 10, eval_=ev)
            out.append(record)
    return out


def doc_outcomes(label: str, seed: int) -> np.ndarray:
    """Shared per-document difficulty; `better` is right on a further 3% of the documents."""
    rng = np.random.default_rng(100)
    difficulty = rng.uniform(0.2, 0.8, N_DOCS)
    luck = np.random.default_rng(seed).random(N_DOCS)
    return luck < difficulty + (0.03 if label == "better" else 0.0)


def with_docs(suite_runs, skip=()):
    for run in suite_runs:
        label, seed = run.record["sweep"]["label"], run.record["config"]["init"]["seed"]
        if label in skip:
            continue
        correct = doc_outcomes(label, seed)
        # The scores in the record agree with the documents, as after a real scoring.
        run.record["eval"]["arc_easy"]["acc"] = float(correct.mean())
        merge_docs(run.path.parent, {"arc_easy": {
            "doc_id": list(range(N_DOCS)), "metrics": {"acc": [int(c) for c in correct]},
            "gold_ll": None, "best_ll": None, "loglik": None, "bytes": None}})


def suite_with_docs(tmp_path, skip=()):
    root = write_runs(tmp_path / "runs", reasoning_records())
    runs = load_runs(root)
    with_docs(runs, skip)
    for run in runs:  # rewrite the records with the document-consistent scores
        run.path.write_text(json.dumps(run.record))
    (suite,) = build_suites(load_runs(root), reference="normal")
    return suite


def test_columns_with_documents_use_the_paired_bootstrap(tmp_path):
    suite = suite_with_docs(tmp_path)
    better, p_holm = suite.comparison("task:arc_easy", "better")
    expected = np.mean([doc_outcomes("better", s).mean() - doc_outcomes("normal", s).mean()
                        for s in range(3)])
    assert better.test == "bootstrap" and better.documents == N_DOCS and better.seeds == 3
    assert better.delta == pytest.approx(expected / (1 - CHANCE))
    assert better.ci_low > 0 and better.p < 0.01 and p_holm == pytest.approx(min(1.0, 2 * better.p))
    same, _ = suite.comparison("task:arc_easy", "same")
    assert same.delta == 0.0 and same.p == 1.0  # identical outputs
    # The group score is the task's here (one task): the same comparison.
    assert suite.comparison("reasoning", "better")[0].delta == pytest.approx(better.delta)
    # Val bpb has no per-document outputs in these records: the seed-level test, marked as such.
    assert suite.comparison("bpb", "better")[0].test == "t"
    mde, test = suite.comparisons.mde["task:arc_easy"]
    assert test == "bootstrap" and 0 < mde < 0.05
    md = render([suite], "github")
    assert "arc_easy (norm.) 0.0" in md
    assert "paired bootstrap over seeds × documents, 3 seeds × 2,000 documents" in md
    assert FALLBACK in md


def test_a_run_without_documents_falls_back_to_the_seed_level_test(tmp_path):
    suite = suite_with_docs(tmp_path, skip=("same",))
    assert suite.comparison("task:arc_easy", "better")[0].test == "bootstrap"
    assert suite.comparison("task:arc_easy", "same")[0].test == "t"


def test_a_column_whose_differences_do_not_vary_has_no_mde(tmp_path):
    # Every scheme scores exactly as the reference at every seed (as when no run has a loss spike): a zero
    # standard error sizes no effect, so the note says so instead of an MDE of 0.
    (suite,) = build_suites(load_runs(write_runs(tmp_path / "runs", reasoning_records())), reference="normal")
    assert suite.comparisons.mde["bpb"] == (None, "t")
    (note,) = mde_lines(suite)
    assert "val bpb none (the differences do not vary) (paired t-test over seeds: no per-document outputs, " \
           "3 seeds)" in note
    # One seed: no paired test at all, so no note rather than one calling the columns invariant.
    (one,) = build_suites(load_runs(write_runs(tmp_path / "one", reasoning_records(seeds=(0,)))),
                          reference="normal")
    assert one.comparisons.mde["bpb"] == (None, None) and mde_lines(one) == []


def test_headline_table_has_at_most_ten_columns(tmp_path):
    records = []
    for label in ("normal", "he", "xavier"):
        for seed in (0, 1):
            ev = {t: {"acc": 0.4, "chance": CHANCE, "normalized": 0.2, "n": 100}
                  for t in ("arc_easy", "piqa", "hellaswag", "openbookqa", "sciq", "boolq")}
            ev.update({"anchor_unseen": {"acc_inferential": 0.1, "acc_symmetric": 0.2},
                       "deduction": {"acc": 0.5, **{f"acc_hop{h}": 0.5 for h in range(1, 6)}}})
            buckets = {b: {"mean_loss": 1.0 + seed} for b in BUCKETS}
            records.append(make_record(label, seed, eval_=ev, buckets=buckets,
                                       lr_search={"grid": [1e-3, 3e-3], "chosen": 3e-3, "by": "x",
                                                  "selected": True, "interior": False}))
    for headline in (None, "anchor_inferential", "deduction"):
        suite = one_suite(records, tmp_path / str(headline), headline=headline)
        block = headline_block(suite)
        assert len(block.headers) <= 10, block.headers
        assert block.headers[:4] == ["rank", "scheme", "LR", "seeds"] and block.headers[-1] == "diverged"
        assert block.rows[0][2] == "0.003 edge"
    assert len(headline_block(one_suite(baseline_records(), tmp_path / "b")).headers) <= 10


def test_lr_search_trials_draw_a_loss_vs_lr_figure(tmp_path):
    from bench.report.figures import figure_files

    records = []
    for label, best in (("normal", 1e-3), ("he", 3e-3)):
        trials = [{"lr": lr, "run_id": f"{label}-{lr}", "status": "ok", "best_val_loss": 3.0 + abs(lr - best)}
                  for lr in (3e-4, 1e-3, 3e-3, 1e-2)]
        search = {"grid": [3e-4, 1e-3, 3e-3, 1e-2], "chosen": best, "by": "best_val_loss", "selected": True,
                  "interior": True, "trials": trials}
        records += [make_record(label, seed, lr=best, lr_search=search) for seed in (0, 1)]
    suite = one_suite(records, tmp_path)
    files = figure_files([suite], tmp_path / "fig" / "t")
    assert sorted(p.name for p in files) == ["t-lr.png", "t-lr.svg"]
    assert files == figure_files([suite], tmp_path / "fig" / "t")  # byte-stable
