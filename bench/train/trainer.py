"""The shared training core: the same data order, optimizer, schedule and clipping for every scheme
(docs/training.md).

The loop does the updates and keeps the counters; everything else that happens during training —
checkpoints, metrics, validation loss, spike detection, and the later stages' structure probe and
periodic downstream scoring — is a `Callback` (bench/train/callbacks/) handed to the `Trainer`.
A non-finite loss or gradient norm ends the run as `diverged` — a result, not a crash.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from bench.config import Config
from bench.core.device import resolve_precision
from bench.data.cache import cache_dir
from bench.data.corpus import IGNORE, Corpus
from bench.model.transformer import Transformer
from bench.train import distributed
from bench.train.callbacks.base import Callback
from bench.train.checkpoint import TrainState, save_checkpoint
from bench.train.distributed import SINGLE, Dist
from bench.train.interrupt import stop_flag
from bench.train.schedule import lr_at, make_optimizer

# torch.compile on the CPU costs about 40 s before the first step (about 20 s with inductor's graph cache
# warm) and made a nano step 1.14× faster on an idle 2-core machine (docs/performance.md), i.e. saves ~12 %
# of eager time: it pays back a cold compile after ~325 s of eager training, ~5e13 FLOPs at the ~1.55e11
# FLOP/s an eager nano step reached there. The default nano run (1.2e13) stays eager; micro (1.6e15) and up
# compile.
CPU_COMPILE_MIN_FLOPS = 5e13


def use_compile(cfg: Config, model: Transformer, corpus: Corpus, device: torch.device) -> bool:
    """What `train.compile` (auto | on | off) means for this run: auto compiles on CUDA, and on the CPU
    when the run's training compute is at least CPU_COMPILE_MIN_FLOPS (only then is `corpus` read)."""
    mode = cfg.train.compile
    if mode != "auto":
        return mode == "on"
    if device.type == "cuda":
        return True
    seq_len = corpus.seq_len
    budget = model.flops_per_token(seq_len) * cfg.train.max_steps * cfg.train.batch_size * seq_len
    return budget >= CPU_COMPILE_MIN_FLOPS


def compiled(model: torch.nn.Module) -> torch.nn.Module:
    """`torch.compile(model)` with inductor's compiled graphs cached in the project's cache directory (unless
    TORCHINDUCTOR_CACHE_DIR says otherwise), so every run of a sweep after the first finds them on disk."""
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir() / "inductor"))
    return torch.compile(model)


def lm_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy over the positions whose target is not IGNORE."""
    return F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), ignore_index=IGNORE)


class Trainer:
    """Trains `model` on `corpus` under `cfg`, calling `callbacks` (in priority order) around every step.

    `run_dir` is where file-writing callbacks (checkpoints, metrics) put their files; `update` alone
    needs neither it nor any callback. `dist` (launched by torchrun, bench/train/distributed.py): this
    process's rank of a DDP or FSDP2 run; by default a plain single process.
    """

    def __init__(self, cfg: Config, model: Transformer, corpus: Corpus, run_dir: Path | None,
                 device: torch.device, callbacks: Sequence[Callback] = (), dist: Dist = SINGLE,
                 init_hash: str | None = None):
        self.cfg, self.corpus, self.run_dir, self.device, self.dist = cfg, corpus, run_dir, device, dist
        self.model = model.to(device)
        # A distributed run checks that every rank starts from the same weights before DDP's broadcast
        # from rank 0 (or FSDP2's sharding) would hide a difference; a resumed one carries the hash over.
        self.init_hash = init_hash
        if dist.active and init_hash is None:
            self.init_hash = distributed.init_hash(self.model)
            distributed.agree(dist, self.init_hash, "the initial weights (init hash)")
        self.wrapped = distributed.wrap(dist, self.model, device)  # FSDP2 shards self.model in place
        self.opt = make_optimizer(self.model, cfg.optim)
        self.state = TrainState()
        self.callbacks = sorted(callbacks, key=lambda cb: -cb.priority)  # sorted() is stable
        self.stop_step = cfg.train.max_steps
        self.stop_signal: int | None = None  # the SIGINT/SIGTERM that ended the last `run` early, if any
        # What the run actually used, for the record (train.compiled, train.precision).
        self.precision = resolve_precision(cfg.train.precision, device)
        self.compiled = use_compile(cfg, self.model, corpus, device)
        self.forward = compiled(self.model) if self.compiled else self.model
        # Training's forward pass: under DDP through the wrapper (its gradient all-reduce); validation and
        # the probes use `forward`, which needs no other rank (FSDP2's sharded module needs all of them).
        self.train_forward = self.forward if self.wrapped is self.model else \
            compiled(self.wrapped) if self.compiled else self.wrapped
        # Weights, optimizer state and the loss (lm_loss) stay fp32; only the forward pass's matmuls drop.
        self.autocast = (torch.autocast(device.type, dtype=torch.bfloat16) if self.precision == "bf16"
                         else contextlib.nullcontext())

    def restore(self, ckpt: dict[str, Any]) -> None:
        """Continue from a checkpoint (`bench.train.checkpoint.load_checkpoint`)."""
        if self.dist.active:
            distributed.load_full_state(self.dist, self.model, self.opt, ckpt["model"], ckpt["optimizer"])
        else:
            self.model.load_state_dict(ckpt["model"])
            self.opt.load_state_dict(ckpt["optimizer"])
        self.state = TrainState(**ckpt["state"])

    def save(self, path: Path) -> None:
        """Write the training checkpoint to `path`. Distributed: rank 0 writes what one process would hold
        (gathered from the shards under FSDP2, collectively), plus the `distributed` entry that `--resume`
        checks; the other ranks write nothing."""
        if not self.dist.active:
            save_checkpoint(path, self.cfg, self.model, self.opt, self.state)
            return
        model_sd, opt_sd = distributed.full_state(self.dist, self.model, self.opt)
        if self.dist.writer:
            saved = {"distributed": distributed.info(self.dist, self.device, self.init_hash or "")}
            save_checkpoint(path, self.cfg, self.model, self.opt, self.state, model_sd=model_sd,
                            opt_sd=opt_sd, extra=saved)

    def full_model(self) -> Transformer:
        """The trained model as one process holds it: the model itself, or under FSDP2 a fresh module
        loaded with the gathered weights on rank 0 (collective: every rank calls it; the other ranks get
        their own shards back, which they do not use)."""
        if self.dist.strategy != "fsdp2":
            return self.model
        model_sd = distributed.full_model_state(self.model)
        if not self.dist.writer:
            return self.model
        plain = Transformer(self.cfg.model, wesar_gates=any(k.endswith(".gate") for k in model_sd))
        plain.load_state_dict(model_sd)
        return plain.to(self.device)

    @torch.no_grad()
    def validation_losses(self) -> dict[str, float]:
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

    def update(self, step: int) -> tuple[float, float]:
        """One optimizer update on step `step`'s batch at step `step`'s learning rate; returns (loss,
        grad norm). A non-finite loss or gradient norm skips the optimizer step. It does not touch
        `state.step`: counting steps is the caller's job (`run` does it)."""
        cfg = self.cfg
        x, y = self.corpus.batch(step, cfg.train.batch_size, cfg.data.seed)
        for group in self.opt.param_groups:
            group["lr"] = lr_at(step, cfg.optim, cfg.train.max_steps)
        if self.dist.active:
            loss_value, grad_norm = self._distributed_backward(x, y)
        else:
            with self.autocast:
                logits = self.forward(x.to(self.device))
            loss = lm_loss(logits, y.to(self.device))
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            clip = cfg.optim.grad_clip or math.inf
            grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip).item()
            loss_value = loss.item()
        if math.isfinite(loss_value) and math.isfinite(grad_norm):
            for cb in self.callbacks:
                cb.before_update(self, step, loss_value, grad_norm)
            self.opt.step()
            for cb in self.callbacks:
                cb.after_update(self, step)
        return loss_value, grad_norm

    def _distributed_backward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        """`update`'s gradients on this rank's block of the global batch (bench/train/distributed.py): the
        summed token loss over the global token count, times the world size, so that the gradient average
        over the ranks is the global batch's gradient; the returned loss is the global mean (all-reduced)
        and the gradient norm the whole model's."""
        cfg, dist = self.cfg, self.dist
        n_global = max(int((y != IGNORE).sum()), 1)
        x, y = dist.rows(x).to(self.device), dist.rows(y).to(self.device)
        with self.autocast:
            logits = self.train_forward(x)
        loss_sum = F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), ignore_index=IGNORE,
                                   reduction="sum")
        self.opt.zero_grad(set_to_none=True)
        (loss_sum * (dist.world_size / n_global)).backward()
        clip = cfg.optim.grad_clip or math.inf
        grad_norm = distributed.full_norm(torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip))
        return distributed.all_sum(dist, [loss_sum.item()])[0] / n_global, grad_norm

    def run(self, stop_at: int | None = None) -> TrainState:
        """Train to `max_steps` (or stop early at `stop_at`, used to simulate an interruption). A SIGINT or
        SIGTERM ends the loop after the current step, with `stop_signal` set (bench/train/interrupt.py)."""
        cfg, s = self.cfg, self.state
        self.stop_step = cfg.train.max_steps if stop_at is None else min(stop_at, cfg.train.max_steps)
        tokens_per_step = cfg.train.batch_size * self.corpus.seq_len
        self.model.train()
        for cb in self.callbacks:
            cb.on_train_start(self)
        t0, wall0 = time.perf_counter(), s.wall_s
        self.stop_signal = None
        with stop_flag() as received:
            try:
                while s.step < self.stop_step:
                    # Distributed, every rank stops at the step at which any rank got the signal.
                    if distributed.any_rank(self.dist, bool(received)):
                        break
                    step = s.step
                    loss, grad_norm = self.update(step)
                    s.tokens += tokens_per_step
                    s.wall_s = wall0 + time.perf_counter() - t0
                    if not (math.isfinite(loss) and math.isfinite(grad_norm)):
                        s.status, s.diverged_step = "diverged", step
                        for cb in self.callbacks:
                            cb.on_diverge(self, step, loss, grad_norm)
                        break
                    s.final_loss = loss
                    s.step += 1
                    for cb in self.callbacks:
                        cb.on_step_end(self, step, loss, grad_norm)
                # Set before on_train_end, so the checkpointer saves the step the signal ended on.
                self.stop_signal = received[0] if received else \
                    signal.SIGTERM if s.step < self.stop_step and s.status == "ok" else None
            finally:
                for cb in self.callbacks:
                    cb.on_train_end(self)
        return s
