"""Throughput accounting: model FLOPs utilization against a per-device peak (docs/training.md)."""

from __future__ import annotations

import functools
import time

import torch

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
def _cpu_probe(threads: int) -> float:
    """Sustained fp32 matmul FLOP/s on this CPU: the 'peak' an fp32 CPU run can hope to reach."""
    n = 1024
    a, b = torch.randn(n, n), torch.randn(n, n)
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


def mfu(flops_per_token: float, tokens_per_s: float, peak: float | None) -> float | None:
    return None if not peak else flops_per_token * tokens_per_s / peak
