"""`python -m bench sweep`: a resumable grid of runs (bench/sweep/)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="run a grid of schemes × γ × config axes × seeds (resumable)",
                       description="Run every (scheme label, --grid point, init seed) as a child "
                       "`python -m bench run` into <out>/<run-id>/ with its log in <out>/<run-id>.log. "
                       "Re-running the same command resumes: finished runs (record.json) are skipped, "
                       "interrupted ones continue from their checkpoint. A failing run never stops the "
                       "others; the exit code is 1 if any failed. By default each cell tunes its learning "
                       "rate first (--lr-grid). <out>/sweep.json describes the grid, the LR searches and "
                       "every run's status.")
    g = p.add_argument_group("grid")
    g.add_argument("--methods", metavar="M,M,...",
                   help="init schemes; label = the method (gamma-<γ> for gamma, one per --gamma value)")
    g.add_argument("--baselines", metavar="FILE_OR_GLOB,...",
                   help="TOML configs, label = file stem; `all` = the top-level baselines/*.toml")
    g.add_argument("--gamma", metavar="START:STOP:STEP|G,G,...",
                   help="γ values for --methods gamma, e.g. 0.3:1.2:0.1 (inclusive) or 0.5,1.0")
    g.add_argument("--grid", action="append", default=[], metavar="SECTION.KEY=V,V,...",
                   help="extra axis over a config field (TOML values or START:STOP:STEP), e.g. "
                        "model.n_layers=2,3,4; in run ids, not in labels (repeatable)")
    seeds = g.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=int, default=1,
                       help="init seeds 0..N-1 (default %(default)s); the data seed stays fixed, so every "
                            "scheme and seed sees the same data order")
    seeds.add_argument("--seed-list", metavar="S,S,...", help="explicit init seeds instead of --seeds")
    g = p.add_argument_group("learning rate (docs/protocol.md)")
    g.add_argument("--lr-grid", choices=("auto", "off"), default="auto",
                   help="auto (default): each cell (label × grid point) searches its LR over its config's LR "
                        "× 3^k, k = -2..1: the first seed runs at every LR, the grid is extended while the "
                        "best is at an edge, the other seeds run at the LR with the lowest best validation "
                        "loss; off: every run at its config's LR (recorded as not tuned)")
    g.add_argument("--lrs", metavar="LR,LR,...|START:STOP:STEP",
                   help="the initial LR grid of every cell instead of the automatic one; a single LR is a "
                        "fixed LR for every run (recorded as not tuned)")
    g.add_argument("--lr-extensions", type=int, default=3,
                   help="how many times a cell's grid may grow one step beyond the edge its best LR sits "
                        "at (default %(default)s; 0 = never)")
    g = p.add_argument_group("every run (as for `run`)")
    g.add_argument("--config", type=Path, metavar="FILE.toml",
                   help="the config every --methods run starts from, as for `run` (preset < this file < "
                        "--set < flags); not with --baselines, whose files are whole schemes")
    g.add_argument("--preset", help="anchor, nano (default), micro, small, base")
    g.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="any config field, as for `run` (repeatable)")
    g.add_argument("--max-steps", type=int, help="training steps")
    g.add_argument("--eval-tasks", metavar="TASK,GROUP,...", help="tasks or groups scored after training")
    g.add_argument("--eval-limit", type=int, help="documents per task")
    g.add_argument("--device", help="auto (default), cpu, cuda, cuda:N")
    g = p.add_argument_group("execution")
    g.add_argument("--out", type=Path, default=Path("results/runs"),
                   help="runs directory (default %(default)s)")
    g.add_argument("--name", help="sweep name recorded in sweep.json and each record (default: --out's name)")
    g.add_argument("--jobs", type=int,
                   help="runs at once: local processes, each with OMP_NUM_THREADS = max(1, CPUs // jobs); "
                        "with --executor submitit the array tasks SLURM runs at once (default: one per CPU "
                        "core when the runs train on the CPU, else 1; docs/performance.md)")
    g.add_argument("--dry-run", action="store_true", help="validate and print the planned runs; run nothing")
    from bench.sweep.cluster import add_arguments

    add_arguments(p)
    p.set_defaults(func=cmd)


def cmd(args: argparse.Namespace) -> int:
    from bench.sweep.execute import run_sweep

    return run_sweep(args)
