"""`bench export`: transformers reproduces initbench's logits for every architecture that maps, the
tokenizer loads with AutoTokenizer and encodes like the run's, and what does not map is refused in one
line with nothing written."""

from __future__ import annotations

import json

import pytest
import torch

from bench.export.mapping import half_rotation_order

transformers = pytest.importorskip("transformers")

LLAMA: dict = {}
GPT2 = {"norm": "layernorm", "mlp": "gelu", "pos_encoding": "learned"}
TEXTS = ["the cat sat on a mat.", " the  dog\nran to 12 red mats ", "yes no is was"]


@pytest.mark.parametrize("arch, knobs, cls", [
    ("llama", {}, "LlamaForCausalLM"),
    ("llama", {"bias": True, "tie_embeddings": True}, "LlamaForCausalLM"),
    ("llama", {"gates": 0.6}, "LlamaForCausalLM"),  # WeSaR: gates folded before export
    ("gpt2", {}, "GPT2LMHeadModel"),  # no biases: GPT-2's become zeros
    ("gpt2", {"bias": True, "tie_embeddings": True}, "GPT2LMHeadModel"),
])
def test_transformers_logits_equal_ours(run_factory, tmp_path, cli, arch, knobs, cls):
    run, net, vocab, cfg = run_factory(**(LLAMA if arch == "llama" else GPT2), **knobs)
    code, out, err = cli("export", str(run), "--to", str(tmp_path / "hf"))
    assert code == 0 and cls in out and "max |Δlogit|" in out, err
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
            "initbench_export.json"} <= {p.name for p in (tmp_path / "hf").iterdir()}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left
    model = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "hf", dtype=torch.float32).eval()
    assert type(model).__name__ == cls
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(0, cfg.model.vocab_size, (4, cfg.data.seq_len), generator=gen)
    with torch.no_grad():
        gap = (model(input_ids=ids).logits - net(ids)).abs().max().item()
    assert gap <= 1e-4, gap
    tok = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    assert [tok(t)["input_ids"] for t in TEXTS] == [vocab.encode(t) for t in TEXTS]
    assert tok.eos_token_id == vocab.eos_id and tok.bos_token_id is None
    assert tok.model_max_length == cfg.data.seq_len
    meta = json.loads((tmp_path / "hf" / "initbench_export.json").read_text())
    assert meta["architecture"] == cls and meta["max_abs_dlogit"] <= 1e-4


def test_word_level_tokenizer_round_trips(run_factory, tmp_path):
    from bench.export.writer import export_run

    run, _, vocab, _ = run_factory(kind="word")
    export_run(run, tmp_path / "hf")
    tok = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    for text in ["the cat  sat\non 12 mats", "dog ran to a red mat"]:
        assert tok(text)["input_ids"] == vocab.encode(text)
    assert tok.unk_token == "<unk>"


@pytest.mark.parametrize("knobs, named", [
    ({"gated_attention": True}, "model.gated_attention=true"),
    ({"embed_scale": True}, "model.embed_scale=true"),
    ({"embed_norm": True}, "model.embed_norm=true"),
    ({"norm_position": "post"}, "model.norm_position=post"),
    ({"mlp": "gelu"}, "model.mlp=gelu has no equivalent in LlamaForCausalLM"),
    ({**GPT2, "norm": "rmsnorm"}, "model.norm=rmsnorm has no equivalent in GPT2LMHeadModel"),
])
def test_unmappable_knobs_are_refused_in_one_line(run_factory, tmp_path, cli, knobs, named):
    run, *_ = run_factory(**knobs)
    code, _out, err = cli("export", str(run), "--to", str(tmp_path / "hf"))
    assert code == 2 and named in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "hf").exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_destination_and_run_errors(run_factory, tmp_path, cli):
    run, *_ = run_factory()
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("keep")
    code, _, err = cli("export", str(run), "--to", str(tmp_path / "taken"))
    assert code == 2 and "already exists and is not empty" in err
    assert (tmp_path / "taken" / "x").read_text() == "keep"
    code, _out, err = cli("export", str(tmp_path / "nope"), "--to", str(tmp_path / "hf"))
    assert code == 2 and "does not exist" in err and not (tmp_path / "hf").exists()
    (tmp_path / "empty").mkdir()
    assert cli("export", str(run), "--to", str(tmp_path / "empty"))[0] == 0  # an empty directory is fine


def test_half_rotation_order_pairs_even_and_odd_rows():
    assert half_rotation_order(2, 4).tolist() == [0, 2, 1, 3, 4, 6, 5, 7]
