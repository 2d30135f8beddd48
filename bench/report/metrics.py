"""The metric registry: every score a leaderboard shows, where in a run record it is read from
(each path once, here), and which way is better (docs/leaderboard.md).

Val bpb is the `val_text` task's bits_per_byte (held-out wiki and Shakespeare text, lm-eval); val loss
is the trainer's best validation loss (nats per token on the corpus's own validation split); train loss
is the last step's loss. Reasoning / knowledge: unweighted mean of the chance-normalized accuracy
(acc − chance)/(1 − chance) over the tasks of `initbench_reasoning` / `initbench_knowledge` (as
tasks/*.yaml declare them) that every scored run of the suite has. Synthetic scores are raw accuracies.
Token-bucket losses (`loss_<bucket>`) feed the Δloss columns. An accuracy's chance level, its binomial
standard error and its learning curve are read beside it (`chance`, `Metric.stderr`, `Metric.curve`), so
its path is written once, in its registry entry.

Provenance: a task that runs of one suite scored under different known conditions (document limit or
seeded subset, seed, lm-eval version; `record.evaluation.tasks`) makes every score read from it a
comparison of unlike scores; `mixed_conditions` finds them and the tables mark them. Records without
provenance (written before it was kept) count as unknown, the same for all, so they never raise a mark.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.evaluate.catalog import group_members
from bench.record.schema import BUCKETS, RunRecord, describe_conditions, scoring_conditions
from bench.report.records import dig, number
from bench.report.stats import mean

HOPS = (1, 2, 3, 4, 5)  # the deduction tasks' hop counts (acc_hop1..5)
STEPS = ("train", "steps")  # the optimizer steps a run took: where its final scores sit on a curve
EVAL_CURVE = ("train", "eval_curve")  # periodic evaluations: {"step", <task>: scores as in `eval`}


@dataclass(frozen=True)
class Metric:
    """One score: its column header, which way is better, and where a record holds it."""

    key: str
    header: str
    better: str | None  # "high", "low", or None for a diagnostic
    decimals: int
    path: tuple[str, ...] = ()  # keys into the record; empty for a group score
    group: str | None = None  # the tasks/ group whose tasks a group score averages

    def value(self, record: RunRecord) -> float | None:
        return number(dig(record, *self.path))

    @property
    def accuracy(self) -> bool:
        """An lm-eval accuracy (`eval.<task>.acc*`): what has a chance level and a learning curve."""
        return len(self.path) == 3 and self.path[0] == "eval" and self.path[2].startswith("acc")

    def stderr(self, record: RunRecord) -> float | None:
        """The score's standard error over documents, which lm-eval stores beside it as `<metric>_stderr`."""
        return number(dig(record, *self.path[:-1], f"{self.path[-1]}_stderr"))

    def curve(self, record: RunRecord) -> list[tuple[int, float]]:
        """(step, value) at each periodic evaluation (`train.eval_curve`, whose points hold the scores as
        `eval` does) and the final score at the last step, sorted by step; the final score replaces a
        periodic one taken at the same step."""
        points: dict[int, float] = {}
        curve = dig(record, *EVAL_CURVE)
        for point in curve if isinstance(curve, list) else []:
            step, value = dig(point, "step"), number(dig(point, *self.path[1:]))
            if isinstance(step, int) and value is not None:
                points[step] = value
        steps, final = dig(record, *STEPS), self.value(record)
        if isinstance(steps, int) and final is not None:
            points[steps] = final
        return sorted(points.items())


METRICS: tuple[Metric, ...] = (
    Metric("bpb", "val bpb", "low", 3, ("eval", "val_text", "bits_per_byte")),
    Metric("val_loss", "val loss", "low", 3, ("train", "best_val_loss")),
    Metric("train_loss", "train loss", "low", 3, ("train", "final_loss")),
    Metric("reasoning", "reasoning (norm.)", "high", 3, group="initbench_reasoning"),
    Metric("knowledge", "knowledge (norm.)", "high", 3, group="initbench_knowledge"),
    Metric("anchor_inferential", "anchor inferential", "high", 3,
           ("eval", "anchor_unseen", "acc_inferential")),
    Metric("anchor_symmetric", "anchor symmetric", None, 3, ("eval", "anchor_unseen", "acc_symmetric")),
    Metric("anchor_seen", "anchor seen", "high", 3, ("eval", "anchor_seen", "acc")),
    Metric("rsnmem_heldout", "rsnmem held-out", "high", 3, ("eval", "rsnmem", "acc_reasoning_heldout")),
    Metric("rsnmem_train", "rsnmem trained pairs", "high", 3, ("eval", "rsnmem", "acc_reasoning_train")),
    Metric("rsnmem_memory", "rsnmem memory", "high", 3, ("eval", "rsnmem", "acc_memory")),
    Metric("deduction", "deduction", "high", 3, ("eval", "deduction", "acc")),
    *(Metric(f"deduction_hop{h}", f"deduction hop {h}", "high", 2, ("eval", "deduction", f"acc_hop{h}"))
      for h in HOPS),
    # The reasoning suite's held-out scores (tasks/initbench_reasoning_suite.yaml, docs/data.md).
    Metric("deduction_chain", "deduction chain", "high", 3, ("eval", "deduction_chain", "acc")),
    *(Metric(f"deduction_chain_hop{h}", f"deduction chain hop {h}", "high", 2,
             ("eval", "deduction_chain", f"acc_hop{h}")) for h in HOPS),
    Metric("recall", "recall held-out", "high", 3, ("eval", "recall", "acc")),
    Metric("recall_long", "recall longer", "high", 3, ("eval", "recall", "acc_long")),
    Metric("modadd", "modadd held-out", "high", 3, ("eval", "modadd", "acc")),
    Metric("spikes", "spikes", "low", 1, ("train", "spikes")),
    Metric("tokens_per_s", "tok/s", "high", 0, ("train", "tokens_per_s")),
)
METRIC = {m.key: m for m in METRICS}
# What one run cost (listed per run beside the learnability table); facts, not scores: no leaderboard column.
RUN_FACTS: tuple[Metric, ...] = (
    Metric("steps", "steps", None, 0, STEPS),
    Metric("tokens", "tokens", None, 0, ("train", "tokens")),
    Metric("train_wall_s", "train wall s", None, 0, ("train", "wall_s")),
    Metric("eval_wall_s", "scoring wall s", None, 0, ("evaluation", "wall_s")),
    Metric("threads", "threads", None, 0, ("env", "threads")),
)
# Per-hop accuracies of a deduction score: detail, shown in a table of their own and not compared.
HOP_METRICS = {base: tuple(f"{base}_hop{h}" for h in HOPS) for base in ("deduction", "deduction_chain")}
HEADLINES = tuple(m.key for m in METRICS if m.better is not None)
# A single synthetic corpus is ranked by its held-out reasoning score (the task its test split measures).
CORPUS_HEADLINE = {"anchor": "anchor_inferential", "rsnmem": "rsnmem_heldout",
                   "deduction-chain": "deduction_chain", "recall": "recall", "modadd": "modadd"}


def task_groups() -> dict[str, tuple[str, ...]]:
    """Group score key → the leaf tasks of its tasks/ group."""
    return {m.key: group_members(m.group) for m in METRICS if m.group is not None}


def task_score(record: RunRecord, task: str) -> float | None:
    """A task's chance-normalized accuracy."""
    return number(dig(record, "eval", task, "normalized"))


def chance(record: RunRecord, task: str, metric: str = "acc") -> float | None:
    """The chance level the record stores for `task` (`eval.<task>.chance`, the task's metadata): one
    number for every metric, or one per metric name."""
    value = dig(record, "eval", task, "chance")
    return number(value.get(metric) if isinstance(value, dict) else value)


def bucket_loss(record: RunRecord, bucket: str) -> float | None:
    return number(dig(record, "probes", "tokens", "buckets", bucket, "mean_loss"))


def group_tasks(records: Sequence[RunRecord], tasks: Sequence[str]) -> tuple[str, ...]:
    """The group's tasks scored (chance-normalized) in every record that scored any of them."""
    scored = [{t for t in tasks if task_score(r, t) is not None} for r in records]
    scored = [s for s in scored if s]
    return tuple(t for t in tasks if scored and all(t in s for s in scored))


def record_metrics(record: RunRecord, groups: dict[str, tuple[str, ...]]) -> dict[str, float | None]:
    """Every metric of one record (group scores over `groups`' tasks, and each of those tasks'
    chance-normalized accuracy as `task:<task>`) and its token-bucket losses."""
    out = {m.key: m.value(record) for m in METRICS if m.group is None}
    for key, tasks in groups.items():
        values = [v for t in tasks if (v := task_score(record, t)) is not None]
        out[key] = mean(values) if tasks and len(values) == len(tasks) else None
        out.update({f"task:{t}": task_score(record, t) for t in tasks})  # the per-task detail table
    for bucket in BUCKETS:
        out[f"loss_{bucket}"] = bucket_loss(record, bucket)
    return out


def metric_tasks(groups: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Metric key → the tasks whose scores it reads (group scores: `groups`' tasks); training metrics
    read none and are left out."""
    return {**{m.key: (m.path[1],) for m in METRICS if m.path[:1] == ("eval",)}, **groups}


def mixed_conditions(records: Sequence[RunRecord], tasks: Sequence[str]) -> dict[str, dict[str, int]]:
    """The tasks of `tasks` that `records` scored under more than one known set of conditions: task →
    {conditions as text: number of records}. Unknown provenance is left out of the comparison."""
    out: dict[str, dict[str, int]] = {}
    for task in dict.fromkeys(tasks):
        counts: dict[str, int] = {}
        for record in records:
            conditions = scoring_conditions(record, task)  # None also when the task was not scored
            if conditions is not None:
                text = describe_conditions(conditions)
                counts[text] = counts.get(text, 0) + 1
        if len(counts) > 1:
            out[task] = dict(sorted(counts.items()))
    return out
