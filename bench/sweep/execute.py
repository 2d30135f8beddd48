"""`python -m bench sweep`: a grid of runs (scheme labels × γ × extra config axes × init seeds, with the
per-cell learning-rate search by default, bench/sweep/lr_search.py), each trained by a child
`python -m bench run`.

A child process per run isolates failures: a crash or a bad corner of the grid fails that run only, and
`--jobs K` runs K children at once. Each child gets its planned config whole, as
`<out>/<run-id>.config.json` (`run --config`), so it trains exactly the Config the sweep checked. Re-running
a sweep resumes it: a run whose record.json exists is skipped, an interrupted run (checkpoint, no record)
continues with `--resume`.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.config import Config, config_diff, config_from_dict
from bench.core.device import resolve_device
from bench.core.errors import BenchError
from bench.core.files import write_json
from bench.core.lock import exclusive
from bench.core.paths import check_output_dir, check_run_id
from bench.data import sources
from bench.data.corpus import load_corpus, tokenizer_kind
from bench.evaluate.catalog import eval_sources
from bench.record.schema import RECORD_FILE, RunRecord, read_record, update_record
from bench.run.pipeline import AFTER_TRAINING, RESUMABLE_CHANGES, check_eval_tasks
from bench.sweep import cluster, lr_search
from bench.sweep.grid import (
    Cell,
    PlannedRun,
    Shared,
    Variant,
    grid_axis,
    lr_grid,
    plan_cells,
    plan_run,
    plan_runs,
    seed_list,
    shared,
    variants,
)
from bench.train.interrupt import INTERRUPT_CODES, SIGNALS, Interrupted


# A run's log and config file lie beside its run directory, not in it: `run --overwrite` deletes the
# directory it starts over.
def log_path(out: Path, run: PlannedRun) -> Path:
    return out / f"{run.id}.log"


def config_path(out: Path, run: PlannedRun) -> Path:
    return out / f"{run.id}.config.json"


def load_record(out: Path, run: PlannedRun) -> RunRecord | None:
    path = out / run.id / RECORD_FILE
    return read_record(path, hint="delete it to rerun that run") if path.exists() else None


def child_config(run: PlannedRun) -> Config:
    """What the child trains: an LR-search trial skips what only its finished model needs."""
    return lr_search.trial_config(run.cfg) if run.trial else run.cfg


def changes(record: RunRecord, run: PlannedRun) -> list[str]:
    """The config keys in which `record` differs from the run's whole planned config."""
    return config_diff(config_from_dict(record["config"], str(RECORD_FILE)), run.cfg)


def check_finished(out: Path, run: PlannedRun) -> RunRecord | None:
    """The run's existing record, if any. A record trained under another config (e.g. the same sweep
    with a different budget) is an error, never a silent skip. A trial's record may lack (or, once
    completed, have) what only the finished model needs."""
    record = load_record(out, run)
    if record is None:
        return None
    path = out / run.id / RECORD_FILE
    if not isinstance(record.get("config"), dict):
        raise BenchError(f"{path} has no config; delete it to rerun that run")
    saved = config_from_dict(record["config"], str(path))
    ignored = set(RESUMABLE_CHANGES) | ({"model.vocab_size"} if run.cfg.model.vocab_size == 0 else set()) \
        | (set(AFTER_TRAINING) if run.trial else set())
    changed = [k for k in config_diff(saved, run.cfg) if k not in ignored]
    if changed:
        raise BenchError(f"{path} was trained with a different {', '.join(changed)}; pick another --out "
                         "or delete that run")
    return record


def annotate(path: Path, info: dict[str, Any]) -> None:
    """Put `info` into the record as record["sweep"], the one key a sweep writes into a finished record
    (through update_record: atomic, logged in the run's history); an unchanged record is not rewritten."""
    def set_sweep(record: RunRecord) -> None:
        record["sweep"] = info  # type: ignore[typeddict-item]  # a SweepInfo, built by sweep_info

    update_record(path, set_sweep, hint="delete it to rerun that run")


def prepare_data(runs: list[PlannedRun]) -> None:
    """Build each distinct dataset and fetch the evaluation sets once, before any child starts: parallel
    children would otherwise race to build the same cache entry."""
    datasets: list[Any] = []
    for run in runs:
        if run.cfg.data not in datasets:
            datasets.append(run.cfg.data)
            load_corpus(run.cfg.data)
    needed = (s for r in runs if r.cfg.eval.enabled for s in eval_sources(r.cfg.eval.tasks))
    for source in dict.fromkeys(needed):
        sources.fetch(source)


def output_args(run: PlannedRun, out: Path) -> list[str]:
    """Where a child writes, and how it treats what is there: a checkpoint without a record resumes, any
    other leftover starts over."""
    run_dir = out / run.id
    mode = ["--resume"] if (run_dir / "last.pt").exists() else ["--overwrite"] if run_dir.exists() else []
    return ["--out", str(out), "--run-id", run.id, "--no-progress", *mode]


def child_command(run: PlannedRun, out: Path) -> list[str]:
    """The child's command line: its config file (written by `run_child`) and output arguments."""
    return [sys.executable, "-m", "bench", "run", "--config", str(config_path(out, run)),
            *output_args(run, out)]


# Children run in sessions of their own, so a Ctrl-C at the terminal reaches the sweep alone, which hands
# each live child exactly one signal (two would make it stop without its checkpoint) and starts no more.
_children: set[subprocess.Popen[bytes]] = set()
_children_lock = threading.Lock()
_stop: list[int] = []  # the signal that stops the sweep, once one came


def stop_children(signum: int) -> None:
    """Start no more children, and pass `signum` once to each live one."""
    with _children_lock:
        if _stop:
            return
        _stop.append(signum)
        for child in _children:
            child.send_signal(signum)


def prepare_child(run: PlannedRun, out: Path) -> Path:
    """Write the child's config file (and the output directory); returns its log's path."""
    log = log_path(out, run)
    log.parent.mkdir(parents=True, exist_ok=True)
    write_json(config_path(out, run), child_config(run).to_dict())
    return log


def run_child(run: PlannedRun, out: Path, threads: int) -> int:
    """Train `run` in a child process writing to its log; returns the exit code (128 + the signal for a
    child that a stopping sweep did not start)."""
    log = prepare_child(run, out)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    with log.open("w") as fh, _children_lock:
        if _stop:
            return 128 + _stop[0]
        child = subprocess.Popen(child_command(run, out), stdout=fh, stderr=subprocess.STDOUT, env=env,
                                 start_new_session=True)
        _children.add(child)
    try:
        return child.wait()
    finally:
        with _children_lock:
            _children.discard(child)


def timed_child(run: PlannedRun, out: Path, threads: int) -> tuple[int, float]:
    t0 = time.perf_counter()
    code = run_child(run, out, threads)
    return code, time.perf_counter() - t0


def last_line(path: Path) -> str | None:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()] \
        if path.exists() else []
    return lines[-1].strip() if lines else None


@dataclass
class Sweep:
    """A validated sweep: its grid, every candidate run, and the progress and LR choices so far."""

    name: str
    out: Path
    jobs: int
    schemes: list[Variant]
    axes: list[tuple[str, list[str]]]
    seeds: list[int]
    lrs: list[float] | str | None  # --lrs, "auto" (the default grid per cell) or None (--lr-grid off)
    max_extensions: int
    common: Shared
    cells: dict[str, Cell]
    candidates: list[PlannedRun]
    runs: list[PlannedRun] = field(default_factory=list)  # what the sweep runs, once the LR choice is known
    search: dict[str, lr_search.CellSearch] = field(default_factory=dict)  # the searched cells
    done: int = 0
    total: int = 0
    cluster: cluster.Submitit | None = None  # --executor submitit; None: local child processes
    earlier_wall_s: dict[str, float] = field(default_factory=dict)  # by run id, from the last sweep.json

    @property
    def threads(self) -> int:
        if self.cluster is not None:
            return self.cluster.threads()
        return max(1, (os.cpu_count() or 1) // self.jobs)

    def sweep_info(self, run: PlannedRun) -> dict[str, Any] | None:
        """record["sweep"] for `run`, or None while its cell's LR is still being searched."""
        if not self.cells[run.cell].searched:
            return {"name": self.name, "label": run.label, "lr_search": None}
        search = self.search.get(run.cell)
        if search is None or not search.final:
            return None
        return {"name": self.name, "label": run.label,
                "lr_search": lr_search.record_info(run.lr, search.outcome())}

    def annotate(self, run: PlannedRun) -> None:
        info = self.sweep_info(run)
        path = self.out / run.id / RECORD_FILE
        if info is not None and path.exists():
            annotate(path, info)

    def report(self, run: PlannedRun, outcome: str) -> None:
        self.done += 1
        print(f"[{self.done}/{self.total}] {run.id} ... {outcome}", file=sys.stderr, flush=True)

    def finish(self, run: PlannedRun, code: int, wall_s: float) -> None:
        run.wall_s = wall_s
        record = load_record(self.out, run) if code == 0 else None
        if code in INTERRUPT_CODES:  # stopped by a signal: resumed by the next invocation
            run.status, run.exit_code = "interrupted", code
            self.report(run, f"interrupted {wall_s:.1f}s")
        elif record is None:
            run.status, run.exit_code = "failed", code
            run.error = last_line(log_path(self.out, run)) if code else "exited 0 without a record.json"
            self.report(run, f"FAILED (exit {code}) {wall_s:.1f}s, log {log_path(self.out, run)}")
        else:
            run.status = record["status"]
            self.annotate(run)
            self.report(run, f"{run.status} {wall_s:.1f}s")
        self.write_manifest()

    def run_phase(self, runs: list[PlannedRun]) -> None:
        """Run what is not finished with `jobs` children; finished runs are only reported."""
        todo = []
        for run in runs:
            if run.skipped:
                self.annotate(run)
                self.report(run, f"skipped (finished: {run.status})")
            else:
                todo.append(run)
        self.write_manifest()
        if self.cluster is not None:
            self.submit(todo)
        else:
            with cf.ThreadPoolExecutor(max_workers=self.jobs) as pool:
                futures = {pool.submit(timed_child, run, self.out, self.threads): run for run in todo}
                for future in cf.as_completed(futures):
                    self.finish(futures[future], *future.result())
        if _stop:
            raise Interrupted(_stop[0], self.done)

    def submit(self, todo: list[PlannedRun]) -> None:
        """Run `todo` as one submitit job array (bench/sweep/cluster.py): each task runs the local
        executor's child command, so finishing, failing and resuming are the same."""
        assert self.cluster is not None
        tasks = [(self.cluster.command(child_command(run, self.out)[3:]), prepare_child(run, self.out))
                 for run in todo]
        self.cluster.run_array(f"bench-sweep-{self.name}", tasks,
                               lambda i, code, wall_s: self.finish(todo[i], code, wall_s),
                               lambda: _stop[0] if _stop else None)

    def track(self, run: PlannedRun) -> None:
        """Enter a finished trial into its cell's search (a failed one ranks last)."""
        search, lr = self.search[run.cell], run.lr
        assert lr is not None  # every run of a searched cell has its LR
        search.records[lr] = load_record(self.out, run) if run.status in ("ok", "diverged") else None
        search.run_ids[lr] = run.id
        search.statuses[lr] = run.status

    def plan_at(self, cell: str, seed: int, lr: float) -> PlannedRun:
        """A run at an LR the extension added (a trial, or a later seed at a chosen one): planned, and
        checked against its record, as the sweep's other runs were before it started."""
        planned = [r for r in self.candidates if r.cell == cell and r.seed == seed and r.lr == lr]
        if planned:
            return planned[0]
        run = plan_run(self.cells[cell], seed, lr, self.common, self.seeds[0])
        check_run_id(run.id, "the run id")
        record = check_finished(self.out, run)
        if record is not None:
            run.skipped, run.status = True, record["status"]
        return run

    def replay_search(self, cell: str) -> tuple[lr_search.CellSearch, int]:
        """The cell's search as far as its finished first-seed trials take it, running nothing (for
        `verdict --plan`): each round whose trials all finished is entered and may add the next extension.
        Returns the search (`final` once its choice stands) and how many of its trials finished."""
        c = self.cells[cell]
        search = self.search[cell] = lr_search.CellSearch(cell, c.scheme.label, list(c.lrs or []),
                                                          self.max_extensions)
        trials = [r for r in self.candidates if r.cell == cell and r.trial]
        finished = 0
        while trials and all(r.skipped for r in trials):
            for run in trials:
                self.track(run)
            finished += len(trials)
            lr = search.extension()
            trials = [] if lr is None else [self.plan_at(cell, self.seeds[0], lr)]
        return search, finished

    def search_lrs(self, trials: list[PlannedRun]) -> None:
        """Decide each searched cell's LR from its first-seed trials, extending grids whose winner is at an
        edge (the trials of one round run together), then annotate the trials' records."""
        for run in trials:
            self.track(run)
        while True:
            added = [self.plan_at(s.cell, self.seeds[0], lr) for s in self.search.values()
                     if not s.final and (lr := s.extension()) is not None]
            if not added:
                break
            self.runs += added
            self.total += len(added)
            self.run_phase(added)
            for run in added:
                self.track(run)
        for run in self.runs:
            if run.trial:
                self.annotate(run)
        for cell, search in self.search.items():
            if search.chosen is None:
                self.total -= len(self.seeds) - 1
                print(f"{cell}: no LR finished without diverging; seeds {self.seeds[1:]} not run",
                      file=sys.stderr)

    def complete_chosen(self) -> None:
        """Give each chosen trial what trials skip (lm-eval scores, token probe) by resuming its finished
        training with the whole config, so its record is complete like the other seeds' records. A record
        already completed (an earlier invocation) is left as it is."""
        todo = []
        for run in self.runs:
            search = self.search.get(run.cell)
            if not run.trial or search is None or run.lr != search.chosen:
                continue
            record = load_record(self.out, run)
            if record is not None and set(changes(record, run)) & set(AFTER_TRAINING):
                run.trial, run.skipped, run.status = False, False, "pending"
                todo.append(run)
        self.total += len(todo)
        self.run_phase(todo)

    def execute(self) -> None:
        prepare_data([r for r in self.candidates if not r.skipped])
        first = [r for r in self.candidates if not self.cells[r.cell].searched or r.trial]
        self.search = {c.id: lr_search.CellSearch(c.id, c.scheme.label, list(c.lrs or []),
                                                  self.max_extensions)
                       for c in self.cells.values() if c.searched}
        self.runs = first
        self.total = len(first) + len(self.search) * (len(self.seeds) - 1)
        self.run_phase(first)
        if not self.search:
            return
        self.search_lrs([r for r in first if r.trial])
        self.complete_chosen()
        rest = [self.plan_at(cell, seed, s.chosen) for cell, s in self.search.items() if s.chosen is not None
                for seed in self.seeds[1:]]
        self.runs += rest
        self.run_phase(rest)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("ok", "diverged", "failed", "interrupted", "skipped"), 0)
        for run in self.runs:
            key = "skipped" if run.skipped else run.status  # "pending" too, while the sweep runs
            counts[key] = counts.get(key, 0) + 1
        counts["not_run"] = sum(len(self.seeds) - 1 for s in self.search.values()
                                if s.final and s.chosen is None)
        return counts

    def write_manifest(self) -> None:
        write_json(self.out / "sweep.json", {
            "name": self.name,
            "grid": {"labels": {s.label: list(s.argv) for s in self.schemes}, "axes": dict(self.axes),
                     "seeds": self.seeds, "lrs": self.lrs, "lr_extensions": self.max_extensions,
                     "common": self.common.argv},
            "jobs": self.jobs,
            "threads_per_job": self.threads,
            "lr_search": {cell: s.manifest() for cell, s in self.search.items() if s.final} or None,
            "counts": self.counts(),
            "runs": [{"id": r.id, "label": r.label, "cell": r.cell, "seed": r.seed, "lr": r.lr,
                      "axes": r.axes, "status": r.status, "skipped": r.skipped,
                      "wall_s": self.earlier_wall_s.get(r.id) if r.skipped else r.wall_s,
                      "exit_code": r.exit_code, "error": r.error, "log": log_path(self.out, r).name,
                      "config": config_path(self.out, r).name, "args": r.argv} for r in self.runs],
        })

    def summary(self) -> int:
        c = self.counts()
        print(f"sweep {self.name}: {len(self.runs)} runs | ok {c['ok']} | diverged {c['diverged']} | "
              f"failed {c['failed']} | skipped {c['skipped']} (finished earlier)"
              + (f" | not run {c['not_run']} (no usable LR)" if c["not_run"] else "")
              + f" | manifest {self.out / 'sweep.json'}")
        for cell, s in self.search.items():
            where = "interior" if s.outcome()["interior"] else "AT AN EDGE"
            extended = f", extended by {', '.join(f'{lr:g}' for lr in s.extended)}" if s.extended else ""
            print(f"LR search {cell}: chosen {f'{s.chosen:g}' if s.chosen is not None else 'none'} "
                  f"of {', '.join(f'{lr:g}' for lr in s.grid)} ({where}{extended}; by {lr_search.SELECT_BY})")
        for run in self.runs:
            if run.status == "failed":
                print(f"failed: {run.id} (exit {run.exit_code}): {run.error} | log {log_path(self.out, run)}")
        return 1 if c["failed"] else 0

    def print_plan(self) -> None:
        """Each first-phase run as the equivalent `run` command (the real child reads the config file
        that `run_child` writes, which a dry run does not)."""
        first = [r for r in self.candidates if not self.cells[r.cell].searched or r.trial]
        print(f"sweep {self.name}: {len(self.schemes)} labels, seeds {self.seeds}, "
              f"{self.jobs} job(s) × {self.threads} thread(s) → {self.out}")
        for run in first:
            command = shlex.join(["python", "-m", "bench", "run", *run.argv, *output_args(run, self.out)])
            trial = " (LR trial: no lm-eval, no token probe)" if run.trial and \
                child_config(run) != run.cfg else ""
            print(f"{run.id}: {'skip (finished)' if run.skipped else command + trial}")
        searched = sum(c.searched for c in self.cells.values())
        if searched:
            runs = len(first) + searched * (len(self.seeds) - 1)
            print(f"then per searched cell: up to {self.max_extensions} extension(s) of the grid while the "
                  f"best LR is at an edge, the chosen trial completed (scored, token probe), seeds "
                  f"{self.seeds[1:]} at the chosen LR: {runs} runs, up to "
                  f"{runs + searched * self.max_extensions} with every extension (docs/protocol.md)")


def default_jobs(runs: Sequence[PlannedRun], executor: cluster.Submitit | None) -> int:
    """`--jobs` when not given: one single-threaded run per CPU core when every run trains on the CPU
    (measured on 2 cores: a sweep of 4 runs took 1.36× less wall time at `nano` and 1.22× less at `anchor`
    with two one-thread runs at once than one two-thread run at a time; docs/performance.md), else 1 (runs
    on a GPU share it; a cluster's array parallelism is the cluster's to set)."""
    devices = {r.cfg.train.device for r in runs}  # resolved once each, not once per run
    if executor is not None or any(resolve_device(d).type != "cpu" for d in devices):
        return 1
    return os.cpu_count() or 1


def build_sweep(args: argparse.Namespace) -> Sweep:
    """Parse, plan and validate the whole sweep; every user mistake surfaces here, before any run."""
    if args.jobs is not None and args.jobs < 1:
        raise BenchError(f"--jobs must be >= 1, got {args.jobs}")
    cluster.from_args(args, args.out)  # the executor's own checks, before the grid is planned
    if args.lr_extensions < 0:
        raise BenchError(f"--lr-extensions must be >= 0, got {args.lr_extensions}")
    axes = [grid_axis(item) for item in args.grid]
    keys = [k for k, _ in axes]
    if len(set(keys)) != len(keys):
        raise BenchError("--grid names a key twice")
    lrs = lr_grid(args)
    if lrs is not None and "optim.lr" in keys:
        raise BenchError("--grid optim.lr and the LR search both set the learning rate; add --lr-grid off to "
                         "make the LR a plain axis")
    schemes, seeds, common = variants(args), seed_list(args), shared(args)
    check_output_dir(args.out)
    if args.name is not None and not args.name.strip():
        raise BenchError("--name is empty")
    cells = plan_cells(schemes, axes, seeds[0], lrs, common)
    candidates = plan_runs(cells, seeds, common)
    for run in candidates:
        check_run_id(run.id, "the run id")
        check_eval_tasks(run.cfg)
        tokenizer_kind(run.cfg.data)
    for run in candidates:
        record = check_finished(args.out, run)
        if record is not None:
            run.skipped, run.status = True, record["status"]
    executor = cluster.from_args(args, args.out)
    jobs = args.jobs or default_jobs(candidates, executor)
    return Sweep(args.name or args.out.resolve().name, args.out, jobs, schemes, axes, seeds, lrs,
                 args.lr_extensions, common, {c.id: c for c in cells}, candidates, cluster=executor,
                 earlier_wall_s=earlier_wall_s(args.out))


def earlier_wall_s(out: Path) -> dict[str, float]:
    """Each run's wall time as the sweep.json of an earlier invocation has it: a rerun skips the runs that
    finished, and the manifest it rewrites keeps the time they took rather than losing it. The manifest
    is a report, rewritten whole, so one that cannot be read only costs those times."""
    try:
        runs = json.loads((out / "sweep.json").read_text())["runs"]
        return {r["id"]: float(r["wall_s"]) for r in runs if r.get("wall_s") is not None}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def lock_file(out: Path) -> Path:
    """One sweep at a time per output directory: two would start the same children twice."""
    return out / ".sweep.lock"


def run_sweep(args: argparse.Namespace) -> int:
    """`python -m bench sweep`: exit 0 when no run failed, 1 otherwise, 128 + the signal when a SIGINT or
    SIGTERM stopped it (its running children checkpoint; sweep.json marks them interrupted)."""
    sweep = build_sweep(args)
    if args.dry_run:
        sweep.print_plan()
        return 0
    _stop.clear()
    # Taken after planning (a dry run needs no lock), before anything is prepared or started; a live
    # holder is refused here, a dead one's lock taken over.
    with exclusive(lock_file(sweep.out), f"sweep output directory {sweep.out}", remove=False), \
            forward_signals():
        try:
            sweep.execute()
        except Interrupted as exc:
            sweep.write_manifest()
            print(f"interrupted by {signal.Signals(exc.signum).name}; run the same command again to resume "
                  f"({sweep.out})", file=sys.stderr)
            return exc.exit_code
    return sweep.summary()


@contextlib.contextmanager
def forward_signals() -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM stop the sweep through `stop_children`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, lambda signum, frame: stop_children(signum)) for sig in SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
