"""Checkpointing: `last.pt` every `train.checkpoint_interval` steps and at `train.max_steps`."""

from __future__ import annotations

from typing import ClassVar

from bench.train.callbacks.base import Callback, TrainerView
from bench.train.checkpoint import CHECKPOINT_FILE


class Checkpointer(Callback):
    """Saves model, optimizer and `TrainState` into the run directory. A run stopped by `stop_at` is not
    saved at its stop: it resumes from its last interval, as a killed run would. A run stopped by a
    signal is saved at the step it ended on, so no finished step is lost. Distributed, rank 0 writes
    (`trainer.save`); under FSDP2 every rank takes part in gathering the shards."""

    # Last at every hook, so a checkpoint holds what every other callback recorded at its step.
    priority: ClassVar[int] = -1
    collective: ClassVar[bool] = True

    def on_step_end(self, trainer: TrainerView, step: int, loss: float, grad_norm: float) -> None:
        s, t = trainer.state, trainer.cfg.train
        if s.step % t.checkpoint_interval == 0 or s.step == t.max_steps:
            trainer.save(trainer.run_dir / CHECKPOINT_FILE)

    def on_train_end(self, trainer: TrainerView) -> None:
        if trainer.stop_signal is not None and trainer.state.status == "ok":
            trainer.save(trainer.run_dir / CHECKPOINT_FILE)
