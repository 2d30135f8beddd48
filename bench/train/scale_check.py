"""A coordinate check in the spirit of μP (Yang et al. 2022): activation scale per role across widths.

For each scheme the model is built at several widths, trained for a few steps on the same batches, and
the RMS of every role's output is measured at init and after k steps. A scheme whose activations grow
with width, or blow up or collapse within a few steps, is flagged. The same run also reports whether
the MLP neurons are still identical to each other (the symmetry failure of `zero`).
"""

from __future__ import annotations

import copy
import itertools
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import torch

from bench.config import Config, validate
from bench.core.errors import BenchError
from bench.data.corpus import Corpus
from bench.model.schemes import build_model, check
from bench.model.transformer import Embedding, Linear, Transformer
from bench.train.trainer import Trainer

EXPLODE_RMS = 1e2   # an activation RMS above this (or non-finite) is "exploding"
VANISH_RMS = 1e-3   # below this, "vanishing"
WIDTH_GROWTH = 1.5  # RMS growing by more than this per width doubling: not width-stable


@dataclass
class ScaleRow:
    scheme: str
    width: int
    role: str
    rms_init: float
    rms_trained: float


def activation_rms(model: Transformer, idx: torch.Tensor) -> dict[str, float]:
    """RMS of each role's output (averaged over layers), of the residual stream after every block, and
    of the logits, for one forward pass."""
    sums: dict[str, list[float]] = defaultdict(list)
    hooks = []

    def hook(role: str):
        def fn(_module: torch.nn.Module, _inp: Any, out: torch.Tensor) -> None:
            sums[role].append(out.detach().float().pow(2).mean().sqrt().item())
        return fn

    for module in model.modules():
        if isinstance(module, (Linear, Embedding)) and module.role != "pos_embed":
            hooks.append(module.register_forward_hook(hook(module.role)))
    for block in model.blocks:
        hooks.append(block.register_forward_hook(hook("residual")))
    try:
        with torch.no_grad():
            logits = model(idx)
    finally:
        for h in hooks:
            h.remove()
    sums["logits"].append(logits.float().pow(2).mean().sqrt().item())
    return {role: sum(v) / len(v) for role, v in sums.items()}


def neurons_identical(model: Transformer) -> bool:
    """True when every MLP input matrix has all rows equal (no symmetry was ever broken)."""
    for lin in model.linears():
        if lin.role == "mlp_in":
            w = lin.effective_weight().detach()
            if not torch.equal(w, w[:1].expand_as(w)):
                return False
    return True


def at_width(cfg: Config, width: int) -> Config:
    """`cfg` at d_model = `width`, keeping the head dimension and the FFN ratio; a width the heads do not
    divide is a user error (checked before any data is loaded)."""
    c = copy.deepcopy(cfg)
    c.optim.warmup_steps = 0  # peak LR from the first step: the regime where scale failures show
    ratio = c.model.d_ff / c.model.d_model
    head_dim = c.model.d_model // c.model.n_heads
    if width % head_dim:
        raise BenchError(f"--widths: {width} is not a multiple of the head dimension {head_dim} "
                         f"(model.d_model / model.n_heads of preset {cfg.preset})")
    c.model.d_model, c.model.d_ff = width, round(ratio * width)
    c.model.n_heads = max(1, width // head_dim)
    validate(c)
    return c


def check_scheme(cfg: Config, corpus: Corpus, widths: list[int], steps: int) -> tuple[list[ScaleRow], dict]:
    """Measure one scheme at each width; returns rows and per-width facts (loss, identical neurons)."""
    check(cfg.init)
    rows, facts = [], {}
    for width in widths:
        c = at_width(cfg, width)
        c.model.vocab_size = c.model.vocab_size or corpus.vocab_size
        model, _ = build_model(c.model, c.init)
        trainer = Trainer(c, model, corpus, run_dir=None, device=torch.device("cpu"))
        probe = corpus.val[next(iter(corpus.val))].inputs[:64]
        before = activation_rms(model, probe)
        loss = math.nan
        for step in range(steps):
            loss, _ = trainer.update(step)
        after = activation_rms(model, probe)
        for role in before:
            rows.append(ScaleRow(c.init.method, width, role, before[role], after.get(role, math.nan)))
        facts[width] = {"loss": loss, "identical_neurons": neurons_identical(model)}
    return rows, facts


def flags(rows: list[ScaleRow]) -> dict[tuple[int, str], str]:
    """Per (width, role): 'explode', 'vanish' or 'width-growth' (RMS rising with width), else ''."""
    out: dict[tuple[int, str], str] = {}
    by_role: dict[str, list[ScaleRow]] = defaultdict(list)
    for r in rows:
        by_role[r.role].append(r)
        worst = max(r.rms_init, r.rms_trained) if math.isfinite(r.rms_trained) else math.inf
        if not math.isfinite(worst) or worst > EXPLODE_RMS:
            out[(r.width, r.role)] = "explode"
        elif min(r.rms_init, r.rms_trained) < VANISH_RMS:
            out[(r.width, r.role)] = "vanish"
        else:
            out[(r.width, r.role)] = ""
    for role, rs in by_role.items():
        rs = sorted(rs, key=lambda r: r.width)
        for a, b in itertools.pairwise(rs):
            doublings = math.log2(b.width / a.width)
            if (a.rms_trained > 0 and math.isfinite(b.rms_trained)
                    and b.rms_trained / a.rms_trained > WIDTH_GROWTH ** doublings
                    and not out[(b.width, role)]):
                out[(b.width, role)] = "width-growth"
    return out
