"""CSV reader: geometry from a WKT column or from lon/lat columns.

WKT coordinates have no CRS of their own (give ``crs`` in the scenario); lon/lat columns are
taken as EPSG:4326 unless the scenario says otherwise. All cells are read as text; extra
columns whose every value is a number become numeric.
"""

from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis_data.loading.errors import Problem
from gis_data.loading.sources import ReadOptions, SourceError

_WKT_NAMES = ("wkt", "WKT", "geometry", "geom", "the_geom")
_LON_NAMES = ("lon", "lng", "longitude", "経度")
_LAT_NAMES = ("lat", "latitude", "緯度")


def _pick(
    columns: list[str], configured: str | None, names: tuple[str, ...], key: str
) -> str | None:
    if configured is not None:
        if configured not in columns:
            raise SourceError(
                f"no column {configured!r} in the CSV; columns are {columns}", field=key
            )
        return configured
    lowered = {c.lower(): c for c in columns}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def _decode(raw: bytes, encoding: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        msg = f"cannot decode the file as {encoding}: {exc.reason} on line {line}"
        if encoding.lower().replace("-", "").startswith("utf8"):
            msg += ' (Japanese files are often cp932: set encoding = "cp932")'
        raise SourceError(msg, field="encoding") from exc
    except LookupError as exc:
        raise SourceError(f"unknown encoding {encoding!r}", field="encoding") from exc


def read(path: Path, label: str, options: ReadOptions) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Read a CSV table with one feature per row; rows with unusable geometry are problems."""
    text = _decode(path.read_bytes(), options.encoding or "utf-8-sig")
    try:
        table = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, sep=options.delimiter
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SourceError(f"cannot parse the CSV: {exc}") from exc
    columns = [str(c) for c in table.columns]
    problems: list[Problem] = []
    wkt_column = _pick(columns, options.wkt, _WKT_NAMES, "wkt")
    crs: str | None = None
    if wkt_column is not None and options.lon is None:
        texts = table[wkt_column].to_numpy(dtype=object)
        geoms = shapely.from_wkt(np.where(texts == "", None, texts), on_invalid="ignore")
        for i in np.flatnonzero(pd.isna(geoms) & (texts != "")):
            snippet = str(texts[i])[:40]
            problems.append(Problem(label, int(i) + 1, wkt_column, f"cannot parse WKT {snippet!r}"))
        table = table.drop(columns=[wkt_column])
    else:
        lon_column = _pick(columns, options.lon, _LON_NAMES, "lon")
        lat_column = _pick(columns, options.lat, _LAT_NAMES, "lat")
        if lon_column is None or lat_column is None:
            msg = (
                f"no geometry columns found among {columns}: name a WKT column with wkt = ... "
                "or coordinate columns with lon = ... and lat = ..."
            )
            raise SourceError(msg, field="geometry")
        lons = pd.to_numeric(table[lon_column].str.strip(), errors="coerce").to_numpy()
        lats = pd.to_numeric(table[lat_column].str.strip(), errors="coerce").to_numpy()
        for column, values in ((lon_column, lons), (lat_column, lats)):
            for i in np.flatnonzero(np.isnan(values)):
                raw_value = table[column].iat[int(i)]
                problems.append(Problem(label, int(i) + 1, column, f"not a number: {raw_value!r}"))
        ok = ~(np.isnan(lons) | np.isnan(lats))
        geoms = np.full(len(table), None, dtype=object)
        geoms[ok] = shapely.points(lons[ok], lats[ok])
        table = table.drop(columns=[lon_column, lat_column])
        crs = "EPSG:4326"
    for column in table.columns:
        values = table[column].replace("", np.nan)
        numeric = pd.to_numeric(values, errors="coerce")
        if numeric.notna().sum() == values.notna().sum() and values.notna().any():
            table[column] = numeric
        else:
            table[column] = values.astype(object).where(values.notna(), None)
    frame = gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geoms, index=table.index), crs=crs)
    return frame, problems
