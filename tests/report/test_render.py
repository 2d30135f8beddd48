"""Every output format of a leaderboard (bench.report.render), and its determinism."""

import csv
import io

import pytest
from fake_records import baseline_records, one_suite, write_runs
from scipy import stats

from bench.report.aggregate import build_suites
from bench.report.records import load_runs
from bench.report.render import render


def test_every_format_renders(tmp_path):
    suite = one_suite(baseline_records(), tmp_path)
    md = render([suite], "github")
    lines = md.splitlines()
    header = next(i for i, ln in enumerate(lines) if ln.startswith("| rank"))
    assert lines[0] == "### Leaderboard: nano/mixture/205k-tok"
    assert "| scheme" in lines[header] and "val bpb (↓)" in lines[header]
    assert "p val bpb (Holm)" in lines[header]
    assert set(lines[header + 1]) <= set("|-: ")
    assert "3.100 ± 0.329" in md  # gamma-1.0: mean ± 95% t half-width of 3.00, 3.25, 3.05 (headline)
    assert "3.100 ± 0.132" in md  # the same as mean ± std (scores table)
    titles = [ln for ln in lines if ln.startswith("### ")]
    assert [t.split(":")[0] for t in titles] == ["### Leaderboard", "### Scores", "### Paired comparisons",
                                                "### Token buckets", "### Speed and stability"]
    assert "- Minimum detectable effect vs the reference" in md
    tex = render([suite], "latex")
    assert "\\begin{tabular}" in tex and "\\end{tabular}" in tex
    assert "% Leaderboard: nano/mixture/205k-tok" in tex
    page = render([suite], "html")
    assert "<table>" in page and "<h3>Leaderboard: nano/mixture/205k-tok</h3>" in page
    rows = list(csv.DictReader(io.StringIO(render([suite], "csv"))))
    assert [r["scheme"] for r in rows] == ["gamma-1.0", "normal", "xavier"]
    g = rows[0]
    assert g["suite"] == "nano/mixture/205k-tok" and g["seeds"] == "3" and g["reference"] == "normal"
    assert float(g["bpb_mean"]) == pytest.approx(3.1, rel=1e-6) and g["bpb_n"] == "3"
    assert float(g["bpb_ci_low"]) < 3.1 < float(g["bpb_ci_high"])
    p = stats.ttest_rel([3.00, 3.25, 3.05], [3.10, 3.30, 3.20]).pvalue
    assert float(g["p_headline"]) == pytest.approx(p, rel=1e-5)
    assert rows[1]["p_headline"] == "" and rows[2]["bpb_std"] != ""
    # Every column stays in the CSV: the comparison with the reference too.
    assert float(g["vs_ref_bpb_p"]) == pytest.approx(p, rel=1e-5) and g["vs_ref_bpb_test"] == "t"
    assert float(g["vs_ref_bpb_delta"]) == pytest.approx(-0.1) and g["lr_chosen"] == ""


def test_rendering_is_deterministic_whatever_the_file_order(tmp_path):
    records = baseline_records()
    first = render(build_suites(load_runs(write_runs(tmp_path / "a", records))), "github")
    second = render(build_suites(load_runs(write_runs(tmp_path / "b", records[::-1]))), "github")
    assert first == second


def _with_provenance(record, limit, lm_eval="0.4.13"):
    record["evaluation"] = {"tasks": {"val_text": {"limit": limit, "documents": limit, "seed": 1234,
                                                   "batch_size": 64, "lm_eval": lm_eval}}}
    return record


def test_scores_obtained_under_different_provenance_are_marked(tmp_path, capsys):
    records = baseline_records()
    records[0] = _with_provenance(records[0], None)  # one run's val_text scored on the full split
    for record in records[1:]:
        _with_provenance(record, 200)
    suite = one_suite(records, tmp_path)
    assert suite.mixed == {"val_text": {"full split, seed 1234, lm-eval 0.4.13": 1,
                                        "limit 200, seed 1234, lm-eval 0.4.13": 7}}
    assert "val_text was scored under different conditions" in capsys.readouterr().err
    md = render([suite], "github")
    header = next(ln for ln in md.splitlines() if ln.startswith("| rank"))
    assert "val bpb (↓) ‡" in header  # the headline reads val_text
    assert "- ‡ val_text was scored under different conditions across this suite's runs (full split, " \
           "seed 1234, lm-eval 0.4.13: 1 runs; limit 200, seed 1234, lm-eval 0.4.13: 7 runs)" in md
    assert "$\\ddagger$" in render([suite], "latex")


def test_unknown_or_equal_provenance_marks_nothing(tmp_path):
    # Records written before provenance was kept (baseline_records has none) next to known ones: unknown
    # is not a difference, so old committed tables keep regenerating byte for byte.
    records = baseline_records()
    for record in records[:4]:
        _with_provenance(record, 200)
    plain = render([one_suite(baseline_records(), tmp_path / "a")], "github")
    suite = one_suite(records, tmp_path / "b")
    assert suite.mixed == {}
    assert render([suite], "github") == plain and "‡" not in plain
