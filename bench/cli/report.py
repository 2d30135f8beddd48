"""`python -m bench report`: the static results site (docs/site.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_RESULTS = Path("results")
DEFAULT_OUT = Path("results/site")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="build the static HTML results site from results/",
                       description="Build a static HTML site from a results folder: the leaderboards of its "
                       "manifest (leaderboards.toml) as sortable tables, its figures, README.md and "
                       "VERDICT.md, "
                       "and one page per run record with its curves and probes. It opens from file:// with "
                       "no server and no network. The output directory is replaced as a whole, atomically.")
    p.add_argument("--results", type=Path, default=DEFAULT_RESULTS,
                   help="results folder to read (default %(default)s)")
    p.add_argument("--out", type=Path, help="site directory to write (default: <results>/site)")
    p.set_defaults(func=cmd)


def cmd(args: argparse.Namespace) -> int:
    from bench.site.build import build_site

    out = args.out if args.out is not None else args.results / "site"
    site = build_site(args.results, out)
    print(f"wrote {site.pages} pages ({site.runs} runs, {site.tables} tables, {site.figures} figures) to "
          f"{out}; open {(out / 'index.html').resolve().as_uri()}")
    return 0
