"""The lm-eval adapter against brute force, run-directory errors, suites and lm-eval's own CLI."""

from __future__ import annotations

import json
import math
import os
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from tinyconfig import tiny_config

from bench.core.errors import BenchError
from bench.core.files import torch_save
from bench.data.vocab import word_vocab
from bench.evaluate.adapter import BenchLM
from bench.evaluate.lm_eval_cli import lm_eval_cli
from bench.evaluate.results import chance_normalized, convert_results
from bench.evaluate.suite import run_suite
from bench.model.schemes import build_model
from bench.train.artifacts import export_model, load_run

WORDS = "the cat sat on a mat dog ran far away red blue green yes no is it what".split()
SEQ_LEN = 16  # the trained context: the adapter's max_length


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    vocab = word_vocab(WORDS + [str(i) for i in range(10)])
    cfg = tiny_config(model={"vocab_size": vocab.size}, data={"seq_len": SEQ_LEN},
                      init={"method": "normal", "sigma": 0.3, "seed": 3})
    model, _ = build_model(cfg.model, cfg.init)
    model.eval()
    run_dir = tmp_path_factory.mktemp("evalrun") / "run"
    run_dir.mkdir()
    export_model(run_dir, cfg, model, SimpleNamespace(vocab=vocab))
    return SimpleNamespace(vocab=vocab, cfg=cfg, model=model, run=run_dir)


@pytest.fixture(scope="module")
def lm(setup):
    return BenchLM(run=setup.run, device="cpu")


def ids(vocab, text: str) -> list[int]:
    return vocab.encode(text)


@torch.no_grad()
def reference(model, ctx: list[int], cont: list[int], max_length: int = SEQ_LEN) -> tuple[float, bool]:
    """Brute force: one forward pass over (context + continuation)[:-1], left-truncated."""
    full = (ctx + cont)[-(max_length + 1):]
    logits = model(torch.tensor([full[:-1]]))[0].float()
    rows = logits[len(full) - 1 - len(cont):]
    lp = F.log_softmax(rows, dim=-1).gather(1, torch.tensor(cont)[:, None]).squeeze(1)
    return float(lp.double().sum()), bool((rows.argmax(-1) == torch.tensor(cont)).all())


def requests(vocab) -> list:
    """Different lengths, multi-token continuations, a shared context with one-token candidates, a
    multi-token continuation in the same prefix group, and a context longer than max_length."""
    e = lambda s: ids(vocab, s)  # noqa: E731
    long_ctx = e(" ".join(["the cat sat on a mat"] * 5))  # 30 tokens > SEQ_LEN
    reqs = [(e("the cat"), e("sat")), (e("the cat"), e("sat on a mat")), (e("dog"), e("ran far away")),
            (long_ctx, e("yes")), (long_ctx, e("dog ran")), (e("what is it"), e("red blue"))]
    reqs += [(e("what is it"), [w]) for w in e("red blue green yes no 1 2 3")]
    reqs += [(e("what is"), e("it green"))]  # key "what is it": same group as the candidates above
    return [(None, c, t) for c, t in reqs]


def test_loglikelihood_matches_brute_force(setup, lm):
    reqs = requests(setup.vocab)
    got = lm._loglikelihood_tokens(reqs)
    for (_, ctx, cont), (ll, greedy) in zip(reqs, got, strict=True):
        want_ll, want_greedy = reference(setup.model, ctx, cont)
        assert ll == pytest.approx(want_ll, rel=1e-5, abs=1e-6)  # float32 attention rounds per width
        assert greedy == want_greedy
    # Through lm-eval's string path too (TemplateLM moves the space into the continuation).
    texts = [("the cat", " sat on"), ("", "the cat"), ("what is it", " red")]
    got = lm.loglikelihood([SimpleNamespace(args=a) for a in texts])
    eos = setup.vocab.eos_id
    for (ctx, cont), (ll, _) in zip(texts, got, strict=True):
        c = ids(setup.vocab, ctx) or [eos]
        assert ll == pytest.approx(reference(setup.model, c, ids(setup.vocab, cont))[0], rel=1e-5, abs=1e-6)


def test_a_repeated_context_is_tokenized_once_and_callers_get_their_own_ids(setup, monkeypatch):
    lm = BenchLM(run=setup.run, device="cpu")
    calls = []
    encode = setup.vocab.tok.encode
    monkeypatch.setattr(lm.vocab.tok, "encode", lambda text, **kw: calls.append(text) or encode(text, **kw))
    choices = [" red", " blue", " green", " yes"]
    got = lm.loglikelihood([SimpleNamespace(args=("what is it", c)) for c in choices])
    # lm-eval encodes each request's context and context + continuation: 4 + 1, not 8.
    assert sorted(calls) == sorted(["what is it"] + [f"what is it{c}" for c in choices])
    ctx = ids(setup.vocab, "what is it")
    for c, (ll, _) in zip(choices, got, strict=True):
        cont = ids(setup.vocab, f"what is it{c}")[len(ctx):]
        assert ll == pytest.approx(reference(setup.model, ctx, cont)[0], rel=1e-5, abs=1e-6)
    first = lm.tok_encode("what is it")
    first.append(-1)  # a caller that extends its list (as requests do) changes no later answer
    assert lm.tok_encode("what is it") == ids(setup.vocab, "what is it") == first[:-1]


def test_shared_context_is_one_forward_row(setup, lm, monkeypatch):
    e = lambda s: ids(setup.vocab, s)  # noqa: E731
    cands = e("red blue green yes no 1 2 3 4 5")
    reqs = [(None, e(f"what is it {d}"), [w]) for d in "1 2 3".split() for w in cands]
    rows = []
    forward = lm._forward
    monkeypatch.setattr(lm, "_forward",
                        lambda batch, spans: rows.append(batch.shape[0]) or forward(batch, spans))
    got = lm._loglikelihood_tokens(reqs)
    assert sum(rows) == 3  # one row per context, not one per candidate
    for (_, ctx, cont), (ll, greedy) in zip(reqs, got, strict=True):
        assert (ll, greedy) == pytest.approx(reference(setup.model, ctx, cont), abs=1e-5)


def test_batch_size_does_not_change_results(setup):
    reqs = requests(setup.vocab)
    one = BenchLM(run=setup.run, device="cpu", batch_size=1)._loglikelihood_tokens(reqs)
    many = BenchLM(run=setup.run, device="cpu", batch_size="32")._loglikelihood_tokens(reqs)
    assert one == many  # bit-identical: a row's padding never depends on its batch


@torch.no_grad()
def test_rolling_equals_one_pass(setup, lm):
    eos = setup.vocab.eos_id
    texts = ["the cat sat on a mat", "dog ran far away yes no is it red blue green"]
    got = lm.loglikelihood_rolling([SimpleNamespace(args=(t,)) for t in texts])
    for text, ll in zip(texts, got, strict=True):
        toks = ids(setup.vocab, text)
        assert len(toks) < SEQ_LEN
        logits = setup.model(torch.tensor([[eos, *toks[:-1]]]))[0]
        want = F.log_softmax(logits.float(), -1).gather(1, torch.tensor(toks)[:, None]).sum()
        assert ll == pytest.approx(float(want), abs=1e-5)
    # Longer than the window: every token predicted exactly once, in disjoint windows.
    toks = ids(setup.vocab, " ".join(WORDS * 2))  # 38 tokens
    (ll,) = lm.loglikelihood_rolling([SimpleNamespace(args=(" ".join(WORDS * 2),))])
    want = reference(setup.model, [eos], toks[:SEQ_LEN])[0]
    want += reference(setup.model, toks[:SEQ_LEN], toks[SEQ_LEN:2 * SEQ_LEN])[0]
    want += reference(setup.model, toks[:2 * SEQ_LEN], toks[2 * SEQ_LEN:])[0]
    assert ll == pytest.approx(want, abs=1e-5)


@torch.no_grad()
def test_is_greedy_hand_built(setup, lm):
    ctx = ids(setup.vocab, "the cat sat")
    first = int(setup.model(torch.tensor([ctx]))[0, -1].argmax())
    second = int(setup.model(torch.tensor([[*ctx, first]]))[0, -1].argmax())
    other = (first + 1) % setup.vocab.size
    got = lm._loglikelihood_tokens([(None, ctx, [first]), (None, ctx, [other]),
                                    (None, ctx, [first, second]), (None, ctx, [first, other])])
    assert [g for _, g in got] == [True, False, second != other, False]
    assert got[0][0] > got[1][0]


@torch.no_grad()
def greedy_reference(model, vocab, ctx: str, n: int) -> list[int]:
    toks, out = ids(vocab, ctx), []
    for _ in range(n):
        nxt = int(model(torch.tensor([(toks + out)[-SEQ_LEN:]]))[0, -1].argmax())
        if nxt == vocab.eos_id:
            break
        out.append(nxt)
    return out


def test_generate_until(setup, lm, monkeypatch):
    contexts = ["the cat sat on", "dog"]
    refs = [greedy_reference(setup.model, setup.vocab, c, 20) for c in contexts]
    assert all(len(r) >= 3 for r in refs)
    # max_gen_toks bounds the output; no stop string.
    got = lm.generate_until([SimpleNamespace(args=(c, {"until": [], "max_gen_toks": 4})) for c in contexts])
    assert got == [setup.vocab.decode(r[:4]) for r in refs]
    # Stop at a stop string: generation ends early and the output is cut before it.
    stop = " " + setup.vocab.decode(refs[0][2:3])
    steps = []
    forward = lm._forward
    monkeypatch.setattr(lm, "_forward", lambda batch, spans: steps.append(1) or forward(batch, spans))
    (text,) = lm.generate_until([SimpleNamespace(args=(contexts[0], {"until": [stop], "max_gen_toks": 20}))])
    full = setup.vocab.decode(refs[0])
    assert text == full.split(stop)[0]
    assert len(steps) <= 3 < 20


def test_in_memory_model_matches_run_dir(setup, lm):
    mem = BenchLM.from_model(setup.model, setup.vocab, device="cpu", max_length=SEQ_LEN)
    reqs = requests(setup.vocab)
    assert mem._loglikelihood_tokens(reqs) == lm._loglikelihood_tokens(reqs)


def test_load_run_roundtrip(setup, lm):
    model, vocab, cfg = load_run(setup.run)
    assert cfg.data.seq_len == SEQ_LEN and lm.max_length == SEQ_LEN
    assert vocab.digest() == setup.vocab.digest()
    for a, b in zip(model.state_dict().values(), setup.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert lm.eot_token_id == setup.vocab.eos_id


def one_line_error(match: str, fn, *args) -> str:
    with pytest.raises(BenchError, match=match) as info:
        fn(*args)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_load_run_errors(setup, tmp_path):
    one_line_error("does not exist", load_run, tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_error("no model.pt and no checkpoint", load_run, empty)
    (empty / "last.pt").write_bytes(b"x")
    one_line_error("no model.pt: the run did not finish; resume", load_run, empty)
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "model.pt").write_bytes(b"not a checkpoint at all")
    one_line_error("corrupt or unreadable", load_run, corrupt)

    ckpt = torch.load(setup.run / "model.pt", weights_only=True)
    bad = tmp_path / "mismatch"
    bad.mkdir()
    (bad / "tokenizer.json").write_bytes((setup.run / "tokenizer.json").read_bytes())
    torch_save(bad / "model.pt", {**ckpt, "config": {**ckpt["config"],
                                                     "model": {**ckpt["config"]["model"], "d_ff": 48}}})
    msg = one_line_error("config does not match the weights", load_run, bad)
    assert "blocks.0.mlp.up.weight" in msg and "(64, 32)" in msg and "(48, 32)" in msg
    torch_save(bad / "model.pt", {**ckpt, "config": {**ckpt["config"],
                                                     "model": {**ckpt["config"]["model"], "n_layers": 1}}})
    one_line_error("unexpected blocks.1", load_run, bad)
    torch_save(bad / "model.pt", {**ckpt, "tokenizer_hash": "0" * 16})
    one_line_error("not the tokenizer model.pt was trained with", load_run, bad)
    (bad / "tokenizer.json").unlink()
    one_line_error("no tokenizer.json", load_run, bad)
    one_line_error("does not exist", BenchLM, str(tmp_path / "missing"))
    one_line_error("unknown model argument", lambda: BenchLM(run=setup.run, device="cpu", pretrained="x"))


def test_chance_normalized_hand_values():
    assert chance_normalized(0.5, 0.25) == (0.5 - 0.25) / 0.75
    assert chance_normalized(0.25, 0.25) == 0.0
    assert chance_normalized(1.0, 0.01) == 1.0
    assert chance_normalized(0.0, 0.5) == -1.0
    assert chance_normalized(None, 0.5) is None and chance_normalized(0.5, None) is None
    assert chance_normalized(0.5, 1.0) is None


def test_convert_results_several_accuracies():
    raw = {
        "results": {"deduction": {"alias": "deduction", "acc_hop1,none": 0.75, "acc_hop1_stderr,none": 0.1,
                                  "acc_hop2,none": 0.5, "acc_hop2_stderr,none": "N/A",
                                  "exact_match,strict-match": 0.2},
                    "plain": {"alias": "plain", "bits_per_byte,none": 1.5,
                              "bits_per_byte_stderr,none": "N/A"}},
        "configs": {"deduction": {"metadata": {"chance": {"acc_hop1": 0.5, "acc_hop2": 0.25}}},
                    "plain": {"metadata": {"version": 1}}},
        "n-samples": {"deduction": {"original": 9, "effective": 4}, "plain": {"original": 3, "effective": 3}},
        "versions": {"deduction": 1, "plain": 0},
    }
    out = convert_results(raw)
    d = out["tasks"]["deduction"]
    assert d["acc_hop1"] == 0.75 and d["acc_hop1_stderr"] == 0.1 and d["acc_hop2_stderr"] is None
    assert d["exact_match@strict-match"] == 0.2 and d["n"] == 4
    assert d["normalized"] is None
    assert d["normalized_by_metric"] == {"acc_hop1": 0.5, "acc_hop2": (0.5 - 0.25) / 0.75}
    p = out["tasks"]["plain"]
    assert p == {"bits_per_byte": 1.5, "bits_per_byte_stderr": None, "n": 3, "chance": None,
                 "normalized": None}
    assert out["groups"] == {} and out["versions"] == {"deduction": 1, "plain": 0}


DOCS = [{"q": "what is it", "choices": ["red", "blue", "green"], "label": 0},
        {"q": "the cat sat on", "choices": ["a mat", "the dog", "it"], "label": 1},
        {"q": "dog ran", "choices": ["far away", "yes", "no"], "label": 2},
        {"q": "is it red", "choices": ["yes", "no", "blue"], "label": 0},
        {"q": "the dog", "choices": ["ran", "sat", "is"], "label": 1}]


@pytest.fixture
def task_dir(tmp_path):
    """A throwaway multiple-choice task read through a `!function` loader that resolves its own path."""
    folder = tmp_path / "tasks"
    folder.mkdir()
    (folder / "toy.jsonl").write_text("".join(json.dumps(d) + "\n" for d in DOCS))
    (folder / "toyload.py").write_text(
        "import json\nimport os\nfrom pathlib import Path\nimport datasets\n\n\n"
        "def load(**kwargs):\n"
        "    here = Path(__file__).parent\n"
        "    seen = {'env': os.environ.get('HF_HUB_OFFLINE'), 'config': datasets.config.HF_HUB_OFFLINE}\n"
        "    (here / 'seen.json').write_text(json.dumps(seen))\n"
        "    lines = (here / 'toy.jsonl').read_text().splitlines()\n"
        "    return {'test': datasets.Dataset.from_list([json.loads(x) for x in lines])}\n")
    (folder / "toy.yaml").write_text(
        "task: toy\ncustom_dataset: !function toyload.load\ntest_split: test\n"
        "output_type: multiple_choice\ndoc_to_text: q\ndoc_to_choice: choices\ndoc_to_target: label\n"
        "metric_list:\n  - metric: acc\n  - metric: acc_norm\n"
        "metadata:\n  version: 1\n  chance: 0.3333333333333333\n")
    (folder / "toy_group.yaml").write_text(
        "group: toy_group\ntask: [toy]\naggregate_metric_list:\n  - metric: acc\n    weight_by_size: true\n"
        "metadata:\n  version: 1\n")
    return folder


def expected_scores(setup) -> tuple[float, float]:
    acc = acc_norm = 0.0
    for doc in DOCS:
        ctx = ids(setup.vocab, doc["q"])
        lls = [reference(setup.model, ctx, ids(setup.vocab, c))[0] for c in doc["choices"]]
        norm = [ll / len(c) for ll, c in zip(lls, doc["choices"], strict=True)]
        acc += lls.index(max(lls)) == doc["label"]
        acc_norm += norm.index(max(norm)) == doc["label"]
    return acc / len(DOCS), acc_norm / len(DOCS)


def test_run_suite_end_to_end(setup, lm, task_dir, monkeypatch):
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "DISABLE_MULTIPROC"):
        monkeypatch.delenv(name, raising=False)
    acc, acc_norm = expected_scores(setup)
    out = run_suite(lm, ["toy_group"], tasks_dir=task_dir)
    # Offline while lm-eval loaded the data (env and datasets' import-time constant), nothing left after.
    assert json.loads((task_dir / "seen.json").read_text()) == {"env": "1", "config": True}
    assert not {"HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "DISABLE_MULTIPROC"} & set(os.environ)
    toy = out["tasks"]["toy"]
    assert toy["acc"] == pytest.approx(acc) and toy["acc_norm"] == pytest.approx(acc_norm)
    assert toy["acc_stderr"] == pytest.approx(math.sqrt(acc * (1 - acc) / (len(DOCS) - 1)))
    assert toy["n"] == 5 and toy["chance"] == pytest.approx(1 / 3)
    assert toy["normalized"] == pytest.approx((acc - 1 / 3) / (2 / 3))
    assert toy["normalized_by_metric"]["acc_norm"] == pytest.approx((acc_norm - 1 / 3) / (2 / 3))
    group = out["groups"]["toy_group"]
    assert group["acc"] == pytest.approx(acc) and group["n"] == 5 and group["subtasks"] == ["toy"]
    assert group["chance"] == pytest.approx(1 / 3) and group["normalized"] == pytest.approx(toy["normalized"])
    assert out["versions"]["toy"] == 1 and out["wall_s"] > 0
    # Deterministic, and `limit` scores the first documents only.
    again = run_suite(lm, ["toy_group"], tasks_dir=task_dir)
    assert (again["tasks"], again["groups"]) == (out["tasks"], out["groups"])
    assert run_suite(lm, ["toy"], tasks_dir=task_dir, limit=2)["tasks"]["toy"]["n"] == 2
    msg = one_line_error("unknown task or group 'nope'", run_suite, lm, ["nope"], None, task_dir)
    assert "toy, toy_group" in msg


def test_lm_eval_cli(setup, task_dir, tmp_path, capsys):
    acc, _ = expected_scores(setup)
    rc = lm_eval_cli(["--model", "bench", "--model_args", f"run={setup.run},batch_size=4", "--tasks", "toy",
                      "--include_path", str(task_dir), "--output_path", str(tmp_path / "out")])
    assert rc == 0
    assert "|toy" in capsys.readouterr().out
    (path,) = (tmp_path / "out").rglob("results_*.json")
    assert json.loads(path.read_text())["results"]["toy"]["acc,none"] == pytest.approx(acc)
    rc = lm_eval_cli(["--model", "bench", "--model_args", f"run={tmp_path / 'missing'}", "--tasks", "toy",
                      "--include_path", str(task_dir)])
    assert rc == 2
    assert "does not exist" in capsys.readouterr().err
    assert lm_eval_cli(["--model", "bench", "--model_args", f"run={setup.run}", "--tasks", "nope",
                        "--include_path", str(task_dir)]) == 2
    assert "Tasks not found: nope" in capsys.readouterr().err


def test_continuation_longer_than_the_window_is_scored_in_pieces(setup, lm):
    """A continuation that does not fit the context window: half-window pieces, each conditioned on
    what precedes it, their log-probabilities summed."""
    e = lambda s: ids(setup.vocab, s)  # noqa: E731
    ctx, cont = e("what is it"), e(" ".join(["the cat sat on a mat dog ran far away"] * 4))  # 40 tokens
    assert len(cont) > SEQ_LEN
    ((ll, greedy),) = lm._loglikelihood_tokens([(None, ctx, cont)])
    piece = SEQ_LEN // 2
    parts = [reference(setup.model, ctx + cont[:a], cont[a:a + piece]) for a in range(0, len(cont), piece)]
    assert ll == pytest.approx(sum(p[0] for p in parts), rel=1e-5)
    assert greedy == all(p[1] for p in parts)


def test_run_suite_keeps_per_document_outputs_and_scores_powered_subsets(setup, lm, task_dir, monkeypatch):
    from bench.evaluate import protocol

    acc, _ = expected_scores(setup)
    out = run_suite(lm, ["toy"], tasks_dir=task_dir)
    docs = out["documents"]["toy"]
    assert docs["doc_id"] == list(range(len(DOCS))) and sum(docs["metrics"]["acc"]) / len(DOCS) == acc
    assert out["task_provenance"]["toy"] == {"protocol": "quick", "split_documents": 5, "subset_seed": None}
    # A split the powered protocol caps is scored on its fixed seeded subset, the rest whole.
    monkeypatch.setattr(protocol, "POWERED_SUBSETS", {"toy": 3})
    powered = run_suite(lm, ["toy"], tasks_dir=task_dir, protocol="powered")
    ids = protocol.subset_ids(5, 3)
    assert powered["tasks"]["toy"]["n"] == 3 and powered["documents"]["toy"]["doc_id"] == ids
    assert powered["documents"]["toy"]["metrics"]["acc"] == [docs["metrics"]["acc"][i] for i in ids]
    assert powered["task_provenance"]["toy"] == {"protocol": "powered", "split_documents": 5,
                                                 "subset_seed": protocol.SUBSET_SEED}
    with pytest.raises(BenchError, match="takes no limit"):
        run_suite(lm, ["toy"], tasks_dir=task_dir, limit=2, protocol="powered")
