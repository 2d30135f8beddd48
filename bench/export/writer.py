"""`python -m bench export`: a finished run as a transformers checkpoint directory (docs/export.md).

The directory holds `config.json`, `model.safetensors` (fp32), the tokenizer files `AutoTokenizer` loads
(`tokenizer.json`, `tokenizer_config.json`) and `initbench_export.json` (where it came from and the parity
measured while exporting). It is built in a hidden temporary directory next to the destination and
renamed into place only after the transformers model reproduced our logits, so a failed export leaves
nothing behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer

from bench.core.errors import BenchError
from bench.core.files import write_json
from bench.core.paths import check_output_dir
from bench.data.vocab import EOS, UNK, Vocab
from bench.export.mapping import Target, convert_state, target
from bench.model.transformer import Transformer
from bench.train.artifacts import load_run

PARITY_TOL = 1e-4  # fp32 logits; measured differences are 5e-7 to 2e-5 (docs/export.md)
PROBE_ROWS, PROBE_LEN = 2, 64


@dataclass(frozen=True)
class Exported:
    path: Path
    architecture: str
    max_abs_dlogit: float
    n_bytes: int


def _transformers() -> Any:
    try:
        import transformers
    except ImportError:
        raise BenchError("export needs transformers: pip install 'initbench[hf]'") from None
    return transformers


def check_destination(to: Path) -> None:
    """`to` must not exist yet (or be an empty directory): an export never overwrites another."""
    check_output_dir(to, "--to")
    if to.exists() and any(to.iterdir()):
        raise BenchError(f"--to {to} already exists and is not empty; choose a new directory")


def hf_tokenizer(vocab: Vocab, context: int) -> Any:
    """The run's own tokenizer as a `PreTrainedTokenizerFast`: the same `tokenizers` object (so ids and
    whitespace handling are identical), with end-of-text as eos and pad token and no bos, as the bench
    model scores (lm-eval then prefixes empty contexts with end-of-text in both backends)."""
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer.from_str(vocab.tok.to_str())  # a copy: the wrapper may set padding options on it
    extra = {"unk_token": UNK} if tok.token_to_id(UNK) is not None else {}
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, pad_token=EOS,
                                   model_max_length=context, clean_up_tokenization_spaces=False, **extra)


def hf_model(tgt: Target, state: dict[str, torch.Tensor]) -> Any:
    transformers = _transformers()
    config = getattr(transformers, tgt.config_class)(**tgt.config)
    config.architectures = [tgt.architecture]
    model = getattr(transformers, tgt.architecture)(config)
    if config.tie_word_embeddings and "lm_head.weight" not in state:
        state = {**state, "lm_head.weight": state["model.embed_tokens.weight"]}
    model.load_state_dict(state, strict=True)
    return model.eval()


@torch.no_grad()
def max_logit_gap(ours: Transformer, theirs: Any, vocab_size: int, length: int) -> float:
    """Largest |Δlogit| between our model and the transformers model on a fixed probe batch."""
    n = PROBE_ROWS * length
    ids = (torch.arange(n) * 7919 % vocab_size).view(PROBE_ROWS, length)  # spread over the vocabulary
    ours.eval()
    mask = torch.ones_like(ids)  # no padding here; saying so keeps transformers from warning about it
    return float((ours(ids) - theirs(input_ids=ids, attention_mask=mask).logits).abs().max())


def export_run(run_dir: Path, to: Path) -> Exported:
    """Export the finished run in `run_dir` to the new directory `to` (see the module docstring)."""
    check_destination(to)
    _transformers()
    model, vocab, cfg = load_run(run_dir)
    tgt = target(cfg.model, cfg.data.seq_len, vocab.eos_id)
    theirs = hf_model(tgt, convert_state(cfg.model, model.state_dict(), cfg.data.seq_len))
    gap = max_logit_gap(model, theirs, cfg.model.vocab_size, min(PROBE_LEN, cfg.data.seq_len))
    if not gap <= PARITY_TOL:
        raise RuntimeError(f"exported {tgt.architecture} differs from the run by {gap:.3g} in logits")
    to.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{to.name}.", suffix=".tmp", dir=to.parent))
    try:
        theirs.save_pretrained(tmp, safe_serialization=True)
        hf_tokenizer(vocab, cfg.data.seq_len).save_pretrained(tmp)
        write_json(tmp / "initbench_export.json", {
            "run_dir": str(run_dir), "architecture": tgt.architecture, "max_abs_dlogit": gap,
            "tokenizer": {"kind": vocab.kind, "hash": vocab.digest()}, "context": cfg.data.seq_len,
            "config": cfg.to_dict()})
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; an export is meant to be shared
        if to.exists():
            to.rmdir()  # empty (checked above); os.replace cannot replace a directory on every platform
        os.replace(tmp, to)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    size = sum(p.stat().st_size for p in to.iterdir() if p.is_file())
    return Exported(to, tgt.architecture, gap, size)
