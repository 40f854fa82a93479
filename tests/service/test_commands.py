"""The service commands: `gunmane db upgrade`, `gunmane keys`, and `gunmane demo` end to end."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.cli import main
from service.config import Settings, get_settings
from service.main import create_app
from tests.service.grid_scenario import write_grid_scenario


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """DATABASE_URL of a fresh SQLite file for commands that read the settings."""
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_db_upgrade_and_keys(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`db upgrade` migrates; `keys create` prints a working key; contractors need regions."""
    assert main(["db", "upgrade"]) == 0
    assert "head" in capsys.readouterr().out
    assert main(["keys", "create", "--role", "planner", "--name", "cli"]) == 0
    key = capsys.readouterr().out.strip().split()[-1]
    assert key.startswith("gm_")
    assert main(["keys", "create", "--role", "contractor"]) == 2
    assert "region" in capsys.readouterr().out
    assert main(["keys", "list"]) == 0
    assert key not in capsys.readouterr().out
    app = create_app(Settings(DATABASE_URL=database))
    with TestClient(app) as client:
        assert client.get("/api/v1/scenarios", headers={"X-API-Key": key}).status_code == 200
    assert main(["keys", "revoke", "1"]) == 0


def test_demo_stores_plans_prints_keys_and_urls(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`gunmane demo --no-serve` on the grid: progress lines, one key per role, working URLs."""
    config = write_grid_scenario(tmp_path / "grid")
    args = ["demo", "--config", str(config), "--no-serve", "-k", "1", "--time-limit", "1"]
    args += ["--port", "8123"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "[100%] done" in out
    assert re.search(r"\[\s*\d+%\] partitioning", out)
    keys = dict(re.findall(r"^  (admin|planner|gis|contractor)\s+(gm_\S+)$", out, re.MULTILINE))
    assert set(keys) == {"admin", "planner", "gis", "contractor"}
    route_url = re.search(r"http://127.0.0.1:8123(/contractor/routes/\d+)\?key=", out)
    assert route_url is not None
    app = create_app(Settings(DATABASE_URL=database))
    with TestClient(app) as client:
        page = client.get(route_url.group(1), params={"key": keys["contractor"]})
        assert page.status_code == 200
        patrols = client.get("/api/v1/patrols", headers={"X-API-Key": keys["contractor"]})
        assert patrols.json()["count"] >= 1
        features = client.get("/ogc/collections/routes/items", headers={"X-API-Key": keys["gis"]})
        assert features.json()["numberMatched"] >= 1
    # A second run reuses the stored scenario and plan.
    assert main(args) == 0
    again = capsys.readouterr().out
    assert "already stored" in again
    assert "has a plan already" in again
