"""`python -m bench leaderboard`: one table from the command line's options, or every table that the
manifest lists, regenerated in place or (`--check`) compared byte for byte (docs/leaderboard.md).

Manifest (`results/leaderboards.toml`; `python -m bench leaderboard` with no options regenerates it,
`--check` compares instead of writing). Paths are relative to the manifest's directory:

    [[table]]
    out = "nano-baselines.md"          # required; the format follows the suffix unless `format` is set
    runs = "runs/nano-baselines"       # required; searched recursively for record.json
    format = "github"                  # optional: github | latex | csv | html (.md .tex .csv .html)
    suite = "nano/mixture/1.6M-tok"    # optional; default: every suite found
    reference = "normal"               # optional; default: the rule of bench.report.aggregate
    headline = "bpb"                   # optional; a metric key (bench.report.metrics.METRICS)
    figure = "figures/nano-baselines"  # optional stem: <stem>-gamma and <stem>-phase .png/.svg
    kind = "leaderboard"               # optional: leaderboard | learnability (bench.report.learnability:
                                       # per suite, which task accuracies each scheme learned; its figure
                                       # is <stem>.png/.svg, the learning curves; no reference or headline)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.core.compat import tomllib
from bench.core.errors import BenchError
from bench.core.files import write_bytes
from bench.report.aggregate import build_suites
from bench.report.metrics import HEADLINES
from bench.report.records import load_runs
from bench.report.render import FORMATS, render

SUFFIX_FORMATS = {".md": "github", ".tex": "latex", ".csv": "csv", ".html": "html"}
DEFAULT_RUNS = Path("results/runs")
DEFAULT_MANIFEST = Path("results/leaderboards.toml")
MANIFEST_KEYS = ("out", "runs", "format", "suite", "reference", "headline", "figure", "kind")
KINDS = ("leaderboard", "learnability")


@dataclass(frozen=True)
class TableSpec:
    """One generated table (a manifest entry, or the command line's options)."""

    out: Path | None
    runs: Path = DEFAULT_RUNS
    format: str | None = None
    suite: str | None = None
    reference: str | None = None
    headline: str | None = None
    figure: Path | None = None
    kind: str = "leaderboard"

    def fmt(self) -> str:
        if self.format is not None:
            return self.format
        return SUFFIX_FORMATS.get(self.out.suffix.lower(), "github") if self.out else "github"


def build(spec: TableSpec) -> tuple[str, dict[Path, bytes]]:
    """The document's text and the figure files of one table."""
    if spec.kind == "learnability":
        return learnability_document(spec)
    if spec.headline is not None and spec.headline not in HEADLINES:
        raise BenchError(f"unknown headline {spec.headline!r} (choose from {', '.join(HEADLINES)})")
    suites = build_suites(load_runs(spec.runs), spec.suite, spec.reference, spec.headline)
    text = render(suites, spec.fmt())
    if spec.figure is None:
        return text, {}
    from bench.report.figures import figure_files  # loads matplotlib: only when figures are asked for

    return text, figure_files(suites, spec.figure)


def learnability_document(spec: TableSpec) -> tuple[str, dict[Path, bytes]]:
    """A learnability document (bench.report.learnability) and its learning-curve figure."""
    # It ranks nothing and compares with no reference: those options would be silently meaningless.
    for key in ("reference", "headline"):
        if getattr(spec, key) is not None:
            raise BenchError(f"`{key}` does not apply to kind learnability")
    from bench.report.learnability import build_learnability, render_learnability

    suites = build_learnability(load_runs(spec.runs), spec.suite)
    text = render_learnability(suites, spec.fmt())
    if spec.figure is None:
        return text, {}
    from bench.report.figures import curve_files  # loads matplotlib: only when figures are asked for

    return text, curve_files(suites, spec.figure)


def write_outputs(files: dict[Path, bytes]) -> None:
    for path, data in sorted(files.items()):
        if path.is_file() and path.read_bytes() == data:
            print(f"unchanged {path}", file=sys.stderr)
        else:
            write_bytes(path, data)
            print(f"wrote {path}", file=sys.stderr)


def _manifest_entry(entry: Any, base: Path, where: str) -> TableSpec:
    if not isinstance(entry, dict):
        raise BenchError(f"{where}: expected a table")
    unknown = sorted(set(entry) - set(MANIFEST_KEYS))
    if unknown:
        raise BenchError(f"{where}: unknown keys {', '.join(unknown)} (allowed: {', '.join(MANIFEST_KEYS)})")
    for key in ("out", "runs"):
        if not isinstance(entry.get(key), str):
            raise BenchError(f"{where}: `{key}` (a path) is required")
    for key in MANIFEST_KEYS:
        if key in entry and not isinstance(entry[key], str):
            raise BenchError(f"{where}: `{key}` must be a string")
    if entry.get("format") is not None and entry["format"] not in FORMATS:
        raise BenchError(f"{where}: unknown format {entry['format']!r} (choose from {', '.join(FORMATS)})")
    if entry.get("kind", KINDS[0]) not in KINDS:
        raise BenchError(f"{where}: unknown kind {entry['kind']!r} (choose from {', '.join(KINDS)})")
    if entry.get("kind") == "learnability":
        given = [key for key in ("reference", "headline") if key in entry]
        if given:
            raise BenchError(f"{where}: {', '.join(given)} does not apply to kind learnability")
    return TableSpec(out=base / entry["out"], runs=base / entry["runs"], format=entry.get("format"),
                     suite=entry.get("suite"), reference=entry.get("reference"),
                     headline=entry.get("headline"),
                     figure=base / entry["figure"] if "figure" in entry else None,
                     kind=entry.get("kind", KINDS[0]))


def load_manifest(path: Path) -> list[TableSpec]:
    """The manifest's [[table]] entries, paths resolved against its folder."""
    if not path.is_file():
        raise BenchError(f"no leaderboard manifest {path}: create it ([[table]] entries with out and runs; "
                         "schema in docs/leaderboard.md) or pass --runs")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BenchError(f"{path}: invalid TOML ({exc})") from None
    entries = data.get("table")
    if set(data) != {"table"} or not isinstance(entries, list) or not entries:
        raise BenchError(f"{path}: expected one or more [[table]] entries and nothing else")
    return [_manifest_entry(e, path.parent, f"{path} table {i + 1}") for i, e in enumerate(entries)]


def manifest_files(path: Path) -> dict[Path, bytes]:
    """Every file the manifest's tables make (documents and figures), by path; two tables may not
    write one file."""
    files: dict[Path, bytes] = {}
    for spec in load_manifest(path):
        text, figures = build(spec)
        for target, data in {spec.out: text.encode(), **figures}.items():
            if target in files:
                raise BenchError(f"{path}: two tables write {target}")
            files[target] = data
    return files


def regenerate(path: Path, check: bool = False) -> int:
    """Rewrite every table (and figure) of the manifest; with `check`, write nothing and return 1 when
    a committed file differs from its regeneration."""
    return write_or_check(manifest_files(path), path, check)


def write_or_check(files: dict[Path, bytes], source: Path, check: bool) -> int:
    """Write `files` (generated from the manifest `source`); with `check`, write nothing, name every file
    that differs from its regeneration and return 1 if any does."""
    if not check:
        write_outputs(files)
        return 0
    stale = [p for p, data in sorted(files.items()) if not p.is_file() or p.read_bytes() != data]
    for p in stale:
        print(f"differs: {p}")
    if not stale:
        print(f"up to date: {len(files)} files from {source}")
    return 1 if stale else 0


def leaderboard(spec: TableSpec) -> int:
    """One table from the command line: to `spec.out`, else to stdout."""
    text, figures = build(spec)
    if spec.out is None:
        sys.stdout.write(text)
        files = figures
    else:
        files = {spec.out: text.encode(), **figures}
    write_outputs(files)
    return 0
