"""Validation of loaded features (CRS, geometry, attributes, ids, position), listing every problem.

Each check returns Problem records (file, 1-based feature number, field, message) instead of
stopping at the first one; the loader gathers them and raises one AssetValidationError.
A check that would report the same fault on a great many features of one file (typically a
wrong CRS) lists the first ``MAX_LISTED`` and then one summary problem with the count.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from gis_data.loading.errors import Problem
from gis_data.loading.schema import (
    FIELD_ALIASES,
    FIELDS,
    LINE_KINDS,
    NUMERIC_COLUMNS,
    SIDES,
    is_missing,
    missing_mask,
)

MAX_LISTED = 50
ROW = "_row"  # private column: the 1-based feature number in the source file
SKIP = "_skip"  # private column: geometry already reported, skip further geometry checks

_WGS84 = CRS.from_epsg(4326)


def _capped(label: str, rows: np.ndarray, field: str, messages: list[str]) -> list[Problem]:
    problems = [
        Problem(label, int(row), field, message)
        for row, message in zip(rows[:MAX_LISTED], messages[:MAX_LISTED], strict=False)
    ]
    if len(rows) > MAX_LISTED:
        more = len(rows) - MAX_LISTED
        problems.append(
            Problem(label, None, field, f"... and {more} more features with the same problem")
        )
    return problems


def parse_crs(value: str, label: str, field: str = "crs") -> tuple[CRS | None, list[Problem]]:
    """A pyproj CRS from the scenario's text, or a problem naming it."""
    try:
        return CRS.from_user_input(value), []
    except CRSError:
        return None, [Problem(label, None, field, f"unknown CRS {value!r}; use e.g. 'EPSG:2056'")]


def _swapped_fits(geoms: np.ndarray) -> bool:
    """True when every coordinate would be a valid lon/lat with its two axes swapped."""
    bounds = shapely.bounds(geoms)
    with np.errstate(invalid="ignore"):
        return bool(
            np.isfinite(bounds).all()
            and (bounds[:, 0] >= -90).all()
            and (bounds[:, 2] <= 90).all()
            and (bounds[:, 1] >= -180).all()
            and (bounds[:, 3] <= 180).all()
        )


def out_of_lonlat_range(geoms: np.ndarray) -> np.ndarray:
    """Mask of geometries with a coordinate outside [-180, 180] x [-90, 90] (or not finite)."""
    bounds = shapely.bounds(geoms)
    present = ~np.isnan(bounds[:, 0]) | ~shapely.is_empty(geoms)
    with np.errstate(invalid="ignore"):
        bad = (
            (bounds[:, 0] < -180)
            | (bounds[:, 2] > 180)
            | (bounds[:, 1] < -90)
            | (bounds[:, 3] > 90)
            | ~np.isfinite(bounds).all(axis=1)
        )
    return present & bad & ~shapely.is_empty(geoms) & ~pd.isna(geoms)


def apply_crs(
    frame: gpd.GeoDataFrame, label: str, configured: str | None
) -> tuple[gpd.GeoDataFrame | None, list[Problem]]:
    """Give the frame its CRS (configured one overrides the file's) and project it to EPSG:4326.

    Reports: no CRS at all, an unknown configured CRS, lon/lat data whose coordinates are out
    of range (typically metric coordinates declared as EPSG:4326), and coordinates that the
    transformation cannot handle. Features reported here are marked to skip later geometry checks.
    """
    problems: list[Problem] = []
    source_crs = CRS.from_user_input(frame.crs) if frame.crs is not None else None
    if configured is not None:
        chosen, crs_problems = parse_crs(configured, label)
        if chosen is None:
            return None, crs_problems
        if source_crs is not None and not source_crs.equals(chosen, ignore_axis_order=True):
            msg = (
                f"the file declares {source_crs.to_string()} but the scenario says "
                f"{chosen.to_string()}; using the scenario's CRS"
            )
            problems.append(Problem(label, None, "crs", msg, "warning"))
        source_crs = chosen
    if source_crs is None:
        msg = 'the file has no CRS and the scenario gives none: add crs = "EPSG:..." to this source'
        return None, [*problems, Problem(label, None, "crs", msg)]
    frame = frame.set_crs(source_crs, allow_override=True)
    if SKIP not in frame.columns:
        frame[SKIP] = False
    geoms = frame.geometry.to_numpy()
    if source_crs.is_geographic:
        bad = out_of_lonlat_range(geoms)
        present = ~(pd.isna(geoms) | shapely.is_empty(geoms))
        if bad.any() and bool(bad[present].all()) and _swapped_fits(geoms[present]):
            # every feature is (lat, lon): one problem for the file, not one per feature
            x, y = shapely.bounds(geoms[present])[0, :2]
            msg = (
                f"latitude and longitude look swapped: every feature has its first coordinate"
                f" in the latitude range and its second beyond ±90° (e.g. ({x:.6g}, {y:.6g}));"
                " swap them (the lon and lat columns, or the axis order of the export)"
            )
            frame[SKIP] = True
            return frame, [*problems, Problem(label, None, "geometry", msg)]
        if bad.any():
            rows = frame[ROW].to_numpy()[bad]
            x, y = shapely.bounds(geoms[bad])[:, 0], shapely.bounds(geoms[bad])[:, 1]
            messages = [
                f"coordinates ({a:.6g}, {b:.6g}) are outside the lon/lat range of "
                f"{source_crs.to_string()}: the data look projected (metric); "
                'declare the real CRS with crs = "EPSG:..."'
                for a, b in zip(x, y, strict=True)
            ]
            problems += _capped(label, rows, "geometry", messages)
            frame.loc[bad, SKIP] = True
    elif len(geoms) and not out_of_lonlat_range(geoms).any():
        # Every coordinate within 180 m of a projected CRS's false origin: lon/lat degrees
        # mislabelled as metres (real assets never all sit at the origin).
        msg = (
            f"every coordinate lies within the lon/lat range, but {source_crs.to_string()} is "
            'projected (metres): the data look like degrees; declare crs = "EPSG:4326"'
        )
        return None, [*problems, Problem(label, None, "crs", msg)]
    if not source_crs.equals(_WGS84):
        frame = frame.to_crs(_WGS84)
    geoms = frame.geometry.to_numpy()
    bad = out_of_lonlat_range(geoms) & ~frame[SKIP].to_numpy()
    if bad.any():
        rows = frame[ROW].to_numpy()[bad]
        msg = f"coordinates cannot be transformed from {source_crs.to_string()} to EPSG:4326"
        problems += _capped(label, rows, "geometry", [msg] * len(rows))
        frame.loc[bad, SKIP] = True
    return frame, problems


def check_geometries(
    frame: gpd.GeoDataFrame, label: str, *, repair: bool
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Report empty and invalid geometries; ``repair`` fixes them (make_valid, drop) as warnings."""
    problems: list[Problem] = []
    geoms = frame.geometry.to_numpy()
    todo = ~frame[SKIP].to_numpy()
    empty = todo & (pd.isna(geoms) | shapely.is_empty(geoms))
    if empty.any():
        rows = frame[ROW].to_numpy()[empty]
        if repair:
            problems += [
                Problem(
                    label, int(r), "geometry", "empty geometry: feature dropped (repair)", "warning"
                )
                for r in rows
            ]
            frame = frame[~empty].copy()
            geoms = frame.geometry.to_numpy()
            todo = ~frame[SKIP].to_numpy()
        else:
            msg = "empty or missing geometry (use --repair to drop such features)"
            problems += _capped(label, rows, "geometry", [msg] * len(rows))
            frame.loc[empty, SKIP] = True
            todo = todo & ~empty
    present = todo & ~pd.isna(geoms)
    invalid = np.zeros(len(frame), dtype=bool)
    invalid[present] = ~shapely.is_valid(geoms[present])
    if invalid.any():
        reasons = shapely.is_valid_reason(geoms[invalid])
        rows = frame[ROW].to_numpy()[invalid]
        if repair:
            fixed = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
            frame.loc[invalid, frame.geometry.name] = fixed
            problems += [
                Problem(
                    label,
                    int(r),
                    "geometry",
                    f"invalid geometry ({why}) repaired with make_valid",
                    "warning",
                )
                for r, why in zip(rows, reasons, strict=True)
            ]
        else:
            messages = [
                f"invalid geometry: {why} (use --repair to fix with make_valid)" for why in reasons
            ]
            problems += _capped(label, rows, "geometry", messages)
            frame.loc[invalid, SKIP] = True
    return frame, problems


def check_attributes(assets: gpd.GeoDataFrame, label: str) -> list[Problem]:
    """Check field, kind, side and the patrol numbers of one source's assets."""
    problems: list[Problem] = []
    rows = assets[ROW].to_numpy()

    field = assets["field"]
    missing = missing_mask(field).to_numpy()
    if missing.any():
        msg = 'no field: map a column to field or set field = "road" (river, park, ...)'
        problems += _capped(label, rows[missing], "field", [msg] * int(missing.sum()))
    unknown = ~missing & ~field.isin(FIELDS).to_numpy()
    if unknown.any():
        values = field.to_numpy()[unknown]
        messages = [f"unknown field {v!r}; fields are {', '.join(FIELDS)}" for v in values]
        problems += _capped(label, rows[unknown], "field", messages)

    kind_missing = missing_mask(assets["kind"]).to_numpy()
    if kind_missing.any():
        msg = 'no kind: map a column to kind or set kind = "road_segment" (park, ...)'
        problems += _capped(label, rows[kind_missing], "kind", [msg] * int(kind_missing.sum()))

    line_kind = assets["kind"].isin(LINE_KINDS).to_numpy() & ~assets[SKIP].to_numpy()
    geom_types = shapely.get_type_id(assets.geometry.to_numpy())
    not_line = line_kind & ~np.isin(geom_types, (1, 5)) & (geom_types >= 0)
    if not_line.any():
        kinds = assets["kind"].to_numpy()[not_line]
        geoms = assets.geometry.to_numpy()[not_line]
        messages = [
            f"kind {k!r} needs a line geometry, got {g.geom_type}"
            for k, g in zip(kinds, geoms, strict=True)
        ]
        problems += _capped(label, rows[not_line], "geometry", messages)

    bad_side = ~assets["side"].isin(SIDES).to_numpy()
    if bad_side.any():
        messages = [
            f"side must be 'both' or 'one', got {v!r}" for v in assets["side"].to_numpy()[bad_side]
        ]
        problems += _capped(label, rows[bad_side], "side", messages)

    for column in NUMERIC_COLUMNS:
        raw = assets[column]
        numbers = pd.to_numeric(raw, errors="coerce")
        not_number = (numbers.isna() & ~missing_mask(raw)).to_numpy()
        if not_number.any():
            messages = [f"not a number: {v!r}" for v in raw.to_numpy()[not_number]]
            problems += _capped(label, rows[not_number], column, messages)
        negative = (numbers < 0).to_numpy()
        if negative.any():
            messages = [f"must be >= 0, got {v}" for v in numbers.to_numpy()[negative]]
            problems += _capped(label, rows[negative], column, messages)
    return problems


def check_duplicate_ids(assets: pd.DataFrame) -> list[Problem]:
    """One problem per repeated asset_id (within a file or across files), naming the first use."""
    ids = assets["asset_id"].astype(str)
    repeated = ids.duplicated(keep="first").to_numpy()
    if not repeated.any():
        return []
    first = assets.loc[~ids.duplicated(keep="first")].set_index(ids[~ids.duplicated(keep="first")])
    problems = []
    for pos in np.flatnonzero(repeated):
        asset_id = ids.iat[pos]
        other = first.loc[asset_id]
        where = f"{other['source_file']} feature {int(other['source_row'])}"
        problems.append(
            Problem(
                str(assets["source_file"].iat[pos]),
                int(assets["source_row"].iat[pos]),
                "asset_id",
                f"duplicate asset_id {asset_id!r}: already used by {where}",
            )
        )
    return problems


def check_within(
    assets: gpd.GeoDataFrame,
    boundaries: Mapping[str, shapely.Geometry],
    *,
    metric_crs: CRS,
    tolerance_m: float,
    names: Mapping[str, str] | None = None,
) -> list[Problem]:
    """Report assets reaching farther than ``tolerance_m`` outside their municipality's boundary.

    ``boundaries`` maps municipality_code to its polygon in EPSG:4326; assets of a
    municipality without a boundary are not checked. Catches both a wrong municipality and
    a plausible-looking wrong CRS.
    """
    problems: list[Problem] = []
    if assets.empty:
        return problems
    skip = assets[SKIP].to_numpy() if SKIP in assets.columns else np.zeros(len(assets), dtype=bool)
    metric = assets.geometry.to_crs(metric_crs).to_numpy()
    codes = assets["municipality_code"].to_numpy()
    for code, boundary in boundaries.items():
        if boundary is None or shapely.is_empty(boundary):
            continue
        mask = (codes == code) & ~skip & ~pd.isna(metric)
        if not mask.any():
            continue
        area = gpd.GeoSeries([boundary], crs=4326).to_crs(metric_crs).iloc[0]
        allowed = shapely.buffer(area, tolerance_m, quad_segs=4)
        shapely.prepare(allowed)
        inside = shapely.covered_by(metric[mask], allowed)
        far = np.flatnonzero(mask)[~inside]
        if far.size == 0:
            continue
        # How far the geometry reaches: the farthest vertex from the boundary.
        distances = [
            float(shapely.distance(shapely.points(shapely.get_coordinates(metric[i])), area).max())
            for i in far
        ]
        town = (names or {}).get(code, code)
        by_file: dict[str, list[tuple[int, str]]] = {}
        for pos, dist in zip(far, distances, strict=True):
            msg = (
                f"geometry reaches {dist / 1000:.1f} km outside municipality {town} ({code}), "
                f"beyond the tolerance of {tolerance_m / 1000:g} km: wrong municipality or CRS?"
            )
            by_file.setdefault(str(assets["source_file"].iat[pos]), []).append(
                (int(assets["source_row"].iat[pos]), msg)
            )
        for label, items in by_file.items():
            rows = np.array([r for r, _ in items])
            problems += _capped(label, rows, "geometry", [m for _, m in items])
    return problems


def normalize_field(value: object) -> object:
    """Map Japanese or differently cased field names (道路, River) to the schema's names."""
    if isinstance(value, str):
        key = value.strip()
        return FIELD_ALIASES.get(key, FIELD_ALIASES.get(key.lower(), key.lower()))
    return value


def is_missing_value(value: object) -> bool:
    """True for None, NaN and blank strings (vectorised use via Series.map)."""
    return is_missing(value)
