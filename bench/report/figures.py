"""Leaderboard figures (docs/leaderboard.md): per suite, the γ-sweep plot (reasoning score and final
training loss against γ, critical γ marked) and the phase heat maps (γ × depth), as PNG and SVG."""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure

from bench.core.plotting import figure, save
from bench.report.aggregate import Suite
from bench.report.metrics import METRIC
from bench.report.suites import gamma_text


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


def figure_files(suites: Sequence[Suite], stem: Path) -> dict[Path, bytes]:
    """PNG and SVG bytes of each suite's γ-sweep plot and phase heat map, keyed by final path:
    <stem>-gamma / <stem>-phase, with the suite's name inserted when there are several suites."""
    out: dict[Path, bytes] = {}
    # Drawn into a scratch folder, so that `--check` compares the bytes without writing the real files.
    with tempfile.TemporaryDirectory() as tmp:
        for suite in suites:
            prefix = f"{stem.name}-{file_stem(suite.name)}" if len(suites) > 1 else stem.name
            figures = ([("gamma", gamma_figure)] if suite.sweeps else []) + \
                      ([("phase", phase_figure)] if suite.phases else [])
            for kind, make in figures:
                for path in save(make(suite), Path(tmp) / f"{prefix}-{kind}"):
                    out[stem.parent / path.name] = path.read_bytes()
    return out
