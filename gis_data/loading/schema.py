"""The asset schema: one GeoDataFrame in EPSG:4326 for every municipality, field and source.

Columns of an asset table, in order (``ASSET_COLUMNS``):

``asset_id`` (str)
    Unique over the whole scenario. Taken from the source when a column is mapped to it,
    otherwise generated as ``<municipality_code>:<file stem>:<row>``.
``municipality_code`` (str)
    The municipality's code (e.g. ``LI-7001``, or the Japanese 行政区域コード ``22219``).
``municipality`` (str)
    The municipality's name as given in the scenario (Japanese names are kept as they are).
``field`` (str)
    One of ``FIELDS``: road, river, park, sewer, other (分野).
``kind`` (str)
    What the asset is: road_segment, river_bank, drain, park, playground, recreation_ground,
    bridge, tunnel, sign, ... (``KNOWN_KINDS`` lists the usual ones; others are accepted).
    Line kinds (``LINE_KINDS``) must have line geometry.
``name`` (str or None)
    The asset's name (路線名, river name, park name), None when the source has none.
``patrol_interval_days`` (float)
    Days between two patrols of this asset; NaN means the default of its class.
``service_minutes`` (float)
    On-site time per visit for point and polygon assets; NaN means the default.
``service_speed_kmh`` (float)
    Patrol speed along linear assets; NaN means the default.
``side`` (str)
    ``"both"`` (both sides served in one pass, or sides do not matter) or ``"one"``
    (each side needs its own pass).
``source_file`` (str)
    The file the asset came from, as written in the scenario.
``source_row`` (int)
    The 1-based feature/row number in that file (the row number of a CSV below its header).
``geometry``
    Shapely geometry in EPSG:4326: lines for roads and river banks, polygons or points for
    parks and structures.

Any other column of a source file is kept as an extra column after these, under its own name
or the name the scenario maps it to. By convention ``road_class`` holds the OSM ``highway``
value of a road (the calendar uses it to tell arterial from local roads).
"""

from __future__ import annotations

from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd

FIELDS: Final = ("road", "river", "park", "sewer", "other")

ASSET_COLUMNS: Final = (
    "asset_id",
    "municipality_code",
    "municipality",
    "field",
    "kind",
    "name",
    "patrol_interval_days",
    "service_minutes",
    "service_speed_kmh",
    "side",
    "source_file",
    "source_row",
    "geometry",
)

# Columns a source may fill through the scenario's column mapping.
MAPPABLE_COLUMNS: Final = (
    "asset_id",
    "field",
    "kind",
    "name",
    "patrol_interval_days",
    "service_minutes",
    "service_speed_kmh",
    "side",
)

NUMERIC_COLUMNS: Final = ("patrol_interval_days", "service_minutes", "service_speed_kmh")
SIDES: Final = ("both", "one")

KNOWN_KINDS: Final = (
    "road_segment",
    "river_bank",
    "drain",
    "park",
    "playground",
    "recreation_ground",
    "bridge",
    "tunnel",
    "sign",
    "light",
    "pipe",
    "pump_station",
    "treatment_plant",
)
LINE_KINDS: Final = ("road_segment", "river_bank", "drain", "pipe")

ASSET_CRS: Final = "EPSG:4326"


def empty_assets() -> gpd.GeoDataFrame:
    """An asset table with the schema's columns and no rows."""
    data: dict[str, pd.Series] = {}
    for column in ASSET_COLUMNS[:-1]:
        if column in NUMERIC_COLUMNS:
            data[column] = pd.Series([], dtype="float64")
        elif column == "source_row":
            data[column] = pd.Series([], dtype="int64")
        else:
            data[column] = pd.Series([], dtype="object")
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=ASSET_CRS), crs=ASSET_CRS)


def order_columns(assets: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Put the schema's columns first, in order, then the extra columns in their order."""
    extra = [c for c in assets.columns if c not in ASSET_COLUMNS]
    return assets[[*ASSET_COLUMNS, *extra]]


def coerce_types(assets: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Give the schema's columns their documented types (numbers as float, ids as str)."""
    out = assets.copy()
    for column in NUMERIC_COLUMNS:
        out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64")
    out["source_row"] = out["source_row"].astype("int64")
    for column in ("asset_id", "municipality_code", "municipality", "field", "kind", "side"):
        out[column] = out[column].astype(str)
    names = out["name"].astype(object)
    absent = missing_mask(names).to_numpy()
    values = np.full(len(names), None, dtype=object)
    values[~absent] = names[~absent].astype(str).to_numpy(dtype=object)
    out["name"] = pd.Series(values, index=out.index, dtype=object)
    return out


def is_missing(value: object) -> bool:
    """True for None, NaN and empty strings (how sources spell 'no value')."""
    if isinstance(value, str):
        return value.strip() == ""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and bool(np.isnan(value))


# Other spellings accepted for the field column (Japanese names of the fields, 分野).
FIELD_ALIASES: Final = {
    "道路": "road",
    "河川": "river",
    "公園": "park",
    "下水道": "sewer",
    "その他": "other",
}


def missing_mask(values: pd.Series) -> pd.Series:
    """Boolean Series: True where a value is missing (None, NaN or a blank string)."""
    absent = values.isna()
    if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return absent
    text = values.where(~absent, "").astype(str)
    return absent | text.str.strip().eq("")
