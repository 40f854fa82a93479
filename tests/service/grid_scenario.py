"""A tiny routable scenario for service tests: the 3 x 3 OSM street grid split into two towns."""

from __future__ import annotations

import json
from pathlib import Path

from tests.gis_data.osm_grid import node_lonlat, write_grid_osm

# Town T1 holds grid columns 0 and 1, T2 column 2 (the border runs between them).
BORDER_LON = 9.5240
STREETS = {
    "T1": [("Col0", [1, 4, 7]), ("Col1", [2, 5, 8]), ("Row0w", [1, 2]), ("Row1w", [4, 5]),
           ("Row2w", [7, 8])],
    "T2": [("Col2", [3, 6, 9]), ("Row0e", [2, 3]), ("Row1e", [5, 6]), ("Row2e", [8, 9])],
}  # fmt: skip


def _box(west: float, east: float) -> list[list[list[float]]]:
    south, north = 47.135, 47.149
    return [[[west, south], [east, south], [east, north], [west, north], [west, south]]]


def write_grid_scenario(folder: Path) -> Path:
    """Write grid.osm, towns.geojson, an asset file per town and scenario.toml (returned)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_grid_osm(folder / "grid.osm")
    towns = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": code, "name": name},
                "geometry": {"type": "Polygon", "coordinates": _box(west, east)},
            }
            for code, name, west, east in (
                ("T1", "Aville", 9.512, BORDER_LON),
                ("T2", "Beetown", BORDER_LON, 9.535),
            )
        ],
    }
    (folder / "towns.geojson").write_text(json.dumps(towns), encoding="utf-8")
    for code, streets in STREETS.items():
        features = [
            {
                "type": "Feature",
                "properties": {
                    "asset_id": f"{code}-{name}",
                    "field": "road",
                    "kind": "road_segment",
                    "name": name,
                },
                "geometry": {
                    "type": "LineString",
                    "coordinates": [list(node_lonlat(n)) for n in nodes],
                },
            }
            for name, nodes in streets
        ]
        doc = {"type": "FeatureCollection", "features": features}
        (folder / f"{code.lower()}.geojson").write_text(json.dumps(doc), encoding="utf-8")
    west_lon, west_lat = node_lonlat(4)
    east_lon, east_lat = node_lonlat(6)
    toml = f"""
name = "Grid towns"
description = "Two towns on a 3 x 3 street grid"

[network]
osm = "grid.osm"
buffer_m = 300

[boundaries]
file = "towns.geojson"
code_column = "code"
name_column = "name"

[[municipality]]
code = "T1"
depot = {{ name = "Aville depot", lon = {west_lon}, lat = {west_lat} }}

[[municipality.source]]
file = "t1.geojson"

[[municipality]]
code = "T2"
depot = {{ name = "Beetown depot", lon = {east_lon}, lat = {east_lat} }}

[[municipality.source]]
file = "t2.geojson"

[[depot]]
id = "yard-west"
name = "West yard"
kind = "contractor"
lon = {node_lonlat(1)[0]}
lat = {node_lonlat(1)[1]}
municipality_code = "T1"

[[depot]]
id = "yard-east"
name = "East yard"
kind = "contractor"
lon = {node_lonlat(9)[0]}
lat = {node_lonlat(9)[1]}
municipality_code = "T2"
"""
    path = folder / "scenario.toml"
    path.write_text(toml, encoding="utf-8")
    return path
