"""`bench report`: the results folder as a static site: pages, links, charts, atomic replacement, and (in
a real headless Chromium when one is installed) that pages render and the tables sort."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bench.report.aggregate import build_suites
from bench.report.records import load_runs
from bench.report.render import blocks
from bench.site.build import MARKER, build_site
from bench.site.markdown import to_html
from bench.site.svg import line_chart

RESULTS = Path(__file__).resolve().parents[2] / "results"
PROBES = RESULTS / "probes-nano" / "runs"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """A small results folder: the two committed probes-nano records, a manifest, README, VERDICT and a
    figure."""
    folder = tmp_path / "results"
    shutil.copytree(PROBES, folder / "probes" / "runs")
    (folder / "figures").mkdir()
    shutil.copyfile(RESULTS / "figures" / "phase-anchor-gamma.png", folder / "figures" / "g.png")
    (folder / "leaderboards.toml").write_text('[[table]]\nout = "probes.md"\nruns = "probes/runs"\n')
    (folder / "README.md").write_text(
        "# Results\n\nSee [the table](probes.md) and [the figure](figures/g.png) and [docs](../docs/x.md) "
        "and [the verdict](VERDICT.md).\n\n| a | b |\n|---|---|\n| 1 | <x> |\n")
    (folder / "VERDICT.md").write_text("# Verdict\n\n- **gamma** wins\n- `code` stays\n")
    return folder


def test_markdown_blocks_and_escaping():
    out = to_html("# T\n\npara *it* **b** `<c>`\n\n```\n<script>x</script>\n```\n\n1. one\n2. two\n\n"
                  "| h1 | h2 |\n|:--|--:|\n| [l](a.md#s) | <b> |\n", link=lambda h: "X/" + h)
    assert "<h1>T</h1>" in out and "<em>it</em>" in out and "<strong>b</strong>" in out
    assert "<code>&lt;c&gt;</code>" in out and "&lt;script&gt;" in out and "<script>" not in out
    assert "<ol><li>one</li><li>two</li></ol>" in out
    assert '<table class="sortable">' in out and '<a href="X/a.md#s">l</a>' in out and "&lt;b&gt;" in out


def test_line_chart():
    assert line_chart("empty", {"a": [(0, float("nan"))]}) == ""
    svg = line_chart("t", {"a": [(0, 1.0), (1, 2.0)], "b": [(0, 0.0), (1, 3.0)]}, log_y=True)
    assert svg.count("<polyline") == 2 and svg.count("<circle") == 1  # b keeps one positive point
    assert svg.startswith("<svg") and "http://www.w3.org/2000/svg" in svg


def test_site_pages_links_and_replacement(results, tmp_path, cli):
    code, out, err = cli("report", "--results", str(results))
    assert code == 0, err
    site = results / "site"
    n_tables = sum(len(blocks(s)) for s in build_suites(load_runs(results / "probes" / "runs")))
    assert f"2 runs, {n_tables} tables, 1 figures" in out and (site / MARKER).is_file()
    index = (site / "index.html").read_text()
    assert index.index('id="verdict"') < index.index('id="readme"')
    assert 'href="leaderboards.html"' in index and 'src="files/figures/g.png"' not in index
    assert 'href="files/figures/g.png"' in index and 'href="../../docs/x.md"' in index
    assert "&lt;x&gt;" in index and 'href="../VERDICT.md"' in index
    board = (site / "leaderboards.html").read_text()
    assert board.count('<table class="sortable" id="t') == n_tables and "Leaderboard: nano/mixture" in board
    assert "Ranked by" in board  # the headline table's footer (ranking rule, tests, MDE) is on the page
    runs = sorted((site / "runs").glob("*.html"))
    assert len(runs) == 2
    page = runs[0].read_text()
    assert page.count("<svg") >= 5 and 'id="buckets"' in page and 'id="scores"' in page
    assert "probes/runs/gamma-" in page and str(results) not in page  # paths relative to the folder
    assert (site / "files" / "figures" / "g.png").read_bytes() == (results / "figures" / "g.png").read_bytes()
    # Self-contained: nothing fetched from anywhere.
    for html_file in site.rglob("*.html"):
        text = html_file.read_text()
        assert not re.search(r'(src|href)="(https?:)?//', text) and "<link" not in text, html_file
    # Rebuilt in place (the old site swapped out whole), nothing left beside it.
    (site / "stale.html").write_text("old")
    assert cli("report", "--results", str(results))[0] == 0
    assert not (site / "stale.html").exists()
    assert sorted(p.name for p in results.iterdir() if p.name.startswith(".")) == []
    # Never replaces a directory it did not build; a missing results folder is one line.
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("keep")
    code, _, err = cli("report", "--results", str(results), "--out", str(tmp_path / "mine"))
    assert code == 2 and "not a site built by `bench report`" in err
    assert (tmp_path / "mine" / "keep.txt").read_text() == "keep"
    code, _, err = cli("report", "--results", str(tmp_path / "nope"))
    assert code == 2 and "does not exist" in err and len(err.strip().splitlines()) == 1


def dump_dom(url: str) -> str:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", url],
                          capture_output=True, text=True, timeout=120, check=True).stdout


def column(dom: str, table_id: str, col: int) -> list[str]:
    body = dom.split(f'id="{table_id}"', 1)[1].split("</tbody>", 1)[0]
    cells = [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body)]
    return [re.sub(r"<[^>]+>", "", c[col]) for c in cells if c]


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install chromium)")
def test_pages_render_and_sort_in_headless_chromium(results):
    build_site(results, results / "site")
    site = (results / "site").resolve()
    loss = 9  # "final loss" in the runs index: run, folder, method, γ, preset, layers, seed, lr, steps, loss
    plain = dump_dom((site / "runs.html").as_uri())
    assert 'aria-sort="' not in plain and len(column(plain, "runs", loss)) == 2
    for order, reverse in (("asc", False), ("desc", True)):
        dom = dump_dom((site / "runs.html").as_uri() + f"?sort=runs:{loss}:{order}")
        values = [float(v) for v in column(dom, "runs", loss)]
        assert values == sorted(values, reverse=reverse) and len(set(values)) == 2
        assert f'aria-sort="{"descending" if reverse else "ascending"}"' in dom
    # A leaderboard table sorts by its scheme column (text), and the run page's charts are in the DOM.
    dom = dump_dom((site / "leaderboards.html").as_uri() + "?sort=t1:1:desc")
    schemes = column(dom, "t1", 1)
    assert schemes == sorted(schemes, reverse=True) and len(schemes) == 2
    run_page = next((site / "runs").glob("*.html"))
    assert dump_dom(run_page.as_uri()).count("<polyline") >= 5
