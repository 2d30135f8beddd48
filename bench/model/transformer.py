"""A compact decoder-only transformer in which every parameter carries a role (docs/model.md).

Roles are the vocabulary that init schemes, run records and probes share: `embed`, `pos_embed`,
`attn_q`, `attn_k`, `attn_v`, `attn_out`, `attn_gate`, `mlp_in`, `mlp_out`, `head`, `norm`, `bias`,
`wesar_gate`. `param_specs()` lists them; a parameter without a role is a bug and raises.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from bench.config import ModelConfig

ROLES = (
    "embed", "pos_embed", "attn_q", "attn_k", "attn_v", "attn_qkv", "attn_out", "attn_gate",
    "mlp_in", "mlp_out", "head", "norm", "bias", "wesar_gate",
)
# Roles of the weight matrices a scheme draws (everything else is a norm gain, bias or gate).
MATRIX_ROLES = ("embed", "pos_embed", "attn_q", "attn_k", "attn_v", "attn_qkv", "attn_out", "attn_gate",
                "mlp_in", "mlp_out", "head")


@dataclass(frozen=True)
class ParamSpec:
    """What an init rule may look at: a parameter's name, role, shape and depth (None: not in a block)."""

    name: str
    role: str
    shape: tuple[int, ...]
    layer: int | None


class Linear(nn.Module):
    """y = x Wᵀ (+ b), W stored (out, in). With `gated`, the forward uses α·W for a trainable scalar α
    (WeSaR, arXiv 2410.05052); `fold_gate` exports α·W as a plain weight."""

    def __init__(self, d_in: int, d_out: int, role: str, layer: int | None, bias: bool, gated: bool):
        super().__init__()
        self.role, self.layer = role, layer
        self.weight = nn.Parameter(torch.empty(d_out, d_in))
        self.bias = nn.Parameter(torch.zeros(d_out)) if bias else None
        self.gate = nn.Parameter(torch.ones(())) if gated else None

    def effective_weight(self) -> torch.Tensor:
        return self.weight if self.gate is None else self.gate * self.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.effective_weight(), self.bias)

    @torch.no_grad()
    def fold_gate(self) -> None:
        if self.gate is not None:
            self.weight.mul_(self.gate)
            self.gate = None


class Embedding(nn.Module):
    def __init__(self, n: int, d: int, role: str):
        super().__init__()
        self.role, self.layer = role, None
        self.weight = nn.Parameter(torch.empty(n, d))

    def effective_weight(self) -> torch.Tensor:
        return self.weight  # never gated: WeSaR leaves the embedding alone

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return F.embedding(idx, self.weight)


class RMSNorm(nn.Module):
    """x / sqrt(mean(x²) + ε) · g. ε is a knob: with small init the residual stream is tiny, so 1e-5
    dominates the denominator and shrinks every normalized activation (docs/science.md)."""

    def __init__(self, d: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x32 = x.float()
        out = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return out.type_as(x) * self.weight


class LayerNorm(nn.Module):
    def __init__(self, d: int, eps: float, bias: bool = True):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, x.shape[-1:], self.weight, self.bias, self.eps)


def make_norm(cfg: ModelConfig) -> nn.Module:
    if cfg.norm == "rmsnorm":
        return RMSNorm(cfg.d_model, cfg.norm_eps)
    return LayerNorm(cfg.d_model, cfg.norm_eps, bias=True)


def rope_table(seq_len: int, head_dim: int, base: float, device: torch.device) -> torch.Tensor:
    """(cos θ, sin θ) of every (position, pair) angle: float32 (seq_len, head_dim / 2, 2), which
    `torch.view_as_complex` reads as cos θ + i·sin θ without a copy."""
    inv = 1.0 / base ** (torch.arange(0, head_dim, 2, device=device, dtype=torch.float32) / head_dim)
    angles = torch.outer(torch.arange(seq_len, device=device, dtype=torch.float32), inv)
    return torch.stack((angles.cos(), angles.sin()), dim=-1)


def apply_rope(x: torch.Tensor, rot: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (x[2i], x[2i+1]) of each head by position-dependent angles: (x1·cos − x2·sin,
    x1·sin + x2·cos). x: (B, H, T, hd); rot: (T, hd / 2, 2), the angles' (cos, sin) (rope_table).

    Eager, one complex product per pair (as Meta's Llama and torchtitan): the same products and sums as
    the real-valued form, bit-identical to it on the project's CPUs forward and backward, and 4-6× faster
    at nano shapes, since the real form's strided slices and stack are six kernels (docs/performance.md).
    Compiled, the real form: inductor fuses it into one kernel but generates no code for complex
    numbers."""
    if torch.compiler.is_compiling():
        x1, x2 = x.float()[..., 0::2], x.float()[..., 1::2]
        cos, sin = rot[..., 0], rot[..., 1]
        return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2).type_as(x)
    pairs = torch.view_as_complex(x.float().unflatten(-1, (-1, 2)))
    return torch.view_as_real(pairs * torch.view_as_complex(rot)).flatten(-2).type_as(x)


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig, layer: int, gated: bool):
        super().__init__()
        d, b = cfg.d_model, cfg.bias
        self.n_heads, self.head_dim = cfg.n_heads, cfg.d_model // cfg.n_heads
        self.q = Linear(d, d, "attn_q", layer, b, gated)
        self.k = Linear(d, d, "attn_k", layer, b, gated)
        self.v = Linear(d, d, "attn_v", layer, b, gated)
        self.out = Linear(d, d, "attn_out", layer, b, gated)
        # Gated attention (2606.17945's relaxed setting): an element-wise sigmoid gate computed from the
        # block input scales the attention output before the output projection, letting heads output
        # nothing instead of dumping attention on a sink token.
        self.gate = Linear(d, d, "attn_gate", layer, b, gated) if cfg.gated_attention else None

    def qkv(self, x: torch.Tensor, rope: torch.Tensor | None
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Queries, keys (RoPE applied) and values, each (B, H, T, hd): what the attention mixes."""
        bsz, t, _ = x.shape

        def heads(y: torch.Tensor) -> torch.Tensor:
            return y.view(bsz, t, self.n_heads, self.head_dim).transpose(1, 2)

        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        if rope is not None:
            q, k = apply_rope(q, rope[:t]), apply_rope(k, rope[:t])
        return q, k, v

    def probs(self, x: torch.Tensor, rope: torch.Tensor | None) -> torch.Tensor:
        """The causal softmax(q·kᵀ/√hd) that the forward's fused attention applies, (B, H, T, T), float32.
        The forward never materializes it; probes do."""
        q, k, _ = self.qkv(x, rope)
        scores = (q.float() @ k.float().transpose(-2, -1)) / math.sqrt(self.head_dim)
        t = scores.shape[-1]
        future = torch.ones(t, t, dtype=torch.bool, device=scores.device).triu(1)
        return scores.masked_fill(future, -math.inf).softmax(-1)

    def forward(self, x: torch.Tensor, rope: torch.Tensor | None) -> torch.Tensor:
        bsz, t, d = x.shape
        q, k, v = self.qkv(x, rope)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        y = y.transpose(1, 2).reshape(bsz, t, d)
        if self.gate is not None:
            y = y * torch.sigmoid(self.gate(x))
        return self.out(y)


class MLP(nn.Module):
    def __init__(self, cfg: ModelConfig, layer: int, gated: bool):
        super().__init__()
        d, f, b = cfg.d_model, cfg.d_ff, cfg.bias
        self.swiglu = cfg.mlp == "swiglu"
        self.up = Linear(d, f, "mlp_in", layer, b, gated)
        self.gate = Linear(d, f, "mlp_in", layer, b, gated) if self.swiglu else None
        self.down = Linear(f, d, "mlp_out", layer, b, gated)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.gate(x)) * self.up(x) if self.gate is not None else F.gelu(self.up(x))
        return self.down(h)


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig, layer: int, gated: bool):
        super().__init__()
        self.pre = cfg.norm_position == "pre"
        self.norm1, self.norm2 = make_norm(cfg), make_norm(cfg)
        self.attn = Attention(cfg, layer, gated)
        self.mlp = MLP(cfg, layer, gated)

    def forward(self, x: torch.Tensor, rope: torch.Tensor | None) -> torch.Tensor:
        if self.pre:
            x = x + self.attn(self.norm1(x), rope)
            return x + self.mlp(self.norm2(x))
        x = self.norm1(x + self.attn(x, rope))
        return self.norm2(x + self.mlp(x))


class Transformer(nn.Module):
    """Decoder-only LM. `wesar_gates` adds one scalar gate per weight matrix except the embedding."""

    def __init__(self, cfg: ModelConfig, wesar_gates: bool = False):
        super().__init__()
        if cfg.vocab_size <= 0:
            raise ValueError("ModelConfig.vocab_size must be set (from the data) before building")
        self.cfg = cfg
        d = cfg.d_model
        self.embed = Embedding(cfg.vocab_size, d, "embed")
        self.pos_embed = Embedding(cfg.max_seq_len, d, "pos_embed") if cfg.pos_encoding == "learned" else None
        self.embed_norm = make_norm(cfg) if cfg.embed_norm else None
        self.blocks = nn.ModuleList(Block(cfg, i, wesar_gates) for i in range(cfg.n_layers))
        # Post-norm blocks already end in a norm; a final norm only belongs to pre-norm stacks.
        self.final_norm = make_norm(cfg) if cfg.norm_position == "pre" else None
        self.head = (None if cfg.tie_embeddings
                     else Linear(d, cfg.vocab_size, "head", None, False, wesar_gates))
        self._rope_cache: torch.Tensor | None = None

    def _rope(self, t: int, device: torch.device) -> torch.Tensor | None:
        if self.cfg.pos_encoding != "rope":
            return None
        cache = self._rope_cache
        if cache is None or cache.shape[0] < t or cache.device != device:
            hd = self.cfg.d_model // self.cfg.n_heads
            cache = rope_table(max(t, self.cfg.max_seq_len), hd, self.cfg.rope_base, device)
            self._rope_cache = cache
        return cache

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """idx (B, T) token ids -> logits (B, T, V)."""
        return self.logits(self.hidden(idx))

    def hidden(self, idx: torch.Tensor) -> torch.Tensor:
        """idx (B, T) token ids -> the final hidden states (B, T, d), after the final norm. Scoring reads
        only a few positions per row, and `logits` of just those skips most of the output layer."""
        t = idx.shape[1]
        x = self.embed(idx)
        if self.cfg.embed_scale:
            x = x * math.sqrt(self.cfg.d_model)  # "Spike No More": keeps embedding scale near 1
        if self.pos_embed is not None:
            if t > self.cfg.max_seq_len:
                raise ValueError(f"sequence length {t} exceeds model.max_seq_len {self.cfg.max_seq_len}")
            x = x + self.pos_embed.weight[:t]
        if self.embed_norm is not None:
            x = self.embed_norm(x)
        rope = self._rope(t, idx.device)
        for block in self.blocks:
            x = block(x, rope)
        if self.final_norm is not None:
            x = self.final_norm(x)
        return x

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """Hidden states (..., d) -> logits (..., V): the output layer (the embedding when tied)."""
        if self.head is None:
            return F.linear(h, self.embed.weight)
        return self.head(h)

    def param_specs(self) -> list[tuple[ParamSpec, nn.Parameter]]:
        """Every parameter with its role; raises if any parameter was left without one."""
        out: list[tuple[ParamSpec, nn.Parameter]] = []
        claimed: set[int] = set()
        for mod_name, module in self.named_modules():
            for pname, param in module.named_parameters(recurse=False):
                if pname == "weight" and isinstance(module, (Linear, Embedding)):
                    role = module.role
                elif pname == "weight" and isinstance(module, (RMSNorm, LayerNorm)):
                    role = "norm"
                elif pname == "bias":
                    role = "bias"
                elif pname == "gate" and isinstance(module, Linear):
                    role = "wesar_gate"
                else:
                    continue
                layer = getattr(module, "layer", None)
                if layer is None and mod_name.startswith("blocks."):
                    layer = int(mod_name.split(".")[1])
                full = f"{mod_name}.{pname}" if mod_name else pname
                out.append((ParamSpec(full, role, tuple(param.shape), layer), param))
                claimed.add(id(param))
        missing = [n for n, p in self.named_parameters() if id(p) not in claimed]
        if missing:
            raise RuntimeError(f"parameters without a role: {', '.join(missing)}")
        return out

    def matrices(self) -> list[tuple[ParamSpec, torch.Tensor]]:
        """Every weight matrix with its spec, as the forward uses it (α·W under WeSaR gates)."""
        owners = {id(m.weight): m for m in self.modules() if isinstance(m, (Linear, Embedding))}
        return [(spec, owners[id(p)].effective_weight()) for spec, p in self.param_specs() if id(p) in owners]

    @torch.no_grad()
    def attention_probs(self, idx: torch.Tensor,
                        reduce: Callable[[torch.Tensor], Any] | None = None) -> list[Any]:
        """Per layer, the attention probabilities (B, H, T, T) of a forward pass on idx (B, T), or
        `reduce` of them (keeps one layer's T×T maps in memory at a time). Hooks capture each
        attention's input, so the blocks' own code path decides what the attention sees."""
        out: list[Any] = []

        def capture(attn: Attention, args: tuple[Any, ...]) -> None:
            probs = attn.probs(*args)
            out.append(probs if reduce is None else reduce(probs))

        hooks = [block.attn.register_forward_pre_hook(capture) for block in self.blocks]
        try:
            self(idx)
        finally:
            for hook in hooks:
                hook.remove()
        return out

    def linears(self) -> list[Linear]:
        return [m for m in self.modules() if isinstance(m, Linear)]

    def fold_gates(self) -> None:
        """Fold WeSaR gates into weights so the exported model is a plain transformer."""
        for lin in self.linears():
            lin.fold_gate()

    def n_params(self, non_embedding: bool = True) -> int:
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.embed.weight.numel()
            if self.pos_embed is not None:
                n -= self.pos_embed.weight.numel()
        return n

    def flops_per_token(self, seq_len: int) -> float:
        """Training FLOPs per token: 6·N (non-embedding matmuls, forward+backward) + attention scores
        12·L·T·d (PaLM appendix B / nanoGPT's estimate_mfu)."""
        c = self.cfg
        n = self.n_params(non_embedding=True)
        if self.head is None:
            n += self.embed.weight.numel()  # the tied head is still a matmul
        return 6.0 * n + 12.0 * c.n_layers * seq_len * c.d_model
