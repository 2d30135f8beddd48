"""The learnability table and its learning-curve figure (bench.report.learnability, figures.curve_files),
and the `learnability` kind of `python -m bench leaderboard` and its manifest. Expected numbers are
computed here by hand, not by the code under test."""

import math

import pytest
from fake_records import make_record, runs_of, write_runs

from bench.report.figures import curve_files
from bench.report.learnability import build_learnability, is_learned, render_learnability
from bench.report.metrics import METRIC

Z = 1.959963984540054  # z_0.975
T1 = 12.706204736174698  # t_0.975 with 1 degree of freedom


def task_record(label, seed, corpus, scores, chance, steps=100, curve=()):
    """A run trained on one task corpus: `scores` = {task: {metric: value}} with the task's chance."""
    eval_ = {task: {**values, "chance": chance} for task, values in scores.items()}
    record = make_record(label, seed, corpus=corpus, bpb=None, steps=steps, eval_=eval_)
    record["train"]["eval_curve"] = [{"step": s, **point} for s, point in curve]
    return record


def entries(suite):
    return {e.metric.key: e for e in suite.metrics}


def cells(text):
    """The cells of every table line of a GitHub document, stripped of tabulate's padding."""
    return [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()
            if line.startswith("|") and not line.startswith("|-")]


def test_learned_rule_at_the_threshold_and_at_chance():
    normalized = (0.6 - 0.5) / (1 - 0.5)  # 0.2 on paper, 0.19999999999999996 in floating point
    assert normalized < 0.2
    assert is_learned(normalized, 0.55, 0.5)  # exactly at the threshold counts
    assert not is_learned((0.599 - 0.5) / 0.5, 0.55, 0.5)
    assert not is_learned(0.9, 0.5, 0.5)  # an interval touching chance is not above it
    assert is_learned(0.9, 0.5000001, 0.5)
    assert not is_learned(0.9, None, 0.5)  # no interval, no evidence


def test_one_seed_uses_the_binomial_interval(tmp_path):
    rec = task_record("gamma-0.5", 0, "modadd", {"modadd": {"acc": 0.62, "acc_stderr": 0.01}}, 0.5)
    (suite,) = build_learnability(runs_of([rec], tmp_path))
    entry = entries(suite)["modadd"]
    cell = entry.cells["gamma-0.5"]
    assert (cell.n, cell.mean) == (1, 0.62)
    assert cell.ci_low == pytest.approx(0.62 - Z * 0.01, abs=1e-12)
    assert cell.ci_high == pytest.approx(0.62 + Z * 0.01, abs=1e-12)
    assert entry.best == ("gamma-0.5", pytest.approx(0.24))  # (0.62 - 0.5) / 0.5
    assert entry.learned is True
    row = ["modadd held-out", "modadd.acc", "0.500", "0.620 [0.600, 0.640] (1)", "0.240 (gamma-0.5)", "yes"]
    assert row in cells(render_learnability([suite], "github"))


def test_t_interval_over_seeds_and_best_scheme(tmp_path):
    records = [task_record("gamma-0.5", s, "modadd", {"modadd": {"acc": a}}, 0.5)
               for s, a in ((0, 0.6), (1, 0.8))]
    records += [task_record("normal", s, "modadd", {"modadd": {"acc": a}}, 0.5)
                for s, a in ((0, 0.5), (1, 0.52))]
    (suite,) = build_learnability(runs_of(records, tmp_path))
    entry = entries(suite)["modadd"]
    cell = entry.cells["gamma-0.5"]
    half = T1 * math.sqrt(0.02) / math.sqrt(2)  # sample std of (0.6, 0.8) is √0.02
    assert cell.mean == pytest.approx(0.7)
    assert (cell.ci_low, cell.ci_high) == (pytest.approx(0.7 - half), pytest.approx(0.7 + half))
    # gamma-0.5 is the best scheme, (0.7 − 0.5)/0.5 = 0.4, but its two-seed interval reaches below chance.
    assert entry.best == ("gamma-0.5", pytest.approx(0.4))
    assert entry.learned is False and entry.verdict == "no"


def test_chance_per_metric_from_a_mapping(tmp_path):
    chance = {"acc": 1 / 6, "acc_long": 0.1}
    scores = {"recall": {"acc": 0.5, "acc_stderr": 0.001, "acc_long": 0.55, "acc_long_stderr": 0.001}}
    (suite,) = build_learnability(runs_of([task_record("normal", 0, "recall", scores, chance)], tmp_path))
    by_key = entries(suite)
    assert by_key["recall"].chance == pytest.approx(1 / 6)
    assert by_key["recall_long"].chance == 0.1
    assert by_key["recall"].best[1] == pytest.approx((0.5 - 1 / 6) / (5 / 6))  # 0.4
    assert by_key["recall_long"].best[1] == pytest.approx((0.55 - 0.1) / 0.9)  # 0.5
    assert [e.verdict for e in suite.metrics] == ["yes", "yes"]
    rows = [row[:3] for row in cells(render_learnability([suite], "github"))]
    assert ["recall held-out", "recall.acc", "0.167"] in rows
    assert ["recall longer", "recall.acc_long", "0.100"] in rows


def test_diagnostic_is_not_judged_and_suites_stay_apart(tmp_path):
    anchor = {"anchor_unseen": {"acc_inferential": 0.9, "acc_inferential_stderr": 0.01, "acc_symmetric": 0.95,
                                "acc_symmetric_stderr": 0.01}}
    records = [task_record("gamma-0.5", 0, "anchor", anchor, 0.01),
               task_record("gamma-0.5", 0, "modadd", {"modadd": {"acc": 0.01, "acc_stderr": 0.002}}, 0.01)]
    suites = build_learnability(runs_of(records, tmp_path))
    assert [s.key.corpus for s in suites] == ["anchor", "modadd"]  # one block per suite, name order
    anchor_entries = entries(suites[0])
    assert set(anchor_entries) == {"anchor_inferential", "anchor_symmetric"}
    assert anchor_entries["anchor_symmetric"].verdict == "n/a"
    assert anchor_entries["anchor_inferential"].verdict == "yes"
    assert entries(suites[1])["modadd"].verdict == "no"  # normalized 0


def curve_records():
    curve = [(50, {"recall": {"acc": 0.3, "acc_long": 0.2}}), (100, {"recall": {"acc": 0.45}})]
    return [task_record(label, seed, "recall", {"recall": {"acc": 0.5 + 0.1 * seed, "acc_long": 0.4}},
                        {"acc": 1 / 6, "acc_long": 0.1}, curve=curve)
            for label in ("gamma-0.5", "normal") for seed in (0, 1)]


def test_curve_is_the_periodic_points_and_the_final_score():
    record = curve_records()[1]
    # The final score replaces the periodic one at the last step (100); acc_long lacks the 100 point.
    assert METRIC["recall"].curve(record) == [(50, 0.3), (100, 0.6)]
    assert METRIC["recall_long"].curve(record) == [(50, 0.2), (100, 0.4)]


def test_curve_figure_is_byte_reproducible(tmp_path):
    suites = build_learnability(runs_of(curve_records(), tmp_path))
    stem = tmp_path / "figs" / "curves"
    first, second = curve_files(suites, stem), curve_files(suites, stem)
    assert sorted(first) == [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    assert first == second
    assert first[stem.with_suffix(".png")].startswith(b"\x89PNG")
    assert not stem.parent.exists()  # bytes only: writing is the caller's
    # No curve at all (final scores only): no figure.
    flat = [task_record("normal", 0, "modadd", {"modadd": {"acc": 0.5}}, 0.01)]
    assert curve_files(build_learnability(runs_of(flat, tmp_path / "flat")), stem) == {}


# ------------------------------------------------------------------ command line and manifest

def test_cli_kind_learnability_writes_table_and_figure(tmp_path, cli):
    root = write_runs(tmp_path / "runs", curve_records())
    code, out, err = cli("leaderboard", "--runs", root, "--kind", "learnability", "--out", tmp_path / "l.md",
                         "--figure", tmp_path / "curves")
    assert code == 0 and out == "", err
    assert "### Learnability: nano/recall/205k-tok" in (tmp_path / "l.md").read_text()
    assert sorted(p.name for p in tmp_path.glob("curves.*")) == ["curves.png", "curves.svg"]
    code, _, err = cli("leaderboard", "--runs", root, "--kind", "learnability", "--reference", "normal")
    assert code == 2 and "`reference` does not apply to kind learnability" in err
    code, out, _ = cli("leaderboard", "--runs", root, "--kind", "learnability", "--format", "csv")
    assert code == 0 and out.splitlines()[0].startswith("suite,metric,task,score,chance,scheme,n,mean")
    assert len(out.splitlines()) == 1 + 2 * 2  # two metrics × two schemes


def test_manifest_kind_learnability_regenerates_and_checks(tmp_path, cli, monkeypatch):
    results = tmp_path / "results"
    write_runs(results / "cal" / "runs", curve_records())
    (results / "leaderboards.toml").write_text(
        '[[table]]\nkind = "learnability"\nout = "cal/learnability.md"\nruns = "cal/runs"\n'
        'figure = "cal/figures/accuracy-curves"\n\n'
        '[[table]]\nout = "cal.md"\nruns = "cal/runs"\n')
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("leaderboard")
    assert code == 0, err
    made = {p.relative_to(results / "cal").as_posix() for p in (results / "cal").rglob("*.*")
            if "runs" not in p.parts}
    assert made == {"learnability.md", "figures/accuracy-curves.png", "figures/accuracy-curves.svg"}
    assert "### Leaderboard:" in (results / "cal.md").read_text()
    code, out, _ = cli("leaderboard", "--check")
    assert code == 0 and "up to date: 4 files" in out
    (results / "cal" / "figures" / "accuracy-curves.svg").write_text("<svg/>")
    code, out, _ = cli("leaderboard", "--check")
    svg = results.relative_to(tmp_path) / "cal" / "figures" / "accuracy-curves.svg"
    assert code == 1 and out.splitlines() == [f"differs: {svg}"]


@pytest.mark.parametrize(("extra", "message"), [
    ('kind = "histogram"\n', "unknown kind 'histogram' (choose from leaderboard, learnability)"),
    ('kind = "learnability"\nheadline = "bpb"\n', "headline does not apply to kind learnability"),
    ("kind = 3\n", "`kind` must be a string"),
])
def test_manifest_refuses_unknown_kind_in_one_line(tmp_path, cli, extra, message):
    write_runs(tmp_path / "runs", curve_records())
    manifest = tmp_path / "m.toml"
    manifest.write_text(f'[[table]]\nout = "x.md"\nruns = "runs"\n{extra}')
    code, out, err = cli("leaderboard", "--manifest", manifest)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert not (tmp_path / "x.md").exists()
