"""What a suite's tables contain, format-free (docs/leaderboard.md#tables): a headline table of at most
ten columns, then detail tables (scores, per task, paired comparisons, per hop, token buckets, speed)
and the phase diagrams. bench.report.render turns them into Markdown, LaTeX or HTML."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bench.record.schema import BUCKETS
from bench.report.aggregate import Suite
from bench.report.compare import Column, test_name
from bench.report.gamma import CRITICAL_ABS_TOL, CRITICAL_REL_TOL, GammaSweep, PhaseDiagram, trainable
from bench.report.metrics import HOP_METRICS, HOPS, METRIC, METRICS
from bench.report.records import dig, number
from bench.report.rows import Row
from bench.report.stats import BOOTSTRAP_RESAMPLES, PairedResult, Summary, summarize
from bench.report.suites import gamma_text, lr_search, show_value

MISSING = "—"
# Marks a column whose task some runs of the suite scored under different conditions (suite notes).
MIXED = "‡"
HEADLINE_SCORES = 3  # score columns of the headline table, besides rank, scheme, LR, seeds, Δ, p, diverged
Cell = Callable[[Row], str]


@dataclass
class TableBlock:
    """One table of a document, format-free: title, notes, header, cells and lines under the table."""

    title: str
    notes: list[str]
    headers: list[str]
    rows: list[list[str]]
    footer: list[str] = field(default_factory=list)


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


def fmt_ci(s: Summary, decimals: int) -> str:
    """mean ± half-width of the 95% interval over seeds (the mean alone from one seed)."""
    if s.mean is None:
        return MISSING
    text = fmt_number(s.mean, decimals)
    return text if s.ci_high is None else f"{text} ± {fmt_number(s.ci_high - s.mean, decimals)}"


def fmt_p(p: float | None) -> str:
    return MISSING if p is None else "<0.001" if p < 0.001 else f"{p:.3f}"


def lr_text(row: Row) -> str:
    """The scheme's learning rate: the LR its search chose ("edge" when still at an edge of the final
    grid), or the configured one marked "fixed" when it was not searched."""
    search = next((s for r in row.runs.values() if (s := lr_search(r.record)) is not None), None)
    if search is None:
        return f"{show_value(row.flat.get('optim.lr'))} fixed"
    chosen = number(search.get("chosen"))
    if chosen is None:
        return "none finished"
    return f"{chosen:g}" + (" edge" if search.get("interior") is False else "")


def headline_scores(suite: Suite) -> list[str]:
    """The headline table's score columns: the ranking metric, then val bpb, reasoning and knowledge,
    those that some row has, at most HEADLINE_SCORES."""
    keys = dict.fromkeys([suite.headline, "bpb", "reasoning", "knowledge"])
    return [k for k in keys if any(r.values(k) for r in suite.rows)][:HEADLINE_SCORES]


def headline_columns(suite: Suite) -> list[tuple[str, Cell]]:
    """At most ten columns: rank, scheme, LR, seeds, up to three scores ± CI, Δloss on context-
    constrained tokens, the headline's Holm-adjusted p, diverged."""
    head = METRIC[suite.headline]
    cols: list[tuple[str, Cell]] = [
        ("rank", lambda r: MISSING if r.rank is None else str(r.rank)),
        ("scheme", lambda r: r.label), ("LR", lr_text), ("seeds", lambda r: str(len(r.runs)))]
    for key in headline_scores(suite):
        m = METRIC[key]
        arrow = f" ({'↑' if m.better == 'high' else '↓'})" if key == suite.headline else ""
        cols.append((marked(suite, key, f"{m.header}{arrow}"),
                     lambda r, m=m: fmt_ci(r.summaries[m.key], m.decimals)))
    if any(r.deltas["context_constrained"].n for r in suite.rows):
        cols.append(("Δloss ctx-constrained", lambda r: "ref" if r.label == suite.reference else
                     fmt_number(r.deltas["context_constrained"].mean, 3)))
    cols.append((f"p {head.header} (Holm)", lambda r: "ref" if r.label == suite.reference else
                 fmt_p(suite.comparison(suite.headline, r.label)[1])))
    cols.append(("diverged", lambda r: str(r.diverged)))
    return cols


def mde_lines(suite: Suite) -> list[str]:
    """Under the headline table: each compared column's minimum detectable effect and its test."""
    if suite.comparisons is None:
        return []
    parts = []
    for col in suite.comparisons.columns:
        mde, test = suite.comparisons.mde[col.key]
        if test is None:
            continue
        results = [r for r in suite.comparisons.results[col.key].values()
                   if r is not None and r.test == test]
        seeds = min(r.seeds for r in results)
        size = f"{seeds} seed{'s' * (seeds != 1)}"
        if test == "bootstrap":
            size += f" × {min(r.documents for r in results):,} documents"
        # None with a test: the differences do not vary (column_mde), so no effect size is sized.
        value = fmt_number(mde, col.decimals + 1) if mde is not None else "none (the differences do not vary)"
        parts.append(f"{col.header} {value} ({test_name(col, test)}, {size})")
    if not parts:
        return []
    return ["Minimum detectable effect vs the reference (80% power, two-sided α = 0.05, at the median "
            "standard error of the table's comparisons): " + "; ".join(parts) + ". A difference smaller "
            "than its column's MDE is not a finding either way."]


def headline_block(suite: Suite) -> TableBlock:
    cols = headline_columns(suite)
    head = METRIC[suite.headline]
    column = next((c for c in suite.comparisons.columns if c.key == suite.headline), None) \
        if suite.comparisons else None
    test = suite.comparisons.mde[column.key][1] if suite.comparisons and column else None
    how = test_name(column, test) if column and test else "no comparison"
    n_schemes = len(suite.rows) - 1
    footer = [
        f"Ranked by {head.header} ({'higher' if head.better == 'high' else 'lower'} is better). Scores: mean "
        "± half-width of the 95% Student-t interval over init seeds. LR: the learning rate the scheme's "
        "search chose (edge: at an edge of the final grid), or fixed: not searched.",
        f"p: {head.header} against the reference {suite.reference} ({how}), Holm-adjusted across the "
        f"{n_schemes} other schemes. Δloss "
        "ctx-constrained: mean loss on context-constrained tokens minus the reference's at the same seed.",
        *mde_lines(suite)]
    return TableBlock(f"Leaderboard: {suite.name}", suite_notes(suite), [h for h, _ in cols],
                      [[cell(row) for _, cell in cols] for row in suite.rows], footer)


def score_block(suite: Suite) -> TableBlock:
    """Every score column (mean ± std over seeds), hop, bucket and speed columns aside."""
    hop_keys = {k for keys in HOP_METRICS.values() for k in keys}
    cols: list[tuple[str, Cell]] = [("scheme", lambda r: r.label)]
    for m in METRICS:
        if m.key in hop_keys or m.key in ("spikes", "tokens_per_s") or \
                not any(r.values(m.key) for r in suite.rows):
            continue
        cols.append((marked(suite, m.key, m.header),
                     lambda r, m=m: fmt_summary(r.summaries[m.key], m.decimals)))
    return TableBlock(f"Scores: {suite.name}", ["Mean ± sample std over init seeds of finished runs."],
                      [h for h, _ in cols], [[cell(r) for _, cell in cols] for r in suite.rows])


def task_block(suite: Suite) -> TableBlock | None:
    tasks = [t for tasks in suite.groups.values() for t in tasks]
    if not tasks:
        return None
    rows = [[r.label, *(fmt_summary(summarize(r.values(f"task:{t}")), 3) for t in tasks)]
            for r in suite.rows]
    return TableBlock(f"Per task: {suite.name}", ["Chance-normalized accuracy (acc − chance)/(1 − chance) of "
                      "each task of the group scores, mean ± sample std over init seeds."],
                      ["scheme", *tasks], rows)


def comparison_cells(result: PairedResult | None, p_holm: float | None, column: Column) -> list[str]:
    if result is None:
        return [MISSING] * 5
    d = column.decimals
    return [fmt_number(result.delta, d), f"[{fmt_number(result.ci_low, d)}, {fmt_number(result.ci_high, d)}]",
            fmt_p(result.p), fmt_p(p_holm), test_name(column, result.test)]


def comparison_block(suite: Suite) -> TableBlock | None:
    if suite.comparisons is None or len(suite.rows) < 2:
        return None
    rows = []
    for col in suite.comparisons.columns:
        for r in suite.rows:
            if r.label != suite.reference:
                result, p_holm = suite.comparison(col.key, r.label)
                rows.append([col.header, r.label, *comparison_cells(result, p_holm, col)])
    notes = [f"Each scheme minus the reference {suite.reference}, on the init seeds both finished. Paired "
             f"bootstrap: seeds and documents resampled ({BOOTSTRAP_RESAMPLES:,} times) and both schemes "
             "rescored on the same cells; 95% percentile interval; group scores average their tasks' "
             "chance-normalized Δ. "
             "Paired t-test: over seeds, for columns without per-document outputs (training losses, "
             "runs scored before they were kept). p (Holm): adjusted across the table's schemes."]
    return TableBlock(f"Paired comparisons: {suite.name}", notes,
                      ["score", "scheme", "Δ", "95% CI", "p", "p (Holm)", "test"], rows)


def hop_blocks(suite: Suite) -> list[TableBlock]:
    """Per deduction task that some row scored by hop: accuracy per number of hops."""
    out = []
    for base, keys in HOP_METRICS.items():
        if not any(r.values(k) for r in suite.rows for k in keys):
            continue
        name = METRIC[base].header
        rows = [[r.label, *(fmt_summary(r.summaries[k], 2) for k in keys)] for r in suite.rows]
        out.append(TableBlock(f"{name[0].upper()}{name[1:]} by hop: {suite.name}", [
            f"Accuracy on the {name} documents with each number of hops, mean ± sample std over init "
            "seeds (chance 0.5)."], ["scheme", *(f"hop {h}" for h in HOPS)], rows))
    return out


def bucket_block(suite: Suite) -> TableBlock | None:
    present = [b for b in BUCKETS if any(r.deltas[b].n for r in suite.rows)]
    if not present:
        return None
    rows = [[r.label, *("ref" if r.label == suite.reference else fmt_summary(r.deltas[b], 3)
                        for b in present)] for r in suite.rows]
    return TableBlock(f"Token buckets: {suite.name}", [
        f"Δloss: token-bucket mean loss minus the reference's at the same init seed, mean ± std over seeds "
        f"(negative = lower loss than {suite.reference})."],
        ["scheme", *(f"Δloss {b.replace('_', '-')}" for b in present)], rows)


def speed_block(suite: Suite) -> TableBlock:
    devices = sorted({str(d) for r in suite.runs if (d := dig(r.record, "env", "device_name"))})
    rows = [[r.label, fmt_summary(r.summaries["tokens_per_s"], 0), fmt_summary(r.summaries["spikes"], 1),
             str(r.diverged)] for r in suite.rows]
    notes = ["Training throughput and loss spikes, mean ± std over init seeds" +
             (f"; measured on: {'; '.join(devices)}." if devices else ".")]
    return TableBlock(f"Speed and stability: {suite.name}", notes, ["scheme", "tok/s", "spikes", "diverged"],
                      rows)


def suite_notes(suite: Suite) -> list[str]:
    """What the suite's tables compare."""
    k, cfg = suite.key, suite.runs[0].record["config"]
    sources = ", ".join(map(str, cfg["data"].get("sources") or [])) if k.corpus == "mixture" else ""
    diverged = sum(r.record["status"] == "diverged" for r in suite.runs)
    notes = [
        f"Suite {suite.name}: preset {k.preset}, corpus {k.corpus}" + (f" ({sources})" if sources else "")
        + f", vocab {k.vocab_size}, seq_len {k.seq_len}, budget {cfg['train']['max_steps']} steps × "
        f"{cfg['train']['batch_size']} sequences × {k.seq_len} = {k.tokens:,} tokens per run; "
        f"runs: {len(suite.runs)} ({diverged} diverged), schemes: {len(suite.rows)}. Only runs of this "
        "suite (same data, preset and token budget) are compared.",
        f"Cells: finished runs only (diverged runs count only under diverged); {MISSING}: not measured. "
        "val bpb: val_text bits_per_byte (held-out wiki + Shakespeare); val loss: best validation loss of "
        "training (nats/token); train loss: last step.",
    ]
    for key, tasks in suite.groups.items():
        if tasks:
            notes.append(f"{METRIC[key].header}: mean chance-normalized acc over {', '.join(tasks)}.")
    for task, conditions in suite.mixed.items():
        notes.append(f"{MIXED} {task} was scored under different conditions across this suite's runs ("
                     + "; ".join(f"{text}: {n} runs" for text, n in conditions.items())
                     + "): the marked columns compare unlike scores; rescore with `python -m bench eval "
                     "--update-record` under one limit and seed.")
    if suite.trials_left_out:
        notes.append(f"{suite.trials_left_out} LR-search runs whose LR was not chosen are left out.")
    notes += [sweep_note(suite, s) for s in suite.sweeps]
    return notes


def sweep_note(suite: Suite, sweep: GammaSweep) -> str:
    where = f" ({sweep.family})" if sweep.family else ""
    metric = METRIC[suite.reasoning_metric].header if suite.reasoning_metric else "no reasoning score"
    found = "none" if sweep.critical is None else gamma_text(sweep.critical)
    among = ", ".join(gamma_text(p.gamma) for p in sweep.points)
    # Said with the number: the rule reads means only, so two γ at chance pick one as surely as a real gap.
    return (f"Critical γ{where}: {found} (of γ {among}) — the γ with the best {metric} among γ values with "
            f"no diverged seed whose mean final training loss is within max({CRITICAL_REL_TOL:.0%}, "
            f"{CRITICAL_ABS_TOL} nats) of the best; a point estimate without an interval, which differences "
            "within noise decide as readily as real ones.")


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


def blocks(suite: Suite) -> list[TableBlock]:
    """The suite's headline table, its detail tables, then one phase diagram per γ × depth family."""
    details = [score_block(suite), task_block(suite), comparison_block(suite), *hop_blocks(suite),
               bucket_block(suite), speed_block(suite)]
    out = [headline_block(suite), *(b for b in details if b is not None)]
    marks = trainability_marks(suite)
    for phase in suite.phases:
        rows = [[gamma_text(g), *(phase_cell(phase.cells.get((g, d)), marks) for d in phase.depths)]
                for g in phase.gammas]
        title = f"Phase diagram: {suite.name}" + (f" ({phase.family})" if phase.family else "")
        headers = ["γ", *(f"depth {d}" for d in phase.depths)]
        out.append(TableBlock(title, phase_notes(suite, phase), headers, rows))
    return out
