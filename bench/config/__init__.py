"""Configuration: the typed dataclasses (schema.py), presets (presets.py), building a Config from
a preset, a config file and overrides (load.py), and the override rules of the command line
(overrides.py)."""

from bench.config.load import apply_mapping, build_config, config_from_dict, load_json, load_toml, validate
from bench.config.overrides import (
    RUN_FLAGS,
    config_diff,
    dotted,
    flat,
    names,
    override_mapping,
    parse_value,
)
from bench.config.presets import PRESETS
from bench.config.schema import (
    ADDED_KEYS,
    SECTIONS,
    Config,
    DataConfig,
    EvalConfig,
    InitConfig,
    ModelConfig,
    OptimConfig,
    ProbeConfig,
    TrainConfig,
    with_added_keys,
)

__all__ = [
    "ADDED_KEYS",
    "PRESETS",
    "RUN_FLAGS",
    "SECTIONS",
    "Config",
    "DataConfig",
    "EvalConfig",
    "InitConfig",
    "ModelConfig",
    "OptimConfig",
    "ProbeConfig",
    "TrainConfig",
    "apply_mapping",
    "build_config",
    "config_diff",
    "config_from_dict",
    "dotted",
    "flat",
    "load_json",
    "load_toml",
    "names",
    "override_mapping",
    "parse_value",
    "validate",
    "with_added_keys",
]
