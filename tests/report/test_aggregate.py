"""Aggregation: rows per scheme over init seeds, paired comparison with the reference, group scores,
labels, LR searches and suites (bench.report.suites, metrics, rows, aggregate)."""

from pathlib import Path

import pytest
import yaml
from fake_records import baseline_records, make_record, one_suite, runs_of
from scipy import stats

from bench.report.aggregate import build_suites
from bench.report.metrics import task_groups
from bench.report.render import MISSING, lr_text, render
from bench.report.suites import derived_label

TASKS_DIR = Path(__file__).resolve().parents[2] / "tasks"


def test_aggregation_per_scheme_paired_against_the_reference(tmp_path):
    suite = one_suite(baseline_records(), tmp_path)
    assert suite.reference == "normal" and suite.headline == "bpb"
    rows = {r.label: r for r in suite.rows}
    assert [r.label for r in suite.rows] == ["gamma-1.0", "normal", "xavier"]  # ranked by bpb, lower first
    assert [r.rank for r in suite.rows] == [1, 2, 3]
    b, a = rows["gamma-1.0"], rows["normal"]
    assert b.summaries["bpb"].mean == pytest.approx((3.00 + 3.25 + 3.05) / 3)
    assert b.summaries["bpb"].std == pytest.approx(stats.tstd([3.00, 3.25, 3.05]))
    assert b.p == pytest.approx(stats.ttest_rel([3.00, 3.25, 3.05], [3.10, 3.30, 3.20]).pvalue)
    assert a.p is None  # the reference itself
    # xavier has seeds 0 and 1 only: paired on those two.
    assert rows["xavier"].p == pytest.approx(stats.ttest_rel([3.40, 3.50], [3.10, 3.30]).pvalue)
    # Token-bucket deltas are paired by seed: bucket losses are bpb + const, so Δ = Δbpb.
    paired = ((3.00 - 3.10) + (3.25 - 3.30) + (3.05 - 3.20)) / 3
    assert b.deltas["context_constrained"].mean == pytest.approx(paired)
    assert b.summaries["tokens_per_s"].mean == pytest.approx(1001.0)


def test_group_scores_are_chance_normalized_over_tasks_every_run_has(tmp_path):
    def ev(arc, piqa, sciq=None):
        out = {"arc_easy": {"acc": 0.5, "normalized": arc}, "piqa": {"acc": 0.6, "normalized": piqa}}
        if sciq is not None:
            out["sciq"] = {"acc": 0.4, "normalized": sciq}
        return out

    records = [make_record("normal", 0, eval_=ev(0.1, 0.3, 0.2)),
               make_record("normal", 1, eval_=ev(0.2, 0.5)),
               make_record("wang", 0, eval_={"piqa": {"normalized": 0.4}})]
    suite = one_suite(records, tmp_path)
    assert suite.groups == {"reasoning": ("piqa",), "knowledge": ("sciq",)}
    normal = next(r for r in suite.rows if r.label == "normal")
    assert normal.summaries["reasoning"].mean == pytest.approx(0.4)
    assert normal.summaries["knowledge"].n == 1


def test_missing_metrics_render_as_a_dash_and_diverged_runs_are_counted(tmp_path):
    records = [make_record("normal", s, bpb=3.0 + s / 10) for s in range(2)] + \
              [make_record("zero", 0, status="diverged"), make_record("zero", 1, bpb=None)]
    suite = one_suite(records, tmp_path)
    zero = next(r for r in suite.rows if r.label == "zero")
    assert zero.diverged == 1 and len(zero.runs) == 2 and zero.rank is None
    text = render([suite], "github")
    line = next(ln for ln in text.splitlines() if "| zero" in ln)
    assert line.split("|")[1].strip() == MISSING  # no rank
    assert MISSING in line and "| 1 " in line  # one diverged seed


def test_labels_are_derived_split_by_config_and_lr_trials_left_out(tmp_path):
    records = [make_record("x", s, method="gamma", gamma=0.5, n_layers=d, sweep=False)
               for s in range(2) for d in (2, 3)]
    records += [make_record("x", 0, method="normal", sweep=False),
                make_record("normal", 1, lr=1e-3, lr_search={"grid": [1e-3, 3e-3], "chosen": 3e-3}),
                make_record("normal", 1, lr=3e-3, lr_search={"grid": [1e-3, 3e-3], "chosen": 3e-3})]
    suite = one_suite(records, tmp_path)
    assert [r.label for r in suite.rows] == ["gamma-0.5 [n_layers=2]", "gamma-0.5 [n_layers=3]", "normal"]
    assert suite.reference == "normal" and suite.trials_left_out == 1
    normal = suite.rows[-1]
    assert sorted(normal.runs) == [0, 1] and normal.lr_tuned
    assert derived_label({"method": "mitchell", "seed": 3, "truncate": 3.0}) == "mitchell truncate=3"
    assert derived_label({"method": "gamma", "gamma": 0.35, "sigma": 0.02}) == "gamma-0.35"


def test_lr_search_keeps_the_chosen_lr_and_a_failed_search_still_shows(tmp_path):
    grid = [1e-3, 3e-3]
    records = []
    for gamma, chosen in ((0.5, 3e-3), (0.8, 1e-3), (1.2, None)):
        search = {"grid": grid, "chosen": chosen, "by": "best_val_loss"}
        status = "diverged" if chosen is None else "ok"
        ev = {"deduction": {"acc": 0.5 + gamma / 10}}
        records += [make_record(f"gamma-{gamma}", 0, gamma=gamma, lr=lr, lr_search=search, status=status,
                                eval_=ev) for lr in grid]
        if chosen is not None:
            records.append(make_record(f"gamma-{gamma}", 1, gamma=gamma, lr=chosen, lr_search=search,
                                       eval_=ev))
    suite = one_suite(records, tmp_path)
    assert suite.trials_left_out == 3
    rows = {r.label: r for r in suite.rows}
    assert sorted(rows) == ["gamma-0.5", "gamma-0.8", "gamma-1.2"]
    assert rows["gamma-1.2"].diverged == 1 and rows["gamma-1.2"].flat["optim.lr"] == 1e-3
    assert rows["gamma-0.8"].flat["optim.lr"] == 1e-3 and len(rows["gamma-0.8"].runs) == 2
    assert lr_text(rows["gamma-0.5"]) == "0.003"
    assert lr_text(rows["gamma-1.2"]) == "none finished"
    for run in rows["gamma-0.8"].runs.values():
        run.record["sweep"]["lr_search"]["interior"] = False
    assert lr_text(rows["gamma-0.8"]) == "0.001 edge"
    (sweep,) = suite.sweeps  # the tuned LR differs per γ and is still one sweep
    assert [p.gamma for p in sweep.points] == [0.5, 0.8, 1.2]
    assert suite.reasoning_metric == "deduction" and sweep.critical == 0.8  # 1.2 diverged


def test_groups_match_the_task_yaml():
    for key, tasks in task_groups().items():
        spec = yaml.safe_load((TASKS_DIR / f"initbench_{key}.yaml").read_text())
        assert tuple(spec["task"]) == tasks


# ------------------------------------------------------------------ suites

def test_mixed_suites_are_split_into_separate_tables(tmp_path, cli):
    records = baseline_records() + [make_record("normal", s, steps=200) for s in range(2)] + \
              [make_record("normal", s, corpus="anchor", seq_len=10) for s in range(2)]
    suites = build_suites(runs_of(records, tmp_path))
    assert [s.name for s in suites] == ["nano/anchor/16k-tok", "nano/mixture/205k-tok",
                                        "nano/mixture/410k-tok"]
    assert [len(s.runs) for s in suites] == [2, 8, 2]
    code, out, _ = cli("leaderboard", "--runs", tmp_path / "runs")
    assert code == 0 and out.count("### Leaderboard: ") == 3
    code, out, _ = cli("leaderboard", "--runs", tmp_path / "runs", "--suite", "nano/mixture/410k-tok")
    assert code == 0 and out.count("### Leaderboard: ") == 1 and "410k-tok" in out


def test_same_readable_name_different_data_get_hashes(tmp_path):
    other = make_record("normal", 0)
    other["config"]["data"]["sources"] = ["wiki:1.0"]
    names = [s.name for s in build_suites(runs_of([make_record("normal", 0), other], tmp_path))]
    assert len(names) == 2 and all(n.startswith("nano/mixture/205k-tok#") for n in names)


def test_precision_splits_suites_and_added_keys_do_not(tmp_path):
    old = make_record("normal", 0)  # a record from before data.synthetic / eval.protocol / precision
    new = make_record("normal", 1)
    new["config"]["data"]["synthetic"] = []
    new["config"]["eval"]["protocol"] = "quick"
    new["config"]["train"]["precision"] = "auto"
    new["train"]["precision"] = "fp32"
    bf16 = make_record("normal", 2)
    bf16["train"]["precision"] = "bf16"
    suites = build_suites(runs_of([old, new, bf16], tmp_path))
    assert [s.name for s in suites] == ["nano/mixture/205k-tok", "nano/mixture/205k-tok/bf16"]
    fp32 = suites[0]
    assert [sorted(r.runs) for r in fp32.rows] == [[0, 1]]  # old and new records: one scheme, one row


def test_a_single_synthetic_corpus_is_ranked_by_its_held_out_score(tmp_path):
    records = [make_record(label, seed, corpus="recall", bpb=None,
                           eval_={"recall": {"acc": acc + seed / 100}})
               for label, acc in (("normal", 0.9), ("gamma-1.0", 0.6)) for seed in (0, 1)]
    suite = one_suite(records, tmp_path)
    assert suite.headline == "recall"
    assert [(r.label, r.rank) for r in sorted(suite.rows, key=lambda r: r.rank)] == [("normal", 1),
                                                                                       ("gamma-1.0", 2)]
