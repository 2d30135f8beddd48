"""Override rules: how option values (`run`'s flags, `--set SECTION.KEY=VALUE`) become the nested mapping
that `build_config` applies last, and the flat "section.key" view used to compare two configs.

Both `python -m bench run` and the sweep (which builds its runs' configs itself) go through
`override_mapping`, so a flag means the same config key everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bench.config.schema import Config
from bench.core.compat import tomllib
from bench.core.errors import BenchError

# `run` flag (argparse dest) -> the config key it sets. A flag left at None was not given and overrides
# nothing, so only what the user typed beats the preset and the config file.
RUN_FLAGS: dict[str, str] = {
    "method": "init.method", "gamma": "init.gamma", "sigma": "init.sigma", "sigma2": "init.sigma2",
    "backbone": "init.backbone", "embed_fan_in": "init.embed_fan_in", "distribution": "init.distribution",
    "truncate": "init.truncate", "init_override": "init.overrides", "seed": "init.seed",
    "data_seed": "data.seed", "corpus": "data.corpus", "max_steps": "train.max_steps",
    "batch_size": "train.batch_size", "lr": "optim.lr", "weight_decay": "optim.weight_decay",
    "norm_eps": "model.norm_eps", "gated_attention": "model.gated_attention", "device": "train.device",
    "eval_tasks": "eval.tasks", "eval_limit": "eval.limit", "eval_every": "eval.every",
    "eval": "eval.enabled",
}


def names(text: str) -> list[str]:
    """A comma-separated option value as a list, empty items dropped (e.g. --eval-tasks a,b)."""
    return [item.strip() for item in text.split(",") if item.strip()]


def parse_value(text: str) -> Any:
    """Parse a CLI override value with TOML's grammar, falling back to a bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def dotted(assignments: Iterable[str]) -> dict[str, Any]:
    """Turn ["model.d_model=64", ...] into a nested mapping; a later item wins over an earlier one."""
    out: dict[str, Any] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not dot or not name:
            raise BenchError(f"--set {item!r}: expected SECTION.KEY=VALUE, e.g. model.d_model=64")
        out.setdefault(section, {})[name] = parse_value(value.strip())
    return out


def override_mapping(flags: Mapping[str, Any], sets: Iterable[str] = ()) -> dict[str, Any]:
    """The overrides of one run: `sets` (--set items, in order), then every flag of RUN_FLAGS whose value
    is not None, which wins over a --set of the same key."""
    out = dotted(sets)
    for flag, value in flags.items():
        if value is not None:
            section, name = RUN_FLAGS[flag].split(".")
            out.setdefault(section, {})[name] = value
    return out


def flat(config: Mapping[str, Any]) -> dict[str, Any]:
    """A config dict (`Config.to_dict()`, a record's "config") as {"section.key": value}; top-level
    values such as "preset" keep their own name."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def config_diff(a: Config, b: Config) -> list[str]:
    """The "section.key" names whose values differ between two configs, sorted."""
    fa, fb = flat(a.to_dict()), flat(b.to_dict())
    return sorted(k for k in fa if fa[k] != fb.get(k))
