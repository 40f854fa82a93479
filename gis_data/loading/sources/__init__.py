"""Readers, one module per file format, returning raw features as a GeoDataFrame plus problems."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd

from gis_data.loading.errors import Problem


@dataclass(frozen=True)
class ReadOptions:
    """How to read one file: which layer, which text encoding, where a CSV keeps its geometry."""

    layer: str | None = None
    encoding: str | None = None
    wkt: str | None = None
    lon: str | None = None
    lat: str | None = None
    delimiter: str = ","


class SourceError(Exception):
    """A file that cannot be read at all; turned into one Problem naming the file."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def read_source(
    path: Path, label: str, fmt: str, options: ReadOptions
) -> tuple[gpd.GeoDataFrame | None, list[Problem]]:
    """Read a file in the given format; the frame keeps the file's CRS (None if it has none).

    Returns ``(None, problems)`` when the file cannot be read. Row-level problems (a CSV row
    with bad WKT, an OSM way with missing nodes) come back with the frame.
    """
    from gis_data.loading.sources import csv_table, geojson, gpkg, osm, shapefile_zip

    readers = {
        "geojson": geojson.read,
        "gpkg": gpkg.read,
        "shapefile_zip": shapefile_zip.read,
        "csv": csv_table.read,
        "osm": osm.read,
    }
    if not path.exists():
        return None, [Problem(label, None, None, f"file not found: {path.name}")]
    if not path.is_file():
        return None, [Problem(label, None, None, f"not a file: {path.name}")]
    try:
        frame, problems = readers[fmt](path, label, options)
    except SourceError as exc:
        frame, problems = None, [Problem(label, None, exc.field, exc.message)]
    return frame, [replace(p, message=without_paths(p.message, path)) for p in problems]


def without_paths(message: str, path: Path) -> str:
    """A message (often GDAL's) with the server's folders removed: only the file name stays.

    Uploads live in server folders (``var/data/upload-...``) that are nobody's business.
    """
    text = message
    for full in dict.fromkeys((str(path.resolve()), str(path.absolute()), str(path))):
        text = text.replace(f"/vsizip/{full}", path.name).replace(full, path.name)
        parent = str(Path(full).parent)
        if parent not in ("", ".", "/"):
            text = text.replace(parent + "/", "")
    return text
