"""How an initbench decoder maps onto a stock transformers class, exactly or not at all (docs/export.md).

Two families map: pre-norm RMSNorm + SwiGLU + RoPE is `LlamaForCausalLM`, pre-norm LayerNorm + GELU +
learned positions is `GPT2LMHeadModel`. Everything else names the knob that has no stock equivalent.
This module is pure (config and tensors in, config dict and tensors out); `bench.export.writer` builds
and saves the transformers model.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bench.config import ModelConfig
from bench.core.errors import BenchError


@dataclass(frozen=True)
class Target:
    """The stock class a run maps onto: its name, its transformers config class and keyword arguments."""

    architecture: str  # "LlamaForCausalLM" | "GPT2LMHeadModel"
    config_class: str  # "LlamaConfig" | "GPT2Config"
    config: dict[str, object]


# Knobs that no stock decoder has, with the value that means "off".
_NO_STOCK = (("norm_position", "pre"), ("gated_attention", False), ("embed_scale", False),
             ("embed_norm", False))
# What each family needs of the knobs that choose between families.
_FAMILY = {"rope": ("LlamaForCausalLM", {"norm": "rmsnorm", "mlp": "swiglu"}),
           "learned": ("GPT2LMHeadModel", {"norm": "layernorm", "mlp": "gelu"})}


def check_exportable(cfg: ModelConfig) -> str:
    """The stock architecture `cfg` maps onto exactly; a one-line BenchError naming the first knob that
    has no equivalent otherwise."""
    for knob, off in _NO_STOCK:
        value = getattr(cfg, knob)
        if value != off:
            raise BenchError(f"model.{knob}={_show(value)} has no equivalent in a stock transformers class; "
                             "only runs with its default can be exported")
    architecture, needs = _FAMILY[cfg.pos_encoding]
    for knob, want in needs.items():
        value = getattr(cfg, knob)
        if value != want:
            raise BenchError(f"model.{knob}={value} has no equivalent in {architecture} (the stock class for "
                             f"model.pos_encoding={cfg.pos_encoding}, which needs model.{knob}={want})")
    return architecture


def _show(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def target(cfg: ModelConfig, context: int, eos_id: int) -> Target:
    """The transformers config of `cfg`. `context` is the window the run was trained on (data.seq_len):
    it is what lm-eval's HF backend reads as the model's maximum length, as the bench model does."""
    architecture = check_exportable(cfg)
    common = {"vocab_size": cfg.vocab_size, "tie_word_embeddings": cfg.tie_embeddings,
              "eos_token_id": eos_id, "pad_token_id": eos_id, "bos_token_id": None, "dtype": "float32"}
    if architecture == "LlamaForCausalLM":
        return Target(architecture, "LlamaConfig", {
            **common, "hidden_size": cfg.d_model, "intermediate_size": cfg.d_ff,
            "num_hidden_layers": cfg.n_layers, "num_attention_heads": cfg.n_heads,
            "num_key_value_heads": cfg.n_heads, "head_dim": cfg.d_model // cfg.n_heads, "hidden_act": "silu",
            # RoPE has no table to outgrow; the trained window is the honest maximum.
            "max_position_embeddings": context, "rms_norm_eps": cfg.norm_eps,
            "rope_parameters": {"rope_type": "default", "rope_theta": cfg.rope_base},
            "attention_bias": cfg.bias, "mlp_bias": cfg.bias})
    # GPT-2's n_positions is both its position table and what lm-eval reads as the window: the table is
    # cut to the trained window (convert_state), whose rows are the only ones training updated.
    return Target(architecture, "GPT2Config", {
        **common, "n_embd": cfg.d_model, "n_layer": cfg.n_layers, "n_head": cfg.n_heads, "n_inner": cfg.d_ff,
        "n_positions": positions(cfg, context), "activation_function": "gelu",  # exact erf GELU, as F.gelu
        "layer_norm_epsilon": cfg.norm_eps, "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0})


def positions(cfg: ModelConfig, context: int) -> int:
    """Rows of the exported learned-position table: the trained window, at most the table we have."""
    return min(context, cfg.max_seq_len)


def half_rotation_order(n_heads: int, head_dim: int) -> torch.Tensor:
    """Row order that turns our interleaved RoPE (pairs x[2i], x[2i+1]) into transformers' half rotation
    (pairs x[i], x[i + hd/2]): per head, the even rows then the odd rows. Applied to the rows of W_q and
    W_k alike, it permutes q and k the same way, so every q·k (hence the attention) is unchanged."""
    within = torch.cat((torch.arange(0, head_dim, 2), torch.arange(1, head_dim, 2)))
    return torch.cat([h * head_dim + within for h in range(n_heads)])


def convert_state(cfg: ModelConfig, state: dict[str, torch.Tensor], context: int) -> dict[str, torch.Tensor]:
    """Our state dict (WeSaR gates already folded, as `load_run` guarantees) as the stock class's state
    dict. Missing biases (model.bias=false) become zeros where the stock class always has them (GPT-2),
    and GPT-2's position table keeps its first `context` rows (see `target`)."""
    architecture = check_exportable(cfg)
    return _llama(cfg, state) if architecture == "LlamaForCausalLM" else _gpt2(cfg, state, context)


def _llama(cfg: ModelConfig, s: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    order = half_rotation_order(cfg.n_heads, cfg.d_model // cfg.n_heads)
    out = {"model.embed_tokens.weight": s["embed.weight"], "model.norm.weight": s["final_norm.weight"]}
    if not cfg.tie_embeddings:
        out["lm_head.weight"] = s["head.weight"]
    names = {"attn.q": ("self_attn.q_proj", True), "attn.k": ("self_attn.k_proj", True),
             "attn.v": ("self_attn.v_proj", False), "attn.out": ("self_attn.o_proj", False),
             "mlp.gate": ("mlp.gate_proj", False), "mlp.up": ("mlp.up_proj", False),
             "mlp.down": ("mlp.down_proj", False)}
    for i in range(cfg.n_layers):
        ours, theirs = f"blocks.{i}.", f"model.layers.{i}."
        out[theirs + "input_layernorm.weight"] = s[ours + "norm1.weight"]
        out[theirs + "post_attention_layernorm.weight"] = s[ours + "norm2.weight"]
        for src, (dst, rotated) in names.items():
            for part in ("weight", "bias") if cfg.bias else ("weight",):
                tensor = s[f"{ours}{src}.{part}"]
                out[f"{theirs}{dst}.{part}"] = tensor[order] if rotated else tensor
    return out


def _gpt2(cfg: ModelConfig, s: dict[str, torch.Tensor], context: int) -> dict[str, torch.Tensor]:
    d = cfg.d_model

    def bias(key: str, n: int) -> torch.Tensor:
        return s[key] if cfg.bias else torch.zeros(n)

    out = {"transformer.wte.weight": s["embed.weight"],
           "transformer.wpe.weight": s["pos_embed.weight"][:positions(cfg, context)].contiguous(),
           "transformer.ln_f.weight": s["final_norm.weight"], "transformer.ln_f.bias": s["final_norm.bias"]}
    out["lm_head.weight"] = s["embed.weight"] if cfg.tie_embeddings else s["head.weight"]
    for i in range(cfg.n_layers):
        ours, theirs = f"blocks.{i}.", f"transformer.h.{i}."
        for n, ln in ((1, "ln_1"), (2, "ln_2")):
            out[f"{theirs}{ln}.weight"] = s[f"{ours}norm{n}.weight"]
            out[f"{theirs}{ln}.bias"] = s[f"{ours}norm{n}.bias"]
        # GPT-2's Conv1D stores (in, out): our (out, in) Linear weights transposed; q, k, v fused.
        qkv = [f"{ours}attn.{p}" for p in ("q", "k", "v")]
        out[theirs + "attn.c_attn.weight"] = torch.cat([s[k + ".weight"] for k in qkv]).t().contiguous()
        out[theirs + "attn.c_attn.bias"] = torch.cat([bias(k + ".bias", d) for k in qkv])
        for src, dst, n_out in (("attn.out", "attn.c_proj", d), ("mlp.up", "mlp.c_fc", cfg.d_ff),
                                ("mlp.down", "mlp.c_proj", d)):
            out[f"{theirs}{dst}.weight"] = s[f"{ours}{src}.weight"].t().contiguous()
            out[f"{theirs}{dst}.bias"] = bias(f"{ours}{src}.bias", n_out)
    return out
