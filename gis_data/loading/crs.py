"""Metric CRS per area (UTM, or JGD2011 Plane Rectangular CS in Japan), lengths and areas."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Final, TypeAlias

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import CRS

# JGD2011 / Japan Plane Rectangular CS zones I..XIX are EPSG:6669..6687; origins (lat, lon).
_JGD2011_ZONE_ORIGINS: Final = {
    1: (33.0, 129.5),
    2: (33.0, 131.0),
    3: (36.0, 132 + 10 / 60),
    4: (33.0, 133.5),
    5: (36.0, 134 + 20 / 60),
    6: (36.0, 136.0),
    7: (36.0, 137 + 10 / 60),
    8: (36.0, 138.5),
    9: (36.0, 139 + 50 / 60),
    10: (40.0, 140 + 50 / 60),
    11: (44.0, 140.25),
    12: (44.0, 142.25),
    13: (44.0, 144.25),
    14: (26.0, 142.0),
    15: (26.0, 127.5),
    16: (26.0, 124.0),
    17: (26.0, 131.0),
    18: (20.0, 136.0),
    19: (26.0, 154.0),
}
_MAINLAND_ZONES: Final = tuple(range(1, 14))
# Zone -> its EPSG code.
PLANE_ZONE_EPSG: Final = {zone: 6668 + zone for zone in _JGD2011_ZONE_ORIGINS}

# Zone of each prefecture (the first two digits of a 行政区域コード), as fixed by MLIT notice.
# Hokkaido (01), Tokyo (13) and Okinawa (47) span several zones and are resolved by position.
_PREFECTURE_ZONE: Final = {
    2: 10, 3: 10, 4: 10, 5: 10, 6: 10, 7: 9, 8: 9, 9: 9, 10: 9, 11: 9, 12: 9, 14: 9,
    15: 8, 16: 7, 17: 7, 18: 6, 19: 8, 20: 8, 21: 7, 22: 8, 23: 7, 24: 6, 25: 6, 26: 6,
    27: 6, 28: 5, 29: 6, 30: 6, 31: 5, 32: 3, 33: 5, 34: 3, 35: 3, 36: 4, 37: 4, 38: 4,
    39: 4, 40: 2, 41: 2, 42: 1, 43: 2, 44: 2, 45: 2, 46: 2,
}  # fmt: skip

GeometryLike: TypeAlias = shapely.Geometry | gpd.GeoDataFrame | gpd.GeoSeries | Sequence[float]


def _bounds(area: GeometryLike) -> tuple[float, float, float, float]:
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        if area.crs is not None and not CRS.from_user_input(area.crs).equals(CRS.from_epsg(4326)):
            area = area.to_crs(4326)
        minx, miny, maxx, maxy = (float(v) for v in area.total_bounds)
    elif isinstance(area, shapely.Geometry):
        minx, miny, maxx, maxy = (float(v) for v in area.bounds)
    else:
        minx, miny, maxx, maxy = (float(v) for v in area)
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        msg = "cannot choose a metric CRS for an empty area (bounds are NaN)"
        raise ValueError(msg)
    return minx, miny, maxx, maxy


def in_japan(lon: float, lat: float) -> bool:
    """True when a lon/lat point lies in the box that holds Japan's territory."""
    return 122.0 <= lon <= 154.5 and 20.0 <= lat <= 46.0


def prefecture_of(code: str) -> int | None:
    """The prefecture (01-47) of a 5- or 6-digit 行政区域コード; None for any other code."""
    return int(code[:2]) if len(code) in (5, 6) and code.isdigit() else None


def jgd2011_zone(lon: float, lat: float, prefecture: int | None = None) -> int:
    """The JGD2011 Plane Rectangular CS zone (1..19) for a point, by prefecture code when given.

    Without a prefecture the zone whose origin is nearest (in the mainland zones I-XIII, or
    all zones south of 28°N) is taken, which matches the official zone for most of Honshu,
    Shikoku and Kyushu; give the prefecture code for exact results near zone borders.
    """
    if prefecture in _PREFECTURE_ZONE:
        return _PREFECTURE_ZONE[prefecture]
    if prefecture == 1:  # Hokkaido: west / central / east
        return 11 if lon < 141.2 else (12 if lon < 143.0 else 13)
    candidates: Iterable[int] = _MAINLAND_ZONES if lat >= 28.0 else _JGD2011_ZONE_ORIGINS
    if prefecture == 13 and lat >= 28.0:
        return 9
    return min(
        candidates,
        key=lambda z: (
            ((lon - _JGD2011_ZONE_ORIGINS[z][1]) * math.cos(math.radians(lat))) ** 2
            + ((lat - _JGD2011_ZONE_ORIGINS[z][0]) / 3) ** 2
        ),  # zones are tall: favour longitude
    )


def utm_crs(lon: float, lat: float) -> CRS:
    """The WGS 84 UTM zone CRS holding a lon/lat point (EPSG:326xx north, 327xx south)."""
    zone = min(60, int((lon + 180.0) // 6.0) + 1)
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def metric_crs_for(area: GeometryLike, *, municipality_codes: Iterable[str] = ()) -> CRS:
    """Choose a metric CRS for an area given in EPSG:4326 (geometry, GeoDataFrame or bounds).

    In Japan the JGD2011 Plane Rectangular CS zone (EPSG:6669..6687) is used, found from
    the prefecture part of 5-digit 行政区域コード when all codes agree, otherwise from the
    position. Elsewhere the UTM zone of the area's centre is used.
    """
    minx, miny, maxx, maxy = _bounds(area)
    lon, lat = (minx + maxx) / 2, (miny + maxy) / 2
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        msg = f"area centre ({lon}, {lat}) is not a lon/lat position: give the area in EPSG:4326"
        raise ValueError(msg)
    if in_japan(lon, lat):
        prefectures = {prefecture_of(c) for c in municipality_codes} - {None}
        prefecture = prefectures.pop() if len(prefectures) == 1 else None
        return CRS.from_epsg(PLANE_ZONE_EPSG[jgd2011_zone(lon, lat, prefecture)])
    return utm_crs(lon, lat)


def to_metric(gdf: gpd.GeoDataFrame, crs: CRS | str | int | None = None) -> gpd.GeoDataFrame:
    """The frame projected to ``crs`` (default: the metric CRS chosen for its area)."""
    if gdf.crs is None:
        msg = "the GeoDataFrame has no CRS: set it before projecting"
        raise ValueError(msg)
    return gdf.to_crs(crs if crs is not None else metric_crs_for(gdf))


def lengths_m(gdf: gpd.GeoDataFrame | gpd.GeoSeries, crs: CRS | None = None) -> pd.Series:
    """Length of each geometry in metres (0 for points; a polygon's perimeter)."""
    series = gdf.geometry if isinstance(gdf, gpd.GeoDataFrame) else gdf
    if len(series) == 0:
        return pd.Series([], dtype="float64", index=series.index)
    projected = series.to_crs(crs if crs is not None else metric_crs_for(series))
    return pd.Series(shapely.length(projected.values), index=series.index, dtype="float64")


def areas_m2(gdf: gpd.GeoDataFrame | gpd.GeoSeries, crs: CRS | None = None) -> pd.Series:
    """Area of each geometry in square metres (0 for points and lines)."""
    series = gdf.geometry if isinstance(gdf, gpd.GeoDataFrame) else gdf
    if len(series) == 0:
        return pd.Series([], dtype="float64", index=series.index)
    projected = series.to_crs(crs if crs is not None else metric_crs_for(series))
    return pd.Series(shapely.area(projected.values), index=series.index, dtype="float64")
