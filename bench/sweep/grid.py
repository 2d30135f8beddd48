"""Planning a sweep: the grid options (--methods/--gamma, --baselines, --grid, seeds, --lrs/--lr-grid)
parsed into cells (scheme label × grid point, each with its initial LR grid) and every candidate run,
each with its id and the Config it trains.

Configs are built here through bench.config, with the same override rules as `python -m bench run`, and
checked before anything starts, so a bad grid fails in one line. Each run also keeps `argv`, the
equivalent `run` arguments, for a human reading sweep.json.
"""

from __future__ import annotations

import argparse
import glob
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.config import Config, build_config, names, override_mapping, parse_value
from bench.core.device import resolve_device
from bench.core.errors import BenchError
from bench.model import schemes as inits
from bench.sweep import lr_search

# `--baselines all`: the checkout's baselines/, found from the working directory first, since an
# installed (non-editable) package has no baselines/ beside it.
BASELINES = (Path("baselines"), Path(__file__).resolve().parents[2] / "baselines")
# Sweep flags every run takes as `run` would (RUN_FLAGS names; --preset is build_config's own argument).
PASS_THROUGH = ("preset", "max_steps", "eval_limit", "eval_tasks", "device")
# Config keys a sweep sets through its own options; a --grid axis over them would fight those options.
DEDICATED = {"init.method": "--methods", "init.gamma": "--gamma", "init.seed": "--seeds or --seed-list"}


@dataclass(frozen=True)
class Variant:
    """A scheme label and what selects it: a baseline TOML file, or a method and its γ."""

    label: str
    config: Path | None = None
    method: str | None = None
    gamma: float | None = None

    @property
    def flags(self) -> dict[str, Any]:
        """The `run` flags (RUN_FLAGS names) this scheme sets."""
        return {"method": self.method, "gamma": self.gamma}

    @property
    def argv(self) -> tuple[str, ...]:
        if self.config is not None:
            return ("--config", str(self.config))
        gamma = ("--gamma", str(self.gamma)) if self.gamma is not None else ()
        return ("--method", str(self.method), *gamma)


@dataclass
class Shared:
    """What every run of the sweep takes: --preset, --set items and the other pass-through flags."""

    preset: str | None
    sets: list[str]
    flags: dict[str, Any]  # RUN_FLAGS name -> config value
    argv: list[str]  # the same as `run` arguments, as given (sweep.json's "common")
    config: Path | None = None  # --config: the TOML every --methods run starts from


@dataclass(frozen=True)
class Cell:
    """A scheme label at one grid point: the unit an LR search tunes."""

    id: str  # the run ids of the cell without seed and LR
    scheme: Variant
    point: tuple[tuple[str, str], ...]  # (--grid key, value text) per axis
    lrs: list[float] | None  # the initial LR grid; None: the config's own LR, and no LR in run ids

    @property
    def searched(self) -> bool:
        """Whether the cell searches its LR (one LR is a fixed LR, recorded as not tuned)."""
        return self.lrs is not None and len(self.lrs) > 1


@dataclass
class PlannedRun:
    """One planned child run and, once known, its outcome."""

    id: str
    label: str
    cell: str  # the run id without seed and LR: the unit an LR search tunes
    seed: int
    lr: float | None  # set only when the sweep names LRs
    axes: dict[str, Any]
    argv: list[str]  # the equivalent `python -m bench run` arguments, less --out, --run-id, resume mode
    cfg: Config  # the run's whole config (a trial trains lr_search.trial_config of it)
    trial: bool = False  # a run of the first seed in a searched cell
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
    """`SECTION.KEY=V1,V2,...` or `SECTION.KEY=START:STOP:STEP` as (key, value texts). Each text becomes
    the --set item `KEY=TEXT`, so it is parsed exactly as `run --set` parses it."""
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
    out = [Variant(path.stem, config=path) for path in baseline_files(args.baselines)]
    methods = names(args.methods or "")
    gammas = numbers(args.gamma, "--gamma") if args.gamma else []
    if gammas and "gamma" not in methods:
        raise BenchError("--gamma sets γ for --methods gamma (baseline TOMLs keep their own γ); "
                         "add gamma to --methods")
    for method in methods:
        if method == "gamma" and gammas:
            out += [Variant(f"gamma-{g}", method="gamma", gamma=g) for g in gammas]
        else:
            out.append(Variant(method, method=method))
    if not out:
        raise BenchError("nothing to run: name schemes with --methods and/or --baselines")
    return out


def shared(args: argparse.Namespace) -> Shared:
    """The settings every run shares, as config overrides and as `run` arguments."""
    given = {flag: getattr(args, flag) for flag in PASS_THROUGH if getattr(args, flag) is not None}
    base = getattr(args, "config", None)
    if base is not None and args.baselines:
        # `run` takes one config file, and a baseline TOML is a whole scheme: a run could not be repeated
        # with `run` arguments if a second file sat under it.
        raise BenchError("--config is the base of --methods runs; baseline TOMLs (--baselines) are whole "
                         "schemes and take no base file: sweep them without --config")
    argv = ["--config", str(base)] if base is not None else []
    argv += [f"--set={item}" for item in args.set]
    for flag, value in given.items():
        argv += [f"--{flag.replace('_', '-')}", str(value)]
    # The sweep keeps --eval-tasks as typed (so `argv` shows it as given); `run` splits it into a list.
    flags = {flag: names(value) if flag == "eval_tasks" else value
             for flag, value in given.items() if flag != "preset"}
    return Shared(args.preset, list(args.set), flags, argv, base)


def seed_list(args: argparse.Namespace) -> list[int]:
    """--seed-list, or 0..--seeds-1."""
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


def run_id_part(text: str) -> str:
    """A grid value as it appears in run ids: anything but letters, digits and `.+-` becomes `_`.
    Run ids of finished sweeps depend on it: keep the rule as it is."""
    return re.sub(r"[^A-Za-z0-9.+-]", "_", text)


def run_config(common: Shared, scheme: Variant, point: tuple[tuple[str, str], ...], seed: int,
               lr: float | None) -> Config:
    """The config of one run, with `run`'s precedence (preset < TOML < --set < flags) and the scheme's
    knobs checked (no data, no model)."""
    sets = [*common.sets, *(f"{key}={text}" for key, text in point)]
    flags = {**common.flags, **scheme.flags, "seed": seed, "lr": lr}
    cfg = build_config(common.preset, scheme.config or common.config, override_mapping(flags, sets))
    inits.check(cfg.init)
    return cfg


def lr_grid(args: argparse.Namespace) -> list[float] | str | None:
    """The LR protocol: --lrs as a list, "auto" (each cell's default grid, lr_search.default_grid) or None
    (--lr-grid off: every run at its config's LR)."""
    if args.lrs is not None and args.lr_grid == "off":
        raise BenchError("--lrs names LRs and --lr-grid off turns the LR search off; use one")
    if args.lrs is not None:
        return numbers(args.lrs, "--lrs")
    return None if args.lr_grid == "off" else "auto"


def plan_cells(schemes: list[Variant], axes: list[tuple[str, list[str]]], seed: int,
               lrs: list[float] | str | None, common: Shared) -> list[Cell]:
    """Every (scheme, grid point) cell with its initial LR grid; "auto" centres the default grid on the
    LR the cell's config sets (`seed`: any of the sweep's seeds, it does not change the LR)."""
    cells: list[Cell] = []
    for scheme in schemes:
        for point in itertools.product(*([(key, t) for t in texts] for key, texts in axes)):
            cfg = run_config(common, scheme, point, seed, None)
            knobs = [f"{k.partition('.')[2]}{run_id_part(t)}" for k, t in point]
            grid = lr_search.default_grid(cfg.optim.lr) if lrs == "auto" else lrs
            cells.append(Cell("-".join([scheme.label, cfg.preset, *knobs]), scheme, point,
                              None if grid is None else list(grid)))
    return cells


def plan_run(cell: Cell, seed: int, lr: float | None, common: Shared, first_seed: int) -> PlannedRun:
    """One run of `cell`: its id, config (checked) and equivalent `run` arguments; `first_seed` is the
    seed whose runs are the cell's LR trials."""
    argv = [*common.argv, *(f"--set={k}={t}" for k, t in cell.point), *cell.scheme.argv,
            "--seed", str(seed), *(["--lr", str(lr)] if lr is not None else [])]
    cfg = run_config(common, cell.scheme, cell.point, seed, lr)
    run_id = f"{cell.id}-seed{seed}" + (f"-lr{lr:g}" if lr is not None else "")
    values = {k: parse_value(t) for k, t in cell.point}
    return PlannedRun(run_id, cell.scheme.label, cell.id, seed, lr, values, argv, cfg,
                      trial=cell.searched and seed == first_seed)


def plan_runs(cells: list[Cell], seeds: list[int], common: Shared) -> list[PlannedRun]:
    """Every run the sweep may need with the initial grids, in a fixed order: every (seed, LR) pair of
    each cell, although in a searched cell only the chosen LR's seeds after the first will run."""
    runs = [plan_run(cell, seed, lr, common, seeds[0]) for cell in cells
            for seed, lr in itertools.product(seeds, cell.lrs or [None])]
    ids = [r.id for r in runs]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise BenchError(f"the grid names run {twice[0]} more than once (duplicate labels or values)")
    for device in {r.cfg.train.device for r in runs}:
        resolve_device(device)
    return runs
