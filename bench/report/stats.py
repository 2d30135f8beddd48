"""Statistics of per-seed scores without scipy at run time: Student's t distribution (through the
regularized incomplete beta function), the mean ± std and 95% CI of a metric, and the two-sided paired
t-test. Rules: docs/leaderboard.md; tests/report/test_stats.py checks every function against scipy."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


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
    """The Summary of per-seed values: no std or CI from one value, nothing from none."""
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
