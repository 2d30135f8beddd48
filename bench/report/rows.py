"""One leaderboard row per scheme: its runs by init seed, its config, and each finished seed's metrics
with their mean ± std over seeds. Diverged runs count in `diverged` only (docs/leaderboard.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.report.metrics import METRICS, group_tasks, record_metrics, task_groups
from bench.report.records import LoadedRecord
from bench.report.stats import Summary, summarize
from bench.report.suites import by_seed, flat_config, lr_search, split_schemes


@dataclass
class Row:
    """One scheme of a suite: its runs by init seed and what is computed from them."""

    label: str
    runs: dict[int, LoadedRecord]
    flat: dict[str, Any]
    metrics: dict[int, dict[str, float | None]]  # init seed → metrics, finished runs only
    summaries: dict[str, Summary] = field(default_factory=dict)
    deltas: dict[str, Summary] = field(default_factory=dict)  # token bucket → loss minus the reference's
    p: float | None = None
    rank: int | None = None

    @property
    def diverged(self) -> int:
        return sum(r.record["status"] == "diverged" for r in self.runs.values())

    @property
    def lr_tuned(self) -> bool:
        return any(lr_search(r.record) is not None for r in self.runs.values())

    def values(self, key: str) -> list[float]:
        """The metric's value at each finished seed that has it."""
        return [v for m in self.metrics.values() if (v := m.get(key)) is not None]

    def mean_of(self, key: str) -> float | None:
        return self.summaries[key].mean if key in self.summaries else None


def make_rows(runs: Sequence[LoadedRecord]) -> tuple[list[Row], dict[str, tuple[str, ...]]]:
    """The rows of one suite's runs, sorted by label, and the tasks each group score averages."""
    finished = [r.record for r in runs if r.record["status"] == "ok"]
    groups = {key: group_tasks(finished, tasks) for key, tasks in task_groups().items()}
    rows = []
    for label, group in sorted(split_schemes(runs).items()):
        seeds = by_seed(label, group)
        metrics = {s: record_metrics(r.record, groups) for s, r in sorted(seeds.items())
                   if r.record["status"] == "ok"}
        row = Row(label, dict(sorted(seeds.items())), flat_config(group[0].record["config"]), metrics)
        row.summaries = {m.key: summarize(row.values(m.key)) for m in METRICS}
        rows.append(row)
    return rows, groups
