"""Stage 1, configuration: typed dataclasses, presets, TOML files and overrides (bench/config/load.py)."""

from bench.config.load import *  # noqa: F403
