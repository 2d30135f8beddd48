import math

import pytest
from tinyconfig import tiny_config

from bench.data.corpus import load_corpus
from bench.model.schemes import SCHEMES
from bench.train.scale_check import ScaleRow, check_scheme, flags

KNOBS = {"gamma": {"gamma": 0.5}}


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(tiny_config().data)


@pytest.mark.parametrize("method", [m for m in SCHEMES if m != "zero"])
def test_default_schemes_stay_finite(corpus, method):
    cfg = tiny_config(init={"method": method, **KNOBS.get(method, {})})
    rows, facts = check_scheme(cfg, corpus, widths=[32, 64], steps=3)
    assert {r.role for r in rows} >= {"embed", "attn_q", "mlp_out", "residual", "logits"}
    assert all(math.isfinite(r.rms_init) and math.isfinite(r.rms_trained) for r in rows)
    assert all(math.isfinite(f["loss"]) and not f["identical_neurons"] for f in facts.values())
    # At init every scheme is tame; after a few steps at this tiny config's peak LR (1e-2, no warmup)
    # WeSaR's effective update α·lr can blow up, which the check must report rather than crash on.
    assert all(r.rms_init < 100 for r in rows)


def test_zero_keeps_neurons_identical_after_training(corpus):
    rows, facts = check_scheme(tiny_config(init={"method": "zero"}), corpus, widths=[32], steps=5)
    assert facts[32]["identical_neurons"]
    assert facts[32]["loss"] == pytest.approx(math.log(corpus.vocab_size), abs=1e-4)  # uniform logits
    assert set(flags(rows).values()) == {"vanish"}


def test_huge_gamma_init_at_depth_explodes(corpus):
    cfg = tiny_config(init={"method": "gamma", "gamma": 0.05}, model={"n_layers": 8})
    rows, _ = check_scheme(cfg, corpus, widths=[64], steps=2)
    flagged = flags(rows)
    assert flagged[(64, "residual")] == "explode"
    assert max(r.rms_init for r in rows if r.role == "residual") > 100


def test_flags_on_hand_made_rows():
    rows = [ScaleRow("x", 64, "attn_out", 1.0, 1.0), ScaleRow("x", 128, "attn_out", 1.0, 2.5),
            ScaleRow("x", 64, "mlp_out", 1e-4, 1e-4), ScaleRow("x", 64, "head", 1.0, math.nan),
            ScaleRow("x", 64, "logits", 200.0, 1.0)]
    assert flags(rows) == {(64, "attn_out"): "", (128, "attn_out"): "width-growth", (64, "mlp_out"): "vanish",
                           (64, "head"): "explode", (64, "logits"): "explode"}
