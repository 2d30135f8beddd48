import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from tinyconfig import tiny_config

from bench.config import ModelConfig, ProbeConfig
from bench.model.schemes import build_model
from bench.model.transformer import Transformer
from bench.probes.structure import (
    StructureProbe,
    causal_average_distance,
    condensation,
    effective_rank,
    sink_mass,
    top_eig_share,
    update_ratio,
)
from bench.run.pipeline import build_trainer, execute, plan


def test_effective_rank_of_identity_rank_one_and_gaussian():
    assert effective_rank(torch.eye(16)) == pytest.approx(16, rel=1e-5)
    assert effective_rank(5 * torch.eye(16)) == pytest.approx(16, rel=1e-5)  # scale-free
    rank1 = torch.outer(torch.randn(20, generator=torch.Generator().manual_seed(0)), torch.arange(1.0, 9))
    assert effective_rank(rank1) == pytest.approx(1, rel=1e-4)
    w = torch.randn(40, 24, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    s = np.linalg.svd(w.numpy(), compute_uv=False)
    p = s / s.sum()
    expected = math.exp(-(p * np.log(p)).sum())
    assert 1 < expected < 24
    assert effective_rank(w) == pytest.approx(expected, rel=1e-5)
    assert effective_rank(torch.zeros(4, 4)) == 0.0
    assert math.isnan(effective_rank(torch.full((3, 3), math.inf)))


def test_condensation_of_copies_orthogonal_and_zero_neurons():
    v = torch.randn(8, generator=torch.Generator().manual_seed(0))
    copies = torch.stack([v, 2 * v, -v, 0.5 * v])  # anti-parallel counts: |cos| = 1
    assert condensation(copies) == 1.0
    assert condensation(torch.eye(6)) == 0.0
    # Rows 0, 1 parallel, row 2 orthogonal to them, row 3 zero: 1 close pair out of 6.
    w = torch.tensor([[1.0, 0, 0], [3.0, 0.1, 0], [0, 0, 1.0], [0, 0, 0]])
    assert condensation(w) == pytest.approx(1 / 6)
    assert condensation(w, threshold=0.9999) == 0.0
    assert condensation(torch.zeros(5, 3)) == 0.0


def test_condensation_blocks_agree_with_one_gram(monkeypatch):
    w = torch.randn(50, 4, generator=torch.Generator().manual_seed(2))
    whole = condensation(w, 0.5)
    monkeypatch.setattr("bench.probes.structure.GRAM_BLOCK_ELEMENTS", 7 * 50)  # blocks of 7 rows
    assert condensation(w, 0.5) == whole
    u = F.normalize(w, dim=1)
    cos = (u @ u.T).abs()
    assert whole == pytest.approx(float(((cos > 0.5).sum() - 50) / (50 * 49)))


def test_top_eig_share():
    g = torch.Generator().manual_seed(3)
    rank1 = torch.outer(torch.randn(100, generator=g), torch.randn(16, generator=g))
    assert top_eig_share(rank1) == pytest.approx(1.0, abs=1e-5)
    assert top_eig_share(rank1 + 7.0) == pytest.approx(1.0, abs=1e-5)  # the mean row is removed
    iso = torch.cat([torch.eye(16), -torch.eye(16)])  # centered, covariance ∝ I
    assert top_eig_share(iso) == pytest.approx(1 / 16)
    assert top_eig_share(torch.ones(5, 4)) == 0.0


def uniform_causal(t: int) -> torch.Tensor:
    u = torch.ones(t, t).tril()
    return u / u.sum(-1, keepdim=True)


def first_token_only(t: int) -> torch.Tensor:
    p = torch.zeros(t, t)
    p[:, 0] = 1.0
    return p


def test_sink_mass_of_hand_set_attention():
    probs = torch.zeros(2, 1, 3, 3)  # (B, H, T, T)
    probs[:, :, 0, 0] = 1.0
    probs[0, 0, 1] = torch.tensor([0.5, 0.5, 0])
    probs[0, 0, 2] = torch.tensor([0.2, 0.3, 0.5])
    probs[1, 0] = first_token_only(3)
    # Queries 1, 2 of both batch rows: (0.5 + 0.2 + 1 + 1) / 4; query 0 (always 1) does not count.
    assert sink_mass(probs) == pytest.approx(0.675)
    assert sink_mass(uniform_causal(4)) == pytest.approx((1 / 2 + 1 / 3 + 1 / 4) / 3)


def test_causal_average_distance():
    assert causal_average_distance(uniform_causal(6).expand(2, 3, 6, 6)) == pytest.approx(0.0, abs=1e-7)
    # Row i of the first-token map: ½(|1 − 1/(i+1)| + i/(i+1)) = i/(i+1); mean over i = 1..3.
    assert causal_average_distance(first_token_only(4)) == pytest.approx((1 / 2 + 2 / 3 + 3 / 4) / 3)
    eye = torch.eye(4)  # attending to itself only: the same distance as to the first token
    assert causal_average_distance(eye) == pytest.approx(causal_average_distance(first_token_only(4)))


def test_update_ratio():
    w = torch.tensor([[3.0, 4.0]])
    assert update_ratio(w, w + torch.tensor([[0.0, 0.5]])) == pytest.approx(0.1)
    assert update_ratio(w, w) == 0.0
    assert update_ratio(torch.zeros(2, 2), torch.ones(2, 2)) == math.inf


MODEL_VARIANTS = {
    "rope": {},
    "learned-post-norm-gated": {"pos_encoding": "learned", "norm_position": "post", "gated_attention": True,
                                "bias": True},
}


@pytest.mark.parametrize("variant", MODEL_VARIANTS, ids=list(MODEL_VARIANTS))
def test_explicit_attention_probs_reproduce_sdpa(variant):
    torch.manual_seed(0)
    model = Transformer(ModelConfig(vocab_size=50, d_model=32, n_layers=3, n_heads=4, d_ff=48, max_seq_len=16,
                                    **MODEL_VARIANTS[variant]))
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.3)
    idx = torch.randint(0, 50, (2, 11))
    probs = model.attention_probs(idx)
    assert len(probs) == 3 and all(p.shape == (2, 4, 11, 11) for p in probs)
    seen = []
    hooks = [b.attn.register_forward_hook(lambda m, args, out: seen.append((m, args))) for b in model.blocks]
    model(idx)
    for h in hooks:
        h.remove()
    for p, (attn, (x, rope)) in zip(probs, seen, strict=True):
        torch.testing.assert_close(p.sum(-1), torch.ones(2, 4, 11))
        assert torch.all(p.triu(1) == 0)
        q, k, v = attn.qkv(x, rope)
        fused = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        torch.testing.assert_close(p @ v, fused, atol=1e-5, rtol=1e-5)
    assert model.attention_probs(idx, reduce=sink_mass) == [sink_mass(p) for p in probs]
    assert not any(b.attn._forward_pre_hooks for b in model.blocks)  # the capture hooks are gone


def test_wesar_probe_measures_effective_weights():
    cfg = tiny_config(init={"method": "wesar"})
    cfg.model.vocab_size = 64
    model, _ = build_model(cfg.model, cfg.init)
    mats = dict((s.name, w) for s, w in model.matrices())
    assert "embed.weight" in mats and "blocks.0.attn.q.gate" not in mats
    lin = model.blocks[0].attn.q
    assert lin.gate is not None
    torch.testing.assert_close(mats["blocks.0.attn.q.weight"], lin.gate * lin.weight)


def tiny_trainer(root, **sections):
    """A run's trainer, with the callbacks the run stage gives it, in a fresh run directory under root."""
    p = plan(tiny_config(**sections), root, "r", None, False)
    p.run_dir.mkdir(parents=True, exist_ok=True)
    return build_trainer(p, progress=False)


def structure_probe(trainer):
    """The trainer's StructureProbe callback, or None."""
    return next((cb for cb in trainer.callbacks if isinstance(cb, StructureProbe)), None)


def test_trainer_records_snapshots_at_init_every_and_end(tmp_path):
    trainer = tiny_trainer(tmp_path, probe={"every": 25, "batch_size": 4})
    assert structure_probe(trainer).batch.shape[0] == 4
    state = trainer.run()
    snaps = state.structure
    assert [s["step"] for s in snaps] == [0, 25, 50, 59]
    json.dumps(snaps, allow_nan=False)
    roles = {"embed", "attn_q", "attn_k", "attn_v", "attn_out", "mlp_in", "mlp_out", "head"}
    for snap in snaps:
        for measure in ("effective_rank", "condensation", "update_ratio"):
            assert set(snap[measure]) == roles
            assert all(math.isfinite(v) for v in snap[measure].values())
        assert all(v > 0 for v in snap["update_ratio"].values())
        assert all(0 <= v <= 1 for v in snap["condensation"].values())
        assert math.isfinite(snap["loss"]) and snap["grad_norm"] > 0
        assert 0 < snap["embedding_top_eig_share"] <= 1
        assert len(snap["sink_mass_by_layer"]) == 2 and 0 < snap["sink_mass"] < 1
        assert 0 <= snap["causal_distance_l0"] <= 1
        assert snap["causal_distance_l0"] == snap["causal_distance_by_layer"][0]
        assert set(snap["matrices"]["blocks.1.mlp.down.weight"]) == {"effective_rank", "condensation",
                                                                     "update_ratio"}
    init = snaps[0]
    assert init["effective_rank"]["attn_q"] > 16  # a random 32×32 matrix is far from low rank
    assert init["loss"] > 4.0  # ≈ ln(vocab): measured before the first update


def test_probe_leaves_training_untouched(tmp_path):
    on = tiny_trainer(tmp_path / "on", probe={"every": 7})
    off = tiny_trainer(tmp_path / "off", probe={"every": 0})
    assert structure_probe(off) is None
    a, b = on.run(stop_at=15), off.run(stop_at=15)
    assert a.final_loss == b.final_loss and len(a.structure) == 3 and b.structure == []
    for (name, wa), wb in zip(on.model.state_dict().items(), off.model.state_dict().values(), strict=True):
        assert torch.equal(wa, wb), name


def test_small_init_attends_as_a_causal_average(tmp_path):
    """γ = 1 (σ = 1/d_in) makes q·k ≈ 0, so layer 0 averages its context at init; γ = 0.5 does not."""
    def init_distance(gamma):
        trainer = tiny_trainer(tmp_path, init={"method": "gamma", "gamma": gamma}, probe={"every": 1000})
        trainer.update(0)
        (init,) = trainer.state.structure
        return init["causal_distance_l0"]

    small, lecun = init_distance(1.0), init_distance(0.5)
    assert small < 0.02 and small < 0.2 * lecun


def test_resume_with_probes_is_bit_identical(tmp_path):
    cfg = tiny_config(probe={"every": 15})

    def run(root, **kw):
        return execute(plan(cfg, root, "r", kw.pop("resume", None), False), progress=False, **kw)

    run(tmp_path / "a")
    assert run(tmp_path / "b", stop_at=30) == {}  # interrupted after the step-20 checkpoint
    run(tmp_path / "b", resume="last")
    full = torch.load(tmp_path / "a" / "r" / "last.pt")["state"]["structure"]
    resumed = torch.load(tmp_path / "b" / "r" / "last.pt")["state"]["structure"]
    assert [s["step"] for s in full] == [0, 15, 30, 45, 59]
    assert resumed == full


def test_probe_due_steps():
    probe = StructureProbe(torch.zeros(1, 2, dtype=torch.long), ProbeConfig(every=10), last_step=24)
    assert [s for s in range(25) if probe.due(s)] == [0, 10, 20, 24]
    off = StructureProbe(torch.zeros(1, 2, dtype=torch.long), ProbeConfig(every=0), last_step=24)
    assert [s for s in range(25) if off.due(s)] == [24]
