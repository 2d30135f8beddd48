"""Loss-spike detection: a step whose loss jumps far above the recent median (docs/training.md)."""

from __future__ import annotations

import statistics

from bench.train.callbacks.base import Callback, TrainerView

# A median of fewer losses than this is too noisy to call anything a spike.
MIN_HISTORY = 10


class SpikeDetector(Callback):
    """A spike: after warmup, loss above `spike_factor` × the median of the last `spike_window` losses.
    Spiking steps go to `state.spikes`; the window lives in `state.recent_losses` so a resumed run
    judges the same steps the same way."""

    def on_step_end(self, trainer: TrainerView, step: int, loss: float, grad_norm: float) -> None:
        t, s = trainer.cfg.train, trainer.state
        is_spike = (step >= trainer.cfg.optim.warmup_steps and len(s.recent_losses) >= MIN_HISTORY
                    and loss > t.spike_factor * statistics.median(s.recent_losses))
        s.recent_losses = [*s.recent_losses, loss][-t.spike_window:]
        if is_spike:
            s.spikes.append(step)
