"""`python -m bench eval`: score finished runs with lm-eval tasks, or benchmark the adapter."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bench.config import EvalConfig, names
from bench.core.errors import BenchError

QUICK_LIMIT = EvalConfig().limit  # a run's quick default, so `bench eval` rescoring matches it


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="score finished runs with lm-eval tasks, or benchmark the adapter",
                       description="Score the final model of each run directory on lm-eval tasks or groups "
                       "(tasks/: initbench_default, initbench_synthetic, initbench_reasoning, "
                       "initbench_knowledge, initbench_ppl, or single tasks). With --benchmark: measure the "
                       "adapter's requests/s per preset and the share of time outside the model forward.")
    p.add_argument("runs", nargs="*", type=Path, metavar="RUN_DIR", help="run directories (with model.pt)")
    p.add_argument("--tasks", default="initbench_default",
                   help="comma-separated tasks/groups (default %(default)s)")
    p.add_argument("--limit", type=int, help="quick protocol: documents per task (default 200; 0 = all)")
    p.add_argument("--full", action="store_true",
                   help="powered protocol: whole splits, and fixed seeded subsets of the huge ones "
                   "(docs/evaluation.md#protocols); what leaderboard comparisons need")
    p.add_argument("--batch-size", type=int, default=64, help="rows per forward pass (default %(default)s)")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N")
    p.add_argument("--seed", type=int, default=1234, help="lm-eval seeds (default %(default)s)")
    p.add_argument("--update-record", action="store_true",
                   help="merge the scores into each run's record.json and its per-document outputs into "
                   "evaluation_docs.json.gz, task by task (tasks not scored now keep theirs), atomically, "
                   "logged in <run>/record_history.jsonl")
    p.add_argument("--benchmark", action="store_true", help="time the adapter instead of scoring runs")
    p.add_argument("--presets", default="nano,small",
                   help="--benchmark: presets to time (default %(default)s)")
    p.set_defaults(func=cmd)


def eval_rows(results: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for name, metrics in {**results["tasks"], **results["groups"]}.items():
        for metric, value in metrics.items():
            if metric in ("n", "chance", "normalized", "normalized_by_metric", "subtasks", "alias") or \
                    metric.endswith("_stderr") or not isinstance(value, (int, float)):
                continue
            norm = (metrics.get("normalized_by_metric") or {}).get(metric)
            rows.append([name, metric, value, metrics.get(f"{metric}_stderr"), metrics.get("chance"), norm,
                         metrics.get("n")])
    return rows


def cmd(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from bench.core.device import resolve_device
    from bench.evaluate.catalog import check_tasks

    tasks = names(args.tasks)
    if args.full and args.limit is not None:
        raise BenchError("--full scores the powered protocol's documents; it cannot be combined with --limit")
    if args.limit is not None and args.limit < 0:
        raise BenchError("--limit must be >= 0 (0 = all documents)")
    limit = None if args.full else QUICK_LIMIT if args.limit is None else args.limit or None
    protocol = "powered" if args.full else "quick"
    if args.batch_size <= 0:
        raise BenchError(f"--batch-size must be positive, got {args.batch_size}")
    if not 0 <= args.seed < 2**32:
        raise BenchError(f"--seed must be in [0, 2^32 - 1], got {args.seed}")
    check_tasks(tasks, "--tasks")
    resolve_device(args.device)
    if args.benchmark:
        from bench.evaluate.benchmark import benchmark

        presets = names(args.presets)
        results = benchmark(presets, tasks, limit or 200, device=args.device, batch_size=args.batch_size)
        print(tabulate([r.row() for r in results], headers="keys", tablefmt="github"))
        return 0
    if not args.runs:
        raise BenchError("name at least one run directory (or use --benchmark)")
    from bench.evaluate.adapter import BenchLM
    from bench.evaluate.documents import merge_docs
    from bench.evaluate.results import merge_scores
    from bench.evaluate.suite import run_suite
    from bench.record.schema import RECORD_FILE, RunRecord, update_record
    from bench.train.artifacts import load_run

    for run_dir in args.runs:
        load_run(run_dir)  # every run is checked before any is scored
    for run_dir in args.runs:
        lm = BenchLM(run=run_dir, device=args.device, batch_size=args.batch_size)
        results = run_suite(lm, tasks, limit=limit, seed=args.seed, protocol=protocol)
        amount = "powered protocol" if args.full else f"limit {limit or 'all'}"
        print(f"\n## {run_dir} ({', '.join(tasks)}, {amount}, {results['wall_s']:.1f}s)")
        print(tabulate(eval_rows(results), headers=["task", "metric", "value", "stderr", "chance",
                                                    "normalized", "n"], tablefmt="github", floatfmt=".4f"))
        record_path = run_dir / RECORD_FILE
        if args.update_record and record_path.exists():
            def merge(record: RunRecord, results: dict[str, Any] = results, run_dir: Path = run_dir) -> None:
                merge_docs(run_dir, results["documents"])  # under the record's update lock
                for group in merge_scores(record, results):
                    print(f"{group}: re-aggregated from the tasks the record holds", file=sys.stderr)

            # Per task: tasks scored before and not now keep their scores and provenance.
            update_record(record_path, merge)
    return 0
