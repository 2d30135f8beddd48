"""Corpora: rows and stream layouts, tokenizers, the token cache, and the seeded batch order."""

import json

import numpy as np
import pytest
import torch

from bench.config import DataConfig
from bench.core.errors import BenchError
from bench.data import cache, sources
from bench.data.corpus import IGNORE, held_out, load_corpus, parse_sources
from bench.data.vocab import EOS, train_bpe, word_vocab

TEXTS = [f"Document {i}: the {'quick brown fox' if i % 2 else 'lazy dog'} number {i} jumps. " * 20
         for i in range(300)]


@pytest.fixture(autouse=True)
def tmp_cache(tmp_path, monkeypatch):
    cache.set_cache_dir(tmp_path / "cache")
    yield tmp_path / "cache"
    cache.set_cache_dir(None)


@pytest.fixture
def fake_text(monkeypatch):
    """A text source named `fake` with known documents, instead of a registry download."""
    calls = []

    def load_documents(spec):
        calls.append(spec)
        assert spec == "fake"
        return list(TEXTS)

    monkeypatch.setattr(sources, "load_documents", load_documents)
    monkeypatch.setattr(sources, "source_info", lambda spec: {"name": spec, "content_hash": "abc",
                                                              "license": "test"})
    return calls


def test_anchor_rows_answers_only():
    corpus = load_corpus(DataConfig(corpus="anchor", n_train=500, n_val=50))
    assert corpus.mode == "rows" and corpus.vocab.kind == "word"
    x, y = corpus.batch(0, 16, seed=0)
    assert x.shape == (16, corpus.seq_len) and y.shape == x.shape
    counted = (y != IGNORE).sum(dim=1)
    assert (counted == 1).all()  # exactly the answer token of each example carries loss
    # Word-level ids are the numbers themselves: the answer is key + shifts, a number token.
    vocab = corpus.vocab
    assert vocab.encode("23 45") == [23, 45]
    row = x[0].tolist()
    answer_pos = int((y[0] != IGNORE).nonzero())
    assert vocab.decode([y[0, answer_pos].item()]).isdigit()
    assert answer_pos == len([t for t in row if t != vocab.eos_id]) - 2
    assert corpus.info["token_cache"]["splits"]["anchor.train"]["documents"] == 500
    manifest = corpus.info["token_cache"]["sources"]["anchor"]
    assert manifest["splits"]["train"]["n"] == 500 and manifest["splits"]["test"]["n"] == 50


def test_stream_mixture_weights_and_per_source_validation(fake_text):
    cfg = DataConfig(corpus="mixture", sources=["fake:3", "deduction:1"], n_train=300, n_val=50,
                     vocab_size=300, seq_len=32, val_fraction=0.1)
    corpus = load_corpus(cfg)
    assert corpus.mode == "stream" and corpus.vocab.kind == "bpe"
    assert corpus.weights == {"fake": 0.75, "deduction": 0.25}
    assert set(corpus.val) == {"fake", "deduction"}
    x, y = corpus.batch(3, 64, seed=1)
    assert x.shape == (64, 32) and torch.equal(x[:, 1:], y[:, :-1])  # targets are the next tokens
    assert (y != IGNORE).all()
    again = corpus.batch(3, 64, seed=1)
    assert torch.equal(again[0], x) and not torch.equal(corpus.batch(3, 64, seed=2)[0], x)
    # Text and validation documents are split by content, the same way every time.
    n_val = sum(held_out(t, 0.1) for t in TEXTS)
    splits = corpus.info["token_cache"]["splits"]
    assert splits["fake.val"]["documents"] == n_val and splits["fake.train"]["documents"] == 300 - n_val
    assert splits["deduction.train"]["cc_tokens"] > 0 and splits["fake.train"]["cc_tokens"] == 0


def test_mixture_sampling_follows_weights(fake_text):
    cfg = DataConfig(corpus="mixture", sources=["fake:0.9", "anchor:0.1"], n_train=300, n_val=50,
                     vocab_size=300, seq_len=16)
    corpus = load_corpus(cfg)
    # Anchor windows decode to digits and spaces; text windows do not.
    rows = torch.cat([corpus.batch(step, 50, 0)[0] for step in range(20)])
    texts = [corpus.vocab.decode(row.tolist()).replace("<|endoftext|>", " ") for row in rows]
    share = sum(sum(c in "0123456789 " for c in t) > 0.9 * len(t) for t in texts) / len(texts)
    assert 0.06 < share < 0.14  # 1000 rows at p = 0.1: ±4 standard deviations


def test_token_cache_is_reused_and_rebuilt_when_damaged(fake_text, tmp_cache):
    cfg = DataConfig(corpus="mixture", sources=["fake"], vocab_size=300, seq_len=16)
    first = load_corpus(cfg)
    first_tokens = np.array(first.streams["fake"].tokens)  # a copy: the damage below is in place
    assert len(fake_text) == 1
    again = load_corpus(cfg)
    assert len(fake_text) == 1  # neither the tokenizer nor the tokens were rebuilt
    assert again.info["token_cache"]["key"] == first.info["token_cache"]["key"]
    (entry,) = (tmp_cache / "tokens").iterdir()
    victim = entry / "fake.train.tokens.npy"
    data = bytearray(victim.read_bytes())
    data[-1] ^= 0xFF
    victim.write_bytes(bytes(data))
    rebuilt = load_corpus(cfg)
    assert len(fake_text) == 2
    assert np.array_equal(np.asarray(rebuilt.streams["fake"].tokens), first_tokens)
    manifest = json.loads((entry / "MANIFEST.json").read_text())
    assert manifest["key"]["tokenizer"] == first.vocab.digest()


def test_parse_sources_and_errors():
    assert parse_sources(DataConfig(corpus="mixture", sources=["a:1", "b:3"])) == {"a": 0.25, "b": 0.75}
    assert parse_sources(DataConfig(corpus="deduction")) == {"deduction": 1.0}
    assert parse_sources(DataConfig(corpus="./data/x:y.txt")) == {"./data/x:y.txt": 1.0}
    for bad, message in [(["a:0"], "positive"), (["a", "a:2"], "twice"), ([], "empty")]:
        with pytest.raises(BenchError, match=message):
            parse_sources(DataConfig(corpus="mixture", sources=bad))


def test_word_tokenizer_refuses_text(fake_text):
    with pytest.raises(BenchError, match="word"):
        load_corpus(DataConfig(corpus="fake", tokenizer="word"))


def test_tokenizers_round_trip_and_hash():
    bpe = train_bpe(TEXTS[:50], 300)
    assert bpe.decode(bpe.encode(TEXTS[3])) == TEXTS[3]
    assert bpe.tok.token_to_id(EOS) is not None and bpe.digest() == train_bpe(TEXTS[:50], 300).digest()
    words = word_vocab(["7", "12", "wumpus", "."])
    ids = words.tok.token_to_id
    assert words.encode("12 7 wumpus .") == [12, 7, ids("wumpus"), ids(".")]
    assert words.decode(words.encode("12 wumpus .")) == "12 wumpus ."
