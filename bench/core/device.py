"""Device names as users give them (`--device auto|cpu|cuda|cuda:N`), resolved or refused in one line, and
the process-wide CPU float settings every computing command shares (docs/performance.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch

from bench.core.errors import BenchError

Precision = Literal["fp32", "bf16"]


def resolve_device(name: str) -> torch.device:
    """The device `name` means on this machine. Every command that computes (run, eval, probe, a sweep's
    children, the adapter) resolves its device here first, so this is also where the process starts
    flushing subnormal floats (`flush_denormals`)."""
    if name == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            device = torch.device(name)
        except RuntimeError:
            raise BenchError(f"unknown device {name!r} (use auto, cpu, cuda or cuda:N)") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise BenchError(f"device {name!r} requested but CUDA is not available on this machine")
        if device.type not in ("cpu", "cuda"):
            raise BenchError(f"unsupported device {name!r} (use auto, cpu, cuda or cuda:N)")
    flush_denormals()
    return device


def flush_denormals() -> bool:
    """Treat subnormal floats as zero in CPU arithmetic for the rest of the process; False where the CPU
    cannot. Small inits (e.g. γ = 0.1) drive values into the subnormal range, where x86 arithmetic is
    about 1.5× slower: unflushed, a scheme's tokens/s would measure underflow, not the scheme. Numbers
    below ~1.2e-38 (fp32) are already far below anything a loss or an update can resolve."""
    return torch.set_flush_denormal(True)


def denormals_flushed() -> bool:
    """Whether CPU arithmetic flushes subnormals right now: probed, so the record states what happened,
    not what was asked for."""
    tiny = torch.tensor([1e-40], dtype=torch.float32)  # subnormal in fp32
    return bool((tiny * 1.0).item() == 0.0)


# /proc/cpuinfo flags of native bf16 matrix arithmetic: AMX tiles, or AVX-512 BF16 dot products.
CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_bf16_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> list[str]:
    """Which of CPU_BF16_FLAGS this CPU reports (none where /proc/cpuinfo is unreadable: not Linux)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return []
    flags = next((ln.split(":", 1)[1].split() for ln in text.splitlines() if ln.startswith("flags")), [])
    return [f for f in CPU_BF16_FLAGS if f in flags]


def resolve_precision(name: str, device: torch.device) -> Precision:
    """What `train.precision` (auto | fp32 | bf16) means on `device`, or a one-line refusal. auto is bf16
    where it is native and pays (CUDA with bf16 support), fp32 elsewhere: on CPUs bf16 autocast pays only
    with matrix units and large enough matrices, so it must be asked for."""
    cuda_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    if name == "auto":
        return "bf16" if cuda_bf16 else "fp32"
    if name == "bf16" and device.type == "cuda" and not cuda_bf16:
        raise BenchError(f"train.precision=bf16: {torch.cuda.get_device_name(device)} has no bf16 support; "
                         "use fp32")
    if name == "bf16" and device.type == "cpu" and not cpu_bf16_flags():
        raise BenchError("train.precision=bf16 on the CPU needs native bf16 matrix units (amx_bf16 or "
                         "avx512_bf16 in /proc/cpuinfo) and this CPU has none; use fp32")
    if name not in ("fp32", "bf16"):
        raise BenchError(f"unknown precision {name!r} (use auto, fp32 or bf16)")
    return name  # type: ignore[return-value]  # narrowed by the checks above
