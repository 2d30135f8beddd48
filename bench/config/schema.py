"""The typed run configuration: one dataclass per section and `Config`, their whole.

The effective config is stored whole in every run record (`Config.to_dict()`), so a record alone says how
to rerun it; `digest` names it in default run ids.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass
class ModelConfig:
    """The decoder of docs/model.md. `vocab_size` 0 means "take it from the data"."""

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
    # Departure knobs (docs/schemes.md). Defaults follow the cited sources, and old records (without
    # these keys) still load: small_init_depth adds ÷√(2L) on small-init's out roles (in neither gpt-neox nor
    # Nguyen & Salazar; initbench's default before #21); wesar_embed draws WeSaR's embedding from the backbone
    # ("backbone", the project's reading) or at the shared σ, no gate ("sigma", per a secondary copy).
    small_init_depth: bool = False
    wesar_embed: Literal["backbone", "sigma"] = "backbone"
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
    """Training corpus (bench/data/): `mixture` of `sources`, or one source by name or path."""

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
    # Synthetic generator knobs, "generator.knob=value" (value in TOML syntax), e.g. "modadd.p=31";
    # checked against the generator's knobs (docs/data.md, "Generator knobs").
    synthetic: list[str] = field(default_factory=list)


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
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    spike_factor: float = 1.5
    spike_window: int = 100


# The evaluation protocols (bench.evaluate.protocol, docs/evaluation.md#protocols): one definition that the
# config, the record's per-task provenance and the evaluation stage share.
Protocol = Literal["quick", "powered"]
PROTOCOLS: tuple[Protocol, ...] = ("quick", "powered")


@dataclass
class EvalConfig:
    """lm-eval scoring after training (tasks/ YAML tasks and groups); `every` > 0 also scores the
    `every_tasks` subset every that many steps, with `limit` documents per task. `protocol` "quick"
    scores `limit` documents per task; "powered" scores whole splits or fixed seeded subsets of the
    huge ones (bench.evaluate.protocol, docs/evaluation.md) and ignores `limit` after training."""

    enabled: bool = True
    tasks: list[str] = field(default_factory=lambda: ["initbench_default"])
    limit: int | None = 200
    protocol: Protocol = "quick"
    batch_size: int = 64
    seed: int = 1234
    every: int = 0
    every_tasks: list[str] = field(default_factory=lambda: ["initbench_synthetic"])


@dataclass
class ProbeConfig:
    """Probes (docs/probes.md): structural snapshots every `every` steps (0 = off) and at the end, on a fixed
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
    """A whole run: the preset it started from and every section (what a record stores)."""

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
        """Short content hash of the effective config (used in default run ids). A key of ADDED_KEYS at
        its added value is left out, so adding it did not rename existing default runs."""
        data = self.to_dict()
        for name, value in ADDED_KEYS.items():
            section, key = name.split(".")
            if data[section][key] == value:
                del data[section][key]
        text = json.dumps(data, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:8]


# Config keys added after run records were committed, each with the value that reproduces what a config
# without it did. Readers of old records fill them in (`with_added_keys`), so an old and a new run of the
# same setting compare as one scheme; `Config.digest` skips them at that value.
ADDED_KEYS: dict[str, Any] = {"data.synthetic": [], "eval.protocol": "quick", "train.precision": "auto"}


def with_added_keys(config: dict[str, Any]) -> dict[str, Any]:
    """A copy of a record's config dict with every missing ADDED_KEYS key at its added value."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in config.items()}
    for name, value in ADDED_KEYS.items():
        section, key = name.split(".")
        if isinstance(out.get(section), dict):
            out[section].setdefault(key, copy.deepcopy(value))
    return out


# The sections of `Config` (every field but `preset`), in record order.
SECTIONS = ("model", "init", "optim", "data", "train", "eval", "probe")
