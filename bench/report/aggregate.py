"""Suites of rows: runs grouped by suite, one row per scheme, ranked and compared with a reference
scheme (docs/leaderboard.md).

Headline and reference. The headline score ranks the rows (1 = best; ties share a rank) and gets the
CI and the p-value: on a single synthetic corpus its held-out reasoning score (metrics.CORPUS_HEADLINE;
anchor: the inferential accuracy on the unseen pair), otherwise val bpb
when any run has it, else val loss (`--headline` overrides). p: two-sided paired test against the
reference scheme (per document and seed when the runs kept per-document outputs, else the paired
t-test over the init seeds both schemes finished); the reference: `--reference`, else `gamma-0.5` (the LeCun
fan-in scale, the Xu-group papers' "large" baseline), else `normal` (GPT-2's N(0, 0.02²)), else the
first row whose label starts with one of those, else the first label in sort order. Every score column
is compared too (bench.report.compare): per document where the runs kept their per-document outputs,
Holm-adjusted across the table's schemes, with each column's minimum detectable effect. Δloss: per token
bucket, the scheme's mean loss minus the reference's for the same init seed, averaged over seeds
(negative: lower loss than the reference).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.core.errors import BenchError
from bench.record.schema import BUCKETS
from bench.report.compare import Comparisons, compare_rows
from bench.report.gamma import GammaSweep, PhaseDiagram, gamma_sweeps, phase_diagrams
from bench.report.metrics import CORPUS_HEADLINE, METRIC, metric_tasks, mixed_conditions
from bench.report.records import LoadedRecord, warn
from bench.report.rows import Row, make_rows
from bench.report.stats import PairedResult, paired_t_test, summarize
from bench.report.suites import SuiteKey, is_unchosen_trial, suite_key, suite_names

REFERENCE_PREFERENCE = ("gamma-0.5", "normal")


@dataclass
class Suite:
    """One suite's table: its runs, ranked rows, reference and headline, γ sweeps and phase diagrams."""

    name: str
    key: SuiteKey
    runs: list[LoadedRecord]
    rows: list[Row]
    reference: str
    headline: str
    reasoning_metric: str | None
    groups: dict[str, tuple[str, ...]]
    trials_left_out: int
    sweeps: list[GammaSweep]
    phases: list[PhaseDiagram]
    # Tasks scored under different conditions by the suite's finished runs (metrics.mixed_conditions).
    mixed: dict[str, dict[str, int]] = field(default_factory=dict)
    # Paired comparisons with the reference per score column (bench.report.compare).
    comparisons: Comparisons | None = None

    def comparison(self, key: str, label: str) -> tuple[PairedResult | None, float | None]:
        """The row's comparison with the reference on column `key` and its Holm-adjusted p."""
        if self.comparisons is None or key not in self.comparisons.results:
            return None, None
        return (self.comparisons.results[key].get(label), self.comparisons.holm[key].get(label))

    def mixed_tasks(self, key: str) -> list[str]:
        """The tasks behind metric `key` that this suite's runs scored under different conditions."""
        return [t for t in metric_tasks(self.groups).get(key, ()) if t in self.mixed]


def default_reference(labels: Sequence[str]) -> str:
    ordered = sorted(labels)
    for name in REFERENCE_PREFERENCE:
        if name in ordered:
            return name
    for name in REFERENCE_PREFERENCE:
        for label in ordered:
            if label.startswith(f"{name} "):
                return label
    return ordered[0]


def default_headline(corpus: str, rows: Sequence[Row]) -> str:
    key = CORPUS_HEADLINE.get(corpus)
    if key is not None and any(row.values(key) for row in rows):
        return key
    return "bpb" if any(row.values("bpb") for row in rows) else "val_loss"


def reasoning_metric(corpus: str, rows: Sequence[Row]) -> str | None:
    """The score the critical γ maximizes: the first of the corpus's candidates that any row has."""
    order = (CORPUS_HEADLINE[corpus],) if corpus in CORPUS_HEADLINE else \
        ("reasoning", "deduction", "anchor_inferential")
    return next((key for key in order if any(row.values(key) for row in rows)), None)


def rank_rows(rows: Sequence[Row], headline: str) -> None:
    """Rank 1 = best headline mean; equal means share the smaller rank; rows without a value: none."""
    sign = -1.0 if METRIC[headline].better == "high" else 1.0
    scored = sorted((sign * m, row.label) for row in rows if (m := row.mean_of(headline)) is not None)
    keys = [k for k, _ in scored]
    for row in rows:
        m = row.mean_of(headline)
        row.rank = None if m is None else keys.index(sign * m) + 1


def compare_to_reference(rows: Sequence[Row], ref: Row, headline: str) -> None:
    """Each row's paired t-test p on the headline and its token-bucket Δloss, over the seeds it shares
    with `ref`."""
    for row in rows:
        common = sorted(set(row.metrics) & set(ref.metrics))
        pairs = [(row.metrics[s][headline], ref.metrics[s][headline]) for s in common]
        pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
        row.p = None if row is ref else paired_t_test([a for a, _ in pairs], [b for _, b in pairs])
        for bucket in BUCKETS:
            key = f"loss_{bucket}"
            diffs = [row.metrics[s][key] - ref.metrics[s][key] for s in common
                     if row.metrics[s][key] is not None and ref.metrics[s][key] is not None]
            row.deltas[bucket] = summarize(diffs)


def build_suite(name: str, key: SuiteKey, runs: Sequence[LoadedRecord], reference: str | None,
                headline: str | None) -> Suite:
    """One suite's rows, ranked and compared, with its γ sweeps and (anchor corpus) phase diagrams."""
    kept = [r for r in runs if not is_unchosen_trial(r.record)]
    rows, groups = make_rows(kept)
    labels = [row.label for row in rows]
    if reference is not None and reference not in labels:
        raise BenchError(f"unknown reference scheme {reference!r} in suite {name} "
                         f"(schemes: {', '.join(labels)})")
    ref_label = reference or default_reference(labels)
    head = headline or default_headline(key.corpus, rows)
    rank_rows(rows, head)
    ref_row = next(r for r in rows if r.label == ref_label)
    compare_to_reference(rows, ref_row, head)
    comparisons = compare_rows(name, rows, ref_row, groups)
    for row in rows:  # the headline's p from the paired test its column uses (documents when kept)
        if head in comparisons.results and row is not ref_row:
            result = comparisons.results[head][row.label]
            row.p = result.p if result is not None else None
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.label))
    metric = reasoning_metric(key.corpus, rows)
    phases = phase_diagrams(rows) if key.corpus == "anchor" else []
    finished = [r.record for r in kept if r.record["status"] == "ok"]
    mixed = mixed_conditions(finished, [t for tasks in metric_tasks(groups).values() for t in tasks])
    for task, conditions in mixed.items():
        warn(f"suite {name}: {task} was scored under different conditions ("
             + "; ".join(f"{text}: {n} runs" for text, n in conditions.items()) + "); its columns are marked")
    return Suite(name, key, list(kept), rows, ref_label, head, metric, groups, len(runs) - len(kept),
                 gamma_sweeps(rows, metric), phases, mixed, comparisons)


def group_runs(runs: Sequence[LoadedRecord], suite: str | None = None) -> list[tuple[str, SuiteKey,
                                                                                   list[LoadedRecord]]]:
    """(name, key, runs) of each suite (or only `suite`), in name order."""
    by_key: dict[SuiteKey, list[LoadedRecord]] = {}
    for run in runs:
        by_key.setdefault(suite_key(run.record), []).append(run)
    names = suite_names(by_key)
    if suite is not None and suite not in names.values():
        raise BenchError(f"unknown suite {suite!r} (suites: {', '.join(sorted(names.values()))})")
    return [(name, k, by_key[k]) for name, k in sorted((name, k) for k, name in names.items()
                                                         if suite in (None, name))]


def build_suites(runs: Sequence[LoadedRecord], suite: str | None = None, reference: str | None = None,
                 headline: str | None = None) -> list[Suite]:
    """One Suite per suite key (or only `suite`), in name order."""
    return [build_suite(name, k, group, reference, headline) for name, k, group in group_runs(runs, suite)]
