"""γ-init sweeps: which γ values train, the critical γ, and phase diagrams over γ × depth
(docs/leaderboard.md).

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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.report.records import number
from bench.report.rows import Row
from bench.report.suites import canonical, describe, differing_keys

CRITICAL_REL_TOL = 0.05
CRITICAL_ABS_TOL = 0.05


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


@dataclass
class GammaSweep:
    """One γ family: its rows and points in γ order, and its critical γ."""

    family: str
    rows: list[Row]  # sorted by γ
    points: list[GammaPoint]
    critical: float | None


@dataclass
class PhaseDiagram:
    """One γ × depth family: the row of each (γ, n_layers) cell."""

    family: str
    gammas: list[float]
    depths: list[int]
    cells: dict[tuple[float, int], Row]


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
    """Each γ family with two or more γ values, one row each, and its critical γ by `metric`."""
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
    """γ × depth grids of the γ families that differ in depth, where each cell is one row."""
    out = []
    for family, group in sorted(gamma_families(rows, also_vary=("model.n_layers",)).items()):
        cells = {(float(r.flat["init.gamma"]), r.flat["model.n_layers"]): r for r in group
                 if isinstance(r.flat.get("model.n_layers"), int)}
        gammas = sorted({g for g, _ in cells})
        if len(gammas) >= 2 and len(cells) == len(group):
            out.append(PhaseDiagram(family, gammas, sorted({d for _, d in cells}), cells))
    return out
