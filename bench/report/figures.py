"""Leaderboard figures (docs/leaderboard.md): per suite, the γ-sweep plot (reasoning score and final
training loss against γ, critical γ marked), the phase heat maps (γ × depth) and the loss-vs-LR curves
of the schemes' learning-rate searches; for a learnability table, the accuracy-vs-step curves of its
task metrics. As PNG and SVG."""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure

from bench.core.plotting import figure, save
from bench.report.aggregate import Suite
from bench.report.learnability import LearnSuite, curve_metrics, finished
from bench.report.metrics import METRIC
from bench.report.records import number
from bench.report.rows import Row
from bench.report.suites import gamma_text, lr_search


def file_stem(name: str) -> str:
    """A suite name as part of a file name: each run of characters other than [A-Za-z0-9.] becomes "-"."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", name).strip("-")


def gamma_figure(suite: Suite) -> Figure:
    fig, (ax_score, ax_loss) = figure(ncols=2)
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


def phase_figure(suite: Suite) -> Figure:
    fig, axes = figure(ncols=2, nrows=len(suite.phases), width=4.2, height=3.4)
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


def lr_curve(row: Row) -> tuple[list[tuple[float, float]], float | None, bool]:
    """A row's LR search from any of its records that carries the trials: (lr, best val loss) of every
    finished trial, sorted by LR; the chosen LR; whether it is interior (True when unknown)."""
    for run in row.runs.values():
        search = lr_search(run.record)
        trials = (search or {}).get("trials") or []
        if search is not None and trials:
            points = sorted((lr, loss) for t in trials
                            if (lr := number(t.get("lr"))) is not None
                            and (loss := number(t.get("best_val_loss"))) is not None)
            return points, number(search.get("chosen")), search.get("interior") is not False
    return [], None, True


def lr_figure(suite: Suite) -> Figure:
    fig, (ax,) = figure(ncols=1, width=5.5, height=4.0)
    for i, row in enumerate(r for r in suite.rows if lr_curve(r)[0]):
        points, chosen, interior = lr_curve(row)
        color = f"C{i % 10}"
        ax.plot([lr for lr, _ in points], [loss for _, loss in points], color=color, marker="o",
                markersize=3, label=row.label + ("" if interior else " (edge)"))
        at = [(lr, loss) for lr, loss in points if chosen is not None and math.isclose(lr, chosen)]
        ax.plot([lr for lr, _ in at], [loss for _, loss in at], color=color, marker="*", markersize=12,
                linestyle="none", markerfacecolor=color if interior else "none")
    ax.set_xscale("log")
    ax.set(xlabel="learning rate", ylabel="best validation loss (nats/token)",
           title=f"{suite.name}: LR search (★ chosen; hollow: at a grid edge)")
    ax.legend(fontsize=6, ncol=2)
    return fig


def figure_bytes(fig: Figure, stem: Path) -> dict[Path, bytes]:
    """PNG and SVG bytes of `fig`, keyed by their final paths <stem>.png and <stem>.svg."""
    # Drawn into a scratch folder, so that `--check` compares the bytes without writing the real files.
    with tempfile.TemporaryDirectory() as tmp:
        return {stem.parent / path.name: path.read_bytes() for path in save(fig, Path(tmp) / stem.name)}


def figure_files(suites: Sequence[Suite], stem: Path) -> dict[Path, bytes]:
    """PNG and SVG bytes of each suite's γ-sweep plot, phase heat map and LR curves, keyed by final
    path: <stem>-gamma / <stem>-phase / <stem>-lr, with the suite's name inserted when there are several
    suites."""
    out: dict[Path, bytes] = {}
    for suite in suites:
        prefix = f"{stem.name}-{file_stem(suite.name)}" if len(suites) > 1 else stem.name
        figures = ([("gamma", gamma_figure)] if suite.sweeps else []) + \
                  ([("phase", phase_figure)] if suite.phases else []) + \
                  ([("lr", lr_figure)] if any(lr_curve(r)[0] for r in suite.rows) else [])
        for kind, make in figures:
            out.update(figure_bytes(make(suite), stem.with_name(f"{prefix}-{kind}")))
    return out


CURVE_COLUMNS = 3


def curve_figure(suites: Sequence[LearnSuite]) -> Figure | None:
    """Accuracy vs step, one panel per suite and task metric evaluated during training, one line per run
    (its periodic evaluations and final score), coloured by scheme; chance dotted. None: no curves."""
    panels = [(suite, metric) for suite in suites for metric in curve_metrics(suite)]
    if not panels:
        return None
    labels = sorted({row.label for suite in suites for row in suite.rows})
    colors = {label: f"C{i % 10}" for i, label in enumerate(labels)}
    nrows = -(-len(panels) // CURVE_COLUMNS)
    fig, axes = figure(ncols=CURVE_COLUMNS, nrows=nrows, width=3.6, height=2.8)
    for ax, (suite, metric) in zip(axes, panels, strict=False):
        for row in suite.rows:
            for i, run in enumerate(finished(row)):
                points = metric.curve(run.record)
                ax.plot([s for s, _ in points], [v for _, v in points], marker=".", color=colors[row.label],
                        alpha=0.8, label=row.label if i == 0 else None)
        level = next(e.chance for e in suite.metrics if e.metric is metric)
        if level is not None:
            ax.axhline(level, color="grey", linestyle=":", linewidth=1)
        ax.set_title(f"{metric.header}\n{suite.name}", fontsize=8)
        ax.set_xlabel("step", fontsize=8)
        ax.set_ylabel("accuracy", fontsize=8)
        ax.set_ylim(0, 1)
        ax.legend(fontsize=6)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    return fig


def curve_files(suites: Sequence[LearnSuite], stem: Path) -> dict[Path, bytes]:
    """<stem>.png and <stem>.svg of the learning curves; nothing when no run has a curve."""
    fig = curve_figure(suites)
    return {} if fig is None else figure_bytes(fig, stem)
