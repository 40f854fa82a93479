"""GeoJSON reader (RFC 7946 files are UTF-8 in EPSG:4326; a legacy ``crs`` member is honoured)."""

from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd

from gis_data.loading.errors import Problem
from gis_data.loading.sources import ReadOptions, SourceError
from gis_data.loading.sources._ogr import read_layer


def read(path: Path, label: str, options: ReadOptions) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Read a GeoJSON file; text that is not valid in its encoding is an error, never mojibake."""
    raw = path.read_bytes()
    encoding = options.encoding or "utf-8"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        msg = f"cannot decode the file as {encoding}: {exc.reason} on line {line}"
        if encoding.lower().replace("-", "") == "utf8":
            msg += ' (GeoJSON must be UTF-8; set encoding = "cp932" if it is Shift-JIS)'
        raise SourceError(msg, field="encoding") from exc
    except LookupError as exc:
        raise SourceError(f"unknown encoding {encoding!r}", field="encoding") from exc
    source: object = path
    if encoding.lower().replace("-", "").replace("_", "") not in ("utf8", "utf8sig", "ascii"):
        source = io.BytesIO(text.encode("utf-8"))
    frame = read_layer(source, layer=None, encoding=None, what="GeoJSON file")
    return frame, []
