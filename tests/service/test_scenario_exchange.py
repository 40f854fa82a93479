"""`gunmane scenario import|export`: TOML import -> export -> import gives the same plans."""

from __future__ import annotations

import tomllib
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.config import Settings
from service.db import session_scope
from service.scenario_exchange import export_scenario, import_scenario_source, toml_text
from tests.service.api.job_runs import run_job
from tests.service.grid_scenario import write_grid_scenario


def _plans(client: TestClient, api: str, planner: dict[str, str], sid: int) -> dict:
    base = f"{api}/scenarios/{sid}/plans"
    regions = run_job(client, f"{base}/regions", planner, {"k": 2, "time_limit": 2, "unit_km": 0.3})
    routes = run_job(client, f"{base}/routes", planner, {"iterations": 20, "date": "2026-04-01"})
    effects = run_job(client, f"{base}/effects", planner, {"horizon": "2026-04", "iterations": 3})
    return {
        "regions": {k: regions["summary"][k] for k in ("k", "cut_edges", "contiguous")},
        # The regions plan id differs between the two scenarios; everything else must not.
        "routes": {k: v for k, v in routes["summary"].items() if k != "regions_plan_id"},
        "effects": effects["summary"]["comparison"],
    }


def test_import_export_import_gives_the_same_plans(
    client: TestClient,
    api: str,
    planner: dict[str, str],
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
) -> None:
    """The exported zip holds the TOML and files; re-imported, it plans the same (same seed)."""
    (tmp_path / "grid" / "settings.toml").parent.mkdir(parents=True)
    (tmp_path / "grid" / "settings.toml").write_text(
        'horizon = "2026-04"\nshift_hours = 7.5\n[costs]\ncrew_hour_yen = 7000\n',
        encoding="utf-8",
    )
    write_grid_scenario(tmp_path / "grid")
    with session_scope(engine) as session:
        first = import_scenario_source(
            session=session, settings=settings, source=tmp_path / "grid"
        ).id
    out = tmp_path / "out" / "grid.zip"
    with session_scope(engine) as session:
        export_scenario(session=session, scenario_id=first, out=out)
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        config = tomllib.loads(archive.read("scenario.toml").decode("utf-8"))
        planning = tomllib.loads(archive.read("settings.toml").decode("utf-8"))
    assert {"scenario.toml", "settings.toml", "boundaries.geojson", "network/grid.osm"} <= names
    assert [m["code"] for m in config["municipality"]] == ["T1", "T2"]
    assert {d["id"] for d in config["depot"]} == {"yard-west", "yard-east"}
    assert planning["shift_hours"] == 7.5
    with session_scope(engine) as session:
        second = import_scenario_source(session=session, settings=settings, source=out).id
    assert second != first
    assert _plans(client, api, planner, second) == _plans(client, api, planner, first)


def test_toml_text_round_trips() -> None:
    """Scalars, inline tables and arrays of tables come back as written."""
    data = {
        "horizon": "FY2026",
        "seed": 3,
        "shift_hours": 7.5,
        "work_days": {"weekend": [5, 6], "public_holidays_off": True},
        "phase": [{"label": "第1期", "towns": ["01234"]}, {"label": "第2期", "towns": ["1", "2"]}],
        "cooperation": {"pattern": "協議会", "nested": {"a": 1}},
    }
    assert tomllib.loads(toml_text(data)) == data


def test_import_refuses_a_folder_without_a_scenario(
    settings: Settings, tmp_path: Path, engine: Engine
) -> None:
    """A folder with no scenario TOML is named in the error."""
    (tmp_path / "empty").mkdir()
    with session_scope(engine) as session, pytest.raises(ValueError, match=r"scenario\.toml"):
        import_scenario_source(session=session, settings=settings, source=tmp_path / "empty")
