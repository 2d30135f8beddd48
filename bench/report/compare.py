"""Paired comparisons of every row with the suite's reference scheme, per score column
(docs/leaderboard.md#statistics).

A column that reads lm-eval tasks is compared document by document when both schemes' runs carry
per-document outputs (bench.evaluate.documents): a paired two-way bootstrap over init seeds × documents
(bench.report.stats.paired_bootstrap) on the seeds both schemes finished and the documents every one of
those runs scored. A group score (reasoning, knowledge) is the mean of its tasks' chance-normalized
accuracies, so its Δ is the mean of each task's Δacc / (1 − chance), resampled with one draw of seeds for
all tasks. Bits per byte pools −Σ loglik / Σ bytes / ln 2 over the resampled cells. Columns without
documents (training losses, speed) and runs scored before per-document outputs were kept fall back to
the seed-level paired t-test over the shared seeds, and say so. Seeds that only one scheme has are left
out of its comparison. p-values of one column are Holm-adjusted across the schemes of the table; each
column's minimum detectable effect (80% power, two-sided α = 0.05) is (z_{0.975} + z_{0.8}) · SE for the
bootstrap and (t_{0.975,n−1} + t_{0.8,n−1}) · SE for the t-test, with SE the median over the table's
schemes of the comparison's standard error.
"""

from __future__ import annotations

import math
import statistics
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bench.core.errors import BenchError
from bench.evaluate.documents import read_docs
from bench.record.schema import DocFile, TaskDocs
from bench.report.metrics import HOP_METRICS, METRICS, chance
from bench.report.records import LoadedRecord, warn
from bench.report.rows import Row
from bench.report.stats import (
    DocScores,
    PairedResult,
    holm,
    mde_normal,
    mde_paired_t,
    paired_bootstrap,
    paired_t,
)

TESTS = {"bootstrap": "paired bootstrap over seeds × documents", "t": "paired t-test over seeds"}
# What a column that could be compared per document says when its runs kept no per-document outputs.
FALLBACK = "paired t-test over seeds: no per-document outputs"
# Diagnostics, not scores: shown, never tested.
UNTESTED = ("spikes", "tokens_per_s")


@dataclass(frozen=True)
class Column:
    """A compared score: metric key, and the (task, per-document metric, scale) parts it reads from
    per-document outputs (none: seed level only)."""

    key: str
    header: str
    decimals: int
    parts: tuple[tuple[str, str, float], ...] = ()


@dataclass
class Comparisons:
    """Per column key: each row's PairedResult against the reference (None: nothing to compare), the
    Holm-adjusted p-values, and the column's minimum detectable effect."""

    columns: list[Column]
    results: dict[str, dict[str, PairedResult | None]]
    holm: dict[str, dict[str, float | None]]
    mde: dict[str, tuple[float | None, str | None]]  # key -> (MDE, the test it is for)


def task_chance(rows: Sequence[Row], task: str) -> float | None:
    """The chance level of the task's accuracy, from the first record that stores one."""
    for row in rows:
        for run in row.runs.values():
            level = chance(run.record, task)
            if level is not None:
                return level
    return None


def columns(rows: Sequence[Row], groups: dict[str, tuple[str, ...]]) -> list[Column]:
    """The suite's compared columns: every ranked metric that some row has (not the per-hop accuracies,
    a detail table of their own), then each task of the group scores (chance-normalized accuracy)."""
    out = []
    hops = {k for keys in HOP_METRICS.values() for k in keys}
    for m in METRICS:
        if m.better is None or m.key in hops or m.key in UNTESTED or \
                not any(r.values(m.key) for r in rows):
            continue
        parts: tuple[tuple[str, str, float], ...] = ()
        if m.group is not None:
            chances = {t: task_chance(rows, t) for t in groups.get(m.key, ())}
            if chances and all(c is not None and c < 1 for c in chances.values()):
                parts = tuple((t, "acc", 1 / (1 - c)) for t, c in chances.items())  # type: ignore[operator]
        elif m.path[:1] == ("eval",) and len(m.path) == 3:
            parts = ((m.path[1], m.path[2], 1.0),)
        out.append(Column(m.key, m.header, m.decimals, parts))
    for tasks in groups.values():
        for task in tasks:
            chance = task_chance(rows, task)
            if chance is not None and chance < 1 and any(r.values(f"task:{task}") for r in rows):
                out.append(Column(f"task:{task}", f"{task} (norm.)", 3, ((task, "acc", 1 / (1 - chance)),)))
    return out


class DocCache:
    """Per-document outputs of each run, read once; a damaged file warns and counts as absent."""

    def __init__(self) -> None:
        self.files: dict[str, DocFile | None] = {}

    def get(self, run: LoadedRecord) -> DocFile | None:
        key = str(run.path)
        if key not in self.files:
            try:
                self.files[key] = read_docs(run.path.parent)
            except BenchError as exc:
                warn(f"{exc}; its comparisons fall back to the seed-level test")
                self.files[key] = None
        return self.files[key]


def _values(docs: TaskDocs, metric: str) -> dict[int, tuple[float, float]]:
    """doc id -> (num, den) of one run's task: (−loglik / ln 2, bytes) for bits per byte, else (value, 1)."""
    if metric == "bits_per_byte":
        lls, sizes = docs.get("loglik") or [], docs.get("bytes") or []
        return {d: (-ll / math.log(2), float(b)) for d, ll, b in zip(docs["doc_id"], lls, sizes, strict=True)
                if ll is not None and b}
    values = docs["metrics"].get(metric) or []
    return {d: (float(v), 1.0) for d, v in zip(docs["doc_id"], values, strict=True) if v is not None}


def _doc_part(runs: Sequence[Sequence[LoadedRecord]], cache: DocCache, task: str, metric: str,
              scale: float) -> tuple[DocScores, DocScores] | None:
    """Both schemes' seeds × documents matrices of one task (runs[0]: the row's runs, runs[1]: the
    reference's, aligned by seed), on the documents every run scored; None when a run lacks them."""
    tables = []
    for side in runs:
        per_run = []
        for run in side:
            docs = (cache.get(run) or {"tasks": {}})["tasks"].get(task)  # type: ignore[typeddict-item]
            if docs is None:
                return None
            per_run.append(_values(docs, metric))
        tables.append(per_run)
    common = sorted(set.intersection(*(set(t) for side in tables for t in side)))
    if not common:
        return None
    out = []
    for side in tables:
        num = np.array([[t[d][0] for d in common] for t in side])
        den = np.array([[t[d][1] for d in common] for t in side])
        out.append(DocScores(num, den, scale))
    return out[0], out[1]


def compare(row: Row, ref: Row, column: Column, cache: DocCache, seed: int) -> PairedResult | None:
    """The row against the reference on one column: per documents when possible, else per seed."""
    seeds = sorted(set(row.metrics) & set(ref.metrics))
    if column.parts and seeds:
        sides = ([row.runs[s] for s in seeds], [ref.runs[s] for s in seeds])
        parts = [_doc_part(sides, cache, task, metric, scale) for task, metric, scale in column.parts]
        if all(p is not None for p in parts):
            return paired_bootstrap([p[0] for p in parts if p], [p[1] for p in parts if p], seed)
    pairs = [(a, b) for s in seeds if (a := row.metrics[s].get(column.key)) is not None
             and (b := ref.metrics[s].get(column.key)) is not None]
    return paired_t([a for a, _ in pairs], [b for _, b in pairs])


def test_name(column: Column, test: str) -> str:
    """How tables name the test a comparison used; a per-document column that fell back says so."""
    return FALLBACK if column.parts and test == "t" else TESTS[test]


def column_mde(results: Sequence[PairedResult]) -> tuple[float | None, str | None]:
    """The column's MDE at the median standard error of its comparisons, for the test most of them
    used; None when there is nothing to compare."""
    if not results:
        return None, None
    test = statistics.mode(r.test for r in results)
    chosen = [r for r in results if r.test == test]
    se = statistics.median(r.se for r in chosen)
    if se == 0.0:  # the differences do not vary (e.g. no loss spike in any run): nothing sizes an effect
        return None, test
    if test == "bootstrap":
        return mde_normal(se), test
    n = min(r.seeds for r in chosen)
    return mde_paired_t(se * math.sqrt(n), n), test


def compare_rows(name: str, rows: Sequence[Row], ref: Row, groups: dict[str, tuple[str, ...]]) -> Comparisons:
    """Every row against `ref` on every column, Holm across the rows of each column, and the MDEs.
    The bootstrap's seed derives from the suite, column and row names, so tables are byte-stable."""
    cache = DocCache()
    cols = columns(rows, groups)
    results: dict[str, dict[str, PairedResult | None]] = {}
    adjusted: dict[str, dict[str, float | None]] = {}
    mdes: dict[str, tuple[float | None, str | None]] = {}
    others = [r for r in rows if r is not ref]
    for col in cols:
        results[col.key] = {
            r.label: compare(r, ref, col, cache, zlib.crc32(f"{name}|{col.key}|{r.label}".encode()))
            for r in others}
        ps = holm([res.p if res else None for res in results[col.key].values()])
        adjusted[col.key] = dict(zip(results[col.key], ps, strict=True))
        mdes[col.key] = column_mde([res for res in results[col.key].values() if res is not None])
    return Comparisons(cols, results, adjusted, mdes)
