"""One benchmark run: config -> data -> model + init -> train -> run record.

Everything a user can get wrong is checked before the run directory is created, so a rejected command
leaves nothing behind. An interrupted run keeps its directory (checkpoint + metrics) for `--resume`.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import shutil
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from bench.config import Config, config_diff, config_from_dict
from bench.core.device import resolve_device, resolve_precision
from bench.core.errors import BenchError
from bench.core.files import write_json
from bench.core.lock import check_free, exclusive
from bench.core.paths import check_output_dir, check_run_id
from bench.data import sources
from bench.data.corpus import Corpus, load_corpus, tokenizer_kind
from bench.evaluate.catalog import check_tasks, eval_sources
from bench.evaluate.documents import merge_docs
from bench.evaluate.results import merge_scores
from bench.model import schemes as inits
from bench.model.transformer import Transformer
from bench.probes.structure import StructureProbe
from bench.probes.token_buckets import token_probe
from bench.record.env import env_info
from bench.record.schema import (
    RECORD_FILE,
    RECORD_VERSION,
    RunRecord,
    read_record,
    update_record,
    write_record,
)
from bench.run.figures import run_figures
from bench.train import distributed
from bench.train.artifacts import export_model, load_run
from bench.train.callbacks.base import Callback, TrainerView
from bench.train.callbacks.checkpointer import Checkpointer
from bench.train.callbacks.metrics import MetricsLogger
from bench.train.callbacks.spikes import SpikeDetector
from bench.train.callbacks.validation import ValidationLoss
from bench.train.checkpoint import CHECKPOINT_FILE, TrainState, load_checkpoint
from bench.train.distributed import SINGLE, Dist
from bench.train.interrupt import Interrupted
from bench.train.speed import device_peak, mfu
from bench.train.trainer import Trainer

# Keys that may differ between a checkpoint and the command that resumes it.
RESUMABLE_CHANGES = {"train.device"}
# Keys read only after training (final lm-eval scoring, token probe). They may also differ when the
# checkpoint ends a finished training: `bench sweep` trains its LR-search trials without them and completes
# the chosen one by resuming it with them (eval.enabled only without periodic scoring, which a trial of a
# config with eval.every keeps: bench/sweep/lr_search.py trial_config).
AFTER_TRAINING = ("eval.enabled", "eval.protocol", "probe.tokens")
# Marks a run directory whose training a signal stopped (removed when the run resumes).
INTERRUPTED_FILE = "interrupted.json"


def default_run_id(cfg: Config) -> str:
    """Readable and deterministic: the same command maps to the same directory."""
    i = cfg.init
    knob = {"gamma": f"-g{i.gamma:g}" if i.gamma is not None else "", "wesar": f"-{i.backbone}",
            "normal": f"-s{i.sigma:g}", "megatron": f"-s{i.sigma:g}"}.get(i.method, "")
    return f"{i.method}{knob}-{cfg.preset}-seed{i.seed}-{cfg.digest()}"


@dataclass
class RunPlan:
    """A validated run, not yet started."""

    cfg: Config
    run_dir: Path
    corpus: Corpus
    device: torch.device
    model: Transformer
    init_table: list[dict[str, Any]]
    checkpoint: dict[str, Any] | None
    dist: Dist = SINGLE  # this process's rank of a torchrun launch (bench/train/distributed.py)


def plan(cfg: Config, out: Path, run_id: str | None, resume: str | None, overwrite: bool,
         dist: Dist = SINGLE) -> RunPlan:
    """Validate everything and resolve the run directory; creates nothing on disk.

    `resume`: None (fresh run), "last" (the run directory's last checkpoint) or a checkpoint path. A
    resumed run repeats the original command: `cfg` must equal the checkpoint's config up to
    RESUMABLE_CHANGES, so a resumed run is the run it claims to continue. `dist`: launched by torchrun,
    this process's rank; a checkpoint resumes only at the world size and strategy it was written under.
    """
    # Cheap checks first: a mistake is reported before any data is fetched or tokenized.
    inits.check(cfg.init)
    device = resolve_device(cfg.train.device)
    resolve_precision(cfg.train.precision, device)  # refuses bf16 where the device has no bf16 units
    check_eval_tasks(cfg)
    distributed.check(dist, device, cfg.train.batch_size, periodic(cfg))
    device = distributed.local_device(dist, device)
    ckpt_path = Path(resume) if resume not in (None, "last") else None
    if run_id is not None:
        run_dir = out / check_run_id(run_id)
    elif ckpt_path:
        run_dir = ckpt_path.parent  # a checkpoint lives in its run directory
    else:
        run_dir = out / default_run_id(cfg)
    check_output_dir(run_dir.parent, "output directory")
    check_output_dir(run_dir, "run directory")
    check_free(lock_path(run_dir), f"run directory {run_dir}")
    tokenizer_kind(cfg.data)  # the data config's own checks, before anything is fetched
    ckpt = None
    if resume is not None:
        ckpt_path = ckpt_path or run_dir / CHECKPOINT_FILE
        ckpt = load_checkpoint(ckpt_path)
        distributed.check_resume(dist, ckpt.get("distributed"), ckpt_path)
    elif run_dir.exists() and any(run_dir.iterdir()) and not overwrite:
        what = "a finished run" if (run_dir / RECORD_FILE).exists() else "an interrupted run"
        raise BenchError(f"{run_dir} already holds {what}; pass --resume to continue it, --overwrite to "
                         "start over, or --run-id for a new directory")
    corpus = load_corpus(cfg.data)
    if cfg.eval.enabled:
        # Fetch what the evaluation sets need now, not after an hour of training.
        for source in eval_sources(cfg.eval.tasks):
            sources.fetch(source)
    cfg = copy.deepcopy(cfg)
    cfg.model.vocab_size = cfg.model.vocab_size or corpus.vocab_size
    if cfg.model.vocab_size < corpus.vocab_size:
        raise BenchError(f"model.vocab_size {cfg.model.vocab_size} is smaller than the corpus vocabulary "
                         f"({corpus.vocab_size})")
    if ckpt is not None:
        saved = config_from_dict(ckpt["config"], str(ckpt_path))
        state = ckpt["state"]
        trained = state["status"] == "ok" and state["step"] >= cfg.train.max_steps
        after = set(AFTER_TRAINING) if trained else set()
        if cfg.eval.every:
            # Periodic scores are part of training: a run trained without them cannot get them now, so
            # scoring may only be added to a finished training that already scored along the way.
            after.discard("eval.enabled")
        allowed = RESUMABLE_CHANGES | after
        changed = [k for k in config_diff(saved, cfg) if k not in allowed]
        if changed:
            raise BenchError(f"--resume {ckpt_path}: the command changes {', '.join(changed)} from the "
                             "checkpoint's config")
    model, init_table = inits.build_model(cfg.model, cfg.init)
    return RunPlan(cfg, run_dir, corpus, device, model, init_table, ckpt, dist)


def periodic(cfg: Config) -> bool:
    """Whether the run probes or scores its model during training (which FSDP2 cannot: it shards it)."""
    return bool(cfg.probe.every or (cfg.eval.enabled and cfg.eval.every))


def check_eval_tasks(cfg: Config) -> None:
    """The tasks a run will score name tasks or groups of tasks/ (config cannot check this: it may not
    import the evaluate stage)."""
    if cfg.eval.enabled:
        check_tasks(cfg.eval.tasks, "eval.tasks")
        if cfg.eval.every:
            check_tasks(cfg.eval.every_tasks, "eval.every_tasks")


def lock_path(run_dir: Path) -> Path:
    """The lock of a run directory lies beside it: `--overwrite` deletes the directory itself."""
    return run_dir.parent / f".{run_dir.name}.lock"


def execute(p: RunPlan, progress: bool = True, stop_at: int | None = None) -> RunRecord:
    """Train and write `record.json` (only once training ended; `stop_at` simulates an interruption).
    Holds the run directory's lock throughout; raises `Interrupted` after checkpointing when a SIGINT or
    SIGTERM stopped training, having marked the directory with INTERRUPTED_FILE. Distributed, rank 0 alone
    holds the lock and writes; the other ranks train, then wait at a barrier and return an empty record."""
    held = exclusive(lock_path(p.run_dir), f"run directory {p.run_dir}") if p.dist.writer \
        else contextlib.nullcontext()
    with held:
        return _execute(p, progress, stop_at)


def _execute(p: RunPlan, progress: bool, stop_at: int | None) -> RunRecord:
    cfg, init_table, writer = p.cfg, p.init_table, p.dist.writer
    if writer and p.checkpoint is None and p.run_dir.exists():
        shutil.rmtree(p.run_dir)  # --overwrite: checked in plan()
    if writer:
        p.run_dir.mkdir(parents=True, exist_ok=True)
    trainer = build_trainer(p, progress)
    init_path = p.run_dir / "init.json"
    if p.checkpoint is not None:
        trainer.restore(p.checkpoint)
        if writer:
            (p.run_dir / INTERRUPTED_FILE).unlink(missing_ok=True)
            if init_path.exists():
                init_table = json.loads(init_path.read_text())
    elif writer:
        write_json(init_path, init_table)
    state = trainer.run(stop_at=stop_at)
    if trainer.stop_signal is not None:
        if writer:
            write_json(p.run_dir / INTERRUPTED_FILE, {
                "status": "interrupted", "signal": signal.Signals(trainer.stop_signal).name,
                "step": state.step, "checkpoint": CHECKPOINT_FILE,
                "resume": "the same command plus --resume"})
        raise Interrupted(trainer.stop_signal, state.step)
    if state.step < cfg.train.max_steps and state.status == "ok":
        return {}  # interrupted on purpose (an empty record); the checkpoint carries the run on
    model = trainer.full_model()  # collective under FSDP2
    if not writer:
        distributed.barrier(p.dist)  # rank 0 exports, probes, scores and writes; then every rank ends
        return {}
    try:
        return _finish(p, trainer, model, init_table, state)
    finally:
        distributed.barrier(p.dist)


def _finish(p: RunPlan, trainer: Trainer, model: Transformer, init_table: list[dict[str, Any]],
            state: TrainState) -> RunRecord:
    """After training (rank 0 alone when distributed): export the final model, probe, score, write the
    record and draw the figures."""
    cfg = p.cfg
    plain = export_model(p.run_dir, cfg, model, p.corpus)
    dist_info = distributed.info(p.dist, p.device, trainer.init_hash) if p.dist.active else None
    record = build_record(cfg, p, model, init_table, state, trainer.compiled, trainer.precision, dist_info)
    if cfg.probe.tokens and state.status == "ok":
        # export_model's copy lives on the CPU; the probe scores on the training device.
        record["probes"]["tokens"] = token_probe(plain.to(p.device), p.corpus, cfg.probe, p.device)
    eval_error, results = None, {}
    if cfg.eval.enabled and state.status == "ok":
        amount = "powered protocol" if cfg.eval.protocol == "powered" else f"limit {cfg.eval.limit or 'none'}"
        print(f"evaluating {', '.join(cfg.eval.tasks)} ({amount})", file=sys.stderr)
        try:
            results = score(plain, p, cfg.eval.tasks, cfg.eval.protocol)
            merge_scores(record, results)
        except Exception as exc:  # lm-eval may raise anything; a signal (BaseException) propagates
            # Training is finished and paid for: keep it in the record, scoring can be repeated later.
            eval_error = one_line(exc)
            record["eval"], record["groups"] = {}, {}  # nothing half-merged
            record["evaluation"] = {"error": eval_error, "error_tasks": list(cfg.eval.tasks)}
    save_record(p.run_dir, record)
    if results and eval_error is None:
        merge_docs(p.run_dir, results["documents"])  # the per-document outputs the paired tests read
    if cfg.probe.plots:
        run_figures(p.run_dir, record)
    if eval_error is not None:
        documents = "--full" if cfg.eval.protocol == "powered" else f"--limit {cfg.eval.limit or 0}"
        raise BenchError(f"training finished and {p.run_dir / RECORD_FILE} holds its results, but scoring "
                         f"failed ({eval_error}); score it later with: python -m bench eval {p.run_dir} "
                         f"--tasks {','.join(cfg.eval.tasks)} {documents} --seed {cfg.eval.seed} "
                         "--update-record")
    return record


def one_line(exc: BaseException) -> str:
    """`Type: first line of the message`: how a record and stderr name an unexpected exception."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def save_record(run_dir: Path, record: RunRecord) -> None:
    """Write a run's record. A failed write (disk full, file size limit) leaves no record and no
    temporary file (the atomic write removes it); the final checkpoint, written at the last step, is
    intact, so `--resume` writes the record without training again. A record that a resume replaces
    (a sweep completing its chosen LR trial with evaluation) is logged in the history as an update."""
    path = run_dir / RECORD_FILE
    try:
        before = read_record(path) if path.is_file() else None
    except BenchError:  # an unreadable earlier record: the new one is a fresh creation
        before = None
    try:
        write_record(path, record, before)
    except OSError as exc:
        raise BenchError(f"could not write {run_dir / RECORD_FILE}: {exc.strerror or exc}; training is "
                         f"finished and {run_dir / CHECKPOINT_FILE} is intact: free space and run the same "
                         "command plus --resume to write the record") from None


class DownstreamEval(Callback):
    """lm-eval scores of `eval.every_tasks` every `eval.every` steps, into `state.eval_curve`. A callback
    of the run stage, so that training never imports the evaluate stage."""

    def __init__(self, p: RunPlan):
        self.run_plan = p

    def on_step_end(self, trainer: TrainerView, step: int, loss: float, grad_norm: float) -> None:
        s, e = trainer.state, self.run_plan.cfg.eval
        if s.step % e.every == 0:
            trainer.model.eval()
            scores = score(trainer.model, self.run_plan, e.every_tasks)["tasks"]
            trainer.model.train()
            s.eval_curve.append({"step": s.step, **scores})


def build_trainer(p: RunPlan, progress: bool = True) -> Trainer:
    """The shared training core with this run's callbacks: spike detection, metrics, validation loss and
    checkpoints always; the structure probe when `probe.every` > 0; lm-eval scoring when `eval.every` > 0."""
    cfg = p.cfg
    callbacks: list[Callback] = [SpikeDetector(), MetricsLogger(progress), ValidationLoss(), Checkpointer()]
    if cfg.probe.every > 0:
        batch = next(iter(p.corpus.val.values())).inputs[:cfg.probe.batch_size].to(p.device)
        callbacks.append(StructureProbe(batch, cfg.probe, last_step=cfg.train.max_steps - 1))
    if cfg.eval.enabled and cfg.eval.every:
        callbacks.append(DownstreamEval(p))
    if not p.dist.writer:
        # Rank 0 logs, validates, probes, scores and checkpoints; under FSDP2 the other ranks take part in
        # what is collective (validation forward passes, gathering the shards for a checkpoint).
        callbacks = [cb for cb in callbacks if p.dist.strategy == "fsdp2" and cb.collective]
    init_hash = (p.checkpoint or {}).get("distributed", {}).get("init_hash") if p.checkpoint else None
    return Trainer(cfg, p.model, p.corpus, p.run_dir, p.device, callbacks, p.dist, init_hash)


def reprobe(run_dir: Path, device: str, max_tokens: int | None, plots: bool) -> RunRecord:
    """Run the token probe on a finished run's final model again (e.g. after training without it, or
    with another token budget), update its record in place and redraw its figures."""

    path = run_dir / RECORD_FILE
    model, vocab, cfg = load_run(run_dir)
    read_record(path)  # a missing or broken record fails before minutes of probing
    corpus = load_corpus(cfg.data)
    if corpus.vocab.digest() != vocab.digest():
        raise BenchError(f"{run_dir}: the data cache's tokenizer differs from the run's tokenizer.json")
    if max_tokens is not None:
        cfg.probe.max_tokens = max_tokens
    dev = resolve_device(device)
    tokens = token_probe(model.to(dev), corpus, cfg.probe, dev)

    def set_tokens(record: RunRecord) -> None:  # the probe's one key; nothing else of the record changes
        record["probes"]["tokens"] = tokens

    record = update_record(path, set_tokens)
    if plots:
        run_figures(run_dir, record)
    return record



def score(model: Transformer, p: RunPlan, tasks: list[str], protocol: str = "quick") -> dict[str, Any]:
    """lm-eval scores of `model` on `tasks` (the evaluate stage; imported here so that training alone
    never pays for importing lm-eval); `protocol` "powered" after training when eval.protocol says so."""
    from bench.evaluate.adapter import BenchLM
    from bench.evaluate.suite import run_suite

    e = p.cfg.eval
    lm = BenchLM.from_model(model, p.corpus.vocab, device=str(p.device), batch_size=e.batch_size,
                            max_length=p.corpus.seq_len)
    return run_suite(lm, tasks, limit=None if protocol == "powered" else e.limit, seed=e.seed,
                     protocol=protocol)  # type: ignore[arg-type]  # a Literal of EvalConfig



def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def build_record(cfg: Config, p: RunPlan, model: torch.nn.Module, init_table: list[dict],
                 state: TrainState, compiled: bool, precision: str,
                 dist_info: dict[str, Any] | None = None) -> RunRecord:
    """The run record of a finished training; `compiled` and `precision`: what the trainer used;
    `dist_info`: the `distributed` section of a torchrun launch (absent from a single-process record)."""
    tokens_per_s = state.tokens / state.wall_s if state.wall_s > 0 else 0.0
    flops = model.flops_per_token(p.corpus.seq_len)
    peak, peak_source = device_peak(p.device)
    if peak is not None and dist_info is not None:
        peak *= dist_info["world_size"]  # every rank's device: MFU of the whole launch
    record: RunRecord = {
        "record_version": RECORD_VERSION,
        "status": state.status,
        "run_id": p.run_dir.name,
        "config": cfg.to_dict(),
        "env": env_info(p.device),
        "data": {"corpus": p.corpus.name, "vocab_size": p.corpus.vocab_size, "seq_len": p.corpus.seq_len,
                 **p.corpus.info},
        "model": {"n_params": model.n_params(non_embedding=False),
                  "n_params_non_embedding": model.n_params(non_embedding=True),
                  "flops_per_token": flops},
        "init": {"method": cfg.init.method, "seed": cfg.init.seed, "params": init_table},
        "train": {
            "steps": state.step,
            "tokens": state.tokens,
            "final_loss": _finite(state.final_loss),
            "best_val_loss": _finite(state.best_val_loss),
            "val_loss_by_source": state.val_loss_by_source,
            "val_curve": state.val_curve,
            "eval_curve": state.eval_curve,
            "wall_s": state.wall_s,
            "tokens_per_s": tokens_per_s,
            "mfu": mfu(flops, tokens_per_s, peak),
            "peak_flops": peak,
            "peak_source": peak_source,
            "spikes": len(state.spikes),
            "spike_steps": state.spikes[:100],
            "spike_rule": f"loss > {cfg.train.spike_factor} x median of the previous "
                          f"{cfg.train.spike_window} losses, after warmup",
            "compiled": compiled,
            "precision": precision,  # type: ignore[typeddict-item]  # resolve_precision's Literal
        },
        "eval": {},
        "groups": {},
        "probes": {"tokens": {}, "structure": {"every": cfg.probe.every, "series": state.structure}},
    }
    if state.status == "diverged":
        record["diverged_step"] = state.diverged_step
    if dist_info is not None:
        record["distributed"] = dist_info  # type: ignore[typeddict-item]  # distributed.info: a Distributed
    return record
