"""`python -m bench export`: a finished run as a transformers checkpoint (docs/export.md)."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="a finished run as a transformers checkpoint",
                       description="Write the final model of a finished run as a stock transformers "
                       "checkpoint (config.json, model.safetensors, tokenizer files AutoTokenizer loads): "
                       "LlamaForCausalLM for RMSNorm + SwiGLU + RoPE, GPT2LMHeadModel for LayerNorm + GELU + "
                       "learned positions (pre-norm). A knob without a stock equivalent is refused. The "
                       "result loads with AutoModelForCausalLM and scores with `lm_eval --model hf "
                       "--model_args pretrained=DIR`. Needs transformers (the `hf` extra).")
    p.add_argument("run_dir", type=Path, help="run directory (holds model.pt and tokenizer.json)")
    p.add_argument("--to", type=Path, required=True,
                   help="new directory to write (must not exist or be empty)")
    p.set_defaults(func=cmd)


def cmd(args: argparse.Namespace) -> int:
    from bench.export.writer import export_run

    with contextlib.suppress(ImportError):  # transformers' per-file progress bars are noise here
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

    done = export_run(args.run_dir, args.to)
    print(f"exported {args.run_dir} as {done.architecture} to {done.path} ({done.n_bytes / 2**20:.1f} MiB); "
          f"max |Δlogit| vs initbench {done.max_abs_dlogit:.2e}")
    return 0
