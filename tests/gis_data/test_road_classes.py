"""The town's own road classes set patrol classes and speeds; unmapped values are warned about."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pytest
from shapely import LineString, Point

from gis_data.planning.patrol_calendar import Frequencies, patrol_class
from gis_data.planning.road_classes import RoadClassSetting, apply_road_classes
from gis_data.planning.units import DEFAULT_INTERVAL_DAYS, patrol_interval_days


def _assets() -> gpd.GeoDataFrame:
    n = 7
    return gpd.GeoDataFrame(
        {
            "asset_id": [f"a{i}" for i in range(n)],
            "field": ["road"] * 6 + ["park"],
            "道路種別": ["1級", "１級市町村道", "2級", "その他", "農道", "農道", None],
            "service_speed_kmh": [np.nan, 12.0, np.nan, np.nan, np.nan, np.nan, np.nan],
            "source_file": ["roads.zip"] * 6 + ["parks.csv"],
        },
        geometry=[LineString([(0, i), (1, i)]) for i in range(6)] + [Point(0, 0)],
        crs=4326,
    )


def test_town_classes_map_to_patrol_classes_intervals_and_speeds() -> None:
    setting = RoadClassSetting.from_mapping(
        {"column": "道路種別", "speeds_kmh": {"1級": 25, "その他": 15}}
    )
    out, problems = apply_road_classes(_assets(), setting)
    assert list(out["patrol_class"][:4]) == [
        "arterial_road",
        "arterial_road",
        "local_road",
        "local_road",
    ]
    assert out["patrol_class"].iloc[6] is None  # a park is not a road
    # the asset's own speed stays; the class speed fills the others; no class speed: none set
    speeds = out["service_speed_kmh"].tolist()
    assert speeds[:2] == [25.0, 12.0]
    assert np.isnan(speeds[2])
    assert speeds[3] == 15.0
    day = dt.date(2026, 6, 1)
    rows = out.to_dict("records")
    assert Frequencies().interval(patrol_class(rows[0]), day) == 2  # 1級: every 2 working days
    assert Frequencies().interval(patrol_class(rows[2]), day) == 5
    assert patrol_interval_days(rows[1]) == DEFAULT_INTERVAL_DAYS["arterial_road"]
    # the unmapped value is a warning with the value and its count, never silent
    (warning,) = problems
    assert warning.severity == "warning"
    assert (warning.file, warning.field) == ("roads.zip", "道路種別")
    assert "'農道'" in warning.message
    assert "2 asset(s)" in warning.message
    assert list(out["patrol_class"][4:6]) == ["local_road", "local_road"]


def test_a_town_can_map_its_own_values() -> None:
    setting = RoadClassSetting.from_mapping(
        {"column": "道路種別", "classes": {"農道": "arterial_road"}}
    )
    out, problems = apply_road_classes(_assets(), setting)
    assert problems == []
    assert list(out["patrol_class"][4:6]) == ["arterial_road", "arterial_road"]
    with pytest.raises(ValueError, match="unknown patrol classes"):
        RoadClassSetting.from_mapping({"classes": {"農道": "daily"}})
    _, missing = apply_road_classes(_assets(), RoadClassSetting(column="class"))
    assert missing[0].severity == "error"
    assert "道路種別" in missing[0].message


def test_road_class_column_understood_without_setting() -> None:
    """A road_class of 1級 (道路種別 mapped at load) is arterial by default, like OSM primary."""
    assert patrol_class({"field": "road", "road_class": "1級"}) == "arterial_road"
    assert patrol_class({"field": "road", "road_class": "primary"}) == "arterial_road"
    assert patrol_class({"field": "road", "road_class": "その他"}) == "local_road"
    assert patrol_class({"field": "road", "road_class": None}) == "local_road"
