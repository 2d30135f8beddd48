"""tox plugin, loaded automatically by tox>=4 from the project root: let tox find pyenv-installed Pythons.

With pyenv, only the active version(s) are reachable through the shims; ``python3.10`` and friends fail
with "pyenv: python3.10: command not found" when 3.10 is installed but not selected, so tox would skip
py310. At import we *append* ``$PYENV_ROOT/versions/<X.Y.Z>/bin`` (default ``~/.pyenv``) to ``PATH``:
whatever is already on PATH keeps precedence, and tox's interpreter discovery (virtualenv /
python-discovery), which tries every PATH entry, falls through to the real binaries. Only plain CPython
release names (e.g. ``3.12.1``) are used, newest patch first; pyenv-virtualenv environments are skipped.
Nothing happens on machines without pyenv.

With ``INITBENCH_TOX_PRUNE=1`` (set by ``.ci/run``) each ``py3xx`` env directory is deleted when the env is
torn down: on Pythons other than 3.11 an env holds PyPI's CUDA build of torch (about 5 GB), and four of them
at once filled a CI disk. A developer's ``tox`` keeps its envs for fast reruns.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from tox.plugin import impl
from tox.tox_env.api import ToxEnv

_RELEASE = re.compile(r"\d+\.\d+\.\d+")


def _pyenv_bin_dirs() -> list[str]:
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    versions = root / "versions"
    if not versions.is_dir():
        return []
    found = []
    for entry in versions.iterdir():
        if not _RELEASE.fullmatch(entry.name) or entry.is_symlink() or (entry / "pyvenv.cfg").exists():
            continue
        if (entry / "bin").is_dir():
            found.append(entry)
    found.sort(key=lambda p: tuple(int(n) for n in p.name.split(".")), reverse=True)
    return [str(p / "bin") for p in found]


def _extend_path() -> None:
    path = os.environ.get("PATH", "")
    entries = path.split(os.pathsep) if path else []
    extra = [d for d in _pyenv_bin_dirs() if d not in entries]
    if extra:
        os.environ["PATH"] = os.pathsep.join([*entries, *extra])


_extend_path()


@impl
def tox_env_teardown(tox_env: ToxEnv) -> None:
    if os.environ.get("INITBENCH_TOX_PRUNE") == "1" and re.fullmatch(r"py3\d+", tox_env.name):
        shutil.rmtree(tox_env.env_dir, ignore_errors=True)
