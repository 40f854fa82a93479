"""Shared plumbing for the GDAL-backed readers (pyogrio): read a layer, report failures by file."""

from __future__ import annotations

import warnings
from typing import Any

import geopandas as gpd
import pyogrio
import pyogrio.raw
import shapely
import shapely.errors

from gis_data.loading.errors import Problem
from gis_data.loading.sources import SourceError
from gis_data.loading.validate import SKIP


def read_layer(
    source: Any,
    *,
    layer: str | None,
    encoding: str | None,
    what: str,
    on_invalid: str = "raise",
) -> gpd.GeoDataFrame:
    """Read one layer with pyogrio, turning GDAL and decode errors into SourceError.

    ``on_invalid="ignore"`` reads geometries GEOS refuses as None (the caller names them).
    """
    try:
        with warnings.catch_warnings():
            # GDAL's warnings (e.g. an unclosed ring) reach the user as problems, not on stderr
            warnings.simplefilter("ignore", RuntimeWarning)
            frame = pyogrio.read_dataframe(
                source, layer=layer, encoding=encoding, on_invalid=on_invalid
            )
    except UnicodeDecodeError as exc:
        hint = ' (Japanese files are often cp932: set encoding = "cp932")'
        msg = (
            f"cannot decode the {what} as {encoding or 'utf-8'}: {exc.reason}"
            f"{hint if (encoding or 'utf-8').lower().replace('-', '') == 'utf8' else ''}"
        )
        raise SourceError(msg, field="encoding") from exc
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise SourceError(f"cannot read the {what}: {exc}") from exc
    except (pyogrio.errors.GeometryError, shapely.errors.GEOSException) as exc:
        # GEOS refuses some geometries GDAL passes through (a line of one point).
        raise SourceError(
            f"cannot read the geometries of the {what}: {exc}", field="geometry"
        ) from exc
    if not isinstance(frame, gpd.GeoDataFrame):
        raise SourceError(f"the {what} has no geometry column", field="geometry")
    return frame


_WKB_TYPES = {1: "Point", 2: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
              6: "MultiPolygon", 7: "GeometryCollection"}  # fmt: skip


def _wkb_type(wkb: bytes) -> str:
    if len(wkb) < 5:
        return "geometry"
    code = int.from_bytes(wkb[1:5], "little" if wkb[0] == 1 else "big")
    return _WKB_TYPES.get(code % 1000 & 0xFF, "geometry")


def read_layer_checked(
    source: Any, *, layer: str | None, encoding: str | None, what: str, label: str
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """`read_layer`, but a geometry GEOS refuses (a line of one point, a ring of two) is a
    problem naming its feature, and the other features are read, instead of failing the file.
    Such features are marked to skip the later geometry checks."""
    try:
        return read_layer(source, layer=layer, encoding=encoding, what=what), []
    except SourceError as exc:
        if exc.field != "geometry":
            raise
    frame = read_layer(source, layer=layer, encoding=encoding, what=what, on_invalid="ignore")
    try:
        _, _, wkbs, _ = pyogrio.raw.read(source, layer=layer, encoding=encoding, columns=[])
    except Exception:
        return frame, [
            Problem(label, None, "geometry", f"some geometries of the {what} are malformed")
        ]
    problems = []
    frame[SKIP] = False
    for i, wkb in enumerate(wkbs):
        if wkb is None or frame.geometry.iloc[i] is not None:
            continue
        try:
            shapely.from_wkb(wkb)
            reason = "it cannot be read"
        except shapely.errors.GEOSException as error:
            reason = str(error).strip().removeprefix("IllegalArgumentException: ")
        problems.append(Problem(label, i + 1, "geometry", f"malformed {_wkb_type(wkb)}: {reason}"))
        frame.loc[frame.index[i], SKIP] = True
    return frame, problems


def list_layers(source: Any, what: str) -> list[str]:
    """Names of the layers in a data source."""
    try:
        return [str(row[0]) for row in pyogrio.list_layers(source)]
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise SourceError(f"cannot open the {what}: {exc}") from exc
