"""OGC API - Features over HTTP on SQLite and PostGIS: required fields, filters, paging, CRS."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import LineString, Point, Polygon
from sqlalchemy import Engine

from service import crud
from service.db import session_scope
from service.schemas import ScenarioCreate

OGC = "/ogc"


@pytest.fixture
def seeded(engine: Engine) -> dict[str, int]:
    """Five assets in two places, one plan with two regions and three dated routes, one depot."""
    with session_scope(engine) as session:
        scenario = crud.create_scenario(session=session, scenario_in=ScenarioCreate(name="ogc"))
        west = [
            LineString([(138.90 + i * 0.01, 34.60), (138.905 + i * 0.01, 34.605)]) for i in range(3)
        ]
        east = [Point(139.50, 35.00), Point(139.51, 35.01)]
        features = [
            {
                "geometry": geom,
                "asset_id": f"a{i}",
                "municipality_code": "22219" if i < 3 else "22301",
                "municipality": "下田市" if i < 3 else "東伊豆町",
                "field": "road" if i < 3 else "park",
                "kind": "road_segment" if i < 3 else "playground",
                "properties": {"patrol_interval_days": 7.0},
            }
            for i, geom in enumerate(west + east)
        ]
        crud.add_layer(session=session, scenario_id=scenario.id, name="all", features=features)
        plan = crud.create_plan(session=session, scenario_id=scenario.id, kind="routes")
        r1 = crud.add_region(
            session=session,
            plan=plan,
            code="R1",
            geom=Polygon([(138.8, 34.5), (139.0, 34.5), (139.0, 34.7)]),
        )
        r2 = crud.add_region(session=session, plan=plan, code="R2", geom=None)
        for day, region in ((0, r1), (1, r1), (0, r2)):
            crud.add_route(
                session=session,
                plan=plan,
                region_id=region.id,
                crew="1",
                day=day,
                service_date=dt.date(2026, 4, 1) + dt.timedelta(days=day),
                geom=LineString([(138.9, 34.6), (138.95, 34.65)]),
                properties={"km": 7.5},
            )
        crud.add_depot(
            session=session, scenario_id=scenario.id, depot_id="d1", geom=Point(138.95, 34.68)
        )
        return {"scenario": scenario.id, "plan": plan.id, "r1": r1.id, "r2": r2.id}


def test_landing_conformance_and_api_definition(client: TestClient) -> None:
    """Landing links resolve; conformance lists Part 1 core; the API definition is OpenAPI 3."""
    landing = client.get(f"{OGC}/")
    assert landing.status_code == 200
    assert landing.headers["content-type"].startswith("application/json")
    links = {link["rel"]: link["href"] for link in landing.json()["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(links)
    api = client.get(links["service-desc"])
    assert api.headers["content-type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert api.json()["openapi"].startswith("3.")
    assert f"{OGC}/collections/{{collection_id}}/items" in api.json()["paths"]
    conformance = client.get(links["conformance"]).json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conformance


def test_collections_have_extent_and_links(
    client: TestClient, gis: dict[str, str], seeded: dict[str, int]
) -> None:
    """Every collection has id, links (self, items), a CRS84 extent and the offered CRSs."""
    body = client.get(f"{OGC}/collections", headers=gis).json()
    by_id = {c["id"]: c for c in body["collections"]}
    assert set(by_id) == {"assets", "regions", "routes", "depots"}
    assets = by_id["assets"]
    assert {link["rel"] for link in assets["links"]} >= {"self", "items"}
    assert assets["extent"]["spatial"]["bbox"][0] == pytest.approx([138.90, 34.60, 139.51, 35.01])
    assert "http://www.opengis.net/def/crs/EPSG/0/6668" in assets["crs"]
    routes = client.get(f"{OGC}/collections/routes", headers=gis).json()
    assert routes["extent"]["temporal"]["interval"] == [
        ["2026-04-01T00:00:00Z", "2026-04-02T23:59:59Z"]
    ]
    assert client.get(f"{OGC}/collections/nope", headers=gis).status_code == 404


def test_items_paging_and_filters(
    client: TestClient, gis: dict[str, str], seeded: dict[str, int]
) -> None:
    """Items: a FeatureCollection with numberMatched/Returned, next/prev links; bbox filters."""
    url = f"{OGC}/collections/assets/items"
    page = client.get(url, params={"limit": 2}, headers=gis)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("application/geo+json")
    body = page.json()
    assert body["type"] == "FeatureCollection"
    assert body["numberMatched"] == 5
    assert body["numberReturned"] == 2
    assert body["features"][0]["properties"]["asset_id"] == "a0"
    next_href = next(link["href"] for link in body["links"] if link["rel"] == "next")
    second = client.get(next_href, headers=gis).json()
    assert [f["properties"]["asset_id"] for f in second["features"]] == ["a2", "a3"]
    assert any(link["rel"] == "prev" for link in second["links"])
    west = client.get(url, params={"bbox": "138.85,34.55,139.0,34.7"}, headers=gis).json()
    assert sorted(f["properties"]["asset_id"] for f in west["features"]) == ["a0", "a1", "a2"]
    parks = client.get(url, params={"field": "park"}, headers=gis).json()
    assert parks["numberMatched"] == 2
    one = client.get(url, params={"bbox": "139.505,34.99,139.52,35.02"}, headers=gis).json()
    assert [f["properties"]["asset_id"] for f in one["features"]] == ["a4"]


def test_routes_by_datetime_and_region(
    client: TestClient, gis: dict[str, str], seeded: dict[str, int]
) -> None:
    """datetime selects routes by service date; region_id filters; regions may lack geometry."""
    url = f"{OGC}/collections/routes/items"
    day2 = client.get(url, params={"datetime": "2026-04-02"}, headers=gis).json()
    assert [f["properties"]["day"] for f in day2["features"]] == [1]
    first_day = client.get(url, params={"datetime": "../2026-04-01T23:00:00Z"}, headers=gis).json()
    assert first_day["numberMatched"] == 2
    r1 = client.get(url, params={"region_id": seeded["r1"]}, headers=gis).json()
    assert r1["numberMatched"] == 2
    regions = client.get(f"{OGC}/collections/regions/items", headers=gis).json()
    assert {f["properties"]["code"]: f["geometry"] is None for f in regions["features"]} == {
        "R1": False,
        "R2": True,
    }


def test_single_item_and_crs(
    client: TestClient, gis: dict[str, str], seeded: dict[str, int]
) -> None:
    """One feature by id; crs=EPSG:6668 returns lat/lon and Content-Crs; unknown id is 404."""
    listing = client.get(f"{OGC}/collections/depots/items", headers=gis).json()
    fid = listing["features"][0]["id"]
    url = f"{OGC}/collections/depots/items/{fid}"
    feature = client.get(url, headers=gis)
    assert feature.status_code == 200
    assert feature.json()["type"] == "Feature"
    assert feature.json()["geometry"]["coordinates"] == pytest.approx([138.95, 34.68])
    assert {link["rel"] for link in feature.json()["links"]} >= {"self", "collection"}
    jgd = client.get(url, params={"crs": "http://www.opengis.net/def/crs/EPSG/0/6668"}, headers=gis)
    assert jgd.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/6668>"
    assert jgd.json()["geometry"]["coordinates"] == pytest.approx([34.68, 138.95])
    assert client.get(f"{OGC}/collections/depots/items/99999", headers=gis).status_code == 404


def test_bad_parameters_are_400(
    client: TestClient, gis: dict[str, str], seeded: dict[str, int]
) -> None:
    """Unknown parameters, bad bbox, limit and CRS get 400 with an OGC exception body."""
    url = f"{OGC}/collections/assets/items"
    for params in (
        {"colour": "red"},
        {"bbox": "1,2"},
        {"limit": "0"},
        {"crs": "EPSG:3857"},
        {"f": "xml"},
    ):
        response = client.get(url, params=params, headers=gis)
        assert response.status_code == 400, params
        assert response.json()["code"] == "InvalidParameterValue"


def test_features_need_a_reader_key(
    client: TestClient, engine: Engine, seeded: dict[str, int]
) -> None:
    """Without a key 401; a contractor key 403; the landing page stays public."""
    from tests.service.conftest import make_key

    url = f"{OGC}/collections/assets/items"
    assert client.get(url).status_code == 401
    contractor = make_key(engine, "contractor", (seeded["r1"],))
    assert client.get(url, headers=contractor).status_code == 403
    assert client.get(f"{OGC}/").status_code == 200
