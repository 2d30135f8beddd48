"""The run record: one `record.json` per run, written by the run stage and read by every later stage
(evaluation updates, probes, sweeps, leaderboards). docs/record.md documents every key.

The types below are the one definition of its shape: writers build these dicts and readers index them
by these keys. They describe the JSON on disk, which stays a plain dict (a TypedDict costs nothing at run
time), so every committed record keeps loading. Contract keys are extended, never renamed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, TypedDict

from bench.core.errors import BenchError
from bench.core.files import write_json

RECORD_VERSION = 1
RECORD_FILE = "record.json"
# The token probe's buckets (probes.tokens.buckets), in the order tables and figures show them.
BUCKETS = ("trivial", "local", "context_constrained", "open")
Status = Literal["ok", "diverged"]


class Env(TypedDict):
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


class TrainInfo(TypedDict):
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


class GroupScores(TypedDict, total=False):
    """A group's aggregate (`record.groups[group]`): aggregated metrics plus these keys."""

    n: int | None
    chance: float | None
    normalized: float | None
    subtasks: list[str]


class BucketLoss(TypedDict):
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


class LrSearch(TypedDict):
    grid: list[float]
    chosen: float | None
    by: str
    selected: bool


class SweepInfo(TypedDict):
    """Added by `bench sweep` (`record.sweep`): the sweep's name, the scheme label, the LR search."""

    name: str
    label: str
    lr_search: LrSearch | None


class Evaluation(TypedDict, total=False):
    """How the scores were obtained (`record.evaluation`): task versions and wall time."""

    versions: dict[str, Any]
    wall_s: float


class RunRecord(TypedDict, total=False):
    """`record.json`. Every run has the keys up to `probes`; `diverged_step` only when diverged,
    `evaluation` once scored, `sweep` once a sweep annotated it."""

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


def read_record(path: Path, hint: str = "not a finished run") -> RunRecord:
    """A record from disk; an unreadable or unparsable file is a one-line user error ending in `hint`."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchError(f"{path} is unreadable or not valid JSON ({type(exc).__name__}); {hint}") from None
    if not isinstance(record, dict):
        raise BenchError(f"{path} is not a run record (expected a JSON object); {hint}")
    return record  # type: ignore[return-value]  # a TypedDict is the JSON object itself


def write_record(path: Path, record: RunRecord) -> None:
    """Atomically, so a reader or a crash never sees half a record."""
    write_json(path, record)


def attach_scores(record: RunRecord, results: dict[str, Any]) -> None:
    """Put `run_suite` results into a record: `eval` (per task), `groups`, and `evaluation` (the rest:
    wall time, task versions)."""
    record["eval"], record["groups"] = results["tasks"], results["groups"]
    record["evaluation"] = {k: v for k, v in results.items()  # type: ignore[typeddict-item]
                            if k not in ("tasks", "groups")}
