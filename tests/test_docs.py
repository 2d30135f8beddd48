"""The project explains itself from its own tree: every relative link in the committed Markdown (README,
docs/, tasks/, the generated results/) reaches a file of the checkout, and a link into a Markdown page's
section names a heading that page has. A user who clones the repo has nothing else, so no page may send
them to a file outside it (the design notes the project was built from are not part of it)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
OUTSIDE = re.compile(r"\bDESIGN\.md\b|\.\./shared\b")


def markdown_files() -> list[Path]:
    """The committed Markdown pages (git's list, so a stray local file cannot hide a broken link)."""
    out = subprocess.run(["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    return [ROOT / p for p in out.split()]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def unfenced(page: Path) -> str:
    """The page without its fenced code blocks (a `#` line there is a comment, not a heading)."""
    return re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)


def anchors(page: Path) -> set[str]:
    return {slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", unfenced(page), flags=re.M)}


def prose(page: Path) -> str:
    """The page without code (fenced blocks and inline spans), where a link is an example, not a link.
    Headings keep their inline code (`anchors`): GitHub's anchor keeps its text."""
    return re.sub(r"`[^`\n]*`", "", unfenced(page))


def broken_links(page: Path) -> list[str]:
    text = prose(page)
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # http(s), mailto: outside the checkout by intent
            continue
        path, _, section = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target} (no such file)")
        elif section and dest.suffix == ".md" and section not in anchors(dest):
            broken.append(f"{target} (no such section)")
    return broken


def test_the_tree_has_markdown_to_check():
    names = {p.relative_to(ROOT).as_posix() for p in markdown_files()}
    assert {"README.md", "docs/README.md", "results/VERDICT.md"} <= names


@pytest.mark.parametrize("page", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page: Path):
    assert broken_links(page) == []


@pytest.mark.parametrize("page", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_page_points_outside_the_checkout(page: Path):
    assert [m.group(0) for m in OUTSIDE.finditer(page.read_text(encoding="utf-8"))] == []


def test_the_checks_catch_what_they_guard_against(tmp_path: Path):
    (tmp_path / "b.md").write_text("# Match the mechanism, not just the number\n", encoding="utf-8")
    page = tmp_path / "a.md"
    page.write_text("[ok](b.md#match-the-mechanism-not-just-the-number) [web](https://example.org/x.md)\n"
                    "[gone](c.md) [bad section](b.md#nothing) `[inline](e.md)` ```\n[in code](d.md)\n```\n",
                    encoding="utf-8")
    assert broken_links(page) == ["c.md (no such file)", "b.md#nothing (no such section)"]
    assert OUTSIDE.search("as DESIGN.md §11 says") and not OUTSIDE.search("docs/design.md")
