"""Leaderboard documents: each suite's table, its phase diagrams and their notes as GitHub Markdown,
LaTeX or HTML, or every suite as one tidy CSV (docs/leaderboard.md). Byte-deterministic: rows and
columns come in a fixed order and every number has a fixed format."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tabulate import tabulate

from bench.core.errors import BenchError
from bench.record.schema import BUCKETS
from bench.report.aggregate import Suite
from bench.report.gamma import CRITICAL_ABS_TOL, CRITICAL_REL_TOL, GammaSweep, PhaseDiagram, trainable
from bench.report.metrics import HOPS, METRIC, METRICS
from bench.report.records import dig, number
from bench.report.rows import Row
from bench.report.stats import Summary
from bench.report.suites import gamma_text, show_value

FORMATS = ("github", "latex", "csv", "html")
MISSING = "—"
# Marks a column whose task some runs of the suite scored under different conditions (suite notes).
MIXED = "‡"


def marked(suite: Suite, key: str, header: str) -> str:
    """`header`, with MIXED when the metric's tasks were scored under different conditions."""
    return f"{header} {MIXED}" if suite.mixed_tasks(key) else header


def fmt_number(value: float | None, decimals: int) -> str:
    return MISSING if value is None else f"{value:,.{decimals}f}"


def fmt_summary(s: Summary, decimals: int) -> str:
    if s.mean is None:
        return MISSING
    text = fmt_number(s.mean, decimals)
    return text if s.std is None else f"{text} ± {fmt_number(s.std, decimals)}"


def fmt_p(p: float | None) -> str:
    return MISSING if p is None else "<0.001" if p < 0.001 else f"{p:.3f}"


def lr_text(row: Row) -> str:
    if not row.lr_tuned:
        return "no"
    return f"yes ({show_value(row.flat.get('optim.lr'))})"


def display_columns(suite: Suite) -> list[tuple[str, Callable[[Row], str]]]:
    """Header and cell function of each column shown; a metric no row has is left out."""
    head = METRIC[suite.headline]
    cols: list[tuple[str, Callable[[Row], str]]] = [
        ("rank", lambda r: MISSING if r.rank is None else str(r.rank)),
        ("scheme", lambda r: r.label),
        ("seeds", lambda r: str(len(r.runs))),
        ("diverged", lambda r: str(r.diverged)),
        (marked(suite, head.key, f"{head.header} ({'↑' if head.better == 'high' else '↓'})"),
         lambda r: fmt_summary(r.summaries[head.key], head.decimals)),
        ("95% CI", lambda r: MISSING if r.summaries[head.key].ci_low is None else
         f"[{fmt_number(r.summaries[head.key].ci_low, head.decimals)}, "
         f"{fmt_number(r.summaries[head.key].ci_high, head.decimals)}]"),
        (f"p vs {suite.reference}", lambda r: "ref" if r.label == suite.reference else fmt_p(r.p)),
    ]
    hop_keys = [f"deduction_hop{h}" for h in HOPS]
    for m in METRICS:
        if m.key == suite.headline or m.key in hop_keys or not any(r.values(m.key) for r in suite.rows):
            continue
        cols.append((marked(suite, m.key, m.header),
                     lambda r, m=m: fmt_summary(r.summaries[m.key], m.decimals)))
        if m.key == "deduction" and any(r.values(k) for r in suite.rows for k in hop_keys):
            cols.append((marked(suite, m.key, "deduction by hop 1–5"), lambda r: " / ".join(
                fmt_number(r.mean_of(k), 2) for k in hop_keys)))
    for bucket in BUCKETS:
        if any(r.deltas[bucket].n for r in suite.rows):
            cols.append((f"Δloss {bucket.replace('_', '-')}", lambda r, b=bucket:
                         "ref" if r.label == suite.reference else fmt_summary(r.deltas[b], 3)))
    cols.append(("LR tuned", lr_text))
    return cols


def suite_notes(suite: Suite) -> list[str]:
    """What the suite's table compares and how each column is computed."""
    k, cfg = suite.key, suite.runs[0].record["config"]
    sources = ", ".join(map(str, cfg["data"].get("sources") or [])) if k.corpus == "mixture" else ""
    diverged = sum(r.record["status"] == "diverged" for r in suite.runs)
    head = METRIC[suite.headline]
    notes = [
        f"Suite {suite.name}: preset {k.preset}, corpus {k.corpus}" + (f" ({sources})" if sources else "")
        + f", vocab {k.vocab_size}, seq_len {k.seq_len}, budget {cfg['train']['max_steps']} steps × "
        f"{cfg['train']['batch_size']} sequences × {k.seq_len} = {k.tokens:,} tokens per run; "
        f"runs: {len(suite.runs)} ({diverged} diverged), schemes: {len(suite.rows)}. Only runs of this "
        "suite (same data, preset and token budget) are compared.",
        f"Ranked by {head.header} ({'higher' if head.better == 'high' else 'lower'} is better). "
        f"p: two-sided paired t-test over init seeds against the reference {suite.reference} on "
        f"{head.header}; 95% CI: Student-t interval of the mean.",
        "Cells: mean ± sample std over init seeds of finished runs (diverged runs count only under "
        f"diverged); {MISSING}: not measured. val bpb: val_text bits_per_byte (held-out wiki + "
        "Shakespeare); val loss: best validation loss of training (nats/token); train loss: last step.",
    ]
    for key, tasks in suite.groups.items():
        if tasks:
            notes.append(f"{METRIC[key].header}: mean chance-normalized acc over {', '.join(tasks)}.")
    for task, conditions in suite.mixed.items():
        notes.append(f"{MIXED} {task} was scored under different conditions across this suite's runs ("
                     + "; ".join(f"{text}: {n} runs" for text, n in conditions.items())
                     + "): the marked columns compare unlike scores; rescore with `python -m bench eval "
                     "--update-record` under one limit and seed.")
    if any(r.deltas[b].n for r in suite.rows for b in BUCKETS):
        notes.append(f"Δloss: token-bucket mean loss minus the reference's at the same init seed "
                     f"(negative = lower loss than {suite.reference}).")
    if suite.trials_left_out:
        notes.append(f"{suite.trials_left_out} LR-search runs whose LR was not chosen are left out.")
    devices = sorted({str(d) for r in suite.runs if (d := dig(r.record, "env", "device_name"))})
    if devices:
        notes.append(f"tok/s measured on: {'; '.join(devices)}.")
    notes += [sweep_note(suite, s) for s in suite.sweeps]
    return notes


def sweep_note(suite: Suite, sweep: GammaSweep) -> str:
    where = f" ({sweep.family})" if sweep.family else ""
    metric = METRIC[suite.reasoning_metric].header if suite.reasoning_metric else "no reasoning score"
    found = "none" if sweep.critical is None else gamma_text(sweep.critical)
    return (f"Critical γ{where}: {found} — the γ with the best {metric} among γ values with no diverged "
            f"seed whose mean final training loss is within max({CRITICAL_REL_TOL:.0%}, "
            f"{CRITICAL_ABS_TOL} nats) of the best.")


def phase_notes(suite: Suite, phase: PhaseDiagram) -> list[str]:
    where = f", {phase.family}" if phase.family else ""
    return [f"Suite {suite.name}{where}: inferential / symmetric accuracy on the unseen (4,3) anchor pair, "
            "mean over finished init seeds; rows γ, columns depth (model.n_layers); "
            f"{MISSING}: no run; diverged: every seed diverged; *: the depth's critical γ; †: does not "
            "train by the critical-γ rule (a seed diverged, or the loss is out of tolerance)."]


def trainability_marks(suite: Suite) -> dict[str, str]:
    """Row label → "*" (critical γ of its sweep), " †" (does not train) or "" (trains)."""
    marks = {}
    for sweep in suite.sweeps:
        trains = {p.gamma for p in trainable(sweep.points)}
        for row, point in zip(sweep.rows, sweep.points, strict=True):
            marks[row.label] = "*" if point.gamma == sweep.critical else "" if point.gamma in trains else " †"
    return marks


def phase_cell(row: Row | None, marks: dict[str, str]) -> str:
    if row is None:
        return MISSING
    if not row.metrics:
        return "diverged"
    accs = " / ".join(fmt_number(row.mean_of(k), 2) for k in ("anchor_inferential", "anchor_symmetric"))
    return accs + marks.get(row.label, "")


@dataclass
class TableBlock:
    """One table of a document, format-free: title, notes, header and cells."""

    title: str
    notes: list[str]
    headers: list[str]
    rows: list[list[str]]


def blocks(suite: Suite) -> list[TableBlock]:
    """The suite's leaderboard, then one phase diagram per γ × depth family."""
    cols = display_columns(suite)
    out = [TableBlock(f"Leaderboard: {suite.name}", suite_notes(suite), [h for h, _ in cols],
                 [[cell(row) for _, cell in cols] for row in suite.rows])]
    marks = trainability_marks(suite)
    for phase in suite.phases:
        rows = [[gamma_text(g), *(phase_cell(phase.cells.get((g, d)), marks) for d in phase.depths)]
                for g in phase.gammas]
        title = f"Phase diagram: {suite.name}" + (f" ({phase.family})" if phase.family else "")
        headers = ["γ", *(f"depth {d}" for d in phase.depths)]
        out.append(TableBlock(title, phase_notes(suite, phase), headers, rows))
    return out


# Characters plain pdflatex cannot take as they are: TeX specials, and the symbols the tables use.
LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
         "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"$<$",
         ">": r"$>$", "±": r"$\pm$", "↑": r"$\uparrow$", "↓": r"$\downarrow$", "γ": r"$\gamma$",
         "Δ": r"$\Delta$", "†": r"$\dagger$", "‡": r"$\ddagger$", "—": "---", "–": "--", "×": r"$\times$"}


def latex_text(text: str) -> str:
    return "".join(LATEX.get(ch, ch) for ch in text)


def render_block(block: TableBlock, fmt: str) -> str:
    """One table with its title and notes: as comments (LaTeX), a list (GitHub) or <ul> (HTML)."""
    if fmt == "latex":
        table = tabulate([[latex_text(c) for c in row] for row in block.rows],
                         headers=[latex_text(h) for h in block.headers], tablefmt="latex_raw",
                         disable_numparse=True)
        return "\n".join([f"% {block.title}", *(f"% {n}" for n in block.notes), table])
    table = tabulate(block.rows, headers=block.headers, tablefmt=fmt, disable_numparse=True)
    if fmt == "github":
        return "\n".join([f"### {block.title}", "", *(f"- {n}" for n in block.notes), "", table])
    items = "".join(f"<li>{html.escape(n)}</li>" for n in block.notes)
    return "\n".join([f"<h3>{html.escape(block.title)}</h3>", f"<ul>{items}</ul>", table])


def csv_number(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def csv_table(suites: Sequence[Suite]) -> str:
    """One tidy table: a line per scheme and suite, every metric as mean, std, CI bounds and n."""
    stats = ("mean", "std", "ci_low", "ci_high", "n")
    header = ["suite", "rank", "scheme", "method", "gamma", "n_layers", "lr", "lr_tuned", "seeds", "diverged",
              "reference", "headline", "p_headline",
              *(f"{m.key}_{s}" for m in METRICS for s in stats),
              *(f"delta_loss_{b}_{s}" for b in BUCKETS for s in stats)]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for suite in suites:
        for row in suite.rows:
            summaries = [row.summaries[m.key] for m in METRICS] + [row.deltas[b] for b in BUCKETS]
            writer.writerow([
                suite.name, row.rank or "", row.label, row.flat.get("init.method"),
                csv_number(number(row.flat.get("init.gamma"))), row.flat.get("model.n_layers", ""),
                csv_number(number(row.flat.get("optim.lr"))), "yes" if row.lr_tuned else "no", len(row.runs),
                row.diverged, suite.reference, suite.headline, csv_number(row.p),
                *(x for s in summaries for x in (csv_number(s.mean), csv_number(s.std), csv_number(s.ci_low),
                                                  csv_number(s.ci_high), s.n))])
    return buf.getvalue()


def render(suites: Sequence[Suite], fmt: str) -> str:
    """The document for every suite: tables with their notes, or (csv) one tidy table."""
    if fmt not in FORMATS:
        raise BenchError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    if fmt == "csv":
        return csv_table(suites)
    return "\n\n".join(render_block(b, fmt) for s in suites for b in blocks(s)) + "\n"
