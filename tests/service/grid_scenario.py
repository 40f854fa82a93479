"""A tiny routable scenario for service tests: the 3 x 3 OSM street grid split into two towns."""

from __future__ import annotations

import json
from collections.abc import Sequence
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


def scenario_toml(
    *,
    header: str,
    buffer_m: int,
    towns: Sequence[tuple[str, str, int, str]],
    depots: Sequence[tuple[str, str, int, str | None]],
) -> str:
    """The scenario TOML of grid towns: ``towns`` as (code, depot name, grid node, asset file),
    ``depots`` as contractor yards (id, name, grid node, municipality code or None)."""
    parts = [f'\n{header}\n\n[network]\nosm = "grid.osm"\nbuffer_m = {buffer_m}\n']
    parts.append(
        '\n[boundaries]\nfile = "towns.geojson"\ncode_column = "code"\nname_column = "name"\n'
    )
    for code, depot, node, file in towns:
        lon, lat = node_lonlat(node)
        parts.append(
            f'\n[[municipality]]\ncode = "{code}"\n'
            f'depot = {{ name = "{depot}", lon = {lon}, lat = {lat} }}\n'
            f'\n[[municipality.source]]\nfile = "{file}"\n'
        )
    for yard_id, name, node, town in depots:
        lon, lat = node_lonlat(node)
        parts.append(
            f'\n[[depot]]\nid = "{yard_id}"\nname = "{name}"\nkind = "contractor"\n'
            f"lon = {lon}\nlat = {lat}\n" + (f'municipality_code = "{town}"\n' if town else "")
        )
    return "".join(parts)


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
    toml = scenario_toml(
        header='name = "Grid towns"\ndescription = "Two towns on a 3 x 3 street grid"',
        buffer_m=300,
        towns=[("T1", "Aville depot", 4, "t1.geojson"), ("T2", "Beetown depot", 6, "t2.geojson")],
        depots=[("yard-west", "West yard", 1, "T1"), ("yard-east", "East yard", 9, "T2")],
    )
    path = folder / "scenario.toml"
    path.write_text(toml, encoding="utf-8")
    return path
