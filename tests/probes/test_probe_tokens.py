"""The token-level probe: reference n-grams, bucket labels, and per-bucket losses (docs/probes.md)."""

import itertools
import json
import random
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from tinyconfig import tiny_config

from bench.config import ProbeConfig
from bench.core.errors import BenchError
from bench.data import sources
from bench.data.cache import cache_dir
from bench.data.corpus import load_corpus
from bench.data.synthetic import GENERATORS
from bench.data.token_cache import Stream, open_streams
from bench.model.schemes import build_model
from bench.probes import token_buckets as probe
from bench.probes.token_buckets import (
    BUCKETS,
    fit_ngrams,
    label_tokens,
    reference,
    scored_sequences,
    scored_targets,
)
from bench.record.schema import Bucket, BucketLoss, SourceLoss, TokenProbe


def stream(docs, cc=()):
    """A Stream of documents (each already ending in EOS = 0); `cc` lists constrained positions."""
    tokens = np.array([t for d in docs for t in d], dtype=np.uint16)
    flags = np.zeros(len(tokens), dtype=np.uint8)
    flags[list(cc)] = 1
    starts = np.cumsum([0] + [len(d) for d in docs[:-1]]).astype(np.int64)
    return Stream(tokens, flags, starts)


# Bigram 1 -> {2: 1, 3: 2}; 12 -> {13: 1, 14: 2}; 8 -> {9: 1, 4: 1} (a tie, 9 seen first).
TRAIN = [[5, 1, 2, 0], [6, 1, 3, 0], [7, 1, 3, 0], [8, 9, 0], [8, 4, 0], [10, 11, 12, 13, 0],
         [11, 12, 14, 0], [11, 12, 14, 0]]
# Three validation documents, at stream positions 0-5, 6-9 and 10-14.
VAL = [[5, 1, 2, 9, 1, 0], [1, 2, 3, 0], [10, 11, 12, 13, 0]]
T, L, C, OP = range(len(BUCKETS))  # trivial, local, context_constrained, open


def table(ngrams, n):
    """{context (oldest token first): predicted next token} of order n."""
    mask = (1 << ngrams.bits) - 1
    return {tuple((int(key) >> (ngrams.bits * j)) & mask for j in reversed(range(n - 1))): int(pred)
            for key, pred in zip(ngrams.contexts[n], ngrams.preds[n], strict=True)}


def test_fitted_tables_stay_inside_documents_and_break_ties_to_the_smallest_id():
    ngrams = fit_ngrams([stream(TRAIN)], 4, bits=4)
    assert table(ngrams, 2) == {(1,): 3, (2,): 0, (3,): 0, (4,): 0, (5,): 1, (6,): 1, (7,): 1, (8,): 4,
                                (9,): 0, (10,): 11, (11,): 12, (12,): 14, (13,): 0, (14,): 0}
    assert table(ngrams, 3) == {(5, 1): 2, (6, 1): 3, (7, 1): 3, (1, 2): 0, (1, 3): 0, (8, 9): 0, (8, 4): 0,
                                (10, 11): 12, (11, 12): 14, (12, 13): 0, (12, 14): 0}
    assert table(ngrams, 4) == {(5, 1, 2): 0, (6, 1, 3): 0, (7, 1, 3): 0, (10, 11, 12): 13,
                                (11, 12, 13): 0, (11, 12, 14): 0}
    assert ngrams.info["train_tokens"] == 31 and ngrams.info["contexts"] == {"2": 14, "3": 11, "4": 6}


def labels(val, mode, seq_len, synthetic, max_tokens=1000):
    ngrams = fit_ngrams([stream(TRAIN)], 4, bits=4)
    starts, lengths = scored_sequences(val, mode, seq_len, max_tokens)
    pos, visible = scored_targets(val, starts, lengths, max_tokens)
    return pos.tolist(), label_tokens(ngrams, val, pos, visible, synthetic).tolist()


def test_bucket_labels_of_natural_text():
    # One window over the whole stream (targets 1-14). Position 4 (token 1) is no n-gram's top pick but
    # occurs at position 1 of its document; position 6 (token 1, a new document) occurred only in the
    # previous one; 7 and 8 would need contexts reaching back into it; 13 is resolved by the 4-gram only.
    pos, got = labels(stream(VAL), "stream", 14, synthetic=False)
    assert pos == list(range(1, 15))
    assert got == [T, L, OP, C, OP, OP, OP, OP, T, OP, T, T, L, T]
    # Windows of 3: the window starting at 3 no longer sees position 1, so position 4 is open.
    pos, got = labels(stream(VAL), "stream", 3, synthetic=False)
    assert pos == list(range(1, 13))
    assert got == [T, L, OP, OP, OP, OP, OP, OP, T, OP, T, T]
    pos, got = labels(stream(VAL), "stream", 3, synthetic=False, max_tokens=5)
    assert pos == [1, 2, 3, 4, 5] and got == [T, L, OP, OP, OP]


def test_bucket_labels_of_synthetic_data_follow_the_generator():
    # Marked tokens are context-constrained whatever their n-gram label (local 2, open 3, trivial 11);
    # the unmarked repeat at 4 is open: the occurs-earlier rule is for natural text only.
    _, got = labels(stream(VAL, cc=[2, 3, 11]), "stream", 14, synthetic=True)
    assert got == [T, C, C, OP, OP, OP, OP, OP, T, OP, C, T, L, T]


def test_rows_score_each_document_up_to_seq_len_targets():
    val = stream(VAL)
    starts, lengths = scored_sequences(val, "rows", 3, 1000)
    assert starts.tolist() == [0, 6, 10] and lengths.tolist() == [3, 3, 3]
    pos, _ = labels(val, "rows", 3, synthetic=False)
    assert pos == [1, 2, 3, 7, 8, 9, 11, 12, 13]
    pos, got = labels(val, "rows", 10, synthetic=False, max_tokens=7)
    assert pos == [1, 2, 3, 4, 5, 7, 8] and got == [T, L, OP, C, OP, OP, OP]


def write_token_cache(path: Path) -> Path:
    """A token cache entry by hand: one natural source."""
    path.mkdir(parents=True)
    for split, docs in (("train", TRAIN), ("val", VAL)):
        s = stream(docs)
        for part, array in (("tokens", s.tokens), ("cc", s.cc), ("starts", s.starts)):
            np.save(path / f"text.{split}.{part}.npy", array)
    (path / "stats.json").write_text(json.dumps({"splits": {"text.train": {}, "text.val": {}}}))
    return path


def test_reference_is_fitted_once_and_cached(tmp_path, monkeypatch):
    calls = []

    def counting_fit(*args):
        calls.append(args[1])
        return fit_ngrams(*args)

    monkeypatch.setattr(probe, "fit_ngrams", counting_fit)
    entry = write_token_cache(tmp_path / "abc123")
    first = reference(entry, 4)
    again = reference(entry, 4)
    assert calls == [4]
    assert again.info == first.info and first.info["cache"] == "abc123-n4"
    assert first.info["train_tokens"] == 31 and first.bits == 4  # the largest id, 14, needs 4 bits
    for n in (2, 3, 4):
        assert np.array_equal(again.contexts[n], first.contexts[n])
        assert np.array_equal(again.preds[n], first.preds[n])
    assert table(again, 3) == table(fit_ngrams([stream(TRAIN)], 4, bits=4), 3)
    reference(entry, 3)
    assert calls == [4, 3]  # another order is another entry
    victim = cache_dir() / "ngrams" / "abc123-n4" / "order4.preds.npy"
    victim.write_bytes(victim.read_bytes()[:-1] + b"\xff")
    reference(entry, 4)
    assert calls == [4, 3, 4]  # a damaged entry is rebuilt


def test_too_many_key_bits_is_a_user_error(tmp_path):
    entry = write_token_cache(tmp_path / "abc")
    with pytest.raises(BenchError, match="ngram_max"):
        reference(entry, 17)  # 17 tokens of 4 bits


# --- the probe on real corpora, against a plain re-implementation of the rule ------------------------


WORDS = "the a cat dog sat ran on under mat rug and then it was big small red".split()


@pytest.fixture
def fake_text(monkeypatch):
    rng = random.Random(0)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 60))) + "." for _ in range(200)]
    monkeypatch.setattr(sources, "load_documents", lambda spec: list(texts))
    monkeypatch.setattr(sources, "source_info", lambda spec: {"name": spec, "content_hash": "fake",
                                                              "license": "test"})


def documents(s):
    tokens = np.asarray(s.tokens).tolist()
    bounds = [*np.asarray(s.starts).tolist(), len(tokens)]
    return [(a, tokens[a:b]) for a, b in itertools.pairwise(bounds)]


def oracle(corpus, model, ngram_max, max_tokens):
    """{source: [(bucket, loss)]} by loops: dict n-gram counts, one model call per scored prefix."""
    streams = open_streams(Path(corpus.info["token_cache"]["path"]))
    counts = defaultdict(Counter)
    for splits in streams.values():
        for _, doc in documents(splits["train"]):
            for i in range(len(doc)):
                for n in range(2, min(ngram_max, i + 1) + 1):
                    counts[tuple(doc[i - n + 1:i])][doc[i]] += 1
    top = {ctx: min(c, key=lambda t: (-c[t], t)) for ctx, c in counts.items()}
    out = {}
    for source in corpus.val:
        val = streams[source]["val"]
        tokens, cc = np.asarray(val.tokens).tolist(), np.asarray(val.cc).tolist()
        docs = documents(val)
        doc_start = [a for a, doc in docs for _ in doc]
        if corpus.mode == "stream":
            seqs = [(w * corpus.seq_len, corpus.seq_len) for w in range((len(tokens) - 1) // corpus.seq_len)]
        else:
            seqs = [(a, min(len(doc) - 1, corpus.seq_len)) for a, doc in docs]
        scored = []
        for start, length in seqs:
            for i in range(start + 1, start + length + 1):
                if len(scored) == max_tokens:
                    break
                seen = tokens[max(start, doc_start[i]):i]
                hit = [top.get(tuple(seen[len(seen) - n + 1:])) == tokens[i]
                       for n in range(2, ngram_max + 1) if len(seen) >= n - 1]
                synthetic = source in GENERATORS
                if synthetic and cc[i]:
                    bucket = "context_constrained"
                elif hit and hit[0]:
                    bucket = "trivial"
                elif any(hit[1:]):
                    bucket = "local"
                elif not synthetic and tokens[i] in seen:
                    bucket = "context_constrained"
                else:
                    bucket = "open"
                with torch.no_grad():
                    logits = model(torch.tensor([tokens[start:i]]))[0, -1]
                scored.append((bucket, F.cross_entropy(logits, torch.tensor(tokens[i])).item()))
        out[source] = scored
    return out


def check_against_oracle(corpus, probe_cfg):
    cfg = tiny_config()
    cfg.model.vocab_size = corpus.vocab_size
    torch.manual_seed(0)
    model, _ = build_model(cfg.model, cfg.init)
    model.train()
    record = probe.token_probe(model, corpus, probe_cfg, torch.device("cpu"))
    assert model.training  # the probe leaves the model's mode as it found it
    json.dumps(record)
    expected = oracle(corpus, model, probe_cfg.ngram_max, probe_cfg.max_tokens)
    assert record["rule"] == probe.RULE and list(record["buckets"]) == list(BUCKETS)
    assert record["reference"]["ngram_max"] == probe_cfg.ngram_max
    assert record["reference"]["train_tokens"] == sum(
        v["tokens"] for k, v in corpus.info["token_cache"]["splits"].items() if k.endswith(".train"))
    for source, scored in expected.items():
        assert record["sources"][source]["tokens"] == len(scored)
        assert record["sources"][source]["synthetic"] == (source in GENERATORS)
        assert sum(record["buckets"][b]["by_source"][source]["tokens"] for b in BUCKETS) == len(scored)
        for bucket in BUCKETS:
            losses = [loss for b, loss in scored if b == bucket]
            got = record["buckets"][bucket]["by_source"][source]
            assert got["tokens"] == len(losses), (source, bucket)
            assert got["mean_loss"] == (pytest.approx(np.mean(losses), rel=1e-5) if losses else None)
    for bucket in BUCKETS:
        losses = [loss for scored in expected.values() for b, loss in scored if b == bucket]
        assert record["buckets"][bucket]["tokens"] == len(losses)
        assert record["buckets"][bucket]["mean_loss"] == (
            pytest.approx(np.mean(losses), rel=1e-5) if losses else None)
    return record


def test_token_probe_on_a_text_and_synthetic_stream(fake_text):
    data = tiny_config(data={"corpus": "mixture", "sources": ["fake:1", "deduction:1"], "vocab_size": 300,
                             "seq_len": 16, "n_train": 64, "n_val": 16, "val_fraction": 0.2}).data
    corpus = load_corpus(data)
    record = check_against_oracle(corpus, ProbeConfig(max_tokens=200, ngram_max=4))
    assert all(record["buckets"][b]["tokens"] > 0 for b in BUCKETS)
    assert record["buckets"]["context_constrained"]["by_source"]["deduction"]["tokens"] > 0
    assert record["sources"]["fake"]["tokens"] == record["sources"]["deduction"]["tokens"] == 200
    # The record contract (bench.record.schema, docs/record.md): exactly these keys, the count as `tokens`.
    assert set(record) == set(TokenProbe.__optional_keys__ | TokenProbe.__required_keys__)
    for bucket in record["buckets"].values():
        assert set(bucket) == Bucket.__required_keys__ == {"tokens", "mean_loss", "by_source"}
        assert all(set(s) == BucketLoss.__required_keys__ for s in bucket["by_source"].values())
    assert all(set(s) == SourceLoss.__required_keys__ for s in record["sources"].values())


def test_token_probe_on_synthetic_rows():
    corpus = load_corpus(tiny_config().data)
    assert corpus.mode == "rows"
    record = check_against_oracle(corpus, ProbeConfig(max_tokens=55, ngram_max=3))
    assert record["sources"]["anchor"]["tokens"] == 55  # five whole rows of 10 targets and half a row
    assert record["buckets"]["context_constrained"]["tokens"] == 5  # the answer, 9th of 10 targets
