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
    assert "| scheme" in lines[header] and "val bpb (↓)" in lines[header] and "p vs normal" in lines[header]
    assert set(lines[header + 1]) <= set("|-: ")
    assert "3.100 ± 0.132" in md  # gamma-1.0: mean ± std of 3.00, 3.25, 3.05
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


def test_rendering_is_deterministic_whatever_the_file_order(tmp_path):
    records = baseline_records()
    first = render(build_suites(load_runs(write_runs(tmp_path / "a", records))), "github")
    second = render(build_suites(load_runs(write_runs(tmp_path / "b", records[::-1]))), "github")
    assert first == second
