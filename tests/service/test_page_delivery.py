"""Pages on a closed network and for people: vendored scripts, tiles setting, gzip, error pages.

A town office on LGWAN reaches no CDN: every script and stylesheet a page links must be served by
the service. Browsers get error pages in their language; API clients keep the JSON errors.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service import crud
from service.config import Settings
from service.db import get_engine, migrate, session_factory
from service.main import create_app
from tests.service.pages_data import Seeded, route_with_a_stop, seed, small_scenario_toml

pytestmark = pytest.mark.xdist_group("pages")

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
# src/href of scripts and stylesheets (links in the text, such as the OSM credit, are not loaded).
_LOADED = re.compile(r"<(?:script[^>]*\ssrc|link[^>]*\shref)=\"([^\"]+)\"")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Seeded]:
    folder = tmp_path_factory.mktemp("delivery")
    url = f"sqlite:///{folder / 'gunmane.sqlite'}"
    migrate(url)
    session = session_factory(get_engine(url))()
    try:
        data = seed(session, small_scenario_toml(folder))
    finally:
        session.close()
    return url, data


def _unescaped(text: str) -> str:
    """The page with folium's JSON \\uXXXX escapes turned back into characters."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)


def _client(seeded: tuple[str, Seeded], **settings: object) -> TestClient:
    url, _ = seeded
    return TestClient(create_app(Settings(DATABASE_URL=url, **settings)))  # type: ignore[arg-type]


def _map_pages(data: Seeded) -> list[tuple[str, str]]:
    return [
        (f"/planner?scenario={data.scenario_id}", "planner"),
        (f"/plans/{data.plan_id}/map", "planner"),
        (f"/plans/{data.route_plan_id}/map", "planner"),
        (f"/contractor/routes/{data.route_id}", "contractor"),
    ]


def test_map_pages_load_only_from_the_service(seeded):
    """Every script and stylesheet of a map page is a /static path the service answers."""
    data = seeded[1]
    with _client(seeded) as client:
        for path, role in _map_pages(data):
            page = client.get(path, headers={"X-API-Key": data.keys[role]})
            assert page.status_code == 200, path
            loaded = _LOADED.findall(page.text)
            assert any(u.endswith("leaflet.js") for u in loaded), path
            for url in loaded:
                assert url.startswith("/static/vendor/"), f"{path} loads {url}"
                asset = client.get(url)
                assert asset.status_code == 200, url
                assert len(asset.content) > 1000
            # No CDN left anywhere in the page (the tile template is the only other host).
            for cdn in ("cdn.jsdelivr", "cdnjs", "code.jquery", "bootstrapcdn"):
                assert cdn not in page.text, f"{path} mentions {cdn}"
            assert "tile.openstreetmap.org" in page.text
        # The vendored files keep their licences.
        for lib in ("leaflet", "leaflet-draw"):
            assert client.get(f"/static/vendor/{lib}/LICENSE").status_code == 200


def test_tiles_are_a_setting(seeded):
    """TILE_URL points the maps at another server (GSI) with its credit, or turns tiles off."""
    data = seeded[1]
    gsi = "https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png"
    credit = '<a href="https://maps.gsi.go.jp/development/ichiran.html">地理院タイル</a>'
    path = f"/plans/{data.plan_id}/map"
    key = {"X-API-Key": data.keys["planner"]}
    with _client(seeded, TILE_URL=gsi, TILE_ATTRIBUTION=credit, TILE_MAX_ZOOM=18) as client:
        page = _unescaped(client.get(path, headers=key).text)
    assert gsi in page
    assert "地理院タイル" in page
    assert "tile.openstreetmap.org" not in page
    assert "OpenStreetMap contributors" in page  # the data's credit stays
    with _client(seeded, TILE_URL="off") as client:
        page = _unescaped(client.get(path, headers=key, params={"lang": "ja"}).text)
    assert "L.tileLayer" not in page
    assert "背景地図は表示していません" in page
    assert "OpenStreetMap contributors" in page
    assert "L.geoJson(" in page  # the layers are still drawn


def test_responses_are_gzipped(seeded):
    data = seeded[1]
    with _client(seeded) as client:
        page = client.get(
            f"/plans/{data.plan_id}/map",
            headers={"X-API-Key": data.keys["planner"], "Accept-Encoding": "gzip"},
        )
        assert page.headers["content-encoding"] == "gzip"
        script = client.get(
            "/static/vendor/leaflet/leaflet.js", headers={"Accept-Encoding": "gzip"}
        )
        assert script.headers["content-encoding"] == "gzip"
        assert script.num_bytes_downloaded < len(script.content) / 2


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("ja", "ログインが必要です"), ("en", "Please sign in")],
)
def test_browser_gets_an_error_page_api_client_json(seeded, lang, expected):
    data = seeded[1]
    with _client(seeded) as client:
        path = f"/planner?scenario={data.scenario_id}&lang={lang}"
        page = client.get(path, headers=HTML)
        assert page.status_code == 401
        assert page.headers["content-type"].startswith("text/html")
        assert expected in page.text
        assert 'action="/session"' in page.text
        back = f"/planner?scenario={data.scenario_id}&amp;lang={lang}"
        assert f'name="next" value="{back}"' in page.text
        api = client.get(path)
        assert api.status_code == 401
        assert api.json()["code"] == "unauthorized"


def test_error_pages_for_403_404_422(seeded):
    data = seeded[1]
    with _client(seeded) as client:
        contractor = {**HTML, "X-API-Key": data.keys["contractor"]}
        forbidden = client.get(f"/planner?scenario={data.scenario_id}&lang=en", headers=contractor)
        assert forbidden.status_code == 403
        assert "You may not open this page" in forbidden.text
        assert 'id="sign-in"' in forbidden.text
        planner = {**HTML, "X-API-Key": data.keys["planner"]}
        missing = client.get("/plans/999999/map?lang=ja", headers=planner)
        assert missing.status_code == 404
        assert "ページが見つかりません" in missing.text
        assert 'id="sign-in"' not in missing.text
        bad = client.get("/planner?scenario=abc&lang=ja", headers=planner)
        assert bad.status_code == 422
        assert "入力内容を確認してください" in bad.text
        assert "scenario" in bad.text  # the field at fault, under the folded details
        # A page script's fetch (Accept */*) keeps the JSON answer.
        assert (
            client.get("/plans/999999/map", headers={"X-API-Key": data.keys["planner"]}).json()[
                "code"
            ]
            == "not-found"
        )


def test_error_page_sign_in_returns_to_the_page(seeded):
    data = seeded[1]
    with _client(seeded) as client:
        target = f"/planner?scenario={data.scenario_id}"
        answer = client.post(
            "/session",
            data={"key": data.keys["planner"], "lang": "ja", "next": target},
            follow_redirects=False,
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == target
        # Never an open redirect to another site.
        away = client.post(
            "/session",
            data={"key": data.keys["planner"], "lang": "ja", "next": "//evil.example/x"},
            follow_redirects=False,
        )
        assert away.headers["location"] == "/?lang=ja"


def _max_age(set_cookie: str) -> int:
    found = re.search(r"max-age=(\d+)", set_cookie, re.IGNORECASE)
    assert found is not None, set_cookie
    return int(found.group(1))


def test_session_cookie_lasts_by_role_and_bad_keys_are_never_stored(seeded):
    data = seeded[1]
    with _client(seeded, SESSION_HOURS_STAFF=8) as client:
        crew = client.get(
            f"/contractor/routes/{data.route_id}?key={data.keys['contractor']}",
            headers=HTML,
            follow_redirects=False,
        )
        assert crew.status_code == 303
        assert _max_age(crew.headers["set-cookie"]) == 30 * 24 * 3600
        staff = client.get(
            f"/planner?scenario={data.scenario_id}&key={data.keys['planner']}",
            headers=HTML,
            follow_redirects=False,
        )
        assert _max_age(staff.headers["set-cookie"]) == 8 * 3600
        client.cookies.clear()
        wrong = client.get(
            f"/planner?scenario={data.scenario_id}&key=not-a-key",
            headers=HTML,
            follow_redirects=False,
        )
        assert wrong.status_code == 401
        assert "set-cookie" not in wrong.headers
        assert 'id="sign-in"' in wrong.text


def test_a_region_without_logs_is_not_all_overdue_on_its_first_day(seeded):
    """The contract starts when the plan was made: nothing is late before one interval ran."""
    data = seeded[1]
    with _client(seeded) as client:
        key = {"X-API-Key": data.keys["planner"]}
        for region_id in data.region_ids:
            answer = client.get(f"/api/v1/regions/{region_id}/patrol-coverage", headers=key)
            assert answer.status_code == 200, answer.text
            coverage = answer.json()
            assert coverage["assets"] > 0
            assert coverage["overdue"] == 0
            assert coverage["since"] <= coverage["as_of"]
        page = client.get(f"/regions/{data.region_ids[0]}/patrol-logs?lang=ja", headers=key)
        assert "期間:" in page.text


def test_compare_shows_a_routes_plan_and_names_what_it_cannot_compare(seeded):
    data = seeded[1]
    with _client(seeded) as client:
        key = {"X-API-Key": data.keys["planner"]}
        page = client.get(
            f"/compare?plans={data.plan_id},{data.route_plan_id}&lang=en", headers=key
        )
        assert page.status_code == 200
        header = page.text.split("<thead>", 1)[1].split("</thead>", 1)[0]
        assert header.count("<th>") == 3  # the figure column and both plans
        assert "Routed day: patrol hours" in page.text
        assert 'id="skipped"' not in page.text
        other = client.get(f"/compare?plans={data.plan_id}&lang=en", headers=key).text
        assert "Routed day" not in other


def test_each_roles_start_page_links_what_it_may_open(seeded):
    data = seeded[1]
    with _client(seeded) as client:
        gis = client.get(f"/?lang=ja&key={data.keys['gis']}").text
        assert f"/plans/{data.plan_id}/map" in gis
        assert f"/regions/{data.region_ids[0]}/patrol-logs" in gis
        assert "/planner?" not in gis  # not the planner's tools
        assert "/compare?" not in gis
        for link in (f"/plans/{data.plan_id}/map", f"/regions/{data.region_ids[0]}/patrol-logs"):
            assert client.get(link, headers={"X-API-Key": data.keys["gis"]}).status_code == 200
        planner = client.get(f"/?lang=ja&key={data.keys['planner']}").text
        assert "/planner?" in planner
        assert "/compare?" in planner
        assert "区域割り" in planner  # plan kinds in the page's language, not "regions 5"
        assert "/report" not in planner  # no effect estimate yet: no report link
        assert "/planner/calendar" not in planner


def test_the_start_page_links_the_report_and_the_month_once_they_exist(seeded):
    url, data = seeded
    session = session_factory(get_engine(url))()
    try:
        for kind in ("effects", "calendar"):
            crud.create_plan(session=session, scenario_id=data.scenario_id, kind=kind)
        session.commit()
        with _client(seeded) as client:
            planner = client.get(f"/?lang=ja&key={data.keys['planner']}").text
            assert f"/scenarios/{data.scenario_id}/report" in planner
            assert "実施方針" in planner
            assert f"/planner/calendar?region_id={data.region_ids[0]}" in planner
            gis = client.get(f"/?lang=ja&key={data.keys['gis']}").text
            assert "/report" not in gis  # the planner's documents only
            assert "/planner/calendar" not in gis
    finally:
        for kind in ("effects", "calendar"):
            for plan in crud.list_plans(session=session, scenario_id=data.scenario_id, kind=kind):
                session.delete(plan)
        session.commit()
        session.close()


def test_a_stop_ticked_done_by_hand_is_stored_with_the_patrol_logs(seeded):
    """A crew ticks a park done with a note: stored as the route's patrol log, its asset
    visited, shown on the route page; a street is not a stop; the GIS key may not tick."""
    data = seeded[1]
    crew = {"X-API-Key": data.keys["contractor"]}
    planner = {"X-API-Key": data.keys["planner"]}
    with _client(seeded) as client:
        region = data.region_ids[0]
        before = client.get(f"/api/v1/regions/{region}/patrol-coverage", headers=planner).json()
        asset = before["items"][0]["asset_id"]
        assert before["items"][0]["visits"] == 0
        route_id, task_id = route_with_a_stop(*seeded, asset)
        url = f"/api/v1/routes/{route_id}/stop-checks"
        street = next(t for t in data.route.traversals if t.kind == "serve")
        wrong = client.post(url, data={"task_id": street.task_id}, headers=crew)
        assert wrong.status_code == 422
        assert "no stop" in wrong.json()["detail"]
        gis = client.post(url, data={"task_id": task_id}, headers={"X-API-Key": data.keys["gis"]})
        assert gis.status_code in (403, 404)
        page = client.get(f"/contractor/routes/{route_id}?lang=ja", headers=crew).text
        assert 'class="tick-open"' in page
        done = client.post(url, data={"task_id": task_id, "note": "遊具の破損なし"}, headers=crew)
        assert done.status_code == 201, done.text
        record = done.json()
        assert record["by_hand"] is True
        (task,) = record["report"]["tasks"]
        assert task["covered"]
        assert task["note"] == "遊具の破損なし"
        page = client.get(f"/contractor/routes/{route_id}?lang=ja", headers=crew).text
        assert "遊具の破損なし" in page
        assert 'class="tick-open"' not in page
        assert "手動チェック" in page  # listed with the route's patrol logs
        after = client.get(f"/api/v1/regions/{region}/patrol-coverage", headers=planner).json()
        visits = {i["asset_id"]: i["visits"] for i in after["items"]}
        assert visits[asset] == 1


def _image(fmt: str) -> bytes:
    """A real 16 x 12 photo in ``fmt``."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 12), (40, 120, 200)).save(buf, format=fmt)
    return buf.getvalue()


def test_a_stop_ticked_with_a_photo_serves_it_back_byte_identical(seeded):
    """A crew ticks a stop with a JPEG: the photo is stored with the patrol log and served back
    as uploaded (image/jpeg) to whoever may read the route's logs, linked as a thumbnail on the
    crew's page and the region page; a text file and an over-size photo are refused with a clear
    message in the crew's language, and nothing is stored for them."""
    url, data = seeded
    crew = {"X-API-Key": data.keys["contractor"]}
    planner = {"X-API-Key": data.keys["planner"]}
    with _client(seeded, MAX_PHOTO_MB=0.01) as client:
        route_id, task_id = route_with_a_stop(url, data, "LI-7007-R0001")
        post = f"/api/v1/routes/{route_id}/stop-checks"
        logs = f"/api/v1/regions/{data.region_ids[0]}/patrol-logs"
        before = client.get(logs, headers=planner).json()["count"]
        text = client.post(
            f"{post}?lang=ja",
            data={"task_id": task_id},
            files={"photo": ("memo.jpg", b"not a photo, a note", "image/jpeg")},
            headers=crew,
        )
        assert text.status_code == 422
        assert text.json()["code"] == "not-an-image"
        assert text.json()["detail"].startswith("memo.jpg: 写真として読めません")
        english = client.post(
            f"{post}?lang=en",
            data={"task_id": task_id},
            files={"photo": ("memo.txt", b"plain text", "text/plain")},
            headers=crew,
        )
        assert english.json()["detail"] == "memo.txt: not a photo; choose a JPEG, PNG or HEIC image"
        big = _image("PNG") + bytes(20_000)  # a PNG header, but above the 0.01 MB setting
        large = client.post(
            post, data={"task_id": task_id}, files={"photo": ("big.png", big)}, headers=crew
        )
        assert large.status_code == 413
        assert large.json()["code"] == "photo-too-large"
        assert "0.01 MB" in large.json()["detail"]
        assert client.get(logs, headers=planner).json()["count"] == before  # nothing stored
        form = client.get(f"/contractor/routes/{route_id}?lang=ja", headers=crew).text
        assert '<input type="file" name="photo" accept="image/*" capture="environment">' in form
        jpeg = _image("JPEG")
        done = client.post(
            post,
            data={"task_id": task_id, "note": "ベンチ破損"},
            files={"photo": ("IMG_0001.JPG", jpeg, "application/octet-stream")},
            headers=crew,
        )
        assert done.status_code == 201, done.text
        record = done.json()
        photo = record["photo_url"]
        assert photo == f"/api/v1/routes/{route_id}/stop-checks/{record['id']}/photo"
        assert record["photo_preview_url"] == f"{photo}/preview"
        for key in (crew, planner, {"X-API-Key": data.keys["gis"]}):
            back = client.get(photo, headers=key)
            assert back.status_code == 200
            assert back.headers["content-type"] == "image/jpeg"
            assert back.content == jpeg
        # Another region's crew may not read this route, nor its photos.
        other = client.get(
            photo.replace(f"/routes/{route_id}/", f"/routes/{data.other_route_id}/"), headers=crew
        )
        assert other.status_code == 404
        page = client.get(f"/contractor/routes/{route_id}?lang=ja", headers=crew).text
        assert f'<a class="thumb" href="{photo}"' in page
        region = client.get(f"/regions/{data.region_ids[0]}/patrol-logs?lang=ja", headers=planner)
        assert f'<img src="{photo}/preview"' in region.text
        assert "手動チェック" in region.text
        # The log's own page: the photo, the note, the stop by name and asset id (no task id).
        log = client.get(f"/patrol-logs/{record['id']}?lang=ja", headers=planner).text
        assert f'<img src="{photo}/preview"' in log
        assert "Rathauspark · ベンチ破損" in log
        assert "<td>LI-7007-R0001</td>" in log
        assert "n:park#0" not in log
        assert "手動チェック (2026-04-01)" in log
        # A tick without a photo has none to serve.
        png = client.post(post, data={"task_id": task_id}, headers=crew).json()
        assert png["photo_url"] is None
        missing = client.get(
            f"/api/v1/routes/{route_id}/stop-checks/{png['id']}/photo", headers=crew
        )
        assert missing.status_code == 404


def _stored(record: dict[str, Any]) -> dict[str, Any]:
    """A stored stop check without what differs between two ticks (its id and the clock)."""
    out = {k: v for k, v in record.items() if k not in ("id", "created_at", "photo_url")}
    out["summary"] = {k: v for k, v in record["summary"].items() if k not in ("start", "end")}
    report = record["report"]
    out["report"] = {
        "tasks": [{k: v for k, v in task.items() if k != "time"} for task in report["tasks"]],
        "asset_visits": sorted(report["asset_visits"]),
    }
    return out


def test_a_stop_check_posted_as_json_is_stored_like_the_crews_form(seeded):
    """A town's script posts {"task_id", "note"} as JSON: 201 and the same patrol log as the
    crew's multipart form (route, region, stop, note, assets visited), read back alike; the
    OpenAPI description offers both bodies."""
    url, data = seeded
    crew = {"X-API-Key": data.keys["contractor"]}
    with _client(seeded) as client:
        route_id, task_id = route_with_a_stop(url, data, "LI-7007-R0001")
        post = f"/api/v1/routes/{route_id}/stop-checks"
        by_json = client.post(post, json={"task_id": task_id, "note": " 柵の破損 "}, headers=crew)
        assert by_json.status_code == 201, by_json.text
        # The page's form: multipart with an empty file field (no photo taken).
        by_form = client.post(
            post,
            data={"task_id": task_id, "note": " 柵の破損 "},
            files={"photo": ("", b"", "application/octet-stream")},
            headers=crew,
        )
        assert by_form.status_code == 201, by_form.text
        assert by_form.request.headers["content-type"].startswith("multipart/form-data")
        first, second = by_json.json(), by_form.json()
        assert first["id"] != second["id"]
        assert first["by_hand"] is True
        assert first["report"]["tasks"][0]["note"] == "柵の破損"
        assert first["report"]["asset_visits"] == {"LI-7007-R0001": first["summary"]["start"]}
        assert first["photo_url"] is None
        assert _stored(first) == _stored(second)
        for record in (first, second):
            back = client.get(f"/api/v1/patrol-logs/{record['id']}", headers=crew).json()
            assert _stored(back) == _stored(first)
        # A note may be left out or null in JSON.
        bare = client.post(post, json={"task_id": task_id, "note": None}, headers=crew)
        assert bare.status_code == 201
        assert bare.json()["report"]["tasks"][0]["note"] == ""
        bodies = client.get("/openapi.json").json()["paths"][
            "/api/v1/routes/{route_id}/stop-checks"
        ]["post"]["requestBody"]["content"]
        assert set(bodies["application/json"]["schema"]["properties"]) == {"task_id", "note"}
        assert set(bodies["multipart/form-data"]["schema"]["properties"]) == {
            "task_id",
            "note",
            "photo",
        }


def test_a_bad_json_stop_check_names_each_field_and_stores_nothing(seeded):
    """JSON without task_id: 422 naming the field (ja and en); a wrong type, an unknown key
    and a long note all at once; broken JSON and other content types are refused clearly."""
    url, data = seeded
    crew = {"X-API-Key": data.keys["contractor"]}
    planner = {"X-API-Key": data.keys["planner"]}
    logs = f"/api/v1/regions/{data.region_ids[0]}/patrol-logs"
    with _client(seeded) as client:
        route_id, task_id = route_with_a_stop(url, data, "LI-7007-R0001")
        post = f"/api/v1/routes/{route_id}/stop-checks"
        before = client.get(logs, headers=planner).json()["count"]
        missing = client.post(f"{post}?lang=en", json={"note": "ok"}, headers=crew)
        assert missing.status_code == 422
        assert missing.json()["code"] == "invalid-request"
        assert missing.json()["detail"] == "task_id: required"
        assert missing.json()["details"] == [
            {"location": ["body", "task_id"], "message": "task_id: required"}
        ]
        ja = client.post(post, json={"note": "ok"}, headers=crew)
        assert ja.json()["detail"] == "task_id: 必須です"
        several = client.post(
            f"{post}?lang=en",
            json={"task_id": 7, "note": "x" * 1001, "photo": "aGVsbG8="},
            headers=crew,
        )
        assert several.status_code == 422
        messages = [d["message"] for d in several.json()["details"]]
        assert sorted(messages) == [
            "note: at most 1000 characters",
            "photo: unknown field (only task_id and note;"
            " a photo needs a multipart/form-data body)",
            "task_id: must be a string",
        ]
        # The form is held to the same rules, in the same words.
        form = client.post(f"{post}?lang=en", data={"note": "x" * 1001}, headers=crew)
        assert form.status_code == 422
        assert form.json()["detail"] == "task_id: required; note: at most 1000 characters"
        wrong_stop = client.post(post, json={"task_id": "n:nowhere"}, headers=crew)
        assert wrong_stop.status_code == 422
        assert wrong_stop.json()["code"] == "invalid-stop"
        broken = client.post(
            f"{post}?lang=en",
            content=b'{"task_id": ',
            headers={**crew, "Content-Type": "application/json"},
        )
        assert broken.status_code == 422
        assert broken.json()["code"] == "invalid-json"
        assert broken.json()["detail"].startswith("the body is not valid JSON")
        array = client.post(f"{post}?lang=en", json=[task_id], headers=crew)
        assert array.json()["detail"].startswith("the body must be a JSON object")
        text = client.post(
            f"{post}?lang=en",
            content=f"task_id={task_id}".encode(),
            headers={**crew, "Content-Type": "text/plain; charset=utf-8"},
        )
        assert text.status_code == 415
        assert text.json() == {
            "code": "unsupported-media-type",
            "detail": "Content-Type text/plain is not supported;"
            " send application/json or multipart/form-data",
        }
        bare = client.post(post, content=b"", headers=crew)
        assert bare.status_code == 415
        assert "(none)" in bare.json()["detail"]
        assert "application/json" in bare.json()["detail"]
        assert client.get(logs, headers=planner).json()["count"] == before  # nothing stored


def _heic(size: tuple[int, int]) -> bytes:
    """A real HEIC photo, as an iPhone uploads it (encoded with pillow-heif)."""
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    Image.new("RGB", size, (40, 120, 200)).save(buf, format="HEIF", quality=85)
    return buf.getvalue()


def test_a_heic_photo_is_kept_as_uploaded_and_shown_by_a_jpeg_preview(seeded):
    """An iPhone's HEIC: the original served byte for byte as image/heic, a JPEG preview of at
    most 1,024 px that the pages' thumbnails show; a HEIC that cannot be decoded is still kept
    and served, its preview is a clear 422, and the pages fall back to a text link."""
    from PIL import Image

    url, data = seeded
    crew = {"X-API-Key": data.keys["contractor"]}
    planner = {"X-API-Key": data.keys["planner"]}
    with _client(seeded) as client:
        route_id, task_id = route_with_a_stop(url, data, "LI-7007-R0001")
        post = f"/api/v1/routes/{route_id}/stop-checks"
        heic = _heic((1600, 1200))
        done = client.post(
            post,
            data={"task_id": task_id},
            files={"photo": ("IMG_0002.HEIC", heic, "image/heic")},
            headers=crew,
        )
        assert done.status_code == 201, done.text
        photo, preview = done.json()["photo_url"], done.json()["photo_preview_url"]
        original = client.get(photo, headers=planner)
        assert original.headers["content-type"] == "image/heic"
        assert original.content == heic
        small = client.get(preview, headers=planner)
        assert small.status_code == 200
        assert small.headers["content-type"] == "image/jpeg"
        assert 'filename="stop-check-' in small.headers["content-disposition"]
        image = Image.open(io.BytesIO(small.content))
        assert image.format == "JPEG"
        assert image.size == (1024, 768)
        assert client.get(preview, headers=crew).content == small.content  # the cached one
        page = client.get(f"/contractor/routes/{route_id}?lang=ja", headers=crew).text
        assert f'<a class="thumb" href="{photo}" target="_blank"><img src="{preview}"' in page
        assert 'data-fallback="写真（元のファイル）"' in page
        # The preview is read like the photo: not by another region's crew.
        other = preview.replace(f"/routes/{route_id}/", f"/routes/{data.other_route_id}/")
        assert client.get(other, headers=crew).status_code == 404

        torn = heic[:400]
        kept = client.post(
            post, data={"task_id": task_id}, files={"photo": ("IMG_0003.HEIC", torn)}, headers=crew
        )
        assert kept.status_code == 201, kept.text
        assert client.get(kept.json()["photo_url"], headers=crew).content == torn
        refused = client.get(f"{kept.json()['photo_preview_url']}?lang=en", headers=crew)
        assert refused.status_code == 422
        assert refused.json() == {
            "code": "photo-not-decodable",
            "detail": "no preview can be made of this photo (HEIC); open the original file",
        }
        ja = client.get(kept.json()["photo_preview_url"], headers=crew).json()["detail"]
        assert ja.startswith("この写真（HEIC）はプレビューを作れません")
        region = client.get(f"/regions/{data.region_ids[0]}/patrol-logs?lang=en", headers=planner)
        assert f'<img src="{kept.json()["photo_preview_url"]}"' in region.text
        assert 'onerror="this.replaceWith(this.dataset.fallback)"' in region.text
        assert 'data-fallback="Photo (original file)"' in region.text
