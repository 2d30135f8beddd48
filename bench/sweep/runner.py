"""`python -m bench sweep`: a grid of runs (scheme labels × γ × extra config axes × init seeds, with an
optional per-cell learning-rate search), each trained by a child `python -m bench run`.

A child process per run isolates failures: a crash or a bad corner of the grid fails that run only, and
`--jobs K` runs K children at once. Re-running a sweep resumes it: a run whose record.json exists is
skipped, an interrupted run (checkpoint, no record) continues with `--resume`. Every planned config is
built with the child's own parser and checked before anything starts, so a bad grid fails in one line.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import glob
import itertools
import json
import math
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cli.main import build_parser, names, run_overrides
from bench.config import Config, build_config, config_from_dict, parse_value
from bench.core.device import resolve_device
from bench.core.errors import BenchError
from bench.core.files import write_json
from bench.data import sources
from bench.data.corpus import load_corpus
from bench.evaluate.catalog import eval_sources
from bench.model import schemes as inits
from bench.run.pipeline import RESUMABLE_CHANGES, config_diff

# `--baselines all`: the checkout's baselines/, found from the working directory first, since an
# installed (non-editable) package has no baselines/ beside it.
BASELINES = (Path("baselines"), Path(__file__).resolve().parents[2] / "baselines")
# Sweep flags handed unchanged to every child `run`.
PASS_THROUGH = ("preset", "max_steps", "eval_limit", "eval_tasks", "device")
# Config keys a sweep sets through its own options; a --grid axis over them would fight those options.
DEDICATED = {"init.method": "--methods", "init.gamma": "--gamma", "init.seed": "--seeds or --seed-list"}
SELECT_BY = "best_val_loss"


@dataclass(frozen=True)
class Variant:
    """A scheme label and the `run` arguments that select it (a TOML config, or a method and its γ)."""

    label: str
    argv: tuple[str, ...]


@dataclass
class Run:
    """One planned child run and, once known, its outcome."""

    id: str
    label: str
    cell: str  # the run id without seed and LR: the unit an LR search tunes
    seed: int
    lr: float | None  # set only when the sweep searches LRs
    axes: dict[str, Any]
    argv: list[str]  # `python -m bench run` arguments, less --out, --run-id and the resume mode
    cfg: Config
    status: str = "pending"  # then ok | diverged | failed
    skipped: bool = False  # finished before this invocation
    wall_s: float | None = None
    exit_code: int | None = None
    error: str | None = None


def parse_range(text: str, what: str) -> list[int | float] | None:
    """START:STOP:STEP as an inclusive list (ints when all three are integers), None when `text` is no
    range. Values are rounded to 12 digits so 0.3:1.2:0.1 gives exactly 0.3, 0.4, ..., 1.2 (plain float
    steps give 0.30000000000000004 and may drop the stop)."""
    parts = text.split(":")
    if len(parts) == 1:
        return None
    try:
        start, stop, step = (float(p) for p in parts)
    except ValueError:
        raise BenchError(f"{what}: expected START:STOP:STEP, got {text!r}") from None
    if not all(map(math.isfinite, (start, stop, step))) or step <= 0 or stop < start:
        raise BenchError(f"{what}: {text!r} needs finite numbers, STEP > 0 and STOP >= START")
    count = math.floor((stop - start) / step + 1e-9) + 1
    values = [round(start + i * step, 12) for i in range(count)]
    if all(re.fullmatch(r"\s*[+-]?\d+\s*", p) for p in parts):
        return [int(v) for v in values]
    return values


def numbers(text: str, what: str) -> list[float]:
    """A START:STOP:STEP range or a comma list of distinct numbers."""
    values = parse_range(text, what)
    if values is None:
        try:
            values = [float(v) for v in names(text)]
        except ValueError:
            raise BenchError(f"{what}: expected START:STOP:STEP or comma-separated numbers, got {text!r}") \
                from None
    if not values or len(set(values)) != len(values):
        raise BenchError(f"{what}: expected distinct values, got {text!r}")
    return [float(v) for v in values]


def grid_axis(item: str) -> tuple[str, list[str]]:
    """`SECTION.KEY=V1,V2,...` or `SECTION.KEY=START:STOP:STEP` as (key, value texts). Each text reaches
    the child as `--set KEY=TEXT`, so it is parsed exactly as `run --set` parses it."""
    key, sep, text = item.partition("=")
    key = key.strip()
    section, dot, name = key.partition(".")
    if not sep or not dot or not section or not name:
        raise BenchError(f"--grid {item!r}: expected SECTION.KEY=V1,V2,..., e.g. model.n_layers=2,3,4")
    if key in DEDICATED:
        raise BenchError(f"--grid {key}: use {DEDICATED[key]}")
    values = parse_range(text, f"--grid {key}")
    texts = [str(v) for v in values] if values is not None else names(text)
    if not texts or len(set(texts)) != len(texts):
        raise BenchError(f"--grid {item!r}: expected distinct values")
    return key, texts


def baseline_files(text: str | None) -> list[Path]:
    """`--baselines`: files, globs, or `all` (the top-level baselines/*.toml; the paper grids in its
    subfolders are named explicitly, e.g. 'baselines/2606.17945/*.toml')."""
    files: list[Path] = []
    for item in names(text or ""):
        if item == "all":
            found = next((sorted(d.glob("*.toml")) for d in BASELINES if d.is_dir()), [])
        elif any(c in item for c in "*?["):
            found = sorted(Path(p) for p in glob.glob(item))
        else:
            found = [Path(item)]  # build_config reports a missing file
        if not found:
            raise BenchError(f"--baselines {item!r} matches no file")
        files += found
    return files


def variants(args: argparse.Namespace) -> list[Variant]:
    """Scheme labels: each baseline TOML under its stem, then each method (gamma once per γ)."""
    out = [Variant(path.stem, ("--config", str(path))) for path in baseline_files(args.baselines)]
    methods = names(args.methods or "")
    gammas = numbers(args.gamma, "--gamma") if args.gamma else []
    if gammas and "gamma" not in methods:
        raise BenchError("--gamma sets γ for --methods gamma (baseline TOMLs keep their own γ); "
                         "add gamma to --methods")
    for method in methods:
        if method == "gamma" and gammas:
            out += [Variant(f"gamma-{g}", ("--method", "gamma", "--gamma", str(g))) for g in gammas]
        else:
            out.append(Variant(method, ("--method", method)))
    if not out:
        raise BenchError("nothing to run: name schemes with --methods and/or --baselines")
    return out


def common_argv(args: argparse.Namespace) -> list[str]:
    """The `run` arguments every child shares: pass-through flags and --set."""
    argv = [f"--set={item}" for item in args.set]
    for flag in PASS_THROUGH:
        value = getattr(args, flag)
        if value is not None:
            argv += [f"--{flag.replace('_', '-')}", str(value)]
    return argv


def child_config(parser: argparse.ArgumentParser, argv: list[str]) -> Config:
    """The config `python -m bench run ARGV` will train, built by the child's own parser and precedence,
    with the scheme's knobs checked (no data, no model)."""
    args = parser.parse_args(["run", *argv])
    cfg = build_config(args.preset, args.config, run_overrides(args))
    inits.check(cfg.init)
    return cfg


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]", "_", text)


def plan_runs(schemes: list[Variant], axes: list[tuple[str, list[str]]], seeds: list[int],
              lrs: list[float] | None, common: list[str]) -> list[Run]:
    """Every run the sweep may need, in a fixed order; with `lrs`, every (LR, seed) pair of each cell,
    although only the chosen LR's seeds after the first will run."""
    parser = build_parser()
    runs: list[Run] = []
    for scheme in schemes:
        for point in itertools.product(*([(key, t) for t in texts] for key, texts in axes)):
            for seed, lr in itertools.product(seeds, lrs or [None]):
                argv = [*common, *(f"--set={k}={t}" for k, t in point), *scheme.argv, "--seed", str(seed)]
                argv += ["--lr", str(lr)] if lr is not None else []
                cfg = child_config(parser, argv)
                knobs = [f"{k.partition('.')[2]}{slug(t)}" for k, t in point]
                cell = "-".join([scheme.label, cfg.preset, *knobs])
                run_id = f"{cell}-seed{seed}" + (f"-lr{lr:g}" if lr is not None else "")
                runs.append(Run(run_id, scheme.label, cell, seed, lr, {k: parse_value(t) for k, t in point},
                                argv, cfg))
    ids = [r.id for r in runs]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise BenchError(f"the grid names run {twice[0]} more than once (duplicate labels or values)")
    for device in {r.cfg.train.device for r in runs}:
        resolve_device(device)
    return runs


def load_record(out: Path, run: Run) -> dict[str, Any] | None:
    path = out / run.id / "record.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BenchError(f"{path} is unreadable ({exc}); delete it to rerun that run") from None


def check_finished(out: Path, run: Run) -> dict[str, Any] | None:
    """The run's existing record, if any. A record trained under another config (e.g. the same sweep
    with a different budget) is an error, never a silent skip."""
    record = load_record(out, run)
    if record is None:
        return None
    path = out / run.id / "record.json"
    if not isinstance(record.get("config"), dict):
        raise BenchError(f"{path} has no config; delete it to rerun that run")
    saved = config_from_dict(record["config"], str(path))
    ignored = set(RESUMABLE_CHANGES) | ({"model.vocab_size"} if run.cfg.model.vocab_size == 0 else set())
    changed = [k for k in config_diff(saved, run.cfg) if k not in ignored]
    if changed:
        raise BenchError(f"{path} was trained with a different {', '.join(changed)}; pick another --out "
                         "or delete that run")
    return record


def choose_lr(records: dict[float, dict[str, Any] | None]) -> float | None:
    """The LR whose run reached the lowest best validation loss (ties: the smaller LR). Failed, diverged
    and loss-less runs never win; None when no run qualifies."""
    losses = {lr: r["train"]["best_val_loss"] for lr, r in records.items()
              if r is not None and r.get("status") == "ok" and r["train"].get("best_val_loss") is not None}
    return min(losses, key=lambda lr: (losses[lr], lr)) if losses else None


def annotate(path: Path, info: dict[str, Any]) -> None:
    """Put `info` into the record as record["sweep"]; an unchanged record is not rewritten."""
    record = json.loads(path.read_text())
    if record.get("sweep") != info:
        record["sweep"] = info
        write_json(path, record)


def prepare_data(runs: list[Run]) -> None:
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


def log_path(out: Path, run: Run) -> Path:
    # Beside the run directory, not in it: `run --overwrite` deletes the directory it starts over.
    return out / f"{run.id}.log"


def child_command(run: Run, out: Path) -> list[str]:
    """The child's command line: a checkpoint without a record resumes, any other leftover starts over."""
    run_dir = out / run.id
    mode = ["--resume"] if (run_dir / "last.pt").exists() else ["--overwrite"] if run_dir.exists() else []
    return [sys.executable, "-m", "bench", "run", *run.argv, "--out", str(out), "--run-id", run.id,
            "--no-progress", *mode]


def run_child(run: Run, out: Path, threads: int) -> int:
    """Train `run` in a child process writing to its log; returns the exit code."""
    log = log_path(out, run)
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    with log.open("w") as fh:
        return subprocess.run(child_command(run, out), stdout=fh, stderr=subprocess.STDOUT, env=env,
                              check=False).returncode


def timed_child(run: Run, out: Path, threads: int) -> tuple[int, float]:
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
    lrs: list[float] | None
    common: list[str]
    candidates: list[Run]
    runs: list[Run] = field(default_factory=list)  # what the sweep runs, once the LR choice is known
    search: dict[str, dict[str, Any]] = field(default_factory=dict)  # cell -> LR search outcome
    done: int = 0
    total: int = 0

    @property
    def threads(self) -> int:
        return max(1, (os.cpu_count() or 1) // self.jobs)

    def sweep_info(self, run: Run) -> dict[str, Any] | None:
        """record["sweep"] for `run`, or None while its cell's LR is still being searched."""
        if self.lrs is None:
            return {"name": self.name, "label": run.label, "lr_search": None}
        if run.cell not in self.search:
            return None
        chosen = self.search[run.cell]["chosen"]
        search = {"grid": self.lrs, "chosen": chosen, "by": SELECT_BY, "selected": run.lr == chosen}
        return {"name": self.name, "label": run.label, "lr_search": search}

    def annotate(self, run: Run) -> None:
        info = self.sweep_info(run)
        path = self.out / run.id / "record.json"
        if info is not None and path.exists():
            annotate(path, info)

    def report(self, run: Run, outcome: str) -> None:
        self.done += 1
        print(f"[{self.done}/{self.total}] {run.id} ... {outcome}", file=sys.stderr, flush=True)

    def finish(self, run: Run, code: int, wall_s: float) -> None:
        run.wall_s = wall_s
        record = load_record(self.out, run) if code == 0 else None
        if record is None:
            run.status, run.exit_code = "failed", code
            run.error = last_line(log_path(self.out, run)) if code else "exited 0 without a record.json"
            self.report(run, f"FAILED (exit {code}) {wall_s:.1f}s, log {log_path(self.out, run)}")
        else:
            run.status = record["status"]
            self.annotate(run)
            self.report(run, f"{run.status} {wall_s:.1f}s")
        self.write_manifest()

    def run_phase(self, runs: list[Run]) -> None:
        """Run what is not finished with `jobs` children; finished runs are only reported."""
        todo = []
        for run in runs:
            if run.skipped:
                self.annotate(run)
                self.report(run, f"skipped (finished: {run.status})")
            else:
                todo.append(run)
        self.write_manifest()
        with cf.ThreadPoolExecutor(max_workers=self.jobs) as pool:
            futures = {pool.submit(timed_child, run, self.out, self.threads): run for run in todo}
            try:
                for future in cf.as_completed(futures):
                    self.finish(futures[future], *future.result())
            except KeyboardInterrupt:
                pool.shutdown(cancel_futures=True)  # the children got the same SIGINT and checkpoint
                raise

    def choose_lrs(self) -> None:
        first = [r for r in self.runs if r.seed == self.seeds[0]]
        for cell in dict.fromkeys(r.cell for r in first):
            trials = [r for r in first if r.cell == cell]
            records = {r.lr: load_record(self.out, r) for r in trials}
            chosen = choose_lr(records)
            self.search[cell] = {
                "label": trials[0].label, "grid": self.lrs, "chosen": chosen, "by": SELECT_BY,
                "trials": [{"lr": r.lr, "run_id": r.id, "status": r.status,
                            SELECT_BY: (records[r.lr] or {}).get("train", {}).get(SELECT_BY)}
                           for r in trials]}
            for run in trials:
                self.annotate(run)
            if chosen is None:
                self.total -= len(self.seeds) - 1
                print(f"{cell}: no LR finished without diverging; seeds {self.seeds[1:]} not run",
                      file=sys.stderr)

    def execute(self) -> None:
        prepare_data([r for r in self.candidates if not r.skipped])
        if self.lrs is None:
            self.runs = list(self.candidates)
            self.total = len(self.runs)
            self.run_phase(self.runs)
            return
        self.runs = [r for r in self.candidates if r.seed == self.seeds[0]]
        self.total = len(self.runs) + len(self.runs) // len(self.lrs) * (len(self.seeds) - 1)
        self.run_phase(self.runs)
        self.choose_lrs()
        rest = [r for r in self.candidates
                if r.seed != self.seeds[0] and r.lr == self.search[r.cell]["chosen"]]
        self.runs += rest
        self.run_phase(rest)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("ok", "diverged", "failed", "skipped"), 0)
        for run in self.runs:
            key = "skipped" if run.skipped else run.status  # "pending" too, while the sweep runs
            counts[key] = counts.get(key, 0) + 1
        counts["not_run"] = sum(len(self.seeds) - 1 for s in self.search.values() if s["chosen"] is None)
        return counts

    def write_manifest(self) -> None:
        write_json(self.out / "sweep.json", {
            "name": self.name,
            "grid": {"labels": {s.label: list(s.argv) for s in self.schemes}, "axes": dict(self.axes),
                     "seeds": self.seeds, "lrs": self.lrs, "common": self.common},
            "jobs": self.jobs,
            "threads_per_job": self.threads,
            "lr_search": self.search or None,
            "counts": self.counts(),
            "runs": [{"id": r.id, "label": r.label, "cell": r.cell, "seed": r.seed, "lr": r.lr,
                      "axes": r.axes, "status": r.status, "skipped": r.skipped, "wall_s": r.wall_s,
                      "exit_code": r.exit_code, "error": r.error, "log": log_path(self.out, r).name,
                      "args": r.argv} for r in self.runs],
        })

    def summary(self) -> int:
        c = self.counts()
        print(f"sweep {self.name}: {len(self.runs)} runs | ok {c['ok']} | diverged {c['diverged']} | "
              f"failed {c['failed']} | skipped {c['skipped']} (finished earlier)"
              + (f" | not run {c['not_run']} (no usable LR)" if c["not_run"] else "")
              + f" | manifest {self.out / 'sweep.json'}")
        for cell, s in self.search.items():
            print(f"LR search {cell}: chosen {s['chosen'] if s['chosen'] is not None else 'none'} "
                  f"of {', '.join(f'{lr:g}' for lr in s['grid'])} (by {SELECT_BY})")
        for run in self.runs:
            if run.status == "failed":
                print(f"failed: {run.id} (exit {run.exit_code}): {run.error} | log {log_path(self.out, run)}")
        return 1 if c["failed"] else 0

    def print_plan(self) -> None:
        first = [r for r in self.candidates if self.lrs is None or r.seed == self.seeds[0]]
        print(f"sweep {self.name}: {len(self.schemes)} labels, seeds {self.seeds}, "
              f"{self.jobs} job(s) × {self.threads} thread(s) → {self.out}")
        for run in first:
            command = shlex.join(["python", *child_command(run, self.out)[1:]])
            print(f"{run.id}: {'skip (finished)' if run.skipped else command}")
        if self.lrs is not None and len(self.seeds) > 1:
            print(f"then per cell: seeds {self.seeds[1:]} at the LR of {self.lrs} with the lowest "
                  f"{SELECT_BY}")


def seed_list(args: argparse.Namespace) -> list[int]:
    if args.seed_list is not None:
        try:
            seeds = [int(s) for s in names(args.seed_list)]
        except ValueError:
            raise BenchError(f"--seed-list: expected comma-separated integers, got {args.seed_list!r}") \
                from None
        if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
            raise BenchError(f"--seed-list: expected distinct seeds >= 0, got {args.seed_list!r}")
        return seeds
    if args.seeds < 1:
        raise BenchError(f"--seeds must be >= 1, got {args.seeds}")
    return list(range(args.seeds))


def build_sweep(args: argparse.Namespace) -> Sweep:
    """Parse, plan and validate the whole sweep; every user mistake surfaces here, before any run."""
    if args.jobs < 1:
        raise BenchError(f"--jobs must be >= 1, got {args.jobs}")
    axes = [grid_axis(item) for item in args.grid]
    keys = [k for k, _ in axes]
    if len(set(keys)) != len(keys):
        raise BenchError("--grid names a key twice")
    lrs = numbers(args.lrs, "--lrs") if args.lrs else None
    if lrs is not None and "optim.lr" in keys:
        raise BenchError("--grid optim.lr and --lrs both set the learning rate; use one")
    schemes, seeds, common = variants(args), seed_list(args), common_argv(args)
    if args.out.exists() and not args.out.is_dir():
        raise BenchError(f"output directory {args.out} exists and is not a directory")
    candidates = plan_runs(schemes, axes, seeds, lrs, common)
    for run in candidates:
        record = check_finished(args.out, run)
        if record is not None:
            run.skipped, run.status = True, record["status"]
    return Sweep(args.name or args.out.resolve().name, args.out, args.jobs, schemes, axes, seeds, lrs, common,
                 candidates)


def run_sweep(args: argparse.Namespace) -> int:
    """`python -m bench sweep`: exit 0 when no run failed, 1 otherwise, 130 when interrupted."""
    sweep = build_sweep(args)
    if args.dry_run:
        sweep.print_plan()
        return 0
    try:
        sweep.execute()
    except KeyboardInterrupt:
        sweep.write_manifest()
        print(f"interrupted; run the same command again to resume ({sweep.out})", file=sys.stderr)
        return 130
    return sweep.summary()
