"""Command line: `python -m bench
{run,inits,eval,lm-eval,data,probe,sweep,leaderboard,verdict,export,report,speed} ...` (see `--help` on
each). Each subcommand lives in its own module with `add_parser(sub)` and `cmd(args)`; this module only
builds the parser and dispatches."""

from __future__ import annotations

import sys

from bench.cli import data, export, inits, leaderboard, lm_eval, probe, report, run, speed, sweep, verdict
from bench.cli import eval as evaluate
from bench.cli.common import Parser
from bench.core.errors import BenchError
from bench.train.interrupt import Terminated, signals_raise

# In the order `python -m bench --help` lists them.
SUBCOMMANDS = (run, inits, evaluate, lm_eval, data, probe, sweep, leaderboard, verdict, export, report, speed)


def build_parser() -> Parser:
    parser = Parser(prog="python -m bench", description="initbench: benchmark LM initialization schemes.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in SUBCOMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["lm-eval"]:  # lm-eval parses its own options; argparse would claim them first
        return lm_eval.forward(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        with signals_raise():
            return args.func(args)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM anywhere else: what was written is complete
        name = "SIGTERM" if isinstance(exc, Terminated) else "SIGINT"
        print(f"interrupted ({name})", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130

