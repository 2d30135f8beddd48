"""`python -m bench verdict`: the preregistered verdict on the seed papers' claims (bench/verdict/)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bench.core.errors import BenchError

if TYPE_CHECKING:  # the sweep's modules load only when a command needs them
    from bench.sweep.execute import Sweep


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verdict", help="claim-by-claim verdict from records (results/verdict.toml)",
                       description="Regenerate results/VERDICT.md and every claim table the manifest lists "
                       "from run records (no options), verify them byte for byte (--check), estimate the "
                       "compute (--plan), or run and resume the claims' sweeps, then regenerate (--run). "
                       "Rules: docs/verdict.md.")
    p.add_argument("--manifest", type=Path, default=Path("results/verdict.toml"),
                   help="the manifest (default %(default)s)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="write nothing; exit 1 listing the files that differ from their regeneration")
    mode.add_argument("--plan", action="store_true",
                      help="planned runs and estimated wall hours per sweep and claim, and the total")
    mode.add_argument("--run", action="store_true",
                      help="run or resume the sweeps of the claims (python -m bench sweep), then regenerate")
    p.add_argument("--claims", metavar="ID,ID,...",
                   help="with --run or --plan: only these claims, e.g. C1,C5")
    p.add_argument("--jobs", type=int, help="with --run or --plan: runs at once in every sweep "
                   "(default: each sweep's `jobs` in the manifest)")
    p.set_defaults(func=cmd)


def planner(argv: list[str]) -> Sweep:
    """A sweep planned exactly as `python -m bench sweep ARGV --dry-run` would plan it, without output."""
    from bench.cli import sweep
    from bench.cli.common import Parser
    from bench.sweep.execute import build_sweep

    parser = Parser(prog="python -m bench")
    sweep.add_parser(parser.add_subparsers(dest="command", required=True, parser_class=Parser))
    return build_sweep(parser.parse_args(["sweep", *argv]))


def cmd(args: argparse.Namespace) -> int:
    from bench.verdict import generate
    from bench.verdict.manifest import load_manifest, select_claims

    if (args.claims is not None or args.jobs is not None) and not (args.run or args.plan):
        raise BenchError("--claims and --jobs go with --run or --plan")
    if args.jobs is not None and args.jobs < 1:
        raise BenchError(f"--jobs must be >= 1, got {args.jobs}")
    manifest = load_manifest(args.manifest)
    claims = select_claims(manifest, args.claims)
    if args.plan:
        return generate.print_plan(manifest, claims, planner, args.jobs)
    if args.run:
        return generate.run_claims(manifest, claims, args.jobs, planner)
    return generate.regenerate(manifest, planner, check=args.check)
