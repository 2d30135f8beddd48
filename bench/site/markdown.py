"""The Markdown that results/README.md, VERDICT.md and the generated tables use, as HTML: headings,
paragraphs, lists, fenced code, pipe tables, and inline code, bold, italics and links. Not a general
Markdown parser: the site renders the project's own files, and stays dependency-free and offline."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

_INLINE = re.compile(r"`([^`]+)`|\*\*(.+?)\*\*|\[([^\]]+)\]\(([^)\s]+)\)"
                     r"|(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])")


_BLOCK_START = re.compile(r"(#{1,6}\s|```|\s*\||\s*([-*]|\d+\.)\s)")


def inline(text: str, link: Callable[[str], str]) -> str:
    """One line of inline Markdown as HTML; `link` rewrites each link target (e.g. to the site's page)."""
    out, pos = [], 0
    for m in _INLINE.finditer(text):
        out.append(html.escape(text[pos:m.start()]))
        code, bold, label, href, em = m.groups()
        if code is not None:
            out.append(f"<code>{html.escape(code)}</code>")
        elif bold is not None:
            out.append(f"<strong>{inline(bold, link)}</strong>")
        elif label is not None:
            out.append(f'<a href="{html.escape(link(href))}">{inline(label, link)}</a>')
        else:
            out.append(f"<em>{inline(em, link)}</em>")
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _is_rule(line: str) -> bool:
    return bool(re.fullmatch(r"\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?", line.strip()))


def to_html(text: str, link: Callable[[str], str] = lambda href: href) -> str:
    """A Markdown document as HTML. Pipe tables get the `sortable` class (the site's script sorts them)."""
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            out.append(f"<pre><code>{html.escape(chr(10).join(lines[i + 1:j]))}</code></pre>")
            i = j + 1
        elif m := re.match(r"(#{1,6})\s+(.*)", line):
            n = len(m.group(1))
            out.append(f"<h{n}>{inline(m.group(2), link)}</h{n}>")
            i += 1
        elif line.lstrip().startswith("|") and i + 1 < len(lines) and _is_rule(lines[i + 1]):
            head = "".join(f"<th>{inline(c, link)}</th>" for c in _cells(line))
            j, body = i + 2, []
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                cells = "".join(f"<td>{inline(c, link)}</td>" for c in _cells(lines[j]))
                body.append(f"<tr>{cells}</tr>")
                j += 1
            out.append(f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}'
                       "</tbody></table>")
            i = j
        elif re.match(r"\s*([-*]|\d+\.)\s+", line):
            tag = "ol" if re.match(r"\s*\d+\.", line) else "ul"
            items: list[str] = []
            while i < len(lines) and lines[i].strip():
                if m := re.match(r"\s*([-*]|\d+\.)\s+(.*)", lines[i]):
                    items.append(m.group(2))
                elif items:  # a wrapped continuation line of the current item
                    items[-1] += " " + lines[i].strip()
                i += 1
            out.append(f"<{tag}>" + "".join(f"<li>{inline(it, link)}</li>" for it in items) + f"</{tag}>")
        elif not line.strip():
            i += 1
        else:
            para = []
            while i < len(lines) and lines[i].strip() and not _BLOCK_START.match(lines[i]):
                para.append(lines[i].strip())
                i += 1
            out.append(f"<p>{inline(' '.join(para), link)}</p>")
    return "\n".join(out)
