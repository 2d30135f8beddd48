"""`python -m bench probe`: re-run the token-level probe of a finished run."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.core.errors import BenchError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("probe", help="token-level probe of a finished run; updates its record and figures",
                       description="Score a finished run's final model on the validation tokens of its "
                       "corpus, bucketed trivial / local / context-constrained / open by n-gram statistics "
                       "of the training tokens (docs/probes.md), store the buckets in record.json and redraw "
                       "the run's figures (figures/*.png, *.svg). Structural probes are recorded during "
                       "training (probe.every).")
    p.add_argument("run_dir", type=Path, help="run directory (holds record.json, model.pt)")
    p.add_argument("--max-tokens", type=int, help="validation tokens scored per source (default: the run's)")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N")
    p.add_argument("--no-plots", action="store_true", help="do not redraw the figures")
    p.set_defaults(func=cmd)


def cmd(args: argparse.Namespace) -> int:
    from bench.core.device import resolve_device
    from bench.run.pipeline import reprobe

    if args.max_tokens is not None and args.max_tokens <= 0:
        raise BenchError(f"--max-tokens must be positive, got {args.max_tokens}")
    resolve_device(args.device)  # before the corpus is loaded
    record = reprobe(args.run_dir, args.device, args.max_tokens, plots=not args.no_plots)
    for name, bucket in record["probes"]["tokens"]["buckets"].items():
        loss = "n/a" if bucket["mean_loss"] is None else f"{bucket['mean_loss']:.4f}"
        print(f"{name:20s} {bucket['tokens']:>9,} tokens  mean loss {loss}")
    return 0
