"""Initialization as data: a registry of schemes mapping (role, shape, depth, config) to a distribution.

Every scheme of docs/schemes.md is a rule `(ParamSpec, Ctx) -> Dist` over the weight-matrix roles; norm gains
start at 1 and biases at 0 under every scheme. `apply_init` draws every parameter from its own seeded
generator (seed, parameter name), so adding a parameter never changes the draws of the others, and
returns the per-parameter table that goes into the run record. A parameter no rule claims is an error.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

from bench.config import InitConfig, ModelConfig
from bench.core.errors import BenchError
from bench.model.transformer import MATRIX_ROLES, ROLES, ParamSpec, Transformer

OUT_ROLES = ("attn_out", "mlp_out")  # the residual writers that depth-aware schemes shrink


@dataclass(frozen=True)
class Dist:
    """N(0, std²) optionally truncated at ±bound, U(−bound, bound), or a constant."""

    kind: Literal["normal", "uniform", "constant"]
    std: float = 0.0
    bound: float | None = None
    value: float = 0.0

    @staticmethod
    def normal(std: float, trunc_sigmas: float | None = None) -> Dist:
        bound = std * trunc_sigmas if trunc_sigmas and std > 0 else None
        return Dist("normal", std=std, bound=bound)

    @staticmethod
    def uniform(bound: float) -> Dist:
        return Dist("uniform", bound=bound)

    @staticmethod
    def constant(value: float) -> Dist:
        return Dist("constant", value=value)

    def scaled(self, factor: float) -> Dist:
        """The same distribution shape, every value multiplied by `factor`."""
        bound = None if self.bound is None else self.bound * factor
        return Dist(self.kind, std=self.std * factor, bound=bound, value=self.value * factor)

    def expected_std(self) -> float:
        if self.kind == "constant":
            return 0.0
        if self.kind == "uniform":
            return self.bound / math.sqrt(3.0)
        if self.bound is None:
            return self.std
        c = self.bound / self.std  # std of N(0,1) truncated to [−c, c]
        phi = math.exp(-c * c / 2) / math.sqrt(2 * math.pi)
        mass = math.erf(c / math.sqrt(2))
        return self.std * math.sqrt(1 - 2 * c * phi / mass)

    def sample_(self, tensor: torch.Tensor, gen: torch.Generator) -> None:
        with torch.no_grad():
            if self.kind == "constant" or (self.kind == "normal" and self.std == 0.0):
                tensor.fill_(self.value if self.kind == "constant" else 0.0)
            elif self.kind == "uniform":
                tensor.uniform_(-self.bound, self.bound, generator=gen)
            elif self.bound is None:
                tensor.normal_(0.0, self.std, generator=gen)
            else:
                torch.nn.init.trunc_normal_(tensor, 0.0, self.std, -self.bound, self.bound, generator=gen)

    def describe(self) -> str:
        if self.kind == "constant":
            return f"const({self.value:g})"
        if self.kind == "uniform":
            return f"U(±{self.bound:.4g})"
        trunc = f", trunc ±{self.bound:.4g}" if self.bound is not None else ""
        return f"N(0, {self.std:.4g}²{trunc})"


@dataclass(frozen=True)
class Ctx:
    """Everything a rule may depend on besides the parameter itself."""

    model: ModelConfig
    init: InitConfig

    @property
    def d(self) -> int:
        return self.model.d_model

    @property
    def n_layers(self) -> int:
        return self.model.n_layers

    def fan_in(self, spec: ParamSpec) -> int:
        """d_in of a weight stored (out, in); for the embeddings the recorded `embed_fan_in` switch
        decides between the one-hot input size and d_model (the papers are ambiguous, docs/schemes.md)."""
        if spec.role in ("embed", "pos_embed"):
            return spec.shape[0] if self.init.embed_fan_in == "vocab" else spec.shape[1]
        return spec.shape[1]

    def fan_out(self, spec: ParamSpec) -> int:
        return spec.shape[1] if spec.role in ("embed", "pos_embed") else spec.shape[0]

    def trunc(self, default: float | None = None) -> float | None:
        """σ-multiple for truncation: the `truncate` knob if set (0 turns it off), else the scheme's."""
        t = self.init.truncate if self.init.truncate is not None else default
        return t or None


Rule = Callable[[ParamSpec, Ctx], Dist]


@dataclass(frozen=True)
class Scheme:
    name: str
    formula: str
    source: str
    knobs: tuple[str, ...]
    rule: Rule
    check: Callable[[InitConfig], None] | None = None


SCHEMES: dict[str, Scheme] = {}


def register(name: str, formula: str, source: str, knobs: tuple[str, ...] = (),
             check: Callable[[InitConfig], None] | None = None) -> Callable[[Rule], Rule]:
    def deco(rule: Rule) -> Rule:
        SCHEMES[name] = Scheme(name, formula, source, knobs, rule, check)
        return rule
    return deco


def _finite_positive(value: float | None, flag: str, method: str) -> None:
    if value is None:
        raise BenchError(f"--method {method} needs {flag}")
    if not (math.isfinite(value) and value > 0):
        raise BenchError(f"{flag} must be a finite positive number, got {value!r}")


def _sym(fan_in: int, fan_out: int, ctx: Ctx, var_numerator: float, fan: float) -> Dist:
    """N(0, k/fan) or its uniform twin with the same variance (Glorot/He family)."""
    var = var_numerator / fan
    if ctx.init.distribution == "uniform":
        return Dist.uniform(math.sqrt(3 * var))
    return Dist.normal(math.sqrt(var), ctx.trunc())


@register("torch-default", "Linear: U(±1/√d_in) (kaiming_uniform, a=√5); Embedding: N(0, 1)",
          "PyTorch nn.Linear / nn.Embedding reset_parameters (the 'no init' baseline)")
def _torch_default(spec: ParamSpec, ctx: Ctx) -> Dist:
    if spec.role in ("embed", "pos_embed"):
        return Dist.normal(1.0, ctx.trunc())
    return Dist.uniform(1.0 / math.sqrt(spec.shape[1]))


def _check_sigma(cfg: InitConfig) -> None:
    _finite_positive(cfg.sigma, "--sigma", cfg.method)


@register("normal", "N(0, σ²) for every matrix, σ = 0.02", "GPT-2 (Radford et al. 2019); LLaMA",
          ("sigma", "truncate"), _check_sigma)
def _normal(spec: ParamSpec, ctx: Ctx) -> Dist:
    return Dist.normal(ctx.init.sigma, ctx.trunc())


@register("megatron", "normal; attn_out and mlp_out × 1/√(2L)",
          "GPT-2 paper §2.3; Megatron-LM (Shoeybi et al. 2019); nanoGPT",
          ("sigma", "depth_scaling", "truncate"), _check_sigma)
def _megatron(spec: ParamSpec, ctx: Ctx) -> Dist:
    std = ctx.init.sigma
    if spec.role in OUT_ROLES and ctx.init.depth_scaling:
        std /= math.sqrt(2 * ctx.n_layers)
    return Dist.normal(std, ctx.trunc())


@register("xavier", "N(0, 2/(fan_in+fan_out)); uniform: U(±√(6/(fan_in+fan_out)))",
          "Glorot & Bengio 2010", ("distribution", "truncate", "embed_fan_in"))
def _xavier(spec: ParamSpec, ctx: Ctx) -> Dist:
    fi, fo = ctx.fan_in(spec), ctx.fan_out(spec)
    return _sym(fi, fo, ctx, 2.0, fi + fo)


@register("kaiming", "N(0, 2/fan_in); uniform: U(±√(6/fan_in))", "He et al. 2015 (fan-in, ReLU gain)",
          ("distribution", "truncate", "embed_fan_in"))
def _kaiming(spec: ParamSpec, ctx: Ctx) -> Dist:
    fi = ctx.fan_in(spec)
    return _sym(fi, ctx.fan_out(spec), ctx, 2.0, fi)


def _small(ctx: Ctx) -> float:
    return math.sqrt(2.0 / (5.0 * ctx.d))


@register("small-init", "N(0, 2/(5d)) for every matrix; attn_out and mlp_out × 1/√(2L)",
          "Nguyen & Salazar 2019 (Transformers without Tears); gpt-neox small_init",
          ("depth_scaling", "truncate"))
def _small_init(spec: ParamSpec, ctx: Ctx) -> Dist:
    std = _small(ctx)
    if spec.role in OUT_ROLES and ctx.init.depth_scaling:
        std /= math.sqrt(2 * ctx.n_layers)
    return Dist.normal(std, ctx.trunc())


@register("wang", "attn_out and mlp_out: std 2/(L·√d); every other matrix: small-init's √(2/(5d))",
          "Wang & Komatsuzaki 2021 (GPT-J); gpt-neox wang_init", ("truncate",))
def _wang(spec: ParamSpec, ctx: Ctx) -> Dist:
    if spec.role in OUT_ROLES:
        return Dist.normal(2.0 / (ctx.n_layers * math.sqrt(ctx.d)), ctx.trunc())
    return Dist.normal(_small(ctx), ctx.trunc())


@register("mitchell", "std 1/√d_in; attn_out 1/√(2·d·(l+1)); mlp_out 1/√(2·d_ff·(l+1)); truncated at 3σ",
          "OLMo 'mitchell' init (Groeneveld et al. 2024)", ("truncate", "embed_fan_in"))
def _mitchell(spec: ParamSpec, ctx: Ctx) -> Dist:
    depth = (spec.layer or 0) + 1
    if spec.role == "attn_out":
        std = 1.0 / math.sqrt(2 * ctx.d * depth)
    elif spec.role == "mlp_out":
        std = 1.0 / math.sqrt(2 * ctx.model.d_ff * depth)
    else:
        std = 1.0 / math.sqrt(ctx.fan_in(spec))
    return Dist.normal(std, ctx.trunc(3.0))


@register("mtnlg", "N(0, 1/(3d)) for every matrix", "Megatron-Turing NLG 530B (Smith et al. 2022)",
          ("truncate",))
def _mtnlg(spec: ParamSpec, ctx: Ctx) -> Dist:
    return Dist.normal(math.sqrt(1.0 / (3.0 * ctx.d)), ctx.trunc())


def _check_gamma(cfg: InitConfig) -> None:
    _finite_positive(cfg.gamma, "--gamma", cfg.method)


@register("gamma", "std d_in^(−γ) for every matrix incl. embedding and head (γ=0.5: LeCun; γ>0.5: small)",
          "Xu group: arXiv 2405.05409, 2502.04375, 2505.23013, 2606.17945",
          ("gamma", "embed_fan_in", "truncate"), _check_gamma)
def _gamma(spec: ParamSpec, ctx: Ctx) -> Dist:
    return Dist.normal(ctx.fan_in(spec) ** (-ctx.init.gamma), ctx.trunc())


@register("he", "WeSaR's He backbone: std √(1/d); attn_out √(1/(2Ld)); mlp_out √(2/(2L·d_ff))",
          "WeSaR paper (arXiv 2410.05052) §3, backbone of Nguyen & Salazar / He et al.", ("truncate",))
def _he(spec: ParamSpec, ctx: Ctx) -> Dist:
    # The paper states FFN-down √(2/(8Ld)) for d_ff = 4d; written per d_ff it is √(2/(2L·d_ff)).
    if spec.role == "attn_out":
        var = 1.0 / (2 * ctx.n_layers * ctx.d)
    elif spec.role == "mlp_out":
        var = 2.0 / (2 * ctx.n_layers * ctx.model.d_ff)
    else:
        var = 1.0 / ctx.d
    return Dist.normal(math.sqrt(var), ctx.trunc())


@register("zero", "every matrix 0 (norm gains 1): the symmetry-failure demonstration",
          "classical counter-example: identical neurons get identical gradients")
def _zero(spec: ParamSpec, ctx: Ctx) -> Dist:
    return Dist.constant(0.0)


def _check_wesar(cfg: InitConfig) -> None:
    _finite_positive(cfg.sigma2, "--sigma2", cfg.method)
    if cfg.backbone not in SCHEMES or cfg.backbone in ("wesar",):
        raise BenchError(f"unknown WeSaR backbone {cfg.backbone!r} (choose a registered scheme: "
                         f"{', '.join(n for n in SCHEMES if n != 'wesar')})")
    if cfg.backbone == "zero":
        raise BenchError("WeSaR over 'zero' is undefined: the gates α = σ_target/σ would all be 0")
    backbone_check = SCHEMES[cfg.backbone].check
    if backbone_check:
        backbone_check(cfg)


@register("wesar", "forward uses α·W; W ~ N(0, σ²), σ² = 4e-5; α₀ = σ_backbone/σ per matrix; embedding "
          "from the backbone, no gate", "Weight Scaling as Reparameterization (arXiv 2410.05052, EMNLP 2024)",
          ("sigma2", "backbone"), _check_wesar)
def _wesar(spec: ParamSpec, ctx: Ctx) -> Dist:
    # The effective (αW) distribution is the backbone's; apply_init splits it into base weight and gate.
    return SCHEMES[ctx.init.backbone].rule(spec, ctx)


def uses_gates(cfg: InitConfig) -> bool:
    """Whether the scheme reparameterizes weights with trainable gates (the model must provide them)."""
    return cfg.method == "wesar"


def parse_overrides(cfg: InitConfig) -> dict[str, Rule]:
    """`ROLE=SCHEME` (take another scheme's rule for ROLE, with that scheme's knob checks) or `ROLE.std=X`
    (N(0, X²); 0 gives zeros)."""
    rules: dict[str, Rule] = {}
    for item in cfg.overrides:
        lhs, sep, rhs = item.partition("=")
        role, _, attr = lhs.strip().partition(".")
        rhs = rhs.strip()
        if not sep or not rhs:
            raise BenchError(f"init override {item!r}: expected ROLE=SCHEME or ROLE.std=VALUE")
        if role not in MATRIX_ROLES:
            raise BenchError(f"init override {item!r}: unknown role {role!r} "
                             f"(roles: {', '.join(MATRIX_ROLES)})")
        if attr == "std":
            try:
                std = float(rhs)
            except ValueError:
                raise BenchError(f"init override {item!r}: {rhs!r} is not a number") from None
            if not (math.isfinite(std) and std >= 0):
                raise BenchError(f"init override {item!r}: std must be finite and >= 0")
            rules[role] = lambda spec, c, std=std: Dist.normal(std, c.trunc())
        elif attr:
            raise BenchError(f"init override {item!r}: only ROLE.std=VALUE is supported, not .{attr}")
        elif rhs not in SCHEMES or rhs == "wesar":
            raise BenchError(f"init override {item!r}: unknown scheme {rhs!r}")
        else:
            if SCHEMES[rhs].check:
                SCHEMES[rhs].check(cfg)
            rules[role] = SCHEMES[rhs].rule
    return rules


def check(cfg: InitConfig) -> Scheme:
    """Validate the scheme name and its knobs; return the scheme. Raises BenchError for user mistakes."""
    scheme = SCHEMES.get(cfg.method)
    if scheme is None:
        raise BenchError(f"unknown init method {cfg.method!r} (choose from {', '.join(SCHEMES)})")
    if scheme.check:
        scheme.check(cfg)
    if cfg.truncate is not None and not (math.isfinite(cfg.truncate) and cfg.truncate >= 0):
        raise BenchError(f"init.truncate must be >= 0 (σ multiples; 0 = off), got {cfg.truncate}")
    parse_overrides(cfg)
    return scheme


def param_seed(seed: int, name: str) -> int:
    return (seed * 1_000_003 + zlib.crc32(name.encode())) % (2**63)


def planned(model: Transformer, cfg: InitConfig) -> list[tuple[ParamSpec, Dist]]:
    """The distribution of every non-gate parameter's *effective* weight, before drawing anything."""
    scheme = check(cfg)
    ctx = Ctx(model.cfg, cfg)
    overrides = parse_overrides(cfg)
    present = {spec.role for spec, _ in model.param_specs()}
    for role in overrides:
        if role not in present:
            raise BenchError(f"init override for {role!r}: this model has no {role} parameter")
    plan = []
    for spec, _ in model.param_specs():
        if spec.role == "norm":
            dist = Dist.constant(1.0)
        elif spec.role == "bias":
            dist = Dist.constant(0.0)
        elif spec.role == "wesar_gate":
            continue  # set together with its weight below
        elif spec.role in MATRIX_ROLES:
            dist = overrides.get(spec.role, scheme.rule)(spec, ctx)
        else:
            raise RuntimeError(f"no init rule claims {spec.name} (role {spec.role!r}; known: {ROLES})")
        plan.append((spec, dist))
    return plan


def apply_init(model: Transformer, cfg: InitConfig) -> list[dict]:
    """Initialize `model` in place; return `{name, role, shape, layer, dist, std_expected, std_measured,
    mean_measured}` per parameter, measured on the effective weights (α·W under WeSaR)."""
    gated = uses_gates(cfg)
    params = dict(model.named_parameters())
    sigma = math.sqrt(cfg.sigma2) if gated else 0.0
    table = []
    for spec, dist in planned(model, cfg):
        gen = torch.Generator().manual_seed(param_seed(cfg.seed, spec.name))
        param = params[spec.name]
        module = model.get_submodule(spec.name.rsplit(".", 1)[0])
        gate = getattr(module, "gate", None) if spec.role in MATRIX_ROLES else None
        if gated and isinstance(gate, torch.nn.Parameter):
            # WeSaR: every gated matrix starts at the same small std σ (in the backbone's shape, so a
            # truncated or uniform backbone stays so in α·W); the gate carries the backbone's scale.
            target = dist.expected_std()
            base = dist.scaled(sigma / target) if target > 0 else Dist.normal(sigma)  # α₀ = 0: W is inert
            base.sample_(param, gen)
            with torch.no_grad():
                gate.fill_(target / sigma)
            effective = gate.detach() * param.detach()
        else:
            dist.sample_(param, gen)
            effective = param.detach()
        table.append({
            "name": spec.name, "role": spec.role, "shape": list(spec.shape), "layer": spec.layer,
            "dist": dist.describe(), "std_expected": dist.expected_std(),
            "std_measured": effective.float().std(unbiased=False).item() if effective.numel() > 1 else 0.0,
            "mean_measured": effective.float().mean().item(),
        })
    return table


def build_model(model_cfg: ModelConfig, init_cfg: InitConfig) -> tuple[Transformer, list[dict]]:
    """Construct the model this init scheme needs (gated under WeSaR) and initialize it."""
    check(init_cfg)
    model = Transformer(model_cfg, wesar_gates=uses_gates(init_cfg))
    return model, apply_init(model, init_cfg)
