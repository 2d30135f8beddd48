"""The trainer's callback mechanism: what hooks run when, in which order, and that training does not
depend on them."""

import json
import subprocess
import sys

import pytest
import torch
from tinyconfig import tiny_config

from bench.data.corpus import load_corpus
from bench.model.schemes import build_model
from bench.run.pipeline import execute, plan
from bench.train.callbacks.base import Callback
from bench.train.callbacks.checkpointer import Checkpointer
from bench.train.callbacks.metrics import MetricsLogger
from bench.train.trainer import Trainer


class Recorder(Callback):
    """Logs every hook call as a tuple, with the trainer's step counter where it matters."""

    def __init__(self):
        self.calls = []

    def on_train_start(self, trainer):
        self.calls.append(("start", trainer.state.step))

    def before_update(self, trainer, step, loss, grad_norm):
        self.calls.append(("before", step, loss, grad_norm))

    def after_update(self, trainer, step):
        self.calls.append(("after", step))

    def on_step_end(self, trainer, step, loss, grad_norm):
        self.calls.append(("end", step, loss, grad_norm, trainer.state.step))

    def on_diverge(self, trainer, step, loss, grad_norm):
        self.calls.append(("diverge", step, trainer.state.step))

    def on_train_end(self, trainer):
        self.calls.append(("stop", trainer.state.step))


class EarlyRecorder(Recorder):
    priority = 5


def bare_trainer(cfg, callbacks=(), run_dir=None):
    """A Trainer given only `callbacks`, none of the run stage's."""
    corpus = load_corpus(cfg.data)
    cfg.model.vocab_size = corpus.vocab_size
    model, _ = build_model(cfg.model, cfg.init)
    return Trainer(cfg, model, corpus, run_dir, torch.device("cpu"), callbacks)


def test_trainer_without_callbacks_trains_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    trainer = bare_trainer(tiny_config())
    first, _ = trainer.update(0)  # the caller counts: update leaves state.step alone
    assert trainer.state.step == 0
    state = trainer.run()
    assert state.step == 60 and state.status == "ok" and state.tokens == 60 * 32 * 10
    assert state.final_loss < 0.6 * first
    assert state.val_curve == [] and state.spikes == [] and state.structure == []
    assert list(tmp_path.iterdir()) == []


def test_callback_sees_every_step_in_order_and_training_ignores_it(tmp_path):
    cfg = tiny_config(train={"log_interval": 1})
    recorder = Recorder()
    watched = bare_trainer(cfg, [recorder])
    watched.run()
    plain = bare_trainer(tiny_config(train={"log_interval": 1}))
    plain.run()
    for (name, wa), wb in zip(watched.model.state_dict().items(), plain.model.state_dict().values(),
                              strict=True):
        assert torch.equal(wa, wb), name

    calls = recorder.calls
    assert calls[0] == ("start", 0) and calls[-1] == ("stop", 60)
    steps = [calls[1 + 3 * i: 4 + 3 * i] for i in range(60)]
    assert len(calls) == 2 + 3 * 60
    for i, (before, after, end) in enumerate(steps):
        assert before[:2] == ("before", i) and after == ("after", i)
        assert end[:2] == ("end", i) and end[2:4] == before[2:4] and end[4] == i + 1
    losses = [end[2] for _, _, end in steps]
    assert losses[-1] == watched.state.final_loss

    # The same losses, in the same order, as the run stage logs to metrics.jsonl.
    execute(plan(tiny_config(train={"log_interval": 1}), tmp_path, "r", None, False), progress=False)
    logged = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in logged] == list(range(60))
    assert [m["loss"] for m in logged] == losses


def test_diverging_step_calls_on_diverge_and_no_update_hooks():
    recorder = Recorder()
    trainer = bare_trainer(tiny_config(init={"method": "normal", "sigma": 1e30}, optim={"grad_clip": 0.0}),
                           [recorder])
    state = trainer.run()
    assert state.status == "diverged" and state.diverged_step == 0
    assert recorder.calls == [("start", 0), ("diverge", 0, 0), ("stop", 0)]


def test_callbacks_run_by_priority_with_the_checkpointer_last():
    early, late = EarlyRecorder(), Recorder()
    logger, checkpointer = MetricsLogger(progress=False), Checkpointer()
    cfg = tiny_config(train={"compile": "off"})  # auto would size the run from its data, never read here
    cfg.model.vocab_size = 64
    model, _ = build_model(cfg.model, cfg.init)
    trainer = Trainer(cfg, model, None, None, torch.device("cpu"), [checkpointer, logger, late, early])
    assert trainer.callbacks == [early, logger, late, checkpointer]


def test_checkpoint_holds_what_later_listed_callbacks_recorded(tmp_path):
    class Marker(Callback):
        def on_step_end(self, trainer, step, loss, grad_norm):
            trainer.state.eval_curve.append({"step": trainer.state.step})

    trainer = bare_trainer(tiny_config(), [Checkpointer(), Marker()], tmp_path)
    trainer.run(stop_at=20)
    saved = torch.load(tmp_path / "last.pt")["state"]
    assert saved["step"] == 20 and saved["eval_curve"][-1] == {"step": 20}


def test_train_end_runs_when_a_step_raises(tmp_path):
    class Boom(Callback):
        def on_step_end(self, trainer, step, loss, grad_norm):
            if step == 3:
                raise RuntimeError("boom")

    recorder, logger = Recorder(), MetricsLogger(progress=False)
    trainer = bare_trainer(tiny_config(train={"log_interval": 1}), [Boom(), logger, recorder], tmp_path)
    with pytest.raises(RuntimeError, match="boom"):
        trainer.run()
    assert recorder.calls[-1] == ("stop", 4)  # on_train_end ran although step 3's hooks raised
    steps = [json.loads(line)["step"] for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert steps == [0, 1, 2]  # Boom, listed first, raised before the logger saw step 3


def test_training_imports_no_later_stage():
    """bench.train runs without the probes, evaluate or run stages loaded: they plug in as callbacks."""
    code = ("import importlib, json, pkgutil, sys, bench.train\n"
            "for m in pkgutil.walk_packages(bench.train.__path__, 'bench.train.'):\n"
            "    importlib.import_module(m.name)\n"
            "print(json.dumps(sorted({n.split('.')[1] for n in sys.modules if n.startswith('bench.')})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(json.loads(out))
    assert loaded <= {"core", "config", "record", "data", "model", "train"}, loaded
    assert "train" in loaded
