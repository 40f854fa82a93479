"""OGC API - Features in the JGD2011 plane rectangular zones over HTTP, on SQLite and PostGIS:
the CRS lists, output in metres, bbox-crs in a zone, refusals of other CRSs."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer
from shapely.geometry import Point, box
from sqlalchemy import Engine

from service import crud
from service.db import session_scope
from service.ogc import crs
from service.schemas import ScenarioCreate

OGC = "/ogc"
ZONE_VIII = "http://www.opengis.net/def/crs/EPSG/0/6676"  # Shizuoka (Shimoda)
ZONE_IX = "http://www.opengis.net/def/crs/EPSG/0/6677"  # Tokyo
PARK = (138.9480, 34.6700)  # 下田公園, lon/lat
# A zone VIII rectangle by easting, northing (m); the bbox parameter gives X (north) first.
RECT = box(35000, -150000, 45000, -140000)
BBOX = "-150000,35000,-140000,45000"
_TO_LONLAT = Transformer.from_crs("EPSG:6676", "OGC:CRS84", always_xy=True)
# (easting, northing): 20 m inside the corners, and 20 m outside an edge near a corner where
# the lon/lat envelope of the rectangle reaches beyond it (the grid is turned there).
INSIDE = {
    "in_sw": (35020, -149980),
    "in_se": (44980, -149980),
    "in_nw": (35020, -140020),
    "in_ne": (44980, -140020),
    "in_mid": (40000, -145000),
}
OUTSIDE = {
    "out_n": (44950, -139980),
    "out_w": (34980, -140050),
    "out_e": (45020, -149950),
    "out_s": (35050, -150020),
}


@pytest.fixture
def towns(engine: Engine) -> dict[str, object]:
    """Shimoda's park and assets around the zone VIII rectangle, and one Tokyo asset."""
    points = {name: Point(_TO_LONLAT.transform(e, n)) for name, (e, n) in INSIDE.items()}
    points |= {name: Point(_TO_LONLAT.transform(e, n)) for name, (e, n) in OUTSIDE.items()}
    points["park"] = Point(PARK)
    features = [
        {"geometry": geom, "asset_id": name, "municipality_code": "22219", "field": "park"}
        for name, geom in points.items()
    ]
    features.append(
        {
            "geometry": Point(139.7671, 35.6812),
            "asset_id": "tokyo",
            "municipality_code": "13101",
            "field": "road",
        }
    )
    with session_scope(engine) as session:
        scenario = crud.create_scenario(session=session, scenario_in=ScenarioCreate(name="jgd"))
        crud.add_layer(session=session, scenario_id=scenario.id, name="all", features=features)
    return {"points": points}


def test_collections_list_every_zone_with_the_towns_zones_first(
    client: TestClient, gis: dict[str, str], towns: dict[str, object]
) -> None:
    """Every collection (and the collection list) offers CRS84, 4326, 6668 and the 19 zones;
    zone VIII (most assets) and IX (Tokyo) come right after the geographic ones."""
    body = client.get(f"{OGC}/collections", headers=gis).json()
    zones = [f"http://www.opengis.net/def/crs/EPSG/0/{code}" for code in range(6669, 6688)]
    for listed in [body["crs"]] + [c["crs"] for c in body["collections"]]:
        assert listed[:5] == [crs.CRS84, crs.EPSG4326, crs.JGD2011, ZONE_VIII, ZONE_IX]
        assert sorted(listed[3:]) == zones
    for collection in body["collections"]:
        assert collection["storageCrs"] == crs.CRS84
    one = client.get(f"{OGC}/collections/assets", headers=gis).json()
    assert one["crs"] == body["crs"]


def test_items_in_a_plane_zone_are_metres_northing_first(
    client: TestClient, gis: dict[str, str], towns: dict[str, object]
) -> None:
    """crs=EPSG 6676: 下田公園 comes back as pyproj converts it from JGD2011 (X north, Y east),
    with Content-Crs; the single item endpoint agrees."""
    url = f"{OGC}/collections/assets/items"
    response = client.get(url, params={"crs": ZONE_VIII, "limit": 100}, headers=gis)
    assert response.status_code == 200
    assert response.headers["content-crs"] == f"<{ZONE_VIII}>"
    by_name = {f["properties"]["asset_id"]: f for f in response.json()["features"]}
    expected = Transformer.from_crs("EPSG:6668", "EPSG:6676").transform(PARK[1], PARK[0])
    assert by_name["park"]["geometry"]["coordinates"] == pytest.approx(expected, abs=1e-3)
    assert by_name["in_mid"]["geometry"]["coordinates"] == pytest.approx([-145000, 40000], abs=1e-3)
    single = client.get(f"{url}/{by_name['park']['id']}", params={"crs": "EPSG:6676"}, headers=gis)
    assert single.headers["content-crs"] == f"<{ZONE_VIII}>"
    assert single.json()["geometry"]["coordinates"] == pytest.approx(expected, abs=1e-3)


def test_bbox_in_a_plane_zone_returns_exactly_the_items_inside(
    client: TestClient, gis: dict[str, str], towns: dict[str, object]
) -> None:
    """bbox-crs=EPSG 6676 selects the assets inside the rectangle in metres: not the ones a
    few metres outside that the rectangle's lon/lat envelope would take in; paging agrees."""
    points = towns["points"]
    assert isinstance(points, dict)
    lonlat_rect = [_TO_LONLAT.transform(e, n) for e, n in RECT.exterior.coords]
    envelope = box(
        min(x for x, _ in lonlat_rect),
        min(y for _, y in lonlat_rect),
        max(x for x, _ in lonlat_rect),
        max(y for _, y in lonlat_rect),
    )
    assert all(envelope.contains(points[name]) for name in OUTSIDE)  # the test can tell
    to_metres = Transformer.from_crs("OGC:CRS84", "EPSG:6676", always_xy=True)
    inside = sorted(
        name for name, p in points.items() if RECT.contains(Point(to_metres.transform(p.x, p.y)))
    )
    assert inside == sorted([*INSIDE, "park"])  # 下田公園 lies in the rectangle too
    url = f"{OGC}/collections/assets/items"
    params = {"bbox": BBOX, "bbox-crs": ZONE_VIII}
    body = client.get(url, params=params, headers=gis).json()
    assert sorted(f["properties"]["asset_id"] for f in body["features"]) == inside
    assert body["numberMatched"] == len(inside)
    first = client.get(url, params={**params, "limit": 4}, headers=gis).json()
    assert first["numberMatched"] == len(inside)
    assert first["numberReturned"] == 4
    next_href = next(link["href"] for link in first["links"] if link["rel"] == "next")
    second = client.get(next_href, headers=gis).json()
    paged = [f["properties"]["asset_id"] for f in first["features"] + second["features"]]
    assert sorted(paged) == inside
    in_metres = client.get(url, params={**params, "crs": ZONE_VIII}, headers=gis).json()
    for feature in in_metres["features"]:
        x_north, y_east = feature["geometry"]["coordinates"]
        assert RECT.contains(Point(y_east, x_north))


def test_other_crs_are_refused_with_the_list(
    client: TestClient, gis: dict[str, str], towns: dict[str, object]
) -> None:
    """crs or bbox-crs outside the list: 400 naming the parameter, Japanese by default and
    English on Accept-Language: en, with every supported URI in the message and the body."""
    url = f"{OGC}/collections/assets/items"
    ja = client.get(url, params={"crs": "EPSG:3857"}, headers=gis)
    assert ja.status_code == 400
    body = ja.json()
    assert body["code"] == "InvalidParameterValue"
    assert body["description"].startswith("crs=EPSG:3857 には対応していません")
    assert body["parameter"] == "crs"
    assert sorted(body["supported"]) == sorted(crs.SUPPORTED_CRS)
    assert all(uri in body["description"] for uri in crs.SUPPORTED_CRS)
    en = client.get(
        url,
        params={"bbox": "0,0,1,1", "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/2451"},
        headers={**gis, "Accept-Language": "en-US,en;q=0.9"},
    )
    assert en.status_code == 400
    assert en.json()["description"].startswith(
        "bbox-crs=http://www.opengis.net/def/crs/EPSG/0/2451 is not supported; use one of: "
    )
    assert en.json()["parameter"] == "bbox-crs"
    item = client.get(f"{url}/1", params={"crs": "EPSG:2451"}, headers=gis)
    assert item.status_code == 400
    assert item.json()["parameter"] == "crs"
