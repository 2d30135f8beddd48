"""WeSaR (arXiv 2410.05052): a common small σ for every matrix, one trainable gate per matrix."""

import copy
import math

import pytest
import torch

from bench.config import InitConfig, ModelConfig
from bench.model.schemes import SCHEMES, build_model
from bench.train.trainer import lm_loss

CFG = ModelConfig(vocab_size=64, d_model=48, n_layers=3, n_heads=4, d_ff=128)


def first_adam_step(model, batch, lr=1e-3):
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0, eps=1e-12)
    lm_loss(model(batch[:, :-1]), batch[:, 1:]).backward()
    opt.step()
    return {n: p.detach() - before[n] for n, p in model.named_parameters()}, before


@pytest.mark.parametrize("backbone", ["he", "mitchell", "normal"])
def test_effective_weights_start_as_the_backbone(backbone):
    _, table = build_model(CFG, InitConfig(method="wesar", backbone=backbone))
    _, reference = build_model(CFG, InitConfig(method=backbone))
    ref = {row["name"]: row["std_expected"] for row in reference}
    for row in table:
        assert row["std_expected"] == pytest.approx(ref[row["name"]], rel=1e-12)
        if row["role"] in ("norm", "bias"):
            continue
        n = math.prod(row["shape"])
        assert row["std_measured"] == pytest.approx(row["std_expected"], rel=6 / math.sqrt(2 * n))


def test_every_matrix_but_the_embedding_is_gated_and_base_weights_share_sigma():
    model, _ = build_model(CFG, InitConfig(method="wesar", sigma2=4e-5))
    for lin in model.linears():
        assert lin.gate is not None
        assert lin.weight.std().item() == pytest.approx(math.sqrt(4e-5), rel=0.1)
    assert not hasattr(model.embed, "gate")


def test_adam_update_of_w_does_not_depend_on_the_gate():
    """Same effective weights αW with α = 1 and α = 10 (W scaled by 1/10): the first AdamW update of W is
    identical, since Adam normalizes away the α in ∂L/∂W = α ∂L/∂(αW)."""
    model, _ = build_model(CFG, InitConfig(method="wesar"))
    batch = torch.randint(0, 64, (8, 10), generator=torch.Generator().manual_seed(0))
    variants = []
    for alpha in (1.0, 10.0):
        m = copy.deepcopy(model)
        with torch.no_grad():
            for lin in m.linears():
                lin.weight.mul_(lin.gate / alpha)
                lin.gate.fill_(alpha)
        variants.append(first_adam_step(m, batch))
    (d1, _), (d10, _) = variants
    gated = [n for n in d1 if n.endswith(".weight") and ("attn." in n or "mlp." in n or n == "head.weight")]
    assert len(gated) == 3 * 7 + 1
    for name in gated:
        torch.testing.assert_close(d10[name], d1[name], rtol=1e-4, atol=1e-7)


def test_update_ratios_are_equal_across_matrices():
    """With every base matrix at the same σ, the first step's ‖ΔW‖/‖W‖ is ≈ lr/σ for all of them, whatever
    scale the backbone gives each matrix — the property that removes WeSaR's loss spikes."""
    model, _ = build_model(CFG, InitConfig(method="wesar", backbone="mitchell"))
    batch = torch.randint(0, 64, (8, 10), generator=torch.Generator().manual_seed(1))
    delta, before = first_adam_step(model, batch)
    ratios = [delta[n].norm().item() / before[n].norm().item() for n in delta
              if n.endswith(".weight") and ("attn." in n or "mlp." in n or n == "head.weight")]
    assert all(r == pytest.approx(1e-3 / math.sqrt(4e-5), rel=0.1) for r in ratios)


def test_wesar_checks():
    from bench.core.errors import BenchError
    from bench.model.schemes import check

    for bad, message in [({"backbone": "zero"}, "zero"), ({"backbone": "nope"}, "unknown WeSaR backbone"),
                         ({"backbone": "wesar"}, "unknown WeSaR backbone"), ({"sigma2": -1.0}, "--sigma2"),
                         ({"backbone": "gamma"}, "--gamma")]:
        with pytest.raises(BenchError, match=message):
            check(InitConfig(method="wesar", **bad))
    assert "wesar" in SCHEMES
