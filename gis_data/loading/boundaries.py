"""Municipal boundaries: one polygon per municipality code, from GeoJSON, GeoPackage or Shapefile.

`read_boundaries` returns a GeoDataFrame with columns ``code``, ``name`` and ``geometry``
(EPSG:4326), one row per code: the parts of a municipality (islands, exclaves, the pieces MLIT
delivers one per row) are dissolved into one (Multi)Polygon.

MLIT's 国土数値情報 行政区域 (N03) files are recognised by their columns and need no options:
``N03_007`` is the 5-digit 行政区域コード (a leading zero lost to a numeric column is restored),
``N03_004`` the municipality (or ward) name, else ``N03_003`` (county or designated city); rows
without a code (所属未定地, land of no municipality) are left out. N03 Shapefiles are Shift-JIS:
when no encoding is given and the attribute table is not UTF-8, cp932 is tried before giving up.
Other files name their columns (``code_column``, ``name_column``) or use ``code``/``name``.
Maps of N03 data carry 「出典：国土数値情報（行政区域データ）（国土交通省）」 (`N03_CREDIT`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from gis_data.loading.config import detect_format
from gis_data.loading.errors import Problem
from gis_data.loading.sources import ReadOptions, read_source

N03_CREDIT = "出典：国土数値情報（行政区域データ）（国土交通省）"
N03_CODE, N03_NAME, N03_COUNTY = "N03_007", "N03_004", "N03_003"
_CODE_NAMES = ("code", "municipality_code", "行政区域コード", "団体コード")
_NAME_NAMES = ("name", "municipality", "市区町村名", "名称")
_FORMATS = ("geojson", "gpkg", "shapefile_zip")


class BoundaryError(ValueError):
    """A boundary file that cannot be used; ``problems`` names the file (never a server path)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


def _pick(columns: list[str], given: str | None, names: Iterable[str], key: str, label: str) -> str:
    if given is not None:
        if given not in columns:
            msg = f"no column {given!r} in the boundaries file; its columns are {columns}"
            raise BoundaryError([Problem(label, None, key, msg)])
        return given
    lowered = {c.lower(): c for c in columns}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    msg = (
        f"cannot tell which column holds the municipality {key.split('_')[0]}; "
        f"give {key} (columns are {columns})"
    )
    raise BoundaryError([Problem(label, None, key, msg)])


def _code_text(value: object, *, n03: bool) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if not text:
        return None
    # N03 codes are 5 digits; a numeric column drops the leading zero of Hokkaido's 01xxx
    return text.zfill(5) if n03 and text.isdigit() else text


def _read(
    path: Path, label: str, fmt: str, encoding: str | None, layer: str | None
) -> gpd.GeoDataFrame:
    frame, problems = read_source(path, label, fmt, ReadOptions(layer=layer, encoding=encoding))
    not_utf8 = any(p.field == "encoding" for p in problems)
    if frame is None and encoding is None and fmt == "shapefile_zip" and not_utf8:
        retry, _ = read_source(path, label, fmt, ReadOptions(layer=layer, encoding="cp932"))
        if retry is not None and N03_CODE in retry.columns:
            return retry  # an N03 Shapefile: Shift-JIS by definition
    errors = [p for p in problems if p.severity == "error"]
    if frame is None or errors:
        raise BoundaryError(errors or problems)
    return frame


def read_boundaries(
    path: str | Path,
    *,
    code_column: str | None = None,
    name_column: str | None = None,
    encoding: str | None = None,
    layer: str | None = None,
    label: str | None = None,
) -> gpd.GeoDataFrame:
    """Read municipality polygons as ``code``, ``name``, ``geometry`` (EPSG:4326), one row a code.

    Rows skipped for want of a code are listed as warnings in ``.attrs["problems"]``.
    Raises BoundaryError naming ``label`` (default: the file name) when the file cannot be read,
    has no CRS, lacks the named columns, or holds no polygon.
    """
    path = Path(path)
    name = label or path.name
    fmt = detect_format(path)
    if fmt not in _FORMATS:
        msg = "boundaries come as GeoJSON, GeoPackage or zipped Shapefile"
        raise BoundaryError([Problem(name, None, "format", msg)])
    frame = _read(path, name, fmt, encoding, layer)
    columns = [str(c) for c in frame.columns if c != frame.geometry.name]
    n03 = code_column is None and N03_CODE in columns
    if n03:
        code_column = N03_CODE
        if name_column is None:
            name_column = N03_NAME if N03_NAME in columns else None
    code_column = _pick(columns, code_column, _CODE_NAMES, "code_column", name)
    if name_column is None and not n03:
        lowered = {c.lower(): c for c in columns}
        name_column = next((lowered[n] for n in _NAME_NAMES if n in lowered), None)
    elif name_column is not None:
        name_column = _pick(columns, name_column, (), "name_column", name)
    if frame.crs is None:
        msg = "the file has no CRS (.prj): add one, or export it as EPSG:4326"
        raise BoundaryError([Problem(name, None, "crs", msg)])
    frame = frame.to_crs(4326)
    problems: list[Problem] = []
    rows: dict[str, tuple[str, list[shapely.Geometry]]] = {}
    names = frame[name_column].tolist() if name_column else [None] * len(frame)
    counties = frame[N03_COUNTY].tolist() if n03 and N03_COUNTY in frame.columns else names
    for i, (raw, town, county, geom) in enumerate(
        zip(frame[code_column].tolist(), names, counties, frame.geometry, strict=True)
    ):
        code = _code_text(raw, n03=n03)
        if code is None:
            if not n03:
                msg = f"no municipality code in column {code_column!r}: row skipped"
                problems.append(Problem(name, i + 1, code_column, msg, "warning"))
            continue
        if geom is None or geom.is_empty:
            continue
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            msg = f"a {geom.geom_type}, not a polygon"
            raise BoundaryError([Problem(name, i + 1, "geometry", msg)])
        label_text = _code_text(town, n03=False) or _code_text(county, n03=False) or code
        entry = rows.setdefault(code, (label_text, []))
        entry[1].append(geom if geom.is_valid else shapely.make_valid(geom))
    if not rows:
        msg = f"no municipality polygon with a code in column {code_column!r}"
        raise BoundaryError([*problems, Problem(name, None, code_column, msg)])
    codes = list(rows)
    geometries = [
        parts[0] if len(parts) == 1 else shapely.union_all(parts) for _, parts in rows.values()
    ]
    table = gpd.GeoDataFrame(
        {"code": codes, "name": [rows[c][0] for c in codes]}, geometry=geometries, crs=4326
    )
    table.attrs["problems"] = problems  # warnings: rows skipped for want of a code
    return table


def missing_codes(boundaries: gpd.GeoDataFrame, codes: Iterable[str]) -> list[str]:
    """The codes (in the given order) that have no polygon in ``boundaries``."""
    have = {str(c) for c in boundaries["code"]}
    return [str(c) for c in codes if str(c) not in have]
