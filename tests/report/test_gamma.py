"""Critical γ and phase diagrams (bench.report.gamma) on synthetic curves and anchor-corpus suites."""

import re

import pytest
from fake_records import anchor_records, one_suite

from bench.report.gamma import GammaPoint, critical_gamma, trainable
from bench.report.render import render


def test_critical_gamma_on_a_synthetic_curve():
    def curve(losses, scores, diverged=None):
        diverged = diverged or [0] * len(losses)
        return [GammaPoint(0.3 + 0.1 * i, loss, score, d)
                for i, (loss, score, d) in enumerate(zip(losses, scores, diverged, strict=True))]

    # Reasoning rises with γ; training degrades beyond γ = 0.7 (index 4).
    losses = [2.00, 1.98, 2.00, 2.02, 2.05, 2.60, 4.60]
    scores = [0.10, 0.12, 0.20, 0.35, 0.50, 0.90, 0.95]
    assert critical_gamma(curve(losses, scores)) == pytest.approx(0.7)
    # γ = 0.8 and 0.9 reason best but do not train: the tolerance excludes them.
    assert {round(p.gamma, 1) for p in trainable(curve(losses, scores))} == {0.3, 0.4, 0.5, 0.6, 0.7}
    # A larger tolerance lets γ = 0.8 in.
    assert critical_gamma(curve(losses, scores), rel_tol=0.5) == pytest.approx(0.8)
    # One diverged seed disqualifies a γ even when its finished seeds look good.
    assert critical_gamma(curve(losses, scores, [0, 0, 0, 0, 1, 0, 0])) == pytest.approx(0.6)
    # Nothing trains -> none; no reasoning score -> none.
    assert critical_gamma(curve([None] * 3, [0.1, 0.2, 0.3], [2, 2, 2])) is None
    assert critical_gamma(curve([2.0, 2.0], [None, None])) is None
    # Ties in the score go to the lower loss.
    assert critical_gamma(curve([2.0, 1.99], [0.5, 0.5])) == pytest.approx(0.4)
    # The absolute floor: near-zero losses 0.01 and 0.04 both count as trained.
    assert critical_gamma(curve([0.01, 0.04], [0.1, 0.9])) == pytest.approx(0.4)


def test_anchor_suite_gets_a_phase_diagram_and_critical_gamma_per_depth(tmp_path):
    suite = one_suite(anchor_records(), tmp_path)
    assert suite.headline == "anchor_inferential" and suite.reasoning_metric == "anchor_inferential"
    assert suite.reference == "gamma-0.5 [n_layers=2]"
    assert [(s.family, s.critical) for s in suite.sweeps] == [("n_layers=2", 1.2), ("n_layers=3", 0.8)]
    (phase,) = suite.phases
    assert phase.gammas == [0.5, 0.8, 1.2] and phase.depths == [2, 3]
    text = render([suite], "github")
    assert "### Phase diagram: nano/anchor/16k-tok" in text
    compact = re.sub(" +", " ", text)
    assert "| 0.8 | 0.70 / 0.30 | 0.70 / 0.30* |" in compact  # the critical γ of depth 3
    assert "| 1.2 | 0.91 / 0.09* | 0.91 / 0.09 † |" in compact  # depth 3 does not train at γ = 1.2
    assert "Critical γ (n_layers=3): 0.8 (of γ 0.5, 0.8, 1.2) — the γ with the best anchor" in text
    assert "; a point estimate without an interval, which differences within noise decide" in text
