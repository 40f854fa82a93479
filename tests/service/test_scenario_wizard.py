"""The scenario wizard pages and the upload preview they use (TestClient; the browser test
drives the same page in Chromium, tests/service/test_browser_wizard.py)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from service.i18n import labels
from service.wizard_labels import WIZARD_LABELS, wizard_labels
from tests.service.wizard_data import (
    TOWN_CODE,
    TOWN_NAME,
    road_lines,
    write_n03_boundary,
    write_road_layer,
)

HTML = {"Accept": "text/html"}


def _config(html: str) -> dict[str, Any]:
    found = re.search(
        r'<script type="application/json" id="wizard-config">(.*?)</script>', html, re.S
    )
    assert found, "the page carries its configuration"
    return dict(json.loads(found.group(1)))


def _scenario(client: TestClient, api: str, planner: dict[str, str]) -> int:
    body = {"name": "持込み <テスト>", "municipalities": [{"code": TOWN_CODE, "name": TOWN_NAME}]}
    response = client.post(f"{api}/scenarios", json=body, headers=planner)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _preview(client: TestClient, url: str, headers: dict[str, str], path: Path, **form: str) -> Any:
    with path.open("rb") as handle:
        return client.post(url, files={"file": (path.name, handle)}, data=form, headers=headers)


def test_new_page_for_planners_only(client: TestClient, planner, gis) -> None:
    """Planners get the Japanese page with local scripts only; a GIS key gets a 403 page."""
    page = client.get("/scenarios/new", headers={**planner, **HTML})
    assert page.status_code == 200
    html = page.text
    assert "新しいシナリオ" in html
    assert 'id="create-scenario"' in html
    assert 'id="step-assets"' not in html  # the other steps need a stored scenario
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', html)
    assert scripts == ["/static/vendor/leaflet/leaflet.js", "/static/scenario_wizard.js"]
    assert not re.search(
        r'(src|href)="(https?:)?//',
        html.replace('href="https://www.openstreetmap.org/copyright"', ""),
    )
    config = _config(html)
    assert config["scenario"] is None
    assert config["labels"]["wz_step_towns"] == "1. シナリオと自治体"
    english = _config(client.get("/scenarios/new?lang=en", headers={**planner, **HTML}).text)
    assert english["labels"]["wz_step_towns"] == "1. Scenario and towns"
    script = client.get("/static/scenario_wizard.js")
    assert script.status_code == 200
    assert "X-Requested-With" in script.text
    denied = client.get("/scenarios/new", headers={**gis, **HTML})
    assert denied.status_code == 403
    assert "text/html" in denied.headers["content-type"]


def test_every_label_the_script_uses_is_in_both_languages() -> None:
    """Each tr("...") of the page script names a catalogue key with a Japanese and English text."""
    script = (Path(__file__).resolve().parents[2] / "service/static/scenario_wizard.js").read_text()
    used = set(re.findall(r'tr\("(\w+)"\)', script))
    assert used, "the script takes its texts from the catalogue"
    for lang in ("ja", "en"):
        known = wizard_labels(lang)
        assert not sorted(used - set(known)), lang
    for key, (ja, en) in WIZARD_LABELS.items():
        assert ja.strip(), key
        assert en.strip(), key
        assert key not in labels("ja"), f"{key} shadows a label of service.i18n"


def test_edit_page_shows_what_is_stored(
    client: TestClient, api: str, planner: dict[str, str], tmp_path: Path
) -> None:
    """The edit page lists the towns, layers (with their kept columns) and the network state."""
    sid = _scenario(client, api, planner)
    boundary = write_n03_boundary(tmp_path)
    with boundary.open("rb") as handle:
        stored = client.put(
            f"{api}/scenarios/{sid}/boundaries",
            files={"file": (boundary.name, handle)},
            headers=planner,
        )
    assert stored.status_code == 200, stored.text
    roads = write_road_layer(tmp_path)
    with roads.open("rb") as handle:
        upload = client.post(
            f"{api}/scenarios/{sid}/uploads",
            files={"file": (roads.name, handle)},
            data={
                "municipality_code": TOWN_CODE,
                "field": "road",
                "kind": "road_segment",
                "encoding": "cp932",
                "columns": json.dumps({"路線名": "name"}),
            },
            headers=planner,
        )
    assert upload.status_code == 201, upload.text
    page = client.get(f"/scenarios/{sid}/edit", headers={**planner, **HTML})
    assert page.status_code == 200
    assert "<テスト>" not in page.text  # the name is escaped in the heading and the JSON
    config = _config(page.text)
    assert config["scenario"]["name"] == "持込み <テスト>"
    (town,) = config["scenario"]["towns"]
    assert (town["code"], town["name"], town["has_boundary"]) == (TOWN_CODE, TOWN_NAME, True)
    (layer,) = config["layers"]
    assert layer["feature_count"] == len(road_lines())
    assert {"道路種別", "一方通行"} <= set(layer["columns"])
    assert config["network"] is None
    assert "出典：国土数値情報" in page.text  # a 5-digit code: N03 boundaries credited
    boundaries = client.get(f"{api}/scenarios/{sid}/boundaries", headers=planner).json()
    (feature,) = boundaries["features"]
    assert feature["properties"]["code"] == TOWN_CODE
    assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert (
        client.get(f"/scenarios/{sid + 100}/edit", headers={**planner, **HTML}).status_code == 404
    )


def test_start_page_links_the_wizard(client: TestClient, api: str, planner, gis) -> None:
    """A planner's start page links a new scenario and each scenario's data; a GIS key's not."""
    sid = _scenario(client, api, planner)
    # The start page knows its visitor by the session cookie a `?key=` link leaves.
    html = client.get(f"/?key={planner['X-API-Key']}", headers=HTML).text
    assert 'href="/scenarios/new?lang=ja"' in html
    assert f'href="/scenarios/{sid}/edit?lang=ja"' in html
    crew = client.get(f"/?key={gis['X-API-Key']}", headers=HTML).text
    assert "/scenarios/new" not in crew


def test_preview_detects_cp932_and_the_plane_crs(
    client: TestClient, api: str, planner: dict[str, str], tmp_path: Path
) -> None:
    """A Shapefile without .cpg whose table is cp932: columns, rows, encoding and CRS; no layer."""
    sid = _scenario(client, api, planner)
    roads = write_road_layer(tmp_path)
    with zipfile.ZipFile(roads) as archive:
        assert not [n for n in archive.namelist() if n.lower().endswith(".cpg")]
    url = f"{api}/scenarios/{sid}/uploads/preview"
    got = _preview(client, url, planner, roads)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["format"] == "shapefile_zip"
    assert body["columns"] == ["路線番号", "路線名", "道路種別", "一方通行"]
    assert (body["encoding"], body["encoding_origin"]) == ("cp932", "detected")
    assert body["crs"] == "EPSG:6677"
    assert body["feature_count"] == len(road_lines())
    assert body["geometry_types"] == ["LineString"]
    assert len(body["rows"]) == 5
    expected = road_lines().drop(columns="geometry").head(5)
    assert body["rows"] == [list(r) for r in expected.itertuples(index=False)]
    layers = client.get(f"{api}/scenarios/{sid}/layers", headers=planner).json()
    assert layers["count"] == 0  # nothing stored
    given = _preview(client, url, planner, roads, encoding="cp932").json()
    assert (given["encoding"], given["encoding_origin"]) == ("cp932", "given")


def test_preview_errors(
    client: TestClient, api: str, planner: dict[str, str], tmp_path: Path
) -> None:
    """A wrong encoding is 422 naming the file and field; OSM files 415; unknown scenario 404."""
    sid = _scenario(client, api, planner)
    roads = write_road_layer(tmp_path)
    url = f"{api}/scenarios/{sid}/uploads/preview"
    wrong = _preview(client, url, planner, roads, encoding="utf-8")
    assert wrong.status_code == 422
    body = wrong.json()
    assert body["code"] == "invalid-assets"
    (problem,) = body["details"]
    assert (problem["file"], problem["field"]) == ("roads.zip", "encoding")
    assert str(tmp_path) not in wrong.text
    assert "var/data" not in wrong.text
    assert "upload-" not in problem["message"]
    osm = tmp_path / "town.osm"
    osm.write_text("<osm version='0.6'></osm>", encoding="utf-8")
    assert _preview(client, url, planner, osm).status_code == 415
    missing = _preview(client, f"{api}/scenarios/{sid + 100}/uploads/preview", planner, roads)
    assert missing.status_code == 404


def test_preview_of_a_csv(
    client: TestClient, api: str, planner: dict[str, str], tmp_path: Path
) -> None:
    """A cp932 CSV with coordinate columns: its columns and first rows, read as cp932."""
    sid = _scenario(client, api, planner)
    text = "施設番号,名称,経度,緯度\n" + "".join(
        f"P{i},公園{i},139.7{i},35.6{i}\n" for i in range(7)
    )
    path = tmp_path / "parks.csv"
    path.write_bytes(text.encode("cp932"))
    got = _preview(client, f"{api}/scenarios/{sid}/uploads/preview", planner, path)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["columns"] == ["施設番号", "名称", "経度", "緯度"]
    assert body["rows"][0] == ["P0", "公園0", "139.70", "35.60"]
    assert len(body["rows"]) == 5
    assert body["feature_count"] == 7
    assert body["encoding"] == "cp932"
    assert body["crs"] is None


def test_preview_of_an_unreadable_zip(
    client: TestClient, api: str, planner: dict[str, str]
) -> None:
    """A zip without a Shapefile: 422 with the problem, in JSON (the page shows it)."""
    sid = _scenario(client, api, planner)
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("readme.txt", "no shapefile here")
    got = client.post(
        f"{api}/scenarios/{sid}/uploads/preview",
        files={"file": ("roads.zip", data.getvalue())},
        headers=planner,
    )
    assert got.status_code == 422
    (problem,) = got.json()["details"]
    assert "no .shp" in problem["message"]
