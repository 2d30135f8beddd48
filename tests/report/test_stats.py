"""Statistics without scipy at run time (bench.report.stats), checked against scipy and by hand."""

import pytest
from scipy import special, stats

from bench.report.stats import (
    Summary,
    paired_t_test,
    regularized_beta,
    summarize,
    t_quantile,
    t_two_sided_p,
)


def test_incomplete_beta_and_t_distribution_match_scipy():
    for a, b, x in [(0.5, 0.5, 0.3), (1.5, 0.5, 0.9), (2.0, 3.0, 0.4), (10.0, 0.5, 0.99), (0.5, 20.0, 0.01)]:
        assert regularized_beta(a, b, x) == pytest.approx(special.betainc(a, b, x), rel=1e-10, abs=1e-14)
    for df in (1, 2, 3, 7, 30):
        for t in (0.0, 0.3, 1.0, 2.5, 10.0):
            assert t_two_sided_p(t, df) == pytest.approx(2 * stats.t.sf(t, df), rel=1e-9, abs=1e-15)
        for q in (0.6, 0.9, 0.975, 0.995):
            assert t_quantile(q, df) == pytest.approx(stats.t.ppf(q, df), rel=1e-9)


def test_summary_and_paired_test_match_scipy_and_hand_values():
    values = [3.0, 3.25, 3.05]
    s = summarize(values)
    assert s.n == 3 and s.mean == pytest.approx(sum(values) / 3)
    assert s.std == pytest.approx(stats.tstd(values))
    low, high = stats.t.interval(0.95, 2, loc=s.mean, scale=stats.sem(values))
    assert (s.ci_low, s.ci_high) == (pytest.approx(low), pytest.approx(high))
    assert summarize([2.0]) == Summary(1, 2.0)  # no std or CI from one seed
    assert summarize([]) == Summary()
    x, y = [3.0, 3.25, 3.05, 2.9], [3.1, 3.3, 3.2, 3.0]
    assert paired_t_test(x, y) == pytest.approx(stats.ttest_rel(x, y).pvalue, rel=1e-9)
    # Differences 1, 2, 3: t = 2 / (1 / √3) = 2√3 with 2 degrees of freedom.
    by_hand = 2 * stats.t.sf(2 * 3 ** 0.5, 2)
    assert paired_t_test([1.0, 2.0, 3.0], [0.0, 0.0, 0.0]) == pytest.approx(by_hand)
    assert paired_t_test([1.0], [0.0]) is None
    assert paired_t_test([1.0, 2.0], [1.0, 2.0]) is None
