"""Training checkpoints: what a resumed run needs to continue bit-identically on CPU (docs/training.md).

A checkpoint holds the weights, the optimizer state and the `TrainState`; batches and learning rates are
functions of the step index only, so nothing else is needed. The callbacks write into the `TrainState`
(validation curve, spikes, structure snapshots, ...) rather than into themselves so that all of it is
saved and restored with the weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from bench.config import Config
from bench.core.errors import BenchError
from bench.core.files import torch_load, torch_save
from bench.model.transformer import Transformer

CHECKPOINT_FORMAT = 1
CHECKPOINT_FILE = "last.pt"  # in the run directory; `--resume` without a path reads it


@dataclass
class TrainState:
    """Everything besides weights and optimizer that a resumed run needs to continue identically."""

    step: int = 0
    tokens: int = 0
    wall_s: float = 0.0
    best_val_loss: float = math.inf
    val_loss_by_source: dict[str, float] = field(default_factory=dict)
    val_curve: list[dict[str, Any]] = field(default_factory=list)
    eval_curve: list[dict[str, Any]] = field(default_factory=list)
    recent_losses: list[float] = field(default_factory=list)
    spikes: list[int] = field(default_factory=list)
    structure: list[dict[str, Any]] = field(default_factory=list)  # StructureProbe snapshots, by step
    final_loss: float | None = None
    status: str = "ok"
    diverged_step: int | None = None


def save_checkpoint(path: Path, cfg: Config, model: Transformer, opt: torch.optim.Optimizer,
                    state: TrainState, model_sd: dict[str, Any] | None = None,
                    opt_sd: dict[str, Any] | None = None, extra: dict[str, Any] | None = None) -> None:
    """Write a training checkpoint atomically (a run killed mid-write keeps its previous one). A write
    that fails (disk full, file size limit) is one clear error; the previous checkpoint stays intact.
    A distributed run passes the gathered state dicts (`model_sd`, `opt_sd`) and its `distributed` entry
    (`extra`); a single-process checkpoint has neither."""
    try:
        torch_save(path, {"format": CHECKPOINT_FORMAT, "config": cfg.to_dict(),
                          "model": model.state_dict() if model_sd is None else model_sd,
                          "optimizer": opt.state_dict() if opt_sd is None else opt_sd,
                          "state": state.__dict__, **(extra or {})})
    except OSError as exc:  # the atomic write removed its temporary file: the old checkpoint is whole
        raise BenchError(f"could not write checkpoint {path} at step {state.step}: {exc.strerror or exc}; "
                         "the previous checkpoint is intact") from None


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a training checkpoint; a missing, truncated or foreign file is a user error."""
    if not path.is_file():
        raise BenchError(f"checkpoint {path} does not exist")
    ckpt = torch_load(path)
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT or "state" not in ckpt:
        raise BenchError(f"checkpoint {path} is not an initbench training checkpoint")
    return ckpt
