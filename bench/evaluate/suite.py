"""Running lm-eval suites over our tasks (docs/evaluation.md).

`run_suite(lm, tasks)` evaluates a model (usually `bench.evaluate.adapter.BenchLM`) on tasks or groups of
`tasks/` with `lm_eval.simple_evaluate` and returns the record's shape (`bench.evaluate.results`).
`task_manager` indexes our tasks only, `only_included_tasks` makes lm-eval's CLI do the same, and
`eval_environment` is what every lm-eval call runs inside.

Safety: lm-eval's `use_cache` / `cache_requests` are never used (they are not keyed by model and would mix
checkpoints). Evaluation runs offline (`bench.data.sources.hub_offline`: HF_HUB_OFFLINE /
HF_DATASETS_OFFLINE set while lm-eval loads tasks and data, and `datasets`' import-time constants switched
with them); a user who exported either variable (e.g. `HF_HUB_OFFLINE=0` with a network) is left alone.
Nothing leaks into the process afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.config.schema import PROTOCOLS, Protocol
from bench.core.errors import BenchError
from bench.data.sources import hub_offline
from bench.evaluate import catalog
from bench.evaluate.documents import task_docs
from bench.evaluate.protocol import powered_samples, task_provenance
from bench.evaluate.results import convert_results
from bench.record.env import scoring_provenance

if TYPE_CHECKING:
    from lm_eval.api.model import TemplateLM

# Mean-type metrics (acc) get a closed-form stderr whenever this is > 0; bootstrapped ones (median, f1,
# perplexity) use this many resamples, seeded by lm-eval (deterministic), in-process (eval_environment).
BOOTSTRAP_ITERS = 100


def task_manager(tasks_dir: Path | None = None) -> Any:
    """lm-eval's TaskManager over our tasks only (indexing the stock tasks costs ~10 s)."""
    from lm_eval.tasks import TaskManager

    folder = Path(tasks_dir) if tasks_dir is not None else catalog.tasks_dir()
    if not folder.is_dir():
        raise BenchError(f"task folder {folder} does not exist")
    return TaskManager(include_path=str(folder), include_defaults=False)


def _group_metadata(tm: Any) -> dict[str, Any]:
    """The `metadata` block of each group's YAML (lm-eval's results do not carry it)."""
    out: dict[str, Any] = {}
    index = getattr(tm, "task_index", {}) or {}
    for name in tm.all_groups:
        cfg = getattr(index.get(name), "cfg", None)
        if isinstance(cfg, dict) and isinstance(cfg.get("metadata"), dict):
            out[name] = cfg["metadata"]
    return out


@contextlib.contextmanager
def eval_environment() -> Iterator[None]:
    """Offline hub (unless the user chose otherwise) and in-process bootstrap resampling (lm-eval forks a
    pool of cpu_count workers per bootstrapped metric otherwise) while lm-eval runs; restored after."""
    had = os.environ.get("DISABLE_MULTIPROC")
    os.environ.setdefault("DISABLE_MULTIPROC", "1")
    # lm-eval warns about our custom datasets and per-hop metric counts on every task build: known,
    # documented in tasks/README.md, and noise in a run's output.
    quiet = [logging.getLogger(name) for name in ("lm_eval", "lm-eval")]
    levels = [lg.level for lg in quiet]
    for lg in quiet:
        lg.setLevel(logging.ERROR)
    try:
        with hub_offline():
            yield
    finally:
        if had is None:
            os.environ.pop("DISABLE_MULTIPROC", None)
        for lg, level in zip(quiet, levels, strict=True):
            lg.setLevel(level)


def run_suite(lm: TemplateLM, tasks: list[str], limit: int | None = None, tasks_dir: Path | None = None,
              seed: int = 1234, log_samples: bool = False, protocol: Protocol = "quick") -> dict[str, Any]:
    """Evaluate `lm` on our lm-eval tasks/groups; deterministic (seeded, no caches). `protocol`
    "powered" scores whole splits and the seeded subsets of bench.evaluate.protocol (no `limit`).
    The result carries each task's per-document outputs (`documents`, bench.evaluate.documents) and
    its protocol provenance (`task_provenance`); `samples` (lm-eval's raw ones) with `log_samples`."""
    import lm_eval

    if not tasks:
        raise BenchError("no tasks given")
    if limit is not None and (isinstance(limit, bool) or limit <= 0):
        raise BenchError(f"limit must be a positive number of documents, got {limit!r}")
    if protocol not in PROTOCOLS:
        raise BenchError(f"unknown evaluation protocol {protocol!r} (choose from {', '.join(PROTOCOLS)})")
    if protocol == "powered" and limit is not None:
        raise BenchError("the powered protocol scores whole splits or its fixed subsets; it takes no limit")
    tm = task_manager(tasks_dir)
    unknown = [t for t in tasks if t not in tm.all_tasks]
    if unknown:
        known = ", ".join(tm.all_tasks) or "none"
        raise BenchError(f"unknown task or group {', '.join(map(repr, unknown))} (available: {known})")
    t0 = time.perf_counter()
    with eval_environment():
        samples = powered_samples(tm, list(tasks)) if protocol == "powered" else {}
        # Samples are always logged: the per-document outputs are read from them.
        results = lm_eval.simple_evaluate(
            model=lm, tasks=list(tasks), task_manager=tm, limit=limit, samples=samples or None,
            use_cache=None, cache_requests=False, bootstrap_iters=BOOTSTRAP_ITERS, log_samples=True,
            random_seed=seed, numpy_random_seed=seed, torch_random_seed=seed, fewshot_random_seed=seed)
    wall = time.perf_counter() - t0
    out = convert_results(results, _group_metadata(tm))
    out["wall_s"] = wall
    # Kept per task in the record, so that scores obtained at different times say how each was obtained.
    out["provenance"] = scoring_provenance(limit, seed, getattr(lm, "batch_size", None))
    out["task_provenance"] = task_provenance(results, protocol, samples)
    out["documents"] = task_docs(results.get("samples") or {})
    if log_samples:
        out["samples"] = results.get("samples")
    return out


@contextlib.contextmanager
def only_included_tasks() -> Iterator[None]:
    """Make lm-eval's CLI build its TaskManager without the stock tasks (it has no flag for that)."""
    import lm_eval.tasks as lm_tasks

    original = lm_tasks.TaskManager

    class IncludedOnly(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any):
            kwargs.setdefault("include_defaults", False)
            super().__init__(*args, **kwargs)

    lm_tasks.TaskManager = IncludedOnly
    try:
        yield
    finally:
        lm_tasks.TaskManager = original
