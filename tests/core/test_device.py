import pytest
import torch

from bench.core import device as dev
from bench.core.errors import BenchError


def test_resolving_a_device_flushes_denormals():
    torch.set_flush_denormal(False)
    assert not dev.denormals_flushed()
    assert dev.resolve_device("cpu") == torch.device("cpu")
    assert dev.denormals_flushed()
    tiny = torch.full((4096,), 1e-40)  # large enough to run on the intra-op worker threads too
    assert torch.count_nonzero(tiny * 1.0) == 0


def test_unknown_devices_are_refused():
    with pytest.raises(BenchError, match="unknown device"):
        dev.resolve_device("gpu0")


def test_bf16_flags_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("model name\t: x\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_tile\n")
    assert dev.cpu_bf16_flags(info) == ["avx512_bf16"]
    info.write_text("flags\t\t: fpu avx2\n")
    assert dev.cpu_bf16_flags(info) == []
    assert dev.cpu_bf16_flags(tmp_path / "missing") == []


def test_precision_auto_is_fp32_on_the_cpu():
    assert dev.resolve_precision("auto", torch.device("cpu")) == "fp32"
    assert dev.resolve_precision("fp32", torch.device("cpu")) == "fp32"


def test_cpu_bf16_needs_native_units(monkeypatch):
    monkeypatch.setattr(dev, "cpu_bf16_flags", lambda: [])
    with pytest.raises(BenchError, match="native bf16 matrix units"):
        dev.resolve_precision("bf16", torch.device("cpu"))
    monkeypatch.setattr(dev, "cpu_bf16_flags", lambda: ["amx_bf16"])
    assert dev.resolve_precision("bf16", torch.device("cpu")) == "bf16"
