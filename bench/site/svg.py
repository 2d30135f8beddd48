"""Line charts as inline SVG: a run page draws its curves from the record itself, with no plotting
library, no image files and nothing to fetch."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

# Colour-blind-safe (Okabe–Ito), in the order lines are drawn.
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#f0e442", "#000000")
W, H, LEFT, RIGHT, TOP, BOTTOM = 520, 260, 58, 130, 26, 34


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def line_chart(title: str, series: dict[str, Sequence[tuple[float, float]]], xlabel: str = "step",
               log_y: bool = False) -> str:
    """One chart, one polyline per named series; non-finite points (and non-positive ones on a log axis)
    are left out. Empty string when nothing is drawable."""
    def ok(y: float) -> bool:
        return math.isfinite(y) and (y > 0 or not log_y)

    clean = {k: [(x, math.log10(y) if log_y else y) for x, y in pts if math.isfinite(x) and ok(y)]
             for k, pts in series.items()}
    clean = {k: v for k, v in clean.items() if v}
    if not clean:
        return ""
    xs = [x for pts in clean.values() for x, _ in pts]
    ys = [y for pts in clean.values() for _, y in pts]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1)
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return TOP + (1 - (y - y0) / (y1 - y0)) * ph

    def ylab(y: float) -> str:
        return _fmt(10 ** y) if log_y else _fmt(y)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{W}" height="{H}" '
             f'viewBox="0 0 {W} {H}" role="img" aria-label="{html.escape(title)}">',
             f'<text x="{LEFT}" y="16" class="title">{html.escape(title)}</text>',
             f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" class="frame"/>']
    for y in (y0, (y0 + y1) / 2, y1):
        parts.append(f'<text x="{LEFT - 4}" y="{py(y) + 4:.1f}" class="tick" text-anchor="end">'
                     f"{ylab(y)}</text>")
    for x in (x0, x1):
        parts.append(f'<text x="{px(x):.1f}" y="{H - 18}" class="tick" text-anchor="middle">{_fmt(x)}</text>')
    parts.append(f'<text x="{LEFT + pw / 2}" y="{H - 4}" class="tick" text-anchor="middle">'
                 f'{html.escape(xlabel)}{" (log y)" if log_y else ""}</text>')
    for i, (name, pts) in enumerate(clean.items()):
        colour = PALETTE[i % len(PALETTE)]
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        if len(pts) == 1:
            parts.append(f'<circle cx="{px(pts[0][0]):.1f}" cy="{py(pts[0][1]):.1f}" r="3" fill="{colour}"/>')
        ly = TOP + 12 + 14 * i
        parts.append(f'<rect x="{W - RIGHT + 8}" y="{ly - 8}" width="10" height="3" fill="{colour}"/>'
                     f'<text x="{W - RIGHT + 22}" y="{ly}" class="tick">{html.escape(name[:20])}</text>')
    parts.append("</svg>")
    return "".join(parts)
