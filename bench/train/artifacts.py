"""A finished run's artefacts for the stages after training: `model.pt` (final weights with WeSaR gates
folded in, and the config) and `tokenizer.json`. The writer and the reader live together so the format
has one definition."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch

from bench.config import Config, config_from_dict
from bench.core.errors import BenchError
from bench.core.files import torch_load, torch_save
from bench.data.corpus import Corpus
from bench.data.vocab import Vocab
from bench.model.transformer import Transformer


def export_model(run_dir: Path, cfg: Config, model: Transformer, corpus: Corpus) -> Transformer:
    """Everything evaluation needs, independent of the data cache: `model.pt` (final weights with WeSaR
    gates folded in, so scoring never sees them, and the config) and `tokenizer.json`. Returns the
    exported (gate-free) model."""
    plain = copy.deepcopy(model).cpu()
    plain.fold_gates()
    corpus.vocab.save(run_dir / "tokenizer.json")
    torch_save(run_dir / "model.pt", {"config": cfg.to_dict(), "model": plain.state_dict(),
                                      "gates_folded": True, "tokenizer_hash": corpus.vocab.digest()})
    return plain


def load_run(run_dir: Path) -> tuple[Transformer, Vocab, Config]:
    """The final model of a finished run (`model.pt`, written by `export_model`) with its
    tokenizer and config. Every way the directory can be unusable is a one-line BenchError."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise BenchError(f"run directory {run_dir} does not exist")
    if not run_dir.is_dir():
        raise BenchError(f"run directory {run_dir} is not a directory")
    path = run_dir / "model.pt"
    if not path.is_file():
        if (run_dir / "last.pt").is_file():
            raise BenchError(f"run directory {run_dir} has no model.pt: the run did not finish; resume it "
                             "with its original `python -m bench run ...` command plus --resume")
        raise BenchError(f"run directory {run_dir} has no model.pt and no checkpoint: not a finished run "
                         "(train one with `python -m bench run`)")
    ckpt = torch_load(path)
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("config"), dict) \
            or not isinstance(ckpt.get("model"), dict):
        raise BenchError(f"{path} is not an initbench model file (expected config and model entries)")
    cfg = config_from_dict(ckpt["config"], str(path))
    if ckpt.get("gates_folded") is False:
        raise BenchError(f"{path} still carries WeSaR gates (gates_folded is false); re-export the run")
    try:
        model = Transformer(cfg.model)
    except ValueError as exc:
        raise BenchError(f"{path}: {exc}") from None
    _check_weights(model, ckpt["model"], path)
    model.load_state_dict(ckpt["model"], strict=True)

    tok_path = run_dir / "tokenizer.json"
    if not tok_path.is_file():
        raise BenchError(f"run directory {run_dir} has no tokenizer.json (it is written with model.pt; "
                         "re-export the run)")
    try:
        vocab = Vocab.load(tok_path)
    except Exception as exc:  # tokenizers raises plain Exceptions for bad JSON
        raise BenchError(f"{tok_path} is corrupt or unreadable ({type(exc).__name__})") from None
    want = ckpt.get("tokenizer_hash")
    if want is not None and vocab.digest() != want:
        raise BenchError(f"{tok_path} is not the tokenizer model.pt was trained with (hash {vocab.digest()}, "
                         f"model.pt expects {want})")
    if vocab.size > cfg.model.vocab_size:
        raise BenchError(f"{tok_path} has {vocab.size} tokens but the model only {cfg.model.vocab_size}")
    return model, vocab, cfg


def _check_weights(model: torch.nn.Module, state: dict[str, Any], path: Path) -> None:
    """Name the first key or shape that does not match (load_state_dict's message spans many lines)."""
    expected = model.state_dict()
    for key, tensor in expected.items():
        if key not in state:
            raise BenchError(f"{path}: the config does not match the weights: missing {key} "
                             f"{tuple(tensor.shape)}")
        got = state[key]
        if not isinstance(got, torch.Tensor):
            raise BenchError(f"{path}: {key} is not a tensor")
        if tuple(got.shape) != tuple(tensor.shape):
            raise BenchError(f"{path}: the config does not match the weights: {key} has shape "
                             f"{tuple(got.shape)}, the config needs {tuple(tensor.shape)}")
    for key in state:
        if key not in expected:
            raise BenchError(f"{path}: the config does not match the weights: unexpected {key}")

