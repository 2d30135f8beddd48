"""Metrics logging: `metrics.jsonl` (one line per `train.log_interval` steps) and the progress bar."""

from __future__ import annotations

import json
from typing import IO, Any

from tqdm import tqdm

from bench.train.callbacks.base import Callback, TrainerView
from bench.train.schedule import lr_at

METRICS_FILE = "metrics.jsonl"


class MetricsLogger(Callback):
    """Appends loss, gradient norm, learning rate, tokens and tokens/s to `metrics.jsonl` every
    `log_interval` steps and at the end of a `run` call, and shows them on a progress bar (`progress`)."""

    def __init__(self, progress: bool = True):
        self.progress = progress
        self._file: IO[str] | None = None
        self._bar: tqdm | None = None

    def on_train_start(self, trainer: TrainerView) -> None:
        s = trainer.state
        path = trainer.run_dir / METRICS_FILE
        if path.exists():
            # Lines logged after the checkpoint a run resumes from are logged again as those steps are
            # replayed; dropping them keeps one line per step.
            keep = [ln for ln in path.read_text().splitlines() if ln and json.loads(ln)["step"] < s.step]
            path.write_text("".join(ln + "\n" for ln in keep))
        self._file = path.open("a")
        self._bar = tqdm(total=trainer.cfg.train.max_steps, initial=s.step, disable=not self.progress,
                         unit="step", dynamic_ncols=True, leave=False)

    def on_step_end(self, trainer: TrainerView, step: int, loss: float, grad_norm: float) -> None:
        s, cfg = trainer.state, trainer.cfg
        if s.step % cfg.train.log_interval == 0 or s.step == trainer.stop_step:
            tok_s = s.tokens / s.wall_s if s.wall_s > 0 else 0.0
            self._write({"step": step, "loss": loss, "grad_norm": grad_norm,
                         "lr": lr_at(step, cfg.optim, cfg.train.max_steps), "tokens": s.tokens,
                         "tokens_per_s": tok_s})
            self._file.flush()
            self._bar.set_postfix(loss=f"{loss:.4f}", tok_s=f"{tok_s:,.0f}", refresh=False)
        self._bar.update(1)

    def on_diverge(self, trainer: TrainerView, step: int, loss: float, grad_norm: float) -> None:
        self._write({"step": step, "loss": loss, "grad_norm": grad_norm})

    def on_train_end(self, trainer: TrainerView) -> None:
        self._bar.close()
        self._file.close()
        self._file, self._bar = None, None

    def _write(self, line: dict[str, Any]) -> None:
        self._file.write(json.dumps(line) + "\n")
