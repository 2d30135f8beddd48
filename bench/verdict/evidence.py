"""From records to a verdict per line (docs/verdict.md#the-rule).

Runs. A line reads the records under its sweep's output folder that the sweep has annotated
(`record.sweep`: an LR trial still under search has no annotation yet and an unchosen trial is left out,
bench.report.suites.is_unchosen_trial), and keeps those whose stored config matches a selector: every
selector key (a flattened config key, bench.config.flat) equal to its value (numbers within 1e-9
relative). Each side of a line must be one leaderboard row (bench.report.rows), i.e. one scheme.

Tests. Δ = scheme − reference, paired by init seed. `compare` lines use the leaderboard's own comparison
(bench.report.compare.compare): the paired bootstrap over seeds × documents when every run kept its
per-document outputs and the metric is read from lm-eval tasks, else the paired t-test over seeds.
`contrast` (two metrics of the same runs), `bucket_contrast` (Δ of the context-constrained token
bucket's loss minus Δ of the trivial bucket's) and `trajectory` (a statistic of a structural probe
series; without a reference, against zero) are paired t-tests over seeds. `critical_gamma` bootstraps
bench.report.gamma's critical γ over seeds (resampled jointly across γ values) and has no p.

Verdict (per line, after Holm across the lines of one claim): pending below `min_seeds` finished pairs;
refuted when the 95 % CI lies inside ±sesoi (an equivalence result, decided first); reproduced when the
Holm p < 0.05 and Δ points the expected way; refuted when the Holm p < 0.05 and Δ points the other way;
inconclusive otherwise. A critical γ is
reproduced when its 95 % percentile CI excludes the smallest and the largest swept γ, refuted when the
whole CI sits on one of them, inconclusive otherwise.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.config import flat, with_added_keys
from bench.core.errors import BenchError
from bench.report.compare import DocCache, column_mde, columns, compare
from bench.report.gamma import GammaPoint, critical_gamma
from bench.report.metrics import METRIC
from bench.report.records import LoadedRecord, dig, load_runs, number
from bench.report.rows import Row, make_rows
from bench.report.stats import ALPHA, BOOTSTRAP_RESAMPLES, PairedResult, holm, mean, paired_t
from bench.report.suites import is_unchosen_trial, show_value
from bench.verdict.manifest import Claim, Line, Manifest

VERDICTS = ("reproduced", "refuted", "inconclusive", "pending")
BUCKET_PAIR = ("context_constrained", "trivial")


@dataclass(frozen=True)
class LineResult:
    """A line's evidence and verdict; numbers are None while pending."""

    verdict: str
    pairs: int  # finished pairs (seeds both sides finished; critical γ: seeds every γ completed)
    result: PairedResult | None = None
    p_holm: float | None = None
    mde: float | None = None
    lr_tuned: bool | None = None
    critical: float | None = None  # critical_gamma: the observed critical γ
    # The tested quantity's mean over the paired seeds on each side (reference None: tested against zero),
    # so a reader sees where both sides sit: a Δ of 0 at chance and one at the ceiling read differently.
    means: tuple[float, float | None] | None = None
    # critical_gamma: every γ's mean training loss and score over the paired seeds, which the critical γ
    # was chosen from, so a reader sees the curve behind it (which γ train, where the score peaks).
    curve: tuple[GammaPoint, ...] | None = None


def sweep_runs(out: Path) -> list[LoadedRecord]:
    """The records under a sweep's folder that count (module docstring); none before the sweep ran."""
    if not out.is_dir() or not any(out.rglob("record.json")):
        return []
    try:
        runs = load_runs(out)
    except BenchError:  # every record unusable: the line waits, the warnings name the files
        return []
    return [r for r in runs if isinstance(r.record.get("sweep"), dict) and not is_unchosen_trial(r.record)]


def machines(runs: Sequence[LoadedRecord]) -> list[tuple[str, int]]:
    """The devices a sweep's counted runs trained on (`env.device_name`) with their run counts, most
    first. A sweep resumed on another machine mixes CPUs, and training there is not bit-identical: the
    verdict says so instead of leaving it to the records."""
    found = Counter(str(dig(r.record, "env", "device_name") or "an unrecorded device") for r in runs)
    return sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))


def matches(record: dict[str, Any], selector: Sequence[tuple[str, Any]]) -> bool:
    """Whether the record's stored config has every selector value (numbers within 1e-9 relative)."""
    cfg = flat(with_added_keys(record["config"]))
    for key, want in selector:
        have = cfg.get(key)
        if isinstance(want, bool) or isinstance(have, bool) or not isinstance(want, (int, float)):
            if have != want or isinstance(have, bool) != isinstance(want, bool):
                return False
        elif number(have) is None or not math.isclose(float(have), float(want), rel_tol=1e-9):
            return False
    return True


def describe_selector(selector: Sequence[tuple[str, Any]]) -> str:
    return ", ".join(f"{k}={show_value(v)}" for k, v in selector)


def _one_row(rows: list[Row], side: list[LoadedRecord], what: str, line: Line) -> Row | None:
    ids = {id(r) for r in side}
    mine = [row for row in rows if any(id(run) in ids for run in row.runs.values())]
    if len(mine) > 1:
        raise BenchError(f"line {line.setting!r}: the {what} selector matches {len(mine)} schemes "
                         f"({', '.join(r.label for r in mine)}); make it select one")
    return mine[0] if mine else None


def sides(runs: list[LoadedRecord], line: Line) -> tuple[Row | None, Row | None, dict[str, tuple[str, ...]]]:
    """The scheme's and the reference's rows (None: no run yet) and the group scores' tasks."""
    scheme = [r for r in runs if matches(r.record, line.scheme)]
    reference = [r for r in runs if line.reference is not None and matches(r.record, line.reference)]
    if {id(r) for r in scheme} & {id(r) for r in reference}:
        raise BenchError(f"line {line.setting!r}: the scheme and reference selectors match the same runs")
    if not scheme and not reference:
        return None, None, {}
    rows, groups = make_rows(scheme + reference)
    return _one_row(rows, scheme, "scheme", line), _one_row(rows, reference, "reference", line), groups


def trajectory_value(record: dict[str, Any], measure: str, statistic: str) -> float | None:
    """A statistic over steps of `measure`'s mean over roles (record.probes.structure.series)."""
    series = dig(record, "probes", "structure", "series")
    values = []
    for snap in sorted(series if isinstance(series, list) else [], key=lambda s: dig(s, "step") or 0):
        roles = dig(snap, measure)
        finite = [v for v in (roles.values() if isinstance(roles, dict) else []) if number(v) is not None]
        if finite:
            values.append(mean(finite))
    if not values:
        return None
    return {"peak": max(values), "trough": min(values), "final": values[-1],
            "peak_minus_final": max(values) - values[-1],
            "final_minus_trough": values[-1] - min(values)}[statistic]


def per_seed(row: Row, line: Line) -> dict[int, float]:
    """The line's per-seed quantity on one row's finished runs (every kind but compare/critical γ)."""
    out: dict[int, float | None] = {}
    for seed, metrics in row.metrics.items():
        if line.kind == "contrast":
            a, b = metrics.get(line.metric or ""), metrics.get(line.minus or "")
            out[seed] = None if a is None or b is None else a - b
        elif line.kind == "bucket_contrast":
            a, b = (metrics.get(f"loss_{bucket}") for bucket in BUCKET_PAIR)
            out[seed] = None if a is None or b is None else a - b
        else:
            out[seed] = trajectory_value(row.runs[seed].record, line.measure or "", line.statistic or "")
    return {s: v for s, v in out.items() if v is not None}


Means = tuple[float, float | None]
Evidence = tuple[PairedResult | None, int, bool | None, Means | None]  # test, pairs, LR tuned, side means


def paired_evidence(line: Line, runs: list[LoadedRecord], seed: int) -> Evidence:
    """(test result, finished pairs, LR tuned, side means) of a line of every kind but critical_gamma."""
    scheme, reference, groups = sides(runs, line)
    if scheme is None or (line.reference is not None and reference is None):
        return None, 0, None, None
    tuned = scheme.lr_tuned and (reference is None or reference.lr_tuned)
    if line.kind == "compare":
        assert reference is not None and line.metric is not None
        shared = [s for s in sorted(set(scheme.metrics) & set(reference.metrics))
                  if scheme.metrics[s].get(line.metric) is not None
                  and reference.metrics[s].get(line.metric) is not None]
        if len(shared) < line.min_seeds:
            return None, len(shared), tuned, None
        a = [scheme.metrics[s][line.metric] for s in shared]
        b = [reference.metrics[s][line.metric] for s in shared]
        means = (mean(a), mean(b))  # type: ignore[arg-type]  # None filtered out above
        column = next((c for c in columns([scheme, reference], groups) if c.key == line.metric), None)
        if column is None:  # a diagnostic the leaderboard shows but never tests (spikes): over seeds
            return paired_t(a, b), len(shared), tuned, means  # type: ignore[arg-type]
        return compare(scheme, reference, column, DocCache(), seed), len(shared), tuned, means
    mine = per_seed(scheme, line)
    theirs = per_seed(reference, line) if reference is not None else {s: 0.0 for s in mine}
    shared = sorted(set(mine) & set(theirs))
    if len(shared) < line.min_seeds:
        return None, len(shared), tuned, None
    a, b = [mine[s] for s in shared], [theirs[s] for s in shared]
    return paired_t(a, b), len(shared), tuned, (mean(a), mean(b) if reference is not None else None)


def gamma_evidence(line: Line, runs: list[LoadedRecord], seed: int) -> LineResult:
    """The critical γ of the line's γ family and its bootstrap CI over init seeds."""
    family = [r for r in runs if matches(r.record, line.scheme)
              and dig(r.record, "config", "init", "method") == "gamma"]
    rows = make_rows(family)[0] if family else []
    by_gamma: dict[float, Row] = {}
    for row in rows:
        gamma = float(row.flat["init.gamma"])
        if gamma in by_gamma:
            raise BenchError(f"line {line.setting!r}: two schemes at γ {gamma:g}; make the selector "
                             "select one family")
        by_gamma[gamma] = row
    rows = [by_gamma[g] for g in line.gammas if g in by_gamma]
    completed = [set(row.runs) for row in rows]  # finished or diverged: both are outcomes of a seed
    seeds = sorted(set.intersection(*completed)) if len(rows) == len(line.gammas) else []
    tuned = all(row.lr_tuned for row in rows) if rows else None
    if len(seeds) < line.min_seeds:
        return LineResult("pending", len(seeds), lr_tuned=tuned)
    metric = line.metric or ""

    def curve(draw: Sequence[int]) -> list[GammaPoint]:
        points = []
        for g, row in zip(line.gammas, rows, strict=True):
            ok = [row.metrics[s] for s in draw if s in row.metrics]
            losses = [v for m in ok if (v := m.get("train_loss")) is not None]
            scores = [v for m in ok if (v := m.get(metric)) is not None]
            points.append(GammaPoint(g, mean(losses) if losses else None, mean(scores) if scores else None,
                                     sum(1 for s in draw if s not in row.metrics)))
        return points

    def critical(draw: Sequence[int]) -> float | None:
        return critical_gamma(curve(draw))

    points = curve(seeds)
    observed = critical_gamma(points)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(seeds), size=(BOOTSTRAP_RESAMPLES, len(seeds)))
    # A resample without a critical γ counts below the range, so it can never look interior.
    stars = np.array([c if (c := critical([seeds[i] for i in d])) is not None else -math.inf for d in draws])
    low = float(np.quantile(stars, 0.025, method="lower"))
    high = float(np.quantile(stars, 0.975, method="higher"))
    edges = (min(line.gammas), max(line.gammas))
    if observed is not None and edges[0] < low and high < edges[1]:
        verdict = "reproduced"
    elif low == high and low in edges:
        verdict = "refuted"
    else:
        verdict = "inconclusive"
    finite = stars[np.isfinite(stars)]
    spread = float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0
    result = PairedResult(observed if observed is not None else math.nan, low, high, None, spread,
                          "bootstrap over seeds", len(seeds), 0)
    return LineResult(verdict, len(seeds), result, lr_tuned=tuned, critical=observed,
                      curve=tuple(points))


def decide(line: Line, result: PairedResult, p_holm: float | None) -> str:
    """The rule (module docstring) for a line with a test result."""
    expected = result.delta > 0 if line.expect == "higher" else result.delta < 0
    # Equivalence first: an effect whose whole CI is smaller than the claim's smallest effect of interest
    # is not the effect claimed, however reliably it differs from zero.
    if line.sesoi is not None and -line.sesoi < result.ci_low and result.ci_high < line.sesoi:
        return "refuted"
    if p_holm is not None and p_holm < ALPHA and result.delta != 0:
        return "reproduced" if expected else "refuted"
    return "inconclusive"


def line_seed(claim: Claim, index: int) -> int:
    """The bootstrap seed of a line: from its claim id and position, so regenerations are byte-stable."""
    return zlib.crc32(f"verdict|{claim.id}|{index}".encode())


def evaluate_claim(manifest: Manifest, claim: Claim,
                   cache: dict[str, list[LoadedRecord]]) -> list[LineResult]:
    """Every line of a claim, Holm-adjusted across the claim's lines that have a p."""
    raw: list[Evidence | LineResult] = []
    for i, line in enumerate(claim.lines):
        if line.sweep not in cache:
            cache[line.sweep] = sweep_runs(manifest.out_dir(line.sweep))
        runs = cache[line.sweep]
        raw.append(gamma_evidence(line, runs, line_seed(claim, i)) if line.kind == "critical_gamma"
                   else paired_evidence(line, runs, line_seed(claim, i)))
    adjusted = holm([x[0].p if isinstance(x, tuple) and x[0] is not None else None for x in raw])
    out = []
    for line, x, p_holm in zip(claim.lines, raw, adjusted, strict=True):
        if isinstance(x, LineResult):
            out.append(x)
            continue
        result, pairs, tuned, means = x
        if result is None:
            out.append(LineResult("pending", pairs, lr_tuned=tuned))
            continue
        mde = column_mde([result])[0]
        out.append(LineResult(decide(line, result, p_holm), pairs, result, p_holm, mde, tuned,
                              means=means))
    return out


def metric_header(key: str | None) -> str:
    return METRIC[key].header if key in METRIC else str(key)
