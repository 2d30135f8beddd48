"""Named starting points: each preset sets model size and training budget on top of the defaults."""

from __future__ import annotations

from typing import Any

# Presets set model size and the training budget; the data issue's corpora pick the vocabulary.
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    # 2405.05409's toy: one head, two layers, FFN = 3 d (the paper used d=400 on GPU; this is CPU-sized).
    "anchor": {
        "model": {"d_model": 128, "n_layers": 2, "n_heads": 1, "d_ff": 384, "mlp": "gelu"},
        "data": {"corpus": "anchor", "n_train": 200_000},
        "optim": {"lr": 1e-3, "warmup_steps": 100, "weight_decay": 0.01},
        "train": {"max_steps": 2000, "batch_size": 128},
    },
    # The reasoning suite (tasks/initbench_reasoning_suite.yaml, docs/data.md): a mixture of the suite's
    # training splits, word-level tokens, loss on the answer tokens, every suite task scored in full (2000
    # documents each) after training. 1500 steps of 16 x 128 tokens is about 5 CPU-minutes (0.2 CPU-s per
    # step at one thread); at that budget each task gets a fifth of it and stays at chance, so the
    # calibration trains one task per run on top of this preset (results/reasoning-calibration/configs).
    # Validation loss per source every 100 steps is on each generator's held-out split: a cheap learning
    # curve of every task.
    "reasoning": {
        "model": {"d_model": 128, "n_layers": 4, "n_heads": 4, "d_ff": 352},
        "data": {"corpus": "mixture", "sources": ["anchor", "rsnmem", "deduction-chain", "modadd", "recall"],
                 "tokenizer": "word", "seq_len": 128, "loss_on": "answers"},
        "optim": {"lr": 3e-3, "warmup_steps": 100},
        "train": {"max_steps": 1500, "batch_size": 16, "eval_interval": 100, "checkpoint_interval": 250},
        "eval": {"tasks": ["initbench_reasoning_suite"], "limit": None,
                 "every_tasks": ["initbench_reasoning_suite"]},
        "probe": {"every": 250},
    },
    # nano: sized so the default command (data preparation once, then 1.6M tokens) fits in minutes on
    # 2 CPU cores.
    "nano": {
        "model": {"d_model": 128, "n_layers": 4, "n_heads": 4, "d_ff": 352},
        "data": {"vocab_size": 2048, "seq_len": 128},
        "optim": {"lr": 3e-3, "warmup_steps": 50},
        "train": {"max_steps": 800, "batch_size": 16, "eval_interval": 200, "checkpoint_interval": 200},
    },
    "micro": {
        "model": {"d_model": 256, "n_layers": 6, "n_heads": 4, "d_ff": 704},
        "data": {"vocab_size": 4096, "seq_len": 256},
        "optim": {"lr": 2e-3, "warmup_steps": 200},
        "train": {"max_steps": 5000, "batch_size": 32},
        # Structural snapshots cost ~20 training steps at d=512 on an H100 (the matrices' spectra):
        # larger presets space them out to keep the probes near 1% of training.
        "probe": {"every": 250},
    },
    "small": {
        "model": {"d_model": 512, "n_layers": 8, "n_heads": 8, "d_ff": 1376, "max_seq_len": 512},
        "data": {"vocab_size": 8192, "seq_len": 512},
        "optim": {"lr": 1e-3, "warmup_steps": 500},
        "train": {"max_steps": 10000, "batch_size": 32},
        "probe": {"every": 500},
    },
    "base": {
        "model": {"d_model": 768, "n_layers": 12, "n_heads": 12, "d_ff": 2048, "max_seq_len": 1024},
        "data": {"vocab_size": 16384, "seq_len": 1024},
        "optim": {"lr": 6e-4, "warmup_steps": 1000},
        "train": {"max_steps": 20000, "batch_size": 32},
        "probe": {"every": 1000},
    },
}
