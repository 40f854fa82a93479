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
