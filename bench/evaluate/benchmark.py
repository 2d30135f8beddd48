"""Speed of the evaluation stage: requests/s of the lm-eval adapter and where the time goes.

For each preset a model of that size (random weights: speed does not depend on training) is scored on a
suite with the default corpus's tokenizer; the adapter's forward passes are timed separately, so the
rest of the wall time is lm-eval's own work (task building, request construction, metrics) plus the
adapter's batching.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch

from bench.config import build_config
from bench.data.corpus import load_corpus
from bench.evaluate.adapter import BenchLM
from bench.evaluate.suite import run_suite
from bench.model.schemes import build_model


@dataclass
class BenchResult:
    preset: str
    params: int
    requests: int
    wall_s: float
    forward_s: float

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.wall_s

    @property
    def overhead_share(self) -> float:
        return max(0.0, 1.0 - self.forward_s / self.wall_s)

    def row(self) -> dict[str, Any]:
        return {"preset": self.preset, "params_M": round(self.params / 1e6, 2), "requests": self.requests,
                "wall_s": round(self.wall_s, 2), "requests_per_s": round(self.requests_per_s, 1),
                "forward_share": round(1 - self.overhead_share, 3),
                "lm_eval_overhead_share": round(self.overhead_share, 3)}


class _Counting(BenchLM):
    """BenchLM that counts requests and times its forward passes."""

    requests = 0
    forward_s = 0.0

    def _forward(self, batch: torch.Tensor, spans: list[tuple[int, int]]) -> list[torch.Tensor]:
        t0 = time.perf_counter()
        out = super()._forward(batch, spans)
        _Counting.forward_s += time.perf_counter() - t0
        return out

    def loglikelihood(self, requests: list[Any], disable_tqdm: bool = True) -> list[tuple[float, bool]]:
        _Counting.requests += len(requests)
        return super().loglikelihood(requests, disable_tqdm=disable_tqdm)

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[float]:
        _Counting.requests += len(requests)
        return super().loglikelihood_rolling(requests, disable_tqdm=disable_tqdm)

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        _Counting.requests += len(requests)
        return super().generate_until(requests, disable_tqdm=disable_tqdm)


def benchmark(presets: list[str], tasks: list[str], limit: int, device: str = "auto",
              batch_size: int = 64) -> list[BenchResult]:
    # One tokenizer and context for every preset (the default mixture's, at nano's settings), so the
    # presets differ only in model size.
    corpus = load_corpus(build_config("nano").data)
    results = []
    for preset in presets:
        cfg = build_config(preset)
        cfg.model.vocab_size = corpus.vocab_size
        model, _ = build_model(cfg.model, cfg.init)
        lm = _Counting.from_model(model, corpus.vocab, device=device, batch_size=batch_size,
                                  max_length=corpus.seq_len)
        _Counting.requests, _Counting.forward_s = 0, 0.0
        t0 = time.perf_counter()
        run_suite(lm, tasks, limit=limit)
        wall = time.perf_counter() - t0
        results.append(BenchResult(preset, model.n_params(non_embedding=False), _Counting.requests, wall,
                                   _Counting.forward_s))
    return results
