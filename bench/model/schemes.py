"""Initialization as data: a registry of schemes mapping (role, shape, depth, config) to a distribution.

Every scheme of docs/schemes.md is a rule `(ParamSpec, Ctx) -> Dist` over the weight-matrix roles, and each
rule's docstring cites the file or paper it implements; norm gains start at 1 and biases at 0 under every
scheme but `torch-default`, whose linear biases are PyTorch's U(±1/√fan_in). `apply_init` draws every
parameter from its own seeded generator (seed, parameter name), so adding a parameter never changes the draws
of the others, and returns the per-parameter table that goes into the run record. A parameter no rule claims
is an error.
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
    # A linear layer's bias from the fan-in of its weight (PyTorch's default); None: biases start at 0.
    bias: Callable[[int], Dist] | None = None


SCHEMES: dict[str, Scheme] = {}


def register(name: str, formula: str, source: str, knobs: tuple[str, ...] = (),
             check: Callable[[InitConfig], None] | None = None,
             bias: Callable[[int], Dist] | None = None) -> Callable[[Rule], Rule]:
    def deco(rule: Rule) -> Rule:
        SCHEMES[name] = Scheme(name, formula, source, knobs, rule, check, bias)
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


def _out_scaled(std: float, spec: ParamSpec, ctx: Ctx, on: bool) -> Dist:
    """N(0, std²), and for the residual writers (attn_out, mlp_out) std/√(2L) when `on`: Megatron-LM's
    `scaled_init_method_normal(sigma, num_layers)` (megatron/model/utils.py), σ/√(2·num_layers)."""
    if on and spec.role in OUT_ROLES:
        std /= math.sqrt(2 * ctx.n_layers)
    return Dist.normal(std, ctx.trunc())


def _torch_linear(fan_in: int) -> Dist:
    """U(±1/√fan_in): nn.Linear's weight (kaiming_uniform_ with a = √5) and its bias alike."""
    return Dist.uniform(1.0 / math.sqrt(fan_in))


@register("torch-default", "Linear: U(±1/√d_in) (kaiming_uniform, a=√5), bias U(±1/√d_in); "
          "Embedding: N(0, 1)",
          "pytorch/pytorch torch/nn/modules/linear.py Linear.reset_parameters; "
          "torch/nn/modules/sparse.py Embedding.reset_parameters", bias=_torch_linear)
def _torch_default(spec: ParamSpec, ctx: Ctx) -> Dist:
    """PyTorch's construction-time init, the "no init" baseline. `Linear.reset_parameters`:
    `kaiming_uniform_(weight, a=√5)` = U(±1/√fan_in) and, with a bias, `uniform_(bias, ±1/√fan_in)`;
    `Embedding.reset_parameters`: `normal_(weight)` = N(0, 1); LayerNorm/RMSNorm: gains 1, biases 0."""
    if spec.role in ("embed", "pos_embed"):
        return Dist.normal(1.0, ctx.trunc())
    return _torch_linear(spec.shape[1])


def _check_sigma(cfg: InitConfig) -> None:
    _finite_positive(cfg.sigma, "--sigma", cfg.method)


@register("normal", "N(0, σ²) for every matrix, σ = 0.02",
          "openai/gpt-2 src/model.py (conv1d w_init_stdev=0.02, wte 0.02); huggingface/transformers "
          "modeling_llama.py LlamaPreTrainedModel._init_weights (initializer_range 0.02)",
          ("sigma", "truncate"), _check_sigma)
def _normal(spec: ParamSpec, ctx: Ctx) -> Dist:
    """One σ for every matrix, as GPT-2's released code (openai/gpt-2 src/model.py: `conv1d`
    w_init_stdev=0.02, `wte` 0.02; its `wpe` 0.01 is not reproduced: a learned position table gets σ too)
    and LLaMA's reference init (`_init_weights`: normal_(std=initializer_range) on every Linear and
    Embedding). The 1/√N residual scaling of the GPT-2 paper (§2.3) is `megatron`."""
    return Dist.normal(ctx.init.sigma, ctx.trunc())


@register("megatron", "normal; attn_out and mlp_out × 1/√(2L)",
          "NVIDIA/Megatron-LM megatron/model/utils.py init_method_normal + scaled_init_method_normal; "
          "karpathy/nanoGPT model.py GPT.__init__ (c_proj std 0.02/√(2·n_layer)); GPT-2 paper §2.3",
          ("sigma", "depth_scaling", "truncate"), _check_sigma)
def _megatron(spec: ParamSpec, ctx: Ctx) -> Dist:
    """Megatron-LM: `init_method_normal(sigma)` (default `--init-method-std` 0.02) on every matrix and
    `scaled_init_method_normal(sigma, num_layers)` = σ/√(2L) on the attention dense and MLP dense_4h_to_h;
    nanoGPT's `c_proj.weight` std 0.02/√(2·n_layer) is the same rule. Knob: depth_scaling=false drops the
    scaling (then it equals `normal`)."""
    return _out_scaled(ctx.init.sigma, spec, ctx, ctx.init.depth_scaling)


@register("xavier", "N(0, 2/(fan_in+fan_out)); uniform: U(±√(6/(fan_in+fan_out)))",
          "Glorot & Bengio 2010 eqs. 12 and 16; pytorch/pytorch torch/nn/init.py xavier_normal_ / "
          "xavier_uniform_ (gain 1)", ("distribution", "truncate", "embed_fan_in"))
def _xavier(spec: ParamSpec, ctx: Ctx) -> Dist:
    """Var = 2/(n_in + n_out) (Glorot & Bengio eq. 12; eq. 16 is its uniform form), as torch's
    `xavier_normal_` (the default here) and `xavier_uniform_` compute it for a (out, in) weight. Embedding
    (V, d): initbench's default treats it as a d→d map (fans d, d: std √(1/d)); torch's fans on the (V, d)
    tensor are (d, V), std √(2/(V+d)), which `embed_fan_in = "vocab"` reproduces."""
    fi, fo = ctx.fan_in(spec), ctx.fan_out(spec)
    return _sym(fi, fo, ctx, 2.0, fi + fo)


@register("kaiming", "N(0, 2/fan_in); uniform: U(±√(6/fan_in))",
          "He et al. 2015 (arXiv 1502.01852) §2.2 eq. 10; pytorch/pytorch torch/nn/init.py kaiming_normal_ "
          "(mode fan_in, a=0)", ("distribution", "truncate", "embed_fan_in"))
def _kaiming(spec: ParamSpec, ctx: Ctx) -> Dist:
    """std √(2/n_l), n_l the fan-in (He et al. eq. 10), = torch's `kaiming_normal_(mode="fan_in",
    nonlinearity="leaky_relu", a=0)`. Embedding (V, d): fan-in d, which is also torch's fan-in of the
    (V, d) tensor; `embed_fan_in = "vocab"` (fan-in V) is a departure."""
    fi = ctx.fan_in(spec)
    return _sym(fi, ctx.fan_out(spec), ctx, 2.0, fi)


def _small(ctx: Ctx) -> float:
    return math.sqrt(2.0 / (5.0 * ctx.d))


@register("small-init", "N(0, 2/(5d)) for every matrix (knob small_init_depth: out roles × 1/√(2L))",
          "EleutherAI/gpt-neox megatron/model/init_functions.py small_init_init_method; "
          "Nguyen & Salazar 2019 (arXiv 1910.05895)", ("small_init_depth", "truncate"))
def _small_init(spec: ParamSpec, ctx: Ctx) -> Dist:
    """gpt-neox `small_init_init_method(dim)`: std √(2/(5·hidden_size)), no depth term, used for every
    matrix when small_init is both init_method and output_layer_init_method. Knob small_init_depth=true adds
    Megatron's ÷√(2L) on the out roles (initbench's earlier default; in no source)."""
    return _out_scaled(_small(ctx), spec, ctx, ctx.init.small_init_depth)


@register("wang", "attn_out and mlp_out: std 2/(L·√d); every other matrix: small-init's √(2/(5d))",
          "EleutherAI/gpt-neox megatron/model/init_functions.py wang_init_method + small_init_init_method "
          "(configs: init_method small_init, output_layer_init_method wang_init)", ("truncate",))
def _wang(spec: ParamSpec, ctx: Ctx) -> Dist:
    """gpt-neox's pairing used by GPT-NeoX-20B and Pythia: `output_layer_init_method = wang_init`
    (std 2/n_layers/√hidden_size) on the attention dense and dense_4h_to_h, `init_method = small_init`
    elsewhere (embedding and head included). Wang & Komatsuzaki's GPT-J (mesh-transformer-jax) uses the
    same output std but its own default init elsewhere, which is not reproduced."""
    if spec.role in OUT_ROLES:
        return Dist.normal(2.0 / (ctx.n_layers * math.sqrt(ctx.d)), ctx.trunc())
    return Dist.normal(_small(ctx), ctx.trunc())


@register("mitchell", "std 1/√d_in; attn_out 1/√(2·d·(l+1)); mlp_out 1/√(2·d_ff·(l+1)); truncated at 3σ",
          "allenai/OLMo olmo/model.py OLMoBlock.reset_parameters, OLMo.reset_parameters "
          "(InitFnType.mitchell)",
          ("truncate", "embed_fan_in"))
def _mitchell(spec: ParamSpec, ctx: Ctx) -> Dist:
    """OLMo, init_fn = mitchell: in_std 1/√d_model (att_proj, ff_proj), attn_out 1/√(2·d_model·(layer_id+1)),
    ff_out 1/√(2·ff_out.in_features·(layer_id+1)), embedding (wte) and untied head 1/√d_model; every draw
    `init_normal(..., init_cutoff_factor=3)`, a normal truncated at ±3σ. OLMo always gives the embedding
    1/√d_model; `embed_fan_in = "vocab"` (1/√V) is a departure."""
    depth = (spec.layer or 0) + 1
    if spec.role == "attn_out":
        std = 1.0 / math.sqrt(2 * ctx.d * depth)
    elif spec.role == "mlp_out":
        std = 1.0 / math.sqrt(2 * ctx.model.d_ff * depth)
    else:
        std = 1.0 / math.sqrt(ctx.fan_in(spec))
    return Dist.normal(std, ctx.trunc(3.0))


@register("mtnlg", "N(0, 1/(3d)) for every matrix; attn_out and mlp_out × 1/√(2L) (Megatron's scaled init)",
          "Smith et al. 2022 (arXiv 2201.11990), std √(1/(3d)) as Megatron's --init-method-std; "
          "NVIDIA/Megatron-LM megatron/model/utils.py scaled_init_method_normal",
          ("depth_scaling", "truncate"))
def _mtnlg(spec: ParamSpec, ctx: Ctx) -> Dist:
    """MT-NLG 530B trained with Megatron(-DeepSpeed) at `--init-method-std` √(1/(3d)) (4.0e-3 at d = 20480),
    so its out roles got Megatron's `scaled_init_method_normal`, σ/√(2L). Knob depth_scaling=false gives
    σ on every matrix (initbench's `mtnlg` before the init-fidelity correction)."""
    return _out_scaled(math.sqrt(1.0 / (3.0 * ctx.d)), spec, ctx, ctx.init.depth_scaling)


def _check_gamma(cfg: InitConfig) -> None:
    _finite_positive(cfg.gamma, "--gamma", cfg.method)


@register("gamma", "std d_in^(−γ) for every matrix incl. embedding and head (γ=0.5: LeCun; γ>0.5: small)",
          "Xu group: arXiv 2405.05409, 2502.04375, 2505.23013, 2606.17945",
          ("gamma", "embed_fan_in", "truncate"), _check_gamma)
def _gamma(spec: ParamSpec, ctx: Ctx) -> Dist:
    """σ = d_in^(−γ) for every matrix (the γ-initialization of the Xu group's papers)."""
    return Dist.normal(ctx.fan_in(spec) ** (-ctx.init.gamma), ctx.trunc())


@register("he", "WeSaR's He backbone: std √(1/d); attn_out √(1/(2Ld)); mlp_out √(2/(2L·d_ff))",
          "Nishida et al. 2024 (arXiv 2410.05052), its He backbone: W_o √(1/(2Nd)), W_d √(2/(8Nd)), others "
          "√(1/d) (read from a secondary copy of the paper's table)",
          ("truncate",))
def _he(spec: ParamSpec, ctx: Ctx) -> Dist:
    """WeSaR's "He" backbone: √(1/d) for W_q, W_k, W_v, W_u and W_p (prediction head), W_o √(1/(2Nd)),
    W_d √(2/(8Nd)) at FFN 4d. Interpretation: W_d is written per d_ff, √(2/(2N·d_ff)) (He's gain 2 over the
    fan-in d_ff, ÷2N), which equals the paper's value at d_ff = 4d and keeps He's meaning at other widths
    (nano's d_ff = 2.75d). Embedding: √(1/d) like the other d-input matrices."""
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
          "from the backbone (knob wesar_embed=sigma: N(0, σ²)), no gate",
          "Nishida et al., EMNLP 2024 (arXiv 2410.05052): α·W, σ² = 4e-5 (read from a secondary copy)",
          ("sigma2", "backbone", "wesar_embed"), _check_wesar)
def _wesar(spec: ParamSpec, ctx: Ctx) -> Dist:
    """The effective (α·W) distribution is the backbone's; apply_init splits it into base weight and gate.
    The embeddings have no gate: by default they are drawn from the backbone's rule (initbench's reading,
    not verified against the paper's text); wesar_embed = "sigma" draws them at the shared σ, as a secondary
    copy of the paper's table lists W_e (gate 1, σ)."""
    if spec.role in ("embed", "pos_embed") and ctx.init.wesar_embed == "sigma":
        return Dist.normal(math.sqrt(ctx.init.sigma2), ctx.trunc())
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
    # A linear layer's bias follows the scheme (WeSaR: its backbone) when it has a bias rule, from the fan-in
    # of the weight it belongs to; norm biases, and biases under every other scheme, start at 0.
    bias_rule = SCHEMES[cfg.backbone if uses_gates(cfg) else cfg.method].bias
    specs = {spec.name: spec for spec, _ in model.param_specs()}
    plan = []
    for spec in specs.values():
        weight = specs.get(spec.name.rsplit(".", 1)[0] + ".weight")
        if spec.role == "norm":
            dist = Dist.constant(1.0)
        elif spec.role == "bias" and bias_rule and weight and weight.role in MATRIX_ROLES:
            dist = bias_rule(weight.shape[1])
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
