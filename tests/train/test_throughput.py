"""The throughput levers of the training core: subnormal flushing, precision, compilation, and the
side-by-side harness behind `python -m bench speed` (correctness only; speed lives in benchmarks)."""

import json
from types import SimpleNamespace

import pytest
import torch
from tinyconfig import tiny_config

from bench.core import device as dev
from bench.core.errors import BenchError
from bench.model.schemes import build_model
from bench.run.pipeline import execute, plan
from bench.train import speed
from bench.train.callbacks.base import Callback
from bench.train.trainer import CPU_COMPILE_MIN_FLOPS, compiled, use_compile

# Neither the token probe nor figures bear on what these tests check; they would only cost time.
QUIET = {"tokens": False, "plots": False}


def run(cfg, tmp_path):
    p = plan(cfg, tmp_path, "r", None, False)
    return execute(p, progress=False)


class FlushSeen(Callback):
    """Records, at every step, whether CPU arithmetic flushes subnormals right then."""

    def __init__(self):
        self.seen = []

    def on_step_end(self, trainer, step, loss, grad_norm):
        self.seen.append(dev.denormals_flushed())


def test_denormals_are_flushed_inside_a_run_and_recorded(tmp_path, monkeypatch):
    torch.set_flush_denormal(False)  # as a fresh process starts
    probe = FlushSeen()
    from bench.run import pipeline

    build = pipeline.build_trainer
    monkeypatch.setattr(pipeline, "build_trainer",
                        lambda p, progress=True: (t := build(p, progress), t.callbacks.append(probe))[0])
    record = run(tiny_config(train={"max_steps": 5}, probe=QUIET), tmp_path)
    assert probe.seen == [True] * 5
    assert record["env"]["flush_denormal"] is True
    assert record["train"]["compiled"] is False and record["train"]["precision"] == "fp32"


def test_bf16_autocast_trains_with_fp32_weights(tmp_path, monkeypatch):
    # Whether or not this CPU has bf16 units, the autocast path itself is what is under test.
    monkeypatch.setattr(dev, "cpu_bf16_flags", lambda: ["amx_bf16"])
    record = run(tiny_config(train={"precision": "bf16"}, probe=QUIET), tmp_path)
    assert record["train"]["precision"] == "bf16"
    lines = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert record["train"]["final_loss"] < 0.6 * lines[0]["loss"]
    weights = torch.load(tmp_path / "r" / "model.pt")["model"]
    assert all(w.dtype == torch.float32 for w in weights.values() if w.is_floating_point())


def test_bf16_without_cpu_units_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(dev, "cpu_bf16_flags", lambda: [])
    with pytest.raises(BenchError, match="native bf16"):
        plan(tiny_config(train={"precision": "bf16"}), tmp_path, "r", None, False)
    assert not (tmp_path / "r").exists()


def test_compile_auto_on_the_cpu_follows_the_budget():
    cfg = tiny_config(train={"compile": "auto"})
    cfg.model.vocab_size = 64
    model, _ = build_model(cfg.model, cfg.init)
    cpu, corpus = torch.device("cpu"), SimpleNamespace(seq_len=10)  # only its length is read
    assert not use_compile(cfg, model, corpus, cpu)
    per_step = model.flops_per_token(10) * cfg.train.batch_size * 10
    cfg.train.max_steps = int(CPU_COMPILE_MIN_FLOPS / per_step) + 1
    assert use_compile(cfg, model, corpus, cpu)
    cfg.train.compile = "off"
    assert not use_compile(cfg, model, corpus, cpu)
    cfg.train.compile, cfg.train.max_steps = "on", 1
    assert use_compile(cfg, model, corpus, cpu)


def test_compiled_forward_agrees_with_eager(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    cfg = tiny_config(model={"n_layers": 1})  # compile time grows with the graph; one block shows it
    cfg.model.vocab_size = 64
    model, _ = build_model(cfg.model, cfg.init)
    x = torch.randint(0, 64, (2, 12))
    with torch.no_grad():
        eager, fast = model(x), compiled(model)(x)
    torch.testing.assert_close(fast, eager, rtol=1e-4, atol=1e-4)


def test_interleave_times_every_stepper_for_every_repetition():
    calls = {"a": 0, "b": 0}

    def stepper(name):
        def run(n):
            calls[name] += n
        return run

    out = speed.interleave({"a": stepper("a"), "b": stepper("b")}, steps=3, reps=2, warmup=1)
    assert calls == {"a": 7, "b": 7} and set(out) == {"a", "b"} and min(out.values()) >= 0
    assert speed.spread([100.0, 105.0, 102.0]) == pytest.approx(0.05)


def test_llama_mismatch_names_what_llama_lacks():
    cfg = tiny_config()
    assert speed.llama_mismatch(cfg.model) is None
    cfg.model.mlp, cfg.model.gated_attention = "gelu", True
    assert speed.llama_mismatch(cfg.model) == "Llama has no model.mlp=gelu, model.gated_attention=True"
