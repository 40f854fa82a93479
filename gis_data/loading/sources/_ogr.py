"""Shared plumbing for the GDAL-backed readers (pyogrio): read a layer, report failures by file."""

from __future__ import annotations

import warnings
from typing import Any

import geopandas as gpd
import pyogrio
import shapely.errors

from gis_data.loading.sources import SourceError


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


def list_layers(source: Any, what: str) -> list[str]:
    """Names of the layers in a data source."""
    try:
        return [str(row[0]) for row in pyogrio.list_layers(source)]
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise SourceError(f"cannot open the {what}: {exc}") from exc
