"""Executable contracts for the init registry (docs/science.md, docs/schemes.md), OLMo-style.

Every expected std below is written out IN THIS FILE from docs/schemes.md (`FORMULAS`); nothing calls the rule
functions of `bench.model.schemes` to obtain an expectation. The tests compare the independent formula against
the run-record table (`std_expected`, `std_measured`) and against the tensors themselves:

1. per parameter, over three seeds: mean/std within a sampling tolerance derived from n, truncation and
   uniform bounds, norm gains exactly 1, biases exactly 0, WeSaR gates exactly σ_target/σ;
2. every registered scheme (the registry is iterated, so a new scheme without a formula here fails);
3. "the named rule was actually applied": exact scaled-draw identities and per-scheme signatures
   (megatron's √(2L), mitchell's 1/√(l+1), ...), plus a NaN-fill test that every parameter is written;
4. `zero` init: identical (zero) neurons that stay identical under AdamW;
5. determinism per (seed, parameter name);
6. user mistakes raise BenchError;
7. `Dist.expected_std` of truncated normals against scipy and a large sample.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
import scipy.stats
import torch
import torch.nn.functional as F

from bench.config import InitConfig, ModelConfig
from bench.core.errors import BenchError
from bench.model.schemes import SCHEMES, Dist, apply_init, build_model, uses_gates
from bench.model.transformer import Transformer

SEEDS = (0, 1, 2)
Z = 6.0  # z-bound for sampling tolerances: never flakes, yet a 10% std error on 2k elements fails (6/√4096)

# --------------------------------------------------------------------------------------------------------
# Model configurations: SMALL is the default decoder; FULL switches on every optional role and knob.

SMALL = dict(vocab_size=96, d_model=64, n_layers=3, n_heads=4, d_ff=160)
FULL = dict(SMALL, tie_embeddings=True, gated_attention=True, norm="layernorm", bias=True,
            pos_encoding="learned", mlp="gelu", embed_norm=True)
MODELS = {"small": SMALL, "full": FULL}


def model_cfg(name: str, **changes: Any) -> ModelConfig:
    return ModelConfig(**{**MODELS[name], **changes})


# --------------------------------------------------------------------------------------------------------
# Roles from parameter names, written independently of bench.model (guards against name-match bugs).

WEIGHT_ROLES = {
    "embed": "embed", "pos_embed": "pos_embed", "head": "head",
    "attn.q": "attn_q", "attn.k": "attn_k", "attn.v": "attn_v", "attn.out": "attn_out",
    "attn.gate": "attn_gate",
    "mlp.up": "mlp_in", "mlp.gate": "mlp_in", "mlp.down": "mlp_out",
}
EMBEDS = ("embed", "pos_embed")
OUT = ("attn_out", "mlp_out")


def role_of(name: str) -> str:
    module, _, leaf = name.rpartition(".")
    local = re.sub(r"^blocks\.\d+\.", "", module)
    if leaf == "bias":
        return "bias"
    if leaf == "gate":  # a Linear's scalar WeSaR gate (attn.gate.weight is the attention-gate matrix)
        return "wesar_gate"
    if leaf == "weight" and local in WEIGHT_ROLES:
        return WEIGHT_ROLES[local]
    if leaf == "weight" and "norm" in local:
        return "norm"
    raise AssertionError(f"test does not know the role of {name!r}")


def layer_of(name: str) -> int | None:
    m = re.match(r"blocks\.(\d+)\.", name)
    return int(m.group(1)) if m else None


# --------------------------------------------------------------------------------------------------------
# docs/schemes.md, written out independently.


def trunc_std_factor(c: float) -> float:
    """std of N(0, 1) truncated to [−c, c] (scipy, independent of bench's closed form)."""
    return float(scipy.stats.truncnorm(-c, c).std())


@dataclass(frozen=True)
class Expect:
    kind: str  # "normal" | "uniform" | "zero"
    scale: float = 0.0  # σ of the (untruncated) normal, or the half-width of the uniform
    trunc: float | None = None  # truncation in σ multiples

    @property
    def std(self) -> float:
        if self.kind == "zero":
            return 0.0
        if self.kind == "uniform":
            return self.scale / math.sqrt(3)
        return self.scale * (trunc_std_factor(self.trunc) if self.trunc else 1.0)

    @property
    def bound(self) -> float | None:
        if self.kind == "uniform":
            return self.scale
        return self.scale * self.trunc if self.kind == "normal" and self.trunc else None


@dataclass(frozen=True)
class P:
    """What a formula may look at: the parameter and the configs."""

    role: str
    shape: tuple[int, ...]
    layer: int | None
    mc: ModelConfig
    ic: InitConfig

    d = property(lambda self: self.mc.d_model)
    L = property(lambda self: self.mc.n_layers)
    f = property(lambda self: self.mc.d_ff)
    out = property(lambda self: self.role in OUT)

    @property
    def fan_in(self) -> int:  # weights stored (out, in); embeddings (n, d): the embed_fan_in switch
        if self.role in EMBEDS:
            return self.shape[0] if self.ic.embed_fan_in == "vocab" else self.shape[1]
        return self.shape[1]

    @property
    def fan_out(self) -> int:  # an embedding maps a one-hot row to d outputs
        return self.shape[1] if self.role in EMBEDS else self.shape[0]

    def normal(self, std: float, default_trunc: float | None = None) -> Expect:
        t = self.ic.truncate if self.ic.truncate is not None else default_trunc
        return Expect("normal", std, t or None)

    def variance(self, var: float) -> Expect:  # Glorot/He family: N(0, var) or U(±√(3 var))
        if self.ic.distribution == "uniform":
            return Expect("uniform", math.sqrt(3 * var))
        return self.normal(math.sqrt(var))


def _depth(p: P, on: bool | None = None) -> float:  # "out × 1/√(2L)" (Megatron's scaled init), knob `on`
    on = p.ic.depth_scaling if on is None else on
    return math.sqrt(2 * p.L) if p.out and on else 1.0


def _mitchell(p: P) -> Expect:
    if p.role == "attn_out":
        return p.normal(1 / math.sqrt(2 * p.d * (p.layer + 1)), 3.0)
    if p.role == "mlp_out":
        return p.normal(1 / math.sqrt(2 * p.f * (p.layer + 1)), 3.0)
    return p.normal(1 / math.sqrt(p.fan_in), 3.0)


def _he(p: P) -> Expect:
    # docs/schemes.md, WeSaR's He backbone (d width, N layers, FFN 4d): q/k/v, FFN-up, head √(1/d);
    # attn-out √(1/(2Nd));
    # FFN-down √(2/(8Nd)) = √(2/(2N·d_ff)) at d_ff = 4d (He fan-in over d_ff; literal form tested below).
    if p.role == "attn_out":
        return p.normal(math.sqrt(1 / (2 * p.L * p.d)))
    if p.role == "mlp_out":
        return p.normal(math.sqrt(2 / (2 * p.L * p.f)))
    return p.normal(math.sqrt(1 / p.d))


FORMULAS: dict[str, Callable[[P], Expect]] = {
    # PyTorch: nn.Linear kaiming_uniform(a=√5) -> U(±1/√d_in); nn.Embedding N(0, 1)
    "torch-default": lambda p: (p.normal(1.0) if p.role in EMBEDS
                                else Expect("uniform", 1 / math.sqrt(p.shape[1]))),
    "normal": lambda p: p.normal(p.ic.sigma),
    "megatron": lambda p: p.normal(p.ic.sigma / _depth(p)),
    "xavier": lambda p: p.variance(2 / (p.fan_in + p.fan_out)),
    "kaiming": lambda p: p.variance(2 / p.fan_in),
    # gpt-neox small_init_init_method: √(2/(5d)) everywhere; out roles ÷√(2L) only under small_init_depth
    "small-init": lambda p: p.normal(math.sqrt(2 / (5 * p.d)) / _depth(p, p.ic.small_init_depth)),
    "wang": lambda p: p.normal(2 / (p.L * math.sqrt(p.d)) if p.out else math.sqrt(2 / (5 * p.d))),
    "mitchell": _mitchell,
    "mtnlg": lambda p: p.normal(math.sqrt(1 / (3 * p.d)) / _depth(p)),  # Megatron's init at σ = √(1/(3d))
    "gamma": lambda p: p.normal(p.fan_in ** (-p.ic.gamma)),
    "he": _he,
    "zero": lambda p: Expect("zero"),
    # effective weights α·W start as the backbone; the ungated embeddings at σ under wesar_embed = "sigma"
    "wesar": lambda p: (p.normal(math.sqrt(p.ic.sigma2)) if p.role in EMBEDS and p.ic.wesar_embed == "sigma"
                        else FORMULAS[p.ic.backbone](p)),
}
# Biases of linear layers, by scheme (WeSaR: its backbone's); every other bias, and every norm bias, is 0.
LINEAR_BIAS: dict[str, Callable[[int], Expect]] = {
    # PyTorch nn.Linear.reset_parameters: uniform_(bias, −1/√fan_in, 1/√fan_in), fan_in = weight.size(1)
    "torch-default": lambda fan_in: Expect("uniform", 1 / math.sqrt(fan_in)),
}


def bias_expect(name: str, shapes: dict[str, Any], ic: InitConfig) -> Expect:
    """The bias `name` of a module whose weight is in `shapes` (name -> tensor or shape)."""
    method = ic.backbone if ic.method == "wesar" else ic.method
    weight = name.rpartition(".")[0] + ".weight"
    if method in LINEAR_BIAS and role_of(weight) not in ("norm", *EMBEDS):
        return LINEAR_BIAS[method](tuple(shapes[weight].shape)[1])
    return Expect("zero")


def expect(name: str, shape: tuple[int, ...], mc: ModelConfig, ic: InitConfig) -> Expect:
    assert ic.method in FORMULAS, f"scheme {ic.method!r} has no independent formula in this test"
    return FORMULAS[ic.method](P(role_of(name), tuple(shape), layer_of(name), mc, ic))


# --------------------------------------------------------------------------------------------------------
# Cases: every registered scheme with its required knobs, plus the variants.

REQUIRED_KNOBS: dict[str, dict[str, Any]] = {"gamma": {"gamma": 0.5}}
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("torch-default-trunc2", {"method": "torch-default", "truncate": 2.0}),
    ("normal-sigma0.05", {"method": "normal", "sigma": 0.05}),
    ("normal-trunc2", {"method": "normal", "truncate": 2.0}),
    ("megatron-nodepth", {"method": "megatron", "depth_scaling": False}),
    ("megatron-sigma0.01-trunc3", {"method": "megatron", "sigma": 0.01, "truncate": 3.0}),
    ("xavier-uniform", {"method": "xavier", "distribution": "uniform"}),
    ("xavier-vocab", {"method": "xavier", "embed_fan_in": "vocab"}),
    ("kaiming-uniform", {"method": "kaiming", "distribution": "uniform"}),
    ("kaiming-trunc2", {"method": "kaiming", "truncate": 2.0}),
    ("small-init-depth", {"method": "small-init", "small_init_depth": True}),
    ("small-init-megatron-knob-ignored", {"method": "small-init", "depth_scaling": False}),
    ("mtnlg-nodepth", {"method": "mtnlg", "depth_scaling": False}),
    ("mitchell-notrunc", {"method": "mitchell", "truncate": 0.0}),
    ("mitchell-trunc2", {"method": "mitchell", "truncate": 2.0}),
    ("mitchell-vocab", {"method": "mitchell", "embed_fan_in": "vocab"}),
    ("gamma1", {"method": "gamma", "gamma": 1.0}),
    ("gamma1-vocab", {"method": "gamma", "gamma": 1.0, "embed_fan_in": "vocab"}),
    ("gamma0.75-trunc2.5", {"method": "gamma", "gamma": 0.75, "truncate": 2.5}),
    ("he-trunc3", {"method": "he", "truncate": 3.0}),
    ("wesar-sigma2=1e-4", {"method": "wesar", "sigma2": 1e-4}),
    ("wesar-mitchell", {"method": "wesar", "backbone": "mitchell"}),
    ("wesar-gamma1", {"method": "wesar", "backbone": "gamma", "gamma": 1.0}),
    ("wesar-megatron", {"method": "wesar", "backbone": "megatron"}),
    ("wesar-embed-sigma", {"method": "wesar", "wesar_embed": "sigma"}),
]
CASES = [(name, {"method": name, **REQUIRED_KNOBS.get(name, {})}) for name in SCHEMES] + VARIANTS
CASE_PARAMS = [pytest.param(knobs, id=cid) for cid, knobs in CASES]


def init_cfg(knobs: dict[str, Any], seed: int = 0, **more: Any) -> InitConfig:
    return InitConfig(**{**knobs, "seed": seed, **more})


def gate_of(model: Transformer, name: str) -> torch.nn.Parameter | None:
    """The WeSaR gate multiplying weight `name`, if its module has one."""
    return dict(model.named_parameters()).get(name.rpartition(".")[0] + ".gate")


def effective(model: Transformer, name: str) -> torch.Tensor:
    w = dict(model.named_parameters())[name].detach().double()
    gate = gate_of(model, name)
    return w if gate is None else gate.detach().double() * w


def matrix_names(model: Transformer) -> list[str]:
    return [n for n, _ in model.named_parameters() if role_of(n) not in ("norm", "bias", "wesar_gate")]


def pop_std(t: torch.Tensor) -> float:
    return t.double().std(unbiased=False).item()


def assert_sample(t: torch.Tensor, exp: Expect, what: str, check_bound: bool = True) -> None:
    """Mean and std of the n draws within Z sampling sd (sd(std) ≈ σ/√(2n), sd(mean) = σ/√n); bounds."""
    if exp.kind == "zero":
        assert torch.all(t == 0), f"{what}: expected all zeros"
        return
    n = t.numel()
    std, mean = pop_std(t), t.double().mean().item()
    tol = Z / math.sqrt(2 * n)
    assert abs(std / exp.std - 1) <= tol, f"{what}: std {std:.5g}, expected {exp.std:.5g} (rel tol {tol:.3g})"
    assert abs(mean) <= Z * exp.std / math.sqrt(n), f"{what}: mean {mean:.3g} far from 0 (σ {exp.std:.3g})"
    if check_bound and exp.bound is not None:
        peak = t.abs().max().item()
        assert peak <= exp.bound * (1 + 1e-6), f"{what}: |w| max {peak:.5g} exceeds bound {exp.bound:.5g}"
        assert peak >= 0.9 * exp.bound, f"{what}: |w| max {peak:.5g} far inside bound {exp.bound:.5g}"
    elif check_bound and exp.kind == "normal":
        # untruncated: with n ≥ 4096 draws some |w| exceed 2.5σ (P(none) < e^-50)
        assert t.abs().max().item() > 2.5 * exp.scale, f"{what}: looks truncated but should not be"


# ========================================================================================================
# 1 + 2. Every parameter of every scheme matches docs/schemes.md, over three seeds.


def test_every_registered_scheme_has_an_independent_formula():
    missing = sorted(set(SCHEMES) - set(FORMULAS))
    assert not missing, f"add the formula of {missing} (docs/schemes.md) to FORMULAS in this file"


@pytest.mark.parametrize("model_name", list(MODELS))
@pytest.mark.parametrize("knobs", CASE_PARAMS)
def test_every_parameter_matches_its_rule(knobs, model_name):
    for seed in SEEDS:
        mc, ic = model_cfg(model_name), init_cfg(knobs, seed)
        model, table = build_model(mc, ic)
        rows = {r["name"]: r for r in table}
        params = dict(model.named_parameters())
        gated = ic.method == "wesar"
        # the record lists every parameter exactly once, gates excepted (they are set with their weight)
        assert len(rows) == len(table)
        assert set(rows) == {n for n in params if role_of(n) != "wesar_gate"}
        for name, param in params.items():
            role = role_of(name)
            if role == "wesar_gate":
                assert gated, f"{name}: a gate outside WeSaR"
                continue
            row = rows[name]
            assert row["role"] == role, f"{name}: record role {row['role']!r}, expected {role!r}"
            assert row["shape"] == list(param.shape)
            assert row["layer"] == layer_of(name)
            if role == "norm":
                assert torch.all(param == 1.0), f"{name}: norm gains must start exactly at 1"
                assert row["std_expected"] == 0.0
                continue
            if role == "bias":  # 0, or PyTorch's U(±1/√fan_in) for a linear layer under torch-default
                exp = bias_expect(name, params, ic)
                assert row["std_expected"] == pytest.approx(exp.std, rel=1e-9, abs=1e-15), name
                assert_sample(param.detach(), exp, f"{ic.method} seed={seed} {name}", check_bound=False)
                assert exp.bound is None or param.abs().max().item() <= exp.bound * (1 + 1e-6), name
                continue
            exp = expect(name, tuple(param.shape), mc, ic)
            what = f"{ic.method} seed={seed} {name}"
            assert row["std_expected"] == pytest.approx(exp.std, rel=1e-9, abs=1e-15), what
            gate = gate_of(model, name)
            if gated and role not in EMBEDS:
                assert gate is not None, f"{what}: WeSaR gates every matrix but the embedding"
                sigma = math.sqrt(ic.sigma2)
                assert gate.item() == pytest.approx(exp.std / sigma, rel=1e-6), f"{what}: gate ≠ σ_target/σ"
                assert_sample(param.detach(), Expect("normal", sigma), f"{what} (base W)")
            else:
                assert gate is None, f"{what}: unexpected gate"
            eff = effective(model, name)
            assert_sample(eff, exp, what)
            assert row["std_measured"] == pytest.approx(pop_std(eff), rel=1e-5, abs=1e-12), what
            assert row["mean_measured"] == pytest.approx(eff.mean().item(), rel=1e-4, abs=1e-9), what


def test_every_role_appears_in_the_two_models():
    roles = set()
    for name in MODELS:
        roles |= {role_of(n) for n, _ in Transformer(model_cfg(name)).named_parameters()}
    roles |= {role_of(n) for n, _ in Transformer(model_cfg("small"), wesar_gates=True).named_parameters()}
    assert roles == {"embed", "pos_embed", "attn_q", "attn_k", "attn_v", "attn_out", "attn_gate", "mlp_in",
                     "mlp_out", "head", "norm", "bias", "wesar_gate"}  # no fused attn_qkv in this model


def test_he_backbone_matches_wesar_paper_literally_at_ffn_4d():
    """docs/schemes.md, WeSaR's He backbone: with FFN 4d, q/k/v, FFN-up, head √(1/d); attn-out √(1/(2Nd));
    FFN-down √(2/(8Nd))."""
    mc = model_cfg("small", d_ff=256)
    d, n = mc.d_model, mc.n_layers
    literal = {"attn_out": math.sqrt(1 / (2 * n * d)), "mlp_out": math.sqrt(2 / (8 * n * d))}
    for method in ("he", "wesar"):
        model, table = build_model(mc, InitConfig(method=method))
        for row in table:
            if row["role"] in ("attn_q", "attn_k", "attn_v", "mlp_in", "head", "attn_out", "mlp_out"):
                want = literal.get(row["role"], math.sqrt(1 / d))
                assert row["std_expected"] == pytest.approx(want, rel=1e-12), (method, row["name"])
                what = f"{method} {row['name']}"
                assert_sample(effective(model, row["name"]), Expect("normal", want), what)


def test_torch_default_is_what_pytorch_modules_do():
    """The 'no init' baseline must describe real nn.Linear / nn.Embedding construction."""
    torch.manual_seed(0)
    lin, emb = torch.nn.Linear(160, 64), torch.nn.Embedding(96, 64)
    model, table = build_model(model_cfg("small"), InitConfig(method="torch-default"))
    rows = {r["name"]: r for r in table}
    down = model.blocks[0].mlp.down.weight  # (64, 160) like lin
    bound = lin.weight.abs().max().item()
    assert bound <= 1 / math.sqrt(160) + 1e-7 < bound * 1.01
    assert down.abs().max().item() <= 1 / math.sqrt(160) + 1e-7 < down.abs().max().item() * 1.01
    assert rows["blocks.0.mlp.down.weight"]["std_expected"] == pytest.approx(pop_std(lin.weight), rel=0.05)
    assert rows["embed.weight"]["std_expected"] == pytest.approx(pop_std(emb.weight), rel=0.05)


# ========================================================================================================
# 3. Each named rule was actually applied.


def test_every_parameter_is_written_by_init():
    """Fill everything with NaN first: a parameter no rule reaches would stay NaN."""
    for _, knobs in CASES:
        for name in MODELS:
            ic = init_cfg(knobs)
            model = Transformer(model_cfg(name), wesar_gates=uses_gates(ic))
            with torch.no_grad():
                for p in model.parameters():
                    p.fill_(float("nan"))
            apply_init(model, ic)
            left = [n for n, p in model.named_parameters() if not torch.isfinite(p).all()]
            assert not left, f"{ic.method}: never initialized: {left}"


@pytest.mark.parametrize("model_name", list(MODELS))
@pytest.mark.parametrize("knobs", CASE_PARAMS)
def test_same_draws_scaled_exactly_by_the_rule(knobs, model_name):
    """Each parameter has its own generator keyed by (seed, name), so an untruncated normal draw equals the
    σ=1 draw times the rule's σ: this pins the std actually applied to every parameter to ~1e-6 (WeSaR:
    α·W = (σ_target/σ)(σ z) = σ_target z)."""
    mc, ic = model_cfg(model_name), init_cfg(knobs, seed=1)
    model, _ = build_model(mc, ic)
    unit, _ = build_model(mc, InitConfig(method="normal", sigma=1.0, seed=1))
    unit_params = dict(unit.named_parameters())
    for name in matrix_names(model):
        exp = expect(name, tuple(unit_params[name].shape), mc, ic)
        gated = gate_of(model, name) is not None
        if exp.kind == "uniform" or exp.trunc:
            continue  # uniform / truncated draws are not a scaled normal
        scale = exp.std if gated else exp.scale
        want = unit_params[name].detach().double() * scale
        torch.testing.assert_close(effective(model, name), want, rtol=2e-6, atol=1e-7 * max(scale, 1e-30),
                                   msg=f"{ic.method} {name}: applied std ≠ {scale:.6g}")


def pooled_std(model: Transformer, role: str, layer: int | None = None) -> float:
    ts = [effective(model, n).flatten() for n in matrix_names(model)
          if role_of(n) == role and (layer is None or layer_of(n) == layer)]
    assert ts, f"model has no {role} (layer {layer})"
    return pop_std(torch.cat(ts))


def near(a: float, b: float, rel: float = 0.1) -> bool:
    return abs(a / b - 1) <= rel


def _sig_torch_default(m, mc, ic):
    assert near(m("attn_q"), 1 / math.sqrt(3 * mc.d_model))
    assert near(m("mlp_out"), 1 / math.sqrt(3 * mc.d_ff))
    assert near(m("embed"), 1.0)


def _sig_normal(m, mc, ic):
    for role in ("embed", "attn_q", "attn_out", "mlp_in", "mlp_out", "head"):
        assert near(m(role), ic.sigma), role


def _sig_depth_scaled(base: Callable[[ModelConfig, InitConfig], float]) -> Callable:
    def sig(m, mc, ic):
        k = math.sqrt(2 * mc.n_layers)
        assert near(m("attn_q"), base(mc, ic)) and near(m("mlp_in"), base(mc, ic))
        assert near(m("attn_q") / m("attn_out"), k), "out projections not scaled by 1/√(2L)"
        assert near(m("mlp_in") / m("mlp_out"), k), "out projections not scaled by 1/√(2L)"
    return sig


def _sig_xavier(m, mc, ic):
    d, f, v = mc.d_model, mc.d_ff, mc.vocab_size
    assert near(m("attn_q"), math.sqrt(1 / d))
    assert near(m("mlp_in"), math.sqrt(2 / (d + f))) and near(m("mlp_out"), math.sqrt(2 / (d + f)))
    assert near(m("head"), math.sqrt(2 / (d + v)))


def _sig_kaiming(m, mc, ic):
    assert near(m("attn_q"), math.sqrt(2 / mc.d_model)) and near(m("mlp_out"), math.sqrt(2 / mc.d_ff))
    assert near(m("attn_q") / m("mlp_out"), math.sqrt(mc.d_ff / mc.d_model))


def _sig_wang(m, mc, ic):
    assert near(m("attn_out"), 2 / (mc.n_layers * math.sqrt(mc.d_model)))
    assert near(m("mlp_out"), 2 / (mc.n_layers * math.sqrt(mc.d_model)))
    assert near(m("attn_q"), math.sqrt(2 / (5 * mc.d_model)))


def _sig_mitchell(m, mc, ic):
    c = trunc_std_factor(3.0)
    for layer in range(mc.n_layers):
        assert near(m("attn_q", layer), c / math.sqrt(mc.d_model))
        assert near(m("attn_out", layer), c / math.sqrt(2 * mc.d_model * (layer + 1)))
        assert near(m("mlp_out", layer), c / math.sqrt(2 * mc.d_ff * (layer + 1)))
    last = mc.n_layers - 1
    assert near(m("attn_out", 0) / m("attn_out", last), math.sqrt(mc.n_layers)), "attn_out not ∝ 1/√(l+1)"
    assert near(m("mlp_out", 0) / m("mlp_out", last), math.sqrt(mc.n_layers)), "mlp_out not ∝ 1/√(l+1)"


def _sig_mtnlg(m, mc, ic):
    _sig_depth_scaled(lambda mc, ic: math.sqrt(1 / (3 * mc.d_model)))(m, mc, ic)
    for role in ("embed", "head"):
        assert near(m(role), math.sqrt(1 / (3 * mc.d_model))), role


def _sig_small_init(m, mc, ic):  # no depth term by default: the out roles equal the rest
    for role in ("embed", "attn_q", "attn_out", "mlp_in", "mlp_out", "head"):
        assert near(m(role), math.sqrt(2 / (5 * mc.d_model))), role


def _sig_gamma(m, mc, ic):
    g = ic.gamma
    assert near(m("attn_q"), mc.d_model ** -g) and near(m("embed"), mc.d_model ** -g)
    assert near(m("mlp_out"), mc.d_ff ** -g)
    model1, _ = build_model(mc, replace(ic, gamma=2 * g))  # doubling γ divides every std by d_in^γ
    assert near(m("attn_q") / pooled_std(model1, "attn_q"), mc.d_model ** g)


def _sig_he(m, mc, ic):
    assert near(m("attn_q"), math.sqrt(1 / mc.d_model)) and near(m("head"), math.sqrt(1 / mc.d_model))
    assert near(m("attn_q") / m("attn_out"), math.sqrt(2 * mc.n_layers))
    assert near(m("mlp_out"), math.sqrt(1 / (mc.n_layers * mc.d_ff)))


def _sig_zero(m, mc, ic):
    for role in ("embed", "attn_q", "attn_out", "mlp_in", "mlp_out", "head"):
        assert m(role) == 0.0, role


def _sig_wesar(m, mc, ic):
    _sig_he(m, mc, ic)
    model, _ = build_model(mc, ic)
    assert not any(n.startswith("embed.") and n.endswith(".gate") for n, _ in model.named_parameters())
    sigma = math.sqrt(ic.sigma2)
    blk = model.blocks[0]
    for lin in (blk.attn.q, blk.attn.out, blk.mlp.up, blk.mlp.down, model.head):
        assert near(pop_std(lin.weight.detach()), sigma), "base weights share one common σ"
    assert blk.attn.q.gate.item() / blk.attn.out.gate.item() == pytest.approx(math.sqrt(2 * mc.n_layers))


SIGNATURES: dict[str, Callable] = {
    "torch-default": _sig_torch_default,
    "normal": _sig_normal,
    "megatron": _sig_depth_scaled(lambda mc, ic: ic.sigma),
    "xavier": _sig_xavier,
    "kaiming": _sig_kaiming,
    "small-init": _sig_small_init,
    "wang": _sig_wang,
    "mitchell": _sig_mitchell,
    "mtnlg": _sig_mtnlg,
    "gamma": _sig_gamma,
    "he": _sig_he,
    "zero": _sig_zero,
    "wesar": _sig_wesar,
}


def test_every_registered_scheme_has_a_signature():
    missing = sorted(set(SCHEMES) - set(SIGNATURES))
    assert not missing, f"add a 'rule was applied' signature for {missing} to SIGNATURES"


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_named_rule_was_applied(scheme):
    """Scheme-specific relations between roles (a silent name-match bug would leave them at ratio 1), and
    every role whose formula differs from torch-default's must measurably differ from it."""
    mc, ic = model_cfg("small"), init_cfg({"method": scheme, **REQUIRED_KNOBS.get(scheme, {})})
    model, _ = build_model(mc, ic)
    SIGNATURES[scheme](lambda role, layer=None: pooled_std(model, role, layer), mc, ic)
    if scheme == "torch-default":
        return
    td = replace(ic, method="torch-default")
    for name in matrix_names(model):
        shape = tuple(dict(model.named_parameters())[name].shape)
        ours, theirs = expect(name, shape, mc, ic).std, expect(name, shape, mc, td).std
        if not near(ours, theirs, 0.25):
            measured = pop_std(effective(model, name))
            assert not near(measured, theirs), f"{scheme}: {name} left at torch default"


def test_megatron_attn_out_is_attn_q_over_sqrt_2L_exactly():
    mc = model_cfg("small")
    ref, _ = build_model(mc, InitConfig(method="normal"))
    meg, table = build_model(mc, InitConfig(method="megatron"))
    k = math.sqrt(2 * mc.n_layers)
    rows = {r["name"]: r for r in table}
    for layer in range(mc.n_layers):
        q, o = rows[f"blocks.{layer}.attn.q.weight"], rows[f"blocks.{layer}.attn.out.weight"]
        assert q["std_expected"] / o["std_expected"] == pytest.approx(k, rel=1e-12)
        assert torch.equal(meg.blocks[layer].attn.q.weight, ref.blocks[layer].attn.q.weight)
        torch.testing.assert_close(meg.blocks[layer].attn.out.weight, ref.blocks[layer].attn.out.weight / k)


def test_mitchell_out_std_decreases_with_layer():
    mc = model_cfg("small", n_layers=4)
    _, table = build_model(mc, InitConfig(method="mitchell"))
    for role in OUT:
        stds = [r["std_expected"] for r in sorted(table, key=lambda r: r["layer"] or 0) if r["role"] == role]
        assert len(stds) == 4 and stds == sorted(stds, reverse=True) and len(set(stds)) == 4
        assert [stds[0] / s for s in stds] == pytest.approx([math.sqrt(i + 1) for i in range(4)])
    q = {r["std_expected"] for r in table if r["role"] == "attn_q"}
    assert len(q) == 1


def test_overrides_are_applied_and_leave_the_rest_alone():
    mc = model_cfg("small")
    base, _ = build_model(mc, InitConfig(method="mitchell"))
    ov, table = build_model(mc, InitConfig(method="mitchell", gamma=1.0,
                                           overrides=["attn_out.std=0.5", "mlp_out=zero", "head=gamma"]))
    rows = {r["name"]: r for r in table}
    for name, p in ov.named_parameters():
        role = role_of(name)
        if role == "attn_out":
            assert rows[name]["std_expected"] == 0.5
            assert_sample(p.detach(), Expect("normal", 0.5), name)
        elif role == "mlp_out":
            assert torch.all(p == 0)
        elif role == "head":
            assert rows[name]["std_expected"] == pytest.approx(1 / mc.d_model)
            assert_sample(p.detach(), Expect("normal", 1 / mc.d_model), name)
        else:
            assert torch.equal(p, dict(base.named_parameters())[name]), f"override changed {name}"


# ========================================================================================================
# 4. zero init: identical neurons, and they stay identical under AdamW (the symmetry failure).


def rows_identical(w: torch.Tensor) -> bool:
    return torch.equal(w, w[:1].expand_as(w))


def train(model: Transformer, vocab: int, steps: int = 5) -> list[float]:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    tokens = torch.randint(0, vocab, (4, 17), generator=torch.Generator().manual_seed(0))
    losses = []
    for _ in range(steps):
        logits = model(tokens[:, :-1])
        loss = F.cross_entropy(logits.flatten(0, 1), tokens[:, 1:].flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


NEURONS = ("mlp_in", "attn_q", "attn_k", "attn_v", "attn_out", "mlp_out", "attn_gate")


@pytest.mark.parametrize("model_name", list(MODELS))
def test_zero_init_gives_identical_neurons(model_name):
    model, _ = build_model(model_cfg(model_name), InitConfig(method="zero"))
    for name in matrix_names(model):
        w = dict(model.named_parameters())[name]
        assert torch.all(w == 0) and rows_identical(w), name


@pytest.mark.parametrize("model_name", list(MODELS))
@pytest.mark.parametrize("trained_io", [False, True], ids=["all-zero", "embed+head-normal"])
def test_zero_init_neurons_stay_identical_under_adamw(model_name, trained_io):
    mc = model_cfg(model_name)
    io = ["embed=normal"] + ([] if mc.tie_embeddings else ["head=normal"])
    model, _ = build_model(mc, InitConfig(method="zero", overrides=io if trained_io else []))
    losses = train(model, mc.vocab_size)
    if trained_io:
        assert losses[-1] < losses[0], "embeddings/head should still learn"
    else:  # nothing receives a gradient: the model is frozen at the uniform prediction
        assert losses == pytest.approx([math.log(mc.vocab_size)] * len(losses), rel=1e-6)
    checked = 0
    for name in matrix_names(model):
        if role_of(name) in NEURONS:
            assert rows_identical(dict(model.named_parameters())[name].detach()), f"{name}: neurons diverged"
            checked += 1
    assert checked >= 3 * mc.n_layers


def test_symmetry_check_detects_distinct_neurons():
    """Control: under a random init, mlp_in / attn_q rows are distinct and stay distinct."""
    mc = model_cfg("small")
    model, _ = build_model(mc, InitConfig(method="normal"))
    losses = train(model, mc.vocab_size)
    assert losses[-1] < losses[0]
    for name in matrix_names(model):
        if role_of(name) in ("mlp_in", "attn_q"):
            assert not rows_identical(dict(model.named_parameters())[name].detach())


# ========================================================================================================
# 5. Determinism.


def state(model: Transformer) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("knobs", CASE_PARAMS[: len(SCHEMES)])
def test_same_seed_same_tensors_other_seed_other_tensors(knobs):
    mc = model_cfg("full")
    a = state(build_model(mc, init_cfg(knobs, seed=3))[0])
    b = state(build_model(mc, init_cfg(knobs, seed=3))[0])
    c = state(build_model(mc, init_cfg(knobs, seed=4))[0])
    assert a.keys() == b.keys() == c.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
        random = role_of(name) not in ("norm", "bias", "wesar_gate") and knobs["method"] != "zero"
        random = random or (role_of(name) == "bias" and bias_expect(name, a, init_cfg(knobs)).kind != "zero")
        assert torch.equal(a[name], c[name]) != random, f"{name}: seed {'ignored' if random else 'used'}"


@pytest.mark.parametrize("method", ["normal", "mitchell", "wesar"])
@pytest.mark.parametrize("change", [{"gated_attention": True}, {"tie_embeddings": True}, {"bias": True},
                                    {"pos_encoding": "learned"}, {"embed_norm": True}],
                         ids=lambda c: next(iter(c)))
def test_adding_a_parameter_does_not_change_the_others(method, change):
    mc = model_cfg("small")
    a = state(build_model(mc, InitConfig(method=method))[0])
    b = state(build_model(replace(mc, **change), InitConfig(method=method))[0])
    common = a.keys() & b.keys()
    assert "blocks.0.attn.q.weight" in common
    for name in common:
        assert torch.equal(a[name], b[name]), f"{name} changed when {change} was set"


def test_parameters_of_one_model_draw_independently():
    """Per-parameter generators must be keyed by the name too: q/k/v, up/gate and equal-shaped matrices of
    different layers must not share (or correlate) their draws."""
    model, _ = build_model(model_cfg("full", mlp="swiglu"), InitConfig(method="normal"))
    params = {n: dict(model.named_parameters())[n].detach().double().flatten() for n in matrix_names(model)}
    names = sorted(params)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            x, y = params[a], params[b]
            if x.shape == y.shape:
                corr = torch.corrcoef(torch.stack([x, y]))[0, 1].item()
                assert abs(corr) < Z / math.sqrt(x.numel()), f"{a} and {b} correlate (corr {corr:.3f})"


def test_adding_a_layer_does_not_change_earlier_draws():
    mc = model_cfg("small")
    a = state(build_model(mc, InitConfig(method="normal"))[0])
    b = state(build_model(replace(mc, n_layers=4), InitConfig(method="normal"))[0])
    assert set(a) < set(b)
    for name in a:
        assert torch.equal(a[name], b[name]), name


# ========================================================================================================
# 6. User mistakes raise BenchError.

BAD_CONFIGS = {
    "unknown-method": dict(method="nosuch"),
    "gamma-missing": dict(method="gamma"),
    "gamma-negative": dict(method="gamma", gamma=-0.5),
    "gamma-inf": dict(method="gamma", gamma=math.inf),
    "gamma-nan": dict(method="gamma", gamma=math.nan),
    "normal-sigma-negative": dict(method="normal", sigma=-0.02),
    "megatron-sigma-nan": dict(method="megatron", sigma=math.nan),
    "wesar-backbone-zero": dict(method="wesar", backbone="zero"),
    "wesar-backbone-unknown": dict(method="wesar", backbone="nosuch"),
    "wesar-backbone-wesar": dict(method="wesar", backbone="wesar"),
    "wesar-backbone-gamma-missing": dict(method="wesar", backbone="gamma"),
    "wesar-sigma2-zero": dict(method="wesar", sigma2=0.0),
    "wesar-sigma2-negative": dict(method="wesar", sigma2=-4e-5),
    "wesar-sigma2-nan": dict(method="wesar", sigma2=math.nan),
    "wesar-sigma2-inf": dict(method="wesar", sigma2=math.inf),
    "truncate-negative": dict(method="normal", truncate=-1.0),
    "truncate-nan": dict(method="mitchell", truncate=math.nan),
    "truncate-inf": dict(method="normal", truncate=math.inf),
    "override-unknown-role": dict(method="normal", overrides=["foo=normal"]),
    "override-norm-role": dict(method="normal", overrides=["norm=normal"]),
    "override-gate-role": dict(method="normal", overrides=["wesar_gate.std=0.1"]),
    "override-absent-qkv": dict(method="normal", overrides=["attn_qkv=normal"]),
    "override-absent-attn-gate": dict(method="normal", overrides=["attn_gate.std=0.1"]),
    "override-absent-pos-embed": dict(method="normal", overrides=["pos_embed=normal"]),
    "override-no-equals": dict(method="normal", overrides=["attn_q"]),
    "override-empty-rhs": dict(method="normal", overrides=["attn_q="]),
    "override-empty-lhs": dict(method="normal", overrides=["=normal"]),
    "override-std-not-number": dict(method="normal", overrides=["attn_q.std=abc"]),
    "override-std-negative": dict(method="normal", overrides=["attn_q.std=-1"]),
    "override-std-nan": dict(method="normal", overrides=["attn_q.std=nan"]),
    "override-std-inf": dict(method="normal", overrides=["attn_q.std=inf"]),
    "override-bad-attr": dict(method="normal", overrides=["attn_q.mean=0"]),
    "override-unknown-scheme": dict(method="normal", overrides=["attn_q=nosuch"]),
    "override-wesar-scheme": dict(method="normal", overrides=["attn_q=wesar"]),
}


@pytest.mark.parametrize("knobs", [pytest.param(v, id=k) for k, v in BAD_CONFIGS.items()])
def test_user_mistakes_raise_bench_error(knobs):
    with pytest.raises(BenchError):
        build_model(model_cfg("small"), InitConfig(**knobs))


def test_override_of_a_role_the_tied_model_lacks():
    with pytest.raises(BenchError, match="head"):
        build_model(model_cfg("full"), InitConfig(method="normal", overrides=["head=normal"]))


@pytest.mark.parametrize("knobs", [
    pytest.param(dict(method="normal", overrides=["head=gamma"]), id="head=gamma-without-gamma"),
    pytest.param(dict(method="kaiming", sigma=-1.0, overrides=["attn_q=normal"]), id="attn_q=normal-sigma<0"),
])
def test_override_to_scheme_with_invalid_knobs_raises_bench_error(knobs):
    with pytest.raises(BenchError):
        build_model(model_cfg("small"), InitConfig(**knobs))


def test_wesar_effective_weights_respect_the_backbone_truncation():
    mc = model_cfg("small")
    model, table = build_model(mc, InitConfig(method="wesar", backbone="mitchell"))
    for row in table:
        if row["role"] in ("attn_q", "mlp_in", "attn_out", "mlp_out", "head"):
            exp = expect(row["name"], tuple(row["shape"]), mc, InitConfig(method="mitchell"))
            assert effective(model, row["name"]).abs().max().item() <= exp.bound * (1 + 1e-6), row["name"]


# ========================================================================================================
# 7. Dist.expected_std of truncated normals.


@pytest.mark.parametrize("c", [1.0, 2.0, 2.5, 3.0, 4.5])
def test_truncated_expected_std_matches_scipy(c):
    d = Dist.normal(0.7, c)
    assert d.bound == pytest.approx(0.7 * c)
    assert d.expected_std() == pytest.approx(scipy.stats.truncnorm(-c, c, scale=0.7).std(), rel=1e-9)


def test_truncated_3sigma_expected_std_matches_a_large_sample():
    d = Dist.normal(0.05, 3.0)
    t = torch.empty(1 << 20)
    d.sample_(t, torch.Generator().manual_seed(0))
    n = t.numel()
    assert pop_std(t) == pytest.approx(d.expected_std(), rel=Z / math.sqrt(2 * n))
    assert d.expected_std() == pytest.approx(0.05 * scipy.stats.truncnorm(-3, 3).std(), rel=1e-9)
    assert d.expected_std() < 0.05 * 0.99  # truncation is not ignored (factor ≈ 0.9866)
    assert t.abs().max().item() <= d.bound * (1 + 1e-6)


def test_uniform_and_constant_expected_std():
    assert Dist.uniform(0.3).expected_std() == pytest.approx(scipy.stats.uniform(-0.3, 0.6).std(), rel=1e-12)
    assert Dist.constant(1.0).expected_std() == 0.0
    assert Dist.normal(0.02).expected_std() == 0.02 and Dist.normal(0.02).bound is None
