"""`verdict --plan`: per sweep, the runs its LR protocol plans (docs/protocol.md#cost) and an estimate of
their wall time from measured runs, per claim and in total.

Estimate. Each planned cell's per-run wall time is the median `train.wall_s` (every run) plus the median
`evaluation.wall_s` (the runs that are scored: not the LR trials) of committed records of the same preset,
corpus and training budget (steps × batch) under the results folder, taken from the records that ran on this
machine's device (`env.device_name`) wherever there are any, since CPUs differ by up to ~1.7× here; records
of a verdict sweep count too, so the estimate sharpens as the sweeps run. The committed runs were timed two
at a time on the 2-core machine (one thread each), so a sweep's wall time is the sum over its runs divided
by its `--jobs`. Runs a sweep already finished cost nothing.

Spent. The same sum over the records a sweep has written (every run, LR trials included: training
accumulated across resumes, plus scoring), divided by its `--jobs`: the wall hours the finished runs
took, without the time an interrupted run spent before its last checkpoint or the sweep between runs.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from bench.report.records import dig, number
from bench.sweep.execute import Sweep
from bench.verdict.manifest import Manifest

Planner = Callable[[list[str]], Sweep]  # `python -m bench sweep` arguments -> the planned sweep (read-only)


@dataclass(frozen=True)
class Timing:
    """Median seconds per run of one (preset, corpus, steps, batch) and how many records they come from."""

    train_s: float
    eval_s: float  # over every scored record
    n: int
    whole_s: float | None  # over the records whose scoring covered whole splits (powered); None: none did
    device: str | None = None  # the device every record ran on; None: every record, whatever its device


def similarity_key(config: dict[str, Any]) -> tuple[Any, ...]:
    return (config.get("preset"), dig(config, "data", "corpus"), dig(config, "train", "max_steps"),
            dig(config, "train", "batch_size"))


def read_json(path: Path) -> Any:
    """A record's JSON, or None when it cannot be read: an unreadable record is the evidence's to
    report (bench/verdict/evidence.py), not the clock's."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class Timed(NamedTuple):
    """One record's clock, as the estimate reads it."""

    device: Any  # env.device_name
    train_s: float
    eval_s: float | None  # None: not scored
    whole: bool  # scored whole splits (powered), not a limited (quick) scoring


def measured_timings(results: Path, device: str | None = None) -> dict[tuple[Any, ...], Timing]:
    """Median train and evaluation wall seconds per similarity key over every record under `results`.
    With `device` (a record's `env.device_name`), a key's medians come from the records that ran on that
    device wherever there are any: CPUs differ (on the committed records, nano trains in a median 248 s on
    the AMD EPYC that ran the baseline sweep and 149 s on the Xeon that ran grid-2606), and the runs left
    will run on the machine that asks."""
    rows: dict[tuple[Any, ...], list[Timed]] = {}
    for path in sorted(results.rglob("record.json")):
        record = read_json(path)
        config = record.get("config") if isinstance(record, dict) else None
        wall = number(dig(record, "train", "wall_s"))
        if not isinstance(config, dict) or wall is None:
            continue
        evaluation = number(dig(record, "evaluation", "wall_s"))
        tasks = dig(record, "evaluation", "tasks")
        # Not a limited (quick) scoring, nor one from before provenance was kept.
        whole = evaluation is not None and isinstance(tasks, dict) and all(
            dig(t, "protocol") == "powered" or dig(t, "documents") == dig(t, "split_documents")
            for t in tasks.values())
        rows.setdefault(similarity_key(config), []).append(
            Timed(dig(record, "env", "device_name"), wall, evaluation, whole))
    timings = {}
    for key, found in rows.items():
        mine = [r for r in found if device is not None and r.device == device]
        use = mine or found
        scored = [r.eval_s for r in use if r.eval_s is not None]
        whole_s = [r.eval_s for r in use if r.whole and r.eval_s is not None]
        timings[key] = Timing(statistics.median(r.train_s for r in use), statistics.median(scored or [0.0]),
                              len(use), statistics.median(whole_s) if whole_s else None,
                              device if mine else None)
    return timings


def is_scored(path: Path) -> bool:
    """Whether a finished record was scored (an LR trial is not, until it is the chosen one)."""
    return number(dig(read_json(path), "evaluation", "wall_s")) is not None


def spent_hours(out: Path, jobs: int) -> float:
    """Wall hours the records under a sweep's folder took (module docstring, Spent)."""
    seconds = 0.0
    for path in sorted(out.rglob("record.json")) if out.is_dir() else []:
        record = read_json(path)
        for key in ("train", "evaluation"):
            seconds += number(dig(record, key, "wall_s")) or 0.0
    return seconds / jobs / 3600


@dataclass
class SweepPlan:
    """A sweep's planned runs (fewest and most, by how many LR extensions its cells need), how many are
    finished, and the estimated wall hours of what is left (None: no similar record was timed)."""

    name: str
    runs_min: int
    runs_max: int
    finished: int
    hours_min: float | None
    hours_max: float | None
    source: str
    untimed_protocol: bool = False  # scoring left under a protocol no similar timed record used: too low
    scored: int = 0  # the runs it scores (the chosen trial and the other seeds of each cell)
    scored_finished: int = 0

    @property
    def complete(self) -> bool:
        """Nothing left to train or score: the sweep's tables are final."""
        return self.finished >= self.runs_max and self.scored_finished >= self.scored


def plan_sweep(manifest: Manifest, name: str, planner: Planner, timings: dict[tuple[Any, ...], Timing],
               jobs: int | None = None) -> SweepPlan:
    """The sweep's runs, finished and planned, with the hours left estimated from `timings` (no timings:
    the counts only, hours None)."""
    spec = manifest.sweeps[name]
    sweep = planner([*spec.args, "--out", str(manifest.out_dir(name)), "--name", name])
    jobs = jobs or spec.jobs
    lo = hi = 0.0
    runs_lo = runs_hi = finished = scored_all = scored_finished = 0
    unknown: list[str] = []
    sources: set[str] = set()
    untimed = False
    for cell in sweep.cells.values():
        planned = [r for r in sweep.candidates if r.cell == cell.id]
        timing = timings.get(similarity_key(planned[0].cfg.to_dict()))
        scored = len(sweep.seeds)  # in a searched cell: the chosen trial, completed, and the other seeds
        if cell.searched:
            # Replayed from the finished trials, extensions included: the runs at an LR the search added
            # are not among the sweep's planned candidates.
            search, done_trials = sweep.replay_search(cell.id)
            trained_lo = len(search.grid) + len(sweep.seeds) - 1
            trained_hi = trained_lo + sweep.max_extensions - len(search.extended)
            done = scored_done = 0
            if search.final:
                trained_hi = trained_lo
                if search.chosen is None:  # no LR trained without diverging: no seed runs
                    trained_lo = trained_hi = len(search.grid)
                    scored = 0
                else:
                    done = sum(sweep.plan_at(cell.id, seed, search.chosen).skipped
                               for seed in sweep.seeds[1:])
                    chosen = sweep.plan_at(cell.id, sweep.seeds[0], search.chosen)
                    scored_done = done + is_scored(sweep.out / chosen.id / "record.json")
        else:
            trained_lo = trained_hi = len(sweep.seeds)
            done = scored_done = sum(r.skipped for r in planned)
            done_trials = 0
        finished += done + done_trials
        scored_all += scored
        scored_finished += scored_done
        runs_lo += trained_lo
        runs_hi += trained_hi
        if timing is None:
            unknown.append(cell.id)
            continue
        left_scored = max(0, scored - scored_done)
        # A powered sweep's scoring is timed on the records that scored whole splits, where there are any;
        # the estimate is low only where some scoring is left.
        eval_s = timing.eval_s
        if planned[0].cfg.eval.protocol == "powered":
            untimed |= timing.whole_s is None and left_scored > 0
            eval_s = timing.eval_s if timing.whole_s is None else timing.whole_s
        sources.add(f"{timing.n} records of {planned[0].cfg.preset}/{planned[0].cfg.data.corpus}/"
                    f"{planned[0].cfg.train.max_steps}×{planned[0].cfg.train.batch_size}"
                    f"{f' on {timing.device}' if timing.device else ' (every device)'}"
                    f" ({'whole splits' if timing.whole_s is not None else 'limited'} scoring timed)")
        lo += max(0, trained_lo - done - done_trials) * timing.train_s + left_scored * eval_s
        hi += max(0, trained_hi - done - done_trials) * timing.train_s + left_scored * eval_s
    source = "; ".join(sorted(sources))
    if unknown:
        source += ("; " if source else "") + f"no timed record like {unknown[0]}"
    known = not unknown
    return SweepPlan(name, runs_lo, runs_hi, finished, lo / jobs / 3600 if known else None,
                     hi / jobs / 3600 if known else None, source, untimed, scored_all, scored_finished)
