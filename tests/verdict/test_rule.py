"""The verdict rule on hand-made records: each outcome, Holm across a claim's lines, selectors, the
critical-γ bootstrap and the line kinds (bench/verdict/evidence.py, docs/verdict.md)."""

import math

import pytest
from verdict_fixtures import claim, line, record, write_manifest, write_runs

from bench.core.errors import BenchError
from bench.evaluate.documents import encode
from bench.record.schema import EVAL_DOCS_FILE
from bench.report.stats import holm, paired_t_test
from bench.verdict.evidence import evaluate_claim, matches, trajectory_value
from bench.verdict.manifest import load_manifest
from bench.verdict.render import sentence

SEEDS = range(5)
BASE = [3.00, 3.20, 3.10, 3.30, 3.05]  # γ 0.5's val bpb per seed: seeds differ more than schemes


def verdicts(tmp_path, records, *lines):
    """The results of one claim whose lines read `records` (sweep `s`)."""
    write_runs(tmp_path / "runs" / "s", records)
    manifest = load_manifest(write_manifest(tmp_path, claim(lines)))
    return evaluate_claim(manifest, manifest.claims[0], {})


def pair(deltas):
    """γ 0.5 at BASE and γ 1.0 at BASE + delta, per seed."""
    return [record(0.5, s, bpb=BASE[s]) for s in SEEDS] + \
        [record(1.0, s, bpb=BASE[s] + d) for s, d in zip(SEEDS, deltas, strict=True)]


BETTER = [-0.050, -0.045, -0.055, -0.052, -0.048]  # γ 1.0 lower at every seed


def test_reproduced_when_significant_in_the_claimed_direction(tmp_path):
    (r,) = verdicts(tmp_path, pair(BETTER), line(expect="lower"))
    assert r.verdict == "reproduced" and r.pairs == 5 and r.lr_tuned is False
    assert r.result.test == "t" and math.isclose(r.result.delta, sum(BETTER) / 5)
    assert r.result.ci_low < r.result.delta < r.result.ci_high < 0
    assert r.p_holm == r.result.p < 0.05 and r.mde is not None and r.mde > 0
    scheme, reference = r.means
    assert math.isclose(scheme, (sum(BASE) + sum(BETTER)) / 5) and math.isclose(reference, sum(BASE) / 5)


def test_a_line_whose_differences_do_not_vary_is_inconclusive_without_p_or_mde(tmp_path):
    # As WeSaR against He on loss spikes at nano: every seed pair gives the same value (no spike in any
    # run), so there is nothing to test; the sentence says that instead of "MDE = 0".
    (r,) = verdicts(tmp_path, pair([0.0] * 5), line(expect="lower"))
    assert r.verdict == "inconclusive" and r.result.delta == 0 and r.result.p is None and r.mde is None
    manifest = load_manifest(write_manifest(tmp_path / "doc", claim([line(expect="lower")])))
    assert sentence(manifest.claims[0], manifest.claims[0].lines[0], r) == (
        "inconclusive: Δ = +0 at every one of 5 seeds (paired t-test over seeds), so there is no variation "
        "to test: no p and no MDE; seed means 3.13 (scheme) vs 3.13 (reference).")


def test_task_metrics_with_per_document_outputs_use_the_paired_bootstrap(tmp_path):
    """γ 1.0 answers 60 of 100 held-out anchor documents right, γ 0.5 the first 40, at every seed."""
    records = []
    for gamma, right in ((0.5, 40), (1.0, 60)):
        for s in range(3):
            records.append(record(gamma, s, eval_={"anchor_unseen": {"acc_inferential": right / 100}}))
    out = write_runs(tmp_path / "runs" / "s", records)
    for r in records:
        right = 60 if r["config"]["init"]["gamma"] == 1.0 else 40
        outcomes = [float(d < right) for d in range(100)]
        docs = {"doc_id": list(range(100)), "metrics": {"acc_inferential": outcomes},
                "gold_ll": None, "best_ll": None, "loglik": None, "bytes": None}
        docfile = {"version": 1, "tasks": {"anchor_unseen": docs}}
        (out / r["run_id"] / EVAL_DOCS_FILE).write_bytes(encode(docfile))
    lines = [line(metric="anchor_inferential", expect="higher", min_seeds=3)]
    manifest = load_manifest(write_manifest(tmp_path, claim(lines)))
    (r,) = evaluate_claim(manifest, manifest.claims[0], {})
    assert r.result.test == "bootstrap" and r.result.documents == 100 and r.result.seeds == 3
    assert r.result.delta == pytest.approx(0.2) and r.verdict == "reproduced"
    assert r.mde == pytest.approx(2.8 * r.result.se, rel=1e-3)


def test_a_diagnostic_the_leaderboard_does_not_test_is_compared_over_seeds(tmp_path):
    records = pair(BETTER)
    for r in records:
        gamma, seed = r["config"]["init"]["gamma"], r["config"]["init"]["seed"]
        r["train"]["spikes"] = (0 if gamma == 1.0 else 3) + seed % 2
    (r,) = verdicts(tmp_path, records, line(metric="spikes"))
    assert r.verdict == "reproduced" and r.result.test == "t" and r.result.delta == -3


def test_refuted_when_significant_the_other_way(tmp_path):
    (r,) = verdicts(tmp_path, pair(BETTER), line(expect="higher"))
    assert r.verdict == "refuted" and r.result.delta < 0


def test_refuted_by_equivalence_when_the_ci_lies_inside_the_sesoi(tmp_path):
    tiny = [0.001, -0.001, 0.0005, -0.0005, 0.0]
    (strict, loose) = verdicts(tmp_path, pair(tiny), line(extra="sesoi = 0.01\n"),
                               line(extra="sesoi = 0.0001\n"))
    assert -0.01 < strict.result.ci_low and strict.result.ci_high < 0.01
    assert strict.verdict == "refuted"
    assert loose.verdict == "inconclusive"  # the same CI is wider than a SESOI of 1e-4


def test_equivalence_outranks_a_significant_effect_smaller_than_the_sesoi(tmp_path):
    small = [-0.004, -0.0041, -0.0039, -0.004, -0.00405]  # reliably lower, but far below a 0.01 SESOI
    (with_sesoi, without) = verdicts(tmp_path, pair(small), line(extra="sesoi = 0.01\n"), line())
    assert with_sesoi.result.p < 0.05 and with_sesoi.result.ci_high < 0
    assert with_sesoi.verdict == "refuted" and without.verdict == "reproduced"


def test_inconclusive_when_noise_hides_the_effect(tmp_path):
    noisy = [0.08, -0.07, 0.05, -0.09, 0.02]
    (r,) = verdicts(tmp_path, pair(noisy), line())
    assert r.verdict == "inconclusive" and r.result.p > 0.05
    assert r.mde > abs(r.result.delta)  # the test could not have seen an effect this small


def test_pending_below_min_seeds_and_before_any_run(tmp_path):
    records = pair(BETTER)
    records = [r for r in records if not (r["config"]["init"]["gamma"] == 1.0
                                          and r["config"]["init"]["seed"] == 4)]
    (short,) = verdicts(tmp_path, records, line())
    assert short.verdict == "pending" and short.pairs == 4 and short.result is None
    (nothing,) = verdicts(tmp_path / "empty", [], line())
    assert nothing.verdict == "pending" and nothing.pairs == 0


def test_a_diverged_seed_is_not_a_finished_pair(tmp_path):
    records = pair(BETTER)
    records[-1] = record(1.0, 4, status="diverged")
    (r,) = verdicts(tmp_path, records, line())
    assert r.verdict == "pending" and r.pairs == 4


def test_holm_adjusts_across_the_lines_of_one_claim(tmp_path):
    # Line 1 alone is significant (p < 0.05), but not after Holm over the claim's two lines.
    weak = [-0.020, -0.030, -0.004, -0.030, -0.006]
    p1 = paired_t_test([b + d for b, d in zip(BASE, weak, strict=True)], BASE)
    assert 0.025 < p1 < 0.05
    noisy = [0.08, -0.07, 0.05, -0.09, 0.02]
    records = pair(weak) + [record(1.0, s, bpb=BASE[s] + d, eps=1e-12) for s, d in enumerate(noisy)] + \
        [record(0.5, s, bpb=BASE[s], eps=1e-12) for s in SEEDS]
    first = line(scheme='{"init.gamma" = 1.0, "model.norm_eps" = 1e-5}',
                 reference='{"init.gamma" = 0.5, "model.norm_eps" = 1e-5}')
    second = line(scheme='{"init.gamma" = 1.0, "model.norm_eps" = 1e-12}',
                  reference='{"init.gamma" = 0.5, "model.norm_eps" = 1e-12}')
    a, b = verdicts(tmp_path, records, first, second)
    assert math.isclose(a.result.p, p1)
    assert [a.p_holm, b.p_holm] == holm([a.result.p, b.result.p])
    assert a.p_holm == pytest.approx(2 * p1) and a.p_holm > 0.05
    assert a.verdict == "inconclusive" and b.verdict == "inconclusive"
    (alone,) = verdicts(tmp_path / "alone", pair(weak), line())
    assert alone.verdict == "reproduced"  # the same line as a claim of its own


def test_selectors_match_stored_config_values():
    r = record(1.0, 0, eps=1e-12, gated=True)
    assert matches(r, (("init.gamma", 1), ("model.norm_eps", 1.0000000000001e-12)))
    assert matches(r, (("model.gated_attention", True), ("data.corpus", "mixture")))
    assert not matches(r, (("model.gated_attention", 1),))  # a bool is not the number 1
    assert not matches(r, (("model.norm_eps", 1e-5),))
    assert not matches(r, (("init.sigma", 0.02),))  # a key the record lacks never matches
    assert matches(record(0.5, 0, eps=1e-5), (("eval.protocol", "quick"),))  # added keys take their default


def test_a_selector_must_pick_one_scheme_and_not_overlap(tmp_path):
    records = pair(BETTER) + [record(1.0, s, bpb=3.0, eps=1e-12) for s in SEEDS]
    with pytest.raises(BenchError, match="matches 2 schemes"):
        verdicts(tmp_path, records, line())
    with pytest.raises(BenchError, match="same runs"):
        verdicts(tmp_path / "o", pair(BETTER), line(reference='{"init.gamma" = 1.0}'))


def test_an_unannotated_lr_trial_does_not_count(tmp_path):
    records = pair(BETTER)
    del records[-1]["sweep"]  # a trial whose cell is still searching its LR
    (r,) = verdicts(tmp_path, records, line())
    assert r.verdict == "pending" and r.pairs == 4


def test_contrast_and_bucket_contrast(tmp_path):
    records = []
    for s in SEEDS:
        for gamma, inf, sym, cc, triv in [(0.8, 0.7, 0.2, 2.0, 1.0), (0.5, 0.2, 0.6, 2.3, 1.05)]:
            records.append(record(gamma, s, eval_={"anchor_unseen": {
                "acc_inferential": inf + 0.01 * s, "acc_symmetric": sym - 0.01 * s}},
                buckets={"context_constrained": {"mean_loss": cc + 0.02 * s * (gamma == 0.8)},
                         "trivial": {"mean_loss": triv}}))
    contrast = ('setting = "c"\nsweep = "s"\nkind = "contrast"\nmetric = "anchor_inferential"\n'
                'minus = "anchor_symmetric"\nscheme = {"init.gamma" = 0.8}\nexpect = "higher"\n'
                'min_seeds = 5\n')
    buckets = ('setting = "b"\nsweep = "s"\nkind = "bucket_contrast"\nscheme = {"init.gamma" = 0.8}\n'
               'reference = {"init.gamma" = 0.5}\nexpect = "lower"\nmin_seeds = 5\n')
    c, b = verdicts(tmp_path, records, contrast, buckets)
    assert c.verdict == "reproduced" and math.isclose(c.result.delta, 0.5 + 0.02 * 2, abs_tol=1e-9)
    # Δcc = −0.3 + 0.02·s, Δtrivial = −0.05: the context-constrained loss fell more under γ 0.8.
    assert b.verdict == "reproduced" and math.isclose(b.result.delta, -0.3 + 0.04 + 0.05, abs_tol=1e-9)
    # Side means: a contrast against zero has one side (its mean is Δ); buckets: cc − trivial per side.
    assert math.isclose(c.means[0], c.result.delta) and c.means[1] is None
    assert math.isclose(b.means[0], 1.0 + 0.04) and math.isclose(b.means[1], 2.3 - 1.05)


def test_trajectory_statistics_and_lines(tmp_path):
    rise_fall = [0.0, 0.4, 0.6, 0.3, 0.2]
    r = record(1.0, 0, condensation=rise_fall)
    assert trajectory_value(r, "condensation", "peak") == 0.6
    assert trajectory_value(r, "condensation", "peak_minus_final") == pytest.approx(0.4)
    assert trajectory_value(r, "condensation", "final_minus_trough") == pytest.approx(0.2)
    assert trajectory_value(record(1.0, 0), "condensation", "peak") is None  # no structure probe
    records = [record(1.0, s, condensation=[v + 0.01 * s for v in rise_fall]) for s in SEEDS] + \
        [record(0.5, s, condensation=[0.0, 0.1 + 0.01 * s, 0.1, 0.1, 0.1]) for s in SEEDS]
    peak = ('setting = "p"\nsweep = "s"\nkind = "trajectory"\nmeasure = "condensation"\nstatistic = "peak"\n'
            'scheme = {"init.gamma" = 1.0}\nreference = {"init.gamma" = 0.5}\nexpect = "higher"\n'
            'min_seeds = 5\n')
    expand = ('setting = "e"\nsweep = "s"\nkind = "trajectory"\nmeasure = "condensation"\n'
              'statistic = "peak_minus_final"\nscheme = {"init.gamma" = 1.0}\nexpect = "higher"\n'
              'min_seeds = 5\n')
    p, e = verdicts(tmp_path, records, peak, expand)
    assert p.verdict == "reproduced" and p.result.delta == pytest.approx(0.5 - 0.0)
    assert e.verdict == "reproduced" and e.result.delta == pytest.approx(0.4)  # against zero


GAMMAS = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2]


def gamma_line(min_seeds=3):
    return ('setting = "g"\nsweep = "s"\nkind = "critical_gamma"\nmetric = "rsnmem_heldout"\n'
            f'scheme = {{"data.corpus" = "rsnmem"}}\ngammas = {GAMMAS}\nmin_seeds = {min_seeds}\n')


def gamma_sweep(score, loss=lambda g, s: 1.0, seeds=range(4)):
    return [record(g, s, corpus="rsnmem", train_loss=loss(g, s),
                   eval_={"rsnmem": {"acc_reasoning_heldout": score(g, s)}}) for g in GAMMAS for s in seeds]


def test_critical_gamma_inside_the_range_is_reproduced(tmp_path):
    # Reasoning peaks at γ 0.7 at every seed; beyond γ 1.0 training fails the loss tolerance.
    peaked = gamma_sweep(lambda g, s: 0.9 - (g - 0.7) ** 2 + 0.005 * s,
                         loss=lambda g, s: 1.0 if g <= 1.0 else 2.0)
    (r,) = verdicts(tmp_path, peaked, gamma_line())
    assert r.verdict == "reproduced" and r.critical == 0.7
    assert r.result.ci_low == r.result.ci_high == 0.7 and r.result.p is None and r.p_holm is None
    # The curve the critical γ was read from goes with it: each γ's seed means, and which γ train.
    assert [p.gamma for p in r.curve] == GAMMAS and [p.loss for p in r.curve] == [1.0] * 8 + [2.0] * 2
    assert r.curve[4].score == pytest.approx(0.9 + 0.005 * 1.5)  # γ 0.7, seeds 0-3
    manifest = load_manifest(write_manifest(tmp_path / "doc", claim([gamma_line()])))
    text = sentence(manifest.claims[0], manifest.claims[0].lines[0], r)
    assert "Seed means per γ, final training loss / rsnmem held-out: 0.3: 1 / 0.748, " in text
    assert ", 1.2: 2 / 0.657; γ that train (loss within max(5 %, 0.05 nats) of the best, no seed " \
           "diverged): 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1." in text


def test_critical_gamma_at_an_edge_is_refuted_and_a_noisy_one_inconclusive(tmp_path):
    rising = gamma_sweep(lambda g, s: g)  # every γ trains and the largest reasons best
    (edge,) = verdicts(tmp_path, rising, gamma_line())
    assert edge.verdict == "refuted" and edge.critical == 1.2 and edge.result.ci_low == 1.2
    # Each seed prefers another γ: the bootstrap CI spans the range.
    spread = gamma_sweep(lambda g, s: 1.0 if math.isclose(g, [0.3, 0.6, 0.9, 1.2][s]) else 0.5)
    (noisy,) = verdicts(tmp_path / "n", spread, gamma_line())
    assert noisy.verdict == "inconclusive" and noisy.result.ci_low <= 0.3 and noisy.result.ci_high == 1.2


def test_critical_gamma_waits_for_every_gamma(tmp_path):
    records = [r for r in gamma_sweep(lambda g, s: g) if r["config"]["init"]["gamma"] != 0.9]
    (r,) = verdicts(tmp_path, records, gamma_line())
    assert r.verdict == "pending" and r.pairs == 0
    (few,) = verdicts(tmp_path / "few", gamma_sweep(lambda g, s: g, seeds=range(2)), gamma_line())
    assert few.verdict == "pending" and few.pairs == 2
