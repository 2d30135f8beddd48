"""Checkpointing: `last.pt` every `train.checkpoint_interval` steps and at `train.max_steps`."""

from __future__ import annotations

from typing import ClassVar

from bench.train.callbacks.base import Callback, TrainerView
from bench.train.checkpoint import CHECKPOINT_FILE, save_checkpoint


class Checkpointer(Callback):
    """Saves model, optimizer and `TrainState` into the run directory. A run stopped by `stop_at` is not
    saved at its stop: it resumes from its last interval, as a killed run would. A run stopped by a
    signal is saved at the step it ended on, so no finished step is lost."""

    # Last at every hook, so a checkpoint holds what every other callback recorded at its step.
    priority: ClassVar[int] = -1

    def on_step_end(self, trainer: TrainerView, step: int, loss: float, grad_norm: float) -> None:
        s, t = trainer.state, trainer.cfg.train
        if s.step % t.checkpoint_interval == 0 or s.step == t.max_steps:
            save_checkpoint(trainer.run_dir / CHECKPOINT_FILE, trainer.cfg, trainer.model, trainer.opt, s)

    def on_train_end(self, trainer: TrainerView) -> None:
        if trainer.stop_signal is not None and trainer.state.status == "ok":
            save_checkpoint(trainer.run_dir / CHECKPOINT_FILE, trainer.cfg, trainer.model, trainer.opt,
                            trainer.state)
