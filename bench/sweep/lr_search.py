"""The per-cell learning-rate protocol of `bench sweep` (docs/protocol.md).

In each cell (scheme label × grid point) the first init seed runs at every LR of a log-spaced grid; when
the winner sits at an edge of the grid, the grid grows one step beyond that edge (at most
`max_extensions` times); the other seeds then run at the chosen LR only. Trials skip what only the
finished model needs (lm-eval scoring, the token probe): the chosen trial gets them afterwards by
resuming its finished training (bench/sweep/execute.py), so its record is a complete one.

Everything here is a pure function of the grid and the trials' records, so a rerun of the sweep takes
the same decisions from the same records.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

from bench.config import Config
from bench.record.schema import LrSearch, LrTrial, RunRecord

SELECT_BY = "best_val_loss"
# The default grid: the cell's own LR (preset, baseline TOML or --set) times 3^k. A factor of 3 is about
# half a decade; two steps below and one above, because the presets' LRs sit near the top of the stable
# range of their default scheme and the schemes measured so far improved below it, never above.
DEFAULT_FACTOR = 3.0
DEFAULT_STEPS = (-2, -1, 0, 1)
MAX_EXTENSIONS = 3


def rule(max_extensions: int) -> str:
    """The selection rule in words, as every record of a searched cell states it."""
    return (f"first init seed only: lowest {SELECT_BY} (the best validation loss of the run) over the grid; "
            "diverged, failed and loss-less runs rank last and never win; ties go to the smaller LR; "
            f"a winner at an edge of the grid adds one step beyond that edge, at most {max_extensions} "
            "times; the other seeds run at the chosen LR")


def round_lr(lr: float, digits: int) -> float:
    """`lr` to `digits` significant digits, so run ids read lr0.00033, not lr0.0003333333333."""
    return float(f"{lr:.{digits}g}")


def default_grid(base: float) -> list[float]:
    """The grid a cell searches when the sweep names none: `base` × 3^k for k in DEFAULT_STEPS."""
    return sorted(round_lr(base * DEFAULT_FACTOR ** k, 2) for k in DEFAULT_STEPS)


def next_lr(initial: list[float], grid: list[float], side: str) -> float:
    """One step beyond the `side` ("low" or "high") edge of `grid`. A step is the ratio between the edge
    of the initial grid and its neighbour on that side, so an extension continues the grid's own spacing
    (× 3 for the default grid, the user's spacing for --lrs)."""
    ordered = sorted(initial)
    if side == "high":
        return round_lr(max(grid) * ordered[-1] / ordered[-2], 3)
    return round_lr(min(grid) * ordered[0] / ordered[1], 3)


def searched_loss(record: RunRecord) -> Any:
    """A trial's selection loss as the search ranked it: its own entry in the record's `lr_search`, which
    the sweep stamps when it decides, else its training's. Completing the chosen trial retrains it where
    its checkpoint is gone (another machine), and a retraining on another CPU is not bit-identical: the
    stamp keeps that from overturning a choice the other seeds already follow."""
    search = (record.get("sweep") or {}).get("lr_search") or {}
    for trial in search.get("trials") or []:
        if trial.get("run_id") == record.get("run_id") and trial.get(SELECT_BY) is not None:
            return trial[SELECT_BY]
    return (record.get("train") or {}).get(SELECT_BY)


def loss_of(record: RunRecord | None) -> float | None:
    """The selection loss of a trial; None (ranks last) unless the run finished without diverging."""
    if record is None or record.get("status") != "ok":
        return None
    loss = searched_loss(record)
    return loss if isinstance(loss, (int, float)) and math.isfinite(loss) else None


def choose_lr(records: dict[float, RunRecord | None]) -> float | None:
    """The LR whose run reached the lowest best validation loss (ties: the smaller LR). Failed, diverged
    and loss-less runs never win; None when no run qualifies."""
    losses = {lr: loss for lr, r in records.items() if (loss := loss_of(r)) is not None}
    return min(losses, key=lambda lr: (losses[lr], lr)) if losses else None


def edge(grid: list[float], chosen: float | None) -> str | None:
    """"low" or "high" when `chosen` is an edge of a grid of at least two LRs, else None."""
    if chosen is None or len(grid) < 2:
        return None
    return "low" if chosen == min(grid) else "high" if chosen == max(grid) else None


def trial_config(cfg: Config) -> Config:
    """The config a trial trains: `cfg` without what only the finished model needs, the final lm-eval
    scoring and the token probe (bench.run.pipeline.AFTER_TRAINING, which a resumed finished training may
    add). A config with periodic scoring during training (eval.every > 0) keeps its evaluation: that curve
    is part of training and cannot be added afterwards."""
    trial = copy.deepcopy(cfg)
    trial.probe.tokens = False
    if not cfg.eval.every:
        trial.eval.enabled = False
    return trial


@dataclass
class CellSearch:
    """One cell's search: its initial grid, the LRs the extension added so far, and the trials' records
    (LR → record, None for a trial without one)."""

    cell: str
    label: str
    initial: list[float]
    max_extensions: int
    extended: list[float] = field(default_factory=list)
    records: dict[float, RunRecord | None] = field(default_factory=dict)
    run_ids: dict[float, str] = field(default_factory=dict)
    statuses: dict[float, str] = field(default_factory=dict)
    final: bool = False  # no further extension: the choice stands

    @property
    def grid(self) -> list[float]:
        return sorted([*self.initial, *self.extended])

    @property
    def chosen(self) -> float | None:
        return choose_lr(self.records)

    def extension(self) -> float | None:
        """The next LR to try (and now part of the grid), or None once the winner is interior, no LR
        qualifies, or the extensions are used up."""
        side = edge(self.grid, self.chosen)
        lr = None if side is None or len(self.extended) >= self.max_extensions else \
            next_lr(self.initial, self.grid, side)
        if lr is None or lr in self.grid:  # (a rounding that lands on the edge itself ends the search)
            self.final = True
            return None
        self.extended.append(lr)
        return lr

    def outcome(self) -> LrSearch:
        """What every record of the cell says about the search (less `selected`, which is per run)."""
        chosen = self.chosen
        # A diverged run keeps the loss it reached in the curve; its status says it never wins.
        trials: list[LrTrial] = [
            {"lr": lr, "run_id": self.run_ids[lr], "status": self.statuses.get(lr, "pending"),
             "best_val_loss": searched_loss(r) if (r := self.records.get(lr)) is not None else None}
            for lr in self.grid]
        return {"grid": self.grid, "chosen": chosen, "by": SELECT_BY,
                "interior": chosen is not None and edge(self.grid, chosen) is None,
                "extended": list(self.extended), "rule": rule(self.max_extensions), "trials": trials}

    def manifest(self) -> dict[str, Any]:
        """sweep.json's entry for the cell: the records' `lr_search` with the label."""
        return {"label": self.label, **self.outcome()}


def record_info(lr: float | None, search: LrSearch) -> LrSearch:
    """record["sweep"]["lr_search"] of a run at `lr` in a cell whose search is `search`."""
    return {**search, "selected": lr == search["chosen"]}
