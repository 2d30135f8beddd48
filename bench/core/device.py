"""Device names as users give them (`--device auto|cpu|cuda|cuda:N`), resolved or refused in one line."""

from __future__ import annotations

import torch

from bench.core.errors import BenchError


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise BenchError(f"unknown device {name!r} (use auto, cpu, cuda or cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise BenchError(f"device {name!r} requested but CUDA is not available on this machine")
    if device.type not in ("cpu", "cuda"):
        raise BenchError(f"unsupported device {name!r} (use auto, cpu, cuda or cuda:N)")
    return device
