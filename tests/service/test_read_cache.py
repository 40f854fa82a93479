"""Read cache on SQLite and PostGIS: caller scopes kept apart, writes invalidate, ETag and 304."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import LineString, Point
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service import crud
from service.db import session_scope
from service.read_cache import etag_matches
from service.schemas import ScenarioCreate
from tests.service.conftest import make_key

ITEMS = "/ogc/collections/assets/items"


def _plan_with_routes(engine: Engine, scenario_id: int, days: int) -> dict[str, int]:
    """A routes plan with regions R1 and R2, `days` routes in R1 and one in R2."""
    with session_scope(engine) as session:
        plan = crud.create_plan(session=session, scenario_id=scenario_id, kind="routes")
        r1 = crud.add_region(session=session, plan=plan, code="R1")
        r2 = crud.add_region(session=session, plan=plan, code="R2")
        for day, region in [(d, r1) for d in range(days)] + [(0, r2)]:
            crud.add_route(
                session=session,
                plan=plan,
                region_id=region.id,
                crew="1",
                day=day,
                service_date=dt.date(2026, 4, 1) + dt.timedelta(days=day),
                geom=LineString([(138.9, 34.6), (138.95, 34.65)]),
            )
        return {"plan": plan.id, "r1": r1.id, "r2": r2.id}


@pytest.fixture
def scenario_id(engine: Engine) -> int:
    """A scenario with two point assets."""
    with session_scope(engine) as session:
        scenario = crud.create_scenario(session=session, scenario_in=ScenarioCreate(name="cache"))
        _add_assets(session, scenario.id, 2)
        return scenario.id


def _add_assets(session: Session, scenario_id: int, count: int) -> None:
    features = [
        {"geometry": Point(139.0 + i * 0.01, 35.0), "asset_id": f"p{i}", "field": "park"}
        for i in range(count)
    ]
    crud.add_layer(session=session, scenario_id=scenario_id, name="parks", features=features)


def test_contractors_never_see_another_regions_routes(
    client: TestClient, engine: Engine, api: str, scenario_id: int
) -> None:
    """Each contractor's cached list holds its own region's routes; role and region checks stay."""
    ids = _plan_with_routes(engine, scenario_id, days=2)
    west = make_key(engine, "contractor", (ids["r1"],))
    east = make_key(engine, "contractor", (ids["r2"],))
    for _ in range(2):  # the second round is served from the cache
        west_routes = client.get(f"{api}/patrols", headers=west).json()["data"]
        east_routes = client.get(f"{api}/patrols", headers=east).json()["data"]
        assert {r["region_id"] for r in west_routes} == {ids["r1"]}
        assert len(west_routes) == 2
        assert {r["region_id"] for r in east_routes} == {ids["r2"]}
        assert len(east_routes) == 1
    # Same path and query as a cached planner response, other role or region: still refused.
    planner = make_key(engine, "planner")
    query = f"{api}/patrols?region_id={ids['r1']}"
    assert client.get(query, headers=planner).status_code == 200
    assert client.get(query, headers=east).status_code == 404
    assert client.get(query, headers=make_key(engine, "gis")).status_code == 403
    assert client.get(query, headers={"X-API-Key": "gm_00000000_nope"}).status_code == 401
    assert client.get(query).status_code == 401


def test_writes_change_the_route_list_and_the_ogc_page(
    client: TestClient, engine: Engine, api: str, scenario_id: int
) -> None:
    """A new plan's routes and new assets show at once, though the old responses were cached."""
    first = _plan_with_routes(engine, scenario_id, days=1)
    contractor = make_key(engine, "contractor", (first["r1"],))
    gis = make_key(engine, "gis")
    routes = client.get(f"{api}/patrols", headers=contractor).json()
    page = client.get(f"{ITEMS}?limit=10", headers=gis).json()
    assert client.get(f"{api}/patrols", headers=contractor).json() == routes
    assert routes["count"] == 1
    assert page["numberMatched"] == 2

    with session_scope(engine) as session:
        plan = crud.get_plan(session=session, plan_id=first["plan"])
        crud.add_route(
            session=session, plan=plan, region_id=first["r1"], crew="2", day=0, geom=None
        )
    assert client.get(f"{api}/patrols", headers=contractor).json()["count"] == 2

    with session_scope(engine) as session:
        _add_assets(session, scenario_id, 3)
    # Query parameters in another order are the same entry; both see the new assets.
    assert client.get(f"{ITEMS}?limit=10&offset=0", headers=gis).json()["numberMatched"] == 5
    assert client.get(f"{ITEMS}?offset=0&limit=10", headers=gis).json()["numberMatched"] == 5


def test_etag_and_not_modified(client: TestClient, engine: Engine, scenario_id: int) -> None:
    """A repeated read with If-None-Match gets 304 until the data changes."""
    gis = make_key(engine, "gis")
    first = client.get(ITEMS, headers=gis)
    etag = first.headers["etag"]
    again = client.get(ITEMS, headers={**gis, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    with session_scope(engine) as session:
        _add_assets(session, scenario_id, 1)
    changed = client.get(ITEMS, headers={**gis, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.json()["numberMatched"] == 3


def test_a_revoked_key_is_refused_at_once(
    client: TestClient, engine: Engine, scenario_id: int
) -> None:
    """The key cache forgets a key when it is revoked, although its response was cached."""
    gis = make_key(engine, "gis")
    assert client.get(ITEMS, headers=gis).status_code == 200
    with session_scope(engine) as session:
        row = crud.find_api_key(session=session, key=gis["X-API-Key"])
        assert row is not None
        crud.revoke_api_key(session=session, key_id=row.id)
    assert client.get(ITEMS, headers=gis).status_code == 401


def test_etag_matches() -> None:
    """Strong, weak, listed and wildcard tags match; others do not."""
    tag = b'"abc"'
    assert etag_matches('"abc"', tag)
    assert etag_matches('W/"abc"', tag)
    assert etag_matches('"x", "abc"', tag)
    assert etag_matches("*", tag)
    assert not etag_matches('"abd"', tag)
    assert not etag_matches(None, tag)


def test_an_encoded_ampersand_is_not_another_parameter(
    client: TestClient, engine: Engine, scenario_id: int
) -> None:
    """`field=park%26limit%3D1` (one odd value) and `field=park&limit=1` are different entries."""
    gis = make_key(engine, "gis")
    odd = client.get(f"{ITEMS}?field=park%26limit%3D1", headers=gis)
    plain = client.get(f"{ITEMS}?field=park&limit=1", headers=gis).json()
    assert odd.status_code == 200
    assert odd.json()["numberMatched"] == 0
    assert plain["numberMatched"] == 2
    assert plain["numberReturned"] == 1
