"""Building a Config: presets, config files (TOML, or a whole config as JSON) and override mappings,
every value type-checked, then cross-field validation.

Precedence, lowest first: dataclass defaults < preset < TOML file < overrides (the command line's flags
and --set, see overrides.py). A JSON file is a whole effective config (`Config.to_dict()`, as a record
stores it), so it replaces defaults, preset and TOML alike.
"""

from __future__ import annotations

import json
import math
import types
import typing
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from bench.config.overrides import flat
from bench.config.presets import PRESETS
from bench.config.schema import SECTIONS, Config
from bench.core.compat import tomllib
from bench.core.errors import BenchError


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


def load_toml(path: Path) -> dict[str, Any]:
    """A TOML config file as a mapping (not yet checked against the schema)."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise BenchError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise BenchError(f"config file {path} is a directory") from None
    except tomllib.TOMLDecodeError as exc:
        raise BenchError(f"config file {path} is not valid TOML: {exc}") from None


def load_json(path: Path) -> Config:
    """A whole effective config from a JSON file (`Config.to_dict()`, e.g. what a sweep hands its runs).
    Every key must be present: a missing one would silently take the dataclass default, not the
    preset's value, so the file would not say what the run trains."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise BenchError(f"config file {path} is a directory") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise BenchError(f"config file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BenchError(f"config file {path}: expected a JSON object (a whole config, as Config.to_dict())")
    cfg = config_from_dict(data, str(path))
    given = flat(data)
    missing = [key for key in flat(Config().to_dict()) if key not in given]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise BenchError(f"config file {path} lacks {', '.join(missing[:3])}{more}: a .json config holds a "
                         "whole config (Config.to_dict()); use TOML to set some keys")
    return cfg


def build_config(
    preset: str | None = None,
    path: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> Config:
    """defaults < preset < config file < overrides. `preset` (CLI) wins over a TOML's `preset` key; a
    .json file is a whole config, so `preset` may only repeat the file's."""
    if path is not None and path.suffix == ".json":
        cfg = load_json(path)
        if preset is not None and preset != cfg.preset:
            raise BenchError(f"preset {preset!r} conflicts with {path}, a whole config of preset "
                             f"{cfg.preset!r}")
    else:
        file_map = load_toml(path) if path else {}
        name = preset or file_map.get("preset") or "nano"
        if not isinstance(name, str) or name not in PRESETS:
            raise BenchError(f"unknown preset {name!r} (choose from {', '.join(PRESETS)})")
        cfg = Config(preset=name)
        apply_mapping(cfg, PRESETS[name], f"preset {name}")
        if path:
            apply_mapping(cfg, file_map, str(path))
    if overrides:
        apply_mapping(cfg, overrides, "command line")
    validate(cfg)
    return cfg


def config_from_dict(data: dict[str, Any], origin: str) -> Config:
    """Rebuild a Config from a record or checkpoint (`to_dict` output)."""
    preset = data.get("preset", "nano")
    if not isinstance(preset, str) or preset not in PRESETS:
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
    if not (math.isfinite(o.grad_clip) and o.grad_clip >= 0):
        raise BenchError(f"optim.grad_clip must be >= 0 (0 disables clipping), got {o.grad_clip}")
    _ranges(cfg)


# Seeds feed numpy's and lm-eval's generators, which take 32-bit unsigned seeds.
_SEED_MAX = 2**32 - 1


def _ranges(cfg: Config) -> None:
    """The domain of every remaining numeric field, so that no nonsensical value reaches training (where
    it would crash late or be silently replaced)."""
    m, o, t = cfg.model, cfg.optim, cfg.train
    for what, value in [("model.max_seq_len", m.max_seq_len), ("train.eval_batches", t.eval_batches),
                        ("train.spike_window", t.spike_window)]:
        if value <= 0:
            raise BenchError(f"{what} must be positive, got {value}")
    if m.vocab_size < 0:
        raise BenchError(f"model.vocab_size must be >= 0 (0 = the corpus vocabulary), got {m.vocab_size}")
    if not (math.isfinite(m.rope_base) and m.rope_base > 1):
        raise BenchError(f"model.rope_base must be a finite number > 1, got {m.rope_base}")
    for what, beta in [("optim.beta1", o.beta1), ("optim.beta2", o.beta2)]:
        if not 0 <= beta < 1:
            raise BenchError(f"{what} must be in [0, 1), got {beta}")
    _positive(o.eps, "optim.eps")
    _positive(t.spike_factor, "train.spike_factor")
    for what, seed in [("init.seed", cfg.init.seed), ("data.seed", cfg.data.seed),
                       ("eval.seed", cfg.eval.seed)]:
        if not 0 <= seed <= _SEED_MAX:
            raise BenchError(f"{what} must be in [0, 2^32 - 1], got {seed}")
    if cfg.eval.enabled and cfg.eval.every and not cfg.eval.every_tasks:
        raise BenchError("eval.every_tasks is empty: name tasks or groups, or set eval.every = 0")
