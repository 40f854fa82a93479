"""Shared fixtures: paths to the repository, its demo data and the ../shared folder beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEMO = ROOT / "gis_data" / "demo"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ../shared folder (open data and benchmark instances); skips when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent: the tests that read ../shared need it beside the repo")
    return SHARED


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    """The demo data kept in the repository (gis_data/demo)."""
    return DEMO
