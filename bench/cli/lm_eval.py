"""`python -m bench lm-eval ...`: lm-eval's own command line with the `bench` model registered."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lm-eval", help="lm-eval's own CLI with the `bench` model registered", add_help=False,
                       description="Everything after `lm-eval` goes to lm-eval's CLI, e.g. "
                       "`python -m bench lm-eval --model bench --model_args run=DIR --tasks anchor_seen`.")
    p.set_defaults(func=cmd)


def cmd(args: argparse.Namespace) -> int:
    """Reached only through argparse, i.e. with no lm-eval arguments (`main` forwards the others)."""
    return forward([])


def forward(argv: list[str]) -> int:
    """Hand `argv` (everything after `lm-eval`) to lm-eval's CLI."""
    from bench.evaluate.lm_eval_cli import lm_eval_cli

    return lm_eval_cli(argv)
