"""The figures of one run, under `<run>/figures/`: training and validation loss, the structural probe's
series, the token probe's bucket losses (written by bench.core.plotting as PNG and SVG)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from bench.core.plotting import figure, save


def _smooth(values: list[float], window: int) -> list[float]:
    """Trailing mean, so a noisy per-step loss shows its trend without shifting it forward in time."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def loss_figure(record: dict[str, Any], metrics: list[dict[str, Any]], stem: Path) -> list[Path]:
    """Training loss (smoothed) and held-out loss per source against steps."""
    fig, (ax,) = figure(width=6.0)
    steps = [m["step"] for m in metrics if math.isfinite(m.get("loss", math.nan))]
    losses = [m["loss"] for m in metrics if math.isfinite(m.get("loss", math.nan))]
    if losses:
        ax.plot(steps, _smooth(losses, 20), color="0.6", lw=1, label="train (20-step mean)")
    curve = record["train"].get("val_curve", [])
    for key in sorted({k for point in curve for k in point if k.startswith("loss/")}):
        points = [(p["step"], p[key]) for p in curve if key in p]
        ax.plot(*zip(*points, strict=True), marker="o", ms=3, label=f"val {key[5:]}")
    ax.set(xlabel="step", ylabel="loss (nats/token)", title=_title(record))
    ax.legend(fontsize=7)
    return save(fig, stem)


def structure_figure(series: list[dict[str, Any]], stem: Path, title: str) -> list[Path]:
    """One panel per structural quantity: per-role quantities as one line per role (the "condense then
    expand" picture is the effective-rank panel), scalar quantities as one line."""
    keyed = [k for k in series[0] if k not in ("step", "matrices") and not k.endswith("_by_layer")]
    quantities = [k for k in keyed if any(isinstance(s.get(k), (int, float, dict)) for s in series)]
    cols = 3
    rows = math.ceil(len(quantities) / cols)
    fig, axes = figure(ncols=cols, nrows=rows, width=4.2, height=3.0)
    for ax, key in zip(axes, quantities, strict=False):
        values = [s.get(key) for s in series]
        if any(isinstance(v, dict) for v in values):
            for role in sorted({r for v in values if isinstance(v, dict) for r in v}):
                points = [(s["step"], s[key][role]) for s in series
                          if isinstance(s.get(key), dict) and _finite(s[key].get(role))]
                if points:
                    ax.plot(*zip(*points, strict=True), marker=".", ms=3, lw=1, label=role)
            ax.legend(fontsize=6)
        else:
            points = [(s["step"], s[key]) for s in series if _finite(s.get(key))]
            if points:
                ax.plot(*zip(*points, strict=True), marker=".", ms=3, lw=1)
        if key in ("update_ratio", "grad_norm"):
            ax.set_yscale("log")
        ax.set(xlabel="step", title=key.replace("_", " "))
    for ax in axes[len(quantities):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    return save(fig, stem)


def bucket_figure(tokens: dict[str, Any], stem: Path, title: str) -> list[Path]:
    """Mean loss per token bucket, one bar group per source; bucket sizes in the labels."""
    buckets = tokens["buckets"]
    names = list(buckets)
    sources = sorted({s for b in buckets.values() for s in b.get("by_source", {})})
    fig, (ax,) = figure(width=6.5)
    width = 0.8 / max(len(sources), 1)
    for j, source in enumerate(sources):
        ys = [(buckets[b]["by_source"].get(source) or {}).get("mean_loss") for b in names]
        ax.bar([i + j * width for i in range(len(names))], [y if y is not None else 0 for y in ys],
               width=width, label=source)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(names))],
                  [f"{b}\n({buckets[b]['tokens']:,} tok)" for b in names], fontsize=7)
    ax.set(ylabel="mean loss (nats/token)", title=title)
    ax.legend(fontsize=7)
    return save(fig, stem)


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def _title(record: dict[str, Any]) -> str:
    cfg = record["config"]
    gamma = cfg["init"].get("gamma")
    knob = f" γ={gamma:g}" if cfg["init"]["method"] == "gamma" and gamma is not None else ""
    return f"{cfg['init']['method']}{knob} · {cfg['preset']} · seed {cfg['init']['seed']}"


def run_figures(run_dir: Path, record: dict[str, Any]) -> list[Path]:
    """Every figure a run has data for, under `run_dir`/figures/."""
    out = run_dir / "figures"
    metrics_path = run_dir / "metrics.jsonl"
    metrics = ([json.loads(line) for line in metrics_path.read_text().splitlines() if line]
               if metrics_path.exists() else [])
    paths = loss_figure(record, metrics, out / "loss")
    series = record.get("probes", {}).get("structure", {}).get("series") or []
    if series:
        paths += structure_figure(series, out / "structure", _title(record))
    tokens = record.get("probes", {}).get("tokens") or {}
    if tokens.get("buckets"):
        paths += bucket_figure(tokens, out / "token_buckets", _title(record))
    return paths
