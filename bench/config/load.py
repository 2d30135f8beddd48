"""Typed run configuration: dataclasses, presets, TOML loading and dotted overrides.

Precedence, lowest first: dataclass defaults < preset < TOML file < CLI flags. The effective config is
stored whole in every run record, so a record alone says how to rerun it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from bench.core.compat import tomllib
from bench.core.errors import BenchError


@dataclass
class ModelConfig:
    """The decoder of DESIGN §4. `vocab_size` 0 means "take it from the data"."""

    vocab_size: int = 0
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    d_ff: int = 352
    max_seq_len: int = 256
    mlp: Literal["swiglu", "gelu"] = "swiglu"
    norm: Literal["rmsnorm", "layernorm"] = "rmsnorm"
    norm_eps: float = 1e-5
    norm_position: Literal["pre", "post"] = "pre"
    pos_encoding: Literal["rope", "learned"] = "rope"
    rope_base: float = 10000.0
    bias: bool = False
    tie_embeddings: bool = False
    gated_attention: bool = False
    embed_scale: bool = False
    embed_norm: bool = False


@dataclass
class InitConfig:
    """Which scheme initializes the model, and the scheme's knobs (unused knobs are ignored)."""

    method: str = "normal"
    seed: int = 0
    gamma: float | None = None
    sigma: float = 0.02
    sigma2: float = 4e-5
    backbone: str = "he"
    embed_fan_in: Literal["d_model", "vocab"] = "d_model"
    distribution: Literal["normal", "uniform"] = "normal"
    depth_scaling: bool = True
    truncate: float | None = None
    overrides: list[str] = field(default_factory=list)


@dataclass
class OptimConfig:
    """AdamW with decoupled weight decay, linear warmup then cosine decay to `min_lr_ratio * lr`."""

    lr: float = 3e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 100
    weight_decay: float = 0.1
    no_decay_roles: list[str] = field(default_factory=lambda: ["norm", "bias", "wesar_gate"])
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-8
    grad_clip: float = 1.0


@dataclass
class DataConfig:
    """Training corpus (bench/data.py): `mixture` of `sources`, or one source by name or path."""

    corpus: str = "mixture"
    sources: list[str] = field(default_factory=lambda: [
        "wiki:0.35", "shakespeare:0.15", "deduction:0.25", "anchor:0.25"])
    tokenizer: Literal["auto", "word", "bpe"] = "auto"
    vocab_size: int = 4096
    seq_len: int = 128
    loss_on: Literal["auto", "all", "answers"] = "auto"
    seed: int = 0
    n_train: int = 100_000
    n_val: int = 2_000
    val_fraction: float = 0.02


@dataclass
class TrainConfig:
    """Budget and mechanics of the shared training core."""

    max_steps: int = 1500
    batch_size: int = 64
    eval_interval: int = 250
    eval_batches: int = 8
    checkpoint_interval: int = 500
    log_interval: int = 1
    device: str = "auto"
    compile: Literal["auto", "on", "off"] = "auto"
    spike_factor: float = 1.5
    spike_window: int = 100


@dataclass
class EvalConfig:
    """lm-eval scoring after training (tasks/ YAML tasks and groups); `every` > 0 also scores the
    `every_tasks` subset every that many steps, with `limit` documents per task."""

    enabled: bool = True
    tasks: list[str] = field(default_factory=lambda: ["initbench_default"])
    limit: int | None = 200
    batch_size: int = 64
    seed: int = 1234
    every: int = 0
    every_tasks: list[str] = field(default_factory=lambda: ["initbench_synthetic"])


@dataclass
class ProbeConfig:
    """Probes (DESIGN §7): structural snapshots every `every` steps (0 = off) and at the end, on a fixed
    batch of `batch_size` validation sequences; after training, the token-level probe on up to
    `max_tokens` validation tokens per source, bucketed by `ngram_max`-gram statistics of the training
    tokens; `plots` writes PNG and SVG figures into the run directory."""

    every: int = 50
    batch_size: int = 8
    condensation_threshold: float = 0.7
    tokens: bool = True
    max_tokens: int = 65536
    ngram_max: int = 4
    plots: bool = True


@dataclass
class Config:
    preset: str = "nano"
    model: ModelConfig = field(default_factory=ModelConfig)
    init: InitConfig = field(default_factory=InitConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    probe: ProbeConfig = field(default_factory=ProbeConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def digest(self) -> str:
        """Short content hash of the effective config (used in default run ids)."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:8]


# Presets set model size and the training budget; the data issue's corpora pick the vocabulary.
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    # 2405.05409's toy: one head, two layers, FFN = 3 d (the paper used d=400 on GPU; this is CPU-sized).
    "anchor": {
        "model": {"d_model": 128, "n_layers": 2, "n_heads": 1, "d_ff": 384, "mlp": "gelu"},
        "data": {"corpus": "anchor", "n_train": 200_000},
        "optim": {"lr": 1e-3, "warmup_steps": 100, "weight_decay": 0.01},
        "train": {"max_steps": 2000, "batch_size": 128},
    },
    # nano: sized so the default command (data preparation once, then 1.6M tokens) fits in minutes on
    # 2 CPU cores.
    "nano": {
        "model": {"d_model": 128, "n_layers": 4, "n_heads": 4, "d_ff": 352},
        "data": {"vocab_size": 2048, "seq_len": 128},
        "optim": {"lr": 3e-3, "warmup_steps": 50},
        "train": {"max_steps": 800, "batch_size": 16, "eval_interval": 200, "checkpoint_interval": 200},
    },
    "micro": {
        "model": {"d_model": 256, "n_layers": 6, "n_heads": 4, "d_ff": 704},
        "data": {"vocab_size": 4096, "seq_len": 256},
        "optim": {"lr": 2e-3, "warmup_steps": 200},
        "train": {"max_steps": 5000, "batch_size": 32},
        # Structural snapshots cost ~20 training steps at d=512 on an H100 (the matrices' spectra):
        # larger presets space them out to keep the probes near 1% of training.
        "probe": {"every": 250},
    },
    "small": {
        "model": {"d_model": 512, "n_layers": 8, "n_heads": 8, "d_ff": 1376, "max_seq_len": 512},
        "data": {"vocab_size": 8192, "seq_len": 512},
        "optim": {"lr": 1e-3, "warmup_steps": 500},
        "train": {"max_steps": 10000, "batch_size": 32},
        "probe": {"every": 500},
    },
    "base": {
        "model": {"d_model": 768, "n_layers": 12, "n_heads": 12, "d_ff": 2048, "max_seq_len": 1024},
        "data": {"vocab_size": 16384, "seq_len": 1024},
        "optim": {"lr": 6e-4, "warmup_steps": 1000},
        "train": {"max_steps": 20000, "batch_size": 32},
        "probe": {"every": 1000},
    },
}

SECTIONS = ("model", "init", "optim", "data", "train", "eval", "probe")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check `value` against annotation `tp`; allow int -> float. Raise BenchError naming `where`."""
    origin = get_origin(tp)
    if origin is Literal:
        if value not in get_args(tp):
            choices = ", ".join(repr(c) for c in get_args(tp))
            raise BenchError(f"{where}: {value!r} is not one of {choices}")
        return value
    if origin in (typing.Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except BenchError as exc:
                errors.append(str(exc))
        raise BenchError(errors[0] if errors else f"{where}: {value!r} is not allowed")
    if origin is list:
        if not isinstance(value, list):
            raise BenchError(f"{where}: expected a list, got {type(value).__name__}")
        (item_tp,) = get_args(tp)
        return [_coerce(v, item_tp, f"{where}[{i}]") for i, v in enumerate(value)]
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BenchError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise BenchError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp in (bool, str):
        if not isinstance(value, tp):
            raise BenchError(f"{where}: expected {_type_name(tp)}, got {value!r}")
        return value
    raise TypeError(f"unsupported config annotation {tp!r} at {where}")  # a bug, not a user error


def _section_types(section: str) -> dict[str, Any]:
    cls = type(getattr(Config(), section))
    return typing.get_type_hints(cls)


def apply_mapping(cfg: Config, mapping: dict[str, Any], origin: str) -> None:
    """Apply a nested mapping ({"preset": ..., "model": {...}, ...}) onto cfg with strict checking."""
    for key, value in mapping.items():
        if key == "preset":
            continue  # resolved before the mapping is applied
        if key not in SECTIONS:
            raise BenchError(f"{origin}: unknown key {key!r} (sections: {', '.join(SECTIONS)}, preset)")
        if not isinstance(value, dict):
            raise BenchError(f"{origin}: [{key}] must be a table")
        hints = _section_types(key)
        target = getattr(cfg, key)
        for name, item in value.items():
            if name not in hints:
                raise BenchError(f"{origin}: unknown key {key}.{name}")
            setattr(target, name, _coerce(item, hints[name], f"{origin}: {key}.{name}"))


def parse_value(text: str) -> Any:
    """Parse a CLI override value with TOML's grammar, falling back to a bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def dotted(assignments: list[str]) -> dict[str, Any]:
    """Turn ["model.d_model=64", ...] into a nested mapping."""
    out: dict[str, Any] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not dot or not name:
            raise BenchError(f"--set {item!r}: expected SECTION.KEY=VALUE, e.g. model.d_model=64")
        out.setdefault(section, {})[name] = parse_value(value.strip())
    return out


def load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise BenchError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise BenchError(f"config file {path} is a directory") from None
    except tomllib.TOMLDecodeError as exc:
        raise BenchError(f"config file {path} is not valid TOML: {exc}") from None


def build_config(
    preset: str | None = None,
    toml_path: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> Config:
    """defaults < preset < TOML < overrides. `preset` (CLI) wins over the TOML's `preset` key."""
    file_map = load_toml(toml_path) if toml_path else {}
    name = preset or file_map.get("preset") or "nano"
    if not isinstance(name, str) or name not in PRESETS:
        raise BenchError(f"unknown preset {name!r} (choose from {', '.join(PRESETS)})")
    cfg = Config(preset=name)
    apply_mapping(cfg, PRESETS[name], f"preset {name}")
    if toml_path:
        apply_mapping(cfg, file_map, str(toml_path))
    if overrides:
        apply_mapping(cfg, overrides, "command line")
    validate(cfg)
    return cfg


def config_from_dict(data: dict[str, Any], origin: str) -> Config:
    """Rebuild a Config from a record or checkpoint (`to_dict` output)."""
    preset = data.get("preset", "nano")
    if preset not in PRESETS:
        raise BenchError(f"{origin}: unknown preset {preset!r}")
    cfg = Config(preset=preset)
    apply_mapping(cfg, data, origin)
    validate(cfg)
    return cfg


def _positive(value: float, what: str) -> None:
    if not (math.isfinite(value) and value > 0):
        raise BenchError(f"{what} must be a finite positive number, got {value!r}")


def validate(cfg: Config) -> None:
    """Cross-field checks that types alone cannot express. Scheme-specific checks live in inits."""
    m, o, t = cfg.model, cfg.optim, cfg.train
    for what, value in [("model.d_model", m.d_model), ("model.n_layers", m.n_layers),
                        ("model.n_heads", m.n_heads), ("model.d_ff", m.d_ff),
                        ("train.max_steps", t.max_steps), ("train.batch_size", t.batch_size),
                        ("train.eval_interval", t.eval_interval),
                        ("train.checkpoint_interval", t.checkpoint_interval),
                        ("train.log_interval", t.log_interval), ("data.n_train", cfg.data.n_train),
                        ("data.n_val", cfg.data.n_val), ("data.seq_len", cfg.data.seq_len),
                        ("data.vocab_size", cfg.data.vocab_size)]:
        if value <= 0:
            raise BenchError(f"{what} must be positive, got {value}")
    if m.d_model % m.n_heads:
        raise BenchError(f"model.d_model ({m.d_model}) must be divisible by model.n_heads ({m.n_heads})")
    if m.pos_encoding == "rope" and (m.d_model // m.n_heads) % 2:
        raise BenchError("RoPE needs an even head dimension (model.d_model / model.n_heads)")
    _positive(m.norm_eps, "model.norm_eps")
    _positive(o.lr, "optim.lr")
    if o.weight_decay < 0 or not math.isfinite(o.weight_decay):
        raise BenchError(f"optim.weight_decay must be >= 0, got {o.weight_decay}")
    if not 0 <= o.min_lr_ratio <= 1:
        raise BenchError(f"optim.min_lr_ratio must be in [0, 1], got {o.min_lr_ratio}")
    if o.warmup_steps < 0:
        raise BenchError(f"optim.warmup_steps must be >= 0, got {o.warmup_steps}")
    if not 0 < cfg.data.val_fraction < 1:
        raise BenchError(f"data.val_fraction must be in (0, 1), got {cfg.data.val_fraction}")
    if cfg.data.seq_len > m.max_seq_len and m.pos_encoding == "learned":
        raise BenchError(f"data.seq_len {cfg.data.seq_len} exceeds model.max_seq_len {m.max_seq_len}")
    e = cfg.eval
    if e.limit is not None and e.limit <= 0:
        raise BenchError(f"eval.limit must be positive, got {e.limit}")
    if e.batch_size <= 0 or e.every < 0:
        raise BenchError("eval.batch_size must be positive and eval.every >= 0")
    if e.enabled and not e.tasks:
        raise BenchError("eval.tasks is empty: name tasks or groups, or set eval.enabled = false")
    pr = cfg.probe
    if pr.every < 0 or pr.batch_size <= 0 or pr.max_tokens <= 0:
        raise BenchError("probe.every must be >= 0, probe.batch_size and probe.max_tokens positive")
    if pr.ngram_max < 2 or not 0 < pr.condensation_threshold < 1:
        raise BenchError("probe.ngram_max must be >= 2 and probe.condensation_threshold in (0, 1)")
    if o.grad_clip < 0:
        raise BenchError(f"optim.grad_clip must be >= 0 (0 disables clipping), got {o.grad_clip}")
