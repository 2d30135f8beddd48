"""The committed results: every table listed in results/leaderboards.toml is exactly what
`python -m bench leaderboard` regenerates from the committed run records.

Figures are regenerated too but compared only as valid images: their bytes depend on the
matplotlib/freetype build, which differs across the Python versions tox runs."""

from pathlib import Path

import pytest

from bench.report.leaderboard import load_manifest, manifest_files

MANIFEST = Path(__file__).resolve().parents[2] / "results" / "leaderboards.toml"
# The tables are the manifest entries' outputs; everything else regenerated is a figure.
TABLES = {spec.out for spec in load_manifest(MANIFEST)}


@pytest.fixture(scope="module")
def regenerated() -> dict[Path, bytes]:
    return manifest_files(MANIFEST)


def test_manifest_lists_tables(regenerated):
    assert TABLES and TABLES <= regenerated.keys()


def test_committed_tables_regenerate_byte_identically(regenerated):
    for path in TABLES:
        data = regenerated[path]
        assert path.is_file(), f"{path} is listed in the manifest but not committed"
        assert path.read_bytes() == data, f"{path} differs from its regeneration"


def test_figures_render(regenerated):
    figures = {p: d for p, d in regenerated.items() if p not in TABLES}
    assert figures
    for path, data in figures.items():
        assert data.startswith(b"\x89PNG") if path.suffix == ".png" else b"<svg" in data[:2000], path
