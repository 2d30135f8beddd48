"""Run directories made without training: random weights (norm gains and biases too, so a swapped or
dropped parameter shows in the logits), saved the way a finished run saves them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from tinyconfig import tiny_config

from bench.config import Config
from bench.core.files import torch_save
from bench.data.vocab import Vocab, train_bpe, word_vocab
from bench.model.transformer import Transformer

WORDS = "the cat sat on a mat and dog ran to red blue big small is was yes no".split()
TEXT = [" ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(12)) + "." for i in range(200)]


def make_vocab(kind: str) -> Vocab:
    return word_vocab([*WORDS, *map(str, range(30))]) if kind == "word" else train_bpe(TEXT, 300)


def make_run(path: Path, kind: str = "bpe", seed: int = 0, gates: float | None = None,
             **model: Any) -> tuple[Path, Transformer, Vocab, Config]:
    """A finished-run directory (model.pt, tokenizer.json); returns the model as it scores (gates folded)."""
    vocab = make_vocab(kind)
    cfg = tiny_config(model={"vocab_size": vocab.size + 3, **model}, data={"seq_len": 48})
    torch.manual_seed(seed)
    net = Transformer(cfg.model, wesar_gates=gates is not None)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith(".gate") and p.dim() == 0:
                p.fill_(gates)
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            else:
                p.normal_(0, 0.3 if p.dim() > 1 else 0.1)
    net.fold_gates()
    path.mkdir(parents=True)
    vocab.save(path / "tokenizer.json")
    torch_save(path / "model.pt", {"config": cfg.to_dict(), "model": net.state_dict(), "gates_folded": True,
                                   "tokenizer_hash": vocab.digest()})
    return path, net.eval(), vocab, cfg


@pytest.fixture
def run_factory(tmp_path):
    counter = iter(range(1000))

    def make(**kwargs: Any) -> tuple[Path, Transformer, Vocab, Config]:
        return make_run(tmp_path / f"run{next(counter)}", **kwargs)

    return make
