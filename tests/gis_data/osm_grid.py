"""A tiny synthetic OSM street grid written to XML for the network, matching and adapter tests.

Nine nodes on a 3 x 3 grid about 200 m apart near Vaduz (ids 1..9, row-major from the south-west),
three east-west streets (Row0..Row2), three north-south streets (Col0..Col2) of which Col1 is
one-way northwards (2 -> 5 -> 8), a footway (5 -> 10) that is not drivable and a one-way dead end
(9 -> 11) that leaves the strongly connected component.
"""

from __future__ import annotations

from pathlib import Path

from pyproj import CRS

LAT0, LON0 = 47.14, 9.52
DLAT, DLON = 0.0018, 0.0027  # about 200 m each way at this latitude
METRIC_CRS = CRS.from_epsg(32632)

WAYS: list[tuple[int, list[int], dict[str, str]]] = [
    (101, [1, 2, 3], {"highway": "residential", "name": "Row0"}),
    (102, [4, 5, 6], {"highway": "residential", "name": "Row1", "maxspeed": "50"}),
    (103, [7, 8, 9], {"highway": "residential", "name": "Row2"}),
    (201, [1, 4, 7], {"highway": "residential", "name": "Col0"}),
    (202, [2, 5, 8], {"highway": "residential", "name": "Col1", "oneway": "yes"}),
    (203, [3, 6, 9], {"highway": "tertiary", "name": "Col2"}),
    (301, [5, 10], {"highway": "footway", "name": "Path"}),
    (302, [9, 11], {"highway": "residential", "name": "DeadEnd", "oneway": "yes"}),
]


def node_lonlat(node: int) -> tuple[float, float]:
    """Longitude and latitude of a grid node (10 and 11 lie east of the grid)."""
    if node == 10:
        return LON0 + 1.5 * DLON, LAT0 + 1.2 * DLAT
    if node == 11:
        return LON0 + 3 * DLON, LAT0 + 2 * DLAT
    r, c = divmod(node - 1, 3)
    return LON0 + c * DLON, LAT0 + r * DLAT


def write_grid_osm(
    path: Path, ways: list[tuple[int, list[int], dict[str, str]]] | None = None
) -> Path:
    """Write the grid (or ``ways`` on its nodes) as OSM XML to ``path`` and return it."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for node in range(1, 12):
        lon, lat = node_lonlat(node)
        lines.append(f'  <node id="{node}" lat="{lat:.7f}" lon="{lon:.7f}" version="1"/>')
    for way_id, nodes, tags in WAYS if ways is None else ways:
        lines.append(f'  <way id="{way_id}" version="1">')
        lines.extend(f'    <nd ref="{n}"/>' for n in nodes)
        lines.extend(f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append("  </way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
