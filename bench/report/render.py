"""Leaderboard documents: each suite's tables (bench.report.tables) with their notes as GitHub
Markdown, LaTeX or HTML, or every suite as one tidy CSV that keeps every column (docs/leaderboard.md).
Byte-deterministic: rows and columns come in a fixed order and every number has a fixed format."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence

from tabulate import tabulate

from bench.core.errors import BenchError
from bench.record.schema import BUCKETS
from bench.report.aggregate import Suite
from bench.report.metrics import METRICS
from bench.report.records import number
from bench.report.stats import summarize
from bench.report.suites import lr_search
from bench.report.tables import MISSING, TableBlock, blocks, lr_text

__all__ = ["FORMATS", "MISSING", "blocks", "lr_text", "render"]

FORMATS = ("github", "latex", "csv", "html")

# Characters plain pdflatex cannot take as they are: TeX specials, and the symbols the tables use.
LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
         "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"$<$",
         ">": r"$>$", "±": r"$\pm$", "↑": r"$\uparrow$", "↓": r"$\downarrow$", "γ": r"$\gamma$",
         "Δ": r"$\Delta$", "†": r"$\dagger$", "‡": r"$\ddagger$", "—": "---", "–": "--", "×": r"$\times$",
         "α": r"$\alpha$", "−": "-"}


def latex_text(text: str) -> str:
    return "".join(LATEX.get(ch, ch) for ch in text)


def render_block(block: TableBlock, fmt: str) -> str:
    """One table with its title, notes before it and footer lines after it: as comments (LaTeX), a
    list (GitHub) or <ul> (HTML)."""
    if fmt == "latex":
        table = tabulate([[latex_text(c) for c in row] for row in block.rows],
                         headers=[latex_text(h) for h in block.headers], tablefmt="latex_raw",
                         disable_numparse=True)
        return "\n".join([f"% {block.title}", *(f"% {latex_text(n)}" for n in block.notes), table,
                          *(f"% {latex_text(n)}" for n in block.footer)])
    table = tabulate(block.rows, headers=block.headers, tablefmt=fmt, disable_numparse=True)
    if fmt == "github":
        footer = ["", *(f"- {n}" for n in block.footer)] if block.footer else []
        return "\n".join([f"### {block.title}", "", *(f"- {n}" for n in block.notes), "", table, *footer])
    items = "".join(f"<li>{html.escape(n)}</li>" for n in block.notes)
    after = "".join(f"<li>{html.escape(n)}</li>" for n in block.footer)
    return "\n".join([f"<h3>{html.escape(block.title)}</h3>", f"<ul>{items}</ul>", table,
                      *([f"<ul>{after}</ul>"] if after else [])])


def csv_number(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def csv_table(suites: Sequence[Suite]) -> str:
    """One tidy table: a line per scheme and suite, every metric (and each group task) as mean, std,
    CI bounds and n, every paired comparison as Δ, CI, p, Holm p and test, and the LR search."""
    stats = ("mean", "std", "ci_low", "ci_high", "n")
    tasks = list(dict.fromkeys(t for s in suites for ts in s.groups.values() for t in ts))
    compared = list(dict.fromkeys(c.key for s in suites if s.comparisons for c in s.comparisons.columns))
    header = ["suite", "rank", "scheme", "method", "gamma", "n_layers", "lr", "lr_tuned", "lr_chosen",
              "lr_interior", "seeds", "diverged", "reference", "headline", "p_headline",
              *(f"{m.key}_{s}" for m in METRICS for s in stats),
              *(f"task_{t}_{s}" for t in tasks for s in stats),
              *(f"delta_loss_{b}_{s}" for b in BUCKETS for s in stats),
              *(f"vs_ref_{k.replace(':', '_')}_{s}" for k in compared
                for s in ("delta", "ci_low", "ci_high", "p", "p_holm", "test", "seeds", "documents"))]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for suite in suites:
        for row in suite.rows:
            summaries = [row.summaries[m.key] for m in METRICS] + \
                [summarize(row.values(f"task:{t}")) for t in tasks] + [row.deltas[b] for b in BUCKETS]
            search = next((s for r in row.runs.values() if (s := lr_search(r.record)) is not None),
                          None) or {}
            versus = []
            for key in compared:
                result, p_holm = suite.comparison(key, row.label)
                versus += ["", "", "", "", "", "", "", ""] if result is None else [
                    csv_number(result.delta), csv_number(result.ci_low), csv_number(result.ci_high),
                    csv_number(result.p), csv_number(p_holm), result.test, result.seeds, result.documents]
            interior = search.get("interior")
            writer.writerow([
                suite.name, row.rank or "", row.label, row.flat.get("init.method"),
                csv_number(number(row.flat.get("init.gamma"))), row.flat.get("model.n_layers", ""),
                csv_number(number(row.flat.get("optim.lr"))), "yes" if row.lr_tuned else "no",
                csv_number(number(search.get("chosen"))), "" if interior is None else str(interior).lower(),
                len(row.runs), row.diverged, suite.reference, suite.headline, csv_number(row.p),
                *(x for s in summaries for x in (csv_number(s.mean), csv_number(s.std), csv_number(s.ci_low),
                                                  csv_number(s.ci_high), s.n)),
                *versus])
    return buf.getvalue()


def render(suites: Sequence[Suite], fmt: str) -> str:
    """The document for every suite: tables with their notes, or (csv) one tidy table."""
    if fmt not in FORMATS:
        raise BenchError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    if fmt == "csv":
        return csv_table(suites)
    return "\n\n".join(render_block(b, fmt) for s in suites for b in blocks(s)) + "\n"
