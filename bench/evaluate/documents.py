"""Per-document outputs of a scoring (docs/evaluation.md#per-document-outputs): per task, each document's
id, its per-document metrics (0/1 accuracies), the log-likelihoods of the gold answer and of the model's
choice, and for perplexity tasks the summed log-likelihood and byte count. Saved next to record.json as
gzip'd JSON (bench.record.schema.EVAL_DOCS_FILE, `DocFile`), written atomically and merged task by task
like the record, so that leaderboards can pair two schemes document by document and seed by seed.
"""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path
from typing import Any

from bench.core.errors import BenchError
from bench.core.files import write_bytes
from bench.record.schema import EVAL_DOCS_FILE, DocFile, TaskDocs

DOCS_VERSION = 1
# Four decimals of a log-likelihood (1e-4 nats) are far below any difference a test can see, and keep
# a 2,000-document task at a few tens of kB compressed.
LL_DECIMALS = 4


def _ll(value: Any) -> float | None:
    if isinstance(value, (list, tuple)) and value:
        value = value[0]  # (loglikelihood, is_greedy)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return round(float(value), LL_DECIMALS)


def _metric(value: Any) -> float | None:
    """A per-document metric as stored: an int for 0/1 (and any integral value), else the float."""
    if isinstance(value, bool):
        return int(value)
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return int(value) if float(value).is_integer() else round(float(value), LL_DECIMALS)


def _sample_row(sample: dict[str, Any]) -> dict[str, Any]:
    resps = sample.get("filtered_resps") or []
    target = sample.get("target")
    lls = [_ll(r) for r in resps]
    multiple = len(lls) > 1 and isinstance(target, int) and not isinstance(target, bool) \
        and 0 <= target < len(lls)
    choices = [x for x in lls if x is not None]
    gold = lls[target] if multiple else lls[0] if len(lls) == 1 else None  # type: ignore[index]
    best = max(choices) if multiple and choices else None
    metrics: dict[str, Any] = {}
    loglik = n_bytes = None
    for name in sample.get("metrics") or []:
        value = sample.get(name)
        if isinstance(value, (list, tuple)):  # perplexity tasks: (loglikelihood, words or bytes)
            if name == "bits_per_byte" and len(value) == 2:
                loglik, n_bytes = _ll(value[0]), int(value[1])
            continue
        if "perplexity" not in name:  # lambada's per-document `perplexity` is a log-likelihood
            metrics[name] = _metric(value)
    return {"doc_id": int(sample["doc_id"]), "metrics": metrics, "gold_ll": gold, "best_ll": best,
            "loglik": loglik, "bytes": n_bytes}


def _column(values: list[Any]) -> list[Any] | None:
    return None if all(v is None for v in values) else values


def task_docs(samples: dict[str, list[dict[str, Any]]]) -> dict[str, TaskDocs]:
    """lm-eval's logged samples (`simple_evaluate(log_samples=True)["samples"]`) as TaskDocs per task.
    A task scored under several filters keeps the `none` filter's documents (else its first filter)."""
    out: dict[str, TaskDocs] = {}
    for task, rows in sorted(samples.items()):
        filters = list(dict.fromkeys(s.get("filter", "none") for s in rows))
        keep = "none" if "none" in filters else filters[0] if filters else "none"
        parsed = sorted((_sample_row(s) for s in rows if s.get("filter", "none") == keep),
                        key=lambda r: r["doc_id"])
        names = list(dict.fromkeys(m for r in parsed for m in r["metrics"]))
        out[task] = {  # type: ignore[typeddict-item]  # gold_ll ... may be None: the task has none
            "doc_id": [r["doc_id"] for r in parsed],
            "metrics": {m: [r["metrics"].get(m) for r in parsed] for m in names},
            **{key: _column([r[key] for r in parsed]) for key in ("gold_ll", "best_ll", "loglik", "bytes")}}
    return out


def encode(docs: DocFile) -> bytes:
    """Compact JSON, gzip'd with no timestamp, so the same outputs give the same bytes."""
    text = json.dumps(docs, separators=(",", ":"), sort_keys=True)
    return gzip.compress(text.encode(), compresslevel=9, mtime=0)


def read_docs(run_dir: Path) -> DocFile | None:
    """The run's per-document outputs; None when it has none (scored before they were kept)."""
    path = Path(run_dir) / EVAL_DOCS_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(gzip.decompress(path.read_bytes()))
    except (OSError, ValueError, EOFError) as exc:
        raise BenchError(f"{path} is unreadable ({type(exc).__name__}); rescore the run with "
                         "`python -m bench eval --update-record`") from None
    if not isinstance(data, dict) or data.get("version") != DOCS_VERSION or \
            not isinstance(data.get("tasks"), dict):
        raise BenchError(f"{path} is not a per-document file of version {DOCS_VERSION}")
    return data  # type: ignore[return-value]  # checked above: the DocFile shape


def merge_docs(run_dir: Path, tasks: dict[str, TaskDocs]) -> None:
    """Add or replace `tasks` in the run's per-document file, keeping every other task's documents;
    written atomically. Callers hold the record's update lock when the record is updated with it."""
    if not tasks:
        return
    old = read_docs(run_dir) or {"version": DOCS_VERSION, "tasks": {}}
    merged: DocFile = {"version": DOCS_VERSION, "tasks": dict(sorted({**old["tasks"], **tasks}.items()))}
    write_bytes(Path(run_dir) / EVAL_DOCS_FILE, encode(merged))
