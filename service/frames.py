"""Conversion between gis_data GeoDataFrames and stored rows (assets, depots)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import PurePath
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from gis_data.loading.schema import ASSET_COLUMNS, ASSET_CRS
from service import crud

# Asset columns kept in their own table columns; every other column goes to `properties`.
_OWN_COLUMNS = (
    "asset_id",
    "municipality_code",
    "municipality",
    "field",
    "kind",
    "name",
    "geometry",
)


def json_value(value: Any) -> Any:
    """A JSON-safe version of a table cell (NaN -> None, numpy -> Python, dates -> ISO)."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dt.date | dt.datetime | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, str | int | float | bool):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def asset_features(assets: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """Rows for `crud.add_layer` from an asset table in the gis_data schema (EPSG:4326)."""
    if assets.crs is not None and not assets.crs.equals(ASSET_CRS):
        assets = assets.to_crs(ASSET_CRS)
    extra = [c for c in assets.columns if c not in _OWN_COLUMNS]
    features = []
    for row in assets.itertuples(index=False):
        values = row._asdict()
        properties = {c: json_value(values[c]) for c in extra}
        source_file = properties.get("source_file")
        if isinstance(source_file, str):
            # Keep the file name only: server paths are never shown.
            properties["source_file"] = PurePath(source_file).name
        features.append(
            {
                "geometry": values["geometry"],
                "asset_id": values["asset_id"],
                "municipality_code": values["municipality_code"],
                "municipality": values["municipality"],
                "field": values["field"],
                "kind": values["kind"],
                "name": json_value(values["name"]) or "",
                "properties": properties,
            }
        )
    return features


def assets_frame(
    session: Session, scenario_id: int, *, layer_id: int | None = None
) -> gpd.GeoDataFrame:
    """The stored assets of a scenario (or one layer) as a gis_data asset table."""
    rows = crud.list_assets(session=session, scenario_id=scenario_id, layer_id=layer_id)
    records = []
    for asset in rows:
        record: dict[str, Any] = dict(asset.properties)
        record.update(
            asset_id=asset.asset_id,
            municipality_code=asset.municipality_code,
            municipality=asset.municipality,
            field=asset.field,
            kind=asset.kind,
            name=asset.name or None,
            geometry=asset.geom,
        )
        records.append(record)
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame(columns=ASSET_COLUMNS)
    for column in ASSET_COLUMNS:
        if column not in frame.columns:
            frame[column] = np.nan
    for column in ("patrol_interval_days", "service_minutes", "service_speed_kmh"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    ordered = list(ASSET_COLUMNS) + [c for c in frame.columns if c not in ASSET_COLUMNS]
    return gpd.GeoDataFrame(frame[ordered], geometry="geometry", crs=ASSET_CRS)


def depot_rows(depots: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """Keyword arguments for `crud.add_depot` from a gis_data depot table."""
    rows = []
    for row in depots.to_crs(ASSET_CRS).itertuples(index=False):
        values = row._asdict()
        rows.append(
            {
                "depot_id": str(values["depot_id"]),
                "name": str(json_value(values.get("name")) or ""),
                "municipality_code": str(json_value(values.get("municipality_code")) or ""),
                "kind": str(json_value(values.get("kind")) or "town"),
                "properties": {"kind": json_value(values.get("kind"))},
                "geom": values["geometry"],
            }
        )
    return rows
