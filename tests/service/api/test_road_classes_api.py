"""A town's 道路種別 sets the patrol intervals: API-stored setting, TOML table, export/import."""

from __future__ import annotations

import datetime as dt
import json
import time
import tomllib
import zipfile
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gis_data.planning.replan import CalendarSchedule
from service.config import Settings
from service.db import session_scope
from service.scenario_exchange import export_scenario, import_scenario_source
from tests.service.api.job_runs import run_job
from tests.service.api.test_stored_scenario import GOOD_DEPOTS, _put_file, _scenario
from tests.service.grid_scenario import write_grid_scenario

# Col0 of Aville is a 1級 road, Row0w a farm road (農道) no default maps; the rest その他/2級.
CLASSES = {"T1-Col0": "1級市町村道", "T1-Row0w": "農道", "T2-Col2": "2級"}
SETTING = {
    "column": "道路種別",
    "classes": {"2級": "arterial_road"},
    "speeds_kmh": {"1級": 12},
}
APRIL_1 = dt.date(2026, 4, 1)


def _with_classes(folder: Path) -> Path:
    """The grid scenario with a 道路種別 column in both towns' road files."""
    toml = write_grid_scenario(folder)
    for code in ("t1", "t2"):
        path = folder / f"{code}.geojson"
        doc = json.loads(path.read_text(encoding="utf-8"))
        for feature in doc["features"]:
            props = feature["properties"]
            props["道路種別"] = CLASSES.get(props["asset_id"], "その他")
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return toml


def _intervals(client: TestClient, api: str, planner: dict[str, str], sid: int) -> dict[str, int]:
    month = {"horizon": "2026-04", "iterations": 3}
    done = run_job(client, f"{api}/scenarios/{sid}/plans/calendar", planner, month)
    plan = client.get(f"{api}/plans/{done['plan_id']}", headers=planner).json()
    return CalendarSchedule.from_json(plan["result"]["schedule"]).intervals_on(APRIL_1)


def _warnings(response: Any) -> list[str]:
    return [w["message"] for w in response.json()["warnings"]]


def test_api_stored_setting_sets_the_calendar_and_unmapped_values_are_told(
    client: TestClient, api: str, planner: dict[str, str], tmp_path: Path
) -> None:
    files = tmp_path / "files"
    _with_classes(files)
    sid = _scenario(client, api, planner)
    base = f"{api}/scenarios/{sid}"
    got = _put_file(
        client, f"{base}/boundaries", planner, files / "towns.geojson",
        code_column="code", name_column="name",
    )  # fmt: skip
    assert got.status_code == 200, got.text
    # No setting yet: the 道路種別 column is read with the defaults, and the upload says so.
    with (files / "t1.geojson").open("rb") as handle:
        t1 = client.post(
            f"{base}/uploads", files={"file": ("t1.geojson", handle)},
            data={"municipality_code": "T1"}, headers=planner,
        )  # fmt: skip
    assert t1.status_code == 201, t1.text
    told = _warnings(t1)
    assert any("'道路種別' read as the road class with the defaults" in m and "1級 1" in m
               for m in told), told  # fmt: skip
    assert any("'農道' of 1 asset(s) has no patrol mapping" in m for m in told), told
    bad = client.put(f"{base}/settings", json={"road_classes": {"classes": {"1級": "daily"}}},
                     headers=planner)  # fmt: skip
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid-settings"
    put = client.put(f"{base}/settings", json={"road_classes": SETTING}, headers=planner)
    assert put.status_code == 200, put.text
    assert client.get(f"{base}/settings", headers=planner).json() == {"road_classes": SETTING}
    with (files / "t2.geojson").open("rb") as handle:
        t2 = client.post(
            f"{base}/uploads", files={"file": ("t2.geojson", handle)},
            data={"municipality_code": "T2"}, headers=planner,
        )  # fmt: skip
    assert t2.status_code == 201, t2.text
    assert not any("has no patrol mapping" in m for m in _warnings(t2))
    depots = client.put(
        f"{base}/depots", content=json.dumps(GOOD_DEPOTS),
        headers={**planner, "Content-Type": "application/geo+json"},
    )  # fmt: skip
    assert depots.status_code == 200, depots.text
    network = _put_file(client, f"{base}/network", planner, files / "grid.osm")
    assert network.status_code == 200, network.text
    intervals = _intervals(client, api, planner, sid)
    assert intervals["T1-Col0"] == 2  # 1級: arterial
    assert intervals["T2-Col2"] == 2  # 2級, mapped to arterial by the setting
    assert intervals["T1-Row0w"] == 5  # 農道: unmapped, local (and told)
    assert intervals["T1-Col1"] == 5  # その他
    # A setting naming a column the assets lack stops the job with a message saying so.
    client.put(f"{base}/settings", json={"road_classes": {"column": "種別"}}, headers=planner)
    response = client.post(
        f"{base}/plans/calendar", json={"parameters": {"horizon": "2026-04"}}, headers=planner
    )
    job_url = response.headers["Location"]
    for _ in range(600):
        job = client.get(job_url, headers=planner).json()
        if job["status"] in ("successful", "failed"):
            break
        time.sleep(0.1)
    assert job["status"] == "failed"
    assert "no road class column '種別'" in job["message"]


def test_toml_table_is_stored_kept_by_export_and_import_and_sets_the_calendar(
    client: TestClient,
    api: str,
    planner: dict[str, str],
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
) -> None:
    toml = _with_classes(tmp_path / "grid")
    table = (
        '\n[road_classes]\ncolumn = "道路種別"\nclasses = { "2級" = "arterial_road" }\n'
        'speeds_kmh = { "1級" = 12 }\n'
    )
    toml.write_text(toml.read_text(encoding="utf-8") + table, encoding="utf-8")
    with session_scope(engine) as session:
        first = import_scenario_source(
            session=session, settings=settings, source=tmp_path / "grid"
        ).id
    assert client.get(f"{api}/scenarios/{first}/settings", headers=planner).json() == {
        "road_classes": SETTING
    }
    out = tmp_path / "out" / "grid.zip"
    with session_scope(engine) as session:
        export_scenario(session=session, scenario_id=first, out=out)
    with zipfile.ZipFile(out) as archive:
        planning = tomllib.loads(archive.read("settings.toml").decode("utf-8"))
    assert planning["road_classes"] == SETTING
    with session_scope(engine) as session:
        second = import_scenario_source(session=session, settings=settings, source=out).id
    assert client.get(f"{api}/scenarios/{second}/settings", headers=planner).json() == {
        "road_classes": SETTING
    }
    for sid in (first, second):
        intervals = _intervals(client, api, planner, sid)
        assert (intervals["T1-Col0"], intervals["T2-Col2"], intervals["T1-Col1"]) == (2, 2, 5)
