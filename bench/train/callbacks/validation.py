"""Validation loss every `train.eval_interval` steps and at `train.max_steps`."""

from __future__ import annotations

import math
from typing import ClassVar

from bench.train.callbacks.base import Callback, TrainerView


class ValidationLoss(Callback):
    """Records the held-out loss per source (`Trainer.validation_losses`) and their mean into
    `state.val_curve`, the latest per-source losses and the best mean so far. Collective: under FSDP2
    every rank takes part in the forward passes (each computes the same losses)."""

    collective: ClassVar[bool] = True

    def on_step_end(self, trainer: TrainerView, step: int, loss: float, grad_norm: float) -> None:
        s, t = trainer.state, trainer.cfg.train
        if not (s.step % t.eval_interval == 0 or s.step == t.max_steps):
            return
        losses = trainer.validation_losses()
        mean = sum(losses.values()) / len(losses)
        s.val_loss_by_source = losses
        s.val_curve.append({"step": s.step, "loss": mean, **{f"loss/{k}": v for k, v in losses.items()}})
        if math.isfinite(mean):
            s.best_val_loss = min(s.best_val_loss, mean)
