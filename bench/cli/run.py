"""`python -m bench run`: train one model under one init scheme and write its run record."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bench.config import RUN_FLAGS, Config, build_config, names, override_mapping


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="train one model under one init scheme and write its run record",
                       description="Train the preset model under an init scheme on the shared core, "
                       "then write <out>/<run-id>/record.json, metrics.jsonl and the final model.pt. "
                       "Precedence: preset < --config TOML < flags.")
    g = p.add_argument_group("initialization")
    g.add_argument("--method", help="init scheme (see `python -m bench inits`); default: normal")
    g.add_argument("--gamma", type=float, help="gamma scheme: std = d_in^(-gamma) (required for gamma)")
    g.add_argument("--sigma", type=float, help="normal/megatron: std (default 0.02)")
    g.add_argument("--sigma2", type=float, help="wesar: variance of the base weights (default 4e-5)")
    g.add_argument("--backbone", help="wesar: scheme whose stds the gates reproduce (default he)")
    g.add_argument("--embed-fan-in", choices=["d_model", "vocab"],
                   help="d_in of the embedding for fan-in rules (default d_model)")
    g.add_argument("--distribution", choices=["normal", "uniform"], help="xavier/kaiming variant")
    g.add_argument("--truncate", type=float, help="truncate normals at ±k·std (0 = off; mitchell: 3)")
    g.add_argument("--init-override", action="append", metavar="ROLE=SCHEME|ROLE.std=X",
                   help="per-role rule, e.g. head=zero or mlp_out.std=0.0 (repeatable)")
    g.add_argument("--seed", type=int, help="init seed (default 0)")
    g = p.add_argument_group("model, data and training")
    g.add_argument("--preset", help="anchor, nano (default), micro, small, base")
    g.add_argument("--config", type=Path, metavar="FILE.toml",
                   help="TOML config (e.g. baselines/*.toml), or a whole effective config as .json (the form "
                        "a record's `config` holds; sweeps hand their runs one)")
    g.add_argument("--corpus", help="training corpus (default mixture)")
    g.add_argument("--data-seed", type=int, help="seed of data generation and batch order (default 0)")
    g.add_argument("--max-steps", type=int, help="training steps (overrides the preset's budget)")
    g.add_argument("--batch-size", type=int, help="sequences per step")
    g.add_argument("--lr", type=float, help="peak learning rate")
    g.add_argument("--weight-decay", type=float, help="decoupled AdamW weight decay λ")
    g.add_argument("--norm-eps", type=float, help="norm ε (1e-5 default; 1e-12 relaxes small init)")
    g.add_argument("--gated-attention", action=argparse.BooleanOptionalAction, default=None,
                   help="sigmoid gate on the attention output (2606.17945's relaxed setting)")
    g.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="any config field, e.g. model.d_model=64 or optim.no_decay_roles=['norm'] "
                        "(TOML value syntax; repeatable)")
    g = p.add_argument_group("evaluation (lm-eval tasks in tasks/, after training)")
    g.add_argument("--eval-tasks", type=names, metavar="TASK,GROUP,...",
                   help="tasks or groups to score after training (default initbench_default)")
    g.add_argument("--eval-limit", type=int, help="documents per task (default 200)")
    g.add_argument("--eval-every", type=int, help="also score eval.every_tasks every N steps")
    g.add_argument("--eval", action=argparse.BooleanOptionalAction, default=None,
                   help="score after training (default on)")
    g = p.add_argument_group("output")
    g.add_argument("--out", type=Path, default=Path("results/runs"),
                   help="runs directory (default %(default)s)")
    g.add_argument("--run-id", help="run directory name (default: method, knobs, preset, seed, config hash)")
    g.add_argument("--resume", nargs="?", const="last", metavar="CHECKPOINT",
                   help="continue the run directory's last checkpoint, or the given file "
                   "(repeat the original command and add --resume)")
    g.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    g.add_argument("--device", help="auto (default), cpu, cuda, cuda:N")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g = p.add_argument_group("several processes (torchrun --nproc_per_node N -m bench run ...; "
                             "docs/cluster.md)")
    g.add_argument("--fsdp", action="store_true",
                   help="shard parameters, gradients and optimizer state with FSDP2 instead of replicating "
                        "them with DDP (needs torchrun with N >= 2; for the larger presets)")
    p.set_defaults(func=cmd)


def run_config(args: argparse.Namespace) -> Config:
    """The config the parsed `run` command trains: preset < --config file < --set < flags."""
    return build_config(args.preset, args.config,
                        override_mapping({flag: getattr(args, flag) for flag in RUN_FLAGS}, args.set))


def cmd(args: argparse.Namespace) -> int:
    from bench.train import distributed

    cfg = run_config(args)
    dist = distributed.from_env(args.fsdp)  # torchrun's WORLD_SIZE/RANK/LOCAL_RANK; one process without
    if not dist.active:
        return train(args, cfg, dist)
    try:
        return train(args, cfg, dist)
    finally:
        distributed.teardown(dist)


def train(args: argparse.Namespace, cfg: Config, dist: Any) -> int:
    """Plan, train and report one run (as rank `dist.rank` of a torchrun launch, or alone)."""
    from bench.run.pipeline import execute, plan
    from bench.train import distributed
    from bench.train.interrupt import Interrupted

    # Every rank plans (the same one-line refusals, before any process group or file exists; the data
    # cache's entry locks let one rank build what the others wait for), then joins the process group:
    # its rendezvous means every rank has planned before rank 0 takes the run directory's lock.
    p = plan(cfg, args.out, args.run_id, args.resume, args.overwrite, dist)
    distributed.setup(dist, p.device)
    where = f" | {dist.strategy} rank {dist.rank}/{dist.world_size}" if dist.active else ""
    if dist.writer:
        print(f"run {p.run_dir} | {cfg.init.method} on {cfg.preset} | device {p.device}{where}",
              file=sys.stderr)
    try:
        record = execute(p, progress=not args.no_progress and dist.writer)
    except Interrupted as exc:  # training stopped at a step boundary and checkpointed
        if dist.writer:
            print(f"interrupted: {exc}; continue with the same command plus --resume ({p.run_dir})",
                  file=sys.stderr)
        return exc.exit_code
    if not dist.writer:
        return 0  # rank 0 reports and writes
    t = record["train"]
    mfu = f"{100 * t['mfu']:.2f}%" if t["mfu"] is not None else "n/a"
    final = f"{t['final_loss']:.4f}" if t["final_loss"] is not None else "n/a"
    best = f"{t['best_val_loss']:.4f}" if t["best_val_loss"] is not None else "n/a"
    status = record["status"]
    if status == "diverged":
        status += f" at step {record['diverged_step']}"
    print(f"status {status} | steps {t['steps']} | tokens {t['tokens']:,} | final loss {final} | "
          f"best val loss {best} | {t['tokens_per_s']:,.0f} tok/s | MFU {mfu} | {t['wall_s']:.1f}s")
    print(f"record: {p.run_dir / 'record.json'}")
    return 0
