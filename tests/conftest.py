"""Every test runs against a private cache directory, never the user's (or CI's) real one."""

import pytest

from bench import cache


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    root = tmp_path_factory.mktemp("initbench-cache")
    monkeypatch.setenv("INITBENCH_CACHE", str(root))
    cache.set_cache_dir(None)
    yield root
    cache.set_cache_dir(None)
