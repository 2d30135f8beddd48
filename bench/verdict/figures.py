"""A claim's figure (docs/verdict.md#figures): a forest plot of its lines, one row per line, the point at Δ
with its 95 % CI as a bar, 0 as a vertical line, ±SESOI shaded where the line sets one, the claimed
direction under the row's label and the verdict as the marker's colour and shape. A pending line says
"pending" at its row. Lines whose Δ is in other units get a panel each (one per x-axis quantity); a
critical γ is drawn on the γ axis, over the swept range. PNG and SVG, byte-reproducible
(bench.core.plotting); this module loads matplotlib, so it is imported only when a figure is drawn."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory

from bench.core.plotting import figure
from bench.report.figures import figure_bytes
from bench.verdict.evidence import LineResult
from bench.verdict.manifest import Claim, Line, Manifest
from bench.verdict.render import expectation, figure_stem, measure

STYLE = {"reproduced": ("tab:green", "o"), "refuted": ("tab:red", "X"), "inconclusive": ("tab:gray", "s")}
ROW_H, PANEL_H, WIDTH = 0.55, 1.1, 7.5  # inches per row, per panel (axis, labels), figure width


def axis_label(line: Line) -> str:
    """What a line's Δ measures on the x axis; lines with the same label share a panel (every critical γ
    shares the γ axis)."""
    if line.kind == "critical_gamma":
        return "critical γ (swept range shaded)"
    if line.kind == "contrast":
        return f"{measure(line)} (of the scheme's runs)"
    if line.kind == "bucket_contrast":  # already a difference of differences
        return measure(line)
    return f"Δ {measure(line)}" + (" (scheme − reference)" if line.kind == "compare" else "")


def draw_row(ax: Axes, y: float, line: Line, r: LineResult) -> None:
    """One line's row: its CI bar and point, or "pending" (or "no critical γ") in words."""
    at_row = blended_transform_factory(ax.transAxes, ax.transData)
    if r.result is None:
        ax.text(0.5, y, f"pending ({r.pairs}/{line.min_seeds} seeds)", transform=at_row, ha="center",
                va="center", fontsize=8, color="0.35", style="italic",
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.5})
        return
    color, marker = STYLE[r.verdict]
    low, high, delta = r.result.ci_low, r.result.ci_high, r.result.delta
    if line.kind == "critical_gamma":
        edges = (min(line.gammas), max(line.gammas))
        ax.hlines(y, *edges, color="0.88", linewidth=10, zorder=0)
        below = edges[0] - 0.1 * (edges[1] - edges[0])
        if low == -math.inf:  # resamples without a critical γ count below the range: the CI opens there
            low, high = below, max(high, below)
            ax.plot([low], [y], marker="<", color=color, linestyle="none")
    ax.hlines(y, low, high, color=color, linewidth=2)
    if math.isfinite(delta):
        ax.plot([delta], [y], marker=marker, color=color, markersize=8, linestyle="none")
    else:
        ax.text(0.98, y, "no critical γ", transform=at_row, ha="right", va="center", fontsize=8)


def claim_figure(claim: Claim, results: Sequence[LineResult]) -> Figure:
    """The claim's forest plot, one panel per x-axis quantity (in order of first appearance)."""
    panels: dict[str, list[tuple[str, Line, LineResult]]] = {}
    for i, (line, r) in enumerate(zip(claim.lines, results, strict=True)):
        panels.setdefault(axis_label(line), []).append((f"{claim.id}.{i + 1}", line, r))
    sizes = [len(p) for p in panels.values()]
    fig, axes = figure(nrows=len(panels), width=WIDTH, height=ROW_H * sum(sizes) / len(sizes) + PANEL_H)
    axes[0].get_gridspec().set_height_ratios([ROW_H * n + PANEL_H for n in sizes])
    for ax, (label, members) in zip(axes, panels.items(), strict=True):
        for y, (_, line, r) in enumerate(members):
            if line.sesoi is not None:
                ax.fill_between([-line.sesoi, line.sesoi], y - 0.4, y + 0.4, color="tab:blue", alpha=0.12,
                                linewidth=0)
            draw_row(ax, y, line, r)
        if members[0][1].kind != "critical_gamma":
            ax.axvline(0.0, color="black", linewidth=0.8)
        ax.set_yticks(range(len(members)), [f"{name} {line.setting}\nclaimed: {expectation(line)}"
                                            for name, line, _ in members], fontsize=8)
        ax.set_ylim(len(members) - 0.5, -0.5)  # the first line on top
        ax.set_xlabel(label, fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", color="0.92", linewidth=0.6)
    # The source up to its first comma (the arXiv id): a whole paper title runs off the figure.
    axes[0].set_title(f"{claim.id}: {claim.source.split(',')[0]}", fontsize=9, loc="left")
    legend = [Line2D([], [], color=c, marker=m, linestyle="-", label=v) for v, (c, m) in STYLE.items()]
    if any(line.sesoi is not None for line in claim.lines):
        legend.append(Patch(color="tab:blue", alpha=0.12, label="±SESOI"))
    axes[0].legend(handles=legend, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


def claim_figure_files(manifest: Manifest, claim: Claim, results: Sequence[LineResult]) -> dict[Path, bytes]:
    """<stem>.png and <stem>.svg of the claim's figure (render.figure_stem). Called only for a claim that
    has one (render.has_figure, decided by the caller before matplotlib is imported)."""
    return figure_bytes(claim_figure(claim, results), manifest.base / figure_stem(claim))
