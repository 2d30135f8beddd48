"""Learnability tables (docs/leaderboard.md#learnability): per suite, which task accuracies of the
metric registry each scheme learned, and the learning curves behind them.

One block per suite, as the leaderboard splits them: a task metric is only compared among runs that
trained on the same data for the same budget, so a run trained on one task and a run trained on the
whole mixture never share a cell. Rows are the registry's accuracies (`eval.<task>.acc*`) that some
finished run of the suite scored; columns are the leaderboard's scheme labels. A cell is the accuracy's
mean over finished init seeds with its 95 % interval (Student-t over seeds; one seed: the binomial
interval ± z₀.₉₇₅ · stderr over its documents) and the number of seeds. The chance level is the one the
records store (`eval.<task>.chance`, per metric when it is a mapping). *Learned*: the best scheme's
chance-normalized mean is at least LEARNED_MIN and that scheme's interval lies above chance (a lower
bound at chance is not above it); a diagnostic metric (no better direction) is not judged.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

from bench.core.errors import BenchError
from bench.report.aggregate import group_runs
from bench.report.metrics import HOP_METRICS, METRICS, RUN_FACTS, Metric, chance
from bench.report.records import LoadedRecord
from bench.report.render import FORMATS, csv_number, render_block
from bench.report.rows import Row, make_rows
from bench.report.stats import Summary, chance_normalized, summarize_accuracy
from bench.report.suites import SuiteKey, is_unchosen_trial
from bench.report.tables import MISSING, TableBlock, fmt_number

LEARNED_MIN = 0.2  # the best scheme's chance-normalized mean at least this, and its interval above chance


@dataclass(frozen=True)
class Learnability:
    """One task metric of a suite: its chance level, each scheme's accuracy, the best scheme."""

    metric: Metric
    chance: float | None
    cells: dict[str, Summary]  # scheme label → accuracy over its finished seeds
    best: tuple[str, float] | None  # (scheme, chance-normalized mean) of the best scheme
    learned: bool | None  # None: a diagnostic, or no chance level or score to judge

    @property
    def verdict(self) -> str:
        if self.metric.better is None:
            return "n/a"
        return MISSING if self.learned is None else "yes" if self.learned else "no"


@dataclass(frozen=True)
class LearnSuite:
    """A suite's runs (LR-search trials that were not chosen left out), rows and task metrics."""

    name: str
    key: SuiteKey
    runs: list[LoadedRecord]
    rows: list[Row]
    metrics: list[Learnability]


def is_learned(normalized: float, ci_low: float | None, level: float) -> bool:
    """The rule: normalized mean ≥ LEARNED_MIN and the interval's lower bound above chance. isclose
    keeps a mean exactly at the threshold learned: (acc − chance)/(1 − chance) rounds, e.g.
    (0.6 − 0.5)/0.5 = 0.19999999999999996."""
    enough = normalized >= LEARNED_MIN or math.isclose(normalized, LEARNED_MIN)
    return enough and ci_low is not None and ci_low > level


def finished(row: Row) -> list[LoadedRecord]:
    """The row's finished runs (Row.metrics holds finished seeds only), by seed."""
    return [row.runs[seed] for seed in row.metrics]


def accuracy(row: Row, metric: Metric) -> Summary:
    """The metric over the row's finished seeds: t interval, or the binomial one from a single seed."""
    scored = [(v, run) for run in finished(row) if (v := metric.value(run.record)) is not None]
    stderr = metric.stderr(scored[0][1].record) if len(scored) == 1 else None
    return summarize_accuracy([v for v, _ in scored], stderr)


def suite_chance(runs: Sequence[LoadedRecord], metric: Metric) -> float | None:
    """The metric's chance level from the first record that stores one (the task's metadata)."""
    task, name = metric.path[1], metric.path[2]
    return next((c for run in runs if (c := chance(run.record, task, name)) is not None), None)


def learnability(metric: Metric, rows: Sequence[Row], runs: Sequence[LoadedRecord]) -> Learnability:
    level = suite_chance(runs, metric)
    cells = {row.label: accuracy(row, metric) for row in rows}
    best: tuple[str, float] | None = None
    if level is not None and level < 1:
        for label, s in cells.items():  # rows come sorted by label: a tie goes to the first
            if s.mean is not None and (best is None or chance_normalized(s.mean, level) > best[1]):
                best = (label, chance_normalized(s.mean, level))
    learned = None
    if metric.better is not None and best is not None and level is not None:
        learned = is_learned(best[1], cells[best[0]].ci_low, level)
    return Learnability(metric, level, cells, best, learned)


def build_learnability(runs: Sequence[LoadedRecord], suite: str | None = None) -> list[LearnSuite]:
    """Per suite (or only `suite`), in name order: every registry accuracy some finished run scored."""
    out = []
    for name, key, group in group_runs(runs, suite):
        kept = [r for r in group if not is_unchosen_trial(r.record)]
        rows, _ = make_rows(kept)
        done = [run for row in rows for run in finished(row)]
        metrics = [learnability(m, rows, kept) for m in METRICS
                   if m.accuracy and any(m.value(run.record) is not None for run in done)]
        out.append(LearnSuite(name, key, kept, rows, metrics))
    return out


def curve_metrics(suite: LearnSuite) -> list[Metric]:
    """The suite's accuracies that some run evaluated during training, per-hop detail aside."""
    hops = {k for keys in HOP_METRICS.values() for k in keys}
    return [entry.metric for entry in suite.metrics if entry.metric.key not in hops
            and any(len(entry.metric.curve(run.record)) > 1 for row in suite.rows for run in finished(row))]


# ---------------------------------------------------------------- documents

def fmt_accuracy(s: Summary) -> str:
    """`mean [low, high] (n)`; the mean alone when there is no interval."""
    if s.mean is None:
        return MISSING
    interval = "" if s.ci_low is None or s.ci_high is None else \
        f" [{fmt_number(s.ci_low, 3)}, {fmt_number(s.ci_high, 3)}]"
    return f"{fmt_number(s.mean, 3)}{interval} ({s.n})"


def table_block(suite: LearnSuite) -> TableBlock:
    labels = [row.label for row in suite.rows]
    rows = [[e.metric.header, ".".join(e.metric.path[1:]), fmt_number(e.chance, 3),
             *(fmt_accuracy(e.cells[label]) for label in labels),
             MISSING if e.best is None else f"{fmt_number(e.best[1], 3)} ({e.best[0]})", e.verdict]
            for e in suite.metrics]
    k = suite.key
    n_done = sum(len(row.metrics) for row in suite.rows)
    notes = [
        f"Suite {suite.name}: preset {k.preset}, corpus {k.corpus}, {k.tokens:,} training tokens per run; "
        f"runs: {len(suite.runs)} ({n_done} finished), schemes: {len(suite.rows)}.",
        "Cells: accuracy, mean over finished init seeds [95% interval] (seeds): Student-t over seeds; from "
        "one seed, the binomial interval ± 1.96 stderr over its documents. Chance: the task's chance level "
        "as the records store it. Best (norm.): the highest chance-normalized mean (acc − chance)/(1 − "
        f"chance) and its scheme. Learned: best (norm.) ≥ {LEARNED_MIN} and that scheme's interval lies "
        "above chance; n/a: a diagnostic, not judged.",
    ]
    return TableBlock(f"Learnability: {suite.name}", notes,
                      ["metric", "score", "chance", *labels, "best (norm.)", "learned"], rows)


def runs_block(suite: LearnSuite) -> TableBlock:
    rows = [[run.record["run_id"], row.label, str(seed),
             *(fmt_number(f.value(run.record), 0) for f in RUN_FACTS)]
            for row in suite.rows for seed, run in row.runs.items()]
    return TableBlock(f"Runs: {suite.name}", ["What each run cost; wall times in seconds."],
                      ["run", "scheme", "seed", *(f.header for f in RUN_FACTS)], rows)


def csv_table(suites: Sequence[LearnSuite]) -> str:
    """One tidy line per suite, task metric and scheme."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["suite", "metric", "task", "score", "chance", "scheme", "n", "mean", "ci_low", "ci_high",
                     "best_scheme", "best_normalized", "learned"])
    for suite in suites:
        for e in suite.metrics:
            for label, s in e.cells.items():
                writer.writerow([suite.name, e.metric.key, *e.metric.path[1:], csv_number(e.chance), label,
                                 s.n, csv_number(s.mean), csv_number(s.ci_low), csv_number(s.ci_high),
                                 e.best[0] if e.best else "", csv_number(e.best[1] if e.best else None),
                                 e.verdict.replace(MISSING, "")])
    return buf.getvalue()


def render_learnability(suites: Sequence[LearnSuite], fmt: str) -> str:
    """The document: per suite its learnability table and its runs, or (csv) one tidy table."""
    if fmt not in FORMATS:
        raise BenchError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    if fmt == "csv":
        return csv_table(suites)
    return "\n\n".join(render_block(b, fmt) for s in suites for b in (table_block(s), runs_block(s))) + "\n"
