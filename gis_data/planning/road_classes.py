"""Road classes to patrol classes: the town's own 道路種別 as well as OSM highway tags.

Which roads are patrolled as arterial (every 2 working days by default) and which as local
(every 5, see `gis_data.planning.patrol_calendar.Frequencies`) follows the asset's road class:

=====================================  ===============  =========================================
road class value                       patrol class     why
=====================================  ===============  =========================================
1級 (1級市町村道, 一級, １級)           arterial_road    the town's trunk roads
2級 (2級市町村道, 二級)                 local_road       collector roads, patrolled weekly
その他 (その他市町村道)                  local_road       the many narrow residential roads
OSM motorway, trunk, primary,          arterial_road    as before for OSM-derived assets
secondary, tertiary and ``*_link``
any other OSM highway value            local_road
=====================================  ===============  =========================================

A scenario sets its own table (`RoadClassSetting`: the asset column holding the class, value ->
patrol class, value -> patrol speed). `apply_road_classes` writes the ``patrol_class`` (and,
where the asset has none, ``service_speed_kmh``) of every road asset and returns one warning per
value that has no mapping, naming the value and how many assets carry it: such assets are
patrolled as local roads, and the planner is told so, never silently.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_data.loading.errors import Problem
from gis_data.network.road_layer import lookup_class, normalize_class

ROAD_PATROL_CLASSES = ("arterial_road", "local_road")
_OSM_ARTERIAL = ("motorway", "trunk", "primary", "secondary", "tertiary")
_OSM_LOCAL = (
    "unclassified", "residential", "living_street", "service", "road", "track",
)  # fmt: skip

DEFAULT_ROAD_CLASSES: dict[str, str] = {
    "1級": "arterial_road",
    "2級": "local_road",
    "その他": "local_road",
    **dict.fromkeys(_OSM_ARTERIAL, "arterial_road"),
    **{f"{c}_link": "arterial_road" for c in _OSM_ARTERIAL},
    **dict.fromkeys(_OSM_LOCAL, "local_road"),
}


def road_patrol_class(row: Mapping[str, Any]) -> str:
    """``arterial_road`` or ``local_road`` for a road asset row.

    The row's ``patrol_class`` (set by `apply_road_classes`) wins; else its ``road_class`` looked
    up in `DEFAULT_ROAD_CLASSES`; else ``local_road``.
    """
    explicit = row.get("patrol_class")
    if isinstance(explicit, str) and explicit in ROAD_PATROL_CLASSES:
        return explicit
    found = lookup_class(normalize_class(row.get("road_class")), DEFAULT_ROAD_CLASSES)
    return str(found) if found in ROAD_PATROL_CLASSES else "local_road"


@dataclass(frozen=True)
class RoadClassSetting:
    """A scenario's road classes: which asset column, value -> patrol class, value -> speed."""

    column: str = "road_class"
    classes: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ROAD_CLASSES))
    speeds_kmh: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        bad = {v: c for v, c in self.classes.items() if c not in ROAD_PATROL_CLASSES}
        if bad:
            raise ValueError(
                f"road classes {sorted(bad)} map to unknown patrol classes"
                f" {sorted(set(bad.values()))}; use {list(ROAD_PATROL_CLASSES)}"
            )
        for value, speed in self.speeds_kmh.items():
            if not (isinstance(speed, int | float) and math.isfinite(speed) and speed > 0):
                raise ValueError(f"patrol speed of road class {value!r} must be > 0, got {speed!r}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> RoadClassSetting:
        """From a settings table ``{column, classes, speeds_kmh}``; given classes extend the
        defaults (a town's own values are added to, and may override, the table above)."""
        unknown = set(values) - {"column", "classes", "speeds_kmh"}
        if unknown:
            raise ValueError(f"unknown road class settings {sorted(unknown)}")
        return cls(
            column=str(values.get("column", "road_class")),
            classes={**DEFAULT_ROAD_CLASSES, **dict(values.get("classes", {}))},
            speeds_kmh={str(k): float(v) for k, v in dict(values.get("speeds_kmh", {})).items()},
        )


def apply_road_classes(
    assets: gpd.GeoDataFrame, setting: RoadClassSetting | None = None
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Set ``patrol_class`` (and missing ``service_speed_kmh``) of the road assets.

    Returns a copy and the problems: an error when the column is missing, one warning per class
    value with no mapping (value, number of assets, and that they are patrolled as local roads).
    Assets of other fields are left as they are.
    """
    setting = setting or RoadClassSetting()
    out = assets.copy()
    roads = (
        (out["field"] == "road").to_numpy() if "field" in out.columns else np.zeros(len(out), bool)
    )
    if "patrol_class" not in out.columns:
        out["patrol_class"] = None
    if not roads.any():
        return out, []
    if setting.column not in out.columns:
        columns = [str(c) for c in out.columns if c != out.geometry.name]
        msg = f"no road class column {setting.column!r} in the assets; columns are {columns}"
        return out, [Problem("road classes", None, setting.column, msg)]
    classes: list[Any] = []
    speeds: list[float] = []
    unmapped: Counter[str] = Counter()
    files: dict[str, set[str]] = {}
    sources = out["source_file"] if "source_file" in out.columns else pd.Series("", index=out.index)
    for value, road, source in zip(out[setting.column], roads, sources, strict=True):
        if not road:
            classes.append(None)
            speeds.append(math.nan)
            continue
        text = normalize_class(value)
        found = lookup_class(text, setting.classes)
        if found is None:
            unmapped[text] += 1
            files.setdefault(text, set()).add(str(source))
            found = "local_road"
        classes.append(found)
        speed = lookup_class(text, setting.speeds_kmh)
        speeds.append(float(speed) if speed is not None else math.nan)
    out["patrol_class"] = pd.Series(classes, index=out.index, dtype=object).where(
        roads, out["patrol_class"]
    )
    if "service_speed_kmh" in out.columns:
        own = pd.to_numeric(out["service_speed_kmh"], errors="coerce").astype("float64")
    else:
        own = pd.Series(math.nan, index=out.index, dtype="float64")
    out["service_speed_kmh"] = own.where(own.notna(), pd.Series(speeds, index=out.index))
    problems = [
        Problem(
            ", ".join(sorted(f for f in files[value] if f)) or "road classes",
            None,
            setting.column,
            f"road class {value or '(empty)'!r} of {count} asset(s) has no patrol mapping:"
            " patrolled as local roads until it is mapped (setting road_classes.classes)",
            "warning",
        )
        for value, count in sorted(unmapped.items())
    ]
    return out, problems


_TOWN_CLASSES = ("1級", "2級", "その他")
_MERGED = "__road_class__"
# Schema columns never read as a road class column.
_NOT_CLASSES = {"asset_id", "municipality_code", "municipality", "field", "kind", "name", "side",
                "source_file", "source_row", "patrol_class"}  # fmt: skip


def detect_class_column(assets: gpd.GeoDataFrame) -> str | None:
    """The column of the road assets holding town road classes (1級/2級/その他), or None.

    A column qualifies when at least half of its non-empty road values are such classes
    (``1級市町村道``, ``一級`` ... count); the one with the most of them wins.
    """
    if "field" not in assets.columns:
        return None
    roads = assets[assets["field"] == "road"]
    best, best_count = None, 0
    for column in roads.columns:
        if column == roads.geometry.name or str(column) in _NOT_CLASSES:
            continue
        values = [normalize_class(v) for v in roads[column]]
        values = [v for v in values if v]
        found = sum(lookup_class(v, dict.fromkeys(_TOWN_CLASSES, 1)) is not None for v in values)
        if found and found * 2 >= len(values) and found > best_count:
            best, best_count = str(column), found
    return best


def classify_roads(
    assets: gpd.GeoDataFrame, setting: RoadClassSetting | None
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """The patrol classes of a scenario's road assets, from its setting or the defaults.

    With a setting: `apply_road_classes`. Without one, the default table is read from the
    ``road_class`` column; when there is none but a column holds town classes (a 道路台帳's
    道路種別), that column is read with the defaults and a warning says so, with the count per
    class and what the defaults make of it, so a town's classes are never silently ignored.
    Road assets with no class column at all are local roads (every 5 working days), as before.
    """
    if setting is not None:
        return apply_road_classes(assets, setting)
    column = detect_class_column(assets)
    if column is None or column == "road_class":
        if "road_class" in assets.columns:
            return apply_road_classes(assets, RoadClassSetting())
        out = assets.copy()
        if "patrol_class" not in out.columns:
            out["patrol_class"] = None
        return out, []
    # The detected column, completed by road_class (OSM highway values) where it is empty.
    merged = assets[column].where(assets[column].map(normalize_class) != "")
    if "road_class" in assets.columns:
        merged = merged.fillna(assets["road_class"])
    work = assets.assign(**{_MERGED: merged})
    out, problems = apply_road_classes(work, RoadClassSetting(column=_MERGED))
    out = out.drop(columns=[_MERGED])
    problems = [dataclasses.replace(p, field=column) for p in problems]
    roads = assets[assets["field"] == "road"]
    town = dict(zip(_TOWN_CLASSES, _TOWN_CLASSES, strict=True))
    counts = Counter(lookup_class(normalize_class(v), town) for v in roads[column])
    told = ", ".join(f"{c} {counts[c]}" for c in _TOWN_CLASSES if counts[c])
    message = (
        f"no road class setting: column {column!r} read as the road class with the defaults"
        f" ({told} asset(s); 1級 patrolled as arterial roads every 2 working days, 2級 and その他"
        " as local roads every 5); set road_classes.column and road_classes.classes to change"
    )
    sources = roads["source_file"] if "source_file" in roads.columns else []
    where = ", ".join(sorted({str(f) for f in sources if isinstance(f, str) and f}))
    return out, [Problem(where or "road classes", None, column, message, "warning"), *problems]
