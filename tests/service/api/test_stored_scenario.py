"""A scenario built only through the HTTP API (no TOML) plans everything the TOML demo does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.gis_data.osm_grid import node_lonlat
from tests.service.api.job_runs import run_job
from tests.service.grid_scenario import STREETS, write_grid_scenario


def _depots(*features: tuple[str, str, int, str | None]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": list(node_lonlat(node))},
                "properties": {"name": name, "kind": kind, "municipality_code": town},
            }
            for name, kind, node, town in features
        ],
    }


GOOD_DEPOTS = _depots(
    ("Aville depot", "town", 4, "T1"),
    ("Beetown depot", "town", 6, "T2"),
    ("West yard", "contractor", 1, "T1"),
    ("East yard", "contractor", 9, "T2"),
)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """The grid scenario's files: grid.osm, towns.geojson, t1.geojson, t2.geojson."""
    folder = tmp_path / "files"
    write_grid_scenario(folder)
    return folder


def _scenario(client: TestClient, api: str, planner: dict[str, str]) -> int:
    body = {
        "name": "Grid towns by API",
        "municipalities": [
            {"code": "T1", "name": "Aville", "population": 3000, "population_year": 2024},
            {"code": "T2", "name": "Beetown", "population": 1200},
        ],
    }
    response = client.post(f"{api}/scenarios", json=body, headers=planner)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _put_file(
    client: TestClient, url: str, headers: dict[str, str], path: Path, **form: str
) -> Any:
    with path.open("rb") as handle:
        return client.put(url, files={"file": (path.name, handle)}, data=form, headers=headers)


def _build(client: TestClient, api: str, planner: dict[str, str], files: Path) -> int:
    """Scenario, boundaries, uploads, depots and network through the API; the scenario id."""
    sid = _scenario(client, api, planner)
    base = f"{api}/scenarios/{sid}"
    got = _put_file(
        client, f"{base}/boundaries", planner, files / "towns.geojson",
        code_column="code", name_column="name",
    )  # fmt: skip
    assert got.status_code == 200, got.text
    towns = {t["code"]: t for t in got.json()["data"]}
    assert towns["T1"]["has_boundary"]
    assert towns["T2"]["has_boundary"]
    assert towns["T1"]["population"] == 3000
    for code in ("T1", "T2"):
        with (files / f"{code.lower()}.geojson").open("rb") as handle:
            uploaded = client.post(
                f"{base}/uploads",
                files={"file": (f"{code.lower()}.geojson", handle)},
                data={"municipality_code": code},
                headers=planner,
            )
        assert uploaded.status_code == 201, uploaded.text
    depots = client.put(
        f"{base}/depots",
        content=json.dumps(GOOD_DEPOTS),
        headers={**planner, "Content-Type": "application/geo+json"},
    )
    assert depots.status_code == 200, depots.text
    assert depots.json()["numberReturned"] == 4
    network = _put_file(client, f"{base}/network", planner, files / "grid.osm")
    assert network.status_code == 200, network.text
    return sid


def test_scenario_built_through_the_api_plans_every_kind(
    client: TestClient, api: str, planner: dict[str, str], files: Path
) -> None:
    """Regions, routes, calendar, effects and cost shares all run from the stored rows."""
    sid = _build(client, api, planner, files)
    base = f"{api}/scenarios/{sid}/plans"
    regions = run_job(client, f"{base}/regions", planner, {"k": 2, "time_limit": 2, "unit_km": 0.3})
    assert regions["summary"]["k"] == 2
    routes = run_job(client, f"{base}/routes", planner, {"iterations": 20, "date": "2026-04-01"})
    assert routes["summary"]["bundled"]["status"] == "feasible"
    assert routes["summary"]["unmatched"] == 0
    depots_used = {
        r["properties"]["depot_name"]
        for r in client.get(f"{api}/plans/{routes['plan_id']}/routes", headers=planner).json()[
            "data"
        ]
    }
    assert depots_used <= {"West yard", "East yard"}
    month = {"horizon": "2026-04", "iterations": 3}
    calendar = run_job(client, f"{base}/calendar", planner, month)
    assert calendar["summary"]["working_days"] > 0
    assert calendar["summary"]["coverage_pct"] > 0
    effects = run_job(client, f"{base}/effects", planner, month)
    assert effects["summary"]["routing_solves"] > 0
    shares = run_job(client, f"{base}/cost_shares", planner, month)
    towns = {t["code"]: t for t in shares["summary"]["towns"]}
    assert set(towns) == {"T1", "T2"}
    assert towns["T1"]["name"] == "Aville"


def test_network_summary_and_a_failed_build_keeps_the_previous(
    client: TestClient, api: str, planner: dict[str, str], files: Path
) -> None:
    """PUT answers the summary (the one-way dead end is a cut-off part); GET returns it; a broken
    file is refused with 422 and the stored network stays."""
    sid = _build(client, api, planner, files)
    url = f"{api}/scenarios/{sid}/network"
    summary = client.get(url, headers=planner).json()
    assert summary["source"] == "osm"
    assert summary["file_name"] == "grid.osm"
    assert summary["nodes"] > 0
    assert summary["edges"] > 0
    assert summary["km"] > 0
    assert summary["strongly_connected_components"] == 2
    (part,) = summary["cut_off"]
    assert part["reason"] == "no way back"
    lon, lat = node_lonlat(11)
    assert part["street_m"] > 100
    assert abs(part["lon"] - lon) < 0.01
    assert abs(part["lat"] - lat) < 0.01
    broken = files / "broken.osm"
    broken.write_text("<osm><way id='1'><nd ref='1'/></osm", encoding="utf-8")
    refused = _put_file(client, url, planner, broken)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "network-build-failed"
    assert "var/" not in refused.text
    assert "upload-" not in refused.text
    assert client.get(url, headers=planner).json() == summary
    wrong = _put_file(client, url, planner, files / "towns.geojson")
    assert wrong.status_code == 415
    nothing = client.put(url, data={}, headers=planner)
    assert nothing.status_code == 422
    assert nothing.json()["code"] == "no-network-source"
    layer = client.put(url, data={"from_layer": "999"}, headers=planner)
    assert layer.status_code == 422
    assert "999" in layer.json()["detail"]


def test_network_from_the_towns_road_layer_alone_and_completed_by_osm(
    client: TestClient, api: str, planner: dict[str, str], files: Path
) -> None:
    """A road layer upload becomes the network (alone, then completed by the OSM file); the
    routes job plans on it with every asset of the layer matched to its own edges."""
    sid = _build(client, api, planner, files)
    layers = client.get(f"{api}/scenarios/{sid}/layers", headers=planner).json()["data"]
    t1 = next(layer["id"] for layer in layers if layer["municipality_code"] == "T1")
    url = f"{api}/scenarios/{sid}/network"
    alone = client.put(url, data={"from_layer": str(t1)}, headers=planner)
    assert alone.status_code == 200, alone.text
    summary = alone.json()
    assert summary["source"] == "layer"
    assert summary["build"]["road_layer"]["features"] == 5
    assert summary["nodes"] > 0
    with (files / "grid.osm").open("rb") as handle:
        both = client.put(
            url,
            files={"file": ("grid.osm", handle)},
            data={"from_layer": str(t1), "speed_kmh": '{"residential": 25}'},
            headers=planner,
        )
    assert both.status_code == 200, both.text
    assert both.json()["source"] == "layer+osm"
    assert "osm" in both.json()["build"]
    stored = client.get(url, headers=planner).json()
    assert stored["options"]["from_layer"] == t1
    assert stored["options"]["speed_kmh"] == {"residential": 25.0}
    routes = run_job(
        client,
        f"{api}/scenarios/{sid}/plans/routes",
        planner,
        {"iterations": 20, "date": "2026-04-01"},
    )
    assert routes["summary"]["bundled"]["status"] == "feasible"
    # On a network built from T1's layer, OSM streets are only driven, never claimed by an
    # asset: T2's assets (another layer) stay unmatched, T1's all match their own edges.
    assert routes["summary"]["unmatched"] == len(STREETS["T2"])
    bad = client.put(url, data={"from_layer": str(t1), "oneway_column": "nope"}, headers=planner)
    assert bad.status_code == 422
    assert bad.json()["code"] == "network-build-failed"
    assert any("nope" in p["message"] for p in bad.json()["details"])
    assert client.get(url, headers=planner).json() == stored
    in_use = client.delete(f"{api}/scenarios/{sid}/layers/{t1}", headers=planner)
    assert in_use.status_code == 409
    assert in_use.json()["code"] == "layer-in-use"


def test_boundaries_must_cover_every_town(
    client: TestClient, api: str, planner: dict[str, str], files: Path
) -> None:
    """A file without one of the towns is refused listing the missing code; nothing stored."""
    sid = _scenario(client, api, planner)
    url = f"{api}/scenarios/{sid}/boundaries"
    towns = json.loads((files / "towns.geojson").read_text(encoding="utf-8"))
    towns["features"] = towns["features"][:1]
    partial = files / "t1_only.geojson"
    partial.write_text(json.dumps(towns), encoding="utf-8")
    refused = _put_file(client, url, planner, partial, code_column="code")
    assert refused.status_code == 422
    assert refused.json()["details"]["missing_codes"] == ["T2"]
    stored = client.get(f"{api}/scenarios/{sid}/municipalities", headers=planner).json()
    assert [t["has_boundary"] for t in stored["data"]] == [False, False]
    towns = json.loads((files / "towns.geojson").read_text(encoding="utf-8"))
    for feature in towns["features"]:
        feature["properties"] = {"muni_id": feature["properties"]["code"]}
    odd = files / "odd_columns.geojson"
    odd.write_text(json.dumps(towns), encoding="utf-8")
    no_column = _put_file(client, url, planner, odd)
    assert no_column.status_code == 422
    assert any(p["field"] == "code_column" for p in no_column.json()["details"])
    bad_column = _put_file(client, url, planner, files / "towns.geojson", code_column="nope")
    assert bad_column.status_code == 422
    assert "nope" in bad_column.text
    assert "upload-" not in bad_column.text


def test_n03_boundaries_are_read_without_options(
    client: TestClient, api: str, planner: dict[str, str], tmp_path: Path
) -> None:
    """An MLIT N03 file (N03_007 code, N03_004 name, several parts per town) needs no column."""
    response = client.post(
        f"{api}/scenarios",
        json={"name": "N03", "municipalities": [{"code": "22219"}, {"code": "22301"}]},
        headers=planner,
    )
    sid = response.json()["id"]

    def square(x: float, y: float) -> list[list[list[float]]]:
        return [[[x, y], [x + 0.01, y], [x + 0.01, y + 0.01], [x, y + 0.01], [x, y]]]

    features = [
        {
            "type": "Feature",
            "properties": {"N03_001": "静岡県", "N03_004": name, "N03_007": code},
            "geometry": {"type": "Polygon", "coordinates": square(x, 34.6)},
        }
        for code, name, x in (
            ("22219", "下田市", 138.9),
            ("22219", "下田市", 138.95),
            ("22301", "東伊豆町", 139.0),
        )
    ]
    path = tmp_path / "N03-20240101_22.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    got = _put_file(client, f"{api}/scenarios/{sid}/boundaries", planner, path)
    assert got.status_code == 200, got.text
    towns = {t["code"]: t for t in got.json()["data"]}
    assert towns["22219"]["has_boundary"]
    assert towns["22301"]["has_boundary"]
    # The two parts of 下田市 are one multipolygon spanning both squares.
    assert towns["22219"]["bbox"][0] == pytest.approx(138.9)
    assert towns["22219"]["bbox"][2] == pytest.approx(138.96)


def test_bad_depots_are_all_listed_and_nothing_changes(
    client: TestClient, api: str, planner: dict[str, str], files: Path
) -> None:
    """Every bad feature is named with its field; the stored depots stay as they were."""
    sid = _build(client, api, planner, files)
    url = f"{api}/scenarios/{sid}/depots"
    bad = _depots(
        ("Fine yard", "contractor", 1, None),
        ("", "town", 2, "T1"),
        ("Odd yard", "garage", 3, "T9"),
    )
    bad["features"].append(
        {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [[9.5, 47.1], [9.6, 47.2]]},
            "properties": {"name": "Line", "kind": "town"},
        }
    )
    refused = client.put(url, json=bad, headers=planner)
    assert refused.status_code == 422
    found = {(p["feature"], p["field"]) for p in refused.json()["details"]}
    assert found == {
        (2, "name"),
        (3, "kind"),
        (3, "municipality_code"),
        (4, "geometry"),
        (4, "municipality_code"),
    }
    stored = client.get(url, headers=planner).json()
    assert sorted(f["properties"]["name"] for f in stored["features"]) == sorted(
        f["properties"]["name"] for f in GOOD_DEPOTS["features"]
    )
    text = client.put(url, content="{}", headers={**planner, "Content-Type": "text/plain"})
    assert text.status_code == 415


def test_unreadable_upload_names_no_server_path(
    client: TestClient, api: str, planner: dict[str, str], files: Path
) -> None:
    """A file GDAL cannot read is reported by its name, without the server's folders."""
    sid = _scenario(client, api, planner)
    response = client.post(
        f"{api}/scenarios/{sid}/uploads",
        files={"file": ("roads.geojson", b"{ this is not json")},
        data={"municipality_code": "T1"},
        headers=planner,
    )
    assert response.status_code == 422, response.text
    assert "roads.geojson" in response.text
    assert "upload-" not in response.text
    assert "/data/" not in response.text
