"""Uploads: each format accepted, every problem returned, nothing stored on error, size limits."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gis_data.loading.load import load_assets_from_file

BAD_GEOJSON = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"asset_id": "x1", "field": "roadz", "kind": "road_segment"},
            "geometry": {"type": "LineString", "coordinates": [[9.5, 47.1], [9.51, 47.11]]},
        },
        {
            "type": "Feature",
            "properties": {"asset_id": "x2", "field": "road", "kind": "road_segment"},
            "geometry": None,
        },
    ],
}


@pytest.fixture
def scenario_url(client: TestClient, api: str, planner: dict[str, str]) -> str:
    """URL of a fresh scenario."""
    created = client.post(f"{api}/scenarios", json={"name": "uploads"}, headers=planner)
    return f"{api}/scenarios/{created.json()['id']}"


def _upload(
    client: TestClient,
    url: str,
    headers: dict[str, str],
    name: str,
    content: bytes,
    **form: str,
):
    data = {"municipality_code": "LI-7009", "municipality": "Planken", **form}
    return client.post(
        f"{url}/uploads", files={"file": (name, content)}, data=data, headers=headers
    )


def _layer_count(client: TestClient, url: str, headers: dict[str, str]) -> int:
    return client.get(f"{url}/layers", headers=headers).json()["count"]


def test_geojson_upload_stores_every_asset(
    client: TestClient, scenario_url: str, planner: dict[str, str], demo_dir: Path
) -> None:
    """A valid GeoJSON becomes one layer with as many assets as the loader reads."""
    path = demo_dir / "planken.geojson"
    expected, _ = load_assets_from_file(path, municipality_code="LI-7009", municipality="Planken")
    response = _upload(client, scenario_url, planner, "planken.geojson", path.read_bytes())
    assert response.status_code == 201, response.text
    layer = response.json()["layer"]
    assert layer["feature_count"] == len(expected) > 0
    assert layer["name"] == "planken.geojson"
    scenario = client.get(scenario_url, headers=planner).json()
    assert scenario["asset_count"] == len(expected)
    assert scenario["layer_count"] == 1
    assert scenario["version"] == 2  # new data: caches keyed on the version expire
    deleted = client.delete(f"{scenario_url}/layers/{layer['id']}", headers=planner)
    assert deleted.status_code == 204
    after = client.get(scenario_url, headers=planner).json()
    assert (after["asset_count"], after["layer_count"], after["version"]) == (0, 0, 3)


def test_csv_and_zipped_shapefile(
    client: TestClient, scenario_url: str, planner: dict[str, str], demo_dir: Path
) -> None:
    """CSV with lon/lat columns and a zipped Shapefile with a layer, encoding and column map."""
    csv = _upload(
        client,
        scenario_url,
        planner,
        "triesenberg_parks.csv",
        (demo_dir / "triesenberg_parks.csv").read_bytes(),
        municipality_code="LI-7004",
        lon="lon",
        lat="lat",
    )
    assert csv.status_code == 201, csv.text
    assert csv.json()["layer"]["feature_count"] == 2
    columns = {"ID": "asset_id", "分野": "field", "路線名": "name", "種別": "road_class"}
    shp = _upload(
        client,
        scenario_url,
        planner,
        "triesen_shp.zip",
        (demo_dir / "triesen_shp.zip").read_bytes(),
        municipality_code="LI-7002",
        layer="roads",
        encoding="cp932",
        kind="road_segment",
        columns=json.dumps(columns, ensure_ascii=False),
    )
    assert shp.status_code == 201, shp.text
    assert shp.json()["layer"]["feature_count"] > 0
    assert _layer_count(client, scenario_url, planner) == 2


def test_invalid_file_returns_every_problem_and_stores_nothing(
    client: TestClient, scenario_url: str, planner: dict[str, str]
) -> None:
    """Two bad features give 422 with both problems (file, feature, field); no layer is made."""
    content = json.dumps(BAD_GEOJSON).encode()
    response = _upload(client, scenario_url, planner, "../../etc/bad.geojson", content)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid-assets"
    found = {(p["feature"], p["field"]) for p in body["details"]}
    assert found == {(1, "field"), (2, "geometry")}
    assert all(p["file"] == "bad.geojson" for p in body["details"])
    assert "roadz" in response.text
    assert "/tmp" not in response.text
    assert "var/data" not in response.text
    assert _layer_count(client, scenario_url, planner) == 0


def test_duplicate_asset_ids_across_uploads(
    client: TestClient, scenario_url: str, planner: dict[str, str], demo_dir: Path
) -> None:
    """The same file twice: the second is refused naming the ids already present."""
    content = (demo_dir / "planken.geojson").read_bytes()
    assert _upload(client, scenario_url, planner, "planken.geojson", content).status_code == 201
    again = _upload(client, scenario_url, planner, "planken.geojson", content)
    assert again.status_code == 422
    assert all("already exists" in p["message"] for p in again.json()["details"])
    assert _layer_count(client, scenario_url, planner) == 1


def test_size_limit_is_413(client: TestClient, scenario_url: str, planner: dict[str, str]) -> None:
    """A file over MAX_UPLOAD_MB (2 MB in the tests) is refused with 413."""
    big = b'{"type":"FeatureCollection","features":[' + b" " * (3 * 1024 * 1024) + b"]}"
    response = _upload(client, scenario_url, planner, "big.geojson", big)
    assert response.status_code == 413
    assert response.json()["code"] == "upload-too-large"


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_path_traversal_and_bomb_are_400(
    client: TestClient, scenario_url: str, planner: dict[str, str]
) -> None:
    """Members leaving the folder and huge compression ratios are refused before reading."""
    traversal = _zip({"../../evil.shp": b"x", "ok.dbf": b"y"})
    response = _upload(client, scenario_url, planner, "evil.zip", traversal)
    assert response.status_code == 400
    assert response.json()["code"] == "unsafe-zip"
    absolute = _zip({"/etc/roads.shp": b"x"})
    assert (
        _upload(client, scenario_url, planner, "abs.zip", absolute).json()["code"] == "unsafe-zip"
    )
    bomb = _zip({"roads.shp": b"\0" * (4 * 1024 * 1024)})
    assert len(bomb) < 2 * 1024 * 1024
    response = _upload(client, scenario_url, planner, "bomb.zip", bomb)
    assert response.status_code == 400
    assert response.json()["code"] == "zip-bomb"
    not_zip = _upload(client, scenario_url, planner, "fake.zip", b"not a zip at all")
    assert not_zip.json()["code"] == "bad-zip"


def test_unsupported_format_and_roles(
    client: TestClient, scenario_url: str, planner: dict[str, str], gis: dict[str, str]
) -> None:
    """Unknown extensions are 415; a GIS key may not upload (403); no key is 401."""
    assert _upload(client, scenario_url, planner, "roads.exe", b"MZ").status_code == 415
    content = json.dumps(BAD_GEOJSON).encode()
    assert _upload(client, scenario_url, gis, "a.geojson", content).status_code == 403
    assert _upload(client, scenario_url, {}, "a.geojson", content).status_code == 401


def test_geopackage_layer(
    client: TestClient, scenario_url: str, planner: dict[str, str], demo_dir: Path
) -> None:
    """A GeoPackage layer is read like the loader reads it; a missing layer is a 422 problem."""
    path = demo_dir / "balzers.gpkg"
    expected, _ = load_assets_from_file(
        path, municipality_code="LI-7003", municipality="Balzers", layer="roads", field="road"
    )
    content = path.read_bytes()
    form = {"municipality_code": "LI-7003", "field": "road"}
    response = _upload(
        client, scenario_url, planner, "balzers.gpkg", content, layer="roads", **form
    )
    assert response.status_code == 201, response.text
    assert response.json()["layer"]["feature_count"] == len(expected) > 0
    missing = _upload(client, scenario_url, planner, "balzers.gpkg", content, layer="nope", **form)
    assert missing.status_code == 422
    assert any(p["field"] == "layer" for p in missing.json()["details"])
