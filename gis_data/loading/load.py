"""Loading a scenario: read every file, validate everything, then return it or raise once.

Nothing is returned half-loaded: all files are read into memory and validated together, and
only when no error was found is a Scenario built. Otherwise one AssetValidationError lists
every problem (errors and warnings) of every file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gis_data.loading import validate
from gis_data.loading.config import (
    BoundariesConfig,
    ScenarioConfig,
    SourceConfig,
    detect_format,
    read_config,
)
from gis_data.loading.crs import metric_crs_for
from gis_data.loading.errors import AssetValidationError, Problem
from gis_data.loading.network_file import check_network_file
from gis_data.loading.schema import (
    ASSET_COLUMNS,
    ASSET_CRS,
    NUMERIC_COLUMNS,
    coerce_types,
    empty_assets,
    missing_mask,
    order_columns,
)
from gis_data.loading.sources import ReadOptions, read_source
from gis_data.loading.validate import ROW, SKIP

logger = logging.getLogger(__name__)

MUNICIPALITY_COLUMNS = ("municipality_code", "municipality", "population", "geometry")
DEPOT_COLUMNS = ("depot_id", "municipality_code", "kind", "name", "geometry")
_PRIVATE = (ROW, SKIP)
# Defaults per format when the scenario names no field/kind (OSM ways are roads).
_FORMAT_DEFAULTS = {"osm": ("road", "road_segment")}


@dataclass
class Scenario:
    """A loaded, validated scenario: assets, municipalities, depots, road network file.

    ``config`` is the TOML it was read from; None for a scenario assembled from stored tables
    (`scenario_from_tables`). ``network_options`` are the build options of a network that is
    not a plain OSM file (a town's road layer, alone or completed by ``network_path``).
    """

    name: str
    config: ScenarioConfig | None
    assets: gpd.GeoDataFrame
    municipalities: gpd.GeoDataFrame
    depots: gpd.GeoDataFrame
    network_path: Path | None
    network_buffer_m: float
    metric_crs: CRS
    warnings: list[Problem] = field(default_factory=list)
    network_options: dict[str, Any] = field(default_factory=dict)
    # The town's road centreline layer the network is built from (None: the OSM file alone).
    network_lines: gpd.GeoDataFrame | None = None


def _road_classes(assets: gpd.GeoDataFrame, table: Any) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Patrol classes of the road assets from a ``road_classes`` setting (a RoadClassSetting,
    a ``{column, classes, speeds_kmh}`` table, or None: the defaults, told)."""
    from gis_data.planning.road_classes import RoadClassSetting, classify_roads

    if isinstance(table, dict):
        table = RoadClassSetting.from_mapping(table)
    return classify_roads(assets, table)


def scenario_from_tables(
    *,
    name: str,
    assets: gpd.GeoDataFrame,
    municipalities: gpd.GeoDataFrame,
    depots: gpd.GeoDataFrame,
    network_path: Path | None = None,
    network_buffer_m: float = 1000.0,
    network_options: dict[str, Any] | None = None,
    network_lines: gpd.GeoDataFrame | None = None,
    road_classes: Any = None,
) -> Scenario:
    """A scenario from tables already validated (e.g. stored rows): the metric CRS is chosen
    from the municipality boundaries, else from the assets, as `load_scenario` does.

    The road assets get their patrol classes from ``road_classes`` (see `load_scenario`);
    raises AssetValidationError when the setting names a column the assets lack.
    """
    assets, problems = _road_classes(assets, road_classes)
    if any(p.severity == "error" for p in problems):
        raise AssetValidationError(problems)
    known = municipalities.geometry.dropna()
    area = known if not known.empty else assets.geometry.dropna()
    codes = [str(c) for c in municipalities["municipality_code"]]
    try:
        metric_crs = metric_crs_for(area, municipality_codes=codes)
    except ValueError:
        metric_crs = CRS.from_epsg(3857)
    return Scenario(
        name=name,
        config=None,
        assets=assets,
        municipalities=municipalities,
        depots=depots,
        network_path=network_path,
        network_buffer_m=network_buffer_m,
        metric_crs=metric_crs,
        network_options=dict(network_options or {}),
        network_lines=network_lines,
        warnings=problems,
    )


def _format_id(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return str(value)


def _to_schema(
    frame: gpd.GeoDataFrame,
    source: SourceConfig,
    *,
    municipality_code: str,
    municipality: str,
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Rename mapped columns, fill constants and defaults, add the bookkeeping columns."""
    problems: list[Problem] = []
    label = source.label
    present = [str(c) for c in frame.columns if c not in (frame.geometry.name, *_PRIVATE)]
    rename = {}
    for src, target in source.columns.items():
        if src not in frame.columns:
            msg = f"column {src!r} (mapped to {target!r}) is not in the file; it has {present}"
            problems.append(Problem(label, None, f"columns.{src}", msg))
        else:
            rename[src] = target
    # A mapped column replaces a file column of the same name.
    clashes = [t for s, t in rename.items() if t in frame.columns and t not in rename]
    frame = frame.drop(columns=clashes).rename(columns=rename)
    if frame.geometry.name != "geometry":
        frame = frame.rename_geometry("geometry")
    n = len(frame)
    default_field, default_kind = _FORMAT_DEFAULTS.get(source.format, (None, None))
    for column, constant in (
        ("field", source.field or default_field),
        ("kind", source.kind or default_kind),
    ):
        if column in frame.columns:
            values = frame[column].astype(object)
            if constant is not None:
                values = values.where(~missing_mask(values), constant)
            frame[column] = values
        else:
            frame[column] = constant
    fields = frame["field"].astype(object)
    spelled = {value: validate.normalize_field(value) for value in fields.dropna().unique()}
    frame["field"] = fields.map(lambda v: spelled.get(v, v), na_action="ignore")
    for column in NUMERIC_COLUMNS:
        default = source.defaults.get(column, np.nan)
        if column in frame.columns:
            frame[column] = frame[column].where(~missing_mask(frame[column]), default)
        else:
            frame[column] = float(default)
    side_default = source.defaults.get("side", "both")
    if "side" in frame.columns:
        frame["side"] = frame["side"].where(~missing_mask(frame["side"]), side_default)
    else:
        frame["side"] = side_default
    if "name" not in frame.columns:
        frame["name"] = None
    stem = Path(label).name.split(".")[0]
    prefix = f"{municipality_code}:{stem}" + (f":{source.layer}" if source.layer else "")
    generated = pd.Series([f"{prefix}:{r}" for r in frame[ROW]], index=frame.index, dtype=object)
    if "asset_id" in frame.columns:
        ids = frame["asset_id"].map(_format_id)
        frame["asset_id"] = ids.where(ids.notna(), generated)
    else:
        frame["asset_id"] = generated
    frame["municipality_code"] = municipality_code
    frame["municipality"] = municipality
    frame["source_file"] = label
    frame["source_row"] = frame[ROW].astype("int64") if n else pd.Series([], dtype="int64")
    return frame, problems


def _read_checked(
    path: Path, label: str, fmt: str, options: ReadOptions, *, crs: str | None, repair: bool
) -> tuple[gpd.GeoDataFrame | None, list[Problem]]:
    """Read a file, number its rows, project it to EPSG:4326 and check its geometries."""
    frame, problems = read_source(path, label, fmt, options)
    if frame is None:
        return None, problems
    frame = frame.reset_index(drop=True)
    frame[ROW] = np.arange(1, len(frame) + 1)
    # a reader may have marked features it already reported (a malformed GeoJSON geometry)
    frame[SKIP] = frame[SKIP].astype(bool) if SKIP in frame.columns else False
    projected, crs_problems = validate.apply_crs(frame, label, crs)
    problems += crs_problems
    if projected is None:
        return None, problems
    checked, geometry_problems = validate.check_geometries(projected, label, repair=repair)
    return checked, problems + geometry_problems


def _load_one(
    source: SourceConfig,
    *,
    municipality_code: str,
    municipality: str,
    boundary: shapely.Geometry | None,
    repair: bool,
) -> tuple[gpd.GeoDataFrame | None, list[Problem]]:
    """Read, project, check and map one source file; private columns are kept for later checks."""
    options = ReadOptions(
        layer=source.layer,
        encoding=source.encoding,
        wkt=source.wkt,
        lon=source.lon,
        lat=source.lat,
        delimiter=source.delimiter,
    )
    checked, problems = _read_checked(
        source.file, source.label, source.format, options, crs=source.crs, repair=repair
    )
    if checked is None:
        return None, problems
    assets, mapping_problems = _to_schema(
        checked, source, municipality_code=municipality_code, municipality=municipality
    )
    problems += mapping_problems
    problems += validate.check_attributes(assets, source.label)
    if source.clip and boundary is not None and not assets.empty:
        clipped = shapely.intersection(assets.geometry.to_numpy(), boundary)
        gone = shapely.is_empty(clipped) & ~assets[SKIP].to_numpy()
        if gone.any():
            msg = f"{int(gone.sum())} feature(s) lie wholly outside {municipality}: clipped away"
            problems.append(Problem(source.label, None, "geometry", msg, "warning"))
        assets = assets.set_geometry(clipped, crs=ASSET_CRS)[~gone]
    return assets, problems


def load_assets_from_file(
    path: str | Path,
    *,
    municipality_code: str,
    municipality: str,
    field: str | None = None,
    kind: str | None = None,
    crs: str | None = None,
    columns: dict[str, str] | None = None,
    encoding: str | None = None,
    layer: str | None = None,
    wkt: str | None = None,
    lon: str | None = None,
    lat: str | None = None,
    file_format: str | None = None,
    defaults: dict[str, Any] | None = None,
    label: str | None = None,
    boundary: shapely.Geometry | None = None,
    outside_tolerance_m: float = 2000.0,
    repair: bool = False,
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Load and validate one asset file of one municipality (e.g. an upload to the API).

    Returns the assets in the schema and every problem found. When any problem is an error
    the returned frame is empty: callers report the problems (the API as a 4xx body) and
    never use a partial table. ``boundary`` (EPSG:4326) enables the outside-municipality
    check; ``label`` is the file name used in problems (default: the file name).
    """
    path = Path(path)
    fmt = file_format or detect_format(path)
    name = label or path.name
    if fmt is None:
        return empty_assets(), [
            Problem(name, None, "format", "unknown file format; give file_format")
        ]
    source = SourceConfig(
        file=path,
        label=name,
        format=fmt,
        field=field,
        kind=kind,
        crs=crs,
        encoding=encoding,
        layer=layer,
        wkt=wkt,
        lon=lon,
        lat=lat,
        defaults=dict(defaults or {}),
        columns=dict(columns or {}),
    )
    assets, problems = _load_one(
        source,
        municipality_code=municipality_code,
        municipality=municipality,
        boundary=boundary,
        repair=repair,
    )
    if assets is None:
        return empty_assets(), problems
    problems += validate.check_duplicate_ids(assets)
    if boundary is not None and not assets.empty:
        problems += validate.check_within(
            assets,
            {municipality_code: boundary},
            metric_crs=metric_crs_for(boundary),
            tolerance_m=outside_tolerance_m,
            names={municipality_code: municipality},
        )
    if any(p.severity == "error" for p in problems):
        return empty_assets(), problems
    return _finish(assets), problems


def _finish(assets: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = assets.drop(columns=[c for c in _PRIVATE if c in assets.columns])
    return order_columns(coerce_types(out)).reset_index(drop=True)


def _load_boundaries(
    config: BoundariesConfig, *, repair: bool
) -> tuple[gpd.GeoDataFrame | None, list[Problem]]:
    """Read the municipality polygons, one row per code (parts dissolved), in EPSG:4326."""
    options = ReadOptions(layer=config.layer, encoding=config.encoding)
    frame, problems = _read_checked(
        config.file, config.label, config.format, options, crs=config.crs, repair=repair
    )
    if frame is None:
        return None, problems
    columns = [c for c in (config.code_column, config.name_column, config.population_column) if c]
    missing = [c for c in columns if c not in frame.columns]
    for column in missing:
        known = [str(c) for c in frame.columns if c not in (frame.geometry.name, *_PRIVATE)]
        msg = f"no column {column!r} in the boundaries file; its columns are {known}"
        problems.append(Problem(config.label, None, column, msg))
    if missing:
        return None, problems
    frame = frame[~frame[SKIP]]
    frame = frame.assign(_code=frame[config.code_column].map(_format_id))
    rows = []
    for code, group in frame.groupby("_code", sort=False):
        name = group[config.name_column].iloc[0] if config.name_column else code
        population = (
            pd.to_numeric(group[config.population_column], errors="coerce").iloc[0]
            if config.population_column
            else np.nan
        )
        geometry = (
            shapely.union_all(group.geometry.to_numpy())
            if len(group) > 1
            else group.geometry.iloc[0]
        )
        rows.append((str(code), str(name), population, geometry))
    table = gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=["municipality_code", "municipality", "population", "geometry"]),
        geometry="geometry",
        crs=ASSET_CRS,
    )
    return table, problems


def _municipalities(
    config: ScenarioConfig, boundaries: gpd.GeoDataFrame | None
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    problems: list[Problem] = []
    file = str(config.path)
    by_code = (
        {} if boundaries is None else {r.municipality_code: r for r in boundaries.itertuples()}
    )
    rows = []
    boundary_label = config.boundaries.label if config.boundaries is not None else ""
    if config.municipalities:
        for i, m in enumerate(config.municipalities):
            found = by_code.get(m.code)
            if boundaries is not None and found is None:
                msg = f"municipality code {m.code!r} is not in the boundaries file {boundary_label}"
                problems.append(Problem(file, f"municipality[{i}]", "code", msg))
            name = m.name or (found.municipality if found is not None else m.code)
            population = (
                m.population
                if m.population is not None
                else (found.population if found is not None else np.nan)
            )
            rows.append((m.code, name, population, found.geometry if found is not None else None))
    elif boundaries is not None:
        rows = [
            (r.municipality_code, r.municipality, r.population, r.geometry)
            for r in boundaries.itertuples()
        ]
    table = gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=["municipality_code", "municipality", "population", "geometry"]),
        geometry="geometry",
        crs=ASSET_CRS,
    )
    population = pd.to_numeric(table["population"], errors="coerce")
    table["population"] = (
        population.astype("int64") if population.notna().all() else population.astype("float64")
    )
    return table, problems


def _depots(
    config: ScenarioConfig, municipalities: gpd.GeoDataFrame, metric_crs: CRS
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Town depots (configured, or the municipality's representative point) and contractor yards."""
    problems: list[Problem] = []
    file = str(config.path)
    rows: list[tuple[str, str | None, str, str, Any]] = []
    geometry_of = dict(
        zip(municipalities["municipality_code"], municipalities.geometry, strict=True)
    )
    name_of = dict(
        zip(municipalities["municipality_code"], municipalities["municipality"], strict=True)
    )
    for i, m in enumerate(config.municipalities):
        boundary = geometry_of.get(m.code)
        if m.depot is not None:
            point = shapely.Point(m.depot.lon, m.depot.lat)
            rows.append((m.depot.depot_id, m.code, "town", m.depot.name, point))
            if boundary is not None:
                far = gpd.GeoSeries([point, boundary], crs=ASSET_CRS).to_crs(metric_crs)
                distance = far.iloc[0].distance(far.iloc[1])
                if distance > config.outside_tolerance_m:
                    msg = (
                        f"the town depot lies {distance / 1000:.1f} km outside {name_of[m.code]}: "
                        "lon and lat swapped?"
                    )
                    problems.append(Problem(file, f"municipality[{i}].depot", "lon", msg))
        elif boundary is not None:
            point = shapely.point_on_surface(boundary)
            rows.append((f"depot-{m.code}", m.code, "town", f"{name_of[m.code]} town depot", point))
    if not config.municipalities:
        for code, boundary in geometry_of.items():
            if boundary is not None:
                point = shapely.point_on_surface(boundary)
                rows.append((f"depot-{code}", code, "town", f"{name_of[code]} town depot", point))
    for i, depot in enumerate(config.depots):
        point = shapely.Point(depot.lon, depot.lat)
        if depot.municipality_code is not None and depot.municipality_code not in geometry_of:
            msg = f"{depot.municipality_code!r} is not a municipality of the scenario"
            problems.append(Problem(file, f"depot[{i}]", "municipality_code", msg))
        rows.append((depot.depot_id, depot.municipality_code, depot.kind, depot.name, point))
    ids = [r[0] for r in rows]
    for depot_id in sorted({d for d in ids if ids.count(d) > 1}):
        problems.append(Problem(file, depot_id, "id", f"depot id {depot_id!r} is used twice"))
    table = gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=list(DEPOT_COLUMNS)), geometry="geometry", crs=ASSET_CRS
    )
    return table, problems


def load_scenario(path: str | Path, *, repair: bool = False, road_classes: bool = True) -> Scenario:
    """Load and validate a scenario TOML (all files of all towns), or raise with every problem.

    Raises ConfigError for a TOML that cannot be used, and AssetValidationError (listing all
    problems, each with file, feature and field) when any file has an error. With ``repair``
    invalid geometries are fixed with make_valid and empty ones dropped, as warnings.

    The road assets get their ``patrol_class`` (and missing ``service_speed_kmh``) from the
    TOML's ``[road_classes]`` (`gis_data.planning.road_classes.classify_roads`): a class value
    with no mapping is a warning with its asset count, a missing class column an error. With
    ``road_classes=False`` the assets are left as read (the importer stores them so and
    classifies on every load, so a changed setting applies).
    """
    config = read_config(path)
    problems: list[Problem] = []
    boundaries = None
    if config.boundaries is not None:
        boundaries, more = _load_boundaries(config.boundaries, repair=repair)
        problems += more
    municipalities, more = _municipalities(config, boundaries)
    problems += more

    codes = list(municipalities["municipality_code"])
    if config.metric_crs is not None:
        chosen, more = validate.parse_crs(config.metric_crs, str(config.path), "metric_crs")
        problems += more
        metric_crs = chosen or CRS.from_epsg(3857)
    else:
        metric_crs = None

    geometry_of = dict(
        zip(municipalities["municipality_code"], municipalities.geometry, strict=True)
    )
    name_of = dict(
        zip(municipalities["municipality_code"], municipalities["municipality"], strict=True)
    )
    frames = []
    for m in config.municipalities:
        for source in m.sources:
            assets, more = _load_one(
                source,
                municipality_code=m.code,
                municipality=name_of[m.code],
                boundary=geometry_of.get(m.code),
                repair=repair,
            )
            problems += more
            if assets is not None:
                frames.append(assets)
    assets = pd.concat(frames, ignore_index=True) if frames else None
    if assets is not None:
        assets = gpd.GeoDataFrame(assets, geometry="geometry", crs=ASSET_CRS)

    if metric_crs is None:
        known = municipalities.geometry.dropna()
        area = (
            known
            if not known.empty
            else (assets.geometry.dropna() if assets is not None else known)
        )
        try:
            metric_crs = metric_crs_for(area, municipality_codes=codes)
        except ValueError:
            metric_crs = CRS.from_epsg(3857)
            problems.append(
                Problem(
                    str(config.path),
                    None,
                    "metric_crs",
                    "cannot choose a metric CRS: no geometry; set metric_crs",
                )
            )

    if assets is not None and not assets.empty:
        problems += validate.check_duplicate_ids(assets)
        problems += validate.check_within(
            assets,
            {c: g for c, g in geometry_of.items() if g is not None},
            metric_crs=metric_crs,
            tolerance_m=config.outside_tolerance_m,
            names=name_of,
        )
    depots, more = _depots(config, municipalities, metric_crs)
    problems += more
    if config.network_osm is not None:
        problems += check_network_file(config.network_osm, str(config.path), "network.osm")
    if road_classes and assets is not None and not assets.empty:
        try:
            assets, more = _road_classes(assets, config.road_classes)
        except ValueError as exc:  # checked by read_config; kept for a config built by hand
            more = [Problem(str(config.path), None, "road_classes", str(exc))]
        problems += [
            Problem(str(config.path), "[road_classes]", p.field, p.message)
            if p.severity == "error"
            else p
            for p in more
        ]

    if any(p.severity == "error" for p in problems):
        raise AssetValidationError(problems)
    table = _finish(assets) if assets is not None else empty_assets()
    warnings = [p for p in problems if p.severity == "warning"]
    for warning in warnings:
        logger.warning("%s", warning)
    logger.info(
        "loaded %d assets of %d municipalities from %s",
        len(table),
        len(municipalities),
        config.path,
    )
    return Scenario(
        name=config.name,
        config=config,
        assets=table,
        municipalities=municipalities,
        depots=depots,
        network_path=config.network_osm,
        network_buffer_m=config.network_buffer_m,
        metric_crs=metric_crs,
        warnings=warnings,
    )


__all__ = [
    "ASSET_COLUMNS",
    "Scenario",
    "load_assets_from_file",
    "load_scenario",
    "scenario_from_tables",
]
