"""Exports: GeoJSON, GPX and KML parse back with the same geometry and carry the OSM attribution."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import gpxpy
import pytest
from shapely import LineString

from gis_data.network.adapters import PatrolRoute, Traversal
from gis_data.network.export import (
    ATTRIBUTION,
    KML_NS,
    export_routes,
    routes_to_geojson,
    routes_to_gpx,
    routes_to_kml,
)

COORDS_A = ((9.5212345678, 47.1412345678), (9.5239871234, 47.1419876543), (9.5267000001, 47.14))
COORDS_B = ((9.53, 47.15), (9.531111111, 47.152222222))


def _route(crew: int, coords: tuple[tuple[float, float], ...], visit: bool) -> PatrolRoute:
    steps = [
        Traversal("serve", 1, 2, "Landstrasse", 150.0, 60, "s1", "edge", ("R1",), coords[:2]),
        Traversal("deadhead", 2, 3, "Au", 90.0, 20, None, None, (), coords[1:]),
    ]
    if visit:
        steps.append(
            Traversal("serve", 3, 3, "Park", 0.0, 900, "n:P1", "node", ("P1",), coords[-1:])
        )
    return PatrolRoute(
        crew=crew,
        vehicle_type=0,
        depot_id="yard",
        depot_name="Yard",
        traversals=tuple(steps),
        geometry=LineString(coords),
        tasks=("s1", "n:P1") if visit else ("s1",),
    )


@pytest.fixture
def routes() -> list[PatrolRoute]:
    return [_route(0, COORDS_A, visit=True), _route(1, COORDS_B, visit=False)]


def _same(got: list[tuple[float, float]], want: tuple[tuple[float, float], ...]) -> None:
    assert len(got) == len(want)
    for (gx, gy), (wx, wy) in zip(got, want, strict=True):
        assert gx == pytest.approx(wx, abs=1e-6)
        assert gy == pytest.approx(wy, abs=1e-6)


def test_geojson_round_trip(routes: list[PatrolRoute]) -> None:
    """Route lines and the park visit come back with the same coordinates and attribution."""
    doc = json.loads(json.dumps(routes_to_geojson(routes)))
    assert ATTRIBUTION in doc["attribution"]
    lines = [f for f in doc["features"] if f["properties"]["kind"] == "route"]
    visits = [f for f in doc["features"] if f["properties"]["kind"] == "visit"]
    _same([tuple(c) for c in lines[0]["geometry"]["coordinates"]], COORDS_A)
    _same([tuple(c) for c in lines[1]["geometry"]["coordinates"]], COORDS_B)
    assert [v["properties"]["asset_ids"] for v in visits] == [["P1"]]
    assert lines[0]["properties"]["total_s"] == 980
    assert lines[0]["properties"]["km"] == pytest.approx(0.24)
    assert all(f["properties"]["attribution"] == ATTRIBUTION for f in doc["features"])


def test_gpx_round_trip(routes: list[PatrolRoute]) -> None:
    """Each route is a GPX 1.1 track with one segment; the visit is a waypoint; copyright set."""
    text = routes_to_gpx(routes)
    assert 'version="1.1"' in text
    gpx = gpxpy.parse(text)
    assert len(gpx.tracks) == 2
    assert not gpx.routes  # tracks, so apps do not re-route
    for track, want in zip(gpx.tracks, (COORDS_A, COORDS_B), strict=True):
        (segment,) = track.segments
        _same([(p.longitude, p.latitude) for p in segment.points], want)
    (wpt,) = gpx.waypoints
    assert (wpt.longitude, wpt.latitude) == pytest.approx(COORDS_A[-1], abs=1e-6)
    assert wpt.name == "Park"
    assert gpx.copyright_author == "OpenStreetMap contributors"
    assert ATTRIBUTION in (gpx.description or "")


def test_kml_round_trip(routes: list[PatrolRoute]) -> None:
    """KML placemarks hold the route lines and the visit point; the document credits OSM."""
    root = ET.fromstring(routes_to_kml(routes).encode("utf-8"))
    ns = {"k": KML_NS}
    doc = root.find("k:Document", ns)
    assert doc is not None
    assert ATTRIBUTION in (doc.findtext("k:description", namespaces=ns) or "")
    lines = doc.findall("k:Placemark/k:LineString/k:coordinates", ns)
    points = doc.findall("k:Placemark/k:Point/k:coordinates", ns)

    def parse(text: str | None) -> list[tuple[float, float]]:
        pairs = [c.split(",") for c in (text or "").split()]
        return [(float(x), float(y)) for x, y in pairs]

    _same(parse(lines[0].text), COORDS_A)
    _same(parse(lines[1].text), COORDS_B)
    _same(parse(points[0].text), COORDS_A[-1:])


def test_export_routes_writes_files(tmp_path: Path, routes: list[PatrolRoute]) -> None:
    """Combined files and one GPX per crew are written and parse."""
    paths = export_routes(routes, tmp_path / "out", stem="bundled")
    names = sorted(p.name for p in paths)
    assert names == [
        "bundled.geojson",
        "bundled.gpx",
        "bundled.kml",
        "bundled_crew1.gpx",
        "bundled_crew2.gpx",
    ]
    crew2 = gpxpy.parse((tmp_path / "out" / "bundled_crew2.gpx").read_text(encoding="utf-8"))
    _same([(p.longitude, p.latitude) for p in crew2.tracks[0].segments[0].points], COORDS_B)
    assert json.loads((tmp_path / "out" / "bundled.geojson").read_text(encoding="utf-8"))[
        "features"
    ]
