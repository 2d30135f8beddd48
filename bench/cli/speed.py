"""`python -m bench speed`: training throughput side by side in one process — the core's bare step, its
whole `run` loop and transformers' Llama at identical shapes — with MFU and the per-scheme spread."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from bench.config import Config, build_config, names, override_mapping
from bench.core.errors import BenchError

if TYPE_CHECKING:  # the training stack is imported when the command runs, not when the CLI starts
    from bench.run.pipeline import RunPlan

# Steps per timed repetition by preset: a `small` step takes seconds on a CPU, so it gets only a few.
DEFAULT_STEPS = {"small": 2, "base": 1}
HF_MISSING = ("transformers is not installed: the comparison with LlamaForCausalLM needs "
              "pip install -e '.[hf]'")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("speed", help="training throughput: initbench vs transformers' Llama, side by side",
                       description="In one process, interleaved repetitions of: the core's bare training "
                       "step, its whole run loop (validation, checkpoints, metrics, probes) and "
                       "transformers' LlamaForCausalLM at identical shapes, precision and optimizer (AdamW), "
                       "per preset; tokens/s, the ratio to Llama, MFU against a matmul peak measured in the "
                       "same run, and the bare-step spread across the scheme configs. A benchmark, not a "
                       "test: numbers depend on the machine and its load.")
    p.add_argument("--presets", type=names, default=["nano", "micro"],
                   help="comma-separated presets (default nano,micro; small: a few steps)")
    p.add_argument("--steps", type=int, help="steps per timed repetition (default 10; small 2)")
    p.add_argument("--reps", type=int, default=3, help="interleaved repetitions (default %(default)s)")
    p.add_argument("--warmup", type=int, default=3,
                   help="untimed steps per contender first (default %(default)s)")
    p.add_argument("--schemes", type=Path, default=Path("baselines"), metavar="DIR",
                   help="per-scheme spread over DIR/*.toml at the first preset (default %(default)s)")
    p.add_argument("--no-schemes", action="store_true", help="skip the per-scheme spread")
    p.add_argument("--unflushed", action="store_true",
                   help="also time each scheme without flushing subnormal floats (what the flush buys)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="any config field for every preset, e.g. train.precision=bf16 (repeatable)")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N")
    p.add_argument("--threads", type=int,
                   help="CPU threads (default: torch's, one per core); 1 is steadier on a machine other "
                   "jobs keep busy, where threads of one process wait on each other")
    p.set_defaults(func=cmd)


def speed_config(preset: str, path: Path | None, args: argparse.Namespace) -> Config:
    """The preset (plus a scheme file) as `run` would train it, minus the final evaluation, which is not
    part of the training loop."""
    overrides = override_mapping({}, args.set)
    overrides.setdefault("train", {})["device"] = args.device
    overrides.setdefault("eval", {})["enabled"] = False
    return build_config(preset, path, overrides)


def cmd(args: argparse.Namespace) -> int:
    import torch

    from bench.record.env import cpu_name
    from bench.run.pipeline import plan
    from bench.train.interrupt import Interrupted

    if min(args.steps or 1, args.reps, args.threads or 1) <= 0 or args.warmup < 0:
        raise BenchError("--steps, --reps and --threads must be positive, --warmup >= 0")
    schemes = [] if args.no_schemes else sorted(args.schemes.glob("*.toml"))
    if not args.no_schemes and not schemes:
        raise BenchError(f"--schemes {args.schemes}: no *.toml scheme configs there (or pass --no-schemes)")
    cfgs = {preset: speed_config(preset, None, args) for preset in args.presets}  # every mistake first
    for path in schemes:
        speed_config(args.presets[0], path, args)
    try:
        import transformers  # noqa: F401  # only whether the optional extra is there
        hf_note = None
    except ImportError:
        hf_note = HF_MISSING
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"{cpu_name()} | torch {torch.__version__} | {torch.get_num_threads()} threads", flush=True)
    for i, (preset, cfg) in enumerate(cfgs.items()):
        steps = args.steps or DEFAULT_STEPS.get(preset, 10)
        with tempfile.TemporaryDirectory() as tmp:
            p = plan(cfg, Path(tmp), "speed", None, False)  # a run's plan: data, model, device checks
            p.run_dir.mkdir()
            try:
                preset_table(p, steps, args, hf_note)
            except Interrupted as exc:
                print(f"interrupted: {exc}", file=sys.stderr)
                return exc.exit_code
            if i == 0 and schemes:
                scheme_table(p, schemes, steps, args)
    return 0


def preset_table(p: RunPlan, steps: int, args: argparse.Namespace, hf_note: str | None) -> None:
    """Bare step, whole loop and Llama at one preset: tokens/s, ratio to Llama, MFU."""
    from tabulate import tabulate

    from bench.run.pipeline import build_trainer
    from bench.train import speed

    loop = build_trainer(p, progress=False)  # with every callback a `run` of this config has
    mismatch = speed.llama_mismatch(p.cfg.model)
    tok_s = speed.compare(p.cfg, p.corpus, p.device, loop, steps, args.reps, args.warmup,
                          hf=hf_note is None and mismatch is None)
    peak, source = speed.matmul_peak(p.device, loop.precision)
    flops = p.model.flops_per_token(p.corpus.seq_len)
    llama = tok_s.get(speed.LLAMA)
    rows = []
    for name, value in tok_s.items():
        util = speed.mfu(flops, value, peak)
        rows.append([name, f"{value:,.0f}", f"{value / llama:.3f}" if llama else "n/a",
                     f"{100 * util:.1f}%" if util is not None else "n/a"])
    print(f"\n## {p.cfg.preset}: batch {p.cfg.train.batch_size} × {p.corpus.seq_len} tokens, "
          f"{loop.precision}, compiled: {loop.compiled}; peak {peak or 0:.3g} FLOP/s ({source}); "
          f"{args.reps} × {steps} steps interleaved after {args.warmup} warm-up steps", flush=True)
    print(tabulate(rows, headers=["contender", "tokens/s", "× Llama", "MFU"], tablefmt="github"))
    print(f"run loop / bare step: {tok_s[speed.LOOP] / tok_s[speed.STEP]:.3f}")
    if hf_note or mismatch:
        print(hf_note or f"no Llama comparison: {mismatch}")


def scheme_table(p: RunPlan, schemes: list[Path], steps: int, args: argparse.Namespace) -> None:
    """The bare step's tokens/s per scheme config at the plan's preset, and their spread."""
    from tabulate import tabulate

    from bench.train import speed

    configs = {}
    for path in schemes:
        cfg = speed_config(p.cfg.preset, path, args)
        cfg.model.vocab_size = p.cfg.model.vocab_size  # the plan's corpus decided it
        configs[path.stem] = cfg
    tok_s = speed.scheme_speeds(configs, p.corpus, p.device, steps, args.reps, args.warmup, args.unflushed)
    headers = ["scheme", "tokens/s"] + (["tokens/s, subnormals not flushed"] if args.unflushed else [])
    rows = [[name, f"{tok_s[name]:,.0f}"] for name in configs]
    if args.unflushed:
        for row in rows:
            row.append(f"{tok_s[speed.unflushed(row[0])]:,.0f}")
    print(f"\n## bare step per scheme at {p.cfg.preset} ({args.schemes}/*.toml)", flush=True)
    print(tabulate(rows, headers=headers, tablefmt="github"))
    print(f"spread (fastest / slowest − 1): {100 * speed.spread([tok_s[n] for n in configs]):.1f}%")
    if args.unflushed:
        unflushed = [tok_s[speed.unflushed(n)] for n in configs]
        print(f"spread without flushing subnormals: {100 * speed.spread(unflushed):.1f}%")
