import itertools
import json
import math

import pytest
import torch
from tinyconfig import tiny_config

from bench.config import OptimConfig
from bench.model.schemes import build_model
from bench.run.pipeline import execute, plan
from bench.train.callbacks.spikes import SpikeDetector
from bench.train.schedule import lr_at, make_optimizer
from bench.train.trainer import Trainer


def run(cfg, tmp_path, run_id="r", **kw):
    return execute(plan(cfg, tmp_path, run_id, kw.pop("resume", None), kw.pop("overwrite", False)),
                   progress=False, **kw)


def test_loss_falls_on_tiny_data(tmp_path):
    record = run(tiny_config(), tmp_path)
    curve = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    first = sum(c["loss"] for c in curve[:2]) / 2
    assert record["status"] == "ok" and record["train"]["steps"] == 60
    assert first > 4.0  # ≈ ln(vocab) at init
    assert record["train"]["final_loss"] < 0.6 * first
    val = record["train"]["val_curve"]
    assert [v["step"] for v in val] == [20, 40, 60]
    assert record["train"]["best_val_loss"] == min(v["loss"] for v in val)
    assert record["train"]["tokens"] == 60 * 32 * 10  # rows: 9 items + the answer
    assert record["train"]["tokens_per_s"] > 0 and 0 < record["train"]["mfu"] < 1


def test_resume_after_interruption_is_bit_identical(tmp_path):
    cfg = tiny_config()
    full = run(cfg, tmp_path / "a")
    assert run(cfg, tmp_path / "b", stop_at=30) == {}  # interrupted after the step-20 checkpoint
    assert not (tmp_path / "b" / "r" / "record.json").exists()
    resumed = run(cfg, tmp_path / "b", resume="last")
    wa = torch.load(tmp_path / "a" / "r" / "model.pt")["model"]
    wb = torch.load(tmp_path / "b" / "r" / "model.pt")["model"]
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key
    assert resumed["train"]["final_loss"] == full["train"]["final_loss"]
    assert resumed["train"]["val_curve"] == full["train"]["val_curve"]
    assert resumed["init"]["params"] == full["init"]["params"]
    lines = (tmp_path / "b" / "r" / "metrics.jsonl").read_text().splitlines()
    steps = [json.loads(line)["step"] for line in lines]
    assert steps == sorted(set(steps))  # no duplicate lines from the steps replayed after the checkpoint


def test_same_command_gives_the_same_record(tmp_path):
    a, b = run(tiny_config(), tmp_path / "a"), run(tiny_config(), tmp_path / "b")
    for volatile in ("wall_s", "tokens_per_s", "mfu", "peak_flops"):
        a["train"].pop(volatile), b["train"].pop(volatile)
    assert a == b


def test_exploding_config_is_recorded_as_diverged(tmp_path):
    cfg = tiny_config(init={"method": "normal", "sigma": 1e30}, optim={"grad_clip": 0.0})
    record = run(cfg, tmp_path)
    assert record["status"] == "diverged"
    assert record["diverged_step"] == 0
    assert json.loads((tmp_path / "r" / "record.json").read_text())["status"] == "diverged"


def test_lr_schedule_warmup_then_cosine_to_floor():
    cfg = OptimConfig(lr=1.0, warmup_steps=10, min_lr_ratio=0.1)
    assert lr_at(0, cfg, 110) == pytest.approx(0.1)
    assert lr_at(9, cfg, 110) == pytest.approx(1.0)
    assert lr_at(60, cfg, 110) == pytest.approx(0.55)
    assert lr_at(110, cfg, 110) == pytest.approx(0.1)
    lrs = [lr_at(s, cfg, 110) for s in range(10, 111)]
    assert all(a >= b for a, b in itertools.pairwise(lrs))


def test_weight_decay_groups_follow_roles():
    cfg = tiny_config()
    cfg.model.vocab_size = 64
    model, _ = build_model(cfg.model, cfg.init)
    opt = make_optimizer(model, OptimConfig(weight_decay=0.5, no_decay_roles=["norm", "embed"]))
    roles = {id(p): s.role for s, p in model.param_specs()}
    for group in opt.param_groups:
        group_roles = {roles[id(p)] for p in group["params"]}
        if group["weight_decay"] == 0.5:
            assert group_roles.isdisjoint({"norm", "embed"}) and "head" in group_roles
        else:
            assert group["weight_decay"] == 0.0 and group_roles == {"norm", "embed"}


def test_decoupled_weight_decay_shrinks_weights_without_gradient():
    # AdamW's decay is applied to the weight directly (p -= lr·λ·p), not through the gradient.
    p = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.AdamW([p], lr=0.1, weight_decay=1.0)
    p.grad = torch.zeros(3)
    opt.step()
    assert torch.allclose(p.detach(), torch.full((3,), 0.9))
    assert math.isfinite(p.sum().item())


def test_spike_detector_flags_the_two_spikes_of_a_synthetic_curve():
    # compile off: compile=auto would size the run from its data, which this trainer never reads
    cfg = tiny_config(optim={"warmup_steps": 5}, train={"spike_window": 20, "spike_factor": 1.5,
                                                        "compile": "off"}, probe={"every": 0})
    cfg.model.vocab_size = 64
    model, _ = build_model(cfg.model, cfg.init)
    trainer = Trainer(cfg, model, None, None, torch.device("cpu"))  # never reads data here
    detector = SpikeDetector()
    curve = [2.0 + 0.1 * math.sin(i) for i in range(60)]  # running median ≈ 2, spike threshold ≈ 3
    curve[2] = 9.0  # during warmup: not a spike
    curve[30], curve[45] = 3.5, 4.0  # the two spikes
    curve[50] = 2.9  # high, but under 1.5 × the median
    for step, loss in enumerate(curve):
        trainer.state.step = step + 1  # as in Trainer.run: step `step` has been counted
        detector.on_step_end(trainer, step, loss, grad_norm=1.0)
    assert trainer.state.spikes == [30, 45]
    assert len(trainer.state.recent_losses) == 20
