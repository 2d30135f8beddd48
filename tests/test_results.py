"""The committed results: every table listed in results/leaderboards.toml is exactly what
`python -m bench leaderboard` regenerates from the committed run records.

Figures are regenerated too but compared only as valid images: their bytes depend on the
matplotlib/freetype build, which differs across the Python versions tox runs."""

from pathlib import Path

import pytest

from bench.leaderboard import manifest_files

MANIFEST = Path(__file__).resolve().parent.parent / "results" / "leaderboards.toml"
TABLES = (".md", ".csv", ".tex", ".html")


@pytest.fixture(scope="module")
def regenerated() -> dict[Path, bytes]:
    return manifest_files(MANIFEST)


def test_manifest_lists_tables(regenerated):
    assert any(path.suffix in TABLES for path in regenerated)


def test_committed_tables_regenerate_byte_identically(regenerated):
    for path, data in regenerated.items():
        if path.suffix in TABLES:
            assert path.is_file(), f"{path} is listed in the manifest but not committed"
            assert path.read_bytes() == data, f"{path} differs from its regeneration"


def test_figures_render(regenerated):
    figures = {p: d for p, d in regenerated.items() if p.suffix in (".png", ".svg")}
    for path, data in figures.items():
        assert data.startswith(b"\x89PNG") if path.suffix == ".png" else b"<svg" in data[:2000], path
