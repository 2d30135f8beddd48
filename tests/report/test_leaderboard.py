"""`python -m bench leaderboard`: statistics, aggregation, suites, critical γ, formats, bad input, manifest.

Records are small hand-made dicts with only the keys the leaderboard reads; no training happens here.
"""

import csv
import io
import json
import re
from pathlib import Path

import pytest
import yaml
from scipy import special, stats

from bench.report import leaderboard as lb

TASKS_DIR = Path(__file__).resolve().parents[2] / "tasks"
BPB = {  # (scheme, init seed) -> val bpb: B is better than A at every seed, C has two seeds
    ("normal", 0): 3.10, ("normal", 1): 3.30, ("normal", 2): 3.20,
    ("gamma-1.0", 0): 3.00, ("gamma-1.0", 1): 3.25, ("gamma-1.0", 2): 3.05,
    ("xavier", 0): 3.40, ("xavier", 1): 3.50,
}


def make_record(label, seed, *, method=None, gamma=None, status="ok", bpb=3.0, train_loss=4.0,
                val_loss=4.1, corpus="mixture", preset="nano", steps=100, batch_size=16, seq_len=128,
                n_layers=4, lr=3e-3, eval_=None, buckets=None, spikes=0, sweep=True, lr_search=None):
    """A minimal run record; `sweep` False leaves the label to be derived from config.init."""
    method = method or ("gamma" if gamma is not None else label)
    record = {
        "status": status,
        "run_id": f"{label}-seed{seed}-{n_layers}-{steps}-{corpus}-{lr}",
        "config": {
            "preset": preset,
            "model": {"n_layers": n_layers, "d_model": 128},
            "init": {"method": method, "seed": seed, "gamma": gamma, "sigma": 0.02},
            "optim": {"lr": lr},
            "data": {"corpus": corpus, "seed": 0, "seq_len": seq_len, "vocab_size": 2048},
            "train": {"max_steps": steps, "batch_size": batch_size, "device": "auto"},
            "eval": {"tasks": ["initbench_default"], "limit": 200},
        },
        "env": {"device_name": "test cpu"},
        "data": {"corpus": corpus, "vocab_size": 2048, "seq_len": seq_len,
                 "token_cache": {"key": {"format": 1, "sources": {corpus: {"seed": seed}}}}},
        "train": {"steps": steps, "final_loss": train_loss, "best_val_loss": val_loss, "spikes": spikes,
                  "tokens_per_s": 1000.0 + seed},
        "eval": {"val_text": {"bits_per_byte": bpb}} if bpb is not None else {},
        "groups": {},
        "probes": {"tokens": {"buckets": buckets} if buckets else {}, "structure": {}},
    }
    record["eval"].update(eval_ or {})
    if status == "diverged":
        record["train"]["final_loss"] = None
        record["eval"] = {}
    if sweep:
        record["sweep"] = {"name": "test", "label": label, "lr_search": lr_search}
    return record


def write_runs(root, records):
    for i, record in enumerate(records):
        path = root / f"{i:03d}-{record['run_id']}" / "record.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(record))
    return root


def baseline_records():
    return [make_record(label, seed, bpb=bpb, buckets={b: {"mean_loss": bpb + i} for i, b in
                                                       enumerate(lb.BUCKETS)})
            for (label, seed), bpb in sorted(BPB.items())]


def runs_of(records, tmp_path):
    return lb.load_runs(write_runs(tmp_path / "runs", records))


def one_suite(records, tmp_path, **kwargs):
    suites = lb.build_suites(runs_of(records, tmp_path), **kwargs)
    assert len(suites) == 1
    return suites[0]


# ------------------------------------------------------------------ statistics

def test_incomplete_beta_and_t_distribution_match_scipy():
    for a, b, x in [(0.5, 0.5, 0.3), (1.5, 0.5, 0.9), (2.0, 3.0, 0.4), (10.0, 0.5, 0.99), (0.5, 20.0, 0.01)]:
        assert lb.regularized_beta(a, b, x) == pytest.approx(special.betainc(a, b, x), rel=1e-10, abs=1e-14)
    for df in (1, 2, 3, 7, 30):
        for t in (0.0, 0.3, 1.0, 2.5, 10.0):
            assert lb.t_two_sided_p(t, df) == pytest.approx(2 * stats.t.sf(t, df), rel=1e-9, abs=1e-15)
        for q in (0.6, 0.9, 0.975, 0.995):
            assert lb.t_quantile(q, df) == pytest.approx(stats.t.ppf(q, df), rel=1e-9)


def test_summary_and_paired_test_match_scipy_and_hand_values():
    values = [3.0, 3.25, 3.05]
    s = lb.summarize(values)
    assert s.n == 3 and s.mean == pytest.approx(sum(values) / 3)
    assert s.std == pytest.approx(stats.tstd(values))
    low, high = stats.t.interval(0.95, 2, loc=s.mean, scale=stats.sem(values))
    assert (s.ci_low, s.ci_high) == (pytest.approx(low), pytest.approx(high))
    assert lb.summarize([2.0]) == lb.Summary(1, 2.0)  # no std or CI from one seed
    assert lb.summarize([]) == lb.Summary()
    x, y = [3.0, 3.25, 3.05, 2.9], [3.1, 3.3, 3.2, 3.0]
    assert lb.paired_t_test(x, y) == pytest.approx(stats.ttest_rel(x, y).pvalue, rel=1e-9)
    # Differences 1, 2, 3: t = 2 / (1 / √3) = 2√3 with 2 degrees of freedom.
    by_hand = 2 * stats.t.sf(2 * 3 ** 0.5, 2)
    assert lb.paired_t_test([1.0, 2.0, 3.0], [0.0, 0.0, 0.0]) == pytest.approx(by_hand)
    assert lb.paired_t_test([1.0], [0.0]) is None
    assert lb.paired_t_test([1.0, 2.0], [1.0, 2.0]) is None


# ------------------------------------------------------------------ aggregation

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
    text = lb.render([suite], "github")
    line = next(ln for ln in text.splitlines() if "| zero" in ln)
    assert line.split("|")[1].strip() == lb.MISSING  # no rank
    assert lb.MISSING in line and "| 1 " in line  # one diverged seed


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
    assert lb.derived_label({"method": "mitchell", "seed": 3, "truncate": 3.0}) == "mitchell truncate=3"
    assert lb.derived_label({"method": "gamma", "gamma": 0.35, "sigma": 0.02}) == "gamma-0.35"



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
    assert lb.lr_text(rows["gamma-0.5"]) == "yes (0.003)"
    (sweep,) = suite.sweeps  # the tuned LR differs per γ and is still one sweep
    assert [p.gamma for p in sweep.points] == [0.5, 0.8, 1.2]
    assert suite.reasoning_metric == "deduction" and sweep.critical == 0.8  # 1.2 diverged

def test_groups_match_the_task_yaml():
    for key, tasks in lb.GROUPS.items():
        spec = yaml.safe_load((TASKS_DIR / f"initbench_{key}.yaml").read_text())
        assert tuple(spec["task"]) == tasks


# ------------------------------------------------------------------ suites

def test_mixed_suites_are_split_into_separate_tables(tmp_path, cli):
    records = baseline_records() + [make_record("normal", s, steps=200) for s in range(2)] + \
              [make_record("normal", s, corpus="anchor", seq_len=10) for s in range(2)]
    suites = lb.build_suites(runs_of(records, tmp_path))
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
    names = [s.name for s in lb.build_suites(runs_of([make_record("normal", 0), other], tmp_path))]
    assert len(names) == 2 and all(n.startswith("nano/mixture/205k-tok#") for n in names)


# ------------------------------------------------------------------ critical γ

def test_critical_gamma_on_a_synthetic_curve():
    def curve(losses, scores, diverged=None):
        diverged = diverged or [0] * len(losses)
        return [lb.GammaPoint(0.3 + 0.1 * i, loss, score, d)
                for i, (loss, score, d) in enumerate(zip(losses, scores, diverged, strict=True))]

    # Reasoning rises with γ; training degrades beyond γ = 0.7 (index 4).
    losses = [2.00, 1.98, 2.00, 2.02, 2.05, 2.60, 4.60]
    scores = [0.10, 0.12, 0.20, 0.35, 0.50, 0.90, 0.95]
    assert lb.critical_gamma(curve(losses, scores)) == pytest.approx(0.7)
    # γ = 0.8 and 0.9 reason best but do not train: the tolerance excludes them.
    assert {round(p.gamma, 1) for p in lb.trainable(curve(losses, scores))} == {0.3, 0.4, 0.5, 0.6, 0.7}
    # A larger tolerance lets γ = 0.8 in.
    assert lb.critical_gamma(curve(losses, scores), rel_tol=0.5) == pytest.approx(0.8)
    # One diverged seed disqualifies a γ even when its finished seeds look good.
    assert lb.critical_gamma(curve(losses, scores, [0, 0, 0, 0, 1, 0, 0])) == pytest.approx(0.6)
    # Nothing trains -> none; no reasoning score -> none.
    assert lb.critical_gamma(curve([None] * 3, [0.1, 0.2, 0.3], [2, 2, 2])) is None
    assert lb.critical_gamma(curve([2.0, 2.0], [None, None])) is None
    # Ties in the score go to the lower loss.
    assert lb.critical_gamma(curve([2.0, 1.99], [0.5, 0.5])) == pytest.approx(0.4)
    # The absolute floor: near-zero losses 0.01 and 0.04 both count as trained.
    assert lb.critical_gamma(curve([0.01, 0.04], [0.1, 0.9])) == pytest.approx(0.4)


def anchor_records():
    """γ ∈ {0.5, 0.8, 1.2} × depth {2, 3}, two seeds: γ = 1.2 does not train at depth 3."""
    out = []
    for gamma, depth, seed in [(g, d, s) for g in (0.5, 0.8, 1.2) for d in (2, 3) for s in (0, 1)]:
        inf = {0.5: 0.1, 0.8: 0.7, 1.2: 0.9}[gamma] + 0.01 * seed
        loss = 4.5 if (gamma, depth) == (1.2, 3) else 0.5 + 0.01 * seed
        out.append(make_record(f"gamma-{gamma:.1f}", seed, gamma=gamma, n_layers=depth, corpus="anchor",
                               seq_len=10, bpb=None, train_loss=loss,
                               eval_={"anchor_unseen": {"acc_inferential": inf, "acc_symmetric": 1 - inf}}))
    return out


def test_anchor_suite_gets_a_phase_diagram_and_critical_gamma_per_depth(tmp_path):
    suite = one_suite(anchor_records(), tmp_path)
    assert suite.headline == "anchor_inferential" and suite.reasoning_metric == "anchor_inferential"
    assert suite.reference == "gamma-0.5 [n_layers=2]"
    assert [(s.family, s.critical) for s in suite.sweeps] == [("n_layers=2", 1.2), ("n_layers=3", 0.8)]
    (phase,) = suite.phases
    assert phase.gammas == [0.5, 0.8, 1.2] and phase.depths == [2, 3]
    text = lb.render([suite], "github")
    assert "### Phase diagram: nano/anchor/16k-tok" in text
    compact = re.sub(" +", " ", text)
    assert "| 0.8 | 0.70 / 0.30 | 0.70 / 0.30* |" in compact  # the critical γ of depth 3
    assert "| 1.2 | 0.91 / 0.09* | 0.91 / 0.09 † |" in compact  # depth 3 does not train at γ = 1.2
    assert "Critical γ (n_layers=3): 0.8" in text


# ------------------------------------------------------------------ formats

def test_every_format_renders(tmp_path):
    suite = one_suite(baseline_records(), tmp_path)
    md = lb.render([suite], "github")
    lines = md.splitlines()
    header = next(i for i, ln in enumerate(lines) if ln.startswith("| rank"))
    assert lines[0] == "### Leaderboard: nano/mixture/205k-tok"
    assert "| scheme" in lines[header] and "val bpb (↓)" in lines[header] and "p vs normal" in lines[header]
    assert set(lines[header + 1]) <= set("|-: ")
    assert "3.100 ± 0.132" in md  # gamma-1.0: mean ± std of 3.00, 3.25, 3.05
    tex = lb.render([suite], "latex")
    assert "\\begin{tabular}" in tex and "\\end{tabular}" in tex
    assert "% Leaderboard: nano/mixture/205k-tok" in tex
    page = lb.render([suite], "html")
    assert "<table>" in page and "<h3>Leaderboard: nano/mixture/205k-tok</h3>" in page
    rows = list(csv.DictReader(io.StringIO(lb.render([suite], "csv"))))
    assert [r["scheme"] for r in rows] == ["gamma-1.0", "normal", "xavier"]
    g = rows[0]
    assert g["suite"] == "nano/mixture/205k-tok" and g["seeds"] == "3" and g["reference"] == "normal"
    assert float(g["bpb_mean"]) == pytest.approx(3.1, rel=1e-6) and g["bpb_n"] == "3"
    assert float(g["bpb_ci_low"]) < 3.1 < float(g["bpb_ci_high"])
    p = stats.ttest_rel([3.00, 3.25, 3.05], [3.10, 3.30, 3.20]).pvalue
    assert float(g["p_headline"]) == pytest.approx(p, rel=1e-5)
    assert rows[1]["p_headline"] == "" and rows[2]["bpb_std"] != ""


def test_rendering_is_deterministic_whatever_the_file_order(tmp_path):
    records = baseline_records()
    first = lb.render(lb.build_suites(lb.load_runs(write_runs(tmp_path / "a", records))), "github")
    second = lb.render(lb.build_suites(lb.load_runs(write_runs(tmp_path / "b", records[::-1]))), "github")
    assert first == second


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

