"""Hand-made run records for the report tests: only the keys the leaderboard reads, written where
`load_runs` finds them; no training happens here."""

import json

from bench.record.schema import BUCKETS
from bench.report.aggregate import build_suites
from bench.report.records import load_runs

BPB = {  # (scheme, init seed) -> val bpb: B is better than A at every seed, C has two seeds
    ("normal", 0): 3.10, ("normal", 1): 3.30, ("normal", 2): 3.20,
    ("gamma-1.0", 0): 3.00, ("gamma-1.0", 1): 3.25, ("gamma-1.0", 2): 3.05,
    ("xavier", 0): 3.40, ("xavier", 1): 3.50,
}


def make_record(label, seed, *, method=None, gamma=None, status="ok", bpb=3.0, train_loss=4.0,
                val_loss=4.1, corpus="mixture", preset="nano", steps=100, batch_size=16, seq_len=128,
                n_layers=4, lr=3e-3, eval_=None, buckets=None, spikes=0, sweep=True, lr_search=None):
    """A minimal run record; `sweep` False leaves the label to be derived from config.init."""
    method = method or ("gamma" if gamma is not None else label)
    record = {
        "status": status,
        "run_id": f"{label}-seed{seed}-{n_layers}-{steps}-{corpus}-{lr}",
        "config": {
            "preset": preset,
            "model": {"n_layers": n_layers, "d_model": 128},
            "init": {"method": method, "seed": seed, "gamma": gamma, "sigma": 0.02},
            "optim": {"lr": lr},
            "data": {"corpus": corpus, "seed": 0, "seq_len": seq_len, "vocab_size": 2048},
            "train": {"max_steps": steps, "batch_size": batch_size, "device": "auto"},
            "eval": {"tasks": ["initbench_default"], "limit": 200},
        },
        "env": {"device_name": "test cpu"},
        "data": {"corpus": corpus, "vocab_size": 2048, "seq_len": seq_len,
                 "token_cache": {"key": {"format": 1, "sources": {corpus: {"seed": seed}}}}},
        "train": {"steps": steps, "final_loss": train_loss, "best_val_loss": val_loss, "spikes": spikes,
                  "tokens_per_s": 1000.0 + seed},
        "eval": {"val_text": {"bits_per_byte": bpb}} if bpb is not None else {},
        "groups": {},
        "probes": {"tokens": {"buckets": buckets} if buckets else {}, "structure": {}},
    }
    record["eval"].update(eval_ or {})
    if status == "diverged":
        record["train"]["final_loss"] = None
        record["eval"] = {}
    if sweep:
        record["sweep"] = {"name": "test", "label": label, "lr_search": lr_search}
    return record


def write_runs(root, records):
    for i, record in enumerate(records):
        path = root / f"{i:03d}-{record['run_id']}" / "record.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(record))
    return root


def baseline_records():
    return [make_record(label, seed, bpb=bpb, buckets={b: {"mean_loss": bpb + i} for i, b in
                                                       enumerate(BUCKETS)})
            for (label, seed), bpb in sorted(BPB.items())]


def runs_of(records, tmp_path):
    return load_runs(write_runs(tmp_path / "runs", records))


def one_suite(records, tmp_path, **kwargs):
    suites = build_suites(runs_of(records, tmp_path), **kwargs)
    assert len(suites) == 1
    return suites[0]


def anchor_records():
    """γ ∈ {0.5, 0.8, 1.2} × depth {2, 3}, two seeds: γ = 1.2 does not train at depth 3."""
    out = []
    for gamma, depth, seed in [(g, d, s) for g in (0.5, 0.8, 1.2) for d in (2, 3) for s in (0, 1)]:
        inf = {0.5: 0.1, 0.8: 0.7, 1.2: 0.9}[gamma] + 0.01 * seed
        loss = 4.5 if (gamma, depth) == (1.2, 3) else 0.5 + 0.01 * seed
        out.append(make_record(f"gamma-{gamma:.1f}", seed, gamma=gamma, n_layers=depth, corpus="anchor",
                               seq_len=10, bpb=None, train_loss=loss,
                               eval_={"anchor_unseen": {"acc_inferential": inf, "acc_symmetric": 1 - inf}}))
    return out
