"""Leaderboards from run records only (DESIGN §8): `python -m bench leaderboard`.

Every `record.json` under a runs directory is read (unreadable, partial or foreign files are skipped
with a warning naming the file), grouped by suite, aggregated per scheme over init seeds, and rendered
as GitHub Markdown, LaTeX, CSV or HTML. Output is byte-deterministic: inputs are sorted and every
number has a fixed format, so regenerating from the same records gives the same bytes.

Suite. Records are compared only when they share the preset, the corpus, the data (config.data and
the token cache key — sources, mixture weights, generator parameters, content hashes, tokenizer — with
every data seed removed), vocab_size, seq_len and the token budget max_steps × batch_size × seq_len.
Data seeds are replicates like init seeds, not different data. Name: `<preset>/<corpus>/<budget>-tok`,
e.g. `nano/mixture/1.6M-tok`; when two different suites would share a name, each gets `#<data hash>`.

Scheme (one row). `record["sweep"]["label"]` when a sweep wrote one, else a label derived from
config.init: the method, `gamma-<γ>` for γ-init, and every other init knob that differs from its
default (`normal sigma=0.01`). Runs of one label whose configs differ in anything but seeds, device and
evaluation/probe bookkeeping (depth in a phase diagram, norm ε, learning rate, eval limit) become
separate rows `label [key=value, ...]`. Runs of a per-scheme LR search that were not chosen
(`sweep.lr_search.chosen` ≠ config.optim.lr; when none was chosen because no LR finished, the
grid's smallest LR stands for the scheme) are left out; two runs of one row with the same init seed
keep the first by path, with a warning.

Scores. Mean ± sample std over the init seeds of runs that finished (status "ok"); diverged runs count
in `diverged` only. 95% CI: Student-t interval of the mean (n ≥ 2). Val bpb is the `val_text` task's
bits_per_byte (held-out wiki and Shakespeare text, lm-eval); val loss is the trainer's best validation
loss (nats per token on the corpus's own validation split); train loss is the last step's loss.
Reasoning / knowledge: unweighted mean of the chance-normalized accuracy (acc − chance)/(1 − chance)
over the tasks of `initbench_reasoning` / `initbench_knowledge` that every scored run of the suite
has (the table names them). Synthetic scores are raw accuracies. Δloss: per token bucket of
`probes.tokens.buckets`, the scheme's mean loss minus the reference's for the same init seed, averaged
over seeds (negative: lower loss than the reference).

Headline and reference. The headline score ranks the rows (1 = best; ties share a rank) and gets the
CI and the p-value: on the anchor corpus the inferential accuracy on the unseen pair, otherwise val bpb
when any run has it, else val loss (`--headline` overrides). p: two-sided paired t-test over the init
seeds both schemes finished, against the reference scheme: `--reference`, else `gamma-0.5` (the LeCun
fan-in scale, the Xu-group papers' "large" baseline), else `normal` (GPT-2's N(0, 0.02²)), else the
first row whose label starts with one of those, else the first label in sort order.

Critical γ (`critical_gamma`). For each family of γ-init rows that differ only in γ (and in a tuned LR):
a γ *trains* when none of its seeds diverged and its mean final training loss is at most
best + max(5% × best, 0.05 nats), best being the lowest mean final training loss among γ values with no
divergence. The critical γ is the trainable γ with the highest mean reasoning score (anchor corpus:
inferential accuracy on the unseen pair; otherwise the reasoning group score, else deduction accuracy,
else anchor inferential accuracy); ties go to the lower loss, then the smaller γ. None when no γ trains
or no trainable γ has a reasoning score.

Phase diagram. An anchor-corpus suite whose γ-init rows cover at least two γ values also gets a table
with rows γ and columns model.n_layers, cells "inferential / symmetric" accuracy on the unseen (4,3)
pair (mean over finished seeds), and a heat map when figures are requested.

Manifest (`results/leaderboards.toml`; `python -m bench leaderboard` with no options regenerates it,
`--check` compares instead of writing). Paths are relative to the manifest's directory:

    [[table]]
    out = "nano-baselines.md"          # required; the format follows the suffix unless `format` is set
    runs = "runs/nano-baselines"       # required; searched recursively for record.json
    format = "github"                  # optional: github | latex | csv | html (.md .tex .csv .html)
    suite = "nano/mixture/1.6M-tok"    # optional; default: every suite found
    reference = "normal"               # optional; default: the rule above
    headline = "bpb"                   # optional; a metric key (METRICS)
    figure = "figures/nano-baselines"  # optional stem: <stem>-gamma and <stem>-phase .png/.svg
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import math
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.core.compat import tomllib
from bench.core.errors import BenchError
from bench.core.files import write_bytes
from bench.record.schema import BUCKETS

Record = dict[str, Any]
FORMATS = ("github", "latex", "csv", "html")
SUFFIX_FORMATS = {".md": "github", ".tex": "latex", ".csv": "csv", ".html": "html"}
DEFAULT_RUNS = Path("results/runs")
DEFAULT_MANIFEST = Path("results/leaderboards.toml")
MANIFEST_KEYS = ("out", "runs", "format", "suite", "reference", "headline", "figure")
MISSING = "—"

# Members of tasks/initbench_reasoning.yaml and initbench_knowledge.yaml (a test keeps them in sync).
REASONING_TASKS = ("arc_easy", "arc_challenge", "hellaswag", "piqa", "winogrande", "copa", "social_iqa",
                   "commonsense_qa_cloze")
KNOWLEDGE_TASKS = ("openbookqa", "sciq", "boolq")
GROUPS = {"reasoning": REASONING_TASKS, "knowledge": KNOWLEDGE_TASKS}
HOPS = (1, 2, 3, 4, 5)
REFERENCE_PREFERENCE = ("gamma-0.5", "normal")
CRITICAL_REL_TOL = 0.05
CRITICAL_ABS_TOL = 0.05

# Config keys that do not change what a run measures: runs differing only here are one scheme.
IGNORED_KEYS = frozenset({"init.seed", "data.seed", "train.device", "train.compile", "train.log_interval",
                          "train.checkpoint_interval", "eval.batch_size", "eval.every", "eval.every_tasks"})
IGNORED_SECTIONS = frozenset({"probe"})


# ---------------------------------------------------------------- statistics (no scipy at runtime)

def mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def sample_std(values: Sequence[float]) -> float | None:
    """Standard deviation with n − 1 in the denominator; None below two values."""
    if len(values) < 2:
        return None
    m = mean(values)
    return math.sqrt(math.fsum((v - m) ** 2 for v in values) / (len(values) - 1))


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    # Lentz's method for the continued fraction of I_x(a, b) (Numerical Recipes §6.4).
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        for aa in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                   -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def regularized_beta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x)
                     + b * math.log1p(-x))
    # The fraction converges fast only below the mean of the beta distribution; else use the symmetry.
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| ≥ |t|) for Student's t with `df` degrees of freedom."""
    if math.isinf(t):
        return 0.0
    return regularized_beta(df / 2.0, 0.5, df / (df + t * t))


def t_quantile(q: float, df: float) -> float:
    """The q-quantile of Student's t, for 0.5 < q < 1 (bisection on the two-sided tail)."""
    target = 2.0 * (1.0 - q)
    lo, hi = 0.0, 1.0
    while t_two_sided_p(hi, df) > target:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        lo, hi = (mid, hi) if t_two_sided_p(mid, df) > target else (lo, mid)
        if hi - lo <= 1e-13 * hi:
            break
    return (lo + hi) / 2.0


@dataclass(frozen=True)
class Summary:
    """Mean, sample std and 95% t interval of the per-seed values (None where undefined)."""

    n: int = 0
    mean: float | None = None
    std: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


def summarize(values: Sequence[float]) -> Summary:
    if not values:
        return Summary()
    m, s = mean(values), sample_std(values)
    if s is None:
        return Summary(len(values), m)
    half = t_quantile(0.975, len(values) - 1) * s / math.sqrt(len(values))
    return Summary(len(values), m, s, m - half, m + half)


def paired_t_test(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Two-sided p of the paired t-test of x against y (as scipy.stats.ttest_rel); None below two
    pairs or when every difference is zero."""
    diffs = [a - b for a, b in zip(x, y, strict=True)]
    s = sample_std(diffs)
    if s is None:
        return None
    m = mean(diffs)
    if s == 0.0:
        return None if m == 0.0 else 0.0
    return t_two_sided_p(m / (s / math.sqrt(len(diffs))), len(diffs) - 1)


# ---------------------------------------------------------------- loading

@dataclass(frozen=True)
class Run:
    path: Path
    record: Record


def dig(obj: Any, *keys: str) -> Any:
    """obj[k1][k2]... or None when any level is missing or not a mapping."""
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def number(value: Any) -> float | None:
    """A finite number as float; None for anything else (missing, NaN, bool, text)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


_REQUIRED: tuple[tuple[tuple[str, ...], type], ...] = (
    (("run_id",), str), (("config", "preset"), str), (("config", "init", "method"), str),
    (("config", "init", "seed"), int), (("config", "data", "corpus"), str),
    (("config", "train", "max_steps"), int), (("config", "train", "batch_size"), int),
)


def record_problem(record: Any) -> str | None:
    """Why a parsed record.json cannot be used, or None."""
    if not isinstance(record, dict):
        return "not a run record (JSON is not an object)"
    if record.get("status") not in ("ok", "diverged"):
        return f"status {record.get('status')!r} is not a finished run (ok or diverged)"
    for keys, kind in _REQUIRED:
        value = dig(record, *keys)
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"missing or invalid {'.'.join(keys)}"
    if not isinstance(seq_len(record), int):
        return "missing data.seq_len"
    return None


def load_runs(runs_dir: Path) -> list[Run]:
    """Every usable record under `runs_dir`, sorted by path; warns about each file it skips."""
    if not runs_dir.is_dir():
        raise BenchError(f"runs directory {runs_dir} does not exist")
    paths = sorted(runs_dir.rglob("record.json"), key=lambda p: p.as_posix())
    if not paths:
        raise BenchError(f"no record.json under {runs_dir}")
    runs = []
    for path in paths:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:  # ValueError covers JSON and UTF-8 decoding errors
            warn(f"skipping {path}: unreadable ({exc})")
            continue
        problem = record_problem(record)
        if problem:
            warn(f"skipping {path}: {problem}")
            continue
        runs.append(Run(path, record))
    if not runs:
        raise BenchError(f"no usable run record under {runs_dir} ({len(paths)} skipped, see warnings)")
    return runs


# ---------------------------------------------------------------- suites

def seq_len(record: Record) -> Any:
    value = dig(record, "data", "seq_len")
    return value if value is not None else dig(record, "config", "data", "seq_len")


def _without_seeds(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _without_seeds(v) for k, v in obj.items() if k != "seed"}
    if isinstance(obj, list):
        return [_without_seeds(v) for v in obj]
    return obj


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True, order=True)
class SuiteKey:
    preset: str
    corpus: str
    vocab_size: int
    seq_len: int
    tokens: int
    data_hash: str


def suite_key(record: Record) -> SuiteKey:
    cfg = record["config"]
    data = {"config": _without_seeds(cfg["data"]),
            "cache": _without_seeds(dig(record, "data", "token_cache", "key"))}
    vocab = next((v for v in (dig(record, "data", "vocab_size"), dig(cfg, "data", "vocab_size"))
                  if isinstance(v, int)), 0)
    length = seq_len(record)
    return SuiteKey(cfg["preset"], cfg["data"]["corpus"], vocab, length,
                    cfg["train"]["max_steps"] * cfg["train"]["batch_size"] * length,
                    hashlib.sha256(canonical(data).encode()).hexdigest()[:8])


def human_count(n: int) -> str:
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return str(n)


def suite_names(keys: Iterable[SuiteKey]) -> dict[SuiteKey, str]:
    """Readable names; a name two suites would share gets each suite's data hash."""
    base = {k: f"{k.preset}/{k.corpus}/{human_count(k.tokens)}-tok" for k in sorted(set(keys))}
    counts: dict[str, int] = {}
    for name in base.values():
        counts[name] = counts.get(name, 0) + 1
    return {k: name if counts[name] == 1 else f"{name}#{k.data_hash}" for k, name in base.items()}


# ---------------------------------------------------------------- schemes

def flat_config(config: Record) -> dict[str, Any]:
    """config as {"section.key": value}, without the keys that do not change what a run measures."""
    out: dict[str, Any] = {}
    for section, values in config.items():
        if section in IGNORED_SECTIONS:
            continue
        items = values.items() if isinstance(values, dict) else [("", values)]
        for key, value in items:
            name = f"{section}.{key}" if key else section
            if name not in IGNORED_KEYS:
                out[name] = value
    return out


def show_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def gamma_text(gamma: float) -> str:
    """γ with at least one decimal, as in the baseline file names (gamma-0.5, gamma-1.0)."""
    short = f"{gamma:.1f}"
    return short if float(short) == gamma else f"{gamma:g}"


def derived_label(init: Record) -> str:
    from bench.config import InitConfig

    defaults = asdict(InitConfig())
    gamma = number(init.get("gamma"))
    label = f"{init['method']}-{gamma_text(gamma)}" if gamma is not None else init["method"]
    knobs = [f"{k}={show_value(init[k])}" for k in sorted(defaults)
             if k not in ("method", "seed", "gamma") and k in init and init[k] != defaults[k]]
    return " ".join([label, *knobs])


def base_label(record: Record) -> str:
    label = dig(record, "sweep", "label")
    return label if isinstance(label, str) and label else derived_label(record["config"]["init"])


def lr_search(record: Record) -> dict[str, Any] | None:
    search = dig(record, "sweep", "lr_search")
    return search if isinstance(search, dict) else None


def is_unchosen_trial(record: Record) -> bool:
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
    keys = sorted({k for f in flats for k in f})
    return [k for k in keys if len({canonical(f.get(k)) for f in flats}) > 1]


def short_keys(keys: Sequence[str]) -> dict[str, str]:
    """`model.n_layers` → `n_layers` unless two keys would share the short name."""
    tails = [k.rsplit(".", 1)[-1] for k in keys]
    return {k: t if tails.count(t) == 1 else k for k, t in zip(keys, tails, strict=True)}


def describe(flat: dict[str, Any], keys: Sequence[str]) -> str:
    short = short_keys(keys)
    return ", ".join(f"{short[k]}={show_value(flat.get(k))}" for k in keys)


def split_schemes(runs: Sequence[Run]) -> dict[str, list[Run]]:
    """Runs per row label: the base label, plus `[key=value]` where one label covers several configs."""
    by_label: dict[str, dict[str, list[Run]]] = {}
    for run in runs:
        variant = canonical(flat_config(run.record["config"]))
        by_label.setdefault(base_label(run.record), {}).setdefault(variant, []).append(run)
    out: dict[str, list[Run]] = {}
    for label, variants in by_label.items():
        if len(variants) == 1:
            out[label] = next(iter(variants.values()))
            continue
        flats = {v: json.loads(v) for v in variants}
        keys = differing_keys(list(flats.values()))
        for v, group in variants.items():
            out[f"{label} [{describe(flats[v], keys)}]"] = group
    return out


def by_seed(label: str, runs: Sequence[Run]) -> dict[int, Run]:
    out: dict[int, Run] = {}
    for run in runs:
        seed = run.record["config"]["init"]["seed"]
        if seed in out:
            warn(f"{label}: two runs with init seed {seed}; using {out[seed].path}, ignoring {run.path}")
            continue
        out[seed] = run
    return out


# ---------------------------------------------------------------- metrics

@dataclass(frozen=True)
class Metric:
    key: str
    header: str
    better: str | None  # "high", "low", or None for a diagnostic
    decimals: int
    get: Callable[[Record], float | None] | None = None  # None: computed per suite (group scores)


def _path(*keys: str) -> Callable[[Record], float | None]:
    return lambda record: number(dig(record, *keys))


METRICS: tuple[Metric, ...] = (
    Metric("bpb", "val bpb", "low", 3, _path("eval", "val_text", "bits_per_byte")),
    Metric("val_loss", "val loss", "low", 3, _path("train", "best_val_loss")),
    Metric("train_loss", "train loss", "low", 3, _path("train", "final_loss")),
    Metric("reasoning", "reasoning (norm.)", "high", 3),
    Metric("knowledge", "knowledge (norm.)", "high", 3),
    Metric("anchor_inferential", "anchor inferential", "high", 3,
           _path("eval", "anchor_unseen", "acc_inferential")),
    Metric("anchor_symmetric", "anchor symmetric", None, 3, _path("eval", "anchor_unseen", "acc_symmetric")),
    Metric("anchor_seen", "anchor seen", "high", 3, _path("eval", "anchor_seen", "acc")),
    Metric("rsnmem_heldout", "rsnmem held-out", "high", 3, _path("eval", "rsnmem", "acc_reasoning_heldout")),
    Metric("deduction", "deduction", "high", 3, _path("eval", "deduction", "acc")),
    *(Metric(f"deduction_hop{h}", f"deduction hop {h}", "high", 2, _path("eval", "deduction", f"acc_hop{h}"))
      for h in HOPS),
    Metric("spikes", "spikes", "low", 1, _path("train", "spikes")),
    Metric("tokens_per_s", "tok/s", "high", 0, _path("train", "tokens_per_s")),
)
METRIC = {m.key: m for m in METRICS}
HEADLINES = tuple(m.key for m in METRICS if m.better is not None)


def bucket_loss(record: Record, bucket: str) -> float | None:
    return number(dig(record, "probes", "tokens", "buckets", bucket, "mean_loss"))


def group_tasks(records: Sequence[Record], tasks: Sequence[str]) -> tuple[str, ...]:
    """The group's tasks scored (chance-normalized) in every record that scored any of them."""
    scored = [{t for t in tasks if number(dig(r, "eval", t, "normalized")) is not None} for r in records]
    scored = [s for s in scored if s]
    return tuple(t for t in tasks if scored and all(t in s for s in scored))


def record_metrics(record: Record, groups: dict[str, tuple[str, ...]]) -> dict[str, float | None]:
    out = {m.key: m.get(record) for m in METRICS if m.get is not None}
    for key, tasks in groups.items():
        values = [v for t in tasks if (v := number(dig(record, "eval", t, "normalized"))) is not None]
        out[key] = mean(values) if tasks and len(values) == len(tasks) else None
    for bucket in BUCKETS:
        out[f"loss_{bucket}"] = bucket_loss(record, bucket)
    return out


# ---------------------------------------------------------------- critical γ

@dataclass(frozen=True)
class GammaPoint:
    """One γ of a sweep: mean final training loss and reasoning score over finished seeds."""

    gamma: float
    loss: float | None
    score: float | None
    diverged: int = 0


def trainable(points: Sequence[GammaPoint], rel_tol: float = CRITICAL_REL_TOL,
              abs_tol: float = CRITICAL_ABS_TOL) -> list[GammaPoint]:
    """γ values with no diverged seed and a loss within max(rel_tol × best, abs_tol) of the best."""
    finished = [p for p in points if p.diverged == 0 and p.loss is not None]
    if not finished:
        return []
    best = min(p.loss for p in finished)
    limit = best + max(rel_tol * abs(best), abs_tol)
    return [p for p in finished if p.loss <= limit]


def critical_gamma(points: Sequence[GammaPoint], rel_tol: float = CRITICAL_REL_TOL,
                   abs_tol: float = CRITICAL_ABS_TOL) -> float | None:
    """The trainable γ with the best reasoning score (module docstring); None if there is none."""
    candidates = [p for p in trainable(points, rel_tol, abs_tol) if p.score is not None]
    if not candidates:
        return None
    return min(candidates, key=lambda p: (-p.score, p.loss, p.gamma)).gamma


# ---------------------------------------------------------------- aggregation

@dataclass
class Row:
    label: str
    runs: dict[int, Run]
    flat: dict[str, Any]
    metrics: dict[int, dict[str, float | None]]  # init seed → metrics, finished runs only
    summaries: dict[str, Summary] = field(default_factory=dict)
    deltas: dict[str, Summary] = field(default_factory=dict)
    p: float | None = None
    rank: int | None = None

    @property
    def diverged(self) -> int:
        return sum(r.record["status"] == "diverged" for r in self.runs.values())

    @property
    def lr_tuned(self) -> bool:
        return any(lr_search(r.record) is not None for r in self.runs.values())

    def values(self, key: str) -> list[float]:
        return [v for m in self.metrics.values() if (v := m.get(key)) is not None]

    def mean_of(self, key: str) -> float | None:
        return self.summaries[key].mean if key in self.summaries else None


@dataclass
class PhaseDiagram:
    family: str
    gammas: list[float]
    depths: list[int]
    cells: dict[tuple[float, int], Row]


@dataclass
class GammaSweep:
    family: str
    rows: list[Row]  # sorted by γ
    points: list[GammaPoint]
    critical: float | None


@dataclass
class Suite:
    name: str
    key: SuiteKey
    runs: list[Run]
    rows: list[Row]
    reference: str
    headline: str
    reasoning_metric: str | None
    groups: dict[str, tuple[str, ...]]
    trials_left_out: int
    sweeps: list[GammaSweep]
    phases: list[PhaseDiagram]


def default_reference(labels: Sequence[str]) -> str:
    ordered = sorted(labels)
    for name in REFERENCE_PREFERENCE:
        if name in ordered:
            return name
    for name in REFERENCE_PREFERENCE:
        for label in ordered:
            if label.startswith(f"{name} "):
                return label
    return ordered[0]


def default_headline(corpus: str, rows: Sequence[Row]) -> str:
    if corpus == "anchor":
        return "anchor_inferential"
    return "bpb" if any(row.values("bpb") for row in rows) else "val_loss"


def reasoning_metric(corpus: str, rows: Sequence[Row]) -> str | None:
    order = ("anchor_inferential",) if corpus == "anchor" else \
        ("reasoning", "deduction", "anchor_inferential")
    return next((key for key in order if any(row.values(key) for row in rows)), None)


def rank_rows(rows: Sequence[Row], headline: str) -> None:
    """Rank 1 = best headline mean; equal means share the smaller rank; rows without a value: none."""
    sign = -1.0 if METRIC[headline].better == "high" else 1.0
    scored = sorted((sign * m, row.label) for row in rows if (m := row.mean_of(headline)) is not None)
    keys = [k for k, _ in scored]
    for row in rows:
        m = row.mean_of(headline)
        row.rank = None if m is None else keys.index(sign * m) + 1


def compare_to_reference(rows: Sequence[Row], ref: Row, headline: str) -> None:
    for row in rows:
        common = sorted(set(row.metrics) & set(ref.metrics))
        pairs = [(row.metrics[s][headline], ref.metrics[s][headline]) for s in common]
        pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
        row.p = None if row is ref else paired_t_test([a for a, _ in pairs], [b for _, b in pairs])
        for bucket in BUCKETS:
            key = f"loss_{bucket}"
            diffs = [row.metrics[s][key] - ref.metrics[s][key] for s in common
                     if row.metrics[s][key] is not None and ref.metrics[s][key] is not None]
            row.deltas[bucket] = summarize(diffs)


def gamma_families(rows: Sequence[Row], also_vary: tuple[str, ...] = ()) -> dict[str, list[Row]]:
    """γ-init rows grouped by everything but γ (and `also_vary`, and the LR where it was tuned),
    named by what tells the groups apart ("" for a single group)."""
    groups: dict[str, list[Row]] = {}
    flats: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.flat.get("init.method") != "gamma" or number(row.flat.get("init.gamma")) is None:
            continue
        drop = {"init.gamma", *also_vary, *(("optim.lr",) if row.lr_tuned else ())}
        rest = {k: v for k, v in row.flat.items() if k not in drop}
        groups.setdefault(canonical(rest), []).append(row)
        flats[canonical(rest)] = rest
    keys = differing_keys(list(flats.values()))
    return {describe(flats[k], keys) if keys else "": group for k, group in sorted(groups.items())}


def gamma_sweeps(rows: Sequence[Row], metric: str | None) -> list[GammaSweep]:
    sweeps = []
    for family, group in sorted(gamma_families(rows).items()):
        by_gamma = sorted(group, key=lambda r: (float(r.flat["init.gamma"]), r.label))
        gammas = [float(r.flat["init.gamma"]) for r in by_gamma]
        if len(set(gammas)) < 2 or len(set(gammas)) != len(gammas):
            continue  # one γ, or an ambiguous family (two rows per γ): not a sweep
        points = [GammaPoint(g, r.mean_of("train_loss"), r.mean_of(metric) if metric else None, r.diverged)
                  for g, r in zip(gammas, by_gamma, strict=True)]
        sweeps.append(GammaSweep(family, by_gamma, points, critical_gamma(points)))
    return sweeps


def phase_diagrams(rows: Sequence[Row]) -> list[PhaseDiagram]:
    out = []
    for family, group in sorted(gamma_families(rows, also_vary=("model.n_layers",)).items()):
        cells = {(float(r.flat["init.gamma"]), r.flat["model.n_layers"]): r for r in group
                 if isinstance(r.flat.get("model.n_layers"), int)}
        gammas = sorted({g for g, _ in cells})
        if len(gammas) >= 2 and len(cells) == len(group):
            out.append(PhaseDiagram(family, gammas, sorted({d for _, d in cells}), cells))
    return out


def make_rows(runs: Sequence[Run]) -> tuple[list[Row], dict[str, tuple[str, ...]]]:
    finished = [r.record for r in runs if r.record["status"] == "ok"]
    groups = {key: group_tasks(finished, tasks) for key, tasks in GROUPS.items()}
    rows = []
    for label, group in sorted(split_schemes(runs).items()):
        seeds = by_seed(label, group)
        metrics = {s: record_metrics(r.record, groups) for s, r in sorted(seeds.items())
                   if r.record["status"] == "ok"}
        row = Row(label, dict(sorted(seeds.items())), flat_config(group[0].record["config"]), metrics)
        row.summaries = {m.key: summarize(row.values(m.key)) for m in METRICS}
        rows.append(row)
    return rows, groups


def build_suite(name: str, key: SuiteKey, runs: Sequence[Run], reference: str | None,
                headline: str | None) -> Suite:
    kept = [r for r in runs if not is_unchosen_trial(r.record)]
    rows, groups = make_rows(kept)
    labels = [row.label for row in rows]
    if reference is not None and reference not in labels:
        raise BenchError(f"unknown reference scheme {reference!r} in suite {name} "
                         f"(schemes: {', '.join(labels)})")
    ref_label = reference or default_reference(labels)
    head = headline or default_headline(key.corpus, rows)
    rank_rows(rows, head)
    compare_to_reference(rows, next(r for r in rows if r.label == ref_label), head)
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.label))
    metric = reasoning_metric(key.corpus, rows)
    phases = phase_diagrams(rows) if key.corpus == "anchor" else []
    return Suite(name, key, list(kept), rows, ref_label, head, metric, groups, len(runs) - len(kept),
                 gamma_sweeps(rows, metric), phases)


def build_suites(runs: Sequence[Run], suite: str | None = None, reference: str | None = None,
                 headline: str | None = None) -> list[Suite]:
    """One Suite per suite key (or only `suite`), in name order."""
    by_key: dict[SuiteKey, list[Run]] = {}
    for run in runs:
        by_key.setdefault(suite_key(run.record), []).append(run)
    names = suite_names(by_key)
    if suite is not None and suite not in names.values():
        raise BenchError(f"unknown suite {suite!r} (suites: {', '.join(sorted(names.values()))})")
    chosen = sorted((name, k) for k, name in names.items() if suite in (None, name))
    return [build_suite(name, k, by_key[k], reference, headline) for name, k in chosen]


# ---------------------------------------------------------------- rendering

def fmt_number(value: float | None, decimals: int) -> str:
    return MISSING if value is None else f"{value:,.{decimals}f}"


def fmt_summary(s: Summary, decimals: int) -> str:
    if s.mean is None:
        return MISSING
    text = fmt_number(s.mean, decimals)
    return text if s.std is None else f"{text} ± {fmt_number(s.std, decimals)}"


def fmt_p(p: float | None) -> str:
    return MISSING if p is None else "<0.001" if p < 0.001 else f"{p:.3f}"


def lr_text(row: Row) -> str:
    if not row.lr_tuned:
        return "no"
    return f"yes ({show_value(row.flat.get('optim.lr'))})"


def display_columns(suite: Suite) -> list[tuple[str, Callable[[Row], str]]]:
    """Header and cell function of each column shown; a metric no row has is left out."""
    head = METRIC[suite.headline]
    cols: list[tuple[str, Callable[[Row], str]]] = [
        ("rank", lambda r: MISSING if r.rank is None else str(r.rank)),
        ("scheme", lambda r: r.label),
        ("seeds", lambda r: str(len(r.runs))),
        ("diverged", lambda r: str(r.diverged)),
        (f"{head.header} ({'↑' if head.better == 'high' else '↓'})",
         lambda r: fmt_summary(r.summaries[head.key], head.decimals)),
        ("95% CI", lambda r: MISSING if r.summaries[head.key].ci_low is None else
         f"[{fmt_number(r.summaries[head.key].ci_low, head.decimals)}, "
         f"{fmt_number(r.summaries[head.key].ci_high, head.decimals)}]"),
        (f"p vs {suite.reference}", lambda r: "ref" if r.label == suite.reference else fmt_p(r.p)),
    ]
    hop_keys = [f"deduction_hop{h}" for h in HOPS]
    for m in METRICS:
        if m.key == suite.headline or m.key in hop_keys or not any(r.values(m.key) for r in suite.rows):
            continue
        cols.append((m.header, lambda r, m=m: fmt_summary(r.summaries[m.key], m.decimals)))
        if m.key == "deduction" and any(r.values(k) for r in suite.rows for k in hop_keys):
            cols.append(("deduction by hop 1–5", lambda r: " / ".join(
                fmt_number(r.mean_of(k), 2) for k in hop_keys)))
    for bucket in BUCKETS:
        if any(r.deltas[bucket].n for r in suite.rows):
            cols.append((f"Δloss {bucket.replace('_', '-')}", lambda r, b=bucket:
                         "ref" if r.label == suite.reference else fmt_summary(r.deltas[b], 3)))
    cols.append(("LR tuned", lr_text))
    return cols


def suite_notes(suite: Suite) -> list[str]:
    k, cfg = suite.key, suite.runs[0].record["config"]
    sources = ", ".join(map(str, cfg["data"].get("sources") or [])) if k.corpus == "mixture" else ""
    diverged = sum(r.record["status"] == "diverged" for r in suite.runs)
    head = METRIC[suite.headline]
    notes = [
        f"Suite {suite.name}: preset {k.preset}, corpus {k.corpus}" + (f" ({sources})" if sources else "")
        + f", vocab {k.vocab_size}, seq_len {k.seq_len}, budget {cfg['train']['max_steps']} steps × "
        f"{cfg['train']['batch_size']} sequences × {k.seq_len} = {k.tokens:,} tokens per run; "
        f"runs: {len(suite.runs)} ({diverged} diverged), schemes: {len(suite.rows)}. Only runs of this "
        "suite (same data, preset and token budget) are compared.",
        f"Ranked by {head.header} ({'higher' if head.better == 'high' else 'lower'} is better). "
        f"p: two-sided paired t-test over init seeds against the reference {suite.reference} on "
        f"{head.header}; 95% CI: Student-t interval of the mean.",
        "Cells: mean ± sample std over init seeds of finished runs (diverged runs count only under "
        f"diverged); {MISSING}: not measured. val bpb: val_text bits_per_byte (held-out wiki + "
        "Shakespeare); val loss: best validation loss of training (nats/token); train loss: last step.",
    ]
    for key, tasks in suite.groups.items():
        if tasks:
            notes.append(f"{METRIC[key].header}: mean chance-normalized acc over {', '.join(tasks)}.")
    if any(r.deltas[b].n for r in suite.rows for b in BUCKETS):
        notes.append(f"Δloss: token-bucket mean loss minus the reference's at the same init seed "
                     f"(negative = lower loss than {suite.reference}).")
    if suite.trials_left_out:
        notes.append(f"{suite.trials_left_out} LR-search runs whose LR was not chosen are left out.")
    devices = sorted({str(dig(r.record, "env", "device_name")) for r in suite.runs
                      if dig(r.record, "env", "device_name")})
    if devices:
        notes.append(f"tok/s measured on: {'; '.join(devices)}.")
    notes += [sweep_note(suite, s) for s in suite.sweeps]
    return notes


def sweep_note(suite: Suite, sweep: GammaSweep) -> str:
    where = f" ({sweep.family})" if sweep.family else ""
    metric = METRIC[suite.reasoning_metric].header if suite.reasoning_metric else "no reasoning score"
    found = "none" if sweep.critical is None else gamma_text(sweep.critical)
    return (f"Critical γ{where}: {found} — the γ with the best {metric} among γ values with no diverged "
            f"seed whose mean final training loss is within max({CRITICAL_REL_TOL:.0%}, "
            f"{CRITICAL_ABS_TOL} nats) of the best.")


def phase_notes(suite: Suite, phase: PhaseDiagram) -> list[str]:
    where = f", {phase.family}" if phase.family else ""
    return [f"Suite {suite.name}{where}: inferential / symmetric accuracy on the unseen (4,3) anchor pair, "
            "mean over finished init seeds; rows γ, columns depth (model.n_layers); "
            f"{MISSING}: no run; diverged: every seed diverged; *: the depth's critical γ; †: does not "
            "train by the critical-γ rule (a seed diverged, or the loss is out of tolerance)."]


def trainability_marks(suite: Suite) -> dict[str, str]:
    """Row label → "*" (critical γ of its sweep), " †" (does not train) or "" (trains)."""
    marks = {}
    for sweep in suite.sweeps:
        trains = {p.gamma for p in trainable(sweep.points)}
        for row, point in zip(sweep.rows, sweep.points, strict=True):
            marks[row.label] = "*" if point.gamma == sweep.critical else "" if point.gamma in trains else " †"
    return marks


def phase_cell(row: Row | None, marks: dict[str, str]) -> str:
    if row is None:
        return MISSING
    if not row.metrics:
        return "diverged"
    accs = " / ".join(fmt_number(row.mean_of(k), 2) for k in ("anchor_inferential", "anchor_symmetric"))
    return accs + marks.get(row.label, "")


@dataclass
class Block:
    title: str
    notes: list[str]
    headers: list[str]
    rows: list[list[str]]


def blocks(suite: Suite) -> list[Block]:
    cols = display_columns(suite)
    out = [Block(f"Leaderboard: {suite.name}", suite_notes(suite), [h for h, _ in cols],
                 [[cell(row) for _, cell in cols] for row in suite.rows])]
    marks = trainability_marks(suite)
    for phase in suite.phases:
        rows = [[gamma_text(g), *(phase_cell(phase.cells.get((g, d)), marks) for d in phase.depths)]
                for g in phase.gammas]
        title = f"Phase diagram: {suite.name}" + (f" ({phase.family})" if phase.family else "")
        headers = ["γ", *(f"depth {d}" for d in phase.depths)]
        out.append(Block(title, phase_notes(suite, phase), headers, rows))
    return out


# Characters plain pdflatex cannot take as they are: TeX specials, and the symbols the tables use.
LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
         "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"$<$",
         ">": r"$>$", "±": r"$\pm$", "↑": r"$\uparrow$", "↓": r"$\downarrow$", "γ": r"$\gamma$",
         "Δ": r"$\Delta$", "†": r"$\dagger$", "—": "---", "–": "--", "×": r"$\times$"}


def latex_text(text: str) -> str:
    return "".join(LATEX.get(ch, ch) for ch in text)


def render_block(block: Block, fmt: str) -> str:
    from tabulate import tabulate

    if fmt == "latex":
        table = tabulate([[latex_text(c) for c in row] for row in block.rows],
                         headers=[latex_text(h) for h in block.headers], tablefmt="latex_raw",
                         disable_numparse=True)
        return "\n".join([f"% {block.title}", *(f"% {n}" for n in block.notes), table])
    table = tabulate(block.rows, headers=block.headers, tablefmt=fmt, disable_numparse=True)
    if fmt == "github":
        return "\n".join([f"### {block.title}", "", *(f"- {n}" for n in block.notes), "", table])
    items = "".join(f"<li>{html.escape(n)}</li>" for n in block.notes)
    return "\n".join([f"<h3>{html.escape(block.title)}</h3>", f"<ul>{items}</ul>", table])


def csv_number(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def csv_table(suites: Sequence[Suite]) -> str:
    """One tidy table: a line per scheme and suite, every metric as mean, std, CI bounds and n."""
    stats = ("mean", "std", "ci_low", "ci_high", "n")
    header = ["suite", "rank", "scheme", "method", "gamma", "n_layers", "lr", "lr_tuned", "seeds", "diverged",
              "reference", "headline", "p_headline",
              *(f"{m.key}_{s}" for m in METRICS for s in stats),
              *(f"delta_loss_{b}_{s}" for b in BUCKETS for s in stats)]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for suite in suites:
        for row in suite.rows:
            summaries = [row.summaries[m.key] for m in METRICS] + [row.deltas[b] for b in BUCKETS]
            writer.writerow([
                suite.name, row.rank or "", row.label, row.flat.get("init.method"),
                csv_number(number(row.flat.get("init.gamma"))), row.flat.get("model.n_layers", ""),
                csv_number(number(row.flat.get("optim.lr"))), "yes" if row.lr_tuned else "no", len(row.runs),
                row.diverged, suite.reference, suite.headline, csv_number(row.p),
                *(x for s in summaries for x in (csv_number(s.mean), csv_number(s.std), csv_number(s.ci_low),
                                                  csv_number(s.ci_high), s.n))])
    return buf.getvalue()


def render(suites: Sequence[Suite], fmt: str) -> str:
    """The document for every suite: tables with their notes, or (csv) one tidy table."""
    if fmt not in FORMATS:
        raise BenchError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    if fmt == "csv":
        return csv_table(suites)
    return "\n\n".join(render_block(b, fmt) for s in suites for b in blocks(s)) + "\n"


# ---------------------------------------------------------------- figures

def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", name).strip("-")


def gamma_figure(suite: Suite) -> Any:
    from bench.run import figures as plots

    fig, (ax_score, ax_loss) = plots.figure(ncols=2)
    metric = METRIC[suite.reasoning_metric] if suite.reasoning_metric else None
    for i, sweep in enumerate(suite.sweeps):
        color, name = f"C{i}", sweep.family or "γ sweep"
        gammas = [p.gamma for p in sweep.points]
        for ax, key in ((ax_score, metric.key if metric else None), (ax_loss, "train_loss")):
            if key is None:
                continue
            pts = [(g, r.summaries[key]) for g, r in zip(gammas, sweep.rows, strict=True)
                   if r.summaries[key].mean is not None]
            ax.errorbar([g for g, _ in pts], [s.mean for _, s in pts], yerr=[s.std or 0.0 for _, s in pts],
                        color=color, marker="o", capsize=3, label=name)
            if sweep.critical is not None:
                ax.axvline(sweep.critical, color=color, linestyle=":", linewidth=1)
                at = [(g, s.mean) for g, s in pts if g == sweep.critical]
                ax.plot([g for g, _ in at], [m for _, m in at], color=color, marker="*", markersize=14,
                        linestyle="none")
        if sweep.critical is not None:
            ax_loss.plot([], [], color=color, linestyle=":",
                         label=f"critical γ = {gamma_text(sweep.critical)}")
    ax_score.set(xlabel="γ", ylabel=metric.header if metric else "no reasoning score",
                 title=f"{suite.name}: score vs γ")
    ax_loss.set(xlabel="γ", ylabel="final training loss", title="trainability")
    ax_loss.legend(fontsize=7)
    return fig


def phase_figure(suite: Suite) -> Any:
    from bench.run import figures as plots

    fig, axes = plots.figure(ncols=2, nrows=len(suite.phases), width=4.2, height=3.4)
    for i, phase in enumerate(suite.phases):
        for ax, key in zip(axes[2 * i: 2 * i + 2], ("anchor_inferential", "anchor_symmetric"), strict=True):
            grid = [[float("nan") if (r := phase.cells.get((g, d))) is None or r.mean_of(key) is None
                     else r.mean_of(key) for d in phase.depths] for g in phase.gammas]
            ax.imshow(grid, vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto", origin="lower")
            for y, line in enumerate(grid):
                for x, v in enumerate(line):
                    if not math.isnan(v):
                        ax.text(x, y, f"{v:.2f}", ha="center", va="center", fontsize=7,
                                color="white" if v < 0.5 else "black")
            ax.set_xticks(range(len(phase.depths)), [str(d) for d in phase.depths])
            ax.set_yticks(range(len(phase.gammas)), [gamma_text(g) for g in phase.gammas])
            ax.set_ylabel("γ", rotation=0, labelpad=12)
            ax.set(xlabel="depth (layers)",
                   title=f"{METRIC[key].header}" + (f" ({phase.family})" if phase.family else ""))
    return fig


def figure_files(suites: Sequence[Suite], stem: Path) -> dict[Path, bytes]:
    """PNG and SVG bytes of each suite's γ-sweep plot and phase heat map, keyed by final path:
    <stem>-gamma / <stem>-phase, with the suite's name inserted when there are several suites."""
    from bench.run import figures as plots

    out: dict[Path, bytes] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for suite in suites:
            prefix = f"{stem.name}-{slug(suite.name)}" if len(suites) > 1 else stem.name
            figures = ([("gamma", gamma_figure)] if suite.sweeps else []) + \
                      ([("phase", phase_figure)] if suite.phases else [])
            for kind, make in figures:
                for path in plots.save(make(suite), Path(tmp) / f"{prefix}-{kind}"):
                    out[stem.parent / path.name] = path.read_bytes()
    return out


# ---------------------------------------------------------------- outputs and manifest

@dataclass(frozen=True)
class TableSpec:
    """One generated table (a manifest entry, or the command line's options)."""

    out: Path | None
    runs: Path = DEFAULT_RUNS
    format: str | None = None
    suite: str | None = None
    reference: str | None = None
    headline: str | None = None
    figure: Path | None = None

    def fmt(self) -> str:
        if self.format is not None:
            return self.format
        return SUFFIX_FORMATS.get(self.out.suffix.lower(), "github") if self.out else "github"


def build(spec: TableSpec) -> tuple[str, dict[Path, bytes]]:
    """The document's text and the figure files of one table."""
    if spec.headline is not None and spec.headline not in HEADLINES:
        raise BenchError(f"unknown headline {spec.headline!r} (choose from {', '.join(HEADLINES)})")
    suites = build_suites(load_runs(spec.runs), spec.suite, spec.reference, spec.headline)
    figures = figure_files(suites, spec.figure) if spec.figure is not None else {}
    return render(suites, spec.fmt()), figures


def write_outputs(files: dict[Path, bytes]) -> None:
    for path, data in sorted(files.items()):
        if path.is_file() and path.read_bytes() == data:
            print(f"unchanged {path}", file=sys.stderr)
        else:
            write_bytes(path, data)
            print(f"wrote {path}", file=sys.stderr)


def _manifest_entry(entry: Any, base: Path, where: str) -> TableSpec:
    if not isinstance(entry, dict):
        raise BenchError(f"{where}: expected a table")
    unknown = sorted(set(entry) - set(MANIFEST_KEYS))
    if unknown:
        raise BenchError(f"{where}: unknown keys {', '.join(unknown)} (allowed: {', '.join(MANIFEST_KEYS)})")
    for key in ("out", "runs"):
        if not isinstance(entry.get(key), str):
            raise BenchError(f"{where}: `{key}` (a path) is required")
    for key in MANIFEST_KEYS:
        if key in entry and not isinstance(entry[key], str):
            raise BenchError(f"{where}: `{key}` must be a string")
    if entry.get("format") is not None and entry["format"] not in FORMATS:
        raise BenchError(f"{where}: unknown format {entry['format']!r} (choose from {', '.join(FORMATS)})")
    return TableSpec(out=base / entry["out"], runs=base / entry["runs"], format=entry.get("format"),
                     suite=entry.get("suite"), reference=entry.get("reference"),
                     headline=entry.get("headline"),
                     figure=base / entry["figure"] if "figure" in entry else None)


def load_manifest(path: Path) -> list[TableSpec]:
    if not path.is_file():
        raise BenchError(f"no leaderboard manifest {path}: create it ([[table]] entries with out and runs; "
                         "schema in bench/leaderboard.py) or pass --runs")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BenchError(f"{path}: invalid TOML ({exc})") from None
    entries = data.get("table")
    if set(data) != {"table"} or not isinstance(entries, list) or not entries:
        raise BenchError(f"{path}: expected one or more [[table]] entries and nothing else")
    return [_manifest_entry(e, path.parent, f"{path} table {i + 1}") for i, e in enumerate(entries)]


def manifest_files(path: Path) -> dict[Path, bytes]:
    files: dict[Path, bytes] = {}
    for spec in load_manifest(path):
        text, figures = build(spec)
        for target, data in {spec.out: text.encode(), **figures}.items():
            if target in files:
                raise BenchError(f"{path}: two tables write {target}")
            files[target] = data
    return files


def regenerate(path: Path, check: bool = False) -> int:
    """Rewrite every table (and figure) of the manifest; with `check`, write nothing and return 1 when
    a committed file differs from its regeneration."""
    files = manifest_files(path)
    if not check:
        write_outputs(files)
        return 0
    stale = [p for p, data in sorted(files.items()) if not p.is_file() or p.read_bytes() != data]
    for p in stale:
        print(f"differs: {p}")
    if not stale:
        print(f"up to date: {len(files)} files from {path}")
    return 1 if stale else 0


def leaderboard(spec: TableSpec) -> int:
    """One table from the command line: to `spec.out`, else to stdout."""
    text, figures = build(spec)
    if spec.out is None:
        sys.stdout.write(text)
        files = figures
    else:
        files = {spec.out: text.encode(), **figures}
    write_outputs(files)
    return 0
