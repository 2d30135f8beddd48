"""lm-eval's results in the record's shape: the typed scores of each task and group (docs/evaluation.md).

`convert_results` turns `simple_evaluate`'s output into `{"tasks": ..., "groups": ..., "versions": ...}`:
per task its metrics under plain names ("acc,none" -> "acc"; other filters stay visible as
"metric@filter"), their stderrs as "<metric>_stderr", `n`, the `chance` level declared in the task's YAML
`metadata` and `normalized` = (acc − chance)/(1 − chance) (`chance_normalized`). A group gets the same
fields over its leaf `subtasks`, with the chance level of its own YAML or, when all its subtasks share
one, theirs.

`merge_scores` puts results into a record task by task; a group scored earlier whose tasks were partly
re-scored is re-aggregated from the tasks the record now holds, with lm-eval's own formulas.
"""

from __future__ import annotations

import math
from typing import Any

from bench.evaluate import catalog
from bench.record.schema import GroupScores, RunRecord, attach_scores, scoring_conditions


def chance_normalized(acc: float | None, chance: float | None) -> float | None:
    """(acc − chance) / (1 − chance): 0 at chance, 1 when perfect; None when undefined."""
    if acc is None or chance is None or not math.isfinite(acc) or not 0 <= chance < 1:
        return None
    return (acc - chance) / (1 - chance)


def _metric_name(key: str) -> tuple[str, bool]:
    """"acc,none" -> ("acc", False); "acc_stderr,none" -> ("acc", True); other filters stay visible:
    "exact_match,strict-match" -> ("exact_match@strict-match", False)."""
    metric, _, filt = key.partition(",")
    is_se = metric.endswith("_stderr")
    if is_se:
        metric = metric[: -len("_stderr")]
    if filt and filt != "none":
        metric = f"{metric}@{filt}"
    return metric, is_se


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None  # lm-eval writes "N/A" for stderrs it did not compute
    return float(value)


def _chance_of(metadata: Any) -> float | dict[str, float] | None:
    """`metadata: {chance: 0.25}` or per metric `{chance: {acc: 0.25, acc_hop1: 0.5}}`."""
    if not isinstance(metadata, dict):
        return None
    chance = metadata.get("chance")
    if isinstance(chance, dict):
        return {str(k): float(v) for k, v in chance.items() if _number(v) is not None}
    return _number(chance)


def _convert(raw: dict[str, Any], chance: float | dict[str, float] | None, n: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ("alias", "name", "sample_len", "sample_count") or "," not in key:
            continue
        metric, is_se = _metric_name(key)
        out[f"{metric}_stderr" if is_se else metric] = _number(value)
    accs = [m for m in out if m.startswith("acc") and not m.endswith("_stderr")]
    per_metric = {m: chance.get(m, chance.get("acc")) if isinstance(chance, dict) else chance for m in accs}
    out["n"] = n
    primary = "acc" if "acc" in accs else None
    out["chance"] = chance if isinstance(chance, dict) or primary is None else per_metric[primary]
    out["normalized"] = chance_normalized(out[primary], per_metric[primary]) if primary else None
    if accs:
        out["normalized_by_metric"] = {m: chance_normalized(out[m], per_metric[m]) for m in accs}
    return out


def _leaves(name: str, group_subtasks: dict[str, list[str]]) -> list[str]:
    out = []
    for child in group_subtasks.get(name, []):
        out += _leaves(child, group_subtasks) if child in group_subtasks else [child]
    return out


def convert_results(results: dict[str, Any], group_meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """lm-eval's `simple_evaluate` output -> the record's `{"tasks": ..., "groups": ..., "versions": ...}`."""
    group_subtasks: dict[str, list[str]] = results.get("group_subtasks") or {}
    groups = set(results.get("groups") or {}) | set(group_subtasks)
    configs = results.get("configs") or {}
    n_samples = results.get("n-samples") or {}
    tasks: dict[str, Any] = {}
    chances: dict[str, Any] = {}
    for name in sorted(results.get("results") or {}):
        if name in groups:
            continue
        chances[name] = _chance_of((configs.get(name) or {}).get("metadata"))
        n = (n_samples.get(name) or {}).get("effective")
        tasks[name] = _convert(results["results"][name], chances[name], n)
    out_groups: dict[str, Any] = {}
    for name in sorted(groups):
        raw = (results.get("groups") or {}).get(name) or (results.get("results") or {}).get(name) or {}
        leaves = _leaves(name, group_subtasks)
        chance = _chance_of((group_meta or {}).get(name))
        if chance is None and leaves and all(isinstance(chances.get(t), float) for t in leaves) \
                and len({chances[t] for t in leaves}) == 1:
            chance = chances[leaves[0]]  # every subtask has the same chance level
        n = sum(tasks[t]["n"] or 0 for t in leaves if t in tasks) if leaves else None
        entry = _convert(raw, chance, n)
        entry["subtasks"] = leaves
        out_groups[name] = entry
    return {"tasks": tasks, "groups": out_groups,
            "versions": {k: v for k, v in sorted((results.get("versions") or {}).items())}}


def _aggregate(tasks: dict[str, Any], members: list[str], spec: dict[str, Any]) -> dict[str, Any]:
    """One `aggregate_metric_list` entry of a group's YAML over `members`' record scores, in lm-eval's raw
    shape ("acc,none", "acc_stderr,none") and with lm-eval's formulas (lm_eval.api.group.Group)."""
    from lm_eval.api.metrics import aggregate_subtask_metrics, pooled_sample_stderr, unweighted_mean_stderr

    metric, by_size = spec["metric"], spec.get("weight_by_size", True)  # lm-eval's default
    # The metric under every filter the tasks hold: "acc" (filter none) and "acc@<filter>".
    keys = dict.fromkeys(k for t in members for k in tasks[t]
                         if (k == metric or k.startswith(f"{metric}@")) and not k.endswith("_stderr"))
    raw: dict[str, Any] = {}
    for key in keys:
        have = [t for t in members if _number(tasks[t].get(key)) is not None]
        if not have:
            continue
        filt = key.partition("@")[2] or "none"
        sizes = [tasks[t].get("n") or 0 for t in have]
        raw[f"{metric},{filt}"] = aggregate_subtask_metrics([tasks[t][key] for t in have], sizes, by_size)
        stderrs = [_number(tasks[t].get(f"{key}_stderr")) for t in have]
        raw[f"{metric}_stderr,{filt}"] = "N/A" if None in stderrs else \
            pooled_sample_stderr(stderrs, sizes) if by_size else unweighted_mean_stderr(stderrs)
    return raw


def regroup(record: RunRecord, name: str) -> GroupScores:
    """Group `name` re-aggregated from its member tasks (tasks/*.yaml) that `record` holds, as lm-eval
    aggregates it; `recomputed` names the members missing and whether the members present were scored
    under different conditions (None: some provenance unknown)."""
    old = record["groups"][name]
    cfg = catalog.configs().get(name)
    members = list(catalog.group_members(name)) if cfg else \
        [*old.get("subtasks", []), *old.get("recomputed", {}).get("missing", [])]
    tasks = record["eval"]
    present = [t for t in members if t in tasks]
    raw: dict[str, Any] = {}
    for spec in (cfg or {}).get("aggregate_metric_list") or []:
        raw.update(_aggregate(tasks, present, spec))
    entry = _convert(raw, old.get("chance"), sum(tasks[t].get("n") or 0 for t in present))
    entry["subtasks"] = present
    conditions = {scoring_conditions(record, t) for t in present}
    entry["recomputed"] = {"missing": [t for t in members if t not in present],
                           "mixed_provenance": None if None in conditions else len(conditions) > 1}
    return entry  # type: ignore[return-value]  # _convert's dict has the GroupScores keys


def merge_scores(record: RunRecord, results: dict[str, Any]) -> list[str]:
    """Merge `run_suite` results into `record` task by task (bench.record.schema.attach_scores), then
    re-aggregate the groups scored earlier that a task scored now belongs to. Returns those groups."""
    stale = attach_scores(record, results)
    for name in stale:
        record["groups"][name] = regroup(record, name)
    return stale
