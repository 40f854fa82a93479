"""Summary of an asset table: count, km of lines and km² of polygons per municipality and field."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gis_data.loading.crs import metric_crs_for
from gis_data.loading.errors import Problem

SUMMARY_KEYS = ("municipality", "field", "count", "km", "area_km2")


def summarize(assets: gpd.GeoDataFrame, *, metric_crs: CRS | None = None) -> list[dict[str, Any]]:
    """One row ``{"municipality", "field", "count", "km", "area_km2"}`` per town and field.

    ``km`` sums the lengths of line geometries and ``area_km2`` the areas of polygons, both
    in the metric CRS (chosen for the area when not given). Rows follow the order in which
    municipalities first appear, fields in schema order; values are rounded (km to 0.01,
    km² to 0.0001).
    """
    if assets.empty:
        return []
    crs = metric_crs if metric_crs is not None else metric_crs_for(assets)
    metric = assets.geometry.to_crs(crs).to_numpy()
    types = shapely.get_type_id(metric)
    is_line = np.isin(types, (1, 2, 5))
    is_area = np.isin(types, (3, 6))
    table = pd.DataFrame(
        {
            "municipality": assets["municipality"].to_numpy(),
            "field": assets["field"].to_numpy(),
            "km": np.where(is_line, shapely.length(metric), 0.0) / 1000.0,
            "area_km2": np.where(is_area, shapely.area(metric), 0.0) / 1e6,
        }
    )
    order = {m: i for i, m in enumerate(dict.fromkeys(table["municipality"]))}
    from gis_data.loading.schema import FIELDS

    grouped = table.groupby(["municipality", "field"], sort=False).agg(
        count=("km", "size"), km=("km", "sum"), area_km2=("area_km2", "sum")
    )
    rows = [
        {
            "municipality": str(municipality),
            "field": str(field),
            "count": int(values["count"]),
            "km": round(float(values["km"]), 2),
            "area_km2": round(float(values["area_km2"]), 4),
        }
        for (municipality, field), values in grouped.iterrows()
    ]
    field_rank = {f: i for i, f in enumerate(FIELDS)}
    rows.sort(
        key=lambda r: (order[str(r["municipality"])], field_rank.get(str(r["field"]), len(FIELDS)))
    )
    return rows


def render_table(rows: list[dict[str, Any]]) -> str:
    """The summary rows as an aligned text table with a total line."""
    header = ("municipality", "field", "count", "km", "area km²")
    body = [
        (
            r["municipality"],
            r["field"],
            f"{r['count']:,d}",
            f"{r['km']:.2f}",
            f"{r['area_km2']:.4f}",
        )
        for r in rows
    ]
    total = (
        "total",
        "",
        f"{sum(r['count'] for r in rows):,d}",
        f"{sum(r['km'] for r in rows):.2f}",
        f"{sum(r['area_km2'] for r in rows):.4f}",
    )
    all_rows = [header, *body, total]
    widths = [max(_width(row[i]) for row in all_rows) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        cells = [_pad(cell, widths[i], right=i >= 2) for i, cell in enumerate(row)]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in body), rule, line(total)])


def render_problems(problems: list[Problem]) -> str:
    """The validation report: one line per problem, errors first."""
    ordered = sorted(problems, key=lambda p: p.severity != "error")
    return "\n".join(str(p) for p in ordered)


def _width(text: str) -> int:
    # East Asian wide characters take two columns in a terminal.
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, *, right: bool) -> str:
    fill = " " * (width - _width(text))
    return fill + text if right else text + fill
