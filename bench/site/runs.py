"""One page per run record: what was run, its scores, its curves (validation loss and the structural
probe's series, drawn from the record as inline SVG) and its token buckets; and the row that the runs
index shows for it. Records are read defensively: old records lack newer sections, and a page shows
what its record has."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from bench.report.records import dig, number
from bench.site.layout import table
from bench.site.svg import line_chart

# The runs index: header, and where in the record the value lives.
INDEX_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("method", ("config", "init", "method")), ("γ", ("config", "init", "gamma")),
    ("preset", ("config", "preset")), ("layers", ("config", "model", "n_layers")),
    ("init seed", ("config", "init", "seed")), ("lr", ("config", "optim", "lr")),
    ("steps", ("train", "steps")), ("final loss", ("train", "final_loss")),
    ("best val loss", ("train", "best_val_loss")), ("status", ("status",)))
SKIP_SERIES = ("step", "matrices")


def show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return value if isinstance(value, str) else json.dumps(value)


def index_row(record: dict[str, Any], href: str, group: str) -> list[str]:
    """A row of the runs index (trusted HTML: the first cell links to the run's page)."""
    link = f'<a href="{html.escape(href)}">{html.escape(str(record.get("run_id", "?")))}</a>'
    return [link, html.escape(group), *(html.escape(show(dig(record, *path))) for _, path in INDEX_COLUMNS)]


def _scores(record: dict[str, Any]) -> str:
    rows = []
    for task, metrics in sorted((record.get("eval") or {}).items()):
        if not isinstance(metrics, dict):
            continue
        for metric, value in metrics.items():
            if number(value) is not None and not metric.endswith("_stderr") and metric not in ("n", "chance"):
                stderr = number(metrics.get(f"{metric}_stderr"))
                rows.append([task, metric, f"{value:.4g}", "" if stderr is None else f"{stderr:.2g}",
                             show(metrics.get("n"))])
    return table("scores", ["task", "metric", "value", "stderr", "n"], rows) if rows else \
        '<p class="note">No lm-eval scores in this record.</p>'


def _curves(record: dict[str, Any]) -> str:
    charts = []
    val = dig(record, "train", "val_curve") or []
    keys = sorted({k for p in val if isinstance(p, dict) for k in p if k.startswith("loss")})
    charts.append(line_chart("validation loss", {k: [(p["step"], p[k]) for p in val
                                                    if number(p.get(k)) is not None] for k in keys}))
    series = [s for s in dig(record, "probes", "structure", "series") or [] if isinstance(s, dict)]
    keys = [k for k in (series[0] if series else {}) if k not in SKIP_SERIES and not k.endswith("_by_layer")]
    for key in keys:
        if any(isinstance(s.get(key), dict) for s in series):
            roles = sorted({r for s in series if isinstance(s.get(key), dict) for r in s[key]})
            lines = {r: [(s["step"], s[key][r]) for s in series if isinstance(s.get(key), dict)
                         and number(s[key].get(r)) is not None] for r in roles}
        else:
            lines = {key: [(s["step"], s[key]) for s in series if number(s.get(key)) is not None]}
        charts.append(line_chart(key.replace("_", " "), lines, log_y=key in ("loss", "grad_norm")))
    drawn = [c for c in charts if c]
    return f'<div class="charts">{"".join(drawn)}</div>' if drawn else \
        '<p class="note">No curves in this record.</p>'


def _buckets(record: dict[str, Any]) -> str:
    buckets = dig(record, "probes", "tokens", "buckets")
    if not isinstance(buckets, dict) or not buckets:
        return '<p class="note">No token-level probe in this record.</p>'
    rows = [[name, show(b.get("tokens")), show(b.get("mean_loss")),
             ", ".join(f"{src} {show(v.get('mean_loss'))}"
                       for src, v in sorted((b.get("by_source") or {}).items()) if isinstance(v, dict))]
            for name, b in buckets.items() if isinstance(b, dict)]
    rule = dig(record, "probes", "tokens", "rule")
    note = f'<p class="note">{html.escape(rule)}</p>' if isinstance(rule, str) else ""
    return table("buckets", ["bucket", "tokens", "mean loss", "mean loss by source"], rows) + note


def run_body(record: dict[str, Any], source: Path, figures: list[str]) -> str:
    """The body of a run's page. `source` is the record's path in the results folder, `figures` the
    page-relative paths of its copied figure files."""
    facts = [("record", str(source)), *((label, show(dig(record, *path))) for label, path in INDEX_COLUMNS),
             ("data seed", show(dig(record, "config", "data", "seed"))),
             ("tokens", show(dig(record, "train", "tokens"))),
             ("tokens/s", show(dig(record, "train", "tokens_per_s"))),
             ("device", show(dig(record, "env", "device_name"))),
             ("git", show(dig(record, "env", "git_hash")))]
    parts = ["<h2>Run</h2>", table("facts", ["field", "value"], [list(f) for f in facts]),
             "<h2>Scores</h2>", _scores(record), "<h2>Curves</h2>", _curves(record),
             "<h2>Token buckets</h2>", _buckets(record)]
    if figures:
        imgs = "".join(f'<figure><img src="{html.escape(f)}" alt="{html.escape(Path(f).name)}">'
                       f"<figcaption>{html.escape(Path(f).name)}</figcaption></figure>" for f in figures)
        parts += ["<h2>Figures</h2>", f'<div class="figs">{imgs}</div>']
    config = json.dumps(record.get("config"), indent=2)
    parts += ["<h2>Config</h2>",
              f"<details><summary>effective config</summary><pre>{html.escape(config)}</pre></details>"]
    return "\n".join(parts)
