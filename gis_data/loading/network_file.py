"""Checking the file given as a scenario's road network before anything routes on it.

The road graph is built from an OpenStreetMap XML (``.osm``, ``.osm.bz2``) or PBF file. Files
that are something else fail late and obscurely in the graph builder (a GraphML file or an
OSM file whose nodes lack coordinates gives osmnx's ``KeyError: 'lat'``), so `load` checks the
file first and says what it is and what is expected. Messages name the file, never its folder.
"""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import osmium

from gis_data.loading.errors import Problem
from gis_data.loading.sources import without_paths

EXPECTED = "the road network must be an OpenStreetMap XML (.osm, .osm.bz2) or PBF (.osm.pbf) file"
_SHAPEFILE_MAGIC = b"\x00\x00\x27\x0a"
_LAYER_FORMATS = {
    ".shp": "a Shapefile",
    ".zip": "a zip file (a zipped Shapefile?)",
    ".gpkg": "a GeoPackage",
    ".geojson": "a GeoJSON file",
    ".json": "a JSON file",
    ".csv": "a CSV table",
}


def _head(path: Path, size: int = 4096) -> bytes:
    name = path.name.lower()
    try:
        if name.endswith(".bz2"):
            with bz2.open(path, "rb") as f:
                return f.read(size)
        if name.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read(size)
        with path.open("rb") as f:
            return f.read(size)
    except (OSError, EOFError) as exc:
        raise ValueError(f"cannot read it: {exc}") from exc


def _kind(path: Path, head: bytes) -> str | None:
    """What a file that is not OSM data looks like, or None when it may be OSM."""
    name = path.name.lower()
    if name.endswith(".graphml") or b"<graphml" in head:
        return "a GraphML graph (as osmnx saves one), not OpenStreetMap data"
    for suffix, kind in _LAYER_FORMATS.items():
        if name.endswith(suffix):
            return f"{kind}, not OpenStreetMap data"
    if head.startswith(_SHAPEFILE_MAGIC):
        return "a Shapefile, not OpenStreetMap data"
    if head.startswith(b"PK"):
        return "a zip file (a zipped Shapefile?), not OpenStreetMap data"
    if head.startswith(b"SQLite format 3"):
        return "a GeoPackage (SQLite) file, not OpenStreetMap data"
    if name.endswith(".pbf"):
        return None
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        return "a JSON file, not OpenStreetMap XML"
    if b"<osm" not in head:
        return "not OpenStreetMap XML (no <osm> element at its start)"
    return None


def check_network_file(path: str | Path, label: str, field: str = "network.osm") -> list[Problem]:
    """Problems with a road network file: missing, not OSM data, or OSM data unfit for routing.

    ``label`` names the file in the problems (a scenario key or an upload's name).
    """
    path = Path(path)

    def problem(message: str) -> Problem:
        return Problem(label, None, field, message)

    if not path.is_file():
        return [problem(f"network file not found: {path.name}")]
    try:
        head = _head(path)
    except ValueError as exc:
        return [problem(f"{path.name}: {without_paths(str(exc), path)}; {EXPECTED}")]
    kind = _kind(path, head)
    if kind is not None:
        extra = (
            "; a town's own road centreline layer is given as the road layer instead"
            if "GraphML" not in kind and "XML" not in kind
            else ""
        )
        return [problem(f"{path.name} is {kind}: {EXPECTED}{extra}")]
    nodes = 0
    no_location = 0
    roads = 0
    try:
        for obj in osmium.FileProcessor(str(path)):
            if isinstance(obj, osmium.osm.Node):
                nodes += 1
                no_location += not obj.location.valid()
            elif isinstance(obj, osmium.osm.Way) and "highway" in obj.tags:
                roads += 1
    except RuntimeError as exc:
        message = without_paths(str(exc), path)
        return [problem(f"{path.name} is broken OpenStreetMap data ({message}); {EXPECTED}")]
    problems = []
    if no_location:
        problems.append(
            problem(
                f"{path.name}: {no_location} of {nodes} nodes have no coordinates (lat/lon): not a"
                " complete OSM extract (e.g. an Overpass answer without node bodies); export it"
                " again with node coordinates"
            )
        )
    if roads == 0:
        problems.append(problem(f"{path.name} holds no road (no way with a highway tag)"))
    return problems
