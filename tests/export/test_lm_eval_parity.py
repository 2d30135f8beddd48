"""Stock lm-eval's `hf` backend on an export scores like `bench eval` on the run: same accuracies, and
every request's log-likelihood within 1e-4, for a byte-level BPE and a word-level tokenizer, on a task
whose contexts end in whitespace (lm-eval moves it into the continuation, so the tokenizer's handling of
a leading space decides the continuation's tokens), a rolling-perplexity task and the anchor task."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import lm_eval
import pytest

from bench.evaluate.adapter import BenchLM
from bench.evaluate.suite import eval_environment, run_suite, task_manager
from bench.export.writer import export_run

pytest.importorskip("transformers")
pytest.importorskip("accelerate", reason="lm-eval's hf backend imports accelerate (the hf extra)")

TOL = 1e-4
WORDS = "the cat sat on a mat and dog ran to red blue big small is was yes no".split()
# Contexts end in a space, a newline or double spaces; `target_delimiter: ""` keeps the choices as written.
WS_DOCS = [{"q": "the cat sat on ", "choices": ["a mat", "the dog", "red"], "label": 0},
           {"q": "is the dog big?\n", "choices": ["yes", "no", " no"], "label": 1},
           {"q": "the  red cat  ", "choices": ["ran to  a mat", "sat", "was small"], "label": 2},
           {"q": "a big dog and ", "choices": ["a cat", "blue", "yes."], "label": 0}]
PPL_DOCS = [{"text": "the cat sat on a mat and the dog ran to the red mat."},
            # Longer than the 48-token window: scored in rolling windows by both backends. Not periodic: two
            # rolling windows with equal tokens but different context/continuation splits fall into one of
            # lm-eval's request groups, where 0.4.13's hf backend reads the wrong rows (docs/export.md).
            {"text": (lambda rng: " ".join(rng.choice(WORDS) + rng.choice(["", "\n", " ", "."])
                                           for _ in range(90)))(random.Random(0))}]


@pytest.fixture(scope="module")
def task_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tasks")
    for name, docs in (("ws", WS_DOCS), ("ppl", PPL_DOCS)):
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (folder / "load.py").write_text(
        "import json\nfrom pathlib import Path\nimport datasets\n\n\n"
        "def load(name, **kwargs):\n"
        "    lines = (Path(__file__).parent / f'{name}.jsonl').read_text().splitlines()\n"
        "    return {'test': datasets.Dataset.from_list([json.loads(x) for x in lines])}\n")
    (folder / "ws.yaml").write_text(
        "task: ws\ncustom_dataset: !function load.load\ndataset_kwargs:\n  name: ws\ntest_split: test\n"
        "output_type: multiple_choice\ndoc_to_text: q\ndoc_to_choice: choices\ndoc_to_target: label\n"
        "target_delimiter: ''\nmetric_list:\n  - metric: acc\n  - metric: acc_norm\n"
        "metadata:\n  version: 1\n")
    (folder / "ppl.yaml").write_text(
        "task: ppl\ncustom_dataset: !function load.load\ndataset_kwargs:\n  name: ppl\ntest_split: test\n"
        "output_type: loglikelihood_rolling\ndoc_to_text: text\ndoc_to_target: text\n"
        "metric_list:\n  - metric: word_perplexity\n  - metric: bits_per_byte\nmetadata:\n  version: 1\n")
    return folder


def both(run: Path, export: Path, tasks: list[str], tasks_dir: Path | None, limit: int | None
         ) -> tuple[dict[str, Any], dict[str, Any]]:
    """lm-eval's results (with per-request responses) from the bench model and from stock `hf`."""
    common = {"tasks": tasks, "limit": limit, "log_samples": True, "bootstrap_iters": 0, "random_seed": 0,
              "numpy_random_seed": 0, "torch_random_seed": 0, "fewshot_random_seed": 0}
    ours = run_suite(BenchLM(run=run, device="cpu", batch_size=8), tasks, limit, tasks_dir, seed=0,
                     log_samples=True)
    with eval_environment():
        theirs = lm_eval.simple_evaluate(model="hf", model_args=f"pretrained={export},dtype=float32",
                                         device="cpu", batch_size=8, task_manager=task_manager(tasks_dir),
                                         **common)
    return ours, theirs


def logliks(samples: list[dict[str, Any]]) -> list[float]:
    return [float(r[0][0]) if isinstance(r[0], (list, tuple)) else float(r[0])
            for s in sorted(samples, key=lambda s: s["doc_id"]) for r in s["resps"]]


@pytest.mark.parametrize("kind, arch", [("bpe", {}), ("word", {"norm": "layernorm", "mlp": "gelu",
                                                               "pos_encoding": "learned"})])
def test_stock_hf_backend_scores_like_bench_eval(run_factory, tmp_path, task_dir, kind, arch):
    run, _, _, _ = run_factory(kind=kind, **arch)
    export_run(run, tmp_path / "hf")
    ours, theirs = both(run, tmp_path / "hf", ["ws", "ppl"], task_dir, None)
    for task, metrics in (("ws", ("acc", "acc_norm")), ("ppl", ("word_perplexity", "bits_per_byte"))):
        for metric in metrics:
            assert ours["tasks"][task][metric] == pytest.approx(theirs["results"][task][f"{metric},none"],
                                                                rel=TOL)
        mine, stock = logliks(ours["samples"][task]), logliks(theirs["samples"][task])
        assert len(mine) == len(stock) > 0
        assert max(abs(a - b) for a, b in zip(mine, stock, strict=True)) <= TOL


def test_anchor_task_parity(run_factory, tmp_path):
    run, _, _, _ = run_factory(kind="bpe")
    export_run(run, tmp_path / "hf")
    ours, theirs = both(run, tmp_path / "hf", ["anchor_seen"], None, 3)
    assert ours["tasks"]["anchor_seen"]["acc"] == theirs["results"]["anchor_seen"]["acc,none"]
    mine, stock = logliks(ours["samples"]["anchor_seen"]), logliks(theirs["samples"]["anchor_seen"])
    assert len(mine) == len(stock) == 3 * 106
    assert max(abs(a - b) for a, b in zip(mine, stock, strict=True)) <= TOL
