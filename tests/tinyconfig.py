"""A model and budget small enough for unit tests (seconds on 2 CPU cores)."""

from typing import Any

from bench.config import Config, build_config

TINY: dict[str, dict[str, Any]] = {
    "model": {"d_model": 32, "n_layers": 2, "n_heads": 2, "d_ff": 64},
    "data": {"corpus": "anchor", "n_train": 256, "n_val": 64},
    "optim": {"lr": 1e-2, "warmup_steps": 5},
    "train": {"max_steps": 60, "batch_size": 32, "eval_interval": 20, "eval_batches": 2,
              "checkpoint_interval": 20, "log_interval": 5},
    "eval": {"enabled": False},
}

# The same settings as CLI flags, for end-to-end tests.
TINY_FLAGS = [f"--set={section}.{key}={str(value).lower() if isinstance(value, bool) else value}"
              for section, values in TINY.items() for key, value in values.items() if key != "max_steps"]


def tiny_config(**sections: dict[str, Any]) -> Config:
    merged = {k: dict(v) for k, v in TINY.items()}
    for section, values in sections.items():
        merged.setdefault(section, {}).update(values)
    return build_config("nano", None, merged)
