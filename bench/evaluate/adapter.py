"""Scoring finished runs with lm-eval (DESIGN §6).

`BenchLM` is an lm-eval model (`TemplateLM`, registered as `bench`) over one of our checkpoints. It works
in-process (`simple_evaluate(model=BenchLM(run=...))`, `run_suite`) and through lm-eval's own CLI via
`lm_eval_cli` (importing this module is what registers the model):

    python -c "from bench.evaluate.adapter import lm_eval_cli; raise SystemExit(lm_eval_cli())" \\
        --model bench --model_args run=results/runs/<run-id> --tasks anchor_seen --limit 50

The launcher defaults `--device auto` (lm-eval's CLI default is `cuda:0`), `--batch_size 32` (its default
is 1), `--include_path` to the project's `tasks/` folder, and indexes only the included tasks (pass
`--stock-tasks` to also index lm-eval's ~14k stock tasks, ~10 s). Model arguments (`run=...,batch_size=16,
device=cpu,max_length=...`) win over the CLI's `--batch_size` / `--device`.

Safety: lm-eval's `use_cache` / `cache_requests` are never used (they are not keyed by model and would mix
checkpoints). Evaluation runs offline (`bench.sources.hub_offline`: HF_HUB_OFFLINE / HF_DATASETS_OFFLINE
set while lm-eval loads tasks and data, and `datasets`' import-time constants switched with them, since
importing this module imports neither `datasets` nor `huggingface_hub`); a user who exported either
variable (e.g. `HF_HUB_OFFLINE=0` with a network) is left alone. Nothing leaks into the process afterwards.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import math
import os
import sys
import time
from collections.abc import Iterator
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
from bench.data.sources import hub_offline
from bench.data.vocab import Vocab
from bench.model.transformer import Transformer
from bench.train.artifacts import load_run

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 32
DEFAULT_MAX_GEN_TOKS = 256
PAD_MULTIPLE = 16  # rows are padded to a multiple of this (see BenchLM._row_logits)
# Mean-type metrics (acc) get a closed-form stderr whenever this is > 0; bootstrapped ones (median, f1,
# perplexity) use this many resamples, seeded by lm-eval (deterministic), in-process (eval_environment).
BOOTSTRAP_ITERS = 100

Request = tuple[Any, list[int], list[int]]  # ((context, continuation) or None, context ids, continuation ids)


# --------------------------------------------------------------------------------------------- adapter
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
        return self.vocab.tok.encode(string, add_special_tokens=False).ids

    def tok_decode(self, tokens: list[int] | int, skip_special_tokens: bool = True) -> str:
        ids = [tokens] if isinstance(tokens, int) else list(tokens)
        return self.vocab.tok.decode(ids, skip_special_tokens=skip_special_tokens)

    def get_model_info(self) -> dict[str, Any]:
        return {"model_num_parameters": sum(p.numel() for p in self.model.parameters()),
                "model_dtype": str(self.dtype), "run": self.run, "max_length": self.max_length}

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        """(B, T) ids -> (B, T, V) logits (bf16 under CUDA autocast). no_grad, not inference_mode: the
        model's RoPE table is cached on first use and must stay usable by training afterwards."""
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.autocast):
            return self.model(batch)

    def _row_logits(self, rows: list[list[int]]) -> list[torch.Tensor]:
        """Logits (len(row), V) of each row. Rows are right-padded (harmless: attention is causal, so real
        positions never see the pad) to a width that depends only on their own length (a multiple of
        PAD_MULTIPLE) and batched only with rows of that width. A row's numbers therefore do not depend on
        what it is batched with: the attention kernel rounds differently for different widths, and this
        keeps batch sizes and `limit` subsets bit-identical on CPU."""
        out: list[torch.Tensor] = [torch.empty(0)] * len(rows)
        by_width: dict[int, list[int]] = {}
        for i, row in enumerate(rows):
            width = min(-(-len(row) // PAD_MULTIPLE) * PAD_MULTIPLE, max(self.max_length, len(row)))
            by_width.setdefault(width, []).append(i)
        pad = self.eot_token_id
        for width, members in by_width.items():
            batch = torch.tensor([rows[i] + [pad] * (width - len(rows[i])) for i in members],
                                 dtype=torch.long, device=self.device)
            logits = self._forward(batch)
            for j, i in enumerate(members):
                out[i] = logits[j, :len(rows[i])]
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
            for (key, ctx, cont), row, row_logits in zip(chunk, rows, self._row_logits(rows), strict=True):
                end = len(row)
                scored = row_logits[end - len(cont):end].float()  # predictions of the continuation
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
            nxt = [int(row[-1].float().argmax()) for row in self._row_logits(inputs)]
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


# --------------------------------------------------------------------------------------------- suites
def chance_normalized(acc: float | None, chance: float | None) -> float | None:
    """(acc − chance) / (1 − chance): 0 at chance, 1 when perfect; None when undefined."""
    if acc is None or chance is None or not math.isfinite(acc) or not 0 <= chance < 1:
        return None
    return (acc - chance) / (1 - chance)


def default_tasks_dir() -> Path:
    """The `tasks/` folder next to the `bench` package, or an installed `tasks` package."""
    import bench

    here = Path(bench.__file__).resolve().parent.parent / "tasks"
    if here.is_dir():
        return here
    spec = importlib.util.find_spec("tasks")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            if any(Path(loc).glob("**/*.yaml")):
                return Path(loc)
    raise BenchError(f"no task folder: {here} does not exist and no installed `tasks` package has YAML tasks")


def task_manager(tasks_dir: Path | None = None) -> Any:
    """lm-eval's TaskManager over our tasks only (indexing the stock tasks costs ~10 s)."""
    from lm_eval.tasks import TaskManager

    folder = Path(tasks_dir) if tasks_dir is not None else default_tasks_dir()
    if not folder.is_dir():
        raise BenchError(f"task folder {folder} does not exist")
    return TaskManager(include_path=str(folder), include_defaults=False)


def _metric_name(key: str) -> tuple[str, bool]:
    """"acc,none" -> ("acc", False); "acc_stderr,none" -> ("acc", True); other filters stay visible:
    "exact_match,strict-match" -> ("exact_match@strict-match", False)."""
    metric, _, filt = key.partition(",")
    is_se = metric.endswith("_stderr")
    if is_se:
        metric = metric[: -len("_stderr")]
    if filt and filt != "none":
        metric = f"{metric}@{filt}"
    return metric, is_se


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None  # lm-eval writes "N/A" for stderrs it did not compute
    return float(value)


def _chance_of(metadata: Any) -> float | dict[str, float] | None:
    """`metadata: {chance: 0.25}` or per metric `{chance: {acc: 0.25, acc_hop1: 0.5}}`."""
    if not isinstance(metadata, dict):
        return None
    chance = metadata.get("chance")
    if isinstance(chance, dict):
        return {str(k): float(v) for k, v in chance.items() if _number(v) is not None}
    return _number(chance)


def _convert(raw: dict[str, Any], chance: float | dict[str, float] | None, n: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ("alias", "name", "sample_len", "sample_count") or "," not in key:
            continue
        metric, is_se = _metric_name(key)
        out[f"{metric}_stderr" if is_se else metric] = _number(value)
    accs = [m for m in out if m.startswith("acc") and not m.endswith("_stderr")]
    per_metric = {m: chance.get(m, chance.get("acc")) if isinstance(chance, dict) else chance for m in accs}
    out["n"] = n
    primary = "acc" if "acc" in accs else None
    out["chance"] = chance if isinstance(chance, dict) or primary is None else per_metric[primary]
    out["normalized"] = chance_normalized(out[primary], per_metric[primary]) if primary else None
    if accs:
        out["normalized_by_metric"] = {m: chance_normalized(out[m], per_metric[m]) for m in accs}
    return out


def _leaves(name: str, group_subtasks: dict[str, list[str]]) -> list[str]:
    out = []
    for child in group_subtasks.get(name, []):
        out += _leaves(child, group_subtasks) if child in group_subtasks else [child]
    return out


def convert_results(results: dict[str, Any], group_meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """lm-eval's `simple_evaluate` output -> the record's `{"tasks": ..., "groups": ..., "versions": ...}`."""
    group_subtasks: dict[str, list[str]] = results.get("group_subtasks") or {}
    groups = set(results.get("groups") or {}) | set(group_subtasks)
    configs = results.get("configs") or {}
    n_samples = results.get("n-samples") or {}
    tasks: dict[str, Any] = {}
    chances: dict[str, Any] = {}
    for name in sorted(results.get("results") or {}):
        if name in groups:
            continue
        chances[name] = _chance_of((configs.get(name) or {}).get("metadata"))
        n = (n_samples.get(name) or {}).get("effective")
        tasks[name] = _convert(results["results"][name], chances[name], n)
    out_groups: dict[str, Any] = {}
    for name in sorted(groups):
        raw = (results.get("groups") or {}).get(name) or (results.get("results") or {}).get(name) or {}
        leaves = _leaves(name, group_subtasks)
        chance = _chance_of((group_meta or {}).get(name))
        if chance is None and leaves and all(isinstance(chances.get(t), float) for t in leaves) \
                and len({chances[t] for t in leaves}) == 1:
            chance = chances[leaves[0]]  # every subtask has the same chance level
        n = sum(tasks[t]["n"] or 0 for t in leaves if t in tasks) if leaves else None
        entry = _convert(raw, chance, n)
        entry["subtasks"] = leaves
        out_groups[name] = entry
    return {"tasks": tasks, "groups": out_groups,
            "versions": {k: v for k, v in sorted((results.get("versions") or {}).items())}}


def _group_metadata(tm: Any) -> dict[str, Any]:
    """The `metadata` block of each group's YAML (lm-eval's results do not carry it)."""
    out: dict[str, Any] = {}
    index = getattr(tm, "task_index", {}) or {}
    for name in tm.all_groups:
        cfg = getattr(index.get(name), "cfg", None)
        if isinstance(cfg, dict) and isinstance(cfg.get("metadata"), dict):
            out[name] = cfg["metadata"]
    return out


@contextlib.contextmanager
def eval_environment() -> Iterator[None]:
    """Offline hub (unless the user chose otherwise) and in-process bootstrap resampling (lm-eval forks a
    pool of cpu_count workers per bootstrapped metric otherwise) while lm-eval runs; restored after."""
    had = os.environ.get("DISABLE_MULTIPROC")
    os.environ.setdefault("DISABLE_MULTIPROC", "1")
    # lm-eval warns about our custom datasets and per-hop metric counts on every task build: known,
    # documented in tasks/README.md, and noise in a run's output.
    quiet = [logging.getLogger(name) for name in ("lm_eval", "lm-eval")]
    levels = [lg.level for lg in quiet]
    for lg in quiet:
        lg.setLevel(logging.ERROR)
    try:
        with hub_offline():
            yield
    finally:
        if had is None:
            os.environ.pop("DISABLE_MULTIPROC", None)
        for lg, level in zip(quiet, levels, strict=True):
            lg.setLevel(level)


def run_suite(lm: TemplateLM, tasks: list[str], limit: int | None = None, tasks_dir: Path | None = None,
              seed: int = 1234, log_samples: bool = False) -> dict[str, Any]:
    """Evaluate `lm` on our lm-eval tasks/groups; deterministic (seeded, no caches)."""
    import lm_eval

    if not tasks:
        raise BenchError("no tasks given")
    if limit is not None and (isinstance(limit, bool) or limit <= 0):
        raise BenchError(f"limit must be a positive number of documents, got {limit!r}")
    tm = task_manager(tasks_dir)
    unknown = [t for t in tasks if t not in tm.all_tasks]
    if unknown:
        known = ", ".join(tm.all_tasks) or "none"
        raise BenchError(f"unknown task or group {', '.join(map(repr, unknown))} (available: {known})")
    t0 = time.perf_counter()
    with eval_environment():
        results = lm_eval.simple_evaluate(
            model=lm, tasks=list(tasks), task_manager=tm, limit=limit, use_cache=None, cache_requests=False,
            bootstrap_iters=BOOTSTRAP_ITERS, log_samples=log_samples, random_seed=seed,
            numpy_random_seed=seed, torch_random_seed=seed, fewshot_random_seed=seed)
    wall = time.perf_counter() - t0
    out = convert_results(results, _group_metadata(tm))
    out["wall_s"] = wall
    if log_samples:
        out["samples"] = results.get("samples")
    return out


# --------------------------------------------------------------------------------------------- lm-eval CLI
@contextlib.contextmanager
def _only_included_tasks() -> Iterator[None]:
    """Make lm-eval's CLI build its TaskManager without the stock tasks (it has no flag for that)."""
    import lm_eval.tasks as lm_tasks

    original = lm_tasks.TaskManager

    class IncludedOnly(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any):
            kwargs.setdefault("include_defaults", False)
            super().__init__(*args, **kwargs)

    lm_tasks.TaskManager = IncludedOnly
    try:
        yield
    finally:
        lm_tasks.TaskManager = original


def lm_eval_cli(argv: list[str] | None = None) -> int:
    """lm-eval's own command line with the `bench` model registered (importing this module did that).

    `argv` as for `lm_eval` without the program name (`run` may be left out, as with `lm_eval`). Added
    defaults: `--include_path <project tasks/>` (every subcommand), and for `run` `--device auto` and
    `--batch_size 32`. Only included tasks are indexed unless `--stock-tasks` is given.
    Returns the exit status (a BenchError, or lm-eval's ValueError for e.g. an unknown task, prints one line
    and gives 2).
    """
    from lm_eval.__main__ import cli_evaluate

    args = list(sys.argv[1:] if argv is None else argv)
    stock = "--stock-tasks" in args
    args = [a for a in args if a != "--stock-tasks"]
    if args and args[0] not in ("run", "ls", "validate", "-h", "--help"):
        args.insert(0, "run")  # lm-eval's legacy form: options without a subcommand
    given = {a.split("=", 1)[0] for a in args if a.startswith("-")}
    if args and args[0] in ("run", "ls", "validate") and not given & {"-h", "--help"}:
        if "--include_path" not in given:
            with contextlib.suppress(BenchError):
                args += ["--include_path", str(default_tasks_dir())]
        if args[0] == "run" and "--device" not in given:
            args += ["--device", "auto"]
        if args[0] == "run" and not given & {"--batch_size", "-b"}:
            args += ["--batch_size", str(DEFAULT_BATCH_SIZE)]
    saved = sys.argv
    sys.argv = ["lm-eval", *args]
    try:
        with eval_environment(), contextlib.nullcontext() if stock else _only_included_tasks():
            cli_evaluate()
    except (BenchError, ValueError) as exc:  # lm-eval reports user mistakes as ValueError
        print(f"lm-eval: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    finally:
        sys.argv = saved
    return 0
