"""What `python -m bench verdict` does: build every file the manifest names from records (VERDICT.md
beside the manifest, each claim's table and figure, each table-only claim's leaderboard), write them
atomically or compare them byte for byte, print the plan, and run the sweeps (each as `python -m bench
sweep`, which skips finished runs and resumes interrupted ones) before regenerating."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.core.errors import BenchError
from bench.record.env import cpu_name
from bench.report.leaderboard import TableSpec, build, write_or_check
from bench.report.records import LoadedRecord
from bench.train.interrupt import Terminated
from bench.verdict.evidence import LineResult, evaluate_claim, machines, sweep_runs
from bench.verdict.manifest import Claim, Manifest
from bench.verdict.plan import Planner, measured_timings, plan_sweep, spent_hours
from bench.verdict.render import (
    BoardState,
    claim_document,
    display_path,
    has_figure,
    sweep_argv,
    sweep_command,
    verdict_document,
)

VERDICT_FILE = "VERDICT.md"


def leaderboard_text(manifest: Manifest, claim: Claim, runs: list[LoadedRecord],
                     planner: Planner) -> tuple[BoardState | None, str]:
    """A table-only claim's leaderboard through the leaderboard's own renderer, with its state (its
    sweep's runs, planned and finished); a pending stub while its sweep (`runs`: its counted records) has
    no finished record."""
    assert claim.leaderboard is not None and claim.sweep is not None
    out = manifest.base / claim.leaderboard
    if not runs:
        return None, (f"# {claim.id}: {claim.source}\n\nPending: no finished record under "
                      f"`{display_path(manifest, manifest.sweeps[claim.sweep].out)}` yet. Run "
                      f"`{sweep_command(manifest, claim.sweep)}`, then `python -m bench verdict`.\n")
    text, _ = build(TableSpec(out=out, runs=manifest.out_dir(claim.sweep)))
    return BoardState(plan_sweep(manifest, claim.sweep, planner, {})), text


def verdict_files(manifest: Manifest, planner: Planner) -> dict[Path, bytes]:
    """Every file the manifest makes, by path; `planner` counts a table-only claim's sweep's runs."""
    # Every sweep's counted records, read once: the lines, a table-only claim's state and the devices.
    cache = {name: sweep_runs(manifest.out_dir(name)) for name in manifest.claims_sweeps(manifest.claims)}
    results: dict[str, list[LineResult]] = {}
    states: dict[str, BoardState | None] = {}
    files: dict[Path, bytes] = {}
    for claim in manifest.claims:
        results[claim.id] = evaluate_claim(manifest, claim, cache)
        if claim.leaderboard is not None:
            states[claim.id], text = leaderboard_text(manifest, claim, cache[claim.sweep], planner)
            files[manifest.base / claim.leaderboard] = text.encode()
    spent = claims_spent(manifest, manifest.claims, sweeps_spent(manifest, manifest.claims))
    devices = {name: machines(runs) for name, runs in cache.items()}
    for claim in manifest.claims:
        if claim.table is not None:
            files[manifest.base / claim.table] = claim_document(
                manifest, claim, results[claim.id], states.get(claim.id), spent[claim.id], devices).encode()
        if has_figure(results[claim.id]):
            from bench.verdict.figures import claim_figure_files  # loads matplotlib: only when one is drawn

            for path, data in claim_figure_files(manifest, claim, results[claim.id]).items():
                if path in files:
                    raise BenchError(f"{manifest.path}: claim {claim.id}'s figure {path} is another file "
                                     "of the verdict")
                files[path] = data
    document = verdict_document(manifest, manifest.claims, results, states, spent, devices)
    files[manifest.base / VERDICT_FILE] = document.encode()
    return files


def sweeps_spent(manifest: Manifest, claims: Sequence[Claim]) -> dict[str, float]:
    """Wall hours each sweep of `claims` took so far (plan.py, Spent), at the jobs it ran with."""
    names = manifest.claims_sweeps(claims)
    return {n: spent_hours(manifest.out_dir(n), manifest.sweeps[n].jobs) for n in names}


def claims_spent(manifest: Manifest, claims: Sequence[Claim], by_sweep: dict[str, float]) -> dict[str, float]:
    """Wall hours each claim's finished runs took, a shared sweep under its owner."""
    owners = manifest.sweep_owners(claims)
    return {c.id: sum(by_sweep[n] for n in manifest.owned_sweeps(c, owners)) for c in claims}


def regenerate(manifest: Manifest, planner: Planner, check: bool = False) -> int:
    """Write every file (unchanged ones are left alone); with `check`, write nothing and return 1 when
    a file differs from its regeneration, naming it."""
    return write_or_check(verdict_files(manifest, planner), manifest.path, check)


def hours(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f}"


def print_plan(manifest: Manifest, claims: Sequence[Claim], planner: Planner, jobs: int | None) -> int:
    """Planned runs and estimated wall hours per sweep and claim, and the total (plan.py)."""
    timings = measured_timings(manifest.base, cpu_name())  # the runs left run here (a CPU sweep)
    plans = {}
    for claim in claims:
        for name in manifest.claim_sweeps(claim):
            if name not in plans:
                plans[name] = plan_sweep(manifest, name, planner, timings, jobs)
    print(f"verdict plan from {manifest.path} (wall hours on {manifest.machine}; jobs as in the manifest"
          + (f", overridden: {jobs}" if jobs else "") + ")")
    by_sweep = sweeps_spent(manifest, claims)  # each sweep's records read once
    for p in plans.values():
        print(f"sweep {p.name}: {p.runs_min}-{p.runs_max} runs ({p.finished} finished, "
              f"{by_sweep[p.name]:.1f} h spent), "
              f"{hours(p.hours_min)}-{hours(p.hours_max)} h left; times from {p.source}")
    owner = manifest.sweep_owners(claims)
    spent_by_claim = claims_spent(manifest, claims, by_sweep)
    print("per claim (a sweep that several claims read counts once, under its owner):")
    total_lo = total_hi = 0.0
    for claim in claims:
        mine = [plans[n] for n in manifest.owned_sweeps(claim, owner)]
        shared = [n for n in manifest.claim_sweeps(claim) if owner[n] != claim.id]
        lo, hi = sum(p.hours_min or 0.0 for p in mine), sum(p.hours_max or 0.0 for p in mine)
        total_lo, total_hi = total_lo + lo, total_hi + hi
        reuse = f"; reads {', '.join(f'{n} ({owner[n]})' for n in shared)}" if shared else ""
        print(f"  {claim.id}: spent {spent_by_claim[claim.id]:.1f} h, estimated {lo:.1f}-{hi:.1f} h left "
              f"(manifest budget {claim.budget_h:g} h){reuse}")
    notes = [p.name for p in plans.values() if p.untimed_protocol]
    unknown = [p.name for p in plans.values() if p.hours_min is None]
    print(f"total: spent {sum(spent_by_claim.values()):.1f} h, estimated {total_lo:.1f}-{total_hi:.1f} h "
          f"left; manifest budget {sum(c.budget_h for c in claims):g} h "
          f"(stated total {manifest.total_h:g} h)")
    if notes:
        print(f"note: {', '.join(notes)} score under a protocol that no similar timed record used (powered "
              "scores whole splits, the quick protocol 200 documents per task): their evaluation time is "
              "underestimated")
    if unknown:
        print(f"note: no timed record like {', '.join(unknown)}: left out of the total")
    return 0


def run_sweep(argv: list[str]) -> int:
    """`python -m <argv>` (one sweep) in a session of its own, so that a signal reaches it once, from here:
    a SIGINT or SIGTERM to the verdict is passed on and waited for, and the sweep stops its runs after
    they checkpoint (bench/sweep/execute.py). subprocess.run would SIGKILL the sweep instead and leave its
    runs training with nobody to stop them."""
    child = subprocess.Popen([sys.executable, *argv], start_new_session=True)
    try:
        return child.wait()
    except KeyboardInterrupt as exc:
        child.send_signal(signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)
        child.wait()
        raise


def run_claims(manifest: Manifest, claims: Sequence[Claim], jobs: int | None, planner: Planner) -> int:
    """Run or resume every sweep of `claims` as `python -m bench sweep`, then regenerate. Exit: 0 when
    every sweep succeeded, the first signal exit (130/143: stopped, rerun to resume), else 1."""
    names = manifest.claims_sweeps(claims)
    worst = 0
    for name in names:
        argv = sweep_argv(manifest, manifest.sweeps[name], jobs)
        argv[argv.index("--out") + 1] = str(manifest.out_dir(name))
        print(f"verdict: sweep {name}", file=sys.stderr, flush=True)
        code = run_sweep(argv[1:])
        if code in (130, 143):
            return code
        worst = worst or (1 if code else 0)
    regenerate(manifest, planner)
    return worst
