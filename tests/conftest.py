"""Every test runs against a private cache directory, never the user's (or CI's) real one."""

import pytest

from bench.cli.main import main
from bench.data import cache


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    root = tmp_path_factory.mktemp("initbench-cache")
    monkeypatch.setenv("INITBENCH_CACHE", str(root))
    cache.set_cache_dir(None)
    yield root
    cache.set_cache_dir(None)


@pytest.fixture
def cli(capsys):
    """Run `python -m bench ARGV...` in-process: (exit code, stdout, stderr)."""
    def call(*argv):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse's own errors
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err
    return call
