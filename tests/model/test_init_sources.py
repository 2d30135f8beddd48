"""Every scheme's default pinned to the numbers of the source it cites (docs/schemes.md).

The constants below were computed by hand from each source's own formula (the file and function, or paper
equation, named on each block) at two shapes, and are written out as numbers: nothing here calls a rule
of `bench.model.schemes` or re-derives a formula to get an expectation. The check reads the planned
distribution of every parameter (`planned`: the σ of a normal, the half-width of a uniform, the truncation
bound) before anything is drawn; tests/model/test_inits.py checks the drawn tensors against the formulas.

Shapes: NANO is the `nano` preset with the default mixture (d = 128, L = 4, d_ff = 352, V = 2048);
WIDE has d_ff = 4d (so the WeSaR FFN-4d formulas apply literally), another depth, a small vocabulary
and linear biases (d = 256, L = 8, d_ff = 1024, V = 512, bias = true).
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.config import InitConfig, ModelConfig
from bench.model.schemes import SCHEMES, Dist, planned, uses_gates
from bench.model.transformer import ParamSpec, Transformer

NANO = ModelConfig(vocab_size=2048, d_model=128, n_layers=4, n_heads=4, d_ff=352)
WIDE = ModelConfig(vocab_size=512, d_model=256, n_layers=8, n_heads=4, d_ff=1024, bias=True)
SHAPES = {"nano": NANO, "wide": WIDE}

# A pin: ROLE -> value for every parameter of that role, or "ROLE@LAYER" -> value for one layer's.
# Values are the σ of N(0, σ²) (before truncation), or "U" + half-width of a uniform as ("U", b).
Pins = dict[str, Any]

# Linear-layer roles that a scheme draws with one σ at both shapes (embed/head/out roles listed apart).
IN_ROLES = ("attn_q", "attn_k", "attn_v", "mlp_in")

CASES: list[tuple[str, dict[str, Any], str, Pins]] = [
    # pytorch/pytorch torch/nn/modules/linear.py Linear.reset_parameters: weight kaiming_uniform_(a=√5)
    # = U(±1/√fan_in), bias U(±1/√fan_in); torch/nn/modules/sparse.py Embedding.reset_parameters: N(0, 1).
    ("torch-default", {}, "nano", {
        **{r: ("U", 0.08838834764831843) for r in (*IN_ROLES, "attn_out", "head")},
        "mlp_out": ("U", 0.053300179088902604), "embed": 1.0}),
    ("torch-default", {}, "wide", {
        **{r: ("U", 0.0625) for r in (*IN_ROLES, "attn_out", "head")},
        "mlp_out": ("U", 0.03125), "embed": 1.0,
        "bias:attn_q": ("U", 0.0625), "bias:mlp_out": ("U", 0.03125)}),
    # openai/gpt-2 src/model.py: conv1d w_init_stdev=0.02, wte 0.02; LLaMA _init_weights initializer_range.
    ("normal", {}, "nano", {r: 0.02 for r in (*IN_ROLES, "attn_out", "mlp_out", "embed", "head")}),
    ("normal", {}, "wide", {**{r: 0.02 for r in (*IN_ROLES, "attn_out", "mlp_out", "embed", "head")},
                            "bias:attn_q": 0.0}),
    # Megatron-LM init_method_normal(0.02) + scaled_init_method_normal: 0.02/√(2L) on the out roles.
    ("megatron", {}, "nano", {**{r: 0.02 for r in (*IN_ROLES, "embed", "head")},
                              "attn_out": 0.0070710678118654745, "mlp_out": 0.0070710678118654745}),
    ("megatron", {}, "wide", {**{r: 0.02 for r in (*IN_ROLES, "embed", "head")},
                              "attn_out": 0.005, "mlp_out": 0.005}),
    # Glorot & Bengio eq. 12 / torch xavier_normal_: √(2/(fan_in + fan_out)); embedding as d→d (documented).
    ("xavier", {}, "nano", {"attn_q": 0.08838834764831845, "attn_out": 0.08838834764831845,
                            "mlp_in": 0.06454972243679027, "mlp_out": 0.06454972243679027,
                            "head": 0.03031695312954162, "embed": 0.08838834764831845}),
    ("xavier", {"embed_fan_in": "vocab"}, "nano", {"embed": 0.03031695312954162}),  # = torch on (V, d)
    ("xavier", {}, "wide", {"attn_q": 0.0625, "mlp_in": 0.03952847075210474,
                            "mlp_out": 0.03952847075210474, "head": 0.05103103630798288, "embed": 0.0625}),
    # He et al. eq. 10 / torch kaiming_normal_(mode="fan_in", a=0): √(2/fan_in).
    ("kaiming", {}, "nano", {**{r: 0.125 for r in (*IN_ROLES, "attn_out", "head", "embed")},
                             "mlp_out": 0.07537783614444091}),
    ("kaiming", {}, "wide", {**{r: 0.08838834764831845 for r in (*IN_ROLES, "attn_out", "head", "embed")},
                             "mlp_out": 0.04419417382415922}),
    # gpt-neox small_init_init_method(hidden_size): √(2/(5d)) on every matrix, no depth term.
    ("small-init", {}, "nano", {r: 0.05590169943749474
                                for r in (*IN_ROLES, "attn_out", "mlp_out", "embed", "head")}),
    ("small-init", {}, "wide", {r: 0.03952847075210474
                                for r in (*IN_ROLES, "attn_out", "mlp_out", "embed", "head")}),
    # Knob small_init_depth (initbench's pre-#21 default, in no source): out roles ÷√(2L).
    ("small-init", {"small_init_depth": True}, "nano", {"attn_q": 0.05590169943749474,
                                                        "attn_out": 0.019764235376052368,
                                                        "mlp_out": 0.019764235376052368}),
    # gpt-neox wang_init_method(n_layers, hidden_size): 2/n_layers/√d on the out roles; small_init elsewhere.
    ("wang", {}, "nano", {**{r: 0.05590169943749474 for r in (*IN_ROLES, "embed", "head")},
                          "attn_out": 0.044194173824159216, "mlp_out": 0.044194173824159216}),
    ("wang", {}, "wide", {**{r: 0.03952847075210474 for r in (*IN_ROLES, "embed", "head")},
                          "attn_out": 0.015625, "mlp_out": 0.015625}),
    # OLMo mitchell: in 1/√d_model, attn_out 1/√(2·d·(l+1)), ff_out 1/√(2·d_ff·(l+1)), wte and head
    # 1/√d_model, truncated at ±3σ (checked below).
    ("mitchell", {}, "nano", {**{r: 0.08838834764831843 for r in (*IN_ROLES, "embed", "head")},
                              "attn_out@0": 0.0625, "attn_out@3": 0.03125,
                              "mlp_out@0": 0.037688918072220454, "mlp_out@3": 0.018844459036110227}),
    ("mitchell", {}, "wide", {**{r: 0.0625 for r in (*IN_ROLES, "embed", "head")},
                              "attn_out@0": 0.044194173824159216, "attn_out@7": 0.015625,
                              "mlp_out@0": 0.022097086912079608, "mlp_out@7": 0.0078125}),
    # Megatron's init at --init-method-std √(1/(3d)): out roles √(1/(3d))/√(2L).
    ("mtnlg", {}, "nano", {**{r: 0.05103103630798288 for r in (*IN_ROLES, "embed", "head")},
                           "attn_out": 0.018042195912175804, "mlp_out": 0.018042195912175804}),
    ("mtnlg", {}, "wide", {**{r: 0.03608439182435161 for r in (*IN_ROLES, "embed", "head")},
                           "attn_out": 0.009021097956087902, "mlp_out": 0.009021097956087902}),
    ("mtnlg", {"depth_scaling": False}, "nano", {"attn_out": 0.05103103630798288,
                                                 "mlp_out": 0.05103103630798288}),
    # γ-init: d_in^(−γ).
    ("gamma", {"gamma": 1.0}, "nano", {**{r: 0.0078125 for r in (*IN_ROLES, "attn_out", "embed", "head")},
                                       "mlp_out": 0.002840909090909091}),
    ("gamma", {"gamma": 1.0}, "wide", {**{r: 0.00390625 for r in (*IN_ROLES, "attn_out", "embed", "head")},
                                       "mlp_out": 0.0009765625}),
    # WeSaR's He backbone: √(1/d); W_o √(1/(2Ld)); W_d √(2/(8Ld)) at d_ff = 4d (WIDE), per d_ff at NANO.
    ("he", {}, "nano", {**{r: 0.08838834764831843 for r in (*IN_ROLES, "embed", "head")},
                        "attn_out": 0.03125, "mlp_out": 0.026650089544451305}),
    ("he", {}, "wide", {**{r: 0.0625 for r in (*IN_ROLES, "embed", "head")},
                        "attn_out": 0.015625, "mlp_out": 0.011048543456039806}),
    # WeSaR: effective weights as the backbone; embedding from the backbone, or √(4e-5) under wesar_embed.
    ("wesar", {}, "nano", {**{r: 0.08838834764831843 for r in (*IN_ROLES, "embed", "head")},
                           "attn_out": 0.03125, "mlp_out": 0.026650089544451305}),
    ("wesar", {"wesar_embed": "sigma"}, "nano", {"embed": 0.006324555320336759,
                                                 "attn_q": 0.08838834764831843}),
    ("wesar", {"backbone": "torch-default"}, "wide", {"attn_q": ("U", 0.0625), "bias:attn_q": ("U", 0.0625),
                                                       "bias:mlp_out": ("U", 0.03125)}),
    ("zero", {}, "nano", {r: 0.0 for r in (*IN_ROLES, "attn_out", "mlp_out", "embed", "head")}),
]


def plan(shape: str, ic: InitConfig) -> list[tuple[ParamSpec, Dist]]:
    return planned(Transformer(SHAPES[shape], wesar_gates=uses_gates(ic)), ic)


def owner_role(spec: ParamSpec, specs: dict[str, ParamSpec]) -> str:
    """The role of the weight a bias belongs to (a Linear's matrix role, or `norm`)."""
    return specs[spec.name.rsplit(".", 1)[0] + ".weight"].role


def selected(key: str, spec: ParamSpec, specs: dict[str, ParamSpec]) -> bool:
    if key.startswith("bias:"):
        return spec.role == "bias" and owner_role(spec, specs) == key.removeprefix("bias:")
    role, _, layer = key.partition("@")
    return spec.role == role and (not layer or spec.layer == int(layer))


def scale_of(dist: Dist) -> Any:
    if dist.kind == "uniform":
        return ("U", dist.bound)
    return dist.std if dist.kind == "normal" else dist.value


CASE_IDS = [f"{m}{''.join(f'-{k}={v}' for k, v in knobs.items())}-{shape}" for m, knobs, shape, _ in CASES]


@pytest.mark.parametrize(("method", "knobs", "shape", "pins"), CASES, ids=CASE_IDS)
def test_default_matches_its_source(method: str, knobs: dict[str, Any], shape: str, pins: Pins) -> None:
    ic = InitConfig(method=method, **knobs)
    rows = plan(shape, ic)
    specs = {spec.name: spec for spec, _ in rows}
    for key, want in pins.items():
        got = [(spec.name, scale_of(dist)) for spec, dist in rows if selected(key, spec, specs)]
        assert got, f"{key}: no such parameter at {shape}"
        for name, value in got:
            if isinstance(want, tuple):
                assert isinstance(value, tuple), (name, value)
                assert value[1] == pytest.approx(want[1], rel=1e-9), (name, value, want)
            else:
                assert value == pytest.approx(want, rel=1e-9, abs=0.0), (name, value, want)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_mitchell_truncates_every_draw_at_3_sigma(shape: str) -> None:
    """OLMo's init_normal(..., init_cutoff_factor=3.0): trunc_normal_ on [−3σ, 3σ]."""
    for spec, dist in plan(shape, InitConfig(method="mitchell")):
        if spec.role not in ("norm", "bias"):
            assert dist.bound == pytest.approx(3 * dist.std, rel=1e-12), spec.name


def test_every_scheme_is_pinned_at_both_shapes() -> None:
    pinned = {(m, shape) for m, knobs, shape, _ in CASES if not knobs or m == "gamma"}
    missing = sorted({(m, s) for m in SCHEMES for s in SHAPES if m not in ("zero", "wesar")} - pinned)
    assert not missing, f"pin these defaults to their source's numbers: {missing}"


def test_every_source_names_a_file_or_a_paper() -> None:
    """What `python -m bench inits` prints in its source column: a repository file or a paper."""
    for name, scheme in SCHEMES.items():
        if name != "zero":
            assert ".py" in scheme.source or "arXiv" in scheme.source or "eq." in scheme.source, name
