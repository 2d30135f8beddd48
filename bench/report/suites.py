"""Which runs are compared, and under which label (docs/leaderboard.md).

Suite. Records are compared only when they share the preset, the corpus, the data (config.data and
the token cache key — sources, mixture weights, generator parameters, content hashes, tokenizer — with
every data seed removed), vocab_size, seq_len, the token budget max_steps × batch_size × seq_len and the
training precision (fp32, bf16: `record.train.precision`, fp32 for records from before the knob).
Data seeds are replicates like init seeds, not different data. Name: `<preset>/<corpus>/<budget>-tok`,
e.g. `nano/mixture/1.6M-tok` (`/bf16` appended for bf16 runs); when two different suites would share a
name, each gets `#<data hash>`.

Scheme (one row). `record["sweep"]["label"]` when a sweep wrote one, else a label derived from
config.init: the method, `gamma-<γ>` for γ-init, and every other init knob that differs from its
default (`normal sigma=0.01`). Runs of one label whose configs differ in anything but seeds, device and
evaluation/probe bookkeeping (depth in a phase diagram, norm ε, learning rate, eval limit) become
separate rows `label [key=value, ...]`. Runs of a per-scheme LR search that were not chosen
(`sweep.lr_search.chosen` ≠ config.optim.lr; when none was chosen because no LR finished, the
grid's smallest LR stands for the scheme) are left out; two runs of one row with the same init seed
keep the first by path, with a warning.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bench.config import InitConfig, flat, with_added_keys
from bench.record.schema import LrSearch, RunRecord
from bench.report.records import LoadedRecord, dig, number, seq_len, warn

# Config keys that do not change what a run measures: runs differing only here are one scheme.
# train.precision is left out here because the suite key holds the precision the run resolved.
IGNORED_KEYS = frozenset({"init.seed", "data.seed", "train.device", "train.compile", "train.precision",
                          "train.log_interval", "train.checkpoint_interval", "eval.batch_size", "eval.every",
                          "eval.every_tasks"})
IGNORED_SECTIONS = frozenset({"probe"})


def canonical(obj: Any) -> str:
    """One string per JSON value, whatever its key order: what configs are compared and hashed by."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


# ---------------------------------------------------------------- suites

def _without_seeds(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _without_seeds(v) for k, v in obj.items() if k != "seed"}
    if isinstance(obj, list):
        return [_without_seeds(v) for v in obj]
    return obj


@dataclass(frozen=True, order=True)
class SuiteKey:
    """What two runs must share to be compared (module docstring); `data_hash` covers the data."""

    preset: str
    corpus: str
    vocab_size: int
    seq_len: int
    tokens: int
    data_hash: str
    precision: str


def precision(record: RunRecord) -> str:
    """The precision a run trained in (`record.train.precision`); records from before the knob: fp32."""
    value = dig(record, "train", "precision")
    return value if isinstance(value, str) else "fp32"


def suite_key(record: RunRecord) -> SuiteKey:
    cfg = with_added_keys(record["config"])
    data = {"config": _without_seeds(cfg["data"]),
            "cache": _without_seeds(dig(record, "data", "token_cache", "key"))}
    vocab = next((v for v in (dig(record, "data", "vocab_size"), dig(cfg, "data", "vocab_size"))
                  if isinstance(v, int)), 0)
    length = seq_len(record)
    return SuiteKey(cfg["preset"], cfg["data"]["corpus"], vocab, length,
                    cfg["train"]["max_steps"] * cfg["train"]["batch_size"] * length,
                    hashlib.sha256(canonical(data).encode()).hexdigest()[:8], precision(record))


def human_count(n: int) -> str:
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return str(n)


def suite_names(keys: Iterable[SuiteKey]) -> dict[SuiteKey, str]:
    """Readable names; a name two suites would share gets each suite's data hash."""
    base = {k: f"{k.preset}/{k.corpus}/{human_count(k.tokens)}-tok" + ("" if k.precision == "fp32" else
                                                                        f"/{k.precision}")
            for k in sorted(set(keys))}
    counts: dict[str, int] = {}
    for name in base.values():
        counts[name] = counts.get(name, 0) + 1
    return {k: name if counts[name] == 1 else f"{name}#{k.data_hash}" for k, name in base.items()}


# ---------------------------------------------------------------- schemes

def flat_config(config: dict[str, Any]) -> dict[str, Any]:
    """config as {"section.key": value}, without the keys that do not change what a run measures."""
    return {name: value for name, value in flat(with_added_keys(config)).items()
            if name not in IGNORED_KEYS and name.partition(".")[0] not in IGNORED_SECTIONS}


def show_value(value: Any) -> str:
    """A config value as labels and tables show it: floats shortest, text bare, the rest as JSON."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def gamma_text(gamma: float) -> str:
    """γ with at least one decimal, as in the baseline file names (gamma-0.5, gamma-1.0)."""
    short = f"{gamma:.1f}"
    return short if float(short) == gamma else f"{gamma:g}"


def derived_label(init: dict[str, Any]) -> str:
    """The label of a run no sweep labelled: method (gamma-<γ>) and every init knob off its default."""
    defaults = asdict(InitConfig())
    gamma = number(init.get("gamma"))
    label = f"{init['method']}-{gamma_text(gamma)}" if gamma is not None else init["method"]
    knobs = [f"{k}={show_value(init[k])}" for k in sorted(defaults)
             if k not in ("method", "seed", "gamma") and k in init and init[k] != defaults[k]]
    return " ".join([label, *knobs])


def base_label(record: RunRecord) -> str:
    label = dig(record, "sweep", "label")
    return label if isinstance(label, str) and label else derived_label(record["config"]["init"])


def lr_search(record: RunRecord) -> LrSearch | None:
    search = dig(record, "sweep", "lr_search")
    return search if isinstance(search, dict) else None


def is_unchosen_trial(record: RunRecord) -> bool:
    """A run of a per-scheme LR search at an LR that was not chosen. When no LR was chosen (none
    finished), the smallest LR of the grid stands for the scheme, so its failure still shows."""
    search, lr = lr_search(record), number(dig(record, "config", "optim", "lr"))
    if search is None or lr is None:
        return False
    chosen = number(search.get("chosen"))
    if chosen is None:
        grid = [g for g in map(number, search.get("grid") or []) if g is not None]
        chosen = min(grid, default=lr)
    return not math.isclose(chosen, lr)


def differing_keys(flats: Sequence[dict[str, Any]]) -> list[str]:
    """The flat config keys whose value is not the same in every one of `flats`, sorted."""
    keys = sorted({k for f in flats for k in f})
    return [k for k in keys if len({canonical(f.get(k)) for f in flats}) > 1]


def short_keys(keys: Sequence[str]) -> dict[str, str]:
    """`model.n_layers` → `n_layers` unless two keys would share the short name."""
    tails = [k.rsplit(".", 1)[-1] for k in keys]
    return {k: t if tails.count(t) == 1 else k for k, t in zip(keys, tails, strict=True)}


def describe(flat: dict[str, Any], keys: Sequence[str]) -> str:
    """`key=value, ...` of `keys` in one flat config: what tells a row (or a γ family) apart."""
    short = short_keys(keys)
    return ", ".join(f"{short[k]}={show_value(flat.get(k))}" for k in keys)


def split_schemes(runs: Sequence[LoadedRecord]) -> dict[str, list[LoadedRecord]]:
    """Runs per row label: the base label, plus `[key=value]` where one label covers several configs."""
    by_label: dict[str, dict[str, list[LoadedRecord]]] = {}
    for run in runs:
        variant = canonical(flat_config(run.record["config"]))
        by_label.setdefault(base_label(run.record), {}).setdefault(variant, []).append(run)
    out: dict[str, list[LoadedRecord]] = {}
    for label, variants in by_label.items():
        if len(variants) == 1:
            out[label] = next(iter(variants.values()))
            continue
        flats = {v: json.loads(v) for v in variants}
        keys = differing_keys(list(flats.values()))
        for v, group in variants.items():
            out[f"{label} [{describe(flats[v], keys)}]"] = group
    return out


def by_seed(label: str, runs: Sequence[LoadedRecord]) -> dict[int, LoadedRecord]:
    """One run per init seed: the first by path, with a warning naming the one left out."""
    out: dict[int, LoadedRecord] = {}
    for run in runs:
        seed = run.record["config"]["init"]["seed"]
        if seed in out:
            warn(f"{label}: two runs with init seed {seed}; using {out[seed].path}, ignoring {run.path}")
            continue
        out[seed] = run
    return out
