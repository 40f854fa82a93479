"""GeoJSON reader (RFC 7946 files are UTF-8 in EPSG:4326; a legacy ``crs`` member is honoured)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely.geometry

from gis_data.loading.errors import Problem
from gis_data.loading.sources import ReadOptions, SourceError
from gis_data.loading.sources._ogr import read_layer
from gis_data.loading.validate import SKIP


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
    try:
        frame = read_layer(source, layer=None, encoding=None, what="GeoJSON file")
    except SourceError as exc:
        if exc.field != "geometry":
            raise
        # one malformed geometry: read the rest and name the feature instead of failing the file
        frame = read_layer(
            source, layer=None, encoding=None, what="GeoJSON file", on_invalid="ignore"
        )
    problems = _malformed(frame, text, label)
    if problems:
        frame[SKIP] = False
        frame.loc[[int(p.feature) - 1 for p in problems if isinstance(p.feature, int)], SKIP] = True
    return frame, problems


def _malformed(frame: gpd.GeoDataFrame, text: str, label: str) -> list[Problem]:
    """A problem per feature whose JSON has a geometry that GDAL or GEOS could not read."""
    missing = frame.geometry.isna().to_numpy()
    if not missing.any():
        return []
    try:
        doc = json.loads(text)
    except ValueError:
        return []
    if not isinstance(doc, dict):
        return []
    features = [doc] if doc.get("type") == "Feature" else doc.get("features")
    if not isinstance(features, list) or len(features) != len(frame):
        return []
    problems = []
    for i in np.flatnonzero(missing).tolist():
        geometry = features[i].get("geometry") if isinstance(features[i], dict) else None
        if not geometry:
            continue  # a null geometry: reported later as missing
        kind = geometry.get("type", "geometry") if isinstance(geometry, dict) else "geometry"
        try:
            shapely.geometry.shape(geometry)
            reason = "its coordinates cannot be read"
        except Exception as exc:  # shapely raises several types for malformed input
            reason = str(exc).strip().removeprefix("IllegalArgumentException: ")
        problems.append(Problem(label, i + 1, "geometry", f"malformed {kind}: {reason}"))
    return problems
