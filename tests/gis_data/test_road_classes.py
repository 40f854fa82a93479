"""The town's own road classes set patrol classes and speeds; unmapped values are warned about."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

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


def test_without_a_setting_a_class_column_is_found_and_told() -> None:
    from gis_data.planning.road_classes import classify_roads, detect_class_column

    assert detect_class_column(_assets()) == "道路種別"
    out, problems = classify_roads(_assets(), None)
    assert list(out["patrol_class"][:4]) == ["arterial_road", "arterial_road", "local_road",
                                             "local_road"]  # fmt: skip
    told = problems[0]
    assert (told.severity, told.field, told.file) == ("warning", "道路種別", "roads.zip")
    assert "1級 2, 2級 1, その他 1" in told.message
    assert "every 2 working days" in told.message
    assert [p.message.split(" of ")[0] for p in problems[1:]] == ["road class '農道'"]
    assert "of 2 asset(s)" in problems[1].message
    # No class column at all: local roads, nothing to tell.
    plain = _assets().drop(columns=["道路種別"])
    assert classify_roads(plain, None)[1] == []


def test_scenario_toml_road_classes_table(tmp_path: Path) -> None:
    import json

    from gis_data.loading.errors import AssetValidationError, ConfigError
    from gis_data.loading.load import load_scenario
    from tests.service.grid_scenario import write_grid_scenario

    toml = write_grid_scenario(tmp_path)
    doc = json.loads((tmp_path / "t1.geojson").read_text(encoding="utf-8"))
    for feature, value in zip(doc["features"], ["1級", "農道", "その他", "その他", "2級"],
                              strict=True):  # fmt: skip
        feature["properties"]["道路種別"] = value
    (tmp_path / "t1.geojson").write_text(json.dumps(doc), encoding="utf-8")
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text + '\n[road_classes]\ncolumn = "道路種別"\n', encoding="utf-8")
    scenario = load_scenario(toml)
    classes = dict(zip(scenario.assets["asset_id"], scenario.assets["patrol_class"], strict=True))
    assert classes["T1-Col0"] == "arterial_road"
    assert classes["T1-Col1"] == "local_road"
    assert [w.message for w in scenario.warnings if "農道" in w.message] == [
        "road class '農道' of 1 asset(s) has no patrol mapping: patrolled as local roads until"
        " it is mapped (setting road_classes.classes)"
    ]
    toml.write_text(text + '\n[road_classes]\ncolumn = "種別"\n', encoding="utf-8")
    with pytest.raises(AssetValidationError, match=r"\[road_classes\].*no road class column"):
        load_scenario(toml)
    toml.write_text(text + '\n[road_classes]\nclasses = { "1級" = "daily" }\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="road_classes"):
        load_scenario(toml)
