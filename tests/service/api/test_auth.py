"""Roles by API key: each role's allowed and forbidden calls; keys hashed at rest; contractors."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from service import crud
from service.auth import generate_key, key_prefix
from service.db import session_scope
from service.importer import import_scenario
from service.models import ApiKey
from tests.service.conftest import make_key
from tests.service.grid_scenario import write_grid_scenario


def test_missing_bad_and_revoked_keys(client: TestClient, api: str, admin: dict[str, str]) -> None:
    """No key or an unknown key is 401; a revoked key stops working; Bearer works too."""
    url = f"{api}/scenarios"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"X-API-Key": "gm_00000000_nope"}).status_code == 401
    assert client.get(url, headers={"X-API-Key": "garbage"}).status_code == 401
    created = client.post(f"{api}/keys", json={"role": "planner", "name": "p"}, headers=admin)
    assert created.status_code == 201
    key = created.json()["key"]
    assert client.get(url, headers={"Authorization": f"Bearer {key}"}).status_code == 200
    revoked = client.delete(f"{api}/keys/{created.json()['id']}", headers=admin)
    assert revoked.json()["active"] is False
    assert client.get(url, headers={"X-API-Key": key}).status_code == 401


def test_keys_are_hashed_at_rest(
    client: TestClient, api: str, admin: dict[str, str], engine: Engine
) -> None:
    """The database holds a salted hash, never the key; listing never shows secrets."""
    created = client.post(f"{api}/keys", json={"role": "gis"}, headers=admin).json()
    key = created["key"]
    with session_scope(engine) as session:
        row = session.scalars(select(ApiKey).where(ApiKey.id == created["id"])).one()
        stored = f"{row.prefix} {row.salt} {row.key_hash} {row.name}"
    assert key not in stored
    # maxsplit: the url-safe secret may itself contain "_" (split fully, a short piece of it
    # could occur in the stored hex by chance)
    secret = key.split("_", 2)[2]
    assert len(secret) >= 40
    assert secret not in stored
    listing = client.get(f"{api}/keys", headers=admin)
    assert key not in listing.text
    assert {k["role"] for k in listing.json()["data"]} >= {"admin", "gis"}


def test_key_prefix_survives_underscores_in_the_secret() -> None:
    """token_urlsafe secrets may hold "_" (and "-"): the prefix is still the second part."""
    assert key_prefix("gm_01234567_a_b_-c") == "01234567"
    assert key_prefix("gm_0123_abc") is None
    key, prefix = generate_key()
    assert key_prefix(key) == prefix


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("admin", True), ("planner", True), ("gis", False), ("contractor", False)],
)
def test_scenario_access_by_role(
    client: TestClient, api: str, engine: Engine, role: str, allowed: bool, tmp_path: Path
) -> None:
    """Admins and planners manage scenarios; GIS and contractor keys get 403."""
    region_ids: tuple[int, ...] = ()
    if role == "contractor":
        region_ids = (_grid_plan(engine, tmp_path)[1],)
    headers = make_key(engine, role, region_ids)
    listing = client.get(f"{api}/scenarios", headers=headers)
    created = client.post(f"{api}/scenarios", json={"name": "x"}, headers=headers)
    jobs = client.get(f"{api}/jobs", headers=headers)
    if allowed:
        assert (listing.status_code, created.status_code, jobs.status_code) == (200, 201, 200)
    else:
        assert (listing.status_code, created.status_code, jobs.status_code) == (403, 403, 403)
        assert listing.json()["code"] == "forbidden"


def test_only_admins_manage_keys(
    client: TestClient, api: str, planner: dict[str, str], gis: dict[str, str]
) -> None:
    """Planner and GIS keys cannot create or list keys."""
    for headers in (planner, gis):
        assert (
            client.post(f"{api}/keys", json={"role": "admin"}, headers=headers).status_code == 403
        )
        assert client.get(f"{api}/keys", headers=headers).status_code == 403


def test_contractor_key_needs_existing_regions(
    client: TestClient, api: str, admin: dict[str, str]
) -> None:
    """A contractor key without regions, or with an unknown region, is refused."""
    none = client.post(f"{api}/keys", json={"role": "contractor"}, headers=admin)
    assert none.status_code == 422
    assert none.json()["code"] == "regions-required"
    unknown = client.post(
        f"{api}/keys", json={"role": "contractor", "region_ids": [999]}, headers=admin
    )
    assert unknown.json()["code"] == "unknown-region"


def _grid_plan(engine: Engine, folder: Path) -> tuple[int, int, int, list[int]]:
    """Store the grid scenario with a hand-made plan: regions W and E, one route in each."""
    from shapely.geometry import LineString

    with session_scope(engine) as session:
        scenario = import_scenario(session=session, config=write_grid_scenario(folder))
        plan = crud.create_plan(session=session, scenario_id=scenario.id, kind="regions")
        west = crud.add_region(session=session, plan=plan, code="W")
        east = crud.add_region(session=session, plan=plan, code="E")
        routes_plan = crud.create_plan(session=session, scenario_id=scenario.id, kind="routes")
        route_ids = []
        for region, x in ((west, 9.52), (east, 9.525)):
            route = crud.add_route(
                session=session,
                plan=routes_plan,
                region_id=region.id,
                crew="1",
                day=0,
                geom=LineString([(x, 47.14), (x, 47.1436)]),
                properties={"km": 0.4, "minutes": 5.0},
            )
            route_ids.append(route.id)
        return scenario.id, west.id, east.id, route_ids


def test_contractor_reads_only_its_regions_routes(
    client: TestClient,
    api: str,
    engine: Engine,
    planner: dict[str, str],
    gis: dict[str, str],
    tmp_path: Path,
) -> None:
    """A contractor sees its region's routes (JSON, GeoJSON, GPX); another region's are 404."""
    _scenario, west, east, (west_route, east_route) = _grid_plan(engine, tmp_path)
    contractor = make_key(engine, "contractor", (west,))
    mine = client.get(f"{api}/patrols", headers=contractor)
    assert mine.status_code == 200
    assert [r["id"] for r in mine.json()["data"]] == [west_route]
    assert mine.json()["data"][0]["geometry"]["coordinates"] == [[9.52, 47.14], [9.52, 47.1436]]
    assert mine.json()["data"][0]["steps"] == []  # steps only with steps=true
    assert client.get(f"{api}/patrols/{west_route}", headers=contractor).status_code == 200
    gpx = client.get(f"{api}/patrols/{west_route}/gpx", headers=contractor)
    assert gpx.status_code == 200
    assert "<trk>" in gpx.text
    kml = client.get(f"{api}/patrols/{west_route}/kml", headers=contractor)
    assert "<kml" in kml.text
    geojson = client.get(f"{api}/patrols/routes.geojson", headers=contractor).json()
    assert [f["id"] for f in geojson["features"]] == [west_route]
    for url in (f"{api}/patrols/{east_route}", f"{api}/patrols/{east_route}/gpx"):
        assert client.get(url, headers=contractor).status_code == 404
    assert (
        client.get(f"{api}/patrols", params={"region_id": east}, headers=contractor).status_code
        == 404
    )
    # Contractors cannot reach planning, scenarios or OGC features.
    assert client.get(f"{api}/plans/1/routes", headers=contractor).status_code == 403
    assert client.get("/ogc/collections", headers=contractor).status_code == 403
    # Planners read any region's routes by naming it; GIS keys do not read patrols.
    east_routes = client.get(f"{api}/patrols", params={"region_id": east}, headers=planner).json()
    assert [r["id"] for r in east_routes["data"]] == [east_route]
    assert client.get(f"{api}/patrols", headers=planner).status_code == 422
    assert client.get(f"{api}/patrols/{west_route}", headers=gis).status_code == 403
