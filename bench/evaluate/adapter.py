"""The lm-eval model over an initbench checkpoint (docs/evaluation.md).

`BenchLM` is an lm-eval model (`TemplateLM`, registered as `bench` when this module is imported) over one
of our checkpoints, used in-process (`simple_evaluate(model=BenchLM(run=...))`, `bench.evaluate.suite.
run_suite`) and by lm-eval's own CLI (`bench.evaluate.lm_eval_cli`). Like lm-eval's
`lm_eval/models/huggingface.py`, this module holds the adapter only: running suites is
`bench.evaluate.suite`, the record's shape of the scores `bench.evaluate.results`.
"""

from __future__ import annotations

import functools
import logging
import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from lm_eval import utils as lm_utils
from lm_eval.api.model import TemplateLM
from lm_eval.api.registry import register_model
from lm_eval.models.utils import (
    Collator,
    handle_stop_sequences,
    normalize_gen_kwargs,
    postprocess_generated_text,
)

from bench.config import Config
from bench.core.device import resolve_device
from bench.core.errors import BenchError
from bench.data.vocab import Vocab
from bench.model.transformer import Transformer
from bench.train.artifacts import load_run

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 32
DEFAULT_MAX_GEN_TOKS = 256
ENCODE_CACHE = 4096  # strings whose token ids BenchLM keeps (tok_encode)
PAD_MULTIPLE = 16  # rows are padded to a multiple of this (see BenchLM._row_logits)

Request = tuple[Any, list[int], list[int]]  # ((context, continuation) or None, context ids, continuation ids)


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, str):
        value = value.strip()
        if not value.isdigit():
            raise BenchError(f"{what}: expected a positive integer, got {value!r}")
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise BenchError(f"{what}: expected a positive integer, got {value!r}")
    return value


@register_model("bench")
class BenchLM(TemplateLM):
    """lm-eval model over an initbench Transformer and its tokenizer.

    `BenchLM(run=<run dir>)` or `BenchLM(model=..., vocab=...)` (also `BenchLM.from_model`). On CUDA the
    forward runs under bf16 autocast, on CPU in fp32. `max_length` defaults to the context the model was
    trained on (`data.seq_len`: RoPE positions beyond it were never seen); longer inputs are truncated
    from the left, as HFLM does.
    """

    backend = "causal"

    def __init__(self, run: str | Path | None = None, model: Transformer | None = None,
                 vocab: Vocab | None = None, batch_size: int | str | None = DEFAULT_BATCH_SIZE,
                 device: str | None = "auto", max_length: int | str | None = None,
                 max_gen_toks: int | str = DEFAULT_MAX_GEN_TOKS, max_batch_size: int | None = None,
                 **unknown: Any):
        super().__init__()
        if unknown:
            raise BenchError(f"unknown model argument(s) {', '.join(sorted(unknown))} for the bench model "
                             "(known: run, batch_size, device, max_length, max_gen_toks)")
        cfg: Config | None = None
        if run is not None:
            if model is not None or vocab is not None:
                raise BenchError("give the bench model either run=<dir> or model and vocab, not both")
            model, vocab, cfg = load_run(Path(str(run)))
        elif model is None or vocab is None:
            raise BenchError("the bench model needs run=<run directory> (or an in-memory model and vocab)")
        self.run = None if run is None else str(run)
        self._device = resolve_device(str(device) if device not in (None, "") else "auto")
        self.model = model.to(self._device).eval()
        self.vocab = vocab
        # lm-eval's _encode_pair tokenizes every request's context and context + continuation: a
        # multiple-choice document repeats its context once per choice (rsnmem: 118), and tokenizing was a
        # third of a scoring's time (docs/performance.md). The cache serves the repeats; its entries are
        # tuples, copied out, so a caller cannot change what the next request gets.
        self._encode = functools.lru_cache(maxsize=ENCODE_CACHE)(
            lambda text: tuple(vocab.tok.encode(text, add_special_tokens=False).ids))
        if vocab.eos_id is None:
            raise BenchError("the tokenizer has no end-of-text token; it cannot score with lm-eval")
        if batch_size is None or (isinstance(batch_size, str) and batch_size.startswith("auto")):
            batch_size = DEFAULT_BATCH_SIZE  # no auto-probing: batches are tiny next to memory
        self.batch_size = _positive_int(batch_size, "batch_size")
        self.max_gen_toks = _positive_int(max_gen_toks, "max_gen_toks")
        mcfg = model.cfg
        if max_length is None:
            max_length = cfg.data.seq_len if cfg is not None else mcfg.max_seq_len
        self._max_length = _positive_int(max_length, "max_length")
        if mcfg.pos_encoding == "learned" and self._max_length > mcfg.max_seq_len:
            raise BenchError(f"max_length {self._max_length} exceeds the model's learned positions "
                             f"({mcfg.max_seq_len})")
        self.autocast = self._device.type == "cuda"
        self.dtype = torch.bfloat16 if self.autocast else torch.float32

    @classmethod
    def create_from_arg_obj(cls, arg_dict: dict[str, Any],
                            additional_config: dict[str, Any] | None = None) -> BenchLM:
        """lm-eval passes its own batch_size/device next to the model args (a duplicate keyword for
        lm-eval's base class); here the model args win."""
        extra = {k: v for k, v in (additional_config or {}).items() if v is not None}
        return cls(**{**extra, **arg_dict})

    @classmethod
    def create_from_arg_string(cls, arg_string: str,
                               additional_config: dict[str, Any] | None = None) -> BenchLM:
        return cls.create_from_arg_obj(lm_utils.simple_parse_args_string(arg_string), additional_config)

    @classmethod
    def from_model(cls, model: Transformer, vocab: Vocab, device: str = "auto",
                   batch_size: int | str = DEFAULT_BATCH_SIZE, max_length: int | None = None) -> BenchLM:
        """An in-memory model (e.g. at the end of training). Without `max_length` the window is the model's
        `max_seq_len`; pass the run's `data.seq_len` for RoPE models."""
        return cls(model=model, vocab=vocab, device=device, batch_size=batch_size, max_length=max_length)

    # ---- lm-eval plumbing
    @property
    def eot_token_id(self) -> int:
        return self.vocab.eos_id

    @property
    def max_length(self) -> int:
        return self._max_length

    @property
    def tokenizer_name(self) -> str:
        return f"initbench-{self.vocab.kind}-{self.vocab.digest()}"

    def tok_encode(self, string: str, add_special_tokens: bool | None = None, **kwargs: Any) -> list[int]:
        return list(self._encode(string))

    def tok_decode(self, tokens: list[int] | int, skip_special_tokens: bool = True) -> str:
        ids = [tokens] if isinstance(tokens, int) else list(tokens)
        return self.vocab.tok.decode(ids, skip_special_tokens=skip_special_tokens)

    def get_model_info(self) -> dict[str, Any]:
        return {"model_num_parameters": sum(p.numel() for p in self.model.parameters()),
                "model_dtype": str(self.dtype), "run": self.run, "max_length": self.max_length}

    def _forward(self, batch: torch.Tensor, spans: list[tuple[int, int]]) -> list[torch.Tensor]:
        """(B, T) ids -> per row j the logits (stop − start, V) of positions spans[j] (bf16 under CUDA
        autocast). The output layer runs only on those positions: scoring reads the continuation's few
        positions, and the rest of a row's logits would be most of a small model's work. Each row's
        output layer runs on its own positions, so its numbers do not depend on the other rows. no_grad,
        not inference_mode: the model's RoPE table is cached on first use and must stay usable by
        training afterwards."""
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.autocast):
            h = self.model.hidden(batch)
            return [self.model.logits(h[j, start:stop]) for j, (start, stop) in enumerate(spans)]

    def _row_logits(self, rows: list[list[int]], last: list[int] | None = None) -> list[torch.Tensor]:
        """Logits (n, V) of the last n = last[i] positions of each row (every position without `last`).
        Rows are right-padded (harmless: attention is causal, so real positions never see the pad) to a
        width that depends only on their own length (a multiple of PAD_MULTIPLE) and batched only with
        rows of that width. A row's numbers therefore do not depend on what it is batched with: the
        attention kernel rounds differently for different widths, and this keeps batch sizes and `limit`
        subsets bit-identical on CPU."""
        out: list[torch.Tensor] = [torch.empty(0)] * len(rows)
        by_width: dict[int, list[int]] = {}
        for i, row in enumerate(rows):
            width = min(-(-len(row) // PAD_MULTIPLE) * PAD_MULTIPLE, max(self.max_length, len(row)))
            by_width.setdefault(width, []).append(i)
        pad = self.eot_token_id
        for width, members in by_width.items():
            batch = torch.tensor([rows[i] + [pad] * (width - len(rows[i])) for i in members],
                                 dtype=torch.long, device=self.device)
            spans = [(len(rows[i]) - (len(rows[i]) if last is None else last[i]), len(rows[i]))
                     for i in members]
            for i, logits in zip(members, self._forward(batch, spans), strict=True):
                out[i] = logits
        return out

    # ---- scoring
    def loglikelihood(self, requests: list[Any], disable_tqdm: bool = True) -> list[tuple[float, bool]]:
        return super().loglikelihood(requests, disable_tqdm=disable_tqdm)  # quiet unless asked

    def _loglikelihood_tokens(self, requests: list[Request], disable_tqdm: bool = False,
                              override_bs: int | None = None) -> list[tuple[float, bool]]:
        """(sum of log P(continuation | context), whether greedy decoding yields the continuation).

        Requests are sorted by descending length and grouped by context + continuation[:-1] (Collator's
        "contexts" mode, as in HFLM): every request of a group is scored from ONE forward pass of the
        group's longest member, so a context with 100 one-token candidate answers costs one row.
        """
        out: list[tuple[float, bool] | None] = [None] * len(requests)
        todo: list[Request] = []
        where: list[int] = []
        piece = max(1, self.max_length // 2)
        for i, (key, ctx, cont) in enumerate(requests):
            if not cont:
                out[i] = (0.0, True)  # the empty continuation is certain
                continue
            if not ctx:
                raise ValueError("_loglikelihood_tokens needs a non-empty context (lm-eval adds a prefix)")
            # A continuation longer than the context window is scored in pieces of half a window, each
            # conditioned on everything before it that fits (its log-probabilities add up; it is greedy
            # when every piece is).
            for start in range(0, len(cont), piece if len(cont) > self.max_length else len(cont)):
                stop = start + (piece if len(cont) > self.max_length else len(cont))
                todo.append((key, ctx + cont[:start], cont[start:stop]))
                where.append(i)

        collator = Collator(todo, sort_fn=lambda r: (-len(r[1]) - len(r[2]), tuple(r[1] + r[2])),
                            group_by="contexts", group_fn=lambda r: r[1] + r[2][:-1])
        results: list[tuple[float, bool]] = []
        window = self.max_length + 1
        for chunk in collator.get_batched(n=override_bs or self.batch_size):
            rows = [(ctx + cont)[-window:][:-1] for _, ctx, cont in chunk]
            conts = [len(cont) for _, _, cont in chunk]
            for (key, ctx, cont), row_logits in zip(chunk, self._row_logits(rows, conts), strict=True):
                scored = row_logits.float()  # predictions of the continuation
                logprobs = F.log_softmax(scored, dim=-1)
                greedy = scored.argmax(dim=-1)
                last_list: list[float] | None = None
                # One entry per request of the group (just this one when nothing shares its prefix).
                for _, member_cont, _ in collator.get_cache(req_str=key, cxt_toks=ctx, cont_toks=cont,
                                                            logits=logprobs.unsqueeze(0)):
                    n = len(member_cont)
                    if n == 1:  # the grouped fast path: a list lookup, no tensor op per candidate
                        if last_list is None:
                            last_list = logprobs[-1].tolist()
                            last_greedy = int(greedy[-1])
                        tok = member_cont[0]
                        results.append((float(last_list[tok]), tok == last_greedy))
                    else:
                        target = torch.tensor(member_cont, dtype=torch.long, device=logprobs.device)
                        picked = logprobs[-n:].gather(1, target[:, None]).squeeze(1)
                        results.append((float(picked.double().sum()),
                                        bool(torch.equal(greedy[-n:], target))))
        for i, (logprob, greedy) in zip(where, collator.get_original(results), strict=True):
            prev = out[i]
            out[i] = (logprob, greedy) if prev is None else (prev[0] + logprob, prev[1] and greedy)
        return out  # type: ignore[return-value]

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[float]:
        """Log-likelihood of whole texts, each scored on its own in disjoint windows of `max_length`
        tokens (every token predicted once, with as much context as fits), prefixed by end-of-text."""
        windows: list[Request] = []
        counts: list[int] = []
        for (text,) in (req.args for req in requests):
            pairs = [lm_utils.make_disjoint_window(w) for w in lm_utils.get_rolling_token_windows(
                token_list=self.tok_encode(text), prefix_token=self.prefix_token_id,
                max_seq_len=self.max_length, context_len=1)]
            windows += [(None, ctx, cont) for ctx, cont in pairs]
            counts.append(len(pairs))
        scores = self._loglikelihood_tokens(windows)
        out, pos = [], 0
        for n in counts:
            out.append(math.fsum(s for s, _ in scores[pos:pos + n]))
            pos += n
        return out

    # ---- generation
    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        """Greedy decoding until a stop string, end-of-text or `max_gen_toks` tokens. Batched with right
        padding (each row reads its own last position); no KV cache: the models are small."""
        collator = Collator([req.args for req in requests],
                            sort_fn=lambda a: (-len(self.tok_encode(a[0])), a[0]),
                            group_by="gen_kwargs", group_fn=lambda a: a[1])
        res: list[str] = []
        for chunk in collator.get_batched(n=self.batch_size):
            contexts = [c for c, _ in chunk]
            kwargs = normalize_gen_kwargs(chunk[0][1], self.max_gen_toks)
            if kwargs.get("do_sample"):
                lm_utils.warning_once(log, "the bench model decodes greedily; do_sample is ignored")
            until = handle_stop_sequences(kwargs.pop("until", None), eos=None)
            res += self._greedy(contexts, until, int(kwargs["max_gen_toks"]))
        return collator.get_original(res)

    def _greedy(self, contexts: list[str], until: list[str], max_gen_toks: int) -> list[str]:
        rows = [self.tok_encode(c) or [self.prefix_token_id] for c in contexts]
        generated: list[list[int]] = [[] for _ in contexts]
        active = list(range(len(contexts)))
        for _ in range(max_gen_toks):
            if not active:
                break
            inputs = [(rows[i] + generated[i])[-self.max_length:] for i in active]
            nxt = [int(row[-1].float().argmax()) for row in self._row_logits(inputs, [1] * len(inputs))]
            still = []
            for i, tok in zip(active, nxt, strict=True):
                if tok == self.eot_token_id:
                    continue
                generated[i].append(tok)
                text = self.tok_decode(generated[i])
                if not any(s and s in text for s in until):
                    still.append(i)
            active = still
        return [postprocess_generated_text(self.tok_decode(g), until, None) for g in generated]
