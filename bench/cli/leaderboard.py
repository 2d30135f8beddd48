"""`python -m bench leaderboard`: tables and figures from run records (bench/report/)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.core.errors import BenchError
from bench.core.paths import check_output_dir


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("leaderboard", help="tables (and γ-sweep / phase-diagram figures) from run records",
                       description="Aggregate every record.json under --runs per suite and scheme over init "
                       "seeds: mean ± std, 95% CI, paired t-test against a reference scheme, ranks "
                       "(rules: docs/leaderboard.md). Without options: regenerate every table listed in "
                       "results/leaderboards.toml in place.")
    p.add_argument("--runs", type=Path, help="runs directory, searched recursively (default results/runs)")
    p.add_argument("--suite", help="only this suite (e.g. nano/mixture/1.6M-tok; default: every suite)")
    p.add_argument("--reference", metavar="SCHEME", help="reference scheme of the paired test "
                   "(default: gamma-0.5, else normal, else the first scheme)")
    p.add_argument("--headline", help="metric that ranks the schemes, e.g. bpb, val_loss, reasoning, "
                   "anchor_inferential (default: anchor_inferential on the anchor corpus, else bpb, "
                   "else val_loss)")
    p.add_argument("--format", choices=["github", "latex", "csv", "html"],
                   help="output format (default: from --out's suffix, else github)")
    p.add_argument("--out", type=Path, metavar="FILE", help="write here (atomically) instead of stdout")
    p.add_argument("--figure", type=Path, metavar="STEM",
                   help="also write STEM-gamma and STEM-phase .png/.svg where the suite has them "
                   "(--kind learnability: STEM.png/.svg, the learning curves)")
    p.add_argument("--kind", choices=["leaderboard", "learnability"],
                   help="leaderboard (default): ranked tables; learnability: per suite, which task "
                   "accuracies each scheme learned (mean [95%% CI] over seeds, chance, learned yes/no)")
    p.add_argument("--manifest", type=Path, metavar="FILE",
                   help="regenerate the tables this manifest lists (default results/leaderboards.toml)")
    p.add_argument("--check", action="store_true",
                   help="with the manifest: write nothing, exit 1 listing files that differ")
    p.set_defaults(func=cmd)


def cmd(args: argparse.Namespace) -> int:
    from bench.report import leaderboard as lb

    options = {"runs": args.runs, "suite": args.suite, "reference": args.reference, "headline": args.headline,
               "format": args.format, "out": args.out, "figure": args.figure, "kind": args.kind}
    given = [f"--{k}" for k, v in options.items() if v is not None]
    if args.check or args.manifest is not None or not given:
        if given:
            raise BenchError(f"{', '.join(given)} cannot be combined with the manifest (--check/--manifest)")
        return lb.regenerate(args.manifest or lb.DEFAULT_MANIFEST, check=args.check)
    for flag, path in [("--out", args.out), ("--figure", args.figure)]:
        if path is not None:
            check_output_dir(path.parent, flag)
            if path.is_dir():
                raise BenchError(f"{flag} {path} is a directory; name a file")
    return lb.leaderboard(lb.TableSpec(**{**options, "runs": args.runs or lb.DEFAULT_RUNS,
                                          "kind": args.kind or lb.KINDS[0]}))
