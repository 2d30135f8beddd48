"""`python -m bench report`: the results folder as a static site (docs/site.md).

Pages: `index.html` (the folder's README.md and VERDICT.md), `leaderboards.html` (every table of the
leaderboard manifest, built from the records by `bench.report` and rendered sortable), `runs.html` (every
run record, sortable) with one page per run under `runs/`, and `figures.html` (every PNG/SVG figure of the
folder, copied under `files/`). The site is built in a hidden temporary directory next to the output and
swapped in whole, so a reader never sees half a site and a failed build leaves the old one.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.core.errors import BenchError
from bench.core.paths import check_output_dir
from bench.report.aggregate import build_suites
from bench.report.leaderboard import DEFAULT_MANIFEST, load_manifest
from bench.report.records import load_runs, record_problem, warn
from bench.report.render import blocks
from bench.site.layout import page, table
from bench.site.markdown import to_html
from bench.site.runs import INDEX_COLUMNS, index_row, run_body

MARKER = ".initbench-site"  # only a directory holding it is ever replaced
FIGURE_SUFFIXES = (".png", ".svg")
RECORD = "record.json"


@dataclass(frozen=True)
class Site:
    pages: int
    runs: int
    tables: int
    figures: int


def _slug(rel: Path) -> str:
    return "__".join(rel.parts).replace(" ", "_")


class _Builder:
    def __init__(self, results: Path, out: Path, tmp: Path):
        self.results, self.out, self.tmp = results.resolve(), out.resolve(), tmp
        self.pages = self.tables = 0
        self.copied: dict[Path, str] = {}  # source file -> site-relative path
        self.documents: set[Path] = set()  # the manifest's generated tables (shown on leaderboards.html)

    def write(self, name: str, title: str, body: str) -> None:
        root = "../" * name.count("/")
        (self.tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (self.tmp / name).write_text(page(title, body, root), encoding="utf-8")
        self.pages += 1

    def copy(self, src: Path) -> str:
        if src not in self.copied:
            rel = "files/" + src.relative_to(self.results).as_posix()
            (self.tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, self.tmp / rel)
            self.copied[src] = rel
        return self.copied[src]

    def link(self, base: Path, href: str) -> str:
        """A Markdown link of a file in `base` as seen from the site's top-level pages."""
        if "://" in href or href.startswith(("#", "mailto:")):
            return href
        path, _, anchor = href.partition("#")
        target = (base / path).resolve()
        if target in self.documents:
            return "leaderboards.html"  # a generated table: the site shows it sortable
        if target.suffix in FIGURE_SUFFIXES and target.is_file() and target.is_relative_to(self.results):
            return self.copy(target)
        # Anything else stays where it is: a relative link from the site works under file://.
        rel = os.path.relpath(target, self.out)
        return Path(rel).as_posix() + (f"#{anchor}" if anchor else "")

    def markdown(self, path: Path) -> str:
        return to_html(path.read_text(encoding="utf-8"), lambda href: self.link(path.parent, href))

    # ---- pages
    def index(self, n_runs: int) -> None:
        parts = []
        for name in ("VERDICT.md", "README.md"):
            if (self.results / name).is_file():
                body = self.markdown(self.results / name)
                parts.append(f'<section id="{name[:-3].lower()}">{body}</section>')
        if not parts:
            parts.append(f'<p class="note">{html.escape(str(self.results))} has no README.md or '
                         "VERDICT.md.</p>")
        parts.insert(0, f'<p class="note">{n_runs} run records, {self.tables} tables. Built by '
                        "<code>python -m bench report</code> from the records; nothing here is typed by "
                        "hand.</p>")
        self.write("index.html", "Overview", "\n".join(parts))

    def leaderboards(self, any_records: bool) -> None:
        manifest = self.results / DEFAULT_MANIFEST.name
        seen: set[tuple[object, ...]] = set()
        parts = []
        groups = [(s.runs, s.suite, s.reference, s.headline, s.out) for s in load_manifest(manifest)] \
            if manifest.is_file() else []
        if not groups:
            parts.append(f'<p class="note">No {manifest.name}: one leaderboard over every record.</p>'
                         if any_records else '<p class="note">No run records.</p>')
            groups = [(self.results, None, None, None, None)] if any_records else []
        for runs, suite, reference, headline, out in groups:
            if out is not None:
                self.documents.add(out.resolve())
            if (runs, suite, reference, headline) in seen:
                continue
            seen.add((runs, suite, reference, headline))
            where = runs.relative_to(self.results) if runs.is_relative_to(self.results) else runs
            parts.append(f"<h2>{html.escape(str(where))}</h2>")
            if out is not None:
                parts.append(f'<p class="note">Committed as <code>{html.escape(out.name)}</code>.</p>')
            for suite_obj in build_suites(load_runs(runs), suite, reference, headline):
                for block in blocks(suite_obj):
                    self.tables += 1
                    notes = "".join(f"<li>{html.escape(n)}</li>" for n in block.notes)
                    # The footer holds the ranking rule, each column's test and its MDE.
                    footer = "".join(f"<li>{html.escape(n)}</li>" for n in block.footer)
                    parts += [f"<h3>{html.escape(block.title)}</h3>", f"<ul>{notes}</ul>",
                              table(f"t{self.tables}", block.headers, block.rows), f"<ul>{footer}</ul>"]
        self.write("leaderboards.html", "Leaderboards", "\n".join(parts))

    def runs(self, records: list[Path]) -> None:
        rows = []
        for path in records:
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                warn(f"skipping {path}: unreadable ({exc})")
                continue
            if problem := record_problem(loaded):
                warn(f"skipping {path}: {problem}")
                continue
            rel = path.parent.relative_to(self.results)
            name = f"runs/{_slug(rel)}.html"
            figures = ["../" + self.copy(f) for f in sorted((path.parent / "figures").glob("*"))
                       if f.suffix == ".png"]
            body = run_body(loaded, rel / RECORD, figures)
            self.write(name, f"Run {loaded.get('run_id', rel.name)}", body)
            rows.append(index_row(loaded, name, str(rel.parent)))
        headers = ["run", "folder", *(h for h, _ in INDEX_COLUMNS)]
        self.write("runs.html", "Runs", table("runs", headers, rows, raw=True))

    def figures(self, files: list[Path]) -> None:
        items = []
        for f in files:
            rel = self.copy(f)
            if f.suffix == ".png":
                svg = f.with_suffix(".svg")
                alt = f' (<a href="{self.copy(svg)}">SVG</a>)' if svg.is_file() else ""
                items.append(f'<figure><img src="{rel}" alt="{html.escape(f.name)}"><figcaption>'
                             f"{html.escape(str(f.relative_to(self.results)))}{alt}</figcaption></figure>")
        body = f'<div class="figs">{"".join(items)}</div>' if items else '<p class="note">No figures.</p>'
        self.write("figures.html", "Figures", body)


def _walk(results: Path, out: Path) -> tuple[list[Path], list[Path]]:
    """Run records, and figures outside run directories, under `results` (the site itself excluded)."""
    skip = out
    records, figures = [], []
    for path in sorted(results.rglob("*"), key=lambda p: p.as_posix()):
        if path == skip or skip in path.parents or not path.is_file():
            continue
        if path.name == RECORD:
            records.append(path)
        elif path.suffix in FIGURE_SUFFIXES and not (path.parent.parent / RECORD).is_file():
            figures.append(path)
    return records, figures


def build_site(results: Path, out: Path) -> Site:
    """Build the site of `results` into `out` (replaced whole if it is an earlier site)."""
    if not results.is_dir():
        raise BenchError(f"results folder {results} does not exist")
    results, out = results.resolve(), out.resolve()
    check_output_dir(out, "--out")
    if out.exists() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise BenchError(f"--out {out} exists and is not a site built by `bench report`; choose another "
                         "directory (only an earlier site is replaced)")
    records, figure_files = _walk(results, out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    except OSError as exc:  # e.g. a read-only or virtual file system that the access check cannot see
        raise BenchError(f"--out {out}: cannot write beside it ({exc.strerror})") from None
    old = tmp.with_suffix(".old")
    try:
        builder = _Builder(results, out, tmp)
        builder.leaderboards(bool(records))
        builder.runs(records)
        builder.figures(figure_files)
        builder.index(len(records))
        (tmp / MARKER).write_text("built by python -m bench report\n", encoding="utf-8")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; a site is meant to be read by others
        if out.exists():
            os.replace(out, old)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return Site(builder.pages, len(records), builder.tables, len(figure_files))
