"""Metric CRS choice (UTM, JGD2011 zones) and lengths/areas that agree with geodesic values."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod

from gis_data.loading.crs import areas_m2, jgd2011_zone, lengths_m, metric_crs_for, to_metric

GEOD = Geod(ellps="WGS84")


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (9.52, 47.14, 32632),  # Liechtenstein: UTM 32N
        (-74.0, 40.7, 32618),  # New York: UTM 18N
        (151.2, -33.9, 32756),  # Sydney: UTM 56S
        (138.95, 34.7, 6676),  # Izu (Shizuoka): JGD2011 zone VIII
        (139.7, 35.7, 6677),  # Tokyo: zone IX
        (135.5, 34.7, 6674),  # Osaka: zone VI
        (141.35, 43.06, 6680),  # Sapporo: zone XII
        (127.7, 26.2, 6683),  # Naha: zone XV
    ],
)
def test_metric_crs_for_a_point_area(lon: float, lat: float, epsg: int) -> None:
    """UTM outside Japan; in Japan the JGD2011 Plane Rectangular CS zone of the place."""
    assert metric_crs_for(shapely.Point(lon, lat).buffer(0.01)).to_epsg() == epsg


def test_prefecture_code_decides_the_zone_near_a_border() -> None:
    """Kanagawa's western edge is nearer zone VIII's origin but Kanagawa (14) is zone IX."""
    area = (139.0, 35.3, 139.1, 35.4)
    assert metric_crs_for(area, municipality_codes=["14382"]).to_epsg() == 6677
    assert jgd2011_zone(139.05, 35.35, 22) == 8  # the same place counted as Shizuoka


def test_metric_crs_rejects_projected_bounds() -> None:
    """Bounds in metres are refused with a message, not silently given a wrong zone."""
    with pytest.raises(ValueError, match="not a lon/lat position"):
        metric_crs_for((2_758_000, 1_222_000, 2_759_000, 1_223_000))


@pytest.mark.parametrize(
    ("lon", "lat"), [(9.52, 47.14), (138.95, 34.7), (141.35, 43.06), (-70.6, -33.4)]
)
def test_lengths_within_half_a_percent_of_geodesic(lon: float, lat: float) -> None:
    """Lines of 1-20 km in several directions: metric length within 0.5 % of the geodesic length."""
    rng = np.random.default_rng(7)
    lines = []
    for _ in range(20):
        bearing = rng.uniform(0, 360)
        distance = rng.uniform(1_000, 20_000)
        end_lon, end_lat, _ = GEOD.fwd(lon, lat, bearing, distance)
        lines.append(shapely.LineString([(lon, lat), (end_lon, end_lat)]))
    frame = gpd.GeoDataFrame(geometry=lines, crs=4326)
    geodesic = np.array([GEOD.geometry_length(g) for g in lines])
    metric = lengths_m(frame).to_numpy()
    assert np.abs(metric / geodesic - 1).max() < 0.005


def test_area_and_round_trip() -> None:
    """Areas agree with geodesic areas; projecting to metres and back returns the same geometry."""
    square = shapely.box(9.50, 47.10, 9.52, 47.12)
    frame = gpd.GeoDataFrame(geometry=[square, shapely.Point(9.51, 47.11)], crs=4326)
    geodesic = abs(GEOD.geometry_area_perimeter(square)[0])
    areas = areas_m2(frame)
    assert areas.iloc[0] == pytest.approx(geodesic, rel=0.005)
    assert areas.iloc[1] == 0.0
    back = to_metric(frame).to_crs(4326)
    assert back.geometry.iloc[0].equals_exact(square, 1e-9)
    assert to_metric(frame).crs.to_epsg() == 32632
