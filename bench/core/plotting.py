"""Figures as files: every figure is written as PNG and SVG, atomically and byte-reproducibly (fixed
SVG ids, no timestamps), with matplotlib's headless Agg backend so no display is ever needed. One setup
for every stage that draws (a run's figures, the leaderboard's), so all of them stay reproducible."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after use(): the backend must be chosen first
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bench.core.files import write_bytes

# SVG element ids are random unless salted; PNG/SVG embed the date and version unless told not to.
matplotlib.rcParams["svg.hashsalt"] = "initbench"
_METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}


def figure(ncols: int = 1, nrows: int = 1, width: float = 5.0,
           height: float = 3.6) -> tuple[Figure, list[Axes]]:
    """A figure and its axes as a flat list."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    return fig, [ax for row in axes for ax in row]


def save(fig: Figure, stem: Path) -> list[Path]:
    """Write `stem`.png and `stem`.svg; returns the paths."""
    fig.tight_layout()
    paths = []
    for fmt in ("png", "svg"):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=120, metadata=_METADATA[fmt])
        path = stem.with_name(f"{stem.name}.{fmt}")
        write_bytes(path, buf.getvalue())
        paths.append(path)
    plt.close(fig)
    return paths
