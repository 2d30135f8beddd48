"""Hand-made records and manifests for the verdict tests: only the keys the verdict reads, written where
a sweep would write them; no training happens here."""

import json
import textwrap


def record(gamma, seed, *, bpb=3.0, train_loss=4.0, status="ok", eps=1e-5, gated=False, corpus="mixture",
           eval_=None, buckets=None, condensation=None, method="gamma", label=None):
    """One finished run of a γ-init scheme, annotated by a (fixed-LR) sweep."""
    out = {
        "status": status,
        "run_id": f"g{gamma}-e{eps}-{gated}-seed{seed}",
        "config": {
            "preset": "nano",
            "model": {"n_layers": 4, "d_model": 128, "norm_eps": eps, "gated_attention": gated},
            "init": {"method": method, "seed": seed, "gamma": gamma},
            "optim": {"lr": 3e-3},
            "data": {"corpus": corpus, "seed": 0, "seq_len": 128, "vocab_size": 2048},
            "train": {"max_steps": 100, "batch_size": 16},
            "eval": {"tasks": ["val_text"], "limit": 200},
        },
        "data": {"corpus": corpus, "vocab_size": 2048, "seq_len": 128},
        "train": {"steps": 100, "final_loss": train_loss, "best_val_loss": train_loss + 0.1, "spikes": 0,
                  "wall_s": 10.0},
        "eval": {"val_text": {"bits_per_byte": bpb}, **(eval_ or {})},
        "probes": {"tokens": {"buckets": buckets or {}},
                   "structure": {"every": 50, "series": [
                       {"step": 50 * i, "condensation": {"mlp_in": c, "head": c}}
                       for i, c in enumerate(condensation or [])]}},
        "sweep": {"name": "test", "label": label or f"{method}-{gamma}-{eps}-{gated}", "lr_search": None},
    }
    if status == "diverged":
        out["train"]["final_loss"] = None
        out["eval"] = {}
    return out


def write_runs(out, records):
    for r in records:
        path = out / r["run_id"] / "record.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(r))
    return out


HEAD = """
[budget]
total_h = 1
machine = "a test machine"
gpu = "none"

[[sweep]]
name = "s"
out = "runs/s"
args = ["--methods", "gamma", "--gamma", "0.5,1.0"]
"""


def claim(lines, cid="C1", table=None):
    """A [[claim]] block with the given [[claim.line]] bodies (TOML text)."""
    text = f"""
[[claim]]
id = "{cid}"
source = "arXiv 0000.00000, a test"
claim = "a test claim"
budget_h = 0.5
cut = "none"
gpu = "none"
""" + (f'table = "{table}"\n' if table else "")
    return text + "".join(f"\n[[claim.line]]\n{textwrap.dedent(body).strip()}\n" for body in lines)


def write_manifest(root, *claims, head=HEAD):
    root.mkdir(parents=True, exist_ok=True)
    path = root / "verdict.toml"
    path.write_text(head + "".join(claims))
    return path


def line(metric="bpb", expect="lower", min_seeds=5, extra="", scheme='{"init.gamma" = 1.0}',
         reference='{"init.gamma" = 0.5}', setting="a setting"):
    ref = f"reference = {reference}\n" if reference else ""
    exp = f'expect = "{expect}"\n' if expect else ""
    return (f'setting = "{setting}"\nsweep = "s"\nmetric = "{metric}"\nscheme = {scheme}\n{ref}{exp}'
            f"min_seeds = {min_seeds}\n{extra}")
