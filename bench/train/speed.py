"""Throughput accounting: model FLOPs utilization against a per-device peak (docs/training.md), and the
side-by-side measurements behind `python -m bench speed` (docs/performance.md)."""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import statistics
import time
from collections.abc import Callable

import torch

from bench.config import Config, ModelConfig
from bench.data.corpus import Corpus
from bench.model.schemes import build_model
from bench.train.interrupt import Interrupted
from bench.train.trainer import Trainer, compiled, lm_loss

# Dense (non-sparse) bf16 tensor-core peaks from the vendors' datasheets, matched on the device name.
# Order matters: more specific names first.
GPU_PEAK_BF16: list[tuple[str, float]] = [
    ("H100 PCIe", 756e12),
    ("H100 NVL", 835e12),
    ("H100", 989e12),   # SXM; 1979 is the sparsity figure
    ("H200", 989e12),
    ("GH200", 989e12),
    ("B200", 2250e12),
    ("A100", 312e12),
    ("A10G", 70e12),
    ("A10", 125e12),
    ("L40S", 362e12),
    ("L4", 121e12),
    ("RTX 4090", 165e12),
    ("RTX 3090", 71e12),
    ("V100", 125e12),  # fp16: V100 has no bf16
]


@functools.cache
def _cpu_probe(threads: int, dtype: torch.dtype = torch.float32) -> float:
    """Sustained `dtype` matmul FLOP/s on this CPU: the 'peak' a CPU run in that precision can hope to
    reach."""
    n = 1024
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    torch.mm(a, b)  # warm-up
    reps, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < 0.5:
        torch.mm(a, b)
        reps += 1
    return 2.0 * n**3 * reps / elapsed


def device_peak(device: torch.device) -> tuple[float | None, str]:
    """(peak FLOP/s, where the figure comes from); (None, reason) for a GPU not in the table."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for key, peak in GPU_PEAK_BF16:
            if key in name:
                return peak, f"table: {key} bf16 dense ({name})"
        return None, f"no peak on file for {name}"
    threads = torch.get_num_threads()
    return _cpu_probe(threads), f"measured: fp32 1024³ matmul probe, {threads} threads"


def matmul_peak(device: torch.device, precision: str) -> tuple[float | None, str]:
    """`device_peak`, with the CPU's matmul probe run in the training precision (bf16 matrix units have
    their own peak)."""
    if device.type == "cuda" or precision == "fp32":
        return device_peak(device)
    threads = torch.get_num_threads()
    return _cpu_probe(threads, torch.bfloat16), f"measured: bf16 1024³ matmul probe, {threads} threads"


def mfu(flops_per_token: float, tokens_per_s: float, peak: float | None) -> float | None:
    return None if not peak else flops_per_token * tokens_per_s / peak


# --- `python -m bench speed`: side-by-side throughput (docs/performance.md) -------------------------------

# Runs the next n training steps of one contender.
Stepper = Callable[[int], None]
# The contenders of `compare`.
STEP, LOOP, LLAMA = "initbench step", "initbench run loop", "transformers Llama step"


def interleave(steppers: dict[str, Stepper], steps: int, reps: int, warmup: int) -> dict[str, float]:
    """Median seconds per step of each stepper, timed round-robin: every repetition runs each stepper for
    `steps` steps in turn, so the load of other processes on a shared machine falls on all of them alike.
    Separate timed processes would compare the machine's load at different moments instead."""
    for run in steppers.values():
        run(warmup)  # first-call costs: allocator, lazy init, compilation
    times: dict[str, list[float]] = {name: [] for name in steppers}
    for _ in range(reps):
        for name, run in steppers.items():
            start = time.perf_counter()
            run(steps)
            times[name].append((time.perf_counter() - start) / steps)
    return {name: statistics.median(t) for name, t in times.items()}


def bare_stepper(trainer: Trainer) -> Stepper:
    """`Trainer.update` alone: batch, forward, loss, backward, clipping, AdamW, with no callbacks."""
    counter = itertools.count(trainer.state.step)

    def run(n: int) -> None:
        for _ in range(n):
            trainer.update(next(counter))
    return run


def loop_stepper(trainer: Trainer) -> Stepper:
    """`Trainer.run` with the trainer's callbacks (validation, checkpoints, metrics, probes), continuing
    where the last call stopped: what a `run` pays per step, in the window of steps it covers."""
    def run(n: int) -> None:
        trainer.run(stop_at=trainer.state.step + n)
        if trainer.stop_signal is not None:  # the loop takes SIGINT/SIGTERM as "stop after this step"
            raise Interrupted(trainer.stop_signal, trainer.state.step)
    return run


def with_denormals(stepper: Stepper, flush: bool) -> Stepper:
    """`stepper` with subnormal flushing set to `flush` while it runs (restored to flushing after), to
    show in one process what the flush buys."""
    def run(n: int) -> None:
        torch.set_flush_denormal(flush)
        try:
            stepper(n)
        finally:
            torch.set_flush_denormal(True)
    return run


def llama_mismatch(m: ModelConfig) -> str | None:
    """Why transformers' Llama cannot have the same architecture as `m`, or None when it can."""
    differs = [f"model.{k}={getattr(m, k)}" for k, llama in LLAMA_ARCH.items() if getattr(m, k) != llama]
    return f"Llama has no {', '.join(differs)}" if differs else None


# The ModelConfig values that make the decoder a Llama (other keys map to LlamaConfig fields).
LLAMA_ARCH = {"mlp": "swiglu", "norm": "rmsnorm", "norm_position": "pre", "pos_encoding": "rope",
              "gated_attention": False, "embed_scale": False, "embed_norm": False}


def hf_stepper(cfg: Config, corpus: Corpus, device: torch.device, precision: str,
               compile_it: bool) -> Stepper:
    """transformers' `LlamaForCausalLM` at `cfg`'s shapes, trained like the core trains: the same batches,
    float32 cross-entropy (`lm_loss`), AdamW with the same hyperparameters, clipping, the same host syncs
    and precision. Needs the optional extra `.[hf]`; `llama_mismatch(cfg.model)` must be None."""
    from transformers import LlamaConfig, LlamaForCausalLM

    m, o, t = cfg.model, cfg.optim, cfg.train
    hf_cfg = LlamaConfig(
        vocab_size=m.vocab_size, hidden_size=m.d_model, intermediate_size=m.d_ff,
        num_hidden_layers=m.n_layers, num_attention_heads=m.n_heads, num_key_value_heads=m.n_heads,
        max_position_embeddings=m.max_seq_len,
        rms_norm_eps=m.norm_eps, rope_parameters={"rope_type": "default", "rope_theta": m.rope_base},
        tie_word_embeddings=m.tie_embeddings, attention_bias=m.bias, mlp_bias=m.bias, use_cache=False)
    hf_cfg._attn_implementation = "sdpa"  # the core's attention is torch's fused SDPA too
    model = LlamaForCausalLM(hf_cfg).to(device).train()
    forward = compiled(model) if compile_it else model
    opt = torch.optim.AdamW(model.parameters(), lr=o.lr, betas=(o.beta1, o.beta2), eps=o.eps,
                            weight_decay=o.weight_decay)
    autocast = (torch.autocast(device.type, dtype=torch.bfloat16) if precision == "bf16"
                else contextlib.nullcontext())
    counter = itertools.count()

    def run(n: int) -> None:
        for _ in range(n):
            x, y = corpus.batch(next(counter), t.batch_size, cfg.data.seed)
            x, y = x.to(device), y.to(device)
            with autocast:
                logits = forward(input_ids=x).logits
            loss = lm_loss(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), o.grad_clip or math.inf).item()
            loss.item()
            opt.step()
    return run


def fresh_trainer(cfg: Config, corpus: Corpus, device: torch.device) -> Trainer:
    """A callback-free trainer on a freshly initialized model (the bare step)."""
    model, _ = build_model(cfg.model, cfg.init)
    return Trainer(cfg, model, corpus, None, device)


def compare(cfg: Config, corpus: Corpus, device: torch.device, loop: Trainer | None, steps: int, reps: int,
            warmup: int, hf: bool) -> dict[str, float]:
    """Tokens/s of the core's bare step, of the whole loop (`loop`: a trainer with a run's callbacks, built
    by the caller, which knows the later stages' callbacks) and of transformers' Llama (`hf`), side by
    side in this process."""
    bare = fresh_trainer(cfg, corpus, device)
    steppers = {STEP: bare_stepper(bare)}
    if loop is not None:
        steppers[LOOP] = loop_stepper(loop)
    if hf:
        steppers[LLAMA] = hf_stepper(cfg, corpus, device, bare.precision, bare.compiled)
    tokens = cfg.train.batch_size * corpus.seq_len
    return {name: tokens / s for name, s in interleave(steppers, steps, reps, warmup).items()}


def scheme_speeds(configs: dict[str, Config], corpus: Corpus, device: torch.device, steps: int, reps: int,
                  warmup: int, also_unflushed: bool) -> dict[str, float]:
    """Bare-step tokens/s per scheme config, side by side; with `also_unflushed`, each scheme also without
    flushing subnormals (`unflushed(name)`): how much of a speed column the floats decide."""
    steppers: dict[str, Stepper] = {}
    tokens: dict[str, int] = {}
    for name, cfg in configs.items():
        steppers[name] = with_denormals(bare_stepper(fresh_trainer(cfg, corpus, device)), True)
        tokens[name] = tokens[unflushed(name)] = cfg.train.batch_size * corpus.seq_len
        if also_unflushed:
            twin = fresh_trainer(cfg, corpus, device)
            steppers[unflushed(name)] = with_denormals(bare_stepper(twin), False)
    return {name: tokens[name] / s for name, s in interleave(steppers, steps, reps, warmup).items()}


def unflushed(name: str) -> str:
    """`scheme_speeds`' name of a scheme's timing without flushing subnormals."""
    return f"{name} (unflushed)"


def spread(tokens_per_s: list[float]) -> float:
    """(max − min) / min: how far the fastest of a set is ahead of the slowest."""
    return max(tokens_per_s) / min(tokens_per_s) - 1.0
