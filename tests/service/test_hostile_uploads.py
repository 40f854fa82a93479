"""Hostile uploads: every class gets a clear 4xx naming the problem, and nothing is stored."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from service.db import session_scope
from service.models import Asset


@pytest.fixture
def scenario_url(client: TestClient, api: str, planner: dict[str, str]) -> str:
    """URL of a fresh, empty scenario."""
    created = client.post(f"{api}/scenarios", json={"name": "hostile"}, headers=planner)
    assert created.status_code == 201, created.text
    return f"{api}/scenarios/{created.json()['id']}"


def _upload(client: TestClient, url: str, headers: dict[str, str], name: str, content: bytes,
            **form: str) -> Any:  # fmt: skip
    data = {"municipality_code": "LI-7009", "municipality": "Planken", **form}
    return client.post(
        f"{url}/uploads", files={"file": (name, content)}, data=data, headers=headers
    )


def _assert_refused(
    response: Any, client: TestClient, url: str, headers: dict[str, str], status: int | None = None
) -> dict[str, Any]:
    """A 4xx with a JSON error body, and the scenario still has no layer and no asset."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    if status is not None:
        assert response.status_code == status, response.text
    body = response.json()
    assert body.get("code"), body
    assert "Traceback" not in response.text
    assert "/tmp" not in response.text
    scenario = client.get(url, headers=headers).json()
    assert scenario["layer_count"] == 0
    assert scenario["asset_count"] == 0
    return body


def _feature(geometry: dict[str, Any] | None, asset_id: str = "a1", **props: Any) -> dict:
    return {
        "type": "Feature",
        "properties": {"asset_id": asset_id, "field": "road", "kind": "road_segment", **props},
        "geometry": geometry,
    }


def _geojson(*features: dict[str, Any], crs: str | None = None) -> bytes:
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": list(features)}
    if crs is not None:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    return json.dumps(doc).encode()


def _line(*coords: tuple[float, float]) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [list(c) for c in coords]}


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _declare_size(archive: bytes, size: int) -> bytes:
    """Rewrite the uncompressed size of every member in the central directory (a forged zip)."""
    out = bytearray(archive)
    start = 0
    while (i := out.find(b"PK\x01\x02", start)) >= 0:
        struct.pack_into("<I", out, i + 24, size)
        start = i + 4
    return bytes(out)


# -- zip archives ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "member",
    ["../x.shp", "a/../../x.shp", "..\\..\\x.shp", "/abs/x.shp", "C:/x.shp", "C:\\x.shp"],
)
def test_zip_members_leaving_the_folder(
    client: TestClient, scenario_url: str, planner: dict[str, str], member: str
) -> None:
    """Any member path that would unpack outside the upload folder is refused (400)."""
    archive = _zip({member: b"x", "roads.dbf": b"y"})
    response = _upload(client, scenario_url, planner, "roads.zip", archive)
    body = _assert_refused(response, client, scenario_url, planner, 400)
    assert body["code"] == "unsafe-zip"


def test_zip_bomb_by_ratio(client: TestClient, scenario_url: str, planner: dict[str, str]) -> None:
    """A member compressed far beyond MAX_ZIP_RATIO is refused before anything is unpacked."""
    archive = _zip({"roads.shp": b"\0" * (8 * 1024 * 1024)})
    assert len(archive) < 64 * 1024
    response = _upload(client, scenario_url, planner, "bomb.zip", archive)
    body = _assert_refused(response, client, scenario_url, planner, 400)
    assert body["code"] == "zip-bomb"
    assert "roads.shp" in body["detail"]


def test_zip_bomb_by_declared_size(
    client: TestClient, scenario_url: str, planner: dict[str, str]
) -> None:
    """A tiny zip whose directory declares gigabytes is refused by the declared total."""
    archive = _declare_size(_zip({"roads.shp": b"abc", "roads.dbf": b"def"}, zipfile.ZIP_STORED),
                            3 * 1024**3)  # fmt: skip
    response = _upload(client, scenario_url, planner, "declared.zip", archive)
    body = _assert_refused(response, client, scenario_url, planner, 400)
    assert body["code"] == "zip-bomb"


def test_zip_with_too_many_members(
    client: TestClient, scenario_url: str, planner: dict[str, str]
) -> None:
    """Thousands of members (a directory bomb) are refused."""
    archive = _zip({f"f{i}.txt": b"" for i in range(2100)}, zipfile.ZIP_STORED)
    response = _upload(client, scenario_url, planner, "many.zip", archive)
    _assert_refused(response, client, scenario_url, planner, 400)


def test_zip_without_a_shapefile(
    client: TestClient, scenario_url: str, planner: dict[str, str]
) -> None:
    """A safe zip holding no shapefile is a clear 4xx, not a crash."""
    response = _upload(client, scenario_url, planner, "notes.zip", _zip({"a.txt": b"hello"}))
    _assert_refused(response, client, scenario_url, planner)


# -- size -----------------------------------------------------------------------------------


def test_oversized_file_is_413(
    client: TestClient, scenario_url: str, planner: dict[str, str]
) -> None:
    """Over MAX_UPLOAD_MB (2 MB in the tests) is 413, for a zip as for plain text."""
    big = _zip({"roads.shp": bytes(range(256)) * (12 * 1024)}, zipfile.ZIP_STORED)
    assert len(big) > 2 * 1024 * 1024
    body = _assert_refused(
        _upload(client, scenario_url, planner, "big.zip", big), client, scenario_url, planner, 413
    )
    assert body["code"] == "upload-too-large"


def test_empty_file(client: TestClient, scenario_url: str, planner: dict[str, str]) -> None:
    """A zero-byte upload is a 4xx."""
    _assert_refused(
        _upload(client, scenario_url, planner, "empty.geojson", b""), client, scenario_url, planner
    )


# -- text encodings -------------------------------------------------------------------------


def test_binary_garbage_as_geojson(
    client: TestClient, scenario_url: str, planner: dict[str, str]
) -> None:
    """Bytes that are not text at all are refused with a 4xx naming the file."""
    garbage = bytes(range(256)) * 8
    body = _assert_refused(
        _upload(client, scenario_url, planner, "roads.geojson", garbage),
        client,
        scenario_url,
        planner,
    )
    assert "roads.geojson" in json.dumps(body, ensure_ascii=False)


def test_latin1_csv_declared_utf8(
    client: TestClient, scenario_url: str, planner: dict[str, str]
) -> None:
    """A CSV in Latin-1 read as UTF-8 is a 4xx about the encoding, not a 500."""
    text = "asset_id,field,kind,name,lon,lat\np1,park,park,Café Müller,9.55,47.14\n"
    response = _upload(
        client, scenario_url, planner, "parks.csv", text.encode("latin-1"),
        lon="lon", lat="lat", encoding="utf-8",
    )  # fmt: skip
    body = _assert_refused(response, client, scenario_url, planner)
    assert "parks.csv" in json.dumps(body, ensure_ascii=False)


def test_unknown_encoding_name(
    client: TestClient, scenario_url: str, planner: dict[str, str]
) -> None:
    """An encoding name Python does not know is a 4xx naming it."""
    text = "asset_id,field,kind,lon,lat\np1,park,park,9.55,47.14\n"
    response = _upload(
        client, scenario_url, planner, "parks.csv", text.encode(),
        lon="lon", lat="lat", encoding="no-such-codec",
    )  # fmt: skip
    body = _assert_refused(response, client, scenario_url, planner)
    assert "no-such-codec" in json.dumps(body, ensure_ascii=False)


def test_cp932_csv_is_read_or_refused_never_garbled(
    client: TestClient, scenario_url: str, planner: dict[str, str], engine: Engine
) -> None:
    """Shift_JIS text: with encoding=cp932 the names arrive intact; without, a 422 says cp932."""
    text = "asset_id,field,kind,name,lon,lat\np1,park,park,中央公園,9.55,47.14\n"
    raw = text.encode("cp932")
    ok = _upload(client, scenario_url, planner, "parks.csv", raw, lon="lon", lat="lat",
                 encoding="cp932")  # fmt: skip
    assert ok.status_code == 201, ok.text
    with session_scope(engine) as session:
        assert list(session.scalars(select(Asset.name))) == ["中央公園"]
    layer_id = ok.json()["layer"]["id"]
    client.delete(f"{scenario_url}/layers/{layer_id}", headers=planner)
    guess = _upload(client, scenario_url, planner, "parks2.csv", raw, lon="lon", lat="lat")
    body = _assert_refused(guess, client, scenario_url, planner, 422)
    (problem,) = body["details"]
    assert (problem["file"], problem["field"]) == ("parks2.csv", "encoding")
    assert "cp932" in problem["message"]


# -- geometries -----------------------------------------------------------------------------

BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[9.55, 47.14], [9.56, 47.15], [9.56, 47.14], [9.55, 47.15], [9.55, 47.14]]],
}


@pytest.mark.parametrize(
    ("geometry", "field"),
    [
        (None, "geometry"),
        ({"type": "LineString", "coordinates": []}, "geometry"),
        ({"type": "Point", "coordinates": []}, "geometry"),
        (_line((9.55, 47.14), (9.55, 47.14)), "geometry"),
        (_line((9.55, 47.14)), None),  # GEOS refuses the file: not located by feature
        (_line((200.0, 47.14), (201.0, 47.15)), "geometry"),
        (_line((9.55, 95.0), (9.56, 96.0)), "geometry"),
        ({"type": "LineString", "coordinates": [[9.55, 47.14], ["a", "b"]]}, None),
        ({"type": "LineString", "coordinates": [[9.55, 47.14], [1e309, 47.15]]}, None),
        ({"type": "Nonsense", "coordinates": [1, 2]}, None),
    ],
    ids=[
        "null",
        "empty-line",
        "empty-point",
        "zero-length",
        "one-point",
        "lon-200",
        "lat-95",
        "text-coords",
        "infinite",
        "unknown-type",
    ],
)
def test_bad_geometries(
    client: TestClient,
    scenario_url: str,
    planner: dict[str, str],
    geometry: dict[str, Any] | None,
    field: str | None,
) -> None:
    """Each broken geometry is a 4xx; where the file parses, the problem names feature and field."""
    content = _geojson(_feature(_line((9.55, 47.14), (9.56, 47.15)), "ok"), _feature(geometry))
    if geometry is not None and geometry.get("coordinates") and "1e309" in json.dumps(geometry):
        content = content.replace(b"Infinity", b"1e999")
    response = _upload(client, scenario_url, planner, "roads.geojson", content)
    body = _assert_refused(response, client, scenario_url, planner)
    if field is not None and response.status_code == 422:
        assert any(p["feature"] == 2 and p["field"] == field for p in body["details"]), body


def test_self_intersecting_polygon(
    client: TestClient, scenario_url: str, planner: dict[str, str]
) -> None:
    """A bow-tie park is refused naming the feature's geometry (or repaired with a warning)."""
    content = _geojson(_feature(BOWTIE, "p1", field="park", kind="park"))
    response = _upload(client, scenario_url, planner, "parks.geojson", content)
    if response.status_code == 201:
        warnings = response.json()["warnings"]
        assert any(w["field"] == "geometry" for w in warnings), warnings
        return
    body = _assert_refused(response, client, scenario_url, planner, 422)
    assert any(p["field"] == "geometry" and p["feature"] == 1 for p in body["details"]), body


# -- coordinate reference systems -----------------------------------------------------------


def test_metric_coordinates_without_a_crs(
    client: TestClient, scenario_url: str, planner: dict[str, str]
) -> None:
    """Metres in a file with no CRS cannot be degrees: refused, naming the CRS or geometry."""
    content = _geojson(_feature(_line((-45000.0, 130000.0), (-44900.0, 130100.0))))
    response = _upload(client, scenario_url, planner, "roads.geojson", content)
    body = _assert_refused(response, client, scenario_url, planner, 422)
    assert {p["field"] for p in body["details"]} & {"crs", "geometry"}, body


def test_degrees_declared_as_metres(
    client: TestClient, scenario_url: str, planner: dict[str, str]
) -> None:
    """Lon/lat declared as Japan Plane IX metres would sit at the plane's origin: refused (crs)."""
    content = _geojson(_feature(_line((9.55, 47.14), (9.56, 47.15))), crs="EPSG:6677")
    response = _upload(client, scenario_url, planner, "roads.geojson", content)
    body = _assert_refused(response, client, scenario_url, planner, 422)
    assert [p["field"] for p in body["details"]] == ["crs"]
    assert "degrees" in body["details"][0]["message"]


@pytest.mark.parametrize("crs", ["EPSG:999999", "not a crs", "+proj=nonsense"])
def test_unknown_crs_option(
    client: TestClient, scenario_url: str, planner: dict[str, str], crs: str
) -> None:
    """A CRS option no one can parse is a 4xx naming the value."""
    content = _geojson(_feature(_line((9.55, 47.14), (9.56, 47.15))))
    response = _upload(client, scenario_url, planner, "roads.geojson", content, crs=crs)
    body = _assert_refused(response, client, scenario_url, planner)
    assert crs in json.dumps(body, ensure_ascii=False)


def test_csv_coordinates_out_of_range(
    client: TestClient, scenario_url: str, planner: dict[str, str]
) -> None:
    """CSV points with latitude 123 and longitude -500 are refused naming their rows."""
    text = "asset_id,field,kind,lon,lat\np1,park,park,9.55,123\np2,park,park,-500,47.1\n"
    response = _upload(
        client, scenario_url, planner, "parks.csv", text.encode(), lon="lon", lat="lat"
    )
    body = _assert_refused(response, client, scenario_url, planner, 422)
    rows = {p["feature"] for p in body["details"]}
    assert {1, 2} <= rows, body
