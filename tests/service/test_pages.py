"""Pages, map endpoints and patrol logs through the app (TestClient) on a seeded SQLite database."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import gpxpy
import gpxpy.gpx
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import LineString

from service import crud
from service.browser_keys import RedactKeys
from service.config import Settings
from service.db import get_engine, migrate, session_factory
from service.main import create_app
from tests.service.pages_data import (
    T0,
    Seeded,
    route_with_a_stop,
    seed,
    small_scenario_toml,
    track_along,
)

# One worker runs the module: its seeded database is built once.
pytestmark = pytest.mark.xdist_group("pages")


@pytest.fixture(scope="module")
def seeded_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Seeded]]:
    folder = tmp_path_factory.mktemp("pages")
    url = f"sqlite:///{folder / 'gunmane.sqlite'}"
    migrate(url)
    session = session_factory(get_engine(url))()
    try:
        data = seed(session, small_scenario_toml(folder))
    finally:
        session.close()
    app = create_app(Settings(DATABASE_URL=url, DATA_DIR=folder / "data"))
    with TestClient(app) as client:
        yield client, data


def test_index_lists_scenarios_for_planners(seeded_app):
    client, data = seeded_app
    page = client.get("/", params={"key": data.keys["planner"], "lang": "en"})
    assert page.status_code == 200
    assert f"/planner?scenario={data.scenario_id}" in page.text
    assert f"/plans/{data.plan_id}/map" in page.text
    anonymous = client.get("/")
    assert anonymous.status_code == 200
    assert "/planner?" not in anonymous.text


HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def _browser(seeded_app: tuple[TestClient, Seeded]) -> TestClient:
    """A client with an empty cookie jar on the seeded app (the module's client stays keyless)."""
    return TestClient(seeded_app[0].app)


def test_key_link_becomes_a_session_cookie(seeded_app):
    """A browser opening a `?key=` link gets the key as a cookie and the URL without it."""
    browser, data = _browser(seeded_app), seeded_app[1]
    key = data.keys["planner"]
    link = f"/planner?scenario={data.scenario_id}&key={key}&lang=en"
    first = browser.get(link, headers=HTML, follow_redirects=False)
    assert first.status_code == 303
    location = first.headers["location"]
    assert location == f"http://testserver/planner?scenario={data.scenario_id}&lang=en"
    assert first.headers["cache-control"] == "no-store"
    cookie = first.headers["set-cookie"].lower()
    assert cookie.startswith(f"gunmane_key={key}".lower())
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/" in cookie
    page = browser.get(location, headers=HTML)
    assert page.status_code == 200
    assert key not in page.text
    # The cookie alone now opens other pages and reads the API, in either language.
    assert browser.get(f"/plans/{data.plan_id}/map?lang=ja", headers=HTML).status_code == 200
    assert browser.get("/api/v1/scenarios").status_code == 200
    index = browser.get("/", params={"lang": "en"}, headers=HTML)
    assert f"/planner?scenario={data.scenario_id}" in index.text
    assert 'class="sign-out"' in index.text
    # Non-browser clients keep `?key=` without a redirect (download links, scripts).
    gpx = browser.get(f"/api/v1/routes/{data.route_id}/gpx", params={"key": key})
    assert gpx.status_code == 200


def test_cookie_writes_need_the_pages_header(seeded_app):
    """With the cookie alone a write is refused unless the page's own header is present (CSRF)."""
    browser, data = _browser(seeded_app), seeded_app[1]
    browser.get("/", params={"key": data.keys["planner"]}, headers=HTML)
    body = {"scenario": data.scenario_id, "towns": {"LI-7007": 1, "LI-7009": 2, "LI-7011": 2}}
    forged = browser.post("/api/v1/plans/evaluate", json=body)
    assert forged.status_code == 403
    assert "X-Requested-With" in forged.json()["detail"]
    own = browser.post("/api/v1/plans/evaluate", json=body, headers={"X-Requested-With": "gunmane"})
    assert own.status_code == 200, own.text
    assert own.json()["figures"]["n_regions"] == 2


def test_sign_in_form_and_sign_out(seeded_app):
    """The start page's form checks the key; a wrong one says so; sign-out forgets the cookie."""
    browser, data = _browser(seeded_app), seeded_app[1]
    wrong = browser.post("/session", data={"key": "gm_wrong", "lang": "en"})
    assert wrong.status_code == 200
    assert "The API key is not valid" in wrong.text
    assert "gunmane_key" not in browser.cookies
    signed = browser.post("/session", data={"key": data.keys["contractor"], "lang": "en"})
    assert f"/contractor/routes/{data.route_id}?" in signed.text
    assert browser.cookies["gunmane_key"] == data.keys["contractor"]
    out = browser.get("/logout", params={"lang": "en"})
    assert 'id="sign-in"' in out.text
    assert "gunmane_key" not in browser.cookies
    assert browser.get(f"/contractor/routes/{data.route_id}").status_code == 401


def test_stale_cookie_shows_the_sign_in_form(seeded_app):
    """A cookie with a revoked or unknown key does not lock the start page."""
    browser = _browser(seeded_app)
    browser.cookies.set("gunmane_key", "gm_revoked")
    page = browser.get("/", headers=HTML)
    assert page.status_code == 200
    assert 'id="sign-in"' in page.text


def test_keys_in_query_strings_are_masked_in_the_access_log(seeded_app):
    """uvicorn's access log line for a `?key=` download shows *** instead of the key."""
    access = logging.getLogger("uvicorn.access")
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/api/v1/routes/7/gpx?lang=ja&key=gm_secret&x=1", "1.1", 200),
        None,
    )
    assert any(isinstance(f, RedactKeys) for f in access.filters)  # installed by create_app
    assert access.filter(record)
    line = record.getMessage()
    assert "gm_secret" not in line
    assert "/api/v1/routes/7/gpx?lang=ja&key=***&x=1" in line


def test_index_lists_a_contractors_own_routes(seeded_app):
    client, data = seeded_app
    page = client.get("/", params={"key": data.keys["contractor"]})
    assert f"/contractor/routes/{data.route_id}?" in page.text
    assert f"/contractor/routes/{data.other_route_id}?" not in page.text


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_plan_map_page(seeded_app, lang):
    """The stored plan's regions, depots and asset fields are on the map, in the language."""
    client, data = seeded_app
    page = client.get(f"/plans/{data.plan_id}/map", params={"key": data.keys["gis"], "lang": lang})
    assert page.status_code == 200
    html = page.text
    assert f'<html lang="{lang}">' in html
    legend = html[html.index('id="legend"') :]
    assert ("区域 1" if lang == "ja" else "Region 1") in legend
    assert ("道路" if lang == "ja" else "Road") in legend
    assert "© OpenStreetMap contributors" in html
    api = client.get(
        f"/api/v1/plans/{data.plan_id}/map", headers={"X-API-Key": data.keys["planner"]}
    )
    assert api.status_code == 200
    assert api.headers["content-type"].startswith("text/html")


def test_pages_need_a_key_and_the_right_role(seeded_app):
    client, data = seeded_app
    assert client.get(f"/plans/{data.plan_id}/map").status_code == 401
    planner = client.get("/planner", params={"scenario": data.scenario_id, "key": data.keys["gis"]})
    assert planner.status_code == 403
    contractor_map = client.get(
        f"/plans/{data.plan_id}/map", params={"key": data.keys["contractor"]}
    )
    assert contractor_map.status_code == 403


def test_contractor_route_page_and_downloads(seeded_app):
    """The contractor reads its route (steps, GPX track + waypoints, KML), not another region's."""
    client, data = seeded_app
    key = data.keys["contractor"]
    page = client.get(f"/contractor/routes/{data.route_id}", params={"key": key, "lang": "en"})
    assert page.status_code == 200
    rows = re.findall(r'<tr class="(serve|deadhead)">', page.text)
    assert "serve" in rows
    assert "deadhead" in rows
    assert f'href="/api/v1/routes/{data.route_id}/gpx?lang=en"' in page.text
    assert key not in page.text  # links rely on the session cookie, never carry the key
    gpx_text = client.get(f"/api/v1/routes/{data.route_id}/gpx", params={"key": key})
    assert gpx_text.status_code == 200
    gpx = gpxpy.parse(gpx_text.text)
    assert len(gpx.tracks) == 1
    assert not gpx.routes  # a track: apps follow it instead of re-routing
    assert len(gpx.tracks[0].segments[0].points) == len(data.route.geometry.coords)
    assert len(gpx.waypoints) == len(data.route.waypoints())
    kml = client.get(f"/api/v1/routes/{data.route_id}/kml", headers={"X-API-Key": key})
    assert "<LineString>" in kml.text
    other = client.get(f"/contractor/routes/{data.other_route_id}", params={"key": key})
    assert other.status_code == 404
    assert (
        client.get(f"/api/v1/routes/{data.other_route_id}/gpx", params={"key": key}).status_code
        == 404
    )


def test_planner_page_and_evaluation(seeded_app):
    """The planner page renders the towns; evaluating towns per region returns the figures."""
    client, data = seeded_app
    key = data.keys["planner"]
    page = client.get("/planner", params={"scenario": data.scenario_id, "key": key, "lang": "en"})
    assert page.status_code == 200
    assert '"code": "LI-7009"' in page.text
    assert "new L.Control.Draw(" in page.text
    body = {
        "scenario": data.scenario_id,
        "towns": {"LI-7007": 1, "LI-7009": 2, "LI-7011": 2},
        "compare_plan": data.plan_id,
    }
    answer = client.post("/api/v1/plans/evaluate", json=body, headers={"X-API-Key": key})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["figures"]["n_regions"] == 2
    assert result["figures"]["unassigned"] == 0
    assert result["figures"]["balance"] >= 1.0
    assert {r["region"] for r in result["regions"]} == {"1", "2"}
    # The stored plan puts the first town alone too: the same split, the same figures.
    assert result["optimized"]["balance"] == pytest.approx(result["figures"]["balance"])
    # Town codes give the same numbers as the polygons of those towns.
    one_town = {"scenario": data.scenario_id, "towns": {"LI-7007": 1}}
    partial = client.post("/api/v1/plans/evaluate", json=one_town, headers={"X-API-Key": key})
    assert partial.json()["figures"]["unassigned"] > 0


def test_evaluation_of_drawn_polygons_and_bad_plans(seeded_app):
    client, data = seeded_app
    key = {"X-API-Key": data.keys["planner"]}
    square = {
        "type": "Polygon",
        "coordinates": [
            [[9.49, 47.19], [9.60, 47.19], [9.60, 47.28], [9.49, 47.28], [9.49, 47.19]]
        ],
    }
    polygons = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {"region": 1}, "geometry": square}],
    }
    answer = client.post(
        "/api/v1/plans/evaluate",
        json={"scenario": data.scenario_id, "polygons": polygons},
        headers=key,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["plan_kind"] == "polygons"
    assert answer.json()["figures"]["n_regions"] == 1
    line = {
        "type": "Feature",
        "properties": {"region": 1},
        "geometry": {"type": "LineString", "coordinates": [[9.5, 47.2], [9.6, 47.2]]},
    }
    bad = client.post(
        "/api/v1/plans/evaluate",
        json={
            "scenario": data.scenario_id,
            "polygons": {"type": "FeatureCollection", "features": [line]},
        },
        headers=key,
    )
    assert bad.status_code == 422
    assert "feature 1" in bad.json()["detail"]
    empty = client.post("/api/v1/plans/evaluate", json={"scenario": data.scenario_id}, headers=key)
    assert empty.status_code == 422
    gis = client.post(
        "/api/v1/plans/evaluate",
        json={"scenario": data.scenario_id, "towns": {"LI-7007": 1}},
        headers={"X-API-Key": data.keys["gis"]},
    )
    assert gis.status_code == 403


def test_patrol_log_upload_and_records(seeded_app):
    """A GPX along the planned route covers its tasks; towns read the record and the coverage."""
    client, data = seeded_app
    key = {"X-API-Key": data.keys["contractor"]}
    gpx = track_along(data.route.geometry)
    upload = client.post(
        f"/api/v1/routes/{data.route_id}/patrol-logs",
        files={"file": ("day1.gpx", gpx, "application/gpx+xml")},
        headers=key,
    )
    assert upload.status_code == 201, upload.text
    record = upload.json()
    assert upload.headers["Location"] == f"/api/v1/patrol-logs/{record['id']}"
    assert record["summary"]["coverage_pct"] >= 90.0
    assert record["summary"]["start"] == T0.isoformat()
    tasks = record["report"]["tasks"]
    assert tasks
    assert all(t["time"] is not None for t in tasks if t["covered"])
    # Towns read the time-stamped record and the coverage against the contract intervals.
    planner = {"X-API-Key": data.keys["planner"]}
    listed = client.get(f"/api/v1/regions/{data.region_ids[0]}/patrol-logs", headers=planner)
    assert listed.json()["count"] == 1
    got = client.get(f"/api/v1/patrol-logs/{record['id']}", headers={"X-API-Key": data.keys["gis"]})
    assert got.status_code == 200
    assert got.json()["report"]["covered_tasks"] == record["report"]["covered_tasks"]
    kept = client.get(f"/api/v1/patrol-logs/{record['id']}/gpx", headers=planner)
    assert kept.text == gpx
    coverage = client.get(
        f"/api/v1/regions/{data.region_ids[0]}/patrol-coverage",
        params={"as_of": "2026-04-02T00:00:00+00:00", "since": "2026-04-01T00:00:00+00:00"},
        headers=planner,
    ).json()
    visited = {i["asset_id"] for i in coverage["items"] if i["visits"]}
    assert visited
    assert visited <= set(data.route.asset_ids)
    assert coverage["overdue"] == 0  # one day into the contract nothing is late yet


def test_patrol_log_errors(seeded_app):
    client, data = seeded_app
    key = {"X-API-Key": data.keys["contractor"]}
    garbage = client.post(
        f"/api/v1/routes/{data.route_id}/patrol-logs",
        files={"file": ("broken.gpx", b"<html>not gpx</html>", "application/gpx+xml")},
        headers=key,
    )
    assert garbage.status_code == 422
    assert "broken.gpx: not a GPX file" in garbage.json()["detail"]
    other = client.post(
        f"/api/v1/routes/{data.other_route_id}/patrol-logs",
        files={"file": ("day1.gpx", track_along(data.route.geometry), "application/gpx+xml")},
        headers=key,
    )
    assert other.status_code == 404
    gis = client.post(
        f"/api/v1/routes/{data.route_id}/patrol-logs",
        files={"file": ("day1.gpx", track_along(data.route.geometry), "application/gpx+xml")},
        headers={"X-API-Key": data.keys["gis"]},
    )
    assert gis.status_code == 403


# One xdist worker for every test on the shared PostGIS database (they truncate its tables).
@pytest.mark.xdist_group("postgis")
def test_pages_and_patrol_logs_on_each_database(db_url, tmp_path):
    """The map, evaluation, route downloads and a patrol log on SQLite and on PostGIS."""
    session = session_factory(get_engine(db_url))()
    try:
        data = seed(session, small_scenario_toml(tmp_path))
    finally:
        session.close()
    app = create_app(Settings(DATABASE_URL=db_url, DATA_DIR=tmp_path / "data"))
    with TestClient(app) as client:
        planner = {"X-API-Key": data.keys["planner"]}
        assert client.get(f"/plans/{data.plan_id}/map", headers=planner).status_code == 200
        towns = {"LI-7007": 1, "LI-7009": 2, "LI-7011": 2}
        answer = client.post(
            "/api/v1/plans/evaluate",
            json={"scenario": data.scenario_id, "towns": towns, "compare_plan": data.plan_id},
            headers=planner,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["optimized"]["n_regions"] == 2
        crew = {"X-API-Key": data.keys["contractor"]}
        gpx = client.get(f"/api/v1/routes/{data.route_id}/gpx", headers=crew)
        assert len(gpxpy.parse(gpx.text).tracks[0].segments[0].points) > 2
        upload = client.post(
            f"/api/v1/routes/{data.route_id}/patrol-logs",
            files={"file": ("day1.gpx", track_along(data.route.geometry), "application/gpx+xml")},
            headers=crew,
        )
        assert upload.status_code == 201, upload.text
        assert upload.json()["summary"]["coverage_pct"] >= 90.0
        # A stop ticked by hand with a photo: the bytes come back as stored, on either database.
        from PIL import Image

        buf = io.BytesIO()
        Image.new("RGB", (9, 7), (200, 30, 30)).save(buf, format="PNG")
        route_id, task_id = route_with_a_stop(db_url, data, "LI-7007-P0001")
        tick = client.post(
            f"/api/v1/routes/{route_id}/stop-checks",
            data={"task_id": task_id, "note": "写真あり"},
            files={"photo": ("stop.png", buf.getvalue(), "image/png")},
            headers=crew,
        )
        assert tick.status_code == 201, tick.text
        photo = client.get(tick.json()["photo_url"], headers=planner)
        assert photo.headers["content-type"] == "image/png"
        assert photo.content == buf.getvalue()


def test_route_page_lists_stored_patrol_logs(seeded_app):
    """After an upload the route page shows the record with its coverage and the upload form."""
    client, data = seeded_app
    key = data.keys["contractor"]
    upload = client.post(
        f"/api/v1/routes/{data.route_id}/patrol-logs",
        files={"file": ("listed.gpx", track_along(data.route.geometry), "application/gpx+xml")},
        headers={"X-API-Key": key},
    )
    assert upload.status_code == 201
    page = client.get(f"/contractor/routes/{data.route_id}", params={"key": key}).text
    assert 'id="patrol-upload"' in page
    table = page[page.index('id="patrol-logs"') :]
    assert "listed.gpx" in table
    assert f"{upload.json()['summary']['coverage_pct']:.1f}" in table


def test_optimized_figures_carry_a_stored_effect_estimate(seeded_app):
    """An effects plan made for the regions plan adds its saving to the optimized figures."""
    client, data = seeded_app
    session = client.app.state.session_factory()
    try:
        crud.create_plan(
            session=session,
            scenario_id=data.scenario_id,
            kind="effects",
            parameters={"regions_plan_id": data.plan_id},
            summary={"effect_vs_siloed_pct": 12.5},
        )
        session.commit()
    finally:
        session.close()
    body = {"scenario": data.scenario_id, "towns": {"LI-7007": 1}, "compare_plan": data.plan_id}
    answer = client.post(
        "/api/v1/plans/evaluate", json=body, headers={"X-API-Key": data.keys["planner"]}
    )
    assert answer.json()["optimized"]["effect_vs_siloed_pct"] == 12.5
    assert "effect_vs_siloed_pct" not in answer.json()["figures"]


def test_plans_compared_side_by_side(seeded_app):
    """The start page links the comparison; it shows each regions plan's figures in a column."""
    client, data = seeded_app
    key = data.keys["planner"]
    index = client.get("/", params={"key": key, "lang": "en"}).text
    assert f"/compare?plans={data.plan_id}" in index
    page = client.get("/compare", params={"plans": f"{data.plan_id}", "key": key, "lang": "en"})
    assert page.status_code == 200
    table = page.text[page.text.index('id="comparison"') :]
    assert "optimized k=2" in table
    assert "Workload balance (max / min)" in table
    bad = client.get("/compare", params={"plans": "1,x", "key": key})
    assert bad.status_code == 422
    assert client.get("/compare", params={"plans": "1", "key": data.keys["gis"]}).status_code == 403


def test_patrol_log_page_for_the_town(seeded_app):
    """The log page draws the track over the tasks and lists each task covered or missed."""
    client, data = seeded_app
    half = LineString(list(data.route.geometry.coords)[: len(data.route.geometry.coords) // 2])
    upload = client.post(
        f"/api/v1/routes/{data.route_id}/patrol-logs",
        files={"file": ("half.gpx", track_along(half), "application/gpx+xml")},
        headers={"X-API-Key": data.keys["contractor"]},
    )
    assert upload.status_code == 201
    record = upload.json()
    page = client.get(
        f"/patrol-logs/{record['id']}", params={"key": data.keys["gis"], "lang": "en"}
    )
    assert page.status_code == 200
    rows = re.findall(r'<tr class="(covered|missed)">', page.text)
    assert rows.count("covered") == record["summary"]["covered_tasks"]
    assert rows.count("missed") == record["summary"]["planned_tasks"] - rows.count("covered")
    assert "missed" in rows  # half the route was driven
    assert page.text.count("L.polyline") > len(rows) // 2  # tasks and the track are drawn
    route_page = client.get(
        f"/contractor/routes/{data.route_id}", params={"key": data.keys["contractor"]}
    ).text
    assert f"/patrol-logs/{record['id']}?" in route_page
    other = client.get(f"/patrol-logs/{record['id']}", params={"key": data.keys["admin"]})
    assert other.status_code == 200


def test_region_logs_page_for_the_town(seeded_app):
    """The town's page per region lists the logs and the assets whose interval was not kept."""
    client, data = seeded_app
    upload = client.post(
        f"/api/v1/routes/{data.route_id}/patrol-logs",
        files={"file": ("week.gpx", track_along(data.route.geometry), "application/gpx+xml")},
        headers={"X-API-Key": data.keys["contractor"]},
    )
    assert upload.status_code == 201
    index = client.get("/", params={"key": data.keys["planner"]}).text
    assert f"/regions/{data.region_ids[0]}/patrol-logs?" in index
    late = {"as_of": "2026-06-01T00:00:00+00:00", "since": "2026-04-01T00:00:00+00:00"}
    page = client.get(
        f"/regions/{data.region_ids[0]}/patrol-logs",
        params={"key": data.keys["planner"], "lang": "en", **late},
    )
    assert page.status_code == 200
    assert f"/patrol-logs/{upload.json()['id']}?" in page.text
    coverage = client.get(
        f"/api/v1/regions/{data.region_ids[0]}/patrol-coverage",
        params=late,
        headers={"X-API-Key": data.keys["planner"]},
    ).json()
    assert coverage["overdue"] > 0  # two months later every asset is due again
    assert f"Overdue {coverage['overdue']}" in page.text
    assert page.text.count("<tr><td>") >= min(coverage["overdue"], 300)
    hidden = client.get(
        f"/regions/{data.region_ids[1]}/patrol-logs", params={"key": data.keys["contractor"]}
    )
    assert hidden.status_code == 404
