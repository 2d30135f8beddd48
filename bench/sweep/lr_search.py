"""The per-cell learning-rate search of `sweep --lrs`: in each cell (label × grid point) the first seed runs
at every LR; the other seeds run only at the LR whose run reached the lowest best validation loss."""

from __future__ import annotations

from typing import Any

from bench.sweep.grid import PlannedRun

SELECT_BY = "best_val_loss"


def choose_lr(records: dict[float, dict[str, Any] | None]) -> float | None:
    """The LR whose run reached the lowest best validation loss (ties: the smaller LR). Failed, diverged
    and loss-less runs never win; None when no run qualifies."""
    losses = {lr: r["train"]["best_val_loss"] for lr, r in records.items()
              if r is not None and r.get("status") == "ok" and r["train"].get("best_val_loss") is not None}
    return min(losses, key=lambda lr: (losses[lr], lr)) if losses else None


def first_seed(runs: list[PlannedRun], seeds: list[int]) -> list[PlannedRun]:
    """The search's trials: every run of the first seed, at every LR."""
    return [r for r in runs if r.seed == seeds[0]]


def at_chosen_lr(runs: list[PlannedRun], seeds: list[int],
                 search: dict[str, dict[str, Any]]) -> list[PlannedRun]:
    """The other seeds' runs at their cell's chosen LR (none for a cell without one)."""
    return [r for r in runs if r.seed != seeds[0] and r.lr == search[r.cell]["chosen"]]


def outcome(trials: list[PlannedRun], records: dict[float, dict[str, Any] | None],
            lrs: list[float]) -> dict[str, Any]:
    """One cell's entry of sweep.json's "lr_search": the grid, the chosen LR and every trial. `records`
    maps each trial's LR to its record (None when it has none)."""
    return {
        "label": trials[0].label, "grid": lrs, "chosen": choose_lr(records), "by": SELECT_BY,
        "trials": [{"lr": r.lr, "run_id": r.id, "status": r.status,
                    SELECT_BY: (records[r.lr] or {}).get("train", {}).get(SELECT_BY)} for r in trials]}


def record_info(run: PlannedRun, cell: dict[str, Any]) -> dict[str, Any]:
    """record["sweep"]["lr_search"] of a run whose cell has its `outcome`."""
    chosen = cell["chosen"]
    return {"grid": cell["grid"], "chosen": chosen, "by": SELECT_BY, "selected": run.lr == chosen}
