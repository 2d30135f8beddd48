"""The run record: one `record.json` per run, written by the run stage and read by every later stage
(evaluation updates, probes, sweeps, leaderboards). docs/record.md documents every key.

The types below are the one definition of its shape: writers build these dicts and readers index them
by these keys. They describe the JSON on disk, which stays a plain dict (a TypedDict costs nothing at run
time), so every committed record keeps loading. Contract keys are extended, never renamed.
"""

from __future__ import annotations

import copy
import datetime
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypedDict

from bench.config.schema import Protocol
from bench.core.errors import BenchError
from bench.core.files import write_json
from bench.core.lock import exclusive

RECORD_VERSION = 1
RECORD_FILE = "record.json"
# One JSON line per write of record.json, next to it: when, by which command, what changed.
HISTORY_FILE = "record_history.jsonl"
# Per-document outputs of the scored tasks (gzip'd JSON, `DocFile`), next to record.json.
EVAL_DOCS_FILE = "evaluation_docs.json.gz"
UPDATE_LOCK = ".record.lock"
# The token probe's buckets (probes.tokens.buckets), in the order tables and figures show them.
BUCKETS = ("trivial", "local", "context_constrained", "open")
Status = Literal["ok", "diverged"]


class EnvSince13(TypedDict, total=False):
    """`record.env` keys added after records were first committed: older records lack them."""

    flush_denormal: bool  # CPU arithmetic flushed subnormal floats to zero (docs/performance.md)


class Env(EnvSince13):
    """What produced the run: versions, git state, device (`record.env`)."""

    python: str
    torch: str
    lm_eval: str | None
    numpy: str | None
    initbench: str | None
    git_hash: str
    git_dirty: bool | None
    device: str
    device_name: str
    threads: int
    platform: str


class ModelInfo(TypedDict):
    n_params: int
    n_params_non_embedding: int
    flops_per_token: float


class InitParam(TypedDict):
    """One parameter's draw at step 0 (`record.init.params[i]`; for WeSaR, of the effective α·W)."""

    name: str
    role: str
    shape: list[int]
    layer: int | None  # block index; None outside the blocks
    dist: str
    std_expected: float | None
    std_measured: float
    mean_measured: float


class InitInfo(TypedDict):
    method: str
    seed: int
    params: list[InitParam]


class TrainInfoSince13(TypedDict, total=False):
    """`record.train` keys added after records were first committed: older records lack them."""

    compiled: bool  # the forward pass ran through torch.compile (train.compile, docs/training.md)
    precision: Literal["fp32", "bf16"]  # what train.precision resolved to


class TrainInfo(TrainInfoSince13):
    """Training outcome (`record.train`). Losses are nats per token; None when not finite."""

    steps: int
    tokens: int
    final_loss: float | None
    best_val_loss: float | None
    val_loss_by_source: dict[str, float]
    val_curve: list[dict[str, float]]  # {"step", "loss", "loss/<source>"...} per validation
    eval_curve: list[dict[str, Any]]  # {"step", <task>: TaskScores...} per periodic evaluation
    wall_s: float
    tokens_per_s: float
    mfu: float | None
    peak_flops: float | None
    peak_source: str
    spikes: int
    spike_steps: list[int]
    spike_rule: str


class TaskScores(TypedDict, total=False):
    """One lm-eval task's scores (`record.eval[task]`): every metric `m` of the task as `m` and
    `m_stderr`, plus these bookkeeping keys."""

    n: int | None  # documents scored
    chance: float | None
    normalized: float | None  # (acc - chance) / (1 - chance) of the task's main accuracy
    normalized_by_metric: dict[str, float | None]


class Recomputed(TypedDict):
    """Set on a group that initbench re-aggregated after `bench eval --update-record` re-scored some
    of its tasks (lm-eval aggregates only the tasks of one call)."""

    missing: list[str]  # member tasks of the group (tasks/*.yaml) the record does not hold
    mixed_provenance: bool  # its tasks were scored under different limits, seeds or lm-eval versions


class GroupScores(TypedDict, total=False):
    """A group's aggregate (`record.groups[group]`): aggregated metrics plus these keys."""

    n: int | None
    chance: float | None
    normalized: float | None
    subtasks: list[str]  # the leaf tasks its scores aggregate
    recomputed: Recomputed


class BucketLoss(TypedDict):
    """A token count and its mean loss. The count is `tokens` (there is no `count` key), as written
    since the first record; docs/record.md says the same."""

    tokens: int
    mean_loss: float | None


class Bucket(BucketLoss):
    by_source: dict[str, BucketLoss]


class SourceLoss(BucketLoss):
    synthetic: bool  # a generator's source: its answer tokens are context-constrained by construction


class TokenProbe(TypedDict, total=False):
    """The token-level probe (`record.probes.tokens`; empty when it did not run)."""

    rule: str
    reference: dict[str, Any]  # the n-gram reference: order, training tokens, cache entry
    buckets: dict[str, Bucket]  # keyed by BUCKETS
    sources: dict[str, SourceLoss]  # every scored token of each source


class StructureSeries(TypedDict):
    """Structural snapshots (`record.probes.structure`): one dict of measurements per probed step."""

    every: int
    series: list[dict[str, Any]]


class Probes(TypedDict):
    tokens: TokenProbe
    structure: StructureSeries


class LrTrial(TypedDict):
    """One LR of a cell's search (`record.sweep.lr_search.trials[i]`)."""

    lr: float
    run_id: str
    status: str
    best_val_loss: float | None


class LrSearch(TypedDict, total=False):
    """A sweep cell's learning-rate search (`record.sweep.lr_search`). `grid`, `chosen`, `by` and `selected`
    are in every record that has one; the rest were added with the automatic edge extension (records
    written before it lack them): `interior` is False when the chosen LR is still at an edge of the final
    grid, `extended` lists the LRs the extension added, `rule` states the selection in words, `trials`
    holds every LR's outcome so a reader can draw the loss-vs-LR curve from any one record of the cell."""

    grid: list[float]
    chosen: float | None
    by: str
    selected: bool
    interior: bool
    extended: list[float]
    rule: str
    trials: list[LrTrial]


class SweepInfo(TypedDict):
    """Added by `bench sweep` (`record.sweep`): the sweep's name, the scheme label, the LR search."""

    name: str
    label: str
    lr_search: LrSearch | None


class TaskProvenanceSince15(TypedDict, total=False):
    """`record.evaluation.tasks[task]` keys added with the powered protocol: older records lack them."""

    protocol: Protocol  # eval.protocol / `bench eval --full` (docs/evaluation.md)
    split_documents: int  # documents in the task's whole split
    subset_seed: int | None  # the seeded subset's seed; None: the first `documents` (limit) or all


class TaskProvenance(TaskProvenanceSince15):
    """How one task's scores were obtained (`record.evaluation.tasks[task]`), written with the scores.
    Tasks scored at different times (`bench eval --update-record`) each keep their own."""

    limit: int | None  # documents per task asked for; None = the full split
    documents: int | None  # documents actually scored (the task's `n`)
    seed: int  # lm-eval's random, numpy, torch and few-shot seeds
    batch_size: int | None
    lm_eval: str | None  # lm-eval's installed version
    git_hash: str  # the code that scored
    git_dirty: bool | None
    scored_at: str  # UTC, ISO 8601


class Evaluation(TypedDict, total=False):
    """How the scores were obtained (`record.evaluation`): task versions, wall time and, per task, its
    provenance. Records written before provenance existed lack `tasks`: readers treat it as unknown."""

    versions: dict[str, Any]
    wall_s: float  # scoring wall time, summed over every scoring of the record
    tasks: dict[str, TaskProvenance]
    # Scoring after training failed: `Type: message` of the exception, and the tasks and groups it was
    # to score. Removed once `bench eval --update-record` has given the record scores of all of them.
    error: str
    error_tasks: list[str]


class Distributed(TypedDict):
    """How a torchrun launch trained the run (`record.distributed`; absent from a single-process run's
    record, bench/train/distributed.py): the world size, the process-group backend, the strategy, how
    each rank takes its rows of the global batch, and the hash of the initial weights every rank held."""

    world_size: int
    backend: str  # gloo | nccl
    strategy: Literal["ddp", "fsdp2"]
    rows: str  # "contiguous": rank r trains rows [r·B/N, (r+1)·B/N) of each global batch
    init_hash: str  # sha256 over the initial state dict, equal on every rank (checked)


class RunRecord(TypedDict, total=False):
    """`record.json`. Every run has the keys up to `probes`; `diverged_step` only when diverged,
    `evaluation` once scored, `sweep` once a sweep annotated it, `distributed` for a torchrun launch."""

    record_version: int
    status: Status
    run_id: str
    config: dict[str, Any]  # the full effective config: bench.config.Config.to_dict()
    env: Env
    data: dict[str, Any]  # corpus, vocab, sequence length and the data provenance of bench.data
    model: ModelInfo
    init: InitInfo
    train: TrainInfo
    eval: dict[str, TaskScores]
    groups: dict[str, GroupScores]
    probes: Probes
    diverged_step: int
    evaluation: Evaluation
    sweep: SweepInfo
    distributed: Distributed  # only when launched by torchrun with more than one process


class TaskDocs(TypedDict):
    """One task's per-document outputs (`DocFile.tasks[task]`), lists aligned with `doc_id`. `metrics`:
    each per-document metric (0/1 accuracies; None where a document does not report the metric, e.g.
    acc_hop2 on a 1-hop document); `gold_ll` / `best_ll`: log-likelihood of the gold answer and of the
    model's choice (multiple choice); `loglik` / `bytes`: summed log-likelihood and byte count of a
    perplexity document, from which bits per byte pools as −Σ loglik / Σ bytes / ln 2. A list that no
    document of the task has is None."""

    doc_id: list[int]
    metrics: dict[str, list[float | None]]
    gold_ll: list[float | None] | None
    best_ll: list[float | None] | None
    loglik: list[float | None] | None
    bytes: list[int | None] | None


class DocFile(TypedDict):
    """`evaluation_docs.json.gz`: per task its documents; merged task by task like the record."""

    version: int
    tasks: dict[str, TaskDocs]


# What must match for two scores of one task to be comparable: the documents asked for (the limit, and the
# powered protocol's seeded subset of a huge split), the seeds, the lm-eval that scored them. Batch size,
# code commit and time do not change a score. Records from before subsets existed have no `subset_seed`:
# read as None, the same as a whole split or a limit.
SCORING_KEYS = ("limit", "subset_seed", "seed", "lm_eval")


def scoring_conditions(record: RunRecord, task: str) -> tuple[Any, ...] | None:
    """The task's (limit, subset_seed, seed, lm_eval) as scored in `record`; None when unknown (a record
    written before provenance was kept, or a task it did not score)."""
    prov = (record.get("evaluation") or {}).get("tasks", {}).get(task)
    if not isinstance(prov, dict):
        return None
    return tuple(prov.get(k) for k in SCORING_KEYS)


def describe_conditions(conditions: tuple[Any, ...]) -> str:
    """`limit 200, seed 1234, lm-eval 0.4.13`, `full split, ...` or `subset (seed 15), ...`: how notes and
    warnings name them."""
    limit, subset_seed, seed, version = conditions
    documents = (f"subset (seed {subset_seed})" if subset_seed is not None else
                 "full split" if limit is None else f"limit {limit}")
    return f"{documents}, seed {seed}, lm-eval {version}"


def read_record(path: Path, hint: str = "not a finished run") -> RunRecord:
    """A record from disk; an unreadable or unparsable file is a one-line user error ending in `hint`."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchError(f"{path} is unreadable or not valid JSON ({type(exc).__name__}); {hint}") from None
    if not isinstance(record, dict):
        raise BenchError(f"{path} is not a run record (expected a JSON object); {hint}")
    return record  # type: ignore[return-value]  # a TypedDict is the JSON object itself


def record_changes(before: RunRecord | None, after: RunRecord) -> list[str]:
    """What an update changed, for the history: each differing top-level key, or for an object that
    both hold, each of its differing entries as `key.entry` (`eval.arc_easy`, `probes.tokens`)."""
    if before is None:
        return sorted(after)
    out = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)  # type: ignore[misc]  # any top-level key
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            out += [f"{key}.{k}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        else:
            out.append(key)
    return out


def append_history(run_dir: Path, changed: list[str], action: str) -> None:
    """One line per write of the run's record: when, by which command, what changed. Appended (one
    short write per line), never rewritten, so the record's past stays readable next to it."""
    line = {"at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "action": action, "command": list(sys.argv), "changed": changed}
    with open(run_dir / HISTORY_FILE, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(line) + "\n")


def write_record(path: Path, record: RunRecord, before: RunRecord | None = None) -> None:
    """Atomically, so a reader or a crash never sees half a record; then log the write in the run's
    history (`before`: the record it replaces, None when it creates one)."""
    write_json(path, record)
    action = "create" if before is None else "update"
    append_history(Path(path).parent, record_changes(before, record), action)


def update_record(path: Path, change: Callable[[RunRecord], None],
                  hint: str = "not a finished run") -> RunRecord:
    """Read the record at `path`, apply `change` to it and write it back atomically with a history line;
    a change that changes nothing writes nothing. Updates of one record are serialized (a lock file in
    the run directory), so two at once (`bench eval --update-record` and `bench probe`) both land."""
    with exclusive(Path(path).parent / UPDATE_LOCK, f"record {path}", wait=True):
        record = read_record(path, hint)
        before = copy.deepcopy(record)
        change(record)
        if record != before:
            write_record(path, record, before)
    return record


def attach_scores(record: RunRecord, results: dict[str, Any]) -> list[str]:
    """Merge `run_suite` results into a record, task by task: the tasks scored now are added or replace
    their earlier scores (and provenance); every other task keeps its own. Groups scored now replace
    theirs. Returns the groups scored before that aggregate a task scored now: their scores are stale
    until re-aggregated (bench.evaluate.results.merge_scores, which knows how a group aggregates)."""
    rescored = set(results["tasks"])
    old_groups = record.get("groups", {})
    stale = [g for g, entry in old_groups.items() if g not in results["groups"]
             and rescored & {*entry.get("subtasks", []), *entry.get("recomputed", {}).get("missing", [])}]
    record["eval"] = dict(sorted({**record.get("eval", {}), **results["tasks"]}.items()))
    record["groups"] = dict(sorted({**old_groups, **results["groups"]}.items()))
    old: Evaluation = record.get("evaluation") or {}
    prov = results.get("provenance")
    new: Evaluation = {**old, "versions": dict(sorted({**old.get("versions", {}),
                                                       **results.get("versions", {})}.items())),
                       "wall_s": old.get("wall_s", 0.0) + results.get("wall_s", 0.0)}
    tasks = dict(old.get("tasks", {}))
    for task in rescored:
        tasks.pop(task, None)  # a re-scored task without provenance must not keep the old one
        if prov is not None:
            tasks[task] = {**prov, "documents": results["tasks"][task].get("n"),
                           **results.get("task_provenance", {}).get(task, {})}
    if tasks or prov is not None:
        new["tasks"] = dict(sorted(tasks.items()))
    if set(new.get("error_tasks", [])) <= set(record["eval"]) | set(record["groups"]):
        new.pop("error", None)  # what the failed scoring was to score has scores now
        new.pop("error_tasks", None)
    record["evaluation"] = new
    return stale
