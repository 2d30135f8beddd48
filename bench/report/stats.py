"""Statistics without scipy at run time: Student's t distribution (through the regularized incomplete
beta function), the mean ± std and 95% CI of per-seed values, the two-sided paired t-test over seeds,
the paired bootstrap over documents × seeds (numpy), Holm's adjustment and the minimum detectable
effect. Rules: docs/leaderboard.md; tests/report/test_stats.py checks them against scipy, hand values
and simulations."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np


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


def summarize_accuracy(values: Sequence[float], stderr: float | None = None) -> Summary:
    """The Summary of per-seed accuracies: the t interval over seeds, or from one seed the binomial
    interval over its documents, value ± z₀.₉₇₅ · `stderr` (no interval when the stderr is unknown)."""
    if len(values) != 1 or stderr is None:
        return summarize(values)
    half = z_quantile(0.975) * stderr
    return Summary(1, values[0], None, values[0] - half, values[0] + half)


def chance_normalized(value: float, chance: float) -> float:
    """(value − chance)/(1 − chance): 0 at chance, 1 at perfect accuracy."""
    return (value - chance) / (1.0 - chance)


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


# ---------------------------------------------------------------- paired tests over documents × seeds

ALPHA = 0.05
POWER = 0.8
BOOTSTRAP_RESAMPLES = 1000


def z_quantile(q: float) -> float:
    return NormalDist().inv_cdf(q)


def mde_normal(se: float, alpha: float = ALPHA, power: float = POWER) -> float:
    """Minimum detectable effect of a two-sided test at level `alpha` with probability `power`, when the
    estimate of Δ is normal with standard error `se`: (z_{1−α/2} + z_{power}) · se (2.80 · se)."""
    return (z_quantile(1 - alpha / 2) + z_quantile(power)) * se


def mde_paired_t(diff_std: float, n: int, alpha: float = ALPHA, power: float = POWER) -> float | None:
    """The same for the paired t-test over n seeds, with the per-seed differences' std:
    (t_{1−α/2, n−1} + t_{power, n−1}) · s/√n (the usual t approximation of the non-central t)."""
    if n < 2:
        return None
    return (t_quantile(1 - alpha / 2, n - 1) + t_quantile(power, n - 1)) * diff_std / math.sqrt(n)


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment of a family of p-values (None stays None and is not counted): the
    i-th smallest of m is multiplied by m − i + 1, then made monotone and capped at 1."""
    order = sorted((p, i) for i, p in enumerate(pvalues) if p is not None)
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, (p, i) in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p))
        out[i] = running
    return out


@dataclass(frozen=True)
class PairedResult:
    """Δ = score(a) − score(b), its 95% interval, two-sided p and standard error; `test` names how."""

    delta: float
    ci_low: float
    ci_high: float
    p: float | None
    se: float
    test: str
    seeds: int
    documents: int


@dataclass(frozen=True)
class DocScores:
    """One score of one scheme over seeds × documents: score = Σ num / Σ den over the (seed, document)
    cells (accuracy: num = 0/1, den = 1; bits per byte: num = −loglik/ln 2, den = bytes). `scale`
    maps the score difference to the column (chance normalization: 1/(1 − chance))."""

    num: np.ndarray  # seeds × documents
    den: np.ndarray  # seeds × documents
    scale: float = 1.0


def _ratio(num: np.ndarray, den: np.ndarray, w: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Σ_s Σ_d w[b,s] v[b,d] num[s,d] / (the same of den) for every resample b."""
    return np.einsum("bs,sd,bd->b", w, num, v, optimize=True) / \
        np.einsum("bs,sd,bd->b", w, den, v, optimize=True)


def paired_bootstrap(a: Sequence[DocScores], b: Sequence[DocScores], seed: int,
                     resamples: int = BOOTSTRAP_RESAMPLES) -> PairedResult:
    """Paired two-way bootstrap of Δ = mean over parts of scale·(score_a − score_b). Each part (a task
    of a group score; one part for a task) holds the same seeds × documents for a and b, so every
    resample draws the init seeds (shared by all parts) and each part's documents with replacement and
    recomputes both schemes on the same cells: document difficulty and seed-specific data order cancel
    in the difference. 95% CI: percentile interval; p: share of resampled Δ at least as far from the
    observed Δ as the observed Δ is from 0 (the bootstrap distribution shifted to the null)."""
    rng = np.random.default_rng(seed)
    n_seeds = a[0].num.shape[0]
    w = rng.multinomial(n_seeds, np.full(n_seeds, 1 / n_seeds), size=resamples).astype(float)
    observed, stars = 0.0, np.zeros(resamples)
    ones_w = np.ones((1, n_seeds))
    for pa, pb in zip(a, b, strict=True):
        n_docs = pa.num.shape[1]
        v = rng.multinomial(n_docs, np.full(n_docs, 1 / n_docs), size=resamples).astype(float)
        ones_v = np.ones((1, n_docs))
        observed += pa.scale * float(_ratio(pa.num, pa.den, ones_w, ones_v)[0]
                                     - _ratio(pb.num, pb.den, ones_w, ones_v)[0])
        stars += pa.scale * (_ratio(pa.num, pa.den, w, v) - _ratio(pb.num, pb.den, w, v))
    observed, stars = observed / len(a), stars / len(a)
    low, high = np.quantile(stars, [0.025, 0.975])
    # Identical outputs give Δ* = 0 in every resample: p = 1, no difference.
    p = float((1 + np.count_nonzero(np.abs(stars - observed) >= abs(observed))) / (resamples + 1))
    return PairedResult(observed, float(low), float(high), p, float(stars.std(ddof=1)), "bootstrap",
                        n_seeds, sum(pa.num.shape[1] for pa in a))


def paired_t(x: Sequence[float], y: Sequence[float]) -> PairedResult | None:
    """The seed-level paired t-test of x against y as a PairedResult (Student-t interval of the mean
    difference); None below two pairs."""
    diffs = [p - q for p, q in zip(x, y, strict=True)]
    s = summarize(diffs)
    if s.mean is None or s.std is None or s.ci_low is None or s.ci_high is None:
        return None
    return PairedResult(s.mean, s.ci_low, s.ci_high, paired_t_test(x, y), s.std / math.sqrt(s.n), "t",
                        s.n, 0)
