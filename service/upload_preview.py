"""Preview of an upload before it is stored: its columns, first rows, encoding and CRS.

The scenario page's column-mapping step shows what a file holds so the planner can map its
columns (路線名 -> name, ...) and pick the attribute encoding before the real upload. Nothing is
stored: the file is read in a private temporary folder that is removed afterwards. A Shapefile
without ``.cpg`` whose table is not UTF-8 is read again as cp932 (Japanese town files), and the
answer says which encoding worked and why.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import IO, Any, Final

import geopandas as gpd
import pandas as pd

from gis_data.loading.config import detect_format
from gis_data.loading.errors import AssetValidationError, Problem
from gis_data.loading.sources import ReadOptions, read_source
from service.config import Settings
from service.errors import ServiceError
from service.uploads import receive_file, safe_name, scrub_paths, upload_workdir

PREVIEW_ROWS: Final = 5
# Tried in order when no encoding is given and UTF-8 fails (Japanese municipal files).
FALLBACK_ENCODINGS: Final = ("cp932",)
_MAX_CELL = 200


def _cell(value: Any) -> str | int | float | bool | None:
    """A table cell as JSON: numbers and booleans kept, text cut to a readable length."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if hasattr(value, "item"):  # numpy scalars
        return _cell(value.item())
    return str(value)[:_MAX_CELL]


def _crs_name(frame: gpd.GeoDataFrame) -> tuple[str | None, str | None]:
    """The file's CRS as ``EPSG:n`` (or its name) and its readable name; None when it has none."""
    if frame.crs is None:
        return None, None
    epsg = frame.crs.to_epsg()
    return (f"EPSG:{epsg}" if epsg else frame.crs.name), frame.crs.name


def _read(path: Path, label: str, fmt: str, options: ReadOptions) -> tuple[Any, list[Problem]]:
    if fmt == "csv":
        return _read_csv(path, label, options.encoding or "utf-8-sig")
    return read_source(path, label, fmt, options)


def _read_csv(path: Path, label: str, encoding: str) -> tuple[Any, list[Problem]]:
    """The CSV as a plain table (its geometry columns are chosen in the mapping step)."""
    try:
        text = path.read_bytes().decode(encoding)
    except UnicodeDecodeError as exc:
        message = f"cannot decode the file as {encoding}: {exc.reason}"
        return None, [Problem(label, None, "encoding", message)]
    except LookupError:
        return None, [Problem(label, None, "encoding", f"unknown encoding {encoding!r}")]
    try:
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        return None, [Problem(label, None, None, f"cannot parse the CSV: {exc}")]
    return table, []


def _encoding_failed(problems: list[Problem]) -> bool:
    return any(p.field == "encoding" for p in problems)


def preview_upload(
    *,
    settings: Settings,
    stream: IO[bytes],
    filename: str | None,
    encoding: str | None = None,
    layer: str | None = None,
    rows: int = PREVIEW_ROWS,
) -> dict[str, Any]:
    """Read an uploaded file without storing it: format, columns, first rows, encoding, CRS.

    Raises ServiceError 415 for a format the uploads do not take and AssetValidationError
    (422, every problem with file, feature, field) for a file that cannot be read.
    """
    name = safe_name(filename)
    fmt = detect_format(Path(name))
    if fmt in (None, "osm"):
        raise ServiceError(
            415,
            "unsupported-format",
            f"{name}: upload GeoJSON (.geojson), GeoPackage (.gpkg), a zipped Shapefile (.zip) "
            "or CSV (.csv)",
        )
    with upload_workdir(settings) as workdir:
        path = receive_file(stream=stream, filename=filename, workdir=workdir, settings=settings)
        options = ReadOptions(layer=layer or None, encoding=encoding or None)
        frame, problems = _read(path, name, fmt, options)
        used, origin = encoding, "given"
        if frame is None and not encoding and _encoding_failed(problems):
            for fallback in FALLBACK_ENCODINGS:
                retry, retry_problems = _read(
                    path, name, fmt, ReadOptions(layer=layer or None, encoding=fallback)
                )
                if retry is not None:
                    frame, problems, used, origin = retry, retry_problems, fallback, "detected"
                    break
        problems = scrub_paths(problems, workdir)
    if frame is None:
        raise AssetValidationError(problems or [Problem(name, None, None, "cannot read the file")])
    if used is None:
        origin = "file"  # the file's own .cpg / dBase id, else UTF-8: what the upload will do
    is_geo = isinstance(frame, gpd.GeoDataFrame)
    columns = [str(c) for c in frame.columns if not (is_geo and c == frame.geometry.name)]
    head = frame[columns].head(max(0, rows))
    crs, crs_name = _crs_name(frame) if is_geo else (None, None)
    geometry_types: list[str] = []
    if is_geo:
        geometry_types = sorted({str(t) for t in frame.geometry.geom_type.dropna().unique()})
    return {
        "file": name,
        "format": fmt,
        "feature_count": len(frame),
        "columns": columns,
        "rows": [[_cell(v) for v in row] for row in head.itertuples(index=False)],
        "encoding": used,
        "encoding_origin": origin,
        "crs": crs,
        "crs_name": crs_name,
        "geometry_types": geometry_types,
        "problems": [p.to_dict() for p in problems],
    }
