"""Structural probes (docs/probes.md), tracked during training so that "condense, then expand" is visible.

The measures are pure functions (tensors in, floats out); `StructureProbe`, a training callback, applies
them to the trained model on a fixed batch and assembles a JSON-able snapshot. Scale-free measures first
divide a matrix by its largest entry so that huge-init runs cannot overflow float32.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from typing import Any

import torch
import torch.nn.functional as F

from bench.config import ProbeConfig
from bench.model.transformer import Transformer
from bench.train.callbacks.base import Callback, TrainerView

# Condensation compares rows block by block: at most this many cosines are held at once (64 MiB).
GRAM_BLOCK_ELEMENTS = 1 << 24


def _rescaled(w: torch.Tensor) -> torch.Tensor | None:
    """w in float32 divided by max |w_ij| (a no-op for the scale-free measures); None if w is not finite."""
    w = w.detach().float()
    top = w.abs().amax().item()
    if not math.isfinite(top):
        return None
    return w / top if top > 0 else w


def _gram_eigenvalues(w: torch.Tensor) -> torch.Tensor:
    """Ascending eigenvalues of the smaller Gram matrix of w (wᵀw or wwᵀ): w's squared singular values.
    Every matrix of the model has d_model on one side, so the eigenproblem is at most d_model wide: 3.5-5×
    faster than an SVD of w on an H100 (d_model 128-768), no slower on a CPU. float64 keeps the small
    singular values (a squared spectrum in float32 buries them under ~1e-7·λ_max of rounding noise)."""
    w = w.double()
    gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
    return torch.linalg.eigvalsh(gram).clamp_min(0)


def effective_rank(w: torch.Tensor) -> float:
    """Effective rank (Roy & Vetterli 2007): exp(−Σ_i p_i ln p_i) with p_i = s_i / Σ_j s_j over the singular
    values s of w. n for an n×n orthogonal matrix, 1 for rank one; 0 for the zero matrix (no singular mass
    to spread), nan for a non-finite one."""
    w = _rescaled(w)
    if w is None:
        return math.nan
    s = _gram_eigenvalues(w).sqrt()
    total = s.sum()
    if total == 0:
        return 0.0
    return math.exp(torch.special.entr(s / total).sum().item())


def condensation(w: torch.Tensor, threshold: float = 0.7) -> float:
    """Fraction of neuron pairs i < j with |cos(w_i, w_j)| > threshold, where w_i are the rows of w: the
    output neurons of an (out, in) weight, the tokens of an embedding. A zero row has cosine 0 with every
    row. 1 when all neurons are (anti-)parallel copies, 0 when they are mutually orthogonal."""
    w = _rescaled(w)
    if w is None:
        return math.nan
    n = w.shape[0]
    if n < 2:
        return 0.0
    unit = F.normalize(w, dim=1)
    block = max(1, GRAM_BLOCK_ELEMENTS // n)
    close = 0
    for start in range(0, n, block):
        cos = unit[start:start + block] @ unit.T
        cos.diagonal(offset=start).zero_()  # a neuron is not a pair with itself
        close += int((cos.abs() > threshold).sum())
    return close / (n * (n - 1))  # every unordered pair was counted from both of its rows


def top_eig_share(emb: torch.Tensor) -> float:
    """λ_max(C) / tr(C) for the covariance C ∝ XᵀX of the centered embedding rows X = E − mean_rows(E)
    (rows = tokens): 1 when the embeddings vary along a single direction, 1/d when isotropic; 0 when all
    rows are equal (no variance), nan for a non-finite embedding."""
    x = _rescaled(emb)
    if x is None:
        return math.nan
    eig = _gram_eigenvalues(x - x.mean(0))  # the nonzero eigenvalues of XᵀX
    total = eig.sum()
    return 0.0 if total == 0 else (eig[-1] / total).item()


def sink_mass(probs: torch.Tensor) -> float:
    """Mean attention probability on the first key, P[..., i, 0], over all leading dims (batch, heads) and
    the queries i ≥ 1. Query 0 is excluded: causality forces it to put all its mass on itself.
    probs: (..., T, T) with T ≥ 2, rows summing to 1."""
    return probs[..., 1:, 0].float().mean().item()


def causal_average_distance(probs: torch.Tensor) -> float:
    """Mean total-variation distance ½ Σ_j |P_ij − U_ij| between each attention row and the uniform causal
    average U_ij = 1/(i+1) for j ≤ i (0 beyond), over all leading dims and the queries i ≥ 1 (row 0 always
    equals U's). 0 for a layer that averages its context (small init at step 0); a layer attending only
    to the first token scores i/(i+1) on row i. probs: (..., T, T) with T ≥ 2."""
    t = probs.shape[-1]
    uniform = torch.ones(t, t, device=probs.device).tril()
    uniform = uniform / uniform.sum(-1, keepdim=True)
    tv = 0.5 * (probs.float() - uniform).abs().sum(-1)
    return tv[..., 1:].mean().item()


def update_ratio(before: torch.Tensor, after: torch.Tensor) -> float:
    """‖after − before‖_F / ‖before‖_F: the relative size of one optimizer update (inf when a zero matrix
    moves, nan when it stays zero)."""
    delta = torch.linalg.vector_norm(after.float() - before.float())
    return (delta / torch.linalg.vector_norm(before.float())).item()


MATRIX_MEASURES = ("effective_rank", "condensation", "update_ratio")


def _json_clean(obj: Any) -> Any:
    """Non-finite floats become None, so a snapshot stays strict JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _json_clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_json_clean(v) for v in obj]
    return obj


class StructureProbe(Callback):
    """Structural snapshots of the trained model on a fixed batch of input ids (B, T), appended to
    `trainer.state.structure` on every due step.

    `before_update` (between the backward pass and the optimizer step) copies the weights and measures
    attention; `after_update` measures the copied weights and the update just taken. Both only read
    weights and run a no-grad float32 forward of the plain (uncompiled) model, so training numerics and
    RNG state are untouched. A snapshot describes the weights *before* that step's update (step 0 = init)
    plus the update itself.
    """

    def __init__(self, batch: torch.Tensor, cfg: ProbeConfig, last_step: int | None = None):
        self.batch, self.cfg, self.last_step = batch, cfg, last_step
        self._before: dict[str, torch.Tensor] = {}
        self._pending: dict[str, Any] = {}

    def due(self, step: int) -> bool:
        """Step 0, every `cfg.every` steps, and `last_step` (the run's final optimizer step)."""
        return (self.cfg.every > 0 and step % self.cfg.every == 0) or step == self.last_step

    @torch.no_grad()
    def before_update(self, trainer: TrainerView, step: int, loss: float, grad_norm: float) -> None:
        """Copy the weights the optimizer is about to change and measure their attention."""
        if not self.due(step):
            return
        model = trainer.model
        self._before = {spec.name: w.detach().float().clone() for spec, w in model.matrices()}
        self._pending = {"step": step, "loss": loss, "grad_norm": grad_norm, **self._attention(model)}

    @torch.no_grad()
    def after_update(self, trainer: TrainerView, step: int) -> None:
        """Finish the snapshot begun by `before_update` (whose weights it measures) with the update ratios
        of the step just taken, and append it as a JSON-able dict."""
        if not self.due(step):
            return
        per_matrix: dict[str, dict[str, float]] = {}
        by_role: dict[str, dict[str, list[float]]] = {m: defaultdict(list) for m in MATRIX_MEASURES}
        snap = self._pending
        for spec, w in trainer.model.matrices():
            before = self._before[spec.name]
            values = {"effective_rank": effective_rank(before),
                      "condensation": condensation(before, self.cfg.condensation_threshold),
                      "update_ratio": update_ratio(before, w)}
            per_matrix[spec.name] = values
            for measure, value in values.items():
                by_role[measure][spec.role].append(value)
            if spec.role == "embed":
                snap["embedding_top_eig_share"] = top_eig_share(before)
        for measure, roles in by_role.items():
            snap[measure] = {role: statistics.fmean(v) for role, v in roles.items()}
        snap["matrices"] = per_matrix
        self._before, self._pending = {}, {}
        trainer.state.structure.append(_json_clean(snap))

    def _attention(self, model: Transformer) -> dict[str, Any]:
        with torch.autocast(self.batch.device.type, enabled=False):
            layers = model.attention_probs(
                self.batch, lambda p: (sink_mass(p), causal_average_distance(p)))
        sinks, distances = [s for s, _ in layers], [d for _, d in layers]
        return {"sink_mass": statistics.fmean(sinks), "sink_mass_by_layer": sinks,
                "causal_distance_l0": distances[0], "causal_distance_by_layer": distances}
