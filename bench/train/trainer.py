"""The shared training core: the same data order, optimizer, schedule and clipping for every scheme.

A run checkpoints every `checkpoint_interval` steps (model, optimizer, counters) so `--resume`
continues bit-identically on CPU: batches and learning rates are functions of the step index only.
A non-finite loss or gradient norm ends the run as `diverged` — a result, not a crash.
"""

from __future__ import annotations

import contextlib
import json
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm import tqdm

from bench.config import Config, OptimConfig
from bench.core.errors import BenchError
from bench.core.files import torch_load, torch_save
from bench.data.corpus import IGNORE, Corpus
from bench.model.transformer import Transformer
from bench.probes.structure import StructureProbe

CHECKPOINT_FORMAT = 1



def lr_at(step: int, cfg: OptimConfig, max_steps: int) -> float:
    """Linear warmup to `lr`, then cosine decay to `min_lr_ratio * lr` at `max_steps`."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    span = max(1, max_steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + 0.5 * (cfg.lr - floor) * (1 + math.cos(math.pi * progress))


def make_optimizer(model: Transformer, cfg: OptimConfig) -> torch.optim.AdamW:
    """AdamW with decoupled weight decay on every role except `no_decay_roles`."""
    decay, no_decay = [], []
    for spec, param in model.param_specs():
        (no_decay if spec.role in cfg.no_decay_roles else decay).append(param)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=cfg.lr, betas=(cfg.beta1, cfg.beta2),
                             eps=cfg.eps)


def lm_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), ignore_index=IGNORE)


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
                    state: TrainState) -> None:
    torch_save(path, {"format": CHECKPOINT_FORMAT, "config": cfg.to_dict(), "model": model.state_dict(),
                      "optimizer": opt.state_dict(), "state": state.__dict__})


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a training checkpoint; a missing, truncated or foreign file is a user error."""
    if not path.is_file():
        raise BenchError(f"checkpoint {path} does not exist")
    ckpt = torch_load(path)
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT or "state" not in ckpt:
        raise BenchError(f"checkpoint {path} is not an initbench training checkpoint")
    return ckpt


class Trainer:
    """Trains `model` on `corpus` under `cfg`, writing checkpoints and metrics into `run_dir` (which
    `run` needs; `step` alone does not)."""

    def __init__(self, cfg: Config, model: Transformer, corpus: Corpus, run_dir: Path | None,
                 device: torch.device, progress: bool = True,
                 on_eval: Callable[[Transformer], dict[str, Any]] | None = None):
        self.cfg, self.corpus, self.run_dir, self.device = cfg, corpus, run_dir, device
        self.model = model.to(device)
        self.opt = make_optimizer(self.model, cfg.optim)
        self.state = TrainState()
        self.progress = progress
        self.on_eval = on_eval  # periodic downstream scoring, injected so train never imports evaluate
        compile_on = cfg.train.compile == "on" or (cfg.train.compile == "auto" and device.type == "cuda")
        self.forward = torch.compile(self.model) if compile_on else self.model
        self.autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda"
                         else contextlib.nullcontext())
        self.probe: StructureProbe | None = None
        if cfg.probe.every > 0:
            probe_batch = next(iter(corpus.val.values())).inputs[:cfg.probe.batch_size].to(device)
            self.probe = StructureProbe(self.model, probe_batch, cfg.probe, last_step=cfg.train.max_steps - 1)

    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / "last.pt"

    def restore(self, ckpt: dict[str, Any]) -> None:
        self.model.load_state_dict(ckpt["model"])
        self.opt.load_state_dict(ckpt["optimizer"])
        self.state = TrainState(**ckpt["state"])
        self._truncate_metrics(self.state.step)

    def _truncate_metrics(self, step: int) -> None:
        """Drop metric lines logged after the checkpoint we resume from, so the stream stays a function."""
        path = self.run_dir / "metrics.jsonl"
        if path.exists():
            keep = [ln for ln in path.read_text().splitlines() if ln and json.loads(ln)["step"] < step]
            path.write_text("".join(ln + "\n" for ln in keep))

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Mean held-out loss per source on the first `eval_batches` batches (fixed order)."""
        self.model.eval()
        out = {}
        bs = self.cfg.train.batch_size
        for source, split in self.corpus.val.items():
            total, count = 0.0, 0
            for i in range(min(self.cfg.train.eval_batches, math.ceil(len(split) / bs))):
                x, y = split.inputs[i * bs:(i + 1) * bs], split.targets[i * bs:(i + 1) * bs]
                n = int((y != IGNORE).sum())
                with self.autocast:
                    logits = self.forward(x.to(self.device))
                total += lm_loss(logits, y.to(self.device)).item() * n
                count += n
            out[source] = total / max(count, 1)
        self.model.train()
        return out

    def _record_val(self) -> None:
        losses = self.evaluate()
        mean = sum(losses.values()) / len(losses)
        s = self.state
        s.val_loss_by_source = losses
        s.val_curve.append({"step": s.step, "loss": mean, **{f"loss/{k}": v for k, v in losses.items()}})
        if math.isfinite(mean):
            s.best_val_loss = min(s.best_val_loss, mean)

    def _spike(self, loss: float) -> bool:
        """A spike: after warmup, loss above `spike_factor` × the median of the last `spike_window`."""
        t, s = self.cfg.train, self.state
        is_spike = (s.step >= self.cfg.optim.warmup_steps and len(s.recent_losses) >= 10
                    and loss > t.spike_factor * statistics.median(s.recent_losses))
        s.recent_losses = [*s.recent_losses, loss][-t.spike_window:]
        return is_spike

    def step(self) -> tuple[float, float]:
        """One optimizer step; returns (loss, grad norm)."""
        cfg, s = self.cfg, self.state
        x, y = self.corpus.batch(s.step, cfg.train.batch_size, cfg.data.seed)
        x, y = x.to(self.device), y.to(self.device)
        lr = lr_at(s.step, cfg.optim, cfg.train.max_steps)
        for group in self.opt.param_groups:
            group["lr"] = lr
        with self.autocast:
            logits = self.forward(x)
        loss = lm_loss(logits, y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        clip = cfg.optim.grad_clip or math.inf
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip).item()
        loss_value = loss.item()
        finite = math.isfinite(loss_value) and math.isfinite(grad_norm)
        # The probe sees the weights this step updates, so step 0 measures the init.
        probing = finite and self.probe is not None and self.probe.due(s.step)
        if probing:
            self.probe.before_update(s.step, loss_value, grad_norm)
        if finite:
            self.opt.step()
        if probing:
            s.structure.append(self.probe.after_update())
        return loss_value, grad_norm

    def run(self, stop_at: int | None = None) -> TrainState:
        """Train to `max_steps` (or stop early at `stop_at`, used to simulate an interruption)."""
        cfg, s = self.cfg, self.state
        end = cfg.train.max_steps if stop_at is None else min(stop_at, cfg.train.max_steps)
        tokens_per_step = cfg.train.batch_size * self.corpus.seq_len
        self.model.train()
        metrics = (self.run_dir / "metrics.jsonl").open("a")
        bar = tqdm(total=cfg.train.max_steps, initial=s.step, disable=not self.progress, unit="step",
                   dynamic_ncols=True, leave=False)
        t0, wall0 = time.perf_counter(), s.wall_s
        try:
            while s.step < end:
                loss, grad_norm = self.step()
                s.tokens += tokens_per_step
                s.wall_s = wall0 + time.perf_counter() - t0
                if not (math.isfinite(loss) and math.isfinite(grad_norm)):
                    s.status, s.diverged_step = "diverged", s.step
                    metrics.write(json.dumps({"step": s.step, "loss": loss, "grad_norm": grad_norm}) + "\n")
                    break
                if self._spike(loss):
                    s.spikes.append(s.step)
                s.final_loss = loss
                s.step += 1
                tok_s = s.tokens / s.wall_s if s.wall_s > 0 else 0.0
                if s.step % cfg.train.log_interval == 0 or s.step == end:
                    metrics.write(json.dumps({"step": s.step - 1, "loss": loss, "grad_norm": grad_norm,
                                              "lr": lr_at(s.step - 1, cfg.optim, cfg.train.max_steps),
                                              "tokens": s.tokens, "tokens_per_s": tok_s}) + "\n")
                    metrics.flush()
                    bar.set_postfix(loss=f"{loss:.4f}", tok_s=f"{tok_s:,.0f}", refresh=False)
                bar.update(1)
                if s.step % cfg.train.eval_interval == 0 or s.step == cfg.train.max_steps:
                    self._record_val()
                if self.on_eval and cfg.eval.every and s.step % cfg.eval.every == 0:
                    self.model.eval()
                    s.eval_curve.append({"step": s.step, **self.on_eval(self.model)})
                    self.model.train()
                if s.step % cfg.train.checkpoint_interval == 0 or s.step == cfg.train.max_steps:
                    save_checkpoint(self.checkpoint_path, cfg, self.model, self.opt, s)
        finally:
            bar.close()
            metrics.close()
        return s
