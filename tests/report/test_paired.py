"""Paired tests over documents × seeds, Holm and the minimum detectable effect (bench.report.stats):
constructed cases, hand values and seeded simulations."""

import numpy as np
import pytest

from bench.report.stats import (
    DocScores,
    holm,
    mde_normal,
    mde_paired_t,
    paired_bootstrap,
    paired_t,
    t_quantile,
)


def acc(correct: np.ndarray, scale: float = 1.0) -> DocScores:
    return DocScores(correct.astype(float), np.ones(correct.shape), scale)


def test_identical_outputs_show_no_difference():
    rng = np.random.default_rng(0)
    same = rng.random((3, 500)) < 0.4
    r = paired_bootstrap([acc(same)], [acc(same)], seed=1)
    assert (r.delta, r.ci_low, r.ci_high, r.se, r.p) == (0.0, 0.0, 0.0, 0.0, 1.0)
    assert (r.seeds, r.documents, r.test) == (3, 500, "bootstrap")


def correlated(delta: float, n_docs: int = 2000, n_seeds: int = 1, seed: int = 0):
    """Two schemes sharing each document's difficulty and luck: a is right wherever b is, and on a
    further `delta` of the documents."""
    rng = np.random.default_rng(seed)
    difficulty = rng.uniform(0.1, 0.9, n_docs)
    luck = rng.random((n_seeds, n_docs))
    return luck < difficulty + delta, luck < difficulty


def test_planted_two_point_difference_on_2000_documents_is_detected():
    a, b = correlated(0.02)
    r = paired_bootstrap([acc(a)], [acc(b)], seed=2)
    assert r.delta == pytest.approx(a.mean() - b.mean())
    assert 0.01 < r.delta < 0.03 and r.ci_low > 0 and r.p < 0.01
    assert paired_bootstrap([acc(b)], [acc(a)], seed=2).ci_high < 0  # antisymmetric


def test_pairing_sees_what_an_unpaired_test_drowns_in_document_difficulty():
    a, b = correlated(0.02)
    r = paired_bootstrap([acc(a)], [acc(b)], seed=3)
    # An unpaired two-proportion test treats the shared difficulty as noise: its SE is ~5× larger and
    # the planted difference is inside its 95% interval.
    pa, pb, n = a.mean(), b.mean(), a.size
    unpaired_se = np.sqrt(pa * (1 - pa) / n + pb * (1 - pb) / n)
    assert abs(pa - pb) < 1.96 * unpaired_se
    assert r.se < unpaired_se / 3 and r.p < 0.01


def test_seed_resampling_widens_the_interval_when_seeds_disagree():
    """Documents alone would make a seed-specific effect look certain; resampling seeds shows that
    one of three seeds carries it."""
    rng = np.random.default_rng(4)
    b = rng.random((3, 2000)) < 0.5
    a = b.copy()
    a[0] |= rng.random(2000) < 0.12  # only seed 0 is better
    r = paired_bootstrap([acc(a)], [acc(b)], seed=5)
    doc_only = paired_bootstrap([acc(a[:1])], [acc(b[:1])], seed=5)
    assert r.ci_low <= 0.0 < doc_only.ci_low


def test_group_score_averages_chance_normalized_parts_and_ratio_scores():
    a1, b1 = correlated(0.05, 400, 2, seed=6)
    a2, b2 = correlated(0.0, 300, 2, seed=7)
    r = paired_bootstrap([acc(a1, 2.0), acc(a2, 4 / 3)], [acc(b1, 2.0), acc(b2, 4 / 3)], seed=8)
    expected = (2.0 * (a1.mean() - b1.mean()) + 4 / 3 * (a2.mean() - b2.mean())) / 2
    assert r.delta == pytest.approx(expected) and r.documents == 700
    # Bits per byte: Σ num / Σ den over the cells, not the mean of per-document ratios.
    num_a, num_b, den = np.array([[3.0, 1.0]]), np.array([[2.0, 1.0]]), np.array([[10.0, 1.0]])
    r = paired_bootstrap([DocScores(num_a, den)], [DocScores(num_b, den)], seed=9, resamples=50)
    assert r.delta == pytest.approx(4 / 11 - 3 / 11)


def test_holm_on_known_p_values():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.2, None, 0.9]) == [pytest.approx(0.4), None, pytest.approx(0.9)]
    assert holm([0.6, 0.7]) == [1.0, 1.0]
    assert holm([]) == []


def test_mde_formula_matches_a_simulation():
    rng = np.random.default_rng(10)
    # Document level: paired differences with std 1 over 400 documents, true effect = the MDE.
    n, sims = 400, 4000
    effect = mde_normal(1 / np.sqrt(n))
    assert effect == pytest.approx(2.8016 / 20, rel=1e-4)
    d = rng.normal(effect, 1.0, (sims, n))
    z = d.mean(axis=1) / (d.std(axis=1, ddof=1) / np.sqrt(n))
    assert np.mean(np.abs(z) > 1.959964) == pytest.approx(0.80, abs=0.03)
    # Seed level: the paired t-test over 10 seeds at its MDE.
    n = 10
    effect = mde_paired_t(1.0, n)
    d = rng.normal(effect, 1.0, (sims, n))
    t = d.mean(axis=1) / (d.std(axis=1, ddof=1) / np.sqrt(n))
    assert np.mean(np.abs(t) > t_quantile(0.975, n - 1)) == pytest.approx(0.80, abs=0.04)
    assert mde_paired_t(1.0, 1) is None


def test_paired_t_result():
    r = paired_t([3.0, 3.25, 3.05], [3.1, 3.3, 3.2])
    assert r is not None and r.test == "t" and r.seeds == 3
    assert r.delta == pytest.approx(-0.1) and r.ci_low < r.delta < r.ci_high
    assert paired_t([1.0], [2.0]) is None
