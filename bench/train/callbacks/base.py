"""The callback interface of the training loop (docs/training.md).

`Trainer.run` calls, for every callback in priority order:

    on_train_start
    per step:  before_update -> [optimizer step] -> after_update    (both only when the update is taken)
               on_step_end                                          (the step counter has advanced)
            or on_diverge, and the loop ends                        (non-finite loss or gradient norm)
    on_train_end                                                    (also when the loop raised)

A callback keeps whatever a resumed run needs in `trainer.state` (a `TrainState`, checkpointed with the
weights), not in itself, so `--resume` stays bit-identical.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Protocol

import torch

from bench.config import Config
from bench.model.transformer import Transformer
from bench.train.checkpoint import TrainState


class TrainerView(Protocol):
    """What a callback sees of `bench.train.trainer.Trainer`. A protocol rather than the class itself so
    that the trainer (which calls callbacks) and this module do not import each other."""

    cfg: Config
    model: Transformer  # the plain module; the trainer's forward pass may be a compiled wrapper of it
    opt: torch.optim.Optimizer
    state: TrainState
    run_dir: Path | None
    stop_step: int  # the step count the current `run` call ends at: max_steps, or earlier on request
    stop_signal: int | None  # set when a SIGINT/SIGTERM ended the `run` call before stop_step

    def validation_losses(self) -> dict[str, float]: ...

    def save(self, path: Path) -> None: ...  # the training checkpoint (collective under FSDP2)


class Callback:
    """A training-time hook. Every method is a no-op; a subclass overrides those it needs.

    `step` is always the index of the update in question (its batch and learning rate are functions of
    it); at `on_step_end` the trainer has counted it, so `trainer.state.step == step + 1`.
    """

    # Higher runs first at every hook; equal priorities keep the order they were given in.
    priority: ClassVar[int] = 0
    # A distributed run calls callbacks on rank 0 only, except under FSDP2 those whose work is collective
    # (a forward pass through the sharded model, gathering the shards): those run on every rank, and only
    # rank 0 writes (bench/train/distributed.py).
    collective: ClassVar[bool] = False

    def on_train_start(self, trainer: TrainerView) -> None:
        """Before the first step of a `run` call (which may resume mid-run: see `trainer.state.step`)."""

    def before_update(self, trainer: TrainerView, step: int, loss: float, grad_norm: float) -> None:
        """After the backward pass and clipping, before the optimizer step: the weights are still those
        the update starts from (step 0: the init)."""

    def after_update(self, trainer: TrainerView, step: int) -> None:
        """Right after the optimizer step of update `step`."""

    def on_step_end(self, trainer: TrainerView, step: int, loss: float, grad_norm: float) -> None:
        """Update `step` was taken and counted."""

    def on_diverge(self, trainer: TrainerView, step: int, loss: float, grad_norm: float) -> None:
        """Update `step` was skipped for a non-finite loss or gradient norm; the run ends `diverged`."""

    def on_train_end(self, trainer: TrainerView) -> None:
        """After the last step of a `run` call, however it ended."""
