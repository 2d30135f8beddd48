"""The optimizer and its learning-rate schedule, the same for every scheme (docs/training.md)."""

from __future__ import annotations

import math

import torch

from bench.config import OptimConfig
from bench.model.transformer import Transformer


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
