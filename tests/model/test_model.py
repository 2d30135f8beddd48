import pytest
import torch

from bench.config import PRESETS, ModelConfig, build_config
from bench.model.schemes import build_model
from bench.model.transformer import MATRIX_ROLES, ROLES, RMSNorm, Transformer, apply_rope, rope_table
from bench.train.trainer import lm_loss

VARIANTS = {
    "default": {},
    "post-norm": {"norm_position": "post"},
    "gpt2-style": {"norm": "layernorm", "mlp": "gelu", "pos_encoding": "learned", "bias": True},
    "tied": {"tie_embeddings": True},
    "gated-attention": {"gated_attention": True},
    "spike-no-more": {"embed_scale": True, "embed_norm": True},
}


def small_cfg(**kw) -> ModelConfig:
    return ModelConfig(vocab_size=80, d_model=32, n_layers=2, n_heads=4, d_ff=48, max_seq_len=16, **kw)


@pytest.mark.parametrize("variant", VARIANTS, ids=list(VARIANTS))
def test_every_parameter_has_a_role_and_forward_is_causal(variant):
    torch.manual_seed(0)
    model = Transformer(small_cfg(**VARIANTS[variant]))
    for _, p in model.named_parameters():
        torch.nn.init.normal_(p, std=0.2)
    specs = model.param_specs()
    assert {s.name for s, _ in specs} == {n for n, _ in model.named_parameters()}
    assert all(s.role in ROLES for s, _ in specs)
    for s, _ in specs:
        if s.role in MATRIX_ROLES and s.role not in ("embed", "pos_embed", "head"):
            assert s.layer is not None, s.name
    idx = torch.randint(0, 80, (2, 12))
    logits = model(idx)
    assert logits.shape == (2, 12, 80) and torch.isfinite(logits).all()
    changed = idx.clone()
    changed[:, 8:] = (changed[:, 8:] + 1) % 80
    torch.testing.assert_close(model(changed)[:, :8], logits[:, :8])  # the future cannot leak backwards
    assert not torch.allclose(model(changed)[:, 8:], logits[:, 8:])


def test_roles_of_a_full_block():
    model = Transformer(small_cfg(gated_attention=True))
    roles = {s.name: s.role for s, _ in model.param_specs()}
    assert roles["blocks.1.attn.q.weight"] == "attn_q" and roles["blocks.1.attn.out.weight"] == "attn_out"
    assert roles["blocks.1.attn.gate.weight"] == "attn_gate"
    assert roles["blocks.0.mlp.up.weight"] == roles["blocks.0.mlp.gate.weight"] == "mlp_in"
    assert roles["blocks.0.mlp.down.weight"] == "mlp_out"
    assert roles["head.weight"] == "head" and roles["embed.weight"] == "embed"
    assert roles["final_norm.weight"] == "norm"


def test_unclaimed_parameter_is_an_error():
    model = Transformer(small_cfg())
    model.stray = torch.nn.Parameter(torch.zeros(3))
    with pytest.raises(RuntimeError, match="stray"):
        model.param_specs()


def test_rmsnorm_eps_shrinks_tiny_activations():
    # docs/science.md: with a tiny residual stream, ε = 1e-5 dominates the denominator.
    x = torch.randn(4, 768) * 1e-3
    assert RMSNorm(768, 1e-12)(x).pow(2).mean().sqrt().item() == pytest.approx(1.0, rel=1e-3)
    assert RMSNorm(768, 1e-5)(x).pow(2).mean().sqrt().item() < 0.35


def test_wesar_gates_fold_into_plain_weights():
    cfg = small_cfg()
    from bench.config import InitConfig

    model, _ = build_model(cfg, InitConfig(method="wesar"))
    assert any(s.role == "wesar_gate" for s, _ in model.param_specs())
    idx = torch.randint(0, 80, (2, 10))
    before = model(idx)
    model.fold_gates()
    assert not any(s.role == "wesar_gate" for s, _ in model.param_specs())
    plain = Transformer(cfg)
    plain.load_state_dict(model.state_dict())
    torch.testing.assert_close(plain(idx), before)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_builds_and_takes_one_step(preset):
    cfg = build_config(preset)
    cfg.model.vocab_size = 128
    model, _ = build_model(cfg.model, cfg.init)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    idx = torch.randint(0, 128, (2, 9))
    loss = lm_loss(model(idx[:, :-1]), idx[:, 1:])
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)
    assert model.flops_per_token(9) > 6 * model.n_params(non_embedding=True)


def real_rope(x, cos, sin):
    """RoPE written out on the real pairs (x[2i], x[2i+1]): the reference apply_rope must equal."""
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)


def test_rope_rotates_each_pair_as_the_real_formula_forward_and_backward():
    torch.manual_seed(0)
    table = rope_table(16, 8, 10000.0, torch.device("cpu"))
    cos, sin = table[..., 0], table[..., 1]
    assert table.shape == (16, 4, 2) and torch.allclose(cos**2 + sin**2, torch.ones(16, 4))
    assert torch.equal(cos[0], torch.ones(4)) and torch.equal(sin[0], torch.zeros(4))  # position 0 stays
    x = torch.randn(2, 3, 16, 8, dtype=torch.float64).float().requires_grad_()
    g = torch.randn(2, 3, 16, 8)
    out = apply_rope(x, table)
    (grad,) = torch.autograd.grad(out, x, g)
    x_ref = x.detach().requires_grad_()
    ref = real_rope(x_ref, cos, sin)
    (grad_ref,) = torch.autograd.grad(ref, x_ref, g)
    torch.testing.assert_close(out, ref, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(grad, grad_ref, rtol=1e-6, atol=1e-6)
    # A rotation: every pair keeps its length; position p rotates pair i by p·θ_i.
    pairs = out.detach().unflatten(-1, (-1, 2)).norm(dim=-1)
    torch.testing.assert_close(pairs, x.detach().unflatten(-1, (-1, 2)).norm(dim=-1))
    assert out.dtype == x.dtype and apply_rope(x.bfloat16(), table).dtype == torch.bfloat16
