"""Each claim's figure (bench/verdict/figures.py, docs/verdict.md#figures): a forest plot beside the claim's
table once a line is decided, byte-stable, linked from the claim's section; none while every line is
pending or for a table-only claim."""

import math

import matplotlib.pyplot as plt
from verdict_fixtures import claim, line, record, write_manifest, write_runs

from bench.cli.verdict import planner
from bench.report.stats import PairedResult
from bench.verdict.evidence import LineResult
from bench.verdict.figures import claim_figure
from bench.verdict.generate import verdict_files
from bench.verdict.manifest import load_manifest

BASE = [3.00, 3.20, 3.10, 3.30, 3.05]
DECIDED = line(setting="decided")  # γ 1.0 vs γ 0.5 at 5 seeds
NEVER_RUN = line(setting="never run", scheme='{"init.gamma" = 2.0}')


def records():
    """γ 0.5 at BASE, γ 1.0 0.05 bpb lower at every seed."""
    return [record(0.5, s, bpb=b) for s, b in enumerate(BASE)] + \
        [record(1.0, s, bpb=b - 0.05 + 0.001 * s) for s, b in enumerate(BASE)]


def section(text, cid):
    """A claim's section of VERDICT.md."""
    return text.split(f"## {cid}:")[1].split("\n## ")[0]


def test_a_decided_claim_gets_a_forest_plot_beside_its_table(tmp_path):
    write_runs(tmp_path / "runs" / "s", records())
    path = write_manifest(tmp_path, claim([DECIDED, NEVER_RUN], table="verdict/C1.md"),
                          claim([NEVER_RUN], cid="C2", table="verdict/C2.md"))
    manifest = load_manifest(path)
    files = verdict_files(manifest, planner)
    png, svg = tmp_path / "verdict" / "C1.png", tmp_path / "verdict" / "C1.svg"
    assert set(files) == {tmp_path / "VERDICT.md", tmp_path / "verdict" / "C1.md",
                          tmp_path / "verdict" / "C2.md", png, svg}  # C2: every line pending, no figure
    assert files[png].startswith(b"\x89PNG\r\n\x1a\n") and b"<svg" in files[svg][:2000]
    text = files[svg].decode()
    assert "C1.1 decided" in text and "C1.2 never run" in text and "pending" in text
    assert verdict_files(manifest, planner) == files  # byte-stable
    verdict = files[tmp_path / "VERDICT.md"].decode()
    own = files[tmp_path / "verdict" / "C1.md"].decode()
    assert f"Figure: [{png}](verdict/C1.png)" in section(verdict, "C1")
    assert f"Figure: [{png}](C1.png)" in own  # relative to the claim table's own folder
    assert "Figure:" not in section(verdict, "C2")
    assert "Figure:" not in files[tmp_path / "verdict" / "C2.md"].decode()


def test_a_claim_without_a_table_draws_under_verdict_and_a_table_only_claim_draws_nothing(tmp_path):
    write_runs(tmp_path / "runs" / "s", records())
    table = claim([], cid="C2").replace('gpu = "none"\n',
                                        'gpu = "none"\nleaderboard = "board.md"\nsweep = "s"\n')
    files = verdict_files(load_manifest(write_manifest(tmp_path, claim([DECIDED]), table)), planner)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in files) == \
        ["VERDICT.md", "board.md", "verdict/C1.png", "verdict/C1.svg"]
    assert "](verdict/C1.png)" in files[tmp_path / "VERDICT.md"].decode()


def test_lines_in_other_units_get_a_panel_each_and_a_critical_gamma_draws_on_the_gamma_axis(tmp_path):
    gamma = ('setting = "g"\nsweep = "s"\nkind = "critical_gamma"\nmetric = "rsnmem_heldout"\n'
             'scheme = {"data.corpus" = "rsnmem"}\ngammas = [0.3, 0.5, 0.7, 0.9]\nmin_seeds = 3\n')
    lines = [line(extra="sesoi = 0.01\n"), line(metric="anchor_inferential", expect="higher"), line(), gamma,
             gamma.replace('"g"', '"h"')]
    (c,) = load_manifest(write_manifest(tmp_path, claim(lines))).claims
    boot = "bootstrap over seeds"
    results = [LineResult("reproduced", 5, PairedResult(-0.05, -0.07, -0.03, 0.001, 0.01, "t", 5, 0), 0.002),
               LineResult("pending", 1),
               LineResult("refuted", 5, PairedResult(0.004, -0.001, 0.009, 0.1, 0.003, "t", 5, 0), 0.2),
               LineResult("reproduced", 3, PairedResult(0.5, 0.5, 0.7, None, 0.1, boot, 3, 0), critical=0.5),
               # No resample had a critical γ: the CI opens below the swept range.
               LineResult("inconclusive", 3,
                          PairedResult(math.nan, -math.inf, -math.inf, None, 0.0, boot, 3, 0))]
    fig = claim_figure(c, results)
    panels = [ax.get_xlabel() for ax in fig.axes]
    assert panels == ["Δ val bpb (scheme − reference)", "Δ anchor inferential (scheme − reference)",
                      "critical γ (swept range shaded)"]
    rows = [[t.get_text() for t in ax.get_yticklabels()] for ax in fig.axes]
    assert rows[0] == ["C1.1 a setting\nclaimed: Δ < 0, SESOI 0.01", "C1.3 a setting\nclaimed: Δ < 0"]
    assert rows[2][0].startswith("C1.4 g\nclaimed: interior γ*")
    assert any("pending" in t.get_text() for t in fig.axes[1].texts)
    assert any("no critical γ" in t.get_text() for t in fig.axes[2].texts)
    plt.close(fig)
